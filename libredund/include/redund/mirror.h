/*
 * libredund — the mirror of an external state table: the binding between a
 * sync engine (redund/sync.h) and a state table kept by someone else (Linux
 * conntrack, a DPDK or VPP flow table, an in-memory table), so that a
 * firewall which tracks connections itself can still synchronise them.
 *
 * The embedder owns the external table and reaches it through four
 * callbacks (read one entry, write, delete, dump); it reports the external
 * table's own changes with rd_mirror_local. The mirror owns every decision
 * in between:
 *
 *  - Which states are ours. An entry of the external table that the mirror
 *    does not know yet is a local insert: it gets an id from the state
 *    table and the table's creatorid (rd_state_import_local) and is sent to
 *    the peers. An entry whose key a peer's state already has is that
 *    peer's state, updated (and the update sent) when the external table
 *    changes it.
 *  - The start-up read. The external table may still hold the peers'
 *    states from a previous run, so with rd_mirror_start(bulk_first) the
 *    peers' bulk update comes first and the external table is read once it
 *    ended: an entry whose key a peer's state then has is the peer's and
 *    left as the bulk brought it; only the others are ours.
 *  - The mark. An embedder whose external table can mark entries (a
 *    conntrack label) marks those it writes for peers and reports the mark
 *    back as RD_STATE_F_REMOTE in the entry's flags. A marked entry the
 *    mirror does not hold is a peer's state that the cluster deleted (while
 *    we were away, or after our write): it is removed from the external
 *    table (counted `gone`), never taken as ours, so a restarted node does
 *    not bring back what the cluster deleted meanwhile, and still offers
 *    what was created locally meanwhile (unmarked). The start-up read judges
 *    marked entries only after a bulk update ended (BUS END): without one
 *    (no peer answered), nobody can say, and they are taken as ours. Before
 *    the start-up read, marked entries the mirror does not hold are left
 *    alone (counted `waiting`).
 *  - Writing the peers' changes. Every state inserted, updated or removed
 *    by the engine on a peer's behalf is written to (or deleted from) the
 *    external table; nothing the mirror does on behalf of the external
 *    table (local changes, the refresh sweep, freeing) is written back.
 *  - Echoes. A peer's change written to the external table may come back
 *    as a change reported by the external table: rd_mirror_local refuses
 *    (counts `echoes`) a change reported while a write is in progress, and
 *    a change of a peer's state that carries nothing the mirror does not
 *    already have (same peer states, timeout class, flags, and no more time
 *    left than the mirror's plus 2 s). Such echoes are never sent back.
 *  - Refresh. An external table usually refreshes an entry on every packet
 *    without telling anyone, so the mirror's expiry is only a prompt:
 *    shortly before a state would expire (refresh_margin), the sweep reads
 *    the external entry. If it has more time left, the state is refreshed
 *    (and the peers' copies with it); if one of our own states is gone
 *    from the external table, it goes; otherwise it expires with the
 *    external entry.
 *  - The timeout stretch. The table's class timeouts are set to at least
 *    the external table's (config `timeouts`), so the external table's
 *    remaining time always fits and the mirror never expires first; the
 *    adaptive scaling is turned off (expiry is the external table's).
 *  - One exclusion rule for the sync traffic itself (config `exclude`: an
 *    IP protocol, and a port of it or any): such entries never enter the
 *    mirror and are never sent.
 *
 * Every refusal is counted by reason (enum rd_mirror_stat); a refused
 * change changes nothing.
 *
 * Wiring: create the state table with cb.event calling
 * rd_mirror_state_event (instead of rd_sync_engine_state_event; the mirror
 * passes every event to the engine), then the engine over the table, then
 * the mirror over both. Free in the reverse order: mirror, engine, table
 * (a hook called with no mirror yet or any more must forward to the engine
 * itself, or do nothing once the engine is gone).
 *
 * Thread-safety: a mirror is used from one thread at a time, with its
 * table and engine; the callbacks run on that thread, inside the mirror's
 * calls. rd_mirror_config_default is thread-safe.
 */
#ifndef REDUND_MIRROR_H
#define REDUND_MIRROR_H

#include "redund/common.h"
#include "redund/state.h"
#include "redund/sync_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rd_mirror;

/* write's value for a write queued, whose outcome rd_mirror_write_done reports. */
#define RD_MIRROR_PENDING 1

