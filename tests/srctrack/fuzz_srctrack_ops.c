/*
 * Fuzz target: operation sequences from bytes. The first bytes configure
 * the table (node limit, src.track, allocation failures) and three rules
 * (tracking mode, limits, pool type, stickiness); the rest is a program of
 * one-byte opcodes with operands: create a state, remove one, complete a
 * handshake, advance time, expire, kill by source or target, change the
 * pool, update or replace a rule, release an uncommitted binding. Hooks
 * record kill requests, which are carried out after each call, as a
 * firewall would. Checked: nothing crashes or leaks (sanitizers), the node
 * count never exceeds the limit, a node never reports more states than
 * exist, and once every state is gone and time has passed everything
 * expires.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "redund/srctrack.h"

#define MAXST 64
#define NRULE 3

struct fstate {
	uint32_t ref;
	uint32_t rule;
	uint8_t src;
};

struct fuzz {
	const uint8_t *p;
	size_t n;
	struct rd_src_table *t;
	struct rd_src_rule *r[NRULE];
	struct rd_src_rule_config cfg[NRULE];
	struct rd_src_pool_config pcfg[NRULE];
	struct fstate st[MAXST];
	int ns;
	struct {
		uint32_t rule;
		struct rd_addr src;
	} kills[32];
	int nkills;
	rd_time_t now;
	uint64_t seed;
	struct count_mem *cm;
};

static uint8_t next(struct fuzz *f)
{
	if (f->n == 0)
		return 0;
	f->n--;
	return *f->p++;
}

static struct rd_addr fsrc(uint8_t i)
{
	return i & 8 ? A4(10, 0, 0, (uint8_t)(i & 7)) : A4(10, 0, 1, (uint8_t)(i & 7));
}

static struct rd_addr ftarget(uint8_t i)
{
	return A4(198, 51, (uint8_t)(100 + (i & 3)), (uint8_t)(i & 0xfc));
}

static unsigned ftarget_plen(uint8_t i)
{
	static const uint8_t plens[4] = {32, 32, 30, 24};
	return plens[(i >> 2) & 3];
}

static void on_kill(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now)
{
	struct fuzz *f = user;

	(void)now;
	if (f->nkills < 32) {
		f->kills[f->nkills].rule = rule_id;
		f->kills[f->nkills].src = *src;
		f->nkills++;
	}
}

static void on_overload(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now)
{
	(void)user;
	(void)rule_id;
	(void)src;
	(void)now;
}

static void remove_state(struct fuzz *f, int i)
{
	rd_src_state_removed(f->t, f->st[i].ref, f->now);
	f->st[i] = f->st[--f->ns];
}

static void apply_kills(struct fuzz *f)
{
	for (int k = 0; k < f->nkills; k++) {
		for (int i = 0; i < f->ns;) {
			struct rd_addr a = fsrc(f->st[i].src);
			if ((f->kills[k].rule == RD_SRC_RULE_ANY ||
			     f->kills[k].rule == f->st[i].rule) &&
			    rd_addr_cmp(&a, &f->kills[k].src) == 0)
				remove_state(f, i);
			else
				i++;
		}
	}
	f->nkills = 0;
}

static void make_rule(struct fuzz *f, int i)
{
	struct rd_src_rule_config *c = &f->cfg[i];
	uint8_t b = next(f), l = next(f);
	long fail;

	memset(c, 0, sizeof(*c));
	c->id = (uint32_t)i + 1;
	c->track = (enum rd_src_track_mode)(b % 3);
	if (c->track != RD_SRC_TRACK_NONE)
		c->max_src_states = l & 3;
	if (c->track == RD_SRC_TRACK_RULE) {
		c->max_src_nodes = (l >> 2) & 7;
		c->max_src_conn = (l >> 5) & 3;
		c->max_src_conn_rate = (b >> 2) & 3;
		c->max_src_conn_seconds = c->max_src_conn_rate ? 1 + ((b >> 4) & 3) : 0;
		c->overload = b & 0x40;
		c->flush =
		    c->overload ? (enum rd_src_flush)((b >> 7) + (l & 1)) : RD_SRC_FLUSH_NONE;
		if (c->flush > RD_SRC_FLUSH_GLOBAL)
			c->flush = RD_SRC_FLUSH_GLOBAL;
	}
	c->src_track = (rd_time_t)(next(f) & 7) * RD_SEC;
	/* The harness needs the rule to exist: no injected failure here. */
	fail = f->cm->fail_after;
	f->cm->fail_after = -1;
	if (rd_src_rule_add(f->t, c, &f->r[i]) != RD_OK) {
		memset(c, 0, sizeof(*c));
		c->id = (uint32_t)i + 1;
		if (rd_src_rule_add(f->t, c, &f->r[i]) != RD_OK)
			abort();
	}
	f->cm->fail_after = fail;
	memset(&f->pcfg[i], 0, sizeof(f->pcfg[i]));
	b = next(f);
	f->pcfg[i].type = (enum rd_src_pool_type)(b % 6);
	f->pcfg[i].sticky = b & 0x10;
	f->pcfg[i].hash = b & 0x20 ? RD_SRC_HASH_PF : RD_SRC_HASH_BLAKE2B;
	rd_src_pool_set(f->t, f->r[i], RD_SRC_KIND_NAT, &f->pcfg[i]);
	for (uint8_t k = 0; k < (b >> 5); k++) {
		uint8_t x = next(f);
		struct rd_addr a = ftarget(x);
		rd_src_pool_add(f->t, f->r[i], RD_SRC_KIND_NAT, &a, ftarget_plen(x), x >> 6);
	}
}

