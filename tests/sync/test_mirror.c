/*
 * Unit tests for the mirror of an external state table (redund/mirror.h),
 * over the in-memory table of examples/mirror-table (memtable.c): two
 * nodes back to back, a fake clock.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "memtable.h"

static rd_time_t now;
static struct mt_node A, B;

static void setup_with(const struct rd_mirror_config *tmpl)
{
	now = 1 * RD_SEC;
	ck_assert_int_eq(rd_init(), 0);
	ck_assert_int_eq(mt_node_init(&A, 0xaaaa0001, &now, tmpl), 0);
	ck_assert_int_eq(mt_node_init(&B, 0xbbbb0002, &now, tmpl), 0);
	mt_connect(&A, &B);
}

static void setup(void)
{
	setup_with(NULL);
}

static void teardown(void)
{
	mt_node_fini(&A);
	mt_node_fini(&B);
}

/* One counter of n's mirror (enum rd_mirror_stat). */
static uint64_t mstat(const struct mt_node *n, int which)
{
	uint64_t s[RD_MIRROR_STAT_COUNT];

	rd_mirror_stats(n->m, s);
	return s[which];
}

static uint64_t sent(const struct mt_node *n)
{
	uint64_t s[RD_SYNC_ENGINE_STAT_COUNT];

	rd_sync_engine_stats(n->e, s);
	return s[RD_SYNC_ENGINE_STAT_PKTS_OUT];
}

static struct rd_state *find(struct mt_node *n, const struct rd_state_info *i)
{
	return rd_state_lookup(n->t, &i->wire, RD_STATE_IN, 0, now);
}

START_TEST(local_insert_is_ours)
{
	struct rd_state_info c, c2;
	struct rd_state *st, *st2;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	c.src.state = RD_TCPS_SYN_SENT; /* half-open */
	c.dst.state = RD_TCPS_CLOSED;
	c.timeout = RD_STATE_TM_TCP_FIRST_PACKET;
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &c, now), RD_MIRROR_INSERTED);
	st = find(&A, &c);
	ck_assert_ptr_nonnull(st);
	ck_assert_uint_eq(st->creatorid, rd_state_creatorid(A.t));
	ck_assert_uint_ne(st->id, 0);
	ck_assert(!(st->flags & RD_STATE_F_REMOTE));
	ck_assert_uint_eq(rd_state_count_halfopen(A.t), 1); /* local: counted half-open */
	/* A second one gets the next id of the table. */
	mt_tcp(&c2, 0x0a000001, 0xc0a80002, 40001, 443);
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &c2, now), RD_MIRROR_INSERTED);
	st2 = find(&A, &c2);
	ck_assert_uint_eq(st2->id, st->id + 1);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_LOCAL_NEW), 2);
	/* Sent: B holds it under A's id and creatorid. */
	mt_pump(&A, &B);
	st2 = find(&B, &c);
	ck_assert_ptr_nonnull(st2);
	ck_assert_uint_eq(st2->creatorid, rd_state_creatorid(A.t));
	ck_assert_uint_eq(st2->id, find(&A, &c)->id);
}
END_TEST

/* A peer's insert is written once; its echo (at once or later) is never sent back. */
static void peer_insert_echo(int report)
{
	struct rd_state_info c;
	uint64_t before;

	B.ext.report = report;
	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_insert(&A.ext, &c, 3000);
	mt_pump(&A, &B);
	ck_assert_uint_eq(B.ext.writes, 1);
	ck_assert_ptr_nonnull(mt_find(&B.ext, &c.wire));
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_WRITTEN), 1);
	before = sent(&B);
	now += RD_SEC;
	mt_poll(&B.ext);
	mt_pump(&A, &B);
	ck_assert_uint_eq(sent(&B), before);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_ECHOES), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_LOCAL_UPDATE), 0);
	ck_assert_uint_eq(B.ext.writes, 1);
}

START_TEST(peer_insert_sync_echo)
{
	peer_insert_echo(MT_REPORT_SYNC);
}
END_TEST

