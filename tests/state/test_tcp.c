/*
 * TCP tracking, one pf rule a test (pf_tcp_track_full, pf_tcp_track_sloppy,
 * pf_test_state's SYN handling), plus the UDP/other/ICMP pseudo-states and
 * ICMP errors. The expected numbers are worked out from pf's algorithm in
 * the comments.
 */
#include <check.h>
#include <stdlib.h>

#include "helpers.h"

#define C      0x0a000001u
#define S      0x0a000002u
#define T0     (10 * RD_SEC)
#define MAXACK (0xffff + 1500)

static uint64_t seed;
static struct rd_state_table *tbl;
static struct rd_state *st;
static struct rd_state_result res;
static int hook_ret;
static int hook_calls;
static void (*hook_inside)(struct rd_state *s, rd_time_t now); /* runs inside the hook */

static int established_hook(void *user, struct rd_state *s, rd_time_t now)
{
	(void)user;
	hook_calls++;
	if (hook_inside != NULL)
		hook_inside(s, now);
	return hook_ret;
}

static void setup(void)
{
	struct rd_state_config cfg;
	rd_state_config_default(&cfg);
	seed = 7;
	cfg.random.fn = test_random;
	cfg.random.user = &seed;
	cfg.cb.established = established_hook;
	hook_ret = 0;
	hook_calls = 0;
	hook_inside = NULL;
	ck_assert_int_eq(rd_state_table_new(&cfg, &tbl), 0);
	st = NULL;
}

static void teardown(void)
{
	rd_state_table_free(tbl, 0);
}

/* client -> server packet (inbound) and server -> client (outbound) */
static int cli(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, uint32_t len)
{
	struct rd_state_pkt p = mktcp(RD_STATE_IN, C, 1234, S, 80, flags, seq, ack, win, len);
	return rd_state_packet(tbl, &p, T0, &res);
}

static int srv(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, uint32_t len)
{
	struct rd_state_pkt p = mktcp(RD_STATE_OUT, S, 80, C, 1234, flags, seq, ack, win, len);
	return rd_state_packet(tbl, &p, T0, &res);
}

/* The client's SYN (ISN 1000) creates the state, as a "pass in ... keep state" rule. */
static void open_syn(uint8_t flags_extra, int8_t wscale)
{
	struct rd_state_pkt p =
	    mktcp(RD_STATE_IN, C, 1234, S, 80, RD_TH_SYN | flags_extra, 1000, 0, 65535, 0);
	p.wscale = wscale;
	struct rd_state_opts o = {.rule = RD_STATE_RULE_NONE};
	if (flags_extra == 0xff) {
		p.tcp_flags = RD_TH_SYN;
		o.flags = RD_STATE_F_SLOPPY;
	}
	ck_assert_int_eq(rd_state_create(tbl, &p, &o, T0, &st), 0);
}

/* SYN, SYN|ACK (ISN 5000), ACK: both ESTABLISHED. */
static void handshake(void)
{
	open_syn(0, -1);
	ck_assert_int_eq(srv(RD_TH_SYN | RD_TH_ACK, 5000, 1001, 65535, 0), RD_STATE_PASS);
	ck_assert_int_eq(cli(RD_TH_ACK, 1001, 5001, 65535, 0), RD_STATE_PASS);
}

static uint64_t reason(int r)
{
	uint64_t c[RD_STATE_STAT_COUNT];
	rd_state_stats(tbl, c);
	return c[RD_STATE_STAT_RES(r)];
}

START_TEST(syn_creates_syn_sent_closed_with_first_timeout)
{
	open_syn(0, -1);
	ck_assert_uint_eq(st->src.state, RD_TCPS_SYN_SENT);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_CLOSED);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_TCP_FIRST_PACKET);
	/* seqhi = seq + len + 1, +1 more for the SYN */
	ck_assert_uint_eq(st->src.seqlo, 1000);
	ck_assert_uint_eq(st->src.seqhi, 1002);
	ck_assert_uint_eq(st->dst.seqhi, 1);
	ck_assert_uint_eq(st->dst.max_win, 1);
	ck_assert_uint_eq(rd_state_count_halfopen(tbl), 1);
}
END_TEST

START_TEST(syn_ack_moves_client_established_and_timeout_opening)
{
	open_syn(0, -1);
	ck_assert_int_eq(srv(RD_TH_SYN | RD_TH_ACK, 5000, 1001, 65535, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.state, RD_TCPS_ESTABLISHED);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_SYN_SENT);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_TCP_OPENING);
	/* the server's window opened to the SYN end plus the client's window */
	ck_assert_uint_eq(st->dst.seqlo, 5001);
	ck_assert_uint_eq(st->dst.seqhi, 5001 + 65535);
	ck_assert_uint_eq(st->src.seqhi, 1001 + 65535);
	ck_assert_uint_eq(res.flags & RD_STATE_R_ESTABLISHED, 0);
}
END_TEST

START_TEST(final_ack_establishes_and_reports_handshake_completion)
{
	handshake();
	ck_assert_uint_eq(st->src.state, RD_TCPS_ESTABLISHED);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_ESTABLISHED);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_TCP_ESTABLISHED);
	ck_assert(res.flags & RD_STATE_R_ESTABLISHED);
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_uint_eq(rd_state_count_halfopen(tbl), 0);
}
END_TEST

