/* Helpers shared by the CARP state machine tests. */
#ifndef TESTS_CARP_FSM_UTIL_H
#define TESTS_CARP_FSM_UTIL_H

#include <check.h>

#include "carp_test_util.h"

static inline struct rd_carp_vhost *add_vh(struct node *n, uint8_t vhid, uint8_t advbase,
                                           uint8_t skew, const char *src, bool preempt)
{
	struct rd_addr store[1];
	struct rd_carp_vhost_config c = vcfg(vhid, advbase, skew, src, store);
	struct rd_carp_vhost *vh = NULL;

	c.preempt = preempt;
	ck_assert_int_eq(rd_carp_vhost_add(n->ifp, &c, T0, &vh), 0);
	return vh;
}

static inline enum rd_carp_state st(const struct rd_carp_vhost *vh)
{
	return rd_carp_vhost_state(vh);
}

static inline void force_master(struct node *n, struct rd_carp_vhost *vh, rd_time_t now)
{
	ck_assert_int_eq(rd_carp_vhost_set_state(vh, RD_CARP_MASTER, now), 0);
	ck_assert_int_eq(st(vh), RD_CARP_MASTER);
	(void)n;
}

static inline rd_time_t md4(const struct rd_carp_vhost *vh)
{
	struct rd_carp_vhost_info i;

	rd_carp_vhost_info(vh, &i);
	return i.md4;
}

#endif
