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

#define CD_NAME_MAX         32 /* holder and group names, NUL included (= RD_CARP_GROUP_NAME_MAX) */
#define CD_VHOST_GROUPS_MAX 8  /* `group` lines per vhost */
#define CD_GROUP_DEFAULT    "carp" /* every vhost's group unless `group -carp` */

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
	bool vmac; /* the addresses and advertisements on a macvlan with the CARP MAC */
	bool has_pass;
	uint8_t key[RD_CARP_KEY_LEN];
	struct rd_addr addrs[RD_CARP_MAX_ADDRS];
	uint8_t prefixlen[RD_CARP_MAX_ADDRS];
	size_t naddrs;
	struct rd_addr src4; /* af UNSPEC: chosen from the interface at start */
	struct rd_addr src6;
	struct rd_addr peers[RD_CARP_MAX_PEERS];
	size_t npeers;
	/* Demotion groups besides "carp" (CD_GROUP_DEFAULT); "-carp" leaves carp. */
	char groups[CD_VHOST_GROUPS_MAX][CD_NAME_MAX];
	size_t ngroups;
	char *upscript; /* owned; NULL: none */
	char *downscript;
	char *xparam;
	char where[128]; /* "file:line" of the vhost line, or "command line" */
};

/* ---- tracking (config.c parses, track.c runs) ---- */

enum cd_track_kind {
	CD_TRACK_IF = 1, /* track-interface: another interface's link */
	CD_TRACK_SCRIPT, /* track-script: a health check's exit status */
};

#define CD_TRACK_MAX              32  /* track-* lines in one configuration */
#define CD_TRACK_WEIGHT_DEFAULT   255 /* keepalived's FAULT: any healthy peer wins */
#define CD_TRACK_INTERVAL_MAX     3600
#define CD_NOTIFY_TIMEOUT_DEFAULT 10 /* notify-master-before, seconds */
/* An announcement waits at most this long for the up scripts, seconds. */
#define CD_ANNOUNCE_WAIT_MAX 5

/* One track-interface or track-script line. */
struct cd_track_conf {
	int kind;                       /* enum cd_track_kind */
	char *name;                     /* owned: the interface or the script's path */
	unsigned int interval, timeout; /* seconds (scripts) */
	unsigned int fall, rise;        /* consecutive results that change its state */
	unsigned int weight;            /* what it adds to group while failed, 1..255 */
	char group[CD_NAME_MAX];
	char where[128];
};

/*
 * cd_track_parse - a track line's words (args NULL-terminated, args[0] the
 * interface or path) into *t with the defaults (weight 255, group carp,
 * interval 1, timeout = interval, fall 1, rise 1). Returns 0, or -1 with
 * err (CD_ERR_LEN) saying what was expected; t->name is then NULL.
 */
int cd_track_parse(struct cd_track_conf *t, int kind, char *const *args, char *err);
void cd_track_conf_free(struct cd_track_conf *t);
/* Whether two track lines watch the same thing (kind and name). */
bool cd_track_same(const struct cd_track_conf *a, const struct cd_track_conf *b);

struct cd_config {
	struct cd_vhost_conf *vh; /* owned array */
	size_t nvh;
	struct cd_track_conf *track; /* owned array */
	size_t ntrack;
	char *notify;                       /* notify PATH (owned), or NULL */
	char *notify_master_before;         /* notify-master-before PATH (owned), or NULL */
	unsigned int notify_master_timeout; /* seconds */
	char *control;                      /* control socket path (owned) */
	char *config_file;                  /* --config, or NULL (owned) */
	int facility;                       /* syslog facility; -1: none given */
	bool no_syslog;                     /* --facility none */
	bool daemonize;
	bool debug;
	bool shutdown;      /* -z: accepted; carpd always cleans up on exit */
	bool check;         /* --check/-t: check the configuration, print it, exit */
	int startup_demote; /* start-up hold on "carp", 0..255 (0: none); -1: not given */
	int startup_hold;   /* its time limit in seconds, 1..CD_HOLD_TTL_MAX; -1: not given */
	int realtime;       /* SCHED_FIFO priority 1..99, 0: off; -1: not given */
	/* Given on the command line (which wins over the file, also on reload). */
	bool cli_control, cli_facility, cli_startup_demote, cli_startup_hold, cli_realtime;
};

