/*
 * fuzz-state-ops: operation sequences on a state table. Each op is one
 * byte of opcode followed by its argument bytes (missing bytes read as 0):
 * create / packet / lookup / time passes / expire / kill / remove by id /
 * export+import / set a timeout / set the limit / configure a rule / move a
 * state to another rule. Tuples
 * come from a small space so keys collide. The table is checked after
 * every op.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cursor {
	const uint8_t *d;
	size_t n, i;
};

static uint8_t byte(struct cursor *c)
{
	return c->i < c->n ? c->d[c->i++] : 0;
}

static struct rd_state_pkt pkt_from(struct cursor *c)
{
	static const uint8_t protos[] = {6, 17, 1, 58, 47, 6, 6, 132};
	uint8_t a = byte(c), b = byte(c), f = byte(c);
	uint8_t proto = protos[a & 7];
	struct rd_state_pkt p =
	    mkpkt(proto, (a >> 3) & 1, 0x0a000001u + ((a >> 4) & 3), (uint16_t)(b & 3),
	          0x0a000001u + ((b >> 2) & 3), (uint16_t)((b >> 4) & 3));
	if (a & 0x40) { /* IPv6 */
		p.af = RD_AF_INET6;
		p.src.af = p.dst.af = RD_AF_INET6;
		p.src.u.v6[15] = p.src.u.v4[3];
		p.dst.u.v6[15] = p.dst.u.v4[3];
		memset(p.src.u.v6, 0x20, 4);
		memset(p.dst.u.v6, 0x20, 4);
	}
	p.tcp_flags = f;
	p.seq = (uint32_t)byte(c) << 24 | (uint32_t)byte(c) << 8;
	p.ack = (uint32_t)byte(c) << 24 | (uint32_t)byte(c) << 8;
	p.win = (uint16_t)(byte(c) << 8 | byte(c));
	uint8_t w = byte(c);
	p.wscale = (int8_t)(w & 0x80 ? -1 : (w & 0x1f));
	p.payload_len = (uint32_t)byte(c) * 16;
	p.icmp_type = byte(c);
	p.icmp_id = byte(c) & 1;
	p.ifindex = byte(c) & 3;
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = 2;
	struct rd_state_table *t = fuzz_table(&seed, 32);
	struct rd_state_table *peer = fuzz_table(&seed, 32);
	struct cursor c = {data, size, 0};
	rd_time_t now = RD_SEC;
	while (c.i < c.n) {
		uint8_t op = byte(&c);
		switch (op % 11) {
		case 0: {
			struct rd_state_pkt p = pkt_from(&c);
			uint8_t o8 = byte(&c);
			struct rd_state_opts o = {.rule = o8 & 3};
			o.flags = (o8 & 4) ? RD_STATE_F_SLOPPY : 0;
			o.if_bound = (o8 & 8) != 0;
			if (o8 & 16) {
				o.nat = 1;
				o.nsrc = p.src;
				o.ndst = p.dst;
				o.nsport = (uint16_t)(p.sport + 7);
				o.ndport = p.dport;
			}
			rd_state_create(t, &p, &o, now, NULL);
			break;
		}
		case 1:
		case 2: {
			struct rd_state_pkt p = pkt_from(&c);
			struct rd_state_result res;
			if (rd_state_packet(t, &p, now, &res) < 0)
				abort();
			break;
		}
		case 3: {
			struct rd_state_pkt p = pkt_from(&c);
			struct rd_state_key k;
			if (rd_state_key_from_pkt(&p, &k) != 0)
				abort();
			rd_state_lookup(t, &k, p.dir, p.ifindex, now);
			break;
		}
		case 4:
			now += (rd_time_t)byte(&c) * RD_SEC / 2;
			break;
		case 5:
			rd_state_purge(t, now, byte(&c));
			break;
		case 6: {
			uint8_t a = byte(&c);
			struct rd_state_filter f = {0};
			f.fields = (uint32_t)(a & 0x7f) | ((a & 0x80) ? RD_STATE_FLT_RDOMAIN : 0);
			f.af = RD_AF_INET;
			f.proto = byte(&c) & 1 ? 6 : 17;
			f.src = rd_addr_v4(0x0a000000u | byte(&c));
			f.src_plen = byte(&c);
			f.dst = rd_addr_v4(0x0a000000u | byte(&c));
			f.dst_plen = byte(&c);
			f.sport = byte(&c) & 3;
			f.dport = byte(&c) & 3;
			f.rule = byte(&c) & 3;
			rd_state_kill(t, &f, now);
			break;
		}
		case 7: {
			struct rd_state_iter it;
			struct rd_state *st;
			unsigned k = byte(&c);
			rd_state_iter_init(&it);
			while ((st = rd_state_iter_next(t, &it)) != NULL && k-- > 0)
				;
			if (st != NULL)
				rd_state_remove(t, st, now);
			break;
		}
		case 8: { /* sync: export one state to the peer and back with changes */
			struct rd_state_iter it;
			struct rd_state *st;
			unsigned k = byte(&c);
			rd_state_iter_init(&it);
			while ((st = rd_state_iter_next(t, &it)) != NULL && k-- > 0)
				;
			if (st != NULL) {
				struct rd_state_info info;
				rd_state_export(t, st, now, &info);
				info.expire_in = byte(&c);
				info.timeout = byte(&c) % (RD_STATE_TM_COUNT + 2);
				info.src.state = byte(&c) & 15;
				rd_state_import(peer, &info, now, NULL);
				info.id += byte(&c) & 1;
				rd_state_import(t, &info, now, NULL);
			}
			break;
		}
		case 9:
			rd_state_set_timeout(t, byte(&c) % (RD_STATE_TM_COUNT + 1), byte(&c));
			break;
		case 10: {
			uint8_t a = byte(&c);
			if (a & 0x80) {
				rd_state_set_limit(t, a & 0x3f);
			} else if (a & 0x40) {
				struct rd_state_iter it;
				rd_state_iter_init(&it);
				struct rd_state *st = rd_state_iter_next(t, &it);
				if (st != NULL)
					rd_state_set_rule(t, st,
					                  (a & 8) ? RD_STATE_RULE_NONE : a & 3);
			} else {
				struct rd_state_rule_config r = {.max_states = byte(&c) & 7};
				r.timeouts[byte(&c) % RD_STATE_TM_COUNT] = byte(&c);
				rd_state_rule_set(t, a & 3, (a & 4) ? NULL : &r);
			}
			break;
		}
		}
		fuzz_check(t, now);
		fuzz_check(peer, now);
	}
	rd_state_table_free(t, now);
	rd_state_table_free(peer, now);
	return 0;
}
