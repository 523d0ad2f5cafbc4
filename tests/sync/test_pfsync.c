/* Unit tests for the pfsync v6 codec. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/pfsync.h"

#include "golden.h"

/* Collects decoded messages. */
struct sink {
	struct rd_pfsync_msg msgs[256];
	size_t n;
	struct rd_pfsync_msg refused[16]; /* messages refused for a value */
	int why[16];
	size_t at[16];
	size_t nref;
};

static int collect(void *user, const struct rd_pfsync_msg *m)
{
	struct sink *s = user;
	if (s->n < 256)
		s->msgs[s->n] = *m;
	s->n++;
	return 0;
}

/* Packet = header + one section of count copies of msg (mlen bytes). */
static size_t make_pkt(uint8_t *pkt, uint8_t action, const uint8_t *msg, size_t mlen,
                       uint16_t count)
{
	size_t len = 20 + 4 + mlen * count;
	memset(pkt, 0, 24);
	pkt[0] = 6;
	rd_put16(pkt + 2, (uint16_t)len);
	pkt[20] = action;
	pkt[21] = (uint8_t)(mlen / 4);
	rd_put16(pkt + 22, count);
	for (uint16_t i = 0; i < count; i++)
		memcpy(pkt + 24 + i * mlen, msg, mlen);
	return len;
}

static int note_refused(void *user, const struct rd_pfsync_msg *m, int reason, size_t offset)
{
	struct sink *s = user;
	if (s->nref < 16) {
		s->refused[s->nref] = *m;
		s->why[s->nref] = reason;
		s->at[s->nref] = offset;
	}
	s->nref++;
	return 0;
}

/* Decodes with both callbacks; info may be NULL. */
static int decode_each(const uint8_t *pkt, size_t len, struct rd_pfsync_stats *st,
                       struct rd_pfsync_info *info, struct sink *s)
{
	s->n = 0;
	s->nref = 0;
	return rd_pfsync_decode_each(pkt, len, st, info, collect, note_refused, s);
}

static int decode(const uint8_t *pkt, size_t len, struct rd_pfsync_stats *st, struct sink *s)
{
	s->n = 0;
	return rd_pfsync_decode(pkt, len, st, NULL, collect, s);
}

START_TEST(golden_state_array_is_complete)
{
	/* The last field (set_prio) sits at bytes 262-263. */
	ck_assert_uint_eq(golden_state[262], 3);
	ck_assert_uint_eq(golden_state[263], 4);
	ck_assert_uint_eq(golden_upd_c[80], 1);
}
END_TEST

START_TEST(golden_ins_decodes_every_field)
{
	uint8_t pkt[512];
	struct sink s;
	struct rd_pfsync_stats st = {0};
	char buf[RD_ADDR_STRLEN];
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_INS, golden_state, 264, 1);

	ck_assert_int_eq(decode(pkt, len, &st, &s), 0);
	ck_assert_uint_eq(s.n, 1);
	const struct rd_pfsync_state *x = &s.msgs[0].u.state;
	ck_assert_uint_eq(s.msgs[0].action, RD_PFSYNC_ACT_INS);
	ck_assert_uint_eq(x->id, 0x0102030405060708ULL);
	ck_assert_str_eq(x->ifname, "em0");
	ck_assert_uint_eq(x->key[0].af, RD_AF_INET);
	ck_assert_str_eq(rd_addr_format(&x->key[0].addr[0], buf, sizeof(buf)), "10.0.0.1");
	ck_assert_str_eq(rd_addr_format(&x->key[0].addr[1], buf, sizeof(buf)), "192.168.1.2");
	ck_assert_uint_eq(x->key[0].port[0], 8080);
	ck_assert_uint_eq(x->key[0].port[1], 54321);
	ck_assert_uint_eq(x->key[0].rdomain, 0);
	ck_assert_uint_eq(x->key[0].proto, 6);
	ck_assert_str_eq(rd_addr_format(&x->key[1].addr[1], buf, sizeof(buf)), "203.0.113.5");
	ck_assert_uint_eq(x->key[1].port[1], 40000);
	ck_assert_uint_eq(x->key[1].rdomain, 3);
	ck_assert_uint_eq(x->src.scrub.flags, 1);
	ck_assert_uint_eq(x->src.scrub.ttl, 64);
	ck_assert_uint_eq(x->src.scrub.scrub_flag, RD_PFSYNC_SCRUB_FLAG_VALID);
	ck_assert_uint_eq(x->src.scrub.ts_mod, 42);
	ck_assert_uint_eq(x->src.seqlo, 0x11223344);
	ck_assert_uint_eq(x->src.seqhi, 0x1122ffff);
	ck_assert_uint_eq(x->src.seqdiff, 7);
	ck_assert_uint_eq(x->src.max_win, 65535);
	ck_assert_uint_eq(x->src.mss, 1460);
	ck_assert_uint_eq(x->src.state, RD_PFSYNC_TCPS_ESTABLISHED);
	ck_assert_uint_eq(x->src.wscale, 7);
	ck_assert_uint_eq(x->dst.seqlo, 0xaabbccdd);
	ck_assert_uint_eq(x->dst.max_win, 32768);
	ck_assert_uint_eq(x->dst.mss, 1440);
	ck_assert_uint_eq(x->dst.state, RD_PFSYNC_TCPS_FIN_WAIT_2);
	ck_assert_uint_eq(x->dst.wscale, 2);
	ck_assert_uint_eq(x->rt_addr.af, RD_AF_INET);
	ck_assert_int_eq(x->rule, 5);
	ck_assert_int_eq(x->anchor, -1);
	ck_assert_int_eq(x->nat_rule, -1);
	ck_assert_uint_eq(x->creation, 60);
	ck_assert_uint_eq(x->expire, 86400);
	ck_assert_uint_eq(x->packets[0], 0x100000002ULL);
	ck_assert_uint_eq(x->packets[1], 16);
	ck_assert_uint_eq(x->bytes[0], 65536);
	ck_assert_uint_eq(x->bytes[1], 0x200000000ULL);
	ck_assert_uint_eq(x->creatorid, 0xdeadbeef);
	ck_assert_int_eq(x->rtableid[0], 0);
	ck_assert_int_eq(x->rtableid[1], 1);
	ck_assert_uint_eq(x->max_mss, 1460);
	ck_assert_uint_eq(x->af, RD_AF_INET);
	ck_assert_uint_eq(x->proto, 6);
	ck_assert_uint_eq(x->direction, RD_PFSYNC_DIR_OUT);
	ck_assert_uint_eq(x->timeout, RD_PFSYNC_TM_TCP_ESTABLISHED);
	ck_assert_uint_eq(x->sync_flags, RD_PFSYNC_FLAG_SRCNODE);
	ck_assert_uint_eq(x->state_flags, RD_PFSYNC_STATE_ACK);
	ck_assert_uint_eq(x->set_prio[0], 3);
	ck_assert_uint_eq(x->set_prio[1], 4);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_PACKETS], 1);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_MESSAGES], 1);
}
END_TEST

