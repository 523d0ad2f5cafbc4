/*
 * The service manager's readiness protocol (daemon/notify.c): one datagram
 * to the socket $NOTIFY_SOCKET names, a path or an abstract '@name'; no
 * socket named is no message; a name that is neither is refused; a manager
 * that does not read never blocks the sender (the message is dropped); a
 * STATUS= is sent again only when it changed.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../test_tmpdir.h"
#include "daemon.h"

/* A datagram listener at name ('@' abstract), non-blocking. */
static int listener(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(fd, 0);
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa,
	                      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
	                 0);
	return fd;
}

/* The next datagram, NUL-terminated (static), or "" when none waits. */
static const char *next(int fd)
{
	static char buf[1024];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

START_TEST(path_socket_gets_one_datagram)
{
	char dir[256], path[300];
	int fd;

	ck_assert_ptr_nonnull(rd_test_mkdtemp("notify", dir, sizeof(dir)));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	ck_assert_int_eq(dm_notify_to(path, "READY=1\nSTATUS=up"), 1);
	ck_assert_str_eq(next(fd), "READY=1\nSTATUS=up");
	ck_assert_str_eq(next(fd), "");
	close(fd);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(abstract_socket_gets_one_datagram)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@libredund-test-notify-%d", (int)getpid());
	fd = listener(name);
	ck_assert_int_eq(dm_notify_to(name, "STOPPING=1"), 1);
	ck_assert_str_eq(next(fd), "STOPPING=1");
	close(fd);
}
END_TEST

START_TEST(no_socket_named_sends_nothing)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(dm_notify("READY=1"), 0);
	ck_assert_int_eq(dm_notify_to("", "READY=1"), 0);
}
END_TEST

START_TEST(bad_names_refused)
{
	char longname[200];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(dm_notify_to("relative/notify", "READY=1"), -EINVAL);
	ck_assert_int_eq(dm_notify_to("vsock:2:1", "READY=1"), -EINVAL);
	ck_assert_int_eq(dm_notify_to(longname, "READY=1"), -EINVAL);
	/* Nobody listens: an error, returned at once. */
	ck_assert_int_lt(dm_notify_to("@libredund-test-nobody-here", "READY=1"), 0);
}
END_TEST

START_TEST(full_queue_never_blocks)
{
	char name[64];
	int fd, i, rc = 1;

	snprintf(name, sizeof(name), "@libredund-test-full-%d", (int)getpid());
	fd = listener(name);
	/* Nobody reads: the queue fills, then each message is dropped at once. */
	for (i = 0; i < 100000 && rc == 1; i++)
		rc = dm_notify_to(name, "STATUS=filling the queue of a manager that does not read");
	ck_assert_int_eq(rc, -EAGAIN);
	ck_assert_int_eq(dm_notify_to(name, "READY=1"), -EAGAIN);
	close(fd);
}
END_TEST

START_TEST(status_sent_only_when_changed)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@libredund-test-status-%d", (int)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(dm_notify_status("1 vhost: 1 master"), 1);
	ck_assert_int_eq(dm_notify_status("1 vhost: 1 master"), 0);
	ck_assert_int_eq(dm_notify_status("1 vhost: 0 master"), 1);
	ck_assert_str_eq(next(fd), "STATUS=1 vhost: 1 master");
	ck_assert_str_eq(next(fd), "STATUS=1 vhost: 0 master");
	ck_assert_str_eq(next(fd), "");
	ck_assert_int_eq(dm_notify_reloading(), 1);
	ck_assert_int_eq(strncmp(next(fd), "RELOADING=1\nMONOTONIC_USEC=", 27), 0);
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-notify");
	TCase *tc = tcase_create("notify");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, path_socket_gets_one_datagram);
	tcase_add_test(tc, abstract_socket_gets_one_datagram);
	tcase_add_test(tc, no_socket_named_sends_nothing);
	tcase_add_test(tc, bad_names_refused);
	tcase_add_test(tc, full_queue_never_blocks);
	tcase_add_test(tc, status_sent_only_when_changed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
