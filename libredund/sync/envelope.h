/*
 * The envelope's sealing and opening with keys prepared in advance: what
 * the channel uses, so that an AES-256-GCM key's schedule is expanded once
 * per key rather than once per envelope. Internal; the public calls are in
 * redund/sync.h.
 */
#ifndef RD_SYNC_ENVELOPE_H
#define RD_SYNC_ENVELOPE_H

#include <sodium.h>

#include "redund/sync.h"

/*
 * Whether k can seal and open here: 0, RD_ERR_INVAL (unknown aead) or
 * RD_ERR_NOTSUP (AES-GCM when aes_ok is false). aes_ok is
 * rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM) outside the tests.
 */
int rdi_env_key_check(const struct rd_sync_key *k, bool aes_ok);

/*
 * Expand k's AES-GCM schedule into *st (nothing for an XChaCha key).
 * Returns rdi_env_key_check's result for aes_ok true; k must be usable here
 * (rdi_env_key_check with the real availability first).
 */
int rdi_env_key_prepare(const struct rd_sync_key *k, crypto_aead_aes256gcm_state *st);

/*
 * rd_sync_env_seal with key's schedule already in *gcm (AES-GCM keys;
 * ignored for XChaCha keys).
 */
int rdi_env_seal(const struct rd_sync_key *key, const crypto_aead_aes256gcm_state *gcm,
                 const struct rd_sync_env_hdr *h, const struct rd_random *rnd, const uint8_t *pt,
                 size_t ptlen, uint8_t *out, size_t cap);

/*
 * rd_sync_env_open with gcm[i] holding keys[i]'s schedule for its AES-GCM
 * keys (gcm NULL: expanded here, per call).
 */
int rdi_env_open(const struct rd_sync_key *keys, const crypto_aead_aes256gcm_state *gcm,
                 size_t nkeys, const uint8_t *pkt, size_t len, struct rd_sync_env_hdr *h,
                 uint8_t *out, size_t cap, int *reason);

/* The AEAD (enum rd_sync_aead) an envelope version byte names, or -1. */
int rdi_env_version_aead(uint8_t v);

/* rd_sync_key_parse, with AES-GCM's availability given (tests pass false). */
int rdi_sync_key_parse(const char *text, size_t len, struct rd_sync_key *out, bool aes_ok);

#endif
