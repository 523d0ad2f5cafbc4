/*
 * CARP state machine: each election rule of OpenBSD current (research note
 * §2.3) as its own test, driven by two rd_carp_if objects that feed each
 * other's advertisements at explicit times; timers, announcements,
 * demotion, link, bow-out, loop cookie, strict replay, ip balancing.
 */
#include <check.h>

#include "carp_test_util.h"

static struct rd_carp_vhost *add_vh(struct node *n, uint8_t vhid, uint8_t advbase, uint8_t skew,
                                    const char *src, bool preempt)
{
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(vhid, advbase, skew, src, store);
	struct rd_carp_vhost *vh = NULL;

	c.preempt = preempt;
	ck_assert_int_eq(rd_carp_vhost_add(n->ifp, &c, T0, &vh), 0);
	return vh;
}

static enum rd_carp_state st(const struct rd_carp_vhost *vh)
{
	return rd_carp_vhost_state(vh);
}

static void force_master(struct node *n, struct rd_carp_vhost *vh, rd_time_t now)
{
	ck_assert_int_eq(rd_carp_vhost_set_state(vh, RD_CARP_MASTER, now), 0);
	ck_assert_int_eq(st(vh), RD_CARP_MASTER);
	(void)n;
}

static rd_time_t md4(const struct rd_carp_vhost *vh)
{
	struct rd_carp_vhost_info i;

	rd_carp_vhost_info(vh, &i);
	return i.md4;
}

/* ---- start and timers ---- */

START_TEST(test_vhost_starts_in_backup_with_master_down_armed)
{
	struct node n;
	struct rd_carp_vhost *vh;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 1, 1, 50, "10.0.0.1", false);
	ck_assert_int_eq(st(vh), RD_CARP_BACKUP);
	ck_assert_uint_eq(n.nchanges, 1);
	ck_assert_int_eq(n.changes[0].from, RD_CARP_INIT);
	ck_assert_int_eq(n.changes[0].to, RD_CARP_BACKUP);
	ck_assert_uint_eq(rd_carp_expiry(n.ifp), T0 + 3 * rd_carp_interval(1, 50));
	ck_assert_uint_eq(n.nout, 0);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_master_down_expiry_makes_master_and_advertises)
{
	struct node n;
	struct rd_carp_vhost *vh;
	struct rd_carp_ip_info ip;
	struct rd_carp_hdr h;
	rd_time_t t;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 7, 2, 30, "10.0.0.1", false);
	t = rd_carp_expiry(n.ifp);
	rd_carp_handle_expiry(n.ifp, t - 1); /* early: nothing */
	ck_assert_int_eq(st(vh), RD_CARP_BACKUP);
	ck_assert_uint_eq(n.nout, 0);
	rd_carp_handle_expiry(n.ifp, t);
	ck_assert_int_eq(st(vh), RD_CARP_MASTER);
	ck_assert_uint_eq(n.nout, 1);
	ck_assert_int_eq(rd_carp_ip_parse(n.out[0].b, n.out[0].len, &ip), 0);
	ck_assert_uint_eq(ip.ttl, 255);
	ck_assert_str_eq(rd_addr_format(&ip.dst, (char[RD_ADDR_STRLEN]){0}, RD_ADDR_STRLEN),
	                 "224.0.0.18");
	ck_assert_int_eq(rd_carp_hdr_decode(ip.carp, ip.carp_len, &h), 0);
	ck_assert_uint_eq(h.vhid, 7);
	ck_assert_uint_eq(h.advbase, 2);
	ck_assert_uint_eq(h.advskew, 30);
	ck_assert_uint_eq(h.demote, 0);
	ck_assert(rd_carp_hdr_cksum_ok(ip.carp));
	ck_assert_uint_eq(rd_carp_expiry(n.ifp), t + rd_carp_interval(2, 30));
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_master_advertises_every_interval)
{
	struct node n;
	struct rd_carp_vhost *vh;
	rd_time_t t;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 1, 0, 100, "10.0.0.1", false); /* sub-second: 100/256 s */
	force_master(&n, vh, T0);
	n.nout = 0;
	t = T0;
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(rd_carp_expiry(n.ifp), t + 100 * RD_SEC / 256);
		t = rd_carp_expiry(n.ifp);
		rd_carp_handle_expiry(n.ifp, t);
	}
	ck_assert_uint_eq(n.nout, 5);
	rd_carp_if_free(n.ifp);
}
END_TEST

