/*
 * The CARP state machine: vhosts on a link, OpenBSD-current election,
 * timers, demotion, loop cookie and the optional strict replay mode. No
 * I/O: packets in with the time, callbacks out, an expiry to wait for.
 * The rules and their sources are in docs/research/carp.md §2.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/internal.h"
#include "redund/carp.h"

/* Families a vhost may use, as indexes. */
enum { F4 = 0, F6 = 1, NFAM = 2 };

/* Strict replay mode: per-sender memory, and our own recent counters. */
#define REPLAY_SLOTS 16
#define SENT_RING    16

struct replay_slot {
	struct rd_addr src;
	uint64_t last;
	rd_time_t seen;
	bool used;
};

struct demote_group {
	char name[RD_CARP_GROUP_NAME_MAX];
	unsigned int value;
};

struct rd_carp_vhost {
	struct rd_carp_if *ifp;
	uint8_t vhid, advbase, advskew, deadratio;
	bool preempt, replay_strict, admin_up;
	uint8_t key[RD_CARP_KEY_LEN];
	const uint8_t *hmac_lladdr; /* NULL or lladdr below */
	uint8_t lladdr[6];
	struct rd_addr addrs[RD_CARP_MAX_ADDRS];
	size_t naddrs;
	struct rd_addr src[NFAM];
	struct rd_addr peers[RD_CARP_MAX_PEERS];
	size_t npeers;
	bool fam[NFAM];   /* has addresses of this family: advertises on it */
	bool mcast[NFAM]; /* no unicast peer of this family */
	void *user;

	enum rd_carp_state state;
	rd_time_t state_since;
	rd_time_t ad_tmo;
	rd_time_t md_tmo[NFAM];
	int delayed_arp; /* ads until the second announcement; -1 none */

	uint8_t cookie[RD_CARP_COUNTER_LEN]; /* OpenBSD's vhe_replay_cookie */
	uint64_t next_counter;               /* strict mode */
	uint64_t sent[SENT_RING];
	size_t nsent, sent_pos;
	struct replay_slot replay[REPLAY_SLOTS];

	uint64_t stats[RD_CARP_STAT_COUNT];
};

struct rd_carp_if {
	const struct rd_mem *mem;
	struct rd_log log;
	struct rd_random random;
	struct rd_carp_callbacks cb;
	void *user;
	enum rd_carp_balancing balancing;
	char name[32];
	bool link_up;

	struct rd_carp_vhost **vh; /* sorted by vhid */
	size_t nvh;

	struct demote_group *groups;
	size_t ngroups;
	unsigned int demote; /* sum, capped at 255 */

	/* Send-error demotion (OpenBSD: 3 x vhosts errors in a row). */
	unsigned int snd_err, snd_ok;
	bool snd_demoted;
	int snd_pending; /* +1 / -1 to apply once the sends are done */

	uint64_t stats[RD_CARP_STAT_COUNT];
};

static int fam_of(uint8_t af)
{
	return af == RD_AF_INET6 ? F6 : F4;
}

static bool addr_eq(const struct rd_addr *a, const struct rd_addr *b)
{
	if (a->af != b->af)
		return false;
	return memcmp(a->u.v6, b->u.v6, a->af == RD_AF_INET ? 4 : 16) == 0;
}

static bool addr_multicast(const struct rd_addr *a)
{
	if (a->af == RD_AF_INET)
		return (a->u.v4[0] & 0xf0) == 0xe0;
	return a->u.v6[0] == 0xff;
}

static void count(struct rd_carp_if *ifp, struct rd_carp_vhost *vh, int stat)
{
	ifp->stats[stat]++;
	if (vh != NULL)
		vh->stats[stat]++;
}

/* ------------------------------------------------------------------ */
/* States and timers                                                   */

