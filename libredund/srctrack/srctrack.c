/*
 * Source tracking: the node index, rules, bindings (a state's link to its
 * nodes), limits, the overload action, kills and incremental expiry.
 *
 * Lifetimes: a node is hashed while live; `pending` counts bindings that
 * hold it before their state exists and `states` those whose state does.
 * When `states` drops to 0 the node joins its rule's idle list (ordered by
 * the time it went idle, hence by expiry for a fixed src.track) and dies at
 * `expire`. A dead node is treated as absent everywhere and freed by
 * whichever call meets it first. A killed node leaves the index at once and
 * waits on the zombie list until no binding holds it.
 *
 * Measured (x86-64, gcc -O2, thread CPU time, 10^6 states over 5*10^5
 * sources in one rule): acquire+commit 2.4 M/s (half of them allocate a
 * node), conn_established 40 M/s, state_removed 39 M/s, expiry 3-4 M
 * nodes/s with no call of budget 1024 above 0.5 ms.
 */
#include <limits.h>

#include "srctrack/srctrack_internal.h"

#define THRESHOLD_MAX 4294967u /* pf's PF_THRESHOLD_MAX: 0xffffffff / 1000 */

static const char *const counter_names[RD_SRC_STAT_COUNT] = {
    [RD_SRC_STAT_SRC_LIMIT] = "src-limit",
    [RD_SRC_STAT_MAX_SRC_STATES] = "max-src-states",
    [RD_SRC_STAT_MAX_SRC_NODES] = "max-src-nodes",
    [RD_SRC_STAT_MAX_SRC_CONN] = "max-src-conn",
    [RD_SRC_STAT_MAX_SRC_CONN_RATE] = "max-src-conn-rate",
    [RD_SRC_STAT_OVERLOAD_TABLE] = "overload table insertion",
    [RD_SRC_STAT_OVERLOAD_FLUSH] = "overload flush states",
    [RD_SRC_STAT_SRC_NODES] = "src-node-limit",
    [RD_SRC_STAT_MEMORY] = "memory",
    [RD_SRC_STAT_TRANSLATE] = "translate",
    [RD_SRC_STAT_STALE] = "sticky-stale",
    [RD_SRC_STAT_SEARCH] = "searches",
    [RD_SRC_STAT_INSERT] = "inserts",
    [RD_SRC_STAT_REMOVAL] = "removals",
};

void rd_src_config_default(struct rd_src_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_nodes = 10000;
	cfg->src_track = 0;
}

void rd_src_rule_config_default(struct rd_src_rule_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->track = RD_SRC_TRACK_NONE;
	cfg->flush = RD_SRC_FLUSH_NONE;
}

void rd_src_pool_config_default(struct rd_src_pool_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = RD_SRC_POOL_NONE;
}

/* ---- addresses and the index ---- */

static bool addr_ok(const struct rd_addr *a)
{
	return a != NULL && (a->af == RD_AF_INET || a->af == RD_AF_INET6);
}

/* A copy with the bytes beyond the family's length zeroed. */
static struct rd_addr addr_norm(const struct rd_addr *a)
{
	struct rd_addr r;

	memset(&r, 0, sizeof(r));
	r.af = a->af;
	memcpy(r.u.v6, a->u.v6, rd_af_len(a->af));
	return r;
}

static bool addr_eq(const struct rd_addr *a, const struct rd_addr *b)
{
	return a->af == b->af && memcmp(a->u.v6, b->u.v6, rd_af_len(a->af)) == 0;
}

static uint32_t node_bucket(const struct rd_src_table *t, uint32_t rule_id, unsigned kind,
                            const struct rd_addr *a)
{
	/* SipHash-1-3, as the state table (core/siphash.h: why that is enough
	 * for an index whose hash values nobody sees) */
	uint8_t in[22];

	rd_put32(in, rule_id);
	in[4] = (uint8_t)kind;
	in[5] = a->af;
	memcpy(in + 6, a->u.v6, 16);
	return (uint32_t)rd_siphash13(&t->hkey, in, sizeof(in)) & t->mask;
}

static struct src_node *node_find(const struct rd_src_table *t, uint32_t rule_id, unsigned kind,
                                  const struct rd_addr *a)
{
	struct src_node *n = t->buckets[node_bucket(t, rule_id, kind, a)];

	for (; n != NULL; n = n->hnext) {
		if (n->rule_id == rule_id && n->kind == kind && addr_eq(&n->addr, a))
			return n;
	}
	return NULL;
}

static bool node_dead(const struct src_node *n, rd_time_t now)
{
	return (n->flags & NODE_IDLE) && n->pending == 0 && n->expire <= now;
}

/* ---- lists ---- */

static void idle_append(struct rd_src_rule *r, struct src_node *n)
{
	n->inext = NULL;
	n->iprev = r->idle_tail;
	if (r->idle_tail != NULL)
		r->idle_tail->inext = n;
	else
		r->idle_head = n;
	r->idle_tail = n;
	n->flags |= NODE_IDLE;
}

static void idle_unlink(struct rd_src_rule *r, struct src_node *n)
{
	if (n->iprev != NULL)
		n->iprev->inext = n->inext;
	else
		r->idle_head = n->inext;
	if (n->inext != NULL)
		n->inext->iprev = n->iprev;
	else
		r->idle_tail = n->iprev;
	n->iprev = n->inext = NULL;
	n->flags &= (uint8_t)~NODE_IDLE;
}

static void tlist_link(struct src_target *tg, struct src_node *n)
{
	n->tprev = NULL;
	n->tnext = tg->nodes;
	if (tg->nodes != NULL)
		tg->nodes->tprev = n;
	tg->nodes = n;
}

