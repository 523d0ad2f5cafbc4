/*
 * syncd: the daemon proper. It binds the sync engine (libredund/sync) to
 * the host: the library's mirror (redund/mirror.h) of the kernel's
 * conntrack table, with the conntrack backend (ct.c) as its external
 * table's callbacks (read, write, delete, dump) and its source of local
 * changes; the transport (libredund/io sync sockets, with the secure
 * channel in secure mode), the control socket, and one epoll loop with a
 * timerfd at the earliest expiry and a signalfd. Protocol decisions are the
 * engine's; which states are ours, echoes, the refresh of states from the
 * kernel before they expire, the timeout stretch and the exclusion of the
 * sync traffic are the mirror's. What stays here is conntrack's own: the
 * be-liberal flag of our TCP entries (make_liberal).
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>
#include <sodium.h>

#include "redund/mirror.h"

#include "ctmap.h"
#include "hold.h"
#include "syncd.h"
#include "redund/sync_carry.h"

#define RX_BATCH 64
/*
 * Several sync links (interface repeated): each is checked every
 * SD_LINK_CHECK (carrier: IFF_UP and IFF_RUNNING); in secure mode the
 * channel's HELLOs go every SD_LINK_HELLO over every link that is up, and a
 * link no peer was heard on for SD_LINK_SILENCE while another was heard is
 * not used. The first link left carries.
 */
#define SD_LINK_CHECK   (100 * RD_MSEC)
#define SD_LINK_HELLO   (150 * RD_MSEC)
#define SD_LINK_SILENCE (500 * RD_MSEC)
#define SD_LINK_SEEN    64             /* nonces remembered to drop the copies of HELLOs */
#define RX_BUDGET       (10 * RD_MSEC) /* receive work before the loop's other events */

enum sd_stat {
	SD_LOCAL_NEW = 0,
	SD_LOCAL_UPDATE,
	SD_LOCAL_DESTROY,
	/* Kernel entries not synchronised, by sd_ct_to_state's reason (-err - 1). */
	SD_UNMAPPED_L3,
	SD_UNMAPPED_L4,
	SD_UNMAPPED_TUPLE,
	SD_UNMAPPED_TCPSTATE,
	SD_OWN_SYNC, /* entries of our own sync traffic (the mirror's exclude), never sent */
	SD_REFUSED,
	SD_REFRESHED,
	SD_VANISHED,
	SD_OWN_LIBERAL,        /* TCP entries we gave the be-liberal flag (strict-own off) */
	SD_OWN_LIBERAL_GONE,   /* ... that were gone before the write reached them */
	SD_OWN_LIBERAL_FAILED, /* ... whose write the kernel refused otherwise */
	SD_COMMITS,            /* sync commit requests run (--no-apply) */
	SD_COMMITTED,          /* peers' states they wrote into the kernel */
	SD_COMMIT_FAILED,      /* ... and the writes the kernel refused */
	SD_STAT_MAX,
};

static const char *const sd_stat_names[SD_STAT_MAX] = {
    [SD_LOCAL_NEW] = "local_new",
    [SD_LOCAL_UPDATE] = "local_update",
    [SD_LOCAL_DESTROY] = "local_destroy",
    [SD_UNMAPPED_L3] = "unmapped_l3",
    [SD_UNMAPPED_L4] = "unmapped_l4",
    [SD_UNMAPPED_TUPLE] = "unmapped_tuple",
    [SD_UNMAPPED_TCPSTATE] = "unmapped_tcpstate",
    [SD_OWN_SYNC] = "own_sync",
    [SD_REFUSED] = "table_refused",
    [SD_REFRESHED] = "refreshed",
    [SD_VANISHED] = "vanished",
    [SD_OWN_LIBERAL] = "own_liberal",
    [SD_OWN_LIBERAL_GONE] = "own_liberal_gone",
    [SD_OWN_LIBERAL_FAILED] = "own_liberal_failed",
    [SD_COMMITS] = "commits",
    [SD_COMMITTED] = "committed",
    [SD_COMMIT_FAILED] = "commit_failed",
};

/* One sync link: its own transport (a socket bound to the interface). */
struct sd_link {
	char name[IF_NAMESIZE]; /* "" : none (unicast, any interface) */
	unsigned int ifindex;
	struct rd_io_sync *io;
	struct dm_watch w;
	bool io_out;          /* EPOLLOUT armed */
	bool running;         /* IFF_UP and IFF_RUNNING at the last check */
	rd_time_t heard;      /* a peer's datagram last received on it (0: never) */
	uint64_t activations; /* times it became the link that carries */
	uint64_t dups;        /* datagrams dropped: a copy another link brought first */
};

struct sd_daemon {
	struct sd_config cfg;
	struct dm_loop loop;
	struct dm_watch wct;
	struct rd_io_sync *io; /* the transport of the link that carries (links[active]) */
	struct sd_link links[SD_MAX_LINKS];
	size_t nlinks, active;
	rd_time_t links_due; /* next link check (several links only) */
	int ifsock;          /* for SIOCGIFFLAGS */
	uint8_t seen[SD_LINK_SEEN][24];
	size_t seen_pos;
	struct rd_sync_channel *ch;
	struct rd_sync_carry *carry; /* secure mode: owns ch and eng */
	struct rd_sync_engine *eng;
	struct rd_state_table *t;
	struct rd_mirror *mirror;
	struct sd_ct *ct;
	struct sd_labels *labels; /* keeps conntrack labels in use (NULL: no mark) */
	struct sd_extsync xs;     /* the states' marks, labels, ... (secure mode: extsync.c) */
	rd_time_t labels_due;     /* next check that our labels rule is there */
	struct dm_control *ctl;
	uint32_t creatorid;
	bool id_stable; /* the same creatorid after a restart (given, or kept in state-dir) */
	uint16_t port;  /* secure mode's UDP port */
	bool quitting;
	bool in_dump; /* a dump runs on the request socket (any: also a resync) */
	/*
	 * Requests that wait for the dump's end: no request may go on the
	 * socket whose dump is being read (be-liberal writes, deletes).
	 */
	struct after_dump *after_q;
	size_t after_n, after_cap;
	uint32_t deftimeouts[RD_STATE_TM_COUNT];
	uint64_t stats[SD_STAT_MAX]; /* syncd's own; the mirror's are read at status time */
	/* The hold on carpd (hold.h), with carpd-control only; one request at a time. */
	bool hold_on;
	struct sd_hold hold;
	int hold_fd;
	struct dm_watch whold;
	char hold_out[SD_HOLD_LINE];
	size_t hold_out_len, hold_out_off;
	char hold_in[512];
	size_t hold_in_len;
	/* SIGHUP: the command line read again (sd_daemon_set_args), after the batch. */
	int argc;
	char **argv;
	bool reload_pending;
	uint64_t reloads, reloads_refused;
	char reload_refusal[SD_ERR_LEN]; /* why the last reload was refused ("": none was) */
};

/* ---------------------------------------------------------------------- */
/* The hold on carpd (the protocol and the schedule are hold.c's)          */

static void hold_close(struct sd_daemon *d)
{
	if (d->hold_fd >= 0)
		close(d->hold_fd); /* leaves the epoll set with it */
	d->hold_fd = -1;
	d->hold_in_len = 0;
	d->hold_out_len = d->hold_out_off = 0;
}

/* Log what an answer or a failure changed (SD_HOLD_EV_* bits). */
static void hold_log(struct sd_daemon *d, int ev, const char *old_instance)
{
	const struct sd_hold *h = &d->hold;

	if (ev & SD_HOLD_EV_FIRST_FAIL)
		dm_log(LOG_WARNING,
		       "carpd at %s: hold %s %s %d not confirmed: %s (re-stated every second; "
		       "logged again once carpd answers)",
		       d->cfg.carpd_control, SD_HOLD_HOLDER, h->group, h->stated, h->last_error);
	if (ev & SD_HOLD_EV_RESTART)
		dm_log(LOG_NOTICE,
		       "carpd at %s restarted (instance %s, was %s): hold %s %s %d re-stated, "
		       "applied %d",
		       d->cfg.carpd_control, h->instance, old_instance, SD_HOLD_HOLDER, h->group,
		       h->stated, h->applied);
	if (ev & (SD_HOLD_EV_CONFIRMED_AGAIN | SD_HOLD_EV_APPLIED))
		dm_log(LOG_NOTICE,
		       "carpd at %s (instance %s, %d vhost(s) MASTER) holds %s %s at %d (stated "
		       "%d%s)",
		       d->cfg.carpd_control, h->instance, h->masters, SD_HOLD_HOLDER, h->group,
		       h->applied, h->stated,
		       h->applied < h->stated ? ": it serves, so unless-master applies 0" : "");
}

static void hold_fail(struct sd_daemon *d, int reason, const char *what, int err)
{
	char why[SD_HOLD_ERR];

	hold_close(d);
	snprintf(why, sizeof(why), "%s: %s", what, strerror(err));
	hold_log(d, sd_hold_failed(&d->hold, reason, why, sd_now()), NULL);
}

/* Writes what is left of the request; arms EPOLLOUT while some is. */
static void hold_write(struct sd_daemon *d)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &d->whold};

	while (d->hold_out_off < d->hold_out_len) {
		ssize_t n = send(d->hold_fd, d->hold_out + d->hold_out_off,
		                 d->hold_out_len - d->hold_out_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			ev.events |= EPOLLOUT;
			break;
		}
		if (n < 0) {
			hold_fail(d, SD_HOLD_FAIL_CONNECT, "write", errno);
			return;
		}
		d->hold_out_off += (size_t)n;
	}
	if (epoll_ctl(d->loop.epfd, EPOLL_CTL_MOD, d->hold_fd, &ev) < 0)
		hold_fail(d, SD_HOLD_FAIL_CONNECT, "epoll", errno);
}

