/*
 * Internals of the CARP engine shared by its files (not installed):
 * the if and vhost objects and the state machine's entry points.
 *   fsm.c    states, timers, sending, the election
 *   input.c  validation of received advertisements (OpenBSD's order)
 *   carp.c   the if and its vhosts: lifecycle, link, leave, balancing
 *   node.c   the node and its demotion groups: counters, what each vhost
 *            raised, settling a change (advertise, demotion callback)
 */
#ifndef RD_CARP_INTERNAL_H
#define RD_CARP_INTERNAL_H

#include <string.h>

#include "core/internal.h"
#include "redund/carp.h"

/* Families a vhost may use, as indexes. */
enum { F4 = 0, F6 = 1, NFAM = 2 };

/*
 * Strict replay mode: the highest counters a vhost sent or believed that it
 * keeps (input.c), and its own last counters, to tell its own packets
 * (loop). REPLAY_KEEP is also how many nodes that take over at once (their
 * counters just above the same last advertisement) all hear each other.
 */
#define REPLAY_KEEP 64
#define SENT_RING   16

/*
 * Consecutive send results of one OpenBSD carp interface: 3 x its vhosts
 * errors in a row make it demoted (its vhosts raise their groups by 1), as
 * many successes undo it.
 */
struct snd_track {
	unsigned int err, ok;
	bool demoted;
};

/* One demotion group of a node; allocated alone, so its address and name
 * stay put while it lives: until its counter is 0 and no vhost is in it
 * (then carpi_settle frees it; "carp" is kept for ever). */
struct demote_group {
	char name[RD_CARP_GROUP_NAME_MAX];
	unsigned int value;
	unsigned int refs; /* vhosts in it */
};

struct rd_carp_node {
	const struct rd_mem *mem;
	struct rd_log log;
	struct demote_group **groups; /* creation order, "carp" first */
	size_t ngroups;
	struct rd_carp_if **ifs; /* the ifs using the node */
	size_t nifs;
	bool private_node; /* made by rd_carp_if_new, freed with its if */
	bool released;     /* rd_carp_node_free called while ifs remained */
	/* Work for carpi_settle: a counter or a vhost's groups or raises
	 * changed; a send-error state moved during sends; a group may have
	 * become free (counter 0, no vhost in it). */
	bool dirty, snd_dirty, prune;
};

/* A vhost's rate-limited refusal log (one per reason logged). */
enum { RLOG_BADAUTH = 0, RLOG_LOOP = 1, RLOG_REPLAY = 2, NRLOG = 3 };
struct refusal_log {
	rd_time_t last; /* when the last message went out */
	uint64_t suppressed;
	bool logged;
};

struct rd_carp_vhost {
	struct rd_carp_if *ifp;
	uint8_t vhid, advbase, advskew, deadratio;
	bool preempt, replay_strict, admin_up;
	uint8_t key[RD_CARP_KEY_LEN];
	bool has_lladdr;
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
	int delayed_arp;         /* ads until the second announcement; -1 none */
	rd_time_t reannounce_at; /* last split-brain re-announcement, or NEVER */
	/* The tie-break (fsm.c, carpi_elect): the higher address we last won a
	 * tie against as MASTER and when (NEVER: none), and whether we lost a
	 * tie since we were last MASTER (our master-down waits
	 * RD_CARP_TIE_DELAY longer). */
	struct rd_addr tie_src;
	rd_time_t tie_at;
	bool tie_lost;

	uint8_t cookie[RD_CARP_COUNTER_LEN]; /* OpenBSD's vhe_replay_cookie */
	/* Strict mode (input.c, fsm.c): the REPLAY_KEEP highest counters this
	 * vhost sent or believed (unordered) with the families (1 << F4,
	 * 1 << F6) that carried each, the highest counter it dropped from them
	 * (the floor: 0 until one was dropped), and the lowest counter our next
	 * advertisement may carry (above every counter believed). */
	uint64_t kept[REPLAY_KEEP];
	uint8_t kept_fams[REPLAY_KEEP];
	size_t nkept;
	uint64_t replay_floor;
	uint64_t next_counter;
	uint64_t sent[SENT_RING];
	size_t nsent, sent_pos;

	struct snd_track snd; /* RD_CARP_BAL_NONE: each vhost is a carp interface */

	struct refusal_log rlog[NRLOG];

	/* Demotion: the node's groups this vhost is in ("carp" unless it left),
	 * the raises it holds on each of them (carpdev link loss, send errors;
	 * OpenBSD's sc_suppress and sc_sendad_errors), and the demotion it
	 * advertises and elects with, as of the last carpi_settle. */
	struct demote_group *grp[RD_CARP_MAX_GROUPS];
	const char *gname[RD_CARP_MAX_GROUPS];
	size_t ngrp;
	bool raised_link, raised_snd;
	unsigned int demote;

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

