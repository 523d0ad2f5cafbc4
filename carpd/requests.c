/*
 * carpd: the answers to control-socket requests (status in text or JSON,
 * demote, hold, leave, join). Called from the event loop through the control
 * socket (daemon/control.c), which sends "ok\n" + body or "error BODY\n".
 */
#include <inttypes.h>
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

static double seconds_left(rd_time_t when, rd_time_t now)
{
	return when > now ? (double)(when - now) / 1e9 : 0.0;
}

/*
 * What makes up a node group's counter: carpd's demote requests (edge) and
 * holds, and the rest, raised by the engine itself (lost links, send errors).
 */
static void group_parts(const struct cd_book *bk, const char *name, unsigned int value,
                        unsigned int *edge, unsigned long *holds, unsigned long *raised)
{
	const struct cd_group_book *g = cd_book_group(bk, name);
	unsigned long applied = g != NULL ? g->applied : 0;

	*edge = g != NULL ? g->edge : 0;
	*holds = cd_book_wanted(bk, name) - *edge;
	*raised = value > applied ? value - applied : 0;
}

/* The node: instance, masters, start-up hold, carpd's groups, holds, counters. */
static void node_status(struct cd_daemon *d, struct dm_buf *b, bool json, rd_time_t now)
{
	const struct cd_book *bk = &d->book;
	const char *name;
	unsigned int value, edge;
	unsigned long holds, raised;
	size_t i;
	int s;

	if (json) {
		dm_buf_printf(b,
		              "\"node\": {\"instance\": \"%s\", \"masters\": %zu, "
		              "\"startup_hold\": {\"demote\": %d, \"seconds\": %d, \"held\": %s, "
		              "\"released\": ",
		              d->instance, cd_daemon_masters(d), d->cfg.startup_demote,
		              d->cfg.startup_hold, d->startup_pending ? "true" : "false");
		if (d->startup_released[0] != '\0')
			dm_buf_json_str(b, d->startup_released);
		else
			dm_buf_printf(b, "null");
		dm_buf_printf(b, "}, \"groups\": [");
		for (i = 0; rd_carp_node_group(d->node, i, &name, &value) == 0; i++) {
			group_parts(bk, name, value, &edge, &holds, &raised);
			dm_buf_printf(b, "%s{\"name\": ", i ? ", " : "");
			dm_buf_json_str(b, name);
			dm_buf_printf(b,
			              ", \"value\": %u, \"demote\": %u, \"holds\": %lu, "
			              "\"raised\": %lu}",
			              value, edge, holds, raised);
		}
		dm_buf_printf(b, "], \"holds\": [");
		for (i = 0; i < bk->nholds; i++) {
			const struct cd_hold *h = &bk->holds[i];

			dm_buf_printf(b, "%s{\"holder\": ", i ? ", " : "");
			dm_buf_json_str(b, h->holder);
			dm_buf_printf(b, ", \"group\": ");
			dm_buf_json_str(b, h->group);
			/* A tracker's hold (ttl 0) never lapses: expires_in null. */
			if (h->ttl == 0)
				dm_buf_printf(b,
				              ", \"value\": %u, \"ttl\": 0, \"expires_in\": null}",
				              h->value);
			else
				dm_buf_printf(b,
				              ", \"value\": %u, \"ttl\": %u, \"expires_in\": %.3f}",
				              h->value, h->ttl, seconds_left(h->expires, now));
		}
		dm_buf_printf(b, "], \"counters\": ");
		dm_buf_json_counters(b, bk->stats, CD_BS_COUNT, cd_book_stat_name);
		dm_buf_printf(
		    b, ", \"reloads\": {\"applied\": %llu, \"refused\": %llu, \"last_refusal\": ",
		    (unsigned long long)d->reloads, (unsigned long long)d->reloads_refused);
		if (d->reload_refusal[0] != '\0')
			dm_buf_json_str(b, d->reload_refusal);
		else
			dm_buf_printf(b, "null");
		dm_buf_printf(b, "}}, ");
		return;
	}
	dm_buf_printf(b, "node: instance %s, %zu vhost(s) MASTER\n", d->instance,
	              cd_daemon_masters(d));
	if (d->cfg.startup_demote > 0)
		dm_buf_printf(b, "  start-up hold: %d for at most %d s, %s%s%s\n",
		              d->cfg.startup_demote, d->cfg.startup_hold,
		              d->startup_pending ? "held" : "released",
		              d->startup_released[0] != '\0' ? ": " : "", d->startup_released);
	for (i = 0; rd_carp_node_group(d->node, i, &name, &value) == 0; i++) {
		group_parts(bk, name, value, &edge, &holds, &raised);
		dm_buf_printf(b, "  group %s: %u (demote %u, holds %lu, raised %lu)\n", name, value,
		              edge, holds, raised);
	}
	for (i = 0; i < bk->nholds; i++) {
		const struct cd_hold *h = &bk->holds[i];

		if (h->ttl == 0)
			dm_buf_printf(b, "  hold %s on %s: %u, a tracker's (until it is healthy)\n",
			              h->holder, h->group, h->value);
		else
			dm_buf_printf(b, "  hold %s on %s: %u, ttl %u s, %.1f s left\n", h->holder,
			              h->group, h->value, h->ttl, seconds_left(h->expires, now));
	}
	dm_buf_printf(b, "  requests:");
	for (s = 0; s < CD_BS_COUNT; s++)
		if (s <= CD_BS_HOLDS_LAPSED || bk->stats[s] != 0)
			dm_buf_printf(b, " %s %llu", cd_book_stat_name(s),
			              (unsigned long long)bk->stats[s]);
	dm_buf_printf(b, "\n");
	dm_buf_printf(b, "  reloads: applied %llu refused %llu\n", (unsigned long long)d->reloads,
	              (unsigned long long)d->reloads_refused);
	if (d->reload_refusal[0] != '\0')
		dm_buf_printf(b, "  last reload refused: %s\n", d->reload_refusal);
}

