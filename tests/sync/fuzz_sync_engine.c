/*
 * Fuzz target: the sync engine's input. The input is a series of records
 * {u16 length, length bytes}: each is handed to rd_sync_engine_input as a
 * received pfsync packet, with time moving on and timers run in between,
 * over a table that holds a few local TCP and UDP states (deterministic
 * ids). Everything the engine sends must be a valid pfsync packet.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/sync.h"
#include "redund/sync_engine.h"

static void rng(void *user, void *buf, size_t len)
{
	uint64_t *s = user;
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++) {
		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		b[i] = (uint8_t)(*s >> 56);
	}
}

static struct rd_sync_engine *engine;

static void on_event(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	(void)user;
	if (engine != NULL)
		rd_sync_engine_state_event(engine, st, ev, why, now);
}

static void on_send(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	(void)user;
	(void)now;
	if (rd_pfsync_check(pkt, len, NULL) != 0 || len > 1480)
		abort();
}

static void on_release(void *user, uint64_t token, bool acked, rd_time_t now)
{
	(void)user;
	(void)token;
	(void)acked;
	(void)now;
}

static void local_states(struct rd_state_table *t, rd_time_t now)
{
	for (uint16_t i = 0; i < 4; i++) {
		struct rd_state_pkt p;
		struct rd_state_opts o = {.rule = 0};
		struct rd_state *st;
		memset(&p, 0, sizeof(p));
		p.af = RD_AF_INET;
		p.proto = i & 1 ? 6 : 17;
		p.dir = RD_STATE_OUT;
		p.src = rd_addr_v4(0x0a000001);
		p.dst = rd_addr_v4(0x0a000002);
		p.sport = (uint16_t)(1000 + i);
		p.dport = 80;
		p.wscale = -1;
		p.tcp_flags = RD_TH_SYN;
		p.seq = 100;
		p.win = 1000;
		if (rd_state_create(t, &p, &o, now, &st) == 0 && i == 3)
			rd_sync_engine_defer(engine, st, 1, now);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_state_config sc;
	struct rd_sync_engine_config ec;
	struct rd_state_table *t;
	uint64_t seed = 7;
	rd_time_t now = RD_SEC;

	rd_state_config_default(&sc);
	sc.random.fn = rng;
	sc.random.user = &seed;
	sc.cb.event = on_event;
	sc.limit = 1000;
	if (rd_state_table_new(&sc, &t) != 0)
		abort();
	memset(&ec, 0, sizeof(ec));
	ec.table = t;
	ec.cb.send = on_send;
	ec.cb.release = on_release;
	ec.bulk_packets = 2;
	/* Inputs of odd length run as the carry does: trusted peers (tombstones
	 * kept for unknown deletes and sent at the end of bulk answers). */
	ec.trusted = ec.bulk_reconcile = (size & 1) != 0;
	if (rd_sync_engine_new(&ec, &engine) != 0)
		abort();
	local_states(t, now);
	while (size >= 2) {
		size_t len = rd_get16(data);
		if (len > size - 2)
			len = size - 2;
		rd_sync_engine_input(engine, data + 2, len, now);
		now += 10 * RD_MSEC;
		rd_sync_engine_handle_expiry(engine, now);
		data += 2 + len;
		size -= 2 + len;
	}
	for (int i = 0; i < 8 && rd_sync_engine_expiry(engine) != RD_TIME_NEVER; i++) {
		now = rd_sync_engine_expiry(engine) > now ? rd_sync_engine_expiry(engine)
		                                          : now + RD_MSEC;
		rd_sync_engine_handle_expiry(engine, now);
	}
	rd_sync_engine_free(engine);
	engine = NULL;
	rd_state_table_free(t, now);
	return 0;
}
