/*
 * The CARP state machine: states, timers, sending advertisements and the
 * election of OpenBSD current's ip_carp.c. Demotion lives in node.c.
 */
#include <stdio.h>
#include <string.h>

#include "carp_internal.h"

/* ------------------------------------------------------------------ */
/* States and timers                                                   */

void carpi_set_state(struct rd_carp_vhost *vh, enum rd_carp_state st, rd_time_t now,
                     const char *why)
{
	struct rd_carp_if *ifp = vh->ifp;
	enum rd_carp_state old = vh->state;

	if (old == st)
		return;
	vh->state = st;
	vh->state_since = now;
	rd_logf(&ifp->log, RD_LOG_NOTICE, "carp %s vhid %u: %s -> %s (%s)", ifp->name, vh->vhid,
	        rd_carp_state_name(old), rd_carp_state_name(st), why);
	if (ifp->cb.state_change != NULL)
		ifp->cb.state_change(ifp->user, vh, old, st, why);
}

void carpi_cancel_timers(struct rd_carp_vhost *vh)
{
	vh->ad_tmo = RD_TIME_NEVER;
	vh->md_tmo[F4] = RD_TIME_NEVER;
	vh->md_tmo[F6] = RD_TIME_NEVER;
}

/* Arm the master-down timer of one family (or of every family in use). */
void carpi_arm_master_down(struct rd_carp_vhost *vh, int fam, rd_time_t now)
{
	rd_time_t t = time_after(now, rd_carp_master_down(vh->advbase, vh->advskew, vh->deadratio));

	/* The tie-break's delay (carpi_elect): a node that lost a tie lets a
	 * peer that steps down on every tie (OpenBSD) take over first. */
	if (vh->tie_lost)
		t = time_after(t, RD_CARP_TIE_DELAY);

	for (int f = 0; f < NFAM; f++)
		if (vh->fam[f] && (fam < 0 || fam == f))
			vh->md_tmo[f] = t;
}

bool carpi_running(const struct rd_carp_vhost *vh)
{
	return vh->admin_up && vh->ifp->link_up;
}

/* OpenBSD carp_setrun for INIT: every node starts as BACKUP. */
void carpi_start_backup(struct rd_carp_vhost *vh, rd_time_t now, const char *why)
{
	carpi_cancel_timers(vh);
	carpi_set_state(vh, RD_CARP_BACKUP, now, why);
	carpi_arm_master_down(vh, -1, now);
}

void carpi_go_init(struct rd_carp_vhost *vh, rd_time_t now, const char *why)
{
	carpi_cancel_timers(vh);
	vh->delayed_arp = -1;
	vh->tie_lost = false;
	vh->tie_at = RD_TIME_NEVER;
	carpi_set_state(vh, RD_CARP_INIT, now, why);
}

/*
 * The lladdr OpenBSD's carp_hmac_prepare_ctx hashes: only a carp
 * interface's leader (with ip balancing the lowest vhid of the if; without,
 * every vhost is its own interface) and only a custom one. carp_set_enaddr
 * replaces an all-zero lladdr, or one whose static part is 00:5e:00:01, by
 * the leader's virtual MAC, which is then equal and left out.
 */
const uint8_t *carpi_hmac_lladdr(const struct rd_carp_vhost *vh)
{
	static const uint8_t zero[6], vstatic[4] = {0x00, 0x5e, 0x00, 0x01};

	if (!vh->has_lladdr)
		return NULL;
	if (vh->ifp->balancing == RD_CARP_BAL_IP && vh->ifp->nvh > 0 && vh->ifp->vh[0] != vh)
		return NULL;
	if (memcmp(vh->lladdr, zero, 6) == 0 || memcmp(vh->lladdr + 1, vstatic, 4) == 0)
		return NULL;
	return vh->lladdr;
}

/* ------------------------------------------------------------------ */
/* Sending                                                             */

/*
 * Strict mode: the counter of our next advertisement (both families carry
 * it): above every counter this vhost sent or believed (next_counter), plus
 * a random step of 0 to 65535. Nodes that take over together from the same
 * last advertisement would otherwise send equal counters in step, and each
 * would take the others' for its own. Kept, so a copy is never believed.
 */