static void tlist_unlink(struct src_target *tg, struct src_node *n)
{
	if (n->tprev != NULL)
		n->tprev->tnext = n->tnext;
	else
		tg->nodes = n->tnext;
	if (n->tnext != NULL)
		n->tnext->tprev = n->tprev;
	n->tprev = n->tnext = NULL;
}

static void rule_list_unlink(struct rd_src_rule **head, struct rd_src_rule *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		*head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static void rule_list_push(struct rd_src_rule **head, struct rd_src_rule *r)
{
	r->prev = NULL;
	r->next = *head;
	if (*head != NULL)
		(*head)->prev = r;
	*head = r;
}

/* ---- reference counting ---- */

static void rule_unref(struct rd_src_table *t, struct rd_src_rule *r)
{
	if (--r->refs != 0)
		return;
	rule_list_unlink(&t->dead, r);
	for (unsigned k = 0; k < RD_SRC_KIND_COUNT; k++)
		rd_free(t->mem, r->pools[k].active);
	rd_free(t->mem, r);
}

static void target_unref(struct rd_src_table *t, struct src_target *tg)
{
	struct src_pool *p;

	if (--tg->refs != 0)
		return;
	p = &tg->rule->pools[tg->kind];
	if (tg->aprev != NULL)
		tg->aprev->anext = tg->anext;
	else
		p->all = tg->anext;
	if (tg->anext != NULL)
		tg->anext->aprev = tg->aprev;
	rule_unref(t, tg->rule);
	rd_free(t->mem, tg);
}

static void node_free(struct rd_src_table *t, struct src_node *n)
{
	if (n->flags & NODE_ZOMBIE) {
		if (n->iprev != NULL)
			n->iprev->inext = n->inext;
		else
			t->zombies = n->inext;
		if (n->inext != NULL)
			n->inext->iprev = n->iprev;
	}
	if (n->target != NULL)
		target_unref(t, n->target);
	rule_unref(t, n->rule);
	rd_free(t->mem, n);
}

/*
 * Take a node out of the index (pf_remove_src_node / a kill); free it now
 * if nothing holds it, else park it on the zombie list.
 */
static void node_kill(struct rd_src_table *t, struct src_node *n)
{
	if (!(n->flags & NODE_KILLED)) {
		struct src_node **pp = &t->buckets[node_bucket(t, n->rule_id, n->kind, &n->addr)];

		while (*pp != n)
			pp = &(*pp)->hnext;
		*pp = n->hnext;
		if (n->flags & NODE_IDLE)
			idle_unlink(n->rule, n);
		if (n->target != NULL)
			tlist_unlink(n->target, n);
		n->rule->nodes--;
		t->count--;
		t->counters[RD_SRC_STAT_REMOVAL]++;
		n->flags |= NODE_KILLED;
	}
	if (n->states == 0 && n->pending == 0) {
		node_free(t, n);
	} else if (!(n->flags & NODE_ZOMBIE)) {
		n->iprev = NULL;
		n->inext = t->zombies;
		if (t->zombies != NULL)
			t->zombies->iprev = n;
		t->zombies = n;
		n->flags |= NODE_ZOMBIE;
	}
}

/* The live node (rule_id, kind, a); a dead one met on the way is freed. */
static struct src_node *node_lookup(struct rd_src_table *t, uint32_t rule_id, unsigned kind,
                                    const struct rd_addr *a, rd_time_t now)
{
	struct src_node *n = node_find(t, rule_id, kind, a);

	if (n != NULL && node_dead(n, now)) {
		node_kill(t, n);
		n = NULL;
	}
	return n;
}

/* Free up to `max` dead nodes at the head of r's idle list. */
static void reclaim(struct rd_src_table *t, struct rd_src_rule *r, rd_time_t now, unsigned max)
{
	while (max-- > 0 && r->idle_head != NULL && node_dead(r->idle_head, now))
		node_kill(t, r->idle_head);
}

static rd_time_t lifetime(const struct rd_src_table *t, const struct rd_src_rule *ns)
{
	return ns->cfg.src_track != 0 ? ns->cfg.src_track : t->src_track;
}

/* The node's last state went: start its src.track lifetime. */
static void node_idle(struct rd_src_table *t, struct src_node *n, rd_time_t now)
{
	rd_time_t life = lifetime(t, n->rule);

	if (n->flags & NODE_KILLED) {
		node_kill(t, n);
		return;
	}
	n->expire = life > RD_TIME_NEVER - now ? RD_TIME_NEVER : now + life;
	idle_append(n->rule, n);
}

/*
 * Create a node in namespace ns for the creating rule r (pf_insert_src_node's
 * "not found" branch): max-src-nodes, then the table's node limit.
 */
static int node_new(struct rd_src_table *t, struct rd_src_rule *r, struct rd_src_rule *ns,
                    unsigned kind, const struct rd_addr *a, rd_time_t now, struct src_target *tg,
                    const struct rd_addr *raddr, struct src_node **out)
{
	struct src_node *n;
	uint32_t b;

	if (r->cfg.max_src_nodes != 0 && ns->nodes >= r->cfg.max_src_nodes) {
		reclaim(t, ns, now, 8);
		if (ns->nodes >= r->cfg.max_src_nodes) {
			t->counters[RD_SRC_STAT_MAX_SRC_NODES]++;
			t->counters[RD_SRC_STAT_SRC_LIMIT]++;
			return RD_ERR_LIMIT;
		}
	}
	if (t->count >= t->max_nodes) {
		reclaim(t, ns, now, 8);
		if (t->count >= t->max_nodes)
			rd_src_handle_expiry(t, now, 64);
		if (t->count >= t->max_nodes) {
			t->counters[RD_SRC_STAT_SRC_NODES]++;
			t->counters[RD_SRC_STAT_SRC_LIMIT]++;
			return RD_ERR_LIMIT;
		}
	}
	n = rd_calloc(t->mem, 1, sizeof(*n));
	if (n == NULL) {
		t->counters[RD_SRC_STAT_MEMORY]++;
		return RD_ERR_NOMEM;
	}
	n->obj = OBJ_NODE;
	n->kind = (uint8_t)kind;
	n->rule_id = ns->cfg.id;
	n->addr = *a;
	n->rule = ns;
	n->creation = now;
	n->rate_last = now / RD_SEC;
	if (tg != NULL) {
		n->target = tg;
		n->raddr = *raddr;
		tg->refs++;
		tlist_link(tg, n);
	}
	b = node_bucket(t, n->rule_id, kind, a);
	n->hnext = t->buckets[b];
	t->buckets[b] = n;
	ns->nodes++;
	ns->refs++;
	t->count++;
	t->counters[RD_SRC_STAT_INSERT]++;
	*out = n;
	return RD_OK;
}

/* ---- bindings: a paged slab addressed by 32-bit handles (1-based) ---- */

static struct src_binding *bind_get(const struct rd_src_table *t, uint32_t h)
{
	struct src_binding *b;
	uint32_t i;

	if (h == 0)
		return NULL;
	i = h - 1;
	if ((i >> BIND_PAGE_SHIFT) >= t->npages)
		return NULL;
	b = &t->pages[i >> BIND_PAGE_SHIFT][i & (BIND_PAGE - 1)];
	return (b->flags & BIND_USED) ? b : NULL;
}

static int bind_alloc(struct rd_src_table *t, uint32_t *h, struct src_binding **out)
{
	struct src_binding *b;

	if (t->free_bind == 0) {
		struct src_binding *page;

		if (t->npages >= (UINT32_MAX >> BIND_PAGE_SHIFT) - 1)
			goto nomem;
		if (t->npages == t->pages_cap) {
			uint32_t cap = t->pages_cap ? t->pages_cap * 2 : 8;
			struct src_binding **np =
			    rd_realloc(t->mem, t->pages, (size_t)cap * sizeof(*np));
			if (np == NULL)
				goto nomem;
			t->pages = np;
			t->pages_cap = cap;
		}
		page = rd_calloc(t->mem, BIND_PAGE, sizeof(*page));
		if (page == NULL)
			goto nomem;
		t->pages[t->npages++] = page;
		for (uint32_t i = BIND_PAGE; i-- > 0;) {
			page[i].next_free = t->free_bind;
			t->free_bind = (t->npages - 1) * BIND_PAGE + i + 1;
		}
	}
	*h = t->free_bind;
	b = &t->pages[(*h - 1) >> BIND_PAGE_SHIFT][(*h - 1) & (BIND_PAGE - 1)];
	t->free_bind = b->next_free;
	memset(b, 0, sizeof(*b));
	b->flags = BIND_USED;
	*out = b;
	return RD_OK;
nomem:
	t->counters[RD_SRC_STAT_MEMORY]++;
	return RD_ERR_NOMEM;
}

static void bind_free(struct rd_src_table *t, uint32_t h, struct src_binding *b)
{
	memset(b, 0, sizeof(*b));
	b->next_free = t->free_bind;
	t->free_bind = h;
}

/* The binding *ref for adding `kind`: existing (uncommitted, slot free). */
static int bind_open(struct rd_src_table *t, uint32_t ref, unsigned kind, struct src_binding **out)
{
	struct src_binding *b;

	*out = NULL;
	if (ref == 0)
		return RD_OK;
	b = bind_get(t, ref);
	if (b == NULL)
		return RD_ERR_INVAL;
	if (b->flags & BIND_COMMITTED)
		return RD_ERR_STATE;
	if (b->slot[kind] != NULL)
		return RD_ERR_EXIST;
	*out = b;
	return RD_OK;
}

/* ---- table ---- */

int rd_src_table_new(const struct rd_src_config *cfg, struct rd_src_table **out)
{
	struct rd_src_config def;
	struct rd_src_table *t;
	uint32_t nb = 16;

	if (out == NULL)
		return RD_ERR_INVAL;
	if (cfg == NULL) {
		rd_src_config_default(&def);
		cfg = &def;
	}
	if (cfg->max_nodes == 0 || cfg->max_nodes > (1u << 26))
		return RD_ERR_INVAL;
	while (nb < cfg->max_nodes)
		nb <<= 1;
	t = rd_calloc(cfg->mem, 1, sizeof(*t));
	if (t == NULL)
		return RD_ERR_NOMEM;
	t->mem = cfg->mem;
	t->random = cfg->random;
	t->log = cfg->log;
	t->cb = cfg->cb;
	t->max_nodes = cfg->max_nodes;
	t->src_track = cfg->src_track;
	t->mask = nb - 1;
	t->buckets = rd_calloc(t->mem, nb, sizeof(*t->buckets));
	t->global = rd_calloc(t->mem, 1, sizeof(*t->global));
	if (t->buckets == NULL || t->global == NULL) {
		rd_free(t->mem, t->buckets);
		rd_free(t->mem, t->global);
		rd_free(t->mem, t);
		return RD_ERR_NOMEM;
	}
	rd_sipkey_random(&t->hkey, &t->random);
	t->global->cfg.id = RD_SRC_RULE_GLOBAL;
	t->global->cfg.track = RD_SRC_TRACK_GLOBAL;
	t->global->tbl = t;
	t->global->refs = 1;
	t->global->track = t->global;
	t->rules = t->global;
	t->nrules = 1;
	*out = t;
	return RD_OK;
}

static void free_rule_all(struct rd_src_table *t, struct rd_src_rule *r)
{
	for (unsigned k = 0; k < RD_SRC_KIND_COUNT; k++) {
		struct src_target *tg = r->pools[k].all, *next;

		for (; tg != NULL; tg = next) {
			next = tg->anext;
			rd_free(t->mem, tg);
		}
		rd_free(t->mem, r->pools[k].active);
	}
	rd_free(t->mem, r);
}

void rd_src_table_free(struct rd_src_table *t)
{
	struct src_node *n, *nn;
	struct rd_src_rule *r, *rn;

	if (t == NULL)
		return;
	for (uint32_t i = 0; i <= t->mask; i++) {
		for (n = t->buckets[i]; n != NULL; n = nn) {
			nn = n->hnext;
			rd_free(t->mem, n);
		}
	}
	for (n = t->zombies; n != NULL; n = nn) {
		nn = n->inext;
		rd_free(t->mem, n);
	}
	for (r = t->rules; r != NULL; r = rn) {
		rn = r->next;
		free_rule_all(t, r);
	}
	for (r = t->dead; r != NULL; r = rn) {
		rn = r->next;
		free_rule_all(t, r);
	}
	for (uint32_t i = 0; i < t->npages; i++)
		rd_free(t->mem, t->pages[i]);
	rd_free(t->mem, t->pages);
	rd_free(t->mem, t->buckets);
	rd_free(t->mem, t);
}

/* ---- rules ---- */

static int rule_config_ok(const struct rd_src_rule_config *c)
{
	if (c->id >= RD_SRC_RULE_GLOBAL || c->flush > RD_SRC_FLUSH_GLOBAL)
		return RD_ERR_INVAL;
	if (c->flush != RD_SRC_FLUSH_NONE && !c->overload)
		return RD_ERR_INVAL;
	if (c->max_src_conn_rate > THRESHOLD_MAX)
		return RD_ERR_INVAL;
	if (c->max_src_conn_rate != 0 && c->max_src_conn_seconds == 0)
		return RD_ERR_INVAL;
	switch (c->track) {
	case RD_SRC_TRACK_NONE:
		if (c->max_src_states || c->max_src_nodes || c->max_src_conn ||
		    c->max_src_conn_rate || c->overload)
			return RD_ERR_INVAL;
		break;
	case RD_SRC_TRACK_RULE:
		break;
	case RD_SRC_TRACK_GLOBAL:
		/* pf.conf forces per-rule tracking for these. */
		if (c->max_src_nodes || c->max_src_conn || c->max_src_conn_rate || c->overload)
			return RD_ERR_INVAL;
		break;
	default:
		return RD_ERR_INVAL;
	}
	return RD_OK;
}

struct rd_src_rule *rd_src_rule_find(struct rd_src_table *t, uint32_t id)
{
	for (struct rd_src_rule *r = t->rules; r != NULL; r = r->next) {
		if (r->cfg.id == id)
			return r;
	}
	return NULL;
}

int rd_src_rule_add(struct rd_src_table *t, const struct rd_src_rule_config *cfg,
                    struct rd_src_rule **out)
{
	struct rd_src_rule *r;
	int rc;

	if (t == NULL || cfg == NULL || out == NULL)
		return RD_ERR_INVAL;
	if ((rc = rule_config_ok(cfg)) != RD_OK)
		return rc;
	if (rd_src_rule_find(t, cfg->id) != NULL)
		return RD_ERR_EXIST;
	r = rd_calloc(t->mem, 1, sizeof(*r));
	if (r == NULL) {
		t->counters[RD_SRC_STAT_MEMORY]++;
		return RD_ERR_NOMEM;
	}
	r->cfg = *cfg;
	r->tbl = t;
	r->refs = 1;
	r->track = cfg->track == RD_SRC_TRACK_GLOBAL ? t->global : r;
	for (unsigned k = 0; k < RD_SRC_KIND_COUNT; k++)
		rd_random_buf(&t->random, r->pools[k].key, sizeof(r->pools[k].key));
	/* After the global namespace, which stays first. */
	r->prev = t->global;
	r->next = t->global->next;
	if (r->next != NULL)
		r->next->prev = r;
	t->global->next = r;
	t->nrules++;
	*out = r;
	return RD_OK;
}

int rd_src_rule_update(struct rd_src_table *t, struct rd_src_rule *r,
                       const struct rd_src_rule_config *cfg)
{
	int rc;

	if (t == NULL || r == NULL || cfg == NULL || r == t->global)
		return RD_ERR_INVAL;
	if ((rc = rule_config_ok(cfg)) != RD_OK)
		return rc;
	if (cfg->id != r->cfg.id || cfg->track != r->cfg.track)
		return RD_ERR_INVAL;
	r->cfg = *cfg;
	return RD_OK;
}

uint32_t rd_src_rule_id(const struct rd_src_rule *r)
{
	return r->cfg.id;
}

uint32_t rd_src_rule_nodes(const struct rd_src_rule *r)
{
	return r->nodes;
}

void rd_src_rule_remove(struct rd_src_table *t, struct rd_src_rule *r)
{
	if (t == NULL || r == NULL || r == t->global || r->removed)
		return;
	/* Its nodes: a full index walk, an administrative operation. */
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct src_node *n = t->buckets[i], *next;

		for (; n != NULL; n = next) {
			next = n->hnext;
			if (n->rule == r)
				node_kill(t, n);
		}
	}
	for (unsigned k = 0; k < RD_SRC_KIND_COUNT; k++) {
		struct src_pool *p = &r->pools[k];

		while (p->n > 0) {
			struct src_target *tg = p->active[--p->n];
			tg->in_pool = 0;
			target_unref(t, tg);
		}
	}
	if (t->cursor == r)
		t->cursor = r->next;
	rule_list_unlink(&t->rules, r);
	t->nrules--;
	rule_list_push(&t->dead, r);
	r->removed = true;
	rule_unref(t, r);
}

