/*
 * Daemon plumbing: logging to stderr and/or syslog, the clock.
 *
 * Nothing a packet causes may block the loop, logging included, and an
 * outsider must not be able to fill the log:
 *  - lines an outsider can cause go through a limiter, per reason: at most
 *    `burst` a window (5 a second), the rest counted and reported in one
 *    line when the window ends ("N more suppressed");
 *  - a line the output cannot take at once (a pipe or socket whose reader
 *    is slow, a stopped terminal) is dropped and counted, and the count is
 *    written before the next line that goes through. stderr, when it is a
 *    pipe, FIFO or terminal, is reopened through /proc/self/fd/2 as a
 *    non-blocking description of our own (the inherited one, shared with
 *    the scripts carpd runs, is left blocking); a socket (journald's
 *    stream) is written with MSG_DONTWAIT; a regular file is written as it
 *    is. syslog is our own non-blocking datagram socket to /dev/log
 *    (syslog(3) blocks when the reader of /dev/log is slow).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define DM_LOG_REASONS 64 /* kinds of limited lines; the last one is shared by the rest */

enum out_kind { OUT_PLAIN, OUT_NONBLOCK, OUT_SOCKET, OUT_POLL };

/* One output and what it could not take since its last line went through. */
struct log_out {
	int fd;
	enum out_kind kind;
	bool owned; /* fd is ours to close */
	uint64_t dropped;
};

struct log_reason {
	const char *key;
	int level;
	rd_time_t start;
	unsigned int lines;
	uint64_t suppressed;
};

/* The process's one log, set once at start. */
static struct {
	const char *ident;
	bool to_stderr, to_syslog;
	int level, facility;
	struct log_out err, sys;
	char sys_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned int burst;
	rd_time_t window;
	struct log_reason reasons[DM_LOG_REASONS];
	size_t nreasons;
	bool holding;
	struct dm_buf held; /* per line: level byte, text, NUL */
	struct dm_log_counts counts;
} dm_logcfg = {
    .ident = "daemon",
    .to_stderr = true,
    .level = LOG_INFO,
    .facility = LOG_DAEMON,
    .err = {.fd = 2, .kind = OUT_POLL},
    .sys = {.fd = -1},
    .burst = DM_LOG_BURST,
    .window = DM_LOG_WINDOW,
};

/* ---- outputs ---- */

static void out_close(struct log_out *o)
{
	if (o->owned && o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->owned = false;
}

/* stderr: our own non-blocking description where the inherited one could block. */
static void err_open(struct log_out *o)
{
	struct stat st;
	int fd;

	out_close(o);
	o->fd = 2;
	o->kind = OUT_POLL;
	if (fstat(2, &st) != 0)
		return;
	if (S_ISREG(st.st_mode)) {
		o->kind = OUT_PLAIN;
	} else if (S_ISSOCK(st.st_mode)) {
		o->kind = OUT_SOCKET;
	} else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		fd = open("/proc/self/fd/2",
		          O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0) {
			o->fd = fd;
			o->owned = true;
			o->kind = OUT_NONBLOCK;
		}
	}
}

