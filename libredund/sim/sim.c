/*
 * The cluster simulator: a binary heap of events ordered by (time, sequence
 * number), so that events due at the same time run in the order they were
 * scheduled and a run depends on nothing but the seed and the calls.
 *
 * Node timers are re-asked after every callback into a node; an expiry that
 * changed gets a new timer event and the old one is left in the heap, marked
 * stale by a per-node generation number (cheaper than deleting from the
 * middle of the heap).
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/sim.h"

/* xoshiro256** (Blackman and Vigna), seeded through splitmix64. */
struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Uniform in [0, bound] (bound inclusive), without modulo bias worth noting. */
static uint64_t rng_upto(struct rng *r, uint64_t bound)
{
	uint64_t x = rng_next(r);
	if (bound == UINT64_MAX)
		return x;
	return (uint64_t)(((unsigned __int128)x * (bound + 1)) >> 64);
}

static bool rng_chance(struct rng *r, uint32_t ppm)
{
	if (ppm == 0)
		return false;
	return rng_upto(r, RD_SIM_PPM_MAX - 1) < ppm;
}

enum { STREAM_NET = 1, STREAM_SCENARIO = 2, STREAM_NODE = 3 };

/* A packet shared by all its deliveries. */
struct pkt {
	uint32_t refs;
	uint32_t len;
	uint8_t data[];
};

struct member {
	int node;
	int group;
	bool carrier; /* the node's cable on this segment */
	bool told;    /* the carrier the node was last told */
};

struct segment {
	struct rd_sim_link link;
	struct member *m;
	size_t n, cap;
	struct rd_pcap_writer *pcap;
	uint64_t st[RD_SIM_STAT_COUNT];
};

struct qitem {
	struct pkt *p;
	int segment;
	int sender;
};

struct node {
	struct rd_sim_node_callbacks ops;
	void *user;
	enum rd_sim_node_state state;
	uint32_t incarnation; /* bumped by a crash: in-flight packets are dropped */
	uint32_t timer_gen;
	rd_time_t timer_at; /* the pending valid timer event, or NEVER */
	uint8_t mac[6];
	struct qitem *q; /* frozen: packets waiting for the thaw */
	size_t qn;
};

enum ev_type {
	EV_DELIVER,
	EV_TIMER,
	EV_CALL,
	EV_LINK,
	EV_PARTITION,
	EV_HEAL,
	EV_CRASH,
	EV_RESTART,
	EV_FREEZE,
	EV_THAW,
	EV_CARRIER,
};

struct event {
	rd_time_t time;
	uint64_t seq;
	enum ev_type type;
	int node;
	int segment;
	union {
		struct {
			struct pkt *p;
			int sender;
			uint32_t incarnation;
		} d;
		uint32_t gen;
		struct {
			void (*fn)(void *, rd_time_t);
			void *user;
		} call;
		struct rd_sim_link *link;
		struct {
			int *group;
			size_t n;
		} part;
		bool up;
	} u;
};

struct rd_sim {
	const struct rd_mem *mem;
	rd_time_t now;
	uint64_t seq;
	struct rng net, scenario, nodes;
	size_t freeze_max;
	struct event *heap;
	size_t hn, hcap;
	struct segment *seg;
	size_t nseg, seg_cap;
	struct node *node;
	size_t nnode, node_cap;
	int in_callback;
	bool nomem;
	void (*trace)(void *, const struct rd_sim_event_info *);
	void *trace_user;
	uint64_t st[RD_SIM_STAT_COUNT]; /* timers, timer_stuck, pcap_errors */
};

static void trace(struct rd_sim *sim, enum rd_sim_event_kind kind, int node, int peer, int seg,
                  const struct pkt *p)
{
	if (sim->trace == NULL)
		return;
	struct rd_sim_event_info ev = {
	    .time = sim->now,
	    .kind = kind,
	    .node = node,
	    .peer = peer,
	    .segment = seg,
	    .pkt = p != NULL ? p->data : NULL,
	    .len = p != NULL ? p->len : 0,
	};
	sim->trace(sim->trace_user, &ev);
}

