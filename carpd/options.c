/*
 * carpd: command-line options (ucarp's, long and short, with the same
 * meaning, plus carpd's own) and the per-vhost setters that the config file
 * shares, so that a keyword means the same in both places.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "carpd.h"

void cd_vhost_conf_init(struct cd_vhost_conf *vh)
{
	memset(vh, 0, sizeof(*vh));
	vh->advbase = 1;
	vh->deadratio = RD_CARP_DEADRATIO;
	strcpy(vh->where, "command line");
}

void cd_vhost_conf_free(struct cd_vhost_conf *vh)
{
	free(vh->upscript);
	free(vh->downscript);
	free(vh->xparam);
	vh->upscript = vh->downscript = vh->xparam = NULL;
}

void cd_config_free(struct cd_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nvh; i++)
		cd_vhost_conf_free(&cfg->vh[i]);
	free(cfg->vh);
	for (i = 0; i < cfg->ntrack; i++)
		cd_track_conf_free(&cfg->track[i]);
	free(cfg->track);
	free(cfg->notify);
	free(cfg->notify_master_before);
	free(cfg->control);
	free(cfg->config_file);
	memset(cfg, 0, sizeof(*cfg));
}

/* "ADDR" or "ADDR/PREFIX"; no prefix means a host route (/32 or /128). */
static int parse_addr_prefix(const char *s, struct rd_addr *a, uint8_t *plen)
{
	char buf[RD_ADDR_STRLEN + 8];
	char *slash;
	unsigned p;
	unsigned max;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	if (rd_addr_parse(buf, a) != 0)
		return -1;
	max = a->af == RD_AF_INET ? 32 : 128;
	if (slash == NULL) {
		*plen = (uint8_t)max;
		return 0;
	}
	if (dm_parse_uint(slash, 0, max, &p) < 0)
		return -1;
	*plen = (uint8_t)p;
	return 0;
}

static int set_pass(struct cd_vhost_conf *vh, const char *pass, char *err)
{
	if (rd_carp_key_from_pass(pass, vh->key) != 0) {
		cd_errf(err, "expected a password of at most %d characters", RD_CARP_KEY_LEN - 1);
		return -1;
	}
	vh->has_pass = true;
	return 0;
}

/*
 * ucarp's rule: the password is the file's first line. The file is read
 * whole and must be private (0600 or stricter), as ssh wants a private key.
 */
static int set_passfile(struct cd_vhost_conf *vh, const char *path, char *err)
{
	char *text;
	size_t len;
	int rc;

	if (dm_file_read(path, DM_FILE_SECRET, &text, &len, err, CD_ERR_LEN) < 0)
		return -1;
	text[strcspn(text, "\r\n")] = '\0';
	rc = set_pass(vh, text, err);
	dm_file_free(text, len);
	return rc;
}

static int set_str(char **dst, const char *arg, char *err)
{
	if (dm_str_set(dst, arg) < 0) {
		cd_errf(err, "out of memory");
		return -1;
	}
	return 0;
}

int cd_global_set(struct cd_config *cfg, const char *key, const char *arg, char *err)
{
	unsigned v;

	if (strcmp(key, "startup-demote") == 0) {
		if (dm_parse_uint(arg, 0, 255, &v) < 0) {
			cd_errf(err,
			        "expected a start-up demotion from 0 to 255 (0: no start-up hold), "
			        "got '%s'",
			        arg);
			return -1;
		}
		if (cfg->startup_demote < 0)
			cfg->startup_demote = (int)v;
	} else if (strcmp(key, "startup-hold") == 0) {
		if (dm_parse_uint(arg, 1, CD_HOLD_TTL_MAX, &v) < 0) {
			cd_errf(err, "expected a start-up hold from 1 to %d seconds, got '%s'",
			        CD_HOLD_TTL_MAX, arg);
			return -1;
		}
		if (cfg->startup_hold < 0)
			cfg->startup_hold = (int)v;
	} else if (strcmp(key, "realtime") == 0) {
		if (dm_parse_uint(arg, 0, 99, &v) < 0) {
			cd_errf(err,
			        "expected a SCHED_FIFO priority from 1 to 99 (0: no realtime), got "
			        "'%s'",
			        arg);
			return -1;
		}
		if (cfg->realtime < 0)
			cfg->realtime = (int)v;
	} else {
		cd_errf(err, "unknown keyword '%s'", key);
		return -1;
	}
	return 0;
}

