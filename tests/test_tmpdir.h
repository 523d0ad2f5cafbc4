/*
 * Shared by the tests that need a scratch directory: a fresh one under
 * $TMPDIR (or /tmp), made with mkdtemp(3) so parallel runs never collide.
 */
#ifndef RD_TEST_TMPDIR_H
#define RD_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * rd_test_mkdtemp - create "<$TMPDIR or /tmp>/<prefix>-<6 random chars>"
 * into buf. Returns buf, or NULL (errno set) when it does not fit or
 * mkdtemp fails.
 */
static inline char *rd_test_mkdtemp(const char *prefix, char *buf, size_t len)
{
	const char *base = getenv("TMPDIR");
	int n =
	    snprintf(buf, len, "%s/%s-", base != NULL && base[0] != '\0' ? base : "/tmp", prefix);

	if (n < 0 || (size_t)n + 7 > len)
		return NULL;
	memset(buf + n, 'X', 6); /* mkdtemp's template suffix */
	buf[n + 6] = '\0';
	return mkdtemp(buf);
}

#endif
