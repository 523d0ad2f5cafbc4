/*
 * syncd's conntrack <-> state mapping (syncd/ctmap.h): keys from tuples,
 * NAT, zones, ICMP, TCP and UDP states, timeouts, refusals. Entries are
 * built with libnetfilter_conntrack's setters as ctnetlink delivers them; no
 * kernel is involved. (The library's setters do not store counters, so the
 * counter mapping is not covered here.)
 */
#include <arpa/inet.h>
#include <check.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctmap.h"

static struct nf_conntrack *ct;

static void setup(void)
{
	ct = nfct_new();
	ck_assert_ptr_nonnull(ct);
}

static void teardown(void)
{
	nfct_destroy(ct);
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	ck_assert_int_eq(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* An IPv4 entry orig s:sp -> d:dp, reply rs:rsp -> rd:rdp. */
static void v4_entry(uint8_t proto, const char *s, uint16_t sp, const char *d, uint16_t dp,
                     const char *rs, uint16_t rsp, const char *rd, uint16_t rdp)
{
	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, ip4(s));
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, ip4(d));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, ip4(rs));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, ip4(rd));
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, proto);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, proto);
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(sp));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(dp));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(rsp));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(rdp));
}

static void plain_tcp(unsigned tcp_state)
{
	v4_entry(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, "10.0.0.2", 80, "10.0.0.1", 40000);
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, (uint8_t)tcp_state);
	nfct_set_attr_u32(ct, ATTR_TIMEOUT, 300);
}

static void assert_addr4(const uint8_t a[16], const char *s)
{
	uint32_t v = ip4(s);
	static const uint8_t zero[12];

	ck_assert_mem_eq(a, &v, 4);
	ck_assert_mem_eq(a + 4, zero, 12);
}

START_TEST(test_tcp_entry_becomes_wire_key_from_original_tuple)
{
	struct rd_state_info in;

	plain_tcp(SD_CT_TCP_ESTABLISHED);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), SD_CTMAP_OK);
	ck_assert_int_eq(in.wire.af, RD_AF_INET);
	ck_assert_int_eq(in.wire.proto, IPPROTO_TCP);
	assert_addr4(in.wire.addr[0], "10.0.0.1");
	assert_addr4(in.wire.addr[1], "10.0.0.2");
	ck_assert_uint_eq(in.wire.port[0], 40000);
	ck_assert_uint_eq(in.wire.port[1], 80);
	ck_assert_mem_eq(&in.stack, &in.wire, sizeof(in.wire)); /* no NAT */
	ck_assert_uint_eq(in.src.state, RD_TCPS_ESTABLISHED);
	ck_assert_uint_eq(in.dst.state, RD_TCPS_ESTABLISHED);
	ck_assert_uint_eq(in.timeout, RD_STATE_TM_TCP_ESTABLISHED);
	ck_assert_uint_eq(in.expire_in, 300);
	ck_assert_uint_eq(in.flags & RD_STATE_F_OUT, 0);
	ck_assert_uint_eq(in.rule, RD_STATE_RULE_NONE);
}
END_TEST

START_TEST(test_tcp_timeout_is_first_packet_until_the_responder_speaks)
{
	static const struct {
		unsigned ct;
		uint8_t tm;
	} want[] = {
	    /* NONE is (CLOSED, CLOSED): no SYN seen, not pf's first packet. */
	    {SD_CT_TCP_NONE, RD_STATE_TM_TCP_OPENING},
	    {SD_CT_TCP_SYN_SENT, RD_STATE_TM_TCP_FIRST_PACKET},
	    {SD_CT_TCP_SYN_RECV, RD_STATE_TM_TCP_OPENING},
	    {SD_CT_TCP_FIN_WAIT, RD_STATE_TM_TCP_CLOSING},
	    {SD_CT_TCP_LAST_ACK, RD_STATE_TM_TCP_FIN_WAIT},
	    {SD_CT_TCP_TIME_WAIT, RD_STATE_TM_TCP_CLOSED},
	};

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct rd_state_info in;

		nfct_destroy(ct);
		ct = nfct_new();
		plain_tcp(want[i].ct);
		ck_assert_int_eq(sd_ct_to_state(ct, &in), SD_CTMAP_OK);
		ck_assert_uint_eq(in.timeout, want[i].tm);
	}

	/* An entry without ATTR_TCP_STATE is read as NONE. */
	{
		struct rd_state_info in;

		nfct_destroy(ct);
		ct = nfct_new();
		v4_entry(IPPROTO_TCP, "10.0.0.1", 40000, "10.0.0.2", 80, "10.0.0.2", 80, "10.0.0.1",
		         40000);
		ck_assert_int_eq(sd_ct_to_state(ct, &in), SD_CTMAP_OK);
		ck_assert_uint_eq(in.src.state, RD_TCPS_CLOSED);
		ck_assert_uint_eq(in.dst.state, RD_TCPS_CLOSED);
		ck_assert_uint_eq(in.timeout, RD_STATE_TM_TCP_OPENING);
	}
}
END_TEST