/* Sends the request due now, if one is: a non-blocking connection in the loop's epoll set. */
static void hold_send(struct sd_daemon *d, rd_time_t now)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &d->whold};
	int n = sd_hold_start(&d->hold, now, d->hold_out, sizeof(d->hold_out));

	if (n <= 0)
		return;
	d->hold_out_len = (size_t)n;
	d->hold_out_off = 0;
	d->hold_in_len = 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", d->cfg.carpd_control); /* checked */
	d->hold_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->hold_fd < 0) {
		hold_fail(d, SD_HOLD_FAIL_CONNECT, "socket", errno);
		return;
	}
	/* A unix socket connects at once or fails (EAGAIN: carpd's backlog is full). */
	if (connect(d->hold_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		hold_fail(d, SD_HOLD_FAIL_CONNECT, "connect", errno);
		return;
	}
	if (epoll_ctl(d->loop.epfd, EPOLL_CTL_ADD, d->hold_fd, &ev) < 0) {
		hold_fail(d, SD_HOLD_FAIL_CONNECT, "epoll", errno);
		return;
	}
	hold_write(d);
}

/* carpd's socket is ready: the rest of the request, or (the end of) its answer. */
static void on_hold(struct sd_daemon *d, uint32_t events)
{
	char old[sizeof(d->hold.instance)];
	ssize_t n;
	int ev;

	if (d->hold_fd < 0)
		return;
	if ((events & EPOLLOUT) && d->hold_out_off < d->hold_out_len) {
		hold_write(d);
		if (d->hold_fd < 0)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		n = recv(d->hold_fd, d->hold_in + d->hold_in_len,
		         sizeof(d->hold_in) - d->hold_in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			return; /* more to come */
		if (n < 0) {
			hold_fail(d, SD_HOLD_FAIL_CONNECT, "read", errno);
			return;
		}
		if (n == 0)
			break; /* carpd closes after its answer */
		d->hold_in_len += (size_t)n;
		if (d->hold_in_len == sizeof(d->hold_in)) {
			hold_fail(d, SD_HOLD_FAIL_BADANSWER, "answer", EMSGSIZE);
			return;
		}
	}
	memcpy(old, d->hold.instance, sizeof(old));
	ev = sd_hold_answered(&d->hold, d->hold_in, d->hold_in_len, sd_now());
	hold_close(d);
	hold_log(d, ev, old);
}

/*
 * Once a loop turn: the level wanted is the engine's demotion (32 while its
 * join bulk runs, else 0); a change is stated at once, the same value every
 * SD_HOLD_PERIOD; an answer overdue is given up.
 */
static void hold_tick(struct sd_daemon *d, rd_time_t now)
{
	if (!d->hold_on)
		return;
	if (d->hold.inflight && d->hold.deadline <= now) {
		hold_close(d);
		hold_log(d, sd_hold_expire(&d->hold, now), NULL);
	}
	sd_hold_want(&d->hold, rd_sync_engine_demotion(d->eng), now);
	hold_send(d, now);
}

/*
 * At exit: if carpd may hold a value > 0 of ours, state 0 and wait up to
 * SD_HOLD_TIMEOUT for the answer (best effort: without it the hold lapses
 * SD_HOLD_TTL seconds after our last statement).
 */
static void hold_release(struct sd_daemon *d)
{
	rd_time_t now = sd_now(), end = now + SD_HOLD_TIMEOUT;

	if (!d->hold_on || !sd_hold_release_owed(&d->hold))
		return;
	hold_close(d);
	sd_hold_stop(&d->hold, now);
	hold_send(d, now);
	while (d->hold_fd >= 0 && (now = sd_now()) < end) {
		struct pollfd p = {.fd = d->hold_fd, .events = POLLIN};

		if (d->hold_out_off < d->hold_out_len)
			p.events |= POLLOUT;
		if (poll(&p, 1, (int)((end - now) / RD_MSEC) + 1) < 0 && errno != EINTR)
			break;
		on_hold(d, (p.revents & POLLIN ? EPOLLIN : 0) |
		               (p.revents & POLLOUT ? EPOLLOUT : 0) |
		               (p.revents & POLLHUP ? EPOLLHUP : 0) |
		               (p.revents & POLLERR ? EPOLLERR : 0));
	}
	if (d->hold_fd >= 0) {
		hold_close(d);
		sd_hold_failed(&d->hold, SD_HOLD_FAIL_TIMEOUT, "no answer within 1 s", sd_now());
	}
	if (d->hold.stated == 0 && d->hold.streak == 0 && d->hold.applied == 0)
		dm_log(LOG_NOTICE, "carpd at %s: hold %s %s released", d->cfg.carpd_control,
		       SD_HOLD_HOLDER, d->hold.group);
	else
		dm_log(
		    LOG_WARNING,
		    "carpd at %s: release of hold %s %s not confirmed (%s): it lapses %d s after "
		    "the last statement",
		    d->cfg.carpd_control, SD_HOLD_HOLDER, d->hold.group, d->hold.last_error,
		    SD_HOLD_TTL);
}

/* ---------------------------------------------------------------------- */
/* Engine, channel and table callbacks                                     */

static void io_send(struct sd_daemon *d, const uint8_t *pkt, size_t len)
{
	int rc = rd_io_sync_queue(d->io, NULL, pkt, len);

	if (rc < 0 && rc != -EAGAIN)
		dm_log_limited("send errors", LOG_WARNING, "send on %s: %s",
		               d->links[d->active].name[0] ? d->links[d->active].name : "any",
		               strerror(-rc));
	/*
	 * Several links, secure mode: a HELLO over every other link that is up
	 * too, so that the peers hear each link that works (and we theirs):
	 * what decides the link that carries. Peers drop the copies (dups).
	 */
	if (d->nlinks > 1 && d->ch != NULL && len > 3 && pkt[3] == RD_SYNC_ENV_HELLO)
		for (size_t i = 0; i < d->nlinks; i++)
			if (i != d->active && d->links[i].running)
				(void)rd_io_sync_queue(d->links[i].io, NULL, pkt, len);
}

static void flush_all(struct sd_daemon *d)
{
	for (size_t i = 0; i < d->nlinks; i++)
		rd_io_sync_flush(d->links[i].io);
}

/*
 * A copy of a HELLO another link brought first: its nonce (bytes 20..43,
 * unique to each envelope sealed) seen among the last HELLOs. Only HELLOs
 * go over several links; anything else goes to the channel, which judges
 * replays.
 */
static bool seen_before(struct sd_daemon *d, const uint8_t *pkt, size_t len)
{
	if (d->nlinks < 2 || d->ch == NULL || len < 44 || pkt[3] != RD_SYNC_ENV_HELLO)
		return false;
	for (size_t i = 0; i < SD_LINK_SEEN; i++)
		if (memcmp(d->seen[i], pkt + 20, 24) == 0)
			return true;
	memcpy(d->seen[d->seen_pos], pkt + 20, 24);
	d->seen_pos = (d->seen_pos + 1) % SD_LINK_SEEN;
	return false;
}

static bool link_running(struct sd_daemon *d, const struct sd_link *l)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, l->name, sizeof(l->name));
	if (ioctl(d->ifsock, SIOCGIFFLAGS, &ifr) < 0)
		return false; /* gone */
	return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

static bool heard_lately(const struct sd_link *l, rd_time_t now)
{
	return l->heard != 0 && now - l->heard < SD_LINK_SILENCE;
}

/*
 * Several links: which carries. The first that is up and, in secure mode
 * when a peer was heard lately on any link that is up, where one was
 * heard lately (a link whose carrier stays up while the far side is cut
 * goes silent). None: the one that carries stays. Plain mode has no HELLO
 * and judges by carrier alone; after a switch it asks the peers for a bulk
 * update (what went over the dead link is lost for good in raw pfsync).
 */
static void links_check(struct sd_daemon *d, rd_time_t now)
{
	bool any_heard = false;
	size_t pick = d->active, i;

	for (i = 0; i < d->nlinks; i++) {
		d->links[i].running = link_running(d, &d->links[i]);
		any_heard = any_heard || (d->ch != NULL && d->links[i].running &&
		                          heard_lately(&d->links[i], now));
	}
	for (i = 0; i < d->nlinks; i++)
		if (d->links[i].running && (!any_heard || heard_lately(&d->links[i], now))) {
			pick = i;
			break;
		}
	d->links_due = now + SD_LINK_CHECK;
	if (pick == d->active)
		return;
	dm_log(LOG_WARNING, "sync link %s now carries (%s: %s)", d->links[pick].name,
	       d->links[d->active].name,
	       !d->links[d->active].running                 ? "down"
	       : d->links[pick].running && pick < d->active ? "up again, preferred"
	                                                    : "no peer heard");
	d->active = pick;
	d->io = d->links[pick].io;
	d->links[pick].activations++;
	if (d->ch == NULL)
		rd_sync_engine_bulk_repair(d->eng, now);
}

static void eng_send(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	(void)now;
	io_send(user, pkt, len); /* raw pfsync; secure: the carry sends through the channel */
}

/* A join bulk starts or ends; the hold on carpd follows the level (hold_tick). */
static void eng_demote(void *user, int delta, rd_time_t now)
{
	(void)user;
	(void)now;
	dm_log(LOG_NOTICE, "join bulk update %s: demotion %+d", delta > 0 ? "started" : "ended",
	       delta);
}

static void ch_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	(void)to; /* every peer: the transport does not map sender ids to addresses */
	io_send(user, pkt, len);
}

static void ch_lost(void *user, uint32_t peer, rd_time_t now)
{
	(void)user;
	(void)now; /* the carry has asked the engine for the bulk update */
	dm_log(LOG_WARNING, "messages with %08x lost for good: asking for a bulk update", peer);
}

/* The table's events: to the mirror, which passes them to the engine (see mirror.h). */
static void table_event(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	struct sd_daemon *d = user;

	if (d->mirror != NULL)
		rd_mirror_state_event(d->mirror, st, ev, why, now);
	else if (d->eng != NULL)
		rd_sync_engine_state_event(d->eng, st, ev, why, now);
	if (ev == RD_STATE_EV_REMOVE)
		sd_extsync_removed(&d->xs, st);
}

