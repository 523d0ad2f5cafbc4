/* Unit tests for the cluster simulator (libredund/sim/sim.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "redund/sim.h"

#define MAX_RX 20000

/* A test node: optionally sends a numbered packet every `period`, and
 * records what it receives. */
struct tnode {
	struct rd_sim *sim;
	int id, seg;
	rd_time_t period, next; /* next == RD_TIME_NEVER: no timer */
	uint32_t seq;
	uint32_t limit; /* stop after this many sends (0: no limit) */
	size_t nrx;
	struct {
		rd_time_t t;
		int sender, seg;
		uint32_t seq;
	} rx[MAX_RX];
	int timers, crashes, restarts;
	rd_time_t restart_time, last_timer;
	int ncarrier; /* carrier callbacks: (segment, up, time) */
	struct {
		int seg;
		bool up;
		rd_time_t t;
	} carrier[8];
	bool no_carrier; /* its own sending segment lost carrier */
};

static void make_pkt(uint8_t *p, int sender, uint32_t seq)
{
	memset(p, 0, 28);
	p[0] = 0x45;
	rd_put16(p + 2, 28);
	p[8] = 255;
	p[9] = 253; /* experimental protocol number */
	p[12] = 10;
	p[15] = (uint8_t)(sender + 1);
	p[16] = 224;
	p[19] = 18;
	p[20] = (uint8_t)sender;
	rd_put32(p + 24, seq);
}

static void t_deliver(void *user, int seg, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct tnode *n = user;
	ck_assert_uint_eq(len, 28);
	if (n->nrx < MAX_RX) {
		n->rx[n->nrx].t = now;
		n->rx[n->nrx].sender = pkt[20];
		n->rx[n->nrx].seg = seg;
		n->rx[n->nrx].seq = rd_get32(pkt + 24);
		n->nrx++;
	}
}

static rd_time_t t_expiry(void *user)
{
	struct tnode *n = user;
	return n->next;
}

static void t_send(struct tnode *n)
{
	uint8_t p[28];
	make_pkt(p, n->id, n->seq++);
	ck_assert_int_eq(rd_sim_send(n->sim, n->id, n->seg, p, sizeof(p)),
	                 n->no_carrier ? RD_ERR_STATE : 0);
}

static void t_handle(void *user, rd_time_t now)
{
	struct tnode *n = user;
	n->timers++;
	n->last_timer = now;
	ck_assert_uint_ge(now, n->next); /* late only when it was frozen */
	t_send(n);
	if (n->limit != 0 && n->seq >= n->limit)
		n->next = RD_TIME_NEVER;
	else
		n->next = now + n->period;
}

static void t_crash(void *user)
{
	struct tnode *n = user;
	n->crashes++;
	n->next = RD_TIME_NEVER;
}

static void t_restart(void *user, rd_time_t now)
{
	struct tnode *n = user;
	n->restarts++;
	n->restart_time = now;
	if (n->period != 0)
		n->next = now + n->period;
}

static void t_carrier(void *user, int seg, bool up, rd_time_t now)
{
	struct tnode *n = user;
	if (n->ncarrier < 8) {
		n->carrier[n->ncarrier].seg = seg;
		n->carrier[n->ncarrier].up = up;
		n->carrier[n->ncarrier].t = now;
		n->ncarrier++;
	}
	if (seg == n->seg)
		n->no_carrier = !up;
}

static const struct rd_sim_node_callbacks t_ops = {
    .deliver = t_deliver,
    .expiry = t_expiry,
    .handle_expiry = t_handle,
    .crash = t_crash,
    .restart = t_restart,
    .carrier = t_carrier,
};

static struct rd_sim *new_sim(uint64_t seed)
{
	struct rd_sim_config cfg;
	struct rd_sim *sim;
	rd_sim_config_default(&cfg);
	cfg.seed = seed;
	ck_assert_int_eq(rd_sim_new(&cfg, &sim), 0);
	return sim;
}

/* Add a node on seg; period 0 means a silent node. */
static struct tnode *add_node(struct rd_sim *sim, int seg, rd_time_t period, rd_time_t first)
{
	struct tnode *n = calloc(1, sizeof(*n));
	ck_assert_ptr_nonnull(n);
	n->sim = sim;
	n->seg = seg;
	n->period = period;
	n->next = period != 0 ? first : RD_TIME_NEVER;
	struct rd_sim_node_callbacks cb = t_ops;
	cb.user = n;
	n->id = rd_sim_node_add(sim, &cb);
	ck_assert_int_ge(n->id, 0);
	ck_assert_int_eq(rd_sim_attach(sim, n->id, seg), 0);
	return n;
}

/* FNV-1a over the whole trace, packet bytes included. */
struct trace_hash {
	uint64_t h;
	size_t events;
};

static void hash_bytes(struct trace_hash *th, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		th->h = (th->h ^ b[i]) * 0x100000001b3ULL;
}

static void trace_fn(void *user, const struct rd_sim_event_info *ev)
{
	struct trace_hash *th = user;
	int32_t f[4] = {(int32_t)ev->kind, ev->node, ev->peer, ev->segment};
	hash_bytes(th, &ev->time, sizeof(ev->time));
	hash_bytes(th, f, sizeof(f));
	if (ev->pkt != NULL)
		hash_bytes(th, ev->pkt, ev->len);
	th->events++;
}

/* A busy, lossy scenario with every fault; returns the trace hash. */
static uint64_t scenario_hash(uint64_t seed, size_t *events)
{
	struct rd_sim *sim = new_sim(seed);
	struct rd_sim_link l = {.loss_ppm = RD_SIM_PCT(10),
	                        .dup_ppm = RD_SIM_PCT(5),
	                        .reorder_ppm = RD_SIM_PCT(5),
	                        .reorder_delay = 3 * RD_MSEC,
	                        .delay = RD_MSEC,
	                        .jitter = 2 * RD_MSEC};
	int seg = rd_sim_segment_add(sim, &l);
	struct tnode *n[4];
	struct trace_hash th = {.h = 0xcbf29ce484222325ULL};
	int groups[4] = {0, 0, 1, 1};

	rd_sim_set_trace(sim, trace_fn, &th);
	for (int i = 0; i < 4; i++)
		n[i] = add_node(sim, seg, (rd_time_t)(10 + i) * RD_MSEC, (rd_time_t)i * RD_MSEC);
	rd_sim_partition_at(sim, 200 * RD_MSEC, seg, groups, 4);
	rd_sim_heal_at(sim, 400 * RD_MSEC, seg);
	rd_sim_crash_at(sim, 300 * RD_MSEC, n[1]->id);
	rd_sim_restart_at(sim, 500 * RD_MSEC, n[1]->id);
	rd_sim_freeze_at(sim, 600 * RD_MSEC, n[2]->id);
	rd_sim_thaw_at(sim, 700 * RD_MSEC, n[2]->id);
	ck_assert_int_gt(rd_sim_run_until(sim, RD_SEC), 0);
	*events = th.events;
	rd_sim_free(sim);
	for (int i = 0; i < 4; i++)
		free(n[i]);
	return th.h;
}

