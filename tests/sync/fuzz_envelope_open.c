/*
 * Fuzz target: the secure envelope opener and the channel behind it, with
 * each AEAD (XChaCha20-Poly1305, and AES-256-GCM where the CPU has it).
 *
 * Input byte 0 chooses the mode (bit 0) and the AEAD (bit 1: AES-256-GCM):
 *  even: the rest is an envelope, opened with the fixed test keys (key 7
 *        of the chosen AEAD, key 8 of the other; forged input must be
 *        refused; the seed corpus holds genuine envelopes of both);
 *  odd:  the rest is a script of records {type, sender, seq delta (2),
 *        payload length, payload} that are sealed with the fixed key of the
 *        chosen AEAD (types 0x80-0xdf: with a key of the same id and the
 *        other AEAD, which the channel must refuse as badaead) and fed to a
 *        channel, with ticks and sends in between, so the fuzzer reaches
 *        the authenticated paths (windows, acks, nacks, hellos).
 *        A second channel takes the same envelopes through an opener
 *        (rd_sync_opener_open, rd_sync_channel_input_opened): each
 *        return and, at the end, every counter must be the first's.
 */
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/sync.h"

#define FUZZ_KEY_BYTES                                                                             \
	{                                                                                          \
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, \
		    24, 25, 26, 27, 28, 29, 30, 31, 32                                             \
	}

/* fuzz_keys[aead]: key 7 with that AEAD; other_keys[aead]: key 8 with the other one. */
static const struct rd_sync_key fuzz_keys[RD_SYNC_AEAD_COUNT] = {
    {.id = 7, .key = FUZZ_KEY_BYTES, .aead = RD_SYNC_AEAD_XCHACHA20POLY1305},
    {.id = 7, .key = FUZZ_KEY_BYTES, .aead = RD_SYNC_AEAD_AES256GCM},
};
static const struct rd_sync_key other_keys[RD_SYNC_AEAD_COUNT] = {
    {.id = 8, .key = FUZZ_KEY_BYTES, .aead = RD_SYNC_AEAD_AES256GCM},
    {.id = 8, .key = FUZZ_KEY_BYTES, .aead = RD_SYNC_AEAD_XCHACHA20POLY1305},
};

static void fixed_rng(void *user, void *buf, size_t len)
{
	(void)user;
	memset(buf, 0x5a, len);
}

static void on_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	(void)user;
	(void)to;
	if (len < RD_SYNC_ENV_OVERHEAD)
		abort();
	(void)pkt;
}

static void on_deliver(void *user, uint32_t from, uint64_t seq, const uint8_t *pl, size_t len,
                       rd_time_t now)
{
	(void)user;
	(void)seq;
	(void)now;
	if (from == 1 || (len > 0 && pl == NULL))
		abort();
}

static void open_raw(int aead, const uint8_t *data, size_t size)
{
	static uint8_t out[65536];
	struct rd_sync_key keys[2] = {fuzz_keys[aead], other_keys[aead]};
	struct rd_sync_env_hdr h;
	int reason;
	int n = rd_sync_env_open(keys, 2, data, size, &h, out, sizeof(out), &reason);

	if (n >= 0 && ((size_t)n + RD_SYNC_ENV_OVERHEAD != size || reason != RD_SYNC_STAT_OPENED))
		abort();
	if (n < 0 && reason == RD_SYNC_STAT_OPENED)
		abort();
	/* What opened was sealed with the AEAD its key names. */
	if (n >= 0 && h.version != (keys[h.key_id == 7 ? 0 : 1].aead == RD_SYNC_AEAD_AES256GCM
	                                ? RD_SYNC_ENV_VERSION_GCM
	                                : RD_SYNC_ENV_VERSION))
		abort();
}

