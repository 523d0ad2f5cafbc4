/*
 * Daemon plumbing: the one option and configuration-file parser of carpd
 * and syncd (see daemon.h). A daemon's table of keywords drives both, so a
 * word means the same on the command line and in the file; the command
 * line goes through getopt_long(3) (every GNU form), the file is read whole
 * and split into lines of any length.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

/* ---- the command line ---- */

/* getopt_long's value for table entry i: its letter, or a number above the chars. */
#define LONG_ONLY_BASE 256

static int opt_val(const struct dm_opt *o, size_t i)
{
	return o->short_opt != 0 ? o->short_opt : LONG_ONLY_BASE + (int)i;
}

static const struct dm_opt *by_val(const struct dm_opts *t, int val)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->opt[i].scope != DM_OPT_FILE && opt_val(&t->opt[i], i) == val)
			return &t->opt[i];
	return NULL;
}

/* The option word as given, without "=VALUE". */
static void word_of(const char *tok, char *buf, size_t len)
{
	size_t n = strcspn(tok, "=");

	if (n >= len)
		n = len - 1;
	memcpy(buf, tok, n);
	buf[n] = '\0';
}

/* Why getopt_long returned '?' (opterr is off: the message is ours). */
static void unknown(const struct dm_opts *t, const char *tok, char *err, size_t len)
{
	char w[64];
	const struct dm_opt *o = by_val(t, optopt);
	size_t i, nmatch = 0, wl;
	struct dm_buf b = {0};

	if (optopt != 0 && o != NULL && strncmp(tok, "--", 2) == 0) {
		/* A long option that takes no argument was given one. */
		dm_errf(err, len, "option '--%s' takes no argument", o->name);
		return;
	}
	if (optopt != 0) {
		dm_errf(err, len, "unknown option '-%c' (see %s --help)", optopt, t->prog);
		return;
	}
	word_of(tok, w, sizeof(w));
	wl = strlen(w);
	if (wl > 2)
		for (i = 0; i < t->n; i++)
			if (t->opt[i].scope != DM_OPT_FILE &&
			    strncmp(t->opt[i].name, w + 2, wl - 2) == 0) {
				dm_buf_printf(&b, "%s--%s", nmatch ? ", " : "", t->opt[i].name);
				nmatch++;
			}
	if (nmatch > 1 && !b.oom)
		dm_errf(err, len, "ambiguous option '%s' (%s)", w, b.p);
	else
		dm_errf(err, len, "unknown option '%s' (see %s --help)", w, t->prog);
	free(b.p);
}

int dm_opts_scan(const struct dm_opts *t, int argc, char **argv, struct dm_arg **out, size_t *n,
                 char *err, size_t len)
{
	struct option *lo = calloc(t->n + 1, sizeof(*lo));
	char *so = malloc(2 * t->n + 2);
	struct dm_arg *a = NULL;
	size_t i, nlo = 0, nso = 0, na = 0, cap = 0;
	int c, rc = -1;

	*out = NULL;
	*n = 0;
	if (lo == NULL || so == NULL)
		goto oom;
	so[nso++] = ':'; /* a missing argument is ':', not '?' */
	for (i = 0; i < t->n; i++) {
		const struct dm_opt *o = &t->opt[i];

		if (o->scope == DM_OPT_FILE)
			continue;
		lo[nlo].name = o->name;
		lo[nlo].has_arg = o->nargs > 0 ? required_argument : no_argument;
		lo[nlo].val = opt_val(o, i);
		nlo++;
		if (o->short_opt != 0) {
			so[nso++] = (char)o->short_opt;
			if (o->nargs > 0)
				so[nso++] = ':';
		}
	}
	so[nso] = '\0';
	optind = 0; /* glibc and musl: start afresh (a second scan, the tests) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const struct dm_opt *o;

		if (c == ':') {
			o = by_val(t, optopt);
			if (o != NULL && o->short_opt == optopt &&
			    strncmp(argv[optind - 1], "--", 2) != 0)
				dm_errf(err, len, "option '-%c' expects an argument", optopt);
			else if (o != NULL)
				dm_errf(err, len, "option '--%s' expects an argument", o->name);
			else
				dm_errf(err, len, "option '%s' expects an argument",
				        argv[optind - 1]);
			goto out;
		}
		if (c == '?') {
			unknown(t, argv[optind - 1], err, len);
			goto out;
		}
		o = by_val(t, c);
		if (o == NULL) { /* cannot happen: every value came from the table */
			dm_errf(err, len, "unexpected option");
			goto out;
		}
		/* A word may hold several options ("-PnS"): grow as they come. */
		if (na == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			struct dm_arg *na_ = realloc(a, ncap * sizeof(*a));

			if (na_ == NULL)
				goto oom;
			a = na_;
			cap = ncap;
		}
		a[na].opt = o;
		a[na].arg = o->nargs > 0 ? optarg : NULL;
		na++;
	}
	if (optind < argc) {
		dm_errf(err, len, "unexpected argument '%s' (see %s --help)", argv[optind],
		        t->prog);
		goto out;
	}
	*out = a != NULL ? a : malloc(sizeof(*a)); /* no option: still the caller's to free */
	if (*out == NULL)
		goto oom;
	*n = na;
	a = NULL;
	rc = 0;
	goto out;
