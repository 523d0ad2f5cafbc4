/*
 * The CARP interface object: its vhosts (kept in vhid order), their
 * configuration and administrative control, link state, graceful leave,
 * the compat demotion calls, counters and the `ip` balancing filter.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "carp_internal.h"

/* ------------------------------------------------------------------ */
/* The if and its vhosts                                               */

void rd_carp_if_config_default(struct rd_carp_if_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->balancing = RD_CARP_BAL_NONE;
}

void rd_carp_vhost_config_default(struct rd_carp_vhost_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->advbase = 1;
	cfg->deadratio = 3;
	cfg->src4.af = RD_AF_UNSPEC;
	cfg->src6.af = RD_AF_UNSPEC;
}

int rd_carp_if_new(const struct rd_carp_if_config *cfg, struct rd_carp_if **out)
{
	struct rd_carp_if *ifp;
	struct rd_carp_node *node;

	if (cfg == NULL || out == NULL || cfg->cb.send == NULL ||
	    (cfg->balancing != RD_CARP_BAL_NONE && cfg->balancing != RD_CARP_BAL_IP))
		return RD_ERR_INVAL;
	ifp = rd_calloc(cfg->mem, 1, sizeof(*ifp));
	if (ifp == NULL)
		return RD_ERR_NOMEM;
	ifp->mem = cfg->mem;
	ifp->log = cfg->log;
	ifp->random = cfg->random;
	ifp->cb = cfg->cb;
	ifp->user = cfg->cb.user;
	ifp->balancing = cfg->balancing;
	snprintf(ifp->name, sizeof(ifp->name), "%s", cfg->name != NULL ? cfg->name : "-");
	ifp->link_up = true;
	node = cfg->node;
	if (node == NULL) {
		node = carpi_node_new(cfg->mem, &cfg->log);
		if (node == NULL) {
			rd_free(cfg->mem, ifp);
			return RD_ERR_NOMEM;
		}
		node->private_node = true;
	}
	if (carpi_node_attach(node, ifp) != 0) {
		if (node != cfg->node)
			rd_carp_node_free(node);
		rd_free(cfg->mem, ifp);
		return RD_ERR_NOMEM;
	}
	*out = ifp;
	return 0;
}

static void vhost_free(struct rd_carp_if *ifp, struct rd_carp_vhost *vh)
{
	sodium_memzero(vh->key, sizeof(vh->key));
	rd_free(ifp->mem, vh);
}

void rd_carp_if_free(struct rd_carp_if *ifp)
{
	if (ifp == NULL)
		return;
	for (size_t i = 0; i < ifp->nvh; i++)
		carpi_vhost_release(ifp->vh[i]);
	for (size_t i = 0; i < ifp->nvh; i++)
		vhost_free(ifp, ifp->vh[i]);
	ifp->nvh = 0;
	carpi_node_detach(ifp); /* the other ifs settle the raises taken back */
	rd_free(ifp->mem, ifp->vh);
	rd_free(ifp->mem, ifp);
}

struct rd_carp_node *rd_carp_if_node(const struct rd_carp_if *ifp)
{
	return ifp != NULL ? ifp->node : NULL;
}

const char *rd_carp_peer_refusal(const struct rd_addr *addr)
{
	static const uint8_t zero[16];

	if (addr == NULL || !af_ok(addr->af))
		return "not IPv4 or IPv6";
	if (addr_multicast(addr))
		return "multicast";
	if (memcmp(addr->u.v6, zero, rd_af_len(addr->af)) == 0)
		return "unspecified";
	if (addr->af == RD_AF_INET && rd_get32(addr->u.v4) == 0xffffffffu)
		return "broadcast";
	if (addr->af == RD_AF_INET && (addr->u.v4[0] & 0xf0) == 0xf0)
		return "reserved";
	return NULL;
}

int rd_carp_peer_check(const struct rd_addr *addr)
{
	return rd_carp_peer_refusal(addr) != NULL ? RD_ERR_INVAL : 0;
}

static int vhost_check(const struct rd_carp_vhost_config *cfg)
{
	bool fam[NFAM] = {false, false};

	if (cfg->vhid == 0 || cfg->advskew > 254 || cfg->naddrs == 0 ||
	    cfg->naddrs > RD_CARP_MAX_ADDRS || cfg->addrs == NULL ||
	    cfg->npeers > RD_CARP_MAX_PEERS || (cfg->npeers > 0 && cfg->peers == NULL))
		return RD_ERR_INVAL;
	for (size_t i = 0; i < cfg->naddrs; i++) {
		if (!af_ok(cfg->addrs[i].af))
			return RD_ERR_INVAL;
		fam[fam_of(cfg->addrs[i].af)] = true;
	}
	if (fam[F4] && cfg->src4.af != RD_AF_INET)
		return RD_ERR_INVAL;
	if (fam[F6] && cfg->src6.af != RD_AF_INET6)
		return RD_ERR_INVAL;
	for (size_t i = 0; i < cfg->npeers; i++)
		if (rd_carp_peer_check(&cfg->peers[i]) != 0 || !fam[fam_of(cfg->peers[i].af)])
			return RD_ERR_INVAL;
	return carpi_groups_check(cfg->groups, cfg->ngroups);
}

