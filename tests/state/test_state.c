/*
 * Unit tests for the state table: keys, lookup, NAT, ids, timeouts,
 * adaptive scaling, limits and their reason counters, expiry, iteration,
 * kill, import/export. TCP tracking rules are in test_tcp.c, the parser in
 * test_parse.c.
 */
#include <check.h>
#include <stdlib.h>

#include "../test_countmem.h"
#include "helpers.h"
#include "state/state_internal.h"

#define C  0x0a000001u /* client 10.0.0.1 */
#define S  0x0a000002u /* server 10.0.0.2 */
#define T0 (10 * RD_SEC)

static uint64_t seed;
static struct rd_state_table *tbl;

static struct rd_state_table *new_table(uint32_t limit, bool adaptive)
{
	struct rd_state_config cfg;
	struct rd_state_table *t;
	rd_state_config_default(&cfg);
	seed = 42;
	cfg.random.fn = test_random;
	cfg.random.user = &seed;
	cfg.limit = limit;
	if (!adaptive) {
		cfg.timeouts[RD_STATE_TM_ADAPTIVE_START] = 0;
		cfg.timeouts[RD_STATE_TM_ADAPTIVE_END] = 0;
	}
	ck_assert_int_eq(rd_state_table_new(&cfg, &t), 0);
	return t;
}

static void setup(void)
{
	tbl = new_table(100000, false);
}

static void teardown(void)
{
	rd_state_table_free(tbl, 0);
	tbl = NULL;
}

static struct rd_state *udp_state(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                                  uint32_t rule)
{
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, src, sport, dst, dport);
	struct rd_state_opts o = {.rule = rule};
	struct rd_state *st = NULL;
	ck_assert_int_eq(rd_state_create(tbl, &p, &o, T0, &st), 0);
	return st;
}

/* ---- keys and lookup ---- */

START_TEST(key_of_reply_in_opposite_direction_equals_original)
{
	struct rd_state_pkt a = mkpkt(6, RD_STATE_IN, C, 1234, S, 80);
	struct rd_state_pkt b = mkpkt(6, RD_STATE_OUT, S, 80, C, 1234);
	struct rd_state_key ka, kb;
	ck_assert_int_eq(rd_state_key_from_pkt(&a, &ka), 0);
	ck_assert_int_eq(rd_state_key_from_pkt(&b, &kb), 0);
	ck_assert_mem_eq(&ka, &kb, sizeof(ka));
}
END_TEST

START_TEST(key_of_reversed_tuple_same_direction_differs)
{
	struct rd_state_pkt a = mkpkt(6, RD_STATE_IN, C, 1234, S, 80);
	struct rd_state_pkt b = mkpkt(6, RD_STATE_IN, S, 80, C, 1234);
	struct rd_state_key ka, kb;
	rd_state_key_from_pkt(&a, &ka);
	rd_state_key_from_pkt(&b, &kb);
	ck_assert(memcmp(&ka, &kb, sizeof(ka)) != 0);
}
END_TEST

START_TEST(key_of_icmp_echo_reply_equals_request)
{
	struct rd_state_pkt req = mkpkt(1, RD_STATE_IN, C, 0, S, 0);
	struct rd_state_pkt rep = mkpkt(1, RD_STATE_OUT, S, 0, C, 0);
	req.icmp_type = 8;
	req.icmp_id = 777;
	rep.icmp_type = 0;
	rep.icmp_id = 777;
	struct rd_state_key a, b;
	rd_state_key_from_pkt(&req, &a);
	rd_state_key_from_pkt(&rep, &b);
	ck_assert_mem_eq(&a, &b, sizeof(a));
	rep.icmp_id = 778;
	rd_state_key_from_pkt(&rep, &b);
	ck_assert(memcmp(&a, &b, sizeof(a)) != 0);
}
END_TEST

START_TEST(lookup_finds_state_from_both_directions)
{
	struct rd_state *st = udp_state(C, 5000, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_pkt q = mkpkt(17, RD_STATE_OUT, S, 53, C, 5000);
	struct rd_state_key k;
	rd_state_key_from_pkt(&q, &k);
	ck_assert_ptr_eq(rd_state_lookup(tbl, &k, RD_STATE_OUT, 0, T0), st);
	q = mkpkt(17, RD_STATE_IN, C, 5000, S, 53);
	rd_state_key_from_pkt(&q, &k);
	ck_assert_ptr_eq(rd_state_lookup(tbl, &k, RD_STATE_IN, 0, T0), st);
	q = mkpkt(17, RD_STATE_IN, C, 5001, S, 53);
	rd_state_key_from_pkt(&q, &k);
	ck_assert_ptr_null(rd_state_lookup(tbl, &k, RD_STATE_IN, 0, T0));
}
END_TEST

/* ---- reserved memory (rd_state_config.reserve) ---- */

/*
 * Imports n UDP states with sync data (a routing table); returns the calls
 * made meanwhile to cm, t's allocator.
 */
static long import_counting(struct rd_state_table *t, struct count_mem *cm, uint32_t n)
{
	long before = cm->calls;

	for (uint32_t i = 0; i < n; i++) {
		struct rd_state_info in;
		struct rd_state *st = NULL;

		memset(&in, 0, sizeof(in));
		in.wire.af = RD_AF_INET;
		in.wire.proto = 17;
		uint32_t a = 0x0a000000u + i / 60000, b = S;
		memcpy(in.wire.addr[0], &a, 4);
		memcpy(in.wire.addr[1], &b, 4);
		in.wire.port[0] = (uint16_t)(1024 + i % 60000);
		in.wire.port[1] = 53;
		in.stack = in.wire;
		in.id = 1000 + i;
		in.creatorid = 77;
		in.rule = RD_STATE_RULE_NONE;
		in.timeout = RD_STATE_TM_UDP_SINGLE;
		rd_state_pf_default(&in.pf);
		in.pf.rtableid[0] = 3;
		ck_assert_int_eq(rd_state_import(t, &in, T0, &st), 0);
	}
	return cm->calls - before;
}

/*
 * A table created with reserve and a size hint allocates nothing more
 * while it takes that many states (their slots, sync data and index
 * entries were taken at creation); without reserve the same imports
 * allocate. The reserved, unused slots are not states: the count,
 * iteration and lookups see exactly what was imported.
 */
START_TEST(reserved_table_takes_its_hint_of_states_without_allocating)
{
	const uint32_t n = 3 * RD_PAGE_SIZE / 2; /* the small pages and a big one */

	for (int reserve = 1; reserve >= 0; reserve--) {
		struct count_mem cm = {.live = 0, .fail_after = -1};
		struct rd_mem counting = {&cm, cm_malloc, cm_calloc, cm_realloc, cm_free};
		struct rd_state_config cfg;
		struct rd_state_table *t;
		struct rd_state_iter it;
		size_t mem, seen = 0;
		long calls;

		rd_state_config_default(&cfg);
		seed = 42;
		cfg.random.fn = test_random;
		cfg.random.user = &seed;
		cfg.mem = &counting;
		cfg.limit = 2 * n;
		cfg.size_hint = n;
		cfg.reserve = reserve;
		ck_assert_int_eq(rd_state_table_new(&cfg, &t), 0);
		mem = rd_state_memory(t);
		ck_assert_uint_eq(rd_state_count(t), 0);
		calls = import_counting(t, &cm, n);
		if (reserve) {
			ck_assert_int_eq(calls, 0);
			ck_assert_uint_eq(rd_state_memory(t), mem);
		} else {
			ck_assert_int_gt(calls, 0);
			ck_assert_uint_gt(rd_state_memory(t), mem);
		}
		ck_assert_uint_eq(rd_state_count(t), n);
		rd_state_iter_init(&it);
		while (rd_state_iter_next(t, &it) != NULL)
			seen++;
		ck_assert_uint_eq(seen, n);
		ck_assert_ptr_nonnull(rd_state_find_id(t, 1000 + n - 1, 77, T0));
		ck_assert_ptr_null(rd_state_find_id(t, 1000 + n, 77, T0));
		rd_state_table_free(t, T0);
		ck_assert_int_eq(cm.live, 0); /* the reserved pages went too */
	}
}
END_TEST

START_TEST(burst_lookup_matches_single_lookups)
{
	struct rd_state_key keys[40];
	const struct rd_state_key *kp[40];
	struct rd_state *out[40];
	for (int i = 0; i < 40; i++) {
		struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, (uint16_t)(1000 + i), S, 53);
		if (i % 2 == 0)
			ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, NULL), 0);
		rd_state_key_from_pkt(&p, &keys[i]);
		kp[i] = &keys[i];
	}
	ck_assert_uint_eq(rd_state_lookup_burst(tbl, kp, 40, RD_STATE_IN, 0, T0, out), 20);
	for (int i = 0; i < 40; i++)
		ck_assert_ptr_eq(out[i], rd_state_lookup(tbl, &keys[i], RD_STATE_IN, 0, T0));
}
END_TEST

