/*
 * Property test of the key and id indices at scale and under collisions: a
 * lookup finds exactly the state inserted under a key, and nothing for a
 * key that is not in the table, whatever the keys' hashes share.
 *
 * Each seed builds a table (hash key drawn from the seed; no size hint, so
 * the indices grow, migrating, about a dozen times) and inserts,
 * interleaved:
 *  - random TCP keys, one in eight IPv6 (PROPERTY_KEYS, default 60000);
 *  - a "home" cluster of keys whose hashes share their low 16 bits: one
 *    home chunk in every index of up to 2^16 chunks, so they overflow over
 *    several chunks (12 slots a chunk);
 *  - a "tag" cluster of keys whose hashes share their low 8 bits and the
 *    7-bit tag: while the index has at most 256 chunks every probe among
 *    them matches every tag and must compare the keys themselves.
 * Some keys of each cluster are held back, never inserted: their lookups
 * walk the whole chain and must find nothing. A third of the inserted keys
 * is removed along the way, and some of those are inserted again.
 *
 * At each checkpoint every key is looked up: a present key must give the
 * very state created for it (same pointer, same key) through
 * rd_state_lookup, rd_state_lookup_burst and rd_state_find_id (its id); a
 * removed or held-back key, NULL. The test also checks that the clusters
 * did collide (one home chunk, its overflow count above zero), so that it
 * cannot pass without exercising the overflow and tag paths.
 *
 * On failure the seed is printed; rerun it with PROPERTY_SEED=n, change
 * the number of seeds with PROPERTY_SEEDS=n.
 */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "state/state_internal.h"

#define HOME_KEYS   48 /* 40 inserted, 8 held back */
#define HOME_HELD   8
#define TAG_KEYS    24 /* 18 inserted, 6 held back */
#define TAG_HELD    6
#define CHECKPOINTS 8

enum { NEVER, PRESENT, REMOVED, HELD };

struct entry {
	struct rd_state_pkt pkt;
	struct rd_state_key key;
	struct rd_state *st;
	uint64_t id;
	uint32_t creatorid;
	uint8_t state;
};

static struct entry *ents;
static size_t nents;
static uint64_t rs;
static const char *fail_what;
static size_t fail_at;

static uint64_t rnd64(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

#define CHECK(cond, what, i)                                                                       \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fail_what = what;                                                          \
			fail_at = i;                                                               \
			return false;                                                              \
		}                                                                                  \
	} while (0)

/* A TCP SYN from src:sport to dst:dport (IPv6 when v6: the words spread over the address). */
static struct rd_state_pkt syn(bool v6, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct rd_state_pkt p = mktcp(RD_STATE_IN, src, sport, dst, dport, RD_TH_SYN,
	                              (uint32_t)rnd64() | 1, 0, 65535, 0);
	if (v6) {
		p.af = RD_AF_INET6;
		p.src.af = p.dst.af = RD_AF_INET6;
		memset(p.src.u.v6, 0, 16);
		memset(p.dst.u.v6, 0, 16);
		p.src.u.v6[0] = p.dst.u.v6[0] = 0x20;
		p.src.u.v6[1] = p.dst.u.v6[1] = 0x01;
		memcpy(p.src.u.v6 + 12, &src, 4);
		memcpy(p.dst.u.v6 + 12, &dst, 4);
		p.tot_len = 60;
	}
	return p;
}

static void add_entry(const struct rd_state_pkt *p)
{
	struct entry *e = &ents[nents++];
	memset(e, 0, sizeof(*e));
	e->pkt = *p;
	rd_state_key_from_pkt(p, &e->key);
}

/*
 * Keys (sources from a range no random key uses) whose hashes agree with
 * the first one's on the bits in `mask`; appended to ents.
 */
static void add_cluster(const struct rd_state_table *t, uint32_t base, uint64_t mask, size_t n)
{
	uint64_t want = 0;
	uint32_t c = 0;
	for (size_t got = 0; got < n; c++) {
		struct rd_state_pkt p = syn(false, base + c, 40000, 0xc0a80001u, 443);
		struct rd_state_key k;
		rd_state_key_from_pkt(&p, &k);
		uint64_t h = rd_state_hash_key(t, &k);
		if (got == 0)
			want = h & mask;
		if ((h & mask) != want)
			continue;
		add_entry(&p);
		got++;
	}
}

