/*
 * state-bench: libredund's state table against the structure pf uses (a
 * red-black tree, libbsd's <bsd/sys/tree.h>) and uthash, built from the
 * same keys and run with the same lookups in one process.
 *
 * For each table size: insert N states, look up random existing keys
 * (hits) and absent keys (misses), delete random existing keys. The
 * baselines store the same 136-byte state (key + the rest of pf's fields
 * libredund keeps) in their nodes so bytes per state compare like for like;
 * bytes are those requested from the allocator (malloc's own per-chunk
 * overhead is not counted for anyone, which favours the baselines).
 * Finally the expiry of a full table is timed call by call.
 *
 *   state-bench [--quick] [--json] [--states N] [--cpu] [--rounds R]
 *     --quick  10^4 and 10^5 states only (smoke test)
 *     --states one table size N only
 *     --json   one JSON object a line instead of the table
 *     --cpu    time by this thread's CPU clock instead of the wall clock
 *              (a machine shared with other loads: time spent preempted is
 *              not counted against whoever ran when it happened)
 *     --rounds each lookup pass R times over the same structure, the best
 *              rate reported (default 1)
 *     --no-baselines  libredund only (before/after comparisons of the table
 *              at 10^7, where the RB tree's inserts take minutes)
 */
#include <bsd/sys/tree.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redund/state.h"

/* uthash allocations are counted like everyone's. */
static size_t uthash_bytes;
static void *ut_alloc(size_t n)
{
	uthash_bytes += n;
	return malloc(n);
}
static void ut_free(void *p, size_t n)
{
	uthash_bytes -= n;
	free(p);
}
#define uthash_malloc(sz)    ut_alloc(sz)
#define uthash_free(ptr, sz) ut_free(ptr, sz)
#include <uthash.h>

