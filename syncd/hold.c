/*
 * syncd: its hold on carpd, without I/O (see hold.h). The schedule is
 * simple on purpose: one request in flight at most, the next one due
 * SD_HOLD_PERIOD after the last was sent or at once when the wanted value
 * changes, an answer given up after SD_HOLD_TIMEOUT.
 */
#include <stdio.h>
#include <string.h>

#include "../daemon/daemon.h"
#include "hold.h"

static const char *const stat_names[SD_HOLD_STAT_MAX] = {
    [SD_HOLD_SENT] = "hold_sent",
    [SD_HOLD_CONFIRMED] = "hold_confirmed",
    [SD_HOLD_FAILED] = "hold_failed",
    [SD_HOLD_FAIL_CONNECT] = "hold_unreachable",
    [SD_HOLD_FAIL_TIMEOUT] = "hold_timeout",
    [SD_HOLD_FAIL_REFUSED] = "hold_refused",
    [SD_HOLD_FAIL_BADANSWER] = "hold_badanswer",
    [SD_HOLD_RESTARTS] = "carpd_restarts",
};

const char *sd_hold_stat_name(int stat)
{
	if (stat < 0 || stat >= SD_HOLD_STAT_MAX)
		return "unknown";
	return stat_names[stat];
}

/* why <- fmt with one string argument, always terminated when whylen > 0; returns rc. */
static int say(char *why, size_t whylen, int rc, const char *fmt, const char *arg)
{
	if (whylen > 0)
		snprintf(why, whylen, fmt, arg);
	return rc;
}

/* why <- msg; returns rc. */
static int say0(char *why, size_t whylen, int rc, const char *msg)
{
	return say(why, whylen, rc, "%s", msg);
}

static bool group_ok(const char *g)
{
	size_t n = g != NULL ? strlen(g) : 0;

	return n >= 1 && n <= SD_HOLD_GROUP_MAX && strpbrk(g, " \t\r\n") == NULL;
}

int sd_hold_parse(const char *text, size_t len, const char *group, struct sd_hold_answer *a,
                  char *why, size_t whylen)
{
	char body[256], *w[10], *p;
	size_t n;
	int nw = 0;

	if (len >= 6 && memcmp(text, "error ", 6) == 0) {
		n = len - 6;
		if (n > sizeof(body) - 1)
			n = sizeof(body) - 1;
		memcpy(body, text + 6, n);
		body[n] = '\0';
		body[strcspn(body, "\r\n")] = '\0';
		for (p = body; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		return say(why, whylen, SD_HOLD_FAIL_REFUSED, "carpd refused: %s", body);
	}
	if (len == 0)
		return say0(why, whylen, SD_HOLD_FAIL_BADANSWER,
		            "connection closed without an answer");
	if (len < 3 || memcmp(text, "ok\n", 3) != 0)
		return say0(why, whylen, SD_HOLD_FAIL_BADANSWER, "answer is neither ok nor error");
	text += 3;
	len -= 3;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len >= sizeof(body))
		return say0(why, whylen, SD_HOLD_FAIL_BADANSWER, "answer too long");
	memcpy(body, text, len);
	body[len] = '\0';
	if (strlen(body) != len || strpbrk(body, "\r\n") != NULL)
		return say0(why, whylen, SD_HOLD_FAIL_BADANSWER, "answer is not one line");
	for (p = body; *p != '\0'; p++) /* what is quoted back in `why` stays printable */
		if ((unsigned char)*p < 0x20 && *p != '\t')
			*p = '?';
		else if ((unsigned char)*p > 0x7e)
			*p = '?';
	nw = dm_words(body, w, 10);
	if (nw != 10 || strcmp(w[0], "held") != 0 || strcmp(w[4], "ttl") != 0 ||
	    strcmp(w[6], "instance") != 0 || strcmp(w[8], "masters") != 0)
		return say0(
		    why, whylen, SD_HOLD_FAIL_BADANSWER,
		    "expected 'held HOLDER GROUP APPLIED ttl TTL instance INSTANCE masters M'");
	if (strcmp(w[1], SD_HOLD_HOLDER) != 0)
		return say(why, whylen, SD_HOLD_FAIL_BADANSWER,
		           "answer for holder '%.32s', not syncd", w[1]);
	if (group == NULL || strcmp(w[2], group) != 0)
		return say(why, whylen, SD_HOLD_FAIL_BADANSWER, "answer for another group '%.32s'",
		           w[2]);
	if (dm_parse_uint(w[3], 0, 255, &a->applied) < 0)
		return say(why, whylen, SD_HOLD_FAIL_BADANSWER, "applied value '%.16s' not 0..255",
		           w[3]);
	if (dm_parse_uint(w[5], 0, 86400, &a->ttl) < 0 || a->ttl == 0)
		return say(why, whylen, SD_HOLD_FAIL_BADANSWER, "ttl '%.16s' not 1..86400", w[5]);
	if (strlen(w[7]) != SD_HOLD_INSTANCE_LEN ||
	    strspn(w[7], "0123456789abcdef") != SD_HOLD_INSTANCE_LEN)
		return say(why, whylen, SD_HOLD_FAIL_BADANSWER,
		           "instance '%.24s' not 16 lowercase hex digits", w[7]);
	memcpy(a->instance, w[7], SD_HOLD_INSTANCE_LEN + 1);
	if (dm_parse_uint(w[9], 0, 0x7fffffff, &a->masters) < 0)
		return say(why, whylen, SD_HOLD_FAIL_BADANSWER, "masters '%.16s' not a number",
		           w[9]);
	if (whylen > 0)
		why[0] = '\0';
	return 0;
}

