/*
 * The sync engine: OpenBSD pfsync's behaviour (if_pfsync.c 1.332) over
 * libredund's state table, without I/O. API and rules: redund/sync.h.
 */
#include <string.h>

#include "core/internal.h"
#include "core/siphash.h"
#include "redund/sync.h"
#include "redund/sync_engine.h"

#define NIL          UINT32_MAX
#define IPPROTO_TCP_ 6

_Static_assert((int)RD_PFSYNC_TCPS_TIME_WAIT == (int)RD_TCPS_TIME_WAIT,
               "TCP states share pf's numbers");
_Static_assert((int)RD_PFSYNC_TM_COUNT == (int)RD_STATE_TM_COUNT,
               "timeout classes share pf's numbers");

/* Outgoing queues, in OpenBSD's packet order (pfsync_qs[]). */
/* Q_DEAD is not sent: it lists tombstones (deleted states) by age. */
enum { Q_NONE = 0, Q_IACK, Q_UPD_C, Q_DEL_C, Q_INS, Q_UPD, Q_N, Q_DEAD = Q_N, Q_ALL };

static const uint8_t q_action[Q_ALL] = {
    [Q_IACK] = RD_PFSYNC_ACT_INS_ACK, [Q_UPD_C] = RD_PFSYNC_ACT_UPD_C,
    [Q_DEL_C] = RD_PFSYNC_ACT_DEL_C,  [Q_INS] = RD_PFSYNC_ACT_INS,
    [Q_UPD] = RD_PFSYNC_ACT_UPD,
};

/* Per-state bookkeeping: its queue and when a peer last touched it. */
struct ent {
	uint64_t id;
	uint32_t creatorid;
	uint32_t hnext; /* hash chain */
	uint32_t hash;  /* ent_hash of (id, creatorid): rehash and unlink without hashing */
	uint32_t qprev, qnext;
	rd_time_t touched; /* last applied from a peer (0: never); Q_DEAD: deletion */
	uint16_t updates;  /* TCP updates coalesced while queued */
	uint8_t q;
	uint8_t used;
};

struct deferral {
	uint64_t token;
	uint64_t id;
	uint32_t creatorid;
	rd_time_t deadline;
};

enum { BREQ_NONE = 0, BREQ_SENT, BREQ_BULK };

/*
 * Full states (INS, UPD) of a received packet are applied in batches: each
 * is converted and the index entries it will touch (the table's id and key
 * chunks, our entry bucket) are prefetched when it is queued, and the batch
 * is applied in order once full or before any other message. With a table
 * of a million states the cache misses of a batch overlap instead of
 * following one another (a bulk import runs about twice as fast).
 */
#define IN_BATCH 32
/*
 * A full copy up to this many seconds longer-lived than ours still counts
 * as nothing new. Each member that passes a state on rounds its time left
 * up to whole seconds, so a copy that went from bulk answer to bulk answer
 * (member to joiner to the next joiner) gains up to a second a hop: after
 * 19 restarts of a 4-member cluster, 300 copies of 10,000 were 3 s or more
 * ahead of the rest, and every member rewrote them. A refresh by traffic
 * comes as UPD_C, which always applies; a state whose time really grew
 * (a member that missed that UPD_C) gets it from the next bulk answer
 * that carries 10 s more.
 */
#define UNCHANGED_SLACK 10

struct in_item {
	struct rd_state_info info;
	uint32_t h;    /* ent_hash of (id, creatorid) */
	bool bad;      /* conversion refused (badval) */
	bool ins;      /* INS (else UPD) */
	bool want_ack; /* INS with PFSTATE_ACK: answer INS_ACK */
};

struct rd_sync_engine {
	struct rd_sync_engine_config cfg;
	struct rd_state_table *t;
	uint32_t creatorid;
	struct rd_sipkey hkey; /* ent_hash */

	struct ent *ents;
	uint32_t nents, cap, free_head, used;
	uint32_t *buckets;
	uint32_t nbuckets; /* power of two */
	uint32_t qhead[Q_ALL], qtail[Q_ALL];
	size_t qbytes; /* wire bytes of queued messages */
	rd_time_t flush_due;

	struct rd_pfsync_ref *reqs; /* UPD_REQs to send */
	size_t nreqs, reqcap;

	struct deferral *defers;
	size_t ndefers;

	/* Answering a peer's bulk request. */
	bool bulk_active, bulk_again, bulk_first, bulk_have_pending;
	bool bulk_waiting;        /* this answer waited for bulk_ready (counted once) */
	bool bulk_deferred;       /* a request came while ours ran: answer once ours ends */
	bool bulk_unsure;         /* answered while our own request ran: answer again after */
	rd_time_t bulk_defer_due; /* a deferred answer asks bulk_defer again then */
	rd_time_t bulk_since;     /* the latest request this answer serves arrived then */
	rd_time_t bulk_sched;     /* when this answer was scheduled (bulk_ready waits from it) */
	rd_time_t bulk_started;   /* when our last bulk answer's BUS START went (0: never) */
	struct rd_state_iter bulk_it;
	struct rd_pfsync_ref bulk_pending; /* fetched, did not fit */
	bool bulk_tombs;                   /* states sent: the tombstones now (trusted) */
	struct rd_pfsync_ref bulk_tomb;    /* the next tombstone to send (id 0: the oldest) */
	rd_time_t bulk_due;

	/* Our own bulk request. */
	int breq;
	unsigned breq_tries;
	unsigned breq_attempt; /* requests sent since creation (cb.bulk_target's attempt) */
	bool breq_all;         /* a repair outside a join: every member is asked */
	uint32_t breq_target;  /* who the last one named (0: every member) */
	rd_time_t breq_due;
	rd_time_t breq_bound; /* BUS START + bulk_timeout: progress pushes breq_due up to it */
	/*
	 * The running request includes a join (rd_sync_engine_bulk_request):
	 * its demotion is held until the request ends, whatever repairs
	 * restarted it meanwhile. A repair alone never sets it.
	 */
	bool demoted;
	/*
	 * Bulks being received (BUS START seen, END not yet). While one runs,
	 * states applied from peers carry RD_STATE_F_MARK instead of an entry
	 * (a million-state bulk makes no million entries): it is what
	 * reconcile keeps, and until active_window after the last bulk ended
	 * it counts as "touched by a peer" (bulk_end).
	 */
	struct {
		uint32_t creatorid;
		rd_time_t t0;
	} bulks[8];
	size_t nbulks;
	rd_time_t bulk_end;

	bool applying;        /* table events caused by our own imports are not ours */
	bool inputting;       /* inside rd_sync_engine_input (no nesting: see sync.h) */
	int sending;          /* inside cb.send: the packet buffer is in use */
	bool breq_later;      /* a bulk request asked for from inside cb.send */
	bool breq_later_join; /* ... and it (or one of them) was a join */
	bool urgent_in;       /* input produced answers to send */
	uint8_t *pkt;
	struct rd_pfsync_builder b;
	struct in_item *batch; /* IN_BATCH items */
	size_t nbatch;
	uint64_t stats[RD_SYNC_ENGINE_STAT_COUNT];
	struct rd_pfsync_stats pstats;
};

static const char *const eng_stat_names[RD_SYNC_ENGINE_STAT_COUNT] = {
    [RD_SYNC_ENGINE_STAT_PKTS_OUT] = "pkts_out",
    [RD_SYNC_ENGINE_STAT_PKTS_IN] = "pkts_in",
    [RD_SYNC_ENGINE_STAT_REFUSED] = "refused",
    [RD_SYNC_ENGINE_STAT_INSERTS] = "inserts",
    [RD_SYNC_ENGINE_STAT_UPDATES] = "updates",
    [RD_SYNC_ENGINE_STAT_DELETES] = "deletes",
    [RD_SYNC_ENGINE_STAT_STALE] = "stale",
    [RD_SYNC_ENGINE_STAT_BADSTATE] = "badstate",
    [RD_SYNC_ENGINE_STAT_BADVAL] = "badval",
    [RD_SYNC_ENGINE_STAT_REQS_SENT] = "reqs_sent",
    [RD_SYNC_ENGINE_STAT_BULK_SENT] = "bulk_sent",
    [RD_SYNC_ENGINE_STAT_BULK_OK] = "bulk_ok",
    [RD_SYNC_ENGINE_STAT_BULK_FAIL] = "bulk_fail",
    [RD_SYNC_ENGINE_STAT_DEFER_ACKED] = "defer_acked",
    [RD_SYNC_ENGINE_STAT_DEFER_TIMEOUT] = "defer_timeout",
    [RD_SYNC_ENGINE_STAT_TDB] = "tdb",
    [RD_SYNC_ENGINE_STAT_RECONCILED] = "reconciled",
    [RD_SYNC_ENGINE_STAT_UNCHANGED] = "unchanged",
    [RD_SYNC_ENGINE_STAT_CLR_OURS] = "clr_ours",
    [RD_SYNC_ENGINE_STAT_BULK_SPACED] = "bulk_spaced",
    [RD_SYNC_ENGINE_STAT_BULK_OTHERS] = "bulk_others",
    [RD_SYNC_ENGINE_STAT_BULK_WAITED] = "bulk_waited",
    [RD_SYNC_ENGINE_STAT_BULK_STALLED] = "bulk_stalled",
    [RD_SYNC_ENGINE_STAT_BULK_DEFERRED] = "bulk_deferred",
    [RD_SYNC_ENGINE_STAT_BULK_AGAIN] = "bulk_again",
    [RD_SYNC_ENGINE_STAT_BURIED] = "buried",
    [RD_SYNC_ENGINE_STAT_TOMBS_SENT] = "tombs_sent",
};

const char *rd_sync_engine_stat_name(int stat)
{
	if (stat < 0 || stat >= RD_SYNC_ENGINE_STAT_COUNT)
		return "unknown";
	return eng_stat_names[stat];
}

/* ---- conversions --------------------------------------------------- */

static int key_from_pfsync(const struct rd_pfsync_key *k, uint8_t proto, struct rd_state_key *out)
{
	memset(out, 0, sizeof(*out));
	if (k->af != RD_AF_INET && k->af != RD_AF_INET6)
		return RD_ERR_INVAL;
	for (int i = 0; i < 2; i++) {
		memcpy(out->addr[i], k->addr[i].u.v6, rd_af_len(k->af));
		out->port[i] = k->port[i];
	}
	out->rdomain = k->rdomain;
	out->af = k->af;
	out->proto = proto;
	return 0;
}

