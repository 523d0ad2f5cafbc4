/*
 * The secure channel: sequence numbers, per-sender replay windows,
 * acknowledgements, NACK-driven and timed resends, over sealed envelopes.
 * Sans I/O: packets in through rd_sync_channel_input, out through the send
 * callback, time as an argument. Protocol: redund/sync.h.
 */
#include <sodium.h>
#include <string.h>

#include "core/internal.h"
#include "redund/sync.h"

#define WIN_WORDS   (RD_SYNC_REPLAY_WINDOW / 64)
#define SCRATCH_LEN 65536
#define MAX_BACKOFF 5 /* resend intervals double up to rto << 5 */

/* DATA received from one peer: bit i of bits is sequence number top - i. */
struct rx_window {
	bool init;
	uint64_t top;
	uint64_t cum; /* every number <= cum arrived or was given up */
	uint64_t bits[WIN_WORDS];
};

/* Control envelopes from one peer: replay check only. */
struct ctl_window {
	bool init;
	uint64_t top;
	uint64_t bits; /* bit i: top - i */
};

struct peer {
	uint32_t id;
	rd_time_t last_heard;
	struct rx_window rx;
	struct ctl_window ctl;
	unsigned unacked;  /* DATA since our last ack to it */
	rd_time_t ack_due; /* RD_TIME_NEVER when no ack is pending */
	bool nack_now;
	/* What the peer acknowledged of our DATA. */
	bool acked_known;
	uint64_t acked_cum, acked_top, acked_bits;
};

/* A sent DATA envelope kept until every live peer acknowledged it. */
struct slot {
	uint64_t seq;
	rd_time_t sent;
	unsigned tries;
	bool gave_up;
	size_t len;
	uint8_t *buf;
};

struct rd_sync_channel {
	struct rd_sync_channel_cfg cfg; /* timers and sizes with defaults applied */
	struct rd_sync_key keys[RD_SYNC_MAX_KEYS];
	size_t nkeys;
	size_t send_key;
	uint64_t next_seq, next_ctl;
	struct peer *peers;
	size_t npeers;
	/* Sent DATA, consecutive sequence numbers from the front. */
	struct slot *ring;
	uint8_t *ring_mem;
	size_t head, count;
	rd_time_t hello_due;
	rd_time_t last_now; /* latest time seen, for next_timeout */
	uint8_t *scratch;   /* opened payloads and sealed control envelopes */
	uint64_t stats[RD_SYNC_STAT_MAX];
};

/* ---- helpers ------------------------------------------------------- */

static bool alive(const struct rd_sync_channel *ch, const struct peer *p, rd_time_t now)
{
	return p->last_heard + ch->cfg.peer_timeout > now;
}

static struct peer *peer_find(struct rd_sync_channel *ch, uint32_t id)
{
	for (size_t i = 0; i < ch->npeers; i++)
		if (ch->peers[i].id == id)
			return &ch->peers[i];
	return NULL;
}

static bool acked_by(const struct peer *p, uint64_t seq)
{
	uint64_t d;

	if (!p->acked_known)
		return false;
	if (seq <= p->acked_cum)
		return true;
	d = seq - p->acked_cum - 1;
	return d < 64 && (p->acked_bits >> d & 1);
}

static bool fully_acked(const struct rd_sync_channel *ch, const struct slot *s, rd_time_t now)
{
	if (s->gave_up)
		return true;
	for (size_t i = 0; i < ch->npeers; i++) {
		const struct peer *p = &ch->peers[i];
		if (alive(ch, p, now) && !acked_by(p, s->seq))
			return false;
	}
	return true;
}

static struct slot *ring_at(struct rd_sync_channel *ch, size_t i)
{
	return &ch->ring[(ch->head + i) % ch->cfg.resend_slots];
}

static struct slot *ring_find(struct rd_sync_channel *ch, uint64_t seq)
{
	uint64_t front;

