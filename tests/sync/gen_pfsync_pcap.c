/*
 * Writes the pcap files the redundctl decode test reads, into DIR:
 *   raw.pcap     raw pfsync (IPv4 proto 240, TTL 255): INS (golden state),
 *                UPD_C x2, DEL_C, BUS, CLR, TDB, UPD_REQ 0/0
 *   secure.pcap  the same messages in secure envelopes (UDP 8240, key in
 *                DIR/key), plus an ACK and a HELLO
 *   bad.pcap     a good packet, a packet with a bad timeout, a good packet
 *   mixed.pcap   OpenBSD's UPD_C x3, the middle one with PFTM_PURGE (21); a
 *                header len 0 before a DEL_C; an INS whose keys have af 0;
 *                a packet whose section overruns it
 *   ttl.pcap     a pfsync packet with TTL 1
 *   tampered.pcap a secure envelope with a flipped ciphertext bit
 * usage: gen-pfsync-pcap DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "core/internal.h"
#include "redund/pcap.h"
#include "redund/sync.h"

#include "golden.h"

static char dir[1024];

static struct rd_pcap_writer *open_pcap(const char *name)
{
	char path[1200];
	struct rd_pcap_writer *w;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (rd_pcap_writer_open(path, RD_PCAP_LINKTYPE_ETHERNET, NULL, &w) != 0) {
		perror(path);
		exit(1);
	}
	return w;
}

/* IPv4 to 224.0.0.240 from 10.0.0.1 with the given protocol and payload. */
static void write_ip(struct rd_pcap_writer *w, rd_time_t ts, uint8_t proto, uint8_t ttl,
                     const uint8_t *pl, size_t len)
{
	uint8_t ip[2048];

	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[1] = 0x10;
	rd_put16(ip + 2, (uint16_t)(20 + len));
	rd_put16(ip + 6, 0x4000);
	ip[8] = ttl;
	ip[9] = proto;
	rd_put32(ip + 12, 0x0a000001);
	rd_put32(ip + 16, RD_PFSYNC_GROUP_V4);
	rd_put16(ip + 10, rd_cksum(ip, 20));
	memcpy(ip + 20, pl, len);
	if (rd_pcap_write_ip(w, ts, NULL, ip, 20 + len) != 0)
		exit(1);
}

static void write_udp(struct rd_pcap_writer *w, rd_time_t ts, const uint8_t *pl, size_t len)
{
	uint8_t udp[2048];

	rd_put16(udp, RD_SYNC_UDP_PORT);
	rd_put16(udp + 2, RD_SYNC_UDP_PORT);
	rd_put16(udp + 4, (uint16_t)(8 + len));
	rd_put16(udp + 6, 0);
	memcpy(udp + 8, pl, len);
	write_ip(w, ts, 17, 64, udp, 8 + len);
}

/* pfsync packet with one section of `count` copies of msg. */
static size_t pkt1(uint8_t *pkt, uint8_t action, const uint8_t *msg, size_t mlen, uint16_t count)
{
	size_t len = 24 + mlen * count;
	memset(pkt, 0, 24);
	pkt[0] = RD_PFSYNC_VERSION;
	rd_put16(pkt + 2, (uint16_t)len);
	pkt[20] = action;
	pkt[21] = (uint8_t)(mlen / 4);
	rd_put16(pkt + 22, count);
	for (uint16_t i = 0; i < count; i++)
		memcpy(pkt + 24 + i * mlen, msg, mlen);
	return len;
}

/* The sample packets, built with the codec's builder around golden bytes. */
static size_t sample(int i, uint8_t *pkt)
{
	struct rd_pfsync_builder b;
	struct rd_pfsync_msg m;

	switch (i) {
	case 0:
		return pkt1(pkt, RD_PFSYNC_ACT_INS, golden_state, sizeof(golden_state), 1);
	case 1:
		return pkt1(pkt, RD_PFSYNC_ACT_UPD_C, golden_upd_c, sizeof(golden_upd_c), 2);
	default:
		rd_pfsync_builder_init(&b, pkt, 1480);
		memset(&m, 0, sizeof(m));
		m.action = RD_PFSYNC_ACT_DEL_C;
		m.u.ref.id = 0x0102030405060708ULL;
		m.u.ref.creatorid = 0xdeadbeef;
		rd_pfsync_builder_add(&b, &m);
		m.action = RD_PFSYNC_ACT_BUS;
		m.u.bus.creatorid = 0xdeadbeef;
		m.u.bus.status = RD_PFSYNC_BUS_END;
		rd_pfsync_builder_add(&b, &m);
		memset(&m, 0, sizeof(m));
		m.action = RD_PFSYNC_ACT_CLR;
		strcpy(m.u.clr.ifname, "em\"0");
		m.u.clr.creatorid = 0xdeadbeef;
		rd_pfsync_builder_add(&b, &m);
		memset(&m, 0, sizeof(m));
		m.action = RD_PFSYNC_ACT_TDB;
		m.u.tdb.spi = 0x1001;
		rd_addr_parse("198.51.100.7", &m.u.tdb.dst);
		m.u.tdb.rpl = 16384;
		m.u.tdb.sproto = 50;
		rd_pfsync_builder_add(&b, &m);
		memset(&m, 0, sizeof(m));
		m.action = RD_PFSYNC_ACT_UPD_REQ;
		rd_pfsync_builder_add(&b, &m);
		return rd_pfsync_builder_finish(&b);
	}
}