/* ---- pools ---- */

static struct src_pool *pool_of(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind)
{
	if (t == NULL || r == NULL || r == t->global || kind == RD_SRC_KIND_TRACK ||
	    kind >= RD_SRC_KIND_COUNT)
		return NULL;
	return &r->pools[kind];
}

int rd_src_pool_set(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
                    const struct rd_src_pool_config *cfg)
{
	struct src_pool *p = pool_of(t, r, kind);

	if (p == NULL || cfg == NULL || cfg->type > RD_SRC_POOL_LEASTSTATES ||
	    (cfg->hash != RD_SRC_HASH_BLAKE2B && cfg->hash != RD_SRC_HASH_PF))
		return RD_ERR_INVAL;
	p->type = (uint8_t)cfg->type;
	p->sticky = cfg->sticky;
	p->hash = (uint8_t)cfg->hash;
	if (cfg->keyed && cfg->hash == RD_SRC_HASH_PF) {
		/* pfctl scans each 8 digits into a u_int32_t key32[i]; an amd64
		 * stores it little-endian and SipHash reads those bytes. */
		for (size_t i = 0; i < sizeof(p->key); i++)
			p->key[i] = cfg->key[(i & ~(size_t)3) + 3 - (i & 3)];
	} else if (cfg->keyed) {
		memcpy(p->key, cfg->key, sizeof(p->key));
	}
	p->cursor = 0;
	p->rr_valid = false;
	return RD_OK;
}

