/* Unit tests for the sync engine: tables kept in step through pfsync packets. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/sync.h"
#include "redund/sync_engine.h"
#include "redund/sync_carry.h"

#include "golden.h"

#define MAXN   4
#define QMAX   4096
#define CLIENT 0x0a000001u
#define SERVER 0xc0a80002u

struct node;

struct wire {
	uint32_t from;
	size_t len;
	uint8_t buf[9000];
};

struct net {
	struct node *nodes[MAXN];
	size_t n;
	struct wire q[QMAX];
	size_t nq;
	bool drop_all;
	uint32_t mute; /* bit i: node i's packets reach nobody (it died) */
	uint32_t deaf; /* bit i: node i receives nothing */
};

struct node {
	struct net *net;
	uint32_t idx;
	uint64_t rng;
	struct rd_state_table *t;
	struct rd_sync_engine *e;
	int demotion;
	unsigned demote_up, demote_down; /* cb.demote calls with delta > 0, < 0 */
	uint64_t released[16];
	bool released_acked[16];
	size_t nreleased;
	unsigned updates; /* table UPDATE events */
	/* Named answerers (node_named): whom we ask, by attempt; ready to answer? */
	uint32_t targets[4];
	size_t ntargets;
	bool not_ready;
	unsigned ready_asked;
	bool nobody_better;   /* bulk_defer: no member is better placed to answer */
	rd_time_t wait_until; /* bulk_target says TARGET_WAIT before then */
	unsigned target_asked;
};

/* Settings for the next node_new (bulk pacing and retries; 0: defaults). */
static unsigned next_bulk_packets, next_bulk_tries;
static rd_time_t next_bulk_interval, next_bulk_timeout;
static bool next_named;

/* attempt -> targets[attempt / 2], the last one repeated (the carry's rule). */
static uint32_t on_bulk_target(void *user, unsigned attempt, rd_time_t now)
{
	struct node *nd = user;
	size_t i = attempt / 2;
	nd->target_asked++;
	if (now < nd->wait_until)
		return RD_SYNC_ENGINE_TARGET_WAIT;
	if (nd->ntargets == 0)
		return 0;
	return nd->targets[i < nd->ntargets ? i : nd->ntargets - 1];
}

static bool on_bulk_defer(void *user, rd_time_t now)
{
	struct node *nd = user;
	(void)now;
	return !nd->nobody_better;
}

static bool on_bulk_ready(void *user, rd_time_t since, rd_time_t now)
{
	struct node *nd = user;
	(void)since;
	(void)now;
	nd->ready_asked++;
	return !nd->not_ready;
}

static void rng(void *user, void *buf, size_t len)
{
	uint64_t *s = user;
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++) {
		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		b[i] = (uint8_t)(*s >> 56);
	}
}

static void on_event(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	struct node *nd = user;
	if (ev == RD_STATE_EV_UPDATE)
		nd->updates++;
	if (nd->e != NULL)
		rd_sync_engine_state_event(nd->e, st, ev, why, now);
}

/* When set, on_send asks for a bulk (1 join, 2 repair) once, from inside cb.send. */
static int ask_in_send;

static void on_send(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct node *nd = user;
	struct net *net = nd->net;
	if (ask_in_send != 0) {
		int what = ask_in_send;
		ask_in_send = 0;
		if (what == 1)
			rd_sync_engine_bulk_request(nd->e, now);
		else
			rd_sync_engine_bulk_repair(nd->e, now);
	}
	ck_assert_uint_lt(net->nq, QMAX);
	ck_assert_uint_le(len, sizeof(net->q[0].buf));
	net->q[net->nq].from = nd->idx;
	net->q[net->nq].len = len;
	memcpy(net->q[net->nq].buf, pkt, len);
	net->nq++;
}

static void on_demote(void *user, int delta, rd_time_t now)
{
	struct node *nd = user;
	(void)now;
	nd->demotion += delta;
	if (delta > 0)
		nd->demote_up++;
	else
		nd->demote_down++;
	/* The level the engine reports is already the new one. */
	ck_assert_int_eq(rd_sync_engine_demotion(nd->e), nd->demotion);
}

/* When set, on_release tries to give this packet to the engine again. */
static const uint8_t *reenter_pkt;
static size_t reenter_len;
static int reenter_rc;

static void on_release(void *user, uint64_t token, bool acked, rd_time_t now)
{
	struct node *nd = user;
	if (reenter_pkt != NULL)
		reenter_rc = rd_sync_engine_input(nd->e, reenter_pkt, reenter_len, now);
	ck_assert_uint_lt(nd->nreleased, 16);
	nd->released[nd->nreleased] = token;
	nd->released_acked[nd->nreleased++] = acked;
}

static bool reconcile_all;
static bool trusted_all;
static rd_time_t next_tombstone; /* 0: the default */
static unsigned node_maxupd;     /* 0: the default */

static struct node *node_new(struct net *net, size_t mtu)
{
	struct node *nd = calloc(1, sizeof(*nd));
	struct rd_state_config sc;
	struct rd_sync_engine_config ec;

	nd->net = net;
	nd->idx = (uint32_t)net->n;
	nd->rng = 1000 + net->n;
	rd_state_config_default(&sc);
	sc.random.fn = rng;
	sc.random.user = &nd->rng;
	sc.cb.event = on_event;
	sc.cb.user = nd;
	sc.limit = 200000;
	ck_assert_int_eq(rd_state_table_new(&sc, &nd->t), 0);
	memset(&ec, 0, sizeof(ec));
	ec.table = nd->t;
	ec.mtu = mtu;
	ec.cb.send = on_send;
	ec.cb.demote = on_demote;
	ec.cb.release = on_release;
	ec.cb.user = nd;
	ec.bulk_reconcile = reconcile_all;
	ec.trusted = trusted_all;
	ec.tombstone = next_tombstone;
	ec.bulk_packets = next_bulk_packets;
	ec.bulk_interval = next_bulk_interval;
	ec.bulk_req_tries = next_bulk_tries;
	ec.bulk_timeout = next_bulk_timeout;
	if (next_named) {
		ec.cb.bulk_target = on_bulk_target;
		ec.cb.bulk_ready = on_bulk_ready;
		ec.cb.bulk_defer = on_bulk_defer;
	}
	ec.maxupd = node_maxupd;
	ck_assert_int_eq(rd_sync_engine_new(&ec, &nd->e), 0);
	net->nodes[net->n++] = nd;
	return nd;
}

static struct net *net_new(size_t nodes)
{
	struct net *net = calloc(1, sizeof(*net));
	for (size_t i = 0; i < nodes; i++)
		node_new(net, 0);
	return net;
}

static void net_free(struct net *net)
{
	for (size_t i = 0; i < net->n; i++) {
		rd_sync_engine_free(net->nodes[i]->e);
		net->nodes[i]->e = NULL;
		rd_state_table_free(net->nodes[i]->t, 0);
		free(net->nodes[i]);
	}
	free(net);
}

/* Delivers queued packets (and the answers they cause) to every other node. */
static size_t net_pump(struct net *net, rd_time_t now)
{
	size_t carried = 0;
	for (size_t i = 0; i < net->nq; i++) {
		struct wire *w = &net->q[i];
		carried++;
		if (net->drop_all || (net->mute & (1u << w->from)))
			continue;
		for (size_t j = 0; j < net->n; j++)
			if (j != w->from && !(net->deaf & (1u << j)))
				ck_assert_int_eq(
				    rd_sync_engine_input(net->nodes[j]->e, w->buf, w->len, now), 0);
	}
	net->nq = 0;
	return carried;
}

static void net_run(struct net *net, rd_time_t from, rd_time_t to)
{
	rd_time_t now = from;
	while (now <= to) {
		rd_time_t next = RD_TIME_NEVER;
		for (size_t i = 0; i < net->n; i++) {
			rd_sync_engine_handle_expiry(net->nodes[i]->e, now);
			rd_time_t t = rd_sync_engine_expiry(net->nodes[i]->e);
			if (t < next)
				next = t;
		}
		net_pump(net, now);
		for (size_t i = 0; i < net->n; i++) {
			rd_time_t t = rd_sync_engine_expiry(net->nodes[i]->e);
			if (t < next)
				next = t;
		}
		if (next <= now)
			next = now + 1;
		now = next;
	}
}

static struct rd_state_pkt pkt(uint8_t proto, unsigned dir, uint32_t src, uint16_t sport,
                               uint32_t dst, uint16_t dport)
{
	struct rd_state_pkt p;
	memset(&p, 0, sizeof(p));
	p.af = RD_AF_INET;
	p.proto = proto;
	p.dir = (uint8_t)dir;
	p.src = rd_addr_v4(src);
	p.dst = rd_addr_v4(dst);
	p.sport = sport;
	p.dport = dport;
	p.wscale = -1;
	p.tot_len = 60;
	return p;
}

static struct rd_state *udp_state(struct node *nd, uint16_t sport, rd_time_t now)
{
	struct rd_state_pkt p = pkt(17, RD_STATE_OUT, CLIENT, sport, SERVER, 53);
	struct rd_state_opts o = {.rule = 0};
	struct rd_state *st = NULL;
	ck_assert_int_eq(rd_state_create(nd->t, &p, &o, now, &st), 0);
	return st;
}

static struct rd_state *tcp_state(struct node *nd, uint16_t sport, rd_time_t now)
{
	struct rd_state_pkt p = pkt(6, RD_STATE_OUT, CLIENT, sport, SERVER, 80);
	struct rd_state_opts o = {.rule = 0};
	struct rd_state *st = NULL;
	p.tcp_flags = RD_TH_SYN;
	p.seq = 1000;
	p.win = 65535;
	ck_assert_int_eq(rd_state_create(nd->t, &p, &o, now, &st), 0);
	return st;
}

/* One counter of an engine (enum rd_sync_engine_stat). */
static uint64_t eng_stat(const struct rd_sync_engine *e, int which)
{
	uint64_t s[RD_SYNC_ENGINE_STAT_COUNT];

	rd_sync_engine_stats(e, s);
	return s[which];
}

/* One counter of a channel (enum rd_sync_stat). */
static uint64_t chan_stat(const struct rd_sync_channel *ch, int which)
{
	uint64_t s[RD_SYNC_STAT_COUNT];

	rd_sync_channel_stats(ch, s);
	return s[which];
}

/* One pfsync decoder counter of an engine (enum rd_pfsync_stat). */
static uint64_t pfsync_stat(const struct rd_sync_engine *e, int which)
{
	uint64_t s[RD_PFSYNC_STAT_COUNT];

	rd_sync_engine_pfsync_stats(e, s);
	return s[which];
}

static uint64_t estat(struct node *nd, int s)
{
	return eng_stat(nd->e, s);
}

START_TEST(insert_reaches_peer_within_flush_delay)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);

	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), 2 * RD_SEC);
	ck_assert_uint_eq(net_pump(net, RD_SEC), 0);
	rd_sync_engine_handle_expiry(a->e, 2 * RD_SEC);
	ck_assert_uint_eq(net_pump(net, 2 * RD_SEC), 1);
	struct rd_state *got = rd_state_find_id(b->t, st->id, st->creatorid, 2 * RD_SEC);
	ck_assert_ptr_nonnull(got);
	ck_assert(got->flags & RD_STATE_F_REMOTE);
	ck_assert(got->flags & RD_STATE_F_OUT);
	ck_assert_mem_eq(&got->key, &st->key, sizeof(st->key));
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_INSERTS), 1);
	/* A state that came from a peer is not sent back as ours. */
	ck_assert_uint_eq(rd_sync_engine_expiry(b->e), RD_TIME_NEVER);
	net_free(net);
}
END_TEST

START_TEST(insert_then_delete_before_flush_sends_nothing)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);

	rd_state_remove(a->t, st, RD_SEC + 1);
	rd_sync_engine_handle_expiry(a->e, 3 * RD_SEC);
	ck_assert_uint_eq(net_pump(net, 3 * RD_SEC), 0);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_PKTS_OUT), 0);
	net_free(net);
}
END_TEST

START_TEST(update_and_delete_follow_the_state)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);
	uint64_t id = st->id;
	uint32_t cid = st->creatorid;
	struct rd_state_result res;

	net_run(net, RD_SEC, 3 * RD_SEC);
	/* The reply moves the state's dst side forward. */
	struct rd_state_pkt reply = pkt(17, RD_STATE_IN, SERVER, 53, CLIENT, 5000);
	ck_assert_uint_eq(st->dst.state, RD_UDPS_NO_TRAFFIC);
	ck_assert_int_eq(rd_state_packet(a->t, &reply, 4 * RD_SEC, &res), RD_STATE_PASS);
	ck_assert_uint_ne(st->dst.state, RD_UDPS_NO_TRAFFIC);
	net_run(net, 4 * RD_SEC, 6 * RD_SEC);
	struct rd_state *got = rd_state_find_id(b->t, id, cid, 6 * RD_SEC);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->dst.state, st->dst.state);
	ck_assert_uint_eq(got->src.state, st->src.state);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_UPDATES), 1);
	rd_state_remove(a->t, st, 7 * RD_SEC);
	net_run(net, 7 * RD_SEC, 9 * RD_SEC);
	ck_assert_ptr_null(rd_state_find_id(b->t, id, cid, 9 * RD_SEC));
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_DELETES), 1);
	ck_assert_uint_eq(rd_state_count(b->t), 0);
	net_free(net);
}
END_TEST

START_TEST(states_pack_five_to_a_1500_byte_packet)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];

	for (uint16_t i = 0; i < 20; i++)
		udp_state(a, (uint16_t)(6000 + i), RD_SEC);
	/* Four packets' worth: sent without waiting for the timer. */
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), RD_SEC);
	rd_sync_engine_handle_expiry(a->e, RD_SEC);
	for (size_t i = 0; i < net->nq; i++)
		ck_assert_uint_le(net->q[i].len, 1480);
	ck_assert_uint_eq(net_pump(net, RD_SEC), 4);
	ck_assert_uint_eq(rd_state_count(b->t), 20);
	net_free(net);
}
END_TEST

START_TEST(unknown_state_update_is_requested_and_answered)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);
	struct rd_state_result res;

	/* b never hears the insert. */
	net->drop_all = true;
	net_run(net, RD_SEC, 3 * RD_SEC);
	net->drop_all = false;
	struct rd_state_pkt reply = pkt(17, RD_STATE_IN, SERVER, 53, CLIENT, 5000);
	ck_assert_int_eq(rd_state_packet(a->t, &reply, 4 * RD_SEC, &res), RD_STATE_PASS);
	net_run(net, 4 * RD_SEC, 6 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_REQS_SENT), 1);
	struct rd_state *got = rd_state_find_id(b->t, st->id, st->creatorid, 6 * RD_SEC);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_ne(got->dst.state, RD_UDPS_NO_TRAFFIC);
	ck_assert_uint_eq(got->dst.state, st->dst.state);
	net_free(net);
}
END_TEST

/* An UPD_C for (id, cid) with the given TCP peers, built by hand. */
static size_t upd_c_pkt(uint8_t *buf, uint64_t id, uint32_t cid, const struct rd_state_peer *src,
                        const struct rd_state_peer *dst)
{
	struct rd_pfsync_builder b;
	struct rd_pfsync_msg m;

	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD_C;
	m.u.upd_c.id = id;
	m.u.upd_c.creatorid = cid;
	m.u.upd_c.src.seqlo = src->seqlo;
	m.u.upd_c.src.seqhi = src->seqhi;
	m.u.upd_c.src.state = src->state;
	m.u.upd_c.dst.seqlo = dst->seqlo;
	m.u.upd_c.dst.seqhi = dst->seqhi;
	m.u.upd_c.dst.state = dst->state;
	m.u.upd_c.timeout = RD_STATE_TM_TCP_OPENING;
	rd_pfsync_builder_init(&b, buf, 1480);
	rd_pfsync_builder_add(&b, &m);
	return rd_pfsync_builder_finish(&b);
}

START_TEST(stale_update_is_answered_with_our_newer_state)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state *st = tcp_state(a, 7000, RD_SEC);
	uint8_t buf[1500];

	net_run(net, RD_SEC, 3 * RD_SEC);
	struct rd_state *bs = rd_state_find_id(b->t, st->id, st->creatorid, 3 * RD_SEC);
	ck_assert_ptr_nonnull(bs);
	/* An update older than what a has (lower src seqlo, same state). */
	struct rd_state_peer src = st->src, dst = st->dst;
	uint32_t ours = st->src.seqlo;
	src.seqlo -= 500;
	size_t len = upd_c_pkt(buf, st->id, st->creatorid, &src, &dst);
	ck_assert_int_eq(rd_sync_engine_input(a->e, buf, len, 4 * RD_SEC), 0);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_STALE), 1);
	ck_assert_uint_eq(st->src.seqlo, ours); /* kept ours */
	/* ... and sent ours back at once. */
	ck_assert_uint_eq(net->nq, 1);
	ck_assert_uint_eq(net->q[0].buf[20], RD_PFSYNC_ACT_UPD_C);
	net->nq = 0;
	/* A newer one is taken. */
	src.seqlo = st->src.seqlo + 100;
	len = upd_c_pkt(buf, st->id, st->creatorid, &src, &dst);
	ck_assert_int_eq(rd_sync_engine_input(a->e, buf, len, 5 * RD_SEC), 0);
	ck_assert_uint_eq(st->src.seqlo, src.seqlo);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_UPDATES), 1);
	net_free(net);
}
END_TEST

START_TEST(update_of_state_touched_by_peer_goes_at_once)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);
	struct rd_state_result res;

	net_run(net, RD_SEC, 2 * RD_SEC);
	/* b forwards a packet of the flow right after learning it. */
	struct rd_state_pkt reply = pkt(17, RD_STATE_IN, SERVER, 53, CLIENT, 5000);
	ck_assert_ptr_nonnull(rd_state_find_id(b->t, st->id, st->creatorid, 2 * RD_SEC));
	ck_assert_int_eq(rd_state_packet(b->t, &reply, 2 * RD_SEC + 10, &res), RD_STATE_PASS);
	ck_assert_uint_eq(rd_sync_engine_expiry(b->e), 2 * RD_SEC + 10);
	net_free(net);
}
END_TEST

START_TEST(tcp_updates_flush_after_maxupd)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0];
	struct rd_state *st = tcp_state(a, 7000, RD_SEC);

	net_run(net, RD_SEC, 3 * RD_SEC);
	/* The first update queues an UPD_C; 128 more coalesced ones flush. */
	for (int i = 0; i < 129; i++) {
		rd_sync_engine_state_event(a->e, st, RD_STATE_EV_UPDATE, 0, 4 * RD_SEC);
		if (i < 128)
			ck_assert_uint_eq(rd_sync_engine_expiry(a->e), 5 * RD_SEC);
	}
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), 4 * RD_SEC);
	net_free(net);
}
END_TEST

