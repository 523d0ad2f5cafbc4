/*
 * The sync transports (redund/io_sync.h) over the loopback interface: two
 * secure-mode (UDP) transports bound to 127.0.0.1 and 127.0.0.2 on one
 * port, plain mode (raw protocol 240) when run as root, configuration
 * refusals, and the raw IPv4 header check.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redund/io_sync.h"
#include "redund/pfsync.h"

/* One counter of a transport, through rd_io_sync_stats. */
static uint64_t io_stat(const struct rd_io_sync *io, int which)
{
	uint64_t v[RD_IO_SYNC_STAT_COUNT];

	rd_io_sync_stats(io, v);
	return v[which];
}

static uint16_t port;
static struct rd_io_sync *a, *b;

/* a on 127.0.0.1 and b on 127.0.0.2, each the other's peer; b's options. */
static void open_pair(bool check_ttl, size_t b_max_dgram)
{
	struct rd_io_sync_config ca, cb;

	rd_io_sync_config_default(&ca);
	rd_io_sync_config_default(&cb);
	ck_assert_int_eq(ca.mode, RD_IO_SYNC_SECURE);
	ck_assert_uint_eq(ca.bufsize, RD_IO_SYNC_BUFSIZE);
	ck_assert(!ca.check_ttl && !ca.multicast_loop);
	ca.multicast = cb.multicast = false; /* unicast between the two */
	ca.port = cb.port = port;
	rd_addr_parse("127.0.0.1", &ca.local);
	rd_addr_parse("127.0.0.2", &ca.peers[0]);
	ca.npeers = 1;
	cb.local = ca.peers[0];
	cb.peers[0] = ca.local;
	cb.npeers = 1;
	cb.check_ttl = check_ttl;
	cb.max_dgram = b_max_dgram;
	ck_assert_int_eq(rd_io_sync_open(&ca, &a), 0);
	ck_assert_int_eq(rd_io_sync_open(&cb, &b), 0);
}

static void setup(void)
{
	port = (uint16_t)(20000 + getpid() % 20000);
	a = b = NULL;
}

static void teardown(void)
{
	rd_io_sync_close(a);
	rd_io_sync_close(b);
}

/*
 * Receive until n good datagrams or 2 s; returns how many arrived. The
 * bytes of out[i] are valid only until the next receive: first[i] keeps
 * each datagram's first 4 bytes (may be NULL).
 */
static int recv_n4(struct rd_io_sync *io, struct rd_io_sync_msg *out, int n, uint32_t *first)
{
	int got = 0;

	for (int tries = 0; got < n && tries < 200; tries++) {
		struct pollfd p = {.fd = rd_io_sync_fd(io), .events = POLLIN};
		struct rd_io_sync_msg m[64];
		int k;

		poll(&p, 1, 10);
		k = rd_io_sync_recv(io, m, 64);
		if (k == -EAGAIN)
			continue;
		ck_assert_int_ge(k, 0);
		for (int i = 0; i < k && got < n; i++) {
			if (first != NULL)
				memcpy(&first[got], m[i].data, m[i].len >= 4 ? 4 : 0);
			out[got++] = m[i];
		}
	}
	return got;
}

static int recv_n(struct rd_io_sync *io, struct rd_io_sync_msg *out, int n)
{
	return recv_n4(io, out, n, NULL);
}

