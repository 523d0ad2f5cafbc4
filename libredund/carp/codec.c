/*
 * CARP wire codec: the 36-byte header, the IP header around it, the key and
 * the HMAC-SHA1 as OpenBSD's ip_carp.c computes them.
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/hmac.h>
#include <sodium.h>

#include "core/internal.h"
#include "redund/carp.h"

/* Byte offsets in the CARP header (research §1.2). */
enum {
	OFF_VT = 0,
	OFF_VHID = 1,
	OFF_ADVSKEW = 2,
	OFF_AUTHLEN = 3,
	OFF_DEMOTE = 4,
	OFF_ADVBASE = 5,
	OFF_CKSUM = 6,
	OFF_COUNTER = 8,
	OFF_HMAC = 16,
};
_Static_assert(OFF_HMAC + RD_CARP_HMAC_LEN == RD_CARP_HDR_LEN, "CARP header is 36 bytes");
_Static_assert(RD_CARP_AUTHLEN * 4 == RD_CARP_COUNTER_LEN + RD_CARP_HMAC_LEN, "authlen");

struct rd_addr rd_carp_group4(void)
{
	return rd_addr_v4(0xe0000012u);
}

struct rd_addr rd_carp_group6(void)
{
	struct rd_addr a;

	memset(&a, 0, sizeof(a));
	a.af = RD_AF_INET6;
	a.u.v6[0] = 0xff;
	a.u.v6[1] = 0x02;
	a.u.v6[15] = 0x12;
	return a;
}

void rd_carp_hdr_encode(const struct rd_carp_hdr *h, uint8_t out[RD_CARP_HDR_LEN])
{
	uint16_t c;

	out[OFF_VT] = (uint8_t)((h->version & 0x0f) << 4 | (h->type & 0x0f));
	out[OFF_VHID] = h->vhid;
	out[OFF_ADVSKEW] = h->advskew;
	out[OFF_AUTHLEN] = h->authlen;
	out[OFF_DEMOTE] = h->demote;
	out[OFF_ADVBASE] = h->advbase;
	out[OFF_CKSUM] = 0;
	out[OFF_CKSUM + 1] = 0;
	memcpy(out + OFF_COUNTER, h->counter, RD_CARP_COUNTER_LEN);
	memcpy(out + OFF_HMAC, h->hmac, RD_CARP_HMAC_LEN);
	c = rd_cksum(out, RD_CARP_HDR_LEN);
	rd_put16(out + OFF_CKSUM, c);
}

int rd_carp_hdr_decode(const uint8_t *buf, size_t len, struct rd_carp_hdr *out)
{
	if (buf == NULL || out == NULL)
		return RD_ERR_INVAL;
	if (len < RD_CARP_HDR_LEN)
		return RD_ERR_PROTO;
	out->version = buf[OFF_VT] >> 4;
	out->type = buf[OFF_VT] & 0x0f;
	out->vhid = buf[OFF_VHID];
	out->advskew = buf[OFF_ADVSKEW];
	out->authlen = buf[OFF_AUTHLEN];
	out->demote = buf[OFF_DEMOTE];
	out->advbase = buf[OFF_ADVBASE];
	out->cksum = rd_get16(buf + OFF_CKSUM);
	memcpy(out->counter, buf + OFF_COUNTER, RD_CARP_COUNTER_LEN);
	memcpy(out->hmac, buf + OFF_HMAC, RD_CARP_HMAC_LEN);
	return 0;
}

bool rd_carp_hdr_cksum_ok(const uint8_t buf[RD_CARP_HDR_LEN])
{
	return rd_cksum(buf, RD_CARP_HDR_LEN) == 0;
}

bool rd_carp_hdr_is_bow_out(const struct rd_carp_hdr *h)
{
	return h != NULL && h->advbase == RD_CARP_BOW_OUT_ADVBASE &&
	       h->advskew == RD_CARP_BOW_OUT_ADVSKEW;
}

