/* libredund io: raw CARP sockets (IP protocol 112) for IPv4 and IPv6. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/internal.h"
#include "io/io_internal.h"
#include "redund/io.h"

struct rd_io_carp {
	const struct rd_mem *mem;
	unsigned int ifindex;
	int fd4;
	int fd6;
	struct rd_addr src4;
	struct rd_addr src6;
};

static const uint8_t carp_group6[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12};
#define CARP_GROUP4 0xe0000012u /* 224.0.0.18 */

/* Bind a socket to the interface so it neither receives nor routes elsewhere. */
static int bind_dev(int fd, unsigned int ifindex)
{
	char name[IF_NAMESIZE];

	if (if_indextoname(ifindex, name) == NULL)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)strlen(name) + 1) < 0)
		return -errno;
	return 0;
}

static int open4(const struct rd_io_carp_config *cfg, int *out)
{
	int fd, rc;
	struct ip_mreqn mreq;

	fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, RD_IO_IPPROTO_CARP);
	if (fd < 0)
		return -errno;
	if ((rc = bind_dev(fd, cfg->ifindex)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IP, IP_TTL, 255)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IP, IP_MULTICAST_TTL, 255)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IP, IP_TOS, IPTOS_LOWDELAY)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IP, IP_PKTINFO, 1)) < 0)
		goto fail;
	memset(&mreq, 0, sizeof(mreq));
	mreq.imr_ifindex = (int)cfg->ifindex;
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) < 0)
		goto fail_errno;
	if (cfg->multicast) {
		mreq.imr_multiaddr.s_addr = htonl(CARP_GROUP4);
		if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0)
			goto fail_errno;
	}
	*out = fd;
	return 0;
fail_errno:
	rc = -errno;
fail:
	close(fd);
	return rc;
}

static int open6(const struct rd_io_carp_config *cfg, int *out)
{
	int fd, rc;
	struct ipv6_mreq mreq;

	fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, RD_IO_IPPROTO_CARP);
	if (fd < 0)
		return -errno;
	if ((rc = bind_dev(fd, cfg->ifindex)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)cfg->ifindex)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1)) < 0 ||
	    (rc = rd_io_setint(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) < 0)
		goto fail;
	if (cfg->multicast) {
		memset(&mreq, 0, sizeof(mreq));
		memcpy(&mreq.ipv6mr_multiaddr, carp_group6, 16);
		mreq.ipv6mr_interface = cfg->ifindex;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) {
			rc = -errno;
			goto fail;
		}
	}
	*out = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

void rd_io_carp_config_default(struct rd_io_carp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->inet = true;
	cfg->inet6 = true;
	cfg->multicast = true;
	cfg->src4.af = RD_AF_UNSPEC;
	cfg->src6.af = RD_AF_UNSPEC;
}

int rd_io_carp_open(const struct rd_io_carp_config *cfg, struct rd_io_carp **out)
{
	struct rd_io_carp *io;
	int rc;

	if (cfg == NULL || out == NULL || cfg->ifindex == 0 || (!cfg->inet && !cfg->inet6))
		return -EINVAL;
	io = rd_calloc(cfg->mem, 1, sizeof(*io));
	if (io == NULL)
		return -ENOMEM;
	io->mem = cfg->mem;
	io->ifindex = cfg->ifindex;
	io->fd4 = io->fd6 = -1;
	io->src4 = cfg->src4;
	io->src6 = cfg->src6;
	if (cfg->inet && (rc = open4(cfg, &io->fd4)) < 0)
		goto fail;
	if (cfg->inet6 && (rc = open6(cfg, &io->fd6)) < 0)
		goto fail;
	*out = io;
	return 0;
fail:
	rd_io_carp_close(io);
	return rc;
}

void rd_io_carp_close(struct rd_io_carp *io)
{
	if (io == NULL)
		return;
	if (io->fd4 >= 0)
		close(io->fd4);
	if (io->fd6 >= 0)
		close(io->fd6);
	rd_free(io->mem, io);
}

int rd_io_carp_fd(const struct rd_io_carp *io, int af)
{
	if (af == RD_AF_INET)
		return io->fd4;
	if (af == RD_AF_INET6)
		return io->fd6;
	return -1;
}

static int recv4(struct rd_io_carp *io, uint8_t *buf, size_t len, struct rd_io_carp_pkt *pkt)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in_pktinfo))];
	} cbuf;
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	ssize_t n;
	size_t hl;

	n = recvmsg(io->fd4, &msg, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	pkt->ifindex = io->ifindex;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pkt->ifindex = (unsigned int)pi.ipi_ifindex;
		}
	}
	/* A raw IPv4 socket hands over the IP header: TTL and addresses come from it. */
	pkt->ip = buf;
	pkt->ip_len = (size_t)n;
	hl = rd_io_ip4_hdrlen(buf, (size_t)n);
	if (hl == 0)
		return -EPROTO;
	pkt->af = RD_AF_INET;
	pkt->ttl = buf[8];
	memset(&pkt->src, 0, sizeof(pkt->src));
	memset(&pkt->dst, 0, sizeof(pkt->dst));
	pkt->src.af = pkt->dst.af = RD_AF_INET;
	memcpy(pkt->src.u.v4, buf + 12, 4);
	memcpy(pkt->dst.u.v4, buf + 16, 4);
	pkt->ip = buf;
	pkt->ip_len = (size_t)n;
	pkt->payload = buf + hl;
	pkt->payload_len = (size_t)n - hl;
	return (int)n;
}

