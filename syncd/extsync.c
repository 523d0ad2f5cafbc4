/*
 * syncd: the states' extensions (secure mode: redund/sync_ext.h), between
 * the carry, the state table and the kernel (ct.c). A peer's comes in the
 * payload of its state: written with it (sd_extsync_write), kept for the
 * bulk updates we answer and later writes. Ours is read from the kernel's
 * events (sd_extsync_local, sd_extsync_exp) and sent with every message
 * about the state.
 */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#include "ctmap.h"
#include "redund/sync_carry.h"
#include "syncd.h"

static bool ext_get(void *user, uint64_t id, uint32_t creatorid, struct rd_sync_ext *out)
{
	struct sd_extsync *d = user;
	const struct rd_sync_ext *x =
	    sd_extstore_get(&d->store, rd_state_find_id(d->t, id, creatorid, sd_now()));

	if (x == NULL)
		return false;
	*out = *x;
	return true;
}

/* A copy of the extension kept for the state of info (NULL: none). */
static const struct rd_sync_ext *ext_kept(struct sd_extsync *d, const struct rd_state_info *info,
                                          struct rd_sync_ext *buf)
{
	const struct rd_sync_ext *x =
	    sd_extstore_get(&d->store, rd_state_find_id(d->t, info->id, info->creatorid, sd_now()));

	if (x == NULL)
		return NULL;
	*buf = *x;
	return buf;
}

/* The extension to write with a peer's state: its payload's, else the one kept. */
static const struct rd_sync_ext *
ext_for_write(struct sd_extsync *d, const struct rd_state_info *info, struct rd_sync_ext *buf)
{
	struct rd_state *st = rd_state_find_id(d->t, info->id, info->creatorid, sd_now());

	if (d->carry == NULL ||
	    !rd_sync_carry_ext_current(d->carry, info->id, info->creatorid, buf))
		return sd_extstore_get(&d->store, st);
	if (st != NULL && sd_extstore_set(&d->store, st, buf) < 0)
		dm_log(LOG_DEBUG, "state extension not kept: out of memory");
	return buf;
}

/*
 * A peer's record, after the engine applied its payload. Written with its
 * state already (the one kept is equal), or it came alone (no room in the
 * state's payload, or only the mark changed): into the kernel entry now.
 */
static void ext_put(void *user, uint32_t from, uint64_t id, uint32_t creatorid,
                    const struct rd_sync_ext *x, rd_time_t now)
{
	struct sd_extsync *d = user;
	struct rd_state *st = rd_state_find_id(d->t, id, creatorid, now);
	const struct rd_sync_ext *kept = sd_extstore_get(&d->store, st);
	struct rd_sync_ext before;
	struct rd_state_info info;
	int rc;

	(void)from;
	/* Our own states' extensions are the kernel's here, not what a peer last saw. */
	if (st == NULL || st->creatorid == d->creatorid ||
	    (kept != NULL && rd_sync_ext_equal(kept, x)))
		return;
	if (kept != NULL)
		before = *kept;
	if (sd_extstore_set(&d->store, st, x) < 0) {
		dm_log(LOG_DEBUG, "state extension not kept: out of memory");
		return;
	}
	if (!d->apply || d->ct == NULL)
		return;
	rd_state_export(d->t, st, now, &info);
	if ((rc = sd_ct_apply(d->ct, &info, d->deftimeouts, x)) < 0)
		dm_log(LOG_DEBUG, "conntrack write of %016llx/%08x's extension: %s",
		       (unsigned long long)id, creatorid, strerror(-rc));
	else
		sd_ct_expect(d->ct, &info, kept != NULL ? &before : NULL, x);
}

static bool exp_same(const struct rd_sync_ext_expect *a, const struct rd_sync_ext_expect *b)
{
	return a->af == b->af && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport && memcmp(a->src, b->src, 16) == 0 &&
	       memcmp(a->dst, b->dst, 16) == 0;
}

/*
 * An expectation the kernel made (a helper saw a PORT, a SIP INVITE, ...)
 * or dropped (used, expired) for a synchronised master: the master's set
 * changes, and an update of the master carries it to the peers.
 */
