/*
 * Firewalls with two segments in the simulator (issue 9's partial failure):
 * 2-4 nodes, each one rd_carp_node with a LAN and a WAN if and one vhost on
 * each, preempt on, random distinct advskews, advbase 0 or 1. Once the
 * preferred node P holds both virtual addresses, P loses carrier on its WAN
 * only, at a random instant (clusters where a backup's master-down is
 * shorter than a master's interval are left out, see run()):
 *
 *  - default groups (every vhost in "carp"): P's LAN vhost advertises its
 *    demotion at once and the next preferred node Q takes the LAN at once
 *    (within a few link delays), and the WAN when its master-down timer
 *    runs out: Q holds BOTH within one master-down interval of Q, and P
 *    is BACKUP on the LAN and INIT on the WAN; nothing changes after.
 *    When P's carrier returns, P takes both back (preempt) within one
 *    advertisement interval of Q; nothing changes after.
 *  - groups {"-carp"} on every vhost: the split OpenBSD shows without the
 *    group: only the WAN moves (to Q within the same bound); the LAN never
 *    changes state at all; P takes the WAN back when its carrier returns.
 *
 * Links are healthy and FIFO (delay 0.1 ms, no jitter): the property is
 * about demotion, not about stale advertisements overtaking fresh ones.
 *
 * Environment: RD_PROPERTY_SEEDS=N runs N seeds per variant (default 300);
 * RD_PROPERTY_SEED=S replays seed S and prints its timeline.
 */
#include <check.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carp_cluster.h"

#define LAN    0
#define WAN    1
#define MARGIN (2 * RD_MSEC) /* a few link delays of 0.1 ms */

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
	bool split; /* groups {"-carp"} */
	bool verbose;
	struct cc_config cfg;
	char desc[256];
	char why[256];
};

static bool sfail(struct scenario *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	return false;
}

/* The node with the lowest advskew among those not excluded. */
static int preferred(const struct cc_config *cfg, int exclude)
{
	int best = -1;
	for (int i = 0; i < cfg->nodes; i++)
		if (i != exclude && (best < 0 || cfg->advskew[i] < cfg->advskew[best]))
			best = i;
	return best;
}

/* The first transition to MASTER on seg by a node other than `not` in [from, to]. */
static const struct cc_event *first_master(const struct cc_cluster *c, int seg, int except,
                                           rd_time_t from, rd_time_t to)
{
	for (size_t i = 0; i < c->nlog; i++) {
		const struct cc_event *e = &c->log[i];
		if (e->kind == CC_STATE && e->seg == seg && e->to == RD_CARP_MASTER &&
		    e->node != except && e->t >= from && e->t <= to)
			return e;
	}
	return NULL;
}

static bool holds(struct scenario *s, struct cc_cluster *c, int seg, int want, const char *when)
{
	int who = cc_holder(c, seg);
	if (who != want)
		return sfail(s, "%s (%.6f s): %s held by node %d (%d MASTERs), expected node %d",
		             when, (double)rd_sim_now(c->sim) / 1e9, cc_seg_name(seg), who,
		             cc_masters_on(c, seg, NULL), want);
	return true;
}

static bool stable(struct scenario *s, struct cc_cluster *c, rd_time_t hold, const char *when)
{
	rd_time_t t = rd_sim_now(c->sim);
	rd_sim_run_until(c->sim, t + hold);
	size_t n = cc_state_changes(c, t + 1, t + hold);
	if (n != 0)
		return sfail(s, "%s: %zu state changes in %.3f-%.3f s", when, n, (double)t / 1e9,
		             (double)(t + hold) / 1e9);
	return true;
}

