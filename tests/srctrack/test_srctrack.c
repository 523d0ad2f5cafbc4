/*
 * Unit tests for source tracking: each limit, the connection-rate decay,
 * the overload and flush hooks, each pool kind, sticky targets, kills,
 * the src.track lifetime and incremental expiry.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "redund/srctrack.h"

#define S RD_SEC

struct hookrec {
	int overloads;
	uint32_t overload_rule;
	struct rd_addr overload_addr;
	int kills;
	uint32_t kill_rule[16];
	struct rd_addr kill_addr[16];
};

/* One counter of the tracker, through rd_src_stats. */
static uint64_t src_stat(const struct rd_src_table *s, int which)
{
	uint64_t v[RD_SRC_STAT_COUNT];

	rd_src_stats(s, v);
	return v[which];
}

static void on_overload(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now)
{
	struct hookrec *h = user;

	(void)now;
	h->overloads++;
	h->overload_rule = rule_id;
	h->overload_addr = *src;
}

static void on_kill(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now)
{
	struct hookrec *h = user;

	(void)now;
	if (h->kills < 16) {
		h->kill_rule[h->kills] = rule_id;
		h->kill_addr[h->kills] = *src;
	}
	h->kills++;
}

static uint64_t seed;
static struct hookrec hooks;

static struct rd_src_table *mk(uint32_t max_nodes, rd_time_t src_track)
{
	struct rd_src_config cfg;
	struct rd_src_table *t;

	rd_src_config_default(&cfg);
	seed = 0x1234567;
	memset(&hooks, 0, sizeof(hooks));
	cfg.random.fn = test_random_fn;
	cfg.random.user = &seed;
	cfg.cb.user = &hooks;
	cfg.cb.overload = on_overload;
	cfg.cb.kill_states = on_kill;
	if (max_nodes)
		cfg.max_nodes = max_nodes;
	cfg.src_track = src_track;
	ck_assert_int_eq(rd_src_table_new(&cfg, &t), 0);
	return t;
}

static struct rd_src_rule *mkrule(struct rd_src_table *t, uint32_t id, enum rd_src_track_mode m)
{
	struct rd_src_rule_config c;
	struct rd_src_rule *r;

	rd_src_rule_config_default(&c);
	c.id = id;
	c.track = m;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	return r;
}

static void set_limits(struct rd_src_table *t, struct rd_src_rule *r,
                       const struct rd_src_rule_config *c)
{
	ck_assert_int_eq(rd_src_rule_update(t, r, c), 0);
}

/* A state from `a` under rule r: acquire + commit. Returns its handle. */
static uint32_t add_state(struct rd_src_table *t, struct rd_src_rule *r, struct rd_addr a,
                          rd_time_t now)
{
	uint32_t ref = 0;

	ck_assert_int_eq(rd_src_acquire(t, r, &a, now, &ref), 0);
	ck_assert_int_eq(rd_src_commit(t, ref, now), 0);
	return ref;
}

static struct rd_src_rule_config cfg_of(uint32_t id, enum rd_src_track_mode m)
{
	struct rd_src_rule_config c;

	memset(&c, 0, sizeof(c));
	c.id = id;
	c.track = m;
	return c;
}

/* ---- configuration ---- */

START_TEST(config_defaults_are_pf_defaults_and_accepted)
{
	struct rd_src_rule_config rc;
	struct rd_src_pool_config pc;
	struct rd_src_table *t = mk(16, 0);
	struct rd_src_rule *r;

	memset(&rc, 0xa5, sizeof(rc));
	rd_src_rule_config_default(&rc);
	ck_assert_int_eq(rc.track, RD_SRC_TRACK_NONE);
	ck_assert_uint_eq(rc.max_src_nodes | rc.max_src_states | rc.max_src_conn, 0);
	ck_assert_uint_eq(rc.max_src_conn_rate | rc.max_src_conn_seconds, 0);
	ck_assert(!rc.overload);
	ck_assert_int_eq(rc.flush, RD_SRC_FLUSH_NONE);
	ck_assert_uint_eq(rc.src_track, 0);
	rc.id = 7;
	ck_assert_int_eq(rd_src_rule_add(t, &rc, &r), 0);
	memset(&pc, 0xa5, sizeof(pc));
	rd_src_pool_config_default(&pc);
	ck_assert_int_eq(pc.type, RD_SRC_POOL_NONE);
	ck_assert(!pc.sticky && !pc.keyed);
	ck_assert_int_eq(rd_src_pool_set(t, r, RD_SRC_KIND_NAT, &pc), 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(stats_copy_every_counter_and_name_it)
{
	struct rd_src_table *t = mk(16, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_addr a = rd_addr_v4(0x0a000001);
	uint64_t out[RD_SRC_STAT_COUNT];
	uint32_t ref = 0;

	memset(out, 0xa5, sizeof(out));
	rd_src_stats(t, out);
	for (int i = 0; i < RD_SRC_STAT_COUNT; i++) {
		ck_assert_uint_eq(out[i], 0);
		ck_assert_str_ne(rd_src_stat_name(i), "?");
	}
	ck_assert_str_eq(rd_src_stat_name(-1), "?");
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_COUNT), "?");
	ck_assert_int_eq(rd_src_acquire(t, r, &a, 0, &ref), 0);
	rd_src_stats(t, out);
	ck_assert_uint_eq(out[RD_SRC_STAT_INSERT], 1);
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_INSERT), "inserts");
	rd_src_release(t, ref, 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(table_rejects_zero_or_huge_node_limit)
{
	struct rd_src_config cfg;
	struct rd_src_table *t;

	rd_src_config_default(&cfg);
	ck_assert_uint_eq(cfg.max_nodes, 10000);
	cfg.max_nodes = 0;
	ck_assert_int_eq(rd_src_table_new(&cfg, &t), RD_ERR_INVAL);
	cfg.max_nodes = (1u << 26) + 1;
	ck_assert_int_eq(rd_src_table_new(&cfg, &t), RD_ERR_INVAL);
}
END_TEST

START_TEST(rule_config_is_validated_as_pf_conf)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r;
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_GLOBAL);

	c.max_src_conn = 5; /* pf forces per-rule tracking for max-src-conn */
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), RD_ERR_INVAL);
	c = cfg_of(1, RD_SRC_TRACK_NONE);
	c.max_src_states = 3;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), RD_ERR_INVAL);
	c = cfg_of(1, RD_SRC_TRACK_RULE);
	c.flush = RD_SRC_FLUSH_RULE; /* flush needs overload */
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), RD_ERR_INVAL);
	c = cfg_of(1, RD_SRC_TRACK_RULE);
	c.max_src_conn_rate = 10; /* N without S */
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), RD_ERR_INVAL);
	c.max_src_conn_seconds = 5;
	c.max_src_conn_rate = 4294968; /* above PF_THRESHOLD_MAX */
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), RD_ERR_INVAL);
	c = cfg_of(RD_SRC_RULE_GLOBAL, RD_SRC_TRACK_RULE);
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), RD_ERR_INVAL);
	c = cfg_of(1, RD_SRC_TRACK_RULE);
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), RD_ERR_EXIST);
	ck_assert_ptr_eq(rd_src_rule_find(t, 1), r);
	c.track = RD_SRC_TRACK_GLOBAL;
	ck_assert_int_eq(rd_src_rule_update(t, r, &c), RD_ERR_INVAL);
	rd_src_table_free(t);
}
END_TEST

START_TEST(rule_without_tracking_leaves_handle_zero)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_NONE);
	struct rd_addr a = A4(10, 0, 0, 1);
	uint32_t ref = 0;

	ck_assert_int_eq(rd_src_acquire(t, r, &a, 0, &ref), 0);
	ck_assert_uint_eq(ref, 0);
	ck_assert_int_eq(rd_src_commit(t, ref, 0), 0);
	ck_assert_int_eq(rd_src_conn_established(t, ref, 0), 0);
	rd_src_state_removed(t, ref, 0);
	ck_assert_uint_eq(rd_src_count(t), 0);
	rd_src_table_free(t);
}
END_TEST

/* ---- nodes and limits ---- */

START_TEST(commit_counts_the_state_on_the_node)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 7, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1);
	struct rd_src_node_info info;
	uint32_t ref = 0;

	ck_assert_int_eq(rd_src_acquire(t, r, &a, 5 * S, &ref), 0);
	ck_assert_uint_ne(ref, 0);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 5 * S, &info), 0);
	ck_assert_uint_eq(info.states, 0);
	ck_assert_int_eq(rd_src_commit(t, ref, 5 * S), 0);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 5 * S, &info), 0);
	ck_assert_uint_eq(info.states, 1);
	ck_assert_uint_eq(info.rule_id, 7);
	ck_assert_uint_eq(info.creation, 5 * S);
	ck_assert_int_eq(rd_src_commit(t, ref, 5 * S), RD_ERR_INVAL);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_INSERT), 1);
	rd_src_table_free(t);
}
END_TEST

START_TEST(max_src_states_refuses_the_state_over_the_limit)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1), b = A4(10, 0, 0, 2);
	uint32_t ref = 0, r1;

	c.max_src_states = 2;
	set_limits(t, r, &c);
	r1 = add_state(t, r, a, 0);
	add_state(t, r, a, 0);
	ck_assert_int_eq(rd_src_acquire(t, r, &a, 0, &ref), RD_ERR_LIMIT);
	ck_assert_uint_eq(ref, 0);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_MAX_SRC_STATES), 1);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_SRC_LIMIT), 1);
	add_state(t, r, b, 0); /* another source is not affected */
	rd_src_state_removed(t, r1, 1 * S);
	add_state(t, r, a, 1 * S); /* room again */
	rd_src_table_free(t);
}
END_TEST

