/*
 * pfsync version 6 codec: whole-packet validation, decoding into host
 * structs, encoding and the packet builder. Layouts: pfsync_wire.h.
 */
#include <string.h>

#include "core/internal.h"
#include "sync/pfsync_wire.h"

#define OFF(type, field) RD_PFW_OFF(type, field)

/* Known message sizes by action; 0: deprecated or unknown (skipped). */
static const uint16_t act_len[RD_PFSYNC_ACT_COUNT] = {
    [RD_PFSYNC_ACT_CLR] = RD_PFSYNC_CLR_LEN,     [RD_PFSYNC_ACT_INS_ACK] = RD_PFSYNC_REF_LEN,
    [RD_PFSYNC_ACT_UPD_C] = RD_PFSYNC_UPD_C_LEN, [RD_PFSYNC_ACT_UPD_REQ] = RD_PFSYNC_REF_LEN,
    [RD_PFSYNC_ACT_DEL] = RD_PFSYNC_STATE_LEN,   [RD_PFSYNC_ACT_DEL_C] = RD_PFSYNC_REF_LEN,
    [RD_PFSYNC_ACT_BUS] = RD_PFSYNC_BUS_LEN,     [RD_PFSYNC_ACT_INS] = RD_PFSYNC_STATE_LEN,
    [RD_PFSYNC_ACT_UPD] = RD_PFSYNC_STATE_LEN,   [RD_PFSYNC_ACT_TDB] = RD_PFSYNC_TDB_LEN,
};

static const char *const act_names[RD_PFSYNC_ACT_COUNT] = {
    "CLR",   "OINS",  "INS_ACK", "OUPD", "UPD_C", "UPD_REQ", "DEL", "DEL_C",
    "INS_F", "DEL_F", "BUS",     "OTDB", "EOF",   "INS",     "UPD", "TDB",
};

static const char *const stat_names[RD_PFSYNC_STAT_COUNT] = {
    [RD_PFSYNC_STAT_PACKETS] = "packets",       [RD_PFSYNC_STAT_MESSAGES] = "messages",
    [RD_PFSYNC_STAT_SKIPPED] = "skipped",       [RD_PFSYNC_STAT_HDROPS] = "hdrops",
    [RD_PFSYNC_STAT_BADVER] = "badver",         [RD_PFSYNC_STAT_BADLEN] = "badlen",
    [RD_PFSYNC_STAT_BADACT] = "badact",         [RD_PFSYNC_STAT_BADVAL] = "badval",
    [RD_PFSYNC_STAT_BADAF] = "badaf",           [RD_PFSYNC_STAT_BADCREATOR] = "badcreatorid",
    [RD_PFSYNC_STAT_BADTIMEOUT] = "badtimeout",
};

const char *rd_pfsync_stat_name(int stat)
{
	if (stat < 0 || stat >= RD_PFSYNC_STAT_COUNT)
		return "unknown";
	return stat_names[stat];
}

bool rd_pfsync_msg_ref(const struct rd_pfsync_msg *m, uint64_t *id, uint32_t *creatorid)
{
	*id = 0;
	*creatorid = 0;
	switch (m->action) {
	case RD_PFSYNC_ACT_INS:
	case RD_PFSYNC_ACT_UPD:
	case RD_PFSYNC_ACT_DEL:
		*id = m->u.state.id;
		*creatorid = m->u.state.creatorid;
		return true;
	case RD_PFSYNC_ACT_UPD_C:
		*id = m->u.upd_c.id;
		*creatorid = m->u.upd_c.creatorid;
		return true;
	case RD_PFSYNC_ACT_DEL_C:
	case RD_PFSYNC_ACT_INS_ACK:
	case RD_PFSYNC_ACT_UPD_REQ:
		*id = m->u.ref.id;
		*creatorid = m->u.ref.creatorid;
		return true;
	case RD_PFSYNC_ACT_BUS:
		*creatorid = m->u.bus.creatorid;
		return true;
	case RD_PFSYNC_ACT_CLR:
		*creatorid = m->u.clr.creatorid;
		return true;
	default:
		return false;
	}
}

const char *rd_pfsync_action_name(int action)
{
	if (action < 0 || action >= RD_PFSYNC_ACT_COUNT)
		return "unknown";
	return act_names[action];
}

size_t rd_pfsync_msg_len(int action)
{
	if (action < 0 || action >= RD_PFSYNC_ACT_COUNT)
		return 0;
	return act_len[action];
}

int rd_pfsync_af_from_wire(uint8_t wire_af)
{
	switch (wire_af) {
	case RD_PFSYNC_WIRE_AF_INET:
		return RD_AF_INET;
	case RD_PFSYNC_WIRE_AF_INET6:
		return RD_AF_INET6;
	default:
		return -1;
	}
}