#define CD_DEFAULT_STARTUP_DEMOTE 128 /* OpenBSD's rc holds carpdemote 128 during boot */
#define CD_DEFAULT_STARTUP_HOLD   30

/*
 * Set global keyword `key` ("startup-demote", "startup-hold" or "realtime") from arg
 * into *cfg unless it was given already (the command line wins over the
 * file). Returns 0, or -1 with err saying what was expected (no location).
 */
int cd_global_set(struct cd_config *cfg, const char *key, const char *arg, char *err);
/*
 * cd_facility_set - the syslog facility by name into cfg->facility, or
 * "none" (cfg->no_syslog). Returns 0, or -1 with err saying what was expected.
 */
int cd_facility_set(struct cd_config *cfg, const char *arg, char *err);
/* The defaults of what was not given (startup-demote 128, startup-hold 30, realtime 0). */
void cd_config_defaults(struct cd_config *cfg);

/*
 * Errors from the parsers go into an error buffer of this size as
 * "<where>: <what was expected>".
 */
#define CD_ERR_LEN 512

/* Fill err (CD_ERR_LEN bytes) with a formatted message (daemon.h's dm_errf). */
#define cd_errf(err, ...) dm_errf((err), CD_ERR_LEN, __VA_ARGS__)
/* The same as "file:line: message" (line 0: "file: message"). */
#define cd_file_errf(err, file, line, ...)                                                         \
	dm_file_errf((err), CD_ERR_LEN, (file), (line), __VA_ARGS__)
/* cd_facility_by_name - a syslog facility's value (LOG_DAEMON, ...), or -1. */
int cd_facility_by_name(const char *name);

/* What each keyword of carpd's table (cd_opts) is, for the parsers. */
enum cd_opt_id {
	CD_O_VHOST = 1,  /* a vhost keyword: cd_vhost_set under its name */
	CD_O_VHOST_LINE, /* the file's "vhost INTERFACE VHID" */
	CD_O_CONTROL,
	CD_O_FACILITY,
	CD_O_STARTUP, /* startup-demote, startup-hold, realtime: cd_global_set */
	CD_O_CONFIG,
	CD_O_HELP,
	CD_O_VERSION,
	CD_O_DAEMONIZE,
	CD_O_DEBUG,
	CD_O_SHUTDOWN,
	CD_O_TRACK,  /* track-interface, track-script (file only) */
	CD_O_NOTIFY, /* notify, notify-master-before (file only) */
	CD_O_CHECK,
};
/*
 * carpd's keywords (options.c): the command line's long options and the
 * config file's keywords, one table (daemon.h's parser).
 */
extern const struct dm_opts cd_opts;

/*
 * cd_options_parse - parse argv (every getopt_long form: --opt V, --opt=V,
 * -o V, -oV) and the --config/-c file it names. Returns 0, 1 (help/version
 * printed: exit 0) or -1 (err filled). cfg is the caller's to free
 * (cd_config_free) after 0; freed already after 1 and -1.
 */
int cd_options_parse(int argc, char **argv, struct cd_config *cfg, char *err);

/*
 * The setters shared by the command line and the config file: apply
 * keyword `key` with argument `arg` (NULL for flags) to vh. Returns 0, or -1
 * with err filled with what was expected (without location).
 */
int cd_vhost_set(struct cd_vhost_conf *vh, const char *key, const char *arg, char *err);

/* Initialise vh with ucarp's defaults (advbase 1, advskew 0, deadratio 3). */
void cd_vhost_conf_init(struct cd_vhost_conf *vh);

/* Check a complete vhost (vhid, at least one address, sane limits). */
int cd_vhost_conf_check(const struct cd_vhost_conf *vh, char *err);

/*
 * Whether two configurations of one vhost are the same but for their
 * groups (a reload restarts a vhost that differs; new groups alone are
 * applied to it running).
 */