int sd_hold_format(const char *group, int value, char *buf, size_t len)
{
	int n;

	if (!group_ok(group) || value < 0 || value > 255)
		return -1;
	n = snprintf(buf, len, "hold %s %s %d %d unless-master\n", SD_HOLD_HOLDER, group, value,
	             SD_HOLD_TTL);
	return n > 0 && (size_t)n < len ? n : -1;
}

int sd_hold_init(struct sd_hold *h, const char *group, rd_time_t now)
{
	memset(h, 0, sizeof(*h));
	if (group == NULL)
		group = SD_HOLD_GROUP;
	if (!group_ok(group))
		return -1;
	strcpy(h->group, group);
	h->stated = -1;
	h->applied = -1;
	h->masters = -1;
	h->due = now;
	return 0;
}

void sd_hold_want(struct sd_hold *h, int value, rd_time_t now)
{
	if (value == h->wanted)
		return;
	h->wanted = value;
	h->confirmed = false;
	h->due = now;
}

rd_time_t sd_hold_next(const struct sd_hold *h)
{
	if (h->inflight)
		return h->deadline < h->due ? h->deadline : h->due;
	return h->due;
}

int sd_hold_start(struct sd_hold *h, rd_time_t now, char *buf, size_t len)
{
	int n;

	if (h->inflight || h->due > now)
		return 0;
	n = sd_hold_format(h->group, h->wanted, buf, len);
	if (n < 0)
		return 0; /* not reached: group checked by init, value by the caller */
	h->stated = h->wanted;
	h->inflight = true;
	h->deadline = now + SD_HOLD_TIMEOUT;
	h->due = now + SD_HOLD_PERIOD;
	if (h->stated > 0)
		h->owed = true;
	h->stats[SD_HOLD_SENT]++;
	return n;
}

int sd_hold_failed(struct sd_hold *h, int reason, const char *why, rd_time_t now)
{
	(void)now;
	if (reason < SD_HOLD_FAIL_CONNECT || reason > SD_HOLD_FAIL_BADANSWER)
		reason = SD_HOLD_FAIL_BADANSWER;
	h->inflight = false;
	h->confirmed = false;
	h->stats[SD_HOLD_FAILED]++;
	h->stats[reason]++;
	snprintf(h->last_error, sizeof(h->last_error), "%s", why != NULL ? why : "failed");
	return h->streak++ == 0 ? SD_HOLD_EV_FIRST_FAIL : 0;
}

int sd_hold_answered(struct sd_hold *h, const char *text, size_t len, rd_time_t now)
{
	struct sd_hold_answer a;
	char why[SD_HOLD_ERR];
	int rc = sd_hold_parse(text, len, h->group, &a, why, sizeof(why)), ev = 0;

	if (rc != 0)
		return sd_hold_failed(h, rc, why, now);
	h->inflight = false;
	h->stats[SD_HOLD_CONFIRMED]++;
	if (h->instance[0] != '\0' && strcmp(h->instance, a.instance) != 0) {
		h->stats[SD_HOLD_RESTARTS]++;
		ev |= SD_HOLD_EV_RESTART;
	}
	if (h->streak > 0 || h->applied < 0)
		ev |= SD_HOLD_EV_CONFIRMED_AGAIN;
	else if ((int)a.applied != h->applied)
		ev |= SD_HOLD_EV_APPLIED;
	memcpy(h->instance, a.instance, sizeof(h->instance));
	h->applied = (int)a.applied;
	h->masters = (int)a.masters;
	h->owed = a.applied > 0;
	h->streak = 0;
	h->confirmed = h->stated == h->wanted;
	return ev;
}

int sd_hold_expire(struct sd_hold *h, rd_time_t now)
{
	if (!h->inflight || h->deadline > now)
		return 0;
	return sd_hold_failed(h, SD_HOLD_FAIL_TIMEOUT, "no answer within 1 s", now);
}

void sd_hold_stop(struct sd_hold *h, rd_time_t now)
{
	h->inflight = false;
	h->wanted = 0;
	h->confirmed = false;
	h->due = now;
}

bool sd_hold_release_owed(const struct sd_hold *h)
{
	return h->owed;
}
