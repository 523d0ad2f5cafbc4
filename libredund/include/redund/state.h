/*
 * libredund — the connection-state table: pf's state semantics (direction-
 * normalised keys, wire and stack keys under NAT, TCP window tracking as
 * pf_tcp_track_full does it, UDP/ICMP/other pseudo-states, pf's timeouts and
 * adaptive scaling, reason counters) in a compact, hash-indexed table.
 *
 * Layout in memory: states live in a paged slab (stable addresses, 32-bit
 * indices, never moved); two open-addressed, bucketised indices point into it
 * (key -> state, (id, creatorid) -> state). Both are keyed by SipHash-1-3 with
 * a per-table random key, so remote hosts cannot choose colliding keys (the
 * hash values never leave the table; see libredund/core/siphash.h for why
 * 1-3 rounds suffice there).
 *
 * Thread-safety: a table is used by one thread at a time (see common.h).
 * Pure helpers (rd_state_parse, rd_state_key_from_pkt, rd_state_reason_name,
 * rd_state_timeout_name, rd_state_config_default) are thread-safe.
 *
 * Time: every call that can expire or refresh a state takes `now`
 * (rd_time_t, ns). The table never reads a clock. Timeouts are in seconds as
 * in pf.
 *
 * Expired states are invisible: a lookup never returns a state whose
 * timeout has passed at `now`; mutating calls (packet, create, import,
 * purge) remove such a state when they meet it, and rd_state_handle_expiry
 * (at rd_state_expiry) sweeps the rest in slices, the whole table every
 * `interval` (or rd_state_purge with the caller's own budget).
 */
#ifndef REDUND_STATE_H
#define REDUND_STATE_H

#include "redund/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Packet direction relative to the interface, as pf's PF_IN / PF_OUT. */
enum rd_state_dir {
	RD_STATE_IN = 0,
	RD_STATE_OUT = 1,
};

/* TCP peer states (<netinet/tcp_fsm.h> numbering, which pfsync puts on the wire). */
enum rd_tcps {
	RD_TCPS_CLOSED = 0,
	RD_TCPS_LISTEN = 1,
	RD_TCPS_SYN_SENT = 2,
	RD_TCPS_SYN_RECEIVED = 3,
	RD_TCPS_ESTABLISHED = 4,
	RD_TCPS_CLOSE_WAIT = 5,
	RD_TCPS_FIN_WAIT_1 = 6,
	RD_TCPS_CLOSING = 7,
	RD_TCPS_LAST_ACK = 8,
	RD_TCPS_FIN_WAIT_2 = 9,
	RD_TCPS_TIME_WAIT = 10,
};

/* UDP and other-protocol peer states (pf's PFUDPS_* / PFOTHERS_*). */
enum rd_udps {
	RD_UDPS_NO_TRAFFIC = 0,
	RD_UDPS_SINGLE = 1,
	RD_UDPS_MULTIPLE = 2,
};

/*
 * Timeout classes: pf's PFTM_* in pf's order (so the value is the same byte
 * pfsync carries). Values below RD_STATE_TM_COUNT are configurable seconds;
 * PURGE is a marker meaning "expire now".
 */
enum rd_state_tm {
	RD_STATE_TM_TCP_FIRST_PACKET = 0, /* tcp.first 120 */
	RD_STATE_TM_TCP_OPENING,          /* tcp.opening 30 */
	RD_STATE_TM_TCP_ESTABLISHED,      /* tcp.established 86400 */
	RD_STATE_TM_TCP_CLOSING,          /* tcp.closing 900 */
	RD_STATE_TM_TCP_FIN_WAIT,         /* tcp.finwait 45 */
	RD_STATE_TM_TCP_CLOSED,           /* tcp.closed 90 */
	RD_STATE_TM_UDP_FIRST_PACKET,     /* udp.first 60 */
	RD_STATE_TM_UDP_SINGLE,           /* udp.single 30 */
	RD_STATE_TM_UDP_MULTIPLE,         /* udp.multiple 60 */
	RD_STATE_TM_ICMP_FIRST_PACKET,    /* icmp.first 20 */
	RD_STATE_TM_ICMP_ERROR_REPLY,     /* icmp.error 10 */
	RD_STATE_TM_OTHER_FIRST_PACKET,   /* other.first 60 */
	RD_STATE_TM_OTHER_SINGLE,         /* other.single 30 */
	RD_STATE_TM_OTHER_MULTIPLE,       /* other.multiple 60 */
	RD_STATE_TM_FRAG,                 /* frag 60 (unused by the table) */
	RD_STATE_TM_INTERVAL,             /* interval 10: rd_state_handle_expiry's sweep */
	RD_STATE_TM_ADAPTIVE_START,       /* adaptive.start 60000 (states) */
	RD_STATE_TM_ADAPTIVE_END,         /* adaptive.end 120000 (states) */
	RD_STATE_TM_SRC_NODE,             /* src.track 0 (for the srctrack module) */
	RD_STATE_TM_TS_DIFF,              /* tcp.tsdiff 30 (unused by the table) */
	RD_STATE_TM_COUNT,
	RD_STATE_TM_PURGE = RD_STATE_TM_COUNT + 1,
};

