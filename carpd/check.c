/*
 * carpd --check (-t): the configuration as parsed (the parser already
 * refused every bad keyword with file:line and read the password files as
 * secrets), then what only the host can tell: that each interface exists,
 * that each script can be run, that the control socket path fits. Prints
 * what carpd would run; changes nothing (no socket, no address, no hold).
 * For Ansible's `validate` and systemd's ExecStartPre.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "carpd.h"

/* A script carpd would run: a regular file it may execute. */
static int check_script(const struct cd_vhost_conf *vh, const char *key, const char *path)
{
	struct stat st;

	if (path == NULL)
		return 0;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: vhost %s %u: %s %s: %s\n", vh->where, vh->ifname, vh->vhid,
		        key, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
		fprintf(stderr, "%s: vhost %s %u: %s %s: not an executable file\n", vh->where,
		        vh->ifname, vh->vhid, key, path);
		return -1;
	}
	return 0;
}

static void print_vhost(const struct cd_vhost_conf *vh)
{
	char a[RD_ADDR_STRLEN];
	size_t i;

	printf("vhost %s %u (%s): advbase %u advskew %u deadratio %u%s%s%s%s\n", vh->ifname,
	       vh->vhid, vh->where, vh->advbase, vh->advskew, vh->deadratio,
	       vh->preempt ? ", preempt" : "", vh->neutral ? ", neutral" : "",
	       vh->replay_strict ? ", replay-strict" : "",
	       vh->ignoreifstate ? ", ignoreifstate" : "");
	printf("  addresses:");
	for (i = 0; i < vh->naddrs; i++)
		printf(" %s/%u", rd_addr_format(&vh->addrs[i], a, sizeof(a)), vh->prefixlen[i]);
	printf("\n  advertisements: ");
	if (vh->npeers == 0)
		printf("multicast");
	else
		for (i = 0; i < vh->npeers; i++)
			printf("%sunicast to %s", i ? ", " : "",
			       rd_addr_format(&vh->peers[i], a, sizeof(a)));
	printf(", %s\n", vh->has_pass ? "authenticated (password)" : "no password");
	printf("  groups:");
	for (i = 0; i < vh->ngroups && strcmp(vh->groups[i], "-" CD_GROUP_DEFAULT) != 0; i++)
		;
	if (i == vh->ngroups)
		printf(" " CD_GROUP_DEFAULT);
	for (i = 0; i < vh->ngroups; i++)
		if (vh->groups[i][0] != '-')
			printf(" %s", vh->groups[i]);
	printf("\n");
	if (vh->upscript == NULL && vh->downscript == NULL)
		printf("  addresses managed by carpd\n");
	else
		printf("  scripts: up %s, down %s%s%s\n", vh->upscript ? vh->upscript : "none",
		       vh->downscript ? vh->downscript : "none", vh->xparam ? ", xparam " : "",
		       vh->xparam ? vh->xparam : "");
}

int cd_config_check_run(const struct cd_config *cfg)
{
	size_t i;
	int bad = 0;

	if (strlen(cfg->control) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "control %s: expected a socket path of at most %zu bytes\n",
		        cfg->control, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		bad = 1;
	}
	for (i = 0; i < cfg->nvh; i++) {
		const struct cd_vhost_conf *vh = &cfg->vh[i];

		if (if_nametoindex(vh->ifname) == 0) {
			fprintf(stderr, "%s: vhost %s %u: interface %s: %s\n", vh->where,
			        vh->ifname, vh->vhid, vh->ifname, strerror(errno));
			bad = 1;
		}
		if (check_script(vh, "upscript", vh->upscript) < 0 ||
		    check_script(vh, "downscript", vh->downscript) < 0)
			bad = 1;
	}
	if (bad)
		return 1;
	printf("carpd: configuration %s OK\n",
	       cfg->config_file ? cfg->config_file : "(command line)");
	printf("control %s\n", cfg->control);
	if (cfg->startup_demote > 0)
		printf("startup-demote %d on " CD_GROUP_DEFAULT " for at most %d s\n",
		       cfg->startup_demote, cfg->startup_hold);
	else
		printf("startup-demote 0: no start-up hold\n");
	if (cfg->realtime > 0)
		printf("realtime: SCHED_FIFO priority %d, memory locked\n", cfg->realtime);
	for (i = 0; i < cfg->nvh; i++)
		print_vhost(&cfg->vh[i]);
	return 0;
}