START_TEST(test_secure_datagram_arrives_whole_with_its_source)
{
	struct rd_io_sync_msg m;
	const char msg[] = "an envelope";
	struct rd_addr src;

	open_pair(false, 0);
	ck_assert_int_eq(rd_io_sync_queue(a, NULL, msg, sizeof(msg)), 0);
	ck_assert_uint_eq(rd_io_sync_pending(a), 1);
	ck_assert_int_eq(rd_io_sync_flush(a), 0);
	ck_assert_uint_eq(rd_io_sync_pending(a), 0);
	ck_assert_int_eq(recv_n(b, &m, 1), 1);
	ck_assert_uint_eq(m.len, sizeof(msg));
	ck_assert_mem_eq(m.data, msg, sizeof(msg));
	rd_addr_parse("127.0.0.1", &src);
	ck_assert_int_eq(rd_addr_cmp(&m.from, &src), 0);
	ck_assert_uint_eq(m.from_port, port);
	ck_assert_uint_eq(io_stat(a, RD_IO_SYNC_STAT_OPACKETS), 1);
	ck_assert_uint_eq(io_stat(b, RD_IO_SYNC_STAT_IPACKETS), 1);
}
END_TEST

START_TEST(test_many_datagrams_batched_arrive_in_order)
{
	static struct rd_io_sync_msg m[300];
	static uint32_t first[300];
	uint32_t buf[64];
	int got;

	open_pair(false, 0);
	for (uint32_t i = 0; i < 300; i++) {
		for (int k = 0; k < 64; k++)
			buf[k] = i;
		/* The queue flushes itself when full. */
		ck_assert_int_eq(rd_io_sync_queue(a, NULL, buf, sizeof(buf)), 0);
	}
	ck_assert_int_eq(rd_io_sync_flush(a), 0);
	got = recv_n4(b, m, 300, first);
	ck_assert_int_eq(got, 300);
	for (uint32_t i = 0; i < 300; i++) {
		ck_assert_uint_eq(m[i].len, sizeof(buf));
		ck_assert_uint_eq(first[i], i);
	}
	ck_assert_uint_eq(io_stat(a, RD_IO_SYNC_STAT_OPACKETS), 300);
	ck_assert_uint_eq(io_stat(a, RD_IO_SYNC_STAT_ODROPS), 0);
}
END_TEST

START_TEST(test_ttl_check_refuses_and_counts_badttl)
{
	struct rd_io_sync_msg m[4];
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = 0};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), ttl = 64;

	open_pair(true, 0);
	to.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.2", &to.sin_addr);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
	ck_assert_int_eq(sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1);
	close(fd);
	/* Then a good one from the transport, which sends with TTL 255. */
	ck_assert_int_eq(rd_io_sync_queue(a, NULL, "good", 4), 0);
	ck_assert_int_eq(rd_io_sync_flush(a), 0);
	ck_assert_int_eq(recv_n(b, m, 1), 1);
	ck_assert_uint_eq(m[0].len, 4);
	ck_assert_uint_eq(m[0].ttl, 255);
	ck_assert_uint_eq(io_stat(b, RD_IO_SYNC_STAT_BADTTL), 1);
	ck_assert_uint_eq(io_stat(b, RD_IO_SYNC_STAT_IPACKETS), 1);
}
END_TEST

START_TEST(test_explicit_destination_and_size_limits)
{
	struct rd_io_sync_msg m;
	struct rd_addr to, v6;
	static uint8_t big[70000];

	open_pair(false, 0);
	rd_addr_parse("127.0.0.2", &to);
	rd_addr_parse("::1", &v6);
	ck_assert_int_eq(rd_io_sync_queue(a, &to, "direct", 6), 0);
	ck_assert_int_eq(rd_io_sync_queue(a, &v6, "x", 1), -EINVAL);
	ck_assert_int_eq(rd_io_sync_queue(a, NULL, big, sizeof(big)), -EMSGSIZE);
	ck_assert_int_eq(rd_io_sync_flush(a), 0);
	ck_assert_int_eq(recv_n(b, &m, 1), 1);
	ck_assert_uint_eq(m.len, 6);
}
END_TEST

