/*
 * Property test: long random operation sequences (create, lookup, packet,
 * time passing, incremental expiry, kill, remove) run against the table and
 * against a reference model, a plain array searched linearly, which must
 * agree at every step. The model shares only the per-packet protocol
 * tracker (rd_state_track, unit-tested rule by rule in test_tcp.c) and the
 * key builder (test_state.c); storage, indexing, ids, collisions, limits,
 * expiry, kill and iteration are re-derived here the obvious way.
 *
 * Tuples come from a tiny space so keys collide, reply and repeat often.
 * On failure the seed and step are printed; rerun one seed with
 * PROPERTY_SEED=n, change the number of seeds with PROPERTY_SEEDS=n.
 */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "state/state_internal.h"

#define MAXM  256
#define LIMIT 48

struct mstate {
	struct rd_state s; /* the model's copy: key, peers, counters, times */
	struct rd_state_key stack;
};

static struct mstate model[MAXM];
static size_t nmodel;
static uint64_t rs;
static const char *fail_what;
static bool verbose;
static unsigned long fail_step;

static uint32_t rnd(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs % n);
}

#define CHECK(cond, what)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fail_what = what;                                                          \
			return false;                                                              \
		}                                                                                  \
	} while (0)

static const uint32_t rule_udp_first[4] = {0, 0, 5, 0}; /* rule 2 overrides udp.first */

static rd_time_t m_expires(const struct rd_state_table *t, const struct rd_state *s)
{
	uint32_t to = rd_state_get_timeout(t, s->timeout);
	if (s->rule < 4 && s->timeout == RD_STATE_TM_UDP_FIRST_PACKET && rule_udp_first[s->rule])
		to = rule_udp_first[s->rule];
	return s->last + (rd_time_t)to * RD_SEC;
}

static bool m_expired(const struct rd_state_table *t, const struct rd_state *s, rd_time_t now)
{
	return m_expires(t, s) <= now;
}

static const struct rd_state_key *m_stack(const struct mstate *m)
{
	return (m->s.flags & RD_STATE_F_NAT) ? &m->stack : &m->s.key;
}

static void m_remove(size_t i)
{
	model[i] = model[--nmodel];
}

static struct mstate *m_find_id(uint64_t id, uint32_t cid)
{
	for (size_t i = 0; i < nmodel; i++)
		if (model[i].s.id == id && model[i].s.creatorid == cid)
			return &model[i];
	return NULL;
}

/* pf_find_state, the obvious way: best[] gets all equally good candidates. */
static size_t m_lookup(const struct rd_state_table *t, const struct rd_state_key *k, unsigned dir,
                       uint16_t ifindex, rd_time_t now, struct mstate **best)
{
	size_t nb = 0, nf = 0;
	struct mstate *fl[MAXM];
	for (size_t i = 0; i < nmodel; i++) {
		struct mstate *m = &model[i];
		const struct rd_state_key *mk =
		    (m->s.flags & RD_STATE_F_NAT) && dir == RD_STATE_OUT ? &m->stack : &m->s.key;
		if (memcmp(mk, k, sizeof(*k)) != 0 || m_expired(t, &m->s, now))
			continue;
		if (m->s.ifindex != 0 && ifindex != 0 && m->s.ifindex != ifindex)
			continue;
		if (m->s.ifindex != 0 && m->s.ifindex == ifindex)
			best[nb++] = m;
		else
			fl[nf++] = m;
	}
	if (nb > 0)
		return nb;
	for (size_t i = 0; i < nf; i++)
		best[i] = fl[i];
	return nf;
}

static bool in_set(struct mstate **set, size_t n, const struct rd_state *st, struct mstate **which)
{
	for (size_t i = 0; i < n; i++)
		if (set[i]->s.id == st->id && set[i]->s.creatorid == st->creatorid) {
			*which = set[i];
			return true;
		}
	return false;
}

