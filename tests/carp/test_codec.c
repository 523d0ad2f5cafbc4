/*
 * CARP wire codec: header and IP round trips, key, HMAC (against real
 * ucarp captures), and every refusal reason of rd_carp_input.
 */
#include <check.h>

#include "carp_test_util.h"
#include "ucarp_vectors.h"

START_TEST(test_hdr_roundtrip)
{
	struct rd_carp_hdr h, d;
	uint8_t w[RD_CARP_HDR_LEN];

	memset(&h, 0, sizeof(h));
	h.version = 2;
	h.type = 1;
	h.vhid = 42;
	h.advskew = 100;
	h.authlen = 7;
	h.demote = 3;
	h.advbase = 5;
	for (int i = 0; i < 8; i++)
		h.counter[i] = (uint8_t)(i * 17);
	for (int i = 0; i < 20; i++)
		h.hmac[i] = (uint8_t)(200 - i);
	rd_carp_hdr_encode(&h, w);
	ck_assert_uint_eq(w[0], 0x21);
	ck_assert_uint_eq(w[1], 42);
	ck_assert_uint_eq(w[2], 100);
	ck_assert_uint_eq(w[3], 7);
	ck_assert_uint_eq(w[4], 3);
	ck_assert_uint_eq(w[5], 5);
	ck_assert(rd_carp_hdr_cksum_ok(w));
	ck_assert_int_eq(rd_carp_hdr_decode(w, sizeof(w), &d), 0);
	ck_assert_uint_eq(d.cksum, (uint16_t)(w[6] << 8 | w[7]));
	h.cksum = d.cksum;
	ck_assert_mem_eq(&h, &d, sizeof(h));
	w[20] ^= 1;
	ck_assert(!rd_carp_hdr_cksum_ok(w));
}
END_TEST

START_TEST(test_hdr_decode_short_is_proto_error)
{
	uint8_t w[RD_CARP_HDR_LEN] = {0x21};
	struct rd_carp_hdr d;

	ck_assert_int_eq(rd_carp_hdr_decode(w, 35, &d), RD_ERR_PROTO);
	ck_assert_int_eq(rd_carp_hdr_decode(NULL, 36, &d), RD_ERR_INVAL);
}
END_TEST

START_TEST(test_ip4_build_parse_roundtrip)
{
	uint8_t carp[RD_CARP_HDR_LEN], pkt[RD_CARP_PKT_MAX];
	struct rd_addr s = A("10.1.2.3"), d = A("224.0.0.18");
	struct rd_carp_ip_info info;
	int n;

	for (int i = 0; i < RD_CARP_HDR_LEN; i++)
		carp[i] = (uint8_t)i;
	n = rd_carp_ip_build(&s, &d, 0x1234, carp, pkt, sizeof(pkt));
	ck_assert_int_eq(n, 56);
	ck_assert_uint_eq(pkt[0], 0x45);
	ck_assert_uint_eq(pkt[1], 0x10); /* TOS low delay */
	ck_assert_uint_eq(pkt[3], 56);
	ck_assert_uint_eq(pkt[4] << 8 | pkt[5], 0x1234);
	ck_assert_uint_eq(pkt[6], 0x40); /* DF */
	ck_assert_uint_eq(pkt[8], 255);
	ck_assert_uint_eq(pkt[9], 112);
	ck_assert_uint_eq(rd_cksum(pkt, 20), 0);
	ck_assert_int_eq(rd_carp_ip_parse(pkt, (size_t)n, &info), 0);
	ck_assert_int_eq(rd_addr_cmp(&info.src, &s), 0);
	ck_assert_int_eq(rd_addr_cmp(&info.dst, &d), 0);
	ck_assert_uint_eq(info.ttl, 255);
	ck_assert_uint_eq(info.carp_len, 36);
	ck_assert_mem_eq(info.carp, carp, 36);
}
END_TEST