static int pool_index(const struct src_pool *p, const struct rd_addr *a, unsigned plen)
{
	for (uint32_t i = 0; i < p->n; i++) {
		if (p->active[i]->prefixlen == plen && addr_eq(&p->active[i]->addr, a))
			return (int)i;
	}
	return -1;
}

int rd_src_pool_add(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
                    const struct rd_addr *addr, unsigned prefixlen, uint16_t weight)
{
	struct src_pool *p = pool_of(t, r, kind);
	struct src_target *tg;
	struct rd_addr a;

	if (p == NULL || !addr_ok(addr) || prefixlen > rd_af_bits(addr->af))
		return RD_ERR_INVAL;
	if (p->n > 0 && p->af != addr->af)
		return RD_ERR_INVAL;
	a = addr_norm(addr);
	if (pool_index(p, &a, prefixlen) >= 0)
		return RD_ERR_EXIST;
	if (p->n == p->cap) {
		uint32_t cap = p->cap ? p->cap * 2 : 4;
		struct src_target **na = rd_realloc(t->mem, p->active, (size_t)cap * sizeof(*na));
		if (na == NULL)
			goto nomem;
		p->active = na;
		p->cap = cap;
	}
	/* A target taken out earlier and still referenced comes back as
	 * itself, so its nodes and load carry on. */
	for (tg = p->all; tg != NULL; tg = tg->anext) {
		if (!tg->in_pool && tg->prefixlen == prefixlen && addr_eq(&tg->addr, &a)) {
			tg->in_pool = 1;
			tg->weight = weight ? weight : 1;
			tg->refs++;
			p->active[p->n++] = tg;
			return RD_OK;
		}
	}
	tg = rd_calloc(t->mem, 1, sizeof(*tg));
	if (tg == NULL)
		goto nomem;
	tg->obj = OBJ_TARGET;
	tg->kind = (uint8_t)kind;
	tg->in_pool = 1;
	tg->prefixlen = (uint8_t)prefixlen;
	tg->weight = weight ? weight : 1;
	tg->addr = a;
	tg->refs = 1;
	tg->rule = r;
	r->refs++;
	tg->anext = p->all;
	if (p->all != NULL)
		p->all->aprev = tg;
	p->all = tg;
	p->active[p->n++] = tg;
	p->af = a.af;
	return RD_OK;
nomem:
	t->counters[RD_SRC_STAT_MEMORY]++;
	return RD_ERR_NOMEM;
}

