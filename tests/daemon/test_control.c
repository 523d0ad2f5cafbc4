/*
 * The control socket's limits (daemon/control.c), on a real unix socket in
 * a scratch directory, driven like the daemons' loop: a request is answered
 * and closed; a line over the limit, a NUL byte and input that ends before
 * the line end are answered with an error and never reach the handler; the
 * oldest client still sending its request makes room for a newcomer; with
 * every slot being answered a newcomer is refused; clients past their
 * deadline (request not complete, answer not taken) are closed; out of
 * descriptors, waiting clients are told and the listener is not reported
 * again and again. Deadlines are tested through dm_control_expire with a
 * chosen time.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "../test_tmpdir.h"

#define BIG (1024 * 1024) /* an answer larger than any socket buffer */

struct fixture {
	char dir[256], path[300];
	struct dm_control *c;
	int epfd;
	int calls;      /* handler runs */
	char last[128]; /* the last line the handler saw */
};

/* "big": a BIG answer; "fail": an error; anything else: "got LINE\n". */
static int handler(void *user, char *line, char **body)
{
	struct fixture *f = user;

	f->calls++;
	snprintf(f->last, sizeof(f->last), "%s", line);
	if (strcmp(line, "big") == 0) {
		*body = malloc(BIG + 1);
		memset(*body, 'b', BIG);
		(*body)[BIG] = '\0';
		return 0;
	}
	if (strcmp(line, "fail") == 0) {
		*body = strdup("nope");
		return -1;
	}
	return asprintf(body, "got %s\n", line) < 0 ? -1 : 0;
}

static void setup(struct fixture *f, size_t in_max)
{
	memset(f, 0, sizeof(*f));
	ck_assert_ptr_nonnull(rd_test_mkdtemp("rd-control", f->dir, sizeof(f->dir)));
	snprintf(f->path, sizeof(f->path), "%s/ctl.sock", f->dir);
	ck_assert_int_eq(dm_control_open(f->path, in_max, handler, f, &f->c), 0);
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(f->epfd, 0);
	ck_assert_int_eq(dm_control_attach(f->c, f->epfd), 0);
}

static void teardown(struct fixture *f)
{
	dm_control_close(f->c);
	close(f->epfd);
	rmdir(f->dir);
}

/*
 * Dispatch events as dm_loop_wait does until none is ready; returns the
 * number of rounds. A listener reported for ever would never end: capped.
 */
static int pump(struct fixture *f)
{
	int rounds;

	for (rounds = 0; rounds < 1000; rounds++) {
		struct epoll_event evs[32];
		int n = epoll_wait(f->epfd, evs, 32, 0);

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct dm_watch *w = evs[i].data.ptr;

			if (w->kind == DM_W_CONTROL)
				dm_control_accept(f->c, f->epfd);
			else if (w->kind == DM_W_CLIENT)
				dm_control_client_event(f->c, w, evs[i].events);
			else if (w->kind == DM_W_CONTROL_TIMER)
				dm_control_timer(f->c);
		}
		dm_control_reap(f->c);
	}
	ck_assert_int_lt(rounds, 1000);
	return rounds;
}