START_TEST(golden_state_reencodes_to_same_bytes)
{
	uint8_t pkt[512], out[264];
	struct sink s;
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_UPD, golden_state, 264, 1);

	ck_assert_int_eq(decode(pkt, len, NULL, &s), 0);
	ck_assert_int_eq(rd_pfsync_encode_msg(&s.msgs[0], out, sizeof(out)), 264);
	ck_assert_mem_eq(out, golden_state, 264);
}
END_TEST

START_TEST(golden_ipv6_state_maps_af_24_to_rd_af_inet6)
{
	uint8_t st6[264], pkt[512];
	struct sink s;
	char buf[RD_ADDR_STRLEN];

	memcpy(st6, golden_state, 264);
	st6[250] = 24;     /* state af */
	st6[24 + 38] = 24; /* key[0].af */
	st6[64 + 38] = 24; /* key[1].af */
	memset(st6 + 24, 0, 16);
	st6[24] = 0x20; /* 2001:db8::1 */
	st6[25] = 0x01;
	st6[26] = 0x0d;
	st6[27] = 0xb8;
	st6[39] = 0x01;
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_INS, st6, 264, 1);
	ck_assert_int_eq(decode(pkt, len, NULL, &s), 0);
	ck_assert_uint_eq(s.msgs[0].u.state.af, RD_AF_INET6);
	ck_assert_uint_eq(s.msgs[0].u.state.key[0].af, RD_AF_INET6);
	ck_assert_str_eq(rd_addr_format(&s.msgs[0].u.state.key[0].addr[0], buf, sizeof(buf)),
	                 "2001:db8::1");
}
END_TEST

START_TEST(golden_upd_c_decodes_and_reencodes)
{
	uint8_t pkt[256], out[84];
	struct sink s;
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_UPD_C, golden_upd_c, 84, 2);

	ck_assert_uint_eq(len, 20 + 4 + 168);
	ck_assert_int_eq(decode(pkt, len, NULL, &s), 0);
	ck_assert_uint_eq(s.n, 2);
	const struct rd_pfsync_upd_c *u = &s.msgs[1].u.upd_c;
	ck_assert_uint_eq(u->id, 0x65432100);
	ck_assert_uint_eq(u->src.seqlo, 1000);
	ck_assert_uint_eq(u->src.seqhi, 2000);
	ck_assert_uint_eq(u->src.max_win, 512);
	ck_assert_uint_eq(u->src.state, RD_PFSYNC_TCPS_SYN_SENT);
	ck_assert_uint_eq(u->dst.seqlo, 5);
	ck_assert_uint_eq(u->dst.seqhi, 6);
	ck_assert_uint_eq(u->creatorid, 0x0a0b0c0d);
	ck_assert_uint_eq(u->timeout, RD_PFSYNC_TM_TCP_OPENING);
	ck_assert_int_eq(rd_pfsync_encode_msg(&s.msgs[0], out, sizeof(out)), 84);
	ck_assert_mem_eq(out, golden_upd_c, 84);
}
END_TEST

START_TEST(golden_clr_packet_decodes)
{
	/* A whole packet: header (len 44) + subheader {CLR, 5 words, 1} + clr. */
	static const uint8_t pkt[44] = {
	    0x06, 0x00, 0x00, 0x2c, 0, 0,    0,    0,    0,    0,   0,    0,    0,    0,    0,
	    0,    0,    0,    0,    0, 0x00, 0x05, 0x00, 0x01, 'p', 'f',  's',  'y',  'n',  'c',
	    '0',  0,    0,    0,    0, 0,    0,    0,    0,    0,   0x12, 0x34, 0x56, 0x78,
	};
	struct sink s;

	ck_assert_int_eq(decode(pkt, sizeof(pkt), NULL, &s), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.msgs[0].action, RD_PFSYNC_ACT_CLR);
	ck_assert_str_eq(s.msgs[0].u.clr.ifname, "pfsync0");
	ck_assert_uint_eq(s.msgs[0].u.clr.creatorid, 0x12345678);
}
END_TEST