static void set_state(struct rd_carp_vhost *vh, enum rd_carp_state st, rd_time_t now,
                      const char *why)
{
	struct rd_carp_if *ifp = vh->ifp;
	enum rd_carp_state old = vh->state;

	if (old == st)
		return;
	vh->state = st;
	vh->state_since = now;
	rd_logf(&ifp->log, RD_LOG_NOTICE, "carp %s vhid %u: %s -> %s (%s)", ifp->name, vh->vhid,
	        rd_carp_state_name(old), rd_carp_state_name(st), why);
	if (ifp->cb.state_change != NULL)
		ifp->cb.state_change(ifp->user, vh, old, st, why);
}

static void cancel_timers(struct rd_carp_vhost *vh)
{
	vh->ad_tmo = RD_TIME_NEVER;
	vh->md_tmo[F4] = RD_TIME_NEVER;
	vh->md_tmo[F6] = RD_TIME_NEVER;
}

/* Arm the master-down timer of one family (or of every family in use). */
static void arm_master_down(struct rd_carp_vhost *vh, int fam, rd_time_t now)
{
	rd_time_t t = now + rd_carp_master_down(vh->advbase, vh->advskew, vh->deadratio);

	for (int f = 0; f < NFAM; f++)
		if (vh->fam[f] && (fam < 0 || fam == f))
			vh->md_tmo[f] = t;
}

static bool running(const struct rd_carp_vhost *vh)
{
	return vh->admin_up && vh->ifp->link_up;
}

/* OpenBSD carp_setrun for INIT: every node starts as BACKUP. */
static void start_backup(struct rd_carp_vhost *vh, rd_time_t now, const char *why)
{
	cancel_timers(vh);
	set_state(vh, RD_CARP_BACKUP, now, why);
	arm_master_down(vh, -1, now);
}