/*
 * rd_state_timeout_class - the timeout class pf gives a state after it has
 * tracked a packet, from the protocol and its two peers' states (enum
 * rd_tcps for TCP, enum rd_udps otherwise). The rule
 * is symmetric, so either peer may be passed first:
 *  TCP: both at or past FIN_WAIT_2 -> TCP_CLOSED; else both at or past
 *  CLOSING -> TCP_FIN_WAIT; else either before ESTABLISHED -> TCP_OPENING;
 *  else either at or past CLOSING -> TCP_CLOSING; else TCP_ESTABLISHED.
 *  UDP / other: both MULTIPLE -> UDP/OTHER_MULTIPLE, else UDP/OTHER_SINGLE.
 *  ICMP / ICMPv6: ICMP_ERROR_REPLY whatever the peers.
 * A state that has carried only its creating packet is still in
 * rd_state_first_timeout(proto) (pf switches on the second packet, whatever
 * the peers say). Returns an enum rd_state_tm value. Pure: no table, no
 * memory, safe from any thread.
 */
RD_EXPORT uint8_t rd_state_timeout_class(uint8_t proto, uint8_t src_state, uint8_t dst_state);

/*
 * rd_state_first_timeout - the first-packet timeout class of a new state of
 * protocol proto (TCP, UDP, ICMP/ICMPv6 or OTHER_FIRST_PACKET). Returns an
 * enum rd_state_tm value. Pure, safe from any thread.
 */
RD_EXPORT uint8_t rd_state_first_timeout(uint8_t proto);

/*
 * Reason codes: pf's PFRES_* numbering and pfctl's names. The table counts
 * every refusal under one of these (rd_state_stats: RD_STATE_STAT_RES(reason)).
 */
enum rd_state_reason {
	RD_STATE_RES_MATCH = 0,      /* "match": accepted */
	RD_STATE_RES_BADOFF = 1,     /* "bad-offset" (parser) */
	RD_STATE_RES_FRAG = 2,       /* "fragment" (parser: non-first fragment) */
	RD_STATE_RES_SHORT = 3,      /* "short" (parser: truncated header) */
	RD_STATE_RES_NORM = 4,       /* "normalize" (parser: malformed header) */
	RD_STATE_RES_MEMORY = 5,     /* "memory": global state limit or allocation */
	RD_STATE_RES_BADSTATE = 10,  /* "state-mismatch": TCP window check failed */
	RD_STATE_RES_STATEINS = 11,  /* "state-insert": key collision */
	RD_STATE_RES_MAXSTATES = 12, /* "state-limit": per-rule max states */
	RD_STATE_RES_SRCLIMIT = 13,  /* "src-limit": refused by the source tracker */
	RD_STATE_RES_COUNT = 17,
};

/*
 * A direction-normalised key (pf_state_key): for a packet travelling IN,
 * addr[0]/port[0] is its source and addr[1]/port[1] its destination; for
 * OUT, the other way round. So the reply of a connection, which travels the
 * opposite direction, builds the same key. Addresses are network order, an
 * IPv4 address in the first 4 bytes with the other 12 zero. Ports are host
 * order; for ICMP queries port[] holds the query id and the query type (see
 * rd_state_key_from_pkt). All bytes, padding included, are significant:
 * build keys with rd_state_key_from_pkt or zero them first.
 */
struct rd_state_key {
	uint8_t addr[2][16];
	uint16_t port[2];
	uint16_t rdomain;
	uint8_t af;    /* enum rd_af; 0 never names a valid key */
	uint8_t proto; /* IP protocol number */
};

/* Window-scale byte of a peer: the option was seen, and its shift. */
#define RD_STATE_WSCALE_FLAG 0x80
#define RD_STATE_WSCALE_MASK 0x0f

/* One end of a state (pf_state_peer without scrub/modulation data). */
struct rd_state_peer {
	uint32_t seqlo;   /* highest sequence number sent (+1) */
	uint32_t seqhi;   /* highest the other end ACKed plus its window */
	uint16_t max_win; /* largest window seen, unscaled */
	uint8_t state;    /* enum rd_tcps for TCP, enum rd_udps otherwise */
	uint8_t wscale;   /* RD_STATE_WSCALE_FLAG | shift, or 0 */
};

/* rd_state.flags */
#define RD_STATE_F_OUT      0x01 /* created by an outbound packet (pf's direction) */
#define RD_STATE_F_SLOPPY   0x02 /* sloppy TCP tracking: no sequence checks */
#define RD_STATE_F_NOSYNC   0x04 /* not to be synchronised (pf's PFSTATE_NOSYNC) */
#define RD_STATE_F_TCP_EST  0x08 /* counted in a source node's conn (srctrack's) */
#define RD_STATE_F_NAT      0x10 /* has a distinct stack key (read-only) */
#define RD_STATE_F_REMOTE   0x20 /* inserted by rd_state_import (read-only) */
#define RD_STATE_F_ATTACHED 0x40 /* cb.attach accepted it (read-only) */
#define RD_STATE_F_MARK     0x80 /* the sync engine's (or caller's) mark; never read */
/* Flags a caller may set at creation/import: */
#define RD_STATE_F_USER_MASK (RD_STATE_F_OUT | RD_STATE_F_SLOPPY | RD_STATE_F_NOSYNC)

/*
 * A state. 136 bytes. Readable by the caller; fields are changed only by the
 * table, except `user` and the RD_STATE_F_TCP_EST flag, which belong to the
 * source tracker (or the caller if none), and RD_STATE_F_MARK, which
 * belongs to the sync engine (or the caller if none): the table never reads
 * them, a new state starts with MARK clear and an import keeps it. A pointer stays valid
 * until the state is removed (the slab never moves states).
 */