START_TEST(peer_insert_queued_echo)
{
	peer_insert_echo(MT_REPORT_QUEUED);
}
END_TEST

/* A table that reports our delete from inside it: an echo, not a second removal. */
START_TEST(peer_delete_sync_echo)
{
	struct rd_state_info c;
	uint64_t before;

	B.ext.report = MT_REPORT_SYNC;
	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_insert(&A.ext, &c, 3000);
	mt_pump(&A, &B);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_ECHOES), 1);
	mt_delete(&A.ext, &c.wire);
	before = sent(&B);
	mt_pump(&A, &B);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_DELETED), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_ECHOES), 2);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_LOCAL_DESTROY), 0);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_UNKNOWN), 0);
	ck_assert_uint_eq(sent(&B), before);
	ck_assert_uint_eq(rd_state_count(B.t), 0);
}
END_TEST

/* A change of a peer's state with something new is not an echo: it is sent. */
START_TEST(peer_state_changed_locally_is_sent)
{
	struct rd_state_info c;
	uint64_t before;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_insert(&A.ext, &c, 3000);
	mt_pump(&A, &B);
	before = sent(&B);
	now += RD_SEC;
	ck_assert_int_eq(mt_update(&B.ext, &c.wire, RD_TCPS_FIN_WAIT_2, RD_TCPS_ESTABLISHED, 900),
	                 0);
	mt_pump(&A, &B);
	ck_assert_uint_gt(sent(&B), before);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_LOCAL_UPDATE), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_ECHOES), 0);
	ck_assert_uint_eq(mt_find(&A.ext, &c.wire)->info.src.state, RD_TCPS_FIN_WAIT_2);
	/* Its id stays the creator's. */
	ck_assert_uint_eq(find(&B, &c)->creatorid, rd_state_creatorid(A.t));
}
END_TEST

START_TEST(delete_both_ways)
{
	struct rd_state_info c, d;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_tcp(&d, 0x0a000003, 0xc0a80002, 40000, 443);
	mt_insert(&A.ext, &c, 3000);
	mt_insert(&B.ext, &d, 3000);
	mt_pump(&A, &B);
	ck_assert_uint_eq(mt_count(&A.ext), 2);
	ck_assert_uint_eq(mt_count(&B.ext), 2);
	/* A deletes its own: gone from B's table. */
	mt_delete(&A.ext, &c.wire);
	mt_pump(&A, &B);
	ck_assert_ptr_null(mt_find(&B.ext, &c.wire));
	ck_assert_ptr_null(find(&B, &c));
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_DELETED), 1);
	/* A deletes B's (the connection ended on A): gone from B's table too. */
	mt_delete(&A.ext, &d.wire);
	mt_pump(&A, &B);
	ck_assert_ptr_null(mt_find(&B.ext, &d.wire));
	ck_assert_ptr_null(find(&B, &d));
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_LOCAL_DESTROY), 2);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_DELETED), 2);
	/* And B deletes one of A's. */
	mt_insert(&A.ext, &c, 3000);
	mt_pump(&A, &B);
	mt_delete(&B.ext, &c.wire);
	mt_pump(&A, &B);
	ck_assert_ptr_null(mt_find(&A.ext, &c.wire));
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_DELETED), 1);
	/* A DESTROY of a key the mirror does not hold: ignored, counted. */
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_DESTROY, &c, now), RD_MIRROR_UNKNOWN);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_UNKNOWN), 1);
}
END_TEST

/*
 * B restarts while its table still holds A's connection (from B's previous
 * run) and one of its own: the bulk comes first, then the read, which
 * leaves A's to A and takes only the other as B's.
 */
