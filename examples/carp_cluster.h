/*
 * A simulated CARP cluster: N nodes (firewalls) on one or two shared
 * segments, a LAN and a WAN. Each node is one rd_carp_node with one
 * rd_carp_if per segment and one vhost on each, embedded in the simulator.
 * Used by examples/carp-sim and by the CARP property tests (tests/sim/).
 *
 * This is the whole of the embedding: the engines' send callback puts the
 * packet on the simulated segment, the simulator's deliver callback feeds
 * rd_carp_input of that segment's if, its carrier callback calls
 * rd_carp_if_link, and its timer asks rd_carp_expiry / rd_carp_handle_expiry
 * of every if. A crash frees the engines; a restart creates them again.
 *
 * The ifs of a node share its demotion groups: with the defaults (every
 * vhost in "carp") a node that loses carrier on its WAN advertises the
 * demotion on its LAN at once and the whole firewall fails over; with
 * groups {"-carp"} the vhosts are independent and only the WAN moves.
 */
#ifndef CARP_CLUSTER_H
#define CARP_CLUSTER_H

#include "redund/carp.h"
#include "redund/sim.h"

#define CC_MAX_NODES 64
#define CC_MAX_SEGS  2 /* segment 0 is the LAN, 1 the WAN */

struct cc_config {
	int nodes;        /* 1..CC_MAX_NODES */
	int segments;     /* 1 or 2 (0 means 1) */
	uint8_t vhid;     /* the LAN's; segment s uses vhid + s */
	const char *pass; /* at most 19 bytes; NULL: empty */
	/* The LAN's virtual address, IPv4 or IPv6; segment s's has s added to
	 * byte 2 (IPv4: 10.0.0.100 -> 10.0.1.100) or byte 12 (IPv6). Node i's
	 * sources on segment s are 10.0.s.(i+1) / fe80::(i+1). */
	struct rd_addr vip;
	uint8_t advbase;
	uint8_t advskew[CC_MAX_NODES];
	bool preempt;
	/* Strict replay protection; each start's epoch is the virtual time in
	 * seconds (carpd's is the wall clock's). */
	bool replay_strict;
	/* Demotion groups of every vhost besides "carp" (e.g. {"-carp"}). */
	const char *const *groups;
	size_t ngroups;
	uint64_t seed;
	struct rd_sim_link link;     /* every segment's link at time 0 */
	struct rd_pcap_writer *pcap; /* NULL: none; one file for all segments */
};

/* What the cluster log records. */
enum cc_kind {
	CC_STATE,        /* a vhost changed state (from, to, reason) */
	CC_CRASH,        /* node crashed */
	CC_RESTART,      /* node restarted */
	CC_FREEZE,       /* node frozen */
	CC_THAW,         /* node thawed */
	CC_PARTITION,    /* segment partitioned */
	CC_HEAL,         /* partition healed */
	CC_LINK,         /* link properties changed */
	CC_MASTER_AD,    /* node's first advertisement since it became MASTER */
	CC_LEAVE,        /* node left gracefully (a MASTER sends the bow-out) */
	CC_REJOIN,       /* node that left starts again */
	CC_CARRIER_DOWN, /* node lost carrier on segment seg */
	CC_CARRIER_UP,   /* node's carrier on segment seg came back */
};

struct cc_event {
	rd_time_t t;
	enum cc_kind kind;
	int node; /* -1 for segment events */
	int seg;  /* the segment (index into cc_cluster.seg) of state, master-ad,
	             carrier, partition, heal and link events; else -1 */
	int from, to;
	const char *reason;
	/* CC_CRASH, CC_FREEZE, CC_LEAVE, CC_CARRIER_DOWN: the node's last
	 * advertisement on each segment before, or NEVER */
	rd_time_t last_ad[CC_MAX_SEGS];
};