START_TEST(test_every_conntrack_tcp_state_round_trips)
{
	for (unsigned s = 0; s < SD_CT_TCP_MAX; s++) {
		uint8_t src, dst;

		sd_tcp_ct_to_peers(s, &src, &dst);
		ck_assert_msg(sd_tcp_peers_to_ct(src, dst) == s, "state %u came back as %u", s,
		              sd_tcp_peers_to_ct(src, dst));
	}
}
END_TEST

START_TEST(test_pf_peer_pairs_map_to_nearest_conntrack_state)
{
	ck_assert_uint_eq(sd_tcp_peers_to_ct(RD_TCPS_ESTABLISHED, RD_TCPS_SYN_SENT),
	                  SD_CT_TCP_ESTABLISHED);
	ck_assert_uint_eq(sd_tcp_peers_to_ct(RD_TCPS_ESTABLISHED, RD_TCPS_CLOSING),
	                  SD_CT_TCP_FIN_WAIT);
	ck_assert_uint_eq(sd_tcp_peers_to_ct(RD_TCPS_TIME_WAIT, RD_TCPS_FIN_WAIT_2),
	                  SD_CT_TCP_TIME_WAIT);
	ck_assert_uint_eq(sd_tcp_peers_to_ct(11, RD_TCPS_CLOSED), SD_CT_TCP_SYN_SENT);
	ck_assert_uint_eq(sd_tcp_peers_to_ct(RD_TCPS_CLOSED, RD_TCPS_CLOSED), SD_CT_TCP_NONE);
}
END_TEST

START_TEST(test_tcp_state_written_back_with_be_liberal)
{
	struct rd_state_info in;
	struct nf_conntrack *out = nfct_new();

	plain_tcp(SD_CT_TCP_LAST_ACK);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
	ck_assert_uint_eq(in.flags & RD_STATE_F_SLOPPY, RD_STATE_F_SLOPPY);
	ck_assert_int_eq(sd_state_to_ct(&in, NULL, true, out), 0);
	ck_assert_uint_eq(nfct_get_attr_u8(out, ATTR_TCP_STATE), SD_CT_TCP_LAST_ACK);
	ck_assert_uint_eq(nfct_get_attr_u8(out, ATTR_TCP_FLAGS_ORIG), IP_CT_TCP_FLAG_BE_LIBERAL);
	ck_assert_uint_eq(nfct_get_attr_u8(out, ATTR_TCP_FLAGS_REPL), IP_CT_TCP_FLAG_BE_LIBERAL);
	ck_assert_uint_eq(nfct_get_attr_u32(out, ATTR_TIMEOUT), 300);
	ck_assert_uint_eq(nfct_get_attr_u32(out, ATTR_STATUS), IPS_SEEN_REPLY | IPS_ASSURED);
	ck_assert(nfct_cmp(ct, out, NFCT_CMP_ORIG | NFCT_CMP_REPL));
	nfct_destroy(out);
}
END_TEST

