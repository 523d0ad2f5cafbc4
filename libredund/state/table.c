/*
 * The state table: paged slab of states, two chunked open-addressing
 * indices (key and (id, creatorid)), limits, expiry, iteration, kill,
 * import/export.
 *
 * Memory per state at 10^6 states: 136 B of state plus about 8.4 B in each
 * index (64-byte chunks of 12 slots, grown at 85% load) — see bench/.
 */
#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <stdlib.h>

#include "state/state_internal.h"

static const uint32_t default_timeouts[RD_STATE_TM_COUNT] = {
    [RD_STATE_TM_TCP_FIRST_PACKET] = 120,
    [RD_STATE_TM_TCP_OPENING] = 30,
    [RD_STATE_TM_TCP_ESTABLISHED] = 86400,
    [RD_STATE_TM_TCP_CLOSING] = 900,
    [RD_STATE_TM_TCP_FIN_WAIT] = 45,
    [RD_STATE_TM_TCP_CLOSED] = 90,
    [RD_STATE_TM_UDP_FIRST_PACKET] = 60,
    [RD_STATE_TM_UDP_SINGLE] = 30,
    [RD_STATE_TM_UDP_MULTIPLE] = 60,
    [RD_STATE_TM_ICMP_FIRST_PACKET] = 20,
    [RD_STATE_TM_ICMP_ERROR_REPLY] = 10,
    [RD_STATE_TM_OTHER_FIRST_PACKET] = 60,
    [RD_STATE_TM_OTHER_SINGLE] = 30,
    [RD_STATE_TM_OTHER_MULTIPLE] = 60,
    [RD_STATE_TM_FRAG] = 60,
    [RD_STATE_TM_INTERVAL] = 10,
    [RD_STATE_TM_ADAPTIVE_START] = 60000,
    [RD_STATE_TM_ADAPTIVE_END] = 120000,
    [RD_STATE_TM_SRC_NODE] = 0,
    [RD_STATE_TM_TS_DIFF] = 30,
};

/* ---- accounting allocator ---- */

static void *tmalloc(struct rd_state_table *t, size_t n)
{
	void *p = rd_malloc(t->mem, n);
	if (p != NULL)
		t->mem_bytes += n;
	return p;
}

/*
 * Large arrays (slab pages, indices) are touched at random: with 4 KiB pages
 * nearly every lookup also misses the TLB. With the C library's allocator
 * (the table's own memory, no user allocator involved) ask Linux for
 * transparent huge pages on the 2 MiB-aligned interior of such arrays.
 */
static void advise_huge(const struct rd_state_table *t, void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
	const uintptr_t huge = (uintptr_t)2 << 20;
	if (t->mem != NULL || !t->huge_pages || n < huge)
		return;
	uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
	uintptr_t e = ((uintptr_t)p + n) & ~(huge - 1);
	if (e > a)
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
	(void)t;
	(void)p;
	(void)n;
#endif
}

/*
 * A large array (a big slab page, an index) from the C library's allocator
 * starts on a 2 MiB boundary, so huge pages cover all of it but its last
 * partial 2 MiB (a 4.25 MiB slab page: 94% instead of 47-94% at a
 * malloc'ed address). A lookup's two cache misses then cost no page walk
 * each; in a VM a walk can cost more than the miss itself. The padding
 * below the array is address space the C library maps but never touches.
 */
static void *tmalloc_big(struct rd_state_table *t, size_t n)
{
	void *p = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
	const size_t huge = (size_t)2 << 20;
	if (t->mem == NULL && t->huge_pages && n >= huge) {
		if (posix_memalign(&p, huge, n) != 0)
			return NULL;
		t->mem_bytes += n;
	}
#endif
	if (p == NULL)
		p = tmalloc(t, n);
	if (p != NULL)
		advise_huge(t, p, n);
	return p;
}

/* Zeroed memory: for large blocks the C library maps fresh zero pages, so
 * the zeroing happens page by page on first touch rather than up front. */
static void *tcalloc(struct rd_state_table *t, size_t n)
{
	void *p = rd_calloc(t->mem, 1, n);
	if (p != NULL)
		t->mem_bytes += n;
	return p;
}

static void tfree(struct rd_state_table *t, void *p, size_t n)
{
	if (p == NULL)
		return;
	rd_free(t->mem, p);
	t->mem_bytes -= n;
}

/* ---- hashing ---- */

static inline uint64_t hash_key(const struct rd_state_table *t, const struct rd_state_key *k)
{
	return rd_state_hash_key(t, k);
}

static inline uint64_t hash_id(const struct rd_state_table *t, uint64_t id, uint32_t creatorid)
{
	return rd_state_hash_id(t, id, creatorid);
}

static inline uint8_t tag_of(uint64_t h)
{
	return (uint8_t)(0x80 | (h >> 57));
}

static inline unsigned match_tags(const struct rd_chunk *c, uint8_t tag)
{
#if defined(__SSE2__)
	__m128i v = _mm_load_si128((const __m128i *)(const void *)c);
	return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)tag))) &
	       ((1u << RD_CHUNK_SLOTS) - 1);
#else
	unsigned m = 0;
	for (unsigned i = 0; i < RD_CHUNK_SLOTS; i++)
		m |= (unsigned)(c->tag[i] == tag) << i;
	return m;
#endif
}

