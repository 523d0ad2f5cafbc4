/*
 * libredund — a deterministic cluster simulator: a virtual clock, simulated
 * L2 segments, and nodes that are opaque engines driven through callbacks.
 *
 * Everything is decided by the seed: the same seed and the same calls give
 * the same run, event for event. The simulator has its own PRNG
 * (xoshiro256** seeded by splitmix64) and never reads a clock; time is
 * virtual, in rd_time_t nanoseconds starting at 0.
 *
 * Model:
 *  - A segment is a broadcast domain. A packet a node sends on a segment is
 *    carried to every other node attached to it (like multicast); the nodes
 *    filter what is not for them. Packets are IP packets.
 *  - Each segment has link properties (loss, delay, jitter, duplication,
 *    reordering), drawn independently for every receiver of every packet,
 *    and may be partitioned into groups that cannot hear each other.
 *  - A node is driven the way every embedder drives engines: packets in, with
 *    the current time; the simulator asks for the node's next expiry after
 *    every callback and calls handle_expiry at that time.
 *  - Faults are scheduled at given virtual times: link changes, partitions
 *    and heals, a node's carrier on one segment going down or up (a pulled
 *    cable: the node neither sends nor receives there, and is told through
 *    its carrier callback, as netlink tells a daemon), node crash (callbacks stop; the node
 * discards its state), freeze (nothing is processed; arriving packets queue up to a bound and are
 * delivered on thaw, like a SIGSTOPped process's socket buffer), thaw and restart.
 *
 * Events at the same time run in the order they were scheduled.
 *
 * The simulator is not thread-safe; callbacks run on the caller's thread,
 * inside rd_sim_run_until. Memory comes from the allocator given at
 * creation.
 */
#ifndef REDUND_SIM_H
#define REDUND_SIM_H

#include "redund/common.h"
#include "redund/pcap.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rd_sim;

/* Probabilities are in parts per million; RD_SIM_PCT(1.5) is 1.5 %. */
#define RD_SIM_PPM_MAX 1000000u
#define RD_SIM_PCT(p)  ((uint32_t)((p)*10000.0 + 0.5))

/* Link properties of a segment. All zero: a perfect link with no delay. */
struct rd_sim_link {
	uint32_t loss_ppm;       /* each delivery is lost with this probability */
	uint32_t dup_ppm;        /* each delivery is duplicated with this probability */
	uint32_t reorder_ppm;    /* each delivery is held back by reorder_delay ... */
	rd_time_t reorder_delay; /* ... so later packets overtake it */
	rd_time_t delay;         /* fixed one-way delay */
	rd_time_t jitter;        /* plus a uniform random [0, jitter] per delivery */
};

/*
 * Node callbacks, each passed `user`. Every callback may call rd_sim_send
 * and the rd_sim_*_at schedulers, but not rd_sim_run_until or
 * rd_sim_handle_expiry.
 */
struct rd_sim_node_callbacks {
	void *user;
	/* A packet arrived on segment at time now. pkt is valid during the call. */
	void (*deliver)(void *user, int segment, const uint8_t *pkt, size_t len, rd_time_t now);
	/* When the node next needs handle_expiry (RD_TIME_NEVER: no timer). */
	rd_time_t (*expiry)(void *user);
	/* The expiry time came. */
	void (*handle_expiry)(void *user, rd_time_t now);
	/* The node crashed: discard all state (optional, may be NULL). */
	void (*crash)(void *user);
	/* The node boots again after a crash, at now (optional, may be NULL). */
	void (*restart)(void *user, rd_time_t now);
	/*
	 * The node's carrier on segment went down or up (optional, may be
	 * NULL). Called when it changes while the node is UP; a node that was
	 * frozen or crashed meanwhile is told after its thaw or restart
	 * callback, for each segment whose carrier differs from what it was
	 * last told (a crash forgets: a booting node assumes carrier up).
	 */
	void (*carrier)(void *user, int segment, bool up, rd_time_t now);
};

/* Creation parameters; fill with rd_sim_config_default. */
struct rd_sim_config {
	uint64_t seed;
	const struct rd_mem *mem; /* NULL: libc */
	/*
	 * Packets a frozen node keeps for delivery on thaw (its socket
	 * buffer); later arrivals are dropped. 0 means 64.
	 */
	size_t freeze_queue_max;
};

