/*
 * Unit tests for the secure envelope, key files, control payloads
 * (rd_sync_ctl_decode) and the secure channel.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/sync.h"
#include "sync/envelope.h"

static struct rd_sync_key key1(void)
{
	struct rd_sync_key k;
	memset(&k, 0, sizeof(k));
	k.id = 1;
	for (int i = 0; i < RD_SYNC_KEY_LEN; i++)
		k.key[i] = (uint8_t)(i * 7 + 1);
	return k;
}

static struct rd_sync_key key2(void)
{
	struct rd_sync_key k;
	memset(&k, 0, sizeof(k));
	k.id = 2;
	for (int i = 0; i < RD_SYNC_KEY_LEN; i++)
		k.key[i] = (uint8_t)(200 - i);
	return k;
}

/* Deterministic "randomness" so tests are repeatable. */
static void counter_rng(void *user, void *buf, size_t len)
{
	uint8_t *c = user, *b = buf;
	for (size_t i = 0; i < len; i++)
		b[i] = (*c)++;
}

static uint8_t rng_state;
static const struct rd_random test_rng = {counter_rng, &rng_state};

static int seal(const struct rd_sync_key *k, uint8_t type, uint64_t seq, const char *msg,
                uint8_t *out, size_t cap)
{
	struct rd_sync_env_hdr h = {
	    .type = type, .key_id = k->id, .sender = 0x0a0b0c0d, .seq = seq};
	return rd_sync_env_seal(k, &h, &test_rng, (const uint8_t *)msg, strlen(msg), out, cap);
}

/* ---- envelope ------------------------------------------------------ */

START_TEST(seal_then_open_returns_header_and_payload)
{
	struct rd_sync_key k = key1();
	uint8_t env[256], pt[256];
	struct rd_sync_env_hdr h;
	int reason;
	int n = seal(&k, RD_SYNC_ENV_DATA, 42, "hello pfsync", env, sizeof(env));

	ck_assert_int_eq(n, 12 + RD_SYNC_ENV_OVERHEAD);
	ck_assert_uint_eq(env[0], 'R');
	ck_assert_uint_eq(env[1], 'D');
	ck_assert_uint_eq(env[2], 1);
	ck_assert_uint_eq(env[3], RD_SYNC_ENV_DATA);
	ck_assert_uint_eq(rd_get32(env + 4), 1);
	ck_assert_uint_eq(rd_get32(env + 8), 0x0a0b0c0d);
	ck_assert_uint_eq(rd_get64(env + 12), 42);
	/* The plaintext does not appear in the envelope. */
	ck_assert_ptr_null(memmem(env, (size_t)n, "pfsync", 6));
	ck_assert_int_eq(rd_sync_env_open(&k, 1, env, (size_t)n, &h, pt, sizeof(pt), &reason), 12);
	ck_assert_mem_eq(pt, "hello pfsync", 12);
	ck_assert_int_eq(reason, RD_SYNC_STAT_OPENED);
	ck_assert_uint_eq(h.type, RD_SYNC_ENV_DATA);
	ck_assert_uint_eq(h.sender, 0x0a0b0c0d);
	ck_assert_uint_eq(h.seq, 42);
	ck_assert_uint_eq(h.key_id, 1);
}
END_TEST

START_TEST(tampering_with_any_byte_is_refused)
{
	struct rd_sync_key k = key1();
	uint8_t env[256], bad[256], pt[256];
	k.aead = (uint8_t)_i; /* each AEAD (a loop test) */
	int n = seal(&k, RD_SYNC_ENV_DATA, 7, "state insert", env, sizeof(env));

	for (int i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int reason = -1;
			memcpy(bad, env, (size_t)n);
			bad[i] ^= (uint8_t)(1 << bit);
			memset(pt, 0xaa, sizeof(pt));
			int rc =
			    rd_sync_env_open(&k, 1, bad, (size_t)n, NULL, pt, sizeof(pt), &reason);
			ck_assert_int_lt(rc, 0);
			ck_assert_int_ne(reason, RD_SYNC_STAT_OPENED);
			/* Nothing decrypted is left behind. */
			ck_assert_ptr_null(memmem(pt, sizeof(pt), "state", 5));
		}
	}
}
END_TEST

START_TEST(tampering_reasons_name_the_field)
{
	struct rd_sync_key k = key1();
	uint8_t env[256], pt[256];
	int reason;
	int n = seal(&k, RD_SYNC_ENV_ACK, 7, "x", env, sizeof(env));

	env[1] ^= 1;
	ck_assert_int_eq(rd_sync_env_open(&k, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason),
	                 RD_ERR_PROTO);
	ck_assert_int_eq(reason, RD_SYNC_STAT_BADMAGIC);
	env[1] ^= 1;
	env[3] = 9;
	rd_sync_env_open(&k, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason);
	ck_assert_int_eq(reason, RD_SYNC_STAT_BADTYPE);
	env[3] = RD_SYNC_ENV_NACK; /* a valid type, but authenticated as ACK */
	ck_assert_int_eq(rd_sync_env_open(&k, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason),
	                 RD_ERR_AUTH);
	ck_assert_int_eq(reason, RD_SYNC_STAT_BADTAG);
}
END_TEST

START_TEST(wrong_key_with_same_id_is_refused)
{
	struct rd_sync_key k = key1(), other = key2();
	uint8_t env[256], pt[256];
	int reason;
	int n = seal(&k, RD_SYNC_ENV_DATA, 1, "secret", env, sizeof(env));

	other.id = 1;
	ck_assert_int_eq(rd_sync_env_open(&other, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason),
	                 RD_ERR_AUTH);
	ck_assert_int_eq(reason, RD_SYNC_STAT_BADTAG);
}
END_TEST

START_TEST(unknown_key_id_is_refused)
{
	struct rd_sync_key k = key1(), other = key2();
	uint8_t env[256], pt[256];
	int reason;
	int n = seal(&k, RD_SYNC_ENV_DATA, 1, "secret", env, sizeof(env));

	ck_assert_int_eq(rd_sync_env_open(&other, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason),
	                 RD_ERR_NOENT);
	ck_assert_int_eq(reason, RD_SYNC_STAT_UNKNOWNKEY);
}
END_TEST

START_TEST(truncated_envelope_is_refused)
{
	struct rd_sync_key k = key1();
	uint8_t env[256], pt[256];
	int reason;
	int n = seal(&k, RD_SYNC_ENV_DATA, 1, "", env, sizeof(env));

	ck_assert_int_eq(n, RD_SYNC_ENV_OVERHEAD);
	ck_assert_int_eq(rd_sync_env_open(&k, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason), 0);
	ck_assert_int_eq(rd_sync_env_open(&k, 1, env, (size_t)n - 1, NULL, pt, sizeof(pt), &reason),
	                 RD_ERR_PROTO);
	ck_assert_int_eq(reason, RD_SYNC_STAT_TRUNCATED);
	n = seal(&k, RD_SYNC_ENV_DATA, 1, "abc", env, sizeof(env));
	ck_assert_int_eq(rd_sync_env_open(&k, 1, env, (size_t)n - 1, NULL, pt, sizeof(pt), &reason),
	                 RD_ERR_AUTH);
}
END_TEST

START_TEST(seal_refuses_small_buffer_and_key_mismatch)
{
	struct rd_sync_key k = key1();
	uint8_t env[256];
	struct rd_sync_env_hdr h = {.type = RD_SYNC_ENV_DATA, .key_id = 2, .sender = 1, .seq = 1};

	ck_assert_int_eq(rd_sync_env_seal(&k, &h, NULL, (const uint8_t *)"ab", 2, env, 256),
	                 RD_ERR_INVAL);
	h.key_id = 1;
	ck_assert_int_eq(rd_sync_env_seal(&k, &h, NULL, (const uint8_t *)"ab", 2, env, 61),
	                 RD_ERR_NOSPC);
	h.type = 0;
	ck_assert_int_eq(rd_sync_env_seal(&k, &h, NULL, (const uint8_t *)"ab", 2, env, 256),
	                 RD_ERR_INVAL);
}
END_TEST

START_TEST(nonces_differ_between_envelopes)
{
	struct rd_sync_key k = key1();
	uint8_t a[128], b[128];

	seal(&k, RD_SYNC_ENV_DATA, 5, "same", a, sizeof(a));
	seal(&k, RD_SYNC_ENV_DATA, 5, "same", b, sizeof(b));
	ck_assert_mem_ne(a + 20, b + 20, 24);
}
END_TEST

/* ---- the AEADs ----------------------------------------------------- */

static struct rd_sync_key key1_gcm(void)
{
	struct rd_sync_key k = key1();
	k.aead = RD_SYNC_AEAD_AES256GCM;
	return k;
}

START_TEST(aes_gcm_envelope_is_version_2_and_opens)
{
	struct rd_sync_key k = key1_gcm();
	uint8_t env[256], pt[256];
	struct rd_sync_env_hdr h;
	int reason;
	int n = seal(&k, RD_SYNC_ENV_DATA, 42, "hello pfsync", env, sizeof(env));

	ck_assert_int_eq(n, 12 + RD_SYNC_ENV_OVERHEAD);
	ck_assert_uint_eq(env[2], RD_SYNC_ENV_VERSION_GCM);
	ck_assert_uint_eq(rd_get32(env + 4), 1);
	ck_assert_uint_eq(rd_get64(env + 12), 42);
	ck_assert_ptr_null(memmem(env, (size_t)n, "pfsync", 6));
	ck_assert_int_eq(rd_sync_env_open(&k, 1, env, (size_t)n, &h, pt, sizeof(pt), &reason), 12);
	ck_assert_mem_eq(pt, "hello pfsync", 12);
	ck_assert_int_eq(reason, RD_SYNC_STAT_OPENED);
	ck_assert_uint_eq(h.version, RD_SYNC_ENV_VERSION_GCM);
	ck_assert_uint_eq(h.type, RD_SYNC_ENV_DATA);
	ck_assert_uint_eq(h.sender, 0x0a0b0c0d);
	ck_assert_uint_eq(h.seq, 42);
}
END_TEST

/* Every type and payload sizes around the AES block, under each AEAD (loop test). */
START_TEST(each_aead_round_trips_every_type_and_size)
{
	static const size_t sizes[] = {0, 1, 15, 16, 17, 64, 255, 1400, 8940};
	static uint8_t msg[9000], env[9100], pt[9100];
	struct rd_sync_key k = key1();

	k.aead = (uint8_t)_i;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 13 + 5);
	for (uint8_t type = RD_SYNC_ENV_DATA; type <= RD_SYNC_ENV_HELLO; type++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			struct rd_sync_env_hdr h = {
			    .type = type, .key_id = 1, .sender = 77, .seq = 1000 + s};
			struct rd_sync_env_hdr back;
			int reason, n;

			n = rd_sync_env_seal(&k, &h, &test_rng, msg, sizes[s], env, sizeof(env));
			ck_assert_int_eq(n, (int)(sizes[s] + RD_SYNC_ENV_OVERHEAD));
			memset(pt, 0, sizeof(pt));
			ck_assert_int_eq(
			    rd_sync_env_open(&k, 1, env, (size_t)n, &back, pt, sizeof(pt), &reason),
			    (int)sizes[s]);
			ck_assert_mem_eq(pt, msg, sizes[s]);
			ck_assert_uint_eq(back.type, type);
			ck_assert_uint_eq(back.seq, 1000 + s);
		}
	}
}
END_TEST

/*
 * AES-GCM's 96-bit nonce is sender | sequence with the control bit, no
 * randomness: DATA and a control envelope of the same number differ, and
 * the same (sender, DATA, seq) gives the same nonce (which is why a sender
 * must never reuse a number under an AES-GCM key).
 */
START_TEST(aes_gcm_nonce_is_sender_and_sequence_per_space)
{
	struct rd_sync_key k = key1_gcm();
	uint8_t a[128], b[128], c[128], zero[12] = {0};

	seal(&k, RD_SYNC_ENV_DATA, 5, "same", a, sizeof(a));
	seal(&k, RD_SYNC_ENV_DATA, 5, "same", b, sizeof(b));
	seal(&k, RD_SYNC_ENV_HELLO, 5, "same", c, sizeof(c));
	ck_assert_uint_eq(rd_get32(a + 20), 0x0a0b0c0d);
	ck_assert_uint_eq(rd_get64(a + 24), 5);
	ck_assert_uint_eq(rd_get64(c + 24), ((uint64_t)1 << 63) | 5);
	ck_assert_mem_eq(a + 32, zero, 12);
	ck_assert_mem_eq(a + 20, b + 20, 24);
	ck_assert_mem_ne(a + 20, c + 20, 12);
}
END_TEST

START_TEST(aes_gcm_seal_refuses_sequence_numbers_from_2_63)
{
	struct rd_sync_key k = key1_gcm(), x = key1();
	uint8_t env[128];

	ck_assert_int_eq(seal(&k, RD_SYNC_ENV_DATA, (uint64_t)1 << 63, "x", env, sizeof(env)),
	                 RD_ERR_INVAL);
	ck_assert_int_gt(seal(&k, RD_SYNC_ENV_DATA, ((uint64_t)1 << 63) - 1, "x", env, sizeof(env)),
	                 0);
	/* XChaCha's nonce holds the whole number. */
	ck_assert_int_gt(seal(&x, RD_SYNC_ENV_DATA, (uint64_t)1 << 63, "x", env, sizeof(env)), 0);
}
END_TEST

/* Members whose key files disagree on the AEAD: refused as such, both ways. */
START_TEST(envelope_of_one_aead_is_refused_by_a_key_of_the_other)
{
	struct rd_sync_key x = key1(), g = key1_gcm(); /* same id, same bytes */
	uint8_t env[256], pt[256];
	int reason, n;

	n = seal(&x, RD_SYNC_ENV_DATA, 1, "secret", env, sizeof(env));
	ck_assert_int_eq(rd_sync_env_open(&g, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason),
	                 RD_ERR_PROTO);
	ck_assert_int_eq(reason, RD_SYNC_STAT_BADAEAD);
	n = seal(&g, RD_SYNC_ENV_DATA, 1, "secret", env, sizeof(env));
	ck_assert_int_eq(rd_sync_env_open(&x, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason),
	                 RD_ERR_PROTO);
	ck_assert_int_eq(reason, RD_SYNC_STAT_BADAEAD);
	/* Relabelled as the other AEAD on the way: refused by its own key's tag. */
	env[2] = RD_SYNC_ENV_VERSION;
	ck_assert_int_eq(rd_sync_env_open(&x, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason),
	                 RD_ERR_AUTH);
	ck_assert_int_eq(reason, RD_SYNC_STAT_BADTAG);
	ck_assert_ptr_null(memmem(pt, sizeof(pt), "secret", 6));
	/* An unknown version is not an AEAD. */
	env[2] = 3;
	rd_sync_env_open(&g, 1, env, (size_t)n, NULL, pt, sizeof(pt), &reason);
	ck_assert_int_eq(reason, RD_SYNC_STAT_BADMAGIC);
}
END_TEST