/* ---- MASTER receiving ---- */

/* A is MASTER with skew sa; B (skew sb) advertises once to A. */
static void master_hears(uint8_t sa, uint8_t sb, int da, int db, enum rd_carp_state want)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, sa, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, sb, "10.0.0.2", false);
	if (da > 0)
		rd_carp_if_demote(a.ifp, "test", da, T0);
	if (db > 0)
		rd_carp_if_demote(b.ifp, "test", db, T0);
	force_master(&a, va, T0);
	force_master(&b, vb, T0);
	a.nout = 0;
	ck_assert_int_eq(deliver(&b, &a, T0 + RD_MSEC), 0);
	ck_assert_int_eq(st(va), want);
	if (want == RD_CARP_BACKUP) {
		ck_assert_uint_eq(md4(va), T0 + RD_MSEC + 3 * rd_carp_interval(1, sa));
		ck_assert_uint_eq(a.nout, 0); /* no further advertisement */
	}
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}

START_TEST(test_master_steps_down_on_more_frequent_ad)
{
	master_hears(100, 0, 0, 0, RD_CARP_BACKUP);
}
END_TEST

START_TEST(test_master_steps_down_on_equal_ad)
{
	master_hears(50, 50, 0, 0, RD_CARP_BACKUP);
}
END_TEST

START_TEST(test_master_ignores_slower_ad)
{
	master_hears(0, 100, 0, 0, RD_CARP_MASTER);
}
END_TEST

START_TEST(test_master_steps_down_to_less_demoted_slower_master)
{
	master_hears(0, 100, 1, 0, RD_CARP_BACKUP);
}
END_TEST

START_TEST(test_master_keeps_role_against_more_demoted_faster_ad)
{
	master_hears(100, 0, 0, 1, RD_CARP_MASTER);
}
END_TEST

/* ---- BACKUP receiving ---- */

/* B is BACKUP (skew sb, preempt pb, demote db) and hears master A once. */
static struct node g_b;
static struct rd_carp_vhost *backup_hears(uint8_t sa, int da, uint8_t sb, bool pb, int db,
                                          uint8_t a_advbase)
{
	struct node a;
	struct rd_carp_vhost *va, *vb;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&g_b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, a_advbase, sa, "10.0.0.1", false);
	vb = add_vh(&g_b, 1, 1, sb, "10.0.0.2", pb);
	if (da > 0)
		rd_carp_if_demote(a.ifp, "test", da, T0);
	if (db > 0)
		rd_carp_if_demote(g_b.ifp, "test", db, T0);
	force_master(&a, va, T0);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	g_b.nout = 0;
	ck_assert_int_eq(deliver(&a, &g_b, T0 + RD_SEC), 0);
	rd_carp_if_free(a.ifp);
	return vb;
}

START_TEST(test_backup_waits_on_slower_master_without_preempt)
{
	struct rd_carp_vhost *vb = backup_hears(100, 0, 0, false, 0, 1);

	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	ck_assert_uint_eq(md4(vb), T0 + RD_SEC + 3 * RD_SEC);
	rd_carp_if_free(g_b.ifp);
}
END_TEST

START_TEST(test_backup_preempts_slower_master)
{
	struct rd_carp_vhost *vb = backup_hears(100, 0, 0, true, 0, 1);

	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	ck_assert_str_eq(g_b.changes[g_b.nchanges - 1].why, "preempting a slower master");
	ck_assert_uint_eq(g_b.nout, 1); /* advertised at once */
	rd_carp_if_free(g_b.ifp);
}
END_TEST

