/*
 * libredund — the pfsync version 6 codec (OpenBSD's wire format).
 *
 * A pfsync packet (the payload of IP protocol 240, or of a secure envelope)
 * is a 20-byte header followed by sections, each a 4-byte subheader (action,
 * message length in 4-byte words, message count) and count messages of that
 * length. This module turns such packets into host-friendly messages and
 * back, byte for byte compatible with OpenBSD's if_pfsync.h 1.65 /
 * pfvar.h 1.543.
 *
 * Decoding checks the framing of the WHOLE packet (version, lengths, counts,
 * message sizes) before the first message is handed to the caller: a packet
 * whose framing is bad delivers nothing. Values are judged message by
 * message, as OpenBSD's pfsync_input does (pfsyncs_badval; continue): a
 * message with a value out of range (a timeout class such as PFTM_PURGE 21
 * or PFTM_UNLINKED 22, an address family, creatorid 0, ...) is refused
 * alone, and the other messages of the packet are delivered. A message is
 * delivered whole or not at all. Each refusal is counted by reason.
 * Deprecated and unknown actions are skipped by their declared length, as
 * OpenBSD does; messages longer than the size known here are read by their
 * known prefix (forward compatibility).
 *
 * Which values refuse a message, per action, after OpenBSD's pfsync_in_*
 * (if_pfsync.c 1.332) and pf_state_import (pf.c):
 *   INS     state af not AF_INET/AF_INET6, or a key af other than those
 *           unless both keys have af 0 (badaf); timeout >= 20 (badtimeout);
 *           a peer state > PROXY_DST or direction > PF_OUT (badval);
 *           creatorid 0 (badcreatorid).
 *   UPD     as INS, but a key af 0 alone is allowed and direction is not
 *           checked (pf_state_import fills the key's af from the state's).
 *   DEL     creatorid 0 only: OpenBSD reads nothing but id and creatorid.
 *   UPD_C   timeout >= 20 (badtimeout); a peer state > PROXY_DST (badval);
 *           creatorid 0 (badcreatorid).
 *   INS_ACK, DEL_C   creatorid 0 (badcreatorid).
 *   BUS     status neither START nor END (badval; OpenBSD ignores it).
 * A key with af 0 decodes with the state's af, as pf_state_import does (so
 * does a key of an unknown family in a DEL).
 * Difference: OpenBSD looks up the creatorid 0 references (no state has
 * creatorid 0, so nothing happens) and answers an UPD_C with creatorid 0 by
 * an UPD_REQ for it (a bulk request when the id is 0 too); libredund refuses
 * those messages and counts them.
 *
 * A header whose len field is under 20 (the header's own size) is read to
 * the end of the packet: OpenBSD's pfsync_input then trims nothing and walks
 * every section the packet holds (its remaining length goes negative and
 * compares as unsigned), so libredund does the same.
 *
 * Numbering at the edge: the wire carries OpenBSD's address families
 * (AF_INET 2, AF_INET6 24); decoded messages carry libredund's (RD_AF_INET,
 * RD_AF_INET6). TCP peer states and timeout classes keep pf's numbering
 * (enum rd_pfsync_tcps, enum rd_pfsync_timeout below), which is the same
 * numbering as state.h's enum rd_tcps and enum rd_state_tm, so they pass
 * through unchanged (pf's proxy states 11 and 12 have no rd_tcps value and
 * are the importer's to refuse). A compressed update (UPD_C) does not say
 * which protocol its peer states belong to, so the codec cannot map them
 * further. Direction stays pf's (PF_IN 1, PF_OUT 2; state.h counts from 0):
 * the sync engine translates it when it applies a state.
 *
 * Byte order: multi-byte integers in the decoded structs are host order
 * values. Identifiers are opaque on the wire (OpenBSD copies them
 * unswapped); here id is the 64-bit big-endian value read from the wire and
 * creatorid the 32-bit big-endian value, so printing them in hex shows the
 * wire bytes in order. Ports are host order.
 *
 * Every function here is pure and thread-safe (statistics are the caller's
 * object).
 */
#ifndef REDUND_PFSYNC_H
#define REDUND_PFSYNC_H

