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
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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

#define RX_BATCH  64
#define RX_BUDGET (10 * RD_MSEC) /* receive work before the loop's other events */

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
};

struct sd_daemon {
	struct sd_config cfg;
	struct dm_loop loop;
	struct dm_watch wio, wct;
	unsigned int ifindex;
	struct rd_io_sync *io;
	bool io_out; /* EPOLLOUT armed */
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
	uint16_t port; /* secure mode's UDP port */
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
		dm_log(LOG_WARNING, "send: %s", strerror(-rc));
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
	int rc = sd_extsync_write(&d->xs, info); /* sd_ct_apply, with the extension */

	(void)created; /* sd_ct_apply creates or updates, whichever the kernel needs */
	if (rc < 0) {
		dm_log(LOG_DEBUG, "conntrack write of %016llx/%08x: %s",
		       (unsigned long long)info->id, info->creatorid, strerror(-rc));
		return RD_ERR_AGAIN;
	}
	return 0;
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
	bool want = rd_io_sync_pending(d->io) > 0;
	struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = &d->wio};

	if (want == d->io_out)
		return;
	if (epoll_ctl(d->loop.epfd, EPOLL_CTL_MOD, rd_io_sync_fd(d->io), &ev) == 0)
		d->io_out = want;
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

static void on_io(struct sd_daemon *d, uint32_t events)
{
	struct rd_io_sync_msg msgs[RX_BATCH];
	rd_time_t start = sd_now();
	int n, i, rounds;

	if (events & EPOLLOUT)
		rd_io_sync_flush(d->io);
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

		n = rd_io_sync_recv(d->io, msgs, RX_BATCH);
		if (n == -EAGAIN)
			break;
		if (n < 0) {
			dm_log_limited("receive errors", LOG_WARNING, "receive: %s", strerror(-n));
			break;
		}
		now = sd_now();
		for (i = 0; i < n; i++) {
			int rc;

			dm_log_hold();
			if (d->ch != NULL)
				rc = rd_sync_channel_input(d->ch, msgs[i].data, msgs[i].len, now);
			else
				rc = rd_sync_engine_input(d->eng, msgs[i].data, msgs[i].len, now);
			dm_log_release(input_reason(rc));
		}
		rd_io_sync_flush(d->io);
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
	rd_io_sync_stats(d->io, ios);
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
		              dm_control_stat_name, false);
		dm_buf_printf(&b, "}\n");
	} else {
		dm_buf_printf(&b, "syncd %s mode, creatorid %08x, %u states%s\n", mode,
		              d->creatorid, rd_state_count(d->t),
		              !bulk          ? ""
		              : demotion > 0 ? ", join bulk update running"
		                             : ", repair bulk update running");
		text_hold(d, &b);
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

/* The control socket's requests (redundctl sync ...): status | status json | bulk. */
static int control_request(void *user, char *line, char **body)
{
	struct sd_daemon *d = user;
	char *w[2];
	int n = dm_words(line, w, 2);

	if (n >= 1 && strcmp(w[0], "status") == 0 && (n == 1 || strcmp(w[1], "json") == 0))
		return sd_daemon_status(d, n == 2, body);
	if (n == 1 && strcmp(w[0], "bulk") == 0)
		return sd_daemon_bulk(d, body);
	*body = strdup("unknown request (expected status [json] or bulk)");
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
			d->quitting = true;
		} else if (sig == SIGHUP) {
			/* No live reload: say so rather than pretend (syncd(8), SIGNALS). */
			dm_log(LOG_NOTICE,
			       "SIGHUP: syncd does not reload its configuration; "
			       "restart it to apply changes (the kernel keeps its table)");
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
		on_io(d, events);
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

int sd_daemon_run(struct sd_daemon *d)
{
	int n;

	while (!d->quitting) {
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
		rd_io_sync_flush(d->io);
	}
	/* Send what is queued before leaving (deletes of the last moments). */
	rd_sync_engine_flush(d->eng, sd_now());
	rd_io_sync_flush(d->io);
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
	ic.ifindex = d->ifindex;
	ic.multicast = d->cfg.npeers == 0;
	ic.group = d->cfg.group;
	memcpy(ic.peers, d->cfg.peers, sizeof(ic.peers));
	ic.npeers = d->cfg.npeers;
	ic.local = d->cfg.local;
	ic.port = d->cfg.port;
	ic.check_ttl = d->cfg.check_ttl;
	d->port = d->cfg.port ? d->cfg.port : RD_SYNC_UDP_PORT;
	rc = rd_io_sync_open(&ic, &d->io);
	if (rc < 0) {
		dm_log(LOG_ERR, "%s transport: %s",
		       d->cfg.mode == RD_IO_SYNC_SECURE ? "UDP" : "raw", strerror(-rc));
		return rc;
	}
	/* IP (+ UDP) headers come out of the link MTU. */
	*payload = (d->cfg.mtu ? d->cfg.mtu : 1500) - rd_io_sync_overhead(d->io);
	return dm_loop_add(&d->loop, rd_io_sync_fd(d->io), &d->wio);
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
	d->wio.kind = SD_W_IO;
	d->wct.kind = SD_W_CT;
	d->whold.kind = SD_W_HOLD;
	d->hold_fd = -1;
	*out = d;

	if (d->cfg.ifname[0] != '\0' && (d->ifindex = if_nametoindex(d->cfg.ifname)) == 0) {
		dm_log(LOG_ERR, "interface %s: %s", d->cfg.ifname, strerror(errno));
		return -ENODEV;
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
	sc.size_hint = d->cfg.limit < 65536 ? d->cfg.limit : 65536;
	sc.creatorid = d->cfg.creatorid;
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
	}
	/* OpenBSD's stateid start: seconds in the upper half, unique across restarts. */
	sc.id_base = (uint64_t)time(NULL) << 32;
	sc.cb.user = d;
	sc.cb.event = table_event;
	sc.log.fn = dm_log_hook;
	sc.log.level = LOG_INFO;
	rc = rd_state_table_new(&sc, &d->t);
	if (rc != 0) {
		dm_log(LOG_ERR, "state table: %s", rd_strerror(rc));
		return -ENOMEM;
	}
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
	 * mode one live peer is named to answer, two tries each: 6 tries, so a
	 * third peer is asked when the first two are joining themselves (they
	 * answer once their own join ended); a node alone waits 6 s, and so do
	 * members started together (each answers once its own request failed).
	 */
	ec.bulk_req_interval = RD_SEC;
	ec.bulk_req_tries = d->cfg.mode == RD_IO_SYNC_SECURE ? 6 : 3;
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
	d->xs.ct = d->ct;
	d->xs.eng = d->eng;
	d->xs.deftimeouts = d->deftimeouts;
	d->xs.label = d->cfg.label;
	d->xs.apply = d->cfg.apply;
	sd_ct_set_exp_fn(d->ct, sd_extsync_exp, &d->xs);
	if ((rc = dm_loop_add(&d->loop, sd_ct_fd(d->ct), &d->wct)) < 0)
		return rc;
	if (d->cfg.apply && d->cfg.label >= 0) {
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
	rd_io_sync_close(d->io);
	dm_loop_close(&d->loop);
	sd_config_free(&d->cfg);
	free(d);
}
