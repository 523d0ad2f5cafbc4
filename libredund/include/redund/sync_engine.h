/*
 * libredund — the sync engine: a state table (redund/state.h) kept in step
 * with its peers' by pfsync v6 messages (redund/pfsync.h), without I/O.
 * The engine knows no transport: its packets go out through cb.send and
 * come in through rd_sync_engine_input; redund/sync_carry.h carries them
 * over a secure channel (redund/sync.h).
 */
#ifndef REDUND_SYNC_ENGINE_H
#define REDUND_SYNC_ENGINE_H

#include "redund/common.h"
#include "redund/pfsync.h"
#include "redund/state.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The sync engine keeps a state table (redund/state.h) in step with its
 * peers' by pfsync v6 messages, as OpenBSD's if_pfsync.c does, without I/O:
 *
 *  - local changes (the table's events, forwarded by the caller through
 *    rd_sync_engine_state_event) are queued as INS, UPD_C and DEL_C and
 *    packed into packets of at most `mtu` bytes, sent when a packet is full,
 *    at most 1 s after the first message was queued, or at once when a TCP
 *    state was updated maxupd times or was touched by a peer in the last
 *    2 s (active-active);
 *  - received packets (rd_sync_engine_input) are applied: imports, updates
 *    with OpenBSD's stale rules (a peer's older update is answered with our
 *    newer state at once), deletes, clears; an update of an unknown state
 *    asks for it with UPD_REQ; states applied from a peer are never sent
 *    back as our own changes; a full copy (UPD, a bulk's) with the same
 *    peers and class as ours and no more than 2 s more time left changes
 *    nothing (counted unchanged: no table event, so a mirror writes
 *    nothing), which spares every member a rewrite of its table when
 *    another member's bulk answer passes by;
 *  - bulk update: we ask the peers (UPD_REQ 0/0) for their tables, either
 *    to JOIN (rd_sync_engine_bulk_request, at start: we lack their states,
 *    so a CARP demotion (+32) is held until BUS END arrives or the retries
 *    fail) or to REPAIR (rd_sync_engine_bulk_repair: messages lost for
 *    good, the sync link back, an operator's request; we already hold the
 *    states and serve with them, so nothing is demoted); a peer's request
 *    is answered with BUS START, every state as UPD, and BUS END, paced by
 *    bulk_packets per bulk_interval (answering never demotes either);
 *  - defer: rd_sync_engine_defer holds a new state's first packet until a
 *    peer's INS_ACK, an update of the state, or 20 ms.
 *
 * Packets go out through cb.send as complete pfsync packets (header
 * included): carry them raw (IP protocol 240, TTL 255) or inside a secure
 * channel (redund/sync_carry.h wires an engine and a channel together).
 * Received packets come in through rd_sync_engine_input, whatever carried
 * them. Numbering at the edge: pf's direction
 * (PF_IN 1, PF_OUT 2) maps to RD_STATE_F_OUT; TCP states and timeout
 * classes are the same numbers on both sides; pf's proxy TCP states (11,
 * 12) have no counterpart and such states are refused (counted badval).
 * Imported states carry no rule (RD_STATE_RULE_NONE), like OpenBSD's
 * pfsync imports that use the default rule.
 *
 * An engine is used from one thread at a time, with its table.
 */

struct rd_sync_engine;

/*
 * Packets of room (rd_sync_engine_callbacks.room) a bulk answer leaves for live
 * changes.
 */
#define RD_SYNC_ENGINE_ROOM_RESERVE 32

/*
 * Bulk answers start at least this far apart (counted bulk_spaced when one
 * waits for it): requests, forged or not, cost at most one table a second.
 */
#define RD_SYNC_ENGINE_BULK_SPACING RD_SEC

