/*
 * libredund io — the state sync transports for Linux: sockets that carry
 * pfsync packets (plain mode) or sealed secure envelopes (secure mode)
 * between the nodes of a cluster. The protocol engines (redund/pfsync.h,
 * redund/sync.h) never touch these; a daemon or an embedder binds them.
 *
 * Plain mode (trusted links, OpenBSD's transport): raw IPv4 sockets of IP
 * protocol 240. Sent to the multicast group 224.0.0.240 on one interface,
 * or to each unicast peer, with TTL 255, TOS low-delay and DF, as OpenBSD's
 * pfsync does. A received packet is refused (and counted) unless its IP
 * header is whole, its TTL is 255 and it arrived on the configured
 * interface; the caller gets the pfsync bytes without the IP header.
 *
 * Secure mode (the default of syncd): UDP, port RD_SYNC_UDP_PORT (8240)
 * unless configured, carrying the envelopes of redund/sync.h. Sent to the
 * multicast group (224.0.0.240 or ff02::f0 by default, on the interface)
 * or to each unicast peer. IPv4 or IPv6, chosen by the peers' or group's
 * family. Authenticity is the envelope's business; optionally (check_ttl)
 * the transport also refuses datagrams whose TTL / hop limit is not 255.
 *
 * Throughput: sockets are non-blocking with large buffers (bufsize,
 * SO_RCVBUFFORCE/SO_SNDBUFFORCE when privileged, else the largest the
 * sysctl limits allow); receives are batched with recvmmsg and sends are
 * queued and flushed with sendmmsg.
 *
 * Errors: as in redund/io.h, functions return 0 (or a count) on success
 * and a NEGATIVE ERRNO value on failure. An object is used by one thread
 * at a time, with one exception: its receive half (rd_io_sync_recv) may
 * run on one thread while its send half (rd_io_sync_queue, rd_io_sync_flush,
 * rd_io_sync_pending) runs on another: the two change disjoint parts of
 * the object (its counters included); every other call, rd_io_sync_stats
 * and rd_io_sync_set_peers among them, needs it to itself (a receiver
 * that opens envelopes on a thread of its own, redund/sync.h's
 * rd_sync_opener, sends its acknowledgements from the channel's thread).
 * Memory comes from cfg->mem (NULL = libc); the creator frees with
 * rd_io_sync_close. None of the calls blocks.
 */
#ifndef REDUND_IO_SYNC_H
#define REDUND_IO_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "redund/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Transport modes. */
enum rd_io_sync_mode {
	RD_IO_SYNC_PLAIN = 1,  /* raw pfsync, IP protocol 240, IPv4 */
	RD_IO_SYNC_SECURE = 2, /* UDP carrying secure envelopes */
};

#define RD_IO_SYNC_MAX_PEERS  16
#define RD_IO_SYNC_BUFSIZE    (8u << 20) /* default socket buffers: 8 MiB */
#define RD_IO_SYNC_BATCH      64         /* default datagrams per recvmmsg/sendmmsg */
#define RD_IO_SYNC_MAX_DGRAM  65535      /* largest datagram read (IP header included) */
#define RD_IO_SYNC_GROUP6_LSB 0xf0       /* ff02::f0, the secure IPv6 group by default */

struct rd_io_sync_config {
	const struct rd_mem *mem; /* NULL: libc */
	int mode;                 /* enum rd_io_sync_mode */
	/*
	 * The sync interface. Required for multicast; with it, sockets are
	 * bound to the device and (plain mode) packets from other interfaces
	 * are refused. 0: any interface (unicast only).
	 */
	unsigned int ifindex;
	/* Send to and receive from the multicast group (else: peers only). */
	bool multicast;
	/*
	 * The group. af UNSPEC: 224.0.0.240 (plain and secure IPv4) or
	 * ff02::f0 (secure, when the peers or `local` are IPv6).
	 */
	struct rd_addr group;
	/*
	 * Unicast peers: every datagram is sent to each of them. In plain mode
	 * (no key: the source address is all there is) only they are heard
	 * when listed: datagrams from any other address are refused (notpeer).
	 */
	struct rd_addr peers[RD_IO_SYNC_MAX_PEERS];
	size_t npeers;
	/*
	 * Local address to bind (secure) or to send from (plain). af UNSPEC:
	 * any. Its family, else the peers', else the group's, picks IPv4 or
	 * IPv6 (plain mode is IPv4 only).
	 */
	struct rd_addr local;
	uint16_t port;       /* secure: UDP port, 0: RD_SYNC_UDP_PORT (8240) */
	size_t bufsize;      /* SO_RCVBUF/SO_SNDBUF bytes; 0: RD_IO_SYNC_BUFSIZE */
	size_t batch;        /* datagrams per system call; 0: RD_IO_SYNC_BATCH */
	size_t max_dgram;    /* largest datagram accepted; 0: RD_IO_SYNC_MAX_DGRAM */
	bool check_ttl;      /* secure: refuse TTL/hop limit != 255 (plain: always) */
	bool multicast_loop; /* receive our own multicast (tests); default off */
};

