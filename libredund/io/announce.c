/*
 * libredund io: gratuitous ARP (AF_PACKET) and unsolicited neighbour
 * advertisements (raw ICMPv6), sent when a vhost becomes MASTER so that
 * neighbours and switches move the virtual addresses to this host at once.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/internal.h"
#include "redund/io.h"

struct rd_io_announce {
	const struct rd_mem *mem;
	unsigned int ifindex;
	int pfd;  /* AF_PACKET, SOCK_DGRAM, ETH_P_ARP */
	int icmp; /* AF_INET6 raw ICMPv6 */
	uint8_t mac[6];
};

void rd_io_arp_build(uint8_t out[28], const uint8_t mac[6], const uint8_t ip4[4])
{
	rd_put16(out, 1);          /* hardware: Ethernet */
	rd_put16(out + 2, 0x0800); /* protocol: IPv4 */
	out[4] = 6;
	out[5] = 4;
	rd_put16(out + 6, 1); /* request, as OpenBSD's carp_send_arp sends */
	memcpy(out + 8, mac, 6);
	memcpy(out + 14, ip4, 4);
	memset(out + 18, 0, 6);
	memcpy(out + 24, ip4, 4);
}

void rd_io_na_build(uint8_t out[32], const uint8_t target[16], const uint8_t mac[6], bool router)
{
	memset(out, 0, 32);
	out[0] = ND_NEIGHBOR_ADVERT; /* 136 */
	out[1] = 0;
	/* flags: Router (0x80) if asked, Solicited clear, Override (0x20) set */
	out[4] = (uint8_t)(0x20 | (router ? 0x80 : 0));
	memcpy(out + 8, target, 16);
	out[24] = ND_OPT_TARGET_LINKADDR; /* 2 */
	out[25] = 1;                      /* length in units of 8 bytes */
	memcpy(out + 26, mac, 6);
}

static int read_mac(unsigned int ifindex, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd, rc = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (if_indextoname(ifindex, ifr.ifr_name) == NULL)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		rc = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return rc;
}

int rd_io_announce_open(const struct rd_mem *mem, unsigned int ifindex, struct rd_io_announce **out)
{
	struct rd_io_announce *a;
	char name[IF_NAMESIZE];
	int rc, v;

	if (ifindex == 0 || out == NULL)
		return -EINVAL;
	a = rd_calloc(mem, 1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->mem = mem;
	a->ifindex = ifindex;
	a->pfd = a->icmp = -1;
	if ((rc = read_mac(ifindex, a->mac)) < 0)
		goto fail;
	a->pfd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->pfd < 0)
		goto fail_errno;
	a->icmp = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (a->icmp < 0)
		goto fail_errno;
	/* Send only: filter out every incoming ICMPv6 message. */
	{
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		if (setsockopt(a->icmp, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) < 0)
			goto fail_errno;
	}
	v = 255;
	if (setsockopt(a->icmp, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v, sizeof(v)) < 0 ||
	    setsockopt(a->icmp, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &v, sizeof(v)) < 0)
		goto fail_errno;
	v = 0;
	if (setsockopt(a->icmp, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &v, sizeof(v)) < 0)
		goto fail_errno;
	v = (int)ifindex;
	if (setsockopt(a->icmp, IPPROTO_IPV6, IPV6_MULTICAST_IF, &v, sizeof(v)) < 0)
		goto fail_errno;
	if (if_indextoname(ifindex, name) == NULL ||
	    setsockopt(a->icmp, SOL_SOCKET, SO_BINDTODEVICE, name, (socklen_t)strlen(name) + 1) < 0)
		goto fail_errno;
	*out = a;
	return 0;
fail_errno:
	rc = -errno;
fail:
	rd_io_announce_close(a);
	return rc;
}

void rd_io_announce_close(struct rd_io_announce *a)
{
	if (a == NULL)
		return;
	if (a->pfd >= 0)
		close(a->pfd);
	if (a->icmp >= 0)
		close(a->icmp);
	rd_free(a->mem, a);
}

const uint8_t *rd_io_announce_mac(const struct rd_io_announce *a)
{
	return a->mac;
}

int rd_io_announce_addr(struct rd_io_announce *a, const struct rd_addr *addr, bool router)
{
	if (addr->af == RD_AF_INET) {
		uint8_t arp[28];
		struct sockaddr_ll sll;

		rd_io_arp_build(arp, a->mac, addr->u.v4);
		memset(&sll, 0, sizeof(sll));
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(ETHERTYPE_ARP);
		sll.sll_ifindex = (int)a->ifindex;
		sll.sll_halen = 6;
		memset(sll.sll_addr, 0xff, 6);
		if (sendto(a->pfd, arp, sizeof(arp), MSG_DONTWAIT, (struct sockaddr *)&sll,
		           sizeof(sll)) < 0)
			return -errno;
		return 0;
	}
	if (addr->af == RD_AF_INET6) {
		uint8_t na[32];
		struct sockaddr_in6 dst = {.sin6_family = AF_INET6};

		rd_io_na_build(na, addr->u.v6, a->mac, router);
		dst.sin6_addr.s6_addr[0] = 0xff;
		dst.sin6_addr.s6_addr[1] = 0x02;
		dst.sin6_addr.s6_addr[15] = 0x01; /* ff02::1, all nodes */
		dst.sin6_scope_id = a->ifindex;
		if (sendto(a->icmp, na, sizeof(na), MSG_DONTWAIT, (struct sockaddr *)&dst,
		           sizeof(dst)) < 0)
			return -errno;
		return 0;
	}
	return -EAFNOSUPPORT;
}