int rd_carp_ip_build(const struct rd_addr *src, const struct rd_addr *dst, uint16_t ip_id,
                     const uint8_t carp[RD_CARP_HDR_LEN], uint8_t *out, size_t outlen)
{
	if (src == NULL || dst == NULL || carp == NULL || out == NULL || src->af != dst->af)
		return RD_ERR_INVAL;
	if (src->af == RD_AF_INET) {
		const size_t total = RD_CARP_IP4_HDR_LEN + RD_CARP_HDR_LEN;

		if (outlen < total)
			return RD_ERR_NOSPC;
		out[0] = 0x45;
		out[1] = RD_CARP_IP4_TOS;
		rd_put16(out + 2, (uint16_t)total);
		rd_put16(out + 4, ip_id);
		rd_put16(out + 6, 0x4000); /* DF, offset 0 */
		out[8] = RD_CARP_TTL;
		out[9] = RD_CARP_PROTO;
		out[10] = 0;
		out[11] = 0;
		memcpy(out + 12, src->u.v4, 4);
		memcpy(out + 16, dst->u.v4, 4);
		rd_put16(out + 10, rd_cksum(out, RD_CARP_IP4_HDR_LEN));
		memcpy(out + RD_CARP_IP4_HDR_LEN, carp, RD_CARP_HDR_LEN);
		return (int)total;
	}
	if (src->af == RD_AF_INET6) {
		const size_t total = RD_CARP_IP6_HDR_LEN + RD_CARP_HDR_LEN;

		if (outlen < total)
			return RD_ERR_NOSPC;
		rd_put32(out, 0x60000000u); /* version 6, class 0, flow 0 */
		rd_put16(out + 4, RD_CARP_HDR_LEN);
		out[6] = RD_CARP_PROTO;
		out[7] = RD_CARP_TTL;
		memcpy(out + 8, src->u.v6, 16);
		memcpy(out + 24, dst->u.v6, 16);
		memcpy(out + RD_CARP_IP6_HDR_LEN, carp, RD_CARP_HDR_LEN);
		return (int)total;
	}
	return RD_ERR_INVAL;
}

int rd_carp_ip_parse(const uint8_t *pkt, size_t len, struct rd_carp_ip_info *info)
{
	if (info != NULL)
		memset(info, 0, sizeof(*info));
	if (pkt == NULL || info == NULL || len < 1)
		return RD_ERR_PROTO;
	/* What the packet says it carries, sound header or not (a hint for tools). */
	if (pkt[0] >> 4 == 4 && len > 9)
		info->proto = pkt[9];
	else if (pkt[0] >> 4 == 6 && len > 6)
		info->proto = pkt[6];
	if (pkt[0] >> 4 == 4) {
		size_t hl = (size_t)(pkt[0] & 0x0f) * 4;
		size_t total;

		/* The protocol byte is trusted only in a sound header. */
		if (len < RD_CARP_IP4_HDR_LEN || hl < RD_CARP_IP4_HDR_LEN || hl > len ||
		    rd_cksum(pkt, hl) != 0)
			return RD_ERR_PROTO;
		if (pkt[9] != RD_CARP_PROTO)
			return RD_CARP_IP_NOT_CARP;
		total = rd_get16(pkt + 2);
		if (total < hl || total > len)
			return RD_ERR_PROTO;
		/* More-fragments or a fragment offset: CARP is never fragmented. */
		if ((rd_get16(pkt + 6) & 0x3fff) != 0)
			return RD_ERR_PROTO;
		info->src.af = RD_AF_INET;
		memcpy(info->src.u.v4, pkt + 12, 4);
		info->dst.af = RD_AF_INET;
		memcpy(info->dst.u.v4, pkt + 16, 4);
		info->ttl = pkt[8];
		info->carp = pkt + hl;
		info->carp_len = total - hl;
		return 0;
	}
	if (pkt[0] >> 4 == 6) {
		size_t plen;

		if (len < RD_CARP_IP6_HDR_LEN)
			return RD_ERR_PROTO;
		if (pkt[6] != RD_CARP_PROTO)
			return RD_CARP_IP_NOT_CARP;
		plen = rd_get16(pkt + 4);
		if (plen > len - RD_CARP_IP6_HDR_LEN)
			return RD_ERR_PROTO;
		info->src.af = RD_AF_INET6;
		memcpy(info->src.u.v6, pkt + 8, 16);
		info->dst.af = RD_AF_INET6;
		memcpy(info->dst.u.v6, pkt + 24, 16);
		info->ttl = pkt[7];
		info->carp = pkt + RD_CARP_IP6_HDR_LEN;
		info->carp_len = plen;
		return 0;
	}
	return RD_ERR_PROTO;
}

