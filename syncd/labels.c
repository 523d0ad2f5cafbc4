/*
 * syncd: keeps the kernel's conntrack labels in use, so that the entries
 * syncd writes for peers can carry its mark (syncd(8), label).
 *
 * The kernel gives an entry room for labels only while some rule uses
 * them (a `ct label` expression); without one, a label sent with a new
 * entry is dropped silently. syncd keeps such a rule in a table of its own,
 * `inet libredund_syncd`, in a chain with no hook (it sees no packet), and
 * puts it back when a ruleset reload (`flush ruleset`) removed it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "syncd.h"

#define errf(err, ...) dm_errf((err), SD_ERR_LEN, __VA_ARGS__)

struct sd_labels {
	struct nft_ctx *nft;
	int bit;
};

/* Runs cmd; 0, or -1 with err holding nft's message. */
static int run(struct sd_labels *l, const char *cmd, char *err)
{
	const char *msg;

	if (nft_run_cmd_from_buffer(l->nft, cmd) == 0)
		return 0;
	msg = nft_ctx_get_error_buffer(l->nft);
	errf(err, "nft: %.*s", msg != NULL ? (int)strcspn(msg, "\n") : 7,
	     msg != NULL ? msg : "refused");
	return -1;
}

int sd_labels_new(int bit, struct sd_labels **out, char *err)
{
	struct sd_labels *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		errf(err, "out of memory");
		return -1;
	}
	l->bit = bit;
	l->nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (l->nft == NULL) {
		free(l);
		errf(err, "nft: no context");
		return -1;
	}
	nft_ctx_buffer_output(l->nft);
	nft_ctx_buffer_error(l->nft);
	*out = l;
	return 0;
}

void sd_labels_free(struct sd_labels *l)
{
	if (l == NULL)
		return;
	nft_ctx_free(l->nft);
	free(l);
}

int sd_labels_keep(struct sd_labels *l, bool *installed, char *err)
{
	char cmd[512];

	*installed = false;
	if (run(l, "list chain inet " SD_LABELS_TABLE " labels", err) == 0)
		return 0;
	/* One transaction: the old rule (if any) goes only once the new one holds the labels. */
	snprintf(cmd, sizeof(cmd),
	         "add table inet " SD_LABELS_TABLE "\n"
	         "flush table inet " SD_LABELS_TABLE "\n"
	         "add chain inet " SD_LABELS_TABLE " labels\n"
	         "add rule inet " SD_LABELS_TABLE " labels ct label %d counter\n",
	         l->bit);
	if (run(l, cmd, err) != 0)
		return -1;
	*installed = true;
	return 0;
}
