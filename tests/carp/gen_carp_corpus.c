/*
 * Writes the seed corpus of fuzz-carp-input into a directory: records (see
 * fuzz_carp_setup.h) holding the captured ucarp adverts and adverts made by
 * the peer side of the fuzz configuration (IPv4, IPv6, unicast, strict
 * counters, bow-out), plus sequences with demotion, link and state ops.
 * Usage: gen-carp-corpus DIR
 */
#include <stdio.h>

#include "fuzz_carp_setup.h"
#include "ucarp_vectors.h"

static uint8_t pkts[64][RD_CARP_PKT_MAX];
static size_t plen[64], npkts;

static int on_send(void *user, struct rd_carp_vhost *vh, const struct rd_carp_out *o)
{
	(void)user;
	(void)vh;
	if (npkts < 64) {
		memcpy(pkts[npkts], o->pkt, o->pkt_len);
		plen[npkts++] = o->pkt_len;
	}
	return 0;
}

static void rnd(void *user, void *buf, size_t len)
{
	uint8_t *p = buf;
	uint64_t *s = user;

	for (size_t i = 0; i < len; i++) {
		*s = *s * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(*s >> 56);
	}
}

static void put_file(const char *dir, const char *name, const uint8_t *b, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(b, 1, n, f) != n) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static size_t rec(uint8_t *out, uint8_t op, uint8_t dt, const uint8_t *p, size_t n)
{
	out[0] = op;
	out[1] = dt;
	out[2] = (uint8_t)n;
	if (n > 0)
		memcpy(out + 3, p, n);
	return 3 + n;
}

int main(int argc, char **argv)
{
	uint64_t seed = 7;
	struct rd_carp_if_config cfg;
	struct rd_carp_if *peer;
	rd_time_t now = (rd_time_t)1000 * RD_SEC;
	uint8_t buf[4096];
	char name[64];
	size_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(ucarp_vectors) / sizeof(ucarp_vectors[0]); i++) {
		snprintf(name, sizeof(name), "ucarp-%zu", i);
		n = rec(buf, 0, 1, ucarp_vectors[i].pkt, 56);
		put_file(argv[1], name, buf, n);
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.random.fn = rnd;
	cfg.random.user = &seed;
	cfg.cb.send = on_send;
	if (rd_carp_if_new(&cfg, &peer) != 0 || fz_add_vhosts(peer, true, now) != 0)
		return 1;
	/* Every peer vhost becomes MASTER and advertises three times. */
	for (size_t i = 0; i < 3; i++)
		rd_carp_vhost_set_state(rd_carp_if_vhost_at(peer, i), RD_CARP_MASTER, now);
	for (int k = 0; k < 3; k++) {
		now = rd_carp_expiry(peer);
		rd_carp_handle_expiry(peer, now);
	}
	for (size_t i = 0; i < npkts; i++) {
		snprintf(name, sizeof(name), "peer-%02zu", i);
		n = rec(buf, 0, 1, pkts[i], plen[i]);
		put_file(argv[1], name, buf, n);
	}
	/* All of them in order, as one session. */
	n = 0;
	for (size_t i = 0; i < npkts && n + 3 + RD_CARP_PKT_MAX < sizeof(buf); i++)
		n += rec(buf + n, 0, 30, pkts[i], plen[i]);
	put_file(argv[1], "peer-session", buf, n);
	/* IPv6 adverts through the payload path (header stripped). */
	for (size_t i = 0; i < npkts; i++) {
		if (plen[i] == 76 && pkts[i][24] == 0xff) {
			n = rec(buf, FZ_OP_PAYLOAD6, 1, pkts[i] + 40, 36);
			put_file(argv[1], "payload6", buf, n);
			break;
		}
	}
	/* Demote, link flap, forced states and a bow-out between adverts. */
	n = rec(buf, 0, 1, pkts[0], plen[0]);
	n += rec(buf + n, 5, 1, NULL, 0);
	buf[n - 1] = 3;                    /* demote by 3 */
	n += rec(buf + n, 6, 10, NULL, 0); /* link down (len 0) */
	buf[n - 1] = 0;
	n += rec(buf + n, 6, 10, NULL, 0);
	buf[n - 1] = 1; /* link up */
	n += rec(buf + n, 7, 200, NULL, 0);
	buf[n - 1] = 6; /* vhost 0: force MASTER */
	put_file(argv[1], "ops", buf, n);
	npkts = 0;
	rd_carp_if_leave(peer, now + RD_SEC);
	for (size_t i = 0; i < npkts; i++) {
		snprintf(name, sizeof(name), "bowout-%02zu", i);
		n = rec(buf, 0, 1, pkts[i], plen[i]);
		put_file(argv[1], name, buf, n);
	}
	rd_carp_if_free(peer);
	return 0;
}