struct rd_state {
	/* first 64 bytes: everything a lookup reads */
	struct rd_state_key key; /* the wire key */
	rd_time_t last;          /* time of the last accepted packet (pf's expire); an
	                          * imported state's may lie before the clock's origin:
	                          * then it has wrapped (read it as int64_t) */
	uint32_t rule;           /* caller's rule number */
	uint32_t creatorid;      /* the creating table's creatorid */
	uint16_t ifindex;        /* 0: floating; else bound to this interface */
	uint8_t timeout;         /* enum rd_state_tm, chosen after each packet */
	uint8_t flags;           /* RD_STATE_F_* */
	uint32_t stack;          /* internal: stack key slot or UINT32_MAX */
	/* the rest */
	uint64_t id;                   /* unique per creatorid */
	struct rd_state_peer src, dst; /* src: the end that created the state */
	uint64_t packets[2], bytes[2]; /* [0] state's direction, [1] reverse */
	uint32_t creation;             /* creation time, whole seconds (rd_time_t / RD_SEC)
	                                * modulo 2^32: may lie before the clock's origin */
	uint32_t user;                 /* owned by the source tracker / caller */
};

/* The table (opaque). */
struct rd_state_table;

/* Events delivered through rd_state_callbacks.event. */
enum rd_state_event {
	RD_STATE_EV_INSERT = 1, /* created (rd_state_create) or imported */
	RD_STATE_EV_UPDATE = 2, /* a packet was accepted, or an import updated it */
	RD_STATE_EV_REMOVE = 3, /* about to be removed; `why` says why */
};

/* Why a state was removed (the `why` of RD_STATE_EV_REMOVE). */
enum rd_state_rm {
	RD_STATE_RM_EXPIRED = 1,  /* its timeout passed */
	RD_STATE_RM_KILLED = 2,   /* rd_state_kill or rd_state_remove */
	RD_STATE_RM_REUSED = 3,   /* TCP SYN reused a closed connection's key */
	RD_STATE_RM_SRCLIMIT = 4, /* cb.established refused the connection */
	RD_STATE_RM_FLUSH = 5,    /* rd_state_table_free */
};

/*
 * Callbacks for the source tracker and the sync engine, held in
 * rd_state_config.cb. Every callback is optional (NULL). Callbacks run
 * synchronously inside table calls and must not insert
 * states into the same table. Only `established` may remove states (e.g.
 * rd_state_kill for pf's overload flush): the state it was called for is
 * skipped by such removals and removed by the table itself after a nonzero
 * return.
 *  - attach: called by rd_state_create once all table limits have passed
 *    and insertion can no longer fail. Return 0 to accept, nonzero to refuse
 *    (counted as src-limit; nothing is inserted). Use st->user to link the
 *    state to source nodes.
 *  - detach: called for every removed state that was attached, before it
 *    goes (pf_src_tree_remove_state).
 *  - established: called when a TCP handshake completes (the ACK that moves
 *    the responder from SYN_SENT to ESTABLISHED while the initiator is
 *    ESTABLISHED): pf's max-src-conn point. Nonzero: the state is removed
 *    (RD_STATE_RM_SRCLIMIT), the packet dropped, src-limit counted.
 *  - event: insert/update/remove notifications (pfsync's hooks in pf). For REMOVE,
 *    `why` is an enum rd_state_rm; otherwise 0.
 */
struct rd_state_callbacks {
	void *user;
	int (*attach)(void *user, struct rd_state *st, rd_time_t now);
	void (*detach)(void *user, struct rd_state *st, rd_time_t now);
	int (*established)(void *user, struct rd_state *st, rd_time_t now);
	void (*event)(void *user, struct rd_state *st, int ev, int why, rd_time_t now);
};

/*
 * Table configuration. Fill with rd_state_config_default, then change what
 * you need; zero means zero (e.g. adaptive start = end = 0 disables adaptive
 * timeouts, as in pf).
 */
struct rd_state_config {
	const struct rd_mem *mem; /* NULL: libc */
	struct rd_random random;  /* seeds the hash key and ids; fn NULL: libsodium */
	struct rd_log log;        /* fn NULL: silent */
	struct rd_state_callbacks cb;
	uint32_t limit; /* max states (pf's "set limit states"), default 100000 */
	/*
	 * States to size the indices for up front (0: small). Without it the
	 * indices grow as needed, without a pause: from 80% load the next,
	 * twice larger table is prepared a little per insert and entries move
	 * into it a few per insert or rd_state_purge call; while a next table
	 * is prepared the index memory is three times its usual size.
	 */
	uint32_t size_hint;
	/*
	 * With the default allocator (mem NULL) on Linux, advise the large
	 * arrays (slab pages, indices) for transparent huge pages: fewer TLB
	 * misses, about a third more lookups/s at 10^6 states; the price is
	 * that a first touch may wait for the kernel to assemble a huge page.
	 * Default true; false never advises.
	 */
	bool huge_pages;
	/*
	 * Reserve the memory of min(size_hint, limit) states at creation:
	 * their slab pages and sync data pages allocated, and those and the
	 * indices touched, so the kernel maps them then. Inserting up to that
	 * many states then neither allocates nor waits for the kernel to map
	 * and zero a page (29% of the importing thread's samples in a
	 * 10^6-state bulk on a 2-vCPU VM, bench/README.md). The price: the
	 * memory is taken at creation (240 bytes a state with the indices:
	 * 240 MB for 10^6, against 17 MB unreserved) and creation takes
	 * 0.3-0.5 s for 10^6 instead of 1 ms. Default false.
	 */
	bool reserve;
	uint32_t creatorid; /* 0: random nonzero (pf's hostid) */
	uint64_t id_base;   /* first id; 0: random << 32 (ids differ across restarts) */
	uint32_t timeouts[RD_STATE_TM_COUNT]; /* seconds (adaptive: states), pf's defaults */
};

