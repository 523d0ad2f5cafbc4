/*
 * CARP input: the checks of OpenBSD's carp_proto_input in its order, each
 * refusal counted under its own name, then the election. A refused packet
 * changes nothing but its counter (and the memory of the rate-limited log
 * of refusals for one of our vhids).
 */
#include <stdio.h>

#include <sodium.h>

#include "carp_internal.h"

static bool is_own_src(const struct rd_carp_if *ifp, const struct rd_addr *a)
{
	for (size_t i = 0; i < ifp->nvh; i++)
		if (addr_eq(&ifp->vh[i]->src[fam_of(a->af)], a))
			return true;
	return false;
}

/*
 * Refusals of an advertisement for one of our vhids that point at a
 * misconfiguration or an attack; the usual cause of two MASTERs is the
 * first (the peers disagree on the password or the addresses).
 */
static const struct {
	int stat;
	const char *why;
} vhost_refusals[NRLOG] = {
    [RLOG_BADAUTH] = {RD_CARP_STAT_BADAUTH,
                      "bad authentication: a different password or a different set of "
                      "virtual addresses (the HMAC covers both)"},
    [RLOG_LOOP] = {RD_CARP_STAT_LOOP, "our own advertisement came back (looped back)"},
    [RLOG_REPLAY] = {RD_CARP_STAT_REPLAY,
                     "replayed: its counter was sent or believed before, or is not above "
                     "the floor, or the sender is not one of the unicast peers"},
};

static const char *src_str(const struct rd_addr *src, char *buf, size_t size)
{
	return src->af != RD_AF_UNSPEC ? rd_addr_format(src, buf, size) : "?";
}

/* At WARNING, the first at once, then at most one per interval per vhost
 * and reason, saying how many it kept quiet about. */
static void log_vhost_refusal(struct rd_carp_if *ifp, struct rd_carp_vhost *vh, int r,
                              const struct rd_addr *src, rd_time_t now)
{
	struct refusal_log *l = &vh->rlog[r];
	char buf[RD_ADDR_STRLEN], more[64] = "";

	if (l->logged && now < time_after(l->last, RD_CARP_REFUSAL_LOG_INTERVAL)) {
		l->suppressed++;
		return;
	}
	if (l->suppressed > 0)
		snprintf(more, sizeof(more), " (%llu more since the last message)",
		         (unsigned long long)l->suppressed);
	rd_logf(&ifp->log, RD_LOG_WARNING, "carp %s vhid %u: advertisement from %s refused: %s%s",
	        ifp->name, vh->vhid, src_str(src, buf, sizeof(buf)), vhost_refusals[r].why, more);
	l->logged = true;
	l->last = now;
	l->suppressed = 0;
}

static int refuse(struct rd_carp_if *ifp, struct rd_carp_vhost *vh, int stat,
                  const struct rd_addr *src, rd_time_t now)
{
	char buf[RD_ADDR_STRLEN];
	int level = RD_LOG_INFO;

	count(ifp, vh, stat);
	for (int r = 0; vh != NULL && r < NRLOG; r++) {
		if (vhost_refusals[r].stat == stat) {
			log_vhost_refusal(ifp, vh, r, src, now);
			return RD_CARP_REFUSED(stat);
		}
	}
	if (stat == RD_CARP_STAT_BADTTL || stat == RD_CARP_STAT_BADVER)
		level = RD_LOG_NOTICE;
	if (ifp->log.fn != NULL && level <= ifp->log.level)
		rd_logf(&ifp->log, level, "carp %s: packet from %s refused: %s", ifp->name,
		        src_str(src, buf, sizeof(buf)), rd_carp_strerror(RD_CARP_REFUSED(stat)));
	return RD_CARP_REFUSED(stat);
}

static bool in_sent_ring(const struct rd_carp_vhost *vh, uint64_t c)
{
	for (size_t i = 0; i < vh->nsent; i++)
		if (vh->sent[i] == c)
			return true;
	return false;
}

static bool is_peer(const struct rd_carp_vhost *vh, const struct rd_addr *src)
{
	for (size_t i = 0; i < vh->npeers; i++)
		if (addr_eq(&vh->peers[i], src))
			return true;
	return false;
}

/*
 * Strict replay. A vhost keeps the REPLAY_KEEP highest counters it sent or
 * believed, and the floor: the highest counter it ever dropped from them.
 * An advertisement is believed only if its counter is above the floor and
 * not kept for its family (a sender puts one counter on both families, and
 * their sockets are read in no particular order). A counter leaves the kept
 * ones only by raising the floor to it, and no source address enters the
 * rule: whatever the number of senders, no counter is believed twice.
 */
static int kept_index(const struct rd_carp_vhost *vh, uint64_t c)
{
	for (size_t i = 0; i < vh->nkept; i++)
		if (vh->kept[i] == c)
			return (int)i;
	return -1;
}

static bool counter_fresh(const struct rd_carp_vhost *vh, uint64_t c, int fam)
{
	int i = kept_index(vh, c);

	return c > vh->replay_floor && (i < 0 || !(vh->kept_fams[i] & 1u << fam));
}

void carpi_counter_keep(struct rd_carp_vhost *vh, uint64_t c, unsigned int fams)
{
	int i = kept_index(vh, c);
	size_t low = 0;

	if (i >= 0) {
		vh->kept_fams[i] |= (uint8_t)fams;
		return;
	}
	if (vh->nkept < REPLAY_KEEP) {
		vh->kept[vh->nkept] = c;
		vh->kept_fams[vh->nkept++] = (uint8_t)fams;
		return;
	}
	for (size_t k = 1; k < REPLAY_KEEP; k++)
		if (vh->kept[k] < vh->kept[low])
			low = k;
	if (c < vh->kept[low]) {
		vh->replay_floor = c > vh->replay_floor ? c : vh->replay_floor;
		return;
	}
	vh->replay_floor = vh->kept[low];
	vh->kept[low] = c;
	vh->kept_fams[low] = (uint8_t)fams;
}

