/*
 * Packet header parsing (raw IPv4/IPv6 into rd_state_pkt) and the
 * direction-normalised key of a packet. The parser trusts nothing: every
 * read is bounds-checked against the captured length.
 */
#include "state/state_internal.h"

#define PROTO_HOPOPTS  0
#define PROTO_ICMP     1
#define PROTO_TCP      6
#define PROTO_UDP      17
#define PROTO_ROUTING  43
#define PROTO_FRAGMENT 44
#define PROTO_AH       51
#define PROTO_ICMPV6   58
#define PROTO_DSTOPTS  60

/*
 * ICMP query types and their replies (pf_icmp_mapping): a reply maps to its
 * request's type so both build one key. Returns true for a query/reply and
 * sets *qtype (the request type) and *reply.
 */
bool rd_state_icmp_query(uint8_t af, uint8_t type, uint8_t *qtype, bool *reply)
{
	static const uint8_t v4[][2] = {{8, 0}, {13, 14}, {15, 16}, {17, 18}, {10, 9}};
	static const uint8_t v6[][2] = {{128, 129}, {139, 140}, {133, 134}};
	const uint8_t(*tab)[2] = af == RD_AF_INET ? v4 : v6;
	size_t n = af == RD_AF_INET ? RD_ARRAY_LEN(v4) : RD_ARRAY_LEN(v6);
	for (size_t i = 0; i < n; i++) {
		if (type == tab[i][0] || type == tab[i][1]) {
			*qtype = tab[i][0];
			*reply = type == tab[i][1];
			return true;
		}
	}
	return false;
}

int rd_state_key_from_pkt(const struct rd_state_pkt *p, struct rd_state_key *k)
{
	memset(k, 0, sizeof(*k));
	if (p->af != RD_AF_INET && p->af != RD_AF_INET6)
		return RD_ERR_INVAL;
	if (p->src.af != p->af || p->dst.af != p->af)
		return RD_ERR_INVAL;
	unsigned sidx = p->dir == RD_STATE_IN ? 0 : 1, didx = 1 - sidx;
	size_t alen = rd_af_len(p->af);
	k->af = p->af;
	k->proto = p->proto;
	k->rdomain = p->rdomain;
	memcpy(k->addr[sidx], p->src.u.v6, alen);
	memcpy(k->addr[didx], p->dst.u.v6, alen);
	bool icmp = (p->af == RD_AF_INET && p->proto == PROTO_ICMP) ||
	            (p->af == RD_AF_INET6 && p->proto == PROTO_ICMPV6);
	if (icmp) {
		uint8_t qtype;
		bool reply;
		if (rd_state_icmp_query(p->af, p->icmp_type, &qtype, &reply)) {
			/* the requester's side carries the id, the other the request type */
			k->port[reply ? didx : sidx] = p->icmp_id;
			k->port[reply ? sidx : didx] = qtype;
		} else {
			k->port[didx] = p->icmp_type;
		}
	} else if (p->proto == PROTO_TCP || p->proto == PROTO_UDP || p->proto == 132 /* SCTP */) {
		k->port[sidx] = p->sport;
		k->port[didx] = p->dport;
	}
	return 0;
}

static void set_addr(struct rd_addr *a, uint8_t af, const uint8_t *b)
{
	memset(a, 0, sizeof(*a));
	a->af = af;
	memcpy(a->u.v6, b, rd_af_len(af));
}

static bool is_icmp4_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/*
 * Skip IPv6 extension headers starting at *off with next header *nh.
 * Returns 0, or a reason; *frag is set for a non-first fragment.
 */
static int skip_v6_ext(const uint8_t *b, size_t len, size_t *off, uint8_t *nh, bool *frag)
{
	for (int n = 0; n < 16; n++) {
		switch (*nh) {
		case PROTO_HOPOPTS:
		case PROTO_ROUTING:
		case PROTO_DSTOPTS:
			if (*off + 8 > len)
				return RD_STATE_RES_SHORT;
			*nh = b[*off];
			*off += ((size_t)b[*off + 1] + 1) * 8;
			break;
		case PROTO_FRAGMENT:
			if (*off + 8 > len)
				return RD_STATE_RES_SHORT;
			*nh = b[*off];
			if ((rd_get16(b + *off + 2) & 0xfff8) != 0)
				*frag = true;
			*off += 8;
			if (*frag)
				return 0;
			break;
		case PROTO_AH:
			if (*off + 8 > len)
				return RD_STATE_RES_SHORT;
			*nh = b[*off];
			*off += ((size_t)b[*off + 1] + 2) * 4;
			break;
		default:
			return 0;
		}
	}
	return RD_STATE_RES_NORM;
}