/* Callbacks of an engine, each called with `user` first. */
struct rd_sync_engine_callbacks {
	void *user; /* passed to every callback */
	/*
	 * send - one pfsync packet to every peer. The bytes are valid only
	 * during the call. Required.
	 */
	void (*send)(void *user, const uint8_t *pkt, size_t len, rd_time_t now);
	/*
	 * demote - adjust the CARP demotion counter by delta: +demotion when a
	 * JOIN bulk request starts (rd_sync_engine_bulk_request while no join
	 * runs), -demotion when the request ends (BUS END) or fails. Called at
	 * most once each way per join; never for a repair
	 * (rd_sync_engine_bulk_repair) nor for answering a peer's request.
	 * rd_sync_engine_demotion already gives the new level inside the call.
	 * Edge-based: a level-based holder (syncd's carpd hold) may instead
	 * poll rd_sync_engine_demotion. Optional.
	 */
	void (*demote)(void *user, int delta, rd_time_t now);
	/*
	 * release - a deferred packet (rd_sync_engine_defer's token) may go:
	 * acked is true when a peer acknowledged the state, false on timeout
	 * or overflow. Required if defer is used.
	 */
	void (*release)(void *user, uint64_t token, bool acked, rd_time_t now);
	/*
	 * room - how many more packets the transport takes now without
	 * dropping unacknowledged ones. Bulk answers are paced by it: each
	 * bulk_interval sends up to bulk_packets, fewer while room leaves
	 * less than that plus RD_SYNC_ENGINE_ROOM_RESERVE (kept for live
	 * changes), none while room is at most the reserve. Optional: without
	 * it bulk_packets go every bulk_interval (raw pfsync).
	 */
	size_t (*room)(void *user);
	/* tdb - an IPsec SA counter update from a peer. Optional. */
	void (*tdb)(void *user, const struct rd_pfsync_tdb *tdb, rd_time_t now);
	/*
	 * ifname / ifindex - map interface indices to names for the wire
	 * (states bound to an interface). Optional: without them every state
	 * is sent as floating ("all") and imported floating.
	 */
	void (*ifname)(void *user, uint16_t ifindex, char name[RD_PFSYNC_IFNAMSIZ + 1]);
	uint16_t (*ifindex)(void *user, const char *name);
	/*
	 * bulk_target - which member should answer our join bulk request (and
	 * the repairs made while it runs): a peer's creatorid, or 0 for every
	 * member (UPD_REQ 0/0, as OpenBSD asks). A repair outside a join
	 * (messages lost for good) always asks every member, so that the
	 * creators of what was lost answer too.
	 * `attempt` counts the requests sent since the engine was created:
	 * a target that does not answer, or whose answer stalls (no state for
	 * bulk_stall), is replaced on a later attempt. A request naming a
	 * member is resent after RD_SYNC_ENGINE_NAMED_INTERVAL at the
	 * soonest (the member may wait that long before answering). A named target goes on
	 * the wire as UPD_REQ {id 0, creatorid target}: members running
	 * libredund answer only when named; an OpenBSD peer ignores it (it
	 * looks up state 0 and counts badstate), so use it only where every
	 * peer runs libredund (the secure channel: the carry sets it).
	 * With it, a request that arrives while our own runs (our table lacks
	 * what we asked for) is answered once ours ends (counted
	 * bulk_deferred), or, when bulk_defer says no member is better
	 * placed, at once and again once ours ended (counted bulk_again).
	 * Optional: without it every member is asked.
	 */
	uint32_t (*bulk_target)(void *user, unsigned attempt, rd_time_t now);
	/* (bulk_target may also return RD_SYNC_ENGINE_TARGET_WAIT: no peer
	 * known yet; the request is not sent, nor counted as a try, and
	 * bulk_target is asked again after RD_SYNC_ENGINE_TARGET_POLL.) */
	/*
	 * bulk_ready - may a bulk answer to a request that arrived at `since`
	 * start now? The answer waits (polled every RD_SYNC_ENGINE_READY_POLL,
	 * at most RD_SYNC_ENGINE_READY_MAX, counted bulk_waited) until it says
	 * yes: the carry waits until everything the peers sent before `since`
	 * has arrived (rd_sync_channel_caught_up), so that one answerer's
	 * table holds what was in flight. Optional: without it answers start
	 * at once.
	 */
	bool (*bulk_ready)(void *user, rd_time_t since, rd_time_t now);
	/*
	 * bulk_asked - a bulk request (UPD_REQ id 0) arrived, naming `target`
	 * (0: every member), whoever answers it. The carry notes who is
	 * asking (it knows the sender) for bulk_target and bulk_defer.
	 * Optional.
	 */
	void (*bulk_asked)(void *user, uint32_t target, rd_time_t now);
	/*
	 * bulk_defer - our own request runs and a member asked for our table:
	 * should the answer wait until ours ends (true), or go now and again
	 * once ours ended (false: nobody better placed can answer, e.g.
	 * members started together all ask)? Only with bulk_target. Optional:
	 * without it the answer waits.
	 */
	bool (*bulk_defer)(void *user, rd_time_t now);
};

