/*
 * CARP election: each rule of OpenBSD current (research note §2.3) as its
 * own test, driven by two rd_carp_if objects that feed each other's
 * advertisements at explicit times; start, timers, address families,
 * unicast peers and the announcements on becoming MASTER.
 */
#include "fsm_test_util.h"

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

/* Near the end of the clock the timers saturate instead of wrapping into
 * the past (a wrapped master-down would fire at once). */
START_TEST(test_timers_near_clock_end_are_never_in_the_past)
{
	struct node n;
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(1, 255, 254, "10.0.0.1", store);
	struct rd_carp_vhost *vh;
	const rd_time_t now = RD_TIME_NEVER - RD_SEC;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, now, &vh), 0);
	ck_assert_uint_ge(rd_carp_expiry(n.ifp), now);
	rd_carp_handle_expiry(n.ifp, now);
	ck_assert_int_eq(st(vh), RD_CARP_BACKUP);
	force_master(&n, vh, now);
	ck_assert_uint_ge(rd_carp_expiry(n.ifp), now);
	n.nout = 0;
	rd_carp_handle_expiry(n.ifp, now);
	ck_assert_uint_eq(n.nout, 0);
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

/* A (source src_a) is MASTER with skew sa; B (skew sb, source src_b)
 * advertises once to A. */
static void master_hears_from(uint8_t sa, uint8_t sb, int da, int db, const char *src_a,
                              const char *src_b, enum rd_carp_state want)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, sa, src_a, false);
	vb = add_vh(&b, 1, 1, sb, src_b, false);
	if (da > 0)
		rd_carp_if_demote(a.ifp, "carp", da, T0);
	if (db > 0)
		rd_carp_if_demote(b.ifp, "carp", db, T0);
	force_master(&a, va, T0);
	force_master(&b, vb, T0);
	a.nout = 0;
	ck_assert_int_eq(deliver(&b, &a, T0 + RD_MSEC), 0);
	ck_assert_int_eq(st(va), want);
	if (want == RD_CARP_BACKUP) {
		/* A tie lost waits RD_CARP_TIE_DELAY longer. */
		rd_time_t tie = sa == sb && da == db ? RD_CARP_TIE_DELAY : 0;

		ck_assert_uint_eq(md4(va), T0 + RD_MSEC + 3 * rd_carp_interval(1, sa) + tie);
		ck_assert_uint_eq(a.nout, 0);      /* no further advertisement */
		ck_assert_uint_eq(a.nannounce, 1); /* only the one of force_master */
	} else {
		/* Split-brain healing: the winner advertises and announces. */
		ck_assert_uint_eq(a.nout, 1);
		ck_assert_uint_eq(a.nannounce, 2);
		ck_assert_int_eq(a.announce[1][1], 0);
	}
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}

static void master_hears(uint8_t sa, uint8_t sb, int da, int db, enum rd_carp_state want)
{
	master_hears_from(sa, sb, da, db, "10.0.0.1", "10.0.0.2", want);
}

START_TEST(test_master_steps_down_on_more_frequent_ad)
{
	master_hears(100, 0, 0, 0, RD_CARP_BACKUP);
}
END_TEST

/* The tie-break: on an equal advertisement the lower source address wins;
 * the comparison is numeric (10.0.0.9 < 10.0.1.2), not the last byte. */
START_TEST(test_master_steps_down_on_equal_ad_from_lower_address)
{
	master_hears_from(50, 50, 0, 0, "10.0.0.2", "10.0.0.1", RD_CARP_BACKUP);
	master_hears_from(50, 50, 0, 0, "10.0.1.2", "10.0.0.9", RD_CARP_BACKUP);
}
END_TEST

