/*
 * mirror-table: an in-memory "external" connection table (a plain array,
 * not a libredund state table: what a DPDK or VPP flow table would be) and
 * a node that mirrors it with rd_mirror over a sync engine. Two nodes are
 * connected back to back in one process with a fake clock. Used by the
 * example program and by the mirror's unit tests.
 */
#ifndef MEMTABLE_H
#define MEMTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redund/mirror.h"
#include "redund/state.h"
#include "redund/sync.h"

#define MT_MAX     64
#define MT_QUEUE   64
#define MT_PKTS    64
#define MT_PKT_LEN 1500

/* How the external table reports the changes the mirror writes into it. */
enum mt_report {
	MT_REPORT_NONE = 0,   /* it tells apart its writer's changes (conntrack's port id) */
	MT_REPORT_SYNC = 1,   /* it reports them at once, from inside the write */
	MT_REPORT_QUEUED = 2, /* it reports them later, as events (mt_poll) */
};

struct mt_entry {
	bool used;
	struct rd_state_info info; /* keys, peers, timeout class; expire_in unused */
	rd_time_t expires;         /* absolute */
};

struct mt_event {
	int change; /* enum rd_mirror_change */
	struct rd_state_info info;
};

struct mt_table {
	struct mt_entry e[MT_MAX];
	int report; /* enum mt_report */
	struct mt_event q[MT_QUEUE];
	size_t nq;
	struct rd_mirror *mirror; /* where its changes go */
	const rd_time_t *now;     /* the fake clock */
	/* fault injection: a callback returns this when nonzero */
	int fail_read, fail_write, fail_remove, fail_dump;
	unsigned reads, writes, removes, dumps;
};

struct mt_node {
	struct rd_state_table *t;
	struct rd_sync_engine *e;
	struct rd_mirror *m;
	struct mt_table ext;
	struct mt_node *peer;
	uint8_t pkt[MT_PKTS][MT_PKT_LEN]; /* packets on their way to this node */
	size_t pkt_len[MT_PKTS];
	size_t npkt;
	uint64_t rng;
	const rd_time_t *now;
};

/* mt_node_init - table (creatorid), engine (raw pfsync to peer), mirror. 0 or RD_ERR_*. */
int mt_node_init(struct mt_node *n, uint32_t creatorid, const rd_time_t *now,
                 const struct rd_mirror_config *tmpl);
void mt_node_fini(struct mt_node *n);
/* mt_connect - back to back. */
void mt_connect(struct mt_node *a, struct mt_node *b);
/* mt_pump - flush both engines and deliver packets until none is left; packets moved. */
size_t mt_pump(struct mt_node *a, struct mt_node *b);

/* The firewall's own changes to its external table (reported to the mirror). */
int mt_insert(struct mt_table *x, const struct rd_state_info *info, uint32_t expire_in);
int mt_update(struct mt_table *x, const struct rd_state_key *wire, uint8_t src, uint8_t dst,
              uint32_t expire_in);
int mt_delete(struct mt_table *x, const struct rd_state_key *wire);
/* mt_touch - traffic refreshes an entry silently (no event). */
int mt_touch(struct mt_table *x, const struct rd_state_key *wire, uint32_t expire_in);
/* mt_find - the entry of wire, or NULL. */
struct mt_entry *mt_find(struct mt_table *x, const struct rd_state_key *wire);
size_t mt_count(const struct mt_table *x);
/* mt_poll - deliver the queued events; returns how many. */
size_t mt_poll(struct mt_table *x);

/* mt_tcp - the description of an established IPv4 TCP connection c -> s:port. */
void mt_tcp(struct rd_state_info *info, uint32_t c, uint32_t s, uint16_t sport, uint16_t dport);

/* The mirror's callbacks over an mt_table (user = the mt_table). */
int mt_cb_read(void *user, const struct rd_state_info *key, struct rd_state_info *out);
int mt_cb_write(void *user, const struct rd_state_info *info, bool created);
int mt_cb_remove(void *user, const struct rd_state_info *info);
int mt_cb_dump(void *user, rd_time_t now);

#endif
