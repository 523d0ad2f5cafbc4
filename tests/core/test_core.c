/* Unit tests for the core helpers: checksum, addresses, errors. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
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

START_TEST(strerror_names_every_code)
{
	for (int e = 0; e >= RD_ERR_CRYPTO; e--)
		ck_assert_str_ne(rd_strerror(e), "unknown error");
	ck_assert_str_eq(rd_strerror(-999), "unknown error");
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
	tcase_add_test(tc, strerror_names_every_code);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