/*
 * rd_state_config_default - fill *cfg with pf's defaults: timeouts of the
 * table above, adaptive 60000/120000, limit 100000, huge_pages true,
 * everything else zero.
 * Thread-safe.
 */
RD_EXPORT void rd_state_config_default(struct rd_state_config *cfg);

/*
 * rd_state_table_new - create a table. cfg NULL: defaults. Draws the
 * SipHash key (and the creatorid / id base when zero) from cfg->random.
 * Returns 0 and *out, or RD_ERR_NOMEM / RD_ERR_INVAL. The caller owns the
 * table and frees it with rd_state_table_free.
 */
RD_EXPORT int rd_state_table_new(const struct rd_state_config *cfg, struct rd_state_table **out);

/*
 * rd_state_table_free - remove every state (detach and REMOVE event with
 * RD_STATE_RM_FLUSH, time `now`) and free the table. NULL is a no-op.
 */
RD_EXPORT void rd_state_table_free(struct rd_state_table *t, rd_time_t now);

/* rd_state_creatorid - this table's creatorid (for pfsync). */
RD_EXPORT uint32_t rd_state_creatorid(const struct rd_state_table *t);

/*
 * rd_state_set_timeout - set one table-wide timeout (seconds; states for
 * the adaptive pair). `which` < RD_STATE_TM_COUNT. Returns 0 or RD_ERR_INVAL.
 */
RD_EXPORT int rd_state_set_timeout(struct rd_state_table *t, unsigned which, uint32_t value);

/* rd_state_get_timeout - a table-wide timeout, or 0 for a bad `which`. */
RD_EXPORT uint32_t rd_state_get_timeout(const struct rd_state_table *t, unsigned which);

/*
 * rd_state_set_limit - change the global state limit. Existing states stay;
 * new ones are refused (memory) while count >= limit. Adaptive thresholds
 * are not touched (pfctl derives 60%/120% itself; do that if you want it).
 */
RD_EXPORT void rd_state_set_limit(struct rd_state_table *t, uint32_t limit);

/* rd_state_limit - the global state limit (pf's "set limit states"). */
RD_EXPORT uint32_t rd_state_limit(const struct rd_state_table *t);

/* Largest rule number + 1 the table accepts. */
#define RD_STATE_MAX_RULES 65536
/* A state with no rule: table timeouts, no per-rule accounting. */
#define RD_STATE_RULE_NONE UINT32_MAX

/*
 * Per-rule settings (a pf rule's "max N" and "keep state (timeouts...)").
 * timeouts[i] == 0 means "the table's value", as pf's
 * `rule->timeout[i] ?: default`. If timeouts[ADAPTIVE_START] is nonzero the
 * rule's own state count drives adaptive scaling, as in pf.
 */
struct rd_state_rule_config {
	uint32_t max_states; /* 0: unlimited */
	uint32_t timeouts[RD_STATE_TM_COUNT];
};

/*
 * rd_state_rule_config_default - no max (0) and every timeout 0 (the
 * table's). Thread-safe.
 */
RD_EXPORT void rd_state_rule_config_default(struct rd_state_rule_config *cfg);

/*
 * rd_state_rule_set - configure rule number `rule` (< RD_STATE_MAX_RULES).
 * cfg NULL resets it to the table's defaults. The state's timeouts are its
 * rule's: this is how timeouts are set per state. Returns 0,
 * RD_ERR_INVAL or RD_ERR_NOMEM.
 */
RD_EXPORT int rd_state_rule_set(struct rd_state_table *t, uint32_t rule,
                                const struct rd_state_rule_config *cfg);

/*
 * rd_state_set_rule - move `st` to another rule number (RD_STATE_RULE_NONE
 * allowed): from now on its timeouts, adaptive scaling and per-rule count
 * are that rule's. With rules used as timeout profiles this sets timeouts
 * per state. The rule's max is not checked. Returns 0, RD_ERR_INVAL or
 * RD_ERR_NOMEM (nothing changed).
 */
RD_EXPORT int rd_state_set_rule(struct rd_state_table *t, struct rd_state *st, uint32_t rule);

/* rd_state_rule_count - number of live states created under `rule`. */
RD_EXPORT uint32_t rd_state_rule_count(const struct rd_state_table *t, uint32_t rule);

/*
 * Parsed packet headers: what the table needs from a packet. Fill by hand or
 * with rd_state_parse. Addresses network order (struct rd_addr), everything
 * else host order.
 */
struct rd_state_pkt {
	struct rd_addr src, dst;
	uint8_t af;        /* RD_AF_INET / RD_AF_INET6 */
	uint8_t proto;     /* IP protocol */
	uint8_t dir;       /* enum rd_state_dir: set by the caller */
	uint8_t tcp_flags; /* RD_TH_* */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t win;  /* TCP window field, unscaled */
	int8_t wscale; /* TCP window-scale option shift (0..14), or -1 if absent */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id;
	uint8_t icmp_err; /* 1: ICMP error quoting `inner` */
	uint16_t mss;     /* TCP MSS option, 0 if absent */
	uint16_t rdomain;
	uint16_t ifindex;     /* receiving/sending interface; 0 unknown */
	uint32_t payload_len; /* TCP/UDP payload bytes (pf's p_len) */
	uint32_t tot_len;     /* whole IP packet length, for the byte counters */
	struct {              /* quoted packet of an ICMP error */
		struct rd_addr src, dst;
		uint8_t proto;
		/* TCP/UDP ports; for a quoted ICMP(v6) message sport is its id
		 * and dport its type */
		uint16_t sport, dport;
		uint32_t seq;
	} inner;
};

