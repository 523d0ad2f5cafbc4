/* Helpers shared by the CARP property tests over examples/carp_cluster.c. */
#ifndef RD_TESTS_SIM_PROP_UTIL_H
#define RD_TESTS_SIM_PROP_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "carp_cluster.h"

/* Append a formatted text to the NUL-terminated buf of size bytes. */
static inline __attribute__((format(printf, 3, 4))) void appendf(char *buf, size_t size,
                                                                 const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
}

/*
 * The live node the election prefers: the lowest advskew, and among equal
 * ones the lowest index (node i's source is 10.0.0.(i+1) / fe80::(i+1), and
 * the lower address wins a tie). -1 when no node is live.
 */
static inline int preferred(const struct cc_cluster *c)
{
	int best = -1;
	for (int i = 0; i < c->cfg.nodes; i++)
		if (cc_live(c, i) && (best < 0 || c->cfg.advskew[i] < c->cfg.advskew[best]))
			best = i;
	return best;
}

#endif