START_TEST(dump_after_bulk)
{
	struct rd_state_info c, own;
	struct rd_state *st;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_tcp(&own, 0x0a000009, 0xc0a80002, 40000, 443);
	mt_insert(&A.ext, &c, 3000);
	ck_assert_int_eq(rd_mirror_start(A.m, false, now), 0);
	/* B's external table, filled before the mirror reports anything. */
	B.ext.mirror = NULL;
	mt_insert(&B.ext, &c, 3000);
	mt_insert(&B.ext, &own, 3000);
	B.ext.mirror = B.m;
	ck_assert_int_eq(rd_mirror_start(B.m, true, now), 0);
	ck_assert(rd_mirror_start_pending(B.m));
	ck_assert_int_eq(rd_mirror_start(B.m, true, now), RD_ERR_STATE);
	ck_assert_uint_eq(B.ext.dumps, 0);
	/* The bulk request is out; the read waits for its end. */
	ck_assert_uint_gt(rd_mirror_expiry(B.m), 0);
	mt_pump(&A, &B);
	for (int i = 0; i < 50 && rd_sync_engine_bulk_pending(B.e); i++) {
		now += 10 * RD_MSEC;
		rd_sync_engine_handle_expiry(A.e, now);
		rd_sync_engine_handle_expiry(B.e, now);
		mt_pump(&A, &B);
	}
	ck_assert(!rd_sync_engine_bulk_pending(B.e));
	ck_assert_uint_eq(rd_mirror_expiry(B.m), 0);
	rd_mirror_handle_expiry(B.m, now);
	ck_assert(!rd_mirror_start_pending(B.m));
	ck_assert_uint_eq(B.ext.dumps, 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_KNOWN), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_LOCAL_NEW), 1);
	st = find(&B, &c);
	ck_assert_uint_eq(st->creatorid, rd_state_creatorid(A.t));
	st = find(&B, &own);
	ck_assert_uint_eq(st->creatorid, rd_state_creatorid(B.t));
	/* A resync afterwards updates known keys instead (a change of A's is sent). */
	ck_assert_int_eq(rd_mirror_resync(B.m, now), 0);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_KNOWN), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_DUMPS), 2);
}
END_TEST

/* Without the rule (no bulk first), the same read would take A's key as B's. */
START_TEST(dump_without_bulk_takes_everything)
{
	struct rd_state_info c;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	B.ext.mirror = NULL;
	mt_insert(&B.ext, &c, 3000);
	B.ext.mirror = B.m;
	ck_assert_int_eq(rd_mirror_start(B.m, false, now), 0);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_LOCAL_NEW), 1);
	ck_assert_uint_eq(find(&B, &c)->creatorid, rd_state_creatorid(B.t));
}
END_TEST

/* Runs B's join bulk against A (answering, or not) until it ended, then the start-up read. */
static void b_joins(bool a_answers)
{
	ck_assert_int_eq(rd_mirror_start(B.m, true, now), 0);
	for (int i = 0; i < 4000 && rd_sync_engine_bulk_pending(B.e); i++) {
		now += 10 * RD_MSEC;
		rd_sync_engine_handle_expiry(A.e, now);
		rd_sync_engine_handle_expiry(B.e, now);
		if (a_answers)
			mt_pump(&A, &B);
		else
			B.npkt = 0; /* lost on the way */
	}
	ck_assert(!rd_sync_engine_bulk_pending(B.e));
	rd_mirror_handle_expiry(B.m, now);
	ck_assert(!rd_mirror_start_pending(B.m));
}

/*
 * B restarts; its table still holds two entries it wrote for A in its last
 * run (marked), one of which A deleted meanwhile, and one created locally
 * while B's mirror was away (unmarked). After the bulk, the deleted one is
 * removed from B's table and sent nowhere; the other marked one is A's; the
 * local one is B's and reaches A.
 */