START_TEST(test_open_refuses_bad_configurations)
{
	struct rd_io_sync_config c = {0};
	struct rd_io_sync *io = NULL;

	c.mode = RD_IO_SYNC_SECURE;
	ck_assert_int_eq(rd_io_sync_open(&c, &io), -EINVAL); /* nowhere to send */
	c.multicast = true;
	ck_assert_int_eq(rd_io_sync_open(&c, &io), -EINVAL); /* multicast without interface */
	c.multicast = false;
	rd_addr_parse("192.0.2.1", &c.peers[0]);
	rd_addr_parse("2001:db8::1", &c.peers[1]);
	c.npeers = 2;
	ck_assert_int_eq(rd_io_sync_open(&c, &io), -EINVAL); /* mixed families */
	c.npeers = 1;
	c.mode = 7;
	ck_assert_int_eq(rd_io_sync_open(&c, &io), -EINVAL); /* no such mode */
	c.mode = RD_IO_SYNC_PLAIN;
	c.peers[0] = c.peers[1];
	ck_assert_int_eq(rd_io_sync_open(&c, &io), -EINVAL); /* plain mode over IPv6 */
	ck_assert_ptr_null(io);
}
END_TEST

START_TEST(test_own_datagram_refused_and_counted_as_self)
{
	struct rd_io_sync_msg m[4];
	struct rd_addr self;

	open_pair(false, 0);
	/* b sends to its own address: what arrives comes from b's local address. */
	rd_addr_parse("127.0.0.2", &self);
	ck_assert_int_eq(rd_io_sync_queue(b, &self, "loop", 4), 0);
	ck_assert_int_eq(rd_io_sync_flush(b), 0);
	ck_assert_int_eq(rd_io_sync_queue(a, NULL, "good", 4), 0);
	ck_assert_int_eq(rd_io_sync_flush(a), 0);
	ck_assert_int_eq(recv_n(b, m, 1), 1);
	ck_assert_mem_eq(m[0].data, "good", 4);
	ck_assert_uint_eq(io_stat(b, RD_IO_SYNC_STAT_SELF), 1);
	ck_assert_uint_eq(io_stat(b, RD_IO_SYNC_STAT_IPACKETS), 1);
}
END_TEST

START_TEST(test_datagram_longer_than_max_dgram_refused_as_trunc)
{
	struct rd_io_sync_msg m[4];
	static uint8_t big[200];

	open_pair(false, 64); /* b's receive buffers hold 64 bytes a datagram */
	ck_assert_int_eq(rd_io_sync_queue(a, NULL, big, sizeof(big)), 0);
	ck_assert_int_eq(rd_io_sync_queue(a, NULL, big, 64), 0);
	ck_assert_int_eq(rd_io_sync_flush(a), 0);
	ck_assert_int_eq(recv_n(b, m, 1), 1);
	ck_assert_uint_eq(m[0].len, 64);
	ck_assert_uint_eq(io_stat(b, RD_IO_SYNC_STAT_TRUNC), 1);
	ck_assert_uint_eq(io_stat(b, RD_IO_SYNC_STAT_IPACKETS), 1);
}
END_TEST

START_TEST(test_overhead_is_ip_header_plus_udp_in_secure_mode)
{
	struct rd_io_sync_config c = {0};

	open_pair(false, 0);
	ck_assert_uint_eq(rd_io_sync_overhead(a), 20 + 8);
	/* IPv6 chosen from the multicast group alone (no peers, no local address). */
	c.mode = RD_IO_SYNC_SECURE;
	c.multicast = true;
	c.ifindex = 1; /* lo */
	c.port = port;
	rd_addr_parse("ff02::f0", &c.group);
	rd_io_sync_close(b);
	ck_assert_int_eq(rd_io_sync_open(&c, &b), 0);
	ck_assert_uint_eq(rd_io_sync_overhead(b), 40 + 8);
}
END_TEST

static void ip4(uint8_t *p, uint8_t vihl, uint8_t ttl, uint8_t proto)
{
	memset(p, 0, 20);
	p[0] = vihl;
	p[8] = ttl;
	p[9] = proto;
	p[12] = 10;
	p[15] = 1;
}

