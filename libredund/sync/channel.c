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
#include "sync/envelope.h"

#define WIN_WORDS   (RD_SYNC_REPLAY_WINDOW / 64)
#define SCRATCH_LEN 65536
#define MAX_BACKOFF 5      /* resend intervals double up to rto << 5 */
#define RTO_MAX     RD_SEC /* the measured resend timeout goes no higher */

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
	uint64_t first; /* first DATA of its incarnation, from its HELLO; 0: unknown */
	rd_time_t last_heard;
	/* Its latest HELLO: when it arrived and the `next` it named (0: none yet). */
	rd_time_t hello_at;
	uint64_t hello_next;
	struct rx_window rx;
	struct ctl_window ctl;
	unsigned unacked;  /* DATA since our last ack to it */
	rd_time_t ack_due; /* RD_TIME_NEVER when no ack is pending */
	bool nack_now;
	/* DATA from a new peer before its HELLO said where its stream starts. */
	bool pending;
	/* DATA that arrived ahead of a hole, held for in-order delivery. */
	uint8_t *hold;      /* hold_slots * mtu bytes, allocated on first use */
	uint64_t *hold_seq; /* sequence number in each slot, 0: empty */
	size_t *hold_len;
	/* Its round trip (DATA sent to its ack), smoothed as TCP does (RFC 6298). */
	rd_time_t srtt, rttvar; /* srtt 0: no sample yet */
	/* What the peer acknowledged of our DATA. */
	bool acked_known;
	uint64_t acked_cum, acked_top, acked_bits;
};

/* A sent DATA envelope kept until every live peer acknowledged it. */
struct slot {
	uint64_t seq;
	rd_time_t first; /* first sent: round trips are measured from it */
	rd_time_t sent;
	unsigned tries;
	bool gave_up;
	size_t len;
	uint8_t *buf;
};

/* A key set ready to seal and open: the channel's, and each opener's copy. */
struct keyring {
	struct rd_sync_key keys[RD_SYNC_MAX_KEYS];
	size_t nkeys;
	/* gcm[i]: keys[i]'s expanded AES-GCM schedule (AES keys), 16-aligned in gcm_mem. */
	crypto_aead_aes256gcm_state *gcm;
	void *gcm_mem;
};

struct rd_sync_channel {
	struct rd_sync_channel_config cfg; /* timers and sizes with defaults applied */
	struct keyring kr;
	size_t send_key;
	uint64_t first; /* our incarnation's first DATA (HELLO's first) */
	uint64_t next_seq, next_ctl;
	bool hello_sent; /* our first HELLO went out (it goes before our first DATA) */
	struct peer *peers;
	size_t npeers;
	/* Sent DATA, consecutive sequence numbers from the front. */
	struct slot *ring;
	uint8_t *ring_mem;
	size_t head, count;
	rd_time_t hello_due;
	rd_time_t hello_last; /* when our last HELLO went (0: never) */
	rd_time_t rto;        /* resend timeout now: cfg.rto, or more for slow live peers */
	rd_time_t last_now;   /* latest time seen, for rd_sync_channel_expiry */
	uint8_t *scratch;     /* opened payloads and sealed control envelopes */
	uint64_t stats[RD_SYNC_STAT_COUNT];
};

/* ---- helpers ------------------------------------------------------- */

static bool alive(const struct rd_sync_channel *ch, const struct peer *p, rd_time_t now)
{
	return p->last_heard + ch->cfg.peer_timeout > now;
}

static void peer_free_hold(struct rd_sync_channel *ch, struct peer *p)
{
	rd_free(ch->cfg.mem, p->hold);
	rd_free(ch->cfg.mem, p->hold_seq);
	rd_free(ch->cfg.mem, p->hold_len);
	p->hold = NULL;
	p->hold_seq = NULL;
	p->hold_len = NULL;
}

/*
 * The table is full and a new sender arrives: peers silent for longer than
 * peer_timeout leave it. A member restarted under a new id never speaks
 * under its old one again, so without this a cluster took only as many
 * restarts as the table had spare places. Nothing waits on a silent peer
 * (alive), so its entry holds only its windows; if it speaks again later,
 * it is a new peer, and its HELLO says where its stream stands (messages
 * before it count as lost, as for any newcomer). Returns how many left.
 */
static size_t peers_expire(struct rd_sync_channel *ch, rd_time_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < ch->npeers;) {
		struct peer *p = &ch->peers[i];

		if (alive(ch, p, now)) {
			i++;
			continue;
		}
		peer_free_hold(ch, p);
		*p = ch->peers[--ch->npeers];
		n++;
	}
	ch->stats[RD_SYNC_STAT_PEERS_EXPIRED] += n;
	return n;
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
	if (ch->cfg.cb.lost != NULL)
		ch->cfg.cb.lost(ch->cfg.cb.user, peer, now);
}

/*
 * Gives up a slot. The peers that miss it learn it from our next HELLO
 * (its oldest-held number) and ask for a bulk update themselves; asking
 * on their behalf here would only multiply bulk updates.
 */
