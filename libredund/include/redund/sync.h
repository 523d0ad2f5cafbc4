/*
 * libredund — state sync transport: the secure envelope, pre-shared keys,
 * and the sans-I/O secure channel (sequence numbers, replay window,
 * acknowledgements and resend). The pfsync codec is in redund/pfsync.h.
 *
 * Secure envelope (UDP, default port RD_SYNC_UDP_PORT 8240):
 *
 *   offset size field
 *    0     2   magic 0x52 0x44 ("RD")
 *    2     1   version, naming the AEAD: 1 XChaCha20-Poly1305, 2 AES-256-GCM
 *    3     1   type: 1 DATA, 2 ACK, 3 NACK, 4 HELLO
 *    4     4   key id (big-endian)
 *    8     4   sender id (big-endian; the node's pfsync creatorid)
 *   12     8   sequence number (big-endian)
 *   20    24   nonce (below)
 *   44     n   ciphertext of the payload
 *   44+n  16   Poly1305 or GCM tag
 *
 * Sealed under the 32-byte key named by key id, with the AEAD that key's
 * file names (struct rd_sync_key's aead); the 44 header bytes are the
 * associated data, so every header field is authenticated. Overhead: 60
 * bytes with either AEAD. The version byte says which AEAD sealed the
 * envelope: a receiver whose key of that id has the other AEAD refuses it
 * (counted badaead) instead of failing its tag. Version 1 is the only one
 * libredund before 0.2 knows; its peers count version 2 badmagic.
 *
 *   Version 1, XChaCha20-Poly1305-IETF: the 24-byte nonce is sender id (4)
 *   | type (1) | sequence (8) | 11 random bytes: unique per (sender, type,
 *   sequence) and randomised besides, so a sender that reuses a sequence
 *   number after a restart still never reuses a nonce. No practical limit
 *   on what one key seals.
 *
 *   Version 2, AES-256-GCM: the nonce is 96 bits, too few for random
 *   nonces to stay unique for long (2^32 envelopes a key for a 2^-32
 *   chance of a repeat), so it is a counter made unique per sender: bytes
 *   20..31 are sender id (4) | sequence (8) with its top bit set for
 *   control envelopes (ACK, NACK, HELLO: their own sequence space) and
 *   clear for DATA; bytes 32..43 are zero. The receiver takes the nonce
 *   from bytes 20..31. Uniqueness rests on two rules: every member has its
 *   own sender id, and a sender never reuses a sequence number under the
 *   key, across restarts too (the channel's seq_start; syncd keeps it
 *   above the last start's in its state directory, even after the clock
 *   was set back). A repeated nonce would reveal the two payloads' XOR
 *   and let an attacker forge envelopes under the key. Sequence numbers
 *   stay below 2^63. Rotate an AES-256-GCM key before it sealed 2^48
 *   16-byte blocks (4 PiB; a 2^-32 advantage for an attacker by the
 *   CFRG's AEAD usage limits): at a 1,000,000-state bulk every second
 *   (270 MB/s) that is about six months.
 *
 * Payloads: DATA carries a pfsync v6 packet (header included). ACK and NACK
 * carry records {u32 acked sender, u32 0, u64 cumulative, u64 top, u64
 * bitmap} after a {u16 count, u16 0} prefix: every DATA sequence number of
 * `acked sender` up to `cumulative` arrived, so did cumulative+1+i for each
 * set bit i, and `top` is the highest seen. NACK is an ACK sent at once
 * because of a gap (and again on each HELLO while the gap stays open); its
 * receiver resends the holes it still holds. HELLO carries {u64 next
 * DATA sequence number, u64 oldest DATA sequence number still held for
 * resending, u64 first DATA sequence number of this incarnation}: a
 * receiver learns where a sender's stream stands (and detects lost tail
 * messages) without waiting for data, and gives up at once on holes the
 * sender can no longer fill (reported through `lost`; the carry,
 * redund/sync_carry.h, answers it with a bulk update request). `first`
 * tells a restart from a loss: a known sender whose HELLO names a greater
 * `first` is a new incarnation (counted peer_restarts, its stream starts
 * afresh, nothing is lost), and a new sender that still holds everything
 * from its `first` on has lost us nothing. A 16-byte HELLO (no `first`,
 * from libredund before 0.2) is still accepted: such a sender's arrival
 * counts as a loss. A sender sends its first HELLO before its first DATA. A NACK for
 * DATA the sender no longer holds makes it send a HELLO at once.
 * rd_sync_ctl_decode checks and decodes ACK, NACK and HELLO payloads (the
 * channel uses it).
 *
 * DATA and control envelopes (ACK/NACK/HELLO) use separate sequence
 * spaces, each with its own replay window per sender.
 *
 * Key file (text, one item a line, '#' comments):
 *
 *   keyid 1
 *   key 64-hex-digits
 *   aead aes256gcm          (optional: aes256gcm or xchacha20poly1305;
 *                            without it, xchacha20poly1305)
 *
 * Which AEAD: AES-256-GCM is several times faster where the CPU has AES-NI
 * and PCLMULQDQ (libsodium's only AES-GCM; rd_sync_aead_available says),
 * and the only choice where it is unavailable is XChaCha20-Poly1305, which
 * every libredund peer opens. Every member holding a key needs the AEAD
 * it names.
 *
 * Thread-safety: the pure functions (key parse/format, seal, open, names)
 * are thread-safe; a channel is used from one thread at a time, and an
 * opener (rd_sync_opener_open) from any number of threads at once.
 *
 * The channel carries opaque payloads and knows no engine: the sync engine
 * is in redund/sync_engine.h, and redund/sync_carry.h joins the two.
 */