/* Believed: kept, and our next counter goes above it. */
static void counter_believe(struct rd_carp_vhost *vh, uint64_t c, int fam)
{
	carpi_counter_keep(vh, c, 1u << fam);
	if (vh->next_counter <= c)
		vh->next_counter = c < UINT64_MAX ? c + 1 : c;
}

static int input_common(struct rd_carp_if *ifp, const struct rd_addr *src,
                        const struct rd_addr *dst, uint8_t ttl, const uint8_t *carp, size_t len,
                        rd_time_t now)
{
	struct rd_carp_vhost *vh;
	struct rd_carp_hdr h;
	struct rd_addr group = src->af == RD_AF_INET ? rd_carp_group4() : rd_carp_group6();
	int fam = fam_of(src->af);
	bool dst_mcast = addr_multicast(dst);

	if (dst_mcast ? !addr_eq(dst, &group) : !is_own_src(ifp, dst))
		return refuse(ifp, NULL, RD_CARP_STAT_BADIF, src, now);
	if (ttl != RD_CARP_TTL)
		return refuse(ifp, NULL, RD_CARP_STAT_BADTTL, src, now);
	if (len < RD_CARP_HDR_LEN)
		return refuse(ifp, NULL, RD_CARP_STAT_BADLEN, src, now);
	if (!rd_carp_hdr_cksum_ok(carp))
		return refuse(ifp, NULL, RD_CARP_STAT_BADSUM, src, now);
	rd_carp_hdr_decode(carp, len, &h);

	/* OpenBSD's carp interface hears a family only if it has addresses of
	 * it (it joins that family's group with the first one). A vhost in
	 * INIT (stopped, link down) is not running: badvhid, as OpenBSD counts
	 * for a carp interface that is not UP and RUNNING. */
	vh = rd_carp_vhost_find(ifp, h.vhid);
	if (vh == NULL || !carpi_running(vh) || vh->state == RD_CARP_INIT || !vh->fam[fam] ||
	    vh->mcast[fam] != dst_mcast)
		return refuse(ifp, NULL, RD_CARP_STAT_BADVHID, src, now);
	vh->stats[fam == F4 ? RD_CARP_STAT_IPACKETS : RD_CARP_STAT_IPACKETS6]++;
	/* OpenBSD checks the version only; a type other than ADVERTISEMENT is
	 * not one we can act on (the HMAC does not cover it), so it is refused
	 * here under the same counter. */
	if (h.version != RD_CARP_VERSION || h.type != RD_CARP_TYPE_ADVERTISEMENT)
		return refuse(ifp, vh, RD_CARP_STAT_BADVER, src, now);
	if (!rd_carp_hmac_verify(vh->key, carpi_hmac_lladdr(vh), vh->vhid, vh->addrs, vh->naddrs,
	                         h.counter, h.hmac))
		return refuse(ifp, vh, RD_CARP_STAT_BADAUTH, src, now);
	if (vh->replay_strict) {
		uint64_t c = rd_get64(h.counter);

		if (is_own_src(ifp, src) || in_sent_ring(vh, c))
			return refuse(ifp, vh, RD_CARP_STAT_LOOP, src, now);
		if ((!vh->mcast[fam] && !is_peer(vh, src)) || !counter_fresh(vh, c, fam))
			return refuse(ifp, vh, RD_CARP_STAT_REPLAY, src, now);
		counter_believe(vh, c, fam);
	} else if (sodium_memcmp(h.counter, vh->cookie, RD_CARP_COUNTER_LEN) == 0) {
		return refuse(ifp, vh, RD_CARP_STAT_LOOP, src, now);
	}
	carpi_elect(vh, &h, src, fam, now);
	carpi_settle(ifp->node, now);
	return 0;
}

int rd_carp_input(struct rd_carp_if *ifp, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct rd_carp_ip_info info;
	static const struct rd_addr none;

	if (ifp == NULL || pkt == NULL)
		return RD_ERR_INVAL;
	count(ifp, NULL,
	      len > 0 && pkt[0] >> 4 == 6 ? RD_CARP_STAT_IPACKETS6 : RD_CARP_STAT_IPACKETS);
	/* Malformed or of another protocol (RD_CARP_IP_NOT_CARP): both hdrops. */
	if (rd_carp_ip_parse(pkt, len, &info) != 0)
		return refuse(ifp, NULL, RD_CARP_STAT_HDROPS, &none, now);
	return input_common(ifp, &info.src, &info.dst, info.ttl, info.carp, info.carp_len, now);
}

int rd_carp_input_payload(struct rd_carp_if *ifp, const struct rd_addr *src,
                          const struct rd_addr *dst, uint8_t ttl, const uint8_t *carp, size_t len,
                          rd_time_t now)
{
	static const struct rd_addr none;

	if (ifp == NULL || src == NULL || dst == NULL || (carp == NULL && len > 0))
		return RD_ERR_INVAL;
	count(ifp, NULL, src->af == RD_AF_INET6 ? RD_CARP_STAT_IPACKETS6 : RD_CARP_STAT_IPACKETS);
	if (!af_ok(src->af) || src->af != dst->af)
		return refuse(ifp, NULL, RD_CARP_STAT_HDROPS, &none, now);
	return input_common(ifp, src, dst, ttl, carp, len, now);
}
