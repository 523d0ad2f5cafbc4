/* libredund — the mirror of an external state table (see redund/mirror.h). */
#include <string.h>

#include "core/internal.h"
#include "redund/mirror.h"

/* The external table's remaining time may exceed the mirror's by this much and still echo. */
#define ECHO_SLACK 2u

struct rd_mirror {
	struct rd_mirror_config cfg;
	uint32_t creatorid;
	bool local;         /* the mirror changes the table itself: nothing to write */
	bool writing;       /* inside cb.write / cb.remove */
	bool started;       /* rd_mirror_start was called */
	bool start_pending; /* the start-up read waits for the peers' bulk */
	bool start_dump;    /* the start-up read runs: known keys are the peers' */
	bool peers_named;   /* a bulk update ended before the start-up read */
	uint64_t bulk_ok0;  /* the engine's bulk_ok at rd_mirror_start */
	uint32_t dump_ours; /* states of ours the running dump inserted */
	struct rd_state_iter sweep;
	rd_time_t sweep_due;
	uint64_t st[RD_MIRROR_STAT_COUNT];
};

static const char *const stat_names[RD_MIRROR_STAT_COUNT] = {
    [RD_MIRROR_STAT_LOCAL_NEW] = "local_new",
    [RD_MIRROR_STAT_LOCAL_UPDATE] = "local_update",
    [RD_MIRROR_STAT_LOCAL_DESTROY] = "local_destroy",
    [RD_MIRROR_STAT_KNOWN] = "known",
    [RD_MIRROR_STAT_ECHOES] = "echoes",
    [RD_MIRROR_STAT_EXCLUDED] = "excluded",
    [RD_MIRROR_STAT_UNKNOWN] = "unknown",
    [RD_MIRROR_STAT_REFUSED_INVAL] = "refused_inval",
    [RD_MIRROR_STAT_REFUSED_LIMIT] = "refused_limit",
    [RD_MIRROR_STAT_REFUSED_EXIST] = "refused_exist",
    [RD_MIRROR_STAT_REFUSED_NOMEM] = "refused_nomem",
    [RD_MIRROR_STAT_WRITTEN] = "written",
    [RD_MIRROR_STAT_DELETED] = "deleted",
    [RD_MIRROR_STAT_WRITE_FAILED] = "write_failed",
    [RD_MIRROR_STAT_DELETE_FAILED] = "delete_failed",
    [RD_MIRROR_STAT_REFRESHED] = "refreshed",
    [RD_MIRROR_STAT_VANISHED] = "vanished",
    [RD_MIRROR_STAT_READ_FAILED] = "read_failed",
    [RD_MIRROR_STAT_DUMPS] = "dumps",
    [RD_MIRROR_STAT_DUMP_FAILED] = "dump_failed",
    [RD_MIRROR_STAT_GONE] = "gone",
    [RD_MIRROR_STAT_WAITING] = "waiting",
};

const char *rd_mirror_stat_name(int stat)
{
	if (stat < 0 || stat >= RD_MIRROR_STAT_COUNT)
		return "unknown";
	return stat_names[stat];
}

void rd_mirror_config_default(struct rd_mirror_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->exclude.proto = RD_PFSYNC_IPPROTO;
	cfg->exclude.port = 0;
	cfg->write = true;
	cfg->refresh_margin = 10 * RD_SEC;
	cfg->sweep_interval = 100 * RD_MSEC;
	cfg->sweep_period = 5 * RD_SEC;
}

int rd_mirror_new(const struct rd_mirror_config *cfg, struct rd_mirror **out)
{
	struct rd_mirror *m;

	if (out != NULL)
		*out = NULL;
	if (cfg == NULL || out == NULL || cfg->table == NULL || cfg->engine == NULL ||
	    (cfg->write && (cfg->cb.write == NULL || cfg->cb.remove == NULL)) ||
	    cfg->sweep_interval == 0 || cfg->sweep_period < cfg->sweep_interval)
		return RD_ERR_INVAL;
	m = rd_calloc(cfg->mem, 1, sizeof(*m));
	if (m == NULL)
		return RD_ERR_NOMEM;
	m->cfg = *cfg;
	m->creatorid = rd_state_creatorid(cfg->table);
	/* The stretch: the external table's expiry rules, never the mirror's. */
	for (unsigned i = 0; i < RD_STATE_TM_ADAPTIVE_START; i++)
		if (cfg->timeouts[i] != 0)
			rd_state_set_timeout(cfg->table, i, cfg->timeouts[i]);
	rd_state_set_timeout(cfg->table, RD_STATE_TM_ADAPTIVE_START, 0);
	rd_state_set_timeout(cfg->table, RD_STATE_TM_ADAPTIVE_END, 0);
	rd_state_iter_init(&m->sweep);
	m->sweep_due = 0;
	*out = m;
	return 0;
}