/* `group NAME`: a demotion group besides carp, or "-carp" to leave carp. */
static int set_group(struct cd_vhost_conf *vh, const char *arg, char *err)
{
	size_t i;

	if (strcmp(arg, "-" CD_GROUP_DEFAULT) != 0) {
		if (arg[0] == '-') {
			cd_errf(err,
			        "expected a group name, or '-carp' to leave carp (only carp "
			        "can be left), got '%s'",
			        arg);
			return -1;
		}
		if (!rd_carp_group_name_ok(arg)) {
			cd_errf(err,
			        "expected a group name of 1 to %d printable characters without "
			        "spaces, got '%s'",
			        CD_NAME_MAX - 1, arg);
			return -1;
		}
		if (strcmp(arg, CD_GROUP_DEFAULT) == 0) {
			cd_errf(err, "expected a group other than carp: every vhost is in carp "
			             "unless 'group -carp'");
			return -1;
		}
	}
	for (i = 0; i < vh->ngroups; i++)
		if (strcmp(vh->groups[i], arg) == 0) {
			cd_errf(err, "expected each group once, got '%s' twice", arg);
			return -1;
		}
	if (vh->ngroups == CD_VHOST_GROUPS_MAX) {
		cd_errf(err, "expected at most %d groups per vhost", CD_VHOST_GROUPS_MAX);
		return -1;
	}
	snprintf(vh->groups[vh->ngroups++], CD_NAME_MAX, "%s", arg);
	return 0;
}

int cd_vhost_set(struct cd_vhost_conf *vh, const char *key, const char *arg, char *err)
{
	unsigned v;
	struct rd_addr a;
	uint8_t plen;

	if (strcmp(key, "interface") == 0) {
		if (dm_str_copy(vh->ifname, sizeof(vh->ifname), arg) < 0) {
			cd_errf(err, "expected an interface name of 1 to %d characters",
			        IF_NAMESIZE - 1);
			return -1;
		}
	} else if (strcmp(key, "srcip") == 0) {
		if (rd_addr_parse(arg, &a) != 0) {
			cd_errf(err, "expected an IPv4 or IPv6 address, got '%s'", arg);
			return -1;
		}
		if (a.af == RD_AF_INET)
			vh->src4 = a;
		else
			vh->src6 = a;
	} else if (strcmp(key, "vhid") == 0) {
		if (dm_parse_uint(arg, 1, 255, &v) < 0) {
			cd_errf(err, "expected a vhid from 1 to 255, got '%s'", arg);
			return -1;
		}
		vh->vhid = (uint8_t)v;
	} else if (strcmp(key, "pass") == 0) {
		return set_pass(vh, arg, err);
	} else if (strcmp(key, "passfile") == 0) {
		return set_passfile(vh, arg, err);
	} else if (strcmp(key, "preempt") == 0) {
		vh->preempt = true;
	} else if (strcmp(key, "neutral") == 0) {
		vh->neutral = true;
	} else if (strcmp(key, "replay-strict") == 0) {
		vh->replay_strict = true;
	} else if (strcmp(key, "ignoreifstate") == 0) {
		vh->ignoreifstate = true;
	} else if (strcmp(key, "vmac") == 0) {
		vh->vmac = true;
	} else if (strcmp(key, "addr") == 0) {
		if (parse_addr_prefix(arg, &a, &plen) < 0) {
			cd_errf(
			    err,
			    "expected an IPv4 or IPv6 address with an optional /prefix, got '%s'",
			    arg);
			return -1;
		}
		if (vh->naddrs >= RD_CARP_MAX_ADDRS) {
			cd_errf(err, "expected at most %d addresses per vhost", RD_CARP_MAX_ADDRS);
			return -1;
		}
		vh->addrs[vh->naddrs] = a;
		vh->prefixlen[vh->naddrs++] = plen;
	} else if (strcmp(key, "peer") == 0) {
		if (rd_addr_parse(arg, &a) != 0) {
			cd_errf(err, "expected a unicast IPv4 or IPv6 address, got '%s'", arg);
			return -1;
		}
		if (vh->npeers >= RD_CARP_MAX_PEERS) {
			cd_errf(err, "expected at most %d peers per vhost", RD_CARP_MAX_PEERS);
			return -1;
		}
		vh->peers[vh->npeers++] = a;
	} else if (strcmp(key, "advbase") == 0) {
		if (dm_parse_uint(arg, 0, 255, &v) < 0) {
			cd_errf(err, "expected an advbase from 0 to 255 seconds, got '%s'", arg);
			return -1;
		}
		vh->advbase = (uint8_t)v;
	} else if (strcmp(key, "advskew") == 0) {
		if (dm_parse_uint(arg, 0, 254, &v) < 0) {
			cd_errf(err, "expected an advskew from 0 to 254, got '%s'", arg);
			return -1;
		}
		vh->advskew = (uint8_t)v;
	} else if (strcmp(key, "deadratio") == 0) {
		if (dm_parse_uint(arg, 1, 255, &v) < 0) {
			cd_errf(err, "expected a deadratio from 1 to 255, got '%s'", arg);
			return -1;
		}
		vh->deadratio = (uint8_t)v;
	} else if (strcmp(key, "upscript") == 0) {
		return set_str(&vh->upscript, arg, err);
	} else if (strcmp(key, "downscript") == 0) {
		return set_str(&vh->downscript, arg, err);
	} else if (strcmp(key, "xparam") == 0) {
		return set_str(&vh->xparam, arg, err);
	} else if (strcmp(key, "group") == 0) {
		return set_group(vh, arg, err);
	} else {
		cd_errf(err, "unknown keyword '%s'", key);
		return -1;
	}
	return 0;
}

