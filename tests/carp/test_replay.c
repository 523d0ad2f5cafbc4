/*
 * Strict replay protection (replay_strict), the rule of
 * libredund/carp/input.c: a vhost keeps the 64 highest counters it sent or
 * believed and the floor (the highest it ever dropped from them); an
 * advertisement is believed only if its counter is above the floor and not
 * kept for its family; a vhost's own counters go above every counter it
 * believed. No source address enters the rule.
 *
 * Unit tests of the rule, a model-based property test of it over random
 * streams of advertisements from thousands of source addresses, and a
 * property test in the simulator: an attacker who recorded every
 * advertisement replays them from up to 1000 source addresses once the
 * MASTER crashed, and the takeover happens exactly when it would without
 * him. The per-sender table this replaced (16 senders, the oldest evicted)
 * fails the 17-source tests and the own-counter test.
 *
 * Environment: RD_PROPERTY_SEEDS=N runs N seeds per property (default
 * 200); RD_PROPERTY_SEED=S replays seed S.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carp_cluster.h"
#include "fsm_test_util.h"

/* ---- helpers ---- */

static struct rd_carp_vhost *add_strict(struct node *n, const char *src, uint8_t skew,
                                        uint32_t epoch)
{
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(1, 1, skew, src, store);
	struct rd_carp_vhost *vh;

	c.replay_strict = true;
	c.replay_epoch = epoch;
	ck_assert_int_eq(rd_carp_vhost_add(n->ifp, &c, T0, &vh), 0);
	return vh;
}

static void put_counter(struct ad_spec *s, uint64_t c)
{
	for (int i = 0; i < 8; i++)
		s->counter[i] = (uint8_t)(c >> (56 - 8 * i));
}

/* The counter of an IPv4 advertisement. */
static uint64_t counter_of(const uint8_t *pkt)
{
	uint64_t v = 0;

	for (int k = 0; k < 8; k++)
		v = v << 8 | pkt[28 + k];
	return v;
}

/* An IPv4 packet with its source replaced (and the header checksum made right). */
static void set_src(uint8_t *pkt, uint32_t src)
{
	uint16_t c;

	pkt[12] = (uint8_t)(src >> 24);
	pkt[13] = (uint8_t)(src >> 16);
	pkt[14] = (uint8_t)(src >> 8);
	pkt[15] = (uint8_t)src;
	pkt[10] = pkt[11] = 0;
	c = rd_cksum(pkt, 20);
	pkt[10] = (uint8_t)(c >> 8);
	pkt[11] = (uint8_t)c;
}

static uint64_t stat_of(const struct rd_carp_vhost *vh, int stat)
{
	struct rd_carp_vhost_info i;

	rd_carp_vhost_info(vh, &i);
	return i.stats[stat];
}

/* ---- the rule ---- */

