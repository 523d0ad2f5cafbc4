/*
 * redundctl: `carp status --prom` and `sync status --prom`. The daemons'
 * JSON status turned into Prometheus' text exposition format by rules,
 * not by a list of names, so a field a daemon adds later appears without a
 * change here (the rules are in redundctl.h, rctl_prom).
 *
 * The JSON is parsed into a small tree first (depth and size bounded:
 * the daemons' answers are trusted, but this is a decoder and is fuzzed),
 * then walked once to collect samples, which are printed grouped by
 * metric family, families in the order first met.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redundctl.h"

#define JSON_DEPTH_MAX 32
#define LABELS_MAX     8

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype type;
	bool b;
	bool integer; /* J_NUM: digits only (a count) */
	char *s;      /* J_STR: decoded UTF-8; J_NUM: the number's text */
	char **keys;  /* J_OBJ */
	struct jv *kids;
	size_t n;
};

struct parser {
	const char *p, *end;
	int depth;
	const char *err;
};

static void jv_free(struct jv *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (v->keys != NULL)
			free(v->keys[i]);
		jv_free(&v->kids[i]);
	}
	free(v->keys);
	free(v->kids);
	free(v->s);
}

static void ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int fail(struct parser *ps, const char *why)
{
	if (ps->err == NULL)
		ps->err = why;
	return -1;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* A string at ps->p (at its '"'), decoded to UTF-8 into *out (malloc'd). */
static int parse_str(struct parser *ps, char **out)
{
	struct dm_buf b = {0};

	ps->p++;
	for (;;) {
		unsigned char c;

		if (ps->p >= ps->end)
			goto bad;
		c = (unsigned char)*ps->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			dm_buf_printf(&b, "%c", c);
			continue;
		}
		if (ps->p >= ps->end)
			goto bad;
		c = (unsigned char)*ps->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			dm_buf_printf(&b, "%c", c);
			break;
		case 'b':
			dm_buf_printf(&b, "\b");
			break;
		case 'f':
			dm_buf_printf(&b, "\f");
			break;
		case 'n':
			dm_buf_printf(&b, "\n");
			break;
		case 'r':
			dm_buf_printf(&b, "\r");
			break;
		case 't':
			dm_buf_printf(&b, "\t");
			break;
		case 'u': {
			unsigned u;

			if (ps->end - ps->p < 4 || hex4(ps->p, &u) < 0)
				goto bad;
			ps->p += 4;
			/* Surrogates are not paired up: the daemons never write them. */
			if (u == 0 || (u >= 0xd800 && u <= 0xdfff))
				u = 0xfffd;
			if (u < 0x80)
				dm_buf_printf(&b, "%c", (int)u);
			else if (u < 0x800)
				dm_buf_printf(&b, "%c%c", (int)(0xc0 | (u >> 6)),
				              (int)(0x80 | (u & 0x3f)));
			else
				dm_buf_printf(&b, "%c%c%c", (int)(0xe0 | (u >> 12)),
				              (int)(0x80 | ((u >> 6) & 0x3f)),
				              (int)(0x80 | (u & 0x3f)));
			break;
		}
		default:
			goto bad;
		}
	}
	if (b.oom) {
		free(b.p);
		return fail(ps, "out of memory");
	}
	if (b.p == NULL && (b.p = strdup("")) == NULL)
		return fail(ps, "out of memory");
	*out = b.p;
	return 0;
bad:
	free(b.p);
	return fail(ps, "bad string");
}

static int parse_value(struct parser *ps, struct jv *v);

/* An array or object's members; obj: "key": value pairs. */
static int parse_members(struct parser *ps, struct jv *v, bool obj)
{
	char close = obj ? '}' : ']';

	ps->p++;
	ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct jv *nk;
		char *key = NULL;

		ws(ps);
		if (obj) {
			char **nkeys;

			if (ps->p >= ps->end || *ps->p != '"' || parse_str(ps, &key) < 0)
				return fail(ps, "expected a key");
			ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				return fail(ps, "expected ':'");
			}
			ps->p++;
			nkeys = realloc(v->keys, (v->n + 1) * sizeof(*nkeys));
			if (nkeys == NULL) {
				free(key);
				return fail(ps, "out of memory");
			}
			v->keys = nkeys;
		}
		nk = realloc(v->kids, (v->n + 1) * sizeof(*nk));
		if (nk == NULL) {
			free(key);
			return fail(ps, "out of memory");
		}
		v->kids = nk;
		memset(&v->kids[v->n], 0, sizeof(*nk));
		if (obj)
			v->keys[v->n] = key;
		v->n++;
		if (parse_value(ps, &v->kids[v->n - 1]) < 0)
			return -1;
		ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int parse_number(struct parser *ps, struct jv *v)
{
	const char *s = ps->p;
	bool digits = false;

	v->type = J_NUM;
	v->integer = true;
	if (ps->p < ps->end && *ps->p == '-') {
		ps->p++;
		v->integer = false;
	}
	while (ps->p < ps->end && strchr("0123456789.eE+-", *ps->p) != NULL) {
		if (*ps->p >= '0' && *ps->p <= '9')
			digits = true;
		else
			v->integer = false;
		ps->p++;
	}
	if (!digits || ps->p - s > 40)
		return fail(ps, "bad number");
	/* The text as written (Prometheus reads JSON's number syntax), checked by strtod. */
	v->s = strndup(s, (size_t)(ps->p - s));
	if (v->s == NULL)
		return fail(ps, "out of memory");
	{
		char *e;

		(void)strtod(v->s, &e);
		if (*e != '\0')
			return fail(ps, "bad number");
	}
	return 0;
}

