/*
 * Unit tests of carpd's demotion bookkeeping (holds.c): the hold and demote
 * request parsers, and the book that turns edges and holds into differences
 * for the engine. The engine is a fake: per group a counter that the book's
 * adjust function changes, and that the test may raise on its own (as a
 * lost carpdev does) or make refuse.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "carpd.h"

#define S RD_SEC

/* ---- the fake engine ---- */

struct fake {
	char name[CD_GROUPS_MAX + 2][CD_NAME_MAX];
	long value[CD_GROUPS_MAX + 2];
	int n;
	int calls;
	bool refuse;
	int refuse_call; /* refuse the call of this number (1-based); 0: none */
	char log[256];   /* "group+delta " per call */
};

static long *counter(struct fake *f, const char *group)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->name[i], group) == 0)
			return &f->value[i];
	ck_assert_int_lt(f->n, CD_GROUPS_MAX + 2);
	snprintf(f->name[f->n], CD_NAME_MAX, "%s", group);
	f->value[f->n] = 0;
	return &f->value[f->n++];
}

static int fake_adjust(void *user, const char *group, int delta, rd_time_t now)
{
	struct fake *f = user;

	(void)now;
	f->calls++;
	if (f->refuse || f->calls == f->refuse_call)
		return RD_ERR_NOMEM;
	snprintf(f->log + strlen(f->log), sizeof(f->log) - strlen(f->log), "%s%+d ", group, delta);
	*counter(f, group) += delta;
	ck_assert_int_ge(*counter(f, group), 0);
	return 0;
}

static struct fake F;
static struct cd_book B;
static char err[CD_ERR_LEN];

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	cd_book_init(&B, fake_adjust, &F);
	err[0] = '\0';
}

/* ---- parsing ---- */

static int hold_words(const char *line, struct cd_hold_req *r, enum cd_book_stat *why)
{
	static char buf[256];
	char *w[6];
	int n;

	snprintf(buf, sizeof(buf), "%s", line);
	n = dm_words(buf, w, 6);
	return cd_hold_parse(w, n, r, err, why);
}

static int demote_words(const char *line, struct cd_demote_req *r, enum cd_book_stat *why)
{
	static char buf[256];
	char *w[6];
	int n;

	snprintf(buf, sizeof(buf), "%s", line);
	n = dm_words(buf, w, 6);
	return cd_demote_parse(w, n, r, err, why);
}

START_TEST(hold_request_parses_every_field)
{
	struct cd_hold_req r;
	enum cd_book_stat why;

	ck_assert_int_eq(hold_words("hold syncd carp 32 10 unless-master", &r, &why), 0);
	ck_assert_str_eq(r.holder, "syncd");
	ck_assert_str_eq(r.group, "carp");
	ck_assert_uint_eq(r.value, 32);
	ck_assert_uint_eq(r.ttl, 10);
	ck_assert(r.unless_master);
	ck_assert_int_eq(hold_words("hold a.B-9_x lan 0 86400", &r, &why), 0);
	ck_assert_str_eq(r.holder, "a.B-9_x");
	ck_assert_uint_eq(r.value, 0);
	ck_assert_uint_eq(r.ttl, 86400);
	ck_assert(!r.unless_master);
	ck_assert_int_eq(hold_words("hold h carp 255 1", &r, &why), 0);
	ck_assert_uint_eq(r.value, 255);
	/* 31 characters are a name, 32 are not. */
	ck_assert_int_eq(hold_words("hold aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa carp 1 1", &r, &why), 0);
}
END_TEST

/* The request is refused with the reason's counter and a message naming the field. */
static void hold_bad(const char *line, enum cd_book_stat want, const char *msg)
{
	struct cd_hold_req r;
	enum cd_book_stat why = CD_BS_COUNT;

	ck_assert_int_eq(hold_words(line, &r, &why), -1);
	ck_assert_msg(why == want, "'%s': reason %s, expected %s", line, cd_book_stat_name(why),
	              cd_book_stat_name(want));
	ck_assert_msg(strstr(err, "expected 'hold HOLDER GROUP VALUE TTL [unless-master]'") != NULL,
	              "'%s': %s", line, err);
	ck_assert_msg(strstr(err, msg) != NULL, "'%s': '%s' lacks '%s'", line, err, msg);
}