/* The quoted packet of an ICMP error: IP header plus the first 8 bytes. */
static int parse_quote(const uint8_t *b, size_t len, uint8_t af, struct rd_state_pkt *out)
{
	size_t off;
	uint8_t proto;
	if (af == RD_AF_INET) {
		if (len < 20 || (b[0] >> 4) != 4)
			return RD_STATE_RES_SHORT;
		size_t hl = (size_t)(b[0] & 0x0f) * 4;
		if (hl < 20)
			return RD_STATE_RES_NORM;
		if ((rd_get16(b + 6) & 0x1fff) != 0)
			return RD_STATE_RES_FRAG;
		proto = b[9];
		set_addr(&out->inner.src, af, b + 12);
		set_addr(&out->inner.dst, af, b + 16);
		off = hl;
	} else {
		if (len < 40 || (b[0] >> 4) != 6)
			return RD_STATE_RES_SHORT;
		proto = b[6];
		set_addr(&out->inner.src, af, b + 8);
		set_addr(&out->inner.dst, af, b + 24);
		off = 40;
		bool frag = false;
		int r = skip_v6_ext(b, len, &off, &proto, &frag);
		if (r != 0)
			return r;
		if (frag)
			return RD_STATE_RES_FRAG;
	}
	out->inner.proto = proto;
	if (proto == PROTO_TCP || proto == PROTO_UDP) {
		if (off + 8 > len)
			return RD_STATE_RES_SHORT;
		out->inner.sport = rd_get16(b + off);
		out->inner.dport = rd_get16(b + off + 2);
		if (proto == PROTO_TCP)
			out->inner.seq = rd_get32(b + off + 4);
	} else if ((af == RD_AF_INET && proto == PROTO_ICMP) ||
	           (af == RD_AF_INET6 && proto == PROTO_ICMPV6)) {
		/* a quoted ICMP query: id in sport, type in dport (see state.h) */
		if (off + 8 > len)
			return RD_STATE_RES_SHORT;
		out->inner.sport = rd_get16(b + off + 4);
		out->inner.dport = b[off];
	}
	return 0;
}

