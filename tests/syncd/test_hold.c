/* Unit tests of syncd's hold on carpd without I/O (syncd/hold.c): the schedule, the answers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hold.h"

#define T0   (100 * RD_SEC)
#define INST "0123456789abcdef"

static const char *held(const char *applied, const char *inst, const char *masters)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "ok\nheld syncd carp %s ttl 10 instance %s masters %s\n",
	         applied, inst, masters);
	return buf;
}

static int answer(struct sd_hold *h, const char *text, rd_time_t now)
{
	return sd_hold_answered(h, text, strlen(text), now);
}

static int parse(const char *text, struct sd_hold_answer *a, char *why)
{
	return sd_hold_parse(text, strlen(text), "carp", a, why, SD_HOLD_ERR);
}

START_TEST(request_line_is_the_protocol_s)
{
	char buf[SD_HOLD_LINE];

	ck_assert_int_eq(sd_hold_format("carp", 32, buf, sizeof(buf)), 36);
	ck_assert_str_eq(buf, "hold syncd carp 32 10 unless-master\n");
	ck_assert_int_eq(sd_hold_format("carp", 0, buf, sizeof(buf)), 35);
	ck_assert_str_eq(buf, "hold syncd carp 0 10 unless-master\n");
	ck_assert_int_eq(sd_hold_format("carp", 256, buf, sizeof(buf)), -1);
	ck_assert_int_eq(sd_hold_format("carp", -1, buf, sizeof(buf)), -1);
	ck_assert_int_eq(sd_hold_format("a b", 0, buf, sizeof(buf)), -1);
	ck_assert_int_eq(sd_hold_format("", 0, buf, sizeof(buf)), -1);
	ck_assert_int_eq(sd_hold_format("0123456789012345678901234567890", 0, buf, sizeof(buf)) > 0,
	                 1);
	ck_assert_int_eq(sd_hold_format("01234567890123456789012345678901", 0, buf, sizeof(buf)),
	                 -1);
}
END_TEST

START_TEST(held_answer_is_parsed)
{
	struct sd_hold_answer a;
	char why[SD_HOLD_ERR];

	ck_assert_int_eq(parse(held("32", INST, "0"), &a, why), 0);
	ck_assert_uint_eq(a.applied, 32);
	ck_assert_uint_eq(a.ttl, 10);
	ck_assert_str_eq(a.instance, INST);
	ck_assert_uint_eq(a.masters, 0);
	ck_assert_str_eq(why, "");
	/* unless-master applied: 0 with masters >= 1 is an answer like any other */
	ck_assert_int_eq(parse(held("0", INST, "2"), &a, why), 0);
	ck_assert_uint_eq(a.applied, 0);
	ck_assert_uint_eq(a.masters, 2);
	/* the body's line end is optional */
	ck_assert_int_eq(
	    parse("ok\nheld syncd carp 255 ttl 86400 instance " INST " masters 1", &a, why), 0);
	ck_assert_uint_eq(a.applied, 255);
	ck_assert_uint_eq(a.ttl, 86400);
}
END_TEST

START_TEST(error_answer_is_a_refusal_with_carpd_s_message)
{
	struct sd_hold_answer a;
	char why[SD_HOLD_ERR];

	ck_assert_int_eq(parse("error unknown request\n", &a, why), SD_HOLD_FAIL_REFUSED);
	ck_assert_str_eq(why, "carpd refused: unknown request");
	/* what carpd says is quoted printable */
	ck_assert_int_eq(parse("error a\x01\x7f"
	                       "b\n",
	                       &a, why),
	                 SD_HOLD_FAIL_REFUSED);
	ck_assert_str_eq(why, "carpd refused: a??b");
}
END_TEST