int cd_vhost_conf_check(const struct cd_vhost_conf *vh, char *err)
{
	size_t i;

	if (vh->ifname[0] == '\0') {
		cd_errf(err, "expected an interface (--interface/-i, or 'interface' in the file)");
		return -1;
	}
	if (vh->vhid == 0) {
		cd_errf(err, "expected a vhid (--vhid/-v, or 'vhid' in the file)");
		return -1;
	}
	if (vh->naddrs == 0) {
		cd_errf(err, "expected at least one virtual address (--addr/-a, or 'addr')");
		return -1;
	}
	for (i = 0; vh->vmac && i < vh->naddrs; i++)
		if (vh->addrs[i].af != RD_AF_INET) {
			cd_errf(err, "expected IPv4 addresses only with vmac");
			return -1;
		}
	for (i = 0; i < vh->npeers; i++) {
		const struct rd_addr *p = &vh->peers[i];
		char a[RD_ADDR_STRLEN];
		size_t j;

		/* The engine's own peer check, asked now to name the address
		 * and what it is (multicast, broadcast, unspecified, ...). */
		const char *why = rd_carp_peer_refusal(p);

		if (why != NULL) {
			cd_errf(err, "expected a unicast peer address, got %s (%s)",
			        rd_addr_format(p, a, sizeof(a)), why);
			return -1;
		}
		/* Advertisements to a peer carry the addresses of its family only. */
		for (j = 0; j < vh->naddrs && vh->addrs[j].af != p->af; j++)
			;
		if (j == vh->naddrs) {
			cd_errf(err, "expected a virtual address of peer %s's family",
			        rd_addr_format(p, a, sizeof(a)));
			return -1;
		}
	}
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool cd_vhost_conf_groups_equal(const struct cd_vhost_conf *a, const struct cd_vhost_conf *b)
{
	size_t i, j;

	/* The same set, in any order. */
	if (a->ngroups != b->ngroups)
		return false;
	for (i = 0; i < a->ngroups; i++) {
		for (j = 0; j < b->ngroups && strcmp(a->groups[i], b->groups[j]) != 0; j++)
			;
		if (j == b->ngroups)
			return false;
	}
	return true;
}

bool cd_vhost_conf_equal(const struct cd_vhost_conf *a, const struct cd_vhost_conf *b)
{
	size_t i;

	if (strcmp(a->ifname, b->ifname) != 0 || a->vhid != b->vhid || a->advbase != b->advbase ||
	    a->advskew != b->advskew || a->deadratio != b->deadratio || a->preempt != b->preempt ||
	    a->neutral != b->neutral || a->replay_strict != b->replay_strict ||
	    a->ignoreifstate != b->ignoreifstate || a->vmac != b->vmac ||
	    memcmp(a->key, b->key, sizeof(a->key)) != 0 || a->naddrs != b->naddrs ||
	    a->npeers != b->npeers || rd_addr_cmp(&a->src4, &b->src4) != 0 ||
	    rd_addr_cmp(&a->src6, &b->src6) != 0 || !str_eq(a->upscript, b->upscript) ||
	    !str_eq(a->downscript, b->downscript) || !str_eq(a->xparam, b->xparam))
		return false;
	for (i = 0; i < a->naddrs; i++)
		if (rd_addr_cmp(&a->addrs[i], &b->addrs[i]) != 0 ||
		    a->prefixlen[i] != b->prefixlen[i])
			return false;
	for (i = 0; i < a->npeers; i++)
		if (rd_addr_cmp(&a->peers[i], &b->peers[i]) != 0)
			return false;
	return true;
}

int cd_facility_by_name(const char *name)
{
	static const struct {
		const char *name;
		int value;
	} facilities[] = {
	    {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
	    {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},           {"kern", LOG_KERN},
	    {"lpr", LOG_LPR},       {"mail", LOG_MAIL},         {"news", LOG_NEWS},
	    {"syslog", LOG_SYSLOG}, {"user", LOG_USER},         {"uucp", LOG_UUCP},
	    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
	    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
	    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};
	size_t i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facilities[i].name, name) == 0)
			return facilities[i].value;
	return -1;
}

