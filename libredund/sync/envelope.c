/*
 * The secure envelope: sealing and opening with XChaCha20-Poly1305 or
 * AES-256-GCM, and the pre-shared key file format. Layout, nonces and
 * rationale: redund/sync.h.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "redund/sync.h"
#include "sync/envelope.h"

#define MAGIC0 0x52 /* 'R' */
#define MAGIC1 0x44 /* 'D' */

_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == RD_SYNC_ENV_NONCE_LEN,
               "XChaCha nonce is 24 bytes");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == RD_SYNC_ENV_TAG_LEN,
               "Poly1305 tag is 16 bytes");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == RD_SYNC_KEY_LEN, "key is 32 bytes");
_Static_assert(20 + RD_SYNC_ENV_NONCE_LEN == RD_SYNC_ENV_HDR_LEN, "nonce ends the header");
_Static_assert(crypto_aead_aes256gcm_NPUBBYTES == 12, "GCM nonce is 96 bits");
_Static_assert(crypto_aead_aes256gcm_NPUBBYTES <= RD_SYNC_ENV_NONCE_LEN, "in the nonce field");
_Static_assert(crypto_aead_aes256gcm_ABYTES == RD_SYNC_ENV_TAG_LEN, "GCM tag is 16 bytes");
_Static_assert(crypto_aead_aes256gcm_KEYBYTES == RD_SYNC_KEY_LEN, "AES-256 key is 32 bytes");

#define NONCE_OFF   20
#define GCM_CTL_BIT ((uint64_t)1 << 63) /* control envelopes' half of the GCM nonce space */

static const char *const stat_names[RD_SYNC_STAT_COUNT] = {
    [RD_SYNC_STAT_OPENED] = "opened",
    [RD_SYNC_STAT_DELIVERED] = "delivered",
    [RD_SYNC_STAT_SENT] = "sent",
    [RD_SYNC_STAT_RESENT] = "resent",
    [RD_SYNC_STAT_ACKS_SENT] = "acks_sent",
    [RD_SYNC_STAT_NACKS_SENT] = "nacks_sent",
    [RD_SYNC_STAT_HELLOS_SENT] = "hellos_sent",
    [RD_SYNC_STAT_TRUNCATED] = "truncated",
    [RD_SYNC_STAT_BADMAGIC] = "badmagic",
    [RD_SYNC_STAT_BADTYPE] = "badtype",
    [RD_SYNC_STAT_UNKNOWNKEY] = "unknownkey",
    [RD_SYNC_STAT_BADTAG] = "badtag",
    [RD_SYNC_STAT_REPLAYED] = "replayed",
    [RD_SYNC_STAT_TOOOLD] = "tooold",
    [RD_SYNC_STAT_SELF] = "self",
    [RD_SYNC_STAT_BADPAYLOAD] = "badpayload",
    [RD_SYNC_STAT_PEERSFULL] = "peersfull",
    [RD_SYNC_STAT_EVICTED] = "evicted",
    [RD_SYNC_STAT_GAVEUP] = "gaveup",
    [RD_SYNC_STAT_LOST] = "lost",
    [RD_SYNC_STAT_NOMEM] = "nomem",
    [RD_SYNC_STAT_PEERS_EXPIRED] = "peers_expired",
    [RD_SYNC_STAT_PEER_RESTARTS] = "peer_restarts",
    [RD_SYNC_STAT_OLDINCARNATION] = "oldincarnation",
    [RD_SYNC_STAT_BADAEAD] = "badaead",
    [RD_SYNC_STAT_AHEAD] = "ahead",
};

static const char *const aead_names[RD_SYNC_AEAD_COUNT] = {
    [RD_SYNC_AEAD_XCHACHA20POLY1305] = "xchacha20poly1305",
    [RD_SYNC_AEAD_AES256GCM] = "aes256gcm",
};

const char *rd_sync_aead_name(int aead)
{
	if (aead < 0 || aead >= RD_SYNC_AEAD_COUNT)
		return "unknown";
	return aead_names[aead];
}

bool rd_sync_aead_available(int aead)
{
	if (aead == RD_SYNC_AEAD_XCHACHA20POLY1305)
		return true;
	/*
	 * libsodium knows the CPU's features only once initialised (before, it
	 * says no AES-NI): syncd reads its key files before rd_init.
	 * sodium_init is idempotent and thread-safe.
	 */
	if (aead == RD_SYNC_AEAD_AES256GCM)
		return sodium_init() >= 0 && crypto_aead_aes256gcm_is_available() != 0;
	return false;
}

const char *rd_sync_stat_name(int stat)
{
	if (stat < 0 || stat >= RD_SYNC_STAT_COUNT)
		return "unknown";
	return stat_names[stat];
}