#ifndef REDUND_SYNC_H
#define REDUND_SYNC_H

#include "redund/common.h"
#include "redund/pfsync.h"
#include "redund/state.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RD_SYNC_UDP_PORT        8240
#define RD_SYNC_KEY_LEN         32
#define RD_SYNC_ENV_VERSION     1   /* XChaCha20-Poly1305 envelopes */
#define RD_SYNC_ENV_VERSION_GCM 2   /* AES-256-GCM envelopes (same layout) */
#define RD_SYNC_KEY_TEXT_LEN    128 /* rd_sync_key_format's buffer: enough for every key */
#define RD_SYNC_ENV_HDR_LEN     44
#define RD_SYNC_ENV_TAG_LEN     16
#define RD_SYNC_ENV_OVERHEAD    (RD_SYNC_ENV_HDR_LEN + RD_SYNC_ENV_TAG_LEN)
#define RD_SYNC_ENV_NONCE_LEN   24
#define RD_SYNC_ACK_REC_LEN     32
#define RD_SYNC_MAX_KEYS        4
#define RD_SYNC_REPLAY_WINDOW   1024 /* DATA sequence numbers remembered per sender */

/* Envelope types. */
enum rd_sync_env_type {
	RD_SYNC_ENV_DATA = 1,
	RD_SYNC_ENV_ACK = 2,
	RD_SYNC_ENV_NACK = 3,
	RD_SYNC_ENV_HELLO = 4,
};

/* The AEAD a key seals with (struct rd_sync_key's aead). */
enum rd_sync_aead {
	RD_SYNC_AEAD_XCHACHA20POLY1305 = 0, /* "xchacha20poly1305": the default */
	RD_SYNC_AEAD_AES256GCM = 1,         /* "aes256gcm": needs AES-NI and PCLMULQDQ */
	RD_SYNC_AEAD_COUNT,
};

/*
 * A pre-shared key, its id and its AEAD. Zero-fill before setting the
 * fields (aead 0 is XChaCha20-Poly1305, as for every key before aead
 * existed). Wipe with sodium_memzero when done.
 */
struct rd_sync_key {
	uint32_t id;
	uint8_t key[RD_SYNC_KEY_LEN];
	uint8_t aead; /* enum rd_sync_aead */
};

/*
 * rd_sync_aead_name - the key file's name of an AEAD ("xchacha20poly1305",
 * "aes256gcm"), or "unknown". Thread-safe.
 */
RD_EXPORT const char *rd_sync_aead_name(int aead);

/*
 * rd_sync_aead_available - true when this machine can seal and open with
 * `aead`: always for XChaCha20-Poly1305; for AES-256-GCM when the CPU has
 * AES-NI and PCLMULQDQ (libsodium's crypto_aead_aes256gcm_is_available,
 * after initialising libsodium if nobody did: rd_init is not needed
 * first). False for an unknown value. Thread-safe.
 */
RD_EXPORT bool rd_sync_aead_available(int aead);

/*
 * rd_sync_key_parse - parse a key file's text (len bytes, need not be
 * NUL-terminated) into *out (aead XChaCha20-Poly1305 when the file has no
 * aead line). Returns 0; RD_ERR_INVAL when a line is unknown, the key is
 * not exactly 64 hex digits, the key id is missing or not a decimal number
 * below 2^32, the aead is neither "aes256gcm" nor "xchacha20poly1305", or
 * an item repeats; RD_ERR_NOTSUP when the file names aes256gcm and this
 * machine cannot use it (rd_sync_aead_available).
 * *out is written only on success. Thread-safe.
 */
RD_EXPORT int rd_sync_key_parse(const char *text, size_t len, struct rd_sync_key *out);

