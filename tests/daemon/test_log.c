/*
 * The daemons' log (daemon/log.c): lines an outsider can cause are limited
 * per reason, with the number suppressed reported once the window ends;
 * lines held around one packet go out under its reason; and an output that
 * cannot take a line (a pipe nobody reads, a syslog socket whose reader is
 * stuck) never blocks: the line is dropped, counted, and the count written
 * before the next line that goes through. Each test runs in its own
 * process (Check's fork mode): the log is process state.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "../test_tmpdir.h"
#include "daemon.h"

/* stderr becomes the write end of a fresh pipe; returns its read end (non-blocking). */
static int stderr_to_pipe(void)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_ge(dup2(p[1], 2), 0);
	close(p[1]);
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	dm_log_setup("test", true, false, -1, false);
	return p[0];
}

/* Everything in the pipe now, NUL-terminated (static). */
static const char *drain(int fd)
{
	static char buf[1 << 20];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return buf;
}

static size_t count_of(const char *s, const char *what)
{
	size_t k = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
		k++;
	return k;
}

START_TEST(test_limited_lines_at_most_burst_a_window_then_the_count)
{
	int fd = stderr_to_pipe();
	struct dm_log_counts c;
	const char *out;

	dm_log_set_limit(5, 200 * RD_MSEC);
	for (int i = 0; i < 100; i++)
		dm_log_limited("refused (badttl)", LOG_WARNING, "packet %d refused", i);
	out = drain(fd);
	ck_assert_uint_eq(count_of(out, " refused\n"), 5);
	ck_assert_ptr_nonnull(strstr(out, "packet 4 refused"));
	ck_assert_ptr_null(strstr(out, "packet 5 refused"));
	dm_log_counts(&c);
	ck_assert_uint_eq(c.suppressed, 95);
	usleep(250000);
	dm_log_tick();
	out = drain(fd);
	ck_assert_ptr_nonnull(
	    strstr(out, "test: refused (badttl): 95 more suppressed in the last 0."));
	ck_assert_uint_eq(count_of(out, "\n"), 1);
	dm_log_tick(); /* said once */
	ck_assert_str_eq(drain(fd), "");
}
END_TEST

START_TEST(test_reasons_are_limited_apart)
{
	int fd = stderr_to_pipe();
	const char *out;

	dm_log_set_limit(5, 10 * RD_SEC);
	for (int i = 0; i < 10; i++) {
		dm_log_limited("refused (badttl)", LOG_NOTICE, "ttl %d", i);
		dm_log_limited("refused (badsum)", LOG_NOTICE, "sum %d", i);
	}
	dm_log(LOG_NOTICE, "not limited");
	out = drain(fd);
	ck_assert_uint_eq(count_of(out, ": ttl "), 5);
	ck_assert_uint_eq(count_of(out, ": sum "), 5);
	ck_assert_ptr_nonnull(strstr(out, "not limited"));
}
END_TEST

START_TEST(test_a_line_after_the_window_comes_after_the_count)
{
	int fd = stderr_to_pipe();
	const char *out, *count, *line;

	dm_log_set_limit(2, 100 * RD_MSEC);
	for (int i = 0; i < 7; i++)
		dm_log_limited("replays", LOG_WARNING, "replay %d", i);
	usleep(150000);
	dm_log_limited("replays", LOG_WARNING, "replay again");
	out = drain(fd);
	count = strstr(out, "replays: 5 more suppressed");
	line = strstr(out, "replay again");
	ck_assert_ptr_nonnull(count);
	ck_assert_ptr_nonnull(line);
	ck_assert(count < line);
}
END_TEST

START_TEST(test_levels_not_logged_are_not_counted)
{
	int fd = stderr_to_pipe();
	struct dm_log_counts c;

	for (int i = 0; i < 100; i++)
		dm_log_limited("debug", LOG_DEBUG, "debug %d", i);
	dm_log_counts(&c);
	ck_assert_uint_eq(c.suppressed, 0);
	ck_assert_str_eq(drain(fd), "");
}
END_TEST

START_TEST(test_held_lines_go_out_under_the_packets_reason)
{
	int fd = stderr_to_pipe();
	struct dm_log_counts c;
	const char *out;

	size_t lines = 0;

	dm_log_set_limit(5, 10 * RD_SEC);
	for (int k = 0; k < 8; k++) {
		dm_log_hold();
		dm_log_hook(NULL, LOG_INFO, "library: refused");
		ck_assert_str_eq(drain(fd), ""); /* held */
		dm_log_release("refused (badver)");
		lines += count_of(drain(fd), "library: refused");
	}
	ck_assert_uint_eq(lines, 5);
	dm_log_hold();
	for (int k = 0; k < 8; k++)
		dm_log(LOG_NOTICE, "state change %d", k);
	dm_log_release(NULL);
	out = drain(fd);
	ck_assert_uint_eq(count_of(out, "state change"), 8);
	ck_assert(strstr(out, "state change 0") < strstr(out, "state change 7"));
	dm_log_counts(&c);
	ck_assert_uint_eq(c.suppressed, 3);
}
END_TEST