#include "redund/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RD_PFSYNC_VERSION    6
#define RD_PFSYNC_IPPROTO    240        /* IP protocol number (unassigned by IANA) */
#define RD_PFSYNC_TTL        255        /* senders use it, receivers require it */
#define RD_PFSYNC_GROUP_V4   0xe00000f0 /* 224.0.0.240, host order */
#define RD_PFSYNC_HDR_LEN    20
#define RD_PFSYNC_SUBHDR_LEN 4
#define RD_PFSYNC_IFNAMSIZ   16
#define RD_PFSYNC_CKSUM_LEN  16

/* Actions (subheader byte 0), OpenBSD's numbers. */
enum rd_pfsync_action {
	RD_PFSYNC_ACT_CLR = 0,     /* clear all states of a creator */
	RD_PFSYNC_ACT_OINS = 1,    /* deprecated, skipped */
	RD_PFSYNC_ACT_INS_ACK = 2, /* a deferred insert arrived */
	RD_PFSYNC_ACT_OUPD = 3,    /* deprecated, skipped */
	RD_PFSYNC_ACT_UPD_C = 4,   /* compressed update */
	RD_PFSYNC_ACT_UPD_REQ = 5, /* request a full state (0/0: bulk update) */
	RD_PFSYNC_ACT_DEL = 6,     /* delete, full state (accepted, not sent by OpenBSD) */
	RD_PFSYNC_ACT_DEL_C = 7,   /* compressed delete */
	RD_PFSYNC_ACT_INS_F = 8,   /* never implemented, skipped */
	RD_PFSYNC_ACT_DEL_F = 9,   /* never implemented, skipped */
	RD_PFSYNC_ACT_BUS = 10,    /* bulk update status */
	RD_PFSYNC_ACT_OTDB = 11,   /* deprecated, skipped */
	RD_PFSYNC_ACT_EOF = 12,    /* deprecated, skipped */
	RD_PFSYNC_ACT_INS = 13,    /* insert, full state */
	RD_PFSYNC_ACT_UPD = 14,    /* update, full state */
	RD_PFSYNC_ACT_TDB = 15,    /* IPsec SA counters */
	RD_PFSYNC_ACT_COUNT = 16,
};

/* Message sizes on the wire (bytes) of the actions this codec knows. */
#define RD_PFSYNC_CLR_LEN   20
#define RD_PFSYNC_REF_LEN   12 /* INS_ACK, UPD_REQ, DEL_C */
#define RD_PFSYNC_UPD_C_LEN 84
#define RD_PFSYNC_STATE_LEN 264 /* INS, UPD, DEL */
#define RD_PFSYNC_BUS_LEN   12
#define RD_PFSYNC_TDB_LEN   52

/* Address families as OpenBSD numbers them on the wire. */
#define RD_PFSYNC_WIRE_AF_INET  2
#define RD_PFSYNC_WIRE_AF_INET6 24

/* TCP peer states (4.4BSD TCPS_* plus pf's proxy states), pf's numbers. */
enum rd_pfsync_tcps {
	RD_PFSYNC_TCPS_CLOSED = 0,
	RD_PFSYNC_TCPS_LISTEN = 1,
	RD_PFSYNC_TCPS_SYN_SENT = 2,
	RD_PFSYNC_TCPS_SYN_RECEIVED = 3,
	RD_PFSYNC_TCPS_ESTABLISHED = 4,
	RD_PFSYNC_TCPS_CLOSE_WAIT = 5,
	RD_PFSYNC_TCPS_FIN_WAIT_1 = 6,
	RD_PFSYNC_TCPS_CLOSING = 7,
	RD_PFSYNC_TCPS_LAST_ACK = 8,
	RD_PFSYNC_TCPS_FIN_WAIT_2 = 9,
	RD_PFSYNC_TCPS_TIME_WAIT = 10,
	RD_PFSYNC_TCPS_PROXY_SRC = 11,
	RD_PFSYNC_TCPS_PROXY_DST = 12, /* the largest value a receiver accepts */
};

/* UDP and other protocols' peer states (PFUDPS_*, PFOTHERS_*). */
enum rd_pfsync_udps {
	RD_PFSYNC_UDPS_NO_TRAFFIC = 0,
	RD_PFSYNC_UDPS_SINGLE = 1,
	RD_PFSYNC_UDPS_MULTIPLE = 2,
};