START_TEST(golden_refs_bus_and_tdb_decode)
{
	/* UPD_REQ 0/0, DEL_C, INS_ACK, BUS END, TDB (v4) in one packet. */
	static const uint8_t pkt[] = {
	    0x06,
	    0x00,
	    0x00,
	    0xa8,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* 20 UPD_REQ, 3 words, 1 */
	    0x05,
	    0x03,
	    0x00,
	    0x01,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* 36 DEL_C, 3 words, 1 */
	    0x07,
	    0x03,
	    0x00,
	    0x01,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0x2a,
	    0xca,
	    0xfe,
	    0x00,
	    0x01,
	    /* 52 INS_ACK, 3 words, 1 */
	    0x02,
	    0x03,
	    0x00,
	    0x01,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0x2b,
	    0xca,
	    0xfe,
	    0x00,
	    0x02,
	    /* 68 BUS, 3 words, 1: creatorid, endtime 7, END */
	    0x0a,
	    0x03,
	    0x00,
	    0x01,
	    0xca,
	    0xfe,
	    0x00,
	    0x01,
	    0,
	    0,
	    0,
	    7,
	    0x02,
	    0,
	    0,
	    0,
	    /* 84 TDB, 13 words, 1 */
	    0x0f,
	    0x0d,
	    0x00,
	    0x01,
	    /* spi */
	    0x00,
	    0x00,
	    0x10,
	    0x01,
	    /* sockaddr_in: len 16, family 2, port 0, 198.51.100.7, zero */
	    0x10,
	    0x02,
	    0x00,
	    0x00,
	    0xc6,
	    0x33,
	    0x64,
	    0x07,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* rpl 0x4000, cur_bytes 0x10000 */
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0x40,
	    0x00,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0x01,
	    0x00,
	    0x00,
	    /* sproto 50 (ESP), updates 0, rdomain 0 */
	    0x32,
	    0x00,
	    0x00,
	    0x00,
	    /* 140: an old TDB section (action 11, 2 words, 1), skipped */
	    0x0b,
	    0x02,
	    0x00,
	    0x01,
	    1,
	    2,
	    3,
	    4,
	    5,
	    6,
	    7,
	    8,
	    /* 152: an unknown action 99, 3 words, 1, skipped */
	    0x63,
	    0x03,
	    0x00,
	    0x01,
	    9,
	    9,
	    9,
	    9,
	    9,
	    9,
	    9,
	    9,
	    9,
	    9,
	    9,
	    9,
	};
	struct sink s;
	struct rd_pfsync_stats st = {0};
	char buf[RD_ADDR_STRLEN];

	ck_assert_uint_eq(sizeof(pkt), 0xa8);
	ck_assert_int_eq(decode(pkt, sizeof(pkt), &st, &s), 0);
	ck_assert_uint_eq(s.n, 5);
	ck_assert_uint_eq(s.msgs[0].action, RD_PFSYNC_ACT_UPD_REQ);
	ck_assert_uint_eq(s.msgs[0].u.ref.id, 0);
	ck_assert_uint_eq(s.msgs[0].u.ref.creatorid, 0);
	ck_assert_uint_eq(s.msgs[1].action, RD_PFSYNC_ACT_DEL_C);
	ck_assert_uint_eq(s.msgs[1].u.ref.id, 0x2a);
	ck_assert_uint_eq(s.msgs[1].u.ref.creatorid, 0xcafe0001);
	ck_assert_uint_eq(s.msgs[2].action, RD_PFSYNC_ACT_INS_ACK);
	ck_assert_uint_eq(s.msgs[2].u.ref.id, 0x2b);
	ck_assert_uint_eq(s.msgs[3].action, RD_PFSYNC_ACT_BUS);
	ck_assert_uint_eq(s.msgs[3].u.bus.creatorid, 0xcafe0001);
	ck_assert_uint_eq(s.msgs[3].u.bus.endtime, 7);
	ck_assert_uint_eq(s.msgs[3].u.bus.status, RD_PFSYNC_BUS_END);
	ck_assert_uint_eq(s.msgs[4].action, RD_PFSYNC_ACT_TDB);
	ck_assert_uint_eq(s.msgs[4].u.tdb.spi, 0x1001);
	ck_assert_str_eq(rd_addr_format(&s.msgs[4].u.tdb.dst, buf, sizeof(buf)), "198.51.100.7");
	ck_assert_uint_eq(s.msgs[4].u.tdb.rpl, 0x4000);
	ck_assert_uint_eq(s.msgs[4].u.tdb.cur_bytes, 0x10000);
	ck_assert_uint_eq(s.msgs[4].u.tdb.sproto, 50);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_MESSAGES], 5);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_SKIPPED], 2);
}
END_TEST

START_TEST(longer_messages_are_read_by_known_prefix)
{
	/* A future sender with 16-byte DEL_C messages: stride 16, prefix 12. */
	uint8_t msg[16] = {0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0xee, 0xee, 0xee, 0xee};
	uint8_t pkt[128];
	struct sink s;
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_DEL_C, msg, 16, 3);

	ck_assert_int_eq(decode(pkt, len, NULL, &s), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.msgs[2].u.ref.id, 9);
	ck_assert_uint_eq(s.msgs[2].u.ref.creatorid, 1);
}
END_TEST

START_TEST(short_known_action_is_skipped_by_length)
{
	/* An UPD_C section declaring 8-byte messages: OpenBSD skips it. */
	uint8_t msg[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t pkt[128];
	struct sink s;
	struct rd_pfsync_stats st = {0};
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_UPD_C, msg, 8, 2);

	ck_assert_int_eq(decode(pkt, len, &st, &s), 0);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_SKIPPED], 2);
}
END_TEST

START_TEST(bytes_beyond_header_len_are_ignored)
{
	uint8_t pkt[128];
	struct sink s;
	uint8_t ref[12] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2};
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_DEL_C, ref, 12, 1);

	memset(pkt + len, 0xff, 30); /* trailing garbage, e.g. Ethernet padding */
	ck_assert_int_eq(decode(pkt, len + 30, NULL, &s), 0);
	ck_assert_uint_eq(s.n, 1);
}
END_TEST

/* ---- refusals ------------------------------------------------------ */

static void assert_refused(const uint8_t *pkt, size_t len, int reason)
{
	struct sink s;
	struct rd_pfsync_stats st = {0};
	struct rd_pfsync_info info;

	s.n = 0;
	ck_assert_int_eq(rd_pfsync_decode(pkt, len, &st, &info, collect, &s), RD_ERR_PROTO);
	ck_assert_uint_eq(s.n, 0); /* nothing delivered */
	ck_assert_int_eq(info.reason, reason);
	ck_assert_uint_eq(st.count[reason], 1);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_PACKETS], 0);
}

/* A good DEL_C followed by a second section: refusals of the second must
 * not deliver the first. */
static size_t two_sections(uint8_t *pkt, const uint8_t *msg2, size_t m2len, uint8_t act2)
{
	uint8_t ref[12] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2};
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_DEL_C, ref, 12, 1);
	pkt[len] = act2;
	pkt[len + 1] = (uint8_t)(m2len / 4);
	rd_put16(pkt + len + 2, 1);
	memcpy(pkt + len + 4, msg2, m2len);
	len += 4 + m2len;
	rd_put16(pkt + 2, (uint16_t)len);
	return len;
}

START_TEST(refuses_short_header)
{
	uint8_t pkt[19] = {6};
	assert_refused(pkt, sizeof(pkt), RD_PFSYNC_STAT_HDROPS);
}
END_TEST

START_TEST(refuses_wrong_version)
{
	uint8_t pkt[600];
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_INS, golden_state, 264, 1);
	pkt[0] = 5;
	assert_refused(pkt, len, RD_PFSYNC_STAT_BADVER);
}
END_TEST

START_TEST(refuses_header_len_beyond_packet)
{
	uint8_t pkt[600];
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_INS, golden_state, 264, 1);
	assert_refused(pkt, len - 1, RD_PFSYNC_STAT_BADLEN);
}
END_TEST

START_TEST(refuses_section_overrunning_packet)
{
	uint8_t pkt[600];
	uint8_t ref[12] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2};
	size_t len = two_sections(pkt, ref, 12, RD_PFSYNC_ACT_DEL_C);
	rd_put16(pkt + len - 16 + 2, 2); /* second section claims 2 messages */
	assert_refused(pkt, len, RD_PFSYNC_STAT_BADLEN);
}
END_TEST

START_TEST(refuses_unknown_action_without_count)
{
	uint8_t pkt[600];
	uint8_t junk[12] = {0};
	size_t len = two_sections(pkt, junk, 12, 77);
	rd_put16(pkt + len - 16 + 2, 0);
	assert_refused(pkt, len, RD_PFSYNC_STAT_BADACT);
}
END_TEST