static int parse_tcp_options(const uint8_t *o, size_t n, struct rd_state_pkt *out)
{
	size_t i = 0;
	while (i < n) {
		uint8_t kind = o[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
			return RD_STATE_RES_NORM;
		uint8_t olen = o[i + 1];
		if (kind == 2 && olen == 4)
			out->mss = rd_get16(o + i + 2);
		else if (kind == 3 && olen == 3)
			out->wscale = (int8_t)(o[i + 2] > 14 ? 14 : o[i + 2]);
		i += olen;
	}
	return 0;
}

/* L4 header at b[off..len), with l4len bytes claimed by the IP header. */
static int parse_l4(const uint8_t *b, size_t len, size_t off, size_t l4len,
                    struct rd_state_pkt *out)
{
	const uint8_t *h = b + off;
	size_t avail = len - off;
	switch (out->proto) {
	case PROTO_TCP: {
		if (avail < 20 || l4len < 20)
			return RD_STATE_RES_SHORT;
		size_t thoff = (size_t)(h[12] >> 4) * 4;
		if (thoff < 20 || thoff > l4len)
			return RD_STATE_RES_BADOFF;
		if (thoff > avail)
			return RD_STATE_RES_SHORT;
		out->sport = rd_get16(h);
		out->dport = rd_get16(h + 2);
		out->seq = rd_get32(h + 4);
		out->ack = rd_get32(h + 8);
		out->tcp_flags = h[13];
		out->win = rd_get16(h + 14);
		out->payload_len = (uint32_t)(l4len - thoff);
		return parse_tcp_options(h + 20, thoff - 20, out);
	}
	case PROTO_UDP:
		if (avail < 8 || l4len < 8)
			return RD_STATE_RES_SHORT;
		out->sport = rd_get16(h);
		out->dport = rd_get16(h + 2);
		out->payload_len = (uint32_t)(l4len - 8);
		return 0;
	case PROTO_ICMP:
	case PROTO_ICMPV6: {
		if ((out->proto == PROTO_ICMP) != (out->af == RD_AF_INET))
			return 0; /* ICMP in IPv6 or ICMPv6 in IPv4: an "other" protocol */
		if (avail < 8 || l4len < 8)
			return RD_STATE_RES_SHORT;
		out->icmp_type = h[0];
		out->icmp_code = h[1];
		out->icmp_id = rd_get16(h + 4);
		out->payload_len = (uint32_t)(l4len - 8);
		bool err = out->af == RD_AF_INET ? is_icmp4_error(h[0]) : h[0] < 128;
		if (err) {
			size_t qlen = RD_MIN(avail, l4len) - 8;
			int r = parse_quote(h + 8, qlen, out->af, out);
			if (r != 0)
				return r;
			out->icmp_err = 1;
		}
		return 0;
	}
	default:
		out->payload_len = (uint32_t)l4len;
		return 0;
	}
}

int rd_state_parse(const uint8_t *b, size_t len, unsigned dir, struct rd_state_pkt *out,
                   int *reason)
{
	int r;
	int dummy;
	if (reason == NULL)
		reason = &dummy;
	*reason = RD_STATE_RES_MATCH;
	if (out == NULL || b == NULL || dir > RD_STATE_OUT) {
		*reason = RD_STATE_RES_NORM;
		return RD_ERR_INVAL;
	}
	memset(out, 0, sizeof(*out));
	out->dir = (uint8_t)dir;
	out->wscale = -1;
	if (len < 1) {
		*reason = RD_STATE_RES_SHORT;
		return RD_ERR_PROTO;
	}
	unsigned ver = b[0] >> 4;
	if (ver == 4) {
		if (len < 20) {
			*reason = RD_STATE_RES_SHORT;
			return RD_ERR_PROTO;
		}
		size_t hl = (size_t)(b[0] & 0x0f) * 4;
		size_t tot = rd_get16(b + 2);
		if (hl < 20 || tot < hl) {
			*reason = RD_STATE_RES_NORM;
			return RD_ERR_PROTO;
		}
		if (hl > len) {
			*reason = RD_STATE_RES_SHORT;
			return RD_ERR_PROTO;
		}
		out->af = RD_AF_INET;
		out->proto = b[9];
		out->tot_len = (uint32_t)tot;
		set_addr(&out->src, RD_AF_INET, b + 12);
		set_addr(&out->dst, RD_AF_INET, b + 16);
		if ((rd_get16(b + 6) & 0x1fff) != 0) {
			*reason = RD_STATE_RES_FRAG;
			return RD_ERR_PROTO;
		}
		r = parse_l4(b, len, hl, tot - hl, out);
	} else if (ver == 6) {
		if (len < 40) {
			*reason = RD_STATE_RES_SHORT;
			return RD_ERR_PROTO;
		}
		size_t plen = rd_get16(b + 4);
		if (plen == 0) { /* jumbograms are not for us */
			*reason = RD_STATE_RES_NORM;
			return RD_ERR_PROTO;
		}
		out->af = RD_AF_INET6;
		out->tot_len = (uint32_t)(40 + plen);
		set_addr(&out->src, RD_AF_INET6, b + 8);
		set_addr(&out->dst, RD_AF_INET6, b + 24);
		size_t off = 40;
		uint8_t nh = b[6];
		bool frag = false;
		r = skip_v6_ext(b, len, &off, &nh, &frag);
		out->proto = nh;
		if (r == 0 && frag)
			r = RD_STATE_RES_FRAG;
		if (r == 0 && off > 40 + plen)
			r = RD_STATE_RES_NORM;
		if (r == 0 && off > len)
			r = RD_STATE_RES_SHORT;
		if (r == 0)
			r = parse_l4(b, len, off, 40 + plen - off, out);
	} else {
		*reason = RD_STATE_RES_NORM;
		return RD_ERR_PROTO;
	}
	if (r != 0) {
		*reason = r;
		return RD_ERR_PROTO;
	}
	return 0;
}
