/*
 * Fuzz target: CARP input. Runs a sequence of records (format in
 * fuzz_carp_setup.h) against a fresh interface with three vhosts, so
 * packets, timers, demotion, link changes and forced states interleave.
 * Besides not crashing it checks invariants: every packet the engine sends
 * parses back as a valid advertisement; a refused packet changes no state;
 * rd_carp_input's result is 0, a refusal or RD_ERR_INVAL only; the expiry
 * never lies in the past after handle_expiry.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_carp_setup.h"

struct fz {
	uint64_t rng;
	int send_rc;
};

static void fz_random(void *user, void *buf, size_t len)
{
	struct fz *f = user;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		f->rng = f->rng * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(f->rng >> 56);
	}
}

static int fz_send(void *user, struct rd_carp_vhost *vh, const struct rd_carp_out *o)
{
	struct fz *f = user;
	struct rd_carp_ip_info ip;
	struct rd_carp_hdr h;

	/* What we send must be a well-formed, correctly summed advertisement. */
	if (rd_carp_ip_parse(o->pkt, o->pkt_len, &ip) != 0 || ip.ttl != 255 ||
	    ip.carp_len != RD_CARP_HDR_LEN || !rd_carp_hdr_cksum_ok(ip.carp) ||
	    rd_carp_hdr_decode(ip.carp, ip.carp_len, &h) != 0 || h.vhid != rd_carp_vhost_vhid(vh) ||
	    h.version != 2 || h.authlen != 7)
		abort();
	return f->send_rc;
}

static void snapshot(struct rd_carp_if *ifp, enum rd_carp_state st[3], rd_time_t *exp)
{
	for (size_t i = 0; i < 3; i++)
		st[i] = rd_carp_vhost_state(rd_carp_if_vhost_at(ifp, i));
	*exp = rd_carp_expiry(ifp);
}

static void check_refusal(int rc, struct rd_carp_if *ifp, const enum rd_carp_state st[3],
                          rd_time_t exp)
{
	enum rd_carp_state now_st[3];
	rd_time_t now_exp;

	if (rc == 0)
		return;
	if (rd_carp_refusal_stat(rc) < 0)
		abort();
	snapshot(ifp, now_st, &now_exp);
	if (memcmp(st, now_st, sizeof(now_st)) != 0 || exp != now_exp)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = {.rng = 42, .send_rc = 0};
	struct rd_carp_if_config cfg;
	struct rd_carp_if *ifp;
	rd_time_t now = (rd_time_t)1000 * RD_SEC;
	struct rd_addr s4 = fz_addr("10.9.0.1"), g4 = rd_carp_group4();
	struct rd_addr s6 = fz_addr("fe80::1"), g6 = rd_carp_group6();
	struct rd_carp_hdr h;
	struct rd_carp_ip_info ip;

	/* The pure decoders on the raw input. */
	rd_carp_hdr_decode(data, size, &h);
	rd_carp_ip_parse(data, size, &ip);

	memset(&cfg, 0, sizeof(cfg));
	cfg.random.fn = fz_random;
	cfg.random.user = &f;
	cfg.cb.send = fz_send;
	cfg.cb.user = &f;
	cfg.balancing = size > 0 && (data[0] & 0x80) ? RD_CARP_BAL_IP : RD_CARP_BAL_NONE;
	if (rd_carp_if_new(&cfg, &ifp) != 0 || fz_add_vhosts(ifp, false, now) != 0)
		abort();

	while (size >= 3) {
		uint8_t op = data[0], dt = data[1];
		size_t len = data[2];
		const uint8_t *p = data + 3;
		enum rd_carp_state st[3];
		rd_time_t exp;
		int rc = 0;

		size -= 3;
		if (len > size)
			len = size;
		data = p + len;
		size -= len;

		now += (rd_time_t)dt * 4 * RD_MSEC;
		if (rd_carp_expiry(ifp) <= now) {
			rd_carp_handle_expiry(ifp, now);
			if (rd_carp_expiry(ifp) <= now)
				abort();
		}
		snapshot(ifp, st, &exp);
		f.send_rc = (op & 0x40) ? -1 : 0;
		switch (op % 8) {
		case 0:
		case 1:
		case 2:
			rc = rd_carp_input(ifp, p, len, now);
			check_refusal(rc, ifp, st, exp);
			break;
		case FZ_OP_PAYLOAD4:
			rc = rd_carp_input_payload(ifp, &s4, &g4, 255, p, len, now);
			check_refusal(rc, ifp, st, exp);
			break;
		case FZ_OP_PAYLOAD6:
			rc = rd_carp_input_payload(ifp, &s6, &g6, 255, p, len, now);
			check_refusal(rc, ifp, st, exp);
			break;
		case 5:
			rd_carp_if_demote(ifp, len & 1 ? "carp" : "fz", (int8_t)len, now);
			if (rd_carp_if_demotion(ifp) > 255)
				abort();
			break;
		case 6:
			rd_carp_if_link(ifp, len & 1, now);
			break;
		default: {
			struct rd_carp_vhost *vh = rd_carp_if_vhost_at(ifp, len % 3);

			switch ((len / 3) % 4) {
			case 0:
				rd_carp_vhost_stop(vh, now);
				break;
			case 1:
				rd_carp_vhost_start(vh, now);
				break;
			case 2:
				rd_carp_vhost_set_state(vh, RD_CARP_MASTER, now);
				break;
			default:
				rd_carp_vhost_set_state(vh, RD_CARP_BACKUP, now);
				break;
			}
			break;
		}
		}
		if (len >= 8) {
			struct rd_addr a = rd_addr_v4(rd_carp_refusal_stat(rc) < 0 ? 1u : 2u), b;

			memcpy(b.u.v4, p + 4, 4);
			b.af = RD_AF_INET;
			rd_carp_if_accept(ifp, &a, &b);
		}
	}
	rd_carp_if_free(ifp);
	return 0;
}
