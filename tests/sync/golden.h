/*
 * Golden pfsync v6 messages written out byte by byte from the layout in
 * docs/research/pfsync.md (sections 1.2-1.4), not produced by the encoder.
 */
#ifndef RD_TEST_SYNC_GOLDEN_H
#define RD_TEST_SYNC_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

/* struct pfsync_state, 264 bytes: a TCP state, IPv4, PF_OUT, NATed. */
static const uint8_t golden_state[264] = {
    /* 0 id */
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x07,
    0x08,
    /* 8 ifname "em0" */
    'e',
    'm',
    '0',
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    /* 24 key[0]: addr[0] 10.0.0.1, addr[1] 192.168.1.2 */
    0x0a,
    0x00,
    0x00,
    0x01,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0xc0,
    0xa8,
    0x01,
    0x02,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    /* 56 port[0] 8080, port[1] 54321, rdomain 0, af 2, pad */
    0x1f,
    0x90,
    0xd4,
    0x31,
    0x00,
    0x00,
    0x02,
    0x00,
    /* 64 key[1]: addr[0] 10.0.0.1, addr[1] 203.0.113.5 */
    0x0a,
    0x00,
    0x00,
    0x01,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0xcb,
    0x00,
    0x71,
    0x05,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    /* 96 port[0] 8080, port[1] 40000, rdomain 3, af 2, pad */
    0x1f,
    0x90,
    0x9c,
    0x40,
    0x00,
    0x03,
    0x02,
    0x00,
    /* 104 src: scrub {flags 0x0001, ttl 64, VALID, ts_mod 42} */
    0x00,
    0x01,
    0x40,
    0x01,
    0x00,
    0x00,
    0x00,
    0x2a,
    /* 112 seqlo, seqhi, seqdiff */
    0x11,
    0x22,
    0x33,
    0x44,
    0x11,
    0x22,
    0xff,
    0xff,
    0x00,
    0x00,
    0x00,
    0x07,
    /* 124 max_win 65535, mss 1460, state ESTABLISHED, wscale 7, pad */
    0xff,
    0xff,
    0x05,
    0xb4,
    0x04,
    0x07,
    0,
    0,
    0,
    0,
    0,
    0,
    /* 136 dst: scrub zero */
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    /* 144 seqlo, seqhi, seqdiff */
    0xaa,
    0xbb,
    0xcc,
    0xdd,
    0xaa,
    0xbc,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    /* 156 max_win 32768, mss 1440, state FIN_WAIT_2, wscale 2, pad */
    0x80,
    0x00,
    0x05,
    0xa0,
    0x09,
    0x02,
    0,
    0,
    0,
    0,
    0,
    0,
    /* 168 rt_addr 0 */
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    /* 184 rule 5, anchor -1, nat_rule -1 */
    0x00,
    0x00,
    0x00,
    0x05,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    /* 196 creation 60 s, expire 86400 s */
    0x00,
    0x00,
    0x00,
    0x3c,
    0x00,
    0x01,
    0x51,
    0x80,
    /* 204 packets[0] {hi 1, lo 2}, packets[1] 16 */
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x02,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x10,
    /* 220 bytes[0] 65536, bytes[1] {hi 2, lo 0} */
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x02,
    0x00,
    0x00,
    0x00,
    0x00,
    /* 236 creatorid */
    0xde,
    0xad,
    0xbe,
    0xef,
    /* 240 rtableid[0] 0, rtableid[1] 1 */
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x01,
    /* 248 max_mss 1460 */
    0x05,
    0xb4,
    /* 250 af 2, proto 6, direction OUT, log 0, rt 0, timeout
     * TCP_ESTABLISHED, sync_flags SRCNODE, updates 0, min_ttl 0, set_tos 0 */
    0x02,
    0x06,
    0x02,
    0x00,
    0x00,
    0x02,
    0x04,
    0x00,
    0x00,
    0x00,
    /* 260 state_flags PFSTATE_ACK, set_prio {3, 4} */
    0x00,
    0x10,
    0x03,
    0x04,
};

