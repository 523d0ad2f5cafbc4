/*
 * The carry: the one place where the secure channel and the sync engine
 * meet (redund/sync_carry.h). The channel's and the engine's callbacks are
 * the carry's; it forwards to the caller's own, with the caller's `user`.
 */
#include <string.h>

#include "core/internal.h"
#include "redund/sync_carry.h"
#include "sync/pfsync_wire.h"

struct rd_sync_carry {
	struct rd_sync_channel *ch;
	struct rd_sync_engine *e;
	/* The caller's callbacks (with their `user`), as given. */
	struct rd_sync_channel_callbacks ch_cb;
	struct rd_log ch_log;
	struct rd_sync_engine_callbacks e_cb;
	struct rd_log e_log;
	const struct rd_mem *mem;
	uint32_t self;     /* our sender id: where our choice of bulk answerer starts */
	uint32_t from;     /* sender of the DATA being delivered (0: none) */
	rd_time_t t_first; /* our first choice of bulk answerer (0: none yet) */
	/* Members that asked for a bulk lately (bulk_asked), oldest replaced. */
	struct {
		uint32_t id;
		rd_time_t t;
		bool named; /* it named an answerer: a join (a repair asks everyone) */
	} asking[32];
	struct rd_sync_carry_ext ext;
	/* Sending with the extension: the payload, and the one for records after it. */
	uint8_t *buf, *over;
	size_t cap, len, over_len;
	size_t pkt_end; /* where the pfsync packet in buf ends and the section begins */
	/* Delivering: the section of the payload the engine is applying (NULL: none). */
	const uint8_t *cur;
	size_t cur_len;
	uint64_t stats[RD_SYNC_CARRY_STAT_COUNT];
};

static const char *const stat_names[RD_SYNC_CARRY_STAT_COUNT] = {
    [RD_SYNC_CARRY_STAT_DELIVERED] = "delivered",
    [RD_SYNC_CARRY_STAT_REFUSED] = "refused",
    [RD_SYNC_CARRY_STAT_SENT] = "sent",
    [RD_SYNC_CARRY_STAT_SEND_FAILED] = "send_failed",
    [RD_SYNC_CARRY_STAT_REPAIRS] = "repairs",
    [RD_SYNC_CARRY_STAT_EXT_SENT] = "ext_sent",
    [RD_SYNC_CARRY_STAT_EXT_OVERFLOW] = "ext_overflow",
    [RD_SYNC_CARRY_STAT_EXT_DROPPED] = "ext_dropped",
    [RD_SYNC_CARRY_STAT_EXT_RECEIVED] = "ext_received",
    [RD_SYNC_CARRY_STAT_EXT_REFUSED] = "ext_refused",
    [RD_SYNC_CARRY_STAT_EXT_IGNORED] = "ext_ignored",
};

const char *rd_sync_carry_stat_name(int stat)
{
	if (stat < 0 || stat >= RD_SYNC_CARRY_STAT_COUNT)
		return "unknown";
	return stat_names[stat];
}

/* ---- the channel's callbacks ----------------------------------------- */

static void ch_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	struct rd_sync_carry *c = user;

	c->ch_cb.send(c->ch_cb.user, to, pkt, len);
}

/*
 * The extension section after the payload's pfsync packet, checked whole;
 * NULL when there is none, or it is refused or of another version.
 */
static const uint8_t *section(struct rd_sync_carry *c, const uint8_t *payload, size_t len,
                              size_t *sec_len)
{
	size_t hdr_len;
	int rc;

	if (len <= RD_PFSYNC_HDR_LEN)
		return NULL;
	/* Under the header's size: the packet is the whole payload (rd_pfsync_check). */
	hdr_len = rd_get16(payload + RD_PFW_OFF(rd_pfw_header, len));
	if (hdr_len < RD_PFSYNC_HDR_LEN || hdr_len >= len)
		return NULL;
	*sec_len = len - hdr_len;
	rc = rd_sync_ext_decode(payload + hdr_len, *sec_len, NULL, NULL);
	if (rc == RD_ERR_STATE) {
		c->stats[RD_SYNC_CARRY_STAT_EXT_IGNORED]++;
		return NULL;
	}
	if (rc < 0) {
		c->stats[RD_SYNC_CARRY_STAT_EXT_REFUSED]++;
		return NULL;
	}
	return payload + hdr_len;
}