	struct rd_carp_node *node; /* shared, or private to this if */

	/* Send-error demotion. With RD_CARP_BAL_IP the if is one carp
	 * interface whose carpnodes are the vhosts (snd below, threshold 3 x
	 * vhosts); with RD_CARP_BAL_NONE each vhost is one (vh->snd, 3). */
	struct snd_track snd;

	uint64_t stats[RD_CARP_STAT_COUNT];
};

static inline int fam_of(uint8_t af)
{
	return af == RD_AF_INET6 ? F6 : F4;
}

static inline bool addr_eq(const struct rd_addr *a, const struct rd_addr *b)
{
	return rd_addr_cmp(a, b) == 0;
}

static inline bool addr_multicast(const struct rd_addr *a)
{
	if (a->af == RD_AF_INET)
		return (a->u.v4[0] & 0xf0) == 0xe0;
	return a->u.v6[0] == 0xff;
}

static inline void count(struct rd_carp_if *ifp, struct rd_carp_vhost *vh, int stat)
{
	ifp->stats[stat]++;
	if (vh != NULL)
		vh->stats[stat]++;
}

/*
 * now + d, saturated below RD_TIME_NEVER: a caller's clock may start
 * anywhere, and a sum that wrapped would put a timer in the past.
 */
static inline rd_time_t time_after(rd_time_t now, rd_time_t d)
{
	if (now >= RD_TIME_NEVER - 1)
		return now;
	return d < RD_TIME_NEVER - 1 - now ? now + d : RD_TIME_NEVER - 1;
}

static inline bool af_ok(uint8_t af)
{
	return af == RD_AF_INET || af == RD_AF_INET6;
}

/* Entry points between the files; hidden from the shared library's ABI. */
#define CARPI_HIDDEN __attribute__((visibility("hidden")))

/* fsm.c */
CARPI_HIDDEN void carpi_set_state(struct rd_carp_vhost *vh, enum rd_carp_state st, rd_time_t now,
                                  const char *why);
CARPI_HIDDEN void carpi_cancel_timers(struct rd_carp_vhost *vh);
CARPI_HIDDEN void carpi_arm_master_down(struct rd_carp_vhost *vh, int fam, rd_time_t now);
CARPI_HIDDEN bool carpi_running(const struct rd_carp_vhost *vh);
CARPI_HIDDEN void carpi_start_backup(struct rd_carp_vhost *vh, rd_time_t now, const char *why);
CARPI_HIDDEN void carpi_go_init(struct rd_carp_vhost *vh, rd_time_t now, const char *why);
CARPI_HIDDEN void carpi_send_ad(struct rd_carp_vhost *vh, rd_time_t now, bool bow_out);
CARPI_HIDDEN void carpi_master_down(struct rd_carp_vhost *vh, rd_time_t now, const char *why);
CARPI_HIDDEN void carpi_step_down(struct rd_carp_vhost *vh, rd_time_t now, const char *why);
CARPI_HIDDEN void carpi_stop_vhost(struct rd_carp_vhost *vh, rd_time_t now);
CARPI_HIDDEN const uint8_t *carpi_hmac_lladdr(const struct rd_carp_vhost *vh);
CARPI_HIDDEN void carpi_elect(struct rd_carp_vhost *vh, const struct rd_carp_hdr *h,
                              const struct rd_addr *src, int fam, rd_time_t now);

/* input.c */
CARPI_HIDDEN void carpi_counter_keep(struct rd_carp_vhost *vh, uint64_t c, unsigned int fams);

/* node.c */
CARPI_HIDDEN struct rd_carp_node *carpi_node_new(const struct rd_mem *mem,
                                                 const struct rd_log *log);
CARPI_HIDDEN int carpi_node_attach(struct rd_carp_node *n, struct rd_carp_if *ifp);
CARPI_HIDDEN void carpi_node_detach(struct rd_carp_if *ifp);
CARPI_HIDDEN int carpi_groups_check(const char *const *names, size_t n);
CARPI_HIDDEN int carpi_vhost_groups(struct rd_carp_vhost *vh, const char *const *names, size_t n);
CARPI_HIDDEN void carpi_vhost_raise(struct rd_carp_vhost *vh, int delta, const char *why);
CARPI_HIDDEN void carpi_vhost_release(struct rd_carp_vhost *vh);
CARPI_HIDDEN unsigned int carpi_vhost_demotion(const struct rd_carp_vhost *vh);
CARPI_HIDDEN void carpi_settle(struct rd_carp_node *n, rd_time_t now);

/* The time of a change made without one (vhost removal, rd_carp_if_free):
 * MASTERs whose demotion changed advertise at the caller's next
 * rd_carp_handle_expiry instead of at once. */
#define CARPI_NOW_UNKNOWN RD_TIME_NEVER

#endif