START_TEST(nat_state_matches_wire_key_inbound_and_stack_key_outbound)
{
	/* rdr: client -> 192.0.2.1:80 on the wire, translated to server 10.0.0.2:8080 */
	uint32_t pub = 0xc0000201u;
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 4000, pub, 80);
	struct rd_state_opts o = {.rule = RD_STATE_RULE_NONE, .nat = 1};
	o.nsrc = rd_addr_v4(C);
	o.ndst = rd_addr_v4(S);
	o.nsport = 4000;
	o.ndport = 8080;
	struct rd_state *st;
	ck_assert_int_eq(rd_state_create(tbl, &p, &o, T0, &st), 0);
	ck_assert(st->flags & RD_STATE_F_NAT);
	struct rd_state_key k;
	rd_state_key_from_pkt(&p, &k);
	ck_assert_ptr_eq(rd_state_lookup(tbl, &k, RD_STATE_IN, 0, T0), st);
	/* the wire key does not match an outbound packet */
	ck_assert_ptr_null(rd_state_lookup(tbl, &k, RD_STATE_OUT, 0, T0));
	/* the server's reply as the stack emits it, before translation back */
	struct rd_state_pkt r = mkpkt(17, RD_STATE_OUT, S, 8080, C, 4000);
	rd_state_key_from_pkt(&r, &k);
	ck_assert_ptr_eq(rd_state_lookup(tbl, &k, RD_STATE_OUT, 0, T0), st);
	ck_assert_mem_eq(rd_state_stack_key(tbl, st), &k, sizeof(k));
	rd_state_remove(tbl, st, T0);
	ck_assert_ptr_null(rd_state_lookup(tbl, &k, RD_STATE_OUT, 0, T0));
}
END_TEST

START_TEST(ids_are_unique_and_carry_the_table_creatorid)
{
	struct rd_state *a = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state *b = udp_state(C, 2, S, 53, RD_STATE_RULE_NONE);
	ck_assert_uint_ne(a->id, b->id);
	ck_assert_uint_eq(a->creatorid, rd_state_creatorid(tbl));
	ck_assert_uint_ne(a->creatorid, 0);
	ck_assert_ptr_eq(rd_state_find_id(tbl, a->id, a->creatorid, T0), a);
	ck_assert_ptr_eq(rd_state_find_id(tbl, b->id, b->creatorid, T0), b);
	ck_assert_ptr_null(rd_state_find_id(tbl, a->id, a->creatorid + 1, T0));
}
END_TEST

START_TEST(if_bound_state_matches_only_its_interface)
{
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 1, S, 53);
	p.ifindex = 3;
	struct rd_state_opts o = {.rule = RD_STATE_RULE_NONE, .if_bound = 1};
	struct rd_state *st;
	ck_assert_int_eq(rd_state_create(tbl, &p, &o, T0, &st), 0);
	struct rd_state_key k;
	rd_state_key_from_pkt(&p, &k);
	ck_assert_ptr_eq(rd_state_lookup(tbl, &k, RD_STATE_IN, 3, T0), st);
	ck_assert_ptr_null(rd_state_lookup(tbl, &k, RD_STATE_IN, 4, T0));
}
END_TEST

START_TEST(if_bound_state_preferred_over_floating)
{
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 1, S, 53);
	p.ifindex = 3;
	struct rd_state *fl, *b;
	struct rd_state_opts o = {.rule = RD_STATE_RULE_NONE};
	ck_assert_int_eq(rd_state_create(tbl, &p, &o, T0, &fl), 0);
	o.if_bound = 1;
	ck_assert_int_eq(rd_state_create(tbl, &p, &o, T0, &b), 0);
	struct rd_state_key k;
	rd_state_key_from_pkt(&p, &k);
	ck_assert_ptr_eq(rd_state_lookup(tbl, &k, RD_STATE_IN, 3, T0), b);
	ck_assert_ptr_eq(rd_state_lookup(tbl, &k, RD_STATE_IN, 5, T0), fl);
}
END_TEST

/* ---- timeouts ---- */