struct put_ctx {
	struct rd_sync_carry *c;
	uint32_t from;
	rd_time_t now;
};

static int put_one(void *user, uint64_t id, uint32_t creatorid, const struct rd_sync_ext *x)
{
	struct put_ctx *p = user;

	p->c->stats[RD_SYNC_CARRY_STAT_EXT_RECEIVED]++;
	if (p->c->ext.put != NULL)
		p->c->ext.put(p->c->ext.user, p->from, id, creatorid, x, p->now);
	return 0;
}

static void ch_deliver(void *user, uint32_t from, uint64_t seq, const uint8_t *payload, size_t len,
                       rd_time_t now)
{
	struct rd_sync_carry *c = user;
	struct put_ctx pc = {c, from, now};
	size_t sec_len = 0;
	const uint8_t *sec = section(c, payload, len, &sec_len);

	c->stats[RD_SYNC_CARRY_STAT_DELIVERED]++;
	c->from = from;
	c->cur = sec;
	c->cur_len = sec_len;
	/* Sealed by a peer's engine, so a refusal means a peer bug or version skew. */
	if (rd_sync_engine_input(c->e, payload, len, now) != 0) {
		c->stats[RD_SYNC_CARRY_STAT_REFUSED]++;
		rd_logf(&c->ch_log, RD_LOG_DEBUG, "pfsync packet from %08x (seq %llu) refused",
		        from, (unsigned long long)seq);
	}
	c->from = 0;
	c->cur = NULL;
	if (sec != NULL)
		rd_sync_ext_decode(sec, sec_len, put_one, &pc);
	if (c->ch_cb.deliver != NULL)
		c->ch_cb.deliver(c->ch_cb.user, from, seq, payload, len, now);
}

static void ch_lost(void *user, uint32_t peer, rd_time_t now)
{
	struct rd_sync_carry *c = user;

	c->stats[RD_SYNC_CARRY_STAT_REPAIRS]++;
	rd_sync_engine_bulk_repair(c->e, now);
	if (c->ch_cb.lost != NULL)
		c->ch_cb.lost(c->ch_cb.user, peer, now);
}

/* ---- the engine's callbacks ------------------------------------------ */

static void channel_send(struct rd_sync_carry *c, const uint8_t *pkt, size_t len, rd_time_t now)
{
	int64_t rc;

	c->stats[RD_SYNC_CARRY_STAT_SENT]++;
	rc = rd_sync_channel_send(c->ch, pkt, len, now);
	if (rc < 0) {
		c->stats[RD_SYNC_CARRY_STAT_SEND_FAILED]++;
		rd_logf(&c->e_log, RD_LOG_WARNING, "secure channel: %s", rd_strerror((int)rc));
	}
}

/* Appends x's record to the section of buf[0..*len) (begun at hdr); false: no room. */
static bool add_record(uint8_t *buf, size_t cap, size_t *len, size_t hdr, uint64_t id,
                       uint32_t creatorid, const struct rd_sync_ext *x)
{
	size_t need = rd_sync_ext_record_len(x) + (*len == hdr ? RD_SYNC_EXT_HDR_LEN : 0);

	if (*len + need > cap)
		return false;
	if (*len == hdr)
		*len += (size_t)rd_sync_ext_begin(buf + *len, cap - *len);
	*len += (size_t)rd_sync_ext_put(buf + *len, cap - *len, id, creatorid, x);
	return true;
}

/* The record of each state a message names: after the packet, or in the overflow. */
static int ext_msg(void *user, const struct rd_pfsync_msg *m)
{
	struct rd_sync_carry *c = user;
	struct rd_sync_ext x;
	uint64_t id;
	uint32_t creatorid;

	/* Records go with the messages that carry a state: INS, UPD, UPD_C. */
	if (m->action != RD_PFSYNC_ACT_INS && m->action != RD_PFSYNC_ACT_UPD &&
	    m->action != RD_PFSYNC_ACT_UPD_C)
		return 0;
	rd_pfsync_msg_ref(m, &id, &creatorid);
	memset(&x, 0, sizeof(x));
	if (!c->ext.get(c->ext.user, id, creatorid, &x) || x.have == 0)
		return 0;
	if (add_record(c->buf, c->cap, &c->len, c->pkt_end, id, creatorid, &x)) {
		c->stats[RD_SYNC_CARRY_STAT_EXT_SENT]++;
		return 0;
	}
	if (add_record(c->over, c->cap, &c->over_len, RD_PFSYNC_HDR_LEN, id, creatorid, &x)) {
		c->stats[RD_SYNC_CARRY_STAT_EXT_SENT]++;
		c->stats[RD_SYNC_CARRY_STAT_EXT_OVERFLOW]++;
		return 0;
	}
	c->stats[RD_SYNC_CARRY_STAT_EXT_DROPPED]++;
	return 0;
}