START_TEST(hold_request_refuses_each_bad_field_with_its_reason)
{
	hold_bad("hold syncd carp 32", CD_BS_BAD_SYNTAX, "too few words");
	hold_bad("hold syncd carp 32 10 unless-master x", CD_BS_BAD_SYNTAX, "too many words");
	hold_bad("hold syncd carp 32 10 unless", CD_BS_BAD_SYNTAX, "got 'unless'");
	hold_bad("hold sy$d carp 32 10", CD_BS_BAD_HOLDER, "HOLDER: 1 to 31 characters");
	hold_bad("hold aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa carp 1 1", CD_BS_BAD_HOLDER, "HOLDER");
	hold_bad("hold syncd -carp 32 10", CD_BS_BAD_GROUP, "not starting with '-'");
	hold_bad("hold syncd gggggggggggggggggggggggggggggggg 1 1", CD_BS_BAD_GROUP, "GROUP");
	hold_bad("hold syncd carp 256 10", CD_BS_BAD_VALUE, "VALUE: 0 to 255, got '256'");
	hold_bad("hold syncd carp -1 10", CD_BS_BAD_VALUE, "got '-1'");
	hold_bad("hold syncd carp +1 10", CD_BS_BAD_VALUE, "got '+1'");
	hold_bad("hold syncd carp 3x 10", CD_BS_BAD_VALUE, "got '3x'");
	hold_bad("hold syncd carp 32 0", CD_BS_BAD_TTL, "TTL: 1 to 86400 seconds, got '0'");
	hold_bad("hold syncd carp 32 86401", CD_BS_BAD_TTL, "got '86401'");
	hold_bad("hold syncd carp 32 99999999999999999999999", CD_BS_BAD_TTL, "TTL");
}
END_TEST

START_TEST(demote_request_needs_a_sign_and_at_most_255)
{
	struct cd_demote_req r;
	enum cd_book_stat why;

	ck_assert_int_eq(demote_words("demote carp +5", &r, &why), 0);
	ck_assert_str_eq(r.group, "carp");
	ck_assert_int_eq(r.delta, 5);
	ck_assert_int_eq(demote_words("demote maint -255", &r, &why), 0);
	ck_assert_int_eq(r.delta, -255);
	ck_assert_int_eq(demote_words("demote carp 5", &r, &why), -1);
	ck_assert_int_eq(why, CD_BS_BAD_VALUE);
	ck_assert_int_eq(demote_words("demote carp +256", &r, &why), -1);
	ck_assert_int_eq(why, CD_BS_BAD_VALUE);
	ck_assert_int_eq(demote_words("demote carp +-5", &r, &why), -1);
	ck_assert_int_eq(why, CD_BS_BAD_VALUE);
	ck_assert_int_eq(demote_words("demote carp", &r, &why), -1);
	ck_assert_int_eq(why, CD_BS_BAD_SYNTAX);
	ck_assert_int_eq(demote_words("demote -x +1", &r, &why), -1);
	ck_assert_int_eq(why, CD_BS_BAD_GROUP);
	ck_assert_ptr_nonnull(strstr(err, "expected 'demote GROUP +N' or 'demote GROUP -N'"));
}
END_TEST

/* ---- the book ---- */

START_TEST(a_hold_is_a_level_the_engine_sees_as_differences)
{
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 32, 10, 0, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 32);
	/* Re-stating the same value changes nothing in the engine. */
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 32, 10, 1 * S, err), 0);
	ck_assert_int_eq(F.calls, 1);
	/* A new value replaces the old one; the engine gets -16. */
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 16, 10, 2 * S, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 16);
	ck_assert_int_eq(F.calls, 2);
	ck_assert_uint_eq(cd_book_find(&B, "syncd", "carp")->value, 16);
	/* 0 removes the hold. */
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 0, 10, 3 * S, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 0);
	ck_assert_ptr_null(cd_book_find(&B, "syncd", "carp"));
	ck_assert_uint_eq(B.nholds, 0);
	ck_assert_uint_eq(B.ngroups, 0);
	/* A 0 with nothing held is a request carried out with nothing to do. */
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 0, 10, 4 * S, err), 0);
	ck_assert_int_eq(F.calls, 3);
	ck_assert_uint_eq(B.stats[CD_BS_HOLD_REQUESTS], 5);
}
END_TEST

