/* syncd: the state sync daemon for Linux. Shared declarations of its parts. */
#ifndef SYNCD_H
#define SYNCD_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redund/common.h"
#include "redund/io_sync.h"
#include "redund/state.h"
#include "redund/sync.h"
#include "redund/sync_engine.h"
#include "redund/sync_ext.h"

/* The plumbing shared with carpd (log, loop, control socket). */
#include "../daemon/daemon.h"
#include "filter.h"

struct nf_conntrack;

#define SD_DEFAULT_CONTROL   "/run/syncd.sock"
#define SD_DEFAULT_STATE_DIR "/var/lib/syncd"
#define SD_DEFAULT_LABEL     127 /* the conntrack label bit of entries written for peers */
/*
 * Plain mode's bulk pace, states a second. Raw pfsync has no
 * acknowledgements: a receiver that writes each state into its conntrack
 * table (about 100,000 a second measured, bench/syncd-bulk.sh) and is sent
 * more loses them for good. Secure mode is paced by acknowledgements.
 */
#define SD_BULK_RATE 5000u
#define SD_ERR_LEN   512
#define SD_MAX_KEYS  RD_SYNC_MAX_KEYS
#define SD_MAX_LINKS 4 /* sync links: interface repeated (the first that works carries) */

/* ---- configuration (config.c) ---- */

struct sd_config {
	char ifname[IF_NAMESIZE]; /* "" : none (unicast only) */
	int mode;                 /* RD_IO_SYNC_PLAIN or RD_IO_SYNC_SECURE */
	struct rd_addr peers[RD_IO_SYNC_MAX_PEERS];
	size_t npeers;
	struct rd_addr group; /* af UNSPEC: the default group */
	struct rd_addr local; /* af UNSPEC: any */
	uint16_t port;        /* 0: RD_SYNC_UDP_PORT */
	char *keyfiles[SD_MAX_KEYS];
	size_t nkeyfiles;
	uint32_t send_keyid; /* the key id that seals, if send_keyid_set (0 is an id too) */
	bool send_keyid_set; /* send-keyid given; else the first key file's id seals */
	uint32_t creatorid;  /* 0: kept in state_dir (random the first time) */
	char *state_dir;     /* where the creatorid is kept (owned; NULL: SD_DEFAULT_STATE_DIR) */
	int label;           /* conntrack label bit marking peers' entries; -1: off */
	size_t mtu;          /* largest datagram; 0: 1500 minus IP/UDP headers */
	uint32_t limit;      /* state table limit */
	unsigned maxupd;
	uint32_t bulk_rate;  /* plain mode: states a second our bulk answers send */
	uint32_t ct_batch;   /* conntrack requests a datagram (1: one a sendmsg) */
	bool bulk;           /* ask the peers for their states at start (default) */
	bool check_ttl;      /* secure mode: refuse TTL != 255 too */
	bool apply;          /* apply peers' states to the kernel (default) */
	bool strict_own;     /* leave our own TCP entries strict (no be-liberal flag) */
	bool reserve;        /* the table takes the memory of `limit` states at start */
	char *carpd_control; /* carpd's control socket: hold syncd there (hold.h), or NULL */
	char *demote_group;  /* the carpd group held (NULL: SD_HOLD_GROUP, "carp") */
	char *control;       /* our control socket (owned) */
	char *config_file;   /* --config, or NULL (owned) */
	/* Which of our kernel entries are synchronised (filter.h; owned). */
	struct sd_filter filter;
	/* More sync links (interface repeated): standbys in order (multicast only). */
	char more_ifnames[SD_MAX_LINKS - 1][IF_NAMESIZE];
	size_t nmore;
	bool daemonize;
	bool debug;
	bool no_syslog;
	bool check; /* --check/-t: check the configuration, print it, exit */
};

/* ---- identity (identity.c) ---- */

/*
 * sd_identity - the creatorid kept in DIR/creatorid: read it, or make a
 * random one and write it there (DIR created if missing, the file replaced
 * atomically). Returns 0 with *id and *kept true; -1 with err filled when
 * the file is unusable (*kept false), or when a new id could not be
 * written (then *id is the new random id, usable for this run only).
 */