START_TEST(test_snat_gives_translated_stack_key_and_snat_on_create)
{
	struct rd_state_info in;
	struct nf_conntrack *out = nfct_new();

	/* 192.168.1.5:5555 -> 8.8.8.8:53, masqueraded to 203.0.113.1:6000. */
	v4_entry(IPPROTO_UDP, "192.168.1.5", 5555, "8.8.8.8", 53, "8.8.8.8", 53, "203.0.113.1",
	         6000);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
	assert_addr4(in.wire.addr[0], "192.168.1.5");
	assert_addr4(in.stack.addr[0], "203.0.113.1");
	assert_addr4(in.stack.addr[1], "8.8.8.8");
	ck_assert_uint_eq(in.stack.port[0], 6000);
	ck_assert_uint_eq(in.stack.port[1], 53);
	ck_assert_int_eq(sd_state_to_ct(&in, NULL, true, out), 0);
	ck_assert(nfct_cmp(ct, out, NFCT_CMP_ORIG | NFCT_CMP_REPL));
	ck_assert(nfct_attr_is_set(out, ATTR_SNAT_IPV4));
	ck_assert_uint_eq(nfct_get_attr_u32(out, ATTR_SNAT_IPV4), ip4("203.0.113.1"));
	ck_assert_uint_eq(ntohs(nfct_get_attr_u16(out, ATTR_SNAT_PORT)), 6000);
	ck_assert(!nfct_attr_is_set(out, ATTR_DNAT_IPV4));
	nfct_destroy(out);
}
END_TEST

START_TEST(test_dnat_sets_dnat_on_create)
{
	struct rd_state_info in;
	struct nf_conntrack *out = nfct_new();

	/* A port forward: client -> 198.51.100.1:80 served by 10.0.0.9:8080. */
	v4_entry(IPPROTO_TCP, "192.0.2.7", 33333, "198.51.100.1", 80, "10.0.0.9", 8080, "192.0.2.7",
	         33333);
	nfct_set_attr_u8(ct, ATTR_TCP_STATE, SD_CT_TCP_ESTABLISHED);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
	ck_assert_int_eq(sd_state_to_ct(&in, NULL, true, out), 0);
	ck_assert(nfct_attr_is_set(out, ATTR_DNAT_IPV4));
	ck_assert_uint_eq(nfct_get_attr_u32(out, ATTR_DNAT_IPV4), ip4("10.0.0.9"));
	ck_assert_uint_eq(ntohs(nfct_get_attr_u16(out, ATTR_DNAT_PORT)), 8080);
	ck_assert(!nfct_attr_is_set(out, ATTR_SNAT_IPV4));
	ck_assert(nfct_cmp(ct, out, NFCT_CMP_ORIG | NFCT_CMP_REPL));
	nfct_destroy(out);
}
END_TEST

START_TEST(test_update_carries_no_nat)
{
	struct rd_state_info in;
	struct nf_conntrack *out = nfct_new();

	v4_entry(IPPROTO_UDP, "192.168.1.5", 5555, "8.8.8.8", 53, "8.8.8.8", 53, "203.0.113.1",
	         6000);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
	ck_assert_int_eq(sd_state_to_ct(&in, NULL, false, out), 0);
	ck_assert(!nfct_attr_is_set(out, ATTR_SNAT_IPV4));
	ck_assert(!nfct_attr_is_set(out, ATTR_DNAT_IPV4));
	ck_assert(nfct_cmp(ct, out, NFCT_CMP_ORIG | NFCT_CMP_REPL));
	nfct_destroy(out);
}
END_TEST

START_TEST(test_udp_status_maps_to_pseudo_states_and_back)
{
	static const uint32_t statuses[] = {0, IPS_SEEN_REPLY, IPS_SEEN_REPLY | IPS_ASSURED};
	static const uint8_t want[][2] = {{RD_UDPS_SINGLE, RD_UDPS_NO_TRAFFIC},
	                                  {RD_UDPS_MULTIPLE, RD_UDPS_SINGLE},
	                                  {RD_UDPS_MULTIPLE, RD_UDPS_MULTIPLE}};
	static const uint8_t tm[] = {RD_STATE_TM_UDP_FIRST_PACKET, RD_STATE_TM_UDP_SINGLE,
	                             RD_STATE_TM_UDP_MULTIPLE};

	for (int i = 0; i < 3; i++) {
		struct rd_state_info in;
		struct nf_conntrack *out = nfct_new();

		nfct_destroy(ct);
		ct = nfct_new();
		v4_entry(IPPROTO_UDP, "10.0.0.1", 1000, "10.0.0.2", 53, "10.0.0.2", 53, "10.0.0.1",
		         1000);
		nfct_set_attr_u32(ct, ATTR_STATUS, statuses[i] | IPS_CONFIRMED);
		ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
		ck_assert_uint_eq(in.src.state, want[i][0]);
		ck_assert_uint_eq(in.dst.state, want[i][1]);
		ck_assert_uint_eq(in.timeout, tm[i]);
		ck_assert_int_eq(sd_state_to_ct(&in, NULL, true, out), 0);
		ck_assert_uint_eq(nfct_get_attr_u32(out, ATTR_STATUS), statuses[i]);
		nfct_destroy(out);
	}
}
END_TEST