const char *rd_sync_env_type_name(int type)
{
	switch (type) {
	case RD_SYNC_ENV_DATA:
		return "data";
	case RD_SYNC_ENV_ACK:
		return "ack";
	case RD_SYNC_ENV_NACK:
		return "nack";
	case RD_SYNC_ENV_HELLO:
		return "hello";
	default:
		return "unknown";
	}
}

/* ---- key file ------------------------------------------------------ */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one "word value" line (already stripped of comments). */
/* Which items a key file had so far. */
struct key_seen {
	bool id, key, aead;
};

static int parse_line(const char *p, const char *end, struct rd_sync_key *k, struct key_seen *seen)
{
	const char *w, *v;
	size_t wl, vl;

	while (p < end && is_space(*p))
		p++;
	while (end > p && is_space(end[-1]))
		end--;
	if (p == end)
		return 0;
	w = p;
	while (p < end && !is_space(*p))
		p++;
	wl = (size_t)(p - w);
	while (p < end && is_space(*p))
		p++;
	v = p;
	vl = (size_t)(end - v);

	if (wl == 5 && memcmp(w, "keyid", 5) == 0) {
		uint64_t id = 0;
		if (seen->id || vl == 0 || vl > 10)
			return RD_ERR_INVAL;
		for (size_t i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return RD_ERR_INVAL;
			id = id * 10 + (uint64_t)(v[i] - '0');
		}
		if (id > UINT32_MAX)
			return RD_ERR_INVAL;
		k->id = (uint32_t)id;
		seen->id = true;
		return 0;
	}
	if (wl == 3 && memcmp(w, "key", 3) == 0) {
		size_t n;
		/* libsodium's decoder: constant time, as key material wants. */
		if (seen->key || vl != 2 * RD_SYNC_KEY_LEN ||
		    sodium_hex2bin(k->key, RD_SYNC_KEY_LEN, v, vl, NULL, &n, NULL) != 0 ||
		    n != RD_SYNC_KEY_LEN)
			return RD_ERR_INVAL;
		seen->key = true;
		return 0;
	}
	if (wl == 4 && memcmp(w, "aead", 4) == 0) {
		if (seen->aead)
			return RD_ERR_INVAL;
		for (int a = 0; a < RD_SYNC_AEAD_COUNT; a++) {
			if (vl == strlen(aead_names[a]) && memcmp(v, aead_names[a], vl) == 0) {
				k->aead = (uint8_t)a;
				seen->aead = true;
				return 0;
			}
		}
		return RD_ERR_INVAL;
	}
	return RD_ERR_INVAL;
}

int rdi_sync_key_parse(const char *text, size_t len, struct rd_sync_key *out, bool aes_ok)
{
	struct rd_sync_key k;
	struct key_seen seen = {false, false, false};
	int rc = 0;
	size_t i = 0;

	if (text == NULL || out == NULL)
		return RD_ERR_INVAL;
	memset(&k, 0, sizeof(k));
	while (i < len && rc == 0) {
		size_t start = i, end;
		while (i < len && text[i] != '\n')
			i++;
		end = i;
		for (size_t j = start; j < end; j++) {
			if (text[j] == '#') {
				end = j;
				break;
			}
		}
		rc = parse_line(text + start, text + end, &k, &seen);
		i++; /* the newline */
	}
	if (rc == 0 && (!seen.id || !seen.key))
		rc = RD_ERR_INVAL;
	if (rc == 0)
		rc = rdi_env_key_check(&k, aes_ok);
	if (rc == 0)
		*out = k;
	sodium_memzero(&k, sizeof(k));
	return rc;
}

int rd_sync_key_parse(const char *text, size_t len, struct rd_sync_key *out)
{
	return rdi_sync_key_parse(text, len, out, rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM));
}

int rd_sync_key_format(const struct rd_sync_key *k, char *buf, size_t len)
{
	char keyhex[2 * RD_SYNC_KEY_LEN + 1];
	int n;

	if (k->aead >= RD_SYNC_AEAD_COUNT)
		return RD_ERR_INVAL;
	sodium_bin2hex(keyhex, sizeof(keyhex), k->key, RD_SYNC_KEY_LEN);
	/* No aead line for XChaCha: such a file stays readable by older peers. */
	if (k->aead == RD_SYNC_AEAD_XCHACHA20POLY1305)
		n = snprintf(buf, len, "keyid %u\nkey %s\n", (unsigned)k->id, keyhex);
	else
		n = snprintf(buf, len, "keyid %u\nkey %s\naead %s\n", (unsigned)k->id, keyhex,
		             aead_names[k->aead]);
	sodium_memzero(keyhex, sizeof(keyhex));
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			sodium_memzero(buf, len);
		return RD_ERR_NOSPC;
	}
	return n;
}