START_TEST(max_src_nodes_refuses_a_new_source)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1), b = A4(10, 0, 0, 2), x = A4(10, 0, 0, 3);
	uint32_t ref = 0;

	c.max_src_nodes = 2;
	set_limits(t, r, &c);
	add_state(t, r, a, 0);
	add_state(t, r, b, 0);
	add_state(t, r, a, 0); /* a known source still gets states */
	ck_assert_int_eq(rd_src_acquire(t, r, &x, 0, &ref), RD_ERR_LIMIT);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_MAX_SRC_NODES), 1);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_SRC_LIMIT), 1);
	ck_assert_uint_eq(rd_src_rule_nodes(r), 2);
	rd_src_table_free(t);
}
END_TEST

START_TEST(max_src_nodes_counts_a_node_until_its_src_track_ends)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_src_rule *r;
	struct rd_addr a = A4(10, 0, 0, 1), b = A4(10, 0, 0, 2);
	uint32_t ref = 0, ra;

	c.max_src_nodes = 1;
	c.src_track = 10 * S;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	ra = add_state(t, r, a, 0);
	rd_src_state_removed(t, ra, 2 * S); /* a lingers until 12 s */
	ck_assert_int_eq(rd_src_acquire(t, r, &b, 11 * S, &ref), RD_ERR_LIMIT);
	ck_assert_int_eq(rd_src_acquire(t, r, &b, 12 * S, &ref), 0);
	rd_src_release(t, ref, 12 * S);
	rd_src_table_free(t);
}
END_TEST

START_TEST(table_node_limit_refuses_as_src_nodes)
{
	struct rd_src_table *t = mk(2, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_addr x = A4(10, 0, 0, 3);
	uint32_t ref = 0;

	add_state(t, r, A4(10, 0, 0, 1), 0);
	add_state(t, r, A4(10, 0, 0, 2), 0);
	ck_assert_int_eq(rd_src_acquire(t, r, &x, 0, &ref), RD_ERR_LIMIT);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_SRC_NODES), 1);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_SRC_LIMIT), 1);
	rd_src_table_free(t);
}
END_TEST

START_TEST(release_rolls_back_a_new_node)
{
	struct rd_src_table *t = mk(0, 30 * S);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1);
	struct rd_src_node_info info;
	uint32_t ref = 0;

	ck_assert_int_eq(rd_src_acquire(t, r, &a, 0, &ref), 0);
	ck_assert_uint_eq(rd_src_count(t), 1);
	rd_src_release(t, ref, 0);
	ck_assert_uint_eq(rd_src_count(t), 0);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 0, &info), RD_ERR_NOENT);
	rd_src_table_free(t);
}
END_TEST

START_TEST(release_keeps_a_node_that_has_states)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1);
	struct rd_src_node_info info;
	uint32_t ref = 0;

	add_state(t, r, a, 0);
	ck_assert_int_eq(rd_src_acquire(t, r, &a, 0, &ref), 0);
	rd_src_release(t, ref, 0);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 0, &info), 0);
	ck_assert_uint_eq(info.states, 1);
	rd_src_table_free(t);
}
END_TEST

START_TEST(global_tracking_shares_one_node_between_rules)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_GLOBAL);
	struct rd_src_rule *r1, *r2;
	struct rd_addr a = A4(10, 0, 0, 1);
	struct rd_src_node_info info;
	uint32_t ref = 0;

	c.max_src_states = 2;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r1), 0);
	c.id = 2;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r2), 0);
	add_state(t, r1, a, 0);
	add_state(t, r2, a, 0);
	ck_assert_int_eq(rd_src_acquire(t, r1, &a, 0, &ref), RD_ERR_LIMIT);
	ck_assert_int_eq(rd_src_acquire(t, r2, &a, 0, &ref), RD_ERR_LIMIT);
	ck_assert_int_eq(rd_src_lookup(t, rd_src_rule_find(t, RD_SRC_RULE_GLOBAL),
	                               RD_SRC_KIND_TRACK, &a, 0, &info),
	                 0);
	ck_assert_uint_eq(info.states, 2);
	ck_assert_uint_eq(info.rule_id, RD_SRC_RULE_GLOBAL);
	ck_assert_uint_eq(rd_src_count(t), 1);
	rd_src_table_free(t);
}
END_TEST

START_TEST(max_src_conn_trips_on_the_connection_over_the_limit)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1);
	uint32_t refs[3];

	c.max_src_conn = 2;
	set_limits(t, r, &c);
	for (int i = 0; i < 3; i++)
		refs[i] = add_state(t, r, a, 0);
	ck_assert_int_eq(rd_src_conn_established(t, refs[0], 0), 0);
	ck_assert_int_eq(rd_src_conn_established(t, refs[0], 0), 0); /* counted once */
	ck_assert_int_eq(rd_src_conn_established(t, refs[1], 0), 0);
	ck_assert_int_eq(rd_src_conn_established(t, refs[2], 0), RD_ERR_LIMIT);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_MAX_SRC_CONN), 1);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_SRC_LIMIT), 1);
	ck_assert_int_eq(hooks.overloads, 0); /* overload is off */
	rd_src_table_free(t);
}
END_TEST

START_TEST(connection_count_drops_when_an_established_state_goes)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1);
	struct rd_src_node_info info;
	uint32_t r1, r2;

	c.max_src_conn = 1;
	set_limits(t, r, &c);
	r1 = add_state(t, r, a, 0);
	ck_assert_int_eq(rd_src_conn_established(t, r1, 0), 0);
	add_state(t, r, a, 0); /* not established: does not count */
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 0, &info), 0);
	ck_assert_uint_eq(info.conn, 1);
	rd_src_state_removed(t, r1, 1 * S);
	r2 = add_state(t, r, a, 1 * S);
	ck_assert_int_eq(rd_src_conn_established(t, r2, 1 * S), 0);
	rd_src_table_free(t);
}
END_TEST

/* N=3/S=10: count = count - count*diff/S (whole seconds), +1000; trips when > 3000. */
START_TEST(conn_rate_counter_decays_as_pf)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1);
	struct rd_src_node_info info;
	static const struct {
		rd_time_t at;
		uint32_t count;
		int rc;
	} steps[] = {
	    {0, 1000, 0},
	    {0, 2000, 0},
	    {999 * RD_MSEC, 3000, 0},    /* same second: no decay; 3000 is not > 3000 */
	    {1 * S, 3700, RD_ERR_LIMIT}, /* 3000 - 3000*1/10 + 1000 */
	};
	uint32_t refs[8];
	uint32_t expect;

	c.max_src_conn_rate = 3;
	c.max_src_conn_seconds = 10;
	set_limits(t, r, &c);
	for (int i = 0; i < 4; i++) {
		refs[i] = add_state(t, r, a, steps[i].at);
		ck_assert_int_eq(rd_src_conn_established(t, refs[i], steps[i].at), steps[i].rc);
		ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, steps[i].at, &info), 0);
		ck_assert_uint_eq(info.conn_rate, steps[i].count);
	}
	/* At 5 s: 3700 - 3700*4/10 = 2220, + 1000 = 3220 > 3000: still over. */
	refs[4] = add_state(t, r, a, 5 * S);
	ck_assert_int_eq(rd_src_conn_established(t, refs[4], 5 * S), RD_ERR_LIMIT);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 5 * S, &info), 0);
	expect = 3700 - 3700 * 4 / 10 + 1000;
	ck_assert_uint_eq(info.conn_rate, expect);
	/* At 9 s: 3220 - 3220*4/10 = 1932, + 1000 = 2932: allowed. */
	refs[5] = add_state(t, r, a, 9 * S);
	ck_assert_int_eq(rd_src_conn_established(t, refs[5], 9 * S), 0);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 9 * S, &info), 0);
	ck_assert_uint_eq(info.conn_rate, expect - expect * 4 / 10 + 1000);
	/* 10 s or more after the last update: the count restarts. */
	refs[6] = add_state(t, r, a, 19 * S);
	ck_assert_int_eq(rd_src_conn_established(t, refs[6], 19 * S), 0);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 19 * S, &info), 0);
	ck_assert_uint_eq(info.conn_rate, 1000);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_MAX_SRC_CONN_RATE), 2);
	rd_src_table_free(t);
}
END_TEST

START_TEST(conn_rate_burst_trips_on_the_n_plus_first)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1);

	c.max_src_conn_rate = 5;
	c.max_src_conn_seconds = 1;
	set_limits(t, r, &c);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(rd_src_conn_established(t, add_state(t, r, a, 100 * S), 100 * S),
		                 0);
	ck_assert_int_eq(rd_src_conn_established(t, add_state(t, r, a, 100 * S), 100 * S),
	                 RD_ERR_LIMIT);
	/* With S = 1, one second later the count has restarted. */
	ck_assert_int_eq(rd_src_conn_established(t, add_state(t, r, a, 101 * S), 101 * S), 0);
	rd_src_table_free(t);
}
END_TEST

static struct rd_src_rule *overload_rule(struct rd_src_table *t, uint32_t id, enum rd_src_flush f)
{
	struct rd_src_rule_config c = cfg_of(id, RD_SRC_TRACK_RULE);
	struct rd_src_rule *r;