static void e_send(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct rd_sync_carry *c = user;
	size_t plen;

	if (c->e_cb.send != NULL)
		c->e_cb.send(c->e_cb.user, pkt, len, now);
	if (c->ext.get == NULL || len > c->cap || len < RD_PFSYNC_HDR_LEN) {
		channel_send(c, pkt, len, now);
		return;
	}
	memcpy(c->buf, pkt, len);
	/* The section starts where the packet's header says the packet ends. */
	plen = rd_get16(pkt + RD_PFW_OFF(rd_pfw_header, len));
	c->len = plen >= RD_PFSYNC_HDR_LEN && plen <= len ? plen : len;
	c->pkt_end = c->len;
	/* The overflow: an empty pfsync packet (this one's header) and a section. */
	memcpy(c->over, pkt, RD_PFSYNC_HDR_LEN);
	rd_put16(c->over + RD_PFW_OFF(rd_pfw_header, len), RD_PFSYNC_HDR_LEN);
	c->over_len = RD_PFSYNC_HDR_LEN;
	rd_pfsync_decode(pkt, c->len, NULL, NULL, ext_msg, c);
	channel_send(c, c->buf, c->len, now);
	if (c->over_len > RD_PFSYNC_HDR_LEN)
		channel_send(c, c->over, c->over_len, now);
}

static size_t e_room(void *user)
{
	struct rd_sync_carry *c = user;
	size_t room;

	if (c->e_cb.room != NULL)
		return c->e_cb.room(c->e_cb.user);
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

	c->e_cb.demote(c->e_cb.user, delta, now);
}

static void e_release(void *user, uint64_t token, bool acked, rd_time_t now)
{
	struct rd_sync_carry *c = user;

	c->e_cb.release(c->e_cb.user, token, acked, now);
}

static void e_tdb(void *user, const struct rd_pfsync_tdb *tdb, rd_time_t now)
{
	struct rd_sync_carry *c = user;

	c->e_cb.tdb(c->e_cb.user, tdb, now);
}

static void e_ifname(void *user, uint16_t ifindex, char name[RD_PFSYNC_IFNAMSIZ + 1])
{
	struct rd_sync_carry *c = user;

	c->e_cb.ifname(c->e_cb.user, ifindex, name);
}

static uint16_t e_ifindex(void *user, const char *name)
{
	struct rd_sync_carry *c = user;

	return c->e_cb.ifindex(c->e_cb.user, name);
}

/* A member that asked for a bulk within this long is "asking" (it lacks states). */
#define ASKING_FOR (3 * RD_SEC)

static bool asking(const struct rd_sync_carry *c, uint32_t id, rd_time_t now)
{
	for (size_t i = 0; i < RD_ARRAY_LEN(c->asking); i++)
		if (c->asking[i].id == id && c->asking[i].t + ASKING_FOR > now)
			return true;
	return false;
}

/*
 * Joining: it asked lately and named an answerer, which a join does once it
 * knows a peer. A member that asks every member (0/0) is repairing and holds
 * its table, or joined without hearing anyone: either way it may answer.
 */
static bool joining(const struct rd_sync_carry *c, uint32_t id, rd_time_t now)
{
	for (size_t i = 0; i < RD_ARRAY_LEN(c->asking); i++)
		if (c->asking[i].id == id && c->asking[i].named &&
		    c->asking[i].t + ASKING_FOR > now)
			return true;
	return false;
}