START_TEST(bulk_update_copies_table_and_holds_demotion)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];

	for (uint32_t i = 0; i < 1000; i++)
		udp_state(a, (uint16_t)(10000 + i), RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0; /* b was not there */
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC);
	ck_assert_int_eq(b->demotion, 32);
	ck_assert(rd_sync_engine_bulk_pending(b->e));
	net_run(net, 2 * RD_SEC, 3 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 1000);
	ck_assert_int_eq(b->demotion, 0);
	ck_assert(!rd_sync_engine_bulk_pending(b->e));
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 1000);
	net_free(net);
}
END_TEST

/*
 * Three members hold the same 100 states; c asks for a bulk (UPD_REQ 0/0
 * goes to everyone) and both a and b answer. Each answer passes every
 * member: the copies carry nothing new to anyone, so nothing is applied
 * again (counted unchanged; no table event, so a mirror writes nothing).
 * Before, every member rewrote the whole table for each other's answer.
 */
START_TEST(bulk_copy_with_nothing_new_changes_nothing)
{
	struct net *net = net_new(3);
	struct node *a = net->nodes[0], *b = net->nodes[1], *c = net->nodes[2];

	for (uint32_t i = 0; i < 100; i++)
		udp_state(a, (uint16_t)(10000 + i), RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net_pump(net, RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 100);
	ck_assert_uint_eq(rd_state_count(c->t), 100);
	a->updates = b->updates = c->updates = 0;
	rd_sync_engine_bulk_repair(c->e, 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 3 * RD_SEC);
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 100);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_SENT), 100);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_UNCHANGED), 100); /* a's answer */
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_UNCHANGED), 100); /* b's answer */
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_UNCHANGED), 200);
	ck_assert_uint_eq(a->updates + b->updates + c->updates, 0);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_UPDATES), 0);
	ck_assert_uint_eq(rd_state_count(c->t), 100);
	net_free(net);
}
END_TEST

static size_t msg_pkt(uint8_t *buf, const struct rd_pfsync_msg *m)
{
	struct rd_pfsync_builder b;

	rd_pfsync_builder_init(&b, buf, 1480);
	rd_pfsync_builder_add(&b, m);
	return rd_pfsync_builder_finish(&b);
}

/*
 * 500 bulk requests in a second (18 KB from anyone on a plain link): the
 * answers start at least RD_SYNC_ENGINE_BULK_SPACING apart, so the node
 * sends its table twice (the first answer, and one for the requests that
 * came while it ran), not 500 times.
 */
START_TEST(bulk_request_flood_costs_one_table_a_second)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0];
	struct rd_pfsync_msg m;
	uint8_t buf[1480];
	size_t len;

	for (uint32_t i = 0; i < 50; i++)
		udp_state(a, (uint16_t)(10000 + i), RD_SEC);
	net_run(net, RD_SEC, 2 * RD_SEC);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD_REQ; /* id 0, creatorid 0: a bulk request */
	len = msg_pkt(buf, &m);
	for (int i = 0; i < 500; i++) {
		rd_time_t t = 2 * RD_SEC + (rd_time_t)i * 2 * RD_MSEC;
		ck_assert_int_eq(rd_sync_engine_input(a->e, buf, len, t), 0);
		net_run(net, t, t + 2 * RD_MSEC);
	}
	net_run(net, 3 * RD_SEC, 3 * RD_SEC + 500 * RD_MSEC);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 2 * 50);
	ck_assert_uint_ge(estat(a, RD_SYNC_ENGINE_STAT_BULK_SPACED), 1);
	net_free(net);
}
END_TEST

/* n UDP states made on nd at now, source ports port0, port0 + 1, ... */
static void udp_states(struct node *nd, int n, uint16_t port0, rd_time_t now)
{
	for (int i = 0; i < n; i++)
		udp_state(nd, (uint16_t)(port0 + i), now);
}

/* Runs the net from..to while node `deaf` hears nothing (it misses what is made). */
static void deaf_run(struct net *net, struct node *deaf, rd_time_t from, rd_time_t to)
{
	net->deaf = 1u << deaf->idx;
	net_run(net, from, to);
	net->deaf = 0;
}

/*
 * c missed a's update of 50 states (their replies at 10 s: udp.single, 30 s)
 * and repairs at 25 s: a's bulk answer carries them, moved, with a's 15 s
 * left, and c keeps that time. When b repairs at 32 s, no answer (a's, c's)
 * carries anything new for anyone. Before, c took a fresh 30 s at 25 s, so
 * its copies held 15 s more than a's and b's; both applied c's answer (100
 * updates: with an external table, 100 kernel writes), and the next answer
 * from either spread its fresh times on: a cluster's restarts rewrote more
 * of the table each time.
 */
START_TEST(applied_state_keeps_the_senders_time_next_bulk_changes_nothing)
{
	struct net *net = net_new(3);
	struct node *a = net->nodes[0], *b = net->nodes[1], *c = net->nodes[2];
	struct rd_state_result res;
	struct rd_state_iter it;
	struct rd_state *st;
	uint64_t ua, ub, uc;

	udp_states(a, 50, 10000, RD_SEC);
	net_run(net, RD_SEC, 3 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(c->t), 50);
	for (int i = 0; i < 50; i++) {
		struct rd_state_pkt reply =
		    pkt(17, RD_STATE_IN, SERVER, 53, CLIENT, (uint16_t)(10000 + i));
		ck_assert_int_eq(rd_state_packet(a->t, &reply, 10 * RD_SEC, &res), RD_STATE_PASS);
	}
	deaf_run(net, c, 10 * RD_SEC, 12 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_UPDATES), 50);
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_UPDATES), 0);
	rd_sync_engine_bulk_repair(c->e, 25 * RD_SEC);
	net_run(net, 25 * RD_SEC, 27 * RD_SEC);
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_UPDATES), 50); /* one answer applied */
	rd_state_iter_init(&it);
	while ((st = rd_state_iter_next(c->t, &it)) != NULL) {
		struct rd_state *sa = rd_state_find_id(a->t, st->id, st->creatorid, 27 * RD_SEC);
		rd_time_t ec = rd_state_expires(c->t, st), ea;

		ck_assert_ptr_nonnull(sa);
		ck_assert_uint_eq(st->dst.state, sa->dst.state);
		ea = rd_state_expires(a->t, sa);
		ck_assert_uint_le(ec > ea ? ec - ea : ea - ec, 2 * RD_SEC);
	}
	ua = estat(a, RD_SYNC_ENGINE_STAT_UPDATES);
	ub = estat(b, RD_SYNC_ENGINE_STAT_UPDATES);
	uc = estat(c, RD_SYNC_ENGINE_STAT_UPDATES);
	a->updates = b->updates = c->updates = 0;
	rd_sync_engine_bulk_repair(b->e, 32 * RD_SEC);
	net_run(net, 32 * RD_SEC, 34 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_UPDATES), ua);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_UPDATES), ub);
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_UPDATES), uc);
	ck_assert_uint_eq(a->updates + b->updates + c->updates, 0);
	ck_assert_uint_eq(rd_state_count(b->t), 50);
	net_free(net);
}
END_TEST

/* nd's bulk requests name `target` (node_named's bulk_target). */
static void name_target(struct node *nd, const struct node *target)
{
	nd->targets[0] = rd_state_creatorid(target->t);
	nd->ntargets = 1;
}

/* A net of n named-answerer nodes (cb.bulk_target, cb.bulk_ready). */
static struct net *net_named(size_t n)
{
	struct net *net;

	next_named = true;
	net = net_new(n);
	next_named = false;
	return net;
}

static uint32_t cid(const struct node *nd)
{
	return rd_state_creatorid(nd->t);
}

/*
 * A bulk request naming one member is answered by that member alone, with
 * every state it holds (its own and the others'); the others count it
 * bulk_others and send nothing.
 */
START_TEST(named_answerer_alone_answers_with_its_whole_table)
{
	struct net *net = net_named(3);
	struct node *a = net->nodes[0], *b = net->nodes[1], *c = net->nodes[2];

	udp_states(a, 50, 1000, RD_SEC);
	udp_states(c, 30, 2000, RD_SEC);
	deaf_run(net, b, RD_SEC, 3 * RD_SEC); /* b misses them */
	ck_assert_uint_eq(rd_state_count(a->t), 80);
	ck_assert_uint_eq(rd_state_count(b->t), 0);
	name_target(b, a);
	rd_sync_engine_bulk_request(b->e, 4 * RD_SEC);
	net_run(net, 4 * RD_SEC, 6 * RD_SEC);
	ck_assert(!rd_sync_engine_bulk_pending(b->e));
	ck_assert_uint_eq(rd_state_count(b->t), 80);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 80);
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_BULK_SENT), 0);
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_BULK_OTHERS), 1);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(b->demote_up, 1);
	ck_assert_uint_eq(b->demote_down, 1);
	net_free(net);
}
END_TEST

/*
 * The named answerer dies mid-bulk: no state arrives for bulk_stall, so
 * the request is made again, naming the next member, with the join's
 * demotion held until that one's BUS END; then every state is there.
 */
START_TEST(stalled_answer_is_asked_again_of_the_next_member)
{
	struct net *net;
	struct node *a, *b, *c;

	next_bulk_packets = 1;
	next_bulk_interval = 10 * RD_MSEC; /* 5 states a 10 ms: 600 take 1.2 s */
	net = net_named(3);
	next_bulk_packets = 0;
	next_bulk_interval = 0;
	a = net->nodes[0];
	b = net->nodes[1];
	c = net->nodes[2];
	udp_states(a, 600, 1000, RD_SEC);
	deaf_run(net, b, RD_SEC, 3 * RD_SEC); /* b misses them */
	ck_assert_uint_eq(rd_state_count(c->t), 600);
	b->targets[0] = cid(a);
	b->targets[1] = cid(c);
	b->ntargets = 2;
	rd_sync_engine_bulk_request(b->e, 4 * RD_SEC);
	net_run(net, 4 * RD_SEC, 4 * RD_SEC + 300 * RD_MSEC);
	ck_assert_uint_gt(rd_state_count(b->t), 0);
	ck_assert_uint_lt(rd_state_count(b->t), 600);
	net->mute = 1u << 0; /* a dies */
	net_run(net, 4 * RD_SEC + 300 * RD_MSEC, 4 * RD_SEC + 300 * RD_MSEC + 9 * RD_SEC);
	ck_assert(rd_sync_engine_bulk_pending(b->e)); /* 10 s of stall not yet over */
	ck_assert_int_eq(b->demotion, 32);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_STALLED), 0);
	net_run(net, 14 * RD_SEC, 30 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_STALLED), 1);
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_BULK_SENT), 600);
	ck_assert_uint_eq(rd_state_count(b->t), 600);
	ck_assert(!rd_sync_engine_bulk_pending(b->e));
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_FAIL), 0);
	ck_assert_uint_eq(b->demote_up, 1);
	ck_assert_uint_eq(b->demote_down, 1);
	net_free(net);
}
END_TEST

/*
 * An answer starts only when bulk_ready says so (what was in flight to the
 * answerer when the request came has arrived), polled, counted once; it
 * waits at most RD_SYNC_ENGINE_READY_MAX.
 */
START_TEST(answer_waits_for_bulk_ready_at_most_ready_max)
{
	struct net *net = net_named(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];

	udp_states(a, 10, 1000, RD_SEC);
	deaf_run(net, b, RD_SEC, 2 * RD_SEC); /* b misses them */
	name_target(b, a);
	a->not_ready = true;
	rd_sync_engine_bulk_request(b->e, 3 * RD_SEC);
	net_run(net, 3 * RD_SEC, 3 * RD_SEC + 500 * RD_MSEC);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 0);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_WAITED), 1);
	ck_assert_uint_ge(a->ready_asked, 40); /* every 10 ms */
	a->not_ready = false;
	net_run(net, 3 * RD_SEC + 500 * RD_MSEC, 4 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 10);
	ck_assert(!rd_sync_engine_bulk_pending(b->e));
	/* Never ready: the answer goes after 3 s all the same. */
	a->not_ready = true;
	rd_sync_engine_bulk_repair(b->e, 10 * RD_SEC);
	net_run(net, 10 * RD_SEC, 12 * RD_SEC + 900 * RD_MSEC);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 10);
	ck_assert(rd_sync_engine_bulk_pending(b->e));
	net_run(net, 12 * RD_SEC + 900 * RD_MSEC, 14 * RD_SEC);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 20);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_WAITED), 2);
	ck_assert(!rd_sync_engine_bulk_pending(b->e));
	net_free(net);
}
END_TEST

/* Three named-answerer nodes whose requests give up after two tries. */
static struct net *trio_of_two_tries(struct node **a, struct node **b, struct node **c)
{
	struct net *net;

	next_bulk_tries = 2;
	net = net_named(3);
	next_bulk_tries = 0;
	*a = net->nodes[0];
	*b = net->nodes[1];
	*c = net->nodes[2];
	return net;
}

/*
 * a's own request runs, failing from `from` to `to` (c is dead): a held its
 * answer back until then (bulk_deferred 1, nothing sent), and sent its 10
 * states once its request had failed.
 */
static void assert_answer_waits_for_our_failing_request(struct net *net, struct node *a,
                                                        rd_time_t from, rd_time_t to)
{
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_DEFERRED), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 0);
	ck_assert(rd_sync_engine_bulk_pending(a->e));
	net_run(net, from, to);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_FAIL), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 10);
}

/*
 * A named answerer whose own request runs (its table lacks what it asked
 * for) answers once that request has ended, here by failing.
 */
START_TEST(request_while_our_own_runs_is_answered_after_it)
{
	struct net *net;
	struct node *a, *b, *c;

	net = trio_of_two_tries(&a, &b, &c);
	udp_states(a, 10, 1000, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0;         /* b and c missed them */
	net->mute = 1u << 2; /* c is dead: a's own request gets no answer */
	name_target(a, c);
	rd_sync_engine_bulk_request(a->e, 2 * RD_SEC); /* a join: it names c */
	name_target(b, a);
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC + RD_MSEC);
	net_run(net, 2 * RD_SEC + RD_MSEC, 5 * RD_SEC);
	/* a's fails at 9 s (2 named tries 3.5 s apart) */
	assert_answer_waits_for_our_failing_request(net, a, 5 * RD_SEC, 11 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 10);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	net_free(net);
}
END_TEST

/*
 * A repair (a request to every member, 0/0) reaching a member whose own
 * join runs: every member reconciles the answerer's states against its
 * answer, and a joining member's table may lack even its own (syncd reads
 * them from the kernel when the join ends), so the others would delete
 * them. Its answer waits until its join ended, here by failing, while
 * another member may answer (bulk_defer true: the carry's says so while a
 * live member is not joining). Before, a answered at once (bulk_deferred 0).
 */
START_TEST(repair_reaching_a_joining_member_is_answered_after_its_join)
{
	struct net *net;
	struct node *a, *b, *c;

	net = trio_of_two_tries(&a, &b, &c);
	udp_states(a, 10, 1000, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net_run(net, RD_SEC, 2 * RD_SEC); /* b and c hold a's 10 */
	ck_assert_uint_eq(rd_state_count(c->t), 10);
	net->mute = 1u << 2; /* c does not answer a's join */
	name_target(a, c);
	rd_sync_engine_bulk_request(a->e, 3 * RD_SEC);
	net->mute = 0;
	rd_sync_engine_bulk_repair(b->e, 3 * RD_SEC + RD_MSEC);
	net->mute = 1u << 2;
	net_run(net, 3 * RD_SEC + RD_MSEC, 5 * RD_SEC);
	/* a's join fails at 10 s */
	assert_answer_waits_for_our_failing_request(net, a, 5 * RD_SEC, 12 * RD_SEC);
	net_free(net);
}
END_TEST

/*
 * Members started together all ask: nobody is better placed (bulk_defer
 * false), so a member whose own request runs answers at once, and again
 * once its own request ended (what it lacked then may have come since).
 */
START_TEST(request_while_our_own_runs_goes_at_once_when_nobody_is_better_placed)
{
	struct net *net;
	struct node *a, *b, *c;

	net = trio_of_two_tries(&a, &b, &c);
	a->nobody_better = true;
	udp_states(a, 10, 1000, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0;
	net->mute = 1u << 2; /* c is dead: a's own request gets no answer */
	name_target(a, c);
	rd_sync_engine_bulk_request(a->e, 2 * RD_SEC); /* a join: it names c */
	name_target(b, a);
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC + RD_MSEC);
	net_run(net, 2 * RD_SEC + RD_MSEC, 3 * RD_SEC);
	ck_assert(rd_sync_engine_bulk_pending(a->e));
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_DEFERRED), 0);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 10);
	ck_assert_uint_eq(rd_state_count(b->t), 10);
	net_run(net, 3 * RD_SEC, 11 * RD_SEC); /* a's request fails at 9 s */
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_FAIL), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_AGAIN), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 20);
	net_free(net);
}
END_TEST

/*
 * No peer heard yet (TARGET_WAIT): the request is not sent, no try is used,
 * and the answerer is asked for again every RD_SYNC_ENGINE_TARGET_POLL; then
 * one member answers.
 */
START_TEST(request_waits_while_no_answerer_is_known)
{
	struct net *net;
	struct node *a, *b;

	next_bulk_tries = 1;
	net = net_named(2);
	next_bulk_tries = 0;
	a = net->nodes[0];
	b = net->nodes[1];
	udp_states(a, 10, 1000, RD_SEC);
	deaf_run(net, b, RD_SEC, 2 * RD_SEC); /* b misses them */
	name_target(b, a);
	b->wait_until = 2 * RD_SEC + 500 * RD_MSEC;
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 2 * RD_SEC + 490 * RD_MSEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_PKTS_OUT), 0);
	ck_assert_uint_ge(b->target_asked, 20); /* every 20 ms */
	ck_assert(rd_sync_engine_bulk_pending(b->e));
	ck_assert_int_eq(b->demotion, 32);
	net_run(net, 2 * RD_SEC + 490 * RD_MSEC, 4 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 10); /* one try was left: not used up */
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	net_free(net);
}
END_TEST

/*
 * A repair outside a join (messages lost for good) asks every member, so
 * that the creators of what was lost answer too; the join's named member
 * is not asked for it.
 */
START_TEST(repair_outside_a_join_asks_every_member)
{
	struct net *net = net_named(3);
	struct node *a = net->nodes[0], *b = net->nodes[1], *c = net->nodes[2];

	udp_states(a, 5, 1000, RD_SEC);
	udp_states(c, 7, 2000, RD_SEC);
	deaf_run(net, b, RD_SEC, 2 * RD_SEC); /* b misses them */
	name_target(b, a);
	rd_sync_engine_bulk_repair(b->e, 3 * RD_SEC);
	net_run(net, 3 * RD_SEC, 5 * RD_SEC);
	ck_assert_uint_eq(b->target_asked, 0);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 12);
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_BULK_SENT), 12);
	ck_assert_uint_eq(rd_state_count(b->t), 12);
	ck_assert_uint_eq(b->demote_up, 0);
	net_free(net);
}
END_TEST

/*
 * Whether a better placed member exists is asked again while an answer is
 * deferred (others' requests arrive one by one when members start
 * together): once bulk_defer says no, the answer goes within a poll.
 */
