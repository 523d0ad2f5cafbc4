/*
 * carpd: the configuration file. Line-oriented, read by the daemons' one
 * parser (daemon.h) with the command line's table:
 *
 *   # comment                     (blank lines and comments are ignored)
 *   control /run/carpd.sock       global; --control on the command line wins
 *   facility daemon               global; syslog facility or 'none'
 *   startup-demote 128            global; demotion of "carp" at start (0: none)
 *   startup-hold 30               global; its time limit in seconds
 *   realtime 50                   global; SCHED_FIFO priority, memory locked
 *   notify /path [...]            global; notify and notify-master-before hooks
 *   track-script /path [k v]...   anywhere, node-wide; track-interface too
 *   vhost eth0 42                 starts a vhost: interface and vhid
 *     addr 10.0.0.1/24            then that vhost's keywords: the long
 *     pass secret                 option names of the command line, with
 *     preempt                     the same meaning (flags take no argument)
 *
 * Every error names file:line and what was expected. On SIGHUP the global
 * keywords are only checked and compared (a change needs a restart) but for
 * the hooks and tracking, which apply with the vhosts (daemon.c's reload,
 * all or nothing).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void cd_track_conf_free(struct cd_track_conf *t)
{
	free(t->name);
	t->name = NULL;
}

bool cd_track_same(const struct cd_track_conf *a, const struct cd_track_conf *b)
{
	return a->kind == b->kind && strcmp(a->name, b->name) == 0;
}

/* "NAME VALUE" of a track line: a number from lo to hi into *v. */
static int track_uint(const char *key, const char *arg, unsigned lo, unsigned hi, unsigned *v,
                      char *err)
{
	if (arg == NULL || dm_parse_uint(arg, lo, hi, v) < 0) {
		cd_errf(err, "expected '%s' followed by a number from %u to %u, got '%s'", key, lo,
		        hi, arg != NULL ? arg : "nothing");
		return -1;
	}
	return 0;
}

int cd_track_parse(struct cd_track_conf *t, int kind, char *const *args, char *err)
{
	bool script = kind == CD_TRACK_SCRIPT, has_timeout = false;
	size_t i;

	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->interval = 1;
	t->fall = t->rise = 1;
	t->weight = CD_TRACK_WEIGHT_DEFAULT;
	snprintf(t->group, sizeof(t->group), "%s", CD_GROUP_DEFAULT);
	if (script ? args[0][0] != '/' : strlen(args[0]) >= IF_NAMESIZE) {
		if (script)
			cd_errf(err, "expected an absolute path to the health check, got '%s'",
			        args[0]);
		else
			cd_errf(err, "expected an interface name of 1 to %d characters",
			        IF_NAMESIZE - 1);
		return -1;
	}
	for (i = 1; args[i] != NULL; i += 2) {
		const char *k = args[i], *arg = args[i + 1];
		int rc;

		if (strcmp(k, "weight") == 0) {
			rc = track_uint(k, arg, 1, 255, &t->weight, err);
		} else if (strcmp(k, "group") == 0) {
			if (arg == NULL || arg[0] == '-' || !rd_carp_group_name_ok(arg)) {
				cd_errf(err, "expected 'group' followed by a group name, got '%s'",
				        arg != NULL ? arg : "nothing");
				return -1;
			}
			snprintf(t->group, sizeof(t->group), "%s", arg);
			rc = 0;
		} else if (script && strcmp(k, "interval") == 0) {
			rc = track_uint(k, arg, 1, CD_TRACK_INTERVAL_MAX, &t->interval, err);
		} else if (script && strcmp(k, "timeout") == 0) {
			rc = track_uint(k, arg, 1, CD_TRACK_INTERVAL_MAX, &t->timeout, err);
			has_timeout = true;
		} else if (script && strcmp(k, "fall") == 0) {
			rc = track_uint(k, arg, 1, 255, &t->fall, err);
		} else if (script && strcmp(k, "rise") == 0) {
			rc = track_uint(k, arg, 1, 255, &t->rise, err);
		} else {
			cd_errf(err, "expected %s, got '%s'",
			        script ? "interval, timeout, fall, rise, weight or group"
			               : "weight or group",
			        k);
			return -1;
		}
		if (rc < 0)
			return -1;
		if (arg == NULL)
			break;
	}
	if (!has_timeout)
		t->timeout = t->interval;
	if (dm_str_set(&t->name, args[0]) < 0) {
		cd_errf(err, "out of memory");
		return -1;
	}
	return 0;
}

