/*
 * Daemon plumbing: the control socket (see daemon.h for the protocol). The
 * requests themselves are the daemon's (its dm_control_fn); this file only
 * moves lines and answers, so redundctl --control PATH talks to every daemon.
 *
 * Clients are bounded three ways, so careless or hostile ones cannot take
 * the daemon down: at most max_clients at once (a newcomer closes the
 * oldest client still sending its request, or is refused if every one is
 * being answered), a deadline (the request within `timeout` of the
 * connection, then the answer taken at least every `timeout`), and a
 * request size (answered with an error). When the process runs out of
 * descriptors, a spare one held for the purpose lets the daemon accept the
 * waiting connection and close it with an error instead of leaving it in
 * the backlog, where a level-triggered epoll would report it for ever; if
 * even that fails, the listener leaves the epoll set for a second.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

/* How long the listener stays out of the epoll set when no descriptor is left. */
#define PAUSE (1 * RD_SEC)

struct dm_client {
	struct dm_watch w; /* first: the epoll tag */
	struct dm_client *next;
	int fd;
	rd_time_t since;    /* accepted: the oldest reader goes first */
	rd_time_t deadline; /* closed then (request not complete, answer not taken) */
	size_t in_len;
	char *out; /* the answer being written, NULL while reading */
	size_t out_len, out_off;
	char in[]; /* in_max bytes */
};

struct dm_control {
	struct dm_watch w;  /* the listening socket's tag */
	struct dm_watch wt; /* the deadline timer's tag */
	int fd, tfd;
	int spare; /* a descriptor kept for when accept finds none (/dev/null) */
	int epfd;  /* the loop's epoll set */
	bool paused;
	rd_time_t resume_at;
	rd_time_t armed; /* the timer's setting (RD_TIME_NEVER: disarmed) */
	char *path;
	size_t in_max;
	unsigned int max_clients, nclients;
	rd_time_t timeout;
	dm_control_fn fn;
	void *user;
	struct dm_client *clients;
	/* Closed during a batch of events that may still name them: freed after it. */
	struct dm_client *dead;
	uint64_t stats[DM_CTL_STAT_COUNT];
};

static const char *const stat_names[DM_CTL_STAT_COUNT] = {
    [DM_CTL_ACCEPTED] = "accepted",
    [DM_CTL_REQUESTS] = "requests",
    [DM_CTL_EVICTED] = "evicted",
    [DM_CTL_BUSY] = "busy",
    [DM_CTL_TIMED_OUT] = "timed_out",
    [DM_CTL_TOO_LONG] = "too_long",
    [DM_CTL_NUL] = "nul",
    [DM_CTL_INCOMPLETE] = "incomplete",
    [DM_CTL_NO_FD] = "no_fd",
    [DM_CTL_NO_MEMORY] = "no_memory",
    [DM_CTL_ACCEPT_ERRORS] = "accept_errors",
};

const char *dm_control_stat_name(int i)
{
	return i >= 0 && i < DM_CTL_STAT_COUNT ? stat_names[i] : "unknown";
}

static int open_spare(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int dm_control_open(const char *path, size_t in_max, dm_control_fn fn, void *user,
                    struct dm_control **out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct dm_control *c;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	if (in_max < 3)
		return -EINVAL;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Someone answers there: another daemon. Otherwise a stale socket file. */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 16) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	c->spare = open_spare();
	if (c->tfd < 0 || c->spare < 0) {
		rc = -errno;
		if (c->tfd >= 0)
			close(c->tfd);
		if (c->spare >= 0)
			close(c->spare);
		free(c->path);
		free(c);
		close(fd);
		unlink(path);
		return rc;
	}
	c->w.kind = DM_W_CONTROL;
	c->w.obj = c;
	c->wt.kind = DM_W_CONTROL_TIMER;
	c->wt.obj = c;
	c->fd = fd;
	c->epfd = -1;
	c->armed = RD_TIME_NEVER;
	c->in_max = in_max;
	c->max_clients = DM_CONTROL_CLIENTS;
	c->timeout = DM_CONTROL_TIMEOUT;
	c->fn = fn;
	c->user = user;
	*out = c;
	return 0;
}