static int peer_from_pfsync(const struct rd_pfsync_peer *p, uint8_t proto, struct rd_state_peer *o)
{
	unsigned max = proto == IPPROTO_TCP_ ? RD_TCPS_TIME_WAIT : RD_UDPS_MULTIPLE;

	if (p->state > max)
		return RD_ERR_INVAL;
	o->seqlo = p->seqlo;
	o->seqhi = p->seqhi;
	o->max_win = p->max_win;
	o->state = p->state;
	o->wscale = p->wscale;
	return 0;
}

/*
 * pf_state_peer_ntoh on a new state: scrub memory exists when the message's
 * scrub_flag is set (pf_state_alloc_scrub_memory), and takes the values
 * only when it is VALID, flags masked to PFSS_TIMESTAMP.
 */
static void pfpeer_from_pfsync(const struct rd_pfsync_peer *p, struct rd_state_pf_peer *o)
{
	memset(o, 0, sizeof(*o));
	o->seqdiff = p->seqdiff;
	o->mss = p->mss;
	o->scrub = p->scrub.scrub_flag != 0;
	if (p->scrub.scrub_flag == RD_PFSYNC_SCRUB_FLAG_VALID) {
		o->scrub_flags = p->scrub.flags & RD_PFSYNC_PFSS_TIMESTAMP;
		o->ttl = p->scrub.ttl;
		o->ts_mod = p->scrub.ts_mod;
	}
}

/*
 * pf_state_peer_ntoh on a side of a state we hold (pfsync_in_updates),
 * from the message's side m as pfpeer_from_pfsync converted it: seqdiff
 * and mss follow; a message with scrub memory gives it to the side and
 * its values. (pf keeps the side's values for a scrub_flag that is set
 * but not VALID, which no pf sends; here they become 0.)
 */
static void pfpeer_update(struct rd_state_pf_peer *cur, const struct rd_state_pf_peer *m)
{
	cur->seqdiff = m->seqdiff;
	cur->mss = m->mss;
	if (m->scrub) {
		cur->scrub = 1;
		cur->scrub_flags = m->scrub_flags;
		cur->ttl = m->ttl;
		cur->ts_mod = m->ts_mod;
	}
}

int rd_sync_state_from_pfsync(const struct rd_pfsync_state *ps, struct rd_state_info *info)
{
	memset(info, 0, sizeof(*info));
	if (key_from_pfsync(&ps->key[0], ps->proto, &info->wire) != 0 ||
	    key_from_pfsync(&ps->key[1], ps->proto, &info->stack) != 0 ||
	    peer_from_pfsync(&ps->src, ps->proto, &info->src) != 0 ||
	    peer_from_pfsync(&ps->dst, ps->proto, &info->dst) != 0 ||
	    ps->timeout >= RD_STATE_TM_COUNT)
		return RD_ERR_INVAL;
	info->id = ps->id;
	info->creatorid = ps->creatorid;
	info->rule = RD_STATE_RULE_NONE;
	for (int i = 0; i < 2; i++) {
		info->packets[i] = ps->packets[i];
		info->bytes[i] = ps->bytes[i];
	}
	info->creation_age = ps->creation;
	info->expire_in = ps->expire;
	info->timeout = ps->timeout;
	info->flags = ps->direction == RD_PFSYNC_DIR_OUT ? RD_STATE_F_OUT : 0;
	if (ps->state_flags & RD_PFSYNC_STATE_SLOPPY)
		info->flags |= RD_STATE_F_SLOPPY;
	if (ps->state_flags & RD_PFSYNC_STATE_NOSYNC)
		info->flags |= RD_STATE_F_NOSYNC;
	/* pf_state_import: everything else the table never reads is carried. */
	struct rd_state_pf *x = &info->pf;
	pfpeer_from_pfsync(&ps->src, &x->src);
	pfpeer_from_pfsync(&ps->dst, &x->dst);
	memcpy(x->rt_addr, ps->rt_addr.u.v6, rd_af_len(ps->af));
	x->rtableid[0] = ps->rtableid[0];
	x->rtableid[1] = ps->rtableid[1];
	/* ACK asks for an INS_ACK; pfsync_init_state clears it from the state. */
	x->state_flags =
	    ps->state_flags &
	    (uint16_t) ~(RD_PFSYNC_STATE_SLOPPY | RD_PFSYNC_STATE_NOSYNC | RD_PFSYNC_STATE_ACK);
	x->max_mss = ps->max_mss;
	x->rt = ps->rt;
	x->log = ps->log;
	x->min_ttl = ps->min_ttl;
	x->set_tos = ps->set_tos;
	x->set_prio[0] = ps->set_prio[0];
	x->set_prio[1] = ps->set_prio[1];
	if (strcmp(ps->ifname, "all") != 0)
		memcpy(x->ifname, ps->ifname, sizeof(x->ifname) - 1);
	x->valid = 1;
	return 0;
}

static void key_to_pfsync(const struct rd_state_key *k, struct rd_pfsync_key *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < 2; i++) {
		o->addr[i].af = k->af;
		memcpy(o->addr[i].u.v6, k->addr[i], rd_af_len(k->af));
		o->port[i] = k->port[i];
	}
	o->rdomain = k->rdomain;
	o->af = k->af;
	o->proto = k->proto;
}

static void peer_to_pfsync(const struct rd_state_peer *p, struct rd_pfsync_peer *o)
{
	memset(o, 0, sizeof(*o));
	o->seqlo = p->seqlo;
	o->seqhi = p->seqhi;
	o->max_win = p->max_win;
	o->state = p->state;
	o->wscale = p->wscale;
}

static void pfpeer_to_pfsync(const struct rd_state_pf_peer *x, struct rd_pfsync_peer *o)
{
	o->seqdiff = x->seqdiff;
	o->mss = x->mss;
	if (x->scrub) {
		o->scrub.flags = x->scrub_flags & RD_PFSYNC_PFSS_TIMESTAMP;
		o->scrub.ttl = x->ttl;
		o->scrub.ts_mod = x->ts_mod;
		o->scrub.scrub_flag = RD_PFSYNC_SCRUB_FLAG_VALID;
	}
}

/*
 * pf_state_export. Of a state imported from a peer's pfsync_state and
 * exported again, every byte is the same except those pf itself rewrites
 * on export (pf.c pf_state_export / pf_state_import, if_pfsync.c 1.332):
 *  - creation (196) and expire (200): relative seconds, recomputed from
 *    now (an age and the time left);
 *  - rule (184) and anchor (188): -1, as pf_state_import attaches a
 *    pfsync state to the default rule (number -1) and no anchor; nat_rule
 *    (192) is always -1;
 *  - state_flags (260): PFSTATE_ACK only while we defer a packet for it
 *    (an imported ACK is an INS_ACK request, cleared by pfsync_init_state);
 *  - sync_flags (256): SRCNODE only with source nodes, which an imported
 *    state never has; updates (257): 0;
 *  - the scrub block: flags keep only PFSS_TIMESTAMP, and a peer whose
 *    scrub_flag is set but not VALID exports zeroed memory marked VALID;
 *  - an interface name: as the callbacks map it (cb.ifname), else kept;
 *  - counters and peers move on with the connection, of course.
 * A state with no pf data of its own (a local one) exports rtableid -1,
 * pf's "unset"; 0 would force routing table 0 on the peer.
 */
void rd_sync_state_to_pfsync(const struct rd_state_info *info, struct rd_pfsync_state *ps)
{
	struct rd_state_pf def;
	const struct rd_state_pf *x = &info->pf;

	if (!x->valid) {
		rd_state_pf_default(&def);
		x = &def;
	}
	memset(ps, 0, sizeof(*ps));
	ps->id = info->id;
	if (x->ifname[0] != '\0')
		memcpy(ps->ifname, x->ifname, sizeof(x->ifname) - 1);
	else
		strcpy(ps->ifname, "all");
	key_to_pfsync(&info->wire, &ps->key[0]);
	key_to_pfsync(&info->stack, &ps->key[1]);
	peer_to_pfsync(&info->src, &ps->src);
	peer_to_pfsync(&info->dst, &ps->dst);
	ps->rt_addr.af = info->wire.af;
	ps->rule = info->rule == RD_STATE_RULE_NONE ? -1 : (int32_t)info->rule;
	ps->anchor = -1;
	ps->nat_rule = -1;
	ps->creation = info->creation_age;
	ps->expire = info->expire_in;
	for (int i = 0; i < 2; i++) {
		ps->packets[i] = info->packets[i];
		ps->bytes[i] = info->bytes[i];
	}
	ps->creatorid = info->creatorid;
	ps->af = info->wire.af;
	ps->proto = info->wire.proto;
	ps->direction = info->flags & RD_STATE_F_OUT ? RD_PFSYNC_DIR_OUT : RD_PFSYNC_DIR_IN;
	ps->timeout = info->timeout;
	pfpeer_to_pfsync(&x->src, &ps->src);
	pfpeer_to_pfsync(&x->dst, &ps->dst);
	memcpy(ps->rt_addr.u.v6, x->rt_addr, rd_af_len(info->wire.af));
	ps->rtableid[0] = x->rtableid[0];
	ps->rtableid[1] = x->rtableid[1];
	ps->state_flags =
	    x->state_flags &
	    (uint16_t) ~(RD_PFSYNC_STATE_SLOPPY | RD_PFSYNC_STATE_NOSYNC | RD_PFSYNC_STATE_ACK);
	if (info->flags & RD_STATE_F_SLOPPY)
		ps->state_flags |= RD_PFSYNC_STATE_SLOPPY;
	if (info->flags & RD_STATE_F_NOSYNC)
		ps->state_flags |= RD_PFSYNC_STATE_NOSYNC;
	ps->max_mss = x->max_mss;
	ps->rt = x->rt;
	ps->log = x->log;
	ps->min_ttl = x->min_ttl;
	ps->set_tos = x->set_tos;
	ps->set_prio[0] = x->set_prio[0];
	ps->set_prio[1] = x->set_prio[1];
}

/* ---- per-state entries -------------------------------------------- */

