/*
 * The plumbing carpd and syncd share (internal static libraries, not part
 * of libredund): text helpers (also redundctl's), logging, the monotonic clock, the
 * epoll loop's descriptors (epoll set, timerfd, signalfd) and the control
 * socket. None of it is thread-safe: each daemon runs one thread.
 */
#ifndef RD_DAEMON_H
#define RD_DAEMON_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redund/common.h"

/* ---- logging and helpers (log.c) ---- */

/*
 * Logging never blocks the loop: a line that stderr or syslog cannot take
 * at once (a slow reader) is dropped and counted, and the count is written
 * before the next line that goes through ("N log lines dropped: ...").
 * Lines an outsider can cause (a packet refused, a receive error) go
 * through dm_log_limited: per reason at most DM_LOG_BURST lines a
 * DM_LOG_WINDOW, the rest counted and reported in one line when the
 * window ends ("REASON: N more suppressed in the last 1.0 s").
 */
#define DM_LOG_BURST  5
#define DM_LOG_WINDOW RD_SEC

struct dm_buf;

/*
 * dm_log_setup - configure the process's one log: `ident` prefixes stderr
 * lines and names the syslog identity (the string must outlive the
 * process's logging); facility < 0 means LOG_DAEMON. stderr is examined
 * here (a pipe, FIFO or terminal is reopened non-blocking, see log.c), so
 * call it once at start, after fd 2 is what it will stay.
 */
void dm_log_setup(const char *ident, bool use_stderr, bool use_syslog, int facility, bool debug);
/*
 * dm_log_syslog_to - send syslog lines to the datagram socket at path
 * instead of /dev/log (and turn syslog on). For tests.
 */
void dm_log_syslog_to(const char *path);
/* dm_log_set_limit - dm_log_limited's burst and window (tests; default DM_LOG_BURST a
 * DM_LOG_WINDOW). */
void dm_log_set_limit(unsigned int burst, rd_time_t window);
/*
 * dm_log - a message at a syslog level; dropped above the configured level.
 * Between dm_log_hold and dm_log_release it is held (see there).
 */
void dm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * dm_log_limited - dm_log for a line an outsider can cause, limited per
 * `reason` (compared as a string; it names the kind of line in the
 * summary and must stay valid: a string literal or static storage). At
 * most 64 reasons are told apart; more share one limit.
 */