static int recv6(struct rd_io_carp *io, uint8_t *buf, size_t len, struct rd_io_carp_pkt *pkt)
{
	struct sockaddr_in6 from;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct msghdr msg = {.msg_name = &from,
	                     .msg_namelen = sizeof(from),
	                     .msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = &cbuf,
	                     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c;
	ssize_t n;
	bool have_hlim = false;

	n = recvmsg(io->fd6, &msg, MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	memset(pkt, 0, sizeof(*pkt));
	pkt->af = RD_AF_INET6;
	pkt->ifindex = io->ifindex;
	pkt->src.af = pkt->dst.af = RD_AF_INET6;
	memcpy(pkt->src.u.v6, &from.sin6_addr, 16);
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != IPPROTO_IPV6)
			continue;
		if (c->cmsg_type == IPV6_HOPLIMIT) {
			int h;

			memcpy(&h, CMSG_DATA(c), sizeof(h));
			pkt->ttl = (uint8_t)h;
			have_hlim = true;
		} else if (c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(pkt->dst.u.v6, &pi.ipi6_addr, 16);
			pkt->ifindex = pi.ipi6_ifindex;
		}
	}
	/* Without the hop limit we cannot check it: report 0, which fails the check. */
	if (!have_hlim)
		pkt->ttl = 0;
	pkt->payload = buf;
	pkt->payload_len = (size_t)n;
	return (int)n;
}

int rd_io_carp_recv(struct rd_io_carp *io, int af, uint8_t *buf, size_t len,
                    struct rd_io_carp_pkt *pkt)
{
	if (af == RD_AF_INET && io->fd4 >= 0)
		return recv4(io, buf, len, pkt);
	if (af == RD_AF_INET6 && io->fd6 >= 0)
		return recv6(io, buf, len, pkt);
	return -EAFNOSUPPORT;
}

int rd_io_carp_send(struct rd_io_carp *io, const struct rd_addr *src, const struct rd_addr *dst,
                    const void *payload, size_t len)
{
	const struct rd_addr *s4 = src != NULL && src->af == RD_AF_INET ? src : &io->src4;
	const struct rd_addr *s6 = src != NULL && src->af == RD_AF_INET6 ? src : &io->src6;

	struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cbuf;
	struct cmsghdr *c;

	memset(&cbuf, 0, sizeof(cbuf));
	if (dst->af == RD_AF_INET) {
		struct sockaddr_in sin = {.sin_family = AF_INET};

		if (io->fd4 < 0)
			return -EAFNOSUPPORT;
		memcpy(&sin.sin_addr, dst->u.v4, 4);
		msg.msg_name = &sin;
		msg.msg_namelen = sizeof(sin);
		if (s4->af == RD_AF_INET) {
			struct in_pktinfo pi;

			memset(&pi, 0, sizeof(pi));
			pi.ipi_ifindex = (int)io->ifindex;
			memcpy(&pi.ipi_spec_dst, s4->u.v4, 4);
			msg.msg_control = &cbuf;
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = IPPROTO_IP;
			c->cmsg_type = IP_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
		return sendmsg(io->fd4, &msg, MSG_DONTWAIT) < 0 ? -errno : 0;
	}
	if (dst->af == RD_AF_INET6) {
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

		if (io->fd6 < 0)
			return -EAFNOSUPPORT;
		memcpy(&sin6.sin6_addr, dst->u.v6, 16);
		/* Link-local and multicast link-scope destinations need the scope. */
		if ((dst->u.v6[0] == 0xfe && (dst->u.v6[1] & 0xc0) == 0x80) ||
		    (dst->u.v6[0] == 0xff && (dst->u.v6[1] & 0x0f) <= 2))
			sin6.sin6_scope_id = io->ifindex;
		msg.msg_name = &sin6;
		msg.msg_namelen = sizeof(sin6);
		if (s6->af == RD_AF_INET6) {
			struct in6_pktinfo pi;

			memset(&pi, 0, sizeof(pi));
			pi.ipi6_ifindex = io->ifindex;
			memcpy(&pi.ipi6_addr, s6->u.v6, 16);
			msg.msg_control = &cbuf;
			msg.msg_controllen = CMSG_SPACE(sizeof(pi));
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = IPPROTO_IPV6;
			c->cmsg_type = IPV6_PKTINFO;
			c->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		}
		return sendmsg(io->fd6, &msg, MSG_DONTWAIT) < 0 ? -errno : 0;
	}
	return -EAFNOSUPPORT;
}