START_TEST(same_seed_gives_same_trace)
{
	size_t e1, e2, e3;
	uint64_t a = scenario_hash(42, &e1);
	uint64_t b = scenario_hash(42, &e2);
	uint64_t c = scenario_hash(43, &e3);
	ck_assert_uint_gt(e1, 1000);
	ck_assert_uint_eq(e1, e2);
	ck_assert_uint_eq(a, b);
	ck_assert_uint_ne(a, c);
}
END_TEST

START_TEST(loss_rate_matches_configuration)
{
	struct rd_sim *sim = new_sim(1);
	struct rd_sim_link l = {.loss_ppm = RD_SIM_PCT(20)};
	int seg = rd_sim_segment_add(sim, &l);
	struct tnode *tx = add_node(sim, seg, RD_MSEC, 0);
	struct tnode *rx = add_node(sim, seg, 0, 0);
	uint64_t st[RD_SIM_STAT_COUNT];

	tx->limit = 10000;
	rd_sim_run_until(sim, 20 * RD_SEC);
	ck_assert_uint_eq(tx->seq, 10000);
	ck_assert_int_eq(rd_sim_stats(sim, seg, st), 0);
	ck_assert_uint_eq(st[RD_SIM_STAT_SENT], 10000);
	ck_assert_uint_eq(st[RD_SIM_STAT_LOST] + st[RD_SIM_STAT_DELIVERED], 10000);
	ck_assert_uint_eq(st[RD_SIM_STAT_DELIVERED], rx->nrx);
	/* 20 % of 10000, within 2.5 standard deviations (sd = 40). */
	ck_assert_uint_ge(st[RD_SIM_STAT_LOST], 1900);
	ck_assert_uint_le(st[RD_SIM_STAT_LOST], 2100);
	rd_sim_free(sim);
	free(tx);
	free(rx);
}
END_TEST

START_TEST(perfect_link_delivers_everything_after_the_delay)
{
	struct rd_sim *sim = new_sim(2);
	struct rd_sim_link l = {.delay = 5 * RD_MSEC};
	int seg = rd_sim_segment_add(sim, &l);
	struct tnode *tx = add_node(sim, seg, 10 * RD_MSEC, 10 * RD_MSEC);
	struct tnode *rx = add_node(sim, seg, 0, 0);

	tx->limit = 50;
	rd_sim_run_until(sim, RD_SEC);
	ck_assert_uint_eq(rx->nrx, 50);
	for (size_t i = 0; i < rx->nrx; i++) {
		ck_assert_uint_eq(rx->rx[i].seq, i);
		ck_assert_uint_eq(rx->rx[i].t, (i + 1) * 10 * RD_MSEC + 5 * RD_MSEC);
	}
	ck_assert_uint_eq(tx->nrx, 0); /* the sender does not hear itself */
	rd_sim_free(sim);
	free(tx);
	free(rx);
}
END_TEST

START_TEST(jitter_stays_within_bounds)
{
	struct rd_sim *sim = new_sim(3);
	struct rd_sim_link l = {.delay = 2 * RD_MSEC, .jitter = 3 * RD_MSEC};
	int seg = rd_sim_segment_add(sim, &l);
	struct tnode *tx = add_node(sim, seg, 10 * RD_MSEC, 10 * RD_MSEC);
	struct tnode *rx = add_node(sim, seg, 0, 0);
	rd_time_t lo = RD_TIME_NEVER, hi = 0;

	tx->limit = 500;
	rd_sim_run_until(sim, 10 * RD_SEC);
	ck_assert_uint_eq(rx->nrx, 500);
	for (size_t i = 0; i < rx->nrx; i++) {
		rd_time_t sent = (rx->rx[i].seq + 1) * 10 * RD_MSEC;
		rd_time_t d = rx->rx[i].t - sent;
		lo = RD_MIN(lo, d);
		hi = RD_MAX(hi, d);
	}
	ck_assert_uint_ge(lo, 2 * RD_MSEC);
	ck_assert_uint_le(hi, 5 * RD_MSEC);
	ck_assert_uint_gt(hi - lo, 2 * RD_MSEC); /* the spread is actually used */
	rd_sim_free(sim);
	free(tx);
	free(rx);
}
END_TEST

START_TEST(duplication_delivers_extra_copies)
{
	struct rd_sim *sim = new_sim(4);
	struct rd_sim_link l = {.dup_ppm = RD_SIM_PPM_MAX};
	int seg = rd_sim_segment_add(sim, &l);
	struct tnode *tx = add_node(sim, seg, RD_MSEC, RD_MSEC);
	struct tnode *rx = add_node(sim, seg, 0, 0);
	uint64_t st[RD_SIM_STAT_COUNT];

	tx->limit = 100;
	rd_sim_run_until(sim, RD_SEC);
	ck_assert_uint_eq(rx->nrx, 200);
	for (size_t i = 0; i < rx->nrx; i++)
		ck_assert_uint_eq(rx->rx[i].seq, i / 2);
	rd_sim_stats(sim, seg, st);
	ck_assert_uint_eq(st[RD_SIM_STAT_DUPLICATED], 100);
	rd_sim_free(sim);
	free(tx);
	free(rx);
}
END_TEST

START_TEST(reordering_lets_later_packets_overtake)
{
	struct rd_sim *sim = new_sim(5);
	struct rd_sim_link l = {.reorder_ppm = RD_SIM_PCT(30), .reorder_delay = 5 * RD_MSEC};
	int seg = rd_sim_segment_add(sim, &l);
	struct tnode *tx = add_node(sim, seg, RD_MSEC, RD_MSEC);
	struct tnode *rx = add_node(sim, seg, 0, 0);
	int inversions = 0;
	uint64_t seen = 0;

	tx->limit = 200;
	rd_sim_run_until(sim, RD_SEC);
	ck_assert_uint_eq(rx->nrx, 200);
	for (size_t i = 0; i < rx->nrx; i++) {
		if (i > 0 && rx->rx[i].seq < rx->rx[i - 1].seq)
			inversions++;
		seen += rx->rx[i].seq;
	}
	ck_assert_int_gt(inversions, 10);
	ck_assert_uint_eq(seen, 199 * 200 / 2); /* each packet exactly once */
	rd_sim_free(sim);
	free(tx);
	free(rx);
}
END_TEST

static size_t count_from(const struct tnode *n, int sender, rd_time_t from, rd_time_t to)
{
	size_t c = 0;
	for (size_t i = 0; i < n->nrx; i++)
		if (n->rx[i].sender == sender && n->rx[i].t >= from && n->rx[i].t < to)
			c++;
	return c;
}

