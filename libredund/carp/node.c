/*
 * The node: one host's demotion groups, shared by all its CARP ifs
 * (OpenBSD's interface groups and their ifg_carp_demoted counters). A
 * vhost is in some of the groups ("carp" unless it left it); what it
 * advertises is the sum of their counters. Link loss and send errors make
 * a vhost raise every group it is in (carp_group_demote_adj on the carp
 * interface); the vhost remembers what it raised and takes it back.
 *
 * A change of a counter only marks the node dirty; carpi_settle, run at
 * the end of every public call, recomputes each vhost's demotion, makes
 * MASTERs whose value moved advertise, runs the demotion callbacks, and
 * applies the send-error raises those advertisements decided.
 *
 * A group lives while a vhost is in it or its counter is above 0 ("carp"
 * for ever): groups a caller names once (a demote request for a new name)
 * go when they are back at 0, so the node never grows with the names it
 * was given, only with what is configured or raised now.
 */
#include <stdio.h>
#include <string.h>

#include "carp_internal.h"

#define GROUP_CARP    "carp"
#define LEAVE_CARP    "-carp"
#define SETTLE_ROUNDS 4

/* ------------------------------------------------------------------ */
/* Groups                                                              */

bool rd_carp_group_name_ok(const char *name)
{
	size_t len;

	if (name == NULL || name[0] == '\0' || name[0] == '-')
		return false;
	len = strnlen(name, RD_CARP_GROUP_NAME_MAX);
	if (len >= RD_CARP_GROUP_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f)
			return false;
	return true;
}

static struct demote_group *group_find(const struct rd_carp_node *n, const char *name)
{
	for (size_t i = 0; i < n->ngroups; i++)
		if (strcmp(n->groups[i]->name, name) == 0)
			return n->groups[i];
	return NULL;
}

/* The group of that name, created at 0 if missing; NULL when out of memory. */
static struct demote_group *group_get(struct rd_carp_node *n, const char *name)
{
	struct demote_group *g = group_find(n, name), **arr;

	if (g != NULL)
		return g;
	arr = rd_realloc(n->mem, n->groups, (n->ngroups + 1) * sizeof(*arr));
	if (arr == NULL)
		return NULL;
	n->groups = arr;
	g = rd_calloc(n->mem, 1, sizeof(*g));
	if (g == NULL)
		return NULL;
	snprintf(g->name, sizeof(g->name), "%s", name);
	n->groups[n->ngroups++] = g;
	return g;
}

/* counter += delta, clamped to 0..UINT32_MAX; true if it moved. */
static bool group_adj(struct rd_carp_node *n, struct demote_group *g, int delta)
{
	long long v = (long long)g->value + delta;

	if (v < 0)
		v = 0;
	if (v > (long long)UINT32_MAX)
		v = UINT32_MAX;
	if ((unsigned int)v == g->value)
		return false;
	g->value = (unsigned int)v;
	n->dirty = true;
	if (v == 0)
		n->prune = true;
	return true;
}

/* Free the groups at 0 that no vhost is in ("carp", the first, stays), keeping the order. */
static void groups_prune(struct rd_carp_node *n)
{
	size_t i, k = 1;

	n->prune = false;
	for (i = 1; i < n->ngroups; i++) {
		struct demote_group *g = n->groups[i];

		if (g->value == 0 && g->refs == 0)
			rd_free(n->mem, g);
		else
			n->groups[k++] = g;
	}
	n->ngroups = k;
}

/* ------------------------------------------------------------------ */
/* The node                                                            */

