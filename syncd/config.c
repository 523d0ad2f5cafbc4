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
 *   bulk-rate 5000          plain mode: states a second our bulk answers send
 *   ct-batch 256            conntrack requests a netlink datagram (1: one a sendmsg)
 *   no-bulk                 do not ask the peers for their states at start
 *   no-apply                keep peers' states in syncd only (not in the kernel)
 *   strict-own              leave our own TCP entries strict (no be-liberal flag)
 *   reserve                 take the memory of `limit` states at start
 *   check-ttl               secure mode: refuse TTL != 255 too
 *   carpd-control PATH      hold carpd back while the join bulk runs (a level, re-stated)
 *   demote-group NAME       the carpd group held (default carp: every vhost)
 *   control /run/syncd.sock our control socket
 *   accept-KIND V[,V...]    synchronise only entries matching (KIND: address,
 *   ignore-KIND V[,V...]    protocol, zone, mark, state); or none matching (filter.h)
 */
#include <inttypes.h>
#include <sodium.h>
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
	cfg->ct_batch = SD_CT_BATCH;
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
	sd_filter_free(&cfg->filter);
	memset(cfg, 0, sizeof(*cfg));
}

/*
 * syncd's keywords, one table for the command line and the config file
 * (daemon.h's parser). SD_O_SET keywords are applied by sd_config_set
 * under their name, from either place.
 */
static const struct dm_opt opt_table[] = {
    {"config", 'c', SD_O_CONFIG, 1, DM_OPT_CLI, "FILE"},
    {"interface", 'i', SD_O_SET, 1, DM_OPT_BOTH, "IF"},
    {"peer", 'p', SD_O_SET, 1, DM_OPT_BOTH, "ADDRESS"},
    {"mode", 'm', SD_O_SET, 1, DM_OPT_BOTH, "secure|plain"},
    {"key", 'k', SD_O_SET, 1, DM_OPT_BOTH, "FILE"},
    {"send-keyid", 0, SD_O_SET, 1, DM_OPT_BOTH, "N"},
    {"port", 0, SD_O_SET, 1, DM_OPT_BOTH, "N"},
    {"group", 0, SD_O_SET, 1, DM_OPT_BOTH, "ADDRESS"},
    {"local", 0, SD_O_SET, 1, DM_OPT_BOTH, "ADDRESS"},
    {"creatorid", 0, SD_O_SET, 1, DM_OPT_BOTH, "HEX"},
    {"state-dir", 0, SD_O_SET, 1, DM_OPT_BOTH, "DIR"},
    {"label", 0, SD_O_SET, 1, DM_OPT_BOTH, "N|off"},
    {"mtu", 0, SD_O_SET, 1, DM_OPT_BOTH, "N"},
    {"limit", 0, SD_O_SET, 1, DM_OPT_BOTH, "N"},
    {"maxupd", 0, SD_O_SET, 1, DM_OPT_BOTH, "N"},
    {"bulk-rate", 0, SD_O_SET, 1, DM_OPT_BOTH, "N"},
    {"ct-batch", 0, SD_O_SET, 1, DM_OPT_BOTH, "N"},
    {"carpd-control", 0, SD_O_SET, 1, DM_OPT_BOTH, "PATH"},
    {"demote-group", 0, SD_O_SET, 1, DM_OPT_BOTH, "NAME"},
    {"no-bulk", 0, SD_O_SET, 0, DM_OPT_BOTH, NULL},
    {"no-apply", 0, SD_O_SET, 0, DM_OPT_BOTH, NULL},
    {"strict-own", 0, SD_O_SET, 0, DM_OPT_BOTH, NULL},
    {"reserve", 0, SD_O_SET, 0, DM_OPT_BOTH, NULL},
    {"check-ttl", 0, SD_O_SET, 0, DM_OPT_BOTH, NULL},
    {"control", 's', SD_O_SET, 1, DM_OPT_BOTH, "PATH"},
    {"accept-address", 0, SD_O_SET, 1, DM_OPT_BOTH, "PREFIX[,...]"},
    {"ignore-address", 0, SD_O_SET, 1, DM_OPT_BOTH, "PREFIX[,...]"},
    {"accept-protocol", 0, SD_O_SET, 1, DM_OPT_BOTH, "PROTO[,...]"},
    {"ignore-protocol", 0, SD_O_SET, 1, DM_OPT_BOTH, "PROTO[,...]"},
    {"accept-zone", 0, SD_O_SET, 1, DM_OPT_BOTH, "ZONE[,...]"},
    {"ignore-zone", 0, SD_O_SET, 1, DM_OPT_BOTH, "ZONE[,...]"},
    {"accept-mark", 0, SD_O_SET, 1, DM_OPT_BOTH, "VALUE[/MASK][,...]"},
    {"ignore-mark", 0, SD_O_SET, 1, DM_OPT_BOTH, "VALUE[/MASK][,...]"},
    {"accept-state", 0, SD_O_SET, 1, DM_OPT_BOTH, "STATE[,...]"},
    {"ignore-state", 0, SD_O_SET, 1, DM_OPT_BOTH, "STATE[,...]"},
    {"debug", 'd', SD_O_SET, 0, DM_OPT_BOTH, NULL},
    {"foreground", 0, SD_O_SET, 0, DM_OPT_FILE, NULL},
    {"daemonize", 'B', SD_O_DAEMONIZE, 0, DM_OPT_CLI, NULL},
    {"facility", 'f', SD_O_FACILITY, 1, DM_OPT_CLI, "none"},
    {"help", 'h', SD_O_HELP, 0, DM_OPT_CLI, NULL},
    {"check", 't', SD_O_CHECK, 0, DM_OPT_CLI, NULL},
    {"version", 'V', SD_O_VERSION, 0, DM_OPT_CLI, NULL},
};