	c.max_src_conn = 1;
	c.overload = true;
	c.flush = f;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	return r;
}

START_TEST(overload_calls_the_hook_without_flushing)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = overload_rule(t, 9, RD_SRC_FLUSH_NONE);
	struct rd_addr a = A4(192, 0, 2, 1);

	ck_assert_int_eq(rd_src_conn_established(t, add_state(t, r, a, 0), 0), 0);
	ck_assert_int_eq(hooks.overloads, 0);
	ck_assert_int_eq(rd_src_conn_established(t, add_state(t, r, a, 0), 0), RD_ERR_LIMIT);
	ck_assert_int_eq(hooks.overloads, 1);
	ck_assert_uint_eq(hooks.overload_rule, 9);
	ck_assert_int_eq(rd_addr_cmp(&hooks.overload_addr, &a), 0);
	ck_assert_int_eq(hooks.kills, 0);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_OVERLOAD_TABLE), 1);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_OVERLOAD_FLUSH), 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(overload_flush_asks_to_kill_the_rules_states_of_the_source)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = overload_rule(t, 9, RD_SRC_FLUSH_RULE);
	struct rd_addr a = A4(192, 0, 2, 1);

	ck_assert_int_eq(rd_src_conn_established(t, add_state(t, r, a, 0), 0), 0);
	ck_assert_int_eq(rd_src_conn_established(t, add_state(t, r, a, 0), 0), RD_ERR_LIMIT);
	ck_assert_int_eq(hooks.overloads, 1);
	ck_assert_int_eq(hooks.kills, 1);
	ck_assert_uint_eq(hooks.kill_rule[0], 9);
	ck_assert_int_eq(rd_addr_cmp(&hooks.kill_addr[0], &a), 0);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_OVERLOAD_FLUSH), 1);
	rd_src_table_free(t);
}
END_TEST

START_TEST(overload_flush_global_asks_to_kill_states_of_every_rule)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = overload_rule(t, 9, RD_SRC_FLUSH_GLOBAL);
	struct rd_addr a = A4(192, 0, 2, 1);

	ck_assert_int_eq(rd_src_conn_established(t, add_state(t, r, a, 0), 0), 0);
	ck_assert_int_eq(rd_src_conn_established(t, add_state(t, r, a, 0), 0), RD_ERR_LIMIT);
	ck_assert_int_eq(hooks.kills, 1);
	ck_assert_uint_eq(hooks.kill_rule[0], RD_SRC_RULE_ANY);
	rd_src_table_free(t);
}
END_TEST

/* A kill hook that removes the states it is asked to, like a firewall. */
static struct rd_src_table *flush_tbl;
static uint32_t flush_refs[8];
static int flush_nrefs;

static void kill_all_refs(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now)
{
	(void)user;
	(void)rule_id;
	(void)src;
	for (int i = 0; i < flush_nrefs; i++)
		rd_src_state_removed(flush_tbl, flush_refs[i], now);
	flush_nrefs = 0;
}

START_TEST(flush_hook_may_remove_states_inside_the_call)
{
	struct rd_src_config cfg;
	struct rd_src_table *t;
	struct rd_src_rule *r;
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(192, 0, 2, 1);
	struct rd_src_node_info info;

	rd_src_config_default(&cfg);
	cfg.cb.kill_states = kill_all_refs;
	ck_assert_int_eq(rd_src_table_new(&cfg, &t), 0);
	c.max_src_conn = 1;
	c.overload = true;
	c.flush = RD_SRC_FLUSH_RULE;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	flush_tbl = t;
	flush_nrefs = 0;
	for (int i = 0; i < 3; i++)
		flush_refs[flush_nrefs++] = add_state(t, r, a, 0);
	ck_assert_int_eq(rd_src_conn_established(t, flush_refs[0], 0), 0);
	ck_assert_int_eq(rd_src_conn_established(t, flush_refs[1], 0), RD_ERR_LIMIT);
	ck_assert_int_eq(flush_nrefs, 0);
	/* All three states went inside the hook; the node is idle (src.track 0: dead). */
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 0, &info), RD_ERR_NOENT);
	ck_assert_uint_eq(rd_src_handle_expiry(t, 0, 100), 1);
	ck_assert_uint_eq(rd_src_count(t), 0);
	rd_src_table_free(t);
}
END_TEST

/* ---- pools ---- */

static struct rd_src_rule *pool_rule(struct rd_src_table *t, enum rd_src_pool_type type,
                                     bool sticky)
{
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_NONE);
	struct rd_src_pool_config pc;

	memset(&pc, 0, sizeof(pc));
	pc.type = type;
	pc.sticky = sticky;
	ck_assert_int_eq(rd_src_pool_set(t, r, RD_SRC_KIND_NAT, &pc), 0);
	return r;
}

static void add_target(struct rd_src_table *t, struct rd_src_rule *r, struct rd_addr a,
                       unsigned plen)
{
	ck_assert_int_eq(rd_src_pool_add(t, r, RD_SRC_KIND_NAT, &a, plen, 1), 0);
}

/* Map `src` (no binding kept). */
static struct rd_addr map1(struct rd_src_table *t, struct rd_src_rule *r, struct rd_addr src)
{
	struct rd_addr out;
	uint32_t ref = 0;

	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &src, 0, &ref, &out), 0);
	rd_src_release(t, ref, 0);
	return out;
}

START_TEST(roundrobin_visits_targets_in_order)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_ROUNDROBIN, false);
	struct rd_addr tg[3] = {A4(198, 51, 100, 1), A4(198, 51, 100, 2), A4(198, 51, 100, 3)};
	struct rd_addr src = A4(10, 0, 0, 1), out;

	for (int i = 0; i < 3; i++)
		add_target(t, r, tg[i], 32);
	for (int i = 0; i < 7; i++) {
		out = map1(t, r, src);
		ck_assert_int_eq(rd_addr_cmp(&out, &tg[i % 3]), 0);
	}
	rd_src_table_free(t);
}
END_TEST

START_TEST(roundrobin_walks_every_address_of_a_network)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_ROUNDROBIN, false);
	struct rd_addr src = A4(10, 0, 0, 1), out, want;

	add_target(t, r, A4(198, 51, 100, 5), 30);
	add_target(t, r, A4(203, 0, 113, 9), 32);
	/* 198.51.100.4/30: .4 .5 .6 .7, then the host, then around again. */
	for (int i = 0; i < 10; i++) {
		out = map1(t, r, src);
		want = (i % 5) < 4 ? A4(198, 51, 100, (uint8_t)(4 + i % 5)) : A4(203, 0, 113, 9);
		ck_assert_int_eq(rd_addr_cmp(&out, &want), 0);
	}
	rd_src_table_free(t);
}
END_TEST

START_TEST(source_hash_is_stable_per_source_and_key)
{
	struct rd_src_table *t1 = mk(0, 0), *t2 = mk(0, 0);
	struct rd_src_rule *r1 = pool_rule(t1, RD_SRC_POOL_SRCHASH, false);
	struct rd_src_rule *r2 = pool_rule(t2, RD_SRC_POOL_SRCHASH, false);
	struct rd_src_pool_config pc = {.type = RD_SRC_POOL_SRCHASH, .keyed = true};
	int used[4] = {0};

	for (int i = 0; i < 16; i++)
		pc.key[i] = (uint8_t)(i * 7 + 1);
	ck_assert_int_eq(rd_src_pool_set(t1, r1, RD_SRC_KIND_NAT, &pc), 0);
	ck_assert_int_eq(rd_src_pool_set(t2, r2, RD_SRC_KIND_NAT, &pc), 0);
	for (uint8_t i = 0; i < 4; i++) {
		add_target(t1, r1, A4(198, 51, 100, i), 32);
		add_target(t2, r2, A4(198, 51, 100, i), 32);
	}
	for (uint8_t s = 0; s < 64; s++) {
		struct rd_addr src = A4(10, 1, s, 200);
		struct rd_addr a = map1(t1, r1, src), b = map1(t1, r1, src), c = map1(t2, r2, src);

		ck_assert_int_eq(rd_addr_cmp(&a, &b), 0); /* same source, same target */
		ck_assert_int_eq(rd_addr_cmp(&a, &c), 0); /* same key, same target */
		used[a.u.v4[3]]++;
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_gt(used[i], 0); /* the hash spreads sources over the pool */
	rd_src_table_free(t1);
	rd_src_table_free(t2);
}
END_TEST

START_TEST(source_hash_of_a_network_keeps_the_network_bits)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_SRCHASH, false);
	struct rd_addr net = A4(198, 51, 100, 0), src = A4(10, 0, 0, 1);
	struct rd_addr a, b;
	bool differs = false;

	add_target(t, r, net, 24);
	a = map1(t, r, src);
	ck_assert(a.u.v4[0] == 198 && a.u.v4[1] == 51 && a.u.v4[2] == 100);
	for (uint8_t i = 2; i < 40 && !differs; i++) {
		b = map1(t, r, A4(10, 0, 0, i));
		differs = rd_addr_cmp(&a, &b) != 0;
	}
	ck_assert(differs);
	ck_assert_int_eq(rd_addr_cmp(&a, (struct rd_addr[]){map1(t, r, src)}), 0);
	rd_src_table_free(t);
}
END_TEST