START_TEST(holds_of_several_holders_add_up_with_the_edge)
{
	ck_assert_int_eq(cd_book_demote(&B, "carp", +5, 0, err), 0);
	ck_assert_int_eq(cd_book_hold(&B, "startup", "carp", 128, 30, 0, err), 0);
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 32, 10, 0, err), 0);
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "lan", 7, 10, 0, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 165);
	ck_assert_int_eq(*counter(&F, "lan"), 7);
	ck_assert_uint_eq(cd_book_wanted(&B, "carp"), 165);
	ck_assert_uint_eq(cd_book_group(&B, "carp")->edge, 5);
	ck_assert_uint_eq(cd_book_group(&B, "carp")->applied, 165);
	ck_assert_int_eq(cd_book_hold(&B, "startup", "carp", 0, 1, 0, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 37);
	ck_assert_uint_eq(B.stats[CD_BS_DEMOTE_REQUESTS], 1);
}
END_TEST

START_TEST(the_edge_is_clamped_at_0_and_never_takes_the_engines_own_raise)
{
	/* The engine raised carp itself (a carpdev lost its link). */
	*counter(&F, "carp") = 1;
	/* An operator's -5 with nothing requested before takes nothing back. */
	ck_assert_int_eq(cd_book_demote(&B, "carp", -5, 0, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 1);
	ck_assert_int_eq(F.calls, 0);
	ck_assert_int_eq(cd_book_demote(&B, "carp", +5, 0, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 6);
	ck_assert_int_eq(cd_book_demote(&B, "carp", -10, 0, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 1);
	ck_assert_ptr_null(cd_book_group(&B, "carp"));
	/* Nor do holds: they take back exactly what they added. */
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 32, 10, 0, err), 0);
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 0, 10, 0, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 1);
}
END_TEST

START_TEST(a_demote_past_255_is_refused_and_nothing_changes)
{
	ck_assert_int_eq(cd_book_demote(&B, "carp", +200, 0, err), 0);
	ck_assert_int_eq(cd_book_demote(&B, "carp", +56, 0, err), RD_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err, "would be 256 (at most 255)"));
	ck_assert_int_eq(*counter(&F, "carp"), 200);
	ck_assert_uint_eq(cd_book_group(&B, "carp")->edge, 200);
	ck_assert_uint_eq(B.stats[CD_BS_OVER_LIMIT], 1);
	ck_assert_uint_eq(B.stats[CD_BS_DEMOTE_REQUESTS], 1);
	ck_assert_int_eq(cd_book_demote(&B, "carp", +55, 0, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 255);
}
END_TEST

START_TEST(a_hold_not_restated_lapses_after_its_ttl)
{
	struct cd_hold h;

	ck_assert_uint_eq(cd_book_expiry(&B), RD_TIME_NEVER);
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 32, 10, 0, err), 0);
	ck_assert_int_eq(cd_book_hold(&B, "startup", "carp", 128, 30, 0, err), 0);
	ck_assert_uint_eq(cd_book_expiry(&B), 10 * S);
	/* Re-stated at 5 s: now due at 15 s. */
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 32, 10, 5 * S, err), 0);
	ck_assert_uint_eq(cd_book_expiry(&B), 15 * S);
	ck_assert_int_eq(cd_book_expire(&B, 15 * S - 1, &h), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 160);
	ck_assert_int_eq(cd_book_expire(&B, 15 * S, &h), 1);
	ck_assert_str_eq(h.holder, "syncd");
	ck_assert_str_eq(h.group, "carp");
	ck_assert_uint_eq(h.value, 32);
	ck_assert_uint_eq(h.ttl, 10);
	ck_assert_int_eq(*counter(&F, "carp"), 128);
	ck_assert_int_eq(cd_book_expire(&B, 15 * S, &h), 0);
	ck_assert_uint_eq(cd_book_expiry(&B), 30 * S);
	ck_assert_int_eq(cd_book_expire(&B, 31 * S, &h), 1);
	ck_assert_str_eq(h.holder, "startup");
	ck_assert_int_eq(*counter(&F, "carp"), 0);
	ck_assert_uint_eq(B.stats[CD_BS_HOLDS_LAPSED], 2);
	ck_assert_uint_eq(cd_book_expiry(&B), RD_TIME_NEVER);
	ck_assert_uint_eq(B.ngroups, 0);
}
END_TEST