static void drop_slot(struct rd_sync_channel *ch, struct slot *s, int stat, rd_time_t now)
{
	(void)now;
	ch->stats[stat]++;
	s->gave_up = true;
	ch->hello_due = 0;
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
	    .key_id = ch->kr.keys[ch->send_key].id,
	    .sender = ch->cfg.sender_id,
	    .seq = ch->next_ctl++,
	};
	int n = rdi_env_seal(&ch->kr.keys[ch->send_key], &ch->kr.gcm[ch->send_key], &h,
	                     &ch->cfg.random, pt, ptlen, ch->scratch, SCRATCH_LEN);
	if (n > 0)
		ch->cfg.cb.send(ch->cfg.cb.user, to, ch->scratch, (size_t)n);
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
	uint8_t pl[RD_SYNC_ACK_HDR_LEN + RD_SYNC_ACK_REC_LEN * 64];
	size_t max = (rd_sync_channel_payload_max(ch) - RD_SYNC_ACK_HDR_LEN) / RD_SYNC_ACK_REC_LEN;
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
		put_record(pl + RD_SYNC_ACK_HDR_LEN + n * RD_SYNC_ACK_REC_LEN, p);
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
	              RD_SYNC_ACK_HDR_LEN + n * RD_SYNC_ACK_REC_LEN);
	ch->stats[nack ? RD_SYNC_STAT_NACKS_SENT : RD_SYNC_STAT_ACKS_SENT]++;
}

/* Sends a copy; only the resend timer moves a slot's schedule (sent, tries). */
static void resend(struct rd_sync_channel *ch, const struct slot *s, uint32_t to)
{
	ch->cfg.cb.send(ch->cfg.cb.user, to, s->buf, s->len);
	ch->stats[RD_SYNC_STAT_RESENT]++;
}

static rd_time_t resend_due(const struct rd_sync_channel *ch, const struct slot *s)
{
	unsigned shift = s->tries < MAX_BACKOFF ? s->tries : MAX_BACKOFF;
	return s->sent + (ch->rto << shift);
}

/* An ACK/NACK from a peer, for take_record. */
struct ack_ctx {
	struct rd_sync_channel *ch;
	struct peer *p;
	bool nack;
	rd_time_t now;
};

/* The resend timeout: cfg.rto, or the slowest live peer's srtt + 4 rttvar (capped). */
static void rto_update(struct rd_sync_channel *ch, rd_time_t now)
{
	rd_time_t rto = ch->cfg.rto;

	for (size_t i = 0; i < ch->npeers; i++) {
		const struct peer *p = &ch->peers[i];
		if (p->srtt != 0 && alive(ch, p, now) && p->srtt + 4 * p->rttvar > rto)
			rto = p->srtt + 4 * p->rttvar;
	}
	ch->rto = rto < RTO_MAX ? rto : RTO_MAX;
}

/*
 * p acknowledged slot s (NULL: released already) for the first time: a
 * round-trip sample from its first sending (an upper bound when it was
 * resent, so the timeout errs long). A peer that is slow to acknowledge
 * (a busy member of a large cluster) is then resent to later instead of
 * being sent every envelope again and again.
 */
static void rtt_sample(struct rd_sync_channel *ch, struct peer *p, const struct slot *s,
                       rd_time_t now)
{
	rd_time_t r;

	if (s == NULL || now < s->first)
		return;
	r = now - s->first;
	if (p->srtt == 0) {
		p->srtt = r;
		p->rttvar = r / 2;
	} else {
		rd_time_t d = r > p->srtt ? r - p->srtt : p->srtt - r;
		p->rttvar = (3 * p->rttvar + d) / 4;
		p->srtt = (7 * p->srtt + r) / 8;
	}
	if (p->srtt == 0)
		p->srtt = 1;
	rto_update(ch, now);
}

/*
 * A record of an ACK/NACK from peer p (checked whole by rd_sync_ctl_decode
 * first); those about another sender's DATA are not ours to act on.
 */
static int take_record(void *user, const struct rd_sync_ack_rec *r)
{
	const struct ack_ctx *a = user;
	struct rd_sync_channel *ch = a->ch;
	struct peer *p = a->p;
	uint64_t cum = r->cumulative, top = r->top, bits = r->bitmap;

	if (r->sender != ch->cfg.sender_id)
		return 0;
	if (p->acked_known && cum < p->acked_cum)
		return 0; /* an older ack overtaken by a newer one */
	if (!p->acked_known || cum > p->acked_cum)
		rtt_sample(ch, p, ring_find(ch, cum), a->now);
	p->acked_known = true;
	p->acked_cum = cum;
	p->acked_top = top;
	p->acked_bits = bits;
	if (!a->nack)
		return 0;
	for (unsigned i = 0; i < 64; i++) {
		uint64_t seq = cum + 1 + i;
		struct slot *s;
		if (seq > top)
			break;
		if (bits >> i & 1)
			continue;
		s = ring_find(ch, seq);
		/*
		 * A NACK (one per new hole, then one per HELLO) is answered at
		 * once, without touching the timer's schedule: the timer alone
		 * gives a slot up after max_tries, so NACKs stay bounded. Counting
		 * each peer's NACK as a try spent the budget within a few NACKs
		 * on a lossy cluster, gave slots up and set off bulk updates.
		 */
		if (s != NULL && !s->gave_up)
			resend(ch, s, p->id);
		else
			ch->hello_due = a->now; /* gone: our HELLO tells what we still hold */
	}
	return 0;
}

