/*
 * libredund — source tracking: pf's source nodes (pf_src_node), their limits
 * (max-src-nodes, max-src-states, max-src-conn, max-src-conn-rate), the
 * overload action, and sticky-address pools (round-robin, random,
 * source-hash, least-states, bitmask).
 *
 * The tracker is independent of the state table. It knows states only
 * through a 32-bit "binding" handle per state that the caller keeps (the
 * state table's rd_state.user is meant for it):
 *
 *   uint32_t ref = 0;
 *   rd_src_acquire(src, rule, &saddr, now, &ref);         limits; may refuse
 *   rd_src_map(src, rule, RD_SRC_KIND_NAT, &saddr, now, &ref, &naddr);
 *   ... create the state; on failure rd_src_release(src, ref, now) ...
 *   rd_src_commit(src, ref, now);                          state exists
 *   ... TCP handshake completes:
 *   if (rd_src_conn_established(src, ref, now) < 0) kill the state, drop
 *   ... state removed (expired, killed):
 *   rd_src_state_removed(src, ref, now);
 *
 * With redund/state.h: call rd_src_acquire/rd_src_map before
 * rd_state_create, commit from the table's `attach` callback (storing the
 * handle in st->user), call rd_src_state_removed from `detach` and
 * rd_src_conn_established from `established` (see examples/fwglue.c).
 * A rule whose source tracking is off and which has no sticky or
 * least-states pool leaves the handle 0; every function accepts handle 0 as
 * "nothing to do". Bindings live in a paged slab (40 bytes each) whose pages
 * are reused, and returned only by rd_src_table_free.
 *
 * Nodes are keyed by (rule id, kind, source address) in a hash table keyed
 * by SipHash-1-3 with a per-table random key (the sticky pools' source hash
 * stays pf's SipHash-2-4, below).
 * A node lives while states use it and for the rule's src.track time after
 * its last state goes; a node past that time is dead: lookups and limits
 * treat it as gone at once, rd_src_handle_expiry frees its memory incrementally.
 *
 * Thread-safety: a table is used by one thread at a time (common.h).
 * Callbacks run synchronously inside the call that triggers them; from a
 * callback the
 * caller may call rd_src_state_removed and rd_src_release (to drop the
 * states it kills) and the read-only functions, nothing else. With
 * redund/state.h, an overload flush arrives inside the table's `established`
 * callback, from which rd_state_kill is allowed; a state table that forbids
 * removals there needs the caller to record the request and perform it
 * after the packet. The tracker remembers itself which states were counted
 * as connections (it does not use RD_STATE_F_TCP_EST).
 *
 * Time is an argument (rd_time_t, ns); the tracker never reads a clock. The
 * connection-rate counter works in whole seconds (now / RD_SEC), as pf's.
 */
#ifndef REDUND_SRCTRACK_H
#define REDUND_SRCTRACK_H

#include "redund/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Node kinds: pf's pf_sn_types. TRACK is the plain source-track node that
 * carries the limits; the others hold a sticky translation/route target. */
enum rd_src_kind {
	RD_SRC_KIND_TRACK = 0, /* PF_SN_NONE: source-track limits */
	RD_SRC_KIND_NAT = 1,   /* PF_SN_NAT: nat-to pool */
	RD_SRC_KIND_RDR = 2,   /* PF_SN_RDR: rdr-to pool */
	RD_SRC_KIND_ROUTE = 3, /* PF_SN_ROUTE: route-to/reply-to/dup-to pool */
	RD_SRC_KIND_COUNT = 4,
};

/* Rule ids reserved by the tracker (a caller's rule id must be below). */
#define RD_SRC_RULE_GLOBAL 0xfffffffeu /* the shared "source-track global" namespace */
#define RD_SRC_RULE_ANY    0xffffffffu /* in kill_states: states of every rule */

/*
 * Source tracking mode of a rule (pf's source-track rule|global). pf.conf
 * implies it: max-src-nodes, max-src-conn and max-src-conn-rate force
 * RULE; max-src-states alone means GLOBAL. Here it is explicit.
 */
