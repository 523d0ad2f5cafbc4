/*
 * libredund io — Linux backends that carry engine packets: raw CARP sockets
 * (IPv4 and IPv6), gratuitous ARP and unsolicited neighbour advertisements,
 * and rtnetlink (addresses, link state) through libmnl.
 *
 * This module is the only part of libredund that touches the operating
 * system. Unlike the engines, its functions make system calls; none of them
 * blocks: every descriptor is non-blocking and close-on-exec, and netlink
 * requests are answered by the kernel before the send returns.
 *
 * Errors: unlike the engines, these functions return 0 (or a length) on
 * success and a NEGATIVE ERRNO value (-EPERM, -ENODEV, ...) on failure, so a
 * caller can print strerror(-rc). Objects are not thread-safe; distinct
 * objects may be used from distinct threads. Memory comes from the rd_mem
 * given at creation (NULL = libc); the creator frees with the _close/_free
 * function.
 */
#ifndef REDUND_IO_H
#define REDUND_IO_H

#include <stddef.h>
#include <stdint.h>

#include "redund/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* IP protocol number of CARP (shared with VRRP). */
#define RD_IO_IPPROTO_CARP 112

/* ---------------------------------------------------------------------- */
/* Raw CARP sockets, one object per interface.                            */

/* Which families to open, and where to send. */
struct rd_io_carp_config {
	const struct rd_mem *mem; /* NULL: libc */
	unsigned int ifindex;     /* the interface; required */
	bool inet;                /* open the IPv4 socket */
	bool inet6;               /* open the IPv6 socket */
	/*
	 * Join the multicast groups 224.0.0.18 / ff02::12 on the interface.
	 * Off for unicast-only operation (--peer): packets addressed to this
	 * host are received either way.
	 */
	bool multicast;
	/*
	 * Source addresses to put on sent packets (IP_PKTINFO/IPV6_PKTINFO);
	 * RD_AF_UNSPEC lets the kernel choose.
	 */
	struct rd_addr src4;
	struct rd_addr src6;
};

/* One received CARP packet, as read by rd_io_carp_recv. */
struct rd_io_carp_pkt {
	uint8_t af;           /* RD_AF_INET or RD_AF_INET6 */
	uint8_t ttl;          /* IPv4 TTL or IPv6 hop limit as received */
	unsigned int ifindex; /* the receiving interface */
	struct rd_addr src;   /* IP source */
	struct rd_addr dst;   /* IP destination */
	/* IPv4 only: the whole IP packet (header included) within buf. */
	const uint8_t *ip;
	size_t ip_len;
	/* The CARP bytes (the IP payload) within buf, both families. */
	const uint8_t *payload;
	size_t payload_len;
};

struct rd_io_carp;

/*
 * rd_io_carp_config_default - both families, multicast groups joined,
 * source addresses chosen by the kernel, libc memory. ifindex stays 0: set
 * it. Thread-safe.
 */
RD_EXPORT void rd_io_carp_config_default(struct rd_io_carp_config *cfg);

/*
 * rd_io_carp_open - open raw protocol-112 sockets on cfg->ifindex: bound to
 * the device, multicast TTL/hop limit 255, unicast TTL 255, multicast loop
 * off, TOS 0x10 (low delay) on IPv4, IP_PKTINFO / IPV6_RECVHOPLIMIT /
 * IPV6_RECVPKTINFO on, groups joined if cfg->multicast. Needs CAP_NET_RAW.
 * On success *out is a new object owned by the caller (rd_io_carp_close).
 * Returns 0 or a negative errno.
 */
RD_EXPORT int rd_io_carp_open(const struct rd_io_carp_config *cfg, struct rd_io_carp **out);

/* rd_io_carp_close - close the sockets and free io. NULL is accepted. */
RD_EXPORT void rd_io_carp_close(struct rd_io_carp *io);

/*
 * rd_io_carp_fd - the descriptor to poll for readability for family af
 * (RD_AF_INET or RD_AF_INET6), or -1 if that family was not opened.
 */
RD_EXPORT int rd_io_carp_fd(const struct rd_io_carp *io, int af);

/*
 * rd_io_carp_recv - read one packet from the af socket into buf (which
 * should hold 1500 bytes or more) and describe it in *pkt (whose pointers
 * point into buf). Returns the number of bytes read (>= 0), -EAGAIN when
 * nothing is waiting, -EPROTO for an IPv4 packet without a valid IP header
 * (then only pkt->ip and pkt->ip_len are set, so the caller can still hand
 * the bytes to a validator that counts them), or another negative errno.
 */
RD_EXPORT int rd_io_carp_recv(struct rd_io_carp *io, int af, uint8_t *buf, size_t len,
                              struct rd_io_carp_pkt *pkt);

/*
 * rd_io_carp_send - send CARP bytes (an IP payload) to dst (224.0.0.18,
 * ff02::12 or a unicast peer) with TTL/hop limit 255; the kernel writes the
 * IP header. The source is src if it is of dst's family, else the one
 * configured at open, else the kernel's choice. Returns 0 or a negative
 * errno (-EAGAIN if the socket buffer is full: the advertisement is lost,
 * as a dropped frame would be).
 */
RD_EXPORT int rd_io_carp_send(struct rd_io_carp *io, const struct rd_addr *src,
                              const struct rd_addr *dst, const void *payload, size_t len);

/* ---------------------------------------------------------------------- */
/* Announcements on takeover.                                             */