/* The change an external table reports (rd_mirror_local's `change`). */
enum rd_mirror_change {
	RD_MIRROR_NEW = 1,     /* a new entry (or a dumped one) */
	RD_MIRROR_UPDATE = 2,  /* an entry changed */
	RD_MIRROR_DESTROY = 3, /* an entry is gone */
};

/* What rd_mirror_local did with a change it did not refuse (>= 0). */
enum rd_mirror_result {
	RD_MIRROR_INSERTED = 0, /* a new state of ours, sent to the peers */
	RD_MIRROR_UPDATED = 1,  /* a known state (ours or a peer's) updated and sent */
	RD_MIRROR_REMOVED = 2,  /* a known state removed (the delete sent) */
	RD_MIRROR_KNOWN = 3,    /* start-up read: the key is a peer's state, left alone */
	RD_MIRROR_ECHO = 4,     /* the echo of a write of ours: ignored */
	RD_MIRROR_EXCLUDED = 5, /* sync traffic (config exclude): ignored */
	RD_MIRROR_UNKNOWN = 6,  /* DESTROY of a key the mirror does not hold: ignored */
	RD_MIRROR_GONE = 7,     /* marked (RD_STATE_F_REMOTE), not held: removed from the table */
	RD_MIRROR_WAIT = 8,     /* marked, not held, before the start-up read: left for it */
};

/*
 * The callbacks into the external table. Each receives `user` first. A
 * state description (struct rd_state_info) names the entry by its wire and
 * stack keys; descriptions passed in are valid only during the call.
 */
struct rd_mirror_callbacks {
	void *user;
	/*
	 * read - the external table's entry of key->wire (key is the mirror's
	 * description of the state): fill *out (keys, peer states, timeout
	 * class, expire_in = its seconds left; id and creatorid are ignored)
	 * and return 0, return RD_ERR_NOENT when it has none, or another
	 * negative value on failure (counted read_failed, nothing changes).
	 * Used by the refresh sweep; NULL: no refresh (states expire in the
	 * mirror as their timeouts say).
	 */
	int (*read)(void *user, const struct rd_state_info *key, struct rd_state_info *out);
	/*
	 * write - create or update the external entry of a peer's state
	 * (`created`: the state is new to the mirror). expire_in is the time
	 * it has left. Return 0, or a negative value (counted write_failed; the
	 * mirror keeps the state), or RD_MIRROR_PENDING: the write is queued
	 * (batched), and its outcome is reported later by rd_mirror_write_done,
	 * which counts it. Required unless config.write is false.
	 */
	int (*write)(void *user, const struct rd_state_info *info, bool created);
	/*
	 * remove - delete the external entry of a peer's state that is gone
	 * (a peer deleted it, or it expired); absent counts as done. Return 0
	 * or a negative value (counted delete_failed). Required unless
	 * config.write is false.
	 */
	int (*remove)(void *user, const struct rd_state_info *info);
	/*
	 * dump - report every entry of the external table now, each by
	 * rd_mirror_local(mirror, RD_MIRROR_NEW, entry, now) from inside this
	 * call. Return 0 or a negative value (the dump failed part way; what
	 * was reported stays). Required for rd_mirror_start and
	 * rd_mirror_resync.
	 */
	int (*dump)(void *user, rd_time_t now);
	/*
	 * dumped - the start-up read ended: rc is dump's value, ours the states
	 * it found to be ours. Optional (for a log line).
	 */
	void (*dumped)(void *user, int rc, uint32_t ours, rd_time_t now);
};

/*
 * The sync traffic's own entries (they would otherwise be synchronised):
 * entries of IP protocol `proto` whose wire key has `port` as either port
 * (port 0: every entry of proto). proto 0: no exclusion.
 */
struct rd_mirror_exclude {
	uint8_t proto;
	uint16_t port;
};

/* Mirror configuration: fill with rd_mirror_config_default, then change. */
struct rd_mirror_config {
	struct rd_state_table *table;  /* required; not owned */
	struct rd_sync_engine *engine; /* required, over `table`; not owned */
	struct rd_mirror_callbacks cb;
	/*
	 * exclude - the sync traffic's description. Default: protocol
	 * RD_PFSYNC_IPPROTO (240), any port (raw pfsync); a secure channel
	 * over UDP sets {IPPROTO_UDP, its port}.
	 */
	struct rd_mirror_exclude exclude;
	/*
	 * write - write the peers' states into the external table (default
	 * true). false: the mirror keeps them without writing, and does not
	 * read the external table to refresh either.
	 */
	bool write;
	/*
	 * timeouts - seconds, per timeout class (< RD_STATE_TM_ADAPTIVE_START):
	 * the longest timeout the external table gives that class; the mirror
	 * sets the table's timeout of each nonzero entry to it, so the mirror
	 * outlives the external entry and expires with it. Default all 0
	 * (keep the table's).
	 */
	uint32_t timeouts[RD_STATE_TM_COUNT];
	rd_time_t refresh_margin; /* states this close to expiry are read again; default 10 s */
	rd_time_t sweep_interval; /* the sweep runs in slices this far apart; default 100 ms */
	rd_time_t sweep_period;   /* and covers the table in this time; default 5 s */
	const struct rd_mem *mem; /* NULL: libc */
	struct rd_log log;        /* fn NULL: silent */
};