static void sys_open(struct log_out *o, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	out_close(o);
	o->kind = OUT_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	o->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (o->fd < 0)
		return;
	o->owned = true;
	if (connect(o->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		out_close(o);
}

/* Write one whole line without blocking: 0, or -1 (not taken; nothing or part of it written). */
static int out_write(struct log_out *o, const char *s, size_t len)
{
	struct pollfd p = {.fd = o->fd, .events = POLLOUT};
	ssize_t n;

	if (o->fd < 0)
		return -1;
	switch (o->kind) {
	case OUT_SOCKET:
		n = send(o->fd, s, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	case OUT_POLL:
		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
			return -1;
		/* fall through */
	default:
		n = write(o->fd, s, len);
		break;
	}
	return n == (ssize_t)len ? 0 : -1;
}

/* The syslog reader restarted: a new socket, once a line. */
static int sys_send(const char *s, size_t len)
{
	if (out_write(&dm_logcfg.sys, s, len) == 0)
		return 0;
	if (dm_logcfg.sys.fd >= 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
		return -1;
	sys_open(&dm_logcfg.sys, dm_logcfg.sys_path);
	return out_write(&dm_logcfg.sys, s, len);
}

static size_t format_stderr(char *buf, size_t size, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char when[32];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	n = snprintf(buf, size, "%s.%03ld %s: %s\n", when, ts.tv_nsec / 1000000, dm_logcfg.ident,
	             msg);
	if (n < 0)
		return 0;
	if ((size_t)n >= size) { /* truncated: keep the line end */
		buf[size - 2] = '\n';
		return size - 1;
	}
	return (size_t)n;
}

/* RFC 3164 as syslog(3) writes it to /dev/log. */
static size_t format_syslog(char *buf, size_t size, int level, const char *msg)
{
	time_t now = time(NULL);
	struct tm tm;
	char when[32];
	int n;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%b %e %H:%M:%S", &tm);
	n = snprintf(buf, size, "<%d>%s %s[%d]: %s", dm_logcfg.facility | level, when,
	             dm_logcfg.ident, (int)getpid(), msg);
	if (n < 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

/* A line to both outputs, after the notice of what each dropped before it. */
static void emit(int level, const char *msg)
{
	char buf[1200], note[96];

	if (dm_logcfg.to_syslog) {
		struct log_out *o = &dm_logcfg.sys;
		size_t len;

		if (o->dropped > 0) {
			snprintf(note, sizeof(note),
			         "%llu log lines dropped: syslog did not take them",
			         (unsigned long long)o->dropped);
			len = format_syslog(buf, sizeof(buf), LOG_WARNING, note);
			if (sys_send(buf, len) == 0)
				o->dropped = 0;
		}
		len = format_syslog(buf, sizeof(buf), level, msg);
		if (o->dropped > 0 || sys_send(buf, len) != 0) {
			o->dropped++;
			dm_logcfg.counts.dropped++;
		}
	}
	if (dm_logcfg.to_stderr) {
		struct log_out *o = &dm_logcfg.err;
		size_t len;

		if (o->dropped > 0) {
			snprintf(note, sizeof(note),
			         "%llu log lines dropped: stderr did not take them",
			         (unsigned long long)o->dropped);
			len = format_stderr(buf, sizeof(buf), note);
			if (out_write(o, buf, len) == 0)
				o->dropped = 0;
		}
		len = format_stderr(buf, sizeof(buf), msg);
		if (o->dropped > 0 || out_write(o, buf, len) != 0) {
			o->dropped++;
			dm_logcfg.counts.dropped++;
		}
	}
}

/* ---- set-up ---- */

void dm_log_setup(const char *ident, bool use_stderr, bool use_syslog, int facility, bool debug)
{
	dm_logcfg.ident = ident;
	dm_logcfg.to_stderr = use_stderr;
	dm_logcfg.to_syslog = use_syslog;
	dm_logcfg.level = debug ? LOG_DEBUG : LOG_INFO;
	dm_logcfg.facility = facility >= 0 ? facility : LOG_DAEMON;
	if (use_stderr)
		err_open(&dm_logcfg.err);
	if (use_syslog)
		dm_log_syslog_to("/dev/log");
}

void dm_log_syslog_to(const char *path)
{
	snprintf(dm_logcfg.sys_path, sizeof(dm_logcfg.sys_path), "%s", path);
	dm_logcfg.to_syslog = true;
	sys_open(&dm_logcfg.sys, dm_logcfg.sys_path);
}

void dm_log_set_limit(unsigned int burst, rd_time_t window)
{
	dm_logcfg.burst = burst;
	dm_logcfg.window = window;
}

int dm_log_level(void)
{
	return dm_logcfg.level;
}

const char *dm_log_ident(void)
{
	return dm_logcfg.ident;
}

void dm_log_counts(struct dm_log_counts *out)
{
	*out = dm_logcfg.counts;
}

void dm_log_status(struct dm_buf *b, bool json)
{
	const struct dm_log_counts *c = &dm_logcfg.counts;

	if (json)
		dm_buf_printf(b, "\"log\": {\"suppressed\": %llu, \"dropped\": %llu}",
		              (unsigned long long)c->suppressed, (unsigned long long)c->dropped);
	else
		dm_buf_printf(b, "log: %llu lines suppressed, %llu dropped\n",
		              (unsigned long long)c->suppressed, (unsigned long long)c->dropped);
}

/* ---- the limiter ---- */

static struct log_reason *reason_of(const char *key, int level)
{
	struct log_reason *r;

	for (size_t i = 0; i < dm_logcfg.nreasons; i++) {
		r = &dm_logcfg.reasons[i];
		if (r->key == key || strcmp(r->key, key) == 0)
			return r;
	}
	if (dm_logcfg.nreasons == DM_LOG_REASONS)
		return &dm_logcfg.reasons[DM_LOG_REASONS - 1];
	r = &dm_logcfg.reasons[dm_logcfg.nreasons++];
	r->key = dm_logcfg.nreasons == DM_LOG_REASONS ? "other lines" : key;
	r->level = level;
	r->start = RD_TIME_NEVER;
	return r;
}

/* The window of r ended: say what it suppressed, start a new one at now. */
static void reason_roll(struct log_reason *r, rd_time_t now)
{
	if (r->suppressed > 0) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s: %llu more suppressed in the last %.1f s", r->key,
		         (unsigned long long)r->suppressed,
		         (double)(r->start != RD_TIME_NEVER ? now - r->start : 0) / RD_SEC);
		emit(r->level, msg);
	}
	r->start = now;
	r->lines = 0;
	r->suppressed = 0;
}

static void limited_emit(const char *key, int level, const char *msg)
{
	rd_time_t now = dm_monotonic();
	struct log_reason *r = reason_of(key, level);

	if (r->start == RD_TIME_NEVER || now - r->start >= dm_logcfg.window)
		reason_roll(r, now);
	if (r->lines >= dm_logcfg.burst) {
		r->suppressed++;
		dm_logcfg.counts.suppressed++;
		return;
	}
	r->lines++;
	r->level = level < r->level ? level : r->level;
	emit(level, msg);
}

void dm_log_tick(void)
{
	rd_time_t now = dm_monotonic();

	for (size_t i = 0; i < dm_logcfg.nreasons; i++) {
		struct log_reason *r = &dm_logcfg.reasons[i];

		if (r->suppressed > 0 && now - r->start >= dm_logcfg.window)
			reason_roll(r, now);
	}
}

/* ---- the lines ---- */

static void hold_line(int level, const char *msg)
{
	size_t before = dm_logcfg.held.len;

	dm_buf_printf(&dm_logcfg.held, "%c%s%c", (char)level, msg, '\0');
	if (dm_logcfg.held.oom) { /* out of memory: the line goes out now, unheld */
		dm_logcfg.held.len = before;
		dm_logcfg.held.oom = false;
		emit(level, msg);
	}
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
	if (dm_logcfg.holding)
		hold_line(level, msg);
	else
		emit(level, msg);
}

void dm_log_limited(const char *reason, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > dm_logcfg.level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	limited_emit(reason, level, msg);
}

void dm_log_hook(void *user, int level, const char *msg)
{
	(void)user;
	dm_log(level, "%s", msg);
}

void dm_log_hold(void)
{
	dm_logcfg.holding = true;
}

void dm_log_release(const char *reason)
{
	struct dm_buf *h = &dm_logcfg.held;
	size_t off = 0;

	dm_logcfg.holding = false;
	while (off < h->len) {
		int level = (unsigned char)h->p[off];
		const char *msg = h->p + off + 1;

		if (reason != NULL)
			limited_emit(reason, level, msg);
		else
			emit(level, msg);
		off += strlen(msg) + 2;
	}
	h->len = 0;
}

rd_time_t dm_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (rd_time_t)ts.tv_sec * RD_SEC + (rd_time_t)ts.tv_nsec;
}