START_TEST(malformed_answers_are_refused_with_a_reason)
{
	static const struct {
		const char *text, *why;
	} c[] = {
	    {"", "connection closed without an answer"},
	    {"held syncd carp 0 ttl 10 instance " INST " masters 0\n",
	     "answer is neither ok nor error"},
	    {"ok\n", "expected 'held HOLDER GROUP APPLIED ttl TTL instance INSTANCE masters M'"},
	    {"ok\nheld syncd carp 0 ttl 10 instance " INST " masters 0 more\n",
	     "expected 'held HOLDER GROUP APPLIED ttl TTL instance INSTANCE masters M'"},
	    {"ok\nheld syncd carp 0 ttl 10 instance " INST " masters 0\nheld\n",
	     "answer is not one line"},
	    {"ok\nheld startup carp 0 ttl 10 instance " INST " masters 0\n",
	     "answer for holder 'startup', not syncd"},
	    {"ok\nheld syncd wan 0 ttl 10 instance " INST " masters 0\n",
	     "answer for another group 'wan'"},
	    {"ok\nheld syncd carp 256 ttl 10 instance " INST " masters 0\n",
	     "applied value '256' not 0..255"},
	    {"ok\nheld syncd carp -1 ttl 10 instance " INST " masters 0\n",
	     "applied value '-1' not 0..255"},
	    {"ok\nheld syncd carp 0 ttl 0 instance " INST " masters 0\n", "ttl '0' not 1..86400"},
	    {"ok\nheld syncd carp 0 ttl 86401 instance " INST " masters 0\n",
	     "ttl '86401' not 1..86400"},
	    {"ok\nheld syncd carp 0 ttl 10 instance 0123456789ABCDEF masters 0\n",
	     "instance '0123456789ABCDEF' not 16 lowercase hex digits"},
	    {"ok\nheld syncd carp 0 ttl 10 instance 0123 masters 0\n",
	     "instance '0123' not 16 lowercase hex digits"},
	    {"ok\nheld syncd carp 0 ttl 10 instance " INST " masters x\n",
	     "masters 'x' not a number"},
	    {"ok\nheld syncd carp 0 ttl 10 instance " INST " masters 2147483648\n",
	     "masters '2147483648' not a number"},
	};
	struct sd_hold_answer a;
	char why[SD_HOLD_ERR];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ck_assert_msg(parse(c[i].text, &a, why) == SD_HOLD_FAIL_BADANSWER, "case %zu", i);
		ck_assert_str_eq(why, c[i].why);
	}
	/* A NUL inside the answer is not an answer. */
	ck_assert_int_eq(sd_hold_parse("ok\nheld\0", 8, "carp", &a, why, sizeof(why)),
	                 SD_HOLD_FAIL_BADANSWER);
}
END_TEST

