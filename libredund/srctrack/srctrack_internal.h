/* Source tracking internals shared by srctrack.c and pool.c; not installed. */
#ifndef RD_SRCTRACK_INTERNAL_H
#define RD_SRCTRACK_INTERNAL_H

#include <sodium.h>

#include "core/internal.h"
#include "core/siphash.h"
#include "redund/srctrack.h"

_Static_assert(crypto_generichash_KEYBYTES_MIN == crypto_shorthash_siphash24_KEYBYTES,
               "one 16-byte pool key serves both hashes");

/* Bindings and nodes/targets share the first byte so a binding slot can
 * hold either. */
enum { OBJ_NODE = 1, OBJ_TARGET = 2 };

/* node.flags */
#define NODE_IDLE   0x01 /* on its rule's idle list (states == 0) */
#define NODE_KILLED 0x02 /* unhashed; freed when unused */
#define NODE_ZOMBIE 0x04 /* killed and on the zombie list (iprev/inext) */

struct src_target;
struct rd_src_rule;

struct src_node {
	uint8_t obj; /* OBJ_NODE */
	uint8_t kind;
	uint8_t flags;
	uint8_t scratch;  /* rd_src_kill_target: was live when unlinked */
	uint32_t rule_id; /* key, with kind and addr */
	struct rd_addr addr;
	struct src_node *hnext;         /* hash chain */
	struct src_node *iprev, *inext; /* idle list of the rule, or the zombie list */
	struct src_node *tprev, *tnext; /* nodes bound to `target` */
	struct rd_src_rule *rule;       /* namespace: the rule or the global one */
	struct src_target *target;      /* sticky target (holds a reference) */
	struct rd_addr raddr;
	uint32_t states, conn, pending;
	uint32_t rate_count; /* pf_threshold.count (x1000) */
	uint64_t rate_last;  /* pf_threshold.last, whole seconds */
	rd_time_t creation, expire;
};

struct src_target {
	uint8_t obj; /* OBJ_TARGET */
	uint8_t kind;
	uint8_t in_pool;
	uint8_t prefixlen;
	uint16_t weight;
	struct rd_addr addr;
	uint64_t states; /* committed states bound to it */
	uint32_t refs;   /* pool membership + bound nodes + bindings */
	struct rd_src_rule *rule;
	struct src_target *aprev, *anext; /* every live target of the pool */
	struct src_node *nodes;           /* sticky nodes bound to it */
};

struct src_pool {
	uint8_t type, sticky, af;
	uint8_t hash; /* enum rd_src_hash */
	/* BLAKE2b's key, or pf's key32[] as a little-endian host holds it */
	uint8_t key[crypto_generichash_KEYBYTES_MIN];
	struct src_target **active; /* in pool order */
	uint32_t n, cap;
	uint32_t cursor;        /* round-robin / least-states position */
	struct rd_addr rr_addr; /* round-robin address inside active[cursor] */
	bool rr_valid;
	struct src_target *all; /* every live target, in or out of the pool */
};

struct rd_src_rule {
	struct rd_src_rule_config cfg;
	struct rd_src_table *tbl;
	struct rd_src_rule *prev, *next; /* live or dead rule list */
	struct src_node *idle_head, *idle_tail;
	uint32_t nodes; /* hashed nodes of this namespace */
	uint32_t refs;  /* table membership + allocated nodes + targets */
	bool removed;
	struct rd_src_rule *track; /* namespace of TRACK nodes: self or the global rule */
	struct src_pool pools[RD_SRC_KIND_COUNT];
};

/* A state's binding: up to one node or target per kind. */
#define BIND_USED      0x01
#define BIND_COMMITTED 0x02
#define BIND_EST       0x04

struct src_binding {
	void *slot[RD_SRC_KIND_COUNT];
	uint32_t next_free;
	uint8_t flags;
};

#define BIND_PAGE_SHIFT 10
#define BIND_PAGE       (1u << BIND_PAGE_SHIFT)

struct rd_src_table {
	const struct rd_mem *mem;
	struct rd_random random;
	struct rd_log log;
	struct rd_src_callbacks cb;
	uint32_t max_nodes;
	rd_time_t src_track;
	struct rd_sipkey hkey; /* node_bucket's SipHash-1-3 key */
	struct src_node **buckets;
	uint32_t mask;
	uint32_t count;            /* hashed nodes */
	struct rd_src_rule *rules; /* live rules, the global one first */
	struct rd_src_rule *dead;  /* removed rules still referenced */
	uint32_t nrules;
	struct rd_src_rule *cursor; /* expiry position */
	struct src_node *zombies;
	struct rd_src_rule *global;
	struct src_binding **pages;
	uint32_t npages, pages_cap;
	uint32_t free_bind; /* handle of the first free binding, 0: none */
	uint64_t counters[RD_SRC_STAT_COUNT];
};

/* pool.c */
int rd_src_pool_select(struct rd_src_table *t, struct src_pool *p, const struct rd_addr *src,
                       struct src_target **target, struct rd_addr *out);
struct src_target *rd_src_pool_find_containing(struct src_pool *p, const struct rd_addr *a);

#endif