/* ---- public API ---------------------------------------------------- */

/*
 * Whether a key set can serve a channel whose next sequence number is
 * `next`: 0 with *idx the sending key's index, RD_ERR_INVAL or
 * RD_ERR_NOTSUP (an AES-GCM key this machine cannot use).
 */
static int keys_ok(const struct rd_sync_key *keys, size_t nkeys, uint32_t send_id, uint64_t next,
                   size_t *idx)
{
	bool aes_ok = rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM), found = false;
	int rc;

	if (keys == NULL || nkeys == 0 || nkeys > RD_SYNC_MAX_KEYS)
		return RD_ERR_INVAL;
	for (size_t i = 0; i < nkeys; i++) {
		if ((rc = rdi_env_key_check(&keys[i], aes_ok)) != 0)
			return rc;
		/* GCM nonces hold 63 bits of sequence number (sync.h). */
		if (keys[i].aead == RD_SYNC_AEAD_AES256GCM && next >> 63 != 0)
			return RD_ERR_INVAL;
		if (!found && keys[i].id == send_id) {
			*idx = i;
			found = true;
		}
	}
	return found ? 0 : RD_ERR_INVAL;
}

/* Room for the AES-GCM schedules (libsodium wants them 16-aligned; an allocator may give less). */
static int keyring_alloc(const struct rd_mem *mem, struct keyring *kr)
{
	kr->gcm_mem = rd_malloc(mem, RD_SYNC_MAX_KEYS * sizeof(*kr->gcm) + 15);
	if (kr->gcm_mem == NULL)
		return RD_ERR_NOMEM;
	kr->gcm = (crypto_aead_aes256gcm_state *)(((uintptr_t)kr->gcm_mem + 15) & ~(uintptr_t)15);
	return 0;
}

/* Copy keys in and expand the AES-GCM schedules, once per key. */
static int keyring_install(struct keyring *kr, const struct rd_sync_key *keys, size_t nkeys)
{
	int rc = 0;

	sodium_memzero(kr->keys, sizeof(kr->keys));
	sodium_memzero(kr->gcm, RD_SYNC_MAX_KEYS * sizeof(*kr->gcm));
	memcpy(kr->keys, keys, nkeys * sizeof(keys[0]));
	kr->nkeys = nkeys;
	for (size_t i = 0; i < nkeys && rc == 0; i++)
		rc = rdi_env_key_prepare(&kr->keys[i], &kr->gcm[i]);
	return rc;
}

/* Wipe the keys and their schedules, free the schedules' room. */
static void keyring_free(const struct rd_mem *mem, struct keyring *kr)
{
	sodium_memzero(kr->keys, sizeof(kr->keys));
	if (kr->gcm != NULL)
		sodium_memzero(kr->gcm, RD_SYNC_MAX_KEYS * sizeof(*kr->gcm));
	rd_free(mem, kr->gcm_mem);
	kr->gcm = NULL;
	kr->gcm_mem = NULL;
}

/* The key of id `id`, or NULL. */
static const struct rd_sync_key *keyring_find(const struct keyring *kr, uint32_t id)
{
	for (size_t i = 0; i < kr->nkeys; i++)
		if (kr->keys[i].id == id)
			return &kr->keys[i];
	return NULL;
}

void rd_sync_channel_config_default(struct rd_sync_channel_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seq_start = 1;
	cfg->mtu = 1472;
	cfg->resend_slots = 1024;
	cfg->max_peers = 16;
	cfg->hold_slots = 256;
	cfg->ack_delay = 5 * RD_MSEC;
	cfg->ack_every = 16;
	cfg->rto = 100 * RD_MSEC;
	cfg->max_tries = 10;
	cfg->hello_interval = RD_SEC;
	cfg->peer_timeout = 5 * RD_SEC;
}