START_TEST(test_backup_does_not_preempt_faster_master)
{
	struct rd_carp_vhost *vb = backup_hears(0, 0, 100, true, 0, 1);

	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	rd_carp_if_free(g_b.ifp);
}
END_TEST

START_TEST(test_backup_does_not_preempt_less_demoted_master)
{
	/* Preempt on and faster, but we are more demoted than the master. */
	struct rd_carp_vhost *vb = backup_hears(100, 0, 0, true, 1, 1);

	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	rd_carp_if_free(g_b.ifp);
}
END_TEST

START_TEST(test_backup_takes_over_more_demoted_master_without_preempt)
{
	/* The master is faster but demoted: taken over regardless of preempt. */
	struct rd_carp_vhost *vb = backup_hears(0, 2, 100, false, 1, 1);

	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	ck_assert_str_eq(g_b.changes[g_b.nchanges - 1].why, "master more demoted");
	rd_carp_if_free(g_b.ifp);
}
END_TEST

START_TEST(test_backup_takes_over_master_that_will_time_out)
{
	/* Master advbase 4 > 3 x our advbase 1: it would time out anyway. */
	struct rd_carp_vhost *vb = backup_hears(0, 0, 0, false, 0, 4);

	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	rd_carp_if_free(g_b.ifp);
	/* advbase 3 exactly (3,0) is not later than (3 x 1, 0): keep waiting. */
	vb = backup_hears(0, 0, 0, false, 0, 3);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	rd_carp_if_free(g_b.ifp);
}
END_TEST

START_TEST(test_bow_out_ad_gives_instant_takeover)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;
	struct rd_carp_hdr h;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, 0, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, 100, "10.0.0.2", false);
	force_master(&a, va, T0);
	deliver(&a, &b, T0);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	ck_assert_int_eq(rd_carp_vhost_stop(va, T0 + RD_SEC / 2), 0);
	ck_assert_int_eq(st(va), RD_CARP_INIT);
	ck_assert_uint_eq(a.nout, 1);
	ck_assert(a.out[0].bow_out);
	rd_carp_hdr_decode(a.out[0].b + 20, 36, &h);
	ck_assert_uint_eq(h.advbase, 255);
	ck_assert_uint_eq(h.advskew, 255);
	ck_assert_uint_eq(rd_carp_expiry(a.ifp), RD_TIME_NEVER);
	deliver(&a, &b, T0 + RD_SEC / 2);
	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

START_TEST(test_advbase_zero_backup_ignores_bow_out_rule)
{
	/* OpenBSD skips the 3 x advbase rule when advbase is 0. */
	struct node a, b;
	struct rd_carp_vhost *va, *vb;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 0, 10, "10.0.0.1", false);
	vb = add_vh(&b, 1, 0, 20, "10.0.0.2", false);
	force_master(&a, va, T0);
	a.nout = 0;
	rd_carp_vhost_stop(va, T0);
	deliver(&a, &b, T0);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	ck_assert_uint_eq(md4(vb), T0 + 3 * rd_carp_interval(0, 20));
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

START_TEST(test_backup_takes_over_when_master_falls_silent)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;
	rd_time_t last = T0;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, 0, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, 64, "10.0.0.2", false);
	force_master(&a, va, T0);
	deliver(&a, &b, T0);
	for (int i = 0; i < 10; i++) {
		last = rd_carp_expiry(a.ifp);
		rd_carp_handle_expiry(a.ifp, last);
		deliver(&a, &b, last);
		ck_assert_uint_lt(last, rd_carp_expiry(b.ifp));
		rd_carp_handle_expiry(b.ifp, last);
		ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	}
	/* A crashes: B becomes MASTER exactly 3 x (1 + 64/256) s after the last ad. */
	ck_assert_uint_eq(rd_carp_expiry(b.ifp), last + 3 * (RD_SEC + RD_SEC / 4));
	rd_carp_handle_expiry(b.ifp, rd_carp_expiry(b.ifp));
	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	ck_assert_str_eq(b.changes[b.nchanges - 1].why, "master down timer expired");
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