/*
 * rd_sync_key_format - write k in the key file format into buf
 * (RD_SYNC_KEY_TEXT_LEN bytes are always enough), NUL-terminated. An
 * XChaCha20-Poly1305 key is written without an aead line, so libredund
 * before 0.2 reads it too. Returns the length written (without the NUL),
 * RD_ERR_NOSPC (buf wiped) or RD_ERR_INVAL (unknown aead). Thread-safe.
 */
RD_EXPORT int rd_sync_key_format(const struct rd_sync_key *k, char *buf, size_t len);

/*
 * rd_sync_key_generate - a new random XChaCha20-Poly1305 key with the given
 * id, from `rnd` (NULL: libsodium's generator; call rd_init first); set
 * out->aead afterwards for another AEAD. Never fails.
 */
RD_EXPORT void rd_sync_key_generate(uint32_t id, const struct rd_random *rnd,
                                    struct rd_sync_key *out);

/* An envelope's clear header. */
struct rd_sync_env_hdr {
	uint8_t version;
	uint8_t type; /* enum rd_sync_env_type */
	uint32_t key_id;
	uint32_t sender;
	uint64_t seq;
};

/*
 * Why an envelope was refused (and the channel's other counters), indexed
 * by enum rd_sync_stat. The refusal reasons are the ones rd_sync_env_open
 * returns through *reason; REPLAYED..BADPAYLOAD are the channel's.
 */
enum rd_sync_stat {
	RD_SYNC_STAT_OPENED = 0,    /* envelopes accepted */
	RD_SYNC_STAT_DELIVERED,     /* DATA payloads delivered */
	RD_SYNC_STAT_SENT,          /* DATA envelopes sent (first time) */
	RD_SYNC_STAT_RESENT,        /* DATA envelopes sent again */
	RD_SYNC_STAT_ACKS_SENT,     /* ACK envelopes sent */
	RD_SYNC_STAT_NACKS_SENT,    /* NACK envelopes sent */
	RD_SYNC_STAT_HELLOS_SENT,   /* HELLO envelopes sent */
	RD_SYNC_STAT_TRUNCATED,     /* shorter than header + tag */
	RD_SYNC_STAT_BADMAGIC,      /* magic or version wrong */
	RD_SYNC_STAT_BADTYPE,       /* unknown type */
	RD_SYNC_STAT_UNKNOWNKEY,    /* key id not configured */
	RD_SYNC_STAT_BADTAG,        /* authentication failed */
	RD_SYNC_STAT_REPLAYED,      /* sequence number already seen (replay or duplicate) */
	RD_SYNC_STAT_TOOOLD,        /* sequence number older than the replay window */
	RD_SYNC_STAT_SELF,          /* our own sender id (looped back) */
	RD_SYNC_STAT_BADPAYLOAD,    /* ACK/NACK/HELLO payload malformed */
	RD_SYNC_STAT_PEERSFULL,     /* a new sender when the peer table is full of live peers */
	RD_SYNC_STAT_EVICTED,       /* unacknowledged DATA dropped: resend buffer full */
	RD_SYNC_STAT_GAVEUP,        /* unacknowledged DATA dropped after max_tries resends */
	RD_SYNC_STAT_LOST,          /* DATA of a peer never received, window moved past it */
	RD_SYNC_STAT_NOMEM,         /* DATA refused: no memory to hold it for in-order delivery */
	RD_SYNC_STAT_PEERS_EXPIRED, /* silent peers that left a full table to a new sender */
	RD_SYNC_STAT_PEER_RESTARTS, /* a known sender's new incarnation (HELLO with a greater first)
	                             */
	RD_SYNC_STAT_OLDINCARNATION, /* HELLO of an incarnation older than the one we know: refused
	                              */
	RD_SYNC_STAT_BADAEAD,        /* sealed with another AEAD than our key of its id has
	                              * (the members' key files disagree), or one this machine
	                              * cannot use; decided before the tag, like badmagic, so a
	                              * forged version byte counts here too */
	RD_SYNC_STAT_AHEAD,          /* DATA of a known peer more than hold_slots past anything
	                              * it sent us: refused (not acknowledged, so resent) until
	                              * its next HELLO tells a restart whose HELLO was lost from
	                              * an outage; neither is counted lost before then */
	RD_SYNC_STAT_COUNT,
};

/* rd_sync_stat_name - a counter's short name ("badtag", ...), or "unknown". */
RD_EXPORT const char *rd_sync_stat_name(int stat);

/* rd_sync_env_type_name - "data", "ack", "nack", "hello" or "unknown". */
RD_EXPORT const char *rd_sync_env_type_name(int type);