/*
 * Golden vectors for RD_SRC_HASH_PF, traced by hand through OpenBSD's
 * pf_lb.c 1.76 (pf_hash, pf_map_addr PF_POOL_SRCHASH), pf.c pf_poolmask,
 * pf_table.c pfr_pool_get / pfr_kentry_byidx, net/radix.c (order of a
 * table walk) and pfctl's parse.y (hashkey, collapse_redirspec), for an
 * amd64 OpenBSD:
 *
 * 1. pf.conf `source-hash 0x03020100070605040b0a09080f0e0d0c`: pfctl scans
 *    it "0x%8x%8x%8x%8x" into key32[4] = {0x03020100, 0x07060504, ...},
 *    which a little-endian host stores as bytes 00 01 02 ... 0f: the key of
 *    the SipHash paper's reference vectors.
 * 2. pf_hash: SipHash24(key, source, 4 or 16 bytes). Source 0.1.2.3 is the
 *    message 00 01 02 03 and source 1:203:405:607:809:a0b:c0d:e0f is
 *    00 01 ... 0f, the reference vectors of length 4 and 16 (vectors.h of
 *    the SipHash reference code): 0xcf2794e0277187b7 and
 *    0x3f2acc7f57c29bdb (bytes b7 87 71 27 e0 94 27 cf and
 *    db 9b c2 57 7f cc 2a 3f; recomputed here with an independent
 *    implementation that also gives the paper's 0xa129ca6149be45e5 for the
 *    15-byte message).
 * 3. hash->addr32[0] = res: the low 32 bits 0x277187b7, stored
 *    little-endian: 183.135.113.39. IPv6: lo 0x57c29bdb, hi 0x3f2acc7f,
 *    ~hi 0xc0d53380, ~lo 0xa83d6424, each stored little-endian:
 *    db9b:c257:7fcc:2a3f:8033:d5c0:2464:3da8.
 * 4. One target (not a table): pf_poolmask keeps the target's network bits
 *    and takes the hash's host bits.
 * 5. Several targets: pfctl makes them a table; tblidx = res % count. As
 *    16 = 1 (mod 3) and (mod 5), res mod 3 or 5 is the sum of its hex
 *    digits mod 3 or 5: IPv4 c+f+2+7+9+4+e+0+2+7+7+1+8+7+b+7 = 113, so
 *    res % 3 = 2 and res % 5 = 3; IPv6 3+f+2+a+c+c+7+f+5+7+c+2+9+b+d+b =
 *    146, so 2 and 1. res % 2 is the last digit's parity: 7, so 1.
 * 6. pfr_kentry_byidx counts entries in rn_walktree order: address
 *    ascending, and at one address the more specific first (rn_addroute
 *    sorts duplicated keys "most specific to least specific").
 * 7. pfr_pool_get with the counter zeroed returns the entry's first
 *    address; for a network whose first address rn_match()es a more
 *    specific entry, the address past that block.
 */
static struct rd_src_rule *pf_hash_rule(struct rd_src_table *t)
{
	static const uint8_t key[16] = {0x03, 0x02, 0x01, 0x00, 0x07, 0x06, 0x05, 0x04,
	                                0x0b, 0x0a, 0x09, 0x08, 0x0f, 0x0e, 0x0d, 0x0c};
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_NONE);
	struct rd_src_pool_config pc;

	rd_src_pool_config_default(&pc);
	pc.type = RD_SRC_POOL_SRCHASH;
	pc.hash = RD_SRC_HASH_PF;
	pc.keyed = true;
	memcpy(pc.key, key, sizeof(key));
	ck_assert_int_eq(rd_src_pool_set(t, r, RD_SRC_KIND_NAT, &pc), 0);
	return r;
}

static struct rd_addr P(const char *s) {
	struct rd_addr a;

	ck_assert_int_eq(rd_addr_parse(s, &a), 0);
	return a;
}

/* Map src through a fresh pf-hash pool of `targets` ("addr/plen" each). */
static struct rd_addr
pf_map(const char *src, const char *const *targets, size_t n)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pf_hash_rule(t);
	struct rd_addr out;

	for (size_t i = 0; i < n; i++) {
		char buf[64], *slash;

		snprintf(buf, sizeof(buf), "%s", targets[i]);
		slash = strchr(buf, '/');
		*slash = '\0';
		add_target(t, r, P(buf), (unsigned)atoi(slash + 1));
	}
	out = map1(t, r, P(src));
	rd_src_table_free(t);
	return out;
}

#define PF_EXPECT(src, want, ...)                                                                  \
	do {                                                                                       \
		static const char *const tg_[] = {__VA_ARGS__};                                    \
		struct rd_addr got_ = pf_map(src, tg_, sizeof(tg_) / sizeof(tg_[0])),              \
		               want_ = P(want);                                                    \
		char b_[RD_ADDR_STRLEN];                                                           \
		ck_assert_msg(rd_addr_cmp(&got_, &want_) == 0, "%s -> %s, want %s", src,           \
		              rd_addr_format(&got_, b_, sizeof(b_)), want);                        \
	} while (0)

START_TEST(pf_source_hash_of_one_target_takes_the_hash_host_bits)
{
	PF_EXPECT("0.1.2.3", "198.51.100.39", "198.51.100.0/24");
	PF_EXPECT("0.1.2.3", "10.1.113.39", "10.1.0.0/16");
	PF_EXPECT("0.1.2.3", "203.0.113.9", "203.0.113.9/32");
	PF_EXPECT("1:203:405:607:809:a0b:c0d:e0f", "2001:db8::8033:d5c0:2464:3da8",
	          "2001:db8::/64");
	PF_EXPECT("1:203:405:607:809:a0b:c0d:e0f", "2001:db8:1::2464:3da8", "2001:db8:1::/96");
}
END_TEST

START_TEST(pf_source_hash_of_a_list_takes_entry_hash_mod_count_in_table_order)
{
	/* res % 3 = 2: the third in address order, not in the order given */
	PF_EXPECT("0.1.2.3", "10.0.0.3", "10.0.0.2/32", "10.0.0.3/32", "10.0.0.1/32");
	/* res % 5 = 3: 10.0.0.0/24, 172.16.0.0/12, 192.0.2.1, [198.51.100.0/24],
	 * 203.0.113.9 -> the network's first address */
	PF_EXPECT("0.1.2.3", "198.51.100.0", "203.0.113.9/32", "10.0.0.0/24", "198.51.100.0/24",
	          "192.0.2.1/32", "172.16.0.0/12");
	/* res % 2 = 1: 10.0.0.0/30, [10.0.0.0/24]; 10.0.0.0 is inside the /30,
	 * so the first address past it */
	PF_EXPECT("0.1.2.3", "10.0.0.4", "10.0.0.0/24", "10.0.0.0/30");
	PF_EXPECT("1:203:405:607:809:a0b:c0d:e0f", "2001:db8::3", "2001:db8::2/128",
	          "2001:db8::3/128", "2001:db8::1/128");
	/* res % 5 = 1: 2001:db8::9, [2001:db8:1::/64], 2001:db8:2::/64,
	 * 2001:db8:3::1, 2001:db8:5::/48 */
	PF_EXPECT("1:203:405:607:809:a0b:c0d:e0f", "2001:db8:1::", "2001:db8:5::/48",
	          "2001:db8:1::/64", "2001:db8::9/128", "2001:db8:3::1/128", "2001:db8:2::/64");
}
END_TEST

START_TEST(pf_source_hash_refuses_an_unknown_hash)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_NONE);
	struct rd_src_pool_config pc;

	rd_src_pool_config_default(&pc);
	ck_assert_int_eq(pc.hash, RD_SRC_HASH_BLAKE2B);
	pc.type = RD_SRC_POOL_SRCHASH;
	pc.hash = (enum rd_src_hash)2;
	ck_assert_int_eq(rd_src_pool_set(t, r, RD_SRC_KIND_NAT, &pc), RD_ERR_INVAL);
	rd_src_table_free(t);
}
END_TEST

START_TEST(bitmask_takes_host_bits_from_the_source)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_BITMASK, false);
	struct rd_addr out, want = A4(192, 168, 1, 77);

	add_target(t, r, A4(192, 168, 1, 0), 24);
	out = map1(t, r, A4(10, 20, 30, 77));
	ck_assert_int_eq(rd_addr_cmp(&out, &want), 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(bitmask_works_for_ipv6_and_refuses_mixed_families)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_BITMASK, false);
	struct rd_addr net, src, want, out, v4 = A4(10, 0, 0, 1);
	uint32_t ref = 0;

	ck_assert_int_eq(rd_addr_parse("2001:db8:aa::", &net), 0);
	ck_assert_int_eq(rd_addr_parse("fd00:1:2:3:4:5:6:7", &src), 0);
	ck_assert_int_eq(rd_addr_parse("2001:db8:aa:3:4:5:6:7", &want), 0);
	ck_assert_int_eq(rd_src_pool_add(t, r, RD_SRC_KIND_NAT, &net, 48, 1), 0);
	out = map1(t, r, src);
	ck_assert_int_eq(rd_addr_cmp(&out, &want), 0);
	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &v4, 0, &ref, &out), RD_ERR_INVAL);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_TRANSLATE), 1);
	/* A pool holds one family. */
	ck_assert_int_eq(rd_src_pool_add(t, r, RD_SRC_KIND_NAT, &v4, 32, 1), RD_ERR_INVAL);
	rd_src_table_free(t);
}
END_TEST