START_TEST(established_hook_refusal_drops_and_removes_state)
{
	hook_ret = 1;
	open_syn(0, -1);
	srv(RD_TH_SYN | RD_TH_ACK, 5000, 1001, 65535, 0);
	ck_assert_int_eq(cli(RD_TH_ACK, 1001, 5001, 65535, 0), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_SRCLIMIT);
	ck_assert_uint_eq(reason(RD_STATE_RES_SRCLIMIT), 1);
	ck_assert_uint_eq(rd_state_count(tbl), 0);
}
END_TEST

/*
 * A state inside its own established hook cannot be removed (removals skip
 * it). An insertion made from the hook on that state's key, at a time the
 * state has expired, must be refused as state-insert: the collision walk
 * used to remove the expired holder, find it still there and start over,
 * forever.
 */
#define T_LATE (T0 + 90000 * RD_SEC) /* past tcp.established's 86400 s */

static int nested_rc;

static void create_same_key_late(struct rd_state *s, rd_time_t now)
{
	struct rd_state_pkt p = mktcp(RD_STATE_IN, C, 1234, S, 80, RD_TH_SYN, 9000, 0, 65535, 0);
	(void)now;
	ck_assert_uint_le(rd_state_expires(tbl, s), T_LATE);
	nested_rc = rd_state_create(tbl, &p, NULL, T_LATE, NULL);
}

static void import_same_state_late(struct rd_state *s, rd_time_t now)
{
	struct rd_state_info info;
	rd_state_export(tbl, s, now, &info);
	nested_rc = rd_state_import(tbl, &info, T_LATE, NULL);
}

/* The same (id, creatorid) with other ports: only the id lookup finds it. */
static void import_same_id_other_key_late(struct rd_state *s, rd_time_t now)
{
	struct rd_state_info info;
	rd_state_export(tbl, s, now, &info);
	info.wire.port[0] ^= 1;
	info.stack.port[0] ^= 1;
	nested_rc = rd_state_import(tbl, &info, T_LATE, NULL);
}

START_TEST(create_from_established_hook_over_its_expired_state_is_state_insert)
{
	hook_inside = create_same_key_late;
	nested_rc = 1;
	handshake();
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_int_eq(nested_rc, RD_ERR_EXIST);
	ck_assert_uint_eq(reason(RD_STATE_RES_STATEINS), 1);
	ck_assert_uint_eq(rd_state_count(tbl), 1);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_ESTABLISHED);
	/* outside the hook the expired state gives way as usual */
	hook_inside = NULL;
	struct rd_state_pkt p = mktcp(RD_STATE_IN, C, 1234, S, 80, RD_TH_SYN, 9000, 0, 65535, 0);
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T_LATE, NULL), 0);
	ck_assert_uint_eq(rd_state_count(tbl), 1);
	ck_assert_uint_eq(reason(RD_STATE_RES_STATEINS), 1);
}
END_TEST

START_TEST(import_from_established_hook_of_its_expired_state_is_state_insert)
{
	hook_inside = import_same_state_late;
	nested_rc = 1;
	handshake();
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_int_eq(nested_rc, RD_ERR_EXIST);
	ck_assert_uint_eq(reason(RD_STATE_RES_STATEINS), 1);
	ck_assert_uint_eq(rd_state_count(tbl), 1);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_ESTABLISHED);
}
END_TEST

/*
 * The expired state found by (id, creatorid) cannot be removed from inside
 * its hook either; with other keys no collision stops the insert, which
 * used to add a second state with the same (id, creatorid).
 */
START_TEST(import_from_established_hook_of_its_id_with_other_keys_is_state_insert)
{
	hook_inside = import_same_id_other_key_late;
	nested_rc = 1;
	handshake();
	ck_assert_int_eq(hook_calls, 1);
	ck_assert_int_eq(nested_rc, RD_ERR_EXIST);
	ck_assert_uint_eq(reason(RD_STATE_RES_STATEINS), 1);
	ck_assert_uint_eq(rd_state_count(tbl), 1);
	ck_assert_ptr_eq(rd_state_find_id(tbl, st->id, st->creatorid, T0), st);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_ESTABLISHED);
}
END_TEST

START_TEST(data_within_window_advances_seqlo)
{
	handshake();
	ck_assert_int_eq(cli(RD_TH_ACK | RD_TH_PSH, 1001, 5001, 65535, 100), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.seqlo, 1101);
	ck_assert_uint_eq(st->src.max_win, 65535);
}
END_TEST