static bool same_state(const struct rd_state *a, const struct rd_state *b)
{
	return memcmp(&a->key, &b->key, sizeof(a->key)) == 0 && a->id == b->id &&
	       a->rule == b->rule && memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	       memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0 && a->packets[0] == b->packets[0] &&
	       a->packets[1] == b->packets[1] && a->bytes[0] == b->bytes[0] &&
	       a->bytes[1] == b->bytes[1] && a->last == b->last && a->timeout == b->timeout &&
	       a->ifindex == b->ifindex &&
	       (a->flags & RD_STATE_F_USER_MASK) == (b->flags & RD_STATE_F_USER_MASK);
}

static struct rd_state_pkt random_pkt(void)
{
	static const uint8_t protos[] = {6, 6, 6, 17, 17, 1, 47};
	uint8_t proto = protos[rnd(sizeof(protos))];
	uint32_t a = 0x0a000001u + rnd(3), b = 0x0a000001u + rnd(3);
	struct rd_state_pkt p =
	    mkpkt(proto, rnd(2), a, (uint16_t)(1 + rnd(2)), b, (uint16_t)(1 + rnd(2)));
	p.ifindex = (uint16_t)rnd(3);
	p.tot_len = 40 + rnd(100);
	if (proto == 6) {
		static const uint8_t fl[] = {
		    RD_TH_SYN, RD_TH_SYN | RD_TH_ACK, RD_TH_ACK,
		    RD_TH_ACK, RD_TH_ACK | RD_TH_PSH, RD_TH_FIN | RD_TH_ACK,
		    RD_TH_RST, RD_TH_RST | RD_TH_ACK};
		p.tcp_flags = fl[rnd(sizeof(fl))];
		/* sequence numbers near a few bases so some are in window */
		p.seq = 1000u * (1 + rnd(3)) + rnd(3000) - (rnd(8) == 0 ? 100000 : 0);
		p.ack = 1000u * (1 + rnd(3)) + rnd(3000);
		p.win = (uint16_t)(rnd(4) == 0 ? 0 : 1 + rnd(65535));
		p.wscale = (int8_t)(rnd(3) == 0 ? (int)rnd(15) : -1);
		p.payload_len = rnd(3) == 0 ? 0 : rnd(1500);
	} else if (proto == 1) {
		p.icmp_type = rnd(2) ? 8 : 0;
		p.icmp_id = (uint16_t)rnd(2);
	}
	return p;
}

/* Model and table hold the same live states, and no model state is unknown. */
static bool compare_all(struct rd_state_table *t, rd_time_t now)
{
	size_t live = 0;
	for (size_t i = 0; i < nmodel; i++) {
		struct rd_state *st = rd_state_find_id(t, model[i].s.id, model[i].s.creatorid, now);
		if (m_expired(t, &model[i].s, now)) {
			CHECK(st == NULL, "expired state still visible by id");
			continue;
		}
		live++;
		CHECK(st != NULL, "live model state missing from the table");
		CHECK(same_state(st, &model[i].s), "state contents differ");
		CHECK(memcmp(rd_state_stack_key(t, st), m_stack(&model[i]), sizeof(st->key)) == 0,
		      "stack key differs");
	}
	/* iteration: the table holds exactly the model's states (live or not yet purged) */
	struct rd_state_iter it;
	struct rd_state *st;
	size_t n = 0;
	rd_state_iter_init(&it);
	while ((st = rd_state_iter_next(t, &it)) != NULL) {
		CHECK(m_find_id(st->id, st->creatorid) != NULL, "table state unknown to the model");
		n++;
	}
	CHECK(n == nmodel, "state count differs");
	CHECK(rd_state_count(t) == nmodel, "rd_state_count differs");
	(void)live;
	return true;
}