int rd_pfsync_af_to_wire(uint8_t rd_af)
{
	switch (rd_af) {
	case RD_AF_INET:
		return RD_PFSYNC_WIRE_AF_INET;
	case RD_AF_INET6:
		return RD_PFSYNC_WIRE_AF_INET6;
	default:
		return -1;
	}
}

/* ---- validation ---------------------------------------------------- */

static bool peer_ok(const uint8_t *p)
{
	return p[OFF(rd_pfw_peer, state)] <= RD_PFSYNC_TCPS_PROXY_DST;
}

static bool af_ok(uint8_t wire_af)
{
	return rd_pfsync_af_from_wire(wire_af) >= 0;
}

/*
 * The values that refuse a full state (INS, UPD, DEL), after OpenBSD's
 * pfsync_in_ins / pfsync_in_upd / pfsync_in_del and pf_state_import; the
 * table is in pfsync.h.
 */
static int check_state(uint8_t action, const uint8_t *p)
{
	uint8_t k0 = p[OFF(rd_pfw_state, key[0].af)], k1 = p[OFF(rd_pfw_state, key[1].af)];

	if (action != RD_PFSYNC_ACT_DEL) {
		if (!af_ok(p[OFF(rd_pfw_state, af)]))
			return RD_PFSYNC_STAT_BADAF;
		/* INS: both keys 0 or both valid; UPD: each key 0 or valid. */
		if (action == RD_PFSYNC_ACT_INS ? (k0 || k1) && (!af_ok(k0) || !af_ok(k1))
		                                : (k0 && !af_ok(k0)) || (k1 && !af_ok(k1)))
			return RD_PFSYNC_STAT_BADAF;
		if (p[OFF(rd_pfw_state, timeout)] >= RD_PFSYNC_TM_COUNT)
			return RD_PFSYNC_STAT_BADTIMEOUT;
		if (!peer_ok(p + OFF(rd_pfw_state, src)) || !peer_ok(p + OFF(rd_pfw_state, dst)))
			return RD_PFSYNC_STAT_BADVAL;
		if (action == RD_PFSYNC_ACT_INS &&
		    p[OFF(rd_pfw_state, direction)] > RD_PFSYNC_DIR_OUT)
			return RD_PFSYNC_STAT_BADVAL;
	}
	if (rd_get32(p + OFF(rd_pfw_state, creatorid)) == 0)
		return RD_PFSYNC_STAT_BADCREATOR;
	return 0;
}

/* Returns 0 for a message to deliver, else the reason it is refused. */
static int check_msg(uint8_t action, const uint8_t *p)
{
	switch (action) {
	case RD_PFSYNC_ACT_INS:
	case RD_PFSYNC_ACT_UPD:
	case RD_PFSYNC_ACT_DEL:
		return check_state(action, p);
	case RD_PFSYNC_ACT_UPD_C:
		if (p[OFF(rd_pfw_upd_c, timeout)] >= RD_PFSYNC_TM_COUNT)
			return RD_PFSYNC_STAT_BADTIMEOUT;
		if (!peer_ok(p + OFF(rd_pfw_upd_c, src)) || !peer_ok(p + OFF(rd_pfw_upd_c, dst)))
			return RD_PFSYNC_STAT_BADVAL;
		if (rd_get32(p + OFF(rd_pfw_upd_c, creatorid)) == 0)
			return RD_PFSYNC_STAT_BADCREATOR;
		return 0;
	case RD_PFSYNC_ACT_INS_ACK:
	case RD_PFSYNC_ACT_DEL_C:
		/* UPD_REQ may carry creatorid 0: 0/0 asks for a bulk update. */
		if (rd_get32(p + OFF(rd_pfw_ref, creatorid)) == 0)
			return RD_PFSYNC_STAT_BADCREATOR;
		return 0;
	case RD_PFSYNC_ACT_BUS: {
		uint8_t st = p[OFF(rd_pfw_bus, status)];
		if (st != RD_PFSYNC_BUS_START && st != RD_PFSYNC_BUS_END)
			return RD_PFSYNC_STAT_BADVAL;
		return 0;
	}
	default:
		return 0;
	}
}

static int refuse(struct rd_pfsync_info *info, int reason, size_t offset)
{
	info->reason = reason;
	info->offset = offset;
	return RD_ERR_PROTO;
}

/*
 * The bytes the sections span: the header's len, or the whole packet when
 * len is under the header's own size (OpenBSD's pfsync_input then walks to
 * the end of the packet).
 */
static size_t span(uint16_t hdr_len, size_t len)
{
	return hdr_len < RD_PFSYNC_HDR_LEN ? len : hdr_len;
}