START_TEST(an_engine_refusal_leaves_book_and_engine_as_they_were)
{
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 32, 10, 0, err), 0);
	F.refuse = true;
	ck_assert_int_eq(cd_book_hold(&B, "syncd", "carp", 64, 10, 1 * S, err), RD_ERR_NOMEM);
	ck_assert_ptr_nonnull(strstr(err, "hold syncd on carp: the engine refused"));
	ck_assert_uint_eq(cd_book_find(&B, "syncd", "carp")->value, 32);
	ck_assert_uint_eq(cd_book_find(&B, "syncd", "carp")->expires, 10 * S);
	ck_assert_int_eq(cd_book_hold(&B, "other", "lan", 5, 10, 1 * S, err), RD_ERR_NOMEM);
	ck_assert_ptr_null(cd_book_find(&B, "other", "lan"));
	ck_assert_ptr_null(cd_book_group(&B, "lan"));
	ck_assert_int_eq(cd_book_demote(&B, "carp", +3, 1 * S, err), RD_ERR_NOMEM);
	ck_assert_uint_eq(cd_book_group(&B, "carp")->edge, 0);
	ck_assert_uint_eq(B.stats[CD_BS_ENGINE_REFUSED], 3);
	ck_assert_uint_eq(B.stats[CD_BS_HOLD_REQUESTS], 1);
	F.refuse = false;
	ck_assert_int_eq(*counter(&F, "carp"), 32);
	ck_assert_uint_eq(cd_book_group(&B, "carp")->applied, 32);
}
END_TEST

START_TEST(the_tables_are_bounded)
{
	char name[CD_NAME_MAX];
	int i;

	for (i = 0; i < CD_HOLDS_MAX; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		ck_assert_int_eq(cd_book_hold(&B, name, "carp", 1, 10, 0, err), 0);
	}
	ck_assert_int_eq(cd_book_hold(&B, "one-more", "carp", 1, 10, 0, err), RD_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err, "at most 64 holds"));
	ck_assert_uint_eq(B.stats[CD_BS_TABLE_FULL], 1);
	ck_assert_int_eq(*counter(&F, "carp"), CD_HOLDS_MAX);
	/* A known hold can still change. */
	ck_assert_int_eq(cd_book_hold(&B, "h0", "carp", 2, 10, 0, err), 0);
	setup();
	for (i = 0; i < CD_GROUPS_MAX; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		ck_assert_int_eq(cd_book_demote(&B, name, +1, 0, err), 0);
	}
	ck_assert_int_eq(cd_book_demote(&B, "g-more", +1, 0, err), RD_ERR_LIMIT);
	ck_assert_ptr_nonnull(strstr(err, "at most 64 demotion groups"));
	ck_assert_int_eq(cd_book_hold(&B, "x", "g-more", 1, 1, 0, err), RD_ERR_LIMIT);
	ck_assert_uint_eq(B.stats[CD_BS_TABLE_FULL], 2);
	/* A group carpd no longer adds to frees its entry. */
	ck_assert_int_eq(cd_book_demote(&B, "g0", -1, 0, err), 0);
	ck_assert_int_eq(cd_book_demote(&B, "g-more", +1, 0, err), 0);
}
END_TEST

START_TEST(a_change_of_several_ops_is_one_difference_per_group)
{
	/* syncd's first report ends the start-up hold: 128 -> 32 in one step. */
	ck_assert_int_eq(cd_book_hold(&B, "startup", "carp", 128, 30, 0, err), 0);
	struct cd_book_op ops[2] = {
	    {.holder = "syncd", .group = "carp", .value = 32, .ttl = 10},
	    {.holder = "startup", .group = "carp", .value = 0, .ttl = 1, .internal = true}};
	F.log[0] = '\0';
	ck_assert_int_eq(cd_book_apply(&B, ops, 2, 1 * S, err), 0);
	ck_assert_str_eq(F.log, "carp-96 ");
	ck_assert_int_eq(*counter(&F, "carp"), 32);
	ck_assert_ptr_null(cd_book_find(&B, "startup", "carp"));
	/* The internal op is not a request of its own. */
	ck_assert_uint_eq(B.stats[CD_BS_HOLD_REQUESTS], 2);
}
END_TEST

START_TEST(decreases_go_to_the_engine_before_increases)
{
	ck_assert_int_eq(cd_book_hold(&B, "y", "b", 10, 10, 0, err), 0);
	F.log[0] = '\0';
	/* Listed increase first: the engine still sees the decrease first. */
	struct cd_book_op ops[2] = {{.holder = "x", .group = "a", .value = 20, .ttl = 10},
	                            {.holder = "y", .group = "b", .value = 0, .ttl = 10}};
	ck_assert_int_eq(cd_book_apply(&B, ops, 2, 0, err), 0);
	ck_assert_str_eq(F.log, "b-10 a+20 ");
}
END_TEST