static void go_init(struct rd_carp_vhost *vh, rd_time_t now, const char *why)
{
	cancel_timers(vh);
	vh->delayed_arp = -1;
	set_state(vh, RD_CARP_INIT, now, why);
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */

static uint64_t take_counter(struct rd_carp_vhost *vh)
{
	uint64_t c = vh->next_counter++;

	vh->sent[vh->sent_pos] = c;
	vh->sent_pos = (vh->sent_pos + 1) % SENT_RING;
	if (vh->nsent < SENT_RING)
		vh->nsent++;
	return c;
}

static void note_send_result(struct rd_carp_if *ifp, int rc)
{
	unsigned int thr = 3 * (unsigned int)(ifp->nvh > 0 ? ifp->nvh : 1);

	if (rc < 0) {
		ifp->snd_ok = 0;
		if (++ifp->snd_err >= thr && !ifp->snd_demoted) {
			ifp->snd_demoted = true;
			ifp->snd_pending++;
		}
	} else {
		ifp->snd_err = 0;
		if (ifp->snd_demoted && ++ifp->snd_ok >= thr) {
			ifp->snd_demoted = false;
			ifp->snd_ok = 0;
			ifp->snd_pending--;
		}
	}
}

/* One packet of an advertisement to one destination. */
static void send_one(struct rd_carp_vhost *vh, const uint8_t carp[RD_CARP_HDR_LEN],
                     const struct rd_addr *dst, bool bow_out)
{
	struct rd_carp_if *ifp = vh->ifp;
	uint8_t pkt[RD_CARP_PKT_MAX];
	struct rd_carp_out out;
	uint16_t id = 0;
	int n, rc;

	rd_random_buf(&ifp->random, &id, sizeof(id));
	n = rd_carp_ip_build(&vh->src[fam_of(dst->af)], dst, id, carp, pkt, sizeof(pkt));
	if (n < 0) /* cannot happen: the config was validated */
		return;
	memset(&out, 0, sizeof(out));
	out.af = dst->af;
	out.multicast = addr_multicast(dst);
	out.src = vh->src[fam_of(dst->af)];
	out.dst = *dst;
	out.pkt = pkt;
	out.pkt_len = (size_t)n;
	out.carp = pkt + (size_t)n - RD_CARP_HDR_LEN;
	out.bow_out = bow_out;
	rc = ifp->cb.send(ifp->user, vh, &out);
	if (rc < 0) {
		count(ifp, vh, RD_CARP_STAT_OERRORS);
		rd_logf(&ifp->log, RD_LOG_INFO, "carp %s vhid %u: send failed (%d)", ifp->name,
		        vh->vhid, rc);
	} else {
		count(ifp, vh,
		      dst->af == RD_AF_INET ? RD_CARP_STAT_OPACKETS : RD_CARP_STAT_OPACKETS6);
	}
	note_send_result(ifp, rc);
}

/* OpenBSD carp_send_ad: one advertisement per family, to group or peers. */
static void send_ad(struct rd_carp_vhost *vh, rd_time_t now, bool bow_out)
{
	struct rd_carp_if *ifp = vh->ifp;
	struct rd_carp_hdr h;
	uint8_t wire[RD_CARP_HDR_LEN];

	for (int f = 0; f < NFAM; f++) {
		if (!vh->fam[f])
			continue;
		memset(&h, 0, sizeof(h));
		h.version = RD_CARP_VERSION;
		h.type = RD_CARP_TYPE_ADVERTISEMENT;
		h.vhid = vh->vhid;
		h.advskew = bow_out ? 255 : vh->advskew;
		h.advbase = bow_out ? 255 : vh->advbase;
		h.authlen = RD_CARP_AUTHLEN;
		h.demote = (uint8_t)ifp->demote;
		if (vh->replay_strict)
			rd_put64(h.counter, take_counter(vh));
		else
			memcpy(h.counter, vh->cookie, RD_CARP_COUNTER_LEN);
		rd_carp_hmac(vh->key, vh->hmac_lladdr, vh->vhid, vh->addrs, vh->naddrs, h.counter,
		             RD_CARP_HMAC_NOV6LL, h.hmac);
		rd_carp_hdr_encode(&h, wire);
		if (vh->mcast[f]) {
			struct rd_addr g = f == F4 ? rd_carp_group4() : rd_carp_group6();

			send_one(vh, wire, &g, bow_out);
		} else {
			for (size_t i = 0; i < vh->npeers; i++)
				if (fam_of(vh->peers[i].af) == f)
					send_one(vh, wire, &vh->peers[i], bow_out);
		}
	}
	if (bow_out)
		return;
	vh->ad_tmo = now + rd_carp_interval(vh->advbase, vh->advskew);
	/* OpenBSD's delayed ARP: announce again two advertisements later. */
	if (vh->delayed_arp > 0 && --vh->delayed_arp == 0) {
		vh->delayed_arp = -1;
		if (ifp->cb.announce != NULL)
			ifp->cb.announce(ifp->user, vh, 1);
	}
}

/* OpenBSD carp_master_down: become MASTER now. */
static void master_down(struct rd_carp_vhost *vh, rd_time_t now, const char *why)
{
	struct rd_carp_if *ifp = vh->ifp;

	if (vh->state != RD_CARP_BACKUP)
		return;
	cancel_timers(vh);
	set_state(vh, RD_CARP_MASTER, now, why);
	send_ad(vh, now, false);
	if (ifp->balancing == RD_CARP_BAL_NONE) {
		if (ifp->cb.announce != NULL)
			ifp->cb.announce(ifp->user, vh, 0);
		vh->delayed_arp = 2;
	}
	count(ifp, vh, RD_CARP_STAT_PREEMPT);
}

static void step_down(struct rd_carp_vhost *vh, rd_time_t now, const char *why)
{
	vh->ad_tmo = RD_TIME_NEVER;
	vh->delayed_arp = -1;
	set_state(vh, RD_CARP_BACKUP, now, why);
	arm_master_down(vh, -1, now);
}

static void send_ad_all(struct rd_carp_if *ifp, rd_time_t now)
{
	for (size_t i = 0; i < ifp->nvh; i++)
		if (ifp->vh[i]->state == RD_CARP_MASTER)
			send_ad(ifp->vh[i], now, false);
}

/* ------------------------------------------------------------------ */
/* Demotion                                                            */

static unsigned int demote_sum(const struct rd_carp_if *ifp)
{
	unsigned long s = 0;

	for (size_t i = 0; i < ifp->ngroups; i++)
		s += ifp->groups[i].value;
	return s > RD_CARP_DEMOTE_MAX ? RD_CARP_DEMOTE_MAX : (unsigned int)s;
}

static struct demote_group *group_find(const struct rd_carp_if *ifp, const char *name)
{
	for (size_t i = 0; i < ifp->ngroups; i++)
		if (strcmp(ifp->groups[i].name, name) == 0)
			return &ifp->groups[i];
	return NULL;
}

static int demote_adj(struct rd_carp_if *ifp, const char *group, int delta, rd_time_t now)
{
	struct demote_group *g = group_find(ifp, group);
	long v;
	unsigned int old = ifp->demote;

	if (g == NULL) {
		struct demote_group *ng;

		if (delta <= 0) /* a group that does not exist is at 0 already */
			return 0;
		ng = rd_realloc(ifp->mem, ifp->groups, (ifp->ngroups + 1) * sizeof(*ng));
		if (ng == NULL)
			return RD_ERR_NOMEM;
		ifp->groups = ng;
		g = &ng[ifp->ngroups++];
		memset(g, 0, sizeof(*g));
		snprintf(g->name, sizeof(g->name), "%s", group);
	}
	v = (long)g->value + delta;
	if (v < 0)
		v = 0;
	if (v > (long)UINT32_MAX)
		v = UINT32_MAX;
	g->value = (unsigned int)v;
	ifp->demote = demote_sum(ifp);
	rd_logf(&ifp->log, RD_LOG_NOTICE, "carp %s: demoted group %s by %d to %u (total %u)",
	        ifp->name, g->name, delta, g->value, ifp->demote);
	if (ifp->demote != old) {
		if (ifp->cb.demotion != NULL)
			ifp->cb.demotion(ifp->user, ifp, ifp->demote);
		send_ad_all(ifp, now);
	}
	return 0;
}

/* Apply send-error demotion decided during sends (never recursively). */
static void flush(struct rd_carp_if *ifp, rd_time_t now)
{
	for (int rounds = 0; ifp->snd_pending != 0 && rounds < 4; rounds++) {
		int d = ifp->snd_pending;

		ifp->snd_pending = 0;
		demote_adj(ifp, "snderrors", d, now);
	}
}

/* ------------------------------------------------------------------ */
/* The if and its vhosts                                               */

int rd_carp_if_new(const struct rd_carp_if_config *cfg, struct rd_carp_if **out)
{
	struct rd_carp_if *ifp;

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
	ifp->user = cfg->user;
	ifp->balancing = cfg->balancing;
	snprintf(ifp->name, sizeof(ifp->name), "%s", cfg->name != NULL ? cfg->name : "-");
	ifp->link_up = true;
	/* The engine's own groups exist from the start, so that demoting on
	 * link loss or send errors never needs an allocation that could fail. */
	ifp->groups = rd_calloc(cfg->mem, 2, sizeof(*ifp->groups));
	if (ifp->groups == NULL) {
		rd_free(cfg->mem, ifp);
		return RD_ERR_NOMEM;
	}
	snprintf(ifp->groups[0].name, sizeof(ifp->groups[0].name), "carpdev");
	snprintf(ifp->groups[1].name, sizeof(ifp->groups[1].name), "snderrors");
	ifp->ngroups = 2;
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
		vhost_free(ifp, ifp->vh[i]);
	rd_free(ifp->mem, ifp->vh);
	rd_free(ifp->mem, ifp->groups);
	rd_free(ifp->mem, ifp);
}

static bool af_ok(uint8_t af)
{
	return af == RD_AF_INET || af == RD_AF_INET6;
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
		if (!af_ok(cfg->peers[i].af) || !fam[fam_of(cfg->peers[i].af)])
			return RD_ERR_INVAL;
	return 0;
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
	arr = rd_realloc(ifp->mem, ifp->vh, (ifp->nvh + 1) * sizeof(*arr));
	if (arr == NULL) {
		rd_free(ifp->mem, vh);
		return RD_ERR_NOMEM;
	}
	ifp->vh = arr;

	vh->ifp = ifp;
	vh->vhid = cfg->vhid;
	vh->advbase = cfg->advbase;
	vh->advskew = cfg->advskew;
	vh->deadratio = cfg->deadratio != 0 ? cfg->deadratio : RD_CARP_DEADRATIO;
	vh->preempt = cfg->preempt;
	vh->replay_strict = cfg->replay_strict;
	memcpy(vh->key, cfg->key, RD_CARP_KEY_LEN);
	memcpy(vh->lladdr, cfg->lladdr, 6);
	if (cfg->has_lladdr) {
		/* OpenBSD hashes a custom lladdr, never the default 00:00:5e:00:01:vhid. */
		const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, cfg->vhid};

		if (memcmp(vh->lladdr, vmac, 6) != 0)
			vh->hmac_lladdr = vh->lladdr;
	}
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
	cancel_timers(vh);
	rd_random_buf(&ifp->random, vh->cookie, sizeof(vh->cookie));
	if (vh->replay_strict) {
		uint32_t lo = 0;

		rd_random_buf(&ifp->random, &lo, sizeof(lo));
		vh->next_counter = (uint64_t)cfg->replay_epoch << 32 | (lo & 0x7fffffffu);
	}

	for (pos = 0; pos < ifp->nvh && ifp->vh[pos]->vhid < vh->vhid; pos++)
		;
	memmove(&ifp->vh[pos + 1], &ifp->vh[pos], (ifp->nvh - pos) * sizeof(*arr));
	ifp->vh[pos] = vh;
	ifp->nvh++;
	if (out != NULL)
		*out = vh;
	if (running(vh))
		start_backup(vh, now, "started");
	return 0;
}