int rd_sync_channel_new(const struct rd_sync_channel_config *cfg, struct rd_sync_channel **out)
{
	struct rd_sync_channel *ch;
	size_t send_key = 0;
	int rc;

	if (cfg == NULL || out == NULL || cfg->sender_id == 0 || cfg->cb.send == NULL)
		return RD_ERR_INVAL;
	rc = keys_ok(cfg->keys, cfg->nkeys, cfg->send_key_id, cfg->seq_start ? cfg->seq_start : 1,
	             &send_key);
	if (rc != 0)
		return rc;
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
	if (ch->cfg.hold_slots == 0)
		ch->cfg.hold_slots = 256;
	if (ch->cfg.hold_slots > RD_SYNC_REPLAY_WINDOW / 2)
		ch->cfg.hold_slots = RD_SYNC_REPLAY_WINDOW / 2;
	if (ch->cfg.ack_delay == 0)
		ch->cfg.ack_delay = 5 * RD_MSEC;
	if (ch->cfg.ack_every == 0)
		ch->cfg.ack_every = 16;
	if (ch->cfg.rto == 0)
		ch->cfg.rto = 100 * RD_MSEC;
	ch->rto = ch->cfg.rto;
	if (ch->cfg.max_tries == 0)
		ch->cfg.max_tries = 10;
	if (ch->cfg.hello_interval == 0)
		ch->cfg.hello_interval = RD_SEC;
	if (ch->cfg.peer_timeout == 0)
		ch->cfg.peer_timeout = 5 * RD_SEC;
	if ((rc = keyring_alloc(cfg->mem, &ch->kr)) != 0 ||
	    (rc = keyring_install(&ch->kr, cfg->keys, cfg->nkeys)) != 0) {
		rd_sync_channel_free(ch);
		return rc;
	}
	ch->send_key = send_key;
	ch->next_seq = cfg->seq_start ? cfg->seq_start : 1;
	ch->first = ch->next_seq;
	ch->next_ctl = ch->next_seq;
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
	keyring_free(mem, &ch->kr);
	for (size_t i = 0; ch->peers != NULL && i < ch->npeers; i++) {
		rd_free(mem, ch->peers[i].hold);
		rd_free(mem, ch->peers[i].hold_seq);
		rd_free(mem, ch->peers[i].hold_len);
	}
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
	size_t idx = 0;
	uint64_t next = RD_MAX(ch->next_seq, ch->next_ctl);
	int rc;

	if ((rc = keys_ok(keys, nkeys, send_key_id, next, &idx)) != 0)
		return rc;
	if ((rc = keyring_install(&ch->kr, keys, nkeys)) != 0)
		return rc; /* only a failing crypto library, after keys_ok */
	ch->send_key = idx;
	return 0;
}

static void send_hello(struct rd_sync_channel *ch, rd_time_t now);

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
	/*
	 * Our HELLO first: a peer that knew an earlier incarnation of our id
	 * learns from its `first` that a new stream starts, instead of taking
	 * our first DATA for a jump over lost messages.
	 */
	if (!ch->hello_sent)
		send_hello(ch, now);
	if (ch->count == ch->cfg.resend_slots) {
		drop_slot(ch, ring_at(ch, 0), RD_SYNC_STAT_EVICTED, now);
		ch->head = (ch->head + 1) % ch->cfg.resend_slots;
		ch->count--;
	}
	s = ring_at(ch, ch->count);
	h = (struct rd_sync_env_hdr){
	    .type = RD_SYNC_ENV_DATA,
	    .key_id = ch->kr.keys[ch->send_key].id,
	    .sender = ch->cfg.sender_id,
	    .seq = ch->next_seq,
	};
	n = rdi_env_seal(&ch->kr.keys[ch->send_key], &ch->kr.gcm[ch->send_key], &h, &ch->cfg.random,
	                 payload, len, s->buf, ch->cfg.mtu);
	if (n < 0)
		return n;
	s->seq = ch->next_seq++;
	s->len = (size_t)n;
	s->first = now;
	s->sent = now;
	s->tries = 0;
	s->gave_up = false;
	ch->count++;
	ch->stats[RD_SYNC_STAT_SENT]++;
	ch->cfg.cb.send(ch->cfg.cb.user, 0, s->buf, s->len);
	release(ch, now);
	return (int64_t)h.seq;
}

static int refuse(struct rd_sync_channel *ch, int stat, int rc)
{
	ch->stats[stat]++;
	return rc;
}

/* A DATA envelope from p, authenticated: replay check, window, deliver. */
static void deliver(struct rd_sync_channel *ch, struct peer *p, uint64_t seq, const uint8_t *pl,
                    size_t len, rd_time_t now)
{
	ch->stats[RD_SYNC_STAT_DELIVERED]++;
	if (ch->cfg.cb.deliver != NULL)
		ch->cfg.cb.deliver(ch->cfg.cb.user, p->id, seq, pl, len, now);
}

/* Moves the in-order point to `to`, delivering what is held, counting holes. */
static uint64_t pass_to(struct rd_sync_channel *ch, struct peer *p, uint64_t to, rd_time_t now)
{
	struct rx_window *w = &p->rx;
	uint64_t lost = 0;

	while (w->cum < to) {
		uint64_t seq = ++w->cum;
		size_t slot = (size_t)(seq % ch->cfg.hold_slots);
		if (seq > w->top || !win_has(w, seq)) {
			lost++;
			if (seq > w->top && to - seq > RD_SYNC_REPLAY_WINDOW) {
				/* Far beyond anything seen: count the rest at once. */
				lost += to - seq;
				w->cum = to;
			}
			continue;
		}
		if (p->hold_seq != NULL && p->hold_seq[slot] == seq) {
			p->hold_seq[slot] = 0;
			deliver(ch, p, seq, p->hold + slot * ch->cfg.mtu, p->hold_len[slot], now);
		}
	}
	return lost;
}

