/*
 * Shared by the tests that watch a library's allocations: an rd_mem that
 * counts live blocks and allocator calls, and can be told to fail.
 */
#ifndef RD_TEST_COUNTMEM_H
#define RD_TEST_COUNTMEM_H

#include <stdlib.h>
#include <string.h>

#include "redund/common.h"

/* An allocator that counts live blocks and can be told to fail. */
struct count_mem {
	long live;
	long fail_after; /* < 0: never */
	long calls;      /* malloc, calloc and realloc calls that returned memory */
};

static inline void *cm_malloc(void *u, size_t n)
{
	struct count_mem *m = u;
	void *p;

	if (m->fail_after == 0)
		return NULL;
	if (m->fail_after > 0)
		m->fail_after--;
	p = malloc(n);
	if (p != NULL) {
		m->live++;
		m->calls++;
	}
	return p;
}

static inline void *cm_calloc(void *u, size_t n, size_t s)
{
	void *p = cm_malloc(u, n * s);
	if (p != NULL)
		memset(p, 0, n * s);
	return p;
}

static inline void *cm_realloc(void *u, void *old, size_t n)
{
	struct count_mem *m = u;
	void *p;

	if (m->fail_after == 0)
		return NULL;
	if (m->fail_after > 0)
		m->fail_after--;
	p = realloc(old, n);
	if (p != NULL) {
		m->calls++;
		if (old == NULL)
			m->live++;
	}
	return p;
}

static inline void cm_free(void *u, void *p)
{
	struct count_mem *m = u;

	if (p != NULL)
		m->live--;
	free(p);
}

#endif