START_TEST(test_master_keeps_role_against_equal_ad_from_higher_address)
{
	master_hears_from(50, 50, 0, 0, "10.0.0.1", "10.0.0.2", RD_CARP_MASTER);
	master_hears_from(50, 50, 0, 0, "10.0.0.9", "10.0.1.2", RD_CARP_MASTER);
	/* An unequal demotion decides as before, whatever the addresses. */
	master_hears_from(50, 50, 1, 0, "10.0.0.1", "10.0.0.2", RD_CARP_BACKUP);
	master_hears_from(50, 50, 0, 1, "10.0.0.2", "10.0.0.1", RD_CARP_MASTER);
}
END_TEST

/* A peer with another tie rule (ucarp compares a byte-swapped word) does
 * not step down: we won the tie, but when the same peer advertises again
 * half an interval or more later, we step down, so that two MASTERs last
 * one interval at most. A copy within half an interval (a duplicate) and
 * an equal ad from a third address each leave us MASTER. */
START_TEST(test_master_steps_down_when_a_tie_loser_keeps_advertising)
{
	struct node a, b, c;
	struct rd_carp_vhost *va, *vb, *vc;
	rd_time_t iv = rd_carp_interval(1, 50), t = T0 + RD_MSEC;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	node_init(&c, 3, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, 50, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, 50, "10.0.0.2", false);
	vc = add_vh(&c, 1, 1, 50, "10.0.0.3", false);
	force_master(&a, va, T0);
	force_master(&b, vb, T0);
	force_master(&c, vc, T0);
	ck_assert_uint_ge(b.nout, 1);
	ck_assert_uint_ge(c.nout, 1);
	/* b's and c's advertisements, each heard again later (as a MASTER
	 * that did not step down sends the same fields every interval). */
	ck_assert_int_eq(rd_carp_input(a.ifp, b.out[0].b, b.out[0].len, t), 0);
	ck_assert_int_eq(st(va), RD_CARP_MASTER); /* won the tie */
	ck_assert_int_eq(rd_carp_input(a.ifp, b.out[0].b, b.out[0].len, t + iv / 4), 0);
	ck_assert_int_eq(st(va), RD_CARP_MASTER); /* a copy within half an interval */
	ck_assert_int_eq(rd_carp_input(a.ifp, c.out[0].b, c.out[0].len, t + iv / 2), 0);
	ck_assert_int_eq(st(va), RD_CARP_MASTER); /* another peer: its own first tie */
	ck_assert_int_eq(rd_carp_input(a.ifp, c.out[0].b, c.out[0].len, t + iv / 2 + iv), 0);
	ck_assert_int_eq(st(va), RD_CARP_BACKUP); /* c still advertises an interval later */
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
	rd_carp_if_free(c.ifp);
}
END_TEST

START_TEST(test_master_keeps_role_against_slower_ad)
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

/* ---- split-brain healing (beyond OpenBSD) ---- */

static uint64_t vstat(const struct rd_carp_vhost *vh, int stat)
{
	struct rd_carp_vhost_info i;

	rd_carp_vhost_info(vh, &i);
	return i.stats[stat];
}