/*
 * Keyed (peers choose ids): SipHash-1-3 as in the state table (core/siphash.h
 * says why it suffices for an index whose hashes nobody sees), 32 bits,
 * masked per table size.
 */
static uint32_t ent_hash(const struct rd_sync_engine *e, uint64_t id, uint32_t cid)
{
	return (uint32_t)rd_siphash13_w32(&e->hkey, id, cid);
}

static uint32_t ent_find_h(const struct rd_sync_engine *e, uint64_t id, uint32_t cid, uint32_t h)
{
	for (uint32_t i = e->buckets[h & (e->nbuckets - 1)]; i != NIL; i = e->ents[i].hnext)
		if (e->ents[i].hash == h && e->ents[i].id == id && e->ents[i].creatorid == cid)
			return i;
	return NIL;
}

static uint32_t ent_find(const struct rd_sync_engine *e, uint64_t id, uint32_t cid)
{
	return ent_find_h(e, id, cid, ent_hash(e, id, cid));
}

static int rehash(struct rd_sync_engine *e, uint32_t nb)
{
	uint32_t *b = rd_malloc(e->cfg.mem, nb * sizeof(*b));

	if (b == NULL)
		return RD_ERR_NOMEM;
	rd_free(e->cfg.mem, e->buckets);
	e->buckets = b;
	e->nbuckets = nb;
	for (uint32_t i = 0; i < nb; i++)
		b[i] = NIL;
	for (uint32_t i = 0; i < e->nents; i++) {
		struct ent *x = &e->ents[i];
		if (!x->used)
			continue;
		uint32_t h = x->hash & (nb - 1);
		x->hnext = b[h];
		b[h] = i;
	}
	return 0;
}

/* A new entry for (id, cid), known absent, of hash h; NIL when out of memory. */
static uint32_t ent_add_h(struct rd_sync_engine *e, uint64_t id, uint32_t cid, uint32_t h)
{
	uint32_t i;

	if (e->used >= e->nbuckets && rehash(e, e->nbuckets * 2) != 0)
		return NIL;
	if (e->free_head != NIL) {
		i = e->free_head;
		e->free_head = e->ents[i].hnext;
	} else {
		if (e->nents == e->cap) {
			uint32_t ncap = e->cap * 2;
			struct ent *n = rd_realloc(e->cfg.mem, e->ents, ncap * sizeof(*n));
			if (n == NULL)
				return NIL;
			e->ents = n;
			e->cap = ncap;
		}
		i = e->nents++;
	}
	memset(&e->ents[i], 0, sizeof(e->ents[i]));
	e->ents[i].id = id;
	e->ents[i].creatorid = cid;
	e->ents[i].qprev = e->ents[i].qnext = NIL;
	e->ents[i].used = 1;
	e->ents[i].hash = h;
	h &= e->nbuckets - 1;
	e->ents[i].hnext = e->buckets[h];
	e->buckets[h] = i;
	e->used++;
	return i;
}

/* The entry for (id, cid), created if needed; NIL when out of memory. */
static uint32_t ent_get(struct rd_sync_engine *e, uint64_t id, uint32_t cid)
{
	uint32_t h = ent_hash(e, id, cid), i = ent_find_h(e, id, cid, h);

	return i != NIL ? i : ent_add_h(e, id, cid, h);
}

static void q_remove(struct rd_sync_engine *e, uint32_t i)
{
	struct ent *x = &e->ents[i];

	if (x->q == Q_NONE)
		return;
	if (x->qprev != NIL)
		e->ents[x->qprev].qnext = x->qnext;
	else
		e->qhead[x->q] = x->qnext;
	if (x->qnext != NIL)
		e->ents[x->qnext].qprev = x->qprev;
	else
		e->qtail[x->q] = x->qprev;
	e->qbytes -= rd_pfsync_msg_len(q_action[x->q]);
	x->q = Q_NONE;
	x->qprev = x->qnext = NIL;
}

static void ent_free(struct rd_sync_engine *e, uint32_t i)
{
	struct ent *x = &e->ents[i];
	uint32_t *pp = &e->buckets[x->hash & (e->nbuckets - 1)];

	q_remove(e, i);
	while (*pp != i)
		pp = &e->ents[*pp].hnext;
	*pp = x->hnext;
	x->used = 0;
	x->hnext = e->free_head;
	e->free_head = i;
	e->used--;
}

/* Frees an entry that holds nothing worth keeping. */
static void ent_tidy(struct rd_sync_engine *e, uint32_t i, rd_time_t now)
{
	struct ent *x = &e->ents[i];

	if (x->q == Q_NONE && (x->touched == 0 || x->touched + e->cfg.active_window <= now))
		ent_free(e, i);
}

static void schedule(struct rd_sync_engine *e, rd_time_t now, bool urgent)
{
	/* A packet's worth queued goes at once, as OpenBSD does at the MTU. */
	if (urgent || RD_PFSYNC_HDR_LEN + Q_N * RD_PFSYNC_SUBHDR_LEN + e->qbytes >= e->cfg.mtu)
		e->flush_due = now;
	else if (e->flush_due == RD_TIME_NEVER)
		e->flush_due = now + e->cfg.flush_delay;
}

static void q_set(struct rd_sync_engine *e, uint32_t i, int q)
{
	struct ent *x = &e->ents[i];

	if (x->q == q)
		return;
	q_remove(e, i);
	x->q = (uint8_t)q;
	x->qnext = NIL;
	x->qprev = e->qtail[q];
	if (e->qtail[q] != NIL)
		e->ents[e->qtail[q]].qnext = i;
	else
		e->qhead[q] = i;
	e->qtail[q] = i;
	e->qbytes += rd_pfsync_msg_len(q_action[q]);
}

/* Entry i (or NIL) is deleted, or about to be announced deleted (DEL_C queued). */
static bool buried_at(const struct rd_sync_engine *e, uint32_t i)
{
	return i != NIL && (e->ents[i].q == Q_DEAD || e->ents[i].q == Q_DEL_C);
}

/*
 * Remembers a deleted state for `tombstone`: a peer's late copy (a bulk
 * or update that crossed the delete) must not bring it back.
 */
static bool bury(struct rd_sync_engine *e, uint32_t i, rd_time_t now)
{
	/*
	 * Buried already: refreshing `touched` in place would break the age
	 * order of Q_DEAD (tombstones_expire and bulk_tombs_packet rely on
	 * it), and our own DEL_C still queued must go. Returns whether kept.
	 */
	if (buried_at(e, i))
		return false;
	q_set(e, i, Q_DEAD);
	e->ents[i].touched = now;
	e->ents[i].updates = 0;
	return true;
}

static bool buried(const struct rd_sync_engine *e, uint64_t id, uint32_t cid)
{
	return buried_at(e, ent_find(e, id, cid));
}

static void tombstones_expire(struct rd_sync_engine *e, rd_time_t now)
{
	while (e->qhead[Q_DEAD] != NIL &&
	       e->ents[e->qhead[Q_DEAD]].touched + e->cfg.tombstone <= now)
		ent_free(e, e->qhead[Q_DEAD]);
}

/* ---- output -------------------------------------------------------- */

static void emit(struct rd_sync_engine *e, rd_time_t now)
{
	size_t len;

	if (rd_pfsync_builder_count(&e->b) == 0)
		return;
	len = rd_pfsync_builder_finish(&e->b);
	e->stats[RD_SYNC_ENGINE_STAT_PKTS_OUT]++;
	e->sending++;
	e->cfg.cb.send(e->cfg.cb.user, e->pkt, len, now);
	e->sending--;
	rd_pfsync_builder_init(&e->b, e->pkt, e->cfg.mtu);
}

static void add(struct rd_sync_engine *e, const struct rd_pfsync_msg *m, rd_time_t now)
{
	if (rd_pfsync_builder_add(&e->b, m) == RD_ERR_NOSPC) {
		emit(e, now);
		rd_pfsync_builder_add(&e->b, m);
	}
}

static const struct deferral *defer_find(const struct rd_sync_engine *e, uint64_t id, uint32_t cid)
{
	for (size_t i = 0; i < e->ndefers; i++)
		if (e->defers[i].id == id && e->defers[i].creatorid == cid)
			return &e->defers[i];
	return NULL;
}

static void state_msg(struct rd_sync_engine *e, const struct rd_state *st, uint8_t action,
                      rd_time_t now, struct rd_pfsync_msg *m)
{
	struct rd_state_info info;

	rd_state_export(e->t, st, now, &info);
	memset(m, 0, sizeof(*m));
	m->action = action;
	if (action == RD_PFSYNC_ACT_UPD_C) {
		m->u.upd_c.id = info.id;
		m->u.upd_c.creatorid = info.creatorid;
		peer_to_pfsync(&info.src, &m->u.upd_c.src);
		peer_to_pfsync(&info.dst, &m->u.upd_c.dst);
		pfpeer_to_pfsync(&info.pf.src, &m->u.upd_c.src);
		pfpeer_to_pfsync(&info.pf.dst, &m->u.upd_c.dst);
		m->u.upd_c.timeout = info.timeout;
		return;
	}
	rd_sync_state_to_pfsync(&info, &m->u.state);
	if (st->ifindex != 0 && e->cfg.cb.ifname != NULL) {
		e->cfg.cb.ifname(e->cfg.cb.user, st->ifindex, m->u.state.ifname);
		m->u.state.ifname[RD_PFSYNC_IFNAMSIZ] = '\0';
	}
	if (action == RD_PFSYNC_ACT_INS && defer_find(e, info.id, info.creatorid) != NULL)
		m->u.state.state_flags |= RD_PFSYNC_STATE_ACK;
}

