/*
 * examples/pcap-firewall end to end: write a small capture with the
 * library's pcap writer, run the example on it with different limits, and
 * check the totals it prints.
 *
 * The capture (16 packets, Ethernet, 10 ms apart within one second):
 *   A 10.0.0.1 opens three TCP connections to 192.0.2.10:80 (SYN, SYN-ACK,
 *     ACK each), then sends data on the first;
 *   B 10.0.0.2 sends four UDP packets to port 53 from four ports;
 *   C 10.0.0.3 sends a SYN to port 22 and a lone ACK to port 80.
 *
 * usage: test-pcap-firewall PATH-TO-pcap-firewall
 * PCAP_FW_SHOW=1 prints each run's output.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test_tmpdir.h"
#include "redund/common.h"
#include "redund/pcap.h"

static const char *exe;
static char dir[256], pcap_path[300];

/* ---- packet building ---- */

static const struct rd_addr *A, *B, *C, *SRV;
static struct rd_addr addrs[4];

static size_t ip4(uint8_t *b, const struct rd_addr *s, const struct rd_addr *d, uint8_t proto,
                  const uint8_t *l4, size_t l4len)
{
	uint8_t pseudo[12];
	uint32_t sum;
	uint16_t ck;
	size_t len = 20 + l4len;

	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[6] = 0x40; /* DF */
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, s->u.v4, 4);
	memcpy(b + 16, d->u.v4, 4);
	ck = rd_cksum(b, 20);
	b[10] = (uint8_t)(ck >> 8);
	b[11] = (uint8_t)ck;
	memcpy(b + 20, l4, l4len);
	/* The transport checksum over the pseudo header. */
	memcpy(pseudo, s->u.v4, 4);
	memcpy(pseudo + 4, d->u.v4, 4);
	pseudo[8] = 0;
	pseudo[9] = proto;
	pseudo[10] = (uint8_t)(l4len >> 8);
	pseudo[11] = (uint8_t)l4len;
	sum = rd_cksum_add(0, pseudo, sizeof(pseudo));
	sum = rd_cksum_add(sum, b + 20, l4len);
	ck = rd_cksum_fold(sum);
	if (proto == 17 && ck == 0)
		ck = 0xffff;
	b[20 + (proto == 6 ? 16 : 6)] = (uint8_t)(ck >> 8);
	b[20 + (proto == 6 ? 17 : 7)] = (uint8_t)ck;
	return len;
}

static size_t ip6(uint8_t *b, const struct rd_addr *s, const struct rd_addr *d, uint8_t proto,
                  const uint8_t *l4, size_t l4len)
{
	uint8_t pseudo[40];
	uint32_t sum;
	uint16_t ck;

	memset(b, 0, 40);
	b[0] = 0x60;
	b[4] = (uint8_t)(l4len >> 8);
	b[5] = (uint8_t)l4len;
	b[6] = proto;
	b[7] = 64;
	memcpy(b + 8, s->u.v6, 16);
	memcpy(b + 24, d->u.v6, 16);
	memcpy(b + 40, l4, l4len);
	memset(pseudo, 0, sizeof(pseudo));
	memcpy(pseudo, s->u.v6, 16);
	memcpy(pseudo + 16, d->u.v6, 16);
	pseudo[34] = (uint8_t)(l4len >> 8);
	pseudo[35] = (uint8_t)l4len;
	pseudo[39] = proto;
	sum = rd_cksum_add(0, pseudo, sizeof(pseudo));
	sum = rd_cksum_add(sum, b + 40, l4len);
	ck = rd_cksum_fold(sum);
	b[40 + 16] = (uint8_t)(ck >> 8);
	b[40 + 17] = (uint8_t)ck;
	return 40 + l4len;
}

static struct rd_pcap_writer *w;
static rd_time_t ts;

static void put(const uint8_t *ip, size_t len)
{
	ck_assert_int_eq(rd_pcap_write_ip(w, ts, NULL, ip, len), 0);
	ts += 10 * RD_MSEC;
}