START_TEST(deferred_answer_goes_once_nobody_is_better_placed)
{
	struct net *net;
	struct node *a, *b, *c;

	net = net_named(3);
	a = net->nodes[0];
	b = net->nodes[1];
	c = net->nodes[2];
	udp_states(a, 10, 1000, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0;
	net->mute = 1u << 2; /* c is dead: a's own join gets no answer */
	name_target(a, c);
	rd_sync_engine_bulk_request(a->e, 2 * RD_SEC);
	name_target(b, a);
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC + RD_MSEC);
	net_run(net, 2 * RD_SEC + RD_MSEC, 3 * RD_SEC);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_DEFERRED), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 0);
	a->nobody_better = true;
	net_run(net, 3 * RD_SEC, 3 * RD_SEC + 20 * RD_MSEC);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 10);
	ck_assert_uint_eq(rd_state_count(b->t), 10);
	ck_assert(rd_sync_engine_bulk_pending(a->e));
	net_free(net);
}
END_TEST

/*
 * Issue 13: a peer answering at OpenBSD's pace (one packet every 20 ms,
 * 5 states a packet at mtu 1480) takes 80 s for 20,000 states. The
 * joiner's deadline follows progress (bulk_stall) up to OpenBSD's own bound
 * (4 * limit / 5 / 50 s), so it stays demoted until BUS END and then holds
 * them all. With the old fixed 60 s it gave up and lifted its demotion
 * two thirds of the way through.
 */
static void openbsd_paced_bulk(rd_time_t timeout, bool whole)
{
	struct net *net;
	struct node *a, *b;

	next_bulk_packets = 1;
	next_bulk_interval = 20 * RD_MSEC;
	next_bulk_timeout = timeout;
	net = net_new(2);
	next_bulk_packets = 0;
	next_bulk_interval = 0;
	next_bulk_timeout = 0;
	a = net->nodes[0];
	b = net->nodes[1];
	/* The states outlive the 80 s bulk. */
	for (unsigned w = RD_STATE_TM_UDP_FIRST_PACKET; w <= RD_STATE_TM_UDP_MULTIPLE; w++) {
		ck_assert_int_eq(rd_state_set_timeout(a->t, w, 600), 0);
		ck_assert_int_eq(rd_state_set_timeout(b->t, w, 600), 0);
	}
	for (int i = 0; i < 20000; i++) {
		struct rd_state_pkt p = pkt(17, RD_STATE_OUT, CLIENT + (uint32_t)(i / 10000),
		                            (uint16_t)(1024 + i % 10000), SERVER, 53);
		struct rd_state_opts o = {.rule = 0};
		struct rd_state *st = NULL;
		ck_assert_int_eq(rd_state_create(a->t, &p, &o, RD_SEC, &st), 0);
	}
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0;
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 75 * RD_SEC);
	if (whole) {
		ck_assert(rd_sync_engine_bulk_pending(b->e));
		ck_assert_int_eq(b->demotion, 32);
		ck_assert_uint_lt(rd_state_count(b->t), 20000);
		net_run(net, 75 * RD_SEC, 90 * RD_SEC);
		ck_assert_uint_eq(rd_state_count(b->t), 20000);
		ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
		ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_FAIL), 0);
	} else {
		ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_FAIL), 1);
		ck_assert_uint_lt(rd_state_count(b->t), 20000);
	}
	ck_assert_int_eq(b->demotion, 0);
	ck_assert_uint_eq(b->demote_down, 1);
	net_free(net);
}

START_TEST(openbsd_paced_bulk_of_20000_states_keeps_the_joiner_demoted_until_bus_end)
{
	openbsd_paced_bulk(0, true); /* the default: OpenBSD's bound, 3,200 s at limit 200,000 */
	openbsd_paced_bulk(60 * RD_SEC, false); /* the old fixed bound */
}
END_TEST

/* A BUS message from creatorid cid into e at now. */
static void bus_in(struct rd_sync_engine *e, uint32_t cid, uint8_t status, rd_time_t now)
{
	struct rd_pfsync_msg m;
	uint8_t buf[1480];

	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_BUS;
	m.u.bus.creatorid = cid;
	m.u.bus.status = status;
	ck_assert_int_eq(rd_sync_engine_input(e, buf, msg_pkt(buf, &m), now), 0);
}

/*
 * Our request ends with the END of a bulk that started after it: not with
 * the END of one that was already running (it missed what it sent
 * before), and not only with the first answerer's (one that dies mid-bulk
 * would hold a join for bulk_timeout while another answer ended).
 */
START_TEST(bulk_request_ends_with_any_bulk_that_started_after_it)
{
	struct net *net = net_new(1);
	struct node *c = net->nodes[0];

	bus_in(c->e, 0x111, RD_PFSYNC_BUS_START, RD_SEC); /* running before we ask */
	rd_sync_engine_bulk_request(c->e, 2 * RD_SEC);
	bus_in(c->e, 0x111, RD_PFSYNC_BUS_END, 2 * RD_SEC + 10);
	ck_assert(rd_sync_engine_bulk_pending(c->e));
	bus_in(c->e, 0x222, RD_PFSYNC_BUS_START, 2 * RD_SEC + 20); /* first answer: dies */
	bus_in(c->e, 0x333, RD_PFSYNC_BUS_START, 2 * RD_SEC + 30);
	bus_in(c->e, 0x333, RD_PFSYNC_BUS_END, 2 * RD_SEC + 40);
	ck_assert(!rd_sync_engine_bulk_pending(c->e));
	ck_assert_uint_eq(estat(c, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_int_eq(c->demotion, 0);
	net_free(net);
}
END_TEST

START_TEST(bulk_reconcile_removes_states_whose_delete_was_lost)
{
	struct net *net;
	struct node *a, *b;
	struct rd_state *st[3];

	reconcile_all = true;
	net = net_new(2);
	reconcile_all = false;
	a = net->nodes[0];
	b = net->nodes[1];
	for (int i = 0; i < 3; i++)
		st[i] = udp_state(a, (uint16_t)(5000 + i), RD_SEC);
	udp_state(b, 9000, RD_SEC);
	net_run(net, RD_SEC, 3 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 4);
	/* b misses the delete. */
	rd_state_remove(a->t, st[1], 4 * RD_SEC);
	net->drop_all = true;
	net_run(net, 4 * RD_SEC, 6 * RD_SEC);
	net->drop_all = false;
	ck_assert_uint_eq(rd_state_count(b->t), 4);
	rd_sync_engine_bulk_repair(b->e, 7 * RD_SEC); /* b holds the states: a repair */
	net_run(net, 7 * RD_SEC, 8 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_RECONCILED), 1);
	ck_assert_uint_eq(rd_state_count(b->t), 3); /* a's two and b's own */
	ck_assert_uint_eq(rd_state_count(a->t), 3);
	net_free(net);
}
END_TEST

/*
 * States a bulk carries hold no per-state entry (RD_STATE_F_MARK instead):
 * a second bulk must still reconcile a state the first one carried and
 * whose delete was then lost (the marks are cleared at BUS START).
 */
START_TEST(second_bulk_reconciles_a_state_the_first_bulk_carried)
{
	struct net *net;
	struct node *a, *b;
	struct rd_state *st[3];

	reconcile_all = true;
	net = net_new(2);
	reconcile_all = false;
	a = net->nodes[0];
	b = net->nodes[1];
	for (int i = 0; i < 3; i++)
		st[i] = udp_state(a, (uint16_t)(5000 + i), RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0; /* b was not there: it learns them by a bulk */
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 3 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 3);
	ck_assert(rd_state_find_id(b->t, st[1]->id, st[1]->creatorid, 3 * RD_SEC)->flags &
	          RD_STATE_F_MARK);
	/* b misses the delete. */
	rd_state_remove(a->t, st[1], 4 * RD_SEC);
	net->drop_all = true;
	net_run(net, 4 * RD_SEC, 6 * RD_SEC);
	net->drop_all = false;
	ck_assert_uint_eq(rd_state_count(b->t), 3);
	rd_sync_engine_bulk_repair(b->e, 7 * RD_SEC); /* b holds the states: a repair */
	net_run(net, 7 * RD_SEC, 8 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_RECONCILED), 1);
	ck_assert_uint_eq(rd_state_count(b->t), 2);
	net_free(net);
}
END_TEST

/*
 * OpenBSD stamps every imported state, bulk or not, as touched by a peer:
 * for active_window (2 s) after the bulk our updates of its states go at
 * once; later they wait for the flush delay again.
 */
START_TEST(bulk_carried_state_counts_as_touched_for_the_active_window)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state_pkt reply = pkt(17, RD_STATE_IN, SERVER, 53, CLIENT, 5000);
	struct rd_state_result res;

	udp_state(a, 5000, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0;
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 2 * RD_SEC + 100 * RD_MSEC);
	ck_assert(!rd_sync_engine_bulk_pending(b->e));
	ck_assert_uint_eq(rd_state_count(b->t), 1);
	/* Within 2 s of the bulk's end: at once. */
	ck_assert_int_eq(rd_state_packet(b->t, &reply, 3 * RD_SEC, &res), RD_STATE_PASS);
	ck_assert_uint_eq(rd_sync_engine_expiry(b->e), 3 * RD_SEC);
	rd_sync_engine_handle_expiry(b->e, 3 * RD_SEC);
	ck_assert_uint_eq(net->nq, 1);
	net->nq = 0;
	/* Past it: the flush delay (1 s). */
	ck_assert_int_eq(rd_state_packet(b->t, &reply, 5 * RD_SEC, &res), RD_STATE_PASS);
	ck_assert_uint_eq(rd_sync_engine_expiry(b->e), 6 * RD_SEC);
	net_free(net);
}
END_TEST

START_TEST(late_copy_of_deleted_state_does_not_bring_it_back)
{
	struct net *net = net_new(3);
	struct node *a = net->nodes[0], *b = net->nodes[1], *c = net->nodes[2];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);
	uint64_t id = st->id;
	uint32_t cid = st->creatorid;
	struct rd_pfsync_builder bld;
	struct rd_pfsync_msg m;
	struct rd_state_info info;
	uint8_t buf[1500];

	net_run(net, RD_SEC, 3 * RD_SEC);
	/* c's copy, as c would send it in a bulk update. */
	rd_state_export(c->t, rd_state_find_id(c->t, id, cid, 3 * RD_SEC), 3 * RD_SEC, &info);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD;
	rd_sync_state_to_pfsync(&info, &m.u.state);
	rd_pfsync_builder_init(&bld, buf, sizeof(buf));
	rd_pfsync_builder_add(&bld, &m);
	size_t len = rd_pfsync_builder_finish(&bld);
	rd_state_remove(a->t, st, 4 * RD_SEC);
	net_run(net, 4 * RD_SEC, 6 * RD_SEC);
	ck_assert_ptr_null(rd_state_find_id(b->t, id, cid, 6 * RD_SEC));
	/* The copy crossed the delete: b ignores it ... */
	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, len, 6 * RD_SEC), 0);
	ck_assert_ptr_null(rd_state_find_id(b->t, id, cid, 6 * RD_SEC));
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_STALE), 1);
	/* ... and a, its creator, answers it with DEL_C at once. */
	net->nq = 0;
	ck_assert_int_eq(rd_sync_engine_input(a->e, buf, len, 6 * RD_SEC), 0);
	ck_assert_ptr_null(rd_state_find_id(a->t, id, cid, 6 * RD_SEC));
	ck_assert_uint_eq(net->nq, 1);
	ck_assert_uint_eq(net->q[0].buf[20], RD_PFSYNC_ACT_DEL_C);
	/* After the tombstone time a copy is a state again (expiry decides). */
	rd_sync_engine_handle_expiry(b->e, 20 * RD_SEC);
	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, len, 20 * RD_SEC), 0);
	ck_assert_ptr_nonnull(rd_state_find_id(b->t, id, cid, 20 * RD_SEC));
	net_free(net);
}
END_TEST

static size_t small_room(void *user)
{
	(void)user;
	return 32 + 2; /* two packets beyond the reserve */
}

START_TEST(bulk_is_paced_by_transport_room)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];
	struct rd_sync_engine_config ec;
	struct rd_sync_engine *paced;
	struct rd_pfsync_builder bld;
	struct rd_pfsync_msg m;
	uint8_t req[64];

	for (uint32_t i = 0; i < 100; i++)
		udp_state(a, (uint16_t)(10000 + i), RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	rd_sync_engine_free(a->e);
	memset(&ec, 0, sizeof(ec));
	ec.table = a->t;
	ec.cb.send = on_send;
	ec.cb.room = small_room;
	ec.cb.user = a;
	ck_assert_int_eq(rd_sync_engine_new(&ec, &paced), 0);
	a->e = paced;
	net->nq = 0;
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD_REQ;
	rd_pfsync_builder_init(&bld, req, sizeof(req));
	rd_pfsync_builder_add(&bld, &m);
	ck_assert_int_eq(
	    rd_sync_engine_input(paced, req, rd_pfsync_builder_finish(&bld), 2 * RD_SEC), 0);
	rd_sync_engine_handle_expiry(paced, 2 * RD_SEC);
	ck_assert_uint_eq(net->nq, 2);
	rd_sync_engine_handle_expiry(paced, 2 * RD_SEC + RD_MSEC);
	ck_assert_uint_eq(net->nq, 4);
	net_free(net);
}
END_TEST

/*
 * bulk_rate paces a raw bulk in states a second: at mtu 1480 a packet holds
 * 5 UPD, so 10,000 states/s is 2 packets a millisecond and 2,000/s one
 * packet every 2.5 ms.
 */
START_TEST(bulk_rate_sets_the_pace_in_states_a_second)
{
	static const struct {
		uint32_t rate;
		rd_time_t until;
		size_t want; /* packets sent by `until` after the request */
	} c[] = {{10000, 3 * RD_MSEC, 8}, {2000, 5 * RD_MSEC, 3}};

	for (size_t k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct net *net = net_new(1);
		struct node *a = net->nodes[0];
		struct rd_sync_engine_config ec;
		struct rd_pfsync_builder bld;
		struct rd_pfsync_msg m;
		uint8_t req[64];
		rd_time_t t0 = 2 * RD_SEC;

		for (uint32_t i = 0; i < 200; i++)
			udp_state(a, (uint16_t)(10000 + i), RD_SEC);
		rd_sync_engine_flush(a->e, RD_SEC);
		rd_sync_engine_free(a->e);
		memset(&ec, 0, sizeof(ec));
		ec.table = a->t;
		ec.mtu = 1480;
		ec.bulk_rate = c[k].rate;
		ec.cb.send = on_send;
		ec.cb.user = a;
		ck_assert_int_eq(rd_sync_engine_new(&ec, &a->e), 0);
		net->nq = 0;
		memset(&m, 0, sizeof(m));
		m.action = RD_PFSYNC_ACT_UPD_REQ;
		rd_pfsync_builder_init(&bld, req, sizeof(req));
		rd_pfsync_builder_add(&bld, &m);
		ck_assert_int_eq(
		    rd_sync_engine_input(a->e, req, rd_pfsync_builder_finish(&bld), t0), 0);
		for (rd_time_t now = t0; now <= t0 + c[k].until; now += 100 * RD_USEC)
			rd_sync_engine_handle_expiry(a->e, now);
		ck_assert_uint_eq(net->nq, c[k].want);
		net_free(net);
	}
}
END_TEST

START_TEST(bulk_request_without_answer_gives_up_and_undemotes)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];

	rd_sync_engine_bulk_request(a->e, 0);
	ck_assert_int_eq(a->demotion, 32);
	net_run(net, 0, 30 * RD_SEC);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_PKTS_OUT), 12);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_FAIL), 1);
	ck_assert_int_eq(a->demotion, 0);
	net_free(net);
}
END_TEST

/* ---- join (demotes) and repair (never demotes) ---- */

/* b holds states of a already; a repair asked by b brings a's table back without demoting b. */
START_TEST(repair_never_calls_demote)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];

	for (uint32_t i = 0; i < 20; i++)
		udp_state(a, (uint16_t)(10000 + i), RD_SEC);
	net_run(net, RD_SEC, 3 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 20);
	rd_sync_engine_bulk_repair(b->e, 4 * RD_SEC);
	ck_assert(rd_sync_engine_bulk_pending(b->e));
	ck_assert_int_eq(rd_sync_engine_demotion(b->e), 0);
	net_run(net, 4 * RD_SEC, 5 * RD_SEC);
	ck_assert(!rd_sync_engine_bulk_pending(b->e));
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_SENT), 20);
	/* A repair without any answer fails, and still demotes nothing. */
	net->drop_all = true;
	rd_sync_engine_bulk_repair(b->e, 6 * RD_SEC);
	net_run(net, 6 * RD_SEC, 40 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_FAIL), 1);
	ck_assert_uint_eq(b->demote_up + b->demote_down, 0);
	ck_assert_uint_eq(a->demote_up + a->demote_down, 0);
	net_free(net);
}
END_TEST

START_TEST(join_demotes_once_and_undemotes_once_on_bus_end)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];

	udp_state(a, 5000, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0;
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC);
	ck_assert_int_eq(rd_sync_engine_demotion(b->e), 32);
	/* A second join while the first runs restarts it, demotes no further. */
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC + RD_MSEC);
	ck_assert_uint_eq(b->demote_up, 1);
	ck_assert_int_eq(b->demotion, 32);
	net_run(net, 2 * RD_SEC + RD_MSEC, 3 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(b->demote_up, 1);
	ck_assert_uint_eq(b->demote_down, 1);
	ck_assert_int_eq(b->demotion, 0);
	ck_assert_int_eq(rd_sync_engine_demotion(b->e), 0);
	/* a answered the bulk: it never demoted. */
	ck_assert_uint_eq(a->demote_up + a->demote_down, 0);
	net_free(net);
}
END_TEST

START_TEST(join_undemotes_once_on_failure)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];

	rd_sync_engine_bulk_request(a->e, 0);
	ck_assert_uint_eq(a->demote_up, 1);
	net_run(net, 0, 30 * RD_SEC);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BULK_FAIL), 1);
	ck_assert_uint_eq(a->demote_up, 1);
	ck_assert_uint_eq(a->demote_down, 1);
	ck_assert_int_eq(rd_sync_engine_demotion(a->e), 0);
	net_free(net);
}
END_TEST

/* A join whose BUS START came but whose BUS END never does: bulk_timeout ends it, undemoted once.
 */
START_TEST(join_undemotes_once_when_the_bulk_times_out)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_pfsync_builder bld;
	struct rd_pfsync_msg m;
	uint8_t buf[200];

	rd_sync_engine_bulk_request(b->e, RD_SEC);
	net->nq = 0;
	rd_pfsync_builder_init(&bld, buf, sizeof(buf));
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_BUS;
	m.u.bus.creatorid = rd_state_creatorid(a->t);
	m.u.bus.status = RD_PFSYNC_BUS_START;
	ck_assert_int_eq(rd_pfsync_builder_add(&bld, &m), 0);
	size_t len = rd_pfsync_builder_finish(&bld);
	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, len, RD_SEC + RD_MSEC), 0);
	net->drop_all = true;
	net_run(net, RD_SEC + RD_MSEC, 70 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_FAIL), 1);
	ck_assert_uint_eq(b->demote_up, 1);
	ck_assert_uint_eq(b->demote_down, 1);
	net_free(net);
}
END_TEST