static bool run(struct scenario *s)
{
	static const char *const no_carp[] = {"-carp"};
	struct cc_config *cfg = &s->cfg;
	uint64_t x = s->seed;
	bool used[256] = {false};
	bool ok = false;

	memset(cfg, 0, sizeof(*cfg));
	cfg->nodes = (int)pick(&x, 2, 4);
	cfg->segments = 2;
	cfg->vhid = (uint8_t)pick(&x, 1, 254);
	cfg->pass = "fw";
	cfg->vip = rd_addr_v4(0x0a000064);
	if (pick(&x, 0, 3) == 0)
		rd_addr_parse("fd00::100", &cfg->vip);
	cfg->advbase = (uint8_t)pick(&x, 0, 1);
	cfg->preempt = true;
	cfg->seed = s->seed;
	cfg->link.delay = 100 * RD_USEC;
	if (s->split) {
		cfg->groups = no_carp;
		cfg->ngroups = 1;
	}
	/*
	 * Distinct skews. With advbase 0 a BACKUP whose master-down (3 of its
	 * own intervals) is shorter than the MASTER's interval takes over
	 * between two advertisements; demoted, it then flaps for as long as
	 * it is demoted (OpenBSD does the same): such clusters are redrawn.
	 * With advbase 1 master-down is at least 3 s, an interval under 2 s.
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
		if (cfg->advbase != 0 || 3 * lo >= hi + 4)
			break;
	}
	struct cc_cluster *c = cc_new(cfg);
	if (c == NULL)
		return sfail(s, "cannot build the cluster");
	int p = preferred(cfg, -1), q = preferred(cfg, p);
	rd_time_t imax = 0;
	for (int i = 0; i < cfg->nodes; i++)
		imax = cc_interval(c, i) > imax ? cc_interval(c, i) : imax;
	rd_time_t iq = cc_interval(c, q), mdq = 3 * iq;
	snprintf(s->desc, sizeof(s->desc),
	         "%d nodes, vhid %u/%u, advbase %u, %s, P node %d (skew %u), Q node %d (skew %u)",
	         cfg->nodes, cfg->vhid, cfg->vhid + 1, cfg->advbase,
	         s->split ? "groups -carp" : "groups carp", p, cfg->advskew[p], q, cfg->advskew[q]);

	/* P holds both once the master-down timers ran. */
	rd_sim_run_until(c->sim, 3 * imax + MARGIN);
	if (!holds(s, c, LAN, p, "at start") || !holds(s, c, WAN, p, "at start") ||
	    !stable(s, c, 2 * imax, "at start"))
		goto out;

	/* P loses carrier on its WAN, at no particular phase of its ads. */
	rd_time_t t = rd_sim_now(c->sim) + pick(&x, 1, imax);
	size_t lan_before = cc_state_changes_on(c, LAN, 0, t);
	cc_carrier_at(c, t, p, WAN, false);
	rd_sim_run_until(c->sim, t + MARGIN);
	if (s->split) {
		if (!holds(s, c, LAN, p, "just after P's WAN carrier loss"))
			goto out;
	} else {
		const struct cc_event *e = first_master(c, LAN, p, t, t + MARGIN);
		if (e == NULL || !holds(s, c, LAN, q, "just after P's WAN carrier loss"))
			goto out;
		if (strcmp(e->reason, "master more demoted") != 0) {
			sfail(s, "the LAN moved for '%s'", e->reason);
			goto out;
		}
	}
	rd_sim_run_until(c->sim, t + mdq + MARGIN);
	if (!holds(s, c, WAN, q, "one master-down interval of Q after the loss") ||
	    !holds(s, c, LAN, s->split ? p : q, "one master-down interval of Q after the loss"))
		goto out;
	if (cc_state(c, p, WAN) != RD_CARP_INIT ||
	    cc_state(c, p, LAN) != (s->split ? RD_CARP_MASTER : RD_CARP_BACKUP)) {
		sfail(s, "P is %s on the LAN and %s on the WAN",
		      rd_carp_state_name(cc_state(c, p, LAN)),
		      rd_carp_state_name(cc_state(c, p, WAN)));
		goto out;
	}
	if (!stable(s, c, pick(&x, 2, 6) * imax, "after the failover"))
		goto out;

	/* The carrier returns: P takes back what it lost (preempt). */
	rd_time_t t2 = rd_sim_now(c->sim) + pick(&x, 1, imax);
	cc_carrier_at(c, t2, p, WAN, true);
	rd_sim_run_until(c->sim, t2 + iq + MARGIN);
	if (!holds(s, c, LAN, p, "one interval of Q after the carrier returned") ||
	    !holds(s, c, WAN, p, "one interval of Q after the carrier returned") ||
	    !stable(s, c, pick(&x, 2, 6) * imax, "after the failback"))
		goto out;
	if (s->split && cc_state_changes_on(c, LAN, 0, RD_TIME_NEVER - 1) != lan_before) {
		sfail(s, "the LAN changed state although its vhosts are out of group carp");
		goto out;
	}
	ok = true;
out:
	if (s->verbose) {
		printf("seed %" PRIu64 ": %s\n", s->seed, s->desc);
		for (size_t i = 0; i < c->nlog; i++) {
			const struct cc_event *ev = &c->log[i];
			printf("  %10.6f s  node %2d  %-12s %s", (double)ev->t / 1e9, ev->node,
			       cc_kind_name(ev->kind), ev->seg >= 0 ? cc_seg_name(ev->seg) : "");
			if (ev->kind == CC_STATE)
				printf(" %s -> %s (%s)", rd_carp_state_name(ev->from),
				       rd_carp_state_name(ev->to), ev->reason);
			printf("\n");
		}
	}
	cc_free(c);
	return ok;
}

static int run_seeds(bool split, uint64_t base)
{
	const char *one = getenv("RD_PROPERTY_SEED");
	const char *count = getenv("RD_PROPERTY_SEEDS");
	uint64_t n = count != NULL ? strtoull(count, NULL, 0) : 300;
	int failures = 0;

	if (one != NULL)
		n = 1;
	for (uint64_t i = 0; i < n; i++) {
		struct scenario s = {.seed = one != NULL ? strtoull(one, NULL, 0) : base + i,
		                     .split = split,
		                     .verbose = one != NULL};
		if (!run(&s)) {
			printf("FAIL seed %" PRIu64 " (%s): %s\n  scenario: %s\n"
			       "  replay: RD_PROPERTY_SEED=%" PRIu64
			       " build/tests/sim/test-carp-segments\n",
			       s.seed, split ? "-carp" : "carp", s.why, s.desc, s.seed);
			failures++;
		}
	}
	fflush(stdout);
	return failures;
}

START_TEST(wan_carrier_loss_moves_the_whole_firewall_and_back)
{
	ck_assert_int_eq(run_seeds(false, 1), 0);
}
END_TEST

START_TEST(out_of_group_carp_only_the_wan_moves)
{
	ck_assert_int_eq(run_seeds(true, 500001), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carp-segments");
	TCase *tc = tcase_create("segments");
	tcase_set_timeout(tc, 600);
	if (rd_init() != 0)
		return EXIT_FAILURE;
	tcase_add_test(tc, wan_carrier_loss_moves_the_whole_firewall_and_back);
	tcase_add_test(tc, out_of_group_carp_only_the_wan_moves);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