START_TEST(default_timeouts_are_pfs)
{
	static const struct {
		unsigned tm;
		const char *name;
		uint32_t secs;
	} want[] = {
	    {RD_STATE_TM_TCP_FIRST_PACKET, "tcp.first", 120},
	    {RD_STATE_TM_TCP_OPENING, "tcp.opening", 30},
	    {RD_STATE_TM_TCP_ESTABLISHED, "tcp.established", 86400},
	    {RD_STATE_TM_TCP_CLOSING, "tcp.closing", 900},
	    {RD_STATE_TM_TCP_FIN_WAIT, "tcp.finwait", 45},
	    {RD_STATE_TM_TCP_CLOSED, "tcp.closed", 90},
	    {RD_STATE_TM_UDP_FIRST_PACKET, "udp.first", 60},
	    {RD_STATE_TM_UDP_SINGLE, "udp.single", 30},
	    {RD_STATE_TM_UDP_MULTIPLE, "udp.multiple", 60},
	    {RD_STATE_TM_ICMP_FIRST_PACKET, "icmp.first", 20},
	    {RD_STATE_TM_ICMP_ERROR_REPLY, "icmp.error", 10},
	    {RD_STATE_TM_OTHER_FIRST_PACKET, "other.first", 60},
	    {RD_STATE_TM_OTHER_SINGLE, "other.single", 30},
	    {RD_STATE_TM_OTHER_MULTIPLE, "other.multiple", 60},
	    {RD_STATE_TM_INTERVAL, "interval", 10},
	    {RD_STATE_TM_ADAPTIVE_START, "adaptive.start", 60000},
	    {RD_STATE_TM_ADAPTIVE_END, "adaptive.end", 120000},
	    {RD_STATE_TM_SRC_NODE, "src.track", 0},
	};
	struct rd_state_table *t;
	ck_assert_int_eq(rd_state_table_new(NULL, &t), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_str_eq(rd_state_timeout_name(want[i].tm), want[i].name);
		ck_assert_uint_eq(rd_state_get_timeout(t, want[i].tm), want[i].secs);
	}
	rd_state_table_free(t, 0);
}
END_TEST

START_TEST(state_expires_after_its_timeout)
{
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	uint64_t id = st->id;
	uint32_t cid = st->creatorid;
	ck_assert_uint_eq(rd_state_expires(tbl, st), T0 + 60 * RD_SEC);
	ck_assert_ptr_nonnull(rd_state_find_id(tbl, id, cid, T0 + 60 * RD_SEC - 1));
	ck_assert_ptr_null(rd_state_find_id(tbl, id, cid, T0 + 60 * RD_SEC));
	ck_assert_uint_eq(rd_state_purge(tbl, T0 + 60 * RD_SEC, 1u << 20), 1);
	ck_assert_uint_eq(rd_state_count(tbl), 0);
}
END_TEST

/*
 * Drive rd_state_handle_expiry as an event loop would, from `start` (when
 * every state is already dead) until the table is empty; returns how long
 * the sweep took and stores the number of calls and the most one removed.
 */
static rd_time_t sweep(rd_time_t start, int *calls, size_t *most)
{
	rd_time_t now = start;

	*calls = 0;
	*most = 0;
	while (rd_state_count(tbl) > 0) {
		rd_time_t due = rd_state_expiry(tbl);
		ck_assert(due != RD_TIME_NEVER);
		if (due > now)
			now = due;
		size_t n = rd_state_handle_expiry(tbl, now);
		if (n > *most)
			*most = n;
		(*calls)++;
		ck_assert_int_lt(*calls, 100000);
	}
	ck_assert_uint_eq(rd_state_expiry(tbl), RD_TIME_NEVER);
	return now - start;
}

START_TEST(handle_expiry_sweeps_the_whole_table_in_slices_every_interval)
{
	enum { N = 5000 };
	rd_time_t dead = T0 + 60 * RD_SEC; /* udp.first */
	int calls;
	size_t most;

	for (int i = 0; i < N; i++)
		udp_state(C, (uint16_t)(1000 + i), S, 53, RD_STATE_RULE_NONE);
	ck_assert_uint_eq(rd_state_expiry(tbl), 0); /* never run: due at once */
	/* the default interval, 10 s: in slices, none of them the whole table */
	ck_assert_uint_eq(rd_state_get_timeout(tbl, RD_STATE_TM_INTERVAL), 10);
	ck_assert_uint_le(sweep(dead, &calls, &most), 10 * RD_SEC);
	ck_assert_int_ge(calls, 10);
	ck_assert_uint_lt(most, N);
	ck_assert_uint_eq(rd_state_count(tbl), 0);

	/* a 2 s interval sweeps within 2 s */
	for (int i = 0; i < N; i++)
		udp_state(C, (uint16_t)(1000 + i), S, 53, RD_STATE_RULE_NONE);
	ck_assert_int_eq(rd_state_set_timeout(tbl, RD_STATE_TM_INTERVAL, 2), 0);
	ck_assert_uint_le(sweep(dead + 100 * RD_SEC, &calls, &most), 2 * RD_SEC);
	ck_assert_int_ge(calls, 2);

	/* interval 0: the documented default */
	for (int i = 0; i < N; i++)
		udp_state(C, (uint16_t)(1000 + i), S, 53, RD_STATE_RULE_NONE);
	ck_assert_int_eq(rd_state_set_timeout(tbl, RD_STATE_TM_INTERVAL, 0), 0);
	rd_time_t took = sweep(dead + 200 * RD_SEC, &calls, &most);
	ck_assert_uint_le(took, RD_STATE_EXPIRY_INTERVAL_DEFAULT * RD_SEC);
	ck_assert_uint_gt(took, 2 * RD_SEC);
}
END_TEST

START_TEST(handle_expiry_before_its_time_does_nothing_and_keeps_live_states)
{
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	ck_assert_uint_eq(rd_state_handle_expiry(tbl, T0), 0); /* arms the sweep */
	rd_time_t due = rd_state_expiry(tbl);
	ck_assert(due > T0 && due <= T0 + RD_SEC);
	ck_assert_uint_eq(rd_state_handle_expiry(tbl, due - 1), 0);
	ck_assert_uint_eq(rd_state_handle_expiry(tbl, due), 0); /* live: kept */
	ck_assert_ptr_eq(rd_state_find_id(tbl, st->id, st->creatorid, due), st);
	ck_assert_uint_gt(rd_state_expiry(tbl), due);
}
END_TEST