START_TEST(refuses_unknown_action_without_length)
{
	uint8_t pkt[600];
	uint8_t junk[12] = {0};
	size_t len = two_sections(pkt, junk, 12, 77);
	pkt[len - 16 + 1] = 0;
	assert_refused(pkt, len, RD_PFSYNC_STAT_BADACT);
}
END_TEST

/* ---- a bad value costs its message, not the packet ---------------- */

static int stop_refused(void *u, const struct rd_pfsync_msg *m, int reason, size_t offset)
{
	(void)u;
	(void)m;
	(void)reason;
	(void)offset;
	return 7;
}

/*
 * The second message of two_sections() (at byte 40) is refused alone: the
 * DEL_C before it is delivered, the packet counts as accepted, the message
 * is counted once under `reason` and named to the refused callback.
 */
static void assert_msg_refused(const uint8_t *pkt, size_t len, int reason)
{
	struct sink s;
	struct rd_pfsync_stats st = {0};
	struct rd_pfsync_info info;

	ck_assert_int_eq(decode_each(pkt, len, &st, &info, &s), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.msgs[0].action, RD_PFSYNC_ACT_DEL_C);
	ck_assert_uint_eq(s.nref, 1);
	ck_assert_int_eq(s.why[0], reason);
	ck_assert_uint_eq(s.at[0], 40);
	ck_assert_uint_eq(info.messages, 1);
	ck_assert_uint_eq(info.refused, 1);
	ck_assert_int_eq(info.reason, RD_PFSYNC_STAT_PACKETS);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_PACKETS], 1);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_MESSAGES], 1);
	ck_assert_uint_eq(st.count[reason], 1);
	/* Without the refused callback, the same message is passed over. */
	ck_assert_int_eq(decode(pkt, len, NULL, &s), 0);
	ck_assert_uint_eq(s.n, 1);
}

/* The second message of two_sections() is delivered like the first. */
static const struct rd_pfsync_msg *assert_msg_accepted(const uint8_t *pkt, size_t len,
                                                       struct sink *s)
{
	struct rd_pfsync_stats st = {0};

	ck_assert_int_eq(decode_each(pkt, len, &st, NULL, s), 0);
	ck_assert_uint_eq(s->nref, 0);
	ck_assert_uint_eq(s->n, 2);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_MESSAGES], 2);
	return &s->msgs[1];
}

START_TEST(ins_timeout_out_of_range_refuses_its_message)
{
	uint8_t pkt[600], st[264];
	memcpy(st, golden_state, 264);
	st[255] = RD_PFSYNC_TM_COUNT;
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_INS),
	                   RD_PFSYNC_STAT_BADTIMEOUT);
}
END_TEST

START_TEST(upd_peer_state_beyond_proxy_dst_refuses_its_message)
{
	uint8_t pkt[600], st[264];
	memcpy(st, golden_state, 264);
	st[136 + 24] = RD_PFSYNC_TCPS_PROXY_DST + 1;
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_UPD),
	                   RD_PFSYNC_STAT_BADVAL);
}
END_TEST

START_TEST(ins_direction_beyond_out_refuses_its_message)
{
	uint8_t pkt[600], st[264];
	memcpy(st, golden_state, 264);
	st[252] = 3; /* PF_FWD */
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_INS),
	                   RD_PFSYNC_STAT_BADVAL);
}
END_TEST

START_TEST(upd_direction_is_not_judged)
{
	/* pfsync_in_upd checks timeout and peer states only, not direction. */
	uint8_t pkt[600], st[264];
	struct sink s;
	memcpy(st, golden_state, 264);
	st[252] = 3;
	ck_assert_uint_eq(
	    assert_msg_accepted(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_UPD), &s)
	        ->u.state.direction,
	    3);
}
END_TEST

START_TEST(upd_c_bad_timeout_refuses_its_message)
{
	uint8_t pkt[600], u[84];
	memcpy(u, golden_upd_c, 84);
	u[80] = 200;
	assert_msg_refused(pkt, two_sections(pkt, u, 84, RD_PFSYNC_ACT_UPD_C),
	                   RD_PFSYNC_STAT_BADTIMEOUT);
}
END_TEST

START_TEST(bus_with_unknown_status_refuses_its_message)
{
	uint8_t pkt[600];
	uint8_t bus[12] = {0, 0, 0, 1, 0, 0, 0, 0, 3, 0, 0, 0};
	assert_msg_refused(pkt, two_sections(pkt, bus, 12, RD_PFSYNC_ACT_BUS),
	                   RD_PFSYNC_STAT_BADVAL);
}
END_TEST

START_TEST(linux_af_inet6_number_refuses_its_message)
{
	uint8_t pkt[600], st[264];
	memcpy(st, golden_state, 264);
	st[250] = 10; /* Linux's AF_INET6 is not on the wire */
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_INS),
	                   RD_PFSYNC_STAT_BADAF);
}
END_TEST

START_TEST(ins_with_one_key_af_zero_refuses_its_message)
{
	/* pfsync_in_ins: (af1 || af2) && either not AF_INET/AF_INET6. */
	uint8_t pkt[600], st[264];
	golden_state_as(st, 0x08, 2, 0);
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_INS),
	                   RD_PFSYNC_STAT_BADAF);
	golden_state_as(st, 0x08, 0, 2);
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_INS),
	                   RD_PFSYNC_STAT_BADAF);
}
END_TEST

START_TEST(ins_with_both_key_afs_zero_takes_the_state_af)
{
	/* pf_state_import: if (!(skw->af = sp->key[PF_SK_WIRE].af)) skw->af = sp->af. */
	uint8_t pkt[600], st[264];
	struct sink s;
	char buf[RD_ADDR_STRLEN];
	golden_state_as(st, 0x08, 0, 0);
	const struct rd_pfsync_state *x =
	    &assert_msg_accepted(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_INS), &s)->u.state;
	ck_assert_uint_eq(x->af, RD_AF_INET);
	ck_assert_uint_eq(x->key[0].af, RD_AF_INET);
	ck_assert_uint_eq(x->key[1].af, RD_AF_INET);
	ck_assert_str_eq(rd_addr_format(&x->key[0].addr[1], buf, sizeof(buf)), "192.168.1.2");
	ck_assert_str_eq(rd_addr_format(&x->key[1].addr[1], buf, sizeof(buf)), "203.0.113.5");
	ck_assert_uint_eq(x->key[1].port[1], 40000);
}
END_TEST

