/*
 * Property test: random operation sequences (create state, remove state,
 * complete a handshake, let time pass, expire, kill by source, kill by
 * target, take a pool target out or put it back, replace a rule while its
 * states live) run against the tracker
 * and against a small reference model written from pf's rules with plain
 * arrays and linear searches. After every step both must agree on every
 * node (states, connections, rate counter, expiry, sticky target), on
 * every counter, on every pool target's load and on the hooks called. A
 * failure prints the seed and the step.
 *
 * The rules exercised:
 *   rule 1: source-track rule, max-src-states 3, max-src-nodes 4,
 *           max-src-conn 2, max-src-conn-rate 3/5, overload flush,
 *           src.track 7 s, sticky round-robin NAT pool of 3 hosts
 *   rule 2: source-track global, max-src-states 2
 *   rule 3: source-track global, max-src-states 4
 *   rule 4: no tracking, least-states NAT pool, weights 1,2,1
 * The table's src.track is 5 s (the global nodes' lifetime).
 *
 * SRCTRACK_PROP_SEEDS and SRCTRACK_PROP_STEPS override the run size.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "redund/srctrack.h"

#define S      RD_SEC
#define NSRC   6
#define MAXN   16384
#define MAXS   256
#define GLOBAL RD_SRC_RULE_GLOBAL

/* One counter of the tracker, through rd_src_stats. */
static uint64_t src_stat(const struct rd_src_table *s, int which)
{
	uint64_t v[RD_SRC_STAT_COUNT];

	rd_src_stats(s, v);
	return v[which];
}

/* ---- deterministic choice ---- */

static uint64_t prng;

static uint32_t pick(uint32_t n)
{
	prng ^= prng << 13;
	prng ^= prng >> 7;
	prng ^= prng << 17;
	return (uint32_t)(prng % n);
}

/* ---- the reference model ---- */

struct mnode {
	bool killed, idle;
	uint32_t ns;
	unsigned kind;
	int src;
	int target; /* rule 1 target index, -1 */
	int gen;    /* rule 1's generation that made it */
	uint32_t states, conn, rate_count;
	uint64_t rate_last;
	rd_time_t expire, creation;
};

struct mstate {
	uint32_t rule;
	int src;
	uint32_t ref;
	bool est;
	int node[RD_SRC_KIND_COUNT];
	int ltarget; /* rule 4 target, -1 */
};

struct kill_req {
	uint32_t rule;
	int src;
};

static struct model {
	struct mnode nodes[MAXN];
	int nn;
	struct mstate st[MAXS];
	int ns;
	int active1[3], n1, cursor1;
	uint64_t tstates1[64][3]; /* [generation of rule 1][target] */
	int gen1;                 /* rule 1 is replaced now and then */
	uint64_t tstates4[3];
	uint32_t cursor4;
	uint64_t counters[RD_SRC_STAT_COUNT];
	rd_time_t now;
	struct kill_req want_kills[64];
	int n_want_kills;
	int want_overloads;
	/* The node currently indexed under (namespace, kind, source), -1:
	 * [0] is rule 1's namespace, [1] the global one; kinds TRACK, NAT. */
	int cur[2][2][NSRC];
} M;

static const uint16_t weights4[3] = {1, 2, 1};

/* What the hooks saw. */
static struct kill_req got_kills[64];
static int n_got_kills, got_overloads;

static struct rd_addr src_addr(int i)
{
	return A4(10, 0, 0, (uint8_t)(i + 1));
}

static struct rd_addr t1_addr(int i)
{
	return A4(198, 51, 100, (uint8_t)(i + 1));
}

static struct rd_addr t4_addr(int i)
{
	return A4(203, 0, 113, (uint8_t)(i + 1));
}

static int src_index(const struct rd_addr *a)
{
	return a->u.v4[3] - 1;
}

static rd_time_t m_life(uint32_t ns)
{
	return ns == 1 ? 7 * S : 5 * S;
}

static bool m_dead(const struct mnode *n)
{
	return n->idle && n->expire <= M.now;
}

static int *m_slot(uint32_t ns, unsigned kind, int src)
{
	return &M.cur[ns == 1 ? 0 : 1][kind][src];
}