/* track-interface / track-script: node-wide, wherever they stand. */
static int track_line(struct conf_ctx *c, const struct dm_opt *o, char **args, unsigned line,
                      char *err)
{
	struct cd_config *cfg = c->cfg;
	struct cd_track_conf t, *nt;
	char e[CD_ERR_LEN];
	size_t i;

	if (cd_track_parse(&t, strcmp(o->name, "track-script") == 0 ? CD_TRACK_SCRIPT : CD_TRACK_IF,
	                   args, e) < 0) {
		cd_errf(err, "%s: %s", o->name, e);
		return -1;
	}
	snprintf(t.where, sizeof(t.where), "%s:%u", c->path, line);
	if (t.kind == CD_TRACK_SCRIPT && access(t.name, X_OK) < 0) {
		cd_errf(err, "%s: expected an executable health check: %s: %s", o->name, t.name,
		        strerror(errno));
		cd_track_conf_free(&t);
		return -1;
	}
	for (i = 0; i < cfg->ntrack; i++)
		if (cd_track_same(&cfg->track[i], &t)) {
			cd_errf(err, "%s: expected %s once (already at %s)", o->name, t.name,
			        cfg->track[i].where);
			cd_track_conf_free(&t);
			return -1;
		}
	if (cfg->ntrack == CD_TRACK_MAX) {
		cd_errf(err, "%s: expected at most %d track lines", o->name, CD_TRACK_MAX);
		cd_track_conf_free(&t);
		return -1;
	}
	nt = realloc(cfg->track, (cfg->ntrack + 1) * sizeof(*cfg->track));
	if (nt == NULL) {
		cd_errf(err, "out of memory");
		cd_track_conf_free(&t);
		return -1;
	}
	cfg->track = nt;
	cfg->track[cfg->ntrack++] = t;
	return 0;
}

/* notify PATH, notify-master-before PATH [timeout S]: global, once each. */
static int notify_line(struct conf_ctx *c, const struct dm_opt *o, char **args, char *err)
{
	struct cd_config *cfg = c->cfg;
	bool before = strcmp(o->name, "notify-master-before") == 0;
	char **dst = before ? &cfg->notify_master_before : &cfg->notify;
	unsigned v = CD_NOTIFY_TIMEOUT_DEFAULT;

	if (c->cur != NULL) {
		cd_errf(err, "expected '%s' before the first 'vhost' line (it serves every vhost)",
		        o->name);
		return -1;
	}
	if (*dst != NULL) {
		cd_errf(err, "expected '%s' once", o->name);
		return -1;
	}
	if (args[0][0] != '/') {
		cd_errf(err, "%s: expected an absolute path, got '%s'", o->name, args[0]);
		return -1;
	}
	if (access(args[0], X_OK) < 0) {
		cd_errf(err, "%s: expected an executable: %s: %s", o->name, args[0],
		        strerror(errno));
		return -1;
	}
	if (before && args[1] != NULL) {
		if (strcmp(args[1], "timeout") != 0 || args[2] == NULL || args[3] != NULL ||
		    dm_parse_uint(args[2], 1, 3600, &v) < 0) {
			cd_errf(err, "%s: expected 'PATH [timeout S]' (S from 1 to 3600)", o->name);
			return -1;
		}
	}
	if (dm_str_set(dst, args[0]) < 0) {
		cd_errf(err, "out of memory");
		return -1;
	}
	if (before)
		cfg->notify_master_timeout = v;
	return 0;
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
	case CD_O_TRACK:
		return track_line(c, o, args, line, err);
	case CD_O_NOTIFY:
		return notify_line(c, o, args, err);
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
