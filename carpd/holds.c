/*
 * carpd: what carpd adds to each demotion group, and why. Two kinds of
 * requests change a group: edges (`demote GROUP +N|-N`, an operator's
 * running count, clamped at 0) and holds (`hold HOLDER GROUP VALUE TTL`,
 * a level per holder that lapses unless re-stated). Per group carpd keeps
 * the edge, the holds, and what it has added to the engine's counter so
 * far ("applied"); every change hands the engine only the difference
 * between what is wanted now and what was applied, so the engine's own
 * raises (a lost carpdev, send errors) on the same counter are never
 * disturbed. No I/O and no clock here: time is an argument, the engine is
 * reached through the book's adjust function, and the daemon logs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carpd.h"

static const char *const stat_names[CD_BS_COUNT] = {
    [CD_BS_HOLD_REQUESTS] = "hold_requests",   [CD_BS_DEMOTE_REQUESTS] = "demote_requests",
    [CD_BS_HOLDS_LAPSED] = "holds_lapsed",     [CD_BS_BAD_SYNTAX] = "bad_syntax",
    [CD_BS_BAD_HOLDER] = "bad_holder",         [CD_BS_BAD_GROUP] = "bad_group",
    [CD_BS_BAD_VALUE] = "bad_value",           [CD_BS_BAD_TTL] = "bad_ttl",
    [CD_BS_OVER_LIMIT] = "over_limit",         [CD_BS_TABLE_FULL] = "table_full",
    [CD_BS_ENGINE_REFUSED] = "engine_refused",
};

const char *cd_book_stat_name(int i)
{
	return i >= 0 && i < CD_BS_COUNT ? stat_names[i] : "unknown";
}

/* ---------------------------------------------------------------------- */
/* Request parsing                                                         */

bool cd_holder_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= CD_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

#define HOLD_USAGE "expected 'hold HOLDER GROUP VALUE TTL [unless-master]'"

int cd_hold_parse(char *const *w, int n, struct cd_hold_req *req, char *err, enum cd_book_stat *why)
{
	unsigned v;

	memset(req, 0, sizeof(*req));
	if (n < 5 || n > 6) {
		*why = CD_BS_BAD_SYNTAX;
		cd_errf(err, HOLD_USAGE " (%s words)", n < 5 ? "too few" : "too many");
		return -1;
	}
	if (!cd_holder_name_ok(w[1])) {
		*why = CD_BS_BAD_HOLDER;
		cd_errf(err,
		        HOLD_USAGE
		        " (HOLDER: 1 to %d characters of A-Z a-z 0-9 _ . -, got '%.40s')",
		        CD_NAME_MAX - 1, w[1]);
		return -1;
	}
	if (strncmp(w[1], CD_TRACK_HOLDER_PREFIX, strlen(CD_TRACK_HOLDER_PREFIX)) == 0) {
		*why = CD_BS_BAD_HOLDER;
		cd_errf(err, HOLD_USAGE " (HOLDER: names starting with '" CD_TRACK_HOLDER_PREFIX
		                        "' are carpd's trackers')");
		return -1;
	}
	if (!rd_carp_group_name_ok(w[2])) {
		*why = CD_BS_BAD_GROUP;
		cd_errf(err,
		        HOLD_USAGE " (GROUP: 1 to %d printable characters, not starting with '-', "
		                   "got '%.40s')",
		        CD_NAME_MAX - 1, w[2]);
		return -1;
	}
	if (dm_parse_uint(w[3], 0, 255, &v) < 0) {
		*why = CD_BS_BAD_VALUE;
		cd_errf(err, HOLD_USAGE " (VALUE: 0 to 255, got '%.40s')", w[3]);
		return -1;
	}
	req->value = (unsigned int)v;
	if (dm_parse_uint(w[4], 1, CD_HOLD_TTL_MAX, &v) < 0) {
		*why = CD_BS_BAD_TTL;
		cd_errf(err, HOLD_USAGE " (TTL: 1 to %d seconds, got '%.40s')", CD_HOLD_TTL_MAX,
		        w[4]);
		return -1;
	}
	req->ttl = (unsigned int)v;
	if (n == 6) {
		if (strcmp(w[5], "unless-master") != 0) {
			*why = CD_BS_BAD_SYNTAX;
			cd_errf(err, HOLD_USAGE " (got '%.40s' for 'unless-master')", w[5]);
			return -1;
		}
		req->unless_master = true;
	}
	strcpy(req->holder, w[1]);
	strcpy(req->group, w[2]);
	return 0;
}

#define DEMOTE_USAGE "expected 'demote GROUP +N' or 'demote GROUP -N' (N <= 255)"

int cd_demote_parse(char *const *w, int n, struct cd_demote_req *req, char *err,
                    enum cd_book_stat *why)
{
	unsigned v;