START_TEST(stats_copy_counters_and_name_them_as_pfctl)
{
	uint64_t c[RD_STATE_STAT_COUNT];
	struct rd_state_key k;
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 1, S, 53);

	udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	ck_assert_int_eq(rd_state_key_from_pkt(&p, &k), 0);
	ck_assert_ptr_nonnull(rd_state_lookup(tbl, &k, RD_STATE_IN, 0, T0));
	rd_state_count_reason(tbl, RD_STATE_RES_SHORT);
	rd_state_stats(tbl, c);
	ck_assert_uint_eq(c[RD_STATE_STAT_INSERT], 1);
	ck_assert_uint_ge(c[RD_STATE_STAT_SEARCH], 1);
	ck_assert_uint_eq(c[RD_STATE_STAT_REMOVAL], 0);
	ck_assert_uint_eq(c[RD_STATE_STAT_RES(RD_STATE_RES_SHORT)], 1);
	ck_assert_str_eq(rd_state_stat_name(RD_STATE_STAT_SEARCH), "searches");
	ck_assert_str_eq(rd_state_stat_name(RD_STATE_STAT_REMOVAL), "removals");
	ck_assert_str_eq(rd_state_stat_name(RD_STATE_STAT_RES(RD_STATE_RES_SHORT)), "short");
	ck_assert_str_eq(rd_state_stat_name(RD_STATE_STAT_COUNT - 1), "no-route");
	ck_assert_str_eq(rd_state_stat_name(RD_STATE_STAT_COUNT), "?");
	ck_assert_str_eq(rd_state_stat_name(-1), "?");
}
END_TEST

START_TEST(packet_refreshes_expiry)
{
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_pkt r = mkpkt(17, RD_STATE_OUT, S, 53, C, 1);
	struct rd_state_result res;
	ck_assert_int_eq(rd_state_packet(tbl, &r, T0 + 50 * RD_SEC, &res), RD_STATE_PASS);
	ck_assert_uint_eq(st->last, T0 + 50 * RD_SEC);
	/* now single from the server side, multiple after the client speaks again */
	ck_assert_uint_eq(rd_state_expires(tbl, st), T0 + 50 * RD_SEC + 30 * RD_SEC);
}
END_TEST

START_TEST(set_timeout_changes_table_timeouts)
{
	ck_assert_int_eq(rd_state_set_timeout(tbl, RD_STATE_TM_UDP_FIRST_PACKET, 5), 0);
	ck_assert_int_eq(rd_state_set_timeout(tbl, RD_STATE_TM_COUNT, 5), RD_ERR_INVAL);
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	ck_assert_uint_eq(rd_state_expires(tbl, st), T0 + 5 * RD_SEC);
}
END_TEST

START_TEST(rule_timeout_overrides_table_and_zero_inherits)
{
	struct rd_state_rule_config r = {0};
	r.timeouts[RD_STATE_TM_UDP_FIRST_PACKET] = 7;
	ck_assert_int_eq(rd_state_rule_set(tbl, 3, &r), 0);
	struct rd_state *a = udp_state(C, 1, S, 53, 3);
	ck_assert_uint_eq(rd_state_expires(tbl, a), T0 + 7 * RD_SEC);
	/* a timeout the rule leaves at 0 is the table's */
	struct rd_state_pkt rep = mkpkt(17, RD_STATE_OUT, S, 53, C, 1);
	rd_state_packet(tbl, &rep, T0, NULL);
	ck_assert_uint_eq(a->timeout, RD_STATE_TM_UDP_SINGLE);
	ck_assert_uint_eq(rd_state_expires(tbl, a), T0 + 30 * RD_SEC);
	struct rd_state *b = udp_state(C, 2, S, 53, 4);
	ck_assert_uint_eq(rd_state_expires(tbl, b), T0 + 60 * RD_SEC);
}
END_TEST

START_TEST(set_rule_gives_one_state_its_own_timeouts)
{
	struct rd_state_rule_config r = {0};
	r.timeouts[RD_STATE_TM_UDP_FIRST_PACKET] = 3;
	ck_assert_int_eq(rd_state_rule_set(tbl, 7, &r), 0);
	struct rd_state *a = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state *b = udp_state(C, 2, S, 53, RD_STATE_RULE_NONE);
	ck_assert_int_eq(rd_state_set_rule(tbl, a, 7), 0);
	ck_assert_uint_eq(rd_state_expires(tbl, a), T0 + 3 * RD_SEC);
	ck_assert_uint_eq(rd_state_expires(tbl, b), T0 + 60 * RD_SEC);
	ck_assert_uint_eq(rd_state_rule_count(tbl, 7), 1);
	ck_assert_int_eq(rd_state_set_rule(tbl, a, RD_STATE_MAX_RULES), RD_ERR_INVAL);
	ck_assert_int_eq(rd_state_set_rule(tbl, a, RD_STATE_RULE_NONE), 0);
	ck_assert_uint_eq(rd_state_rule_count(tbl, 7), 0);
	ck_assert_uint_eq(rd_state_expires(tbl, a), T0 + 60 * RD_SEC);
}
END_TEST

START_TEST(adaptive_timeouts_scale_linearly_between_start_and_end)
{
	/* pf.conf(5)'s example, scaled: start 6, end 12, 9 states -> 50% */
	rd_state_set_timeout(tbl, RD_STATE_TM_ADAPTIVE_START, 6);
	rd_state_set_timeout(tbl, RD_STATE_TM_ADAPTIVE_END, 12);
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	for (uint16_t i = 2; i <= 6; i++)
		udp_state(C, i, S, 53, RD_STATE_RULE_NONE);
	/* 6 states: not above start, full timeout */
	ck_assert_uint_eq(rd_state_expires(tbl, st), T0 + 60 * RD_SEC);
	for (uint16_t i = 7; i <= 9; i++)
		udp_state(C, i, S, 53, RD_STATE_RULE_NONE);
	ck_assert_uint_eq(rd_state_count(tbl), 9);
	ck_assert_uint_eq(rd_state_expires(tbl, st), T0 + 30 * RD_SEC);
}
END_TEST

START_TEST(adaptive_end_reached_makes_states_expire_until_below_end)
{
	rd_state_set_timeout(tbl, RD_STATE_TM_ADAPTIVE_START, 2);
	rd_state_set_timeout(tbl, RD_STATE_TM_ADAPTIVE_END, 4);
	for (uint16_t i = 1; i <= 4; i++)
		udp_state(C, i, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 1, S, 53);
	struct rd_state_key k;
	rd_state_key_from_pkt(&p, &k);
	ck_assert_ptr_null(rd_state_lookup(tbl, &k, RD_STATE_IN, 0, T0));
	/* removing one brings the count below end: the rest live on, scaled to 50% */
	ck_assert_uint_eq(rd_state_purge(tbl, T0, 1u << 20), 1);
	ck_assert_uint_eq(rd_state_count(tbl), 3);
	struct rd_state_iter it;
	rd_state_iter_init(&it);
	ck_assert_uint_eq(rd_state_expires(tbl, rd_state_iter_next(tbl, &it)), T0 + 30 * RD_SEC);
}
END_TEST

