/*
 * syncd: its hold on carpd (the protocol: syncd.8, HOLDING CARPD BACK),
 * without I/O. The daemon (daemon.c) moves the bytes; this file decides
 * what to state and when, parses carpd's answers, and keeps the status and
 * the counters.
 *
 * A hold is a level: syncd states the demotion it wants on a carpd group,
 *
 *   hold syncd GROUP VALUE 10 unless-master
 *
 * VALUE being the sync engine's demotion (32 while its join bulk runs,
 * else 0), and re-states it every second whatever it is (so a restarted
 * carpd learns it within a second; a syncd that dies stops re-stating
 * and carpd drops the hold after the TTL, 10 s) and at once when it
 * changes. One request at a time: a change while a request is in flight
 * is stated as soon as that request is answered or timed out, so carpd
 * never sees an older value after a newer one. carpd answers
 *
 *   ok
 *   held syncd GROUP APPLIED ttl TTL instance INSTANCE masters M
 *
 * (APPLIED 0 when a vhost of carpd is MASTER: unless-master; INSTANCE 16
 * hex digits carpd picks at start, so a change means carpd restarted).
 *
 * Not thread-safe (syncd runs one thread).
 */
#ifndef SYNCD_HOLD_H
#define SYNCD_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redund/common.h"

#define SD_HOLD_HOLDER       "syncd"
#define SD_HOLD_TTL          10     /* seconds carpd keeps a hold not re-stated */
#define SD_HOLD_PERIOD       RD_SEC /* re-stated this often */
#define SD_HOLD_TIMEOUT      RD_SEC /* an answer is waited for this long */
#define SD_HOLD_GROUP        "carp" /* the default group: every carpd vhost is in it */
#define SD_HOLD_LINE         96     /* room for a request line, NUL included */
#define SD_HOLD_ERR          160    /* room for an error text, NUL included */
#define SD_HOLD_GROUP_MAX    31     /* carpd's longest group name */
#define SD_HOLD_INSTANCE_LEN 16     /* hex digits of carpd's instance */

/* Counters, indexed by enum sd_hold_stat. */
enum sd_hold_stat {
	SD_HOLD_SENT = 0,       /* "hold_sent": requests written to carpd's socket */
	SD_HOLD_CONFIRMED,      /* "hold_confirmed": answered "held" */
	SD_HOLD_FAILED,         /* "hold_failed": not confirmed, every reason below */
	SD_HOLD_FAIL_CONNECT,   /* "hold_unreachable": socket, connect or write failed */
	SD_HOLD_FAIL_TIMEOUT,   /* "hold_timeout": no answer within SD_HOLD_TIMEOUT */
	SD_HOLD_FAIL_REFUSED,   /* "hold_refused": carpd answered "error ..." */
	SD_HOLD_FAIL_BADANSWER, /* "hold_badanswer": an answer not of the protocol */
	SD_HOLD_RESTARTS,       /* "carpd_restarts": carpd's instance changed */
	SD_HOLD_STAT_MAX,
};

/* sd_hold_stat_name - a counter's name (above), or "unknown". */
const char *sd_hold_stat_name(int stat);

/* carpd's answer body, parsed. */
struct sd_hold_answer {
	unsigned applied; /* the value carpd applies for us (0..255) */
	unsigned ttl;     /* seconds (1..86400) */
	char instance[SD_HOLD_INSTANCE_LEN + 1];
	unsigned masters; /* vhosts of carpd that are MASTER */
};

/*
 * sd_hold_parse - check carpd's whole answer to `hold syncd GROUP ...`
 * (len bytes, need not be NUL-terminated): "ok\n" and then exactly one
 * line "held syncd GROUP APPLIED ttl TTL instance INSTANCE masters M" (its
 * own "\n" optional), GROUP being `group`, APPLIED 0..255, TTL 1..86400,
 * INSTANCE 16 lowercase hex digits, M a decimal number below 2^31. Returns
 * 0 with *a filled; SD_HOLD_FAIL_REFUSED when carpd answered "error ..."
 * (why: its message); SD_HOLD_FAIL_BADANSWER otherwise (why: what is
 * wrong). why (whylen bytes, may be 0) is always NUL-terminated when
 * whylen > 0. Thread-safe.
 */
int sd_hold_parse(const char *text, size_t len, const char *group, struct sd_hold_answer *a,
                  char *why, size_t whylen);

/*
 * sd_hold_format - the request line stating `value` on `group` (with its
 * "\n") into buf (SD_HOLD_LINE bytes). Returns its length, or -1 when
 * group is not 1..SD_HOLD_GROUP_MAX characters without spaces or value is
 * not 0..255. Thread-safe.
 */
int sd_hold_format(const char *group, int value, char *buf, size_t len);