int rd_src_pool_remove(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
                       const struct rd_addr *addr, unsigned prefixlen)
{
	struct src_pool *p = pool_of(t, r, kind);
	struct src_target *tg;
	struct rd_addr a;
	int i;

	if (p == NULL || !addr_ok(addr))
		return RD_ERR_INVAL;
	a = addr_norm(addr);
	i = pool_index(p, &a, prefixlen);
	if (i < 0)
		return RD_ERR_NOENT;
	tg = p->active[i];
	memmove(&p->active[i], &p->active[i + 1], (size_t)(p->n - (uint32_t)i - 1) * sizeof(tg));
	p->n--;
	/* Keep the rotation where it was: the next target moves into slot i. */
	if ((uint32_t)i < p->cursor)
		p->cursor--;
	else if ((uint32_t)i == p->cursor)
		p->rr_valid = false;
	tg->in_pool = 0;
	target_unref(t, tg);
	return RD_OK;
}

int64_t rd_src_pool_target_states(const struct rd_src_table *t, const struct rd_src_rule *r,
                                  unsigned kind, const struct rd_addr *addr, unsigned prefixlen)
{
	const struct src_pool *p;
	struct rd_addr a;
	int i;

	if (t == NULL || r == NULL || kind == RD_SRC_KIND_TRACK || kind >= RD_SRC_KIND_COUNT ||
	    !addr_ok(addr))
		return -1;
	p = &r->pools[kind];
	a = addr_norm(addr);
	i = pool_index(p, &a, prefixlen);
	return i < 0 ? -1 : (int64_t)p->active[i]->states;
}

