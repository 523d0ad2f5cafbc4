/*
 * libredund — the state extension: what a state carries in secure mode
 * besides pfsync's fields, for an external table that has more than pf
 * (Linux conntrack's mark, labels, status bits and helper name).
 *
 * Where it travels. Inside a secure DATA payload (redund/sync.h), after
 * the pfsync packet: the packet's header says how long it is (its `len`),
 * and a node that does not know the extension reads the packet and
 * ignores what follows (rd_pfsync_check does, and so did every syncd
 * before the extension). Plain mode (raw pfsync) never carries it: the
 * OpenBSD packet stays byte for byte OpenBSD's.
 *
 * The section (integers big-endian, as pfsync's):
 *
 *   off len
 *     0   2  magic 'R' 'X' (0x52 0x58)
 *     2   1  version, RD_SYNC_EXT_VERSION (1); a section of another
 *            version is ignored whole (a later format for later nodes)
 *     3   1  reserved, sent 0, not read
 *     4   .  records to the end of the payload, each:
 *              0  8  state id
 *              8  4  creatorid
 *             12  2  n: bytes of attributes that follow
 *             14  n  attributes, each: type (1), length (1), value
 *
 * Attributes (a record has each at most once; unknown types are skipped
 * by their length, so a later version may add some without a new
 * section version):
 *
 *   1 mark     4 bytes, the conntrack mark
 *   2 labels  16 bytes, the conntrack labels (bit 0 first byte's lowest)
 *   3 status   4 bytes, conntrack status bits
 *   4 helper   1..15 bytes, the helper's name (no NUL)
 *   5 expect   n * 62 bytes (n from 0 to RD_SYNC_EXT_EXPECT_MAX): the
 *              expectations the state's helper made, the whole set (0:
 *              none left), each:
 *                0  1  address family (pfsync's: 2 inet, 24 inet6)
 *                1  1  IP protocol
 *                2  2  flags (the kernel's NF_CT_EXPECT_*)
 *                4  4  seconds left
 *                8 16  source address (IPv4 in the first 4 bytes)
 *               24 16  destination address
 *               40  2  source port
 *               42  2  destination port
 *               44 16  source address mask
 *               60  2  source port mask (0: any port)
 *
 * A record whose framing overruns the section, or a known attribute of a
 * wrong length, a repeated one, a helper name with a NUL or more than
 * RD_SYNC_EXT_EXPECT_MAX expectations, refuses the
 * section whole (rd_sync_ext_decode): such a section was not written by
 * this code.
 *
 * All functions are pure: thread-safe, no allocation.
 */
#ifndef REDUND_SYNC_EXT_H
#define REDUND_SYNC_EXT_H

#include "redund/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RD_SYNC_EXT_VERSION    1
#define RD_SYNC_EXT_HDR_LEN    4  /* magic, version, reserved */
#define RD_SYNC_EXT_REC_LEN    14 /* a record's id, creatorid, n */
#define RD_SYNC_EXT_LABELS_LEN 16
#define RD_SYNC_EXT_HELPER_MAX 15 /* the kernel's name, 16 with its NUL */
#define RD_SYNC_EXT_EXPECT_MAX 4  /* expectations a record carries */
#define RD_SYNC_EXT_EXPECT_LEN 62 /* one expectation on the wire */
/* The longest record: every attribute of this version, helper and expectations full. */
#define RD_SYNC_EXT_REC_MAX                                                                        \
	(RD_SYNC_EXT_REC_LEN + 2 + 4 + 2 + RD_SYNC_EXT_LABELS_LEN + 2 + 4 + 2 +                    \
	 RD_SYNC_EXT_HELPER_MAX + 2 + RD_SYNC_EXT_EXPECT_MAX * RD_SYNC_EXT_EXPECT_LEN)

/* Attribute types (the wire's numbers). */
enum rd_sync_ext_attr {
	RD_SYNC_EXT_A_MARK = 1,
	RD_SYNC_EXT_A_LABELS = 2,
	RD_SYNC_EXT_A_STATUS = 3,
	RD_SYNC_EXT_A_HELPER = 4,
	RD_SYNC_EXT_A_EXPECT = 5,
};