START_TEST(bitmask_splits_a_prefix_inside_a_byte)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_BITMASK, false);
	struct rd_src_table *t6 = mk(0, 0);
	struct rd_src_rule *r6 = pool_rule(t6, RD_SRC_POOL_BITMASK, false);
	struct rd_addr net, src, want, out;

	/* /23: the third byte's last bit comes from the source (31 = 0001 1111) */
	add_target(t, r, A4(192, 168, 0, 0), 23);
	out = map1(t, r, A4(10, 20, 31, 77));
	want = A4(192, 168, 1, 77);
	ck_assert_int_eq(rd_addr_cmp(&out, &want), 0);
	/* /65: the ninth byte's first bit is the network's, the rest the source's */
	ck_assert_int_eq(rd_addr_parse("2001:db8:aa:bb::", &net), 0);
	ck_assert_int_eq(rd_addr_parse("fd00::ffff:1:2:3", &src), 0);
	ck_assert_int_eq(rd_addr_parse("2001:db8:aa:bb:7fff:1:2:3", &want), 0);
	ck_assert_int_eq(rd_src_pool_add(t6, r6, RD_SRC_KIND_NAT, &net, 65, 1), 0);
	out = map1(t6, r6, src);
	ck_assert_int_eq(rd_addr_cmp(&out, &want), 0);
	rd_src_table_free(t);
	rd_src_table_free(t6);
}
END_TEST

static void random_run(uint64_t s, struct rd_addr *out, int n)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_RANDOM, false);

	seed = s;
	for (uint8_t i = 0; i < 5; i++)
		add_target(t, r, A4(198, 51, 100, i), 32);
	add_target(t, r, A4(203, 0, 113, 0), 28);
	for (int i = 0; i < n; i++)
		out[i] = map1(t, r, A4(10, 0, 0, 1));
	rd_src_table_free(t);
}

START_TEST(random_pool_is_deterministic_from_rd_random)
{
	struct rd_addr a[64], b[64], c[64];
	int seen[6] = {0};
	bool differ = false;

	random_run(42, a, 64);
	random_run(42, b, 64);
	random_run(43, c, 64);
	for (int i = 0; i < 64; i++) {
		ck_assert_int_eq(rd_addr_cmp(&a[i], &b[i]), 0);
		differ |= rd_addr_cmp(&a[i], &c[i]) != 0;
		if (a[i].u.v4[0] == 198) {
			ck_assert_uint_lt(a[i].u.v4[3], 5);
			seen[a[i].u.v4[3]]++;
		} else {
			/* inside 203.0.113.0/28 */
			ck_assert(a[i].u.v4[0] == 203 && a[i].u.v4[2] == 113 && a[i].u.v4[3] < 16);
			seen[5]++;
		}
	}
	ck_assert(differ);
	for (int i = 0; i < 6; i++)
		ck_assert_int_gt(seen[i], 0);
}
END_TEST

START_TEST(least_states_picks_the_target_with_fewest_states)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_LEASTSTATES, false);
	struct rd_addr tg[3] = {A4(198, 51, 100, 1), A4(198, 51, 100, 2), A4(198, 51, 100, 3)};
	struct rd_addr src = A4(10, 0, 0, 1), out;
	uint32_t refs[4] = {0};

	for (int i = 0; i < 3; i++)
		add_target(t, r, tg[i], 32);
	/* Equal loads: served in turn. */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &src, 0, &refs[i], &out), 0);
		ck_assert_int_eq(rd_addr_cmp(&out, &tg[i]), 0);
		ck_assert_int_eq(rd_src_commit(t, refs[i], 0), 0);
	}
	ck_assert_int_eq(rd_src_pool_target_states(t, r, RD_SRC_KIND_NAT, &tg[1], 32), 1);
	rd_src_state_removed(t, refs[1], 0);
	ck_assert_int_eq(rd_src_pool_target_states(t, r, RD_SRC_KIND_NAT, &tg[1], 32), 0);
	/* B now has the fewest. */
	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &src, 0, &refs[3], &out), 0);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[1]), 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(least_states_divides_load_by_weight)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_LEASTSTATES, false);
	struct rd_addr heavy = A4(198, 51, 100, 1), light = A4(198, 51, 100, 2);
	struct rd_addr src = A4(10, 0, 0, 1), out;
	int got_heavy = 0;

	ck_assert_int_eq(rd_src_pool_add(t, r, RD_SRC_KIND_NAT, &heavy, 32, 3), 0);
	ck_assert_int_eq(rd_src_pool_add(t, r, RD_SRC_KIND_NAT, &light, 32, 1), 0);
	for (int i = 0; i < 8; i++) {
		uint32_t ref = 0;
		ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &src, 0, &ref, &out), 0);
		ck_assert_int_eq(rd_src_commit(t, ref, 0), 0);
		got_heavy += rd_addr_cmp(&out, &heavy) == 0;
	}
	ck_assert_int_eq(got_heavy, 6); /* 3:1 */
	rd_src_table_free(t);
}
END_TEST

START_TEST(empty_pool_counts_translate)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_ROUNDROBIN, true);
	struct rd_addr src = A4(10, 0, 0, 1), out;
	uint32_t ref = 0;

	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &src, 0, &ref, &out), RD_ERR_NOENT);
	ck_assert_uint_eq(ref, 0);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_TRANSLATE), 1);
	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_TRACK, &src, 0, &ref, &out), RD_ERR_INVAL);
	rd_src_table_free(t);
}
END_TEST

/* ---- sticky address ---- */

static uint32_t sticky_state(struct rd_src_table *t, struct rd_src_rule *r, struct rd_addr src,
                             rd_time_t now, struct rd_addr *out)
{
	uint32_t ref = 0;

	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &src, now, &ref, out), 0);
	ck_assert_uint_ne(ref, 0);
	ck_assert_int_eq(rd_src_commit(t, ref, now), 0);
	return ref;
}

START_TEST(sticky_source_keeps_its_target)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_ROUNDROBIN, true);
	struct rd_addr tg[3] = {A4(198, 51, 100, 1), A4(198, 51, 100, 2), A4(198, 51, 100, 3)};
	struct rd_addr s1 = A4(10, 0, 0, 1), s2 = A4(10, 0, 0, 2), out;
	struct rd_src_node_info info;

	for (int i = 0; i < 3; i++)
		add_target(t, r, tg[i], 32);
	sticky_state(t, r, s1, 0, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[0]), 0);
	sticky_state(t, r, s2, 0, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[1]), 0);
	for (int i = 0; i < 3; i++) {
		sticky_state(t, r, s1, 0, &out);
		ck_assert_int_eq(rd_addr_cmp(&out, &tg[0]), 0);
	}
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_NAT, &s1, 0, &info), 0);
	ck_assert(info.has_target);
	ck_assert_uint_eq(info.states, 4);
	ck_assert_int_eq(rd_addr_cmp(&info.target, &tg[0]), 0);
	ck_assert_int_eq(rd_src_pool_target_states(t, r, RD_SRC_KIND_NAT, &tg[0], 32), 4);
	/* The next new source continues the rotation. */
	sticky_state(t, r, A4(10, 0, 0, 3), 0, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[2]), 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(sticky_mapping_outlives_its_states_for_src_track)
{
	struct rd_src_table *t = mk(0, 30 * S);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_ROUNDROBIN, true);
	struct rd_addr tg[2] = {A4(198, 51, 100, 1), A4(198, 51, 100, 2)};
	struct rd_addr s1 = A4(10, 0, 0, 1), out;
	uint32_t ref;

	add_target(t, r, tg[0], 32);
	add_target(t, r, tg[1], 32);
	ref = sticky_state(t, r, s1, 0, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[0]), 0);
	rd_src_state_removed(t, ref, 10 * S); /* idle until 40 s */
	ck_assert_uint_eq(rd_src_expiry(t), 40 * S);
	ref = sticky_state(t, r, s1, 39 * S, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[0]), 0);
	rd_src_state_removed(t, ref, 39 * S); /* idle until 69 s */
	ck_assert_uint_eq(rd_src_expiry(t), 69 * S);
	/* After the lifetime the mapping is gone: the rotation continues. */
	sticky_state(t, r, s1, 69 * S, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[1]), 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(sticky_target_removed_from_pool_is_repicked)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_ROUNDROBIN, true);
	struct rd_addr tg[2] = {A4(198, 51, 100, 1), A4(198, 51, 100, 2)};
	struct rd_addr s1 = A4(10, 0, 0, 1), out;
	uint32_t old;

	add_target(t, r, tg[0], 32);
	add_target(t, r, tg[1], 32);
	old = sticky_state(t, r, s1, 0, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[0]), 0);
	ck_assert_int_eq(rd_src_pool_remove(t, r, RD_SRC_KIND_NAT, &tg[0], 32), 0);
	ck_assert_int_eq(rd_src_pool_remove(t, r, RD_SRC_KIND_NAT, &tg[0], 32), RD_ERR_NOENT);
	sticky_state(t, r, s1, 0, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[1]), 0);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_STALE), 1);
	/* It stays on the new target. */
	sticky_state(t, r, s1, 0, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[1]), 0);
	ck_assert_int_eq(rd_src_pool_target_states(t, r, RD_SRC_KIND_NAT, &tg[1], 32), 2);
	/* The state on the old node is still valid and can go. */
	rd_src_state_removed(t, old, 1 * S);
	ck_assert_uint_eq(rd_src_count(t), 1);
	rd_src_table_free(t);
}
END_TEST

