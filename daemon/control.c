/*
 * Daemon plumbing: the control socket (see daemon.h for the protocol). The
 * requests themselves are the daemon's (its dm_control_fn); this file only
 * moves lines and answers, so redundctl --control PATH talks to every daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"

struct dm_client {
	struct dm_watch w; /* first: the epoll tag */
	struct dm_client *next;
	int fd;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	char in[]; /* in_max bytes */
};

struct dm_control {
	struct dm_watch w;
	int fd;
	int epfd; /* the loop's epoll set, to wait for writability */
	char *path;
	size_t in_max;
	dm_control_fn fn;
	void *user;
	struct dm_client *clients;
};

int dm_control_open(const char *path, size_t in_max, dm_control_fn fn, void *user,
                    struct dm_control **out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct dm_control *c;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
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
	c->w.kind = DM_W_CONTROL;
	c->w.obj = c;
	c->fd = fd;
	c->epfd = -1;
	c->in_max = in_max;
	c->fn = fn;
	c->user = user;
	*out = c;
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
	return dm_loop_add(l, dm_control_fd(*out), dm_control_watch(*out));
}

int dm_control_fd(const struct dm_control *c)
{
	return c->fd;
}

struct dm_watch *dm_control_watch(struct dm_control *c)
{
	return &c->w;
}

static void client_close(struct dm_control *c, struct dm_client *cl)
{
	struct dm_client **pp = &c->clients;

	while (*pp != NULL && *pp != cl)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = cl->next;
	close(cl->fd);
	free(cl->out);
	free(cl);
}

void dm_control_accept(struct dm_control *c, int epfd)
{
	int fd;

	c->epfd = epfd;
	while ((fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct dm_client *cl = calloc(1, sizeof(*cl) + c->in_max);
		struct epoll_event ev = {.events = EPOLLIN};

		if (cl == NULL) {
			close(fd);
			continue;
		}
		cl->w.kind = DM_W_CLIENT;
		cl->w.obj = cl;
		cl->fd = fd;
		ev.data.ptr = &cl->w;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(cl);
			continue;
		}
		cl->next = c->clients;
		c->clients = cl;
	}
}

/* Run one request line; returns the full answer (malloc'd). */
static char *answer(struct dm_control *c, char *line)
{
	char *body = NULL, *out = NULL;
	int rc = c->fn(c->user, line, &body);

	if (asprintf(&out, rc == 0 ? "ok\n%s" : "error %s\n",
	             body != NULL ? body : (rc == 0 ? "" : "failed")) < 0)
		out = NULL;
	free(body);
	return out;
}

static void client_write(struct dm_control *c, struct dm_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &cl->w};

			if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev) == 0)
				return; /* called again when writable */
		}
		if (n <= 0)
			break;
		cl->out_off += (size_t)n;
	}
	client_close(c, cl);
}

void dm_control_client_event(struct dm_control *c, struct dm_watch *tag, uint32_t events)
{
	struct dm_client *cl = tag->obj;
	char *nl;
	ssize_t n;

	if (cl->out != NULL) {
		client_write(c, cl);
		return;
	}
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		client_close(c, cl);
		return;
	}
	n = recv(cl->fd, cl->in + cl->in_len, c->in_max - 1 - cl->in_len, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		client_close(c, cl);
		return;
	}
	cl->in_len += (size_t)n;
	cl->in[cl->in_len] = '\0';
	nl = strchr(cl->in, '\n');
	if (nl == NULL) {
		if (cl->in_len == c->in_max - 1)
			client_close(c, cl); /* a line longer than any request */
		return;
	}
	*nl = '\0';
	if (nl > cl->in && nl[-1] == '\r')
		nl[-1] = '\0';
	cl->out = answer(c, cl->in);
	if (cl->out == NULL) {
		client_close(c, cl);
		return;
	}
	cl->out_len = strlen(cl->out);
	client_write(c, cl);
}

void dm_control_close(struct dm_control *c)
{
	if (c == NULL)
		return;
	while (c->clients != NULL)
		client_close(c, c->clients);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}