START_TEST(restart_does_not_bring_back_what_the_cluster_deleted)
{
	struct rd_state_info gone, kept, fresh;

	mt_tcp(&gone, 0x0a000001, 0xc0a80002, 40001, 443);
	mt_tcp(&kept, 0x0a000001, 0xc0a80002, 40002, 443);
	mt_tcp(&fresh, 0x0a000009, 0xc0a80002, 40003, 443);
	mt_insert(&A.ext, &kept, 3000);
	ck_assert_int_eq(rd_mirror_start(A.m, false, now), 0);
	B.ext.mirror = NULL;
	gone.flags |= RD_STATE_F_REMOTE;
	kept.flags |= RD_STATE_F_REMOTE;
	mt_insert(&B.ext, &gone, 3000);
	mt_insert(&B.ext, &kept, 3000);
	mt_insert(&B.ext, &fresh, 3000);
	B.ext.mirror = B.m;
	b_joins(true);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_GONE), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_KNOWN), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_LOCAL_NEW), 1);
	ck_assert_ptr_null(mt_find(&B.ext, &gone.wire));
	ck_assert_ptr_null(find(&B, &gone));
	ck_assert_uint_eq(find(&B, &kept)->creatorid, rd_state_creatorid(A.t));
	ck_assert_uint_eq(find(&B, &fresh)->creatorid, rd_state_creatorid(B.t));
	mt_pump(&A, &B);
	ck_assert_ptr_null(find(&A, &gone));
	ck_assert_ptr_nonnull(find(&A, &fresh));
	ck_assert_ptr_nonnull(mt_find(&A.ext, &fresh.wire));
	ck_assert_uint_eq(mt_count(&A.ext), 2);
}
END_TEST

/* No peer answered the bulk (B may be alone): nobody can say, so marked entries are B's. */
START_TEST(marked_entries_are_ours_when_no_bulk_ended)
{
	struct rd_state_info c;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40001, 443);
	c.flags |= RD_STATE_F_REMOTE;
	B.ext.mirror = NULL;
	mt_insert(&B.ext, &c, 3000);
	B.ext.mirror = B.m;
	b_joins(false);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_GONE), 0);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_LOCAL_NEW), 1);
	ck_assert_ptr_nonnull(mt_find(&B.ext, &c.wire));
	ck_assert_uint_eq(find(&B, &c)->creatorid, rd_state_creatorid(B.t));
}
END_TEST

/*
 * A marked entry reported before the start-up read is left for it (the
 * bulk may still name it); after it, a marked entry the mirror does not
 * hold (a late report of a state a peer deleted) is removed at once.
 */
START_TEST(marked_entry_waits_for_the_start_up_read_then_goes)
{
	struct rd_state_info c;
	uint64_t before;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40001, 443);
	c.flags |= RD_STATE_F_REMOTE;
	ck_assert_int_eq(rd_mirror_start(B.m, true, now), 0);
	ck_assert_int_eq(rd_mirror_local(B.m, RD_MIRROR_UPDATE, &c, now), RD_MIRROR_WAIT);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_WAITING), 1);
	ck_assert_ptr_null(find(&B, &c));
	ck_assert_uint_eq(B.ext.removes, 0);
	/* A, started, hears of the same entry late: gone from its table at once. */
	ck_assert_int_eq(rd_mirror_start(A.m, false, now), 0);
	before = sent(&A);
	A.ext.mirror = NULL;
	mt_insert(&A.ext, &c, 3000);
	A.ext.mirror = A.m;
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &c, now), RD_MIRROR_GONE);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_GONE), 1);
	ck_assert_ptr_null(mt_find(&A.ext, &c.wire));
	ck_assert_ptr_null(find(&A, &c));
	rd_sync_engine_flush(A.e, now);
	ck_assert_uint_eq(sent(&A), before);
}
END_TEST

START_TEST(refresh_before_expiry)
{
	struct rd_state_info c, o;
	struct rd_state *st;
	rd_time_t exp;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_tcp(&o, 0x0a000002, 0xc0a80002, 40000, 443);
	mt_insert(&A.ext, &c, 30);
	mt_insert(&A.ext, &o, 30);
	mt_pump(&A, &B);
	st = find(&A, &c);
	exp = rd_state_expires(A.t, st);
	ck_assert_uint_eq(exp, now + 30 * RD_SEC);
	/* Traffic keeps c alive in the external table without an event; o is gone silently. */
	now += 25 * RD_SEC;
	mt_touch(&A.ext, &c.wire, 300);
	A.ext.mirror = NULL;
	mt_delete(&A.ext, &o.wire);
	A.ext.mirror = A.m;
	for (int i = 0; i < 3; i++) {
		rd_mirror_handle_expiry(A.m, now);
		now += 100 * RD_MSEC;
	}
	ck_assert_uint_ge(A.ext.reads, 2);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_REFRESHED), 1);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_VANISHED), 1);
	st = find(&A, &c);
	ck_assert_ptr_nonnull(st);
	ck_assert_uint_ge(rd_state_expires(A.t, st), now + 290 * RD_SEC);
	ck_assert_ptr_null(find(&A, &o));
	/* The refresh went to B (an update), the vanished state's delete too. */
	mt_pump(&A, &B);
	ck_assert_uint_ge(rd_state_expires(B.t, find(&B, &c)), now + 290 * RD_SEC);
	ck_assert_ptr_null(find(&B, &o));
	/* Writes: the refresh and the removal were A's own, not written back. */
	ck_assert_uint_eq(A.ext.writes, 0);
	ck_assert_uint_eq(A.ext.removes, 0);
}
END_TEST

