/*
 * libredund io: the state sync transports (redund/io_sync.h). Plain mode is
 * a raw IPv4 socket of protocol 240; secure mode a UDP socket. Both batch
 * with recvmmsg/sendmmsg: a bulk update moves tens of thousands of
 * datagrams a second, and one system call a datagram would be the limit.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/internal.h"
#include "io/io_internal.h"
#include "redund/io_sync.h"
#include "redund/pfsync.h"
#include "redund/sync.h"

/* A queued datagram: `dest` is an index into dests[], or -1 for all of them. */
struct txslot {
	uint8_t *buf;
	size_t cap, len;
	int dest;
	struct sockaddr_storage to; /* when dest == -2: an explicit address */
	socklen_t tolen;
};

struct rd_io_sync {
	const struct rd_mem *mem;
	int mode;
	int fd;
	int family; /* AF_INET or AF_INET6 */
	unsigned int ifindex;
	bool check_ttl;
	uint16_t port;
	struct rd_addr local;
	/* Plain mode with listed peers: only they are heard (raw pfsync has no key). */
	struct rd_addr heard[RD_IO_SYNC_MAX_PEERS];
	size_t nheard;
	size_t batch, max_dgram;
	bool multicast; /* dests[0] is the group */
	struct sockaddr_storage dests[RD_IO_SYNC_MAX_PEERS + 1];
	socklen_t destlen[RD_IO_SYNC_MAX_PEERS + 1];
	size_t ndests;
	/* receive side */
	uint8_t *rxbuf; /* batch * max_dgram */
	struct mmsghdr *rxm;
	struct iovec *rxiov;
	struct sockaddr_storage *rxfrom;
	uint8_t *rxctl;
	/* send side: a ring of slots; head is the oldest, the first `sent` of its dests are done */
	struct txslot *tx;
	size_t txhead, txcount, txdone;
	struct mmsghdr *txm;
	struct iovec *txiov;
	uint64_t stats[RD_IO_SYNC_STAT_COUNT];
	size_t rcvbuf, sndbuf;
};

#define CTL_SPACE 128 /* pktinfo + ttl/hoplimit control messages */

static const char *const stat_names[RD_IO_SYNC_STAT_COUNT] = {
    [RD_IO_SYNC_STAT_IPACKETS] = "ipackets", [RD_IO_SYNC_STAT_OPACKETS] = "opackets",
    [RD_IO_SYNC_STAT_BADTTL] = "badttl",     [RD_IO_SYNC_STAT_BADIF] = "badif",
    [RD_IO_SYNC_STAT_HDROPS] = "hdrops",     [RD_IO_SYNC_STAT_TRUNC] = "trunc",
    [RD_IO_SYNC_STAT_SELF] = "self",         [RD_IO_SYNC_STAT_OERRORS] = "oerrors",
    [RD_IO_SYNC_STAT_NOTPEER] = "notpeer",   [RD_IO_SYNC_STAT_ODROPS] = "odrops",
};

const char *rd_io_sync_stat_name(int stat)
{
	if (stat < 0 || stat >= RD_IO_SYNC_STAT_COUNT)
		return "unknown";
	return stat_names[stat];
}

static socklen_t to_sockaddr(const struct rd_addr *a, uint16_t port, unsigned int scope,
                             struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->af == RD_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->u.v6, 16);
		/* Link-local and multicast-link-local need the interface. */
		if ((a->u.v6[0] == 0xfe && (a->u.v6[1] & 0xc0) == 0x80) ||
		    (a->u.v6[0] == 0xff && (a->u.v6[1] & 0x0f) == 0x02))
			s6->sin6_scope_id = scope;
		return sizeof(*s6);
	}
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, a->u.v4, 4);
		return sizeof(*s4);
	}
}