START_TEST(upd_with_one_key_af_zero_takes_the_state_af)
{
	/* pfsync_in_upd has no key check; pf_state_import fills each key's af. */
	uint8_t pkt[600], st[264];
	struct sink s;
	char buf[RD_ADDR_STRLEN];
	golden_state_as(st, 0x08, 2, 0);
	const struct rd_pfsync_state *x =
	    &assert_msg_accepted(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_UPD), &s)->u.state;
	ck_assert_uint_eq(x->key[1].af, RD_AF_INET);
	ck_assert_str_eq(rd_addr_format(&x->key[1].addr[1], buf, sizeof(buf)), "203.0.113.5");
	/* A key af neither 0 nor a family still refuses it. */
	golden_state_as(st, 0x08, 2, 7);
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_UPD),
	                   RD_PFSYNC_STAT_BADAF);
}
END_TEST

START_TEST(state_with_creatorid_zero_refuses_its_message)
{
	uint8_t pkt[600], st[264];
	memcpy(st, golden_state, 264);
	memset(st + 236, 0, 4);
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_INS),
	                   RD_PFSYNC_STAT_BADCREATOR);
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_UPD),
	                   RD_PFSYNC_STAT_BADCREATOR);
	assert_msg_refused(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_DEL),
	                   RD_PFSYNC_STAT_BADCREATOR);
}
END_TEST

START_TEST(references_with_creatorid_zero_refuse_their_message)
{
	uint8_t pkt[600], ref[12], u[84];
	golden_ref(ref, 5, 0);
	assert_msg_refused(pkt, two_sections(pkt, ref, 12, RD_PFSYNC_ACT_DEL_C),
	                   RD_PFSYNC_STAT_BADCREATOR);
	assert_msg_refused(pkt, two_sections(pkt, ref, 12, RD_PFSYNC_ACT_INS_ACK),
	                   RD_PFSYNC_STAT_BADCREATOR);
	golden_upd_c_as(u, 0x05, 0, 1);
	assert_msg_refused(pkt, two_sections(pkt, u, 84, RD_PFSYNC_ACT_UPD_C),
	                   RD_PFSYNC_STAT_BADCREATOR);
}
END_TEST

START_TEST(upd_req_with_creatorid_zero_is_delivered)
{
	/* 0/0 asks for a bulk update. */
	uint8_t pkt[600], ref[12];
	struct sink s;
	golden_ref(ref, 0, 0);
	ck_assert_uint_eq(
	    assert_msg_accepted(pkt, two_sections(pkt, ref, 12, RD_PFSYNC_ACT_UPD_REQ), &s)->action,
	    RD_PFSYNC_ACT_UPD_REQ);
}
END_TEST

START_TEST(del_reads_only_id_and_creatorid)
{
	/* pfsync_in_del judges no value: a DEL with nonsense in them still deletes. */
	uint8_t pkt[600], st[264];
	struct sink s;
	golden_state_as(st, 0x08, 7, 7);
	st[250] = 99; /* af */
	st[252] = 9;  /* direction */
	st[255] = 99; /* timeout */
	const struct rd_pfsync_state *x =
	    &assert_msg_accepted(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_DEL), &s)->u.state;
	ck_assert_uint_eq(x->id, 0x0102030405060708ULL);
	ck_assert_uint_eq(x->creatorid, 0xdeadbeef);
	ck_assert_uint_eq(x->af, RD_AF_UNSPEC);
	ck_assert_uint_eq(x->key[0].af, RD_AF_UNSPEC);
	/* An unknown key family takes a good state af, as 0 does. */
	st[250] = 24;
	x = &assert_msg_accepted(pkt, two_sections(pkt, st, 264, RD_PFSYNC_ACT_DEL), &s)->u.state;
	ck_assert_uint_eq(x->key[1].af, RD_AF_INET6);
}
END_TEST

static void assert_upd_c_among_good(uint8_t bad_timeout)
{
	uint8_t pkt[300];
	struct sink s;
	struct rd_pfsync_stats st = {0};
	struct rd_pfsync_info info;
	size_t len = golden_pkt_upd_c_among_good(pkt, bad_timeout);

	ck_assert_uint_eq(len, 276);
	ck_assert_int_eq(rd_pfsync_check(pkt, len, &info), 0);
	ck_assert_uint_eq(info.messages, 2);
	ck_assert_uint_eq(info.refused, 1);
	ck_assert_int_eq(decode_each(pkt, len, &st, NULL, &s), 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(s.msgs[0].u.upd_c.id, 0x0000000065432101ULL);
	ck_assert_uint_eq(s.msgs[1].u.upd_c.id & 0xff, 0x03);
	ck_assert_uint_eq(s.msgs[1].u.upd_c.timeout, RD_PFSYNC_TM_TCP_OPENING);
	ck_assert_uint_eq(s.msgs[1].u.upd_c.creatorid, 0x0a0b0c0d);
	ck_assert_uint_eq(s.msgs[1].u.upd_c.src.seqlo, 1000);
	ck_assert_uint_eq(s.nref, 1);
	ck_assert_uint_eq(s.refused[0].u.upd_c.id & 0xff, 0x02);
	ck_assert_uint_eq(s.refused[0].u.upd_c.timeout, bad_timeout);
	ck_assert_int_eq(s.why[0], RD_PFSYNC_STAT_BADTIMEOUT);
	ck_assert_uint_eq(s.at[0], 108);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_PACKETS], 1);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_MESSAGES], 2);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_BADTIMEOUT], 1);
}

START_TEST(golden_upd_c_with_pftm_purge_among_good_costs_only_itself)
{
	assert_upd_c_among_good(GOLDEN_PFTM_PURGE);
}
END_TEST

START_TEST(golden_upd_c_with_pftm_unlinked_among_good_costs_only_itself)
{
	assert_upd_c_among_good(GOLDEN_PFTM_UNLINKED);
}
END_TEST

START_TEST(callback_stop_on_a_refused_message_is_returned)
{
	uint8_t pkt[300];
	struct rd_pfsync_stats st = {0};
	size_t len = golden_pkt_upd_c_among_good(pkt, GOLDEN_PFTM_PURGE);
	ck_assert_int_eq(rd_pfsync_decode_each(pkt, len, &st, NULL, NULL, stop_refused, NULL), 7);
	/* Counted whole before the first call. */
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_MESSAGES], 2);
	ck_assert_uint_eq(st.count[RD_PFSYNC_STAT_BADTIMEOUT], 1);
}
END_TEST

/* ---- header len under 20 ------------------------------------------- */