void rd_sync_engine_flush(struct rd_sync_engine *e, rd_time_t now)
{
	struct rd_pfsync_msg m;

	if (e->sending)
		return; /* re-entered from cb.send: the packet is being sent */
	for (size_t i = 0; i < e->nreqs; i++) {
		memset(&m, 0, sizeof(m));
		m.action = RD_PFSYNC_ACT_UPD_REQ;
		m.u.ref = e->reqs[i];
		add(e, &m, now);
	}
	e->nreqs = 0;
	for (int q = Q_IACK; q < Q_N; q++) {
		while (e->qhead[q] != NIL) {
			uint32_t i = e->qhead[q];
			uint64_t id = e->ents[i].id;
			uint32_t cid = e->ents[i].creatorid;

			/*
			 * Off the queue before sending: cb.send may lead to
			 * table events that queue (and move) entries again.
			 */
			q_remove(e, i);
			e->ents[i].updates = 0;
			memset(&m, 0, sizeof(m));
			if (q == Q_IACK || q == Q_DEL_C) {
				m.action = q_action[q];
				m.u.ref.id = id;
				m.u.ref.creatorid = cid;
				add(e, &m, now);
			} else {
				struct rd_state *st = rd_state_find_id(e->t, id, cid, now);
				if (st != NULL) {
					state_msg(e, st, q_action[q], now, &m);
					add(e, &m, now);
				}
			}
			if (q == Q_DEL_C && e->ents[i].q == Q_NONE)
				bury(e, i, now);
			else
				ent_tidy(e, i, now);
		}
	}
	emit(e, now);
	/* A bulk request asked from inside that send is made at the next tick. */
	e->flush_due = e->breq_later ? now : RD_TIME_NEVER;
}

/* ---- deferrals ----------------------------------------------------- */

static void defer_drop(struct rd_sync_engine *e, size_t idx, bool acked, rd_time_t now)
{
	uint64_t token = e->defers[idx].token;

	memmove(&e->defers[idx], &e->defers[idx + 1],
	        (e->ndefers - idx - 1) * sizeof(e->defers[0]));
	e->ndefers--;
	e->stats[acked ? RD_SYNC_ENGINE_STAT_DEFER_ACKED : RD_SYNC_ENGINE_STAT_DEFER_TIMEOUT]++;
	e->cfg.cb.release(e->cfg.cb.user, token, acked, now);
}

static void defer_release(struct rd_sync_engine *e, uint64_t id, uint32_t cid, bool acked,
                          rd_time_t now)
{
	for (size_t i = 0; i < e->ndefers; i++) {
		if (e->defers[i].id == id && e->defers[i].creatorid == cid) {
			defer_drop(e, i, acked, now);
			return;
		}
	}
}

int rd_sync_engine_defer(struct rd_sync_engine *e, struct rd_state *st, uint64_t token,
                         rd_time_t now)
{
	uint32_t i;

	if (e->cfg.cb.release == NULL || (st->flags & RD_STATE_F_NOSYNC) ||
	    st->key.proto == RD_PFSYNC_IPPROTO)
		return RD_ERR_INVAL;
	i = ent_get(e, st->id, st->creatorid);
	if (i == NIL)
		return RD_ERR_NOMEM;
	if (e->ndefers == e->cfg.defer_limit)
		defer_drop(e, 0, false, now);
	e->defers[e->ndefers++] =
	    (struct deferral){token, st->id, st->creatorid, now + e->cfg.defer_timeout};
	q_set(e, i, Q_INS);
	rd_sync_engine_flush(e, now);
	return 0;
}

/* Applied from a peer (touch) within the active window: tell it changes at once. */
static bool touched_lately(const struct rd_sync_engine *e, const struct rd_state *st,
                           const struct ent *x, rd_time_t now)
{
	if (x != NULL && x->touched != 0 && now < x->touched + e->cfg.active_window)
		return true;
	return (st->flags & RD_STATE_F_MARK) &&
	       (e->nbulks > 0 || now < e->bulk_end + e->cfg.active_window);
}

/* ---- table events -------------------------------------------------- */

void rd_sync_engine_state_event(struct rd_sync_engine *e, struct rd_state *st, int ev, int why,
                                rd_time_t now)
{
	uint32_t i;

	if (e->applying)
		return;
	if ((st->flags & RD_STATE_F_NOSYNC) || st->key.proto == RD_PFSYNC_IPPROTO) {
		if (ev == RD_STATE_EV_REMOVE && (i = ent_find(e, st->id, st->creatorid)) != NIL)
			ent_free(e, i);
		return;
	}
	if (ev == RD_STATE_EV_REMOVE) {
		defer_release(e, st->id, st->creatorid, false, now);
		i = ent_find(e, st->id, st->creatorid);
		if (why == RD_STATE_RM_FLUSH) {
			if (i != NIL)
				ent_free(e, i);
			return;
		}
		if (i != NIL && e->ents[i].q == Q_INS) {
			/* Never sent: pretend it never happened. */
			ent_free(e, i);
			return;
		}
		if (i == NIL && (i = ent_get(e, st->id, st->creatorid)) == NIL)
			return;
		q_set(e, i, Q_DEL_C);
		schedule(e, now, false);
		return;
	}
	i = ent_get(e, st->id, st->creatorid);
	if (i == NIL)
		return;
	struct ent *x = &e->ents[i];
	bool urgent = false;
	if (ev == RD_STATE_EV_INSERT) {
		q_set(e, i, Q_INS);
	} else if (x->q == Q_INS || x->q == Q_UPD || x->q == Q_UPD_C) {
		if (st->key.proto == IPPROTO_TCP_ && ++x->updates >= e->cfg.maxupd)
			urgent = true;
	} else {
		q_set(e, i, Q_UPD_C);
		x->updates = 0;
	}
	/* Active-active: a peer handles this flow too, tell it at once. */
	if (touched_lately(e, st, x, now))
		urgent = true;
	schedule(e, now, urgent);
}

/* ---- input --------------------------------------------------------- */

#define SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)

/*
 * Which sides of our state are newer than the message's (OpenBSD's
 * pfsync_upd_tcp and its non-TCP rule). Bit 0: src stale, bit 1: dst.
 */
static unsigned stale_sides(const struct rd_state *st, const struct rd_state_peer *src,
                            const struct rd_state_peer *dst)
{
	unsigned s = 0;

	if (st->key.proto == IPPROTO_TCP_) {
		if (st->src.state > src->state ||
		    (st->src.state == src->state && SEQ_GT(st->src.seqlo, src->seqlo)))
			s |= 1;
		if (st->dst.state > dst->state ||
		    (st->dst.state == dst->state && SEQ_GT(st->dst.seqlo, dst->seqlo)))
			s |= 2;
	} else {
		if (st->src.state > src->state)
			s |= 1;
		if (st->dst.state > dst->state)
			s |= 2;
	}
	return s;
}

/*
 * A peer applied st: marked while a bulk runs (see bulks[]), else its
 * entry's time. i: st's entry if the caller looked it up (h its hash), or
 * NIL with h 0 to look it up here.
 */
static void touch_h(struct rd_sync_engine *e, struct rd_state *st, uint32_t i, uint32_t h,
                    rd_time_t now)
{
	if (e->nbulks > 0) {
		st->flags |= RD_STATE_F_MARK;
		return;
	}
	if (i == NIL) {
		if (h == 0)
			h = ent_hash(e, st->id, st->creatorid);
		if ((i = ent_find_h(e, st->id, st->creatorid, h)) == NIL)
			i = ent_add_h(e, st->id, st->creatorid, h);
	}
	if (i != NIL)
		e->ents[i].touched = now;
}

static void touch(struct rd_sync_engine *e, struct rd_state *st, rd_time_t now)
{
	touch_h(e, st, NIL, 0, now);
}

/* An update (UPD, UPD_C, or INS of a known state) of our state st. */
static bool peer_eq(const struct rd_state_peer *a, const struct rd_state_peer *b)
{
	return a->seqlo == b->seqlo && a->seqhi == b->seqhi && a->max_win == b->max_win &&
	       a->state == b->state && a->wscale == b->wscale;
}

/*
 * An update of state st from a peer: peers, timeout class and, for a full
 * state (UPD, a bulk's), `expire` (seconds left at the sender;
 * NO_EXPIRE for UPD_C, which refreshes).
 */
#define NO_EXPIRE UINT32_MAX
static void update_known(struct rd_sync_engine *e, struct rd_state *st,
                         const struct rd_state_peer *src, const struct rd_state_peer *dst,
                         const struct rd_state_pf_peer *xsrc, const struct rd_state_pf_peer *xdst,
                         uint8_t timeout, uint32_t expire, rd_time_t now)
{
	struct rd_state_info cur;
	struct rd_state_pf_peer nsrc, ndst;
	unsigned stale;

	defer_release(e, st->id, st->creatorid, true, now);
	stale = stale_sides(st, src, dst);
	if (stale == 0 && expire != NO_EXPIRE) {
		/*
		 * A full copy with nothing new (another peer's bulk answer to a
		 * joining member, a resend): same peers and class, and no more
		 * time left than ours. Applying it would only rewrite the same
		 * state (an external table's write on every member a bulk).
		 */
		rd_state_export(e->t, st, now, &cur);
		nsrc = cur.pf.src;
		ndst = cur.pf.dst;
		pfpeer_update(&nsrc, xsrc);
		pfpeer_update(&ndst, xdst);
		if (peer_eq(&cur.src, src) && peer_eq(&cur.dst, dst) && cur.timeout == timeout &&
		    memcmp(&nsrc, &cur.pf.src, sizeof(nsrc)) == 0 &&
		    memcmp(&ndst, &cur.pf.dst, sizeof(ndst)) == 0 &&
		    (uint64_t)cur.expire_in + UNCHANGED_SLACK >= expire) {
			touch(e, st, now);
			e->stats[RD_SYNC_ENGINE_STAT_UNCHANGED]++;
			return;
		}
	}
	if (stale != 3) {
		rd_state_export(e->t, st, now, &cur);
		if (!(stale & 1)) {
			cur.src = *src;
			pfpeer_update(&cur.pf.src, xsrc);
		}
		if (!(stale & 2)) {
			cur.dst = *dst;
			pfpeer_update(&cur.pf.dst, xdst);
		}
		/*
		 * The timeout class is the message's. Time left: a compressed
		 * update (UPD_C: no time in it) or a full state with 0 (pf's
		 * import reads 0 as "no time given") refreshes, as in pf. A
		 * full state carries the sender's time left, and the longer of
		 * its and ours is kept (ours means nothing under another class).
		 * pf refreshes here too, but with an external table behind each
		 * member a fresh expiry spread: a member that applied one held
		 * more time than the others, so its next bulk answer was applied
		 * (and written into the kernel) on every member, which gave them
		 * fresh expiries in turn.
		 */
		if (expire == NO_EXPIRE || expire == 0)
			cur.expire_in = 0;
		else if (cur.timeout != timeout)
			cur.expire_in = expire;
		else if (expire > cur.expire_in)
			cur.expire_in = expire;
		cur.timeout = timeout;
		e->applying = true;
		rd_state_import(e->t, &cur, now, NULL);
		e->applying = false;
	}
	touch(e, st, now);
	if (stale != 0) {
		/* Ours is newer: send it back at once. */
		uint32_t i = ent_get(e, st->id, st->creatorid);
		e->stats[RD_SYNC_ENGINE_STAT_STALE]++;
		if (i != NIL && e->ents[i].q == Q_NONE)
			q_set(e, i, Q_UPD_C);
		e->urgent_in = true;
	} else {
		e->stats[RD_SYNC_ENGINE_STAT_UPDATES]++;
	}
}

