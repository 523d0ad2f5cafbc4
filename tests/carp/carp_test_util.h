/*
 * Test helpers for the CARP tests: a node (one rd_carp_if, on a private or
 * a given rd_carp_node) that records what it sends, its state changes,
 * announcements, demotion callbacks and log messages, with deterministic
 * randomness; and a builder of hand-made advertisements.
 */
#ifndef TESTS_CARP_TEST_UTIL_H
#define TESTS_CARP_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redund/carp.h"

#define T0 ((rd_time_t)1000 * RD_SEC)

struct sent_pkt {
	uint8_t b[RD_CARP_PKT_MAX];
	size_t len;
	uint8_t vhid;
	bool bow_out;
	bool multicast;
	struct rd_addr dst;
};

struct change {
	uint8_t vhid;
	int from, to;
	char why[64];
};

struct node {
	struct rd_carp_if *ifp;
	struct sent_pkt out[128];
	size_t nout;
	int send_rc; /* what the send callback returns */
	struct change changes[64];
	size_t nchanges;
	int announce[64][2]; /* (vhid, round) */
	size_t nannounce;
	unsigned int demotions[64]; /* values the demotion callback gave */
	size_t ndemotions;
	char logs[16][512]; /* the last 16 log messages */
	int log_levels[16];
	size_t nlogs; /* all messages so far */
	uint64_t rng;
};

static inline void node_random(void *user, void *buf, size_t len)
{
	struct node *n = user;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		n->rng ^= n->rng << 13;
		n->rng ^= n->rng >> 7;
		n->rng ^= n->rng << 17;
		p[i] = (uint8_t)n->rng;
	}
}

static inline int node_send(void *user, struct rd_carp_vhost *vh, const struct rd_carp_out *o)
{
	struct node *n = user;

	if (n->nout < sizeof(n->out) / sizeof(n->out[0])) {
		struct sent_pkt *s = &n->out[n->nout++];

		memcpy(s->b, o->pkt, o->pkt_len);
		s->len = o->pkt_len;
		s->vhid = rd_carp_vhost_vhid(vh);
		s->bow_out = o->bow_out;
		s->multicast = o->multicast;
		s->dst = o->dst;
	}
	return n->send_rc;
}

static inline void node_state(void *user, struct rd_carp_vhost *vh, enum rd_carp_state from,
                              enum rd_carp_state to, const char *why)
{
	struct node *n = user;

	if (n->nchanges < sizeof(n->changes) / sizeof(n->changes[0])) {
		struct change *c = &n->changes[n->nchanges++];

		c->vhid = rd_carp_vhost_vhid(vh);
		c->from = (int)from;
		c->to = (int)to;
		snprintf(c->why, sizeof(c->why), "%s", why);
	}
}

static inline void node_announce(void *user, struct rd_carp_vhost *vh, int round)
{
	struct node *n = user;

	if (n->nannounce < 64) {
		n->announce[n->nannounce][0] = rd_carp_vhost_vhid(vh);
		n->announce[n->nannounce][1] = round;
		n->nannounce++;
	}
}

static inline void node_demotion(void *user, struct rd_carp_if *ifp, unsigned int demote)
{
	struct node *n = user;

	(void)ifp;
	if (n->ndemotions < 64)
		n->demotions[n->ndemotions++] = demote;
}

static inline void node_log(void *user, int level, const char *msg)
{
	struct node *n = user;

	snprintf(n->logs[n->nlogs % 16], sizeof(n->logs[0]), "%s", msg);
	n->log_levels[n->nlogs % 16] = level;
	n->nlogs++;
}

/* The i-th most recent log message (0: the last). */
static inline const char *node_log_last(const struct node *n, size_t i)
{
	return i < n->nlogs && i < 16 ? n->logs[(n->nlogs - 1 - i) % 16] : "";
}

/* Count the messages among the last 16 that contain `what`. */
static inline size_t node_logs_with(const struct node *n, const char *what)
{
	size_t k = 0;

	for (size_t i = 0; i < n->nlogs && i < 16; i++)
		k += strstr(n->logs[i], what) != NULL;
	return k;
}

/* A node whose if is in rd_carp_node cn (NULL: a private one), logging at
 * INFO and above into n->logs. */
static inline int node_init_in(struct node *n, uint64_t seed, enum rd_carp_balancing bal,
                               struct rd_carp_node *cn, const char *name)
{
	struct rd_carp_if_config c;

