/*
 * libredund — CARP: the OpenBSD-current wire codec and a per-vhost state
 * machine without I/O.
 *
 * Objects. A struct rd_carp_node is one host (one firewall): it owns the
 * named demotion groups (OpenBSD's interface groups and their carpdemote
 * counters), shared by all its links. A struct rd_carp_if is one link
 * (OpenBSD's carpdev) with its virtual hosts (OpenBSD's carpnodes, FreeBSD's
 * vhids on an interface) and belongs to one node; each struct
 * rd_carp_vhost is one vhid with its own state machine, virtual addresses,
 * key, timers and set of demotion groups. vhids are unique within an
 * rd_carp_if. An if created without a node gets a private one (the
 * behaviour before nodes existed: its groups span that link only).
 *
 * Driving it (ngtcp2 style). The caller:
 *  - passes every received CARP packet to rd_carp_input() (a whole IPv4 or
 *    IPv6 packet) or rd_carp_input_payload() (socket already stripped the IP
 *    header), with the current time;
 *  - sends what the send callback hands it, announces addresses when the
 *    announce callback asks, and follows state_change;
 *  - waits until rd_carp_expiry() and then calls rd_carp_handle_expiry().
 * The engine never reads a clock, never blocks, allocates only in
 * rd_carp_node_new/rd_carp_if_new/rd_carp_vhost_add/
 * rd_carp_vhost_set_groups/rd_carp_node_demote (a new group).
 *
 * The state machine (OpenBSD current's ip_carp.c):
 *  - INIT: not running (link down, stopped, or left). Starting a vhost moves
 *    it to BACKUP: every node starts as BACKUP.
 *  - BACKUP: waits for a master-down timer of deadratio (3) intervals,
 *    interval = advbase + advskew/256 s (1/256 s if both are 0), one timer
 *    per address family in use; a valid advertisement of a family re-arms
 *    that family's timer. When any expires: MASTER.
 *    On an advertisement: with preempt, a slower master (and not less
 *    demoted) is taken over at once; a master more demoted than us is taken
 *    over regardless of preempt; a master whose interval exceeds
 *    deadratio x our advbase "will time out" and is taken over at once (the
 *    bow-out advertisement, advbase 255/advskew 255, relies on this).
 *  - MASTER: sends one advertisement per family per interval (to the group
 *    224.0.0.18 / ff02::12, or to each unicast peer of that family). Steps
 *    down to BACKUP on an advertisement that is more frequent and not more
 *    demoted, or on one less demoted. On entering MASTER it sends an
 *    advertisement at once and asks the caller to announce its addresses
 *    (announce callback, round 0), and again after two more advertisements
 *    (round 1; OpenBSD's delayed ARP).
 *  - Ties (beyond OpenBSD, which steps down on an equal advertisement, so
 *    that equal backups that time out together step down together, again
 *    and again): on an advertisement equal to ours (advbase, advskew and
 *    demotion) the lower source address wins, compared bytewise in
 *    network order (rd_addr_cmp), as in ucarp; VRRP prefers the higher. A
 *    MASTER hearing it from a lower address steps down and, until it is
 *    MASTER again, its master-down timers run RD_CARP_TIE_DELAY longer,
 *    so that a peer stepping down on every tie (OpenBSD) takes over alone
 *    next time; from a higher address it stays MASTER and re-announces
 *    (split-brain healing below), unless the same peer advertises again
 *    between half an interval and deadratio intervals later (a peer with
 *    another rule, e.g. ucarp's byte-swapped compare on little-endian
 *    hosts): then it steps down too. Equal backups elect exactly one
 *    MASTER within two master-down intervals. BACKUP rules are unchanged.
 *  - Split-brain healing (beyond OpenBSD, as keepalived does): a MASTER
 *    that accepts an advertisement it wins against (another MASTER: a
 *    partition healed, or a backup that lost our advertisements took over)
 *    stays MASTER, advertises at once (the other steps down on it) and asks
 *    the caller to announce its addresses again (announce round 0, and
 *    round 1 two advertisements later), so that neighbours' ARP / ND caches
 *    that followed the other MASTER point back at us. At most once per
 *    our own advertisement interval per vhost, so that repeated or
 *    replayed losing advertisements cannot make it flood; counted
 *    REANNOUNCE and logged at NOTICE. A MASTER that loses on timing alone
 *    (equal demotion) after at least one interval as MASTER sends one
 *    parting advertisement as it steps down (keepalived's
 *    higher_prio_send_advert), so that the winner learns of it even when
 *    the winner's advertisement arrived first; otherwise the loser falls
 *    silent and the caches keep pointing at it. A peer that does not do
 *    this (OpenBSD, ucarp) leaves that case to the next gratuitous ARP.
 *  - Demotion (OpenBSD's interface groups): the node keeps named counters;
 *    every vhost is in group "carp" unless configured out ("-carp", as
 *    `ifconfig carpN -group carp`), plus the groups it names. A vhost's
 *    demotion is the sum of its groups' counters, capped at 255 (when that
 *    is 0 but the vhost holds raises itself, e.g. it is in no group, the
 *    number of raises it holds: OpenBSD's sc_demote_cnt); it goes in the
 *    demote byte of the vhost's advertisements and into its election. A
 *    change of any counter makes every MASTER of the node, on every if,
 *    whose demotion changed advertise at once.
 *    Raises: link down of an if puts each of its vhosts INIT and makes each
 *    raise every group it is in by 1 (OpenBSD carp_carpdev_state calling
 *    carp_group_demote_adj on the carp interface); link up brings them to
 *    BACKUP and takes the raises back. Since every vhost is in "carp", a
 *    node that loses one link advertises the demotion on all its links and
 *    fails over as a whole; vhosts put out of "carp" (and in no group
 *    with the lost link's vhosts) fail over alone. Send errors are counted
 *    per OpenBSD carp interface: with RD_CARP_BAL_NONE each vhost is one
 *    (3 consecutive errors of its advertisements make it raise each of its
 *    groups by 1, 3 consecutive successes take it back), with
 *    RD_CARP_BAL_IP the whole if is one (3 x number of vhosts; every vhost
 *    of the if raises its groups). A vhost holds at most one link raise
 *    and one send-error raise; removing it (or freeing its if) takes back
 *    what it holds, changing its groups moves them to the new groups.
 *    Callers raise or lower any group with rd_carp_node_demote (carpd's
 *    `demote GROUP`, a sync engine's hold on "carp"). A group lives while
 *    a vhost is in it or its counter is above 0 ("carp" always).
 *  - Loop detection: each vhost advertises a constant random 64-bit counter
 *    (OpenBSD's replay cookie); a packet carrying our own cookie is our own
 *    looped back and is dropped (counted "loop").
 *  - Strict replay mode (config replay_strict, off by default, beyond
 *    OpenBSD). A vhost's counter starts at epoch (caller supplied, high 32
 *    bits; carpd passes wall-clock seconds at start) plus a random 31-bit
 *    value; each advertisement (one counter for both families) carries a
 *    counter above every counter the vhost sent or believed, plus a random
 *    step of 0 to 65535 (so nodes that take over together from one last
 *    advertisement send different counters). A receiving vhost keeps the
 *    64 highest counters it sent or believed and the floor, the highest
 *    counter it ever dropped from them; it believes an advertisement only
 *    if its counter is above the floor and not kept for that family
 *    ("replay" otherwise), and keeps it. With unicast peers configured for
 *    a family it also refuses sources outside the peer list ("replay").
 *    The guarantee, whatever the number and the addresses of the senders
 *    (no source address enters the rule): no counter is believed twice
 *    per family (so a vhost never believes its own advertisements, nor a
 *    copy of one it believed), and a counter is believed only if at most 64
 *    higher counters were sent or believed by the vhost before it. A
 *    BACKUP that heard a dead master's advertisements is not held back by
 *    any of them; each one it never received (lost, or sent before it
 *    started) can hold it back once, for one master-down interval. Limits:
 *    the HMAC does not cover advbase, advskew and demote (OpenBSD's
 *    format), so a replayed counter carries whatever timing the replayer
 *    writes; peers that do not run strict mode (ucarp, OpenBSD) are
 *    refused because their counters do not grow. Our own packets are
 *    recognised by their source being one of our source addresses or by
 *    carrying one of the last 16 counters we sent ("loop").
 *
 * Thread-safety: a node, its ifs and their vhosts must be used from one
 * thread at a time (a call on one if may advertise on the node's other ifs,
 * through their callbacks). Callbacks are called synchronously from the
 * calling thread and must not call, for any if of the same node,
 * rd_carp_vhost_add/remove/set_groups, rd_carp_if_free/link/demote or
 * rd_carp_node_demote.
 * The codec functions are pure and thread-safe.
 */
