/*
 * CARP property tests: many seeded simulations of a cluster (2-6 nodes,
 * random distinct advskews, advbase 0 or 1, loss up to 20 %, duplication,
 * reordering, partitions that heal, crashes, freezes, restarts), each
 * checking the election's promises once the network is healthy:
 *
 *  1. after 3 intervals of a healthy network, exactly one live MASTER;
 *  2. with preempt, that MASTER is the live node with the lowest advskew
 *     (all nodes share advbase and have distinct skews, and nothing is
 *     demoted, so the rules prefer exactly that node);
 *  3. no state change at all while the network stays healthy (no flapping);
 *     (without preempt the clusters are drawn so that every master-down
 *     outlasts every advertisement interval: see build());
 *  4. when the MASTER crashes, a new MASTER within 3 intervals plus one of
 *     the node that takes over, and it is the live node with the lowest
 *     advskew (its master-down timer runs out first, with or without
 *     preempt), and nothing changes after that; the same (allowing the
 *     transient MASTERs the bow-out makes) when it leaves gracefully;
 *  5. with preempt, a restarted better node takes over again, and the
 *     cluster is stable after it.
 *
 * Environment: RD_PROPERTY_SEEDS=N runs N seeds (default 1000);
 * RD_PROPERTY_SEED=S replays only seed S and prints its timeline. A failing
 * seed is printed with the command to replay it.
 */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carp_cluster.h"
#include "prop_util.h"

#define MARGIN (2 * RD_MSEC) /* delay + jitter is at most 0.3 ms */

/* The scenario's own PRNG (splitmix64), so configurations follow the seed. */
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

struct scenario {
	uint64_t seed;
	struct cc_config cfg;
	rd_time_t healthy_at; /* the network is perfect from here on */
	rd_time_t imax;
	char desc[512];
	char why[512];
	bool verbose;
	uint64_t history; /* hash of the cluster log, for the determinism check */
	bool strict;      /* replay_strict on every node */
};

static bool prop_fail(struct scenario *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	return false;
}

/* Build the configuration and schedule the faults of the unhealthy phase. */
static struct cc_cluster *build(struct scenario *s, bool preempt)
{
	uint64_t x = s->seed;
	struct cc_config *cfg = &s->cfg;
	bool used[256] = {false};

	memset(cfg, 0, sizeof(*cfg));
	cfg->nodes = (int)pick(&x, 2, 6);
	cfg->vhid = (uint8_t)pick(&x, 1, 255);
	cfg->pass = "prop";
	cfg->vip = rd_addr_v4(0x0a000064);
	if (pick(&x, 0, 3) == 0) /* a quarter of the clusters run IPv6 */
		rd_addr_parse("fd00::100", &cfg->vip);
	cfg->advbase = (uint8_t)pick(&x, 0, 1);
	cfg->preempt = preempt;
	cfg->replay_strict = s->strict;
	cfg->seed = s->seed;
	/*
	 * Distinct skews; with advbase 0 skew 0 has the same interval as skew 1
	 * (1/256 s), so it is left out to keep the preferred node unique.
	 * Without preempt, a BACKUP whose master-down (3 of its own intervals)
	 * is not longer than the MASTER's interval takes over anyway (possible
	 * with advbase 0 only), and then whether it does depends on which of
	 * its timer and the next advertisement comes first: such clusters are
	 * redrawn, so that "the incumbent stays" holds exactly.
	 */
	for (;;) {
		unsigned lo = 255, hi = 0;
		memset(used, 0, sizeof(used));
		for (int i = 0; i < cfg->nodes; i++) {
			uint8_t k;
			do
				k = (uint8_t)pick(&x, cfg->advbase == 0 ? 1 : 0, 254);
			while (used[k]);
			used[k] = true;
			cfg->advskew[i] = k;
			lo = k < lo ? k : lo;
			hi = k > hi ? k : hi;
		}
		/* 4/256 s of slack dwarfs the 0.3 ms of delay and jitter. */
		if (preempt || cfg->advbase != 0 || 3 * lo >= hi + 4)
			break;
	}
	cfg->link.loss_ppm = (uint32_t)pick(&x, 0, RD_SIM_PCT(20));
	cfg->link.dup_ppm = (uint32_t)pick(&x, 0, RD_SIM_PCT(2));
	cfg->link.reorder_ppm = (uint32_t)pick(&x, 0, RD_SIM_PCT(5));
	cfg->link.reorder_delay = pick(&x, 0, 50) * RD_MSEC;
	cfg->link.delay = 100 * RD_USEC;
	cfg->link.jitter = 200 * RD_USEC;