START_TEST(refresh_read_failure_counted)
{
	struct rd_state_info c;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_insert(&A.ext, &c, 30);
	now += 25 * RD_SEC;
	mt_touch(&A.ext, &c.wire, 300);
	A.ext.fail_read = RD_ERR_AGAIN;
	rd_mirror_handle_expiry(A.m, now);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_READ_FAILED), 1);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_REFRESHED), 0);
	ck_assert_uint_eq(rd_state_expires(A.t, find(&A, &c)), 31 * RD_SEC);
}
END_TEST

START_TEST(sync_traffic_excluded)
{
	struct rd_state_info p;
	uint64_t before = sent(&A);

	/* Default rule: raw pfsync, IP protocol 240. */
	mt_tcp(&p, 0x0a000001, 0xe0000062, 0, 0);
	p.wire.proto = p.stack.proto = RD_PFSYNC_IPPROTO;
	p.src.state = RD_UDPS_SINGLE;
	p.dst.state = RD_UDPS_NO_TRAFFIC;
	p.timeout = RD_STATE_TM_OTHER_FIRST_PACKET;
	p.flags = 0;
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &p, now), RD_MIRROR_EXCLUDED);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_EXCLUDED), 1);
	ck_assert_uint_eq(rd_state_count(A.t), 0);
	mt_pump(&A, &B);
	ck_assert_uint_eq(sent(&A), before);
	/* Another protocol is not. */
	p.wire.proto = p.stack.proto = 17;
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &p, now), RD_MIRROR_INSERTED);
}
END_TEST

START_TEST(sync_traffic_excluded_by_port)
{
	struct rd_mirror_config mc;
	struct rd_state_info p;

	teardown();
	rd_mirror_config_default(&mc);
	mc.exclude.proto = 17;
	mc.exclude.port = RD_SYNC_UDP_PORT;
	setup_with(&mc);
	mt_tcp(&p, 0x0a000001, 0x0a000002, 33333, RD_SYNC_UDP_PORT);
	p.wire.proto = p.stack.proto = 17;
	p.timeout = RD_STATE_TM_UDP_FIRST_PACKET;
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &p, now), RD_MIRROR_EXCLUDED);
	p.wire.port[0] = p.stack.port[0] = RD_SYNC_UDP_PORT;
	p.wire.port[1] = p.stack.port[1] = 33333;
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_DESTROY, &p, now), RD_MIRROR_EXCLUDED);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_EXCLUDED), 2);
	p.wire.port[0] = p.stack.port[0] = 1234;
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &p, now), RD_MIRROR_INSERTED);
}
END_TEST

START_TEST(refused_inval)
{
	struct rd_state_info c;

	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	ck_assert_int_eq(rd_mirror_local(A.m, 7, &c, now), RD_ERR_INVAL);
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, NULL, now), RD_ERR_INVAL);
	c.timeout = RD_STATE_TM_COUNT; /* a class the table cannot hold */
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &c, now), RD_ERR_INVAL);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_REFUSED_INVAL), 3);
	ck_assert_uint_eq(rd_state_count(A.t), 0);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_LOCAL_NEW), 0);
}
END_TEST