START_TEST(partition_separates_groups_until_heal)
{
	struct rd_sim *sim = new_sim(6);
	int seg = rd_sim_segment_add(sim, NULL);
	struct tnode *n[3];
	int groups[3] = {0, 0, 1};

	for (int i = 0; i < 3; i++)
		n[i] = add_node(sim, seg, 10 * RD_MSEC, RD_MSEC + (rd_time_t)i);
	rd_sim_partition_at(sim, 100 * RD_MSEC, seg, groups, 3);
	rd_sim_heal_at(sim, 200 * RD_MSEC, seg);
	rd_sim_run_until(sim, 300 * RD_MSEC);

	/* Before: everyone hears everyone. */
	ck_assert_uint_eq(count_from(n[2], 0, 0, 100 * RD_MSEC), 10);
	ck_assert_uint_eq(count_from(n[0], 2, 0, 100 * RD_MSEC), 10);
	/* During: 0 and 1 hear each other, 2 is alone. */
	ck_assert_uint_eq(count_from(n[1], 0, 100 * RD_MSEC, 200 * RD_MSEC), 10);
	ck_assert_uint_eq(count_from(n[2], 0, 100 * RD_MSEC, 200 * RD_MSEC), 0);
	ck_assert_uint_eq(count_from(n[2], 1, 100 * RD_MSEC, 200 * RD_MSEC), 0);
	ck_assert_uint_eq(count_from(n[0], 2, 100 * RD_MSEC, 200 * RD_MSEC), 0);
	/* After: healed. */
	ck_assert_uint_eq(count_from(n[2], 0, 200 * RD_MSEC, 300 * RD_MSEC), 10);
	ck_assert_uint_eq(count_from(n[0], 2, 200 * RD_MSEC, 300 * RD_MSEC), 10);
	rd_sim_free(sim);
	for (int i = 0; i < 3; i++)
		free(n[i]);
}
END_TEST

START_TEST(segments_are_separate_broadcast_domains)
{
	struct rd_sim *sim = new_sim(7);
	int a = rd_sim_segment_add(sim, NULL);
	int b = rd_sim_segment_add(sim, NULL);
	struct tnode *x = add_node(sim, a, 10 * RD_MSEC, RD_MSEC);
	struct tnode *y = add_node(sim, b, 0, 0);
	struct tnode *both = add_node(sim, a, 0, 0);

	ck_assert_int_eq(rd_sim_attach(sim, both->id, b), 0);
	x->limit = 5;
	rd_sim_run_until(sim, RD_SEC);
	ck_assert_uint_eq(both->nrx, 5);
	ck_assert_int_eq(both->rx[0].seg, a);
	ck_assert_uint_eq(y->nrx, 0);
	/* A node may only send on segments it is attached to. */
	uint8_t p[28];
	make_pkt(p, y->id, 0);
	ck_assert_int_eq(rd_sim_send(sim, y->id, a, p, sizeof(p)), RD_ERR_INVAL);
	rd_sim_free(sim);
	free(x);
	free(y);
	free(both);
}
END_TEST

/* Packets from `sender` on segment `seg` received by n in [from, to). */
static size_t count_seg(const struct tnode *n, int sender, int seg, rd_time_t from, rd_time_t to)
{
	size_t k = 0;
	for (size_t i = 0; i < n->nrx; i++)
		if (n->rx[i].sender == sender && n->rx[i].seg == seg && n->rx[i].t >= from &&
		    n->rx[i].t < to)
			k++;
	return k;
}

START_TEST(carrier_loss_cuts_one_segment_of_a_node_only)
{
	struct rd_sim *sim = new_sim(11);
	struct rd_sim_link l = {.delay = 5 * RD_MSEC};
	int a = rd_sim_segment_add(sim, &l);
	int b = rd_sim_segment_add(sim, &l);
	struct tnode *ta = add_node(sim, a, 10 * RD_MSEC, 10 * RD_MSEC);
	struct tnode *tb = add_node(sim, b, 10 * RD_MSEC, 10 * RD_MSEC);
	struct tnode *rx = add_node(sim, a, 0, 0);
	uint64_t st[RD_SIM_STAT_COUNT];
	uint8_t p[28];

	ck_assert_int_eq(rd_sim_attach(sim, rx->id, b), 0);
	ck_assert_int_eq(rd_sim_carrier(sim, rx->id, b), 1);
	ck_assert_int_eq(rd_sim_carrier(sim, ta->id, b), RD_ERR_INVAL); /* not attached */
	ck_assert_int_eq(rd_sim_carrier_at(sim, 100 * RD_MSEC, rx->id, b, false), 0);
	ck_assert_int_eq(rd_sim_carrier_at(sim, 150 * RD_MSEC, rx->id, b, false), 0); /* no-op */
	ck_assert_int_eq(rd_sim_carrier_at(sim, 300 * RD_MSEC, rx->id, b, true), 0);
	ck_assert_int_eq(rd_sim_carrier_at(sim, 0, 99, b, true), RD_ERR_INVAL);
	rd_sim_run_until(sim, 200 * RD_MSEC);
	ck_assert_int_eq(rd_sim_carrier(sim, rx->id, b), 0);
	ck_assert_int_eq(rd_sim_carrier(sim, rx->id, a), 1);
	ck_assert_int_eq(rx->ncarrier, 1);
	ck_assert_int_eq(rx->carrier[0].seg, b);
	ck_assert(!rx->carrier[0].up);
	ck_assert_uint_eq(rx->carrier[0].t, 100 * RD_MSEC);
	make_pkt(p, rx->id, 0);
	ck_assert_int_eq(rd_sim_send(sim, rx->id, b, p, sizeof(p)), RD_ERR_STATE);
	ck_assert_int_eq(rd_sim_send(sim, rx->id, a, p, sizeof(p)), 0);
	rd_sim_run_until(sim, 400 * RD_MSEC);
	ck_assert_int_eq(rx->ncarrier, 2);
	ck_assert(rx->carrier[1].up);
	ck_assert_uint_eq(rx->carrier[1].t, 300 * RD_MSEC);
	/* Segment a all along: sent 10..390 ms, arrived 15..395 ms. */
	ck_assert_uint_eq(count_seg(rx, ta->id, a, 0, 400 * RD_MSEC), 39);
	/* Segment b: arrivals 15..95 ms, none from 100 ms (the one sent at 100
	 * ms was on the wire), again from the one sent at 300 ms. */
	ck_assert_uint_eq(count_seg(rx, tb->id, b, 0, 100 * RD_MSEC), 9);
	ck_assert_uint_eq(count_seg(rx, tb->id, b, 100 * RD_MSEC, 305 * RD_MSEC), 0);
	ck_assert_uint_eq(count_seg(rx, tb->id, b, 305 * RD_MSEC, 400 * RD_MSEC), 10);
	rd_sim_stats(sim, b, st);
	ck_assert_uint_eq(st[RD_SIM_STAT_NO_CARRIER], 20); /* sent 100..290 ms */
	rd_sim_stats(sim, a, st);
	ck_assert_uint_eq(st[RD_SIM_STAT_NO_CARRIER], 0);
	rd_sim_free(sim);
	free(ta);
	free(tb);
	free(rx);
}
END_TEST

START_TEST(carrier_changes_are_told_after_thaw_and_restart)
{
	struct rd_sim *sim = new_sim(12);
	int a = rd_sim_segment_add(sim, NULL);
	struct tnode *n = add_node(sim, a, 0, 0);

	/* Frozen: told at the thaw. */
	rd_sim_freeze_at(sim, 10 * RD_MSEC, n->id);
	rd_sim_carrier_at(sim, 20 * RD_MSEC, n->id, a, false);
	rd_sim_thaw_at(sim, 30 * RD_MSEC, n->id);
	/* Down and up again while frozen: nothing to tell. */
	rd_sim_freeze_at(sim, 40 * RD_MSEC, n->id);
	rd_sim_carrier_at(sim, 50 * RD_MSEC, n->id, a, true);
	rd_sim_carrier_at(sim, 55 * RD_MSEC, n->id, a, false);
	rd_sim_thaw_at(sim, 60 * RD_MSEC, n->id);
	/* Crashed: the reboot assumes carrier, so it is told again. */
	rd_sim_crash_at(sim, 70 * RD_MSEC, n->id);
	rd_sim_restart_at(sim, 80 * RD_MSEC, n->id);
	rd_sim_run_until(sim, RD_SEC);
	ck_assert_int_eq(n->ncarrier, 2);
	ck_assert(!n->carrier[0].up);
	ck_assert_uint_eq(n->carrier[0].t, 30 * RD_MSEC);
	ck_assert(!n->carrier[1].up);
	ck_assert_uint_eq(n->carrier[1].t, 80 * RD_MSEC);
	ck_assert_int_eq(n->restarts, 1);
	rd_sim_free(sim);
	free(n);
}
END_TEST