/* Delivers held DATA that has become next in order. */
static void drain(struct rd_sync_channel *ch, struct peer *p, rd_time_t now)
{
	struct rx_window *w = &p->rx;

	while (w->cum < w->top && win_has(w, w->cum + 1))
		pass_to(ch, p, w->cum + 1, now);
}

static void count_lost(struct rd_sync_channel *ch, struct peer *p, uint64_t lost, rd_time_t now)
{
	if (lost == 0)
		return;
	ch->stats[RD_SYNC_STAT_LOST] += lost;
	notify_lost(ch, p->id, now);
}

/*
 * Makes sequence number `seq` fit in the window and the hold buffer: the
 * oldest holes are given up when more than hold_slots would be pending.
 */
static uint64_t make_room(struct rd_sync_channel *ch, struct peer *p, uint64_t seq, rd_time_t now)
{
	struct rx_window *w = &p->rx;
	uint64_t lost = 0;

	if (seq > w->cum + ch->cfg.hold_slots)
		lost = pass_to(ch, p, seq - ch->cfg.hold_slots, now);
	if (seq > w->top) {
		if (w->cum > w->top) {
			/* Everything up to cum was given up: restart the bitmap there. */
			win_init(w, w->cum);
		}
		lost += win_advance(w, seq);
	}
	return lost;
}

static int hold(struct rd_sync_channel *ch, struct peer *p, uint64_t seq, const uint8_t *pl,
                size_t len)
{
	size_t n = ch->cfg.hold_slots, slot = (size_t)(seq % n);

	if (p->hold == NULL) {
		p->hold = rd_malloc(ch->cfg.mem, n * ch->cfg.mtu);
		p->hold_seq = rd_calloc(ch->cfg.mem, n, sizeof(*p->hold_seq));
		p->hold_len = rd_calloc(ch->cfg.mem, n, sizeof(*p->hold_len));
		if (p->hold == NULL || p->hold_seq == NULL || p->hold_len == NULL) {
			peer_free_hold(ch, p);
			return RD_ERR_NOMEM;
		}
	}
	if (len > ch->cfg.mtu)
		return RD_ERR_NOSPC;
	memcpy(p->hold + slot * ch->cfg.mtu, pl, len);
	p->hold_len[slot] = len;
	p->hold_seq[slot] = seq;
	return 0;
}

/* A DATA envelope from p, authenticated: replay check, window, deliver. */
static int input_data(struct rd_sync_channel *ch, struct peer *p, uint64_t seq, const uint8_t *pl,
                      size_t len, rd_time_t now)
{
	struct rx_window *w = &p->rx;
	uint64_t lost;

	if (!w->init) {
		/*
		 * A new peer. The first DATA to arrive need not be the first
		 * one sent to us (reordering, resends): hold it until the
		 * peer's HELLO tells what it still holds, and start there.
		 */
		size_t slot = (size_t)(seq % ch->cfg.hold_slots);
		if (seq == 0 || (p->hold_seq != NULL && p->hold_seq[slot] == seq))
			return refuse(ch, RD_SYNC_STAT_REPLAYED, RD_ERR_REPLAY);
		if (hold(ch, p, seq, pl, len) != 0)
			return refuse(ch, RD_SYNC_STAT_NOMEM, RD_ERR_NOMEM);
		p->pending = true;
		ch->stats[RD_SYNC_STAT_OPENED]++;
		return 0;
	}
	if (seq <= w->cum || (seq <= w->top && win_has(w, seq))) {
		/* A resend of what we have: our ack was lost, send it again. */
		if (p->ack_due > now + ch->cfg.ack_delay)
			p->ack_due = now + ch->cfg.ack_delay;
		return refuse(ch,
		              w->top >= seq && w->top - seq >= RD_SYNC_REPLAY_WINDOW
		                  ? RD_SYNC_STAT_TOOOLD
		                  : RD_SYNC_STAT_REPLAYED,
		              RD_ERR_REPLAY);
	}
	if (p->first != 0 && seq > w->top + ch->cfg.hold_slots) {
		/*
		 * Far past anything this peer sent us: an outage that lost more
		 * than the window holds, or a restart whose HELLO was lost (a new
		 * incarnation numbers from a `first` far above the old one's).
		 * Only its HELLO tells which, within a hello interval; counting
		 * the jump lost now would count a restart as a loss. Not
		 * acknowledged, so the sender resends it.
		 */
		return refuse(ch, RD_SYNC_STAT_AHEAD, RD_ERR_AGAIN);
	}
	if (seq > w->top + 1)
		p->nack_now = true;
	lost = make_room(ch, p, seq, now);
	if (seq != w->cum + 1 && hold(ch, p, seq, pl, len) != 0) {
		count_lost(ch, p, lost, now);
		return refuse(ch, RD_SYNC_STAT_NOMEM, RD_ERR_NOMEM);
	}
	win_set(w, seq);
	ch->stats[RD_SYNC_STAT_OPENED]++;
	if (++p->unacked >= ch->cfg.ack_every)
		p->ack_due = now;
	else if (p->ack_due == RD_TIME_NEVER)
		p->ack_due = now + ch->cfg.ack_delay;
	if (seq == w->cum + 1) {
		w->cum = seq;
		deliver(ch, p, seq, pl, len, now);
	}
	drain(ch, p, now);
	count_lost(ch, p, lost, now);
	return 0;
}

