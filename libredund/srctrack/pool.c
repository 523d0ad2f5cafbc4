/*
 * Pool target selection (pf_map_addr's switch): none, bitmask, random,
 * source-hash, round-robin and least-states over an ordered list of targets,
 * each an address or a network.
 */
#include <stdlib.h>

#include "srctrack/srctrack_internal.h"

/* pf_poolmask: the network bits of `net`, the host bits of `host`. */
static void combine(const struct rd_addr *net, unsigned plen, const uint8_t *host,
                    struct rd_addr *out)
{
	struct rd_addr m, r;

	/* cannot fail: a target's family was checked when it was added */
	(void)rd_addr_netmask(net->af, plen, &m);
	memset(&r, 0, sizeof(r));
	r.af = net->af;
	for (size_t i = 0; i < rd_af_len(net->af); i++)
		r.u.v6[i] = (uint8_t)((net->u.v6[i] & m.u.v6[i]) | (host[i] & (uint8_t)~m.u.v6[i]));
	*out = r;
}

/* Next address inside the network; false when the host part wraps (the
 * carry reaches the network bits or leaves the address). */
static bool next_in_net(const struct rd_addr *net, unsigned plen, struct rd_addr *a)
{
	for (size_t i = rd_af_len(a->af); i-- > 0;) {
		if (++a->u.v6[i] != 0)
			return rd_addr_prefix_match(net, plen, a);
	}
	return false;
}

/* Uniform integer below n (n > 0) from the table's random source. */
static uint32_t uniform(struct rd_src_table *t, uint32_t n)
{
	uint32_t r, floor = (uint32_t)(0u - n) % n;

	do {
		rd_random_buf(&t->random, &r, sizeof(r));
	} while (r < floor);
	return r % n;
}

/* least-states: a has less load than b (states per weight). Exact while a
 * target holds fewer than 2^48 states, which memory guarantees. */
static bool lighter(const struct src_target *a, const struct src_target *b)
{
	return a->states * b->weight < b->states * a->weight;
}

/* pf_hash: SipHash-2-4 of the address; the words of the hash address as a
 * little-endian host stores pf_addr.addr32[] (IPv6: lo, hi, ~hi, ~lo). */
static uint64_t pf_hash(const struct src_pool *p, const struct rd_addr *src, uint8_t hash[16])
{
	uint8_t out[crypto_shorthash_siphash24_BYTES];
	uint64_t res = 0;
	uint32_t w[4];

	crypto_shorthash_siphash24(out, src->u.v6, rd_af_len(src->af), p->key);
	for (int i = 7; i >= 0; i--)
		res = res << 8 | out[i];
	w[0] = (uint32_t)res;
	w[1] = (uint32_t)(res >> 32);
	w[2] = ~w[1];
	w[3] = ~w[0];
	for (int i = 0; i < 16; i++)
		hash[i] = (uint8_t)(w[i / 4] >> (8 * (i % 4)));
	return res;
}

/* The order of pf's table walk (rn_walktree): address ascending, and at
 * one address the more specific network first. */
static int radix_order(const void *x, const void *y)
{
	const struct src_target *a = *(struct src_target *const *)x;
	const struct src_target *b = *(struct src_target *const *)y;
	int c = memcmp(a->addr.u.v6, b->addr.u.v6, rd_af_len(a->addr.af));

	return c != 0 ? c : (int)b->prefixlen - (int)a->prefixlen;
}

/* The target of the longest prefix containing a (pf's rn_match). */
static struct src_target *longest_match(struct src_target **v, uint32_t n, const struct rd_addr *a)
{
	struct src_target *best = NULL;

	for (uint32_t i = 0; i < n; i++)
		if (rd_addr_prefix_match(&v[i]->addr, v[i]->prefixlen, a) &&
		    (best == NULL || v[i]->prefixlen > best->prefixlen))
			best = v[i];
	return best;
}

/* pfr_pool_get from entry idx with a zero counter: the entry's first
 * address not inside a more specific entry, else the next entry's. */
static int pf_table_get(struct src_target **v, uint32_t n, uint32_t idx, struct src_target **tg,
                        struct rd_addr *out)
{
	uint32_t start = idx;
	bool looped = false;

	for (;;) {
		struct rd_addr a, m;

		if (idx >= n) {
			if (looped)
				return RD_ERR_NOENT;
			idx = 0;
			looped = true;
		}
		(void)rd_addr_netmask(v[idx]->addr.af, v[idx]->prefixlen, &m);
		a = v[idx]->addr;
		for (size_t i = 0; i < rd_af_len(a.af); i++)
			a.u.v6[i] &= m.u.v6[i];
		for (;;) {
			struct src_target *k = longest_match(v, n, &a);

			if (k == v[idx]) {
				*tg = k;
				*out = a;
				return RD_OK;
			}
			/* past the nested block k: its last address + 1 */
			(void)rd_addr_netmask(a.af, k->prefixlen, &m);
			for (size_t i = 0; i < rd_af_len(a.af); i++)
				a.u.v6[i] |= (uint8_t)~m.u.v6[i];
			if (!next_in_net(&v[idx]->addr, v[idx]->prefixlen, &a))
				break;
		}
		idx++;
		if (looped && idx == start)
			return RD_ERR_NOENT;
	}
}