START_TEST(frozen_node_gets_queued_packets_on_thaw)
{
	struct rd_sim *sim = new_sim(8);
	int seg = rd_sim_segment_add(sim, NULL);
	struct tnode *tx = add_node(sim, seg, 10 * RD_MSEC, 10 * RD_MSEC);
	struct tnode *fz = add_node(sim, seg, 100 * RD_MSEC, 100 * RD_MSEC);
	uint64_t st[RD_SIM_STAT_COUNT];

	rd_sim_freeze_at(sim, 105 * RD_MSEC, fz->id);
	rd_sim_thaw_at(sim, 455 * RD_MSEC, fz->id);
	rd_sim_run_until(sim, 455 * RD_MSEC - 1);
	ck_assert_int_eq(rd_sim_node_state(sim, fz->id), RD_SIM_NODE_FROZEN);
	size_t before = fz->nrx;
	ck_assert_uint_eq(before, 10);   /* 10..100 ms */
	ck_assert_int_eq(fz->timers, 1); /* its 200, 300, 400 ms timers did not fire */
	rd_sim_run_until(sim, 455 * RD_MSEC);
	/* 110..450 ms: 35 packets, all delivered at the thaw, in order. */
	ck_assert_uint_eq(fz->nrx, before + 35);
	for (size_t i = before; i < fz->nrx; i++) {
		ck_assert_uint_eq(fz->rx[i].t, 455 * RD_MSEC);
		ck_assert_uint_eq(fz->rx[i].seq, fz->rx[i - 1].seq + 1);
	}
	/* The overdue timer fired at the thaw, after the queued packets. */
	ck_assert_int_eq(fz->timers, 2);
	ck_assert_uint_eq(fz->last_timer, 455 * RD_MSEC);
	rd_sim_stats(sim, seg, st);
	ck_assert_uint_eq(st[RD_SIM_STAT_FREEZE_QUEUED], 35);
	ck_assert_uint_eq(st[RD_SIM_STAT_FREEZE_OVERFLOW], 0);
	rd_sim_free(sim);
	free(tx);
	free(fz);
}
END_TEST

START_TEST(freeze_queue_is_bounded)
{
	struct rd_sim_config cfg = {.seed = 9, .freeze_queue_max = 4};
	struct rd_sim *sim;
	ck_assert_int_eq(rd_sim_new(&cfg, &sim), 0);
	int seg = rd_sim_segment_add(sim, NULL);
	struct tnode *tx = add_node(sim, seg, 10 * RD_MSEC, 10 * RD_MSEC);
	struct tnode *fz = add_node(sim, seg, 0, 0);
	uint64_t st[RD_SIM_STAT_COUNT];

	tx->limit = 10;
	rd_sim_freeze_at(sim, 0, fz->id);
	rd_sim_thaw_at(sim, RD_SEC, fz->id);
	rd_sim_run_until(sim, 2 * RD_SEC);
	ck_assert_uint_eq(fz->nrx, 4);
	ck_assert_uint_eq(fz->rx[0].seq, 0); /* the oldest are kept, like a socket buffer */
	ck_assert_uint_eq(fz->rx[3].seq, 3);
	rd_sim_stats(sim, seg, st);
	ck_assert_uint_eq(st[RD_SIM_STAT_FREEZE_OVERFLOW], 6);
	rd_sim_free(sim);
	free(tx);
	free(fz);
}
END_TEST

START_TEST(crashed_node_is_silent_until_restart)
{
	struct rd_sim *sim = new_sim(10);
	int seg = rd_sim_segment_add(sim, NULL);
	struct tnode *a = add_node(sim, seg, 10 * RD_MSEC, 10 * RD_MSEC);
	struct tnode *b = add_node(sim, seg, 10 * RD_MSEC, 15 * RD_MSEC);

	rd_sim_crash_at(sim, 100 * RD_MSEC, b->id);
	rd_sim_restart_at(sim, 300 * RD_MSEC, b->id);
	rd_sim_run_until(sim, 299 * RD_MSEC);
	ck_assert_int_eq(b->crashes, 1);
	ck_assert_int_eq(rd_sim_node_state(sim, b->id), RD_SIM_NODE_CRASHED);
	int timers_at_crash = b->timers;
	ck_assert_int_eq(timers_at_crash, 9); /* 15..95 ms */
	ck_assert_uint_eq(count_from(b, 0, 100 * RD_MSEC, 300 * RD_MSEC), 0);
	ck_assert_uint_eq(count_from(a, 1, 100 * RD_MSEC, 300 * RD_MSEC), 0);
	uint8_t p[28];
	make_pkt(p, b->id, 0);
	ck_assert_int_eq(rd_sim_send(sim, b->id, seg, p, sizeof(p)), RD_ERR_STATE);

	rd_sim_run_until(sim, 400 * RD_MSEC);
	ck_assert_int_eq(b->restarts, 1);
	ck_assert_uint_eq(b->restart_time, 300 * RD_MSEC);
	ck_assert_int_eq(b->timers, timers_at_crash + 10); /* 310..400 ms */
	ck_assert_uint_eq(count_from(a, 1, 300 * RD_MSEC, 401 * RD_MSEC), 10);
	ck_assert_uint_eq(count_from(b, 0, 300 * RD_MSEC, 400 * RD_MSEC), 10);
	rd_sim_free(sim);
	free(a);
	free(b);
}
END_TEST

START_TEST(packets_in_flight_across_a_reboot_are_dropped)
{
	struct rd_sim *sim = new_sim(11);
	struct rd_sim_link l = {.delay = 50 * RD_MSEC};
	int seg = rd_sim_segment_add(sim, &l);
	struct tnode *a = add_node(sim, seg, 100 * RD_MSEC, 100 * RD_MSEC);
	struct tnode *b = add_node(sim, seg, 0, 0);
	uint64_t st[RD_SIM_STAT_COUNT];

	a->limit = 1;
	rd_sim_crash_at(sim, 110 * RD_MSEC, b->id);
	rd_sim_restart_at(sim, 120 * RD_MSEC, b->id);
	rd_sim_run_until(sim, RD_SEC);
	ck_assert_uint_eq(b->nrx, 0);
	rd_sim_stats(sim, seg, st);
	ck_assert_uint_eq(st[RD_SIM_STAT_TO_DOWN], 1);
	rd_sim_free(sim);
	free(a);
	free(b);
}
END_TEST

static int order_log[8];
static int order_n;

