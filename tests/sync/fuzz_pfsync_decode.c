/*
 * Fuzz target: the pfsync v6 decoder. Besides not crashing, it checks that
 * check() and decode() agree; that a packet refused for its framing
 * delivers nothing; that a good packet delivers its accepted messages and
 * names its refused ones, as many of each as check() counted; and, for
 * every accepted message, that decoding is stable through the encoder:
 * decode(encode(decode(x))) == decode(x), value by value, and the message
 * is accepted again.
 */
#include <stdlib.h>
#include <string.h>

#include "redund/pfsync.h"

#define SAME(f) (a->f == b->f)

static int addr_eq(const struct rd_addr *a, const struct rd_addr *b)
{
	return SAME(af) && memcmp(a->u.v6, b->u.v6, 16) == 0;
}

static int peer_eq(const struct rd_pfsync_peer *a, const struct rd_pfsync_peer *b)
{
	return SAME(scrub.flags) && SAME(scrub.ttl) && SAME(scrub.scrub_flag) &&
	       SAME(scrub.ts_mod) && SAME(seqlo) && SAME(seqhi) && SAME(seqdiff) && SAME(max_win) &&
	       SAME(mss) && SAME(state) && SAME(wscale);
}

static int key_eq(const struct rd_pfsync_key *a, const struct rd_pfsync_key *b)
{
	return addr_eq(&a->addr[0], &b->addr[0]) && addr_eq(&a->addr[1], &b->addr[1]) &&
	       SAME(port[0]) && SAME(port[1]) && SAME(rdomain) && SAME(af) && SAME(proto);
}

/* ifname: the string up to its NUL (the bytes after it are not kept). */
static int state_eq(const struct rd_pfsync_state *a, const struct rd_pfsync_state *b)
{
	return SAME(id) && strcmp(a->ifname, b->ifname) == 0 && key_eq(&a->key[0], &b->key[0]) &&
	       key_eq(&a->key[1], &b->key[1]) && peer_eq(&a->src, &b->src) &&
	       peer_eq(&a->dst, &b->dst) && addr_eq(&a->rt_addr, &b->rt_addr) && SAME(rule) &&
	       SAME(anchor) && SAME(nat_rule) && SAME(creation) && SAME(expire) &&
	       SAME(packets[0]) && SAME(packets[1]) && SAME(bytes[0]) && SAME(bytes[1]) &&
	       SAME(creatorid) && SAME(rtableid[0]) && SAME(rtableid[1]) && SAME(max_mss) &&
	       SAME(af) && SAME(proto) && SAME(direction) && SAME(log) && SAME(rt) &&
	       SAME(timeout) && SAME(sync_flags) && SAME(updates) && SAME(min_ttl) &&
	       SAME(set_tos) && SAME(state_flags) && SAME(set_prio[0]) && SAME(set_prio[1]);
}

static int msg_eq(const struct rd_pfsync_msg *a, const struct rd_pfsync_msg *b)
{
	if (!SAME(action))
		return 0;
	switch (a->action) {
	case RD_PFSYNC_ACT_CLR:
		return strcmp(a->u.clr.ifname, b->u.clr.ifname) == 0 && SAME(u.clr.creatorid);
	case RD_PFSYNC_ACT_INS_ACK:
	case RD_PFSYNC_ACT_UPD_REQ:
	case RD_PFSYNC_ACT_DEL_C:
		return SAME(u.ref.id) && SAME(u.ref.creatorid);
	case RD_PFSYNC_ACT_UPD_C:
		return SAME(u.upd_c.id) && peer_eq(&a->u.upd_c.src, &b->u.upd_c.src) &&
		       peer_eq(&a->u.upd_c.dst, &b->u.upd_c.dst) && SAME(u.upd_c.creatorid) &&
		       SAME(u.upd_c.expire) && SAME(u.upd_c.timeout) && SAME(u.upd_c.state_flags);
	case RD_PFSYNC_ACT_BUS:
		return SAME(u.bus.creatorid) && SAME(u.bus.endtime) && SAME(u.bus.status);
	case RD_PFSYNC_ACT_TDB:
		return SAME(u.tdb.spi) && addr_eq(&a->u.tdb.dst, &b->u.tdb.dst) &&
		       SAME(u.tdb.dst_port) && SAME(u.tdb.rpl) && SAME(u.tdb.cur_bytes) &&
		       SAME(u.tdb.sproto) && SAME(u.tdb.updates) && SAME(u.tdb.rdomain);
	default:
		return state_eq(&a->u.state, &b->u.state);
	}
}

struct ctx {
	size_t n, refused;
};

struct again {
	struct rd_pfsync_msg m;
	size_t n, refused;
};

static int on_again(void *user, const struct rd_pfsync_msg *m)
{
	struct again *g = user;
	g->n++;
	g->m = *m;
	return 0;
}

static int on_again_refused(void *user, const struct rd_pfsync_msg *m, int reason, size_t off)
{
	struct again *g = user;
	(void)m;
	(void)reason;
	(void)off;
	g->refused++;
	return 0;
}

static int on_msg(void *user, const struct rd_pfsync_msg *m)
{
	struct ctx *c = user;
	uint8_t pkt[RD_PFSYNC_HDR_LEN + RD_PFSYNC_SUBHDR_LEN + RD_PFSYNC_STATE_LEN];
	struct rd_pfsync_builder bld;
	struct again g = {.n = 0};
	size_t plen;

	c->n++;
	if (rd_pfsync_builder_init(&bld, pkt, sizeof(pkt)) != 0 ||
	    rd_pfsync_builder_add(&bld, m) != 0)
		abort();
	plen = rd_pfsync_builder_finish(&bld);
	if (plen != RD_PFSYNC_HDR_LEN + RD_PFSYNC_SUBHDR_LEN + rd_pfsync_msg_len(m->action))
		abort();
	/* Accepted once, accepted again, with the same values. */
	if (rd_pfsync_decode_each(pkt, plen, NULL, NULL, on_again, on_again_refused, &g) != 0 ||
	    g.n != 1 || g.refused != 0)
		abort();
	if (!msg_eq(m, &g.m))
		abort();
	return 0;
}

static int on_refused(void *user, const struct rd_pfsync_msg *m, int reason, size_t off)
{
	struct ctx *c = user;
	(void)m;
	if (reason < RD_PFSYNC_STAT_BADVAL || reason >= RD_PFSYNC_STAT_COUNT ||
	    off < RD_PFSYNC_HDR_LEN + RD_PFSYNC_SUBHDR_LEN)
		abort();
	c->refused++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_pfsync_stats st;
	struct rd_pfsync_info info;
	struct ctx c = {0};
	int checked, rc;
	uint64_t refused = 0;

	memset(&st, 0, sizeof(st));
	checked = rd_pfsync_check(data, size, NULL);
	rc = rd_pfsync_decode_each(data, size, &st, &info, on_msg, on_refused, &c);
	if (rc != checked)
		abort();
	if (rc != 0 && (c.n != 0 || c.refused != 0 || st.count[info.reason] != 1))
		abort();
	for (int r = RD_PFSYNC_STAT_BADVAL; r < RD_PFSYNC_STAT_COUNT; r++)
		refused += st.count[r];
	if (rc == 0 && (c.n != info.messages || c.refused != info.refused || refused != c.refused ||
	                st.count[RD_PFSYNC_STAT_MESSAGES] != c.n))
		abort();
	return 0;
}