/* One received datagram (rd_io_sync_recv). */
struct rd_io_sync_msg {
	const uint8_t
	    *data; /* pfsync packet (plain) or envelope (secure); valid until the next recv */
	size_t len;
	struct rd_addr from;  /* source address */
	uint16_t from_port;   /* secure: source UDP port (host order) */
	unsigned int ifindex; /* receiving interface, 0 if unknown */
	uint8_t ttl;          /* TTL / hop limit as received (0 if unknown) */
};

/* Counters (rd_io_sync_stats), named after OpenBSD's pfsyncs_* where one exists. */
enum rd_io_sync_stat {
	RD_IO_SYNC_STAT_IPACKETS = 0, /* datagrams handed to the caller */
	RD_IO_SYNC_STAT_OPACKETS,     /* datagrams sent (once per destination) */
	RD_IO_SYNC_STAT_BADTTL,       /* refused: TTL / hop limit not 255 */
	RD_IO_SYNC_STAT_BADIF,        /* refused: arrived on another interface */
	RD_IO_SYNC_STAT_HDROPS,       /* refused: IP header short or malformed */
	RD_IO_SYNC_STAT_TRUNC,        /* refused: larger than max_dgram */
	RD_IO_SYNC_STAT_SELF,         /* refused: sent by this host (looped back) */
	RD_IO_SYNC_STAT_OERRORS,      /* send failures other than a full buffer */
	RD_IO_SYNC_STAT_ODROPS,       /* datagrams dropped: send queue full */
	RD_IO_SYNC_STAT_NOTPEER,      /* refused: plain mode, not from a listed peer */
	RD_IO_SYNC_STAT_COUNT,
};

/* rd_io_sync_stat_name - "ipackets", "badttl", ...; "unknown" when out of range. */
RD_EXPORT const char *rd_io_sync_stat_name(int stat);

/*
 * rd_io_sync_parse_ip4 - check the IPv4 header of a datagram read from a raw
 * socket (plain mode): version 4, header length within the datagram,
 * protocol 240. On success fills m->data/m->len (the pfsync bytes after
 * the header), m->ttl and m->from, and returns -1; otherwise returns the
 * refusal reason (RD_IO_SYNC_STAT_HDROPS) and leaves m's other fields
 * alone. Pure; thread-safe. rd_io_sync_recv uses it in plain mode.
 */
RD_EXPORT int rd_io_sync_parse_ip4(const uint8_t *pkt, size_t len, struct rd_io_sync_msg *m);

struct rd_io_sync;

/*
 * rd_io_sync_config_default - secure mode, multicast to the default group,
 * port RD_SYNC_UDP_PORT (8240), RD_IO_SYNC_BUFSIZE buffers, batches of
 * RD_IO_SYNC_BATCH, datagrams up to RD_IO_SYNC_MAX_DGRAM, no TTL check, no
 * multicast loop, no peers, any local address, libc memory. ifindex stays
 * 0: set it (multicast needs it). Thread-safe.
 */
RD_EXPORT void rd_io_sync_config_default(struct rd_io_sync_config *cfg);

/*
 * rd_io_sync_open - open the transport's socket: plain mode a raw IPv4
 * socket of protocol 240 (needs CAP_NET_RAW), secure mode a UDP socket
 * bound to cfg->port (and cfg->local). Joins the group when multicast is
 * set (an ifindex is then required). *out is owned by the caller. Returns 0,
 * -EINVAL (bad configuration: no destination, multicast without ifindex,
 * plain mode over IPv6, mixed families), or a negative errno.
 */