/*
 * Walks the sections exactly as OpenBSD's pfsync_input does, but only
 * checks: nothing is delivered until the whole packet's framing passed.
 * Counts each value refusal by reason in why[] when not NULL.
 */
static int check_packet(const uint8_t *pkt, size_t len, struct rd_pfsync_info *info,
                        uint64_t why[RD_PFSYNC_STAT_COUNT])
{
	size_t plen, off;

	memset(info, 0, sizeof(*info));
	info->reason = RD_PFSYNC_STAT_PACKETS;
	if (pkt == NULL || len < RD_PFSYNC_HDR_LEN)
		return refuse(info, RD_PFSYNC_STAT_HDROPS, 0);
	if (pkt[OFF(rd_pfw_header, version)] != RD_PFSYNC_VERSION)
		return refuse(info, RD_PFSYNC_STAT_BADVER, OFF(rd_pfw_header, version));
	memcpy(info->pfcksum, pkt + OFF(rd_pfw_header, pfcksum), RD_PFSYNC_CKSUM_LEN);
	info->hdr_len = rd_get16(pkt + OFF(rd_pfw_header, len));
	if (info->hdr_len > len)
		return refuse(info, RD_PFSYNC_STAT_BADLEN, OFF(rd_pfw_header, len));
	plen = span(info->hdr_len, len);
	info->length = plen;

	off = RD_PFSYNC_HDR_LEN;
	while (plen - off >= RD_PFSYNC_SUBHDR_LEN) {
		const uint8_t *sh = pkt + off;
		uint8_t action = sh[OFF(rd_pfw_subheader, action)];
		size_t mlen = (size_t)sh[OFF(rd_pfw_subheader, len)] << 2;
		size_t count = rd_get16(sh + OFF(rd_pfw_subheader, count));
		size_t need = rd_pfsync_msg_len(action);
		int skip;

		if (action >= RD_PFSYNC_ACT_COUNT || mlen < need) {
			/* Without a size and a count it cannot be skipped. */
			if (count == 0 || mlen == 0)
				return refuse(info, RD_PFSYNC_STAT_BADACT, off);
			skip = 1;
		} else {
			skip = need == 0;
		}
		off += RD_PFSYNC_SUBHDR_LEN;
		if (mlen * count > plen - off)
			return refuse(info, RD_PFSYNC_STAT_BADLEN, off - RD_PFSYNC_SUBHDR_LEN);
		if (skip) {
			info->skipped += count;
		} else {
			for (size_t i = 0; i < count; i++) {
				int r = check_msg(action, pkt + off + i * mlen);
				if (r == 0) {
					info->messages++;
				} else {
					info->refused++;
					if (why != NULL)
						why[r]++;
				}
			}
		}
		off += mlen * count;
	}
	return 0;
}

int rd_pfsync_check(const uint8_t *pkt, size_t len, struct rd_pfsync_info *info)
{
	struct rd_pfsync_info local;

	return check_packet(pkt, len, info != NULL ? info : &local, NULL);
}

/* ---- decoding ------------------------------------------------------ */

static void get_ifname(char *dst, const uint8_t *src)
{
	memcpy(dst, src, RD_PFSYNC_IFNAMSIZ);
	dst[RD_PFSYNC_IFNAMSIZ] = '\0';
}

/* A pf_addr: 16 bytes, IPv4 in the first four. `a` arrives zeroed. */
static void get_addr(struct rd_addr *a, const uint8_t *p, int af)
{
	a->af = (uint8_t)af;
	if (af == RD_AF_INET)
		memcpy(a->u.v4, p, 4);
	else if (af == RD_AF_INET6)
		memcpy(a->u.v6, p, 16);
}

static void get_peer(struct rd_pfsync_peer *d, const uint8_t *p)
{
	const uint8_t *s = p + OFF(rd_pfw_peer, scrub);

	d->scrub.flags = rd_get16(s + OFF(rd_pfw_scrub, pfss_flags));
	d->scrub.ttl = s[OFF(rd_pfw_scrub, pfss_ttl)];
	d->scrub.scrub_flag = s[OFF(rd_pfw_scrub, scrub_flag)];
	d->scrub.ts_mod = rd_get32(s + OFF(rd_pfw_scrub, pfss_ts_mod));
	d->seqlo = rd_get32(p + OFF(rd_pfw_peer, seqlo));
	d->seqhi = rd_get32(p + OFF(rd_pfw_peer, seqhi));
	d->seqdiff = rd_get32(p + OFF(rd_pfw_peer, seqdiff));
	d->max_win = rd_get16(p + OFF(rd_pfw_peer, max_win));
	d->mss = rd_get16(p + OFF(rd_pfw_peer, mss));
	d->state = p[OFF(rd_pfw_peer, state)];
	d->wscale = p[OFF(rd_pfw_peer, wscale)];
}