START_TEST(seal_refuses_unknown_aead)
{
	struct rd_sync_key k = key1();
	uint8_t env[128];

	k.aead = RD_SYNC_AEAD_COUNT;
	ck_assert_int_eq(seal(&k, RD_SYNC_ENV_DATA, 1, "x", env, sizeof(env)), RD_ERR_INVAL);
}
END_TEST

START_TEST(aead_names_and_availability)
{
	ck_assert_str_eq(rd_sync_aead_name(RD_SYNC_AEAD_XCHACHA20POLY1305), "xchacha20poly1305");
	ck_assert_str_eq(rd_sync_aead_name(RD_SYNC_AEAD_AES256GCM), "aes256gcm");
	ck_assert_str_eq(rd_sync_aead_name(RD_SYNC_AEAD_COUNT), "unknown");
	ck_assert_str_eq(rd_sync_aead_name(-1), "unknown");
	ck_assert(rd_sync_aead_available(RD_SYNC_AEAD_XCHACHA20POLY1305));
	ck_assert(!rd_sync_aead_available(RD_SYNC_AEAD_COUNT));
	/* The machine decides; the tests that seal with AES-GCM need it. */
	ck_assert(rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM) ==
	          (crypto_aead_aes256gcm_is_available() != 0));
}
END_TEST

/* ---- key file ------------------------------------------------------ */

START_TEST(key_file_round_trips)
{
	struct rd_sync_key k = key2(), back;
	char buf[128];
	int n = rd_sync_key_format(&k, buf, sizeof(buf));

	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_int_eq(strncmp(buf, "keyid 2\nkey c8c7c6", 18), 0);
	ck_assert_int_eq(rd_sync_key_parse(buf, (size_t)n, &back), 0);
	ck_assert_uint_eq(back.id, 2);
	ck_assert_mem_eq(back.key, k.key, RD_SYNC_KEY_LEN);
}
END_TEST

START_TEST(key_file_without_aead_is_xchacha)
{
	/* A key file as libredund before the aead line wrote them. */
	const char *t = "keyid 9\n"
	                "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	struct rd_sync_key k;

	memset(&k, 0xee, sizeof(k));
	ck_assert_int_eq(rd_sync_key_parse(t, strlen(t), &k), 0);
	ck_assert_uint_eq(k.id, 9);
	ck_assert_uint_eq(k.aead, RD_SYNC_AEAD_XCHACHA20POLY1305);
}
END_TEST

START_TEST(key_file_names_its_aead)
{
	const char *g = "keyid 9\naead aes256gcm   # AES-NI here\n"
	                "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	const char *x = "aead xchacha20poly1305\nkeyid 9\n"
	                "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	struct rd_sync_key k;

	ck_assert_int_eq(rdi_sync_key_parse(g, strlen(g), &k, true), 0);
	ck_assert_uint_eq(k.aead, RD_SYNC_AEAD_AES256GCM);
	ck_assert_uint_eq(k.key[31], 31);
	ck_assert_int_eq(rd_sync_key_parse(x, strlen(x), &k), 0);
	ck_assert_uint_eq(k.aead, RD_SYNC_AEAD_XCHACHA20POLY1305);
}
END_TEST

/* An XChaCha key is written as before (old peers read it); AES-GCM says so. */
START_TEST(key_file_format_writes_aead_only_for_aes_gcm)
{
	struct rd_sync_key k = key2(), back;
	char buf[RD_SYNC_KEY_TEXT_LEN];
	int n;

	n = rd_sync_key_format(&k, buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "\naead")); /* (key2's hex has "aead" in it) */
	k.aead = RD_SYNC_AEAD_AES256GCM;
	n = rd_sync_key_format(&k, buf, sizeof(buf));
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_ptr_nonnull(strstr(buf, "\naead aes256gcm\n"));
	ck_assert_int_eq(rdi_sync_key_parse(buf, (size_t)n, &back, true), 0);
	ck_assert_uint_eq(back.aead, RD_SYNC_AEAD_AES256GCM);
	ck_assert_mem_eq(back.key, k.key, RD_SYNC_KEY_LEN);
	ck_assert_int_eq(rd_sync_key_format(&k, buf, (size_t)n), RD_ERR_NOSPC);
	k.aead = RD_SYNC_AEAD_COUNT;
	ck_assert_int_eq(rd_sync_key_format(&k, buf, sizeof(buf)), RD_ERR_INVAL);
}
END_TEST

START_TEST(key_file_bad_aead_is_refused)
{
	static const char *bad[] = {
	    "aead aes-256-gcm\n",
	    "aead AES256GCM\n",
	    "aead\n",
	    "aead chacha20poly1305\n",
	    "aead aes256gcm\naead aes256gcm\n",
	    "aead aes256gcm xchacha20poly1305\n",
	};
	const char *rest =
	    "keyid 1\nkey 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	struct rd_sync_key k;
	char t[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(t, sizeof(t), "%s%s", rest, bad[i]);
		ck_assert_msg(rdi_sync_key_parse(t, strlen(t), &k, true) == RD_ERR_INVAL,
		              "accepted bad aead %zu", i);
	}
}
END_TEST

/* What a machine without AES-NI answers (simulated: aes_ok false). */
START_TEST(key_file_naming_aes_gcm_without_aes_ni_is_not_supported)
{
	const char *g = "keyid 3\naead aes256gcm\n"
	                "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	const char *x = "keyid 3\n"
	                "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	struct rd_sync_key k;

	memset(&k, 0x11, sizeof(k));
	ck_assert_int_eq(rdi_sync_key_parse(g, strlen(g), &k, false), RD_ERR_NOTSUP);
	ck_assert_uint_eq(k.id, 0x11111111); /* untouched */
	ck_assert_int_eq(rdi_sync_key_parse(x, strlen(x), &k, false), 0);
	ck_assert_int_eq(rdi_env_key_check(&k, false), 0);
	k.aead = RD_SYNC_AEAD_AES256GCM;
	ck_assert_int_eq(rdi_env_key_check(&k, false), RD_ERR_NOTSUP);
	ck_assert_str_ne(rd_strerror(RD_ERR_NOTSUP), "unknown error");
}
END_TEST

START_TEST(key_file_allows_comments_and_blank_lines)
{
	const char *t = "# sync key\n\n  keyid   77  # rotated\n"
	                "key 000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e1f\r\n";
	struct rd_sync_key k;

	ck_assert_int_eq(rd_sync_key_parse(t, strlen(t), &k), 0);
	ck_assert_uint_eq(k.id, 77);
	ck_assert_uint_eq(k.key[10], 10);
	ck_assert_uint_eq(k.key[31], 31);
}
END_TEST

START_TEST(key_file_errors_are_refused)
{
	static const char *bad[] = {
	    "keyid 1\n",
	    "key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	    "keyid 1\nkey 0001\n",
	    "keyid 1\nkey 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n",
	    "keyid 4294967296\nkey "
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	    "keyid -1\nkey 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	    "keyid 1\nkeyid 2\nkey "
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	    "keyid 1\nsecret x\nkey "
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
	};
	struct rd_sync_key k;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(rd_sync_key_parse(bad[i], strlen(bad[i]), &k) == RD_ERR_INVAL,
		              "accepted bad key file %zu", i);
}
END_TEST

START_TEST(key_generate_uses_random_hook)
{
	struct rd_sync_key a, b;
	uint8_t s = 0;
	struct rd_random r = {counter_rng, &s};

	rd_sync_key_generate(9, &r, &a);
	ck_assert_uint_eq(a.id, 9);
	ck_assert_uint_eq(a.key[0], 0);
	ck_assert_uint_eq(a.key[31], 31);
	rd_sync_key_generate(9, NULL, &b);
	ck_assert_mem_ne(a.key, b.key, RD_SYNC_KEY_LEN);
}
END_TEST

/* ---- control payloads (rd_sync_ctl_decode) ------------------------- */

/* A HELLO whose incarnation began at `oldest` (first == oldest). */
static size_t put_hello(uint8_t *pl, uint64_t next, uint64_t oldest)
{
	rd_put64(pl, next);
	rd_put64(pl + 8, oldest);
	rd_put64(pl + 16, oldest);
	return RD_SYNC_HELLO_LEN;
}

/* Record i of an ACK payload whose prefix says `count` (reserved words as given). */
static void put_ack_rec(uint8_t *pl, size_t i, uint32_t sender, uint32_t reserved, uint64_t cum,
                        uint64_t top, uint64_t bits)
{
	uint8_t *r = pl + RD_SYNC_ACK_HDR_LEN + i * RD_SYNC_ACK_REC_LEN;
	rd_put32(r, sender);
	rd_put32(r + 4, reserved);
	rd_put64(r + 8, cum);
	rd_put64(r + 16, top);
	rd_put64(r + 24, bits);
}

struct recs_seen {
	size_t n;
	struct rd_sync_ack_rec r[4];
	int stop_at; /* return 7 from the call with this index (-1: never) */
};

static int collect_rec(void *user, const struct rd_sync_ack_rec *rec)
{
	struct recs_seen *s = user;
	if (s->n < 4)
		s->r[s->n] = *rec;
	if ((int)s->n++ == s->stop_at)
		return 7;
	return 0;
}

START_TEST(ctl_decode_accepts_hello)
{
	uint8_t pl[RD_SYNC_HELLO_LEN];
	struct rd_sync_ctl c;

	put_hello(pl, 9000, 8990);
	ck_assert_int_eq(rd_sync_ctl_decode(RD_SYNC_ENV_HELLO, pl, sizeof(pl), &c, NULL, NULL), 0);
	ck_assert_uint_eq(c.type, RD_SYNC_ENV_HELLO);
	ck_assert_int_eq(c.error, RD_SYNC_CTL_OK);
	ck_assert_int_eq(c.stat, RD_SYNC_STAT_OPENED);
	ck_assert_uint_eq(c.next, 9000);
	ck_assert_uint_eq(c.oldest, 8990);
	ck_assert_uint_eq(c.nrecs, 0);
	/* oldest == next (nothing held) and the extremes are in range. */
	put_hello(pl, 5, 5);
	ck_assert_int_eq(rd_sync_ctl_decode(RD_SYNC_ENV_HELLO, pl, sizeof(pl), &c, NULL, NULL), 0);
	put_hello(pl, UINT64_MAX, 1);
	ck_assert_int_eq(rd_sync_ctl_decode(RD_SYNC_ENV_HELLO, pl, sizeof(pl), &c, NULL, NULL), 0);
	ck_assert_uint_eq(c.next, UINT64_MAX);
	ck_assert_uint_eq(c.oldest, 1);
	ck_assert_uint_eq(c.first, 1);
	/* first below oldest: the sender released its first messages. */
	put_hello(pl, 9000, 8990);
	rd_put64(pl + 16, 100);
	ck_assert_int_eq(rd_sync_ctl_decode(RD_SYNC_ENV_HELLO, pl, sizeof(pl), &c, NULL, NULL), 0);
	ck_assert_uint_eq(c.first, 100);
}
END_TEST

/* libredund before 0.2 sent {next, oldest} only: accepted, first unknown. */
START_TEST(ctl_decode_accepts_hello_without_first)
{
	uint8_t pl[RD_SYNC_HELLO_LEN];
	struct rd_sync_ctl c;

	put_hello(pl, 9000, 8990);
	ck_assert_int_eq(
	    rd_sync_ctl_decode(RD_SYNC_ENV_HELLO, pl, RD_SYNC_HELLO_V0_LEN, &c, NULL, NULL), 0);
	ck_assert_uint_eq(c.next, 9000);
	ck_assert_uint_eq(c.oldest, 8990);
	ck_assert_uint_eq(c.first, 0);
}
END_TEST

START_TEST(ctl_decode_accepts_ack_and_nack_records_in_order)
{
	uint8_t pl[RD_SYNC_ACK_HDR_LEN + 2 * RD_SYNC_ACK_REC_LEN] = {0};
	struct recs_seen seen;
	struct rd_sync_ctl c;

	rd_put16(pl, 2);
	rd_put16(pl + 2, 0xffff); /* reserved: not checked */
	put_ack_rec(pl, 0, 0xcafe0001, 0, 5001, 5002, 1);
	put_ack_rec(pl, 1, 0xb, 0xdeadbeef, 7, 7, 0);
	for (uint8_t t = RD_SYNC_ENV_ACK; t <= RD_SYNC_ENV_NACK; t++) {
		memset(&seen, 0, sizeof(seen));
		seen.stop_at = -1;
		ck_assert_int_eq(rd_sync_ctl_decode(t, pl, sizeof(pl), &c, collect_rec, &seen), 0);
		ck_assert_uint_eq(c.type, t);
		ck_assert_int_eq(c.error, RD_SYNC_CTL_OK);
		ck_assert_uint_eq(c.nrecs, 2);
		ck_assert_uint_eq(seen.n, 2);
		ck_assert_uint_eq(seen.r[0].sender, 0xcafe0001);
		ck_assert_uint_eq(seen.r[0].cumulative, 5001);
		ck_assert_uint_eq(seen.r[0].top, 5002);
		ck_assert_uint_eq(seen.r[0].bitmap, 1);
		ck_assert_uint_eq(seen.r[1].sender, 0xb);
		ck_assert_uint_eq(seen.r[1].cumulative, 7);
		ck_assert_uint_eq(seen.r[1].top, 7);
	}
	/* Without a callback the records are still checked and counted. */
	ck_assert_int_eq(rd_sync_ctl_decode(RD_SYNC_ENV_ACK, pl, sizeof(pl), &c, NULL, NULL), 0);
	ck_assert_uint_eq(c.nrecs, 2);
}
END_TEST