int rd_carp_vhost_add(struct rd_carp_if *ifp, const struct rd_carp_vhost_config *cfg, rd_time_t now,
                      struct rd_carp_vhost **out)
{
	struct rd_carp_vhost *vh, **arr;
	size_t pos;
	int rc;

	if (ifp == NULL || cfg == NULL)
		return RD_ERR_INVAL;
	if ((rc = vhost_check(cfg)) != 0)
		return rc;
	if (rd_carp_vhost_find(ifp, cfg->vhid) != NULL)
		return RD_ERR_EXIST;
	if (ifp->nvh >= RD_CARP_MAX_VHOSTS)
		return RD_ERR_LIMIT;
	vh = rd_calloc(ifp->mem, 1, sizeof(*vh));
	if (vh == NULL)
		return RD_ERR_NOMEM;
	vh->ifp = ifp;
	arr = rd_realloc(ifp->mem, ifp->vh, (ifp->nvh + 1) * sizeof(*arr));
	if (arr == NULL || (rc = carpi_vhost_groups(vh, cfg->groups, cfg->ngroups)) != 0) {
		if (arr != NULL)
			ifp->vh = arr;
		rd_free(ifp->mem, vh);
		return RD_ERR_NOMEM;
	}
	ifp->vh = arr;

	vh->vhid = cfg->vhid;
	vh->advbase = cfg->advbase;
	vh->advskew = cfg->advskew;
	vh->deadratio = cfg->deadratio != 0 ? cfg->deadratio : RD_CARP_DEADRATIO;
	vh->preempt = cfg->preempt;
	vh->replay_strict = cfg->replay_strict;
	memcpy(vh->key, cfg->key, RD_CARP_KEY_LEN);
	memcpy(vh->lladdr, cfg->lladdr, 6);
	vh->has_lladdr = cfg->has_lladdr;
	memcpy(vh->addrs, cfg->addrs, cfg->naddrs * sizeof(cfg->addrs[0]));
	vh->naddrs = cfg->naddrs;
	for (size_t i = 0; i < cfg->naddrs; i++)
		vh->fam[fam_of(cfg->addrs[i].af)] = true;
	vh->src[F4] = cfg->src4;
	vh->src[F6] = cfg->src6;
	if (cfg->npeers > 0)
		memcpy(vh->peers, cfg->peers, cfg->npeers * sizeof(cfg->peers[0]));
	vh->npeers = cfg->npeers;
	vh->mcast[F4] = vh->mcast[F6] = true;
	for (size_t i = 0; i < cfg->npeers; i++)
		vh->mcast[fam_of(cfg->peers[i].af)] = false;
	vh->user = cfg->user;
	vh->admin_up = true;
	vh->state = RD_CARP_INIT;
	vh->state_since = now;
	vh->delayed_arp = -1;
	vh->reannounce_at = RD_TIME_NEVER;
	vh->tie_at = RD_TIME_NEVER;
	carpi_cancel_timers(vh);
	rd_random_buf(&ifp->random, vh->cookie, sizeof(vh->cookie));
	if (vh->replay_strict) {
		uint32_t lo = 0;

		rd_random_buf(&ifp->random, &lo, sizeof(lo));
		vh->next_counter = (uint64_t)cfg->replay_epoch << 32 | (lo & 0x7fffffffu);
		/* Not 0: the floor starts there and no counter at it is believed. */
		vh->next_counter += vh->next_counter == 0;
	}

	for (pos = 0; pos < ifp->nvh && ifp->vh[pos]->vhid < vh->vhid; pos++)
		;
	memmove(&ifp->vh[pos + 1], &ifp->vh[pos], (ifp->nvh - pos) * sizeof(*arr));
	ifp->vh[pos] = vh;
	ifp->nvh++;
	if (out != NULL)
		*out = vh;
	/* On a link that is down it raises its groups at once, as an OpenBSD
	 * carp interface configured on a carpdev without link does. */
	if (!ifp->link_up) {
		vh->raised_link = true;
		carpi_vhost_raise(vh, 1, "carpdev");
	}
	ifp->node->snd_dirty |= ifp->balancing == RD_CARP_BAL_IP && ifp->snd.demoted;
	vh->demote = carpi_vhost_demotion(vh);
	if (carpi_running(vh))
		carpi_start_backup(vh, now, "started");
	carpi_settle(ifp->node, now);
	return 0;
}