static bool step(struct rd_state_table *t, struct rd_state_table *scratch, rd_time_t *now)
{
	uint32_t op = rnd(100);
	if (verbose)
		printf("step %lu op %u model %zu table %u\n", fail_step, op, nmodel,
		       rd_state_count(t));
	if (op < 30) { /* create */
		struct rd_state_pkt p = random_pkt();
		struct rd_state_opts o = {.rule = rnd(5) == 4 ? RD_STATE_RULE_NONE : rnd(4)};
		o.if_bound = (uint8_t)(p.ifindex != 0 && rnd(2));
		o.flags = (uint8_t)(rnd(6) == 0 ? RD_STATE_F_SLOPPY : 0);
		if (rnd(5) == 0) {
			o.nat = 1;
			o.nsrc = rd_addr_v4(0xc0000001u + rnd(2));
			o.ndst = p.dst;
			o.nsport = (uint16_t)(100 + rnd(2));
			o.ndport = p.dport;
		}
		struct rd_state_key k1, k2, wire, stack;
		rd_state_key_from_pkt(&p, &k1);
		k2 = k1;
		if (o.nat) {
			struct rd_state_pkt np = p;
			np.src = o.nsrc;
			np.sport = o.nsport;
			rd_state_key_from_pkt(&np, &k2);
		}
		wire = p.dir == RD_STATE_IN ? k1 : k2;
		stack = p.dir == RD_STATE_IN ? k2 : k1;
		uint16_t ifx = o.if_bound ? p.ifindex : 0;
		uint8_t outf = p.dir == RD_STATE_OUT ? RD_STATE_F_OUT : 0;
		/* expected result, pf's order: limit, rule max, collisions */
		int want = 0;
		size_t rule_cnt = 0;
		for (size_t i = 0; i < nmodel; i++)
			rule_cnt += model[i].s.rule == o.rule;
		if (nmodel >= LIMIT)
			want = RD_ERR_LIMIT;
		else if (o.rule == 1 && rule_cnt >= 5)
			want = RD_ERR_LIMIT;
		else {
			for (size_t i = 0; i < nmodel;) {
				struct mstate *m = &model[i];
				bool same = (memcmp(&m->s.key, &wire, sizeof(wire)) == 0 ||
				             memcmp(m_stack(m), &wire, sizeof(wire)) == 0 ||
				             memcmp(&m->s.key, &stack, sizeof(wire)) == 0 ||
				             memcmp(m_stack(m), &stack, sizeof(wire)) == 0) &&
				            m->s.ifindex == ifx &&
				            (m->s.flags & RD_STATE_F_OUT) == outf;
				if (!same) {
					i++;
					continue;
				}
				if (m_expired(t, &m->s, *now) ||
				    (m->s.key.proto == 6 && m->s.src.state >= RD_TCPS_FIN_WAIT_2 &&
				     m->s.dst.state >= RD_TCPS_FIN_WAIT_2)) {
					m_remove(i);
					continue;
				}
				want = RD_ERR_EXIST; /* every expired/closed holder still goes */
				i++;
			}
		}
		struct rd_state *st = NULL;
		int got = rd_state_create(t, &p, &o, *now, &st);
		if (verbose)
			printf(" create proto %u dir %u nat %u ifx %u rule %u want %d got %d model "
			       "%zu table %u\n",
			       p.proto, p.dir, o.nat, ifx, o.rule, want, got, nmodel,
			       rd_state_count(t));
		CHECK(got == want, "create result differs");
		if (got == 0) {
			CHECK(m_find_id(st->id, st->creatorid) == NULL, "id reused");
			struct mstate *m = &model[nmodel++];
			memset(m, 0, sizeof(*m));
			m->s.key = wire;
			m->stack = stack;
			m->s.id = st->id;
			m->s.creatorid = st->creatorid;
			m->s.rule = o.rule;
			m->s.flags =
			    (uint8_t)(outf | o.flags |
			              (memcmp(&wire, &stack, sizeof(wire)) ? RD_STATE_F_NAT : 0));
			m->s.ifindex = ifx;
			m->s.last = *now;
			rd_state_init_peers(&m->s, &p);
			m->s.timeout = rd_state_first_timeout(p.proto);
			m->s.packets[0] = 1;
			m->s.bytes[0] = p.tot_len;
		}
	} else if (op < 45) { /* lookup */
		struct rd_state_pkt p = random_pkt();
		struct rd_state_key k;
		rd_state_key_from_pkt(&p, &k);
		struct mstate *cand[MAXM], *which;
		size_t nc = m_lookup(t, &k, p.dir, p.ifindex, *now, cand);
		struct rd_state *st = rd_state_lookup(t, &k, p.dir, p.ifindex, *now);
		if (nc == 0)
			CHECK(st == NULL, "lookup found a state the model lacks");
		else
			CHECK(st != NULL && in_set(cand, nc, st, &which), "lookup result differs");
		/* the burst path answers the same, whatever its position in the burst */
		struct rd_state_key other;
		struct rd_state_pkt o = random_pkt();
		o.dir = p.dir;
		rd_state_key_from_pkt(&o, &other);
		const struct rd_state_key *kp[3] = {&other, &k, &other};
		struct rd_state *out[3];
		rd_state_lookup_burst(t, kp, 3, p.dir, p.ifindex, *now, out);
		CHECK(out[1] == st, "burst lookup differs from single lookup");
		CHECK(out[0] == out[2], "burst lookup of one key differs within a burst");
	} else if (op < 80) { /* packet */
		struct rd_state_pkt p = random_pkt();
		struct rd_state_key k;
		rd_state_key_from_pkt(&p, &k);
		struct mstate *cand[MAXM], *m = NULL;
		size_t nc = m_lookup(t, &k, p.dir, p.ifindex, *now, cand);
		struct rd_state_result res;
		int v = rd_state_packet(t, &p, *now, &res);
		if (nc == 0) {
			CHECK(v == RD_STATE_NOSTATE, "packet matched a state the model lacks");
			return true;
		}
		if (v == RD_STATE_NOSTATE) {
			/* only pf's TCP reuse turns a match into NOSTATE */
			CHECK(res.flags & RD_STATE_R_REUSED, "packet missed a model state");
			bool reusable = false;
			for (size_t i = 0; i < nc; i++)
				if (cand[i]->s.src.state >= RD_TCPS_FIN_WAIT_2 &&
				    cand[i]->s.dst.state >= RD_TCPS_FIN_WAIT_2)
					reusable = true;
			CHECK(reusable && p.proto == 6 &&
			          (p.tcp_flags & (RD_TH_SYN | RD_TH_ACK)) == RD_TH_SYN,
			      "reuse without a closed connection");
			/* the table removed the candidate it picked: the one now gone */
			for (size_t i = 0; i < nc; i++) {
				if (rd_state_find_id(t, cand[i]->s.id, cand[i]->s.creatorid,
				                     *now) == NULL) {
					m_remove((size_t)(cand[i] - model));
					break;
				}
			}
			return true;
		}
		CHECK(res.st != NULL && in_set(cand, nc, res.st, &m), "packet hit another state");
		struct rd_state_result mres;
		memset(&mres, 0, sizeof(mres));
		int mv = rd_state_track(scratch, &m->s, &p, *now, &mres);
		CHECK(mv == v, "verdict differs");
		CHECK(mres.reason == res.reason, "reason differs");
		if (mv == RD_STATE_PASS) {
			unsigned i = p.dir == ((m->s.flags & RD_STATE_F_OUT) ? 1u : 0u) ? 0 : 1;
			m->s.packets[i]++;
			m->s.bytes[i] += p.tot_len;
		}
		CHECK(same_state(res.st, &m->s), "state after packet differs");
	} else if (op < 88) { /* time passes */
		*now += (rd_time_t)rnd(40) * RD_SEC + (rnd(4) == 0 ? rnd(1000) : 0);
	} else if (op < 95) { /* incremental expiry */
		size_t before = rd_state_count(t);
		size_t n = rd_state_purge(t, *now, 1 + rnd(64));
		CHECK(rd_state_count(t) == before - n, "expire count differs");
		/* the table may only have purged expired states */
		static uint8_t present[MAXM];
		struct rd_state_iter it;
		struct rd_state *st;
		memset(present, 0, sizeof(present));
		rd_state_iter_init(&it);
		while ((st = rd_state_iter_next(t, &it)) != NULL) {
			struct mstate *m = m_find_id(st->id, st->creatorid);
			CHECK(m != NULL, "table state unknown to the model");
			present[m - model] = 1;
		}
		for (size_t i = nmodel; i-- > 0;) {
			if (!present[i]) {
				CHECK(m_expired(t, &model[i].s, *now), "purged a live state");
				m_remove(i);
			}
		}
	} else if (op < 98) { /* kill by source or rule */
		struct rd_state_filter f = {0};
		if (rnd(2)) {
			f.fields = RD_STATE_FLT_SRC;
			f.src = rd_addr_v4(0x0a000001u + rnd(3));
			f.src_plen = 32;
		} else {
			f.fields = RD_STATE_FLT_RULE;
			f.rule = rnd(4);
		}
		size_t want = 0;
		for (size_t i = 0; i < nmodel;) {
			const struct rd_state *s = &model[i].s;
			bool match;
			if (f.fields == RD_STATE_FLT_RULE) {
				match = s->rule == f.rule;
			} else {
				unsigned sidx = (s->flags & RD_STATE_F_OUT) ? 1 : 0;
				match = memcmp(s->key.addr[sidx], f.src.u.v4, 4) == 0;
			}
			if (match) {
				m_remove(i);
				want++;
			} else {
				i++;
			}
		}
		CHECK(rd_state_kill(t, &f, *now) == want, "kill count differs");
	} else if (nmodel > 0) { /* remove one */
		size_t i = rnd((uint32_t)nmodel);
		struct rd_state_iter it;
		struct rd_state *st;
		rd_state_iter_init(&it);
		while ((st = rd_state_iter_next(t, &it)) != NULL)
			if (st->id == model[i].s.id && st->creatorid == model[i].s.creatorid)
				break;
		CHECK(st != NULL, "state to remove not found");
		rd_state_remove(t, st, *now);
		m_remove(i);
	}
	return compare_all(t, *now);
}