START_TEST(ctl_decode_accepts_ack_without_records)
{
	uint8_t pl[RD_SYNC_ACK_HDR_LEN] = {0};
	struct recs_seen seen = {.stop_at = -1};
	struct rd_sync_ctl c;

	ck_assert_int_eq(
	    rd_sync_ctl_decode(RD_SYNC_ENV_ACK, pl, sizeof(pl), &c, collect_rec, &seen), 0);
	ck_assert_uint_eq(c.nrecs, 0);
	ck_assert_uint_eq(seen.n, 0);
}
END_TEST

START_TEST(ctl_decode_returns_the_callbacks_value)
{
	uint8_t pl[RD_SYNC_ACK_HDR_LEN + 2 * RD_SYNC_ACK_REC_LEN] = {0};
	struct recs_seen seen = {.stop_at = 0};
	struct rd_sync_ctl c;

	rd_put16(pl, 2);
	ck_assert_int_eq(
	    rd_sync_ctl_decode(RD_SYNC_ENV_NACK, pl, sizeof(pl), &c, collect_rec, &seen), 7);
	ck_assert_uint_eq(seen.n, 1); /* the walk stopped */
}
END_TEST

/* Asserts a refusal: RD_ERR_PROTO, the error, BADPAYLOAD, the offset. */
static void assert_refused(uint8_t type, const uint8_t *pl, size_t len, int error, size_t offset)
{
	struct recs_seen seen = {.stop_at = -1};
	struct rd_sync_ctl c;

	ck_assert_int_eq(rd_sync_ctl_decode(type, pl, len, &c, collect_rec, &seen), RD_ERR_PROTO);
	ck_assert_str_eq(rd_sync_ctl_error_name(c.error), rd_sync_ctl_error_name(error));
	ck_assert_int_eq(c.stat, error == RD_SYNC_CTL_BADTYPE ? RD_SYNC_STAT_BADTYPE
	                                                      : RD_SYNC_STAT_BADPAYLOAD);
	ck_assert_uint_eq(c.offset, offset);
	ck_assert_uint_eq(seen.n, 0); /* nothing of a refused payload is delivered */
	ck_assert_uint_eq(c.nrecs, 0);
}

START_TEST(ctl_decode_refuses_hello_of_wrong_length)
{
	uint8_t pl[RD_SYNC_HELLO_LEN + 8];
	const size_t lens[] = {0, 1, 8, 15, 17, 23, 25, 32};

	memset(pl, 0, sizeof(pl));
	put_hello(pl, 10, 1);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		assert_refused(RD_SYNC_ENV_HELLO, pl, lens[i], RD_SYNC_CTL_HELLO_LEN, 0);
}
END_TEST

START_TEST(ctl_decode_refuses_hello_with_next_zero)
{
	uint8_t pl[RD_SYNC_HELLO_LEN];

	put_hello(pl, 0, 0);
	assert_refused(RD_SYNC_ENV_HELLO, pl, sizeof(pl), RD_SYNC_CTL_HELLO_NEXT_ZERO, 0);
	/* Both rules broken: next 0 is the one named. */
	put_hello(pl, 0, 5);
	assert_refused(RD_SYNC_ENV_HELLO, pl, sizeof(pl), RD_SYNC_CTL_HELLO_NEXT_ZERO, 0);
}
END_TEST

START_TEST(ctl_decode_refuses_hello_with_oldest_above_next)
{
	uint8_t pl[RD_SYNC_HELLO_LEN];

	put_hello(pl, 10, 11);
	assert_refused(RD_SYNC_ENV_HELLO, pl, sizeof(pl), RD_SYNC_CTL_HELLO_OLDEST_ABOVE_NEXT, 8);
	put_hello(pl, 1, UINT64_MAX);
	assert_refused(RD_SYNC_ENV_HELLO, pl, sizeof(pl), RD_SYNC_CTL_HELLO_OLDEST_ABOVE_NEXT, 8);
}
END_TEST

/*
 * No DATA is numbered 0, so a HELLO saying the sender still holds from 0
 * is malformed; taken, it would start a new peer's window at the top of
 * the number space and refuse all its DATA as replays.
 */
START_TEST(ctl_decode_refuses_hello_with_oldest_zero)
{
	uint8_t pl[RD_SYNC_HELLO_LEN];

	put_hello(pl, 7, 0);
	assert_refused(RD_SYNC_ENV_HELLO, pl, sizeof(pl), RD_SYNC_CTL_HELLO_OLDEST_ZERO, 8);
	put_hello(pl, UINT64_MAX, 0);
	assert_refused(RD_SYNC_ENV_HELLO, pl, sizeof(pl), RD_SYNC_CTL_HELLO_OLDEST_ZERO, 8);
	ck_assert_str_eq(rd_sync_ctl_error_name(RD_SYNC_CTL_HELLO_OLDEST_ZERO),
	                 "hello_oldest_zero");
}
END_TEST

START_TEST(ctl_decode_refuses_ack_shorter_than_its_prefix)
{
	uint8_t pl[4] = {0, 0, 0, 0};

	for (size_t len = 0; len < RD_SYNC_ACK_HDR_LEN; len++) {
		assert_refused(RD_SYNC_ENV_ACK, pl, len, RD_SYNC_CTL_ACK_SHORT, 0);
		assert_refused(RD_SYNC_ENV_NACK, pl, len, RD_SYNC_CTL_ACK_SHORT, 0);
	}
	assert_refused(RD_SYNC_ENV_ACK, NULL, 0, RD_SYNC_CTL_ACK_SHORT, 0);
}
END_TEST

START_TEST(ctl_decode_refuses_ack_whose_count_disagrees_with_length)
{
	uint8_t pl[RD_SYNC_ACK_HDR_LEN + 2 * RD_SYNC_ACK_REC_LEN + 1] = {0};
	const size_t one = RD_SYNC_ACK_HDR_LEN + RD_SYNC_ACK_REC_LEN;

	rd_put16(pl, 2); /* two announced, one there */
	assert_refused(RD_SYNC_ENV_ACK, pl, one, RD_SYNC_CTL_ACK_COUNT, 0);
	rd_put16(pl, 1); /* one announced, a trailing byte */
	assert_refused(RD_SYNC_ENV_ACK, pl, one + 1, RD_SYNC_CTL_ACK_COUNT, 0);
	rd_put16(pl, 0); /* none announced, one there */
	assert_refused(RD_SYNC_ENV_NACK, pl, one, RD_SYNC_CTL_ACK_COUNT, 0);
	rd_put16(pl, 0xffff); /* the largest count: no overflow, just wrong */
	assert_refused(RD_SYNC_ENV_ACK, pl, sizeof(pl), RD_SYNC_CTL_ACK_COUNT, 0);
}
END_TEST

START_TEST(ctl_decode_refuses_ack_record_with_cumulative_above_top)
{
	uint8_t pl[RD_SYNC_ACK_HDR_LEN + 2 * RD_SYNC_ACK_REC_LEN] = {0};

	rd_put16(pl, 2);
	put_ack_rec(pl, 0, 0xa, 0, 6, 6, 0);
	put_ack_rec(pl, 1, 0xb, 0, 7, 6, 0);
	/* The good first record is not delivered either; offset: record 1's cumulative. */
	assert_refused(RD_SYNC_ENV_NACK, pl, sizeof(pl), RD_SYNC_CTL_ACK_CUM_ABOVE_TOP,
	               RD_SYNC_ACK_HDR_LEN + RD_SYNC_ACK_REC_LEN + 8);
	put_ack_rec(pl, 0, 0xa, 0, UINT64_MAX, 0, 0);
	assert_refused(RD_SYNC_ENV_ACK, pl, sizeof(pl), RD_SYNC_CTL_ACK_CUM_ABOVE_TOP,
	               RD_SYNC_ACK_HDR_LEN + 8);
}
END_TEST

START_TEST(ctl_decode_refuses_hello_with_bad_first)
{
	uint8_t pl[RD_SYNC_HELLO_LEN];

	put_hello(pl, 10, 5);
	rd_put64(pl + 16, 0);
	assert_refused(RD_SYNC_ENV_HELLO, pl, sizeof(pl), RD_SYNC_CTL_HELLO_FIRST_ZERO, 16);
	rd_put64(pl + 16, 6);
	assert_refused(RD_SYNC_ENV_HELLO, pl, sizeof(pl), RD_SYNC_CTL_HELLO_FIRST_ABOVE_OLDEST, 16);
	ck_assert_str_eq(rd_sync_ctl_error_name(RD_SYNC_CTL_HELLO_FIRST_ABOVE_OLDEST),
	                 "hello_first_above_oldest");
}
END_TEST

START_TEST(ctl_decode_refuses_data_and_unknown_types)
{
	uint8_t pl[RD_SYNC_HELLO_LEN];
	const uint8_t types[] = {0, RD_SYNC_ENV_DATA, 5, 255};

	put_hello(pl, 10, 1);
	for (size_t i = 0; i < sizeof(types); i++)
		assert_refused(types[i], pl, sizeof(pl), RD_SYNC_CTL_BADTYPE, 0);
}
END_TEST

START_TEST(ctl_decode_refuses_bad_arguments)
{
	uint8_t pl[RD_SYNC_HELLO_LEN];
	struct rd_sync_ctl c;

	put_hello(pl, 10, 1);
	ck_assert_int_eq(rd_sync_ctl_decode(RD_SYNC_ENV_HELLO, pl, sizeof(pl), NULL, NULL, NULL),
	                 RD_ERR_INVAL);
	ck_assert_int_eq(rd_sync_ctl_decode(RD_SYNC_ENV_HELLO, NULL, 16, &c, NULL, NULL),
	                 RD_ERR_INVAL);
}
END_TEST

START_TEST(ctl_error_names_are_distinct)
{
	for (int i = 0; i < RD_SYNC_CTL_ERROR_COUNT; i++) {
		ck_assert_str_ne(rd_sync_ctl_error_name(i), "unknown");
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(rd_sync_ctl_error_name(i), rd_sync_ctl_error_name(j));
	}
	ck_assert_str_eq(rd_sync_ctl_error_name(RD_SYNC_CTL_HELLO_NEXT_ZERO), "hello_next_zero");
	ck_assert_str_eq(rd_sync_ctl_error_name(-1), "unknown");
	ck_assert_str_eq(rd_sync_ctl_error_name(RD_SYNC_CTL_ERROR_COUNT), "unknown");
}
END_TEST

/* ---- channel ------------------------------------------------------- */

#define NET_MAX 8192

struct pkt {
	uint32_t from, to;
	size_t len;
	uint8_t buf[1500];
};

struct node;

struct net {
	struct pkt q[NET_MAX];
	size_t n;
	struct node *nodes[4];
	size_t nnodes;
	/* drop(i) decides for the i-th packet carried (0-based) */
	bool (*drop)(struct net *net, const struct pkt *p, size_t i);
	size_t carried;
	void *drop_arg;
};

struct node {
	struct net *net;
	uint32_t id;
	struct rd_sync_channel *ch;
	uint64_t delivered[4096]; /* seq -> count (seq - base) */
	uint64_t base;
	size_t ndelivered;
	char last[256];
	size_t lost_calls;
};

static void net_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	struct node *nd = user;
	struct net *net = nd->net;
	ck_assert_uint_lt(net->n, NET_MAX);
	ck_assert_uint_le(len, sizeof(net->q[0].buf));
	struct pkt *p = &net->q[net->n++];
	p->from = nd->id;
	p->to = to;
	p->len = len;
	memcpy(p->buf, pkt, len);
}

static void node_deliver(void *user, uint32_t from, uint64_t seq, const uint8_t *pl, size_t len,
                         rd_time_t now)
{
	struct node *nd = user;
	(void)from;
	(void)now;
	ck_assert_uint_ge(seq, nd->base);
	ck_assert_uint_lt(seq - nd->base, 4096);
	nd->delivered[seq - nd->base]++;
	nd->ndelivered++;
	if (len < sizeof(nd->last)) {
		memcpy(nd->last, pl, len);
		nd->last[len] = '\0';
	}
}

static void node_lost(void *user, uint32_t peer, rd_time_t now)
{
	struct node *nd = user;
	(void)peer;
	(void)now;
	nd->lost_calls++;
}

/* The first sequence number the nodes made next use (0 means 1). */
static uint64_t seq_start = 1000;

static void node_init_mem(struct node *nd, struct net *net, uint32_t id,
                          const struct rd_sync_key *keys, size_t nkeys, uint32_t send_key,
                          const struct rd_mem *mem)
{
	struct rd_sync_channel_config cfg;

	memset(nd, 0, sizeof(*nd));
	nd->net = net;
	nd->id = id;
	nd->base = seq_start == 0 ? 1 : seq_start;
	memset(&cfg, 0, sizeof(cfg));
	cfg.sender_id = id;
	cfg.seq_start = seq_start;
	cfg.keys = keys;
	cfg.nkeys = nkeys;
	cfg.send_key_id = send_key;
	cfg.resend_slots = 64;
	cfg.max_tries = 3;
	cfg.cb.send = net_send;
	cfg.cb.deliver = node_deliver;
	cfg.cb.lost = node_lost;
	cfg.cb.user = nd;
	cfg.random = test_rng;
	cfg.mem = mem;
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &nd->ch), 0);
	net->nodes[net->nnodes++] = nd;
}

static void node_init(struct node *nd, struct net *net, uint32_t id, const struct rd_sync_key *keys,
                      size_t nkeys, uint32_t send_key)
{
	node_init_mem(nd, net, id, keys, nkeys, send_key, NULL);
}

/* Carries every queued packet (and those sent in reply) to its receivers. */
static void net_pump(struct net *net, rd_time_t now)
{
	for (size_t i = 0; i < net->n; i++) {
		struct pkt *p = &net->q[i];
		size_t idx = net->carried++;
		if (net->drop != NULL && net->drop(net, p, idx))
			continue;
		for (size_t j = 0; j < net->nnodes; j++) {
			struct node *nd = net->nodes[j];
			if (nd->id == p->from || (p->to != 0 && p->to != nd->id))
				continue;
			rd_sync_channel_input(nd->ch, p->buf, p->len, now);
		}
	}
	net->n = 0;
}

