/* syncd: conntrack entry <-> libredund state description (see ctmap.h). */
#include <arpa/inet.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctmap.h"

const char *sd_ctmap_strerror(int err)
{
	switch (err) {
	case SD_CTMAP_OK:
		return "ok";
	case SD_CTMAP_BADL3:
		return "not IPv4 or IPv6";
	case SD_CTMAP_BADL4:
		return "protocol not synchronised";
	case SD_CTMAP_NOTUPLE:
		return "incomplete tuple";
	case SD_CTMAP_BADSTATE:
		return "TCP state out of range";
	default:
		return "unknown";
	}
}

/* The table of ctmap.h, indexed by conntrack state. */
static const uint8_t tcp_peers[SD_CT_TCP_MAX][2] = {
    [SD_CT_TCP_NONE] = {RD_TCPS_CLOSED, RD_TCPS_CLOSED},
    [SD_CT_TCP_SYN_SENT] = {RD_TCPS_SYN_SENT, RD_TCPS_CLOSED},
    [SD_CT_TCP_SYN_RECV] = {RD_TCPS_SYN_SENT, RD_TCPS_SYN_SENT},
    [SD_CT_TCP_SYN_SENT2] = {RD_TCPS_SYN_SENT, RD_TCPS_SYN_RECEIVED},
    [SD_CT_TCP_ESTABLISHED] = {RD_TCPS_ESTABLISHED, RD_TCPS_ESTABLISHED},
    [SD_CT_TCP_FIN_WAIT] = {RD_TCPS_CLOSING, RD_TCPS_ESTABLISHED},
    [SD_CT_TCP_CLOSE_WAIT] = {RD_TCPS_FIN_WAIT_2, RD_TCPS_ESTABLISHED},
    [SD_CT_TCP_LAST_ACK] = {RD_TCPS_FIN_WAIT_2, RD_TCPS_CLOSING},
    [SD_CT_TCP_TIME_WAIT] = {RD_TCPS_FIN_WAIT_2, RD_TCPS_FIN_WAIT_2},
    [SD_CT_TCP_CLOSE] = {RD_TCPS_TIME_WAIT, RD_TCPS_TIME_WAIT},
};

void sd_tcp_ct_to_peers(unsigned ct_state, uint8_t *src, uint8_t *dst)
{
	if (ct_state >= SD_CT_TCP_MAX)
		ct_state = SD_CT_TCP_NONE;
	*src = tcp_peers[ct_state][0];
	*dst = tcp_peers[ct_state][1];
}

unsigned sd_tcp_peers_to_ct(uint8_t src, uint8_t dst)
{
	uint8_t hi = src > dst ? src : dst, lo = src < dst ? src : dst;

	/* pf's proxy states (11, 12) are handshakes pf completes itself. */
	if (hi > RD_TCPS_TIME_WAIT)
		return SD_CT_TCP_SYN_SENT;
	if (lo >= RD_TCPS_FIN_WAIT_2)
		return lo == RD_TCPS_TIME_WAIT ? SD_CT_TCP_CLOSE : SD_CT_TCP_TIME_WAIT;
	if (hi >= RD_TCPS_CLOSE_WAIT) { /* a FIN was seen */
		if (lo >= RD_TCPS_CLOSE_WAIT)
			return SD_CT_TCP_LAST_ACK;
		return hi >= RD_TCPS_FIN_WAIT_2 ? SD_CT_TCP_CLOSE_WAIT : SD_CT_TCP_FIN_WAIT;
	}
	if (hi >= RD_TCPS_ESTABLISHED)
		return SD_CT_TCP_ESTABLISHED;
	if (dst == RD_TCPS_SYN_RECEIVED)
		return SD_CT_TCP_SYN_SENT2;
	if (dst >= RD_TCPS_SYN_SENT)
		return SD_CT_TCP_SYN_RECV;
	if (src >= RD_TCPS_SYN_SENT)
		return SD_CT_TCP_SYN_SENT;
	return SD_CT_TCP_NONE;
}

static bool is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* Protocols whose conntrack tuple is addresses plus 16-bit ports. */
static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

