/* Unit tests for rd_state_parse: IPv4/IPv6 headers into rd_state_pkt. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/state.h"

static uint8_t buf[256];

/* IPv4 header (20 bytes) for proto with total length tot. */
static size_t ip4(uint8_t proto, size_t tot)
{
	memset(buf, 0, sizeof(buf));
	buf[0] = 0x45;
	rd_put16(buf + 2, (uint16_t)tot);
	buf[8] = 64;
	buf[9] = proto;
	rd_put32(buf + 12, 0x0a000001u);
	rd_put32(buf + 16, 0x0a000002u);
	return 20;
}

/* IPv6 header (40 bytes) with next header nh and payload length plen. */
static size_t ip6(uint8_t nh, size_t plen)
{
	memset(buf, 0, sizeof(buf));
	buf[0] = 0x60;
	rd_put16(buf + 4, (uint16_t)plen);
	buf[6] = nh;
	buf[7] = 64;
	buf[8] = 0x20;
	buf[9] = 0x01;
	buf[23] = 1;
	buf[24] = 0x20;
	buf[25] = 0x01;
	buf[39] = 2;
	return 40;
}

static void tcp(size_t off, uint8_t flags, size_t optlen)
{
	rd_put16(buf + off, 1234);
	rd_put16(buf + off + 2, 80);
	rd_put32(buf + off + 4, 0x11223344u);
	rd_put32(buf + off + 8, 0x55667788u);
	buf[off + 12] = (uint8_t)(((20 + optlen) / 4) << 4);
	buf[off + 13] = flags;
	rd_put16(buf + off + 14, 29200);
}

START_TEST(ipv4_tcp_syn_with_mss_and_window_scale)
{
	size_t off = ip4(6, 20 + 20 + 12);
	tcp(off, 0x02, 12);
	uint8_t *o = buf + off + 20;
	o[0] = 2, o[1] = 4, rd_put16(o + 2, 1460); /* MSS */
	o[4] = 1;                                  /* NOP */
	o[5] = 3, o[6] = 3, o[7] = 7;              /* window scale 7 */
	o[8] = 4, o[9] = 2;                        /* SACK permitted */
	o[10] = 0;                                 /* EOL */
	struct rd_state_pkt p;
	int why;
	ck_assert_int_eq(rd_state_parse(buf, 52, RD_STATE_IN, &p, &why), 0);
	ck_assert_uint_eq(p.af, RD_AF_INET);
	ck_assert_uint_eq(p.proto, 6);
	ck_assert_uint_eq(p.sport, 1234);
	ck_assert_uint_eq(p.dport, 80);
	ck_assert_uint_eq(p.seq, 0x11223344u);
	ck_assert_uint_eq(p.ack, 0x55667788u);
	ck_assert_uint_eq(p.tcp_flags, RD_TH_SYN);
	ck_assert_uint_eq(p.win, 29200);
	ck_assert_int_eq(p.wscale, 7);
	ck_assert_uint_eq(p.mss, 1460);
	ck_assert_uint_eq(p.payload_len, 0);
	ck_assert_uint_eq(p.tot_len, 52);
	ck_assert_uint_eq(p.src.u.v4[3], 1);
	ck_assert_uint_eq(p.dst.u.v4[3], 2);
	ck_assert_uint_eq(p.dir, RD_STATE_IN);
}
END_TEST

START_TEST(tcp_without_window_scale_option_reports_minus_one)
{
	size_t off = ip4(6, 40);
	tcp(off, 0x10, 0);
	struct rd_state_pkt p;
	ck_assert_int_eq(rd_state_parse(buf, 40, RD_STATE_OUT, &p, NULL), 0);
	ck_assert_int_eq(p.wscale, -1);
	ck_assert_uint_eq(p.mss, 0);
}
END_TEST

START_TEST(payload_length_comes_from_ip_header_even_when_capture_is_short)
{
	size_t off = ip4(6, 1500);
	tcp(off, 0x18, 0);
	struct rd_state_pkt p;
	ck_assert_int_eq(rd_state_parse(buf, 54, RD_STATE_IN, &p, NULL), 0);
	ck_assert_uint_eq(p.payload_len, 1460);
	ck_assert_uint_eq(p.tot_len, 1500);
}
END_TEST