#ifndef REDUND_CARP_H
#define REDUND_CARP_H

#include "redund/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Wire constants                                                          */

#define RD_CARP_VERSION            2
#define RD_CARP_TYPE_ADVERTISEMENT 1
#define RD_CARP_HDR_LEN            36 /* the CARP header, always 36 bytes */
#define RD_CARP_AUTHLEN            7  /* (8 counter + 20 HMAC) / 4 */
#define RD_CARP_KEY_LEN            20
#define RD_CARP_HMAC_LEN           20
#define RD_CARP_COUNTER_LEN        8
#define RD_CARP_PROTO              112 /* IP protocol number */
#define RD_CARP_TTL                255 /* TTL / hop limit sent and required */
#define RD_CARP_IP4_HDR_LEN        20
#define RD_CARP_IP6_HDR_LEN        40
#define RD_CARP_PKT_MAX            (RD_CARP_IP6_HDR_LEN + RD_CARP_HDR_LEN)
#define RD_CARP_IP4_TOS            0x10 /* IPTOS_LOWDELAY */
#define RD_CARP_GROUP4             "224.0.0.18"
#define RD_CARP_GROUP6             "ff02::12"
#define RD_CARP_MAX_ADDRS          32 /* virtual addresses per vhost */
#define RD_CARP_MAX_PEERS          16 /* unicast peers per vhost */
#define RD_CARP_MAX_VHOSTS         255
#define RD_CARP_DEADRATIO          3 /* default master-down / interval */
/*
 * How much longer a vhost that lost a tie (an equal advertisement from a
 * lower address, see the state machine above) waits in BACKUP before its
 * master-down timer runs out, until it is MASTER again: 1/512 s, less than
 * the master-down difference of one advskew step (deadratio/256 s), so
 * the order of unequal nodes is kept.
 */
#define RD_CARP_TIE_DELAY      (RD_SEC / 512)
#define RD_CARP_DEMOTE_MAX     255
#define RD_CARP_GROUP_NAME_MAX 32 /* demotion group name, NUL included */
#define RD_CARP_MAX_GROUPS     16 /* demotion groups per vhost, "carp" included */

/* rd_carp_group4 / rd_carp_group6 - the CARP multicast groups as rd_addr. */
RD_EXPORT struct rd_addr rd_carp_group4(void);
RD_EXPORT struct rd_addr rd_carp_group6(void);

/* A decoded CARP header; all fields host order. */
struct rd_carp_hdr {
	uint8_t version; /* high nibble of byte 0 */
	uint8_t type;    /* low nibble of byte 0 */
	uint8_t vhid;
	uint8_t advskew;
	uint8_t authlen;
	uint8_t demote;
	uint8_t advbase;
	uint16_t cksum; /* as found on decode; ignored on encode */
	uint8_t counter[RD_CARP_COUNTER_LEN];
	uint8_t hmac[RD_CARP_HMAC_LEN];
};

/*
 * rd_carp_hdr_encode - write h as the 36 wire bytes into out, computing the
 * checksum (over the 36 bytes, no pseudo-header). h->cksum is ignored.
 * Thread-safe.
 */
RD_EXPORT void rd_carp_hdr_encode(const struct rd_carp_hdr *h, uint8_t out[RD_CARP_HDR_LEN]);