static void e_bulk_asked(void *user, uint32_t target, rd_time_t now)
{
	struct rd_sync_carry *c = user;
	size_t slot = 0;

	if (c->e_cb.bulk_asked != NULL)
		c->e_cb.bulk_asked(c->e_cb.user, target, now);
	/*
	 * The answerer waits for a HELLO of every other live member sent
	 * after the request (e_bulk_ready): ours goes now, not up to a hello
	 * interval later. Whoever answers, a join of a cluster of three or
	 * more then takes a round trip more than a pair's, not a second more.
	 */
	rd_sync_channel_hello_soon(c->ch, now);
	if (c->from == 0)
		return;
	for (size_t i = 0; i < RD_ARRAY_LEN(c->asking); i++) {
		if (c->asking[i].id == c->from) {
			slot = i;
			break;
		}
		if (c->asking[i].t < c->asking[slot].t)
			slot = i;
	}
	c->asking[slot].id = c->from;
	c->asking[slot].t = now;
	c->asking[slot].named = target != 0;
}

/*
 * Our own request runs: a request for our table waits for it while a live
 * peer that is not joining itself could answer instead (the asker names it
 * on a later attempt, or it answers a request to all); else (members
 * started together all join) we answer.
 */
static bool e_bulk_defer(void *user, rd_time_t now)
{
	struct rd_sync_carry *c = user;
	uint32_t ids[64];
	size_t n;

	if (c->e_cb.bulk_defer != NULL)
		return c->e_cb.bulk_defer(c->e_cb.user, now);
	n = rd_sync_channel_peers(c->ch, now, ids, RD_ARRAY_LEN(ids));
	for (size_t i = 0; i < n; i++)
		if (!joining(c, ids[i], now))
			return true;
	return false;
}

/*
 * One member answers a bulk request: a live peer that is not asking for a
 * bulk itself (it lacks states), or any live peer when all are, chosen in
 * id order from a place that depends on our id (members joining together
 * spread their requests), the next one on each attempt (3.5 s apart). No
 * live peer: wait up to 1 s after our first request for one, then ask
 * every member.
 */
static uint32_t e_bulk_target(void *user, unsigned attempt, rd_time_t now)
{
	struct rd_sync_carry *c = user;
	uint32_t ids[64];
	size_t n, k = 0;

	if (c->e_cb.bulk_target != NULL)
		return c->e_cb.bulk_target(c->e_cb.user, attempt, now);
	if (c->t_first == 0)
		c->t_first = now;
	n = rd_sync_channel_peers(c->ch, now, ids, RD_ARRAY_LEN(ids));
	if (n == 0) {
		/*
		 * At start the peers answer our first hello within a round
		 * trip: wait for them up to a hello interval rather than ask
		 * every member (each would answer with the whole table).
		 */
		return now < c->t_first + RD_SEC ? RD_SYNC_ENGINE_TARGET_WAIT : 0;
	}
	for (size_t i = 0; i < n; i++)
		if (!asking(c, ids[i], now))
			ids[k++] = ids[i];
	if (k == 0)
		k = rd_sync_channel_peers(c->ch, now, ids, RD_ARRAY_LEN(ids));
	return ids[(c->self + attempt) % k];
}

/* A bulk answer waits until what the peers sent before the request arrived. */
static bool e_bulk_ready(void *user, rd_time_t since, rd_time_t now)
{
	struct rd_sync_carry *c = user;
	uint32_t asker = 0;

	if (c->e_cb.bulk_ready != NULL)
		return c->e_cb.bulk_ready(c->e_cb.user, since, now);
	/*
	 * The member whose request arrived at `since` is not waited for: what
	 * it sent before the request was delivered before it. With two
	 * members the answer then starts at once, not at the asker's next
	 * HELLO (up to a hello interval later: 1 s of every join in syncd).
	 */
	for (size_t i = 0; i < RD_ARRAY_LEN(c->asking); i++)
		if (c->asking[i].id != 0 && c->asking[i].t == since)
			asker = c->asking[i].id;
	return rd_sync_channel_caught_up_except(c->ch, since, now, asker);
}

/*
 * The room kept by default for the extension section (ext.reserve 0): a
 * full record without expectations (61 bytes) for each full state the
 * packet can carry. That is the most states k whose packet (header, one
 * subheader, k states) and section (header, k such records) fit in max
 * together: at 1,412 bytes 4 states and 248 bytes, where a quarter of max
 * (353 bytes) left room for 3 full states, a third more packets a bulk.
 */
#define EXT_REC_NOEXP (RD_SYNC_EXT_REC_MAX - 2 - RD_SYNC_EXT_EXPECT_MAX * RD_SYNC_EXT_EXPECT_LEN)

