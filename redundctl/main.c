/*
 * redundctl: the command line for carpd's and syncd's control sockets, and
 * a decoder of captured CARP and pfsync packets.
 *
 *   redundctl [--control PATH] [--timeout SECONDS] WORD SUBWORD [ARGS...]
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "redund/common.h"
#include "redundctl.h"

/* One line a subcommand; keep them grouped by the first word. */
static const struct rctl_cmd cmds[] = {
    {"carp", "status", rctl_carp_status, "[--json | --prom]"},
    {"carp", "demote", rctl_carp_demote, "GROUP +N|-N"},
    {"carp", "hold", rctl_carp_hold, "HOLDER GROUP VALUE TTL [unless-master]"},
    {"carp", "leave", rctl_carp_leave, ""},
    {"carp", "join", rctl_carp_join, ""},
    {"decode", "carp", rctl_decode_carp, "FILE | -i IF [-c N] [--pass PASS [--addr ADDR]...]"},
    {"decode", "pfsync", rctl_decode_pfsync, "FILE | -i IF [-c N] [--key KEYFILE] [--port N]"},
    {"sync", "genkey", rctl_sync_genkey, "FILE [--keyid N] [--aead NAME]"},
    {"sync", "status", rctl_sync_status, "[--json | --prom]"},
    {"sync", "bulk", rctl_sync_bulk, ""},
    {"sync", "commit", rctl_sync_commit, ""},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: redundctl [--control PATH] [--timeout SECONDS] COMMAND [ARGS]\n\n"
	           "Commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  redundctl %s %s%s%s\n", cmds[i].word, cmds[i].subword,
		        cmds[i].usage[0] != '\0' ? " " : "", cmds[i].usage);
	fprintf(f, "\n--control PATH: the daemon's control socket (carpd: /run/carpd.sock)\n");
	fprintf(f,
	        "--timeout SECONDS: give up on the daemon after this long (default %d, at "
	        "most %d)\n",
	        RCTL_TIMEOUT_DEFAULT, RCTL_TIMEOUT_MAX);
}

/* CLOCK_MONOTONIC in ms. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left until deadline in ms (0 when past). */
static long long left_ms(long long deadline)
{
	long long n = now_ms();

	return deadline > n ? deadline - n : 0;
}