enum rd_src_track_mode {
	RD_SRC_TRACK_NONE = 0,   /* no TRACK node (all max_src_* must be 0) */
	RD_SRC_TRACK_RULE = 1,   /* nodes of this rule only */
	RD_SRC_TRACK_GLOBAL = 2, /* one node per source shared by all GLOBAL rules;
	                            only max_src_states may be set */
};

/* What an overload does to the offender's existing states (pf's flush). */
enum rd_src_flush {
	RD_SRC_FLUSH_NONE = 0,
	RD_SRC_FLUSH_RULE = 1,   /* "flush": states of this rule from the source */
	RD_SRC_FLUSH_GLOBAL = 2, /* "flush global": all states from the source */
};

/* Pool types (pf's PF_POOL_*). */
enum rd_src_pool_type {
	RD_SRC_POOL_NONE = 0,        /* the first target's address as given */
	RD_SRC_POOL_BITMASK = 1,     /* first target's network bits + source's host bits */
	RD_SRC_POOL_RANDOM = 2,      /* uniform target (rd_random), random host bits */
	RD_SRC_POOL_SRCHASH = 3,     /* keyed hash of the source picks target and host bits */
	RD_SRC_POOL_ROUNDROBIN = 4,  /* targets in order; every address of a network */
	RD_SRC_POOL_LEASTSTATES = 5, /* target with the fewest states (per weight) */
};

/*
 * Counters, copied out by rd_src_stats. Names (rd_src_stat_name) are
 * pfctl -si's where pf has the counter.
 */
enum rd_src_stat {
	RD_SRC_STAT_SRC_LIMIT = 0,     /* "src-limit": every refusal by a source limit */
	RD_SRC_STAT_MAX_SRC_STATES,    /* "max-src-states" */
	RD_SRC_STAT_MAX_SRC_NODES,     /* "max-src-nodes" */
	RD_SRC_STAT_MAX_SRC_CONN,      /* "max-src-conn" */
	RD_SRC_STAT_MAX_SRC_CONN_RATE, /* "max-src-conn-rate" */
	RD_SRC_STAT_OVERLOAD_TABLE,    /* "overload table insertion" */
	RD_SRC_STAT_OVERLOAD_FLUSH,    /* "overload flush states" */
	RD_SRC_STAT_SRC_NODES,         /* "src-node-limit": the table's node limit was full */
	RD_SRC_STAT_MEMORY,            /* "memory": an allocation failed */
	RD_SRC_STAT_TRANSLATE,         /* "translate": a pool had no usable target */
	RD_SRC_STAT_STALE,             /* "sticky-stale": a sticky target left its pool */
	RD_SRC_STAT_SEARCH,            /* "searches" (src nodes) */
	RD_SRC_STAT_INSERT,            /* "inserts" */
	RD_SRC_STAT_REMOVAL,           /* "removals" */
	RD_SRC_STAT_COUNT,
};

/* The tracker (opaque) and a rule in it (opaque handle owned by the table). */
struct rd_src_table;
struct rd_src_rule;

/*
 * Callbacks (all optional), held in rd_src_config.cb. `now` is the time of the triggering call.
 *  - overload: a source broke max-src-conn or max-src-conn-rate on a rule
 *    with `overload` set: add `src` to your overload table (pf's
 *    overload <table>).
 *  - kill_states: kill your states from `src` created by rule `rule_id`
 *    (RD_SRC_RULE_ANY: by every rule). Asked by an overload flush and by
 *    rd_src_kill_source/_target with RD_SRC_KILL_STATES. Killed states
 *    must be passed to rd_src_state_removed (now or later).
 */
struct rd_src_callbacks {
	void *user;
	void (*overload)(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now);
	void (*kill_states)(void *user, uint32_t rule_id, const struct rd_addr *src, rd_time_t now);
};

/* Table configuration; fill with rd_src_config_default. */
struct rd_src_config {
	const struct rd_mem *mem; /* NULL: libc */
	struct rd_random random;  /* hash key, pool keys, random pools; fn NULL: libsodium */
	struct rd_log log;        /* fn NULL: silent */
	struct rd_src_callbacks cb;
	uint32_t max_nodes;  /* pf's "set limit src-nodes"; default 10000; sizes the index */
	rd_time_t src_track; /* pf's "set timeout src.track" (ns); default 0 */
};