static void m_unindex(int i)
{
	struct mnode *n = &M.nodes[i];

	n->killed = true;
	*m_slot(n->ns, n->kind, n->src) = -1;
}

static int m_find(uint32_t ns, unsigned kind, int src)
{
	int i = *m_slot(ns, kind, src);

	if (i >= 0 && m_dead(&M.nodes[i])) {
		m_unindex(i); /* gone */
		i = -1;
	}
	return i;
}

static uint32_t m_count(uint32_t ns)
{
	uint32_t c = 0;

	for (unsigned k = 0; k < 2; k++)
		for (int s = 0; s < NSRC; s++)
			c += m_find(ns, k, s) >= 0;
	return c;
}

static uint32_t m_live(void)
{
	return m_count(1) + m_count(GLOBAL);
}

static int m_new(uint32_t ns, unsigned kind, int src, int target)
{
	struct mnode *n = &M.nodes[M.nn];

	memset(n, 0, sizeof(*n));
	n->ns = ns;
	n->kind = kind;
	n->src = src;
	n->target = target;
	n->gen = M.gen1;
	n->creation = M.now;
	n->rate_last = M.now / S;
	M.counters[RD_SRC_STAT_INSERT]++;
	*m_slot(ns, kind, src) = M.nn;
	return M.nn++;
}

static bool m_in_pool1(int target)
{
	for (int i = 0; i < M.n1; i++)
		if (M.active1[i] == target)
			return true;
	return false;
}

/* ---- the system under test ---- */

static struct rd_src_table *T;
static struct rd_src_rule *R[5];

static void hook_overload(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now)
{
	(void)user;
	(void)now;
	(void)rule_id;
	(void)src;
	got_overloads++;
}

static void hook_kill(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now)
{
	(void)user;
	(void)now;
	if (n_got_kills < 64)
		got_kills[n_got_kills++] = (struct kill_req){rule_id, src_index(src)};
}

static uint64_t rnd_seed;

/* Rule 1 and its pool, in the system and the model (a fresh generation). */
static void add_rule1(void)
{
	struct rd_src_rule_config c;
	struct rd_src_pool_config pc;

	memset(&c, 0, sizeof(c));
	c.id = 1;
	c.track = RD_SRC_TRACK_RULE;
	c.max_src_states = 3;
	c.max_src_nodes = 4;
	c.max_src_conn = 2;
	c.max_src_conn_rate = 3;
	c.max_src_conn_seconds = 5;
	c.overload = true;
	c.flush = RD_SRC_FLUSH_RULE;
	c.src_track = 7 * S;
	ck_assert_int_eq(rd_src_rule_add(T, &c, &R[1]), 0);
	memset(&pc, 0, sizeof(pc));
	pc.type = RD_SRC_POOL_ROUNDROBIN;
	pc.sticky = true;
	ck_assert_int_eq(rd_src_pool_set(T, R[1], RD_SRC_KIND_NAT, &pc), 0);
	for (int i = 0; i < 3; i++) {
		struct rd_addr a = t1_addr(i);
		ck_assert_int_eq(rd_src_pool_add(T, R[1], RD_SRC_KIND_NAT, &a, 32, 1), 0);
		M.active1[i] = i;
	}

	M.n1 = 3;
	M.cursor1 = 0;
}

