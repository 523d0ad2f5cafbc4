/*
 * CARP vhost life beyond the election: demotion, link down/up, graceful
 * leave, the loop cookie, strict replay mode, custom lladdr, the IPv6
 * payload path, ip balancing and configuration checks.
 */
#include "fsm_test_util.h"

/* ---- demotion ---- */

START_TEST(test_config_defaults_are_openbsds_and_accepted)
{
	struct node n;
	struct rd_carp_vhost *vh;
	struct rd_carp_vhost_info info;
	struct rd_carp_vhost_config c;
	struct rd_carp_if_config ic;
	struct rd_carp_node_config nc;
	struct rd_addr vip = A("10.0.0.100");

	memset(&nc, 0xa5, sizeof(nc));
	rd_carp_node_config_default(&nc);
	ck_assert_ptr_null(nc.mem);
	ck_assert_ptr_null(nc.log.fn);
	memset(&ic, 0xa5, sizeof(ic));
	rd_carp_if_config_default(&ic);
	ck_assert_ptr_null(ic.node);
	ck_assert_ptr_null(ic.cb.send);
	ck_assert_ptr_null(ic.random.fn);
	ck_assert_int_eq(ic.balancing, RD_CARP_BAL_NONE);
	memset(&c, 0xa5, sizeof(c));
	rd_carp_vhost_config_default(&c);
	ck_assert_uint_eq(c.advbase, 1);
	ck_assert_uint_eq(c.advskew, 0);
	ck_assert_uint_eq(c.deadratio, 3);
	ck_assert(!c.preempt && !c.has_lladdr && !c.replay_strict);
	ck_assert_uint_eq(c.npeers + c.ngroups + c.naddrs, 0);
	ck_assert_int_eq(c.src6.af, RD_AF_UNSPEC);
	node_init(&n, 1, RD_CARP_BAL_NONE);
	c.vhid = 9;
	c.addrs = &vip;
	c.naddrs = 1;
	c.src4 = A("10.0.0.1");
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, &vh), 0);
	rd_carp_vhost_info(vh, &info);
	ck_assert_uint_eq(info.advbase, 1);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_demotion_sum_is_capped_and_clamped)
{
	struct node n;
	struct rd_carp_vhost *vh;
	struct rd_carp_vhost_info info;
	struct rd_addr store[1];
	static const char *const groups[] = {"pfsync", "admin"};
	struct rd_carp_vhost_config c = vcfg(1, 1, 0, "10.0.0.1", store);
	const char *name;
	unsigned int v;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	c.groups = groups;
	c.ngroups = 2;
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, &vh), 0);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "pfsync", 32, T0), 0);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "admin", 250, T0), 0);
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 255);
	rd_carp_vhost_info(vh, &info);
	ck_assert_uint_eq(info.demote, 255);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "admin", -1000, T0), 0);
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 32);
	/* "carp" first, then the groups in the order they were named. */
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 0, &name, &v), 0);
	ck_assert_str_eq(name, "carp");
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 1, &name, &v), 0);
	ck_assert_str_eq(name, "pfsync");
	ck_assert_uint_eq(v, 32);
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 2, &name, &v), 0);
	ck_assert_str_eq(name, "admin");
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 3, &name, &v), RD_ERR_NOENT);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "", 1, T0), RD_ERR_INVAL);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "-carp", 1, T0), RD_ERR_INVAL);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "a b", 1, T0), RD_ERR_INVAL);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "0123456789012345678901234567890", 1, T0), 0);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "01234567890123456789012345678901", 1, T0),
	                 RD_ERR_INVAL);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_demotion_change_makes_master_advertise_at_once)
{
	struct node n;
	struct rd_carp_vhost *vm, *vb;
	struct rd_carp_hdr h;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vm = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	vb = add_vh(&n, 2, 1, 0, "10.0.0.1", false);
	force_master(&n, vm, T0);
	n.nout = 0;
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "carp", 32, T0 + RD_MSEC), 0);
	ck_assert_uint_eq(n.nout, 1); /* only the MASTER, not the BACKUP */
	ck_assert_uint_eq(n.out[0].vhid, 1);
	rd_carp_hdr_decode(n.out[0].b + 20, 36, &h);
	ck_assert_uint_eq(h.demote, 32);
	ck_assert_uint_eq(rd_carp_expiry(n.ifp), T0 + RD_MSEC + RD_SEC);
	/* No change of the sum: no advertisement. */
	n.nout = 0;
	rd_carp_if_demote(n.ifp, "other", 0, T0 + 2 * RD_MSEC);
	ck_assert_uint_eq(n.nout, 0);
	/* A group no vhost is in changes nothing. */
	rd_carp_if_demote(n.ifp, "other", 5, T0 + 3 * RD_MSEC);
	ck_assert_uint_eq(n.nout, 0);
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 32);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_send_errors_demote_and_recover)
{
	struct node n;
	struct rd_carp_vhost *vh;
	const char *name;
	unsigned int v;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	n.send_rc = -1;
	force_master(&n, vh, T0);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 0); /* 2 errors: not yet */
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 1); /* 3 x 1 vhost */
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 0, &name, &v), 0);
	ck_assert_str_eq(name, "carp"); /* the vhost raised its group */
	ck_assert_uint_eq(v, 1);
	n.send_rc = 0;
	for (int i = 0; i < 3; i++)
		rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 0);
	{
		uint64_t s[RD_CARP_STAT_COUNT];

		rd_carp_if_stats(n.ifp, s);
		ck_assert_uint_ge(s[RD_CARP_STAT_OERRORS], 3);
	}
	rd_carp_if_free(n.ifp);
}
END_TEST

/* What send errors raised: the vhosts here are all in "carp" only. */
static unsigned int snderrors(const struct node *n)
{
	return rd_carp_node_group_value(rd_carp_if_node(n->ifp), "carp");
}

/* OpenBSD counts send errors per carp interface; without balancing each
 * vhost is one, so backups on the same link do not raise the threshold. */