int dm_control_attach(struct dm_control *c, int epfd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->w};

	c->epfd = epfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		return -errno;
	ev.data.ptr = &c->wt;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->tfd, &ev) < 0)
		return -errno;
	return 0;
}

int dm_control_start(struct dm_loop *l, const char *path, size_t in_max, dm_control_fn fn,
                     void *user, struct dm_control **out)
{
	int rc = dm_control_open(path, in_max, fn, user, out);

	if (rc < 0) {
		if (rc == -EADDRINUSE)
			dm_log(LOG_ERR, "control socket %s: another %s answers there", path,
			       dm_log_ident());
		else
			dm_log(LOG_ERR, "control socket %s: %s", path, strerror(-rc));
		return rc;
	}
	return dm_control_attach(*out, l->epfd);
}

void dm_control_set_limits(struct dm_control *c, unsigned int max_clients, rd_time_t timeout)
{
	c->max_clients = max_clients > 0 ? max_clients : 1;
	c->timeout = timeout > 0 ? timeout : 1;
}

int dm_control_fd(const struct dm_control *c)
{
	return c->fd;
}

struct dm_watch *dm_control_watch(struct dm_control *c)
{
	return &c->w;
}

const uint64_t *dm_control_stats(const struct dm_control *c)
{
	return c->stats;
}

unsigned int dm_control_nclients(const struct dm_control *c)
{
	return c->nclients;
}

bool dm_control_paused(const struct dm_control *c)
{
	return c->paused;
}

/* ---- deadlines ---- */

/* Arm the timer at the earliest deadline (or the end of a pause), if it moved. */
static void arm(struct dm_control *c)
{
	rd_time_t next = c->paused ? c->resume_at : RD_TIME_NEVER;
	struct itimerspec its;
	struct dm_client *cl;

	for (cl = c->clients; cl != NULL; cl = cl->next)
		if (cl->deadline < next)
			next = cl->deadline;
	if (next == c->armed)
		return;
	c->armed = next;
	memset(&its, 0, sizeof(its));
	if (next != RD_TIME_NEVER) {
		if (next <= 0)
			next = 1; /* zero would disarm */
		its.it_value.tv_sec = (time_t)(next / RD_SEC);
		its.it_value.tv_nsec = (long)(next % RD_SEC);
	}
	timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* ---- the listener out of the epoll set and back ---- */

/* Stop accepting for PAUSE after accept failed with err (logged: at most once per PAUSE). */
static void pause_listener(struct dm_control *c, rd_time_t now, int err)
{
	if (c->paused)
		return;
	if (c->epfd >= 0)
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->paused = true;
	c->resume_at = now + PAUSE;
	dm_log(LOG_WARNING,
	       "control socket %s: cannot accept a client (%s); not accepting for %d s", c->path,
	       strerror(err), (int)(PAUSE / RD_SEC));
}

static void resume_listener(struct dm_control *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &c->w};

	if (!c->paused)
		return;
	if (c->spare < 0 && (c->spare = open_spare()) < 0)
		return; /* still none: the timer tries again */
	if (c->epfd >= 0 && epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		return;
	c->paused = false;
}

/* ---- clients ---- */

/* A last word to a client being closed: never waits, a full socket loses it. */
static void say(int fd, const char *msg)
{
	ssize_t n = send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)n;
}

static void client_close(struct dm_control *c, struct dm_client *cl)
{
	struct dm_client **pp = &c->clients;

	while (*pp != NULL && *pp != cl)
		pp = &(*pp)->next;
	if (*pp != NULL) {
		*pp = cl->next;
		c->nclients--;
	}
	if (c->epfd >= 0)
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	cl->fd = -1;
	free(cl->out);
	cl->out = NULL;
	cl->next = c->dead;
	c->dead = cl;
	/* A descriptor is free again: whatever stopped accepting may be over. */
	resume_listener(c);
}

/* The oldest client still sending its request, or NULL if all are being answered. */
static struct dm_client *oldest_reader(struct dm_control *c)
{
	struct dm_client *cl, *old = NULL;

	for (cl = c->clients; cl != NULL; cl = cl->next)
		if (cl->out == NULL && (old == NULL || cl->since < old->since))
			old = cl;
	return old;
}

