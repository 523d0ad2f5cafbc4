/* redundctl: the sync subcommands that talk to syncd's control socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redundctl.h"

#define SYNCD_CONTROL "/run/syncd.sock"

static int ask(const struct rctl_opts *o, const char *line)
{
	char *body;
	int rc = rctl_request(o->control != NULL ? o->control : SYNCD_CONTROL, line, &body);

	if (rc == 0) {
		fputs(body, stdout);
		free(body);
	}
	return rc;
}

int rctl_sync_status(const struct rctl_opts *o, int argc, char **argv)
{
	if (argc == 0)
		return ask(o, "status");
	if (argc == 1 && strcmp(argv[0], "--json") == 0)
		return ask(o, "status json");
	fprintf(stderr, "usage: redundctl sync status [--json]\n");
	return 2;
}

int rctl_sync_bulk(const struct rctl_opts *o, int argc, char **argv)
{
	(void)argv;
	if (argc != 0) {
		fprintf(stderr, "usage: redundctl sync bulk\n");
		return 2;
	}
	return ask(o, "bulk");
}