int sd_identity(const char *dir, uint32_t *id, bool *kept, char *err);

/* The least distance between two incarnations' first sequence numbers. */
#define SD_INCARNATION_GAP ((uint64_t)1 << 40)
/*
 * sd_incarnation - the secure channel's first sequence number for this
 * start: the realtime clock in ns (now_ns), or more when DIR/incarnation
 * says an earlier start used a number within SD_INCARNATION_GAP of it (the
 * clock was stepped back): always above every earlier start's, so peers
 * never take the new incarnation for an old one. Writes it to
 * DIR/incarnation; err is "" or why the previous start is not known or
 * this one not kept (the path too long, a damaged file, a failed write);
 * the value still holds for this run.
 */
uint64_t sd_incarnation(const char *dir, uint64_t now_ns, char *err);

/* What each keyword of syncd's table (sd_opts) is, for the parsers. */
enum sd_opt_id {
	SD_O_SET = 1, /* a keyword of both places: sd_config_set under its name */
	SD_O_CONFIG,
	SD_O_DAEMONIZE,
	SD_O_FACILITY,
	SD_O_HELP,
	SD_O_VERSION,
	SD_O_CHECK,
};
/*
 * syncd's keywords (config.c): the command line's long options and the
 * config file's keywords, one table (daemon.h's parser).
 */
extern const struct dm_opts sd_opts;

/* Defaults: secure mode, bulk at start, apply on, control SD_DEFAULT_CONTROL. */
void sd_config_init(struct sd_config *cfg);
void sd_config_free(struct sd_config *cfg);

/*
 * sd_config_set - apply keyword `key` (an SD_O_SET keyword of sd_opts) with
 * argument `arg` (NULL for flags). The command line's long options and the
 * config file's keywords are the same words. Returns 0, or -1 with err
 * (SD_ERR_LEN bytes) saying what was expected and what was given, without
 * the keyword (the caller names it: "--key: ..." or "file:line: key: ...").
 */
int sd_config_set(struct sd_config *cfg, const char *key, const char *arg, char *err);

/*
 * sd_config_parse - apply a config file's text (len bytes, named `name` in
 * messages): one keyword and its argument a line (daemon.h's dm_conf_parse).
 * Returns 0, or -1 with err as "name:line: key: what was expected".
 */
int sd_config_parse(struct sd_config *cfg, const char *name, const char *text, size_t len,
                    char *err);
/* sd_config_load - sd_config_parse of the file at path, read whole (dm_file_read). */
int sd_config_load(struct sd_config *cfg, const char *path, char *err);

/* sd_config_check - the whole configuration makes sense. */
int sd_config_check(const struct sd_config *cfg, char *err);

struct rd_sync_key;
/*
 * sd_keys_load - read cfg's key files (dm_sync_key_read: whole, private,
 * parsed) into keys[0..cfg->nkeyfiles-1], in order, and check their ids:
 * each once, and send-keyid (when given) one of them. Returns 0 with
 * *nkeys set (the caller wipes keys with sodium_memzero), or -1 with err
 * naming the file or the id, and keys wiped.
 */
int sd_keys_load(const struct sd_config *cfg, struct rd_sync_key *keys, size_t *nkeys, char *err);
/* sd_send_keyid - the id that seals: send-keyid if given, else the first key's (keys[0]). */
uint32_t sd_send_keyid(const struct sd_config *cfg, const struct rd_sync_key *keys);

/*
 * sd_options_parse - argv (every getopt_long form: --opt V, --opt=V, -o V,
 * -oV), the --config/-c file first so that the command line wins, then the
 * whole configuration checked, key files included (read and wiped).
 * Returns 0, 1 (help/version printed) or -1 (err filled); cfg is the
 * caller's to free (sd_config_free) in every case.
 */
int sd_options_parse(int argc, char **argv, struct sd_config *cfg, char *err);

/*
 * sd_config_check_run - syncd --check (check.c), after sd_options_parse
 * succeeded: the interface exists, the key files read again for their ids;
 * errors on stderr; when all is well, prints what syncd would run on
 * stdout. Changes nothing. Returns the exit status: 0 or 1.
 */
int sd_config_check_run(const struct sd_config *cfg);

/* ---- time ---- */