/* A partition healed: both are MASTER and hear each other. */
START_TEST(test_two_masters_loser_steps_down_winner_reannounces_once_per_interval)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;
	struct ad_spec loser = ad_default();
	uint8_t pkt[RD_CARP_PKT_MAX];
	size_t len;
	rd_time_t t = T0 + 10 * RD_SEC;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, 0, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, 100, "10.0.0.2", false);
	force_master(&a, va, T0);
	force_master(&b, vb, T0);
	a.nout = 0; /* B's one advertisement stays queued */
	a.nannounce = b.nannounce = 0;

	/* B's advertisement reaches A: A wins, advertises and announces now. */
	ck_assert_int_eq(deliver(&b, &a, t), 0);
	ck_assert_int_eq(st(va), RD_CARP_MASTER);
	ck_assert_uint_eq(a.nout, 1);
	ck_assert_uint_eq(a.nannounce, 1);
	ck_assert_int_eq(a.announce[0][0], 1);
	ck_assert_int_eq(a.announce[0][1], 0);
	ck_assert_uint_eq(vstat(va, RD_CARP_STAT_REANNOUNCE), 1);
	ck_assert_uint_eq(rd_carp_expiry(a.ifp), t + RD_SEC);
	/* ... which makes B step down with one parting advertisement (it was
	 * MASTER for 10 s) and no announcement. */
	ck_assert_int_eq(deliver(&a, &b, t + RD_MSEC), 0);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	ck_assert_uint_eq(b.nout, 1);
	ck_assert_uint_eq(b.nannounce, 0);
	ck_assert_uint_eq(vstat(vb, RD_CARP_STAT_REANNOUNCE), 0);

	/* B's losing advertisement again (late, or replayed) within A's
	 * interval: accepted, but no second announcement, no extra ad. */
	loser.advskew = 100;
	loser.src = "10.0.0.2";
	len = make_ad(&loser, pkt);
	ck_assert_int_eq(rd_carp_input(a.ifp, pkt, len, t + RD_SEC / 2), 0);
	ck_assert_int_eq(rd_carp_input(a.ifp, pkt, len, t + RD_SEC - 1), 0);
	ck_assert_uint_eq(a.nout, 0);
	ck_assert_uint_eq(a.nannounce, 1);
	ck_assert_uint_eq(vstat(va, RD_CARP_STAT_REANNOUNCE), 1);
	/* A full interval later it would heal again. */
	ck_assert_int_eq(rd_carp_input(a.ifp, pkt, len, t + RD_SEC), 0);
	ck_assert_uint_eq(a.nannounce, 2);
	ck_assert_uint_eq(vstat(va, RD_CARP_STAT_REANNOUNCE), 2);
	{
		uint64_t s[RD_CARP_STAT_COUNT];

		rd_carp_if_stats(a.ifp, s);
		ck_assert_uint_eq(s[RD_CARP_STAT_REANNOUNCE], 2);
	}
	ck_assert_str_eq(rd_carp_stat_name(RD_CARP_STAT_REANNOUNCE), "reannounce");
	ck_assert_str_eq(rd_carp_stat_name(RD_CARP_STAT_PREEMPT), "preempt");
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/*
 * The other order: the winner's advertisement reaches the loser first. The
 * loser, MASTER for a while, sends one parting advertisement as it steps
 * down; the winner hears it and re-announces.
 */
START_TEST(test_healed_partition_winner_first_parting_ad_makes_winner_reannounce)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;
	rd_time_t t = T0 + 10 * RD_SEC;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, 0, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, 100, "10.0.0.2", false);
	force_master(&a, va, T0);
	force_master(&b, vb, T0);
	a.nout = b.nout = 0;
	a.nannounce = b.nannounce = 0;
	rd_carp_handle_expiry(a.ifp, t); /* A's periodic advertisement */
	ck_assert_uint_eq(a.nout, 1);
	ck_assert_int_eq(deliver(&a, &b, t), 0);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	ck_assert_uint_eq(b.nout, 1);
	ck_assert_int_eq(deliver(&b, &a, t + RD_MSEC), 0);
	ck_assert_int_eq(st(va), RD_CARP_MASTER);
	/* Its re-announce (round 0; the advertisement before it may complete
	 * the delayed round 1 of becoming MASTER). */
	ck_assert_uint_ge(a.nannounce, 1);
	ck_assert_int_eq(a.announce[a.nannounce - 1][1], 0);
	ck_assert_uint_eq(vstat(va, RD_CARP_STAT_REANNOUNCE), 1);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/*
 * A MASTER of less than one interval (several backups took over at once)
 * and a MASTER that loses on demotion step down silently: their parting
 * advertisement would make other backups preempt or take over again.
 */