/*
 * rd_mirror_config_default - fill *cfg: no table, engine or callbacks,
 * exclude {RD_PFSYNC_IPPROTO, 0}, write true, timeouts all 0, margins as
 * documented above, libc memory, no log. Thread-safe.
 */
RD_EXPORT void rd_mirror_config_default(struct rd_mirror_config *cfg);

/*
 * rd_mirror_new - create a mirror over cfg->table and cfg->engine (the
 * table's creatorid is ours). Sets the table's timeouts from cfg->timeouts
 * and turns its adaptive timeouts off. Returns 0 and *out, RD_ERR_INVAL
 * (cfg, table or engine NULL; write true without write or remove
 * callback; a sweep interval or period of 0 or a period shorter than the
 * interval) or RD_ERR_NOMEM; nothing is changed on error. The caller owns
 * the mirror (rd_mirror_free); the config is copied.
 */
RD_EXPORT int rd_mirror_new(const struct rd_mirror_config *cfg, struct rd_mirror **out);

/*
 * rd_mirror_free - free the mirror. Writes nothing to the external table
 * (its entries stay for whoever takes over). NULL: no-op.
 */
RD_EXPORT void rd_mirror_free(struct rd_mirror *m);

/*
 * rd_mirror_state_event - the table's event hook (rd_state_callbacks.event,
 * same arguments): passes the event to the engine
 * (rd_sync_engine_state_event), then, for a change the engine made on a
 * peer's behalf, writes it to the external table (INSERT, UPDATE) or
 * deletes it there (REMOVE, except RD_STATE_RM_FLUSH). Counts the writes.
 */
RD_EXPORT void rd_mirror_state_event(struct rd_mirror *m, struct rd_state *st, int ev, int why,
                                     rd_time_t now);

/*
 * rd_mirror_write_done - the outcome of a write the write callback queued
 * (returned RD_MIRROR_PENDING): rc 0 (counted written) or a negative value
 * (counted write_failed; the mirror keeps the state). Counts only; call it
 * once per queued write, from the mirror's thread, inside or outside the
 * mirror's calls, never after rd_mirror_free (writes still queued then
 * are the caller's to finish or drop: the mirror keeps no list of them).
 */
RD_EXPORT void rd_mirror_write_done(struct rd_mirror *m, int rc);

/*
 * rd_mirror_local - a change the external table reports (an event, or an
 * entry its dump reports): `change` is enum rd_mirror_change, *entry its
 * description (id and creatorid ignored; keys, peer states, timeout class,
 * expire_in, counters, flags read; RD_STATE_F_REMOTE in flags: the
 * external table's mark of an entry written for a peer, see above). Found by its wire key
 * (interface entry->ifindex, or any). Returns an enum rd_mirror_result (>= 0), or a refusal,
 * counted and nothing changed: RD_ERR_INVAL (bad change, NULL entry, or the table refused the
 * description), RD_ERR_LIMIT (table full), RD_ERR_EXIST (the key collides with another state),
 * RD_ERR_NOMEM. entry is only read.
 */
RD_EXPORT int rd_mirror_local(struct rd_mirror *m, int change, const struct rd_state_info *entry,
                              rd_time_t now);

/*
 * rd_mirror_start - begin mirroring. bulk_first: ask the peers for their
 * states first (rd_sync_engine_bulk_request, a join) and read the external
 * table once that request ended (rd_mirror_handle_expiry does it); false:
 * read it now. Returns 0, or dump's negative value when read now. Call
 * once; RD_ERR_STATE on a second call or without a dump callback.
 */
RD_EXPORT int rd_mirror_start(struct rd_mirror *m, bool bulk_first, rd_time_t now);

/*
 * rd_mirror_start_pending - true while the start-up read waits for the
 * peers' bulk update.
 */