static bool json;
static bool use_cpu;
static int rounds = 1;
static bool baselines = true;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The clock every rate is measured by (--cpu: this thread's CPU time). */
static double clk(void)
{
	return use_cpu ? cpu_s() : now_s();
}

/*
 * The rate of a lookup pass over q[0..n): `pass` returns how many it found
 * (into *found, from the last round); the best of `rounds` passes.
 */
typedef size_t (*lookup_pass)(void *ctx, const struct rd_state_key *q, size_t n);

static double best_rate(lookup_pass pass, void *ctx, const struct rd_state_key *q, size_t n,
                        size_t *found)
{
	double best = 0;
	for (int r = 0; r < rounds; r++) {
		double t0 = clk();
		*found = pass(ctx, q, n);
		double rate = (double)n / (clk() - t0);
		if (rate > best)
			best = rate;
	}
	return best;
}

/* The connection tuples: distinct sources, random destinations and ports. */
struct tuple {
	uint32_t src, dst;
	uint16_t sport, dport;
};

static void make_pkt(const struct tuple *tu, struct rd_state_pkt *p)
{
	memset(p, 0, sizeof(*p));
	p->af = RD_AF_INET;
	p->proto = 6;
	p->dir = RD_STATE_IN;
	p->src = rd_addr_v4(tu->src);
	p->dst = rd_addr_v4(tu->dst);
	p->sport = tu->sport;
	p->dport = tu->dport;
	p->tcp_flags = RD_TH_SYN;
	p->seq = (uint32_t)rng() | 1;
	p->win = 65535;
	p->wscale = 7;
	p->tot_len = 60;
}

/* ---- the baselines' state: key + the same 96 bytes of state ---- */

struct payload {
	uint8_t b[sizeof(struct rd_state) - sizeof(struct rd_state_key)];
};

struct rb_state {
	RB_ENTRY(rb_state) entry;
	uint16_t hash; /* pf compares a 16-bit hash first */
	struct rd_state_key key;
	struct payload pl;
};

static uint16_t pf_like_hash(const struct rd_state_key *k)
{
	/* symmetric, cheap: stands in for pf's Toeplitz hash */
	uint32_t h = 0;
	for (int i = 0; i < 4; i++) {
		uint32_t a, b;
		memcpy(&a, k->addr[0] + 4 * i, 4);
		memcpy(&b, k->addr[1] + 4 * i, 4);
		h ^= a ^ b;
	}
	h ^= (uint32_t)(k->port[0] ^ k->port[1]);
	h *= 0x9e3779b1u;
	return (uint16_t)(h >> 16);
}

static int rb_cmp(const struct rb_state *a, const struct rb_state *b)
{
	/* pf_state_compare_key's order: hash, proto, af, addresses, ports, rdomain */
	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	if (a->key.proto != b->key.proto)
		return a->key.proto < b->key.proto ? -1 : 1;
	if (a->key.af != b->key.af)
		return a->key.af < b->key.af ? -1 : 1;
	int c = memcmp(a->key.addr, b->key.addr, sizeof(a->key.addr));
	if (c != 0)
		return c;
	if (a->key.port[0] != b->key.port[0])
		return a->key.port[0] < b->key.port[0] ? -1 : 1;
	if (a->key.port[1] != b->key.port[1])
		return a->key.port[1] < b->key.port[1] ? -1 : 1;
	if (a->key.rdomain != b->key.rdomain)
		return a->key.rdomain < b->key.rdomain ? -1 : 1;
	return 0;
}

RB_HEAD(rb_tree, rb_state);
RB_PROTOTYPE(rb_tree, rb_state, entry, rb_cmp)
RB_GENERATE(rb_tree, rb_state, entry, rb_cmp)

struct ut_state {
	struct rd_state_key key;
	struct payload pl;
	UT_hash_handle hh;
};

/* ---- measurement ---- */

struct result {
	double ins, hit, miss, del;
	double hit_burst, miss_burst; /* libredund's rd_state_lookup_burst; 0 for others */
	double bytes;
	size_t found_hit, found_miss;
};

static void emit(const char *impl, size_t n, const char *op, double ops, double bytes)
{
	if (json)
		printf("{\"impl\": \"%s\", \"states\": %zu, \"op\": \"%s\", \"ops_per_s\": %.0f, "
		       "\"bytes_per_state\": %.1f}\n",
		       impl, n, op, ops, bytes);
}

static void report(const char *impl, size_t n, const struct result *r)
{
	emit(impl, n, "insert", r->ins, r->bytes);
	emit(impl, n, "lookup_hit", r->hit, r->bytes);
	emit(impl, n, "lookup_miss", r->miss, r->bytes);
	emit(impl, n, "delete", r->del, r->bytes);
	if (r->hit_burst > 0) {
		emit(impl, n, "lookup_hit_burst", r->hit_burst, r->bytes);
		emit(impl, n, "lookup_miss_burst", r->miss_burst, r->bytes);
	}
	if (!json) {
		printf("%-10s %9zu %12.0f %12.0f %12.0f %12.0f %8.1f\n", impl, n, r->hit, r->miss,
		       r->ins, r->del, r->bytes);
		if (r->hit_burst > 0)
			printf("%-10s %9zu %12.0f %12.0f   (rd_state_lookup_burst, 16 at a time)\n",
			       "  burst", n, r->hit_burst, r->miss_burst);
	}
	if (r->found_hit == 0 || r->found_miss != 0) {
		fprintf(stderr, "%s: wrong lookup results (hits %zu, false hits %zu)\n", impl,
		        r->found_hit, r->found_miss);
		exit(1);
	}
}

struct workload {
	size_t n, nlook, ndel;
	struct tuple *tu;
	struct rd_state_key *keys;   /* keys[i] of tu[i] */
	struct rd_state_key *absent; /* nlook keys never inserted */
	uint32_t *hit_idx;           /* nlook random indices */
	struct rd_state_key *hitq;   /* keys[hit_idx[i]]: queries in packet order, as a
	                              * packet path has them (built from headers in cache) */
	uint32_t *del_idx;           /* ndel distinct random indices */
};

static void build_workload(struct workload *w, size_t n)
{
	w->n = n;
	/* enough operations to average over cache and page effects, few enough
	 * that the whole run (10^7 RB-tree inserts included) stays near 2 min */
	w->nlook = n < 1000000 ? (n < 200000 ? 200000 : n) : 1000000;
	w->ndel = n < 500000 ? n : 500000;
	w->tu = malloc(n * sizeof(*w->tu));
	w->keys = malloc(n * sizeof(*w->keys));
	w->absent = malloc(w->nlook * sizeof(*w->absent));
	w->hit_idx = malloc(w->nlook * sizeof(*w->hit_idx));
	w->hitq = malloc(w->nlook * sizeof(*w->hitq));
	w->del_idx = malloc(n * sizeof(*w->del_idx));
	if (!w->tu || !w->keys || !w->absent || !w->hit_idx || !w->del_idx || !w->hitq) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	struct rd_state_pkt p;
	for (size_t i = 0; i < n; i++) {
		/* sources 10.0.0.0/8 + i (distinct), destinations 172.16/12 */
		w->tu[i].src = 0x0a000000u + (uint32_t)i;
		w->tu[i].dst = 0xac100000u | (uint32_t)(rng() & 0xfffff);
		w->tu[i].sport = (uint16_t)(1024 + rng() % 60000);
		w->tu[i].dport = (uint16_t)(rng() % 4 == 0 ? 443 : rng() % 65536);
		make_pkt(&w->tu[i], &p);
		rd_state_key_from_pkt(&p, &w->keys[i]);
	}
	for (size_t i = 0; i < w->nlook; i++) {
		struct tuple t = {0x0b000000u + (uint32_t)(rng() & 0xffffff),
		                  0xac100000u | (uint32_t)(rng() & 0xfffff),
		                  (uint16_t)(1024 + rng() % 60000), 80};
		make_pkt(&t, &p);
		rd_state_key_from_pkt(&p, &w->absent[i]);
		w->hit_idx[i] = (uint32_t)(rng() % n);
	}
	for (size_t i = 0; i < w->nlook; i++)
		w->hitq[i] = w->keys[w->hit_idx[i]];
	for (size_t i = 0; i < n; i++)
		w->del_idx[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rng() % (i + 1);
		uint32_t x = w->del_idx[i];
		w->del_idx[i] = w->del_idx[j];
		w->del_idx[j] = x;
	}
}

static void free_workload(struct workload *w)
{
	free(w->tu);
	free(w->keys);
	free(w->absent);
	free(w->hit_idx);
	free(w->hitq);
	free(w->del_idx);
}

struct rd_ctx {
	struct rd_state_table *t;
	rd_time_t now;
};

static size_t rd_single_pass(void *ctx, const struct rd_state_key *q, size_t n)
{
	struct rd_ctx *c = ctx;
	size_t found = 0;
	for (size_t i = 0; i < n; i++)
		found += rd_state_lookup(c->t, &q[i], RD_STATE_IN, 0, c->now) != NULL;
	return found;
}

/* Lookups of q[0..n) through rd_state_lookup_burst, 64 a call. */
static size_t rd_burst_pass(void *ctx, const struct rd_state_key *q, size_t n)
{
	struct rd_ctx *c = ctx;
	const struct rd_state_key *kp[64];
	struct rd_state *res[64];
	size_t found = 0;
	for (size_t i = 0; i < n; i += 64) {
		size_t m = n - i < 64 ? n - i : 64;
		for (size_t j = 0; j < m; j++)
			kp[j] = &q[i + j];
		found += rd_state_lookup_burst(c->t, kp, m, RD_STATE_IN, 0, c->now, res);
	}
	return found;
}

static void bench_libredund(const struct workload *w, struct result *r)
{
	struct rd_state_config cfg;
	struct rd_state_table *t;
	memset(r, 0, sizeof(*r));
	rd_state_config_default(&cfg);
	cfg.limit = UINT32_MAX;
	cfg.timeouts[RD_STATE_TM_ADAPTIVE_START] = 0;
	cfg.timeouts[RD_STATE_TM_ADAPTIVE_END] = 0;
	if (rd_state_table_new(&cfg, &t) != 0)
		exit(1);
	rd_time_t now = RD_SEC;
	struct rd_state_pkt *pk = malloc(sizeof(*pk) * 4096);
	double t0, spent = 0;
	for (size_t i = 0; i < w->n; i += 4096) {
		size_t m = w->n - i < 4096 ? w->n - i : 4096;
		for (size_t j = 0; j < m; j++)
			make_pkt(&w->tu[i + j], &pk[j]);
		double a = clk();
		for (size_t j = 0; j < m; j++)
			if (rd_state_create(t, &pk[j], NULL, now, NULL) != 0) {
				fprintf(stderr, "libredund: insert %zu failed\n", i + j);
				exit(1);
			}
		spent += clk() - a;
	}
	free(pk);
	r->ins = (double)w->n / spent;
	r->bytes = (double)rd_state_memory(t) / (double)w->n;

	struct rd_ctx c = {t, now};
	size_t found = 0;
	r->hit = best_rate(rd_single_pass, &c, w->hitq, w->nlook, &found);
	r->found_hit = found == w->nlook ? found : 0;
	r->miss = best_rate(rd_single_pass, &c, w->absent, w->nlook, &found);
	r->found_miss = found;

	/* the same lookups through the burst API, gathered 64 at a time */
	r->hit_burst = best_rate(rd_burst_pass, &c, w->hitq, w->nlook, &found);
	if (found != w->nlook)
		r->found_hit = 0;
	r->miss_burst = best_rate(rd_burst_pass, &c, w->absent, w->nlook, &found);
	r->found_miss += found;

	t0 = clk();
	for (size_t i = 0; i < w->ndel; i++) {
		struct rd_state *st =
		    rd_state_lookup(t, &w->keys[w->del_idx[i]], RD_STATE_IN, 0, now);
		rd_state_remove(t, st, now);
	}
	r->del = (double)w->ndel / (clk() - t0);
	if (rd_state_count(t) != w->n - w->ndel) {
		fprintf(stderr, "libredund: count after deletes wrong\n");
		exit(1);
	}
	rd_state_table_free(t, now);
}

static size_t rb_pass(void *ctx, const struct rd_state_key *keys, size_t n)
{
	struct rb_tree *head = ctx;
	struct rb_state q;
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		q.key = keys[i];
		q.hash = pf_like_hash(&q.key);
		found += RB_FIND(rb_tree, head, &q) != NULL;
	}
	return found;
}