static void setup_run(uint64_t seed)
{
	struct rd_src_config cfg;
	struct rd_src_rule_config c;
	struct rd_src_pool_config pc;

	memset(&M, 0, sizeof(M));
	memset(M.cur, 0xff, sizeof(M.cur));
	prng = seed * 0x9E3779B97F4A7C15ULL + 1;
	rnd_seed = seed + 77;
	rd_src_config_default(&cfg);
	cfg.random.fn = test_random_fn;
	cfg.random.user = &rnd_seed;
	cfg.cb.overload = hook_overload;
	cfg.cb.kill_states = hook_kill;
	cfg.src_track = 5 * S;
	cfg.max_nodes = 1000;
	ck_assert_int_eq(rd_src_table_new(&cfg, &T), 0);

	add_rule1();

	memset(&c, 0, sizeof(c));
	c.id = 2;
	c.track = RD_SRC_TRACK_GLOBAL;
	c.max_src_states = 2;
	ck_assert_int_eq(rd_src_rule_add(T, &c, &R[2]), 0);
	c.id = 3;
	c.max_src_states = 4;
	ck_assert_int_eq(rd_src_rule_add(T, &c, &R[3]), 0);

	memset(&c, 0, sizeof(c));
	c.id = 4;
	ck_assert_int_eq(rd_src_rule_add(T, &c, &R[4]), 0);
	memset(&pc, 0, sizeof(pc));
	pc.type = RD_SRC_POOL_LEASTSTATES;
	ck_assert_int_eq(rd_src_pool_set(T, R[4], RD_SRC_KIND_NAT, &pc), 0);
	for (int i = 0; i < 3; i++) {
		struct rd_addr a = t4_addr(i);
		ck_assert_int_eq(rd_src_pool_add(T, R[4], RD_SRC_KIND_NAT, &a, 32, weights4[i]), 0);
	}
	n_got_kills = got_overloads = 0;
}

/* ---- operations, each applied to both ---- */

static int fail_seed_step;
static char fail_msg[256];

#define EXPECT(cond, ...)                                                                          \
	do {                                                                                       \
		if (!(cond) && fail_msg[0] == 0)                                                   \
			snprintf(fail_msg, sizeof(fail_msg), __VA_ARGS__);                         \
	} while (0)

static void op_create(uint32_t rule, int src)
{
	struct rd_addr a = src_addr(src), out, want_out;
	uint32_t ref = 0;
	int rc, want = RD_OK, t = -1, k = -1, lt = -1;
	bool newt = false;
	uint32_t ns = rule == 1 ? 1 : GLOBAL;
	uint32_t maxst = rule == 1 ? 3 : rule == 2 ? 2 : 4;

	memset(&want_out, 0, sizeof(want_out));
	/* system */
	rc = rd_src_acquire(T, R[rule], &a, M.now, &ref);
	if (rc == RD_OK && (rule == 1 || rule == 4))
		rc = rd_src_map(T, R[rule], RD_SRC_KIND_NAT, &a, M.now, &ref, &out);
	if (rc != RD_OK)
		rd_src_release(T, ref, M.now);
	else
		ck_assert_int_eq(rd_src_commit(T, ref, M.now), 0);

	/* model: acquire */
	if (rule != 4) {
		M.counters[RD_SRC_STAT_SEARCH]++;
		t = m_find(ns, RD_SRC_KIND_TRACK, src);
		if (t >= 0 && M.nodes[t].states >= maxst) {
			M.counters[RD_SRC_STAT_MAX_SRC_STATES]++;
			M.counters[RD_SRC_STAT_SRC_LIMIT]++;
			want = RD_ERR_LIMIT;
		} else if (t < 0) {
			if (rule == 1 && m_count(1) >= 4) {
				M.counters[RD_SRC_STAT_MAX_SRC_NODES]++;
				M.counters[RD_SRC_STAT_SRC_LIMIT]++;
				want = RD_ERR_LIMIT;
			} else {
				t = m_new(ns, RD_SRC_KIND_TRACK, src, -1);
				newt = true;
			}
		}
	}
	/* model: map */
	if (want == RD_OK && rule == 1) {
		M.counters[RD_SRC_STAT_SEARCH]++;
		k = m_find(1, RD_SRC_KIND_NAT, src);
		if (k >= 0 && !m_in_pool1(M.nodes[k].target)) {
			M.counters[RD_SRC_STAT_STALE]++;
			m_unindex(k);
			k = -1;
		}
		if (k < 0) {
			if (M.n1 == 0) {
				M.counters[RD_SRC_STAT_TRANSLATE]++;
				want = RD_ERR_NOENT;
			} else {
				int tg;
				if (M.cursor1 >= M.n1)
					M.cursor1 = 0;
				tg = M.active1[M.cursor1];
				M.cursor1 = (M.cursor1 + 1) % M.n1;
				if (m_count(1) >= 4) {
					M.counters[RD_SRC_STAT_MAX_SRC_NODES]++;
					M.counters[RD_SRC_STAT_SRC_LIMIT]++;
					want = RD_ERR_LIMIT;
				} else {
					k = m_new(1, RD_SRC_KIND_NAT, src, tg);
				}
			}
		}
		if (k >= 0)
			want_out = t1_addr(M.nodes[k].target);
	} else if (want == RD_OK && rule == 4) {
		uint32_t start = M.cursor4 % 3, best = start;
		for (uint32_t i = 1; i < 3 && M.tstates4[best] != 0; i++) {
			uint32_t j = (start + i) % 3;
			if (M.tstates4[j] * weights4[best] < M.tstates4[best] * weights4[j])
				best = j;
		}
		M.cursor4 = (best + 1) % 3;
		lt = (int)best;
		want_out = t4_addr(lt);
	}
	EXPECT(rc == want, "create rule %u src %d: rc %d, model %d", rule, src, rc, want);
	if (want != RD_OK) {
		if (newt)
			m_unindex(t);
		return;
	}
	if (rule == 1 || rule == 4)
		EXPECT(rd_addr_cmp(&out, &want_out) == 0, "create rule %u src %d: target differs",
		       rule, src);
	if (M.ns >= MAXS) {
		/* The model's array is full: forget the state on both sides. */
		rd_src_state_removed(T, ref, M.now);
		ck_abort_msg("model state array full");
	}
	{
		struct mstate *s = &M.st[M.ns++];
		memset(s, 0, sizeof(*s));
		s->rule = rule;
		s->src = src;
		s->ref = ref;
		for (int i = 0; i < RD_SRC_KIND_COUNT; i++)
			s->node[i] = -1;
		s->node[RD_SRC_KIND_TRACK] = t;
		s->node[RD_SRC_KIND_NAT] = k;
		s->ltarget = lt;
		for (int i = 0; i < RD_SRC_KIND_COUNT; i++) {
			if (s->node[i] < 0)
				continue;
			M.nodes[s->node[i]].states++;
			M.nodes[s->node[i]].idle = false;
			if (M.nodes[s->node[i]].target >= 0)
				M.tstates1[M.nodes[s->node[i]].gen][M.nodes[s->node[i]].target]++;
		}
		if (lt >= 0)
			M.tstates4[lt]++;
	}
}