static uint64_t take_counter(struct rd_carp_vhost *vh)
{
	uint16_t step = 0;
	uint64_t c = vh->next_counter;

	rd_random_buf(&vh->ifp->random, &step, sizeof(step));
	c = c <= UINT64_MAX - step ? c + step : UINT64_MAX;
	vh->next_counter = c < UINT64_MAX ? c + 1 : c;
	carpi_counter_keep(vh, c, 1u << F4 | 1u << F6);
	vh->sent[vh->sent_pos] = c;
	vh->sent_pos = (vh->sent_pos + 1) % SENT_RING;
	if (vh->nsent < SENT_RING)
		vh->nsent++;
	return c;
}

/* OpenBSD's sc_sendad_errors / sc_sendad_success, per carp interface. */
static void note_send_result(struct rd_carp_vhost *vh, int rc)
{
	struct rd_carp_if *ifp = vh->ifp;
	bool per_vhost = ifp->balancing == RD_CARP_BAL_NONE;
	struct snd_track *t = per_vhost ? &vh->snd : &ifp->snd;
	unsigned int thr = 3 * (per_vhost ? 1u : (unsigned int)(ifp->nvh > 0 ? ifp->nvh : 1));

	if (rc < 0) {
		t->ok = 0;
		if (t->err < UINT32_MAX)
			t->err++;
		if (t->err >= thr && !t->demoted) {
			t->demoted = true;
			ifp->node->snd_dirty = true; /* raised by carpi_settle */
		}
	} else {
		t->err = 0;
		if (t->demoted && ++t->ok >= thr) {
			t->demoted = false;
			t->ok = 0;
			ifp->node->snd_dirty = true;
		}
	}
}

/* One packet of an advertisement to one destination. */
static void send_one(struct rd_carp_vhost *vh, const uint8_t carp[RD_CARP_HDR_LEN],
                     const struct rd_addr *dst, bool bow_out)
{
	struct rd_carp_if *ifp = vh->ifp;
	uint8_t pkt[RD_CARP_PKT_MAX];
	struct rd_carp_out out;
	uint16_t id = 0;
	int n, rc;

	rd_random_buf(&ifp->random, &id, sizeof(id));
	n = rd_carp_ip_build(&vh->src[fam_of(dst->af)], dst, id, carp, pkt, sizeof(pkt));
	if (n < 0) /* cannot happen: the config was validated */
		return;
	memset(&out, 0, sizeof(out));
	out.af = dst->af;
	out.multicast = addr_multicast(dst);
	out.src = vh->src[fam_of(dst->af)];
	out.dst = *dst;
	out.pkt = pkt;
	out.pkt_len = (size_t)n;
	out.carp = pkt + (size_t)n - RD_CARP_HDR_LEN;
	out.bow_out = bow_out;
	rc = ifp->cb.send(ifp->user, vh, &out);
	if (rc < 0) {
		count(ifp, vh, RD_CARP_STAT_OERRORS);
		rd_logf(&ifp->log, RD_LOG_INFO, "carp %s vhid %u: send failed (%d)", ifp->name,
		        vh->vhid, rc);
	} else {
		count(ifp, vh,
		      dst->af == RD_AF_INET ? RD_CARP_STAT_OPACKETS : RD_CARP_STAT_OPACKETS6);
	}
	note_send_result(vh, rc);
}

/* OpenBSD carp_send_ad: one advertisement per family, to group or peers (in
 * strict mode one counter for all of them). */