/* ---- the per-state path ---- */

int rd_src_acquire(struct rd_src_table *t, struct rd_src_rule *r, const struct rd_addr *src,
                   rd_time_t now, uint32_t *ref)
{
	struct src_binding *b;
	struct src_node *n;
	struct rd_src_rule *ns;
	struct rd_addr a;
	bool fresh = false;
	int rc;

	if (t == NULL || r == NULL || r == t->global || !addr_ok(src) || ref == NULL)
		return RD_ERR_INVAL;
	if (r->cfg.track == RD_SRC_TRACK_NONE)
		return RD_OK;
	if ((rc = bind_open(t, *ref, RD_SRC_KIND_TRACK, &b)) != RD_OK)
		return rc;
	a = addr_norm(src);
	ns = r->track;
	t->counters[RD_SRC_STAT_SEARCH]++;
	n = node_lookup(t, ns->cfg.id, RD_SRC_KIND_TRACK, &a, now);
	if (n != NULL && r->cfg.max_src_states != 0 && n->states >= r->cfg.max_src_states) {
		t->counters[RD_SRC_STAT_MAX_SRC_STATES]++;
		t->counters[RD_SRC_STAT_SRC_LIMIT]++;
		return RD_ERR_LIMIT;
	}
	if (b == NULL) {
		if ((rc = bind_alloc(t, ref, &b)) != RD_OK)
			return rc;
		fresh = true;
	}
	if (n == NULL) {
		rc = node_new(t, r, ns, RD_SRC_KIND_TRACK, &a, now, NULL, NULL, &n);
		if (rc != RD_OK) {
			if (fresh) {
				bind_free(t, *ref, b);
				*ref = 0;
			}
			return rc;
		}
	}
	n->pending++;
	b->slot[RD_SRC_KIND_TRACK] = n;
	return RD_OK;
}

/* Point a sticky node at another target that holds its cached address. */
static void node_rebind(struct rd_src_table *t, struct src_node *n, struct src_target *to)
{
	struct src_target *from = n->target;

	tlist_unlink(from, n);
	from->states -= n->states;
	to->states += n->states;
	to->refs++;
	n->target = to;
	tlist_link(to, n);
	target_unref(t, from);
}

int rd_src_map(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
               const struct rd_addr *src, rd_time_t now, uint32_t *ref, struct rd_addr *out)
{
	struct src_pool *p = pool_of(t, r, kind);
	struct src_binding *b;
	struct src_target *tg;
	struct src_node *n = NULL;
	struct rd_addr a, naddr;
	bool sticky, fresh = false;
	int rc;

	if (p == NULL || !addr_ok(src) || ref == NULL || out == NULL)
		return RD_ERR_INVAL;
	if ((rc = bind_open(t, *ref, kind, &b)) != RD_OK)
		return rc;
	a = addr_norm(src);
	sticky = p->sticky && p->type != RD_SRC_POOL_NONE;
	if (sticky) {
		/* pf_map_addr_sticky: the cached target, if still in the pool. */
		t->counters[RD_SRC_STAT_SEARCH]++;
		n = node_lookup(t, r->cfg.id, kind, &a, now);
		if (n != NULL && !n->target->in_pool) {
			struct src_target *alt = rd_src_pool_find_containing(p, &n->raddr);

			if (alt != NULL) {
				node_rebind(t, n, alt);
			} else {
				t->counters[RD_SRC_STAT_STALE]++;
				node_kill(t, n);
				n = NULL;
			}
		}
	}
	if (n != NULL) {
		naddr = n->raddr;
	} else {
		rc = rd_src_pool_select(t, p, &a, &tg, &naddr);
		if (rc != RD_OK) {
			t->counters[RD_SRC_STAT_TRANSLATE]++;
			return rc;
		}
		if (!sticky && p->type != RD_SRC_POOL_LEASTSTATES) {
			*out = naddr;
			return RD_OK;
		}
	}
	if (b == NULL) {
		if ((rc = bind_alloc(t, ref, &b)) != RD_OK)
			return rc;
		fresh = true;
	}
	if (sticky && n == NULL) {
		rc = node_new(t, r, r, kind, &a, now, tg, &naddr, &n);
		if (rc != RD_OK) {
			if (fresh) {
				bind_free(t, *ref, b);
				*ref = 0;
			}
			return rc;
		}
	}
	if (n != NULL) {
		n->pending++;
		b->slot[kind] = n;
	} else {
		tg->refs++;
		b->slot[kind] = tg;
	}
	*out = naddr;
	return RD_OK;
}

int rd_src_commit(struct rd_src_table *t, uint32_t ref, rd_time_t now)
{
	struct src_binding *b;

	(void)now;
	if (t == NULL)
		return RD_ERR_INVAL;
	if (ref == 0)
		return RD_OK;
	b = bind_get(t, ref);
	if (b == NULL || (b->flags & BIND_COMMITTED))
		return RD_ERR_INVAL;
	for (unsigned k = 0; k < RD_SRC_KIND_COUNT; k++) {
		uint8_t *obj = b->slot[k];

		if (obj == NULL)
			continue;
		if (*obj == OBJ_NODE) {
			struct src_node *n = b->slot[k];

			n->pending--;
			n->states++;
			if (n->flags & NODE_IDLE)
				idle_unlink(n->rule, n);
			if (n->target != NULL)
				n->target->states++;
		} else {
			((struct src_target *)b->slot[k])->states++;
		}
	}
	b->flags |= BIND_COMMITTED;
	return RD_OK;
}