START_TEST(test_ip6_build_parse_roundtrip)
{
	uint8_t carp[RD_CARP_HDR_LEN], pkt[RD_CARP_PKT_MAX];
	struct rd_addr s = A("fe80::1"), d = A("ff02::12");
	struct rd_carp_ip_info info;
	int n;

	for (int i = 0; i < RD_CARP_HDR_LEN; i++)
		carp[i] = (uint8_t)(i * 3);
	n = rd_carp_ip_build(&s, &d, 0, carp, pkt, sizeof(pkt));
	ck_assert_int_eq(n, 76);
	ck_assert_uint_eq(pkt[0], 0x60);
	ck_assert_uint_eq(pkt[5], 36);
	ck_assert_uint_eq(pkt[6], 112);
	ck_assert_uint_eq(pkt[7], 255);
	ck_assert_int_eq(rd_carp_ip_parse(pkt, (size_t)n, &info), 0);
	ck_assert_int_eq(rd_addr_cmp(&info.src, &s), 0);
	ck_assert_int_eq(rd_addr_cmp(&info.dst, &d), 0);
	ck_assert_uint_eq(info.ttl, 255);
	ck_assert_uint_eq(info.carp_len, 36);
	ck_assert_mem_eq(info.carp, carp, 36);
}
END_TEST

START_TEST(test_ip_build_checks_space_and_families)
{
	uint8_t carp[RD_CARP_HDR_LEN] = {0}, pkt[RD_CARP_PKT_MAX];
	struct rd_addr s4 = A("10.0.0.1"), s6 = A("::1"), d4 = A("224.0.0.18");

	ck_assert_int_eq(rd_carp_ip_build(&s4, &d4, 0, carp, pkt, 55), RD_ERR_NOSPC);
	ck_assert_int_eq(rd_carp_ip_build(&s6, &d4, 0, carp, pkt, sizeof(pkt)), RD_ERR_INVAL);
}
END_TEST

START_TEST(test_ip_parse_refuses_malformed)
{
	uint8_t carp[RD_CARP_HDR_LEN] = {0}, pkt[RD_CARP_PKT_MAX], bad[RD_CARP_PKT_MAX];
	struct rd_addr s = A("10.0.0.1"), d = A("224.0.0.18");
	struct rd_carp_ip_info info;
	int n = rd_carp_ip_build(&s, &d, 7, carp, pkt, sizeof(pkt));

	ck_assert_int_eq(rd_carp_ip_parse(pkt, 19, &info), RD_ERR_PROTO); /* truncated */
	ck_assert_int_eq(rd_carp_ip_parse(pkt, 40, &info), RD_ERR_PROTO); /* total > len */
	memcpy(bad, pkt, (size_t)n);
	bad[12] ^= 1; /* IP header checksum now wrong */
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n, &info), RD_ERR_PROTO);
	memcpy(bad, pkt, (size_t)n);
	bad[6] = 0x20; /* more fragments */
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n, &info), RD_ERR_PROTO);
	bad[0] = 0x55; /* version 5 */
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n, &info), RD_ERR_PROTO);
	/* Trailing bytes beyond the IP total length are ignored. */
	ck_assert_int_eq(rd_carp_ip_parse(pkt, (size_t)n + 4, &info), 0);
	ck_assert_uint_eq(info.carp_len, 36);
}
END_TEST

/* Rewrite an IPv4 header field and fix the header checksum. */
static void ip4_set(uint8_t *pkt, size_t off, uint8_t v)
{
	uint16_t c;

	pkt[off] = v;
	pkt[10] = pkt[11] = 0;
	c = rd_cksum(pkt, 20);
	pkt[10] = (uint8_t)(c >> 8);
	pkt[11] = (uint8_t)c;
}

