/*
 * syncd: the mapping between Linux conntrack entries (libnetfilter_conntrack)
 * and libredund state descriptions (struct rd_state_info).
 *
 * Keys. Every conntrack entry becomes a state of direction IN (no
 * RD_STATE_F_OUT): the wire key is the ORIGINAL tuple (addr[0]/port[0] the
 * initiator, addr[1]/port[1] the responder), the stack key is the REPLY
 * tuple turned around (addr[0] = reply destination, addr[1] = reply source,
 * ports likewise). Without NAT the two keys are equal; with NAT the stack
 * key is the translated connection, and the way back sets SNAT (reply
 * destination != original source) and DNAT (reply source != original
 * destination) so the kernel rebuilds the same translation. IPv4 addresses
 * sit in the first 4 bytes of the 16. The conntrack zone is the key's
 * rdomain. ICMP/ICMPv6 queries: port[0] = the query id, port[1] = the
 * request type (pf's convention); the code is 0 on the way back.
 *
 * Peer states. TCP's one conntrack state becomes two pf peer states (src =
 * initiator, dst = responder), chosen so that the way back gives the same
 * conntrack state:
 *
 *   conntrack      src            dst
 *   NONE           CLOSED         CLOSED
 *   SYN_SENT       SYN_SENT       CLOSED
 *   SYN_RECV       SYN_SENT       SYN_SENT
 *   SYN_SENT2      SYN_SENT       SYN_RECEIVED
 *   ESTABLISHED    ESTABLISHED    ESTABLISHED
 *   FIN_WAIT       CLOSING        ESTABLISHED
 *   CLOSE_WAIT     FIN_WAIT_2     ESTABLISHED
 *   LAST_ACK       FIN_WAIT_2     CLOSING
 *   TIME_WAIT      FIN_WAIT_2     FIN_WAIT_2
 *   CLOSE          TIME_WAIT      TIME_WAIT
 *
 * Any other pair (from a pf peer) maps to the nearest conntrack state by
 * sd_tcp_peers_to_ct. UDP and other protocols: no reply seen = (SINGLE,
 * NO_TRAFFIC), a reply seen = (MULTIPLE, SINGLE), assured = (MULTIPLE,
 * MULTIPLE). Conntrack has no TCP sequence windows, so TCP states are
 * marked RD_STATE_F_SLOPPY and applied with the kernel's be-liberal flag
 * (as conntrackd does). Window scales are carried when the kernel shows
 * them.
 *
 * Timeouts: the conntrack timeout (seconds left) is expire_in; the class
 * is chosen from the peer states by pf's rules. Counters map to
 * packets/bytes [0] original and [1] reply when accounting is on.
 * The mark, the labels, the status bits and the helper's name travel
 * beside the state, in secure mode only, as its extension
 * (redund/sync_ext.h): sd_ct_to_ext reads them, sd_ext_to_ct writes them.
 *
 * All functions are pure (they read and write only their arguments).
 */
#ifndef SYNCD_CTMAP_H
#define SYNCD_CTMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "redund/state.h"
#include "redund/sync_ext.h"

struct nf_conntrack;
struct nf_expect;

/* Linux conntrack TCP states (enum tcp_conntrack), as ctnetlink reports them. */
enum sd_ct_tcp {
	SD_CT_TCP_NONE = 0,
	SD_CT_TCP_SYN_SENT = 1,
	SD_CT_TCP_SYN_RECV = 2,
	SD_CT_TCP_ESTABLISHED = 3,
	SD_CT_TCP_FIN_WAIT = 4,
	SD_CT_TCP_CLOSE_WAIT = 5,
	SD_CT_TCP_LAST_ACK = 6,
	SD_CT_TCP_TIME_WAIT = 7,
	SD_CT_TCP_CLOSE = 8,
	SD_CT_TCP_SYN_SENT2 = 9,
	SD_CT_TCP_MAX = 10,
};

/* Why an entry could not be mapped (sd_ct_to_state). */
enum sd_ctmap_err {
	SD_CTMAP_OK = 0,
	SD_CTMAP_BADL3 = -1,    /* neither IPv4 nor IPv6 */
	SD_CTMAP_BADL4 = -2,    /* a protocol whose tuple has more than ports (GRE) */
	SD_CTMAP_NOTUPLE = -3,  /* an address, port or the reply tuple is missing */
	SD_CTMAP_BADSTATE = -4, /* TCP state out of range */
};