/* TCP flags (RD_TH_*), as in the TCP header. */
#define RD_TH_FIN 0x01
#define RD_TH_SYN 0x02
#define RD_TH_RST 0x04
#define RD_TH_PSH 0x08
#define RD_TH_ACK 0x10
#define RD_TH_URG 0x20
#define RD_TH_ECE 0x40
#define RD_TH_CWR 0x80

/*
 * rd_state_parse - parse a raw IPv4 or IPv6 packet (starting at the IP
 * header) into *out, with direction `dir`. Follows IPv6 extension headers
 * (hop-by-hop, routing, destination options, fragment, AH); reads TCP
 * options (window scale, MSS), UDP ports, ICMP/ICMPv6 type/code/id and,
 * for ICMP errors, the quoted header. Never reads beyond len. Returns 0, or
 * RD_ERR_PROTO with *reason set (RD_STATE_RES_SHORT, _BADOFF, _FRAG for a
 * non-first fragment, _NORM for a malformed header); reason may be NULL.
 * Thread-safe.
 */
RD_EXPORT int rd_state_parse(const uint8_t *pkt, size_t len, unsigned dir, struct rd_state_pkt *out,
                             int *reason);

/*
 * rd_state_key_from_pkt - build the direction-normalised key of a packet.
 * ICMP/ICMPv6 queries (echo, timestamp, information, address mask, node
 * information; request and reply) map as pf does: port[] = the query id on
 * the requester's side and the request type on the other, so a reply finds
 * its request's key. Other ICMP types and other protocols have zero ports.
 * Returns 0, or RD_ERR_INVAL for a bad af. Thread-safe.
 */
RD_EXPORT int rd_state_key_from_pkt(const struct rd_state_pkt *p, struct rd_state_key *key);

/*
 * rd_state_lookup - find the state for `key` seen in direction `dir` on
 * interface `ifindex` (0: any), as pf_find_state: an IN packet matches a
 * state's wire key, an OUT packet its stack key; an interface-bound state on
 * `ifindex` is preferred to a floating one. Expired states are not
 * returned. Counts a search. Returns the state or NULL.
 */
RD_EXPORT struct rd_state *rd_state_lookup(struct rd_state_table *t, const struct rd_state_key *key,
                                           unsigned dir, uint16_t ifindex, rd_time_t now);

/*
 * rd_state_lookup_burst - rd_state_lookup for n keys at once (a packet
 * burst), all seen in direction `dir` on `ifindex`. Faster per key than n
 * single lookups when the table does not fit in cache: the memory accesses
 * of different keys overlap. out[i] receives keys[i]'s state or NULL.
 * Returns how many were found.
 */
RD_EXPORT size_t rd_state_lookup_burst(struct rd_state_table *t,
                                       const struct rd_state_key *const *keys, size_t n,
                                       unsigned dir, uint16_t ifindex, rd_time_t now,
                                       struct rd_state **out);

/*
 * rd_state_find_id - the state with (id, creatorid), or NULL (also for an
 * expired one). For pfsync.
 */
RD_EXPORT struct rd_state *rd_state_find_id(struct rd_state_table *t, uint64_t id,
                                            uint32_t creatorid, rd_time_t now);

/* Verdicts of rd_state_packet. */
enum rd_state_verdict {
	RD_STATE_PASS = 0,    /* matched a state and passed its checks */
	RD_STATE_DROP = 1,    /* matched a state and failed; res.reason says why */
	RD_STATE_NOSTATE = 2, /* no state: run your rules; maybe rd_state_create */
};

/* rd_state_result.flags */
#define RD_STATE_R_ESTABLISHED 0x01 /* this packet completed the TCP handshake */
#define RD_STATE_R_REUSED      0x02 /* a SYN removed a closed state (now NOSTATE) */
#define RD_STATE_R_LOOSE       0x04 /* accepted by pf's loose fallback (no refresh) */
#define RD_STATE_R_ICMP_ERR    0x08 /* an ICMP error matched through its quote */
#define RD_STATE_R_CHALLENGE                                                                       \
	0x10                      /* SYN on an established state: dropped; pf sends                \
	                           * a challenge ACK (RFC 5961); reason "match" */
#define RD_STATE_R_SYN_RESET 0x20 /* mismatch during simultaneous open: pf sends a RST */

struct rd_state_result {
	struct rd_state *st; /* the matched state (PASS, DROP), else NULL */
	int reason;          /* enum rd_state_reason */
	unsigned flags;      /* RD_STATE_R_* */
};

/*
 * rd_state_packet - run one packet through the table (pf_test_state): find
 * its state; for TCP apply pf_tcp_track_full (or the sloppy tracker), for
 * UDP/other update the single/multiple states, for ICMP queries refresh,
 * for ICMP errors check the quoted packet against its state. On PASS the
 * packet/byte counters, `last` and the timeout class are updated and an
 * UPDATE event is sent. A SYN on a TCP state whose peers are both at or past
 * FIN_WAIT_2 removes that state and returns NOSTATE with
 * RD_STATE_R_REUSED, so the caller's rules may create a fresh one. Drops
 * are counted under res->reason. Returns a verdict (>= 0), or RD_ERR_INVAL
 * for a malformed rd_state_pkt (bad af/dir).
 */