/*
 * rd_sync_env_seal - build an envelope with key's AEAD: header h (version
 * is set from the AEAD, 1 or 2; h->key_id must equal key->id), payload pt
 * (ptlen bytes), the XChaCha nonce's random part from rnd (NULL:
 * libsodium; AES-GCM nonces take none). Writes ptlen +
 * RD_SYNC_ENV_OVERHEAD bytes to out and returns that length, or
 * RD_ERR_NOSPC, RD_ERR_INVAL (bad type, key id mismatch, unknown aead,
 * AES-GCM with h->seq >= 2^63), RD_ERR_NOTSUP (AES-GCM unavailable here:
 * no AES-NI).
 * With an AES-GCM key the caller must never seal two envelopes with the
 * same (sender, DATA or control, seq) (see the nonce above); a channel
 * sees to it. This call expands the AES key schedule each time (about
 * 0.2 us); a channel does it once per key. pt and out must not overlap.
 * Thread-safe.
 */
RD_EXPORT int rd_sync_env_seal(const struct rd_sync_key *key, const struct rd_sync_env_hdr *h,
                               const struct rd_random *rnd, const uint8_t *pt, size_t ptlen,
                               uint8_t *out, size_t cap);

/*
 * rd_sync_env_open - check and decrypt an envelope with one of keys[0..n),
 * the one whose id the header names, with the AEAD the version byte names.
 * No replay check (that needs a channel's state). On success fills *h,
 * writes the payload to out (cap >= len - RD_SYNC_ENV_OVERHEAD) and
 * returns the payload length. On refusal returns RD_ERR_PROTO (truncated,
 * bad magic or version, bad type, or an AEAD other than the key's:
 * BADAEAD), RD_ERR_NOTSUP (the key is AES-GCM and this machine cannot use
 * it: BADAEAD), RD_ERR_NOENT (unknown key) or RD_ERR_AUTH (bad tag),
 * stores the enum rd_sync_stat reason in *reason (may be NULL), and out
 * holds nothing usable (it is wiped). RD_ERR_NOSPC if cap is too small.
 * Like rd_sync_env_seal, expands an AES key schedule per call.
 * Thread-safe.
 */
RD_EXPORT int rd_sync_env_open(const struct rd_sync_key *keys, size_t nkeys, const uint8_t *pkt,
                               size_t len, struct rd_sync_env_hdr *h, uint8_t *out, size_t cap,
                               int *reason);

/* ---- control payloads (ACK, NACK, HELLO) ---------------------------- */

#define RD_SYNC_ACK_HDR_LEN  4  /* {u16 count, u16 0} before the records */
#define RD_SYNC_HELLO_LEN    24 /* {u64 next, u64 oldest, u64 first} */
#define RD_SYNC_HELLO_V0_LEN 16 /* {u64 next, u64 oldest}: accepted, first unknown (0) */

/*
 * Why rd_sync_ctl_decode refused a control payload (struct rd_sync_ctl's
 * error). Every one is counted RD_SYNC_STAT_BADPAYLOAD by a channel, except
 * BADTYPE (RD_SYNC_STAT_BADTYPE), which a channel never meets: the
 * envelope's opener refuses unknown types and DATA is not a control type.
 */
enum rd_sync_ctl_error {
	RD_SYNC_CTL_OK = 0,
	RD_SYNC_CTL_BADTYPE,                  /* "badtype": not ACK, NACK or HELLO */
	RD_SYNC_CTL_ACK_SHORT,                /* "ack_short": ACK/NACK under its 4-byte prefix */
	RD_SYNC_CTL_ACK_COUNT,                /* "ack_count": length is not 4 + count * 32 */
	RD_SYNC_CTL_ACK_CUM_ABOVE_TOP,        /* "ack_cum_above_top": a record's cumulative > top */
	RD_SYNC_CTL_HELLO_LEN,                /* "hello_len": HELLO payload is not 16 or 24 bytes */
	RD_SYNC_CTL_HELLO_NEXT_ZERO,          /* "hello_next_zero": HELLO next is 0 */
	RD_SYNC_CTL_HELLO_OLDEST_ABOVE_NEXT,  /* "hello_oldest_above_next": oldest > next */
	RD_SYNC_CTL_HELLO_OLDEST_ZERO,        /* "hello_oldest_zero": oldest is 0 */
	RD_SYNC_CTL_HELLO_FIRST_ZERO,         /* "hello_first_zero": first is 0 (24-byte HELLO) */
	RD_SYNC_CTL_HELLO_FIRST_ABOVE_OLDEST, /* "hello_first_above_oldest": first > oldest */
	RD_SYNC_CTL_ERROR_COUNT,
};

/* rd_sync_ctl_error_name - the short name above ("hello_len", ...), or "unknown". */
RD_EXPORT const char *rd_sync_ctl_error_name(int error);