	if (ch->count == 0)
		return NULL;
	front = ring_at(ch, 0)->seq;
	if (seq < front || seq - front >= ch->count)
		return NULL;
	return ring_at(ch, (size_t)(seq - front));
}

static void notify_lost(struct rd_sync_channel *ch, uint32_t peer, rd_time_t now)
{
	if (ch->cfg.cbs.lost != NULL)
		ch->cfg.cbs.lost(ch->cfg.user, peer, now);
}

/* Tells `lost` about each live peer that misses s. */
static void drop_slot(struct rd_sync_channel *ch, struct slot *s, int stat, rd_time_t now)
{
	ch->stats[stat]++;
	for (size_t i = 0; i < ch->npeers; i++) {
		struct peer *p = &ch->peers[i];
		if (alive(ch, p, now) && !acked_by(p, s->seq))
			notify_lost(ch, p->id, now);
	}
	s->gave_up = true;
}

static void release(struct rd_sync_channel *ch, rd_time_t now)
{
	while (ch->count > 0 && fully_acked(ch, ring_at(ch, 0), now)) {
		ch->head = (ch->head + 1) % ch->cfg.resend_slots;
		ch->count--;
	}
}

static void seal_and_send(struct rd_sync_channel *ch, uint32_t to, uint8_t type, const uint8_t *pt,
                          size_t ptlen)
{
	struct rd_sync_env_hdr h = {
	    .type = type,
	    .key_id = ch->keys[ch->send_key].id,
	    .sender = ch->cfg.sender_id,
	    .seq = ch->next_ctl++,
	};
	int n = rd_sync_env_seal(&ch->keys[ch->send_key], &h, &ch->cfg.rnd, pt, ptlen, ch->scratch,
	                         SCRATCH_LEN);
	if (n > 0)
		ch->cfg.cbs.send(ch->cfg.user, to, ch->scratch, (size_t)n);
}

/* ---- receive windows ----------------------------------------------- */

static bool win_has(const struct rx_window *w, uint64_t seq)
{
	uint64_t i;

	if (seq > w->top)
		return false;
	i = w->top - seq;
	if (i >= RD_SYNC_REPLAY_WINDOW)
		return true; /* below the window: cum has passed it */
	return w->bits[i / 64] >> (i % 64) & 1;
}

static void win_set(struct rx_window *w, uint64_t seq)
{
	uint64_t i = w->top - seq;
	w->bits[i / 64] |= 1ULL << (i % 64);
}

/* Shifts the bitmap so that bit 0 stands for top + d (bits enter clear). */
static void win_shift(struct rx_window *w, uint64_t d)
{
	if (d >= RD_SYNC_REPLAY_WINDOW) {
		memset(w->bits, 0, sizeof(w->bits));
		return;
	}
	size_t words = (size_t)(d / 64), bits = (size_t)(d % 64);
	for (size_t i = WIN_WORDS; i-- > 0;) {
		uint64_t v = 0;
		if (i >= words) {
			v = w->bits[i - words] << bits;
			if (bits != 0 && i > words)
				v |= w->bits[i - words - 1] >> (64 - bits);
		}
		w->bits[i] = v;
	}
}

/*
 * Moves the window's top to new_top (> top). Numbers leaving the window
 * that never arrived are lost: counted, and the cumulative point moves
 * past them. Returns how many were lost.
 */
static uint64_t win_advance(struct rx_window *w, uint64_t new_top)
{
	uint64_t lost = 0;
	uint64_t floor_new =
	    new_top >= RD_SYNC_REPLAY_WINDOW ? new_top - RD_SYNC_REPLAY_WINDOW + 1 : 0;

	if (floor_new > w->cum + 1) {
		/* Old window part first, then everything between the windows. */
		uint64_t s = w->cum + 1;
		for (; s < floor_new && s <= w->top; s++)
			if (!win_has(w, s))
				lost++;
		if (floor_new > s)
			lost += floor_new - s;
		w->cum = floor_new - 1;
	}
	win_shift(w, new_top - w->top);
	w->top = new_top;
	return lost;
}