START_TEST(test_no_parting_ad_after_a_moment_as_master_or_on_demotion)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, 0, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, 100, "10.0.0.2", false);
	force_master(&a, va, T0);
	force_master(&b, vb, T0 + RD_SEC);
	a.nout = b.nout = 0;
	ck_assert_int_eq(rd_carp_vhost_set_state(va, RD_CARP_MASTER, T0 + RD_SEC), 0);
	a.nout = 0;
	rd_carp_handle_expiry(a.ifp, T0 + 2 * RD_SEC);
	ck_assert_uint_eq(a.nout, 1);
	/* B has been MASTER for 0.5 s: silent. */
	ck_assert_int_eq(deliver(&a, &b, T0 + RD_SEC + RD_SEC / 2), 0);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	ck_assert_uint_eq(b.nout, 0);

	/* B MASTER for 10 s but demoted less than A advertises: A's faster
	 * ad wins on timing, B equal: parting ad. With B more demoted than
	 * A's ad: silent. */
	force_master(&b, vb, T0 + 2 * RD_SEC);
	b.nout = 0;
	ck_assert_int_eq(rd_carp_node_demote(rd_carp_if_node(b.ifp), "carp", 5, T0 + 3 * RD_SEC),
	                 0);
	b.nout = 0;
	rd_carp_handle_expiry(a.ifp, T0 + 12 * RD_SEC);
	ck_assert_uint_eq(a.nout, 1);
	ck_assert_int_eq(deliver(&a, &b, T0 + 12 * RD_SEC), 0);
	ck_assert_int_eq(st(vb), RD_CARP_BACKUP);
	ck_assert_uint_eq(b.nout, 0);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* The second announcement follows two advertisements later, as on
 * becoming MASTER. */
START_TEST(test_reannounce_is_followed_by_the_delayed_round)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;

	node_init(&a, 1, RD_CARP_BAL_NONE);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, 0, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, 100, "10.0.0.2", false);
	force_master(&a, va, T0);
	for (int i = 0; i < 3; i++) /* A's delayed round of becoming MASTER */
		rd_carp_handle_expiry(a.ifp, rd_carp_expiry(a.ifp));
	force_master(&b, vb, T0 + 3 * RD_SEC + RD_MSEC);
	a.nannounce = 0;
	deliver(&b, &a, T0 + 3 * RD_SEC + 2 * RD_MSEC);
	ck_assert_uint_eq(a.nannounce, 1);
	rd_carp_handle_expiry(a.ifp, rd_carp_expiry(a.ifp));
	ck_assert_uint_eq(a.nannounce, 1);
	rd_carp_handle_expiry(a.ifp, rd_carp_expiry(a.ifp));
	ck_assert_uint_eq(a.nannounce, 2);
	ck_assert_int_eq(a.announce[1][1], 1);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* A BACKUP hearing a master it does not take over from announces nothing;
 * with ip balancing the winner advertises but never announces. */