static void bench_rbtree(const struct workload *w, struct result *r)
{
	struct rb_tree head = RB_INITIALIZER(&head);
	memset(r, 0, sizeof(*r));
	size_t bytes = 0;
	struct rb_state **nodes = malloc(w->n * sizeof(*nodes));
	double t0 = clk();
	for (size_t i = 0; i < w->n; i++) {
		struct rb_state *s = calloc(1, sizeof(*s));
		bytes += sizeof(*s);
		s->key = w->keys[i];
		s->hash = pf_like_hash(&s->key);
		if (RB_INSERT(rb_tree, &head, s) != NULL) {
			fprintf(stderr, "rbtree: duplicate\n");
			exit(1);
		}
		nodes[i] = s;
	}
	r->ins = (double)w->n / (clk() - t0);
	r->bytes = (double)bytes / (double)w->n;

	struct rb_state q;
	size_t found = 0;
	r->hit = best_rate(rb_pass, &head, w->hitq, w->nlook, &found);
	r->found_hit = found == w->nlook ? found : 0;
	r->miss = best_rate(rb_pass, &head, w->absent, w->nlook, &found);
	r->found_miss = found;

	t0 = clk();
	for (size_t i = 0; i < w->ndel; i++) {
		q.key = w->keys[w->del_idx[i]];
		q.hash = pf_like_hash(&q.key);
		struct rb_state *s = RB_FIND(rb_tree, &head, &q);
		RB_REMOVE(rb_tree, &head, s);
		free(s);
		nodes[w->del_idx[i]] = NULL;
	}
	r->del = (double)w->ndel / (clk() - t0);
	for (size_t i = 0; i < w->n; i++)
		free(nodes[i]);
	free(nodes);
}