/* Timeout classes (PFTM_*), pf's numbers. */
enum rd_pfsync_timeout {
	RD_PFSYNC_TM_TCP_FIRST_PACKET = 0,
	RD_PFSYNC_TM_TCP_OPENING = 1,
	RD_PFSYNC_TM_TCP_ESTABLISHED = 2,
	RD_PFSYNC_TM_TCP_CLOSING = 3,
	RD_PFSYNC_TM_TCP_FIN_WAIT = 4,
	RD_PFSYNC_TM_TCP_CLOSED = 5,
	RD_PFSYNC_TM_UDP_FIRST_PACKET = 6,
	RD_PFSYNC_TM_UDP_SINGLE = 7,
	RD_PFSYNC_TM_UDP_MULTIPLE = 8,
	RD_PFSYNC_TM_ICMP_FIRST_PACKET = 9,
	RD_PFSYNC_TM_ICMP_ERROR_REPLY = 10,
	RD_PFSYNC_TM_OTHER_FIRST_PACKET = 11,
	RD_PFSYNC_TM_OTHER_SINGLE = 12,
	RD_PFSYNC_TM_OTHER_MULTIPLE = 13,
	RD_PFSYNC_TM_FRAG = 14,
	RD_PFSYNC_TM_INTERVAL = 15,
	RD_PFSYNC_TM_ADAPTIVE_START = 16,
	RD_PFSYNC_TM_ADAPTIVE_END = 17,
	RD_PFSYNC_TM_SRC_NODE = 18,
	RD_PFSYNC_TM_TS_DIFF = 19,
	RD_PFSYNC_TM_COUNT = 20, /* receivers refuse timeout >= this */
};

/* Direction of the packet that created a state. */
#define RD_PFSYNC_DIR_IN  1
#define RD_PFSYNC_DIR_OUT 2

/* Bulk update status (BUS). */
#define RD_PFSYNC_BUS_START 1
#define RD_PFSYNC_BUS_END   2

/* state_flags bits that matter to sync (PFSTATE_*). */
#define RD_PFSYNC_STATE_SLOPPY 0x0002 /* sloppy TCP tracking (RD_STATE_F_SLOPPY) */
#define RD_PFSYNC_STATE_NOSYNC 0x0008 /* never synced (RD_STATE_F_NOSYNC) */
#define RD_PFSYNC_STATE_ACK    0x0010 /* the sender defers a packet for this state */
/* scrub.flags: the only PFSS_* bit pf exports and imports */
#define RD_PFSYNC_PFSS_TIMESTAMP 0x0001
/* sync_flags bits (informational). */
#define RD_PFSYNC_FLAG_SRCNODE    0x04
#define RD_PFSYNC_FLAG_NATSRCNODE 0x08
/* scrub.scrub_flag */
#define RD_PFSYNC_SCRUB_FLAG_VALID 0x01

/* One side's scrub memory (pfsync_state_scrub). */
struct rd_pfsync_scrub {
	uint16_t flags; /* PFSS_*: only PFSS_TIMESTAMP 0x0001 is exported */
	uint8_t ttl;
	uint8_t scrub_flag; /* RD_PFSYNC_SCRUB_FLAG_VALID when present */
	uint32_t ts_mod;
};

/* One side of a connection (pfsync_state_peer). */
struct rd_pfsync_peer {
	struct rd_pfsync_scrub scrub;
	uint32_t seqlo;
	uint32_t seqhi;
	uint32_t seqdiff;
	uint16_t max_win;
	uint16_t mss;
	uint8_t state; /* enum rd_pfsync_tcps for TCP, rd_pfsync_udps otherwise */
	uint8_t wscale;
};

/* A state key (pfsync_state_key); proto copied from the state. */
struct rd_pfsync_key {
	struct rd_addr addr[2]; /* af set to the key's family (RD_AF_*) */
	uint16_t port[2];       /* host order */
	uint16_t rdomain;
	uint8_t af; /* RD_AF_INET or RD_AF_INET6 */
	uint8_t proto;
};