/* Read an address attribute pair (v4 or v6) into a key slot. */
static bool get_addr(const struct nf_conntrack *ct, uint8_t l3, int a4, int a6, uint8_t out[16])
{
	memset(out, 0, 16);
	if (l3 == AF_INET) {
		if (!nfct_attr_is_set(ct, a4))
			return false;
		memcpy(out, nfct_get_attr(ct, a4), 4);
	} else {
		if (!nfct_attr_is_set(ct, a6))
			return false;
		memcpy(out, nfct_get_attr(ct, a6), 16);
	}
	return true;
}

static uint16_t get_port(const struct nf_conntrack *ct, int attr)
{
	return nfct_attr_is_set(ct, attr) ? ntohs(nfct_get_attr_u16(ct, attr)) : 0;
}

int sd_ct_to_state(const struct nf_conntrack *ct, struct rd_state_info *info)
{
	uint8_t l3, proto;
	uint32_t status;
	struct rd_state_key *w = &info->wire, *s = &info->stack;

	memset(info, 0, sizeof(*info));
	if (!nfct_attr_is_set(ct, ATTR_ORIG_L3PROTO) || !nfct_attr_is_set(ct, ATTR_ORIG_L4PROTO))
		return SD_CTMAP_NOTUPLE;
	l3 = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
	proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	if (l3 != AF_INET && l3 != AF_INET6)
		return SD_CTMAP_BADL3;
	if (proto == IPPROTO_GRE)
		return SD_CTMAP_BADL4; /* GRE keys do not fit a state key */
	w->af = s->af = l3 == AF_INET ? RD_AF_INET : RD_AF_INET6;
	w->proto = s->proto = proto;
	if (!get_addr(ct, l3, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC, w->addr[0]) ||
	    !get_addr(ct, l3, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, w->addr[1]) ||
	    !get_addr(ct, l3, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, s->addr[0]) ||
	    !get_addr(ct, l3, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, s->addr[1]))
		return SD_CTMAP_NOTUPLE;
	if (has_ports(proto)) {
		if (!nfct_attr_is_set(ct, ATTR_ORIG_PORT_SRC) ||
		    !nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST) ||
		    !nfct_attr_is_set(ct, ATTR_REPL_PORT_SRC) ||
		    !nfct_attr_is_set(ct, ATTR_REPL_PORT_DST))
			return SD_CTMAP_NOTUPLE;
		w->port[0] = get_port(ct, ATTR_ORIG_PORT_SRC);
		w->port[1] = get_port(ct, ATTR_ORIG_PORT_DST);
		s->port[0] = get_port(ct, ATTR_REPL_PORT_DST);
		s->port[1] = get_port(ct, ATTR_REPL_PORT_SRC);
	} else if (is_icmp(proto)) {
		if (!nfct_attr_is_set(ct, ATTR_ICMP_TYPE))
			return SD_CTMAP_NOTUPLE;
		w->port[0] = s->port[0] = get_port(ct, ATTR_ICMP_ID);
		w->port[1] = s->port[1] = nfct_get_attr_u8(ct, ATTR_ICMP_TYPE);
	}
	if (nfct_attr_is_set(ct, ATTR_ZONE))
		w->rdomain = s->rdomain = nfct_get_attr_u16(ct, ATTR_ZONE);

	status = nfct_attr_is_set(ct, ATTR_STATUS) ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0;
	if (proto == IPPROTO_TCP) {
		unsigned st = nfct_attr_is_set(ct, ATTR_TCP_STATE)
		                  ? nfct_get_attr_u8(ct, ATTR_TCP_STATE)
		                  : SD_CT_TCP_NONE;

		if (st >= SD_CT_TCP_MAX)
			return SD_CTMAP_BADSTATE;
		sd_tcp_ct_to_peers(st, &info->src.state, &info->dst.state);
		/* The kernel shows a scale only once both SYNs carried the option. */
		if (nfct_attr_is_set(ct, ATTR_TCP_FLAGS_ORIG) &&
		    (nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_ORIG) & IP_CT_TCP_FLAG_WINDOW_SCALE))
			info->src.wscale =
			    RD_STATE_WSCALE_FLAG |
			    (nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_ORIG) & RD_STATE_WSCALE_MASK);
		if (nfct_attr_is_set(ct, ATTR_TCP_FLAGS_REPL) &&
		    (nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_REPL) & IP_CT_TCP_FLAG_WINDOW_SCALE))
			info->dst.wscale =
			    RD_STATE_WSCALE_FLAG |
			    (nfct_get_attr_u8(ct, ATTR_TCP_WSCALE_REPL) & RD_STATE_WSCALE_MASK);
		info->flags = RD_STATE_F_SLOPPY;
	} else if (status & IPS_ASSURED) {
		info->src.state = RD_UDPS_MULTIPLE;
		info->dst.state = RD_UDPS_MULTIPLE;
	} else if (status & IPS_SEEN_REPLY) {
		info->src.state = RD_UDPS_MULTIPLE;
		info->dst.state = RD_UDPS_SINGLE;
	} else {
		info->src.state = RD_UDPS_SINGLE;
		info->dst.state = RD_UDPS_NO_TRAFFIC;
	}
	/*
	 * conntrack keeps no reliable packet count, so a responder that has
	 * sent nothing is read as pf's state still on its first packet: for
	 * TCP only a SYN seen and no answer (SYN_SENT, CLOSED), not NONE
	 * (CLOSED, CLOSED: no SYN seen, or no state attribute), which stays
	 * TCP_OPENING; otherwise UDP NO_TRAFFIC.
	 */
	if (proto == IPPROTO_TCP
	        ? info->src.state == RD_TCPS_SYN_SENT && info->dst.state == RD_TCPS_CLOSED
	        : info->dst.state == RD_UDPS_NO_TRAFFIC)
		info->timeout = rd_state_first_timeout(proto);
	else
		info->timeout = rd_state_timeout_class(proto, info->src.state, info->dst.state);
	info->expire_in =
	    nfct_attr_is_set(ct, ATTR_TIMEOUT) ? nfct_get_attr_u32(ct, ATTR_TIMEOUT) : 0;
	info->rule = RD_STATE_RULE_NONE;
	if (nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_PACKETS)) {
		info->packets[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
		info->bytes[0] = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES);
	}
	if (nfct_attr_is_set(ct, ATTR_REPL_COUNTER_PACKETS)) {
		info->packets[1] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS);
		info->bytes[1] = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
	}
	return SD_CTMAP_OK;
}

