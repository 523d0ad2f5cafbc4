/*
 * Daemon plumbing: the descriptors of the one epoll loop. Time reaches the
 * loop through a timerfd armed at an absolute CLOCK_MONOTONIC instant (the
 * engines' next expiry), signals through a signalfd, so the loop never
 * handles anything in signal context.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <syslog.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

int dm_loop_add(struct dm_loop *l, int fd, struct dm_watch *w)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int dm_loop_open(struct dm_loop *l, const sigset_t *mask)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->epfd = l->tfd = l->sfd = -1;
	l->wt.kind = DM_W_TIMER;
	l->ws.kind = DM_W_SIGNAL;
	l->mask = *mask;
	sigprocmask(SIG_BLOCK, &l->mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->sfd = signalfd(-1, &l->mask, SFD_NONBLOCK | SFD_CLOEXEC);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->epfd < 0 || l->sfd < 0 || l->tfd < 0)
		return -errno;
	if ((rc = dm_loop_add(l, l->sfd, &l->ws)) < 0 || (rc = dm_loop_add(l, l->tfd, &l->wt)) < 0)
		return rc;
	return 0;
}

int dm_loop_after_fork(struct dm_loop *l)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->sfd, NULL);
	close(l->sfd);
	l->sfd = signalfd(-1, &l->mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sfd < 0)
		return -errno;
	return dm_loop_add(l, l->sfd, &l->ws);
}

void dm_loop_arm(struct dm_loop *l, rd_time_t when)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (when != RD_TIME_NEVER) {
		if (when == 0)
			when = 1; /* zero would disarm */
		its.it_value.tv_sec = (time_t)(when / RD_SEC);
		its.it_value.tv_nsec = (long)(when % RD_SEC);
	}
	timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void dm_loop_timer_read(struct dm_loop *l)
{
	uint64_t ticks;

	while (read(l->tfd, &ticks, sizeof(ticks)) == (ssize_t)sizeof(ticks))
		;
}

int dm_loop_signal_read(struct dm_loop *l)
{
	struct signalfd_siginfo si;

	if (read(l->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

int dm_loop_wait(struct dm_loop *l, struct dm_control *ctl, int timeout_ms, dm_event_fn fn,
                 void *user)
{
	struct epoll_event evs[32];
	int n, i;

	n = epoll_wait(l->epfd, evs, 32, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		dm_log(LOG_ERR, "epoll_wait: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct dm_watch *w = evs[i].data.ptr;

		if (w->kind == DM_W_CONTROL)
			dm_control_accept(ctl, l->epfd);
		else if (w->kind == DM_W_CLIENT)
			dm_control_client_event(ctl, w, evs[i].events);
		else if (w->kind == DM_W_CONTROL_TIMER)
			dm_control_timer(ctl);
		else
			fn(user, w, evs[i].events);
	}
	if (ctl != NULL)
		dm_control_reap(ctl);
	dm_log_tick();
	return n;
}

void dm_loop_close(struct dm_loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->sfd >= 0)
		close(l->sfd);
	l->epfd = l->tfd = l->sfd = -1;
}