/*
 * rd_carp_hdr_decode - parse the first 36 bytes of buf into *out. Only the
 * length is checked (version, checksum and HMAC are the validator's job).
 * Returns 0, RD_ERR_PROTO if len < 36, RD_ERR_INVAL on NULL. Thread-safe.
 */
RD_EXPORT int rd_carp_hdr_decode(const uint8_t *buf, size_t len, struct rd_carp_hdr *out);

/*
 * rd_carp_hdr_cksum_ok - true if the 36 bytes at buf carry a correct
 * checksum. Thread-safe.
 */
RD_EXPORT bool rd_carp_hdr_cksum_ok(const uint8_t buf[RD_CARP_HDR_LEN]);

/*
 * The bow-out advertisement (OpenBSD's graceful leave, research §2.7): a
 * leaving MASTER's last advertisement carries advbase 255 and advskew 255.
 * No configured vhost can send it otherwise (advskew is at most 254, in
 * OpenBSD too). Backups need no special case: its interval of almost 256 s
 * makes the "master will time out" rule take over at once whenever
 * deadratio x own advbase < 256 s. The rule is off when our own advbase
 * is 0 (fsm.c, carpi_elect): such a backup takes over at once only by
 * preempting (preempt set; the bow-out's interval is longer than its own)
 * or when the bow-out is more demoted; otherwise the bow-out re-arms its
 * master-down timer like any advertisement and it takes over when that
 * runs out.
 */
#define RD_CARP_BOW_OUT_ADVBASE 255
#define RD_CARP_BOW_OUT_ADVSKEW 255

/*
 * rd_carp_hdr_is_bow_out - true if h is a bow-out advertisement: advbase
 * RD_CARP_BOW_OUT_ADVBASE and advskew RD_CARP_BOW_OUT_ADVSKEW (nothing else
 * is looked at; false for NULL). The engine sends exactly these values when
 * a MASTER leaves (rd_carp_vhost_stop, rd_carp_if_leave) and names the
 * takeover after it on receipt. Allocates nothing. Thread-safe (pure).
 */
RD_EXPORT bool rd_carp_hdr_is_bow_out(const struct rd_carp_hdr *h);

/*
 * rd_carp_ip_build - build a whole IP packet around 36 CARP bytes: IPv4
 * (20-byte header, TOS 0x10, DF, TTL 255, protocol 112, the given id,
 * header checksum) when src and dst are IPv4, IPv6 (hop limit 255, next
 * header 112, traffic class and flow label 0) when both are IPv6.
 * Returns the packet length (56 or 76), RD_ERR_NOSPC if outlen is too
 * small, RD_ERR_INVAL if the families are unset or differ. Thread-safe.
 */
RD_EXPORT int rd_carp_ip_build(const struct rd_addr *src, const struct rd_addr *dst, uint16_t ip_id,
                               const uint8_t carp[RD_CARP_HDR_LEN], uint8_t *out, size_t outlen);

/* What rd_carp_ip_parse found in an IP header. */
struct rd_carp_ip_info {
	struct rd_addr src;
	struct rd_addr dst;
	uint8_t ttl; /* TTL or hop limit */
	/*
	 * The protocol / next header byte as found (0 if not captured), set
	 * whatever the result: for a malformed header, the untrusted hint of
	 * what it carried (a tool shows a malformed header as CARP only if it
	 * says 112).
	 */
	uint8_t proto;
	const uint8_t *carp; /* the CARP payload, inside the caller's buffer */
	size_t carp_len;     /* payload length (IP length minus header) */
};

/*
 * rd_carp_ip_parse's positive result for a sound IP header of another
 * protocol: not an error, the packet is simply not CARP. Distinct from 0
 * and from every RD_ERR_* and RD_CARP_REFUSED code.
 */
#define RD_CARP_IP_NOT_CARP 1

/*
 * rd_carp_ip_parse - parse an IPv4 or IPv6 packet carrying CARP. It first
 * checks the IP header itself: version 4 or 6, at least 20 (IHL >= 5,
 * IHL x 4 bytes present, IPv4 header checksum correct) or 40 bytes. Then
 * the protocol / next header: if it is not 112 (IPv6 extension headers are
 * not followed, so CARP behind one counts as another protocol) it returns
 * RD_CARP_IP_NOT_CARP without looking further, so that a fragment or a
 * capture cut short by a snap length of other traffic is still recognised
 * as such. For protocol 112 it checks the total / payload length against
 * len (trailing bytes beyond it are ignored) and that IPv4 is not a
 * fragment. It does not look at the CARP bytes (carp_len may be < 36).
 * Returns 0 (info filled; info->carp points into pkt), RD_CARP_IP_NOT_CARP
 * (a sound header of another protocol), or RD_ERR_PROTO (a malformed
 * header or malformed CARP packet, or pkt or info NULL). *info is zeroed
 * but for proto unless 0 is returned (when info is not NULL). Allocates nothing.
 * Thread-safe.
 */
RD_EXPORT int rd_carp_ip_parse(const uint8_t *pkt, size_t len, struct rd_carp_ip_info *info);

/*
 * rd_carp_key_from_pass - the 20-byte key from a passphrase, as OpenBSD's
 * ifconfig and ucarp make it: the passphrase bytes, a NUL, zeros (no
 * hashing). Returns 0, or RD_ERR_INVAL if pass is NULL or longer than 19
 * bytes (key is then untouched). Thread-safe.
 */
RD_EXPORT int rd_carp_key_from_pass(const char *pass, uint8_t key[RD_CARP_KEY_LEN]);

/*
 * IPv6 scope handling in the HMAC (OpenBSD's two contexts): ORIG hashes
 * scoped addresses (link-local unicast, link- and interface-local
 * multicast) with bytes 2-3 zeroed; NOV6LL leaves them out. Senders use
 * NOV6LL; receivers accept either.
 */
enum rd_carp_hmac_ctx {
	RD_CARP_HMAC_ORIG = 0,
	RD_CARP_HMAC_NOV6LL = 1,
};