START_TEST(rule_adaptive_uses_the_rule_state_count)
{
	struct rd_state_rule_config r = {0};
	r.timeouts[RD_STATE_TM_ADAPTIVE_START] = 1;
	r.timeouts[RD_STATE_TM_ADAPTIVE_END] = 3;
	rd_state_rule_set(tbl, 1, &r);
	/* states of other rules do not count toward rule 1's scaling */
	for (uint16_t i = 100; i < 110; i++)
		udp_state(C, i, S, 53, 2);
	struct rd_state *a = udp_state(C, 1, S, 53, 1);
	ck_assert_uint_eq(rd_state_expires(tbl, a), T0 + 60 * RD_SEC);
	udp_state(C, 2, S, 53, 1);
	ck_assert_uint_eq(rd_state_rule_count(tbl, 1), 2);
	ck_assert_uint_eq(rd_state_expires(tbl, a), T0 + 30 * RD_SEC);
}
END_TEST

/* ---- limits and reason counters ---- */

START_TEST(global_limit_refuses_with_memory_reason)
{
	rd_state_set_limit(tbl, 2);
	udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	udp_state(C, 2, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 3, S, 53);
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, NULL), RD_ERR_LIMIT);
	uint64_t c[RD_STATE_STAT_COUNT];
	rd_state_stats(tbl, c);
	ck_assert_uint_eq(c[RD_STATE_STAT_RES(RD_STATE_RES_MEMORY)], 1);
	ck_assert_uint_eq(rd_state_count(tbl), 2);
	ck_assert_str_eq(rd_state_reason_name(RD_STATE_RES_MEMORY), "memory");
}
END_TEST

START_TEST(rule_max_refuses_with_state_limit_reason)
{
	struct rd_state_rule_config r = {.max_states = 1};
	rd_state_rule_set(tbl, 9, &r);
	udp_state(C, 1, S, 53, 9);
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 2, S, 53);
	struct rd_state_opts o = {.rule = 9};
	ck_assert_int_eq(rd_state_create(tbl, &p, &o, T0, NULL), RD_ERR_LIMIT);
	o.rule = 10;
	ck_assert_int_eq(rd_state_create(tbl, &p, &o, T0, NULL), 0);
	uint64_t c[RD_STATE_STAT_COUNT];
	rd_state_stats(tbl, c);
	ck_assert_uint_eq(c[RD_STATE_STAT_RES(RD_STATE_RES_MAXSTATES)], 1);
	ck_assert_str_eq(rd_state_reason_name(RD_STATE_RES_MAXSTATES), "state-limit");
}
END_TEST

static int refuse_attach(void *user, struct rd_state *st, rd_time_t now)
{
	(void)st;
	(void)now;
	++*(int *)user;
	return 1;
}

START_TEST(attach_refusal_counts_src_limit_and_inserts_nothing)
{
	struct rd_state_config cfg;
	struct rd_state_table *t;
	int calls = 0;
	rd_state_config_default(&cfg);
	cfg.cb.user = &calls;
	cfg.cb.attach = refuse_attach;
	ck_assert_int_eq(rd_state_table_new(&cfg, &t), 0);
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 2, S, 53);
	ck_assert_int_eq(rd_state_create(t, &p, NULL, T0, NULL), RD_ERR_LIMIT);
	ck_assert_int_eq(calls, 1);
	uint64_t c[RD_STATE_STAT_COUNT];
	rd_state_stats(t, c);
	ck_assert_uint_eq(c[RD_STATE_STAT_RES(RD_STATE_RES_SRCLIMIT)], 1);
	ck_assert_uint_eq(rd_state_count(t), 0);
	struct rd_state_key k;
	rd_state_key_from_pkt(&p, &k);
	ck_assert_ptr_null(rd_state_lookup(t, &k, RD_STATE_IN, 0, T0));
	ck_assert_str_eq(rd_state_reason_name(RD_STATE_RES_SRCLIMIT), "src-limit");
	rd_state_table_free(t, 0);
}
END_TEST

START_TEST(key_collision_counts_state_insert)
{
	udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 1, S, 53);
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, NULL), RD_ERR_EXIST);
	uint64_t c[RD_STATE_STAT_COUNT];
	rd_state_stats(tbl, c);
	ck_assert_uint_eq(c[RD_STATE_STAT_RES(RD_STATE_RES_STATEINS)], 1);
	ck_assert_uint_eq(rd_state_count(tbl), 1);
	ck_assert_str_eq(rd_state_reason_name(RD_STATE_RES_STATEINS), "state-insert");
	/* the same key created by an outbound packet is another direction: allowed */
	struct rd_state_pkt q = mkpkt(17, RD_STATE_OUT, S, 53, C, 1);
	ck_assert_int_eq(rd_state_create(tbl, &q, NULL, T0, NULL), 0);
}
END_TEST

START_TEST(expired_state_gives_way_to_a_new_one)
{
	udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 1, S, 53);
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0 + 61 * RD_SEC, NULL), 0);
	ck_assert_uint_eq(rd_state_count(tbl), 1);
}
END_TEST

START_TEST(packets_and_bytes_counted_per_direction)
{
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 1, S, 53);
	p.tot_len = 100;
	struct rd_state *st;
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, &st), 0);
	rd_state_packet(tbl, &p, T0, NULL);
	struct rd_state_pkt r = mkpkt(17, RD_STATE_OUT, S, 53, C, 1);
	r.tot_len = 1000;
	rd_state_packet(tbl, &r, T0, NULL);
	ck_assert_uint_eq(st->packets[0], 2);
	ck_assert_uint_eq(st->bytes[0], 200);
	ck_assert_uint_eq(st->packets[1], 1);
	ck_assert_uint_eq(st->bytes[1], 1000);
}
END_TEST

/* ---- expiry ---- */

static int removed_events;
static void count_events(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	(void)user;
	(void)st;
	(void)now;
	if (ev == RD_STATE_EV_REMOVE && why == RD_STATE_RM_EXPIRED)
		removed_events++;
}

