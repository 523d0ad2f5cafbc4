/* Shared helpers for the state table tests. */
#ifndef TEST_STATE_HELPERS_H
#define TEST_STATE_HELPERS_H

#include <string.h>

#include "redund/state.h"

/* Deterministic "randomness" for tables under test. */
static inline void test_random(void *user, void *buf, size_t len)
{
	uint64_t *s = user;
	uint8_t *b = buf;
	for (size_t i = 0; i < len; i++) {
		*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
		b[i] = (uint8_t)(*s >> 56);
	}
}

static inline struct rd_state_pkt mkpkt(uint8_t proto, unsigned dir, uint32_t src, uint16_t sport,
                                        uint32_t dst, uint16_t dport)
{
	struct rd_state_pkt p;
	memset(&p, 0, sizeof(p));
	p.af = RD_AF_INET;
	p.proto = proto;
	p.dir = (uint8_t)dir;
	p.src = rd_addr_v4(src);
	p.dst = rd_addr_v4(dst);
	p.sport = sport;
	p.dport = dport;
	p.wscale = -1;
	p.tot_len = 40;
	return p;
}

static inline struct rd_state_pkt mktcp(unsigned dir, uint32_t src, uint16_t sport, uint32_t dst,
                                        uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
                                        uint16_t win, uint32_t len)
{
	struct rd_state_pkt p = mkpkt(6, dir, src, sport, dst, dport);
	p.tcp_flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.win = win;
	p.payload_len = len;
	p.tot_len = 40 + len;
	return p;
}

#endif