/* Which fields of struct rd_sync_ext are present (its `have`). */
#define RD_SYNC_EXT_MARK   (1u << 0)
#define RD_SYNC_EXT_LABELS (1u << 1)
#define RD_SYNC_EXT_STATUS (1u << 2)
#define RD_SYNC_EXT_HELPER (1u << 3)
#define RD_SYNC_EXT_EXPECT (1u << 4) /* the set of expectations (nexpect may be 0) */

/* An expectation: a connection the state's helper lets in as RELATED. */
struct rd_sync_ext_expect {
	uint8_t af; /* RD_AF_INET, RD_AF_INET6 */
	uint8_t proto;
	uint16_t flags;
	uint32_t timeout; /* seconds left */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t src_mask[16];
	uint16_t sport_mask;
};

/* A state's extension: the fields named in `have`, the others 0. */
struct rd_sync_ext {
	uint32_t have; /* RD_SYNC_EXT_* */
	uint32_t mark;
	uint32_t status;
	uint8_t labels[RD_SYNC_EXT_LABELS_LEN];
	char helper[RD_SYNC_EXT_HELPER_MAX + 1]; /* NUL-terminated, non-empty when present */
	uint8_t nexpect;                         /* with RD_SYNC_EXT_EXPECT */
	struct rd_sync_ext_expect expect[RD_SYNC_EXT_EXPECT_MAX];
};

/*
 * rd_sync_ext_equal - true when a and b have the same fields with the
 * same values (fields not present are not compared; expectations by
 * everything but their seconds left, which run down).
 */
RD_EXPORT bool rd_sync_ext_equal(const struct rd_sync_ext *a, const struct rd_sync_ext *b);

/*
 * rd_sync_ext_record_len - the bytes x's record takes (RD_SYNC_EXT_REC_LEN
 * plus its attributes), at most RD_SYNC_EXT_REC_MAX. A helper name longer
 * than RD_SYNC_EXT_HELPER_MAX counts as its first RD_SYNC_EXT_HELPER_MAX.
 */
RD_EXPORT size_t rd_sync_ext_record_len(const struct rd_sync_ext *x);

/*
 * rd_sync_ext_begin - write the section's header into buf. Returns
 * RD_SYNC_EXT_HDR_LEN, or RD_ERR_NOSPC when cap is smaller.
 */
RD_EXPORT int rd_sync_ext_begin(uint8_t *buf, size_t cap);

/*
 * rd_sync_ext_put - write the record of state (id, creatorid) with the
 * present fields of *x into buf (a helper name is cut to
 * RD_SYNC_EXT_HELPER_MAX; an empty one is left out; nexpect above
 * RD_SYNC_EXT_EXPECT_MAX counts as the maximum). Returns the bytes
 * written (rd_sync_ext_record_len), RD_ERR_NOSPC when they do not fit in
 * cap (nothing written) or RD_ERR_INVAL (buf or x NULL).
 */
RD_EXPORT int rd_sync_ext_put(uint8_t *buf, size_t cap, uint64_t id, uint32_t creatorid,
                              const struct rd_sync_ext *x);

/* Called by rd_sync_ext_decode for each record; return nonzero to stop. */
typedef int (*rd_sync_ext_fn)(void *user, uint64_t id, uint32_t creatorid,
                              const struct rd_sync_ext *x);

/*
 * rd_sync_ext_decode - check the section sec[0..len) whole, then call fn
 * (if not NULL) for each record in order, x valid during the call.
 * Returns the number of records (>= 0; fn's nonzero value stops the walk
 * and is returned instead), RD_ERR_PROTO (no section magic, or framing
 * refused as the header says: fn is never called), or RD_ERR_STATE (a
 * section of another version: ignored, fn never called).
 */
RD_EXPORT int rd_sync_ext_decode(const uint8_t *sec, size_t len, rd_sync_ext_fn fn, void *user);

#ifdef __cplusplus
}
#endif

#endif