bool cd_vhost_conf_equal(const struct cd_vhost_conf *a, const struct cd_vhost_conf *b);
/* Whether two vhost configurations list the same demotion groups (in any order). */
bool cd_vhost_conf_groups_equal(const struct cd_vhost_conf *a, const struct cd_vhost_conf *b);

/*
 * cd_config_parse - parse a configuration file's text (len bytes, named
 * `name` in messages and in each vhost's `where`) into cfg, appending
 * vhosts; a global keyword is taken only if cfg does not have it yet (the
 * command line wins). Returns 0, or -1 with err as "name:line: what was
 * expected" (cfg then holds what was read before the error: free it).
 */
int cd_config_parse(const char *name, const char *text, size_t len, struct cd_config *cfg,
                    char *err);
/* cd_config_load - cd_config_parse of the file at path, read whole (dm_file_read). */
int cd_config_load(const char *path, struct cd_config *cfg, char *err);

void cd_config_free(struct cd_config *cfg);
void cd_vhost_conf_free(struct cd_vhost_conf *vh);

/*
 * cd_config_check_run - carpd --check (check.c): what only the host can
 * tell about a parsed configuration (each interface exists, each script is
 * an executable file, the control path fits a socket address), errors on
 * stderr as "file:line: vhost IF VHID: message"; when all is well, prints
 * what carpd would run on stdout. Changes nothing. Returns the exit status:
 * 0 or 1.
 */
int cd_config_check_run(const struct cd_config *cfg);

/* ---- demotion bookkeeping: edges and holds per group (holds.c) ---- */

#define CD_HOLDS_MAX           64        /* holds carpd keeps at once */
#define CD_GROUPS_MAX          64        /* groups carpd adds something to at once */
#define CD_HOLD_TTL_MAX        86400     /* seconds */
#define CD_STARTUP_HOLDER      "startup" /* carpd's own hold at start */
#define CD_TRACK_HOLDER_PREFIX "track-"  /* trackers' holds; refused in hold requests */

_Static_assert(CD_NAME_MAX == RD_CARP_GROUP_NAME_MAX, "group names as the engine's");

/* The counters of demotion requests (status "node" -> "counters"). */
enum cd_book_stat {
	CD_BS_HOLD_REQUESTS,   /* hold requests carried out */
	CD_BS_DEMOTE_REQUESTS, /* demote requests carried out */
	CD_BS_HOLDS_LAPSED,    /* holds not re-stated within their TTL */
	CD_BS_BAD_SYNTAX,      /* hold/demote with wrong words */
	CD_BS_BAD_HOLDER,
	CD_BS_BAD_GROUP,
	CD_BS_BAD_VALUE,
	CD_BS_BAD_TTL,
	CD_BS_OVER_LIMIT,     /* a demote that would take a group's edge past 255 */
	CD_BS_TABLE_FULL,     /* more than CD_HOLDS_MAX holds or CD_GROUPS_MAX groups */
	CD_BS_ENGINE_REFUSED, /* the engine refused a change (out of memory) */
	CD_BS_COUNT
};

/* The counter's name in status, e.g. "holds_lapsed". */
const char *cd_book_stat_name(int i);

/* Whether s is a holder name: 1..31 characters of [A-Za-z0-9_.-]. */
bool cd_holder_name_ok(const char *s);
/* Group names: rd_carp_group_name_ok, the engine's own rule. */

/* A parsed `hold HOLDER GROUP VALUE TTL [unless-master]`. */
struct cd_hold_req {
	char holder[CD_NAME_MAX];
	char group[CD_NAME_MAX];
	unsigned int value; /* 0..255 */
	unsigned int ttl;   /* 1..CD_HOLD_TTL_MAX seconds */
	bool unless_master;
};

/* A parsed `demote GROUP +N|-N`. */
struct cd_demote_req {
	char group[CD_NAME_MAX];
	int delta; /* -255..255 */
};

