/*
 * carpd: the answers to control-socket requests (status in text or JSON,
 * demote, leave, join). Called from the event loop through the control
 * socket (daemon/control.c), which sends "ok\n" + body or "error BODY\n".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "carpd.h"

static void counters_text(struct dm_buf *b, const uint64_t *st)
{
	int s;

	dm_buf_printf(b, "sent %llu received %llu",
	              (unsigned long long)(st[RD_CARP_STAT_OPACKETS] + st[RD_CARP_STAT_OPACKETS6]),
	              (unsigned long long)(st[RD_CARP_STAT_IPACKETS] + st[RD_CARP_STAT_IPACKETS6]));
	for (s = RD_CARP_STAT_HDROPS; s <= RD_CARP_STAT_REPLAY; s++)
		if (st[s] != 0)
			dm_buf_printf(b, " %s %llu", rd_carp_stat_name(s),
			              (unsigned long long)st[s]);
	if (st[RD_CARP_STAT_OERRORS] != 0)
		dm_buf_printf(b, " oerrors %llu", (unsigned long long)st[RD_CARP_STAT_OERRORS]);
}

int cd_daemon_status(struct cd_daemon *d, bool json, char **out)
{
	struct dm_buf b = {0};
	rd_time_t now = cd_now();
	size_t i, j, k;

	if (json)
		dm_buf_printf(&b, "{\"interfaces\": [");
	for (i = 0; i < d->nifs; i++) {
		struct cd_iface *ifc = d->ifs[i];
		uint64_t st[RD_CARP_STAT_COUNT];
		const char *gname;
		unsigned int gval;

		rd_carp_if_stats(ifc->cif, st);
		if (json) {
			dm_buf_printf(&b, "%s{\"name\": ", i ? ", " : "");
			dm_buf_json_str(&b, ifc->name);
			dm_buf_printf(&b,
			              ", \"ifindex\": %u, \"link\": \"%s\", \"ignoreifstate\": %s, "
			              "\"demotion\": %u, \"demotion_groups\": {",
			              ifc->ifindex, rd_carp_if_link_up(ifc->cif) ? "up" : "down",
			              ifc->ignoreifstate ? "true" : "false",
			              rd_carp_if_demotion(ifc->cif));
			for (k = 0; rd_carp_if_demote_group(ifc->cif, k, &gname, &gval) == 0; k++) {
				dm_buf_printf(&b, "%s", k ? ", " : "");
				dm_buf_json_str(&b, gname);
				dm_buf_printf(&b, ": %u", gval);
			}
			dm_buf_printf(&b, "}, \"counters\": ");
			dm_buf_json_counters(&b, st, RD_CARP_STAT_COUNT, rd_carp_stat_name);
			dm_buf_printf(&b, ", \"vhosts\": [");
		} else {
			dm_buf_printf(&b, "%s: link %s, demotion %u", ifc->name,
			              rd_carp_if_link_up(ifc->cif) ? "up" : "down",
			              rd_carp_if_demotion(ifc->cif));
			for (k = 0; rd_carp_if_demote_group(ifc->cif, k, &gname, &gval) == 0; k++)
				dm_buf_printf(&b, "%s%s %u", k ? ", " : " (", gname, gval);
			dm_buf_printf(&b, "%s\n  ", k ? ")" : "");
			counters_text(&b, st);
			dm_buf_printf(&b, "\n");
		}
		for (j = 0; j < ifc->nvh; j++) {
			struct cd_vhost *v = ifc->vh[j];
			struct rd_carp_vhost_info info;
			double since;
			char a[RD_ADDR_STRLEN];

			rd_carp_vhost_info(v->vh, &info);
			since =
			    info.state_since <= now ? (double)(now - info.state_since) / 1e9 : 0.0;
			if (json) {
				dm_buf_printf(&b, "%s{\"interface\": ", j ? ", " : "");
				dm_buf_json_str(&b, ifc->name);
				dm_buf_printf(
				    &b,
				    ", \"vhid\": %u, \"state\": \"%s\", \"advbase\": %u, "
				    "\"advskew\": %u, \"deadratio\": %u, \"preempt\": %s, "
				    "\"replay_strict\": %s, \"demotion\": %u, "
				    "\"state_seconds\": %.3f, \"managed\": %s, \"addresses\": [",
				    info.vhid, rd_carp_state_name(info.state), info.advbase,
				    info.advskew, info.deadratio, info.preempt ? "true" : "false",
				    info.replay_strict ? "true" : "false", info.demote, since,
				    v->managed ? "true" : "false");
				for (k = 0; k < v->conf.naddrs; k++)
					dm_buf_printf(
					    &b, "%s\"%s/%u\"", k ? ", " : "",
					    rd_addr_format(&v->conf.addrs[k], a, sizeof(a)),
					    v->conf.prefixlen[k]);
				dm_buf_printf(&b, "], \"counters\": ");
				dm_buf_json_counters(&b, info.stats, RD_CARP_STAT_COUNT,
				                     rd_carp_stat_name);
				dm_buf_printf(&b, "}");
			} else {
				dm_buf_printf(&b,
				              "  vhid %u: %s for %.1fs, advbase %u advskew %u%s, "
				              "demotion %u\n    addresses:",
				              info.vhid, rd_carp_state_name(info.state), since,
				              info.advbase, info.advskew,
				              info.preempt ? " preempt" : "", info.demote);
				for (k = 0; k < v->conf.naddrs; k++)
					dm_buf_printf(
					    &b, " %s/%u",
					    rd_addr_format(&v->conf.addrs[k], a, sizeof(a)),
					    v->conf.prefixlen[k]);
				dm_buf_printf(&b, "\n    ");
				counters_text(&b, info.stats);
				dm_buf_printf(&b, "\n");
			}
		}
		if (json)
			dm_buf_printf(&b, "]}");
	}
	if (json)
		dm_buf_printf(&b, "]}\n");
	if (b.oom) {
		free(b.p);
		*out = strdup("out of memory");
		return -1;
	}
	*out = b.p != NULL ? b.p : strdup("");
	return 0;
}

int cd_daemon_demote(struct cd_daemon *d, const char *group, int delta, char **out)
{
	rd_time_t now = cd_now();
	size_t i;
	int rc;

	for (i = 0; i < d->nifs; i++) {
		rc = rd_carp_if_demote(d->ifs[i]->cif, group, delta, now);
		if (rc != 0) {
			if (asprintf(out, "demote %s: %s", group, rd_strerror(rc)) < 0)
				*out = NULL;
			return -1;
		}
	}
	dm_log(LOG_NOTICE, "demotion group %s adjusted by %+d (control socket)", group, delta);
	*out = NULL;
	return 0;
}

int cd_daemon_leave(struct cd_daemon *d, char **out)
{
	rd_time_t now = cd_now();
	size_t i;

	dm_log(LOG_NOTICE, "leaving on request (control socket)");
	for (i = 0; i < d->nifs; i++)
		rd_carp_if_leave(d->ifs[i]->cif, now);
	*out = strdup("all vhosts left (INIT); 'join' starts them again\n");
	return 0;
}

int cd_daemon_join(struct cd_daemon *d, char **out)
{
	rd_time_t now = cd_now();
	size_t i, j;

	for (i = 0; i < d->nifs; i++)
		for (j = 0; j < d->ifs[i]->nvh; j++)
			rd_carp_vhost_start(d->ifs[i]->vh[j]->vh, now);
	*out = strdup("all vhosts started\n");
	return 0;
}

/* One request line: status [json] | demote GROUP +N|-N | leave | join. */
int cd_control_request(void *user, char *line, char **body)
{
	struct cd_daemon *d = user;
	char *w[3];
	int n = dm_words(line, w, 3);

	if (n == 0) {
		*body = strdup("empty request");
		return -1;
	}
	if (strcmp(w[0], "status") == 0 && (n == 1 || (n == 2 && strcmp(w[1], "json") == 0)))
		return cd_daemon_status(d, n == 2, body);
	if (strcmp(w[0], "demote") == 0 && n == 3) {
		char *end;
		long delta = strtol(w[2], &end, 10);

		if (*end != '\0' || (w[2][0] != '+' && w[2][0] != '-') || delta < -255 ||
		    delta > 255) {
			*body =
			    strdup("expected 'demote GROUP +N' or 'demote GROUP -N' (N <= 255)");
			return -1;
		}
		return cd_daemon_demote(d, w[1], (int)delta, body);
	}
	if (strcmp(w[0], "leave") == 0 && n == 1)
		return cd_daemon_leave(d, body);
	if (strcmp(w[0], "join") == 0 && n == 1)
		return cd_daemon_join(d, body);
	*body = strdup("unknown request (expected status [json], demote GROUP +N|-N, leave, join)");
	return -1;
}