/*
 * A peer speaks of a state we created and deleted (we hold its tombstone):
 * the peer missed, or crossed, our DEL_C. We are the state's only
 * authority: do not import it back, tell the peer again. Without a
 * tombstone (e.g. we restarted with a fixed creatorid) the copy is
 * imported, as OpenBSD does.
 */
static bool ours_and_gone(struct rd_sync_engine *e, uint64_t id, uint32_t cid)
{
	uint32_t i;

	if (cid != e->creatorid || !buried(e, id, cid))
		return false;
	i = ent_find(e, id, cid);
	e->stats[RD_SYNC_ENGINE_STAT_BADSTATE]++;
	q_set(e, i, Q_DEL_C);
	e->urgent_in = true;
	return true;
}

/* Queues a received full state: converted, its index entries prefetched. */
static void in_state_queue(struct rd_sync_engine *e, const struct rd_pfsync_state *ps, bool ins)
{
	struct in_item *it = &e->batch[e->nbatch++];

	it->h = 0;
	it->ins = ins;
	it->want_ack = ins && (ps->state_flags & RD_PFSYNC_STATE_ACK);
	it->bad = rd_sync_state_from_pfsync(ps, &it->info) != 0;
	if (it->bad)
		return;
	if (e->cfg.cb.ifindex != NULL && strcmp(ps->ifname, "all") != 0)
		it->info.ifindex = e->cfg.cb.ifindex(e->cfg.cb.user, ps->ifname);
	/* A name the callbacks map comes back from cb.ifname; keep the others. */
	if (it->info.ifindex != 0)
		memset(it->info.pf.ifname, 0, sizeof(it->info.pf.ifname));
	it->h = ent_hash(e, it->info.id, it->info.creatorid);
	__builtin_prefetch(&e->buckets[it->h & (e->nbuckets - 1)]);
	rd_state_prefetch_info(e->t, &it->info);
}

static void in_state(struct rd_sync_engine *e, const struct in_item *it, rd_time_t now)
{
	const struct rd_state_info *info = &it->info;
	struct rd_state *st;

	if (it->bad) {
		e->stats[RD_SYNC_ENGINE_STAT_BADVAL]++;
		return;
	}
	st = rd_state_find_id(e->t, info->id, info->creatorid, now);
	if (st != NULL && it->ins && memcmp(&st->key, &info->wire, sizeof(st->key)) != 0) {
		/*
		 * An INS for an (id, creatorid) we hold with another connection:
		 * OpenBSD's pf_state_insert refuses the id collision and keeps
		 * ours; so do we, and count it.
		 */
		e->stats[RD_SYNC_ENGINE_STAT_BADSTATE]++;
		return;
	}
	if (st != NULL) {
		/*
		 * An INS of a state we hold (a resent or duplicated INS): OpenBSD
		 * drops it silently, without the INS_ACK its sender waits for.
		 * We apply it as an update (newer sides win) and acknowledge it,
		 * so a deferring sender releases its packet at once.
		 */
		update_known(e, st, &info->src, &info->dst, &info->pf.src, &info->pf.dst,
		             info->timeout, info->expire_in, now);
	} else if (ours_and_gone(e, info->id, info->creatorid)) {
		return;
	} else {
		/*
		 * One hash and one lookup serve the tombstone test and touch;
		 * during a bulk with nothing buried, neither is needed.
		 */
		bool quick = e->nbulks > 0 && e->qhead[Q_DEAD] == NIL && e->qhead[Q_DEL_C] == NIL;
		uint32_t i = quick ? NIL : ent_find_h(e, info->id, info->creatorid, it->h);
		if (buried_at(e, i)) {
			e->stats[RD_SYNC_ENGINE_STAT_STALE]++; /* a copy older than its delete */
			return;
		}
		e->applying = true; /* table events change no entry meanwhile */
		int rc = rd_state_import(e->t, info, now, &st);
		e->applying = false;
		if (rc != 0) {
			e->stats[RD_SYNC_ENGINE_STAT_BADSTATE]++;
			return;
		}
		e->stats[RD_SYNC_ENGINE_STAT_INSERTS]++;
		touch_h(e, st, i, it->h, now);
	}
	if (it->want_ack) {
		uint32_t i = ent_get(e, info->id, info->creatorid);
		if (i != NIL && e->ents[i].q == Q_NONE)
			q_set(e, i, Q_IACK);
		e->urgent_in = true;
	}
}

/* Applies the queued full states, in the order they came. */
static void in_state_flush(struct rd_sync_engine *e, rd_time_t now)
{
	/* The buckets were prefetched when queued: now the chains' heads. */
	for (size_t i = 0; i < e->nbatch && e->nbulks == 0; i++) {
		uint32_t head = e->buckets[e->batch[i].h & (e->nbuckets - 1)];
		if (head != NIL)
			__builtin_prefetch(&e->ents[head]);
	}
	for (size_t i = 0; i < e->nbatch; i++)
		in_state(e, &e->batch[i], now);
	e->nbatch = 0;
}

static void in_upd_c(struct rd_sync_engine *e, const struct rd_pfsync_upd_c *u, rd_time_t now)
{
	struct rd_state_peer src, dst;
	struct rd_state_pf_peer xsrc, xdst;
	struct rd_state *st = rd_state_find_id(e->t, u->id, u->creatorid, now);

	if (st == NULL && ours_and_gone(e, u->id, u->creatorid))
		return;
	if (st == NULL && buried(e, u->id, u->creatorid)) {
		e->stats[RD_SYNC_ENGINE_STAT_STALE]++;
		return;
	}
	if (st == NULL) {
		/* We don't have it: ask for it. */
		if (e->nreqs == e->reqcap) {
			size_t ncap = e->reqcap ? e->reqcap * 2 : 16;
			struct rd_pfsync_ref *n =
			    rd_realloc(e->cfg.mem, e->reqs, ncap * sizeof(*n));
			if (n == NULL)
				return;
			e->reqs = n;
			e->reqcap = ncap;
		}
		e->reqs[e->nreqs].id = u->id;
		e->reqs[e->nreqs++].creatorid = u->creatorid;
		e->stats[RD_SYNC_ENGINE_STAT_REQS_SENT]++;
		e->urgent_in = true;
		return;
	}
	if (peer_from_pfsync(&u->src, st->key.proto, &src) != 0 ||
	    peer_from_pfsync(&u->dst, st->key.proto, &dst) != 0) {
		e->stats[RD_SYNC_ENGINE_STAT_BADVAL]++;
		return;
	}
	pfpeer_from_pfsync(&u->src, &xsrc);
	pfpeer_from_pfsync(&u->dst, &xdst);
	update_known(e, st, &src, &dst, &xsrc, &xdst, u->timeout, NO_EXPIRE, now);
}

/*
 * Removes a state on a peer's word. `tomb`: the creator deleted it (DEL,
 * DEL_C, CLR), so remember it; a state removed by reconciliation is only
 * inferred gone and may come back with the creator's next message.
 */
static void del_state(struct rd_sync_engine *e, uint64_t id, uint32_t cid, bool tomb, rd_time_t now)
{
	struct rd_state *st = rd_state_find_id(e->t, id, cid, now);
	uint32_t i;

	if (st == NULL) {
		/*
		 * While a bulk comes in, its copy of this state may still be on
		 * its way (the sender read its table before the delete); and
		 * messages of different senders are not ordered: another
		 * member's update sent before the delete may come after it. A
		 * tombstone keeps that copy from bringing the state back. Always
		 * with trusted peers (the carry), where a bulk answer's
		 * tombstones come this way too; with raw pfsync only while a bulk
		 * runs, so that forged deletes of random states cannot fill memory.
		 */
		if (!(e->cfg.trusted && tomb))
			e->stats[RD_SYNC_ENGINE_STAT_BADSTATE]++;
		if (tomb && (e->nbulks > 0 || e->breq != BREQ_NONE || e->cfg.trusted) &&
		    (i = ent_get(e, id, cid)) != NIL && bury(e, i, now) && e->cfg.trusted)
			e->stats[RD_SYNC_ENGINE_STAT_BURIED]++;
		return;
	}
	defer_release(e, id, cid, false, now);
	e->applying = true;
	rd_state_remove(e->t, st, now);
	e->applying = false;
	if (tomb && (i = ent_get(e, id, cid)) != NIL)
		bury(e, i, now);
	else if (!tomb && (i = ent_find(e, id, cid)) != NIL)
		ent_free(e, i);
	e->stats[RD_SYNC_ENGINE_STAT_DELETES]++;
}

static void in_del(struct rd_sync_engine *e, uint64_t id, uint32_t cid, rd_time_t now)
{
	del_state(e, id, cid, true, now);
}

/*
 * Is st bound to the interface `name` of a CLR (idx: the name's index from
 * cb.ifindex, 0 if none)? A state the callbacks bound is known by its
 * index; another by the name it came with, or "all" when floating.
 */
static bool clr_binds(struct rd_sync_engine *e, struct rd_state *st, const char *name, uint16_t idx,
                      rd_time_t now)
{
	struct rd_state_info info;

	if (st->ifindex != 0)
		return st->ifindex == idx;
	rd_state_export(e->t, st, now, &info);
	if (info.pf.ifname[0] != '\0')
		return strcmp(info.pf.ifname, name) == 0;
	return strcmp(name, "all") == 0;
}

/*
 * CLR (pfsync_in_clr): the states of creator cid; with an interface name,
 * only those bound to it ("all": the floating ones). A name no state is
 * bound to clears nothing (OpenBSD: no such kif, the CLR is skipped).
 */