void carpi_send_ad(struct rd_carp_vhost *vh, rd_time_t now, bool bow_out)
{
	struct rd_carp_if *ifp = vh->ifp;
	struct rd_carp_hdr h;
	uint8_t wire[RD_CARP_HDR_LEN], counter[RD_CARP_COUNTER_LEN];

	if (vh->replay_strict)
		rd_put64(counter, take_counter(vh));
	else
		memcpy(counter, vh->cookie, RD_CARP_COUNTER_LEN);
	for (int f = 0; f < NFAM; f++) {
		if (!vh->fam[f])
			continue;
		memset(&h, 0, sizeof(h));
		h.version = RD_CARP_VERSION;
		h.type = RD_CARP_TYPE_ADVERTISEMENT;
		h.vhid = vh->vhid;
		h.advskew = bow_out ? RD_CARP_BOW_OUT_ADVSKEW : vh->advskew;
		h.advbase = bow_out ? RD_CARP_BOW_OUT_ADVBASE : vh->advbase;
		h.authlen = RD_CARP_AUTHLEN;
		h.demote = (uint8_t)vh->demote;
		memcpy(h.counter, counter, RD_CARP_COUNTER_LEN);
		rd_carp_hmac(vh->key, carpi_hmac_lladdr(vh), vh->vhid, vh->addrs, vh->naddrs,
		             h.counter, RD_CARP_HMAC_NOV6LL, h.hmac);
		rd_carp_hdr_encode(&h, wire);
		if (vh->mcast[f]) {
			struct rd_addr g = f == F4 ? rd_carp_group4() : rd_carp_group6();

			send_one(vh, wire, &g, bow_out);
		} else {
			for (size_t i = 0; i < vh->npeers; i++)
				if (fam_of(vh->peers[i].af) == f)
					send_one(vh, wire, &vh->peers[i], bow_out);
		}
	}
	if (bow_out)
		return;
	vh->ad_tmo = time_after(now, rd_carp_interval(vh->advbase, vh->advskew));
	/* OpenBSD's delayed ARP: announce again two advertisements later. */
	if (vh->delayed_arp > 0 && --vh->delayed_arp == 0) {
		vh->delayed_arp = -1;
		if (ifp->cb.announce != NULL)
			ifp->cb.announce(ifp->user, vh, 1);
	}
}

/* Ask for the addresses to be announced now and two advertisements later. */
static void announce(struct rd_carp_vhost *vh)
{
	struct rd_carp_if *ifp = vh->ifp;

	if (ifp->balancing != RD_CARP_BAL_NONE)
		return;
	if (ifp->cb.announce != NULL)
		ifp->cb.announce(ifp->user, vh, 0);
	vh->delayed_arp = 2;
}

/* OpenBSD carp_master_down: become MASTER now. */
void carpi_master_down(struct rd_carp_vhost *vh, rd_time_t now, const char *why)
{
	if (vh->state != RD_CARP_BACKUP)
		return;
	carpi_cancel_timers(vh);
	vh->tie_lost = false;
	vh->tie_at = RD_TIME_NEVER;
	carpi_set_state(vh, RD_CARP_MASTER, now, why);
	carpi_send_ad(vh, now, false);
	announce(vh);
	count(vh->ifp, vh, RD_CARP_STAT_PREEMPT);
}

/*
 * Beyond OpenBSD: a MASTER heard another MASTER and won. The other steps
 * down on our advertisement, but the neighbours whose caches followed it
 * must be told too. Once per our interval: the losing advertisement may be
 * repeated or replayed.
 */
static void reannounce(struct rd_carp_vhost *vh, rd_time_t now)
{
	struct rd_carp_if *ifp = vh->ifp;
	rd_time_t iv = rd_carp_interval(vh->advbase, vh->advskew);

	if (vh->reannounce_at != RD_TIME_NEVER && now < time_after(vh->reannounce_at, iv))
		return;
	vh->reannounce_at = now;
	count(ifp, vh, RD_CARP_STAT_REANNOUNCE);
	rd_logf(&ifp->log, RD_LOG_NOTICE,
	        "carp %s vhid %u: another MASTER advertises and loses to us: advertising "
	        "and announcing our addresses again",
	        ifp->name, vh->vhid);
	carpi_send_ad(vh, now, false);
	announce(vh);
}

void carpi_step_down(struct rd_carp_vhost *vh, rd_time_t now, const char *why)
{
	vh->ad_tmo = RD_TIME_NEVER;
	vh->delayed_arp = -1;
	carpi_set_state(vh, RD_CARP_BACKUP, now, why);
	carpi_arm_master_down(vh, -1, now);
}

/* ------------------------------------------------------------------ */
/* Leaving                                                             */

/* OpenBSD's bow-out: a MASTER tells the backups it leaves. */
void carpi_stop_vhost(struct rd_carp_vhost *vh, rd_time_t now)
{
	if (vh->state == RD_CARP_MASTER)
		carpi_send_ad(vh, now, true);
	vh->admin_up = false;
	carpi_go_init(vh, now, "stopped");
}