static void note_order(void *user, rd_time_t now)
{
	(void)now;
	order_log[order_n++] = (int)(intptr_t)user;
}

START_TEST(events_at_the_same_time_run_in_schedule_order)
{
	struct rd_sim *sim = new_sim(12);
	order_n = 0;
	rd_sim_call_at(sim, 5, note_order, (void *)(intptr_t)3);
	rd_sim_call_at(sim, 7, note_order, (void *)(intptr_t)4);
	rd_sim_call_at(sim, 5, note_order, (void *)(intptr_t)1);
	rd_sim_call_at(sim, 1, note_order, (void *)(intptr_t)0);
	rd_sim_call_at(sim, 5, note_order, (void *)(intptr_t)2);
	ck_assert_int_eq(rd_sim_run_until(sim, 10), 5);
	ck_assert_int_eq(order_n, 5);
	int want[5] = {0, 3, 1, 2, 4};
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(order_log[i], want[i]);
	ck_assert_uint_eq(rd_sim_now(sim), 10);
	rd_sim_free(sim);
}
END_TEST

static int64_t nested_rc;

static void nested_run(void *user, rd_time_t now)
{
	nested_rc = rd_sim_run_until(user, now + 1);
}

START_TEST(run_until_from_a_callback_is_refused)
{
	struct rd_sim *sim = new_sim(13);
	nested_rc = 0;
	rd_sim_call_at(sim, 1, nested_run, sim);
	rd_sim_run_until(sim, 2);
	ck_assert_int_eq(nested_rc, RD_ERR_STATE);
	rd_sim_free(sim);
}
END_TEST

START_TEST(timer_fires_at_the_requested_time)
{
	struct rd_sim *sim = new_sim(14);
	int seg = rd_sim_segment_add(sim, NULL);
	struct tnode *a = add_node(sim, seg, 333, 777);

	rd_sim_run_until(sim, 776);
	ck_assert_int_eq(a->timers, 0);
	rd_sim_run_until(sim, 777);
	ck_assert_int_eq(a->timers, 1);
	ck_assert_uint_eq(a->last_timer, 777);
	/* An expiry moved from outside a callback takes effect on rearm. */
	a->next = 2000;
	rd_sim_node_rearm(sim, a->id);
	rd_sim_run_until(sim, 1999);
	ck_assert_int_eq(a->timers, 1);
	rd_sim_run_until(sim, 2000);
	ck_assert_int_eq(a->timers, 2);
	ck_assert_uint_eq(a->last_timer, 2000);
	rd_sim_free(sim);
	free(a);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
	struct rd_sim *sim = new_sim(15);
	struct rd_sim_link bad = {.loss_ppm = RD_SIM_PPM_MAX + 1};
	struct rd_sim_node_callbacks no_expiry = {.deliver = t_deliver, .handle_expiry = t_handle};
	uint8_t p[28];

	ck_assert_int_eq(rd_sim_segment_add(sim, &bad), RD_ERR_INVAL);
	ck_assert_int_eq(rd_sim_node_add(sim, &no_expiry), RD_ERR_INVAL);
	int seg = rd_sim_segment_add(sim, NULL);
	ck_assert_int_eq(rd_sim_attach(sim, 0, seg), RD_ERR_INVAL);
	struct tnode *a = add_node(sim, seg, 0, 0);
	make_pkt(p, a->id, 0);
	ck_assert_int_eq(rd_sim_send(sim, a->id, seg + 1, p, sizeof(p)), RD_ERR_INVAL);
	ck_assert_int_eq(rd_sim_send(sim, a->id, seg, p, 0), RD_ERR_INVAL);
	ck_assert_int_eq(rd_sim_crash_at(sim, 0, 99), RD_ERR_INVAL);
	ck_assert_int_eq(rd_sim_link_at(sim, 0, seg, &bad), RD_ERR_INVAL);
	rd_sim_free(sim);
	free(a);
}
END_TEST

START_TEST(link_change_takes_effect_at_its_time)
{
	struct rd_sim *sim = new_sim(16);
	int seg = rd_sim_segment_add(sim, NULL);
	struct tnode *tx = add_node(sim, seg, 10 * RD_MSEC, 10 * RD_MSEC);
	struct tnode *rx = add_node(sim, seg, 0, 0);
	struct rd_sim_link dead = {.loss_ppm = RD_SIM_PPM_MAX};
	struct rd_sim_link ok = {0};

	rd_sim_link_at(sim, 105 * RD_MSEC, seg, &dead);
	rd_sim_link_at(sim, 205 * RD_MSEC, seg, &ok);
	rd_sim_run_until(sim, 300 * RD_MSEC);
	ck_assert_uint_eq(count_from(rx, 0, 0, 105 * RD_MSEC), 10);
	ck_assert_uint_eq(count_from(rx, 0, 105 * RD_MSEC, 205 * RD_MSEC), 0);
	ck_assert_uint_eq(count_from(rx, 0, 205 * RD_MSEC, 301 * RD_MSEC), 10);
	rd_sim_free(sim);
	free(tx);
	free(rx);
}
END_TEST

static char *tmp_path(const char *name)
{
	static char path[256];
	const char *dir = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/rd-sim-%d-%s", dir != NULL ? dir : "/tmp", (int)getpid(),
	         name);
	return path;
}

START_TEST(sim_pcap_reads_back_every_packet_sent)
{
	char *path = tmp_path("sim.pcap");
	struct rd_pcap_writer *w;
	struct rd_pcap_reader *r;
	struct rd_pcap_packet pkt;
	const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 0x07};

	ck_assert_int_eq(rd_pcap_writer_open(path, RD_PCAP_LINKTYPE_ETHERNET, NULL, &w), 0);
	struct rd_sim *sim = new_sim(17);
	struct rd_sim_link lossy = {.loss_ppm = RD_SIM_PCT(50)};
	int seg = rd_sim_segment_add(sim, &lossy);
	struct tnode *tx = add_node(sim, seg, 10 * RD_MSEC, 10 * RD_MSEC);
	struct tnode *rx = add_node(sim, seg, 0, 0);
	rd_sim_segment_set_pcap(sim, seg, w);
	tx->limit = 20;
	rd_sim_run_until(sim, RD_SEC);
	uint8_t extra[28];
	make_pkt(extra, tx->id, 999);
	ck_assert_int_eq(rd_sim_send_mac(sim, tx->id, seg, vmac, extra, sizeof(extra)), 0);
	ck_assert_int_eq(rd_pcap_writer_close(w), 0);

	ck_assert_int_eq(rd_pcap_reader_open(path, NULL, &r), 0);
	ck_assert_int_eq(rd_pcap_reader_linktype(r), RD_PCAP_LINKTYPE_ETHERNET);
	for (uint32_t i = 0; i <= 20; i++) {
		const uint8_t *ip;
		size_t ip_len;
		uint8_t want[28];
		ck_assert_int_eq(rd_pcap_next(r, &pkt), 1);
		ck_assert_uint_eq(pkt.len, 14 + 28);
		ck_assert_uint_eq(pkt.orig_len, 14 + 28);
		ck_assert_int_eq(rd_pcap_ip_payload(pkt.linktype, pkt.data, pkt.len, &ip, &ip_len),
		                 0);
		make_pkt(want, tx->id, i < 20 ? i : 999);
		ck_assert_mem_eq(ip, want, 28);
		/* 224.0.0.18 maps to 01:00:5e:00:00:12. */
		const uint8_t dst[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12};
		ck_assert_mem_eq(pkt.data, dst, 6);
		if (i < 20) {
			ck_assert_uint_eq(pkt.ts, (i + 1) * 10 * RD_MSEC);
			ck_assert_uint_eq(pkt.data[11], tx->id + 1); /* 02:00:00:00:00:01 */
		} else {
			ck_assert_mem_eq(pkt.data + 6, vmac, 6);
		}
	}
	ck_assert_int_eq(rd_pcap_next(r, &pkt), 0);
	rd_pcap_reader_close(r);
	unlink(path);
	rd_sim_free(sim);
	free(tx);
	free(rx);
}
END_TEST