/* What happened, for the trace hook (rd_sim_set_trace). */
enum rd_sim_event_kind {
	RD_SIM_EV_SEND,           /* node sent a packet on segment */
	RD_SIM_EV_DELIVER,        /* packet delivered to node (peer: the sender) */
	RD_SIM_EV_DROP_LOSS,      /* lost on the link */
	RD_SIM_EV_DROP_PARTITION, /* sender and receiver in different partition groups */
	RD_SIM_EV_DROP_DOWN,      /* receiver crashed (or restarted since the send) */
	RD_SIM_EV_DROP_OVERFLOW,  /* receiver frozen and its queue full */
	RD_SIM_EV_DUPLICATE,      /* the link duplicated a delivery */
	RD_SIM_EV_QUEUED,         /* receiver frozen: queued for thaw */
	RD_SIM_EV_TIMER,          /* node's handle_expiry called */
	RD_SIM_EV_CRASH,
	RD_SIM_EV_RESTART,
	RD_SIM_EV_FREEZE,
	RD_SIM_EV_THAW,
	RD_SIM_EV_LINK,         /* segment's link properties changed */
	RD_SIM_EV_PARTITION,    /* segment partitioned */
	RD_SIM_EV_HEAL,         /* segment's partition healed */
	RD_SIM_EV_CARRIER_DOWN, /* node lost carrier on segment */
	RD_SIM_EV_CARRIER_UP,   /* node's carrier on segment came back */
	RD_SIM_EV_DROP_CARRIER, /* receiver has no carrier on the segment */
};

/* One trace record. Pointers are valid only during the trace call. */
struct rd_sim_event_info {
	rd_time_t time;
	enum rd_sim_event_kind kind;
	int node;    /* the node concerned, or -1 */
	int peer;    /* for packet events: the sender; else -1 */
	int segment; /* or -1 */
	const uint8_t *pkt;
	size_t len;
};

/*
 * Counters, per segment or for the whole simulation, copied out by
 * rd_sim_stats and named by rd_sim_stat_name.
 */
enum rd_sim_stat {
	RD_SIM_STAT_SENT = 0,        /* packets sent */
	RD_SIM_STAT_DELIVERED,       /* deliveries to a node's deliver callback */
	RD_SIM_STAT_LOST,            /* deliveries lost on the link */
	RD_SIM_STAT_DUPLICATED,      /* extra copies made by the link */
	RD_SIM_STAT_REORDERED,       /* deliveries held back for reordering */
	RD_SIM_STAT_PARTITIONED,     /* deliveries blocked by a partition */
	RD_SIM_STAT_TO_DOWN,         /* deliveries to a crashed node */
	RD_SIM_STAT_FREEZE_QUEUED,   /* deliveries queued at a frozen node */
	RD_SIM_STAT_FREEZE_OVERFLOW, /* deliveries dropped: frozen node's queue full */
	RD_SIM_STAT_TIMERS,          /* handle_expiry calls */
	RD_SIM_STAT_TIMER_STUCK,     /* expiry still due right after handle_expiry */
	RD_SIM_STAT_PCAP_ERRORS,     /* records the pcap writer failed to write */
	RD_SIM_STAT_NO_CARRIER,      /* deliveries dropped: receiver without carrier there */
	RD_SIM_STAT_COUNT
};

/* rd_sim_stat_name - "sent", "delivered", ...; "?" out of range. Thread-safe. */
RD_EXPORT const char *rd_sim_stat_name(int stat);

/* A node's life state. */
enum rd_sim_node_state {
	RD_SIM_NODE_UP,
	RD_SIM_NODE_FROZEN,
	RD_SIM_NODE_CRASHED,
};

/*
 * rd_sim_config_default - seed 0, libc memory, a frozen node keeps 64
 * packets. Thread-safe.
 */
RD_EXPORT void rd_sim_config_default(struct rd_sim_config *cfg);

/*
 * rd_sim_new - a new simulation at time 0 with no segments or nodes.
 * Stores it in *out; free with rd_sim_free. Returns 0, RD_ERR_INVAL or
 * RD_ERR_NOMEM.
 */
RD_EXPORT int rd_sim_new(const struct rd_sim_config *cfg, struct rd_sim **out);

/*
 * rd_sim_free - free the simulation and every queued packet. Does not
 * call node callbacks, and does not close pcap writers (their owner does).
 * NULL is a no-op.
 */
RD_EXPORT void rd_sim_free(struct rd_sim *sim);

/*
 * rd_sim_segment_add - add a segment with link properties link (NULL: a
 * perfect link). Returns the segment id (>= 0, counting up from 0) or
 * RD_ERR_NOMEM / RD_ERR_INVAL (a probability above RD_SIM_PPM_MAX).
 */
RD_EXPORT int rd_sim_segment_add(struct rd_sim *sim, const struct rd_sim_link *link);