/*
 * Drop a binding: a committed one gives back the states it counted (a node
 * left without states starts its src.track idle time); an uncommitted one
 * only its pending claims (a node that never had a state is rolled back:
 * its flags lack IDLE; killed ones go when unused).
 */
static void bind_drop(struct rd_src_table *t, uint32_t ref, rd_time_t now)
{
	struct src_binding *b;

	if (t == NULL || (b = bind_get(t, ref)) == NULL)
		return;
	bool committed = (b->flags & BIND_COMMITTED) != 0;
	for (unsigned k = 0; k < RD_SRC_KIND_COUNT; k++) {
		uint8_t *obj = b->slot[k];

		if (obj == NULL)
			continue;
		if (*obj != OBJ_NODE) {
			struct src_target *tg = b->slot[k];

			if (committed)
				tg->states--;
			target_unref(t, tg);
			continue;
		}
		struct src_node *n = b->slot[k];

		if (!committed) {
			n->pending--;
			if (n->pending == 0 && n->states == 0 && !(n->flags & NODE_IDLE))
				node_kill(t, n);
			continue;
		}
		if (k == RD_SRC_KIND_TRACK && (b->flags & BIND_EST))
			n->conn--;
		if (n->target != NULL)
			n->target->states--;
		if (--n->states == 0)
			node_idle(t, n, now);
	}
	bind_free(t, ref, b);
}

void rd_src_release(struct rd_src_table *t, uint32_t ref, rd_time_t now)
{
	bind_drop(t, ref, now);
}

void rd_src_state_removed(struct rd_src_table *t, uint32_t ref, rd_time_t now)
{
	bind_drop(t, ref, now);
}

/* pf_add_threshold: a linearly decaying count at one-second resolution. */
static void threshold_add(struct src_node *n, uint32_t seconds, rd_time_t now)
{
	uint64_t now_s = now / RD_SEC;
	uint64_t diff = now_s > n->rate_last ? now_s - n->rate_last : 0;

	if (seconds == 0 || diff >= seconds)
		n->rate_count = 0;
	else
		n->rate_count -= (uint32_t)((uint64_t)n->rate_count * diff / seconds);
	/* Saturate where pf's u_int32_t would wrap. */
	n->rate_count = n->rate_count > UINT32_MAX - 1000 ? UINT32_MAX : n->rate_count + 1000;
	n->rate_last = now_s;
}

int rd_src_conn_established(struct rd_src_table *t, uint32_t ref, rd_time_t now)
{
	const struct rd_src_rule_config *c;
	struct src_binding *b;
	struct src_node *n;
	struct rd_addr a;
	uint32_t rule_id;
	bool bad = false;

	if (t == NULL)
		return RD_ERR_INVAL;
	b = bind_get(t, ref);
	if (b == NULL || b->slot[RD_SRC_KIND_TRACK] == NULL || (b->flags & BIND_EST))
		return RD_OK;
	if (!(b->flags & BIND_COMMITTED))
		return RD_ERR_STATE;
	n = b->slot[RD_SRC_KIND_TRACK];
	c = &n->rule->cfg;
	b->flags |= BIND_EST;
	n->conn++;
	threshold_add(n, c->max_src_conn_seconds, now);
	if (c->max_src_conn != 0 && c->max_src_conn < n->conn) {
		t->counters[RD_SRC_STAT_MAX_SRC_CONN]++;
		bad = true;
	}
	if (c->max_src_conn_rate != 0 && n->rate_count > c->max_src_conn_rate * 1000u) {
		t->counters[RD_SRC_STAT_MAX_SRC_CONN_RATE]++;
		bad = true;
	}
	if (!bad)
		return RD_OK;
	t->counters[RD_SRC_STAT_SRC_LIMIT]++;
	/* Copies: the hooks may remove states and with them this node. */
	a = n->addr;
	rule_id = n->rule_id;
	if (c->overload) {
		enum rd_src_flush flush = c->flush;
		char buf[RD_ADDR_STRLEN];

		t->counters[RD_SRC_STAT_OVERLOAD_TABLE]++;
		if (flush != RD_SRC_FLUSH_NONE)
			t->counters[RD_SRC_STAT_OVERLOAD_FLUSH]++;
		rd_logf(&t->log, RD_LOG_NOTICE, "srctrack: rule %u: source %s overloaded%s",
		        rule_id, rd_addr_format(&a, buf, sizeof(buf)),
		        flush == RD_SRC_FLUSH_GLOBAL ? ", flushing all its states"
		        : flush == RD_SRC_FLUSH_RULE ? ", flushing its states of the rule"
		                                     : "");
		if (t->cb.overload != NULL)
			t->cb.overload(t->cb.user, rule_id, &a, now);
		if (flush != RD_SRC_FLUSH_NONE && t->cb.kill_states != NULL)
			t->cb.kill_states(t->cb.user,
			                  flush == RD_SRC_FLUSH_GLOBAL ? RD_SRC_RULE_ANY : rule_id,
			                  &a, now);
	}
	return RD_ERR_LIMIT;
}

/* ---- kills ---- */

size_t rd_src_kill_source(struct rd_src_table *t, struct rd_src_rule *r, const struct rd_addr *src,
                          unsigned flags, rd_time_t now)
{
	struct rd_addr a;
	size_t killed = 0;

	if (t == NULL || !addr_ok(src))
		return 0;
	a = addr_norm(src);
	for (struct rd_src_rule *x = r != NULL ? r : t->rules; x != NULL; x = r ? NULL : x->next) {
		for (unsigned k = 0; k < RD_SRC_KIND_COUNT; k++) {
			struct src_node *n = node_find(t, x->cfg.id, k, &a);

			if (n == NULL)
				continue;
			if (!node_dead(n, now))
				killed++;
			node_kill(t, n);
		}
	}
	if ((flags & RD_SRC_KILL_STATES) && t->cb.kill_states != NULL)
		t->cb.kill_states(
		    t->cb.user, r != NULL && r != t->global ? r->cfg.id : RD_SRC_RULE_ANY, &a, now);
	return killed;
}