/* A decoded family, RD_AF_UNSPEC for one neither AF_INET nor AF_INET6. */
static uint8_t rd_af(uint8_t wire_af)
{
	int af = rd_pfsync_af_from_wire(wire_af);
	return af < 0 ? RD_AF_UNSPEC : (uint8_t)af;
}

/*
 * A key whose af is 0 takes the state's (state_af), as pf_state_import
 * does. So does a key of an unknown family, which only an accepted DEL can
 * carry (nothing but its id and creatorid is read): one rule keeps
 * decode(encode(decode(x))) == decode(x), the encoder writing 0 for it.
 */
static void get_key(struct rd_pfsync_key *k, const uint8_t *p, uint8_t proto, uint8_t state_af)
{
	uint8_t af = rd_af(p[OFF(rd_pfw_key, af)]);

	if (af == RD_AF_UNSPEC)
		af = state_af;

	for (int i = 0; i < 2; i++) {
		get_addr(&k->addr[i], p + OFF(rd_pfw_key, addr[i]), af);
		k->port[i] = rd_get16(p + OFF(rd_pfw_key, port[i]));
	}
	k->rdomain = rd_get16(p + OFF(rd_pfw_key, rdomain));
	k->af = af;
	k->proto = proto;
}

static void get_state(struct rd_pfsync_state *s, const uint8_t *p)
{
	memset(s, 0, sizeof(*s));
	s->id = rd_get64(p + OFF(rd_pfw_state, id));
	get_ifname(s->ifname, p + OFF(rd_pfw_state, ifname));
	s->proto = p[OFF(rd_pfw_state, proto)];
	s->af = rd_af(p[OFF(rd_pfw_state, af)]);
	get_key(&s->key[0], p + OFF(rd_pfw_state, key[0]), s->proto, s->af);
	get_key(&s->key[1], p + OFF(rd_pfw_state, key[1]), s->proto, s->af);
	get_peer(&s->src, p + OFF(rd_pfw_state, src));
	get_peer(&s->dst, p + OFF(rd_pfw_state, dst));
	get_addr(&s->rt_addr, p + OFF(rd_pfw_state, rt_addr), s->af);
	s->rule = (int32_t)rd_get32(p + OFF(rd_pfw_state, rule));
	s->anchor = (int32_t)rd_get32(p + OFF(rd_pfw_state, anchor));
	s->nat_rule = (int32_t)rd_get32(p + OFF(rd_pfw_state, nat_rule));
	s->creation = rd_get32(p + OFF(rd_pfw_state, creation));
	s->expire = rd_get32(p + OFF(rd_pfw_state, expire));
	/* Each counter travels as {htonl(hi), htonl(lo)}: a big-endian u64. */
	for (int i = 0; i < 2; i++) {
		s->packets[i] = rd_get64(p + OFF(rd_pfw_state, packets[i]));
		s->bytes[i] = rd_get64(p + OFF(rd_pfw_state, bytes[i]));
		s->rtableid[i] = (int32_t)rd_get32(p + OFF(rd_pfw_state, rtableid[i]));
		s->set_prio[i] = p[OFF(rd_pfw_state, set_prio[i])];
	}
	s->creatorid = rd_get32(p + OFF(rd_pfw_state, creatorid));
	s->max_mss = rd_get16(p + OFF(rd_pfw_state, max_mss));
	s->direction = p[OFF(rd_pfw_state, direction)];
	s->log = p[OFF(rd_pfw_state, log)];
	s->rt = p[OFF(rd_pfw_state, rt)];
	s->timeout = p[OFF(rd_pfw_state, timeout)];
	s->sync_flags = p[OFF(rd_pfw_state, sync_flags)];
	s->updates = p[OFF(rd_pfw_state, updates)];
	s->min_ttl = p[OFF(rd_pfw_state, min_ttl)];
	s->set_tos = p[OFF(rd_pfw_state, set_tos)];
	s->state_flags = rd_get16(p + OFF(rd_pfw_state, state_flags));
}

