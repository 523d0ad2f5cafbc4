/* fwglue — see fwglue.h. */
#include "fwglue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the overload table ---- */

static size_t addr_hash(const struct rd_addr *a, size_t cap)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < (a->af == RD_AF_INET ? 4u : 16u); i++)
		h = (h ^ a->u.v6[i]) * 1099511628211ULL;
	return (size_t)(h & (cap - 1));
}

bool addr_set_has(const struct addr_set *s, const struct rd_addr *a)
{
	if (s->cap == 0)
		return false;
	for (size_t i = addr_hash(a, s->cap); s->used[i]; i = (i + 1) & (s->cap - 1))
		if (rd_addr_cmp(&s->slot[i], a) == 0)
			return true;
	return false;
}

static void slot_put(struct addr_set *s, const struct rd_addr *a)
{
	size_t i = addr_hash(a, s->cap);

	while (s->used[i])
		i = (i + 1) & (s->cap - 1);
	s->used[i] = true;
	s->slot[i] = *a;
	s->n++;
}

int addr_set_add(struct addr_set *s, const struct rd_addr *a)
{
	if (addr_set_has(s, a))
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		struct addr_set g = {0};
		g.cap = s->cap ? s->cap * 2 : 64;
		g.slot = calloc(g.cap, sizeof(*g.slot));
		g.used = calloc(g.cap, sizeof(*g.used));
		if (g.slot == NULL || g.used == NULL) {
			addr_set_free(&g);
			return -1;
		}
		for (size_t i = 0; i < s->cap; i++)
			if (s->used[i])
				slot_put(&g, &s->slot[i]);
		addr_set_free(s);
		*s = g;
	}
	slot_put(s, a);
	return 0;
}

void addr_set_free(struct addr_set *s)
{
	free(s->slot);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

/* ---- the state table's hooks drive the source tracker ---- */

/* A state is about to be inserted: the binding acquired for it counts it. */
static int hook_attach(void *user, struct rd_state *st, rd_time_t now)
{
	struct fwglue *g = user;

	if (rd_src_commit(g->src, g->pending, now) != RD_OK)
		return 1;
	st->user = g->pending;
	g->pending = 0;
	return 0;
}

static void hook_detach(void *user, struct rd_state *st, rd_time_t now)
{
	struct fwglue *g = user;

	rd_src_state_removed(g->src, st->user, now);
	st->user = 0;
}

/* The TCP handshake completed: max-src-conn and max-src-conn-rate. */
static int hook_established(void *user, struct rd_state *st, rd_time_t now)
{
	struct fwglue *g = user;

	return rd_src_conn_established(g->src, st->user, now) == RD_ERR_LIMIT;
}

void fwglue_state_cb(struct fwglue *g, struct rd_state_config *scfg)
{
	scfg->cb.user = g;
	scfg->cb.attach = hook_attach;
	scfg->cb.detach = hook_detach;
	scfg->cb.established = hook_established;
}

/* ---- the tracker's hooks: overload table and flush ---- */

static void hook_overload(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now)
{
	struct fwglue *g = user;

	(void)rule_id;
	(void)now;
	if (addr_set_add(&g->overload, src) != 0) {
		fprintf(stderr, "%s: out of memory\n", g->prog ? g->prog : "fwglue");
		exit(1);
	}
	if (g->on_overload != NULL)
		g->on_overload(g->user, src);
}

/* Overload flush: kill the source's states (of the rule, or all: flush global). */
static void hook_kill_states(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now)
{
	struct fwglue *g = user;
	struct rd_state_filter f;

	memset(&f, 0, sizeof(f));
	f.fields = RD_STATE_FLT_SRC;
	f.src = *src;
	f.src_plen = src->af == RD_AF_INET ? 32 : 128;
	if (rule_id != RD_SRC_RULE_ANY) {
		f.fields |= RD_STATE_FLT_RULE;
		f.rule = rule_id;
	}
	rd_state_kill(g->st, &f, now);
}

void fwglue_src_cb(struct fwglue *g, struct rd_src_config *tcfg)
{
	tcfg->cb.user = g;
	tcfg->cb.overload = hook_overload;
	tcfg->cb.kill_states = hook_kill_states;
}

void fwglue_track(struct rd_src_rule_config *rcfg)
{
	rcfg->track = (rcfg->max_src_states || rcfg->max_src_nodes || rcfg->max_src_conn ||
	               rcfg->max_src_conn_rate || rcfg->overload || rcfg->src_track)
	                  ? RD_SRC_TRACK_RULE
	                  : RD_SRC_TRACK_NONE;
}

/* ---- creating a state ---- */

int fwglue_create(struct fwglue *g, const struct rd_state_pkt *p, const struct rd_state_opts *o,
                  rd_time_t now, int *reason)
{
	/* RD_ERR_LIMIT is one of these; the one whose counter moved says which. */
	static const int limits[] = {RD_STATE_RES_MEMORY, RD_STATE_RES_MAXSTATES,
	                             RD_STATE_RES_SRCLIMIT};
	uint64_t c0[RD_STATE_STAT_COUNT], c1[RD_STATE_STAT_COUNT];
	int rc;

	rd_state_stats(g->st, c0);
	rc = rd_state_create(g->st, p, o, now, NULL);
	if (rc == RD_OK)
		return rc;
	rd_src_release(g->src, g->pending, now);
	g->pending = 0;
	*reason = -1;
	if (rc == RD_ERR_EXIST) {
		*reason = RD_STATE_RES_STATEINS;
	} else if (rc == RD_ERR_NOMEM) {
		*reason = RD_STATE_RES_MEMORY;
	} else if (rc == RD_ERR_LIMIT) {
		rd_state_stats(g->st, c1);
		for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
			if (c1[RD_STATE_STAT_RES(limits[i])] != c0[RD_STATE_STAT_RES(limits[i])])
				*reason = limits[i];
	}
	return rc;
}