/*
 * One ACK/NACK record: of the DATA `sender` sent, every sequence number up
 * to `cumulative` arrived, so did cumulative + 1 + i for each set bit i of
 * `bitmap`, and `top` (>= cumulative) is the highest seen. The record's
 * reserved word (sent 0) is not checked, nor is the prefix's.
 */
struct rd_sync_ack_rec {
	uint32_t sender;
	uint64_t cumulative;
	uint64_t top;
	uint64_t bitmap;
};

/* What rd_sync_ctl_decode learned about a control payload. */
struct rd_sync_ctl {
	uint8_t type;    /* the type decoded (as passed in) */
	int error;       /* enum rd_sync_ctl_error: RD_SYNC_CTL_OK, or the refusal */
	int stat;        /* enum rd_sync_stat: RD_SYNC_STAT_OPENED, or the channel's reason */
	size_t offset;   /* payload byte where the refusal was found (0 when accepted) */
	size_t nrecs;    /* ACK/NACK: records (each checked); 0 for HELLO */
	uint64_t next;   /* HELLO: next DATA sequence number the sender will use (> 0) */
	uint64_t oldest; /* HELLO: oldest DATA it still holds for resending (<= next) */
	uint64_t first;  /* HELLO: first DATA of the sender's incarnation (<= oldest); 0: unknown */
};

/*
 * Callback receiving each record of an accepted ACK/NACK, in payload
 * order. `rec` is valid only during the call. Return 0 to continue; any
 * other value stops the walk and is returned by rd_sync_ctl_decode.
 */
typedef int (*rd_sync_ack_fn)(void *user, const struct rd_sync_ack_rec *rec);

/*
 * rd_sync_ctl_decode - check and decode the payload of a control envelope
 * of `type` (the opened plaintext of rd_sync_env_open), applying exactly
 * the rules a channel applies before acting on one:
 *
 *   ACK, NACK  at least RD_SYNC_ACK_HDR_LEN bytes (else ACK_SHORT); the
 *              length is 4 + count * RD_SYNC_ACK_REC_LEN (else ACK_COUNT);
 *              every record has cumulative <= top (else ACK_CUM_ABOVE_TOP,
 *              offset of that record's cumulative). Count 0 is accepted.
 *   HELLO      RD_SYNC_HELLO_LEN or RD_SYNC_HELLO_V0_LEN bytes (else
 *              HELLO_LEN); next != 0 (else HELLO_NEXT_ZERO, offset 0);
 *              oldest <= next (else HELLO_OLDEST_ABOVE_NEXT, offset 8);
 *              oldest != 0 (else HELLO_OLDEST_ZERO, offset 8: DATA
 *              numbers start at 1); with 24 bytes, first != 0 (else
 *              HELLO_FIRST_ZERO, offset 16) and first <= oldest (else
 *              HELLO_FIRST_ABOVE_OLDEST, offset 16). 16 bytes: first 0.
 *   other      BADTYPE.
 *
 * The whole payload is checked first: a refused payload calls fn never.
 * An accepted ACK/NACK then calls fn (may be NULL) for each record. *out is
 * always filled (its error and stat name the refusal).
 *
 * Returns 0, RD_ERR_PROTO (refused: out->error, out->stat, out->offset),
 * RD_ERR_INVAL (out NULL, or payload NULL with len > 0), or fn's non-zero
 * value. Memory: payload is only read during the call and not retained;
 * *out holds no pointer into it. Thread-safe (fn runs on the calling
 * thread).
 */
RD_EXPORT int rd_sync_ctl_decode(uint8_t type, const uint8_t *payload, size_t len,
                                 struct rd_sync_ctl *out, rd_sync_ack_fn fn, void *user);

/* ---- secure channel ------------------------------------------------ */

struct rd_sync_channel;