START_TEST(test_parse_ip4_strips_header_and_reads_ttl_and_source)
{
	uint8_t p[28];
	struct rd_io_sync_msg m;

	memset(&m, 0, sizeof(m));
	ip4(p, 0x45, 255, RD_PFSYNC_IPPROTO);
	memset(p + 20, 0xab, 8);
	ck_assert_int_eq(rd_io_sync_parse_ip4(p, sizeof(p), &m), -1);
	ck_assert_ptr_eq(m.data, p + 20);
	ck_assert_uint_eq(m.len, 8);
	ck_assert_uint_eq(m.ttl, 255);
	ck_assert_int_eq(m.from.af, RD_AF_INET);
	ck_assert_uint_eq(m.from.u.v4[0], 10);
	ck_assert_uint_eq(m.from.u.v4[3], 1);
}
END_TEST

START_TEST(test_parse_ip4_refuses_bad_headers_as_hdrops)
{
	uint8_t p[40];
	struct rd_io_sync_msg m;

	memset(&m, 0, sizeof(m));
	ip4(p, 0x45, 255, RD_PFSYNC_IPPROTO);
	ck_assert_int_eq(rd_io_sync_parse_ip4(p, 19, &m), RD_IO_SYNC_STAT_HDROPS); /* short */
	ip4(p, 0x65, 255, RD_PFSYNC_IPPROTO);
	ck_assert_int_eq(rd_io_sync_parse_ip4(p, 40, &m), RD_IO_SYNC_STAT_HDROPS); /* version */
	ip4(p, 0x44, 255, RD_PFSYNC_IPPROTO);
	ck_assert_int_eq(rd_io_sync_parse_ip4(p, 40, &m), RD_IO_SYNC_STAT_HDROPS); /* ihl < 5 */
	ip4(p, 0x4f, 255, RD_PFSYNC_IPPROTO);
	ck_assert_int_eq(rd_io_sync_parse_ip4(p, 40, &m), RD_IO_SYNC_STAT_HDROPS); /* ihl > len */
	ip4(p, 0x45, 255, 17);
	ck_assert_int_eq(rd_io_sync_parse_ip4(p, 40, &m), RD_IO_SYNC_STAT_HDROPS); /* protocol */
	ck_assert_ptr_null(m.data);
}
END_TEST

/* Plain mode needs CAP_NET_RAW: as root only. */
START_TEST(test_plain_mode_sends_ttl_255_and_refuses_other_ttls)
{
	struct rd_io_sync_config ca = {0}, cb = {0};
	struct rd_io_sync_msg m[4];
	uint8_t pkt[24];
	struct sockaddr_in to = {.sin_family = AF_INET};
	int fd, ttl = 64;

	ca.mode = cb.mode = RD_IO_SYNC_PLAIN;
	rd_addr_parse("127.0.0.2", &ca.peers[0]);
	ca.npeers = 1;
	rd_addr_parse("127.0.0.1", &cb.peers[0]);
	cb.npeers = 1;
	rd_addr_parse("127.0.0.2", &cb.local);
	ck_assert_int_eq(rd_io_sync_open(&ca, &a), 0);
	ck_assert_int_eq(rd_io_sync_open(&cb, &b), 0);
	ck_assert_uint_eq(rd_io_sync_overhead(b), 20); /* IPv4 header only */
	/* A raw socket of our own with TTL 64: refused as badttl. */
	fd = socket(AF_INET, SOCK_RAW, RD_PFSYNC_IPPROTO);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
	inet_pton(AF_INET, "127.0.0.2", &to.sin_addr);
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = RD_PFSYNC_VERSION;
	pkt[3] = 20;
	ck_assert_int_eq(sendto(fd, pkt, 20, 0, (struct sockaddr *)&to, sizeof(to)), 20);
	close(fd);
	ck_assert_int_eq(rd_io_sync_queue(a, NULL, pkt, 20), 0);
	ck_assert_int_eq(rd_io_sync_flush(a), 0);
	ck_assert_int_eq(recv_n(b, m, 1), 1);
	ck_assert_uint_eq(m[0].len, 20);
	ck_assert_uint_eq(m[0].ttl, 255);
	ck_assert_uint_eq(m[0].data[0], RD_PFSYNC_VERSION);
	ck_assert_uint_ge(io_stat(b, RD_IO_SYNC_STAT_BADTTL), 1);
}
END_TEST

