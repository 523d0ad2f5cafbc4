/* mirror-table: the in-memory external table and its mirror (see memtable.h). */
#include <string.h>

#include "memtable.h"

/* ---- the external table ---- */

struct mt_entry *mt_find(struct mt_table *x, const struct rd_state_key *wire)
{
	for (size_t i = 0; i < MT_MAX; i++)
		if (x->e[i].used && memcmp(&x->e[i].info.wire, wire, sizeof(*wire)) == 0)
			return &x->e[i];
	return NULL;
}

size_t mt_count(const struct mt_table *x)
{
	size_t n = 0;

	for (size_t i = 0; i < MT_MAX; i++)
		n += x->e[i].used;
	return n;
}

/* The entry as the table describes it: expire_in is what is left of it. */
static void describe(const struct mt_table *x, const struct mt_entry *e, struct rd_state_info *out)
{
	*out = e->info;
	out->id = 0;
	out->creatorid = 0;
	out->expire_in =
	    e->expires > *x->now ? (uint32_t)((e->expires - *x->now + RD_SEC - 1) / RD_SEC) : 0;
}

/* A change of the table: to the mirror now, queued, or not at all (by `own`). */
static void report(struct mt_table *x, int change, const struct mt_entry *e, bool own)
{
	struct rd_state_info info;

	if (x->mirror == NULL || (own && x->report == MT_REPORT_NONE))
		return;
	describe(x, e, &info);
	if (own && x->report == MT_REPORT_QUEUED) {
		if (x->nq < MT_QUEUE) {
			x->q[x->nq].change = change;
			x->q[x->nq].info = info;
			x->nq++;
		}
		return;
	}
	rd_mirror_local(x->mirror, change, &info, *x->now);
}

static struct mt_entry *put(struct mt_table *x, const struct rd_state_info *info,
                            uint32_t expire_in, bool *created)
{
	struct mt_entry *e = mt_find(x, &info->wire);

	*created = e == NULL;
	for (size_t i = 0; e == NULL && i < MT_MAX; i++)
		if (!x->e[i].used)
			e = &x->e[i];
	if (e == NULL)
		return NULL;
	e->used = true;
	e->info = *info;
	e->expires = *x->now + (rd_time_t)(expire_in ? expire_in : 60) * RD_SEC;
	return e;
}

int mt_insert(struct mt_table *x, const struct rd_state_info *info, uint32_t expire_in)
{
	bool created;
	struct mt_entry *e = put(x, info, expire_in, &created);

	if (e == NULL)
		return RD_ERR_LIMIT;
	report(x, created ? RD_MIRROR_NEW : RD_MIRROR_UPDATE, e, false);
	return 0;
}

int mt_update(struct mt_table *x, const struct rd_state_key *wire, uint8_t src, uint8_t dst,
              uint32_t expire_in)
{
	struct mt_entry *e = mt_find(x, wire);

	if (e == NULL)
		return RD_ERR_NOENT;
	e->info.src.state = src;
	e->info.dst.state = dst;
	e->info.timeout = rd_state_timeout_class(e->info.wire.proto, src, dst);
	e->expires = *x->now + (rd_time_t)expire_in * RD_SEC;
	report(x, RD_MIRROR_UPDATE, e, false);
	return 0;
}

int mt_delete(struct mt_table *x, const struct rd_state_key *wire)
{
	struct mt_entry *e = mt_find(x, wire);

	if (e == NULL)
		return RD_ERR_NOENT;
	e->used = false;
	report(x, RD_MIRROR_DESTROY, e, false);
	return 0;
}

int mt_touch(struct mt_table *x, const struct rd_state_key *wire, uint32_t expire_in)
{
	struct mt_entry *e = mt_find(x, wire);

	if (e == NULL)
		return RD_ERR_NOENT;
	e->expires = *x->now + (rd_time_t)expire_in * RD_SEC;
	return 0;
}

size_t mt_poll(struct mt_table *x)
{
	size_t n = x->nq;

	x->nq = 0;
	for (size_t i = 0; i < n; i++)
		rd_mirror_local(x->mirror, x->q[i].change, &x->q[i].info, *x->now);
	return n;
}

void mt_tcp(struct rd_state_info *info, uint32_t c, uint32_t s, uint16_t sport, uint16_t dport)
{
	memset(info, 0, sizeof(*info));
	info->wire.af = RD_AF_INET;
	info->wire.proto = 6;
	for (int i = 0; i < 4; i++) {
		info->wire.addr[0][i] = (uint8_t)(c >> (24 - 8 * i));
		info->wire.addr[1][i] = (uint8_t)(s >> (24 - 8 * i));
	}
	info->wire.port[0] = sport;
	info->wire.port[1] = dport;
	info->stack = info->wire;
	info->rule = RD_STATE_RULE_NONE;
	info->src.state = RD_TCPS_ESTABLISHED;
	info->dst.state = RD_TCPS_ESTABLISHED;
	info->timeout = RD_STATE_TM_TCP_ESTABLISHED;
	info->flags = RD_STATE_F_SLOPPY;
}

/* ---- the mirror's callbacks ---- */

int mt_cb_read(void *user, const struct rd_state_info *key, struct rd_state_info *out)
{
	struct mt_table *x = user;
	struct mt_entry *e;

	x->reads++;
	if (x->fail_read)
		return x->fail_read;
	if ((e = mt_find(x, &key->wire)) == NULL)
		return RD_ERR_NOENT;
	describe(x, e, out);
	return 0;
}

