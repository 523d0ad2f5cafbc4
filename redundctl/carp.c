/* redundctl: the carp subcommands (carpd's control socket) and `decode carp`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redund/carp.h"
#include "redund/pcap.h"
#include "redundctl.h"

#define CARPD_CONTROL "/run/carpd.sock"

int rctl_carp_status(const struct rctl_opts *o, int argc, char **argv)
{
	return rctl_status(o, CARPD_CONTROL, "carp", argc, argv);
}

int rctl_carp_demote(const struct rctl_opts *o, int argc, char **argv)
{
	char line[256];
	unsigned v;

	if (argc != 2 || (argv[1][0] != '+' && argv[1][0] != '-')) {
		fprintf(stderr, "usage: redundctl carp demote GROUP +N|-N\n");
		return 2;
	}
	if (dm_parse_uint(argv[1] + 1, 0, 255, &v) < 0 || strlen(argv[0]) > 64 ||
	    strpbrk(argv[0], " \t\n") != NULL) {
		fprintf(stderr,
		        "usage: redundctl carp demote GROUP +N|-N (N from 0 to 255, GROUP a "
		        "word)\n");
		return 2;
	}
	snprintf(line, sizeof(line), "demote %s %c%u", argv[0], argv[1][0], v);
	return rctl_ask(o, CARPD_CONTROL, line);
}

/*
 * `hold HOLDER GROUP VALUE TTL [unless-master]`: the words go to carpd,
 * which checks them and says what it expected; here only what would not
 * survive the trip as words.
 */
int rctl_carp_hold(const struct rctl_opts *o, int argc, char **argv)
{
	char line[256];
	int i;

	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "unless-master") != 0)) {
		fprintf(stderr,
		        "usage: redundctl carp hold HOLDER GROUP VALUE TTL [unless-master]\n");
		return 2;
	}
	for (i = 0; i < argc; i++)
		if (argv[i][0] == '\0' || strlen(argv[i]) > 40 ||
		    strpbrk(argv[i], " \t\r\n") != NULL) {
			fprintf(stderr,
			        "usage: redundctl carp hold HOLDER GROUP VALUE TTL [unless-master] "
			        "(each a word)\n");
			return 2;
		}
	snprintf(line, sizeof(line), "hold %s %s %s %s%s", argv[0], argv[1], argv[2], argv[3],
	         argc == 5 ? " unless-master" : "");
	return rctl_ask(o, CARPD_CONTROL, line);
}

int rctl_carp_leave(const struct rctl_opts *o, int argc, char **argv)
{
	(void)argv;
	return rctl_noarg(o, CARPD_CONTROL, "carp", "leave", argc);
}

int rctl_carp_join(const struct rctl_opts *o, int argc, char **argv)
{
	(void)argv;
	return rctl_noarg(o, CARPD_CONTROL, "carp", "join", argc);
}

static void hex(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
}

/* Optional HMAC check: the key and the virtual addresses the HMAC covers. */
struct verify {
	bool on;
	uint8_t key[RD_CARP_KEY_LEN];
	struct rd_addr addrs[RD_CARP_MAX_ADDRS];
	size_t naddrs;
};