START_TEST(test_ip_parse_tells_other_protocols_from_malformed)
{
	uint8_t carp[RD_CARP_HDR_LEN] = {0}, p4[RD_CARP_PKT_MAX], p6[RD_CARP_PKT_MAX];
	uint8_t bad[RD_CARP_PKT_MAX];
	struct rd_addr s4 = A("10.0.0.1"), d4 = A("224.0.0.18");
	struct rd_addr s6 = A("fe80::1"), d6 = A("ff02::12");
	struct rd_carp_ip_info info;
	int n4 = rd_carp_ip_build(&s4, &d4, 7, carp, p4, sizeof(p4));
	int n6 = rd_carp_ip_build(&s6, &d6, 7, carp, p6, sizeof(p6));

	/* A sound IPv4 header of UDP: not CARP, and info says nothing. */
	memcpy(bad, p4, (size_t)n4);
	ip4_set(bad, 9, 17);
	memset(&info, 0xa5, sizeof(info));
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n4, &info), RD_CARP_IP_NOT_CARP);
	ck_assert_uint_eq(info.src.af, RD_AF_UNSPEC);
	ck_assert_ptr_null(info.carp);
	ck_assert_uint_eq(info.carp_len, 0);
	/* Other traffic stays "not CARP" when cut short by a snap length or
	 * fragmented: only the header is looked at. */
	ck_assert_int_eq(rd_carp_ip_parse(bad, 20, &info), RD_CARP_IP_NOT_CARP);
	ip4_set(bad, 6, 0x20); /* more fragments */
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n4, &info), RD_CARP_IP_NOT_CARP);
	/* But a header that is not sound is malformed, whatever its protocol. */
	bad[12] ^= 1; /* header checksum wrong */
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n4, &info), RD_ERR_PROTO);
	ck_assert_uint_eq(info.proto, 17); /* the hint a tool may use */
	memcpy(bad, p4, (size_t)n4);
	ip4_set(bad, 9, 17);
	ck_assert_int_eq(rd_carp_ip_parse(bad, 19, &info), RD_ERR_PROTO); /* short */
	ip4_set(bad, 0, 0x44);                                            /* IHL 4 */
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n4, &info), RD_ERR_PROTO);
	/* A fragment of protocol 112 is malformed CARP, not another protocol. */
	memcpy(bad, p4, (size_t)n4);
	ip4_set(bad, 6, 0x20);
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n4, &info), RD_ERR_PROTO);

	/* IPv6: next header UDP, or an extension header before CARP. */
	memcpy(bad, p6, (size_t)n6);
	bad[6] = 17;
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n6, &info), RD_CARP_IP_NOT_CARP);
	ck_assert_int_eq(rd_carp_ip_parse(bad, 40, &info), RD_CARP_IP_NOT_CARP);
	bad[6] = 0; /* hop-by-hop options: not followed */
	ck_assert_int_eq(rd_carp_ip_parse(bad, (size_t)n6, &info), RD_CARP_IP_NOT_CARP);
	ck_assert_int_eq(rd_carp_ip_parse(bad, 39, &info), RD_ERR_PROTO); /* short */
	ck_assert_uint_eq(info.proto, 0);
	/* Protocol 112 with a payload length beyond the packet: malformed. */
	ck_assert_int_eq(rd_carp_ip_parse(p6, 60, &info), RD_ERR_PROTO);
	ck_assert_int_eq(rd_carp_ip_parse(p6, (size_t)n6, &info), 0);
	ck_assert_int_eq(rd_carp_ip_parse(NULL, 40, &info), RD_ERR_PROTO);
	ck_assert_int_eq(rd_carp_ip_parse(p6, (size_t)n6, NULL), RD_ERR_PROTO);
}
END_TEST

START_TEST(test_key_from_pass_is_strlcpy_into_20_bytes)
{
	uint8_t key[RD_CARP_KEY_LEN];
	uint8_t want[RD_CARP_KEY_LEN] = {'s', 'e', 'c', 'r', 'e', 't'};

	memset(key, 0xee, sizeof(key));
	ck_assert_int_eq(rd_carp_key_from_pass("secret", key), 0);
	ck_assert_mem_eq(key, want, sizeof(key));
	ck_assert_int_eq(rd_carp_key_from_pass("1234567890123456789", key), 0);
	ck_assert_uint_eq(key[18], '9');
	ck_assert_uint_eq(key[19], 0);
	memset(key, 0xee, sizeof(key));
	ck_assert_int_eq(rd_carp_key_from_pass("12345678901234567890", key), RD_ERR_INVAL);
	ck_assert_uint_eq(key[0], 0xee); /* untouched */
}
END_TEST