/* Callbacks of a channel, each called with `user` first. */
struct rd_sync_channel_callbacks {
	void *user; /* passed to every callback */
	/*
	 * send - transmit an envelope. `to` is a peer's sender id, or 0 for
	 * every peer (the multicast group, or each configured unicast peer).
	 * A timed-out DATA goes to the one peer that lacks it, or once to
	 * every peer (0) when several do; a transport that cannot address one
	 * peer may send every envelope to all. The bytes are valid only during
	 * the call. Required.
	 */
	void (*send)(void *user, uint32_t to, const uint8_t *pkt, size_t len);
	/*
	 * deliver - a DATA payload (a pfsync packet) from sender `from`,
	 * authenticated and seen for the first time. Delivered in sequence
	 * order per sender: DATA arriving ahead of a hole is held (up to
	 * hold_slots, hold_slots * mtu bytes a peer, allocated when first
	 * needed) until the hole is filled or given up (then `lost`).
	 * The bytes are valid only during the call. Optional: without it,
	 * DATA is counted delivered and dropped.
	 */
	void (*deliver)(void *user, uint32_t from, uint64_t seq, const uint8_t *payload, size_t len,
	                rd_time_t now);
	/*
	 * lost - we miss DATA `peer` sent that cannot be recovered any more
	 * (it left our window, or the peer no longer holds it), or `peer` is
	 * new to us (what it sent before is unknown): what the payloads
	 * carried must be recovered some other way (the carry asks its engine
	 * for a repair bulk update). DATA of ours a peer misses for good
	 * (resends exhausted, resend buffer full) is counted (GAVEUP,
	 * EVICTED) and announced by a HELLO; that peer's channel then calls
	 * its own `lost`. Optional.
	 */
	void (*lost)(void *user, uint32_t peer, rd_time_t now);
};

struct rd_sync_channel_config {
	uint32_t sender_id; /* this node's id (non-zero; use the pfsync creatorid) */
	/*
	 * First sequence number of both spaces. Must be greater than any a
	 * previous incarnation used under the same keys, or peers refuse the
	 * messages as replays until the numbers pass the old ones: syncd uses
	 * the realtime clock in ns. 0 means 1 (no message is numbered 0).
	 * HELLO carries it as `first`: a peer that knew an earlier incarnation
	 * of this sender id starts our stream afresh instead of counting the
	 * gap as lost.
	 */
	uint64_t seq_start;
	const struct rd_sync_key *keys; /* copied; 1..RD_SYNC_MAX_KEYS */
	size_t nkeys;
	uint32_t send_key_id;     /* which key seals (must be in keys) */
	size_t mtu;               /* largest envelope (UDP payload); 0: 1472; peers must not
	                           * use a larger one (held DATA is mtu a slot) */
	size_t resend_slots;      /* unacknowledged DATA kept; 0: 1024 */
	size_t max_peers;         /* 0: 16; when full, silent peers (see peer_timeout) leave
	                           * it to a new sender (a member restarted under a new id) */
	size_t hold_slots;        /* DATA held per peer for in-order delivery; 0: 256 */
	rd_time_t ack_delay;      /* ack at most this long after DATA; 0: 5 ms */
	unsigned ack_every;       /* or after this many DATA; 0: 16 */
	rd_time_t rto;            /* resend unacknowledged DATA after at least; 0: 100 ms;
	                           * more while a live peer's measured round trip says so
	                           * (srtt + 4 rttvar as TCP's, at most 1 s) */
	unsigned max_tries;       /* timed resends before giving up; 0: 10 */
	rd_time_t hello_interval; /* 0: 1 s */
	rd_time_t peer_timeout;   /* a silent peer is not waited for; 0: 5 s */
	struct rd_sync_channel_callbacks cb;
	const struct rd_mem *mem; /* NULL: the C library's */
	struct rd_random random;  /* nonces; fn NULL: libsodium */
	struct rd_log log;        /* fn NULL: silent */
};

/*
 * rd_sync_channel_config_default - fill *cfg with the defaults: the values
 * documented above (mtu 1472, resend_slots 1024, max_peers 16, hold_slots
 * 256, ack_delay 5 ms, ack_every 16, rto 100 ms, max_tries 10,
 * hello_interval 1 s, peer_timeout 5 s), seq_start 1, no keys, no
 * callbacks, the C library's memory, libsodium's randomness, no log. The
 * caller then sets at least sender_id, keys, nkeys, send_key_id and
 * cb.send (and seq_start: see above). A zero-filled config still works
 * (0 means the default). Thread-safe.
 */
RD_EXPORT void rd_sync_channel_config_default(struct rd_sync_channel_config *cfg);

/*
 * rd_sync_channel_new - create a channel. The first call to
 * rd_sync_channel_handle_expiry sends a HELLO. AES-256-GCM keys have their
 * key schedule expanded here, once (the channel's seals and opens reuse
 * it). Returns 0 and *out, RD_ERR_INVAL (no keys, unknown send key or
 * aead, sender_id 0, mtu below 128 or above 65507, no send callback,
 * seq_start >= 2^63 with an AES-GCM key), RD_ERR_NOTSUP (an AES-GCM key
 * on a machine without AES-NI) or RD_ERR_NOMEM. Free with
 * rd_sync_channel_free.
 */
RD_EXPORT int rd_sync_channel_new(const struct rd_sync_channel_config *cfg,
                                  struct rd_sync_channel **out);

/* rd_sync_channel_free - free a channel and wipe its keys. NULL: no-op. */
RD_EXPORT void rd_sync_channel_free(struct rd_sync_channel *ch);