/*
 * OpenBSD's pfsync_input trims the packet to ph->len, then m_adj()s the
 * 20-byte header away: the remaining length goes negative and, compared
 * with sizeof(struct pfsync_subheader), reads as huge, so every section the
 * packet holds is walked. libredund reads such a packet to its end.
 */
START_TEST(golden_header_len_under_20_reads_to_end_of_packet)
{
	uint8_t pkt[600];
	struct sink s;
	struct rd_pfsync_info info;

	for (unsigned hl = 0; hl < 20; hl += 19) {
		size_t n = golden_header(pkt, (uint16_t)hl);
		n += golden_subheader(pkt + n, RD_PFSYNC_ACT_INS, 264, 1);
		n += golden_state_as(pkt + n, 0x08, 2, 2);
		n += golden_subheader(pkt + n, RD_PFSYNC_ACT_DEL_C, 12, 1);
		n += golden_ref(pkt + n, 9, 0xcafe0001);
		ck_assert_int_eq(decode_each(pkt, n, NULL, &info, &s), 0);
		ck_assert_uint_eq(s.n, 2);
		ck_assert_uint_eq(s.msgs[0].u.state.id, 0x0102030405060708ULL);
		ck_assert_uint_eq(s.msgs[1].u.ref.id, 9);
		ck_assert_uint_eq(info.hdr_len, hl);
		ck_assert_uint_eq(info.length, n);
		/* Fewer than 4 trailing bytes end it, as a short pullup ends OpenBSD's. */
		memset(pkt + n, 0xee, 3);
		ck_assert_int_eq(decode_each(pkt, n + 3, NULL, NULL, &s), 0);
		ck_assert_uint_eq(s.n, 2);
	}
}
END_TEST

START_TEST(header_len_under_20_with_overrunning_section_is_refused_whole)
{
	uint8_t pkt[600];
	size_t n = golden_header(pkt, 0);
	n += golden_subheader(pkt + n, RD_PFSYNC_ACT_DEL_C, 12, 2);
	n += golden_ref(pkt + n, 9, 0xcafe0001);
	assert_refused(pkt, n, RD_PFSYNC_STAT_BADLEN);
}
END_TEST

/* ---- round trips and the builder ----------------------------------- */

static struct rd_pfsync_state sample_state(uint64_t id)
{
	struct rd_pfsync_state s;
	memset(&s, 0, sizeof(s));
	s.id = id;
	strcpy(s.ifname, "vio0");
	s.proto = 17;
	s.af = RD_AF_INET6;
	for (int k = 0; k < 2; k++) {
		s.key[k].af = RD_AF_INET6;
		s.key[k].proto = 17;
		rd_addr_parse(k ? "2001:db8::2" : "2001:db8::1", &s.key[k].addr[0]);
		rd_addr_parse("2001:db8:1::53", &s.key[k].addr[1]);
		s.key[k].port[0] = 5353;
		s.key[k].port[1] = 53;
		s.key[k].rdomain = (uint16_t)k;
	}
	s.src.state = RD_PFSYNC_UDPS_MULTIPLE;
	s.dst.state = RD_PFSYNC_UDPS_SINGLE;
	s.src.seqlo = 77;
	rd_addr_parse("2001:db8::fe", &s.rt_addr);
	s.rule = -1;
	s.anchor = 12;
	s.nat_rule = -1;
	s.creation = 3;
	s.expire = 57;
	s.packets[0] = 1ULL << 40;
	s.bytes[1] = 123456789012ULL;
	s.creatorid = 0x01020304;
	s.rtableid[0] = -1;
	s.max_mss = 1220;
	s.direction = RD_PFSYNC_DIR_IN;
	s.log = 1;
	s.rt = 1;
	s.timeout = RD_PFSYNC_TM_UDP_MULTIPLE;
	s.min_ttl = 5;
	s.set_tos = 0x10;
	s.state_flags = 0x0201;
	s.set_prio[1] = 7;
	return s;
}

static struct rd_pfsync_msg sample(uint8_t action)
{
	struct rd_pfsync_msg m;
	memset(&m, 0, sizeof(m));
	m.action = action;
	switch (action) {
	case RD_PFSYNC_ACT_CLR:
		strcpy(m.u.clr.ifname, "sixteen-chars-if");
		m.u.clr.creatorid = 0xabcdef01;
		break;
	case RD_PFSYNC_ACT_INS_ACK:
	case RD_PFSYNC_ACT_UPD_REQ:
	case RD_PFSYNC_ACT_DEL_C:
		m.u.ref.id = 0xfedcba9876543210ULL;
		m.u.ref.creatorid = 0x11111111u * action;
		break;
	case RD_PFSYNC_ACT_UPD_C:
		m.u.upd_c.id = 99;
		m.u.upd_c.src.seqlo = 1;
		m.u.upd_c.src.seqhi = 2;
		m.u.upd_c.src.scrub.scrub_flag = 1;
		m.u.upd_c.dst.seqdiff = 3;
		m.u.upd_c.dst.state = RD_PFSYNC_TCPS_TIME_WAIT;
		m.u.upd_c.creatorid = 5;
		m.u.upd_c.expire = 6;
		m.u.upd_c.timeout = RD_PFSYNC_TM_TCP_CLOSED;
		m.u.upd_c.state_flags = 1;
		break;
	case RD_PFSYNC_ACT_BUS:
		m.u.bus.creatorid = 8;
		m.u.bus.endtime = 9;
		m.u.bus.status = RD_PFSYNC_BUS_START;
		break;
	case RD_PFSYNC_ACT_TDB:
		m.u.tdb.spi = 0xdeadbeef;
		rd_addr_parse("fe80::99", &m.u.tdb.dst);
		m.u.tdb.dst_port = 4500;
		m.u.tdb.rpl = 1ULL << 33;
		m.u.tdb.cur_bytes = 77;
		m.u.tdb.sproto = 51;
		m.u.tdb.updates = 2;
		m.u.tdb.rdomain = 4;
		break;
	default:
		m.u.state = sample_state(0x1000 + action);
		break;
	}
	return m;
}

static const uint8_t every_action[] = {
    RD_PFSYNC_ACT_CLR, RD_PFSYNC_ACT_INS_ACK, RD_PFSYNC_ACT_UPD_C, RD_PFSYNC_ACT_UPD_REQ,
    RD_PFSYNC_ACT_DEL, RD_PFSYNC_ACT_DEL_C,   RD_PFSYNC_ACT_BUS,   RD_PFSYNC_ACT_TDB,
    RD_PFSYNC_ACT_INS, RD_PFSYNC_ACT_UPD,
};

