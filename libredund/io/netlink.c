/*
 * libredund io: rtnetlink through libmnl. Two sockets: one subscribed to
 * link events (polled by the caller), one for requests. A request is
 * processed by the kernel inside sendmsg, so its answer is already queued
 * when the send returns and is read without waiting.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "core/internal.h"
#include "redund/io.h"

struct rd_io_nl {
	const struct rd_mem *mem;
	struct mnl_socket *ev;  /* RTMGRP_LINK events */
	struct mnl_socket *req; /* requests and their answers */
	unsigned int req_portid;
	unsigned int seq;
};

/* Room for a full dump batch; the kernel sends at most a page per message. */
#define NL_BUFSZ 16384

int rd_io_nl_open(const struct rd_mem *mem, struct rd_io_nl **out)
{
	struct rd_io_nl *nl;
	int rc;

	nl = rd_calloc(mem, 1, sizeof(*nl));
	if (nl == NULL)
		return -ENOMEM;
	nl->mem = mem;
	nl->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (nl->ev == NULL)
		goto fail_errno;
	if (mnl_socket_bind(nl->ev, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
		goto fail_errno;
	nl->req = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (nl->req == NULL)
		goto fail_errno;
	if (mnl_socket_bind(nl->req, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail_errno;
	nl->req_portid = mnl_socket_get_portid(nl->req);
	nl->seq = 1;
	*out = nl;
	return 0;
fail_errno:
	rc = -errno;
	rd_io_nl_close(nl);
	return rc;
}

void rd_io_nl_close(struct rd_io_nl *nl)
{
	if (nl == NULL)
		return;
	if (nl->ev != NULL)
		mnl_socket_close(nl->ev);
	if (nl->req != NULL)
		mnl_socket_close(nl->req);
	rd_free(nl->mem, nl);
}

int rd_io_nl_fd(const struct rd_io_nl *nl)
{
	return mnl_socket_get_fd(nl->ev);
}

struct link_ctx {
	rd_io_link_fn fn;
	void *user;
	int count;
	/* for rd_io_nl_link_state */
	unsigned int want;
	bool found;
	bool up;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	const char **name = data;

	if (mnl_attr_get_type(attr) == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0)
		*name = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_ctx *ctx = data;
	const struct ifinfomsg *ifm;
	struct rd_io_link_event ev;
	const char *name = NULL;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifm))
		return MNL_CB_OK;
	ifm = mnl_nlmsg_get_payload(nlh);
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr_cb, &name);
	ev.ifindex = (unsigned int)ifm->ifi_index;
	ev.exists = nlh->nlmsg_type == RTM_NEWLINK;
	/* IFF_RUNNING is the kernel's "operationally up" (carrier and operstate). */
	ev.up = ev.exists && (ifm->ifi_flags & IFF_UP) && (ifm->ifi_flags & IFF_RUNNING);
	ev.name = name;
	if (ctx->want != 0) {
		if (ev.ifindex == ctx->want) {
			ctx->found = true;
			ctx->up = ev.up;
		}
		return MNL_CB_OK;
	}
	ctx->count++;
	if (ctx->fn != NULL)
		ctx->fn(ctx->user, &ev);
	return MNL_CB_OK;
}

int rd_io_nl_read(struct rd_io_nl *nl, rd_io_link_fn fn, void *user)
{
	uint8_t buf[NL_BUFSZ];
	struct link_ctx ctx = {.fn = fn, .user = user};
	ssize_t n;
	int lost = 0;

	for (;;) {
		n = mnl_socket_recvfrom(nl->ev, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				lost = 1;
				continue;
			}
			return -errno;
		}
		/* Events carry seq 0 and the kernel's port id; accept any. */
		mnl_cb_run(buf, (size_t)n, 0, 0, link_msg_cb, &ctx);
	}
	return lost ? -ENOBUFS : ctx.count;
}

/*
 * Send a request built in buf and run the answers through cb until the
 * final ACK, NLMSG_DONE or an error. Returns 0 or a negative errno (the
 * kernel's error for the request, if any).
 */
static int nl_transact(struct rd_io_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint8_t buf[NL_BUFSZ];
	unsigned int seq = nlh->nlmsg_seq;
	ssize_t n;
	int rc;

	/* Drop stale answers to earlier requests that were abandoned. */
	while (mnl_socket_recvfrom(nl->req, buf, sizeof(buf)) > 0)
		;
	if (mnl_socket_sendto(nl->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl->req, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		rc = mnl_cb_run(buf, (size_t)n, seq, nl->req_portid, cb, data);
		if (rc == MNL_CB_STOP)
			return 0;
		if (rc < 0)
			return -errno;
	}
}

int rd_io_nl_link_state(struct rd_io_nl *nl, unsigned int ifindex, bool *up)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct link_ctx ctx = {.want = ifindex};
	int rc;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = nl->seq++;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)ifindex;
	rc = nl_transact(nl, nlh, link_msg_cb, &ctx);
	if (rc < 0)
		return rc;
	if (!ctx.found)
		return -ENODEV;
	*up = ctx.up;
	return 0;
}

