/*
 * Unit test of nfq-firewall's queue-message parser (examples/nfq-firewall
 * nfq.c) over the seed corpus and hand-broken messages: each malformed
 * message is refused with its own reason, and a message with an id but a
 * bad rest still yields the id (so the firewall can drop the packet).
 * Exits 1 on the first failed expectation. Argument: the corpus directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfq.h"

static uint8_t buf[4096];
static int failed;

static size_t load(const char *dir, const char *name)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(1);
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return n;
}

/* The offset of the first attribute of `type` in buf's message of n bytes; exits if none. */
static size_t attr_at(size_t n, uint16_t type)
{
	size_t off = 20; /* netlink header (16) + nfgenmsg (4) */

	while (off + 4 <= n) {
		uint16_t len, t;
		memcpy(&len, buf + off, 2);
		memcpy(&t, buf + off + 2, 2);
		if (t == type)
			return off;
		if (len < 4)
			break;
		off += (len + 3u) & ~3u;
	}
	fprintf(stderr, "no attribute of type %u\n", type);
	exit(1);
}

/* Set the length of the attribute at off. */
static void attr_len(size_t off, uint16_t len)
{
	memcpy(buf + off, &len, 2);
}

static void expect(const char *what, int got, int want)
{
	if (got != want) {
		fprintf(stderr, "FAIL %s: %s, want %s\n", what, nfq_bad_name(got),
		        nfq_bad_name(want));
		failed = 1;
	} else {
		printf("ok %s: %s\n", what, nfq_bad_name(got));
	}
}

int main(int argc, char **argv)
{
	struct nfq_pkt q;
	size_t n;
	int r;

	if (argc != 2)
		return 2;
	n = load(argv[1], "syn");
	expect("syn", nfq_parse(buf, n, &q), NFQ_OK);
	if (q.id != 1 || q.indev != 2 || q.hw_proto != 0x0800 || q.len != 48 || q.has_mark)
		failed = fprintf(stderr, "FAIL syn fields\n") > 0;
	n = load(argv[1], "data-mark");
	expect("data-mark", nfq_parse(buf, n, &q), NFQ_OK);
	if (q.id != 7 || q.queue != 3 || !q.has_mark || q.mark != 0x7e5e7 || q.outdev != 3)
		failed = fprintf(stderr, "FAIL data-mark fields\n") > 0;
	n = load(argv[1], "cut");
	expect("cut", nfq_parse(buf, n, &q), NFQ_OK);
	if (q.cap_len != 1500 || q.len != 60)
		failed = fprintf(stderr, "FAIL cut: cap_len %u len %u\n", q.cap_len, q.len) > 0;
	n = load(argv[1], "no-payload");
	expect("no-payload", nfq_parse(buf, n, &q), NFQ_BAD_NO_PAYLOAD);
	if (!q.has_id || q.id != 4)
		failed = fprintf(stderr, "FAIL no-payload keeps the id\n") > 0;
	n = load(argv[1], "no-id");
	expect("no-id", nfq_parse(buf, n, &q), NFQ_BAD_NO_ID);

	/* Broken by hand from "syn". */
	n = load(argv[1], "syn");
	expect("truncated buffer", nfq_parse(buf, n - 1, &q), NFQ_BAD_SHORT);
	expect("shorter than a header", nfq_parse(buf, 10, &q), NFQ_BAD_SHORT);
	buf[4] ^= 1; /* type: not a packet message */
	expect("wrong type", nfq_parse(buf, n, &q), NFQ_BAD_TYPE);
	buf[4] ^= 1;
	/* The payload attribute (the last) claims 8 more bytes than there are. */
	{
		size_t off = attr_at(n, 10); /* NFQA_PAYLOAD */
		uint16_t len;
		memcpy(&len, buf + off, 2);
		attr_len(off, (uint16_t)(len + 8));
	}
	r = nfq_parse(buf, n, &q);
	expect("attribute overruns", r, NFQ_BAD_ATTR);
	if (!q.has_id)
		failed = fprintf(stderr, "FAIL overrun: the id should still be read\n") > 0;
	/* NFQA_PACKET_HDR (type 1) of 6 bytes, one short of its 7: no id. The
	 * length keeps its 4-byte step, so the walk goes on to the rest. */
	n = load(argv[1], "syn");
	attr_len(attr_at(n, 1), 4 + 6);
	expect("short packet header", nfq_parse(buf, n, &q), NFQ_BAD_ATTR);
	if (q.has_id)
		failed = fprintf(stderr, "FAIL short packet header: no id expected\n") > 0;
	/* NFQA_MARK (type 3) of 3 bytes, one short of its 4: refused, the id
	 * (an attribute before it) still read. */
	n = load(argv[1], "data-mark");
	attr_len(attr_at(n, 3), 4 + 3);
	expect("short mark", nfq_parse(buf, n, &q), NFQ_BAD_ATTR);
	if (!q.has_id || q.id != 7 || q.has_mark)
		failed = fprintf(stderr, "FAIL short mark: id 7 and no mark expected\n") > 0;
	return failed;
}