/*
 * rd_sync_channel_payload_max - the largest DATA payload: mtu minus
 * RD_SYNC_ENV_OVERHEAD. Size pfsync packets with it.
 */
RD_EXPORT size_t rd_sync_channel_payload_max(const struct rd_sync_channel *ch);

/*
 * rd_sync_channel_send - seal payload as the next DATA envelope, send it to
 * every peer and keep it for resending until each live peer acknowledged
 * it. Returns the sequence number used (> 0), RD_ERR_NOSPC (payload above
 * payload_max) or RD_ERR_INVAL. When the resend buffer is full the oldest
 * entry is dropped (counted EVICTED, `lost` called for peers missing it).
 */
RD_EXPORT int64_t rd_sync_channel_send(struct rd_sync_channel *ch, const uint8_t *payload,
                                       size_t len, rd_time_t now);

/*
 * rd_sync_channel_input - process one received envelope. DATA: delivered
 * once, acknowledged (a gap triggers a NACK at once). ACK/NACK: frees
 * acknowledged DATA; NACK resends the holes. HELLO: the peer is alive, its
 * window starts or its lost tail is requested. Refusals change nothing and
 * are counted. Returns 0, or the refusal as rd_sync_env_open's codes,
 * RD_ERR_REPLAY (replayed, too old or our own) and RD_ERR_AGAIN (DATA of a
 * known peer too far ahead to tell its restart from a loss before its next
 * HELLO: RD_SYNC_STAT_AHEAD).
 */
RD_EXPORT int rd_sync_channel_input(struct rd_sync_channel *ch, const uint8_t *pkt, size_t len,
                                    rd_time_t now);

/*
 * Opening on another thread. Opening an envelope (the AEAD's decryption
 * and tag check) is a large part of a secure receiver's cost (28-33% of a
 * 10^6-state bulk receiver's CPU samples with AES-256-GCM, bench/README.md)
 * and needs none of the channel's state. An opener holds copies of a channel's keys (AES-GCM
 * schedules expanded once) and opens envelopes on any thread; the channel
 * then takes each result with rd_sync_channel_input_opened, which does all
 * that rd_sync_channel_input does after opening (replay check, window,
 * delivery, acknowledgements) and counts a refusal the opener found. A
 * receiver so opens on one core while it imports on another, and gets
 * the same effects and counters as from rd_sync_channel_input.
 */
struct rd_sync_opener;

/* One envelope as rd_sync_opener_open left it. */
struct rd_sync_opened {
	struct rd_sync_env_hdr hdr; /* the header (when rc is 0) */
	int rc;                     /* 0: opened; < 0: refused, rd_sync_env_open's codes */
	int reason;                 /* refused: the enum rd_sync_stat counter it goes to */
	const uint8_t *data;        /* opened: the payload, in the caller's out buffer */
	size_t len;                 /* opened: the payload's length */
};

/*
 * rd_sync_opener_new - an opener with copies of ch's keys as they are now.
 * Make a new one after rd_sync_channel_set_keys: the channel refuses what
 * an older opener opened under a key it no longer holds (UNKNOWNKEY).
 * Returns 0 and *out, RD_ERR_INVAL or RD_ERR_NOMEM. Memory from ch's
 * allocator; free with rd_sync_opener_free before ch. Call on the
 * channel's thread.
 */
RD_EXPORT int rd_sync_opener_new(const struct rd_sync_channel *ch, struct rd_sync_opener **out);

/* rd_sync_opener_free - free an opener and wipe its keys. NULL: no-op. */
RD_EXPORT void rd_sync_opener_free(struct rd_sync_opener *op);

/*
 * rd_sync_opener_open - open one received envelope into out (cap >= len)
 * and describe it in *res: opened (res->rc 0, res->data = out) or refused
 * (res->rc and res->reason as rd_sync_env_open's; counted only when res
 * reaches rd_sync_channel_input_opened). Returns 0 (*res filled either
 * way), RD_ERR_NOSPC (cap < len) or RD_ERR_INVAL (NULL argument), with
 * *res then unusable. Thread-safe: the opener is not changed, and any
 * number of threads may open with it at once.
 */
RD_EXPORT int rd_sync_opener_open(const struct rd_sync_opener *op, const uint8_t *pkt, size_t len,
                                  uint8_t *out, size_t cap, struct rd_sync_opened *res);

/*
 * rd_sync_channel_input_opened - rd_sync_channel_input for an envelope an
 * opener of this channel opened: res as rd_sync_opener_open filled it (its
 * payload still in place). A refusal the opener found is counted here, as
 * is an envelope under a key the channel no longer holds. Returns what
 * rd_sync_channel_input returns, or RD_ERR_INVAL for a res no opener could
 * have made (nothing counted). The channel's thread; res->data must stay
 * valid for the call only.
 */