START_TEST(a_refusal_midway_puts_back_the_groups_already_changed)
{
	ck_assert_int_eq(cd_book_hold(&B, "y", "b", 10, 10, 0, err), 0);
	struct cd_book_op ops[2] = {{.holder = "x", .group = "a", .value = 20, .ttl = 10},
	                            {.holder = "y", .group = "b", .value = 0, .ttl = 10}};
	F.log[0] = '\0';
	F.refuse_call = F.calls + 2; /* b-10 goes through, a+20 is refused */
	ck_assert_int_eq(cd_book_apply(&B, ops, 2, 0, err), RD_ERR_NOMEM);
	ck_assert_str_eq(F.log, "b-10 b+10 ");
	ck_assert_int_eq(*counter(&F, "b"), 10);
	ck_assert_int_eq(*counter(&F, "a"), 0);
	ck_assert_uint_eq(cd_book_find(&B, "y", "b")->value, 10);
	ck_assert_ptr_null(cd_book_find(&B, "x", "a"));
	ck_assert_ptr_null(cd_book_group(&B, "a"));
	ck_assert_uint_eq(B.stats[CD_BS_ENGINE_REFUSED], 1);
	ck_assert_uint_eq(B.stats[CD_BS_HOLD_REQUESTS], 1);
	/* A table error in any op leaves everything too. */
	struct cd_book_op ops2[2] = {{.holder = "x", .group = "a", .value = 20, .ttl = 10},
	                             {.group = "a", .delta = 256}};
	ck_assert_int_eq(cd_book_apply(&B, ops2, 2, 0, err), RD_ERR_LIMIT);
	ck_assert_ptr_null(cd_book_find(&B, "x", "a"));
	ck_assert_int_eq(*counter(&F, "a"), 0);
}
END_TEST

/* A tracker's hold (ttl 0, internal) stays until changed and is not a request. */
START_TEST(a_trackers_hold_never_lapses_and_is_not_counted)
{
	struct cd_book_op op = {
	    .holder = "track-0000abcd", .group = "carp", .value = 50, .ttl = 0, .internal = true};
	struct cd_hold h;

	ck_assert_int_eq(cd_book_apply(&B, &op, 1, 1 * S, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 50);
	ck_assert_uint_eq(cd_book_expiry(&B), RD_TIME_NEVER);
	ck_assert_int_eq(cd_book_expire(&B, (rd_time_t)CD_HOLD_TTL_MAX * 2 * S, &h), 0);
	ck_assert_uint_eq(B.stats[CD_BS_HOLD_REQUESTS], 0);
	op.value = 0;
	ck_assert_int_eq(cd_book_apply(&B, &op, 1, 2 * S, err), 0);
	ck_assert_int_eq(*counter(&F, "carp"), 0);
	ck_assert_uint_eq(B.nholds, 0);
}
END_TEST

START_TEST(hold_requests_refuse_the_trackers_holder_names)
{
	char line[] = "hold track-0000abcd carp 0 10";
	char *w[8];
	int n = dm_words(line, w, 7);
	struct cd_hold_req r;
	enum cd_book_stat why;

	ck_assert_int_eq(cd_hold_parse(w, n, &r, err, &why), -1);
	ck_assert_int_eq(why, CD_BS_BAD_HOLDER);
	ck_assert_ptr_nonnull(strstr(err, "carpd's trackers"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carpd-holds");
	TCase *tc = tcase_create("holds");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, hold_request_parses_every_field);
	tcase_add_test(tc, hold_request_refuses_each_bad_field_with_its_reason);
	tcase_add_test(tc, demote_request_needs_a_sign_and_at_most_255);
	tcase_add_test(tc, a_hold_is_a_level_the_engine_sees_as_differences);
	tcase_add_test(tc, holds_of_several_holders_add_up_with_the_edge);
	tcase_add_test(tc, the_edge_is_clamped_at_0_and_never_takes_the_engines_own_raise);
	tcase_add_test(tc, a_demote_past_255_is_refused_and_nothing_changes);
	tcase_add_test(tc, a_hold_not_restated_lapses_after_its_ttl);
	tcase_add_test(tc, an_engine_refusal_leaves_book_and_engine_as_they_were);
	tcase_add_test(tc, the_tables_are_bounded);
	tcase_add_test(tc, a_change_of_several_ops_is_one_difference_per_group);
	tcase_add_test(tc, decreases_go_to_the_engine_before_increases);
	tcase_add_test(tc, a_refusal_midway_puts_back_the_groups_already_changed);
	tcase_add_test(tc, a_trackers_hold_never_lapses_and_is_not_counted);
	tcase_add_test(tc, hold_requests_refuse_the_trackers_holder_names);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
