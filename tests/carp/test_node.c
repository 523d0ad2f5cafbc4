/*
 * Demotion groups per node (OpenBSD's interface groups): two ifs of one
 * host share a node; every vhost is in "carp" unless it left it; link loss
 * and send errors raise every group of the vhosts concerned, and a MASTER
 * on any if whose demotion changed advertises at once. Also the
 * compatibility calls on an if, and the node's own life.
 */
#include "fsm_test_util.h"

/* One host with a LAN and a WAN if on a shared node. */
struct host {
	struct rd_carp_node *cn;
	struct node lan, wan;
};

static void host_init(struct host *h)
{
	struct rd_carp_node_config nc;

	memset(&nc, 0, sizeof(nc));
	ck_assert_int_eq(rd_carp_node_new(&nc, &h->cn), 0);
	ck_assert_int_eq(node_init_in(&h->lan, 1, RD_CARP_BAL_NONE, h->cn, "lan"), 0);
	ck_assert_int_eq(node_init_in(&h->wan, 2, RD_CARP_BAL_NONE, h->cn, "wan"), 0);
}

static void host_free(struct host *h)
{
	rd_carp_if_free(h->lan.ifp);
	rd_carp_if_free(h->wan.ifp);
	rd_carp_node_free(h->cn);
}

/* A vhost with extra groups (NULL-terminated list, may be empty). */
static struct rd_carp_vhost *add_grouped(struct node *n, uint8_t vhid, uint8_t skew,
                                         const char *src, const char *const *groups)
{
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(vhid, 1, skew, src, store);
	struct rd_carp_vhost *vh = NULL;
	size_t k = 0;

	while (groups != NULL && groups[k] != NULL)
		k++;
	c.groups = groups;
	c.ngroups = k;
	ck_assert_int_eq(rd_carp_vhost_add(n->ifp, &c, T0, &vh), 0);
	return vh;
}

static unsigned int demote_of(const struct rd_carp_vhost *vh)
{
	struct rd_carp_vhost_info i;

	rd_carp_vhost_info(vh, &i);
	return i.demote;
}

/* ---- the partial failure of issue 9 ---- */

START_TEST(test_link_down_on_one_if_makes_the_other_ifs_master_advertise_and_lose)
{
	struct host h;
	struct node peer;
	struct rd_carp_vhost *lv, *pv;
	rd_time_t t = T0 + RD_SEC;

	host_init(&h);
	lv = add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	add_vh(&h.wan, 2, 1, 0, "10.0.1.1", false);
	/* The other firewall on the LAN: slower, no preempt. */
	node_init(&peer, 3, RD_CARP_BAL_NONE);
	pv = add_vh(&peer, 1, 1, 100, "10.0.0.2", false);
	force_master(&h.lan, lv, T0);
	h.lan.nout = 0;

	ck_assert_int_eq(rd_carp_if_link(h.wan.ifp, false, t), 0);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 1);
	/* The LAN MASTER advertised the new demotion at once. */
	ck_assert_uint_eq(h.lan.nout, 1);
	ck_assert_uint_eq(sent_demote(&h.lan, 0), 1);
	ck_assert_uint_eq(demote_of(lv), 1);
	ck_assert_uint_eq(rd_carp_expiry(h.lan.ifp), t + RD_SEC);
	/* The peer takes over without preempt, and we step down on its ad. */
	ck_assert_int_eq(deliver(&h.lan, &peer, t + RD_MSEC), 0);
	ck_assert_int_eq(st(pv), RD_CARP_MASTER);
	ck_assert_str_eq(peer.changes[peer.nchanges - 1].why, "master more demoted");
	ck_assert_int_eq(deliver(&peer, &h.lan, t + 2 * RD_MSEC), 0);
	ck_assert_int_eq(st(lv), RD_CARP_BACKUP);
	ck_assert_str_eq(h.lan.changes[h.lan.nchanges - 1].why, "less demoted master advertising");

	/* Link back: the raise is taken back. */
	ck_assert_int_eq(rd_carp_if_link(h.wan.ifp, true, t + 10 * RD_SEC), 0);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 0);
	ck_assert_uint_eq(demote_of(lv), 0);
	rd_carp_if_free(peer.ifp);
	host_free(&h);
}
END_TEST