void rd_sync_key_generate(uint32_t id, const struct rd_random *rnd, struct rd_sync_key *out)
{
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->aead = RD_SYNC_AEAD_XCHACHA20POLY1305;
	rd_random_buf(rnd, out->key, sizeof(out->key));
}

/* ---- seal and open ------------------------------------------------- */

static int type_ok(uint8_t t)
{
	return t >= RD_SYNC_ENV_DATA && t <= RD_SYNC_ENV_HELLO;
}

int rdi_env_key_check(const struct rd_sync_key *k, bool aes_ok)
{
	if (k->aead == RD_SYNC_AEAD_XCHACHA20POLY1305)
		return 0;
	if (k->aead == RD_SYNC_AEAD_AES256GCM)
		return aes_ok ? 0 : RD_ERR_NOTSUP;
	return RD_ERR_INVAL;
}

int rdi_env_key_prepare(const struct rd_sync_key *k, crypto_aead_aes256gcm_state *st)
{
	int rc = rdi_env_key_check(k, true);

	if (rc == 0 && k->aead == RD_SYNC_AEAD_AES256GCM &&
	    crypto_aead_aes256gcm_beforenm(st, k->key) != 0)
		rc = RD_ERR_CRYPTO;
	return rc;
}

/* The version byte that names an AEAD, and back (-1: not a version we know). */
static uint8_t aead_version(uint8_t aead)
{
	return aead == RD_SYNC_AEAD_AES256GCM ? RD_SYNC_ENV_VERSION_GCM : RD_SYNC_ENV_VERSION;
}

int rdi_env_version_aead(uint8_t v)
{
	if (v == RD_SYNC_ENV_VERSION)
		return RD_SYNC_AEAD_XCHACHA20POLY1305;
	if (v == RD_SYNC_ENV_VERSION_GCM)
		return RD_SYNC_AEAD_AES256GCM;
	return -1;
}

int rdi_env_seal(const struct rd_sync_key *key, const crypto_aead_aes256gcm_state *gcm,
                 const struct rd_sync_env_hdr *h, const struct rd_random *rnd, const uint8_t *pt,
                 size_t ptlen, uint8_t *out, size_t cap)
{
	unsigned long long clen;
	uint8_t *nonce = out + NONCE_OFF;
	bool gcm_key;
	int rc;

	if (key == NULL || h == NULL || out == NULL || (pt == NULL && ptlen > 0))
		return RD_ERR_INVAL;
	if (!type_ok(h->type) || h->key_id != key->id || key->aead >= RD_SYNC_AEAD_COUNT)
		return RD_ERR_INVAL;
	/* Read before out is written: out may alias nothing, but the compiler cannot know. */
	gcm_key = key->aead == RD_SYNC_AEAD_AES256GCM;
	if (gcm_key && (gcm == NULL || (h->seq & GCM_CTL_BIT) != 0))
		return RD_ERR_INVAL;
	if (ptlen > INT32_MAX - RD_SYNC_ENV_OVERHEAD || cap < ptlen + RD_SYNC_ENV_OVERHEAD)
		return RD_ERR_NOSPC;
	out[0] = MAGIC0;
	out[1] = MAGIC1;
	out[2] = aead_version(key->aead);
	out[3] = h->type;
	rd_put32(out + 4, h->key_id);
	rd_put32(out + 8, h->sender);
	rd_put64(out + 12, h->seq);
	if (gcm_key && gcm != NULL) {
		/* A counter unique per sender: no randomness in 96 bits (sync.h). */
		rd_put32(nonce, h->sender);
		rd_put64(nonce + 4, h->seq | (h->type == RD_SYNC_ENV_DATA ? 0 : GCM_CTL_BIT));
		memset(nonce + 12, 0, RD_SYNC_ENV_NONCE_LEN - 12);
		rc = crypto_aead_aes256gcm_encrypt_afternm(out + RD_SYNC_ENV_HDR_LEN, &clen, pt,
		                                           ptlen, out, RD_SYNC_ENV_HDR_LEN, NULL,
		                                           nonce, gcm);
	} else {
		/* Unique by construction (sender, type, seq), random besides. */
		rd_put32(nonce, h->sender);
		nonce[4] = h->type;
		rd_put64(nonce + 5, h->seq);
		rd_random_buf(rnd, nonce + 13, RD_SYNC_ENV_NONCE_LEN - 13);
		rc = crypto_aead_xchacha20poly1305_ietf_encrypt(out + RD_SYNC_ENV_HDR_LEN, &clen,
		                                                pt, ptlen, out, RD_SYNC_ENV_HDR_LEN,
		                                                NULL, nonce, key->key);
	}
	if (rc != 0)
		return RD_ERR_CRYPTO;
	return (int)(clen + RD_SYNC_ENV_HDR_LEN);
}

