/*
 * syncd: configuration. The command line's long options and the config
 * file's keywords are the same words with the same meaning:
 *
 *   # comment
 *   interface eth1          the sync interface (multicast; arrival check)
 *   peer 192.0.2.2          a unicast peer (repeat; none: multicast group)
 *   mode secure             secure (default) or plain
 *   key /etc/syncd.key      pre-shared key file (repeat up to 4: rotation)
 *   send-keyid 2            which key seals (default: the first file's)
 *   port 8240               UDP port of secure mode
 *   group 224.0.0.240       multicast group (secure: 224.0.0.240 / ff02::f0)
 *   local 192.0.2.1         address to bind / send from
 *   creatorid 0a0b0c0d      this node's pfsync creatorid, hex (default: kept in state-dir)
 *   state-dir /var/lib/syncd where the creatorid is kept across restarts
 *   label 127               conntrack label bit marking entries written for peers (off: none)
 *   mtu 1500                largest datagram on the link (IP header included)
 *   limit 1000000           state table limit
 *   maxupd 128              TCP updates coalesced before a send
 *   bulk-rate 80000         plain mode: states a second our bulk answers send
 *   no-bulk                 do not ask the peers for their states at start
 *   no-apply                keep peers' states in syncd only (not in the kernel)
 *   strict-own              leave our own TCP entries strict (no be-liberal flag)
 *   check-ttl               secure mode: refuse TTL != 255 too
 *   carpd-control PATH      hold carpd back while the join bulk runs (a level, re-stated)
 *   demote-group NAME       the carpd group held (default carp: every vhost)
 *   control /run/syncd.sock our control socket
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "hold.h"
#include "redund/carp.h"
#include "syncd.h"

_Static_assert(SD_HOLD_GROUP_MAX == RD_CARP_GROUP_NAME_MAX - 1,
               "syncd holds the groups carpd can name");

/* Messages into the caller's SD_ERR_LEN bytes (daemon.h's dm_errf). */
#define errf(err, ...) dm_errf((err), SD_ERR_LEN, __VA_ARGS__)

void sd_config_init(struct sd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = RD_IO_SYNC_SECURE;
	cfg->bulk = true;
	cfg->apply = true;
	cfg->limit = 1000000;
	cfg->bulk_rate = SD_BULK_RATE;
	cfg->label = SD_DEFAULT_LABEL;
}

void sd_config_free(struct sd_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nkeyfiles; i++)
		free(cfg->keyfiles[i]);
	free(cfg->carpd_control);
	free(cfg->state_dir);
	free(cfg->demote_group);
	free(cfg->control);
	free(cfg->config_file);
	memset(cfg, 0, sizeof(*cfg));
}

/* Keywords taking an argument, and flags. */
static const char *const with_arg[] = {
    "interface", "peer",          "mode",         "key",     "send-keyid", "port",  "group",
    "local",     "creatorid",     "state-dir",    "label",   "mtu",        "limit", "maxupd",
    "bulk-rate", "carpd-control", "demote-group", "control", "config",
};
static const char *const flags[] = {"no-bulk",   "no-apply", "strict-own",
                                    "check-ttl", "debug",    "foreground"};

static bool known(const char *key, bool *takes_arg)
{
	size_t i;

	for (i = 0; i < sizeof(with_arg) / sizeof(with_arg[0]); i++)
		if (strcmp(key, with_arg[i]) == 0) {
			*takes_arg = true;
			return true;
		}
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(key, flags[i]) == 0) {
			*takes_arg = false;
			return true;
		}
	return false;
}