static int parse_value(struct parser *ps, struct jv *v)
{
	int rc;

	ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end");
	switch (*ps->p) {
	case '{':
	case '[':
		if (++ps->depth > JSON_DEPTH_MAX)
			return fail(ps, "nested too deep");
		v->type = *ps->p == '{' ? J_OBJ : J_ARR;
		rc = parse_members(ps, v, v->type == J_OBJ);
		ps->depth--;
		return rc;
	case '"':
		v->type = J_STR;
		return parse_str(ps, &v->s);
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = {"true", "false", "null"};
		int i = *ps->p == 't' ? 0 : *ps->p == 'f' ? 1 : 2;
		size_t l = strlen(words[i]);

		if ((size_t)(ps->end - ps->p) < l || memcmp(ps->p, words[i], l) != 0)
			return fail(ps, "bad literal");
		ps->p += l;
		v->type = i == 2 ? J_NULL : J_BOOL;
		v->b = i == 0;
		return 0;
	}
	default:
		return parse_number(ps, v);
	}
}

/* ---- samples ---- */

struct sample {
	size_t family; /* index into families */
	char *labels;  /* "{a=\"b\"}" or "" */
	char *value;
};

struct family {
	char *name;
	char *help;
	bool counter;
};

struct label {
	char name[64];
	const char *value;
};

struct walk {
	const char *prefix;
	struct family *fam;
	size_t nfam;
	struct sample *smp;
	size_t nsmp;
	bool oom;
};

/* Values of string members that are states, as numbers (a gauge each). */
static const struct {
	const char *key;
	const char *names[4];
} enums[] = {
    {"state", {"INIT", "BACKUP", "MASTER", NULL}},
    {"link", {"down", "up", NULL, NULL}},
    {"mode", {"plain", "secure", NULL, NULL}},
};

/* Numbers that name a thing rather than measure it: labels. */
static bool identity_number(const char *key)
{
	return strcmp(key, "vhid") == 0;
}

static int enum_value(const char *key, const char *s)
{
	size_t i, j;

	for (i = 0; i < sizeof(enums) / sizeof(enums[0]); i++)
		if (strcmp(enums[i].key, key) == 0) {
			for (j = 0; j < 4 && enums[i].names[j] != NULL; j++)
				if (strcmp(enums[i].names[j], s) == 0)
					return (int)j;
			return -2; /* an enum's unknown value */
		}
	return -1;
}

static const char *enum_help(const char *key)
{
	static char buf[128];
	size_t i, j;

	for (i = 0; i < sizeof(enums) / sizeof(enums[0]); i++)
		if (strcmp(enums[i].key, key) == 0) {
			size_t off = 0;

			for (j = 0; j < 4 && enums[i].names[j] != NULL; j++)
				off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%zu %s",
				                        j ? ", " : " (", j, enums[i].names[j]);
			snprintf(buf + off, sizeof(buf) - off, ", -1 other)");
			return buf;
		}
	return "";
}

/* name: [a-zA-Z_:][a-zA-Z0-9_:]*, anything else becomes '_'. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
			*s = '_';
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (s == NULL)
		return NULL;
	memcpy(s, a, la);
	s[la] = la && lb ? '_' : '\0';
	memcpy(s + la + (la && lb), b, lb + 1);
	return s;
}

/* A label value's escapes: backslash, double quote, newline; HELP's: the first and last. */
static void escape(struct dm_buf *b, const char *v, bool quote)
{
	for (; *v; v++) {
		if (*v == '\\')
			dm_buf_printf(b, "\\\\");
		else if (*v == '"' && quote)
			dm_buf_printf(b, "\\\"");
		else if (*v == '\n')
			dm_buf_printf(b, "\\n");
		else
			dm_buf_printf(b, "%c", *v);
	}
}