START_TEST(test_reannounce_only_by_a_master_and_not_in_ip_balancing)
{
	struct node a, b;
	struct rd_carp_vhost *va, *vb;

	node_init(&a, 1, RD_CARP_BAL_IP);
	node_init(&b, 2, RD_CARP_BAL_NONE);
	va = add_vh(&a, 1, 1, 0, "10.0.0.1", false);
	vb = add_vh(&b, 1, 1, 100, "10.0.0.2", false);
	force_master(&b, vb, T0);
	a.nout = 0;
	deliver(&b, &a, T0 + RD_MSEC); /* A is BACKUP, B slower, no preempt */
	ck_assert_int_eq(st(va), RD_CARP_BACKUP);
	ck_assert_uint_eq(a.nout, 0);
	force_master(&a, va, T0 + 2 * RD_MSEC);
	rd_carp_handle_expiry(b.ifp, rd_carp_expiry(b.ifp)); /* B's next ad */
	a.nout = 0;
	deliver(&b, &a, T0 + RD_SEC + 3 * RD_MSEC);
	ck_assert_uint_eq(a.nout, 1);
	ck_assert_uint_eq(a.nannounce, 0);
	ck_assert_uint_eq(vstat(va, RD_CARP_STAT_REANNOUNCE), 1);
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

/* OpenBSD joins 224.0.0.18 / ff02::12 only for a family the carp interface
 * has addresses of: an IPv4-only vhost never hears an IPv6 advertisement,
 * even one whose HMAC (over the same addresses) is right. */
START_TEST(test_ad_of_a_family_the_vhost_does_not_use_is_refused)
{
	struct node n;
	struct rd_carp_vhost *vh;
	struct ad_spec a = ad_default();
	uint8_t pkt[RD_CARP_PKT_MAX];
	size_t len;
	uint64_t s[RD_CARP_STAT_COUNT];

	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 1, 1, 100, "10.0.0.1", false);
	force_master(&n, vh, T0);
	a.src = "fe80::9";
	a.dst = "ff02::12";
	len = make_ad(&a, pkt);
	ck_assert_int_eq(rd_carp_input(n.ifp, pkt, len, T0 + RD_MSEC),
	                 RD_CARP_REFUSED(RD_CARP_STAT_BADVHID));
	ck_assert_int_eq(st(vh), RD_CARP_MASTER);
	rd_carp_if_stats(n.ifp, s);
	ck_assert_uint_eq(s[RD_CARP_STAT_BADVHID], 1);
	rd_carp_if_free(n.ifp);
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
		rd_carp_if_demote(a.ifp, "carp", da, T0);
	if (db > 0)
		rd_carp_if_demote(g_b.ifp, "carp", db, T0);
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
	ck_assert_str_eq(g_b.changes[g_b.nchanges - 1].why, "master will time out");
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
	ck_assert(rd_carp_hdr_is_bow_out(&h));
	ck_assert_uint_eq(rd_carp_expiry(a.ifp), RD_TIME_NEVER);
	deliver(&a, &b, T0 + RD_SEC / 2);
	ck_assert_int_eq(st(vb), RD_CARP_MASTER);
	ck_assert_str_eq(b.changes[b.nchanges - 1].why, "master left (bow-out)");
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
}
END_TEST

START_TEST(test_bow_out_is_255_255_and_nothing_else)
{
	struct rd_carp_hdr h;
	struct node n;
	struct rd_carp_vhost *vh;
	struct rd_carp_ip_info ip;

	memset(&h, 0, sizeof(h));
	h.advbase = 255;
	h.advskew = 255;
	ck_assert(rd_carp_hdr_is_bow_out(&h));
	ck_assert_uint_eq(RD_CARP_BOW_OUT_ADVBASE, 255);
	ck_assert_uint_eq(RD_CARP_BOW_OUT_ADVSKEW, 255);
	h.advskew = 254; /* the slowest ad a configured vhost can send */
	ck_assert(!rd_carp_hdr_is_bow_out(&h));
	h.advbase = 254;
	h.advskew = 255;
	ck_assert(!rd_carp_hdr_is_bow_out(&h));
	ck_assert(!rd_carp_hdr_is_bow_out(NULL));

	/* A MASTER at the slowest configurable timing: its ads are not bow-outs. */
	node_init(&n, 1, RD_CARP_BAL_NONE);
	vh = add_vh(&n, 1, 255, 254, "10.0.0.1", false);
	force_master(&n, vh, T0);
	ck_assert_uint_eq(n.nout, 1);
	ck_assert(!n.out[0].bow_out);
	ck_assert_int_eq(rd_carp_ip_parse(n.out[0].b, n.out[0].len, &ip), 0);
	ck_assert_int_eq(rd_carp_hdr_decode(ip.carp, ip.carp_len, &h), 0);
	ck_assert(!rd_carp_hdr_is_bow_out(&h));
	rd_carp_if_free(n.ifp);
}
END_TEST

/* The "will time out" rule compares (3 x own advbase s, own skew us) with
 * the ad's timeval: a bow-out (255, 255/256 s) beats it up to advbase 85
 * (255 s + at most 254/256 s), not from 86 on, where the backup re-arms. */
