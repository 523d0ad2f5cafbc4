/*
 * fuzz-io-sync-ip4: the plain-mode transport's IPv4 header check
 * (rd_io_sync_parse_ip4), the first code to read a raw protocol-240
 * datagram. Whatever the bytes, it must not read outside them, and an
 * accepted header must leave a payload inside the datagram.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redund/io_sync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_io_sync_msg m;
	uint8_t *copy = malloc(size ? size : 1);

	/* A private copy, so ASan sees any read past the datagram's end. */
	memcpy(copy, data, size);
	memset(&m, 0, sizeof(m));
	if (rd_io_sync_parse_ip4(copy, size, &m) < 0) {
		if (m.data < copy + 20 || m.data + m.len != copy + size)
			abort();
	} else if (m.data != NULL) {
		abort();
	}
	free(copy);
	return 0;
}
