/*
 * The carry: the one place where the secure channel and the sync engine
 * meet (redund/sync_carry.h). The channel's and the engine's callbacks are
 * the carry's; it forwards to the caller's own, with the caller's `user`.
 */
#include <string.h>

#include "core/internal.h"
#include "redund/sync_carry.h"

struct rd_sync_carry {
	struct rd_sync_channel *ch;
	struct rd_sync_engine *e;
	/* The caller's callbacks and their `user`, as given. */
	struct rd_sync_channel_callbacks ch_cbs;
	void *ch_user;
	struct rd_log ch_log;
	struct rd_sync_engine_callbacks e_cbs;
	void *e_user;
	struct rd_log e_log;
	const struct rd_mem *mem;
	struct rd_sync_carry_stats stats;
};

/* ---- the channel's callbacks ----------------------------------------- */

static void ch_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	struct rd_sync_carry *c = user;

	c->ch_cbs.send(c->ch_user, to, pkt, len);
}

static void ch_deliver(void *user, uint32_t from, uint64_t seq, const uint8_t *payload, size_t len,
                       rd_time_t now)
{
	struct rd_sync_carry *c = user;

	c->stats.delivered++;
	/* Sealed by a peer's engine, so a refusal means a peer bug or version skew. */
	if (rd_sync_engine_input(c->e, payload, len, now) != 0) {
		c->stats.refused++;
		rd_logf(&c->ch_log, RD_LOG_DEBUG, "pfsync packet from %08x (seq %llu) refused",
		        from, (unsigned long long)seq);
	}
	if (c->ch_cbs.deliver != NULL)
		c->ch_cbs.deliver(c->ch_user, from, seq, payload, len, now);
}

static void ch_lost(void *user, uint32_t peer, rd_time_t now)
{
	struct rd_sync_carry *c = user;

	c->stats.repairs++;
	rd_sync_engine_bulk_repair(c->e, now);
	if (c->ch_cbs.lost != NULL)
		c->ch_cbs.lost(c->ch_user, peer, now);
}

/* ---- the engine's callbacks ------------------------------------------ */

static void e_send(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct rd_sync_carry *c = user;
	int64_t rc;

	if (c->e_cbs.send != NULL)
		c->e_cbs.send(c->e_user, pkt, len, now);
	c->stats.sent++;
	rc = rd_sync_channel_send(c->ch, pkt, len, now);
	if (rc < 0) {
		c->stats.send_failed++;
		rd_logf(&c->e_log, RD_LOG_WARNING, "secure channel: %s", rd_strerror((int)rc));
	}
}

static size_t e_room(void *user)
{
	struct rd_sync_carry *c = user;
	size_t room;

	if (c->e_cbs.room != NULL)
		return c->e_cbs.room(c->e_user);
	room = rd_sync_channel_room(c->ch);
	/*
	 * A window within the engine's reserve would never leave a bulk packet
	 * any room: one at a time, once everything sent is acknowledged.
	 */
	if (room > 0 && room <= RD_SYNC_ENGINE_ROOM_RESERVE && rd_sync_channel_unacked(c->ch) == 0)
		return RD_SYNC_ENGINE_ROOM_RESERVE + 1;
	return room;
}

static void e_demote(void *user, int delta, rd_time_t now)
{
	struct rd_sync_carry *c = user;

	c->e_cbs.demote(c->e_user, delta, now);
}

static void e_release(void *user, uint64_t token, bool acked, rd_time_t now)
{
	struct rd_sync_carry *c = user;

	c->e_cbs.release(c->e_user, token, acked, now);
}

static void e_tdb(void *user, const struct rd_pfsync_tdb *tdb, rd_time_t now)
{
	struct rd_sync_carry *c = user;

	c->e_cbs.tdb(c->e_user, tdb, now);
}

static void e_ifname(void *user, uint16_t ifindex, char name[RD_PFSYNC_IFNAMSIZ + 1])
{
	struct rd_sync_carry *c = user;

	c->e_cbs.ifname(c->e_user, ifindex, name);
}

static uint16_t e_ifindex(void *user, const char *name)
{
	struct rd_sync_carry *c = user;

	return c->e_cbs.ifindex(c->e_user, name);
}

/* ---- public API ------------------------------------------------------ */

void rd_sync_carry_config_default(struct rd_sync_carry_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

int rd_sync_carry_new(const struct rd_sync_carry_config *cfg, struct rd_sync_carry **out)
{
	struct rd_sync_channel_config cc;
	struct rd_sync_engine_config ec;
	struct rd_sync_carry *c;
	size_t max;
	int rc;

	if (cfg == NULL || out == NULL || cfg->channel.cb.send == NULL)
		return RD_ERR_INVAL;
	c = rd_calloc(cfg->mem, 1, sizeof(*c));
	if (c == NULL)
		return RD_ERR_NOMEM;
	c->mem = cfg->mem;
	c->ch_cbs = cfg->channel.cb;
	c->ch_user = cfg->channel.user;
	c->ch_log = cfg->channel.log;
	c->e_cbs = cfg->engine.cb;
	c->e_user = cfg->engine.user;
	c->e_log = cfg->engine.log;

	cc = cfg->channel;
	cc.cb.send = ch_send;
	cc.cb.deliver = ch_deliver;
	cc.cb.lost = ch_lost;
	cc.user = c;
	rc = rd_sync_channel_new(&cc, &c->ch);
	if (rc != 0)
		goto fail;

	ec = cfg->engine;
	max = rd_sync_channel_payload_max(c->ch);
	if (ec.mtu > max) {
		rc = RD_ERR_INVAL;
		goto fail;
	}
	if (ec.mtu == 0)
		ec.mtu = max;
	/* The channel never loses a bulk packet for good: see bulk_reconcile. */
	ec.bulk_reconcile = true;
	ec.cb.send = e_send;
	ec.cb.room = e_room;
	ec.cb.demote = c->e_cbs.demote != NULL ? e_demote : NULL;
	ec.cb.release = c->e_cbs.release != NULL ? e_release : NULL;
	ec.cb.tdb = c->e_cbs.tdb != NULL ? e_tdb : NULL;
	ec.cb.ifname = c->e_cbs.ifname != NULL ? e_ifname : NULL;
	ec.cb.ifindex = c->e_cbs.ifindex != NULL ? e_ifindex : NULL;
	ec.user = c;
	rc = rd_sync_engine_new(&ec, &c->e);
	if (rc != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	rd_sync_carry_free(c);
	return rc;
}

void rd_sync_carry_free(struct rd_sync_carry *c)
{
	if (c == NULL)
		return;
	rd_sync_engine_free(c->e);
	rd_sync_channel_free(c->ch);
	rd_free(c->mem, c);
}

struct rd_sync_channel *rd_sync_carry_channel(const struct rd_sync_carry *c)
{
	return c->ch;
}

struct rd_sync_engine *rd_sync_carry_engine(const struct rd_sync_carry *c)
{
	return c->e;
}

void rd_sync_carry_stats(const struct rd_sync_carry *c, struct rd_sync_carry_stats *out)
{
	*out = c->stats;
}