START_TEST(refused_limit)
{
	struct rd_state_info c;

	rd_state_set_limit(A.t, 1);
	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &c, now), RD_MIRROR_INSERTED);
	c.wire.port[0] = c.stack.port[0] = 40001;
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &c, now), RD_ERR_LIMIT);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_REFUSED_LIMIT), 1);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_LOCAL_NEW), 1);
	ck_assert_uint_eq(rd_state_count(A.t), 1);
}
END_TEST

START_TEST(refused_exist)
{
	struct rd_state_info c, d;

	/* d's stack key is c's wire key: the table refuses it as a collision. */
	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_tcp(&d, 0x0a000005, 0xc0a80002, 40000, 443);
	d.stack = c.wire;
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &c, now), RD_MIRROR_INSERTED);
	ck_assert_int_eq(rd_mirror_local(A.m, RD_MIRROR_NEW, &d, now), RD_ERR_EXIST);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_REFUSED_EXIST), 1);
	ck_assert_uint_eq(rd_state_count(A.t), 1);
}
END_TEST

START_TEST(write_and_delete_failures_counted)
{
	struct rd_state_info c;

	B.ext.fail_write = RD_ERR_AGAIN;
	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_insert(&A.ext, &c, 3000);
	mt_pump(&A, &B);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_WRITE_FAILED), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_WRITTEN), 0);
	ck_assert_ptr_nonnull(find(&B, &c)); /* the mirror keeps the state */
	B.ext.fail_remove = RD_ERR_AGAIN;
	mt_delete(&A.ext, &c.wire);
	mt_pump(&A, &B);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_DELETE_FAILED), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_DELETED), 0);
}
END_TEST

/* A write the callback queued (RD_MIRROR_PENDING) is counted when its outcome comes. */
START_TEST(queued_write_counted_when_done)
{
	struct rd_state_info c, d;

	B.ext.fail_write = RD_MIRROR_PENDING; /* the callback queues: nothing written yet */
	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_tcp(&d, 0x0a000001, 0xc0a80002, 40001, 443);
	mt_insert(&A.ext, &c, 3000);
	mt_insert(&A.ext, &d, 3000);
	mt_pump(&A, &B);
	ck_assert_uint_eq(B.ext.writes, 2);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_WRITTEN), 0);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_WRITE_FAILED), 0);
	rd_mirror_write_done(B.m, 0);
	rd_mirror_write_done(B.m, RD_ERR_AGAIN);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_WRITTEN), 1);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_WRITE_FAILED), 1);
	ck_assert_ptr_nonnull(find(&B, &c)); /* the mirror keeps both states */
	ck_assert_ptr_nonnull(find(&B, &d));
}
END_TEST

START_TEST(dump_failure_counted)
{
	A.ext.fail_dump = RD_ERR_AGAIN;
	ck_assert_int_eq(rd_mirror_start(A.m, false, now), RD_ERR_AGAIN);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_DUMP_FAILED), 1);
	ck_assert_uint_eq(mstat(&A, RD_MIRROR_STAT_DUMPS), 1);
}
END_TEST

START_TEST(no_write_mode)
{
	struct rd_mirror_config mc;
	struct rd_state_info c;

	teardown();
	rd_mirror_config_default(&mc);
	mc.write = false;
	setup_with(&mc);
	mt_tcp(&c, 0x0a000001, 0xc0a80002, 40000, 443);
	mt_insert(&A.ext, &c, 3000);
	mt_pump(&A, &B);
	ck_assert_ptr_nonnull(find(&B, &c));
	ck_assert_uint_eq(B.ext.writes, 0);
	ck_assert_uint_eq(mstat(&B, RD_MIRROR_STAT_WRITTEN), 0);
}
END_TEST