START_TEST(test_hmac_matches_ucarp_captures)
{
	for (size_t i = 0; i < sizeof(ucarp_vectors) / sizeof(ucarp_vectors[0]); i++) {
		const struct ucarp_vector *v = &ucarp_vectors[i];
		const uint8_t *carp = v->pkt + 20;
		uint8_t key[RD_CARP_KEY_LEN], mac[RD_CARP_HMAC_LEN], re[RD_CARP_HDR_LEN];
		struct rd_addr vip = A(v->vip);
		struct rd_carp_hdr h;

		ck_assert_int_eq(rd_carp_key_from_pass(v->pass, key), 0);
		ck_assert_int_eq(rd_carp_hdr_decode(carp, 36, &h), 0);
		ck_assert_uint_eq(h.vhid, v->vhid);
		ck_assert_uint_eq(h.advskew, v->advskew);
		rd_carp_hmac(key, NULL, v->vhid, &vip, 1, h.counter, RD_CARP_HMAC_NOV6LL, mac);
		ck_assert_mem_eq(mac, carp + 16, RD_CARP_HMAC_LEN);
		rd_carp_hmac(key, NULL, v->vhid, &vip, 1, h.counter, RD_CARP_HMAC_ORIG, mac);
		ck_assert_mem_eq(mac, carp + 16, RD_CARP_HMAC_LEN);
		/* Our encoder reproduces ucarp's bytes, checksum included. */
		rd_carp_hdr_encode(&h, re);
		ck_assert_mem_eq(re, carp, RD_CARP_HDR_LEN);
		ck_assert_uint_eq(rd_cksum(v->pkt, 20), 0);
	}
}
END_TEST

START_TEST(test_input_accepts_ucarp_captures)
{
	for (size_t i = 0; i < sizeof(ucarp_vectors) / sizeof(ucarp_vectors[0]); i++) {
		const struct ucarp_vector *v = &ucarp_vectors[i];
		struct node n;
		struct rd_addr vip = A(v->vip);
		struct rd_carp_vhost_config c;
		struct rd_carp_vhost *vh;
		struct rd_carp_vhost_info info;

		ck_assert_int_eq(node_init(&n, 1, RD_CARP_BAL_NONE), 0);
		memset(&c, 0, sizeof(c));
		c.vhid = v->vhid;
		c.advbase = 1;
		c.advskew = 200; /* slower than ucarp: stays BACKUP */
		rd_carp_key_from_pass(v->pass, c.key);
		c.addrs = &vip;
		c.naddrs = 1;
		c.src4 = A("10.9.0.2");
		ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, &vh), 0);
		ck_assert_int_eq(rd_carp_input(n.ifp, v->pkt, sizeof(v->pkt), T0 + RD_SEC), 0);
		rd_carp_vhost_info(vh, &info);
		ck_assert_int_eq(info.state, RD_CARP_BACKUP);
		/* The accepted advertisement re-armed master-down from its arrival. */
		ck_assert_uint_eq(info.md4, T0 + RD_SEC + rd_carp_master_down(1, 200, 3));
		ck_assert_uint_eq(info.stats[RD_CARP_STAT_IPACKETS], 1);
		rd_carp_if_free(n.ifp);
	}
}
END_TEST