struct rd_carp_node *carpi_node_new(const struct rd_mem *mem, const struct rd_log *log)
{
	struct rd_carp_node *n = rd_calloc(mem, 1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->mem = mem;
	if (log != NULL)
		n->log = *log;
	/* "carp" exists from the start: every vhost is in it by default, and
	 * raising it on link loss must never need an allocation. */
	if (group_get(n, GROUP_CARP) == NULL) {
		rd_free(mem, n->groups);
		rd_free(mem, n);
		return NULL;
	}
	return n;
}

static void node_destroy(struct rd_carp_node *n)
{
	for (size_t i = 0; i < n->ngroups; i++)
		rd_free(n->mem, n->groups[i]);
	rd_free(n->mem, n->groups);
	rd_free(n->mem, n->ifs);
	rd_free(n->mem, n);
}

void rd_carp_node_config_default(struct rd_carp_node_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}

int rd_carp_node_new(const struct rd_carp_node_config *cfg, struct rd_carp_node **out)
{
	struct rd_carp_node *n;

	if (cfg == NULL || out == NULL)
		return RD_ERR_INVAL;
	n = carpi_node_new(cfg->mem, &cfg->log);
	if (n == NULL)
		return RD_ERR_NOMEM;
	*out = n;
	return 0;
}

void rd_carp_node_free(struct rd_carp_node *n)
{
	if (n == NULL)
		return;
	if (n->nifs > 0) {
		n->released = true; /* the last rd_carp_if_free frees it */
		return;
	}
	node_destroy(n);
}

int carpi_node_attach(struct rd_carp_node *n, struct rd_carp_if *ifp)
{
	struct rd_carp_if **arr = rd_realloc(n->mem, n->ifs, (n->nifs + 1) * sizeof(*arr));

	if (arr == NULL)
		return RD_ERR_NOMEM;
	n->ifs = arr;
	n->ifs[n->nifs++] = ifp;
	ifp->node = n;
	return 0;
}

/* The if leaves its node (its vhosts are gone); a node nobody holds goes. */
void carpi_node_detach(struct rd_carp_if *ifp)
{
	struct rd_carp_node *n = ifp->node;

	for (size_t i = 0; i < n->nifs; i++) {
		if (n->ifs[i] == ifp) {
			memmove(&n->ifs[i], &n->ifs[i + 1], (n->nifs - i - 1) * sizeof(ifp));
			n->nifs--;
			break;
		}
	}
	ifp->node = NULL;
	if (n->nifs == 0 && (n->private_node || n->released))
		node_destroy(n);
	else
		carpi_settle(n, CARPI_NOW_UNKNOWN);
}

int rd_carp_node_demote(struct rd_carp_node *n, const char *group, int delta, rd_time_t now)
{
	struct demote_group *g;

	if (n == NULL || !rd_carp_group_name_ok(group))
		return RD_ERR_INVAL;
	g = group_find(n, group);
	if (g == NULL) {
		if (delta <= 0) /* a group that does not exist is at 0 already */
			return 0;
		g = group_get(n, group);
		if (g == NULL)
			return RD_ERR_NOMEM;
	}
	if (group_adj(n, g, delta))
		rd_logf(&n->log, RD_LOG_NOTICE, "carp: demoted group %s by %+d to %u", g->name,
		        delta, g->value);
	carpi_settle(n, now);
	return 0;
}

int rd_carp_node_group(const struct rd_carp_node *n, size_t i, const char **name,
                       unsigned int *value)
{
	if (n == NULL || i >= n->ngroups)
		return RD_ERR_NOENT;
	if (name != NULL)
		*name = n->groups[i]->name;
	if (value != NULL)
		*value = n->groups[i]->value;
	return 0;
}

unsigned int rd_carp_node_group_value(const struct rd_carp_node *n, const char *group)
{
	const struct demote_group *g;

	if (n == NULL || group == NULL)
		return 0;
	g = group_find(n, group);
	return g != NULL ? g->value : 0;
}

/* ------------------------------------------------------------------ */
/* A vhost's groups and raises                                         */

static bool listed(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/*
 * The group set a configuration names: "carp" unless "-carp" is listed,
 * then the others in order, each once. Writes at most RD_CARP_MAX_GROUPS
 * names to out (if not NULL); returns how many there are, or -1 for a bad
 * name or too many.
 */
static int group_set(const char *const *names, size_t n, const char **out)
{
	int k = 0;

	if (n > 0 && names == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (names[i] == NULL ||
		    (strcmp(names[i], LEAVE_CARP) != 0 && !rd_carp_group_name_ok(names[i])))
			return -1;
	if (!listed(names, n, LEAVE_CARP)) {
		if (out != NULL)
			out[k] = GROUP_CARP;
		k++;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], LEAVE_CARP) == 0 || strcmp(names[i], GROUP_CARP) == 0 ||
		    listed(names, i, names[i]))
			continue;
		if (k == RD_CARP_MAX_GROUPS)
			return -1;
		if (out != NULL)
			out[k] = names[i];
		k++;
	}
	return k;
}