START_TEST(test_send_errors_count_per_vhost_without_balancing)
{
	struct node n;
	struct rd_carp_vhost *vm = NULL;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	for (uint8_t id = 1; id <= 10; id++) {
		struct rd_carp_vhost *vh = add_vh(&n, id, 1, 0, "10.0.0.1", false);

		if (id == 4)
			vm = vh;
	}
	n.send_rc = -1;
	force_master(&n, vm, T0);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 0);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 1); /* 3 errors of vhid 4 */
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_send_errors_of_two_vhosts_demote_twice_without_balancing)
{
	struct node n;
	struct rd_carp_vhost *v1, *v2;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	v1 = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	v2 = add_vh(&n, 2, 1, 0, "10.0.0.1", false);
	n.send_rc = -1;
	force_master(&n, v1, T0);
	force_master(&n, v2, T0);
	for (int i = 0; i < 2; i++)
		rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(snderrors(&n), 2);
	/* Successes of one vhost do not clear the other's errors. */
	n.send_rc = 0;
	ck_assert_int_eq(rd_carp_vhost_set_state(v2, RD_CARP_BACKUP, T0 + 3 * RD_SEC), 0);
	for (int i = 0; i < 3; i++)
		rd_carp_handle_expiry(n.ifp, T0 + (rd_time_t)(3 + i) * RD_SEC);
	ck_assert_uint_eq(snderrors(&n), 1);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_removing_a_vhost_takes_back_its_send_error_demotion)
{
	struct node n;
	struct rd_carp_vhost *v1;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	v1 = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	add_vh(&n, 2, 1, 0, "10.0.0.1", false);
	n.send_rc = -1;
	force_master(&n, v1, T0);
	for (int i = 0; i < 2; i++)
		rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 1);
	rd_carp_vhost_remove(n.ifp, v1);
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 0);
	ck_assert_uint_eq(snderrors(&n), 0);
	rd_carp_if_free(n.ifp);
}
END_TEST

/* With ip balancing the if is one carp interface with carpnodes: one
 * counter, threshold 3 x vhosts; when it trips, every vhost raises its
 * groups (here both are in "carp" only). */
START_TEST(test_send_errors_count_per_if_with_ip_balancing)
{
	struct node n;
	struct rd_carp_vhost *v1, *v2;

	node_init(&n, 1, RD_CARP_BAL_IP);
	v1 = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	v2 = add_vh(&n, 2, 1, 0, "10.0.0.1", false);
	n.send_rc = -1;
	force_master(&n, v1, T0);
	force_master(&n, v2, T0);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(snderrors(&n), 0); /* 4 errors < 3 x 2 */
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(snderrors(&n), 2);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(snderrors(&n), 2);
	rd_carp_vhost_remove(n.ifp, v2);
	ck_assert_uint_eq(snderrors(&n), 1);
	rd_carp_if_free(n.ifp);
}
END_TEST

/* ---- link, leave ---- */

START_TEST(test_link_down_puts_vhosts_in_init_and_demotes)
{
	struct node n;
	struct rd_carp_vhost *v1, *v2;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	v1 = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	v2 = add_vh(&n, 2, 1, 0, "10.0.0.1", false);
	force_master(&n, v1, T0);
	ck_assert_int_eq(rd_carp_if_link(n.ifp, false, T0 + RD_SEC), 0);
	ck_assert_int_eq(st(v1), RD_CARP_INIT);
	ck_assert_int_eq(st(v2), RD_CARP_INIT);
	/* Each vhost (OpenBSD: each carp interface on the carpdev) raised
	 * "carp" once. */
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 2);
	ck_assert_uint_eq(snderrors(&n), 2);
	ck_assert_uint_eq(rd_carp_expiry(n.ifp), RD_TIME_NEVER);
	ck_assert(!rd_carp_if_link_up(n.ifp));
	/* Repeating the same state changes nothing. */
	rd_carp_if_link(n.ifp, false, T0 + RD_SEC);
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 2);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_link_up_returns_to_backup_and_undemotes)
{
	struct node n;
	struct rd_carp_vhost *v1;
	rd_time_t up = T0 + 5 * RD_SEC;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	v1 = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	force_master(&n, v1, T0);
	rd_carp_if_link(n.ifp, false, T0 + RD_SEC);
	rd_carp_if_link(n.ifp, true, up);
	ck_assert_int_eq(st(v1), RD_CARP_BACKUP);
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 0);
	ck_assert_uint_eq(rd_carp_expiry(n.ifp), up + 3 * RD_SEC);
	ck_assert_str_eq(n.changes[n.nchanges - 1].why, "link up");
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_if_leave_bows_out_masters_and_inits_all)
{
	struct node n;
	struct rd_carp_vhost *v1, *v2;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	v1 = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	v2 = add_vh(&n, 2, 1, 0, "10.0.0.1", false);
	force_master(&n, v2, T0);
	n.nout = 0;
	ck_assert_int_eq(rd_carp_if_leave(n.ifp, T0 + RD_SEC), 0);
	ck_assert_int_eq(st(v1), RD_CARP_INIT);
	ck_assert_int_eq(st(v2), RD_CARP_INIT);
	ck_assert_uint_eq(n.nout, 1);
	ck_assert_uint_eq(n.out[0].vhid, 2);
	ck_assert(n.out[0].bow_out);
	ck_assert_uint_eq(rd_carp_expiry(n.ifp), RD_TIME_NEVER);
	/* Starting again goes through BACKUP. */
	rd_carp_vhost_start(v1, T0 + 2 * RD_SEC);
	ck_assert_int_eq(st(v1), RD_CARP_BACKUP);
	rd_carp_if_free(n.ifp);
}
END_TEST

/* ---- loop cookie and strict replay ---- */