/* The mirror's external table: the kernel's, through ct.c. */
static int mir_read(void *user, const struct rd_state_info *key, struct rd_state_info *out)
{
	struct sd_daemon *d = user;
	int rc = sd_ct_get(d->ct, key, out);

	if (rc == -ENOENT)
		return RD_ERR_NOENT;
	return rc < 0 ? RD_ERR_AGAIN : 0;
}

static int mir_write(void *user, const struct rd_state_info *info, bool created)
{
	struct sd_daemon *d = user;
	/* sd_ct_apply, with the extension; queued for the next batch when it can wait */
	int rc = sd_extsync_write(&d->xs, info, true);

	(void)created; /* sd_ct_apply creates or updates, whichever the kernel needs */
	if (rc < 0) {
		dm_log(LOG_DEBUG, "conntrack write of %016llx/%08x: %s",
		       (unsigned long long)info->id, info->creatorid, strerror(-rc));
		return RD_ERR_AGAIN;
	}
	return rc > 0 ? RD_MIRROR_PENDING : 0; /* queued: ct_written has its outcome */
}

/* A queued write's outcome (sd_ct_flush): the mirror counts it now. */
static void ct_written(void *user, const struct rd_state_info *info, int rc)
{
	struct sd_daemon *d = user;

	if (rc < 0)
		dm_log(LOG_DEBUG, "conntrack write of %016llx/%08x: %s",
		       (unsigned long long)info->id, info->creatorid, strerror(-rc));
	if (d->mirror != NULL)
		rd_mirror_write_done(d->mirror, rc < 0 ? RD_ERR_AGAIN : 0);
}

static bool after_dump(struct sd_daemon *d, bool del, const struct rd_state_info *info);

static int mir_remove(void *user, const struct rd_state_info *info)
{
	struct sd_daemon *d = user;
	int rc;

	if (d->in_dump) /* the start-up read found an entry the cluster deleted */
		return after_dump(d, true, info) ? 0 : RD_ERR_NOMEM;
	rc = sd_ct_delete(d->ct, info);

	if (rc < 0) {
		dm_log(LOG_DEBUG, "conntrack delete of %016llx/%08x: %s",
		       (unsigned long long)info->id, info->creatorid, strerror(-rc));
		return RD_ERR_AGAIN;
	}
	return 0;
}

static int ct_dump(struct sd_daemon *d);

static int mir_dump(void *user, rd_time_t now)
{
	(void)now;
	return ct_dump(user);
}

/* The start-up read ended: which of the kernel's entries were ours. */
static void mir_dumped(void *user, int rc, uint32_t ours, rd_time_t now)
{
	struct sd_daemon *d = user;

	(void)now;
	if (rc < 0)
		dm_log(LOG_WARNING, "conntrack dump: %s", strerror(-rc));
	dm_log(LOG_NOTICE, "kernel table read: %u states of ours, %u states in all", ours,
	       rd_state_count(d->t));
}

/* ---------------------------------------------------------------------- */
/* Kernel events                                                           */

/*
 * A TCP entry we synchronise, seen without the be-liberal flag: set it, as
 * the peers' entries are written (ctmap.c). Our own entries are otherwise
 * the only strict ones of the pair, and when traffic moves between the
 * firewalls its two directions never move at the same instant: this
 * firewall then sees segments of a window that advanced through the other
 * one and marks them invalid (syncd(8), strict-own). The flag sticks, so
 * each entry is written once: a later event shows it set. Events without
 * TCP protoinfo (the kernel adds it only to state changes) say nothing.
 */
static void set_liberal(struct sd_daemon *d, const struct rd_state_info *info)
{
	int rc = sd_ct_set_liberal(d->ct, info);

	if (rc == 0) {
		d->stats[SD_OWN_LIBERAL]++;
	} else if (rc == -ENOENT) {
		d->stats[SD_OWN_LIBERAL_GONE]++; /* a short connection, already over */
	} else {
		d->stats[SD_OWN_LIBERAL_FAILED]++;
		dm_log(LOG_DEBUG, "conntrack be-liberal flag: %s", strerror(-rc));
	}
}

static void make_liberal(struct sd_daemon *d, const struct nf_conntrack *ct,
                         const struct rd_state_info *info)
{
	if (d->cfg.strict_own || !d->cfg.apply || info->wire.proto != IPPROTO_TCP ||
	    sd_ct_is_liberal(ct) != 0)
		return;
	if (!d->in_dump) {
		set_liberal(d, info);
		return;
	}
	if (!after_dump(d, false, info))
		d->stats[SD_OWN_LIBERAL_FAILED]++;
}

/* A request kept for the dump's end (a delete, or a be-liberal write); false: no memory. */
struct after_dump {
	bool del;
	struct rd_state_info info;
};

static bool after_dump(struct sd_daemon *d, bool del, const struct rd_state_info *info)
{
	if (d->after_n == d->after_cap) {
		size_t cap = d->after_cap ? 2 * d->after_cap : 256;
		struct after_dump *q = realloc(d->after_q, cap * sizeof(*q));

		if (q == NULL)
			return false;
		d->after_q = q;
		d->after_cap = cap;
	}
	d->after_q[d->after_n].del = del;
	d->after_q[d->after_n].info = *info;
	d->after_n++;
	return true;
}

/* Dump the kernel's table into on_ct, then write the be-liberal flags it queued. */
static int ct_dump(struct sd_daemon *d)
{
	struct rd_state_info info;
	int rc;

	d->in_dump = true;
	rc = sd_ct_dump(d->ct);
	d->in_dump = false;
	for (size_t i = 0; i < d->after_n; i++) {
		if (d->after_q[i].del) {
			int e = sd_ct_delete(d->ct, &d->after_q[i].info);
			if (e < 0)
				dm_log(LOG_DEBUG, "conntrack delete: %s", strerror(-e));
			continue;
		}
		memset(&info, 0, sizeof(info));
		info.wire = d->after_q[i].info.wire;
		set_liberal(d, &info);
	}
	d->after_n = 0;
	return rc;
}

/*
 * The filters (filter.h) decide whether an entry of ours starts being
 * synchronised: they judge the entries the mirror does not hold yet. One
 * it holds stays synchronised to its end (its updates and its destroy
 * pass), so that the peers never keep a state we stopped telling them
 * about (conntrackd users' pitfall: `State Accept { ESTABLISHED }` without
 * the closing states leaves the peers' copies to time out).
 */
static bool filter_pass(struct sd_daemon *d, const struct nf_conntrack *ct,
                        const struct rd_state_info *info)
{
	struct sd_filter_entry e = {0};

	const struct rd_state_key *k = &info->wire;

	if (d->cfg.filter.n == 0 || rd_state_lookup(d->t, k, RD_STATE_IN, 0, sd_now()))
		return true;
	/* The sync traffic is the mirror's to exclude (own_sync), not counted here. */
	if (d->cfg.mode == RD_IO_SYNC_SECURE
	        ? k->proto == IPPROTO_UDP && (k->port[0] == d->port || k->port[1] == d->port)
	        : k->proto == RD_PFSYNC_IPPROTO)
		return true;
	e.af = info->wire.af;
	e.naddr = 4;
	memcpy(e.addr[0], info->wire.addr[0], 16);
	memcpy(e.addr[1], info->wire.addr[1], 16);
	memcpy(e.addr[2], info->stack.addr[0], 16);
	memcpy(e.addr[3], info->stack.addr[1], 16);
	e.proto = info->wire.proto;
	e.zone = info->wire.rdomain;
	e.mark = nfct_attr_is_set(ct, ATTR_MARK) ? nfct_get_attr_u32(ct, ATTR_MARK) : 0;
	e.status = nfct_attr_is_set(ct, ATTR_STATUS) ? nfct_get_attr_u32(ct, ATTR_STATUS) : 0;
	e.tcp_state =
	    nfct_attr_is_set(ct, ATTR_TCP_STATE) ? nfct_get_attr_u8(ct, ATTR_TCP_STATE) : -1;
	return sd_filter_match(&d->cfg.filter, &e);
}

static void on_ct(void *user, int type, const struct nf_conntrack *ct)
{
	struct sd_daemon *d = user;
	struct rd_state_info info;
	int rc;

	if ((rc = sd_ct_to_state(ct, &info)) != 0) {
		_Static_assert(SD_UNMAPPED_TCPSTATE - SD_UNMAPPED_L3 == -SD_CTMAP_BADSTATE - 1,
		               "one counter for each sd_ctmap_err");
		d->stats[SD_UNMAPPED_L3 + (-rc - 1)]++;
		dm_log(LOG_DEBUG, "conntrack entry not synchronised: %s", sd_ctmap_strerror(rc));
		return;
	}
	if (sd_ct_labelled(d->ct, ct))
		info.flags |=
		    RD_STATE_F_REMOTE; /* our mark: written for a peer (redund/mirror.h) */
	else if (type != NFCT_T_DESTROY && !filter_pass(d, ct, &info))
		return;
	/* Before the change is sent (a known state), and after it made the state (a new one). */
	if (type != NFCT_T_DESTROY)
		sd_extsync_local(&d->xs, ct, &info);
	rc = rd_mirror_local(d->mirror,
	                     type == NFCT_T_DESTROY  ? RD_MIRROR_DESTROY
	                     : type == NFCT_T_UPDATE ? RD_MIRROR_UPDATE
	                                             : RD_MIRROR_NEW,
	                     &info, sd_now());
	if (rc == RD_MIRROR_INSERTED)
		sd_extsync_local(&d->xs, ct, &info);
	/* Synchronised (ours, or a peer's the bulk brought): liberal as the peers' copies. */
	if (rc == RD_MIRROR_INSERTED || rc == RD_MIRROR_UPDATED || rc == RD_MIRROR_KNOWN)
		make_liberal(d, ct, &info);
}

/* ---------------------------------------------------------------------- */
/* Transport                                                               */