	memset(req, 0, sizeof(*req));
	if (n != 3) {
		*why = CD_BS_BAD_SYNTAX;
		cd_errf(err, DEMOTE_USAGE);
		return -1;
	}
	if (!rd_carp_group_name_ok(w[1])) {
		*why = CD_BS_BAD_GROUP;
		cd_errf(err,
		        DEMOTE_USAGE " (GROUP: 1 to %d printable characters, not starting with "
		                     "'-', got '%.40s')",
		        CD_NAME_MAX - 1, w[1]);
		return -1;
	}
	if ((w[2][0] != '+' && w[2][0] != '-') || dm_parse_uint(w[2] + 1, 0, 255, &v) < 0) {
		*why = CD_BS_BAD_VALUE;
		cd_errf(err, DEMOTE_USAGE " (got '%.40s')", w[2]);
		return -1;
	}
	strcpy(req->group, w[1]);
	req->delta = w[2][0] == '-' ? -(int)v : (int)v;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The book                                                                */

void cd_book_init(struct cd_book *b, cd_adjust_fn adjust, void *user)
{
	memset(b, 0, sizeof(*b));
	b->adjust = adjust;
	b->user = user;
}

static struct cd_group_book *group_find(struct cd_book *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->ngroups; i++)
		if (strcmp(b->groups[i].name, name) == 0)
			return &b->groups[i];
	return NULL;
}

const struct cd_group_book *cd_book_group(const struct cd_book *b, const char *name)
{
	return group_find((struct cd_book *)b, name);
}

static struct cd_hold *hold_find(struct cd_book *b, const char *holder, const char *group)
{
	size_t i;

	for (i = 0; i < b->nholds; i++)
		if (strcmp(b->holds[i].holder, holder) == 0 &&
		    strcmp(b->holds[i].group, group) == 0)
			return &b->holds[i];
	return NULL;
}

const struct cd_hold *cd_book_find(const struct cd_book *b, const char *holder, const char *group)
{
	return hold_find((struct cd_book *)b, holder, group);
}

/* The sum of the holds on a group. */
static unsigned long holds_sum(const struct cd_book *b, const char *group)
{
	unsigned long s = 0;
	size_t i;

	for (i = 0; i < b->nholds; i++)
		if (strcmp(b->holds[i].group, group) == 0)
			s += b->holds[i].value;
	return s;
}

unsigned long cd_book_wanted(const struct cd_book *b, const char *group)
{
	const struct cd_group_book *g = cd_book_group(b, group);

	return (g != NULL ? g->edge : 0) + holds_sum(b, group);
}

/* A group entry, created at 0 when missing; NULL when the table is full. */
static struct cd_group_book *group_get(struct cd_book *b, const char *name)
{
	struct cd_group_book *g = group_find(b, name);

	if (g != NULL || b->ngroups == CD_GROUPS_MAX)
		return g;
	g = &b->groups[b->ngroups++];
	memset(g, 0, sizeof(*g));
	/* Cut to the field, as snprintf would (gcc -O2 with ASan warns on that). */
	memcpy(g->name, name, strnlen(name, sizeof(g->name) - 1));
	return g;
}

/* Forget the groups carpd no longer adds anything to. */
static void groups_gc(struct cd_book *b)
{
	size_t i;

	for (i = 0; i < b->ngroups;) {
		struct cd_group_book *g = &b->groups[i];

		if (g->edge == 0 && g->applied == 0 && holds_sum(b, g->name) == 0)
			*g = b->groups[--b->ngroups];
		else
			i++;
	}
}

/*
 * Hand the engine, for every group, the difference between what it wants
 * now and what was applied: all decreases first, so that a change that
 * moves demotion from one group to another never shows a sum higher than
 * before or after (a MASTER advertises every change at once). On a
 * refusal the groups changed so far are put back and the error returned.
 */
static int sync_all(struct cd_book *b, rd_time_t now)
{
	long delta[CD_GROUPS_MAX];
	size_t i, done[CD_GROUPS_MAX], ndone = 0;
	int pass, rc;

	for (i = 0; i < b->ngroups; i++)
		delta[i] = (long)cd_book_wanted(b, b->groups[i].name) - (long)b->groups[i].applied;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < b->ngroups; i++) {
			if (pass == 0 ? delta[i] >= 0 : delta[i] <= 0)
				continue;
			rc = b->adjust(b->user, b->groups[i].name, (int)delta[i], now);
			if (rc != 0) {
				while (ndone-- > 0)
					b->adjust(b->user, b->groups[done[ndone]].name,
					          (int)-delta[done[ndone]], now);
				return rc;
			}
			done[ndone++] = i;
		}
	for (i = 0; i < b->ngroups; i++)
		b->groups[i].applied += delta[i];
	return 0;
}

/* One operation on the tables, not yet handed to the engine. */
static int op_do(struct cd_book *b, const struct cd_book_op *op, rd_time_t now, char *err,
                 enum cd_book_stat *why)
{
	struct cd_group_book *g;
	struct cd_hold *h = op->holder != NULL ? hold_find(b, op->holder, op->group) : NULL;
	long edge;