START_TEST(test_send_errors_on_one_if_demote_the_other_ifs_master)
{
	struct host h;
	struct rd_carp_vhost *lv, *wv;

	host_init(&h);
	lv = add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	wv = add_vh(&h.wan, 2, 1, 50, "10.0.1.1", false);
	force_master(&h.lan, lv, T0);
	h.wan.send_rc = -1;
	force_master(&h.wan, wv, T0);
	rd_carp_handle_expiry(h.wan.ifp, rd_carp_expiry(h.wan.ifp));
	h.lan.nout = 0;
	rd_carp_handle_expiry(h.wan.ifp, rd_carp_expiry(h.wan.ifp)); /* third error */
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 1);
	ck_assert_uint_eq(h.lan.nout, 1);
	ck_assert_uint_eq(sent_demote(&h.lan, 0), 1);
	host_free(&h);
}
END_TEST

START_TEST(test_vhost_out_of_carp_is_unaffected)
{
	struct host h;
	struct rd_carp_vhost *in, *out;
	static const char *const no_carp[] = {"-carp", NULL};
	struct rd_carp_vhost_info i;

	host_init(&h);
	in = add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	out = add_grouped(&h.lan, 3, 0, "10.0.0.1", no_carp);
	add_vh(&h.wan, 2, 1, 0, "10.0.1.1", false);
	force_master(&h.lan, in, T0);
	force_master(&h.lan, out, T0);
	rd_carp_vhost_info(out, &i);
	ck_assert_uint_eq(i.ngroups, 0);
	h.lan.nout = 0;
	rd_carp_if_link(h.wan.ifp, false, T0 + RD_SEC);
	ck_assert_uint_eq(h.lan.nout, 1); /* vhid 1 only */
	ck_assert_uint_eq(h.lan.out[0].vhid, 1);
	ck_assert_uint_eq(demote_of(in), 1);
	ck_assert_uint_eq(demote_of(out), 0);
	ck_assert_int_eq(st(out), RD_CARP_MASTER);
	host_free(&h);
}
END_TEST

START_TEST(test_extra_group_affects_only_its_members)
{
	struct host h;
	struct rd_carp_vhost *l1, *l3, *w2;
	static const char *const uplink[] = {"uplink", NULL};
	static const char *const dmz[] = {"-carp", "dmz", NULL};
	static const char *const wan_only[] = {"-carp", "uplink", NULL};
	struct rd_carp_vhost_info i;

	host_init(&h);
	l1 = add_grouped(&h.lan, 1, 0, "10.0.0.1", uplink);
	l3 = add_grouped(&h.lan, 3, 0, "10.0.0.1", dmz);
	w2 = add_grouped(&h.wan, 2, 0, "10.0.1.1", wan_only);
	rd_carp_vhost_info(l1, &i);
	ck_assert_uint_eq(i.ngroups, 2);
	ck_assert_str_eq(i.groups[0], "carp");
	ck_assert_str_eq(i.groups[1], "uplink");
	rd_carp_vhost_info(l3, &i);
	ck_assert_uint_eq(i.ngroups, 1);
	ck_assert_str_eq(i.groups[0], "dmz");
	/* The WAN vhost is only in "uplink": its link loss raises that. */
	rd_carp_if_link(h.wan.ifp, false, T0 + RD_SEC);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 0);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "uplink"), 1);
	ck_assert_uint_eq(demote_of(l1), 1);
	ck_assert_uint_eq(demote_of(l3), 0);
	ck_assert_uint_eq(demote_of(w2), 1);
	/* A caller's group: only its member moves. */
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "dmz", 5, T0 + 2 * RD_SEC), 0);
	ck_assert_uint_eq(demote_of(l1), 1);
	ck_assert_uint_eq(demote_of(l3), 5);
	ck_assert_uint_eq(rd_carp_if_demotion(h.lan.ifp), 5);
	ck_assert_uint_eq(rd_carp_if_demotion(h.wan.ifp), 1);
	host_free(&h);
}
END_TEST

/* ---- taking back ---- */