START_TEST(cond1_data_beyond_receiver_window_is_state_mismatch)
{
	handshake();
	/* client's seqhi is 1001 + 65535; this segment ends 100 bytes past it */
	ck_assert_int_eq(cli(RD_TH_ACK, 1001 + 65535, 5001, 65535, 100), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
	ck_assert_uint_eq(reason(RD_STATE_RES_BADSTATE), 1);
	ck_assert_str_eq(rd_state_reason_name(RD_STATE_RES_BADSTATE), "state-mismatch");
}
END_TEST

START_TEST(cond2_retransmit_more_than_a_window_back_is_dropped)
{
	handshake();
	cli(RD_TH_ACK, 1001, 5001, 65535, 100); /* seqlo 1101 */
	/* one window back from seqlo is 1101 - 65535 (server max_win); go 10 further */
	ck_assert_int_eq(cli(RD_TH_ACK, 1101 - 65535 - 10, 5001, 65535, 5), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
	/* exactly one window back is still accepted */
	ck_assert_int_eq(cli(RD_TH_ACK, 1101 - 65535, 5001, 65535, 5), RD_STATE_PASS);
}
END_TEST

START_TEST(cond3_ack_beyond_what_the_peer_sent_is_dropped)
{
	handshake();
	/* server's seqlo is 5001: ackskew = 5001 - ack must be >= -MAXACKWINDOW */
	ck_assert_int_eq(cli(RD_TH_ACK, 1001, 5001 + MAXACK + 1, 65535, 0), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
	ck_assert_int_eq(cli(RD_TH_ACK, 1001, 5001 + MAXACK, 65535, 0), RD_STATE_PASS);
}
END_TEST

START_TEST(cond4_ack_more_than_a_window_behind_is_dropped)
{
	handshake();
	ck_assert_int_eq(cli(RD_TH_ACK, 1001, 5001 - MAXACK - 1, 65535, 0), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
	ck_assert_int_eq(cli(RD_TH_ACK, 1001, 5001 - MAXACK, 65535, 0), RD_STATE_PASS);
}
END_TEST

START_TEST(rst_at_exact_sequence_moves_both_time_wait_and_closed_timeout)
{
	handshake();
	/* client seqlo is 1000 (pure ACKs do not advance it); seqlo + 1 is exact */
	ck_assert_int_eq(cli(RD_TH_RST, 1001, 0, 0, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.state, RD_TCPS_TIME_WAIT);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_TIME_WAIT);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_TCP_CLOSED);
}
END_TEST

START_TEST(rst_inside_window_but_not_exact_is_dropped)
{
	handshake();
	ck_assert_int_eq(cli(RD_TH_RST, 1001 + 5000, 0, 0, 0), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
	ck_assert_uint_eq(st->src.state, RD_TCPS_ESTABLISHED);
}
END_TEST

START_TEST(rst_ack_acking_exactly_the_peer_is_accepted)
{
	handshake();
	/* RST|ACK with ack == peer seqlo (ackskew 0), seq not past seqlo + 1 */
	ck_assert_int_eq(cli(RD_TH_RST | RD_TH_ACK, 990, 5001, 0, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.state, RD_TCPS_TIME_WAIT);
}
END_TEST

START_TEST(rst_ack_more_than_a_window_back_is_dropped)
{
	handshake();
	/* ack exact, but the sequence lies before seqlo - max_win */
	ck_assert_int_eq(cli(RD_TH_RST | RD_TH_ACK, 1000 - 65535 - 1, 5001, 0, 0), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
}
END_TEST

START_TEST(rst_ack_with_inexact_ack_is_dropped)
{
	handshake();
	ck_assert_int_eq(cli(RD_TH_RST | RD_TH_ACK, 990, 5000, 0, 0), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
}
END_TEST

START_TEST(fin_close_sequence_walks_closing_finwait_closed)
{
	handshake();
	ck_assert_int_eq(cli(RD_TH_FIN | RD_TH_ACK, 1001, 5001, 65535, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.state, RD_TCPS_CLOSING);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_TCP_CLOSING);
	ck_assert_int_eq(srv(RD_TH_FIN | RD_TH_ACK, 5001, 1002, 65535, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.state, RD_TCPS_FIN_WAIT_2);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_CLOSING);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_TCP_FIN_WAIT);
	ck_assert_int_eq(cli(RD_TH_ACK, 1002, 5002, 65535, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_FIN_WAIT_2);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_TCP_CLOSED);
}
END_TEST

START_TEST(syn_on_closed_connection_reuses_the_key)
{
	handshake();
	cli(RD_TH_FIN | RD_TH_ACK, 1001, 5001, 65535, 0);
	srv(RD_TH_FIN | RD_TH_ACK, 5001, 1002, 65535, 0);
	cli(RD_TH_ACK, 1002, 5002, 65535, 0);
	ck_assert_int_eq(cli(RD_TH_SYN, 90000, 0, 65535, 0), RD_STATE_NOSTATE);
	ck_assert(res.flags & RD_STATE_R_REUSED);
	ck_assert_uint_eq(rd_state_count(tbl), 0);
	struct rd_state_pkt p = mktcp(RD_STATE_IN, C, 1234, S, 80, RD_TH_SYN, 90000, 0, 65535, 0);
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, NULL), 0);
}
END_TEST

START_TEST(create_over_closed_connection_replaces_it)
{
	handshake();
	cli(RD_TH_RST, 1001, 0, 0, 0); /* both TIME_WAIT, past FIN_WAIT_2 */
	struct rd_state_pkt p = mktcp(RD_STATE_IN, C, 1234, S, 80, RD_TH_SYN, 90000, 0, 65535, 0);
	struct rd_state *n;
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, &n), 0);
	ck_assert_uint_eq(rd_state_count(tbl), 1);
	ck_assert_uint_eq(n->src.seqlo, 90000);
	ck_assert_uint_eq(reason(RD_STATE_RES_STATEINS), 0);
}
END_TEST

START_TEST(syn_on_established_connection_is_challenged_not_counted)
{
	handshake();
	ck_assert_int_eq(cli(RD_TH_SYN, 77777, 0, 65535, 0), RD_STATE_DROP);
	ck_assert(res.flags & RD_STATE_R_CHALLENGE);
	ck_assert_uint_eq(reason(RD_STATE_RES_BADSTATE), 0);
	ck_assert_uint_eq(st->src.state, RD_TCPS_ESTABLISHED);
}
END_TEST

START_TEST(loose_fallback_passes_without_refreshing_expiry)
{
	open_syn(0, -1);
	/* server never answered (dst CLOSED): 1000 bytes past seqhi 1002 pass loosely */
	struct rd_state_pkt p = mktcp(RD_STATE_IN, C, 1234, S, 80, RD_TH_ACK, 1001, 0, 65535, 1000);
	ck_assert_int_eq(rd_state_packet(tbl, &p, T0 + 5 * RD_SEC, &res), RD_STATE_PASS);
	ck_assert(res.flags & RD_STATE_R_LOOSE);
	ck_assert_uint_eq(st->last, T0);
	ck_assert_uint_eq(st->src.seqlo, 2001);
}
END_TEST

START_TEST(window_scaling_applies_when_both_sides_sent_the_option)
{
	open_syn(0, 7);
	/* initial window unscaled: (65535 + 127) >> 7 */
	ck_assert_uint_eq(st->src.max_win, 512);
	struct rd_state_pkt p =
	    mktcp(RD_STATE_OUT, S, 80, C, 1234, RD_TH_SYN | RD_TH_ACK, 5000, 1001, 65535, 0);
	p.wscale = 8;
	ck_assert_int_eq(rd_state_packet(tbl, &p, T0, &res), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.wscale, RD_STATE_WSCALE_FLAG | 7);
	ck_assert_uint_eq(st->dst.wscale, RD_STATE_WSCALE_FLAG | 8);
	ck_assert_uint_eq(st->dst.max_win, 256);
	cli(RD_TH_ACK, 1001, 5001, 512, 0);
	/* the server advertises 1000 << 8 = 256000 bytes */
	ck_assert_int_eq(srv(RD_TH_ACK, 5001, 1001, 1000, 0), RD_STATE_PASS);
	ck_assert_int_eq(cli(RD_TH_ACK, 1001 + 200000, 5001, 512, 100), RD_STATE_PASS);
}
END_TEST

START_TEST(window_scaling_off_when_reply_lacks_the_option)
{
	open_syn(0, 7);
	ck_assert_int_eq(srv(RD_TH_SYN | RD_TH_ACK, 5000, 1001, 65535, 0), RD_STATE_PASS);
	/* the client's scale is dropped and its window re-expanded (capped at 65535) */
	ck_assert_uint_eq(st->src.wscale, 0);
	ck_assert_uint_eq(st->src.max_win, 65535);
	cli(RD_TH_ACK, 1001, 5001, 512, 0);
	srv(RD_TH_ACK, 5001, 1001, 1000, 0);
	ck_assert_int_eq(cli(RD_TH_ACK, 1001 + 200000, 5001, 512, 100), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
}
END_TEST

START_TEST(sloppy_ack_after_syn_establishes_one_sided_connection)
{
	open_syn(0xff, -1);
	ck_assert(st->flags & RD_STATE_F_SLOPPY);
	ck_assert_int_eq(cli(RD_TH_ACK, 1001, 5001, 65535, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.state, RD_TCPS_ESTABLISHED);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_ESTABLISHED);
	ck_assert(res.flags & RD_STATE_R_ESTABLISHED);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_TCP_ESTABLISHED);
}
END_TEST

START_TEST(sloppy_skips_sequence_checks)
{
	open_syn(0xff, -1);
	cli(RD_TH_ACK, 1001, 5001, 65535, 0);
	ck_assert_int_eq(cli(RD_TH_ACK, 0x80000000u, 12345, 65535, 100), RD_STATE_PASS);
	ck_assert_int_eq(cli(RD_TH_RST, 42, 0, 0, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.state, RD_TCPS_TIME_WAIT);
}
END_TEST

START_TEST(sloppy_half_close_moves_unseen_peer_to_closing)
{
	open_syn(0xff, -1);
	cli(RD_TH_ACK, 1001, 5001, 65535, 0);
	/* the server side was never seen (seqlo 0): the client's FIN|ACK closes both */
	ck_assert_int_eq(cli(RD_TH_FIN | RD_TH_ACK, 1001, 5001, 65535, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->src.state, RD_TCPS_CLOSING);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_CLOSING);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_TCP_FIN_WAIT);
}
END_TEST

START_TEST(simultaneous_open_mismatch_resets_the_sender_side)
{
	open_syn(0, -1);
	/* the server also sends a SYN (no ACK): both SYN_SENT */
	ck_assert_int_eq(srv(RD_TH_SYN, 5000, 0, 65535, 0), RD_STATE_PASS);
	ck_assert_uint_eq(st->dst.state, RD_TCPS_SYN_SENT);
	/* a server segment far outside every window */
	ck_assert_int_eq(srv(RD_TH_ACK, 5000 + 0x40000000u, 1001, 65535, 10), RD_STATE_DROP);
	ck_assert(res.flags & RD_STATE_R_SYN_RESET);
	ck_assert_uint_eq(st->dst.seqlo, 0);
	ck_assert_uint_eq(st->dst.seqhi, 1);
}
END_TEST

START_TEST(udp_single_then_multiple)
{
	struct rd_state_pkt p = mkpkt(17, RD_STATE_IN, C, 5000, S, 53);
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, &st), 0);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_UDP_FIRST_PACKET);
	ck_assert_uint_eq(st->src.state, RD_UDPS_SINGLE);
	ck_assert_uint_eq(st->dst.state, RD_UDPS_NO_TRAFFIC);
	ck_assert_int_eq(rd_state_packet(tbl, &p, T0, &res), RD_STATE_PASS);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_UDP_SINGLE);
	struct rd_state_pkt r = mkpkt(17, RD_STATE_OUT, S, 53, C, 5000);
	ck_assert_int_eq(rd_state_packet(tbl, &r, T0, &res), RD_STATE_PASS);
	ck_assert_uint_eq(st->dst.state, RD_UDPS_SINGLE);
	ck_assert_uint_eq(st->src.state, RD_UDPS_MULTIPLE);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_UDP_SINGLE);
	ck_assert_int_eq(rd_state_packet(tbl, &p, T0, &res), RD_STATE_PASS);
	ck_assert_uint_eq(st->dst.state, RD_UDPS_MULTIPLE);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_UDP_MULTIPLE);
}
END_TEST

