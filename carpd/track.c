/*
 * carpd: tracking that demotes (keepalived's track_interface and
 * track_script). Each tracker owns one hold in the book (holds.c) under a
 * holder name of its own, kept until changed (ttl 0): while it is failed
 * the hold is its weight on its group, else there is none. So a tracker
 * moves a group the way a hold request does, and status shows it as one.
 *
 * Health checks run as the up/down scripts do: spawned, never waited for in
 * the loop, reaped on SIGCHLD; a check still running at its timeout is
 * killed with its process group and counts as a failure. Advertisements
 * never wait for a check.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>

#include "carpd.h"

static bool is_script(const struct cd_tracker *t)
{
	return t->conf.kind == CD_TRACK_SCRIPT;
}

static const char *kind_name(const struct cd_tracker *t)
{
	return is_script(t) ? "track-script" : "track-interface";
}

/* "track-" and 8 hex digits of FNV-1a over kind and name: stable across reloads. */
static void holder_name(const struct cd_track_conf *c, char *out, size_t len)
{
	uint32_t h = 2166136261u;
	const char *p;

	h = (h ^ (uint32_t)c->kind) * 16777619u;
	for (p = c->name; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, len, CD_TRACK_HOLDER_PREFIX "%08x", h);
}

/* Raise or take back t's hold (one book change). */
static void set_failed(struct cd_daemon *d, struct cd_tracker *t, bool failed, const char *why,
                       rd_time_t now)
{
	struct cd_book_op op = {.holder = t->holder,
	                        .group = t->conf.group,
	                        .value = failed ? t->conf.weight : 0,
	                        .ttl = 0,
	                        .internal = true};
	char err[CD_ERR_LEN];

	if (failed == t->failed)
		return;
	if (cd_book_apply(&d->book, &op, 1, now, err) != 0) {
		dm_log(LOG_ERR, "%s %s: %s", kind_name(t), t->conf.name, err);
		return;
	}
	t->failed = failed;
	t->since = now;
	dm_log(LOG_WARNING, "%s %s: %s (%s): group %s %s %u", kind_name(t), t->conf.name,
	       failed ? "failed" : "healthy again", why, t->conf.group,
	       failed ? "demoted by" : "no longer demoted by", t->conf.weight);
}

/* An interface's link as the kernel has it now (a missing one is down). */
static void link_read(struct cd_daemon *d, struct cd_tracker *t)
{
	bool up = false;

	t->ifindex = if_nametoindex(t->conf.name);
	if (t->ifindex != 0 && rd_io_nl_link_state(d->nl, t->ifindex, &up) < 0)
		up = false;
	t->up = up;
}

static void link_update(struct cd_daemon *d, struct cd_tracker *t, rd_time_t now)
{
	set_failed(d, t, !t->up,
	           t->ifindex == 0 ? "no such interface"
	           : t->up         ? "link up"
	                           : "link down",
	           now);
}

static void kill_script(struct cd_tracker *t)
{
	if (t->pid <= 0)
		return;
	/* Its process group (cd_spawn), and itself should setpgid have failed. */
	kill(-t->pid, SIGKILL);
	kill(t->pid, SIGKILL);
}

