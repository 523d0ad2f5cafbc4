/*
 * Unit tests of syncd's filters (syncd/filter.c): the keywords' values,
 * one policy a kind, and the matching with its counters: accept and ignore
 * of each kind (address prefixes on either end and either tuple, protocol,
 * zone, mark under its mask, status bits and TCP states), TCP state rules
 * not applying to other protocols, the kinds' order, and the keywords
 * through the config parser (file and command line). Covers conntrackd
 * users' set-ups: `Address Ignore` of the firewalls' own addresses,
 * `Protocol Accept { TCP UDP }`, `State Accept { ESTABLISHED ... for TCP }`
 * (freifunk-berlin/bbb-configs#15, vyos accept-protocol).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "filter.h"
#include "syncd.h"

static char err[512];

static struct sd_filter_entry entry(const char *src, const char *dst, uint8_t proto)
{
	struct sd_filter_entry e = {0};
	struct rd_addr a, b;

	ck_assert_int_eq(rd_addr_parse(src, &a), 0);
	ck_assert_int_eq(rd_addr_parse(dst, &b), 0);
	e.af = a.af;
	e.naddr = 4;
	memcpy(e.addr[0], a.u.v6, 16);
	memcpy(e.addr[1], b.u.v6, 16);
	memcpy(e.addr[2], b.u.v6, 16); /* reply tuple, not translated */
	memcpy(e.addr[3], a.u.v6, 16);
	e.proto = proto;
	e.tcp_state = proto == 6 ? 3 : -1; /* established */
	return e;
}

static void add(struct sd_filter *f, const char *key, const char *arg)
{
	ck_assert_msg(sd_filter_add(f, key, arg, err, sizeof(err)) == 0, "%s %s: %s", key, arg,
	              err);
}

static void refused(const char *key, const char *arg, const char *want)
{
	struct sd_filter f = {0};

	ck_assert_msg(sd_filter_add(&f, key, arg, err, sizeof(err)) == -1, "%s %s accepted", key,
	              arg);
	ck_assert_msg(strstr(err, want) != NULL, "%s %s: '%s' lacks '%s'", key, arg, err, want);
	ck_assert_uint_eq(f.n, 0);
	sd_filter_free(&f);
}

START_TEST(test_values)
{
	struct sd_filter f = {0};

	add(&f, "accept-address", "10.1.2.3/8,2001:db8::1/32,192.0.2.7");
	ck_assert_uint_eq(f.n, 3);
	ck_assert_str_eq(f.rules[0].text, "accept-address 10.1.2.3/8");
	ck_assert_uint_eq(f.rules[0].u.net.addr.u.v4[0], 10);
	ck_assert_uint_eq(f.rules[0].u.net.addr.u.v4[1], 0); /* host bits cleared */
	ck_assert_uint_eq(f.rules[0].u.net.plen, 8);
	ck_assert_uint_eq(f.rules[1].u.net.plen, 32);
	ck_assert_uint_eq(f.rules[2].u.net.plen, 32); /* a host */
	add(&f, "ignore-protocol", "tcp,udp,icmpv6,47");
	ck_assert_uint_eq(f.rules[3].u.proto, 6);
	ck_assert_uint_eq(f.rules[4].u.proto, 17);
	ck_assert_uint_eq(f.rules[5].u.proto, 58);
	ck_assert_uint_eq(f.rules[6].u.proto, 47);
	add(&f, "accept-mark", "0x10/0xf0,7");
	ck_assert_uint_eq(f.rules[7].u.mark.value, 0x10);
	ck_assert_uint_eq(f.rules[7].u.mark.mask, 0xf0);
	ck_assert_uint_eq(f.rules[8].u.mark.mask, 0xffffffffu);
	add(&f, "accept-state", "assured,established");
	ck_assert_uint_eq(f.rules[9].u.state, 2);
	ck_assert_uint_eq(f.rules[10].u.state, SD_FILTER_TCP + 3);
	add(&f, "ignore-zone", "0,65535");
	ck_assert_uint_eq(f.rules[12].u.zone, 65535);
	sd_filter_free(&f);

	refused("accept-address", "10.0.0.0/33", "prefix");
	refused("accept-address", "2001:db8::/129", "prefix");
	refused("accept-address", "10.0.0.0/", "prefix");
	refused("accept-address", "host.example", "prefix");
	refused("accept-protocol", "256", "protocol");
	refused("accept-protocol", "tcpx", "protocol");
	refused("accept-zone", "65536", "zone");
	refused("accept-zone", "-1", "zone");
	refused("accept-mark", "1/0x1ffffffff", "mark");
	refused("accept-mark", "1/", "mark");
	refused("accept-state", "ESTABLISHEDX", "state");
	refused("accept-protocol", "tcp,,udp", "comma-separated");
	refused("accept-protocol", ",tcp", "comma-separated");
	refused("accept-protocol", "", "comma-separated");
	refused("accept-port", "80", "not a filter keyword");
	/* A refused list adds none of its good items either. */
	{
		struct sd_filter g = {0};

		ck_assert_int_eq(
		    sd_filter_add(&g, "accept-protocol", "tcp,bogus", err, sizeof(err)), -1);
		ck_assert_uint_eq(g.n, 0);
		sd_filter_free(&g);
	}
}
END_TEST