size_t rd_src_kill_target(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
                          const struct rd_addr *target, unsigned flags, rd_time_t now)
{
	struct src_node *pinned = NULL, *n, *next;
	struct rd_addr a;
	size_t killed = 0;

	if (t == NULL || !addr_ok(target) || kind == RD_SRC_KIND_TRACK || kind > RD_SRC_KIND_COUNT)
		return 0;
	a = addr_norm(target);
	/* Unlink the matching nodes first, pinned (pending) so the hooks,
	 * which remove states, cannot free them under us. */
	for (struct rd_src_rule *x = r != NULL ? r : t->rules; x != NULL; x = r ? NULL : x->next) {
		for (unsigned k = RD_SRC_KIND_NAT; k < RD_SRC_KIND_COUNT; k++) {
			if (kind != RD_SRC_KIND_COUNT && k != kind)
				continue;
			for (struct src_target *tg = x->pools[k].all; tg != NULL; tg = tg->anext) {
				if (!rd_addr_prefix_match(&tg->addr, tg->prefixlen, &a))
					continue;
				for (n = tg->nodes; n != NULL; n = next) {
					next = n->tnext;
					if (!addr_eq(&n->raddr, &a))
						continue;
					n->scratch = !node_dead(n, now);
					killed += n->scratch;
					n->pending++;
					node_kill(t, n);
					n->tnext = pinned;
					pinned = n;
				}
			}
		}
	}
	if ((flags & RD_SRC_KILL_STATES) && t->cb.kill_states != NULL) {
		/* A dead node has no states left to kill. */
		for (n = pinned; n != NULL; n = n->tnext) {
			struct rd_addr src = n->addr;

			if (n->scratch)
				t->cb.kill_states(t->cb.user, n->rule_id, &src, now);
		}
	}
	for (n = pinned; n != NULL; n = next) {
		next = n->tnext;
		n->tnext = NULL;
		n->pending--;
		node_kill(t, n);
	}
	return killed;
}

/* ---- expiry ---- */

size_t rd_src_handle_expiry(struct rd_src_table *t, rd_time_t now, size_t budget)
{
	struct rd_src_rule *r;
	size_t freed = 0, steps = 0;
	uint32_t idle_rules = 0;

	if (t == NULL)
		return 0;
	r = t->cursor != NULL ? t->cursor : t->rules;
	while (steps++ < budget) {
		struct src_node *n = r->idle_head;

		if (n != NULL && node_dead(n, now)) {
			node_kill(t, n);
			freed++;
			idle_rules = 0;
			continue;
		}
		r = r->next != NULL ? r->next : t->rules;
		if (++idle_rules >= t->nrules)
			break;
	}
	t->cursor = r;
	return freed;
}

rd_time_t rd_src_expiry(const struct rd_src_table *t)
{
	rd_time_t best = RD_TIME_NEVER;

	for (const struct rd_src_rule *r = t->rules; r != NULL; r = r->next) {
		if (r->idle_head != NULL && r->idle_head->expire < best)
			best = r->idle_head->expire;
	}
	return best;
}

/* ---- reading ---- */

static void node_info(const struct src_node *n, struct rd_src_node_info *info)
{
	memset(info, 0, sizeof(*info));
	info->rule_id = n->rule_id;
	info->kind = n->kind;
	info->has_target = n->target != NULL;
	info->addr = n->addr;
	if (n->target != NULL)
		info->target = n->raddr;
	info->states = n->states;
	info->conn = n->conn;
	info->conn_rate = n->rate_count;
	info->creation = n->creation;
	info->expire = (n->flags & NODE_IDLE) ? n->expire : 0;
}

int rd_src_lookup(const struct rd_src_table *t, const struct rd_src_rule *r, unsigned kind,
                  const struct rd_addr *src, rd_time_t now, struct rd_src_node_info *info)
{
	const struct src_node *n;
	struct rd_addr a;

	if (t == NULL || r == NULL || kind >= RD_SRC_KIND_COUNT || !addr_ok(src) || info == NULL)
		return RD_ERR_INVAL;
	a = addr_norm(src);
	n = node_find(t, r->cfg.id, kind, &a);
	if (n == NULL || node_dead(n, now))
		return RD_ERR_NOENT;
	node_info(n, info);
	return RD_OK;
}

void rd_src_foreach(const struct rd_src_table *t, rd_time_t now,
                    void (*fn)(void *user, const struct rd_src_node_info *info), void *user)
{
	struct rd_src_node_info info;

	for (uint32_t i = 0; i <= t->mask; i++) {
		for (const struct src_node *n = t->buckets[i]; n != NULL; n = n->hnext) {
			if (node_dead(n, now))
				continue;
			node_info(n, &info);
			fn(user, &info);
		}
	}
}

uint32_t rd_src_count(const struct rd_src_table *t)
{
	return t->count;
}

void rd_src_stats(const struct rd_src_table *t, uint64_t out[RD_SRC_STAT_COUNT])
{
	memcpy(out, t->counters, sizeof(t->counters));
}

const char *rd_src_stat_name(int stat)
{
	return stat >= 0 && stat < RD_SRC_STAT_COUNT ? counter_names[stat] : "?";
}

const char *rd_src_kind_name(unsigned kind)
{
	static const char *const names[RD_SRC_KIND_COUNT] = {"track", "nat", "rdr", "route"};

	return kind < RD_SRC_KIND_COUNT ? names[kind] : "?";
}