START_TEST(sticky_target_back_in_pool_keeps_the_mapping)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_ROUNDROBIN, true);
	struct rd_addr tg[2] = {A4(198, 51, 100, 1), A4(198, 51, 100, 2)};
	struct rd_addr s1 = A4(10, 0, 0, 1), out;

	add_target(t, r, tg[0], 32);
	add_target(t, r, tg[1], 32);
	sticky_state(t, r, s1, 0, &out);
	ck_assert_int_eq(rd_src_pool_remove(t, r, RD_SRC_KIND_NAT, &tg[0], 32), 0);
	add_target(t, r, tg[0], 32); /* back (as a new entry) before the next use */
	sticky_state(t, r, s1, 0, &out);
	ck_assert_int_eq(rd_addr_cmp(&out, &tg[0]), 0);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_STALE), 0);
	ck_assert_int_eq(rd_src_pool_target_states(t, r, RD_SRC_KIND_NAT, &tg[0], 32), 2);
	rd_src_table_free(t);
}
END_TEST

START_TEST(sticky_nodes_obey_max_src_nodes)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_src_pool_config pc = {.type = RD_SRC_POOL_ROUNDROBIN, .sticky = true};
	struct rd_src_rule *r;
	struct rd_addr s1 = A4(10, 0, 0, 1), s2 = A4(10, 0, 0, 2), out;
	uint32_t ref = 0;

	c.max_src_nodes = 3; /* a TRACK and a NAT node per source */
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	ck_assert_int_eq(rd_src_pool_set(t, r, RD_SRC_KIND_NAT, &pc), 0);
	add_target(t, r, A4(198, 51, 100, 1), 32);
	ck_assert_int_eq(rd_src_acquire(t, r, &s1, 0, &ref), 0);
	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &s1, 0, &ref, &out), 0);
	ck_assert_int_eq(rd_src_commit(t, ref, 0), 0);
	ref = 0;
	ck_assert_int_eq(rd_src_acquire(t, r, &s2, 0, &ref), 0);
	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &s2, 0, &ref, &out), RD_ERR_LIMIT);
	rd_src_release(t, ref, 0);
	ck_assert_uint_eq(rd_src_rule_nodes(r), 2);
	ck_assert_uint_eq(src_stat(t, RD_SRC_STAT_MAX_SRC_NODES), 1);
	rd_src_table_free(t);
}
END_TEST

START_TEST(sticky_least_states_counts_the_states_of_sticky_sources)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_LEASTSTATES, true);
	struct rd_addr ta = A4(198, 51, 100, 1), tb = A4(198, 51, 100, 2), out;

	add_target(t, r, ta, 32);
	add_target(t, r, tb, 32);
	sticky_state(t, r, A4(10, 0, 0, 1), 0, &out); /* a -> ta */
	ck_assert_int_eq(rd_addr_cmp(&out, &ta), 0);
	sticky_state(t, r, A4(10, 0, 0, 2), 0, &out); /* b -> tb */
	ck_assert_int_eq(rd_addr_cmp(&out, &tb), 0);
	for (int i = 0; i < 3; i++) {
		sticky_state(t, r, A4(10, 0, 0, 1), 0, &out); /* a stays on ta */
		ck_assert_int_eq(rd_addr_cmp(&out, &ta), 0);
	}
	ck_assert_int_eq(rd_src_pool_target_states(t, r, RD_SRC_KIND_NAT, &ta, 32), 4);
	/* New sources go to the lighter target until the loads meet. */
	for (uint8_t i = 3; i < 6; i++) {
		sticky_state(t, r, A4(10, 0, 0, i), 0, &out);
		ck_assert_int_eq(rd_addr_cmp(&out, &tb), 0);
	}
	ck_assert_int_eq(rd_src_pool_target_states(t, r, RD_SRC_KIND_NAT, &tb, 32), 4);
	rd_src_table_free(t);
}
END_TEST

/* ---- kills ---- */

START_TEST(kill_source_drops_its_nodes_and_asks_for_its_states)
{
	struct rd_src_table *t = mk(0, 60 * S);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_ROUNDROBIN, true);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_addr s1 = A4(10, 0, 0, 1), s2 = A4(10, 0, 0, 2), out;
	struct rd_src_node_info info;
	uint32_t ref = 0;

	/* pool_rule made rule 1 without tracking: recreate with tracking. */
	rd_src_rule_remove(t, r);
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	ck_assert_int_eq(rd_src_pool_set(t, r, RD_SRC_KIND_NAT,
	                                 &(struct rd_src_pool_config){
	                                     .type = RD_SRC_POOL_ROUNDROBIN, .sticky = true}),
	                 0);
	add_target(t, r, A4(198, 51, 100, 1), 32);
	ck_assert_int_eq(rd_src_acquire(t, r, &s1, 0, &ref), 0);
	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &s1, 0, &ref, &out), 0);
	ck_assert_int_eq(rd_src_commit(t, ref, 0), 0);
	add_state(t, r, s2, 0);
	ck_assert_uint_eq(rd_src_count(t), 3);
	ck_assert_uint_eq(rd_src_kill_source(t, r, &s1, RD_SRC_KILL_STATES, 0), 2);
	ck_assert_uint_eq(rd_src_count(t), 1);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &s1, 0, &info), RD_ERR_NOENT);
	ck_assert_int_eq(hooks.kills, 1);
	ck_assert_uint_eq(hooks.kill_rule[0], 1);
	ck_assert_int_eq(rd_addr_cmp(&hooks.kill_addr[0], &s1), 0);
	/* The killed nodes' state can still be removed; then they are freed. */
	rd_src_state_removed(t, ref, 1 * S);
	ck_assert_uint_eq(rd_src_count(t), 1);
	/* Without a rule: every rule, and the hook hears "any rule". */
	ck_assert_uint_eq(rd_src_kill_source(t, NULL, &s2, RD_SRC_KILL_STATES, 1 * S), 1);
	ck_assert_uint_eq(hooks.kill_rule[1], RD_SRC_RULE_ANY);
	ck_assert_uint_eq(rd_src_count(t), 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(kill_target_drops_the_nodes_bound_to_it)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = pool_rule(t, RD_SRC_POOL_ROUNDROBIN, true);
	struct rd_addr gw1 = A4(198, 51, 100, 1), gw2 = A4(198, 51, 100, 2), out;
	struct rd_src_node_info info;
	uint32_t refs[4];

	add_target(t, r, gw1, 32);
	add_target(t, r, gw2, 32);
	for (uint8_t i = 0; i < 4; i++)
		refs[i] = sticky_state(t, r, A4(10, 0, 0, i), 0, &out); /* gw1, gw2, gw1, gw2 */
	ck_assert_uint_eq(
	    rd_src_kill_target(t, NULL, RD_SRC_KIND_COUNT, &gw1, RD_SRC_KILL_STATES, 0), 2);
	ck_assert_int_eq(hooks.kills, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(hooks.kill_rule[i], 1);
		ck_assert(hooks.kill_addr[i].u.v4[3] == 0 || hooks.kill_addr[i].u.v4[3] == 2);
	}
	ck_assert_int_eq(
	    rd_src_lookup(t, r, RD_SRC_KIND_NAT, (struct rd_addr[]){A4(10, 0, 0, 0)}, 0, &info),
	    RD_ERR_NOENT);
	ck_assert_int_eq(
	    rd_src_lookup(t, r, RD_SRC_KIND_NAT, (struct rd_addr[]){A4(10, 0, 0, 1)}, 0, &info), 0);
	ck_assert_uint_eq(rd_src_count(t), 2);
	/* gw1 is still in the pool: a killed source may land on it again. */
	ck_assert_int_eq(rd_src_pool_target_states(t, r, RD_SRC_KIND_NAT, &gw1, 32), 2);
	rd_src_state_removed(t, refs[0], 0);
	rd_src_state_removed(t, refs[2], 0);
	ck_assert_int_eq(rd_src_pool_target_states(t, r, RD_SRC_KIND_NAT, &gw1, 32), 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(ipv6_sources_have_their_own_nodes)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_src_rule *r;
	struct rd_addr v6, v4 = A4(32, 1, 13, 184), other;
	struct rd_src_node_info info;
	uint32_t ref = 0;

	c.max_src_states = 1;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	/* Same leading bytes as the IPv4 address: still a different source. */
	ck_assert_int_eq(rd_addr_parse("2001:db8::1", &v6), 0);
	ck_assert_int_eq(rd_addr_parse("2001:db8::2", &other), 0);
	add_state(t, r, v6, 0);
	add_state(t, r, v4, 0);
	add_state(t, r, other, 0);
	ck_assert_int_eq(rd_src_acquire(t, r, &v6, 0, &ref), RD_ERR_LIMIT);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &v6, 0, &info), 0);
	ck_assert_int_eq(rd_addr_cmp(&info.addr, &v6), 0);
	ck_assert_uint_eq(rd_src_count(t), 3);
	rd_src_table_free(t);
}
END_TEST

