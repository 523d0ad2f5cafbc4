/*
 * Property test: 2 to 8 nodes, each a state table + sync engine + secure
 * channel, on one simulated segment with loss up to 30 %, duplication,
 * reordering, jitter, a partition and a crash/restart, all drawn from the
 * seed. Each node creates, updates and deletes states at random. After the
 * network heals and goes quiet, every live node's table holds exactly the
 * same states of the live creators (their id, key and peer states), and no
 * node still holds a CARP demotion.
 *
 * SYNC_SIM_SEEDS (default 500; 100 under AddressSanitizer, which is several
 * times slower) seeds from SYNC_SIM_FIRST (default 1). Debugging aids:
 * SYNC_SIM_DEBUG=1 prints the differing states and counters of a failing
 * seed, SYNC_SIM_STATS=1 the counters of every seed, SYNC_SIM_WATCH=<id in
 * hex> every message about one state and every BUS, SYNC_SIM_END=<ms>
 * stops early.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/sim.h"
#include "redund/sync.h"
#include "redund/sync_engine.h"
#include "redund/sync_carry.h"

#define MAXN    8
#define MAXOWN  512
#define T_STOP  (8 * RD_SEC)  /* workload and faults end */
#define T_END   (40 * RD_SEC) /* quiet, healed network until then */
#define UDP_HDR 28

struct world;

struct snode {
	struct world *w;
	int idx;
	struct rd_state_table *t;
	struct rd_sync_carry *carry; /* owns e and ch */
	struct rd_sync_engine *e;
	struct rd_sync_channel *ch;
	int demotion;
	uint16_t port;
	uint64_t own[MAXOWN]; /* ids of live states this incarnation created */
	size_t nown;
};

struct world {
	struct rd_sim *sim;
	struct snode nodes[MAXN];
	int n;
	struct rd_sync_key key;
};

static uint64_t watch_id;
static void on_event(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	struct snode *nd = user;
	if (watch_id != 0 && st->id == watch_id && ev == RD_STATE_EV_REMOVE)
		fprintf(stderr, "t=%.6f node %d REMOVE why %d (engine %s)\n", now / 1e9, nd->idx,
		        why, nd->e ? "on" : "off");
	if (nd->e != NULL)
		rd_sync_engine_state_event(nd->e, st, ev, why, now);
}

static const char *watch_what;
static int watch_node;
static rd_time_t watch_now;
static int watch_cb(void *u, const struct rd_pfsync_msg *m)
{
	(void)u;
	uint64_t id = m->action == RD_PFSYNC_ACT_INS || m->action == RD_PFSYNC_ACT_UPD
	                  ? m->u.state.id
	              : m->action == RD_PFSYNC_ACT_UPD_C ? m->u.upd_c.id
	                                                 : m->u.ref.id;
	if (m->action == RD_PFSYNC_ACT_BUS)
		fprintf(stderr, "t=%.6f node %d %s BUS %s from %08x\n", watch_now / 1e9, watch_node,
		        watch_what, m->u.bus.status == 1 ? "START" : "END", m->u.bus.creatorid);
	if (id == watch_id)
		fprintf(stderr, "t=%.6f node %d %s %s\n", watch_now / 1e9, watch_node, watch_what,
		        rd_pfsync_action_name(m->action));
	return 0;
}
static void watch(struct snode *nd, const char *what, const uint8_t *pkt, size_t len, rd_time_t now)
{
	if (watch_id == 0)
		return;
	watch_what = what;
	watch_node = nd->idx;
	watch_now = now;
	rd_pfsync_decode(pkt, len, NULL, NULL, watch_cb, NULL);
}

static void eng_send(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct snode *nd = user;
	watch(nd, "send", pkt, len, now); /* the carry sends it on through the channel */
}

static size_t eng_room(void *user)
{
	struct snode *nd = user;
	return rd_sync_channel_room(nd->ch);
}

static void eng_demote(void *user, int delta, rd_time_t now)
{
	struct snode *nd = user;
	(void)now;
	nd->demotion += delta;
}