static void in_clr(struct rd_sync_engine *e, const struct rd_pfsync_clr *c, rd_time_t now)
{
	struct rd_state_iter it;
	struct rd_state *st;
	uint32_t cid = c->creatorid;
	uint16_t idx = 0;

	if (cid == rd_state_creatorid(e->t)) {
		/*
		 * A CLR names the sender's own states. Ours named by someone
		 * else is forged (or a misconfigured twin): it would wipe every
		 * connection we serve.
		 */
		e->stats[RD_SYNC_ENGINE_STAT_CLR_OURS]++;
		return;
	}
	if (c->ifname[0] != '\0' && e->cfg.cb.ifindex != NULL && strcmp(c->ifname, "all") != 0)
		idx = e->cfg.cb.ifindex(e->cfg.cb.user, c->ifname);
	rd_state_iter_init(&it);
	while ((st = rd_state_iter_next(e->t, &it)) != NULL)
		if (st->creatorid == cid &&
		    (c->ifname[0] == '\0' || clr_binds(e, st, c->ifname, idx, now)))
			in_del(e, st->id, cid, now);
}

/* Removes the states of `cid` that its bulk did not carry (no mark). */
static void reconcile(struct rd_sync_engine *e, uint32_t cid, rd_time_t now)
{
	struct rd_state_iter it;
	struct rd_state *st;

	rd_state_iter_init(&it);
	while ((st = rd_state_iter_next(e->t, &it)) != NULL) {
		if (st->creatorid != cid || cid == e->creatorid || (st->flags & RD_STATE_F_MARK))
			continue;
		del_state(e, st->id, cid, false, now);
		e->stats[RD_SYNC_ENGINE_STAT_DELETES]--;
		e->stats[RD_SYNC_ENGINE_STAT_RECONCILED]++;
	}
}

static void bulk_start(struct rd_sync_engine *e, rd_time_t now);

/* Our bulk request ended (ok: BUS END) or failed: a join's demotion goes. */
static void undemote(struct rd_sync_engine *e, bool ok, rd_time_t now)
{
	bool was = e->demoted;

	e->breq = BREQ_NONE;
	e->stats[ok ? RD_SYNC_ENGINE_STAT_BULK_OK : RD_SYNC_ENGINE_STAT_BULK_FAIL]++;
	e->demoted = false; /* before the callback: rd_sync_engine_demotion says 0 in it */
	if (was && e->cfg.cb.demote != NULL)
		e->cfg.cb.demote(e->cfg.cb.user, -e->cfg.demotion, now);
	if (e->bulk_deferred || e->bulk_unsure) {
		if (e->bulk_unsure)
			e->stats[RD_SYNC_ENGINE_STAT_BULK_AGAIN]++;
		e->bulk_deferred = false;
		e->bulk_unsure = false;
		e->bulk_since = now;
		bulk_start(e, now);
		/*
		 * Not within this call: what the caller reads into the table
		 * when our request ends (rd_mirror's start read) goes in first.
		 */
		if (e->bulk_due <= now)
			e->bulk_due = now + 1;
	}
}

/*
 * BUS drives our own request (OpenBSD: any START/END does) and, with
 * bulk_reconcile, brackets each sender's bulk: a whole bulk from X between
 * START and END carries every state X holds, so X's states it did not
 * carry were deleted while we were not listening.
 */
/* A bulk starts: clears the marks of cid's states, of every state for cid 0. */
static void marks_clear(struct rd_sync_engine *e, uint32_t cid)
{
	struct rd_state_iter it;
	struct rd_state *st;

	rd_state_iter_init(&it);
	while ((st = rd_state_iter_next(e->t, &it)) != NULL)
		if (cid == 0 || st->creatorid == cid)
			st->flags &= (uint8_t)~RD_STATE_F_MARK;
}

/*
 * OpenBSD's bound on a bulk (if_pfsync.c, BUS START): 4 x the time a full
 * table takes at 50 packets a second, at least 60 s; or bulk_timeout.
 */
static rd_time_t bulk_bound(const struct rd_sync_engine *e)
{
	uint64_t per, pkts, s;

	if (e->cfg.bulk_timeout != 0)
		return e->cfg.bulk_timeout;
	per = (e->cfg.mtu - 40) / rd_pfsync_msg_len(RD_PFSYNC_ACT_UPD);
	if (per == 0)
		per = 1;
	pkts = rd_state_limit(e->t) / per;
	s = 4 * pkts / 50;
	return (rd_time_t)(s < 60 ? 60 : s) * RD_SEC;
}

/*
 * A bulk we receive made progress (a state or BUS arrived while one runs):
 * our request's stall deadline moves on, up to its bound, and so does
 * every running bulk's (bulks_expire).
 */
static void bulk_progress(struct rd_sync_engine *e, rd_time_t now)
{
	for (size_t i = 0; i < e->nbulks; i++)
		e->bulks[i].t0 = now;
	if (e->breq == BREQ_BULK) {
		rd_time_t due = now + e->cfg.bulk_stall;
		e->breq_due = due < e->breq_bound ? due : e->breq_bound;
	}
}

static void in_bus(struct rd_sync_engine *e, const struct rd_pfsync_bus *b, rd_time_t now)
{
	size_t i;

	for (i = 0; i < e->nbulks; i++)
		if (e->bulks[i].creatorid == b->creatorid)
			break;
	if (b->status == RD_PFSYNC_BUS_START) {
		if (e->breq == BREQ_SENT) {
			e->breq = BREQ_BULK;
			e->breq_bound = now + bulk_bound(e);
			e->breq_due = now + e->cfg.bulk_stall;
			if (e->breq_due > e->breq_bound)
				e->breq_due = e->breq_bound;
		}
		if (i == e->nbulks && i < RD_ARRAY_LEN(e->bulks)) {
			/*
			 * A new bulk (a repeated START clears nothing: one scan a
			 * bulk). The first of a period clears every mark, so a mark
			 * means "applied during this period"; a later one clears its
			 * sender's states, which reconcile will judge.
			 */
			marks_clear(e, e->nbulks == 0 ? 0 : b->creatorid);
			e->bulks[i].creatorid = b->creatorid;
			e->nbulks++;
		}
		if (i < e->nbulks)
			e->bulks[i].t0 = now;
		return;
	}
	/*
	 * Our request ends with the END of a bulk that started after it (one
	 * in bulks[]: the request emptied it), not with the END of one already
	 * running, which missed the states it sent before; nor does it wait
	 * for one sender alone (one that dies mid-bulk would hold us for
	 * bulk_timeout while the others' bulks ended).
	 */
	if (e->breq == BREQ_BULK && i < e->nbulks)
		undemote(e, true, now);
	if (i < e->nbulks) {
		e->bulks[i] = e->bulks[--e->nbulks];
		e->bulk_end = now;
		if (e->cfg.bulk_reconcile)
			reconcile(e, b->creatorid, now);
	}
}

/* A bulk whose END never came (its sender died, or stalled): stop waiting for it. */
static void bulks_expire(struct rd_sync_engine *e, rd_time_t now)
{
	for (size_t i = 0; i < e->nbulks;) {
		if (e->bulks[i].t0 + e->cfg.bulk_stall <= now) {
			e->bulks[i] = e->bulks[--e->nbulks];
			e->bulk_end = now;
		} else
			i++;
	}
}

/*
 * A bulk answer starts at `now`, or once RD_SYNC_ENGINE_BULK_SPACING has
 * passed since the last one started: any number of requests (a joiner's,
 * or a flood of forged ones) costs at most one table a second. A request
 * that arrives while the answer waits is served by it; one that arrives
 * while it runs (it missed the states already sent) gets one more.
 */
static void bulk_start(struct rd_sync_engine *e, rd_time_t now)
{
	if (e->bulk_active) {
		if (!e->bulk_first)
			e->bulk_again = true;
		return;
	}
	e->bulk_waiting = false;
	e->bulk_sched = now;
	if (e->bulk_started != 0 && now < e->bulk_started + RD_SYNC_ENGINE_BULK_SPACING) {
		now = e->bulk_started + RD_SYNC_ENGINE_BULK_SPACING;
		e->stats[RD_SYNC_ENGINE_STAT_BULK_SPACED]++;
	}
	e->bulk_active = true;
	e->bulk_first = true;
	e->bulk_have_pending = false;
	e->bulk_tombs = false;
	e->bulk_tomb.id = 0;
	rd_state_iter_init(&e->bulk_it);
	e->bulk_due = now;
}

/*
 * A member asked for our table. With named answerers (cb.bulk_target) we
 * may be the only one answering, so while our own request runs (our table
 * lacks what we asked for) the answer waits until it ends, ok or failed.
 */
static void bulk_requested(struct rd_sync_engine *e, bool named, rd_time_t now)
{
	e->bulk_since = now; /* an answer not yet started serves this request too */
	/*
	 * Asked by name, we may be the only one answering. Asked with every
	 * member (0/0: a repair, or a join before it heard any peer), all
	 * answer at once and cover what one of them lacks; but not we while
	 * our own join runs: our table may lack even our own states (an
	 * external table's, read when the join ends: rd_mirror), and every
	 * member reconciles our states against our answer (bulk_reconcile),
	 * so it would delete what we did not carry. That answer waits too.
	 */
	if ((named || e->demoted) && e->cfg.cb.bulk_target != NULL &&
	    (e->breq != BREQ_NONE || e->breq_later) && !e->bulk_active) {
		if (e->cfg.cb.bulk_defer == NULL || e->cfg.cb.bulk_defer(e->cfg.cb.user, now)) {
			if (!e->bulk_deferred)
				e->stats[RD_SYNC_ENGINE_STAT_BULK_DEFERRED]++;
			e->bulk_deferred = true;
			e->bulk_defer_due = now + RD_SYNC_ENGINE_READY_POLL; /* asked again then */
			return;
		}
		/*
		 * Nobody better placed can answer (every member is asking: they
		 * started together): answer now, and again once ours ended.
		 */
		e->bulk_unsure = true;
	}
	bulk_start(e, now);
}

struct apply_ctx {
	struct rd_sync_engine *e;
	rd_time_t now;
};