	struct cc_cluster *c = cc_new(cfg);
	if (c == NULL)
		return NULL;
	s->imax = 0;
	for (int i = 0; i < cfg->nodes; i++)
		s->imax = (cc_interval(c, i) > s->imax ? cc_interval(c, i) : s->imax);
	rd_time_t tf = pick(&x, 4, 20) * s->imax;
	s->healthy_at = tf;
	snprintf(s->desc, sizeof(s->desc), "%d nodes, vhid %u, advbase %u, %spreempt, skews",
	         cfg->nodes, cfg->vhid, cfg->advbase, preempt ? "" : "no ");
	for (int i = 0; i < cfg->nodes; i++)
		appendf(s->desc, sizeof(s->desc), "%s%u", i ? "," : " ", cfg->advskew[i]);
	appendf(s->desc, sizeof(s->desc), ", loss %.1f%%, healthy from %.3f s",
	        cfg->link.loss_ppm / 1e4, (double)tf / 1e9);

	/* Faults, all over before tf. */
	if (pick(&x, 0, 1)) {
		int groups[CC_MAX_NODES];
		for (int i = 0; i < cfg->nodes; i++)
			groups[i] = (int)pick(&x, 0, 2);
		rd_time_t a = pick(&x, 0, tf - 1), b = pick(&x, a, tf);
		rd_sim_partition_at(c->sim, a, c->seg[0], groups, (size_t)cfg->nodes);
		rd_sim_heal_at(c->sim, b, c->seg[0]);
		appendf(s->desc, sizeof(s->desc), ", partition %.3f-%.3f s", (double)a / 1e9,
		        (double)b / 1e9);
	}
	if (pick(&x, 0, 1)) {
		int n = (int)pick(&x, 0, (uint64_t)cfg->nodes - 1);
		rd_time_t a = pick(&x, 0, tf - 1);
		rd_sim_crash_at(c->sim, a, n);
		/* A node may stay down, as long as two are left for the
		 * failover check. */
		bool stay = cfg->nodes >= 3 && pick(&x, 0, 2) == 0;
		if (!stay) {
			rd_time_t b = pick(&x, a, tf);
			rd_sim_restart_at(c->sim, b, n);
			appendf(s->desc, sizeof(s->desc), ", node %d down %.3f-%.3f s", n,
			        (double)a / 1e9, (double)b / 1e9);
		} else {
			appendf(s->desc, sizeof(s->desc), ", node %d down from %.3f s", n,
			        (double)a / 1e9);
		}
	}
	if (pick(&x, 0, 2) == 0) {
		int n = (int)pick(&x, 0, (uint64_t)cfg->nodes - 1);
		rd_time_t a = pick(&x, 0, tf - 1), b = pick(&x, a, tf);
		rd_sim_freeze_at(c->sim, a, n);
		rd_sim_thaw_at(c->sim, b, n);
		appendf(s->desc, sizeof(s->desc), ", node %d frozen %.3f-%.3f s", n,
		        (double)a / 1e9, (double)b / 1e9);
	}
	struct rd_sim_link healthy = {.delay = 100 * RD_USEC, .jitter = 200 * RD_USEC};
	rd_sim_link_at(c->sim, tf, c->seg[0], &healthy);
	rd_sim_heal_at(c->sim, tf, c->seg[0]);
	return c;
}

/* The first transition to MASTER in [from, to], or NULL. */
static const struct cc_event *first_master(const struct cc_cluster *c, rd_time_t from, rd_time_t to)
{
	for (size_t i = 0; i < c->nlog; i++)
		if (c->log[i].kind == CC_STATE && c->log[i].to == RD_CARP_MASTER &&
		    c->log[i].t >= from && c->log[i].t <= to)
			return &c->log[i];
	return NULL;
}