static bool insert(struct rd_state_table *t, size_t i, rd_time_t now)
{
	struct entry *e = &ents[i];
	int rc = rd_state_create(t, &e->pkt, NULL, now, &e->st);
	CHECK(rc == 0 && e->st != NULL, "insert failed", i);
	CHECK(memcmp(&e->st->key, &e->key, sizeof(e->key)) == 0, "state holds another key", i);
	e->id = e->st->id;
	e->creatorid = e->st->creatorid;
	e->state = PRESENT;
	return true;
}

/* The home cluster shares one chunk that it overflowed (when no growth is migrating). */
static bool cluster_collided(const struct rd_state_table *t, size_t first, size_t n,
                             unsigned *verified)
{
	const struct rd_itab *ix = &t->kidx.cur;
	if (t->kidx.old.chunks != NULL || ix->mask >= (1u << 16))
		return true;
	uint32_t home = (uint32_t)rd_state_hash_key(t, &ents[first].key) & ix->mask;
	for (size_t i = first; i < first + n; i++)
		CHECK(((uint32_t)rd_state_hash_key(t, &ents[i].key) & ix->mask) == home,
		      "cluster keys do not share a home chunk", i);
	CHECK(ix->chunks[home].overflow > 0, "cluster did not overflow its home chunk", first);
	(*verified)++;
	return true;
}

static bool check_all(struct rd_state_table *t, rd_time_t now)
{
	size_t present = 0;
	for (size_t i = 0; i < nents; i++) {
		struct entry *e = &ents[i];
		struct rd_state *st = rd_state_lookup(t, &e->key, RD_STATE_IN, 0, now);
		if (e->state == PRESENT) {
			present++;
			CHECK(st == e->st, "lookup of an inserted key: not its state", i);
			CHECK(memcmp(&st->key, &e->key, sizeof(e->key)) == 0,
			      "lookup returned a state with another key", i);
			CHECK(rd_state_find_id(t, e->id, e->creatorid, now) == e->st,
			      "find_id of an inserted state: not the state", i);
		} else {
			CHECK(st == NULL, "lookup of a key not in the table found a state", i);
			if (e->state == REMOVED)
				CHECK(rd_state_find_id(t, e->id, e->creatorid, now) == NULL,
				      "find_id of a removed state found one", i);
		}
	}
	CHECK(rd_state_count(t) == present, "count differs from the inserted minus removed", 0);
	/* the burst call agrees, in mixed batches of up to 64 */
	for (size_t i = 0; i < nents;) {
		const struct rd_state_key *kp[64];
		struct rd_state *out[64];
		size_t m = 1 + (size_t)(rnd64() % 64), want = 0;
		if (m > nents - i)
			m = nents - i;
		for (size_t j = 0; j < m; j++) {
			kp[j] = &ents[i + j].key;
			want += ents[i + j].state == PRESENT;
		}
		size_t found = rd_state_lookup_burst(t, kp, m, RD_STATE_IN, 0, now, out);
		CHECK(found == want, "burst: number found differs", i);
		for (size_t j = 0; j < m; j++)
			CHECK(out[j] == (ents[i + j].state == PRESENT ? ents[i + j].st : NULL),
			      "burst: a key's answer differs from what was inserted", i + j);
		i += m;
	}
	return true;
}

