/*
 * CARP tie-break property tests: seeded simulations of clusters whose
 * advertisements collide (issue 10: equal backups never elected). For each
 * seed:
 *
 *  - all-equal advskews (2-8 nodes), colliding advskews (3-10 nodes drawn
 *    from 2-3 distinct values, so that several share one), and 64 equal
 *    nodes;
 *  - every node starts at time 0 (the equal ones' master-down timers run out
 *    together), then the MASTER crashes twice in a row;
 *  - at the start: exactly one MASTER within two master-down intervals,
 *    the live node with the lowest advskew and, among those, the lowest
 *    source address (the tie-break); after each crash: exactly one MASTER
 *    within two master-down intervals of the nodes that take over, with the
 *    lowest advskew of the live nodes (which of the equal ones depends on
 *    the jitter: the first whose timer runs out before it hears another);
 *  - then no state change at all for 8 intervals (it stays the one MASTER).
 *  The old rule (every MASTER steps down on an equal advertisement) fails
 *  every seed of all three tests: no MASTER at all.
 *
 * The network: delay 0.1 ms plus up to 0.2 ms of jitter, no loss.
 * Environment: RD_PROPERTY_SEEDS=N runs N seeds per test (default 200; the
 * 64-node test runs N/10); RD_PROPERTY_SEED=S replays seed S with its
 * timeline.
 */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carp_cluster.h"
#include "prop_util.h"

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

enum layout { ALL_EQUAL, COLLIDING, SIXTY_FOUR };

struct tie_run {
	uint64_t seed;
	enum layout layout;
	struct cc_config cfg;
	char desc[1024];
	char why[512];
	bool verbose;
	bool strict; /* replay_strict on every node */
};

static bool tie_fail(struct tie_run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return false;
}

static int live(const struct cc_cluster *c)
{
	int n = 0;
	for (int i = 0; i < c->cfg.nodes; i++)
		n += cc_live(c, i);
	return n;
}

static struct cc_cluster *build(struct tie_run *r)
{
	uint64_t x = r->seed;
	struct cc_config *cfg = &r->cfg;

	memset(cfg, 0, sizeof(*cfg));
	cfg->vhid = (uint8_t)pick(&x, 1, 255);
	cfg->pass = "tie";
	cfg->vip = rd_addr_v4(0x0a000064);
	if (pick(&x, 0, 3) == 0)
		rd_addr_parse("fd00::100", &cfg->vip);
	cfg->advbase = (uint8_t)pick(&x, 0, 1);
	cfg->preempt = pick(&x, 0, 1) == 1;
	cfg->seed = r->seed;
	cfg->replay_strict = r->strict;
	cfg->link.delay = 100 * RD_USEC;
	cfg->link.jitter = 200 * RD_USEC;
	/* With advbase 0, advskew 0 and 1 have the same interval: start at 1
	 * so that "lowest advskew" names one interval. */
	uint8_t lo = cfg->advbase == 0 ? 1 : 0;
	switch (r->layout) {
	case ALL_EQUAL:
	case SIXTY_FOUR: {
		cfg->nodes = r->layout == SIXTY_FOUR ? CC_MAX_NODES : (int)pick(&x, 2, 8);
		uint8_t k = (uint8_t)pick(&x, lo, 254);
		for (int i = 0; i < cfg->nodes; i++)
			cfg->advskew[i] = k;
		break;
	}
	case COLLIDING: {
		uint8_t vals[3];
		int nv = (int)pick(&x, 2, 3);
		cfg->nodes = (int)pick(&x, 3, 10);
		for (int v = 0; v < nv; v++) {
			bool dup;
			do {
				vals[v] = (uint8_t)pick(&x, lo, 254);
				dup = false;
				for (int u = 0; u < v; u++)
					dup |= vals[u] == vals[v];
			} while (dup);
		}
		for (int i = 0; i < cfg->nodes; i++)
			cfg->advskew[i] = vals[pick(&x, 0, (uint64_t)nv - 1)];
		break;
	}
	}
	snprintf(r->desc, sizeof(r->desc), "%d nodes, vhid %u, advbase %u, %spreempt, %s, skews",
	         cfg->nodes, cfg->vhid, cfg->advbase, cfg->preempt ? "" : "no ",
	         cfg->vip.af == RD_AF_INET6 ? "IPv6" : "IPv4");
	for (int i = 0; i < cfg->nodes; i++)
		appendf(r->desc, sizeof(r->desc), "%s%u", i ? "," : " ", cfg->advskew[i]);
	return cc_new(cfg);
}

/*
 * Exactly one MASTER at `by`, with the lowest advskew of the live nodes
 * (exact: the preferred node, lowest address too), then no change for hold.
 */