RD_EXPORT bool rd_mirror_start_pending(const struct rd_mirror *m);

/*
 * rd_mirror_resync - read the whole external table again (after its
 * events were lost): every entry is reported as a change (new states are
 * ours, known ones are updated). Returns dump's value, or RD_ERR_STATE
 * without a dump callback.
 */
RD_EXPORT int rd_mirror_resync(struct rd_mirror *m, rd_time_t now);

/*
 * rd_mirror_expiry - the next instant rd_mirror_handle_expiry has work:
 * the next sweep slice, or at once (0) when the start-up read is due.
 * Never RD_TIME_NEVER.
 */
RD_EXPORT rd_time_t rd_mirror_expiry(const struct rd_mirror *m);

/*
 * rd_mirror_handle_expiry - do what is due at `now`: the start-up read
 * once the peers' bulk ended, and a slice of the refresh sweep (reading
 * states within refresh_margin of expiry through cb.read, then removing
 * the table's expired states, rd_state_purge) when its time came.
 *
 * Order: in a turn where rd_mirror_expiry says the start-up read is due
 * (0), call this before the sync engine's rd_sync_engine_handle_expiry.
 * A bulk answer the engine deferred until our own join ended starts in
 * that tick, and it must carry the states of ours the read finds; called
 * after, the answer goes out without them, and every member then deletes
 * those states as gone from us (syncd's timer does it in this order).
 */
RD_EXPORT void rd_mirror_handle_expiry(struct rd_mirror *m, rd_time_t now);

/*
 * A mirror's counters, each since rd_mirror_new, indexed by enum
 * rd_mirror_stat and named by rd_mirror_stat_name: the lower-case suffix
 * (RD_MIRROR_STAT_LOCAL_NEW is "local_new").
 */
enum rd_mirror_stat {
	RD_MIRROR_STAT_LOCAL_NEW = 0, /* local inserts (new states of ours) */
	RD_MIRROR_STAT_LOCAL_UPDATE,  /* local updates of known states */
	RD_MIRROR_STAT_LOCAL_DESTROY, /* known states removed by the external table */
	RD_MIRROR_STAT_KNOWN,         /* start-up read: entries left to the peer owning the key */
	RD_MIRROR_STAT_ECHOES,        /* refused: echoes of our own writes */
	RD_MIRROR_STAT_EXCLUDED,      /* refused: the sync traffic's entries (exclude) */
	RD_MIRROR_STAT_UNKNOWN,       /* DESTROY of keys not in the mirror (ignored) */
	RD_MIRROR_STAT_REFUSED_INVAL, /* refused: bad change or description */
	RD_MIRROR_STAT_REFUSED_LIMIT, /* refused: table full */
	RD_MIRROR_STAT_REFUSED_EXIST, /* refused: key collides with another state */
	RD_MIRROR_STAT_REFUSED_NOMEM, /* refused: no memory */
	RD_MIRROR_STAT_WRITTEN,       /* peers' states written to the external table */
	RD_MIRROR_STAT_DELETED,       /* peers' states deleted from it */
	RD_MIRROR_STAT_WRITE_FAILED,  /* writes the external table refused */
	RD_MIRROR_STAT_DELETE_FAILED, /* deletes it refused */
	RD_MIRROR_STAT_REFRESHED,     /* states refreshed from the external table by the sweep */
	RD_MIRROR_STAT_VANISHED,      /* our states the sweep found gone from it (removed) */
	RD_MIRROR_STAT_READ_FAILED,   /* sweep reads that failed (state left as it was) */
	RD_MIRROR_STAT_DUMPS,         /* dumps run (start-up read and resyncs) */
	RD_MIRROR_STAT_DUMP_FAILED,   /* dumps that returned an error */
	RD_MIRROR_STAT_GONE,          /* marked entries no peer holds, removed from the table */
	RD_MIRROR_STAT_WAITING,       /* marked entries reported before the start-up read */
	RD_MIRROR_STAT_COUNT,
};

/*
 * rd_mirror_stat_name - the short name of a mirror counter (above), or
 * "unknown" when out of range. Static string. Thread-safe.
 */
RD_EXPORT const char *rd_mirror_stat_name(int stat);

/*
 * rd_mirror_stats - copy the mirror's counters (indexed by enum
 * rd_mirror_stat) into out.
 */
RD_EXPORT void rd_mirror_stats(const struct rd_mirror *m, uint64_t out[RD_MIRROR_STAT_COUNT]);

#ifdef __cplusplus
}
#endif

#endif