static void update_out(struct sd_daemon *d)
{
	for (size_t i = 0; i < d->nlinks; i++) {
		struct sd_link *l = &d->links[i];
		bool want = rd_io_sync_pending(l->io) > 0;
		struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
		                         .data.ptr = &l->w};

		if (want == l->io_out)
			continue;
		if (epoll_ctl(d->loop.epfd, EPOLL_CTL_MOD, rd_io_sync_fd(l->io), &ev) == 0)
			l->io_out = want;
	}
}

/*
 * The limiter's reason for the lines a received packet caused (library
 * messages, our callbacks'): "sync packets refused (WHY)" per refusal, or
 * "sync packets accepted" (in plain mode anyone on the link sends those).
 */
static const char *input_reason(int rc)
{
	static struct {
		int rc;
		char text[96];
	} seen[32];
	static size_t nseen;

	if (rc == 0)
		return "sync packets accepted";
	for (size_t i = 0; i < nseen; i++)
		if (seen[i].rc == rc)
			return seen[i].text;
	if (nseen == sizeof(seen) / sizeof(seen[0]))
		return "sync packets refused";
	seen[nseen].rc = rc;
	snprintf(seen[nseen].text, sizeof(seen[nseen].text), "sync packets refused (%s)",
	         rd_strerror(rc));
	return seen[nseen++].text;
}

static void on_io(struct sd_daemon *d, struct sd_link *link, uint32_t events)
{
	struct rd_io_sync_msg msgs[RX_BATCH];
	rd_time_t start = sd_now();
	int n, i, rounds;

	if (events & EPOLLOUT)
		rd_io_sync_flush(link->io);
	if (!(events & EPOLLIN))
		return;
	/*
	 * Bounded in batches and in time, so neither a flood nor a bulk update
	 * (every state of it a write into the kernel) starves the timers, the
	 * kernel's events and the control socket: the socket stays readable and
	 * the loop comes back here after the others had their turn.
	 */
	for (rounds = 0; rounds < 64; rounds++) {
		rd_time_t now;

		n = rd_io_sync_recv(link->io, msgs, RX_BATCH);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			dm_log_limited("receive errors", LOG_WARNING, "receive: %s", strerror(-n));
			break;
		}
		now = sd_now();
		if (n > 0)
			link->heard = now;
		for (i = 0; i < n; i++) {
			int rc;

			if (seen_before(d, msgs[i].data, msgs[i].len)) {
				link->dups++;
				continue;
			}
			dm_log_hold();
			if (d->ch != NULL)
				rc = rd_sync_channel_input(d->ch, msgs[i].data, msgs[i].len, now);
			else
				rc = rd_sync_engine_input(d->eng, msgs[i].data, msgs[i].len, now);
			dm_log_release(input_reason(rc));
		}
		/*
		 * Acknowledgements due now go out before this turn's writes into
		 * the kernel (the loop's sd_ct_flush), not after them: the
		 * sender's window then reopens while we write, and a bulk
		 * pipelines instead of alternating between its two ends.
		 */
		if (d->ch != NULL && n > 0 && rd_sync_channel_expiry(d->ch) <= now)
			rd_sync_channel_handle_expiry(d->ch, now);
		flush_all(d);
		if (sd_now() - start >= RX_BUDGET)
			break;
	}
}

/* ---------------------------------------------------------------------- */
/* Status                                                                  */

static void json_counters(struct dm_buf *b, const char *name, const uint64_t *v, int n,
                          const char *(*namef)(int), bool comma)
{
	dm_buf_printf(b, "\"%s\":", name);
	dm_buf_json_counters(b, v, n, namef);
	dm_buf_printf(b, "%s", comma ? "," : "");
}

static void text_counters(struct dm_buf *b, const char *name, const uint64_t *v, int n,
                          const char *(*namef)(int))
{
	dm_buf_printf(b, "%s:", name);
	for (int i = 0; i < n; i++)
		if (v[i] != 0)
			dm_buf_printf(b, " %s %llu", namef(i), (unsigned long long)v[i]);
	dm_buf_printf(b, "\n");
}

static const char *sd_stat_name(int i)
{
	return sd_stat_names[i];
}

/* An int of the hold that is -1 until carpd first answered: null then. */
static void json_int_or_null(struct dm_buf *b, const char *name, int v)
{
	if (v < 0)
		dm_buf_printf(b, "\"%s\":null,", name);
	else
		dm_buf_printf(b, "\"%s\":%d,", name, v);
}

/* "carpd":{...}, the hold on carpd and its counters (followed by a comma). */
static void json_hold(struct sd_daemon *d, struct dm_buf *b)
{
	const struct sd_hold *h = &d->hold;

	if (!d->hold_on) {
		dm_buf_printf(b, "\"carpd\":{\"control\":null},");
		return;
	}
	dm_buf_printf(b, "\"carpd\":{\"control\":");
	dm_buf_json_str(b, d->cfg.carpd_control);
	dm_buf_printf(b, ",\"holder\":\"%s\",\"group\":", SD_HOLD_HOLDER);
	dm_buf_json_str(b, h->group);
	dm_buf_printf(b, ",\"wanted\":%d,", h->wanted);
	json_int_or_null(b, "stated", h->stated);
	json_int_or_null(b, "applied", h->applied);
	dm_buf_printf(b, "\"confirmed\":%s,\"in_flight\":%s,\"failing\":%u,\"instance\":",
	              h->confirmed ? "true" : "false", h->inflight ? "true" : "false", h->streak);
	if (h->instance[0] != '\0')
		dm_buf_json_str(b, h->instance);
	else
		dm_buf_printf(b, "null");
	dm_buf_printf(b, ",");
	json_int_or_null(b, "masters", h->masters);
	dm_buf_printf(b, "\"last_error\":");
	if (h->last_error[0] != '\0')
		dm_buf_json_str(b, h->last_error);
	else
		dm_buf_printf(b, "null");
	for (int i = 0; i < SD_HOLD_STAT_MAX; i++)
		dm_buf_printf(b, ",\"%s\":%llu", sd_hold_stat_name(i),
		              (unsigned long long)h->stats[i]);
	dm_buf_printf(b, "},");
}

static void text_hold(struct sd_daemon *d, struct dm_buf *b)
{
	const struct sd_hold *h = &d->hold;

	if (!d->hold_on) {
		dm_buf_printf(b, "carpd hold: none (no carpd-control)\n");
		return;
	}
	dm_buf_printf(b, "carpd hold: %s %s on %s: wanted %d", SD_HOLD_HOLDER, h->group,
	              d->cfg.carpd_control, h->wanted);
	if (h->applied >= 0)
		dm_buf_printf(b, ", applied %d%s, carpd instance %s, %d vhost(s) MASTER",
		              h->applied, h->confirmed ? " (confirmed)" : " (not confirmed)",
		              h->instance, h->masters);
	else
		dm_buf_printf(b, ", never confirmed");
	dm_buf_printf(b, "\n");
	if (h->last_error[0] != '\0')
		dm_buf_printf(b, "carpd hold: last error: %s%s\n", h->last_error,
		              h->streak > 0 ? " (failing now)" : "");
	text_counters(b, "carpd", h->stats, SD_HOLD_STAT_MAX, sd_hold_stat_name);
}

/* "links":[...]: each sync link (followed by a comma). */
static void json_links(struct sd_daemon *d, struct dm_buf *b, rd_time_t now)
{
	dm_buf_printf(b, "\"links\":[");
	for (size_t i = 0; i < d->nlinks; i++) {
		const struct sd_link *l = &d->links[i];
		uint64_t io[RD_IO_SYNC_STAT_COUNT];

		rd_io_sync_stats(l->io, io);
		dm_buf_printf(b, "%s{\"interface\":", i ? "," : "");
		dm_buf_json_str(b, l->name);
		dm_buf_printf(b, ",\"carries\":%s,\"running\":%s,\"heard_ms_ago\":",
		              i == d->active ? "true" : "false", l->running ? "true" : "false");
		if (l->heard != 0)
			dm_buf_printf(b, "%llu", (unsigned long long)((now - l->heard) / RD_MSEC));
		else
			dm_buf_printf(b, "null");
		dm_buf_printf(b,
		              ",\"activations\":%llu,\"dups\":%llu,\"ipackets\":%llu,"
		              "\"opackets\":%llu}",
		              (unsigned long long)l->activations, (unsigned long long)l->dups,
		              (unsigned long long)io[RD_IO_SYNC_STAT_IPACKETS],
		              (unsigned long long)io[RD_IO_SYNC_STAT_OPACKETS]);
	}
	dm_buf_printf(b, "],");
}

static void text_links(struct sd_daemon *d, struct dm_buf *b, rd_time_t now)
{
	if (d->nlinks < 2)
		return;
	for (size_t i = 0; i < d->nlinks; i++) {
		const struct sd_link *l = &d->links[i];
		uint64_t io[RD_IO_SYNC_STAT_COUNT];

		rd_io_sync_stats(l->io, io);
		dm_buf_printf(b, "link %s: %s, %s, ", l->name,
		              i == d->active ? "carries" : "standby", l->running ? "up" : "down");
		if (l->heard != 0)
			dm_buf_printf(b, "peer heard %llu ms ago",
			              (unsigned long long)((now - l->heard) / RD_MSEC));
		else
			dm_buf_printf(b, "no peer heard");
		dm_buf_printf(b, ", activations %llu dups %llu ipackets %llu opackets %llu\n",
		              (unsigned long long)l->activations, (unsigned long long)l->dups,
		              (unsigned long long)io[RD_IO_SYNC_STAT_IPACKETS],
		              (unsigned long long)io[RD_IO_SYNC_STAT_OPACKETS]);
	}
}