/* A HELLO from p, checked by rd_sync_ctl_decode (next > 0, oldest <= next). */
static void input_hello(struct rd_sync_channel *ch, struct peer *p, const struct rd_sync_ctl *c,
                        rd_time_t now)
{
	struct rx_window *w = &p->rx;
	uint64_t lost = 0, next = c->next, oldest = c->oldest;

	if (w->init && c->first != 0 && p->first != 0 && c->first > p->first) {
		/*
		 * The sender restarted under the same id: a new stream begins at
		 * `first`. What its earlier incarnation sent and we missed died
		 * with it; nothing of the new one is lost. Start afresh, as for a
		 * new peer (its control window stays: it rules out replays).
		 */
		peer_free_hold(ch, p);
		memset(w, 0, sizeof(*w));
		p->pending = false;
		p->acked_known = false;
		p->nack_now = false;
		p->unacked = 0;
		p->ack_due = RD_TIME_NEVER;
		p->srtt = p->rttvar = 0;
		ch->stats[RD_SYNC_STAT_PEER_RESTARTS]++;
		ch->hello_due = now; /* tell it where our stream stands */
	}
	if (c->first != 0)
		p->first = c->first;
	if (!w->init) {
		/*
		 * A new peer: what it sent before `oldest` is gone for us. When it
		 * still holds everything from the first message of its incarnation
		 * on, we miss nothing (a member that just started, or restarted);
		 * otherwise (an older peer, or one without `first`) it is a loss.
		 */
		win_init(w, oldest - 1);
		if (c->first == 0 || oldest > c->first)
			notify_lost(ch, p->id, now);
		if (next - 1 > w->top) {
			lost = make_room(ch, p, next - 1, now);
			p->nack_now = true;
		}
		if (p->pending) {
			/*
			 * Adopt what arrived before the HELLO, drop the rest. DATA
			 * beyond the HELLO's `next` is newer than the HELLO (it
			 * went first, and said only where the stream began).
			 */
			for (size_t i = 0; i < ch->cfg.hold_slots; i++) {
				uint64_t sq = p->hold_seq[i];
				if (sq <= w->cum || sq - w->cum > ch->cfg.hold_slots ||
				    sq % ch->cfg.hold_slots != i) {
					p->hold_seq[i] = 0;
					continue;
				}
				if (sq > w->top)
					lost += make_room(ch, p, sq, now);
				win_set(w, sq);
			}
			if (w->cum < w->top)
				p->nack_now = true;
			p->pending = false;
		}
		drain(ch, p, now);
		count_lost(ch, p, lost, now);
		p->hello_at = now;
		p->hello_next = next;
		return;
	}
	if (next - 1 > w->top) {
		/* The sender sent DATA we never saw: ask for it. */
		lost = make_room(ch, p, next - 1, now);
		p->nack_now = true;
	}
	/* Holes below what the sender still holds will never be filled. */
	if (oldest > w->cum + 1)
		lost += pass_to(ch, p, oldest - 1, now);
	drain(ch, p, now);
	/*
	 * Holes still open the sender can fill: ask again. Our earlier NACK
	 * or its resend may have been lost too, and the sender's own resend
	 * timer backs off to seconds; the HELLO bounds recovery to its interval.
	 */
	if (w->cum < w->top)
		p->nack_now = true;
	count_lost(ch, p, lost, now);
	p->hello_at = now;
	p->hello_next = next;
}

/*
 * An authenticated envelope (header h, payload pl of n bytes), whoever
 * opened it: everything rd_sync_channel_input does after opening.
 */