static void ch_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	struct snode *nd = user;
	uint8_t ip[1600];

	/* Unicast to one peer (a resend) is addressed to it; others drop it. */
	uint32_t dst = 0xef0000f0u;
	for (int i = 0; to != 0 && i < nd->w->n; i++)
		if (nd->w->nodes[i].t != NULL && rd_state_creatorid(nd->w->nodes[i].t) == to)
			dst = 0x0a000001u + (uint32_t)i;
	ck_assert_uint_le(len + UDP_HDR, sizeof(ip));
	memset(ip, 0, UDP_HDR);
	ip[0] = 0x45;
	rd_put16(ip + 2, (uint16_t)(len + UDP_HDR));
	ip[8] = 64;
	ip[9] = 17;
	rd_put32(ip + 12, 0x0a000001u + (uint32_t)nd->idx);
	rd_put32(ip + 16, dst);
	rd_put16(ip + 10, rd_cksum(ip, 20));
	rd_put16(ip + 20, RD_SYNC_UDP_PORT);
	rd_put16(ip + 22, RD_SYNC_UDP_PORT);
	rd_put16(ip + 24, (uint16_t)(len + 8));
	memcpy(ip + UDP_HDR, pkt, len);
	rd_sim_send(nd->w->sim, nd->idx, 0, ip, len + UDP_HDR);
}

static void ch_deliver(void *user, uint32_t from, uint64_t seq, const uint8_t *pl, size_t len,
                       rd_time_t now)
{
	struct snode *nd = user;
	struct rd_pfsync_info info;

	/*
	 * The engine has applied it (sync_carry.h); everything it gets was sealed by an engine:
	 * valid.
	 */
	watch(nd, "deliver", pl, len, now);
	uint64_t es[RD_SYNC_ENGINE_STAT_COUNT];
	rd_sync_engine_stats(nd->e, es);
	if (es[RD_SYNC_ENGINE_STAT_REFUSED] != 0) {
		rd_pfsync_check(pl, len, &info);
		ck_abort_msg("node %d: refused payload from %08x seq %llu len %zu: %s at %zu",
		             nd->idx, from, (unsigned long long)seq, len,
		             rd_pfsync_stat_name(info.reason), info.offset);
	}
}

static void boot(struct snode *nd, rd_time_t now)
{
	struct rd_state_config sc;
	struct rd_sync_carry_config cfg;
	struct rd_sync_channel_config *cc = &cfg.channel;
	struct rd_sync_engine_config *ec = &cfg.engine;

	rd_state_config_default(&sc);
	sc.random = rd_sim_random_hook(nd->w->sim);
	sc.cb.event = on_event;
	sc.cb.user = nd;
	for (int i = 0; i < RD_STATE_TM_COUNT; i++)
		sc.timeouts[i] = 100000; /* nothing expires during the test */
	sc.timeouts[RD_STATE_TM_ADAPTIVE_START] = 0;
	sc.timeouts[RD_STATE_TM_ADAPTIVE_END] = 0;
	ck_assert_int_eq(rd_state_table_new(&sc, &nd->t), 0);

	rd_sync_carry_config_default(&cfg);
	cc->sender_id = rd_state_creatorid(nd->t);
	cc->seq_start = now + 1; /* later than anything a previous incarnation used */
	cc->keys = &nd->w->key;
	cc->nkeys = 1;
	cc->send_key_id = nd->w->key.id;
	cc->max_peers = 64;
	cc->cb.send = ch_send;
	cc->cb.deliver = ch_deliver;
	cc->cb.user = nd;
	cc->random = rd_sim_random_hook(nd->w->sim);
	ec->table = nd->t;
	ec->cb.send = eng_send;
	ec->cb.demote = eng_demote;
	ec->cb.room = eng_room;
	ec->cb.user = nd;
	/* The binding syncd uses. */
	ck_assert_int_eq(rd_sync_carry_new(&cfg, &nd->carry), 0);
	nd->ch = rd_sync_carry_channel(nd->carry);
	nd->e = rd_sync_carry_engine(nd->carry);
	nd->nown = 0;
	nd->demotion = 0;
	rd_sync_engine_bulk_request(nd->e, now);
}