RD_EXPORT int rd_sync_channel_input_opened(struct rd_sync_channel *ch,
                                           const struct rd_sync_opened *res, rd_time_t now);

/*
 * rd_sync_channel_expiry - when the channel next needs
 * rd_sync_channel_handle_expiry (an ack, resend or hello is due), or
 * RD_TIME_NEVER.
 */
RD_EXPORT rd_time_t rd_sync_channel_expiry(const struct rd_sync_channel *ch);

/* rd_sync_channel_handle_expiry - do what is due at `now`: acks, resends, hellos. */
RD_EXPORT void rd_sync_channel_handle_expiry(struct rd_sync_channel *ch, rd_time_t now);

/*
 * rd_sync_channel_set_keys - replace the key set (rotation): new envelopes
 * are sealed with send_key_id; envelopes under any key in the set open.
 * The keys may have different AEADs (a move from XChaCha20-Poly1305 to
 * AES-256-GCM is a rotation to a new key id). Returns 0, RD_ERR_INVAL
 * or RD_ERR_NOTSUP (as rd_sync_channel_new; nothing changed).
 */
RD_EXPORT int rd_sync_channel_set_keys(struct rd_sync_channel *ch, const struct rd_sync_key *keys,
                                       size_t nkeys, uint32_t send_key_id);

/*
 * rd_sync_channel_stats - copy the channel's counters (since
 * rd_sync_channel_new, indexed by enum rd_sync_stat, named by
 * rd_sync_stat_name) into out.
 */
RD_EXPORT void rd_sync_channel_stats(const struct rd_sync_channel *ch,
                                     uint64_t out[RD_SYNC_STAT_COUNT]);

/*
 * rd_sync_channel_room - DATA envelopes that can be sent now without more
 * than min(resend_slots, hold_slots) unacknowledged (beyond that, the
 * resend buffer evicts or a receiver's hold buffer gives up): use it to
 * pace bulk transfers to what the peers acknowledge.
 */
RD_EXPORT size_t rd_sync_channel_room(const struct rd_sync_channel *ch);

/*
 * rd_sync_channel_peers - the live peers (heard within peer_timeout, and
 * their HELLO seen): up to max sender ids into ids, in ascending order.
 * Returns how many. The carry picks a bulk answerer among them.
 */
RD_EXPORT size_t rd_sync_channel_peers(const struct rd_sync_channel *ch, rd_time_t now,
                                       uint32_t *ids, size_t max);

/*
 * rd_sync_channel_caught_up - true when every live peer sent a HELLO that
 * arrived at or after `since`, and everything that peer sent before that
 * HELLO was delivered (or given up, which `lost` reported): what any peer
 * sent before `since` has reached us. A bulk answer waits for it, so that
 * a state in flight to us when a member asked is in our answer.
 */
RD_EXPORT bool rd_sync_channel_caught_up(const struct rd_sync_channel *ch, rd_time_t since,
                                         rd_time_t now);

/* rd_sync_channel_hello_soon: at most one HELLO in this time, however often asked. */
#define RD_SYNC_HELLO_SOON_GAP (10 * RD_MSEC)

/*
 * rd_sync_channel_hello_soon - our next HELLO goes at the next
 * rd_sync_channel_handle_expiry at or after `now` (rd_sync_channel_expiry
 * says when), not a hello interval after the last one; no sooner than
 * RD_SYNC_HELLO_SOON_GAP after the last. A member that hears another's bulk
 * request calls it: the answerer waits for a HELLO from every live member
 * after the request (rd_sync_channel_caught_up), and without it waits up to
 * a hello interval. Not thread-safe: the channel's thread.
 */
RD_EXPORT void rd_sync_channel_hello_soon(struct rd_sync_channel *ch, rd_time_t now);

/*
 * rd_sync_channel_caught_up_except - rd_sync_channel_caught_up, not waiting
 * for peer `except` (0: none): the peer whose DATA delivered at `since`
 * (a bulk request) makes the wait. Delivery is in order, so all it sent
 * before that DATA has been delivered already, and its next HELLO (up to
 * hello_interval away) would tell nothing new. Same ownership and
 * threading as rd_sync_channel_caught_up.
 */
RD_EXPORT bool rd_sync_channel_caught_up_except(const struct rd_sync_channel *ch, rd_time_t since,
                                                rd_time_t now, uint32_t except);

/* rd_sync_channel_unacked - DATA envelopes waiting for acknowledgement. */
RD_EXPORT size_t rd_sync_channel_unacked(const struct rd_sync_channel *ch);

#ifdef __cplusplus
}
#endif

#endif
