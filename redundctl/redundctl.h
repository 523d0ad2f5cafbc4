/* redundctl: shared declarations of the subcommand files. */
#ifndef REDUNDCTL_H
#define REDUNDCTL_H

#include <stdbool.h>
#include <stddef.h>

/* The text helpers (numbers, JSON strings) shared with the daemons. */
#include "daemon.h"

/* How long redundctl waits for a daemon by default (--timeout), in seconds. */
#define RCTL_TIMEOUT_DEFAULT 5
#define RCTL_TIMEOUT_MAX     3600

/* Options given before the subcommand, common to all of them. */
struct rctl_opts {
	const char *control;  /* --control PATH, or NULL: the subcommand's default */
	unsigned int timeout; /* --timeout SECONDS (1..RCTL_TIMEOUT_MAX) */
};

/*
 * A subcommand: `redundctl WORD SUBWORD args...`. fn gets argc/argv after
 * the two words and returns the process exit status (0 ok, 1 failure,
 * 2 usage error). Adding a subcommand is one line in main.c's table.
 */
struct rctl_cmd {
	const char *word;
	const char *subword;
	int (*fn)(const struct rctl_opts *o, int argc, char **argv);
	const char *usage; /* arguments after the two words, for --help */
};

/*
 * rctl_request - connect to the unix socket at path, send line (a newline
 * is added), read the whole answer until the server closes, all within
 * timeout seconds (connecting, sending and reading together). Answers
 * start with "ok\n" or "error MESSAGE\n". On success *body is the text
 * after the status line (malloc'd) and the return is 0; on "error" the
 * message is printed to stderr and 1 is returned; on a connection failure
 * or when the time is up, a message saying which step failed and 1.
 */
int rctl_request(const char *path, const char *line, unsigned int timeout, char **body);

/*
 * rctl_ask - rctl_request to o->control, or default_path without one, and
 * the answer's body to stdout. Returns as rctl_request.
 */
int rctl_ask(const struct rctl_opts *o, const char *default_path, const char *line);

/*
 * rctl_status - `redundctl WORD status [--json]` (the request "status" or
 * "status json"); word names the command in the usage line. Returns the
 * exit status.
 */
int rctl_status(const struct rctl_opts *o, const char *default_path, const char *word, int argc,
                char **argv);

/*
 * rctl_noarg - `redundctl WORD LINE` without arguments: sends LINE. Returns
 * the exit status (2 if arguments were given).
 */
int rctl_noarg(const struct rctl_opts *o, const char *default_path, const char *word,
               const char *line, int argc);

/*
 * rctl_prom - the daemon status JSON (len bytes) as Prometheus' text
 * exposition format (version 0.0.4), appended to out; metric names start
 * with prefix ("carpd"), `what` names the daemon in HELP texts and errors.
 * Generic, so that fields added later appear without a change here:
 *  - a number is a sample named prefix + its path of keys joined by '_'
 *    (a "counters" key adds nothing); an array's object elements are named
 *    after the array in the singular alone ("interfaces[].vhosts[]": vhost);
 *  - in an element, text members and a "vhid" become labels of all its
 *    samples and those below ("name" takes the element's name: interface,
 *    group); text elsewhere goes into one PATH_info{...} 1 sample;
 *  - the members "state" (INIT 0, BACKUP 1, MASTER 2), "link" (down 0,
 *    up 1) and "mode" (plain 0, secure 1) are gauges of their number, -1
 *    for a value not listed; true/false are 1/0 gauges; null is skipped,
 *    and so are arrays of texts or numbers;
 *  - the members of a counter group (an object outside arrays whose numbers
 *    are all whole, with no flag, object or array) are counters, named
 *    with "_total"; every other number is a gauge.
 * Each family once, with HELP (the JSON path) and TYPE, its samples
 * together, preceded by PREFIX_up 1. Returns 0, or -1 with err (errlen
 * bytes): not JSON (byte offset and why), nested deeper than 32, or out
 * of memory. Pure: no I/O; thread-safe.
 */
int rctl_prom(const char *json, size_t len, const char *prefix, const char *what,
              struct dm_buf *out, char *err, size_t errlen);

/* ---- capture.c: where decode reads packets ---- */

struct rd_pcap_packet;
struct rctl_capture;
/*
 * rctl_capture_open - read the capture file at path (libpcap: pcap or
 * pcapng, any link type; without libpcap: pcap only), or, path NULL,
 * capture live on interface ifname (libpcap only; needs CAP_NET_RAW) with
 * the BPF filter (NULL: every packet). Returns 0 with *out, or -1 with err
 * (len bytes) naming the file or interface and why.
 */
int rctl_capture_open(const char *path, const char *ifname, const char *filter,
                      struct rctl_capture **out, char *err, size_t len);
/*
 * rctl_capture_next - the next packet into *p (valid until the next call;
 * linktype a LINKTYPE_ value, ts in ns). Returns 1, 0 at the end of the
 * file or after rctl_capture_stop, or -1 with err. Live, waits for one.
 */
int rctl_capture_next(struct rctl_capture *c, struct rd_pcap_packet *p, char *err, size_t len);
/* rctl_capture_stop - make rctl_capture_next return 0 (from a signal handler too). */
void rctl_capture_stop(struct rctl_capture *c);
void rctl_capture_close(struct rctl_capture *c);
/*
 * rctl_capture_run - the loop of a decoder: open (path, or ifname with
 * filter), call fn for each packet until the end, `count` packets fn
 * counted (fn returns 1; 0: not counted; count 0: no limit), or SIGINT /
 * SIGTERM (live). Live, stdout is line-buffered. Returns 0, or 1 after
 * printing the error (prog: "redundctl").
 */
int rctl_capture_run(const char *path, const char *ifname, const char *filter, unsigned long count,
                     int (*fn)(void *user, const struct rd_pcap_packet *p), void *user);

/* carp.c */
int rctl_carp_status(const struct rctl_opts *o, int argc, char **argv);
int rctl_carp_demote(const struct rctl_opts *o, int argc, char **argv);
int rctl_carp_hold(const struct rctl_opts *o, int argc, char **argv);
int rctl_carp_leave(const struct rctl_opts *o, int argc, char **argv);
int rctl_carp_join(const struct rctl_opts *o, int argc, char **argv);
int rctl_decode_carp(const struct rctl_opts *o, int argc, char **argv);

/* pfsync.c */
int rctl_decode_pfsync(const struct rctl_opts *o, int argc, char **argv);
int rctl_sync_genkey(const struct rctl_opts *o, int argc, char **argv);

/* syncd.c */
int rctl_sync_status(const struct rctl_opts *o, int argc, char **argv);
int rctl_sync_bulk(const struct rctl_opts *o, int argc, char **argv);
int rctl_sync_commit(const struct rctl_opts *o, int argc, char **argv);

#endif