START_TEST(test_init_vhost_ignores_advertisements)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, 0, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, 0, "10.0.0.2", false);
	rd_carp_vhost_stop(vb, T0);
	force_master(&a, va, T0);
	ck_assert_int_eq(deliver(&a, &b, T0), RD_CARP_REFUSED(RD_CARP_STAT_BADVHID));
	ck_assert_int_eq(st(vb), RD_CARP_INIT);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* ---- families, peers ---- */

START_TEST(test_dual_family_vhost_sends_one_ad_per_family)
{
	struct node a, b;
	struct rd_addr addrs[2] = {A("10.0.0.100"), A("2001:db8::100")};
	struct rd_carp_vhost_config c = vcfg(3, 1, 0, "10.0.0.1", addrs);
	struct rd_carp_vhost *va, *vb;
	struct rd_carp_vhost_info i;
	rd_time_t t = T0 + RD_SEC;

	addrs[0] = A("10.0.0.100");
	addrs[1] = A("2001:db8::100");
	c.naddrs = 2;
	c.src6 = A("fe80::1");
	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	ck_assert_int_eq(rd_carp_vhost_add(a.ifp, &c, T0, &va), 0);
	c.advskew = 100;
	c.src4 = A("10.0.0.2");
	c.src6 = A("fe80::2");
	ck_assert_int_eq(rd_carp_vhost_add(b.ifp, &c, T0, &vb), 0);
	rd_carp_vhost_info(vb, &i);
	ck_assert_uint_eq(i.md4, i.md6);
	force_master(&a, va, T0);
	ck_assert_uint_eq(a.nout, 2);
	ck_assert_uint_eq(a.out[0].dst.af, RD_AF_INET);
	ck_assert_uint_eq(a.out[1].dst.af, RD_AF_INET6);
	ck_assert_uint_eq(a.out[1].len, 76);
	/* Only the IPv6 ad arrives: only the IPv6 master-down timer is re-armed. */
	ck_assert_int_eq(rd_carp_input(b.ifp, a.out[1].b, a.out[1].len, t), 0);
	rd_carp_vhost_info(vb, &i);
	ck_assert_uint_eq(i.md6, t + 3 * rd_carp_interval(1, 100));
	ck_assert_uint_eq(i.md4, T0 + 3 * rd_carp_interval(1, 100));
	ck_assert_uint_eq(i.stats[RD_CARP_STAT_IPACKETS6], 1);
	/* Either family's timer expiring makes B MASTER. */
	rd_carp_handle_expiry(b.ifp, i.md4);
	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

START_TEST(test_unicast_peers_each_get_the_ad)
{
	struct node a, b;
	struct rd_addr store[1], peers[2] = {A("10.0.0.2"), A("10.0.0.3")};
	struct rd_carp_vhost_config c = vcfg(1, 1, 0, "10.0.0.1", store);
	struct rd_carp_vhost *va, *vb;

	c.peers = peers;
	c.npeers = 2;
	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	ck_assert_int_eq(rd_carp_vhost_add(a.ifp, &c, T0, &va), 0);
	peers[0] = A("10.0.0.1");
	c.src4 = A("10.0.0.2");
	c.advskew = 10;
	ck_assert_int_eq(rd_carp_vhost_add(b.ifp, &c, T0, &vb), 0);
	force_master(&a, va, T0);
	ck_assert_uint_eq(a.nout, 2);
	ck_assert(!a.out[0].multicast);
	ck_assert_str_eq(rd_addr_format(&a.out[0].dst, (char[RD_ADDR_STRLEN]){0}, RD_ADDR_STRLEN),
	                 "10.0.0.2");
	ck_assert_str_eq(rd_addr_format(&a.out[1].dst, (char[RD_ADDR_STRLEN]){0}, RD_ADDR_STRLEN),
	                 "10.0.0.3");
	/* B (unicast mode) accepts the copy addressed to it. */
	ck_assert_int_eq(rd_carp_input(b.ifp, a.out[0].b, a.out[0].len, T0), 0);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* ---- announcements ---- */

START_TEST(test_announce_on_master_and_two_ads_later)
{
	struct node n;
	struct rd_carp_vhost *vh;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 4, 1, 0, "10.0.0.1", false);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_int_eq(st(vh), RD_CARP_MASTER);
	ck_assert_uint_eq(n.nannounce, 1);
	ck_assert_int_eq(n.announce[0][0], 4);
	ck_assert_int_eq(n.announce[0][1], 0);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp)); /* first ad after */
	ck_assert_uint_eq(n.nannounce, 1);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp)); /* second ad after */
	ck_assert_uint_eq(n.nannounce, 2);
	ck_assert_int_eq(n.announce[1][1], 1);
	for (int i = 0; i < 5; i++)
		rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(n.nannounce, 2);
	ck_assert_uint_eq(n.nout, 8);
	rd_carp_if_free(n.ifp);
}
END_TEST