/*
 * carpd's keywords, one table for the command line and the config file
 * (daemon.h's parser): ucarp's options keep their letters and meaning; a
 * vhost keyword (CD_O_VHOST) is applied by cd_vhost_set under its name.
 */
static const struct dm_opt opt_table[] = {
    {"interface", 'i', CD_O_VHOST, 1, DM_OPT_BOTH, "IF"},
    {"srcip", 's', CD_O_VHOST, 1, DM_OPT_BOTH, "ADDR"},
    {"vhid", 'v', CD_O_VHOST, 1, DM_OPT_BOTH, "N"},
    {"pass", 'p', CD_O_VHOST, 1, DM_OPT_BOTH, "PASS"},
    {"passfile", 'o', CD_O_VHOST, 1, DM_OPT_BOTH, "FILE"},
    {"preempt", 'P', CD_O_VHOST, 0, DM_OPT_BOTH, NULL},
    {"neutral", 'n', CD_O_VHOST, 0, DM_OPT_BOTH, NULL},
    {"addr", 'a', CD_O_VHOST, 1, DM_OPT_BOTH, "ADDR[/PREFIX]"},
    {"advbase", 'b', CD_O_VHOST, 1, DM_OPT_BOTH, "SECONDS"},
    {"advskew", 'k', CD_O_VHOST, 1, DM_OPT_BOTH, "N"},
    {"upscript", 'u', CD_O_VHOST, 1, DM_OPT_BOTH, "FILE"},
    {"downscript", 'd', CD_O_VHOST, 1, DM_OPT_BOTH, "FILE"},
    {"deadratio", 'r', CD_O_VHOST, 1, DM_OPT_BOTH, "N"},
    {"shutdown", 'z', CD_O_SHUTDOWN, 0, DM_OPT_CLI, NULL},
    {"daemonize", 'B', CD_O_DAEMONIZE, 0, DM_OPT_CLI, NULL},
    {"ignoreifstate", 'S', CD_O_VHOST, 0, DM_OPT_BOTH, NULL},
    {"facility", 'f', CD_O_FACILITY, 1, DM_OPT_BOTH, "NAME"},
    {"xparam", 'x', CD_O_VHOST, 1, DM_OPT_BOTH, "STRING"},
    {"debug", 'D', CD_O_DEBUG, 0, DM_OPT_CLI, NULL},
    {"help", 'h', CD_O_HELP, 0, DM_OPT_CLI, NULL},
    {"check", 't', CD_O_CHECK, 0, DM_OPT_CLI, NULL},
    {"peer", 0, CD_O_VHOST, 1, DM_OPT_BOTH, "ADDR"},
    {"config", 'c', CD_O_CONFIG, 1, DM_OPT_CLI, "FILE"},
    {"control", 0, CD_O_CONTROL, 1, DM_OPT_BOTH, "PATH"},
    {"replay-strict", 0, CD_O_VHOST, 0, DM_OPT_BOTH, NULL},
    {"version", 0, CD_O_VERSION, 0, DM_OPT_CLI, NULL},
    {"startup-demote", 0, CD_O_STARTUP, 1, DM_OPT_BOTH, "N"},
    {"startup-hold", 0, CD_O_STARTUP, 1, DM_OPT_BOTH, "SECONDS"},
    {"realtime", 0, CD_O_STARTUP, 1, DM_OPT_BOTH, "PRIORITY"},
    {"group", 0, CD_O_VHOST, 1, DM_OPT_BOTH, "NAME"},
    {"vmac", 0, CD_O_VHOST, 0, DM_OPT_BOTH, NULL},
    {"vhost", 0, CD_O_VHOST_LINE, 2, DM_OPT_FILE, "INTERFACE VHID"},
    {"track-interface", 0, CD_O_TRACK, DM_OPT_NARGS_MANY, DM_OPT_FILE, "IF [weight N] [group G]"},
    {"track-script", 0, CD_O_TRACK, DM_OPT_NARGS_MANY, DM_OPT_FILE,
     "PATH [interval S] [timeout S] [fall N] [rise N] [weight N] [group G]"},
    {"notify", 0, CD_O_NOTIFY, 1, DM_OPT_FILE, "PATH"},
    {"notify-master-before", 0, CD_O_NOTIFY, DM_OPT_NARGS_MANY, DM_OPT_FILE, "PATH [timeout S]"},
};