oom:
	dm_errf(err, len, "out of memory");
out:
	free(a);
	free(so);
	free(lo);
	return rc;
}

size_t dm_opts_count(const struct dm_arg *a, size_t n, int id)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (a[i].opt->id == id)
			k++;
	return k;
}

/* ---- the file ---- */

static const struct dm_opt *by_name(const struct dm_opts *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->opt[i].name, name) == 0)
			return &t->opt[i];
	return NULL;
}

/* One line (NUL-terminated, no line end): 0 or -1 with msg (no location). */
static int conf_line(const struct dm_opts *t, char *line, unsigned lineno, dm_conf_fn fn,
                     void *user, char *msg, size_t len)
{
	char *w[DM_CONF_ARGS_MAX + 2];
	const struct dm_opt *o;
	int n = dm_conf_words(line, w, DM_CONF_ARGS_MAX + 1);

	if (n == 0)
		return 0;
	o = by_name(t, w[0]);
	if (o == NULL) {
		dm_errf(msg, len, "unknown keyword '%s' (see %s(8))", w[0], t->prog);
		return -1;
	}
	if (o->scope == DM_OPT_CLI) {
		dm_errf(msg, len, "'%s' is an option of the command line only", o->name);
		return -1;
	}
	if (o->nargs == DM_OPT_NARGS_MANY) {
		if (n < 2 || n > DM_CONF_ARGS_MAX + 1) {
			dm_errf(msg, len, "expected '%s %s'", o->name, o->args ? o->args : "VALUE");
			return -1;
		}
		w[n] = NULL;
		return fn(user, o, w + 1, lineno, msg, len);
	}
	if (n > 3 || n - 1 != o->nargs) {
		if (o->nargs == 0)
			dm_errf(msg, len, "expected no argument after '%s'", o->name);
		else
			dm_errf(msg, len, "expected '%s %s'", o->name, o->args ? o->args : "VALUE");
		return -1;
	}
	return fn(user, o, w + 1, lineno, msg, len);
}

int dm_conf_parse(const struct dm_opts *t, const char *name, const char *text, size_t len,
                  dm_conf_fn fn, void *user, char *err, size_t errlen)
{
	char *buf = malloc(len + 1), *p, *end;
	char msg[512];
	unsigned lineno = 0;
	int rc = 0;

	if (buf == NULL) {
		dm_file_errf(err, errlen, name, 0, "out of memory");
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	end = buf + len;
	for (p = buf; p < end && rc == 0;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *eol = nl != NULL ? nl : end;

		lineno++;
		if (memchr(p, '\0', (size_t)(eol - p)) != NULL) {
			dm_file_errf(err, errlen, name, lineno, "a NUL byte: not a text file");
			rc = -1;
			break;
		}
		*eol = '\0';
		if (conf_line(t, p, lineno, fn, user, msg, sizeof(msg)) < 0) {
			dm_file_errf(err, errlen, name, lineno, "%s", msg);
			rc = -1;
		}
		p = eol + 1;
	}
	explicit_bzero(buf, len + 1);
	free(buf);
	return rc;
}

/* ---- reading a file whole ---- */

int dm_file_read(const char *path, unsigned flags, char **text, size_t *len, char *err,
                 size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t cap, n = 0;
	int fd, rc = -1;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		dm_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		dm_errf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		dm_errf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((flags & DM_FILE_SECRET) && (st.st_mode & 077) != 0) {
		dm_errf(err, errlen, "%s: group or others can access it (mode %04o): chmod 600 %s",
		        path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	/* The size is a hint (the file may change): read to the end, one byte past the limit. */
	cap = st.st_size > 0 && (uint64_t)st.st_size < DM_FILE_MAX ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(cap + 1);
	if (buf == NULL)
		goto oom;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			/* Grow by copying, so no copy of a secret is left behind by realloc. */
			size_t ncap = cap * 2 > DM_FILE_MAX + 1 ? DM_FILE_MAX + 1 : cap * 2;
			char *nb;

			if (ncap <= cap) {
				dm_errf(err, errlen, "%s: larger than %d bytes", path, DM_FILE_MAX);
				goto out;
			}
			nb = malloc(ncap + 1);
			if (nb == NULL)
				goto oom;
			memcpy(nb, buf, n);
			explicit_bzero(buf, cap + 1);
			free(buf);
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			dm_errf(err, errlen, "%s: read error: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > DM_FILE_MAX) {
		dm_errf(err, errlen, "%s: larger than %d bytes", path, DM_FILE_MAX);
		goto out;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
	rc = 0;
	goto out;
oom:
	dm_errf(err, errlen, "%s: out of memory", path);
out:
	if (buf != NULL) {
		explicit_bzero(buf, cap + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

void dm_file_free(char *text, size_t len)
{
	if (text == NULL)
		return;
	explicit_bzero(text, len + 1);
	free(text);
}