void dm_log_limited(const char *reason, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * dm_log_hold, dm_log_release - around the processing of one packet: the
 * lines logged meanwhile (by dm_log, or by the library through
 * dm_log_hook) are held, and dm_log_release sends them through
 * dm_log_limited under `reason` (what became of the packet, e.g. why it
 * was refused), or as they are with reason NULL. Not nested.
 */
void dm_log_hold(void);
void dm_log_release(const char *reason);
/*
 * dm_log_tick - report the suppressed lines of the windows that ended;
 * dm_loop_wait calls it after each round of events.
 */
void dm_log_tick(void);
/* dm_log_hook - an rd_log hook that forwards the library's messages to dm_log. */
void dm_log_hook(void *user, int level, const char *msg);
/* dm_log_level - the configured level (LOG_DEBUG with debug, else LOG_INFO). */
int dm_log_level(void);
/* dm_log_ident - the ident given to dm_log_setup (the daemon's name). */
const char *dm_log_ident(void);

/* Lines not written since start: held back by the limiter, or not taken by an output. */
struct dm_log_counts {
	uint64_t suppressed; /* by dm_log_limited */
	uint64_t dropped;    /* per output: a line that went to both and neither counts 2 */
};
/* dm_log_counts - copy the counts out. */
void dm_log_counts(struct dm_log_counts *out);
/*
 * dm_log_status - append the counts to a status: JSON `"log": {"suppressed":
 * N, "dropped": N}` (no separator), or a text line "log: ...\n".
 */
void dm_log_status(struct dm_buf *b, bool json);

/* dm_monotonic - CLOCK_MONOTONIC in ns (the timerfd's clock). */
rd_time_t dm_monotonic(void);

/* ---- text: words, strings, numbers, errors, the buffer and JSON (text.c) ---- */

/*
 * The text helpers are pure functions of their arguments (no I/O, no
 * globals) and are linked into redundctl too (the daemon_text library).
 */

/*
 * dm_words - split a control request line in place into at most max words
 * (w[0..]). Words are separated by runs of spaces, tabs, CR and LF; there
 * is no quoting and no escape: '"', '\'' and '\\' are ordinary characters
 * of a word, so a word never contains a separator. Returns the number of
 * words, or max + 1 when the line has more (w then holds the first max).
 */
int dm_words(char *line, char **w, int max);
/*
 * dm_conf_words - dm_words for a line of a configuration file: a word that
 * starts with '#' ends the line (a comment); a '#' inside a word is part of
 * it ("pass ab#c" is two words). Same return as dm_words.
 */
int dm_conf_words(char *line, char **w, int max);

/*
 * dm_str_set - replace the malloc'd string *dst (NULL allowed) with a copy
 * of s. Returns 0, or -ENOMEM with *dst unchanged.
 */
int dm_str_set(char **dst, const char *s);
/*
 * dm_str_copy - copy s into dst (size bytes) if it has 1 to size - 1
 * characters. Returns 0, or -1 (empty or too long) with dst unchanged.
 */
int dm_str_copy(char *dst, size_t size, const char *s);

/* dm_parse_u64's refusals (0 is success). */
enum {
	DM_NUM_SYNTAX = -1, /* empty, a sign, a space or a non-digit */
	DM_NUM_RANGE = -2,  /* digits, but below lo, above hi or above 2^64 - 1 */
};
/*
 * dm_parse_u64 - the whole of s as an unsigned number in base 10 or 16
 * (digits only: no sign, no spaces, no "0x"; hex digits of either case)
 * within lo..hi. Returns 0 with *out set, or DM_NUM_SYNTAX / DM_NUM_RANGE
 * with *out unchanged.
 */
int dm_parse_u64(const char *s, int base, uint64_t lo, uint64_t hi, uint64_t *out);
/* dm_parse_uint - dm_parse_u64 in base 10 into an unsigned. */
int dm_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out);
/* dm_num_strerror - a dm_parse_u64 refusal as text (static string). */
const char *dm_num_strerror(int rc);

/*
 * Error messages of the parsers go into a caller's buffer of len bytes,
 * truncated if need be, always NUL-terminated (len > 0). A message says
 * what was expected and what was given; with a location it reads
 * "file:line: message" (the form of compilers, which editors jump to).
 */