static void pkt_unref(struct rd_sim *sim, struct pkt *p)
{
	if (p != NULL && --p->refs == 0)
		rd_free(sim->mem, p);
}

/*
 * Grow an array of elem-sized items to hold at least want. Returns the
 * (possibly moved) array, or NULL with the old one untouched.
 */
static void *grow(const struct rd_mem *mem, void *arr, size_t *cap, size_t want, size_t elem)
{
	if (want <= *cap)
		return arr;
	size_t ncap = *cap != 0 ? *cap : 8;
	while (ncap < want)
		ncap *= 2;
	void *n = rd_realloc(mem, arr, ncap * elem);
	if (n != NULL)
		*cap = ncap;
	return n;
}

#define GROW(mem, arr, cap, want)                                                                  \
	({                                                                                         \
		void *grown_ = grow((mem), (arr), &(cap), (want), sizeof(*(arr)));                 \
		if (grown_ != NULL)                                                                \
			(arr) = grown_;                                                            \
		grown_ != NULL ? 0 : RD_ERR_NOMEM;                                                 \
	})

static bool ev_before(const struct event *a, const struct event *b)
{
	return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static int heap_push(struct rd_sim *sim, struct event *ev)
{
	if (GROW(sim->mem, sim->heap, sim->hcap, sim->hn + 1) != 0) {
		sim->nomem = true;
		return RD_ERR_NOMEM;
	}
	if (ev->time < sim->now)
		ev->time = sim->now;
	ev->seq = sim->seq++;
	size_t i = sim->hn++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_before(ev, &sim->heap[parent]))
			break;
		sim->heap[i] = sim->heap[parent];
		i = parent;
	}
	sim->heap[i] = *ev;
	return 0;
}

static void heap_pop(struct rd_sim *sim, struct event *out)
{
	*out = sim->heap[0];
	struct event last = sim->heap[--sim->hn];
	size_t i = 0, n = sim->hn;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && ev_before(&sim->heap[c + 1], &sim->heap[c]))
			c++;
		if (!ev_before(&sim->heap[c], &last))
			break;
		sim->heap[i] = sim->heap[c];
		i = c;
	}
	if (n > 0)
		sim->heap[i] = last;
}

static void event_free(struct rd_sim *sim, struct event *ev)
{
	switch (ev->type) {
	case EV_DELIVER:
		pkt_unref(sim, ev->u.d.p);
		break;
	case EV_LINK:
		rd_free(sim->mem, ev->u.link);
		break;
	case EV_PARTITION:
		rd_free(sim->mem, ev->u.part.group);
		break;
	default:
		break;
	}
}

static bool link_valid(const struct rd_sim_link *l)
{
	return l->loss_ppm <= RD_SIM_PPM_MAX && l->dup_ppm <= RD_SIM_PPM_MAX &&
	       l->reorder_ppm <= RD_SIM_PPM_MAX;
}

static bool node_ok(const struct rd_sim *sim, int node)
{
	return sim != NULL && node >= 0 && (size_t)node < sim->nnode;
}

static bool seg_ok(const struct rd_sim *sim, int seg)
{
	return sim != NULL && seg >= 0 && (size_t)seg < sim->nseg;
}

void rd_sim_config_default(struct rd_sim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->freeze_queue_max = 64;
}

int rd_sim_new(const struct rd_sim_config *cfg, struct rd_sim **out)
{
	if (cfg == NULL || out == NULL)
		return RD_ERR_INVAL;
	struct rd_sim *sim = rd_calloc(cfg->mem, 1, sizeof(*sim));
	if (sim == NULL)
		return RD_ERR_NOMEM;
	sim->mem = cfg->mem;
	sim->freeze_max = cfg->freeze_queue_max != 0 ? cfg->freeze_queue_max : 64;
	rng_seed(&sim->net, cfg->seed, STREAM_NET);
	rng_seed(&sim->scenario, cfg->seed, STREAM_SCENARIO);
	rng_seed(&sim->nodes, cfg->seed, STREAM_NODE);
	*out = sim;
	return 0;
}