static void op_remove(int i)
{
	struct mstate *s = &M.st[i];

	rd_src_state_removed(T, s->ref, M.now);
	for (int k = 0; k < RD_SRC_KIND_COUNT; k++) {
		struct mnode *n;
		if (s->node[k] < 0)
			continue;
		n = &M.nodes[s->node[k]];
		if (k == RD_SRC_KIND_TRACK && s->est)
			n->conn--;
		if (n->target >= 0)
			M.tstates1[n->gen][n->target]--;
		if (--n->states == 0 && !n->killed) {
			n->idle = true;
			n->expire = M.now + m_life(n->ns);
		}
	}
	if (s->ltarget >= 0)
		M.tstates4[s->ltarget]--;
	M.st[i] = M.st[--M.ns];
}

/* Kill the states the hooks asked for, as a firewall would after the call. */
static void apply_kills(void)
{
	for (int q = 0; q < n_got_kills; q++) {
		for (int i = 0; i < M.ns;) {
			if ((got_kills[q].rule == RD_SRC_RULE_ANY ||
			     got_kills[q].rule == M.st[i].rule) &&
			    got_kills[q].src == M.st[i].src)
				op_remove(i);
			else
				i++;
		}
	}
}

static int cmp_kill(const void *a, const void *b)
{
	const struct kill_req *x = a, *y = b;

	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->src - y->src;
}

