/*
 * syncd: the filters that decide which connections are synchronised
 * (filter.h). Parsing of the keywords' values and the matching, no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

static const char *const kind_names[SD_F_KINDS] = {
    [SD_F_ADDRESS] = "address", [SD_F_PROTOCOL] = "protocol", [SD_F_ZONE] = "zone",
    [SD_F_MARK] = "mark",       [SD_F_STATE] = "state",
};

const char *sd_filter_kind_name(int kind)
{
	return kind >= 0 && kind < SD_F_KINDS ? kind_names[kind] : "unknown";
}

static const struct {
	const char *name;
	uint8_t proto;
} protos[] = {
    {"icmp", 1}, {"tcp", 6},     {"udp", 17},   {"dccp", 33},     {"gre", 47},       {"esp", 50},
    {"ah", 51},  {"icmpv6", 58}, {"sctp", 132}, {"udplite", 136}, {"ipv6-icmp", 58},
};

/* Status bits (the kernel's IPS_*_BIT) and TCP states (TCP_CONNTRACK_*). */
static const struct {
	const char *name;
	uint32_t state;
} states[] = {
    {"expected", 0},
    {"seen-reply", 1},
    {"assured", 2},
    {"syn-sent", SD_FILTER_TCP + 1},
    {"syn-recv", SD_FILTER_TCP + 2},
    {"established", SD_FILTER_TCP + 3},
    {"fin-wait", SD_FILTER_TCP + 4},
    {"close-wait", SD_FILTER_TCP + 5},
    {"last-ack", SD_FILTER_TCP + 6},
    {"time-wait", SD_FILTER_TCP + 7},
    {"close", SD_FILTER_TCP + 8},
    {"syn-sent2", SD_FILTER_TCP + 9},
};

/* The keyword's policy and kind: 0, or -1 when it is not a filter keyword. */
static int keyword(const char *key, bool *accept, int *kind)
{
	const char *rest;

	if (strncmp(key, "accept-", 7) == 0)
		*accept = true;
	else if (strncmp(key, "ignore-", 7) == 0)
		*accept = false;
	else
		return -1;
	rest = key + 7;
	for (int k = 0; k < SD_F_KINDS; k++)
		if (strcmp(rest, kind_names[k]) == 0) {
			*kind = k;
			return 0;
		}
	return -1;
}

bool sd_filter_keyword(const char *key)
{
	bool a;
	int k;

	return keyword(key, &a, &k) == 0;
}

