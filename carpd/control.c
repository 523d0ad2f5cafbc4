/*
 * carpd: the control socket (unix stream). One request a connection: the
 * client writes one line, carpd answers and closes:
 *
 *   request:  status | status json | demote GROUP +N|-N | leave | join
 *   answer:   "ok\n" then the body, or "error MESSAGE\n"
 *
 * Clients are handled from the event loop without blocking it: reads and
 * writes are non-blocking and a slow client keeps its buffer until done.
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

#include "carpd.h"

#define CLIENT_IN_MAX 512

struct cd_client {
	struct cd_watch w; /* first: the epoll tag */
	struct cd_client *next;
	int fd;
	char in[CLIENT_IN_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_off;
};

struct cd_control {
	struct cd_watch w;
	int fd;
	int epfd; /* the loop's epoll set, to wait for writability */
	char *path;
	struct cd_client *clients;
};

int cd_control_open(const char *path, struct cd_control **out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct cd_control *c;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A stale socket from a crashed carpd: replace it only if nobody answers. */
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
	c->w.kind = CD_W_CONTROL;
	c->w.obj = c;
	c->fd = fd;
	*out = c;
	return 0;
}

int cd_control_fd(const struct cd_control *c)
{
	return c->fd;
}

struct cd_watch *cd_control_watch(struct cd_control *c)
{
	return &c->w;
}

static void client_close(struct cd_control *c, struct cd_client *cl)
{
	struct cd_client **pp;

	for (pp = &c->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	close(cl->fd);
	free(cl->out);
	free(cl);
}

void cd_control_accept(struct cd_control *c, int epfd)
{
	c->epfd = epfd;
	for (;;) {
		struct epoll_event ev;
		struct cd_client *cl;
		int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		cl = calloc(1, sizeof(*cl));
		if (cl == NULL) {
			close(fd);
			continue;
		}
		cl->w.kind = CD_W_CLIENT;
		cl->w.obj = cl;
		cl->fd = fd;
		ev.events = EPOLLIN;
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
static char *dispatch(struct cd_daemon *d, char *line)
{
	char *w[4];
	int n = 0, rc;
	char *body = NULL, *save = NULL, *tok, *answer;

	for (tok = strtok_r(line, " \t", &save); tok != NULL && n < 4;
	     tok = strtok_r(NULL, " \t", &save))
		w[n++] = tok;
	if (n == 0) {
		rc = -1;
		body = strdup("empty request");
	} else if (strcmp(w[0], "status") == 0 &&
	           (n == 1 || (n == 2 && strcmp(w[1], "json") == 0))) {
		rc = cd_daemon_status(d, n == 2, &body);
	} else if (strcmp(w[0], "demote") == 0 && n == 3) {
		char *end;
		long delta = strtol(w[2], &end, 10);

		if (*end != '\0' || (w[2][0] != '+' && w[2][0] != '-') || delta < -255 ||
		    delta > 255) {
			rc = -1;
			body = strdup("expected 'demote GROUP +N' or 'demote GROUP -N' (N <= 255)");
		} else {
			rc = cd_daemon_demote(d, w[1], (int)delta, &body);
		}
	} else if (strcmp(w[0], "leave") == 0 && n == 1) {
		rc = cd_daemon_leave(d, &body);
	} else if (strcmp(w[0], "join") == 0 && n == 1) {
		rc = cd_daemon_join(d, &body);
	} else {
		rc = -1;
		body = strdup("unknown request (expected status [json], demote GROUP +N|-N, leave, "
		              "join)");
	}
	if (rc == 0) {
		if (asprintf(&answer, "ok\n%s", body != NULL ? body : "") < 0)
			answer = NULL;
	} else {
		if (asprintf(&answer, "error %s\n", body != NULL ? body : "failed") < 0)
			answer = NULL;
	}
	free(body);
	return answer;
}

static void client_write(struct cd_control *c, struct cd_client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN) {
				struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = &cl->w};

				if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev) == 0)
					return; /* called again when writable */
			}
			break;
		}
		cl->out_off += (size_t)n;
	}
	client_close(c, cl);
}

void cd_control_client_event(struct cd_control *c, void *tag, uint32_t events, struct cd_daemon *d)
{
	struct cd_client *cl = ((struct cd_watch *)tag)->obj;
	char *nl;
	ssize_t n;

	if (cl->out != NULL) {
		client_write(c, cl);
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
		client_close(c, cl);
		return;
	}
	n = recv(cl->fd, cl->in + cl->in_len, sizeof(cl->in) - 1 - cl->in_len, MSG_DONTWAIT);
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
		if (cl->in_len == sizeof(cl->in) - 1)
			client_close(c, cl); /* a line longer than any request */
		return;
	}
	*nl = '\0';
	if (nl > cl->in && nl[-1] == '\r')
		nl[-1] = '\0';
	cl->out = dispatch(d, cl->in);
	if (cl->out == NULL) {
		client_close(c, cl);
		return;
	}
	cl->out_len = strlen(cl->out);
	client_write(c, cl);
}

void cd_control_close(struct cd_control *c)
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