/* A full state: INS, UPD and DEL messages (pfsync_state, 264 bytes). */
struct rd_pfsync_state {
	uint64_t id;
	char ifname[RD_PFSYNC_IFNAMSIZ + 1]; /* NUL-terminated */
	struct rd_pfsync_key key[2];         /* [0] wire side, [1] stack side */
	struct rd_pfsync_peer src;
	struct rd_pfsync_peer dst;
	struct rd_addr rt_addr; /* family of the state (af) */
	int32_t rule;           /* -1: none */
	int32_t anchor;         /* -1: none */
	int32_t nat_rule;       /* always -1 from OpenBSD */
	uint32_t creation;      /* age in seconds */
	uint32_t expire;        /* seconds left */
	uint64_t packets[2];
	uint64_t bytes[2];
	uint32_t creatorid;
	int32_t rtableid[2];
	uint16_t max_mss;
	uint8_t af; /* RD_AF_* of key[0] */
	uint8_t proto;
	uint8_t direction; /* RD_PFSYNC_DIR_IN or _OUT (0 accepted) */
	uint8_t log;
	uint8_t rt;      /* 0 none, 1 route-to, 2 dup-to, 3 reply-to */
	uint8_t timeout; /* enum rd_pfsync_timeout */
	uint8_t sync_flags;
	uint8_t updates;
	uint8_t min_ttl;
	uint8_t set_tos;
	uint16_t state_flags; /* PFSTATE_*: RD_PFSYNC_STATE_ACK */
	uint8_t set_prio[2];
};

/* CLR: remove all states of creatorid (bound to ifname if not empty). */
struct rd_pfsync_clr {
	char ifname[RD_PFSYNC_IFNAMSIZ + 1];
	uint32_t creatorid;
};

/* INS_ACK, UPD_REQ and DEL_C: a reference to a state. */
struct rd_pfsync_ref {
	uint64_t id;
	uint32_t creatorid;
};

/* UPD_C: compressed update. */
struct rd_pfsync_upd_c {
	uint64_t id;
	struct rd_pfsync_peer src;
	struct rd_pfsync_peer dst;
	uint32_t creatorid;
	uint32_t expire;     /* OpenBSD sends 0 and ignores it */
	uint8_t timeout;     /* enum rd_pfsync_timeout */
	uint8_t state_flags; /* OpenBSD sends 0 */
};

/* BUS: bulk update status. */
struct rd_pfsync_bus {
	uint32_t creatorid;
	uint32_t endtime;
	uint8_t status; /* RD_PFSYNC_BUS_START or _END */
};

/* TDB: IPsec SA replay and byte counters. */
struct rd_pfsync_tdb {
	uint32_t spi;       /* as read big-endian from the wire */
	struct rd_addr dst; /* RD_AF_UNSPEC when the sockaddr is neither v4 nor v6 */
	uint16_t dst_port;  /* host order; 0 when dst is RD_AF_UNSPEC */
	uint64_t rpl;
	uint64_t cur_bytes;
	uint8_t sproto;
	uint8_t updates;
	uint16_t rdomain;
};

/* One decoded message. `action` selects the union member. */
struct rd_pfsync_msg {
	uint8_t action; /* enum rd_pfsync_action */
	union {
		struct rd_pfsync_clr clr;     /* CLR */
		struct rd_pfsync_ref ref;     /* INS_ACK, UPD_REQ, DEL_C */
		struct rd_pfsync_upd_c upd_c; /* UPD_C */
		struct rd_pfsync_state state; /* INS, UPD, DEL */
		struct rd_pfsync_bus bus;     /* BUS */
		struct rd_pfsync_tdb tdb;     /* TDB */
	} u;
};

/*
 * Decoder counters. The first three count good traffic. HDROPS, BADVER,
 * BADLEN and BADACT count packets refused whole for their framing (each
 * once, under the first problem found). BADVAL, BADAF, BADCREATOR and
 * BADTIMEOUT count single messages refused for a value, the rest of their
 * packet being delivered. Named after OpenBSD's pfsyncs_* counters where
 * one exists (OpenBSD counts the four value reasons under badval).
 */
enum rd_pfsync_stat {
	RD_PFSYNC_STAT_PACKETS = 0, /* packets whose framing was accepted */
	RD_PFSYNC_STAT_MESSAGES,    /* messages handed to the caller */
	RD_PFSYNC_STAT_SKIPPED,     /* deprecated or unknown messages skipped by length */
	RD_PFSYNC_STAT_HDROPS,      /* packet shorter than the 20-byte header */
	RD_PFSYNC_STAT_BADVER,      /* packet version is not 6 */
	RD_PFSYNC_STAT_BADLEN,      /* header len or a section overruns the packet */
	RD_PFSYNC_STAT_BADACT,      /* unknown/short action with no length or count */
	RD_PFSYNC_STAT_BADVAL,      /* message: a peer state beyond PROXY_DST, a
	                               direction beyond PF_OUT, a bus status */
	RD_PFSYNC_STAT_BADAF,       /* message: address family neither AF_INET nor
	                               AF_INET6 (a key's 0 is allowed, see above) */
	RD_PFSYNC_STAT_BADCREATOR,  /* message: creatorid 0 */
	RD_PFSYNC_STAT_BADTIMEOUT,  /* message: timeout class >= 20, e.g. PFTM_PURGE
	                               21 or PFTM_UNLINKED 22 in an OpenBSD UPD_C
	                               for a state it is removing */
	RD_PFSYNC_STAT_COUNT,
};