static void win_settle(struct rx_window *w)
{
	while (w->cum < w->top && win_has(w, w->cum + 1))
		w->cum++;
}

static void win_init(struct rx_window *w, uint64_t last)
{
	/* Everything up to `last` predates us: treated as received. */
	w->init = true;
	w->top = last;
	w->cum = last;
	memset(w->bits, 0xff, sizeof(w->bits));
}

/* Replay check for control envelopes; marks seq on success. */
static int ctl_accept(struct ctl_window *w, uint64_t seq)
{
	if (!w->init) {
		w->init = true;
		w->top = seq;
		w->bits = 1;
		return 0;
	}
	if (seq > w->top) {
		uint64_t d = seq - w->top;
		w->bits = d >= 64 ? 0 : w->bits << d;
		w->bits |= 1;
		w->top = seq;
		return 0;
	}
	if (w->top - seq >= 64)
		return RD_SYNC_STAT_TOOOLD;
	if (w->bits >> (w->top - seq) & 1)
		return RD_SYNC_STAT_REPLAYED;
	w->bits |= 1ULL << (w->top - seq);
	return 0;
}

/* ---- acknowledgements ---------------------------------------------- */

static void put_record(uint8_t *r, const struct peer *p)
{
	const struct rx_window *w = &p->rx;
	uint64_t bits = 0;

	for (unsigned i = 0; i < 64; i++) {
		uint64_t s = w->cum + 1 + i;
		if (s > w->top)
			break;
		if (win_has(w, s))
			bits |= 1ULL << i;
	}
	rd_put32(r, p->id);
	rd_put32(r + 4, 0);
	rd_put64(r + 8, w->cum);
	rd_put64(r + 16, w->top);
	rd_put64(r + 24, bits);
}

/* Sends one ACK (or NACK if any peer has a gap) with every due record. */
static void send_acks(struct rd_sync_channel *ch, rd_time_t now, bool force_all)
{
	uint8_t pl[4 + RD_SYNC_ACK_REC_LEN * 64];
	size_t max = (rd_sync_channel_payload_max(ch) - 4) / RD_SYNC_ACK_REC_LEN;
	size_t n = 0;
	bool nack = false;

	if (max > 64)
		max = 64;
	for (size_t i = 0; i < ch->npeers && n < max; i++) {
		struct peer *p = &ch->peers[i];
		if (!p->rx.init)
			continue;
		if (!force_all && !p->nack_now && p->ack_due > now)
			continue;
		put_record(pl + 4 + n * RD_SYNC_ACK_REC_LEN, p);
		n++;
		nack |= p->nack_now;
		p->nack_now = false;
		p->unacked = 0;
		p->ack_due = RD_TIME_NEVER;
	}
	if (n == 0)
		return;
	rd_put16(pl, (uint16_t)n);
	rd_put16(pl + 2, 0);
	seal_and_send(ch, 0, nack ? RD_SYNC_ENV_NACK : RD_SYNC_ENV_ACK, pl,
	              4 + n * RD_SYNC_ACK_REC_LEN);
	ch->stats[nack ? RD_SYNC_STAT_NACKS_SENT : RD_SYNC_STAT_ACKS_SENT]++;
}

static void resend(struct rd_sync_channel *ch, struct slot *s, uint32_t to, rd_time_t now)
{
	ch->cfg.cbs.send(ch->cfg.user, to, s->buf, s->len);
	s->sent = now;
	s->tries++;
	ch->stats[RD_SYNC_STAT_RESENT]++;
}

static rd_time_t resend_due(const struct rd_sync_channel *ch, const struct slot *s)
{
	unsigned shift = s->tries < MAX_BACKOFF ? s->tries : MAX_BACKOFF;
	return s->sent + (ch->cfg.rto << shift);
}