static void get_tdb(struct rd_pfsync_tdb *t, const uint8_t *p)
{
	const uint8_t *sa = p + OFF(rd_pfw_tdb, dst);

	memset(t, 0, sizeof(*t));
	t->spi = rd_get32(p + OFF(rd_pfw_tdb, spi));
	switch (sa[OFF(rd_pfw_sockaddr, sa_family)]) {
	case RD_PFSYNC_WIRE_AF_INET:
		get_addr(&t->dst, sa + OFF(rd_pfw_sockaddr, v4_addr), RD_AF_INET);
		break;
	case RD_PFSYNC_WIRE_AF_INET6:
		get_addr(&t->dst, sa + OFF(rd_pfw_sockaddr, v6_addr), RD_AF_INET6);
		break;
	default:
		t->dst.af = RD_AF_UNSPEC;
		break;
	}
	/* A port only means something in a sockaddr of a known family. */
	if (t->dst.af != RD_AF_UNSPEC)
		t->dst_port = rd_get16(sa + OFF(rd_pfw_sockaddr, port));
	t->rpl = rd_get64(p + OFF(rd_pfw_tdb, rpl));
	t->cur_bytes = rd_get64(p + OFF(rd_pfw_tdb, cur_bytes));
	t->sproto = p[OFF(rd_pfw_tdb, sproto)];
	t->updates = p[OFF(rd_pfw_tdb, updates)];
	t->rdomain = rd_get16(p + OFF(rd_pfw_tdb, rdomain));
}

static void get_msg(struct rd_pfsync_msg *m, uint8_t action, const uint8_t *p)
{
	m->action = action;
	switch (action) {
	case RD_PFSYNC_ACT_CLR:
		get_ifname(m->u.clr.ifname, p + OFF(rd_pfw_clr, ifname));
		m->u.clr.creatorid = rd_get32(p + OFF(rd_pfw_clr, creatorid));
		break;
	case RD_PFSYNC_ACT_INS_ACK:
	case RD_PFSYNC_ACT_UPD_REQ:
	case RD_PFSYNC_ACT_DEL_C:
		m->u.ref.id = rd_get64(p + OFF(rd_pfw_ref, id));
		m->u.ref.creatorid = rd_get32(p + OFF(rd_pfw_ref, creatorid));
		break;
	case RD_PFSYNC_ACT_UPD_C:
		m->u.upd_c.id = rd_get64(p + OFF(rd_pfw_upd_c, id));
		get_peer(&m->u.upd_c.src, p + OFF(rd_pfw_upd_c, src));
		get_peer(&m->u.upd_c.dst, p + OFF(rd_pfw_upd_c, dst));
		m->u.upd_c.creatorid = rd_get32(p + OFF(rd_pfw_upd_c, creatorid));
		m->u.upd_c.expire = rd_get32(p + OFF(rd_pfw_upd_c, expire));
		m->u.upd_c.timeout = p[OFF(rd_pfw_upd_c, timeout)];
		m->u.upd_c.state_flags = p[OFF(rd_pfw_upd_c, state_flags)];
		break;
	case RD_PFSYNC_ACT_BUS:
		m->u.bus.creatorid = rd_get32(p + OFF(rd_pfw_bus, creatorid));
		m->u.bus.endtime = rd_get32(p + OFF(rd_pfw_bus, endtime));
		m->u.bus.status = p[OFF(rd_pfw_bus, status)];
		break;
	case RD_PFSYNC_ACT_TDB:
		get_tdb(&m->u.tdb, p);
		break;
	default: /* INS, UPD, DEL */
		get_state(&m->u.state, p);
		break;
	}
}

int rd_pfsync_decode_each(const uint8_t *pkt, size_t len, struct rd_pfsync_stats *stats,
                          struct rd_pfsync_info *info, rd_pfsync_msg_fn fn,
                          rd_pfsync_refused_fn refused, void *user)
{
	struct rd_pfsync_info local;
	uint64_t why[RD_PFSYNC_STAT_COUNT] = {0};
	struct rd_pfsync_msg msg;
	size_t off, plen;

	if (info == NULL)
		info = &local;
	if (check_packet(pkt, len, info, why) != 0) {
		if (stats != NULL)
			stats->count[info->reason]++;
		return RD_ERR_PROTO;
	}
	if (stats != NULL) {
		stats->count[RD_PFSYNC_STAT_PACKETS]++;
		stats->count[RD_PFSYNC_STAT_MESSAGES] += info->messages;
		stats->count[RD_PFSYNC_STAT_SKIPPED] += info->skipped;
		for (int r = 0; r < RD_PFSYNC_STAT_COUNT; r++)
			stats->count[r] += why[r];
	}
	if (fn == NULL && refused == NULL)
		return 0;

	/* The framing is known good: walk it again, judging values only if needed. */
	plen = info->length;
	off = RD_PFSYNC_HDR_LEN;
	while (plen - off >= RD_PFSYNC_SUBHDR_LEN) {
		uint8_t action = pkt[off];
		size_t mlen = (size_t)pkt[off + 1] << 2;
		size_t count = rd_get16(pkt + off + 2);
		size_t need = rd_pfsync_msg_len(action);

		off += RD_PFSYNC_SUBHDR_LEN;
		if (need != 0 && mlen >= need) {
			for (size_t i = 0; i < count; i++) {
				const uint8_t *p = pkt + off + i * mlen;
				int r = info->refused != 0 ? check_msg(action, p) : 0;
				int rc = 0;
				if (r != 0 && refused == NULL)
					continue;
				if (r == 0 && fn == NULL)
					continue;
				get_msg(&msg, action, p);
				rc = r != 0 ? refused(user, &msg, r, (size_t)(p - pkt))
				            : fn(user, &msg);
				if (rc != 0)
					return rc;
			}
		}
		off += mlen * count;
	}
	return 0;
}