/*
 * cd_hold_parse / cd_demote_parse - the n words w[] of a request (w[0] is
 * "hold" / "demote"). Return 0 with *req filled, or -1 with err (CD_ERR_LEN)
 * saying what was expected and *why the counter to raise.
 */
int cd_hold_parse(char *const *w, int n, struct cd_hold_req *req, char *err,
                  enum cd_book_stat *why);
int cd_demote_parse(char *const *w, int n, struct cd_demote_req *req, char *err,
                    enum cd_book_stat *why);

/* One hold: a holder's level on a group. */
struct cd_hold {
	char holder[CD_NAME_MAX];
	char group[CD_NAME_MAX];
	unsigned int value; /* 1..255 (a 0 is not kept) */
	unsigned int ttl;   /* seconds, as last stated; 0: a tracker's, kept until changed */
	rd_time_t expires;  /* when it lapses unless re-stated */
};

/* What carpd adds to one group's engine counter. */
struct cd_group_book {
	char name[CD_NAME_MAX];
	unsigned int edge;     /* demote requests' running sum, clamped at 0, at most 255 */
	unsigned long applied; /* what carpd has added to the engine's counter so far */
};

/*
 * The one way carpd changes a group's counter in the engine: add delta
 * (either sign) to group. Returns 0 or an RD_ERR_* code, in which case
 * the engine is left as it was.
 */
typedef int (*cd_adjust_fn)(void *user, const char *group, int delta, rd_time_t now);

/*
 * The book: per group edge + holds = wanted, and applied. After every
 * successful change wanted == applied for every group; the engine only
 * ever sees differences. Plain data (fixed tables), one per daemon.
 */
struct cd_book {
	cd_adjust_fn adjust;
	void *user;
	struct cd_hold holds[CD_HOLDS_MAX];
	size_t nholds;
	struct cd_group_book groups[CD_GROUPS_MAX];
	size_t ngroups;
	uint64_t stats[CD_BS_COUNT];
};

void cd_book_init(struct cd_book *b, cd_adjust_fn adjust, void *user);

/*
 * One change of a book: a hold (holder set: holder wants value on group
 * for ttl seconds, 0 removes its hold) or an edge (holder NULL: group's
 * edge += delta, clamped at 0, at most 255). internal: not a request of
 * its own, not counted (carpd releasing its start-up hold).
 */
struct cd_book_op {
	const char *holder;
	const char *group;
	unsigned int value, ttl;
	int delta;
	bool internal;
};

/*
 * cd_book_apply - carry out ops[0..n) as one change: the engine gets one
 * difference per group, decreases first (never a transiently higher sum),
 * and each op that is not internal is counted as a request. Returns 0, or
 * RD_ERR_LIMIT (a table is full, an edge would pass 255) or the engine's
 * error, with err filled, the reason counted, and the book and the engine
 * as they were.
 */
int cd_book_apply(struct cd_book *b, const struct cd_book_op *ops, size_t n, rd_time_t now,
                  char *err);
/* cd_book_hold / cd_book_demote - cd_book_apply of one hold / one edge. */
int cd_book_hold(struct cd_book *b, const char *holder, const char *group, unsigned int value,
                 unsigned int ttl, rd_time_t now, char *err);
int cd_book_demote(struct cd_book *b, const char *group, int delta, rd_time_t now, char *err);

/* cd_book_expiry - when the next hold lapses, or RD_TIME_NEVER. */
rd_time_t cd_book_expiry(const struct cd_book *b);

/*
 * cd_book_expire - take back one hold whose time is up (counted in
 * holds_lapsed): returns 1 with *out a copy of it, or 0 when none is due.
 * Call until it returns 0.
 */
int cd_book_expire(struct cd_book *b, rd_time_t now, struct cd_hold *out);

/* The hold of holder on group, or NULL. Valid until the next change. */
const struct cd_hold *cd_book_find(const struct cd_book *b, const char *holder, const char *group);
/* The entry of group, or NULL when carpd adds nothing to it. */
const struct cd_group_book *cd_book_group(const struct cd_book *b, const char *name);
/* What carpd wants added to group: its edge plus its holds. */
unsigned long cd_book_wanted(const struct cd_book *b, const char *group);

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