/* An ACK/NACK record about our DATA from peer p. */
static void take_record(struct rd_sync_channel *ch, struct peer *p, const uint8_t *r, bool nack,
                        rd_time_t now)
{
	uint64_t cum = rd_get64(r + 8), top = rd_get64(r + 16), bits = rd_get64(r + 24);

	if (p->acked_known && cum < p->acked_cum)
		return; /* an older ack overtaken by a newer one */
	p->acked_known = true;
	p->acked_cum = cum;
	p->acked_top = top;
	p->acked_bits = bits;
	if (!nack)
		return;
	for (unsigned i = 0; i < 64; i++) {
		uint64_t seq = cum + 1 + i;
		struct slot *s;
		if (seq > top)
			break;
		if (bits >> i & 1)
			continue;
		s = ring_find(ch, seq);
		if (s != NULL && !s->gave_up)
			resend(ch, s, p->id, now);
		else
			ch->hello_due = now; /* gone: our HELLO tells what we still hold */
	}
}

static int take_acks(struct rd_sync_channel *ch, struct peer *p, const uint8_t *pl, size_t len,
                     bool nack, rd_time_t now)
{
	size_t n;

	if (len < 4)
		return RD_SYNC_STAT_BADPAYLOAD;
	n = rd_get16(pl);
	if (len != 4 + n * RD_SYNC_ACK_REC_LEN)
		return RD_SYNC_STAT_BADPAYLOAD;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *r = pl + 4 + i * RD_SYNC_ACK_REC_LEN;
		uint64_t cum = rd_get64(r + 8), top = rd_get64(r + 16);
		if (cum > top)
			return RD_SYNC_STAT_BADPAYLOAD;
	}
	for (size_t i = 0; i < n; i++) {
		const uint8_t *r = pl + 4 + i * RD_SYNC_ACK_REC_LEN;
		if (rd_get32(r) == ch->cfg.sender_id)
			take_record(ch, p, r, nack, now);
	}
	release(ch, now);
	return 0;
}

/* ---- public API ---------------------------------------------------- */

static int keys_ok(const struct rd_sync_key *keys, size_t nkeys, uint32_t send_id, size_t *idx)
{
	if (keys == NULL || nkeys == 0 || nkeys > RD_SYNC_MAX_KEYS)
		return 0;
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].id == send_id) {
			*idx = i;
			return 1;
		}
	}
	return 0;
}

int rd_sync_channel_new(const struct rd_sync_channel_cfg *cfg, struct rd_sync_channel **out)
{
	struct rd_sync_channel *ch;
	size_t send_key;

	if (cfg == NULL || out == NULL || cfg->sender_id == 0 || cfg->cbs.send == NULL ||
	    cfg->cbs.deliver == NULL ||
	    !keys_ok(cfg->keys, cfg->nkeys, cfg->send_key_id, &send_key))
		return RD_ERR_INVAL;
	if (cfg->mtu != 0 && (cfg->mtu < 128 || cfg->mtu > 65507))
		return RD_ERR_INVAL;
	ch = rd_calloc(cfg->mem, 1, sizeof(*ch));
	if (ch == NULL)
		return RD_ERR_NOMEM;
	ch->cfg = *cfg;
	ch->cfg.keys = NULL;
	if (ch->cfg.mtu == 0)
		ch->cfg.mtu = 1472;
	if (ch->cfg.resend_slots == 0)
		ch->cfg.resend_slots = 1024;
	if (ch->cfg.max_peers == 0)
		ch->cfg.max_peers = 16;
	if (ch->cfg.ack_delay == 0)
		ch->cfg.ack_delay = 5 * RD_MSEC;
	if (ch->cfg.ack_every == 0)
		ch->cfg.ack_every = 16;
	if (ch->cfg.rto == 0)
		ch->cfg.rto = 100 * RD_MSEC;
	if (ch->cfg.max_tries == 0)
		ch->cfg.max_tries = 10;
	if (ch->cfg.hello_interval == 0)
		ch->cfg.hello_interval = RD_SEC;
	if (ch->cfg.peer_timeout == 0)
		ch->cfg.peer_timeout = 5 * RD_SEC;
	memcpy(ch->keys, cfg->keys, cfg->nkeys * sizeof(cfg->keys[0]));
	ch->nkeys = cfg->nkeys;
	ch->send_key = send_key;
	ch->next_seq = cfg->seq_start;
	ch->next_ctl = cfg->seq_start;
	ch->hello_due = 0;
	ch->peers = rd_calloc(cfg->mem, ch->cfg.max_peers, sizeof(*ch->peers));
	ch->ring = rd_calloc(cfg->mem, ch->cfg.resend_slots, sizeof(*ch->ring));
	ch->ring_mem = rd_malloc(cfg->mem, ch->cfg.resend_slots * ch->cfg.mtu);
	ch->scratch = rd_malloc(cfg->mem, SCRATCH_LEN);
	if (ch->peers == NULL || ch->ring == NULL || ch->ring_mem == NULL || ch->scratch == NULL) {
		rd_sync_channel_free(ch);
		return RD_ERR_NOMEM;
	}
	for (size_t i = 0; i < ch->cfg.resend_slots; i++)
		ch->ring[i].buf = ch->ring_mem + i * ch->cfg.mtu;
	*out = ch;
	return 0;
}