/* Write the original tuple and the zone. */
static int put_key(const struct rd_state_info *info, struct nf_conntrack *ct)
{
	const struct rd_state_key *w = &info->wire;
	uint8_t proto = w->proto;

	if (w->af == RD_AF_INET) {
		nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
		nfct_set_attr(ct, ATTR_ORIG_IPV4_SRC, w->addr[0]);
		nfct_set_attr(ct, ATTR_ORIG_IPV4_DST, w->addr[1]);
	} else if (w->af == RD_AF_INET6) {
		nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET6);
		nfct_set_attr(ct, ATTR_ORIG_IPV6_SRC, w->addr[0]);
		nfct_set_attr(ct, ATTR_ORIG_IPV6_DST, w->addr[1]);
	} else {
		return SD_CTMAP_BADL3;
	}
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, proto);
	if (has_ports(proto)) {
		nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(w->port[0]));
		nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(w->port[1]));
	} else if (is_icmp(proto)) {
		/* After L3PROTO: the library derives the reply type from it. */
		nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, (uint8_t)w->port[1]);
		nfct_set_attr_u8(ct, ATTR_ICMP_CODE, 0);
		nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(w->port[0]));
	}
	if (w->rdomain != 0)
		nfct_set_attr_u16(ct, ATTR_ZONE, w->rdomain);
	return 0;
}

int sd_state_to_ct_key(const struct rd_state_info *info, struct nf_conntrack *ct)
{
	return put_key(info, ct);
}

int sd_state_to_ct(const struct rd_state_info *info, const uint32_t *deftimeouts, bool create,
                   struct nf_conntrack *ct)
{
	const struct rd_state_key *w = &info->wire, *s = &info->stack;
	uint8_t proto = w->proto;
	uint32_t status = 0, timeout;
	int rc;