/* bulk_target: no peer known yet, ask again after RD_SYNC_ENGINE_TARGET_POLL. */
#define RD_SYNC_ENGINE_TARGET_WAIT UINT32_MAX
#define RD_SYNC_ENGINE_TARGET_POLL (20 * RD_MSEC)

/* How often a waiting bulk answer asks bulk_ready, and how long at most it waits. */
#define RD_SYNC_ENGINE_READY_POLL (10 * RD_MSEC)
#define RD_SYNC_ENGINE_READY_MAX  (3 * RD_SEC)
/* A request naming a member is resent (to the next) no sooner than this. */
#define RD_SYNC_ENGINE_NAMED_INTERVAL (RD_SYNC_ENGINE_READY_MAX + 500 * RD_MSEC)

struct rd_sync_engine_config {
	struct rd_state_table *table; /* required; its creatorid is ours */
	size_t mtu;                   /* largest pfsync packet; 0: 1480 */
	unsigned maxupd;              /* 0: 128 (OpenBSD's maxupd 0 acts as 1: pass 1) */
	rd_time_t flush_delay;        /* 0: 1 s */
	rd_time_t active_window;      /* "touched by a peer" window; 0: 2 s */
	rd_time_t defer_timeout;      /* 0: 20 ms */
	unsigned defer_limit;         /* 0: 128 */
	rd_time_t bulk_interval;      /* 0: 1 ms between bulk bursts */
	unsigned bulk_packets;        /* packets a burst; 0: 64 */
	/*
	 * bulk_rate - full states a second a bulk answer sends at most; when
	 * set it replaces bulk_packets and bulk_interval (packets of
	 * mtu-packed UPD a millisecond, or one packet every so often below a
	 * packet a millisecond). For raw pfsync, whose receivers cannot slow
	 * it down. 0: bulk_packets every bulk_interval.
	 */
	uint32_t bulk_rate;
	rd_time_t bulk_req_interval; /* resend the bulk request (UPD_REQ id 0); 0: 2 s */
	unsigned bulk_req_tries;     /* 0: 12 */
	/*
	 * bulk_stall - our bulk request's answer may go this long without a
	 * state or BUS arriving; then it has stalled (its sender died or the
	 * link broke): asked again (counted bulk_stalled; a named target is
	 * replaced) while tries are left, else failed. Every arriving state
	 * pushes the deadline, up to bulk_timeout after BUS START. 0: 10 s.
	 */
	rd_time_t bulk_stall;
	/*
	 * bulk_timeout - BUS START to END at most. 0: OpenBSD's own bound
	 * (if_pfsync.c, BUS START), 4 x the packets a full table takes at 50
	 * a second: 4 * limit / ((mtu - 40) / 264) / 50 s, with the table's
	 * state limit and this mtu (1,600 s at 100,000 states and mtu 1480),
	 * at least 60 s. The stall rule above ends a dead bulk long before.
	 */
	rd_time_t bulk_timeout;
	int demotion; /* 0: 32 */
	/*
	 * After a bulk update we asked for, remove the states created by the
	 * bulk's sender that the bulk did not carry: deletions we missed
	 * (counted reconciled). Use it when bulk packets cannot be lost for
	 * good (the secure channel: the carry, redund/sync_carry.h, sets it); with raw pfsync a
	 * lost bulk packet would remove live states until their next update. While any bulk is
	 * being received, the engine marks the states it applies with RD_STATE_F_MARK (cleared on
	 * the sender's states at its BUS START) instead of keeping an entry for each: the mark is
	 * what reconcile keeps, and until active_window after the bulk it counts as touched by a
	 * peer.
	 */
	bool bulk_reconcile;
	/*
	 * Peers are authenticated and run this engine (the secure channel: the
	 * carry sets it). A delete of a state we do not hold is remembered as
	 * a tombstone (counted buried, not badstate): another member's older
	 * copy may still be on its way. A bulk answer ends with our
	 * tombstones, as DEL_C, so a joiner refuses a copy older than its
	 * delete that reaches it after the answer (a peer's resend of what it
	 * sent before the joiner restarted). Off for raw pfsync: forged
	 * deletes would fill memory, and OpenBSD counts each DEL_C of a state
	 * it lacks as an error.
	 */
	bool trusted;
	/*
	 * How long a deleted state is remembered, so that a peer's copy that
	 * crossed the delete (an update, a bulk) does not bring it back.
	 * 0: 10 s. One small entry a deleted state.
	 */
	rd_time_t tombstone;
	struct rd_sync_engine_callbacks cb;
	const struct rd_mem *mem; /* NULL: the C library's */
	struct rd_log log;        /* fn NULL: silent */
};