RD_EXPORT int rd_io_sync_open(const struct rd_io_sync_config *cfg, struct rd_io_sync **out);

/* rd_io_sync_close - close the socket and free io. NULL is accepted. */
RD_EXPORT void rd_io_sync_close(struct rd_io_sync *io);

/* rd_io_sync_fd - the descriptor to poll (readable; writable when rd_io_sync_pending). */
RD_EXPORT int rd_io_sync_fd(const struct rd_io_sync *io);

/*
 * rd_io_sync_recv - read up to `max` waiting datagrams with one recvmmsg
 * (max is clamped to the configured batch), refuse and count the bad ones,
 * and describe the good ones in msgs[]. Their bytes live in io's buffers
 * until the next call. Returns the number of good datagrams (0 when all
 * that arrived were refused), -EAGAIN when nothing was waiting, or another
 * negative errno.
 */
RD_EXPORT int rd_io_sync_recv(struct rd_io_sync *io, struct rd_io_sync_msg *msgs, size_t max);

/*
 * rd_io_sync_queue - queue one datagram for every destination (the group,
 * or each peer) or, when `to` is not NULL and of the transport's family,
 * for `to` only (port: cfg->port). The bytes are copied. A full queue is
 * flushed first; if the socket still cannot take it, the datagram is
 * dropped (counted odrops) and -EAGAIN returned. -EMSGSIZE if len exceeds
 * max_dgram (minus the IP header in plain mode).
 */
RD_EXPORT int rd_io_sync_queue(struct rd_io_sync *io, const struct rd_addr *to, const void *data,
                               size_t len);

/*
 * rd_io_sync_flush - send what is queued with sendmmsg until the queue is
 * empty or the socket buffer is full. Returns the number of datagrams
 * still queued (0: all sent; poll for writability and flush again), or a
 * negative errno on a hard error (the failed datagram is dropped, counted
 * oerrors, and the rest stays queued).
 */
RD_EXPORT int rd_io_sync_flush(struct rd_io_sync *io);

/* rd_io_sync_pending - datagrams queued and not yet sent. */
RD_EXPORT size_t rd_io_sync_pending(const struct rd_io_sync *io);

/*
 * rd_io_sync_overhead - the bytes of headers the transport puts before each
 * datagram on the link: the IP header (20 for IPv4, 40 for IPv6) and in
 * secure mode the UDP header (8). Link MTU minus this is the largest
 * payload that leaves unfragmented. Thread-safe (reads only).
 */
RD_EXPORT size_t rd_io_sync_overhead(const struct rd_io_sync *io);

/*
 * rd_io_sync_stats - copy the counters into out, indexed by enum
 * rd_io_sync_stat. The caller owns out.
 */
RD_EXPORT void rd_io_sync_stats(const struct rd_io_sync *io, uint64_t out[RD_IO_SYNC_STAT_COUNT]);

/*
 * rd_io_sync_buffers - the socket buffer sizes the kernel granted (as
 * SO_RCVBUF/SO_SNDBUF read back: twice the requested value on Linux).
 */
RD_EXPORT void rd_io_sync_buffers(const struct rd_io_sync *io, size_t *rcvbuf, size_t *sndbuf);

/*
 * rd_io_sync_set_peers - replace the unicast peers of an open transport
 * (a reload): from now on every datagram goes to each of peers[0..npeers)
 * (and to the group, if the transport was opened for multicast), and in
 * plain mode only they are heard. The socket stays: no datagram waiting to
 * be read is lost. Returns 0, or -EINVAL (more than RD_IO_SYNC_MAX_PEERS,
 * an address not of the socket's family, no peer on a transport without
 * multicast) or -EBUSY (datagrams still queued for the old peers: flush and
 * try again), with nothing changed. Not thread-safe (as every call on io).
 */
RD_EXPORT int rd_io_sync_set_peers(struct rd_io_sync *io, const struct rd_addr *peers,
                                   size_t npeers);

#ifdef __cplusplus
}
#endif

#endif