START_TEST(other_protocol_single_then_multiple)
{
	struct rd_state_pkt p = mkpkt(47, RD_STATE_IN, C, 0, S, 0);
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, &st), 0);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_OTHER_FIRST_PACKET);
	struct rd_state_pkt r = mkpkt(47, RD_STATE_OUT, S, 0, C, 0);
	rd_state_packet(tbl, &r, T0, &res);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_OTHER_SINGLE);
	rd_state_packet(tbl, &p, T0, &res);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_OTHER_MULTIPLE);
}
END_TEST

START_TEST(icmp_echo_reply_matches_and_sets_error_timeout)
{
	struct rd_state_pkt p = mkpkt(1, RD_STATE_IN, C, 0, S, 0);
	p.icmp_type = 8;
	p.icmp_id = 99;
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, &st), 0);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_ICMP_FIRST_PACKET);
	struct rd_state_pkt r = mkpkt(1, RD_STATE_OUT, S, 0, C, 0);
	r.icmp_type = 0;
	r.icmp_id = 99;
	ck_assert_int_eq(rd_state_packet(tbl, &r, T0, &res), RD_STATE_PASS);
	ck_assert_ptr_eq(res.st, st);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_ICMP_ERROR_REPLY);
}
END_TEST

static struct rd_state_pkt icmp_error_for(uint32_t inner_seq)
{
	/* a router on the server side reports the client's segment back to it */
	struct rd_state_pkt e = mkpkt(1, RD_STATE_OUT, 0x0a0000feu, 0, C, 0);
	e.icmp_type = 3;
	e.icmp_code = 4;
	e.icmp_err = 1;
	e.inner.src = rd_addr_v4(C);
	e.inner.dst = rd_addr_v4(S);
	e.inner.proto = 6;
	e.inner.sport = 1234;
	e.inner.dport = 80;
	e.inner.seq = inner_seq;
	return e;
}