/*
 * Counters, indexed by enum rd_pfsync_stat and named by
 * rd_pfsync_stat_name: the statistics shape of every module (common.h).
 * The codec has no object to hold them, so the caller owns the array
 * (wrapped in a struct so that it is passed and copied whole) and hands it
 * to rd_pfsync_decode, which only adds to it; reading it is reading the
 * stats. Zero-initialise before use.
 */
struct rd_pfsync_stats {
	uint64_t count[RD_PFSYNC_STAT_COUNT];
};

/*
 * rd_pfsync_stat_name - the short name of a counter ("packets", "badlen",
 * ...), or "unknown" when out of range. Static string. Thread-safe.
 */
RD_EXPORT const char *rd_pfsync_stat_name(int stat);

/*
 * rd_pfsync_action_name - OpenBSD's name of an action ("CLR", "INS_ACK",
 * "UPD_C", ...), or "unknown". Static string. Thread-safe.
 */
RD_EXPORT const char *rd_pfsync_action_name(int action);

/*
 * rd_pfsync_msg_len - the wire size of one message of `action` as this
 * codec writes it, or 0 for deprecated and unknown actions.
 */
RD_EXPORT size_t rd_pfsync_msg_len(int action);

/*
 * rd_pfsync_msg_ref - the state a message names: *id and *creatorid of an
 * INS, UPD, DEL (the full state), UPD_C, DEL_C, INS_ACK or UPD_REQ (id 0
 * and creatorid 0 or a member: a bulk request), and the creatorid of a
 * BUS or CLR (*id 0). Returns true for those, false (both 0) for other
 * actions. Thread-safe.
 */
RD_EXPORT bool rd_pfsync_msg_ref(const struct rd_pfsync_msg *m, uint64_t *id, uint32_t *creatorid);

/* What rd_pfsync_check learned about a packet. */
struct rd_pfsync_info {
	size_t length;    /* bytes read: the header's len, or the packet's length
	                     when the header's len is under 20 */
	uint16_t hdr_len; /* the header's len field as sent */
	size_t messages;  /* messages that will be delivered */
	size_t refused;   /* messages that will be refused for a value */
	size_t skipped;   /* messages that will be skipped */
	int reason;       /* RD_PFSYNC_STAT_PACKETS when the framing is good,
	                     else the reason the packet is refused whole */
	size_t offset;    /* where that refusal was found (byte offset) */
	uint8_t pfcksum[RD_PFSYNC_CKSUM_LEN];
};

/*
 * rd_pfsync_check - validate a whole pfsync packet (starting at the pfsync
 * header; no IP header) without delivering anything. Fills *info if not
 * NULL. Bytes beyond the header's len are ignored (OpenBSD trims them), as
 * are fewer than 4 trailing bytes after the last section. Does not touch
 * any counter. Returns 0 when the framing is good (info->refused messages
 * may still be refused for their values), or RD_ERR_PROTO when the packet
 * is refused whole. Thread-safe.
 */
RD_EXPORT int rd_pfsync_check(const uint8_t *pkt, size_t len, struct rd_pfsync_info *info);

/*
 * Callback receiving each decoded message. `msg` is valid only during the
 * call. Return 0 to continue; any other value stops the decoding and is
 * returned by rd_pfsync_decode.
 */
typedef int (*rd_pfsync_msg_fn)(void *user, const struct rd_pfsync_msg *msg);

/*
 * Callback receiving each message refused for a value: `msg` holds its
 * fields as far as they decode (a family neither AF_INET nor AF_INET6
 * decodes as RD_AF_UNSPEC with zero addresses), `reason` the counter it was
 * counted under (enum rd_pfsync_stat), `offset` the message's first byte in
 * the packet. `msg` is valid only during the call. Return 0 to continue;
 * any other value stops the decoding and is returned.
 */
typedef int (*rd_pfsync_refused_fn)(void *user, const struct rd_pfsync_msg *msg, int reason,
                                    size_t offset);