static void client_write(struct dm_control *c, struct dm_client *cl, rd_time_t now)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &cl->w};

			if (errno == EINTR)
				continue;
			if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev) == 0)
				return; /* called again when writable */
		}
		if (n <= 0)
			break;
		cl->out_off += (size_t)n;
		cl->deadline = now + c->timeout; /* it takes the answer: more time */
	}
	client_close(c, cl);
}

/* Start writing `text` (taken) as the client's answer; NULL closes it. */
static void client_answer(struct dm_control *c, struct dm_client *cl, char *text, rd_time_t now)
{
	if (text == NULL) {
		c->stats[DM_CTL_NO_MEMORY]++;
		client_close(c, cl);
		return;
	}
	cl->out = text;
	cl->out_len = strlen(text);
	cl->out_off = 0;
	cl->deadline = now + c->timeout;
	client_write(c, cl, now);
}

/* Answer an error line (counted under stat) and close once it is written. */
static void client_refuse(struct dm_control *c, struct dm_client *cl, int stat, const char *msg,
                          rd_time_t now)
{
	c->stats[stat]++;
	client_answer(c, cl, strdup(msg), now);
}

/* Run one request line; returns the full answer (malloc'd). */
static char *run(struct dm_control *c, char *line)
{
	char *body = NULL, *out = NULL;
	int rc = c->fn(c->user, line, &body);

	if (asprintf(&out, rc == 0 ? "ok\n%s" : "error %s\n",
	             body != NULL ? body : (rc == 0 ? "" : "failed")) < 0)
		out = NULL;
	free(body);
	return out;
}

/* Read what the client sent; answer once the line is complete or wrong. */
static void client_read(struct dm_control *c, struct dm_client *cl, rd_time_t now)
{
	size_t limit = c->in_max - 1, i, start;
	char msg[96];
	ssize_t n;

	for (;;) {
		start = cl->in_len;
		n = recv(cl->fd, cl->in + cl->in_len, limit - cl->in_len, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			client_close(c, cl);
			return;
		}
		if (n == 0) {
			/* The client stopped writing before a line end. */
			if (cl->in_len == 0) {
				client_close(c, cl);
				return;
			}
			client_refuse(c, cl, DM_CTL_INCOMPLETE,
			              "error request incomplete: no line end before the end of "
			              "input\n",
			              now);
			return;
		}
		cl->in_len += (size_t)n;
		for (i = start; i < cl->in_len; i++) {
			if (cl->in[i] == '\0') {
				snprintf(msg, sizeof(msg),
				         "error request contains a NUL byte (byte %zu)\n", i + 1);
				client_refuse(c, cl, DM_CTL_NUL, msg, now);
				return;
			}
			if (cl->in[i] == '\n')
				break;
		}
		if (i < cl->in_len)
			break;
		if (cl->in_len == limit) {
			snprintf(msg, sizeof(msg),
			         "error request too long (at most %zu bytes before the line end)\n",
			         c->in_max - 2);
			client_refuse(c, cl, DM_CTL_TOO_LONG, msg, now);
			return;
		}
	}
	cl->in[i] = '\0';
	if (i > 0 && cl->in[i - 1] == '\r')
		cl->in[i - 1] = '\0';
	c->stats[DM_CTL_REQUESTS]++;
	client_answer(c, cl, run(c, cl->in), now);
}

/* A newcomer when every slot is taken: close the oldest reader, or refuse. */
static bool make_room(struct dm_control *c, int fd)
{
	struct dm_client *old = oldest_reader(c);
	char msg[128];

	if (old == NULL) {
		c->stats[DM_CTL_BUSY]++;
		snprintf(msg, sizeof(msg), "error busy: %u control clients are being answered\n",
		         c->nclients);
		say(fd, msg);
		return false;
	}
	c->stats[DM_CTL_EVICTED]++;
	snprintf(msg, sizeof(msg),
	         "error closed: %u control clients at once, this one sent no request\n",
	         c->nclients);
	say(old->fd, msg);
	client_close(c, old);
	return true;
}

/*
 * Out of descriptors (accept fails so even with nothing waiting): give up
 * the spare one to accept the waiting client and tell it why it is
 * closed. True if the backlog may hold more.
 */