/*
 * rd_sim_segment_set_pcap - record every packet sent on segment into w
 * (NULL: stop), stamped with the send time, once per send as the sender put
 * it on the wire (losses, duplicates and partitions happen after). The
 * caller owns w and must keep it open while the simulation may send; one
 * writer may serve several segments. With an Ethernet writer, frames carry
 * the sender's MAC (see rd_sim_send_mac). Returns 0 or RD_ERR_INVAL.
 */
RD_EXPORT int rd_sim_segment_set_pcap(struct rd_sim *sim, int segment, struct rd_pcap_writer *w);

/*
 * rd_sim_node_add - add a node driven by ops (deliver, expiry and
 * handle_expiry are required; copied, ops->user is their argument). The
 * node starts
 * UP, attached to no segment; its expiry is asked for at once. Returns the
 * node id (>= 0, counting up from 0), RD_ERR_INVAL or RD_ERR_NOMEM.
 */
RD_EXPORT int rd_sim_node_add(struct rd_sim *sim, const struct rd_sim_node_callbacks *ops);

/*
 * rd_sim_attach - attach node to segment (idempotent). Returns 0,
 * RD_ERR_INVAL (unknown ids) or RD_ERR_NOMEM.
 */
RD_EXPORT int rd_sim_attach(struct rd_sim *sim, int node, int segment);

/*
 * rd_sim_node_set_mac - the source MAC the node's frames carry in an
 * Ethernet pcap (default 02:00:00:00:<id+1 as 16 bits>). Returns 0 or
 * RD_ERR_INVAL.
 */
RD_EXPORT int rd_sim_node_set_mac(struct rd_sim *sim, int node, const uint8_t mac[6]);

/*
 * rd_sim_node_rearm - ask the node for its expiry again. Call it after
 * changing a node's engine from outside its callbacks (after callbacks the
 * simulator asks by itself). Returns 0 or RD_ERR_INVAL.
 */
RD_EXPORT int rd_sim_node_rearm(struct rd_sim *sim, int node);

/* rd_sim_node_state - the node's life state (RD_SIM_NODE_*), or RD_ERR_INVAL. */
RD_EXPORT int rd_sim_node_state(const struct rd_sim *sim, int node);

/*
 * rd_sim_carrier - whether node has carrier on segment now: 1 or 0, or
 * RD_ERR_INVAL (unknown ids, node not attached).
 */
RD_EXPORT int rd_sim_carrier(const struct rd_sim *sim, int node, int segment);

/*
 * rd_sim_send - node puts len bytes (an IP packet) on segment at the
 * current time. The packet is copied. Each other attached node receives it
 * after the link's delay, unless lost, partitioned away, or without carrier
 * on the segment when it arrives. Returns 0, RD_ERR_INVAL (unknown ids,
 * node not attached, len 0 or above 65535), RD_ERR_STATE (node crashed or
 * frozen, or without carrier on the segment) or RD_ERR_NOMEM.
 */
RD_EXPORT int rd_sim_send(struct rd_sim *sim, int node, int segment, const void *pkt, size_t len);

/*
 * rd_sim_send_mac - as rd_sim_send, with the source MAC to show in an
 * Ethernet pcap for this packet (e.g. CARP's virtual MAC 00:00:5e:00:01:vhid).
 * src_mac NULL: the node's MAC.
 */
RD_EXPORT int rd_sim_send_mac(struct rd_sim *sim, int node, int segment, const uint8_t src_mac[6],
                              const void *pkt, size_t len);

/*
 * Fault injection. Each schedules a change at virtual time `at` (a time in
 * the past means now; it takes effect in the next rd_sim_run_until). They
 * return 0, RD_ERR_INVAL (unknown ids) or RD_ERR_NOMEM.
 *
 * rd_sim_link_at: the segment's link properties become *link (copied).
 * rd_sim_partition_at: from `at`, node i on segment belongs to group[i]
 *   (node ids >= n: group 0); packets pass only between nodes of the same
 *   group, decided when a packet is sent (one already on the wire still
 *   arrives). The array is copied.
 * rd_sim_heal_at: every node of segment back in one group.
 * rd_sim_carrier_at: node's carrier on segment becomes up or down (the
 *   node must be attached when the event runs, else it is ignored). While
 *   down its sends there fail and packets arriving for it there are
 *   dropped (also those already on the wire); its carrier callback tells
 *   it (see struct rd_sim_node_callbacks). Repeating the current state is a
 *   no-op.
 * rd_sim_crash_at: the node crashes: its crash callback runs, its timers,
 *   queued and in-flight packets are discarded; it neither sends nor
 *   receives until restarted. No-op if already crashed.
 * rd_sim_restart_at: a crashed node boots: its restart callback runs, then
 *   its expiry is asked. No-op unless crashed.
 * rd_sim_freeze_at: the node stops: no timers, packets queue (bounded).
 *   No-op unless UP.
 * rd_sim_thaw_at: a frozen node resumes: queued packets are delivered in
 *   arrival order at the thaw time, then its overdue timer fires. No-op
 *   unless frozen.
 */