void rd_sync_channel_free(struct rd_sync_channel *ch)
{
	const struct rd_mem *mem;

	if (ch == NULL)
		return;
	mem = ch->cfg.mem;
	sodium_memzero(ch->keys, sizeof(ch->keys));
	rd_free(mem, ch->peers);
	rd_free(mem, ch->ring);
	rd_free(mem, ch->ring_mem);
	rd_free(mem, ch->scratch);
	rd_free(mem, ch);
}

size_t rd_sync_channel_payload_max(const struct rd_sync_channel *ch)
{
	return ch->cfg.mtu - RD_SYNC_ENV_OVERHEAD;
}

int rd_sync_channel_set_keys(struct rd_sync_channel *ch, const struct rd_sync_key *keys,
                             size_t nkeys, uint32_t send_key_id)
{
	size_t idx;

	if (!keys_ok(keys, nkeys, send_key_id, &idx))
		return RD_ERR_INVAL;
	sodium_memzero(ch->keys, sizeof(ch->keys));
	memcpy(ch->keys, keys, nkeys * sizeof(keys[0]));
	ch->nkeys = nkeys;
	ch->send_key = idx;
	return 0;
}

int64_t rd_sync_channel_send(struct rd_sync_channel *ch, const uint8_t *payload, size_t len,
                             rd_time_t now)
{
	struct rd_sync_env_hdr h;
	struct slot *s;
	int n;

	if (payload == NULL && len > 0)
		return RD_ERR_INVAL;
	if (len > rd_sync_channel_payload_max(ch))
		return RD_ERR_NOSPC;
	if (now > ch->last_now)
		ch->last_now = now;
	if (ch->count == ch->cfg.resend_slots) {
		drop_slot(ch, ring_at(ch, 0), RD_SYNC_STAT_EVICTED, now);
		ch->head = (ch->head + 1) % ch->cfg.resend_slots;
		ch->count--;
	}
	s = ring_at(ch, ch->count);
	h = (struct rd_sync_env_hdr){
	    .type = RD_SYNC_ENV_DATA,
	    .key_id = ch->keys[ch->send_key].id,
	    .sender = ch->cfg.sender_id,
	    .seq = ch->next_seq,
	};
	n = rd_sync_env_seal(&ch->keys[ch->send_key], &h, &ch->cfg.rnd, payload, len, s->buf,
	                     ch->cfg.mtu);
	if (n < 0)
		return n;
	s->seq = ch->next_seq++;
	s->len = (size_t)n;
	s->sent = now;
	s->tries = 0;
	s->gave_up = false;
	ch->count++;
	ch->stats[RD_SYNC_STAT_SENT]++;
	ch->cfg.cbs.send(ch->cfg.user, 0, s->buf, s->len);
	release(ch, now);
	return (int64_t)h.seq;
}