static void check_hooks(const char *what)
{
	qsort(got_kills, (size_t)n_got_kills, sizeof(got_kills[0]), cmp_kill);
	qsort(M.want_kills, (size_t)M.n_want_kills, sizeof(M.want_kills[0]), cmp_kill);
	EXPECT(n_got_kills == M.n_want_kills, "%s: %d kill hooks, model %d", what, n_got_kills,
	       M.n_want_kills);
	for (int i = 0; i < n_got_kills && i < M.n_want_kills; i++)
		EXPECT(cmp_kill(&got_kills[i], &M.want_kills[i]) == 0, "%s: kill hook %d differs",
		       what, i);
	EXPECT(got_overloads == M.want_overloads, "%s: %d overload hooks, model %d", what,
	       got_overloads, M.want_overloads);
	apply_kills();
	n_got_kills = M.n_want_kills = 0;
	got_overloads = M.want_overloads = 0;
}

static void op_establish(int i)
{
	struct mstate *s = &M.st[i];
	int rc, want = RD_OK;

	rc = rd_src_conn_established(T, s->ref, M.now);
	if (!s->est && s->node[RD_SRC_KIND_TRACK] >= 0) {
		struct mnode *n = &M.nodes[s->node[RD_SRC_KIND_TRACK]];
		uint64_t now_s = M.now / S, diff = now_s > n->rate_last ? now_s - n->rate_last : 0;
		uint32_t secs = n->ns == 1 ? 5 : 0;
		bool bad = false;

		s->est = true;
		n->conn++;
		if (secs == 0 || diff >= secs)
			n->rate_count = 0;
		else
			n->rate_count -= (uint32_t)(n->rate_count * diff / secs);
		n->rate_count += 1000;
		n->rate_last = now_s;
		if (n->ns == 1 && 2 < n->conn) {
			M.counters[RD_SRC_STAT_MAX_SRC_CONN]++;
			bad = true;
		}
		if (n->ns == 1 && n->rate_count > 3000) {
			M.counters[RD_SRC_STAT_MAX_SRC_CONN_RATE]++;
			bad = true;
		}
		if (bad) {
			want = RD_ERR_LIMIT;
			M.counters[RD_SRC_STAT_SRC_LIMIT]++;
			M.counters[RD_SRC_STAT_OVERLOAD_TABLE]++;
			M.counters[RD_SRC_STAT_OVERLOAD_FLUSH]++;
			M.want_overloads++;
			M.want_kills[M.n_want_kills++] = (struct kill_req){1, s->src};
		}
	}
	EXPECT(rc == want, "establish rule %u src %d: rc %d, model %d", s->rule, s->src, rc, want);
	if (rc == RD_ERR_LIMIT) /* the firewall kills the state, then the flushed ones */
		op_remove(i);
	check_hooks("establish");
}

static void op_kill_source(int which, int src)
{
	struct rd_src_rule *r = which == 0   ? NULL
	                        : which == 3 ? rd_src_rule_find(T, GLOBAL)
	                                     : R[which];
	struct rd_addr a = src_addr(src);
	size_t got, want = 0;

	got = rd_src_kill_source(T, r, &a, RD_SRC_KILL_STATES, M.now);
	for (int nsi = 0; nsi < 2; nsi++) {
		uint32_t ns = nsi == 0 ? 1 : GLOBAL;
		bool ns_match = which == 0 || (which == 3 ? ns == GLOBAL : ns == (uint32_t)which);
		for (unsigned k = 0; k < 2 && ns_match; k++) {
			int i = m_find(ns, k, src);
			if (i >= 0) {
				want++;
				m_unindex(i);
			}
		}
	}
	EXPECT(got == want, "kill_source %d src %d: %zu, model %zu", which, src, got, want);
	M.want_kills[M.n_want_kills++] =
	    (struct kill_req){which == 1 || which == 2 ? (uint32_t)which : RD_SRC_RULE_ANY, src};
	check_hooks("kill_source");
}

static void op_kill_target(int tg, bool all_rules)
{
	struct rd_addr a = t1_addr(tg);
	size_t got, want = 0;

	got = rd_src_kill_target(T, all_rules ? NULL : R[1],
	                         all_rules ? RD_SRC_KIND_COUNT : RD_SRC_KIND_NAT, &a,
	                         RD_SRC_KILL_STATES, M.now);
	for (int src = 0; src < NSRC; src++) {
		int i = m_find(1, RD_SRC_KIND_NAT, src);
		if (i < 0 || M.nodes[i].target != tg)
			continue;
		want++;
		M.want_kills[M.n_want_kills++] = (struct kill_req){1, src};
		m_unindex(i);
	}
	EXPECT(got == want, "kill_target %d: %zu, model %zu", tg, got, want);
	check_hooks("kill_target");
}