/* struct pfsync_upd_c, 84 bytes. */
static const uint8_t golden_upd_c[84] = {
    /* 0 id */
    0x00,
    0x00,
    0x00,
    0x00,
    0x65,
    0x43,
    0x21,
    0x00,
    /* 8 src: scrub zero, seqlo 1000, seqhi 2000, seqdiff 0 */
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0x00,
    0x00,
    0x03,
    0xe8,
    0x00,
    0x00,
    0x07,
    0xd0,
    0x00,
    0x00,
    0x00,
    0x00,
    /* 28 max_win 512, mss 0, state SYN_SENT, wscale 0, pad */
    0x02,
    0x00,
    0x00,
    0x00,
    0x02,
    0x00,
    0,
    0,
    0,
    0,
    0,
    0,
    /* 40 dst: scrub zero, seqlo 5, seqhi 6, seqdiff 0 */
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0x00,
    0x00,
    0x00,
    0x05,
    0x00,
    0x00,
    0x00,
    0x06,
    0x00,
    0x00,
    0x00,
    0x00,
    /* 60 max_win 0, mss 0, state CLOSED, wscale 0, pad */
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0x00,
    0,
    0,
    0,
    0,
    0,
    0,
    /* 72 creatorid, expire 0 */
    0x0a,
    0x0b,
    0x0c,
    0x0d,
    0x00,
    0x00,
    0x00,
    0x00,
    /* 80 timeout TCP_OPENING, state_flags 0, pad */
    0x01,
    0x00,
    0x00,
    0x00,
};

/*
 * Golden packets: the framing as OpenBSD's if_pfsync.h lays it out, around
 * the golden messages above with single fields changed at their offsets in
 * OpenBSD's structs. Each writes into p and returns the bytes written.
 */

/* struct pfsync_header: version 6, _pad, len (network order), pfcksum 0. */
static inline size_t golden_header(uint8_t *p, uint16_t len)
{
	for (int i = 0; i < 20; i++)
		p[i] = 0;
	p[0] = 6;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	return 20;
}

/* struct pfsync_subheader: action, len in 4-byte words, count (network order). */
static inline size_t golden_subheader(uint8_t *p, uint8_t action, size_t mlen, uint16_t count)
{
	p[0] = action;
	p[1] = (uint8_t)(mlen >> 2);
	p[2] = (uint8_t)(count >> 8);
	p[3] = (uint8_t)count;
	return 4;
}

/* golden_upd_c with id's low byte (offset 7), creatorid (72) and timeout (80) set. */
static inline size_t golden_upd_c_as(uint8_t *p, uint8_t id_low, uint32_t creatorid,
                                     uint8_t timeout)
{
	for (int i = 0; i < 84; i++)
		p[i] = golden_upd_c[i];
	p[7] = id_low;
	p[72] = (uint8_t)(creatorid >> 24);
	p[73] = (uint8_t)(creatorid >> 16);
	p[74] = (uint8_t)(creatorid >> 8);
	p[75] = (uint8_t)creatorid;
	p[80] = timeout;
	return 84;
}

/* golden_state with id's low byte (offset 7) and the af bytes of key[0] (62), key[1] (102). */
static inline size_t golden_state_as(uint8_t *p, uint8_t id_low, uint8_t key0_af, uint8_t key1_af)
{
	for (int i = 0; i < 264; i++)
		p[i] = golden_state[i];
	p[7] = id_low;
	p[24 + 38] = key0_af;
	p[64 + 38] = key1_af;
	return 264;
}

/* struct pfsync_del_c / pfsync_ins_ack (12 bytes): id 8, creatorid 4. */
static inline size_t golden_ref(uint8_t *p, uint64_t id, uint32_t creatorid)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(id >> (56 - 8 * i));
	p[8] = (uint8_t)(creatorid >> 24);
	p[9] = (uint8_t)(creatorid >> 16);
	p[10] = (uint8_t)(creatorid >> 8);
	p[11] = (uint8_t)creatorid;
	return 12;
}

#define GOLDEN_PFTM_PURGE    21 /* pfvar.h: after PFTM_MAX 20 */
#define GOLDEN_PFTM_UNLINKED 22

/*
 * One UPD_C section of three: ids ..01 and ..03 good (TCP_OPENING), ..02
 * with `bad_timeout` (PFTM_PURGE or PFTM_UNLINKED, as an OpenBSD peer sends
 * for a state it is removing). 20 + 4 + 3 x 84 = 276 bytes; the bad message
 * starts at byte 108.
 */
static inline size_t golden_pkt_upd_c_among_good(uint8_t *p, uint8_t bad_timeout)
{
	size_t n = golden_header(p, 276);
	n += golden_subheader(p + n, 4 /* UPD_C */, 84, 3);
	n += golden_upd_c_as(p + n, 0x01, 0x0a0b0c0d, 1);
	n += golden_upd_c_as(p + n, 0x02, 0x0a0b0c0d, bad_timeout);
	n += golden_upd_c_as(p + n, 0x03, 0x0a0b0c0d, 1);
	return n;
}

#endif
