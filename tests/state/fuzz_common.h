/* Shared by the state fuzz targets: a table and its consistency check. */
#ifndef FUZZ_STATE_COMMON_H
#define FUZZ_STATE_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static struct rd_state_table *fuzz_table(uint64_t *seed, uint32_t limit)
{
	struct rd_state_config cfg;
	struct rd_state_table *t;
	rd_state_config_default(&cfg);
	cfg.random.fn = test_random;
	cfg.random.user = seed;
	cfg.limit = limit;
	if (rd_state_table_new(&cfg, &t) != 0)
		abort();
	return t;
}

/*
 * Every invariant a sequence of calls must keep: iteration sees exactly
 * rd_state_count states; each unexpired one is found by id and by its wire
 * key (inbound) and stack key (outbound); an expired one is never found by id.
 */
static void fuzz_check(struct rd_state_table *t, rd_time_t now)
{
	struct rd_state_iter it;
	struct rd_state *st;
	uint32_t n = 0;
	rd_state_iter_init(&it);
	while ((st = rd_state_iter_next(t, &it)) != NULL) {
		n++;
		struct rd_state *byid = rd_state_find_id(t, st->id, st->creatorid, now);
		if (rd_state_expires(t, st) <= now) {
			if (byid != NULL)
				abort();
			continue;
		}
		if (byid != st)
			abort();
		if (rd_state_lookup(t, &st->key, RD_STATE_IN, st->ifindex, now) == NULL)
			abort();
		if (rd_state_lookup(t, rd_state_stack_key(t, st), RD_STATE_OUT, st->ifindex, now) ==
		    NULL)
			abort();
	}
	if (n != rd_state_count(t))
		abort();
	if (rd_state_count_halfopen(t) > n)
		abort();
}

#endif