void dm_errf(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void dm_verrf(char *err, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* dm_file_errf - "file:line: message"; line 0 gives "file: message". */
void dm_file_errf(char *err, size_t len, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A growable string; p is malloc'd and the caller's. oom: a step failed. */
struct dm_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
/* dm_buf_printf - append formatted text; on failure sets b->oom and appends nothing more. */
void dm_buf_printf(struct dm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The JSON that carpd, syncd and redundctl write (status json, decode
 * carp, decode pfsync) follows one schema style:
 *  - keys are snake_case ASCII ("state_seconds", "checksum_ok");
 *  - an address family is the string "inet" or "inet6" (dm_af_name),
 *    never a number; an address is a string in its usual text form;
 *  - ids and creatorids are lowercase hex strings of fixed width, counters
 *    and sizes plain numbers, flags true/false, an unknown value null;
 *  - a counter group is an object {name: count} in the order of its enum;
 *  - strings are written by dm_buf_json_str (below).
 * Whitespace between tokens is not part of the schema.
 *
 * dm_buf_json_str - append s as a JSON string. The rule: valid UTF-8 passes
 * through unchanged ("é", "😀"); '"' and '\\' are escaped with a
 * backslash; every other byte that is not part of printable valid UTF-8
 * (control bytes 0x00-0x1f, DEL 0x7f, and each byte of an invalid, overlong,
 * surrogate or truncated sequence) is written as \u00XX with the byte's
 * value. Since U+0080..U+00FF themselves pass through as UTF-8, a reader
 * knows \u0080..\u00ff stand for raw bytes.
 */
void dm_buf_json_str(struct dm_buf *b, const char *s);
/* dm_buf_json_strn - dm_buf_json_str of at most max bytes of s (stops at a NUL). */
void dm_buf_json_strn(struct dm_buf *b, const char *s, size_t max);
/*
 * dm_utf8_len - the length (1..4) of the valid UTF-8 sequence at s (n > 0
 * bytes available), or 0 if none starts there.
 */
size_t dm_utf8_len(const unsigned char *s, size_t n);
/* dm_buf_json_counters - append {"name(0)": v[0], ...} for the n counters. */
void dm_buf_json_counters(struct dm_buf *b, const uint64_t *v, int n, const char *(*name)(int));
/* dm_af_name - "inet", "inet6", or "unspec" for any other RD_AF_* value (JSON and text). */
const char *dm_af_name(int af);

/* ---- options and configuration files (conf.c) ---- */

/*
 * One parser for the command lines and the configuration files of carpd
 * and syncd. A daemon describes its keywords once, in a table of struct
 * dm_opt: each is a long option of the command line and a keyword of the
 * file, with the same name, argument and meaning, unless its scope keeps it
 * to one of the two. The command line is read with getopt_long(3), so
 * "--opt V", "--opt=V", "-o V" and "-oV" are the same and a long option may
 * be abbreviated while unambiguous; the file is read whole (lines of any
 * length, numbered from 1), one keyword and its arguments a line, '#'
 * starting a comment (dm_conf_words).
 *
 * None of it is thread-safe: dm_opts_scan uses getopt_long's globals.
 */
enum dm_opt_scope {
	DM_OPT_BOTH = 0, /* a long option and a keyword of the file */
	DM_OPT_CLI,      /* the command line only (--help, --config, ...) */
	DM_OPT_FILE,     /* the file only (carpd's "vhost IF VHID") */
};

struct dm_opt {
	const char *name; /* the long option and the file's keyword */
	int short_opt;    /* its one-letter option, or 0 */
	int id;           /* the daemon's own number for it */
	int nargs; /* arguments: 0 (a flag), 1, or 2 or DM_OPT_NARGS_MANY (DM_OPT_FILE only) */
	int scope; /* enum dm_opt_scope */
	const char *args; /* the arguments' names, for messages ("FILE"); NULL for a flag */
};

/*
 * nargs of a file keyword taking 1..DM_CONF_ARGS_MAX words (a path and
 * optional "name value" pairs): its dm_conf_fn gets them NULL-terminated.
 */
#define DM_OPT_NARGS_MANY (-1)
#define DM_CONF_ARGS_MAX  15

/* A daemon's table and its name (messages say "see PROG --help"). */
struct dm_opts {
	const char *prog;
	const struct dm_opt *opt;
	size_t n;
};

/* One option of a command line, in the order given. */
struct dm_arg {
	const struct dm_opt *opt;
	char *arg; /* points into argv; NULL for a flag */
};

/*
 * dm_opts_scan - read argv[1..argc-1] as options of table t (those of scope
 * BOTH and CLI) without applying any: the daemon then looks at the whole
 * (help, the config file) before it applies them in order. Returns 0 with
 * *out (malloc'd, the caller frees it; its args point into argv) and *n
 * set, or -1 with err filled, *out NULL: an unknown or ambiguous option, a
 * missing argument, an argument to a flag ("--preempt=yes"), a word that is
 * not an option, or out of memory. Not thread-safe (getopt_long).
 */
int dm_opts_scan(const struct dm_opts *t, int argc, char **argv, struct dm_arg **out, size_t *n,
                 char *err, size_t len);

/*
 * dm_opts_count - how many of the n options in a are the option with id
 * `id` (a daemon refuses a second --config with it).
 */
size_t dm_opts_count(const struct dm_arg *a, size_t n, int id);

/*
 * A configuration file line: the keyword's option o and its o->nargs
 * arguments (args[0..], in a buffer the parser owns: copy what is kept).
 * line is the line's number (from 1). Returns 0, or -1 with err (len
 * bytes) saying what was expected, without a location: the parser
 * prefixes "name:line: ".
 */
typedef int (*dm_conf_fn)(void *user, const struct dm_opt *o, char **args, unsigned line, char *err,
                          size_t len);

/*
 * dm_conf_parse - parse the configuration text (len bytes, NUL bytes
 * refused, need not be NUL-terminated) named `name` in messages, against
 * table t: each line that is not blank or a comment must be a keyword of
 * scope BOTH or FILE followed by exactly its nargs arguments; fn is called
 * for each, in order. Stops at the first error. Returns 0, or -1 with err
 * (errlen bytes) as "name:line: message": a NUL byte, an unknown keyword,
 * an option of the command line only, the wrong number of arguments, out
 * of memory or fn's refusal. The text is copied once and the copy wiped
 * before it is freed (a file may hold passwords).
 */
int dm_conf_parse(const struct dm_opts *t, const char *name, const char *text, size_t len,
                  dm_conf_fn fn, void *user, char *err, size_t errlen);

/* The largest file dm_file_read reads (a configuration or a key file). */
#define DM_FILE_MAX (1024 * 1024)

/* dm_file_read flags. */
enum {
	/*
	 * A secret (a key or a password file): refused when group or others
	 * have any access to it (mode & 077), as ssh refuses a private key.
	 */
	DM_FILE_SECRET = 1,
};

/*
 * dm_file_read - read the whole regular file at path (at most DM_FILE_MAX
 * bytes) into *text (malloc'd, NUL-terminated; free it with dm_file_free)
 * and *len. The file is opened non-blocking, so a FIFO or a device never
 * stalls the caller. Returns 0, or -1 with *text NULL and err (errlen
 * bytes) starting with the path: "PATH: cannot open: ...", "PATH: not a
 * regular file", "PATH: larger than N bytes", "PATH: read error: ...", and
 * with DM_FILE_SECRET "PATH: group or others can access it (mode 0640):
 * chmod 600 PATH". Thread-safe.
 */
int dm_file_read(const char *path, unsigned flags, char **text, size_t *len, char *err,
                 size_t errlen);
/* dm_file_free - wipe the len bytes of text (and its NUL), then free it. NULL is fine. */
void dm_file_free(char *text, size_t len);

struct rd_sync_key;
/*
 * dm_sync_key_read - read the sync key file at path, as syncd and redundctl
 * both do: read whole and as a secret (dm_file_read with DM_FILE_SECRET),
 * then parsed by rd_sync_key_parse. Returns 0 with *key set (wipe it with
 * sodium_memzero when done), or -1 with err (errlen bytes) as "key file
 * PATH: why", naming the fix. The file's text is wiped. Needs libredund.
 */
int dm_sync_key_read(const char *path, struct rd_sync_key *key, char *err, size_t errlen);

/*
 * dm_sync_keyid_parse - a key id as redundctl sync genkey and syncd's
 * send-keyid take it: decimal digits only, 0 to 2^32 - 1. Returns 0 with
 * *id set, or -1 with err (errlen bytes) saying what was expected and
 * what was given.
 */
int dm_sync_keyid_parse(const char *s, uint32_t *id, char *err, size_t errlen);

/* ---- the service manager's readiness protocol (notify.c) ---- */

/*
 * systemd's sd_notify(3) protocol, written here (no libsystemd): `state` is
 * newline-separated VAR=VALUE assignments ("READY=1", "STOPPING=1",
 * "STATUS=3 vhosts, 1 master"), sent as one datagram to the unix socket
 * $NOTIFY_SOCKET names: a path ("/run/systemd/notify") or an abstract name
 * ('@' for its leading NUL). Non-blocking and never fatal: a manager that
 * is absent, gone or slow costs the message only. Not thread-safe
 * (dm_notify_status keeps the last status).
 */
#define DM_NOTIFY_STATUS_MAX 256 /* a STATUS= longer than this is cut */

/*
 * dm_notify_to - send state to the socket named `where` (as $NOTIFY_SOCKET
 * would name it). Returns 1 sent, 0 where NULL or empty (no manager), or
 * -errno (-EINVAL: neither '/' nor '@' first, or too long for a socket
 * address; -EAGAIN: the manager's queue is full; -ECONNREFUSED, -ENOENT:
 * nobody listens).
 */
int dm_notify_to(const char *where, const char *state);
/* dm_notify - dm_notify_to($NOTIFY_SOCKET, state); a failure is logged at debug. */
int dm_notify(const char *state);
/* dm_notifyf - dm_notify of a formatted state (at most DM_NOTIFY_STATUS_MAX + 127 bytes). */
int dm_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * dm_notify_status - send "STATUS=status" when it differs from the last one
 * sent (so a loop may call it every round). Returns as dm_notify, 0 when
 * unchanged.
 */
int dm_notify_status(const char *status);
/* dm_notify_reloading - "RELOADING=1" with MONOTONIC_USEC (a reload starts; READY=1 ends it). */
int dm_notify_reloading(void);

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
	DM_W_CONTROL_TIMER,
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
/* A ready descriptor of a kind other than DM_W_CONTROL, DM_W_CLIENT and DM_W_CONTROL_TIMER. */
typedef void (*dm_event_fn)(void *user, struct dm_watch *w, uint32_t events);
/*
 * dm_loop_wait - wait up to timeout_ms (-1: no limit) for events and
 * dispatch them: the control socket's to `ctl` (then dm_control_reap), the
 * others to fn(user, ...).
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
 * Limits, each answered (when the socket takes it) with an error line and
 * counted (dm_control_stats):
 *  - at most DM_CONTROL_CLIENTS clients at once: a newcomer beyond them
 *    closes the oldest client that has not sent its whole request yet
 *    ("evicted"), or, if every client is being answered, is refused
 *    ("busy"); so idle connections never lock redundctl out;
 *  - the request line must be complete within DM_CONTROL_TIMEOUT of the
 *    connection, and a client being answered must take some of the answer
 *    within every DM_CONTROL_TIMEOUT ("timed_out");
 *  - a request line longer than in_max - 2 bytes before its line end
 *    ("too_long"), with a NUL byte ("nul"), or cut by the end of input
 *    ("incomplete") is answered with an error and not run;
 *  - out of file descriptors: a spare descriptor kept for the purpose lets
 *    the waiting client be accepted and closed with an error ("no_fd")
 *    instead of staying in the backlog, which a level-triggered epoll
 *    reports again at once (a loop at 100% CPU); if even that fails, the
 *    listener leaves the epoll set for a second (logged).
 *
 * The handler runs one request line (without its line end; it may modify
 * it): it fills *body (malloc'd, NULL allowed) and returns 0, or -1 with
 * the error message in *body.
 */
typedef int (*dm_control_fn)(void *user, char *line, char **body);

#define DM_CONTROL_CLIENTS 32           /* clients at once */
#define DM_CONTROL_TIMEOUT (3 * RD_SEC) /* to send the request; to take some answer */

/* The control socket's counters (dm_control_stats; names by dm_control_stat_name). */
enum dm_control_stat {
	DM_CTL_ACCEPTED,      /* connections accepted */
	DM_CTL_REQUESTS,      /* request lines run */
	DM_CTL_EVICTED,       /* closed before their request: a newcomer needed the slot */
	DM_CTL_BUSY,          /* refused: every slot was being answered */
	DM_CTL_TIMED_OUT,     /* closed: request or answer not moving within the timeout */
	DM_CTL_TOO_LONG,      /* request line over the limit */
	DM_CTL_NUL,           /* request line with a NUL byte */
	DM_CTL_INCOMPLETE,    /* input ended before a line end */
	DM_CTL_NO_FD,         /* accept found no descriptor (EMFILE, ENFILE) */
	DM_CTL_NO_MEMORY,     /* a client or answer not allocated */
	DM_CTL_ACCEPT_ERRORS, /* accept failed otherwise (ENOBUFS, ...) */
	DM_CTL_STAT_COUNT
};

struct dm_control;
/*
 * dm_control_open - listen on `path` (in_max >= 3). A stale socket file is
 * replaced; one where another process answers gives -EADDRINUSE. A
 * request line has at most in_max - 2 bytes before its line end. Also
 * opens the deadline timer and the spare descriptor. Limits are
 * DM_CONTROL_CLIENTS and DM_CONTROL_TIMEOUT until dm_control_set_limits.
 * Returns 0 or -errno (then nothing is left open).
 */
int dm_control_open(const char *path, size_t in_max, dm_control_fn fn, void *user,
                    struct dm_control **out);
/*
 * dm_control_attach - add the listening socket (tag kind DM_W_CONTROL) and
 * the deadline timer (DM_W_CONTROL_TIMER) to the epoll set epfd, where
 * clients go too. Returns 0 or -errno.
 */
int dm_control_attach(struct dm_control *c, int epfd);
/*
 * dm_control_start - dm_control_open, then dm_control_attach to l's epoll
 * set. Errors are logged ("control socket PATH: ..."). Returns 0 or -errno;
 * *out is set once the socket is open (for dm_control_close even on failure).
 */
int dm_control_start(struct dm_loop *l, const char *path, size_t in_max, dm_control_fn fn,
                     void *user, struct dm_control **out);
/*
 * dm_control_set_limits - at most max_clients at once (at least 1) and the
 * timeout (ns, > 0) for the request and for each part of the answer. Applies
 * to clients accepted from now on (and to deadlines set from now on).
 */
void dm_control_set_limits(struct dm_control *c, unsigned int max_clients, rd_time_t timeout);
int dm_control_fd(const struct dm_control *c);
/* dm_control_watch - the listening socket's epoll tag (kind DM_W_CONTROL). */
struct dm_watch *dm_control_watch(struct dm_control *c);
/* dm_control_accept - the listening socket is readable: accept clients into epfd. */
void dm_control_accept(struct dm_control *c, int epfd);
/* dm_control_client_event - a client's socket (tag of kind DM_W_CLIENT) is ready. */
void dm_control_client_event(struct dm_control *c, struct dm_watch *tag, uint32_t events);
/*
 * dm_control_reap - free the clients closed so far. Call it after a batch
 * of epoll events, never during one: a client closed while handling one
 * event (to make room, on a deadline) may still be named by a later event
 * of the batch, which dm_control_client_event then ignores.
 */
void dm_control_reap(struct dm_control *c);
/* dm_control_timer - the deadline timer (tag of kind DM_W_CONTROL_TIMER) expired. */
void dm_control_timer(struct dm_control *c);
/*
 * dm_control_expire - close the clients whose deadline is at or before now
 * (CLOCK_MONOTONIC ns; a client still sending its request gets an error
 * line first) and end a pause of the listener that is over. dm_control_timer
 * calls it with the clock; tests call it with any time.
 */
void dm_control_expire(struct dm_control *c, rd_time_t now);
/* dm_control_stats - the counters (DM_CTL_STAT_COUNT, valid while c lives). */
const uint64_t *dm_control_stats(const struct dm_control *c);
/* dm_control_stat_name - a counter's name ("evicted"; static string). */
const char *dm_control_stat_name(int i);
/* dm_control_nclients - the clients connected now. */
unsigned int dm_control_nclients(const struct dm_control *c);
/* dm_control_paused - whether the listener is out of the epoll set (no descriptor). */
bool dm_control_paused(const struct dm_control *c);
/* dm_control_close - close every client and the socket, remove the file. NULL is fine. */
void dm_control_close(struct dm_control *c);

#endif