static bool run_seed(uint64_t seed, size_t nkeys)
{
	struct rd_state_config cfg;
	struct rd_state_table *t;
	uint64_t rseed = seed;
	rd_state_config_default(&cfg);
	cfg.random.fn = test_random;
	cfg.random.user = &rseed;
	cfg.limit = UINT32_MAX;
	cfg.timeouts[RD_STATE_TM_ADAPTIVE_START] = 0;
	cfg.timeouts[RD_STATE_TM_ADAPTIVE_END] = 0;
	if (rd_state_table_new(&cfg, &t) != 0)
		return false;
	rs = seed * 0x9e3779b97f4a7c15ULL + 1;
	nents = 0;
	rd_time_t now = RD_SEC;
	bool ok = false;
	unsigned verified = 0;

	/* The tag cluster first, into a table of a few chunks. */
	size_t tag0 = nents;
	add_cluster(t, 0x0b000000u, 0xfe000000000000ffULL, TAG_KEYS);
	for (size_t i = tag0; i < tag0 + TAG_KEYS - TAG_HELD; i++)
		if (!insert(t, i, now))
			goto out;
	for (size_t i = tag0 + TAG_KEYS - TAG_HELD; i < tag0 + TAG_KEYS; i++)
		ents[i].state = HELD;
	if (t->kidx.cur.mask > 255) {
		fail_what = "tag cluster inserted into a table of more than 256 chunks";
		goto out;
	}
	if (!check_all(t, now))
		goto out;

	size_t home0 = nents;
	add_cluster(t, 0x0c000000u, 0xffffULL, HOME_KEYS);
	for (size_t i = home0 + HOME_KEYS - HOME_HELD; i < home0 + HOME_KEYS; i++)
		ents[i].state = HELD;
	size_t rand0 = nents;
	for (size_t i = 0; i < nkeys; i++) {
		/* distinct by source; destinations and ports random */
		struct rd_state_pkt p = syn(
		    rnd64() % 8 == 0, 0x0a000000u + (uint32_t)i, (uint16_t)(1024 + rnd64() % 60000),
		    0xac100000u | (uint32_t)(rnd64() & 0xfffff), (uint16_t)rnd64());
		add_entry(&p);
	}

	/* Inserts in order, the home cluster spread among the first random keys;
	 * after each, sometimes a removal and sometimes a re-insert. */
	size_t next_home = home0, next_rand = rand0;
	size_t every = nkeys / CHECKPOINTS + 1;
	for (size_t n = 0; next_rand < nents || next_home < home0 + HOME_KEYS - HOME_HELD; n++) {
		size_t i;
		if (next_home < home0 + HOME_KEYS - HOME_HELD && (n % 7 == 0 || next_rand == nents))
			i = next_home++;
		else
			i = next_rand++;
		if (!insert(t, i, now))
			goto out;
		uint64_t r = rnd64();
		if (r % 3 == 0) {
			size_t j = (size_t)(rnd64() % nents);
			if (ents[j].state == PRESENT) {
				rd_state_remove(t, ents[j].st, now);
				ents[j].state = REMOVED;
			}
		} else if (r % 11 == 1) {
			size_t j = (size_t)(rnd64() % nents);
			if (ents[j].state == REMOVED && !insert(t, j, now))
				goto out;
		}
		if (next_home == home0 + HOME_KEYS - HOME_HELD && n % 64 == 0 &&
		    !cluster_collided(t, home0, HOME_KEYS - HOME_HELD, &verified))
			goto out;
		if (n % every == every - 1 && !check_all(t, now))
			goto out;
	}
	if (!check_all(t, now))
		goto out;
	if (verified == 0) {
		fail_what = "the home cluster's collision was never observed";
		goto out;
	}
	ok = true;
out:
	rd_state_table_free(t, now);
	return ok;
}

int main(void)
{
	unsigned long seeds = 3;
	size_t nkeys = 60000;
	const char *e = getenv("PROPERTY_SEEDS");
	if (e != NULL)
		seeds = strtoul(e, NULL, 0);
	e = getenv("PROPERTY_KEYS");
	if (e != NULL)
		nkeys = strtoul(e, NULL, 0);
	uint64_t first = 1;
	e = getenv("PROPERTY_SEED");
	if (e != NULL) {
		first = strtoull(e, NULL, 0);
		seeds = 1;
	}
	ents = calloc(nkeys + HOME_KEYS + TAG_KEYS, sizeof(*ents));
	if (ents == NULL)
		return 1;
	for (uint64_t s = first; s < first + seeds; s++) {
		if (!run_seed(s, nkeys)) {
			printf("FAIL: seed %llu, key %zu: %s (rerun: PROPERTY_SEED=%llu)\n",
			       (unsigned long long)s, fail_at, fail_what, (unsigned long long)s);
			free(ents);
			return 1;
		}
	}
	printf("ok: %lu seeds x %zu keys (+%d colliding): every lookup found exactly what was "
	       "inserted\n",
	       seeds, nkeys, HOME_KEYS + TAG_KEYS);
	free(ents);
	return 0;
}