START_TEST(test_icmp_echo_maps_id_and_type_as_pf)
{
	struct rd_state_info in;
	struct nf_conntrack *out = nfct_new();

	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, ip4("10.0.0.1"));
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, ip4("10.0.0.2"));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_SRC, ip4("10.0.0.2"));
	nfct_set_attr_u32(ct, ATTR_REPL_IPV4_DST, ip4("10.0.0.1"));
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_ICMP);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_ICMP);
	nfct_set_attr_u8(ct, ATTR_ICMP_TYPE, 8);
	nfct_set_attr_u8(ct, ATTR_ICMP_CODE, 0);
	nfct_set_attr_u16(ct, ATTR_ICMP_ID, htons(0x1234));
	ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
	ck_assert_uint_eq(in.wire.port[0], 0x1234); /* the requester's side: the id */
	ck_assert_uint_eq(in.wire.port[1], 8);      /* the other side: the request type */
	ck_assert_int_eq(sd_state_to_ct(&in, NULL, true, out), 0);
	ck_assert_uint_eq(nfct_get_attr_u8(out, ATTR_ICMP_TYPE), 8);
	ck_assert_uint_eq(ntohs(nfct_get_attr_u16(out, ATTR_ICMP_ID)), 0x1234);
	ck_assert(nfct_cmp(ct, out, NFCT_CMP_ORIG));
	nfct_destroy(out);
}
END_TEST

START_TEST(test_ipv6_entry_round_trips)
{
	struct rd_state_info in;
	struct nf_conntrack *out = nfct_new();
	struct in6_addr a, b;

	inet_pton(AF_INET6, "2001:db8::1", &a);
	inet_pton(AF_INET6, "2001:db8::2", &b);
	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET6);
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, AF_INET6);
	nfct_set_attr(ct, ATTR_ORIG_IPV6_SRC, &a);
	nfct_set_attr(ct, ATTR_ORIG_IPV6_DST, &b);
	nfct_set_attr(ct, ATTR_REPL_IPV6_SRC, &b);
	nfct_set_attr(ct, ATTR_REPL_IPV6_DST, &a);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(5000));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(5001));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(5001));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(5000));
	ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
	ck_assert_int_eq(in.wire.af, RD_AF_INET6);
	ck_assert_mem_eq(in.wire.addr[0], &a, 16);
	ck_assert_mem_eq(in.wire.addr[1], &b, 16);
	ck_assert_int_eq(sd_state_to_ct(&in, NULL, true, out), 0);
	ck_assert(nfct_cmp(ct, out, NFCT_CMP_ORIG | NFCT_CMP_REPL));
	ck_assert(!nfct_attr_is_set(out, ATTR_SNAT_IPV6));
	nfct_destroy(out);
}
END_TEST

START_TEST(test_zone_travels_as_rdomain)
{
	struct rd_state_info in;
	struct nf_conntrack *out = nfct_new();

	plain_tcp(SD_CT_TCP_ESTABLISHED);
	nfct_set_attr_u16(ct, ATTR_ZONE, 7);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
	ck_assert_uint_eq(in.wire.rdomain, 7);
	ck_assert_uint_eq(in.stack.rdomain, 7);
	ck_assert_int_eq(sd_state_to_ct_key(&in, out), 0);
	ck_assert_uint_eq(nfct_get_attr_u16(out, ATTR_ZONE), 7);
	nfct_destroy(out);
}
END_TEST

START_TEST(test_window_scale_carried_when_kernel_shows_it)
{
	struct rd_state_info in;

	plain_tcp(SD_CT_TCP_ESTABLISHED);
	nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, IP_CT_TCP_FLAG_WINDOW_SCALE);
	nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_ORIG, 7);
	nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, 0);
	nfct_set_attr_u8(ct, ATTR_TCP_WSCALE_REPL, 9);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
	ck_assert_uint_eq(in.src.wscale, RD_STATE_WSCALE_FLAG | 7);
	ck_assert_uint_eq(in.dst.wscale, 0);
}
END_TEST