int rd_pfsync_decode(const uint8_t *pkt, size_t len, struct rd_pfsync_stats *stats,
                     struct rd_pfsync_info *info, rd_pfsync_msg_fn fn, void *user)
{
	return rd_pfsync_decode_each(pkt, len, stats, info, fn, NULL, user);
}

/* ---- encoding ------------------------------------------------------ */

static void put_ifname(uint8_t *dst, const char *src)
{
	size_t n = strnlen(src, RD_PFSYNC_IFNAMSIZ);

	memset(dst, 0, RD_PFSYNC_IFNAMSIZ);
	memcpy(dst, src, n);
}

/* The put_ helpers below write into zeroed space (the callers clear it). */
static void put_addr(uint8_t *p, const struct rd_addr *a)
{
	if (a->af == RD_AF_INET)
		memcpy(p, a->u.v4, 4);
	else if (a->af == RD_AF_INET6)
		memcpy(p, a->u.v6, 16);
}

static uint8_t wire_af(uint8_t rd_af)
{
	int af = rd_pfsync_af_to_wire(rd_af);
	return af < 0 ? 0 : (uint8_t)af;
}

static void put_peer(uint8_t *p, const struct rd_pfsync_peer *d)
{
	uint8_t *s = p + OFF(rd_pfw_peer, scrub);

	rd_put16(s + OFF(rd_pfw_scrub, pfss_flags), d->scrub.flags);
	s[OFF(rd_pfw_scrub, pfss_ttl)] = d->scrub.ttl;
	s[OFF(rd_pfw_scrub, scrub_flag)] = d->scrub.scrub_flag;
	rd_put32(s + OFF(rd_pfw_scrub, pfss_ts_mod), d->scrub.ts_mod);
	rd_put32(p + OFF(rd_pfw_peer, seqlo), d->seqlo);
	rd_put32(p + OFF(rd_pfw_peer, seqhi), d->seqhi);
	rd_put32(p + OFF(rd_pfw_peer, seqdiff), d->seqdiff);
	rd_put16(p + OFF(rd_pfw_peer, max_win), d->max_win);
	rd_put16(p + OFF(rd_pfw_peer, mss), d->mss);
	p[OFF(rd_pfw_peer, state)] = d->state;
	p[OFF(rd_pfw_peer, wscale)] = d->wscale;
}

static void put_key(uint8_t *p, const struct rd_pfsync_key *k)
{
	for (int i = 0; i < 2; i++) {
		put_addr(p + OFF(rd_pfw_key, addr[i]), &k->addr[i]);
		rd_put16(p + OFF(rd_pfw_key, port[i]), k->port[i]);
	}
	rd_put16(p + OFF(rd_pfw_key, rdomain), k->rdomain);
	p[OFF(rd_pfw_key, af)] = wire_af(k->af);
}