static void from_sockaddr(const struct sockaddr_storage *ss, struct rd_addr *a, uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	*port = 0;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		a->af = RD_AF_INET6;
		memcpy(a->u.v6, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a->af = RD_AF_INET;
		memcpy(a->u.v4, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	}
}

/*
 * Large buffers: a bulk update arrives faster than one loop iteration
 * drains it. FORCE passes net.core.[rw]mem_max when privileged; otherwise
 * the plain option gives what the limits allow.
 */
static void set_buffers(struct rd_io_sync *io, size_t bytes)
{
	int v = bytes > (size_t)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)bytes;
	socklen_t l = sizeof(v);

	if (rd_io_setint(io->fd, SOL_SOCKET, SO_RCVBUFFORCE, v) < 0)
		rd_io_setint(io->fd, SOL_SOCKET, SO_RCVBUF, v);
	if (rd_io_setint(io->fd, SOL_SOCKET, SO_SNDBUFFORCE, v) < 0)
		rd_io_setint(io->fd, SOL_SOCKET, SO_SNDBUF, v);
	if (getsockopt(io->fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0)
		io->rcvbuf = (size_t)v;
	l = sizeof(v);
	if (getsockopt(io->fd, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0)
		io->sndbuf = (size_t)v;
}

static int pick_family(const struct rd_io_sync_config *cfg, int *family)
{
	int af = RD_AF_UNSPEC;
	size_t i;

	if (cfg->local.af != RD_AF_UNSPEC)
		af = cfg->local.af;
	for (i = 0; i < cfg->npeers; i++) {
		if (cfg->peers[i].af != RD_AF_INET && cfg->peers[i].af != RD_AF_INET6)
			return -EINVAL;
		if (af == RD_AF_UNSPEC)
			af = cfg->peers[i].af;
		else if (af != cfg->peers[i].af)
			return -EINVAL;
	}
	if (cfg->multicast && cfg->group.af != RD_AF_UNSPEC) {
		if (af == RD_AF_UNSPEC)
			af = cfg->group.af;
		else if (af != cfg->group.af)
			return -EINVAL;
	}
	if (af == RD_AF_UNSPEC)
		af = RD_AF_INET;
	if (af == RD_AF_INET6 && cfg->mode == RD_IO_SYNC_PLAIN)
		return -EINVAL; /* OpenBSD's pfsync is IPv4 only */
	*family = af == RD_AF_INET6 ? AF_INET6 : AF_INET;
	return 0;
}

static struct rd_addr default_group(int family)
{
	struct rd_addr g;

	if (family == AF_INET)
		return rd_addr_v4(RD_PFSYNC_GROUP_V4);
	memset(&g, 0, sizeof(g));
	g.af = RD_AF_INET6;
	g.u.v6[0] = 0xff;
	g.u.v6[1] = 0x02;
	g.u.v6[15] = RD_IO_SYNC_GROUP6_LSB;
	return g;
}

static int setup_v4(struct rd_io_sync *io, const struct rd_io_sync_config *cfg,
                    const struct rd_addr *group)
{
	struct ip_mreqn mreq;
	int rc;

	/* OpenBSD's pfsync_sendout: TTL 255, low delay, don't fragment. */
	if ((rc = rd_io_setint(io->fd, IPPROTO_IP, IP_TTL, 255)) < 0 ||
	    (rc = rd_io_setint(io->fd, IPPROTO_IP, IP_MULTICAST_TTL, 255)) < 0 ||
	    (rc = rd_io_setint(io->fd, IPPROTO_IP, IP_MULTICAST_LOOP, cfg->multicast_loop)) < 0 ||
	    (rc = rd_io_setint(io->fd, IPPROTO_IP, IP_TOS, IPTOS_LOWDELAY)) < 0 ||
	    (rc = rd_io_setint(io->fd, IPPROTO_IP, IP_PKTINFO, 1)) < 0)
		return rc;
	if (io->mode == RD_IO_SYNC_PLAIN &&
	    (rc = rd_io_setint(io->fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)) < 0)
		return rc;
	if (io->mode == RD_IO_SYNC_SECURE &&
	    (rc = rd_io_setint(io->fd, IPPROTO_IP, IP_RECVTTL, 1)) < 0)
		return rc;
	if (cfg->ifindex != 0) {
		memset(&mreq, 0, sizeof(mreq));
		mreq.imr_ifindex = (int)cfg->ifindex;
		if (setsockopt(io->fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) < 0)
			return -errno;
		if (cfg->multicast) {
			memcpy(&mreq.imr_multiaddr, group->u.v4, 4);
			if (setsockopt(io->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) <
			    0)
				return -errno;
		}
	}
	return 0;
}

static int setup_v6(struct rd_io_sync *io, const struct rd_io_sync_config *cfg,
                    const struct rd_addr *group)
{
	struct ipv6_mreq mreq;
	int rc;

	if ((rc = rd_io_setint(io->fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) < 0 ||
	    (rc = rd_io_setint(io->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255)) < 0 ||
	    (rc = rd_io_setint(io->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255)) < 0 ||
	    (rc = rd_io_setint(io->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, cfg->multicast_loop)) <
	        0 ||
	    (rc = rd_io_setint(io->fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)) < 0 ||
	    (rc = rd_io_setint(io->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) < 0)
		return rc;
	if (cfg->ifindex != 0) {
		if ((rc = rd_io_setint(io->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
		                       (int)cfg->ifindex)) < 0)
			return rc;
		if (cfg->multicast) {
			memset(&mreq, 0, sizeof(mreq));
			memcpy(&mreq.ipv6mr_multiaddr, group->u.v6, 16);
			mreq.ipv6mr_interface = cfg->ifindex;
			if (setsockopt(io->fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq,
			               sizeof(mreq)) < 0)
				return -errno;
		}
	}
	return 0;
}

static int alloc_buffers(struct rd_io_sync *io)
{
	size_t i;

	io->rxbuf = rd_malloc(io->mem, io->batch * io->max_dgram);
	io->rxm = rd_calloc(io->mem, io->batch, sizeof(*io->rxm));
	io->rxiov = rd_calloc(io->mem, io->batch, sizeof(*io->rxiov));
	io->rxfrom = rd_calloc(io->mem, io->batch, sizeof(*io->rxfrom));
	io->rxctl = rd_calloc(io->mem, io->batch, CTL_SPACE);
	io->tx = rd_calloc(io->mem, io->batch, sizeof(*io->tx));
	io->txm = rd_calloc(io->mem, io->batch, sizeof(*io->txm));
	io->txiov = rd_calloc(io->mem, io->batch, sizeof(*io->txiov));
	if (io->rxbuf == NULL || io->rxm == NULL || io->rxiov == NULL || io->rxfrom == NULL ||
	    io->rxctl == NULL || io->tx == NULL || io->txm == NULL || io->txiov == NULL)
		return -ENOMEM;
	for (i = 0; i < io->batch; i++) {
		io->rxiov[i].iov_base = io->rxbuf + i * io->max_dgram;
		io->rxiov[i].iov_len = io->max_dgram;
	}
	return 0;
}

int rd_io_sync_open(const struct rd_io_sync_config *cfg, struct rd_io_sync **out)
{
	struct rd_io_sync *io;
	struct rd_addr group;
	size_t i;
	int rc, family;

	if (cfg == NULL || out == NULL ||
	    (cfg->mode != RD_IO_SYNC_PLAIN && cfg->mode != RD_IO_SYNC_SECURE) ||
	    cfg->npeers > RD_IO_SYNC_MAX_PEERS || (!cfg->multicast && cfg->npeers == 0) ||
	    (cfg->multicast && cfg->ifindex == 0))
		return -EINVAL;
	if ((rc = pick_family(cfg, &family)) < 0)
		return rc;
	group = cfg->group.af != RD_AF_UNSPEC ? cfg->group : default_group(family);
	io = rd_calloc(cfg->mem, 1, sizeof(*io));
	if (io == NULL)
		return -ENOMEM;
	io->mem = cfg->mem;
	io->mode = cfg->mode;
	io->family = family;
	io->ifindex = cfg->ifindex;
	io->check_ttl = cfg->mode == RD_IO_SYNC_PLAIN || cfg->check_ttl;
	io->port = cfg->mode == RD_IO_SYNC_SECURE ? (cfg->port ? cfg->port : RD_SYNC_UDP_PORT) : 0;
	io->local = cfg->local;
	io->batch = cfg->batch ? cfg->batch : RD_IO_SYNC_BATCH;
	io->max_dgram = cfg->max_dgram ? cfg->max_dgram : RD_IO_SYNC_MAX_DGRAM;
	if (io->max_dgram > RD_IO_SYNC_MAX_DGRAM)
		io->max_dgram = RD_IO_SYNC_MAX_DGRAM;
	if (io->max_dgram < 64 || io->batch > 1024) {
		rd_free(io->mem, io);
		return -EINVAL;
	}
	io->fd = -1;
	if ((rc = alloc_buffers(io)) < 0)
		goto fail;
	if (cfg->multicast) {
		io->destlen[io->ndests] =
		    to_sockaddr(&group, io->port, cfg->ifindex, &io->dests[io->ndests]);
		io->ndests++;
		io->multicast = true;
	}
	for (i = 0; i < cfg->npeers; i++) {
		io->destlen[io->ndests] =
		    to_sockaddr(&cfg->peers[i], io->port, cfg->ifindex, &io->dests[io->ndests]);
		io->ndests++;
		if (cfg->mode == RD_IO_SYNC_PLAIN)
			io->heard[io->nheard++] = cfg->peers[i];
	}
	if (cfg->mode == RD_IO_SYNC_PLAIN)
		io->fd =
		    socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, RD_PFSYNC_IPPROTO);
	else
		io->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (io->fd < 0) {
		rc = -errno;
		goto fail;
	}
	set_buffers(io, cfg->bufsize ? cfg->bufsize : RD_IO_SYNC_BUFSIZE);
	rc = family == AF_INET ? setup_v4(io, cfg, &group) : setup_v6(io, cfg, &group);
	if (rc < 0)
		goto fail;
	if (cfg->mode == RD_IO_SYNC_SECURE || cfg->local.af != RD_AF_UNSPEC) {
		struct sockaddr_storage ss;
		struct rd_addr any;
		socklen_t sl;

		memset(&any, 0, sizeof(any));
		any.af = family == AF_INET6 ? RD_AF_INET6 : RD_AF_INET;
		/* Bound to the wildcard unless told: multicast and unicast both arrive. */
		sl = to_sockaddr(cfg->local.af != RD_AF_UNSPEC ? &cfg->local : &any, io->port,
		                 cfg->ifindex, &ss);
		if (rd_io_setint(io->fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
		    bind(io->fd, (struct sockaddr *)&ss, sl) < 0) {
			rc = -errno;
			goto fail;
		}
	}
	*out = io;
	return 0;
fail:
	rd_io_sync_close(io);
	return rc;
}

void rd_io_sync_close(struct rd_io_sync *io)
{
	size_t i;

	if (io == NULL)
		return;
	if (io->fd >= 0)
		close(io->fd);
	if (io->tx != NULL)
		for (i = 0; i < io->batch; i++)
			rd_free(io->mem, io->tx[i].buf);
	rd_free(io->mem, io->rxbuf);
	rd_free(io->mem, io->rxm);
	rd_free(io->mem, io->rxiov);
	rd_free(io->mem, io->rxfrom);
	rd_free(io->mem, io->rxctl);
	rd_free(io->mem, io->tx);
	rd_free(io->mem, io->txm);
	rd_free(io->mem, io->txiov);
	rd_free(io->mem, io);
}

int rd_io_sync_fd(const struct rd_io_sync *io)
{
	return io->fd;
}

size_t rd_io_sync_overhead(const struct rd_io_sync *io)
{
	return (io->family == AF_INET6 ? 40 : 20) + (io->mode == RD_IO_SYNC_SECURE ? 8 : 0);
}

void rd_io_sync_stats(const struct rd_io_sync *io, uint64_t out[RD_IO_SYNC_STAT_COUNT])
{
	memcpy(out, io->stats, sizeof(io->stats));
}

void rd_io_sync_config_default(struct rd_io_sync_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = RD_IO_SYNC_SECURE;
	cfg->multicast = true;
	cfg->port = RD_SYNC_UDP_PORT;
	cfg->bufsize = RD_IO_SYNC_BUFSIZE;
	cfg->batch = RD_IO_SYNC_BATCH;
	cfg->max_dgram = RD_IO_SYNC_MAX_DGRAM;
}

void rd_io_sync_buffers(const struct rd_io_sync *io, size_t *rcvbuf, size_t *sndbuf)
{
	if (rcvbuf != NULL)
		*rcvbuf = io->rcvbuf;
	if (sndbuf != NULL)
		*sndbuf = io->sndbuf;
}

size_t rd_io_sync_pending(const struct rd_io_sync *io)
{
	return io->txcount;
}

/* Fill ifindex and ttl from the control messages. */
static void read_cmsgs(struct msghdr *mh, struct rd_io_sync_msg *m)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			m->ifindex = (unsigned int)pi.ipi_ifindex;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) {
			int t;

			memcpy(&t, CMSG_DATA(c), sizeof(t));
			m->ttl = (uint8_t)t;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			m->ifindex = pi.ipi6_ifindex;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) {
			int h;

			memcpy(&h, CMSG_DATA(c), sizeof(h));
			m->ttl = (uint8_t)h;
		}
	}
}

int rd_io_sync_parse_ip4(const uint8_t *pkt, size_t len, struct rd_io_sync_msg *m)
{
	/* A raw IPv4 socket hands over the IP header: TTL and source come from it. */
	size_t hl = rd_io_ip4_hdrlen(pkt, len);

	if (hl == 0 || pkt[9] != RD_PFSYNC_IPPROTO)
		return RD_IO_SYNC_STAT_HDROPS;
	m->ttl = pkt[8];
	memset(&m->from, 0, sizeof(m->from));
	m->from.af = RD_AF_INET;
	memcpy(m->from.u.v4, pkt + 12, 4);
	m->data = pkt + hl;
	m->len = len - hl;
	return -1;
}

/* Check one received datagram; returns the reason it is refused or -1 when good. */
static int check_msg(struct rd_io_sync *io, struct mmsghdr *mm, uint8_t *buf,
                     struct rd_io_sync_msg *m)
{
	size_t n = mm->msg_len;

	if (mm->msg_hdr.msg_flags & MSG_TRUNC)
		return RD_IO_SYNC_STAT_TRUNC;
	m->data = buf;
	m->len = n;
	if (io->mode == RD_IO_SYNC_PLAIN) {
		int why = rd_io_sync_parse_ip4(buf, n, m);

		if (why >= 0)
			return why;
	}
	if (io->ifindex != 0 && m->ifindex != 0 && m->ifindex != io->ifindex)
		return RD_IO_SYNC_STAT_BADIF;
	if (io->check_ttl && m->ttl != 255)
		return RD_IO_SYNC_STAT_BADTTL;
	if (io->local.af != RD_AF_UNSPEC && rd_addr_cmp(&io->local, &m->from) == 0)
		return RD_IO_SYNC_STAT_SELF;
	if (io->nheard > 0) {
		size_t i;
		for (i = 0; i < io->nheard; i++)
			if (rd_addr_cmp(&io->heard[i], &m->from) == 0)
				break;
		if (i == io->nheard)
			return RD_IO_SYNC_STAT_NOTPEER;
	}
	return -1;
}

int rd_io_sync_recv(struct rd_io_sync *io, struct rd_io_sync_msg *msgs, size_t max)
{
	size_t i, good = 0, want = max < io->batch ? max : io->batch;
	int n;

	if (want == 0)
		return 0;
	for (i = 0; i < want; i++) {
		struct msghdr *h = &io->rxm[i].msg_hdr;

		h->msg_name = &io->rxfrom[i];
		h->msg_namelen = sizeof(io->rxfrom[i]);
		h->msg_iov = &io->rxiov[i];
		h->msg_iovlen = 1;
		h->msg_control = io->rxctl + i * CTL_SPACE;
		h->msg_controllen = CTL_SPACE;
		h->msg_flags = 0;
	}
	n = recvmmsg(io->fd, io->rxm, (unsigned int)want, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (i = 0; i < (size_t)n; i++) {
		struct rd_io_sync_msg *m = &msgs[good];
		int why;

		memset(m, 0, sizeof(*m));
		from_sockaddr(&io->rxfrom[i], &m->from, &m->from_port);
		read_cmsgs(&io->rxm[i].msg_hdr, m);
		why = check_msg(io, &io->rxm[i], io->rxbuf + i * io->max_dgram, m);
		if (why >= 0) {
			io->stats[why]++;
			continue;
		}
		io->stats[RD_IO_SYNC_STAT_IPACKETS]++;
		good++;
	}
	return (int)good;
}

/* Destinations of a slot. */
static size_t slot_ndests(const struct rd_io_sync *io, const struct txslot *s)
{
	return s->dest == -1 ? io->ndests : 1;
}

int rd_io_sync_flush(struct rd_io_sync *io)
{
	while (io->txcount > 0) {
		size_t k = 0, slot = io->txhead, done = io->txdone, left = io->txcount;
		int n, i;

		/* One mmsghdr per (slot, destination), up to batch of them. */
		while (k < io->batch && left > 0) {
			struct txslot *s = &io->tx[slot];
			struct msghdr *h = &io->txm[k].msg_hdr;

			memset(h, 0, sizeof(*h));
			io->txiov[k].iov_base = s->buf;
			io->txiov[k].iov_len = s->len;
			h->msg_iov = &io->txiov[k];
			h->msg_iovlen = 1;
			if (s->dest == -2) {
				h->msg_name = &s->to;
				h->msg_namelen = s->tolen;
			} else {
				size_t d = s->dest == -1 ? done : (size_t)s->dest;

				h->msg_name = &io->dests[d];
				h->msg_namelen = io->destlen[d];
			}
			k++;
			if (++done >= slot_ndests(io, s)) {
				done = 0;
				slot = (slot + 1) % io->batch;
				left--;
			}
		}
		n = sendmmsg(io->fd, io->txm, (unsigned int)k, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			return (int)io->txcount;
		if (n < 0) {
			/* The first datagram failed for good (no route, too big): drop it. */
			n = -errno;
			io->stats[RD_IO_SYNC_STAT_OERRORS]++;
			i = 1;
		} else {
			io->stats[RD_IO_SYNC_STAT_OPACKETS] += (uint64_t)n;
			i = n;
		}
		/* Advance past the datagrams handled. */
		while (i-- > 0) {
			struct txslot *s = &io->tx[io->txhead];

			if (++io->txdone >= slot_ndests(io, s)) {
				io->txdone = 0;
				io->txhead = (io->txhead + 1) % io->batch;
				io->txcount--;
			}
		}
		if (n < 0)
			return n;
		if ((size_t)n < k)
			return (int)io->txcount; /* the socket buffer filled up */
	}
	return 0;
}

int rd_io_sync_set_peers(struct rd_io_sync *io, const struct rd_addr *peers, size_t npeers)
{
	int af = io->family == AF_INET ? RD_AF_INET : RD_AF_INET6;
	size_t i, n = io->multicast ? 1 : 0;

	if (npeers > RD_IO_SYNC_MAX_PEERS || (npeers == 0 && !io->multicast))
		return -EINVAL;
	for (i = 0; i < npeers; i++)
		if (peers[i].af != af)
			return -EINVAL;
	/* A queued datagram names its destinations by index into dests. */
	if (io->txcount > 0)
		return -EBUSY;
	io->nheard = 0;
	for (i = 0; i < npeers; i++) {
		io->destlen[n + i] =
		    to_sockaddr(&peers[i], io->port, io->ifindex, &io->dests[n + i]);
		if (io->mode == RD_IO_SYNC_PLAIN)
			io->heard[io->nheard++] = peers[i];
	}
	io->ndests = n + npeers;
	return 0;
}

int rd_io_sync_queue(struct rd_io_sync *io, const struct rd_addr *to, const void *data, size_t len)
{
	struct txslot *s;
	size_t room = io->max_dgram - (io->mode == RD_IO_SYNC_PLAIN ? 20 : 0);

	if (len > room)
		return -EMSGSIZE;
	if (io->ndests == 0 && (to == NULL || to->af == RD_AF_UNSPEC))
		return -EINVAL;
	if (io->txcount == io->batch) {
		rd_io_sync_flush(io);
		if (io->txcount == io->batch) {
			io->stats[RD_IO_SYNC_STAT_ODROPS]++;
			return -EAGAIN;
		}
	}
	s = &io->tx[(io->txhead + io->txcount) % io->batch];
	if (s->cap < len) {
		uint8_t *nb = rd_realloc(io->mem, s->buf, len);

		if (nb == NULL)
			return -ENOMEM;
		s->buf = nb;
		s->cap = len;
	}
	memcpy(s->buf, data, len);
	s->len = len;
	s->dest = -1;
	if (to != NULL && to->af != RD_AF_UNSPEC) {
		if ((to->af == RD_AF_INET6) != (io->family == AF_INET6))
			return -EINVAL;
		s->dest = -2;
		s->tolen = to_sockaddr(to, io->port, io->ifindex, &s->to);
	}
	io->txcount++;
	return 0;
}