START_TEST(test_removing_a_vhost_gives_back_its_link_raise)
{
	struct host h;
	struct rd_carp_vhost *lv, *wv;
	rd_time_t t = T0 + RD_SEC;

	host_init(&h);
	lv = add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	wv = add_vh(&h.wan, 2, 1, 0, "10.0.1.1", false);
	force_master(&h.lan, lv, T0);
	rd_carp_if_link(h.wan.ifp, false, t);
	ck_assert_uint_eq(demote_of(lv), 1);
	h.lan.nout = 0;
	rd_carp_vhost_remove(h.wan.ifp, wv);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 0);
	ck_assert_uint_eq(demote_of(lv), 0);
	/* Removal has no time: the LAN MASTER's advertisement is due now. */
	ck_assert_uint_eq(h.lan.nout, 0);
	ck_assert_uint_eq(rd_carp_expiry(h.lan.ifp), 0);
	rd_carp_handle_expiry(h.lan.ifp, t + RD_MSEC);
	ck_assert_uint_eq(h.lan.nout, 1);
	ck_assert_uint_eq(sent_demote(&h.lan, 0), 0);
	ck_assert_uint_eq(rd_carp_expiry(h.lan.ifp), t + RD_MSEC + RD_SEC);
	host_free(&h);
}
END_TEST

START_TEST(test_freeing_an_if_gives_back_its_vhosts_raises)
{
	struct host h;
	struct rd_carp_vhost *lv;
	size_t before;

	host_init(&h);
	lv = add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	add_vh(&h.wan, 2, 1, 0, "10.0.1.1", false);
	add_vh(&h.wan, 3, 1, 0, "10.0.1.1", false);
	rd_carp_if_link(h.wan.ifp, false, T0 + RD_SEC);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 2);
	before = h.lan.ndemotions;
	rd_carp_if_free(h.wan.ifp);
	h.wan.ifp = NULL;
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 0);
	ck_assert_uint_eq(demote_of(lv), 0);
	ck_assert_uint_eq(h.lan.ndemotions, before + 1);
	ck_assert_uint_eq(h.lan.demotions[h.lan.ndemotions - 1], 0);
	host_free(&h);
}
END_TEST

START_TEST(test_changing_groups_moves_the_raises)
{
	struct host h;
	struct rd_carp_vhost *lv, *wv;
	static const char *const wan_group[] = {"-carp", "wan"};

	host_init(&h);
	lv = add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	wv = add_vh(&h.wan, 2, 1, 0, "10.0.1.1", false);
	force_master(&h.lan, lv, T0);
	rd_carp_if_link(h.wan.ifp, false, T0 + RD_SEC);
	h.lan.nout = 0;
	ck_assert_int_eq(rd_carp_vhost_set_groups(wv, wan_group, 2, T0 + 2 * RD_SEC), 0);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 0);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "wan"), 1);
	ck_assert_uint_eq(h.lan.nout, 1); /* the LAN MASTER at once: demotion 0 */
	ck_assert_uint_eq(sent_demote(&h.lan, 0), 0);
	/* Link up takes the raise back from where it is now. */
	rd_carp_if_link(h.wan.ifp, true, T0 + 3 * RD_SEC);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "wan"), 0);
	ck_assert_int_eq(rd_carp_vhost_set_groups(wv, NULL, 0, T0 + 4 * RD_SEC), 0);
	ck_assert_int_eq(rd_carp_vhost_set_groups(wv, (const char *const[]){"a b"}, 1, T0),
	                 RD_ERR_INVAL);
	host_free(&h);
}
END_TEST

START_TEST(test_vhost_added_on_a_down_link_raises_its_groups)
{
	struct host h;
	struct rd_carp_vhost *lv, *wv;

	host_init(&h);
	lv = add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	rd_carp_if_link(h.wan.ifp, false, T0);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 0); /* no vhost yet */
	wv = add_vh(&h.wan, 2, 1, 0, "10.0.1.1", false);
	ck_assert_int_eq(st(wv), RD_CARP_INIT);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 1);
	ck_assert_uint_eq(demote_of(lv), 1);
	rd_carp_if_link(h.wan.ifp, true, T0 + RD_SEC);
	ck_assert_uint_eq(demote_of(lv), 0);
	host_free(&h);
}
END_TEST

/* OpenBSD carp_group_demote_count: a carp interface in no group still
 * advertises its own count. */
START_TEST(test_vhost_in_no_group_still_advertises_its_own_send_errors)
{
	struct node n;
	struct rd_carp_vhost *vh;
	static const char *const no_carp[] = {"-carp", NULL};

	node_init_in(&n, 1, RD_CARP_BAL_NONE, NULL, "test0");
	vh = add_grouped(&n, 1, 0, "10.0.0.1", no_carp);
	n.send_rc = -1;
	force_master(&n, vh, T0);
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(demote_of(vh), 1);
	ck_assert_uint_eq(rd_carp_node_group_value(rd_carp_if_node(n.ifp), "carp"), 0);
	n.nout = 0;
	rd_carp_handle_expiry(n.ifp, rd_carp_expiry(n.ifp));
	ck_assert_uint_eq(sent_demote(&n, 0), 1);
	rd_carp_if_free(n.ifp);
}
END_TEST

