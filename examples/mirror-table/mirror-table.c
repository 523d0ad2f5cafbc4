/*
 * mirror-table: two firewalls whose connection tables are not libredund's
 * (an in-memory array here; a DPDK or VPP flow table in real life), kept
 * in step by rd_mirror over a sync engine each, connected back to back in
 * one process with a fake clock. Shows a local insert on A arriving in B's
 * table, a change on B coming back to A, a delete, and that the writes into
 * a table do not come back as changes (B's table reports every change,
 * including the mirror's own writes, as events a little later).
 *
 * Prints what happened; exits 1 if any expectation fails.
 */
#include <stdio.h>

#include "memtable.h"

static int failures;

static void expect(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok)
		failures++;
}

static uint64_t sent(const struct mt_node *n)
{
	uint64_t s[RD_SYNC_ENGINE_STAT_COUNT];

	rd_sync_engine_stats(n->e, s);
	return s[RD_SYNC_ENGINE_STAT_PKTS_OUT];
}

int main(void)
{
	rd_time_t now = 1 * RD_SEC; /* a clock whose origin is ours: 1 s after "boot" */
	struct mt_node a, b;
	struct rd_state_info conn;
	uint64_t sa[RD_MIRROR_STAT_COUNT], sb[RD_MIRROR_STAT_COUNT];
	struct mt_entry *e;
	struct rd_state *st;
	uint64_t before;

	if (rd_init() != 0 || mt_node_init(&a, 0x0a0a0a0a, &now, NULL) != 0 ||
	    mt_node_init(&b, 0x0b0b0b0b, &now, NULL) != 0) {
		fprintf(stderr, "set-up failed\n");
		return 1;
	}
	mt_connect(&a, &b);
	b.ext.report = MT_REPORT_QUEUED; /* B's table echoes the mirror's writes */
	rd_mirror_start(a.m, false, now);
	rd_mirror_start(b.m, false, now);

	/* 1. A's firewall tracks a new connection. */
	mt_tcp(&conn, 0x0a000001, 0xc0a80002, 40000, 443);
	conn.creation_age = 3600; /* an hour old: older than our clock */
	mt_insert(&a.ext, &conn, 3000);
	st = rd_state_lookup(a.t, &conn.wire, RD_STATE_IN, 0, now);
	expect(st != NULL && st->creatorid == rd_state_creatorid(a.t) && st->id != 0,
	       "A's local insert is A's state, with an id from A's table");
	printf("      A: state %016llx/%08x\n", st ? (unsigned long long)st->id : 0ULL,
	       st ? st->creatorid : 0);
	mt_pump(&a, &b);
	e = mt_find(&b.ext, &conn.wire);
	expect(e != NULL && b.ext.writes == 1,
	       "B's external table got A's connection, written once");

	/* 2. B's table reports the write as an event: an echo, never sent back. */
	now += RD_SEC;
	before = sent(&b);
	mt_poll(&b.ext);
	mt_pump(&a, &b);
	rd_mirror_stats(b.m, sb);
	expect(sb[RD_MIRROR_STAT_ECHOES] == 1 && sent(&b) == before,
	       "B's echo of the write is not sent back");

	/* 3. The connection moves to B and closes there: the change goes back to A. */
	now += RD_SEC;
	mt_update(&b.ext, &conn.wire, RD_TCPS_FIN_WAIT_2, RD_TCPS_FIN_WAIT_2, 45);
	mt_pump(&a, &b);
	e = mt_find(&a.ext, &conn.wire);
	expect(e != NULL && e->info.src.state == RD_TCPS_FIN_WAIT_2,
	       "B's change arrived in A's external table");
	mt_poll(&b.ext);

	/* 4. A's firewall drops the connection: B's table loses it too. */
	now += RD_SEC;
	mt_delete(&a.ext, &conn.wire);
	mt_pump(&a, &b);
	expect(mt_find(&b.ext, &conn.wire) == NULL && rd_state_count(b.t) == 0,
	       "A's delete removed the connection from B's table");
	before = sent(&b);
	mt_poll(&b.ext);
	mt_pump(&a, &b);
	expect(sent(&b) == before, "B's table reporting the delete sends nothing");

	rd_mirror_stats(a.m, sa);
	rd_mirror_stats(b.m, sb);
	printf("A: local_new %llu local_destroy %llu written %llu\n",
	       (unsigned long long)sa[RD_MIRROR_STAT_LOCAL_NEW],
	       (unsigned long long)sa[RD_MIRROR_STAT_LOCAL_DESTROY],
	       (unsigned long long)sa[RD_MIRROR_STAT_WRITTEN]);
	printf("B: local_update %llu written %llu deleted %llu echoes %llu unknown %llu\n",
	       (unsigned long long)sb[RD_MIRROR_STAT_LOCAL_UPDATE],
	       (unsigned long long)sb[RD_MIRROR_STAT_WRITTEN],
	       (unsigned long long)sb[RD_MIRROR_STAT_DELETED],
	       (unsigned long long)sb[RD_MIRROR_STAT_ECHOES],
	       (unsigned long long)sb[RD_MIRROR_STAT_UNKNOWN]);
	mt_node_fini(&a);
	mt_node_fini(&b);
	printf("%s\n", failures ? "FAILED" : "all expectations met");
	return failures ? 1 : 0;
}