START_TEST(pcap_raw_round_trip_keeps_bytes_and_time)
{
	char *path = tmp_path("raw.pcap");
	struct rd_pcap_writer *w;
	struct rd_pcap_reader *r;
	struct rd_pcap_packet pkt;
	uint8_t big[1500];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	big[0] = 0x60;
	ck_assert_int_eq(rd_pcap_writer_open(path, RD_PCAP_LINKTYPE_RAW, NULL, &w), 0);
	ck_assert_int_eq(rd_pcap_write(w, 1234567890123ULL, big, sizeof(big)), 0);
	ck_assert_int_eq(rd_pcap_write_ip(w, 5, NULL, big, 40), 0);
	ck_assert_int_eq(rd_pcap_write_ip(w, 5, NULL, "\x10", 1), RD_ERR_PROTO);
	ck_assert_int_eq(rd_pcap_writer_close(w), 0);

	ck_assert_int_eq(rd_pcap_reader_open(path, NULL, &r), 0);
	ck_assert_int_eq(rd_pcap_reader_linktype(r), RD_PCAP_LINKTYPE_RAW);
	ck_assert_int_eq(rd_pcap_next(r, &pkt), 1);
	ck_assert_uint_eq(pkt.ts, 1234567890123ULL);
	ck_assert_uint_eq(pkt.len, sizeof(big));
	ck_assert_mem_eq(pkt.data, big, sizeof(big));
	ck_assert_int_eq(rd_pcap_next(r, &pkt), 1);
	ck_assert_uint_eq(pkt.len, 40);
	ck_assert_uint_eq(pkt.ts, 5);
	ck_assert_int_eq(rd_pcap_next(r, &pkt), 0);
	rd_pcap_reader_close(r);
	unlink(path);
}
END_TEST

/* A big-endian microsecond pcap built by hand: one 4-byte record. */
static const uint8_t be_usec_file[] = {
    0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0,
    0,    101,  0,    0,    0, 3, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 9, 0x45, 1,    2, 3,
};

START_TEST(pcap_reader_reads_other_byte_order_and_microseconds)
{
	struct rd_pcap_reader *r;
	struct rd_pcap_packet pkt;

	ck_assert_int_eq(rd_pcap_reader_open_mem(be_usec_file, sizeof(be_usec_file), NULL, &r), 0);
	ck_assert_int_eq(rd_pcap_reader_linktype(r), 101);
	ck_assert_int_eq(rd_pcap_next(r, &pkt), 1);
	ck_assert_uint_eq(pkt.ts, 3 * RD_SEC + 7 * RD_USEC);
	ck_assert_uint_eq(pkt.len, 4);
	ck_assert_uint_eq(pkt.orig_len, 9);
	ck_assert_int_eq(pkt.data[0], 0x45);
	ck_assert_int_eq(rd_pcap_next(r, &pkt), 0);
	rd_pcap_reader_close(r);
}
END_TEST

START_TEST(pcap_reader_refuses_bad_input_with_a_reason)
{
	struct rd_pcap_reader *r;
	struct rd_pcap_packet pkt;
	uint64_t st[RD_PCAP_STAT_COUNT];
	uint8_t f[sizeof(be_usec_file)];

	/* Not a pcap. */
	memcpy(f, be_usec_file, sizeof(f));
	f[0] = 0x0a;
	ck_assert_int_eq(rd_pcap_reader_open_mem(f, sizeof(f), NULL, &r), RD_ERR_PROTO);
	ck_assert_int_eq(rd_pcap_reader_open_mem(f, 10, NULL, &r), RD_ERR_PROTO);
	/* Record cut short. */
	ck_assert_int_eq(rd_pcap_reader_open_mem(be_usec_file, sizeof(be_usec_file) - 1, NULL, &r),
	                 0);
	ck_assert_int_eq(rd_pcap_next(r, &pkt), RD_ERR_PROTO);
	ck_assert_int_eq(rd_pcap_next(r, &pkt), 0);
	rd_pcap_reader_stats(r, st);
	ck_assert_uint_eq(st[RD_PCAP_STAT_SHORT_RECORD], 1);
	rd_pcap_reader_close(r);
	/* Record header cut short. */
	ck_assert_int_eq(rd_pcap_reader_open_mem(be_usec_file, 24 + 8, NULL, &r), 0);
	ck_assert_int_eq(rd_pcap_next(r, &pkt), RD_ERR_PROTO);
	rd_pcap_reader_stats(r, st);
	ck_assert_uint_eq(st[RD_PCAP_STAT_SHORT_HEADER], 1);
	rd_pcap_reader_close(r);
	/* Captured length above the snaplen (0xffff). */
	memcpy(f, be_usec_file, sizeof(f));
	f[24 + 8 + 1] = 0x01; /* incl = 0x00010004 */
	f[24 + 12 + 1] = 0x01;
	ck_assert_int_eq(rd_pcap_reader_open_mem(f, sizeof(f), NULL, &r), 0);
	ck_assert_int_eq(rd_pcap_next(r, &pkt), RD_ERR_PROTO);
	rd_pcap_reader_stats(r, st);
	ck_assert_uint_eq(st[RD_PCAP_STAT_OVERSIZE], 1);
	rd_pcap_reader_close(r);
	/* Captured length above the original length. */
	memcpy(f, be_usec_file, sizeof(f));
	f[24 + 15] = 2;
	ck_assert_int_eq(rd_pcap_reader_open_mem(f, sizeof(f), NULL, &r), 0);
	ck_assert_int_eq(rd_pcap_next(r, &pkt), RD_ERR_PROTO);
	rd_pcap_reader_stats(r, st);
	ck_assert_uint_eq(st[RD_PCAP_STAT_BAD_LENGTH], 1);
	ck_assert_uint_eq(st[RD_PCAP_STAT_RECORDS], 0);
	rd_pcap_reader_close(r);
	ck_assert_str_eq(rd_pcap_stat_name(RD_PCAP_STAT_RECORDS), "records");
	ck_assert_str_eq(rd_pcap_stat_name(RD_PCAP_STAT_BAD_LENGTH), "bad_length");
	ck_assert_str_eq(rd_pcap_stat_name(RD_PCAP_STAT_COUNT), "?");
}
END_TEST