START_TEST(test_loop_cookie_is_constant_and_random)
{
	struct node n, m;
	struct rd_carp_vhost *vh, *vm;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	node_init(&m, 2, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	vm = add_vh(&m, 1, 1, 0, "10.0.0.2", false);
	force_master(&n, vh, T0);
	force_master(&m, vm, T0);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(n.nout, 2);
	ck_assert_mem_eq(n.out[0].b + 28, n.out[1].b + 28, 8);
	ck_assert(memcmp(n.out[0].b + 28, m.out[0].b + 28, 8) != 0);
	rd_carp_if_free(n.ifp);
	rd_carp_if_free(m.ifp);
}
END_TEST

START_TEST(test_nonstrict_accepts_repeated_counter)
{
	/* OpenBSD and ucarp do not check counters: neither do we by default. */
	struct node n;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];
	size_t len;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	add_vh(&n, 1, 1, 50, "10.0.0.1", false);
	len = make_ad(&s, p);
	ck_assert_int_eq(rd_carp_input(n.ifp, p, len, T0), 0);
	ck_assert_int_eq(rd_carp_input(n.ifp, p, len, T0 + RD_SEC), 0);
	rd_carp_if_free(n.ifp);
}
END_TEST

static struct rd_carp_vhost *add_strict(struct node *n, const char *src, uint8_t skew,
                                        uint32_t epoch, const struct rd_addr *peers, size_t npeers)
{
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(1, 1, skew, src, store);
	struct rd_carp_vhost *vh;

	c.replay_strict = true;
	c.replay_epoch = epoch;
	c.peers = peers;
	c.npeers = npeers;
	ck_assert_int_eq(rd_carp_vhost_add(n->ifp, &c, T0, &vh), 0);
	return vh;
}