static bool shed(struct dm_control *c, rd_time_t now)
{
	int fd = -1, err = EMFILE;

	if (c->spare >= 0) {
		close(c->spare);
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		err = errno;
		if (fd >= 0) {
			c->stats[DM_CTL_NO_FD]++;
			say(fd, "error the daemon is out of file descriptors\n");
			close(fd);
		}
		c->spare = open_spare();
	}
	if (fd < 0 && (err == EAGAIN || err == EWOULDBLOCK) && c->spare >= 0)
		return false; /* nobody waits */
	if (fd >= 0 && c->spare >= 0)
		return true;
	pause_listener(c, now, fd < 0 ? err : EMFILE); /* not even the spare: wait */
	return false;
}

static void accept_one(struct dm_control *c, int fd, rd_time_t now)
{
	struct dm_client *cl;
	struct epoll_event ev = {.events = EPOLLIN};

	if (c->nclients >= c->max_clients && !make_room(c, fd)) {
		close(fd);
		return;
	}
	cl = calloc(1, sizeof(*cl) + c->in_max);
	if (cl == NULL) {
		c->stats[DM_CTL_NO_MEMORY]++;
		close(fd);
		return;
	}
	cl->w.kind = DM_W_CLIENT;
	cl->w.obj = cl;
	cl->fd = fd;
	cl->since = now;
	cl->deadline = now + c->timeout;
	ev.data.ptr = &cl->w;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		c->stats[DM_CTL_NO_MEMORY]++;
		close(fd);
		free(cl);
		return;
	}
	cl->next = c->clients;
	c->clients = cl;
	c->nclients++;
	c->stats[DM_CTL_ACCEPTED]++;
	/* Most clients wrote their request right after connecting. */
	client_read(c, cl, now);
}

void dm_control_accept(struct dm_control *c, int epfd)
{
	rd_time_t now = dm_monotonic();
	int fd;

	c->epfd = epfd;
	while (!c->paused) {
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			accept_one(c, fd, now);
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE) {
			if (!shed(c, now))
				break;
			continue;
		}
		/* ENOBUFS, ENOMEM and the like: try again later, not at once. */
		c->stats[DM_CTL_ACCEPT_ERRORS]++;
		pause_listener(c, now, errno);
	}
	arm(c);
}

void dm_control_client_event(struct dm_control *c, struct dm_watch *tag, uint32_t events)
{
	struct dm_client *cl = tag->obj;
	rd_time_t now = dm_monotonic();

	if (cl->fd < 0)
		return; /* closed earlier in this batch */
	if (cl->out != NULL)
		client_write(c, cl, now);
	else if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
		client_close(c, cl);
	else
		client_read(c, cl, now);
	arm(c);
}

void dm_control_expire(struct dm_control *c, rd_time_t now)
{
	struct dm_client *cl, *next;
	char msg[96];

	for (cl = c->clients; cl != NULL; cl = next) {
		next = cl->next;
		if (cl->deadline > now)
			continue;
		c->stats[DM_CTL_TIMED_OUT]++;
		if (cl->out == NULL) {
			snprintf(msg, sizeof(msg),
			         "error no complete request within %.1f s; closed\n",
			         (double)c->timeout / RD_SEC);
			say(cl->fd, msg);
		}
		client_close(c, cl); /* (a reader that takes nothing gets nothing more) */
	}
	if (c->paused && now >= c->resume_at) {
		resume_listener(c); /* epoll reports what waited meanwhile */
		if (c->paused)
			c->resume_at = now + PAUSE;
	}
	arm(c);
}

void dm_control_timer(struct dm_control *c)
{
	uint64_t ticks;

	while (read(c->tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
		;
	c->armed = RD_TIME_NEVER; /* expired: arm() sets it again */
	dm_control_expire(c, dm_monotonic());
}

void dm_control_reap(struct dm_control *c)
{
	while (c->dead != NULL) {
		struct dm_client *cl = c->dead;

		c->dead = cl->next;
		free(cl);
	}
}

void dm_control_close(struct dm_control *c)
{
	if (c == NULL)
		return;
	while (c->clients != NULL)
		client_close(c, c->clients);
	dm_control_reap(c);
	close(c->fd);
	close(c->tfd);
	if (c->spare >= 0)
		close(c->spare);
	unlink(c->path);
	free(c->path);
	free(c);
}
