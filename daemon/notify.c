/*
 * The service manager's readiness protocol (systemd's sd_notify(3), the
 * few lines of it a daemon needs, so that no libsystemd is linked): one
 * datagram of newline-separated VAR=VALUE assignments to the unix socket
 * named by $NOTIFY_SOCKET, a path or, with a leading '@', an abstract
 * name. Sent non-blocking; a manager that is gone, slow or absent never
 * stalls or stops the daemon: the message is dropped (logged at debug).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

/* The STATUS= last sent, so that a loop may re-state it each round for free. */
static char last_status[DM_NOTIFY_STATUS_MAX];

int dm_notify_to(const char *where, const char *state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n;
	socklen_t salen;
	int fd, rc = 1;

	if (where == NULL || where[0] == '\0')
		return 0;
	n = strlen(where);
	/* A path, or an abstract name ('@' stands for its leading NUL byte). */
	if ((where[0] != '/' && where[0] != '@') || n >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, where, n);
	if (where[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (where[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa,
	           salen) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int dm_notify(const char *state)
{
	const char *where = getenv("NOTIFY_SOCKET");
	int rc = dm_notify_to(where, state);

	if (rc < 0)
		dm_log(LOG_DEBUG, "NOTIFY_SOCKET %s: %s not sent: %s", where,
		       strncmp(state, "STATUS=", 7) == 0 ? "status" : state, strerror(-rc));
	return rc;
}

int dm_notifyf(const char *fmt, ...)
{
	char buf[DM_NOTIFY_STATUS_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return dm_notify(buf);
}

int dm_notify_status(const char *status)
{
	char buf[DM_NOTIFY_STATUS_MAX + 8];

	if (strncmp(status, last_status, sizeof(last_status) - 1) == 0)
		return 0;
	snprintf(last_status, sizeof(last_status), "%s", status);
	snprintf(buf, sizeof(buf), "STATUS=%s", last_status);
	return dm_notify(buf);
}

int dm_notify_reloading(void)
{
	struct timespec ts;

	/* MONOTONIC_USEC: what systemd's Type=notify-reload asks with RELOADING=1. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return dm_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu",
	                  (unsigned long long)ts.tv_sec * 1000000ull +
	                      (unsigned long long)ts.tv_nsec / 1000);
}