/* A node's vhost on one segment (its rd_carp_if's user). */
struct cc_vhost {
	struct cc_node *n;
	int seg;
	struct rd_carp_if *ifp; /* NULL while crashed */
	struct rd_carp_vhost *vh;
	enum rd_carp_state state;  /* INIT while crashed */
	uint64_t ads;              /* advertisements sent */
	rd_time_t last_ad;         /* time of the last advertisement sent, or NEVER */
	rd_time_t master_since;    /* NEVER unless MASTER */
	rd_time_t master_first_ad; /* first advertisement since becoming MASTER, or NEVER */
};

struct cc_node {
	struct cc_cluster *c;
	int id;
	struct rd_carp_node *cn; /* the node's demotion groups; NULL while crashed */
	struct cc_vhost v[CC_MAX_SEGS];
	bool left; /* left gracefully (cc_leave) and not rejoined */
};

struct cc_cluster {
	struct cc_config cfg;
	struct rd_sim *sim;
	int nseg;
	int seg[CC_MAX_SEGS]; /* simulator segment ids */
	uint8_t key[RD_CARP_KEY_LEN];
	struct cc_node node[CC_MAX_NODES];
	struct cc_event *log;
	size_t nlog, caplog;
	bool failed; /* an engine call failed (out of memory, bad config) */
};

/*
 * cc_new - build the cluster at time 0: every node's vhost starts (INIT ->
 * BACKUP). Returns NULL on a bad configuration or out of memory.
 */
struct cc_cluster *cc_new(const struct cc_config *cfg);

/* cc_free - free the cluster, its engines and the simulator. */
void cc_free(struct cc_cluster *c);

/*
 * cc_masters_on - how many live nodes are MASTER on segment seg; *who (if
 * not NULL) gets the last one found. cc_masters is cc_masters_on(c, 0, ...).
 */
int cc_masters_on(const struct cc_cluster *c, int seg, int *who);
int cc_masters(const struct cc_cluster *c, int *who);

/* cc_holder - the live node that is the one MASTER on seg, or -1 (none or several). */
int cc_holder(const struct cc_cluster *c, int seg);

/* cc_state - node's vhost state on seg (INIT while crashed). */
enum rd_carp_state cc_state(const struct cc_cluster *c, int node, int seg);

/*
 * cc_carrier_at - node's carrier on segment seg goes up or down at `at`
 * (rd_sim_carrier_at: the node's if there sees link down / up). Returns
 * rd_sim_carrier_at's result, RD_ERR_INVAL for a bad segment.
 */
int cc_carrier_at(struct cc_cluster *c, rd_time_t at, int node, int seg, bool up);

/* cc_seg_name - "lan" or "wan" (with one segment: "lan"). */
const char *cc_seg_name(int seg);

/*
 * cc_leave - node leaves gracefully now (rd_carp_if_leave: a MASTER sends
 * the bow-out advertisement, the vhost goes INIT). cc_rejoin starts it
 * again (INIT -> BACKUP). Both may be called from simulator callbacks
 * (rd_sim_call_at); they do nothing to a crashed node.
 */
void cc_leave(struct cc_cluster *c, int node);
void cc_rejoin(struct cc_cluster *c, int node);

/* cc_live - true if the node is neither crashed, frozen nor left. */
bool cc_live(const struct cc_cluster *c, int node);

/* cc_interval - node's advertisement interval (ns). */
rd_time_t cc_interval(const struct cc_cluster *c, int node);

/*
 * cc_state_changes - the number of CC_STATE events at times in [from, to]
 * (all segments); cc_state_changes_on - on segment seg only.
 */
size_t cc_state_changes(const struct cc_cluster *c, rd_time_t from, rd_time_t to);
size_t cc_state_changes_on(const struct cc_cluster *c, int seg, rd_time_t from, rd_time_t to);

/* cc_kind_name - "state", "crash", ... for printing. */
const char *cc_kind_name(enum cc_kind k);

#endif