/*
 * rd_carp_hmac - the CARP HMAC-SHA1 exactly as OpenBSD computes it: key =
 * the 20 key bytes, message = version 2, type 1, the 6-byte lladdr (only if
 * lladdr is not NULL), the vhid, the IPv4 addresses of addrs ascending and
 * each distinct value once, the IPv6 addresses likewise (scoped ones per
 * ctx), then the 8 counter bytes. The all-zero and all-ones address of
 * either family is left out, as OpenBSD's ascending walk never reaches
 * it. addrs may mix families (others ignored; at most RD_CARP_MAX_ADDRS of
 * each family are used); naddrs may be 0. Writes 20 bytes to out.
 * Thread-safe.
 */
RD_EXPORT void rd_carp_hmac(const uint8_t key[RD_CARP_KEY_LEN], const uint8_t *lladdr, uint8_t vhid,
                            const struct rd_addr *addrs, size_t naddrs,
                            const uint8_t counter[RD_CARP_COUNTER_LEN], enum rd_carp_hmac_ctx ctx,
                            uint8_t out[RD_CARP_HMAC_LEN]);

/*
 * rd_carp_hmac_verify - true if mac matches the HMAC of either context
 * (compared in constant time). Arguments as rd_carp_hmac. Thread-safe.
 */
RD_EXPORT bool rd_carp_hmac_verify(const uint8_t key[RD_CARP_KEY_LEN], const uint8_t *lladdr,
                                   uint8_t vhid, const struct rd_addr *addrs, size_t naddrs,
                                   const uint8_t counter[RD_CARP_COUNTER_LEN],
                                   const uint8_t mac[RD_CARP_HMAC_LEN]);

/*
 * rd_carp_interval - the advertisement interval in ns: advbase s +
 * advskew/256 s, or 1/256 s if both are 0 (OpenBSD current).
 * rd_carp_master_down - deadratio (0 means 3) intervals in ns.
 */
RD_EXPORT rd_time_t rd_carp_interval(uint8_t advbase, uint8_t advskew);
RD_EXPORT rd_time_t rd_carp_master_down(uint8_t advbase, uint8_t advskew, uint8_t deadratio);

/* ---------------------------------------------------------------------- */
/* Counters                                                                */

/*
 * Counters, OpenBSD's carpstats names. Each refusal of rd_carp_input counts
 * exactly one of HDROPS..REPLAY; nothing else changes for a refused packet.
 */
enum rd_carp_stat {
	RD_CARP_STAT_IPACKETS = 0, /* IPv4 CARP packets given to input */
	RD_CARP_STAT_IPACKETS6,    /* IPv6 CARP packets given to input */
	RD_CARP_STAT_HDROPS,       /* malformed IP header, not protocol 112, fragment */
	RD_CARP_STAT_BADIF,        /* destination neither the group nor our address */
	RD_CARP_STAT_BADTTL,       /* TTL / hop limit not 255 */
	RD_CARP_STAT_BADLEN,       /* CARP payload shorter than 36 bytes */
	RD_CARP_STAT_BADSUM,       /* bad CARP checksum */
	RD_CARP_STAT_BADVHID,      /* unknown vhid, vhost not running, a family it has no address
	                              of, or multicast/unicast mismatch */
	RD_CARP_STAT_BADVER,       /* version not 2 or type not 1 (OpenBSD reads no type) */
	RD_CARP_STAT_BADAUTH,      /* HMAC mismatch (both contexts) */
	RD_CARP_STAT_LOOP,         /* our own advertisement looped back */
	RD_CARP_STAT_REPLAY,       /* strict mode: counter seen or at the floor, or unknown peer */
	RD_CARP_STAT_OPACKETS,     /* IPv4 advertisements sent */
	RD_CARP_STAT_OPACKETS6,    /* IPv6 advertisements sent */
	RD_CARP_STAT_OERRORS,      /* send callback failures */
	RD_CARP_STAT_PREEMPT,      /* transitions to MASTER */
	RD_CARP_STAT_REANNOUNCE,   /* a MASTER won against another MASTER's advertisement and
	                              advertised and announced again (beyond OpenBSD) */
	RD_CARP_STAT_COUNT
};

/* rd_carp_stat_name - "ipackets", "badttl", ...; "?" if out of range. */
RD_EXPORT const char *rd_carp_stat_name(int stat);

/*
 * Refusals returned by rd_carp_input: -(RD_CARP_REFUSED_BASE + stat) for
 * stat in HDROPS..REPLAY. They never collide with RD_ERR_* codes.
 */
#define RD_CARP_REFUSED_BASE  1000
#define RD_CARP_REFUSED(stat) (-(RD_CARP_REFUSED_BASE + (int)(stat)))

/*
 * rd_carp_refusal_stat - the rd_carp_stat a refusal code names, or -1 if rc
 * is not a refusal (0 or an RD_ERR_* code).
 */
RD_EXPORT int rd_carp_refusal_stat(int rc);

/*
 * rd_carp_strerror - a static string for rd_carp_input's result: refusal
 * reasons ("bad ttl", ...) and RD_ERR_* codes alike. Never NULL.
 */
RD_EXPORT const char *rd_carp_strerror(int rc);

/* ---------------------------------------------------------------------- */
/* The state machine                                                       */

enum rd_carp_state {
	RD_CARP_INIT = 0,
	RD_CARP_BACKUP = 1,
	RD_CARP_MASTER = 2,
};

/* rd_carp_state_name - "INIT", "BACKUP", "MASTER"; "?" otherwise. */
RD_EXPORT const char *rd_carp_state_name(int state);

enum rd_carp_balancing {
	RD_CARP_BAL_NONE = 0, /* each vhost announces its addresses */
	RD_CARP_BAL_IP = 1,   /* OpenBSD "ip": rd_carp_if_accept filters; no announce */
};

struct rd_carp_if;
struct rd_carp_vhost;