static int addr_req(struct rd_io_nl *nl, int type, int flags, unsigned int ifindex,
                    const struct rd_addr *addr, unsigned int prefixlen)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen;

	if (addr->af == RD_AF_INET) {
		alen = 4;
		if (prefixlen > 32)
			return -EINVAL;
	} else if (addr->af == RD_AF_INET6) {
		alen = 16;
		if (prefixlen > 128)
			return -EINVAL;
	} else {
		return -EAFNOSUPPORT;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
	nlh->nlmsg_seq = nl->seq++;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = addr->af == RD_AF_INET ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = (uint8_t)prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr->u.v6);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr->u.v6);
	if (type == RTM_NEWADDR && addr->af == RD_AF_INET && prefixlen < 31) {
		uint32_t host = rd_get32(addr->u.v4);
		uint32_t mask = prefixlen == 0 ? 0 : ~0u << (32 - prefixlen);
		uint8_t brd[4];

		rd_put32(brd, host | ~mask);
		mnl_attr_put(nlh, IFA_BROADCAST, 4, brd);
	}
	if (type == RTM_NEWADDR && addr->af == RD_AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return nl_transact(nl, nlh, NULL, NULL);
}

int rd_io_nl_addr_add(struct rd_io_nl *nl, unsigned int ifindex, const struct rd_addr *addr,
                      unsigned int prefixlen)
{
	int rc = addr_req(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr, prefixlen);

	return rc == -EEXIST ? 0 : rc;
}

int rd_io_nl_addr_del(struct rd_io_nl *nl, unsigned int ifindex, const struct rd_addr *addr,
                      unsigned int prefixlen)
{
	int rc = addr_req(nl, RTM_DELADDR, 0, ifindex, addr, prefixlen);

	return rc == -EADDRNOTAVAIL || rc == -ENOENT ? 0 : rc;
}

struct first_ctx {
	unsigned int ifindex;
	int family;
	const struct rd_addr *skip;
	size_t nskip;
	bool want_ll;
	bool found;
	struct rd_addr out;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type == IFA_ADDRESS || type == IFA_LOCAL)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int first_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct first_ctx *ctx = data;
	const struct ifaddrmsg *ifa;
	const struct nlattr *tb[IFA_MAX + 1] = {0};
	const struct nlattr *a;
	struct rd_addr cand;
	size_t alen, i;

	if (ctx->found || nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_index != ctx->ifindex || ifa->ifa_family != ctx->family)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
	a = tb[IFA_LOCAL] != NULL ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	alen = ctx->family == AF_INET ? 4 : 16;
	if (a == NULL || mnl_attr_get_payload_len(a) != alen)
		return MNL_CB_OK;
	memset(&cand, 0, sizeof(cand));
	cand.af = ctx->family == AF_INET ? RD_AF_INET : RD_AF_INET6;
	memcpy(cand.u.v6, mnl_attr_get_payload(a), alen);
	if (cand.af == RD_AF_INET6) {
		bool ll = cand.u.v6[0] == 0xfe && (cand.u.v6[1] & 0xc0) == 0x80;

		if (ll != ctx->want_ll)
			return MNL_CB_OK;
	}
	for (i = 0; i < ctx->nskip; i++)
		if (rd_addr_cmp(&ctx->skip[i], &cand) == 0)
			return MNL_CB_OK;
	ctx->out = cand;
	ctx->found = true;
	return MNL_CB_OK;
}

int rd_io_nl_first_addr(struct rd_io_nl *nl, unsigned int ifindex, int af,
                        const struct rd_addr *skip, size_t nskip, bool want_ll, struct rd_addr *out)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct first_ctx ctx = {
	    .ifindex = ifindex, .skip = skip, .nskip = nskip, .want_ll = want_ll};
	int rc;

	if (af == RD_AF_INET)
		ctx.family = AF_INET;
	else if (af == RD_AF_INET6)
		ctx.family = AF_INET6;
	else
		return -EAFNOSUPPORT;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = nl->seq++;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)ctx.family;
	rc = nl_transact(nl, nlh, first_msg_cb, &ctx);
	if (rc < 0)
		return rc;
	if (!ctx.found)
		return -ENOENT;
	*out = ctx.out;
	return 0;
}