	if ((rc = put_key(info, ct)) < 0)
		return rc;
	/* The reply tuple: the stack key turned around. */
	if (w->af == RD_AF_INET) {
		nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
		nfct_set_attr(ct, ATTR_REPL_IPV4_SRC, s->addr[1]);
		nfct_set_attr(ct, ATTR_REPL_IPV4_DST, s->addr[0]);
	} else {
		nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET6);
		nfct_set_attr(ct, ATTR_REPL_IPV6_SRC, s->addr[1]);
		nfct_set_attr(ct, ATTR_REPL_IPV6_DST, s->addr[0]);
	}
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, proto);
	if (has_ports(proto)) {
		nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(s->port[1]));
		nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(s->port[0]));
	}
	/*
	 * NAT as the kernel records it: the reply goes to/comes from the
	 * translation. Only at creation: the kernel refuses NAT on an update.
	 */
	if (create && (memcmp(s->addr[0], w->addr[0], 16) != 0 || s->port[0] != w->port[0])) {
		if (w->af == RD_AF_INET)
			nfct_set_attr(ct, ATTR_SNAT_IPV4, s->addr[0]);
		else
			nfct_set_attr(ct, ATTR_SNAT_IPV6, s->addr[0]);
		if (has_ports(proto))
			nfct_set_attr_u16(ct, ATTR_SNAT_PORT, htons(s->port[0]));
	}
	if (create && (memcmp(s->addr[1], w->addr[1], 16) != 0 || s->port[1] != w->port[1])) {
		if (w->af == RD_AF_INET)
			nfct_set_attr(ct, ATTR_DNAT_IPV4, s->addr[1]);
		else
			nfct_set_attr(ct, ATTR_DNAT_IPV6, s->addr[1]);
		if (has_ports(proto))
			nfct_set_attr_u16(ct, ATTR_DNAT_PORT, htons(s->port[1]));
	}
	if (proto == IPPROTO_TCP) {
		unsigned st = sd_tcp_peers_to_ct(info->src.state, info->dst.state);
		uint8_t f = IP_CT_TCP_FLAG_BE_LIBERAL;

		nfct_set_attr_u8(ct, ATTR_TCP_STATE, (uint8_t)st);
		/* No sequence windows travel: the kernel must not check them. */
		nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, f);
		nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, f);
		nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, f);
		nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, f);
		if (info->dst.state >= RD_TCPS_SYN_SENT)
			status |= IPS_SEEN_REPLY;
		if (st >= SD_CT_TCP_ESTABLISHED && st != SD_CT_TCP_SYN_SENT2)
			status |= IPS_ASSURED;
	} else {
		if (info->dst.state >= RD_UDPS_SINGLE)
			status |= IPS_SEEN_REPLY;
		if (info->src.state == RD_UDPS_MULTIPLE && info->dst.state == RD_UDPS_MULTIPLE)
			status |= IPS_ASSURED;
	}
	nfct_set_attr_u32(ct, ATTR_STATUS, status);
	timeout = info->expire_in;
	if (timeout == 0)
		timeout = deftimeouts != NULL && info->timeout < RD_STATE_TM_COUNT
		              ? deftimeouts[info->timeout]
		              : 60;
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, timeout ? timeout : 1);
	return 0;
}

_Static_assert(SD_CT_STATUS_CARRIED == (IPS_SEEN_REPLY | IPS_ASSURED | IPS_FIXED_TIMEOUT),
               "the carried status bits, by their kernel names");

bool sd_ct_to_ext(const struct nf_conntrack *ct, int label, const struct rd_sync_ext *old,
                  struct rd_sync_ext *x)
{
	bool any = false;