/* ---- the demotion callback, compat calls, node life ---- */

START_TEST(test_demotion_callback_runs_for_each_if_concerned)
{
	struct host h;
	static const char *const no_carp[] = {"-carp", NULL};
	struct node third;

	host_init(&h);
	ck_assert_int_eq(node_init_in(&third, 4, RD_CARP_BAL_NONE, h.cn, "dmz"), 0);
	add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	add_vh(&h.wan, 2, 1, 0, "10.0.1.1", false);
	add_grouped(&third, 3, 0, "10.0.2.1", no_carp);
	rd_carp_node_demote(h.cn, "carp", 7, T0);
	ck_assert_uint_eq(h.lan.ndemotions, 1);
	ck_assert_uint_eq(h.lan.demotions[0], 7);
	ck_assert_uint_eq(h.wan.ndemotions, 1);
	ck_assert_uint_eq(h.wan.demotions[0], 7);
	ck_assert_uint_eq(third.ndemotions, 0); /* its vhost is not in "carp" */
	rd_carp_node_demote(h.cn, "carp", 0, T0);
	ck_assert_uint_eq(h.lan.ndemotions, 1);
	rd_carp_if_free(third.ifp);
	host_free(&h);
}
END_TEST

START_TEST(test_compat_calls_act_on_the_node)
{
	struct host h;
	struct rd_carp_vhost *wv;
	const char *a, *b;
	unsigned int va, vb;
	struct node x, y;

	host_init(&h);
	ck_assert_ptr_eq(rd_carp_if_node(h.lan.ifp), h.cn);
	add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	wv = add_vh(&h.wan, 2, 1, 0, "10.0.1.1", false);
	ck_assert_uint_eq(rd_carp_if_demotion(h.wan.ifp), 0);
	ck_assert_int_eq(rd_carp_if_demote(h.lan.ifp, "carp", 3, T0), 0);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 3);
	ck_assert_uint_eq(demote_of(wv), 3);
	ck_assert_uint_eq(rd_carp_if_demotion(h.lan.ifp), 3);
	ck_assert_uint_eq(rd_carp_if_demotion(h.wan.ifp), 3);
	ck_assert_int_eq(rd_carp_if_demote(h.wan.ifp, "pfsync", 1, T0), 0);
	for (size_t i = 0; i < 3; i++) {
		int ra = rd_carp_if_demote_group(h.wan.ifp, i, &a, &va);
		int rb = rd_carp_node_group(h.cn, i, &b, &vb);

		ck_assert_int_eq(ra, rb);
		if (ra == 0) {
			ck_assert_str_eq(a, b);
			ck_assert_uint_eq(va, vb);
		}
	}
	ck_assert_int_eq(rd_carp_node_group(h.cn, 1, &a, &va), 0);
	ck_assert_str_eq(a, "pfsync");
	ck_assert_int_eq(rd_carp_node_group(h.cn, 2, &a, &va), RD_ERR_NOENT);
	ck_assert_int_eq(rd_carp_if_demote(NULL, "carp", 1, T0), RD_ERR_INVAL);
	ck_assert_int_eq(rd_carp_node_demote(NULL, "carp", 1, T0), RD_ERR_INVAL);
	host_free(&h);

	/* Without a node each if has its own: a link loss stays on its link. */
	node_init(&x, 1, RD_CARP_BAL_NONE);
	node_init(&y, 2, RD_CARP_BAL_NONE);
	add_vh(&x, 1, 1, 0, "10.0.0.1", false);
	add_vh(&y, 2, 1, 0, "10.0.1.1", false);
	ck_assert_ptr_ne(rd_carp_if_node(x.ifp), rd_carp_if_node(y.ifp));
	rd_carp_if_link(y.ifp, false, T0);
	ck_assert_uint_eq(rd_carp_if_demotion(x.ifp), 0);
	ck_assert_uint_eq(rd_carp_if_demotion(y.ifp), 1);
	rd_carp_if_free(x.ifp);
	rd_carp_if_free(y.ifp);
}
END_TEST