START_TEST(every_action_round_trips)
{
	uint8_t buf[4096], a[264], b[264];
	struct rd_pfsync_builder bld;
	struct sink s;

	ck_assert_int_eq(rd_pfsync_builder_init(&bld, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(every_action); i++) {
		struct rd_pfsync_msg m = sample(every_action[i]);
		ck_assert_int_eq(rd_pfsync_builder_add(&bld, &m), 0);
	}
	size_t len = rd_pfsync_builder_finish(&bld);
	ck_assert_uint_eq(rd_pfsync_builder_count(&bld), sizeof(every_action));
	ck_assert_int_eq(decode(buf, len, NULL, &s), 0);
	ck_assert_uint_eq(s.n, sizeof(every_action));
	for (size_t i = 0; i < sizeof(every_action); i++) {
		struct rd_pfsync_msg m = sample(every_action[i]);
		int la = rd_pfsync_encode_msg(&m, a, sizeof(a));
		int lb = rd_pfsync_encode_msg(&s.msgs[i], b, sizeof(b));
		ck_assert_uint_eq(s.msgs[i].action, every_action[i]);
		ck_assert_int_gt(la, 0);
		ck_assert_int_eq(la, lb);
		ck_assert_mem_eq(a, b, (size_t)la);
	}
	/* Spot checks that the fields themselves survived. */
	ck_assert_str_eq(s.msgs[0].u.clr.ifname, "sixteen-chars-if");
	ck_assert_uint_eq(s.msgs[8].u.state.bytes[1], 123456789012ULL);
	ck_assert_int_eq(s.msgs[8].u.state.rtableid[0], -1);
	ck_assert_uint_eq(s.msgs[7].u.tdb.dst.af, RD_AF_INET6);
	ck_assert_uint_eq(s.msgs[7].u.tdb.dst_port, 4500);
}
END_TEST

START_TEST(builder_packs_openbsd_counts_at_mtu_1500)
{
	/* Research note 1.5: 5 full states, 17 UPD_C, 121 DEL_C per packet. */
	static const struct {
		uint8_t action;
		size_t n;
	} cases[] = {{RD_PFSYNC_ACT_INS, 5}, {RD_PFSYNC_ACT_UPD_C, 17}, {RD_PFSYNC_ACT_DEL_C, 121}};
	uint8_t buf[1480]; /* MTU 1500 minus the IPv4 header */

	for (size_t c = 0; c < 3; c++) {
		struct rd_pfsync_builder b;
		struct rd_pfsync_msg m = sample(cases[c].action);
		size_t n = 0;
		rd_pfsync_builder_init(&b, buf, sizeof(buf));
		ck_assert_uint_eq(rd_pfsync_builder_room(&b, cases[c].action), cases[c].n);
		while (rd_pfsync_builder_add(&b, &m) == 0)
			n++;
		ck_assert_uint_eq(n, cases[c].n);
		ck_assert_uint_eq(rd_pfsync_builder_room(&b, cases[c].action), 0);
		ck_assert_int_eq(rd_pfsync_check(buf, rd_pfsync_builder_finish(&b), NULL), 0);
	}
}
END_TEST

START_TEST(builder_full_leaves_packet_unchanged)
{
	uint8_t buf[100], copy[100];
	struct rd_pfsync_builder b;
	struct rd_pfsync_msg d = sample(RD_PFSYNC_ACT_DEL_C);
	struct rd_pfsync_msg u = sample(RD_PFSYNC_ACT_UPD_C);

	rd_pfsync_builder_init(&b, buf, sizeof(buf));
	ck_assert_int_eq(rd_pfsync_builder_add(&b, &d), 0);
	memcpy(copy, buf, sizeof(buf));
	size_t before = b.len;
	ck_assert_int_eq(rd_pfsync_builder_add(&b, &u), RD_ERR_NOSPC);
	ck_assert_uint_eq(b.len, before);
	ck_assert_mem_eq(buf, copy, sizeof(buf));
}
END_TEST

START_TEST(builder_groups_consecutive_messages_under_one_subheader)
{
	uint8_t buf[1480];
	struct rd_pfsync_builder b;
	struct rd_pfsync_msg d = sample(RD_PFSYNC_ACT_DEL_C);
	struct rd_pfsync_msg a = sample(RD_PFSYNC_ACT_INS_ACK);

	rd_pfsync_builder_init(&b, buf, sizeof(buf));
	rd_pfsync_builder_add(&b, &d);
	rd_pfsync_builder_add(&b, &d);
	rd_pfsync_builder_add(&b, &a);
	size_t len = rd_pfsync_builder_finish(&b);
	ck_assert_uint_eq(len, 20 + 4 + 24 + 4 + 12);
	ck_assert_uint_eq(rd_get16(buf + 2), len);
	ck_assert_uint_eq(buf[20], RD_PFSYNC_ACT_DEL_C);
	ck_assert_uint_eq(buf[21], 3);
	ck_assert_uint_eq(rd_get16(buf + 22), 2);
	ck_assert_uint_eq(buf[48], RD_PFSYNC_ACT_INS_ACK);
	ck_assert_uint_eq(rd_get16(buf + 50), 1);
}
END_TEST

START_TEST(encoder_refuses_deprecated_action)
{
	uint8_t out[264];
	struct rd_pfsync_msg m;
	memset(&m, 0, sizeof(m));
	m.action = RD_PFSYNC_ACT_EOF;
	ck_assert_int_eq(rd_pfsync_encode_msg(&m, out, sizeof(out)), RD_ERR_INVAL);
	m.action = RD_PFSYNC_ACT_INS;
	ck_assert_int_eq(rd_pfsync_encode_msg(&m, out, 100), RD_ERR_NOSPC);
}
END_TEST

static int stop(void *u, const struct rd_pfsync_msg *m)
{
	(void)m;
	(*(int *)u)++;
	return 42;
}

START_TEST(callback_can_stop_decoding)
{
	uint8_t pkt[128];
	uint8_t ref[12] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2};
	size_t len = make_pkt(pkt, RD_PFSYNC_ACT_DEL_C, ref, 12, 3);
	int calls = 0;
	ck_assert_int_eq(rd_pfsync_decode(pkt, len, NULL, NULL, stop, &calls), 42);
	ck_assert_int_eq(calls, 1);
}
END_TEST

