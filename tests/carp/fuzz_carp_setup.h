/*
 * The interface the CARP input fuzz target runs on, and its mirror image
 * (the "peer" side) that the corpus generator uses to make advertisements
 * the target accepts. Three vhosts:
 *  - vhid 42: ucarp's captured configuration (pass "secret", 10.9.0.100),
 *    IPv4 multicast, so the captured ucarp adverts authenticate; out of
 *    demotion group "carp" (in no group at all);
 *  - vhid 7: IPv4 + IPv6 (with a link-local address), strict replay mode,
 *    preempt, ucarp's second capture key;
 *  - vhid 9: unicast peers of both families, advbase 0, in demotion groups
 *    "carp" and "fz".
 */
#ifndef TESTS_CARP_FUZZ_SETUP_H
#define TESTS_CARP_FUZZ_SETUP_H

#include <stdlib.h>
#include <string.h>

#include "redund/carp.h"

static inline struct rd_addr fz_addr(const char *s)
{
	struct rd_addr a;

	if (rd_addr_parse(s, &a) != 0)
		abort();
	return a;
}

/* Our side uses x.2 / ::2 sources, the peer side x.1 / ::1. */
static inline int fz_add_vhosts(struct rd_carp_if *ifp, bool peer_side, rd_time_t now)
{
	struct rd_carp_vhost_config c;
	struct rd_addr a42[1], a7[3], a9[2], p9[2];
	static const char *const out_of_carp[] = {"-carp"}, *const fz[] = {"fz"};
	int rc;

	memset(&c, 0, sizeof(c));
	a42[0] = fz_addr("10.9.0.100");
	c.vhid = 42;
	c.advbase = 1;
	c.advskew = peer_side ? 0 : 200;
	rd_carp_key_from_pass("secret", c.key);
	c.addrs = a42;
	c.naddrs = 1;
	c.src4 = fz_addr(peer_side ? "10.9.0.1" : "10.9.0.2");
	c.groups = out_of_carp;
	c.ngroups = 1;
	if ((rc = rd_carp_vhost_add(ifp, &c, now, NULL)) != 0)
		return rc;

	memset(&c, 0, sizeof(c));
	a7[0] = fz_addr("192.168.77.5");
	a7[1] = fz_addr("2001:db8::5");
	a7[2] = fz_addr("fe80::5");
	c.vhid = 7;
	c.advbase = 1;
	c.advskew = peer_side ? 50 : 10;
	c.preempt = true;
	rd_carp_key_from_pass("nineteen-char-pass!", c.key);
	c.addrs = a7;
	c.naddrs = 3;
	c.src4 = fz_addr(peer_side ? "10.9.0.1" : "10.9.0.2");
	c.src6 = fz_addr(peer_side ? "fe80::1" : "fe80::2");
	c.replay_strict = true;
	c.replay_epoch = peer_side ? 1000 : 2000;
	if ((rc = rd_carp_vhost_add(ifp, &c, now, NULL)) != 0)
		return rc;

	memset(&c, 0, sizeof(c));
	a9[0] = fz_addr("10.9.0.109");
	a9[1] = fz_addr("2001:db8::109");
	p9[0] = fz_addr(peer_side ? "10.9.0.2" : "10.9.0.1");
	p9[1] = fz_addr(peer_side ? "2001:db8::2" : "2001:db8::1");
	c.vhid = 9;
	c.advbase = 0;
	c.advskew = peer_side ? 20 : 40;
	rd_carp_key_from_pass("unicast", c.key);
	c.addrs = a9;
	c.naddrs = 2;
	c.src4 = fz_addr(peer_side ? "10.9.0.1" : "10.9.0.2");
	c.src6 = fz_addr(peer_side ? "2001:db8::1" : "2001:db8::2");
	c.peers = p9;
	c.npeers = 2;
	c.groups = fz;
	c.ngroups = 1;
	return rd_carp_vhost_add(ifp, &c, now, NULL);
}

/*
 * Input format: records of [op][dt][len][len bytes]. dt advances the clock
 * by dt x 4 ms (expired timers then run); op % 8 selects: 0-2 rd_carp_input
 * of the bytes, 3 rd_carp_input_payload IPv4 (10.9.0.1 -> 224.0.0.18, TTL
 * 255), 4 the same for IPv6 (fe80::1 -> ff02::12), 5 demote group "fz" (len
 * even) or "carp" (len odd) by (int8_t)len, 6 link down/up by len & 1, 7 on vhost len % 3: stop,
 * start, force MASTER or BACKUP by (len / 3) % 4.
 */
enum { FZ_OP_INPUT = 0, FZ_OP_PAYLOAD4 = 3, FZ_OP_PAYLOAD6 = 4 };

#endif