/* ------------------------------------------------------------------ */
/* The election                                                        */

/* A timeval as OpenBSD compares them: (seconds, advskew * 1e6 / 256 us). */
struct tv {
	uint32_t sec, usec;
};

static int tv_cmp(struct tv a, struct tv b)
{
	if (a.sec != b.sec)
		return a.sec < b.sec ? -1 : 1;
	if (a.usec != b.usec)
		return a.usec < b.usec ? -1 : 1;
	return 0;
}

/*
 * The tie-break (beyond OpenBSD). An advertisement exactly equal to ours
 * (same advbase, advskew and demotion) from another MASTER: OpenBSD and
 * FreeBSD step down on it, so a set of equal backups that take over
 * together (their master-down timers run out together when the MASTER
 * dies) all step down again, every master-down interval, for as long as
 * timing noise does not separate them. The lower source address wins, as
 * in ucarp (the one CARP implementation with a tie-break; VRRP prefers the
 * higher, but does not talk to us). Returns true if we win: `src` is
 * above our own source of that family.
 */
static bool tie_won(const struct rd_carp_vhost *vh, const struct rd_addr *src, int fam)
{
	return src->af == vh->src[fam].af && rd_addr_cmp(src, &vh->src[fam]) > 0;
}

/*
 * We won a tie against `src`. The loser steps down on our advertisement
 * within a network delay, and we never hear it again. A peer with another
 * rule (ucarp compares the raw 32-bit word, byte-swapped on little-endian
 * hosts: it can disagree with us about which is lower) stays MASTER and
 * advertises again one interval later: then we step down, so that two
 * MASTERs last one interval at most. Returns true if we must step down.
 */
static bool tie_not_yielded(struct rd_carp_vhost *vh, const struct rd_addr *src, rd_time_t now)
{
	rd_time_t iv = rd_carp_interval(vh->advbase, vh->advskew);

	if (vh->tie_at != RD_TIME_NEVER && addr_eq(&vh->tie_src, src) && now >= vh->tie_at &&
	    now - vh->tie_at >= iv / 2 && now - vh->tie_at <= (rd_time_t)vh->deadratio * iv)
		return true;
	vh->tie_src = *src;
	vh->tie_at = now;
	return false;
}

/*
 * The election (OpenBSD carp_proto_input_c, research §2.3), and our
 * tie-break. `me` and `ad` are the intervals as OpenBSD compares them;
 * d_me and d_ad the demotions; "equal" means me == ad and d_me == d_ad.
 *
 * MASTER:
 *  1. ad more frequent and not more demoted, or less demoted: step down
 *     (OpenBSD). A MASTER of at least one interval sends a parting
 *     advertisement first (beyond OpenBSD, below).
 *  2. equal, from a lower source address: step down, and wait
 *     RD_CARP_TIE_DELAY longer in BACKUP (tie_lost) until MASTER again.
 *     The winner stays MASTER; a peer that steps down on every tie
 *     (OpenBSD, FreeBSD) steps down too, and its master-down timer then
 *     runs out first: it is MASTER alone at the next master-down.
 *  3. equal, from a higher source address: we win and stay, advertising
 *     and announcing again (split-brain healing, below), unless the same
 *     peer still advertises one interval later (it has another rule): then
 *     we step down as in 2.
 *  4. otherwise we win: stay, re-announce (split-brain healing).
 * BACKUP (OpenBSD, unchanged; an equal MASTER only re-arms the timer):
 *  5. with preempt, a slower master not less demoted: take over;
 *  6. a master more demoted than us: take over;
 *  7. a master whose interval exceeds deadratio x our advbase will time
 *     out (the bow-out): take over;
 *  8. otherwise re-arm that family's master-down timer.
 */