int sd_config_set(struct sd_config *cfg, const char *key, const char *arg, char *err)
{
	uint64_t v;
	bool takes;

	if (!known(key, &takes)) {
		errf(err, "unknown keyword '%s'", key);
		return -1;
	}
	if (takes != (arg != NULL)) {
		errf(err, "'%s' %s", key, takes ? "needs an argument" : "takes no argument");
		return -1;
	}
	if (strcmp(key, "interface") == 0) {
		if (dm_str_copy(cfg->ifname, sizeof(cfg->ifname), arg) < 0) {
			errf(err, "interface: a name of at most %d characters", IF_NAMESIZE - 1);
			return -1;
		}
	} else if (strcmp(key, "peer") == 0) {
		if (cfg->npeers == RD_IO_SYNC_MAX_PEERS) {
			errf(err, "peer: at most %d peers", RD_IO_SYNC_MAX_PEERS);
			return -1;
		}
		if (rd_addr_parse(arg, &cfg->peers[cfg->npeers]) != 0) {
			errf(err, "peer: an IPv4 or IPv6 address, not '%s'", arg);
			return -1;
		}
		cfg->npeers++;
	} else if (strcmp(key, "mode") == 0) {
		if (strcmp(arg, "secure") == 0)
			cfg->mode = RD_IO_SYNC_SECURE;
		else if (strcmp(arg, "plain") == 0)
			cfg->mode = RD_IO_SYNC_PLAIN;
		else {
			errf(err, "mode: 'secure' or 'plain', not '%s'", arg);
			return -1;
		}
	} else if (strcmp(key, "key") == 0) {
		if (cfg->nkeyfiles == SD_MAX_KEYS) {
			errf(err, "key: at most %d key files", SD_MAX_KEYS);
			return -1;
		}
		if (dm_str_set(&cfg->keyfiles[cfg->nkeyfiles], arg) < 0)
			goto oom;
		cfg->nkeyfiles++;
	} else if (strcmp(key, "send-keyid") == 0) {
		if (dm_parse_u64(arg, 10, 0, UINT32_MAX, &v) < 0) {
			errf(err, "send-keyid: a decimal key id");
			return -1;
		}
		cfg->send_keyid = (uint32_t)v;
	} else if (strcmp(key, "port") == 0) {
		if (dm_parse_u64(arg, 10, 1, 65535, &v) < 0) {
			errf(err, "port: 1 to 65535");
			return -1;
		}
		cfg->port = (uint16_t)v;
	} else if (strcmp(key, "group") == 0 || strcmp(key, "local") == 0) {
		struct rd_addr *a = key[0] == 'g' ? &cfg->group : &cfg->local;

		if (rd_addr_parse(arg, a) != 0) {
			errf(err, "%s: an IPv4 or IPv6 address, not '%s'", key, arg);
			return -1;
		}
	} else if (strcmp(key, "creatorid") == 0) {
		const char *h = strncmp(arg, "0x", 2) == 0 ? arg + 2 : arg;

		if (dm_parse_u64(h, 16, 1, UINT32_MAX, &v) < 0) {
			errf(err, "creatorid: 1 to 8 hex digits, not zero");
			return -1;
		}
		cfg->creatorid = (uint32_t)v;
	} else if (strcmp(key, "label") == 0) {
		if (strcmp(arg, "off") == 0) {
			cfg->label = -1;
		} else if (dm_parse_u64(arg, 10, 0, 127, &v) < 0) {
			errf(err, "label: a conntrack label bit 0 to 127, or off");
			return -1;
		} else {
			cfg->label = (int)v;
		}
	} else if (strcmp(key, "state-dir") == 0) {
		if (arg[0] != '/') {
			errf(err, "state-dir: an absolute path, not '%s'", arg);
			return -1;
		}
		free(cfg->state_dir);
		cfg->state_dir = strdup(arg);
		if (cfg->state_dir == NULL) {
			errf(err, "state-dir: out of memory");
			return -1;
		}
	} else if (strcmp(key, "mtu") == 0) {
		if (dm_parse_u64(arg, 10, 576, 65535, &v) < 0) {
			errf(err, "mtu: 576 to 65535");
			return -1;
		}
		cfg->mtu = (size_t)v;
	} else if (strcmp(key, "limit") == 0) {
		if (dm_parse_u64(arg, 10, 1, 100000000, &v) < 0) {
			errf(err, "limit: 1 to 100000000 states");
			return -1;
		}
		cfg->limit = (uint32_t)v;
	} else if (strcmp(key, "maxupd") == 0) {
		if (dm_parse_u64(arg, 10, 1, 255, &v) < 0) {
			errf(err, "maxupd: 1 to 255 (OpenBSD's range)");
			return -1;
		}
		cfg->maxupd = (unsigned)v;
	} else if (strcmp(key, "bulk-rate") == 0) {
		if (dm_parse_u64(arg, 10, 1000, 100000000, &v) < 0) {
			errf(err, "bulk-rate: 1000 to 100000000 states a second");
			return -1;
		}
		cfg->bulk_rate = (uint32_t)v;
	} else if (strcmp(key, "carpd-control") == 0) {
		if (dm_str_set(&cfg->carpd_control, arg) < 0)
			goto oom;
	} else if (strcmp(key, "demote-group") == 0) {
		if (dm_str_set(&cfg->demote_group, arg) < 0)
			goto oom;
	} else if (strcmp(key, "control") == 0) {
		if (dm_str_set(&cfg->control, arg) < 0)
			goto oom;
	} else if (strcmp(key, "config") == 0) {
		if (dm_str_set(&cfg->config_file, arg) < 0)
			goto oom;
	} else if (strcmp(key, "no-bulk") == 0) {
		cfg->bulk = false;
	} else if (strcmp(key, "no-apply") == 0) {
		cfg->apply = false;
	} else if (strcmp(key, "strict-own") == 0) {
		cfg->strict_own = true;
	} else if (strcmp(key, "check-ttl") == 0) {
		cfg->check_ttl = true;
	} else if (strcmp(key, "debug") == 0) {
		cfg->debug = true;
	} else if (strcmp(key, "foreground") == 0) {
		cfg->daemonize = false;
	}
	return 0;
oom:
	errf(err, "out of memory");
	return -1;
}