static void tcp(const struct rd_addr *s, uint16_t sp, const struct rd_addr *d, uint16_t dp,
                uint32_t seq, uint32_t ack, uint8_t flags, size_t payload)
{
	uint8_t l4[64], pkt[160];

	memset(l4, 0, sizeof(l4));
	l4[0] = (uint8_t)(sp >> 8);
	l4[1] = (uint8_t)sp;
	l4[2] = (uint8_t)(dp >> 8);
	l4[3] = (uint8_t)dp;
	for (int i = 0; i < 4; i++) {
		l4[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		l4[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	l4[12] = 5 << 4;
	l4[13] = flags;
	l4[14] = 0xff; /* window 65535 */
	l4[15] = 0xff;
	for (size_t i = 0; i < payload; i++)
		l4[20 + i] = (uint8_t)('a' + i);
	if (s->af == RD_AF_INET6)
		put(pkt, ip6(pkt, s, d, 6, l4, 20 + payload));
	else
		put(pkt, ip4(pkt, s, d, 6, l4, 20 + payload));
}

static void udp(const struct rd_addr *s, uint16_t sp, const struct rd_addr *d, uint16_t dp)
{
	uint8_t l4[16], pkt[64];

	memset(l4, 0, sizeof(l4));
	l4[0] = (uint8_t)(sp >> 8);
	l4[1] = (uint8_t)sp;
	l4[2] = (uint8_t)(dp >> 8);
	l4[3] = (uint8_t)dp;
	l4[5] = 12;
	memcpy(l4 + 8, "dns?", 4);
	put(pkt, ip4(pkt, s, d, 17, l4, 12));
}

#define SYN 0x02
#define ACK 0x10
#define PSH 0x08

static void write_capture(void)
{
	addrs[0] = rd_addr_v4(0x0a000001);
	addrs[1] = rd_addr_v4(0x0a000002);
	addrs[2] = rd_addr_v4(0x0a000003);
	addrs[3] = rd_addr_v4(0xc000020a);
	A = &addrs[0];
	B = &addrs[1];
	C = &addrs[2];
	SRV = &addrs[3];
	ts = 1700000000ULL * RD_SEC;
	ck_assert_int_eq(rd_pcap_writer_open(pcap_path, RD_PCAP_LINKTYPE_ETHERNET, NULL, &w), 0);
	for (uint32_t k = 1; k <= 3; k++) {
		uint16_t sp = (uint16_t)(40000 + k);
		tcp(A, sp, SRV, 80, 1000 * k, 0, SYN, 0);
		tcp(SRV, 80, A, sp, 5000 * k, 1000 * k + 1, SYN | ACK, 0);
		tcp(A, sp, SRV, 80, 1000 * k + 1, 5000 * k + 1, ACK, 0);
	}
	tcp(A, 40001, SRV, 80, 1001, 5001, PSH | ACK, 10);
	for (uint16_t k = 1; k <= 4; k++)
		udp(B, (uint16_t)(50000 + k), SRV, 53);
	tcp(C, 40100, SRV, 22, 77, 0, SYN, 0);
	tcp(C, 40101, SRV, 80, 78, 99, ACK, 0);
	ck_assert_int_eq(rd_pcap_writer_close(w), 0);
}

/*
 * An IPv6 capture: client 2001:db8::1 opens two connections to
 * [2001:db8:1::80]:443, then sends data on the first.
 */
static void write_capture6(void)
{
	struct rd_addr cl, sv;

	ck_assert_int_eq(rd_addr_parse("2001:db8::1", &cl), 0);
	ck_assert_int_eq(rd_addr_parse("2001:db8:1::80", &sv), 0);
	ts = 1700000000ULL * RD_SEC;
	ck_assert_int_eq(rd_pcap_writer_open(pcap_path, RD_PCAP_LINKTYPE_RAW, NULL, &w), 0);
	for (uint32_t k = 1; k <= 2; k++) {
		uint16_t sp = (uint16_t)(50000 + k);
		tcp(&cl, sp, &sv, 443, 1000 * k, 0, SYN, 0);
		tcp(&sv, 443, &cl, sp, 5000 * k, 1000 * k + 1, SYN | ACK, 0);
		tcp(&cl, sp, &sv, 443, 1000 * k + 1, 5000 * k + 1, ACK, 0);
	}
	tcp(&cl, 50001, &sv, 443, 1001, 5001, PSH | ACK, 10);
	ck_assert_int_eq(rd_pcap_writer_close(w), 0);
}

/* ---- running the example ---- */

static void run_on(const char *args);

#define MAXLINES 256

static char lines[MAXLINES][256];
static int nlines;

static void run(const char *args)
{
	write_capture();
	run_on(args);
}

static void run_on(const char *args)
{
	char cmd[1024];
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "'%s' %s '%s'", exe, args, pcap_path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	nlines = 0;
	while (nlines < MAXLINES && fgets(lines[nlines], sizeof(lines[0]), p) != NULL) {
		lines[nlines][strcspn(lines[nlines], "\n")] = '\0';
		nlines++;
	}
	status = pclose(p);
	if (getenv("PCAP_FW_SHOW") != NULL) /* for debugging: show the run */
		for (int i = 0; i < nlines; i++)
			fprintf(stderr, "%s\n", lines[i]);
	ck_assert_msg(status == 0, "%s exited with %d", cmd, status);
}

/* The value of a "name: value" total line. */
static long total(const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < nlines; i++)
		if (strncmp(lines[i], name, n) == 0 && lines[i][n] == ':')
			return strtol(lines[i] + n + 1, NULL, 10);
	ck_abort_msg("no total '%s' in the output", name);
	return -1;
}

/* The verbose line of packet n (1-based). */
static const char *verdict(int n)
{
	char prefix[16];

	snprintf(prefix, sizeof(prefix), "%d ", n);
	for (int i = 0; i < nlines; i++)
		if (strncmp(lines[i], prefix, strlen(prefix)) == 0)
			return lines[i];
	ck_abort_msg("no verbose line for packet %d", n);
	return "";
}

START_TEST(without_source_limits_every_allowed_flow_passes)
{
	run("--allow tcp:80,udp:53 --verbose");
	ck_assert_int_eq(total("packets"), 16);
	ck_assert_int_eq(total("state-created"), 7);
	ck_assert_int_eq(total("passed"), 7);
	ck_assert_int_eq(total("blocked"), 2);
	ck_assert_int_eq(total("blocked no-rule"), 2);
	ck_assert_int_eq(total("states"), 7);
	ck_assert_int_eq(total("src src-limit"), 0);
	ck_assert_ptr_nonnull(strstr(verdict(15), "blocked (not allowed)")); /* port 22 */
	ck_assert_ptr_nonnull(strstr(verdict(16), "blocked (flags S/SA)"));  /* lone ACK */
	ck_assert_ptr_nonnull(strstr(verdict(2), "out 192.0.2.10:80 > 10.0.0.1:40001"));
}
END_TEST

START_TEST(max_src_conn_overload_flush_and_max_src_states)
{
	run("--allow tcp:80,udp:53 --max-src-states 3 --max-src-conn 2 --overload flush "
	    "--verbose");
	ck_assert_int_eq(total("packets"), 16);
	ck_assert_int_eq(total("state-created"), 6);
	ck_assert_int_eq(total("passed"), 5);
	ck_assert_int_eq(total("blocked"), 5);
	ck_assert_int_eq(total("blocked state"), 1);          /* A's third handshake */
	ck_assert_int_eq(total("blocked overload-table"), 1); /* A's data after the flush */
	ck_assert_int_eq(total("blocked src-limit"), 1);      /* B's fourth flow */
	ck_assert_int_eq(total("blocked no-rule"), 2);
	ck_assert_int_eq(total("reason src-limit"), 2);
	ck_assert_int_eq(total("src src-limit"), 2);
	ck_assert_int_eq(total("src max-src-conn"), 1);
	ck_assert_int_eq(total("src max-src-states"), 1);
	ck_assert_int_eq(total("src overload table insertion"), 1);
	ck_assert_int_eq(total("src overload flush states"), 1);
	ck_assert_int_eq(total("overload table"), 1);
	ck_assert_int_eq(total("states"), 3); /* A's three are gone, B's three stay */
	ck_assert_int_eq(total("state removals"), 3);
	ck_assert_ptr_nonnull(strstr(verdict(9), "blocked (src-limit: max-src-conn)"));
	ck_assert_ptr_nonnull(strstr(verdict(10), "blocked (overload-table)"));
	ck_assert_ptr_nonnull(strstr(verdict(14), "blocked (max-src-states)"));
}
END_TEST

START_TEST(max_src_conn_rate_overload_table_without_flush)
{
	run("--allow tcp:80,udp:53 --max-src-conn-rate 1/10 --overload table --verbose");
	ck_assert_int_eq(total("packets"), 16);
	ck_assert_int_eq(total("state-created"), 6);
	ck_assert_int_eq(total("passed"), 4);
	ck_assert_int_eq(total("blocked"), 6);
	ck_assert_int_eq(total("src max-src-conn-rate"), 1);
	ck_assert_int_eq(total("src overload table insertion"), 1);
	ck_assert_int_eq(total("src overload flush states"), 0);
	ck_assert_int_eq(total("blocked overload-table"), 2); /* A's third SYN and ACK */
	ck_assert_ptr_nonnull(strstr(verdict(6), "blocked (src-limit: max-src-conn-rate)"));
	/* Without flush A's first connection keeps working. */
	ck_assert_ptr_nonnull(strstr(verdict(10), ": pass"));
	ck_assert_int_eq(total("states"), 5);
}
END_TEST

START_TEST(max_src_nodes_admits_a_limited_number_of_sources)
{
	run("--allow-all --max-src-nodes 1");
	ck_assert_int_eq(total("state-created"), 3);     /* A only */
	ck_assert_int_eq(total("src max-src-nodes"), 5); /* B four times, C's SYN to 22 */
	ck_assert_int_eq(total("blocked no-rule"), 1);   /* C's lone ACK */
}
END_TEST

START_TEST(table_state_limit_blocks_as_memory)
{
	run("--allow-all --limit-states 2 --verbose");
	ck_assert_int_eq(total("state-created"), 2);
	ck_assert_int_eq(total("blocked create"), 6); /* A's third, B's four, C's SYN */
	ck_assert_int_eq(total("reason memory"), 6);
	ck_assert_int_eq(total("blocked no-rule"), 3); /* A's third SYN-ACK and ACK, C's ACK */
	ck_assert_int_eq(total("passed"), 5);
	ck_assert_int_eq(total("src-nodes"), 0); /* no source tracking asked for */
	ck_assert_ptr_nonnull(strstr(verdict(7), "blocked (memory)"));
}
END_TEST

START_TEST(sticky_route_to_keeps_a_source_on_its_gateway)
{
	run("--allow-all --route-to 198.51.100.1,198.51.100.2 --sticky --verbose");
	/* A's connections all go through the first gateway, B's through the second. */
	ck_assert_ptr_nonnull(strstr(verdict(1), "state-created (route-to 198.51.100.1)"));
	ck_assert_ptr_nonnull(strstr(verdict(4), "state-created (route-to 198.51.100.1)"));
	ck_assert_ptr_nonnull(strstr(verdict(7), "state-created (route-to 198.51.100.1)"));
	for (int i = 11; i <= 14; i++)
		ck_assert_ptr_nonnull(strstr(verdict(i), "state-created (route-to 198.51.100.2)"));
	ck_assert_ptr_nonnull(strstr(verdict(15), "state-created (route-to 198.51.100.1)"));
	ck_assert_int_eq(total("route-to 198.51.100.1/32"), 4);
	ck_assert_int_eq(total("route-to 198.51.100.2/32"), 4);
	ck_assert_int_eq(total("src-nodes"), 3); /* one sticky node per source */
}
END_TEST

START_TEST(plain_round_robin_route_to_alternates)
{
	run("--allow-all --route-to 198.51.100.1,198.51.100.2 --verbose");
	ck_assert_ptr_nonnull(strstr(verdict(1), "(route-to 198.51.100.1)"));
	ck_assert_ptr_nonnull(strstr(verdict(4), "(route-to 198.51.100.2)"));
	ck_assert_ptr_nonnull(strstr(verdict(7), "(route-to 198.51.100.1)"));
	ck_assert_int_eq(total("src-nodes"), 0);
}
END_TEST

START_TEST(least_states_route_to_balances_live_states)
{
	run("--allow-all --route-to 198.51.100.1,198.51.100.2 --pool least-states --verbose");
	ck_assert_int_eq(total("route-to 198.51.100.1/32"), 4);
	ck_assert_int_eq(total("route-to 198.51.100.2/32"), 4);
}
END_TEST

START_TEST(ipv6_source_overload_flushes_its_states)
{
	write_capture6();
	run_on("--allow tcp:443 --max-src-conn 1 --overload flush --verbose");
	ck_assert_int_eq(total("packets"), 7);
	ck_assert_int_eq(total("state-created"), 2);
	ck_assert_int_eq(total("src max-src-conn"), 1);
	ck_assert_int_eq(total("src overload flush states"), 1);
	ck_assert_ptr_nonnull(strstr(verdict(6), "blocked (src-limit: max-src-conn)"));
	ck_assert_ptr_nonnull(strstr(verdict(7), "blocked (overload-table)"));
	ck_assert_ptr_nonnull(strstr(verdict(2), "out [2001:db8:1::80]:443 > [2001:db8::1]:50001"));
	ck_assert_int_eq(total("states"), 0);
}
END_TEST

static void setup(void)
{
	ck_assert_ptr_nonnull(rd_test_mkdtemp("pcap-fw", dir, sizeof(dir)));
	snprintf(pcap_path, sizeof(pcap_path), "%s/capture.pcap", dir);
}

static void teardown(void)
{
	unlink(pcap_path);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	Suite *s = suite_create("pcap-firewall");
	TCase *c = tcase_create("totals");
	SRunner *sr;
	int failed;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-pcap-firewall\n", argv[0]);
		return 2;
	}
	exe = argv[1];
	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, without_source_limits_every_allowed_flow_passes);
	tcase_add_test(c, max_src_conn_overload_flush_and_max_src_states);
	tcase_add_test(c, max_src_conn_rate_overload_table_without_flush);
	tcase_add_test(c, max_src_nodes_admits_a_limited_number_of_sources);
	tcase_add_test(c, table_state_limit_blocks_as_memory);
	tcase_add_test(c, sticky_route_to_keeps_a_source_on_its_gateway);
	tcase_add_test(c, plain_round_robin_route_to_alternates);
	tcase_add_test(c, least_states_route_to_balances_live_states);
	tcase_add_test(c, ipv6_source_overload_flushes_its_states);
	suite_add_tcase(s, c);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
