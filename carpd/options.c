/*
 * carpd: command-line options (ucarp's, long and short, with the same
 * meaning, plus carpd's own) and the per-vhost setters that the config file
 * shares, so that a keyword means the same in both places.
 */
#include <errno.h>
#include <getopt.h>
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

/* ucarp reads the first line of the file. */
static int set_passfile(struct cd_vhost_conf *vh, const char *path, char *err)
{
	char line[256];
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL) {
		cd_errf(err, "expected a readable password file, %s: %s", path, strerror(errno));
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return set_pass(vh, line, err);
}

static int set_str(char **dst, const char *arg, char *err)
{
	if (dm_str_set(dst, arg) < 0) {
		cd_errf(err, "out of memory");
		return -1;
	}
	return 0;
}

bool cd_global_key_known(const char *key)
{
	return strcmp(key, "startup-demote") == 0 || strcmp(key, "startup-hold") == 0;
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

struct vkey {
	const char *name;
	bool arg;
};

static const struct vkey vkeys[] = {
    {"interface", true},      {"srcip", true},    {"vhid", true},     {"pass", true},
    {"passfile", true},       {"preempt", false}, {"neutral", false}, {"addr", true},
    {"advbase", true},        {"advskew", true},  {"upscript", true}, {"downscript", true},
    {"deadratio", true},      {"xparam", true},   {"peer", true},     {"replay-strict", false},
    {"ignoreifstate", false}, {"group", true},
};

bool cd_vhost_key_known(const char *key, bool *takes_arg)
{
	size_t i;

	for (i = 0; i < sizeof(vkeys) / sizeof(vkeys[0]); i++)
		if (strcmp(vkeys[i].name, key) == 0) {
			if (takes_arg != NULL)
				*takes_arg = vkeys[i].arg;
			return true;
		}
	return false;
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
	    a->ignoreifstate != b->ignoreifstate || memcmp(a->key, b->key, sizeof(a->key)) != 0 ||
	    a->naddrs != b->naddrs || a->npeers != b->npeers ||
	    rd_addr_cmp(&a->src4, &b->src4) != 0 || rd_addr_cmp(&a->src6, &b->src6) != 0 ||
	    !str_eq(a->upscript, b->upscript) || !str_eq(a->downscript, b->downscript) ||
	    !str_eq(a->xparam, b->xparam))
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

/* Long-only options get values above the char range. */
enum {
	OPT_PEER = 256,
	OPT_CONFIG,
	OPT_CONTROL,
	OPT_REPLAY_STRICT,
	OPT_VERSION,
	OPT_STARTUP_DEMOTE,
	OPT_STARTUP_HOLD,
	OPT_GROUP,
};

static const struct option longopts[] = {
    {"interface", required_argument, NULL, 'i'},
    {"srcip", required_argument, NULL, 's'},
    {"vhid", required_argument, NULL, 'v'},
    {"pass", required_argument, NULL, 'p'},
    {"passfile", required_argument, NULL, 'o'},
    {"preempt", no_argument, NULL, 'P'},
    {"neutral", no_argument, NULL, 'n'},
    {"addr", required_argument, NULL, 'a'},
    {"advbase", required_argument, NULL, 'b'},
    {"advskew", required_argument, NULL, 'k'},
    {"upscript", required_argument, NULL, 'u'},
    {"downscript", required_argument, NULL, 'd'},
    {"deadratio", required_argument, NULL, 'r'},
    {"shutdown", no_argument, NULL, 'z'},
    {"daemonize", no_argument, NULL, 'B'},
    {"ignoreifstate", no_argument, NULL, 'S'},
    {"facility", required_argument, NULL, 'f'},
    {"xparam", required_argument, NULL, 'x'},
    {"debug", no_argument, NULL, 'D'},
    {"help", no_argument, NULL, 'h'},
    {"peer", required_argument, NULL, OPT_PEER},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"replay-strict", no_argument, NULL, OPT_REPLAY_STRICT},
    {"version", no_argument, NULL, OPT_VERSION},
    {"startup-demote", required_argument, NULL, OPT_STARTUP_DEMOTE},
    {"startup-hold", required_argument, NULL, OPT_STARTUP_HOLD},
    {"group", required_argument, NULL, OPT_GROUP},
    {NULL, 0, NULL, 0},
};

static void usage(void)
{
	printf(
	    "Usage: carpd [options]\n"
	    "       carpd --config FILE [--control PATH] [-B] [-D] [-f FACILITY]\n"
	    "\n"
	    "ucarp's options:\n"
	    "  -i, --interface IF     interface to run on\n"
	    "  -s, --srcip ADDR       source address of advertisements (repeat for IPv4+IPv6)\n"
	    "  -v, --vhid N           virtual host id, 1..255\n"
	    "  -p, --pass PASS        password (at most 19 characters)\n"
	    "  -o, --passfile FILE    read the password from the first line of FILE\n"
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
	    "      --config FILE      vhosts and interfaces from FILE (see carpd(8))\n"
	    "      --control PATH     control socket (default " CD_DEFAULT_CONTROL ")\n"
	    "      --replay-strict    refuse advertisements whose counter does not grow\n"
	    "      --group NAME       demotion group besides carp (repeatable; '-carp'\n"
	    "                         leaves carp)\n"
	    "      --startup-demote N demotion of group carp at start, until syncd reports\n"
	    "                         or a demote request (0..255; default 128; 0: none)\n"
	    "      --startup-hold S   release the start-up demotion after S seconds anyway\n"
	    "                         (1..86400; default 30)\n"
	    "      --version, -h/--help\n"
	    "Without -u/-d, carpd adds and removes the virtual addresses itself.\n");
}