START_TEST(first_request_is_due_at_once_then_every_second)
{
	struct sd_hold h;
	char line[SD_HOLD_LINE];

	ck_assert_int_eq(sd_hold_init(&h, NULL, T0), 0);
	ck_assert_str_eq(h.group, "carp");
	ck_assert_int_eq(sd_hold_next(&h), T0);
	ck_assert_int_gt(sd_hold_start(&h, T0, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "hold syncd carp 0 10 unless-master\n");
	ck_assert(h.inflight);
	/* in flight: nothing more until it ends; attention at the deadline */
	ck_assert_int_eq(sd_hold_start(&h, T0 + 2 * RD_SEC, line, sizeof(line)), 0);
	ck_assert_int_eq(sd_hold_next(&h), T0 + RD_SEC);
	ck_assert_int_eq(answer(&h, held("0", INST, "0"), T0 + RD_MSEC),
	                 SD_HOLD_EV_CONFIRMED_AGAIN);
	ck_assert(h.confirmed);
	/* the same value again one period after the last request */
	ck_assert_int_eq(sd_hold_next(&h), T0 + SD_HOLD_PERIOD);
	ck_assert_int_eq(sd_hold_start(&h, T0 + SD_HOLD_PERIOD - 1, line, sizeof(line)), 0);
	ck_assert_int_gt(sd_hold_start(&h, T0 + SD_HOLD_PERIOD, line, sizeof(line)), 0);
	ck_assert_uint_eq(h.stats[SD_HOLD_SENT], 2);
}
END_TEST

START_TEST(a_change_is_stated_at_once_and_unconfirms)
{
	struct sd_hold h;
	char line[SD_HOLD_LINE];

	sd_hold_init(&h, "carp", T0);
	sd_hold_start(&h, T0, line, sizeof(line));
	answer(&h, held("0", INST, "0"), T0);
	sd_hold_want(&h, 32, T0 + 300 * RD_MSEC);
	ck_assert(!h.confirmed);
	ck_assert_int_eq(sd_hold_next(&h), T0 + 300 * RD_MSEC);
	ck_assert_int_gt(sd_hold_start(&h, T0 + 300 * RD_MSEC, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "hold syncd carp 32 10 unless-master\n");
	/* the same value wanted again changes nothing */
	sd_hold_want(&h, 32, T0 + 400 * RD_MSEC);
	ck_assert_int_eq(sd_hold_next(&h), T0 + 1300 * RD_MSEC);
	ck_assert_int_eq(answer(&h, held("32", INST, "0"), T0 + 400 * RD_MSEC), SD_HOLD_EV_APPLIED);
	ck_assert(h.confirmed);
	ck_assert_int_eq(h.applied, 32);
}
END_TEST

/* One request at a time: a change while one is in flight goes as soon as it ends. */
START_TEST(a_change_during_a_flight_goes_when_it_ends)
{
	struct sd_hold h;
	char line[SD_HOLD_LINE];

	sd_hold_init(&h, "carp", T0);
	sd_hold_want(&h, 32, T0);
	sd_hold_start(&h, T0, line, sizeof(line));
	sd_hold_want(&h, 0, T0 + 10 * RD_MSEC);
	ck_assert_int_eq(sd_hold_start(&h, T0 + 10 * RD_MSEC, line, sizeof(line)), 0);
	/* the answer to 32 does not confirm the 0 now wanted */
	answer(&h, held("32", INST, "0"), T0 + 20 * RD_MSEC);
	ck_assert(!h.confirmed);
	ck_assert_int_gt(sd_hold_start(&h, T0 + 20 * RD_MSEC, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "hold syncd carp 0 10 unless-master\n");
	answer(&h, held("0", INST, "0"), T0 + 30 * RD_MSEC);
	ck_assert(h.confirmed);
}
END_TEST

START_TEST(a_new_instance_is_a_carpd_restart)
{
	struct sd_hold h;
	char line[SD_HOLD_LINE];

	sd_hold_init(&h, "carp", T0);
	sd_hold_want(&h, 32, T0);
	sd_hold_start(&h, T0, line, sizeof(line));
	/* the first answer ever: no restart */
	ck_assert_int_eq(answer(&h, held("32", INST, "0"), T0) & SD_HOLD_EV_RESTART, 0);
	sd_hold_start(&h, T0 + RD_SEC, line, sizeof(line));
	ck_assert_int_eq(answer(&h, held("32", INST, "0"), T0 + RD_SEC), 0);
	sd_hold_start(&h, T0 + 2 * RD_SEC, line, sizeof(line));
	ck_assert_int_eq(answer(&h, held("32", "fedcba9876543210", "0"), T0 + 2 * RD_SEC),
	                 SD_HOLD_EV_RESTART);
	ck_assert_str_eq(h.instance, "fedcba9876543210");
	ck_assert_uint_eq(h.stats[SD_HOLD_RESTARTS], 1);
	ck_assert(h.confirmed);
}
END_TEST

START_TEST(failures_are_reported_once_a_streak_and_counted_by_reason)
{
	struct sd_hold h;
	char line[SD_HOLD_LINE];
	rd_time_t t = T0;

	sd_hold_init(&h, "carp", T0);
	sd_hold_start(&h, t, line, sizeof(line));
	ck_assert_int_eq(sd_hold_failed(&h, SD_HOLD_FAIL_CONNECT, "connect: No such file", t),
	                 SD_HOLD_EV_FIRST_FAIL);
	ck_assert(!h.inflight);
	ck_assert_str_eq(h.last_error, "connect: No such file");
	/* retried one period later, not sooner */
	ck_assert_int_eq(sd_hold_start(&h, t + RD_SEC / 2, line, sizeof(line)), 0);
	t += RD_SEC;
	ck_assert_int_gt(sd_hold_start(&h, t, line, sizeof(line)), 0);
	ck_assert_int_eq(sd_hold_failed(&h, SD_HOLD_FAIL_CONNECT, "connect: refused", t), 0);
	t += RD_SEC;
	sd_hold_start(&h, t, line, sizeof(line));
	ck_assert_int_eq(answer(&h, "error unknown request\n", t), 0); /* still the same streak */
	t += RD_SEC;
	sd_hold_start(&h, t, line, sizeof(line));
	ck_assert_int_eq(answer(&h, "ok\nwhat\n", t), 0);
	ck_assert_uint_eq(h.streak, 4);
	t += RD_SEC;
	sd_hold_start(&h, t, line, sizeof(line));
	ck_assert_int_eq(answer(&h, held("0", INST, "0"), t), SD_HOLD_EV_CONFIRMED_AGAIN);
	ck_assert_uint_eq(h.streak, 0);
	t += RD_SEC;
	sd_hold_start(&h, t, line, sizeof(line));
	ck_assert_int_eq(sd_hold_expire(&h, t + RD_SEC - 1), 0);
	ck_assert(h.inflight);
	ck_assert_int_eq(sd_hold_expire(&h, t + RD_SEC), SD_HOLD_EV_FIRST_FAIL);
	ck_assert_str_eq(h.last_error, "no answer within 1 s");
	ck_assert_uint_eq(h.stats[SD_HOLD_SENT], 6);
	ck_assert_uint_eq(h.stats[SD_HOLD_CONFIRMED], 1);
	ck_assert_uint_eq(h.stats[SD_HOLD_FAILED], 5);
	ck_assert_uint_eq(h.stats[SD_HOLD_FAIL_CONNECT], 2);
	ck_assert_uint_eq(h.stats[SD_HOLD_FAIL_REFUSED], 1);
	ck_assert_uint_eq(h.stats[SD_HOLD_FAIL_BADANSWER], 1);
	ck_assert_uint_eq(h.stats[SD_HOLD_FAIL_TIMEOUT], 1);
	ck_assert(!h.confirmed);
}
END_TEST

/* A carpd whose vhost is MASTER applies 0 (unless-master): confirmed, and nothing to release. */
START_TEST(unless_master_answer_confirms_and_owes_no_release)
{
	struct sd_hold h;
	char line[SD_HOLD_LINE];

	sd_hold_init(&h, "carp", T0);
	sd_hold_want(&h, 32, T0);
	sd_hold_start(&h, T0, line, sizeof(line));
	ck_assert(sd_hold_release_owed(&h)); /* 32 sent, unanswered */
	answer(&h, held("0", INST, "1"), T0);
	ck_assert(h.confirmed);
	ck_assert_int_eq(h.applied, 0);
	ck_assert_int_eq(h.masters, 1);
	ck_assert(!sd_hold_release_owed(&h));
}
END_TEST

START_TEST(release_is_owed_while_carpd_may_hold_a_value_of_ours)
{
	struct sd_hold h;
	char line[SD_HOLD_LINE];

	sd_hold_init(&h, "carp", T0);
	ck_assert(!sd_hold_release_owed(&h));
	sd_hold_start(&h, T0, line, sizeof(line)); /* 0 */
	ck_assert(!sd_hold_release_owed(&h));
	answer(&h, held("0", INST, "0"), T0);
	sd_hold_want(&h, 32, T0 + RD_SEC);
	sd_hold_start(&h, T0 + RD_SEC, line, sizeof(line));
	answer(&h, held("32", INST, "0"), T0 + RD_SEC);
	ck_assert(sd_hold_release_owed(&h));
	/* a failure says nothing about what carpd holds */
	sd_hold_start(&h, T0 + 2 * RD_SEC, line, sizeof(line));
	sd_hold_failed(&h, SD_HOLD_FAIL_TIMEOUT, "no answer within 1 s", T0 + 3 * RD_SEC);
	ck_assert(sd_hold_release_owed(&h));
	/* at exit: the release line at once, even with a request in flight */
	sd_hold_start(&h, T0 + 3 * RD_SEC, line, sizeof(line));
	ck_assert(h.inflight);
	sd_hold_stop(&h, T0 + 3 * RD_SEC + 1);
	ck_assert(!h.inflight);
	ck_assert_int_gt(sd_hold_start(&h, T0 + 3 * RD_SEC + 1, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "hold syncd carp 0 10 unless-master\n");
	answer(&h, held("0", INST, "0"), T0 + 3 * RD_SEC + 2);
	ck_assert(!sd_hold_release_owed(&h));
	ck_assert(h.confirmed);
}
END_TEST

START_TEST(group_names_carpd_cannot_hold_are_refused)
{
	struct sd_hold h;

	ck_assert_int_eq(sd_hold_init(&h, "", T0), -1);
	ck_assert_int_eq(sd_hold_init(&h, "a b", T0), -1);
	ck_assert_int_eq(sd_hold_init(&h, "01234567890123456789012345678901", T0), -1);
	ck_assert_int_eq(sd_hold_init(&h, "wan", T0), 0);
	ck_assert_str_eq(h.group, "wan");
}
END_TEST

START_TEST(stat_names_cover_every_counter)
{
	for (int i = 0; i < SD_HOLD_STAT_MAX; i++)
		ck_assert_str_ne(sd_hold_stat_name(i), "unknown");
	ck_assert_str_eq(sd_hold_stat_name(SD_HOLD_STAT_MAX), "unknown");
	ck_assert_str_eq(sd_hold_stat_name(SD_HOLD_SENT), "hold_sent");
	ck_assert_str_eq(sd_hold_stat_name(SD_HOLD_FAILED), "hold_failed");
	ck_assert_str_eq(sd_hold_stat_name(SD_HOLD_RESTARTS), "carpd_restarts");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("syncd-hold");
	TCase *c = tcase_create("hold");

	tcase_add_test(c, request_line_is_the_protocol_s);
	tcase_add_test(c, held_answer_is_parsed);
	tcase_add_test(c, error_answer_is_a_refusal_with_carpd_s_message);
	tcase_add_test(c, malformed_answers_are_refused_with_a_reason);
	tcase_add_test(c, first_request_is_due_at_once_then_every_second);
	tcase_add_test(c, a_change_is_stated_at_once_and_unconfirms);
	tcase_add_test(c, a_change_during_a_flight_goes_when_it_ends);
	tcase_add_test(c, a_new_instance_is_a_carpd_restart);
	tcase_add_test(c, failures_are_reported_once_a_streak_and_counted_by_reason);
	tcase_add_test(c, unless_master_answer_confirms_and_owes_no_release);
	tcase_add_test(c, release_is_owed_while_carpd_may_hold_a_value_of_ours);
	tcase_add_test(c, group_names_carpd_cannot_hold_are_refused);
	tcase_add_test(c, stat_names_cover_every_counter);
	suite_add_tcase(s, c);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