START_TEST(ipv4_udp_ports_and_payload)
{
	size_t off = ip4(17, 20 + 8 + 30);
	rd_put16(buf + off, 5353);
	rd_put16(buf + off + 2, 53);
	struct rd_state_pkt p;
	ck_assert_int_eq(rd_state_parse(buf, 58, RD_STATE_IN, &p, NULL), 0);
	ck_assert_uint_eq(p.sport, 5353);
	ck_assert_uint_eq(p.dport, 53);
	ck_assert_uint_eq(p.payload_len, 30);
}
END_TEST

START_TEST(ipv6_tcp_after_hop_by_hop_and_destination_options)
{
	size_t off = ip6(0, 8 + 16 + 20);
	buf[off] = 60; /* hop-by-hop -> destination options */
	buf[off + 1] = 0;
	off += 8;
	buf[off] = 6; /* destination options (16 bytes) -> TCP */
	buf[off + 1] = 1;
	off += 16;
	tcp(off, 0x12, 0);
	struct rd_state_pkt p;
	ck_assert_int_eq(rd_state_parse(buf, off + 20, RD_STATE_IN, &p, NULL), 0);
	ck_assert_uint_eq(p.af, RD_AF_INET6);
	ck_assert_uint_eq(p.proto, 6);
	ck_assert_uint_eq(p.tcp_flags, RD_TH_SYN | RD_TH_ACK);
	ck_assert_uint_eq(p.src.u.v6[15], 1);
	ck_assert_uint_eq(p.dst.u.v6[15], 2);
	ck_assert_uint_eq(p.payload_len, 0);
}
END_TEST

