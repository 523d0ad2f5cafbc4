/*
 * A simulated CARP cluster: N nodes, each one CARP engine (rd_carp_if with
 * one vhost) embedded in the simulator on one shared segment. Used by
 * examples/carp-sim and by the CARP property tests (tests/sim/).
 *
 * This is the whole of the embedding: the engine's send callback puts the
 * packet on the simulated segment, the simulator's deliver callback feeds
 * rd_carp_input, and its timer asks rd_carp_expiry / rd_carp_handle_expiry.
 * A crash frees the engine; a restart creates it again.
 */
#ifndef CARP_CLUSTER_H
#define CARP_CLUSTER_H

#include "redund/carp.h"
#include "redund/sim.h"

#define CC_MAX_NODES 64

struct cc_config {
	int nodes; /* 1..CC_MAX_NODES */
	uint8_t vhid;
	const char *pass;   /* at most 19 bytes; NULL: empty */
	struct rd_addr vip; /* IPv4 or IPv6; node sources are 10.0.0.i / fe80::i */
	uint8_t advbase;
	uint8_t advskew[CC_MAX_NODES];
	bool preempt;
	uint64_t seed;
	struct rd_sim_link link;     /* the segment's link at time 0 */
	struct rd_pcap_writer *pcap; /* NULL: none */
};

/* What the cluster log records. */
enum cc_kind {
	CC_STATE,     /* a vhost changed state (from, to, reason) */
	CC_CRASH,     /* node crashed */
	CC_RESTART,   /* node restarted */
	CC_FREEZE,    /* node frozen */
	CC_THAW,      /* node thawed */
	CC_PARTITION, /* segment partitioned */
	CC_HEAL,      /* partition healed */
	CC_LINK,      /* link properties changed */
	CC_MASTER_AD, /* node's first advertisement since it became MASTER */
	CC_LEAVE,     /* node left gracefully (a MASTER sends the bow-out) */
	CC_REJOIN,    /* node that left starts again */
};

struct cc_event {
	rd_time_t t;
	enum cc_kind kind;
	int node; /* -1 for segment events */
	int from, to;
	const char *reason;
	rd_time_t last_ad; /* CC_CRASH, CC_FREEZE, CC_LEAVE: the node's last advertisement before */
};

struct cc_node {
	struct cc_cluster *c;
	int id;
	struct rd_carp_if *ifp; /* NULL while crashed */
	struct rd_carp_vhost *vh;
	enum rd_carp_state state;  /* INIT while crashed */
	uint64_t ads;              /* advertisements sent */
	rd_time_t last_ad;         /* time of the last advertisement sent, or NEVER */
	rd_time_t master_since;    /* NEVER unless MASTER */
	rd_time_t master_first_ad; /* first advertisement since becoming MASTER, or NEVER */
	bool left;                 /* left gracefully (cc_leave) and not rejoined */
};

struct cc_cluster {
	struct cc_config cfg;
	struct rd_sim *sim;
	int seg;
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

/* cc_masters - how many live nodes are MASTER; *who gets the last one found. */
int cc_masters(const struct cc_cluster *c, int *who);

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
 * cc_state_changes - the number of CC_STATE events at times in [from, to].
 */
size_t cc_state_changes(const struct cc_cluster *c, rd_time_t from, rd_time_t to);

/* cc_kind_name - "state", "crash", ... for printing. */
const char *cc_kind_name(enum cc_kind k);

#endif