START_TEST(expire_does_bounded_work_per_call_and_finishes)
{
	struct rd_state_config cfg;
	struct rd_state_table *t;
	rd_state_config_default(&cfg);
	cfg.limit = 1000000;
	cfg.cb.event = count_events;
	removed_events = 0;
	ck_assert_int_eq(rd_state_table_new(&cfg, &t), 0);
	for (uint32_t i = 0; i < 10000; i++) {
		struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C + i, 1, S, 53);
		ck_assert_int_eq(rd_state_create(t, &p, NULL, T0, NULL), 0);
	}
	/* nothing expired yet */
	ck_assert_uint_eq(rd_state_purge(t, T0 + RD_SEC, 100000), 0);
	size_t total = 0, calls = 0;
	while (rd_state_count(t) > 0) {
		size_t n = rd_state_purge(t, T0 + 3600 * RD_SEC, 64);
		ck_assert_uint_le(n, 64);
		total += n;
		calls++;
		ck_assert_uint_lt(calls, 1000);
	}
	ck_assert_uint_eq(total, 10000);
	ck_assert_int_eq(removed_events, 10000);
	rd_state_table_free(t, 0);
}
END_TEST

static int ev_count[4];
static void record_events(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	(void)user;
	(void)st;
	(void)why;
	(void)now;
	ev_count[ev]++;
}

START_TEST(events_report_insert_update_and_remove)
{
	struct rd_state_config cfg;
	struct rd_state_table *t;
	rd_state_config_default(&cfg);
	cfg.cb.event = record_events;
	memset(ev_count, 0, sizeof(ev_count));
	ck_assert_int_eq(rd_state_table_new(&cfg, &t), 0);
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 1, S, 53);
	struct rd_state *st;
	ck_assert_int_eq(rd_state_create(t, &p, NULL, T0, &st), 0);
	ck_assert_int_eq(ev_count[RD_STATE_EV_INSERT], 1);
	rd_state_packet(t, &p, T0, NULL);
	rd_state_packet(t, &p, T0, NULL);
	ck_assert_int_eq(ev_count[RD_STATE_EV_UPDATE], 2);
	/* a packet that matches nothing sends nothing */
	struct rd_state_pkt q = mkpkt(17, RD_STATE_IN, C, 2, S, 53);
	rd_state_packet(t, &q, T0, NULL);
	ck_assert_int_eq(ev_count[RD_STATE_EV_UPDATE], 2);
	rd_state_remove(t, st, T0);
	ck_assert_int_eq(ev_count[RD_STATE_EV_REMOVE], 1);
	rd_state_table_free(t, T0);
}
END_TEST

/* ---- iteration ---- */

START_TEST(iteration_visits_each_surviving_state_once_while_table_changes)
{
	enum { N = 3000 };
	static uint8_t seen[N];
	struct rd_state *sts[N];
	memset(seen, 0, sizeof(seen));
	for (uint16_t i = 0; i < N; i++) {
		sts[i] = udp_state(C, (uint16_t)(i + 1), S, 53, RD_STATE_RULE_NONE);
		sts[i]->user = i;
	}
	struct rd_state_iter it;
	rd_state_iter_init(&it);
	struct rd_state *st;
	int step = 0;
	uint16_t next_port = 20000;
	while ((st = rd_state_iter_next(tbl, &it)) != NULL) {
		if (st->key.port[1] == 53 && st->key.port[0] < 20000)
			seen[st->user]++;
		/* between calls: remove the odd states of the upper half, insert new ones */
		step++;
		if (step % 3 == 0) {
			uint32_t victim = N / 2 + (uint32_t)(step % (N / 2));
			if (victim % 2 == 1 && sts[victim] != NULL) {
				rd_state_remove(tbl, sts[victim], T0);
				sts[victim] = NULL;
			}
			udp_state(C, next_port++, S, 53, RD_STATE_RULE_NONE);
		}
	}
	for (uint32_t i = 0; i < N; i++) {
		if (sts[i] != NULL)
			ck_assert_msg(seen[i] == 1, "state %u seen %u times", i, seen[i]);
		else
			ck_assert_uint_le(seen[i], 1);
	}
}
END_TEST

/* ---- kill ---- */

START_TEST(kill_by_source_prefix_removes_only_matching)
{
	udp_state(0x0a000101u, 1, S, 53, RD_STATE_RULE_NONE);
	udp_state(0x0a0001ffu, 1, S, 53, RD_STATE_RULE_NONE);
	udp_state(0x0a000201u, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_filter f = {.fields = RD_STATE_FLT_SRC, .src_plen = 24};
	f.src = rd_addr_v4(0x0a000100u);
	ck_assert_uint_eq(rd_state_kill(tbl, &f, T0), 2);
	ck_assert_uint_eq(rd_state_count(tbl), 1);
}
END_TEST

START_TEST(kill_by_destination_and_rule)
{
	udp_state(C, 1, S, 53, 1);
	udp_state(C, 2, S, 53, 2);
	udp_state(C, 3, 0x0a000009u, 53, 1);
	struct rd_state_filter f = {
	    .fields = RD_STATE_FLT_DST | RD_STATE_FLT_RULE, .dst_plen = 32, .rule = 1};
	f.dst = rd_addr_v4(S);
	ck_assert_uint_eq(rd_state_kill(tbl, &f, T0), 1);
	ck_assert_uint_eq(rd_state_count(tbl), 2);
	ck_assert_uint_eq(rd_state_rule_count(tbl, 1), 1);
}
END_TEST

START_TEST(kill_source_of_outbound_state_is_its_initiator)
{
	/* an outbound connection from an inside host: its source is the inside host */
	struct rd_state_pkt p = mkpkt(17, RD_STATE_OUT, C, 999, 0x08080808u, 53);
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, NULL), 0);
	struct rd_state_filter f = {
	    .fields = RD_STATE_FLT_SRC | RD_STATE_FLT_SPORT, .src_plen = 32, .sport = 999};
	f.src = rd_addr_v4(0x08080808u);
	ck_assert_uint_eq(rd_state_kill(tbl, &f, T0), 0);
	f.src = rd_addr_v4(C);
	ck_assert_uint_eq(rd_state_kill(tbl, &f, T0), 1);
}
END_TEST

/* ---- import / export ---- */