/*
 * rd_sync_engine_config_default - fill *cfg with the defaults: no table,
 * the values documented above (mtu 1480, maxupd 128, flush_delay 1 s,
 * active_window 2 s, defer_timeout 20 ms, defer_limit 128, bulk_interval
 * 1 ms, bulk_packets 64, bulk_rate 0, bulk_req_interval 2 s,
 * bulk_req_tries 12, bulk_stall 10 s, bulk_timeout OpenBSD's bound, demotion 32,
 * tombstone 10 s),
 * bulk_reconcile and trusted false, no callbacks, the C library's memory, no log. The
 * caller then sets at least table and cb.send. A zero-filled config still
 * works (0 means the default). Thread-safe.
 */
RD_EXPORT void rd_sync_engine_config_default(struct rd_sync_engine_config *cfg);

/* Engine counters, indexed by enum rd_sync_engine_stat. */
enum rd_sync_engine_stat {
	RD_SYNC_ENGINE_STAT_PKTS_OUT = 0, /* packets sent */
	RD_SYNC_ENGINE_STAT_PKTS_IN,      /* packets accepted by the codec */
	RD_SYNC_ENGINE_STAT_REFUSED,      /* packets refused by the codec (see pfsync stats) */
	RD_SYNC_ENGINE_STAT_INSERTS,      /* states imported */
	RD_SYNC_ENGINE_STAT_UPDATES,      /* states updated from peers */
	RD_SYNC_ENGINE_STAT_DELETES,      /* states removed by peers */
	RD_SYNC_ENGINE_STAT_STALE,        /* updates older than ours (answered with ours) */
	RD_SYNC_ENGINE_STAT_BADSTATE,     /* message for an unknown state, or import refused */
	RD_SYNC_ENGINE_STAT_BADVAL,      /* state values libredund cannot hold (proxy TCP states) */
	RD_SYNC_ENGINE_STAT_REQS_SENT,   /* UPD_REQ for single states */
	RD_SYNC_ENGINE_STAT_BULK_SENT,   /* states sent in bulk updates */
	RD_SYNC_ENGINE_STAT_BULK_OK,     /* bulk updates we asked for that ended (BUS END) */
	RD_SYNC_ENGINE_STAT_BULK_FAIL,   /* ... that failed (no answer, timeout) */
	RD_SYNC_ENGINE_STAT_DEFER_ACKED, /* deferred packets released by INS_ACK/update */
	RD_SYNC_ENGINE_STAT_DEFER_TIMEOUT, /* ... released by timeout or overflow */
	RD_SYNC_ENGINE_STAT_TDB,           /* TDB messages passed to the caller */
	RD_SYNC_ENGINE_STAT_RECONCILED,    /* states removed: missing from their creator's bulk */
	RD_SYNC_ENGINE_STAT_UNCHANGED,     /* full copies with nothing new: not applied again */
	RD_SYNC_ENGINE_STAT_CLR_OURS,      /* CLRs naming our own creatorid: refused */
	RD_SYNC_ENGINE_STAT_BULK_SPACED,   /* bulk answers held back to 1 s after the last start */
	RD_SYNC_ENGINE_STAT_BULK_OTHERS,   /* bulk requests naming another member as answerer */
	RD_SYNC_ENGINE_STAT_BULK_WAITED,   /* bulk answers that waited for bulk_ready */
	RD_SYNC_ENGINE_STAT_BULK_STALLED,  /* our bulk request's answer stalled: asked again */
	RD_SYNC_ENGINE_STAT_BULK_DEFERRED, /* answers held until our own request ended */
	RD_SYNC_ENGINE_STAT_BULK_AGAIN,    /* answers repeated: the first went while ours ran */
	RD_SYNC_ENGINE_STAT_BURIED,        /* deletes of states we lacked, newly kept as tombstones
	                                      (trusted) */
	RD_SYNC_ENGINE_STAT_TOMBS_SENT, /* tombstones sent at the end of bulk answers (trusted) */
	RD_SYNC_ENGINE_STAT_COUNT,
};