/* Repairs while a join runs (the newcomer hears a new peer): the join's demotion stays until the
 * end. */
START_TEST(repair_during_join_keeps_the_join_demotion_until_it_ends)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];

	udp_state(a, 5000, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0;
	net->drop_all = true; /* no answer for now */
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 2 * RD_SEC + 500 * RD_MSEC);
	rd_sync_engine_bulk_repair(b->e, 2 * RD_SEC + 500 * RD_MSEC);
	ck_assert_int_eq(rd_sync_engine_demotion(b->e), 32);
	net_run(net, 2 * RD_SEC + 500 * RD_MSEC, 6 * RD_SEC);
	rd_sync_engine_bulk_repair(b->e, 6 * RD_SEC);
	ck_assert(rd_sync_engine_bulk_pending(b->e));
	ck_assert_int_eq(b->demotion, 32);
	ck_assert_uint_eq(b->demote_up, 1);
	ck_assert_uint_eq(b->demote_down, 0);
	net->drop_all = false;
	net_run(net, 6 * RD_SEC, 7 * RD_SEC);
	ck_assert(!rd_sync_engine_bulk_pending(b->e));
	ck_assert_uint_eq(rd_state_count(b->t), 1);
	ck_assert_uint_eq(b->demote_up, 1);
	ck_assert_uint_eq(b->demote_down, 1);
	ck_assert_int_eq(b->demotion, 0);
	net_free(net);
}
END_TEST

/* A join while a repair runs demotes at once, and the merged request undemotes once. */
START_TEST(join_during_repair_demotes)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];

	udp_state(a, 5000, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0;
	net->drop_all = true;
	rd_sync_engine_bulk_repair(b->e, 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 3 * RD_SEC);
	ck_assert_int_eq(b->demotion, 0);
	rd_sync_engine_bulk_request(b->e, 3 * RD_SEC);
	ck_assert_int_eq(b->demotion, 32);
	ck_assert_int_eq(rd_sync_engine_demotion(b->e), 32);
	rd_sync_engine_bulk_repair(b->e, 3 * RD_SEC + RD_MSEC);
	ck_assert_int_eq(b->demotion, 32);
	net->drop_all = false;
	net_run(net, 3 * RD_SEC + RD_MSEC, 5 * RD_SEC);
	ck_assert(!rd_sync_engine_bulk_pending(b->e));
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(b->demote_up, 1);
	ck_assert_uint_eq(b->demote_down, 1);
	ck_assert_int_eq(b->demotion, 0);
	net_free(net);
}
END_TEST

/* Asked from inside cb.send, a request waits for the next tick; a join among them still demotes.
 */
START_TEST(requests_from_inside_send_keep_join_or_repair)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];

	/* A repair asked from inside send: made at the next tick, no demotion. */
	udp_state(b, 5000, RD_SEC);
	ask_in_send = 2;
	rd_sync_engine_flush(b->e, RD_SEC);
	ck_assert_int_eq(ask_in_send, 0);
	ck_assert(rd_sync_engine_bulk_pending(b->e));
	ck_assert_uint_eq(rd_sync_engine_expiry(b->e), RD_SEC);
	net_run(net, RD_SEC, 2 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(b->demote_up + b->demote_down, 0);
	/* A join asked from inside send: demotes when it is made, undemotes at its end. */
	udp_state(b, 5001, 3 * RD_SEC);
	ask_in_send = 1;
	rd_sync_engine_flush(b->e, 3 * RD_SEC);
	ck_assert_uint_eq(b->demote_up, 0);
	rd_sync_engine_handle_expiry(b->e, 3 * RD_SEC);
	ck_assert_uint_eq(b->demote_up, 1);
	net_run(net, 3 * RD_SEC, 4 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 2);
	ck_assert_uint_eq(b->demote_down, 1);
	ck_assert_uint_eq(a->demote_up + a->demote_down, 0);
	net_free(net);
}
END_TEST

START_TEST(deferred_packet_released_by_peer_ack)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);

	ck_assert_int_eq(rd_sync_engine_defer(a->e, st, 77, RD_SEC), 0);
	/* The insert went at once, with the ack flag. */
	ck_assert_uint_eq(net->nq, 1);
	ck_assert_uint_eq(rd_get16(net->q[0].buf + 24 + 260) & RD_PFSYNC_STATE_ACK,
	                  RD_PFSYNC_STATE_ACK);
	net_pump(net, RD_SEC + RD_MSEC);
	ck_assert_uint_eq(a->nreleased, 1);
	ck_assert_uint_eq(a->released[0], 77);
	ck_assert(a->released_acked[0]);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_ACKED), 1);
	ck_assert_uint_eq(rd_state_count(b->t), 1);
	net_free(net);
}
END_TEST

START_TEST(deferred_packet_released_after_20ms_without_peer)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);

	ck_assert_int_eq(rd_sync_engine_defer(a->e, st, 5, RD_SEC), 0);
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), RD_SEC + 20 * RD_MSEC);
	rd_sync_engine_handle_expiry(a->e, RD_SEC + 20 * RD_MSEC - 1);
	ck_assert_uint_eq(a->nreleased, 0);
	rd_sync_engine_handle_expiry(a->e, RD_SEC + 20 * RD_MSEC);
	ck_assert_uint_eq(a->nreleased, 1);
	ck_assert(!a->released_acked[0]);
	net_free(net);
}
END_TEST

START_TEST(refused_packet_changes_nothing)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];

	udp_state(a, 5000, RD_SEC);
	udp_state(a, 5001, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	ck_assert_uint_eq(net->nq, 1);
	/* Cut the packet: its header length now overruns it. */
	ck_assert_int_eq(rd_sync_engine_input(b->e, net->q[0].buf, net->q[0].len - 1, RD_SEC),
	                 RD_ERR_PROTO);
	ck_assert_uint_eq(rd_state_count(b->t), 0);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_REFUSED), 1);
	ck_assert_uint_eq(pfsync_stat(b->e, RD_PFSYNC_STAT_BADLEN), 1);
	net_free(net);
}
END_TEST

/* Collects the messages of a packet (for rebuilding it with a bad one inside). */
struct msgs {
	struct rd_pfsync_msg m[8];
	size_t n;
};

static int keep_msg(void *user, const struct rd_pfsync_msg *m)
{
	struct msgs *k = user;
	if (k->n < 8)
		k->m[k->n++] = *m;
	return 0;
}

/*
 * An OpenBSD peer's UPD_C with timeout PFTM_PURGE (21) between two INS:
 * OpenBSD counts it badval and applies the rest; so does the engine.
 */
START_TEST(bad_value_costs_its_message_and_the_rest_is_applied)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state *s1 = udp_state(a, 5000, RD_SEC), *s2 = udp_state(a, 5001, RD_SEC);
	struct msgs k = {.n = 0};
	struct rd_pfsync_builder bld;
	uint8_t pkt[1500];
	size_t n;

	rd_sync_engine_flush(a->e, RD_SEC);
	ck_assert_uint_eq(net->nq, 1);
	ck_assert_int_eq(rd_pfsync_decode(net->q[0].buf, net->q[0].len, NULL, NULL, keep_msg, &k),
	                 0);
	ck_assert_uint_eq(k.n, 2);
	/* INS, one golden UPD_C (timeout 21) in a section of its own, INS. */
	ck_assert_int_eq(rd_pfsync_builder_init(&bld, pkt, sizeof(pkt)), 0);
	ck_assert_int_eq(rd_pfsync_builder_add(&bld, &k.m[0]), 0);
	n = rd_pfsync_builder_finish(&bld);
	n += golden_subheader(pkt + n, RD_PFSYNC_ACT_UPD_C, 84, 1);
	n += golden_upd_c_as(pkt + n, 0x02, 0x0a0b0c0d, GOLDEN_PFTM_PURGE);
	rd_put16(pkt + 2, (uint16_t)n);
	ck_assert_int_eq(rd_pfsync_builder_init(&bld, pkt + n, sizeof(pkt) - n), 0);
	ck_assert_int_eq(rd_pfsync_builder_add(&bld, &k.m[1]), 0);
	size_t tail = rd_pfsync_builder_finish(&bld) - RD_PFSYNC_HDR_LEN;
	memmove(pkt + n, pkt + n + RD_PFSYNC_HDR_LEN, tail); /* its sections only */
	n += tail;
	rd_put16(pkt + 2, (uint16_t)n);

	ck_assert_int_eq(rd_sync_engine_input(b->e, pkt, n, 2 * RD_SEC), 0);
	ck_assert_ptr_nonnull(rd_state_find_id(b->t, s1->id, s1->creatorid, 2 * RD_SEC));
	ck_assert_ptr_nonnull(rd_state_find_id(b->t, s2->id, s2->creatorid, 2 * RD_SEC));
	ck_assert_uint_eq(rd_state_count(b->t), 2);
	ck_assert_uint_eq(pfsync_stat(b->e, RD_PFSYNC_STAT_BADTIMEOUT), 1);
	ck_assert_uint_eq(pfsync_stat(b->e, RD_PFSYNC_STAT_MESSAGES), 2);
	ck_assert_uint_eq(pfsync_stat(b->e, RD_PFSYNC_STAT_PACKETS), 1);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_REFUSED), 0);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_PKTS_IN), 1);
	net_free(net);
}
END_TEST

/* One message in a packet of its own, built by hand. */
START_TEST(values_the_table_cannot_hold_are_counted_badval)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];
	struct rd_state *st = tcp_state(a, 7000, RD_SEC);
	struct rd_state_peer src = st->src, dst = st->dst;
	uint8_t before = st->src.state, buf[1500];
	struct rd_state_info info;
	struct rd_pfsync_msg m;
	size_t len;

	/* An update into pf's proxy TCP states, which libredund has not. */
	src.state = RD_PFSYNC_TCPS_PROXY_SRC;
	len = upd_c_pkt(buf, st->id, st->creatorid, &src, &dst);
	ck_assert_int_eq(rd_sync_engine_input(a->e, buf, len, 2 * RD_SEC), 0);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BADVAL), 1);
	ck_assert_uint_eq(st->src.state, before);
	/* An insert of a state in a proxy state. */
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_INS;
	rd_state_export(a->t, st, 2 * RD_SEC, &info);
	rd_sync_state_to_pfsync(&info, &m.u.state);
	m.u.state.id = st->id + 1;
	m.u.state.creatorid = 0x77;
	m.u.state.src.state = RD_PFSYNC_TCPS_PROXY_DST;
	len = msg_pkt(buf, &m);
	ck_assert_int_eq(rd_sync_engine_input(a->e, buf, len, 2 * RD_SEC), 0);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BADVAL), 2);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_INSERTS), 0);
	ck_assert_uint_eq(rd_state_count(a->t), 1);
	net_free(net);
}
END_TEST

START_TEST(delete_of_unknown_state_is_counted_badstate)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);
	struct rd_pfsync_msg m;
	uint8_t buf[1500];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_DEL_C;
	m.u.ref.id = st->id + 1;
	m.u.ref.creatorid = 0x77;
	len = msg_pkt(buf, &m);
	ck_assert_int_eq(rd_sync_engine_input(a->e, buf, len, 2 * RD_SEC), 0);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_BADSTATE), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DELETES), 0);
	ck_assert_uint_eq(rd_state_count(a->t), 1);
	net_free(net);
}
END_TEST

START_TEST(clr_removes_states_of_that_creator)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_pfsync_builder bld;
	struct rd_pfsync_msg m;
	uint8_t buf[100];

	for (uint16_t i = 0; i < 3; i++)
		udp_state(a, (uint16_t)(5000 + i), RD_SEC);
	udp_state(b, 9000, RD_SEC);
	net_run(net, RD_SEC, 3 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 4);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_CLR;
	m.u.clr.creatorid = rd_state_creatorid(a->t);
	rd_pfsync_builder_init(&bld, buf, sizeof(buf));
	rd_pfsync_builder_add(&bld, &m);
	ck_assert_int_eq(
	    rd_sync_engine_input(b->e, buf, rd_pfsync_builder_finish(&bld), 4 * RD_SEC), 0);
	ck_assert_uint_eq(rd_state_count(b->t), 1);
	ck_assert_uint_eq(rd_sync_engine_expiry(b->e), RD_TIME_NEVER);
	/* A CLR naming b's own creatorid, from elsewhere: refused, counted. */
	m.u.clr.creatorid = rd_state_creatorid(b->t);
	rd_pfsync_builder_init(&bld, buf, sizeof(buf));
	rd_pfsync_builder_add(&bld, &m);
	ck_assert_int_eq(
	    rd_sync_engine_input(b->e, buf, rd_pfsync_builder_finish(&bld), 5 * RD_SEC), 0);
	ck_assert_uint_eq(rd_state_count(b->t), 1);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_CLR_OURS), 1);
	net_free(net);
}
END_TEST

START_TEST(conversion_round_trips_and_refuses_proxy_states)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];
	struct rd_state *st = tcp_state(a, 7000, RD_SEC);
	struct rd_state_info info, back;
	struct rd_pfsync_state ps;

	rd_state_export(a->t, st, RD_SEC, &info);
	rd_sync_state_to_pfsync(&info, &ps);
	ck_assert_uint_eq(ps.direction, RD_PFSYNC_DIR_OUT);
	ck_assert_uint_eq(ps.af, RD_AF_INET);
	ck_assert_str_eq(ps.ifname, "all");
	ck_assert_int_eq(ps.rule, 0);
	ck_assert_int_eq(rd_sync_state_from_pfsync(&ps, &back), 0);
	ck_assert_mem_eq(&back.wire, &info.wire, sizeof(info.wire));
	ck_assert_mem_eq(&back.stack, &info.stack, sizeof(info.stack));
	ck_assert_uint_eq(back.src.seqlo, info.src.seqlo);
	ck_assert_uint_eq(back.flags & RD_STATE_F_OUT, RD_STATE_F_OUT);
	ck_assert_uint_eq(back.rule, RD_STATE_RULE_NONE);
	ps.src.state = RD_PFSYNC_TCPS_PROXY_SRC;
	ck_assert_int_eq(rd_sync_state_from_pfsync(&ps, &back), RD_ERR_INVAL);
	net_free(net);
}
END_TEST

/* Big-endian writers for golden bytes laid out by hand. */
static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, (uint16_t)(v >> 16));
	be16(p + 2, (uint16_t)v);
}

/*
 * A pfsync_state as an OpenBSD peer sends it (offsets of pfvar.h 1.543,
 * pinned in pfsync_wire.h), every field non-default: TCP, IPv4, PF_OUT,
 * NATed, route-to, scrub memory on src, rtableid {-1, 5}.
 */
static void obsd_state(uint8_t s[264], uint64_t id, const char *ifname, uint16_t flags)
{
	memset(s, 0, 264);
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(id >> (56 - 8 * i));
	memcpy(s + 8, ifname, strlen(ifname));
	for (int k = 0; k < 2; k++) { /* keys at 24 and 64 */
		uint8_t *key = s + 24 + 40 * k;
		be32(key, k == 0 ? 0x0a000001 : 0xc0a80001); /* addr[0] */
		be32(key + 16, 0x08080808);                  /* addr[1] */
		be16(key + 32, (uint16_t)(k == 0 ? 40000 : 50000));
		be16(key + 34, 443);
		be16(key + 36, 3); /* rdomain */
		key[38] = 2;       /* AF_INET */
	}
	for (int p = 0; p < 2; p++) { /* peers at 104 and 136 */
		uint8_t *pe = s + 104 + 32 * p;
		if (p == 0) {
			be16(pe, 0x0001); /* pfss_flags PFSS_TIMESTAMP */
			pe[2] = 64;       /* pfss_ttl */
			pe[3] = 1;        /* scrub_flag VALID */
			be32(pe + 4, 0x11223344);
		}
		be32(pe + 8, 1000u + (uint32_t)p);        /* seqlo */
		be32(pe + 12, 90000u + (uint32_t)p);      /* seqhi */
		be32(pe + 16, 0xdead0000u + (uint32_t)p); /* seqdiff */
		be16(pe + 20, 65000);                     /* max_win */
		be16(pe + 22, (uint16_t)(1460 - p));      /* mss */
		pe[24] = 4;                               /* ESTABLISHED */
		pe[25] = 0x87;                            /* wscale */
	}
	be32(s + 168, 0xc0a80101); /* rt_addr */
	be32(s + 184, 0xffffffff); /* rule -1 */
	be32(s + 188, 0xffffffff); /* anchor -1 */
	be32(s + 192, 0xffffffff); /* nat_rule -1 */
	be32(s + 196, 300);        /* creation: age */
	be32(s + 200, 86000);      /* expire: left */
	be32(s + 208, 17);         /* packets[0] lo */
	be32(s + 216, 12);         /* packets[1] lo */
	be32(s + 224, 1700);       /* bytes[0] lo */
	be32(s + 232, 1200);       /* bytes[1] lo */
	be32(s + 236, 0x0b5d0001); /* creatorid */
	be32(s + 240, 0xffffffff); /* rtableid[WIRE] -1 */
	be32(s + 244, 5);          /* rtableid[STACK] */
	be16(s + 248, 1400);       /* max_mss */
	s[250] = 2;                /* af */
	s[251] = 6;                /* proto */
	s[252] = 2;                /* direction PF_OUT */
	s[253] = 1;                /* log */
	s[254] = 1;                /* rt: route-to */
	s[255] = 2;                /* timeout: tcp.established */
	s[258] = 7;                /* min_ttl */
	s[259] = 0x10;             /* set_tos */
	be16(s + 260, flags);      /* state_flags */
	s[262] = 3;                /* set_prio */
	s[263] = 5;
}

static void feed_state(struct node *nd, uint8_t action, const uint8_t st[264], rd_time_t now)
{
	uint8_t pkt[RD_PFSYNC_HDR_LEN + RD_PFSYNC_SUBHDR_LEN + 264];

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 6; /* version */
	be16(pkt + 2, sizeof(pkt));
	pkt[20] = action;
	pkt[21] = 264 / 4;
	be16(pkt + 22, 1);
	memcpy(pkt + 24, st, 264);
	ck_assert_int_eq(rd_sync_engine_input(nd->e, pkt, sizeof(pkt), now), 0);
}

/* The state's wire bytes as this node exports it at `now`. */
static void export_bytes(struct node *nd, uint64_t id, uint32_t cid, rd_time_t now,
                         uint8_t out[264])
{
	struct rd_state *st = rd_state_find_id(nd->t, id, cid, now);
	struct rd_state_info info;
	struct rd_pfsync_msg m;

	ck_assert_ptr_nonnull(st);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD;
	rd_state_export(nd->t, st, now, &info);
	rd_sync_state_to_pfsync(&info, &m.u.state);
	ck_assert_int_eq(rd_pfsync_encode_msg(&m, out, 264), 264);
}

/*
 * The time left a full state brings (b holds a's UDP state, created at 1 s:
 * udp.first, 60 s): under another class, the sender's (12 s); 0, which
 * pf's import reads as "no time given", a fresh timeout of the class
 * (udp.single, 30 s), as pf; under the same class, the longer of the
 * sender's and ours (a shorter one changes nothing).
 */