	memset(n, 0, sizeof(*n));
	n->rng = seed * 0x9e3779b97f4a7c15ull | 1;
	memset(&c, 0, sizeof(c));
	c.node = cn;
	c.random.fn = node_random;
	c.random.user = n;
	c.log.fn = node_log;
	c.log.user = n;
	c.log.level = RD_LOG_INFO;
	c.cb.send = node_send;
	c.cb.state_change = node_state;
	c.cb.announce = node_announce;
	c.cb.demotion = node_demotion;
	c.cb.user = n;
	c.balancing = bal;
	c.name = name;
	return rd_carp_if_new(&c, &n->ifp);
}

static inline int node_init(struct node *n, uint64_t seed, enum rd_carp_balancing bal)
{
	struct rd_carp_if_config c;

	memset(n, 0, sizeof(*n));
	n->rng = seed * 0x9e3779b97f4a7c15ull | 1;
	memset(&c, 0, sizeof(c));
	c.random.fn = node_random;
	c.random.user = n;
	c.cb.send = node_send;
	c.cb.state_change = node_state;
	c.cb.announce = node_announce;
	c.cb.user = n;
	c.balancing = bal;
	c.name = "test0";
	return rd_carp_if_new(&c, &n->ifp);
}

static inline struct rd_addr A(const char *s) {
	struct rd_addr a;

	if (rd_addr_parse(s, &a) != 0)
		abort();
	return a;
}

/* A vhost config with one IPv4 VIP; addrs storage lives in `store`. */
static inline struct rd_carp_vhost_config
vcfg(uint8_t vhid, uint8_t advbase, uint8_t advskew, const char *src, struct rd_addr *store)
{
	struct rd_carp_vhost_config c;

	memset(&c, 0, sizeof(c));
	c.vhid = vhid;
	c.advbase = advbase;
	c.advskew = advskew;
	rd_carp_key_from_pass("secret", c.key);
	store[0] = A("10.0.0.100");
	c.addrs = store;
	c.naddrs = 1;
	c.src4 = A(src);
	return c;
}

/* The demote byte of the i-th packet n sent (IPv4). */
static inline unsigned int sent_demote(const struct node *n, size_t i)
{
	struct rd_carp_hdr h;

	rd_carp_hdr_decode(n->out[i].b + 20, 36, &h);
	return h.demote;
}

/* Feed every packet n sent to `to` (if not NULL), then forget them. */
static inline int deliver(struct node *from, struct node *to, rd_time_t now)
{
	int rc = 0;

	for (size_t i = 0; i < from->nout; i++)
		if (to != NULL)
			rc = rd_carp_input(to->ifp, from->out[i].b, from->out[i].len, now);
	from->nout = 0;
	return rc;
}

struct ad_spec {
	uint8_t version, type, vhid, advbase, advskew, demote;
	uint8_t counter[8];
	const char *pass;
	const char *vip;
	const char *src, *dst;
	uint8_t ttl;
};

static inline struct ad_spec ad_default(void)
{
	struct ad_spec s;

	memset(&s, 0, sizeof(s));
	s.version = RD_CARP_VERSION;
	s.type = RD_CARP_TYPE_ADVERTISEMENT;
	s.vhid = 1;
	s.advbase = 1;
	s.pass = "secret";
	s.vip = "10.0.0.100";
	s.src = "10.0.0.9";
	s.dst = "224.0.0.18";
	s.ttl = 255;
	for (int i = 0; i < 8; i++)
		s.counter[i] = (uint8_t)(0xa0 + i);
	return s;
}

/* A hand-made, correctly signed advertisement; returns its length. */
static inline size_t make_ad(const struct ad_spec *s, uint8_t *out)
{
	struct rd_carp_hdr h;
	uint8_t key[RD_CARP_KEY_LEN], carp[RD_CARP_HDR_LEN];
	struct rd_addr vip = A(s->vip), src = A(s->src), dst = A(s->dst);
	int n;

	memset(&h, 0, sizeof(h));
	h.version = s->version;
	h.type = s->type;
	h.vhid = s->vhid;
	h.advbase = s->advbase;
	h.advskew = s->advskew;
	h.demote = s->demote;
	h.authlen = RD_CARP_AUTHLEN;
	memcpy(h.counter, s->counter, 8);
	rd_carp_key_from_pass(s->pass, key);
	rd_carp_hmac(key, NULL, s->vhid, &vip, 1, h.counter, RD_CARP_HMAC_NOV6LL, h.hmac);
	rd_carp_hdr_encode(&h, carp);
	n = rd_carp_ip_build(&src, &dst, 1, carp, out, RD_CARP_PKT_MAX);
	if (n < 0)
		abort();
	if (src.af == RD_AF_INET) {
		out[8] = s->ttl;
		out[10] = out[11] = 0;
		uint16_t c = rd_cksum(out, 20);
		out[10] = (uint8_t)(c >> 8);
		out[11] = (uint8_t)c;
	} else {
		out[7] = s->ttl;
	}
	return (size_t)n;
}

#endif
