/*
 * Fuzz target: the state extension's section decoder (rd_sync_ext_decode),
 * whose input is a peer's bytes after the pfsync packet. Every record it
 * accepts must encode back to a record that decodes to the same fields.
 */
#include <stdlib.h>
#include <string.h>

#include "redund/sync_ext.h"

static int again(void *user, uint64_t id, uint32_t creatorid, const struct rd_sync_ext *x)
{
	struct rd_sync_ext *out = user;

	(void)id;
	(void)creatorid;
	*out = *x;
	return 0;
}

static int check(void *user, uint64_t id, uint32_t creatorid, const struct rd_sync_ext *x)
{
	uint8_t buf[RD_SYNC_EXT_HDR_LEN + RD_SYNC_EXT_REC_MAX];
	struct rd_sync_ext y;
	int h, n;

	(void)user;
	if ((x->have & RD_SYNC_EXT_HELPER) &&
	    (x->helper[0] == '\0' || strlen(x->helper) > RD_SYNC_EXT_HELPER_MAX))
		abort();
	h = rd_sync_ext_begin(buf, sizeof(buf));
	n = rd_sync_ext_put(buf + h, sizeof(buf) - (size_t)h, id, creatorid, x);
	if (n < 0 || (size_t)n != rd_sync_ext_record_len(x) || n > RD_SYNC_EXT_REC_MAX)
		abort();
	memset(&y, 0, sizeof(y));
	if (rd_sync_ext_decode(buf, (size_t)(h + n), again, &y) != 1 || !rd_sync_ext_equal(x, &y))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n = rd_sync_ext_decode(data, size, check, NULL);

	if (n < 0 && n != RD_ERR_PROTO && n != RD_ERR_STATE)
		abort();
	if (n > 0 && (size_t)n * RD_SYNC_EXT_REC_LEN > size)
		abort();
	return 0;
}