START_TEST(full_state_brings_the_senders_time_or_a_fresh_one_for_0)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state *st = udp_state(a, 5000, RD_SEC), *bs;
	struct rd_state_info info;
	uint8_t s[264];

	net_run(net, RD_SEC, 3 * RD_SEC);
	bs = rd_state_find_id(b->t, st->id, st->creatorid, 3 * RD_SEC);
	ck_assert_ptr_nonnull(bs);
	export_bytes(a, st->id, st->creatorid, 5 * RD_SEC, s);
	s[255] = RD_STATE_TM_UDP_SINGLE;
	be32(s + 200, 12);
	feed_state(b, RD_PFSYNC_ACT_UPD, s, 5 * RD_SEC);
	rd_state_export(b->t, bs, 5 * RD_SEC, &info);
	ck_assert_uint_eq(info.timeout, RD_STATE_TM_UDP_SINGLE);
	ck_assert_uint_eq(info.expire_in, 12);
	s[255] = RD_STATE_TM_UDP_FIRST_PACKET;
	be32(s + 200, 0);
	feed_state(b, RD_PFSYNC_ACT_UPD, s, 6 * RD_SEC);
	rd_state_export(b->t, bs, 6 * RD_SEC, &info);
	ck_assert_uint_eq(info.timeout, RD_STATE_TM_UDP_FIRST_PACKET);
	ck_assert_uint_eq(info.expire_in, 60);
	be32(s + 200, 20); /* same class, less time: nothing new */
	feed_state(b, RD_PFSYNC_ACT_UPD, s, 7 * RD_SEC);
	rd_state_export(b->t, bs, 7 * RD_SEC, &info);
	ck_assert_uint_eq(info.expire_in, 59);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_UNCHANGED), 1);
	be32(s + 200, 40); /* same class, more time than ours... */
	feed_state(b, RD_PFSYNC_ACT_UPD, s, 40 * RD_SEC);
	rd_state_export(b->t, bs, 40 * RD_SEC, &info);
	ck_assert_uint_eq(info.expire_in, 40); /* ...taken (26 s left before) */
	net_free(net);
}
END_TEST

START_TEST(openbsd_state_exports_the_bytes_it_came_with_for_every_flag_bit)
{
	struct net *net = net_new(1);
	struct node *b = net->nodes[0];
	uint8_t in[264], out[264];
	rd_time_t t0 = 10 * RD_SEC;

	/* Each PFSTATE_* bit alone, then all of them (ACK excepted: see below). */
	for (unsigned bit = 0; bit <= 16; bit++) {
		uint16_t flags = bit == 16 ? (uint16_t)~RD_PFSYNC_STATE_ACK : (uint16_t)(1u << bit);
		if (flags == RD_PFSYNC_STATE_ACK)
			continue;
		obsd_state(in, 0x1000 + bit, "em0", flags);
		be16(in + 24 + 32, (uint16_t)(1000 + bit)); /* distinct keys */
		be16(in + 64 + 32, (uint16_t)(2000 + bit));
		feed_state(b, RD_PFSYNC_ACT_INS, in, t0);
		export_bytes(b, 0x1000 + bit, 0x0b5d0001, t0, out);
		ck_assert_mem_eq(out, in, 264);
	}
	/* Later, pf rewrites only the relative times: creation and expire. */
	export_bytes(b, 0x1000 + 16, 0x0b5d0001, t0 + 100 * RD_SEC, out);
	ck_assert_uint_eq(rd_get32(out + 196), 400);
	ck_assert_uint_eq(rd_get32(out + 200), 85900);
	memcpy(out + 196, in + 196, 8);
	ck_assert_mem_eq(out, in, 264);
	/* An INS with ACK asks for an INS_ACK; the state does not keep it. */
	obsd_state(in, 0x2000, "em0", RD_PFSYNC_STATE_ACK | RD_PFSYNC_STATE_SLOPPY);
	be16(in + 24 + 32, 3000);
	feed_state(b, RD_PFSYNC_ACT_INS, in, t0);
	ck_assert_uint_ne(rd_state_find_id(b->t, 0x2000, 0x0b5d0001, t0)->flags & RD_STATE_F_SLOPPY,
	                  0);
	export_bytes(b, 0x2000, 0x0b5d0001, t0, out);
	ck_assert_uint_eq(rd_get16(out + 260), RD_PFSYNC_STATE_SLOPPY);
	net_free(net);
}
END_TEST

START_TEST(local_state_exports_rtableid_unset_as_minus_one)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];
	struct rd_state *st = tcp_state(a, 7000, RD_SEC);
	struct rd_state_info info;
	struct rd_pfsync_state ps;

	rd_state_export(a->t, st, RD_SEC, &info);
	rd_sync_state_to_pfsync(&info, &ps);
	ck_assert_int_eq(ps.rtableid[0], -1);
	ck_assert_int_eq(ps.rtableid[1], -1);
	/* A zeroed description (no pf data) means the same. */
	memset(&info.pf, 0, sizeof(info.pf));
	rd_sync_state_to_pfsync(&info, &ps);
	ck_assert_int_eq(ps.rtableid[0], -1);
	net_free(net);
}
END_TEST

static void clr_in(struct node *nd, uint32_t cid, const char *ifname, rd_time_t now)
{
	struct rd_pfsync_builder bld;
	struct rd_pfsync_msg m;
	uint8_t buf[100];

	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_CLR;
	m.u.clr.creatorid = cid;
	strcpy(m.u.clr.ifname, ifname);
	rd_pfsync_builder_init(&bld, buf, sizeof(buf));
	rd_pfsync_builder_add(&bld, &m);
	ck_assert_int_eq(rd_sync_engine_input(nd->e, buf, rd_pfsync_builder_finish(&bld), now), 0);
}

START_TEST(clr_with_an_interface_clears_only_states_bound_to_it)
{
	struct net *net = net_new(1);
	struct node *b = net->nodes[0];
	uint8_t s[264];
	const char *names[] = {"em0", "em0", "em1", "all"};

	for (int i = 0; i < 4; i++) {
		obsd_state(s, 0x100 + (uint64_t)i, names[i], 0);
		be16(s + 24 + 32, (uint16_t)(1000 + i)); /* distinct keys */
		be16(s + 64 + 32, (uint16_t)(2000 + i));
		feed_state(b, RD_PFSYNC_ACT_INS, s, RD_SEC);
	}
	ck_assert_uint_eq(rd_state_count(b->t), 4);
	clr_in(b, 0x0b5d0001, "nosuch0", 2 * RD_SEC); /* a name no state has: nothing */
	ck_assert_uint_eq(rd_state_count(b->t), 4);
	clr_in(b, 0x0b5d0002, "em0", 2 * RD_SEC); /* another creator's: nothing */
	ck_assert_uint_eq(rd_state_count(b->t), 4);
	clr_in(b, 0x0b5d0001, "em0", 2 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 2);
	ck_assert_ptr_nonnull(rd_state_find_id(b->t, 0x102, 0x0b5d0001, 2 * RD_SEC));
	clr_in(b, 0x0b5d0001, "all", 2 * RD_SEC); /* the floating ones */
	ck_assert_uint_eq(rd_state_count(b->t), 1);
	clr_in(b, 0x0b5d0001, "", 2 * RD_SEC); /* no name: all of the creator's */
	ck_assert_uint_eq(rd_state_count(b->t), 0);
	net_free(net);
}
END_TEST

START_TEST(ins_of_a_state_we_hold_is_applied_and_acknowledged_unless_its_key_differs)
{
	struct net *net = net_new(1);
	struct node *b = net->nodes[0];
	uint8_t s[264];
	struct rd_state *st;

	obsd_state(s, 0x300, "all", 0);
	feed_state(b, RD_PFSYNC_ACT_INS, s, RD_SEC);
	net_run(net, RD_SEC, 3 * RD_SEC);
	uint64_t sent = estat(b, RD_SYNC_ENGINE_STAT_PKTS_OUT);
	/* The same INS again, newer (seqlo moved), asking for an INS_ACK. */
	be32(s + 104 + 8, 5000);
	be16(s + 260, RD_PFSYNC_STATE_ACK);
	feed_state(b, RD_PFSYNC_ACT_INS, s, 4 * RD_SEC);
	st = rd_state_find_id(b->t, 0x300, 0x0b5d0001, 4 * RD_SEC);
	ck_assert_uint_eq(st->src.seqlo, 5000);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_PKTS_OUT),
	                  sent + 1); /* the INS_ACK, at once */
	/* Same (id, creatorid), another connection: ours stays, counted. */
	uint64_t bad = estat(b, RD_SYNC_ENGINE_STAT_BADSTATE);
	be16(s + 24 + 34, 8443);
	be32(s + 104 + 8, 9000);
	feed_state(b, RD_PFSYNC_ACT_INS, s, 5 * RD_SEC);
	ck_assert_uint_eq(st->src.seqlo, 5000);
	ck_assert_uint_eq(st->key.port[1], 443);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BADSTATE), bad + 1);
	net_free(net);
}
END_TEST

START_TEST(maxupd_1_flushes_the_second_update_as_openbsd_maxupd_0)
{
	node_maxupd = 1;
	struct net *net = net_new(2);
	struct node *a = net->nodes[0];
	struct rd_state *st = tcp_state(a, 7000, RD_SEC);

	node_maxupd = 0;
	net_run(net, RD_SEC, 3 * RD_SEC);
	rd_sync_engine_state_event(a->e, st, RD_STATE_EV_UPDATE, 0, 4 * RD_SEC);
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), 5 * RD_SEC); /* queued UPD_C */
	rd_sync_engine_state_event(a->e, st, RD_STATE_EV_UPDATE, 0, 4 * RD_SEC);
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), 4 * RD_SEC); /* coalesced: at once */
	net_free(net);
}
END_TEST

static struct rd_pfsync_tdb got_tdb;
static int tdb_calls;

static void on_tdb(void *user, const struct rd_pfsync_tdb *t, rd_time_t now)
{
	(void)user;
	(void)now;
	got_tdb = *t;
	tdb_calls++;
}

static void on_ifname(void *user, uint16_t ifindex, char name[RD_PFSYNC_IFNAMSIZ + 1])
{
	(void)user;
	snprintf(name, RD_PFSYNC_IFNAMSIZ + 1, "vio%u", ifindex);
}

static uint16_t on_ifindex(void *user, const char *name)
{
	(void)user;
	return strncmp(name, "vio", 3) == 0 ? (uint16_t)(atoi(name + 3) + 100) : 0;
}

START_TEST(tdb_is_passed_to_the_caller_and_interfaces_map_by_name)
{
	struct net *net = net_new(0);
	struct node *a = node_new(net, 0), *b = node_new(net, 0);
	struct rd_sync_engine_config ec;
	struct rd_pfsync_builder bld;
	struct rd_pfsync_msg m;
	uint8_t buf[200];

	/* Both engines again, with interface maps and a TDB callback. */
	for (int i = 0; i < 2; i++) {
		struct node *nd = net->nodes[i];
		rd_sync_engine_free(nd->e);
		memset(&ec, 0, sizeof(ec));
		ec.table = nd->t;
		ec.cb.send = on_send;
		ec.cb.tdb = on_tdb;
		ec.cb.ifname = on_ifname;
		ec.cb.ifindex = on_ifindex;
		ec.cb.user = nd;
		ck_assert_int_eq(rd_sync_engine_new(&ec, &nd->e), 0);
	}
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_TDB;
	m.u.tdb.spi = 0x1234;
	rd_addr_parse("192.0.2.9", &m.u.tdb.dst);
	m.u.tdb.rpl = 99;
	rd_pfsync_builder_init(&bld, buf, sizeof(buf));
	rd_pfsync_builder_add(&bld, &m);
	tdb_calls = 0;
	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, rd_pfsync_builder_finish(&bld), RD_SEC),
	                 0);
	ck_assert_int_eq(tdb_calls, 1);
	ck_assert_uint_eq(got_tdb.spi, 0x1234);
	ck_assert_uint_eq(got_tdb.rpl, 99);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_TDB), 1);

	/* A state bound to interface 7 travels as "vio7" and lands on 107. */
	struct rd_state_pkt p = pkt(17, RD_STATE_OUT, CLIENT, 4000, SERVER, 53);
	struct rd_state_opts o = {.rule = 0, .if_bound = 1};
	struct rd_state *st;
	p.ifindex = 7;
	ck_assert_int_eq(rd_state_create(a->t, &p, &o, RD_SEC, &st), 0);
	rd_sync_engine_flush(a->e, RD_SEC);
	ck_assert_uint_eq(net->nq, 1);
	ck_assert_mem_eq(net->q[0].buf + 24 + 8, "vio7", 5);
	net_pump(net, RD_SEC);
	struct rd_state *got = rd_state_find_id(b->t, st->id, st->creatorid, RD_SEC);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->ifindex, 107);
	net_free(net);
}
END_TEST

START_TEST(engine_stat_names_cover_every_counter)
{
	for (int i = 0; i < RD_SYNC_ENGINE_STAT_COUNT; i++)
		ck_assert_str_ne(rd_sync_engine_stat_name(i), "unknown");
}
END_TEST

/* ---- an engine carried by a secure channel (redund/sync_carry.h) ---- */

struct envq {
	size_t n;
	uint32_t from[64];
	size_t len[64];
	uint8_t buf[64][1600];
};
static struct envq envq;

static void env_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	(void)to;
	ck_assert_uint_lt(envq.n, 64);
	ck_assert_uint_le(len, sizeof(envq.buf[0]));
	envq.from[envq.n] = (uint32_t)(uintptr_t)user;
	envq.len[envq.n] = len;
	memcpy(envq.buf[envq.n++], pkt, len);
}

static size_t sec_resend_slots; /* 0: the channel's default */
static struct rd_sync_key sec_key = {.id = 7};

/* A carry's configuration: channel `id` of envelope size mtu, engine over t. */
static void sec_config(struct rd_sync_carry_config *cfg, uint32_t id, size_t mtu,
                       struct rd_state_table *t)
{
	rd_sync_carry_config_default(cfg);
	memset(sec_key.key, 0x5a, sizeof(sec_key.key));
	cfg->channel.sender_id = id;
	cfg->channel.seq_start = 1;
	cfg->channel.keys = &sec_key;
	cfg->channel.nkeys = 1;
	cfg->channel.send_key_id = 7;
	cfg->channel.mtu = mtu;
	cfg->channel.resend_slots = sec_resend_slots;
	cfg->channel.cb.send = env_send; /* no deliver: the engine takes the DATA */
	cfg->channel.cb.user = (void *)(uintptr_t)id;
	cfg->engine.table = t;
}

static struct rd_sync_carry *sec_carry(uint32_t id, size_t mtu, struct rd_state_table *t,
                                       size_t engine_mtu, int *rc)
{
	struct rd_sync_carry_config cfg;
	struct rd_sync_carry *c = NULL;

	sec_config(&cfg, id, mtu, t);
	cfg.engine.mtu = engine_mtu;
	*rc = rd_sync_carry_new(&cfg, &c);
	return c;
}

/* Delivers every queued envelope from sender `from_id` to ch. */
static void env_pump(uint32_t from_id, struct rd_sync_channel *ch, rd_time_t now)
{
	for (size_t i = 0; i < envq.n; i++)
		if (envq.from[i] == from_id)
			ck_assert_int_eq(rd_sync_channel_input(ch, envq.buf[i], envq.len[i], now),
			                 0);
}

static struct rd_state_table *plain_table(uint32_t creatorid)
{
	struct rd_state_config sc;
	struct rd_state_table *t = NULL;

	rd_state_config_default(&sc);
	sc.creatorid = creatorid;
	ck_assert_int_eq(rd_state_table_new(&sc, &t), 0);
	return t;
}

START_TEST(engine_on_channel_takes_channel_payload_max_and_refuses_larger_mtu)
{
	struct rd_state_table *t = plain_table(0x11);
	struct rd_sync_carry *c;
	int rc;

	c = sec_carry(0x11, 600, t, 600 - RD_SYNC_ENV_OVERHEAD + 1, &rc);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(rc, RD_ERR_INVAL);
	c = sec_carry(0x11, 600, t, 0, &rc);
	ck_assert_int_eq(rc, 0);
	struct rd_sync_engine *e = rd_sync_carry_engine(c);
	uint64_t cs[RD_SYNC_CARRY_STAT_COUNT];
	/* Four inserts (over 1000 bytes): several packets, each envelope within the channel's 600.
	 */
	envq.n = 0;
	for (uint16_t i = 0; i < 4; i++) {
		struct rd_state_pkt p =
		    pkt(17, RD_STATE_OUT, CLIENT, (uint16_t)(5000 + i), SERVER, 53);
		struct rd_state_opts o = {.rule = 0};
		struct rd_state *st;
		ck_assert_int_eq(rd_state_create(t, &p, &o, RD_SEC, &st), 0);
		rd_sync_engine_state_event(e, st, RD_STATE_EV_INSERT, 0, RD_SEC);
	}
	rd_sync_engine_flush(e, RD_SEC);
	ck_assert_uint_ge(eng_stat(e, RD_SYNC_ENGINE_STAT_PKTS_OUT), 2);
	/* One envelope a packet, after the channel's first HELLO. */
	ck_assert_uint_eq(envq.n, 1 + eng_stat(e, RD_SYNC_ENGINE_STAT_PKTS_OUT));
	for (size_t i = 0; i < envq.n; i++)
		ck_assert_uint_le(envq.len[i], 600);
	rd_sync_carry_stats(c, cs);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_SENT], envq.n - 1);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_SEND_FAILED], 0);
	ck_assert_uint_eq(chan_stat(rd_sync_carry_channel(c), RD_SYNC_STAT_SENT), envq.n - 1);
	rd_sync_carry_free(c);
	/* A channel too small for one full state carries no engine. */
	ck_assert_ptr_null(sec_carry(0x12, 300, t, 0, &rc));
	ck_assert_int_eq(rc, RD_ERR_INVAL);
	rd_state_table_free(t, 0);
}
END_TEST

/*
 * rd_sync_engine_config_default fills the documented defaults, and an
 * engine made from it (table and send set) starts; the carry's default
 * keeps the engine's mtu 0 (the channel's payload_max) so that it fits the
 * channel's default envelope.
 */