static int apply(void *user, const struct rd_pfsync_msg *m)
{
	struct apply_ctx *c = user;
	struct rd_sync_engine *e = c->e;
	rd_time_t now = c->now;

	if (m->action == RD_PFSYNC_ACT_INS || m->action == RD_PFSYNC_ACT_UPD) {
		if (e->nbatch == IN_BATCH)
			in_state_flush(e, now);
		in_state_queue(e, &m->u.state, m->action == RD_PFSYNC_ACT_INS);
		if (e->nbulks > 0 || e->breq == BREQ_BULK)
			bulk_progress(e, now);
		return 0;
	}
	in_state_flush(e, now); /* what came before is applied first */
	switch (m->action) {
	case RD_PFSYNC_ACT_CLR:
		in_clr(e, &m->u.clr, now);
		break;
	case RD_PFSYNC_ACT_DEL:
		in_del(e, m->u.state.id, m->u.state.creatorid, now);
		break;
	case RD_PFSYNC_ACT_DEL_C:
		in_del(e, m->u.ref.id, m->u.ref.creatorid, now);
		break;
	case RD_PFSYNC_ACT_UPD_C:
		in_upd_c(e, &m->u.upd_c, now);
		break;
	case RD_PFSYNC_ACT_UPD_REQ:
		if (m->u.ref.id == 0 && e->cfg.cb.bulk_asked != NULL)
			e->cfg.cb.bulk_asked(e->cfg.cb.user, m->u.ref.creatorid, now);
		if (m->u.ref.id == 0 &&
		    (m->u.ref.creatorid == 0 || m->u.ref.creatorid == e->creatorid)) {
			/* asked of every member (0/0), or of us by name */
			bulk_requested(e, m->u.ref.creatorid != 0, now);
		} else if (m->u.ref.id == 0) {
			e->stats[RD_SYNC_ENGINE_STAT_BULK_OTHERS]++; /* another member answers */
		} else {
			struct rd_state *st =
			    rd_state_find_id(e->t, m->u.ref.id, m->u.ref.creatorid, now);
			uint32_t i;
			if (st == NULL || (st->flags & RD_STATE_F_NOSYNC)) {
				e->stats[RD_SYNC_ENGINE_STAT_BADSTATE]++;
				break;
			}
			i = ent_get(e, st->id, st->creatorid);
			if (i != NIL && e->ents[i].q != Q_INS)
				q_set(e, i, Q_UPD);
			e->urgent_in = true;
		}
		break;
	case RD_PFSYNC_ACT_INS_ACK:
		defer_release(e, m->u.ref.id, m->u.ref.creatorid, true, now);
		break;
	case RD_PFSYNC_ACT_BUS:
		in_bus(e, &m->u.bus, now);
		break;
	case RD_PFSYNC_ACT_TDB:
		e->stats[RD_SYNC_ENGINE_STAT_TDB]++;
		if (e->cfg.cb.tdb != NULL)
			e->cfg.cb.tdb(e->cfg.cb.user, &m->u.tdb, now);
		break;
	default:
		break;
	}
	return 0;
}

int rd_sync_engine_input(struct rd_sync_engine *e, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct apply_ctx c = {e, now};

	if (e->sending || e->inputting)
		return RD_ERR_STATE; /* not from cb.send, nor from a callback of an input */
	e->inputting = true;
	e->urgent_in = false;
	/*
	 * Messages refused for a value never reach apply (they are counted in
	 * pstats); the others are applied. Bad framing refuses the packet.
	 */
	if (rd_pfsync_decode(pkt, len, &e->pstats, NULL, apply, &c) != 0) {
		e->nbatch = 0; /* refused whole before any message: nothing queued */
		e->stats[RD_SYNC_ENGINE_STAT_REFUSED]++;
		e->inputting = false;
		return RD_ERR_PROTO;
	}
	in_state_flush(e, now);
	e->stats[RD_SYNC_ENGINE_STAT_PKTS_IN]++;
	if (e->urgent_in)
		rd_sync_engine_flush(e, now);
	e->inputting = false;
	return 0;
}

/* ---- bulk ---------------------------------------------------------- */

static bool bulk_wanted(const struct rd_sync_engine *e, const struct rd_state *st, rd_time_t now)
{
	return !(st->flags & RD_STATE_F_NOSYNC) && st->key.proto != RD_PFSYNC_IPPROTO &&
	       rd_state_expires(e->t, st) > now;
}

static void bus(struct rd_sync_engine *e, uint8_t status, rd_time_t now)
{
	struct rd_pfsync_msg m;

	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_BUS;
	m.u.bus.creatorid = e->creatorid;
	m.u.bus.status = status;
	add(e, &m, now);
}

/*
 * After the states, a trusted bulk answer carries our tombstones, oldest
 * first, as DEL_C: a joiner keeps them, and a copy of one of these states
 * that reaches it later (a peer's resend of an update it sent before the
 * joiner restarted) is refused as stale instead of bringing the state back.
 * The cursor is the next tombstone's (id, creatorid); if it expired
 * meanwhile, so did every older one, and the oldest left is next.
 * Returns false when the packet is full (more to send), true when all went.
 */
static bool bulk_tombs_packet(struct rd_sync_engine *e, rd_time_t now)
{
	struct rd_pfsync_msg m;
	uint32_t i = NIL;

	if (e->bulk_tomb.id != 0)
		i = ent_find(e, e->bulk_tomb.id, e->bulk_tomb.creatorid);
	if (i == NIL || e->ents[i].q != Q_DEAD)
		i = e->qhead[Q_DEAD];
	for (; i != NIL; i = e->ents[i].qnext) {
		if (e->ents[i].touched + e->cfg.tombstone <= now)
			continue;
		if (rd_pfsync_builder_room(&e->b, RD_PFSYNC_ACT_DEL_C) == 0) {
			e->bulk_tomb.id = e->ents[i].id;
			e->bulk_tomb.creatorid = e->ents[i].creatorid;
			emit(e, now);
			return false;
		}
		memset(&m, 0, sizeof(m));
		m.action = RD_PFSYNC_ACT_DEL_C;
		m.u.ref.id = e->ents[i].id;
		m.u.ref.creatorid = e->ents[i].creatorid;
		rd_pfsync_builder_add(&e->b, &m);
		e->stats[RD_SYNC_ENGINE_STAT_TOMBS_SENT]++;
	}
	return true;
}

/* Fills one packet of the bulk answer. Returns false when the bulk ended. */
static bool bulk_packet(struct rd_sync_engine *e, rd_time_t now)
{
	struct rd_pfsync_msg m;
	struct rd_state *st;

	if (e->bulk_first) {
		bus(e, RD_PFSYNC_BUS_START, now);
		e->bulk_first = false;
		e->bulk_started = now;
	}
	while (!e->bulk_tombs) {
		if (e->bulk_have_pending) {
			st = rd_state_find_id(e->t, e->bulk_pending.id, e->bulk_pending.creatorid,
			                      now);
			e->bulk_have_pending = false;
		} else {
			st = rd_state_iter_next(e->t, &e->bulk_it);
			if (st == NULL) {
				e->bulk_tombs = true; /* every state went */
				break;
			}
		}
		if (st == NULL || !bulk_wanted(e, st, now))
			continue;
		if (rd_pfsync_builder_room(&e->b, RD_PFSYNC_ACT_UPD) == 0) {
			e->bulk_pending.id = st->id;
			e->bulk_pending.creatorid = st->creatorid;
			e->bulk_have_pending = true;
			emit(e, now);
			return true;
		}
		state_msg(e, st, RD_PFSYNC_ACT_UPD, now, &m);
		rd_pfsync_builder_add(&e->b, &m);
		e->stats[RD_SYNC_ENGINE_STAT_BULK_SENT]++;
	}
	if (e->cfg.trusted && !bulk_tombs_packet(e, now))
		return true;
	bus(e, RD_PFSYNC_BUS_END, now);
	emit(e, now);
	return false;
}

static void bulk_tick(struct rd_sync_engine *e, rd_time_t now)
{
	if (!e->bulk_active || e->bulk_due > now)
		return;
	if (e->bulk_first && e->cfg.cb.bulk_ready != NULL &&
	    now < e->bulk_sched + RD_SYNC_ENGINE_READY_MAX &&
	    !e->cfg.cb.bulk_ready(e->cfg.cb.user, e->bulk_since, now)) {
		/* What was in flight to us when they asked must be in the answer. */
		if (!e->bulk_waiting)
			e->stats[RD_SYNC_ENGINE_STAT_BULK_WAITED]++;
		e->bulk_waiting = true;
		e->bulk_due = now + RD_SYNC_ENGINE_READY_POLL;
		return;
	}
	/* Queued changes first, so the answer starts from an empty packet. */
	rd_sync_engine_flush(e, now);
	unsigned budget = e->cfg.bulk_packets;
	if (e->cfg.cb.room != NULL) {
		/*
		 * Leave room for live changes; the rest paces the bulk, so a
		 * receiver that falls behind slows it by acknowledging later.
		 */
		size_t room = e->cfg.cb.room(e->cfg.cb.user);
		size_t reserve = RD_SYNC_ENGINE_ROOM_RESERVE;
		if (room < reserve + budget)
			budget = room > reserve ? (unsigned)(room - reserve) : 0;
	}
	for (unsigned n = 0; n < budget; n++) {
		if (!bulk_packet(e, now)) {
			e->bulk_active = false;
			if (e->bulk_again) {
				e->bulk_again = false;
				bulk_start(e, now + e->cfg.bulk_interval);
			}
			return;
		}
	}
	e->bulk_due = now + e->cfg.bulk_interval;
}

/* Sends our bulk request. `same`: to the member the last one named, if any. */
static void send_bulk_req(struct rd_sync_engine *e, bool same, rd_time_t now)
{
	struct rd_pfsync_msg m;

	/* id 0: a bulk request; creatorid: the member asked to answer, or 0 for all. */
	if (e->breq_all)
		e->breq_target = 0;
	else if (!same || e->breq_target == 0 || e->breq_target == RD_SYNC_ENGINE_TARGET_WAIT)
		e->breq_target = e->cfg.cb.bulk_target != NULL
		                     ? e->cfg.cb.bulk_target(e->cfg.cb.user, e->breq_attempt, now)
		                     : 0;
	if (e->breq_target == RD_SYNC_ENGINE_TARGET_WAIT) {
		/* No peer heard yet, but they may answer our hello at once: ask soon. */
		e->breq_due = now + RD_SYNC_ENGINE_TARGET_POLL;
		return;
	}
	rd_sync_engine_flush(e, now);
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_UPD_REQ;
	m.u.ref.creatorid = e->breq_target;
	e->breq_attempt++;
	add(e, &m, now);
	emit(e, now);
	e->breq_tries++;
	e->breq_due = now + e->cfg.bulk_req_interval;
	/*
	 * A named member may wait up to READY_MAX before its BUS START: a
	 * resend before then would reach it while it answers and make it
	 * answer twice.
	 */
	if (e->breq_target != 0 && e->cfg.bulk_req_interval < RD_SYNC_ENGINE_NAMED_INTERVAL)
		e->breq_due = now + RD_SYNC_ENGINE_NAMED_INTERVAL;
}