static int cli_connect(struct fixture *f)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(sun.sun_path, f->path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void cli_send(int fd, const char *s, size_t len)
{
	ck_assert_int_eq(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * What fd has to read now (malloc'd, NUL-terminated), without waiting;
 * *eof tells whether the daemon closed it (a reset after our unread bytes
 * counts as closed).
 */
static char *cli_read(int fd, bool *eof)
{
	size_t len = 0, cap = BIG + 4096;
	char *buf = malloc(cap + 1);

	*eof = false;
	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);

		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			*eof = true;
		break;
	}
	buf[len] = '\0';
	return buf;
}

/* The whole answer to one request on a new connection. */
static char *ask(struct fixture *f, const char *req, size_t len)
{
	int fd = cli_connect(f);
	bool eof;
	char *a;

	cli_send(fd, req, len);
	pump(f);
	a = cli_read(fd, &eof);
	ck_assert_msg(eof, "connection left open after '%s'", a);
	close(fd);
	return a;
}

#define ASK(f, s) ask(f, s, strlen(s))

static uint64_t stat_of(struct fixture *f, int i)
{
	return dm_control_stats(f->c)[i];
}

START_TEST(test_a_request_is_answered_and_closed)
{
	struct fixture f;
	char *a;

	setup(&f, 64);
	a = ASK(&f, "hello there\r\n");
	ck_assert_str_eq(a, "ok\ngot hello there\n");
	free(a);
	a = ASK(&f, "fail\n");
	ck_assert_str_eq(a, "error nope\n");
	free(a);
	ck_assert_uint_eq(stat_of(&f, DM_CTL_ACCEPTED), 2);
	ck_assert_uint_eq(stat_of(&f, DM_CTL_REQUESTS), 2);
	ck_assert_uint_eq(dm_control_nclients(f.c), 0);
	teardown(&f);
}
END_TEST

START_TEST(test_a_line_over_the_limit_is_an_error_never_run)
{
	struct fixture f;
	char line[300], *a;

	setup(&f, 64); /* 62 bytes before the line end */
	memset(line, 'x', sizeof(line));
	line[62] = '\n';
	a = ask(&f, line, 63);
	ck_assert_int_eq(strncmp(a, "ok\ngot xxx", 10), 0);
	free(a);
	line[62] = 'x';
	line[63] = '\n';
	a = ask(&f, line, 64);
	ck_assert_str_eq(a, "error request too long (at most 62 bytes before the line end)\n");
	free(a);
	a = ask(&f, line, 300); /* no line end at all */
	ck_assert_str_eq(a, "error request too long (at most 62 bytes before the line end)\n");
	free(a);
	ck_assert_int_eq(f.calls, 1);
	ck_assert_uint_eq(stat_of(&f, DM_CTL_TOO_LONG), 2);
	teardown(&f);
}
END_TEST

START_TEST(test_a_nul_byte_is_an_error_never_run)
{
	struct fixture f;
	char *a;

	setup(&f, 64);
	a = ask(&f, "sta\0tus\n", 8);
	ck_assert_str_eq(a, "error request contains a NUL byte (byte 4)\n");
	free(a);
	a = ask(&f, "\0", 1); /* at once, before any line end */
	ck_assert_str_eq(a, "error request contains a NUL byte (byte 1)\n");
	free(a);
	a = ask(&f, "ok\nbut\0after\n", 13); /* after the line: not part of the request */
	ck_assert_str_eq(a, "ok\ngot ok\n");
	free(a);
	ck_assert_int_eq(f.calls, 1);
	ck_assert_uint_eq(stat_of(&f, DM_CTL_NUL), 2);
	teardown(&f);
}
END_TEST

START_TEST(test_input_ended_before_the_line_end_is_an_error)
{
	struct fixture f;
	bool eof;
	char *a;
	int fd;

	setup(&f, 64);
	fd = cli_connect(&f);
	cli_send(fd, "status", 6);
	shutdown(fd, SHUT_WR);
	pump(&f);
	a = cli_read(fd, &eof);
	ck_assert(eof);
	ck_assert_str_eq(a, "error request incomplete: no line end before the end of input\n");
	free(a);
	close(fd);
	/* Nothing at all: closed, nothing to say, nothing counted. */
	fd = cli_connect(&f);
	shutdown(fd, SHUT_WR);
	pump(&f);
	a = cli_read(fd, &eof);
	ck_assert(eof);
	ck_assert_str_eq(a, "");
	free(a);
	close(fd);
	ck_assert_int_eq(f.calls, 0);
	ck_assert_uint_eq(stat_of(&f, DM_CTL_INCOMPLETE), 1);
	ck_assert_uint_eq(dm_control_nclients(f.c), 0);
	teardown(&f);
}
END_TEST

START_TEST(test_clients_without_a_request_are_closed_at_the_deadline)
{
	struct fixture f;
	rd_time_t t0;
	bool eof;
	char *a;
	int x, y;

	setup(&f, 64);
	dm_control_set_limits(f.c, 8, 2 * RD_SEC);
	t0 = dm_monotonic();
	x = cli_connect(&f);
	y = cli_connect(&f);
	cli_send(y, "stat", 4); /* half a request */
	pump(&f);
	ck_assert_uint_eq(dm_control_nclients(f.c), 2);
	dm_control_expire(f.c, t0 + RD_SEC);
	ck_assert_uint_eq(dm_control_nclients(f.c), 2);
	dm_control_expire(f.c, dm_monotonic() + 2 * RD_SEC);
	ck_assert_uint_eq(dm_control_nclients(f.c), 0);
	dm_control_reap(f.c);
	a = cli_read(x, &eof);
	ck_assert(eof);
	ck_assert_str_eq(a, "error no complete request within 2.0 s; closed\n");
	free(a);
	a = cli_read(y, &eof);
	ck_assert(eof);
	free(a);
	ck_assert_uint_eq(stat_of(&f, DM_CTL_TIMED_OUT), 2);
	ck_assert_int_eq(f.calls, 0);
	close(x);
	close(y);
	teardown(&f);
}
END_TEST

START_TEST(test_the_oldest_client_without_a_request_makes_room)
{
	struct fixture f;
	struct timespec ms = {0, 1000000};
	int idle[3], fd;
	bool eof;
	char *a;

	setup(&f, 64);
	dm_control_set_limits(f.c, 3, 10 * RD_SEC);
	for (int i = 0; i < 3; i++) {
		idle[i] = cli_connect(&f);
		pump(&f);
		nanosleep(&ms, NULL);
	}
	ck_assert_uint_eq(dm_control_nclients(f.c), 3);
	fd = cli_connect(&f);
	cli_send(fd, "hello\n", 6);
	pump(&f);
	a = cli_read(fd, &eof);
	ck_assert(eof);
	ck_assert_str_eq(a, "ok\ngot hello\n");
	free(a);
	close(fd);
	a = cli_read(idle[0], &eof);
	ck_assert(eof);
	ck_assert_str_eq(a, "error closed: 3 control clients at once, this one sent no request\n");
	free(a);
	for (int i = 1; i < 3; i++) {
		a = cli_read(idle[i], &eof);
		ck_assert(!eof);
		free(a);
	}
	ck_assert_uint_eq(stat_of(&f, DM_CTL_EVICTED), 1);
	ck_assert_uint_eq(dm_control_nclients(f.c), 2);
	for (int i = 0; i < 3; i++)
		close(idle[i]);
	teardown(&f);
}
END_TEST

START_TEST(test_busy_when_every_client_is_being_answered)
{
	struct fixture f;
	bool eof;
	char *a;
	int slow, fd;

	setup(&f, 64);
	dm_control_set_limits(f.c, 1, 2 * RD_SEC);
	slow = cli_connect(&f);
	cli_send(slow, "big\n", 4);
	pump(&f); /* its answer fills the socket; the rest waits */
	ck_assert_uint_eq(dm_control_nclients(f.c), 1);
	fd = cli_connect(&f);
	pump(&f);
	a = cli_read(fd, &eof);
	ck_assert(eof);
	ck_assert_str_eq(a, "error busy: 1 control clients are being answered\n");
	free(a);
	close(fd);
	ck_assert_uint_eq(stat_of(&f, DM_CTL_BUSY), 1);
	/* A reader that takes some keeps its answer coming... */
	a = cli_read(slow, &eof);
	ck_assert(!eof);
	ck_assert_uint_gt(strlen(a), 0);
	free(a);
	pump(&f);
	dm_control_expire(f.c, dm_monotonic() + RD_SEC);
	ck_assert_uint_eq(dm_control_nclients(f.c), 1);
	/* ...one that stops taking it is closed after the timeout. */
	dm_control_expire(f.c, dm_monotonic() + 3 * RD_SEC);
	ck_assert_uint_eq(dm_control_nclients(f.c), 0);
	ck_assert_uint_eq(stat_of(&f, DM_CTL_TIMED_OUT), 1);
	close(slow);
	teardown(&f);
}
END_TEST

START_TEST(test_a_slow_reader_gets_the_whole_answer)
{
	struct fixture f;
	size_t got = 0;
	bool eof = false;
	int fd;

	setup(&f, 64);
	fd = cli_connect(&f);
	cli_send(fd, "big\n", 4);
	while (!eof) {
		char *a;

		pump(&f);
		a = cli_read(fd, &eof);
		got += strlen(a);
		free(a);
	}
	ck_assert_uint_eq(got, 3 + BIG);
	close(fd);
	teardown(&f);
}
END_TEST

START_TEST(test_out_of_descriptors_waiting_clients_are_told_and_the_loop_goes_on)
{
	struct fixture f;
	struct rlimit rl, low;
	int fds[3], spare;
	bool eof;
	char *a;

	setup(&f, 64);
	for (int i = 0; i < 3; i++)
		fds[i] = cli_connect(&f);
	/* No descriptor can be made from now on: the lowest free one is the limit. */
	spare = dup(0);
	ck_assert_int_ge(spare, 0);
	close(spare);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	low = rl;
	low.rlim_cur = (rlim_t)spare;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	ck_assert_int_lt(dup(0), 0);
	pump(&f); /* ends: the backlog is emptied, not reported again and again */
	for (int i = 0; i < 3; i++) {
		a = cli_read(fds[i], &eof);
		ck_assert(eof);
		ck_assert_str_eq(a, "error the daemon is out of file descriptors\n");
		free(a);
		close(fds[i]);
	}
	ck_assert_uint_eq(stat_of(&f, DM_CTL_NO_FD), 3);
	ck_assert(!dm_control_paused(f.c));
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	a = ASK(&f, "again\n");
	ck_assert_str_eq(a, "ok\ngot again\n");
	free(a);
	teardown(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-control");
	TCase *tc = tcase_create("control");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_a_request_is_answered_and_closed);
	tcase_add_test(tc, test_a_line_over_the_limit_is_an_error_never_run);
	tcase_add_test(tc, test_a_nul_byte_is_an_error_never_run);
	tcase_add_test(tc, test_input_ended_before_the_line_end_is_an_error);
	tcase_add_test(tc, test_clients_without_a_request_are_closed_at_the_deadline);
	tcase_add_test(tc, test_the_oldest_client_without_a_request_makes_room);
	tcase_add_test(tc, test_busy_when_every_client_is_being_answered);
	tcase_add_test(tc, test_a_slow_reader_gets_the_whole_answer);
	tcase_add_test(tc, test_out_of_descriptors_waiting_clients_are_told_and_the_loop_goes_on);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