/* "filter":{...}: the decisions and each rule's matches (followed by a comma). */
static void json_filter(const struct sd_filter *f, struct dm_buf *b)
{
	dm_buf_printf(b, "\"filter\":{\"passed\":%llu,\"ignored\":%llu,\"not_accepted\":{",
	              (unsigned long long)f->passed, (unsigned long long)f->ignored);
	for (int k = 0; k < SD_F_KINDS; k++)
		dm_buf_printf(b, "%s\"%s\":%llu", k ? "," : "", sd_filter_kind_name(k),
		              (unsigned long long)f->not_accepted[k]);
	dm_buf_printf(b, "},\"rules\":[");
	for (size_t i = 0; i < f->n; i++) {
		dm_buf_printf(b, "%s{\"rule\":", i ? "," : "");
		dm_buf_json_str(b, f->rules[i].text);
		dm_buf_printf(b, ",\"matched\":%llu}", (unsigned long long)f->rules[i].matched);
	}
	dm_buf_printf(b, "]},");
}

static void text_filter(const struct sd_filter *f, struct dm_buf *b)
{
	if (f->n == 0) {
		dm_buf_printf(b, "filter: none (every entry synchronised)\n");
		return;
	}
	dm_buf_printf(b, "filter: passed %llu ignored %llu", (unsigned long long)f->passed,
	              (unsigned long long)f->ignored);
	for (int k = 0; k < SD_F_KINDS; k++)
		if (f->not_accepted[k] != 0)
			dm_buf_printf(b, " not_accepted_%s %llu", sd_filter_kind_name(k),
			              (unsigned long long)f->not_accepted[k]);
	dm_buf_printf(b, "\n");
	for (size_t i = 0; i < f->n; i++)
		dm_buf_printf(b, "filter rule %s: matched %llu\n", f->rules[i].text,
		              (unsigned long long)f->rules[i].matched);
}

int sd_daemon_status(struct sd_daemon *d, bool json, char **out)
{
	struct dm_buf b = {0};
	const char *mode = d->cfg.mode == RD_IO_SYNC_SECURE ? "secure" : "plain";
	uint64_t zero[RD_SYNC_STAT_COUNT] = {0}, stats[SD_STAT_MAX];
	uint64_t chs[RD_SYNC_STAT_COUNT] = {0}, ms[RD_MIRROR_STAT_COUNT];
	uint64_t cas[RD_SYNC_CARRY_STAT_COUNT] = {0};
	uint64_t es[RD_SYNC_ENGINE_STAT_COUNT], ps[RD_PFSYNC_STAT_COUNT];
	const uint64_t *cts = d->ct != NULL ? sd_ct_stats(d->ct) : zero;
	uint64_t ios[RD_IO_SYNC_STAT_COUNT];
	memset(ios, 0, sizeof(ios));
	for (size_t i = 0; i < d->nlinks; i++) { /* the links' transports together */
		uint64_t one[RD_IO_SYNC_STAT_COUNT];

		rd_io_sync_stats(d->links[i].io, one);
		for (int k = 0; k < RD_IO_SYNC_STAT_COUNT; k++)
			ios[k] += one[k];
	}
	bool bulk = rd_sync_engine_bulk_pending(d->eng);
	int demotion = rd_sync_engine_demotion(d->eng);

	if (d->ch != NULL)
		rd_sync_channel_stats(d->ch, chs);
	if (d->carry != NULL)
		rd_sync_carry_stats(d->carry, cas);
	rd_sync_engine_stats(d->eng, es);
	rd_sync_engine_pfsync_stats(d->eng, ps);
	/* The counters the mirror took over keep their names here. */
	rd_mirror_stats(d->mirror, ms);
	memcpy(stats, d->stats, sizeof(stats));
	stats[SD_LOCAL_NEW] = ms[RD_MIRROR_STAT_LOCAL_NEW];
	stats[SD_LOCAL_UPDATE] = ms[RD_MIRROR_STAT_LOCAL_UPDATE];
	stats[SD_LOCAL_DESTROY] = ms[RD_MIRROR_STAT_LOCAL_DESTROY];
	stats[SD_OWN_SYNC] = ms[RD_MIRROR_STAT_EXCLUDED];
	stats[SD_REFUSED] = ms[RD_MIRROR_STAT_REFUSED_INVAL] + ms[RD_MIRROR_STAT_REFUSED_LIMIT] +
	                    ms[RD_MIRROR_STAT_REFUSED_EXIST] + ms[RD_MIRROR_STAT_REFUSED_NOMEM];
	stats[SD_REFRESHED] = ms[RD_MIRROR_STAT_REFRESHED];
	stats[SD_VANISHED] = ms[RD_MIRROR_STAT_VANISHED];

	if (json) {
		dm_buf_printf(&b, "{\"mode\":\"%s\",\"creatorid\":\"%08x\",\"interface\":", mode,
		              d->creatorid);
		dm_buf_json_str(&b, d->cfg.ifname);
		dm_buf_printf(&b, ",\"states\":%u,\"bulk_pending\":%s,\"demotion\":%d,",
		              rd_state_count(d->t), bulk ? "true" : "false", demotion);
		json_hold(d, &b);
		json_filter(&d->cfg.filter, &b);
		json_links(d, &b, sd_now());
		json_counters(&b, "engine", es, RD_SYNC_ENGINE_STAT_COUNT, rd_sync_engine_stat_name,
		              true);
		json_counters(&b, "pfsync", ps, RD_PFSYNC_STAT_COUNT, rd_pfsync_stat_name, true);
		json_counters(&b, "channel", chs, RD_SYNC_STAT_COUNT, rd_sync_stat_name, true);
		json_counters(&b, "carry", cas, RD_SYNC_CARRY_STAT_COUNT, rd_sync_carry_stat_name,
		              true);
		json_counters(&b, "transport", ios, RD_IO_SYNC_STAT_COUNT, rd_io_sync_stat_name,
		              true);
		json_counters(&b, "conntrack", cts, SD_CT_STAT_MAX, sd_ct_stat_name, true);
		json_counters(&b, "mirror", ms, RD_MIRROR_STAT_COUNT, rd_mirror_stat_name, true);
		json_counters(&b, "daemon", stats, SD_STAT_MAX, sd_stat_name, true);
		json_counters(&b, "control", dm_control_stats(d->ctl), DM_CTL_STAT_COUNT,
		              dm_control_stat_name, true);
		dm_buf_printf(&b,
		              "\"reloads\":{\"applied\":%" PRIu64 ",\"refused\":%" PRIu64
		              ",\"last_refusal\":",
		              d->reloads, d->reloads_refused);
		if (d->reload_refusal[0] != '\0')
			dm_buf_json_str(&b, d->reload_refusal);
		else
			dm_buf_printf(&b, "null");
		dm_buf_printf(&b, "}}\n");
	} else {
		dm_buf_printf(&b, "syncd %s mode, creatorid %08x, %u states%s\n", mode,
		              d->creatorid, rd_state_count(d->t),
		              !bulk          ? ""
		              : demotion > 0 ? ", join bulk update running"
		                             : ", repair bulk update running");
		text_hold(d, &b);
		text_filter(&d->cfg.filter, &b);
		text_links(d, &b, sd_now());
		text_counters(&b, "engine", es, RD_SYNC_ENGINE_STAT_COUNT,
		              rd_sync_engine_stat_name);
		text_counters(&b, "pfsync", ps, RD_PFSYNC_STAT_COUNT, rd_pfsync_stat_name);
		if (d->ch != NULL)
			text_counters(&b, "channel", chs, RD_SYNC_STAT_COUNT, rd_sync_stat_name);
		if (d->carry != NULL)
			text_counters(&b, "carry", cas, RD_SYNC_CARRY_STAT_COUNT,
			              rd_sync_carry_stat_name);
		text_counters(&b, "transport", ios, RD_IO_SYNC_STAT_COUNT, rd_io_sync_stat_name);
		text_counters(&b, "conntrack", cts, SD_CT_STAT_MAX, sd_ct_stat_name);
		text_counters(&b, "mirror", ms, RD_MIRROR_STAT_COUNT, rd_mirror_stat_name);
		text_counters(&b, "daemon", stats, SD_STAT_MAX, sd_stat_name);
		text_counters(&b, "control", dm_control_stats(d->ctl), DM_CTL_STAT_COUNT,
		              dm_control_stat_name);
		dm_buf_printf(&b, "reloads: applied %" PRIu64 " refused %" PRIu64 "%s%s\n",
		              d->reloads, d->reloads_refused,
		              d->reload_refusal[0] ? ", last refused: " : "", d->reload_refusal);
	}
	if (b.oom) {
		free(b.p);
		*out = strdup("out of memory");
		return -1;
	}
	*out = b.p;
	return 0;
}

/* An operator's bulk: a repair, which never demotes (this node serves with its states). */
int sd_daemon_bulk(struct sd_daemon *d, char **out)
{
	rd_sync_engine_bulk_repair(d->eng, sd_now());
	*out = strdup("bulk update requested (a repair: no demotion)\n");
	return 0;
}

/*
 * conntrackd's -c: with --no-apply, write every peer's state syncd holds
 * into the kernel, one after another in this one turn of the loop (no
 * kernel event is read in between). An entry that exists is updated, so a
 * second commit is harmless. States of ours are the kernel's already.
 * The entries carry our label (when on), as apply mode's do.
 */
