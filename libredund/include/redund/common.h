/*
 * libredund — common types: time, errors, memory, logging, randomness,
 * addresses and the Internet checksum.
 *
 * Conventions for every libredund header:
 *  - Functions return 0 (RD_OK) or a negative RD_ERR_* code unless stated.
 *  - Time is an rd_time_t: nanoseconds from a caller-chosen monotonic origin.
 *    The library never reads a clock.
 *  - The library has no global mutable state. An object (vhost, table,
 *    engine) is not thread-safe: use it from one thread at a time. Distinct
 *    objects may be used from distinct threads. Pure functions (codecs,
 *    checksums, address helpers) are thread-safe.
 *  - Memory comes from the rd_mem allocator given at creation, or the C
 *    library's if NULL. The creator of an object owns it and frees it with
 *    the matching _free (or, for I/O handles, _close) function.
 *  - No function blocks.
 *
 * API grammar: every module spells the same things the same way.
 *  - Configuration: struct rd_<obj>_config, filled by
 *    rd_<obj>_config_default() (every field its default), then changed by
 *    the caller. A zero-filled config keeps working where it did (0 means
 *    the default), but the function is the documented way.
 *  - Callbacks: struct rd_<obj>_callbacks, first member `void *user`
 *    (passed to each callback), held in the config as the member `cb`.
 *  - Timers: rd_time_t rd_<obj>_expiry(const obj *) is the next instant the
 *    object needs rd_<obj>_handle_expiry(obj *, now), RD_TIME_NEVER when
 *    none. Call handle_expiry at (or after) that time; early it does nothing.
 *  - Statistics: counters indexed by enum rd_<mod>_stat { RD_<MOD>_STAT_x,
 *    ..., RD_<MOD>_STAT_COUNT }, named by rd_<mod>_stat_name(int), copied
 *    out by rd_<obj>_stats(obj, uint64_t out[RD_<MOD>_STAT_COUNT]) into an
 *    array the caller owns. Gauges (current counts) are separate getters.
 *  - Randomness: a `struct rd_random random` member of the config (fn
 *    NULL: libsodium).
 *  - Sentinels: enums end in _COUNT (never _MAX); RD_TIME_NEVER for "no
 *    deadline"; NULL for "none"; errors are negative RD_ERR_* codes.
 *  - Lifetime: rd_<obj>_new(const struct rd_<obj>_config *, ..., obj **out)
 *    returns 0 or RD_ERR_*; rd_<obj>_free(obj) accepts NULL.
 *  - Every public function is marked RD_EXPORT and documented: what it
 *    does, what it returns, who owns memory, whether it is thread-safe.
 */
#ifndef REDUND_COMMON_H
#define REDUND_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * RD_EXPORT marks a function of the public API: the library is built with
 * hidden symbol visibility, so only marked functions are in libredund.so.
 */
#if defined(__GNUC__) && !defined(RD_STATIC)
#define RD_EXPORT __attribute__((visibility("default")))
#else
#define RD_EXPORT
#endif

/* Nanoseconds from a caller-chosen monotonic origin. */
typedef uint64_t rd_time_t;

#define RD_NSEC       ((rd_time_t)1)
#define RD_USEC       ((rd_time_t)1000)
#define RD_MSEC       ((rd_time_t)1000000)
#define RD_SEC        ((rd_time_t)1000000000)
#define RD_TIME_NEVER UINT64_MAX

/*
 * Error codes: every function that can fail returns one of these (negative).
 * They lie in a range of their own, -201 and below (down to -299), so that
 * they can never be taken for a negated errno (Linux's are -1 to -133): the
 * io module (redund/io.h, redund/io_sync.h) returns -errno, the other
 * modules RD_ERR_*, and rd_strerror names both. Compare a result with the
 * names, never with numbers.
 */
enum rd_error {
	RD_OK = 0,
	RD_ERR_NOMEM = -201,  /* allocation failed */
	RD_ERR_INVAL = -202,  /* invalid argument or configuration */
	RD_ERR_PROTO = -203,  /* malformed or refused protocol input */
	RD_ERR_NOSPC = -204,  /* output buffer too small */
	RD_ERR_NOENT = -205,  /* no such entry */
	RD_ERR_EXIST = -206,  /* entry already exists */
	RD_ERR_LIMIT = -207,  /* a configured limit refused the operation */
	RD_ERR_AUTH = -208,   /* authentication failed */
	RD_ERR_STATE = -209,  /* operation not valid in the current state */
	RD_ERR_REPLAY = -210, /* replayed or looped-back input */
	RD_ERR_AGAIN = -211,  /* nothing to do now; try later */
	RD_ERR_CRYPTO = -212, /* crypto library failure */
	RD_ERR_NOTSUP = -213, /* not supported on this machine (e.g. AES-GCM without AES-NI) */
};

/*
 * rd_strerror - a static, human-readable description of err: "success" for
 * 0, the RD_ERR_* code's own text, for any other negative value the text of
 * the errno -err (as the io module returns), and "unknown error" for
 * anything else (a positive value, an errno the C library does not know).
 * The errno texts come from glibc's strerrordesc_np (glibc 2.32 and later:
 * static, untranslated, thread-safe); where the C library lacks it, an
 * errno value gets one generic text saying it is a negated errno (call
 * strerror(-err) yourself). Never strerror, whose buffer may be shared. Returns a string that lives
 * forever; never NULL. Thread-safe.
 */
RD_EXPORT const char *rd_strerror(int err);

/*
 * Allocator. All callbacks receive `user`. A NULL rd_mem pointer anywhere in
 * the API means the C library's malloc/calloc/realloc/free.
 */