static void shutdown_node(struct snode *nd)
{
	rd_sync_carry_free(nd->carry);
	nd->carry = NULL;
	nd->e = NULL;
	nd->ch = NULL;
	rd_state_table_free(nd->t, 0);
	nd->t = NULL;
}

static void n_deliver(void *user, int segment, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct snode *nd = user;
	(void)segment;
	if (len > UDP_HDR && rd_get32(pkt + 16) != 0xef0000f0u &&
	    rd_get32(pkt + 16) != 0x0a000001u + (uint32_t)nd->idx)
		return; /* unicast to another node */
	if (len > UDP_HDR) {
		int rc = rd_sync_channel_input(nd->ch, pkt + UDP_HDR, len - UDP_HDR, now);
		if (watch_id != 0)
			fprintf(stderr, "t=%.6f node %d in type %u seq %llu from %08x rc %d\n",
			        now / 1e9, nd->idx, pkt[UDP_HDR + 3],
			        (unsigned long long)rd_get64(pkt + UDP_HDR + 12),
			        rd_get32(pkt + UDP_HDR + 8), rc);
	}
}

static rd_time_t n_expiry(void *user)
{
	struct snode *nd = user;
	if (nd->ch == NULL)
		return RD_TIME_NEVER; /* not booted yet, or crashed */
	rd_time_t a = rd_sync_channel_expiry(nd->ch), b = rd_sync_engine_expiry(nd->e);
	return a < b ? a : b;
}

static void n_handle(void *user, rd_time_t now)
{
	struct snode *nd = user;
	rd_sync_channel_handle_expiry(nd->ch, now);
	rd_sync_engine_handle_expiry(nd->e, now);
}

static void n_crash(void *user)
{
	shutdown_node(user);
}

static void n_restart(void *user, rd_time_t now)
{
	boot(user, now);
}

static const struct rd_sim_node_callbacks ops = {.deliver = n_deliver,
                                                 .expiry = n_expiry,
                                                 .handle_expiry = n_handle,
                                                 .crash = n_crash,
                                                 .restart = n_restart};

/* One random local action: create (60 %), update (25 %) or delete. */
static void act(void *user, rd_time_t now)
{
	struct snode *nd = user;
	struct rd_sim *sim = nd->w->sim;
	uint64_t r = rd_sim_random(sim);

	if (now < T_STOP)
		rd_sim_call_at(sim, now + 20 * RD_MSEC + (r >> 40) % (60 * RD_MSEC), act, nd);
	if (rd_sim_node_state(sim, nd->idx) != RD_SIM_NODE_UP)
		return;
	unsigned what = (unsigned)(r % 100);
	if (what < 60 || nd->nown == 0) {
		struct rd_state_pkt p;
		struct rd_state_opts o = {.rule = 0};
		struct rd_state *st;
		if (nd->nown == MAXOWN)
			return;
		memset(&p, 0, sizeof(p));
		p.af = RD_AF_INET;
		p.proto = 17;
		p.dir = RD_STATE_OUT;
		p.src = rd_addr_v4(0x0a010000u + (uint32_t)nd->idx);
		p.dst = rd_addr_v4(0xc0a80001u);
		p.sport = ++nd->port;
		p.dport = 53;
		p.wscale = -1;
		p.tot_len = 60;
		if (rd_state_create(nd->t, &p, &o, now, &st) == 0)
			nd->own[nd->nown++] = st->id;
	} else {
		size_t k = (size_t)((r >> 20) % nd->nown);
		struct rd_state *st =
		    rd_state_find_id(nd->t, nd->own[k], rd_state_creatorid(nd->t), now);
		ck_assert_ptr_nonnull(st);
		if (what < 85) {
			/* The reply: moves the state's dst side. */
			struct rd_state_pkt p;
			struct rd_state_result res;
			memset(&p, 0, sizeof(p));
			p.af = RD_AF_INET;
			p.proto = 17;
			p.dir = RD_STATE_IN;
			p.src = rd_addr_v4(0);
			p.dst = rd_addr_v4(0);
			/* Own states are OUT: addr[1] is the client, addr[0] the server. */
			memcpy(p.src.u.v4, st->key.addr[0], 4);
			memcpy(p.dst.u.v4, st->key.addr[1], 4);
			p.sport = st->key.port[0];
			p.dport = st->key.port[1];
			p.wscale = -1;
			p.tot_len = 60;
			rd_state_packet(nd->t, &p, now, &res);
		} else {
			rd_state_remove(nd->t, st, now);
			nd->own[k] = nd->own[--nd->nown];
		}
	}
}