void cd_config_defaults(struct cd_config *cfg)
{
	if (cfg->startup_demote < 0)
		cfg->startup_demote = CD_DEFAULT_STARTUP_DEMOTE;
	if (cfg->startup_hold < 0)
		cfg->startup_hold = CD_DEFAULT_STARTUP_HOLD;
}

int cd_options_parse(int argc, char **argv, struct cd_config *cfg, char *err)
{
	struct cd_vhost_conf cli;
	bool vhost_opts = false;
	int c;
	char keyerr[CD_ERR_LEN];

	memset(cfg, 0, sizeof(*cfg));
	cfg->facility = -1;
	cfg->startup_demote = cfg->startup_hold = -1;
	cd_vhost_conf_init(&cli);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:s:v:p:o:Pna:b:k:u:d:r:zBSf:x:Dh", longopts,
	                        NULL)) != -1) {
		const char *key = NULL;

		switch (c) {
		case 'z':
			cfg->shutdown = true;
			continue;
		case 'B':
			cfg->daemonize = true;
			continue;
		case 'D':
			cfg->debug = true;
			continue;
		case 'h':
			usage();
			cd_vhost_conf_free(&cli);
			return 1;
		case OPT_VERSION:
			printf("carpd (libredund) %s\n", rd_version());
			cd_vhost_conf_free(&cli);
			return 1;
		case 'f':
			if (strcmp(optarg, "none") == 0) {
				cfg->no_syslog = true;
				continue;
			}
			cfg->facility = cd_facility_by_name(optarg);
			if (cfg->facility < 0) {
				cd_errf(
				    err,
				    "--facility: expected a syslog facility name or 'none', got "
				    "'%s'",
				    optarg);
				goto fail;
			}
			continue;
		case OPT_CONFIG:
			if (dm_str_set(&cfg->config_file, optarg) < 0) {
				cd_errf(err, "out of memory");
				goto fail;
			}
			continue;
		case OPT_CONTROL:
			if (dm_str_set(&cfg->control, optarg) < 0) {
				cd_errf(err, "out of memory");
				goto fail;
			}
			continue;
		case OPT_STARTUP_DEMOTE:
		case OPT_STARTUP_HOLD: {
			const char *g = c == OPT_STARTUP_DEMOTE ? "startup-demote" : "startup-hold";

			/* The last one given wins, as for the other options. */
			if (c == OPT_STARTUP_DEMOTE)
				cfg->startup_demote = -1;
			else
				cfg->startup_hold = -1;
			if (cd_global_set(cfg, g, optarg, keyerr) < 0) {
				cd_errf(err, "--%s: %s", g, keyerr);
				goto fail;
			}
			continue;
		}
		case ':':
			cd_errf(err, "option '%s' expects an argument", argv[optind - 1]);
			goto fail;
		case '?':
			if (optopt != 0)
				cd_errf(err, "unknown option '-%c' (see carpd --help)", optopt);
			else
				cd_errf(err, "unknown option '%s' (see carpd --help)",
				        argv[optind - 1]);
			goto fail;
		case 'i':
			key = "interface";
			break;
		case 's':
			key = "srcip";
			break;
		case 'v':
			key = "vhid";
			break;
		case 'p':
			key = "pass";
			break;
		case 'o':
			key = "passfile";
			break;
		case 'P':
			key = "preempt";
			break;
		case 'n':
			key = "neutral";
			break;
		case 'a':
			key = "addr";
			break;
		case 'b':
			key = "advbase";
			break;
		case 'k':
			key = "advskew";
			break;
		case 'u':
			key = "upscript";
			break;
		case 'd':
			key = "downscript";
			break;
		case 'r':
			key = "deadratio";
			break;
		case 'x':
			key = "xparam";
			break;
		case 'S':
			key = "ignoreifstate";
			break;
		case OPT_PEER:
			key = "peer";
			break;
		case OPT_REPLAY_STRICT:
			key = "replay-strict";
			break;
		case OPT_GROUP:
			key = "group";
			break;
		default:
			cd_errf(err, "unexpected option");
			goto fail;
		}
		vhost_opts = true;
		if (cd_vhost_set(&cli, key, optarg, keyerr) < 0) {
			cd_errf(err, "--%s: %s", key, keyerr);
			goto fail;
		}
	}
	if (optind < argc) {
		cd_errf(err, "unexpected argument '%s' (see carpd --help)", argv[optind]);
		goto fail;
	}
	if (cfg->config_file != NULL) {
		if (vhost_opts) {
			cd_errf(
			    err,
			    "vhost options (-i, -v, -a, ...) go in the --config file, not on the "
			    "command line");
			goto fail;
		}
		cd_vhost_conf_free(&cli);
		/* --control and --startup-* on the command line win over the file's. */
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
	cd_vhost_conf_free(&cli);
	cd_config_free(cfg);
	return -1;
}