/* The hold's state; all fields are read-only outside hold.c. */
struct sd_hold {
	char group[SD_HOLD_GROUP_MAX + 1];
	int wanted;         /* the value we want now */
	int stated;         /* the value of the request in flight or last sent; -1: none yet */
	bool inflight;      /* a request waits for its answer */
	rd_time_t due;      /* the next request goes at this time (or when the one in
	                     * flight ends, if later) */
	rd_time_t deadline; /* the answer in flight is given up at this time */
	bool confirmed;     /* carpd's last answer was to the value wanted now, and no
	                     * request failed since */
	int applied;        /* carpd's APPLIED in its last answer; -1: never answered */
	int masters;        /* carpd's M in its last answer; -1: never answered */
	char instance[SD_HOLD_INSTANCE_LEN + 1]; /* "" until the first answer */
	bool owed;                    /* carpd may hold a value > 0 of ours: one was sent, and no
	                               * answer since said APPLIED 0; a release is owed at exit */
	unsigned streak;              /* failures in a row (0: the last request was confirmed) */
	char last_error[SD_HOLD_ERR]; /* the last failure ("" if none yet) */
	uint64_t stats[SD_HOLD_STAT_MAX];
};

/*
 * What sd_hold_answered and sd_hold_failed tell the caller to log (a bit
 * set): the first failure of a streak (WARNING), the first confirmation
 * after failures or ever (NOTICE), a carpd restart (NOTICE), and a change
 * of the applied value (NOTICE).
 */
enum {
	SD_HOLD_EV_FIRST_FAIL = 1,
	SD_HOLD_EV_CONFIRMED_AGAIN = 2,
	SD_HOLD_EV_RESTART = 4,
	SD_HOLD_EV_APPLIED = 8,
};

/*
 * sd_hold_init - a hold on `group` (SD_HOLD_GROUP when NULL; the caller
 * checked its length) wanting 0, due at `now`. Returns 0, or -1 when the
 * group name is refused (see sd_hold_format).
 */
int sd_hold_init(struct sd_hold *h, const char *group, rd_time_t now);

/*
 * sd_hold_want - the value wanted now (0..255). A change makes the next
 * request due at once and clears confirmed; the same value changes
 * nothing.
 */
void sd_hold_want(struct sd_hold *h, int value, rd_time_t now);

/*
 * sd_hold_next - when the caller must next call sd_hold_start or
 * sd_hold_expire: the in-flight answer's deadline, else the next request's
 * due time.
 */
rd_time_t sd_hold_next(const struct sd_hold *h);

/*
 * sd_hold_start - if no request is in flight and one is due at `now`,
 * write the request line for the wanted value into buf (SD_HOLD_LINE
 * bytes), mark it in flight (answer deadline now + SD_HOLD_TIMEOUT, next
 * request due now + SD_HOLD_PERIOD), count it sent and return its length;
 * else return 0. The caller then sends it and reports the outcome with
 * sd_hold_answered or sd_hold_failed.
 */
int sd_hold_start(struct sd_hold *h, rd_time_t now, char *buf, size_t len);

/*
 * sd_hold_answered - the in-flight request was answered with `text` (len
 * bytes: everything carpd wrote before closing). Parses it: a valid
 * answer updates applied, masters and instance (a different instance than
 * before counts a restart) and confirms; a refusal or a malformed answer
 * is a failure (as sd_hold_failed). Returns the SD_HOLD_EV_* bits to log.
 */
int sd_hold_answered(struct sd_hold *h, const char *text, size_t len, rd_time_t now);

/*
 * sd_hold_failed - the in-flight request (or the attempt to send it)
 * failed for `reason` (SD_HOLD_FAIL_CONNECT, _TIMEOUT, _REFUSED or
 * _BADANSWER), described by `why` (copied into last_error). Counts it,
 * ends the flight and clears confirmed; the next request stays due at its
 * time (every SD_HOLD_PERIOD). Returns SD_HOLD_EV_FIRST_FAIL on the first
 * failure of a streak, else 0.
 */
int sd_hold_failed(struct sd_hold *h, int reason, const char *why, rd_time_t now);

/*
 * sd_hold_expire - the in-flight request's deadline has passed at `now`:
 * it fails as SD_HOLD_FAIL_TIMEOUT (the caller closes its socket). Returns
 * sd_hold_failed's bits, or 0 when nothing was in flight or it is not
 * late.
 */
int sd_hold_expire(struct sd_hold *h, rd_time_t now);

/*
 * sd_hold_stop - at exit: the answer in flight (if any) is no longer
 * waited for (not a failure), the wanted value becomes 0 and a request is
 * due at `now`: sd_hold_start then gives the release line.
 */
void sd_hold_stop(struct sd_hold *h, rd_time_t now);

/*
 * sd_hold_release_owed - whether a release (value 0) should be stated at
 * exit: a value > 0 was sent and no answer since said carpd applies 0.
 */
bool sd_hold_release_owed(const struct sd_hold *h);

#endif