/*
 * The engines' clock: CLOCK_MONOTONIC, the timerfd's. Its origin is the
 * boot: a state older than that is fine (the table's time has a
 * caller-chosen origin).
 */
static inline rd_time_t sd_now(void)
{
	return dm_monotonic();
}

/* ---- conntrack backend (ct.c) ---- */

enum sd_ct_stat {
	SD_CT_EVENTS = 0,     /* events read from the kernel */
	SD_CT_SELF,           /* events caused by our own changes (ignored) */
	SD_CT_CREATED,        /* entries created for peers' states */
	SD_CT_UPDATED,        /* entries updated for peers' states */
	SD_CT_DELETED,        /* entries deleted for peers' states */
	SD_CT_ERRORS,         /* kernel refusals of our changes */
	SD_CT_OVERRUNS,       /* event socket overruns (a resync follows) */
	SD_CT_UNLABELLED,     /* peers' states written without our label (entry had no room) */
	SD_CT_NOHELPER,       /* peers' entries written without their helper (unknown here) */
	SD_CT_EXP_EVENTS,     /* expectation events read from the kernel */
	SD_CT_EXP_CREATED,    /* peers' expectations created */
	SD_CT_EXP_DELETED,    /* peers' expectations deleted (gone on the peer) */
	SD_CT_EXP_NOHELPER,   /* peers' expectations refused: the master has no helper here */
	SD_CT_EXP_FAILED,     /* peers' expectations the kernel refused otherwise */
	SD_CT_BATCHES,        /* datagrams of batched writes sent (sd_ct_flush) */
	SD_CT_BATCH_OVERRUNS, /* batches some of whose answers the kernel dropped (ENOBUFS) */
	SD_CT_ACK_LOST,       /* batched requests sent again: their answer was lost */
	SD_CT_ACK_UNMATCHED,  /* batch socket messages matching no request in flight (skipped) */
	SD_CT_ACK_RECVERR,    /* unexpected errors reading the batch socket's answers */
	SD_CT_SUPERSEDED,     /* queued writes replaced by a later one of their state (unsent) */
	SD_CT_STAT_MAX,
};
const char *sd_ct_stat_name(int stat);

struct sd_ct;

/* Called for each event (NFCT_T_NEW/UPDATE/DESTROY) and each dumped entry (NEW). */
typedef void (*sd_ct_fn)(void *user, int type, const struct nf_conntrack *ct);

/* sd_ct_open - the event socket (NEW, UPDATE, DESTROY) and a query socket. */
int sd_ct_open(sd_ct_fn fn, void *user, struct sd_ct **out);
void sd_ct_close(struct sd_ct *c);
int sd_ct_fd(const struct sd_ct *c);
/* Read every waiting event; -ENOBUFS when some were lost. */
int sd_ct_read(struct sd_ct *c);
/* Dump the kernel table (fn called with NFCT_T_NEW for each entry). */
int sd_ct_dump(struct sd_ct *c);
/*
 * Create (or, if it exists, update) the kernel entry of a peer's state,
 * with its extension x (mark, labels, status, helper; NULL: none known).
 */
int sd_ct_apply(struct sd_ct *c, const struct rd_state_info *info, const uint32_t *deftimeouts,
                const struct rd_sync_ext *x);
/* The most conntrack requests syncd puts in one datagram (config ct-batch). */
#define SD_CT_BATCH_MAX 1024
#define SD_CT_BATCH     256 /* the default */
/* A queued write's outcome: sd_ct_apply's value for it (0 or -errno). */
typedef void (*sd_ct_done_fn)(void *user, const struct rd_state_info *info, int rc);
/*
 * sd_ct_set_batch - write the peers' states in batches of up to max
 * requests a datagram (1..SD_CT_BATCH_MAX; 1: one a sendmsg, as
 * sd_ct_apply) over a socket of its own, whose receive buffer is rcvbuf
 * bytes (<= 0: room for max answers). done is called with each queued
 * write's outcome from sd_ct_flush. 0 or -errno (nothing queued may be
 * waiting).
 */