/* The notify hooks: paths and how many transitions were handed to notify. */
static void notify_status(struct cd_daemon *d, struct dm_buf *b, bool json)
{
	if (json) {
		dm_buf_printf(b, "\"notify\": {\"path\": ");
		if (d->cfg.notify != NULL)
			dm_buf_json_str(b, d->cfg.notify);
		else
			dm_buf_printf(b, "null");
		dm_buf_printf(
		    b, ", \"calls\": %llu, \"master_before\": ", (unsigned long long)d->notifies);
		if (d->cfg.notify_master_before != NULL)
			dm_buf_json_str(b, d->cfg.notify_master_before);
		else
			dm_buf_printf(b, "null");
		dm_buf_printf(b, ", \"master_before_timeout\": %u}, ",
		              d->cfg.notify_master_timeout);
		return;
	}
	if (d->cfg.notify != NULL)
		dm_buf_printf(b, "  notify %s: %llu call(s)\n", d->cfg.notify,
		              (unsigned long long)d->notifies);
	if (d->cfg.notify_master_before != NULL)
		dm_buf_printf(b, "  notify-master-before %s, timeout %u s\n",
		              d->cfg.notify_master_before, d->cfg.notify_master_timeout);
}

/* The control socket's counters (daemon/control.c): clients closed or refused, and why. */
static void control_status(struct cd_daemon *d, struct dm_buf *b, bool json)
{
	uint64_t zero[DM_CTL_STAT_COUNT] = {0};
	const uint64_t *st = d->ctl != NULL ? dm_control_stats(d->ctl) : zero;
	int s;

	if (json) {
		dm_buf_printf(b, "\"control\": ");
		dm_buf_json_counters(b, st, DM_CTL_STAT_COUNT, dm_control_stat_name);
		dm_buf_printf(b, ", ");
		return;
	}
	dm_buf_printf(b, "  control:");
	for (s = 0; s < DM_CTL_STAT_COUNT; s++)
		if (s <= DM_CTL_REQUESTS || st[s] != 0)
			dm_buf_printf(b, " %s %llu", dm_control_stat_name(s),
			              (unsigned long long)st[s]);
	dm_buf_printf(b, "\n");
}

