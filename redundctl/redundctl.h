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