static void op_create(struct fuzz *f)
{
	uint8_t b = next(f);
	int i = b % NRULE;
	uint8_t src = (uint8_t)(b >> 2) & 15;
	struct rd_addr a = fsrc(src), out;
	uint32_t ref = 0;
	int rc;

	rc = rd_src_acquire(f->t, f->r[i], &a, f->now, &ref);
	if (rc == RD_OK && (b & 0x40))
		rc = rd_src_map(f->t, f->r[i], RD_SRC_KIND_NAT, &a, f->now, &ref, &out);
	if (rc != RD_OK || (b & 0x80) || f->ns == MAXST) {
		rd_src_release(f->t, ref, f->now);
		return;
	}
	if (rd_src_commit(f->t, ref, f->now) != RD_OK)
		abort();
	if (ref == 0)
		return;
	f->st[f->ns].ref = ref;
	f->st[f->ns].rule = f->cfg[i].id;
	f->st[f->ns].src = src;
	f->ns++;
}

static void check_node(void *user, const struct rd_src_node_info *info)
{
	struct fuzz *f = user;

	if (info->states > (uint32_t)f->ns || info->conn > info->states)
		abort();
}

static void run(struct fuzz *f)
{
	while (f->n > 0) {
		uint8_t op = next(f), b;

		switch (op % 12) {
		case 0:
		case 1:
			op_create(f);
			break;
		case 2:
			if (f->ns > 0)
				remove_state(f, next(f) % f->ns);
			break;
		case 3:
			if (f->ns > 0) {
				int i = next(f) % f->ns;
				if (rd_src_conn_established(f->t, f->st[i].ref, f->now) ==
				    RD_ERR_LIMIT)
					remove_state(f, i);
			}
			break;
		case 4:
			f->now += (rd_time_t)next(f) * 100 * RD_MSEC;
			break;
		case 5:
			rd_src_handle_expiry(f->t, f->now, next(f));
			break;
		case 6: {
			struct rd_addr a;
			b = next(f);
			a = fsrc(b & 15);
			rd_src_kill_source(f->t, (b & 0x30) ? f->r[((b >> 4) & 3) % NRULE] : NULL,
			                   &a, b >> 7, f->now);
			break;
		}
		case 7: {
			struct rd_addr a;
			b = next(f);
			a = ftarget(b);
			rd_src_kill_target(f->t, (b & 0x40) ? f->r[b % NRULE] : NULL,
			                   (b & 0x80) ? RD_SRC_KIND_COUNT : RD_SRC_KIND_NAT, &a,
			                   RD_SRC_KILL_STATES, f->now);
			break;
		}
		case 8: {
			struct rd_addr a;
			int i;
			b = next(f);
			i = b % NRULE;
			a = ftarget(next(f));
			if (b & 0x80)
				rd_src_pool_remove(f->t, f->r[i], RD_SRC_KIND_NAT, &a,
				                   ftarget_plen(b));
			else
				rd_src_pool_add(f->t, f->r[i], RD_SRC_KIND_NAT, &a, ftarget_plen(b),
				                b >> 3);
			break;
		}
		case 9: {
			int i = next(f) % NRULE;
			struct rd_src_rule_config c = f->cfg[i];
			c.max_src_states = next(f) & 3;
			if (c.track == RD_SRC_TRACK_NONE)
				c.max_src_states = 0;
			if (rd_src_rule_update(f->t, f->r[i], &c) == RD_OK)
				f->cfg[i] = c;
			break;
		}
		case 10: {
			/* Replace a rule: its nodes go, its states stay valid. */
			int i = next(f) % NRULE;
			rd_src_rule_remove(f->t, f->r[i]);
			for (int k = 0; k < f->ns; k++)
				if (f->st[k].rule == (uint32_t)i + 1)
					f->st[k].rule = 0; /* orphaned: no flush reaches it */
			make_rule(f, i);
			break;
		}
		default: {
			struct rd_src_node_info info;
			struct rd_addr a = fsrc(next(f) & 15);
			rd_src_lookup(f->t, f->r[0], RD_SRC_KIND_TRACK, &a, f->now, &info);
			rd_src_foreach(f->t, f->now, check_node, f);
			break;
		}
		}
		apply_kills(f);
		if (rd_src_count(f->t) > 8)
			abort(); /* the configured node limit */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct count_mem cm = {.live = 0, .fail_after = -1};
	struct rd_mem mem = {&cm, cm_malloc, cm_calloc, cm_realloc, cm_free};
	struct rd_src_config cfg;
	struct fuzz *f = calloc(1, sizeof(*f));
	uint8_t b;

	if (f == NULL || rd_init() != 0)
		abort();
	f->p = data;
	f->n = size;
	f->cm = &cm;
	rd_src_config_default(&cfg);
	cfg.mem = &mem;
	cfg.max_nodes = 8;
	cfg.random.fn = test_random_fn;
	cfg.random.user = &f->seed;
	cfg.cb.user = f;
	cfg.cb.kill_states = on_kill;
	cfg.cb.overload = on_overload;
	f->seed = 1;
	b = next(f);
	cfg.src_track = (rd_time_t)(b & 15) * RD_SEC;
	if (rd_src_table_new(&cfg, &f->t) != RD_OK)
		abort();
	for (int i = 0; i < NRULE; i++)
		make_rule(f, i);
	/* Later allocations may fail: every path must cope. */
	if (b & 0x80)
		cm.fail_after = next(f);
	run(f);
	cm.fail_after = -1;
	while (f->ns > 0)
		remove_state(f, f->ns - 1);
	f->now += 3600 * RD_SEC;
	rd_src_handle_expiry(f->t, f->now, 1000000);
	if (rd_src_count(f->t) != 0)
		abort();
	rd_src_table_free(f->t);
	if (cm.live != 0)
		abort();
	free(f);
	return 0;
}