void carpi_elect(struct rd_carp_vhost *vh, const struct rd_carp_hdr *h, const struct rd_addr *src,
                 int fam, rd_time_t now)
{
	struct tv me = {vh->advbase, (uint32_t)vh->advskew * 1000000u / 256};
	struct tv ad = {h->advbase, (uint32_t)h->advskew * 1000000u / 256};
	/* Our demotion: the sum of our groups' counters (node.c). */
	unsigned int d_me = vh->demote, d_ad = h->demote;
	bool equal = tv_cmp(me, ad) == 0 && d_ad == d_me;
	const char *why = NULL;

	switch (vh->state) {
	case RD_CARP_INIT:
		break;
	case RD_CARP_MASTER:
		if (equal && tie_won(vh, src, fam)) {
			if (!tie_not_yielded(vh, src, now)) {
				reannounce(vh, now); /* 3 */
				break;
			}
			why = "equal master with a higher address does not step down";
		} else if (equal) {
			why = "equal advertisement from a lower address"; /* 2 */
		} else if ((tv_cmp(me, ad) >= 0 && d_ad <= d_me) || d_ad < d_me) {
			why = d_ad < d_me ? "less demoted master advertising"
			                  : "more frequent advertisement received"; /* 1 */
		}
		if (why == NULL) {
			/* 4: only a MASTER advertises: two of them (a healed
			 * partition), and we win. Beyond OpenBSD: split-brain
			 * healing. */
			reannounce(vh, now);
			break;
		}
		/*
		 * Beyond OpenBSD: a MASTER of at least one interval that loses
		 * on timing or on the tie-break (a healed partition) sends one
		 * parting advertisement, so that the winner re-announces
		 * (above) even when its advertisement reached us first. The
		 * backups heard the same from us all along. Not after a moment
		 * as MASTER (several backups took over at once: their parting
		 * ads would make the others preempt again), nor when demotion
		 * decides (a more demoted ad makes backups take over).
		 */
		if (d_ad == d_me &&
		    now - vh->state_since >= rd_carp_interval(vh->advbase, vh->advskew)) {
			/* Not with our delayed announcement: it would point the
			 * caches back at the loser. */
			vh->delayed_arp = -1;
			carpi_send_ad(vh, now, false);
		}
		vh->tie_lost = equal;
		carpi_step_down(vh, now, why);
		break;
	case RD_CARP_BACKUP:
		if (vh->preempt && tv_cmp(me, ad) < 0 && d_ad >= d_me) {
			carpi_master_down(vh, now, "preempting a slower master"); /* 5 */
			break;
		}
		if (d_ad > d_me) {
			carpi_master_down(vh, now, "master more demoted"); /* 6 */
			break;
		}
		/* 7: a master advertising this rarely will time out anyway; the
		 * bow-out relies on this rule and only gets its own name. */
		me.sec = (uint32_t)vh->advbase * vh->deadratio;
		if (vh->advbase != 0 && tv_cmp(me, ad) < 0) {
			carpi_master_down(vh, now,
			                  rd_carp_hdr_is_bow_out(h) ? "master left (bow-out)"
			                                            : "master will time out");
			break;
		}
		carpi_arm_master_down(vh, fam, now); /* 8 */
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Timers due                                                          */

rd_time_t rd_carp_expiry(const struct rd_carp_if *ifp)
{
	rd_time_t t = RD_TIME_NEVER;

	if (ifp == NULL)
		return t;
	for (size_t i = 0; i < ifp->nvh; i++) {
		const struct rd_carp_vhost *vh = ifp->vh[i];

		t = RD_MIN(t, vh->ad_tmo);
		t = RD_MIN(t, vh->md_tmo[F4]);
		t = RD_MIN(t, vh->md_tmo[F6]);
	}
	return t;
}

int rd_carp_handle_expiry(struct rd_carp_if *ifp, rd_time_t now)
{
	if (ifp == NULL)
		return RD_ERR_INVAL;
	for (size_t i = 0; i < ifp->nvh; i++) {
		struct rd_carp_vhost *vh = ifp->vh[i];

		if (vh->state == RD_CARP_MASTER && vh->ad_tmo <= now)
			carpi_send_ad(vh, now, false);
		else if (vh->state == RD_CARP_BACKUP &&
		         (vh->md_tmo[F4] <= now || vh->md_tmo[F6] <= now))
			carpi_master_down(vh, now, "master down timer expired");
	}
	carpi_settle(ifp->node, now);
	return 0;
}