static void net_tick(struct net *net, rd_time_t now)
{
	for (size_t j = 0; j < net->nnodes; j++)
		rd_sync_channel_handle_expiry(net->nodes[j]->ch, now);
	net_pump(net, now);
}

static void net_free(struct net *net)
{
	for (size_t j = 0; j < net->nnodes; j++)
		rd_sync_channel_free(net->nodes[j]->ch);
}

static struct net *net_new(void)
{
	return calloc(1, sizeof(struct net));
}

static uint64_t node_stat(struct node *nd, int s)
{
	uint64_t v[RD_SYNC_STAT_COUNT];

	rd_sync_channel_stats(nd->ch, v);
	return v[s];
}

static void send_str(struct node *nd, const char *s, rd_time_t now)
{
	ck_assert_int_gt(rd_sync_channel_send(nd->ch, (const uint8_t *)s, strlen(s), now), 0);
}

/* Two nodes that have exchanged hellos, under key k. */
static struct net *pair_keyed(struct node *a, struct node *b, const struct rd_sync_key *k)
{
	struct net *net = net_new();
	node_init(a, net, 0xa, k, 1, k->id);
	node_init(b, net, 0xb, k, 1, k->id);
	net_tick(net, 0);
	net_tick(net, 1);
	ck_assert_uint_gt(node_stat(b, RD_SYNC_STAT_OPENED), 0); /* a's HELLO */
	return net;
}

/* Two nodes that have exchanged hellos. */
static struct net *pair(struct node *a, struct node *b)
{
	struct net *net = net_new();
	struct rd_sync_key k = key1();
	node_init(a, net, 0xa, &k, 1, 1);
	node_init(b, net, 0xb, &k, 1, 1);
	net_tick(net, 0);
	net_tick(net, 1);
	/* Fresh peers that still hold all they ever sent: nothing was lost. */
	ck_assert_uint_eq(a->lost_calls, 0);
	ck_assert_uint_eq(b->lost_calls, 0);
	ck_assert_uint_eq(node_stat(a, RD_SYNC_STAT_LOST), 0);
	return net;
}

START_TEST(channel_delivers_data_once_and_acks_it)
{
	struct node a, b;
	struct net *net = pair(&a, &b);

	send_str(&a, "one", 10);
	ck_assert_uint_eq(rd_sync_channel_unacked(a.ch), 1);
	net_pump(net, 10);
	ck_assert_uint_eq(b.ndelivered, 1);
	ck_assert_str_eq(b.last, "one");
	ck_assert_uint_eq(b.delivered[0], 1);
	/* The ack goes out after ack_delay. */
	ck_assert_uint_le(rd_sync_channel_expiry(b.ch), 10 + 5 * RD_MSEC);
	net_tick(net, 10 + 5 * RD_MSEC);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_ACKS_SENT), 1);
	ck_assert_uint_eq(rd_sync_channel_unacked(a.ch), 0);
	net_free(net);
	free(net);
}
END_TEST

/* seq_start 0 numbers from 1: the HELLO and the first DATA are accepted. */
START_TEST(channel_with_seq_start_zero_numbers_from_one)
{
	struct node a, b;
	struct net *net;

	seq_start = 0;
	net = pair(&a, &b);
	seq_start = 1000;
	send_str(&a, "first", 10);
	net_pump(net, 10);
	ck_assert_uint_eq(b.ndelivered, 1);
	ck_assert_uint_eq(b.delivered[0], 1); /* sequence number 1 */
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_BADPAYLOAD), 0);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_TOOOLD), 0);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_refuses_replayed_envelope)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	struct pkt copy;

	send_str(&a, "insert", 10);
	copy = net->q[0];
	net_pump(net, 10);
	ck_assert_int_eq(rd_sync_channel_input(b.ch, copy.buf, copy.len, 20), RD_ERR_REPLAY);
	ck_assert_uint_eq(b.ndelivered, 1);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_REPLAYED), 1);
	net_free(net);
	free(net);
}
END_TEST

static bool drop_seq_1000(struct net *net, const struct pkt *p, size_t i)
{
	(void)net;
	(void)i;
	return p->buf[3] == RD_SYNC_ENV_DATA && rd_get64(p->buf + 12) == 1000;
}

START_TEST(channel_refuses_envelope_older_than_window)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	struct pkt first;

	net->drop = drop_seq_1000; /* never arrives, not even resent */
	send_str(&a, "first", 10);
	first = net->q[0];
	for (int i = 0; i < RD_SYNC_REPLAY_WINDOW + 10; i++) {
		send_str(&a, "more", 20);
		net_pump(net, 20);
	}
	ck_assert_int_eq(rd_sync_channel_input(b.ch, first.buf, first.len, 30), RD_ERR_REPLAY);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_TOOOLD), 1);
	ck_assert_uint_eq(b.delivered[0], 0);
	ck_assert_uint_eq(b.ndelivered, RD_SYNC_REPLAY_WINDOW + 10);
	/* b noticed it will never get it. */
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_LOST), 1);
	ck_assert_uint_ge(b.lost_calls, 1);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_refuses_tampered_and_foreign_envelopes)
{
	struct node a, b, c;
	struct net *net = pair(&a, &b);
	struct rd_sync_key other = key2();
	struct pkt copy;

	/* A third node with another key: b cannot open what it sends. */
	node_init(&c, net, 0xc, &other, 1, 2);
	send_str(&c, "forged", 10);
	net_pump(net, 10);
	ck_assert_uint_eq(b.ndelivered, 0);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_UNKNOWNKEY), 2); /* c's HELLO and DATA */

	send_str(&a, "genuine", 20);
	copy = net->q[0];
	net->n = 0;
	copy.buf[copy.len - 1] ^= 0x80;
	ck_assert_int_eq(rd_sync_channel_input(b.ch, copy.buf, copy.len, 20), RD_ERR_AUTH);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_BADTAG), 1);
	ck_assert_uint_eq(b.ndelivered, 0);
	/* The genuine one still opens: the tampered copy changed nothing. */
	copy.buf[copy.len - 1] ^= 0x80;
	ck_assert_int_eq(rd_sync_channel_input(b.ch, copy.buf, copy.len, 20), 0);
	ck_assert_uint_eq(b.ndelivered, 1);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_refuses_its_own_looped_back_envelope)
{
	struct node a, b;
	struct net *net = pair(&a, &b);

	send_str(&a, "mine", 10);
	ck_assert_int_eq(rd_sync_channel_input(a.ch, net->q[0].buf, net->q[0].len, 10),
	                 RD_ERR_REPLAY);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_SELF), 1);
	ck_assert_uint_eq(a.ndelivered, 0);
	net_free(net);
	free(net);
}
END_TEST

static bool drop_second_data(struct net *net, const struct pkt *p, size_t i)
{
	(void)i;
	size_t *seen = net->drop_arg;
	if (p->buf[3] != RD_SYNC_ENV_DATA)
		return false;
	return ++*seen == 2;
}

START_TEST(channel_nack_recovers_dropped_message)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	size_t seen = 0;

	net->drop = drop_second_data;
	net->drop_arg = &seen;
	send_str(&a, "m1", 10);
	send_str(&a, "m2", 10);
	send_str(&a, "m3", 10);
	/* b sees 1 and 3, NACKs 2 at once; a resends 2 within the same pump. */
	net_pump(net, 10);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_NACKS_SENT), 1);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_RESENT), 1);
	net_pump(net, 11);
	ck_assert_uint_eq(b.ndelivered, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(b.delivered[i], 1);
	/* m3 was held until m2 arrived: delivered in order, m3 last. */
	ck_assert_str_eq(b.last, "m3");
	net_tick(net, 100 * RD_MSEC);
	ck_assert_uint_eq(rd_sync_channel_unacked(a.ch), 0);
	ck_assert_uint_eq(b.lost_calls, 0);
	net_free(net);
	free(net);
}
END_TEST

static bool drop_first_data(struct net *net, const struct pkt *p, size_t i)
{
	(void)i;
	size_t *seen = net->drop_arg;
	if (p->buf[3] != RD_SYNC_ENV_DATA)
		return false;
	return ++*seen == 1;
}

START_TEST(channel_timeout_resends_lost_tail_message)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	size_t seen = 0;

	net->drop = drop_first_data;
	net->drop_arg = &seen;
	send_str(&a, "only", 10 * RD_MSEC);
	net_pump(net, 10 * RD_MSEC);
	ck_assert_uint_eq(b.ndelivered, 0);
	/* Nothing tells b; a resends when the rto passes. */
	ck_assert_uint_eq(rd_sync_channel_expiry(a.ch), 110 * RD_MSEC);
	net_tick(net, 110 * RD_MSEC);
	ck_assert_uint_eq(b.ndelivered, 1);
	ck_assert_str_eq(b.last, "only");
	net_tick(net, 200 * RD_MSEC);
	ck_assert_uint_eq(rd_sync_channel_unacked(a.ch), 0);
	net_free(net);
	free(net);
}
END_TEST

static bool drop_all_data(struct net *net, const struct pkt *p, size_t i)
{
	(void)net;
	(void)i;
	return p->buf[3] == RD_SYNC_ENV_DATA;
}

/*
 * caught_up(since): every live peer's HELLO arrived at or after `since`
 * and everything it sent before that HELLO was delivered. A DATA lost on
 * its way (a tail loss nothing else reveals) keeps it false until the
 * HELLO names it and the resend fills the hole. peers() lists the live
 * peers in id order.
 */
START_TEST(channel_caught_up_waits_for_a_later_hello_and_the_holes_before_it)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	uint32_t ids[4];

	ck_assert_uint_eq(rd_sync_channel_peers(b.ch, 2, ids, 4), 1);
	ck_assert_uint_eq(ids[0], 0xa);
	ck_assert(rd_sync_channel_caught_up(b.ch, 1, 2)); /* a's HELLO came at 1 */
	send_str(&a, "m0", 10);
	net_pump(net, 10);
	ck_assert_uint_eq(b.ndelivered, 1);
	/* Everything arrived, but no HELLO since 5 tells b that nothing else was sent. */
	ck_assert(!rd_sync_channel_caught_up(b.ch, 5, 20));
	/* m1 and its resends are lost; a's HELLO at 1 s names it. */
	net->drop = drop_all_data;
	send_str(&a, "m1", 950 * RD_MSEC);
	for (rd_time_t t = 950 * RD_MSEC; t <= 1005 * RD_MSEC; t += 5 * RD_MSEC)
		net_tick(net, t);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_NACKS_SENT), 1);
	ck_assert_uint_eq(b.ndelivered, 1);
	ck_assert(!rd_sync_channel_caught_up(b.ch, 900 * RD_MSEC, 1005 * RD_MSEC));
	net->drop = NULL;
	for (rd_time_t t = 1010 * RD_MSEC; t <= 2500 * RD_MSEC; t += 5 * RD_MSEC)
		net_tick(net, t); /* the resend timer backs off; the HELLO at 2 s NACKs again */
	ck_assert_uint_eq(b.ndelivered, 2);
	ck_assert(rd_sync_channel_caught_up(b.ch, 900 * RD_MSEC, 2500 * RD_MSEC));
	/* A peer silent for peer_timeout (5 s) is neither waited for nor listed. */
	ck_assert(!rd_sync_channel_caught_up(b.ch, 3 * RD_SEC, 3 * RD_SEC));
	ck_assert(rd_sync_channel_caught_up(b.ch, 3 * RD_SEC, 9 * RD_SEC));
	ck_assert_uint_eq(rd_sync_channel_peers(b.ch, 9 * RD_SEC, ids, 4), 0);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_gives_up_after_max_tries_and_reports_loss)
{
	struct node a, b;
	struct net *net = pair(&a, &b);

	net->drop = drop_all_data;
	send_str(&a, "doomed", 10);
	for (rd_time_t t = 10; t < 4 * RD_SEC; t += 50 * RD_MSEC)
		net_tick(net, t);
	ck_assert_uint_ge(node_stat(&a, RD_SYNC_STAT_RESENT), 3);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_GAVEUP), 1);
	/* The sender does not ask for bulks on the receiver's behalf. */
	ck_assert_uint_eq(a.lost_calls, 0);
	ck_assert_uint_eq(rd_sync_channel_unacked(a.ch), 0);
	ck_assert_uint_eq(b.ndelivered, 0);
	net_free(net);
	free(net);
}
END_TEST

static bool drop_first_two_data(struct net *net, const struct pkt *p, size_t i)
{
	(void)i;
	size_t *seen = net->drop_arg;
	if (p->buf[3] != RD_SYNC_ENV_DATA)
		return false;
	return ++*seen <= 2;
}

START_TEST(channel_hello_reveals_lost_tail_to_receiver)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	size_t seen = 0;

	/* The message and its timed resend are lost. */
	net->drop = drop_first_two_data;
	net->drop_arg = &seen;
	send_str(&a, "tail", 10);
	net_pump(net, 10);
	ck_assert_uint_eq(b.ndelivered, 0);
	/* a's next hello (1 s) says "next is 1001": b NACKs 1000. */
	net_tick(net, RD_SEC + 1);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_NACKS_SENT), 1);
	ck_assert_uint_eq(b.delivered[0], 1);
	net_free(net);
	free(net);
}
END_TEST

static bool drop_seq_1001(struct net *net, const struct pkt *p, size_t i)
{
	(void)net;
	(void)i;
	return p->buf[3] == RD_SYNC_ENV_DATA && rd_get64(p->buf + 12) == 1001;
}

START_TEST(channel_hello_nacks_again_for_holes_still_open)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	struct pkt hello;
	bool found = false;

	/* 1001 and its NACK-driven resend are lost; 1000 and 1002 arrive. */
	net->drop = drop_seq_1001;
	send_str(&a, "m1", 10);
	send_str(&a, "m2", 10);
	send_str(&a, "m3", 10);
	net_pump(net, 10);
	net_pump(net, 11);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_NACKS_SENT), 1);
	ck_assert_uint_eq(b.ndelivered, 1);
	/* a's next HELLO shows no new top, only the hole b still has. */
	rd_sync_channel_handle_expiry(a.ch, RD_SEC + 1);
	for (size_t i = 0; i < net->n && !found; i++) {
		if (net->q[i].buf[3] == RD_SYNC_ENV_HELLO) {
			hello = net->q[i];
			found = true;
		}
	}
	ck_assert(found);
	net->n = 0;
	ck_assert_int_eq(rd_sync_channel_input(b.ch, hello.buf, hello.len, RD_SEC + 2), 0);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_NACKS_SENT), 2);
	/* The NACK brings 1001 at once, without a's backed-off timer. */
	net->drop = NULL;
	net_pump(net, RD_SEC + 3);
	ck_assert_uint_eq(b.ndelivered, 3);
	ck_assert_str_eq(b.last, "m3");
	net_free(net);
	free(net);
}
END_TEST