START_TEST(icmp_error_quoting_tcp_in_window_passes)
{
	handshake();
	struct rd_state_pkt e = icmp_error_for(1001);
	ck_assert_int_eq(rd_state_packet(tbl, &e, T0, &res), RD_STATE_PASS);
	ck_assert(res.flags & RD_STATE_R_ICMP_ERR);
	ck_assert_ptr_eq(res.st, st);
}
END_TEST

START_TEST(icmp_error_quoting_tcp_out_of_window_is_state_mismatch)
{
	handshake();
	struct rd_state_pkt e = icmp_error_for(1001 + 100000);
	ck_assert_int_eq(rd_state_packet(tbl, &e, T0, &res), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
}
END_TEST

START_TEST(icmp_error_not_addressed_to_quoted_sender_is_state_mismatch)
{
	handshake();
	struct rd_state_pkt e = icmp_error_for(1001);
	e.dst = rd_addr_v4(0x0a000063u);
	ck_assert_int_eq(rd_state_packet(tbl, &e, T0, &res), RD_STATE_DROP);
	ck_assert_int_eq(res.reason, RD_STATE_RES_BADSTATE);
}
END_TEST

START_TEST(icmp_request_against_the_state_direction_is_dropped)
{
	struct rd_state_pkt p = mkpkt(1, RD_STATE_IN, C, 0, S, 0);
	p.icmp_type = 8;
	p.icmp_id = 8; /* id == type: a request from the other side builds the same key */
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, &st), 0);
	struct rd_state_pkt q = mkpkt(1, RD_STATE_OUT, S, 0, C, 0);
	q.icmp_type = 8;
	q.icmp_id = 8;
	ck_assert_int_eq(rd_state_packet(tbl, &q, T0, &res), RD_STATE_DROP);
	ck_assert_ptr_eq(res.st, st);
	ck_assert_uint_eq(st->timeout, RD_STATE_TM_ICMP_FIRST_PACKET);
}
END_TEST

