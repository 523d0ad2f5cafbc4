/*
 * libredund io: helpers shared by the socket backends (carp_sock.c,
 * sync_sock.c). Private to the io module.
 */
#ifndef RD_IO_INTERNAL_H
#define RD_IO_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* setsockopt of one int; 0 or -errno. */
static inline int rd_io_setint(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

/*
 * The header length of the IPv4 datagram a raw IPv4 socket hands over
 * (header included), or 0 when the bytes are not one: shorter than 20,
 * another version, or an IHL below 5 or past the end. The caller reads
 * TTL (byte 8), protocol (9) and addresses (12, 16) only after a non-zero
 * answer.
 */
static inline size_t rd_io_ip4_hdrlen(const uint8_t *pkt, size_t len)
{
	size_t hl;

	if (len < 20 || (pkt[0] >> 4) != 4)
		return 0;
	hl = (size_t)(pkt[0] & 0x0f) * 4;
	return hl < 20 || hl > len ? 0 : hl;
}

#endif