RD_EXPORT int rd_state_packet(struct rd_state_table *t, const struct rd_state_pkt *p, rd_time_t now,
                              struct rd_state_result *res);

/*
 * Options for rd_state_create. With `nat`, the translated tuple (as the
 * packet leaves the translation, in the packet's direction) gives the second
 * key: for an IN packet, wire = the packet's key and stack = the translated
 * one; for OUT, stack = the packet's, wire = the translated (pf).
 */
struct rd_state_opts {
	uint32_t rule;    /* < RD_STATE_MAX_RULES */
	uint8_t flags;    /* RD_STATE_F_SLOPPY, RD_STATE_F_NOSYNC */
	uint8_t if_bound; /* 1: bind to p->ifindex; 0: floating */
	uint8_t nat;      /* 1: the n* fields hold the translated tuple */
	struct rd_addr nsrc, ndst;
	uint16_t nsport, ndport;
	uint16_t nrdomain;
};

/*
 * rd_state_create - create a state from the packet that the caller's rules
 * passed with "keep state" (pf_create_state): TCP peers initialised from the
 * packet (SYN: window scale recorded), pseudo-states for UDP/other, first-
 * packet timeout. Checks, in order: global limit (memory), the rule's max
 * (state-limit), key collision with a state of the same interface binding
 * and direction (state-insert; a TCP state with both peers at or past
 * FIN_WAIT_2 is removed instead, as pf's reuse), then cb.attach
 * (src-limit). The creating packet is counted. On success *out (may be
 * NULL) is the new state, an INSERT event is sent, returns 0. Errors:
 * RD_ERR_LIMIT (memory/state-limit/src-limit), RD_ERR_EXIST (state-insert),
 * RD_ERR_NOMEM (memory), RD_ERR_INVAL; the reason is counted and nothing is
 * inserted.
 */
RD_EXPORT int rd_state_create(struct rd_state_table *t, const struct rd_state_pkt *p,
                              const struct rd_state_opts *o, rd_time_t now, struct rd_state **out);

/*
 * A full description of a state, for sync (import/export) and display.
 * `expire_in` is seconds left before expiry (pfsync's expire); on import,
 * 0 means "a full timeout from now". Ages may exceed `now`: time has a
 * caller-chosen origin (a state an hour old imported at now = 1 s keeps its
 * age and expires expire_in seconds after now).
 */
/*
 * pf's per-peer data that the table keeps for sync but never reads
 * (pf_state_peer's modulator, MSS and scrub memory).
 */
struct rd_state_pf_peer {
	uint32_t seqdiff;     /* sequence number modulator */
	uint32_t ts_mod;      /* scrub: timestamp modulator */
	uint16_t mss;         /* MSS option seen */
	uint16_t scrub_flags; /* scrub: PFSS_* (pf keeps only PFSS_TIMESTAMP 0x0001) */
	uint8_t ttl;          /* scrub: minimum TTL seen */
	uint8_t scrub;        /* 1: the peer has scrub memory */
	uint8_t pad[2];
};

/*
 * pf's state fields that the table carries for sync (pfsync_state) and
 * never reads: what a state imported from an OpenBSD peer needs to be
 * exported again unchanged. `valid` 0 (a zeroed description) means "no pf
 * data": a new state gets the defaults (rtableid -1, everything else 0),
 * an update keeps what the state has. rd_state_export always fills it
 * (valid 1).
 */
struct rd_state_pf {
	struct rd_state_pf_peer src, dst;
	uint8_t rt_addr[16];  /* route-to address, network order */
	int32_t rtableid[2];  /* [0] wire, [1] stack; -1: unset (never 0, which forces table 0) */
	uint16_t state_flags; /* PFSTATE_* other than SLOPPY, NOSYNC (in flags) and ACK */
	uint16_t max_mss;
	uint8_t rt; /* 0 none, 1 route-to, 2 dup-to, 3 reply-to */
	uint8_t log;
	uint8_t min_ttl;
	uint8_t set_tos;
	uint8_t set_prio[2];
	uint8_t valid;
	uint8_t pad;
	char ifname[16]; /* bound interface the caller could not map to an ifindex; "" */
};

struct rd_state_info {
	struct rd_state_key wire, stack; /* equal when not translated */
	uint64_t id;
	uint32_t creatorid;
	uint32_t rule;
	struct rd_state_peer src, dst;
	uint64_t packets[2], bytes[2];
	uint32_t creation_age; /* seconds since creation */
	uint32_t expire_in;    /* seconds until expiry */
	uint16_t ifindex;
	uint8_t timeout;       /* enum rd_state_tm */
	uint8_t flags;         /* RD_STATE_F_* (OUT, SLOPPY, NOSYNC honoured on import) */
	struct rd_state_pf pf; /* carried for sync, never read by the table */
};

/*
 * rd_state_pf_default - fill *pf with the data of a state that has none of
 * its own: rtableid -1 (unset), everything else 0, valid 1. Pure,
 * thread-safe.
 */
RD_EXPORT void rd_state_pf_default(struct rd_state_pf *pf);

/*
 * rd_state_export - describe `st` at time `now` into *info. Thread-safe with
 * respect to other readers only.
 */
RD_EXPORT void rd_state_export(const struct rd_state_table *t, const struct rd_state *st,
                               rd_time_t now, struct rd_state_info *info);