static enum rd_carp_state backup_hears_bow_out(uint8_t own_advbase, uint8_t own_skew)
{
	struct node n;
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(1, own_advbase, own_skew, "10.0.0.2", store);
	struct rd_carp_vhost *vh;
	struct ad_spec a = ad_default();
	uint8_t pkt[RD_CARP_PKT_MAX];
	size_t len;
	enum rd_carp_state r;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, &vh), 0);
	a.advbase = 255;
	a.advskew = 255;
	len = make_ad(&a, pkt);
	ck_assert_int_eq(rd_carp_input(n.ifp, pkt, len, T0 + RD_SEC), 0);
	r = st(vh);
	if (r == RD_CARP_BACKUP)
		ck_assert_uint_eq(md4(vh),
		                  T0 + RD_SEC + rd_carp_master_down(own_advbase, own_skew, 0));
	rd_carp_if_free(n.ifp);
	return r;
}

START_TEST(test_bow_out_takeover_boundary_is_advbase_85)
{
	ck_assert_int_eq(backup_hears_bow_out(85, 254), RD_CARP_MASTER);
	ck_assert_int_eq(backup_hears_bow_out(86, 0), RD_CARP_BACKUP);
	ck_assert_int_eq(backup_hears_bow_out(1, 0), RD_CARP_MASTER);
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

int main(void)
{
	Suite *s = suite_create("carp-election");
	TCase *tc = tcase_create("election");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_vhost_starts_in_backup_with_master_down_armed);
	tcase_add_test(tc, test_master_down_expiry_makes_master_and_advertises);
	tcase_add_test(tc, test_timers_near_clock_end_are_never_in_the_past);
	tcase_add_test(tc, test_master_advertises_every_interval);
	tcase_add_test(tc, test_master_steps_down_on_more_frequent_ad);
	tcase_add_test(tc, test_master_steps_down_on_equal_ad_from_lower_address);
	tcase_add_test(tc, test_master_keeps_role_against_equal_ad_from_higher_address);
	tcase_add_test(tc, test_master_steps_down_when_a_tie_loser_keeps_advertising);
	tcase_add_test(tc, test_master_keeps_role_against_slower_ad);
	tcase_add_test(tc, test_master_steps_down_to_less_demoted_slower_master);
	tcase_add_test(tc, test_master_keeps_role_against_more_demoted_faster_ad);
	tcase_add_test(tc, test_two_masters_loser_steps_down_winner_reannounces_once_per_interval);
	tcase_add_test(tc, test_healed_partition_winner_first_parting_ad_makes_winner_reannounce);
	tcase_add_test(tc, test_no_parting_ad_after_a_moment_as_master_or_on_demotion);
	tcase_add_test(tc, test_reannounce_is_followed_by_the_delayed_round);
	tcase_add_test(tc, test_reannounce_only_by_a_master_and_not_in_ip_balancing);
	tcase_add_test(tc, test_ad_of_a_family_the_vhost_does_not_use_is_refused);
	tcase_add_test(tc, test_backup_waits_on_slower_master_without_preempt);
	tcase_add_test(tc, test_backup_preempts_slower_master);
	tcase_add_test(tc, test_backup_does_not_preempt_faster_master);
	tcase_add_test(tc, test_backup_does_not_preempt_less_demoted_master);
	tcase_add_test(tc, test_backup_takes_over_more_demoted_master_without_preempt);
	tcase_add_test(tc, test_backup_takes_over_master_that_will_time_out);
	tcase_add_test(tc, test_bow_out_is_255_255_and_nothing_else);
	tcase_add_test(tc, test_bow_out_ad_gives_instant_takeover);
	tcase_add_test(tc, test_bow_out_takeover_boundary_is_advbase_85);
	tcase_add_test(tc, test_advbase_zero_backup_ignores_bow_out_rule);
	tcase_add_test(tc, test_backup_takes_over_when_master_falls_silent);
	tcase_add_test(tc, test_init_vhost_ignores_advertisements);
	tcase_add_test(tc, test_dual_family_vhost_sends_one_ad_per_family);
	tcase_add_test(tc, test_unicast_peers_each_get_the_ad);
	tcase_add_test(tc, test_announce_on_master_and_two_ads_later);
	tcase_add_test(tc, test_no_announce_in_ip_balancing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
