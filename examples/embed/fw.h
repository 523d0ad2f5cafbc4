/*
 * fw.h: the firewall side of examples/embed, the part every embedder
 * already has: a clock, a socket to send on, an event loop that waits for a
 * packet or a deadline, and a log. fw.c stands in for it with a virtual
 * clock and a link that loops multicast back (as a raw socket with
 * IP_MULTICAST_LOOP does), so the example runs anywhere, unprivileged.
 */
#ifndef EMBED_FW_H
#define EMBED_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <redund/common.h>

struct fw;

/* A firewall whose clock starts at `start` and whose loop ends at `end`. */
struct fw *fw_new(rd_time_t start, rd_time_t end);
void fw_free(struct fw *fw);

/* The current time (nanoseconds, the firewall's monotonic origin). */
rd_time_t fw_now(const struct fw *fw);

/* Send one IP packet to dst; 0 or a negative error. */
int fw_send(struct fw *fw, const uint8_t *pkt, size_t len, const struct rd_addr *dst);

/*
 * Wait until a packet arrives or `deadline` passes. Puts the packet (at
 * most `size` bytes) in pkt and its length in *len (0: none, the deadline
 * passed) and the time in *now. Returns false when the firewall stops.
 */
bool fw_wait(struct fw *fw, rd_time_t deadline, uint8_t *pkt, size_t size, size_t *len,
             rd_time_t *now);

/* Log a line, printf-style. */
void fw_log(struct fw *fw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Packets fw_send sent and fw_wait delivered (looped back). */
uint64_t fw_sent(const struct fw *fw);
uint64_t fw_received(const struct fw *fw);

#endif