START_TEST(icmp_error_quoting_an_echo_request_matches_the_icmp_state)
{
	/* the client pings the server; a router beyond reports TTL exceeded */
	struct rd_state_pkt p = mkpkt(1, RD_STATE_IN, C, 0, S, 0);
	p.icmp_type = 8;
	p.icmp_id = 99;
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, &st), 0);
	struct rd_state_pkt e = mkpkt(1, RD_STATE_OUT, 0x0a0000feu, 0, C, 0);
	e.icmp_type = 11;
	e.icmp_err = 1;
	e.inner.src = rd_addr_v4(C);
	e.inner.dst = rd_addr_v4(S);
	e.inner.proto = 1;
	e.inner.sport = 99; /* quoted ICMP: the id */
	e.inner.dport = 8;  /* quoted ICMP: the type */
	ck_assert_int_eq(rd_state_packet(tbl, &e, T0, &res), RD_STATE_PASS);
	ck_assert(res.flags & RD_STATE_R_ICMP_ERR);
	ck_assert_ptr_eq(res.st, st);
	/* another id is another conversation */
	e.inner.sport = 100;
	ck_assert_int_eq(rd_state_packet(tbl, &e, T0, &res), RD_STATE_NOSTATE);
}
END_TEST

START_TEST(icmp_error_quoting_a_request_against_the_state_direction_is_dropped)
{
	struct rd_state_pkt p = mkpkt(1, RD_STATE_IN, C, 0, S, 0);
	p.icmp_type = 8;
	p.icmp_id = 8; /* id == type: a request from the server builds the same key */
	ck_assert_int_eq(rd_state_create(tbl, &p, NULL, T0, &st), 0);
	/* an error about a request from the server, sent back to the server */
	struct rd_state_pkt e = mkpkt(1, RD_STATE_IN, 0x0a0000feu, 0, S, 0);
	e.icmp_type = 11;
	e.icmp_err = 1;
	e.inner.src = rd_addr_v4(S);
	e.inner.dst = rd_addr_v4(C);
	e.inner.proto = 1;
	e.inner.sport = 8;
	e.inner.dport = 8;
	ck_assert_int_eq(rd_state_packet(tbl, &e, T0, &res), RD_STATE_DROP);
	ck_assert_ptr_eq(res.st, st);
	/* the same error about the server's echo reply is fine */
	e.inner.dport = 0;
	ck_assert_int_eq(rd_state_packet(tbl, &e, T0, &res), RD_STATE_PASS);
}
END_TEST

START_TEST(icmp_error_for_unknown_connection_is_nostate)
{
	struct rd_state_pkt e = icmp_error_for(1);
	ck_assert_int_eq(rd_state_packet(tbl, &e, T0, &res), RD_STATE_NOSTATE);
}
END_TEST

/* pf's class for (a, b) and for (b, a): the rule does not care who sent. */
static void assert_class(uint8_t proto, uint8_t a, uint8_t b, uint8_t want)
{
	ck_assert_uint_eq(rd_state_timeout_class(proto, a, b), want);
	ck_assert_uint_eq(rd_state_timeout_class(proto, b, a), want);
}

START_TEST(timeout_class_tcp_closed_needs_both_peers_past_fin_wait_2)
{
	assert_class(6, RD_TCPS_FIN_WAIT_2, RD_TCPS_FIN_WAIT_2, RD_STATE_TM_TCP_CLOSED);
	assert_class(6, RD_TCPS_TIME_WAIT, RD_TCPS_FIN_WAIT_2, RD_STATE_TM_TCP_CLOSED);
	assert_class(6, RD_TCPS_TIME_WAIT, RD_TCPS_TIME_WAIT, RD_STATE_TM_TCP_CLOSED);
	/* one peer a step short of FIN_WAIT_2 */
	assert_class(6, RD_TCPS_TIME_WAIT, RD_TCPS_LAST_ACK, RD_STATE_TM_TCP_FIN_WAIT);
}
END_TEST

START_TEST(timeout_class_tcp_fin_wait_needs_both_peers_past_closing)
{
	assert_class(6, RD_TCPS_CLOSING, RD_TCPS_CLOSING, RD_STATE_TM_TCP_FIN_WAIT);
	assert_class(6, RD_TCPS_LAST_ACK, RD_TCPS_FIN_WAIT_2, RD_STATE_TM_TCP_FIN_WAIT);
	/* one peer a step short of CLOSING */
	assert_class(6, RD_TCPS_TIME_WAIT, RD_TCPS_FIN_WAIT_1, RD_STATE_TM_TCP_CLOSING);
}
END_TEST