static int refuse(struct rd_sync_channel *ch, int stat, int rc)
{
	ch->stats[stat]++;
	return rc;
}

/* A DATA envelope from p, authenticated: replay check, window, deliver. */
static int input_data(struct rd_sync_channel *ch, struct peer *p, uint64_t seq, const uint8_t *pl,
                      size_t len, rd_time_t now)
{
	struct rx_window *w = &p->rx;
	uint64_t lost = 0;

	if (!w->init)
		win_init(w, seq - 1);
	if (seq > w->top) {
		if (seq > w->top + 1)
			p->nack_now = true;
		lost = win_advance(w, seq);
	} else if (w->top - seq >= RD_SYNC_REPLAY_WINDOW) {
		return refuse(ch, RD_SYNC_STAT_TOOOLD, RD_ERR_REPLAY);
	} else if (win_has(w, seq)) {
		return refuse(ch, RD_SYNC_STAT_REPLAYED, RD_ERR_REPLAY);
	}
	win_set(w, seq);
	win_settle(w);
	if (lost != 0) {
		ch->stats[RD_SYNC_STAT_LOST] += lost;
		notify_lost(ch, p->id, now);
	}
	ch->stats[RD_SYNC_STAT_OPENED]++;
	ch->stats[RD_SYNC_STAT_DELIVERED]++;
	if (++p->unacked >= ch->cfg.ack_every)
		p->ack_due = now;
	else if (p->ack_due == RD_TIME_NEVER)
		p->ack_due = now + ch->cfg.ack_delay;
	ch->cfg.cbs.deliver(ch->cfg.user, p->id, seq, pl, len, now);
	return 0;
}

static int input_hello(struct rd_sync_channel *ch, struct peer *p, const uint8_t *pl, size_t len,
                       rd_time_t now)
{
	struct rx_window *w = &p->rx;
	uint64_t next, oldest, lost = 0;

	if (len != 16)
		return RD_SYNC_STAT_BADPAYLOAD;
	next = rd_get64(pl);
	oldest = rd_get64(pl + 8);
	if (next == 0 || oldest > next)
		return RD_SYNC_STAT_BADPAYLOAD;
	if (!w->init) {
		win_init(w, next - 1);
		return 0;
	}
	if (next - 1 > w->top) {
		/* The sender sent DATA we never saw: ask for it. */
		lost = win_advance(w, next - 1);
		p->nack_now = true;
	}
	/* Holes below what the sender still holds will never be filled. */
	for (uint64_t s = w->cum + 1; s < oldest && s <= w->top; s++) {
		if (!win_has(w, s)) {
			win_set(w, s);
			lost++;
		}
	}
	win_settle(w);
	if (lost != 0) {
		ch->stats[RD_SYNC_STAT_LOST] += lost;
		notify_lost(ch, p->id, now);
	}
	return 0;
}