void rd_sim_free(struct rd_sim *sim)
{
	if (sim == NULL)
		return;
	for (size_t i = 0; i < sim->hn; i++)
		event_free(sim, &sim->heap[i]);
	rd_free(sim->mem, sim->heap);
	for (size_t i = 0; i < sim->nseg; i++)
		rd_free(sim->mem, sim->seg[i].m);
	rd_free(sim->mem, sim->seg);
	for (size_t i = 0; i < sim->nnode; i++) {
		struct node *n = &sim->node[i];
		for (size_t k = 0; k < n->qn; k++)
			pkt_unref(sim, n->q[k].p);
		rd_free(sim->mem, n->q);
	}
	rd_free(sim->mem, sim->node);
	rd_free(sim->mem, sim);
}

int rd_sim_segment_add(struct rd_sim *sim, const struct rd_sim_link *link)
{
	struct rd_sim_link perfect = {0};

	if (link == NULL)
		link = &perfect;
	if (!link_valid(link))
		return RD_ERR_INVAL;
	if (GROW(sim->mem, sim->seg, sim->seg_cap, sim->nseg + 1) != 0)
		return RD_ERR_NOMEM;
	struct segment *s = &sim->seg[sim->nseg];
	memset(s, 0, sizeof(*s));
	s->link = *link;
	return (int)sim->nseg++;
}

int rd_sim_segment_set_pcap(struct rd_sim *sim, int segment, struct rd_pcap_writer *w)
{
	if (!seg_ok(sim, segment))
		return RD_ERR_INVAL;
	sim->seg[segment].pcap = w;
	return 0;
}

static void node_rearm(struct rd_sim *sim, int id, bool after_timer)
{
	struct node *n = &sim->node[id];
	if (n->state != RD_SIM_NODE_UP)
		return;
	sim->in_callback++;
	rd_time_t e = n->ops.expiry(n->user);
	sim->in_callback--;
	if (e != RD_TIME_NEVER) {
		if (e < sim->now)
			e = sim->now;
		/* A node whose timer is still due after being handled would spin
		 * at one instant forever; step it forward and count it. */
		if (after_timer && e <= sim->now) {
			e = sim->now + 1;
			sim->st[RD_SIM_STAT_TIMER_STUCK]++;
		}
	}
	if (e == n->timer_at)
		return;
	n->timer_gen++;
	n->timer_at = e;
	if (e == RD_TIME_NEVER)
		return;
	struct event ev = {.time = e, .type = EV_TIMER, .node = id, .segment = -1};
	ev.u.gen = n->timer_gen;
	if (heap_push(sim, &ev) != 0)
		n->timer_at = RD_TIME_NEVER;
}

int rd_sim_node_add(struct rd_sim *sim, const struct rd_sim_node_callbacks *ops)
{
	if (ops == NULL || ops->deliver == NULL || ops->expiry == NULL ||
	    ops->handle_expiry == NULL)
		return RD_ERR_INVAL;
	if (GROW(sim->mem, sim->node, sim->node_cap, sim->nnode + 1) != 0)
		return RD_ERR_NOMEM;
	int id = (int)sim->nnode++;
	struct node *n = &sim->node[id];
	memset(n, 0, sizeof(*n));
	n->ops = *ops;
	n->user = ops->user;
	n->state = RD_SIM_NODE_UP;
	n->timer_at = RD_TIME_NEVER;
	n->mac[0] = 0x02;
	n->mac[4] = (uint8_t)((id + 1) >> 8);
	n->mac[5] = (uint8_t)(id + 1);
	node_rearm(sim, id, false);
	return id;
}

static struct member *find_member(const struct segment *s, int node)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->m[i].node == node)
			return (struct member *)&s->m[i];
	return NULL;
}

int rd_sim_attach(struct rd_sim *sim, int node, int segment)
{
	if (!node_ok(sim, node) || !seg_ok(sim, segment))
		return RD_ERR_INVAL;
	struct segment *s = &sim->seg[segment];
	if (find_member(s, node) != NULL)
		return 0;
	if (GROW(sim->mem, s->m, s->cap, s->n + 1) != 0)
		return RD_ERR_NOMEM;
	s->m[s->n++] = (struct member){.node = node, .group = 0, .carrier = true, .told = true};
	return 0;
}