START_TEST(config_defaults_fill_documented_values)
{
	struct rd_sync_engine_config ec;
	struct rd_sync_carry_config cc;
	struct rd_state_table *t = plain_table(0x11);
	struct rd_sync_engine *e = NULL;
	struct rd_sync_carry *c = NULL;

	memset(&ec, 0xff, sizeof(ec));
	rd_sync_engine_config_default(&ec);
	ck_assert_ptr_null(ec.table);
	ck_assert_uint_eq(ec.mtu, 1480);
	ck_assert_uint_eq(ec.maxupd, 128);
	ck_assert_int_eq(ec.flush_delay, RD_SEC);
	ck_assert_int_eq(ec.active_window, 2 * RD_SEC);
	ck_assert_int_eq(ec.defer_timeout, 20 * RD_MSEC);
	ck_assert_uint_eq(ec.defer_limit, 128);
	ck_assert_int_eq(ec.bulk_interval, RD_MSEC);
	ck_assert_uint_eq(ec.bulk_packets, 64);
	ck_assert_uint_eq(ec.bulk_rate, 0);
	ck_assert_int_eq(ec.bulk_req_interval, 2 * RD_SEC);
	ck_assert_uint_eq(ec.bulk_req_tries, 12);
	ck_assert_int_eq(ec.bulk_timeout, 0); /* OpenBSD's bound from the limit and mtu */
	ck_assert_int_eq(ec.bulk_stall, 10 * RD_SEC);
	ck_assert_int_eq(ec.demotion, 32);
	ck_assert_int_eq(ec.tombstone, 10 * RD_SEC);
	ck_assert(!ec.bulk_reconcile);
	ck_assert_ptr_null(ec.cb.user);
	ck_assert_ptr_null(ec.cb.send);
	ck_assert_ptr_null(ec.mem);
	ck_assert_ptr_null(ec.log.fn);
	ck_assert_int_eq(rd_sync_engine_new(&ec, &e), RD_ERR_INVAL); /* no table, no send */
	ec.table = t;
	ec.cb.send = on_send;
	ck_assert_int_eq(rd_sync_engine_new(&ec, &e), 0);
	ck_assert_int_eq(rd_sync_engine_expiry(e), RD_TIME_NEVER);
	rd_sync_engine_free(e);

	memset(&cc, 0xff, sizeof(cc));
	rd_sync_carry_config_default(&cc);
	ck_assert_uint_eq(cc.engine.mtu, 0);
	ck_assert_int_eq(cc.engine.demotion, 32);
	ck_assert_uint_eq(cc.channel.mtu, 1472);
	ck_assert_ptr_null(cc.channel.cb.send);
	ck_assert_ptr_null(cc.mem);
	sec_config(&cc, 0x11, 0, t);
	ck_assert_int_eq(rd_sync_carry_new(&cc, &c), 0);
	rd_sync_carry_free(c);
	rd_state_table_free(t, 0);
}
END_TEST

/* The carry's counters are all named; out of range is "unknown". */
START_TEST(carry_stat_names_cover_every_counter)
{
	for (int i = 0; i < RD_SYNC_CARRY_STAT_COUNT; i++)
		ck_assert_str_ne(rd_sync_carry_stat_name(i), "unknown");
	ck_assert_str_eq(rd_sync_carry_stat_name(RD_SYNC_CARRY_STAT_DELIVERED), "delivered");
	ck_assert_str_eq(rd_sync_carry_stat_name(RD_SYNC_CARRY_STAT_SEND_FAILED), "send_failed");
	ck_assert_str_eq(rd_sync_carry_stat_name(RD_SYNC_CARRY_STAT_REPAIRS), "repairs");
	ck_assert_str_eq(rd_sync_carry_stat_name(RD_SYNC_CARRY_STAT_COUNT), "unknown");
	ck_assert_str_eq(rd_sync_carry_stat_name(-1), "unknown");
}
END_TEST

/* A refused configuration leaves *out untouched; NULL is freed as a no-op. */
START_TEST(carry_refuses_bad_configurations)
{
	struct rd_state_table *t = plain_table(0x11);
	struct rd_sync_carry_config cfg;
	struct rd_sync_carry *c = (struct rd_sync_carry *)&cfg; /* must stay as it is */

	sec_config(&cfg, 0x11, 0, NULL); /* no table: the engine refuses */
	ck_assert_int_eq(rd_sync_carry_new(&cfg, &c), RD_ERR_INVAL);
	ck_assert_ptr_eq(c, (struct rd_sync_carry *)&cfg);
	sec_config(&cfg, 0x11, 0, t);
	cfg.channel.cb.send = NULL; /* nothing to transmit with */
	ck_assert_int_eq(rd_sync_carry_new(&cfg, &c), RD_ERR_INVAL);
	sec_config(&cfg, 0, 0, t); /* sender id 0: the channel refuses */
	ck_assert_int_eq(rd_sync_carry_new(&cfg, &c), RD_ERR_INVAL);
	ck_assert_int_eq(rd_sync_carry_new(NULL, &c), RD_ERR_INVAL);
	ck_assert_ptr_eq(c, (struct rd_sync_carry *)&cfg);
	sec_config(&cfg, 0x11, 0, t);
	c = NULL;
	ck_assert_int_eq(rd_sync_carry_new(&cfg, &c), 0);
	ck_assert_ptr_nonnull(rd_sync_carry_channel(c));
	ck_assert_ptr_nonnull(rd_sync_carry_engine(c));
	rd_sync_carry_free(c);
	rd_sync_carry_free(NULL);
	rd_state_table_free(t, 0);
}
END_TEST

START_TEST(engine_without_send_callback_is_refused)
{
	struct rd_state_table *t = plain_table(0x11);
	struct rd_sync_engine_config ec = {0};
	struct rd_sync_engine *e = NULL;

	ec.table = t;
	ck_assert_int_eq(rd_sync_engine_new(&ec, &e), RD_ERR_INVAL);
	ck_assert_ptr_null(e);
	rd_state_table_free(t, 0);
}
END_TEST

/* A fresh peer (it still holds all it ever sent) costs no bulk: nothing was lost. */
START_TEST(engines_on_channels_sync_a_state_and_fresh_peer_costs_no_bulk)
{
	struct rd_state_table *ta = plain_table(0x11), *tb = plain_table(0x22);
	struct rd_state_pkt p = pkt(17, RD_STATE_OUT, CLIENT, 5000, SERVER, 53);
	struct rd_state_opts o = {.rule = 0};
	struct rd_state *st = NULL;
	uint64_t cs[RD_SYNC_CARRY_STAT_COUNT];
	int rc;
	struct rd_sync_carry *a = sec_carry(0x11, 0, ta, 0, &rc);
	ck_assert_int_eq(rc, 0);
	struct rd_sync_carry *b = sec_carry(0x22, 0, tb, 0, &rc);
	ck_assert_int_eq(rc, 0);
	struct rd_sync_channel *ca = rd_sync_carry_channel(a), *cb = rd_sync_carry_channel(b);
	struct rd_sync_engine *ea = rd_sync_carry_engine(a), *eb = rd_sync_carry_engine(b);

	envq.n = 0;
	rd_sync_channel_handle_expiry(ca, RD_SEC); /* a's HELLO: a new peer for b */
	env_pump(0x11, cb, RD_SEC);
	ck_assert(!rd_sync_engine_bulk_pending(eb));

	envq.n = 0;
	ck_assert_int_eq(rd_state_create(ta, &p, &o, RD_SEC, &st), 0);
	rd_sync_engine_state_event(ea, st, RD_STATE_EV_INSERT, 0, RD_SEC);
	rd_sync_engine_flush(ea, RD_SEC);
	ck_assert_uint_eq(envq.n, 1);
	env_pump(0x11, cb, RD_SEC);
	ck_assert_ptr_nonnull(rd_state_find_id(tb, st->id, st->creatorid, RD_SEC));
	ck_assert_uint_eq(eng_stat(eb, RD_SYNC_ENGINE_STAT_INSERTS), 1);
	rd_sync_carry_stats(b, cs);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_DELIVERED], 1);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_REFUSED], 0);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_REPAIRS], 0);

	rd_sync_carry_free(a);
	rd_sync_carry_free(b);
	rd_state_table_free(ta, 0);
	rd_state_table_free(tb, 0);
}
END_TEST

/* ---- the state extension (redund/sync_ext.h) carried by the carry ---- */

struct ext_rx {
	struct rd_sync_carry *c; /* the receiving carry, for rd_sync_carry_ext_current */
	unsigned inserts;        /* INSERT events in the receiving table */
	unsigned found;          /* ... that found their record while the engine applied them */
	unsigned bad;            /* records found with the wrong mark */
	unsigned puts;           /* ext.put calls */
	uint64_t put_id[256];
	uint32_t put_mark[256], put_from[256];
	uint8_t payload[2048]; /* the last DATA payload delivered */
	size_t payload_len;
};
static struct ext_rx ext_rx;

/* Every state has mark 0x100 + id and the ftp helper. */
static bool ext_get_mark(void *user, uint64_t id, uint32_t creatorid, struct rd_sync_ext *out)
{
	(void)user;
	(void)creatorid;
	out->have = RD_SYNC_EXT_MARK | RD_SYNC_EXT_HELPER;
	out->mark = 0x100 + (uint32_t)id;
	strcpy(out->helper, "ftp");
	return true;
}

static void ext_put_rec(void *user, uint32_t from, uint64_t id, uint32_t creatorid,
                        const struct rd_sync_ext *x, rd_time_t now)
{
	(void)user;
	(void)creatorid;
	(void)now;
	ck_assert_uint_lt(ext_rx.puts, 256);
	ext_rx.put_id[ext_rx.puts] = id;
	ext_rx.put_from[ext_rx.puts] = from;
	ext_rx.put_mark[ext_rx.puts++] = x->mark;
}

static void ext_deliver(void *user, uint32_t from, uint64_t seq, const uint8_t *pl, size_t len,
                        rd_time_t now)
{
	(void)user;
	(void)from;
	(void)seq;
	(void)now;
	ck_assert_uint_le(len, sizeof(ext_rx.payload));
	memcpy(ext_rx.payload, pl, len);
	ext_rx.payload_len = len;
}

/* The receiving table's events: what a mirror's write would see of the record. */
static void ext_rx_event(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	struct rd_sync_ext x;

	(void)user;
	(void)why;
	(void)now;
	if (ev != RD_STATE_EV_INSERT || ext_rx.c == NULL)
		return;
	ext_rx.inserts++;
	if (rd_sync_carry_ext_current(ext_rx.c, st->id, st->creatorid, &x)) {
		ext_rx.found++;
		if (x.mark != 0x100 + (uint32_t)st->id || strcmp(x.helper, "ftp") != 0)
			ext_rx.bad++;
	}
}

static void sink_send(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	(void)user;
	(void)pkt;
	(void)len;
	(void)now;
}

static struct rd_state_table *event_table(uint32_t creatorid)
{
	struct rd_state_config sc;
	struct rd_state_table *t = NULL;

	rd_state_config_default(&sc);
	sc.creatorid = creatorid;
	sc.cb.event = ext_rx_event;
	ck_assert_int_eq(rd_state_table_new(&sc, &t), 0);
	return t;
}

/* A sender with the extension (reserve bytes kept for it) and a receiver, b's HELLO seen. */
static void ext_pair(struct rd_state_table *ta, struct rd_state_table *tb, size_t reserve,
                     bool b_ext, struct rd_sync_carry **a, struct rd_sync_carry **b)
{
	struct rd_sync_carry_config cfg;

	memset(&ext_rx, 0, sizeof(ext_rx));
	sec_config(&cfg, 0x11, 0, ta);
	cfg.ext.get = ext_get_mark;
	cfg.ext.reserve = reserve;
	ck_assert_int_eq(rd_sync_carry_new(&cfg, a), 0);
	sec_config(&cfg, 0x22, 0, tb);
	cfg.channel.cb.deliver = ext_deliver;
	if (b_ext)
		cfg.ext.put = ext_put_rec;
	ck_assert_int_eq(rd_sync_carry_new(&cfg, b), 0);
	ext_rx.c = *b;
	envq.n = 0;
	rd_sync_channel_handle_expiry(rd_sync_carry_channel(*a), RD_SEC);
	env_pump(0x11, rd_sync_carry_channel(*b), RD_SEC);
	envq.n = 0;
}

/* n new UDP states in ta, sent by a's engine. */
static void ext_inserts(struct rd_state_table *ta, struct rd_sync_carry *a, unsigned n)
{
	struct rd_sync_engine *ea = rd_sync_carry_engine(a);

	for (unsigned i = 0; i < n; i++) {
		struct rd_state_pkt p =
		    pkt(17, RD_STATE_OUT, CLIENT, (uint16_t)(6000 + i), SERVER, 53);
		struct rd_state_opts o = {.rule = 0};
		struct rd_state *st;

		ck_assert_int_eq(rd_state_create(ta, &p, &o, RD_SEC, &st), 0);
		rd_sync_engine_state_event(ea, st, RD_STATE_EV_INSERT, 0, RD_SEC);
	}
	rd_sync_engine_flush(ea, RD_SEC);
}

/*
 * The default reserve (ext.reserve 0) leaves a 1,412-byte payload room for
 * four full states and their records: 12 inserts go in 3 packets, every
 * record with its state, none in a payload of its own (a quarter of the
 * payload, the old default, left room for 3 states: 4 packets).
 */
START_TEST(carry_ext_default_reserve_fits_four_states_and_their_records)
{
	struct rd_state_table *ta = plain_table(0x11), *tb = event_table(0x22);
	struct rd_sync_carry *a, *b;
	uint64_t cs[RD_SYNC_CARRY_STAT_COUNT];

	ext_pair(ta, tb, 0, true, &a, &b);
	ck_assert_uint_eq(rd_sync_channel_payload_max(rd_sync_carry_channel(a)), 1412);
	ext_inserts(ta, a, 12);
	ck_assert_uint_eq(eng_stat(rd_sync_carry_engine(a), RD_SYNC_ENGINE_STAT_PKTS_OUT), 3);
	ck_assert_uint_eq(envq.n, 3);
	for (size_t i = 0; i < envq.n; i++)
		ck_assert_uint_le(envq.len[i], 1472);
	env_pump(0x11, rd_sync_carry_channel(b), RD_SEC);
	rd_sync_carry_stats(a, cs);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_EXT_SENT], 12);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_EXT_OVERFLOW], 0);
	ck_assert_uint_eq(ext_rx.inserts, 12);
	ck_assert_uint_eq(ext_rx.found, 12);
	rd_sync_carry_free(a);
	rd_sync_carry_free(b);
	rd_state_table_free(ta, 0);
	rd_state_table_free(tb, 0);
}
END_TEST

/*
 * Each inserted state's record travels in its packet's payload: the
 * receiving table sees it while the engine applies the insert (when a
 * mirror writes the kernel entry), and ext.put gets it afterwards.
 */
START_TEST(carry_ext_record_is_found_while_its_state_is_applied)
{
	struct rd_state_table *ta = plain_table(0x11), *tb = event_table(0x22);
	struct rd_sync_carry *a, *b;
	uint64_t cs[RD_SYNC_CARRY_STAT_COUNT];

	ext_pair(ta, tb, 0, true, &a, &b);
	ext_inserts(ta, a, 12);
	env_pump(0x11, rd_sync_carry_channel(b), RD_SEC);
	ck_assert_uint_eq(ext_rx.inserts, 12);
	ck_assert_uint_eq(ext_rx.found, 12);
	ck_assert_uint_eq(ext_rx.bad, 0);
	ck_assert_uint_eq(ext_rx.puts, 12);
	ck_assert_uint_eq(ext_rx.put_from[0], 0x11);
	ck_assert_uint_eq(ext_rx.put_mark[3], 0x100 + (uint32_t)ext_rx.put_id[3]);
	rd_sync_carry_stats(a, cs);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_EXT_SENT], 12);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_EXT_OVERFLOW], 0);
	rd_sync_carry_stats(b, cs);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_EXT_RECEIVED], 12);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_REFUSED], 0);
	/* Outside a delivery there is no current record. */
	struct rd_sync_ext x;
	ck_assert(!rd_sync_carry_ext_current(b, ext_rx.put_id[0], 0x11, &x));

	rd_sync_carry_free(a);
	rd_sync_carry_free(b);
	rd_state_table_free(ta, 0);
	rd_state_table_free(tb, 0);
}
END_TEST

/*
 * An engine that knows nothing of the extension (an older syncd, or plain
 * mode's reader) takes the payload's pfsync packet and ignores the section.
 */
START_TEST(carry_ext_section_is_ignored_by_an_engine_without_it)
{
	struct rd_state_table *ta = plain_table(0x11), *tb = event_table(0x22);
	struct rd_state_table *tc = plain_table(0x33);
	struct rd_sync_carry *a, *b;
	struct rd_sync_engine *ec = NULL;
	struct rd_sync_engine_config cfg;

	ext_pair(ta, tb, 0, false, &a, &b);
	ext_inserts(ta, a, 1);
	env_pump(0x11, rd_sync_carry_channel(b), RD_SEC);
	ck_assert_uint_eq(ext_rx.found, 1);
	/* The payload: one pfsync packet shorter than the payload, the section after it. */
	size_t plen = rd_get16(ext_rx.payload + 2);
	ck_assert_uint_lt(plen, ext_rx.payload_len);
	ck_assert_uint_eq(ext_rx.payload[plen], 'R');
	ck_assert_uint_eq(ext_rx.payload[plen + 1], 'X');
	rd_sync_engine_config_default(&cfg);
	cfg.table = tc;
	cfg.mtu = 1400;
	cfg.cb.send = sink_send;
	ck_assert_int_eq(rd_sync_engine_new(&cfg, &ec), 0);
	ck_assert_int_eq(rd_sync_engine_input(ec, ext_rx.payload, ext_rx.payload_len, RD_SEC), 0);
	ck_assert_uint_eq(rd_state_count(tc), 1);
	ck_assert_uint_eq(eng_stat(ec, RD_SYNC_ENGINE_STAT_INSERTS), 1);

	rd_sync_engine_free(ec);
	rd_sync_carry_free(a);
	rd_sync_carry_free(b);
	rd_state_table_free(ta, 0);
	rd_state_table_free(tb, 0);
	rd_state_table_free(tc, 0);
}
END_TEST

/*
 * Records that do not fit after their packet (no reserve kept) follow it in
 * a payload of their own; every one arrives, none is dropped.
 */
START_TEST(carry_ext_records_without_room_follow_in_their_own_payload)
{
	struct rd_state_table *ta = plain_table(0x11), *tb = event_table(0x22);
	struct rd_sync_carry *a, *b;
	uint64_t cs[RD_SYNC_CARRY_STAT_COUNT];

	ext_pair(ta, tb, 1, true, &a, &b);
	ext_inserts(ta, a, 40);
	env_pump(0x11, rd_sync_carry_channel(b), RD_SEC);
	rd_sync_carry_stats(a, cs);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_EXT_SENT], 40);
	ck_assert_uint_gt(cs[RD_SYNC_CARRY_STAT_EXT_OVERFLOW], 0);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_EXT_DROPPED], 0);
	ck_assert_uint_eq(ext_rx.inserts, 40);
	ck_assert_uint_eq(ext_rx.puts, 40);
	ck_assert_uint_eq(ext_rx.found + cs[RD_SYNC_CARRY_STAT_EXT_OVERFLOW], 40);
	rd_sync_carry_stats(b, cs);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_REFUSED], 0);

	rd_sync_carry_free(a);
	rd_sync_carry_free(b);
	rd_state_table_free(ta, 0);
	rd_state_table_free(tb, 0);
}
END_TEST

/* Moves envelopes both ways until none is left: a's to cb, b's to ca. */
static void env_exchange(struct rd_sync_channel *ca, struct rd_sync_channel *cb, rd_time_t now)
{
	for (int round = 0; round < 8 && envq.n > 0; round++) {
		struct envq q = envq;
		envq.n = 0;
		for (size_t i = 0; i < q.n; i++)
			rd_sync_channel_input(q.from[i] == 0x11 ? cb : ca, q.buf[i], q.len[i], now);
	}
}