void cd_track_apply(struct cd_daemon *d, const struct cd_track_conf *conf, size_t n, rd_time_t now)
{
	struct cd_tracker *nt = calloc(n + 1, sizeof(*nt));
	struct cd_book_op ops[2 * CD_TRACK_MAX];
	char err[CD_ERR_LEN];
	size_t i, j, nops = 0;
	bool *kept = calloc(d->ntrk + 1, sizeof(*kept));

	if (nt == NULL || kept == NULL) {
		dm_log(LOG_ERR, "tracking: out of memory, trackers unchanged");
		free(nt);
		free(kept);
		return;
	}
	for (i = 0; i < n; i++) {
		struct cd_tracker *t = &nt[i];

		for (j = 0; j < d->ntrk; j++)
			if (!kept[j] && cd_track_same(&d->trk[j].conf, &conf[i]))
				break;
		if (j < d->ntrk) {
			/* The same check or interface: its state and counters go on. */
			*t = d->trk[j]; /* its name is freed with the old table below */
			kept[j] = true;
			if (is_script(t) && t->pid == 0 &&
			    t->next_run > now + (rd_time_t)conf[i].interval * RD_SEC)
				t->next_run = now + (rd_time_t)conf[i].interval * RD_SEC;
		} else {
			t->since = now;
			t->next_run = now;
			snprintf(t->last, sizeof(t->last), "not run yet");
		}
		t->conf = conf[i];
		t->conf.name = strdup(conf[i].name);
		if (t->conf.name == NULL) {
			dm_log(LOG_ERR, "tracking: out of memory, trackers unchanged");
			while (i-- > 0)
				free(nt[i].conf.name);
			free(nt);
			free(kept);
			return;
		}
		holder_name(&t->conf, t->holder, sizeof(t->holder));
	}
	/* One book change: every old hold taken back, every failed one raised anew
	 * (its weight or group may have changed). */
	for (j = 0; j < d->ntrk; j++)
		if (d->trk[j].failed)
			ops[nops++] = (struct cd_book_op){.holder = d->trk[j].holder,
			                                  .group = d->trk[j].conf.group,
			                                  .internal = true};
	for (i = 0; i < n; i++)
		if (nt[i].failed)
			ops[nops++] = (struct cd_book_op){.holder = nt[i].holder,
			                                  .group = nt[i].conf.group,
			                                  .value = nt[i].conf.weight,
			                                  .internal = true};
	if (nops > 0 && cd_book_apply(&d->book, ops, nops, now, err) != 0)
		dm_log(LOG_ERR, "tracking: %s", err);
	for (j = 0; j < d->ntrk; j++) {
		if (!kept[j]) {
			dm_log(LOG_NOTICE, "%s %s: no longer tracked", kind_name(&d->trk[j]),
			       d->trk[j].conf.name);
			kill_script(&d->trk[j]);
		}
		cd_track_conf_free(&d->trk[j].conf);
	}
	free(kept);
	free(d->trk);
	d->trk = nt;
	d->ntrk = n;
	for (i = 0; i < n; i++)
		if (!is_script(&nt[i])) {
			link_read(d, &nt[i]);
			link_update(d, &nt[i], now);
		}
}

rd_time_t cd_track_expiry(const struct cd_daemon *d)
{
	rd_time_t next = RD_TIME_NEVER;
	size_t i;

	for (i = 0; i < d->ntrk; i++) {
		const struct cd_tracker *t = &d->trk[i];
		rd_time_t e = RD_TIME_NEVER;

		if (!is_script(t))
			continue;
		if (t->pid == 0)
			e = t->next_run;
		else if (!t->killed)
			e = t->deadline;
		if (e < next)
			next = e;
	}
	return next;
}

/* A check's result: fall failures in a row fail it, rise successes heal it. */
static void result(struct cd_daemon *d, struct cd_tracker *t, bool ok, rd_time_t now)
{
	if (ok) {
		t->fails = 0;
		t->oks++;
		if (t->failed && t->oks >= t->conf.rise) {
			char why[96];

			snprintf(why, sizeof(why), "%u success(es) in a row", t->oks);
			set_failed(d, t, false, why, now);
		}
		return;
	}
	t->failures++;
	t->oks = 0;
	t->fails++;
	if (!t->failed && t->fails >= t->conf.fall) {
		char why[96];

		snprintf(why, sizeof(why), "%u failure(s) in a row, last: %s", t->fails, t->last);
		set_failed(d, t, true, why, now);
	}
}

void cd_track_tick(struct cd_daemon *d, rd_time_t now)
{
	size_t i;

	for (i = 0; i < d->ntrk; i++) {
		struct cd_tracker *t = &d->trk[i];
		char *argv[2];
		pid_t pid;

		if (!is_script(t))
			continue;
		if (t->pid != 0) {
			if (!t->killed && now >= t->deadline) {
				dm_log(LOG_WARNING, "track-script %s (pid %d): killed after %u s",
				       t->conf.name, (int)t->pid, t->conf.timeout);
				kill_script(t);
				t->killed = true;
			}
			continue;
		}
		if (now < t->next_run)
			continue;
		t->next_run = now + (rd_time_t)t->conf.interval * RD_SEC;
		t->runs++;
		argv[0] = t->conf.name;
		argv[1] = NULL;
		pid = cd_spawn(argv);
		if (pid < 0) {
			snprintf(t->last, sizeof(t->last), "cannot run: %s", strerror((int)-pid));
			dm_log_limited("track-script spawn", LOG_WARNING, "track-script %s: %s",
			               t->conf.name, t->last);
			result(d, t, false, now);
			continue;
		}
		t->pid = pid;
		t->killed = false;
		t->deadline = now + (rd_time_t)t->conf.timeout * RD_SEC;
	}
}