int rd_sim_carrier(const struct rd_sim *sim, int node, int segment)
{
	const struct member *m;

	if (!node_ok(sim, node) || !seg_ok(sim, segment))
		return RD_ERR_INVAL;
	m = find_member(&sim->seg[segment], node);
	return m == NULL ? RD_ERR_INVAL : m->carrier ? 1 : 0;
}

int rd_sim_node_set_mac(struct rd_sim *sim, int node, const uint8_t mac[6])
{
	if (!node_ok(sim, node) || mac == NULL)
		return RD_ERR_INVAL;
	memcpy(sim->node[node].mac, mac, 6);
	return 0;
}

int rd_sim_node_rearm(struct rd_sim *sim, int node)
{
	if (!node_ok(sim, node))
		return RD_ERR_INVAL;
	node_rearm(sim, node, false);
	return 0;
}

int rd_sim_node_state(const struct rd_sim *sim, int node)
{
	if (!node_ok(sim, node))
		return RD_ERR_INVAL;
	return (int)sim->node[node].state;
}

static int push_delivery(struct rd_sim *sim, struct segment *s, struct pkt *p, int sender, int to,
                         rd_time_t extra)
{
	const struct rd_sim_link *l = &s->link;
	rd_time_t at = sim->now + l->delay + extra;
	if (l->jitter != 0)
		at += rng_upto(&sim->net, l->jitter);
	if (rng_chance(&sim->net, l->reorder_ppm)) {
		at += l->reorder_delay;
		s->st[RD_SIM_STAT_REORDERED]++;
	}
	struct event ev = {
	    .time = at, .type = EV_DELIVER, .node = to, .segment = (int)(s - sim->seg)};
	ev.u.d.p = p;
	ev.u.d.sender = sender;
	ev.u.d.incarnation = sim->node[to].incarnation;
	if (heap_push(sim, &ev) != 0)
		return RD_ERR_NOMEM;
	p->refs++;
	return 0;
}

int rd_sim_send_mac(struct rd_sim *sim, int node, int segment, const uint8_t src_mac[6],
                    const void *data, size_t len)
{
	if (!node_ok(sim, node) || !seg_ok(sim, segment) || data == NULL || len == 0 || len > 65535)
		return RD_ERR_INVAL;
	struct segment *s = &sim->seg[segment];
	struct member *from = find_member(s, node);
	if (from == NULL)
		return RD_ERR_INVAL;
	if (sim->node[node].state != RD_SIM_NODE_UP || !from->carrier)
		return RD_ERR_STATE;

	struct pkt *p = rd_malloc(sim->mem, sizeof(*p) + len);
	if (p == NULL)
		return RD_ERR_NOMEM;
	p->refs = 1; /* ours, dropped at the end */
	p->len = (uint32_t)len;
	memcpy(p->data, data, len);
	s->st[RD_SIM_STAT_SENT]++;
	trace(sim, RD_SIM_EV_SEND, node, -1, segment, p);
	if (s->pcap != NULL) {
		int rc;
		if (rd_pcap_writer_linktype(s->pcap) == RD_PCAP_LINKTYPE_ETHERNET)
			rc = rd_pcap_write_ip(s->pcap, sim->now,
			                      src_mac != NULL ? src_mac : sim->node[node].mac,
			                      p->data, len);
		else
			rc = rd_pcap_write(s->pcap, sim->now, p->data, len);
		if (rc != 0)
			sim->st[RD_SIM_STAT_PCAP_ERRORS]++;
	}

	int rc = 0;
	int group = from->group;
	/* Receivers in attach order, so the draws from the link's stream are
	 * always made in the same order. */
	for (size_t i = 0; i < s->n && rc == 0; i++) {
		int to = s->m[i].node;
		if (to == node)
			continue;
		if (s->m[i].group != group) {
			s->st[RD_SIM_STAT_PARTITIONED]++;
			trace(sim, RD_SIM_EV_DROP_PARTITION, to, node, segment, p);
			continue;
		}
		if (rng_chance(&sim->net, s->link.loss_ppm)) {
			s->st[RD_SIM_STAT_LOST]++;
			trace(sim, RD_SIM_EV_DROP_LOSS, to, node, segment, p);
			continue;
		}
		rc = push_delivery(sim, s, p, node, to, 0);
		if (rc == 0 && rng_chance(&sim->net, s->link.dup_ppm)) {
			s->st[RD_SIM_STAT_DUPLICATED]++;
			trace(sim, RD_SIM_EV_DUPLICATE, to, node, segment, p);
			rc = push_delivery(sim, s, p, node, to, 0);
		}
	}
	pkt_unref(sim, p);
	return rc;
}