START_TEST(kill_target_inside_a_network_target_drops_only_that_address)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_NONE);
	struct rd_src_pool_config pc = {.type = RD_SRC_POOL_BITMASK, .sticky = true};
	struct rd_addr net = A4(198, 51, 100, 0), gw5 = A4(198, 51, 100, 5), out;
	struct rd_src_node_info info;

	ck_assert_int_eq(rd_src_pool_set(t, r, RD_SRC_KIND_ROUTE, &pc), 0);
	ck_assert_int_eq(rd_src_pool_add(t, r, RD_SRC_KIND_ROUTE, &net, 24, 1), 0);
	for (uint8_t i = 5; i <= 6; i++) {
		struct rd_addr s = A4(10, 0, 0, i);
		uint32_t ref = 0;
		ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_ROUTE, &s, 0, &ref, &out), 0);
		ck_assert_uint_eq(out.u.v4[3], i);
		ck_assert_int_eq(rd_src_commit(t, ref, 0), 0);
	}
	ck_assert_uint_eq(rd_src_kill_target(t, r, RD_SRC_KIND_ROUTE, &gw5, 0, 0), 1);
	ck_assert_int_eq(
	    rd_src_lookup(t, r, RD_SRC_KIND_ROUTE, (struct rd_addr[]){A4(10, 0, 0, 5)}, 0, &info),
	    RD_ERR_NOENT);
	ck_assert_int_eq(
	    rd_src_lookup(t, r, RD_SRC_KIND_ROUTE, (struct rd_addr[]){A4(10, 0, 0, 6)}, 0, &info),
	    0);
	ck_assert_int_eq(hooks.kills, 0); /* no RD_SRC_KILL_STATES */
	/* Other kinds are not searched. */
	ck_assert_uint_eq(rd_src_kill_target(t, r, RD_SRC_KIND_NAT,
	                                     (struct rd_addr[]){A4(198, 51, 100, 6)}, 0, 0),
	                  0);
	rd_src_table_free(t);
}
END_TEST

/* ---- lifetime and expiry ---- */

START_TEST(node_dies_src_track_after_its_last_state)
{
	struct rd_src_table *t = mk(0, 10 * S);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_addr a = A4(10, 0, 0, 1);
	struct rd_src_node_info info;
	uint32_t r1 = add_state(t, r, a, 0), r2 = add_state(t, r, a, 0);

	ck_assert_uint_eq(rd_src_expiry(t), RD_TIME_NEVER);
	rd_src_state_removed(t, r1, 3 * S);
	ck_assert_uint_eq(rd_src_expiry(t), RD_TIME_NEVER);
	rd_src_state_removed(t, r2, 5 * S);
	ck_assert_uint_eq(rd_src_expiry(t), 15 * S);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 15 * S - 1, &info), 0);
	ck_assert_uint_eq(info.expire, 15 * S);
	ck_assert_uint_eq(rd_src_handle_expiry(t, 15 * S - 1, 100), 0);
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 15 * S, &info), RD_ERR_NOENT);
	ck_assert_uint_eq(rd_src_count(t), 1); /* dead, memory not yet freed */
	ck_assert_uint_eq(rd_src_handle_expiry(t, 15 * S, 100), 1);
	ck_assert_uint_eq(rd_src_count(t), 0);
	ck_assert_uint_eq(rd_src_expiry(t), RD_TIME_NEVER);
	rd_src_table_free(t);
}
END_TEST

START_TEST(rule_src_track_overrides_the_table_default)
{
	struct rd_src_table *t = mk(0, 10 * S);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_src_rule *r;

	c.src_track = 100 * S;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	rd_src_state_removed(t, add_state(t, r, A4(10, 0, 0, 1), 0), 0);
	ck_assert_uint_eq(rd_src_expiry(t), 100 * S);
	rd_src_table_free(t);
}
END_TEST

START_TEST(node_reused_while_idle_keeps_its_counters)
{
	struct rd_src_table *t = mk(0, 10 * S);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_src_rule *r;
	struct rd_addr a = A4(10, 0, 0, 1);
	struct rd_src_node_info info;
	uint32_t ref;

	c.max_src_conn_rate = 100;
	c.max_src_conn_seconds = 100;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	ref = add_state(t, r, a, 0);
	ck_assert_int_eq(rd_src_conn_established(t, ref, 0), 0);
	rd_src_state_removed(t, ref, 0);
	add_state(t, r, a, 9 * S); /* within src.track: same node */
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 9 * S, &info), 0);
	ck_assert_uint_eq(info.conn_rate, 1000);
	ck_assert_uint_eq(info.creation, 0);
	ck_assert_uint_eq(info.expire, 0); /* in use again */
	rd_src_table_free(t);
}
END_TEST

START_TEST(dead_node_is_replaced_by_a_fresh_one)
{
	struct rd_src_table *t = mk(0, 10 * S);
	struct rd_src_rule_config c = cfg_of(1, RD_SRC_TRACK_RULE);
	struct rd_src_rule *r;
	struct rd_addr a = A4(10, 0, 0, 1);
	struct rd_src_node_info info;
	uint32_t ref;

	c.max_src_conn_rate = 100;
	c.max_src_conn_seconds = 100;
	ck_assert_int_eq(rd_src_rule_add(t, &c, &r), 0);
	ref = add_state(t, r, a, 0);
	ck_assert_int_eq(rd_src_conn_established(t, ref, 0), 0);
	rd_src_state_removed(t, ref, 0);
	add_state(t, r, a, 10 * S); /* no expire call: the dead node is replaced */
	ck_assert_int_eq(rd_src_lookup(t, r, RD_SRC_KIND_TRACK, &a, 10 * S, &info), 0);
	ck_assert_uint_eq(info.conn_rate, 0);
	ck_assert_uint_eq(info.creation, 10 * S);
	ck_assert_uint_eq(rd_src_count(t), 1);
	rd_src_table_free(t);
}
END_TEST

START_TEST(expire_does_bounded_work_per_call)
{
	struct rd_src_table *t = mk(0, 1 * S);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	size_t total = 0, n;

	for (uint32_t i = 0; i < 100; i++)
		rd_src_state_removed(t, add_state(t, r, rd_addr_v4(0x0a000000 + i), 0), 0);
	/* Each call examines at most 10 candidates (moving past a rule with
	 * nothing to free counts as one). */
	total = rd_src_handle_expiry(t, 1 * S, 10);
	ck_assert_uint_ge(total, 9);
	ck_assert_uint_le(total, 10);
	while ((n = rd_src_handle_expiry(t, 1 * S, 10)) > 0) {
		ck_assert_uint_le(n, 10);
		total += n;
	}
	ck_assert_uint_eq(total, 100);
	ck_assert_uint_eq(rd_src_count(t), 0);
	rd_src_table_free(t);
}
END_TEST

START_TEST(expire_visits_every_rule)
{
	struct rd_src_table *t = mk(0, 1 * S);
	struct rd_src_rule *rs[5];

	for (uint32_t i = 0; i < 5; i++) {
		rs[i] = mkrule(t, i + 1, RD_SRC_TRACK_RULE);
		rd_src_state_removed(t, add_state(t, rs[i], A4(10, 0, 0, 1), 0), 0);
	}
	ck_assert_uint_eq(rd_src_handle_expiry(t, 2 * S, 1000), 5);
	ck_assert_uint_eq(rd_src_count(t), 0);
	rd_src_table_free(t);
}
END_TEST

/* ---- memory and rules ---- */

START_TEST(memory_comes_from_the_allocator_and_is_all_returned)
{
	struct count_mem cm = {.live = 0, .fail_after = -1};
	struct rd_mem mem = {&cm, cm_malloc, cm_calloc, cm_realloc, cm_free};
	struct rd_src_config cfg;
	struct rd_src_table *t;
	struct rd_src_rule *r;
	struct rd_addr s = A4(10, 0, 0, 1), out;
	uint32_t ref = 0;

	rd_src_config_default(&cfg);
	cfg.mem = &mem;
	ck_assert_int_eq(rd_src_table_new(&cfg, &t), 0);
	r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	ck_assert_int_eq(rd_src_pool_set(t, r, RD_SRC_KIND_ROUTE,
	                                 &(struct rd_src_pool_config){
	                                     .type = RD_SRC_POOL_ROUNDROBIN, .sticky = true}),
	                 0);
	ck_assert_int_eq(
	    rd_src_pool_add(t, r, RD_SRC_KIND_ROUTE, (struct rd_addr[]){A4(1, 1, 1, 1)}, 32, 1), 0);
	ck_assert_int_gt(cm.live, 0);
	ck_assert_int_eq(rd_src_acquire(t, r, &s, 0, &ref), 0);
	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_ROUTE, &s, 0, &ref, &out), 0);
	ck_assert_int_eq(rd_src_commit(t, ref, 0), 0);
	/* Allocation failure: refused, counted, nothing half-made. */
	cm.fail_after = 0;
	ref = 0;
	ck_assert_int_eq(rd_src_acquire(t, r, (struct rd_addr[]){A4(10, 0, 0, 2)}, 0, &ref),
	                 RD_ERR_NOMEM);
	ck_assert_uint_eq(ref, 0);
	ck_assert_uint_ge(src_stat(t, RD_SRC_STAT_MEMORY), 1);
	cm.fail_after = -1;
	rd_src_table_free(t); /* with a live state: everything still returned */
	ck_assert_int_eq(cm.live, 0);
}
END_TEST