/*
 * Three receivers NACK the same hole (max_tries is 3): the NACK-driven
 * resends leave the resend timer's schedule alone, so the slot is neither
 * given up early nor refused to the NACKs each HELLO brings.
 */
START_TEST(channel_nacks_do_not_spend_the_timers_tries)
{
	struct node a, b, c, d;
	struct net *net = net_new();
	struct rd_sync_key k = key1();
	uint64_t resent;

	node_init(&a, net, 0xa, &k, 1, 1);
	node_init(&b, net, 0xb, &k, 1, 1);
	node_init(&c, net, 0xc, &k, 1, 1);
	node_init(&d, net, 0xd, &k, 1, 1);
	net_tick(net, 0);
	net_tick(net, 1);
	net->drop = drop_seq_1001; /* every copy of 1001 is lost */
	send_str(&a, "m1", 10);
	send_str(&a, "m2", 10);
	send_str(&a, "m3", 10);
	net_pump(net, 10);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_RESENT), 3);
	/* The timer still runs from the first send, with no try spent. */
	ck_assert_uint_eq(rd_sync_channel_expiry(a.ch), 10 + 100 * RD_MSEC);
	/* Timer resends at 0.1, 0.3 and 0.7 s; it gives up at 1.5 s, not before. */
	for (rd_time_t t = 50 * RD_MSEC; t < RD_SEC; t += 50 * RD_MSEC)
		net_tick(net, t);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_GAVEUP), 0);
	/* a's HELLO makes each receiver NACK again, and each NACK is answered. */
	resent = node_stat(&a, RD_SYNC_STAT_RESENT);
	net->drop = NULL;
	net_tick(net, RD_SEC + 1);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_RESENT), resent + 3);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_GAVEUP), 0);
	ck_assert_uint_eq(b.ndelivered, 3);
	ck_assert_uint_eq(c.ndelivered, 3);
	ck_assert_uint_eq(d.ndelivered, 3);
	net_free(net);
	free(net);
}
END_TEST

/* A control envelope from `sender` with the given payload, into b. */
static int ctl_in_at(struct node *b, uint8_t type, uint32_t sender, uint64_t seq, const uint8_t *pl,
                     size_t len, rd_time_t now)
{
	struct rd_sync_key k = key1();
	struct rd_sync_env_hdr h = {.type = type, .key_id = k.id, .sender = sender, .seq = seq};
	uint8_t env[512];
	int n = rd_sync_env_seal(&k, &h, &test_rng, pl, len, env, sizeof(env));

	ck_assert_int_gt(n, 0);
	return rd_sync_channel_input(b->ch, env, (size_t)n, now);
}

static int ctl_in(struct node *b, uint8_t type, uint32_t sender, uint64_t seq, const uint8_t *pl,
                  size_t len)
{
	return ctl_in_at(b, type, sender, seq, pl, len, 20);
}

START_TEST(channel_refuses_malformed_control_payloads)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	uint8_t pl[4 + RD_SYNC_ACK_REC_LEN] = {0};

	/* HELLO: wrong length, next 0, oldest beyond next. */
	ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_HELLO, 0xa, 5000, pl, 8), RD_ERR_PROTO);
	ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_HELLO, 0xa, 5000, pl, 16), RD_ERR_PROTO);
	rd_put64(pl, 10);
	rd_put64(pl + 8, 11);
	ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_HELLO, 0xa, 5000, pl, 16), RD_ERR_PROTO);
	/* ACK: shorter than its count, a count that disagrees, cum beyond top. */
	memset(pl, 0, sizeof(pl));
	ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_ACK, 0xa, 5000, pl, 3), RD_ERR_PROTO);
	rd_put16(pl, 2);
	ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_ACK, 0xa, 5000, pl, sizeof(pl)), RD_ERR_PROTO);
	rd_put16(pl, 1);
	rd_put32(pl + 4, 0xb);
	rd_put64(pl + 12, 7);
	rd_put64(pl + 20, 6);
	ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_NACK, 0xa, 5000, pl, sizeof(pl)), RD_ERR_PROTO);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_BADPAYLOAD), 6);
	/* Nothing was applied: the replay window did not take number 5000. */
	rd_put64(pl + 12, 6);
	ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_ACK, 0xa, 5000, pl, sizeof(pl)), 0);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_REPLAYED), 0);
	net_free(net);
	free(net);
}
END_TEST

struct ctl_case {
	uint8_t type;
	size_t len;
	uint8_t pl[RD_SYNC_ACK_HDR_LEN + 2 * RD_SYNC_ACK_REC_LEN];
};

static struct ctl_case *ctl_case_add(struct ctl_case *cases, size_t *n, uint8_t type)
{
	struct ctl_case *c = &cases[(*n)++];
	memset(c, 0, sizeof(*c));
	c->type = type;
	return c;
}

/*
 * The channel refuses a control payload exactly when rd_sync_ctl_decode
 * does, counting it badpayload, and takes the ones it accepts.
 */
START_TEST(channel_refuses_exactly_what_ctl_decode_refuses)
{
	struct ctl_case cases[16], *k;
	size_t nc = 0, ngood;
	struct node a, b;
	struct net *net = pair(&a, &b);
	uint64_t seq = 5000;

	/* Accepted. */
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_HELLO);
	k->len = put_hello(k->pl, 1000, 1000);
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_HELLO);
	k->len = put_hello(k->pl, 1001, 1001) - 8; /* without first */
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_ACK);
	k->len = RD_SYNC_ACK_HDR_LEN;
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_ACK);
	rd_put16(k->pl, 1);
	put_ack_rec(k->pl, 0, 0xb, 0, 999, 999, 0);
	k->len = RD_SYNC_ACK_HDR_LEN + RD_SYNC_ACK_REC_LEN;
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_NACK);
	rd_put16(k->pl, 2);
	put_ack_rec(k->pl, 0, 0xc, 0, 3, 9, 5);
	put_ack_rec(k->pl, 1, 0xb, 0, 999, 999, 0);
	k->len = RD_SYNC_ACK_HDR_LEN + 2 * RD_SYNC_ACK_REC_LEN;
	ngood = nc;
	/* Refused, one for each rule. */
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_HELLO);
	k->len = put_hello(k->pl, 1000, 1000) - 9;
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_HELLO);
	k->len = put_hello(k->pl, 1000, 1000);
	rd_put64(k->pl + 16, 0);
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_HELLO);
	k->len = put_hello(k->pl, 1000, 1000);
	rd_put64(k->pl + 16, 1001);
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_HELLO);
	k->len = put_hello(k->pl, 0, 0);
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_HELLO);
	k->len = put_hello(k->pl, 1000, 1001);
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_HELLO);
	k->len = put_hello(k->pl, 1000, 0);
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_NACK);
	k->len = 3;
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_ACK);
	rd_put16(k->pl, 2);
	k->len = RD_SYNC_ACK_HDR_LEN + RD_SYNC_ACK_REC_LEN;
	k = ctl_case_add(cases, &nc, RD_SYNC_ENV_ACK);
	rd_put16(k->pl, 2);
	put_ack_rec(k->pl, 1, 0xb, 0, 1000, 999, 0);
	k->len = RD_SYNC_ACK_HDR_LEN + 2 * RD_SYNC_ACK_REC_LEN;

	for (size_t i = 0; i < nc; i++) {
		struct rd_sync_ctl c;
		uint64_t bad = node_stat(&b, RD_SYNC_STAT_BADPAYLOAD);
		uint64_t opened = node_stat(&b, RD_SYNC_STAT_OPENED);
		int want =
		    rd_sync_ctl_decode(cases[i].type, cases[i].pl, cases[i].len, &c, NULL, NULL);
		ck_assert_int_eq(want, i < ngood ? 0 : RD_ERR_PROTO);
		ck_assert_int_eq(ctl_in(&b, cases[i].type, 0xa, seq++, cases[i].pl, cases[i].len),
		                 want);
		ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_BADPAYLOAD) - bad, want != 0);
		ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_OPENED) - opened, want == 0);
	}
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_refuses_new_sender_when_peer_table_full)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	uint8_t hello[16];
	uint32_t id;

	rd_put64(hello, 1000);
	rd_put64(hello + 8, 1000);
	/* b knows a; 15 more fill the default 16 places. */
	for (id = 0x100; id < 0x100 + 15; id++)
		ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_HELLO, id, 1, hello, 16), 0);
	ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_HELLO, id, 1, hello, 16), RD_ERR_LIMIT);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_PEERSFULL), 1);
	/* Known senders are still heard. */
	ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_HELLO, 0x100, 2, hello, 16), 0);
	net_free(net);
	free(net);
}
END_TEST

/*
 * A member restarted under a new id never speaks under the old one again:
 * when the table is full, peers silent for longer than peer_timeout (5 s)
 * leave it to the newcomer; live peers never do.
 */
START_TEST(channel_full_table_gives_silent_peers_places_to_new_senders)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	uint8_t hello[16];
	rd_time_t t1 = 20 + 5 * RD_SEC + 1;
	uint32_t id;

	rd_put64(hello, 1000);
	rd_put64(hello + 8, 1000);
	for (id = 0x100; id < 0x100 + 15; id++)
		ck_assert_int_eq(ctl_in(&b, RD_SYNC_ENV_HELLO, id, 1, hello, 16), 0);
	/* Full of live peers: refused, nobody leaves. */
	ck_assert_int_eq(ctl_in_at(&b, RD_SYNC_ENV_HELLO, 0x300, 1, hello, 16, 21), RD_ERR_LIMIT);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_PEERSFULL), 1);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_PEERS_EXPIRED), 0);
	/* All but 0x100 speak again later: only 0x100 and a fall silent. */
	for (id = 0x101; id < 0x100 + 15; id++)
		ck_assert_int_eq(ctl_in_at(&b, RD_SYNC_ENV_HELLO, id, 2, hello, 16, t1 - 1), 0);
	/* 5 s after they were last heard, the two silent ones leave. */
	ck_assert_int_eq(ctl_in_at(&b, RD_SYNC_ENV_HELLO, 0x200, 1, hello, 16, t1), 0);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_PEERS_EXPIRED), 2);
	ck_assert_int_eq(ctl_in_at(&b, RD_SYNC_ENV_HELLO, 0x201, 1, hello, 16, t1), 0);
	/* Full of live peers again: refused, nobody leaves. */
	ck_assert_int_eq(ctl_in_at(&b, RD_SYNC_ENV_HELLO, 0x202, 1, hello, 16, t1), RD_ERR_LIMIT);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_PEERSFULL), 2);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_PEERS_EXPIRED), 2);
	/* A live peer keeps its windows: its old sequence number is a replay. */
	ck_assert_int_eq(ctl_in_at(&b, RD_SYNC_ENV_HELLO, 0x101, 2, hello, 16, t1), RD_ERR_REPLAY);
	net_free(net);
	free(net);
}
END_TEST

/* An allocator that fails while *user is true. */
static void *flaky_malloc(void *user, size_t n)
{
	return *(bool *)user ? NULL : malloc(n);
}
static void *flaky_calloc(void *user, size_t n, size_t size)
{
	return *(bool *)user ? NULL : calloc(n, size);
}
static void *flaky_realloc(void *user, void *ptr, size_t n)
{
	return *(bool *)user ? NULL : realloc(ptr, n);
}
static void flaky_free(void *user, void *ptr)
{
	(void)user;
	free(ptr);
}

START_TEST(channel_refuses_out_of_order_data_it_cannot_hold)
{
	struct node a, b;
	struct net *net = net_new();
	struct rd_sync_key k = key1();
	bool fail = false;
	struct rd_mem mem = {&fail, flaky_malloc, flaky_calloc, flaky_realloc, flaky_free};
	struct pkt m2;

	node_init(&a, net, 0xa, &k, 1, 1);
	node_init_mem(&b, net, 0xb, &k, 1, 1, &mem);
	net_tick(net, 0);
	net_tick(net, 1);
	send_str(&a, "m1", 10);
	send_str(&a, "m2", 10);
	m2 = net->q[1];
	net->n = 0; /* m1 is lost */
	fail = true;
	ck_assert_int_eq(rd_sync_channel_input(b.ch, m2.buf, m2.len, 10), RD_ERR_NOMEM);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_NOMEM), 1);
	ck_assert_uint_eq(b.ndelivered, 0);
	/* Not taken as received: with memory back, b's NACK brings both. */
	fail = false;
	net_tick(net, 11);
	net_pump(net, 12);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_NACKS_SENT), 1);
	ck_assert_uint_eq(b.ndelivered, 2);
	ck_assert_str_eq(b.last, "m2");
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_hello_gives_up_holes_the_sender_no_longer_holds)
{
	struct node a, b;
	struct net *net = pair(&a, &b);

	net->drop = drop_seq_1000; /* every copy of 1000 is lost */
	for (int i = 0; i < 70; i++) {
		send_str(&a, "m", 10);
		net_pump(net, 10);
	}
	/* a could not keep 1000 for b (64 slots): gone, and a knows it. */
	ck_assert_uint_ge(node_stat(&a, RD_SYNC_STAT_EVICTED), 1);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_LOST), 0);
	/* a's next hello says what it still holds; b stops waiting for 1000. */
	net_tick(net, RD_SEC + 1);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_LOST), 1);
	ck_assert_uint_ge(b.lost_calls, 1);
	ck_assert_uint_eq(b.ndelivered, 69);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_holds_new_peers_data_until_its_hello)
{
	struct net *net = net_new();
	struct rd_sync_key k = key1();
	struct node a, b;
	struct pkt p[4];

	node_init(&a, net, 0xa, &k, 1, 1);
	node_init(&b, net, 0xb, &k, 1, 1);
	/* b hears a's hello first: a is a peer of b's now, b is not yet a's. */
	rd_sync_channel_handle_expiry(b.ch, 0);
	net_pump(net, 0);
	send_str(&a, "m1", 10); /* a's first hello goes out before it */
	send_str(&a, "m2", 10);
	send_str(&a, "m3", 10);
	ck_assert_uint_eq(net->n, 4);
	memcpy(p, net->q, sizeof(p));
	net->n = 0;
	/* Reordered: m3 and m2 arrive first; nothing is delivered yet. */
	ck_assert_int_eq(rd_sync_channel_input(b.ch, p[3].buf, p[3].len, 11), 0);
	ck_assert_int_eq(rd_sync_channel_input(b.ch, p[2].buf, p[2].len, 11), 0);
	ck_assert_uint_eq(b.ndelivered, 0);
	/* a's hello (oldest held: 1000) starts the stream; m1 comes on the NACK. */
	ck_assert_int_eq(rd_sync_channel_input(b.ch, p[0].buf, p[0].len, 12), 0);
	net_pump(net, 12);
	net_pump(net, 13);
	ck_assert_uint_eq(b.ndelivered, 3);
	ck_assert_str_eq(b.last, "m3");
	ck_assert_uint_eq(b.lost_calls, 0);
	ck_assert_int_eq(rd_sync_channel_input(b.ch, p[1].buf, p[1].len, 14), RD_ERR_REPLAY);
	net_free(net);
	free(net);
}
END_TEST