int rd_sim_send(struct rd_sim *sim, int node, int segment, const void *pkt, size_t len)
{
	return rd_sim_send_mac(sim, node, segment, NULL, pkt, len);
}

static int schedule(struct rd_sim *sim, rd_time_t at, enum ev_type type, int node, int seg)
{
	struct event ev = {.time = at, .type = type, .node = node, .segment = seg};
	return heap_push(sim, &ev);
}

int rd_sim_link_at(struct rd_sim *sim, rd_time_t at, int segment, const struct rd_sim_link *link)
{
	if (!seg_ok(sim, segment) || link == NULL || !link_valid(link))
		return RD_ERR_INVAL;
	struct event ev = {.time = at, .type = EV_LINK, .node = -1, .segment = segment};
	ev.u.link = rd_malloc(sim->mem, sizeof(*link));
	if (ev.u.link == NULL)
		return RD_ERR_NOMEM;
	*ev.u.link = *link;
	if (heap_push(sim, &ev) != 0) {
		rd_free(sim->mem, ev.u.link);
		return RD_ERR_NOMEM;
	}
	return 0;
}

int rd_sim_partition_at(struct rd_sim *sim, rd_time_t at, int segment, const int *group, size_t n)
{
	if (!seg_ok(sim, segment) || (group == NULL && n != 0))
		return RD_ERR_INVAL;
	struct event ev = {.time = at, .type = EV_PARTITION, .node = -1, .segment = segment};
	ev.u.part.n = n;
	ev.u.part.group = rd_malloc(sim->mem, (n != 0 ? n : 1) * sizeof(int));
	if (ev.u.part.group == NULL)
		return RD_ERR_NOMEM;
	if (n != 0)
		memcpy(ev.u.part.group, group, n * sizeof(int));
	if (heap_push(sim, &ev) != 0) {
		rd_free(sim->mem, ev.u.part.group);
		return RD_ERR_NOMEM;
	}
	return 0;
}

int rd_sim_heal_at(struct rd_sim *sim, rd_time_t at, int segment)
{
	if (!seg_ok(sim, segment))
		return RD_ERR_INVAL;
	return schedule(sim, at, EV_HEAL, -1, segment);
}

int rd_sim_carrier_at(struct rd_sim *sim, rd_time_t at, int node, int segment, bool up)
{
	if (!node_ok(sim, node) || !seg_ok(sim, segment))
		return RD_ERR_INVAL;
	struct event ev = {.time = at, .type = EV_CARRIER, .node = node, .segment = segment};
	ev.u.up = up;
	return heap_push(sim, &ev);
}

int rd_sim_crash_at(struct rd_sim *sim, rd_time_t at, int node)
{
	if (!node_ok(sim, node))
		return RD_ERR_INVAL;
	return schedule(sim, at, EV_CRASH, node, -1);
}

int rd_sim_restart_at(struct rd_sim *sim, rd_time_t at, int node)
{
	if (!node_ok(sim, node))
		return RD_ERR_INVAL;
	return schedule(sim, at, EV_RESTART, node, -1);
}

int rd_sim_freeze_at(struct rd_sim *sim, rd_time_t at, int node)
{
	if (!node_ok(sim, node))
		return RD_ERR_INVAL;
	return schedule(sim, at, EV_FREEZE, node, -1);
}

int rd_sim_thaw_at(struct rd_sim *sim, rd_time_t at, int node)
{
	if (!node_ok(sim, node))
		return RD_ERR_INVAL;
	return schedule(sim, at, EV_THAW, node, -1);
}