static size_t ut_pass(void *ctx, const struct rd_state_key *keys, size_t n)
{
	struct ut_state *head = *(struct ut_state **)ctx, *s;
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		HASH_FIND(hh, head, &keys[i], sizeof(struct rd_state_key), s);
		found += s != NULL;
	}
	return found;
}

static void bench_uthash(const struct workload *w, struct result *r)
{
	struct ut_state *head = NULL;
	memset(r, 0, sizeof(*r));
	size_t bytes = 0;
	uthash_bytes = 0;
	double t0 = clk();
	for (size_t i = 0; i < w->n; i++) {
		struct ut_state *s = calloc(1, sizeof(*s));
		bytes += sizeof(*s);
		s->key = w->keys[i];
		HASH_ADD(hh, head, key, sizeof(s->key), s);
	}
	r->ins = (double)w->n / (clk() - t0);
	r->bytes = (double)(bytes + uthash_bytes) / (double)w->n;

	struct ut_state *s;
	size_t found = 0;
	r->hit = best_rate(ut_pass, &head, w->hitq, w->nlook, &found);
	r->found_hit = found == w->nlook ? found : 0;
	r->miss = best_rate(ut_pass, &head, w->absent, w->nlook, &found);
	r->found_miss = found;

	t0 = clk();
	for (size_t i = 0; i < w->ndel; i++) {
		HASH_FIND(hh, head, &w->keys[w->del_idx[i]], sizeof(struct rd_state_key), s);
		HASH_DEL(head, s);
		free(s);
	}
	r->del = (double)w->ndel / (clk() - t0);
	struct ut_state *tmp;
	HASH_ITER(hh, head, s, tmp)
	{
		HASH_DEL(head, s);
		free(s);
	}
}