START_TEST(test_no_announce_in_ip_balancing)
{
	struct node n;
	struct rd_carp_vhost *vh;

	node_init(&n, 1, RD_CARP_BAL_IP);
	vh = add_vh(&n, 4, 1, 0, "10.0.0.1", false);
	for (int i = 0; i < 4; i++)
		rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_int_eq(st(vh), RD_CARP_MASTER);
	ck_assert_uint_eq(n.nannounce, 0);
	rd_carp_if_free(n.ifp);
}
END_TEST

/* ---- demotion ---- */

START_TEST(test_demotion_sum_is_capped_and_clamped)
{
	struct node n;
	const char *name;
	unsigned int v;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "pfsync", 32, T0), 0);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "admin", 250, T0), 0);
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 255);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "admin", -1000, T0), 0);
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 32);
	/* The engine's groups first, then the caller's in creation order. */
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 0, &name, &v), 0);
	ck_assert_str_eq(name, "carpdev");
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 1, &name, &v), 0);
	ck_assert_str_eq(name, "snderrors");
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 3, &name, &v), 0);
	ck_assert_str_eq(name, "admin");
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 2, &name, &v), 0);
	ck_assert_str_eq(name, "pfsync");
	ck_assert_uint_eq(v, 32);
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 4, &name, &v), RD_ERR_NOENT);
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "", 1, T0), RD_ERR_INVAL);
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
	ck_assert_int_eq(rd_carp_if_demote(n.ifp, "pfsync", 32, T0 + RD_MSEC), 0);
	ck_assert_uint_eq(n.nout, 1); /* only the MASTER, not the BACKUP */
	ck_assert_uint_eq(n.out[0].vhid, 1);
	rd_carp_hdr_decode(n.out[0].b + 20, 36, &h);
	ck_assert_uint_eq(h.demote, 32);
	ck_assert_uint_eq(rd_carp_expiry(n.ifp), T0 + RD_MSEC + RD_SEC);
	/* No change of the sum: no advertisement. */
	n.nout = 0;
	rd_carp_if_demote(n.ifp, "other", 0, T0 + 2 * RD_MSEC);
	ck_assert_uint_eq(n.nout, 0);
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
	ck_assert_int_eq(rd_carp_if_demote_group(n.ifp, 1, &name, &v), 0);
	ck_assert_str_eq(name, "snderrors");
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
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 1);
	ck_assert_uint_eq(rd_carp_expiry(n.ifp), RD_TIME_NEVER);
	ck_assert(!rd_carp_if_link_up(n.ifp));
	/* Repeating the same state changes nothing. */
	rd_carp_if_link(n.ifp, false, T0 + RD_SEC);
	ck_assert_uint_eq(rd_carp_if_demotion(n.ifp), 1);
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