int rd_sim_call_at(struct rd_sim *sim, rd_time_t at, void (*fn)(void *user, rd_time_t now),
                   void *user)
{
	if (sim == NULL || fn == NULL)
		return RD_ERR_INVAL;
	struct event ev = {.time = at, .type = EV_CALL, .node = -1, .segment = -1};
	ev.u.call.fn = fn;
	ev.u.call.user = user;
	return heap_push(sim, &ev);
}

static void deliver_now(struct rd_sim *sim, int to, int seg, int sender, struct pkt *p)
{
	struct node *n = &sim->node[to];
	sim->seg[seg].st[RD_SIM_STAT_DELIVERED]++;
	trace(sim, RD_SIM_EV_DELIVER, to, sender, seg, p);
	sim->in_callback++;
	n->ops.deliver(n->user, seg, p->data, p->len, sim->now);
	sim->in_callback--;
}

static void on_deliver(struct rd_sim *sim, struct event *ev)
{
	struct node *n = &sim->node[ev->node];
	struct segment *s = &sim->seg[ev->segment];
	struct pkt *p = ev->u.d.p;

	if (n->state == RD_SIM_NODE_CRASHED || n->incarnation != ev->u.d.incarnation) {
		s->st[RD_SIM_STAT_TO_DOWN]++;
		trace(sim, RD_SIM_EV_DROP_DOWN, ev->node, ev->u.d.sender, ev->segment, p);
		return;
	}
	if (!find_member(s, ev->node)->carrier) {
		s->st[RD_SIM_STAT_NO_CARRIER]++;
		trace(sim, RD_SIM_EV_DROP_CARRIER, ev->node, ev->u.d.sender, ev->segment, p);
		return;
	}
	if (n->state == RD_SIM_NODE_FROZEN) {
		if (n->qn >= sim->freeze_max) {
			s->st[RD_SIM_STAT_FREEZE_OVERFLOW]++;
			trace(sim, RD_SIM_EV_DROP_OVERFLOW, ev->node, ev->u.d.sender, ev->segment,
			      p);
			return;
		}
		if (n->q == NULL) {
			n->q = rd_malloc(sim->mem, sim->freeze_max * sizeof(*n->q));
			if (n->q == NULL) {
				sim->nomem = true;
				return;
			}
		}
		p->refs++;
		n->q[n->qn++] =
		    (struct qitem){.p = p, .segment = ev->segment, .sender = ev->u.d.sender};
		s->st[RD_SIM_STAT_FREEZE_QUEUED]++;
		trace(sim, RD_SIM_EV_QUEUED, ev->node, ev->u.d.sender, ev->segment, p);
		return;
	}
	deliver_now(sim, ev->node, ev->segment, ev->u.d.sender, p);
	node_rearm(sim, ev->node, false);
}

static void drop_queue(struct rd_sim *sim, struct node *n)
{
	for (size_t k = 0; k < n->qn; k++) {
		sim->seg[n->q[k].segment].st[RD_SIM_STAT_TO_DOWN]++;
		pkt_unref(sim, n->q[k].p);
	}
	n->qn = 0;
}

/* Tell an UP node every carrier change it has not heard of. */
static void tell_carrier(struct rd_sim *sim, int id)
{
	struct node *n = &sim->node[id];

	for (size_t i = 0; i < sim->nseg && n->state == RD_SIM_NODE_UP; i++) {
		struct member *m = find_member(&sim->seg[i], id);

		if (m == NULL || m->carrier == m->told)
			continue;
		m->told = m->carrier;
		if (n->ops.carrier != NULL) {
			sim->in_callback++;
			n->ops.carrier(n->user, (int)i, m->carrier, sim->now);
			sim->in_callback--;
		}
	}
}

static void on_carrier(struct rd_sim *sim, struct event *ev)
{
	struct member *m = find_member(&sim->seg[ev->segment], ev->node);

	if (m == NULL || m->carrier == ev->u.up)
		return;
	m->carrier = ev->u.up;
	trace(sim, ev->u.up ? RD_SIM_EV_CARRIER_UP : RD_SIM_EV_CARRIER_DOWN, ev->node, -1,
	      ev->segment, NULL);
	tell_carrier(sim, ev->node);
	node_rearm(sim, ev->node, false);
}