/* One advertisement to send, valid only during the send callback. */
struct rd_carp_out {
	uint8_t af;          /* RD_AF_INET or RD_AF_INET6 */
	bool multicast;      /* dst is the CARP group (else a unicast peer) */
	struct rd_addr src;  /* the vhost's source address of that family */
	struct rd_addr dst;  /* group or peer */
	const uint8_t *pkt;  /* the whole IP packet (IP header + CARP) */
	size_t pkt_len;      /* 56 (IPv4) or 76 (IPv6) */
	const uint8_t *carp; /* the 36 CARP bytes, inside pkt */
	bool bow_out;        /* the bow-out advertisement of a graceful leave */
};

struct rd_carp_callbacks {
	void *user; /* passed to every callback */
	/*
	 * Send one advertisement. Return 0 when sent, < 0 on a send error
	 * (counted in OERRORS; 3 in a row make the vhost raise its groups,
	 * see the top of this header). Required.
	 */
	int (*send)(void *user, struct rd_carp_vhost *vh, const struct rd_carp_out *out);
	/* The vhost changed state; reason is a static string. Optional. */
	void (*state_change)(void *user, struct rd_carp_vhost *vh, enum rd_carp_state old_state,
	                     enum rd_carp_state new_state, const char *reason);
	/*
	 * Announce the vhost's addresses (gratuitous ARP for IPv4, unsolicited
	 * neighbour advertisement with Override for IPv6): round 0 on becoming
	 * MASTER and when a MASTER won against another MASTER (split-brain
	 * healing, see the top of this header), round 1 after two more
	 * advertisements. Read the addresses with rd_carp_vhost_info. Not
	 * called in RD_CARP_BAL_IP mode. Optional.
	 */
	void (*announce)(void *user, struct rd_carp_vhost *vh, int round);
	/*
	 * The demotion of at least one vhost of this if changed (a counter of
	 * the node moved, on this if or another, or a vhost's groups or raises
	 * changed); demote is rd_carp_if_demotion(ifp), the highest of its
	 * vhosts (0..255), which may be unchanged. Runs once per if and change,
	 * after the MASTERs concerned advertised. Optional.
	 */
	void (*demotion)(void *user, struct rd_carp_if *ifp, unsigned int demote);
};

/* ---------------------------------------------------------------------- */
/* The node and its demotion groups                                        */

struct rd_carp_node;

struct rd_carp_node_config {
	const struct rd_mem *mem; /* NULL: libc */
	struct rd_log log;        /* group changes made by rd_carp_node_demote; fn NULL: silent */
};

/* rd_carp_node_config_default - libc memory, no log. Thread-safe. */
RD_EXPORT void rd_carp_node_config_default(struct rd_carp_node_config *cfg);

/*
 * rd_carp_node_new - a node (one host) with one demotion group, "carp", at
 * 0. Pass it in rd_carp_if_config.node to every if of the host. Returns 0
 * and *out, RD_ERR_INVAL (NULL argument) or RD_ERR_NOMEM. Free with
 * rd_carp_node_free.
 */
RD_EXPORT int rd_carp_node_new(const struct rd_carp_node_config *cfg, struct rd_carp_node **out);

/*
 * rd_carp_node_free - free the node. Call it after rd_carp_if_free of every
 * if using it; if some are still alive the node is freed with the last of
 * them instead (and must not be used by the caller any more). NULL is
 * ignored.
 */
RD_EXPORT void rd_carp_node_free(struct rd_carp_node *n);

/*
 * rd_carp_node_demote - add delta to group `group`'s counter, clamped at 0
 * (the group is created, at 0, on first positive use; a name is 1..31
 * printable bytes without spaces, not starting with '-'). Every MASTER
 * vhost, on any if of the node, whose demotion changed advertises at once
 * (time now), and the demotion callback runs for each if concerned. A
 * group no vhost is in is kept and counted but changes nothing (until a
 * vhost joins it); once its counter is back at 0 it is freed (a group
 * lives while a vhost is in it or its counter is above 0; "carp" always),
 * so the node holds the groups its vhosts name plus those the caller keeps
 * above 0, however many names it was given over time; bounding the latter
 * is the caller's (carpd: CD_GROUPS_MAX). Returns 0, RD_ERR_INVAL (NULL
 * node, bad name) or RD_ERR_NOMEM (new group; nothing changed).
 */
RD_EXPORT int rd_carp_node_demote(struct rd_carp_node *n, const char *group, int delta,
                                  rd_time_t now);

/*
 * rd_carp_node_group - the i-th group of the node in creation order ("carp"
 * is 0; then groups named by vhosts or rd_carp_node_demote, as long as they
 * live, see rd_carp_node_demote): *name (owned by the node, valid until the
 * next call that changes the node's groups or vhosts) and *value (the
 * counter; either pointer may be NULL). Returns 0, or RD_ERR_NOENT past the
 * end or for a NULL node.
 */
RD_EXPORT int rd_carp_node_group(const struct rd_carp_node *n, size_t i, const char **name,
                                 unsigned int *value);

/*
 * rd_carp_node_group_value - the counter of group `group`, 0 if the node
 * has no such group (or n or group is NULL).
 */
RD_EXPORT unsigned int rd_carp_node_group_value(const struct rd_carp_node *n, const char *group);

/*
 * rd_carp_group_name_ok - whether name may name a demotion group: 1 to
 * RD_CARP_GROUP_NAME_MAX - 1 printable bytes, no space, not starting with
 * '-' (which leaves a group in a vhost's list, as "-carp"). The rule every
 * call taking a group name applies; daemons check names they read with it.
 * Thread-safe (pure).
 */
RD_EXPORT bool rd_carp_group_name_ok(const char *name);

struct rd_carp_if_config {
	/* The host's node (shared by its ifs; must outlive the if). NULL: the
	 * if gets a private node, made with mem and log, freed with the if. */
	struct rd_carp_node *node;
	const struct rd_mem *mem;    /* NULL: libc */
	struct rd_log log;           /* fn NULL: silent */
	struct rd_random random;     /* fn NULL: libsodium (call rd_init first) */
	struct rd_carp_callbacks cb; /* cb.user is passed to every callback */
	enum rd_carp_balancing balancing;
	const char *name; /* for log messages, e.g. "eth0"; copied; may be NULL */
};