/*
 * Expiry of a full table: n states created at t=1 s, then swept at a time
 * when all have expired, 1024 slots per call; the longest call is the
 * pause a packet path would see.
 */
static void bench_expiry(const struct workload *w)
{
	struct rd_state_config cfg;
	struct rd_state_table *t;
	rd_state_config_default(&cfg);
	cfg.limit = UINT32_MAX;
	cfg.timeouts[RD_STATE_TM_ADAPTIVE_START] = 0;
	cfg.timeouts[RD_STATE_TM_ADAPTIVE_END] = 0;
	if (rd_state_table_new(&cfg, &t) != 0)
		exit(1);
	struct rd_state_pkt p;
	for (size_t i = 0; i < w->n; i++) {
		make_pkt(&w->tu[i], &p);
		rd_state_create(t, &p, NULL, RD_SEC, NULL);
	}
	double bytes = (double)rd_state_memory(t) / (double)w->n;
	rd_time_t later = 1000 * RD_SEC; /* past tcp.first (120 s) */
	/*
	 * Each call is timed twice: wall clock (what a packet loop would wait,
	 * including any preemption of this process by others on the machine)
	 * and this thread's CPU time (the work the call itself did).
	 */
	double worst = 0, worst_cpu = 0, t0 = now_s();
	size_t calls = 0, removed = 0;
	while (rd_state_count(t) > 0) {
		double a = now_s(), ac = cpu_s();
		removed += rd_state_purge(t, later, 1024);
		double dc = cpu_s() - ac, d = now_s() - a;
		if (d > worst)
			worst = d;
		if (dc > worst_cpu)
			worst_cpu = dc;
		calls++;
	}
	double total = now_s() - t0;
	if (removed != w->n) {
		fprintf(stderr, "expiry removed %zu of %zu\n", removed, w->n);
		exit(1);
	}
	if (json)
		printf("{\"impl\": \"libredund\", \"states\": %zu, \"op\": \"expire\", "
		       "\"ops_per_s\": %.0f, \"bytes_per_state\": %.1f, \"max_pause_us\": %.1f, "
		       "\"max_pause_cpu_us\": %.1f, \"calls\": %zu}\n",
		       w->n, (double)removed / total, bytes, worst * 1e6, worst_cpu * 1e6, calls);
	else
		printf("expiry of %zu states: %zu calls of 1024 slots, %.1f ms total, "
		       "%.0f expiries/s, max pause %.1f us wall, %.1f us CPU\n",
		       w->n, calls, total * 1e3, (double)removed / total, worst * 1e6,
		       worst_cpu * 1e6);
	rd_state_table_free(t, later);
}