int cd_daemon_status(struct cd_daemon *d, bool json, char **out)
{
	struct dm_buf b = {0};
	rd_time_t now = cd_now();
	size_t i, j, k;

	if (json)
		dm_buf_printf(&b, "{");
	node_status(d, &b, json, now);
	cd_track_status(d, &b, json, now);
	notify_status(d, &b, json);
	control_status(d, &b, json);
	dm_log_status(&b, json);
	if (json)
		dm_buf_printf(&b, ", \"interfaces\": [");
	for (i = 0; i < d->nifs; i++) {
		struct cd_iface *ifc = d->ifs[i];
		uint64_t st[RD_CARP_STAT_COUNT];

		rd_carp_if_stats(ifc->cif, st);
		if (json) {
			dm_buf_printf(&b, "%s{\"name\": ", i ? ", " : "");
			dm_buf_json_str(&b, ifc->name);
			dm_buf_printf(&b,
			              ", \"ifindex\": %u, \"link\": \"%s\", \"ignoreifstate\": %s, "
			              "\"demotion\": %u, \"counters\": ",
			              ifc->ifindex, rd_carp_if_link_up(ifc->cif) ? "up" : "down",
			              ifc->ignoreifstate ? "true" : "false",
			              rd_carp_if_demotion(ifc->cif));
			dm_buf_json_counters(&b, st, RD_CARP_STAT_COUNT, rd_carp_stat_name);
			dm_buf_printf(&b, ", \"vhosts\": [");
		} else {
			dm_buf_printf(&b, "%s: link %s, demotion %u", ifc->name,
			              rd_carp_if_link_up(ifc->cif) ? "up" : "down",
			              rd_carp_if_demotion(ifc->cif));
			dm_buf_printf(&b, " (highest of its vhosts)\n  ");
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
				dm_buf_printf(&b, "], \"groups\": [");
				for (k = 0; k < info.ngroups; k++) {
					dm_buf_printf(&b, "%s", k ? ", " : "");
					dm_buf_json_str(&b, info.groups[k]);
				}
				dm_buf_printf(
				    &b, "], \"takeovers_averted\": %" PRIu64 ", \"counters\": ",
				    v->takeovers_averted);
				dm_buf_json_counters(&b, info.stats, RD_CARP_STAT_COUNT,
				                     rd_carp_stat_name);
				dm_buf_printf(&b, "}");
			} else {
				dm_buf_printf(&b,
				              "  vhid %u: %s for %.1fs, advbase %u advskew %u%s, "
				              "demotion %u, groups",
				              info.vhid, rd_carp_state_name(info.state), since,
				              info.advbase, info.advskew,
				              info.preempt ? " preempt" : "", info.demote);
				for (k = 0; k < info.ngroups; k++)
					dm_buf_printf(&b, " %s", info.groups[k]);
				dm_buf_printf(&b,
				              "%s\n    addresses:", info.ngroups ? "" : " (none)");
				for (k = 0; k < v->conf.naddrs; k++)
					dm_buf_printf(
					    &b, " %s/%u",
					    rd_addr_format(&v->conf.addrs[k], a, sizeof(a)),
					    v->conf.prefixlen[k]);
				dm_buf_printf(&b, "\n    ");
				counters_text(&b, info.stats);
				if (v->takeovers_averted > 0)
					dm_buf_printf(&b, " takeovers_averted %" PRIu64,
					              v->takeovers_averted);
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

/* The op that takes the start-up hold back with a request that ends it. */
static const struct cd_book_op startup_release_op = {
    .holder = CD_STARTUP_HOLDER, .group = CD_GROUP_DEFAULT, .value = 0, .ttl = 1, .internal = true};

int cd_daemon_demote(struct cd_daemon *d, const char *group, int delta, char **out)
{
	char err[CD_ERR_LEN];
	const struct cd_group_book *g;
	struct cd_book_op ops[2] = {{.group = group, .delta = delta}, startup_release_op};
	bool release = d->startup_pending;

	/* One change: the engine never sees the demote on top of the start-up hold. */
	if (cd_book_apply(&d->book, ops, release ? 2 : 1, cd_now(), err) != 0) {
		*out = strdup(err);
		return -1;
	}
	g = cd_book_group(&d->book, group);
	dm_log(LOG_NOTICE, "demotion group %s adjusted by %+d, %u by request (control socket)",
	       group, delta, g != NULL ? g->edge : 0);
	if (release)
		cd_daemon_startup_released(d, "demote request");
	*out = NULL;
	return 0;
}

int cd_daemon_hold(struct cd_daemon *d, const struct cd_hold_req *req, char **out)
{
	char err[CD_ERR_LEN];
	const struct cd_hold *h = cd_book_find(&d->book, req->holder, req->group);
	unsigned int before = h != NULL ? h->value : 0;
	bool startup = strcmp(req->holder, CD_STARTUP_HOLDER) == 0;
	bool release = d->startup_pending && !startup;
	struct cd_book_op ops[2] = {
	    {.holder = req->holder, .group = req->group, .value = req->value, .ttl = req->ttl},
	    startup_release_op};

	/* A node that already serves never holds itself back. */
	if (req->unless_master && cd_daemon_masters(d) > 0)
		ops[0].value = 0;
	/* The first report of another holder ends the start-up hold, in the same change. */
	if (cd_book_apply(&d->book, ops, release ? 2 : 1, cd_now(), err) != 0) {
		*out = strdup(err);
		return -1;
	}
	if (ops[0].value != before)
		dm_log(LOG_NOTICE, "hold %s on %s: %u -> %u (ttl %u s)%s", req->holder, req->group,
		       before, ops[0].value, req->ttl,
		       ops[0].value != req->value ? " (unless-master: a vhost is MASTER)" : "");
	if (release) {
		char why[CD_NAME_MAX + 16];

		snprintf(why, sizeof(why), "%s reported", req->holder);
		cd_daemon_startup_released(d, why);
	} else if (startup && d->startup_pending && strcmp(req->group, CD_GROUP_DEFAULT) == 0 &&
	           ops[0].value == 0) {
		cd_daemon_startup_released(d, "by request");
	}
	h = cd_book_find(&d->book, req->holder, req->group);
	if (asprintf(out, "held %s %s %u ttl %u instance %s masters %zu\n", req->holder, req->group,
	             h != NULL ? h->value : 0, req->ttl, d->instance, cd_daemon_masters(d)) < 0) {
		*out = strdup("out of memory");
		return -1;
	}
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
/* One request line: status [json] | demote GROUP +N|-N | hold ... | leave | join. */
int cd_control_request(void *user, char *line, char **body)
{
	struct cd_daemon *d = user;
	char *w[6], err[CD_ERR_LEN];
	enum cd_book_stat why;
	int n = dm_words(line, w, 6);

	if (n == 0) {
		*body = strdup("empty request");
		return -1;
	}
	if (strcmp(w[0], "status") == 0 && (n == 1 || (n == 2 && strcmp(w[1], "json") == 0)))
		return cd_daemon_status(d, n == 2, body);
	if (strcmp(w[0], "demote") == 0) {
		struct cd_demote_req r;

		if (cd_demote_parse(w, n, &r, err, &why) < 0) {
			d->book.stats[why]++;
			*body = strdup(err);
			return -1;
		}
		return cd_daemon_demote(d, r.group, r.delta, body);
	}
	if (strcmp(w[0], "hold") == 0) {
		struct cd_hold_req r;

		if (cd_hold_parse(w, n, &r, err, &why) < 0) {
			d->book.stats[why]++;
			*body = strdup(err);
			return -1;
		}
		return cd_daemon_hold(d, &r, body);
	}
	if (strcmp(w[0], "leave") == 0 && n == 1)
		return cd_daemon_leave(d, body);
	if (strcmp(w[0], "join") == 0 && n == 1)
		return cd_daemon_join(d, body);
	*body = strdup("unknown request (expected status [json], demote GROUP +N|-N, "
	               "hold HOLDER GROUP VALUE TTL [unless-master], leave, join)");
	return -1;
}

void cd_daemon_notify_status(const struct cd_daemon *d)
{
	size_t i, j, n = 0, master = 0, backup = 0;
	char s[DM_NOTIFY_STATUS_MAX * 3]; /* dm_notify_status cuts it */

	for (i = 0; i < d->nifs; i++)
		for (j = 0; j < d->ifs[i]->nvh; j++) {
			const struct rd_carp_vhost *vh = d->ifs[i]->vh[j]->vh;

			if (vh == NULL)
				continue;
			n++;
			if (rd_carp_vhost_state(vh) == RD_CARP_MASTER)
				master++;
			else if (rd_carp_vhost_state(vh) == RD_CARP_BACKUP)
				backup++;
		}
	snprintf(s, sizeof(s), "%zu vhost%s: %zu master, %zu backup, %zu init%s%s%.160s", n,
	         n == 1 ? "" : "s", master, backup, n - master - backup,
	         d->startup_pending ? "; start-up hold on" : "",
	         d->reload_refusal[0] ? "; last reload refused: " : "", d->reload_refusal);
	dm_notify_status(s);
}