START_TEST(test_hmac_sorts_and_dedups_addresses)
{
	uint8_t key[20] = {1, 2, 3}, ctr[8] = {9}, m1[20], m2[20];
	struct rd_addr a[] = {A("10.0.0.2"), A("2001:db8::1"), A("10.0.0.1"), A("::5")};
	struct rd_addr b[] = {A("::5"),         A("10.0.0.1"), A("10.0.0.2"),
	                      A("2001:db8::1"), A("10.0.0.1"), A("::5")};

	rd_carp_hmac(key, NULL, 5, a, 4, ctr, RD_CARP_HMAC_NOV6LL, m1);
	rd_carp_hmac(key, NULL, 5, b, 6, ctr, RD_CARP_HMAC_NOV6LL, m2);
	ck_assert_mem_eq(m1, m2, 20);
	rd_carp_hmac(key, NULL, 5, a, 3, ctr, RD_CARP_HMAC_NOV6LL, m2);
	ck_assert(memcmp(m1, m2, 20) != 0);
}
END_TEST

/* OpenBSD's ascending walk starts above 0 and stays below all-ones: those
 * two values are never hashed. */
START_TEST(test_hmac_skips_all_zero_and_all_ones_addresses)
{
	uint8_t key[20] = {4}, ctr[8] = {2}, m1[20], m2[20];
	struct rd_addr plain[] = {A("10.0.0.1"), A("2001:db8::1")};
	struct rd_addr odd[] = {A("0.0.0.0"),         A("10.0.0.1"),
	                        A("255.255.255.255"), A("::"),
	                        A("2001:db8::1"),     A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")};

	rd_carp_hmac(key, NULL, 3, plain, 2, ctr, RD_CARP_HMAC_ORIG, m1);
	rd_carp_hmac(key, NULL, 3, odd, 6, ctr, RD_CARP_HMAC_ORIG, m2);
	ck_assert_mem_eq(m1, m2, 20);
}
END_TEST

START_TEST(test_hmac_ipv6_link_local_contexts)
{
	uint8_t key[20] = {7}, ctr[8] = {1}, orig[20], nov6ll[20], without[20], m[20];
	struct rd_addr with_ll[] = {A("2001:db8::1"), A("fe80::1")};
	struct rd_addr scoped[] = {A("2001:db8::1"), A("fe80:5::1")}; /* embedded scope */

	rd_carp_hmac(key, NULL, 9, with_ll, 2, ctr, RD_CARP_HMAC_ORIG, orig);
	rd_carp_hmac(key, NULL, 9, with_ll, 2, ctr, RD_CARP_HMAC_NOV6LL, nov6ll);
	rd_carp_hmac(key, NULL, 9, with_ll, 1, ctr, RD_CARP_HMAC_ORIG, without);
	ck_assert(memcmp(orig, nov6ll, 20) != 0);
	ck_assert_mem_eq(nov6ll, without, 20);
	/* ORIG zeroes the embedded scope bytes 2-3. */
	rd_carp_hmac(key, NULL, 9, scoped, 2, ctr, RD_CARP_HMAC_ORIG, m);
	ck_assert_mem_eq(m, orig, 20);
	/* A receiver accepts either context. */
	ck_assert(rd_carp_hmac_verify(key, NULL, 9, with_ll, 2, ctr, orig));
	ck_assert(rd_carp_hmac_verify(key, NULL, 9, with_ll, 2, ctr, nov6ll));
	m[0] ^= 1;
	ck_assert(!rd_carp_hmac_verify(key, NULL, 9, with_ll, 2, ctr, m));
}
END_TEST

START_TEST(test_hmac_includes_lladdr_when_given)
{
	uint8_t key[20] = {7}, ctr[8] = {1}, m1[20], m2[20];
	const uint8_t ll[6] = {2, 0, 0, 0, 0, 1};
	struct rd_addr a = A("10.0.0.1");

	rd_carp_hmac(key, NULL, 9, &a, 1, ctr, RD_CARP_HMAC_NOV6LL, m1);
	rd_carp_hmac(key, ll, 9, &a, 1, ctr, RD_CARP_HMAC_NOV6LL, m2);
	ck_assert(memcmp(m1, m2, 20) != 0);
}
END_TEST

START_TEST(test_interval_and_master_down_formulas)
{
	ck_assert_uint_eq(rd_carp_interval(1, 0), RD_SEC);
	ck_assert_uint_eq(rd_carp_interval(1, 128), RD_SEC + RD_SEC / 2);
	ck_assert_uint_eq(rd_carp_interval(0, 0), RD_SEC / 256);
	ck_assert_uint_eq(rd_carp_interval(0, 100), 100 * RD_SEC / 256);
	ck_assert_uint_eq(rd_carp_master_down(1, 50, 0), 3 * (RD_SEC + 50 * RD_SEC / 256));
	ck_assert_uint_eq(rd_carp_master_down(2, 0, 4), 8 * RD_SEC);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_str_eq(rd_carp_stat_name(RD_CARP_STAT_BADTTL), "badttl");
	ck_assert_str_eq(rd_carp_stat_name(RD_CARP_STAT_COUNT), "?");
	for (int i = 0; i < RD_CARP_STAT_COUNT; i++)
		ck_assert_str_ne(rd_carp_stat_name(i), "?");
	ck_assert_str_eq(rd_carp_state_name(RD_CARP_MASTER), "MASTER");
	ck_assert_int_eq(rd_carp_refusal_stat(RD_CARP_REFUSED(RD_CARP_STAT_BADSUM)),
	                 RD_CARP_STAT_BADSUM);
	ck_assert_int_eq(rd_carp_refusal_stat(RD_ERR_INVAL), -1);
	ck_assert_int_eq(rd_carp_refusal_stat(0), -1);
	ck_assert_str_eq(rd_carp_strerror(RD_CARP_REFUSED(RD_CARP_STAT_BADTTL)), "bad ttl");
}
END_TEST

/* ---- refusals: one counted reason each, and nothing else changes ---- */

struct refusal_fixture {
	struct node n;
	struct rd_carp_vhost *vh;
	struct rd_addr store[1];
	uint64_t before[RD_CARP_STAT_COUNT];
	struct rd_carp_vhost_info info_before;
};

static void refusal_setup(struct refusal_fixture *f, bool strict)
{
	struct rd_carp_vhost_config c;

	ck_assert_int_eq(node_init(&f->n, 3, RD_CARP_BAL_NONE), 0);
	c = vcfg(1, 1, 0, "10.0.0.1", f->store);
	c.replay_strict = strict;
	c.replay_epoch = 1000;
	ck_assert_int_eq(rd_carp_vhost_add(f->n.ifp, &c, T0, &f->vh), 0);
	rd_carp_if_stats(f->n.ifp, f->before);
	rd_carp_vhost_info(f->vh, &f->info_before);
}

/* Input pkt, expect refusal `stat`, exactly that counter (+ipackets) moved. */
static void expect_refusal(struct refusal_fixture *f, const uint8_t *pkt, size_t len, int stat)
{
	uint64_t after[RD_CARP_STAT_COUNT];
	struct rd_carp_vhost_info info;

	f->n.nchanges = 0;
	ck_assert_int_eq(rd_carp_input(f->n.ifp, pkt, len, T0 + RD_SEC), RD_CARP_REFUSED(stat));
	rd_carp_if_stats(f->n.ifp, after);
	for (int i = 0; i < RD_CARP_STAT_COUNT; i++) {
		uint64_t want = f->before[i];

		if (i == stat || i == RD_CARP_STAT_IPACKETS)
			want++;
		ck_assert_msg(after[i] == want, "counter %s: %llu, want %llu", rd_carp_stat_name(i),
		              (unsigned long long)after[i], (unsigned long long)want);
	}
	rd_carp_vhost_info(f->vh, &info);
	ck_assert_int_eq(info.state, f->info_before.state);
	ck_assert_uint_eq(info.md4, f->info_before.md4);
	ck_assert_uint_eq(f->n.nchanges, 0);
	memcpy(f->before, after, sizeof(after));
}

START_TEST(test_refuses_malformed_ip_as_hdrops)
{
	struct refusal_fixture f;
	uint8_t junk[10] = {0x45, 1, 2};

	refusal_setup(&f, false);
	expect_refusal(&f, junk, sizeof(junk), RD_CARP_STAT_HDROPS);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_refuses_other_protocol_as_hdrops)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	size_t n;

	refusal_setup(&f, false);
	n = make_ad(&s, p);
	ip4_set(p, 9, 17); /* a signed advertisement, but carried as UDP */
	expect_refusal(&f, p, n, RD_CARP_STAT_HDROPS);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_refuses_foreign_destination_as_badif)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];

	refusal_setup(&f, false);
	s.dst = "10.0.0.77"; /* unicast, not our address */
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADIF);
	s.dst = "224.0.0.19"; /* another group */
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADIF);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_refuses_ttl_not_255_as_badttl)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];

	refusal_setup(&f, false);
	s.ttl = 254;
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADTTL);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_refuses_short_payload_as_badlen)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	size_t n;

	refusal_setup(&f, false);
	n = make_ad(&s, p) - 1;
	p[3] = (uint8_t)n; /* IP total length 55, header checksum fixed */
	p[10] = p[11] = 0;
	p[10] = (uint8_t)(rd_cksum(p, 20) >> 8);
	p[11] = (uint8_t)rd_cksum(p, 20);
	expect_refusal(&f, p, n, RD_CARP_STAT_BADLEN);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_refuses_bad_checksum_as_badsum)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	size_t n;

	refusal_setup(&f, false);
	n = make_ad(&s, p);
	p[20 + 26] ^= 0x40;
	expect_refusal(&f, p, n, RD_CARP_STAT_BADSUM);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_refuses_unknown_vhid_as_badvhid)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];

	refusal_setup(&f, false);
	s.vhid = 2;
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADVHID);
	/* A multicast vhost does not take unicast advertisements (OpenBSD ismulti). */
	s.vhid = 1;
	s.dst = "10.0.0.1";
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADVHID);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