/*
 * Starts (or restarts) our bulk request. `join`: we lack the peers' states,
 * so hold the demotion until the request ends; a repair (join false) never
 * demotes, and a repair while a join runs leaves the join's demotion held.
 */
static void bulk_ask(struct rd_sync_engine *e, bool join, rd_time_t now)
{
	bool same;

	if (e->sending) {
		/* Called back from our own send (e.g. a transport reporting a loss): later. */
		e->breq_later = true;
		e->breq_later_join = e->breq_later_join || join;
		e->flush_due = now;
		return;
	}
	join = join || e->breq_later_join;
	e->breq_later = false;
	e->breq_later_join = false;
	/* A request while one runs restarts it: what was received may have
	 * holes, so no bulk seen so far may be reconciled against. */
	if (e->nbulks > 0)
		e->bulk_end = now;
	e->nbulks = 0;
	if (join && !e->demoted) {
		e->demoted = true;
		if (e->cfg.cb.demote != NULL)
			e->cfg.cb.demote(e->cfg.cb.user, e->cfg.demotion, now);
	}
	/*
	 * Restarted before any answer began (a join that hears peers it did
	 * not know, each a "loss"): the member already named is asked again,
	 * and serves both with one answer; naming another would make two.
	 */
	same = e->breq == BREQ_SENT;
	/*
	 * A repair outside a join (messages lost for good) asks every member,
	 * so that the creators of what was lost answer too; only a join (and
	 * the repairs it absorbs) names one member.
	 */
	e->breq_all = !e->demoted;
	e->breq = BREQ_SENT;
	e->breq_tries = 0;
	send_bulk_req(e, same, now);
}

void rd_sync_engine_bulk_request(struct rd_sync_engine *e, rd_time_t now)
{
	bulk_ask(e, true, now);
}

void rd_sync_engine_bulk_repair(struct rd_sync_engine *e, rd_time_t now)
{
	bulk_ask(e, false, now);
}

int rd_sync_engine_demotion(const struct rd_sync_engine *e)
{
	return e->demoted ? e->cfg.demotion : 0;
}

bool rd_sync_engine_bulk_pending(const struct rd_sync_engine *e)
{
	return e->breq != BREQ_NONE || e->breq_later;
}

/* ---- timers -------------------------------------------------------- */

void rd_sync_engine_handle_expiry(struct rd_sync_engine *e, rd_time_t now)
{
	if (e->sending)
		return;
	bulks_expire(e, now);
	tombstones_expire(e, now);
	if (e->bulk_deferred && e->bulk_defer_due <= now) {
		/*
		 * Whether a member better placed than us exists changes as the
		 * others' requests arrive (members started together all ask):
		 * asked again until the answer may go, or ours ends.
		 */
		if (e->cfg.cb.bulk_defer != NULL && !e->cfg.cb.bulk_defer(e->cfg.cb.user, now)) {
			e->bulk_deferred = false;
			e->bulk_unsure = true;
			bulk_start(e, now);
		} else {
			e->bulk_defer_due = now + RD_SYNC_ENGINE_READY_POLL;
		}
	}
	if (e->breq_later)
		bulk_ask(e, false, now); /* a join among the deferred keeps its flag */
	while (e->ndefers > 0 && e->defers[0].deadline <= now)
		defer_drop(e, 0, false, now);
	if (e->breq == BREQ_SENT && e->breq_due <= now) {
		if (e->breq_tries >= e->cfg.bulk_req_tries)
			undemote(e, false, now);
		else
			send_bulk_req(e, false, now);
	} else if (e->breq == BREQ_BULK && e->breq_due <= now) {
		/*
		 * The answer stalled (no state for bulk_stall) or ran past its
		 * bound. With named answerers, ask again (the next attempt may
		 * name another) while tries are left; a restarted request starts
		 * its marks afresh (bulk_ask). Else give up, as OpenBSD does.
		 */
		if (e->cfg.cb.bulk_target != NULL && e->breq_tries < e->cfg.bulk_req_tries &&
		    now < e->breq_bound) {
			unsigned tries = e->breq_tries;
			e->stats[RD_SYNC_ENGINE_STAT_BULK_STALLED]++;
			bulk_ask(e, false, now); /* a join's demotion stays held */
			e->breq_tries = tries + 1;
		} else {
			undemote(e, false, now);
		}
	}
	if (e->flush_due <= now)
		rd_sync_engine_flush(e, now);
	bulk_tick(e, now);
}

rd_time_t rd_sync_engine_expiry(const struct rd_sync_engine *e)
{
	rd_time_t t = e->flush_due;

	if (e->ndefers > 0 && e->defers[0].deadline < t)
		t = e->defers[0].deadline;
	if (e->breq != BREQ_NONE && e->breq_due < t)
		t = e->breq_due;
	if (e->bulk_deferred && e->bulk_defer_due < t)
		t = e->bulk_defer_due;
	if (e->bulk_active && e->bulk_due < t)
		t = e->bulk_due;
	return t;
}

/* ---- life cycle ---------------------------------------------------- */

void rd_sync_engine_config_default(struct rd_sync_engine_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mtu = 1480;
	cfg->maxupd = 128;
	cfg->flush_delay = RD_SEC;
	cfg->active_window = 2 * RD_SEC;
	cfg->defer_timeout = 20 * RD_MSEC;
	cfg->defer_limit = 128;
	cfg->bulk_interval = RD_MSEC;
	cfg->bulk_packets = 64;
	cfg->bulk_req_interval = 2 * RD_SEC;
	cfg->bulk_req_tries = 12;
	cfg->bulk_stall = 10 * RD_SEC;
	cfg->demotion = 32;
	cfg->tombstone = 10 * RD_SEC;
}

int rd_sync_engine_new(const struct rd_sync_engine_config *cfg, struct rd_sync_engine **out)
{
	struct rd_sync_engine *e;

	/* Below 300 bytes a full state would never fit. */
	if (cfg == NULL || out == NULL || cfg->table == NULL || cfg->cb.send == NULL ||
	    (cfg->mtu != 0 && (cfg->mtu < 300 || cfg->mtu > 65535)))
		return RD_ERR_INVAL;
	e = rd_calloc(cfg->mem, 1, sizeof(*e));
	if (e == NULL)
		return RD_ERR_NOMEM;
	e->cfg = *cfg;
#define DEFAULT(f, v)                                                                              \
	if (e->cfg.f == 0)                                                                         \
	e->cfg.f = (v)
	DEFAULT(mtu, 1480);
	DEFAULT(maxupd, 128);
	DEFAULT(flush_delay, RD_SEC);
	DEFAULT(active_window, 2 * RD_SEC);
	DEFAULT(defer_timeout, 20 * RD_MSEC);
	DEFAULT(defer_limit, 128);
	if (e->cfg.bulk_rate != 0) {
		size_t per = (e->cfg.mtu - RD_PFSYNC_HDR_LEN - RD_PFSYNC_SUBHDR_LEN) /
		             rd_pfsync_msg_len(RD_PFSYNC_ACT_UPD);
		uint64_t a_ms = e->cfg.bulk_rate / 1000 / per;
		e->cfg.bulk_packets = a_ms != 0 ? (unsigned)a_ms : 1;
		e->cfg.bulk_interval =
		    a_ms != 0 ? RD_MSEC : (rd_time_t)per * RD_SEC / e->cfg.bulk_rate;
	}
	DEFAULT(bulk_interval, RD_MSEC);
	DEFAULT(bulk_packets, 64);
	DEFAULT(bulk_req_interval, 2 * RD_SEC);
	DEFAULT(bulk_req_tries, 12);
	DEFAULT(bulk_stall, 10 * RD_SEC);
	DEFAULT(demotion, 32);
	DEFAULT(tombstone, 10 * RD_SEC);
#undef DEFAULT
	e->t = cfg->table;
	e->creatorid = rd_state_creatorid(cfg->table);
	rd_sipkey_random(&e->hkey, NULL);
	e->cap = 64;
	e->free_head = NIL;
	e->ents = rd_malloc(cfg->mem, e->cap * sizeof(*e->ents));
	e->defers = rd_calloc(cfg->mem, e->cfg.defer_limit, sizeof(*e->defers));
	e->pkt = rd_malloc(cfg->mem, e->cfg.mtu);
	e->batch = rd_malloc(cfg->mem, IN_BATCH * sizeof(*e->batch));
	for (int q = 0; q < Q_ALL; q++)
		e->qhead[q] = e->qtail[q] = NIL;
	e->flush_due = RD_TIME_NEVER;
	if (e->ents == NULL || e->defers == NULL || e->pkt == NULL || e->batch == NULL ||
	    rehash(e, 64) != 0) {
		rd_sync_engine_free(e);
		return RD_ERR_NOMEM;
	}
	rd_pfsync_builder_init(&e->b, e->pkt, e->cfg.mtu);
	*out = e;
	return 0;
}

void rd_sync_engine_free(struct rd_sync_engine *e)
{
	const struct rd_mem *mem;

	if (e == NULL)
		return;
	mem = e->cfg.mem;
	rd_free(mem, e->ents);
	rd_free(mem, e->buckets);
	rd_free(mem, e->reqs);
	rd_free(mem, e->defers);
	rd_free(mem, e->pkt);
	rd_free(mem, e->batch);
	rd_free(mem, e);
}

void rd_sync_engine_stats(const struct rd_sync_engine *e, uint64_t out[RD_SYNC_ENGINE_STAT_COUNT])
{
	memcpy(out, e->stats, sizeof(e->stats));
}

void rd_sync_engine_pfsync_stats(const struct rd_sync_engine *e, uint64_t out[RD_PFSYNC_STAT_COUNT])
{
	memcpy(out, e->pstats.count, sizeof(e->pstats.count));
}