static char *labels_text(const struct label *l, size_t n)
{
	struct dm_buf b = {0};
	size_t i;

	if (n == 0)
		return strdup("");
	dm_buf_printf(&b, "{");
	for (i = 0; i < n; i++) {
		dm_buf_printf(&b, "%s%s=\"", i ? "," : "", l[i].name);
		escape(&b, l[i].value, true);
		dm_buf_printf(&b, "\"");
	}
	dm_buf_printf(&b, "}");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Add a sample of family `name` (owned by the call). */
static void add(struct walk *w, char *name, const char *help, bool counter, const struct label *l,
                size_t nl, const char *value)
{
	size_t f;
	struct sample *ns;

	if (name == NULL) {
		w->oom = true;
		return;
	}
	sanitize(name);
	if (name[0] >= '0' && name[0] <= '9')
		name[0] = '_';
	for (f = 0; f < w->nfam && strcmp(w->fam[f].name, name) != 0; f++)
		;
	if (f == w->nfam) {
		struct family *nf = realloc(w->fam, (w->nfam + 1) * sizeof(*nf));

		if (nf == NULL) {
			free(name);
			w->oom = true;
			return;
		}
		w->fam = nf;
		nf[f].name = name;
		nf[f].help = strdup(help);
		nf[f].counter = counter;
		w->nfam++;
		if (nf[f].help == NULL)
			w->oom = true;
	} else {
		free(name);
	}
	ns = realloc(w->smp, (w->nsmp + 1) * sizeof(*ns));
	if (ns == NULL) {
		w->oom = true;
		return;
	}
	w->smp = ns;
	ns[w->nsmp].family = f;
	ns[w->nsmp].labels = labels_text(l, nl);
	ns[w->nsmp].value = strdup(value);
	if (ns[w->nsmp].labels == NULL || ns[w->nsmp].value == NULL) {
		free(ns[w->nsmp].labels);
		free(ns[w->nsmp].value);
		w->oom = true;
		return;
	}
	w->nsmp++;
}

/*
 * A counter group (the JSON schema's {name: count}): an object that is not
 * an array element, whose numbers are all whole and which has at least one
 * and no flag, object or array (a text member, such as why the last reload
 * was refused, becomes an info label and leaves the others counters).
 */
static bool counter_group(const struct jv *o, bool element)
{
	size_t i, n = 0;

	if (element)
		return false;
	for (i = 0; i < o->n; i++) {
		const struct jv *v = &o->kids[i];

		if (v->type == J_NULL || v->type == J_STR)
			continue;
		if (v->type != J_NUM || !v->integer)
			return false;
		n++;
	}
	return n > 0;
}

/* "interfaces" -> "interface": the name of one element of an array. */
static void singular(char *dst, size_t len, const char *key)
{
	size_t n = strlen(key);

	snprintf(dst, len, "%.*s", (int)(n > 1 && key[n - 1] == 's' ? n - 1 : n), key);
}

static void set_label(struct label *l, size_t *nl, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < *nl && strcmp(l[i].name, name) != 0; i++)
		;
	if (i == *nl) {
		if (*nl == LABELS_MAX)
			return;
		(*nl)++;
	}
	snprintf(l[i].name, sizeof(l[i].name), "%s", name);
	sanitize(l[i].name);
	if (l[i].name[0] >= '0' && l[i].name[0] <= '9')
		l[i].name[0] = '_';
	l[i].value = value;
}

static void walk_obj(struct walk *w, const struct jv *o, const char *path, const char *jpath,
                     const struct label *inl, size_t ninl, bool element, const char *elem_name);

/* An array member: objects are elements (their own labels); scalars are skipped. */
static void walk_arr(struct walk *w, const struct jv *a, const char *key, const char *jpath,
                     const struct label *l, size_t nl)
{
	char one[64], jp[512];
	size_t i;

	char *path;

	singular(one, sizeof(one), key);
	snprintf(jp, sizeof(jp), "%s%s%s[]", jpath, jpath[0] ? "." : "", key);
	/* An element's family is named after it alone: interfaces[].vhosts[] is "vhost". */
	path = join(w->prefix, one);
	if (path == NULL) {
		w->oom = true;
		return;
	}
	for (i = 0; i < a->n; i++)
		if (a->kids[i].type == J_OBJ)
			walk_obj(w, &a->kids[i], path, jp, l, nl, true, one);
	free(path);
}

