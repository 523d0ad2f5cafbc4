/*
 * Fuzz target: rd_sync_ctl_decode, the ACK/NACK/HELLO payload decoder.
 *
 * Input byte 0 (low 3 bits) is the envelope type, the rest the payload.
 * Besides not crashing, it checks that:
 *  - the verdict, refusal reason, channel counter and offset agree with a
 *    reference written here from the layout in redund/sync.h;
 *  - a refused payload delivers no record; an accepted ACK/NACK delivers
 *    nrecs records, in order, that re-encode to the payload (reserved words
 *    aside), and a callback's non-zero value stops the walk and is returned;
 *  - a secure channel given the payload in a sealed envelope refuses it
 *    (RD_ERR_PROTO, counted badpayload) exactly when the decoder does.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/sync.h"

static const struct rd_sync_key fuzz_key = {
    .id = 9,
    .key = {9,  8,  7,  6,  5,  4,  3,  2,  1,  0,  11, 12, 13, 14, 15, 16,
            17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32},
};

/* The layout rules, from the header's description, independently of ctl.c. */
static int reference(uint8_t type, const uint8_t *p, size_t len, size_t *offset)
{
	*offset = 0;
	if (type == RD_SYNC_ENV_HELLO) {
		if (len != 16 && len != 24)
			return RD_SYNC_CTL_HELLO_LEN;
		if (rd_get64(p) == 0)
			return RD_SYNC_CTL_HELLO_NEXT_ZERO;
		*offset = 8;
		if (rd_get64(p + 8) > rd_get64(p))
			return RD_SYNC_CTL_HELLO_OLDEST_ABOVE_NEXT;
		if (rd_get64(p + 8) == 0)
			return RD_SYNC_CTL_HELLO_OLDEST_ZERO;
		*offset = 16;
		if (len == 24 && rd_get64(p + 16) == 0)
			return RD_SYNC_CTL_HELLO_FIRST_ZERO;
		if (len == 24 && rd_get64(p + 16) > rd_get64(p + 8))
			return RD_SYNC_CTL_HELLO_FIRST_ABOVE_OLDEST;
		*offset = 0;
		return RD_SYNC_CTL_OK;
	}
	if (type != RD_SYNC_ENV_ACK && type != RD_SYNC_ENV_NACK)
		return RD_SYNC_CTL_BADTYPE;
	if (len < 4)
		return RD_SYNC_CTL_ACK_SHORT;
	if ((len - 4) % 32 != 0 || (len - 4) / 32 != (size_t)(p[0] << 8 | p[1]))
		return RD_SYNC_CTL_ACK_COUNT;
	for (size_t off = 4; off < len; off += 32) {
		if (rd_get64(p + off + 8) > rd_get64(p + off + 16)) {
			*offset = off + 8;
			return RD_SYNC_CTL_ACK_CUM_ABOVE_TOP;
		}
	}
	return RD_SYNC_CTL_OK;
}

struct walk {
	const uint8_t *p;
	size_t n, stop_at; /* stop_at: index whose call returns 99 (SIZE_MAX: never) */
};

static int on_rec(void *user, const struct rd_sync_ack_rec *r)
{
	struct walk *w = user;
	uint8_t enc[RD_SYNC_ACK_REC_LEN];
	const uint8_t *want = w->p + RD_SYNC_ACK_HDR_LEN + w->n * RD_SYNC_ACK_REC_LEN;

	rd_put32(enc, r->sender);
	rd_put32(enc + 4, rd_get32(want + 4)); /* reserved: not decoded */
	rd_put64(enc + 8, r->cumulative);
	rd_put64(enc + 16, r->top);
	rd_put64(enc + 24, r->bitmap);
	if (memcmp(enc, want, sizeof(enc)) != 0 || r->cumulative > r->top)
		abort();
	return w->n++ == w->stop_at ? 99 : 0;
}

static void on_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	(void)user;
	(void)to;
	(void)pkt;
	(void)len;
}