void rd_carp_vhost_remove(struct rd_carp_if *ifp, struct rd_carp_vhost *vh)
{
	if (ifp == NULL || vh == NULL)
		return;
	for (size_t i = 0; i < ifp->nvh; i++) {
		if (ifp->vh[i] == vh) {
			memmove(&ifp->vh[i], &ifp->vh[i + 1], (ifp->nvh - i - 1) * sizeof(vh));
			ifp->nvh--;
			vhost_free(ifp, vh);
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
	out->running = running(vh);
	out->state = vh->state;
	out->state_since = vh->state_since;
	out->demote = (uint8_t)vh->ifp->demote;
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
	if (running(vh) && vh->state == RD_CARP_INIT)
		start_backup(vh, now, "started");
	return 0;
}

/* OpenBSD's bow-out: a MASTER tells the backups it leaves (255/255). */
static void stop_vhost(struct rd_carp_vhost *vh, rd_time_t now)
{
	if (vh->state == RD_CARP_MASTER)
		send_ad(vh, now, true);
	vh->admin_up = false;
	go_init(vh, now, "stopped");
}

int rd_carp_vhost_stop(struct rd_carp_vhost *vh, rd_time_t now)
{
	if (vh == NULL)
		return RD_ERR_INVAL;
	stop_vhost(vh, now);
	flush(vh->ifp, now);
	return 0;
}

int rd_carp_vhost_set_state(struct rd_carp_vhost *vh, enum rd_carp_state state, rd_time_t now)
{
	if (vh == NULL || (state != RD_CARP_MASTER && state != RD_CARP_BACKUP))
		return RD_ERR_INVAL;
	if (!running(vh) || vh->state == RD_CARP_INIT)
		return RD_ERR_STATE;
	if (state == RD_CARP_MASTER)
		master_down(vh, now, "set to MASTER by the caller");
	else if (vh->state == RD_CARP_MASTER)
		step_down(vh, now, "set to BACKUP by the caller");
	flush(vh->ifp, now);
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
		send_ad(vh, now, false);
	else if (vh->state == RD_CARP_BACKUP)
		arm_master_down(vh, -1, now);
	flush(vh->ifp, now);
	return 0;
}

void rd_carp_vhost_set_preempt(struct rd_carp_vhost *vh, bool preempt)
{
	if (vh != NULL)
		vh->preempt = preempt;
}

/* ------------------------------------------------------------------ */
/* Input                                                               */

/* A timeval as OpenBSD compares them: (seconds, advskew * 1e6 / 256 us). */
struct tv {
	uint32_t sec, usec;
};

static int tv_cmp(struct tv a, struct tv b)
{
	if (a.sec != b.sec)
		return a.sec < b.sec ? -1 : 1;
	if (a.usec != b.usec)
		return a.usec < b.usec ? -1 : 1;
	return 0;
}

/* The election (OpenBSD carp_proto_input_c, research §2.3). */
static void elect(struct rd_carp_vhost *vh, const struct rd_carp_hdr *h, int fam, rd_time_t now)
{
	struct tv me = {vh->advbase, (uint32_t)vh->advskew * 1000000u / 256};
	struct tv ad = {h->advbase, (uint32_t)h->advskew * 1000000u / 256};
	unsigned int d_me = vh->ifp->demote, d_ad = h->demote;

	switch (vh->state) {
	case RD_CARP_INIT:
		break;
	case RD_CARP_MASTER:
		if ((tv_cmp(me, ad) >= 0 && d_ad <= d_me) || d_ad < d_me)
			step_down(vh, now,
			          d_ad < d_me ? "less demoted master advertising"
			                      : "more frequent advertisement received");
		break;
	case RD_CARP_BACKUP:
		if (vh->preempt && tv_cmp(me, ad) < 0 && d_ad >= d_me) {
			master_down(vh, now, "preempting a slower master");
			break;
		}
		if (d_ad > d_me) {
			master_down(vh, now, "master more demoted");
			break;
		}
		/* A master advertising this rarely will time out anyway. */
		me.sec = (uint32_t)vh->advbase * vh->deadratio;
		if (vh->advbase != 0 && tv_cmp(me, ad) < 0) {
			master_down(vh, now, "master will time out (bow-out)");
			break;
		}
		arm_master_down(vh, fam, now);
		break;
	}
}

static bool is_own_src(const struct rd_carp_if *ifp, const struct rd_addr *a)
{
	for (size_t i = 0; i < ifp->nvh; i++)
		if (addr_eq(&ifp->vh[i]->src[fam_of(a->af)], a))
			return true;
	return false;
}

static int refuse(struct rd_carp_if *ifp, struct rd_carp_vhost *vh, int stat,
                  const struct rd_addr *src)
{
	char buf[RD_ADDR_STRLEN];
	int level = RD_LOG_INFO;

	if (stat == RD_CARP_STAT_BADTTL || stat == RD_CARP_STAT_BADVER)
		level = RD_LOG_NOTICE;
	else if (stat == RD_CARP_STAT_LOOP || stat == RD_CARP_STAT_REPLAY)
		level = RD_LOG_WARNING;
	count(ifp, vh, stat);
	if (ifp->log.fn != NULL && level <= ifp->log.level)
		rd_logf(&ifp->log, level, "carp %s: packet from %s refused: %s", ifp->name,
		        src->af != RD_AF_UNSPEC ? rd_addr_format(src, buf, sizeof(buf)) : "?",
		        rd_carp_strerror(RD_CARP_REFUSED(stat)));
	return RD_CARP_REFUSED(stat);
}

static bool in_sent_ring(const struct rd_carp_vhost *vh, uint64_t c)
{
	for (size_t i = 0; i < vh->nsent; i++)
		if (vh->sent[i] == c)
			return true;
	return false;
}

/*
 * Strict replay check. Returns the slot to update on acceptance, or NULL
 * (with *refuse set) when the packet must be refused.
 */
static struct replay_slot *replay_check(struct rd_carp_vhost *vh, const struct rd_addr *src,
                                        uint64_t c, bool *bad)
{
	struct replay_slot *free_slot = NULL, *oldest = NULL;

	*bad = false;
	if (!vh->mcast[fam_of(src->af)]) {
		bool known = false;

		for (size_t i = 0; i < vh->npeers; i++)
			known |= addr_eq(&vh->peers[i], src);
		if (!known) {
			*bad = true;
			return NULL;
		}
	}
	for (size_t i = 0; i < REPLAY_SLOTS; i++) {
		struct replay_slot *s = &vh->replay[i];

		if (!s->used) {
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (addr_eq(&s->src, src)) {
			if (c <= s->last) {
				*bad = true;
				return NULL;
			}
			return s;
		}
		if (oldest == NULL || s->seen < oldest->seen)
			oldest = s;
	}
	return free_slot != NULL ? free_slot : oldest;
}

static int input_common(struct rd_carp_if *ifp, const struct rd_addr *src,
                        const struct rd_addr *dst, uint8_t ttl, const uint8_t *carp, size_t len,
                        rd_time_t now)
{
	struct rd_carp_vhost *vh;
	struct rd_carp_hdr h;
	struct replay_slot *slot = NULL;
	struct rd_addr group = src->af == RD_AF_INET ? rd_carp_group4() : rd_carp_group6();
	int fam = fam_of(src->af);
	bool dst_mcast = addr_multicast(dst);

	if (dst_mcast ? !addr_eq(dst, &group) : !is_own_src(ifp, dst))
		return refuse(ifp, NULL, RD_CARP_STAT_BADIF, src);
	if (ttl != RD_CARP_TTL)
		return refuse(ifp, NULL, RD_CARP_STAT_BADTTL, src);
	if (len < RD_CARP_HDR_LEN)
		return refuse(ifp, NULL, RD_CARP_STAT_BADLEN, src);
	if (!rd_carp_hdr_cksum_ok(carp))
		return refuse(ifp, NULL, RD_CARP_STAT_BADSUM, src);
	rd_carp_hdr_decode(carp, len, &h);

	vh = rd_carp_vhost_find(ifp, h.vhid);
	if (vh == NULL || !running(vh) || vh->state == RD_CARP_INIT || vh->mcast[fam] != dst_mcast)
		return refuse(ifp, NULL, RD_CARP_STAT_BADVHID, src);
	vh->stats[fam == F4 ? RD_CARP_STAT_IPACKETS : RD_CARP_STAT_IPACKETS6]++;
	if (h.version != RD_CARP_VERSION || h.type != RD_CARP_TYPE_ADVERTISEMENT)
		return refuse(ifp, vh, RD_CARP_STAT_BADVER, src);
	if (!rd_carp_hmac_verify(vh->key, vh->hmac_lladdr, vh->vhid, vh->addrs, vh->naddrs,
	                         h.counter, h.hmac))
		return refuse(ifp, vh, RD_CARP_STAT_BADAUTH, src);
	if (vh->replay_strict) {
		uint64_t c = rd_get64(h.counter);
		bool bad;

		if (is_own_src(ifp, src) || in_sent_ring(vh, c))
			return refuse(ifp, vh, RD_CARP_STAT_LOOP, src);
		slot = replay_check(vh, src, c, &bad);
		if (bad)
			return refuse(ifp, vh, RD_CARP_STAT_REPLAY, src);
		slot->used = true;
		slot->src = *src;
		slot->last = c;
		slot->seen = now;
	} else if (sodium_memcmp(h.counter, vh->cookie, RD_CARP_COUNTER_LEN) == 0) {
		return refuse(ifp, vh, RD_CARP_STAT_LOOP, src);
	}
	elect(vh, &h, fam, now);
	flush(ifp, now);
	return 0;
}

int rd_carp_input(struct rd_carp_if *ifp, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct rd_carp_ip_info info;
	static const struct rd_addr none;

	if (ifp == NULL || pkt == NULL)
		return RD_ERR_INVAL;
	count(ifp, NULL,
	      len > 0 && pkt[0] >> 4 == 6 ? RD_CARP_STAT_IPACKETS6 : RD_CARP_STAT_IPACKETS);
	if (rd_carp_ip_parse(pkt, len, &info) != 0)
		return refuse(ifp, NULL, RD_CARP_STAT_HDROPS, &none);
	return input_common(ifp, &info.src, &info.dst, info.ttl, info.carp, info.carp_len, now);
}

int rd_carp_input_payload(struct rd_carp_if *ifp, const struct rd_addr *src,
                          const struct rd_addr *dst, uint8_t ttl, const uint8_t *carp, size_t len,
                          rd_time_t now)
{
	static const struct rd_addr none;

	if (ifp == NULL || src == NULL || dst == NULL || (carp == NULL && len > 0))
		return RD_ERR_INVAL;
	count(ifp, NULL, src->af == RD_AF_INET6 ? RD_CARP_STAT_IPACKETS6 : RD_CARP_STAT_IPACKETS);
	if (!af_ok(src->af) || src->af != dst->af)
		return refuse(ifp, NULL, RD_CARP_STAT_HDROPS, &none);
	return input_common(ifp, src, dst, ttl, carp, len, now);
}

/* ------------------------------------------------------------------ */
/* Time, link, leave                                                   */

rd_time_t rd_carp_expiry(const struct rd_carp_if *ifp)
{
	rd_time_t t = RD_TIME_NEVER;

	if (ifp == NULL)
		return t;
	for (size_t i = 0; i < ifp->nvh; i++) {
		const struct rd_carp_vhost *vh = ifp->vh[i];

		t = RD_MIN(t, vh->ad_tmo);
		t = RD_MIN(t, vh->md_tmo[F4]);
		t = RD_MIN(t, vh->md_tmo[F6]);
	}
	return t;
}

int rd_carp_handle_expiry(struct rd_carp_if *ifp, rd_time_t now)
{
	if (ifp == NULL)
		return RD_ERR_INVAL;
	for (size_t i = 0; i < ifp->nvh; i++) {
		struct rd_carp_vhost *vh = ifp->vh[i];

		if (vh->state == RD_CARP_MASTER && vh->ad_tmo <= now)
			send_ad(vh, now, false);
		else if (vh->state == RD_CARP_BACKUP &&
		         (vh->md_tmo[F4] <= now || vh->md_tmo[F6] <= now))
			master_down(vh, now, "master down timer expired");
	}
	flush(ifp, now);
	return 0;
}

int rd_carp_if_link(struct rd_carp_if *ifp, bool up, rd_time_t now)
{
	if (ifp == NULL)
		return RD_ERR_INVAL;
	if (up == ifp->link_up)
		return 0;
	ifp->link_up = up;
	if (!up) {
		for (size_t i = 0; i < ifp->nvh; i++)
			go_init(ifp->vh[i], now, "link down");
		demote_adj(ifp, "carpdev", 1, now);
	} else {
		for (size_t i = 0; i < ifp->nvh; i++)
			if (running(ifp->vh[i]) && ifp->vh[i]->state == RD_CARP_INIT)
				start_backup(ifp->vh[i], now, "link up");
		demote_adj(ifp, "carpdev", -1, now);
	}
	flush(ifp, now);
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
		stop_vhost(ifp->vh[i], now);
	flush(ifp, now);
	return 0;
}

int rd_carp_if_demote(struct rd_carp_if *ifp, const char *group, int delta, rd_time_t now)
{
	int rc;

	if (ifp == NULL || group == NULL || group[0] == '\0' ||
	    strnlen(group, RD_CARP_GROUP_NAME_MAX) >= RD_CARP_GROUP_NAME_MAX)
		return RD_ERR_INVAL;
	rc = demote_adj(ifp, group, delta, now);
	flush(ifp, now);
	return rc;
}

unsigned int rd_carp_if_demotion(const struct rd_carp_if *ifp)
{
	return ifp != NULL ? ifp->demote : 0;
}

int rd_carp_if_demote_group(const struct rd_carp_if *ifp, size_t i, const char **name,
                            unsigned int *value)
{
	if (ifp == NULL || i >= ifp->ngroups)
		return RD_ERR_NOENT;
	if (name != NULL)
		*name = ifp->groups[i].name;
	if (value != NULL)
		*value = ifp->groups[i].value;
	return 0;
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