int rd_carp_key_from_pass(const char *pass, uint8_t key[RD_CARP_KEY_LEN])
{
	size_t n;

	if (pass == NULL || key == NULL)
		return RD_ERR_INVAL;
	/* strlcpy into 20 bytes: 19 passphrase bytes at most, then NUL. */
	n = strnlen(pass, RD_CARP_KEY_LEN);
	if (n >= RD_CARP_KEY_LEN)
		return RD_ERR_INVAL;
	memset(key, 0, RD_CARP_KEY_LEN);
	memcpy(key, pass, n);
	return 0;
}

/* OpenBSD's IN6_IS_SCOPE_EMBED: link-local unicast, link/interface-local multicast. */
static bool v6_scoped(const uint8_t *a)
{
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return true;
	return a[0] == 0xff && ((a[1] & 0x0f) == 0x02 || (a[1] & 0x0f) == 0x01);
}

/*
 * OpenBSD walks the addresses in ascending order from "above 0" to "below
 * all-ones" (strict comparisons), so those two values never enter its HMAC.
 */
static bool hmac_skips(const uint8_t *a, size_t n)
{
	bool zero = true, ones = true;

	for (size_t i = 0; i < n; i++) {
		zero &= a[i] == 0x00;
		ones &= a[i] == 0xff;
	}
	return zero || ones;
}

static int cmp_v4(const void *a, const void *b)
{
	return memcmp(a, b, 4);
}