struct rd_mem {
	void *user;
	void *(*malloc)(void *user, size_t size);
	void *(*calloc)(void *user, size_t n, size_t size);
	void *(*realloc)(void *user, void *ptr, size_t size);
	void (*free)(void *user, void *ptr);
};

/*
 * rd_mem_default - the C library allocator as an rd_mem. Returns a pointer
 * to a constant object. Thread-safe.
 */
RD_EXPORT const struct rd_mem *rd_mem_default(void);

/* Log levels, syslog's numbering. */
enum rd_log_level {
	RD_LOG_ERR = 3,
	RD_LOG_WARNING = 4,
	RD_LOG_NOTICE = 5,
	RD_LOG_INFO = 6,
	RD_LOG_DEBUG = 7,
};

/*
 * Logging hook. The library calls `fn` with a complete message (no trailing
 * newline) for each event at or below `level`. NULL fn: no logging. The
 * message buffer is only valid during the call.
 */
struct rd_log {
	void (*fn)(void *user, int level, const char *msg);
	void *user;
	int level;
};

/*
 * Random bytes. The library asks its caller for randomness through this hook
 * (so a simulation can be deterministic); a NULL fn means libsodium's
 * randombytes_buf(), which never blocks once libsodium is initialised.
 */
struct rd_random {
	void (*fn)(void *user, void *buf, size_t len);
	void *user;
};

/*
 * rd_init - initialise the library's dependencies (libsodium). Call once
 * before anything else; calling again is harmless. Returns 0 or
 * RD_ERR_CRYPTO. Thread-safe (libsodium's sodium_init is).
 */
RD_EXPORT int rd_init(void);

/*
 * rd_random_buf - fill buf with len random bytes through `r` (or libsodium
 * when r or r->fn is NULL). Never fails, never blocks.
 */
RD_EXPORT void rd_random_buf(const struct rd_random *r, void *buf, size_t len);

/* Address families, libredund's own numbering (not the host's AF_*). */
enum rd_af {
	RD_AF_UNSPEC = 0,
	RD_AF_INET = 4,
	RD_AF_INET6 = 6,
};

/* An IPv4 or IPv6 address in network byte order. */
struct rd_addr {
	uint8_t af; /* enum rd_af */
	uint8_t pad[3];
	union {
		uint8_t v4[4];
		uint8_t v6[16];
		uint32_t w[4];
	} u;
};

/* Longest string rd_addr_format writes, NUL included. */
#define RD_ADDR_STRLEN 46

/*
 * rd_addr_parse - parse a dotted-quad IPv4 or a textual IPv6 address into
 * *out. Returns 0 or RD_ERR_INVAL. Thread-safe.
 */
RD_EXPORT int rd_addr_parse(const char *s, struct rd_addr *out);

/*
 * rd_addr_format - write a's text form into buf (at least RD_ADDR_STRLEN
 * bytes). Returns buf. Thread-safe.
 */
RD_EXPORT char *rd_addr_format(const struct rd_addr *a, char *buf, size_t len);

/*
 * rd_addr_cmp - order two addresses: by family, then bytewise (which is
 * numeric order for network-order addresses). Returns <0, 0 or >0.
 */
RD_EXPORT int rd_addr_cmp(const struct rd_addr *a, const struct rd_addr *b);

/* rd_addr_v4 - an IPv4 rd_addr from a host-order 32-bit value. */
RD_EXPORT struct rd_addr rd_addr_v4(uint32_t host_order);

/*
 * rd_addr_prefix_match - whether `a` lies in the network net/plen: its first
 * plen bits equal net's (net's bits past plen are ignored, so net need not
 * be a clean network address). plen 0 matches every address of net's
 * family; a plen beyond the family's width (32 or 128 bits) counts as the
 * whole address. Returns false when a and net are of different families or
 * of neither RD_AF_INET nor RD_AF_INET6. Bytes past the family's width
 * (v6[4..15] of an IPv4 address) are never read. Allocates nothing.
 * Thread-safe.
 */
RD_EXPORT bool rd_addr_prefix_match(const struct rd_addr *net, unsigned plen,
                                    const struct rd_addr *a);

/*
 * rd_addr_netmask - the netmask of family af with plen leading one bits into
 * *out (its bytes past the family's width zero); a plen beyond the family's
 * width (32 or 128 bits) is taken as the width. Combine it bytewise with
 * addresses, e.g. (net & mask) | (host & ~mask) as pf's PF_POOLMASK.
 * Returns 0, or RD_ERR_INVAL (out untouched) when af is neither RD_AF_INET
 * nor RD_AF_INET6. Allocates nothing. Thread-safe.
 */
RD_EXPORT int rd_addr_netmask(uint8_t af, unsigned plen, struct rd_addr *out);

/*
 * rd_cksum - the Internet (one's-complement) checksum of len bytes. The
 * data is summed as big-endian 16-bit words; the result is a host-order
 * value to store big-endian (e.g. buf[6] = c >> 8, buf[7] = c & 0xff). A
 * buffer whose stored checksum is correct yields 0. Thread-safe.
 */
RD_EXPORT uint16_t rd_cksum(const void *data, size_t len);

/*
 * rd_cksum_add / rd_cksum_fold - incremental checksum: accumulate any number
 * of even-length chunks with rd_cksum_add (start from 0), then fold; the
 * fold returns the complemented result exactly as rd_cksum does.
 */
RD_EXPORT uint32_t rd_cksum_add(uint32_t sum, const void *data, size_t len);
RD_EXPORT uint16_t rd_cksum_fold(uint32_t sum);

#ifdef __cplusplus
}
#endif

/* rd_version() and the RD_VERSION_* macros, for every includer of common.h. */
#include "redund/version.h"

#endif
