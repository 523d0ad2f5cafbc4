/* Unit tests for the core helpers: checksum, addresses and prefixes, errors. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/carp.h"
#include "redund/common.h"

START_TEST(cksum_matches_rfc1071_example)
{
	/* RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2. */
	const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	ck_assert_uint_eq(rd_cksum(data, sizeof(data)), (uint16_t)~0xddf2);
}
END_TEST

START_TEST(cksum_of_buffer_with_its_checksum_is_zero)
{
	uint8_t buf[36];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	buf[6] = buf[7] = 0;
	rd_put16(buf + 6, rd_cksum(buf, sizeof(buf)));
	ck_assert_uint_eq(rd_cksum(buf, sizeof(buf)), 0);
	buf[20] ^= 0x40;
	ck_assert_uint_ne(rd_cksum(buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(cksum_incremental_equals_one_shot)
{
	uint8_t buf[64];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 5);
	uint32_t s = rd_cksum_add(0, buf, 20);
	s = rd_cksum_add(s, buf + 20, 44);
	ck_assert_uint_eq(rd_cksum_fold(s), rd_cksum(buf, sizeof(buf)));
}
END_TEST

START_TEST(cksum_odd_length_pads_with_zero)
{
	const uint8_t odd[] = {0x12, 0x34, 0x56};
	const uint8_t even[] = {0x12, 0x34, 0x56, 0x00};
	ck_assert_uint_eq(rd_cksum(odd, 3), rd_cksum(even, 4));
}
END_TEST

START_TEST(addr_parse_and_format_round_trip)
{
	struct rd_addr a;
	char buf[RD_ADDR_STRLEN];

	ck_assert_int_eq(rd_addr_parse("10.9.0.100", &a), 0);
	ck_assert_int_eq(a.af, RD_AF_INET);
	ck_assert_str_eq(rd_addr_format(&a, buf, sizeof(buf)), "10.9.0.100");
	ck_assert_int_eq(rd_addr_parse("fe80::1:2", &a), 0);
	ck_assert_int_eq(a.af, RD_AF_INET6);
	ck_assert_str_eq(rd_addr_format(&a, buf, sizeof(buf)), "fe80::1:2");
	ck_assert_int_eq(rd_addr_parse("10.9.0.300", &a), RD_ERR_INVAL);
	ck_assert_int_eq(rd_addr_parse("", &a), RD_ERR_INVAL);
}
END_TEST

START_TEST(addr_cmp_is_numeric_order)
{
	struct rd_addr a = rd_addr_v4(0x0a000002), b = rd_addr_v4(0x0a000010);
	ck_assert_int_lt(rd_addr_cmp(&a, &b), 0);
	ck_assert_int_gt(rd_addr_cmp(&b, &a), 0);
	ck_assert_int_eq(rd_addr_cmp(&a, &a), 0);
}
END_TEST

/* ---- prefixes ---- */

static struct rd_addr addr(const char *s)
{
	struct rd_addr a;
	ck_assert_int_eq(rd_addr_parse(s, &a), 0);
	return a;
}

START_TEST(prefix_0_matches_every_address_of_the_family)
{
	struct rd_addr n4 = addr("10.0.0.0"), n6 = addr("2001:db8::");
	struct rd_addr a4 = addr("255.255.255.255"), a6 = addr("ffff::1");
	ck_assert(rd_addr_prefix_match(&n4, 0, &a4));
	ck_assert(rd_addr_prefix_match(&n6, 0, &a6));
	ck_assert(!rd_addr_prefix_match(&n4, 0, &a6));
	ck_assert(!rd_addr_prefix_match(&n6, 0, &a4));
}
END_TEST

START_TEST(prefix_32_and_128_are_equality)
{
	struct rd_addr n4 = addr("192.0.2.1"), n6 = addr("2001:db8::1");
	struct rd_addr b4 = addr("192.0.2.0"), b6 = addr("2001:db8::");
	ck_assert(rd_addr_prefix_match(&n4, 32, &n4));
	ck_assert(!rd_addr_prefix_match(&n4, 32, &b4));
	ck_assert(rd_addr_prefix_match(&n4, 31, &b4));
	ck_assert(rd_addr_prefix_match(&n6, 128, &n6));
	ck_assert(!rd_addr_prefix_match(&n6, 128, &b6));
	ck_assert(rd_addr_prefix_match(&n6, 127, &b6));
}
END_TEST

START_TEST(prefix_23_splits_inside_the_third_byte)
{
	struct rd_addr n = addr("10.0.0.0");
	struct rd_addr first = addr("10.0.0.0"), last = addr("10.0.1.255");
	struct rd_addr above = addr("10.0.2.0"), below = addr("9.255.255.255");
	ck_assert(rd_addr_prefix_match(&n, 23, &first));
	ck_assert(rd_addr_prefix_match(&n, 23, &last));
	ck_assert(!rd_addr_prefix_match(&n, 23, &above));
	ck_assert(!rd_addr_prefix_match(&n, 23, &below));
	/* /24 no longer holds 10.0.1.x */
	ck_assert(!rd_addr_prefix_match(&n, 24, &last));
}
END_TEST

START_TEST(prefix_65_splits_inside_the_ninth_byte)
{
	struct rd_addr n = addr("2001:db8::");
	struct rd_addr last = addr("2001:db8::7fff:ffff:ffff:ffff");
	struct rd_addr above = addr("2001:db8::8000:0:0:0");
	ck_assert(rd_addr_prefix_match(&n, 65, &last));
	ck_assert(!rd_addr_prefix_match(&n, 65, &above));
	ck_assert(rd_addr_prefix_match(&n, 64, &above));
}
END_TEST

START_TEST(prefix_ignores_the_networks_host_bits)
{
	struct rd_addr n = addr("10.0.0.77"), a = addr("10.0.0.1");
	/* 77 is 0100 1101, 1 is 0000 0001: they part at the 26th bit */
	ck_assert(rd_addr_prefix_match(&n, 24, &a));
	ck_assert(rd_addr_prefix_match(&n, 25, &a));
	ck_assert(!rd_addr_prefix_match(&n, 26, &a));
}
END_TEST

START_TEST(prefix_longer_than_the_address_is_the_whole_address)
{
	struct rd_addr n4 = addr("192.0.2.1"), o4 = addr("192.0.2.2");
	struct rd_addr n6 = addr("2001:db8::1"), o6 = addr("2001:db8::2");
	ck_assert(rd_addr_prefix_match(&n4, 33, &n4));
	ck_assert(rd_addr_prefix_match(&n4, 255, &n4));
	ck_assert(!rd_addr_prefix_match(&n4, 33, &o4));
	ck_assert(rd_addr_prefix_match(&n6, 129, &n6));
	ck_assert(!rd_addr_prefix_match(&n6, 1000, &o6));
}
END_TEST

START_TEST(prefix_of_ipv4_never_reads_past_four_bytes)
{
	struct rd_addr n = addr("192.0.2.1"), a = addr("192.0.2.1");
	memset(a.u.v6 + 4, 0xa5, 12);
	ck_assert(rd_addr_prefix_match(&n, 32, &a));
	ck_assert(rd_addr_prefix_match(&n, 128, &a));
}
END_TEST

START_TEST(prefix_across_families_never_matches)
{
	/* all-zero bytes in both: only the family tells them apart */
	struct rd_addr v4 = addr("0.0.0.0"), v6 = addr("::"), u;
	memset(&u, 0, sizeof(u));
	ck_assert(!rd_addr_prefix_match(&v4, 0, &v6));
	ck_assert(!rd_addr_prefix_match(&v6, 0, &v4));
	ck_assert(!rd_addr_prefix_match(&v4, 32, &v6));
	/* RD_AF_UNSPEC is no family: not even equal to itself */
	ck_assert(!rd_addr_prefix_match(&u, 0, &u));
	ck_assert(!rd_addr_prefix_match(&u, 32, &v4));
}
END_TEST

START_TEST(netmask_sets_leading_bits)
{
	struct rd_addr m;
	char buf[RD_ADDR_STRLEN];
	ck_assert_int_eq(rd_addr_netmask(RD_AF_INET, 0, &m), 0);
	ck_assert_str_eq(rd_addr_format(&m, buf, sizeof(buf)), "0.0.0.0");
	ck_assert_int_eq(rd_addr_netmask(RD_AF_INET, 23, &m), 0);
	ck_assert_str_eq(rd_addr_format(&m, buf, sizeof(buf)), "255.255.254.0");
	ck_assert_int_eq(rd_addr_netmask(RD_AF_INET, 32, &m), 0);
	ck_assert_str_eq(rd_addr_format(&m, buf, sizeof(buf)), "255.255.255.255");
	for (size_t i = 4; i < 16; i++)
		ck_assert_uint_eq(m.u.v6[i], 0);
	ck_assert_int_eq(rd_addr_netmask(RD_AF_INET, 40, &m), 0);
	ck_assert_str_eq(rd_addr_format(&m, buf, sizeof(buf)), "255.255.255.255");
	for (size_t i = 4; i < 16; i++)
		ck_assert_uint_eq(m.u.v6[i], 0);
	ck_assert_int_eq(rd_addr_netmask(RD_AF_INET6, 65, &m), 0);
	ck_assert_str_eq(rd_addr_format(&m, buf, sizeof(buf)), "ffff:ffff:ffff:ffff:8000::");
	ck_assert_int_eq(rd_addr_netmask(RD_AF_INET6, 128, &m), 0);
	ck_assert_str_eq(rd_addr_format(&m, buf, sizeof(buf)),
	                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	ck_assert_int_eq(rd_addr_netmask(RD_AF_INET6, 129, &m), 0);
	ck_assert_str_eq(rd_addr_format(&m, buf, sizeof(buf)),
	                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}
END_TEST

START_TEST(netmask_of_no_family_is_invalid_and_writes_nothing)
{
	struct rd_addr m = addr("192.0.2.1"), was = m;
	ck_assert_int_eq(rd_addr_netmask(RD_AF_UNSPEC, 8, &m), RD_ERR_INVAL);
	ck_assert_int_eq(rd_addr_netmask(5, 8, &m), RD_ERR_INVAL);
	ck_assert_mem_eq(&m, &was, sizeof(m));
}
END_TEST

/* Every plen of both families: flipping the last bit inside the prefix
 * breaks the match and is set in the netmask; flipping the first bit after
 * it keeps the match and is clear in the netmask. */
START_TEST(prefix_match_agrees_with_netmask_for_every_length)
{
	static const uint8_t afs[] = {RD_AF_INET, RD_AF_INET6};
	for (size_t f = 0; f < 2; f++) {
		unsigned width = afs[f] == RD_AF_INET ? 32 : 128;
		struct rd_addr net, m;
		memset(&net, 0, sizeof(net));
		net.af = afs[f];
		for (size_t i = 0; i < width / 8; i++)
			net.u.v6[i] = (uint8_t)(i * 77 + 13);
		for (unsigned plen = 0; plen <= width + 1; plen++) {
			ck_assert_int_eq(rd_addr_netmask(net.af, plen, &m), 0);
			ck_assert(rd_addr_prefix_match(&net, plen, &net));
			if (plen > 0 && plen <= width) {
				struct rd_addr a = net;
				a.u.v6[(plen - 1) / 8] ^= (uint8_t)(0x80 >> (plen - 1) % 8);
				ck_assert(!rd_addr_prefix_match(&net, plen, &a));
				ck_assert_uint_ne(m.u.v6[(plen - 1) / 8] & (0x80 >> (plen - 1) % 8),
				                  0);
			}
			if (plen < width) {
				struct rd_addr a = net;
				a.u.v6[plen / 8] ^= (uint8_t)(0x80 >> plen % 8);
				ck_assert(rd_addr_prefix_match(&net, plen, &a));
				ck_assert_uint_eq(m.u.v6[plen / 8] & (0x80 >> plen % 8), 0);
			}
		}
	}
}
END_TEST

/* Every RD_ERR_* code, listed by name (a new code must be added here). */
static const int rd_errors[] = {
    RD_ERR_NOMEM, RD_ERR_INVAL,  RD_ERR_PROTO,  RD_ERR_NOSPC, RD_ERR_NOENT,
    RD_ERR_EXIST, RD_ERR_LIMIT,  RD_ERR_AUTH,   RD_ERR_STATE, RD_ERR_REPLAY,
    RD_ERR_AGAIN, RD_ERR_CRYPTO, RD_ERR_NOTSUP,
};

/*
 * The library's codes cannot be taken for a negated errno: each is below
 * -200, they are distinct, and rd_strerror names each with a text of its
 * own, none an errno's.
 */
START_TEST(error_codes_have_a_range_of_their_own_and_names)
{
	size_t n = sizeof(rd_errors) / sizeof(rd_errors[0]);

	ck_assert_str_eq(rd_strerror(RD_OK), "success");
	for (size_t i = 0; i < n; i++) {
		const char *s = rd_strerror(rd_errors[i]);
		ck_assert_int_lt(rd_errors[i], -200);
		ck_assert_str_ne(s, "unknown error");
		for (size_t j = 0; j < i; j++) {
			ck_assert_int_ne(rd_errors[i], rd_errors[j]);
			ck_assert_str_ne(s, rd_strerror(rd_errors[j]));
		}
		for (int e = 1; e < 200; e++)
			ck_assert_str_ne(s, rd_strerror(-e));
	}
}
END_TEST

/* Any other negative value is a negated errno, named as the C library does. */
START_TEST(strerror_names_negated_errno_values)
{
	ck_assert_str_eq(rd_strerror(-ENOENT), strerror(ENOENT));
	ck_assert_str_eq(rd_strerror(-ENOENT), "No such file or directory");
	ck_assert_str_eq(rd_strerror(-EAGAIN), strerror(EAGAIN));
	ck_assert_str_eq(rd_strerror(-ENOBUFS), strerror(ENOBUFS));
	ck_assert_str_eq(rd_strerror(-EADDRINUSE), strerror(EADDRINUSE));
	/* -ENOMEM is the kernel's text, RD_ERR_NOMEM the library's. */
	ck_assert_str_ne(rd_strerror(-ENOMEM), rd_strerror(RD_ERR_NOMEM));
	ck_assert_str_eq(rd_strerror(-999), "unknown error");
	ck_assert_str_eq(rd_strerror(RD_CARP_REFUSED(RD_CARP_STAT_BADTTL)), "unknown error");
	ck_assert_str_eq(rd_strerror(INT_MIN), "unknown error");
	ck_assert_str_eq(rd_strerror(7), "unknown error");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, cksum_matches_rfc1071_example);
	tcase_add_test(tc, cksum_of_buffer_with_its_checksum_is_zero);
	tcase_add_test(tc, cksum_incremental_equals_one_shot);
	tcase_add_test(tc, cksum_odd_length_pads_with_zero);
	tcase_add_test(tc, addr_parse_and_format_round_trip);
	tcase_add_test(tc, addr_cmp_is_numeric_order);
	tcase_add_test(tc, prefix_0_matches_every_address_of_the_family);
	tcase_add_test(tc, prefix_32_and_128_are_equality);
	tcase_add_test(tc, prefix_23_splits_inside_the_third_byte);
	tcase_add_test(tc, prefix_65_splits_inside_the_ninth_byte);
	tcase_add_test(tc, prefix_ignores_the_networks_host_bits);
	tcase_add_test(tc, prefix_longer_than_the_address_is_the_whole_address);
	tcase_add_test(tc, prefix_of_ipv4_never_reads_past_four_bytes);
	tcase_add_test(tc, prefix_across_families_never_matches);
	tcase_add_test(tc, netmask_sets_leading_bits);
	tcase_add_test(tc, netmask_of_no_family_is_invalid_and_writes_nothing);
	tcase_add_test(tc, prefix_match_agrees_with_netmask_for_every_length);
	tcase_add_test(tc, error_codes_have_a_range_of_their_own_and_names);
	tcase_add_test(tc, strerror_names_negated_errno_values);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