/* rd_sync_engine_stat_name - a counter's short name, or "unknown". */
RD_EXPORT const char *rd_sync_engine_stat_name(int stat);

/*
 * rd_sync_engine_new - create an engine over cfg->table. Returns 0 and
 * *out, RD_ERR_INVAL (no table, no send callback, mtu below 300 or above
 * 65535) or RD_ERR_NOMEM. Free with rd_sync_engine_free before the table.
 */
RD_EXPORT int rd_sync_engine_new(const struct rd_sync_engine_config *cfg,
                                 struct rd_sync_engine **out);

/* rd_sync_engine_free - free the engine (deferred packets are dropped). */
RD_EXPORT void rd_sync_engine_free(struct rd_sync_engine *e);

/*
 * rd_sync_engine_state_event - forward the table's event hook here
 * (rd_state_callbacks.event with the same arguments). Queues the change; never
 * sends from inside the table call: a change that must go at once makes
 * rd_sync_engine_expiry return `now`.
 */
RD_EXPORT void rd_sync_engine_state_event(struct rd_sync_engine *e, struct rd_state *st, int ev,
                                          int why, rd_time_t now);

/*
 * rd_sync_engine_input - apply one received pfsync packet (header
 * included). The packet's framing is checked whole first
 * (rd_pfsync_decode): a packet refused for its framing changes nothing. A
 * message with a value out of range is refused alone, counted by reason in
 * the pfsync stats (rd_sync_engine_pfsync_stats), and the packet's other
 * messages are applied, as OpenBSD does. Answers (UPD_REQ, INS_ACK, our newer
 * state) are sent before it returns. Returns 0, RD_ERR_PROTO, or
 * RD_ERR_STATE (nothing done) when called from inside cb.send or from
 * any callback run during another rd_sync_engine_input.
 */
RD_EXPORT int rd_sync_engine_input(struct rd_sync_engine *e, const uint8_t *pkt, size_t len,
                                   rd_time_t now);

/*
 * rd_sync_engine_expiry - the next instant the engine needs
 * rd_sync_engine_handle_expiry (a flush, bulk burst or retry is due), or
 * RD_TIME_NEVER.
 */
RD_EXPORT rd_time_t rd_sync_engine_expiry(const struct rd_sync_engine *e);

/* rd_sync_engine_handle_expiry - send what is due: queues, bulk bursts, retries. */
RD_EXPORT void rd_sync_engine_handle_expiry(struct rd_sync_engine *e, rd_time_t now);

/* rd_sync_engine_flush - send every queued message now. */
RD_EXPORT void rd_sync_engine_flush(struct rd_sync_engine *e, rd_time_t now);