START_TEST(pcap_ip_payload_finds_ip_behind_ethernet_and_vlan)
{
	uint8_t frame[14 + 4 + 20] = {0};
	const uint8_t *ip;
	size_t len;

	rd_put16(frame + 12, 0x8100);
	rd_put16(frame + 16, 0x0800);
	frame[18] = 0x45;
	ck_assert_int_eq(rd_pcap_ip_payload(1, frame, sizeof(frame), &ip, &len), 0);
	ck_assert_ptr_eq(ip, frame + 18);
	ck_assert_uint_eq(len, 20);
	ck_assert_int_eq(rd_pcap_ip_payload(1, frame, sizeof(frame) - 1, &ip, &len), RD_ERR_PROTO);
	rd_put16(frame + 16, 0x0806); /* ARP */
	ck_assert_int_eq(rd_pcap_ip_payload(1, frame, sizeof(frame), &ip, &len), RD_ERR_PROTO);
	ck_assert_int_eq(rd_pcap_ip_payload(101, frame + 18, 20, &ip, &len), 0);
	ck_assert_int_eq(rd_pcap_ip_payload(113, frame, sizeof(frame), &ip, &len), RD_ERR_PROTO);
}
END_TEST

START_TEST(pcap_ip_payload_refuses_other_ip_versions_and_short_headers)
{
	uint8_t pkt[40] = {0};
	const uint8_t *ip;
	size_t len;

	pkt[0] = 0x60;
	ck_assert_int_eq(rd_pcap_ip_payload(101, pkt, 40, &ip, &len), 0);
	ck_assert_int_eq(rd_pcap_ip_payload(101, pkt, 39, &ip, &len), RD_ERR_PROTO);
	pkt[0] = 0x45;
	ck_assert_int_eq(rd_pcap_ip_payload(101, pkt, 19, &ip, &len), RD_ERR_PROTO);
	pkt[0] = 0x55;
	ck_assert_int_eq(rd_pcap_ip_payload(101, pkt, 40, &ip, &len), RD_ERR_PROTO);
	ck_assert_int_eq(rd_pcap_ip_payload(101, pkt, 0, &ip, &len), RD_ERR_PROTO);
	ck_assert_int_eq(rd_pcap_ip_payload(1, pkt, 13, &ip, &len), RD_ERR_PROTO);
}
END_TEST

/* The loss pattern of a run, as a bit per delivery of 200 packets. */
static void loss_pattern(uint64_t seed, int scenario_draws, int hook_draws, uint8_t out[200])
{
	struct rd_sim *sim = new_sim(seed);
	struct rd_sim_link l = {.loss_ppm = RD_SIM_PCT(50)};
	int seg = rd_sim_segment_add(sim, &l);
	struct tnode *tx = add_node(sim, seg, RD_MSEC, RD_MSEC);
	struct tnode *rx = add_node(sim, seg, 0, 0);
	struct rd_random hook = rd_sim_random_hook(sim);
	uint8_t junk[16];

	for (int i = 0; i < scenario_draws; i++)
		rd_sim_random(sim);
	for (int i = 0; i < hook_draws; i++)
		hook.fn(hook.user, junk, sizeof(junk));
	tx->limit = 200;
	rd_sim_run_until(sim, RD_SEC);
	memset(out, 0, 200);
	for (size_t i = 0; i < rx->nrx; i++)
		out[rx->rx[i].seq] = 1;
	rd_sim_free(sim);
	free(tx);
	free(rx);
}

START_TEST(random_streams_are_separate_and_seeded)
{
	uint8_t a[200], b[200], c[200];
	loss_pattern(21, 0, 0, a);
	loss_pattern(21, 50, 50, b);
	loss_pattern(22, 0, 0, c);
	ck_assert_mem_eq(a, b, sizeof(a)); /* other streams do not move the link's */
	ck_assert_int_ne(memcmp(a, c, sizeof(a)), 0);

	struct rd_sim *s1 = new_sim(5), *s2 = new_sim(5);
	struct rd_random h1 = rd_sim_random_hook(s1), h2 = rd_sim_random_hook(s2);
	uint8_t x[37], y[37];
	h1.fn(h1.user, x, sizeof(x));
	h2.fn(h2.user, y, sizeof(y));
	ck_assert_mem_eq(x, y, sizeof(x));
	ck_assert_uint_eq(rd_sim_random(s1), rd_sim_random(s2));
	ck_assert_uint_ne(rd_sim_random(s1), rd_sim_random(s1));
	rd_sim_free(s1);
	rd_sim_free(s2);
}
END_TEST

/* A node whose timer stays due: the simulator must still make progress. */
static rd_time_t stuck_expiry(void *user)
{
	(void)user;
	return 0;
}

static void stuck_handle(void *user, rd_time_t now)
{
	(void)now;
	(*(int *)user)++;
}

static void ignore_deliver(void *user, int seg, const uint8_t *pkt, size_t len, rd_time_t now)
{
	(void)user;
	(void)seg;
	(void)pkt;
	(void)len;
	(void)now;
}

START_TEST(a_timer_that_stays_due_is_counted_not_spun_on)
{
	struct rd_sim *sim = new_sim(23);
	int calls = 0;
	struct rd_sim_node_callbacks ops = {.user = &calls,
	                                    .deliver = ignore_deliver,
	                                    .expiry = stuck_expiry,
	                                    .handle_expiry = stuck_handle};
	uint64_t st[RD_SIM_STAT_COUNT];

	ck_assert_int_ge(rd_sim_node_add(sim, &ops), 0);
	ck_assert_int_eq(rd_sim_run_until(sim, 9), 10); /* at 0, 1, ..., 9 ns */
	ck_assert_int_eq(calls, 10);
	rd_sim_stats(sim, -1, st);
	ck_assert_uint_eq(st[RD_SIM_STAT_TIMERS], 10);
	ck_assert_uint_eq(st[RD_SIM_STAT_TIMER_STUCK], 10);
	ck_assert_uint_eq(rd_sim_expiry(sim), 10);
	rd_sim_free(sim);
}
END_TEST