START_TEST(ipv4_non_first_fragment_is_refused_as_fragment)
{
	ip4(17, 100);
	rd_put16(buf + 6, 0x0010); /* offset 128 bytes */
	struct rd_state_pkt p;
	int why;
	ck_assert_int_eq(rd_state_parse(buf, 100, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_FRAG);
}
END_TEST

START_TEST(ipv6_non_first_fragment_is_refused_as_fragment)
{
	size_t off = ip6(44, 8 + 8);
	buf[off] = 17;
	rd_put16(buf + off + 2, 0x0100);
	struct rd_state_pkt p;
	int why;
	ck_assert_int_eq(rd_state_parse(buf, 56, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_FRAG);
}
END_TEST

START_TEST(truncated_tcp_header_is_short)
{
	size_t off = ip4(6, 40);
	tcp(off, 0x02, 0);
	struct rd_state_pkt p;
	int why;
	ck_assert_int_eq(rd_state_parse(buf, 30, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_SHORT);
	ck_assert_int_eq(rd_state_parse(buf, 10, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_SHORT);
}
END_TEST

START_TEST(tcp_data_offset_beyond_segment_is_bad_offset)
{
	size_t off = ip4(6, 40);
	tcp(off, 0x02, 0);
	buf[off + 12] = 0xf0; /* 60-byte header in a 20-byte segment */
	struct rd_state_pkt p;
	int why;
	ck_assert_int_eq(rd_state_parse(buf, 40, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_BADOFF);
}
END_TEST

START_TEST(tcp_option_running_past_header_is_normalize)
{
	size_t off = ip4(6, 44);
	tcp(off, 0x02, 4);
	buf[off + 20] = 2;
	buf[off + 21] = 8; /* claims 8 bytes, 4 remain */
	struct rd_state_pkt p;
	int why;
	ck_assert_int_eq(rd_state_parse(buf, 44, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_NORM);
}
END_TEST

START_TEST(bad_version_and_short_ip_header_length_are_normalize)
{
	struct rd_state_pkt p;
	int why;
	ip4(6, 40);
	buf[0] = 0x55;
	ck_assert_int_eq(rd_state_parse(buf, 40, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_NORM);
	buf[0] = 0x44;
	ck_assert_int_eq(rd_state_parse(buf, 40, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_NORM);
}
END_TEST

START_TEST(ipv4_header_length_beyond_capture_is_short)
{
	struct rd_state_pkt p;
	int why;
	ip4(6, 100);
	buf[0] = 0x4f; /* 60-byte header, 40 bytes captured */
	ck_assert_int_eq(rd_state_parse(buf, 40, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_SHORT);
}
END_TEST

START_TEST(ipv4_total_length_below_header_length_is_normalize)
{
	struct rd_state_pkt p;
	int why;
	ip4(6, 10);
	ck_assert_int_eq(rd_state_parse(buf, 40, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_NORM);
}
END_TEST

START_TEST(ipv6_jumbogram_is_normalize)
{
	struct rd_state_pkt p;
	int why;
	size_t off = ip6(6, 0);
	tcp(off, 0x02, 0);
	ck_assert_int_eq(rd_state_parse(buf, off + 20, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_NORM);
}
END_TEST

START_TEST(ipv6_extension_header_past_payload_length_is_normalize)
{
	struct rd_state_pkt p;
	int why;
	size_t off = ip6(0, 4); /* an 8-byte hop-by-hop header in a 4-byte payload */
	buf[off] = 6;
	tcp(off + 8, 0x02, 0);
	ck_assert_int_eq(rd_state_parse(buf, off + 28, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_NORM);
}
END_TEST

START_TEST(ipv6_seventeen_extension_headers_are_normalize)
{
	struct rd_state_pkt p;
	int why;
	size_t off = ip6(60, 17 * 8 + 20);
	for (int i = 0; i < 17; i++, off += 8)
		buf[off] = i < 16 ? 60 : 6; /* destination options, then TCP */
	tcp(off, 0x02, 0);
	ck_assert_int_eq(rd_state_parse(buf, off + 20, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_NORM);
}
END_TEST

START_TEST(icmp_echo_reads_type_and_id)
{
	size_t off = ip4(1, 28);
	buf[off] = 8;
	rd_put16(buf + off + 4, 4242);
	struct rd_state_pkt p;
	ck_assert_int_eq(rd_state_parse(buf, 28, RD_STATE_IN, &p, NULL), 0);
	ck_assert_uint_eq(p.icmp_type, 8);
	ck_assert_uint_eq(p.icmp_id, 4242);
	ck_assert_uint_eq(p.icmp_err, 0);
}
END_TEST

START_TEST(icmp_error_quotes_inner_tcp_header)
{
	size_t off = ip4(1, 20 + 8 + 20 + 8);
	buf[off] = 3;
	buf[off + 1] = 4;
	uint8_t *q = buf + off + 8;
	q[0] = 0x45;
	rd_put16(q + 2, 40);
	q[9] = 6;
	rd_put32(q + 12, 0x0a000002u);
	rd_put32(q + 16, 0x08080808u);
	rd_put16(q + 20, 40000);
	rd_put16(q + 22, 443);
	rd_put32(q + 24, 0xdeadbeefu);
	struct rd_state_pkt p;
	ck_assert_int_eq(rd_state_parse(buf, 56, RD_STATE_OUT, &p, NULL), 0);
	ck_assert_uint_eq(p.icmp_err, 1);
	ck_assert_uint_eq(p.inner.proto, 6);
	ck_assert_uint_eq(p.inner.sport, 40000);
	ck_assert_uint_eq(p.inner.dport, 443);
	ck_assert_uint_eq(p.inner.seq, 0xdeadbeefu);
	ck_assert_uint_eq(p.inner.dst.u.v4[0], 8);
}
END_TEST

START_TEST(icmp_error_quoting_an_echo_carries_its_id_and_type)
{
	size_t off = ip4(1, 20 + 8 + 20 + 8);
	buf[off] = 11; /* time exceeded */
	uint8_t *q = buf + off + 8;
	q[0] = 0x45;
	rd_put16(q + 2, 28);
	q[9] = 1;
	rd_put32(q + 12, 0x0a000002u);
	rd_put32(q + 16, 0x08080808u);
	q[20] = 8; /* echo request */
	rd_put16(q + 24, 4242);
	struct rd_state_pkt p;
	ck_assert_int_eq(rd_state_parse(buf, 56, RD_STATE_OUT, &p, NULL), 0);
	ck_assert_uint_eq(p.icmp_err, 1);
	ck_assert_uint_eq(p.inner.proto, 1);
	ck_assert_uint_eq(p.inner.sport, 4242);
	ck_assert_uint_eq(p.inner.dport, 8);
}
END_TEST

START_TEST(icmpv6_error_quote_truncated_is_short)
{
	size_t off = ip6(58, 8 + 20);
	buf[off] = 1; /* destination unreachable, quoting only 20 bytes of an IPv6 header */
	struct rd_state_pkt p;
	int why;
	ck_assert_int_eq(rd_state_parse(buf, off + 28, RD_STATE_IN, &p, &why), RD_ERR_PROTO);
	ck_assert_int_eq(why, RD_STATE_RES_SHORT);
}
END_TEST

START_TEST(parsed_packet_creates_and_matches_state)
{
	size_t off = ip4(6, 40);
	tcp(off, 0x02, 0);
	struct rd_state_pkt p;
	ck_assert_int_eq(rd_state_parse(buf, 40, RD_STATE_IN, &p, NULL), 0);
	struct rd_state_table *t;
	ck_assert_int_eq(rd_state_table_new(NULL, &t), 0);
	ck_assert_int_eq(rd_state_create(t, &p, NULL, RD_SEC, NULL), 0);
	/* the reply, parsed from its own bytes, finds the state */
	ip4(6, 40);
	rd_put32(buf + 12, 0x0a000002u);
	rd_put32(buf + 16, 0x0a000001u);
	tcp(off, 0x12, 0);
	rd_put16(buf + off, 80);
	rd_put16(buf + off + 2, 1234);
	rd_put32(buf + off + 8, 0x11223345u);
	ck_assert_int_eq(rd_state_parse(buf, 40, RD_STATE_OUT, &p, NULL), 0);
	struct rd_state_result res;
	ck_assert_int_eq(rd_state_packet(t, &p, RD_SEC, &res), RD_STATE_PASS);
	rd_state_table_free(t, RD_SEC);
}
END_TEST

Suite *parse_suite(void)
{
	Suite *s = suite_create("state-parse");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, ipv4_tcp_syn_with_mss_and_window_scale);
	tcase_add_test(tc, tcp_without_window_scale_option_reports_minus_one);
	tcase_add_test(tc, payload_length_comes_from_ip_header_even_when_capture_is_short);
	tcase_add_test(tc, ipv4_udp_ports_and_payload);
	tcase_add_test(tc, ipv6_tcp_after_hop_by_hop_and_destination_options);
	tcase_add_test(tc, ipv4_non_first_fragment_is_refused_as_fragment);
	tcase_add_test(tc, ipv6_non_first_fragment_is_refused_as_fragment);
	tcase_add_test(tc, truncated_tcp_header_is_short);
	tcase_add_test(tc, tcp_data_offset_beyond_segment_is_bad_offset);
	tcase_add_test(tc, tcp_option_running_past_header_is_normalize);
	tcase_add_test(tc, bad_version_and_short_ip_header_length_are_normalize);
	tcase_add_test(tc, ipv4_header_length_beyond_capture_is_short);
	tcase_add_test(tc, ipv4_total_length_below_header_length_is_normalize);
	tcase_add_test(tc, ipv6_jumbogram_is_normalize);
	tcase_add_test(tc, ipv6_extension_header_past_payload_length_is_normalize);
	tcase_add_test(tc, ipv6_seventeen_extension_headers_are_normalize);
	tcase_add_test(tc, icmp_echo_reads_type_and_id);
	tcase_add_test(tc, icmp_error_quotes_inner_tcp_header);
	tcase_add_test(tc, icmp_error_quoting_an_echo_carries_its_id_and_type);
	tcase_add_test(tc, icmpv6_error_quote_truncated_is_short);
	tcase_add_test(tc, parsed_packet_creates_and_matches_state);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (rd_init() != 0)
		return EXIT_FAILURE;
	SRunner *sr = srunner_create(parse_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