static bool one_master(struct tie_run *r, struct cc_cluster *c, rd_time_t from, rd_time_t by,
                       rd_time_t hold, bool exact, const char *phase)
{
	int who = -1;

	rd_sim_run_until(c->sim, by);
	int masters = cc_masters(c, &who);
	if (masters != 1)
		return tie_fail(r, "%s: %d MASTERs at %.6f s (%.6f s after it began)", phase,
		                masters, (double)by / 1e9, (double)(by - from) / 1e9);
	int want = preferred(c);
	if (r->cfg.advskew[who] != r->cfg.advskew[want] || (exact && who != want))
		return tie_fail(r,
		                "%s: MASTER is node %d (advskew %u), the rules prefer node %d "
		                "(advskew %u)",
		                phase, who, r->cfg.advskew[who], want, r->cfg.advskew[want]);
	rd_sim_run_until(c->sim, by + hold);
	size_t changes = cc_state_changes(c, by, by + hold);
	if (changes != 0)
		return tie_fail(r, "%s: %zu state changes in %.6f-%.6f s", phase, changes,
		                (double)by / 1e9, (double)(by + hold) / 1e9);
	if (cc_masters(c, NULL) != 1)
		return tie_fail(r, "%s: %d MASTERs at %.6f s", phase, cc_masters(c, NULL),
		                (double)(by + hold) / 1e9);
	return true;
}

static bool run(struct tie_run *r)
{
	struct cc_cluster *c = build(r);
	bool ok = false;

	if (c == NULL)
		return tie_fail(r, "cannot build the cluster");
	rd_time_t imax = 0;
	for (int i = 0; i < r->cfg.nodes; i++)
		imax = cc_interval(c, i) > imax ? cc_interval(c, i) : imax;
	rd_time_t hold = 8 * imax;

	/* Start: every node's master-down runs out at the preferred one's
	 * 3 intervals; two master-down intervals from time 0. */
	int want = preferred(c);
	rd_time_t md = 3 * cc_interval(c, want);
	if (!one_master(r, c, 0, 2 * md, hold, true, "at start"))
		goto out;

	for (int round = 0; round < 2 && live(c) >= 2; round++) {
		int old = -1;
		cc_masters(c, &old);
		rd_time_t tc = rd_sim_now(c->sim);
		rd_sim_crash_at(c->sim, tc, old);
		rd_sim_run_until(c->sim, tc);
		want = preferred(c);
		md = 3 * cc_interval(c, want);
		char phase[64];
		snprintf(phase, sizeof(phase), "after MASTER node %d crashed", old);
		if (!one_master(r, c, tc, tc + 2 * md, hold, false, phase))
			goto out;
	}
	ok = true;
out:
	if (r->verbose) {
		printf("seed %" PRIu64 ": %s\n", r->seed, r->desc);
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

static int run_seeds(enum layout layout, uint64_t base, uint64_t div, bool strict)
{
	const char *one = getenv("RD_PROPERTY_SEED");
	const char *count = getenv("RD_PROPERTY_SEEDS");
	uint64_t n = (count != NULL ? strtoull(count, NULL, 0) : 200) / div;
	int failures = 0;

	if (one != NULL) {
		n = 1;
		base = strtoull(one, NULL, 0);
	}
	for (uint64_t i = 0; i < (n > 0 ? n : 1); i++) {
		struct tie_run r = {
		    .seed = base + i, .layout = layout, .verbose = one != NULL, .strict = strict};
		if (!run(&r)) {
			printf("FAIL seed %" PRIu64 ": %s\n  scenario: %s\n"
			       "  replay: RD_PROPERTY_SEED=%" PRIu64
			       " build/tests/sim/test-carp-tie\n",
			       r.seed, r.why, r.desc, r.seed);
			failures++;
		}
	}
	fflush(stdout);
	return failures;
}

START_TEST(equal_advskews_elect_one_master)
{
	ck_assert_int_eq(run_seeds(ALL_EQUAL, 1, 1, false), 0);
}
END_TEST

START_TEST(colliding_advskews_elect_the_lowest_skew_and_address)
{
	ck_assert_int_eq(run_seeds(COLLIDING, 2000001, 1, false), 0);
}
END_TEST

START_TEST(sixty_four_equal_nodes_elect_one_master)
{
	ck_assert_int_eq(run_seeds(SIXTY_FOUR, 4000001, 10, false), 0);
}
END_TEST

/*
 * With strict replay protection: nodes that take over together send
 * counters just above the same last advertisement, and must still hear
 * each other (the random step, and the 64 counters a vhost keeps).
 */
START_TEST(with_replay_strict_equal_and_sixty_four_nodes_elect_one_master)
{
	ck_assert_int_eq(run_seeds(ALL_EQUAL, 6000001, 1, true), 0);
	ck_assert_int_eq(run_seeds(COLLIDING, 7000001, 1, true), 0);
	ck_assert_int_eq(run_seeds(SIXTY_FOUR, 8000001, 10, true), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carp-tie");
	TCase *tc = tcase_create("tie");
	tcase_set_timeout(tc, 600);
	if (rd_init() != 0)
		return EXIT_FAILURE;
	tcase_add_test(tc, equal_advskews_elect_one_master);
	tcase_add_test(tc, colliding_advskews_elect_the_lowest_skew_and_address);
	tcase_add_test(tc, sixty_four_equal_nodes_elect_one_master);
	tcase_add_test(tc, with_replay_strict_equal_and_sixty_four_nodes_elect_one_master);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
