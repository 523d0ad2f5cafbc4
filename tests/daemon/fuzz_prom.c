/*
 * fuzz-prom: redundctl's JSON status to Prometheus text (redundctl/prom.c,
 * rctl_prom) on any bytes. Whatever the bytes, it may not read outside
 * them, leak or recurse without bound; a refusal names a byte offset within
 * the input; an accepted input gives text whose every line is a HELP, a
 * TYPE or a sample ending in a line end, starting with PREFIX_up 1, and
 * converting the same bytes twice gives the same text.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../redundctl/redundctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dm_buf a = {0}, b = {0};
	char err[256], err2[256];
	int rc = rctl_prom((const char *)data, size, "t", "t", &a, err, sizeof(err));
	int rc2 = rctl_prom((const char *)data, size, "t", "t", &b, err2, sizeof(err2));

	if (rc != rc2)
		abort();
	if (rc < 0) {
		if (strcmp(err, err2) != 0 ||
		    (strstr(err, "not JSON at byte") == NULL && strcmp(err, "out of memory") != 0))
			abort();
	} else {
		const char *p, *nl;

		if (a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
			abort();
		if (a.len < 30 || strncmp(a.p, "# HELP t_up ", 12) != 0 || a.p[a.len - 1] != '\n')
			abort();
		for (p = a.p; p < a.p + a.len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(a.p + a.len - p));
			if (nl == NULL || nl == p)
				abort();
			if (*p == '#' && strncmp(p, "# HELP t", 8) != 0 &&
			    strncmp(p, "# TYPE t", 8) != 0)
				abort();
			if (*p != '#' && *p != 't')
				abort();
		}
	}
	free(a.p);
	free(b.p);
	return 0;
}