/* PF_POOL_SRCHASH as pf_map_addr runs it (see redund/srctrack.h). Sorts a
 * copy of the targets for a list: O(n log n) a mapping. */
static int pf_srchash(struct rd_src_table *t, struct src_pool *p, const struct rd_addr *src,
                      struct src_target **tg, struct rd_addr *out)
{
	uint8_t hash[16];
	uint64_t res;
	struct src_target **v;
	int rc;

	if (src->af != p->active[0]->addr.af)
		return RD_ERR_INVAL;
	res = pf_hash(p, src, hash);
	if (p->n == 1) {
		*tg = p->active[0];
		combine(&(*tg)->addr, (*tg)->prefixlen, hash, out);
		return RD_OK;
	}
	v = rd_malloc(t->mem, p->n * sizeof(*v));
	if (v == NULL)
		return RD_ERR_NOMEM;
	memcpy(v, p->active, p->n * sizeof(*v));
	qsort(v, p->n, sizeof(*v), radix_order);
	rc = pf_table_get(v, p->n, (uint32_t)(res % p->n), tg, out);
	rd_free(t->mem, v);
	return rc;
}

struct src_target *rd_src_pool_find_containing(struct src_pool *p, const struct rd_addr *a)
{
	for (uint32_t i = 0; i < p->n; i++) {
		if (rd_addr_prefix_match(&p->active[i]->addr, p->active[i]->prefixlen, a))
			return p->active[i];
	}
	return NULL;
}

int rd_src_pool_select(struct rd_src_table *t, struct src_pool *p, const struct rd_addr *src,
                       struct src_target **target, struct rd_addr *out)
{
	struct src_target *tg;
	uint8_t bytes[16];
	uint32_t idx = 0;

	if (p->n == 0)
		return RD_ERR_NOENT;
	switch (p->type) {
	case RD_SRC_POOL_NONE:
		tg = p->active[0];
		*out = tg->addr;
		break;
	case RD_SRC_POOL_BITMASK:
		tg = p->active[0];
		if (src->af != tg->addr.af)
			return RD_ERR_INVAL;
		combine(&tg->addr, tg->prefixlen, src->u.v6, out);
		break;
	case RD_SRC_POOL_RANDOM:
		if (p->n > 1)
			idx = uniform(t, p->n);
		tg = p->active[idx];
		if (tg->prefixlen < rd_af_bits(tg->addr.af)) {
			rd_random_buf(&t->random, bytes, sizeof(bytes));
			combine(&tg->addr, tg->prefixlen, bytes, out);
		} else {
			*out = tg->addr;
		}
		break;
	case RD_SRC_POOL_SRCHASH: {
		uint8_t in[17];

		if (p->hash == RD_SRC_HASH_PF) {
			int rc = pf_srchash(t, p, src, &tg, out);

			if (rc != RD_OK)
				return rc;
			break;
		}

		in[0] = src->af;
		memcpy(in + 1, src->u.v6, rd_af_len(src->af));
		crypto_generichash(bytes, sizeof(bytes), in, 1 + rd_af_len(src->af), p->key,
		                   sizeof(p->key));
		tg = p->active[rd_get64(bytes) % p->n];
		combine(&tg->addr, tg->prefixlen, bytes, out);
		break;
	}
	case RD_SRC_POOL_ROUNDROBIN:
		if (p->cursor >= p->n) {
			p->cursor = 0;
			p->rr_valid = false;
		}
		tg = p->active[p->cursor];
		if (tg->prefixlen >= rd_af_bits(tg->addr.af)) {
			*out = tg->addr;
			p->cursor = (p->cursor + 1) % p->n;
			p->rr_valid = false;
			break;
		}
		if (!p->rr_valid || !rd_addr_prefix_match(&tg->addr, tg->prefixlen, &p->rr_addr)) {
			memset(bytes, 0, sizeof(bytes));
			combine(&tg->addr, tg->prefixlen, bytes, &p->rr_addr);
		}
		*out = p->rr_addr;
		p->rr_valid = next_in_net(&tg->addr, tg->prefixlen, &p->rr_addr);
		if (!p->rr_valid)
			p->cursor = (p->cursor + 1) % p->n;
		break;
	case RD_SRC_POOL_LEASTSTATES: {
		/* One pass from the cursor; the first strictly lightest wins and
		 * an idle target ends the search (pf's loop), so equal loads are
		 * served round-robin. */
		uint32_t start = p->cursor % p->n, best = start;

		for (uint32_t i = 1; i < p->n && p->active[best]->states != 0; i++) {
			uint32_t j = (start + i) % p->n;
			if (lighter(p->active[j], p->active[best]))
				best = j;
		}
		tg = p->active[best];
		p->cursor = (best + 1) % p->n;
		*out = tg->addr;
		break;
	}
	default:
		return RD_ERR_INVAL;
	}
	*target = tg;
	return RD_OK;
}