int rd_sync_channel_input(struct rd_sync_channel *ch, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct rd_sync_env_hdr h;
	struct peer *p;
	bool created = false;
	int reason, n, bad;

	if (now > ch->last_now)
		ch->last_now = now;
	n = rd_sync_env_open(ch->keys, ch->nkeys, pkt, len, &h, ch->scratch, SCRATCH_LEN, &reason);
	if (n < 0)
		return refuse(ch, reason, n);
	if (h.sender == ch->cfg.sender_id)
		return refuse(ch, RD_SYNC_STAT_SELF, RD_ERR_REPLAY);
	p = peer_find(ch, h.sender);
	if (p == NULL) {
		if (ch->npeers == ch->cfg.max_peers)
			return refuse(ch, RD_SYNC_STAT_PEERSFULL, RD_ERR_LIMIT);
		p = &ch->peers[ch->npeers];
		memset(p, 0, sizeof(*p));
		p->id = h.sender;
		p->ack_due = RD_TIME_NEVER;
		created = true;
	}
	if (h.type == RD_SYNC_ENV_DATA) {
		if (!p->rx.init && h.seq == 0)
			return refuse(ch, RD_SYNC_STAT_TOOOLD, RD_ERR_REPLAY);
		bad = input_data(ch, p, h.seq, ch->scratch, (size_t)n, now);
		if (bad != 0)
			return bad;
	} else {
		/* Validate the payload before the replay window moves. */
		struct ctl_window saved = p->ctl;
		bad = ctl_accept(&p->ctl, h.seq);
		if (bad != 0)
			return refuse(ch, bad, RD_ERR_REPLAY);
		if (h.type == RD_SYNC_ENV_HELLO)
			bad = input_hello(ch, p, ch->scratch, (size_t)n, now);
		else
			bad = take_acks(ch, p, ch->scratch, (size_t)n, h.type == RD_SYNC_ENV_NACK,
			                now);
		if (bad != 0) {
			p->ctl = saved;
			return refuse(ch, bad, RD_ERR_PROTO);
		}
		ch->stats[RD_SYNC_STAT_OPENED]++;
	}
	if (created) {
		ch->npeers++;
		ch->hello_due = now; /* tell the newcomer where our stream stands */
	}
	p->last_heard = now;
	if (p->nack_now || p->ack_due <= now)
		send_acks(ch, now, false);
	return 0;
}

static void send_hello(struct rd_sync_channel *ch, rd_time_t now)
{
	uint8_t pl[16];

	rd_put64(pl, ch->next_seq);
	rd_put64(pl + 8, ch->count > 0 ? ring_at(ch, 0)->seq : ch->next_seq);
	seal_and_send(ch, 0, RD_SYNC_ENV_HELLO, pl, sizeof(pl));
	ch->stats[RD_SYNC_STAT_HELLOS_SENT]++;
	ch->hello_due = now + ch->cfg.hello_interval;
}

/* Resends a timed-out slot to each live peer that lacks it, or gives up. */
static void resend_timed_out(struct rd_sync_channel *ch, struct slot *s, rd_time_t now)
{
	unsigned tries = s->tries;

	if (tries >= ch->cfg.max_tries) {
		drop_slot(ch, s, RD_SYNC_STAT_GAVEUP, now);
		return;
	}
	for (size_t i = 0; i < ch->npeers; i++) {
		struct peer *p = &ch->peers[i];
		if (alive(ch, p, now) && !acked_by(p, s->seq))
			resend(ch, s, p->id, now);
	}
	s->tries = tries + 1;
}

void rd_sync_channel_tick(struct rd_sync_channel *ch, rd_time_t now)
{
	if (now > ch->last_now)
		ch->last_now = now;
	if (now >= ch->hello_due)
		send_hello(ch, now);
	send_acks(ch, now, false);
	for (size_t i = 0; i < ch->count; i++) {
		struct slot *s = ring_at(ch, i);
		if (!fully_acked(ch, s, now) && resend_due(ch, s) <= now)
			resend_timed_out(ch, s, now);
	}
	release(ch, now);
}

rd_time_t rd_sync_channel_next_timeout(const struct rd_sync_channel *ch)
{
	rd_time_t t = ch->hello_due;

	for (size_t i = 0; i < ch->npeers; i++) {
		const struct peer *p = &ch->peers[i];
		if (p->nack_now)
			return ch->last_now;
		if (p->ack_due < t)
			t = p->ack_due;
	}
	for (size_t i = 0; i < ch->count; i++) {
		const struct slot *s = &ch->ring[(ch->head + i) % ch->cfg.resend_slots];
		if (!fully_acked(ch, s, ch->last_now) && resend_due(ch, s) < t)
			t = resend_due(ch, s);
	}
	return t;
}

const uint64_t *rd_sync_channel_stats(const struct rd_sync_channel *ch)
{
	return ch->stats;
}

size_t rd_sync_channel_unacked(const struct rd_sync_channel *ch)
{
	return ch->count;
}