int main(int argc, char **argv)
{
	bool quick = false;
	size_t only = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--states") == 0 && i + 1 < argc)
			only = strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--no-baselines") == 0)
			baselines = false;
		else if (strcmp(argv[i], "--cpu") == 0)
			use_cpu = true;
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0)
			rounds = atoi(argv[++i]);
		else {
			fprintf(stderr,
			        "usage: %s [--quick] [--json] [--states N] [--cpu] [--rounds R] "
			        "[--no-baselines]\n",
			        argv[0]);
			return 2;
		}
	}
	if (rd_init() != 0)
		return 1;
	static const size_t full[] = {10000, 1000000, 10000000};
	static const size_t small[] = {10000, 100000};
	const size_t *sizes = quick ? small : full;
	size_t nsizes = quick ? 2 : 3;
	size_t expiry_n = quick ? 100000 : 1000000;
	if (only != 0) {
		sizes = &only;
		nsizes = 1;
		expiry_n = only;
	}

	if (!json)
		printf("%-10s %9s %12s %12s %12s %12s %8s\n", "impl", "states", "hit/s", "miss/s",
		       "insert/s", "delete/s", "B/state");
	for (size_t s = 0; s < nsizes; s++) {
		struct workload w;
		struct result lr, rb, ut;
		build_workload(&w, sizes[s]);
		bench_libredund(&w, &lr);
		report("libredund", w.n, &lr);
		if (!baselines) {
			if (sizes[s] == expiry_n)
				bench_expiry(&w);
			free_workload(&w);
			continue;
		}
		bench_rbtree(&w, &rb);
		report("rbtree", w.n, &rb);
		bench_uthash(&w, &ut);
		report("uthash", w.n, &ut);
		if (!json)
			printf(
			    "  ratios libredund/rbtree: hit %.1fx miss %.1fx insert %.1fx delete "
			    "%.1fx; libredund/uthash: hit %.1fx miss %.1fx insert %.1fx "
			    "delete %.1fx\n",
			    lr.hit / rb.hit, lr.miss / rb.miss, lr.ins / rb.ins, lr.del / rb.del,
			    lr.hit / ut.hit, lr.miss / ut.miss, lr.ins / ut.ins, lr.del / ut.del);
		if (!json)
			printf(
			    "  ratios burst/rbtree: hit %.1fx miss %.1fx; burst/uthash: hit %.1fx "
			    "miss %.1fx\n",
			    lr.hit_burst / rb.hit, lr.miss_burst / rb.miss, lr.hit_burst / ut.hit,
			    lr.miss_burst / ut.miss);
		if (sizes[s] == expiry_n)
			bench_expiry(&w);
		free_workload(&w);
	}
	return 0;
}