/* A crashed node forgets what it was told: it boots assuming carrier. */
static void forget_carrier(struct rd_sim *sim, int id)
{
	for (size_t i = 0; i < sim->nseg; i++) {
		struct member *m = find_member(&sim->seg[i], id);

		if (m != NULL)
			m->told = true;
	}
}

static void on_thaw(struct rd_sim *sim, int id)
{
	struct node *n = &sim->node[id];
	n->state = RD_SIM_NODE_UP;
	trace(sim, RD_SIM_EV_THAW, id, -1, -1, NULL);
	/* Deliveries cannot change the node's state synchronously (crashes
	 * and freezes are events), so the queue is stable while we walk it. */
	for (size_t k = 0; k < n->qn; k++) {
		deliver_now(sim, id, n->q[k].segment, n->q[k].sender, n->q[k].p);
		pkt_unref(sim, n->q[k].p);
	}
	n->qn = 0;
	tell_carrier(sim, id);
	node_rearm(sim, id, false);
}

static void dispatch(struct rd_sim *sim, struct event *ev)
{
	struct node *n = ev->node >= 0 ? &sim->node[ev->node] : NULL;
	struct segment *s = ev->segment >= 0 ? &sim->seg[ev->segment] : NULL;

	switch (ev->type) {
	case EV_DELIVER:
		on_deliver(sim, ev);
		break;
	case EV_TIMER:
		n->timer_at = RD_TIME_NEVER;
		sim->st[RD_SIM_STAT_TIMERS]++;
		trace(sim, RD_SIM_EV_TIMER, ev->node, -1, -1, NULL);
		sim->in_callback++;
		n->ops.handle_expiry(n->user, sim->now);
		sim->in_callback--;
		node_rearm(sim, ev->node, true);
		break;
	case EV_CALL:
		sim->in_callback++;
		ev->u.call.fn(ev->u.call.user, sim->now);
		sim->in_callback--;
		break;
	case EV_LINK:
		s->link = *ev->u.link;
		trace(sim, RD_SIM_EV_LINK, -1, -1, ev->segment, NULL);
		break;
	case EV_PARTITION:
		for (size_t i = 0; i < s->n; i++) {
			int id = s->m[i].node;
			s->m[i].group = (size_t)id < ev->u.part.n ? ev->u.part.group[id] : 0;
		}
		trace(sim, RD_SIM_EV_PARTITION, -1, -1, ev->segment, NULL);
		break;
	case EV_HEAL:
		for (size_t i = 0; i < s->n; i++)
			s->m[i].group = 0;
		trace(sim, RD_SIM_EV_HEAL, -1, -1, ev->segment, NULL);
		break;
	case EV_CRASH:
		if (n->state == RD_SIM_NODE_CRASHED)
			break;
		n->state = RD_SIM_NODE_CRASHED;
		n->incarnation++;
		n->timer_gen++;
		n->timer_at = RD_TIME_NEVER;
		drop_queue(sim, n);
		forget_carrier(sim, ev->node);
		trace(sim, RD_SIM_EV_CRASH, ev->node, -1, -1, NULL);
		if (n->ops.crash != NULL) {
			sim->in_callback++;
			n->ops.crash(n->user);
			sim->in_callback--;
		}
		break;
	case EV_RESTART:
		if (n->state != RD_SIM_NODE_CRASHED)
			break;
		n->state = RD_SIM_NODE_UP;
		trace(sim, RD_SIM_EV_RESTART, ev->node, -1, -1, NULL);
		if (n->ops.restart != NULL) {
			sim->in_callback++;
			n->ops.restart(n->user, sim->now);
			sim->in_callback--;
		}
		tell_carrier(sim, ev->node);
		node_rearm(sim, ev->node, false);
		break;
	case EV_FREEZE:
		if (n->state != RD_SIM_NODE_UP)
			break;
		n->state = RD_SIM_NODE_FROZEN;
		n->timer_gen++;
		n->timer_at = RD_TIME_NEVER;
		trace(sim, RD_SIM_EV_FREEZE, ev->node, -1, -1, NULL);
		break;
	case EV_THAW:
		if (n->state == RD_SIM_NODE_FROZEN)
			on_thaw(sim, ev->node);
		break;
	case EV_CARRIER:
		on_carrier(sim, ev);
		break;
	}
}

