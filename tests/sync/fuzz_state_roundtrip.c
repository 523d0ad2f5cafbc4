/*
 * Fuzz target: a full state (INS, UPD, DEL message of any pfsync packet the
 * decoder accepts) that the conversion accepts goes through the state
 * table and back: x -> import -> export -> bytes e1 -> decode -> import
 * into a fresh table -> export -> bytes e2; e1 must equal e2, so what the
 * table keeps of a state is stable (export(import(export(import(x)))) ==
 * export(import(x))).
 */
#include <stdlib.h>
#include <string.h>

#include "redund/pfsync.h"
#include "redund/state.h"
#include "redund/sync_engine.h"

#define NOW (1000 * RD_SEC)

struct one {
	struct rd_pfsync_state ps;
	size_t n;
};

static int on_one(void *user, const struct rd_pfsync_msg *m)
{
	struct one *o = user;

	if (m->action == RD_PFSYNC_ACT_INS || m->action == RD_PFSYNC_ACT_UPD ||
	    m->action == RD_PFSYNC_ACT_DEL) {
		o->ps = m->u.state;
		o->n++;
	}
	return 0;
}

static void zero_rng(void *user, void *buf, size_t len)
{
	(void)user;
	memset(buf, 0x5a, len);
}

/* Imports ps into a fresh table and writes the export's wire bytes; false if refused. */
static bool through_table(const struct rd_pfsync_state *ps, struct rd_pfsync_msg *m,
                          uint8_t out[RD_PFSYNC_STATE_LEN])
{
	struct rd_state_config cfg;
	struct rd_state_table *t;
	struct rd_state_info info;
	struct rd_state *st;
	bool ok = false;

	if (rd_sync_state_from_pfsync(ps, &info) != 0)
		return false;
	rd_state_config_default(&cfg);
	cfg.random.fn = zero_rng;
	cfg.creatorid = 0x7777;
	if (rd_state_table_new(&cfg, &t) != 0)
		abort();
	if (rd_state_import(t, &info, NOW, &st) == 0 && st != NULL) {
		memset(m, 0, sizeof(*m));
		m->action = RD_PFSYNC_ACT_UPD;
		rd_state_export(t, st, NOW, &info);
		rd_sync_state_to_pfsync(&info, &m->u.state);
		if (rd_pfsync_encode_msg(m, out, RD_PFSYNC_STATE_LEN) != RD_PFSYNC_STATE_LEN)
			abort();
		ok = true;
	}
	rd_state_table_free(t, NOW);
	return ok;
}

static int on_msg(void *user, const struct rd_pfsync_msg *m)
{
	uint8_t e1[RD_PFSYNC_STATE_LEN], e2[RD_PFSYNC_STATE_LEN];
	uint8_t pkt[RD_PFSYNC_HDR_LEN + RD_PFSYNC_SUBHDR_LEN + RD_PFSYNC_STATE_LEN];
	struct rd_pfsync_builder bld;
	struct rd_pfsync_msg again;
	struct one o = {.n = 0};

	(void)user;
	if (m->action != RD_PFSYNC_ACT_INS && m->action != RD_PFSYNC_ACT_UPD &&
	    m->action != RD_PFSYNC_ACT_DEL)
		return 0;
	if (!through_table(&m->u.state, &again, e1))
		return 0;
	/* The export on the wire, decoded again, through a fresh table. */
	rd_pfsync_builder_init(&bld, pkt, sizeof(pkt));
	if (rd_pfsync_builder_add(&bld, &again) != 0)
		abort();
	size_t len = rd_pfsync_builder_finish(&bld);
	if (rd_pfsync_decode(pkt, len, NULL, NULL, on_one, &o) != 0 || o.n != 1)
		abort();
	if (!through_table(&o.ps, &again, e2))
		abort(); /* what we exported, we must take back */
	if (memcmp(e1, e2, sizeof(e1)) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rd_pfsync_decode(data, size, NULL, NULL, on_msg, NULL);
	return 0;
}