static size_t ext_reserve(size_t max)
{
	const size_t fixed = RD_PFSYNC_HDR_LEN + RD_PFSYNC_SUBHDR_LEN + RD_SYNC_EXT_HDR_LEN;
	size_t k = max > fixed ? (max - fixed) / (RD_PFSYNC_STATE_LEN + EXT_REC_NOEXP) : 0;

	return RD_SYNC_EXT_HDR_LEN + k * EXT_REC_NOEXP;
}

/* ---- public API ------------------------------------------------------ */

void rd_sync_carry_config_default(struct rd_sync_carry_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	rd_sync_channel_config_default(&cfg->channel);
	rd_sync_engine_config_default(&cfg->engine);
	cfg->engine.mtu = 0; /* the channel's payload_max */
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
	c->ch_cb = cfg->channel.cb;
	c->ch_log = cfg->channel.log;
	c->e_cb = cfg->engine.cb;
	c->self = cfg->channel.sender_id;
	c->e_log = cfg->engine.log;
	c->ext = cfg->ext;

	cc = cfg->channel;
	cc.cb.send = ch_send;
	cc.cb.deliver = ch_deliver;
	cc.cb.lost = ch_lost;
	cc.cb.user = c;
	rc = rd_sync_channel_new(&cc, &c->ch);
	if (rc != 0)
		goto fail;

	ec = cfg->engine;
	max = rd_sync_channel_payload_max(c->ch);
	if (ec.mtu > max) {
		rc = RD_ERR_INVAL;
		goto fail;
	}
	if (ec.mtu == 0 && c->ext.get != NULL) {
		size_t reserve = c->ext.reserve != 0 ? c->ext.reserve : ext_reserve(max);
		ec.mtu = max > reserve + 300 ? max - reserve : (max < 300 ? max : 300);
	}
	if (ec.mtu == 0)
		ec.mtu = max;
	if (c->ext.get != NULL) {
		c->cap = max;
		c->buf = rd_calloc(c->mem, 1, max);
		c->over = rd_calloc(c->mem, 1, max);
		if (c->buf == NULL || c->over == NULL) {
			rc = RD_ERR_NOMEM;
			goto fail;
		}
	}
	/* The channel never loses a bulk packet for good: see bulk_reconcile. */
	ec.bulk_reconcile = true;
	ec.trusted = true; /* authenticated members running this engine */
	ec.cb.send = e_send;
	ec.cb.room = e_room;
	ec.cb.demote = c->e_cb.demote != NULL ? e_demote : NULL;
	ec.cb.release = c->e_cb.release != NULL ? e_release : NULL;
	ec.cb.tdb = c->e_cb.tdb != NULL ? e_tdb : NULL;
	ec.cb.ifname = c->e_cb.ifname != NULL ? e_ifname : NULL;
	ec.cb.ifindex = c->e_cb.ifindex != NULL ? e_ifindex : NULL;
	ec.cb.bulk_target = e_bulk_target;
	ec.cb.bulk_ready = e_bulk_ready;
	ec.cb.bulk_asked = e_bulk_asked;
	ec.cb.bulk_defer = e_bulk_defer;
	ec.cb.user = c;
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
	rd_free(c->mem, c->buf);
	rd_free(c->mem, c->over);
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

struct find_ctx {
	uint64_t id;
	uint32_t creatorid;
	struct rd_sync_ext *out;
	bool found;
};

static int find_one(void *user, uint64_t id, uint32_t creatorid, const struct rd_sync_ext *x)
{
	struct find_ctx *f = user;

	if (id != f->id || creatorid != f->creatorid)
		return 0;
	*f->out = *x;
	f->found = true;
	return 1;
}

bool rd_sync_carry_ext_current(const struct rd_sync_carry *c, uint64_t id, uint32_t creatorid,
                               struct rd_sync_ext *out)
{
	struct find_ctx f = {id, creatorid, out, false};

	/* A section holds a few dozen records: a walk per write costs less than an index. */
	if (c->cur != NULL)
		rd_sync_ext_decode(c->cur, c->cur_len, find_one, &f);
	return f.found;
}

void rd_sync_carry_stats(const struct rd_sync_carry *c, uint64_t out[RD_SYNC_CARRY_STAT_COUNT])
{
	memcpy(out, c->stats, sizeof(c->stats));
}