/*
 * rd_src_config_default - pf's defaults (10000 nodes, src.track 0; no
 * callbacks, libc memory, libsodium randomness, no log). Thread-safe.
 */
RD_EXPORT void rd_src_config_default(struct rd_src_config *cfg);

/*
 * rd_src_table_new - create a tracker. cfg NULL: defaults. max_nodes must be
 * 1..2^26. Draws the hash key from cfg->random. Returns 0 and *out, or
 * RD_ERR_INVAL / RD_ERR_NOMEM. The caller owns the table.
 */
RD_EXPORT int rd_src_table_new(const struct rd_src_config *cfg, struct rd_src_table **out);

/*
 * rd_src_table_free - free the table, its rules, nodes and bindings. Every
 * handle and rule pointer is invalid afterwards. No callbacks are called. NULL
 * is a no-op.
 */
RD_EXPORT void rd_src_table_free(struct rd_src_table *t);

/* A rule's source-tracking settings. Zero limits mean "no limit". */
struct rd_src_rule_config {
	uint32_t id; /* the caller's rule id, < RD_SRC_RULE_GLOBAL; unique */
	enum rd_src_track_mode track;
	uint32_t max_src_nodes;        /* distinct sources with a node of this rule */
	uint32_t max_src_states;       /* states per source node */
	uint32_t max_src_conn;         /* established TCP connections per source */
	uint32_t max_src_conn_rate;    /* N of "N/S": at most 4294967 */
	uint32_t max_src_conn_seconds; /* S of "N/S": > 0 when N is set */
	bool overload;                 /* call cb.overload on a conn/rate violation */
	enum rd_src_flush flush;       /* needs overload, as pf's "overload <t> flush" */
	rd_time_t src_track;           /* node lifetime after its last state; 0: the table's */
};

/*
 * rd_src_rule_config_default - a rule with id 0, no tracking, no limits, no
 * overload or flush, src_track 0 (the table's). Set at least the id.
 * Thread-safe.
 */
RD_EXPORT void rd_src_rule_config_default(struct rd_src_rule_config *cfg);

/*
 * rd_src_rule_add - add a rule. Checks the config (see the field notes);
 * RD_SRC_TRACK_GLOBAL with max_src_nodes/conn/rate is RD_ERR_INVAL, as is a
 * duplicate id. Returns 0 and *out (valid until rd_src_rule_remove or
 * rd_src_table_free), or RD_ERR_INVAL / RD_ERR_EXIST / RD_ERR_NOMEM.
 */
RD_EXPORT int rd_src_rule_add(struct rd_src_table *t, const struct rd_src_rule_config *cfg,
                              struct rd_src_rule **out);

/*
 * rd_src_rule_update - change a rule's limits, overload, flush and
 * src.track. The id and track mode cannot change (RD_ERR_INVAL). Existing
 * nodes keep their state; new limits apply from the next call. A node
 * already idle keeps the expiry computed when its last state went.
 */
RD_EXPORT int rd_src_rule_update(struct rd_src_table *t, struct rd_src_rule *r,
                                 const struct rd_src_rule_config *cfg);

/*
 * rd_src_rule_find - the rule with `id`, or NULL. RD_SRC_RULE_GLOBAL
 * returns the shared global namespace, usable with rd_src_lookup and the
 * kill functions only.
 */
RD_EXPORT struct rd_src_rule *rd_src_rule_find(struct rd_src_table *t, uint32_t id);

/* rd_src_rule_id - a rule's id. */
RD_EXPORT uint32_t rd_src_rule_id(const struct rd_src_rule *r);

/* rd_src_rule_nodes - nodes keyed to this rule (what max-src-nodes counts). */
RD_EXPORT uint32_t rd_src_rule_nodes(const struct rd_src_rule *r);

/*
 * rd_src_rule_remove - remove a rule: its nodes are unlinked (new lookups
 * no longer find them) and freed once no state uses them; its pools are
 * emptied. States bound to them stay valid; pass them to
 * rd_src_state_removed as usual. The pointer is invalid afterwards.
 */
RD_EXPORT void rd_src_rule_remove(struct rd_src_table *t, struct rd_src_rule *r);