/* One record rd_carp_ip_parse took for CARP: parsed (rc 0) or malformed. */
static void decode_one(unsigned long frame, const struct rd_pcap_packet *p, int rc,
                       const struct rd_carp_ip_info *info, const struct verify *v)
{
	struct rd_carp_hdr h;
	char s[RD_ADDR_STRLEN], d[RD_ADDR_STRLEN];

	printf("{\"frame\": %lu, \"time\": %llu.%09llu", frame,
	       (unsigned long long)(p->ts / RD_SEC), (unsigned long long)(p->ts % RD_SEC));
	if (rc != 0) {
		printf(", \"error\": \"malformed IP header\"}\n");
		return;
	}
	printf(", \"af\": \"%s\", \"src\": \"%s\", \"dst\": \"%s\", \"ttl\": %u, \"length\": %zu",
	       dm_af_name(info->src.af), rd_addr_format(&info->src, s, sizeof(s)),
	       rd_addr_format(&info->dst, d, sizeof(d)), info->ttl, info->carp_len);
	if (rd_carp_hdr_decode(info->carp, info->carp_len, &h) != 0) {
		printf(", \"error\": \"CARP header shorter than 36 bytes\"}\n");
		return;
	}
	printf(", \"version\": %u, \"type\": %u, \"vhid\": %u, \"advskew\": %u, \"authlen\": %u"
	       ", \"demote\": %u, \"advbase\": %u, \"checksum\": \"0x%04x\", \"checksum_ok\": %s"
	       ", \"counter\": \"",
	       h.version, h.type, h.vhid, h.advskew, h.authlen, h.demote, h.advbase, h.cksum,
	       rd_carp_hdr_cksum_ok(info->carp) ? "true" : "false");
	hex(h.counter, sizeof(h.counter));
	printf("\", \"hmac\": \"");
	hex(h.hmac, sizeof(h.hmac));
	printf("\"");
	if (v->on)
		printf(", \"hmac_ok\": %s", rd_carp_hmac_verify(v->key, NULL, h.vhid, v->addrs,
		                                                v->naddrs, h.counter, h.hmac)
		                                ? "true"
		                                : "false");
	printf(", \"interval_ms\": %.3f, \"bow_out\": %s, \"ttl_ok\": %s}\n",
	       (double)rd_carp_interval(h.advbase, h.advskew) / 1e6,
	       rd_carp_hdr_is_bow_out(&h) ? "true" : "false",
	       info->ttl == RD_CARP_TTL ? "true" : "false");
}

/* One decode run: the HMAC check, and what was seen. */
struct carp_run {
	struct verify v;
	unsigned long frame, carp, other;
};

static int carp_packet(void *user, const struct rd_pcap_packet *p)
{
	struct carp_run *cr = user;
	struct rd_carp_ip_info info;
	const uint8_t *ip;
	size_t ip_len;
	int prc;

	cr->frame++;
	/* Not IP, a sound IP header of another protocol, or a malformed
	 * one whose protocol byte is not CARP's: skipped. A malformed IP
	 * header saying protocol 112 is shown. */
	if (rd_pcap_ip_payload(p->linktype, p->data, p->len, &ip, &ip_len) != 0 ||
	    (prc = rd_carp_ip_parse(ip, ip_len, &info)) == RD_CARP_IP_NOT_CARP ||
	    (prc != 0 && info.proto != RD_CARP_PROTO)) {
		cr->other++;
		return 0;
	}
	cr->carp++;
	decode_one(cr->frame, p, prc, &info, &cr->v);
	return 1;
}

int rctl_decode_carp(const struct rctl_opts *o, int argc, char **argv)
{
	struct carp_run cr = {0};
	const char *path = NULL, *ifname = NULL;
	unsigned count = 0;
	bool bad = false;
	int rc, i;

	(void)o;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--pass") == 0 && i + 1 < argc) {
			if (rd_carp_key_from_pass(argv[++i], cr.v.key) != 0) {
				fprintf(stderr, "redundctl: --pass: at most 19 characters\n");
				return 2;
			}
			cr.v.on = true;
		} else if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc) {
			if (cr.v.naddrs == RD_CARP_MAX_ADDRS ||
			    rd_addr_parse(argv[++i], &cr.v.addrs[cr.v.naddrs]) != 0) {
				fprintf(stderr,
				        "redundctl: --addr: expected an IPv4 or IPv6 address "
				        "(at most %d)\n",
				        RD_CARP_MAX_ADDRS);
				return 2;
			}
			cr.v.naddrs++;
		} else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc && ifname == NULL) {
			ifname = argv[++i];
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			if (dm_parse_uint(argv[++i], 1, 1000000000, &count) < 0)
				bad = true;
		} else if (path == NULL && argv[i][0] != '-') {
			path = argv[i];
		} else {
			bad = true;
		}
	}
	if (bad || (path == NULL) == (ifname == NULL)) {
		fprintf(stderr, "usage: redundctl decode carp FILE | -i IF [-c N] [--pass PASS "
		                "[--addr ADDR]...]\n");
		return 2;
	}
	/* Live: CARP (IP protocol 112) only, in the kernel. */
	rc = rctl_capture_run(path, ifname, "ip proto 112 or ip6 proto 112", count, carp_packet,
	                      &cr);
	if (rc != 0)
		return rc;
	if (cr.other != 0)
		fprintf(stderr, "redundctl: %lu CARP packet(s), %lu other record(s) skipped\n",
		        cr.carp, cr.other);
	return 0;
}