#define CD_JOB_ARGS 8 /* argv entries of a queued script, the NULL included */

/*
 * cd_spawn - start argv[0] with argv (no signal blocked, in a process group
 * of its own so that a timeout kills what it started too). Returns the pid,
 * or a negative errno.
 */
pid_t cd_spawn(char *const *argv);
/* Append argv (NULL-terminated, at most CD_JOB_ARGS - 1 words; copied); start it if idle. */
void cd_script_enqueue_argv(struct cd_script_queue *q, const char *const *argv);
/* Append `script ifname addr [xparam]` and start it if nothing runs. */
void cd_script_enqueue(struct cd_script_queue *q, const char *script, const char *ifname,
                       const char *addr, const char *xparam);
/* A child exited: if it is q's, start the next. Returns true if it was q's. */
bool cd_script_reaped(struct cd_script_queue *q, pid_t pid, int status);
/* Drop pending jobs (not the running one). */
void cd_script_clear(struct cd_script_queue *q);
bool cd_script_idle(const struct cd_script_queue *q);

/* ---- tracking as run (track.c) ---- */

/* A track-interface or track-script line as run. */
struct cd_tracker {
	struct cd_track_conf conf;
	char holder[CD_NAME_MAX]; /* its hold in the book: "track-" + a hash of kind and name */
	bool failed;              /* its hold (weight on group) is raised */
	bool up;                  /* interface: its link, as last seen */
	unsigned int ifindex;     /* interface: 0 while it does not exist */
	unsigned int fails, oks;  /* script: consecutive failures, successes */
	pid_t pid;                /* script: running, 0 when not */
	bool killed;              /* script: killed at its timeout, not yet reaped */
	rd_time_t deadline;       /* script: when the running one is killed */
	rd_time_t next_run;       /* script: next start */
	rd_time_t since;          /* when failed last changed */
	uint64_t runs, failures, timeouts;
	char last[64]; /* script: "exit 0", "exit 1", "timeout", "cannot run: ..." */
};

struct cd_daemon;
struct dm_buf;
struct rd_io_link_event;

/*
 * cd_track_apply - run the trackers of conf[0..n) (copied): those that
 * watch what a running one watches keep its state, the others start
 * (interfaces as their link is, scripts healthy and run at once), the
 * running ones not in conf stop; their holds change in one book change.
 */
void cd_track_apply(struct cd_daemon *d, const struct cd_track_conf *conf, size_t n, rd_time_t now);
/* cd_track_expiry - when a script is due to start or to be killed, or RD_TIME_NEVER. */
rd_time_t cd_track_expiry(const struct cd_daemon *d);
/* cd_track_tick - kill scripts past their timeout, start those due. */
void cd_track_tick(struct cd_daemon *d, rd_time_t now);
/* cd_track_reaped - a child exited: if it is a tracker's, count its result. */
bool cd_track_reaped(struct cd_daemon *d, pid_t pid, int status, rd_time_t now);
/* cd_track_link - a link event (netlink) for the tracked interfaces. */
void cd_track_link(struct cd_daemon *d, const struct rd_io_link_event *ev, rd_time_t now);
/* cd_track_resync - read the tracked links again (after lost netlink events). */
void cd_track_resync(struct cd_daemon *d, rd_time_t now);
/* cd_track_status - the trackers for status: text lines, or JSON `"tracking": [...], `. */
void cd_track_status(const struct cd_daemon *d, struct dm_buf *b, bool json, rd_time_t now);
/* cd_track_free - kill running scripts, free the trackers (the holds stay in the book). */
void cd_track_free(struct cd_daemon *d);

/* ---- virtual MAC (vmac.c) ---- */

/* The vmac link's name for vhid on parent: "vmacVHID.PARENT" (cut to 15). */
void cd_vmac_name(const char *parent, uint8_t vhid, char out[IF_NAMESIZE]);
/*
 * cd_vmac_create - a macvlan (bridge mode) on parent with MAC
 * 00:00:5e:00:01:vhid, up, without IPv6 link-local; parent's arp_ignore
 * set to 1. A link of that name left over is replaced. Returns 0 with
 * name, or -1 with err (CD_ERR_LEN).
 */