struct rd_io_announce;

/*
 * rd_io_announce_open - open an AF_PACKET socket (gratuitous ARP) and an
 * ICMPv6 socket (unsolicited neighbour advertisements) on ifindex, and read
 * the interface's hardware address. Needs CAP_NET_RAW. *out is owned by
 * the caller (rd_io_announce_close). Returns 0 or a negative errno.
 */
RD_EXPORT int rd_io_announce_open(const struct rd_mem *mem, unsigned int ifindex,
                                  struct rd_io_announce **out);

/* rd_io_announce_close - close and free. NULL is accepted. */
RD_EXPORT void rd_io_announce_close(struct rd_io_announce *a);

/*
 * rd_io_announce_mac - the interface's hardware address (6 bytes), as read
 * at open.
 */
RD_EXPORT const uint8_t *rd_io_announce_mac(const struct rd_io_announce *a);

/*
 * rd_io_announce_addr - announce that addr now lives on this interface: for
 * IPv4 a gratuitous ARP request to the broadcast address (sender and target
 * IP = addr, sender hardware address = the interface's), for IPv6 an
 * unsolicited neighbour advertisement to ff02::1 with the Override flag and
 * the target link-layer address option, hop limit 255. `router` sets the R
 * flag. Returns 0 or a negative errno.
 */
RD_EXPORT int rd_io_announce_addr(struct rd_io_announce *a, const struct rd_addr *addr,
                                  bool router);

/*
 * rd_io_arp_build - write a 28-byte ARP request announcing ip4 (4 bytes,
 * network order) from mac into out[28]. Pure; thread-safe.
 */
RD_EXPORT void rd_io_arp_build(uint8_t out[28], const uint8_t mac[6], const uint8_t ip4[4]);

/*
 * rd_io_na_build - write an unsolicited neighbour advertisement (ICMPv6
 * type 136, checksum left 0 for the kernel) for target with the target
 * link-layer address option into out[32]. Pure; thread-safe.
 */
RD_EXPORT void rd_io_na_build(uint8_t out[32], const uint8_t target[16], const uint8_t mac[6],
                              bool router);

/* ---------------------------------------------------------------------- */
/* rtnetlink: addresses and link state.                                   */

struct rd_io_nl;

/* Link event delivered by rd_io_nl_read. */
struct rd_io_link_event {
	unsigned int ifindex;
	bool up;          /* IFF_UP and IFF_RUNNING (carrier and operstate up) */
	bool exists;      /* false: the link was deleted (RTM_DELLINK) */
	const char *name; /* IFLA_IFNAME, valid during the callback, or NULL */
};

typedef void (*rd_io_link_fn)(void *user, const struct rd_io_link_event *ev);

/*
 * rd_io_nl_open - open rtnetlink: one socket subscribed to link events and
 * one for requests. *out is owned by the caller (rd_io_nl_close). Returns 0
 * or a negative errno.
 */
RD_EXPORT int rd_io_nl_open(const struct rd_mem *mem, struct rd_io_nl **out);

/* rd_io_nl_close - close and free. NULL is accepted. */
RD_EXPORT void rd_io_nl_close(struct rd_io_nl *nl);

/* rd_io_nl_fd - the event socket's descriptor, to poll for readability. */
RD_EXPORT int rd_io_nl_fd(const struct rd_io_nl *nl);

/*
 * rd_io_nl_read - read every pending link event and call fn for each. Returns
 * the number of events delivered, or a negative errno (-ENOBUFS means
 * events were lost: call rd_io_nl_link_state for the links you follow).
 */
RD_EXPORT int rd_io_nl_read(struct rd_io_nl *nl, rd_io_link_fn fn, void *user);

/*
 * rd_io_nl_link_state - ask the kernel for ifindex's state now. Sets *up
 * (IFF_UP and IFF_RUNNING). Returns 0, -ENODEV, or another negative errno.
 */
RD_EXPORT int rd_io_nl_link_state(struct rd_io_nl *nl, unsigned int ifindex, bool *up);

/*
 * rd_io_nl_addr_add - add addr/prefixlen to ifindex (IPv6 without duplicate
 * address detection, so it is usable at once; IPv4 with the matching
 * broadcast). An address already present counts as success. Returns 0 or a
 * negative errno.
 */
RD_EXPORT int rd_io_nl_addr_add(struct rd_io_nl *nl, unsigned int ifindex,
                                const struct rd_addr *addr, unsigned int prefixlen);

/*
 * rd_io_nl_addr_del - remove addr/prefixlen from ifindex. An address already
 * absent counts as success. Returns 0 or a negative errno.
 */
RD_EXPORT int rd_io_nl_addr_del(struct rd_io_nl *nl, unsigned int ifindex,
                                const struct rd_addr *addr, unsigned int prefixlen);

/*
 * rd_io_nl_first_addr - the first address of family af on ifindex that is
 * not in skip[0..nskip) and, for IPv6, not link-local unless want_ll. Useful
 * to pick an advertisement source that is not a virtual address. Returns 0
 * (*out filled), -ENOENT if there is none, or a negative errno.
 */
RD_EXPORT int rd_io_nl_first_addr(struct rd_io_nl *nl, unsigned int ifindex, int af,
                                  const struct rd_addr *skip, size_t nskip, bool want_ll,
                                  struct rd_addr *out);

#ifdef __cplusplus
}
#endif

#endif
