/*
 * libredund — the carry: a sync engine (redund/sync_engine.h) carried over
 * a secure channel (redund/sync.h), wired together. Neither the channel
 * nor the engine knows the other; the carry is the one place that joins
 * them:
 *
 *   channel DATA (deliver)       -> rd_sync_engine_input (a refusal is
 *                                   counted and logged at debug level: the
 *                                   payload was sealed by a peer's engine,
 *                                   so it means a peer bug or version skew)
 *   channel `lost`               -> rd_sync_engine_bulk_repair (a repair:
 *                                   it never demotes)
 *   engine packets (send)        -> rd_sync_channel_send (a failure is
 *                                   counted and logged as a warning)
 *   engine bulk pacing (room)    -> rd_sync_channel_room, and a channel
 *                                   whose whole window is within the
 *                                   engine's reserve
 *                                   (RD_SYNC_ENGINE_ROOM_RESERVE) gets one
 *                                   packet at a time, each once nothing is
 *                                   unacknowledged
 *   engine mtu 0                 -> rd_sync_channel_payload_max (a larger
 *                                   mtu is refused)
 *   engine bulk_reconcile        -> on: the channel never loses a bulk
 *                                   packet for good
 *   engine trusted               -> on: the peers are authenticated
 *                                   members (tombstones kept for unknown
 *                                   deletes, sent at the end of bulks)
 *   engine bulk_target           -> one live peer (rd_sync_channel_peers)
 *                                   that has not asked for a bulk in the
 *                                   last 3 s (any, if all have), in id
 *                                   order from a place set by our id, the
 *                                   next on each attempt; none heard in 1 s
 *                                   of our first request: every member
 *                                   (0). Each state of a join or repair
 *                                   comes once, from one peer.
 *   engine bulk_asked            -> notes the sender of a bulk request,
 *                                   and sends our HELLO at once
 *                                   (rd_sync_channel_hello_soon): the
 *                                   answerer waits for one from each of
 *                                   the other members (bulk_ready)
 *   engine bulk_defer            -> while our own request runs, an answer
 *                                   waits for it if a live peer that is
 *                                   not joining (it named an answerer in
 *                                   the last 3 s) could answer instead
 *   engine bulk_ready            -> rd_sync_channel_caught_up_except: an
 *                                   answer starts once what the peers
 *                                   sent before the request has arrived
 *                                   (or was lost and a repair asked for);
 *                                   the asker itself is not waited for
 *                                   (in-order delivery)
 *
 * The carry owns both objects: it creates them from the two configurations
 * given and frees them (the engine first). Drive them through the
 * accessors: feed received envelopes to rd_sync_channel_input, call
 * rd_sync_channel_handle_expiry and rd_sync_engine_handle_expiry at their
 * expiry (rd_sync_channel_expiry, rd_sync_engine_expiry), make bulk
 * requests, read statistics.
 *
 * The caller's own callbacks in the two configurations keep their meaning
 * (redund/sync.h), called with their own cb.user:
 *
 *   channel.cb.send     transmits envelopes (required);
 *   channel.cb.deliver  observes a DATA payload after the engine applied
 *                       it (optional);
 *   channel.cb.lost     observes a loss after the repair request was made
 *                       (optional);
 *   engine.cb.send      observes each engine packet just before the
 *                       channel seals it (optional);
 *   engine.cb.room      replaces the channel's room for bulk pacing
 *                       (optional; without the one-packet rule above);
 *   engine.cb.bulk_target, bulk_ready, bulk_defer replace the carry's
 *                       choices above, bulk_asked observes
 *                       (optional);
 *   engine.cb.demote, release, tdb, ifname, ifindex: as for the engine.
 *
 * The state extension (redund/sync_ext.h), when config.ext.get is set:
 *
 *   engine packets (send)        -> the pfsync packet, then a section with
 *                                   the record (ext.get) of every state an
 *                                   INS, UPD or UPD_C of the packet names;
 *                                   the engine's mtu is payload_max minus
 *                                   ext.reserve so that records fit. Those
 *                                   that do not are sent next, in one
 *                                   payload of their own (an empty pfsync
 *                                   packet and a section: counted
 *                                   ext_overflow), or dropped (counted
 *                                   ext_dropped) when that is full too.
 *   channel DATA (deliver)       -> a section after the pfsync packet is
 *                                   checked whole (refused: ext_refused;
 *                                   another version: ext_ignored, as an
 *                                   older node ignores the whole section);
 *                                   while the engine applies the packet,
 *                                   rd_sync_carry_ext_current finds its
 *                                   records (write them with the state);
 *                                   then ext.put gets each record.
 *
 * A node without the extension reads the pfsync packet and ignores the
 * section (the packet's header bounds it), so the two mix in one cluster.
 *
 * A carry, its channel and its engine are used from one thread at a time.
 */