static void op_toggle_target(int tg)
{
	struct rd_addr a = t1_addr(tg);

	for (int i = 0; i < M.n1; i++) {
		if (M.active1[i] != tg)
			continue;
		ck_assert_int_eq(rd_src_pool_remove(T, R[1], RD_SRC_KIND_NAT, &a, 32), 0);
		memmove(&M.active1[i], &M.active1[i + 1], (size_t)(M.n1 - i - 1) * sizeof(int));
		M.n1--;
		if (i < M.cursor1)
			M.cursor1--;
		return;
	}
	ck_assert_int_eq(rd_src_pool_add(T, R[1], RD_SRC_KIND_NAT, &a, 32, 1), 0);
	M.active1[M.n1++] = tg;
}

/*
 * Replace rule 1 (remove it, add it again with the same id): its nodes leave
 * the index at once; its states stay valid and still count on the old nodes.
 */
static void op_replace_rule1(void)
{
	if (M.gen1 == 63) /* the model tracks 64 generations */
		return;
	rd_src_rule_remove(T, R[1]);
	for (int k = 0; k < 2; k++)
		for (int src = 0; src < NSRC; src++)
			if (M.cur[0][k][src] >= 0)
				m_unindex(M.cur[0][k][src]);
	M.gen1++;
	add_rule1();
}

/* ---- comparison ---- */

static void compare_node(struct rd_src_rule *r, uint32_t ns, unsigned kind, int src)
{
	struct rd_addr a = src_addr(src);
	struct rd_src_node_info info;
	int rc = rd_src_lookup(T, r, kind, &a, M.now, &info);
	int m = m_find(ns, kind, src);

	EXPECT((rc == RD_OK) == (m >= 0), "node %u/%s/src %d: present %d, model %d", ns,
	       rd_src_kind_name(kind), src, rc == RD_OK, m >= 0);
	if (rc != RD_OK || m < 0)
		return;
	struct mnode *n = &M.nodes[m];
	EXPECT(info.states == n->states, "node %u/%s/src %d: states %u, model %u", ns,
	       rd_src_kind_name(kind), src, info.states, n->states);
	EXPECT(info.conn == n->conn, "node %u/%s/src %d: conn %u, model %u", ns,
	       rd_src_kind_name(kind), src, info.conn, n->conn);
	EXPECT(info.conn_rate == n->rate_count, "node %u/%s/src %d: rate %u, model %u", ns,
	       rd_src_kind_name(kind), src, info.conn_rate, n->rate_count);
	EXPECT(info.expire == (n->idle ? n->expire : 0), "node %u/%s/src %d: expire differs", ns,
	       rd_src_kind_name(kind), src);
	EXPECT(info.creation == n->creation, "node %u/%s/src %d: creation differs", ns,
	       rd_src_kind_name(kind), src);
	if (kind == RD_SRC_KIND_NAT) {
		struct rd_addr want = t1_addr(n->target);
		EXPECT(rd_addr_cmp(&info.target, &want) == 0, "node src %d: target differs", src);
	}
}