struct rec {
	uint64_t id;
	uint32_t creatorid;
	uint8_t src_state, dst_state;
	struct rd_state_key key;
};

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->creatorid != y->creatorid)
		return x->creatorid < y->creatorid ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

static size_t snapshot(struct world *w, struct snode *nd, const uint32_t *live, int nlive,
                       struct rec *out, size_t max)
{
	struct rd_state_iter it;
	struct rd_state *st;
	size_t n = 0;

	(void)w;
	rd_state_iter_init(&it);
	while ((st = rd_state_iter_next(nd->t, &it)) != NULL) {
		bool ok = false;
		for (int i = 0; i < nlive; i++)
			ok |= st->creatorid == live[i];
		if (!ok)
			continue;
		ck_assert_uint_lt(n, max);
		memset(&out[n], 0, sizeof(out[n]));
		out[n].id = st->id;
		out[n].creatorid = st->creatorid;
		out[n].src_state = st->src.state;
		out[n].dst_state = st->dst.state;
		out[n].key = st->key;
		n++;
	}
	qsort(out, n, sizeof(*out), rec_cmp);
	return n;
}

static void run_seed(uint64_t seed)
{
	struct rd_sim_config cfg = {.seed = seed};
	struct world *w = calloc(1, sizeof(*w));
	struct rd_sim_link link = {0};
	static struct rec ref[MAXN * MAXOWN], cur[MAXN * MAXOWN];

	ck_assert_int_eq(rd_sim_new(&cfg, &w->sim), 0);
	w->n = 2 + (int)(rd_sim_random(w->sim) % (MAXN - 1));
	w->key.id = 1;
	for (int i = 0; i < RD_SYNC_KEY_LEN; i++)
		w->key.key[i] = (uint8_t)(seed * 31 + (uint64_t)i);
	link.loss_ppm = (uint32_t)(rd_sim_random(w->sim) % RD_SIM_PCT(30));
	link.dup_ppm = (uint32_t)(rd_sim_random(w->sim) % RD_SIM_PCT(5));
	link.reorder_ppm = (uint32_t)(rd_sim_random(w->sim) % RD_SIM_PCT(10));
	link.reorder_delay = 5 * RD_MSEC;
	link.delay = RD_MSEC;
	link.jitter = 2 * RD_MSEC;
	ck_assert_int_ge(rd_sim_segment_add(w->sim, &link), 0);
	for (int i = 0; i < w->n; i++) {
		struct snode *nd = &w->nodes[i];
		nd->w = w;
		struct rd_sim_node_callbacks cb = ops;
		cb.user = nd;
		nd->idx = rd_sim_node_add(w->sim, &cb);
		ck_assert_int_eq(nd->idx, i);
		ck_assert_int_eq(rd_sim_attach(w->sim, i, 0), 0);
		boot(nd, 0);
		ck_assert_int_eq(rd_sim_node_rearm(w->sim, i), 0);
		rd_sim_call_at(w->sim, RD_MSEC * (1 + (uint64_t)i), act, nd);
	}
	uint64_t faults = rd_sim_random(w->sim);
	if (faults & 1) {
		int group[MAXN];
		for (int i = 0; i < w->n; i++)
			group[i] = (int)((faults >> (8 + i)) & 1);
		rd_sim_partition_at(w->sim, 2 * RD_SEC, 0, group, (size_t)w->n);
		rd_sim_heal_at(w->sim, 6 * RD_SEC, 0);
	}
	if (faults & 2) {
		int victim = (int)((faults >> 20) % (uint64_t)w->n);
		rd_sim_crash_at(w->sim, 3 * RD_SEC, victim);
		if (faults & 4)
			rd_sim_restart_at(w->sim, 5 * RD_SEC, victim);
	}
	/* The network heals for good when the workload stops. */
	struct rd_sim_link clean = {.delay = RD_MSEC};
	rd_sim_link_at(w->sim, T_STOP, 0, &clean);
	rd_sim_heal_at(w->sim, T_STOP, 0);
	rd_time_t t_end =
	    getenv("SYNC_SIM_END") ? strtoull(getenv("SYNC_SIM_END"), NULL, 10) * RD_MSEC : T_END;
	ck_assert_int_ge(rd_sim_run_until(w->sim, t_end), 0);
	if (getenv("SYNC_SIM_STATS") != NULL) {
		uint64_t ss[RD_SIM_STAT_COUNT];
		rd_sim_stats(w->sim, -1, ss);
		fprintf(stderr, "sim: sent %llu delivered %llu lost %llu timers %llu stuck %llu\n",
		        (unsigned long long)ss[RD_SIM_STAT_SENT],
		        (unsigned long long)ss[RD_SIM_STAT_DELIVERED],
		        (unsigned long long)ss[RD_SIM_STAT_LOST],
		        (unsigned long long)ss[RD_SIM_STAT_TIMERS],
		        (unsigned long long)ss[RD_SIM_STAT_TIMER_STUCK]);
		for (int i = 0; i < w->n; i++) {
			if (w->nodes[i].ch == NULL)
				continue;
			uint64_t cs[RD_SYNC_STAT_COUNT], es[RD_SYNC_ENGINE_STAT_COUNT];
			rd_sync_channel_stats(w->nodes[i].ch, cs);
			rd_sync_engine_stats(w->nodes[i].e, es);
			fprintf(stderr, "node %d:", i);
			for (int x = 0; x < RD_SYNC_STAT_COUNT; x++)
				if (cs[x])
					fprintf(stderr, " %s=%llu", rd_sync_stat_name(x),
					        (unsigned long long)cs[x]);
			for (int x = 0; x < RD_SYNC_ENGINE_STAT_COUNT; x++)
				if (es[x])
					fprintf(stderr, " %s=%llu", rd_sync_engine_stat_name(x),
					        (unsigned long long)es[x]);
			fprintf(stderr, "\n");
		}
	}

	uint32_t live[MAXN];
	int nlive = 0;
	for (int i = 0; i < w->n; i++)
		if (rd_sim_node_state(w->sim, i) == RD_SIM_NODE_UP)
			live[nlive++] = rd_state_creatorid(w->nodes[i].t);
	size_t nref = 0;
	int first = -1;
	for (int i = 0; i < w->n; i++) {
		struct snode *nd = &w->nodes[i];
		if (rd_sim_node_state(w->sim, i) != RD_SIM_NODE_UP)
			continue;
		ck_assert_msg(nd->demotion == 0 && !rd_sync_engine_bulk_pending(nd->e),
		              "seed %llu: node %d still demoted (%d)", (unsigned long long)seed, i,
		              nd->demotion);
		size_t n = snapshot(w, nd, live, nlive, first < 0 ? ref : cur, MAXN * MAXOWN);
		if (first < 0) {
			first = i;
			nref = n;
			continue;
		}
		if (getenv("SYNC_SIM_DEBUG") != NULL && n != nref) {
			fprintf(stderr, "seed %llu nodes %d faults %llx loss %u\n",
			        (unsigned long long)seed, w->n, (unsigned long long)faults,
			        link.loss_ppm);
			for (int j = 0; j < w->n; j++)
				if (rd_sim_node_state(w->sim, j) == RD_SIM_NODE_UP)
					fprintf(stderr, " node %d creator %08x own %zu\n", j,
					        rd_state_creatorid(w->nodes[j].t),
					        w->nodes[j].nown);
			for (size_t k = 0, m = 0; k < nref || m < n;) {
				int c = k == nref ? 1 : m == n ? -1 : rec_cmp(&ref[k], &cur[m]);
				if (c < 0)
					fprintf(stderr, "  only in %d: %llx/%08x\n", first,
					        (unsigned long long)ref[k].id, ref[k].creatorid),
					    k++;
				else if (c > 0)
					fprintf(stderr, "  only in %d: %llx/%08x\n", i,
					        (unsigned long long)cur[m].id, cur[m].creatorid),
					    m++;
				else
					k++, m++;
			}
			uint64_t es[RD_SYNC_ENGINE_STAT_COUNT];
			rd_sync_engine_stats(nd->e, es);
			for (int x = 0; x < RD_SYNC_ENGINE_STAT_COUNT; x++)
				fprintf(stderr, " %s=%llu", rd_sync_engine_stat_name(x),
				        (unsigned long long)es[x]);
			fprintf(stderr, "\n");
			uint64_t cs[RD_SYNC_STAT_COUNT];
			rd_sync_channel_stats(nd->ch, cs);
			for (int x = 0; x < RD_SYNC_STAT_COUNT; x++)
				fprintf(stderr, " %s=%llu", rd_sync_stat_name(x),
				        (unsigned long long)cs[x]);
			fprintf(stderr, "\n");
		}
		ck_assert_msg(n == nref,
		              "seed %llu: node %d has %zu live-creator states, node %d %zu",
		              (unsigned long long)seed, i, n, first, nref);
		for (size_t k = 0; k < n; k++)
			ck_assert_msg(memcmp(&cur[k], &ref[k], sizeof(cur[k])) == 0,
			              "seed %llu: node %d differs from node %d at state %zu "
			              "(id %llx/%08x)",
			              (unsigned long long)seed, i, first, k,
			              (unsigned long long)cur[k].id, cur[k].creatorid);
	}
	/* Each live node's own states are in the common table. */
	for (int i = 0; i < w->n; i++) {
		struct snode *nd = &w->nodes[i];
		if (rd_sim_node_state(w->sim, i) != RD_SIM_NODE_UP)
			continue;
		for (size_t k = 0; k < nd->nown; k++) {
			struct rec key = {.id = nd->own[k], .creatorid = rd_state_creatorid(nd->t)};
			ck_assert_msg(bsearch(&key, ref, nref, sizeof(ref[0]), rec_cmp) != NULL,
			              "seed %llu: node %d's state missing",
			              (unsigned long long)seed, i);
		}
	}
	for (int i = 0; i < w->n; i++)
		if (rd_sim_node_state(w->sim, i) != RD_SIM_NODE_CRASHED)
			shutdown_node(&w->nodes[i]);
	rd_sim_free(w->sim);
	free(w);
}

START_TEST(tables_converge_after_heal_for_every_seed)
{
	const char *s = getenv("SYNC_SIM_SEEDS"), *f = getenv("SYNC_SIM_FIRST");
#if defined(__SANITIZE_ADDRESS__)
	uint64_t seeds = s != NULL ? strtoull(s, NULL, 10) : 100;
#else
	uint64_t seeds = s != NULL ? strtoull(s, NULL, 10) : 500;
#endif
	uint64_t first = f != NULL ? strtoull(f, NULL, 10) : 1;
	if (getenv("SYNC_SIM_WATCH") != NULL)
		watch_id = strtoull(getenv("SYNC_SIM_WATCH"), NULL, 16);

	for (uint64_t seed = first; seed < first + seeds; seed++)
		run_seed(seed);
}
END_TEST

int main(void)
{
	if (rd_init() != 0)
		return EXIT_FAILURE;
	Suite *s = suite_create("sync-sim");
	TCase *c = tcase_create("converge");
	tcase_set_timeout(c, 1200);
	tcase_add_test(c, tables_converge_after_heal_for_every_seed);
	suite_add_tcase(s, c);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
