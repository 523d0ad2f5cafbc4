/* State table internals shared by table.c, track.c and parse.c; not installed. */
#ifndef RD_STATE_INTERNAL_H
#define RD_STATE_INTERNAL_H

#include "core/internal.h"
#include "core/siphash.h"
#include "redund/state.h"

_Static_assert(sizeof(struct rd_state_key) == 40, "rd_state_key layout");
_Static_assert(sizeof(struct rd_state_peer) == 12, "rd_state_peer layout");
_Static_assert(sizeof(struct rd_state) == 136, "rd_state layout");
_Static_assert(offsetof(struct rd_state, id) == 64, "lookup fields in the first 64 bytes");

/* Serial-number arithmetic on TCP sequence numbers. */
#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

/*
 * One index: F14-style chunks of 12 one-byte tags and 12 32-bit values in a
 * 64-byte cache line. A lookup loads one line, compares the 12 tags at
 * once and touches the slab only on a tag hit (1/128 false-hit rate per
 * occupied slot). `overflow` counts entries whose home chunk is this one or
 * earlier but which live further on; a probe stops at the first chunk with
 * overflow 0, and deletion decrements the counts, so no tombstones build up.
 */
#define RD_CHUNK_SLOTS 12
struct rd_chunk {
	uint8_t tag[RD_CHUNK_SLOTS]; /* 0: empty; else 0x80 | 7 hash bits */
	uint8_t overflow;            /* saturates at 255 (then never decremented) */
	uint8_t pad[3];
	uint32_t val[RD_CHUNK_SLOTS];
};
_Static_assert(sizeof(struct rd_chunk) == 64, "chunk is a cache line");

struct rd_itab {
	struct rd_chunk *chunks;
	uint32_t mask;  /* nchunks - 1 */
	uint32_t count; /* entries */
};

/*
 * An index grows without a pause: from 80% load a table twice the size is
 * allocated and zeroed a few chunks per insert; at 85% it becomes `cur` and
 * the full one `old`; each later insert (and each expiry call) moves a few
 * of old's chunks into cur, and searches look in both until old is empty
 * and freed.
 */
struct rd_index {
	struct rd_itab cur, old; /* old.chunks == NULL: not migrating */
	uint32_t mig;            /* next chunk of old to move */
	struct rd_itab next;     /* the next table, being zeroed ahead of need */
	uint32_t zeroed;         /* chunks of next zeroed so far */
};

/*
 * The slab: pages of states, never moved. The first 2^15 slots live in
 * eight small pages of 2^12 (so a small table stays small); after that,
 * pages of 2^15 states (4.25 MiB): big enough to hold whole 2 MiB huge
 * pages, small enough that the last, partly used page costs at most ~4
 * bytes a state at 10^6 states.
 */
#define RD_PAGE_SHIFT  15
#define RD_PAGE_SIZE   (1u << RD_PAGE_SHIFT)
#define RD_SPAGE_SHIFT 12
#define RD_SPAGE_SIZE  (1u << RD_SPAGE_SHIFT)
#define RD_SPAGES      (RD_PAGE_SIZE / RD_SPAGE_SIZE)
#define RD_NONE        UINT32_MAX

/* Slab slots a slice of rd_state_handle_expiry's sweep aims at. */
#define RD_STATE_SWEEP_SLICE 1024u

struct rd_rule_slot {
	uint32_t states_cur;
	uint32_t max_states;
	uint32_t *timeouts; /* NULL: the table's */
};

struct rd_state_table {
	const struct rd_mem *mem;
	size_t mem_bytes; /* bytes held from mem */
	struct rd_log log;
	struct rd_state_callbacks cb;
	struct rd_sipkey sipkey; /* SipHash-1-3 key of both indices */
	bool huge_pages;
	uint32_t limit;
	uint32_t creatorid;
	uint64_t next_id;
	uint32_t timeouts[RD_STATE_TM_COUNT];

	struct rd_state *spages[RD_SPAGES]; /* slots 0 .. RD_PAGE_SIZE-1 */
	struct rd_state **pages;            /* slots RD_PAGE_SIZE.. in big pages */
	uint32_t npages, pages_alloc;       /* big pages */
	uint32_t cap;                       /* slots allocated */
	uint32_t free_head;                 /* free state slot list through ->stack */
	uint32_t hw;                        /* slots ever handed out; the rest are uninitialised */
	uint32_t count;