static void put_state(uint8_t *p, const struct rd_pfsync_state *s)
{
	memset(p, 0, RD_PFSYNC_STATE_LEN);
	rd_put64(p + OFF(rd_pfw_state, id), s->id);
	put_ifname(p + OFF(rd_pfw_state, ifname), s->ifname);
	put_key(p + OFF(rd_pfw_state, key[0]), &s->key[0]);
	put_key(p + OFF(rd_pfw_state, key[1]), &s->key[1]);
	put_peer(p + OFF(rd_pfw_state, src), &s->src);
	put_peer(p + OFF(rd_pfw_state, dst), &s->dst);
	put_addr(p + OFF(rd_pfw_state, rt_addr), &s->rt_addr);
	rd_put32(p + OFF(rd_pfw_state, rule), (uint32_t)s->rule);
	rd_put32(p + OFF(rd_pfw_state, anchor), (uint32_t)s->anchor);
	rd_put32(p + OFF(rd_pfw_state, nat_rule), (uint32_t)s->nat_rule);
	rd_put32(p + OFF(rd_pfw_state, creation), s->creation);
	rd_put32(p + OFF(rd_pfw_state, expire), s->expire);
	for (int i = 0; i < 2; i++) {
		rd_put64(p + OFF(rd_pfw_state, packets[i]), s->packets[i]);
		rd_put64(p + OFF(rd_pfw_state, bytes[i]), s->bytes[i]);
		rd_put32(p + OFF(rd_pfw_state, rtableid[i]), (uint32_t)s->rtableid[i]);
		p[OFF(rd_pfw_state, set_prio[i])] = s->set_prio[i];
	}
	rd_put32(p + OFF(rd_pfw_state, creatorid), s->creatorid);
	rd_put16(p + OFF(rd_pfw_state, max_mss), s->max_mss);
	p[OFF(rd_pfw_state, af)] = wire_af(s->af);
	p[OFF(rd_pfw_state, proto)] = s->proto;
	p[OFF(rd_pfw_state, direction)] = s->direction;
	p[OFF(rd_pfw_state, log)] = s->log;
	p[OFF(rd_pfw_state, rt)] = s->rt;
	p[OFF(rd_pfw_state, timeout)] = s->timeout;
	p[OFF(rd_pfw_state, sync_flags)] = s->sync_flags;
	p[OFF(rd_pfw_state, updates)] = s->updates;
	p[OFF(rd_pfw_state, min_ttl)] = s->min_ttl;
	p[OFF(rd_pfw_state, set_tos)] = s->set_tos;
	rd_put16(p + OFF(rd_pfw_state, state_flags), s->state_flags);
}

static void put_tdb(uint8_t *p, const struct rd_pfsync_tdb *t)
{
	uint8_t *sa = p + OFF(rd_pfw_tdb, dst);

	memset(p, 0, RD_PFSYNC_TDB_LEN);
	rd_put32(p + OFF(rd_pfw_tdb, spi), t->spi);
	if (t->dst.af == RD_AF_INET) {
		sa[OFF(rd_pfw_sockaddr, sa_len)] = 16; /* sizeof(struct sockaddr_in) */
		sa[OFF(rd_pfw_sockaddr, sa_family)] = RD_PFSYNC_WIRE_AF_INET;
		memcpy(sa + OFF(rd_pfw_sockaddr, v4_addr), t->dst.u.v4, 4);
	} else if (t->dst.af == RD_AF_INET6) {
		sa[OFF(rd_pfw_sockaddr, sa_len)] = 28; /* sizeof(struct sockaddr_in6) */
		sa[OFF(rd_pfw_sockaddr, sa_family)] = RD_PFSYNC_WIRE_AF_INET6;
		memcpy(sa + OFF(rd_pfw_sockaddr, v6_addr), t->dst.u.v6, 16);
	}
	if (t->dst.af == RD_AF_INET || t->dst.af == RD_AF_INET6)
		rd_put16(sa + OFF(rd_pfw_sockaddr, port), t->dst_port);
	rd_put64(p + OFF(rd_pfw_tdb, rpl), t->rpl);
	rd_put64(p + OFF(rd_pfw_tdb, cur_bytes), t->cur_bytes);
	p[OFF(rd_pfw_tdb, sproto)] = t->sproto;
	p[OFF(rd_pfw_tdb, updates)] = t->updates;
	rd_put16(p + OFF(rd_pfw_tdb, rdomain), t->rdomain);
}

int rd_pfsync_encode_msg(const struct rd_pfsync_msg *m, uint8_t *out, size_t cap)
{
	size_t len = rd_pfsync_msg_len(m->action);

	if (len == 0)
		return RD_ERR_INVAL;
	if (cap < len)
		return RD_ERR_NOSPC;
	switch (m->action) {
	case RD_PFSYNC_ACT_CLR:
		put_ifname(out + OFF(rd_pfw_clr, ifname), m->u.clr.ifname);
		rd_put32(out + OFF(rd_pfw_clr, creatorid), m->u.clr.creatorid);
		break;
	case RD_PFSYNC_ACT_INS_ACK:
	case RD_PFSYNC_ACT_UPD_REQ:
	case RD_PFSYNC_ACT_DEL_C:
		rd_put64(out + OFF(rd_pfw_ref, id), m->u.ref.id);
		rd_put32(out + OFF(rd_pfw_ref, creatorid), m->u.ref.creatorid);
		break;
	case RD_PFSYNC_ACT_UPD_C:
		memset(out, 0, RD_PFSYNC_UPD_C_LEN);
		rd_put64(out + OFF(rd_pfw_upd_c, id), m->u.upd_c.id);
		put_peer(out + OFF(rd_pfw_upd_c, src), &m->u.upd_c.src);
		put_peer(out + OFF(rd_pfw_upd_c, dst), &m->u.upd_c.dst);
		rd_put32(out + OFF(rd_pfw_upd_c, creatorid), m->u.upd_c.creatorid);
		rd_put32(out + OFF(rd_pfw_upd_c, expire), m->u.upd_c.expire);
		out[OFF(rd_pfw_upd_c, timeout)] = m->u.upd_c.timeout;
		out[OFF(rd_pfw_upd_c, state_flags)] = m->u.upd_c.state_flags;
		break;
	case RD_PFSYNC_ACT_BUS:
		memset(out, 0, RD_PFSYNC_BUS_LEN);
		rd_put32(out + OFF(rd_pfw_bus, creatorid), m->u.bus.creatorid);
		rd_put32(out + OFF(rd_pfw_bus, endtime), m->u.bus.endtime);
		out[OFF(rd_pfw_bus, status)] = m->u.bus.status;
		break;
	case RD_PFSYNC_ACT_TDB:
		put_tdb(out, &m->u.tdb);
		break;
	default: /* INS, UPD, DEL */
		put_state(out, &m->u.state);
		break;
	}
	return (int)len;
}