START_TEST(timeout_class_tcp_opening_while_either_peer_is_before_established)
{
	assert_class(6, RD_TCPS_CLOSED, RD_TCPS_CLOSED, RD_STATE_TM_TCP_OPENING);
	assert_class(6, RD_TCPS_SYN_SENT, RD_TCPS_CLOSED, RD_STATE_TM_TCP_OPENING);
	assert_class(6, RD_TCPS_ESTABLISHED, RD_TCPS_SYN_RECEIVED, RD_STATE_TM_TCP_OPENING);
	/* a half-open peer beside a closing one is still opening */
	assert_class(6, RD_TCPS_TIME_WAIT, RD_TCPS_SYN_RECEIVED, RD_STATE_TM_TCP_OPENING);
}
END_TEST

START_TEST(timeout_class_tcp_closing_once_one_established_peer_reaches_closing)
{
	assert_class(6, RD_TCPS_ESTABLISHED, RD_TCPS_CLOSING, RD_STATE_TM_TCP_CLOSING);
	assert_class(6, RD_TCPS_ESTABLISHED, RD_TCPS_TIME_WAIT, RD_STATE_TM_TCP_CLOSING);
	assert_class(6, RD_TCPS_FIN_WAIT_1, RD_TCPS_CLOSING, RD_STATE_TM_TCP_CLOSING);
}
END_TEST

START_TEST(timeout_class_tcp_established_up_to_fin_wait_1)
{
	assert_class(6, RD_TCPS_ESTABLISHED, RD_TCPS_ESTABLISHED, RD_STATE_TM_TCP_ESTABLISHED);
	assert_class(6, RD_TCPS_CLOSE_WAIT, RD_TCPS_ESTABLISHED, RD_STATE_TM_TCP_ESTABLISHED);
	assert_class(6, RD_TCPS_FIN_WAIT_1, RD_TCPS_FIN_WAIT_1, RD_STATE_TM_TCP_ESTABLISHED);
}
END_TEST

START_TEST(timeout_class_tcp_is_symmetric_for_every_state_pair)
{
	for (uint8_t a = RD_TCPS_CLOSED; a <= RD_TCPS_TIME_WAIT; a++)
		for (uint8_t b = RD_TCPS_CLOSED; b <= RD_TCPS_TIME_WAIT; b++) {
			uint8_t c = rd_state_timeout_class(6, a, b);
			ck_assert_uint_eq(c, rd_state_timeout_class(6, b, a));
			ck_assert_uint_ge(c, RD_STATE_TM_TCP_OPENING);
			ck_assert_uint_le(c, RD_STATE_TM_TCP_CLOSED);
		}
}
END_TEST

START_TEST(timeout_class_udp_multiple_only_when_both_peers_are_multiple)
{
	assert_class(17, RD_UDPS_MULTIPLE, RD_UDPS_MULTIPLE, RD_STATE_TM_UDP_MULTIPLE);
	assert_class(17, RD_UDPS_MULTIPLE, RD_UDPS_SINGLE, RD_STATE_TM_UDP_SINGLE);
	assert_class(17, RD_UDPS_SINGLE, RD_UDPS_NO_TRAFFIC, RD_STATE_TM_UDP_SINGLE);
	assert_class(17, RD_UDPS_MULTIPLE, RD_UDPS_NO_TRAFFIC, RD_STATE_TM_UDP_SINGLE);
}
END_TEST

START_TEST(timeout_class_other_protocols_use_the_other_classes)
{
	static const uint8_t protos[] = {47, 50, 132, 0, 255};
	for (unsigned i = 0; i < sizeof(protos); i++) {
		assert_class(protos[i], RD_UDPS_MULTIPLE, RD_UDPS_MULTIPLE,
		             RD_STATE_TM_OTHER_MULTIPLE);
		assert_class(protos[i], RD_UDPS_MULTIPLE, RD_UDPS_SINGLE, RD_STATE_TM_OTHER_SINGLE);
		assert_class(protos[i], RD_UDPS_SINGLE, RD_UDPS_NO_TRAFFIC,
		             RD_STATE_TM_OTHER_SINGLE);
	}
}
END_TEST

START_TEST(timeout_class_icmp_is_error_reply_whatever_the_peers)
{
	for (uint8_t a = RD_UDPS_NO_TRAFFIC; a <= RD_UDPS_MULTIPLE; a++)
		for (uint8_t b = RD_UDPS_NO_TRAFFIC; b <= RD_UDPS_MULTIPLE; b++) {
			ck_assert_uint_eq(rd_state_timeout_class(1, a, b),
			                  RD_STATE_TM_ICMP_ERROR_REPLY);
			ck_assert_uint_eq(rd_state_timeout_class(58, a, b),
			                  RD_STATE_TM_ICMP_ERROR_REPLY);
		}
}
END_TEST

START_TEST(first_timeout_is_the_protocols_first_packet_class)
{
	ck_assert_uint_eq(rd_state_first_timeout(6), RD_STATE_TM_TCP_FIRST_PACKET);
	ck_assert_uint_eq(rd_state_first_timeout(17), RD_STATE_TM_UDP_FIRST_PACKET);
	ck_assert_uint_eq(rd_state_first_timeout(1), RD_STATE_TM_ICMP_FIRST_PACKET);
	ck_assert_uint_eq(rd_state_first_timeout(58), RD_STATE_TM_ICMP_FIRST_PACKET);
	ck_assert_uint_eq(rd_state_first_timeout(47), RD_STATE_TM_OTHER_FIRST_PACKET);
}
END_TEST