void rd_carp_vhost_remove(struct rd_carp_if *ifp, struct rd_carp_vhost *vh)
{
	if (ifp == NULL || vh == NULL)
		return;
	for (size_t i = 0; i < ifp->nvh; i++) {
		if (ifp->vh[i] == vh) {
			carpi_vhost_release(vh);
			memmove(&ifp->vh[i], &ifp->vh[i + 1], (ifp->nvh - i - 1) * sizeof(vh));
			ifp->nvh--;
			vhost_free(ifp, vh);
			carpi_settle(ifp->node, CARPI_NOW_UNKNOWN);
			return;
		}
	}
}

struct rd_carp_vhost *rd_carp_vhost_find(struct rd_carp_if *ifp, uint8_t vhid)
{
	if (ifp == NULL)
		return NULL;
	for (size_t i = 0; i < ifp->nvh; i++)
		if (ifp->vh[i]->vhid == vhid)
			return ifp->vh[i];
	return NULL;
}

void *rd_carp_vhost_user(const struct rd_carp_vhost *vh)
{
	return vh->user;
}

uint8_t rd_carp_vhost_vhid(const struct rd_carp_vhost *vh)
{
	return vh->vhid;
}

enum rd_carp_state rd_carp_vhost_state(const struct rd_carp_vhost *vh)
{
	return vh->state;
}

int rd_carp_vhost_info(const struct rd_carp_vhost *vh, struct rd_carp_vhost_info *out)
{
	if (vh == NULL || out == NULL)
		return RD_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	out->vhid = vh->vhid;
	out->advbase = vh->advbase;
	out->advskew = vh->advskew;
	out->deadratio = vh->deadratio;
	out->preempt = vh->preempt;
	out->replay_strict = vh->replay_strict;
	out->running = carpi_running(vh);
	out->state = vh->state;
	out->state_since = vh->state_since;
	out->demote = (uint8_t)vh->demote;
	out->groups = vh->gname;
	out->ngroups = vh->ngrp;
	out->next_ad = vh->ad_tmo;
	out->md4 = vh->md_tmo[F4];
	out->md6 = vh->md_tmo[F6];
	memcpy(out->stats, vh->stats, sizeof(out->stats));
	out->addrs = vh->addrs;
	out->naddrs = vh->naddrs;
	out->user = vh->user;
	return 0;
}

int rd_carp_vhost_start(struct rd_carp_vhost *vh, rd_time_t now)
{
	if (vh == NULL)
		return RD_ERR_INVAL;
	vh->admin_up = true;
	if (carpi_running(vh) && vh->state == RD_CARP_INIT)
		carpi_start_backup(vh, now, "started");
	return 0;
}

int rd_carp_vhost_stop(struct rd_carp_vhost *vh, rd_time_t now)
{
	if (vh == NULL)
		return RD_ERR_INVAL;
	carpi_stop_vhost(vh, now);
	carpi_settle(vh->ifp->node, now);
	return 0;
}

int rd_carp_vhost_set_state(struct rd_carp_vhost *vh, enum rd_carp_state state, rd_time_t now)
{
	if (vh == NULL || (state != RD_CARP_MASTER && state != RD_CARP_BACKUP))
		return RD_ERR_INVAL;
	if (!carpi_running(vh) || vh->state == RD_CARP_INIT)
		return RD_ERR_STATE;
	if (state == RD_CARP_MASTER)
		carpi_master_down(vh, now, "set to MASTER by the caller");
	else if (vh->state == RD_CARP_MASTER)
		carpi_step_down(vh, now, "set to BACKUP by the caller");
	carpi_settle(vh->ifp->node, now);
	return 0;
}

int rd_carp_vhost_set_timing(struct rd_carp_vhost *vh, uint8_t advbase, uint8_t advskew,
                             rd_time_t now)
{
	if (vh == NULL || advskew > 254)
		return RD_ERR_INVAL;
	vh->advbase = advbase;
	vh->advskew = advskew;
	if (vh->state == RD_CARP_MASTER)
		carpi_send_ad(vh, now, false);
	else if (vh->state == RD_CARP_BACKUP)
		carpi_arm_master_down(vh, -1, now);
	carpi_settle(vh->ifp->node, now);
	return 0;
}

void rd_carp_vhost_set_preempt(struct rd_carp_vhost *vh, bool preempt)
{
	if (vh != NULL)
		vh->preempt = preempt;
}