/*
 * The hash of a source-hash pool (rd_src_pool_config.hash).
 *
 * RD_SRC_HASH_PF is OpenBSD pf's (pf_lb.c pf_hash and pf_map_addr
 * PF_POOL_SRCHASH, as an amd64 or arm64 OpenBSD computes it): SipHash-2-4
 * of the source address (4 or 16 bytes) keyed with pf's key. With one
 * target (pf.conf `nat-to 192.0.2.0/24 source-hash`), the network bits of
 * the target and the host bits of the hash: IPv4 the low 32 bits of the
 * SipHash value, IPv6 lo, hi, ~hi, ~lo (32-bit words, each in the host's
 * byte order, little-endian). With more targets (a list, which pfctl makes
 * a table), entry (SipHash value % targets) in the table's order (address
 * ascending, a more specific network first at one address), and its first
 * address not in a more specific target (for a network: its network
 * address, never the hash's host bits). An OpenBSD node with the same key
 * and targets then maps a source to the same address. A pf <table> of one
 * network is not reproduced (pf takes its first address; we take hash bits).
 *
 * RD_SRC_HASH_BLAKE2B, the default, is keyed BLAKE2b-128 over the family
 * and the address: it picks the target by its 64 low bits and fills the
 * host bits of a network target from the hash, in the list too (pf gives
 * every source of a listed network that network's first address), it
 * does not depend on the host's byte order (pf's mapping differs between
 * little- and big-endian OpenBSD hosts) and it does not need the targets
 * sorted. Use RD_SRC_HASH_PF only to share a mapping with OpenBSD nodes.
 */
enum rd_src_hash {
	RD_SRC_HASH_BLAKE2B = 0,
	RD_SRC_HASH_PF = 1,
};

/* A rule's pool of one kind (NAT, RDR or ROUTE). */
struct rd_src_pool_config {
	enum rd_src_pool_type type;
	bool sticky; /* sticky-address: keep a source's target in a node */
	bool keyed;  /* use `key` for source-hash; else a random key */
	/* pf's "source-hash key": the 32 hex digits of pf.conf's
	 * `source-hash 0x...` (as `pfctl -sr` prints it, also for a key given
	 * as a passphrase) in order, 16 bytes. */
	uint8_t key[16];
	enum rd_src_hash hash; /* RD_SRC_HASH_BLAKE2B unless sharing with pf */
};

/*
 * rd_src_pool_config_default - RD_SRC_POOL_NONE, not sticky, random hash
 * key (keyed false, key zero), RD_SRC_HASH_BLAKE2B. Thread-safe.
 */
RD_EXPORT void rd_src_pool_config_default(struct rd_src_pool_config *cfg);

/*
 * rd_src_pool_set - set the type, stickiness and hash key of rule r's pool
 * of `kind` (not TRACK). Targets stay; the round-robin position restarts.
 * Returns 0 or RD_ERR_INVAL (also for an unknown hash).
 */
RD_EXPORT int rd_src_pool_set(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
                              const struct rd_src_pool_config *cfg);

/*
 * rd_src_pool_add - append a target (an address, or a network with
 * prefixlen < the family's length) to a pool. Every target of a pool has the
 * same family. weight (0 treated as 1) divides a target's load for
 * least-states. A target taken out earlier and still used by nodes or
 * states comes back as itself (its load and sticky sources carry on).
 * Returns 0, RD_ERR_EXIST (same address and prefix),
 * RD_ERR_INVAL or RD_ERR_NOMEM.
 */
RD_EXPORT int rd_src_pool_add(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
                              const struct rd_addr *addr, unsigned prefixlen, uint16_t weight);

/*
 * rd_src_pool_remove - take a target out of a pool. Sticky nodes that chose
 * it keep it until their next rd_src_map, which re-picks (counted as
 * sticky-stale); to drop them and their states now, use rd_src_kill_target.
 * Returns 0 or RD_ERR_NOENT.
 */
RD_EXPORT int rd_src_pool_remove(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
                                 const struct rd_addr *addr, unsigned prefixlen);

/*
 * rd_src_pool_target_states - states currently bound to a target of a pool
 * (least-states' load; counted for sticky and least-states pools). Returns
 * the count, or -1 if the pool has no such target.
 */