/* ---- builder ------------------------------------------------------- */

#define RD_PFSYNC_MAX_PKT 65535 /* header len is 16 bits */

int rd_pfsync_builder_init(struct rd_pfsync_builder *b, uint8_t *buf, size_t cap)
{
	if (cap > RD_PFSYNC_MAX_PKT)
		cap = RD_PFSYNC_MAX_PKT;
	memset(b, 0, sizeof(*b));
	if (buf == NULL || cap < RD_PFSYNC_HDR_LEN + RD_PFSYNC_SUBHDR_LEN)
		return RD_ERR_NOSPC;
	b->buf = buf;
	b->cap = cap;
	memset(buf, 0, RD_PFSYNC_HDR_LEN);
	buf[OFF(rd_pfw_header, version)] = RD_PFSYNC_VERSION;
	b->len = RD_PFSYNC_HDR_LEN;
	return 0;
}

static int extends_open_section(const struct rd_pfsync_builder *b, int action)
{
	return b->subh != 0 && b->action == action && b->count < UINT16_MAX;
}

size_t rd_pfsync_builder_room(const struct rd_pfsync_builder *b, int action)
{
	size_t mlen = rd_pfsync_msg_len(action);
	size_t avail = b->cap - b->len;
	size_t n;

	if (mlen == 0 || b->buf == NULL)
		return 0;
	if (extends_open_section(b, action)) {
		n = avail / mlen;
		/* Past the section's count limit a new subheader is needed. */
		if (n > (size_t)(UINT16_MAX - b->count))
			n = UINT16_MAX - b->count; /* conservative */
		return n;
	}
	if (avail < RD_PFSYNC_SUBHDR_LEN)
		return 0;
	n = (avail - RD_PFSYNC_SUBHDR_LEN) / mlen;
	return n > UINT16_MAX ? UINT16_MAX : n;
}

int rd_pfsync_builder_add(struct rd_pfsync_builder *b, const struct rd_pfsync_msg *m)
{
	size_t mlen = rd_pfsync_msg_len(m->action);
	bool extend = extends_open_section(b, m->action);
	int rc;

	if (mlen == 0 || b->buf == NULL)
		return RD_ERR_INVAL;
	/* The hot path of every sender: no division, one comparison. */
	if (b->len + mlen + (extend ? 0 : RD_PFSYNC_SUBHDR_LEN) > b->cap)
		return RD_ERR_NOSPC;
	if (!extend) {
		uint8_t *sh = b->buf + b->len;
		sh[OFF(rd_pfw_subheader, action)] = m->action;
		sh[OFF(rd_pfw_subheader, len)] = (uint8_t)(mlen >> 2);
		rd_put16(sh + OFF(rd_pfw_subheader, count), 0);
		b->subh = b->len;
		b->action = m->action;
		b->count = 0;
		b->len += RD_PFSYNC_SUBHDR_LEN;
	}
	rc = rd_pfsync_encode_msg(m, b->buf + b->len, b->cap - b->len);
	if (rc < 0)
		return rc;
	b->len += (size_t)rc;
	b->count++;
	b->total++;
	rd_put16(b->buf + b->subh + OFF(rd_pfw_subheader, count), b->count);
	return 0;
}

size_t rd_pfsync_builder_count(const struct rd_pfsync_builder *b)
{
	return b->total;
}

size_t rd_pfsync_builder_finish(struct rd_pfsync_builder *b)
{
	if (b->buf == NULL)
		return 0;
	rd_put16(b->buf + OFF(rd_pfw_header, len), (uint16_t)b->len);
	return b->len;
}