START_TEST(names_cover_every_counter_and_action)
{
	for (int i = 0; i < RD_PFSYNC_STAT_COUNT; i++)
		ck_assert_str_ne(rd_pfsync_stat_name(i), "unknown");
	ck_assert_str_eq(rd_pfsync_stat_name(RD_PFSYNC_STAT_BADLEN), "badlen");
	ck_assert_str_eq(rd_pfsync_stat_name(RD_PFSYNC_STAT_COUNT), "unknown");
	ck_assert_str_eq(rd_pfsync_action_name(RD_PFSYNC_ACT_UPD_C), "UPD_C");
	ck_assert_str_eq(rd_pfsync_action_name(RD_PFSYNC_ACT_TDB), "TDB");
	ck_assert_str_eq(rd_pfsync_action_name(16), "unknown");
}
END_TEST

START_TEST(af_translation_is_openbsd_numbering)
{
	ck_assert_int_eq(rd_pfsync_af_from_wire(2), RD_AF_INET);
	ck_assert_int_eq(rd_pfsync_af_from_wire(24), RD_AF_INET6);
	ck_assert_int_eq(rd_pfsync_af_from_wire(10), -1);
	ck_assert_int_eq(rd_pfsync_af_to_wire(RD_AF_INET6), 24);
	ck_assert_int_eq(rd_pfsync_af_to_wire(RD_AF_UNSPEC), -1);
}
END_TEST

START_TEST(msg_ref_names_the_state_of_each_action)
{
	/* Every action: whether it names a state or member, and where it keeps it. */
	for (int act = 0; act < RD_PFSYNC_ACT_COUNT; act++) {
		struct rd_pfsync_msg m;
		uint64_t id = 99, want_id = 0;
		uint32_t cid = 99, want_cid = 0;
		bool names = true;

		memset(&m, 0, sizeof(m));
		m.action = (uint8_t)act;
		switch (act) {
		case RD_PFSYNC_ACT_INS:
		case RD_PFSYNC_ACT_UPD:
		case RD_PFSYNC_ACT_DEL:
			m.u.state.id = want_id = 7;
			m.u.state.creatorid = want_cid = 9;
			break;
		case RD_PFSYNC_ACT_UPD_C:
			m.u.upd_c.id = want_id = 8;
			m.u.upd_c.creatorid = want_cid = 10;
			break;
		case RD_PFSYNC_ACT_DEL_C:
		case RD_PFSYNC_ACT_INS_ACK:
		case RD_PFSYNC_ACT_UPD_REQ: /* id 0 with a creatorid: a bulk request naming it */
			m.u.ref.id = want_id = act == RD_PFSYNC_ACT_UPD_REQ ? 0 : 11;
			m.u.ref.creatorid = want_cid = 12;
			break;
		case RD_PFSYNC_ACT_BUS:
			m.u.bus.creatorid = want_cid = 13;
			break;
		case RD_PFSYNC_ACT_CLR:
			m.u.clr.creatorid = want_cid = 14;
			break;
		default: /* TDB and the deprecated or unimplemented ones name nothing */
			names = false;
		}
		ck_assert_msg(rd_pfsync_msg_ref(&m, &id, &cid) == names, "action %d", act);
		ck_assert_msg(id == want_id && cid == want_cid, "action %d: %llu/%u", act,
		              (unsigned long long)id, cid);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pfsync");
	TCase *g = tcase_create("golden");
	TCase *r = tcase_create("refusals");
	TCase *e = tcase_create("encode");

	tcase_add_test(g, msg_ref_names_the_state_of_each_action);
	tcase_add_test(g, golden_state_array_is_complete);
	tcase_add_test(g, golden_ins_decodes_every_field);
	tcase_add_test(g, golden_state_reencodes_to_same_bytes);
	tcase_add_test(g, golden_ipv6_state_maps_af_24_to_rd_af_inet6);
	tcase_add_test(g, golden_upd_c_decodes_and_reencodes);
	tcase_add_test(g, golden_clr_packet_decodes);
	tcase_add_test(g, golden_refs_bus_and_tdb_decode);
	tcase_add_test(g, longer_messages_are_read_by_known_prefix);
	tcase_add_test(g, short_known_action_is_skipped_by_length);
	tcase_add_test(g, bytes_beyond_header_len_are_ignored);
	suite_add_tcase(s, g);

	tcase_add_test(r, refuses_short_header);
	tcase_add_test(r, refuses_wrong_version);
	tcase_add_test(r, refuses_header_len_beyond_packet);
	tcase_add_test(r, refuses_section_overrunning_packet);
	tcase_add_test(r, refuses_unknown_action_without_count);
	tcase_add_test(r, refuses_unknown_action_without_length);
	tcase_add_test(r, header_len_under_20_with_overrunning_section_is_refused_whole);
	suite_add_tcase(s, r);

	TCase *v = tcase_create("values");
	tcase_add_test(v, ins_timeout_out_of_range_refuses_its_message);
	tcase_add_test(v, upd_peer_state_beyond_proxy_dst_refuses_its_message);
	tcase_add_test(v, ins_direction_beyond_out_refuses_its_message);
	tcase_add_test(v, upd_direction_is_not_judged);
	tcase_add_test(v, upd_c_bad_timeout_refuses_its_message);
	tcase_add_test(v, bus_with_unknown_status_refuses_its_message);
	tcase_add_test(v, linux_af_inet6_number_refuses_its_message);
	tcase_add_test(v, ins_with_one_key_af_zero_refuses_its_message);
	tcase_add_test(v, ins_with_both_key_afs_zero_takes_the_state_af);
	tcase_add_test(v, upd_with_one_key_af_zero_takes_the_state_af);
	tcase_add_test(v, state_with_creatorid_zero_refuses_its_message);
	tcase_add_test(v, references_with_creatorid_zero_refuse_their_message);
	tcase_add_test(v, upd_req_with_creatorid_zero_is_delivered);
	tcase_add_test(v, del_reads_only_id_and_creatorid);
	tcase_add_test(v, golden_upd_c_with_pftm_purge_among_good_costs_only_itself);
	tcase_add_test(v, golden_upd_c_with_pftm_unlinked_among_good_costs_only_itself);
	tcase_add_test(v, callback_stop_on_a_refused_message_is_returned);
	tcase_add_test(v, golden_header_len_under_20_reads_to_end_of_packet);
	suite_add_tcase(s, v);

	tcase_add_test(e, every_action_round_trips);
	tcase_add_test(e, builder_packs_openbsd_counts_at_mtu_1500);
	tcase_add_test(e, builder_full_leaves_packet_unchanged);
	tcase_add_test(e, builder_groups_consecutive_messages_under_one_subheader);
	tcase_add_test(e, encoder_refuses_deprecated_action);
	tcase_add_test(e, callback_can_stop_decoding);
	tcase_add_test(e, names_cover_every_counter_and_action);
	tcase_add_test(e, af_translation_is_openbsd_numbering);
	suite_add_tcase(s, e);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