START_TEST(test_zero_expire_uses_class_default)
{
	struct rd_state_info in;
	struct nf_conntrack *out = nfct_new();
	uint32_t defs[RD_STATE_TM_COUNT] = {0};

	plain_tcp(SD_CT_TCP_ESTABLISHED);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), 0);
	in.expire_in = 0;
	defs[RD_STATE_TM_TCP_ESTABLISHED] = 4321;
	ck_assert_int_eq(sd_state_to_ct(&in, defs, true, out), 0);
	ck_assert_uint_eq(nfct_get_attr_u32(out, ATTR_TIMEOUT), 4321);
	nfct_destroy(out);
}
END_TEST

START_TEST(test_gre_is_refused)
{
	struct rd_state_info in;

	v4_entry(IPPROTO_GRE, "10.0.0.1", 0, "10.0.0.2", 0, "10.0.0.2", 0, "10.0.0.1", 0);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), SD_CTMAP_BADL4);
}
END_TEST

START_TEST(test_missing_reply_tuple_is_refused)
{
	struct rd_state_info in;

	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_SRC, ip4("10.0.0.1"));
	nfct_set_attr_u32(ct, ATTR_ORIG_IPV4_DST, ip4("10.0.0.2"));
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_UDP);
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, htons(1));
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(2));
	ck_assert_int_eq(sd_ct_to_state(ct, &in), SD_CTMAP_NOTUPLE);
}
END_TEST

START_TEST(test_non_ip_family_is_refused)
{
	struct rd_state_info in;

	nfct_set_attr_u8(ct, ATTR_ORIG_L3PROTO, AF_BRIDGE);
	nfct_set_attr_u8(ct, ATTR_ORIG_L4PROTO, IPPROTO_UDP);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), SD_CTMAP_BADL3);
	in.wire.af = 0;
	ck_assert_int_eq(sd_state_to_ct(&in, NULL, true, ct), SD_CTMAP_BADL3);
}
END_TEST

START_TEST(test_tcp_state_out_of_range_is_refused)
{
	struct rd_state_info in;

	plain_tcp(SD_CT_TCP_MAX);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), SD_CTMAP_BADSTATE);
}
END_TEST

/* ---- the extension (mark, labels, status, helper) ---- */

static void set_labels(const unsigned *bits, size_t n)
{
	struct nfct_bitmask *b = nfct_bitmask_new(127);

	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < n; i++)
		nfct_bitmask_set_bit(b, bits[i]);
	nfct_set_attr(ct, ATTR_CONNLABELS, b); /* ct owns it */
}

START_TEST(test_ext_reads_mark_labels_status_helper_without_our_label)
{
	static const unsigned bits[] = {3, 64, 127};
	struct rd_sync_ext x;

	plain_tcp(SD_CT_TCP_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_MARK, 0x2a);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED);
	nfct_set_attr(ct, ATTR_HELPER_NAME, "ftp");
	set_labels(bits, 3);
	ck_assert(sd_ct_to_ext(ct, 127, NULL, &x));
	ck_assert_uint_eq(x.have, RD_SYNC_EXT_MARK | RD_SYNC_EXT_STATUS | RD_SYNC_EXT_LABELS |
	                              RD_SYNC_EXT_HELPER);
	ck_assert_uint_eq(x.mark, 0x2a);
	ck_assert_uint_eq(x.status, IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED);
	ck_assert_str_eq(x.helper, "ftp");
	ck_assert_uint_eq(x.labels[0], 1u << 3);
	ck_assert_uint_eq(x.labels[8], 1u);
	ck_assert_uint_eq(x.labels[15], 0); /* bit 127 is syncd's own mark */
}
END_TEST

START_TEST(test_ext_of_a_plain_entry_has_nothing_to_carry)
{
	static const unsigned ours[] = {127};
	struct rd_sync_ext x;

	plain_tcp(SD_CT_TCP_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED);
	set_labels(ours, 1);
	ck_assert(!sd_ct_to_ext(ct, 127, NULL, &x));
	ck_assert_uint_eq(x.mark, 0);
	ck_assert_uint_eq(x.have & RD_SYNC_EXT_LABELS, 0);
	/* A fixed timeout is a status bit the peer cannot rebuild. */
	nfct_set_attr_u32(ct, ATTR_STATUS, IPS_SEEN_REPLY | IPS_FIXED_TIMEOUT);
	ck_assert(sd_ct_to_ext(ct, 127, NULL, &x));
}
END_TEST