/*
 * rd_pfsync_decode - check the packet's framing (as rd_pfsync_check) and,
 * if good, call fn for each accepted message in packet order; messages
 * refused for a value are counted and passed over. A packet refused whole
 * calls fn never, counts one refusal reason in *stats and returns
 * RD_ERR_PROTO. A good packet counts packets, messages, skipped and one
 * reason per refused message in *stats, all before the first call. stats
 * and info may be NULL. Returns 0, RD_ERR_PROTO, or the callback's non-zero
 * value. Thread-safe for distinct stats objects.
 */
RD_EXPORT int rd_pfsync_decode(const uint8_t *pkt, size_t len, struct rd_pfsync_stats *stats,
                               struct rd_pfsync_info *info, rd_pfsync_msg_fn fn, void *user);

/*
 * rd_pfsync_decode_each - rd_pfsync_decode that also calls refused (if not
 * NULL) for each message refused for a value, in packet order among the
 * accepted ones: for decoders and logs that name every refusal. fn may be
 * NULL too. Same returns, counting and thread-safety as rd_pfsync_decode.
 */
RD_EXPORT int rd_pfsync_decode_each(const uint8_t *pkt, size_t len, struct rd_pfsync_stats *stats,
                                    struct rd_pfsync_info *info, rd_pfsync_msg_fn fn,
                                    rd_pfsync_refused_fn refused, void *user);

/*
 * rd_pfsync_encode_msg - write one message's wire form (rd_pfsync_msg_len
 * bytes) to out. Returns the number of bytes written, RD_ERR_INVAL for an
 * action this codec does not write, or RD_ERR_NOSPC if cap is too small.
 * Values are written as given (the encoder does not refuse what the decoder
 * would); families other than RD_AF_INET/INET6 are written as 0.
 */
RD_EXPORT int rd_pfsync_encode_msg(const struct rd_pfsync_msg *msg, uint8_t *out, size_t cap);

/*
 * Packet builder: appends messages to a packet under subheaders, packing
 * consecutive messages of one action under one subheader, up to the
 * buffer's capacity (the link MTU minus the IP header, or the envelope's
 * payload room). The caller owns buf; the builder only writes into it.
 */
struct rd_pfsync_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	size_t subh;    /* offset of the open subheader, 0 when none */
	size_t total;   /* messages in the packet */
	uint16_t count; /* messages under the open subheader */
	uint8_t action; /* action of the open subheader */
};

/*
 * rd_pfsync_builder_init - start a packet in buf (cap bytes, at most 65535
 * are used): writes a version 6 header with a zero checksum, as current
 * OpenBSD does. Returns 0, or RD_ERR_NOSPC when cap cannot hold the header
 * and one subheader.
 */
RD_EXPORT int rd_pfsync_builder_init(struct rd_pfsync_builder *b, uint8_t *buf, size_t cap);

/*
 * rd_pfsync_builder_room - how many more messages of `action` fit in the
 * packet (accounting for a new subheader when needed). 0 for actions the
 * codec does not write.
 */
RD_EXPORT size_t rd_pfsync_builder_room(const struct rd_pfsync_builder *b, int action);

/*
 * rd_pfsync_builder_add - append one message. Returns 0, RD_ERR_NOSPC when
 * it does not fit (the packet is unchanged), or RD_ERR_INVAL.
 */
RD_EXPORT int rd_pfsync_builder_add(struct rd_pfsync_builder *b, const struct rd_pfsync_msg *msg);

/*
 * rd_pfsync_builder_count - messages added so far.
 */
RD_EXPORT size_t rd_pfsync_builder_count(const struct rd_pfsync_builder *b);

/*
 * rd_pfsync_builder_finish - write the header's length and return the
 * packet's length in bytes (the packet is buf[0..len)). The builder may be
 * reused only after rd_pfsync_builder_init.
 */
RD_EXPORT size_t rd_pfsync_builder_finish(struct rd_pfsync_builder *b);

/*
 * Translation between OpenBSD's wire numbering and libredund's, in one
 * place. Each returns -1 for a value with no counterpart.
 */
RD_EXPORT int rd_pfsync_af_from_wire(uint8_t wire_af); /* 2 -> RD_AF_INET, 24 -> RD_AF_INET6 */
RD_EXPORT int rd_pfsync_af_to_wire(uint8_t rd_af);     /* RD_AF_INET -> 2, RD_AF_INET6 -> 24 */

#ifdef __cplusplus
}
#endif

#endif