/* A sender's first HELLO goes out before its first DATA. */
START_TEST(channel_sends_hello_before_its_first_data)
{
	struct net *net = net_new();
	struct rd_sync_key k = key1();
	struct node a;
	struct rd_sync_env_hdr h;
	uint8_t pl[64];

	node_init(&a, net, 0xa, &k, 1, 1);
	send_str(&a, "m1", 10);
	send_str(&a, "m2", 10);
	ck_assert_uint_eq(net->n, 3);
	ck_assert_int_eq(
	    rd_sync_env_open(&k, 1, net->q[0].buf, net->q[0].len, &h, pl, sizeof(pl), NULL),
	    RD_SYNC_HELLO_LEN);
	ck_assert_uint_eq(h.type, RD_SYNC_ENV_HELLO);
	ck_assert_uint_eq(rd_get64(pl + 16), 1000); /* first: our seq_start */
	ck_assert_int_gt(
	    rd_sync_env_open(&k, 1, net->q[1].buf, net->q[1].len, &h, pl, sizeof(pl), NULL), 0);
	ck_assert_uint_eq(h.type, RD_SYNC_ENV_DATA);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_HELLOS_SENT), 1);
	net_free(net);
	free(net);
}
END_TEST

/*
 * A peer that already gave up messages before we met it (it released
 * them: nobody was there to ack) may have sent something we need: that is
 * a loss, reported once. A peer that still holds all it sent is not.
 */
START_TEST(channel_meeting_a_peer_that_released_messages_is_a_loss)
{
	struct net *net = net_new();
	struct rd_sync_key k = key1();
	struct node a, b;

	node_init(&a, net, 0xa, &k, 1, 1);
	send_str(&a, "before b", 10);
	net_tick(net, 20); /* nobody to wait for: released */
	ck_assert_uint_eq(rd_sync_channel_unacked(a.ch), 0);
	node_init(&b, net, 0xb, &k, 1, 1);
	net_tick(net, RD_SEC + 30);
	net_tick(net, RD_SEC + 31);
	ck_assert_uint_eq(b.lost_calls, 1);
	ck_assert_uint_eq(a.lost_calls, 0); /* b's stream is whole */
	net_free(net);
	free(net);
}
END_TEST

/* Replaces nd's channel by a new incarnation under the same id, numbered from start. */
static void node_restart(struct node *nd, uint64_t start)
{
	struct rd_sync_key k = key1();
	struct rd_sync_channel_config cfg;

	rd_sync_channel_free(nd->ch);
	memset(&cfg, 0, sizeof(cfg));
	cfg.sender_id = nd->id;
	cfg.seq_start = start;
	cfg.keys = &k;
	cfg.nkeys = 1;
	cfg.send_key_id = k.id;
	cfg.resend_slots = 64;
	cfg.max_tries = 3;
	cfg.cb.send = net_send;
	cfg.cb.deliver = node_deliver;
	cfg.cb.lost = node_lost;
	cfg.cb.user = nd;
	cfg.random = test_rng;
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &nd->ch), 0);
}

/*
 * After node_restart(a, 3000) and a's "new": b delivered it (its second
 * DATA from a, numbered 3000), counts one peer restart and nothing lost,
 * and a holds nothing unacknowledged.
 */
static void assert_new_stream_delivered(struct node *a, struct node *b)
{
	ck_assert_uint_eq(b->ndelivered, 2);
	ck_assert_str_eq(b->last, "new");
	ck_assert_uint_eq(b->delivered[3000 - 1000], 1);
	ck_assert_uint_eq(node_stat(b, RD_SYNC_STAT_PEER_RESTARTS), 1);
	ck_assert_uint_eq(node_stat(b, RD_SYNC_STAT_LOST), 0);
	ck_assert_uint_eq(b->lost_calls, 0);
	ck_assert_uint_eq(rd_sync_channel_unacked(a->ch), 0);
}

/*
 * A peer restarted under the same id (syncd keeps its creatorid) numbers
 * from a greater start: its HELLO's `first` makes it a new incarnation,
 * counted peer_restarts, and its stream starts afresh with nothing lost
 * (before: the gap between the two starts was counted lost, billions).
 * A late HELLO of the old incarnation is refused.
 */
START_TEST(channel_restarted_peer_is_a_new_incarnation_not_a_loss)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	uint8_t hello[RD_SYNC_HELLO_LEN];

	send_str(&a, "old", 10);
	net_pump(net, 10);
	ck_assert_uint_eq(b.ndelivered, 1);
	node_restart(&a, 3000);
	send_str(&a, "new", 20);
	net_pump(net, 20);
	net_tick(net, 40);
	assert_new_stream_delivered(&a, &b); /* b acked it */
	/* The old incarnation's HELLO, arriving late (fresh control number). */
	rd_put64(hello, 1001);
	rd_put64(hello + 8, 1001);
	rd_put64(hello + 16, 1000);
	ck_assert_int_eq(ctl_in_at(&b, RD_SYNC_ENV_HELLO, 0xa, 9000, hello, sizeof(hello), 50),
	                 RD_ERR_REPLAY);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_OLDINCARNATION), 1);
	/* Still following the new one. */
	send_str(&a, "newer", 60);
	net_pump(net, 60);
	ck_assert_str_eq(b.last, "newer");
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_LOST), 0);
	net_free(net);
	free(net);
}
END_TEST

/* Drops every HELLO of node *(uint32_t *)drop_arg, and nothing else. */
static bool drop_hellos_of(struct net *net, const struct pkt *p, size_t i)
{
	(void)i;
	return p->from == *(const uint32_t *)net->drop_arg && p->buf[3] == RD_SYNC_ENV_HELLO;
}

/*
 * The same restart with its HELLOs lost (the sync link down while the
 * member came back, up again as it sends): its first DATA to b, 2,000
 * numbers past the old stream, is
 * held back (counted ahead) instead of counting the jump lost; its next
 * HELLO makes it a new incarnation and the resend is delivered. Nothing is
 * counted lost. (Before: lost 1,999 and a lost call, which syncd answers
 * with a bulk request.)
 */
START_TEST(channel_restart_whose_hello_was_lost_is_not_a_loss)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	uint32_t muted = 0xa;

	send_str(&a, "old", 10);
	net_pump(net, 10);
	node_restart(&a, 3000);
	net->drop = drop_hellos_of;
	net->drop_arg = &muted;
	/* b's HELLO tells the new a of b (a's answering HELLO is lost). */
	net_tick(net, RD_SEC + 10);
	net_tick(net, RD_SEC + 20);
	send_str(&a, "new", RD_SEC + 30);
	net_pump(net, RD_SEC + 30);
	ck_assert_uint_eq(b.ndelivered, 1);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_AHEAD), 1);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_LOST), 0);
	ck_assert_uint_eq(b.lost_calls, 0);
	net->drop = NULL;
	for (rd_time_t t = RD_SEC + 100 * RD_MSEC; t <= 4 * RD_SEC; t += 100 * RD_MSEC)
		net_tick(net, t);
	assert_new_stream_delivered(&a, &b);
	net_free(net);
	free(net);
}
END_TEST

/*
 * The other case the same DATA cannot tell apart: no restart, but 300
 * envelopes lost in a row (more than the 256 the window holds), of which a
 * keeps 64 to resend. The first to arrive after is held back (ahead); the
 * HELLO that follows shows the same incarnation, so the 236 a gave up are
 * counted lost then, once, and the 64 it kept are delivered.
 */
START_TEST(channel_outage_past_the_window_is_counted_lost_at_the_next_hello)
{
	struct node a, b;
	struct net *net = pair(&a, &b);

	for (int i = 0; i < 300; i++)
		send_str(&a, "gone", 10);
	net->n = 0; /* all 300 lost on the way */
	send_str(&a, "after", 20);
	net_pump(net, 20);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_AHEAD), 1);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_LOST), 0);
	ck_assert_uint_eq(b.ndelivered, 0);
	for (rd_time_t t = 100 * RD_MSEC; t <= 4 * RD_SEC; t += 100 * RD_MSEC)
		net_tick(net, t);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_PEER_RESTARTS), 0);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_LOST), 301 - 64);
	ck_assert_uint_eq(b.ndelivered, 64);
	ck_assert_str_eq(b.last, "after");
	ck_assert_uint_ge(b.lost_calls, 1);
	net_free(net);
	free(net);
}
END_TEST

/*
 * hello_soon brings the next HELLO forward to now, but no closer than
 * RD_SYNC_HELLO_SOON_GAP after the last one: asked 100 times in a
 * millisecond, the channel sends one HELLO, then the next a hello
 * interval later.
 */
START_TEST(channel_hello_soon_sends_one_hello_per_gap)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	uint64_t h0 = node_stat(&a, RD_SYNC_STAT_HELLOS_SENT);
	rd_time_t t = 500 * RD_MSEC;

	ck_assert_uint_gt(rd_sync_channel_expiry(a.ch), t + 100 * RD_MSEC);
	for (int i = 0; i < 100; i++)
		rd_sync_channel_hello_soon(a.ch, t);
	ck_assert_uint_eq(rd_sync_channel_expiry(a.ch), t);
	net_tick(net, t);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_HELLOS_SENT), h0 + 1);
	for (int i = 0; i < 100; i++)
		rd_sync_channel_hello_soon(a.ch, t + RD_MSEC);
	ck_assert_uint_eq(rd_sync_channel_expiry(a.ch), t + RD_SYNC_HELLO_SOON_GAP);
	net_tick(net, t + RD_MSEC);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_HELLOS_SENT), h0 + 1);
	net_tick(net, t + RD_SYNC_HELLO_SOON_GAP);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_HELLOS_SENT), h0 + 2);
	ck_assert_uint_eq(rd_sync_channel_expiry(a.ch), t + RD_SYNC_HELLO_SOON_GAP + RD_SEC);
	net_free(net);
	free(net);
}
END_TEST

/*
 * A peer that acknowledges 250 ms after each DATA (a busy member): at the
 * fixed 100 ms timeout every envelope was resent, twice; the timeout grows
 * with the peer's measured round trip and the resends stop.
 */
START_TEST(channel_resend_timeout_follows_a_slow_peers_round_trip)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	uint64_t resent_before = 0;

	for (int round = 0; round < 12; round++) {
		rd_time_t t0 = (rd_time_t)(round + 1) * RD_SEC;

		if (round == 8)
			resent_before = node_stat(&a, RD_SYNC_STAT_RESENT);
		send_str(&a, "m", t0);
		net_pump(net, t0); /* b holds it; its ack waits */
		for (rd_time_t t = t0; t < t0 + 250 * RD_MSEC; t += 10 * RD_MSEC) {
			rd_sync_channel_handle_expiry(a.ch, t);
			net->n = 0; /* a's resends, if any, are lost on the way */
		}
		rd_sync_channel_handle_expiry(b.ch, t0 + 250 * RD_MSEC);
		net_pump(net, t0 + 250 * RD_MSEC);
		ck_assert_uint_eq(rd_sync_channel_unacked(a.ch), 0);
	}
	ck_assert_uint_ge(resent_before, 1); /* it did resend at first */
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_RESENT), resent_before);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_GAVEUP), 0);
	net_free(net);
	free(net);
}
END_TEST

/*
 * Two peers miss the same DATA: the timer resends it once to every peer
 * (one copy, to 0), not once per peer (over multicast each copy reached
 * both, so every resend was a duplicate for all but one).
 */
