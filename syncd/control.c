/*
 * syncd: the control socket (unix stream, mode 0600). One request a
 * connection: the client writes one line, syncd answers and closes.
 *
 *   request:  status | status json | bulk
 *   answer:   "ok\n" then the body, or "error MESSAGE\n"
 *
 * The same protocol as carpd's, so redundctl --control PATH talks to both.
 * Clients never block the loop: non-blocking reads and writes, and a slow
 * reader keeps its answer until the socket takes it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "syncd.h"

#define REQ_MAX 256

struct sd_client {
	struct sd_watch w; /* first: the epoll tag */
	struct sd_client *next;
	int fd;
	char in[REQ_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_off;
};

struct sd_control {
	struct sd_watch w;
	int fd, epfd;
	char *path;
	struct sd_client *clients;
};

int sd_control_open(const char *path, struct sd_control **out)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct sd_control *c;
	int fd, rc;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Someone answers there: another syncd. Otherwise a stale socket file. */
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
	c->w.kind = SD_W_CONTROL;
	c->w.obj = c;
	c->fd = fd;
	c->epfd = -1;
	*out = c;
	return 0;
}

int sd_control_fd(const struct sd_control *c)
{
	return c->fd;
}

static void client_free(struct sd_control *c, struct sd_client *cl)
{
	struct sd_client **pp = &c->clients;

	while (*pp != NULL && *pp != cl)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = cl->next;
	close(cl->fd);
	free(cl->out);
	free(cl);
}

void sd_control_accept(struct sd_control *c, int epfd)
{
	int fd;

	c->epfd = epfd;
	while ((fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct sd_client *cl = calloc(1, sizeof(*cl));
		struct epoll_event ev = {.events = EPOLLIN};

		if (cl == NULL) {
			close(fd);
			continue;
		}
		cl->w.kind = SD_W_CLIENT;
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

static char *answer(struct sd_daemon *d, const char *line)
{
	char *body = NULL, *out = NULL;
	int rc;

	if (strcmp(line, "status") == 0)
		rc = sd_daemon_status(d, false, &body);
	else if (strcmp(line, "status json") == 0)
		rc = sd_daemon_status(d, true, &body);
	else if (strcmp(line, "bulk") == 0)
		rc = sd_daemon_bulk(d, &body);
	else {
		rc = -1;
		body = strdup("unknown request (expected status [json] or bulk)");
	}
	if (asprintf(&out, rc == 0 ? "ok\n%s" : "error %s\n",
	             body != NULL ? body : (rc == 0 ? "" : "failed")) < 0)
		out = NULL;
	free(body);
	return out;
}

static void client_write(struct sd_control *c, struct sd_client *cl)
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
	client_free(c, cl);
}

void sd_control_client_event(struct sd_control *c, void *tag, uint32_t events, struct sd_daemon *d)
{
	struct sd_client *cl = ((struct sd_watch *)tag)->obj;
	char *nl;
	ssize_t n;

	if (cl->out != NULL) {
		client_write(c, cl);
		return;
	}
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		client_free(c, cl);
		return;
	}
	n = recv(cl->fd, cl->in + cl->in_len, sizeof(cl->in) - 1 - cl->in_len, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		client_free(c, cl);
		return;
	}
	cl->in_len += (size_t)n;
	cl->in[cl->in_len] = '\0';
	nl = strchr(cl->in, '\n');
	if (nl == NULL) {
		if (cl->in_len == sizeof(cl->in) - 1)
			client_free(c, cl);
		return;
	}
	*nl = '\0';
	if (nl > cl->in && nl[-1] == '\r')
		nl[-1] = '\0';
	cl->out = answer(d, cl->in);
	if (cl->out == NULL) {
		client_free(c, cl);
		return;
	}
	cl->out_len = strlen(cl->out);
	client_write(c, cl);
}

void sd_control_close(struct sd_control *c)
{
	if (c == NULL)
		return;
	while (c->clients != NULL)
		client_free(c, c->clients);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	free(c);
}