const struct dm_opts sd_opts = {"syncd", opt_table, sizeof(opt_table) / sizeof(opt_table[0])};

static const struct dm_opt *find(const char *key)
{
	size_t i;

	for (i = 0; i < sd_opts.n; i++)
		if (strcmp(opt_table[i].name, key) == 0)
			return &opt_table[i];
	return NULL;
}

int sd_config_set(struct sd_config *cfg, const char *key, const char *arg, char *err)
{
	const struct dm_opt *o = find(key);
	uint64_t v;

	if (o == NULL || o->id != SD_O_SET) {
		errf(err, "unknown keyword '%s'", key);
		return -1;
	}
	if ((o->nargs > 0) != (arg != NULL)) {
		errf(err, "'%s' %s", key, o->nargs > 0 ? "needs an argument" : "takes no argument");
		return -1;
	}
	if (sd_filter_keyword(key)) {
		if (sd_filter_add(&cfg->filter, key, arg, err, SD_ERR_LEN) < 0)
			return -1;
	} else if (strcmp(key, "interface") == 0) {
		/* Repeated: more sync links, standbys in the order given. */
		char name[IF_NAMESIZE];
		bool twice = strcmp(cfg->ifname, arg) == 0;

		if (dm_str_copy(name, sizeof(name), arg) < 0) {
			errf(err, "expected an interface name of 1 to %d characters, got '%s'",
			     IF_NAMESIZE - 1, arg);
			return -1;
		}
		for (size_t i = 0; i < cfg->nmore; i++)
			twice = twice || strcmp(cfg->more_ifnames[i], name) == 0;
		if (twice) {
			errf(err, "interface %s given twice", name);
			return -1;
		}
		if (cfg->ifname[0] == '\0') {
			memcpy(cfg->ifname, name, sizeof(name));
		} else if (cfg->nmore == SD_MAX_LINKS - 1) {
			errf(err, "expected at most %d sync interfaces", SD_MAX_LINKS);
			return -1;
		} else {
			memcpy(cfg->more_ifnames[cfg->nmore++], name, sizeof(name));
		}
	} else if (strcmp(key, "peer") == 0) {
		if (cfg->npeers == RD_IO_SYNC_MAX_PEERS) {
			errf(err, "expected at most %d peers", RD_IO_SYNC_MAX_PEERS);
			return -1;
		}
		if (rd_addr_parse(arg, &cfg->peers[cfg->npeers]) != 0) {
			errf(err, "expected an IPv4 or IPv6 address, got '%s'", arg);
			return -1;
		}
		cfg->npeers++;
	} else if (strcmp(key, "mode") == 0) {
		if (strcmp(arg, "secure") == 0)
			cfg->mode = RD_IO_SYNC_SECURE;
		else if (strcmp(arg, "plain") == 0)
			cfg->mode = RD_IO_SYNC_PLAIN;
		else {
			errf(err, "expected 'secure' or 'plain', got '%s'", arg);
			return -1;
		}
	} else if (strcmp(key, "key") == 0) {
		if (cfg->nkeyfiles == SD_MAX_KEYS) {
			errf(err, "expected at most %d key files", SD_MAX_KEYS);
			return -1;
		}
		if (dm_str_set(&cfg->keyfiles[cfg->nkeyfiles], arg) < 0)
			goto oom;
		cfg->nkeyfiles++;
	} else if (strcmp(key, "send-keyid") == 0) {
		if (dm_sync_keyid_parse(arg, &cfg->send_keyid, err, SD_ERR_LEN) < 0)
			return -1;
		cfg->send_keyid_set = true;
	} else if (strcmp(key, "port") == 0) {
		if (dm_parse_u64(arg, 10, 1, 65535, &v) < 0) {
			errf(err, "expected a port from 1 to 65535, got '%s'", arg);
			return -1;
		}
		cfg->port = (uint16_t)v;
	} else if (strcmp(key, "group") == 0 || strcmp(key, "local") == 0) {
		struct rd_addr *a = key[0] == 'g' ? &cfg->group : &cfg->local;

		if (rd_addr_parse(arg, a) != 0) {
			errf(err, "expected an IPv4 or IPv6 address, got '%s'", arg);
			return -1;
		}
	} else if (strcmp(key, "creatorid") == 0) {
		const char *h = strncmp(arg, "0x", 2) == 0 ? arg + 2 : arg;

		if (dm_parse_u64(h, 16, 1, UINT32_MAX, &v) < 0) {
			errf(err, "expected 1 to 8 hex digits, not zero, got '%s'", arg);
			return -1;
		}
		cfg->creatorid = (uint32_t)v;
	} else if (strcmp(key, "label") == 0) {
		if (strcmp(arg, "off") == 0) {
			cfg->label = -1;
		} else if (dm_parse_u64(arg, 10, 0, 127, &v) < 0) {
			errf(err, "expected a conntrack label bit 0 to 127, or off, got '%s'", arg);
			return -1;
		} else {
			cfg->label = (int)v;
		}
	} else if (strcmp(key, "state-dir") == 0) {
		if (arg[0] != '/') {
			errf(err, "expected an absolute path, got '%s'", arg);
			return -1;
		}
		if (dm_str_set(&cfg->state_dir, arg) < 0)
			goto oom;
	} else if (strcmp(key, "mtu") == 0) {
		if (dm_parse_u64(arg, 10, 576, 65535, &v) < 0) {
			errf(err, "expected an MTU from 576 to 65535, got '%s'", arg);
			return -1;
		}
		cfg->mtu = (size_t)v;
	} else if (strcmp(key, "limit") == 0) {
		if (dm_parse_u64(arg, 10, 1, 100000000, &v) < 0) {
			errf(err, "expected 1 to 100000000 states, got '%s'", arg);
			return -1;
		}
		cfg->limit = (uint32_t)v;
	} else if (strcmp(key, "maxupd") == 0) {
		if (dm_parse_u64(arg, 10, 0, 255, &v) < 0) {
			errf(err, "expected 0 to 255 (OpenBSD's range), got '%s'", arg);
			return -1;
		}
		/* OpenBSD counts an update before comparing: its 0 acts as 1. */
		cfg->maxupd = v == 0 ? 1 : (unsigned)v;
	} else if (strcmp(key, "bulk-rate") == 0) {
		if (dm_parse_u64(arg, 10, 1000, 100000000, &v) < 0) {
			errf(err, "expected 1000 to 100000000 states a second, got '%s'", arg);
			return -1;
		}
		cfg->bulk_rate = (uint32_t)v;
	} else if (strcmp(key, "ct-batch") == 0) {
		if (dm_parse_u64(arg, 10, 1, SD_CT_BATCH_MAX, &v) < 0) {
			errf(err, "expected 1 to %d requests a datagram, got '%s'", SD_CT_BATCH_MAX,
			     arg);
			return -1;
		}
		cfg->ct_batch = (uint32_t)v;
	} else if (strcmp(key, "carpd-control") == 0) {
		if (dm_str_set(&cfg->carpd_control, arg) < 0)
			goto oom;
	} else if (strcmp(key, "demote-group") == 0) {
		if (dm_str_set(&cfg->demote_group, arg) < 0)
			goto oom;
	} else if (strcmp(key, "control") == 0) {
		if (dm_str_set(&cfg->control, arg) < 0)
			goto oom;
	} else if (strcmp(key, "no-bulk") == 0) {
		cfg->bulk = false;
	} else if (strcmp(key, "no-apply") == 0) {
		cfg->apply = false;
	} else if (strcmp(key, "strict-own") == 0) {
		cfg->strict_own = true;
	} else if (strcmp(key, "reserve") == 0) {
		cfg->reserve = true;
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

static int conf_line(void *user, const struct dm_opt *o, char **args, unsigned line, char *err,
                     size_t len)
{
	char e[SD_ERR_LEN];

	(void)line;
	if (sd_config_set(user, o->name, o->nargs > 0 ? args[0] : NULL, e) < 0) {
		dm_errf(err, len, "%s: %s", o->name, e);
		return -1;
	}
	return 0;
}

int sd_config_parse(struct sd_config *cfg, const char *name, const char *text, size_t len,
                    char *err)
{
	return dm_conf_parse(&sd_opts, name, text, len, conf_line, cfg, err, SD_ERR_LEN);
}

int sd_config_load(struct sd_config *cfg, const char *path, char *err)
{
	char *text;
	size_t len;
	int rc;

	if (dm_file_read(path, 0, &text, &len, err, SD_ERR_LEN) < 0)
		return -1;
	rc = sd_config_parse(cfg, path, text, len, err);
	dm_file_free(text, len);
	return rc;
}

int sd_config_check(const struct sd_config *cfg, char *err)
{
	size_t i;

	if (cfg->npeers == 0 && cfg->ifname[0] == '\0') {
		errf(err, "no destination: give 'peer' addresses or an 'interface' for multicast");
		return -1;
	}
	if (cfg->nmore > 0 && cfg->npeers > 0) {
		errf(err, "several sync interfaces need multicast (no 'peer' lines): unicast "
		          "follows the routing table, not the link syncd picks");
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
	if (sd_filter_check_policy(&cfg->filter, err, SD_ERR_LEN) < 0)
		return -1;
	/* Refused now, or every hold request to carpd would fail later. */
	if (cfg->carpd_control != NULL &&
	    strlen(cfg->carpd_control) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		errf(err, "carpd-control: expected a socket path of at most %zu bytes",
		     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -1;
	}
	/* The engine's rule: carpd refuses any other name, every hold would fail. */
	if (cfg->demote_group != NULL && !rd_carp_group_name_ok(cfg->demote_group)) {
		errf(err,
		     "demote-group: expected a name of 1 to %d characters (printable, no spaces, "
		     "not starting with '-'), got '%s'",
		     RD_CARP_GROUP_NAME_MAX - 1, cfg->demote_group);
		return -1;
	}
	return 0;
}

int sd_keys_load(const struct sd_config *cfg, struct rd_sync_key *keys, size_t *nkeys, char *err)
{
	struct dm_buf ids = {0};
	size_t i, j;
	bool found = false;

	*nkeys = 0;
	for (i = 0; i < cfg->nkeyfiles; i++) {
		if (dm_sync_key_read(cfg->keyfiles[i], &keys[i], err, SD_ERR_LEN) < 0)
			goto fail;
		*nkeys = i + 1;
		for (j = 0; j < i; j++)
			if (keys[j].id == keys[i].id) {
				errf(err,
				     "key files %s and %s both have key id %" PRIu32
				     " (each key needs its own id)",
				     cfg->keyfiles[j], cfg->keyfiles[i], keys[i].id);
				goto fail;
			}
		if (cfg->send_keyid_set && keys[i].id == cfg->send_keyid)
			found = true;
		dm_buf_printf(&ids, "%s%" PRIu32, i ? ", " : "", keys[i].id);
	}
	if (cfg->send_keyid_set && !found) {
		errf(err, "send-keyid: no key file has key id %" PRIu32 " (key ids: %s)",
		     cfg->send_keyid, ids.oom || ids.p == NULL ? "?" : ids.p);
		goto fail;
	}
	free(ids.p);
	return 0;
fail:
	free(ids.p);
	sodium_memzero(keys, *nkeys * sizeof(*keys));
	*nkeys = 0;
	return -1;
}

uint32_t sd_send_keyid(const struct sd_config *cfg, const struct rd_sync_key *keys)
{
	return cfg->send_keyid_set ? cfg->send_keyid : keys[0].id;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: syncd [options]\n"
	        "  -c, --config FILE       read keywords from FILE (see syncd(8))\n"
	        "  -i, --interface IF      sync interface (multicast group joined there);\n"
	        "                          repeat for standby links (the first that works)\n"
	        "  -p, --peer ADDR         unicast peer (repeat)\n"
	        "  -m, --mode secure|plain secure (UDP, sealed envelopes; default) or raw pfsync\n"
	        "  -k, --key FILE          pre-shared key file, mode 0600 (repeat for rotation)\n"
	        "      --send-keyid N      key id that seals: one of the key files' ids, 0 too\n"
	        "                          (default: the first file's)\n"
	        "      --port N            UDP port (default %d)\n"
	        "      --group ADDR        multicast group\n"
	        "      --local ADDR        local address to bind / send from\n"
	        "      --creatorid HEX     pfsync creatorid (default: kept in the state dir)\n"
	        "      --state-dir DIR     keeps the creatorid across restarts (default %s)\n"
	        "      --label N|off       conntrack label bit marking entries written for\n"
	        "                          peers (default %d; see syncd(8))\n"
	        "      --mtu N             link MTU (default 1500)\n"
	        "      --limit N           state limit (default 1000000)\n"
	        "      --reserve           take the memory of --limit states at start\n"
	        "                          (240 bytes a state; see syncd(8))\n"
	        "      --maxupd N          TCP updates coalesced (default 128)\n"
	        "      --bulk-rate N       plain mode: bulk states a second (default %u)\n"
	        "      --ct-batch N        conntrack writes a netlink datagram (default %d)\n"
	        "      --no-bulk           no bulk update request at start\n"
	        "      --no-apply          do not write peers' states to the kernel\n"
	        "      --strict-own        keep our own TCP entries' window checks (default:\n"
	        "                          synchronised TCP entries are be-liberal, as the\n"
	        "                          peers' copies; see syncd(8))\n"
	        "      --check-ttl         secure mode: refuse TTL != 255\n"
	        "      --carpd-control P   carpd's control socket (hold during the join bulk)\n"
	        "      --demote-group G    carpd group held (default carp)\n"
	        "      --accept-KIND V,..  synchronise only entries that match (KIND: address,\n"
	        "      --ignore-KIND V,..  protocol, zone, mark, state); or none that match\n"
	        "  -s, --control PATH      control socket (default %s)\n"
	        "  -B, --daemonize         run in the background\n"
	        "  -f, --facility none     log to stderr only\n"
	        "  -d, --debug             debug messages\n"
	        "  -t, --check             check the configuration (interface, key files),\n"
	        "                          print what would run, exit 0 or 1\n"
	        "  -h, --help, -V, --version\n",
	        RD_SYNC_UDP_PORT, SD_DEFAULT_STATE_DIR, SD_DEFAULT_LABEL, SD_BULK_RATE, SD_CT_BATCH,
	        SD_DEFAULT_CONTROL);
}

int sd_options_parse(int argc, char **argv, struct sd_config *cfg, char *err)
{
	struct dm_arg *args = NULL;
	struct rd_sync_key keys[SD_MAX_KEYS];
	size_t nargs = 0, nkeys, i;
	char e[SD_ERR_LEN];
	int rc = -1;

	sd_config_init(cfg);
	if (dm_opts_scan(&sd_opts, argc, argv, &args, &nargs, err, SD_ERR_LEN) < 0)
		return -1;
	/* --help and --version answer whatever else is there, the file unread. */
	for (i = 0; i < nargs; i++)
		if (args[i].opt->id == SD_O_HELP || args[i].opt->id == SD_O_VERSION) {
			if (args[i].opt->id == SD_O_HELP)
				usage(stdout);
			else
				printf("syncd (libredund) %s\n", rd_version());
			free(args);
			return 1;
		}
	cfg->check = dm_opts_count(args, nargs, SD_O_CHECK) > 0;
	/* The file first, so that the command line wins. */
	if (dm_opts_count(args, nargs, SD_O_CONFIG) > 1) {
		errf(err, "--config: given twice (one configuration file)");
		goto out;
	}
	for (i = 0; i < nargs; i++)
		if (args[i].opt->id == SD_O_CONFIG &&
		    (dm_str_set(&cfg->config_file, args[i].arg) < 0 ||
		     sd_config_load(cfg, args[i].arg, err) < 0)) {
			if (cfg->config_file == NULL)
				errf(err, "out of memory");
			goto out;
		}
	for (i = 0; i < nargs; i++) {
		const struct dm_arg *a = &args[i];

		switch (a->opt->id) {
		case SD_O_CONFIG:
		case SD_O_CHECK:
			continue;
		case SD_O_DAEMONIZE:
			cfg->daemonize = true;
			continue;
		case SD_O_FACILITY:
			if (strcmp(a->arg, "none") != 0) {
				errf(err, "--facility: expected 'none' (stderr only), got '%s'",
				     a->arg);
				goto out;
			}
			cfg->no_syslog = true;
			continue;
		default:
			break;
		}
		if (sd_config_set(cfg, a->opt->name, a->arg, e) < 0) {
			errf(err, "--%s: %s", a->opt->name, e);
			goto out;
		}
	}
	if (cfg->control == NULL && dm_str_set(&cfg->control, SD_DEFAULT_CONTROL) < 0) {
		errf(err, "out of memory");
		goto out;
	}
	if (sd_config_check(cfg, err) < 0)
		goto out;
	/* The key files now, so that a bad one stops syncd before it changes anything. */
	if (sd_keys_load(cfg, keys, &nkeys, err) < 0)
		goto out;
	sodium_memzero(keys, sizeof(keys));
	rc = 0;
out:
	free(args);
	return rc;
}