RD_EXPORT int64_t rd_src_pool_target_states(const struct rd_src_table *t,
                                            const struct rd_src_rule *r, unsigned kind,
                                            const struct rd_addr *addr, unsigned prefixlen);

/*
 * rd_src_acquire - the source-tracking step of a new state
 * (pf_insert_src_node): find or create the TRACK node of `src` for rule r
 * (or the global namespace), checking max-src-nodes and the table's node
 * limit for a new node and max-src-states for an existing one. The node is
 * held by the binding *ref (allocated if *ref is 0) until rd_src_commit or
 * rd_src_release. A rule without tracking: returns 0, *ref unchanged.
 * Returns 0, RD_ERR_LIMIT (counted: src-limit plus the limit's counter),
 * RD_ERR_NOMEM, RD_ERR_EXIST (the binding already holds a TRACK node),
 * RD_ERR_STATE (binding already committed) or RD_ERR_INVAL.
 */
RD_EXPORT int rd_src_acquire(struct rd_src_table *t, struct rd_src_rule *r,
                             const struct rd_addr *src, rd_time_t now, uint32_t *ref);

/*
 * rd_src_map - choose the translation/route target for `src` from rule r's
 * pool of `kind` (pf_map_addr), writing it to *out. A sticky pool first
 * looks up the source's node: a live node whose target is still in the pool
 * returns the cached address; a node whose target left the pool is dropped
 * and a target is picked afresh. A new sticky node obeys max-src-nodes and
 * the node limit. Sticky nodes and least-states targets are held by *ref
 * (allocated if 0) until commit/release; other pools leave *ref unchanged.
 * Returns 0, RD_ERR_NOENT (empty pool: translate), RD_ERR_INVAL (bitmask
 * across families, bad kind), RD_ERR_LIMIT, RD_ERR_NOMEM, RD_ERR_EXIST (the
 * binding already holds this kind) or RD_ERR_STATE.
 */
RD_EXPORT int rd_src_map(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
                         const struct rd_addr *src, rd_time_t now, uint32_t *ref,
                         struct rd_addr *out);

/*
 * rd_src_commit - the state holding binding `ref` now exists: every node of
 * the binding counts it (states++, pf_create_state's linking), and its
 * targets' loads grow. Handle 0: no-op. Returns 0 or RD_ERR_INVAL (unknown
 * or already committed handle).
 */
RD_EXPORT int rd_src_commit(struct rd_src_table *t, uint32_t ref, rd_time_t now);

/*
 * rd_src_release - abandon an uncommitted binding (state creation failed):
 * nodes created for it are freed, as pf_remove_src_node does. The handle is
 * invalid afterwards. Handle 0 or unknown: no-op. A committed handle is
 * treated as rd_src_state_removed.
 */
RD_EXPORT void rd_src_release(struct rd_src_table *t, uint32_t ref, rd_time_t now);

/*
 * rd_src_state_removed - the state holding `ref` is gone
 * (pf_src_tree_remove_state): its nodes lose a state (and a connection if
 * it was established); a node left without states starts its src.track
 * lifetime. The handle is invalid afterwards. Handle 0 or unknown: no-op.
 */
RD_EXPORT void rd_src_state_removed(struct rd_src_table *t, uint32_t ref, rd_time_t now);

/*
 * rd_src_conn_established - the TCP state holding `ref` completed its
 * handshake (pf_src_connlimit): count a connection on its TRACK node and
 * feed the rate counter. If max-src-conn (limit < connections) or
 * max-src-conn-rate (counter > N*1000) is broken: counts src-limit and the
 * limit, calls cb.overload (if the rule has overload) and
 * cb.kill_states (if flush), and returns RD_ERR_LIMIT: the caller kills
 * this state and drops the packet. Returns 0 otherwise (also for handle 0,
 * a binding without a TRACK node, or a second call for the same state), or
 * RD_ERR_STATE for a binding not yet committed.
 */
RD_EXPORT int rd_src_conn_established(struct rd_src_table *t, uint32_t ref, rd_time_t now);

/* rd_src_kill_* flags */
#define RD_SRC_KILL_STATES 0x1 /* also ask cb.kill_states for the states */