START_TEST(removed_rule_leaves_its_states_valid)
{
	struct count_mem cm = {.live = 0, .fail_after = -1};
	struct rd_mem mem = {&cm, cm_malloc, cm_calloc, cm_realloc, cm_free};
	struct rd_src_config cfg;
	struct rd_src_table *t;
	struct rd_src_rule *r;
	struct rd_addr s = A4(10, 0, 0, 1), out;
	uint32_t ref = 0;
	long before;

	rd_src_config_default(&cfg);
	cfg.mem = &mem;
	ck_assert_int_eq(rd_src_table_new(&cfg, &t), 0);
	before = cm.live;
	r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	ck_assert_int_eq(
	    rd_src_pool_set(t, r, RD_SRC_KIND_NAT,
	                    &(struct rd_src_pool_config){.type = RD_SRC_POOL_LEASTSTATES}),
	    0);
	add_target(t, r, A4(1, 1, 1, 1), 32);
	ck_assert_int_eq(rd_src_acquire(t, r, &s, 0, &ref), 0);
	ck_assert_int_eq(rd_src_map(t, r, RD_SRC_KIND_NAT, &s, 0, &ref, &out), 0);
	ck_assert_int_eq(rd_src_commit(t, ref, 0), 0);
	rd_src_rule_remove(t, r);
	ck_assert_ptr_null(rd_src_rule_find(t, 1));
	ck_assert_uint_eq(rd_src_count(t), 0);
	ck_assert_int_eq(rd_src_conn_established(t, ref, 0), 0);
	rd_src_state_removed(t, ref, 1 * S);
	ck_assert_int_eq(cm.live, before + 2); /* only the binding slab remains */
	rd_src_table_free(t);
	ck_assert_int_eq(cm.live, 0);
}
END_TEST

START_TEST(bad_handles_and_arguments_are_refused)
{
	struct rd_src_table *t = mk(0, 0);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	struct rd_addr bad = {0}, a = A4(10, 0, 0, 1);
	uint32_t ref = 12345;

	ck_assert_int_eq(rd_src_acquire(t, r, &bad, 0, &ref), RD_ERR_INVAL);
	ck_assert_int_eq(rd_src_acquire(t, r, &a, 0, &ref), RD_ERR_INVAL); /* unknown handle */
	ck_assert_int_eq(rd_src_commit(t, 999, 0), RD_ERR_INVAL);
	rd_src_state_removed(t, 999, 0);
	rd_src_release(t, 999, 0);
	ck_assert_int_eq(rd_src_conn_established(t, 999, 0), 0);
	ref = 0;
	ck_assert_int_eq(rd_src_acquire(t, r, &a, 0, &ref), 0);
	ck_assert_int_eq(rd_src_acquire(t, r, &a, 0, &ref), RD_ERR_EXIST);
	ck_assert_int_eq(rd_src_conn_established(t, ref, 0), RD_ERR_STATE); /* not committed */
	ck_assert_int_eq(rd_src_commit(t, ref, 0), 0);
	ck_assert_int_eq(rd_src_acquire(t, r, &a, 0, &ref), RD_ERR_STATE);
	rd_src_table_free(t);
}
END_TEST

START_TEST(counters_have_pf_names)
{
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_SRC_LIMIT), "src-limit");
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_MAX_SRC_STATES), "max-src-states");
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_MAX_SRC_NODES), "max-src-nodes");
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_MAX_SRC_CONN), "max-src-conn");
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_MAX_SRC_CONN_RATE), "max-src-conn-rate");
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_OVERLOAD_TABLE), "overload table insertion");
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_OVERLOAD_FLUSH), "overload flush states");
	ck_assert_str_eq(rd_src_stat_name(RD_SRC_STAT_COUNT), "?");
	for (unsigned i = 0; i < RD_SRC_STAT_COUNT; i++)
		ck_assert_str_ne(rd_src_stat_name(i), "?");
	ck_assert_str_eq(rd_src_kind_name(RD_SRC_KIND_ROUTE), "route");
}
END_TEST

static void count_cb(void *user, const struct rd_src_node_info *info)
{
	(void)info;
	(*(int *)user)++;
}

START_TEST(foreach_reports_live_nodes_only)
{
	struct rd_src_table *t = mk(0, 5 * S);
	struct rd_src_rule *r = mkrule(t, 1, RD_SRC_TRACK_RULE);
	int n = 0;

	add_state(t, r, A4(10, 0, 0, 1), 0);
	rd_src_state_removed(t, add_state(t, r, A4(10, 0, 0, 2), 0), 0);
	rd_src_foreach(t, 4 * S, count_cb, &n);
	ck_assert_int_eq(n, 2);
	n = 0;
	rd_src_foreach(t, 5 * S, count_cb, &n);
	ck_assert_int_eq(n, 1);
	rd_src_table_free(t);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("srctrack");
	TCase *c = tcase_create("config");
	tcase_add_test(c, config_defaults_are_pf_defaults_and_accepted);
	tcase_add_test(c, stats_copy_every_counter_and_name_it);

	tcase_add_test(c, table_rejects_zero_or_huge_node_limit);
	tcase_add_test(c, rule_config_is_validated_as_pf_conf);
	tcase_add_test(c, rule_without_tracking_leaves_handle_zero);
	tcase_add_test(c, counters_have_pf_names);
	tcase_add_test(c, bad_handles_and_arguments_are_refused);
	suite_add_tcase(s, c);

	c = tcase_create("limits");
	tcase_add_test(c, commit_counts_the_state_on_the_node);
	tcase_add_test(c, max_src_states_refuses_the_state_over_the_limit);
	tcase_add_test(c, max_src_nodes_refuses_a_new_source);
	tcase_add_test(c, max_src_nodes_counts_a_node_until_its_src_track_ends);
	tcase_add_test(c, table_node_limit_refuses_as_src_nodes);
	tcase_add_test(c, release_rolls_back_a_new_node);
	tcase_add_test(c, release_keeps_a_node_that_has_states);
	tcase_add_test(c, global_tracking_shares_one_node_between_rules);
	tcase_add_test(c, ipv6_sources_have_their_own_nodes);
	tcase_add_test(c, max_src_conn_trips_on_the_connection_over_the_limit);
	tcase_add_test(c, connection_count_drops_when_an_established_state_goes);
	tcase_add_test(c, conn_rate_counter_decays_as_pf);
	tcase_add_test(c, conn_rate_burst_trips_on_the_n_plus_first);
	suite_add_tcase(s, c);

	c = tcase_create("overload");
	tcase_add_test(c, overload_calls_the_hook_without_flushing);
	tcase_add_test(c, overload_flush_asks_to_kill_the_rules_states_of_the_source);
	tcase_add_test(c, overload_flush_global_asks_to_kill_states_of_every_rule);
	tcase_add_test(c, flush_hook_may_remove_states_inside_the_call);
	suite_add_tcase(s, c);

	c = tcase_create("pools");
	tcase_add_test(c, roundrobin_visits_targets_in_order);
	tcase_add_test(c, roundrobin_walks_every_address_of_a_network);
	tcase_add_test(c, source_hash_is_stable_per_source_and_key);
	tcase_add_test(c, source_hash_of_a_network_keeps_the_network_bits);
	tcase_add_test(c, pf_source_hash_of_one_target_takes_the_hash_host_bits);
	tcase_add_test(c, pf_source_hash_of_a_list_takes_entry_hash_mod_count_in_table_order);
	tcase_add_test(c, pf_source_hash_refuses_an_unknown_hash);
	tcase_add_test(c, bitmask_takes_host_bits_from_the_source);
	tcase_add_test(c, bitmask_works_for_ipv6_and_refuses_mixed_families);
	tcase_add_test(c, bitmask_splits_a_prefix_inside_a_byte);
	tcase_add_test(c, random_pool_is_deterministic_from_rd_random);
	tcase_add_test(c, least_states_picks_the_target_with_fewest_states);
	tcase_add_test(c, least_states_divides_load_by_weight);
	tcase_add_test(c, empty_pool_counts_translate);
	suite_add_tcase(s, c);

	c = tcase_create("sticky");
	tcase_add_test(c, sticky_source_keeps_its_target);
	tcase_add_test(c, sticky_mapping_outlives_its_states_for_src_track);
	tcase_add_test(c, sticky_target_removed_from_pool_is_repicked);
	tcase_add_test(c, sticky_target_back_in_pool_keeps_the_mapping);
	tcase_add_test(c, sticky_nodes_obey_max_src_nodes);
	tcase_add_test(c, sticky_least_states_counts_the_states_of_sticky_sources);
	suite_add_tcase(s, c);

	c = tcase_create("kill");
	tcase_add_test(c, kill_source_drops_its_nodes_and_asks_for_its_states);
	tcase_add_test(c, kill_target_drops_the_nodes_bound_to_it);
	tcase_add_test(c, kill_target_inside_a_network_target_drops_only_that_address);
	suite_add_tcase(s, c);

	c = tcase_create("lifetime");
	tcase_add_test(c, node_dies_src_track_after_its_last_state);
	tcase_add_test(c, rule_src_track_overrides_the_table_default);
	tcase_add_test(c, node_reused_while_idle_keeps_its_counters);
	tcase_add_test(c, dead_node_is_replaced_by_a_fresh_one);
	tcase_add_test(c, expire_does_bounded_work_per_call);
	tcase_add_test(c, expire_visits_every_rule);
	tcase_add_test(c, memory_comes_from_the_allocator_and_is_all_returned);
	tcase_add_test(c, removed_rule_leaves_its_states_valid);
	tcase_add_test(c, foreach_reports_live_nodes_only);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (rd_init() != 0)
		return 1;
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
