/* A simulated CARP cluster: see carp_cluster.h. */
#include <stdlib.h>
#include <string.h>

#include "carp_cluster.h"

static struct cc_event *log_event(struct cc_cluster *c, enum cc_kind kind, int node, int seg,
                                  int from, int to, const char *reason)
{
	struct cc_event *e;

	if (c->nlog == c->caplog) {
		size_t ncap = c->caplog != 0 ? 2 * c->caplog : 64;
		struct cc_event *n = realloc(c->log, ncap * sizeof(*n));
		if (n == NULL) {
			c->failed = true;
			return NULL;
		}
		c->log = n;
		c->caplog = ncap;
	}
	e = &c->log[c->nlog++];
	*e = (struct cc_event){.t = rd_sim_now(c->sim),
	                       .kind = kind,
	                       .node = node,
	                       .seg = seg,
	                       .from = from,
	                       .to = to,
	                       .reason = reason};
	for (int s = 0; s < CC_MAX_SEGS; s++)
		e->last_ad[s] = node >= 0 ? c->node[node].v[s].last_ad : RD_TIME_NEVER;
	return e;
}

/* CARP engine callbacks: `user` is the node's vhost on that segment. */

static int carp_send(void *user, struct rd_carp_vhost *vh, const struct rd_carp_out *out)
{
	struct cc_vhost *v = user;
	struct cc_cluster *c = v->n->c;
	/* Advertisements leave from the virtual MAC, as OpenBSD's do. */
	const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, rd_carp_vhost_vhid(vh)};
	rd_time_t now = rd_sim_now(c->sim);

	v->ads++;
	v->last_ad = now;
	if (v->state == RD_CARP_MASTER && v->master_first_ad == RD_TIME_NEVER && !out->bow_out) {
		v->master_first_ad = now;
		log_event(c, CC_MASTER_AD, v->n->id, v->seg, -1, -1, NULL);
	}
	return rd_sim_send_mac(c->sim, v->n->id, c->seg[v->seg], vmac, out->pkt, out->pkt_len);
}

static void carp_state_change(void *user, struct rd_carp_vhost *vh, enum rd_carp_state old,
                              enum rd_carp_state st, const char *reason)
{
	struct cc_vhost *v = user;
	(void)vh;
	v->state = st;
	if (st == RD_CARP_MASTER) {
		v->master_since = rd_sim_now(v->n->c->sim);
		v->master_first_ad = RD_TIME_NEVER;
	} else {
		v->master_since = RD_TIME_NEVER;
	}
	log_event(v->n->c, CC_STATE, v->n->id, v->seg, (int)old, (int)st, reason);
}

static struct rd_addr seg_addr(struct rd_addr a, int seg)
{
	if (a.af == RD_AF_INET)
		a.u.v4[2] = (uint8_t)(a.u.v4[2] + seg);
	else
		a.u.v6[12] = (uint8_t)(a.u.v6[12] + seg);
	return a;
}

static void engine_stop(struct cc_node *n)
{
	for (int s = 0; s < n->c->nseg; s++) {
		rd_carp_if_free(n->v[s].ifp);
		n->v[s].ifp = NULL;
		n->v[s].vh = NULL;
		n->v[s].state = RD_CARP_INIT;
		n->v[s].master_since = RD_TIME_NEVER;
	}
	rd_carp_node_free(n->cn);
	n->cn = NULL;
}

static int vhost_start(struct cc_vhost *v, rd_time_t now)
{
	struct cc_node *n = v->n;
	struct cc_cluster *c = n->c;
	struct rd_carp_if_config ic = {
	    .node = n->cn,
	    .random = rd_sim_random_hook(c->sim),
	    .cb = {.user = v, .send = carp_send, .state_change = carp_state_change},
	    .name = cc_seg_name(v->seg),
	};
	struct rd_addr vip = seg_addr(c->cfg.vip, v->seg);
	struct rd_carp_vhost_config vc = {
	    .vhid = (uint8_t)(c->cfg.vhid + v->seg),
	    .advbase = c->cfg.advbase,
	    .advskew = c->cfg.advskew[n->id],
	    .preempt = c->cfg.preempt,
	    .replay_strict = c->cfg.replay_strict,
	    .replay_epoch = (uint32_t)(now / RD_SEC),
	    .addrs = &vip,
	    .naddrs = 1,
	    .groups = c->cfg.groups,
	    .ngroups = c->cfg.ngroups,
	};
	memcpy(vc.key, c->key, sizeof(vc.key));
	if (vip.af == RD_AF_INET) {
		vc.src4 = rd_addr_v4(0x0a000000u + ((uint32_t)v->seg << 8) + (uint32_t)n->id + 1);
	} else {
		vc.src6.af = RD_AF_INET6;
		vc.src6.u.v6[0] = 0xfe;
		vc.src6.u.v6[1] = 0x80;
		vc.src6.u.v6[15] = (uint8_t)(n->id + 1);
	}
	v->state = RD_CARP_INIT;
	v->master_since = RD_TIME_NEVER;
	v->master_first_ad = RD_TIME_NEVER;
	if (rd_carp_if_new(&ic, &v->ifp) != 0)
		return -1;
	return rd_carp_vhost_add(v->ifp, &vc, now, &v->vh) != 0 ? -1 : 0;
}