START_TEST(test_policy)
{
	struct sd_filter f = {0};

	add(&f, "accept-protocol", "tcp");
	add(&f, "ignore-address", "127.0.0.0/8");
	add(&f, "accept-protocol", "udp");
	ck_assert_int_eq(sd_filter_check_policy(&f, err, sizeof(err)), 0);
	add(&f, "ignore-protocol", "icmp");
	ck_assert_int_eq(sd_filter_check_policy(&f, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "protocol"));
	ck_assert_ptr_nonnull(strstr(err, "ignore-protocol icmp"));
	sd_filter_free(&f);
}
END_TEST

START_TEST(test_empty_passes)
{
	struct sd_filter f = {0};
	struct sd_filter_entry e = entry("10.0.0.1", "10.0.0.2", 17);

	ck_assert(sd_filter_match(&f, &e));
	ck_assert_uint_eq(f.passed, 1);
	ck_assert_uint_eq(f.ignored, 0);
}
END_TEST

START_TEST(test_address)
{
	struct sd_filter f = {0};
	struct sd_filter_entry a = entry("192.0.2.1", "198.51.100.9", 6);
	struct sd_filter_entry b = entry("198.51.100.9", "192.0.2.200", 6);
	struct sd_filter_entry c = entry("203.0.113.1", "198.51.100.9", 6);
	struct sd_filter_entry v6 = entry("2001:db8::1", "2001:db8:1::1", 6);

	add(&f, "ignore-address", "192.0.2.0/25,2001:db8:1::/48");
	ck_assert(!sd_filter_match(&f, &a)); /* source inside */
	ck_assert(sd_filter_match(&f, &b));  /* .200 is outside the /25 */
	ck_assert(sd_filter_match(&f, &c));
	ck_assert(!sd_filter_match(&f, &v6)); /* destination inside */
	ck_assert_uint_eq(f.rules[0].matched, 1);
	ck_assert_uint_eq(f.rules[1].matched, 1);
	ck_assert_uint_eq(f.ignored, 2);
	ck_assert_uint_eq(f.passed, 2);
	sd_filter_free(&f);

	/* Accept: one end inside is enough; a translated reply address counts too. */
	add(&f, "accept-address", "10.0.0.0/8");
	ck_assert(!sd_filter_match(&f, &c));
	ck_assert_uint_eq(f.not_accepted[SD_F_ADDRESS], 1);
	memcpy(c.addr[2], (uint8_t[4]){10, 9, 9, 9}, 4); /* DNAT to 10.9.9.9 */
	ck_assert(sd_filter_match(&f, &c));
	ck_assert_uint_eq(f.rules[0].matched, 1);
	/* An IPv4 prefix never matches IPv6 entries (same leading bytes). */
	v6.addr[0][0] = 10;
	ck_assert(!sd_filter_match(&f, &v6));
	sd_filter_free(&f);
}
END_TEST

START_TEST(test_protocol_zone_mark)
{
	struct sd_filter f = {0};
	struct sd_filter_entry t = entry("10.0.0.1", "10.0.0.2", 6);
	struct sd_filter_entry u = entry("10.0.0.1", "10.0.0.2", 17);
	struct sd_filter_entry i = entry("10.0.0.1", "10.0.0.2", 1);

	add(&f, "accept-protocol", "tcp,udp");
	ck_assert(sd_filter_match(&f, &t));
	ck_assert(sd_filter_match(&f, &u));
	ck_assert(!sd_filter_match(&f, &i));
	ck_assert_uint_eq(f.not_accepted[SD_F_PROTOCOL], 1);
	ck_assert_uint_eq(f.rules[0].matched, 1);
	ck_assert_uint_eq(f.rules[1].matched, 1);
	sd_filter_free(&f);

	add(&f, "ignore-zone", "7");
	t.zone = 7;
	ck_assert(!sd_filter_match(&f, &t));
	t.zone = 0;
	ck_assert(sd_filter_match(&f, &t));
	sd_filter_free(&f);

	add(&f, "accept-mark", "0x100/0xff00");
	t.mark = 0x1ff;
	ck_assert(sd_filter_match(&f, &t));
	t.mark = 0x200;
	ck_assert(!sd_filter_match(&f, &t));
	t.mark = 0;
	ck_assert(!sd_filter_match(&f, &t));
	ck_assert_uint_eq(f.not_accepted[SD_F_MARK], 2);
	sd_filter_free(&f);

	/* A mark of 0 is a value too: ignore the unmarked. */
	add(&f, "ignore-mark", "0");
	ck_assert(!sd_filter_match(&f, &t));
	t.mark = 1;
	ck_assert(sd_filter_match(&f, &t));
	sd_filter_free(&f);
}
END_TEST

