/*
 * Fuzz target: a netlink message from the queue, as nfq-firewall reads it
 * (examples/nfq-firewall/nfq.c nfq_parse), then the packet it carries
 * through the state table's parser (rd_state_parse), as the firewall does
 * before any lookup. Checks: no read outside the input (ASan), a refusal
 * always has a reason in range, an accepted message's payload lies inside
 * the message, and a refused IP packet has a reason the table counts.
 */
#include <stdlib.h>
#include <string.h>

#include "nfq.h"
#include "redund/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfq_pkt q;
	struct rd_state_pkt p;
	int reason;
	/* The socket's buffer is aligned; so is this copy (exactly size bytes). */
	uint8_t *msg = malloc(size ? size : 1);

	if (msg == NULL)
		return 0;
	memcpy(msg, data, size);
	int bad = nfq_parse(msg, size, &q);
	if (bad < 0 || bad >= NFQ_BAD_COUNT)
		abort();
	if (bad == NFQ_OK) {
		if (!q.has_id || q.payload == NULL || q.len == 0 || q.payload < msg ||
		    q.payload + q.len > msg + size || q.cap_len < q.len)
			abort();
		if (rd_state_parse(q.payload, q.len, RD_STATE_IN, &p, &reason) != 0 &&
		    (reason <= RD_STATE_RES_MATCH || reason >= RD_STATE_RES_COUNT))
			abort();
	} else if (strcmp(nfq_bad_name(bad), "?") == 0) {
		abort();
	}
	free(msg);
	return 0;
}
