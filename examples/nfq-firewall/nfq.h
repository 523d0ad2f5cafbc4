/*
 * nfq — the nfnetlink_queue messages nfq-firewall reads and writes, over
 * raw netlink (libmnl), without libnetfilter_queue.
 *
 * The parser (nfq_parse) is pure and bounded: it reads nothing beyond the
 * `len` bytes it is given, whatever the message claims, and refuses a
 * malformed message with one counted reason (enum nfq_bad). A fuzz target
 * (tests/nfq/fuzz_nfq_msg.c) runs it and the IP parser behind it.
 *
 * The builders write configuration and verdict messages into a caller's
 * buffer (at least NFQ_MSG_MAX bytes free) and return the message.
 *
 * Thread-safety: every function is pure (no state); safe from any thread.
 */
#ifndef NFQ_H
#define NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

/* Why a message from the queue was refused (counted by the caller). */
enum nfq_bad {
	NFQ_OK = 0,
	NFQ_BAD_SHORT,      /* "nl-short": shorter than its headers, or than it claims */
	NFQ_BAD_TYPE,       /* "nl-type": not an nfnetlink_queue packet message */
	NFQ_BAD_ATTR,       /* "nl-attr": an attribute overruns the message or has a bad size */
	NFQ_BAD_NO_ID,      /* "nl-no-id": no packet header (no id: no verdict possible) */
	NFQ_BAD_NO_PAYLOAD, /* "nl-no-payload": no packet bytes */
	NFQ_BAD_COUNT,
};

/* nfq_bad_name - the counter name of a reason ("nl-short", ...), "?" out of range. */
const char *nfq_bad_name(int bad);

/* One queued packet, as nfq_parse found it; pointers into the message. */
struct nfq_pkt {
	uint16_t queue;    /* the queue number (nfgenmsg res_id) */
	uint32_t id;       /* packet id (valid when has_id) */
	bool has_id;       /* a packet header was found: a verdict can be given */
	uint16_t hw_proto; /* ethertype, host order (0x0800, 0x86dd) */
	uint8_t hook;      /* NF_INET_* hook */
	const uint8_t *payload;
	uint32_t len;     /* bytes of payload copied to us */
	uint32_t cap_len; /* the packet's whole length when the copy was cut; else len */
	uint32_t indev, outdev;
	uint32_t mark;
	bool has_mark;
};

/*
 * nfq_parse - parse one netlink message of `len` bytes (the message's
 * nlmsg_len must fit in len) into *out. Returns NFQ_OK, or an enum nfq_bad
 * reason; out->has_id tells whether the id is usable even then (so the
 * caller can drop the packet). Reads nothing beyond len.
 */
int nfq_parse(const void *msg, size_t len, struct nfq_pkt *out);

/* Room a builder needs. */
#define NFQ_MSG_MAX 128

/*
 * nfq_build_bind - NFQNL_MSG_CONFIG binding queue `num` to this socket,
 * copying `copy_range` bytes of each packet, with queue length `maxlen`
 * and NFQA_CFG_F_GSO (unsegmented GSO packets: the headers are all we
 * read). Several attributes in one message, as the kernel accepts. Returns
 * the message, built at buf.
 */
struct nlmsghdr *nfq_build_bind(void *buf, uint16_t num, uint32_t copy_range, uint32_t maxlen,
                                uint32_t seq);

/* nfq_build_unbind - NFQNL_MSG_CONFIG with NFQNL_CFG_CMD_UNBIND for queue num. */
struct nlmsghdr *nfq_build_unbind(void *buf, uint16_t num, uint32_t seq);

/*
 * nfq_build_verdict - a verdict (NF_ACCEPT, NF_DROP, NF_REPEAT) for packet
 * id of queue num; with set_mark, NFQA_MARK = mark. batch: a
 * NFQNL_MSG_VERDICT_BATCH, which applies to every packet of the queue with
 * an id up to `id` still waiting.
 */
struct nlmsghdr *nfq_build_verdict(void *buf, uint16_t num, uint32_t id, uint32_t verdict,
                                   bool set_mark, uint32_t mark, bool batch, uint32_t seq);

#endif