int main(int argc, char **argv)
{
	struct rd_pcap_writer *w;
	struct rd_sync_key key;
	uint8_t pkt[2048], env[2048];
	char text[128];
	FILE *f;
	size_t len;
	uint64_t seq = 5000;

	if (argc != 2 || rd_init() != 0)
		return 2;
	snprintf(dir, sizeof(dir), "%s", argv[1]);

	w = open_pcap("raw.pcap");
	for (int i = 0; i < 3; i++) {
		len = sample(i, pkt);
		write_ip(w, (rd_time_t)i * RD_MSEC, RD_PFSYNC_IPPROTO, RD_PFSYNC_TTL, pkt, len);
	}
	rd_pcap_writer_close(w);

	memset(&key, 0, sizeof(key));
	key.id = 3;
	for (int i = 0; i < RD_SYNC_KEY_LEN; i++)
		key.key[i] = (uint8_t)(0x40 + i);
	{
		char path[1200];
		snprintf(path, sizeof(path), "%s/key", dir);
		f = fopen(path, "w");
	}
	/* Private, as key files must be (redundctl refuses others, as ssh does). */
	if (f == NULL || fchmod(fileno(f), 0600) != 0 ||
	    rd_sync_key_format(&key, text, sizeof(text)) < 0)
		return 1;
	fputs(text, f);
	fclose(f);
	w = open_pcap("secure.pcap");
	for (int i = 0; i < 3; i++) {
		struct rd_sync_env_hdr h = {
		    .type = RD_SYNC_ENV_DATA, .key_id = 3, .sender = 0xdeadbeef, .seq = seq++};
		len = sample(i, pkt);
		int n = rd_sync_env_seal(&key, &h, NULL, pkt, len, env, sizeof(env));
		write_udp(w, (rd_time_t)i * RD_MSEC, env, (size_t)n);
	}
	{
		uint8_t ack[36] = {0, 1, 0, 0, 0xca, 0xfe, 0, 1, 0};
		uint8_t hello[16];
		struct rd_sync_env_hdr h = {
		    .type = RD_SYNC_ENV_ACK, .key_id = 3, .sender = 0xcafe0001, .seq = 77};
		rd_put64(ack + 12, 5001);
		rd_put64(ack + 20, 5002);
		rd_put64(ack + 28, 1);
		int n = rd_sync_env_seal(&key, &h, NULL, ack, sizeof(ack), env, sizeof(env));
		write_udp(w, 10 * RD_MSEC, env, (size_t)n);
		h.type = RD_SYNC_ENV_HELLO;
		h.seq = 78;
		rd_put64(hello, 9000);
		rd_put64(hello + 8, 8990);
		n = rd_sync_env_seal(&key, &h, NULL, hello, sizeof(hello), env, sizeof(env));
		write_udp(w, 11 * RD_MSEC, env, (size_t)n);
	}
	rd_pcap_writer_close(w);

	w = open_pcap("tampered.pcap");
	{
		struct rd_sync_env_hdr h = {
		    .type = RD_SYNC_ENV_DATA, .key_id = 3, .sender = 1, .seq = 1};
		len = sample(0, pkt);
		int n = rd_sync_env_seal(&key, &h, NULL, pkt, len, env, sizeof(env));
		env[100] ^= 4;
		write_udp(w, 0, env, (size_t)n);
	}
	rd_pcap_writer_close(w);

	w = open_pcap("bad.pcap");
	len = sample(2, pkt);
	write_ip(w, 0, RD_PFSYNC_IPPROTO, RD_PFSYNC_TTL, pkt, len);
	{
		uint8_t st[264];
		memcpy(st, golden_state, sizeof(st));
		st[255] = RD_PFSYNC_TM_COUNT; /* timeout out of range */
		size_t blen = pkt1(pkt, RD_PFSYNC_ACT_INS, st, sizeof(st), 1);
		write_ip(w, RD_MSEC, RD_PFSYNC_IPPROTO, RD_PFSYNC_TTL, pkt, blen);
	}
	write_ip(w, 2 * RD_MSEC, RD_PFSYNC_IPPROTO, RD_PFSYNC_TTL, pkt,
	         pkt1(pkt, 0, golden_upd_c, 20, 1));
	rd_pcap_writer_close(w);

	w = open_pcap("mixed.pcap");
	len = golden_pkt_upd_c_among_good(pkt, GOLDEN_PFTM_PURGE);
	write_ip(w, 0, RD_PFSYNC_IPPROTO, RD_PFSYNC_TTL, pkt, len);
	len = golden_header(pkt, 0);
	len += golden_subheader(pkt + len, RD_PFSYNC_ACT_DEL_C, 12, 1);
	len += golden_ref(pkt + len, 0x2a, 0xcafe0001);
	write_ip(w, RD_MSEC, RD_PFSYNC_IPPROTO, RD_PFSYNC_TTL, pkt, len);
	len = golden_header(pkt, 20 + 4 + 264);
	len += golden_subheader(pkt + len, RD_PFSYNC_ACT_INS, 264, 1);
	len += golden_state_as(pkt + len, 0x08, 0, 0);
	write_ip(w, 2 * RD_MSEC, RD_PFSYNC_IPPROTO, RD_PFSYNC_TTL, pkt, len);
	len = golden_header(pkt, 20 + 4 + 12);
	len += golden_subheader(pkt + len, RD_PFSYNC_ACT_DEL_C, 12, 2);
	len += golden_ref(pkt + len, 0x2b, 0xcafe0001);
	write_ip(w, 3 * RD_MSEC, RD_PFSYNC_IPPROTO, RD_PFSYNC_TTL, pkt, len);
	rd_pcap_writer_close(w);

	w = open_pcap("ttl.pcap");
	len = sample(2, pkt);
	write_ip(w, 0, RD_PFSYNC_IPPROTO, 1, pkt, len);
	rd_pcap_writer_close(w);
	sodium_memzero(&key, sizeof(key));
	return 0;
}