int rd_sync_env_seal(const struct rd_sync_key *key, const struct rd_sync_env_hdr *h,
                     const struct rd_random *rnd, const uint8_t *pt, size_t ptlen, uint8_t *out,
                     size_t cap)
{
	crypto_aead_aes256gcm_state st;
	int rc;

	if (key == NULL)
		return RD_ERR_INVAL;
	if (key->aead != RD_SYNC_AEAD_AES256GCM)
		return rdi_env_seal(key, NULL, h, rnd, pt, ptlen, out, cap);
	rc = rdi_env_key_check(key, rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM));
	if (rc == 0)
		rc = rdi_env_key_prepare(key, &st);
	if (rc == 0)
		rc = rdi_env_seal(key, &st, h, rnd, pt, ptlen, out, cap);
	sodium_memzero(&st, sizeof(st));
	return rc;
}

static int env_refuse(int *reason, int why, int rc)
{
	if (reason != NULL)
		*reason = why;
	return rc;
}

int rdi_env_open(const struct rd_sync_key *keys, const crypto_aead_aes256gcm_state *gcm,
                 size_t nkeys, const uint8_t *pkt, size_t len, struct rd_sync_env_hdr *h,
                 uint8_t *out, size_t cap, int *reason)
{
	const struct rd_sync_key *k = NULL;
	const crypto_aead_aes256gcm_state *ks = NULL;
	crypto_aead_aes256gcm_state st;
	struct rd_sync_env_hdr hdr;
	unsigned long long plen;
	size_t clen;
	int aead, rc;

	if (reason != NULL)
		*reason = RD_SYNC_STAT_OPENED;
	if (pkt == NULL || len < RD_SYNC_ENV_OVERHEAD)
		return env_refuse(reason, RD_SYNC_STAT_TRUNCATED, RD_ERR_PROTO);
	if (pkt[0] != MAGIC0 || pkt[1] != MAGIC1 || (aead = rdi_env_version_aead(pkt[2])) < 0)
		return env_refuse(reason, RD_SYNC_STAT_BADMAGIC, RD_ERR_PROTO);
	if (!type_ok(pkt[3]))
		return env_refuse(reason, RD_SYNC_STAT_BADTYPE, RD_ERR_PROTO);
	hdr.version = pkt[2];
	hdr.type = pkt[3];
	hdr.key_id = rd_get32(pkt + 4);
	hdr.sender = rd_get32(pkt + 8);
	hdr.seq = rd_get64(pkt + 12);
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].id == hdr.key_id) {
			k = &keys[i];
			ks = gcm != NULL ? &gcm[i] : NULL;
			break;
		}
	}
	if (k == NULL)
		return env_refuse(reason, RD_SYNC_STAT_UNKNOWNKEY, RD_ERR_NOENT);
	/* Members whose key files disagree: say so, rather than a failed tag. */
	if (aead != k->aead)
		return env_refuse(reason, RD_SYNC_STAT_BADAEAD, RD_ERR_PROTO);
	clen = len - RD_SYNC_ENV_HDR_LEN;
	if (out == NULL || cap < clen - RD_SYNC_ENV_TAG_LEN)
		return RD_ERR_NOSPC;
	if (aead == RD_SYNC_AEAD_AES256GCM) {
		if (ks == NULL) {
			rc = rdi_env_key_check(k, rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM));
			if (rc == 0)
				rc = rdi_env_key_prepare(k, &st);
			if (rc != 0) {
				sodium_memzero(&st, sizeof(st));
				return env_refuse(reason, RD_SYNC_STAT_BADAEAD, rc);
			}
			ks = &st;
		}
		rc = crypto_aead_aes256gcm_decrypt_afternm(
		    out, &plen, NULL, pkt + RD_SYNC_ENV_HDR_LEN, clen, pkt, RD_SYNC_ENV_HDR_LEN,
		    pkt + NONCE_OFF, ks);
		if (ks == &st)
			sodium_memzero(&st, sizeof(st));
	} else {
		rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
		    out, &plen, NULL, pkt + RD_SYNC_ENV_HDR_LEN, clen, pkt, RD_SYNC_ENV_HDR_LEN,
		    pkt + NONCE_OFF, k->key);
	}
	if (rc != 0) {
		sodium_memzero(out, clen - RD_SYNC_ENV_TAG_LEN);
		return env_refuse(reason, RD_SYNC_STAT_BADTAG, RD_ERR_AUTH);
	}
	if (h != NULL)
		*h = hdr;
	return (int)plen;
}

int rd_sync_env_open(const struct rd_sync_key *keys, size_t nkeys, const uint8_t *pkt, size_t len,
                     struct rd_sync_env_hdr *h, uint8_t *out, size_t cap, int *reason)
{
	return rdi_env_open(keys, NULL, nkeys, pkt, len, h, out, cap, reason);
}