static int cmp_v6(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

void rd_carp_hmac(const uint8_t key[RD_CARP_KEY_LEN], const uint8_t *lladdr, uint8_t vhid,
                  const struct rd_addr *addrs, size_t naddrs,
                  const uint8_t counter[RD_CARP_COUNTER_LEN], enum rd_carp_hmac_ctx ctx,
                  uint8_t out[RD_CARP_HMAC_LEN])
{
	/* Sorted copies; the vhost API caps naddrs, larger lists are cut. */
	uint8_t v4[RD_CARP_MAX_ADDRS][4], v6[RD_CARP_MAX_ADDRS][16];
	size_t n4 = 0, n6 = 0;
	struct hmac_sha1_ctx h;
	const uint8_t vt[2] = {RD_CARP_VERSION, RD_CARP_TYPE_ADVERTISEMENT};

	for (size_t i = 0; i < naddrs; i++) {
		const struct rd_addr *a = &addrs[i];

		if (a->af == RD_AF_INET && n4 < RD_CARP_MAX_ADDRS) {
			if (!hmac_skips(a->u.v4, 4))
				memcpy(v4[n4++], a->u.v4, 4);
		} else if (a->af == RD_AF_INET6 && n6 < RD_CARP_MAX_ADDRS) {
			if (v6_scoped(a->u.v6)) {
				if (ctx == RD_CARP_HMAC_NOV6LL)
					continue;
				memcpy(v6[n6], a->u.v6, 16);
				v6[n6][2] = 0; /* the kernel's embedded scope */
				v6[n6][3] = 0;
				n6++;
			} else if (!hmac_skips(a->u.v6, 16)) {
				memcpy(v6[n6++], a->u.v6, 16);
			}
		}
	}
	/* Network-order bytes compare as the numeric (ntohl) order. */
	qsort(v4, n4, sizeof(v4[0]), cmp_v4);
	qsort(v6, n6, sizeof(v6[0]), cmp_v6);

	hmac_sha1_set_key(&h, RD_CARP_KEY_LEN, key);
	hmac_sha1_update(&h, sizeof(vt), vt);
	if (lladdr != NULL)
		hmac_sha1_update(&h, 6, lladdr);
	hmac_sha1_update(&h, 1, &vhid);
	for (size_t i = 0; i < n4; i++)
		if (i == 0 || memcmp(v4[i], v4[i - 1], 4) != 0)
			hmac_sha1_update(&h, 4, v4[i]);
	for (size_t i = 0; i < n6; i++)
		if (i == 0 || memcmp(v6[i], v6[i - 1], 16) != 0)
			hmac_sha1_update(&h, 16, v6[i]);
	hmac_sha1_update(&h, RD_CARP_COUNTER_LEN, counter);
	hmac_sha1_digest(&h, RD_CARP_HMAC_LEN, out);
}

bool rd_carp_hmac_verify(const uint8_t key[RD_CARP_KEY_LEN], const uint8_t *lladdr, uint8_t vhid,
                         const struct rd_addr *addrs, size_t naddrs,
                         const uint8_t counter[RD_CARP_COUNTER_LEN],
                         const uint8_t mac[RD_CARP_HMAC_LEN])
{
	uint8_t want[RD_CARP_HMAC_LEN];
	int ok;

	rd_carp_hmac(key, lladdr, vhid, addrs, naddrs, counter, RD_CARP_HMAC_ORIG, want);
	ok = sodium_memcmp(want, mac, RD_CARP_HMAC_LEN) == 0;
	rd_carp_hmac(key, lladdr, vhid, addrs, naddrs, counter, RD_CARP_HMAC_NOV6LL, want);
	/* Both contexts always computed: the time does not tell which matched. */
	ok |= sodium_memcmp(want, mac, RD_CARP_HMAC_LEN) == 0;
	sodium_memzero(want, sizeof(want));
	return ok != 0;
}

rd_time_t rd_carp_interval(uint8_t advbase, uint8_t advskew)
{
	rd_time_t t = (rd_time_t)advbase * RD_SEC + (rd_time_t)advskew * RD_SEC / 256;

	return t != 0 ? t : RD_SEC / 256;
}

rd_time_t rd_carp_master_down(uint8_t advbase, uint8_t advskew, uint8_t deadratio)
{
	return (deadratio != 0 ? deadratio : RD_CARP_DEADRATIO) *
	       rd_carp_interval(advbase, advskew);
}

static const char *const stat_names[RD_CARP_STAT_COUNT] = {
    [RD_CARP_STAT_IPACKETS] = "ipackets",
    [RD_CARP_STAT_IPACKETS6] = "ipackets6",
    [RD_CARP_STAT_HDROPS] = "hdrops",
    [RD_CARP_STAT_BADIF] = "badif",
    [RD_CARP_STAT_BADTTL] = "badttl",
    [RD_CARP_STAT_BADLEN] = "badlen",
    [RD_CARP_STAT_BADSUM] = "badsum",
    [RD_CARP_STAT_BADVHID] = "badvhid",
    [RD_CARP_STAT_BADVER] = "badver",
    [RD_CARP_STAT_BADAUTH] = "badauth",
    [RD_CARP_STAT_LOOP] = "loop",
    [RD_CARP_STAT_REPLAY] = "replay",
    [RD_CARP_STAT_OPACKETS] = "opackets",
    [RD_CARP_STAT_OPACKETS6] = "opackets6",
    [RD_CARP_STAT_OERRORS] = "oerrors",
    [RD_CARP_STAT_PREEMPT] = "preempt",
    [RD_CARP_STAT_REANNOUNCE] = "reannounce",
};

const char *rd_carp_stat_name(int stat)
{
	if (stat < 0 || stat >= RD_CARP_STAT_COUNT)
		return "?";
	return stat_names[stat];
}

int rd_carp_refusal_stat(int rc)
{
	int s = -rc - RD_CARP_REFUSED_BASE;

	if (s < RD_CARP_STAT_HDROPS || s > RD_CARP_STAT_REPLAY)
		return -1;
	return s;
}

const char *rd_carp_strerror(int rc)
{
	static const char *const why[RD_CARP_STAT_COUNT] = {
	    [RD_CARP_STAT_HDROPS] = "malformed IP header",
	    [RD_CARP_STAT_BADIF] = "not addressed to this interface",
	    [RD_CARP_STAT_BADTTL] = "bad ttl",
	    [RD_CARP_STAT_BADLEN] = "packet too short",
	    [RD_CARP_STAT_BADSUM] = "bad checksum",
	    [RD_CARP_STAT_BADVHID] = "unknown vhid",
	    [RD_CARP_STAT_BADVER] = "bad version or type",
	    [RD_CARP_STAT_BADAUTH] = "incorrect hash",
	    [RD_CARP_STAT_LOOP] = "own advertisement looped back",
	    [RD_CARP_STAT_REPLAY] = "replayed advertisement",
	};
	int s = rd_carp_refusal_stat(rc);

	if (s >= 0)
		return why[s];
	return rd_strerror(rc);
}

const char *rd_carp_state_name(int state)
{
	switch (state) {
	case RD_CARP_INIT:
		return "INIT";
	case RD_CARP_BACKUP:
		return "BACKUP";
	case RD_CARP_MASTER:
		return "MASTER";
	default:
		return "?";
	}
}
