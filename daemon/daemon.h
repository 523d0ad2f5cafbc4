/*
 * The plumbing carpd and syncd share (an internal static library, not part
 * of libredund): logging, a growable text buffer, the monotonic clock, the
 * epoll loop's descriptors (epoll set, timerfd, signalfd) and the control
 * socket. None of it is thread-safe: each daemon runs one thread.
 */
#ifndef RD_DAEMON_H
#define RD_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redund/common.h"

/* ---- logging and helpers (log.c) ---- */

/*
 * dm_log_setup - configure the process's one log: `ident` prefixes stderr
 * lines and names the syslog identity (the string must outlive the
 * process's logging); facility < 0 means LOG_DAEMON. Call once at start.
 */
void dm_log_setup(const char *ident, bool use_stderr, bool use_syslog, int facility, bool debug);
/* dm_log - a message at a syslog level; dropped above the configured level. */
void dm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* dm_log_hook - an rd_log hook that forwards the library's messages to dm_log. */
void dm_log_hook(void *user, int level, const char *msg);
/* dm_log_level - the configured level (LOG_DEBUG with debug, else LOG_INFO). */
int dm_log_level(void);
/* dm_log_ident - the ident given to dm_log_setup (the daemon's name). */
const char *dm_log_ident(void);

/* dm_monotonic - CLOCK_MONOTONIC in ns (the timerfd's clock). */
rd_time_t dm_monotonic(void);

/* A growable string; p is malloc'd and the caller's. oom: a step failed. */
struct dm_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
/* dm_buf_printf - append formatted text; on failure sets b->oom and appends nothing more. */
void dm_buf_printf(struct dm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * dm_words - split a control request line in place at spaces and tabs into
 * at most max words (w[0..]). Returns the number of words, or max + 1 when
 * the line has more (w then holds the first max).
 */
int dm_words(char *line, char **w, int max);
/* dm_buf_json_str - append s as a JSON string (quotes, \\ and control bytes escaped). */
void dm_buf_json_str(struct dm_buf *b, const char *s);
/* dm_buf_json_counters - append {"name(0)": v[0], ...} for the n counters. */
void dm_buf_json_counters(struct dm_buf *b, const uint64_t *v, int n, const char *(*name)(int));

/* ---- epoll tags and the loop (loop.c) ---- */

/*
 * The first member of every object registered with epoll: the loop
 * dispatches on kind. The kinds below are the shared ones; a daemon numbers
 * its own from DM_W_USER.
 */
enum {
	DM_W_TIMER = 1,
	DM_W_SIGNAL,
	DM_W_CONTROL,
	DM_W_CLIENT,
	DM_W_USER,
};
struct dm_watch {
	int kind;
	void *obj;
};

/* The loop's descriptors: an epoll set with a timerfd and a signalfd in it. */
struct dm_loop {
	int epfd, tfd, sfd;
	sigset_t mask; /* the signals read through sfd */
	struct dm_watch wt, ws;
};

/*
 * dm_loop_open - block the signals in `mask` (delivered through the
 * signalfd instead), ignore SIGPIPE, create the epoll set, the timerfd
 * (CLOCK_MONOTONIC) and the signalfd and add both. Returns 0 or -errno;
 * on failure dm_loop_close still releases what was made.
 */
int dm_loop_open(struct dm_loop *l, const sigset_t *mask);
/*
 * dm_loop_after_fork - after daemon(3): a signalfd in an epoll set wakes the
 * process that registered it, so re-create it in this one. 0 or -errno.
 */
int dm_loop_after_fork(struct dm_loop *l);
/* dm_loop_add - add fd to the epoll set for EPOLLIN with tag w. 0 or -errno. */
int dm_loop_add(struct dm_loop *l, int fd, struct dm_watch *w);
/*
 * dm_loop_arm - arm the timerfd at `when` (absolute CLOCK_MONOTONIC ns; 0
 * counts as 1 as zero would disarm), or disarm it for RD_TIME_NEVER.
 */
void dm_loop_arm(struct dm_loop *l, rd_time_t when);
/* dm_loop_timer_read - consume the timerfd's expirations. */
void dm_loop_timer_read(struct dm_loop *l);
/* dm_loop_signal_read - the next signal waiting on the signalfd, or 0 if none. */
int dm_loop_signal_read(struct dm_loop *l);
struct dm_control;
/* A ready descriptor of a kind other than DM_W_CONTROL and DM_W_CLIENT. */
typedef void (*dm_event_fn)(void *user, struct dm_watch *w, uint32_t events);
/*
 * dm_loop_wait - wait up to timeout_ms (-1: no limit) for events and
 * dispatch them: the control socket's to `ctl`, the others to fn(user, ...).
 * Returns the number of events (0: none, or a signal interrupted the wait),
 * or -1 after logging the error of epoll_wait.
 */
int dm_loop_wait(struct dm_loop *l, struct dm_control *ctl, int timeout_ms, dm_event_fn fn,
                 void *user);
/* dm_loop_close - close the descriptors (those not made are -1). */
void dm_loop_close(struct dm_loop *l);

/* ---- control socket (control.c) ---- */

/*
 * A unix stream socket, mode 0600. One request a connection: the client
 * writes one line, the daemon answers and closes: "ok\n" then the body, or
 * "error MESSAGE\n". Clients never block the loop: non-blocking reads and
 * writes, and a slow reader keeps its answer until the socket takes it.
 *
 * The handler runs one request line (without its line end; it may modify
 * it): it fills *body (malloc'd, NULL allowed) and returns 0, or -1 with
 * the error message in *body.
 */
typedef int (*dm_control_fn)(void *user, char *line, char **body);

struct dm_control;
/*
 * dm_control_open - listen on `path`. A stale socket file is replaced;
 * one where another process answers gives -EADDRINUSE. Lines longer than
 * in_max - 2 bytes close the connection. Returns 0 or -errno.
 */
int dm_control_open(const char *path, size_t in_max, dm_control_fn fn, void *user,
                    struct dm_control **out);
/*
 * dm_control_start - dm_control_open, then add the socket to l's epoll set.
 * Errors are logged ("control socket PATH: ..."). Returns 0 or -errno; *out
 * is set once the socket is open (for dm_control_close even on failure).
 */
int dm_control_start(struct dm_loop *l, const char *path, size_t in_max, dm_control_fn fn,
                     void *user, struct dm_control **out);
int dm_control_fd(const struct dm_control *c);
/* dm_control_watch - the listening socket's epoll tag (kind DM_W_CONTROL). */
struct dm_watch *dm_control_watch(struct dm_control *c);
/* dm_control_accept - the listening socket is readable: accept clients into epfd. */
void dm_control_accept(struct dm_control *c, int epfd);
/* dm_control_client_event - a client's socket (tag of kind DM_W_CLIENT) is ready. */
void dm_control_client_event(struct dm_control *c, struct dm_watch *tag, uint32_t events);
/* dm_control_close - close every client and the socket, remove the file. NULL is fine. */
void dm_control_close(struct dm_control *c);

#endif
