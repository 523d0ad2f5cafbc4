/*
 * pfsync version 6 wire layouts, each declared once (OpenBSD if_pfsync.h
 * 1.65, pfvar.h 1.543). These structs are never used to access packets
 * directly (they may be unaligned); the codec reads and writes bytes at
 * offsetof() positions with rd_get16/rd_put16 and their kin (core/internal.h),
 * and the asserts below pin every offset to OpenBSD's layout.
 */
#ifndef RD_SYNC_PFSYNC_WIRE_H
#define RD_SYNC_PFSYNC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "redund/pfsync.h"

#define RD_PACKED __attribute__((packed))

struct rd_pfw_header {
	uint8_t version;
	uint8_t pad;
	uint16_t len; /* bytes, header included, network order */
	uint8_t pfcksum[16];
} RD_PACKED;

struct rd_pfw_subheader {
	uint8_t action;
	uint8_t len; /* one message, in 4-byte words */
	uint16_t count;
} RD_PACKED;

struct rd_pfw_clr {
	char ifname[16];
	uint32_t creatorid;
} RD_PACKED;

/* pfsync_ins_ack, pfsync_upd_req and pfsync_del_c share this layout. */
struct rd_pfw_ref {
	uint64_t id;
	uint32_t creatorid;
} RD_PACKED;

struct rd_pfw_scrub {
	uint16_t pfss_flags;
	uint8_t pfss_ttl;
	uint8_t scrub_flag;
	uint32_t pfss_ts_mod;
} RD_PACKED;

struct rd_pfw_peer {
	struct rd_pfw_scrub scrub;
	uint32_t seqlo;
	uint32_t seqhi;
	uint32_t seqdiff;
	uint16_t max_win;
	uint16_t mss;
	uint8_t state;
	uint8_t wscale;
	uint8_t pad[6];
} RD_PACKED;

struct rd_pfw_key {
	uint8_t addr[2][16];
	uint16_t port[2];
	uint16_t rdomain;
	uint8_t af;
	uint8_t pad;
} RD_PACKED;

struct rd_pfw_state {
	uint64_t id;
	char ifname[16];
	struct rd_pfw_key key[2];
	struct rd_pfw_peer src;
	struct rd_pfw_peer dst;
	uint8_t rt_addr[16];
	uint32_t rule;
	uint32_t anchor;
	uint32_t nat_rule;
	uint32_t creation;
	uint32_t expire;
	uint32_t packets[2][2];
	uint32_t bytes[2][2];
	uint32_t creatorid;
	int32_t rtableid[2];
	uint16_t max_mss;
	uint8_t af;
	uint8_t proto;
	uint8_t direction;
	uint8_t log;
	uint8_t rt;
	uint8_t timeout;
	uint8_t sync_flags;
	uint8_t updates;
	uint8_t min_ttl;
	uint8_t set_tos;
	uint16_t state_flags;
	uint8_t set_prio[2];
} RD_PACKED;

struct rd_pfw_upd_c {
	uint64_t id;
	struct rd_pfw_peer src;
	struct rd_pfw_peer dst;
	uint32_t creatorid;
	uint32_t expire;
	uint8_t timeout;
	uint8_t state_flags;
	uint8_t pad[2];
} RD_PACKED;

struct rd_pfw_bus {
	uint32_t creatorid;
	uint32_t endtime;
	uint8_t status;
	uint8_t pad[3];
} RD_PACKED;

/* BSD sockaddr_union: sockaddr_in6 is its largest member (28 bytes). */
struct rd_pfw_sockaddr {
	uint8_t sa_len;
	uint8_t sa_family;
	uint16_t port;
	uint8_t v4_addr[4]; /* sockaddr_in's sin_addr; sin6_flowinfo for v6 */
	uint8_t v6_addr[16];
	uint32_t v6_scope_id;
} RD_PACKED;

struct rd_pfw_tdb {
	uint32_t spi;
	struct rd_pfw_sockaddr dst;
	uint64_t rpl;
	uint64_t cur_bytes;
	uint8_t sproto;
	uint8_t updates;
	uint16_t rdomain;
} RD_PACKED;