START_TEST(test_strict_accepts_restarted_peer_with_later_epoch)
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
	/* A restart with an older epoch (clock stepped back) is refused. */
	rd_carp_if_free(a.ifp);
	node_init(&a, 4, RD_CARP_BAL_NONE);
	va = add_strict(&a, "10.0.0.1", 100, 4000, NULL, 0);
	force_master(&a, va, T0 + 61 * RD_SEC);
	ck_assert_int_eq(deliver(&a, &b, T0 + 61 * RD_SEC), RD_CARP_REFUSED(RD_CARP_STAT_REPLAY));
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
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
	Suite *s = suite_create("carp-fsm");
	TCase *tc = tcase_create("fsm");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_vhost_starts_in_backup_with_master_down_armed);
	tcase_add_test(tc, test_master_down_expiry_makes_master_and_advertises);
	tcase_add_test(tc, test_master_advertises_every_interval);
	tcase_add_test(tc, test_master_steps_down_on_more_frequent_ad);
	tcase_add_test(tc, test_master_steps_down_on_equal_ad);
	tcase_add_test(tc, test_master_ignores_slower_ad);
	tcase_add_test(tc, test_master_steps_down_to_less_demoted_slower_master);
	tcase_add_test(tc, test_master_keeps_role_against_more_demoted_faster_ad);
	tcase_add_test(tc, test_backup_waits_on_slower_master_without_preempt);
	tcase_add_test(tc, test_backup_preempts_slower_master);
	tcase_add_test(tc, test_backup_does_not_preempt_faster_master);
	tcase_add_test(tc, test_backup_does_not_preempt_less_demoted_master);
	tcase_add_test(tc, test_backup_takes_over_more_demoted_master_without_preempt);
	tcase_add_test(tc, test_backup_takes_over_master_that_will_time_out);
	tcase_add_test(tc, test_bow_out_ad_gives_instant_takeover);
	tcase_add_test(tc, test_advbase_zero_backup_ignores_bow_out_rule);
	tcase_add_test(tc, test_backup_takes_over_when_master_falls_silent);
	tcase_add_test(tc, test_init_vhost_ignores_advertisements);
	tcase_add_test(tc, test_dual_family_vhost_sends_one_ad_per_family);
	tcase_add_test(tc, test_unicast_peers_each_get_the_ad);
	tcase_add_test(tc, test_announce_on_master_and_two_ads_later);
	tcase_add_test(tc, test_no_announce_in_ip_balancing);
	tcase_add_test(tc, test_demotion_sum_is_capped_and_clamped);
	tcase_add_test(tc, test_demotion_change_makes_master_advertise_at_once);
	tcase_add_test(tc, test_send_errors_demote_and_recover);
	tcase_add_test(tc, test_link_down_puts_vhosts_in_init_and_demotes);
	tcase_add_test(tc, test_link_up_returns_to_backup_and_undemotes);
	tcase_add_test(tc, test_if_leave_bows_out_masters_and_inits_all);
	tcase_add_test(tc, test_loop_cookie_is_constant_and_random);
	tcase_add_test(tc, test_nonstrict_accepts_repeated_counter);
	tcase_add_test(tc, test_strict_counters_grow_with_epoch_in_high_bits);
	tcase_add_test(tc, test_strict_accepts_growing_and_refuses_replayed_ads);
	tcase_add_test(tc, test_strict_own_packets_are_loops);
	tcase_add_test(tc, test_strict_unicast_refuses_unknown_source);
	tcase_add_test(tc, test_strict_accepts_restarted_peer_with_later_epoch);
	tcase_add_test(tc, test_custom_lladdr_is_authenticated);
	tcase_add_test(tc, test_ipv6_only_vhost_through_payload_input);
	tcase_add_test(tc, test_ip_balancing_filter_keeps_packets_of_own_master_vhosts);
	tcase_add_test(tc, test_no_balancing_accepts_everything);
	tcase_add_test(tc, test_vhost_add_validates_config);
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