/*
 * Plain mode has no key: with peers listed, a datagram from any other
 * address is refused (notpeer) before it reaches the engine, TTL 255 or not.
 */
START_TEST(test_plain_mode_with_listed_peers_hears_only_them)
{
	struct rd_io_sync_config cb = {0};
	struct rd_io_sync_msg m[4];
	uint8_t pkt[20];
	struct sockaddr_in to = {.sin_family = AF_INET}, from = {.sin_family = AF_INET};
	int ttl = 255;

	cb.mode = RD_IO_SYNC_PLAIN;
	rd_addr_parse("127.0.0.1", &cb.peers[0]);
	cb.npeers = 1;
	rd_addr_parse("127.0.0.2", &cb.local);
	ck_assert_int_eq(rd_io_sync_open(&cb, &b), 0);
	memset(pkt, 0, sizeof(pkt));
	pkt[0] = RD_PFSYNC_VERSION;
	pkt[3] = 20;
	inet_pton(AF_INET, "127.0.0.2", &to.sin_addr);
	for (int i = 0; i < 2; i++) {
		/* First from 127.0.0.3 (not listed), then from 127.0.0.1 (listed). */
		int fd = socket(AF_INET, SOCK_RAW, RD_PFSYNC_IPPROTO);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
		inet_pton(AF_INET, i == 0 ? "127.0.0.3" : "127.0.0.1", &from.sin_addr);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
		ck_assert_int_eq(sendto(fd, pkt, 20, 0, (struct sockaddr *)&to, sizeof(to)), 20);
		close(fd);
	}
	ck_assert_int_eq(recv_n(b, m, 1), 1);
	ck_assert_int_eq(m[0].from.u.v4[3], 1);
	ck_assert_uint_eq(io_stat(b, RD_IO_SYNC_STAT_NOTPEER), 1);
	ck_assert_uint_eq(io_stat(b, RD_IO_SYNC_STAT_IPACKETS), 1);
	ck_assert_str_eq(rd_io_sync_stat_name(RD_IO_SYNC_STAT_NOTPEER), "notpeer");
}
END_TEST

static Suite *io_suite(void)
{
	Suite *s = suite_create("io-sync");
	TCase *tc = tcase_create("secure");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_secure_datagram_arrives_whole_with_its_source);
	tcase_add_test(tc, test_many_datagrams_batched_arrive_in_order);
	tcase_add_test(tc, test_ttl_check_refuses_and_counts_badttl);
	tcase_add_test(tc, test_explicit_destination_and_size_limits);
	tcase_add_test(tc, test_own_datagram_refused_and_counted_as_self);
	tcase_add_test(tc, test_datagram_longer_than_max_dgram_refused_as_trunc);
	tcase_add_test(tc, test_open_refuses_bad_configurations);
	tcase_add_test(tc, test_overhead_is_ip_header_plus_udp_in_secure_mode);
	tcase_add_test(tc, test_parse_ip4_strips_header_and_reads_ttl_and_source);
	tcase_add_test(tc, test_parse_ip4_refuses_bad_headers_as_hdrops);
	suite_add_tcase(s, tc);
	if (geteuid() == 0) {
		tc = tcase_create("plain");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_add_test(tc, test_plain_mode_sends_ttl_255_and_refuses_other_ttls);
		tcase_add_test(tc, test_plain_mode_with_listed_peers_hears_only_them);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(io_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