/*
 * Boot a node's engines: one demotion node, one if per segment. Carrier
 * starts up; a segment whose carrier is down is told by the simulator right
 * after (its carrier callback).
 */
static int engine_start(struct cc_node *n, rd_time_t now)
{
	struct rd_carp_node_config nc = {0};

	n->left = false;
	if (rd_carp_node_new(&nc, &n->cn) != 0)
		return -1;
	for (int s = 0; s < n->c->nseg; s++) {
		if (vhost_start(&n->v[s], now) != 0) {
			engine_stop(n);
			return -1;
		}
	}
	return 0;
}

/* Simulator node callbacks: `user` is the node. */

static int seg_index(const struct cc_cluster *c, int sim_seg)
{
	for (int s = 0; s < c->nseg; s++)
		if (c->seg[s] == sim_seg)
			return s;
	return -1;
}

static void node_deliver(void *user, int seg, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct cc_node *n = user;
	int s = seg_index(n->c, seg);

	/* Refusals are counted by the engine (rd_carp_if_stats). */
	if (s >= 0)
		rd_carp_input(n->v[s].ifp, pkt, len, now);
}

static rd_time_t node_expiry(void *user)
{
	struct cc_node *n = user;
	rd_time_t t = RD_TIME_NEVER;

	for (int s = 0; s < n->c->nseg; s++) {
		rd_time_t e = n->v[s].ifp != NULL ? rd_carp_expiry(n->v[s].ifp) : RD_TIME_NEVER;

		t = e < t ? e : t;
	}
	return t;
}

static void node_handle_expiry(void *user, rd_time_t now)
{
	struct cc_node *n = user;

	for (int s = 0; s < n->c->nseg; s++)
		rd_carp_handle_expiry(n->v[s].ifp, now);
}

static void node_crash(void *user)
{
	engine_stop(user);
}

static void node_restart(void *user, rd_time_t now)
{
	struct cc_node *n = user;
	if (engine_start(n, now) != 0)
		n->c->failed = true;
}

/* The node's kernel saw its cable on that segment go (netlink, for carpd). */
static void node_carrier(void *user, int seg, bool up, rd_time_t now)
{
	struct cc_node *n = user;
	int s = seg_index(n->c, seg);

	if (s >= 0 && n->v[s].ifp != NULL)
		rd_carp_if_link(n->v[s].ifp, up, now);
}

static const struct rd_sim_node_callbacks node_ops = {
    .deliver = node_deliver,
    .expiry = node_expiry,
    .handle_expiry = node_handle_expiry,
    .crash = node_crash,
    .restart = node_restart,
    .carrier = node_carrier,
};

/* Simulator trace: keep the faults in the cluster log, in event order. */
static void on_trace(void *user, const struct rd_sim_event_info *ev)
{
	struct cc_cluster *c = user;
	static const int kinds[] = {
	    [RD_SIM_EV_CRASH] = CC_CRASH,
	    [RD_SIM_EV_RESTART] = CC_RESTART,
	    [RD_SIM_EV_FREEZE] = CC_FREEZE,
	    [RD_SIM_EV_THAW] = CC_THAW,
	    [RD_SIM_EV_PARTITION] = CC_PARTITION,
	    [RD_SIM_EV_HEAL] = CC_HEAL,
	    [RD_SIM_EV_LINK] = CC_LINK,
	    [RD_SIM_EV_CARRIER_DOWN] = CC_CARRIER_DOWN,
	    [RD_SIM_EV_CARRIER_UP] = CC_CARRIER_UP,
	};

	switch (ev->kind) {
	case RD_SIM_EV_CRASH:
	case RD_SIM_EV_RESTART:
	case RD_SIM_EV_FREEZE:
	case RD_SIM_EV_THAW:
	case RD_SIM_EV_PARTITION:
	case RD_SIM_EV_HEAL:
	case RD_SIM_EV_LINK:
	case RD_SIM_EV_CARRIER_DOWN:
	case RD_SIM_EV_CARRIER_UP:
		log_event(c, (enum cc_kind)kinds[ev->kind], ev->node,
		          ev->segment >= 0 ? seg_index(c, ev->segment) : -1, -1, -1, NULL);
		break;
	default:
		break;
	}
}

struct cc_cluster *cc_new(const struct cc_config *cfg)
{
	struct rd_sim_config sc;
	rd_sim_config_default(&sc);
	sc.seed = cfg->seed;
	struct cc_cluster *c;
	int nseg = cfg->segments != 0 ? cfg->segments : 1;

