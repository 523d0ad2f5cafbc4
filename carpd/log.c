/* carpd: logging to stderr and/or syslog, and the library's log hook. */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "carpd.h"

/* The process's one logging configuration, set once at start. */
static struct {
	bool to_stderr;
	bool to_syslog;
	int level;
} cd_logcfg = {true, false, LOG_INFO};

void cd_log_setup(bool use_stderr, bool use_syslog, int facility, bool debug)
{
	cd_logcfg.to_stderr = use_stderr;
	cd_logcfg.to_syslog = use_syslog;
	cd_logcfg.level = debug ? LOG_DEBUG : LOG_INFO;
	if (use_syslog)
		openlog("carpd", LOG_PID | LOG_NDELAY, facility >= 0 ? facility : LOG_DAEMON);
}

int cd_log_level(void)
{
	return cd_logcfg.level;
}

static void vlog(int level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > cd_logcfg.level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cd_logcfg.to_syslog)
		syslog(level, "%s", msg);
	if (cd_logcfg.to_stderr) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld carpd: %s\n", when, ts.tv_nsec / 1000000, msg);
	}
}

void cd_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void cd_log_hook(void *user, int level, const char *msg)
{
	(void)user;
	cd_log(level, "%s", msg);
}

rd_time_t cd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (rd_time_t)ts.tv_sec * RD_SEC + (rd_time_t)ts.tv_nsec;
}

void cd_buf_printf(struct cd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t ncap = (b->cap + (size_t)n + 1) * 2;
			char *np = realloc(b->p, ncap);

			if (np == NULL) {
				b->oom = true;
				return;
			}
			b->p = np;
			b->cap = ncap;
		}
	}
}