/* Blocking sends and connects on fd give up after ms (at least 1). */
static void send_timeout(int fd, long long ms)
{
	struct timeval tv;

	if (ms < 1)
		ms = 1;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Send all of s, or fail with errno (EAGAIN: the time is up). */
static int send_all(int fd, const char *s, size_t len, long long deadline)
{
	while (len > 0) {
		ssize_t n;

		if (left_ms(deadline) == 0) {
			errno = EAGAIN;
			return -1;
		}
		send_timeout(fd, left_ms(deadline));
		n = send(fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

int rctl_request(const char *path, const char *line, unsigned int timeout, char **body)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	long long deadline = now_ms() + (long long)timeout * 1000;
	char *buf = NULL, *nl, *req = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, rc;

	*body = NULL;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "redundctl: %s: path too long\n", path);
		return 1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "redundctl: socket: %s\n", strerror(errno));
		return 1;
	}
	/* A unix socket's connect waits while the listener's backlog is full:
	 * SO_SNDTIMEO bounds that wait (EAGAIN when it is over). */
	send_timeout(fd, left_ms(deadline));
	while ((rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun))) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		if (errno == EAGAIN || errno == EINPROGRESS)
			fprintf(stderr,
			        "redundctl: %s: timed out connecting after %u s (the daemon "
			        "accepts no connection: stuck or overloaded?)\n",
			        path, timeout);
		else
			fprintf(stderr,
			        "redundctl: cannot connect to %s: %s (is the daemon running?)\n",
			        path, strerror(errno));
		close(fd);
		return 1;
	}
	if (asprintf(&req, "%s\n", line) < 0) {
		close(fd);
		fprintf(stderr, "redundctl: out of memory\n");
		return 1;
	}
	rc = send_all(fd, req, strlen(req), deadline);
	free(req);
	if (rc < 0) {
		if (errno == EAGAIN)
			fprintf(stderr,
			        "redundctl: %s: timed out sending the request after %u s (the "
			        "daemon reads nothing: stuck?)\n",
			        path, timeout);
		else
			fprintf(stderr, "redundctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		long long ms = left_ms(deadline);

		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (nb == NULL) {
				free(buf);
				close(fd);
				fprintf(stderr, "redundctl: out of memory\n");
				return 1;
			}
			buf = nb;
			cap += 65536;
		}
		rc = ms > 0 ? poll(&pfd, 1, ms > INT_MAX ? INT_MAX : (int)ms) : 0;
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			fprintf(stderr,
			        "redundctl: %s: timed out after %u s waiting for the %s (the "
			        "daemon is stuck or overloaded?)\n",
			        path, timeout, len > 0 ? "rest of the answer" : "answer");
			free(buf);
			close(fd);
			return 1;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		/* A daemon that answered an error before reading all we sent closes
		 * with our bytes unread: its answer comes first, then ECONNRESET. */
		if (n < 0 && errno == ECONNRESET && len > 0)
			break;
		if (n < 0) {
			fprintf(stderr, "redundctl: %s: %s\n", path, strerror(errno));
			free(buf);
			close(fd);
			return 1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (strncmp(buf, "ok\n", 3) == 0) {
		memmove(buf, buf + 3, len - 3 + 1);
		*body = buf;
		return 0;
	}
	nl = strchr(buf, '\n');
	if (nl != NULL)
		*nl = '\0';
	fprintf(stderr, "redundctl: %s\n",
	        strncmp(buf, "error ", 6) == 0 ? buf + 6 : (len ? buf : "no answer"));
	free(buf);
	return 1;
}

int rctl_ask(const struct rctl_opts *o, const char *default_path, const char *line)
{
	char *body;
	int rc =
	    rctl_request(o->control != NULL ? o->control : default_path, line, o->timeout, &body);

	if (rc == 0) {
		fputs(body, stdout);
		free(body);
	}
	return rc;
}

/*
 * `status --prom`: the JSON status as Prometheus text (rctl_prom). A daemon
 * that does not answer still gives PREFIX_up 0 (and exit 1), so a textfile
 * collector's file says so instead of keeping old numbers.
 */
static int prom_status(const struct rctl_opts *o, const char *default_path, const char *word)
{
	const char *prefix = strcmp(word, "carp") == 0 ? "carpd" : "syncd";
	struct dm_buf out = {0};
	char *body = NULL, err[256];
	int rc;

	rc = rctl_request(o->control ? o->control : default_path, "status json", o->timeout, &body);
	if (rc == 0 && rctl_prom(body, strlen(body), prefix, prefix, &out, err, sizeof(err)) < 0) {
		fprintf(stderr, "redundctl: %s\n", err);
		rc = 1;
	}
	if (rc != 0)
		printf("# HELP %s_up Whether %s answered (1), or not (0).\n"
		       "# TYPE %s_up gauge\n%s_up 0\n",
		       prefix, prefix, prefix, prefix);
	else
		fwrite(out.p, 1, out.len, stdout);
	free(body);
	free(out.p);
	return rc;
}

int rctl_status(const struct rctl_opts *o, const char *default_path, const char *word, int argc,
                char **argv)
{
	if (argc == 0)
		return rctl_ask(o, default_path, "status");
	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		return rctl_ask(o, default_path, "status json");
	if (argc == 1 && strcmp(argv[0], "--prom") == 0)
		return prom_status(o, default_path, word);
	fprintf(stderr, "usage: redundctl %s status [--json | --prom]\n", word);
	return 2;
}

int rctl_noarg(const struct rctl_opts *o, const char *default_path, const char *word,
               const char *line, int argc)
{
	if (argc != 0) {
		fprintf(stderr, "usage: redundctl %s %s\n", word, line);
		return 2;
	}
	return rctl_ask(o, default_path, line);
}

int main(int argc, char **argv)
{
	struct rctl_opts o = {.timeout = RCTL_TIMEOUT_DEFAULT};
	const char *tmo = NULL;
	size_t i;
	int a = 1;
	bool word_known = false;

	while (a < argc && argv[a][0] == '-') {
		if (strcmp(argv[a], "--control") == 0 && a + 1 < argc) {
			o.control = argv[a + 1];
			a += 2;
		} else if (strncmp(argv[a], "--control=", 10) == 0) {
			o.control = argv[a] + 10;
			a++;
		} else if (strcmp(argv[a], "--timeout") == 0 && a + 1 < argc) {
			tmo = argv[a + 1];
			a += 2;
		} else if (strncmp(argv[a], "--timeout=", 10) == 0) {
			tmo = argv[a] + 10;
			a++;
		} else if (strcmp(argv[a], "-h") == 0 || strcmp(argv[a], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[a], "--version") == 0) {
			printf("redundctl (libredund) %s\n", rd_version());
			return 0;
		} else {
			fprintf(stderr, "redundctl: unknown option '%s'\n", argv[a]);
			usage(stderr);
			return 2;
		}
	}
	if (tmo != NULL && dm_parse_uint(tmo, 1, RCTL_TIMEOUT_MAX, &o.timeout) < 0) {
		fprintf(stderr,
		        "redundctl: --timeout: expected whole seconds from 1 to %d, got '%s'\n",
		        RCTL_TIMEOUT_MAX, tmo);
		return 2;
	}
	if (argc - a < 2) {
		usage(stderr);
		return 2;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(cmds[i].word, argv[a]) != 0)
			continue;
		word_known = true;
		if (strcmp(cmds[i].subword, argv[a + 1]) == 0)
			return cmds[i].fn(&o, argc - a - 2, argv + a + 2);
	}
	fprintf(stderr, "redundctl: unknown command '%s%s%s'\n", argv[a], word_known ? " " : "",
	        word_known ? argv[a + 1] : "");
	usage(stderr);
	return 2;
}