int carpi_groups_check(const char *const *names, size_t n)
{
	return group_set(names, n, NULL) < 0 ? RD_ERR_INVAL : 0;
}

static unsigned int raises(const struct rd_carp_vhost *vh)
{
	return (vh->raised_link ? 1u : 0u) + (vh->raised_snd ? 1u : 0u);
}

static bool in_set(struct demote_group *const *set, size_t n, const struct demote_group *g)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == g)
			return true;
	return false;
}

/*
 * Put the vhost in the groups names lists (checked by carpi_groups_check),
 * creating missing ones. The raises it holds move with it: groups it
 * leaves get them back, groups it joins take them. Returns 0 or
 * RD_ERR_NOMEM (then its groups are as before; groups created meanwhile
 * stay, at 0).
 */
int carpi_vhost_groups(struct rd_carp_vhost *vh, const char *const *names, size_t n)
{
	struct rd_carp_node *node = vh->ifp->node;
	const char *set[RD_CARP_MAX_GROUPS];
	struct demote_group *grp[RD_CARP_MAX_GROUPS];
	int k = group_set(names, n, set);
	int held = (int)raises(vh);

	if (k < 0)
		return RD_ERR_INVAL;
	for (int i = 0; i < k; i++)
		if ((grp[i] = group_get(node, set[i])) == NULL) {
			groups_prune(node); /* the ones just made, at 0 and empty */
			return RD_ERR_NOMEM;
		}
	if (held > 0) {
		for (size_t i = 0; i < vh->ngrp; i++)
			if (!in_set(grp, (size_t)k, vh->grp[i]))
				group_adj(node, vh->grp[i], -held);
		for (int i = 0; i < k; i++)
			if (!in_set(vh->grp, vh->ngrp, grp[i]))
				group_adj(node, grp[i], held);
	}
	for (int i = 0; i < k; i++)
		grp[i]->refs++;
	for (size_t i = 0; i < vh->ngrp; i++)
		vh->grp[i]->refs--;
	for (int i = 0; i < k; i++) {
		vh->grp[i] = grp[i];
		vh->gname[i] = grp[i]->name;
	}
	vh->ngrp = (size_t)k;
	node->dirty = true;
	node->prune = true; /* the groups it left may be free */
	return 0;
}

/* The vhost raises (+1) or lowers (-1) every group it is in. */
void carpi_vhost_raise(struct rd_carp_vhost *vh, int delta, const char *why)
{
	struct rd_carp_if *ifp = vh->ifp;

	for (size_t i = 0; i < vh->ngrp; i++)
		if (group_adj(ifp->node, vh->grp[i], delta))
			rd_logf(&ifp->log, RD_LOG_NOTICE,
			        "carp %s vhid %u: demoted group %s by %+d to %u (%s)", ifp->name,
			        vh->vhid, vh->grp[i]->name, delta, vh->grp[i]->value, why);
	ifp->node->dirty = true; /* its own count changed too (no groups) */
}

