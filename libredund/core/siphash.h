/*
 * SipHash-1-3: the keyed hash of the library's hash tables (state table,
 * source nodes, the sync engine's entry index). Internal; not installed.
 *
 * Why this hash. The tables are indexed by values a remote host chooses
 * (addresses, ports, state ids), so the index needs a keyed hash whose key
 * an attacker cannot learn from outside: otherwise it can send packets
 * that all land in one chunk (HashDoS). SipHash (Aumasson and Bernstein,
 * "SipHash: a fast short-input PRF", 2012) is a PRF built for exactly this
 * use. SipHash-c-d does c rounds per 8-byte message word and d
 * finalisation rounds; the paper's SipHash-2-4 carries the margin of a MAC.
 * A hash table never shows its hash values (ours choose chunks in memory;
 * nothing prints or sends them), and for that use SipHash-1-3 is what
 * deployed tables run: Rust's std HashMap (since rust-lang/rust#29754,
 * where Aumasson wrote he "would be very surprised if SipHash-1-3
 * introduced weaknesses for hash tables"), CPython's str/bytes hash since
 * 3.11 (sys.hash_info: siphash13), and Linux's hsiphash() on 64-bit
 * machines (lib/siphash.c: "on 64-bit, we make HalfSipHash1-3 actually be
 * SipHash1-3"). Linux's conntrack itself hashes tuples with siphash()
 * (2-4); HalfSipHash, 32-bit words, only pays on 32-bit CPUs. No attack
 * that finds colliding inputs for SipHash-1-3 under a secret key is
 * published; the known results are distinguishers on its outputs, which
 * an attacker does not see here.
 *
 * What was rejected: CRC32C or a few AES-NI rounds seeded with a secret are
 * fast but not PRFs: CRC is linear, so colliding inputs follow from the
 * algebra whatever the seed, and one or two AES rounds have known
 * differentials that give collisions without the key. SipHash-2-4 from
 * libsodium (crypto_shorthash) stays where outputs are visible.
 *
 * Cost (bench/hash_bench.c, a loaded 2-vCPU VM): a 16-byte IPv4 state key
 * in about 11 ns against 16 ns for libsodium's crypto_shorthash_siphash24
 * call (3 compression and 3 finalisation rounds instead of 6 + 4). In a
 * lookup it is worth more than that: inline, with the length known, the
 * hash is about a hundred instructions the CPU overlaps with the previous
 * lookup's cache misses instead of a call it waits on.
 *
 * Written from the paper's specification (section 2), with the 1-3 round
 * counts; the test vectors in tests/core/test_siphash.c say where they
 * come from.
 */
#ifndef RD_CORE_SIPHASH_H
#define RD_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "redund/common.h"

/* A 128-bit SipHash key as its two little-endian words. */
struct rd_sipkey {
	uint64_t k0, k1;
};

static inline uint64_t rd_sip_rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* The 8 bytes at p as a little-endian word, whatever the host's order. */
static inline uint64_t rd_sip_le64(const uint8_t *p)
{
	uint64_t w;
	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* The key from 16 bytes (e.g. from rd_random_buf), as the paper reads them. */
static inline void rd_sipkey_from_bytes(struct rd_sipkey *k, const uint8_t b[16])
{
	k->k0 = rd_sip_le64(b);
	k->k1 = rd_sip_le64(b + 8);
}

/*
 * A fresh secret key from r (NULL: the system's random source). The key is
 * what keeps the index's chains short against chosen keys: the stack copy
 * is wiped.
 */
static inline void rd_sipkey_random(struct rd_sipkey *k, const struct rd_random *r)
{
	volatile uint8_t b[16];

	rd_random_buf(r, (uint8_t *)b, sizeof(b));
	rd_sipkey_from_bytes(k, (const uint8_t *)b);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = 0;
}

struct rd_sipstate {
	uint64_t v0, v1, v2, v3;
};

static inline void rd_sip_round(struct rd_sipstate *s)
{
	s->v0 += s->v1;
	s->v1 = rd_sip_rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rd_sip_rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rd_sip_rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rd_sip_rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rd_sip_rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rd_sip_rotl(s->v2, 32);
}

static inline void rd_sip_init(struct rd_sipstate *s, const struct rd_sipkey *k)
{
	s->v0 = k->k0 ^ 0x736f6d6570736575ULL; /* "somepseudorandomlygeneratedbytes" */
	s->v1 = k->k1 ^ 0x646f72616e646f6dULL;
	s->v2 = k->k0 ^ 0x6c7967656e657261ULL;
	s->v3 = k->k1 ^ 0x7465646279746573ULL;
}

/* One message word, c = 1 round. */
static inline void rd_sip_word(struct rd_sipstate *s, uint64_t m)
{
	s->v3 ^= m;
	rd_sip_round(s);
	s->v0 ^= m;
}

/* The last word b (length byte on top), then d = 3 finalisation rounds. */
static inline uint64_t rd_sip_final(struct rd_sipstate *s, uint64_t b)
{
	rd_sip_word(s, b);
	s->v2 ^= 0xff;
	rd_sip_round(s);
	rd_sip_round(s);
	rd_sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

/*
 * rd_siphash13 - SipHash-1-3 of len bytes at msg under key k (64-bit output,
 * the paper's byte order). Inline: with a constant len the compiler drops
 * the loop and the tail switch. Pure function; thread-safe.
 */
static inline uint64_t rd_siphash13(const struct rd_sipkey *k, const void *msg, size_t len)
{
	const uint8_t *p = msg;
	struct rd_sipstate s;
	rd_sip_init(&s, k);
	size_t n = len & ~(size_t)7;
	for (size_t i = 0; i < n; i += 8)
		rd_sip_word(&s, rd_sip_le64(p + i));
	uint64_t b = (uint64_t)len << 56;
	switch (len & 7) {
	case 7:
		b |= (uint64_t)p[n + 6] << 48;
		/* fall through */
	case 6:
		b |= (uint64_t)p[n + 5] << 40;
		/* fall through */
	case 5:
		b |= (uint64_t)p[n + 4] << 32;
		/* fall through */
	case 4:
		b |= (uint64_t)p[n + 3] << 24;
		/* fall through */
	case 3:
		b |= (uint64_t)p[n + 2] << 16;
		/* fall through */
	case 2:
		b |= (uint64_t)p[n + 1] << 8;
		/* fall through */
	case 1:
		b |= (uint64_t)p[n];
		break;
	default:
		break;
	}
	return rd_sip_final(&s, b);
}

/*
 * rd_siphash13_2w - SipHash-1-3 of the 16-byte message whose little-endian
 * words are w0, w1 (equal to rd_siphash13 of those bytes): the hot path's
 * form when a caller packs a key into two words itself. Thread-safe.
 */
static inline uint64_t rd_siphash13_2w(const struct rd_sipkey *k, uint64_t w0, uint64_t w1)
{
	struct rd_sipstate s;
	rd_sip_init(&s, k);
	rd_sip_word(&s, w0);
	rd_sip_word(&s, w1);
	return rd_sip_final(&s, (uint64_t)16 << 56);
}

/*
 * rd_siphash13_w32 - SipHash-1-3 of the 12-byte message w0 || w1 (little
 * endian), as rd_siphash13 would hash those bytes. Thread-safe.
 */
static inline uint64_t rd_siphash13_w32(const struct rd_sipkey *k, uint64_t w0, uint32_t w1)
{
	struct rd_sipstate s;
	rd_sip_init(&s, k);
	rd_sip_word(&s, w0);
	return rd_sip_final(&s, (uint64_t)12 << 56 | w1);
}

#endif