	if (cfg->nodes < 1 || cfg->nodes > CC_MAX_NODES || nseg < 1 || nseg > CC_MAX_SEGS ||
	    cfg->vhid + nseg - 1 > 255 || (cfg->vip.af != RD_AF_INET && cfg->vip.af != RD_AF_INET6))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	c->nseg = nseg;
	if (rd_carp_key_from_pass(cfg->pass != NULL ? cfg->pass : "", c->key) != 0 ||
	    rd_sim_new(&sc, &c->sim) != 0) {
		free(c);
		return NULL;
	}
	rd_sim_set_trace(c->sim, on_trace, c);
	for (int s = 0; s < nseg; s++) {
		c->seg[s] = rd_sim_segment_add(c->sim, &cfg->link);
		if (c->seg[s] < 0 ||
		    (cfg->pcap != NULL && rd_sim_segment_set_pcap(c->sim, c->seg[s], cfg->pcap)))
			goto fail;
	}
	for (int i = 0; i < cfg->nodes; i++) {
		struct cc_node *n = &c->node[i];
		n->c = c;
		n->id = i;
		for (int s = 0; s < CC_MAX_SEGS; s++) {
			n->v[s].n = n;
			n->v[s].seg = s;
			n->v[s].last_ad = RD_TIME_NEVER;
			n->v[s].master_since = RD_TIME_NEVER;
			n->v[s].master_first_ad = RD_TIME_NEVER;
		}
		/* The engines start before the simulator first asks their expiry. */
		if (engine_start(n, 0) != 0)
			goto fail;
		struct rd_sim_node_callbacks cb = node_ops;
		cb.user = n;
		if (rd_sim_node_add(c->sim, &cb) != i)
			goto fail;
		for (int s = 0; s < nseg; s++)
			if (rd_sim_attach(c->sim, i, c->seg[s]) != 0)
				goto fail;
	}
	return c;
fail:
	cc_free(c);
	return NULL;
}

void cc_free(struct cc_cluster *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->cfg.nodes; i++)
		if (c->node[i].c != NULL)
			engine_stop(&c->node[i]);
	rd_sim_free(c->sim);
	free(c->log);
	free(c);
}

void cc_leave(struct cc_cluster *c, int node)
{
	struct cc_node *n = &c->node[node];
	if (n->cn == NULL || n->left)
		return;
	log_event(c, CC_LEAVE, node, -1, -1, -1, NULL);
	for (int s = 0; s < c->nseg; s++)
		rd_carp_if_leave(n->v[s].ifp, rd_sim_now(c->sim));
	n->left = true;
	rd_sim_node_rearm(c->sim, node);
}

void cc_rejoin(struct cc_cluster *c, int node)
{
	struct cc_node *n = &c->node[node];
	if (n->cn == NULL || !n->left)
		return;
	log_event(c, CC_REJOIN, node, -1, -1, -1, NULL);
	n->left = false;
	for (int s = 0; s < c->nseg; s++)
		rd_carp_vhost_start(n->v[s].vh, rd_sim_now(c->sim));
	rd_sim_node_rearm(c->sim, node);
}

bool cc_live(const struct cc_cluster *c, int node)
{
	return rd_sim_node_state(c->sim, node) == RD_SIM_NODE_UP && !c->node[node].left;
}

int cc_masters_on(const struct cc_cluster *c, int seg, int *who)
{
	int count = 0;
	for (int i = 0; i < c->cfg.nodes; i++) {
		if (cc_live(c, i) && c->node[i].v[seg].state == RD_CARP_MASTER) {
			count++;
			if (who != NULL)
				*who = i;
		}
	}
	return count;
}

int cc_masters(const struct cc_cluster *c, int *who)
{
	return cc_masters_on(c, 0, who);
}

int cc_holder(const struct cc_cluster *c, int seg)
{
	int who = -1;
	return cc_masters_on(c, seg, &who) == 1 ? who : -1;
}

enum rd_carp_state cc_state(const struct cc_cluster *c, int node, int seg)
{
	return c->node[node].v[seg].state;
}

int cc_carrier_at(struct cc_cluster *c, rd_time_t at, int node, int seg, bool up)
{
	if (seg < 0 || seg >= c->nseg)
		return RD_ERR_INVAL;
	return rd_sim_carrier_at(c->sim, at, node, c->seg[seg], up);
}

const char *cc_seg_name(int seg)
{
	return seg == 1 ? "wan" : "lan";
}

rd_time_t cc_interval(const struct cc_cluster *c, int node)
{
	return rd_carp_interval(c->cfg.advbase, c->cfg.advskew[node]);
}

size_t cc_state_changes_on(const struct cc_cluster *c, int seg, rd_time_t from, rd_time_t to)
{
	size_t k = 0;
	for (size_t i = 0; i < c->nlog; i++)
		if (c->log[i].kind == CC_STATE && (seg < 0 || c->log[i].seg == seg) &&
		    c->log[i].t >= from && c->log[i].t <= to)
			k++;
	return k;
}

size_t cc_state_changes(const struct cc_cluster *c, rd_time_t from, rd_time_t to)
{
	return cc_state_changes_on(c, -1, from, to);
}

const char *cc_kind_name(enum cc_kind k)
{
	static const char *const names[] = {
	    "state", "crash",     "restart", "freeze", "thaw",         "partition",  "heal",
	    "link",  "master-ad", "leave",   "rejoin", "carrier-down", "carrier-up",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}