START_TEST(test_strict_counters_grow_with_epoch_in_high_bits)
{
	struct node n;
	struct rd_carp_vhost *vh;
	uint64_t prev = 0;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_strict(&n, "10.0.0.1", 0, 1764190000u, NULL, 0);
	force_master(&n, vh, T0);
	for (int i = 0; i < 4; i++)
		rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	for (size_t i = 0; i < n.nout; i++) {
		const uint8_t *c = n.out[i].b + 28;
		uint64_t v = 0;

		for (int k = 0; k < 8; k++)
			v = v << 8 | c[k];
		ck_assert_uint_eq(v >> 32, 1764190000u);
		ck_assert_uint_gt(v, prev);
		prev = v;
	}
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_strict_accepts_growing_and_refuses_replayed_ads)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;
	struct sent_pkt first;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_strict(&a, "10.0.0.1", 0, 100, NULL, 0);
	vb = add_strict(&b, "10.0.0.2", 50, 200, NULL, 0);
	force_master(&a, va, T0);
	first = a.out[0];
	ck_assert_int_eq(deliver(&a, &b, T0), 0);
	for (int i = 1; i <= 3; i++) {
		rd_carp_handle_expiry(a.ifp, T0 + (rd_time_t)i * RD_SEC);
		ck_assert_int_eq(deliver(&a, &b, T0 + (rd_time_t)i * RD_SEC), 0);
	}
	/* A dies; an attacker replays its recorded first ad to keep it "alive". */
	ck_assert_int_eq(rd_carp_input(b.ifp, first.b, first.len, T0 + 4 * RD_SEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	rd_carp_handle_expiry(b.ifp, rd_carp_expiry(b.ifp));
	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

START_TEST(test_strict_own_packets_are_loops)
{
	struct node n;
	struct rd_carp_vhost *vh;
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_strict(&n, "10.0.0.1", 0, 100, NULL, 0);
	force_master(&n, vh, T0);
	/* Our own ad looped back. */
	ck_assert_int_eq(rd_carp_input(n.ifp, n.out[0].b, n.out[0].len, T0),
	                 RD_CARP_REFUSED(RD_CARP_STAT_LOOP));
	/* Anything claiming our own source address. */
	s.src = "10.0.0.1";
	ck_assert_int_eq(rd_carp_input(n.ifp, p, make_ad(&s, p), T0),
	                 RD_CARP_REFUSED(RD_CARP_STAT_LOOP));
	ck_assert_int_eq(st(vh), RD_CARP_MASTER);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_strict_unicast_refuses_unknown_source)
{
	struct node n;
	struct rd_addr peer = A("10.0.0.2");
	struct ad_spec s = ad_default();
	uint8_t p[RD_CARP_PKT_MAX];

	node_init(&n, 1, RD_CARP_BAL_NONE);
	add_strict(&n, "10.0.0.1", 0, 100, &peer, 1);
	s.dst = "10.0.0.1";
	s.src = "10.0.0.66";
	ck_assert_int_eq(rd_carp_input(n.ifp, p, make_ad(&s, p), T0),
	                 RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	s.src = "10.0.0.2";
	ck_assert_int_eq(rd_carp_input(n.ifp, p, make_ad(&s, p), T0), 0);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_strict_accepts_restarted_peer_whatever_its_epoch)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_strict(&a, "10.0.0.1", 100, 5000, NULL, 0);
	vb = add_strict(&b, "10.0.0.2", 0, 100, NULL, 0);
	force_master(&a, va, T0);
	ck_assert_int_eq(deliver(&a, &b, T0), 0);
	/* A restarts later with a larger epoch: its counters keep growing. */
	rd_carp_if_free(a.ifp);
	node_init(&a, 3, RD_CARP_BAL_NONE);
	va = add_strict(&a, "10.0.0.1", 100, 5060, NULL, 0);
	force_master(&a, va, T0 + 60 * RD_SEC);
	ck_assert_int_eq(deliver(&a, &b, T0 + 60 * RD_SEC), 0);
	/* A restart with an older epoch (clock stepped back): B never saw these
	 * counters and dropped none of the two it keeps (its floor is 0), so it
	 * believes them (the floor: tests/carp/test_replay.c). */
	rd_carp_if_free(a.ifp);
	node_init(&a, 4, RD_CARP_BAL_NONE);
	va = add_strict(&a, "10.0.0.1", 100, 4000, NULL, 0);
	force_master(&a, va, T0 + 61 * RD_SEC);
	ck_assert_int_eq(deliver(&a, &b, T0 + 61 * RD_SEC), 0);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* ---- the rate-limited log of refusals for our vhids ---- */

/* Messages logged since `from` that contain `what`; all must be WARNING. */
static size_t logged_since(const struct node *n, size_t from, const char *what)
{
	size_t k = 0;

	ck_assert_uint_le(n->nlogs - from, 16);
	for (size_t i = 0; i < n->nlogs - from; i++) {
		if (strstr(node_log_last(n, i), what) != NULL) {
			ck_assert_int_eq(n->log_levels[(n->nlogs - 1 - i) % 16], RD_LOG_WARNING);
			k++;
		}
	}
	return k;
}

START_TEST(test_badauth_flood_logs_once_then_once_per_interval_with_the_count)
{
	struct node n;
	struct rd_carp_vhost *vh;
	struct ad_spec wrong = ad_default();
	uint8_t pkt[RD_CARP_PKT_MAX];
	size_t len, before;
	rd_time_t t = T0 + RD_SEC, md;
	uint64_t s[RD_CARP_STAT_COUNT];

	node_init_in(&n, 1, RD_CARP_BAL_NONE, NULL, "lan0");
	vh = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	md = md4(vh);
	wrong.pass = "wrong";
	len = make_ad(&wrong, pkt);
	before = n.nlogs;
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(rd_carp_input(n.ifp, pkt, len, t + (rd_time_t)i * RD_MSEC),
		                 RD_CARP_REFUSED(RD_CARP_STAT_BADAUTH));
	ck_assert_uint_eq(n.nlogs, before + 1);
	ck_assert_ptr_nonnull(strstr(node_log_last(&n, 0), "carp lan0 vhid 1: advertisement from "
	                                                   "10.0.0.9 refused: bad authentication"));
	ck_assert_ptr_nonnull(strstr(node_log_last(&n, 0), "password"));
	ck_assert_ptr_nonnull(strstr(node_log_last(&n, 0), "virtual addresses"));
	ck_assert_ptr_null(strstr(node_log_last(&n, 0), "more since"));
	ck_assert_int_eq(n.log_levels[(n.nlogs - 1) % 16], RD_LOG_WARNING);
	/* Counting is unchanged: every one, and nothing else moved. */
	rd_carp_if_stats(n.ifp, s);
	ck_assert_uint_eq(s[RD_CARP_STAT_BADAUTH], 1000);
	ck_assert_uint_eq(md4(vh), md);
	/* Just before 10 s after the message: still quiet. */
	rd_carp_input(n.ifp, pkt, len, t + RD_CARP_REFUSAL_LOG_INTERVAL - 1);
	ck_assert_uint_eq(n.nlogs, before + 1);
	rd_carp_input(n.ifp, pkt, len, t + RD_CARP_REFUSAL_LOG_INTERVAL);
	ck_assert_uint_eq(n.nlogs, before + 2);
	ck_assert_ptr_nonnull(strstr(node_log_last(&n, 0), "(1000 more since the last message)"));
	rd_carp_input(n.ifp, pkt, len, t + RD_CARP_REFUSAL_LOG_INTERVAL + RD_MSEC);
	ck_assert_uint_eq(n.nlogs, before + 2);
	rd_carp_if_free(n.ifp);
}
END_TEST

/* The numbers of the issue: 1000 bad ads in 1 s, then one 10 s later. */
START_TEST(test_thousand_bad_ads_then_one_ten_seconds_later_names_999_more)
{
	struct node n;
	struct ad_spec wrong = ad_default();
	uint8_t pkt[RD_CARP_PKT_MAX];
	size_t len, before;
	rd_time_t t = T0 + RD_SEC;

	node_init_in(&n, 1, RD_CARP_BAL_NONE, NULL, "lan0");
	add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	wrong.pass = "wrong";
	len = make_ad(&wrong, pkt);
	before = n.nlogs;
	for (int i = 0; i < 999; i++)
		rd_carp_input(n.ifp, pkt, len, t + (rd_time_t)i * RD_MSEC);
	ck_assert_uint_eq(n.nlogs, before + 1);
	rd_carp_input(n.ifp, pkt, len, t + RD_CARP_REFUSAL_LOG_INTERVAL);
	ck_assert_uint_eq(n.nlogs, before + 2);
	ck_assert_ptr_nonnull(strstr(node_log_last(&n, 0), "(998 more since the last message)"));
	/* 1000 in the first second: the message 10 s later names 999. */
	rd_carp_if_free(n.ifp);
	node_init_in(&n, 2, RD_CARP_BAL_NONE, NULL, "lan0");
	add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	before = n.nlogs;
	for (int i = 0; i < 1000; i++)
		rd_carp_input(n.ifp, pkt, len, t + (rd_time_t)i * RD_MSEC);
	ck_assert_uint_eq(n.nlogs, before + 1);
	rd_carp_input(n.ifp, pkt, len, t + RD_CARP_REFUSAL_LOG_INTERVAL);
	ck_assert_uint_eq(n.nlogs, before + 2);
	ck_assert_ptr_nonnull(strstr(node_log_last(&n, 0), "(999 more since the last message)"));
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_refusal_log_is_per_vhost_and_reason)
{
	struct node n;
	struct rd_carp_vhost *v1;
	struct ad_spec wrong = ad_default(), other_vips = ad_default();
	uint8_t pkt[RD_CARP_PKT_MAX], pkt2[RD_CARP_PKT_MAX], pkt3[RD_CARP_PKT_MAX];
	size_t len, len2, len3, before;
	struct sent_pkt own;
	rd_time_t t = T0 + RD_SEC;

	node_init_in(&n, 1, RD_CARP_BAL_NONE, NULL, "lan0");
	v1 = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	add_vh(&n, 2, 1, 0, "10.0.0.1", false);
	force_master(&n, v1, T0);
	own = n.out[0];
	wrong.pass = "wrong";
	len = make_ad(&wrong, pkt);
	/* The right password but another virtual address: the HMAC differs. */
	other_vips.vhid = 2;
	other_vips.vip = "10.0.0.101";
	len2 = make_ad(&other_vips, pkt2);
	wrong.vhid = 2;
	len3 = make_ad(&wrong, pkt3);
	before = n.nlogs;
	for (int i = 0; i < 3; i++) {
		rd_time_t now = t + (rd_time_t)i * RD_MSEC;

		ck_assert_int_eq(rd_carp_input(n.ifp, pkt, len, now),
		                 RD_CARP_REFUSED(RD_CARP_STAT_BADAUTH));
		ck_assert_int_eq(rd_carp_input(n.ifp, own.b, own.len, now),
		                 RD_CARP_REFUSED(RD_CARP_STAT_LOOP));
		ck_assert_int_eq(rd_carp_input(n.ifp, pkt2, len2, now),
		                 RD_CARP_REFUSED(RD_CARP_STAT_BADAUTH));
		ck_assert_int_eq(rd_carp_input(n.ifp, pkt3, len3, now),
		                 RD_CARP_REFUSED(RD_CARP_STAT_BADAUTH));
	}
	/* vhid 1 badauth, vhid 1 loop, vhid 2 badauth (both causes one reason). */
	ck_assert_uint_eq(n.nlogs, before + 3);
	ck_assert_uint_eq(logged_since(&n, before,
	                               "vhid 1: advertisement from 10.0.0.9 refused: "
	                               "bad authentication"),
	                  1);
	ck_assert_uint_eq(logged_since(&n, before,
	                               "vhid 1: advertisement from 10.0.0.1 refused: "
	                               "our own advertisement"),
	                  1);
	ck_assert_uint_eq(logged_since(&n, before,
	                               "vhid 2: advertisement from 10.0.0.9 refused: "
	                               "bad authentication"),
	                  1);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_replay_refusals_are_logged_rate_limited)
{
	struct node a, b;
	struct rd_carp_vhost *va;
	struct sent_pkt first;
	size_t before;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init_in(&b, 2, RD_CARP_BAL_NONE, NULL, "lan0");
	va = add_strict(&a, "10.0.0.1", 0, 100, NULL, 0);
	add_strict(&b, "10.0.0.2", 50, 200, NULL, 0);
	force_master(&a, va, T0);
	first = a.out[0];
	ck_assert_int_eq(deliver(&a, &b, T0), 0);
	before = b.nlogs;
	for (int i = 1; i <= 5; i++)
		ck_assert_int_eq(
		    rd_carp_input(b.ifp, first.b, first.len, T0 + (rd_time_t)i * RD_MSEC),
		    RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	ck_assert_uint_eq(b.nlogs, before + 1);
	ck_assert_uint_eq(logged_since(&b, before,
	                               "vhid 1: advertisement from 10.0.0.1 refused: "
	                               "replayed"),
	                  1);
	rd_carp_input(b.ifp, first.b, first.len, T0 + 11 * RD_SEC);
	ck_assert_ptr_nonnull(strstr(node_log_last(&b, 0), "(4 more since the last message)"));
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* ---- custom lladdr, IPv6 payload path ---- */

static struct rd_carp_vhost *add_ll(struct node *n, const char *src, uint8_t skew,
                                    const uint8_t *ll)
{
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(5, 1, skew, src, store);
	struct rd_carp_vhost *vh;

	if (ll != NULL) {
		c.has_lladdr = true;
		memcpy(c.lladdr, ll, 6);
	}
	ck_assert_int_eq(rd_carp_vhost_add(n->ifp, &c, T0, &vh), 0);
	return vh;
}

START_TEST(test_custom_lladdr_is_authenticated)
{
	const uint8_t custom[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
	const uint8_t vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 5};
	struct node a, b, c, d;
	struct rd_carp_vhost *va;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	node_init(&c, 3, RD_CARP_BAL_NONE);
	node_init(&d, 4, RD_CARP_BAL_NONE);
	va = add_ll(&a, "10.0.0.1", 0, custom);
	add_ll(&b, "10.0.0.2", 100, custom);
	add_ll(&c, "10.0.0.3", 100, NULL);
	add_ll(&d, "10.0.0.4", 100, vmac);
	force_master(&a, va, T0);
	ck_assert_int_eq(rd_carp_input(b.ifp, a.out[0].b, a.out[0].len, T0), 0);
	ck_assert_int_eq(rd_carp_input(c.ifp, a.out[0].b, a.out[0].len, T0),
	                 RD_CARP_REFUSED(RD_CARP_STAT_BADAUTH));
	rd_carp_if_free(a.ifp);
	/* The default virtual MAC is never hashed: same as no lladdr. */
	node_init(&a, 5, RD_CARP_BAL_NONE);
	va = add_ll(&a, "10.0.0.1", 0, NULL);
	force_master(&a, va, T0);
	ck_assert_int_eq(rd_carp_input(d.ifp, a.out[0].b, a.out[0].len, T0), 0);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
	rd_carp_if_free(c.ifp);
	rd_carp_if_free(d.ifp);
}
END_TEST

static struct rd_carp_vhost *add_ll_id(struct node *n, uint8_t vhid, const char *src, uint8_t skew,
                                       const uint8_t *ll)
{
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(vhid, 1, skew, src, store);
	struct rd_carp_vhost *vh;

	if (ll != NULL) {
		c.has_lladdr = true;
		memcpy(c.lladdr, ll, 6);
	}
	ck_assert_int_eq(rd_carp_vhost_add(n->ifp, &c, T0, &vh), 0);
	return vh;
}

/* OpenBSD replaces an lladdr of the virtual form xx:00:5e:00:01:xx by the
 * vhost's virtual MAC, so such an lladdr never enters the HMAC. */
START_TEST(test_lladdr_of_virtual_form_is_not_hashed)
{
	const uint8_t other_vmac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 7};
	struct node a, b;
	struct rd_carp_vhost *va;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_ll_id(&a, 5, "10.0.0.1", 0, other_vmac);
	add_ll_id(&b, 5, "10.0.0.2", 100, NULL);
	force_master(&a, va, T0);
	ck_assert_int_eq(rd_carp_input(b.ifp, a.out[0].b, a.out[0].len, T0), 0);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* With ip balancing the if is one carp interface: its leader's virtual MAC
 * is the multicast 01:00:5e:00:01:vhid (not hashed), and only the leader
 * (lowest vhid) ever hashes a custom lladdr. */
START_TEST(test_lladdr_with_ip_balancing_is_hashed_by_the_leader_only)
{
	const uint8_t custom[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
	const uint8_t mcast_vmac[6] = {0x01, 0x00, 0x5e, 0x00, 0x01, 5};
	struct node a, b, c;
	struct rd_carp_vhost *a5, *a6;

	node_init(&a, 1, RD_CARP_BAL_IP);
	node_init(&b, 2, RD_CARP_BAL_IP);
	node_init(&c, 3, RD_CARP_BAL_IP);
	a5 = add_ll_id(&a, 5, "10.0.0.1", 0, custom);
	a6 = add_ll_id(&a, 6, "10.0.0.1", 0, custom);
	add_ll_id(&b, 5, "10.0.0.2", 100, custom);
	add_ll_id(&b, 6, "10.0.0.2", 100, NULL);
	add_ll_id(&c, 5, "10.0.0.3", 100, mcast_vmac);
	force_master(&a, a5, T0);
	force_master(&a, a6, T0);
	ck_assert_uint_eq(a.nout, 2);
	ck_assert_int_eq(rd_carp_input(b.ifp, a.out[0].b, a.out[0].len, T0), 0);
	ck_assert_int_eq(rd_carp_input(b.ifp, a.out[1].b, a.out[1].len, T0), 0);
	rd_carp_if_free(a.ifp);
	/* The multicast virtual MAC of the leader is not hashed. */
	node_init(&a, 4, RD_CARP_BAL_IP);
	a5 = add_ll_id(&a, 5, "10.0.0.1", 0, NULL);
	force_master(&a, a5, T0);
	ck_assert_int_eq(rd_carp_input(c.ifp, a.out[0].b, a.out[0].len, T0), 0);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
	rd_carp_if_free(c.ifp);
}
END_TEST

START_TEST(test_ipv6_only_vhost_through_payload_input)
{
	struct node a, b;
	struct rd_addr addr = A("2001:db8::100");
	struct rd_carp_vhost_config c;
	struct rd_carp_vhost *va, *vb;
	struct rd_carp_ip_info ip;
	struct rd_carp_vhost_info i;

	memset(&c, 0, sizeof(c));
	c.vhid = 6;
	c.advbase = 1;
	rd_carp_key_from_pass("v6only", c.key);
	c.addrs = &addr;
	c.naddrs = 1;
	c.src6 = A("fe80::1");
	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	ck_assert_int_eq(rd_carp_vhost_add(a.ifp, &c, T0, &va), 0);
	c.src6 = A("fe80::2");
	c.advskew = 1;
	ck_assert_int_eq(rd_carp_vhost_add(b.ifp, &c, T0, &vb), 0);
	rd_carp_vhost_info(vb, &i);
	ck_assert_uint_eq(i.md4, RD_TIME_NEVER);
	force_master(&a, va, T0);
	ck_assert_uint_eq(a.nout, 1);
	ck_assert_int_eq(rd_carp_ip_parse(a.out[0].b, a.out[0].len, &ip), 0);
	/* As a Linux raw IPv6 socket delivers it: no IP header, hop limit from cmsg. */
	ck_assert_int_eq(
	    rd_carp_input_payload(b.ifp, &ip.src, &ip.dst, 255, ip.carp, ip.carp_len, T0 + RD_MSEC),
	    0);
	rd_carp_vhost_info(vb, &i);
	ck_assert_uint_eq(i.md6, T0 + RD_MSEC + 3 * rd_carp_interval(1, 1));
	ck_assert_uint_eq(i.stats[RD_CARP_STAT_IPACKETS6], 1);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* ---- ip balancing ---- */

START_TEST(test_ip_balancing_filter_keeps_packets_of_own_master_vhosts)
{
	struct node n;
	struct rd_carp_vhost *v1;
	struct rd_addr src = A("192.0.2.1"), dst, mc = A("224.0.0.5"), bc = A("255.255.255.255");
	int kept = 0;

	node_init(&n, 1, RD_CARP_BAL_IP);
	add_vh(&n, 9, 1, 0, "10.0.0.1", false); /* index 1 in vhid order */
	v1 = add_vh(&n, 3, 1, 0, "10.0.0.1", false);
	force_master(&n, v1, T0); /* index 0 MASTER, index 1 BACKUP */
	for (uint32_t i = 0; i < 8; i++) {
		uint32_t fold;

		dst = rd_addr_v4(0x0a000000u + i);
		fold = 0xc0000201u ^ (0x0a000000u + i);
		ck_assert_int_eq(rd_carp_if_accept(n.ifp, &src, &dst), fold % 2 == 0);
		kept += rd_carp_if_accept(n.ifp, &src, &dst);
	}
	ck_assert_int_eq(kept, 4);
	ck_assert(rd_carp_if_accept(n.ifp, &src, &mc));
	ck_assert(rd_carp_if_accept(n.ifp, &src, &bc));
	{
		struct rd_addr s6 = A("2001:db8::1"), d6 = A("2001:db8::2");

		/* fold = 1 ^ 2 = 3 -> index 1 (vhid 9, BACKUP): dropped. */
		ck_assert(!rd_carp_if_accept(n.ifp, &s6, &d6));
		d6 = A("2001:db8::3"); /* fold 2 -> index 0: kept */
		ck_assert(rd_carp_if_accept(n.ifp, &s6, &d6));
	}
	rd_carp_if_free(n.ifp);
}
END_TEST

/* OpenBSD's carp_lsdrop takes ntohl(fold) % sc_lscount with at most
 * CARP_MAXNODES (32) vhosts, its lsmask being 32 bits. We take the same
 * formula up to RD_CARP_MAX_VHOSTS: with 32 or fewer the mapping is
 * OpenBSD's; with 40, index 35 (beyond OpenBSD's reach) keeps its share. */
START_TEST(test_ip_balancing_beyond_32_vhosts_keeps_fold_modulo_count)
{
	struct node n;
	struct rd_carp_vhost *v35 = NULL;
	struct rd_addr src = rd_addr_v4(0), dst;

	node_init(&n, 1, RD_CARP_BAL_IP);
	for (int i = 0; i < 40; i++) {
		struct rd_carp_vhost *vh = add_vh(&n, (uint8_t)(i + 1), 1, 0, "10.0.0.1", false);

		if (i == 35)
			v35 = vh;
	}
	force_master(&n, v35, T0);
	/* src 0.0.0.0, so fold = dst: kept iff dst % 40 == 35. */
	dst = rd_addr_v4(35);
	ck_assert(rd_carp_if_accept(n.ifp, &src, &dst));
	dst = rd_addr_v4(75);
	ck_assert(rd_carp_if_accept(n.ifp, &src, &dst));
	dst = rd_addr_v4(3); /* index 3: vhid 4, BACKUP (and 35 % 32 would be 3) */
	ck_assert(!rd_carp_if_accept(n.ifp, &src, &dst));
	dst = rd_addr_v4(67); /* index 27 */
	ck_assert(!rd_carp_if_accept(n.ifp, &src, &dst));
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_no_balancing_accepts_everything)
{
	struct node n;
	struct rd_addr s = A("192.0.2.1"), d = A("10.0.0.1");

	node_init(&n, 1, RD_CARP_BAL_NONE);
	add_vh(&n, 3, 1, 0, "10.0.0.1", false);
	ck_assert(rd_carp_if_accept(n.ifp, &s, &d));
	rd_carp_if_free(n.ifp);
}
END_TEST

/* ---- configuration ---- */

START_TEST(test_vhost_add_validates_config)
{
	struct node n;
	struct rd_addr store[1];
	struct rd_carp_vhost_config c;
	struct rd_addr v6 = A("2001:db8::1");

	node_init(&n, 1, RD_CARP_BAL_NONE);
	c = vcfg(0, 1, 0, "10.0.0.1", store);
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_INVAL); /* vhid 0 */
	c = vcfg(1, 1, 255, "10.0.0.1", store);
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_INVAL); /* skew 255 */
	c = vcfg(1, 1, 0, "10.0.0.1", store);
	c.naddrs = 0;
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_INVAL);
	c = vcfg(1, 1, 0, "10.0.0.1", store);
	c.addrs = &v6; /* IPv6 address but no src6 */
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_INVAL);
	c = vcfg(1, 1, 0, "10.0.0.1", store);
	c.peers = &v6; /* IPv6 peer for an IPv4-only vhost */
	c.npeers = 1;
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_INVAL);
	ck_assert_uint_eq(rd_carp_if_vhost_count(n.ifp), 0);
	c = vcfg(1, 1, 0, "10.0.0.1", store);
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), 0);
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_EXIST);
	ck_assert_uint_eq(rd_carp_if_vhost_count(n.ifp), 1);
	rd_carp_vhost_remove(n.ifp, rd_carp_vhost_find(n.ifp, 1));
	ck_assert_uint_eq(rd_carp_if_vhost_count(n.ifp), 0);
	ck_assert_ptr_null(rd_carp_vhost_find(n.ifp, 1));
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_non_unicast_peers_are_refused)
{
	/* Multicast, broadcast, unspecified and IPv4 240.0.0.0/4. */
	static const struct {
		const char *addr, *why;
	} bad[] = {
	    {"224.0.0.18", "multicast"},
	    {"224.0.0.0", "multicast"},
	    {"239.255.255.255", "multicast"},
	    {"ff02::12", "multicast"},
	    {"ff00::", "multicast"},
	    {"ff0e::1", "multicast"},
	    {"255.255.255.255", "broadcast"},
	    {"0.0.0.0", "unspecified"},
	    {"::", "unspecified"},
	    {"240.0.0.1", "reserved"},
	    {"240.0.0.0", "reserved"},
	    {"255.255.255.254", "reserved"},
	};
	static const char *const ucast[] = {"223.255.255.255", "0.0.0.1", "10.0.0.2", "fe80::2",
	                                    "2001:db8::2",     "feff::1", "::1"};
	struct node n;
	struct rd_addr store[2], peer;
	struct rd_carp_vhost_config c;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		peer = A(bad[i].addr);
		ck_assert_msg(rd_carp_peer_check(&peer) == RD_ERR_INVAL, "%s taken", bad[i].addr);
		ck_assert_pstr_eq(rd_carp_peer_refusal(&peer), bad[i].why);
		c = vcfg(1, 1, 0, "10.0.0.1", store);
		store[1] = A("2001:db8::100"); /* a VIP of the peer's family either way */
		c.naddrs = 2;
		c.src6 = A("2001:db8::1");
		c.peers = &peer;
		c.npeers = 1;
		ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_INVAL);
	}
	ck_assert_uint_eq(rd_carp_if_vhost_count(n.ifp), 0);
	for (size_t i = 0; i < sizeof(ucast) / sizeof(ucast[0]); i++) {
		peer = A(ucast[i]);
		ck_assert_msg(rd_carp_peer_check(&peer) == 0, "%s refused", ucast[i]);
		ck_assert_ptr_null(rd_carp_peer_refusal(&peer));
		c = vcfg((uint8_t)(i + 1), 1, 0, "10.0.0.1", store);
		store[1] = A("2001:db8::100");
		c.naddrs = 2;
		c.src6 = A("2001:db8::1");
		c.peers = &peer;
		c.npeers = 1;
		ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), 0);
	}
	memset(&peer, 0, sizeof(peer)); /* RD_AF_UNSPEC */
	ck_assert_int_eq(rd_carp_peer_check(&peer), RD_ERR_INVAL);
	ck_assert_pstr_eq(rd_carp_peer_refusal(&peer), "not IPv4 or IPv6");
	ck_assert_int_eq(rd_carp_peer_check(NULL), RD_ERR_INVAL);
	ck_assert_pstr_eq(rd_carp_peer_refusal(NULL), "not IPv4 or IPv6");
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_vhosts_are_kept_in_vhid_order)
{
	struct node n;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	add_vh(&n, 30, 1, 0, "10.0.0.1", false);
	add_vh(&n, 2, 1, 0, "10.0.0.1", false);
	add_vh(&n, 17, 1, 0, "10.0.0.1", false);
	ck_assert_uint_eq(rd_carp_vhost_vhid(rd_carp_if_vhost_at(n.ifp, 0)), 2);
	ck_assert_uint_eq(rd_carp_vhost_vhid(rd_carp_if_vhost_at(n.ifp, 1)), 17);
	ck_assert_uint_eq(rd_carp_vhost_vhid(rd_carp_if_vhost_at(n.ifp, 2)), 30);
	ck_assert_ptr_null(rd_carp_if_vhost_at(n.ifp, 3));
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_set_timing_master_advertises_new_values)
{
	struct node n;
	struct rd_carp_vhost *vh;
	struct rd_carp_hdr h;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	force_master(&n, vh, T0);
	n.nout = 0;
	ck_assert_int_eq(rd_carp_vhost_set_timing(vh, 2, 77, T0 + RD_MSEC), 0);
	ck_assert_uint_eq(n.nout, 1);
	rd_carp_hdr_decode(n.out[0].b + 20, 36, &h);
	ck_assert_uint_eq(h.advbase, 2);
	ck_assert_uint_eq(h.advskew, 77);
	ck_assert_int_eq(rd_carp_vhost_set_timing(vh, 2, 255, T0), RD_ERR_INVAL);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_set_state_backup_stops_advertising)
{
	struct node n;
	struct rd_carp_vhost *vh;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 1, 1, 0, "10.0.0.1", false);
	force_master(&n, vh, T0);
	ck_assert_int_eq(rd_carp_vhost_set_state(vh, RD_CARP_BACKUP, T0 + RD_SEC), 0);
	ck_assert_int_eq(st(vh), RD_CARP_BACKUP);
	ck_assert_uint_eq(rd_carp_expiry(n.ifp), T0 + 4 * RD_SEC);
	ck_assert_int_eq(rd_carp_vhost_set_state(vh, RD_CARP_INIT, T0), RD_ERR_INVAL);
	rd_carp_vhost_stop(vh, T0);
	ck_assert_int_eq(rd_carp_vhost_set_state(vh, RD_CARP_MASTER, T0), RD_ERR_STATE);
	rd_carp_if_free(n.ifp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carp-vhost");
	TCase *tc = tcase_create("vhost");
	tcase_add_test(tc, test_config_defaults_are_openbsds_and_accepted);
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_demotion_sum_is_capped_and_clamped);
	tcase_add_test(tc, test_demotion_change_makes_master_advertise_at_once);
	tcase_add_test(tc, test_send_errors_demote_and_recover);
	tcase_add_test(tc, test_send_errors_count_per_vhost_without_balancing);
	tcase_add_test(tc, test_send_errors_of_two_vhosts_demote_twice_without_balancing);
	tcase_add_test(tc, test_removing_a_vhost_takes_back_its_send_error_demotion);
	tcase_add_test(tc, test_send_errors_count_per_if_with_ip_balancing);
	tcase_add_test(tc, test_link_down_puts_vhosts_in_init_and_demotes);
	tcase_add_test(tc, test_link_up_returns_to_backup_and_undemotes);
	tcase_add_test(tc, test_if_leave_bows_out_masters_and_inits_all);
	tcase_add_test(tc, test_loop_cookie_is_constant_and_random);
	tcase_add_test(tc, test_nonstrict_accepts_repeated_counter);
	tcase_add_test(tc, test_strict_counters_grow_with_epoch_in_high_bits);
	tcase_add_test(tc, test_strict_accepts_growing_and_refuses_replayed_ads);
	tcase_add_test(tc, test_strict_own_packets_are_loops);
	tcase_add_test(tc, test_badauth_flood_logs_once_then_once_per_interval_with_the_count);
	tcase_add_test(tc, test_thousand_bad_ads_then_one_ten_seconds_later_names_999_more);
	tcase_add_test(tc, test_refusal_log_is_per_vhost_and_reason);
	tcase_add_test(tc, test_replay_refusals_are_logged_rate_limited);
	tcase_add_test(tc, test_strict_unicast_refuses_unknown_source);
	tcase_add_test(tc, test_strict_accepts_restarted_peer_whatever_its_epoch);
	tcase_add_test(tc, test_custom_lladdr_is_authenticated);
	tcase_add_test(tc, test_lladdr_of_virtual_form_is_not_hashed);
	tcase_add_test(tc, test_lladdr_with_ip_balancing_is_hashed_by_the_leader_only);
	tcase_add_test(tc, test_ipv6_only_vhost_through_payload_input);
	tcase_add_test(tc, test_ip_balancing_filter_keeps_packets_of_own_master_vhosts);
	tcase_add_test(tc, test_ip_balancing_beyond_32_vhosts_keeps_fold_modulo_count);
	tcase_add_test(tc, test_no_balancing_accepts_everything);
	tcase_add_test(tc, test_vhost_add_validates_config);
	tcase_add_test(tc, test_non_unicast_peers_are_refused);
	tcase_add_test(tc, test_vhosts_are_kept_in_vhid_order);
	tcase_add_test(tc, test_set_timing_master_advertises_new_values);
	tcase_add_test(tc, test_set_state_backup_stops_advertising);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
