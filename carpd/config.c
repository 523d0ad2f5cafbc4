/*
 * carpd: the configuration file. Line-oriented:
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
 * Every error names file:line and what was expected.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "carpd.h"

/* Split s in place into at most max whitespace-separated words. */
static int split(char *s, char **w, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (n == max)
			return max + 1;
		w[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

static int facility_by_name(const char *name)
{
	static const struct {
		const char *n;
		int v;
	} f[] = {{"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
	         {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},           {"kern", LOG_KERN},
	         {"lpr", LOG_LPR},       {"mail", LOG_MAIL},         {"news", LOG_NEWS},
	         {"syslog", LOG_SYSLOG}, {"user", LOG_USER},         {"uucp", LOG_UUCP},
	         {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
	         {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
	         {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strcmp(f[i].n, name) == 0)
			return f[i].v;
	return -1;
}

int cd_config_load(const char *path, struct cd_config *cfg, char *err)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned int lineno = 0;
	struct cd_vhost_conf *cur = NULL;
	char keyerr[CD_ERR_LEN];
	size_t i;
	int rc = -1;

	f = fopen(path, "re");
	if (f == NULL) {
		cd_errf(err, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *w[4];
		int n;
		bool takes_arg;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		n = split(line, w, 3);
		if (n == 0)
			continue;
		if (strcmp(w[0], "vhost") == 0) {
			struct cd_vhost_conf *nv;
			char *end;
			unsigned long vhid;

			if (n != 3) {
				cd_errf(err, "%s:%u: expected 'vhost INTERFACE VHID'", path,
				        lineno);
				goto out;
			}
			nv = realloc(cfg->vh, (cfg->nvh + 1) * sizeof(*cfg->vh));
			if (nv == NULL) {
				cd_errf(err, "%s:%u: out of memory", path, lineno);
				goto out;
			}
			cfg->vh = nv;
			cur = &cfg->vh[cfg->nvh++];
			cd_vhost_conf_init(cur);
			snprintf(cur->where, sizeof(cur->where), "%s:%u", path, lineno);
			if (cd_vhost_set(cur, "interface", w[1], keyerr) < 0) {
				cd_errf(err, "%s:%u: %s", path, lineno, keyerr);
				goto out;
			}
			errno = 0;
			vhid = strtoul(w[2], &end, 10);
			if (errno != 0 || *end != '\0' || vhid < 1 || vhid > 255) {
				cd_errf(err, "%s:%u: expected a vhid from 1 to 255, got '%s'", path,
				        lineno, w[2]);
				goto out;
			}
			cur->vhid = (uint8_t)vhid;
			for (i = 0; i + 1 < cfg->nvh; i++)
				if (cfg->vh[i].vhid == cur->vhid &&
				    strcmp(cfg->vh[i].ifname, cur->ifname) == 0) {
					cd_errf(
					    err,
					    "%s:%u: expected a vhid not yet used on %s (vhid %u is "
					    "already at %s)",
					    path, lineno, cur->ifname, cur->vhid, cfg->vh[i].where);
					goto out;
				}
			continue;
		}
		if (strcmp(w[0], "control") == 0 || strcmp(w[0], "facility") == 0) {
			if (n != 2) {
				cd_errf(err, "%s:%u: expected '%s VALUE'", path, lineno, w[0]);
				goto out;
			}
			if (cur != NULL) {
				cd_errf(err, "%s:%u: expected '%s' before the first 'vhost' line",
				        path, lineno, w[0]);
				goto out;
			}
			if (w[0][0] == 'c') {
				if (cfg->control == NULL && (cfg->control = strdup(w[1])) == NULL) {
					cd_errf(err, "%s:%u: out of memory", path, lineno);
					goto out;
				}
			} else if (strcmp(w[1], "none") == 0) {
				cfg->no_syslog = true;
			} else if (cfg->facility < 0) {
				cfg->facility = facility_by_name(w[1]);
				if (cfg->facility < 0) {
					cd_errf(err,
					        "%s:%u: expected a syslog facility name, got '%s'",
					        path, lineno, w[1]);
					goto out;
				}
			}
			continue;
		}
		if (cd_global_key_known(w[0])) {
			if (n != 2) {
				cd_errf(err, "%s:%u: expected '%s VALUE'", path, lineno, w[0]);
				goto out;
			}
			if (cur != NULL) {
				cd_errf(err, "%s:%u: expected '%s' before the first 'vhost' line",
				        path, lineno, w[0]);
				goto out;
			}
			if (cd_global_set(cfg, w[0], w[1], keyerr) < 0) {
				cd_errf(err, "%s:%u: %s: %s", path, lineno, w[0], keyerr);
				goto out;
			}
			continue;
		}
		if (!cd_vhost_key_known(w[0], &takes_arg)) {
			cd_errf(err,
			        "%s:%u: expected 'vhost', 'control', 'facility', 'startup-demote', "
			        "'startup-hold' or a vhost keyword, got '%s'",
			        path, lineno, w[0]);
			goto out;
		}
		if (strcmp(w[0], "interface") == 0 || strcmp(w[0], "vhid") == 0) {
			cd_errf(err, "%s:%u: expected the interface and vhid on the 'vhost' line",
			        path, lineno);
			goto out;
		}
		if (cur == NULL) {
			cd_errf(err, "%s:%u: expected a 'vhost INTERFACE VHID' line before '%s'",
			        path, lineno, w[0]);
			goto out;
		}
		if (takes_arg && n != 2) {
			cd_errf(err, "%s:%u: expected exactly one argument after '%s'", path,
			        lineno, w[0]);
			goto out;
		}
		if (!takes_arg && n != 1) {
			cd_errf(err, "%s:%u: expected no argument after '%s'", path, lineno, w[0]);
			goto out;
		}
		if (cd_vhost_set(cur, w[0], takes_arg ? w[1] : NULL, keyerr) < 0) {
			cd_errf(err, "%s:%u: %s: %s", path, lineno, w[0], keyerr);
			goto out;
		}
	}
	if (ferror(f)) {
		cd_errf(err, "%s: read error: %s", path, strerror(errno));
		goto out;
	}
	if (cfg->nvh == 0) {
		cd_errf(err, "%s:%u: expected at least one 'vhost INTERFACE VHID' section", path,
		        lineno);
		goto out;
	}
	for (i = 0; i < cfg->nvh; i++)
		if (cd_vhost_conf_check(&cfg->vh[i], keyerr) < 0) {
			cd_errf(err, "%s: vhost %s %u: %s", cfg->vh[i].where, cfg->vh[i].ifname,
			        cfg->vh[i].vhid, keyerr);
			goto out;
		}
	rc = 0;
out:
	free(line);
	fclose(f);
	return rc;
}
