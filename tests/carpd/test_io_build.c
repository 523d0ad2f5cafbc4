/* Unit tests of the io module's announcement builders (gratuitous ARP, NA). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "redund/io.h"

static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

START_TEST(arp_announcement_is_a_request_with_sender_and_target_the_address)
{
	const uint8_t ip[4] = {10, 77, 0, 100};
	const uint8_t want[28] = {0x00, 0x01, 0x08, 0x00, 6,  4,  0x00, 0x01, 0x02, 0x11,
	                          0x22, 0x33, 0x44, 0x55, 10, 77, 0,    100,  0,    0,
	                          0,    0,    0,    0,    10, 77, 0,    100};
	uint8_t out[28];

	memset(out, 0xaa, sizeof(out));
	rd_io_arp_build(out, mac, ip);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(neighbour_advertisement_has_override_target_and_lladdr_option)
{
	uint8_t target[16] = {0xfd, 0x77};
	uint8_t out[32];

	target[15] = 0x01;
	memset(out, 0xaa, sizeof(out));
	rd_io_na_build(out, target, mac, false);
	ck_assert_uint_eq(out[0], 136);        /* neighbour advertisement */
	ck_assert_uint_eq(out[1], 0);          /* code */
	ck_assert_uint_eq(out[2] | out[3], 0); /* checksum left to the kernel */
	ck_assert_uint_eq(out[4], 0x20);       /* Override only: not solicited, not router */
	ck_assert_uint_eq(out[5] | out[6] | out[7], 0);
	ck_assert_mem_eq(out + 8, target, 16);
	ck_assert_uint_eq(out[24], 2); /* target link-layer address option */
	ck_assert_uint_eq(out[25], 1); /* 8 bytes */
	ck_assert_mem_eq(out + 26, mac, 6);
}
END_TEST

START_TEST(neighbour_advertisement_router_flag_when_asked)
{
	uint8_t target[16] = {0};
	uint8_t out[32];

	rd_io_na_build(out, target, mac, true);
	ck_assert_uint_eq(out[4], 0xa0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("io-build");
	TCase *tc = tcase_create("builders");

	tcase_add_test(tc, arp_announcement_is_a_request_with_sender_and_target_the_address);
	tcase_add_test(tc, neighbour_advertisement_has_override_target_and_lladdr_option);
	tcase_add_test(tc, neighbour_advertisement_router_flag_when_asked);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