static void run_script(int aead, const uint8_t *d, size_t size)
{
	const struct rd_sync_key *key = &fuzz_keys[aead];
	struct rd_sync_key wrong = fuzz_keys[aead ^ 1]; /* key 7 with the other AEAD */
	uint64_t badaead = 0;
	struct rd_sync_channel_config cfg;
	struct rd_sync_channel *ch, *ch2;
	struct rd_sync_opener *op;
	uint8_t env[512], opened[512];
	uint64_t seq[4] = {100, 100, 100, 100};
	rd_time_t now = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.sender_id = 1;
	cfg.seq_start = 50;
	cfg.keys = key;
	cfg.nkeys = 1;
	cfg.send_key_id = key->id;
	cfg.mtu = 512;
	cfg.resend_slots = 8;
	cfg.max_peers = 2;
	cfg.max_tries = 2;
	cfg.cb.send = on_send;
	cfg.cb.deliver = on_deliver;
	cfg.random.fn = fixed_rng;
	if (rd_sync_channel_new(&cfg, &ch) != 0 || rd_sync_channel_new(&cfg, &ch2) != 0 ||
	    rd_sync_opener_new(ch2, &op) != 0)
		abort();
	while (size >= 5) {
		struct rd_sync_env_hdr h;
		uint8_t type = d[0], who = d[1] & 3;
		size_t len = d[4];
		int n;

		if (len > size - 5)
			len = size - 5;
		seq[who] += rd_get16(d + 2);
		seq[who] -= 8; /* lets scripts go back and replay */
		now += (rd_time_t)d[1] * RD_MSEC;
		if (type >= 0xf0) {
			if (rd_sync_channel_send(ch, d + 5, len, now) !=
			    rd_sync_channel_send(ch2, d + 5, len, now))
				abort();
		} else if (type >= 0xe0) {
			rd_sync_channel_handle_expiry(ch, now);
			rd_sync_channel_handle_expiry(ch2, now);
		} else {
			const struct rd_sync_key *k = type >= 0x80 ? &wrong : key;

			h.type = (uint8_t)(type % 5);
			if (h.type == 0)
				h.type = RD_SYNC_ENV_DATA;
			h.key_id = k->id;
			h.sender = who;
			h.seq = seq[who];
			n = rd_sync_env_seal(k, &h, &cfg.random, d + 5, len, env, sizeof(env));
			/* AES-GCM nonces hold 63 bits of sequence number: refused above. */
			if (n == RD_ERR_INVAL && k->aead == RD_SYNC_AEAD_AES256GCM && h.seq >> 63)
				n = -1;
			else if (n == RD_ERR_NOTSUP && k == &wrong) /* no AES-NI here */
				n = -1;
			else if (n < 0)
				abort();
			if (n >= 0) {
				int rc = rd_sync_channel_input(ch, env, (size_t)n, now);
				struct rd_sync_opened o;

				if (rd_sync_opener_open(op, env, (size_t)n, opened, sizeof(opened),
				                        &o) != 0 ||
				    rd_sync_channel_input_opened(ch2, &o, now) != rc)
					abort();
				if (k == &wrong) {
					if (rc != RD_ERR_PROTO)
						abort();
					badaead++;
				}
			}
		}
		d += 5 + len;
		size -= 5 + len;
	}
	uint64_t st[RD_SYNC_STAT_COUNT], st2[RD_SYNC_STAT_COUNT];
	rd_sync_channel_stats(ch, st);
	rd_sync_channel_stats(ch2, st2);
	if (st[RD_SYNC_STAT_DELIVERED] > st[RD_SYNC_STAT_OPENED] ||
	    st[RD_SYNC_STAT_BADAEAD] != badaead || memcmp(st, st2, sizeof(st)) != 0)
		abort();
	rd_sync_opener_free(op);
	rd_sync_channel_free(ch);
	rd_sync_channel_free(ch2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	int aead;

	if (!init) {
		if (rd_init() != 0)
			abort();
		init = 1;
	}
	if (size == 0)
		return 0;
	aead = data[0] >> 1 & 1;
	/* Without AES-NI, AES-GCM keys are refused everywhere: fuzz XChaCha only. */
	if (aead == RD_SYNC_AEAD_AES256GCM && !rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM))
		return 0;
	if ((data[0] & 1) == 0)
		open_raw(aead, data + 1, size - 1);
	else
		run_script(aead, data + 1, size - 1);
	return 0;
}