const struct dm_opts cd_opts = {"carpd", opt_table, sizeof(opt_table) / sizeof(opt_table[0])};

static void usage(void)
{
	printf(
	    "Usage: carpd [options]\n"
	    "       carpd -c FILE [--control PATH] [-B] [-D] [-f FACILITY]\n"
	    "\n"
	    "ucarp's options:\n"
	    "  -i, --interface IF     interface to run on\n"
	    "  -s, --srcip ADDR       source address of advertisements (repeat for IPv4+IPv6)\n"
	    "  -v, --vhid N           virtual host id, 1..255\n"
	    "  -p, --pass PASS        password (at most 19 characters)\n"
	    "  -o, --passfile FILE    read the password from the first line of FILE (mode\n"
	    "                         0600: refused if group or others can access it)\n"
	    "  -P, --preempt          take over from a slower master\n"
	    "  -n, --neutral          no downscript at start\n"
	    "  -a, --addr ADDR[/LEN]  virtual address, IPv4 or IPv6 (repeatable)\n"
	    "  -b, --advbase S        advertisement base interval in seconds (0..255; default 1)\n"
	    "  -k, --advskew N        skew, in 1/256 s (0..254; default 0)\n"
	    "  -u, --upscript FILE    run 'FILE IF ADDR [XPARAM]' on becoming master\n"
	    "  -d, --downscript FILE  run 'FILE IF ADDR [XPARAM]' on leaving master\n"
	    "  -r, --deadratio N      master-down after N intervals (default 3)\n"
	    "  -z, --shutdown         run the downscript at exit (carpd always does)\n"
	    "  -B, --daemonize        run in the background\n"
	    "  -S, --ignoreifstate    ignore the interface's link state\n"
	    "  -f, --facility NAME    syslog facility (default daemon; 'none' disables)\n"
	    "  -x, --xparam STR       extra argument for the scripts\n"
	    "  -D, --debug            debug messages\n"
	    "carpd's own:\n"
	    "      --peer ADDR        unicast peer instead of multicast (repeatable)\n"
	    "  -c, --config FILE      vhosts and interfaces from FILE (see carpd(8))\n"
	    "      --control PATH     control socket (default " CD_DEFAULT_CONTROL ")\n"
	    "      --replay-strict    refuse advertisements whose counter does not grow\n"
	    "      --group NAME       demotion group besides carp (repeatable; '-carp'\n"
	    "                         leaves carp)\n"
	    "      --vmac             addresses and advertisements on a macvlan with the\n"
	    "                         CARP MAC 00:00:5e:00:01:VHID (IPv4)\n"
	    "      --startup-demote N demotion of group carp at start, until syncd reports\n"
	    "                         or a demote request (0..255; default 128; 0: none)\n"
	    "      --startup-hold S   release the start-up demotion after S seconds anyway\n"
	    "                         (1..86400; default 30)\n"
	    "      --realtime N       run under SCHED_FIFO at priority N (1..99) with memory\n"
	    "                         locked; for sub-second advertisements (default 0: off)\n"
	    "  -t, --check            check the configuration (interfaces, scripts,\n"
	    "                         password files), print what would run, exit 0 or 1\n"
	    "      --version, -h/--help\n"
	    "Without -u/-d, carpd adds and removes the virtual addresses itself.\n");
}

