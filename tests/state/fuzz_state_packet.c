/*
 * fuzz-state-packet: arbitrary packet headers into a state table. The input
 * is a sequence of records:
 *   [ctl][len hi][len lo][len bytes]
 * ctl bit 0: direction; bit 1: on NOSTATE, create a state (pass ... keep
 * state); bit 2: sloppy; bit 3: interface-bound; bit 4: NAT; bits 5-7:
 * seconds to advance the clock. The bytes are a raw IPv4/IPv6 packet for
 * rd_state_parse; when the parser refuses them, they are instead copied
 * over a zeroed rd_state_pkt (with a valid address family) so arbitrary
 * header fields reach the tracker too. The table is checked after every
 * record.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = 1;
	struct rd_state_table *t = fuzz_table(&seed, 64);
	rd_time_t now = RD_SEC;
	size_t off = 0;
	while (off + 3 <= size) {
		uint8_t ctl = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		const uint8_t *pk = data + off;
		off += len;
		now += (rd_time_t)(ctl >> 5) * 7 * RD_SEC;

		struct rd_state_pkt p;
		int why;
		if (rd_state_parse(pk, len, ctl & 1, &p, &why) != 0) {
			memset(&p, 0, sizeof(p));
			memcpy(&p, pk, len < sizeof(p) ? len : sizeof(p));
			uint8_t af = (p.af & 1) ? RD_AF_INET6 : RD_AF_INET;
			p.af = af;
			p.src.af = af;
			p.dst.af = af;
			p.inner.src.af = af;
			p.inner.dst.af = af;
			p.dir = ctl & 1;
		}
		p.ifindex &= 3;
		struct rd_state_result res;
		int v = rd_state_packet(t, &p, now, &res);
		if (v < 0)
			abort(); /* the packet was well-formed by construction */
		if (v == RD_STATE_PASS && res.st == NULL)
			abort();
		if (v == RD_STATE_NOSTATE && (ctl & 2)) {
			struct rd_state_opts o = {.rule = RD_STATE_RULE_NONE};
			o.flags = (ctl & 4) ? RD_STATE_F_SLOPPY : 0;
			o.if_bound = (ctl & 8) != 0;
			if (ctl & 16) {
				o.nat = 1;
				o.nsrc = p.src;
				o.nsrc.u.v4[3] ^= 0x55;
				o.ndst = p.dst;
				o.nsport = (uint16_t)(p.sport + 1);
				o.ndport = p.dport;
			}
			struct rd_state *st = NULL;
			int r = rd_state_create(t, &p, &o, now, &st);
			if (r == 0 && st == NULL)
				abort();
		}
		fuzz_check(t, now);
		rd_state_purge(t, now, 16);
	}
	rd_state_table_free(t, now);
	return 0;
}