	memset(x, 0, sizeof(*x));
	x->have = RD_SYNC_EXT_MARK | RD_SYNC_EXT_STATUS;
	x->mark = nfct_attr_is_set(ct, ATTR_MARK) ? nfct_get_attr_u32(ct, ATTR_MARK) : 0;
	x->status = nfct_attr_is_set(ct, ATTR_STATUS) ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0;
	any = x->mark != 0 || (x->status & SD_CT_STATUS_CARRIED & ~(IPS_SEEN_REPLY | IPS_ASSURED));
	if (nfct_attr_is_set(ct, ATTR_CONNLABELS)) {
		const struct nfct_bitmask *b = nfct_get_attr(ct, ATTR_CONNLABELS);
		int max = b != NULL ? (int)nfct_bitmask_maxbit(b) : -1;

		for (int i = 0; i <= max && i < 8 * RD_SYNC_EXT_LABELS_LEN; i++) {
			if (i == label || !nfct_bitmask_test_bit(b, (unsigned)i))
				continue;
			x->labels[i / 8] |= (uint8_t)(1u << (i % 8));
			x->have |= RD_SYNC_EXT_LABELS;
			any = true;
		}
	} else if (old != NULL && (old->have & RD_SYNC_EXT_LABELS)) {
		memcpy(x->labels, old->labels, sizeof(x->labels));
		x->have |= RD_SYNC_EXT_LABELS;
		any = true;
	}
	/* The expectations come by their own events (sd_exp_to_ext). */
	if (old != NULL && (old->have & RD_SYNC_EXT_EXPECT)) {
		x->have |= RD_SYNC_EXT_EXPECT;
		x->nexpect = old->nexpect;
		memcpy(x->expect, old->expect, sizeof(x->expect));
		any = true;
	}
	if (nfct_attr_is_set(ct, ATTR_HELPER_NAME)) {
		const char *h = nfct_get_attr(ct, ATTR_HELPER_NAME);

		if (h != NULL && h[0] != '\0') {
			strncpy(x->helper, h, RD_SYNC_EXT_HELPER_MAX);
			x->helper[RD_SYNC_EXT_HELPER_MAX] = '\0';
			x->have |= RD_SYNC_EXT_HELPER;
			any = true;
		}
	}
	return any;
}

void sd_ext_to_ct(const struct rd_sync_ext *x, bool create, struct nf_conntrack *ct)
{
	if (x->have & RD_SYNC_EXT_MARK)
		nfct_set_attr_u32(ct, ATTR_MARK, x->mark);
	if (x->have & RD_SYNC_EXT_STATUS) {
		uint32_t st =
		    nfct_attr_is_set(ct, ATTR_STATUS) ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0;

		nfct_set_attr_u32(ct, ATTR_STATUS, st | (x->status & SD_CT_STATUS_CARRIED));
	}
	if (create && (x->have & RD_SYNC_EXT_HELPER) && x->helper[0] != '\0')
		nfct_set_attr(ct, ATTR_HELPER_NAME, x->helper);
}

/* The original tuple of a tuple-holding object (an expectation's master, expected, mask). */
static int tuple_of(const struct nf_conntrack *t, struct rd_state_key *k)
{
	uint8_t l3;

	memset(k, 0, sizeof(*k));
	if (t == NULL || !nfct_attr_is_set(t, ATTR_ORIG_L3PROTO))
		return SD_CTMAP_NOTUPLE;
	l3 = nfct_get_attr_u8(t, ATTR_ORIG_L3PROTO);
	if (l3 != AF_INET && l3 != AF_INET6)
		return SD_CTMAP_BADL3;
	k->af = l3 == AF_INET ? RD_AF_INET : RD_AF_INET6;
	k->proto =
	    nfct_attr_is_set(t, ATTR_ORIG_L4PROTO) ? nfct_get_attr_u8(t, ATTR_ORIG_L4PROTO) : 0;
	get_addr(t, l3, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC, k->addr[0]);
	get_addr(t, l3, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, k->addr[1]);
	k->port[0] = get_port(t, ATTR_ORIG_PORT_SRC);
	k->port[1] = get_port(t, ATTR_ORIG_PORT_DST);
	return 0;
}

int sd_exp_master_key(const struct nf_expect *exp, struct rd_state_key *key)
{
	int rc;

	if (!nfexp_attr_is_set(exp, ATTR_EXP_MASTER))
		return SD_CTMAP_NOTUPLE;
	if ((rc = tuple_of(nfexp_get_attr(exp, ATTR_EXP_MASTER), key)) != 0)
		return rc;
	if (!has_ports(key->proto))
		return SD_CTMAP_BADL4;
	if (nfexp_attr_is_set(exp, ATTR_EXP_ZONE))
		key->rdomain = nfexp_get_attr_u16(exp, ATTR_EXP_ZONE);
	return 0;
}