#ifndef REDUND_SYNC_CARRY_H
#define REDUND_SYNC_CARRY_H

#include "redund/common.h"
#include "redund/sync.h"
#include "redund/sync_engine.h"
#include "redund/sync_ext.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rd_sync_carry;

/* The state extension's callbacks and room (see above); all optional. */
struct rd_sync_carry_ext {
	void *user;
	/*
	 * get - the extension of state (id, creatorid), to send with a
	 * message about it: fill *out and return true, or false for none.
	 * NULL: no section is sent.
	 */
	bool (*get)(void *user, uint64_t id, uint32_t creatorid, struct rd_sync_ext *out);
	/*
	 * put - a record peer `from` sent, called after the engine applied the
	 * payload it came with (the state, if the engine took it, exists). x
	 * is valid during the call. NULL: records are only counted.
	 */
	void (*put)(void *user, uint32_t from, uint64_t id, uint32_t creatorid,
	            const struct rd_sync_ext *x, rd_time_t now);
	/*
	 * reserve - bytes of each payload kept for the section when get is set
	 * and engine.mtu is 0 (the engine gets payload_max minus reserve, at
	 * least 300). 0: a full record without expectations (61 bytes) for
	 * each full state (INS, UPD) the packet can then carry, the most such
	 * states that fit with their records (4 in a payload_max of 1,412
	 * bytes, 27 in 8,912); larger records, and those of UPD_C, follow in a
	 * payload of their own when they do not fit.
	 */
	size_t reserve;
};

/* What a carry is made of. */
struct rd_sync_carry_config {
	/* The secure channel, as for rd_sync_channel_new (keys are copied). */
	struct rd_sync_channel_config channel;
	/*
	 * The sync engine, as for rd_sync_engine_new: `table` is required;
	 * cb.send may be NULL (see above); mtu 0 means the channel's
	 * payload_max; bulk_reconcile is set by the carry.
	 */
	struct rd_sync_engine_config engine;
	/* The state extension (all NULL: none sent, received ones counted). */
	struct rd_sync_carry_ext ext;
	/* The carry's own memory (NULL: the C library's). */
	const struct rd_mem *mem;
};

/*
 * The carry's counters (rd_sync_carry_stats), named by
 * rd_sync_carry_stat_name: the lower-case suffix
 * (RD_SYNC_CARRY_STAT_SEND_FAILED is "send_failed").
 */
enum rd_sync_carry_stat {
	RD_SYNC_CARRY_STAT_DELIVERED = 0, /* channel DATA payloads handed to the engine */
	RD_SYNC_CARRY_STAT_REFUSED,       /* ... of which the engine refused (logged at debug) */
	RD_SYNC_CARRY_STAT_SENT,          /* engine packets handed to the channel */
	RD_SYNC_CARRY_STAT_SEND_FAILED,   /* ... of which the channel refused (a warning) */
	RD_SYNC_CARRY_STAT_REPAIRS,       /* repair bulk requests made on `lost` */
	RD_SYNC_CARRY_STAT_EXT_SENT,      /* extension records sent after their packet */
	RD_SYNC_CARRY_STAT_EXT_OVERFLOW,  /* ... sent in a payload of their own (no room) */
	RD_SYNC_CARRY_STAT_EXT_DROPPED,   /* records not sent: no room in either */
	RD_SYNC_CARRY_STAT_EXT_RECEIVED,  /* extension records received */
	RD_SYNC_CARRY_STAT_EXT_REFUSED,   /* sections refused whole (bad framing) */
	RD_SYNC_CARRY_STAT_EXT_IGNORED,   /* sections of another version, ignored */
	RD_SYNC_CARRY_STAT_COUNT,
};