START_TEST(test_a_believed_counter_from_a_thousand_other_sources_is_refused)
{
	struct node b;
	struct rd_carp_vhost *vb;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	size_t len;
	rd_time_t md;

	node_init(&b, 2, RD_CARP_BAL_NONE);
	vb = add_strict(&b, "10.0.0.2", 50, 100);
	put_counter(&s, 500ull << 32);
	len = make_ad(&s, p);
	ck_assert_int_eq(rd_carp_input(b.ifp, p, len, T0), 0);
	md = md4(vb);
	for (uint32_t i = 0; i < 1000; i++) {
		set_src(p, 0x0a010000u + i);
		ck_assert_int_eq(rd_carp_input(b.ifp, p, len, T0 + RD_MSEC + i * RD_USEC),
		                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	}
	ck_assert_uint_eq(md4(vb), md);
	ck_assert_uint_eq(stat_of(vb, RD_CARP_STAT_REPLAY), 1000);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	rd_carp_if_free(b.ifp);
}
END_TEST

/*
 * Issue 15: a dead MASTER's advertisements replayed from 17 rotating
 * sources (one more than the old table held) every 100 ms: the BACKUP takes
 * over at its master-down time after the last real advertisement.
 */
START_TEST(test_seventeen_sources_replaying_a_dead_master_do_not_hold_the_backup)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;
	struct sent_pkt rec[20];
	rd_time_t t, last, md;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_strict(&a, "10.0.0.1", 0, 100);
	vb = add_strict(&b, "10.0.0.2", 50, 200);
	force_master(&a, va, T0);
	last = T0;
	for (int i = 0; i < 20; i++) {
		if (i > 0) {
			last = rd_carp_expiry(a.ifp);
			rd_carp_handle_expiry(a.ifp, last);
		}
		ck_assert_uint_eq(a.nout, 1);
		rec[i] = a.out[0];
		ck_assert_int_eq(deliver(&a, &b, last), 0);
	}
	/* A dies. */
	md = last + 3 * rd_carp_interval(1, 50);
	ck_assert_uint_eq(md4(vb), md);
	for (int i = 0; (t = last + (rd_time_t)(i + 1) * 100 * RD_MSEC) < md + 2 * RD_SEC; i++) {
		struct sent_pkt r = rec[19 - i % 20];

		if (rd_carp_expiry(b.ifp) <= t)
			rd_carp_handle_expiry(b.ifp, rd_carp_expiry(b.ifp));
		set_src(r.b, 0x0a000a00u + (uint32_t)(i % 17));
		ck_assert_int_eq(rd_carp_input(b.ifp, r.b, r.len, t),
		                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	}
	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	ck_assert_uint_eq(b.nchanges, 2); /* INIT -> BACKUP, BACKUP -> MASTER */
	ck_assert_int_eq(b.changes[1].to, RD_CARP_MASTER);
	ck_assert_str_eq(b.changes[1].why, "master down timer expired");
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

START_TEST(test_a_counter_at_or_below_the_floor_is_refused_one_above_it_believed_once)
{
	struct node b;
	struct rd_carp_vhost *vb;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	rd_time_t t = T0;

	node_init(&b, 2, RD_CARP_BAL_NONE);
	vb = add_strict(&b, "10.0.0.2", 50, 100);
	/* 65 counters: the first leaves the 64 kept and becomes the floor. */
	for (uint64_t k = 1; k <= 65; k++) {
		put_counter(&s, k * 1000);
		ck_assert_int_eq(rd_carp_input(b.ifp, p, make_ad(&s, p), t += RD_MSEC), 0);
	}
	put_counter(&s, 1000); /* the floor */
	ck_assert_int_eq(rd_carp_input(b.ifp, p, make_ad(&s, p), t += RD_MSEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	put_counter(&s, 999); /* below it, never seen */
	ck_assert_int_eq(rd_carp_input(b.ifp, p, make_ad(&s, p), t += RD_MSEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	put_counter(&s, 30000); /* kept */
	ck_assert_int_eq(rd_carp_input(b.ifp, p, make_ad(&s, p), t += RD_MSEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	put_counter(&s, 1500); /* above the floor, never seen (a lost one): once */
	ck_assert_int_eq(rd_carp_input(b.ifp, p, make_ad(&s, p), t += RD_MSEC), 0);
	ck_assert_int_eq(rd_carp_input(b.ifp, p, make_ad(&s, p), t += RD_MSEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	/* It raised the floor to itself (it was below the kept ones). */
	put_counter(&s, 1499);
	ck_assert_int_eq(rd_carp_input(b.ifp, p, make_ad(&s, p), t += RD_MSEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	ck_assert_uint_eq(stat_of(vb, RD_CARP_STAT_REPLAY), 5);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* A dual-family vhost: both of a sender's packets carry one counter, each believed once. */
START_TEST(test_one_counter_is_believed_once_per_family)
{
	struct node a, b;
	struct rd_addr addrs[2] = {A("10.0.0.100"), A("2001:db8::100")};
	struct rd_carp_vhost_config c = vcfg(1, 1, 0, "10.0.0.1", addrs);
	struct rd_carp_vhost *va, *vb;
	struct rd_carp_ip_info ip4, ip6;

	c.addrs = addrs;
	c.naddrs = 2;
	c.src6 = A("fe80::1");
	c.replay_strict = true;
	c.replay_epoch = 100;
	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	ck_assert_int_eq(rd_carp_vhost_add(a.ifp, &c, T0, &va), 0);
	c.src4 = A("10.0.0.2");
	c.src6 = A("fe80::2");
	c.advskew = 50;
	ck_assert_int_eq(rd_carp_vhost_add(b.ifp, &c, T0, &vb), 0);
	force_master(&a, va, T0);
	ck_assert_uint_eq(a.nout, 2);
	ck_assert_int_eq(rd_carp_ip_parse(a.out[0].b, a.out[0].len, &ip4), 0);
	ck_assert_int_eq(rd_carp_ip_parse(a.out[1].b, a.out[1].len, &ip6), 0);
	ck_assert_int_eq(ip4.src.af, RD_AF_INET);
	ck_assert_int_eq(ip6.src.af, RD_AF_INET6);
	ck_assert_mem_eq(ip4.carp + 8, ip6.carp + 8, 8);
	/* IPv6 read first (the sockets are read in no particular order). */
	ck_assert_int_eq(
	    rd_carp_input_payload(b.ifp, &ip6.src, &ip6.dst, 255, ip6.carp, ip6.carp_len, T0), 0);
	ck_assert_int_eq(rd_carp_input(b.ifp, a.out[0].b, a.out[0].len, T0), 0);
	ck_assert_int_eq(rd_carp_input(b.ifp, a.out[0].b, a.out[0].len, T0 + RD_MSEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	ck_assert_int_eq(rd_carp_input_payload(b.ifp, &ip6.src, &ip6.dst, 255, ip6.carp,
	                                       ip6.carp_len, T0 + RD_MSEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/*
 * A MASTER's own advertisement from long ago (out of the 16 last counters
 * it tells its own packets by), sent back from a lower address: with the
 * per-sender table it was a new sender's first advertisement, an equal one
 * from a lower address, and the MASTER stepped down on it.
 */
START_TEST(test_our_own_old_counter_from_a_lower_address_is_refused)
{
	struct node a;
	struct rd_carp_vhost *va;
	struct sent_pkt first;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	va = add_strict(&a, "10.0.0.5", 0, 100);
	force_master(&a, va, T0);
	first = a.out[0];
	for (int i = 0; i < 40; i++)
		rd_carp_handle_expiry(a.ifp, rd_carp_expiry(a.ifp));
	set_src(first.b, 0x0a000004u); /* 10.0.0.4 */
	ck_assert_int_eq(rd_carp_input(a.ifp, first.b, first.len, rd_carp_expiry(a.ifp) - RD_MSEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	ck_assert_int_eq(st(va), RD_CARP_MASTER);
	rd_carp_if_free(a.ifp);
}
END_TEST

/* Counters go above what the vhost believed (older epoch or not), so its peers believe it. */
START_TEST(test_a_vhost_counts_above_the_counters_it_believed)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;
	uint64_t ca, cb;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_strict(&a, "10.0.0.1", 0, 5000);
	vb = add_strict(&b, "10.0.0.2", 50, 100); /* started earlier: a smaller epoch */
	force_master(&a, va, T0);
	ca = counter_of(a.out[0].b);
	ck_assert_int_eq(deliver(&a, &b, T0), 0);
	rd_carp_vhost_set_state(va, RD_CARP_BACKUP, T0 + RD_MSEC);
	force_master(&b, vb, T0 + 2 * RD_MSEC);
	cb = counter_of(b.out[0].b);
	ck_assert_uint_gt(cb, ca);
	ck_assert_uint_le(cb - ca, 65536);
	ck_assert_int_eq(deliver(&b, &a, T0 + 2 * RD_MSEC), 0);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/*
 * Two BACKUPs whose master-down ran out together, from the same last
 * advertisement: their counters differ (the random step), and each believes
 * the other's.
 */
START_TEST(test_vhosts_that_take_over_together_believe_each_other)
{
	struct node x, a, b;
	struct rd_carp_vhost *vx, *va, *vb;
	uint64_t ca, cb;

	node_init(&x, 9, RD_CARP_BAL_NONE);
	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	vx = add_strict(&x, "10.0.0.9", 0, 300);
	va = add_strict(&a, "10.0.0.1", 50, 100);
	vb = add_strict(&b, "10.0.0.2", 50, 200);
	force_master(&x, vx, T0);
	ck_assert_int_eq(rd_carp_input(a.ifp, x.out[0].b, x.out[0].len, T0), 0);
	ck_assert_int_eq(rd_carp_input(b.ifp, x.out[0].b, x.out[0].len, T0), 0);
	rd_carp_handle_expiry(a.ifp, rd_carp_expiry(a.ifp));
	rd_carp_handle_expiry(b.ifp, rd_carp_expiry(b.ifp));
	ck_assert_int_eq(st(va), RD_CARP_MASTER);
	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	ca = counter_of(a.out[0].b);
	cb = counter_of(b.out[0].b);
	ck_assert_uint_ne(ca, cb);
	ck_assert_uint_gt(ca, counter_of(x.out[0].b));
	ck_assert_uint_gt(cb, counter_of(x.out[0].b));
	ck_assert_int_eq(rd_carp_input(a.ifp, b.out[0].b, b.out[0].len, rd_carp_expiry(a.ifp)), 0);
	ck_assert_int_eq(rd_carp_input(b.ifp, a.out[0].b, a.out[0].len, rd_carp_expiry(b.ifp)), 0);
	rd_carp_if_free(x.ifp);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* ---- property: random streams against a model ---- */

static uint64_t sm_next(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t pick(uint64_t *x, uint64_t lo, uint64_t hi)
{
	return lo + sm_next(x) % (hi - lo + 1);
}

static uint64_t seeds(uint64_t *one)
{
	const char *s = getenv("RD_PROPERTY_SEED");
	const char *n = getenv("RD_PROPERTY_SEEDS");

	*one = s != NULL ? strtoull(s, NULL, 0) : 0;
	if (s != NULL)
		return 1;
	return n != NULL ? strtoull(n, NULL, 0) : 200;
}

#define STREAM 3000

/*
 * One seed: live masters (1 to 4, each with its own counter sequence that
 * goes above what it hears) send advertisements of which some are lost;
 * an attacker replays any earlier one (sent or lost) from one of thousands
 * of source addresses. Promises, checked against a model of what was
 * believed:
 *  1. no counter is believed twice;
 *  2. a counter above every counter believed before is believed (a live
 *     master's next advertisement is never refused);
 *  3. when a counter is believed, fewer than 65 counters above it were
 *     believed before (how far back a replay can reach is bounded).
 */
static bool stream_run(uint64_t seed, char *why, size_t whylen)
{
	struct node b;
	struct rd_carp_vhost *vb;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	static uint64_t sent[STREAM], believed[STREAM];
	size_t nsent = 0, nbel = 0;
	uint64_t x = seed, next[4], high = 0;
	int masters = (int)pick(&x, 1, 4);
	rd_time_t t = T0;
	bool ok = true;

	node_init(&b, seed, RD_CARP_BAL_NONE);
	vb = add_strict(&b, "10.0.0.2", 200, 100);
	for (int m = 0; m < masters; m++)
		next[m] = pick(&x, 1, 1000) << 32 | pick(&x, 0, 0x7fffffff);
	for (int i = 0; i < STREAM && ok; i++) {
		uint64_t c;
		bool live = nsent == 0 || pick(&x, 0, 2) == 0;
		size_t above = 0;
		bool before = false;

		if (live) {
			int m = (int)pick(&x, 0, (uint64_t)masters - 1);

			c = next[m] + pick(&x, 0, 65535);
			next[m] = c + 1;
			sent[nsent++] = c;
			for (int k = 0; k < masters; k++) /* the others hear it */
				if (k != m && next[k] <= c && pick(&x, 0, 1) == 0)
					next[k] = c + 1;
			if (pick(&x, 0, 9) == 0)
				continue; /* lost before it reached the vhost */
		} else {
			c = sent[pick(&x, 0, nsent - 1)];
		}
		put_counter(&s, c);
		make_ad(&s, p);
		set_src(p, (uint32_t)pick(&x, 0x0a010000u, 0x0a01ffffu));
		for (size_t k = 0; k < nbel; k++) {
			before |= believed[k] == c;
			above += believed[k] > c;
		}
		int rc = rd_carp_input(b.ifp, p, 56, t += RD_MSEC);
		if (rc != 0 && rc != RD_CARP_REFUSED(RD_CARP_STAT_REPLAY)) {
			snprintf(why, whylen, "step %d: counter %" PRIx64 ": %s", i, c,
			         rd_strerror(rc));
			ok = false;
		} else if (rc == 0 && before) {
			snprintf(why, whylen, "step %d: counter %" PRIx64 " believed twice", i, c);
			ok = false;
		} else if (rc != 0 && c > high) {
			snprintf(why, whylen, "step %d: counter %" PRIx64 " above all refused", i,
			         c);
			ok = false;
		} else if (rc == 0 && above > 64) {
			snprintf(why, whylen,
			         "step %d: counter %" PRIx64 " believed below %zu others", i, c,
			         above);
			ok = false;
		}
		if (rc == 0) {
			believed[nbel++] = c;
			high = c > high ? c : high;
		}
	}
	if (ok && stat_of(vb, RD_CARP_STAT_REPLAY) + nbel != stat_of(vb, RD_CARP_STAT_IPACKETS)) {
		snprintf(why, whylen, "replay %" PRIu64 " + believed %zu != packets %" PRIu64,
		         stat_of(vb, RD_CARP_STAT_REPLAY), nbel,
		         stat_of(vb, RD_CARP_STAT_IPACKETS));
		ok = false;
	}
	rd_carp_if_free(b.ifp);
	return ok;
}

START_TEST(test_random_streams_never_believe_a_counter_twice)
{
	uint64_t one, n = seeds(&one);
	int failures = 0;
	char why[256];

	for (uint64_t i = 0; i < n; i++) {
		uint64_t seed = one != 0 ? one : i + 1;

		if (!stream_run(seed, why, sizeof(why))) {
			printf("FAIL seed %" PRIu64 ": %s\n  replay: RD_PROPERTY_SEED=%" PRIu64
			       " build/tests/carp/test-carp-replay\n",
			       seed, why, seed);
			failures++;
		}
	}
	fflush(stdout);
	ck_assert_int_eq(failures, 0);
}
END_TEST

/* ---- property: the replaying attacker in the simulator ---- */

#define REC_MAX 4096

/* An attacker on the LAN: records every CARP packet, replays them once told to. */
struct attacker {
	struct cc_cluster *c;
	int id;
	uint8_t (*rec)[64];
	size_t nrec;
	rd_time_t from, until, every;
	uint32_t nsrc; /* sources 10.0.1.0 + 0 .. nsrc - 1, in turn */
	rd_time_t next;
	uint64_t sent;
};

static void atk_deliver(void *user, int seg, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct attacker *a = user;

	(void)seg;
	if (now < a->from && len == 56 && a->nrec < REC_MAX)
		memcpy(a->rec[a->nrec++], pkt, 56);
}

static rd_time_t atk_expiry(void *user)
{
	struct attacker *a = user;

	return a->nrec > 0 && a->next < a->until ? a->next : RD_TIME_NEVER;
}

/* Newest first, then the whole recording again, each from the next source. */
static void atk_handle_expiry(void *user, rd_time_t now)
{
	struct attacker *a = user;
	uint8_t p[64];

	memcpy(p, a->rec[a->nrec - 1 - a->sent % a->nrec], 56);
	set_src(p, 0x0a000100u + (uint32_t)(a->sent % a->nsrc));
	rd_sim_send(a->c->sim, a->id, a->c->seg[0], p, 56);
	a->sent++;
	a->next = now + a->every;
}

/* The live node with the lowest advskew (they are distinct here). */
static int preferred(const struct cc_cluster *c)
{
	int best = -1;

	for (int i = 0; i < c->cfg.nodes; i++)
		if (cc_live(c, i) && (best < 0 || c->cfg.advskew[i] < c->cfg.advskew[best]))
			best = i;
	return best;
}

struct atk_run {
	uint64_t seed;
	char desc[256];
	char why[256];
};

/*
 * One seed: 2 to 6 nodes with distinct advskews, advbase 1, IPv4, a link
 * with delay and jitter but no loss (so every node heard every
 * advertisement the attacker recorded). Once the cluster settled, the
 * MASTER crashes; from then on the attacker sends one recorded
 * advertisement every 5 ms from 17 to 1000 rotating sources. Promise: the
 * live node with the lowest advskew takes over at the dead MASTER's last
 * advertisement plus its master-down interval (plus the link's delay and
 * jitter), the only state change, and every replay is refused.
 */
static bool atk_run(struct atk_run *r)
{
	uint64_t x = r->seed;
	struct cc_config cfg;
	struct attacker a = {.every = 5 * RD_MSEC};
	bool used[256] = {false};
	struct cc_cluster *c;
	struct rd_sim_node_callbacks ops = {.user = &a,
	                                    .deliver = atk_deliver,
	                                    .expiry = atk_expiry,
	                                    .handle_expiry = atk_handle_expiry};
	bool ok = false;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nodes = (int)pick(&x, 2, 6);
	cfg.vhid = (uint8_t)pick(&x, 1, 255);
	cfg.pass = "replay";
	cfg.vip = rd_addr_v4(0x0a000064);
	cfg.advbase = 1;
	cfg.preempt = pick(&x, 0, 1) == 1;
	cfg.replay_strict = true;
	cfg.seed = r->seed;
	cfg.link.delay = 100 * RD_USEC;
	cfg.link.jitter = 200 * RD_USEC;
	for (int i = 0; i < cfg.nodes; i++) {
		uint8_t k;
		do
			k = (uint8_t)pick(&x, 0, 240);
		while (used[k]);
		used[k] = true;
		cfg.advskew[i] = k;
	}
	a.nsrc = (uint32_t)pick(&x, 17, 1000);
	a.rec = malloc(REC_MAX * sizeof(*a.rec));
	snprintf(r->desc, sizeof(r->desc), "%d nodes, %spreempt, %u sources", cfg.nodes,
	         cfg.preempt ? "" : "no ", a.nsrc);
	c = cc_new(&cfg);
	if (c == NULL || a.rec == NULL) {
		snprintf(r->why, sizeof(r->why), "cannot build the cluster");
		goto out;
	}
	a.c = c;
	a.id = rd_sim_node_add(c->sim, &ops);
	a.from = a.next = RD_TIME_NEVER;
	a.until = RD_TIME_NEVER;
	if (a.id < 0 || rd_sim_attach(c->sim, a.id, c->seg[0]) != 0) {
		snprintf(r->why, sizeof(r->why), "cannot add the attacker");
		goto out;
	}
	rd_time_t tc = (rd_time_t)pick(&x, 10, 20) * RD_SEC;
	rd_sim_run_until(c->sim, tc);
	int old = cc_holder(c, 0);
	if (old < 0 || old != preferred(c)) {
		snprintf(r->why, sizeof(r->why), "no single preferred MASTER before the crash");
		goto out;
	}
	rd_sim_crash_at(c->sim, tc, old);
	a.from = a.next = tc;
	rd_sim_run_until(c->sim, tc);
	int want = preferred(c);
	rd_time_t last = RD_TIME_NEVER;
	for (size_t i = 0; i < c->nlog; i++)
		if (c->log[i].kind == CC_CRASH && c->log[i].node == old)
			last = c->log[i].last_ad[0];
	rd_time_t md = last + 3 * cc_interval(c, want);
	a.until = md + 10 * RD_SEC;
	rd_sim_node_rearm(c->sim, a.id);
	rd_sim_run_until(c->sim, a.until + RD_SEC);

	size_t changes = cc_state_changes(c, tc + 1, a.until + RD_SEC);
	const struct cc_event *ev = NULL;
	for (size_t i = 0; i < c->nlog; i++)
		if (c->log[i].kind == CC_STATE && c->log[i].t > tc)
			ev = ev == NULL ? &c->log[i] : ev;
	if (changes != 1 || ev == NULL || ev->node != want || ev->to != RD_CARP_MASTER) {
		snprintf(r->why, sizeof(r->why),
		         "%zu state changes after the crash; the first: node %d -> %s at %.6f s "
		         "(node %d should take over at %.6f s)",
		         changes, ev != NULL ? ev->node : -1,
		         ev != NULL ? rd_carp_state_name(ev->to) : "-",
		         ev != NULL ? (double)ev->t / 1e9 : 0.0, want, (double)md / 1e9);
		goto out;
	}
	if (ev->t < md || ev->t > md + 300 * RD_USEC) {
		snprintf(r->why, sizeof(r->why), "node %d took over at %.6f s, not at %.6f s", want,
		         (double)ev->t / 1e9, (double)md / 1e9);
		goto out;
	}
	uint64_t replays = 0, st[RD_CARP_STAT_COUNT];
	for (int i = 0; i < cfg.nodes; i++) {
		if (i == old)
			continue;
		rd_carp_if_stats(c->node[i].v[0].ifp, st);
		replays += st[RD_CARP_STAT_REPLAY];
	}
	if (a.sent < 1000 || replays != a.sent * (uint64_t)(cfg.nodes - 1)) {
		snprintf(r->why, sizeof(r->why), "%" PRIu64 " replays sent, %" PRIu64 " refused",
		         a.sent, replays);
		goto out;
	}
	ok = true;
out:
	if (c != NULL)
		cc_free(c);
	free(a.rec);
	return ok;
}

START_TEST(test_replays_from_many_sources_do_not_delay_the_takeover)
{
	uint64_t one, n = seeds(&one);
	int failures = 0;

	for (uint64_t i = 0; i < n; i++) {
		struct atk_run r = {.seed = one != 0 ? one : i + 1};

		if (!atk_run(&r)) {
			printf("FAIL seed %" PRIu64
			       ": %s\n  scenario: %s\n  replay: RD_PROPERTY_SEED=%" PRIu64
			       " build/tests/carp/test-carp-replay\n",
			       r.seed, r.why, r.desc, r.seed);
			failures++;
		}
	}
	fflush(stdout);
	ck_assert_int_eq(failures, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carp-replay");
	TCase *tc = tcase_create("replay");
	SRunner *sr;
	int failed;

	if (rd_init() != 0)
		return 1;
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_a_believed_counter_from_a_thousand_other_sources_is_refused);
	tcase_add_test(tc, test_seventeen_sources_replaying_a_dead_master_do_not_hold_the_backup);
	tcase_add_test(tc,
	               test_a_counter_at_or_below_the_floor_is_refused_one_above_it_believed_once);
	tcase_add_test(tc, test_one_counter_is_believed_once_per_family);
	tcase_add_test(tc, test_our_own_old_counter_from_a_lower_address_is_refused);
	tcase_add_test(tc, test_a_vhost_counts_above_the_counters_it_believed);
	tcase_add_test(tc, test_vhosts_that_take_over_together_believe_each_other);
	tcase_add_test(tc, test_random_streams_never_believe_a_counter_twice);
	tcase_add_test(tc, test_replays_from_many_sources_do_not_delay_the_takeover);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