int sd_ct_set_batch(struct sd_ct *c, unsigned max, int rcvbuf, sd_ct_done_fn done, void *user);
/*
 * sd_ct_queue - sd_ct_apply later: the write is queued (1 returned; its
 * outcome goes to the done callback, counted as sd_ct_apply counts), and
 * the queue is flushed when it holds a full batch. A write of a state
 * (id, creatorid) already queued replaces the queued one's values (only
 * the latest are written, in one request counted once; the replaced
 * write is counted superseded, and its done callback has the request's
 * outcome). The queue keeps one deftimeouts (the caller's, which must
 * outlive the flush): a write with another flushes the queue first.
 * Without sd_ct_set_batch (or from inside a flush) it is sd_ct_apply, and
 * returns its value.
 */
int sd_ct_queue(struct sd_ct *c, const struct rd_state_info *info, const uint32_t *deftimeouts,
                const struct rd_sync_ext *x);
/*
 * sd_ct_flush - send every queued write, in datagrams of the batch size,
 * until each has its outcome (the kernel's answer, after the next steps
 * EEXIST, EOPNOTSUPP and ENOSPC call for; a request whose answer was lost
 * is sent again, up to 8 times, then counted an error -ENOBUFS); then
 * the done callbacks, in the order queued, one a write queued. Every
 * other request of c (apply, delete, get, dump, expectations) flushes
 * first, so the kernel sees syncd's changes in the order syncd made them.
 */
void sd_ct_flush(struct sd_ct *c);
/*
 * Bring the kernel's expectations of a peer's state *master in line with
 * its extension x (the whole set) from old (the set known before, NULL:
 * none): create those new, delete those gone. Counted; a master without a
 * helper here is logged once.
 */
void sd_ct_expect(struct sd_ct *c, const struct rd_state_info *master,
                  const struct rd_sync_ext *old, const struct rd_sync_ext *x);
struct nf_expect;
/* Called for every expectation event not caused by syncd (type: NFCT_T_NEW or _DESTROY). */
typedef void (*sd_exp_fn)(void *user, int type, const struct nf_expect *exp);
void sd_ct_set_exp_fn(struct sd_ct *c, sd_exp_fn fn, void *user);
/* Delete the kernel entry of a state; absent counts as done. */
int sd_ct_delete(struct sd_ct *c, const struct rd_state_info *info);
/* Read the kernel entry of a state: 0 and *out, -ENOENT, or a negative errno. */
int sd_ct_get(struct sd_ct *c, const struct rd_state_info *info, struct rd_state_info *out);
/*
 * sd_ct_is_liberal - whether TCP entry ct (an event's or a dump's) shows the
 * be-liberal flag in both directions: 1 yes, 0 no, -1 unknown (the event
 * carries no TCP protoinfo: the kernel sends it only when the state changed).
 */
int sd_ct_is_liberal(const struct nf_conntrack *ct);
/*
 * sd_ct_set_liberal - set the be-liberal flag of both directions of the
 * kernel's TCP entry of info's key: an update of the protoinfo flags under
 * their mask and nothing else (no timeout, status or TCP state). 0, -ENOENT
 * (gone), or a negative errno.
 */
int sd_ct_set_liberal(struct sd_ct *c, const struct rd_state_info *info);
const uint64_t *sd_ct_stats(const struct sd_ct *c);
/*
 * sd_ct_set_label - the conntrack label bit (0..127) that marks the entries
 * written for peers' states (RD_STATE_F_REMOTE), or -1: no mark.
 */
void sd_ct_set_label(struct sd_ct *c, int bit);
/* sd_ct_labelled - whether entry ct (an event's or a dump's) carries our mark. */
bool sd_ct_labelled(const struct sd_ct *c, const struct nf_conntrack *ct);

/* ---- conntrack labels kept in use (labels.c) ---- */

#define SD_LABELS_TABLE "libredund_syncd"
#define SD_LABELS_CHECK (10 * RD_SEC) /* how often the rule is checked */
struct sd_labels;
/* sd_labels_new - an nftables context for label bit `bit`; -1 with err. */
int sd_labels_new(int bit, struct sd_labels **out, char *err);
void sd_labels_free(struct sd_labels *l);
/*
 * sd_labels_keep - make sure the rule that keeps labels in use exists
 * (table inet libredund_syncd, chain labels without a hook): 0 (with
 * *installed true when it had to be put (back)), or -1 with err.
 */