/*
 * rd_sync_carry_stat_name - the short name of a carry counter (above), or
 * "unknown" when out of range. Static string. Thread-safe.
 */
RD_EXPORT const char *rd_sync_carry_stat_name(int stat);

/*
 * rd_sync_carry_config_default - fill *cfg with the defaults:
 * rd_sync_channel_config_default and rd_sync_engine_config_default, except
 * engine.mtu 0 (the channel's payload_max), and the carry's memory the C
 * library's; no callbacks. The caller then sets at least
 * channel.sender_id, channel.keys, channel.nkeys, channel.send_key_id,
 * channel.cb.send and engine.table. Thread-safe.
 */
RD_EXPORT void rd_sync_carry_config_default(struct rd_sync_carry_config *cfg);

/*
 * rd_sync_carry_new - create the channel and the engine of cfg, wired as
 * described above. Returns 0 and *out, RD_ERR_INVAL (cfg or out NULL, the
 * channel's configuration refused by rd_sync_channel_new, engine.mtu above
 * the channel's payload_max, or the engine's configuration refused by
 * rd_sync_engine_new: no table, mtu below 300) or RD_ERR_NOMEM; on failure
 * nothing is left allocated and *out is untouched. cfg is copied (the keys
 * by the channel); engine.table is not owned and must outlive the carry.
 */
RD_EXPORT int rd_sync_carry_new(const struct rd_sync_carry_config *cfg, struct rd_sync_carry **out);

/*
 * rd_sync_carry_free - free the engine, then the channel (its keys wiped),
 * then the carry. Deferred packets are dropped. NULL: no-op.
 */
RD_EXPORT void rd_sync_carry_free(struct rd_sync_carry *c);

/*
 * rd_sync_carry_channel - the carry's channel, owned by the carry (valid
 * until rd_sync_carry_free). Use it for input, expiries, keys and counters;
 * its callbacks are the carry's. Never NULL.
 */
RD_EXPORT struct rd_sync_channel *rd_sync_carry_channel(const struct rd_sync_carry *c);

/*
 * rd_sync_carry_engine - the carry's engine, owned by the carry (valid
 * until rd_sync_carry_free). Use it for state events, expiries, bulk
 * requests, defer and counters. Never NULL.
 */
RD_EXPORT struct rd_sync_engine *rd_sync_carry_engine(const struct rd_sync_carry *c);

/*
 * rd_sync_carry_ext_current - during the engine's application of a
 * delivered payload (inside the engine's and the state table's callbacks,
 * e.g. a mirror's write): copy the record of state (id, creatorid) the
 * payload carried into *out and return true; false when it carried none,
 * or outside a delivery.
 */
RD_EXPORT bool rd_sync_carry_ext_current(const struct rd_sync_carry *c, uint64_t id,
                                         uint32_t creatorid, struct rd_sync_ext *out);

/*
 * rd_sync_carry_stats - copy the carry's counters (since rd_sync_carry_new,
 * indexed by enum rd_sync_carry_stat) into out. The channel's and the
 * engine's own counters are read through rd_sync_carry_channel and
 * rd_sync_carry_engine.
 */
RD_EXPORT void rd_sync_carry_stats(const struct rd_sync_carry *c,
                                   uint64_t out[RD_SYNC_CARRY_STAT_COUNT]);

#ifdef __cplusplus
}
#endif

#endif