int mt_cb_write(void *user, const struct rd_state_info *info, bool created)
{
	struct mt_table *x = user;
	struct mt_entry *e;
	bool fresh;

	(void)created;
	x->writes++;
	if (x->fail_write)
		return x->fail_write;
	if ((e = put(x, info, info->expire_in, &fresh)) == NULL)
		return RD_ERR_LIMIT;
	/* The mark of an entry written for a peer (redund/mirror.h), as syncd's conntrack label. */
	e->info.flags |= RD_STATE_F_REMOTE;
	report(x, fresh ? RD_MIRROR_NEW : RD_MIRROR_UPDATE, e, true);
	return 0;
}

int mt_cb_remove(void *user, const struct rd_state_info *info)
{
	struct mt_table *x = user;
	struct mt_entry *e;

	x->removes++;
	if (x->fail_remove)
		return x->fail_remove;
	if ((e = mt_find(x, &info->wire)) == NULL)
		return 0; /* absent counts as done */
	e->used = false;
	report(x, RD_MIRROR_DESTROY, e, true);
	return 0;
}

int mt_cb_dump(void *user, rd_time_t now)
{
	struct mt_table *x = user;
	struct rd_state_info info;

	x->dumps++;
	if (x->fail_dump)
		return x->fail_dump;
	for (size_t i = 0; i < MT_MAX; i++) {
		if (!x->e[i].used)
			continue;
		describe(x, &x->e[i], &info);
		rd_mirror_local(x->mirror, RD_MIRROR_NEW, &info, now);
	}
	return 0;
}

/* ---- a node: state table, engine, mirror ---- */

static void rng(void *user, void *buf, size_t len)
{
	uint64_t *s = user;
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		b[i] = (uint8_t)(*s >> 56);
	}
}

static void on_event(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	struct mt_node *n = user;

	if (n->m != NULL)
		rd_mirror_state_event(n->m, st, ev, why, now);
	else if (n->e != NULL)
		rd_sync_engine_state_event(n->e, st, ev, why, now);
}

/* The engine's packets go to the peer's inbox. */
static void on_send(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct mt_node *p = ((struct mt_node *)user)->peer;

	(void)now;
	if (p == NULL || p->npkt == MT_PKTS || len > MT_PKT_LEN)
		return;
	memcpy(p->pkt[p->npkt], pkt, len);
	p->pkt_len[p->npkt++] = len;
}

int mt_node_init(struct mt_node *n, uint32_t creatorid, const rd_time_t *now,
                 const struct rd_mirror_config *tmpl)
{
	struct rd_state_config sc;
	struct rd_sync_engine_config ec;
	struct rd_mirror_config mc;
	int rc;

	memset(n, 0, sizeof(*n));
	n->now = now;
	n->rng = creatorid;
	n->ext.now = now;
	rd_state_config_default(&sc);
	sc.creatorid = creatorid;
	sc.random.fn = rng;
	sc.random.user = &n->rng;
	sc.huge_pages = false;
	sc.limit = 1000;
	sc.cb.user = n;
	sc.cb.event = on_event;
	if ((rc = rd_state_table_new(&sc, &n->t)) != 0)
		return rc;
	memset(&ec, 0, sizeof(ec));
	ec.table = n->t;
	ec.cb.send = on_send;
	ec.cb.user = n;
	ec.bulk_req_interval = RD_SEC;
	ec.bulk_req_tries = 3;
	if ((rc = rd_sync_engine_new(&ec, &n->e)) != 0)
		return rc;
	if (tmpl != NULL)
		mc = *tmpl;
	else
		rd_mirror_config_default(&mc);
	mc.table = n->t;
	mc.engine = n->e;
	mc.cb.user = &n->ext;
	if (mc.cb.read == NULL)
		mc.cb.read = mt_cb_read;
	if (mc.cb.write == NULL)
		mc.cb.write = mt_cb_write;
	if (mc.cb.remove == NULL)
		mc.cb.remove = mt_cb_remove;
	if (mc.cb.dump == NULL)
		mc.cb.dump = mt_cb_dump;
	if ((rc = rd_mirror_new(&mc, &n->m)) != 0)
		return rc;
	n->ext.mirror = n->m;
	return 0;
}

void mt_node_fini(struct mt_node *n)
{
	rd_mirror_free(n->m);
	n->m = NULL;
	rd_sync_engine_free(n->e);
	n->e = NULL;
	rd_state_table_free(n->t, *n->now);
	n->t = NULL;
}

void mt_connect(struct mt_node *a, struct mt_node *b)
{
	a->peer = b;
	b->peer = a;
}

static size_t deliver(struct mt_node *n)
{
	size_t moved = 0;

	while (n->npkt > 0) {
		uint8_t pkt[MT_PKT_LEN];
		size_t len = n->pkt_len[0];

		memcpy(pkt, n->pkt[0], len);
		memmove(n->pkt[0], n->pkt[1], (n->npkt - 1) * MT_PKT_LEN);
		memmove(&n->pkt_len[0], &n->pkt_len[1], (n->npkt - 1) * sizeof(size_t));
		n->npkt--;
		rd_sync_engine_input(n->e, pkt, len, *n->now);
		moved++;
	}
	return moved;
}

size_t mt_pump(struct mt_node *a, struct mt_node *b)
{
	size_t moved = 0, m;

	do {
		rd_sync_engine_flush(a->e, *a->now);
		rd_sync_engine_flush(b->e, *b->now);
		m = deliver(a) + deliver(b);
		moved += m;
	} while (m > 0);
	return moved;
}