/*
 * rd_carp_if_config_default - a private node, libc memory, no log,
 * libsodium randomness, no callbacks (set cb.send at least), cb.user NULL,
 * RD_CARP_BAL_NONE, no name. Thread-safe.
 */
RD_EXPORT void rd_carp_if_config_default(struct rd_carp_if_config *cfg);

/*
 * rd_carp_if_new - create a link object with no vhosts, in node cfg->node
 * (or a private one); the link is up. Returns 0 and *out, RD_ERR_INVAL
 * (NULL config, no send callback, bad balancing) or RD_ERR_NOMEM. Free
 * with rd_carp_if_free.
 */
RD_EXPORT int rd_carp_if_new(const struct rd_carp_if_config *cfg, struct rd_carp_if **out);

/*
 * rd_carp_if_free - free the if and all its vhosts without sending
 * anything or calling this if's callbacks (call rd_carp_if_leave first for
 * a graceful exit). The raises its vhosts held are taken back: MASTERs on
 * the node's other ifs whose demotion changed advertise at their next
 * rd_carp_handle_expiry (rd_carp_expiry says so) and their demotion
 * callbacks run. A private node is freed with it. NULL is ignored.
 */
RD_EXPORT void rd_carp_if_free(struct rd_carp_if *ifp);

/* rd_carp_if_node - the if's node (its private one if none was given). */
RD_EXPORT struct rd_carp_node *rd_carp_if_node(const struct rd_carp_if *ifp);

struct rd_carp_vhost_config {
	uint8_t vhid;    /* 1..255, unique on the if */
	uint8_t advbase; /* seconds, 0..255 (0 allowed: sub-second) */
	uint8_t advskew; /* 0..254 */
	bool preempt;    /* take over slower masters */
	uint8_t key[RD_CARP_KEY_LEN];
	/* Virtual addresses (1..RD_CARP_MAX_ADDRS, IPv4 and/or IPv6); copied.
	 * They go into the HMAC; ads are sent for each family present. */
	const struct rd_addr *addrs;
	size_t naddrs;
	/* Source addresses for advertisements: required for each family that
	 * addrs uses (af RD_AF_UNSPEC = none). */
	struct rd_addr src4;
	struct rd_addr src6;
	/* Unicast peers (0..RD_CARP_MAX_PEERS, each of a family addrs uses,
	 * each one rd_carp_peer_check takes); copied. A family with no
	 * peer uses its multicast group. */
	const struct rd_addr *peers;
	size_t npeers;
	/* Custom link-layer address: hashed into the HMAC (OpenBSD) if set,
	 * not all-zero and not of the virtual form xx:00:5e:00:01:xx (OpenBSD
	 * replaces those by the virtual MAC); with RD_CARP_BAL_IP only by the
	 * if's leader, the vhost with the lowest vhid (the if is one carp
	 * interface and the lladdr is its leader's). Set it only when the carp
	 * MAC is neither the virtual MAC nor the parent's real MAC. */
	bool has_lladdr;
	uint8_t lladdr[6];
	bool replay_strict;    /* see the top of this header */
	uint32_t replay_epoch; /* strict mode: high 32 bits of our counters */
	uint8_t deadratio;     /* master-down = deadratio intervals; 0 means 3 */
	void *user;            /* rd_carp_vhost_user() returns it */
	/* Demotion groups besides "carp" (names as rd_carp_node_demote takes;
	 * duplicates ignored); the name "-carp" takes the vhost out of "carp"
	 * (OpenBSD `ifconfig carpN -group carp`). At most RD_CARP_MAX_GROUPS
	 * in all. Copied; groups missing in the node are created at 0. */
	const char *const *groups;
	size_t ngroups;
};

/*
 * rd_carp_vhost_config_default - OpenBSD's defaults: advbase 1, advskew 0,
 * no preempt, deadratio 3, an all-zero key, no addresses, sources or
 * peers (af RD_AF_UNSPEC), no lladdr, replay protection not strict, no
 * extra groups, no user. Set at least vhid, key, addrs and the sources.
 * Thread-safe.
 */
RD_EXPORT void rd_carp_vhost_config_default(struct rd_carp_vhost_config *cfg);

/*
 * rd_carp_peer_check - whether addr may be a unicast peer of a vhost: an
 * IPv4 or IPv6 address that is none of
 *  - multicast (IPv4 224.0.0.0/4, IPv6 ff00::/8): the vhost would send
 *    multicast advertisements, which a vhost with unicast peers refuses on
 *    receipt (BADIF or BADVHID); a family without peers uses the CARP group
 *    anyway;
 *  - unspecified (0.0.0.0, ::): not a destination;
 *  - IPv4 limited broadcast (255.255.255.255): a socket without
 *    SO_BROADCAST fails every send with EACCES;
 *  - IPv4 240.0.0.0/4 ("reserved"): not routable unicast.
 * Returns 0, or RD_ERR_INVAL for NULL, a family other than
 * RD_AF_INET/RD_AF_INET6, or one of the addresses above. rd_carp_vhost_add
 * applies this check to every peer, so a caller can validate peers early
 * (e.g. while reading a configuration) and name the refused one. Keeps no
 * memory. Thread-safe (pure).
 *
 * rd_carp_peer_refusal - the same check, saying why: NULL if
 * rd_carp_peer_check takes addr, else a static string naming what it is:
 * "multicast", "unspecified", "broadcast", "reserved" or "not IPv4 or IPv6"
 * (NULL or another family). Thread-safe (pure).
 */
RD_EXPORT int rd_carp_peer_check(const struct rd_addr *addr);
RD_EXPORT const char *rd_carp_peer_refusal(const struct rd_addr *addr);