START_TEST(test_ext_event_without_labels_keeps_the_known_ones)
{
	struct rd_sync_ext old = {.have = RD_SYNC_EXT_LABELS | RD_SYNC_EXT_MARK}, x;

	old.labels[2] = 0x80;
	plain_tcp(SD_CT_TCP_ESTABLISHED);
	nfct_set_attr_u32(ct, ATTR_MARK, 7);
	ck_assert(sd_ct_to_ext(ct, 127, &old, &x));
	ck_assert_uint_eq(x.labels[2], 0x80);
	ck_assert_uint_eq(x.mark, 7);
}
END_TEST

START_TEST(test_ext_written_back_with_carried_status_and_helper_on_create_only)
{
	struct rd_sync_ext x = {.have = RD_SYNC_EXT_MARK | RD_SYNC_EXT_STATUS | RD_SYNC_EXT_HELPER,
	                        .mark = 0x10,
	                        .status =
	                            IPS_FIXED_TIMEOUT | IPS_CONFIRMED | IPS_EXPECTED | IPS_SRC_NAT};
	struct rd_state_info in;
	struct nf_conntrack *out = nfct_new();

	strcpy(x.helper, "ftp");
	plain_tcp(SD_CT_TCP_ESTABLISHED);
	ck_assert_int_eq(sd_ct_to_state(ct, &in), SD_CTMAP_OK);
	ck_assert_int_eq(sd_state_to_ct(&in, NULL, true, out), 0);
	sd_ext_to_ct(&x, true, out);
	ck_assert_uint_eq(nfct_get_attr_u32(out, ATTR_MARK), 0x10);
	/* The rebuilt bits, and of the carried ones only what a program may set. */
	ck_assert_uint_eq(nfct_get_attr_u32(out, ATTR_STATUS),
	                  IPS_SEEN_REPLY | IPS_ASSURED | IPS_FIXED_TIMEOUT);
	ck_assert_str_eq(nfct_get_attr(out, ATTR_HELPER_NAME), "ftp");
	nfct_destroy(out);
	out = nfct_new();
	ck_assert_int_eq(sd_state_to_ct(&in, NULL, false, out), 0);
	sd_ext_to_ct(&x, false, out);
	ck_assert(!nfct_attr_is_set(out, ATTR_HELPER_NAME));
	ck_assert_uint_eq(nfct_get_attr_u32(out, ATTR_MARK), 0x10);
	nfct_destroy(out);
}
END_TEST