void rd_mirror_free(struct rd_mirror *m)
{
	if (m == NULL)
		return;
	rd_free(m->cfg.mem, m);
}

void rd_mirror_state_event(struct rd_mirror *m, struct rd_state *st, int ev, int why, rd_time_t now)
{
	struct rd_state_info info;
	int rc;

	rd_sync_engine_state_event(m->cfg.engine, st, ev, why, now);
	if (m->local || !m->cfg.write || (ev == RD_STATE_EV_REMOVE && why == RD_STATE_RM_FLUSH))
		return;
	/* A peer's change: into the external table. */
	rd_state_export(m->cfg.table, st, now, &info);
	m->writing = true;
	if (ev == RD_STATE_EV_REMOVE) {
		rc = m->cfg.cb.remove(m->cfg.cb.user, &info);
		if (rc < 0)
			m->st[RD_MIRROR_STAT_DELETE_FAILED]++;
		else
			m->st[RD_MIRROR_STAT_DELETED]++;
	} else {
		rc = m->cfg.cb.write(m->cfg.cb.user, &info, ev == RD_STATE_EV_INSERT);
		if (rc < 0)
			m->st[RD_MIRROR_STAT_WRITE_FAILED]++;
		else if (rc != RD_MIRROR_PENDING) /* a queued write is counted when done */
			m->st[RD_MIRROR_STAT_WRITTEN]++;
	}
	m->writing = false;
	if (rc < 0)
		rd_logf(&m->cfg.log, RD_LOG_DEBUG, "external %s of %016llx/%08x failed: %d",
		        ev == RD_STATE_EV_REMOVE ? "delete" : "write", (unsigned long long)st->id,
		        st->creatorid, rc);
}

void rd_mirror_write_done(struct rd_mirror *m, int rc)
{
	m->st[rc < 0 ? RD_MIRROR_STAT_WRITE_FAILED : RD_MIRROR_STAT_WRITTEN]++;
}

static bool excluded(const struct rd_mirror *m, const struct rd_state_key *k)
{
	const struct rd_mirror_exclude *x = &m->cfg.exclude;

	return x->proto != 0 && k->proto == x->proto &&
	       (x->port == 0 || k->port[0] == x->port || k->port[1] == x->port);
}

/*
 * A peer's state reported with nothing new: the same peers, class and
 * flags, and no more time left than the mirror gives it (plus slack). What
 * a write of ours looks like when it comes back.
 */
static bool echo_of(const struct rd_mirror *m, const struct rd_state *st,
                    const struct rd_state_info *e, rd_time_t now)
{
	const uint8_t fl = RD_STATE_F_OUT | RD_STATE_F_SLOPPY | RD_STATE_F_NOSYNC;
	rd_time_t exp = rd_state_expires(m->cfg.table, st);
	uint64_t left = exp > now ? (exp - now + RD_SEC - 1) / RD_SEC : 0;

	return st->creatorid != m->creatorid && st->src.state == e->src.state &&
	       st->dst.state == e->dst.state && st->timeout == e->timeout &&
	       (st->flags & fl) == (e->flags & fl) && e->expire_in <= left + ECHO_SLACK;
}

static int refused(struct rd_mirror *m, int rc)
{
	switch (rc) {
	case RD_ERR_LIMIT:
		m->st[RD_MIRROR_STAT_REFUSED_LIMIT]++;
		break;
	case RD_ERR_EXIST:
		m->st[RD_MIRROR_STAT_REFUSED_EXIST]++;
		break;
	case RD_ERR_NOMEM:
		m->st[RD_MIRROR_STAT_REFUSED_NOMEM]++;
		break;
	default:
		m->st[RD_MIRROR_STAT_REFUSED_INVAL]++;
		rc = RD_ERR_INVAL;
		break;
	}
	rd_logf(&m->cfg.log, RD_LOG_DEBUG, "state table refused an external entry: %s",
	        rd_strerror(rc));
	return rc;
}

