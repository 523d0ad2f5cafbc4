/* Shared helpers for the source-tracking tests. */
#ifndef TEST_SRCTRACK_HELPERS_H
#define TEST_SRCTRACK_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "redund/srctrack.h"

/* A deterministic rd_random: xorshift64* seeded through `user`. */
static inline void test_random_fn(void *user, void *buf, size_t len)
{
	uint64_t *s = user;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		*s ^= *s >> 12;
		*s ^= *s << 25;
		*s ^= *s >> 27;
		p[i] = (uint8_t)((*s * 0x2545F4914F6CDD1DULL) >> 56);
	}
}

static inline struct rd_addr A4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
	return rd_addr_v4((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

#include "../test_countmem.h"

#endif