/*
 * Runs both carries from `from` until b's bulk request ends or `until`, a
 * millisecond a step. Returns the time it stopped.
 */
static rd_time_t carry_run(struct rd_sync_carry *a, struct rd_sync_carry *b, rd_time_t from,
                           rd_time_t until)
{
	struct rd_sync_channel *ca = rd_sync_carry_channel(a), *cb = rd_sync_carry_channel(b);
	struct rd_sync_engine *ea = rd_sync_carry_engine(a), *eb = rd_sync_carry_engine(b);
	rd_time_t now;

	for (now = from; now < until && rd_sync_engine_bulk_pending(eb); now += RD_MSEC) {
		rd_sync_channel_handle_expiry(ca, now);
		rd_sync_channel_handle_expiry(cb, now);
		rd_sync_engine_handle_expiry(ea, now);
		rd_sync_engine_handle_expiry(eb, now);
		env_exchange(ca, cb, now);
	}
	return now;
}

static unsigned sec_demote_calls, sec_lost_calls;

static void sec_on_demote(void *user, int delta, rd_time_t now)
{
	(void)user;
	(void)delta;
	(void)now;
	sec_demote_calls++;
}

static struct rd_sync_carry *sec_lost_carry; /* whose engine sec_on_lost looks at */

/* The caller's `lost` sees the loss after the carry asked for the repair. */
static void sec_on_lost(void *user, uint32_t peer, rd_time_t now)
{
	(void)now;
	ck_assert_uint_eq((uint32_t)(uintptr_t)user, 0x22);
	ck_assert_uint_eq(peer, 0x11);
	ck_assert(rd_sync_engine_bulk_pending(rd_sync_carry_engine(sec_lost_carry)));
	sec_lost_calls++;
}

/*
 * The channel's `lost` (here: a new peer that sent messages before we met
 * it and no longer holds them) makes a repair: the node asks for the bulk
 * but never demotes itself for it (a running master hearing a peer it
 * missed must not step back).
 */
START_TEST(channel_lost_makes_a_repair_that_never_demotes)
{
	struct rd_state_table *ta = plain_table(0x11), *tb = plain_table(0x22);
	struct rd_sync_carry_config cfg;
	struct rd_sync_carry *a, *b = NULL;
	uint64_t cs[RD_SYNC_CARRY_STAT_COUNT];
	int rc;

	a = sec_carry(0x11, 0, ta, 0, &rc);
	ck_assert_int_eq(rc, 0);
	sec_config(&cfg, 0x22, 0, tb);
	cfg.engine.cb.demote = sec_on_demote;
	cfg.channel.cb.lost = sec_on_lost;
	ck_assert_int_eq(rd_sync_carry_new(&cfg, &b), 0);
	sec_lost_carry = b;
	sec_demote_calls = 0;
	sec_lost_calls = 0;
	/* a inserts a state while alone: its message is released unheard. */
	{
		struct rd_state_pkt p = pkt(17, RD_STATE_OUT, CLIENT, 5000, SERVER, 53);
		struct rd_state_opts o = {.rule = 0};
		struct rd_state *st;
		ck_assert_int_eq(rd_state_create(ta, &p, &o, RD_SEC / 2, &st), 0);
		rd_sync_engine_state_event(rd_sync_carry_engine(a), st, RD_STATE_EV_INSERT, 0,
		                           RD_SEC / 2);
		rd_sync_engine_flush(rd_sync_carry_engine(a), RD_SEC / 2);
	}
	envq.n = 0;
	rd_sync_channel_handle_expiry(rd_sync_carry_channel(a),
	                              2 * RD_SEC); /* a's HELLO: a new peer with a past for b */
	env_pump(0x11, rd_sync_carry_channel(b), 2 * RD_SEC);
	ck_assert(rd_sync_engine_bulk_pending(rd_sync_carry_engine(b)));
	ck_assert_int_eq(rd_sync_engine_demotion(rd_sync_carry_engine(b)), 0);
	ck_assert_uint_eq(sec_lost_calls, 1);
	rd_sync_carry_stats(b, cs);
	ck_assert_uint_eq(cs[RD_SYNC_CARRY_STAT_REPAIRS], 1);
	carry_run(a, b, RD_SEC, 8 * RD_SEC);
	/* b asked and got a's state; a (b was fresh) did not ask; neither demoted. */
	ck_assert_uint_eq(eng_stat(rd_sync_carry_engine(b), RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(eng_stat(rd_sync_carry_engine(a), RD_SYNC_ENGINE_STAT_BULK_OK), 0);
	ck_assert_uint_eq(rd_state_count(tb), 1);
	ck_assert_uint_eq(sec_demote_calls, 0);
	rd_sync_carry_free(a);
	rd_sync_carry_free(b);
	rd_state_table_free(ta, 0);
	rd_state_table_free(tb, 0);
}
END_TEST

/* n UDP states in t, CLIENT ports 6000 up to SERVER:53, created at 1 s. */
static void udp_fill(struct rd_state_table *t, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rd_state_pkt p =
		    pkt(17, RD_STATE_OUT, CLIENT, (uint16_t)(6000 + i), SERVER, 53);
		struct rd_state_opts o = {.rule = 0};
		ck_assert_int_eq(rd_state_create(t, &p, &o, RD_SEC, NULL), 0);
	}
}

/*
 * A bulk answer does not wait for the asker's next HELLO (up to a hello
 * interval, 1 s): what the asker sent before its request was delivered
 * before the request, in order. The two meet at 1 s, b asks at 1.2 s, and
 * the whole answer has arrived 10 ms later, without a bulk_waited.
 */
START_TEST(bulk_answer_does_not_wait_for_the_askers_next_hello)
{
	struct rd_state_table *ta = plain_table(0x11), *tb = plain_table(0x22);
	struct rd_sync_carry *a, *b;
	struct rd_sync_channel *ca, *cb;
	struct rd_sync_engine *ea, *eb;
	rd_time_t now, asked = RD_SEC + 200 * RD_MSEC;
	int rc;

	udp_fill(ta, 50);
	a = sec_carry(0x11, 0, ta, 0, &rc);
	ck_assert_int_eq(rc, 0);
	b = sec_carry(0x22, 0, tb, 0, &rc);
	ck_assert_int_eq(rc, 0);
	ca = rd_sync_carry_channel(a);
	cb = rd_sync_carry_channel(b);
	ea = rd_sync_carry_engine(a);
	eb = rd_sync_carry_engine(b);
	envq.n = 0;
	for (now = RD_SEC; now < asked; now += RD_MSEC) { /* HELLOs: they meet */
		rd_sync_channel_handle_expiry(ca, now);
		rd_sync_channel_handle_expiry(cb, now);
		env_exchange(ca, cb, now);
	}
	ck_assert(rd_sync_channel_caught_up(ca, RD_SEC, now));
	ck_assert(!rd_sync_channel_caught_up(ca, asked, asked)); /* no HELLO of b since */
	rd_sync_engine_bulk_request(eb, asked);
	now = carry_run(a, b, asked, asked + 2 * RD_SEC);
	ck_assert(!rd_sync_engine_bulk_pending(eb));
	ck_assert_uint_eq(eng_stat(eb, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(rd_state_count(tb), 50);
	ck_assert_int_le(now - asked, 10 * RD_MSEC);
	ck_assert_uint_eq(eng_stat(ea, RD_SYNC_ENGINE_STAT_BULK_WAITED), 0);
	rd_sync_carry_free(a);
	rd_sync_carry_free(b);
	rd_state_table_free(ta, 0);
	rd_state_table_free(tb, 0);
}
END_TEST

/* Delivers the queued envelopes to every channel but the sender's (one LAN), until none is left. */
static void env_exchange_all(struct rd_sync_channel *const *chs, const uint32_t *ids, size_t n,
                             rd_time_t now)
{
	for (int round = 0; round < 8 && envq.n > 0; round++) {
		struct envq q = envq;
		envq.n = 0;
		for (size_t i = 0; i < q.n; i++)
			for (size_t j = 0; j < n; j++)
				if (ids[j] != q.from[i])
					rd_sync_channel_input(chs[j], q.buf[i], q.len[i], now);
	}
}

/*
 * Three members: b asks at 1.2 s and a answers. The answer waits for a
 * HELLO of c sent after the request (c may have sent a state a lacks);
 * c sends it on hearing the request (rd_sync_channel_hello_soon), so the
 * whole answer is in within 20 ms, not after c's next periodic HELLO (up
 * to a hello interval: 800 ms here without it).
 */
START_TEST(bulk_answer_among_three_waits_a_round_trip_not_a_hello_interval)
{
	const uint32_t ids[3] = {0x11, 0x22, 0x33};
	struct rd_state_table *t[3];
	struct rd_sync_carry *cr[3];
	struct rd_sync_channel *ch[3];
	rd_time_t now, asked = RD_SEC + 200 * RD_MSEC;
	int rc;

	for (int i = 0; i < 3; i++) {
		t[i] = plain_table(ids[i]);
		cr[i] = sec_carry(ids[i], 0, t[i], 0, &rc);
		ck_assert_int_eq(rc, 0);
		ch[i] = rd_sync_carry_channel(cr[i]);
	}
	udp_fill(t[0], 50);
	envq.n = 0;
	for (now = RD_SEC; now < asked; now += RD_MSEC) { /* HELLOs: they meet */
		for (int i = 0; i < 3; i++)
			rd_sync_channel_handle_expiry(ch[i], now);
		env_exchange_all(ch, ids, 3, now);
	}
	rd_sync_engine_bulk_request(rd_sync_carry_engine(cr[1]), asked);
	for (now = asked;
	     now < asked + 2 * RD_SEC && rd_sync_engine_bulk_pending(rd_sync_carry_engine(cr[1]));
	     now += RD_MSEC) {
		for (int i = 0; i < 3; i++) {
			rd_sync_channel_handle_expiry(ch[i], now);
			rd_sync_engine_handle_expiry(rd_sync_carry_engine(cr[i]), now);
		}
		env_exchange_all(ch, ids, 3, now);
	}
	ck_assert_uint_eq(eng_stat(rd_sync_carry_engine(cr[1]), RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(rd_state_count(t[1]), 50);
	ck_assert_int_le(now - asked, 20 * RD_MSEC);
	for (int i = 0; i < 3; i++) {
		rd_sync_carry_free(cr[i]);
		rd_state_table_free(t[i], 0);
	}
}
END_TEST

/*
 * A channel whose whole window (min(resend_slots, hold_slots)) is within
 * the RD_SYNC_ENGINE_ROOM_RESERVE packets kept for live changes still
 * answers a bulk: one packet at a time, each once the last is acknowledged.
 */
START_TEST(bulk_over_a_channel_with_a_window_of_16_completes)
{
	struct rd_state_table *ta = plain_table(0x11), *tb = plain_table(0x22);
	struct rd_sync_carry *a, *b;
	int rc;

	udp_fill(ta, 50);
	sec_resend_slots = 16;
	a = sec_carry(0x11, 0, ta, 0, &rc);
	ck_assert_int_eq(rc, 0);
	b = sec_carry(0x22, 0, tb, 0, &rc);
	ck_assert_int_eq(rc, 0);
	sec_resend_slots = 0;
	envq.n = 0;
	rd_sync_engine_bulk_request(rd_sync_carry_engine(b), RD_SEC);
	carry_run(a, b, RD_SEC, 3 * RD_SEC);
	ck_assert(!rd_sync_engine_bulk_pending(rd_sync_carry_engine(b)));
	ck_assert_uint_eq(eng_stat(rd_sync_carry_engine(b), RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(rd_state_count(tb), 50);
	rd_sync_carry_free(a);
	rd_sync_carry_free(b);
	rd_state_table_free(ta, 0);
	rd_state_table_free(tb, 0);
}
END_TEST

/* A peer's INS_ACK for (id, creatorid), alone in a packet, given to nd's engine at `now`. */
static void give_ins_ack(struct node *nd, uint64_t id, uint32_t cid, rd_time_t now)
{
	struct rd_pfsync_msg m;
	uint8_t buf[1480];
	size_t len;

	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_INS_ACK;
	m.u.ref.id = id;
	m.u.ref.creatorid = cid;
	len = msg_pkt(buf, &m);
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(rd_sync_engine_input(nd->e, buf, len, now), 0);
}

/*
 * No INS_ACK: each deferred packet is held until exactly defer_timeout
 * (default 20 ms) after its rd_sync_engine_defer, by the time given to
 * rd_sync_engine_handle_expiry, not a nanosecond earlier, and each release counts
 * defer_timeout (never defer_acked). An INS_ACK after the timeout changes
 * nothing.
 */
START_TEST(deferred_packet_held_until_exactly_the_timeout_and_counted_defer_timeout)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];
	const rd_time_t t0 = RD_SEC, t1 = RD_SEC + 5 * RD_MSEC;
	struct rd_state *st1 = udp_state(a, 6000, t0), *st2;
	uint64_t id1 = st1->id;
	uint32_t cid1 = st1->creatorid;

	ck_assert_int_eq(rd_sync_engine_defer(a->e, st1, 11, t0), 0);
	st2 = udp_state(a, 6001, t1);
	ck_assert_int_eq(rd_sync_engine_defer(a->e, st2, 12, t1), 0);
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), t0 + 20 * RD_MSEC);

	/* 19.999 ms, then the last nanosecond before 20 ms: still held. */
	rd_sync_engine_handle_expiry(a->e, t0 + 19999 * RD_USEC);
	ck_assert_uint_eq(a->nreleased, 0);
	rd_sync_engine_handle_expiry(a->e, t0 + 20 * RD_MSEC - 1);
	ck_assert_uint_eq(a->nreleased, 0);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_TIMEOUT), 0);

	/* 20 ms: the first goes, unacknowledged; the second is 5 ms younger. */
	rd_sync_engine_handle_expiry(a->e, t0 + 20 * RD_MSEC);
	ck_assert_uint_eq(a->nreleased, 1);
	ck_assert_uint_eq(a->released[0], 11);
	ck_assert(!a->released_acked[0]);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_TIMEOUT), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_ACKED), 0);
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), t1 + 20 * RD_MSEC);

	rd_sync_engine_handle_expiry(a->e, t1 + 19999 * RD_USEC);
	ck_assert_uint_eq(a->nreleased, 1);
	rd_sync_engine_handle_expiry(a->e, t1 + 20 * RD_MSEC);
	ck_assert_uint_eq(a->nreleased, 2);
	ck_assert_uint_eq(a->released[1], 12);
	ck_assert(!a->released_acked[1]);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_TIMEOUT), 2);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_ACKED), 0);
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), RD_TIME_NEVER);

	/* The peer's INS_ACK comes late: nothing is held any more. */
	give_ins_ack(a, id1, cid1, t1 + 30 * RD_MSEC);
	rd_sync_engine_handle_expiry(a->e, t1 + 30 * RD_MSEC);
	ck_assert_uint_eq(a->nreleased, 2);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_TIMEOUT), 2);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_ACKED), 0);
	net_free(net);
}
END_TEST

/*
 * An INS_ACK releases its state's deferred packet during the
 * rd_sync_engine_input call that carries it, 1 us or 19.999 ms after the
 * defer alike, and only that one; each counts defer_acked, and the timeout
 * then releases nothing more (defer_timeout stays 0).
 */
START_TEST(deferred_packet_released_at_once_by_ins_ack_and_counted_defer_acked)
{
	struct net *net = net_new(1);
	struct node *a = net->nodes[0];
	const rd_time_t t0 = RD_SEC;
	struct rd_state *st1 = udp_state(a, 7000, t0), *st2 = udp_state(a, 7001, t0);
	uint64_t id1 = st1->id, id2 = st2->id;
	uint32_t cid = st1->creatorid;

	ck_assert_int_eq(rd_sync_engine_defer(a->e, st1, 21, t0), 0);
	ck_assert_int_eq(rd_sync_engine_defer(a->e, st2, 22, t0), 0);
	ck_assert_uint_eq(a->nreleased, 0);

	/* st2's INS_ACK 1 us later: st2's packet goes in that call, st1's stays. */
	give_ins_ack(a, id2, cid, t0 + RD_USEC);
	ck_assert_uint_eq(a->nreleased, 1);
	ck_assert_uint_eq(a->released[0], 22);
	ck_assert(a->released_acked[0]);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_ACKED), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_TIMEOUT), 0);
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), t0 + 20 * RD_MSEC);

	/* st1's INS_ACK at 19.999 ms, just inside the timeout: acknowledged. */
	give_ins_ack(a, id1, cid, t0 + 19999 * RD_USEC);
	ck_assert_uint_eq(a->nreleased, 2);
	ck_assert_uint_eq(a->released[1], 21);
	ck_assert(a->released_acked[1]);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_ACKED), 2);
	ck_assert_uint_eq(rd_sync_engine_expiry(a->e), RD_TIME_NEVER);

	/* The 20 ms mark and a duplicate INS_ACK release nothing more. */
	rd_sync_engine_handle_expiry(a->e, t0 + 20 * RD_MSEC);
	give_ins_ack(a, id2, cid, t0 + 21 * RD_MSEC);
	rd_sync_engine_handle_expiry(a->e, t0 + RD_SEC);
	ck_assert_uint_eq(a->nreleased, 2);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_ACKED), 2);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_DEFER_TIMEOUT), 0);
	net_free(net);
}
END_TEST

/*
 * Full states are applied in batches (prefetching their index entries);
 * the packet's order must hold across a batch boundary and around the
 * other messages: 40 INS, a DEL_C of the 3rd, an UPD_C of the 40th, then
 * an INS of the deleted state again (stale: older than its delete).
 */
START_TEST(packet_messages_apply_in_order_across_the_import_batch)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_pfsync_builder bld;
	struct rd_pfsync_msg ins[40], m;
	struct rd_state_info info;
	static uint8_t buf[65535];
	size_t len;

	for (int i = 0; i < 40; i++) {
		struct rd_state *st = tcp_state(a, (uint16_t)(6000 + i), RD_SEC);
		memset(&ins[i], 0, sizeof(ins[i]));
		ins[i].action = RD_PFSYNC_ACT_INS;
		rd_state_export(a->t, st, RD_SEC, &info);
		rd_sync_state_to_pfsync(&info, &ins[i].u.state);
	}
	rd_pfsync_builder_init(&bld, buf, sizeof(buf));
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(rd_pfsync_builder_add(&bld, &ins[i]), 0);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_DEL_C;
	m.u.ref.id = ins[2].u.state.id;
	m.u.ref.creatorid = ins[2].u.state.creatorid;
	ck_assert_int_eq(rd_pfsync_builder_add(&bld, &m), 0);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD_C;
	m.u.upd_c.id = ins[39].u.state.id;
	m.u.upd_c.creatorid = ins[39].u.state.creatorid;
	m.u.upd_c.src = ins[39].u.state.src;
	m.u.upd_c.dst = ins[39].u.state.dst;
	m.u.upd_c.src.state = RD_PFSYNC_TCPS_FIN_WAIT_1;
	m.u.upd_c.timeout = RD_PFSYNC_TM_TCP_CLOSING;
	ck_assert_int_eq(rd_pfsync_builder_add(&bld, &m), 0);
	ck_assert_int_eq(rd_pfsync_builder_add(&bld, &ins[2]), 0);
	len = rd_pfsync_builder_finish(&bld);

	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, len, 2 * RD_SEC), 0);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_INSERTS), 40);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_DELETES), 1);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_STALE), 1);
	ck_assert_uint_eq(rd_state_count(b->t), 39);
	ck_assert_ptr_null(
	    rd_state_find_id(b->t, ins[2].u.state.id, ins[2].u.state.creatorid, 2 * RD_SEC));
	struct rd_state *last =
	    rd_state_find_id(b->t, ins[39].u.state.id, ins[39].u.state.creatorid, 2 * RD_SEC);
	ck_assert_ptr_nonnull(last);
	ck_assert_uint_eq(last->src.state, RD_TCPS_FIN_WAIT_1);
	net_free(net);
}
END_TEST