/* Properties 1-3 at time t, then stability for `hold`. */
static bool check_stable(struct scenario *s, struct cc_cluster *c, rd_time_t t, rd_time_t hold,
                         const char *phase)
{
	int who = -1;

	rd_sim_run_until(c->sim, t);
	int masters = cc_masters(c, &who);
	if (masters != 1)
		return prop_fail(s, "%s: %d MASTERs at %.3f s", phase, masters, (double)t / 1e9);
	int want = preferred(c);
	if (s->cfg.preempt && who != want)
		return prop_fail(s,
		                 "%s: MASTER is node %d (advskew %u), the rules prefer node %d "
		                 "(advskew %u)",
		                 phase, who, s->cfg.advskew[who], want, s->cfg.advskew[want]);
	rd_sim_run_until(c->sim, t + hold);
	size_t changes = cc_state_changes(c, t, t + hold);
	if (changes != 0)
		return prop_fail(s, "%s: %zu state changes in the healthy window %.3f-%.3f s",
		                 phase, changes, (double)t / 1e9, (double)(t + hold) / 1e9);
	if (cc_masters(c, NULL) != 1)
		return prop_fail(s, "%s: %d MASTERs at %.3f s", phase, cc_masters(c, NULL),
		                 (double)(t + hold) / 1e9);
	return true;
}

static bool run_scenario(struct scenario *s, bool preempt)
{
	struct cc_cluster *c = build(s, preempt);
	bool ok = false;
	uint64_t x = s->seed ^ 0x5bd1e995u;

	if (c == NULL)
		return prop_fail(s, "cannot build the cluster");
	/* 1-3: healthy for 3 intervals (of the slowest node), then a while. */
	rd_time_t t = s->healthy_at + 3 * s->imax + MARGIN;
	rd_time_t hold = pick(&x, 2, 8) * s->imax;
	if (!check_stable(s, c, t, hold, "after the network healed"))
		goto out;

	/* 4: the MASTER crashes, or (a quarter of the runs) leaves gracefully
	 * with the bow-out advertisement. */
	bool graceful = pick(&x, 0, 3) == 0;
	const char *how = graceful ? "left" : "crashed";
	int old = -1;
	cc_masters(c, &old);
	rd_time_t tc = rd_sim_now(c->sim);
	if (graceful)
		cc_leave(c, old);
	else
		rd_sim_crash_at(c->sim, tc, old);
	rd_sim_run_until(c->sim, tc);
	int want = preferred(c);
	rd_time_t iw = cc_interval(c, want);
	rd_time_t deadline = tc + 3 * iw + iw;
	rd_sim_run_until(c->sim, deadline);
	const struct cc_event *e = first_master(c, tc, deadline);
	if (e == NULL) {
		prop_fail(s,
		          "no new MASTER within 3+1 intervals (%.3f s) after node %d %s at %.3f s",
		          (double)(4 * iw) / 1e9, old, how, (double)tc / 1e9);
		goto out;
	}
	int who = -1;
	if (cc_masters(c, &who) != 1 || who != want) {
		prop_fail(s,
		          "%.3f s after node %d %s: %d MASTERs (node %d), the rules prefer node %d "
		          "(advskew %u)",
		          (double)(deadline - tc) / 1e9, old, how, cc_masters(c, NULL), who, want,
		          s->cfg.advskew[want]);
		goto out;
	}
	/* After a crash the fastest backup's timer runs out first and the
	 * others hear it: one change, no transient MASTERs. (A bow-out with
	 * advbase 1 makes every backup take over at once, and the election
	 * then settles: several changes, checked by the stability below.) */
	if (!graceful && (e->node != want || cc_state_changes(c, tc, deadline) != 1)) {
		prop_fail(s, "%zu state changes during the failover after node %d crashed",
		          cc_state_changes(c, tc, deadline), old);
		goto out;
	}
	if (!check_stable(s, c, deadline, hold, "after the failover"))
		goto out;

	/* 5: the node comes back; with preempt it takes over when it is the
	 * better one. */
	rd_time_t tr = rd_sim_now(c->sim);
	if (graceful)
		cc_rejoin(c, old);
	else
		rd_sim_restart_at(c->sim, tr, old);
	if (!check_stable(s, c, tr + 3 * s->imax + MARGIN, hold, "after the restart"))
		goto out;
	ok = true;
out:
	s->history = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < c->nlog; i++) {
		const struct cc_event *ev = &c->log[i];
		uint64_t f[5] = {ev->t, ev->kind, (uint64_t)ev->node, (uint64_t)ev->from,
		                 (uint64_t)ev->to};
		for (int k = 0; k < 5; k++)
			s->history = (s->history ^ f[k]) * 0x100000001b3ULL;
	}
	if (s->verbose) {
		printf("seed %" PRIu64 ": %s\n", s->seed, s->desc);
		for (size_t i = 0; i < c->nlog; i++) {
			const struct cc_event *ev = &c->log[i];
			printf("  %10.6f s  node %2d  %-9s", (double)ev->t / 1e9, ev->node,
			       cc_kind_name(ev->kind));
			if (ev->kind == CC_STATE)
				printf(" %s -> %s (%s)", rd_carp_state_name(ev->from),
				       rd_carp_state_name(ev->to), ev->reason);
			printf("\n");
		}
	}
	cc_free(c);
	return ok;
}