START_TEST(test_node_freed_before_its_ifs_lives_until_the_last)
{
	struct host h;
	struct rd_carp_vhost *lv;

	host_init(&h);
	lv = add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	add_vh(&h.wan, 2, 1, 0, "10.0.1.1", false);
	rd_carp_node_free(h.cn); /* deferred: two ifs still use it */
	rd_carp_if_link(h.wan.ifp, false, T0);
	ck_assert_uint_eq(demote_of(lv), 1);
	rd_carp_if_free(h.wan.ifp);
	ck_assert_uint_eq(demote_of(lv), 0);
	rd_carp_if_free(h.lan.ifp); /* frees the node (ASan checks) */
}
END_TEST

START_TEST(test_group_configuration_is_checked)
{
	struct node n;
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(1, 1, 0, "10.0.0.1", store);
	const char *many[RD_CARP_MAX_GROUPS + 1];
	char names[RD_CARP_MAX_GROUPS + 1][8];
	static const char *const dup[] = {"carp", "x", "x", "carp"};
	static const char *const bad[][1] = {{""}, {"-x"}, {"a b"}, {NULL}};
	struct rd_carp_vhost *vh;
	struct rd_carp_vhost_info i;

	node_init(&n, 1, RD_CARP_BAL_NONE);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		c.groups = bad[k];
		c.ngroups = 1;
		ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_INVAL);
	}
	c.groups = NULL;
	c.ngroups = 1;
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_INVAL);
	/* "carp" plus 16 others is one too many; plus 15 fits. */
	for (int k = 0; k <= RD_CARP_MAX_GROUPS; k++) {
		snprintf(names[k], sizeof(names[k]), "g%d", k);
		many[k] = names[k];
	}
	c.groups = many;
	c.ngroups = RD_CARP_MAX_GROUPS;
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, NULL), RD_ERR_INVAL);
	ck_assert_uint_eq(rd_carp_if_vhost_count(n.ifp), 0);
	c.ngroups = RD_CARP_MAX_GROUPS - 1;
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, &vh), 0);
	rd_carp_vhost_remove(n.ifp, vh);
	/* Duplicates and an explicit "carp" are taken once. */
	c.groups = dup;
	c.ngroups = 4;
	ck_assert_int_eq(rd_carp_vhost_add(n.ifp, &c, T0, &vh), 0);
	rd_carp_vhost_info(vh, &i);
	ck_assert_uint_eq(i.ngroups, 2);
	ck_assert_str_eq(i.groups[0], "carp");
	ck_assert_str_eq(i.groups[1], "x");
	rd_carp_if_free(n.ifp);
}
END_TEST

/* ---- groups live while a vhost is in them or they are above 0 ---- */

static size_t ngroups(const struct rd_carp_node *cn)
{
	size_t i = 0;

	while (rd_carp_node_group(cn, i, NULL, NULL) == 0)
		i++;
	return i;
}

static const char *group_at(const struct rd_carp_node *cn, size_t i)
{
	const char *name = NULL;

	ck_assert_int_eq(rd_carp_node_group(cn, i, &name, NULL), 0);
	return name;
}

START_TEST(test_groups_named_once_are_freed_back_at_zero)
{
	struct host h;
	char name[16];

	host_init(&h);
	add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		ck_assert_int_eq(rd_carp_node_demote(h.cn, name, 1, T0), 0);
		ck_assert_uint_eq(rd_carp_node_group_value(h.cn, name), 1);
		ck_assert_int_eq(rd_carp_node_demote(h.cn, name, -1, T0), 0);
	}
	ck_assert_uint_eq(ngroups(h.cn), 1);
	ck_assert_str_eq(group_at(h.cn, 0), "carp");
	/* Those above 0 stay, in creation order; one freed comes back at the end. */
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "a", 1, T0), 0);
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "b", 2, T0), 0);
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "c", 3, T0), 0);
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "a", -5, T0), 0);
	ck_assert_uint_eq(ngroups(h.cn), 3);
	ck_assert_str_eq(group_at(h.cn, 1), "b");
	ck_assert_str_eq(group_at(h.cn, 2), "c");
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "a", 4, T0), 0);
	ck_assert_str_eq(group_at(h.cn, 3), "a");
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "a"), 4);
	/* A lowering of a group that is gone creates nothing. */
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "zz", -1, T0), 0);
	ck_assert_uint_eq(ngroups(h.cn), 4);
	/* "carp" stays at 0 even with no vhost in it. */
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "carp", 1, T0), 0);
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "carp", -1, T0), 0);
	ck_assert_str_eq(group_at(h.cn, 0), "carp");
	host_free(&h);
}
END_TEST