/* The vhost leaves: what it raised goes back (OpenBSD's carpdetach), and it leaves its groups. */
void carpi_vhost_release(struct rd_carp_vhost *vh)
{
	if (vh->raised_link)
		carpi_vhost_raise(vh, -1, "vhost removed, was raised for carpdev");
	if (vh->raised_snd)
		carpi_vhost_raise(vh, -1, "vhost removed, was raised for send errors");
	vh->raised_link = vh->raised_snd = false;
	for (size_t i = 0; i < vh->ngrp; i++)
		vh->grp[i]->refs--;
	vh->ngrp = 0;
	vh->ifp->node->prune = true;
}

/*
 * The demotion a vhost advertises: the sum of its groups' counters, capped
 * at 255; when that is 0 (a vhost in no group, or groups lowered by hand),
 * the raises it holds itself (OpenBSD carp_group_demote_count's fallback
 * to sc_demote_cnt).
 */
unsigned int carpi_vhost_demotion(const struct rd_carp_vhost *vh)
{
	unsigned long s = 0;

	for (size_t i = 0; i < vh->ngrp; i++)
		s += vh->grp[i]->value;
	if (s == 0)
		s = raises(vh);
	return s > RD_CARP_DEMOTE_MAX ? RD_CARP_DEMOTE_MAX : (unsigned int)s;
}

/* ------------------------------------------------------------------ */
/* Settling a change                                                   */

/* Recompute every vhost's demotion; MASTERs whose value moved advertise. */
static void refresh(struct rd_carp_node *n, rd_time_t now)
{
	n->dirty = false;
	for (size_t i = 0; i < n->nifs; i++) {
		struct rd_carp_if *ifp = n->ifs[i];
		bool changed = false;

		for (size_t j = 0; j < ifp->nvh; j++) {
			struct rd_carp_vhost *vh = ifp->vh[j];
			unsigned int d = carpi_vhost_demotion(vh);

			if (d == vh->demote)
				continue;
			vh->demote = d;
			changed = true;
			if (vh->state != RD_CARP_MASTER)
				continue;
			if (now == CARPI_NOW_UNKNOWN)
				vh->ad_tmo = 0; /* due: the next handle_expiry sends it */
			else
				carpi_send_ad(vh, now, false);
		}
		if (changed && ifp->cb.demotion != NULL)
			ifp->cb.demotion(ifp->user, ifp, rd_carp_if_demotion(ifp));
	}
}

/* Whether the vhost's carp interface is demoted for send errors now. */
static bool snd_demoted(const struct rd_carp_vhost *vh)
{
	return vh->ifp->balancing == RD_CARP_BAL_NONE ? vh->snd.demoted : vh->ifp->snd.demoted;
}

/* Raise or lower for send errors as the sends decided; true if any moved. */
static bool apply_snd(struct rd_carp_node *n)
{
	bool moved = false;

	if (!n->snd_dirty)
		return false;
	n->snd_dirty = false;
	for (size_t i = 0; i < n->nifs; i++) {
		struct rd_carp_if *ifp = n->ifs[i];

		for (size_t j = 0; j < ifp->nvh; j++) {
			struct rd_carp_vhost *vh = ifp->vh[j];
			bool want = snd_demoted(vh);

			if (want == vh->raised_snd)
				continue;
			vh->raised_snd = want;
			carpi_vhost_raise(vh, want ? 1 : -1,
			                  want ? "send errors" : "sends succeed again");
			moved = true;
		}
	}
	return moved;
}

/*
 * Run at the end of every public call that may have changed demotion: the
 * advertisements a change sends may fail and demote again, so a few rounds;
 * a send-error change still pending after them is applied by the next call.
 */
void carpi_settle(struct rd_carp_node *n, rd_time_t now)
{
	apply_snd(n);
	for (int round = 0; round < SETTLE_ROUNDS && n->dirty; round++) {
		refresh(n, now);
		apply_snd(n);
	}
	if (n->prune)
		groups_prune(n);
}
