/*
 * syncd --check (-t): the configuration as sd_options_parse left it (every
 * keyword checked with file:line, the key files read as secrets and their
 * ids checked), then what only the host can tell: that the interface
 * exists. Prints what syncd would run; changes nothing (no socket, no
 * conntrack, no state directory written). For Ansible's `validate` and
 * systemd's ExecStartPre.
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "syncd.h"

int sd_config_check_run(const struct sd_config *cfg)
{
	struct rd_sync_key keys[SD_MAX_KEYS];
	char err[SD_ERR_LEN], a[RD_ADDR_STRLEN];
	size_t nkeys = 0, i;

	if (cfg->ifname[0] != '\0' && if_nametoindex(cfg->ifname) == 0) {
		fprintf(stderr, "%s%sinterface %s: %s\n", cfg->config_file ? cfg->config_file : "",
		        cfg->config_file ? ": " : "", cfg->ifname, strerror(errno));
		return 1;
	}
	/* Read again for their ids (sd_options_parse wiped them). */
	if (sd_keys_load(cfg, keys, &nkeys, err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("syncd: configuration %s OK\n",
	       cfg->config_file ? cfg->config_file : "(command line)");
	printf("mode %s, port %u\n", cfg->mode == RD_IO_SYNC_SECURE ? "secure" : "plain",
	       cfg->port ? cfg->port : RD_SYNC_UDP_PORT);
	if (cfg->npeers == 0) {
		printf("multicast on %s", cfg->ifname);
		if (cfg->group.af != RD_AF_UNSPEC)
			printf(", group %s", rd_addr_format(&cfg->group, a, sizeof(a)));
		printf("\n");
	} else {
		printf("unicast peers:");
		for (i = 0; i < cfg->npeers; i++)
			printf(" %s", rd_addr_format(&cfg->peers[i], a, sizeof(a)));
		printf("%s%s\n", cfg->ifname[0] ? ", interface " : "", cfg->ifname);
	}
	for (i = 0; i < nkeys; i++)
		printf("key %s: key id %" PRIu32 "%s%s%s\n", cfg->keyfiles[i], keys[i].id,
		       keys[i].aead != RD_SYNC_AEAD_XCHACHA20POLY1305 ? ", aead " : "",
		       keys[i].aead != RD_SYNC_AEAD_XCHACHA20POLY1305
		           ? rd_sync_aead_name(keys[i].aead)
		           : "",
		       keys[i].id == sd_send_keyid(cfg, keys) ? " (seals)" : "");
	sodium_memzero(keys, sizeof(keys));
	if (cfg->creatorid != 0)
		printf("creatorid %08" PRIx32 "\n", cfg->creatorid);
	else
		printf("creatorid kept in %s/creatorid\n",
		       cfg->state_dir ? cfg->state_dir : SD_DEFAULT_STATE_DIR);
	printf("bulk at start %s, apply to conntrack %s", cfg->bulk ? "yes" : "no",
	       cfg->apply ? "yes" : "no");
	if (cfg->apply && cfg->label >= 0)
		printf(", label bit %d", cfg->label);
	printf("\ncontrol %s\n", cfg->control);
	if (cfg->carpd_control != NULL)
		printf("hold carpd at %s, group %s\n", cfg->carpd_control,
		       cfg->demote_group ? cfg->demote_group : "carp");
	return 0;
}