static void walk_obj(struct walk *w, const struct jv *o, const char *path, const char *jpath,
                     const struct label *inl, size_t ninl, bool element, const char *elem_name)
{
	struct label l[LABELS_MAX], info[LABELS_MAX];
	size_t nl = ninl, ninfo = 0, i;
	bool counters = counter_group(o, element);
	char help[768], jp[512];

	if (ninl > 0)
		memcpy(l, inl, ninl * sizeof(*l));
	/* An element's names first: its strings and identity numbers label every sample. */
	if (element)
		for (i = 0; i < o->n; i++) {
			const struct jv *v = &o->kids[i];
			const char *k = o->keys[i];

			if ((v->type == J_STR && enum_value(k, v->s) == -1) ||
			    (v->type == J_NUM && identity_number(k)))
				set_label(l, &nl, strcmp(k, "name") == 0 ? elem_name : k, v->s);
		}
	for (i = 0; i < o->n; i++) {
		const struct jv *v = &o->kids[i];
		const char *k = o->keys[i];
		char *name;
		int e;

		snprintf(jp, sizeof(jp), "%s%s%s", jpath, jpath[0] ? "." : "", k);
		switch (v->type) {
		case J_NULL:
			break;
		case J_BOOL:
			snprintf(help, sizeof(help), "%s (1 true, 0 false)", jp);
			add(w, join(path, k), help, false, l, nl, v->b ? "1" : "0");
			break;
		case J_NUM:
			if (element && identity_number(k))
				break;
			if (counters) {
				char *base = join(path, k);

				snprintf(help, sizeof(help), "%s (counter)", jp);
				add(w, base ? join(base, "total") : NULL, help, true, l, nl, v->s);
				free(base);
			} else {
				snprintf(help, sizeof(help), "%s", jp);
				add(w, join(path, k), help, false, l, nl, v->s);
			}
			break;
		case J_STR:
			e = enum_value(k, v->s);
			if (e != -1) {
				char num[16];

				snprintf(num, sizeof(num), "%d", e < 0 ? -1 : e);
				snprintf(help, sizeof(help), "%s%s", jp, enum_help(k));
				add(w, join(path, k), help, false, l, nl, num);
			} else if (!element) {
				set_label(info, &ninfo, k, v->s);
			}
			break;
		case J_OBJ:
			/* "counters" names nothing: vhost.counters.badauth is vhost_badauth_total.
			 */
			name = strcmp(k, "counters") == 0 ? strdup(path) : join(path, k);
			if (name == NULL) {
				w->oom = true;
				break;
			}
			walk_obj(w, v, name, jp, l, nl, false, NULL);
			free(name);
			break;
		case J_ARR:
			walk_arr(w, v, k, jpath, l, nl);
			break;
		}
	}
	/* The strings of an object that is not an element: one info sample. */
	if (ninfo > 0) {
		struct label all[LABELS_MAX * 2];

		memcpy(all, l, nl * sizeof(*l));
		memcpy(all + nl, info, ninfo * sizeof(*info));
		snprintf(help, sizeof(help), "%s%s's text fields as labels (always 1)", jpath,
		         jpath[0] ? "" : "status");
		add(w, join(path, "info"), help, false, all, nl + ninfo, "1");
	}
}

int rctl_prom(const char *json, size_t len, const char *prefix, const char *what,
              struct dm_buf *out, char *err, size_t errlen)
{
	struct parser ps = {json, json + len, 0, NULL};
	struct jv root = {0};
	struct walk w = {prefix, NULL, 0, NULL, 0, false};
	size_t f, i;
	int rc = -1;

	if (parse_value(&ps, &root) == 0) {
		ws(&ps);
		if (ps.p != ps.end)
			fail(&ps, "trailing bytes");
		else if (root.type != J_OBJ)
			fail(&ps, "not an object");
	}
	if (ps.err != NULL) {
		dm_errf(err, errlen, "%s: not JSON at byte %zu: %s", what, (size_t)(ps.p - json),
		        ps.err);
		goto out;
	}
	walk_obj(&w, &root, prefix, "", NULL, 0, false, NULL);
	if (w.oom) {
		dm_errf(err, errlen, "out of memory");
		goto out;
	}
	/* Families in the order first met, each family's samples together. */
	dm_buf_printf(out, "# HELP %s_up Whether %s answered (1), or not (0).\n", prefix, what);
	dm_buf_printf(out, "# TYPE %s_up gauge\n%s_up 1\n", prefix, prefix);
	for (f = 0; f < w.nfam; f++) {
		dm_buf_printf(out, "# HELP %s %s status: ", w.fam[f].name, what);
		/* HELP text escapes: backslash and newline. */
		escape(out, w.fam[f].help, false);
		dm_buf_printf(out, "\n# TYPE %s %s\n", w.fam[f].name,
		              w.fam[f].counter ? "counter" : "gauge");
		for (i = 0; i < w.nsmp; i++)
			if (w.smp[i].family == f)
				dm_buf_printf(out, "%s%s %s\n", w.fam[f].name, w.smp[i].labels,
				              w.smp[i].value);
	}
	if (out->oom) {
		dm_errf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	for (f = 0; f < w.nfam; f++) {
		free(w.fam[f].name);
		free(w.fam[f].help);
	}
	for (i = 0; i < w.nsmp; i++) {
		free(w.smp[i].labels);
		free(w.smp[i].value);
	}
	free(w.fam);
	free(w.smp);
	jv_free(&root);
	return rc;
}