static int input_authentic(struct rd_sync_channel *ch, const struct rd_sync_env_hdr *hp,
                           const uint8_t *pl, size_t n, rd_time_t now)
{
	const struct rd_sync_env_hdr h = *hp;
	struct peer *p;
	bool created = false;
	int bad;

	if (h.sender == ch->cfg.sender_id)
		return refuse(ch, RD_SYNC_STAT_SELF, RD_ERR_REPLAY);
	p = peer_find(ch, h.sender);
	if (p == NULL) {
		if (ch->npeers == ch->cfg.max_peers && peers_expire(ch, now) == 0)
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
		bad = input_data(ch, p, h.seq, pl, n, now);
		if (bad != 0)
			return bad;
	} else {
		/*
		 * The replay check comes first (a replayed envelope counts as
		 * such whatever it carries), but a refused payload must not move
		 * the window. rd_sync_ctl_decode checks the whole payload before
		 * calling take_record, so a refusal changes nothing else.
		 */
		struct ctl_window saved = p->ctl;
		struct ack_ctx ax = {ch, p, h.type == RD_SYNC_ENV_NACK, now};
		struct rd_sync_ctl c;
		bad = ctl_accept(&p->ctl, h.seq);
		if (bad != 0)
			return refuse(ch, bad, RD_ERR_REPLAY);
		if (rd_sync_ctl_decode(h.type, pl, n, &c, take_record, &ax) != 0) {
			p->ctl = saved;
			return refuse(ch, c.stat, RD_ERR_PROTO);
		}
		if (c.type == RD_SYNC_ENV_HELLO && c.first != 0 && c.first < p->first) {
			/* A late HELLO of an incarnation older than the one we follow. */
			p->ctl = saved;
			return refuse(ch, RD_SYNC_STAT_OLDINCARNATION, RD_ERR_REPLAY);
		}
		if (c.type == RD_SYNC_ENV_HELLO)
			input_hello(ch, p, &c, now);
		else
			release(ch, now);
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

int rd_sync_channel_input(struct rd_sync_channel *ch, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct rd_sync_env_hdr h;
	int reason, n;

	if (now > ch->last_now)
		ch->last_now = now;
	n = rdi_env_open(ch->kr.keys, ch->kr.gcm, ch->kr.nkeys, pkt, len, &h, ch->scratch,
	                 SCRATCH_LEN, &reason);
	if (n < 0)
		return refuse(ch, reason, n);
	return input_authentic(ch, &h, ch->scratch, (size_t)n, now);
}

/* ---- opening on another thread ---------------------------------------- */

struct rd_sync_opener {
	const struct rd_mem *mem;
	struct keyring kr;
};

int rd_sync_opener_new(const struct rd_sync_channel *ch, struct rd_sync_opener **out)
{
	struct rd_sync_opener *op;
	int rc;

	if (ch == NULL || out == NULL)
		return RD_ERR_INVAL;
	op = rd_calloc(ch->cfg.mem, 1, sizeof(*op));
	if (op == NULL)
		return RD_ERR_NOMEM;
	op->mem = ch->cfg.mem;
	/* A failing install is only a failing crypto library: the channel took these keys. */
	if ((rc = keyring_alloc(op->mem, &op->kr)) != 0 ||
	    (rc = keyring_install(&op->kr, ch->kr.keys, ch->kr.nkeys)) != 0) {
		rd_sync_opener_free(op);
		return rc;
	}
	*out = op;
	return 0;
}

void rd_sync_opener_free(struct rd_sync_opener *op)
{
	if (op == NULL)
		return;
	keyring_free(op->mem, &op->kr);
	rd_free(op->mem, op);
}

int rd_sync_opener_open(const struct rd_sync_opener *op, const uint8_t *pkt, size_t len,
                        uint8_t *out, size_t cap, struct rd_sync_opened *res)
{
	int n;

	if (op == NULL || res == NULL || (pkt == NULL && len > 0) || out == NULL)
		return RD_ERR_INVAL;
	if (cap < len)
		return RD_ERR_NOSPC;
	memset(res, 0, sizeof(*res));
	n = rdi_env_open(op->kr.keys, op->kr.gcm, op->kr.nkeys, pkt, len, &res->hdr, out, cap,
	                 &res->reason);
	if (n < 0) {
		res->rc = n;
		return 0;
	}
	res->data = out;
	res->len = (size_t)n;
	return 0;
}

int rd_sync_channel_input_opened(struct rd_sync_channel *ch, const struct rd_sync_opened *o,
                                 rd_time_t now)
{
	const struct rd_sync_key *k;

	if (o == NULL || o->rc > 0 || (o->rc == 0 && o->data == NULL && o->len > 0) ||
	    (o->rc < 0 && (o->reason <= RD_SYNC_STAT_OPENED || o->reason >= RD_SYNC_STAT_COUNT)))
		return RD_ERR_INVAL;
	if (now > ch->last_now)
		ch->last_now = now;
	if (o->rc != 0)
		return refuse(ch, o->reason, o->rc);
	/*
	 * Opened with a key this channel still holds, under the same AEAD: an
	 * opener made before rd_sync_channel_set_keys dropped a key cannot
	 * bring in what only that key opens.
	 */
	if ((k = keyring_find(&ch->kr, o->hdr.key_id)) == NULL)
		return refuse(ch, RD_SYNC_STAT_UNKNOWNKEY, RD_ERR_NOENT);
	if (rdi_env_version_aead(o->hdr.version) != k->aead)
		return refuse(ch, RD_SYNC_STAT_BADAEAD, RD_ERR_PROTO);
	return input_authentic(ch, &o->hdr, o->data, o->len, now);
}

static void send_hello(struct rd_sync_channel *ch, rd_time_t now)
{
	uint8_t pl[RD_SYNC_HELLO_LEN];

	rd_put64(pl, ch->next_seq);
	rd_put64(pl + 8, ch->count > 0 ? ring_at(ch, 0)->seq : ch->next_seq);
	rd_put64(pl + 16, ch->first);
	seal_and_send(ch, 0, RD_SYNC_ENV_HELLO, pl, sizeof(pl));
	ch->stats[RD_SYNC_STAT_HELLOS_SENT]++;
	ch->hello_sent = true;
	ch->hello_last = now;
	ch->hello_due = now + ch->cfg.hello_interval;
}

void rd_sync_channel_hello_soon(struct rd_sync_channel *ch, rd_time_t now)
{
	rd_time_t t = now;

	if (ch->hello_last != 0 && t < ch->hello_last + RD_SYNC_HELLO_SOON_GAP)
		t = ch->hello_last + RD_SYNC_HELLO_SOON_GAP;
	if (t < ch->hello_due)
		ch->hello_due = t;
}

/* Resends a timed-out slot to each live peer that lacks it, or gives up. */
static void resend_timed_out(struct rd_sync_channel *ch, struct slot *s, rd_time_t now)
{
	if (s->tries >= ch->cfg.max_tries) {
		drop_slot(ch, s, RD_SYNC_STAT_GAVEUP, now);
		return;
	}
	uint32_t lacking = 0;
	size_t n = 0;

	for (size_t i = 0; i < ch->npeers; i++) {
		struct peer *p = &ch->peers[i];
		if (alive(ch, p, now) && !acked_by(p, s->seq)) {
			lacking = p->id;
			n++;
		}
	}
	/*
	 * One peer lacks it: to that peer. Several: one copy to every peer
	 * (`to` 0), not one each: over multicast each copy reaches the whole
	 * group, and k copies of one envelope were k-1 duplicates for all.
	 */
	if (n > 0)
		resend(ch, s, n == 1 ? lacking : 0);
	s->sent = now;
	s->tries++;
}

void rd_sync_channel_handle_expiry(struct rd_sync_channel *ch, rd_time_t now)
{
	if (now > ch->last_now)
		ch->last_now = now;
	if (now >= ch->hello_due)
		send_hello(ch, now);
	rto_update(ch, now); /* a slow peer that fell silent no longer sets it */
	send_acks(ch, now, false);
	for (size_t i = 0; i < ch->count; i++) {
		struct slot *s = ring_at(ch, i);
		if (!fully_acked(ch, s, now) && resend_due(ch, s) <= now)
			resend_timed_out(ch, s, now);
	}
	release(ch, now);
}

rd_time_t rd_sync_channel_expiry(const struct rd_sync_channel *ch)
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

void rd_sync_channel_stats(const struct rd_sync_channel *ch, uint64_t out[RD_SYNC_STAT_COUNT])
{
	memcpy(out, ch->stats, sizeof(ch->stats));
}

size_t rd_sync_channel_room(const struct rd_sync_channel *ch)
{
	/* Unacknowledged DATA beyond a receiver's hold buffer would be given up. */
	size_t limit = RD_MIN(ch->cfg.resend_slots, ch->cfg.hold_slots);
	return ch->count >= limit ? 0 : limit - ch->count;
}

size_t rd_sync_channel_unacked(const struct rd_sync_channel *ch)
{
	return ch->count;
}

size_t rd_sync_channel_peers(const struct rd_sync_channel *ch, rd_time_t now, uint32_t *ids,
                             size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ch->npeers; i++) {
		const struct peer *p = &ch->peers[i];
		size_t j;
		if (!alive(ch, p, now) || p->hello_at == 0)
			continue;
		if (n == max)
			break;
		/* Insertion in id order: a handful of peers. */
		for (j = n; j > 0 && ids[j - 1] > p->id; j--)
			ids[j] = ids[j - 1];
		ids[j] = p->id;
		n++;
	}
	return n;
}

bool rd_sync_channel_caught_up(const struct rd_sync_channel *ch, rd_time_t since, rd_time_t now)
{
	return rd_sync_channel_caught_up_except(ch, since, now, 0);
}

bool rd_sync_channel_caught_up_except(const struct rd_sync_channel *ch, rd_time_t since,
                                      rd_time_t now, uint32_t except)
{
	for (size_t i = 0; i < ch->npeers; i++) {
		const struct peer *p = &ch->peers[i];
		if (!alive(ch, p, now) || (except != 0 && p->id == except))
			continue;
		if (p->hello_at == 0 || p->hello_at < since || p->pending || !p->rx.init ||
		    p->rx.cum + 1 < p->hello_next)
			return false;
	}
	return true;
}