/*
 * rd_carp_vhost_add - add a vhost and start it: if the link is up it goes
 * INIT -> BACKUP at `now` (state_change called) with its master-down timers
 * armed. Config arrays are copied. On a link that is down the vhost stays
 * INIT and raises its groups at once (as link down does). Returns 0 and
 * *out (may be NULL), RD_ERR_INVAL (bad vhid/advskew/addresses, missing
 * source, a peer that rd_carp_peer_check refuses or of a family no virtual
 * address has, a bad group name or too many groups),
 * RD_ERR_EXIST (vhid in use), RD_ERR_LIMIT (RD_CARP_MAX_VHOSTS reached) or
 * RD_ERR_NOMEM. The vhost belongs to the if.
 */
RD_EXPORT int rd_carp_vhost_add(struct rd_carp_if *ifp, const struct rd_carp_vhost_config *cfg,
                                rd_time_t now, struct rd_carp_vhost **out);

/*
 * rd_carp_vhost_remove - remove and free a vhost at once, silently (no
 * state_change callback, no advertisement; use rd_carp_vhost_stop first to
 * bow out). The raises the vhost holds (link down, send errors) are taken
 * back: demotion callbacks run for the ifs concerned, and MASTERs whose
 * demotion changed advertise at their next rd_carp_handle_expiry (this
 * call has no time; rd_carp_expiry says so).
 */
RD_EXPORT void rd_carp_vhost_remove(struct rd_carp_if *ifp, struct rd_carp_vhost *vh);

/* rd_carp_vhost_find - the vhost with that vhid, or NULL. */
RD_EXPORT struct rd_carp_vhost *rd_carp_vhost_find(struct rd_carp_if *ifp, uint8_t vhid);

/* rd_carp_vhost_user / rd_carp_vhost_vhid - accessors. */
RD_EXPORT void *rd_carp_vhost_user(const struct rd_carp_vhost *vh);
RD_EXPORT uint8_t rd_carp_vhost_vhid(const struct rd_carp_vhost *vh);
RD_EXPORT enum rd_carp_state rd_carp_vhost_state(const struct rd_carp_vhost *vh);

/* A vhost's current state and counters. */
struct rd_carp_vhost_info {
	uint8_t vhid;
	uint8_t advbase;
	uint8_t advskew;
	uint8_t deadratio;
	bool preempt;
	bool replay_strict;
	bool running; /* started and link up */
	enum rd_carp_state state;
	rd_time_t state_since; /* time of the last state change */
	uint8_t demote;        /* its demotion (sum of its groups), sent in ads */
	rd_time_t next_ad;     /* MASTER: next advertisement; else NEVER */
	rd_time_t md4, md6;    /* BACKUP: master-down expiry per family; else NEVER */
	/* Per vhost: IPACKETS(6) = packets whose vhid matched this vhost;
	 * BADVER, BADAUTH, LOOP, REPLAY; OPACKETS(6), OERRORS, PREEMPT,
	 * REANNOUNCE. */
	uint64_t stats[RD_CARP_STAT_COUNT];
	const struct rd_addr *addrs; /* valid while the vhost exists */
	size_t naddrs;
	/* Its demotion groups ("carp" first unless it left it); the array is
	 * valid until the vhost's groups change or it is removed, the names
	 * while the node lives. */
	const char *const *groups;
	size_t ngroups;
	void *user;
};

/* rd_carp_vhost_info - fill *out. Returns 0 or RD_ERR_INVAL on NULL. */
RD_EXPORT int rd_carp_vhost_info(const struct rd_carp_vhost *vh, struct rd_carp_vhost_info *out);

/*
 * rd_carp_vhost_start - administratively start a stopped vhost: INIT ->
 * BACKUP (if the link is up). No-op if already running. Returns 0.
 */
RD_EXPORT int rd_carp_vhost_start(struct rd_carp_vhost *vh, rd_time_t now);

/*
 * rd_carp_vhost_stop - leave gracefully: a MASTER sends the bow-out
 * advertisement (RD_CARP_BOW_OUT_ADVBASE/ADVSKEW, see
 * rd_carp_hdr_is_bow_out) per family; then INIT until rd_carp_vhost_start.
 * Returns 0.
 */
RD_EXPORT int rd_carp_vhost_stop(struct rd_carp_vhost *vh, rd_time_t now);

/*
 * rd_carp_vhost_set_state - force MASTER (advertise and announce at once,
 * like `ifconfig carpN state master`) or BACKUP (stop advertising, arm
 * master-down). Returns 0, RD_ERR_STATE if the vhost is not running,
 * RD_ERR_INVAL for INIT or another value.
 */
RD_EXPORT int rd_carp_vhost_set_state(struct rd_carp_vhost *vh, enum rd_carp_state state,
                                      rd_time_t now);

/*
 * rd_carp_vhost_set_timing - change advbase/advskew (advskew <= 254). A
 * MASTER advertises the new values at once; a BACKUP re-arms its timers.
 * Returns 0 or RD_ERR_INVAL.
 */
RD_EXPORT int rd_carp_vhost_set_timing(struct rd_carp_vhost *vh, uint8_t advbase, uint8_t advskew,
                                       rd_time_t now);

/* rd_carp_vhost_set_preempt - switch preemption on or off. */
RD_EXPORT void rd_carp_vhost_set_preempt(struct rd_carp_vhost *vh, bool preempt);

/*
 * rd_carp_vhost_set_groups - replace the vhost's demotion groups (a
 * reload): groups/ngroups as in rd_carp_vhost_config. The raises the
 * vhost holds leave the groups it leaves and go to the groups it joins; if
 * its demotion changes, a MASTER advertises at once. Returns 0,
 * RD_ERR_INVAL (NULL vhost, bad name, too many) or RD_ERR_NOMEM (groups
 * unchanged).
 */
RD_EXPORT int rd_carp_vhost_set_groups(struct rd_carp_vhost *vh, const char *const *groups,
                                       size_t ngroups, rd_time_t now);

/*
 * The log of refusals of advertisements for one of our vhids for BADAUTH
 * (wrong password or a different virtual address set: the usual cause of
 * two MASTERs), LOOP or REPLAY: at RD_LOG_WARNING through the if's log,
 * per vhost and reason the first at once, then at most one per this
 * interval, carrying how many were refused meanwhile ("... (1234 more since
 * the last message)"). Other refusals are logged at NOTICE (BADTTL,
 * BADVER) or INFO, each.
 */