/* sd_ctmap_strerror - text of an enum sd_ctmap_err. */
const char *sd_ctmap_strerror(int err);

/* sd_tcp_ct_to_peers - the (src, dst) pf peer states of a conntrack TCP state. */
void sd_tcp_ct_to_peers(unsigned ct_state, uint8_t *src, uint8_t *dst);

/* sd_tcp_peers_to_ct - the conntrack TCP state of a (src, dst) pair. */
unsigned sd_tcp_peers_to_ct(uint8_t src, uint8_t dst);

/*
 * sd_ct_to_state - describe conntrack entry ct as *info (id and creatorid
 * 0, rule RD_STATE_RULE_NONE, floating). Returns 0 or an enum sd_ctmap_err.
 */
int sd_ct_to_state(const struct nf_conntrack *ct, struct rd_state_info *info);

/*
 * sd_state_to_ct - fill ct (fresh from nfct_new) to create or update the
 * entry of *info: both tuples, NAT, zone, TCP state and be-liberal flags,
 * status bits, timeout (expire_in, or deftimeouts[info->timeout] when 0;
 * deftimeouts may be NULL: 60 s). NAT (SNAT/DNAT attributes) only when
 * `create`: the kernel refuses NAT changes on an existing entry. Returns 0
 * or SD_CTMAP_BADL3.
 */
int sd_state_to_ct(const struct rd_state_info *info, const uint32_t *deftimeouts, bool create,
                   struct nf_conntrack *ct);

/*
 * sd_state_to_ct_key - fill ct with just the original tuple and zone of
 * *info: enough to find (get, delete) the kernel's entry. Returns 0 or
 * SD_CTMAP_BADL3.
 */
int sd_state_to_ct_key(const struct rd_state_info *info, struct nf_conntrack *ct);

/*
 * The status bits a peer's extension may set in our entry: the ones
 * ctnetlink lets a program change that mean the same on any host (a reply
 * was seen, assured, a fixed timeout). The others (NAT, expected,
 * confirmed, dying, offload) are the kernel's own.
 */
#define SD_CT_STATUS_CARRIED ((1u << 1) | (1u << 2) | (1u << 10))

/*
 * sd_ct_to_ext - the extension of conntrack entry ct into *x: its mark and
 * status always, its labels when any is set except bit `label` (syncd's
 * own mark of entries written for peers; -1: none), its helper's name when
 * it has one. An event without labels (the kernel adds them only when they
 * changed) keeps old's (the extension known before; NULL: none). Returns true when there is
 * anything a peer's entry would lack without it (a mark, a label, a helper, a carried status bit
 * beyond SEEN_REPLY and ASSURED, which the peer rebuilds from the state).
 */
bool sd_ct_to_ext(const struct nf_conntrack *ct, int label, const struct rd_sync_ext *old,
                  struct rd_sync_ext *x);

/*
 * sd_ext_to_ct - add x to ct (filled by sd_state_to_ct): its mark, its
 * status bits within SD_CT_STATUS_CARRIED (to those already set), its
 * helper when `create` (the kernel sets a helper only on a new entry).
 * Labels: x's, plus bit `label` when it is >= 0, under a full mask (the
 * record is the peer's whole set); done by the caller (ct.c owns label
 * memory), so not here.
 */
void sd_ext_to_ct(const struct rd_sync_ext *x, bool create, struct nf_conntrack *ct);

/*
 * sd_exp_master_key - the wire key of expectation exp's master (its
 * original tuple and zone). Returns 0 or an enum sd_ctmap_err.
 */
int sd_exp_master_key(const struct nf_expect *exp, struct rd_state_key *key);

/*
 * sd_exp_to_ext - expectation exp as the extension describes it: the
 * expected tuple, the source mask, seconds left, flags. Returns 0 or an
 * enum sd_ctmap_err.
 */
int sd_exp_to_ext(const struct nf_expect *exp, struct rd_sync_ext_expect *e);

/*
 * sd_ext_to_exp - fill exp (fresh from nfexp_new) with expectation e of
 * the state *master: the master's original tuple and zone, the expected
 * tuple, its mask, the timeout and flags (`create`), or just what finds it
 * (!create: the expected tuple and zone). Returns 0 or SD_CTMAP_BADL3.
 */
int sd_ext_to_exp(const struct rd_state_info *master, const struct rd_sync_ext_expect *e,
                  bool create, struct nf_expect *exp);

#endif