START_TEST(handle_expiry_runs_what_is_due_as_an_outer_loop_would)
{
	struct rd_sim *sim = new_sim(25);
	int seg = rd_sim_segment_add(sim, NULL);
	struct tnode *a = add_node(sim, seg, 100, 100);
	struct tnode *b = add_node(sim, seg, 0, 0);
	uint64_t st[RD_SIM_STAT_COUNT];

	ck_assert_uint_eq(rd_sim_expiry(sim), 100);
	ck_assert_int_eq(rd_sim_handle_expiry(sim, 99), 0); /* nothing due yet */
	ck_assert_int_eq(a->timers, 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(rd_sim_handle_expiry(sim, rd_sim_expiry(sim)), 0);
	ck_assert_int_eq(a->timers, 3); /* at 100, 200, 300 (no delay: delivered at once) */
	ck_assert_uint_eq(a->last_timer, 300);
	ck_assert_uint_eq(b->nrx, 3);
	ck_assert_int_eq(rd_sim_stats(sim, seg, st), 0);
	ck_assert_uint_eq(st[RD_SIM_STAT_SENT], 3);
	ck_assert_uint_eq(st[RD_SIM_STAT_DELIVERED], 3);
	ck_assert_int_eq(rd_sim_stats(sim, seg + 1, st), RD_ERR_INVAL);
	ck_assert_str_eq(rd_sim_stat_name(RD_SIM_STAT_SENT), "sent");
	ck_assert_str_eq(rd_sim_stat_name(RD_SIM_STAT_NO_CARRIER), "no_carrier");
	ck_assert_str_eq(rd_sim_stat_name(RD_SIM_STAT_COUNT), "?");
	ck_assert_str_eq(rd_sim_stat_name(-1), "?");
	rd_sim_free(sim);
	free(a);
	free(b);
}
END_TEST

/* An allocator that fails every allocation after a budget. */
struct budget {
	int left;
	int live;
};

static void *b_malloc(void *user, size_t n)
{
	struct budget *b = user;
	if (b->left-- <= 0)
		return NULL;
	void *p = malloc(n);
	b->live += p != NULL;
	return p;
}

static void *b_calloc(void *user, size_t n, size_t size)
{
	struct budget *b = user;
	if (b->left-- <= 0)
		return NULL;
	void *p = calloc(n, size);
	b->live += p != NULL;
	return p;
}

static void *b_realloc(void *user, void *ptr, size_t n)
{
	struct budget *b = user;
	if (b->left-- <= 0)
		return NULL;
	void *p = realloc(ptr, n);
	b->live += ptr == NULL && p != NULL;
	return p;
}

static void b_free(void *user, void *ptr)
{
	struct budget *b = user;
	b->live -= ptr != NULL;
	free(ptr);
}

START_TEST(allocation_failures_are_reported_and_leak_nothing)
{
	bool saw_nomem = false;
	for (int budget = 0; budget < 60; budget++) {
		struct budget b = {.left = budget};
		struct rd_mem mem = {&b, b_malloc, b_calloc, b_realloc, b_free};
		struct rd_sim_config cfg = {.seed = 24, .mem = &mem};
		struct rd_sim *sim;
		int rc = rd_sim_new(&cfg, &sim);
		if (rc != 0) {
			ck_assert_int_eq(rc, RD_ERR_NOMEM);
			saw_nomem = true;
			ck_assert_int_eq(b.live, 0);
			continue;
		}
		int seg = rd_sim_segment_add(sim, NULL);
		struct tnode *n[3] = {NULL, NULL, NULL};
		uint8_t p[28];
		for (int i = 0; i < 3 && seg >= 0; i++) {
			n[i] = calloc(1, sizeof(*n[i]));
			n[i]->sim = sim;
			n[i]->seg = seg;
			n[i]->next = RD_TIME_NEVER;
			struct rd_sim_node_callbacks cb = t_ops;
			cb.user = n[i];
			n[i]->id = rd_sim_node_add(sim, &cb);
			if (n[i]->id < 0 || rd_sim_attach(sim, n[i]->id, seg) != 0)
				break;
			make_pkt(p, n[i]->id, 0);
			rc = rd_sim_send(sim, n[i]->id, seg, p, sizeof(p));
			if (rc != 0)
				ck_assert_int_eq(rc, RD_ERR_NOMEM);
		}
		rd_sim_crash_at(sim, 5, 0);
		int64_t ran = rd_sim_run_until(sim, 10);
		saw_nomem |= seg < 0 || rc == RD_ERR_NOMEM || ran == RD_ERR_NOMEM;
		rd_sim_free(sim);
		ck_assert_int_eq(b.live, 0);
		for (int i = 0; i < 3; i++)
			free(n[i]);
	}
	ck_assert(saw_nomem);
}
END_TEST

START_TEST(pcap_writer_reports_io_errors)
{
	struct rd_pcap_writer *w;
	uint8_t ip[20] = {0x45};

	ck_assert_int_eq(rd_pcap_writer_open("/nonexistent-dir/x.pcap", 1, NULL, &w), RD_ERR_STATE);
	ck_assert_int_eq(rd_pcap_writer_open("/dev/null", 105, NULL, &w), RD_ERR_INVAL);
	if (access("/dev/full", W_OK) != 0)
		return;
	/* /dev/full takes the header into the stdio buffer; the flush fails. */
	ck_assert_int_eq(rd_pcap_writer_open("/dev/full", RD_PCAP_LINKTYPE_RAW, NULL, &w), 0);
	for (int i = 0; i < 10000; i++)
		rd_pcap_write_ip(w, (rd_time_t)i, NULL, ip, sizeof(ip));
	ck_assert_int_eq(rd_pcap_writer_flush(w), RD_ERR_STATE);
	ck_assert_int_eq(rd_pcap_write_ip(w, 0, NULL, ip, sizeof(ip)), RD_ERR_STATE);
	ck_assert_int_eq(rd_pcap_writer_close(w), RD_ERR_STATE);
}
END_TEST

START_TEST(pcap_reader_reports_a_missing_file)
{
	struct rd_pcap_reader *r;
	ck_assert_int_eq(rd_pcap_reader_open("/nonexistent-dir/x.pcap", NULL, &r), RD_ERR_STATE);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim");
	TCase *tc = tcase_create("sim");
	tcase_add_test(tc, same_seed_gives_same_trace);
	tcase_add_test(tc, loss_rate_matches_configuration);
	tcase_add_test(tc, perfect_link_delivers_everything_after_the_delay);
	tcase_add_test(tc, jitter_stays_within_bounds);
	tcase_add_test(tc, duplication_delivers_extra_copies);
	tcase_add_test(tc, reordering_lets_later_packets_overtake);
	tcase_add_test(tc, partition_separates_groups_until_heal);
	tcase_add_test(tc, segments_are_separate_broadcast_domains);
	tcase_add_test(tc, carrier_loss_cuts_one_segment_of_a_node_only);
	tcase_add_test(tc, carrier_changes_are_told_after_thaw_and_restart);
	tcase_add_test(tc, frozen_node_gets_queued_packets_on_thaw);
	tcase_add_test(tc, freeze_queue_is_bounded);
	tcase_add_test(tc, crashed_node_is_silent_until_restart);
	tcase_add_test(tc, packets_in_flight_across_a_reboot_are_dropped);
	tcase_add_test(tc, events_at_the_same_time_run_in_schedule_order);
	tcase_add_test(tc, run_until_from_a_callback_is_refused);
	tcase_add_test(tc, timer_fires_at_the_requested_time);
	tcase_add_test(tc, bad_arguments_are_refused);
	tcase_add_test(tc, link_change_takes_effect_at_its_time);
	tcase_add_test(tc, sim_pcap_reads_back_every_packet_sent);
	tcase_add_test(tc, pcap_raw_round_trip_keeps_bytes_and_time);
	tcase_add_test(tc, pcap_reader_reads_other_byte_order_and_microseconds);
	tcase_add_test(tc, pcap_reader_refuses_bad_input_with_a_reason);
	tcase_add_test(tc, pcap_ip_payload_finds_ip_behind_ethernet_and_vlan);
	tcase_add_test(tc, pcap_ip_payload_refuses_other_ip_versions_and_short_headers);
	tcase_add_test(tc, random_streams_are_separate_and_seeded);
	tcase_add_test(tc, a_timer_that_stays_due_is_counted_not_spun_on);
	tcase_add_test(tc, handle_expiry_runs_what_is_due_as_an_outer_loop_would);
	tcase_add_test(tc, allocation_failures_are_reported_and_leak_nothing);
	tcase_add_test(tc, pcap_writer_reports_io_errors);
	tcase_add_test(tc, pcap_reader_reports_a_missing_file);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