static int local_change(struct rd_mirror *m, int change, const struct rd_state_info *e,
                        rd_time_t now)
{
	struct rd_state_info info;
	struct rd_state *st;
	int rc;

	st = rd_state_lookup(m->cfg.table, &e->wire, RD_STATE_IN, e->ifindex, now);
	if (change == RD_MIRROR_DESTROY) {
		if (st == NULL) {
			m->st[RD_MIRROR_STAT_UNKNOWN]++;
			return RD_MIRROR_UNKNOWN;
		}
		m->st[RD_MIRROR_STAT_LOCAL_DESTROY]++;
		rd_state_remove(m->cfg.table, st, now);
		return RD_MIRROR_REMOVED;
	}
	if (st != NULL && m->start_dump) {
		/* A peer's state the bulk brought: the peer's, as it sent it. */
		m->st[RD_MIRROR_STAT_KNOWN]++;
		return RD_MIRROR_KNOWN;
	}
	if (st != NULL && echo_of(m, st, e, now)) {
		m->st[RD_MIRROR_STAT_ECHOES]++;
		return RD_MIRROR_ECHO;
	}
	if (st == NULL && (e->flags & RD_STATE_F_REMOTE) && m->cfg.write) {
		/* Written for a peer earlier, and no peer's state any more (see the header). */
		if (!m->started || m->start_pending) {
			m->st[RD_MIRROR_STAT_WAITING]++;
			return RD_MIRROR_WAIT;
		}
		if (!m->start_dump || m->peers_named) {
			m->writing = true;
			rc = m->cfg.cb.remove(m->cfg.cb.user, e);
			m->writing = false;
			if (rc < 0)
				m->st[RD_MIRROR_STAT_DELETE_FAILED]++;
			m->st[RD_MIRROR_STAT_GONE]++;
			return RD_MIRROR_GONE;
		}
		/* No bulk ended: we may be alone; the entry is ours now. */
	}
	info = *e;
	info.flags &= RD_STATE_F_USER_MASK;
	if (st != NULL) {
		info.id = st->id;
		info.creatorid = st->creatorid;
		rc = rd_state_import(m->cfg.table, &info, now, NULL);
		if (rc != 0)
			return refused(m, rc);
		m->st[RD_MIRROR_STAT_LOCAL_UPDATE]++;
		return RD_MIRROR_UPDATED;
	}
	rc = rd_state_import_local(m->cfg.table, &info, now, NULL);
	if (rc != 0)
		return refused(m, rc);
	m->st[RD_MIRROR_STAT_LOCAL_NEW]++;
	m->dump_ours++;
	return RD_MIRROR_INSERTED;
}

int rd_mirror_local(struct rd_mirror *m, int change, const struct rd_state_info *entry,
                    rd_time_t now)
{
	int rc;

	if (entry == NULL || change < RD_MIRROR_NEW || change > RD_MIRROR_DESTROY) {
		m->st[RD_MIRROR_STAT_REFUSED_INVAL]++;
		return RD_ERR_INVAL;
	}
	if (excluded(m, &entry->wire)) {
		m->st[RD_MIRROR_STAT_EXCLUDED]++;
		return RD_MIRROR_EXCLUDED;
	}
	if (m->writing) {
		/* Reported from inside our own write: its echo. */
		m->st[RD_MIRROR_STAT_ECHOES]++;
		return RD_MIRROR_ECHO;
	}
	m->local = true;
	rc = local_change(m, change, entry, now);
	m->local = false;
	return rc;
}

static int dump(struct rd_mirror *m, bool start, rd_time_t now)
{
	int rc;

	if (m->cfg.cb.dump == NULL)
		return RD_ERR_STATE;
	m->start_dump = start;
	m->dump_ours = 0;
	rc = m->cfg.cb.dump(m->cfg.cb.user, now);
	m->start_dump = false;
	m->st[RD_MIRROR_STAT_DUMPS]++;
	if (rc < 0)
		m->st[RD_MIRROR_STAT_DUMP_FAILED]++;
	return rc;
}