bool cd_track_reaped(struct cd_daemon *d, pid_t pid, int status, rd_time_t now)
{
	size_t i;

	for (i = 0; i < d->ntrk; i++) {
		struct cd_tracker *t = &d->trk[i];
		bool ok = false;

		if (!is_script(t) || t->pid != pid)
			continue;
		t->pid = 0;
		if (t->killed) {
			t->timeouts++;
			snprintf(t->last, sizeof(t->last), "timeout (%u s)", t->conf.timeout);
		} else if (WIFEXITED(status)) {
			ok = WEXITSTATUS(status) == 0;
			snprintf(t->last, sizeof(t->last), "exit %d", WEXITSTATUS(status));
		} else {
			snprintf(t->last, sizeof(t->last), "signal %d",
			         WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		}
		t->killed = false;
		result(d, t, ok, now);
		return true;
	}
	return false;
}

void cd_track_link(struct cd_daemon *d, const struct rd_io_link_event *ev, rd_time_t now)
{
	size_t i;

	for (i = 0; i < d->ntrk; i++) {
		struct cd_tracker *t = &d->trk[i];

		if (is_script(t))
			continue;
		if (t->ifindex == ev->ifindex && ev->ifindex != 0) {
			t->up = ev->exists && ev->up;
			if (!ev->exists)
				t->ifindex = 0;
		} else if (t->ifindex == 0 && ev->exists && ev->name != NULL &&
		           strcmp(ev->name, t->conf.name) == 0) {
			/* The interface appeared (or came back under a new index). */
			t->ifindex = ev->ifindex;
			t->up = ev->up;
		} else {
			continue;
		}
		link_update(d, t, now);
	}
}

void cd_track_resync(struct cd_daemon *d, rd_time_t now)
{
	size_t i;

	for (i = 0; i < d->ntrk; i++)
		if (!is_script(&d->trk[i])) {
			link_read(d, &d->trk[i]);
			link_update(d, &d->trk[i], now);
		}
}

void cd_track_status(const struct cd_daemon *d, struct dm_buf *b, bool json, rd_time_t now)
{
	size_t i;

	if (json)
		dm_buf_printf(b, "\"tracking\": [");
	for (i = 0; i < d->ntrk; i++) {
		const struct cd_tracker *t = &d->trk[i];
		double since = t->since <= now ? (double)(now - t->since) / 1e9 : 0.0;

		if (json) {
			dm_buf_printf(b, "%s{\"kind\": \"%s\", \"name\": ", i ? ", " : "",
			              is_script(t) ? "script" : "interface");
			dm_buf_json_str(b, t->conf.name);
			dm_buf_printf(b, ", \"holder\": \"%s\", \"group\": ", t->holder);
			dm_buf_json_str(b, t->conf.group);
			dm_buf_printf(
			    b, ", \"weight\": %u, \"state\": \"%s\", \"state_seconds\": %.3f",
			    t->conf.weight, t->failed ? "failed" : "healthy", since);
			if (is_script(t)) {
				dm_buf_printf(b,
				              ", \"interval\": %u, \"timeout\": %u, \"fall\": %u, "
				              "\"rise\": %u, \"running\": %s, \"last\": ",
				              t->conf.interval, t->conf.timeout, t->conf.fall,
				              t->conf.rise, t->pid != 0 ? "true" : "false");
				dm_buf_json_str(b, t->last);
				dm_buf_printf(b,
				              ", \"fails\": %u, \"successes\": %u, \"runs\": %llu, "
				              "\"failures\": %llu, \"timeouts\": %llu}",
				              t->fails, t->oks, (unsigned long long)t->runs,
				              (unsigned long long)t->failures,
				              (unsigned long long)t->timeouts);
			} else {
				dm_buf_printf(b, ", \"link\": \"%s\", \"ifindex\": %u}",
				              t->ifindex == 0 ? "missing"
				              : t->up         ? "up"
				                              : "down",
				              t->ifindex);
			}
			continue;
		}
		dm_buf_printf(b, "  %s %s: %s for %.1fs, group %s weight %u", kind_name(t),
		              t->conf.name, t->failed ? "FAILED" : "healthy", since, t->conf.group,
		              t->conf.weight);
		if (is_script(t))
			dm_buf_printf(b,
			              ", last %s (%u failure(s), %u success(es) in a row; fall %u "
			              "rise %u), runs %llu failures %llu timeouts %llu\n",
			              t->last, t->fails, t->oks, t->conf.fall, t->conf.rise,
			              (unsigned long long)t->runs, (unsigned long long)t->failures,
			              (unsigned long long)t->timeouts);
		else
			dm_buf_printf(b, ", link %s\n",
			              t->ifindex == 0 ? "missing"
			              : t->up         ? "up"
			                              : "down");
	}
	if (json)
		dm_buf_printf(b, "], ");
}

void cd_track_free(struct cd_daemon *d)
{
	size_t i;

	for (i = 0; i < d->ntrk; i++) {
		kill_script(&d->trk[i]);
		cd_track_conf_free(&d->trk[i].conf);
	}
	free(d->trk);
	d->trk = NULL;
	d->ntrk = 0;
}
