/*
 * The daemons' text helpers (daemon/text.c): the JSON string rule (valid
 * UTF-8 through, control and invalid bytes as \u00XX, quote and backslash
 * escaped), the word splitting of control requests and config lines, the
 * number parsers at their range ends and past 2^64, string setters and
 * "file:line: message" errors.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

/* dm_buf_json_str(s) as a malloc'd string (the caller frees). */
static char *json(const char *s)
{
	struct dm_buf b = {0};

	dm_buf_json_str(&b, s);
	ck_assert(!b.oom);
	ck_assert_uint_eq(strlen(b.p), b.len);
	return b.p;
}

#define JSON_EQ(in, want)                                                                          \
	do {                                                                                       \
		char *got_ = json(in);                                                             \
		ck_assert_str_eq(got_, want);                                                      \
		free(got_);                                                                        \
	} while (0)

START_TEST(json_utf8_passes_through)
{
	JSON_EQ("", "\"\"");
	JSON_EQ("abc", "\"abc\"");
	JSON_EQ("caf\xc3\xa9", "\"caf\xc3\xa9\"");           /* é */
	JSON_EQ("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* 😀 */
	JSON_EQ("\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"");     /* € */
	JSON_EQ("\xc2\x80\xc3\xbf", "\"\xc2\x80\xc3\xbf\""); /* U+0080, U+00FF */
	JSON_EQ("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
	JSON_EQ("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");         /* U+D7FF */
}
END_TEST

START_TEST(json_quote_and_backslash_are_escaped)
{
	JSON_EQ("a\"b", "\"a\\\"b\"");
	JSON_EQ("a\\b", "\"a\\\\b\"");
	JSON_EQ("\"\\\"", "\"\\\"\\\\\\\"\"");
	JSON_EQ("'/", "\"'/\"");
}
END_TEST

START_TEST(json_control_bytes_are_escaped)
{
	JSON_EQ("a\nb", "\"a\\u000ab\"");
	JSON_EQ("\t", "\"\\u0009\"");
	JSON_EQ("\x01\x1f", "\"\\u0001\\u001f\"");
	JSON_EQ("\x7f", "\"\\u007f\"");
	JSON_EQ("\x1b[0m", "\"\\u001b[0m\"");
}
END_TEST

START_TEST(json_invalid_utf8_bytes_are_escaped_one_by_one)
{
	JSON_EQ("\xe9", "\"\\u00e9\""); /* Latin-1 é alone */
	JSON_EQ("caf\xe9!", "\"caf\\u00e9!\"");
	JSON_EQ("\x80", "\"\\u0080\"");                                  /* lone continuation */
	JSON_EQ("\xc0\xaf", "\"\\u00c0\\u00af\"");                       /* overlong '/' */
	JSON_EQ("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");            /* overlong, 3 bytes */
	JSON_EQ("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");            /* surrogate U+D800 */
	JSON_EQ("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""); /* > U+10FFFF */
	JSON_EQ("\xf5\x80", "\"\\u00f5\\u0080\"");
	JSON_EQ("\xff", "\"\\u00ff\"");
	/* Truncated sequences: at the end, and before an ASCII byte. */
	JSON_EQ("\xf0\x9f\x98", "\"\\u00f0\\u009f\\u0098\"");
	JSON_EQ("\xc3"
	        "a",
	        "\"\\u00c3a\"");
	/* A valid sequence right after an invalid byte still passes. */
	JSON_EQ("\xff\xc3\xa9", "\"\\u00ff\xc3\xa9\"");
}
END_TEST

START_TEST(json_strn_stops_at_max_or_nul)
{
	struct dm_buf b = {0};
	char field[4] = {'e', 'm', '0', '1'}; /* not NUL-terminated */

	dm_buf_json_strn(&b, field, sizeof(field));
	dm_buf_printf(&b, " ");
	dm_buf_json_strn(&b, "ab\0cd", 5);
	dm_buf_printf(&b, " ");
	/* A sequence cut by max is invalid there. */
	dm_buf_json_strn(&b, "\xc3\xa9", 1);
	ck_assert(!b.oom);
	ck_assert_str_eq(b.p, "\"em01\" \"ab\" \"\\u00c3\"");
	free(b.p);
}
END_TEST

START_TEST(af_names_are_strings)
{
	ck_assert_str_eq(dm_af_name(RD_AF_INET), "inet");
	ck_assert_str_eq(dm_af_name(RD_AF_INET6), "inet6");
	ck_assert_str_eq(dm_af_name(0), "unspec");
}
END_TEST

static const char *counter_name(int i)
{
	return i == 0 ? "rx_ok" : "rx_bad";
}

START_TEST(json_counters_object)
{
	struct dm_buf b = {0};
	uint64_t v[2] = {7, UINT64_MAX};

	dm_buf_json_counters(&b, v, 2, counter_name);
	ck_assert_str_eq(b.p, "{\"rx_ok\": 7, \"rx_bad\": 18446744073709551615}");
	free(b.p);
}
END_TEST

START_TEST(words_split_at_blanks_without_quoting)
{
	char line[] = "  hold\tsyncd  carp 128\r\n";
	char *w[6];

	ck_assert_int_eq(dm_words(line, w, 6), 4);
	ck_assert_str_eq(w[0], "hold");
	ck_assert_str_eq(w[1], "syncd");
	ck_assert_str_eq(w[2], "carp");
	ck_assert_str_eq(w[3], "128");

	/* Quotes and backslashes are characters of a word: the grammar has none. */
	char q[] = "pass \"a b\" c\\ d";
	ck_assert_int_eq(dm_words(q, w, 6), 5);
	ck_assert_str_eq(w[1], "\"a");
	ck_assert_str_eq(w[2], "b\"");
	ck_assert_str_eq(w[3], "c\\");
	ck_assert_str_eq(w[4], "d");

	/* A control request has no comments. */
	char h[] = "demote #x +1";
	ck_assert_int_eq(dm_words(h, w, 6), 3);
	ck_assert_str_eq(w[1], "#x");

	char e[] = " \t\r\n";
	ck_assert_int_eq(dm_words(e, w, 6), 0);
}
END_TEST

START_TEST(words_beyond_max_say_so)
{
	char line[] = "a b c d";
	char *w[3];

	ck_assert_int_eq(dm_words(line, w, 3), 4);
	ck_assert_str_eq(w[0], "a");
	ck_assert_str_eq(w[2], "c");

	char exact[] = "a b c";
	ck_assert_int_eq(dm_words(exact, w, 3), 3);
	char one[] = "a";
	ck_assert_int_eq(dm_words(one, w, 0), 1);
}
END_TEST

START_TEST(conf_words_stop_at_a_comment_word)
{
	char *w[3];
	char c1[] = "# a comment";
	char c2[] = "   #indented";
	char c3[] = "pass ab#c # trailing";
	char c4[] = "vhost eth0 1 #x y z";
	char c5[] = "addr 10.0.0.1/24 extra\n";

	ck_assert_int_eq(dm_conf_words(c1, w, 3), 0);
	ck_assert_int_eq(dm_conf_words(c2, w, 3), 0);
	ck_assert_int_eq(dm_conf_words(c3, w, 3), 2);
	ck_assert_str_eq(w[1], "ab#c");
	ck_assert_int_eq(dm_conf_words(c4, w, 3), 3);
	ck_assert_str_eq(w[2], "1");
	ck_assert_int_eq(dm_conf_words(c5, w, 2), 3);
}
END_TEST

START_TEST(numbers_at_range_ends)
{
	unsigned u = 99;
	uint64_t v = 99;

	ck_assert_int_eq(dm_parse_uint("0", 0, 255, &u), 0);
	ck_assert_uint_eq(u, 0);
	ck_assert_int_eq(dm_parse_uint("255", 0, 255, &u), 0);
	ck_assert_uint_eq(u, 255);
	ck_assert_int_eq(dm_parse_uint("256", 0, 255, &u), DM_NUM_RANGE);
	ck_assert_uint_eq(u, 255); /* unchanged */
	ck_assert_int_eq(dm_parse_uint("0", 1, 255, &u), DM_NUM_RANGE);
	ck_assert_int_eq(dm_parse_uint("1", 1, 255, &u), 0);
	ck_assert_int_eq(dm_parse_uint("007", 1, 255, &u), 0);
	ck_assert_uint_eq(u, 7);
	ck_assert_int_eq(dm_parse_uint("4294967295", 0, UINT32_MAX, &u), 0);
	ck_assert_uint_eq(u, UINT32_MAX);
	ck_assert_int_eq(dm_parse_uint("4294967296", 0, UINT32_MAX, &u), DM_NUM_RANGE);

	ck_assert_int_eq(dm_parse_u64("18446744073709551615", 10, 0, UINT64_MAX, &v), 0);
	ck_assert(v == UINT64_MAX);
	ck_assert_int_eq(dm_parse_u64("ffffffff", 16, 1, UINT32_MAX, &v), 0);
	ck_assert(v == UINT32_MAX);
	ck_assert_int_eq(dm_parse_u64("0A0b0C0d", 16, 1, UINT32_MAX, &v), 0);
	ck_assert(v == 0x0a0b0c0d);
	ck_assert_int_eq(dm_parse_u64("100000000", 16, 1, UINT32_MAX, &v), DM_NUM_RANGE);
	ck_assert_int_eq(dm_parse_u64("0", 16, 1, UINT32_MAX, &v), DM_NUM_RANGE);
}
END_TEST

START_TEST(numbers_overflow_is_out_of_range_not_wrapped)
{
	uint64_t v = 5;

	ck_assert_int_eq(dm_parse_u64("18446744073709551616", 10, 0, UINT64_MAX, &v), DM_NUM_RANGE);
	ck_assert_int_eq(dm_parse_u64("99999999999999999999999", 10, 0, UINT64_MAX, &v),
	                 DM_NUM_RANGE);
	ck_assert_int_eq(dm_parse_u64("10000000000000000", 16, 0, UINT64_MAX, &v), DM_NUM_RANGE);
	/* 2^64 + 5 would wrap to 5, inside the range: still refused. */
	ck_assert_int_eq(dm_parse_u64("18446744073709551621", 10, 0, 10, &v), DM_NUM_RANGE);
	/* A long number with a bad character later is syntax, not range. */
	ck_assert_int_eq(dm_parse_u64("99999999999999999999999x", 10, 0, UINT64_MAX, &v),
	                 DM_NUM_SYNTAX);
	ck_assert(v == 5);
}
END_TEST

START_TEST(numbers_refuse_what_strtoul_would_take)
{
	unsigned u = 3;
	uint64_t v = 3;
	const char *bad[] = {"", "-1", "+1", " 1", "1 ", "1x", "0x10", "1.0", "1e3", "٣"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(dm_parse_uint(bad[i], 0, 1000, &u) == DM_NUM_SYNTAX, "'%s' taken",
		              bad[i]);
	ck_assert_int_eq(dm_parse_uint(NULL, 0, 1000, &u), DM_NUM_SYNTAX);
	ck_assert_int_eq(dm_parse_u64("g", 16, 0, 100, &v), DM_NUM_SYNTAX);
	ck_assert_int_eq(dm_parse_u64("a", 10, 0, 100, &v), DM_NUM_SYNTAX);
	ck_assert_int_eq(dm_parse_u64("1", 8, 0, 100, &v), DM_NUM_SYNTAX);
	ck_assert_uint_eq(u, 3);
	ck_assert_str_eq(dm_num_strerror(DM_NUM_RANGE), "out of range");
	ck_assert_ptr_nonnull(strstr(dm_num_strerror(DM_NUM_SYNTAX), "not a number"));
}
END_TEST

START_TEST(string_setters_check_length)
{
	char ifname[4] = "old";
	char *s = NULL;

	ck_assert_int_eq(dm_str_copy(ifname, sizeof(ifname), "abcd"), -1);
	ck_assert_str_eq(ifname, "old");
	ck_assert_int_eq(dm_str_copy(ifname, sizeof(ifname), ""), -1);
	ck_assert_str_eq(ifname, "old");
	ck_assert_int_eq(dm_str_copy(ifname, sizeof(ifname), "abc"), 0);
	ck_assert_str_eq(ifname, "abc");

	ck_assert_int_eq(dm_str_set(&s, "first"), 0);
	ck_assert_str_eq(s, "first");
	ck_assert_int_eq(dm_str_set(&s, "second"), 0);
	ck_assert_str_eq(s, "second");
	free(s);
}
END_TEST

START_TEST(errors_name_file_and_line)
{
	char err[64];

	dm_file_errf(err, sizeof(err), "carpd.conf", 12, "expected %s, got '%s'", "a vhid", "x");
	ck_assert_str_eq(err, "carpd.conf:12: expected a vhid, got 'x'");
	dm_file_errf(err, sizeof(err), "carpd.conf", 0, "cannot open: %s", "No such file");
	ck_assert_str_eq(err, "carpd.conf: cannot open: No such file");
	dm_errf(err, sizeof(err), "port: %d to %d", 1, 65535);
	ck_assert_str_eq(err, "port: 1 to 65535");

	/* Truncated, always terminated. */
	char small[12];
	dm_file_errf(small, sizeof(small), "a-long-file-name.conf", 3, "message");
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert(strncmp(small, "a-long-file", 11) == 0);
	dm_file_errf(small, sizeof(small), "f", 3, "a message too long for it");
	ck_assert_str_eq(small, "f:3: a mess");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-text");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, json_utf8_passes_through);
	tcase_add_test(tc, json_quote_and_backslash_are_escaped);
	tcase_add_test(tc, json_control_bytes_are_escaped);
	tcase_add_test(tc, json_invalid_utf8_bytes_are_escaped_one_by_one);
	tcase_add_test(tc, json_strn_stops_at_max_or_nul);
	tcase_add_test(tc, af_names_are_strings);
	tcase_add_test(tc, json_counters_object);
	tcase_add_test(tc, words_split_at_blanks_without_quoting);
	tcase_add_test(tc, words_beyond_max_say_so);
	tcase_add_test(tc, conf_words_stop_at_a_comment_word);
	tcase_add_test(tc, numbers_at_range_ends);
	tcase_add_test(tc, numbers_overflow_is_out_of_range_not_wrapped);
	tcase_add_test(tc, numbers_refuse_what_strtoul_would_take);
	tcase_add_test(tc, string_setters_check_length);
	tcase_add_test(tc, errors_name_file_and_line);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
