/*
 * pcap writer and reader: the one place in sim/ that does file I/O (stdio).
 * Classic libpcap format: a 24-byte file header, then records of a 16-byte
 * header (seconds, sub-second, captured length, original length) and data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "redund/pcap.h"

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du
#define FILE_HDR   24
#define REC_HDR    16
#define ETH_HDR    14

struct rd_pcap_writer {
	const struct rd_mem *mem;
	FILE *f;
	int linktype;
	bool failed;
};

static void put32h(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* host order, announced by the magic number */
}

static void put16h(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

int rd_pcap_writer_open(const char *path, int linktype, const struct rd_mem *mem,
                        struct rd_pcap_writer **out)
{
	uint8_t hdr[FILE_HDR];

	if (path == NULL || out == NULL ||
	    (linktype != RD_PCAP_LINKTYPE_ETHERNET && linktype != RD_PCAP_LINKTYPE_RAW))
		return RD_ERR_INVAL;
	struct rd_pcap_writer *w = rd_calloc(mem, 1, sizeof(*w));
	if (w == NULL)
		return RD_ERR_NOMEM;
	w->mem = mem;
	w->linktype = linktype;
	w->f = fopen(path, "wb");
	if (w->f == NULL) {
		rd_free(mem, w);
		return RD_ERR_STATE;
	}
	put32h(hdr, MAGIC_NSEC);
	put16h(hdr + 4, 2); /* version 2.4 */
	put16h(hdr + 6, 4);
	put32h(hdr + 8, 0);  /* thiszone */
	put32h(hdr + 12, 0); /* sigfigs */
	put32h(hdr + 16, RD_PCAP_SNAPLEN);
	put32h(hdr + 20, (uint32_t)linktype);
	if (fwrite(hdr, 1, sizeof(hdr), w->f) != sizeof(hdr)) {
		fclose(w->f);
		rd_free(mem, w);
		return RD_ERR_STATE;
	}
	*out = w;
	return 0;
}

int rd_pcap_writer_linktype(const struct rd_pcap_writer *w)
{
	return w->linktype;
}

/* Write a record made of a header part (may be empty) and a body. */
static int write_record(struct rd_pcap_writer *w, rd_time_t ts, const uint8_t *head,
                        size_t head_len, const uint8_t *body, size_t body_len)
{
	uint8_t rh[REC_HDR];
	size_t orig = head_len + body_len;
	size_t incl = RD_MIN(orig, (size_t)RD_PCAP_SNAPLEN);

	if (w->failed)
		return RD_ERR_STATE;
	put32h(rh, (uint32_t)(ts / RD_SEC));
	put32h(rh + 4, (uint32_t)(ts % RD_SEC));
	put32h(rh + 8, (uint32_t)incl);
	put32h(rh + 12, (uint32_t)RD_MIN(orig, (size_t)UINT32_MAX));
	size_t body_incl = incl - RD_MIN(incl, head_len);
	if (fwrite(rh, 1, REC_HDR, w->f) != REC_HDR ||
	    (head_len != 0 && fwrite(head, 1, head_len, w->f) != head_len) ||
	    (body_incl != 0 && fwrite(body, 1, body_incl, w->f) != body_incl)) {
		w->failed = true;
		return RD_ERR_STATE;
	}
	return 0;
}

int rd_pcap_write(struct rd_pcap_writer *w, rd_time_t ts, const void *data, size_t len)
{
	if (w == NULL || (data == NULL && len != 0))
		return RD_ERR_INVAL;
	return write_record(w, ts, NULL, 0, data, len);
}

/* The destination MAC an IP destination maps to on Ethernet. */
static void dst_mac(const uint8_t *ip, uint8_t mac[6])
{
	if ((ip[0] >> 4) == 4) {
		const uint8_t *d = ip + 16;
		if (d[0] >= 224 && d[0] <= 239) {
			const uint8_t m[6] = {0x01, 0x00, 0x5e, d[1] & 0x7f, d[2], d[3]};
			memcpy(mac, m, 6);
		} else if (d[0] == 255 && d[1] == 255 && d[2] == 255 && d[3] == 255) {
			memset(mac, 0xff, 6);
		} else {
			const uint8_t m[6] = {0x02, 0x00, d[0], d[1], d[2], d[3]};
			memcpy(mac, m, 6);
		}
	} else {
		const uint8_t *d = ip + 24;
		const uint8_t m[6] = {d[0] == 0xff ? 0x33 : 0x02,
		                      d[0] == 0xff ? 0x33 : 0x00,
		                      d[12],
		                      d[13],
		                      d[14],
		                      d[15]};
		memcpy(mac, m, 6);
	}
}

int rd_pcap_write_ip(struct rd_pcap_writer *w, rd_time_t ts, const uint8_t *src_mac, const void *ip,
                     size_t len)
{
	static const uint8_t zero_mac[6] = {0x02, 0, 0, 0, 0, 0};
	const uint8_t *p = ip;
	uint8_t eth[ETH_HDR];

	if (w == NULL || ip == NULL)
		return RD_ERR_INVAL;
	if (len < 1)
		return RD_ERR_PROTO;
	int v = p[0] >> 4;
	if ((v == 4 && len < 20) || (v == 6 && len < 40) || (v != 4 && v != 6))
		return RD_ERR_PROTO;
	if (w->linktype == RD_PCAP_LINKTYPE_RAW)
		return write_record(w, ts, NULL, 0, p, len);
	dst_mac(p, eth);
	memcpy(eth + 6, src_mac != NULL ? src_mac : zero_mac, 6);
	rd_put16(eth + 12, v == 4 ? 0x0800 : 0x86dd);
	return write_record(w, ts, eth, sizeof(eth), p, len);
}

int rd_pcap_writer_flush(struct rd_pcap_writer *w)
{
	if (w == NULL)
		return RD_ERR_INVAL;
	if (w->failed || fflush(w->f) != 0) {
		w->failed = true;
		return RD_ERR_STATE;
	}
	return 0;
}

int rd_pcap_writer_close(struct rd_pcap_writer *w)
{
	if (w == NULL)
		return 0;
	bool failed = w->failed;
	if (fclose(w->f) != 0)
		failed = true;
	rd_free(w->mem, w);
	return failed ? RD_ERR_STATE : 0;
}

/* Reader: over a FILE or over a memory buffer. */
struct rd_pcap_reader {
	const struct rd_mem *mem;
	FILE *f;
	const uint8_t *mem_data;
	size_t mem_len, mem_off;
	bool swap, nsec, eof, error;
	uint32_t snaplen;
	int linktype;
	uint8_t *buf;
	size_t buf_cap;
	uint64_t st[RD_PCAP_STAT_COUNT];
};

/* Read up to n bytes; returns the count read (short only at end or error). */
static size_t rd_read(struct rd_pcap_reader *r, void *dst, size_t n)
{
	if (r->f != NULL) {
		size_t got = fread(dst, 1, n, r->f);
		if (got < n && ferror(r->f))
			r->error = true;
		return got;
	}
	size_t k = RD_MIN(n, r->mem_len - r->mem_off);
	if (k == 0) /* an empty buffer may be NULL: no memcpy from it */
		return 0;
	memcpy(dst, r->mem_data + r->mem_off, k);
	r->mem_off += k;
	return k;
}

static uint32_t get32(const struct rd_pcap_reader *r, const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return r->swap ? __builtin_bswap32(v) : v;
}

static int reader_start(struct rd_pcap_reader *r)
{
	uint8_t hdr[FILE_HDR];
	uint32_t magic;

	if (rd_read(r, hdr, sizeof(hdr)) != sizeof(hdr))
		return r->error ? RD_ERR_STATE : RD_ERR_PROTO;
	memcpy(&magic, hdr, 4);
	if (magic == MAGIC_USEC || magic == MAGIC_NSEC) {
		r->swap = false;
	} else if (__builtin_bswap32(magic) == MAGIC_USEC ||
	           __builtin_bswap32(magic) == MAGIC_NSEC) {
		r->swap = true;
		magic = __builtin_bswap32(magic);
	} else {
		return RD_ERR_PROTO;
	}
	r->nsec = magic == MAGIC_NSEC;
	r->snaplen = get32(r, hdr + 16);
	r->linktype = (int)(get32(r, hdr + 20) & 0x0fffffff); /* high bits: FCS info */
	return 0;
}

static int reader_new(const struct rd_mem *mem, struct rd_pcap_reader **out)
{
	struct rd_pcap_reader *r = rd_calloc(mem, 1, sizeof(*r));
	if (r == NULL)
		return RD_ERR_NOMEM;
	r->mem = mem;
	*out = r;
	return 0;
}

int rd_pcap_reader_open(const char *path, const struct rd_mem *mem, struct rd_pcap_reader **out)
{
	struct rd_pcap_reader *r;

	if (path == NULL || out == NULL)
		return RD_ERR_INVAL;
	int rc = reader_new(mem, &r);
	if (rc != 0)
		return rc;
	r->f = fopen(path, "rb");
	if (r->f == NULL) {
		rd_free(mem, r);
		return RD_ERR_STATE;
	}
	rc = reader_start(r);
	if (rc != 0) {
		rd_pcap_reader_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int rd_pcap_reader_open_mem(const void *data, size_t len, const struct rd_mem *mem,
                            struct rd_pcap_reader **out)
{
	struct rd_pcap_reader *r;

	if ((data == NULL && len != 0) || out == NULL)
		return RD_ERR_INVAL;
	int rc = reader_new(mem, &r);
	if (rc != 0)
		return rc;
	r->mem_data = data;
	r->mem_len = len;
	rc = reader_start(r);
	if (rc != 0) {
		rd_pcap_reader_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

int rd_pcap_reader_linktype(const struct rd_pcap_reader *r)
{
	return r->linktype;
}

/* A malformed record: count it and stop reading this file. */
static int refuse(struct rd_pcap_reader *r, uint64_t *counter)
{
	(*counter)++;
	r->eof = true;
	return RD_ERR_PROTO;
}

int rd_pcap_next(struct rd_pcap_reader *r, struct rd_pcap_packet *pkt)
{
	uint8_t rh[REC_HDR];

	if (r == NULL || pkt == NULL)
		return RD_ERR_INVAL;
	if (r->eof)
		return 0;
	size_t got = rd_read(r, rh, sizeof(rh));
	if (r->error)
		return RD_ERR_STATE;
	if (got == 0) {
		r->eof = true;
		return 0;
	}
	if (got != sizeof(rh))
		return refuse(r, &r->st[RD_PCAP_STAT_SHORT_HEADER]);
	uint32_t sec = get32(r, rh), frac = get32(r, rh + 4);
	uint32_t incl = get32(r, rh + 8), orig = get32(r, rh + 12);
	/* A snaplen of 0 in the header is seen in the wild: treat as "no limit"
	 * beyond our own. */
	if (incl > RD_PCAP_SNAPLEN || (r->snaplen != 0 && incl > r->snaplen))
		return refuse(r, &r->st[RD_PCAP_STAT_OVERSIZE]);
	if (incl > orig)
		return refuse(r, &r->st[RD_PCAP_STAT_BAD_LENGTH]);
	if (incl > r->buf_cap) {
		uint8_t *nb = rd_realloc(r->mem, r->buf, incl);
		if (nb == NULL)
			return RD_ERR_NOMEM;
		r->buf = nb;
		r->buf_cap = incl;
	}
	if (rd_read(r, r->buf, incl) != incl)
		return r->error ? RD_ERR_STATE : refuse(r, &r->st[RD_PCAP_STAT_SHORT_RECORD]);
	pkt->data = r->buf;
	pkt->len = incl;
	pkt->orig_len = orig;
	pkt->ts = (rd_time_t)sec * RD_SEC + (r->nsec ? frac : (rd_time_t)frac * RD_USEC);
	pkt->linktype = r->linktype;
	r->st[RD_PCAP_STAT_RECORDS]++;
	return 1;
}

void rd_pcap_reader_stats(const struct rd_pcap_reader *r, uint64_t out[RD_PCAP_STAT_COUNT])
{
	memcpy(out, r->st, sizeof(r->st));
}

const char *rd_pcap_stat_name(int stat)
{
	static const char *const names[RD_PCAP_STAT_COUNT] = {
	    "records", "short_header", "short_record", "oversize", "bad_length",
	};

	return stat >= 0 && stat < RD_PCAP_STAT_COUNT ? names[stat] : "?";
}

void rd_pcap_reader_close(struct rd_pcap_reader *r)
{
	if (r == NULL)
		return;
	if (r->f != NULL)
		fclose(r->f);
	rd_free(r->mem, r->buf);
	rd_free(r->mem, r);
}

int rd_pcap_ip_payload(int linktype, const uint8_t *data, size_t len, const uint8_t **ip,
                       size_t *ip_len)
{
	size_t off;

	if (data == NULL || ip == NULL || ip_len == NULL)
		return RD_ERR_INVAL;
	if (linktype == RD_PCAP_LINKTYPE_RAW) {
		off = 0;
	} else if (linktype == RD_PCAP_LINKTYPE_ETHERNET) {
		if (len < ETH_HDR)
			return RD_ERR_PROTO;
		uint16_t type = rd_get16(data + 12);
		off = ETH_HDR;
		if (type == 0x8100) {
			if (len < ETH_HDR + 4)
				return RD_ERR_PROTO;
			type = rd_get16(data + 16);
			off += 4;
		}
		if (type != 0x0800 && type != 0x86dd)
			return RD_ERR_PROTO;
	} else if (linktype == RD_PCAP_LINKTYPE_LINUX_SLL ||
	           linktype == RD_PCAP_LINKTYPE_LINUX_SLL2) {
		/* The protocol: at 14 of SLL's 16 bytes, at 0 of SLL2's 20. */
		off = linktype == RD_PCAP_LINKTYPE_LINUX_SLL ? 16 : 20;
		if (len < off)
			return RD_ERR_PROTO;
		uint16_t type = rd_get16(data + (linktype == RD_PCAP_LINKTYPE_LINUX_SLL ? 14 : 0));
		if (type != 0x0800 && type != 0x86dd)
			return RD_ERR_PROTO;
	} else if (linktype == RD_PCAP_LINKTYPE_NULL || linktype == RD_PCAP_LINKTYPE_LOOP) {
		if (len < 4)
			return RD_ERR_PROTO;
		/* The family in the writer's byte order: either reads as a small number. */
		uint32_t fam = rd_get32(data);
		if (fam > 0xffff)
			fam = (uint32_t)data[0] | (uint32_t)data[1] << 8;
		if (fam != 2 && fam != 10 && fam != 24 && fam != 28 && fam != 30)
			return RD_ERR_PROTO;
		off = 4;
	} else if (linktype != RD_PCAP_LINKTYPE_IPV4 && linktype != RD_PCAP_LINKTYPE_IPV6) {
		return RD_ERR_PROTO;
	} else {
		off = 0;
	}
	if (len <= off)
		return RD_ERR_PROTO;
	int v = data[off] >> 4;
	if ((v == 4 && len - off < 20) || (v == 6 && len - off < 40) || (v != 4 && v != 6))
		return RD_ERR_PROTO;
	*ip = data + off;
	*ip_len = len - off;
	return 0;
}
