/* carpd: the CARP daemon for Linux. Shared declarations of its parts. */
#ifndef CARPD_H
#define CARPD_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "redund/carp.h"
#include "redund/common.h"
#include "redund/io.h"

/* The plumbing shared with syncd (log, loop, control socket). */
#include "../daemon/daemon.h"

#define CD_DEFAULT_CONTROL "/run/carpd.sock"

/* ---- configuration (options.c, config.c) ---- */

/* One vhost as configured, on the command line or in a config file. */
struct cd_vhost_conf {
	char ifname[IF_NAMESIZE];
	uint8_t vhid;
	uint8_t advbase;
	uint8_t advskew;
	uint8_t deadratio;
	bool preempt;
	bool neutral;
	bool replay_strict;
	bool ignoreifstate;
	bool has_pass;
	uint8_t key[RD_CARP_KEY_LEN];
	struct rd_addr addrs[RD_CARP_MAX_ADDRS];
	uint8_t prefixlen[RD_CARP_MAX_ADDRS];
	size_t naddrs;
	struct rd_addr src4; /* af UNSPEC: chosen from the interface at start */
	struct rd_addr src6;
	struct rd_addr peers[RD_CARP_MAX_PEERS];
	size_t npeers;
	char *upscript; /* owned; NULL: none */
	char *downscript;
	char *xparam;
	char where[128]; /* "file:line" of the vhost line, or "command line" */
};

struct cd_config {
	struct cd_vhost_conf *vh; /* owned array */
	size_t nvh;
	char *control;     /* control socket path (owned) */
	char *config_file; /* --config, or NULL (owned) */
	int facility;      /* syslog facility; -1: none given */
	bool no_syslog;    /* --facility none */
	bool daemonize;
	bool debug;
	bool shutdown; /* -z: accepted; carpd always cleans up on exit */
};

/*
 * Errors from the parsers go into an error buffer of this size as
 * "<where>: <what was expected>".
 */
#define CD_ERR_LEN 512

/* Fill err (CD_ERR_LEN bytes) with a formatted message (options.c). */
void cd_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* options.c: parse argv; returns 0, 1 (help/version printed: exit 0) or -1 (err filled). */
int cd_options_parse(int argc, char **argv, struct cd_config *cfg, char *err);

/*
 * The setters shared by the command line and the config file: apply
 * keyword `key` with argument `arg` (NULL for flags) to vh. Returns 0, or -1
 * with err filled with what was expected (without location).
 */
int cd_vhost_set(struct cd_vhost_conf *vh, const char *key, const char *arg, char *err);

/* Whether keyword `key` exists for vhosts, and whether it takes an argument. */
bool cd_vhost_key_known(const char *key, bool *takes_arg);

/* Initialise vh with ucarp's defaults (advbase 1, advskew 0, deadratio 3). */
void cd_vhost_conf_init(struct cd_vhost_conf *vh);

/* Check a complete vhost (vhid, at least one address, sane limits). */
int cd_vhost_conf_check(const struct cd_vhost_conf *vh, char *err);

/* Whether two configurations of one vhost are the same (for reload). */
bool cd_vhost_conf_equal(const struct cd_vhost_conf *a, const struct cd_vhost_conf *b);

/* config.c: parse a config file into cfg (appending vhosts). */
int cd_config_load(const char *path, struct cd_config *cfg, char *err);

void cd_config_free(struct cd_config *cfg);
void cd_vhost_conf_free(struct cd_vhost_conf *vh);

/* ---- time ---- */

/* CLOCK_MONOTONIC in ns: the engine's clock and the timerfd's. */
static inline rd_time_t cd_now(void)
{
	return dm_monotonic();
}

/* ---- scripts (script.c) ---- */

/*
 * A queue of scripts run one after another (so an up and a down for the
 * same vhost never overlap or reorder), never waited for in the loop:
 * children are reaped on SIGCHLD.
 */
