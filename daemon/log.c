/* Daemon plumbing: logging to stderr and/or syslog, the clock. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "daemon.h"

/* The process's one logging configuration, set once at start. */
static struct {
	const char *ident;
	bool to_stderr;
	bool to_syslog;
	int level;
} dm_logcfg = {"daemon", true, false, LOG_INFO};

void dm_log_setup(const char *ident, bool use_stderr, bool use_syslog, int facility, bool debug)
{
	dm_logcfg.ident = ident;
	dm_logcfg.to_stderr = use_stderr;
	dm_logcfg.to_syslog = use_syslog;
	dm_logcfg.level = debug ? LOG_DEBUG : LOG_INFO;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, facility >= 0 ? facility : LOG_DAEMON);
}

int dm_log_level(void)
{
	return dm_logcfg.level;
}

const char *dm_log_ident(void)
{
	return dm_logcfg.ident;
}

void dm_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > dm_logcfg.level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (dm_logcfg.to_syslog)
		syslog(level, "%s", msg);
	if (dm_logcfg.to_stderr) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s: %s\n", when, ts.tv_nsec / 1000000, dm_logcfg.ident,
		        msg);
	}
}

void dm_log_hook(void *user, int level, const char *msg)
{
	(void)user;
	dm_log(level, "%s", msg);
}

rd_time_t dm_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (rd_time_t)ts.tv_sec * RD_SEC + (rd_time_t)ts.tv_nsec;
}
