/*
 * Daemon plumbing: the text helpers carpd, syncd and redundctl share (word
 * splitting, string setters, number parsers, error messages, the growable
 * buffer and its JSON writers). See daemon.h for the rules; one
 * implementation of each, no I/O.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

/* ---- words ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The one splitter: comments says whether a word starting with '#' ends the line. */
static int split(char *s, char **w, int max, bool comments)
{
	int n = 0;

	for (;;) {
		while (is_space(*s))
			s++;
		if (*s == '\0' || (comments && *s == '#'))
			return n;
		if (n == max)
			return max + 1;
		w[n++] = s;
		while (*s != '\0' && !is_space(*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

int dm_words(char *line, char **w, int max)
{
	return split(line, w, max, false);
}

int dm_conf_words(char *line, char **w, int max)
{
	return split(line, w, max, true);
}

/* ---- strings ---- */

int dm_str_set(char **dst, const char *s)
{
	char *c = strdup(s);

	if (c == NULL)
		return -ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

int dm_str_copy(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= size)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

/* ---- numbers ---- */

static int digit(char c, int base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < base ? v : -1;
}

int dm_parse_u64(const char *s, int base, uint64_t lo, uint64_t hi, uint64_t *out)
{
	uint64_t v = 0;
	bool big = false;

	if (base != 10 && base != 16)
		return DM_NUM_SYNTAX;
	if (s == NULL || *s == '\0')
		return DM_NUM_SYNTAX;
	for (; *s != '\0'; s++) {
		int d = digit(*s, base);

		if (d < 0)
			return DM_NUM_SYNTAX;
		/* Past UINT64_MAX: keep reading, a later non-digit is still syntax. */
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			big = true;
		else
			v = v * (uint64_t)base + (uint64_t)d;
	}
	if (big || v < lo || v > hi)
		return DM_NUM_RANGE;
	*out = v;
	return 0;
}

int dm_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;
	int rc = dm_parse_u64(s, 10, lo, hi, &v);

	if (rc == 0)
		*out = (unsigned)v;
	return rc;
}

const char *dm_num_strerror(int rc)
{
	switch (rc) {
	case 0:
		return "ok";
	case DM_NUM_SYNTAX:
		return "not a number (digits only, no sign or spaces)";
	case DM_NUM_RANGE:
		return "out of range";
	default:
		return "unknown error";
	}
}

/* ---- error messages ---- */

void dm_verrf(char *err, size_t len, const char *fmt, va_list ap)
{
	if (len == 0)
		return;
	vsnprintf(err, len, fmt, ap);
}

void dm_errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dm_verrf(err, len, fmt, ap);
	va_end(ap);
}

void dm_file_errf(char *err, size_t len, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len == 0)
		return;
	n = line != 0 ? snprintf(err, len, "%s:%u: ", file, line)
	              : snprintf(err, len, "%s: ", file);
	if (n < 0 || (size_t)n >= len)
		return; /* the location alone filled it: truncated */
	va_start(ap, fmt);
	dm_verrf(err + n, len - (size_t)n, fmt, ap);
	va_end(ap);
}

/* ---- the buffer and JSON ---- */

void dm_buf_printf(struct dm_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		size_t ncap;
		char *np;

		va_start(ap, fmt);
		n = vsnprintf(b->p != NULL ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		ncap = (b->cap + (size_t)n + 1) * 2;
		np = realloc(b->p, ncap);
		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/* Append n raw bytes (no formatting; they contain no NUL). */
static void buf_put(struct dm_buf *b, const char *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->cap - b->len <= n) {
		size_t ncap = (b->cap + n + 1) * 2;
		char *np = realloc(b->p, ncap);

		if (np == NULL) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

size_t dm_utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else
		return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. */
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

void dm_buf_json_strn(struct dm_buf *b, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max), i = 0;

	buf_put(b, "\"", 1);
	while (i < n) {
		unsigned char c = u[i];
		size_t run = 0;

		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};

			buf_put(b, e, 2);
			i++;
			continue;
		}
		if (c >= 0x20 && c != 0x7f)
			run = dm_utf8_len(u + i, n - i);
		if (run == 0) {
			/* A control byte, DEL, or a byte of no valid UTF-8 sequence. */
			dm_buf_printf(b, "\\u%04x", c);
			i++;
			continue;
		}
		buf_put(b, s + i, run);
		i += run;
	}
	buf_put(b, "\"", 1);
}

void dm_buf_json_str(struct dm_buf *b, const char *s)
{
	dm_buf_json_strn(b, s, SIZE_MAX);
}

void dm_buf_json_counters(struct dm_buf *b, const uint64_t *v, int n, const char *(*name)(int))
{
	dm_buf_printf(b, "{");
	for (int i = 0; i < n; i++)
		dm_buf_printf(b, "%s\"%s\": %llu", i ? ", " : "", name(i),
		              (unsigned long long)v[i]);
	dm_buf_printf(b, "}");
}

const char *dm_af_name(int af)
{
	return af == RD_AF_INET ? "inet" : af == RD_AF_INET6 ? "inet6" : "unspec";
}