struct cd_job;
struct cd_script_queue {
	struct cd_job *head, *tail;
	pid_t running; /* 0: none */
};

/* Append `script ifname addr [xparam]` and start it if nothing runs. */
void cd_script_enqueue(struct cd_script_queue *q, const char *script, const char *ifname,
                       const char *addr, const char *xparam);
/* A child exited: if it is q's, start the next. Returns true if it was q's. */
bool cd_script_reaped(struct cd_script_queue *q, pid_t pid, int status);
/* Drop pending jobs (not the running one). */
void cd_script_clear(struct cd_script_queue *q);
bool cd_script_idle(const struct cd_script_queue *q);

/* epoll tags of carpd's own descriptors (the loop's and the control socket's are DM_W_*). */
enum cd_watch_kind {
	CD_W_NETLINK = DM_W_USER,
	CD_W_CARP4,
	CD_W_CARP6,
};

/* ---- the daemon (daemon.c; control requests in requests.c) ---- */

struct cd_iface;

/* A vhost as run: its configuration, the engine object, addresses, scripts. */
struct cd_vhost {
	struct cd_iface *ifc;
	struct cd_vhost_conf conf;
	struct rd_carp_vhost *vh; /* NULL once removed from the engine */
	bool managed;             /* no scripts: carpd adds/removes the addresses */
	bool addrs_on;            /* the addresses are on the interface (managed) */
	bool started;             /* has been BACKUP once (neutral/initial cleanup done) */
	struct cd_script_queue scripts;
};

/* An interface: one engine link, its sockets and its vhosts. */
struct cd_iface {
	struct dm_watch w4, w6; /* first: epoll tags for the two sockets */
	struct cd_daemon *d;
	char name[IF_NAMESIZE];
	unsigned int ifindex;
	struct rd_carp_if *cif;
	struct rd_io_carp *io;
	struct rd_io_announce *ann;
	bool inet, inet6; /* families the io was opened for */
	bool ignoreifstate;
	struct cd_vhost **vh;
	size_t nvh;
};

/* The whole daemon: configuration, the loop's descriptors, interfaces. */
struct cd_daemon {
	struct cd_config cfg;
	struct dm_loop loop;
	struct dm_watch wn;
	struct rd_io_nl *nl;
	struct dm_control *ctl;
	struct cd_iface **ifs;
	size_t nifs;
	struct cd_vhost **dead; /* removed on reload, waiting for their scripts */
	size_t ndead;
	bool quitting;
	/* SIGHUP seen: reload once the batch of events is handled (a reload frees
	 * interfaces whose sockets may have later events in the same batch). */
	bool reload_pending;
	rd_time_t quit_deadline;
	uint32_t epoch;
};

int cd_daemon_new(struct cd_config *cfg, struct cd_daemon **out);
/* After daemon(3): re-bind signal delivery to this (the child) process. */
int cd_daemon_after_fork(struct cd_daemon *d);
/* Run until SIGTERM/SIGINT; returns the exit status. */
int cd_daemon_run(struct cd_daemon *d);
void cd_daemon_free(struct cd_daemon *d);

/*
 * Control requests (cd_control_request calls these): fill *out (malloc'd text, owned
 * by the caller) with the answer body; return 0 or -1 with an error message
 * in *out.
 */
int cd_daemon_status(struct cd_daemon *d, bool json, char **out);
int cd_daemon_demote(struct cd_daemon *d, const char *group, int delta, char **out);
int cd_daemon_leave(struct cd_daemon *d, char **out);
int cd_daemon_join(struct cd_daemon *d, char **out);

/* ---- control socket (requests.c) ---- */

/* The control socket's request handler (a dm_control_fn; user is the cd_daemon). */
int cd_control_request(void *user, char *line, char **body);
/* The longest request line carpd reads, with its line end and a NUL. */
#define CD_CONTROL_IN_MAX 512

#endif