	if (op->holder != NULL && op->value == 0) {
		if (h != NULL)
			*h = b->holds[--b->nholds];
		return 0;
	}
	g = group_get(b, op->group);
	if (g == NULL) {
		*why = CD_BS_TABLE_FULL;
		if (op->holder != NULL)
			cd_errf(err, "hold %s on %s: carpd keeps at most %d demotion groups",
			        op->holder, op->group, CD_GROUPS_MAX);
		else
			cd_errf(err, "demote %s: carpd keeps at most %d demotion groups", op->group,
			        CD_GROUPS_MAX);
		return RD_ERR_LIMIT;
	}
	if (op->holder == NULL) {
		edge = (long)g->edge + op->delta;
		if (edge < 0)
			edge = 0;
		if (edge > 255) {
			*why = CD_BS_OVER_LIMIT;
			cd_errf(err,
			        "demote %s %+d: the group's demotion by request would be %ld (at "
			        "most 255)",
			        op->group, op->delta, edge);
			return RD_ERR_LIMIT;
		}
		g->edge = (unsigned int)edge;
		return 0;
	}
	if (h == NULL) {
		if (b->nholds == CD_HOLDS_MAX) {
			*why = CD_BS_TABLE_FULL;
			cd_errf(err, "hold %s on %s: carpd keeps at most %d holds", op->holder,
			        op->group, CD_HOLDS_MAX);
			return RD_ERR_LIMIT;
		}
		h = &b->holds[b->nholds++];
		memset(h, 0, sizeof(*h));
		snprintf(h->holder, sizeof(h->holder), "%s", op->holder);
		snprintf(h->group, sizeof(h->group), "%s", op->group);
	}
	h->value = op->value;
	h->ttl = op->ttl;
	/* ttl 0 (carpd's trackers only: requests take 1..CD_HOLD_TTL_MAX): kept until changed. */
	h->expires = op->ttl != 0 ? now + (rd_time_t)op->ttl * RD_SEC : RD_TIME_NEVER;
	return 0;
}

int cd_book_apply(struct cd_book *b, const struct cd_book_op *ops, size_t n, rd_time_t now,
                  char *err)
{
	/* Plain data: a copy is the undo. */
	struct cd_book saved = *b;
	enum cd_book_stat why = CD_BS_ENGINE_REFUSED;
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = op_do(b, &ops[i], now, err, &why);
	if (rc == 0) {
		rc = sync_all(b, now);
		if (rc != 0 && ops[0].holder != NULL)
			cd_errf(err, "hold %s on %s: the engine refused: %s", ops[0].holder,
			        ops[0].group, rd_strerror(rc));
		else if (rc != 0)
			cd_errf(err, "demote %s: the engine refused: %s", ops[0].group,
			        rd_strerror(rc));
	}
	if (rc != 0) {
		*b = saved;
		b->stats[why]++;
		return rc;
	}
	groups_gc(b);
	for (i = 0; i < n; i++)
		if (!ops[i].internal)
			b->stats[ops[i].holder != NULL ? CD_BS_HOLD_REQUESTS
			                               : CD_BS_DEMOTE_REQUESTS]++;
	return 0;
}

int cd_book_hold(struct cd_book *b, const char *holder, const char *group, unsigned int value,
                 unsigned int ttl, rd_time_t now, char *err)
{
	struct cd_book_op op = {.holder = holder, .group = group, .value = value, .ttl = ttl};

	return cd_book_apply(b, &op, 1, now, err);
}

int cd_book_demote(struct cd_book *b, const char *group, int delta, rd_time_t now, char *err)
{
	struct cd_book_op op = {.group = group, .delta = delta};

	return cd_book_apply(b, &op, 1, now, err);
}

rd_time_t cd_book_expiry(const struct cd_book *b)
{
	rd_time_t next = RD_TIME_NEVER;
	size_t i;

	for (i = 0; i < b->nholds; i++)
		if (b->holds[i].expires < next)
			next = b->holds[i].expires;
	return next;
}

int cd_book_expire(struct cd_book *b, rd_time_t now, struct cd_hold *out)
{
	size_t i;

	for (i = 0; i < b->nholds; i++)
		if (b->holds[i].expires <= now)
			break;
	if (i == b->nholds)
		return 0;
	*out = b->holds[i];
	b->holds[i] = b->holds[--b->nholds];
	b->stats[CD_BS_HOLDS_LAPSED]++;
	/* Taking a value back never needs memory; should the engine refuse anyway,
	 * applied keeps what is really there and the next change hands the engine
	 * the whole difference. */
	if (sync_all(b, now) != 0)
		b->stats[CD_BS_ENGINE_REFUSED]++;
	groups_gc(b);
	return 1;
}
