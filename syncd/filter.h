/*
 * syncd: the filters that decide which of the kernel's connections are
 * synchronised (conntrackd's Filter section, as keywords).
 *
 * Five kinds of rule: address (a prefix), protocol, zone, mark (value and
 * mask) and state (a status bit such as assured, or a TCP state). Each rule
 * is an accept or an ignore rule; the rules of one kind share one policy
 * (conntrackd: `Protocol Accept { ... }`). An entry is synchronised when,
 * for every kind that has rules, it matches one of that kind's accept rules
 * or none of its ignore rules. The kinds are checked in a fixed order
 * (address, protocol, zone, mark, state) and the first that refuses
 * decides.
 *
 * Not thread-safe: a filter is the daemon's, used from its one thread.
 */
#ifndef SYNCD_FILTER_H
#define SYNCD_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redund/common.h"

enum sd_filter_kind {
	SD_F_ADDRESS = 0,
	SD_F_PROTOCOL,
	SD_F_ZONE,
	SD_F_MARK,
	SD_F_STATE,
	SD_F_KINDS,
};

/* A state rule names a status bit (value < SD_FILTER_TCP) or TCP state (SD_FILTER_TCP + n). */
#define SD_FILTER_TCP 0x100u

struct sd_filter_rule {
	uint8_t kind; /* enum sd_filter_kind */
	bool accept;
	union {
		struct {
			struct rd_addr addr; /* host bits cleared */
			uint8_t plen;
		} net;
		uint8_t proto;
		uint16_t zone;
		struct {
			uint32_t value, mask; /* value already masked */
		} mark;
		uint32_t state; /* a status bit number, or SD_FILTER_TCP + TCP state */
	} u;
	uint64_t matched; /* entries this rule matched when it was examined */
	char text[80];    /* the rule as a keyword line ("ignore-address 10.0.0.0/8") */
};

struct sd_filter {
	struct sd_filter_rule *rules; /* in the order given (owned) */
	size_t n;
	uint64_t not_accepted[SD_F_KINDS]; /* refused: no accept rule of the kind matched */
	uint64_t passed, ignored;          /* decisions in all */
};

/* What the filter looks at in a conntrack entry (the daemon fills it from the event). */
struct sd_filter_entry {
	uint8_t af; /* RD_AF_INET or RD_AF_INET6 */
	uint8_t naddr;
	uint8_t addr[4][16]; /* both tuples' addresses (the first 4 bytes for IPv4) */
	uint8_t proto;
	uint16_t zone;
	uint32_t mark;
	uint32_t status; /* the kernel's IPS_* bits */
	int tcp_state;   /* the kernel's TCP_CONNTRACK_*, or -1 when the event does not say */
};

/*
 * sd_filter_add - add the rules of keyword `key` ("accept-address",
 * "ignore-protocol", ...; see sd_filter_keyword) with argument `arg`, a
 * comma-separated list of values (each one rule). Returns 0, or -1 with err
 * (errlen bytes) saying what was expected; on error nothing is added.
 * Memory: the rules are f's (sd_filter_free).
 */
int sd_filter_add(struct sd_filter *f, const char *key, const char *arg, char *err, size_t errlen);

/* sd_filter_keyword - whether key is one of the ten filter keywords. */
bool sd_filter_keyword(const char *key);

/*
 * sd_filter_check_policy - the rules of each kind share one policy: 0, or
 * -1 with err naming the kind whose accept and ignore rules are mixed.
 */
int sd_filter_check_policy(const struct sd_filter *f, char *err, size_t errlen);

/*
 * sd_filter_match - the decision for entry e: true (synchronise it) or
 * false (ignore it), counted (the rules examined that matched, the kind's
 * not_accepted when it refused for lack of a match, passed or ignored). An
 * empty filter passes everything. A TCP state rule does not apply to other
 * protocols (conntrackd's `State Accept { ESTABLISHED for TCP }`): an entry
 * to which no rule of an accept kind applies passes that kind. It applies
 * to a TCP entry whose event does not carry the TCP state (the kernel
 * sends it with state changes only) and does not match it.
 */
bool sd_filter_match(struct sd_filter *f, const struct sd_filter_entry *e);

/* sd_filter_kind_name - "address", "protocol", "zone", "mark", "state". */
const char *sd_filter_kind_name(int kind);

void sd_filter_free(struct sd_filter *f);

#endif
