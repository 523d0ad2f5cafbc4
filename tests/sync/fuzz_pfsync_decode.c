/*
 * Fuzz target: the pfsync v6 decoder. Besides not crashing, it checks that
 * check() and decode() agree, that a refused packet delivers nothing, and
 * that encode(decode(x)) is a fixed point: re-decoding the re-encoded
 * message encodes to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "redund/pfsync.h"

struct ctx {
	size_t n;
};

struct again {
	uint8_t bytes[RD_PFSYNC_STATE_LEN];
	int len;
	size_t n;
};

static int on_again(void *user, const struct rd_pfsync_msg *m)
{
	struct again *g = user;
	g->n++;
	g->len = rd_pfsync_encode_msg(m, g->bytes, sizeof(g->bytes));
	return 0;
}

static int on_msg(void *user, const struct rd_pfsync_msg *m)
{
	struct ctx *c = user;
	uint8_t a[RD_PFSYNC_STATE_LEN], pkt[RD_PFSYNC_HDR_LEN + RD_PFSYNC_SUBHDR_LEN + 264];
	struct rd_pfsync_builder bld;
	struct again g = {.len = -1};
	int la;

	c->n++;
	la = rd_pfsync_encode_msg(m, a, sizeof(a));
	if (la <= 0 || (size_t)la != rd_pfsync_msg_len(m->action))
		abort();
	if (rd_pfsync_builder_init(&bld, pkt, sizeof(pkt)) != 0 ||
	    rd_pfsync_builder_add(&bld, m) != 0)
		abort();
	size_t plen = rd_pfsync_builder_finish(&bld);
	if (rd_pfsync_decode(pkt, plen, NULL, NULL, on_again, &g) != 0 || g.n != 1)
		abort();
	if (g.len != la || memcmp(a, g.bytes, (size_t)la) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_pfsync_stats st;
	struct rd_pfsync_info info;
	struct ctx c = {0};
	int checked, rc;

	memset(&st, 0, sizeof(st));
	checked = rd_pfsync_check(data, size, NULL);
	rc = rd_pfsync_decode(data, size, &st, &info, on_msg, &c);
	if (rc != checked)
		abort();
	if (rc != 0 && (c.n != 0 || st.count[info.reason] != 1))
		abort();
	if (rc == 0 && c.n != info.messages)
		abort();
	return 0;
}