START_TEST(export_then_import_reproduces_the_state)
{
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_info info;
	rd_state_export(tbl, st, T0 + 10 * RD_SEC, &info);
	ck_assert_uint_eq(info.expire_in, 50);
	struct rd_state_table *peer = new_table(1000, false);
	struct rd_state *in;
	ck_assert_int_eq(rd_state_import(peer, &info, T0 + 100 * RD_SEC, &in), 0);
	ck_assert(in->flags & RD_STATE_F_REMOTE);
	ck_assert_uint_eq(in->id, st->id);
	ck_assert_uint_eq(in->creatorid, st->creatorid);
	ck_assert_mem_eq(&in->key, &st->key, sizeof(st->key));
	/* the remaining lifetime carries over: 50 s after the import time */
	ck_assert_uint_eq(rd_state_expires(peer, in), T0 + 150 * RD_SEC);
	struct rd_state_key k = st->key;
	ck_assert_ptr_eq(rd_state_lookup(peer, &k, RD_STATE_IN, 0, T0 + 100 * RD_SEC), in);
	rd_state_table_free(peer, 0);
}
END_TEST

START_TEST(import_of_known_id_updates_in_place)
{
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_info info;
	rd_state_export(tbl, st, T0, &info);
	info.src.state = RD_UDPS_MULTIPLE;
	info.dst.state = RD_UDPS_MULTIPLE;
	info.timeout = RD_STATE_TM_UDP_MULTIPLE;
	info.packets[1] = 5;
	struct rd_state *out;
	ck_assert_int_eq(rd_state_import(tbl, &info, T0, &out), 0);
	ck_assert_ptr_eq(out, st);
	ck_assert_uint_eq(rd_state_count(tbl), 1);
	ck_assert_uint_eq(st->dst.state, RD_UDPS_MULTIPLE);
	ck_assert_uint_eq(st->packets[1], 5);
}
END_TEST

START_TEST(import_colliding_with_another_state_counts_state_insert)
{
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_info info;
	rd_state_export(tbl, st, T0, &info);
	info.id ^= 0xffff;
	ck_assert_int_eq(rd_state_import(tbl, &info, T0, NULL), RD_ERR_EXIST);
	uint64_t c[RD_STATE_STAT_COUNT];
	rd_state_stats(tbl, c);
	ck_assert_uint_eq(c[RD_STATE_STAT_RES(RD_STATE_RES_STATEINS)], 1);
}
END_TEST

/*
 * Time has a caller-chosen origin: at now = 1 s (a host booted a second
 * ago, CLOCK_MONOTONIC), a state an hour old with 300 s left keeps its age
 * and expires 300 s after now, not at once (no clamp at 0).
 */
START_TEST(import_older_than_the_clock_keeps_age_and_expiry)
{
	const rd_time_t now = 1 * RD_SEC;
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_info info, out;
	struct rd_state *in;
	rd_state_export(tbl, st, T0, &info);
	info.src.state = RD_UDPS_MULTIPLE;
	info.dst.state = RD_UDPS_MULTIPLE;
	info.timeout = RD_STATE_TM_UDP_MULTIPLE; /* 60 s */
	info.creation_age = 3600;
	info.expire_in = 30;
	struct rd_state_table *peer = new_table(1000, false);
	ck_assert_int_eq(rd_state_import(peer, &info, now, &in), 0);
	ck_assert_uint_eq(in->timeout, RD_STATE_TM_UDP_MULTIPLE);
	ck_assert_uint_eq(rd_state_expires(peer, in), now + 30 * RD_SEC);
	ck_assert_ptr_eq(rd_state_lookup(peer, &info.wire, RD_STATE_IN, 0, now + 29 * RD_SEC), in);
	rd_state_export(peer, in, now, &out);
	ck_assert_uint_eq(out.creation_age, 3600);
	ck_assert_uint_eq(out.expire_in, 30);
	ck_assert_uint_eq(out.timeout, RD_STATE_TM_UDP_MULTIPLE);
	rd_state_export(peer, in, now + 10 * RD_SEC, &out);
	ck_assert_uint_eq(out.creation_age, 3610);
	ck_assert_uint_eq(out.expire_in, 20);
	/* An hour old with an hour's worth of a long class left: TCP established. */
	info.wire.port[0] = info.stack.port[0] = 2;
	info.id ^= 1;
	info.wire.proto = info.stack.proto = 6;
	info.src.state = info.dst.state = RD_TCPS_ESTABLISHED;
	info.timeout = RD_STATE_TM_TCP_ESTABLISHED; /* 86400 s */
	info.expire_in = 3600;
	ck_assert_int_eq(rd_state_import(peer, &info, now, &in), 0);
	ck_assert_uint_eq(rd_state_expires(peer, in), now + 3600 * RD_SEC);
	rd_state_export(peer, in, now, &out);
	ck_assert_uint_eq(out.creation_age, 3600);
	ck_assert_uint_eq(out.expire_in, 3600);
	ck_assert_uint_eq(out.timeout, RD_STATE_TM_TCP_ESTABLISHED);
	/* The update path too: 100 s left now. */
	info.expire_in = 100;
	ck_assert_int_eq(rd_state_import(peer, &info, now, &in), 0);
	ck_assert_uint_eq(rd_state_expires(peer, in), now + 100 * RD_SEC);
	ck_assert_uint_eq(rd_state_purge(peer, now + 99 * RD_SEC, 1000), 1); /* the UDP one */
	ck_assert_uint_eq(rd_state_count(peer), 1);
	ck_assert_uint_eq(rd_state_purge(peer, now + 100 * RD_SEC, 1000), 1);
	rd_state_table_free(peer, 0);
}
END_TEST

/* A local insert: the table's id and creatorid, not remote, counted half-open. */
START_TEST(import_local_is_ours_and_counted_half_open)
{
	struct rd_state *st = udp_state(C, 1, S, 53, RD_STATE_RULE_NONE);
	struct rd_state_info info;
	struct rd_state *in;
	rd_state_export(tbl, st, T0, &info);
	info.wire.proto = info.stack.proto = 6;
	info.wire.port[0] = info.stack.port[0] = 7;
	info.src.state = RD_TCPS_SYN_SENT;
	info.dst.state = RD_TCPS_CLOSED;
	info.timeout = RD_STATE_TM_TCP_FIRST_PACKET;
	info.id = 12345;
	info.creatorid = 0x01020304;
	ck_assert_int_eq(rd_state_import_local(tbl, &info, T0, &in), 0);
	ck_assert_uint_eq(in->creatorid, rd_state_creatorid(tbl));
	ck_assert_uint_eq(in->id, st->id + 1);
	ck_assert(!(in->flags & RD_STATE_F_REMOTE));
	ck_assert_uint_eq(rd_state_count_halfopen(tbl), 1);
	/* rd_state_import would have marked it remote: not half-open. */
	info.wire.port[0] = info.stack.port[0] = 8;
	ck_assert_int_eq(rd_state_import(tbl, &info, T0, &in), 0);
	ck_assert(in->flags & RD_STATE_F_REMOTE);
	ck_assert_uint_eq(rd_state_count_halfopen(tbl), 1);
	/* Refusals insert nothing. */
	info.wire.port[0] = info.stack.port[0] = 7; /* taken */
	ck_assert_int_eq(rd_state_import_local(tbl, &info, T0, NULL), RD_ERR_EXIST);
	ck_assert_int_eq(rd_state_import_local(tbl, NULL, T0, NULL), RD_ERR_INVAL);
	ck_assert_uint_eq(rd_state_count(tbl), 3);
}
END_TEST