START_TEST(channel_resends_once_to_all_when_several_peers_lack_data)
{
	struct net *net = net_new();
	struct rd_sync_key k = key1();
	struct node a, b, c;
	size_t seen = 0;

	node_init(&a, net, 0xa, &k, 1, 1);
	node_init(&b, net, 0xb, &k, 1, 1);
	node_init(&c, net, 0xc, &k, 1, 1);
	net_tick(net, 0);
	net_tick(net, 1);
	net->drop = drop_first_data;
	net->drop_arg = &seen;
	send_str(&a, "m", 10);
	net_pump(net, 10);
	ck_assert_uint_eq(b.ndelivered + c.ndelivered, 0);
	net_tick(net, 10 + 100 * RD_MSEC);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_RESENT), 1);
	ck_assert_uint_eq(b.ndelivered, 1);
	ck_assert_uint_eq(c.ndelivered, 1);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_acks_again_when_data_is_resent)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	struct pkt copy;

	send_str(&a, "one", 10);
	copy = net->q[0];
	net_pump(net, 10);
	net_tick(net, 10 + 5 * RD_MSEC);
	uint64_t acks = node_stat(&b, RD_SYNC_STAT_ACKS_SENT);
	/* The ack was lost, a resends: b answers with an ack again. */
	ck_assert_int_eq(rd_sync_channel_input(b.ch, copy.buf, copy.len, 20 * RD_MSEC),
	                 RD_ERR_REPLAY);
	ck_assert_uint_le(rd_sync_channel_expiry(b.ch), 25 * RD_MSEC);
	rd_sync_channel_handle_expiry(b.ch, 25 * RD_MSEC);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_ACKS_SENT), acks + 1);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_evicts_oldest_when_resend_buffer_full)
{
	struct node a, b;
	struct net *net = pair(&a, &b);

	for (int i = 0; i < 65; i++)
		send_str(&a, "x", 10);
	net->n = 0; /* nothing arrives, nothing is acked */
	ck_assert_uint_eq(rd_sync_channel_unacked(a.ch), 64);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_EVICTED), 1);
	ck_assert_uint_eq(rd_sync_channel_room(a.ch), 0);
	/* a's HELLO shows b what it missed; b's NACK, the resends and b's
	 * acks make room again. */
	net_tick(net, 20 * RD_MSEC);
	net_tick(net, 40 * RD_MSEC);
	ck_assert_uint_eq(rd_sync_channel_room(a.ch), 64);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_key_rotation_accepts_both_keys)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	struct rd_sync_key both[2] = {key1(), key2()};

	/* b learns key 2 first, then a switches to it. */
	ck_assert_int_eq(rd_sync_channel_set_keys(b.ch, both, 2, 1), 0);
	ck_assert_int_eq(rd_sync_channel_set_keys(a.ch, both, 2, 2), 0);
	send_str(&a, "rotated", 10);
	ck_assert_uint_eq(rd_get32(net->q[0].buf + 4), 2);
	net_pump(net, 10);
	ck_assert_str_eq(b.last, "rotated");
	/* A key set without the send key is refused and changes nothing. */
	ck_assert_int_eq(rd_sync_channel_set_keys(a.ch, both, 1, 2), RD_ERR_INVAL);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_with_aes_gcm_key_delivers_and_counts_tampering)
{
	struct rd_sync_key k = key1_gcm();
	struct node a, b;
	struct net *net = pair_keyed(&a, &b, &k);
	struct pkt copy;

	send_str(&a, "gcm one", 10);
	copy = net->q[0];
	ck_assert_uint_eq(copy.buf[2], RD_SYNC_ENV_VERSION_GCM);
	net->n = 0;
	copy.buf[RD_SYNC_ENV_HDR_LEN] ^= 1; /* the ciphertext */
	ck_assert_int_eq(rd_sync_channel_input(b.ch, copy.buf, copy.len, 10), RD_ERR_AUTH);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_BADTAG), 1);
	ck_assert_uint_eq(b.ndelivered, 0);
	copy.buf[RD_SYNC_ENV_HDR_LEN] ^= 1;
	ck_assert_int_eq(rd_sync_channel_input(b.ch, copy.buf, copy.len, 10), 0);
	ck_assert_str_eq(b.last, "gcm one");
	/* Acks under the same key free a's copy. */
	net_tick(net, 10 + 5 * RD_MSEC);
	ck_assert_uint_eq(rd_sync_channel_unacked(a.ch), 0);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_BADTAG), 0);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_counts_envelopes_of_the_other_aead_as_badaead)
{
	struct rd_sync_key x = key1(), g = key1_gcm();
	struct net *net = net_new();
	struct node a, b;

	node_init(&a, net, 0xa, &x, 1, 1);
	node_init(&b, net, 0xb, &g, 1, 1);
	send_str(&a, "chacha", 10);
	net_pump(net, 10);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_BADAEAD), 2); /* a's HELLO and DATA */
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_BADTAG), 0);
	ck_assert_uint_eq(b.ndelivered, 0);
	send_str(&b, "gcm", 20);
	net_pump(net, 20);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_BADAEAD), 2);
	ck_assert_uint_eq(a.ndelivered, 0);
	net_free(net);
	free(net);
}
END_TEST

/* Moving a cluster to AES-GCM is a rotation to a new key id. */
START_TEST(channel_rotates_from_xchacha_to_aes_gcm)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	struct rd_sync_key both[2] = {key1(), key2()};

	both[1].aead = RD_SYNC_AEAD_AES256GCM;
	ck_assert_int_eq(rd_sync_channel_set_keys(b.ch, both, 2, 1), 0);
	send_str(&a, "still chacha", 10);
	net_pump(net, 10);
	ck_assert_str_eq(b.last, "still chacha");
	ck_assert_int_eq(rd_sync_channel_set_keys(a.ch, both, 2, 2), 0);
	send_str(&a, "now gcm", 20);
	ck_assert_uint_eq(net->q[0].buf[2], RD_SYNC_ENV_VERSION_GCM);
	net_pump(net, 20);
	ck_assert_str_eq(b.last, "now gcm");
	ck_assert_uint_eq(b.ndelivered, 2);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_refuses_aes_gcm_keys_it_cannot_number)
{
	struct rd_sync_key g = key1_gcm(), x = key1();
	struct rd_sync_channel_config cfg;
	struct rd_sync_channel *ch;

	rd_sync_channel_config_default(&cfg);
	cfg.sender_id = 1;
	cfg.keys = &g;
	cfg.nkeys = 1;
	cfg.send_key_id = 1;
	cfg.cb.send = net_send;
	cfg.seq_start = (uint64_t)1 << 63; /* GCM nonces hold 63 bits of it */
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &ch), RD_ERR_INVAL);
	cfg.keys = &x;
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &ch), 0);
	ck_assert_int_eq(rd_sync_channel_set_keys(ch, &g, 1, 1), RD_ERR_INVAL);
	rd_sync_channel_free(ch);
	g.aead = RD_SYNC_AEAD_COUNT;
	cfg.keys = &g;
	cfg.seq_start = 1;
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &ch), RD_ERR_INVAL);
}
END_TEST

START_TEST(channel_refuses_replayed_ack)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	struct pkt ack;

	send_str(&a, "one", 10);
	net_pump(net, 10);
	net_tick(net, 10 * RD_MSEC); /* b's hello/ack go out */
	rd_sync_channel_handle_expiry(b.ch, 20 * RD_MSEC);
	send_str(&a, "two", 30 * RD_MSEC);
	net_pump(net, 30 * RD_MSEC);
	rd_sync_channel_handle_expiry(b.ch, 40 * RD_MSEC);
	ck_assert_uint_ge(net->n, 1);
	ack = net->q[net->n - 1];
	ck_assert_uint_eq(ack.buf[3], RD_SYNC_ENV_ACK);
	net_pump(net, 40 * RD_MSEC);
	ck_assert_int_eq(rd_sync_channel_input(a.ch, ack.buf, ack.len, 50 * RD_MSEC),
	                 RD_ERR_REPLAY);
	ck_assert_uint_eq(node_stat(&a, RD_SYNC_STAT_REPLAYED), 1);
	net_free(net);
	free(net);
}
END_TEST

/* ---- opening on another thread (rd_sync_opener) --------------------- */

/* b takes pkt as it comes; c through an opener (as a second thread would). */
static void input_both(struct node *b, struct node *c, const struct rd_sync_opener *op,
                       const struct pkt *p, rd_time_t now)
{
	uint8_t out[sizeof(p->buf)];
	struct rd_sync_opened o;
	int rb, rc;

	rb = rd_sync_channel_input(b->ch, p->buf, p->len, now);
	ck_assert_int_eq(rd_sync_opener_open(op, p->buf, p->len, out, sizeof(out), &o), 0);
	rc = rd_sync_channel_input_opened(c->ch, &o, now);
	ck_assert_msg(rc == rb, "type %u seq %llu: input %d, opened %d (open rc %d)", p->buf[3],
	              (unsigned long long)rd_get64(p->buf + 12), rb, rc, o.rc);
}

/*
 * The same envelopes, good and bad, in and out of order, into one channel
 * through rd_sync_channel_input and into another through an opener: the
 * same return for each, the same deliveries and the same counters.
 */
START_TEST(channel_input_opened_does_what_input_does)
{
	struct rd_sync_key keys[2] = {key1(), key1_gcm()};

	for (size_t k = 0; k < 2; k++) {
		struct rd_sync_key other = key2();
		struct node a, b, c, d;
		struct net *net = net_new();
		struct rd_sync_opener *op;
		struct pkt sent[24], x;
		size_t n = 0;
		uint64_t vb[RD_SYNC_STAT_COUNT], vc[RD_SYNC_STAT_COUNT];

		if (keys[k].aead == RD_SYNC_AEAD_AES256GCM &&
		    !rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM))
			continue;
		node_init(&a, net, 0xa, &keys[k], 1, keys[k].id);
		node_init(&b, net, 0xb, &keys[k], 1, keys[k].id);
		node_init(&c, net, 0xc, &keys[k], 1, keys[k].id);
		ck_assert_int_eq(rd_sync_opener_new(c.ch, &op), 0);
		net->nnodes = 0; /* carried by hand below */
		rd_sync_channel_handle_expiry(a.ch, 0);
		for (int i = 0; i < 20; i++) {
			char msg[32];

			snprintf(msg, sizeof(msg), "message %d", i);
			send_str(&a, msg, 10);
		}
		ck_assert_uint_eq(net->n, 21); /* a's HELLO and 20 DATA */
		memcpy(sent, net->q, 21 * sizeof(sent[0]));
		n = 21;
		net->n = 0;
		/* The HELLO, DATA 1-4, then 10-19 before 5-9 (held, then passed on). */
		for (size_t i = 0; i < 5; i++)
			input_both(&b, &c, op, &sent[i], 20);
		for (size_t i = 11; i < n; i++)
			input_both(&b, &c, op, &sent[i], 30);
		for (size_t i = 5; i < 11; i++)
			input_both(&b, &c, op, &sent[i], 40);
		/* A replay, a tampered tag, a truncated one, a bad magic. */
		input_both(&b, &c, op, &sent[3], 50);
		x = sent[7];
		x.buf[x.len - 1] ^= 1;
		input_both(&b, &c, op, &x, 50);
		x = sent[8];
		x.len = 20;
		input_both(&b, &c, op, &x, 50);
		x = sent[9];
		x.buf[0] ^= 0xff;
		input_both(&b, &c, op, &x, 50);
		/* A stranger under a key neither holds. */
		node_init(&d, net, 0xd, &other, 1, other.id);
		net->nnodes = 0;
		net->n = 0; /* b's and c's NACKs and acks: not carried */
		send_str(&d, "forged", 60);
		for (size_t i = 0; i < net->n; i++)
			input_both(&b, &c, op, &net->q[i], 60);
		net->n = 0;

		ck_assert_uint_eq(b.ndelivered, 20);
		ck_assert_uint_eq(c.ndelivered, 20);
		ck_assert_mem_eq(b.delivered, c.delivered, sizeof(b.delivered));
		rd_sync_channel_stats(b.ch, vb);
		rd_sync_channel_stats(c.ch, vc);
		for (int s = 0; s < RD_SYNC_STAT_COUNT; s++)
			ck_assert_msg(vb[s] == vc[s], "%s: input %llu, opened %llu",
			              rd_sync_stat_name(s), (unsigned long long)vb[s],
			              (unsigned long long)vc[s]);
		ck_assert_uint_eq(vc[RD_SYNC_STAT_REPLAYED], 1);
		ck_assert_uint_eq(vc[RD_SYNC_STAT_BADTAG], 1);
		ck_assert_uint_eq(vc[RD_SYNC_STAT_TRUNCATED], 1);
		ck_assert_uint_eq(vc[RD_SYNC_STAT_BADMAGIC], 1);
		ck_assert_uint_eq(vc[RD_SYNC_STAT_UNKNOWNKEY], 2); /* d's HELLO and DATA */
		rd_sync_opener_free(op);
		rd_sync_channel_free(a.ch);
		rd_sync_channel_free(b.ch);
		rd_sync_channel_free(c.ch);
		rd_sync_channel_free(d.ch);
		free(net);
	}
}
END_TEST

/*
 * An opener made before a rotation dropped its key still opens under it;
 * the channel refuses what it brings (UNKNOWNKEY) and delivers nothing.
 */
START_TEST(channel_refuses_what_an_old_opener_opened_under_a_dropped_key)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	struct rd_sync_key k2 = key2();
	struct rd_sync_opener *op;
	struct rd_sync_opened o;
	uint8_t out[1500];

	ck_assert_int_eq(rd_sync_opener_new(b.ch, &op), 0);
	send_str(&a, "under key 1", 10);
	ck_assert_uint_eq(net->n, 1);
	ck_assert_int_eq(rd_sync_channel_set_keys(b.ch, &k2, 1, 2), 0);
	ck_assert_int_eq(
	    rd_sync_opener_open(op, net->q[0].buf, net->q[0].len, out, sizeof(out), &o), 0);
	ck_assert_int_eq(o.rc, 0);
	ck_assert_uint_eq(o.len, strlen("under key 1"));
	ck_assert_int_eq(rd_sync_channel_input_opened(b.ch, &o, 10), RD_ERR_NOENT);
	ck_assert_uint_eq(node_stat(&b, RD_SYNC_STAT_UNKNOWNKEY), 1);
	ck_assert_uint_eq(b.ndelivered, 0);
	net->n = 0;
	rd_sync_opener_free(op);
	net_free(net);
	free(net);
}
END_TEST

/*
 * Results no opener makes are refused as bad arguments and counted nowhere;
 * an out buffer smaller than the envelope is refused before opening.
 */
