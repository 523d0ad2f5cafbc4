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

#include "carpd.h"

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
		cd_file_errf(err, path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *w[4];
		int n;
		bool takes_arg;

		lineno++;
		n = dm_conf_words(line, w, 3);
		if (n == 0)
			continue;
		if (strcmp(w[0], "vhost") == 0) {
			struct cd_vhost_conf *nv;
			unsigned vhid;

			if (n != 3) {
				cd_file_errf(err, path, lineno, "expected 'vhost INTERFACE VHID'");
				goto out;
			}
			nv = realloc(cfg->vh, (cfg->nvh + 1) * sizeof(*cfg->vh));
			if (nv == NULL) {
				cd_file_errf(err, path, lineno, "out of memory");
				goto out;
			}
			cfg->vh = nv;
			cur = &cfg->vh[cfg->nvh++];
			cd_vhost_conf_init(cur);
			snprintf(cur->where, sizeof(cur->where), "%s:%u", path, lineno);
			if (cd_vhost_set(cur, "interface", w[1], keyerr) < 0) {
				cd_file_errf(err, path, lineno, "%s", keyerr);
				goto out;
			}
			if (dm_parse_uint(w[2], 1, 255, &vhid) < 0) {
				cd_file_errf(err, path, lineno,
				             "expected a vhid from 1 to 255, got '%s'", w[2]);
				goto out;
			}
			cur->vhid = (uint8_t)vhid;
			for (i = 0; i + 1 < cfg->nvh; i++)
				if (cfg->vh[i].vhid == cur->vhid &&
				    strcmp(cfg->vh[i].ifname, cur->ifname) == 0) {
					cd_file_errf(
					    err, path, lineno,
					    "expected a vhid not yet used on %s (vhid %u is "
					    "already at %s)",
					    cur->ifname, cur->vhid, cfg->vh[i].where);
					goto out;
				}
			continue;
		}
		if (strcmp(w[0], "control") == 0 || strcmp(w[0], "facility") == 0) {
			if (n != 2) {
				cd_file_errf(err, path, lineno, "expected '%s VALUE'", w[0]);
				goto out;
			}
			if (cur != NULL) {
				cd_file_errf(err, path, lineno,
				             "expected '%s' before the first 'vhost' line", w[0]);
				goto out;
			}
			if (w[0][0] == 'c') {
				if (cfg->control == NULL && dm_str_set(&cfg->control, w[1]) < 0) {
					cd_file_errf(err, path, lineno, "out of memory");
					goto out;
				}
			} else if (strcmp(w[1], "none") == 0) {
				cfg->no_syslog = true;
			} else if (cfg->facility < 0) {
				cfg->facility = cd_facility_by_name(w[1]);
				if (cfg->facility < 0) {
					cd_file_errf(err, path, lineno,
					             "expected a syslog facility name, got '%s'",
					             w[1]);
					goto out;
				}
			}
			continue;
		}
		if (cd_global_key_known(w[0])) {
			if (n != 2) {
				cd_file_errf(err, path, lineno, "expected '%s VALUE'", w[0]);
				goto out;
			}
			if (cur != NULL) {
				cd_file_errf(err, path, lineno,
				             "expected '%s' before the first 'vhost' line", w[0]);
				goto out;
			}
			if (cd_global_set(cfg, w[0], w[1], keyerr) < 0) {
				cd_file_errf(err, path, lineno, "%s: %s", w[0], keyerr);
				goto out;
			}
			continue;
		}
		if (!cd_vhost_key_known(w[0], &takes_arg)) {
			cd_file_errf(err, path, lineno,
			             "expected 'vhost', 'control', 'facility', 'startup-demote', "
			             "'startup-hold' or a vhost keyword, got '%s'",
			             w[0]);
			goto out;
		}
		if (strcmp(w[0], "interface") == 0 || strcmp(w[0], "vhid") == 0) {
			cd_file_errf(err, path, lineno,
			             "expected the interface and vhid on the 'vhost' line");
			goto out;
		}
		if (cur == NULL) {
			cd_file_errf(err, path, lineno,
			             "expected a 'vhost INTERFACE VHID' line before '%s'", w[0]);
			goto out;
		}
		if (takes_arg && n != 2) {
			cd_file_errf(err, path, lineno, "expected exactly one argument after '%s'",
			             w[0]);
			goto out;
		}
		if (!takes_arg && n != 1) {
			cd_file_errf(err, path, lineno, "expected no argument after '%s'", w[0]);
			goto out;
		}
		if (cd_vhost_set(cur, w[0], takes_arg ? w[1] : NULL, keyerr) < 0) {
			cd_file_errf(err, path, lineno, "%s: %s", w[0], keyerr);
			goto out;
		}
	}
	if (ferror(f)) {
		cd_file_errf(err, path, 0, "read error: %s", strerror(errno));
		goto out;
	}
	if (cfg->nvh == 0) {
		cd_file_errf(err, path, lineno,
		             "expected at least one 'vhost INTERFACE VHID' section");
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
