/*
 * carpd: the configuration file. Line-oriented, read by the daemons' one
 * parser (daemon.h) with the command line's table:
 *
 *   # comment                     (blank lines and comments are ignored)
 *   control /run/carpd.sock       global; --control on the command line wins
 *   facility daemon               global; syslog facility or 'none'
 *   startup-demote 128            global; demotion of "carp" at start (0: none)
 *   startup-hold 30               global; its time limit in seconds
 *   vhost eth0 42                 starts a vhost: interface and vhid
 *     addr 10.0.0.1/24            then that vhost's keywords: the long
 *     pass secret                 option names of the command line, with
 *     preempt                     the same meaning (flags take no argument)
 *
 * Every error names file:line and what was expected. On SIGHUP the global
 * keywords are only checked and compared (a change needs a restart); the
 * vhosts apply (daemon.c's reload, all or nothing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carpd.h"

struct conf_ctx {
	struct cd_config *cfg;
	const char *path;
	struct cd_vhost_conf *cur; /* the vhost being read, NULL before the first */
};

/* "vhost INTERFACE VHID": a new vhost, its vhid not yet used on the interface. */
static int vhost_line(struct conf_ctx *c, char **args, unsigned line, char *err)
{
	struct cd_config *cfg = c->cfg;
	struct cd_vhost_conf *nv, *cur;
	unsigned vhid;
	size_t i;

	nv = realloc(cfg->vh, (cfg->nvh + 1) * sizeof(*cfg->vh));
	if (nv == NULL) {
		cd_errf(err, "out of memory");
		return -1;
	}
	cfg->vh = nv;
	cur = c->cur = &cfg->vh[cfg->nvh++];
	cd_vhost_conf_init(cur);
	snprintf(cur->where, sizeof(cur->where), "%s:%u", c->path, line);
	if (cd_vhost_set(cur, "interface", args[0], err) < 0)
		return -1;
	if (dm_parse_uint(args[1], 1, 255, &vhid) < 0) {
		cd_errf(err, "expected a vhid from 1 to 255, got '%s'", args[1]);
		return -1;
	}
	cur->vhid = (uint8_t)vhid;
	for (i = 0; i + 1 < cfg->nvh; i++)
		if (cfg->vh[i].vhid == cur->vhid && strcmp(cfg->vh[i].ifname, cur->ifname) == 0) {
			cd_errf(err,
			        "expected a vhid not yet used on %s (vhid %u is already at %s)",
			        cur->ifname, cur->vhid, cfg->vh[i].where);
			return -1;
		}
	return 0;
}

/* The global keywords, before the first vhost; the command line's win. */
static int global_line(struct conf_ctx *c, const struct dm_opt *o, const char *arg, char *err)
{
	struct cd_config *cfg = c->cfg;
	char e[CD_ERR_LEN];

	if (c->cur != NULL) {
		cd_errf(err, "expected '%s' before the first 'vhost' line", o->name);
		return -1;
	}
	switch (o->id) {
	case CD_O_CONTROL:
		if (cfg->control == NULL && dm_str_set(&cfg->control, arg) < 0) {
			cd_errf(err, "out of memory");
			return -1;
		}
		return 0;
	case CD_O_FACILITY:
		/* Checked even when the command line's wins. */
		if (cfg->facility < 0 && !cfg->no_syslog) {
			if (cd_facility_set(cfg, arg, e) < 0)
				goto fail;
		} else if (strcmp(arg, "none") != 0 && cd_facility_by_name(arg) < 0) {
			cd_errf(e, "expected a syslog facility name or 'none', got '%s'", arg);
			goto fail;
		}
		return 0;
	default: /* CD_O_STARTUP */
		if (cd_global_set(cfg, o->name, arg, e) < 0)
			goto fail;
		return 0;
	}
fail:
	cd_errf(err, "%s: %s", o->name, e);
	return -1;
}

/* One line's keyword: 0, or -1 with err (CD_ERR_LEN bytes). */
static int keyword(struct conf_ctx *c, const struct dm_opt *o, char **args, unsigned line,
                   char *err)
{
	char e[CD_ERR_LEN];

	switch (o->id) {
	case CD_O_VHOST_LINE:
		return vhost_line(c, args, line, err);
	case CD_O_CONTROL:
	case CD_O_FACILITY:
	case CD_O_STARTUP:
		return global_line(c, o, args[0], err);
	case CD_O_VHOST:
		break;
	default:
		cd_errf(err, "unexpected keyword '%s'", o->name);
		return -1;
	}
	if (strcmp(o->name, "interface") == 0 || strcmp(o->name, "vhid") == 0) {
		cd_errf(err, "expected the interface and vhid on the 'vhost' line");
		return -1;
	}
	if (c->cur == NULL) {
		cd_errf(err, "expected a 'vhost INTERFACE VHID' line before '%s'", o->name);
		return -1;
	}
	if (cd_vhost_set(c->cur, o->name, o->nargs > 0 ? args[0] : NULL, e) < 0) {
		cd_errf(err, "%s: %s", o->name, e);
		return -1;
	}
	return 0;
}

static int conf_line(void *user, const struct dm_opt *o, char **args, unsigned line, char *err,
                     size_t len)
{
	char e[CD_ERR_LEN];

	if (keyword(user, o, args, line, e) < 0) {
		dm_errf(err, len, "%s", e);
		return -1;
	}
	return 0;
}

int cd_config_parse(const char *name, const char *text, size_t len, struct cd_config *cfg,
                    char *err)
{
	struct conf_ctx c = {cfg, name, NULL};
	char keyerr[CD_ERR_LEN];
	size_t i;

	if (dm_conf_parse(&cd_opts, name, text, len, conf_line, &c, err, CD_ERR_LEN) < 0)
		return -1;
	if (cfg->nvh == 0) {
		cd_file_errf(err, name, 0, "expected at least one 'vhost INTERFACE VHID' section");
		return -1;
	}
	for (i = 0; i < cfg->nvh; i++)
		if (cd_vhost_conf_check(&cfg->vh[i], keyerr) < 0) {
			cd_errf(err, "%s: vhost %s %u: %s", cfg->vh[i].where, cfg->vh[i].ifname,
			        cfg->vh[i].vhid, keyerr);
			return -1;
		}
	return 0;
}

int cd_config_load(const char *path, struct cd_config *cfg, char *err)
{
	char *text;
	size_t len;
	int rc;

	if (dm_file_read(path, 0, &text, &len, err, CD_ERR_LEN) < 0)
		return -1;
	rc = cd_config_parse(path, text, len, cfg, err);
	dm_file_free(text, len); /* it may hold passwords */
	return rc;
}