void cd_config_defaults(struct cd_config *cfg)
{
	if (cfg->startup_demote < 0)
		cfg->startup_demote = CD_DEFAULT_STARTUP_DEMOTE;
	if (cfg->startup_hold < 0)
		cfg->startup_hold = CD_DEFAULT_STARTUP_HOLD;
	if (cfg->realtime < 0)
		cfg->realtime = 0;
}

int cd_facility_set(struct cd_config *cfg, const char *arg, char *err)
{
	int f;

	if (strcmp(arg, "none") == 0) {
		cfg->no_syslog = true;
		return 0;
	}
	f = cd_facility_by_name(arg);
	if (f < 0) {
		cd_errf(err, "expected a syslog facility name or 'none', got '%s'", arg);
		return -1;
	}
	cfg->facility = f;
	return 0;
}

/* One option of the command line, in order (the vhost ones into *cli). */
static int apply(struct cd_config *cfg, struct cd_vhost_conf *cli, const struct dm_arg *a,
                 char *err)
{
	const char *name = a->opt->name;

	switch (a->opt->id) {
	case CD_O_SHUTDOWN:
		cfg->shutdown = true;
		return 0;
	case CD_O_DAEMONIZE:
		cfg->daemonize = true;
		return 0;
	case CD_O_DEBUG:
		cfg->debug = true;
		return 0;
	case CD_O_CHECK:
		cfg->check = true;
		return 0;
	case CD_O_FACILITY:
		cfg->cli_facility = true;
		return cd_facility_set(cfg, a->arg, err);
	case CD_O_CONFIG:
	case CD_O_CONTROL:
		if (a->opt->id == CD_O_CONTROL)
			cfg->cli_control = true;
		if (dm_str_set(a->opt->id == CD_O_CONFIG ? &cfg->config_file : &cfg->control,
		               a->arg) < 0) {
			cd_errf(err, "out of memory");
			return -1;
		}
		return 0;
	case CD_O_STARTUP:
		/* The last one given wins, as for the other options. */
		if (strcmp(name, "startup-demote") == 0) {
			cfg->startup_demote = -1;
			cfg->cli_startup_demote = true;
		} else if (strcmp(name, "realtime") == 0) {
			cfg->realtime = -1;
			cfg->cli_realtime = true;
		} else {
			cfg->startup_hold = -1;
			cfg->cli_startup_hold = true;
		}
		return cd_global_set(cfg, name, a->arg, err);
	case CD_O_VHOST:
		return cd_vhost_set(cli, name, a->arg, err);
	default:
		cd_errf(err, "unexpected option");
		return -1;
	}
}