/* A pipe nobody reads: 20,000 lines return at once (the alarm kills a blocked test). */
START_TEST(test_a_full_pipe_drops_and_counts_and_never_blocks)
{
	int fd = stderr_to_pipe();
	struct dm_log_counts c;
	const char *out;
	char want[64];

	ck_assert_int_eq(fcntl(2, F_GETFL) & O_NONBLOCK, 0); /* the inherited one stays blocking */
	alarm(5);
	for (int i = 0; i < 20000; i++)
		dm_log(LOG_NOTICE, "line %d of a flood, long enough to fill a pipe soon", i);
	alarm(0);
	dm_log_counts(&c);
	ck_assert_uint_gt(c.dropped, 10000);
	out = drain(fd);
	ck_assert_uint_eq(count_of(out, " of a flood"), 20000 - c.dropped);
	ck_assert_uint_eq(count_of(out, "\n"), 20000 - c.dropped); /* whole lines only */
	dm_log(LOG_NOTICE, "after");
	out = drain(fd);
	snprintf(want, sizeof(want), "test: %llu log lines dropped: stderr did not take them\n",
	         (unsigned long long)c.dropped);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert(strstr(out, want) < strstr(out, "test: after\n"));
}
END_TEST

/* A syslog socket whose reader is stuck: lines dropped and counted, never waited for. */
START_TEST(test_a_full_syslog_socket_drops_and_counts_and_never_blocks)
{
	char dir[64], path[sizeof(((struct sockaddr_un *)0)->sun_path)], buf[2048], want[64];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct dm_log_counts c;
	int s, null = open("/dev/null", O_WRONLY);
	ssize_t n;

	ck_assert_ptr_nonnull(rd_test_mkdtemp("test-log", dir, sizeof(dir)));
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/log", dir), (int)sizeof(path));
	memcpy(sa.sun_path, path, sizeof(path));
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	dup2(null, 2);
	dm_log_setup("test", false, false, LOG_LOCAL3, false);
	dm_log_syslog_to(path);
	dm_log(LOG_NOTICE, "first");
	n = recv(s, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	snprintf(want, sizeof(want), " test[%d]: first", (int)getpid());
	ck_assert_int_eq(strncmp(buf, "<157>", 5), 0); /* local3 | notice */
	ck_assert_ptr_nonnull(strstr(buf, want));
	alarm(5);
	for (int i = 0; i < 10000; i++)
		dm_log(LOG_NOTICE, "line %d", i);
	alarm(0);
	dm_log_counts(&c);
	ck_assert_uint_gt(c.dropped, 0);
	while (recv(s, buf, sizeof(buf), 0) > 0)
		;
	dm_log(LOG_NOTICE, "after");
	n = recv(s, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	snprintf(want, sizeof(want), "%llu log lines dropped: syslog did not take them",
	         (unsigned long long)c.dropped);
	ck_assert_ptr_nonnull(strstr(buf, want));
	n = recv(s, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, ": after"));
	close(s);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(test_status_carries_the_counts)
{
	int fd = stderr_to_pipe();
	struct dm_buf b = {0};

	(void)fd;
	dm_log_set_limit(1, 10 * RD_SEC);
	dm_log_limited("x", LOG_WARNING, "one");
	dm_log_limited("x", LOG_WARNING, "two");
	dm_log_status(&b, true);
	ck_assert_str_eq(b.p, "\"log\": {\"suppressed\": 1, \"dropped\": 0}");
	free(b.p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-log");
	TCase *tc = tcase_create("log");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_limited_lines_at_most_burst_a_window_then_the_count);
	tcase_add_test(tc, test_reasons_are_limited_apart);
	tcase_add_test(tc, test_a_line_after_the_window_comes_after_the_count);
	tcase_add_test(tc, test_levels_not_logged_are_not_counted);
	tcase_add_test(tc, test_held_lines_go_out_under_the_packets_reason);
	tcase_add_test(tc, test_a_full_pipe_drops_and_counts_and_never_blocks);
	tcase_add_test(tc, test_a_full_syslog_socket_drops_and_counts_and_never_blocks);
	tcase_add_test(tc, test_status_carries_the_counts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