int rd_carp_vhost_set_groups(struct rd_carp_vhost *vh, const char *const *groups, size_t ngroups,
                             rd_time_t now)
{
	int rc;

	if (vh == NULL || carpi_groups_check(groups, ngroups) != 0)
		return RD_ERR_INVAL;
	rc = carpi_vhost_groups(vh, groups, ngroups);
	carpi_settle(vh->ifp->node, now);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Link, leave, demotion, counters, balancing                          */

int rd_carp_if_link(struct rd_carp_if *ifp, bool up, rd_time_t now)
{
	if (ifp == NULL)
		return RD_ERR_INVAL;
	if (up == ifp->link_up)
		return 0;
	ifp->link_up = up;
	/* OpenBSD carp_carpdev_state: each carp interface on the carpdev goes
	 * INIT and raises every group it is in once, or comes back and lowers
	 * them; by default that is "carp", which every vhost of the node is
	 * in, so the node's other links advertise the demotion at once. */
	for (size_t i = 0; i < ifp->nvh; i++) {
		struct rd_carp_vhost *vh = ifp->vh[i];

		if (!up) {
			carpi_go_init(vh, now, "link down");
			if (!vh->raised_link) {
				vh->raised_link = true;
				carpi_vhost_raise(vh, 1, "carpdev");
			}
			continue;
		}
		if (carpi_running(vh) && vh->state == RD_CARP_INIT)
			carpi_start_backup(vh, now, "link up");
		if (vh->raised_link) {
			vh->raised_link = false;
			carpi_vhost_raise(vh, -1, "carpdev");
		}
	}
	carpi_settle(ifp->node, now);
	return 0;
}

bool rd_carp_if_link_up(const struct rd_carp_if *ifp)
{
	return ifp != NULL && ifp->link_up;
}

int rd_carp_if_leave(struct rd_carp_if *ifp, rd_time_t now)
{
	if (ifp == NULL)
		return RD_ERR_INVAL;
	for (size_t i = 0; i < ifp->nvh; i++)
		carpi_stop_vhost(ifp->vh[i], now);
	carpi_settle(ifp->node, now);
	return 0;
}

int rd_carp_if_demote(struct rd_carp_if *ifp, const char *group, int delta, rd_time_t now)
{
	return ifp != NULL ? rd_carp_node_demote(ifp->node, group, delta, now) : RD_ERR_INVAL;
}

unsigned int rd_carp_if_demotion(const struct rd_carp_if *ifp)
{
	unsigned int d = 0;

	if (ifp == NULL)
		return 0;
	for (size_t i = 0; i < ifp->nvh; i++)
		d = RD_MAX(d, ifp->vh[i]->demote);
	return d;
}

int rd_carp_if_demote_group(const struct rd_carp_if *ifp, size_t i, const char **name,
                            unsigned int *value)
{
	return ifp != NULL ? rd_carp_node_group(ifp->node, i, name, value) : RD_ERR_NOENT;
}

void rd_carp_if_stats(const struct rd_carp_if *ifp, uint64_t out[RD_CARP_STAT_COUNT])
{
	if (ifp == NULL)
		memset(out, 0, sizeof(ifp->stats));
	else
		memcpy(out, ifp->stats, sizeof(ifp->stats));
}

size_t rd_carp_if_vhost_count(const struct rd_carp_if *ifp)
{
	return ifp != NULL ? ifp->nvh : 0;
}

struct rd_carp_vhost *rd_carp_if_vhost_at(struct rd_carp_if *ifp, size_t i)
{
	return ifp != NULL && i < ifp->nvh ? ifp->vh[i] : NULL;
}

/* OpenBSD carp_lsdrop: which balancing node keeps a packet. */
bool rd_carp_if_accept(const struct rd_carp_if *ifp, const struct rd_addr *src,
                       const struct rd_addr *dst)
{
	uint32_t fold = 0;

	if (ifp == NULL || src == NULL || dst == NULL || ifp->balancing == RD_CARP_BAL_NONE ||
	    ifp->nvh == 0)
		return true;
	if (addr_multicast(dst))
		return true;
	if (dst->af == RD_AF_INET) {
		if (rd_get32(dst->u.v4) == 0xffffffffu)
			return true;
		fold = rd_get32(src->u.v4) ^ rd_get32(dst->u.v4);
	} else {
		for (int i = 0; i < 4; i++)
			fold ^= rd_get32(src->u.v6 + 4 * i) ^ rd_get32(dst->u.v6 + 4 * i);
	}
	return ifp->vh[fold % ifp->nvh]->state == RD_CARP_MASTER;
}