START_TEST(memory_accounting_grows_with_states)
{
	size_t base = rd_state_memory(tbl);
	ck_assert_uint_gt(base, 0);
	for (uint32_t i = 0; i < 5000; i++)
		udp_state(C + i, 1, S, 53, RD_STATE_RULE_NONE);
	ck_assert_uint_gt(rd_state_memory(tbl), base + 5000 * sizeof(struct rd_state));
}
END_TEST

START_TEST(index_growth_moves_entries_a_few_at_a_time_and_loses_none)
{
	enum { N = 50000 };
	bool seen_migration = false;
	for (uint32_t i = 0; i < N; i++) {
		struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C + i, 1, S, 53);
		ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, NULL), 0);
		if (tbl->kidx.old.chunks != NULL) {
			/* a growth is in progress: both tables hold entries */
			ck_assert_uint_gt(tbl->kidx.old.count, 0);
			ck_assert_uint_gt(tbl->kidx.cur.count, 0);
			ck_assert_uint_eq(tbl->kidx.old.count + tbl->kidx.cur.count, i + 1);
			seen_migration = true;
		}
		/* every fourth step: an earlier state is still found by key and by id */
		if (i % 4 == 0) {
			uint32_t j = (i * 2654435761u) % (i + 1);
			struct rd_state_pkt q = mkpkt(17, RD_STATE_OUT, S, 53, C + j, 1);
			struct rd_state_key k;
			rd_state_key_from_pkt(&q, &k);
			struct rd_state *st = rd_state_lookup(tbl, &k, RD_STATE_OUT, 0, T0);
			ck_assert_ptr_nonnull(st);
			ck_assert_ptr_eq(rd_state_find_id(tbl, st->id, st->creatorid, T0), st);
		}
	}
	ck_assert(seen_migration);
	/* expiry calls finish a pending migration, and removal works across both */
	while (tbl->kidx.old.chunks != NULL || tbl->ididx.old.chunks != NULL)
		rd_state_purge(tbl, T0, 1);
	ck_assert_uint_eq(rd_state_count(tbl), N);
	ck_assert_uint_eq(rd_state_purge(tbl, T0 + 3600 * RD_SEC, 2 * N), N);
	ck_assert_uint_eq(tbl->kidx.cur.count, 0);
	ck_assert_uint_eq(tbl->ididx.cur.count, 0);
}
END_TEST

Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("table");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, key_of_reply_in_opposite_direction_equals_original);
	tcase_add_test(tc, key_of_reversed_tuple_same_direction_differs);
	tcase_add_test(tc, key_of_icmp_echo_reply_equals_request);
	tcase_add_test(tc, lookup_finds_state_from_both_directions);
	tcase_add_test(tc, burst_lookup_matches_single_lookups);
	tcase_add_test(tc, reserved_table_takes_its_hint_of_states_without_allocating);
	tcase_add_test(tc, nat_state_matches_wire_key_inbound_and_stack_key_outbound);
	tcase_add_test(tc, ids_are_unique_and_carry_the_table_creatorid);
	tcase_add_test(tc, if_bound_state_matches_only_its_interface);
	tcase_add_test(tc, if_bound_state_preferred_over_floating);
	tcase_add_test(tc, default_timeouts_are_pfs);
	tcase_add_test(tc, state_expires_after_its_timeout);
	tcase_add_test(tc, handle_expiry_sweeps_the_whole_table_in_slices_every_interval);
	tcase_add_test(tc, handle_expiry_before_its_time_does_nothing_and_keeps_live_states);
	tcase_add_test(tc, stats_copy_counters_and_name_them_as_pfctl);
	tcase_add_test(tc, packet_refreshes_expiry);
	tcase_add_test(tc, set_timeout_changes_table_timeouts);
	tcase_add_test(tc, rule_timeout_overrides_table_and_zero_inherits);
	tcase_add_test(tc, set_rule_gives_one_state_its_own_timeouts);
	tcase_add_test(tc, adaptive_timeouts_scale_linearly_between_start_and_end);
	tcase_add_test(tc, adaptive_end_reached_makes_states_expire_until_below_end);
	tcase_add_test(tc, rule_adaptive_uses_the_rule_state_count);
	tcase_add_test(tc, global_limit_refuses_with_memory_reason);
	tcase_add_test(tc, rule_max_refuses_with_state_limit_reason);
	tcase_add_test(tc, attach_refusal_counts_src_limit_and_inserts_nothing);
	tcase_add_test(tc, key_collision_counts_state_insert);
	tcase_add_test(tc, expired_state_gives_way_to_a_new_one);
	tcase_add_test(tc, packets_and_bytes_counted_per_direction);
	tcase_add_test(tc, expire_does_bounded_work_per_call_and_finishes);
	tcase_add_test(tc, events_report_insert_update_and_remove);
	tcase_add_test(tc, iteration_visits_each_surviving_state_once_while_table_changes);
	tcase_add_test(tc, kill_by_source_prefix_removes_only_matching);
	tcase_add_test(tc, kill_by_destination_and_rule);
	tcase_add_test(tc, kill_source_of_outbound_state_is_its_initiator);
	tcase_add_test(tc, export_then_import_reproduces_the_state);
	tcase_add_test(tc, import_of_known_id_updates_in_place);
	tcase_add_test(tc, import_colliding_with_another_state_counts_state_insert);
	tcase_add_test(tc, import_older_than_the_clock_keeps_age_and_expiry);
	tcase_add_test(tc, import_local_is_ours_and_counted_half_open);
	tcase_add_test(tc, memory_accounting_grows_with_states);
	tcase_add_test(tc, index_growth_moves_entries_a_few_at_a_time_and_loses_none);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (rd_init() != 0)
		return EXIT_FAILURE;
	SRunner *sr = srunner_create(state_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