	struct rd_state_key **kpages; /* stack keys of translated states */
	uint32_t nkpages, kpages_alloc;
	uint32_t kfree_head; /* free list through addr bytes */
	uint32_t khw;        /* key slots ever handed out */

	/*
	 * pf data carried for sync (struct rd_state_pf), parallel to the slab
	 * in pages of RD_SPAGE_SIZE slots, allocated only once a state of the
	 * page has data other than the defaults (a table of local states
	 * holds none); a record with valid 0 is "the defaults".
	 */
	struct rd_state_pf **xpages;
	uint32_t xpages_alloc;

	struct rd_index kidx;  /* key -> (slot << 1 | is_stack) */
	struct rd_index ididx; /* (id, creatorid) -> slot */

	struct rd_rule_slot *rules;
	uint32_t nrules;

	uint32_t expire_pos;
	struct rd_state *busy; /* state inside cb.established: removals skip it */
	uint64_t stats[RD_STATE_STAT_COUNT];
	uint32_t halfopen;    /* TCP states not yet established (a gauge) */
	bool sweep_armed;     /* rd_state_handle_expiry has run since the table last emptied */
	rd_time_t sweep_last; /* ... at this time */
};

/*
 * The indices' hash: SipHash-1-3 under the table's secret key
 * (core/siphash.h says why this variant keeps remote hosts from choosing
 * colliding keys). An IPv4 key is hashed as 16 bytes: the two 4-byte
 * addresses, then the key's last 8 bytes (ports, rdomain, af, proto); other
 * keys as their 40 bytes. A chunk is picked by the low bits, the tag is
 * the top 7. Here rather than in table.c so that tests can build keys that
 * collide.
 */
static inline uint64_t rd_state_hash_key(const struct rd_state_table *t,
                                         const struct rd_state_key *k)
{
	if (k->af == RD_AF_INET) {
		const uint8_t *b = (const uint8_t *)k;
		uint64_t w0 = (rd_sip_le64(b) & 0xffffffffu) | rd_sip_le64(b + 16) << 32;
		return rd_siphash13_2w(&t->sipkey, w0, rd_sip_le64(b + 32));
	}
	return rd_siphash13(&t->sipkey, k, sizeof(*k));
}

static inline uint64_t rd_state_hash_id(const struct rd_state_table *t, uint64_t id,
                                        uint32_t creatorid)
{
	return rd_siphash13_w32(&t->sipkey, id, creatorid);
}

static inline struct rd_state *rd_slot(const struct rd_state_table *t, uint32_t i)
{
	if (i < RD_PAGE_SIZE)
		return &t->spages[i >> RD_SPAGE_SHIFT][i & (RD_SPAGE_SIZE - 1)];
	i -= RD_PAGE_SIZE;
	return &t->pages[i >> RD_PAGE_SHIFT][i & (RD_PAGE_SIZE - 1)];
}

static inline struct rd_state_key *rd_kslot(const struct rd_state_table *t, uint32_t i)
{
	return &t->kpages[i >> RD_PAGE_SHIFT][i & (RD_PAGE_SIZE - 1)];
}

/* A slot is free when its key af is 0. */
static inline bool rd_slot_used(const struct rd_state *st)
{
	return st->key.af != 0;
}

/* Peer the packet comes from / goes to (pf: direction vs state direction). */
static inline unsigned rd_state_dir(const struct rd_state *st)
{
	return (st->flags & RD_STATE_F_OUT) ? RD_STATE_OUT : RD_STATE_IN;
}

/* table.c */
void rd_state_set_src_state(struct rd_state_table *t, struct rd_state *st, uint8_t s);
bool rd_state_halfopen(const struct rd_state *st);
/* Removes st for `why`; false (nothing done) if it is not in the table or
 * is the state inside cb.established (t->busy). */
bool rd_state_remove_why(struct rd_state_table *t, struct rd_state *st, int why, rd_time_t now);
struct rd_state *rd_state_find_live(struct rd_state_table *t, const struct rd_state_key *key,
                                    unsigned dir, uint16_t ifindex, rd_time_t now);

/* parse.c: ICMP query/reply mapping (pf_icmp_mapping's queries). */
bool rd_state_icmp_query(uint8_t af, uint8_t type, uint8_t *qtype, bool *reply);

/* track.c: per-protocol tracking on a found state; returns a verdict. */
int rd_state_track(struct rd_state_table *t, struct rd_state *st, const struct rd_state_pkt *p,
                   rd_time_t now, struct rd_state_result *res);
void rd_state_init_peers(struct rd_state *st, const struct rd_state_pkt *p);

#endif