static inline bool key_eq(const struct rd_state_key *a, const struct rd_state_key *b)
{
	/* five 8-byte words, no call into memcmp on the hot path */
	uint64_t x[5], y[5];
	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

/* ---- indices ---- */

/* Chunks are 64-byte aligned; the raw allocation pointer sits just below them. */
#define RD_INDEX_EXTRA (64 + sizeof(void *))

static int index_alloc(struct rd_state_table *t, struct rd_itab *ix, uint32_t nchunks, bool zero)
{
	size_t bytes = (size_t)nchunks * sizeof(struct rd_chunk) + RD_INDEX_EXTRA;
	uint8_t *raw = zero ? tcalloc(t, bytes) : tmalloc_big(t, bytes);
	if (raw == NULL)
		return RD_ERR_NOMEM;
	if (zero)
		advise_huge(t, raw, bytes);
	uintptr_t a = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
	ix->chunks = (struct rd_chunk *)a;
	memcpy((uint8_t *)a - sizeof(void *), &raw, sizeof(void *));
	ix->mask = nchunks - 1;
	ix->count = 0;
	return 0;
}

static void index_free(struct rd_state_table *t, struct rd_itab *ix)
{
	if (ix->chunks == NULL)
		return;
	void *raw;
	memcpy(&raw, (uint8_t *)ix->chunks - sizeof(void *), sizeof(void *));
	tfree(t, raw, (size_t)(ix->mask + 1) * sizeof(struct rd_chunk) + RD_INDEX_EXTRA);
	ix->chunks = NULL;
	ix->count = 0;
}

static inline uint32_t index_capacity(const struct rd_itab *ix)
{
	/* grow at 85% of the slots (12-slot chunks with tags probe well up to ~86%) */
	return (uint32_t)(((uint64_t)(ix->mask + 1) * RD_CHUNK_SLOTS * 17) / 20);
}

static void index_put(struct rd_itab *ix, uint64_t h, uint32_t val)
{
	uint32_t pos = (uint32_t)h & ix->mask;
	for (;;) {
		struct rd_chunk *c = &ix->chunks[pos];
		unsigned e = match_tags(c, 0);
		if (e != 0) {
			unsigned i = (unsigned)__builtin_ctz(e);
			c->tag[i] = tag_of(h);
			c->val[i] = val;
			ix->count++;
			return;
		}
		if (c->overflow < 255)
			c->overflow++;
		pos = (pos + 1) & ix->mask;
	}
}

/*
 * A walk over every entry of an index whose tag matches a hash: in cur, then
 * in old (while a growth migrates), the chunks from the hash's home on until
 * one nothing ever overflowed past. Every search, removal and collision test
 * of the table is this walk; probe_next returns the next candidate's value.
 */
struct rd_probe {
	struct rd_index *idx;
	struct rd_itab *ix; /* table being walked; NULL when the walk is over */
	uint32_t home, pos, n;
	unsigned m, i; /* tag matches left in chunks[pos]; the current one */
	uint8_t tag;
	uint8_t k; /* next table: 0 cur, 1 old, 2 none */
	uint64_t h;
};

static inline void probe_table(struct rd_probe *p)
{
	p->ix = NULL;
	p->m = 0;
	while (p->k < 2) {
		struct rd_itab *ix = p->k++ == 0 ? &p->idx->cur : &p->idx->old;
		if (ix->chunks == NULL)
			continue;
		p->ix = ix;
		p->home = p->pos = (uint32_t)p->h & ix->mask;
		p->n = 0;
		p->m = match_tags(&ix->chunks[p->pos], p->tag);
		return;
	}
}

static inline void probe_start(struct rd_probe *p, struct rd_index *idx, uint64_t h)
{
	p->idx = idx;
	p->h = h;
	p->tag = tag_of(h);
	p->k = 0;
	probe_table(p);
}

static inline bool probe_next(struct rd_probe *p, uint32_t *val)
{
	while (p->ix != NULL) {
		const struct rd_chunk *c = &p->ix->chunks[p->pos];
		if (p->m != 0) {
			p->i = (unsigned)__builtin_ctz(p->m);
			p->m &= p->m - 1;
			*val = c->val[p->i];
			return true;
		}
		if (c->overflow == 0 || ++p->n > p->ix->mask) {
			probe_table(p);
			continue;
		}
		p->pos = (p->pos + 1) & p->ix->mask;
		p->m = match_tags(&p->ix->chunks[p->pos], p->tag);
	}
	return false;
}

/* Remove the entry the walk stands on; the chunks it overflowed past count one less. */
static void probe_unlink(struct rd_probe *p)
{
	struct rd_itab *ix = p->ix;
	ix->chunks[p->pos].tag[p->i] = 0;
	for (uint32_t q = p->home; q != p->pos; q = (q + 1) & ix->mask)
		if (ix->chunks[q].overflow != 255)
			ix->chunks[q].overflow--;
	ix->count--;
}

static bool index_del(struct rd_index *idx, uint64_t h, uint32_t val)
{
	struct rd_probe p;
	uint32_t v;
	for (probe_start(&p, idx, h); probe_next(&p, &v);) {
		if (v == val) {
			probe_unlink(&p);
			return true;
		}
	}
	return false;
}

static uint64_t kval_hash(const struct rd_state_table *t, uint32_t v)
{
	const struct rd_state *st = rd_slot(t, v >> 1);
	return hash_key(t, (v & 1) ? rd_kslot(t, st->stack) : &st->key);
}

static uint64_t idval_hash(const struct rd_state_table *t, uint32_t v)
{
	const struct rd_state *st = rd_slot(t, v);
	return hash_id(t, st->id, st->creatorid);
}

typedef uint64_t (*rd_rehash_fn)(const struct rd_state_table *, uint32_t);

/*
 * Move up to `nchunks` chunks of the old table into the current one. A
 * moved chunk's tags are cleared but old's overflow counts are left as they
 * are: they stay an upper bound, so probes for entries still in old go far
 * enough.
 */
static void index_migrate(struct rd_state_table *t, struct rd_index *ix, uint32_t nchunks,
                          rd_rehash_fn rehash)
{
	struct rd_itab *o = &ix->old;
	if (o->chunks == NULL)
		return;
	for (uint32_t n = 0; n < nchunks && ix->mig <= o->mask; n++, ix->mig++) {
		struct rd_chunk *c = &o->chunks[ix->mig];
		for (unsigned i = 0; i < RD_CHUNK_SLOTS; i++) {
			if (c->tag[i] == 0)
				continue;
			index_put(&ix->cur, rehash(t, c->val[i]), c->val[i]);
			c->tag[i] = 0;
			o->count--;
		}
	}
	if (ix->mig > o->mask || o->count == 0)
		index_free(t, o);
}

/* Chunks moved per insert: enough to empty old long before cur fills up. */
#define RD_MIGRATE_STEP 4
/* Chunks of the next table zeroed per insert (1 KiB). */
#define RD_ZERO_STEP 16

static void index_zero(struct rd_index *ix, uint32_t nchunks)
{
	uint32_t total = ix->next.mask + 1;
	uint32_t n = total - ix->zeroed < nchunks ? total - ix->zeroed : nchunks;
	memset(&ix->next.chunks[ix->zeroed], 0, (size_t)n * sizeof(struct rd_chunk));
	ix->zeroed += n;
}

/*
 * Make room for `extra` more entries. Each call does a bounded slice of a
 * growth: move RD_MIGRATE_STEP chunks of old, zero RD_ZERO_STEP chunks of
 * next. From 80% load the next table is prepared; at 85% it becomes cur.
 * (If a growth comes due before its preparation finished, the rest is
 * done in that call: only when one call adds far more than the 10% of
 * slots between the thresholds, which inserts of one or two entries
 * never do.)
 */
static int index_reserve(struct rd_state_table *t, struct rd_index *ix, uint32_t extra,
                         rd_rehash_fn rehash)
{
	index_migrate(t, ix, RD_MIGRATE_STEP, rehash);
	if (ix->next.chunks != NULL)
		index_zero(ix, RD_ZERO_STEP);
	uint64_t total = (uint64_t)ix->cur.count + ix->old.count + extra;
	uint64_t slots = (uint64_t)(ix->cur.mask + 1) * RD_CHUNK_SLOTS;
	if (ix->next.chunks == NULL && ix->old.chunks == NULL && total * 20 > slots * 16) {
		if (ix->cur.mask + 1 >= (1u << 28))
			return RD_ERR_NOMEM;
		if (index_alloc(t, &ix->next, (ix->cur.mask + 1) * 2, false) != 0)
			return RD_ERR_NOMEM;
		ix->zeroed = 0;
		index_zero(ix, RD_ZERO_STEP);
	}
	if (total <= index_capacity(&ix->cur))
		return 0;
	if (ix->next.chunks == NULL) {
		/* a growth still migrating, or next could not be had earlier */
		uint32_t n = ix->cur.mask + 1;
		while ((uint64_t)n * RD_CHUNK_SLOTS * 17 / 20 < total) {
			if (n >= (1u << 28))
				return RD_ERR_NOMEM;
			n <<= 1;
		}
		if (index_alloc(t, &ix->next, n, false) != 0)
			return RD_ERR_NOMEM;
		ix->zeroed = 0;
	}
	index_zero(ix, UINT32_MAX);
	index_migrate(t, ix, UINT32_MAX, rehash); /* finish a previous growth */
	ix->old = ix->cur;
	ix->cur = ix->next;
	ix->next.chunks = NULL;
	ix->mig = 0;
	index_migrate(t, ix, RD_MIGRATE_STEP, rehash);
	return 0;
}

/* ---- slab ---- */

static int pages_grow(struct rd_state_table *t, void ***pages, uint32_t *alloc, uint32_t need)
{
	if (need <= *alloc)
		return 0;
	uint32_t n = *alloc ? *alloc * 2 : 16;
	while (n < need)
		n *= 2;
	void **np = tmalloc(t, n * sizeof(void *));
	if (np == NULL)
		return RD_ERR_NOMEM;
	if (*pages != NULL)
		memcpy(np, *pages, *alloc * sizeof(void *));
	tfree(t, *pages, *alloc * sizeof(void *));
	*pages = np;
	*alloc = n;
	return 0;
}

/*
 * Ensure a free state slot exists. Slots past the high-water mark `hw` have
 * never been used and are not initialised: a new page costs nothing until
 * its slots are handed out, and scans (iteration, expiry, kill) stop at hw.
 */
static int slab_add_page(struct rd_state_table *t)
{
	if (t->cap < RD_PAGE_SIZE) {
		struct rd_state *pg = tmalloc(t, RD_SPAGE_SIZE * sizeof(struct rd_state));
		if (pg == NULL)
			return RD_ERR_NOMEM;
		t->spages[t->cap >> RD_SPAGE_SHIFT] = pg;
		t->cap += RD_SPAGE_SIZE;
		return 0;
	}
	if (t->cap >= (1u << 31) - RD_PAGE_SIZE)
		return RD_ERR_NOMEM;
	if (pages_grow(t, (void ***)&t->pages, &t->pages_alloc, t->npages + 1) != 0)
		return RD_ERR_NOMEM;
	struct rd_state *pg = tmalloc_big(t, RD_PAGE_SIZE * sizeof(struct rd_state));
	if (pg == NULL)
		return RD_ERR_NOMEM;
	t->pages[t->npages++] = pg;
	t->cap += RD_PAGE_SIZE;
	return 0;
}

static int slab_reserve(struct rd_state_table *t)
{
	if (t->free_head != RD_NONE || t->hw < t->cap)
		return 0;
	return slab_add_page(t);
}

static int kslab_reserve(struct rd_state_table *t)
{
	if (t->kfree_head != RD_NONE || t->khw < t->nkpages * RD_PAGE_SIZE)
		return 0;
	if (t->nkpages >= (1u << (31 - RD_PAGE_SHIFT)))
		return RD_ERR_NOMEM;
	if (pages_grow(t, (void ***)&t->kpages, &t->kpages_alloc, t->nkpages + 1) != 0)
		return RD_ERR_NOMEM;
	struct rd_state_key *pg = tmalloc(t, RD_PAGE_SIZE * sizeof(struct rd_state_key));
	if (pg == NULL)
		return RD_ERR_NOMEM;
	t->kpages[t->nkpages++] = pg;
	return 0;
}

/* ---- pf data carried for sync (t->xpages) ---- */

void rd_state_pf_default(struct rd_state_pf *pf)
{
	memset(pf, 0, sizeof(*pf));
	pf->rtableid[0] = pf->rtableid[1] = -1;
	pf->valid = 1;
}

/* Page p of the pf data (zeroed: nothing valid), allocated if it is not yet; NULL: no memory. */
static struct rd_state_pf *xpage_get(struct rd_state_table *t, uint32_t p)
{
	if (p >= t->xpages_alloc) {
		uint32_t had = t->xpages_alloc;
		if (pages_grow(t, (void ***)&t->xpages, &t->xpages_alloc, p + 1) != 0)
			return NULL;
		memset(t->xpages + had, 0, (t->xpages_alloc - had) * sizeof(void *));
	}
	if (t->xpages[p] == NULL)
		t->xpages[p] = tcalloc(t, RD_SPAGE_SIZE * sizeof(struct rd_state_pf));
	return t->xpages[p];
}

static struct rd_state_pf *pf_at(const struct rd_state_table *t, uint32_t slot)
{
	uint32_t p = slot >> RD_SPAGE_SHIFT;
	if (p >= t->xpages_alloc || t->xpages[p] == NULL)
		return NULL;
	return &t->xpages[p][slot & (RD_SPAGE_SIZE - 1)];
}

/* A freed or reused slot has no pf data of its own. */
static void pf_clear(struct rd_state_table *t, uint32_t slot)
{
	struct rd_state_pf *x = pf_at(t, slot);
	if (x != NULL)
		x->valid = 0;
}

/*
 * Stores pf data for slot; defaults take no memory. NOMEM leaves the
 * defaults (an import is not refused for data the table never reads).
 */
static void pf_store(struct rd_state_table *t, uint32_t slot, const struct rd_state_pf *pf)
{
	struct rd_state_pf def, v = *pf;
	struct rd_state_pf *x = pf_at(t, slot);
	uint32_t p = slot >> RD_SPAGE_SHIFT;

	v.valid = 1;
	v.pad = 0;
	memset(v.src.pad, 0, sizeof(v.src.pad));
	memset(v.dst.pad, 0, sizeof(v.dst.pad));
	v.ifname[sizeof(v.ifname) - 1] = '\0';
	rd_state_pf_default(&def);
	if (memcmp(&v, &def, sizeof(v)) == 0) {
		if (x != NULL)
			x->valid = 0;
		return;
	}
	if (x == NULL) {
		if (xpage_get(t, p) == NULL)
			return;
		x = &t->xpages[p][slot & (RD_SPAGE_SIZE - 1)];
	}
	*x = v;
}

/* The slot of a state pointer: a scan of the slab's page list (no hashing). */
static uint32_t slot_of(const struct rd_state_table *t, const struct rd_state *st)
{
	uintptr_t a = (uintptr_t)st;
	for (uint32_t p = 0; p < RD_SPAGES; p++) {
		uintptr_t b = (uintptr_t)t->spages[p];
		if (b != 0 && a >= b && a < b + RD_SPAGE_SIZE * sizeof(*st))
			return p * RD_SPAGE_SIZE + (uint32_t)((a - b) / sizeof(*st));
	}
	for (uint32_t p = 0; p < t->npages; p++) {
		uintptr_t b = (uintptr_t)t->pages[p];
		if (a >= b && a < b + RD_PAGE_SIZE * sizeof(*st))
			return RD_PAGE_SIZE + p * RD_PAGE_SIZE + (uint32_t)((a - b) / sizeof(*st));
	}
	return RD_NONE;
}

static uint32_t kslot_take(struct rd_state_table *t)
{
	uint32_t i = t->kfree_head;
	if (i == RD_NONE)
		return t->khw++;
	memcpy(&t->kfree_head, rd_kslot(t, i)->addr[0], 4);
	return i;
}

static void kslot_put(struct rd_state_table *t, uint32_t i)
{
	struct rd_state_key *k = rd_kslot(t, i);
	memset(k, 0, sizeof(*k));
	memcpy(k->addr[0], &t->kfree_head, 4);
	t->kfree_head = i;
}

/*
 * Unlink `st` from the id index and return its slot. The id index holds
 * every state exactly once, so this is also how a state pointer becomes a
 * slot number without a back pointer in the state.
 */
static uint32_t id_index_take(struct rd_state_table *t, const struct rd_state *st)
{
	struct rd_probe p;
	uint32_t v;
	for (probe_start(&p, &t->ididx, hash_id(t, st->id, st->creatorid)); probe_next(&p, &v);) {
		if (rd_slot(t, v) == st) {
			probe_unlink(&p);
			return v;
		}
	}
	return RD_NONE;
}

/* ---- rules ---- */

static struct rd_rule_slot *rule_get(struct rd_state_table *t, uint32_t rule, bool create)
{
	if (rule >= RD_STATE_MAX_RULES)
		return NULL;
	if (rule < t->nrules)
		return &t->rules[rule];
	if (!create)
		return NULL;
	uint32_t n = t->nrules ? t->nrules : 16;
	while (n <= rule)
		n *= 2;
	if (n > RD_STATE_MAX_RULES)
		n = RD_STATE_MAX_RULES;
	struct rd_rule_slot *nr = tmalloc(t, n * sizeof(*nr));
	if (nr == NULL)
		return NULL;
	if (t->rules != NULL)
		memcpy(nr, t->rules, t->nrules * sizeof(*nr));
	memset(nr + t->nrules, 0, (n - t->nrules) * sizeof(*nr));
	tfree(t, t->rules, t->nrules * sizeof(*nr));
	t->rules = nr;
	t->nrules = n;
	return &t->rules[rule];
}

/* Writes a zero into every 4 KiB page of p[0..n): the kernel maps them now. */
static void touch(void *p, size_t n)
{
	volatile uint8_t *b = p;
	for (size_t i = 0; i < n; i += 4096)
		b[i] = 0;
	if (n > 0)
		b[n - 1] = 0;
}

/*
 * cfg.reserve: the slab pages (and their pf data pages) for `n` states,
 * allocated and touched now, and the indices touched, so that inserting up
 * to n states neither allocates nor faults a page in.
 */
static int reserve_memory(struct rd_state_table *t, uint32_t n)
{
	uint32_t had = t->cap;
	int rc;

	while (t->cap < n)
		if ((rc = slab_add_page(t)) != 0)
			return rc;
	for (uint32_t i = had; i < t->cap;) {
		uint32_t len = i < RD_PAGE_SIZE ? RD_SPAGE_SIZE : RD_PAGE_SIZE;
		touch(rd_slot(t, i), len * sizeof(struct rd_state));
		i += len;
	}
	for (uint32_t p = 0; p < (t->cap + RD_SPAGE_SIZE - 1) >> RD_SPAGE_SHIFT; p++) {
		struct rd_state_pf *pg = xpage_get(t, p);
		if (pg == NULL)
			return RD_ERR_NOMEM;
		touch(pg, RD_SPAGE_SIZE * sizeof(struct rd_state_pf));
	}
	touch(t->kidx.cur.chunks, (size_t)(t->kidx.cur.mask + 1) * sizeof(struct rd_chunk));
	touch(t->ididx.cur.chunks, (size_t)(t->ididx.cur.mask + 1) * sizeof(struct rd_chunk));
	return 0;
}

/* ---- creation ---- */

void rd_state_config_default(struct rd_state_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->limit = 100000;
	cfg->huge_pages = true;
	memcpy(cfg->timeouts, default_timeouts, sizeof(cfg->timeouts));
}

int rd_state_table_new(const struct rd_state_config *cfg, struct rd_state_table **out)
{
	struct rd_state_config def;
	if (cfg == NULL) {
		rd_state_config_default(&def);
		cfg = &def;
	}
	if (out == NULL)
		return RD_ERR_INVAL;
	*out = NULL;
	struct rd_state_table *t = rd_calloc(cfg->mem, 1, sizeof(*t));
	if (t == NULL)
		return RD_ERR_NOMEM;
	t->mem = cfg->mem;
	t->mem_bytes = sizeof(*t);
	t->log = cfg->log;
	t->cb = cfg->cb;
	t->limit = cfg->limit;
	t->huge_pages = cfg->huge_pages;
	memcpy(t->timeouts, cfg->timeouts, sizeof(t->timeouts));
	rd_sipkey_random(&t->sipkey, &cfg->random);
	t->creatorid = cfg->creatorid;
	while (t->creatorid == 0)
		rd_random_buf(&cfg->random, &t->creatorid, sizeof(t->creatorid));
	t->next_id = cfg->id_base;
	if (t->next_id == 0) {
		uint32_t r = 0;
		while (r == 0)
			rd_random_buf(&cfg->random, &r, sizeof(r));
		t->next_id = (uint64_t)r << 32;
	}
	t->free_head = RD_NONE;
	t->kfree_head = RD_NONE;
	uint32_t chunks = 1;
	while ((uint64_t)chunks * RD_CHUNK_SLOTS * 17 / 20 < cfg->size_hint && chunks < (1u << 27))
		chunks <<= 1;
	if (index_alloc(t, &t->kidx.cur, chunks, true) != 0 ||
	    index_alloc(t, &t->ididx.cur, chunks, true) != 0) {
		index_free(t, &t->kidx.cur);
		rd_free(t->mem, t);
		return RD_ERR_NOMEM;
	}
	if (cfg->reserve && reserve_memory(t, RD_MIN(cfg->size_hint, cfg->limit)) != 0) {
		rd_state_table_free(t, 0);
		return RD_ERR_NOMEM;
	}
	*out = t;
	return 0;
}

void rd_state_table_free(struct rd_state_table *t, rd_time_t now)
{
	if (t == NULL)
		return;
	/* hooks see every state go; the indices are freed whole, not unlinked */
	for (uint32_t i = 0; i < t->hw; i++) {
		struct rd_state *st = rd_slot(t, i);
		if (!rd_slot_used(st))
			continue;
		if ((st->flags & RD_STATE_F_ATTACHED) && t->cb.detach != NULL)
			t->cb.detach(t->cb.user, st, now);
		if (t->cb.event != NULL)
			t->cb.event(t->cb.user, st, RD_STATE_EV_REMOVE, RD_STATE_RM_FLUSH, now);
	}
	for (uint32_t p = 0; p < RD_SPAGES; p++)
		tfree(t, t->spages[p], RD_SPAGE_SIZE * sizeof(struct rd_state));
	for (uint32_t p = 0; p < t->npages; p++)
		tfree(t, t->pages[p], RD_PAGE_SIZE * sizeof(struct rd_state));
	for (uint32_t p = 0; p < t->nkpages; p++)
		tfree(t, t->kpages[p], RD_PAGE_SIZE * sizeof(struct rd_state_key));
	for (uint32_t p = 0; p < t->xpages_alloc; p++)
		tfree(t, t->xpages[p], RD_SPAGE_SIZE * sizeof(struct rd_state_pf));
	tfree(t, t->xpages, t->xpages_alloc * sizeof(void *));
	tfree(t, t->pages, t->pages_alloc * sizeof(void *));
	tfree(t, t->kpages, t->kpages_alloc * sizeof(void *));
	for (uint32_t r = 0; r < t->nrules; r++)
		tfree(t, t->rules[r].timeouts, RD_STATE_TM_COUNT * sizeof(uint32_t));
	tfree(t, t->rules, t->nrules * sizeof(*t->rules));
	index_free(t, &t->kidx.cur);
	index_free(t, &t->kidx.old);
	index_free(t, &t->kidx.next);
	index_free(t, &t->ididx.cur);
	index_free(t, &t->ididx.old);
	index_free(t, &t->ididx.next);
	rd_free(t->mem, t);
}

uint32_t rd_state_creatorid(const struct rd_state_table *t)
{
	return t->creatorid;
}

int rd_state_set_timeout(struct rd_state_table *t, unsigned which, uint32_t value)
{
	if (which >= RD_STATE_TM_COUNT)
		return RD_ERR_INVAL;
	t->timeouts[which] = value;
	return 0;
}

uint32_t rd_state_get_timeout(const struct rd_state_table *t, unsigned which)
{
	return which < RD_STATE_TM_COUNT ? t->timeouts[which] : 0;
}

void rd_state_set_limit(struct rd_state_table *t, uint32_t limit)
{
	t->limit = limit;
}

uint32_t rd_state_limit(const struct rd_state_table *t)
{
	return t->limit;
}

void rd_state_rule_config_default(struct rd_state_rule_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

int rd_state_rule_set(struct rd_state_table *t, uint32_t rule,
                      const struct rd_state_rule_config *cfg)
{
	if (rule >= RD_STATE_MAX_RULES)
		return RD_ERR_INVAL;
	struct rd_rule_slot *r = rule_get(t, rule, true);
	if (r == NULL)
		return RD_ERR_NOMEM;
	if (cfg == NULL) {
		r->max_states = 0;
		tfree(t, r->timeouts, RD_STATE_TM_COUNT * sizeof(uint32_t));
		r->timeouts = NULL;
		return 0;
	}
	if (r->timeouts == NULL) {
		r->timeouts = tmalloc(t, RD_STATE_TM_COUNT * sizeof(uint32_t));
		if (r->timeouts == NULL)
			return RD_ERR_NOMEM;
	}
	memcpy(r->timeouts, cfg->timeouts, RD_STATE_TM_COUNT * sizeof(uint32_t));
	r->max_states = cfg->max_states;
	return 0;
}

int rd_state_set_rule(struct rd_state_table *t, struct rd_state *st, uint32_t rule)
{
	if (st == NULL || !rd_slot_used(st) ||
	    (rule >= RD_STATE_MAX_RULES && rule != RD_STATE_RULE_NONE))
		return RD_ERR_INVAL;
	if (rule != RD_STATE_RULE_NONE && rule_get(t, rule, true) == NULL)
		return RD_ERR_NOMEM;
	if (st->rule < t->nrules)
		t->rules[st->rule].states_cur--;
	st->rule = rule;
	if (rule < t->nrules)
		t->rules[rule].states_cur++;
	return 0;
}

uint32_t rd_state_rule_count(const struct rd_state_table *t, uint32_t rule)
{
	return rule < t->nrules ? t->rules[rule].states_cur : 0;
}

/* ---- expiry arithmetic (pf_state_expires) ---- */

rd_time_t rd_state_expires(const struct rd_state_table *t, const struct rd_state *st)
{
	if (st->timeout >= RD_STATE_TM_COUNT)
		return 0;
	const struct rd_rule_slot *r = st->rule < t->nrules ? &t->rules[st->rule] : NULL;
	const uint32_t *rt = r != NULL ? r->timeouts : NULL;
	uint64_t timeout =
	    (rt != NULL && rt[st->timeout]) ? rt[st->timeout] : t->timeouts[st->timeout];
	uint32_t start, end, states;
	if (rt != NULL && rt[RD_STATE_TM_ADAPTIVE_START]) {
		start = rt[RD_STATE_TM_ADAPTIVE_START];
		end = rt[RD_STATE_TM_ADAPTIVE_END];
		states = r->states_cur;
	} else {
		start = t->timeouts[RD_STATE_TM_ADAPTIVE_START];
		end = t->timeouts[RD_STATE_TM_ADAPTIVE_END];
		states = t->count;
	}
	if (end && states > start && start < end) {
		if (states >= end)
			return 0;
		timeout = timeout * (end - states) / (end - start);
	}
	/* `last` may lie before the clock's origin (import_last): signed. */
	int64_t e = (int64_t)st->last + (int64_t)(timeout * RD_SEC);
	return e > 0 ? (rd_time_t)e : 0;
}

static inline bool expired(const struct rd_state_table *t, const struct rd_state *st, rd_time_t now)
{
	return rd_state_expires(t, st) <= now;
}

/* ---- half-open accounting (pf_set_protostate) ---- */

bool rd_state_halfopen(const struct rd_state *st)
{
	return st->key.proto == 6 && !(st->flags & RD_STATE_F_REMOTE) &&
	       st->src.state < RD_TCPS_ESTABLISHED && st->src.state != RD_TCPS_CLOSED;
}

void rd_state_set_src_state(struct rd_state_table *t, struct rd_state *st, uint8_t s)
{
	bool was = rd_state_halfopen(st);
	st->src.state = s;
	bool is = rd_state_halfopen(st);
	if (was && !is)
		t->halfopen--;
	else if (!was && is)
		t->halfopen++;
}

/* ---- removal ---- */

bool rd_state_remove_why(struct rd_state_table *t, struct rd_state *st, int why, rd_time_t now)
{
	if (!rd_slot_used(st) || st == t->busy)
		return false;
	if ((st->flags & RD_STATE_F_ATTACHED) && t->cb.detach != NULL)
		t->cb.detach(t->cb.user, st, now);
	if (t->cb.event != NULL)
		t->cb.event(t->cb.user, st, RD_STATE_EV_REMOVE, why, now);
	uint32_t slot = id_index_take(t, st);
	uint64_t h = hash_key(t, &st->key);
	index_del(&t->kidx, h, slot << 1);
	if (st->flags & RD_STATE_F_NAT) {
		h = hash_key(t, rd_kslot(t, st->stack));
		index_del(&t->kidx, h, slot << 1 | 1);
		kslot_put(t, st->stack);
	}
	if (st->rule < t->nrules)
		t->rules[st->rule].states_cur--;
	if (rd_state_halfopen(st))
		t->halfopen--;
	if (--t->count == 0)
		t->sweep_armed = false; /* the next state restarts the sweep's clock */
	t->stats[RD_STATE_STAT_REMOVAL]++;
	memset(st, 0, sizeof(*st));
	st->stack = t->free_head;
	t->free_head = slot;
	return true;
}

void rd_state_remove(struct rd_state_table *t, struct rd_state *st, rd_time_t now)
{
	rd_state_remove_why(t, st, RD_STATE_RM_KILLED, now);
}

/* ---- lookup ---- */

const struct rd_state_key *rd_state_stack_key(const struct rd_state_table *t,
                                              const struct rd_state *st)
{
	return (st->flags & RD_STATE_F_NAT) ? rd_kslot(t, st->stack) : &st->key;
}

/*
 * pf_find_state: an IN packet matches wire keys, OUT stack keys; an
 * untranslated state's one key serves both. Interface-bound states on the
 * packet's interface win over floating ones.
 */
static struct rd_state *find_live_h(struct rd_state_table *t, const struct rd_state_key *key,
                                    uint64_t h, unsigned dir, uint16_t ifindex, rd_time_t now)
{
	struct rd_state *floating = NULL;
	struct rd_probe p;
	uint32_t v;
	for (probe_start(&p, &t->kidx, h); probe_next(&p, &v);) {
		struct rd_state *st = rd_slot(t, v >> 1);
		const struct rd_state_key *sk = (v & 1) ? rd_kslot(t, st->stack) : &st->key;
		if (!key_eq(sk, key))
			continue;
		if ((st->flags & RD_STATE_F_NAT) && (v & 1) != (dir == RD_STATE_OUT))
			continue;
		if (st->ifindex != 0 && ifindex != 0 && st->ifindex != ifindex)
			continue;
		if (expired(t, st, now))
			continue;
		/* Without an interface (ifindex 0) the first live match is the
		 * answer: stop here rather than walk on to the chunk's overflow
		 * count, which would cost a hit one more dependent load. */
		if (ifindex == 0 || (st->ifindex != 0 && st->ifindex == ifindex))
			return st;
		if (floating == NULL)
			floating = st;
	}
	return floating;
}

struct rd_state *rd_state_find_live(struct rd_state_table *t, const struct rd_state_key *key,
                                    unsigned dir, uint16_t ifindex, rd_time_t now)
{
	return find_live_h(t, key, hash_key(t, key), dir, ifindex, now);
}

/*
 * Burst lookup, software-pipelined over groups of RD_BURST keys so the
 * cache misses of different keys overlap: (1) hash a group and prefetch its
 * home chunks; (2) match tags and prefetch the candidate states; while
 * those loads fly, hash the next group; (3) search the first group with
 * everything in cache.
 */
#define RD_BURST 16

static void burst_hash(struct rd_state_table *t, const struct rd_state_key *const *keys, size_t m,
                       uint64_t *h)
{
	for (size_t i = 0; i < m; i++) {
		h[i] = hash_key(t, keys[i]);
		__builtin_prefetch(&t->kidx.cur.chunks[(uint32_t)h[i] & t->kidx.cur.mask]);
	}
}

size_t rd_state_lookup_burst(struct rd_state_table *t, const struct rd_state_key *const *keys,
                             size_t n, unsigned dir, uint16_t ifindex, rd_time_t now,
                             struct rd_state **out)
{
	uint64_t hb[2][RD_BURST];
	size_t found = 0;
	t->stats[RD_STATE_STAT_SEARCH] += n;
	if (dir > RD_STATE_OUT) {
		memset(out, 0, n * sizeof(*out));
		return 0;
	}
	burst_hash(t, keys, n < RD_BURST ? n : RD_BURST, hb[0]);
	for (size_t base = 0, g = 0; base < n; base += RD_BURST, g ^= 1) {
		size_t m = n - base < RD_BURST ? n - base : RD_BURST;
		const uint64_t *h = hb[g];
		for (size_t i = 0; i < m; i++) {
			const struct rd_chunk *c =
			    &t->kidx.cur.chunks[(uint32_t)h[i] & t->kidx.cur.mask];
			unsigned mt = match_tags(c, tag_of(h[i]));
			while (mt != 0) {
				/* A state's first 64 bytes (what a lookup reads) straddle two
				 * lines. */
				const char *sp =
				    (const char *)rd_slot(t, c->val[__builtin_ctz(mt)] >> 1);
				__builtin_prefetch(sp);
				__builtin_prefetch(sp + 63);
				mt &= mt - 1;
			}
		}
		size_t next = base + RD_BURST;
		if (next < n)
			burst_hash(t, keys + next, n - next < RD_BURST ? n - next : RD_BURST,
			           hb[g ^ 1]);
		for (size_t i = 0; i < m; i++) {
			out[base + i] = find_live_h(t, keys[base + i], h[i], dir, ifindex, now);
			found += out[base + i] != NULL;
		}
	}
	return found;
}

struct rd_state *rd_state_lookup(struct rd_state_table *t, const struct rd_state_key *key,
                                 unsigned dir, uint16_t ifindex, rd_time_t now)
{
	t->stats[RD_STATE_STAT_SEARCH]++;
	if (key == NULL || dir > RD_STATE_OUT)
		return NULL;
	uint64_t h = hash_key(t, key);
	/*
	 * The common case inline, with as few instructions as can be, so that
	 * the CPU runs ahead into the caller's next lookup while this one
	 * waits for memory: no interface, no growth migrating, and the answer
	 * in the home chunk or nothing past it (its overflow count 0). It
	 * looks at the home chunk's candidates in the order find_live_h does,
	 * so it returns what find_live_h would; anything else goes there.
	 */
	if (ifindex == 0 && t->kidx.old.chunks == NULL) {
		const struct rd_chunk *c = &t->kidx.cur.chunks[(uint32_t)h & t->kidx.cur.mask];
		for (unsigned m = match_tags(c, tag_of(h)); m != 0; m &= m - 1) {
			uint32_t v = c->val[__builtin_ctz(m)];
			struct rd_state *st = rd_slot(t, v >> 1);
			if (v & 1)
				goto slow; /* a stack key: find_live_h knows them */
			if (!key_eq(&st->key, key))
				continue;
			if ((st->flags & RD_STATE_F_NAT) || expired(t, st, now))
				goto slow;
			return st;
		}
		if (c->overflow == 0)
			return NULL;
	}
slow:
	return find_live_h(t, key, h, dir, ifindex, now);
}

static struct rd_state *find_id_any(struct rd_state_table *t, uint64_t id, uint32_t creatorid)
{
	struct rd_probe p;
	uint32_t v;
	for (probe_start(&p, &t->ididx, hash_id(t, id, creatorid)); probe_next(&p, &v);) {
		struct rd_state *st = rd_slot(t, v);
		if (st->id == id && st->creatorid == creatorid)
			return st;
	}
	return NULL;
}

static inline void prefetch_home(const struct rd_index *ix, uint64_t h)
{
	if (ix->cur.chunks != NULL)
		__builtin_prefetch(&ix->cur.chunks[(uint32_t)h & ix->cur.mask]);
}

void rd_state_prefetch_info(const struct rd_state_table *t, const struct rd_state_info *in)
{
	prefetch_home(&t->ididx, hash_id(t, in->id, in->creatorid));
	prefetch_home(&t->kidx, hash_key(t, &in->wire));
	if (!key_eq(&in->wire, &in->stack))
		prefetch_home(&t->kidx, hash_key(t, &in->stack));
}

struct rd_state *rd_state_find_id(struct rd_state_table *t, uint64_t id, uint32_t creatorid,
                                  rd_time_t now)
{
	struct rd_state *st = find_id_any(t, id, creatorid);
	return (st != NULL && !expired(t, st, now)) ? st : NULL;
}

/*
 * pf_state_key_attach's collision test for one key of a new state: another
 * state on the same key with the same interface binding and direction.
 * Expired states and TCP states with both peers past FIN_WAIT_2 give way
 * (are removed), except the state inside cb.established (t->busy),
 * which cannot be removed now and so collides. Returns true on a live
 * collision.
 */
static bool collides(struct rd_state_table *t, const struct rd_state_key *key, uint64_t h,
                     uint16_t ifindex, uint8_t outflag, rd_time_t now)
{
	struct rd_probe p;
	uint32_t v;
	bool live = false;
	for (probe_start(&p, &t->kidx, h); probe_next(&p, &v);) {
		struct rd_state *st = rd_slot(t, v >> 1);
		const struct rd_state_key *sk = (v & 1) ? rd_kslot(t, st->stack) : &st->key;
		if (!key_eq(sk, key) || st->ifindex != ifindex ||
		    (st->flags & RD_STATE_F_OUT) != outflag)
			continue;
		int why = -1;
		if (expired(t, st, now))
			why = RD_STATE_RM_EXPIRED;
		else if (st->key.proto == 6 && st->src.state >= RD_TCPS_FIN_WAIT_2 &&
		         st->dst.state >= RD_TCPS_FIN_WAIT_2)
			why = RD_STATE_RM_REUSED;
		/* Live, or not removable (inside its own established hook): a
		 * collision. Keep going: every other expired/closed holder gives way. */
		if (why < 0 || !rd_state_remove_why(t, st, why, now)) {
			live = true;
			continue;
		}
		/* the removal rearranged the index under the walk: start it again */
		live = false;
		probe_start(&p, &t->kidx, h);
	}
	return live;
}

/* ---- insertion ---- */

static void count_reason(struct rd_state_table *t, int reason)
{
	if (reason >= 0 && reason < RD_STATE_RES_COUNT)
		t->stats[RD_STATE_STAT_RES(reason)]++;
}

void rd_state_count_reason(struct rd_state_table *t, int reason)
{
	count_reason(t, reason);
}

/* Reserve everything an insertion needs so the commit cannot fail. */
static int reserve(struct rd_state_table *t, bool nat)
{
	if (slab_reserve(t) != 0 || (nat && kslab_reserve(t) != 0))
		return RD_ERR_NOMEM;
	if (index_reserve(t, &t->kidx, nat ? 2 : 1, kval_hash) != 0 ||
	    index_reserve(t, &t->ididx, 1, idval_hash) != 0)
		return RD_ERR_NOMEM;
	return 0;
}

static struct rd_state *slot_take(struct rd_state_table *t, uint32_t *slot)
{
	struct rd_state *st;
	if (t->free_head != RD_NONE) {
		*slot = t->free_head;
		st = rd_slot(t, *slot);
		t->free_head = st->stack;
	} else {
		*slot = t->hw++;
		st = rd_slot(t, *slot);
	}
	memset(st, 0, sizeof(*st));
	pf_clear(t, *slot);
	return st;
}

static void slot_put(struct rd_state_table *t, struct rd_state *st, uint32_t slot)
{
	memset(st, 0, sizeof(*st));
	pf_clear(t, slot);
	st->stack = t->free_head;
	t->free_head = slot;
}

/* Link a filled state (st->key set, stack key in *stack if NAT) into the indices. */
static void commit(struct rd_state_table *t, struct rd_state *st, uint32_t slot, uint64_t hw,
                   uint64_t hs, const struct rd_state_key *stack)
{
	index_put(&t->kidx.cur, hw, slot << 1);
	if (st->flags & RD_STATE_F_NAT) {
		st->stack = kslot_take(t);
		*rd_kslot(t, st->stack) = *stack;
		index_put(&t->kidx.cur, hs, slot << 1 | 1);
	} else {
		st->stack = RD_NONE;
	}
	index_put(&t->ididx.cur, hash_id(t, st->id, st->creatorid), slot);
	if (st->rule < t->nrules)
		t->rules[st->rule].states_cur++;
	if (rd_state_halfopen(st))
		t->halfopen++;
	t->count++;
	t->stats[RD_STATE_STAT_INSERT]++;
}

/*
 * The common part of creating and importing a state: hash its keys, test
 * both for collisions (pf_state_key_attach), make room, take a slot.
 * Returns 0 with *hw, *hs, *slot, *st (the caller fills it, then commits),
 * or RD_ERR_EXIST / RD_ERR_NOMEM with the reason counted and no state
 * added. Not "nothing changed": before either refusal, collides() may
 * already have removed expired or closed (both peers at FIN_WAIT_2 or
 * later) holders of the keys, each with its detach hook and
 * RD_STATE_EV_REMOVE event (RD_STATE_RM_EXPIRED / RD_STATE_RM_REUSED).
 */
static int place(struct rd_state_table *t, const struct rd_state_key *wire,
                 const struct rd_state_key *stack, uint16_t ifindex, uint8_t outflag, rd_time_t now,
                 uint64_t *hw, uint64_t *hs, uint32_t *slot, struct rd_state **st)
{
	bool nat = !key_eq(wire, stack);
	*hw = hash_key(t, wire);
	*hs = nat ? hash_key(t, stack) : *hw;
	bool c1 = collides(t, wire, *hw, ifindex, outflag, now);
	bool c2 = nat && collides(t, stack, *hs, ifindex, outflag, now);
	if (c1 || c2) {
		count_reason(t, RD_STATE_RES_STATEINS);
		return RD_ERR_EXIST;
	}
	if (reserve(t, nat) != 0) {
		count_reason(t, RD_STATE_RES_MEMORY);
		return RD_ERR_NOMEM;
	}
	*st = slot_take(t, slot);
	return 0;
}

static bool valid_key(const struct rd_state_key *k)
{
	return k->af == RD_AF_INET || k->af == RD_AF_INET6;
}

int rd_state_create(struct rd_state_table *t, const struct rd_state_pkt *p,
                    const struct rd_state_opts *o, rd_time_t now, struct rd_state **out)
{
	static const struct rd_state_opts noopts = {.rule = RD_STATE_RULE_NONE};
	struct rd_state_key k1, k2, wire, stack;
	if (out != NULL)
		*out = NULL;
	if (o == NULL)
		o = &noopts;
	if (p == NULL || p->dir > RD_STATE_OUT || rd_state_key_from_pkt(p, &k1) != 0 ||
	    (o->rule >= RD_STATE_MAX_RULES && o->rule != RD_STATE_RULE_NONE) ||
	    (o->flags & ~(RD_STATE_F_SLOPPY | RD_STATE_F_NOSYNC)) != 0)
		return RD_ERR_INVAL;
	k2 = k1;
	if (o->nat) {
		struct rd_state_pkt np = *p;
		np.src = o->nsrc;
		np.dst = o->ndst;
		np.sport = o->nsport;
		np.dport = o->ndport;
		np.rdomain = o->nrdomain;
		if (np.src.af != p->af || np.dst.af != p->af ||
		    rd_state_key_from_pkt(&np, &k2) != 0)
			return RD_ERR_INVAL;
	}
	if (p->dir == RD_STATE_IN) {
		wire = k1;
		stack = k2;
	} else {
		wire = k2;
		stack = k1;
	}
	bool nat = !key_eq(&wire, &stack);
	uint16_t ifindex = o->if_bound ? p->ifindex : 0;
	uint8_t outflag = p->dir == RD_STATE_OUT ? RD_STATE_F_OUT : 0;

	if (t->count >= t->limit) {
		count_reason(t, RD_STATE_RES_MEMORY);
		return RD_ERR_LIMIT;
	}
	if (o->rule != RD_STATE_RULE_NONE) {
		struct rd_rule_slot *r = rule_get(t, o->rule, true);
		if (r == NULL) {
			count_reason(t, RD_STATE_RES_MEMORY);
			return RD_ERR_NOMEM;
		}
		if (r->max_states && r->states_cur >= r->max_states) {
			count_reason(t, RD_STATE_RES_MAXSTATES);
			return RD_ERR_LIMIT;
		}
	}
	uint64_t hw, hs;
	uint32_t slot;
	struct rd_state *st;
	int rc = place(t, &wire, &stack, ifindex, outflag, now, &hw, &hs, &slot, &st);
	if (rc != 0)
		return rc;
	st->key = wire;
	st->id = t->next_id++;
	st->creatorid = t->creatorid;
	st->rule = o->rule;
	st->flags = (uint8_t)(outflag | o->flags | (nat ? RD_STATE_F_NAT : 0));
	st->ifindex = ifindex;
	st->last = now;
	st->creation = (uint32_t)(now / RD_SEC);
	st->stack = RD_NONE;
	rd_state_init_peers(st, p);
	st->timeout = rd_state_first_timeout(p->proto);
	st->packets[0] = 1;
	st->bytes[0] = p->tot_len;
	if (t->cb.attach != NULL) {
		if (t->cb.attach(t->cb.user, st, now) != 0) {
			slot_put(t, st, slot);
			count_reason(t, RD_STATE_RES_SRCLIMIT);
			return RD_ERR_LIMIT;
		}
		st->flags |= RD_STATE_F_ATTACHED;
	}
	commit(t, st, slot, hw, hs, &stack);
	if (t->cb.event != NULL)
		t->cb.event(t->cb.user, st, RD_STATE_EV_INSERT, 0, now);
	if (out != NULL)
		*out = st;
	return 0;
}

/* ---- sync import / export ---- */

static uint32_t timeout_secs(const struct rd_state_table *t, uint32_t rule, uint8_t tm)
{
	if (tm >= RD_STATE_TM_COUNT)
		return 0;
	if (rule < t->nrules && t->rules[rule].timeouts && t->rules[rule].timeouts[tm])
		return t->rules[rule].timeouts[tm];
	return t->timeouts[tm];
}

/*
 * pfsync_state_import: last = now - (timeout - remaining). The result may
 * lie before the clock's origin (a state older than `now`): rd_time_t is
 * unsigned, so it wraps, and rd_state_expires reads `last` as signed.
 */
static rd_time_t import_last(const struct rd_state_table *t, const struct rd_state_info *in,
                             rd_time_t now)
{
	uint32_t to = timeout_secs(t, in->rule, in->timeout);
	if (in->expire_in == 0 || in->expire_in >= to)
		return now;
	return now - (rd_time_t)(to - in->expire_in) * RD_SEC;
}

/*
 * Creation in whole seconds modulo 2^32: an age larger than now wraps, and
 * rd_state_export takes the difference modulo 2^32 back.
 */
static uint32_t import_creation(const struct rd_state_info *in, rd_time_t now)
{
	return (uint32_t)(now / RD_SEC) - in->creation_age;
}

static int import(struct rd_state_table *t, const struct rd_state_info *in, bool local,
                  rd_time_t now, struct rd_state **out)
{
	if (out != NULL)
		*out = NULL;
	if (in == NULL || !valid_key(&in->wire) || !valid_key(&in->stack) ||
	    in->timeout >= RD_STATE_TM_COUNT ||
	    (in->rule >= RD_STATE_MAX_RULES && in->rule != RD_STATE_RULE_NONE))
		return RD_ERR_INVAL;
	struct rd_state *st = local ? NULL : find_id_any(t, in->id, in->creatorid);
	if (st != NULL && expired(t, st, now)) {
		/* Not removable inside its established hook: inserting would give
		 * a second state the same (id, creatorid); refuse as a collision. */
		if (!rd_state_remove_why(t, st, RD_STATE_RM_EXPIRED, now)) {
			count_reason(t, RD_STATE_RES_STATEINS);
			return RD_ERR_EXIST;
		}
		st = NULL;
	}
	if (st != NULL) {
		bool was = rd_state_halfopen(st);
		st->src = in->src;
		st->dst = in->dst;
		memcpy(st->packets, in->packets, sizeof(st->packets));
		memcpy(st->bytes, in->bytes, sizeof(st->bytes));
		st->timeout = in->timeout;
		st->last = import_last(t, in, now);
		st->flags = (uint8_t)((st->flags & ~(RD_STATE_F_SLOPPY | RD_STATE_F_NOSYNC)) |
		                      (in->flags & (RD_STATE_F_SLOPPY | RD_STATE_F_NOSYNC)));
		if (in->pf.valid)
			pf_store(t, slot_of(t, st), &in->pf);
		bool is = rd_state_halfopen(st);
		if (was && !is)
			t->halfopen--;
		else if (!was && is)
			t->halfopen++;
		if (t->cb.event != NULL)
			t->cb.event(t->cb.user, st, RD_STATE_EV_UPDATE, 0, now);
		if (out != NULL)
			*out = st;
		return 0;
	}
	bool nat = !key_eq(&in->wire, &in->stack);
	uint8_t outflag = in->flags & RD_STATE_F_OUT;
	if (!local && in->creatorid == 0)
		return RD_ERR_INVAL;
	if (t->count >= t->limit) {
		count_reason(t, RD_STATE_RES_MEMORY);
		return RD_ERR_LIMIT;
	}
	if (in->rule != RD_STATE_RULE_NONE && rule_get(t, in->rule, true) == NULL) {
		count_reason(t, RD_STATE_RES_MEMORY);
		return RD_ERR_NOMEM;
	}
	uint64_t hw, hs;
	uint32_t slot;
	int rc = place(t, &in->wire, &in->stack, in->ifindex, outflag, now, &hw, &hs, &slot, &st);
	if (rc != 0)
		return rc;
	st->key = in->wire;
	st->id = local ? t->next_id++ : in->id;
	st->creatorid = local ? t->creatorid : in->creatorid;
	st->rule = in->rule;
	st->src = in->src;
	st->dst = in->dst;
	memcpy(st->packets, in->packets, sizeof(st->packets));
	memcpy(st->bytes, in->bytes, sizeof(st->bytes));
	st->timeout = in->timeout;
	st->last = import_last(t, in, now);
	st->creation = import_creation(in, now);
	st->ifindex = in->ifindex;
	st->flags = (uint8_t)((in->flags & RD_STATE_F_USER_MASK) | (local ? 0 : RD_STATE_F_REMOTE) |
	                      (nat ? RD_STATE_F_NAT : 0));
	if (in->pf.valid)
		pf_store(t, slot, &in->pf);
	commit(t, st, slot, hw, hs, &in->stack);
	/* one of our own states coming back (e.g. after a restart): keep local ids fresh */
	if (!local && in->creatorid == t->creatorid && in->id >= t->next_id)
		t->next_id = in->id + 1;
	if (t->cb.event != NULL)
		t->cb.event(t->cb.user, st, RD_STATE_EV_INSERT, 0, now);
	if (out != NULL)
		*out = st;
	return 0;
}

int rd_state_import(struct rd_state_table *t, const struct rd_state_info *in, rd_time_t now,
                    struct rd_state **out)
{
	return import(t, in, false, now, out);
}

int rd_state_import_local(struct rd_state_table *t, const struct rd_state_info *in, rd_time_t now,
                          struct rd_state **out)
{
	if (out != NULL)
		*out = NULL;
	if (in == NULL)
		return RD_ERR_INVAL;
	struct rd_state_info own = *in;
	/* Never found by (id, creatorid): the table gives the new state its id. */
	own.id = 0;
	own.creatorid = 0;
	return import(t, &own, true, now, out);
}

void rd_state_export(const struct rd_state_table *t, const struct rd_state *st, rd_time_t now,
                     struct rd_state_info *info)
{
	memset(info, 0, sizeof(*info));
	info->wire = st->key;
	info->stack = *rd_state_stack_key(t, st);
	info->id = st->id;
	info->creatorid = st->creatorid;
	info->rule = st->rule;
	info->src = st->src;
	info->dst = st->dst;
	memcpy(info->packets, st->packets, sizeof(info->packets));
	memcpy(info->bytes, st->bytes, sizeof(info->bytes));
	/* Modulo 2^32 (see import_creation); a creation ahead of now reads as age 0. */
	uint32_t age = (uint32_t)(now / RD_SEC) - st->creation;
	info->creation_age = age <= INT32_MAX ? age : 0;
	rd_time_t exp = rd_state_expires(t, st);
	info->expire_in = exp > now ? (uint32_t)((exp - now + RD_SEC - 1) / RD_SEC) : 0;
	info->ifindex = st->ifindex;
	info->timeout = st->timeout;
	info->flags = st->flags & (RD_STATE_F_USER_MASK | RD_STATE_F_TCP_EST | RD_STATE_F_NAT |
	                           RD_STATE_F_REMOTE);
	const struct rd_state_pf *x = t->xpages_alloc != 0 ? pf_at(t, slot_of(t, st)) : NULL;
	if (x != NULL && x->valid)
		info->pf = *x;
	else
		rd_state_pf_default(&info->pf);
}

/* ---- expiry, iteration, kill ---- */

size_t rd_state_purge(struct rd_state_table *t, rd_time_t now, size_t budget)
{
	/* a pending index growth also progresses here, a few chunks a call */
	index_migrate(t, &t->kidx, RD_MIGRATE_STEP, kval_hash);
	index_migrate(t, &t->ididx, RD_MIGRATE_STEP, idval_hash);
	uint32_t cap = t->hw;
	size_t removed = 0;
	if (cap == 0)
		return 0;
	for (size_t n = 0; n < budget && t->count > 0; n++) {
		if (t->expire_pos >= cap)
			t->expire_pos = 0;
		struct rd_state *st = rd_slot(t, t->expire_pos++);
		if (rd_slot_used(st) && expired(t, st, now)) {
			rd_state_remove_why(t, st, RD_STATE_RM_EXPIRED, now);
			removed++;
		}
	}
	return removed;
}

/* The sweep's interval (ns): the table's interval timeout, else the default. */
static rd_time_t sweep_interval(const struct rd_state_table *t)
{
	uint32_t s = t->timeouts[RD_STATE_TM_INTERVAL];

	return (s != 0 ? s : RD_STATE_EXPIRY_INTERVAL_DEFAULT) * RD_SEC;
}

/*
 * Time between two slices: about 1024 slots a slice (half a millisecond of
 * work at 10^6 states), but at most once a second (pf's purge rate) and at
 * least 1/1000 of the interval apart.
 */
static rd_time_t sweep_period(const struct rd_state_table *t)
{
	rd_time_t iv = sweep_interval(t);
	rd_time_t p = t->hw > RD_STATE_SWEEP_SLICE ? iv / (t->hw / RD_STATE_SWEEP_SLICE) : iv;

	if (p > RD_SEC)
		p = RD_SEC;
	if (p < iv / 1000)
		p = iv / 1000;
	return p;
}

rd_time_t rd_state_expiry(const struct rd_state_table *t)
{
	if (t->count == 0)
		return RD_TIME_NEVER;
	if (!t->sweep_armed)
		return 0;
	return t->sweep_last + sweep_period(t);
}

size_t rd_state_handle_expiry(struct rd_state_table *t, rd_time_t now)
{
	rd_time_t iv = sweep_interval(t), elapsed;

	if (t->count == 0)
		return 0;
	if (!t->sweep_armed) {
		t->sweep_armed = true;
		elapsed = sweep_period(t);
	} else {
		if (now < t->sweep_last + sweep_period(t))
			return 0;
		elapsed = now - t->sweep_last;
	}
	t->sweep_last = now;
	if (elapsed > iv)
		elapsed = iv;
	/* slots due: hw * elapsed / interval, rounded up so a sweep never lags */
	double due = (double)t->hw * (double)elapsed / (double)iv;
	size_t budget = (size_t)due;
	if ((double)budget < due)
		budget++;
	return rd_state_purge(t, now, budget);
}

uint32_t rd_state_count(const struct rd_state_table *t)
{
	return t->count;
}

uint32_t rd_state_capacity(const struct rd_state_table *t)
{
	return t->hw;
}

size_t rd_state_memory(const struct rd_state_table *t)
{
	return t->mem_bytes;
}

void rd_state_iter_init(struct rd_state_iter *it)
{
	it->pos = 0;
}

struct rd_state *rd_state_iter_next(struct rd_state_table *t, struct rd_state_iter *it)
{
	uint32_t cap = t->hw;
	while (it->pos < cap) {
		struct rd_state *st = rd_slot(t, it->pos++);
		if (rd_slot_used(st))
			return st;
	}
	return NULL;
}

/* Address i of key k inside net/plen. */
static bool key_addr_in(const struct rd_state_key *k, unsigned i, const struct rd_addr *net,
                        unsigned plen)
{
	struct rd_addr a = {.af = k->af};

	memcpy(a.u.v6, k->addr[i], sizeof(a.u.v6));
	return rd_addr_prefix_match(net, plen, &a);
}

bool rd_state_filter_match(const struct rd_state *st, const struct rd_state_filter *f)
{
	const struct rd_state_key *k = &st->key;
	unsigned sidx = (st->flags & RD_STATE_F_OUT) ? 1 : 0, didx = 1 - sidx;
	if (!rd_slot_used(st))
		return false;
	if ((f->fields & RD_STATE_FLT_AF) && k->af != f->af)
		return false;
	if ((f->fields & RD_STATE_FLT_PROTO) && k->proto != f->proto)
		return false;
	if ((f->fields & RD_STATE_FLT_SRC) && !key_addr_in(k, sidx, &f->src, f->src_plen))
		return false;
	if ((f->fields & RD_STATE_FLT_DST) && !key_addr_in(k, didx, &f->dst, f->dst_plen))
		return false;
	if ((f->fields & RD_STATE_FLT_SPORT) && k->port[sidx] != f->sport)
		return false;
	if ((f->fields & RD_STATE_FLT_DPORT) && k->port[didx] != f->dport)
		return false;
	if ((f->fields & RD_STATE_FLT_RULE) && st->rule != f->rule)
		return false;
	if ((f->fields & RD_STATE_FLT_IFINDEX) && st->ifindex != f->ifindex)
		return false;
	if ((f->fields & RD_STATE_FLT_RDOMAIN) && k->rdomain != f->rdomain)
		return false;
	return true;
}

size_t rd_state_kill(struct rd_state_table *t, const struct rd_state_filter *f, rd_time_t now)
{
	size_t n = 0;
	uint32_t cap = t->hw;
	for (uint32_t i = 0; i < cap; i++) {
		struct rd_state *st = rd_slot(t, i);
		if (rd_slot_used(st) && st != t->busy && rd_state_filter_match(st, f)) {
			rd_state_remove_why(t, st, RD_STATE_RM_KILLED, now);
			n++;
		}
	}
	return n;
}

void rd_state_stats(const struct rd_state_table *t, uint64_t out[RD_STATE_STAT_COUNT])
{
	memcpy(out, t->stats, sizeof(t->stats));
}

const char *rd_state_stat_name(int stat)
{
	static const char *const names[RD_STATE_STAT_REASON] = {"searches", "inserts", "removals"};

	if (stat < 0 || stat >= RD_STATE_STAT_COUNT)
		return "?";
	if (stat < RD_STATE_STAT_REASON)
		return names[stat];
	return rd_state_reason_name(stat - RD_STATE_STAT_REASON);
}

uint32_t rd_state_count_halfopen(const struct rd_state_table *t)
{
	return t->halfopen;
}

/* ---- names ---- */

const char *rd_state_reason_name(int reason)
{
	static const char *const names[RD_STATE_RES_COUNT] = {
	    "match",          "bad-offset",    "fragment",    "short",     "normalize",
	    "memory",         "bad-timestamp", "congestion",  "ip-option", "proto-cksum",
	    "state-mismatch", "state-insert",  "state-limit", "src-limit", "synproxy",
	    "translate",      "no-route",
	};
	if (reason < 0 || reason >= RD_STATE_RES_COUNT)
		return "unknown";
	return names[reason];
}

const char *rd_state_timeout_name(unsigned which)
{
	static const char *const names[RD_STATE_TM_COUNT] = {
	    "tcp.first",  "tcp.opening",    "tcp.established", "tcp.closing",    "tcp.finwait",
	    "tcp.closed", "udp.first",      "udp.single",      "udp.multiple",   "icmp.first",
	    "icmp.error", "other.first",    "other.single",    "other.multiple", "frag",
	    "interval",   "adaptive.start", "adaptive.end",    "src.track",      "tcp.tsdiff",
	};
	return which < RD_STATE_TM_COUNT ? names[which] : "unknown";
}

const char *rd_state_tcps_name(unsigned s)
{
	static const char *const names[] = {
	    "CLOSED",     "LISTEN",  "SYN_SENT", "SYN_RCVD",   "ESTABLISHED", "CLOSE_WAIT",
	    "FIN_WAIT_1", "CLOSING", "LAST_ACK", "FIN_WAIT_2", "TIME_WAIT",
	};
	return s < RD_ARRAY_LEN(names) ? names[s] : "unknown";
}