int sd_exp_to_ext(const struct nf_expect *exp, struct rd_sync_ext_expect *e)
{
	struct rd_state_key t, m;
	int rc;

	memset(e, 0, sizeof(*e));
	if (!nfexp_attr_is_set(exp, ATTR_EXP_EXPECTED) || !nfexp_attr_is_set(exp, ATTR_EXP_MASK))
		return SD_CTMAP_NOTUPLE;
	if ((rc = tuple_of(nfexp_get_attr(exp, ATTR_EXP_EXPECTED), &t)) != 0 ||
	    (rc = tuple_of(nfexp_get_attr(exp, ATTR_EXP_MASK), &m)) != 0)
		return rc;
	e->af = t.af;
	e->proto = t.proto;
	memcpy(e->src, t.addr[0], 16);
	memcpy(e->dst, t.addr[1], 16);
	e->sport = t.port[0];
	e->dport = t.port[1];
	memcpy(e->src_mask, m.addr[0], 16);
	e->sport_mask = m.port[0];
	e->timeout = nfexp_attr_is_set(exp, ATTR_EXP_TIMEOUT)
	                 ? nfexp_get_attr_u32(exp, ATTR_EXP_TIMEOUT)
	                 : 0;
	e->flags = nfexp_attr_is_set(exp, ATTR_EXP_FLAGS)
	               ? (uint16_t)nfexp_get_attr_u32(exp, ATTR_EXP_FLAGS)
	               : 0;
	return 0;
}

/* A tuple-holding conntrack object: addresses, protocol, ports (network order). */
static void put_tuple(struct nf_conntrack *t, uint8_t af, uint8_t proto, const uint8_t *src,
                      const uint8_t *dst, uint16_t sport, uint16_t dport)
{
	if (af == RD_AF_INET) {
		nfct_set_attr_u8(t, ATTR_ORIG_L3PROTO, AF_INET);
		nfct_set_attr(t, ATTR_ORIG_IPV4_SRC, src);
		nfct_set_attr(t, ATTR_ORIG_IPV4_DST, dst);
	} else {
		nfct_set_attr_u8(t, ATTR_ORIG_L3PROTO, AF_INET6);
		nfct_set_attr(t, ATTR_ORIG_IPV6_SRC, src);
		nfct_set_attr(t, ATTR_ORIG_IPV6_DST, dst);
	}
	nfct_set_attr_u8(t, ATTR_ORIG_L4PROTO, proto);
	nfct_set_attr_u16(t, ATTR_ORIG_PORT_SRC, htons(sport));
	nfct_set_attr_u16(t, ATTR_ORIG_PORT_DST, htons(dport));
}

int sd_ext_to_exp(const struct rd_state_info *master, const struct rd_sync_ext_expect *e,
                  bool create, struct nf_expect *exp)
{
	static const uint8_t ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                                 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct nf_conntrack *m, *t, *k;

	if ((e->af != RD_AF_INET && e->af != RD_AF_INET6) ||
	    (master->wire.af != RD_AF_INET && master->wire.af != RD_AF_INET6))
		return SD_CTMAP_BADL3;
	m = nfct_new();
	t = nfct_new();
	k = nfct_new();
	if (m == NULL || t == NULL || k == NULL) {
		nfct_destroy(m);
		nfct_destroy(t);
		nfct_destroy(k);
		return SD_CTMAP_NOTUPLE;
	}
	put_tuple(t, e->af, e->proto, e->src, e->dst, e->sport, e->dport);
	nfexp_set_attr(exp, ATTR_EXP_EXPECTED, t);
	if (master->wire.rdomain != 0)
		nfexp_set_attr_u16(exp, ATTR_EXP_ZONE, master->wire.rdomain);
	if (create) {
		put_key(master, m);
		nfexp_set_attr(exp, ATTR_EXP_MASTER, m);
		put_tuple(k, e->af, e->proto, e->src_mask, ones, e->sport_mask, 0xffff);
		nfexp_set_attr(exp, ATTR_EXP_MASK, k);
		nfexp_set_attr_u32(exp, ATTR_EXP_TIMEOUT, e->timeout ? e->timeout : 1);
		nfexp_set_attr_u32(exp, ATTR_EXP_FLAGS, e->flags);
	}
	/* The expectation keeps copies of the tuples. */
	nfct_destroy(m);
	nfct_destroy(t);
	nfct_destroy(k);
	return 0;
}