#define RD_PFW_OFF(type, field) offsetof(struct type, field)

_Static_assert(sizeof(struct rd_pfw_header) == RD_PFSYNC_HDR_LEN, "pfsync_header is 20 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_header, len) == 2, "header len at 2");
_Static_assert(RD_PFW_OFF(rd_pfw_header, pfcksum) == 4, "header pfcksum at 4");
_Static_assert(sizeof(struct rd_pfw_subheader) == RD_PFSYNC_SUBHDR_LEN, "subheader is 4 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_subheader, count) == 2, "subheader count at 2");
_Static_assert(sizeof(struct rd_pfw_clr) == RD_PFSYNC_CLR_LEN, "pfsync_clr is 20 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_clr, creatorid) == 16, "clr creatorid at 16");
_Static_assert(sizeof(struct rd_pfw_ref) == RD_PFSYNC_REF_LEN, "ins_ack/upd_req/del_c are 12");
_Static_assert(RD_PFW_OFF(rd_pfw_ref, creatorid) == 8, "ref creatorid at 8");
_Static_assert(sizeof(struct rd_pfw_scrub) == 8, "pfsync_state_scrub is 8 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_scrub, pfss_ts_mod) == 4, "scrub ts_mod at 4");
_Static_assert(sizeof(struct rd_pfw_peer) == 32, "pfsync_state_peer is 32 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_peer, seqlo) == 8, "peer seqlo at 8");
_Static_assert(RD_PFW_OFF(rd_pfw_peer, seqhi) == 12, "peer seqhi at 12");
_Static_assert(RD_PFW_OFF(rd_pfw_peer, seqdiff) == 16, "peer seqdiff at 16");
_Static_assert(RD_PFW_OFF(rd_pfw_peer, max_win) == 20, "peer max_win at 20");
_Static_assert(RD_PFW_OFF(rd_pfw_peer, mss) == 22, "peer mss at 22");
_Static_assert(RD_PFW_OFF(rd_pfw_peer, state) == 24, "peer state at 24");
_Static_assert(RD_PFW_OFF(rd_pfw_peer, wscale) == 25, "peer wscale at 25");
_Static_assert(sizeof(struct rd_pfw_key) == 40, "pfsync_state_key is 40 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_key, port) == 32, "key ports at 32");
_Static_assert(RD_PFW_OFF(rd_pfw_key, rdomain) == 36, "key rdomain at 36");
_Static_assert(RD_PFW_OFF(rd_pfw_key, af) == 38, "key af at 38");
_Static_assert(sizeof(struct rd_pfw_state) == RD_PFSYNC_STATE_LEN, "pfsync_state is 264 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_state, ifname) == 8, "state ifname at 8");
_Static_assert(RD_PFW_OFF(rd_pfw_state, key) == 24, "state key[0] at 24");
_Static_assert(RD_PFW_OFF(rd_pfw_state, key[1]) == 64, "state key[1] at 64");
_Static_assert(RD_PFW_OFF(rd_pfw_state, src) == 104, "state src at 104");
_Static_assert(RD_PFW_OFF(rd_pfw_state, dst) == 136, "state dst at 136");
_Static_assert(RD_PFW_OFF(rd_pfw_state, rt_addr) == 168, "state rt_addr at 168");
_Static_assert(RD_PFW_OFF(rd_pfw_state, rule) == 184, "state rule at 184");
_Static_assert(RD_PFW_OFF(rd_pfw_state, anchor) == 188, "state anchor at 188");
_Static_assert(RD_PFW_OFF(rd_pfw_state, nat_rule) == 192, "state nat_rule at 192");
_Static_assert(RD_PFW_OFF(rd_pfw_state, creation) == 196, "state creation at 196");
_Static_assert(RD_PFW_OFF(rd_pfw_state, expire) == 200, "state expire at 200");
_Static_assert(RD_PFW_OFF(rd_pfw_state, packets) == 204, "state packets at 204");
_Static_assert(RD_PFW_OFF(rd_pfw_state, bytes) == 220, "state bytes at 220");
_Static_assert(RD_PFW_OFF(rd_pfw_state, creatorid) == 236, "state creatorid at 236");
_Static_assert(RD_PFW_OFF(rd_pfw_state, rtableid) == 240, "state rtableid at 240");
_Static_assert(RD_PFW_OFF(rd_pfw_state, max_mss) == 248, "state max_mss at 248");
_Static_assert(RD_PFW_OFF(rd_pfw_state, af) == 250, "state af at 250");
_Static_assert(RD_PFW_OFF(rd_pfw_state, proto) == 251, "state proto at 251");
_Static_assert(RD_PFW_OFF(rd_pfw_state, direction) == 252, "state direction at 252");
_Static_assert(RD_PFW_OFF(rd_pfw_state, log) == 253, "state log at 253");
_Static_assert(RD_PFW_OFF(rd_pfw_state, rt) == 254, "state rt at 254");
_Static_assert(RD_PFW_OFF(rd_pfw_state, timeout) == 255, "state timeout at 255");
_Static_assert(RD_PFW_OFF(rd_pfw_state, sync_flags) == 256, "state sync_flags at 256");
_Static_assert(RD_PFW_OFF(rd_pfw_state, updates) == 257, "state updates at 257");
_Static_assert(RD_PFW_OFF(rd_pfw_state, min_ttl) == 258, "state min_ttl at 258");
_Static_assert(RD_PFW_OFF(rd_pfw_state, set_tos) == 259, "state set_tos at 259");
_Static_assert(RD_PFW_OFF(rd_pfw_state, state_flags) == 260, "state state_flags at 260");
_Static_assert(RD_PFW_OFF(rd_pfw_state, set_prio) == 262, "state set_prio at 262");
_Static_assert(sizeof(struct rd_pfw_upd_c) == RD_PFSYNC_UPD_C_LEN, "pfsync_upd_c is 84 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_upd_c, src) == 8, "upd_c src at 8");
_Static_assert(RD_PFW_OFF(rd_pfw_upd_c, dst) == 40, "upd_c dst at 40");
_Static_assert(RD_PFW_OFF(rd_pfw_upd_c, creatorid) == 72, "upd_c creatorid at 72");
_Static_assert(RD_PFW_OFF(rd_pfw_upd_c, expire) == 76, "upd_c expire at 76");
_Static_assert(RD_PFW_OFF(rd_pfw_upd_c, timeout) == 80, "upd_c timeout at 80");
_Static_assert(RD_PFW_OFF(rd_pfw_upd_c, state_flags) == 81, "upd_c state_flags at 81");
_Static_assert(sizeof(struct rd_pfw_bus) == RD_PFSYNC_BUS_LEN, "pfsync_bus is 12 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_bus, endtime) == 4, "bus endtime at 4");
_Static_assert(RD_PFW_OFF(rd_pfw_bus, status) == 8, "bus status at 8");
_Static_assert(sizeof(struct rd_pfw_sockaddr) == 28, "sockaddr_union is 28 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_sockaddr, v6_addr) == 8, "sin6_addr at 8");
_Static_assert(sizeof(struct rd_pfw_tdb) == RD_PFSYNC_TDB_LEN, "pfsync_tdb is 52 bytes");
_Static_assert(RD_PFW_OFF(rd_pfw_tdb, dst) == 4, "tdb dst at 4");
_Static_assert(RD_PFW_OFF(rd_pfw_tdb, rpl) == 32, "tdb rpl at 32");
_Static_assert(RD_PFW_OFF(rd_pfw_tdb, cur_bytes) == 40, "tdb cur_bytes at 40");
_Static_assert(RD_PFW_OFF(rd_pfw_tdb, sproto) == 48, "tdb sproto at 48");
_Static_assert(RD_PFW_OFF(rd_pfw_tdb, rdomain) == 50, "tdb rdomain at 50");

#endif