/*
 * A callback run during rd_sync_engine_input (here cb.release, by the
 * peer's INS_ACK) that gives the engine another packet is refused: the
 * batch of the outer call would be applied twice.
 */
START_TEST(input_from_a_callback_of_input_is_refused)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);
	struct rd_pfsync_msg m;
	uint8_t other[1480];

	ck_assert_int_eq(rd_sync_engine_defer(a->e, st, 77, RD_SEC), 0);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_CLR;
	m.u.clr.creatorid = 0x99;
	reenter_len = msg_pkt(other, &m);
	reenter_pkt = other;
	reenter_rc = 0;
	give_ins_ack(a, st->id, st->creatorid, RD_SEC + RD_MSEC);
	reenter_pkt = NULL;
	ck_assert_uint_eq(a->nreleased, 1);
	ck_assert_int_eq(reenter_rc, RD_ERR_STATE);
	/* Outside any input the same packet is taken. */
	ck_assert_int_eq(rd_sync_engine_input(a->e, other, reenter_len, RD_SEC + 2 * RD_MSEC), 0);
	net_free(net);
}
END_TEST

/*
 * A mark from an earlier bulk does not make a state "touched" again when a
 * later, unrelated bulk runs: the first bulk of a period clears them all.
 */
START_TEST(marks_of_an_old_bulk_do_not_count_in_a_later_one)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state_pkt reply = pkt(17, RD_STATE_IN, SERVER, 53, CLIENT, 5000);
	struct rd_state_result res;
	struct rd_pfsync_msg m;
	uint8_t buf[1480];
	size_t len;

	udp_state(a, 5000, RD_SEC);
	rd_sync_engine_flush(a->e, RD_SEC);
	net->nq = 0;
	rd_sync_engine_bulk_request(b->e, 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 2 * RD_SEC + 100 * RD_MSEC);
	ck_assert_uint_eq(rd_state_count(b->t), 1);
	/* 30 s later an empty bulk from another node starts (and stays open). */
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_BUS;
	m.u.bus.creatorid = 0x99;
	m.u.bus.status = RD_PFSYNC_BUS_START;
	len = msg_pkt(buf, &m);
	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, len, 30 * RD_SEC), 0);
	/* b's update of the old state waits for the flush delay. */
	ck_assert_int_eq(rd_state_packet(b->t, &reply, 31 * RD_SEC, &res), RD_STATE_PASS);
	ck_assert_uint_eq(rd_sync_engine_expiry(b->e), 32 * RD_SEC);
	net_free(net);
}
END_TEST

/*
 * During a bulk, new states skip the tombstone lookup only while nothing is
 * buried: a bulk's copy of a state whose delete we applied stays out.
 */
START_TEST(bulk_copy_of_a_buried_state_stays_out)
{
	struct net *net = net_new(2);
	struct node *a = net->nodes[0], *b = net->nodes[1];
	struct rd_state *st = udp_state(a, 5000, RD_SEC);
	struct rd_pfsync_builder bld;
	struct rd_state_info info;
	struct rd_pfsync_msg m;
	uint8_t buf[1480];
	size_t len;

	net_run(net, RD_SEC, 2 * RD_SEC);
	ck_assert_uint_eq(rd_state_count(b->t), 1);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD;
	rd_state_export(a->t, st, 2 * RD_SEC, &info);
	rd_sync_state_to_pfsync(&info, &m.u.state);
	rd_state_remove(a->t, st, 3 * RD_SEC);
	net_run(net, 3 * RD_SEC, 4500 * RD_MSEC); /* the DEL_C goes within the flush delay */
	ck_assert_uint_eq(rd_state_count(b->t), 0);
	/* A late bulk from a third node carries the old copy. */
	rd_pfsync_builder_init(&bld, buf, sizeof(buf));
	struct rd_pfsync_msg start = {.action = RD_PFSYNC_ACT_BUS};
	start.u.bus.creatorid = 0x99;
	start.u.bus.status = RD_PFSYNC_BUS_START;
	ck_assert_int_eq(rd_pfsync_builder_add(&bld, &start), 0);
	ck_assert_int_eq(rd_pfsync_builder_add(&bld, &m), 0);
	len = rd_pfsync_builder_finish(&bld);
	uint64_t stale = estat(b, RD_SYNC_ENGINE_STAT_STALE);
	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, len, 5 * RD_SEC), 0);
	ck_assert_uint_eq(rd_state_count(b->t), 0);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_STALE), stale + 1);
	net_free(net);
}
END_TEST

/*
 * Messages of different senders are not ordered: the creator's DEL_C can
 * reach us before another member's older UPD of the state, which we never
 * held. With trusted peers (authenticated: the carry) the
 * delete of an unknown state leaves a tombstone and the late copy stays
 * out; with raw pfsync (no bulk running) it does not, so forged deletes
 * cannot fill memory.
 */
static void late_copy_after_unknown_delete(bool authenticated)
{
	struct net *net;
	struct node *a, *b;
	struct rd_state *st;
	struct rd_state_info info;
	struct rd_pfsync_msg m, del;
	uint8_t buf[1480];

	reconcile_all = trusted_all = authenticated;
	net = net_new(2);
	reconcile_all = trusted_all = false;
	a = net->nodes[0];
	b = net->nodes[1];
	st = udp_state(a, 5000, RD_SEC);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD;
	rd_state_export(a->t, st, RD_SEC, &info);
	rd_sync_state_to_pfsync(&info, &m.u.state);
	memset(&del, 0, sizeof(del));
	del.action = RD_PFSYNC_ACT_DEL_C;
	del.u.ref.id = st->id;
	del.u.ref.creatorid = st->creatorid;
	net->nq = 0; /* b never saw the insert */
	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, msg_pkt(buf, &del), 2 * RD_SEC), 0);
	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, msg_pkt(buf, &m), 2 * RD_SEC + RD_MSEC),
	                 0);
	ck_assert_uint_eq(rd_state_count(b->t), authenticated ? 0 : 1);
	net_free(net);
}

/*
 * A member restarts (its table kept, or empty) while the cluster deletes a
 * state; a peer's resend of an update it sent before the restart reaches
 * the member only after its join's answer (sync-sim seed 766). With trusted
 * peers the answer ends with the answerer's tombstones, so the late copy is
 * refused as stale; without them it comes back.
 */
static void late_copy_after_a_join(bool trusted)
{
	struct net *net;
	struct node *a, *b;
	struct rd_state *st;
	struct rd_state_info info;
	struct rd_pfsync_msg m;
	uint8_t buf[1480];

	reconcile_all = trusted_all = trusted;
	net = net_new(2);
	reconcile_all = trusted_all = false;
	a = net->nodes[0];
	b = net->nodes[1];
	st = udp_state(a, 5000, RD_SEC);
	udp_state(a, 5001, RD_SEC);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD;
	rd_state_export(a->t, st, RD_SEC, &info);
	rd_sync_state_to_pfsync(&info, &m.u.state); /* in a peer's resend buffer */
	net->deaf = 1u << 1;                        /* b is down */
	net_run(net, RD_SEC, 2 * RD_SEC);
	rd_state_remove(a->t, st, 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 3 * RD_SEC);
	net->deaf = 0;
	rd_sync_engine_bulk_request(b->e, 4 * RD_SEC); /* b is back and joins */
	net_run(net, 4 * RD_SEC, 6 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	ck_assert_uint_eq(rd_state_count(b->t), 1);
	ck_assert_uint_eq(estat(a, RD_SYNC_ENGINE_STAT_TOMBS_SENT), trusted ? 1 : 0);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BURIED), trusted ? 1 : 0);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BADSTATE), 0);
	uint64_t stale = estat(b, RD_SYNC_ENGINE_STAT_STALE);
	ck_assert_int_eq(rd_sync_engine_input(b->e, buf, msg_pkt(buf, &m), 6 * RD_SEC), 0);
	ck_assert_uint_eq(rd_state_count(b->t), trusted ? 1 : 2);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_STALE), stale + (trusted ? 1 : 0));
	net_free(net);
}

START_TEST(a_joiner_refuses_a_late_copy_of_a_state_deleted_while_it_was_away)
{
	late_copy_after_a_join(true);
	late_copy_after_a_join(false);
}
END_TEST

/*
 * The tombstones of a bulk answer span several packets (one a tick), and
 * the oldest expire while it runs: the answer resumes from its cursor, or
 * from the oldest tombstone still kept once the cursor's expired. Every
 * tombstone sent is kept by the joiner, and a late copy of any of them is
 * refused; none that expired before its packet went is sent.
 */
START_TEST(bulk_tombstones_span_packets_and_skip_the_expired)
{
	struct net *net;
	struct node *a, *b;
	struct rd_state *st[300];
	struct rd_pfsync_msg m[300];
	uint8_t buf[1480];

	reconcile_all = trusted_all = true;
	next_bulk_packets = 1;
	next_bulk_interval = 100 * RD_MSEC;
	next_tombstone = 10 * RD_SEC;
	net = net_new(2);
	reconcile_all = trusted_all = false;
	next_bulk_packets = 0;
	next_bulk_interval = 0;
	next_tombstone = 0;
	a = net->nodes[0];
	b = net->nodes[1];
	for (int i = 0; i < 300; i++) {
		struct rd_state_info info;
		st[i] = udp_state(a, (uint16_t)(5000 + i), RD_SEC);
		memset(&m[i], 0, sizeof(m[i]));
		m[i].action = RD_PFSYNC_ACT_UPD;
		rd_state_export(a->t, st[i], RD_SEC, &info);
		rd_sync_state_to_pfsync(&info, &m[i].u.state);
	}
	net->deaf = 1u << 1; /* b is down */
	net_run(net, RD_SEC, 2 * RD_SEC);
	for (int i = 0; i < 150; i++) /* tombstones until 12 s */
		rd_state_remove(a->t, st[i], 2 * RD_SEC);
	net_run(net, 2 * RD_SEC, 3 * RD_SEC);
	for (int i = 150; i < 300; i++) /* until 13 s */
		rd_state_remove(a->t, st[i], 3 * RD_SEC);
	net_run(net, 3 * RD_SEC, 11 * RD_SEC + 900 * RD_MSEC);
	net->deaf = 0;
	rd_sync_engine_bulk_request(b->e, 11 * RD_SEC + 900 * RD_MSEC);
	net_run(net, 11 * RD_SEC + 900 * RD_MSEC, 13 * RD_SEC);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BULK_OK), 1);
	uint64_t sent = estat(a, RD_SYNC_ENGINE_STAT_TOMBS_SENT);
	ck_assert_uint_ge(estat(a, RD_SYNC_ENGINE_STAT_PKTS_OUT), 3);
	ck_assert_uint_gt(sent, 150); /* the first packet had some of the oldest */
	ck_assert_uint_lt(sent, 300); /* the rest of them expired before theirs */
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_BURIED), sent);
	uint64_t stale = estat(b, RD_SYNC_ENGINE_STAT_STALE);
	for (int i = 150; i < 300; i++) /* every younger one reached b */
		ck_assert_int_eq(rd_sync_engine_input(b->e, buf, msg_pkt(buf, &m[i]), 13 * RD_SEC),
		                 0);
	ck_assert_uint_eq(estat(b, RD_SYNC_ENGINE_STAT_STALE), stale + 150);
	ck_assert_uint_eq(rd_state_count(b->t), 0);
	net_free(net);
}
END_TEST

START_TEST(late_copy_of_another_member_after_an_unknown_delete_stays_out)
{
	late_copy_after_unknown_delete(true);
	late_copy_after_unknown_delete(false);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("engine");
	TCase *c = tcase_create("engine");

	tcase_add_test(c, insert_reaches_peer_within_flush_delay);
	tcase_add_test(c, late_copy_of_another_member_after_an_unknown_delete_stays_out);
	tcase_add_test(c, a_joiner_refuses_a_late_copy_of_a_state_deleted_while_it_was_away);
	tcase_add_test(c, bulk_tombstones_span_packets_and_skip_the_expired);
	tcase_add_test(c, insert_then_delete_before_flush_sends_nothing);
	tcase_add_test(c, update_and_delete_follow_the_state);
	tcase_add_test(c, states_pack_five_to_a_1500_byte_packet);
	tcase_add_test(c, unknown_state_update_is_requested_and_answered);
	tcase_add_test(c, stale_update_is_answered_with_our_newer_state);
	tcase_add_test(c, update_of_state_touched_by_peer_goes_at_once);
	tcase_add_test(c, tcp_updates_flush_after_maxupd);
	tcase_add_test(c, bulk_update_copies_table_and_holds_demotion);
	tcase_add_test(c, bulk_copy_with_nothing_new_changes_nothing);
	tcase_add_test(c, applied_state_keeps_the_senders_time_next_bulk_changes_nothing);
	tcase_add_test(c, bulk_request_flood_costs_one_table_a_second);
	tcase_add_test(c, bulk_request_ends_with_any_bulk_that_started_after_it);
	tcase_add_test(c, bulk_reconcile_removes_states_whose_delete_was_lost);
	tcase_add_test(c, second_bulk_reconciles_a_state_the_first_bulk_carried);
	tcase_add_test(c, bulk_carried_state_counts_as_touched_for_the_active_window);
	tcase_add_test(c, late_copy_of_deleted_state_does_not_bring_it_back);
	tcase_add_test(c, bulk_is_paced_by_transport_room);
	tcase_add_test(c, bulk_rate_sets_the_pace_in_states_a_second);
	tcase_add_test(c, packet_messages_apply_in_order_across_the_import_batch);
	tcase_add_test(c, input_from_a_callback_of_input_is_refused);
	tcase_add_test(c, marks_of_an_old_bulk_do_not_count_in_a_later_one);
	tcase_add_test(c, bulk_copy_of_a_buried_state_stays_out);
	tcase_add_test(c, bulk_request_without_answer_gives_up_and_undemotes);
	tcase_add_test(c, repair_never_calls_demote);
	tcase_add_test(c, join_demotes_once_and_undemotes_once_on_bus_end);
	tcase_add_test(c, join_undemotes_once_on_failure);
	tcase_add_test(c, join_undemotes_once_when_the_bulk_times_out);
	tcase_add_test(c, named_answerer_alone_answers_with_its_whole_table);
	tcase_add_test(c, stalled_answer_is_asked_again_of_the_next_member);
	tcase_add_test(c, answer_waits_for_bulk_ready_at_most_ready_max);
	tcase_add_test(c, request_while_our_own_runs_is_answered_after_it);
	tcase_add_test(c, repair_reaching_a_joining_member_is_answered_after_its_join);
	tcase_add_test(c, request_waits_while_no_answerer_is_known);
	tcase_add_test(c, repair_outside_a_join_asks_every_member);
	tcase_add_test(c, deferred_answer_goes_once_nobody_is_better_placed);
	tcase_add_test(c, request_while_our_own_runs_goes_at_once_when_nobody_is_better_placed);
	tcase_add_test(c,
	               openbsd_paced_bulk_of_20000_states_keeps_the_joiner_demoted_until_bus_end);
	tcase_add_test(c, repair_during_join_keeps_the_join_demotion_until_it_ends);
	tcase_add_test(c, join_during_repair_demotes);
	tcase_add_test(c, requests_from_inside_send_keep_join_or_repair);
	tcase_add_test(c, deferred_packet_released_by_peer_ack);
	tcase_add_test(c, deferred_packet_released_after_20ms_without_peer);
	tcase_add_test(c, refused_packet_changes_nothing);
	tcase_add_test(c, bad_value_costs_its_message_and_the_rest_is_applied);
	tcase_add_test(c, values_the_table_cannot_hold_are_counted_badval);
	tcase_add_test(c, delete_of_unknown_state_is_counted_badstate);
	tcase_add_test(c, clr_removes_states_of_that_creator);
	tcase_add_test(c, full_state_brings_the_senders_time_or_a_fresh_one_for_0);
	tcase_add_test(c, openbsd_state_exports_the_bytes_it_came_with_for_every_flag_bit);
	tcase_add_test(c, local_state_exports_rtableid_unset_as_minus_one);
	tcase_add_test(c, clr_with_an_interface_clears_only_states_bound_to_it);
	tcase_add_test(c,
	               ins_of_a_state_we_hold_is_applied_and_acknowledged_unless_its_key_differs);
	tcase_add_test(c, maxupd_1_flushes_the_second_update_as_openbsd_maxupd_0);
	tcase_add_test(c, conversion_round_trips_and_refuses_proxy_states);
	tcase_add_test(c, tdb_is_passed_to_the_caller_and_interfaces_map_by_name);
	tcase_add_test(c, engine_stat_names_cover_every_counter);
	tcase_add_test(c, config_defaults_fill_documented_values);
	tcase_add_test(c, carry_stat_names_cover_every_counter);
	tcase_add_test(c, carry_ext_record_is_found_while_its_state_is_applied);
	tcase_add_test(c, carry_ext_default_reserve_fits_four_states_and_their_records);
	tcase_add_test(c, carry_ext_section_is_ignored_by_an_engine_without_it);
	tcase_add_test(c, carry_ext_records_without_room_follow_in_their_own_payload);
	tcase_add_test(c, engine_on_channel_takes_channel_payload_max_and_refuses_larger_mtu);
	tcase_add_test(c, carry_refuses_bad_configurations);
	tcase_add_test(c, engine_without_send_callback_is_refused);
	tcase_add_test(c, engines_on_channels_sync_a_state_and_fresh_peer_costs_no_bulk);
	tcase_add_test(c, bulk_over_a_channel_with_a_window_of_16_completes);
	tcase_add_test(c, bulk_answer_does_not_wait_for_the_askers_next_hello);
	tcase_add_test(c, bulk_answer_among_three_waits_a_round_trip_not_a_hello_interval);
	tcase_add_test(c, channel_lost_makes_a_repair_that_never_demotes);
	tcase_add_test(c, deferred_packet_held_until_exactly_the_timeout_and_counted_defer_timeout);
	tcase_add_test(c, deferred_packet_released_at_once_by_ins_ack_and_counted_defer_acked);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	if (rd_init() != 0)
		return EXIT_FAILURE;
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