int sd_config_load(struct sd_config *cfg, const char *path, char *err)
{
	char *line = NULL, e[SD_ERR_LEN];
	size_t cap = 0;
	unsigned lineno = 0;
	FILE *f = fopen(path, "re");
	int rc = 0;

	if (f == NULL) {
		dm_file_errf(err, SD_ERR_LEN, path, 0, "%s", strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *w[2];
		int n;

		lineno++;
		n = dm_conf_words(line, w, 2);
		if (n == 0)
			continue;
		if (n > 2 || strcmp(w[0], "config") == 0 ||
		    sd_config_set(cfg, w[0], n == 2 ? w[1] : NULL, e) < 0) {
			if (n > 2)
				errf(e, "one keyword and at most one argument a line");
			else if (strcmp(w[0], "config") == 0)
				errf(e, "'config' only on the command line");
			dm_file_errf(err, SD_ERR_LEN, path, lineno, "%s", e);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		dm_file_errf(err, SD_ERR_LEN, path, 0, "read error: %s", strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

int sd_config_check(const struct sd_config *cfg, char *err)
{
	size_t i;

	if (cfg->npeers == 0 && cfg->ifname[0] == '\0') {
		errf(err, "no destination: give 'peer' addresses or an 'interface' for multicast");
		return -1;
	}
	if (cfg->mode == RD_IO_SYNC_SECURE && cfg->nkeyfiles == 0) {
		errf(err, "secure mode needs a 'key' file (redundctl sync genkey FILE makes one)");
		return -1;
	}
	if (cfg->mode == RD_IO_SYNC_PLAIN) {
		for (i = 0; i < cfg->npeers; i++)
			if (cfg->peers[i].af != RD_AF_INET) {
				errf(err, "plain mode is IPv4 only (OpenBSD's pfsync)");
				return -1;
			}
		if (cfg->nkeyfiles > 0) {
			errf(err, "plain mode has no keys: drop 'key' or use 'mode secure'");
			return -1;
		}
	}
	/* Refused now, or every hold request to carpd would fail later. */
	if (cfg->carpd_control != NULL &&
	    strlen(cfg->carpd_control) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		errf(err, "carpd-control: a socket path of at most %zu bytes",
		     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -1;
	}
	/* The engine's rule: carpd refuses any other name, every hold would fail. */
	if (cfg->demote_group != NULL && !rd_carp_group_name_ok(cfg->demote_group)) {
		errf(err,
		     "demote-group: a name of 1 to %d characters (printable, no spaces, "
		     "not starting with '-')",
		     RD_CARP_GROUP_NAME_MAX - 1);
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: syncd [options]\n"
	        "  -c, --config FILE       read keywords from FILE (see syncd(8))\n"
	        "  -i, --interface IF      sync interface (multicast group joined there)\n"
	        "  -p, --peer ADDR         unicast peer (repeat)\n"
	        "  -m, --mode secure|plain secure (UDP, sealed envelopes; default) or raw pfsync\n"
	        "  -k, --key FILE          pre-shared key file (repeat for rotation)\n"
	        "      --send-keyid N      key id that seals (default: the first file's)\n"
	        "      --port N            UDP port (default %d)\n"
	        "      --group ADDR        multicast group\n"
	        "      --local ADDR        local address to bind / send from\n"
	        "      --creatorid HEX     pfsync creatorid (default: kept in the state dir)\n"
	        "      --state-dir DIR     keeps the creatorid across restarts (default %s)\n"
	        "      --label N|off       conntrack label bit marking entries written for\n"
	        "                          peers (default %d; see syncd(8))\n"
	        "      --mtu N             link MTU (default 1500)\n"
	        "      --limit N           state limit (default 1000000)\n"
	        "      --maxupd N          TCP updates coalesced (default 128)\n"
	        "      --bulk-rate N       plain mode: bulk states a second (default %u)\n"
	        "      --no-bulk           no bulk update request at start\n"
	        "      --no-apply          do not write peers' states to the kernel\n"
	        "      --strict-own        keep our own TCP entries' window checks (default:\n"
	        "                          synchronised TCP entries are be-liberal, as the\n"
	        "                          peers' copies; see syncd(8))\n"
	        "      --check-ttl         secure mode: refuse TTL != 255\n"
	        "      --carpd-control P   carpd's control socket (hold during the join bulk)\n"
	        "      --demote-group G    carpd group held (default carp)\n"
	        "  -s, --control PATH      control socket (default %s)\n"
	        "  -B, --daemonize         run in the background\n"
	        "  -f, --facility none     log to stderr only\n"
	        "  -d, --debug             debug messages\n"
	        "  -h, --help, -V, --version\n",
	        RD_SYNC_UDP_PORT, SD_DEFAULT_STATE_DIR, SD_DEFAULT_LABEL, SD_BULK_RATE,
	        SD_DEFAULT_CONTROL);
}

int sd_options_parse(int argc, char **argv, struct sd_config *cfg, char *err)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"interface", required_argument, NULL, 'i'},
	    {"peer", required_argument, NULL, 'p'},
	    {"mode", required_argument, NULL, 'm'},
	    {"key", required_argument, NULL, 'k'},
	    {"send-keyid", required_argument, NULL, 1},
	    {"port", required_argument, NULL, 1},
	    {"group", required_argument, NULL, 1},
	    {"local", required_argument, NULL, 1},
	    {"creatorid", required_argument, NULL, 1},
	    {"state-dir", required_argument, NULL, 1},
	    {"label", required_argument, NULL, 1},
	    {"mtu", required_argument, NULL, 1},
	    {"limit", required_argument, NULL, 1},
	    {"maxupd", required_argument, NULL, 1},
	    {"bulk-rate", required_argument, NULL, 1},
	    {"carpd-control", required_argument, NULL, 1},
	    {"demote-group", required_argument, NULL, 1},
	    {"no-bulk", no_argument, NULL, 1},
	    {"no-apply", no_argument, NULL, 1},
	    {"strict-own", no_argument, NULL, 1},
	    {"check-ttl", no_argument, NULL, 1},
	    {"control", required_argument, NULL, 's'},
	    {"daemonize", no_argument, NULL, 'B'},
	    {"facility", required_argument, NULL, 'f'},
	    {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	char e[SD_ERR_LEN];
	int c, idx;

	sd_config_init(cfg);
	optind = 1;
	opterr = 0;
	/* The config file first, so that the command line wins. */
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			if (dm_str_set(&cfg->config_file, argv[i + 1]) < 0 ||
			    sd_config_load(cfg, argv[i + 1], err) < 0)
				return -1;
			break;
		}
	while ((c = getopt_long(argc, argv, "c:i:p:m:k:s:Bf:dhV", longopts, &idx)) != -1) {
		const char *key = NULL;

		switch (c) {
		case 'c':
			continue;
		case 'i':
			key = "interface";
			break;
		case 'p':
			key = "peer";
			break;
		case 'm':
			key = "mode";
			break;
		case 'k':
			key = "key";
			break;
		case 's':
			key = "control";
			break;
		case 'B':
			cfg->daemonize = true;
			continue;
		case 'f':
			if (strcmp(optarg, "none") != 0) {
				errf(err, "--facility: only 'none' (stderr) is supported");
				return -1;
			}
			cfg->no_syslog = true;
			continue;
		case 'd':
			cfg->debug = true;
			continue;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("syncd (libredund) %s\n", rd_version());
			return 1;
		case 1:
			key = longopts[idx].name;
			break;
		default:
			errf(err, "unknown option or missing argument: '%s' (see --help)",
			     argv[optind - 1]);
			return -1;
		}
		if (sd_config_set(cfg, key, optarg, e) < 0) {
			errf(err, "%s", e);
			return -1;
		}
	}
	if (optind < argc) {
		errf(err, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (cfg->control == NULL && dm_str_set(&cfg->control, SD_DEFAULT_CONTROL) < 0) {
		errf(err, "out of memory");
		return -1;
	}
	return sd_config_check(cfg, err);
}