static int options_parse(int argc, char **argv, struct cd_config *cfg, char *err, bool *check);

int cd_options_parse(int argc, char **argv, struct cd_config *cfg, char *err)
{
	bool check = false;
	int rc = options_parse(argc, argv, cfg, err, &check);

	/* Freed, but main still needs to know: --check exits 1, not 2, on any error. */
	if (rc < 0)
		cfg->check = check;
	return rc;
}

static int options_parse(int argc, char **argv, struct cd_config *cfg, char *err, bool *check)
{
	struct cd_vhost_conf cli;
	struct dm_arg *args = NULL;
	size_t nargs = 0, i;
	bool vhost_opts = false;
	char keyerr[CD_ERR_LEN];

	memset(cfg, 0, sizeof(*cfg));
	cfg->facility = -1;
	cfg->startup_demote = cfg->startup_hold = cfg->realtime = -1;
	cd_vhost_conf_init(&cli);
	if (dm_opts_scan(&cd_opts, argc, argv, &args, &nargs, err, CD_ERR_LEN) < 0)
		goto fail;
	/* --help and --version answer whatever else is there, the file unread. */
	for (i = 0; i < nargs; i++)
		if (args[i].opt->id == CD_O_HELP || args[i].opt->id == CD_O_VERSION) {
			if (args[i].opt->id == CD_O_HELP)
				usage();
			else
				printf("carpd (libredund) %s\n", rd_version());
			free(args);
			cd_vhost_conf_free(&cli);
			return 1;
		}
	*check = dm_opts_count(args, nargs, CD_O_CHECK) > 0;
	if (dm_opts_count(args, nargs, CD_O_CONFIG) > 1) {
		cd_errf(err, "--config: given twice (one configuration file)");
		goto fail;
	}
	for (i = 0; i < nargs; i++) {
		if (args[i].opt->id == CD_O_VHOST)
			vhost_opts = true;
		if (apply(cfg, &cli, &args[i], keyerr) < 0) {
			cd_errf(err, "--%s: %s", args[i].opt->name, keyerr);
			goto fail;
		}
	}
	free(args);
	args = NULL;
	if (cfg->config_file != NULL) {
		if (vhost_opts) {
			cd_errf(
			    err,
			    "vhost options (-i, -v, -a, ...) go in the --config file, not on the "
			    "command line");
			goto fail;
		}
		cd_vhost_conf_free(&cli);
		/* --control, --facility and --startup-* on the command line win over the file's. */
		if (cd_config_load(cfg->config_file, cfg, err) < 0) {
			cd_config_free(cfg);
			return -1;
		}
		if (cfg->control == NULL && dm_str_set(&cfg->control, CD_DEFAULT_CONTROL) < 0) {
			cd_errf(err, "out of memory");
			cd_config_free(cfg);
			return -1;
		}
		cd_config_defaults(cfg);
		return 0;
	}
	if (cfg->control == NULL && dm_str_set(&cfg->control, CD_DEFAULT_CONTROL) < 0) {
		cd_errf(err, "out of memory");
		goto fail;
	}
	if (cd_vhost_conf_check(&cli, keyerr) < 0) {
		cd_errf(err, "%s", keyerr);
		goto fail;
	}
	cfg->vh = malloc(sizeof(*cfg->vh));
	if (cfg->vh == NULL) {
		cd_errf(err, "out of memory");
		goto fail;
	}
	cfg->vh[0] = cli;
	cfg->nvh = 1;
	cd_config_defaults(cfg);
	return 0;
fail:
	free(args);
	cd_vhost_conf_free(&cli);
	cd_config_free(cfg);
	return -1;
}