/* An unsigned number, decimal or 0x-hex, whole, at most max: 0 or -1. */
static int number(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtoull(s, &end, 0);
	if (*end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_prefix(char *s, struct sd_filter_rule *r)
{
	char *slash = strchr(s, '/');
	uint64_t plen;
	unsigned bits, i;

	if (slash != NULL)
		*slash = '\0';
	if (rd_addr_parse(s, &r->u.net.addr) != 0)
		return -1;
	bits = r->u.net.addr.af == RD_AF_INET ? 32 : 128;
	plen = bits;
	if (slash != NULL && number(slash + 1, bits, &plen) < 0)
		return -1;
	r->u.net.plen = (uint8_t)plen;
	for (i = 0; i < bits / 8; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8
		                : plen > 8 * i      ? (unsigned)(plen - 8 * i)
		                                    : 0;

		r->u.net.addr.u.v6[i] &= (uint8_t)(0xff00u >> keep);
	}
	return 0;
}

static int parse_value(int kind, char *s, struct sd_filter_rule *r)
{
	uint64_t v, m = UINT32_MAX;
	char *slash;
	size_t i;

	switch (kind) {
	case SD_F_ADDRESS:
		return parse_prefix(s, r);
	case SD_F_PROTOCOL:
		for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
			if (strcmp(s, protos[i].name) == 0) {
				r->u.proto = protos[i].proto;
				return 0;
			}
		if (number(s, 255, &v) < 0)
			return -1;
		r->u.proto = (uint8_t)v;
		return 0;
	case SD_F_ZONE:
		if (number(s, 65535, &v) < 0)
			return -1;
		r->u.zone = (uint16_t)v;
		return 0;
	case SD_F_MARK:
		slash = strchr(s, '/');
		if (slash != NULL) {
			*slash = '\0';
			if (number(slash + 1, UINT32_MAX, &m) < 0)
				return -1;
		}
		if (number(s, UINT32_MAX, &v) < 0)
			return -1;
		r->u.mark.mask = (uint32_t)m;
		r->u.mark.value = (uint32_t)v & (uint32_t)m;
		return 0;
	case SD_F_STATE:
		for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
			if (strcmp(s, states[i].name) == 0) {
				r->u.state = states[i].state;
				return 0;
			}
		return -1;
	}
	return -1;
}

static const char *expected(int kind)
{
	switch (kind) {
	case SD_F_ADDRESS:
		return "an IPv4 or IPv6 address or prefix (ADDR/LEN)";
	case SD_F_PROTOCOL:
		return "a protocol name (tcp, udp, icmp, icmpv6, sctp, dccp, gre, esp, ah, "
		       "udplite) "
		       "or number 0 to 255";
	case SD_F_ZONE:
		return "a conntrack zone 0 to 65535";
	case SD_F_MARK:
		return "a mark VALUE or VALUE/MASK (32 bits, decimal or 0x hex)";
	default:
		return "a state: assured, seen-reply, expected, or a TCP state (syn-sent, "
		       "syn-recv, established, fin-wait, close-wait, last-ack, time-wait, close, "
		       "syn-sent2)";
	}
}

int sd_filter_add(struct sd_filter *f, const char *key, const char *arg, char *err, size_t errlen)
{
	struct sd_filter_rule *rules;
	char *copy, *tok, *save = NULL;
	size_t n = 1, added = 0;
	bool accept;
	int kind;

	if (keyword(key, &accept, &kind) < 0) {
		snprintf(err, errlen, "'%s' is not a filter keyword", key);
		return -1;
	}
	for (const char *p = arg; *p != '\0'; p++)
		n += *p == ',';
	copy = strdup(arg);
	rules = realloc(f->rules, (f->n + n) * sizeof(*rules));
	if (copy == NULL || rules == NULL) {
		free(copy);
		if (rules != NULL)
			f->rules = rules;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f->rules = rules;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		struct sd_filter_rule *r = &rules[f->n + added];

		memset(r, 0, sizeof(*r));
		r->kind = (uint8_t)kind;
		r->accept = accept;
		snprintf(r->text, sizeof(r->text), "%s %s", key, tok);
		if (parse_value(kind, tok, r) < 0) {
			snprintf(err, errlen, "expected %s, got '%s'", expected(kind),
			         r->text + strlen(key) + 1);
			free(copy);
			return -1;
		}
		added++;
	}
	free(copy);
	if (added != n) { /* an empty item: "tcp,,udp", ",tcp", "" */
		snprintf(err, errlen, "expected %s (a comma-separated list), got '%s'",
		         expected(kind), arg);
		return -1;
	}
	f->n += added;
	return 0;
}

int sd_filter_check_policy(const struct sd_filter *f, char *err, size_t errlen)
{
	for (size_t i = 0; i < f->n; i++)
		for (size_t j = 0; j < i; j++)
			if (f->rules[j].kind == f->rules[i].kind &&
			    f->rules[j].accept != f->rules[i].accept) {
				snprintf(err, errlen,
				         "'%s' and '%s': the %s rules are all accept or all ignore "
				         "rules (one policy a kind, as conntrackd's)",
				         f->rules[j].text, f->rules[i].text,
				         kind_names[f->rules[i].kind]);
				return -1;
			}
	return 0;
}

static bool in_prefix(const struct sd_filter_rule *r, uint8_t af, const uint8_t *a)
{
	unsigned plen = r->u.net.plen, i;

	if (af != r->u.net.addr.af)
		return false;
	for (i = 0; i < plen / 8; i++)
		if (a[i] != r->u.net.addr.u.v6[i])
			return false;
	if (plen % 8 != 0 && ((a[i] ^ r->u.net.addr.u.v6[i]) & (uint8_t)(0xff00u >> (plen % 8))))
		return false;
	return true;
}

/* Whether rule r applies to e (-1: it does not), and if so whether it matches. */
static int rule_match(const struct sd_filter_rule *r, const struct sd_filter_entry *e)
{
	switch (r->kind) {
	case SD_F_ADDRESS:
		for (unsigned i = 0; i < e->naddr && i < 4; i++)
			if (in_prefix(r, e->af, e->addr[i]))
				return 1;
		return 0;
	case SD_F_PROTOCOL:
		return e->proto == r->u.proto;
	case SD_F_ZONE:
		return e->zone == r->u.zone;
	case SD_F_MARK:
		return (e->mark & r->u.mark.mask) == r->u.mark.value;
	case SD_F_STATE:
		if (r->u.state < SD_FILTER_TCP)
			return (e->status >> r->u.state) & 1;
		if (e->proto != 6)
			return -1;
		return e->tcp_state >= 0 && (uint32_t)e->tcp_state == r->u.state - SD_FILTER_TCP;
	}
	return 0;
}

bool sd_filter_match(struct sd_filter *f, const struct sd_filter_entry *e)
{
	for (int k = 0; k < SD_F_KINDS; k++) {
		bool any = false, applies = false, matched = false, accept = false;

		for (size_t i = 0; i < f->n; i++) {
			struct sd_filter_rule *r = &f->rules[i];
			int m;

			if (r->kind != k)
				continue;
			any = true;
			accept = r->accept;
			m = rule_match(r, e);
			if (m < 0)
				continue;
			applies = true;
			if (m == 1) {
				r->matched++;
				matched = true;
				break;
			}
		}
		if (!any)
			continue;
		if (!accept && matched) {
			f->ignored++;
			return false;
		}
		if (accept && applies && !matched) {
			f->not_accepted[k]++;
			f->ignored++;
			return false;
		}
	}
	f->passed++;
	return true;
}

void sd_filter_free(struct sd_filter *f)
{
	free(f->rules);
	memset(f, 0, sizeof(*f));
}