START_TEST(test_expectation_maps_to_the_extension_and_back)
{
	struct nf_expect *exp = nfexp_new(), *out = nfexp_new();
	struct nf_conntrack *m = nfct_new(), *t = nfct_new(), *k = nfct_new();
	struct rd_sync_ext_expect e, back;
	struct rd_state_info master;
	struct rd_state_key key;

	/* What the FTP helper makes for PORT 10,10,0,100,156,65 on 10.10.0.100:40000 -> :21. */
	nfct_set_attr_u8(m, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u32(m, ATTR_ORIG_IPV4_SRC, ip4("10.10.0.100"));
	nfct_set_attr_u32(m, ATTR_ORIG_IPV4_DST, ip4("10.20.0.100"));
	nfct_set_attr_u8(m, ATTR_ORIG_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u16(m, ATTR_ORIG_PORT_SRC, htons(40000));
	nfct_set_attr_u16(m, ATTR_ORIG_PORT_DST, htons(21));
	nfct_set_attr_u8(t, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u32(t, ATTR_ORIG_IPV4_SRC, ip4("10.20.0.100"));
	nfct_set_attr_u32(t, ATTR_ORIG_IPV4_DST, ip4("10.10.0.100"));
	nfct_set_attr_u8(t, ATTR_ORIG_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u16(t, ATTR_ORIG_PORT_SRC, 0);
	nfct_set_attr_u16(t, ATTR_ORIG_PORT_DST, htons(40001));
	nfct_set_attr_u8(k, ATTR_ORIG_L3PROTO, AF_INET);
	nfct_set_attr_u32(k, ATTR_ORIG_IPV4_SRC, 0xffffffff);
	nfct_set_attr_u32(k, ATTR_ORIG_IPV4_DST, 0xffffffff);
	nfct_set_attr_u8(k, ATTR_ORIG_L4PROTO, IPPROTO_TCP);
	nfct_set_attr_u16(k, ATTR_ORIG_PORT_SRC, 0);
	nfct_set_attr_u16(k, ATTR_ORIG_PORT_DST, 0xffff);
	nfexp_set_attr(exp, ATTR_EXP_MASTER, m);
	nfexp_set_attr(exp, ATTR_EXP_EXPECTED, t);
	nfexp_set_attr(exp, ATTR_EXP_MASK, k);
	nfexp_set_attr_u32(exp, ATTR_EXP_TIMEOUT, 299);
	nfexp_set_attr_u16(exp, ATTR_EXP_ZONE, 3);

	ck_assert_int_eq(sd_exp_master_key(exp, &key), 0);
	assert_addr4(key.addr[0], "10.10.0.100");
	ck_assert_uint_eq(key.port[0], 40000);
	ck_assert_uint_eq(key.port[1], 21);
	ck_assert_uint_eq(key.rdomain, 3);
	ck_assert_int_eq(sd_exp_to_ext(exp, &e), 0);
	ck_assert_uint_eq(e.af, RD_AF_INET);
	assert_addr4(e.src, "10.20.0.100");
	ck_assert_uint_eq(e.dport, 40001);
	ck_assert_uint_eq(e.sport_mask, 0); /* any source port */
	ck_assert_uint_eq(e.src_mask[0], 0xff);
	ck_assert_uint_eq(e.timeout, 299);

	/* Written back for the peer's copy of the master. */
	memset(&master, 0, sizeof(master));
	master.wire = key;
	ck_assert_int_eq(sd_ext_to_exp(&master, &e, true, out), 0);
	ck_assert_int_eq(sd_exp_to_ext(out, &back), 0);
	ck_assert_mem_eq(&back, &e, sizeof(e));
	ck_assert_int_eq(sd_exp_master_key(out, &key), 0);
	ck_assert_uint_eq(key.port[1], 21);
	ck_assert_uint_eq(nfexp_get_attr_u16(out, ATTR_EXP_ZONE), 3);
	nfct_destroy(m);
	nfct_destroy(t);
	nfct_destroy(k);
	nfexp_destroy(exp);
	nfexp_destroy(out);
}
END_TEST

static Suite *ctmap_suite(void)
{
	Suite *s = suite_create("syncd-ctmap");
	TCase *tc = tcase_create("ctmap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tcp_entry_becomes_wire_key_from_original_tuple);
	tcase_add_test(tc, test_every_conntrack_tcp_state_round_trips);
	tcase_add_test(tc, test_tcp_timeout_is_first_packet_until_the_responder_speaks);
	tcase_add_test(tc, test_pf_peer_pairs_map_to_nearest_conntrack_state);
	tcase_add_test(tc, test_tcp_state_written_back_with_be_liberal);
	tcase_add_test(tc, test_snat_gives_translated_stack_key_and_snat_on_create);
	tcase_add_test(tc, test_dnat_sets_dnat_on_create);
	tcase_add_test(tc, test_update_carries_no_nat);
	tcase_add_test(tc, test_udp_status_maps_to_pseudo_states_and_back);
	tcase_add_test(tc, test_icmp_echo_maps_id_and_type_as_pf);
	tcase_add_test(tc, test_ipv6_entry_round_trips);
	tcase_add_test(tc, test_zone_travels_as_rdomain);
	tcase_add_test(tc, test_window_scale_carried_when_kernel_shows_it);
	tcase_add_test(tc, test_zero_expire_uses_class_default);
	tcase_add_test(tc, test_gre_is_refused);
	tcase_add_test(tc, test_missing_reply_tuple_is_refused);
	tcase_add_test(tc, test_non_ip_family_is_refused);
	tcase_add_test(tc, test_tcp_state_out_of_range_is_refused);
	tcase_add_test(tc, test_ext_reads_mark_labels_status_helper_without_our_label);
	tcase_add_test(tc, test_ext_of_a_plain_entry_has_nothing_to_carry);
	tcase_add_test(tc, test_ext_event_without_labels_keeps_the_known_ones);
	tcase_add_test(tc, test_ext_written_back_with_carried_status_and_helper_on_create_only);
	tcase_add_test(tc, test_expectation_maps_to_the_extension_and_back);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctmap_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