int sd_daemon_commit(struct sd_daemon *d, char **out)
{
	struct rd_state_iter it;
	struct rd_state_info info;
	struct rd_state *st;
	rd_time_t now = sd_now(), done;
	uint64_t ok = 0, failed = 0;
	int first = 0;
	char buf[256];

	if (d->cfg.apply) {
		*out = strdup("nothing to commit: syncd writes the peers' states as they come "
		              "(commit is for --no-apply)\n");
		return -1;
	}
	d->stats[SD_COMMITS]++;
	rd_state_iter_init(&it);
	while ((st = rd_state_iter_next(d->t, &it)) != NULL) {
		int rc;

		if (rd_state_expires(d->t, st) <= now)
			continue;
		rd_state_export(d->t, st, now, &info);
		if (info.creatorid == d->creatorid)
			continue;
		rc = sd_extsync_write(&d->xs, &info, false); /* with its mark, labels, helper */
		if (rc == 0) {
			ok++;
			continue;
		}
		failed++;
		if (first == 0)
			first = rc;
	}
	done = sd_now();
	d->stats[SD_COMMITTED] += ok;
	d->stats[SD_COMMIT_FAILED] += failed;
	dm_log(failed ? LOG_WARNING : LOG_NOTICE,
	       "commit: %llu peers' states written into the kernel in %.1f ms%s%s",
	       (unsigned long long)ok, (double)(done - now) / RD_MSEC, failed ? ", refused: " : "",
	       failed ? strerror(-first) : "");
	snprintf(buf, sizeof(buf), "committed %llu states (%llu refused%s%s) in %.1f ms\n",
	         (unsigned long long)ok, (unsigned long long)failed, failed ? ", first: " : "",
	         failed ? strerror(-first) : "", (double)(done - now) / RD_MSEC);
	*out = strdup(buf);
	return failed ? -1 : 0;
}

/* The control socket's requests (redundctl sync ...): status | status json | bulk | commit. */
static int control_request(void *user, char *line, char **body)
{
	struct sd_daemon *d = user;
	char *w[2];
	int n = dm_words(line, w, 2);

	if (n >= 1 && strcmp(w[0], "status") == 0 && (n == 1 || strcmp(w[1], "json") == 0))
		return sd_daemon_status(d, n == 2, body);
	if (n == 1 && strcmp(w[0], "bulk") == 0)
		return sd_daemon_bulk(d, body);
	if (n == 1 && strcmp(w[0], "commit") == 0)
		return sd_daemon_commit(d, body);
	*body = strdup("unknown request (expected status [json], bulk or commit)");
	return -1;
}

/* ---------------------------------------------------------------------- */
/* Loop                                                                    */

static void arm_timer(struct sd_daemon *d)
{
	rd_time_t next = rd_mirror_expiry(d->mirror), e;

	e = rd_sync_engine_expiry(d->eng);
	if (e < next)
		next = e;
	if (d->ch != NULL && (e = rd_sync_channel_expiry(d->ch)) < next)
		next = e;
	if (d->hold_on && (e = sd_hold_next(&d->hold)) < next)
		next = e;
	if (d->labels != NULL && d->labels_due < next)
		next = d->labels_due;
	if (d->nlinks > 1 && d->links_due < next)
		next = d->links_due;
	dm_loop_arm(&d->loop, next); /* the engines' clock is the timerfd's */
}

static void on_timer(struct sd_daemon *d)
{
	rd_time_t now = sd_now();

	dm_loop_timer_read(&d->loop);
	if (d->labels != NULL && now >= d->labels_due) {
		/* A ruleset reload (flush ruleset) removes our rule: put it back. */
		char err[SD_ERR_LEN];
		bool installed;

		if (sd_labels_keep(d->labels, &installed, err) != 0)
			dm_log(LOG_WARNING, "conntrack labels: %s", err);
		else if (installed)
			dm_log(LOG_NOTICE, "conntrack labels: table inet " SD_LABELS_TABLE
			                   " was gone (ruleset reloaded?), put back");
		d->labels_due = now + SD_LABELS_CHECK;
	}
	if (d->nlinks > 1 && now >= d->links_due)
		links_check(d, now);
	/*
	 * The start-up read first, if our join ended since (its BUS END came
	 * in this turn): a bulk answer we deferred until then starts below,
	 * and must carry the kernel's states of ours.
	 */
	if (rd_mirror_start_pending(d->mirror) && rd_mirror_expiry(d->mirror) <= now)
		rd_mirror_handle_expiry(d->mirror, now);
	rd_sync_engine_handle_expiry(d->eng, now);
	if (d->ch != NULL)
		rd_sync_channel_handle_expiry(d->ch, now);
	if (rd_mirror_expiry(d->mirror) <= now)
		rd_mirror_handle_expiry(d->mirror, now);
}

static void on_ct_readable(struct sd_daemon *d)
{
	if (sd_ct_read(d->ct) == -ENOBUFS) {
		/* Events were lost: read the whole table again (updates what changed). */
		dm_log(LOG_WARNING, "conntrack events lost: reading the kernel table again");
		rd_mirror_resync(d->mirror, sd_now());
	}
}

static void on_signal(struct sd_daemon *d)
{
	int sig;

	while ((sig = dm_loop_signal_read(&d->loop)) != 0) {
		if (sig == SIGTERM || sig == SIGINT) {
			dm_log(LOG_NOTICE, "%s: exiting", strsignal(sig));
			dm_notify("STOPPING=1");
			d->quitting = true;
		} else if (sig == SIGHUP) {
			/* After the batch: a reload may change where datagrams go. */
			d->reload_pending = true;
		} else if (sig == SIGUSR1) {
			char *s = NULL;

			if (sd_daemon_status(d, false, &s) == 0)
				dm_log(LOG_NOTICE, "%s", s);
			free(s);
		}
	}
}

static void on_event(void *user, struct dm_watch *w, uint32_t events)
{
	struct sd_daemon *d = user;

	switch (w->kind) {
	case DM_W_TIMER:
		on_timer(d);
		break;
	case DM_W_SIGNAL:
		on_signal(d);
		break;
	case SD_W_IO:
		on_io(d, w->obj, events);
		break;
	case SD_W_CT:
		on_ct_readable(d);
		break;
	case SD_W_HOLD:
		on_hold(d, events);
		break;
	}
}

int sd_daemon_after_fork(struct sd_daemon *d)
{
	return dm_loop_after_fork(&d->loop);
}

/* ---------------------------------------------------------------------- */
/* SIGHUP: keys and peers again                                            */

static void reload_refuse(struct sd_daemon *d, const char *why)
{
	d->reloads_refused++;
	snprintf(d->reload_refusal, sizeof(d->reload_refusal), "%s", why);
	dm_log(LOG_ERR, "reload refused, running configuration kept: %s", why);
}

static bool addrs_equal(const struct rd_addr *a, const struct rd_addr *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rd_addr_cmp(&a[i], &b[i]) != 0)
			return false;
	return true;
}

static bool str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

/* The keywords a reload does not apply that changed: named in buf ("" if none). */
static void reload_unapplied(const struct sd_config *o, const struct sd_config *n, char *buf,
                             size_t len)
{
	struct {
		bool changed;
		const char *name;
	} k[] = {
	    {strcmp(o->ifname, n->ifname) != 0, "interface"},
	    {rd_addr_cmp(&o->group, &n->group) != 0, "group"},
	    {rd_addr_cmp(&o->local, &n->local) != 0, "local"},
	    {o->port != n->port, "port"},
	    {o->creatorid != n->creatorid, "creatorid"},
	    {str_differs(o->state_dir, n->state_dir), "state-dir"},
	    {o->label != n->label, "label"},
	    {o->mtu != n->mtu, "mtu"},
	    {o->limit != n->limit, "limit"},
	    {o->maxupd != n->maxupd, "maxupd"},
	    {o->bulk_rate != n->bulk_rate, "bulk-rate"},
	    {o->ct_batch != n->ct_batch, "ct-batch"},
	    {o->bulk != n->bulk, "no-bulk"},
	    {o->check_ttl != n->check_ttl, "check-ttl"},
	    {o->apply != n->apply, "no-apply"},
	    {o->strict_own != n->strict_own, "strict-own"},
	    {o->reserve != n->reserve, "reserve"},
	    {str_differs(o->carpd_control, n->carpd_control), "carpd-control"},
	    {str_differs(o->demote_group, n->demote_group), "demote-group"},
	    {str_differs(o->control, n->control), "control"},
	};
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (k[i].changed && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
			                        k[i].name);
}

/*
 * SIGHUP: the command line and the --config file read again, as at start
 * (sd_options_parse: every keyword and key file checked). Applied: the key
 * files (rotation: rd_sync_channel_set_keys) and the unicast peers
 * (rd_io_sync_set_peers), all or nothing; the mode, or multicast against
 * unicast, changed refuses the reload; any other keyword changed is named
 * as needing a restart and keeps its running value.
 */
static void reload(struct sd_daemon *d)
{
	struct sd_config n;
	struct rd_sync_key keys[SD_MAX_KEYS];
	size_t nkeys = 0, i;
	char err[SD_ERR_LEN], unapplied[256];
	bool peers_changed;
	int rc;

	if (d->argv == NULL)
		return;
	if (sd_options_parse(d->argc, d->argv, &n, err) != 0) {
		reload_refuse(d, err);
		goto out;
	}
	if (n.mode != d->cfg.mode) {
		reload_refuse(d, "mode changed: needs a restart");
		goto out;
	}
	if ((n.npeers == 0) != (d->cfg.npeers == 0)) {
		reload_refuse(d, "multicast and unicast peers swapped: needs a restart");
		goto out;
	}
	/* Every check before any change: the keys read (they may have gone meanwhile). */
	if (n.mode == RD_IO_SYNC_SECURE && sd_keys_load(&n, keys, &nkeys, err) < 0) {
		reload_refuse(d, err);
		goto out;
	}
	peers_changed = n.npeers != d->cfg.npeers || !addrs_equal(n.peers, d->cfg.peers, n.npeers);
	if (peers_changed) {
		rd_io_sync_flush(d->io);
		rc = rd_io_sync_set_peers(d->io, n.peers, n.npeers);
		if (rc < 0) {
			reload_refuse(d, rc == -EBUSY ? "peer: datagrams still queued for the old "
			                                "peers (send SIGHUP again)"
			                              : "peer: expected addresses of the running "
			                                "family (another family needs a restart)");
			goto out;
		}
	}
	if (d->ch != NULL) {
		rc = rd_sync_channel_set_keys(d->ch, keys, nkeys, sd_send_keyid(&n, keys));
		if (rc != 0) {
			/* Checked by sd_keys_load: not expected; the peers changed already. */
			dm_log(LOG_ERR, "reload: keys not replaced: %s", rd_strerror(rc));
		}
	}
	reload_unapplied(&d->cfg, &n, unapplied, sizeof(unapplied));
	if (unapplied[0] != '\0')
		dm_log(LOG_WARNING,
		       "reload: %s changed: needs a restart (running with the old value)",
		       unapplied);
	/* What was applied becomes the running configuration's. */
	for (i = 0; i < SD_MAX_KEYS; i++) {
		char *t = d->cfg.keyfiles[i];

		d->cfg.keyfiles[i] = n.keyfiles[i];
		n.keyfiles[i] = t;
	}
	{
		size_t t = d->cfg.nkeyfiles;

		d->cfg.nkeyfiles = n.nkeyfiles;
		n.nkeyfiles = t;
	}
	d->cfg.send_keyid = n.send_keyid;
	d->cfg.send_keyid_set = n.send_keyid_set;
	memcpy(d->cfg.peers, n.peers, sizeof(d->cfg.peers));
	d->cfg.npeers = n.npeers;
	d->reloads++;
	d->reload_refusal[0] = '\0';
	{
		struct dm_buf ids = {0};

		for (i = 0; i < nkeys; i++)
			dm_buf_printf(&ids, "%s%" PRIu32, i ? ", " : "", keys[i].id);
		dm_log(LOG_NOTICE,
		       "configuration reloaded%s%s: %zu key(s)%s%s%s, sealing with key id %" PRIu32
		       ", %zu peer(s)%s",
		       d->cfg.config_file ? " from " : "",
		       d->cfg.config_file ? d->cfg.config_file : "", nkeys, nkeys ? " (ids " : "",
		       ids.p && !ids.oom ? ids.p : "", nkeys ? ")" : "",
		       nkeys ? sd_send_keyid(&d->cfg, keys) : 0, d->cfg.npeers,
		       peers_changed ? " (changed)" : "");
		free(ids.p);
	}
out:
	sodium_memzero(keys, sizeof(keys));
	sd_config_free(&n);
}