int64_t rd_sim_run_until(struct rd_sim *sim, rd_time_t t)
{
	int64_t count = 0;
	struct event ev;

	if (sim->in_callback != 0)
		return RD_ERR_STATE;
	sim->nomem = false;
	while (sim->hn > 0 && sim->heap[0].time <= t) {
		heap_pop(sim, &ev);
		sim->now = ev.time;
		if (ev.type == EV_TIMER && ev.u.gen != sim->node[ev.node].timer_gen)
			continue;
		dispatch(sim, &ev);
		event_free(sim, &ev);
		count++;
	}
	if (t > sim->now)
		sim->now = t;
	return sim->nomem ? RD_ERR_NOMEM : count;
}

rd_time_t rd_sim_now(const struct rd_sim *sim)
{
	return sim->now;
}

rd_time_t rd_sim_expiry(const struct rd_sim *sim)
{
	return sim->hn > 0 ? sim->heap[0].time : RD_TIME_NEVER;
}

int rd_sim_handle_expiry(struct rd_sim *sim, rd_time_t now)
{
	int64_t r = rd_sim_run_until(sim, now);

	return r < 0 ? (int)r : 0;
}

void rd_sim_set_trace(struct rd_sim *sim,
                      void (*fn)(void *user, const struct rd_sim_event_info *ev), void *user)
{
	sim->trace = fn;
	sim->trace_user = user;
}

int rd_sim_stats(const struct rd_sim *sim, int segment, uint64_t out[RD_SIM_STAT_COUNT])
{
	if (sim == NULL || out == NULL || (segment != -1 && !seg_ok(sim, segment)))
		return RD_ERR_INVAL;
	if (segment >= 0) {
		memcpy(out, sim->seg[segment].st, sizeof(sim->seg[segment].st));
		return 0;
	}
	memcpy(out, sim->st, sizeof(sim->st));
	for (size_t i = 0; i < sim->nseg; i++)
		for (int k = 0; k < RD_SIM_STAT_COUNT; k++)
			out[k] += sim->seg[i].st[k];
	return 0;
}

const char *rd_sim_stat_name(int stat)
{
	static const char *const names[RD_SIM_STAT_COUNT] = {
	    [RD_SIM_STAT_SENT] = "sent",
	    [RD_SIM_STAT_DELIVERED] = "delivered",
	    [RD_SIM_STAT_LOST] = "lost",
	    [RD_SIM_STAT_DUPLICATED] = "duplicated",
	    [RD_SIM_STAT_REORDERED] = "reordered",
	    [RD_SIM_STAT_PARTITIONED] = "partitioned",
	    [RD_SIM_STAT_TO_DOWN] = "to_down",
	    [RD_SIM_STAT_FREEZE_QUEUED] = "freeze_queued",
	    [RD_SIM_STAT_FREEZE_OVERFLOW] = "freeze_overflow",
	    [RD_SIM_STAT_TIMERS] = "timers",
	    [RD_SIM_STAT_TIMER_STUCK] = "timer_stuck",
	    [RD_SIM_STAT_PCAP_ERRORS] = "pcap_errors",
	    [RD_SIM_STAT_NO_CARRIER] = "no_carrier",
	};

	return stat >= 0 && stat < RD_SIM_STAT_COUNT ? names[stat] : "?";
}

uint64_t rd_sim_random(struct rd_sim *sim)
{
	return rng_next(&sim->scenario);
}

static void node_random(void *user, void *buf, size_t len)
{
	struct rd_sim *sim = user;
	uint8_t *b = buf;
	while (len > 0) {
		uint64_t x = rng_next(&sim->nodes);
		size_t k = RD_MIN(len, sizeof(x));
		memcpy(b, &x, k);
		b += k;
		len -= k;
	}
}

struct rd_random rd_sim_random_hook(struct rd_sim *sim)
{
	return (struct rd_random){.fn = node_random, .user = sim};
}