int cd_vmac_create(const char *parent, uint8_t vhid, char name[IF_NAMESIZE], char *err);
/* cd_vmac_delete - remove the link (a missing one is not an error). */
void cd_vmac_delete(const char *name);

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
	bool quiet;               /* rebuilt by a reload: its engine's state changes are not news */
	uint32_t epoch;           /* strict replay: high 32 bits of its counters */
	pid_t pre_pid;            /* notify-master-before running (0: none) */
	rd_time_t pre_deadline;   /* when it is killed and the addresses taken anyway */
	bool up_pending;          /* MASTER, its up actions wait for notify-master-before */
	/*
	 * MASTER, the addresses' announcement (gratuitous ARP, unsolicited NA)
	 * waits until they are taken: notify-master-before and the up scripts
	 * ended. Announcing first would send the hosts' traffic here before
	 * the up script made ready for it (carpd-up-commit.sh: the states).
	 */
	bool announce_wait;
	rd_time_t announce_deadline; /* then it goes anyway (CD_ANNOUNCE_WAIT_MAX) */
	/* BACKUP master-down timers found due while an advertisement that reset
	 * them was already queued on the socket (read first: no takeover). */
	uint64_t takeovers_averted;
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
	bool inet, inet6;      /* families the io was opened for */
	unsigned int demotion; /* the highest of its vhosts, as last logged */
	/* A vmac link carpd made (its one vhost's): advertisements leave from it,
	 * they are received on the parent (macvlan does not hand a frame with its
	 * own MAC as source to it), which is also where sources are picked. */
	char parent[IF_NAMESIZE]; /* "": not a vmac link */
	unsigned int parent_ifindex;
	struct rd_io_carp *tx; /* vmac: the sending socket on the macvlan */
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
	/* The host's demotion groups, shared by every interface. */
	struct rd_carp_node *node;
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
	/* What carpd adds to each demotion group (edges and holds). */
	struct cd_book book;
	/* 16 lowercase hex digits chosen at start: tells holders carpd restarted. */
	char instance[17];
	/* The start-up hold has not been released yet; and why it was ("": not yet). */
	bool startup_pending;
	char startup_released[64];
	/* SIGHUP reloads applied, and refused (the running configuration kept). */
	uint64_t reloads, reloads_refused;
	/* Why the last reload was refused ("": none was). */
	char reload_refusal[CD_ERR_LEN];
	/* track-interface and track-script lines as run. */
	struct cd_tracker *trk;
	size_t ntrk;
	/* notify calls, one at a time in the order of the transitions. */
	struct cd_script_queue notifyq;
	uint64_t notifies;
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
int cd_daemon_hold(struct cd_daemon *d, const struct cd_hold_req *req, char **out);

/* How many vhosts of d are MASTER now. */
size_t cd_daemon_masters(const struct cd_daemon *d);
/*
 * The start-up hold has ended (why: "syncd reported", "demote request",
 * ...; the caller took its value back): recorded for status and logged at
 * NOTICE.
 */
void cd_daemon_startup_released(struct cd_daemon *d, const char *why);
/*
 * cd_daemon_notify_status - tell the service manager (dm_notify_status) how
 * many vhosts are MASTER, BACKUP and INIT, whether the start-up hold is on
 * and why the last reload was refused; sent only when it changed.
 */
void cd_daemon_notify_status(const struct cd_daemon *d);
int cd_daemon_leave(struct cd_daemon *d, char **out);
int cd_daemon_join(struct cd_daemon *d, char **out);

/* ---- control socket (requests.c) ---- */

/* The control socket's request handler (a dm_control_fn; user is the cd_daemon). */
int cd_control_request(void *user, char *line, char **body);
/* The longest request line carpd reads, with its line end and a NUL. */
#define CD_CONTROL_IN_MAX 512

#endif