static int run_seeds(bool preempt, uint64_t base, bool strict)
{
	const char *one = getenv("RD_PROPERTY_SEED");
	const char *count = getenv("RD_PROPERTY_SEEDS");
	uint64_t n = count != NULL ? strtoull(count, NULL, 0) : 1000;
	int failures = 0;

	if (one != NULL) {
		struct scenario s = {
		    .seed = strtoull(one, NULL, 0), .verbose = true, .strict = strict};
		if (!run_scenario(&s, preempt)) {
			printf("FAIL seed %" PRIu64 " (%spreempt): %s\n", s.seed,
			       preempt ? "" : "no ", s.why);
			failures++;
		}
		fflush(stdout);
		return failures;
	}
	/* Half the seeds with preempt, half without. */
	for (uint64_t i = 0; i < (n + 1) / 2; i++) {
		struct scenario s = {.seed = base + i, .strict = strict};
		if (!run_scenario(&s, preempt)) {
			printf("FAIL seed %" PRIu64 " (%spreempt): %s\n  scenario: %s\n"
			       "  replay: RD_PROPERTY_SEED=%" PRIu64 " %s\n",
			       s.seed, preempt ? "" : "no ", s.why, s.desc, s.seed,
			       "build/tests/sim/test-carp-property");
			failures++;
		}
	}
	/* Check may end this forked child without flushing stdio. */
	fflush(stdout);
	return failures;
}

START_TEST(with_preempt_the_preferred_node_is_the_one_master)
{
	ck_assert_int_eq(run_seeds(true, 1, false), 0);
}
END_TEST

START_TEST(without_preempt_one_master_and_the_fastest_backup_takes_over)
{
	ck_assert_int_eq(run_seeds(false, 1000001, false), 0);
}
END_TEST

/* The same promises with strict replay protection (its counters go above what each node hears). */
START_TEST(with_replay_strict_the_same_promises_hold)
{
	ck_assert_int_eq(run_seeds(true, 3000001, true), 0);
	ck_assert_int_eq(run_seeds(false, 4000001, true), 0);
}
END_TEST

START_TEST(same_seed_gives_the_same_cluster_history)
{
	for (uint64_t seed = 1; seed <= 20; seed++) {
		struct scenario a = {.seed = seed}, b = {.seed = seed},
		                other = {.seed = seed + 100};
		run_scenario(&a, true);
		run_scenario(&b, true);
		run_scenario(&other, true);
		ck_assert_uint_eq(a.history, b.history);
		ck_assert_uint_ne(a.history, other.history);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carp-property");
	TCase *tc = tcase_create("property");
	tcase_set_timeout(tc, 600);
	if (rd_init() != 0)
		return EXIT_FAILURE;
	tcase_add_test(tc, with_preempt_the_preferred_node_is_the_one_master);
	tcase_add_test(tc, without_preempt_one_master_and_the_fastest_backup_takes_over);
	tcase_add_test(tc, with_replay_strict_the_same_promises_hold);
	tcase_add_test(tc, same_seed_gives_the_same_cluster_history);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