void sd_extsync_exp(void *user, int type, const struct nf_expect *exp)
{
	struct sd_extsync *d = user;
	const struct rd_sync_ext *kept;
	struct rd_sync_ext_expect e;
	struct rd_state_key key;
	struct rd_sync_ext x;
	struct rd_state *st;
	rd_time_t now = sd_now();
	unsigned i, n;

	if (d->carry == NULL || sd_exp_master_key(exp, &key) != 0 || sd_exp_to_ext(exp, &e) != 0)
		return;
	if ((st = rd_state_lookup(d->t, &key, RD_STATE_IN, 0, now)) == NULL)
		return;
	kept = sd_extstore_get(&d->store, st);
	if (kept != NULL)
		x = *kept;
	else
		memset(&x, 0, sizeof(x));
	n = (x.have & RD_SYNC_EXT_EXPECT) ? x.nexpect : 0;
	for (i = 0; i < n && !exp_same(&x.expect[i], &e); i++)
		;
	if (i < n) {
		memmove(&x.expect[i], &x.expect[i + 1], (n - i - 1) * sizeof(x.expect[0]));
		n--;
	}
	if (type == NFCT_T_NEW) {
		if (n == RD_SYNC_EXT_EXPECT_MAX) { /* the oldest makes room */
			memmove(&x.expect[0], &x.expect[1], (n - 1) * sizeof(x.expect[0]));
			n--;
		}
		x.expect[n++] = e;
	}
	x.have |= RD_SYNC_EXT_EXPECT;
	x.nexpect = (uint8_t)n;
	if (sd_extstore_set(&d->store, st, &x) < 0) {
		dm_log(LOG_DEBUG, "state extension not kept: out of memory");
		return;
	}
	rd_sync_engine_state_event(d->eng, st, RD_STATE_EV_UPDATE, 0, now);
}

/*
 * A kernel entry's extension, for its state (found by its key): kept when
 * there is anything to carry or was before (a mark set back to 0 is sent).
 */
void sd_extsync_local(struct sd_extsync *d, const struct nf_conntrack *ct,
                      const struct rd_state_info *info)
{
	struct rd_state *st;
	const struct rd_sync_ext *old;
	struct rd_sync_ext x;

	if (d->carry == NULL)
		return;
	st = rd_state_lookup(d->t, &info->wire, RD_STATE_IN, info->ifindex, sd_now());
	if (st == NULL)
		return;
	old = sd_extstore_get(&d->store, st);
	if ((sd_ct_to_ext(ct, d->label, old, &x) || old != NULL) &&
	    sd_extstore_set(&d->store, st, &x) < 0)
		dm_log(LOG_DEBUG, "state extension not kept: out of memory");
}

void sd_extsync_carry(struct sd_extsync *d, struct rd_sync_carry_ext *ce)
{
	ce->user = d;
	ce->get = ext_get;
	ce->put = ext_put;
}

static bool has_expectations(const struct rd_sync_ext *x)
{
	return x != NULL && (x->have & RD_SYNC_EXT_EXPECT) && x->nexpect > 0;
}

int sd_extsync_write(struct sd_extsync *d, const struct rd_state_info *info, bool queue)
{
	struct rd_sync_ext buf, before;
	const struct rd_sync_ext *old = ext_kept(d, info, &before);
	const struct rd_sync_ext *x = ext_for_write(d, info, &buf);
	int rc;

	if (queue && !has_expectations(old) && !has_expectations(x))
		return sd_ct_queue(d->ct, info, d->deftimeouts, x);
	rc = sd_ct_apply(d->ct, info, d->deftimeouts, x);

	if (rc == 0)
		sd_ct_expect(d->ct, info, old, x); /* the master exists now */
	return rc;
}

void sd_extsync_removed(struct sd_extsync *d, struct rd_state *st)
{
	sd_extstore_drop(&d->store, st);
}

void sd_extsync_free(struct sd_extsync *d)
{
	sd_extstore_free(&d->store);
}