START_TEST(channel_input_opened_refuses_results_no_opener_makes)
{
	struct node a, b;
	struct net *net = pair(&a, &b);
	struct rd_sync_opener *op;
	struct rd_sync_opened o;
	uint64_t before[RD_SYNC_STAT_COUNT], after[RD_SYNC_STAT_COUNT];
	uint8_t out[1500];

	ck_assert_int_eq(rd_sync_opener_new(b.ch, &op), 0);
	send_str(&a, "hello", 10);
	ck_assert_int_eq(
	    rd_sync_opener_open(op, net->q[0].buf, net->q[0].len, out, net->q[0].len - 1, &o),
	    RD_ERR_NOSPC);
	ck_assert_int_eq(rd_sync_opener_open(op, net->q[0].buf, net->q[0].len, NULL, 0, &o),
	                 RD_ERR_INVAL);
	rd_sync_channel_stats(b.ch, before);
	memset(&o, 0, sizeof(o));
	o.rc = 1;
	ck_assert_int_eq(rd_sync_channel_input_opened(b.ch, &o, 10), RD_ERR_INVAL);
	o.rc = RD_ERR_AUTH;
	o.reason = RD_SYNC_STAT_COUNT;
	ck_assert_int_eq(rd_sync_channel_input_opened(b.ch, &o, 10), RD_ERR_INVAL);
	o.reason = RD_SYNC_STAT_OPENED;
	ck_assert_int_eq(rd_sync_channel_input_opened(b.ch, &o, 10), RD_ERR_INVAL);
	o.rc = 0;
	o.len = 5;
	ck_assert_int_eq(rd_sync_channel_input_opened(b.ch, &o, 10), RD_ERR_INVAL);
	ck_assert_int_eq(rd_sync_channel_input_opened(b.ch, NULL, 10), RD_ERR_INVAL);
	rd_sync_channel_stats(b.ch, after);
	ck_assert_mem_eq(before, after, sizeof(before));
	/* The real one still goes in. */
	ck_assert_int_eq(
	    rd_sync_opener_open(op, net->q[0].buf, net->q[0].len, out, sizeof(out), &o), 0);
	ck_assert_int_eq(rd_sync_channel_input_opened(b.ch, &o, 10), 0);
	ck_assert_str_eq(b.last, "hello");
	net->n = 0;
	rd_sync_opener_free(op);
	net_free(net);
	free(net);
}
END_TEST

struct open_job {
	const struct rd_sync_opener *op;
	const struct pkt *pkts;
	size_t n;
	size_t good; /* envelopes opened to the expected payload */
};

static void *open_all(void *arg)
{
	struct open_job *j = arg;
	uint8_t out[1500];

	for (int round = 0; round < 200; round++)
		for (size_t i = 0; i < j->n; i++) {
			struct rd_sync_opened o;
			char want[32];

			snprintf(want, sizeof(want), "payload %zu", i);
			if (rd_sync_opener_open(j->op, j->pkts[i].buf, j->pkts[i].len, out,
			                        sizeof(out), &o) == 0 &&
			    o.rc == 0 && o.len == strlen(want) && memcmp(o.data, want, o.len) == 0)
				j->good++;
		}
	return NULL;
}

/* One opener, four threads opening the same envelopes at once: each opens all. */
START_TEST(opener_opens_on_several_threads_at_once)
{
	struct rd_sync_key k = key1_gcm();
	struct node a, b;
	struct net *net;
	struct rd_sync_opener *op;
	struct pkt pkts[16];
	struct open_job jobs[4];
	pthread_t th[4];

	if (!rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM))
		k = key1();
	net = pair_keyed(&a, &b, &k);
	ck_assert_int_eq(rd_sync_opener_new(b.ch, &op), 0);
	net->n = 0;
	for (size_t i = 0; i < 16; i++) {
		char msg[32];

		snprintf(msg, sizeof(msg), "payload %zu", i);
		send_str(&a, msg, 10);
		pkts[i] = net->q[net->n - 1];
	}
	net->n = 0;
	for (int t = 0; t < 4; t++) {
		jobs[t] = (struct open_job){op, pkts, 16, 0};
		ck_assert_int_eq(pthread_create(&th[t], NULL, open_all, &jobs[t]), 0);
	}
	for (int t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		ck_assert_uint_eq(jobs[t].good, 200 * 16);
	}
	rd_sync_opener_free(op);
	net_free(net);
	free(net);
}
END_TEST

START_TEST(channel_rejects_bad_configuration)
{
	struct rd_sync_channel *ch;
	struct rd_sync_channel_config cfg;
	struct rd_sync_key k = key1();
	struct node nd;

	memset(&cfg, 0, sizeof(cfg));
	cfg.sender_id = 1;
	cfg.keys = &k;
	cfg.nkeys = 1;
	cfg.send_key_id = 1;
	cfg.cb.send = net_send;
	cfg.cb.deliver = node_deliver;
	cfg.cb.user = &nd;
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &ch), 0);
	ck_assert_uint_eq(rd_sync_channel_payload_max(ch), 1472 - RD_SYNC_ENV_OVERHEAD);
	ck_assert_int_eq(rd_sync_channel_send(ch, (const uint8_t *)"x", 1500, 0), RD_ERR_NOSPC);
	rd_sync_channel_free(ch);
	cfg.send_key_id = 3;
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &ch), RD_ERR_INVAL);
	cfg.send_key_id = 1;
	cfg.sender_id = 0;
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &ch), RD_ERR_INVAL);
	cfg.sender_id = 1;
	cfg.mtu = 100;
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &ch), RD_ERR_INVAL);
}
END_TEST

/*
 * rd_sync_channel_config_default fills the documented defaults; a channel
 * made from it (keys, sender and send set) has the default envelope size.
 */
START_TEST(channel_config_default_fills_documented_values)
{
	struct rd_sync_channel_config cfg;
	struct rd_sync_channel *ch = NULL;
	struct rd_sync_key k = {.id = 3};

	memset(&cfg, 0xff, sizeof(cfg));
	rd_sync_channel_config_default(&cfg);
	ck_assert_uint_eq(cfg.sender_id, 0);
	ck_assert_uint_eq(cfg.seq_start, 1);
	ck_assert_ptr_null(cfg.keys);
	ck_assert_uint_eq(cfg.nkeys, 0);
	ck_assert_uint_eq(cfg.mtu, 1472);
	ck_assert_uint_eq(cfg.resend_slots, 1024);
	ck_assert_uint_eq(cfg.max_peers, 16);
	ck_assert_uint_eq(cfg.hold_slots, 256);
	ck_assert_int_eq(cfg.ack_delay, 5 * RD_MSEC);
	ck_assert_uint_eq(cfg.ack_every, 16);
	ck_assert_int_eq(cfg.rto, 100 * RD_MSEC);
	ck_assert_uint_eq(cfg.max_tries, 10);
	ck_assert_int_eq(cfg.hello_interval, RD_SEC);
	ck_assert_int_eq(cfg.peer_timeout, 5 * RD_SEC);
	ck_assert_ptr_null(cfg.cb.user);
	ck_assert_ptr_null(cfg.cb.send);
	ck_assert_ptr_null(cfg.cb.deliver);
	ck_assert_ptr_null(cfg.cb.lost);
	ck_assert_ptr_null(cfg.mem);
	ck_assert_ptr_null(cfg.random.fn);
	ck_assert_ptr_null(cfg.log.fn);
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &ch), RD_ERR_INVAL); /* no keys, no sender */
	cfg.sender_id = 9;
	cfg.keys = &k;
	cfg.nkeys = 1;
	cfg.send_key_id = 3;
	cfg.cb.send = net_send;
	ck_assert_int_eq(rd_sync_channel_new(&cfg, &ch), 0);
	ck_assert_uint_eq(rd_sync_channel_payload_max(ch), 1472 - RD_SYNC_ENV_OVERHEAD);
	ck_assert_uint_eq(rd_sync_channel_room(ch), 256);
	rd_sync_channel_free(ch);
}
END_TEST

START_TEST(stat_names_cover_every_counter)
{
	for (int i = 0; i < RD_SYNC_STAT_COUNT; i++)
		ck_assert_str_ne(rd_sync_stat_name(i), "unknown");
	ck_assert_str_eq(rd_sync_stat_name(RD_SYNC_STAT_BADTAG), "badtag");
	ck_assert_str_eq(rd_sync_env_type_name(RD_SYNC_ENV_NACK), "nack");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("envelope");
	TCase *e = tcase_create("envelope");
	TCase *k = tcase_create("keyfile");
	TCase *t = tcase_create("control");
	TCase *c = tcase_create("channel");

	tcase_add_test(e, seal_then_open_returns_header_and_payload);
	tcase_add_loop_test(e, tampering_with_any_byte_is_refused, 0, RD_SYNC_AEAD_COUNT);
	tcase_add_test(e, tampering_reasons_name_the_field);
	tcase_add_test(e, wrong_key_with_same_id_is_refused);
	tcase_add_test(e, unknown_key_id_is_refused);
	tcase_add_test(e, truncated_envelope_is_refused);
	tcase_add_test(e, seal_refuses_small_buffer_and_key_mismatch);
	tcase_add_test(e, nonces_differ_between_envelopes);
	tcase_add_test(e, aes_gcm_envelope_is_version_2_and_opens);
	tcase_add_loop_test(e, each_aead_round_trips_every_type_and_size, 0, RD_SYNC_AEAD_COUNT);
	tcase_add_test(e, aes_gcm_nonce_is_sender_and_sequence_per_space);
	tcase_add_test(e, aes_gcm_seal_refuses_sequence_numbers_from_2_63);
	tcase_add_test(e, envelope_of_one_aead_is_refused_by_a_key_of_the_other);
	tcase_add_test(e, seal_refuses_unknown_aead);
	tcase_add_test(e, aead_names_and_availability);
	suite_add_tcase(s, e);

	tcase_add_test(k, key_file_round_trips);
	tcase_add_test(k, key_file_without_aead_is_xchacha);
	tcase_add_test(k, key_file_names_its_aead);
	tcase_add_test(k, key_file_format_writes_aead_only_for_aes_gcm);
	tcase_add_test(k, key_file_bad_aead_is_refused);
	tcase_add_test(k, key_file_naming_aes_gcm_without_aes_ni_is_not_supported);
	tcase_add_test(k, key_file_allows_comments_and_blank_lines);
	tcase_add_test(k, key_file_errors_are_refused);
	tcase_add_test(k, key_generate_uses_random_hook);
	suite_add_tcase(s, k);

	tcase_add_test(t, ctl_decode_accepts_hello);
	tcase_add_test(t, ctl_decode_accepts_hello_without_first);
	tcase_add_test(t, ctl_decode_refuses_hello_with_bad_first);
	tcase_add_test(t, ctl_decode_accepts_ack_and_nack_records_in_order);
	tcase_add_test(t, ctl_decode_accepts_ack_without_records);
	tcase_add_test(t, ctl_decode_returns_the_callbacks_value);
	tcase_add_test(t, ctl_decode_refuses_hello_of_wrong_length);
	tcase_add_test(t, ctl_decode_refuses_hello_with_next_zero);
	tcase_add_test(t, ctl_decode_refuses_hello_with_oldest_above_next);
	tcase_add_test(t, ctl_decode_refuses_hello_with_oldest_zero);
	tcase_add_test(t, channel_with_seq_start_zero_numbers_from_one);
	tcase_add_test(t, ctl_decode_refuses_ack_shorter_than_its_prefix);
	tcase_add_test(t, ctl_decode_refuses_ack_whose_count_disagrees_with_length);
	tcase_add_test(t, ctl_decode_refuses_ack_record_with_cumulative_above_top);
	tcase_add_test(t, ctl_decode_refuses_data_and_unknown_types);
	tcase_add_test(t, ctl_decode_refuses_bad_arguments);
	tcase_add_test(t, ctl_error_names_are_distinct);
	suite_add_tcase(s, t);

	tcase_add_test(c, channel_delivers_data_once_and_acks_it);
	tcase_add_test(c, channel_refuses_replayed_envelope);
	tcase_add_test(c, channel_refuses_envelope_older_than_window);
	tcase_add_test(c, channel_refuses_tampered_and_foreign_envelopes);
	tcase_add_test(c, channel_refuses_its_own_looped_back_envelope);
	tcase_add_test(c, channel_nack_recovers_dropped_message);
	tcase_add_test(c, channel_timeout_resends_lost_tail_message);
	tcase_add_test(c, channel_caught_up_waits_for_a_later_hello_and_the_holes_before_it);
	tcase_add_test(c, channel_gives_up_after_max_tries_and_reports_loss);
	tcase_add_test(c, channel_hello_reveals_lost_tail_to_receiver);
	tcase_add_test(c, channel_hello_gives_up_holes_the_sender_no_longer_holds);
	tcase_add_test(c, channel_hello_nacks_again_for_holes_still_open);
	tcase_add_test(c, channel_nacks_do_not_spend_the_timers_tries);
	tcase_add_test(c, channel_refuses_malformed_control_payloads);
	tcase_add_test(c, channel_refuses_exactly_what_ctl_decode_refuses);
	tcase_add_test(c, channel_refuses_new_sender_when_peer_table_full);
	tcase_add_test(c, channel_full_table_gives_silent_peers_places_to_new_senders);
	tcase_add_test(c, channel_refuses_out_of_order_data_it_cannot_hold);
	tcase_add_test(c, channel_holds_new_peers_data_until_its_hello);
	tcase_add_test(c, channel_sends_hello_before_its_first_data);
	tcase_add_test(c, channel_meeting_a_peer_that_released_messages_is_a_loss);
	tcase_add_test(c, channel_restarted_peer_is_a_new_incarnation_not_a_loss);
	tcase_add_test(c, channel_restart_whose_hello_was_lost_is_not_a_loss);
	tcase_add_test(c, channel_hello_soon_sends_one_hello_per_gap);
	tcase_add_test(c, channel_outage_past_the_window_is_counted_lost_at_the_next_hello);
	tcase_add_test(c, channel_resend_timeout_follows_a_slow_peers_round_trip);
	tcase_add_test(c, channel_resends_once_to_all_when_several_peers_lack_data);
	tcase_add_test(c, channel_acks_again_when_data_is_resent);
	tcase_add_test(c, channel_evicts_oldest_when_resend_buffer_full);
	tcase_add_test(c, channel_key_rotation_accepts_both_keys);
	tcase_add_test(c, channel_with_aes_gcm_key_delivers_and_counts_tampering);
	tcase_add_test(c, channel_counts_envelopes_of_the_other_aead_as_badaead);
	tcase_add_test(c, channel_rotates_from_xchacha_to_aes_gcm);
	tcase_add_test(c, channel_refuses_aes_gcm_keys_it_cannot_number);
	tcase_add_test(c, channel_refuses_replayed_ack);
	tcase_add_test(c, channel_input_opened_does_what_input_does);
	tcase_add_test(c, channel_refuses_what_an_old_opener_opened_under_a_dropped_key);
	tcase_add_test(c, channel_input_opened_refuses_results_no_opener_makes);
	tcase_add_test(c, opener_opens_on_several_threads_at_once);
	tcase_add_test(c, channel_rejects_bad_configuration);
	tcase_add_test(c, stat_names_cover_every_counter);
	tcase_add_test(c, channel_config_default_fills_documented_values);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	if (rd_init() != 0)
		return EXIT_FAILURE;
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