void sd_daemon_set_args(struct sd_daemon *d, int argc, char **argv)
{
	d->argc = argc;
	d->argv = argv;
}

/*
 * The service manager's STATUS= line (dm_notify_status sends it when it
 * changed): the mode, the live peers, whether the start-up bulk is on.
 */
static void notify_status(struct sd_daemon *d)
{
	char s[DM_NOTIFY_STATUS_MAX];
	uint32_t ids[16];
	size_t live = d->ch ? rd_sync_channel_peers(d->ch, sd_now(), ids, 16) : d->cfg.npeers;

	snprintf(s, sizeof(s), "%s mode, creatorid %08x, %zu%s %s, %s",
	         d->cfg.mode == RD_IO_SYNC_SECURE ? "secure" : "plain", d->creatorid, live,
	         live == 16 ? "+" : "", d->ch ? "live peers" : "peers configured",
	         rd_mirror_start_pending(d->mirror) ? "waiting for the peers' states" : "in sync");
	dm_notify_status(s);
}

int sd_daemon_run(struct sd_daemon *d)
{
	int n;

	while (!d->quitting) {
		/* The turn's writes into the kernel, before waiting for more work. */
		if (d->ct != NULL)
			sd_ct_flush(d->ct);
		notify_status(d);
		hold_tick(d, sd_now());
		arm_timer(d);
		update_out(d);
		n = dm_loop_wait(&d->loop, d->ctl, -1, on_event, d);
		if (n < 0)
			return 1;
		if (n == 0)
			continue; /* interrupted */
		/* The start-up read once the peers' bulk ended (the mirror's rule). */
		if (rd_mirror_start_pending(d->mirror) && rd_mirror_expiry(d->mirror) <= sd_now())
			rd_mirror_handle_expiry(d->mirror, sd_now());
		flush_all(d);
		if (d->reload_pending && !d->quitting) {
			d->reload_pending = false;
			dm_notify_reloading();
			reload(d);
			dm_notify("READY=1");
		}
	}
	/* Send what is queued before leaving (deletes of the last moments). */
	if (d->ct != NULL)
		sd_ct_flush(d->ct);
	rd_sync_engine_flush(d->eng, sd_now());
	flush_all(d);
	hold_release(d);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Set-up                                                                  */

static int load_keys(struct sd_daemon *d, struct rd_sync_key *keys, size_t *nkeys)
{
	char err[SD_ERR_LEN];

	if (sd_keys_load(&d->cfg, keys, nkeys, err) < 0) {
		dm_log(LOG_ERR, "%s", err);
		return -1;
	}
	return 0;
}

static int open_transport(struct sd_daemon *d, size_t *payload)
{
	struct rd_io_sync_config ic = {0};
	int rc;

	ic.mode = d->cfg.mode;
	ic.multicast = d->cfg.npeers == 0;
	ic.group = d->cfg.group;
	memcpy(ic.peers, d->cfg.peers, sizeof(ic.peers));
	ic.npeers = d->cfg.npeers;
	ic.local = d->cfg.local;
	ic.port = d->cfg.port;
	ic.check_ttl = d->cfg.check_ttl;
	d->port = d->cfg.port ? d->cfg.port : RD_SYNC_UDP_PORT;
	for (size_t i = 0; i < d->nlinks; i++) {
		struct sd_link *l = &d->links[i];

		ic.ifindex = l->ifindex;
		rc = rd_io_sync_open(&ic, &l->io);
		if (rc < 0) {
			dm_log(LOG_ERR, "%s transport%s%s: %s",
			       d->cfg.mode == RD_IO_SYNC_SECURE ? "UDP" : "raw",
			       l->name[0] ? " on " : "", l->name, strerror(-rc));
			return rc;
		}
		l->w.kind = SD_W_IO;
		l->w.obj = l;
		if ((rc = dm_loop_add(&d->loop, rd_io_sync_fd(l->io), &l->w)) < 0)
			return rc;
	}
	d->io = d->links[0].io;
	d->links[0].activations = 1;
	/* IP (+ UDP) headers come out of the link MTU. */
	*payload = (d->cfg.mtu ? d->cfg.mtu : 1500) - rd_io_sync_overhead(d->io);
	return 0;
}

static int open_channel(struct sd_daemon *d, size_t mtu, const struct rd_sync_engine_config *ec)
{
	struct rd_sync_key keys[SD_MAX_KEYS];
	struct rd_sync_carry_config carry;
	struct rd_sync_channel_config cc = {0};
	struct timespec ts;
	size_t nkeys = 0;
	int rc;

	if (load_keys(d, keys, &nkeys) < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	cc.sender_id = d->creatorid;
	/*
	 * Above anything a previous run sent under the same keys (see sync.h):
	 * the clock, kept above the last start's even if it was stepped back.
	 */
	{
		char err[SD_ERR_LEN];
		const char *dir = d->cfg.state_dir ? d->cfg.state_dir : SD_DEFAULT_STATE_DIR;

		cc.seq_start = sd_incarnation(
		    dir, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, err);
		bool gcm = false;

		for (size_t i = 0; i < nkeys; i++)
			gcm = gcm || keys[i].aead == RD_SYNC_AEAD_AES256GCM;
		if (err[0] != '\0' && gcm && d->id_stable) {
			/*
			 * The nonce is (creatorid, sequence number): with the same
			 * creatorid and no incarnation kept, a run after the clock
			 * was set back would repeat nonces, and GCM then leaks its
			 * authentication key. Refuse rather than risk it.
			 */
			dm_log(
			    LOG_ERR,
			    "incarnation not kept (%s): with an aes256gcm key and a kept creatorid "
			    "a restart after the clock was set back would reuse AES-GCM nonces "
			    "(see syncd(8)); make state-dir writable",
			    err);
			return -1;
		}
		if (err[0] != '\0')
			dm_log(d->cfg.state_dir ? LOG_WARNING : LOG_DEBUG,
			       "incarnation not kept (%s): a restart after the clock was set back "
			       "would look older to the peers",
			       err);
	}
	cc.keys = keys;
	cc.nkeys = nkeys;
	cc.send_key_id = sd_send_keyid(&d->cfg, keys);
	cc.mtu = mtu;
	if (d->nlinks > 1)
		cc.hello_interval = SD_LINK_HELLO; /* each link's liveness (links_check) */
	cc.cb.send = ch_send;
	cc.cb.lost = ch_lost;
	cc.cb.user = d;
	cc.log.fn = dm_log_hook;
	cc.log.level = LOG_INFO;
	/* The engine carried by the channel: sends, receives, mtu, bulk_reconcile (sync_carry.h).
	 */
	rd_sync_carry_config_default(&carry);
	carry.channel = cc;
	carry.engine = *ec;
	d->xs.t = d->t;
	d->xs.creatorid = d->creatorid;
	sd_extsync_carry(&d->xs, &carry.ext);
	rc = rd_sync_carry_new(&carry, &d->carry);
	sodium_memzero(keys, sizeof(keys));
	if (rc != 0) {
		dm_log(LOG_ERR, "secure channel: %s (is send-keyid one of the keys?)",
		       rd_strerror(rc));
		return -1;
	}
	d->ch = rd_sync_carry_channel(d->carry);
	d->eng = rd_sync_carry_engine(d->carry);
	d->xs.carry = d->carry;
	return 0;
}

/*
 * The mirror between the engine and the kernel's table. Class timeouts at
 * least as long as the kernel's (tcp established 5 days, the others at most
 * 10 minutes), so the kernel's remaining time always fits: the mirror then
 * expires with the kernel. The sync traffic excluded: secure mode's UDP
 * port, or raw pfsync's protocol 240.
 */
static int open_mirror(struct sd_daemon *d)
{
	struct rd_mirror_config mc;
	int rc;

	rd_mirror_config_default(&mc);
	mc.table = d->t;
	mc.engine = d->eng;
	mc.cb.user = d;
	mc.cb.read = mir_read;
	mc.cb.write = mir_write;
	mc.cb.remove = mir_remove;
	mc.cb.dump = mir_dump;
	mc.cb.dumped = mir_dumped;
	if (d->cfg.mode == RD_IO_SYNC_SECURE) {
		mc.exclude.proto = IPPROTO_UDP;
		mc.exclude.port = d->port;
	}
	mc.write = d->cfg.apply;
	for (int i = 0; i <= RD_STATE_TM_OTHER_MULTIPLE; i++)
		mc.timeouts[i] = 600;
	mc.timeouts[RD_STATE_TM_TCP_ESTABLISHED] = 432000;
	mc.log.fn = dm_log_hook;
	mc.log.level = LOG_INFO;
	rc = rd_mirror_new(&mc, &d->mirror);
	if (rc != 0) {
		dm_log(LOG_ERR, "state mirror: %s", rd_strerror(rc));
		return -EINVAL;
	}
	/* A peer's state without time left is written with the class's timeout. */
	for (int i = 0; i < RD_STATE_TM_COUNT; i++)
		d->deftimeouts[i] = rd_state_get_timeout(d->t, (unsigned)i);
	return 0;
}

int sd_daemon_new(struct sd_config *cfg, struct sd_daemon **out)
{
	struct rd_state_config sc;
	struct rd_sync_engine_config ec = {0};
	struct sd_daemon *d;
	sigset_t mask;
	size_t payload;
	int rc;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	d->loop.epfd = d->loop.tfd = d->loop.sfd = -1;
	d->ifsock = -1;
	d->wct.kind = SD_W_CT;
	d->whold.kind = SD_W_HOLD;
	d->hold_fd = -1;
	*out = d;

	d->nlinks = 1 + d->cfg.nmore;
	for (size_t i = 0; i < d->nlinks; i++) {
		struct sd_link *l = &d->links[i];

		memcpy(l->name, i ? d->cfg.more_ifnames[i - 1] : d->cfg.ifname, sizeof(l->name));
		l->running = true;
		if (l->name[0] != '\0' && (l->ifindex = if_nametoindex(l->name)) == 0) {
			dm_log(LOG_ERR, "interface %s: %s", l->name, strerror(errno));
			return -ENODEV;
		}
	}
	if (d->nlinks > 1 && (d->ifsock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		dm_log(LOG_ERR, "socket for the links' state: %s", strerror(errno));
		return -errno;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	if ((rc = dm_loop_open(&d->loop, &mask)) < 0)
		return rc;

	/* The mirror of the kernel's table (its timeouts are the mirror's: see below). */
	rd_state_config_default(&sc);
	sc.limit = d->cfg.limit;
	sc.size_hint = d->cfg.limit < 65536 || d->cfg.reserve ? d->cfg.limit : 65536;
	sc.reserve = d->cfg.reserve;
	sc.creatorid = d->cfg.creatorid;
	d->id_stable = sc.creatorid != 0;
	if (sc.creatorid == 0) {
		const char *dir = d->cfg.state_dir ? d->cfg.state_dir : SD_DEFAULT_STATE_DIR;
		char err[SD_ERR_LEN];
		bool kept;

		if (sd_identity(dir, &sc.creatorid, &kept, err) != 0) {
			/* The default place may be missing (no systemd StateDirectory): say so,
			 * run. */
			if (!kept && sc.creatorid != 0 && d->cfg.state_dir == NULL) {
				dm_log(LOG_WARNING,
				       "creatorid %08x not kept (%s): after a restart the peers "
				       "will see "
				       "a new member; set state-dir",
				       sc.creatorid, err);
			} else {
				dm_log(LOG_ERR, "%s", err);
				return -EINVAL;
			}
		}
		d->id_stable = kept;
	}
	/* OpenBSD's stateid start: seconds in the upper half, unique across restarts. */
	sc.id_base = (uint64_t)time(NULL) << 32;
	sc.cb.user = d;
	sc.cb.event = table_event;
	sc.log.fn = dm_log_hook;
	sc.log.level = LOG_INFO;
	rc = rd_state_table_new(&sc, &d->t);
	if (rc != 0) {
		dm_log(LOG_ERR, "state table%s: %s",
		       d->cfg.reserve ? " (--reserve: memory of --limit states)" : "",
		       rd_strerror(rc));
		return -ENOMEM;
	}
	if (d->cfg.reserve)
		dm_log(LOG_INFO, "state table: memory of %u states reserved (%zu MB)", sc.limit,
		       rd_state_memory(d->t) >> 20);
	d->creatorid = rd_state_creatorid(d->t);

	if ((rc = open_transport(d, &payload)) < 0)
		return rc;
	if (d->cfg.mode != RD_IO_SYNC_SECURE) {
		ec.mtu = payload;
		ec.cb.send = eng_send;
		ec.bulk_rate = d->cfg.bulk_rate; /* no acknowledgements: a fixed pace */
	}
	ec.table = d->t;
	ec.maxupd = d->cfg.maxupd;
	/*
	 * A start-up bulk request is retried 3 times 1 s apart (OpenBSD: 12
	 * times 2 s): a node alone reads its kernel table after 3 s. In secure
	 * mode it names one live peer, the next on each of 4 tries 3.5 s apart
	 * (RD_SYNC_ENGINE_NAMED_INTERVAL); with no peer heard within 1 s it
	 * asks every member: a node alone reads its table after 5 s.
	 */
	ec.bulk_req_interval = RD_SEC;
	ec.bulk_req_tries = d->cfg.mode == RD_IO_SYNC_SECURE ? 4 : 3;
	ec.cb.demote = eng_demote;
	ec.cb.user = d;
	ec.log.fn = dm_log_hook;
	ec.log.level = LOG_INFO;
	if (d->cfg.mode == RD_IO_SYNC_SECURE) {
		if (open_channel(d, payload, &ec) < 0)
			return -EINVAL;
	} else if ((rc = rd_sync_engine_new(&ec, &d->eng)) != 0) {
		dm_log(LOG_ERR, "sync engine: %s", rd_strerror(rc));
		return -EINVAL;
	}

	rc = sd_ct_open(on_ct, d, &d->ct);
	if (rc < 0) {
		dm_log(LOG_ERR, "conntrack: %s", strerror(-rc));
		return rc;
	}
	d->xs.t = d->t; /* also in plain mode, where no carry set it */
	d->xs.creatorid = d->creatorid;
	d->xs.ct = d->ct;
	d->xs.eng = d->eng;
	d->xs.deftimeouts = d->deftimeouts;
	d->xs.label = d->cfg.label;
	d->xs.apply = d->cfg.apply;
	sd_ct_set_exp_fn(d->ct, sd_extsync_exp, &d->xs);
	if (d->cfg.apply) {
		/* Tests only: a small receive buffer for the answers, to lose some. */
		const char *rb = getenv("SYNCD_TEST_CT_RCVBUF");

		rc = sd_ct_set_batch(d->ct, d->cfg.ct_batch, rb != NULL ? atoi(rb) : 0, ct_written,
		                     d);
		if (rc < 0) {
			dm_log(LOG_ERR, "conntrack batch socket: %s", strerror(-rc));
			return rc;
		}
	}
	if ((rc = dm_loop_add(&d->loop, sd_ct_fd(d->ct), &d->wct)) < 0)
		return rc;
	if (d->cfg.label >= 0) { /* --no-apply too: a commit writes peers' entries */
		char err[SD_ERR_LEN];
		bool installed;

		sd_ct_set_label(d->ct, d->cfg.label);
		if (sd_labels_new(d->cfg.label, &d->labels, err) != 0 ||
		    sd_labels_keep(d->labels, &installed, err) != 0)
			dm_log(
			    LOG_WARNING,
			    "conntrack labels not kept in use (%s): entries written for peers may "
			    "carry no mark, and a restart may bring back states the cluster "
			    "deleted "
			    "meanwhile",
			    err);
		d->labels_due = sd_now() + SD_LABELS_CHECK;
	}
	if ((rc = open_mirror(d)) < 0)
		return rc;
	rc = dm_control_start(&d->loop, d->cfg.control, SD_CONTROL_IN_MAX, control_request, d,
	                      &d->ctl);
	if (rc < 0)
		return rc;

	/* The group was checked with the configuration (sd_config_check). */
	if (d->cfg.carpd_control != NULL &&
	    sd_hold_init(&d->hold, d->cfg.demote_group, sd_now()) == 0)
		d->hold_on = true;
	/*
	 * The kernel may still hold the peers' states from our previous run.
	 * So the peers' bulk update comes first: it names their states; the
	 * kernel's entries left over after it are ours (the mirror's rule).
	 */
	rd_mirror_start(d->mirror, d->cfg.bulk, sd_now());
	dm_log(LOG_NOTICE, "%s mode, creatorid %08x, %s%s%s",
	       d->cfg.mode == RD_IO_SYNC_SECURE ? "secure" : "plain", d->creatorid,
	       d->cfg.npeers ? "unicast peers" : "multicast on ",
	       d->cfg.npeers ? "" : d->cfg.ifname,
	       rd_mirror_start_pending(d->mirror) ? ", asking the peers for their states" : "");
	return 0;
}

void sd_daemon_free(struct sd_daemon *d)
{
	if (d == NULL)
		return;
	/* Leaving changes nothing in the kernel: the states stay for whoever takes over. */
	rd_mirror_free(d->mirror);
	d->mirror = NULL;
	hold_close(d);
	dm_control_close(d->ctl);
	sd_ct_close(d->ct);
	sd_labels_free(d->labels);
	d->ct = NULL;
	free(d->after_q);
	if (d->carry != NULL)
		rd_sync_carry_free(d->carry); /* its engine and channel */
	else
		rd_sync_engine_free(d->eng);
	d->eng = NULL;
	d->ch = NULL;
	if (d->t != NULL)
		rd_state_table_free(d->t, sd_now());
	sd_extsync_free(&d->xs);
	for (size_t i = 0; i < d->nlinks; i++)
		rd_io_sync_close(d->links[i].io);
	if (d->ifsock >= 0)
		close(d->ifsock);
	dm_loop_close(&d->loop);
	sd_config_free(&d->cfg);
	free(d);
}