START_TEST(config_checked_and_stretch)
{
	struct rd_mirror_config mc;
	struct rd_mirror *m = NULL;

	rd_mirror_config_default(&mc);
	ck_assert_int_eq(mc.exclude.proto, RD_PFSYNC_IPPROTO);
	ck_assert(mc.write);
	ck_assert_int_eq(rd_mirror_new(&mc, &m), RD_ERR_INVAL); /* no table */
	mc.table = A.t;
	mc.engine = A.e;
	ck_assert_int_eq(rd_mirror_new(&mc, &m), RD_ERR_INVAL); /* write without callbacks */
	mc.cb.write = mt_cb_write;
	mc.cb.remove = mt_cb_remove;
	mc.sweep_interval = 0;
	ck_assert_int_eq(rd_mirror_new(&mc, &m), RD_ERR_INVAL);
	ck_assert_ptr_null(m);
	mc.sweep_interval = 100 * RD_MSEC;
	mc.timeouts[RD_STATE_TM_TCP_ESTABLISHED] = 432000;
	ck_assert_int_eq(rd_mirror_new(&mc, &m), 0);
	ck_assert_uint_eq(rd_state_get_timeout(A.t, RD_STATE_TM_TCP_ESTABLISHED), 432000);
	ck_assert_uint_eq(rd_state_get_timeout(A.t, RD_STATE_TM_TCP_CLOSING), 900);
	ck_assert_uint_eq(rd_state_get_timeout(A.t, RD_STATE_TM_ADAPTIVE_START), 0);
	ck_assert_uint_eq(rd_state_get_timeout(A.t, RD_STATE_TM_ADAPTIVE_END), 0);
	rd_mirror_free(m);
	rd_mirror_free(NULL);
}
END_TEST

/*
 * The mirror's counters are all named, by the names syncd's status prints
 * (tests/netns and redundctl read them); out of range is "unknown".
 */
START_TEST(stat_names_cover_every_counter)
{
	static const char *const names[RD_MIRROR_STAT_COUNT] = {
	    "local_new",     "local_update", "local_destroy", "known",         "echoes",
	    "excluded",      "unknown",      "refused_inval", "refused_limit", "refused_exist",
	    "refused_nomem", "written",      "deleted",       "write_failed",  "delete_failed",
	    "refreshed",     "vanished",     "read_failed",   "dumps",         "dump_failed",
	    "gone",          "waiting",
	};

	for (int i = 0; i < RD_MIRROR_STAT_COUNT; i++)
		ck_assert_str_eq(rd_mirror_stat_name(i), names[i]);
	ck_assert_str_eq(rd_mirror_stat_name(RD_MIRROR_STAT_ECHOES), "echoes");
	ck_assert_str_eq(rd_mirror_stat_name(RD_MIRROR_STAT_COUNT), "unknown");
	ck_assert_str_eq(rd_mirror_stat_name(-1), "unknown");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("mirror");
	TCase *tc = tcase_create("mirror");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, local_insert_is_ours);
	tcase_add_test(tc, peer_insert_sync_echo);
	tcase_add_test(tc, peer_insert_queued_echo);
	tcase_add_test(tc, peer_delete_sync_echo);
	tcase_add_test(tc, peer_state_changed_locally_is_sent);
	tcase_add_test(tc, delete_both_ways);
	tcase_add_test(tc, dump_after_bulk);
	tcase_add_test(tc, dump_without_bulk_takes_everything);
	tcase_add_test(tc, restart_does_not_bring_back_what_the_cluster_deleted);
	tcase_add_test(tc, marked_entries_are_ours_when_no_bulk_ended);
	tcase_add_test(tc, marked_entry_waits_for_the_start_up_read_then_goes);
	tcase_add_test(tc, refresh_before_expiry);
	tcase_add_test(tc, refresh_read_failure_counted);
	tcase_add_test(tc, sync_traffic_excluded);
	tcase_add_test(tc, sync_traffic_excluded_by_port);
	tcase_add_test(tc, refused_inval);
	tcase_add_test(tc, refused_limit);
	tcase_add_test(tc, refused_exist);
	tcase_add_test(tc, write_and_delete_failures_counted);
	tcase_add_test(tc, queued_write_counted_when_done);
	tcase_add_test(tc, dump_failure_counted);
	tcase_add_test(tc, no_write_mode);
	tcase_add_test(tc, config_checked_and_stretch);
	tcase_add_test(tc, stat_names_cover_every_counter);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