/*
 * rd_sync_engine_bulk_request - JOIN: ask the peers for a bulk update
 * because this node lacks their states (at start-up). Demotes by
 * `demotion` (cb.demote +demotion, unless a join already holds it), sends
 * UPD_REQ 0/0, resends it every bulk_req_interval up to bulk_req_tries
 * times; BUS END, or the retries or bulk_timeout running out, ends the
 * request and undemotes (cb.demote -demotion) once. A call while any
 * request runs restarts it (what arrived so far may have holes) and holds
 * the demotion if a repair was running. Only a node without the states
 * should hold itself back: use rd_sync_engine_bulk_repair for every other
 * reason. Called from inside cb.send, the request is made at the next
 * rd_sync_engine_handle_expiry (rd_sync_engine_expiry returns `now`).
 */
RD_EXPORT void rd_sync_engine_bulk_request(struct rd_sync_engine *e, rd_time_t now);

/*
 * rd_sync_engine_bulk_repair - REPAIR: ask the peers for a bulk update
 * without ever demoting: this node holds states and may be serving with
 * them (a running master, a peer answering a newcomer). Use it when
 * messages were lost for good (the carry, redund/sync_carry.h, calls it on
 * its channel's `lost`), when the sync link comes back, and on an
 * operator's request. Same retries and end as a join. A repair while a
 * join runs restarts the request and keeps the join's demotion until the
 * request ends; it never adds one. Called from inside cb.send: as
 * rd_sync_engine_bulk_request.
 */
RD_EXPORT void rd_sync_engine_bulk_repair(struct rd_sync_engine *e, rd_time_t now);

/*
 * rd_sync_engine_bulk_pending - true while a bulk update we asked for
 * (join or repair) runs.
 */
RD_EXPORT bool rd_sync_engine_bulk_pending(const struct rd_sync_engine *e);

/*
 * rd_sync_engine_demotion - the demotion the engine holds now: `demotion`
 * (default 32) while a join bulk request runs (from the +demotion call of
 * cb.demote to the -demotion one), else 0; never non-zero for a repair.
 * The level a hold-based holder states (syncd's `hold syncd carp VALUE`).
 */
RD_EXPORT int rd_sync_engine_demotion(const struct rd_sync_engine *e);

/*
 * rd_sync_engine_defer - hold the first packet of the new local state st
 * (the caller keeps the packet under `token`): st's INS goes out at once
 * with the ack flag, and cb.release(token) is called when a peer acks or
 * updates it, after defer_timeout, or when more than defer_limit packets
 * are held (the oldest goes). Returns 0, or RD_ERR_INVAL (no release
 * callback, or st is not to be synchronised: release it yourself).
 */
RD_EXPORT int rd_sync_engine_defer(struct rd_sync_engine *e, struct rd_state *st, uint64_t token,
                                   rd_time_t now);

/*
 * rd_sync_engine_stats - copy the engine's counters (since
 * rd_sync_engine_new, indexed by enum rd_sync_engine_stat, named by
 * rd_sync_engine_stat_name) into out.
 */
RD_EXPORT void rd_sync_engine_stats(const struct rd_sync_engine *e,
                                    uint64_t out[RD_SYNC_ENGINE_STAT_COUNT]);

/*
 * rd_sync_engine_pfsync_stats - copy the pfsync decoder's counters for the
 * engine's input packets (since rd_sync_engine_new, indexed by enum
 * rd_pfsync_stat, named by rd_pfsync_stat_name) into out; a caller holding
 * a struct rd_pfsync_stats passes its count.
 */
RD_EXPORT void rd_sync_engine_pfsync_stats(const struct rd_sync_engine *e,
                                           uint64_t out[RD_PFSYNC_STAT_COUNT]);

/*
 * Conversions between a decoded pfsync state and the table's description,
 * used by the engine and useful to embedders. rd_sync_state_from_pfsync
 * returns 0 or RD_ERR_INVAL (values the table cannot hold: proxy TCP
 * states, bad family). Thread-safe.
 */
RD_EXPORT int rd_sync_state_from_pfsync(const struct rd_pfsync_state *ps,
                                        struct rd_state_info *info);
RD_EXPORT void rd_sync_state_to_pfsync(const struct rd_state_info *info,
                                       struct rd_pfsync_state *ps);

#ifdef __cplusplus
}
#endif

#endif