START_TEST(test_state)
{
	struct sd_filter f = {0};
	struct sd_filter_entry t = entry("10.0.0.1", "10.0.0.2", 6);
	struct sd_filter_entry u = entry("10.0.0.1", "10.0.0.2", 17);

	add(&f, "accept-state", "assured");
	t.status = 1u << 1; /* seen reply only */
	ck_assert(!sd_filter_match(&f, &t));
	t.status |= 1u << 2;
	ck_assert(sd_filter_match(&f, &t));
	ck_assert(!sd_filter_match(&f, &u)); /* a status bit applies to every protocol */
	sd_filter_free(&f);

	/* TCP states: conntrackd's `State Accept { ESTABLISHED for TCP }`. */
	add(&f, "accept-state", "established,time-wait");
	t.tcp_state = 1; /* syn-sent */
	ck_assert(!sd_filter_match(&f, &t));
	t.tcp_state = 7;
	ck_assert(sd_filter_match(&f, &t));
	ck_assert_uint_eq(f.rules[1].matched, 1);
	t.tcp_state = -1; /* an update without the TCP state: not known to match */
	ck_assert(!sd_filter_match(&f, &t));
	ck_assert(sd_filter_match(&f, &u)); /* UDP: no rule applies, the kind passes */
	ck_assert_uint_eq(f.not_accepted[SD_F_STATE], 2);
	sd_filter_free(&f);

	add(&f, "ignore-state", "syn-sent");
	t.tcp_state = 1;
	ck_assert(!sd_filter_match(&f, &t));
	ck_assert(sd_filter_match(&f, &u));
	sd_filter_free(&f);
}
END_TEST

START_TEST(test_kinds_order)
{
	struct sd_filter f = {0};
	struct sd_filter_entry t = entry("127.0.0.1", "10.0.0.2", 1);

	/* Both kinds refuse: the address kind is checked first and decides. */
	add(&f, "accept-protocol", "tcp");
	add(&f, "ignore-address", "127.0.0.0/8");
	ck_assert(!sd_filter_match(&f, &t));
	ck_assert_uint_eq(f.rules[1].matched, 1);
	ck_assert_uint_eq(f.not_accepted[SD_F_PROTOCOL], 0);
	ck_assert_uint_eq(f.ignored, 1);
	/* Every kind must pass. */
	t = entry("10.0.0.1", "10.0.0.2", 6);
	ck_assert(sd_filter_match(&f, &t));
	ck_assert_uint_eq(f.rules[0].matched, 1);
	ck_assert_uint_eq(f.passed, 1);
	sd_filter_free(&f);
}
END_TEST

START_TEST(test_config_keywords)
{
	struct sd_config cfg;
	const char text[] = "peer 192.0.2.2\n"
	                    "mode plain\n"
	                    "ignore-address 127.0.0.0/8,::1\n"
	                    "accept-protocol tcp\n"
	                    "accept-state assured\n";
	char e[SD_ERR_LEN];

	sd_config_init(&cfg);
	ck_assert_msg(sd_config_parse(&cfg, "t.conf", text, sizeof(text) - 1, e) == 0, "%s", e);
	ck_assert_uint_eq(cfg.filter.n, 4);
	ck_assert_msg(sd_config_check(&cfg, e) == 0, "%s", e);
	ck_assert_int_eq(sd_config_set(&cfg, "ignore-protocol", "udp", e), 0);
	ck_assert_int_eq(sd_config_check(&cfg, e), -1);
	ck_assert_ptr_nonnull(strstr(e, "protocol"));
	sd_config_free(&cfg);

	sd_config_init(&cfg);
	ck_assert_int_eq(sd_config_parse(&cfg, "t.conf", "accept-zone 70000\n", 18, e), -1);
	ck_assert_msg(strstr(e, "t.conf:1: accept-zone: expected a conntrack zone") != NULL, "%s",
	              e);
	sd_config_free(&cfg);

	{
		const char *argv[] = {"syncd",         "--peer", "192.0.2.2",
		                      "--mode",        "plain",  "--accept-mark=0x1/0x1",
		                      "--ignore-zone", "3"};

		ck_assert_msg(sd_options_parse(8, (char **)argv, &cfg, e) == 0, "%s", e);
		ck_assert_uint_eq(cfg.filter.n, 2);
		ck_assert_str_eq(cfg.filter.rules[0].text, "accept-mark 0x1/0x1");
		sd_config_free(&cfg);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("syncd-filter");
	TCase *tc = tcase_create("filter");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_empty_passes);
	tcase_add_test(tc, test_address);
	tcase_add_test(tc, test_protocol_zone_mark);
	tcase_add_test(tc, test_state);
	tcase_add_test(tc, test_kinds_order);
	tcase_add_test(tc, test_config_keywords);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