/*
 * rd_state_import - insert or update a state from a decoded remote
 * description (pfsync insert/update). Found by (id, creatorid): its peers,
 * counters, timeout class and expiry are overwritten from *info (the caller
 * decides whether the update is newer), and so is its pf data (info->pf)
 * when info->pf.valid is set, an UPDATE event is sent. Not found:
 * inserted as a RD_STATE_F_REMOTE state (global limit -> memory; key
 * collision with a different state -> state-insert), INSERT event. The
 * rule's max and cb.attach are not applied (pf's pfsync does not either).
 * Returns 0 and *out (may be NULL), or RD_ERR_LIMIT, RD_ERR_EXIST,
 * RD_ERR_NOMEM, RD_ERR_INVAL (bad key, rule, timeout or creatorid 0). An
 * import of one of this table's own states (its creatorid) moves the local
 * id counter past it, so ids stay unique.
 */
RD_EXPORT int rd_state_import(struct rd_state_table *t, const struct rd_state_info *info,
                              rd_time_t now, struct rd_state **out);

/*
 * rd_state_import_local - insert a state of this table's own from a
 * description of a connection tracked elsewhere on this host (an external
 * table mirrored by redund/mirror.h): the table gives it the next local id
 * and its own creatorid (info->id and info->creatorid are ignored), and it
 * is not marked RD_STATE_F_REMOTE, so it counts as a local state (the
 * half-open count included). Peers, counters, timeout class, expiry
 * (expire_in, creation_age, from `now` as rd_state_import) and the
 * OUT/SLOPPY/NOSYNC flags come from *info; the rule's max and cb.attach
 * are not applied. To update it later use rd_state_import with its (id,
 * creatorid). Returns 0 and *out (may be NULL), or RD_ERR_LIMIT (global
 * limit, counted memory), RD_ERR_EXIST (key collision, counted
 * state-insert), RD_ERR_NOMEM, RD_ERR_INVAL (NULL info, bad key, rule or
 * timeout); nothing is inserted on error. INSERT event on success. Memory:
 * info is only read. Same thread rules as the table.
 */
RD_EXPORT int rd_state_import_local(struct rd_state_table *t, const struct rd_state_info *info,
                                    rd_time_t now, struct rd_state **out);

/*
 * rd_state_prefetch_info - a hint: start loading the index entries that
 * rd_state_find_id and rd_state_import of *info will read (its (id,
 * creatorid) entry and its wire and stack key entries), so that a caller
 * importing a batch can overlap their cache misses (call it for every
 * member, then import them). Changes nothing, returns nothing; costs two or
 * three keyed hashes. Thread-safe with respect to other readers only.
 */
RD_EXPORT void rd_state_prefetch_info(const struct rd_state_table *t,
                                      const struct rd_state_info *info);

/*
 * rd_state_stack_key - the state's stack key (its wire key when it is not
 * translated). Returns a pointer valid while the state lives.
 */
RD_EXPORT const struct rd_state_key *rd_state_stack_key(const struct rd_state_table *t,
                                                        const struct rd_state *st);

/*
 * rd_state_expires - the time at which `st` expires, given the table's
 * current state count and adaptive settings (pf_state_expires). A state
 * whose expiry is <= now is dead.
 */
RD_EXPORT rd_time_t rd_state_expires(const struct rd_state_table *t, const struct rd_state *st);

/*
 * rd_state_remove - remove `st` now (detach, REMOVE event with
 * RD_STATE_RM_KILLED). The pointer is invalid afterwards.
 */
RD_EXPORT void rd_state_remove(struct rd_state_table *t, struct rd_state *st, rd_time_t now);

/*
 * rd_state_purge - incremental purge with the caller's budget: examine at
 * most `budget` slab slots from where the previous call stopped (wrapping),
 * removing expired states (REMOVE events with RD_STATE_RM_EXPIRED). Returns
 * the number removed. Work per call is O(budget): 1024 keeps a call well
 * under 1 ms. rd_state_handle_expiry chooses the budget itself; use this to
 * pace the sweep yourself (it shares the sweep position with
 * rd_state_handle_expiry). Each call also moves a few entries of a pending
 * index growth (see size_hint).
 */
RD_EXPORT size_t rd_state_purge(struct rd_state_table *t, rd_time_t now, size_t budget);

/* The sweep's interval when the table's RD_STATE_TM_INTERVAL is 0 (seconds). */
#define RD_STATE_EXPIRY_INTERVAL_DEFAULT 10

/*
 * rd_state_expiry - when the table next needs rd_state_handle_expiry:
 * RD_TIME_NEVER when it holds no state, 0 (at once) when states exist and
 * rd_state_handle_expiry has not run since the table was last empty, else
 * the time of the next slice of the sweep. Slices come about every
 * 1024 slab slots' share of the interval, at most 1 s and at least
 * interval/1000 apart. O(1).
 */
RD_EXPORT rd_time_t rd_state_expiry(const struct rd_state_table *t);

/*
 * rd_state_handle_expiry - run the slice of the expiry sweep due at `now`:
 * examine capacity * (time since the previous slice) / interval slab slots
 * (rounded up; at most the whole slab), removing expired states as
 * rd_state_purge does, so that every slot is examined at least once every
 * `interval` (the table's RD_STATE_TM_INTERVAL timeout, or
 * RD_STATE_EXPIRY_INTERVAL_DEFAULT seconds if that is 0), as pf's purge
 * does. Called before rd_state_expiry's time it does nothing. Expired states
 * are invisible to lookups whether or not they were swept yet: the sweep
 * only returns their memory and sends their REMOVE events. Returns the
 * number of states removed.
 */
RD_EXPORT size_t rd_state_handle_expiry(struct rd_state_table *t, rd_time_t now);