static int start_dump(struct rd_mirror *m, rd_time_t now)
{
	int rc;

	uint64_t es[RD_SYNC_ENGINE_STAT_COUNT];

	m->start_pending = false;
	rd_sync_engine_stats(m->cfg.engine, es);
	m->peers_named = es[RD_SYNC_ENGINE_STAT_BULK_OK] > m->bulk_ok0;
	rc = dump(m, true, now);
	if (m->cfg.cb.dumped != NULL)
		m->cfg.cb.dumped(m->cfg.cb.user, rc, m->dump_ours, now);
	return rc;
}

int rd_mirror_start(struct rd_mirror *m, bool bulk_first, rd_time_t now)
{
	if (m->started || m->cfg.cb.dump == NULL)
		return RD_ERR_STATE;
	uint64_t es[RD_SYNC_ENGINE_STAT_COUNT];

	m->started = true;
	m->sweep_due = now + m->cfg.sweep_interval;
	rd_sync_engine_stats(m->cfg.engine, es);
	m->bulk_ok0 = es[RD_SYNC_ENGINE_STAT_BULK_OK];
	if (bulk_first) {
		/* The peers name their states first; what the external table holds besides is ours.
		 */
		rd_sync_engine_bulk_request(m->cfg.engine, now);
		m->start_pending = true;
		return 0;
	}
	return start_dump(m, now);
}

bool rd_mirror_start_pending(const struct rd_mirror *m)
{
	return m->start_pending;
}

int rd_mirror_resync(struct rd_mirror *m, rd_time_t now)
{
	return dump(m, false, now);
}

rd_time_t rd_mirror_expiry(const struct rd_mirror *m)
{
	if (m->start_pending && !rd_sync_engine_bulk_pending(m->cfg.engine))
		return 0;
	return m->sweep_due;
}

/* A state close to expiry: read the external entry (see mirror.h, Refresh). */
static void sweep_one(struct rd_mirror *m, struct rd_state *st, rd_time_t now)
{
	struct rd_state_info mine, ext;
	rd_time_t exp = rd_state_expires(m->cfg.table, st);
	int rc;

	if (exp > now + m->cfg.refresh_margin || exp <= now)
		return;
	rd_state_export(m->cfg.table, st, now, &mine);
	memset(&ext, 0, sizeof(ext));
	rc = m->cfg.cb.read(m->cfg.cb.user, &mine, &ext);
	if (rc == RD_ERR_NOENT) {
		/* Our own state the external table dropped without our seeing it. */
		if (st->creatorid == m->creatorid) {
			m->st[RD_MIRROR_STAT_VANISHED]++;
			rd_state_remove(m->cfg.table, st, now);
		}
		return;
	}
	if (rc < 0) {
		m->st[RD_MIRROR_STAT_READ_FAILED]++;
		return;
	}
	if (ext.expire_in <= mine.expire_in + ECHO_SLACK)
		return; /* no traffic here: expires with the external entry */
	ext.id = st->id;
	ext.creatorid = st->creatorid;
	if (rd_state_import(m->cfg.table, &ext, now, NULL) == 0)
		m->st[RD_MIRROR_STAT_REFRESHED]++;
}

static void sweep(struct rd_mirror *m, rd_time_t now)
{
	size_t budget = rd_state_capacity(m->cfg.table) /
	                    (size_t)(m->cfg.sweep_period / m->cfg.sweep_interval) +
	                256;
	struct rd_state *st;

	m->local = true;
	if (m->cfg.write && m->cfg.cb.read != NULL) {
		for (size_t i = 0; i < budget; i++) {
			st = rd_state_iter_next(m->cfg.table, &m->sweep);
			if (st == NULL) {
				rd_state_iter_init(&m->sweep);
				break;
			}
			sweep_one(m, st, now);
		}
	}
	rd_state_purge(m->cfg.table, now, budget);
	m->local = false;
	m->sweep_due = now + m->cfg.sweep_interval;
}

void rd_mirror_handle_expiry(struct rd_mirror *m, rd_time_t now)
{
	if (m->start_pending && !rd_sync_engine_bulk_pending(m->cfg.engine))
		start_dump(m, now);
	if (now >= m->sweep_due)
		sweep(m, now);
}

void rd_mirror_stats(const struct rd_mirror *m, uint64_t out[RD_MIRROR_STAT_COUNT])
{
	memcpy(out, m->st, sizeof(m->st));
}