#define RD_CARP_REFUSAL_LOG_INTERVAL (10 * RD_SEC)

/*
 * rd_carp_input - process one received IPv4 or IPv6 packet (IP header
 * included). Checks in OpenBSD's order: IP header (HDROPS), destination
 * (BADIF), TTL 255 (BADTTL), length (BADLEN), checksum (BADSUM), vhid
 * (BADVHID), version/type (BADVER), HMAC (BADAUTH), own cookie (LOOP),
 * strict replay (REPLAY); then runs the election. Returns 0 when accepted,
 * RD_CARP_REFUSED(stat) when refused (the counter was increased and the
 * refusal logged, see RD_CARP_REFUSAL_LOG_INTERVAL; nothing else changed),
 * RD_ERR_INVAL on NULL arguments.
 */
RD_EXPORT int rd_carp_input(struct rd_carp_if *ifp, const uint8_t *pkt, size_t len, rd_time_t now);

/*
 * rd_carp_input_payload - as rd_carp_input for a packet whose IP header the
 * socket removed (Linux raw IPv6 sockets): src and dst from the socket,
 * ttl from IP_RECVTTL / IPV6_HOPLIMIT, carp the payload. The family is
 * src->af (dst must match).
 */
RD_EXPORT int rd_carp_input_payload(struct rd_carp_if *ifp, const struct rd_addr *src,
                                    const struct rd_addr *dst, uint8_t ttl, const uint8_t *carp,
                                    size_t len, rd_time_t now);

/*
 * rd_carp_expiry - the earliest time the if needs rd_carp_handle_expiry, or
 * RD_TIME_NEVER.
 */
RD_EXPORT rd_time_t rd_carp_expiry(const struct rd_carp_if *ifp);

/*
 * rd_carp_handle_expiry - run every timer due at `now`: advertisements of
 * MASTERs, master-down of BACKUPs. Calling it early is harmless. Returns 0.
 */
RD_EXPORT int rd_carp_handle_expiry(struct rd_carp_if *ifp, rd_time_t now);

/*
 * rd_carp_if_link - the link went up or down. Down: every vhost INIT,
 * timers stopped, and each vhost raises each of its groups by 1 (so by
 * default "carp", and the node's MASTERs on other links advertise the
 * higher demotion at once). Up: running vhosts INIT -> BACKUP with
 * master-down armed, the raises taken back. Repeating the current state
 * is a no-op. Returns 0.
 */
RD_EXPORT int rd_carp_if_link(struct rd_carp_if *ifp, bool up, rd_time_t now);

/* rd_carp_if_link_up - the link state last given (true after creation). */
RD_EXPORT bool rd_carp_if_link_up(const struct rd_carp_if *ifp);

/*
 * rd_carp_if_leave - graceful leave of the whole if: rd_carp_vhost_stop on
 * every vhost (masters send the bow-out advertisement), all end in INIT.
 */
RD_EXPORT int rd_carp_if_leave(struct rd_carp_if *ifp, rd_time_t now);

/*
 * Compatibility calls from before nodes existed; they act on the if's node.
 * Note the semantics are the node's: a group changes the demotion only of
 * the vhosts in it (every vhost is in "carp"), and with one node shared by
 * several ifs, calling rd_carp_if_demote once per if changes the group
 * once per if (call rd_carp_node_demote once instead).
 *
 * rd_carp_if_demote - rd_carp_node_demote(rd_carp_if_node(ifp), ...);
 * RD_ERR_INVAL for a NULL if.
 */
RD_EXPORT int rd_carp_if_demote(struct rd_carp_if *ifp, const char *group, int delta,
                                rd_time_t now);

/*
 * rd_carp_if_demotion - the highest demotion among the if's vhosts (what
 * rd_carp_vhost_info gives per vhost), 0..255; 0 without vhosts.
 */
RD_EXPORT unsigned int rd_carp_if_demotion(const struct rd_carp_if *ifp);

/*
 * rd_carp_if_demote_group - rd_carp_node_group on the if's node ("carp"
 * first; names owned by the node). Returns 0 or RD_ERR_NOENT past the end.
 */
RD_EXPORT int rd_carp_if_demote_group(const struct rd_carp_if *ifp, size_t i, const char **name,
                                      unsigned int *value);

/*
 * rd_carp_if_stats - copy the if's counters (all vhosts together, plus
 * refusals before a vhost was found) into out.
 */
RD_EXPORT void rd_carp_if_stats(const struct rd_carp_if *ifp, uint64_t out[RD_CARP_STAT_COUNT]);

/* rd_carp_if_vhost_count / rd_carp_if_vhost_at - vhosts in vhid order. */
RD_EXPORT size_t rd_carp_if_vhost_count(const struct rd_carp_if *ifp);
RD_EXPORT struct rd_carp_vhost *rd_carp_if_vhost_at(struct rd_carp_if *ifp, size_t i);

/*
 * rd_carp_if_accept - the `ip` balancing filter (OpenBSD carp_lsdrop): true
 * if this node should keep a packet from src to dst. Multicast and the
 * limited broadcast are always kept (accept link-layer broadcast frames
 * without asking); otherwise fold = src ^ dst (IPv4 word; IPv6 XOR of all
 * eight words), idx = fold % number of vhosts, and the packet is kept iff
 * the idx-th vhost in vhid order is MASTER here. With RD_CARP_BAL_NONE, or
 * no vhosts, always true. OpenBSD holds at most 32 vhosts in one carp
 * interface (CARP_MAXNODES, a 32-bit lsmask); up to 32 the mapping is the
 * same, and beyond (up to RD_CARP_MAX_VHOSTS) the same formula goes on, so
 * only an all-libredund cluster can balance over more than 32 nodes.
 * Thread-safe with other readers of ifp.
 */
RD_EXPORT bool rd_carp_if_accept(const struct rd_carp_if *ifp, const struct rd_addr *src,
                                 const struct rd_addr *dst);

#ifdef __cplusplus
}
#endif

#endif