/* OpenBSD counts badver for a version other than 2 and never looks at the
 * type; we also refuse a type other than 1 (ADVERTISEMENT), under the same
 * counter: the HMAC does not cover the type byte, no CARP speaker sends
 * another, and acting on a message we cannot read as an advertisement
 * would be a guess (carpd(8), Interoperability). */
START_TEST(test_refuses_version_or_type_as_badver)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];

	refusal_setup(&f, false);
	s.version = 3;
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADVER);
	s.version = 2;
	s.type = 2;
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADVER);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

/* OpenBSD carp_proto_input_c: a carp interface that is not UP and RUNNING
 * (its carpdev lost its link: carp_carpdev_state clears IFF_RUNNING and
 * puts every vhost in INIT) counts badvhid, before the version is read. */
START_TEST(test_refuses_for_a_vhost_in_init_after_link_down_as_badvhid)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];

	refusal_setup(&f, false);
	ck_assert_int_eq(rd_carp_if_link(f.n.ifp, false, T0), 0);
	ck_assert_int_eq(rd_carp_vhost_state(f.vh), RD_CARP_INIT);
	rd_carp_if_stats(f.n.ifp, f.before);
	rd_carp_vhost_info(f.vh, &f.info_before);
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADVHID);
	s.version = 3; /* badvhid comes first, as in OpenBSD */
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADVHID);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_refuses_wrong_key_as_badauth)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	struct rd_carp_vhost_info info;

	refusal_setup(&f, false);
	s.pass = "wrong";
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADAUTH);
	s.pass = "secret";
	s.vip = "10.0.0.101"; /* other address set */
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_BADAUTH);
	rd_carp_vhost_info(f.vh, &info);
	ck_assert_uint_eq(info.stats[RD_CARP_STAT_BADAUTH], 2);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_refuses_own_cookie_as_loop)
{
	struct refusal_fixture f;

	refusal_setup(&f, false);
	ck_assert_int_eq(rd_carp_vhost_set_state(f.vh, RD_CARP_MASTER, T0), 0);
	ck_assert_uint_eq(f.n.nout, 1);
	rd_carp_if_stats(f.n.ifp, f.before);
	rd_carp_vhost_info(f.vh, &f.info_before);
	expect_refusal(&f, f.n.out[0].b, f.n.out[0].len, RD_CARP_STAT_LOOP);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_refuses_repeated_counter_in_strict_mode_as_replay)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	size_t n;

	refusal_setup(&f, true);
	s.advskew = 10; /* a slower master: we stay BACKUP */
	n = make_ad(&s, p);
	ck_assert_int_eq(rd_carp_input(f.n.ifp, p, n, T0 + RD_SEC), 0);
	rd_carp_if_stats(f.n.ifp, f.before);
	rd_carp_vhost_info(f.vh, &f.info_before);
	expect_refusal(&f, p, n, RD_CARP_STAT_REPLAY);
	s.src = "10.0.0.10"; /* the same counter from another address */
	expect_refusal(&f, p, make_ad(&s, p), RD_CARP_STAT_REPLAY);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