/* One counter of a channel (enum rd_sync_stat). */
static uint64_t chan_stat(const struct rd_sync_channel *ch, int which)
{
	uint64_t s[RD_SYNC_STAT_COUNT];

	rd_sync_channel_stats(ch, s);
	return s[which];
}

/* Feeds the payload, sealed as `type`, to a new channel: does it refuse it? */
static int channel_refuses(uint8_t type, const uint8_t *p, size_t len)
{
	static uint8_t env[65536];
	struct rd_sync_channel_config cfg;
	struct rd_sync_channel *ch;
	struct rd_sync_env_hdr h = {.type = type, .key_id = fuzz_key.id, .sender = 2, .seq = 77};
	uint64_t before;
	int n, rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.sender_id = 1;
	cfg.seq_start = 50;
	cfg.keys = &fuzz_key;
	cfg.nkeys = 1;
	cfg.send_key_id = fuzz_key.id;
	cfg.mtu = 128;
	cfg.resend_slots = 1;
	cfg.max_peers = 1;
	cfg.hold_slots = 4;
	cfg.cb.send = on_send;
	if (rd_sync_channel_new(&cfg, &ch) != 0)
		abort();
	n = rd_sync_env_seal(&fuzz_key, &h, NULL, p, len, env, sizeof(env));
	if (n < 0)
		abort();
	before = chan_stat(ch, RD_SYNC_STAT_BADPAYLOAD);
	rc = rd_sync_channel_input(ch, env, (size_t)n, 1000);
	if (rc != 0 && rc != RD_ERR_PROTO)
		abort();
	if ((rc == RD_ERR_PROTO) != (chan_stat(ch, RD_SYNC_STAT_BADPAYLOAD) == before + 1))
		abort();
	rd_sync_channel_free(ch);
	return rc == RD_ERR_PROTO;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct rd_sync_ctl c;
	struct walk w;
	uint8_t type;
	const uint8_t *p;
	size_t len, off;
	int want, rc;

	if (!init) {
		if (rd_init() != 0)
			abort();
		init = 1;
	}
	if (size == 0)
		return 0;
	type = data[0] & 7;
	p = data + 1;
	len = size - 1;
	want = reference(type, p, len, &off);

	w = (struct walk){p, 0, SIZE_MAX};
	rc = rd_sync_ctl_decode(type, p, len, &c, on_rec, &w);
	if (c.type != type || c.error != want)
		abort();
	if (want != RD_SYNC_CTL_OK) {
		int stat =
		    want == RD_SYNC_CTL_BADTYPE ? RD_SYNC_STAT_BADTYPE : RD_SYNC_STAT_BADPAYLOAD;
		if (rc != RD_ERR_PROTO || c.stat != stat || c.offset != off || w.n != 0 ||
		    c.nrecs != 0 || c.next != 0 || c.oldest != 0)
			abort();
	} else if (type == RD_SYNC_ENV_HELLO) {
		if (rc != 0 || c.stat != RD_SYNC_STAT_OPENED || c.offset != 0 || w.n != 0 ||
		    c.nrecs != 0 || c.next != rd_get64(p) || c.oldest != rd_get64(p + 8))
			abort();
	} else {
		if (rc != 0 || c.stat != RD_SYNC_STAT_OPENED || c.offset != 0 || w.n != c.nrecs ||
		    c.nrecs != (size_t)(p[0] << 8 | p[1]) || c.next != 0 || c.oldest != 0)
			abort();
		if (c.nrecs > 0) {
			w = (struct walk){p, 0, c.nrecs / 2};
			if (rd_sync_ctl_decode(type, p, len, &c, on_rec, &w) != 99 ||
			    w.n != w.stop_at + 1)
				abort();
		}
	}
	/* The channel meets only control types (its opener refuses the rest). */
	if (type >= RD_SYNC_ENV_ACK && type <= RD_SYNC_ENV_HELLO &&
	    len <= 65536 - RD_SYNC_ENV_OVERHEAD && channel_refuses(type, p, len) != (rc != 0))
		abort();
	return 0;
}
