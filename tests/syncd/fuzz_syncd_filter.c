/*
 * fuzz-syncd-filter: syncd's filter keywords (syncd/filter.c) on any text,
 * and the matching on any entry. The input is lines: "KEYWORD VALUE" adds
 * rules (any keyword, any value; a refusal adds none and says why), and a
 * line starting with '=' is an entry, its bytes after '=' copied into a
 * struct sd_filter_entry and matched. Whatever the bytes: no read outside
 * them, no leak, a refused keyword leaves the rule count as it was, every
 * rule's text starts with its keyword, and passed + ignored counts each
 * match once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sd_filter f = {0};
	uint64_t matches = 0;
	size_t off = 0;
	char err[256];

	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		char *line = malloc(len + 1);

		if (line == NULL)
			break;
		memcpy(line, data + off, len);
		line[len] = '\0';
		off += len + 1;
		if (len > 0 && line[0] == '=') {
			struct sd_filter_entry e;

			memset(&e, 0, sizeof(e));
			memcpy(&e, line + 1, len - 1 < sizeof(e) ? len - 1 : sizeof(e));
			(void)sd_filter_match(&f, &e);
			matches++;
		} else {
			char *sp = strchr(line, ' ');
			size_t before = f.n;

			if (sp != NULL) {
				*sp = '\0';
				if (sd_filter_add(&f, line, sp + 1, err, sizeof(err)) < 0) {
					if (f.n != before || err[0] == '\0')
						abort();
				} else if (f.n <= before) {
					abort();
				}
				for (size_t i = before; i < f.n; i++)
					if (strncmp(f.rules[i].text, line, strlen(line)) != 0 &&
					    strlen(line) < sizeof(f.rules[i].text))
						abort();
			}
			(void)sd_filter_check_policy(&f, err, sizeof(err));
		}
		free(line);
	}
	if (f.passed + f.ignored != matches)
		abort();
	sd_filter_free(&f);
	return 0;
}