RD_EXPORT int rd_sim_link_at(struct rd_sim *sim, rd_time_t at, int segment,
                             const struct rd_sim_link *link);
RD_EXPORT int rd_sim_partition_at(struct rd_sim *sim, rd_time_t at, int segment, const int *group,
                                  size_t n);
RD_EXPORT int rd_sim_heal_at(struct rd_sim *sim, rd_time_t at, int segment);
RD_EXPORT int rd_sim_carrier_at(struct rd_sim *sim, rd_time_t at, int node, int segment, bool up);
RD_EXPORT int rd_sim_crash_at(struct rd_sim *sim, rd_time_t at, int node);
RD_EXPORT int rd_sim_restart_at(struct rd_sim *sim, rd_time_t at, int node);
RD_EXPORT int rd_sim_freeze_at(struct rd_sim *sim, rd_time_t at, int node);
RD_EXPORT int rd_sim_thaw_at(struct rd_sim *sim, rd_time_t at, int node);

/*
 * rd_sim_call_at - call fn(user, now) at virtual time at, in event order
 * (for a scripted action such as a graceful leave, or a periodic check).
 * fn may schedule more events and send. Returns 0 or RD_ERR_NOMEM.
 */
RD_EXPORT int rd_sim_call_at(struct rd_sim *sim, rd_time_t at,
                             void (*fn)(void *user, rd_time_t now), void *user);

/*
 * rd_sim_run_until - process every event due at or before t in time order,
 * then set the clock to t (it never goes back: t before now processes
 * nothing). Returns the number of events processed (stale timers not
 * counted), RD_ERR_STATE when called from inside a callback, or
 * RD_ERR_NOMEM if an event could not be queued (that event is lost; the
 * simulation may continue).
 */
RD_EXPORT int64_t rd_sim_run_until(struct rd_sim *sim, rd_time_t t);

/* rd_sim_now - the current virtual time. */
RD_EXPORT rd_time_t rd_sim_now(const struct rd_sim *sim);

/*
 * rd_sim_expiry - the time of the earliest queued event (possibly a
 * stale timer), or RD_TIME_NEVER.
 */
RD_EXPORT rd_time_t rd_sim_expiry(const struct rd_sim *sim);

/*
 * rd_sim_handle_expiry - run every event due at or before `now`, as
 * rd_sim_run_until(sim, now) does, for a caller that drives the simulation
 * from its own loop with rd_sim_expiry. Returns 0, RD_ERR_STATE (called
 * from inside a callback) or RD_ERR_NOMEM (an event could not be queued).
 */
RD_EXPORT int rd_sim_handle_expiry(struct rd_sim *sim, rd_time_t now);

/*
 * rd_sim_set_trace - call fn(user, ev) for every event (see enum
 * rd_sim_event_kind); NULL fn stops tracing.
 */
RD_EXPORT void rd_sim_set_trace(struct rd_sim *sim,
                                void (*fn)(void *user, const struct rd_sim_event_info *ev),
                                void *user);

/*
 * rd_sim_stats - copy the counters of one segment (segment >= 0) or their
 * sum over all (segment -1; timers and pcap errors are counted there only)
 * into out, indexed by enum rd_sim_stat. The caller owns out. Returns 0 or
 * RD_ERR_INVAL (out unchanged).
 */
RD_EXPORT int rd_sim_stats(const struct rd_sim *sim, int segment, uint64_t out[RD_SIM_STAT_COUNT]);

/*
 * rd_sim_random - a 64-bit value from the simulation's scenario stream: for
 * the caller's own random choices (node configurations, fault times). Kept
 * apart from the link's stream so that drawing here does not change which
 * packets are lost.
 */
RD_EXPORT uint64_t rd_sim_random(struct rd_sim *sim);

/*
 * rd_sim_random_hook - an rd_random hook drawing from the simulation's node
 * stream (separate from the link's and scenario's), to hand to engines so
 * that their random choices (cookies, jitter) follow the seed. Valid while
 * the simulation lives.
 */
RD_EXPORT struct rd_random rd_sim_random_hook(struct rd_sim *sim);

#ifdef __cplusplus
}
#endif

#endif