static void compare_all(void)
{
	static const unsigned counters[] = {
	    RD_SRC_STAT_SRC_LIMIT,
	    RD_SRC_STAT_MAX_SRC_STATES,
	    RD_SRC_STAT_MAX_SRC_NODES,
	    RD_SRC_STAT_MAX_SRC_CONN,
	    RD_SRC_STAT_MAX_SRC_CONN_RATE,
	    RD_SRC_STAT_OVERLOAD_TABLE,
	    RD_SRC_STAT_OVERLOAD_FLUSH,
	    RD_SRC_STAT_STALE,
	    RD_SRC_STAT_TRANSLATE,
	    RD_SRC_STAT_SEARCH,
	    RD_SRC_STAT_INSERT,
	};
	uint32_t live = m_live();

	for (int s = 0; s < NSRC; s++) {
		compare_node(R[1], 1, RD_SRC_KIND_TRACK, s);
		compare_node(R[1], 1, RD_SRC_KIND_NAT, s);
		compare_node(rd_src_rule_find(T, GLOBAL), GLOBAL, RD_SRC_KIND_TRACK, s);
	}
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		EXPECT(src_stat(T, counters[i]) == M.counters[counters[i]],
		       "counter %s: %llu, model %llu", rd_src_stat_name(counters[i]),
		       (unsigned long long)src_stat(T, counters[i]),
		       (unsigned long long)M.counters[counters[i]]);
	for (int i = 0; i < 3; i++) {
		struct rd_addr a = t1_addr(i), b = t4_addr(i);
		int64_t want = m_in_pool1(i) ? (int64_t)M.tstates1[M.gen1][i] : -1;
		EXPECT(rd_src_pool_target_states(T, R[1], RD_SRC_KIND_NAT, &a, 32) == want,
		       "rule 1 target %d load differs", i);
		EXPECT(rd_src_pool_target_states(T, R[4], RD_SRC_KIND_NAT, &b, 32) ==
		           (int64_t)M.tstates4[i],
		       "rule 4 target %d load differs", i);
	}
	EXPECT(rd_src_count(T) >= live, "index holds %u nodes, model %u live", rd_src_count(T),
	       live);
}

static bool run_seed(uint64_t seed, int steps)
{
	setup_run(seed);
	fail_msg[0] = 0;
	for (int step = 0; step < steps && fail_msg[0] == 0; step++) {
		uint32_t op = pick(100);

		if (op < 35) {
			op_create(1 + pick(4), (int)pick(NSRC));
		} else if (op < 55 && M.ns > 0) {
			op_remove((int)pick((uint32_t)M.ns));
		} else if (op < 72 && M.ns > 0) {
			op_establish((int)pick((uint32_t)M.ns));
		} else if (op < 85) {
			M.now += pick(4) == 0 ? pick(12) * S : pick(2500) * RD_MSEC;
		} else if (op < 90) {
			uint32_t live;
			size_t budget = pick(3) == 0 ? 1000000 : pick(8);

			rd_src_handle_expiry(T, M.now, budget);
			if (budget == 1000000) {
				live = m_live();
				EXPECT(rd_src_count(T) == live,
				       "after a full expire %u nodes, model %u", rd_src_count(T),
				       live);
			}
		} else if (op < 93) {
			op_kill_source((int)pick(4), (int)pick(NSRC));
		} else if (op < 96) {
			op_kill_target((int)pick(3), pick(2) == 0);
		} else if (op < 99) {
			op_toggle_target((int)pick(3));
		} else {
			op_replace_rule1();
		}
		compare_all();
		if (fail_msg[0] != 0)
			fail_seed_step = step;
	}
	/* Remove every state: the table must end with only idle nodes. */
	while (M.ns > 0 && fail_msg[0] == 0)
		op_remove(M.ns - 1);
	rd_src_table_free(T);
	return fail_msg[0] == 0;
}

START_TEST(tracker_agrees_with_reference_model)
{
	int seeds = 300, steps = 3000;
	const char *e;

	if ((e = getenv("SRCTRACK_PROP_SEEDS")) != NULL)
		seeds = atoi(e);
	if ((e = getenv("SRCTRACK_PROP_STEPS")) != NULL)
		steps = atoi(e);
	for (int s = 1; s <= seeds; s++) {
		if (!run_seed((uint64_t)s, steps)) {
			fprintf(stderr, "srctrack property: seed %d step %d: %s\n", s,
			        fail_seed_step, fail_msg);
			ck_abort_msg("seed %d step %d: %s", s, fail_seed_step, fail_msg);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("srctrack-property");
	TCase *c = tcase_create("model");
	SRunner *sr;
	int failed;

	if (rd_init() != 0)
		return 1;
	tcase_add_test(c, tracker_agrees_with_reference_model);
	tcase_set_timeout(c, 300);
	suite_add_tcase(s, c);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
