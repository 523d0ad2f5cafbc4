/* A simulated CARP cluster: see carp_cluster.h. */
#include <stdlib.h>
#include <string.h>

#include "carp_cluster.h"

static struct cc_event *log_event(struct cc_cluster *c, enum cc_kind kind, int node, int from,
                                  int to, const char *reason)
{
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
	c->log[c->nlog++] = (struct cc_event){.t = rd_sim_now(c->sim),
	                                      .kind = kind,
	                                      .node = node,
	                                      .from = from,
	                                      .to = to,
	                                      .reason = reason,
	                                      .last_ad = RD_TIME_NEVER};
	return &c->log[c->nlog - 1];
}

/* CARP engine callbacks: `user` is the node. */

static int carp_send(void *user, struct rd_carp_vhost *vh, const struct rd_carp_out *out)
{
	struct cc_node *n = user;
	struct cc_cluster *c = n->c;
	/* Advertisements leave from the virtual MAC, as OpenBSD's do. */
	const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, rd_carp_vhost_vhid(vh)};
	rd_time_t now = rd_sim_now(c->sim);

	n->ads++;
	n->last_ad = now;
	if (n->state == RD_CARP_MASTER && n->master_first_ad == RD_TIME_NEVER && !out->bow_out) {
		n->master_first_ad = now;
		log_event(c, CC_MASTER_AD, n->id, -1, -1, NULL);
	}
	return rd_sim_send_mac(c->sim, n->id, c->seg, vmac, out->pkt, out->pkt_len);
}

static void carp_state_change(void *user, struct rd_carp_vhost *vh, enum rd_carp_state old,
                              enum rd_carp_state st, const char *reason)
{
	struct cc_node *n = user;
	(void)vh;
	n->state = st;
	if (st == RD_CARP_MASTER) {
		n->master_since = rd_sim_now(n->c->sim);
		n->master_first_ad = RD_TIME_NEVER;
	} else {
		n->master_since = RD_TIME_NEVER;
	}
	log_event(n->c, CC_STATE, n->id, (int)old, (int)st, reason);
}

static int engine_start(struct cc_node *n, rd_time_t now)
{
	struct cc_cluster *c = n->c;
	struct rd_carp_if_config ic = {
	    .random = rd_sim_random_hook(c->sim),
	    .cb = {.send = carp_send, .state_change = carp_state_change},
	    .user = n,
	};
	struct rd_carp_vhost_config vc = {
	    .vhid = c->cfg.vhid,
	    .advbase = c->cfg.advbase,
	    .advskew = c->cfg.advskew[n->id],
	    .preempt = c->cfg.preempt,
	    .addrs = &c->cfg.vip,
	    .naddrs = 1,
	};
	memcpy(vc.key, c->key, sizeof(vc.key));
	if (c->cfg.vip.af == RD_AF_INET) {
		vc.src4 = rd_addr_v4(0x0a000000u + (uint32_t)n->id + 1);
	} else {
		vc.src6.af = RD_AF_INET6;
		vc.src6.u.v6[0] = 0xfe;
		vc.src6.u.v6[1] = 0x80;
		vc.src6.u.v6[15] = (uint8_t)(n->id + 1);
	}
	n->state = RD_CARP_INIT;
	n->left = false;
	n->master_since = RD_TIME_NEVER;
	n->master_first_ad = RD_TIME_NEVER;
	if (rd_carp_if_new(&ic, &n->ifp) != 0)
		return -1;
	if (rd_carp_vhost_add(n->ifp, &vc, now, &n->vh) != 0) {
		rd_carp_if_free(n->ifp);
		n->ifp = NULL;
		return -1;
	}
	return 0;
}

/* Simulator node callbacks: `user` is the node. */

static void node_deliver(void *user, int seg, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct cc_node *n = user;
	(void)seg;
	/* Refusals are counted by the engine (rd_carp_if_stats). */
	rd_carp_input(n->ifp, pkt, len, now);
}

static rd_time_t node_expiry(void *user)
{
	struct cc_node *n = user;
	return n->ifp != NULL ? rd_carp_expiry(n->ifp) : RD_TIME_NEVER;
}

static void node_handle_expiry(void *user, rd_time_t now)
{
	struct cc_node *n = user;
	rd_carp_handle_expiry(n->ifp, now);
}

static void node_crash(void *user)
{
	struct cc_node *n = user;
	rd_carp_if_free(n->ifp);
	n->ifp = NULL;
	n->vh = NULL;
	n->state = RD_CARP_INIT;
	n->master_since = RD_TIME_NEVER;
}

static void node_restart(void *user, rd_time_t now)
{
	struct cc_node *n = user;
	if (engine_start(n, now) != 0)
		n->c->failed = true;
}

static const struct rd_sim_node_ops node_ops = {
    .deliver = node_deliver,
    .expiry = node_expiry,
    .handle_expiry = node_handle_expiry,
    .crash = node_crash,
    .restart = node_restart,
};