static bool run_seed(uint64_t seed, unsigned long steps)
{
	struct rd_state_config cfg;
	struct rd_state_table *t, *scratch;
	uint64_t rseed = seed;
	rd_state_config_default(&cfg);
	cfg.random.fn = test_random;
	cfg.random.user = &rseed;
	cfg.limit = LIMIT;
	cfg.timeouts[RD_STATE_TM_ADAPTIVE_START] = 0;
	cfg.timeouts[RD_STATE_TM_ADAPTIVE_END] = 0;
	/* short timeouts so expiry happens within a run */
	cfg.timeouts[RD_STATE_TM_TCP_ESTABLISHED] = 300;
	cfg.timeouts[RD_STATE_TM_TCP_CLOSING] = 120;
	if (rd_state_table_new(&cfg, &t) != 0 || rd_state_table_new(&cfg, &scratch) != 0)
		return false;
	struct rd_state_rule_config r1 = {.max_states = 5}, r2 = {0};
	r2.timeouts[RD_STATE_TM_UDP_FIRST_PACKET] = rule_udp_first[2];
	rd_state_rule_set(t, 1, &r1);
	rd_state_rule_set(t, 2, &r2);
	rs = seed * 0x9e3779b97f4a7c15ULL + 1;
	nmodel = 0;
	rd_time_t now = RD_SEC;
	bool ok = true;
	for (fail_step = 0; fail_step < steps; fail_step++) {
		if (!step(t, scratch, &now)) {
			ok = false;
			break;
		}
	}
	rd_state_table_free(t, now);
	rd_state_table_free(scratch, now);
	return ok;
}

int main(void)
{
	unsigned long seeds = 1000, steps = 3000;
	const char *e = getenv("PROPERTY_SEEDS");
	if (e != NULL)
		seeds = strtoul(e, NULL, 0);
	verbose = getenv("PROPERTY_VERBOSE") != NULL;
	e = getenv("PROPERTY_SEED");
	uint64_t first = 1;
	if (e != NULL) {
		first = strtoull(e, NULL, 0);
		seeds = 1;
	}
	for (uint64_t s = first; s < first + seeds; s++) {
		if (!run_seed(s, steps)) {
			printf("FAIL: seed %llu step %lu: %s (rerun: PROPERTY_SEED=%llu)\n",
			       (unsigned long long)s, fail_step, fail_what, (unsigned long long)s);
			return 1;
		}
	}
	printf("ok: %lu seeds x %lu steps agree with the reference model\n", seeds, steps);
	return 0;
}