START_TEST(test_configured_groups_stay_at_zero_until_their_last_vhost_leaves)
{
	struct host h;
	static const char *const shared[] = {"shared", NULL};
	struct rd_carp_vhost *lv, *wv;

	host_init(&h);
	lv = add_grouped(&h.lan, 1, 0, "10.0.0.1", shared);
	wv = add_grouped(&h.wan, 2, 0, "10.0.1.1", shared);
	ck_assert_uint_eq(ngroups(h.cn), 2);
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "shared", 1, T0), 0);
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "shared", -1, T0), 0);
	ck_assert_uint_eq(ngroups(h.cn), 2); /* configured: kept at 0 */
	rd_carp_vhost_remove(h.lan.ifp, lv);
	ck_assert_uint_eq(ngroups(h.cn), 2); /* wv is still in it */
	/* Above 0 when its last vhost leaves: kept until back at 0. */
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "shared", 2, T0), 0);
	ck_assert_int_eq(rd_carp_vhost_set_groups(wv, NULL, 0, T0), 0);
	ck_assert_uint_eq(ngroups(h.cn), 2);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "shared"), 2);
	ck_assert_int_eq(rd_carp_node_demote(h.cn, "shared", -2, T0), 0);
	ck_assert_uint_eq(ngroups(h.cn), 1);
	/* A vhost that joins it again makes it anew, at 0. */
	ck_assert_int_eq(rd_carp_vhost_set_groups(wv, shared, 1, T0), 0);
	ck_assert_uint_eq(ngroups(h.cn), 2);
	ck_assert_uint_eq(demote_of(wv), 0);
	host_free(&h);
}
END_TEST

START_TEST(test_a_raised_group_goes_when_its_vhost_is_removed)
{
	struct host h;
	static const char *const wan[] = {"wan", NULL};
	struct rd_carp_vhost *wv;

	host_init(&h);
	add_vh(&h.lan, 1, 1, 0, "10.0.0.1", false);
	wv = add_grouped(&h.wan, 2, 0, "10.0.1.1", wan);
	rd_carp_if_link(h.wan.ifp, false, T0 + RD_SEC);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "wan"), 1);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 1);
	rd_carp_vhost_remove(h.wan.ifp, wv);
	ck_assert_uint_eq(rd_carp_node_group_value(h.cn, "carp"), 0);
	ck_assert_uint_eq(ngroups(h.cn), 1);
	/* And freeing an if does the same for its vhosts' groups. */
	add_grouped(&h.wan, 3, 0, "10.0.1.1", wan);
	ck_assert_uint_eq(ngroups(h.cn), 2);
	rd_carp_if_free(h.wan.ifp);
	h.wan.ifp = NULL;
	ck_assert_uint_eq(ngroups(h.cn), 1);
	host_free(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carp-node");
	TCase *tc = tcase_create("node");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_link_down_on_one_if_makes_the_other_ifs_master_advertise_and_lose);
	tcase_add_test(tc, test_send_errors_on_one_if_demote_the_other_ifs_master);
	tcase_add_test(tc, test_vhost_out_of_carp_is_unaffected);
	tcase_add_test(tc, test_extra_group_affects_only_its_members);
	tcase_add_test(tc, test_removing_a_vhost_gives_back_its_link_raise);
	tcase_add_test(tc, test_freeing_an_if_gives_back_its_vhosts_raises);
	tcase_add_test(tc, test_changing_groups_moves_the_raises);
	tcase_add_test(tc, test_vhost_added_on_a_down_link_raises_its_groups);
	tcase_add_test(tc, test_vhost_in_no_group_still_advertises_its_own_send_errors);
	tcase_add_test(tc, test_demotion_callback_runs_for_each_if_concerned);
	tcase_add_test(tc, test_compat_calls_act_on_the_node);
	tcase_add_test(tc, test_node_freed_before_its_ifs_lives_until_the_last);
	tcase_add_test(tc, test_group_configuration_is_checked);
	tcase_add_test(tc, test_groups_named_once_are_freed_back_at_zero);
	tcase_add_test(tc, test_configured_groups_stay_at_zero_until_their_last_vhost_leaves);
	tcase_add_test(tc, test_a_raised_group_goes_when_its_vhost_is_removed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