int sd_labels_keep(struct sd_labels *l, bool *installed, char *err);

/* ---- the daemon (daemon.c) ---- */

struct sd_daemon;
int sd_daemon_new(struct sd_config *cfg, struct sd_daemon **out);
int sd_daemon_run(struct sd_daemon *d);
/* After daemon(3): re-bind signal delivery to this (the child) process. */
int sd_daemon_after_fork(struct sd_daemon *d);
/*
 * sd_daemon_set_args - the command line a SIGHUP reads again with its
 * --config file (sd_options_parse); argv must outlive d. Without it SIGHUP
 * does nothing.
 */
void sd_daemon_set_args(struct sd_daemon *d, int argc, char **argv);
void sd_daemon_free(struct sd_daemon *d);
/* The control socket's requests: malloc'd answer body in *out; 0 or -1. */
int sd_daemon_status(struct sd_daemon *d, bool json, char **out);
int sd_daemon_bulk(struct sd_daemon *d, char **out);
/* With --no-apply: write the peers' states into the kernel (conntrackd -c); -1 if any failed. */
int sd_daemon_commit(struct sd_daemon *d, char **out);

/* epoll tags of syncd's own descriptors (the loop's and the control socket's are DM_W_*). */
enum sd_watch_kind {
	SD_W_IO = DM_W_USER,
	SD_W_CT,
	SD_W_HOLD, /* the connection of a hold request to carpd */
};

/* ---- the states' extensions (extstore.c) ---- */

struct sd_ext_slot;
/* The extension (mark, labels, status, helper) of the states that have one. */
struct sd_extstore {
	struct sd_ext_slot *v;
	uint32_t n, cap;    /* slots made, allocated */
	uint32_t free_head; /* free slots, index + 1; 0: none */
	uint32_t used;      /* slots in use */
};
/* The extension kept for st, or NULL. */
const struct rd_sync_ext *sd_extstore_get(const struct sd_extstore *s, const struct rd_state *st);
/* Keep x for st (st->user names its slot); 0, or -1 without memory. */
int sd_extstore_set(struct sd_extstore *s, struct rd_state *st, const struct rd_sync_ext *x);
/* Forget st's extension (it is being removed). */
void sd_extstore_drop(struct sd_extstore *s, struct rd_state *st);
/* Free every slot; the store is empty and usable again. */
void sd_extstore_free(struct sd_extstore *s);

/* ---- the states' extensions between carry, table and kernel (extsync.c) ---- */

struct rd_sync_carry;
struct rd_sync_carry_ext;
struct sd_extsync {
	struct sd_extstore store;
	struct rd_state_table *t;    /* set before the carry is made */
	uint32_t creatorid;          /* ours */
	struct rd_sync_carry *carry; /* NULL: plain mode, nothing travels */
	struct rd_sync_engine *eng;  /* the rest once the conntrack backend is open */
	struct sd_ct *ct;
	const uint32_t *deftimeouts;
	int label;  /* syncd's own label bit, -1: none */
	bool apply; /* peers' states are written into the kernel */
};
/* The carry's extension callbacks (user d). */
void sd_extsync_carry(struct sd_extsync *d, struct rd_sync_carry_ext *ce);
/*
 * Write a peer's state with its extension and expectations; sd_ct_apply's
 * value. queue: through sd_ct_queue when the state has no expectations
 * (those need the master in the kernel first), 1 when queued.
 */
int sd_extsync_write(struct sd_extsync *d, const struct rd_state_info *info, bool queue);
/* A kernel event's entry (after rd_mirror_local for a new one): keep its extension. */
void sd_extsync_local(struct sd_extsync *d, const struct nf_conntrack *ct,
                      const struct rd_state_info *info);
/* The expectation events (sd_ct_set_exp_fn, user d). */
void sd_extsync_exp(void *user, int type, const struct nf_expect *exp);
/* A state is being removed. */
void sd_extsync_removed(struct sd_extsync *d, struct rd_state *st);
void sd_extsync_free(struct sd_extsync *d);

/* The longest request line syncd reads, with its line end and a NUL. */
#define SD_CONTROL_IN_MAX 256

#endif