/*
 * rd_src_kill_source - drop the nodes of `src` (pfctl -K): of rule r (any
 * kind), or of every rule and the global namespace if r is NULL. Nodes in
 * use are unlinked and freed when their states go. With
 * RD_SRC_KILL_STATES, calls cb.kill_states(r's id or RD_SRC_RULE_ANY,
 * src) once, whether or not a node existed. Returns the nodes dropped.
 */
RD_EXPORT size_t rd_src_kill_source(struct rd_src_table *t, struct rd_src_rule *r,
                                    const struct rd_addr *src, unsigned flags, rd_time_t now);

/*
 * rd_src_kill_target - drop every sticky node whose target address is
 * `target` in the pools of `kind` (RD_SRC_KIND_COUNT: all pool kinds) of rule
 * r (NULL: all rules) — kill by gateway. With RD_SRC_KILL_STATES, calls
 * cb.kill_states(rule, source) for each dropped live node (a dead one has
 * no states). Pool membership is
 * not changed. Work: the nodes bound to matching targets. Returns the nodes
 * dropped.
 */
RD_EXPORT size_t rd_src_kill_target(struct rd_src_table *t, struct rd_src_rule *r, unsigned kind,
                                    const struct rd_addr *target, unsigned flags, rd_time_t now);

/*
 * rd_src_handle_expiry - free dead nodes (no states and src.track passed),
 * examining at most `budget` candidates; each rule's idle nodes are kept in
 * the order they went idle, so only expired nodes are visited. Call it at
 * rd_src_expiry (with a budget that fits your loop; a node already dead is
 * invisible to lookups and limits, so a late or partial call changes only
 * when memory comes back). Returns the number freed. O(budget).
 */
RD_EXPORT size_t rd_src_handle_expiry(struct rd_src_table *t, rd_time_t now, size_t budget);

/*
 * rd_src_expiry - earliest time at which an idle node dies (when
 * rd_src_handle_expiry has work), or RD_TIME_NEVER. O(rules).
 */
RD_EXPORT rd_time_t rd_src_expiry(const struct rd_src_table *t);

/* A node, as read through rd_src_lookup / rd_src_foreach. */
struct rd_src_node_info {
	uint32_t rule_id; /* RD_SRC_RULE_GLOBAL for global TRACK nodes */
	uint8_t kind;     /* enum rd_src_kind */
	bool has_target;  /* sticky nodes: `target` is set */
	struct rd_addr addr;
	struct rd_addr target;
	uint32_t states;    /* states using the node */
	uint32_t conn;      /* established TCP connections (TRACK) */
	uint32_t conn_rate; /* pf's decaying counter, x1000, as of its last update */
	rd_time_t creation; /* time the node was created */
	rd_time_t expire;   /* when idle: time it dies; else 0 */
};

/*
 * rd_src_lookup - read the live node (r, kind, src) into *info (r may be
 * the global namespace). Not counted as a search. Returns 0 or
 * RD_ERR_NOENT.
 */
RD_EXPORT int rd_src_lookup(const struct rd_src_table *t, const struct rd_src_rule *r,
                            unsigned kind, const struct rd_addr *src, rd_time_t now,
                            struct rd_src_node_info *info);

/*
 * rd_src_foreach - call fn for every live node (order unspecified). fn must
 * not change the table. O(index size + nodes).
 */
RD_EXPORT void rd_src_foreach(const struct rd_src_table *t, rd_time_t now,
                              void (*fn)(void *user, const struct rd_src_node_info *info),
                              void *user);

/* rd_src_count - nodes in the index (live, plus dead ones not yet freed). */
RD_EXPORT uint32_t rd_src_count(const struct rd_src_table *t);

/*
 * rd_src_stats - copy the table's counters into out, indexed by enum
 * rd_src_stat. The caller owns out.
 */
RD_EXPORT void rd_src_stats(const struct rd_src_table *t, uint64_t out[RD_SRC_STAT_COUNT]);

/* rd_src_stat_name - a counter's name, or "?" for a bad index. Thread-safe. */
RD_EXPORT const char *rd_src_stat_name(int stat);

/* rd_src_kind_name - "track", "nat", "rdr", "route" or "?". Thread-safe. */
RD_EXPORT const char *rd_src_kind_name(unsigned kind);

#ifdef __cplusplus
}
#endif

#endif