Suite *tcp_suite(void)
{
	Suite *s = suite_create("state-tcp");
	TCase *tc = tcase_create("tracking");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, syn_creates_syn_sent_closed_with_first_timeout);
	tcase_add_test(tc, syn_ack_moves_client_established_and_timeout_opening);
	tcase_add_test(tc, final_ack_establishes_and_reports_handshake_completion);
	tcase_add_test(tc, established_hook_refusal_drops_and_removes_state);
	tcase_add_test(tc, data_within_window_advances_seqlo);
	tcase_add_test(tc, cond1_data_beyond_receiver_window_is_state_mismatch);
	tcase_add_test(tc, cond2_retransmit_more_than_a_window_back_is_dropped);
	tcase_add_test(tc, cond3_ack_beyond_what_the_peer_sent_is_dropped);
	tcase_add_test(tc, cond4_ack_more_than_a_window_behind_is_dropped);
	tcase_add_test(tc, rst_at_exact_sequence_moves_both_time_wait_and_closed_timeout);
	tcase_add_test(tc, rst_inside_window_but_not_exact_is_dropped);
	tcase_add_test(tc, rst_ack_acking_exactly_the_peer_is_accepted);
	tcase_add_test(tc, rst_ack_more_than_a_window_back_is_dropped);
	tcase_add_test(tc, rst_ack_with_inexact_ack_is_dropped);
	tcase_add_test(tc, fin_close_sequence_walks_closing_finwait_closed);
	tcase_add_test(tc, syn_on_closed_connection_reuses_the_key);
	tcase_add_test(tc, create_over_closed_connection_replaces_it);
	tcase_add_test(tc, syn_on_established_connection_is_challenged_not_counted);
	tcase_add_test(tc, loose_fallback_passes_without_refreshing_expiry);
	tcase_add_test(tc, window_scaling_applies_when_both_sides_sent_the_option);
	tcase_add_test(tc, window_scaling_off_when_reply_lacks_the_option);
	tcase_add_test(tc, sloppy_ack_after_syn_establishes_one_sided_connection);
	tcase_add_test(tc, sloppy_skips_sequence_checks);
	tcase_add_test(tc, sloppy_half_close_moves_unseen_peer_to_closing);
	tcase_add_test(tc, simultaneous_open_mismatch_resets_the_sender_side);
	tcase_add_test(tc, udp_single_then_multiple);
	tcase_add_test(tc, other_protocol_single_then_multiple);
	tcase_add_test(tc, icmp_echo_reply_matches_and_sets_error_timeout);
	tcase_add_test(tc, icmp_error_quoting_tcp_in_window_passes);
	tcase_add_test(tc, icmp_error_quoting_tcp_out_of_window_is_state_mismatch);
	tcase_add_test(tc, icmp_error_not_addressed_to_quoted_sender_is_state_mismatch);
	tcase_add_test(tc, icmp_request_against_the_state_direction_is_dropped);
	tcase_add_test(tc, icmp_error_for_unknown_connection_is_nostate);
	tcase_add_test(tc, icmp_error_quoting_an_echo_request_matches_the_icmp_state);
	tcase_add_test(tc, icmp_error_quoting_a_request_against_the_state_direction_is_dropped);
	suite_add_tcase(s, tc);
	/* a regression loops forever: fail in seconds, not at the default timeout */
	TCase *th = tcase_create("hook_reentry");
	tcase_add_checked_fixture(th, setup, teardown);
	tcase_set_timeout(th, 10);
	tcase_add_test(th, create_from_established_hook_over_its_expired_state_is_state_insert);
	tcase_add_test(th, import_from_established_hook_of_its_expired_state_is_state_insert);
	tcase_add_test(th, import_from_established_hook_of_its_id_with_other_keys_is_state_insert);
	suite_add_tcase(s, th);
	TCase *tm = tcase_create("timeout_class");
	tcase_add_test(tm, timeout_class_tcp_closed_needs_both_peers_past_fin_wait_2);
	tcase_add_test(tm, timeout_class_tcp_fin_wait_needs_both_peers_past_closing);
	tcase_add_test(tm, timeout_class_tcp_opening_while_either_peer_is_before_established);
	tcase_add_test(tm, timeout_class_tcp_closing_once_one_established_peer_reaches_closing);
	tcase_add_test(tm, timeout_class_tcp_established_up_to_fin_wait_1);
	tcase_add_test(tm, timeout_class_tcp_is_symmetric_for_every_state_pair);
	tcase_add_test(tm, timeout_class_udp_multiple_only_when_both_peers_are_multiple);
	tcase_add_test(tm, timeout_class_other_protocols_use_the_other_classes);
	tcase_add_test(tm, timeout_class_icmp_is_error_reply_whatever_the_peers);
	tcase_add_test(tm, first_timeout_is_the_protocols_first_packet_class);
	suite_add_tcase(s, tm);
	return s;
}

int main(void)
{
	if (rd_init() != 0)
		return EXIT_FAILURE;
	SRunner *sr = srunner_create(tcp_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