/* rd_state_count - live states (including expired ones not yet purged). */
RD_EXPORT uint32_t rd_state_count(const struct rd_state_table *t);

/*
 * rd_state_count_halfopen - live TCP states whose handshake has not
 * completed (a gauge, pf's half-open states).
 */
RD_EXPORT uint32_t rd_state_count_halfopen(const struct rd_state_table *t);

/* rd_state_capacity - slab slots ever used (the expiry sweep's length). */
RD_EXPORT uint32_t rd_state_capacity(const struct rd_state_table *t);

/* rd_state_memory - bytes the table holds from its allocator right now. */
RD_EXPORT size_t rd_state_memory(const struct rd_state_table *t);

/*
 * Iteration that survives changes: a cursor over slab slots. Between calls
 * the table may gain and lose states (including the one just returned).
 * Every state present from rd_state_iter_init until the iteration ends is
 * returned exactly once; a state inserted or removed meanwhile is returned
 * at most once. Expired-but-unpurged states are returned (check
 * rd_state_expires). For pfsync bulk updates, kills, dumps.
 */
struct rd_state_iter {
	uint32_t pos;
};

/* rd_state_iter_init - start an iteration. */
RD_EXPORT void rd_state_iter_init(struct rd_state_iter *it);

/* rd_state_iter_next - next state or NULL at the end. */
RD_EXPORT struct rd_state *rd_state_iter_next(struct rd_state_table *t, struct rd_state_iter *it);

/*
 * Kill filter (pfctl -k): each RD_STATE_FLT_* bit in `fields` enables one
 * test; all enabled tests must hold. Source and destination are those of the
 * connection's initiator on the wire key (pf's DIOCKILLSTATES: for an OUT
 * state the source is wire addr[1]).
 */
#define RD_STATE_FLT_AF      0x001
#define RD_STATE_FLT_PROTO   0x002
#define RD_STATE_FLT_SRC     0x004 /* src / src_plen prefix */
#define RD_STATE_FLT_DST     0x008 /* dst / dst_plen prefix */
#define RD_STATE_FLT_SPORT   0x010
#define RD_STATE_FLT_DPORT   0x020
#define RD_STATE_FLT_RULE    0x040
#define RD_STATE_FLT_IFINDEX 0x080
#define RD_STATE_FLT_RDOMAIN 0x100

struct rd_state_filter {
	uint32_t fields;
	uint8_t af, proto;
	uint8_t src_plen, dst_plen;
	struct rd_addr src, dst;
	uint16_t sport, dport;
	uint32_t rule;
	uint16_t ifindex, rdomain;
};

/* rd_state_filter_match - whether `st` matches `f`. Thread-safe for readers. */
RD_EXPORT bool rd_state_filter_match(const struct rd_state *st, const struct rd_state_filter *f);

/*
 * rd_state_kill - remove every state matching `f` (REMOVE events with
 * RD_STATE_RM_KILLED). A full scan: O(capacity); for huge tables in a
 * packet loop, iterate with rd_state_iter_next + rd_state_filter_match +
 * rd_state_remove in slices instead. Returns the number removed.
 */
RD_EXPORT size_t rd_state_kill(struct rd_state_table *t, const struct rd_state_filter *f,
                               rd_time_t now);

/*
 * Table-wide counters (pfctl -si), copied out by rd_state_stats: searches,
 * inserts, removals, then one counter per enum rd_state_reason at
 * RD_STATE_STAT_RES(reason) (reasons the table never counts stay 0). The
 * gauges are getters: rd_state_count, rd_state_count_halfopen.
 */
enum rd_state_stat {
	RD_STATE_STAT_SEARCH = 0, /* "searches": lookups (lookup, packet) */
	RD_STATE_STAT_INSERT,     /* "inserts": states inserted (create, import) */
	RD_STATE_STAT_REMOVAL,    /* "removals": states removed */
	RD_STATE_STAT_REASON,     /* first of RD_STATE_RES_COUNT refusal/drop counters */
	RD_STATE_STAT_COUNT = RD_STATE_STAT_REASON + RD_STATE_RES_COUNT,
};

/* The stat counting refusals/drops for reason (an enum rd_state_reason). */
#define RD_STATE_STAT_RES(reason) (RD_STATE_STAT_REASON + (reason))

/*
 * rd_state_stats - copy the table's counters into out, indexed by enum
 * rd_state_stat. The caller owns out.
 */
RD_EXPORT void rd_state_stats(const struct rd_state_table *t, uint64_t out[RD_STATE_STAT_COUNT]);

/*
 * rd_state_stat_name - a counter's name: "searches", "inserts",
 * "removals", then the reason's (rd_state_reason_name); "?" out of range.
 * Thread-safe.
 */
RD_EXPORT const char *rd_state_stat_name(int stat);

/*
 * rd_state_count_reason - count a drop the caller decided for one of the
 * table's reasons (e.g. a parser error before rd_state_packet). Bad reason:
 * ignored.
 */
RD_EXPORT void rd_state_count_reason(struct rd_state_table *t, int reason);

/* rd_state_reason_name - pfctl's name of a reason ("state-mismatch", ...). */
RD_EXPORT const char *rd_state_reason_name(int reason);

/* rd_state_timeout_name - pf.conf's name of a timeout ("tcp.first", ...). */
RD_EXPORT const char *rd_state_timeout_name(unsigned which);

/* rd_state_tcps_name - a TCP peer state's name ("ESTABLISHED", ...). */
RD_EXPORT const char *rd_state_tcps_name(unsigned s);

#ifdef __cplusplus
}
#endif

#endif
