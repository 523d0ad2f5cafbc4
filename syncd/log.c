/* syncd: logging to stderr and/or syslog, the library's log hook, helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>

#include "syncd.h"

/* The process's one logging configuration, set once at start. */
static struct {
	bool to_stderr;
	bool to_syslog;
	int level;
} sd_logcfg = {true, false, LOG_INFO};

void sd_log_setup(bool use_stderr, bool use_syslog, bool debug)
{
	sd_logcfg.to_stderr = use_stderr;
	sd_logcfg.to_syslog = use_syslog;
	sd_logcfg.level = debug ? LOG_DEBUG : LOG_INFO;
	if (use_syslog)
		openlog("syncd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void sd_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > sd_logcfg.level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sd_logcfg.to_syslog)
		syslog(level, "%s", msg);
	if (sd_logcfg.to_stderr) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld syncd: %s\n", when, ts.tv_nsec / 1000000, msg);
	}
}

void sd_log_hook(void *user, int level, const char *msg)
{
	(void)user;
	sd_log(level, "%s", msg);
}

rd_time_t sd_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (rd_time_t)ts.tv_sec * RD_SEC + (rd_time_t)ts.tv_nsec + SD_TIME_BASE;
}

void sd_buf_printf(struct sd_buf *b, const char *fmt, ...)
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