START_TEST(test_input_payload_checks_the_same)
{
	struct refusal_fixture f;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	struct rd_addr src = A("10.0.0.9"), dst = A("224.0.0.18"), d6 = A("ff02::12");

	refusal_setup(&f, false);
	s.advskew = 10;
	make_ad(&s, p);
	ck_assert_int_eq(rd_carp_input_payload(f.n.ifp, &src, &dst, 254, p + 20, 36, T0),
	                 RD_CARP_REFUSED(RD_CARP_STAT_BADTTL));
	ck_assert_int_eq(rd_carp_input_payload(f.n.ifp, &src, &d6, 255, p + 20, 36, T0),
	                 RD_CARP_REFUSED(RD_CARP_STAT_HDROPS));
	ck_assert_int_eq(rd_carp_input_payload(f.n.ifp, &src, &dst, 255, p + 20, 36, T0), 0);
	rd_carp_if_free(f.n.ifp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carp-codec");
	TCase *tc = tcase_create("codec");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_hdr_roundtrip);
	tcase_add_test(tc, test_hdr_decode_short_is_proto_error);
	tcase_add_test(tc, test_ip4_build_parse_roundtrip);
	tcase_add_test(tc, test_ip6_build_parse_roundtrip);
	tcase_add_test(tc, test_ip_build_checks_space_and_families);
	tcase_add_test(tc, test_ip_parse_refuses_malformed);
	tcase_add_test(tc, test_ip_parse_tells_other_protocols_from_malformed);
	tcase_add_test(tc, test_key_from_pass_is_strlcpy_into_20_bytes);
	tcase_add_test(tc, test_hmac_matches_ucarp_captures);
	tcase_add_test(tc, test_input_accepts_ucarp_captures);
	tcase_add_test(tc, test_hmac_sorts_and_dedups_addresses);
	tcase_add_test(tc, test_hmac_skips_all_zero_and_all_ones_addresses);
	tcase_add_test(tc, test_hmac_ipv6_link_local_contexts);
	tcase_add_test(tc, test_hmac_includes_lladdr_when_given);
	tcase_add_test(tc, test_interval_and_master_down_formulas);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_refuses_malformed_ip_as_hdrops);
	tcase_add_test(tc, test_refuses_other_protocol_as_hdrops);
	tcase_add_test(tc, test_refuses_foreign_destination_as_badif);
	tcase_add_test(tc, test_refuses_ttl_not_255_as_badttl);
	tcase_add_test(tc, test_refuses_short_payload_as_badlen);
	tcase_add_test(tc, test_refuses_bad_checksum_as_badsum);
	tcase_add_test(tc, test_refuses_unknown_vhid_as_badvhid);
	tcase_add_test(tc, test_refuses_version_or_type_as_badver);
	tcase_add_test(tc, test_refuses_for_a_vhost_in_init_after_link_down_as_badvhid);
	tcase_add_test(tc, test_refuses_wrong_key_as_badauth);
	tcase_add_test(tc, test_refuses_own_cookie_as_loop);
	tcase_add_test(tc, test_refuses_repeated_counter_in_strict_mode_as_replay);
	tcase_add_test(tc, test_input_payload_checks_the_same);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