/* Simulator trace: keep the faults in the cluster log, in event order. */
static void on_trace(void *user, const struct rd_sim_event_info *ev)
{
	struct cc_cluster *c = user;
	static const int kinds[] = {
	    [RD_SIM_EV_CRASH] = CC_CRASH,         [RD_SIM_EV_RESTART] = CC_RESTART,
	    [RD_SIM_EV_FREEZE] = CC_FREEZE,       [RD_SIM_EV_THAW] = CC_THAW,
	    [RD_SIM_EV_PARTITION] = CC_PARTITION, [RD_SIM_EV_HEAL] = CC_HEAL,
	    [RD_SIM_EV_LINK] = CC_LINK,
	};
	struct cc_event *e;

	switch (ev->kind) {
	case RD_SIM_EV_CRASH:
	case RD_SIM_EV_RESTART:
	case RD_SIM_EV_FREEZE:
	case RD_SIM_EV_THAW:
	case RD_SIM_EV_PARTITION:
	case RD_SIM_EV_HEAL:
	case RD_SIM_EV_LINK:
		e = log_event(c, (enum cc_kind)kinds[ev->kind], ev->node, -1, -1, NULL);
		if (e != NULL && ev->node >= 0)
			e->last_ad = c->node[ev->node].last_ad;
		break;
	default:
		break;
	}
}

struct cc_cluster *cc_new(const struct cc_config *cfg)
{
	struct rd_sim_config sc = {.seed = cfg->seed};
	struct cc_cluster *c;

	if (cfg->nodes < 1 || cfg->nodes > CC_MAX_NODES ||
	    (cfg->vip.af != RD_AF_INET && cfg->vip.af != RD_AF_INET6))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->cfg = *cfg;
	if (rd_carp_key_from_pass(cfg->pass != NULL ? cfg->pass : "", c->key) != 0 ||
	    rd_sim_create(&sc, &c->sim) != 0) {
		free(c);
		return NULL;
	}
	rd_sim_set_trace(c->sim, on_trace, c);
	c->seg = rd_sim_segment_add(c->sim, &cfg->link);
	if (c->seg < 0 || (cfg->pcap != NULL && rd_sim_segment_set_pcap(c->sim, c->seg, cfg->pcap)))
		goto fail;
	for (int i = 0; i < cfg->nodes; i++) {
		struct cc_node *n = &c->node[i];
		n->c = c;
		n->id = i;
		n->last_ad = RD_TIME_NEVER;
		/* The engine starts before the simulator first asks its expiry. */
		if (engine_start(n, 0) != 0)
			goto fail;
		if (rd_sim_node_add(c->sim, &node_ops, n) != i || rd_sim_attach(c->sim, i, c->seg))
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
		rd_carp_if_free(c->node[i].ifp);
	rd_sim_destroy(c->sim);
	free(c->log);
	free(c);
}

void cc_leave(struct cc_cluster *c, int node)
{
	struct cc_node *n = &c->node[node];
	if (n->ifp == NULL || n->left)
		return;
	struct cc_event *e = log_event(c, CC_LEAVE, node, -1, -1, NULL);
	if (e != NULL)
		e->last_ad = n->last_ad;
	rd_carp_if_leave(n->ifp, rd_sim_now(c->sim));
	n->left = true;
	rd_sim_node_rearm(c->sim, node);
}

void cc_rejoin(struct cc_cluster *c, int node)
{
	struct cc_node *n = &c->node[node];
	if (n->ifp == NULL || !n->left)
		return;
	log_event(c, CC_REJOIN, node, -1, -1, NULL);
	n->left = false;
	rd_carp_vhost_start(n->vh, rd_sim_now(c->sim));
	rd_sim_node_rearm(c->sim, node);
}

bool cc_live(const struct cc_cluster *c, int node)
{
	return rd_sim_node_state(c->sim, node) == RD_SIM_NODE_UP && !c->node[node].left;
}

int cc_masters(const struct cc_cluster *c, int *who)
{
	int count = 0;
	for (int i = 0; i < c->cfg.nodes; i++) {
		if (cc_live(c, i) && c->node[i].state == RD_CARP_MASTER) {
			count++;
			if (who != NULL)
				*who = i;
		}
	}
	return count;
}

rd_time_t cc_interval(const struct cc_cluster *c, int node)
{
	return rd_carp_interval(c->cfg.advbase, c->cfg.advskew[node]);
}

size_t cc_state_changes(const struct cc_cluster *c, rd_time_t from, rd_time_t to)
{
	size_t k = 0;
	for (size_t i = 0; i < c->nlog; i++)
		if (c->log[i].kind == CC_STATE && c->log[i].t >= from && c->log[i].t <= to)
			k++;
	return k;
}

const char *cc_kind_name(enum cc_kind k)
{
	static const char *const names[] = {"state",     "crash",     "restart", "freeze",
	                                    "thaw",      "partition", "heal",    "link",
	                                    "master-ad", "leave",     "rejoin"};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}
