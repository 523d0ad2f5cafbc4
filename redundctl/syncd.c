/* redundctl: the sync subcommands that talk to syncd's control socket. */

#include "redundctl.h"

#define SYNCD_CONTROL "/run/syncd.sock"

int rctl_sync_status(const struct rctl_opts *o, int argc, char **argv)
{
	return rctl_status(o, SYNCD_CONTROL, "sync", argc, argv);
}

int rctl_sync_bulk(const struct rctl_opts *o, int argc, char **argv)
{
	(void)argv;
	return rctl_noarg(o, SYNCD_CONTROL, "sync", "bulk", argc);
}

int rctl_sync_commit(const struct rctl_opts *o, int argc, char **argv)
{
	(void)argv;
	return rctl_noarg(o, SYNCD_CONTROL, "sync", "commit", argc);
}
