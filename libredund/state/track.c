/*
 * Per-packet state tracking: pf_test_state and its helpers
 * (pf_tcp_track_full, pf_tcp_track_sloppy, the UDP/other pseudo-states,
 * ICMP queries and ICMP errors checked against the quoted connection).
 */
#include "state/state_internal.h"

#define PROTO_TCP    6
#define PROTO_UDP    17
#define PROTO_ICMP   1
#define PROTO_ICMPV6 58

/* pf: "Acking not more than one reassembled fragment backwards" etc. */
#define MAXACKWINDOW (0xffff + 1500)
#define TCP_MAXWIN   65535

uint8_t rd_state_first_timeout(uint8_t proto)
{
	switch (proto) {
	case PROTO_TCP:
		return RD_STATE_TM_TCP_FIRST_PACKET;
	case PROTO_UDP:
		return RD_STATE_TM_UDP_FIRST_PACKET;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		return RD_STATE_TM_ICMP_FIRST_PACKET;
	default:
		return RD_STATE_TM_OTHER_FIRST_PACKET;
	}
}

uint8_t rd_state_timeout_class(uint8_t proto, uint8_t src_state, uint8_t dst_state)
{
	uint8_t lo = src_state < dst_state ? src_state : dst_state;
	uint8_t hi = src_state < dst_state ? dst_state : src_state;
	switch (proto) {
	case PROTO_TCP: /* pf_tcp_track_full's choice after each packet */
		if (lo >= RD_TCPS_FIN_WAIT_2)
			return RD_STATE_TM_TCP_CLOSED;
		if (lo >= RD_TCPS_CLOSING)
			return RD_STATE_TM_TCP_FIN_WAIT;
		if (lo < RD_TCPS_ESTABLISHED)
			return RD_STATE_TM_TCP_OPENING;
		if (hi >= RD_TCPS_CLOSING)
			return RD_STATE_TM_TCP_CLOSING;
		return RD_STATE_TM_TCP_ESTABLISHED;
	case PROTO_ICMP:
	case PROTO_ICMPV6: /* pf_test_state_icmp: any matched packet */
		return RD_STATE_TM_ICMP_ERROR_REPLY;
	default:
		break;
	}
	bool multi = src_state == RD_UDPS_MULTIPLE && dst_state == RD_UDPS_MULTIPLE;
	if (proto == PROTO_UDP)
		return multi ? RD_STATE_TM_UDP_MULTIPLE : RD_STATE_TM_UDP_SINGLE;
	return multi ? RD_STATE_TM_OTHER_MULTIPLE : RD_STATE_TM_OTHER_SINGLE;
}

/* pf_get_wscale: the option's shift (capped at 14) with the "seen" flag. */
static uint8_t pkt_wscale(const struct rd_state_pkt *p)
{
	if (p->wscale < 0)
		return 0;
	return (uint8_t)(RD_STATE_WSCALE_FLAG | (p->wscale > 14 ? 14 : p->wscale));
}

/* pf_create_state's per-protocol initialisation. */
void rd_state_init_peers(struct rd_state *st, const struct rd_state_pkt *p)
{
	memset(&st->src, 0, sizeof(st->src));
	memset(&st->dst, 0, sizeof(st->dst));
	switch (p->proto) {
	case PROTO_TCP:
		st->src.seqlo = p->seq;
		st->src.seqhi = p->seq + p->payload_len + 1;
		if (p->tcp_flags & RD_TH_SYN) {
			st->src.seqhi++;
			st->src.wscale = pkt_wscale(p);
		}
		st->src.max_win = p->win > 1 ? p->win : 1;
		if (st->src.wscale & RD_STATE_WSCALE_MASK) {
			/* remove the scale factor from the initial window */
			unsigned sh = st->src.wscale & RD_STATE_WSCALE_MASK;
			uint32_t win = (uint32_t)st->src.max_win + (1u << sh);
			st->src.max_win = (uint16_t)((win - 1) >> sh);
		}
		if (p->tcp_flags & RD_TH_FIN)
			st->src.seqhi++;
		st->dst.seqhi = 1;
		st->dst.max_win = 1;
		st->src.state = RD_TCPS_SYN_SENT;
		st->dst.state = RD_TCPS_CLOSED;
		break;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		break;
	default: /* UDP and other protocols */
		st->src.state = RD_UDPS_SINGLE;
		st->dst.state = RD_UDPS_NO_TRAFFIC;
		break;
	}
}

static void set_peer_state(struct rd_state_table *t, struct rd_state *st, struct rd_state_peer *pe,
                           uint8_t s)
{
	if (pe == &st->src)
		rd_state_set_src_state(t, st, s);
	else
		pe->state = s;
}

/*
 * The handshake completed: pf calls pf_src_connlimit here. Returns true if
 * the source tracker refused the connection (the caller drops).
 */
static bool handshake_done(struct rd_state_table *t, struct rd_state *st, rd_time_t now,
                           struct rd_state_result *res)
{
	res->flags |= RD_STATE_R_ESTABLISHED;
	if (t->cb.established == NULL)
		return false;
	t->busy = st;
	int r = t->cb.established(t->cb.user, st, now);
	t->busy = NULL;
	return r != 0;
}

/* pf_tcp_track_full. Returns a verdict; reason/flags in res. */
/*
 * An accepted segment moves the sender's window edge to its last octet and
 * slides the window of what the other end may send to the acknowledged
 * point plus the advertised (scaled) window.
 */
static void slide_windows(struct rd_state_peer *src, struct rd_state_peer *dst, uint32_t end,
                          uint32_t ack, uint32_t win, unsigned sws)
{
	if (src->max_win < win)
		src->max_win = (uint16_t)win;
	if (SEQ_GT(end, src->seqlo))
		src->seqlo = end;
	uint32_t sw = win << sws;
	if (SEQ_GEQ(ack + sw, dst->seqhi))
		dst->seqhi = ack + (sw > 1 ? sw : 1);
}

/*
 * The end of an accepted TCP packet, full or sloppy tracking alike: a RST
 * puts both peers in TIME_WAIT, then the state is refreshed and its
 * timeout chosen from the peers.
 */
static int tcp_pass(struct rd_state_table *t, struct rd_state *st, uint8_t flags, rd_time_t now)
{
	if (flags & RD_TH_RST) {
		set_peer_state(t, st, &st->src, RD_TCPS_TIME_WAIT);
		set_peer_state(t, st, &st->dst, RD_TCPS_TIME_WAIT);
	}
	st->last = now;
	st->timeout = rd_state_timeout_class(PROTO_TCP, st->src.state, st->dst.state);
	return RD_STATE_PASS;
}

static int tcp_track_full(struct rd_state_table *t, struct rd_state *st,
                          const struct rd_state_pkt *p, rd_time_t now, struct rd_state_result *res)
{
	bool fwd = p->dir == rd_state_dir(st);
	struct rd_state_peer *src = fwd ? &st->src : &st->dst;
	struct rd_state_peer *dst = fwd ? &st->dst : &st->src;
	uint8_t flags = p->tcp_flags;
	uint32_t win = p->win, seq = p->seq, orig_seq = p->seq, ack = p->ack, end, data_end;
	unsigned sws = 0, dws = 0;

	if ((src->wscale & RD_STATE_WSCALE_FLAG) && (dst->wscale & RD_STATE_WSCALE_FLAG) &&
	    !(flags & RD_TH_SYN)) {
		sws = src->wscale & RD_STATE_WSCALE_MASK;
		dws = dst->wscale & RD_STATE_WSCALE_MASK;
	}

	if (src->seqlo == 0) {
		/* first packet from this end: set its sequence state */
		end = seq + p->payload_len;
		if (flags & RD_TH_SYN) {
			end++;
			if (dst->wscale & RD_STATE_WSCALE_FLAG) {
				src->wscale = pkt_wscale(p);
				if (src->wscale & RD_STATE_WSCALE_FLAG) {
					/* remove the scale factor from the initial window */
					sws = src->wscale & RD_STATE_WSCALE_MASK;
					win = (win + (1u << sws) - 1) >> sws;
					dws = dst->wscale & RD_STATE_WSCALE_MASK;
				} else {
					/* the other side scaled alone: undo its scaling */
					uint32_t w = (uint32_t)dst->max_win
					             << (dst->wscale & RD_STATE_WSCALE_MASK);
					dst->max_win = (uint16_t)(w < TCP_MAXWIN ? w : TCP_MAXWIN);
					dst->wscale = 0;
				}
			}
		}
		data_end = end;
		if (flags & RD_TH_FIN)
			end++;
		src->seqlo = seq;
		if (src->state < RD_TCPS_SYN_SENT)
			set_peer_state(t, st, src, RD_TCPS_SYN_SENT);
		/* may need to slide the window (seqhi may be 1 from creation) */
		uint32_t w = (uint32_t)dst->max_win << dws;
		if (src->seqhi == 1 || SEQ_GEQ(end + (w > 1 ? w : 1), src->seqhi))
			src->seqhi = end + (w > 1 ? w : 1);
		if (win > src->max_win)
			src->max_win = (uint16_t)win;
	} else {
		end = seq + p->payload_len;
		if (flags & RD_TH_SYN)
			end++;
		data_end = end;
		if (flags & RD_TH_FIN)
			end++;
	}

	if ((flags & RD_TH_ACK) == 0) {
		/* let it pass through the ack skew check */
		ack = dst->seqlo;
	} else if ((ack == 0 && (flags & (RD_TH_ACK | RD_TH_RST)) == (RD_TH_ACK | RD_TH_RST)) ||
	           dst->state < RD_TCPS_SYN_SENT) {
		/* broken stacks set no ACK number on RST|ACK / before the peer spoke */
		ack = dst->seqlo;
	}

	if (seq == end) {
		/* ease sequencing restrictions on packets without data */
		seq = src->seqlo;
		data_end = end = seq;
	}

	int32_t ackskew = (int32_t)(dst->seqlo - ack);
	uint32_t dwin = (uint32_t)dst->max_win << dws;

	/* RST: exact (+-1) sequence, or RST|ACK acking exactly with seq in the window */
	bool rst_ok =
	    (flags & RD_TH_RST) == 0 || orig_seq == src->seqlo || orig_seq == src->seqlo + 1 ||
	    orig_seq + 1 == src->seqlo ||
	    (SEQ_GEQ(orig_seq, src->seqlo - dwin) && SEQ_LEQ(orig_seq, src->seqlo + 1) &&
	     ackskew == 0 && (flags & (RD_TH_RST | RD_TH_ACK)) == (RD_TH_RST | RD_TH_ACK));

	if (SEQ_GEQ(src->seqhi, data_end) &&    /* last octet inside the other's window */
	    SEQ_GEQ(seq, src->seqlo - dwin) &&  /* retransmit at most one window back */
	    ackskew >= -MAXACKWINDOW &&         /* acks at most one fragment forward */
	    ackskew <= (MAXACKWINDOW << sws) && /* acks at most one window back */
	    rst_ok) {                           /* RST only at the exact sequence */
		slide_windows(src, dst, end, ack, win, sws);
		if ((flags & RD_TH_SYN) && src->state < RD_TCPS_SYN_SENT)
			set_peer_state(t, st, src, RD_TCPS_SYN_SENT);
		if ((flags & RD_TH_FIN) && src->state < RD_TCPS_CLOSING)
			set_peer_state(t, st, src, RD_TCPS_CLOSING);
		if (flags & RD_TH_ACK) {
			if (dst->state == RD_TCPS_SYN_SENT) {
				set_peer_state(t, st, dst, RD_TCPS_ESTABLISHED);
				if (src->state == RD_TCPS_ESTABLISHED &&
				    handshake_done(t, st, now, res)) {
					res->reason = RD_STATE_RES_SRCLIMIT;
					return RD_STATE_DROP;
				}
			} else if (dst->state == RD_TCPS_CLOSING) {
				set_peer_state(t, st, dst, RD_TCPS_FIN_WAIT_2);
			}
		}
		return tcp_pass(t, st, flags, now);
	}

	if ((dst->state < RD_TCPS_SYN_SENT || dst->state >= RD_TCPS_FIN_WAIT_2 ||
	     src->state >= RD_TCPS_FIN_WAIT_2) &&
	    SEQ_GEQ(src->seqhi + MAXACKWINDOW, data_end) &&
	    SEQ_GEQ(seq, src->seqlo - MAXACKWINDOW)) {
		/*
		 * pf's loose fallback: shotgunned SYNs, streams picked up after
		 * a flush, stacks spewing after close. Windows and FIN/RST move,
		 * the expiry does not.
		 */
		slide_windows(src, dst, end, ack, win, sws);
		if ((flags & RD_TH_FIN) && src->state < RD_TCPS_CLOSING)
			set_peer_state(t, st, src, RD_TCPS_CLOSING);
		if (flags & RD_TH_RST) {
			set_peer_state(t, st, &st->src, RD_TCPS_TIME_WAIT);
			set_peer_state(t, st, &st->dst, RD_TCPS_TIME_WAIT);
		}
		res->flags |= RD_STATE_R_LOOSE;
		return RD_STATE_PASS;
	}

	if (st->dst.state == RD_TCPS_SYN_SENT && st->src.state == RD_TCPS_SYN_SENT) {
		/* mismatch during a simultaneous open: pf RSTs and restarts this side */
		if (!(flags & RD_TH_RST))
			res->flags |= RD_STATE_R_SYN_RESET;
		src->seqlo = 0;
		src->seqhi = 1;
		src->max_win = 1;
	}
	res->reason = RD_STATE_RES_BADSTATE;
	return RD_STATE_DROP;
}

/* pf_tcp_track_sloppy: flags only, no sequence checks. */
static int tcp_track_sloppy(struct rd_state_table *t, struct rd_state *st,
                            const struct rd_state_pkt *p, rd_time_t now,
                            struct rd_state_result *res)
{
	bool fwd = p->dir == rd_state_dir(st);
	struct rd_state_peer *src = fwd ? &st->src : &st->dst;
	struct rd_state_peer *dst = fwd ? &st->dst : &st->src;
	uint8_t flags = p->tcp_flags;

	if ((flags & RD_TH_SYN) && src->state < RD_TCPS_SYN_SENT)
		set_peer_state(t, st, src, RD_TCPS_SYN_SENT);
	if ((flags & RD_TH_FIN) && src->state < RD_TCPS_CLOSING)
		set_peer_state(t, st, src, RD_TCPS_CLOSING);
	if (flags & RD_TH_ACK) {
		if (dst->state == RD_TCPS_SYN_SENT) {
			set_peer_state(t, st, dst, RD_TCPS_ESTABLISHED);
			if (src->state == RD_TCPS_ESTABLISHED && handshake_done(t, st, now, res)) {
				res->reason = RD_STATE_RES_SRCLIMIT;
				return RD_STATE_DROP;
			}
		} else if (dst->state == RD_TCPS_CLOSING) {
			set_peer_state(t, st, dst, RD_TCPS_FIN_WAIT_2);
		} else if (src->state == RD_TCPS_SYN_SENT && dst->state < RD_TCPS_SYN_SENT) {
			/* one half of the connection seen: an ACK after the SYN establishes */
			set_peer_state(t, st, dst, RD_TCPS_ESTABLISHED);
			set_peer_state(t, st, src, RD_TCPS_ESTABLISHED);
			if (handshake_done(t, st, now, res)) {
				res->reason = RD_STATE_RES_SRCLIMIT;
				return RD_STATE_DROP;
			}
		} else if (src->state == RD_TCPS_CLOSING && dst->state == RD_TCPS_ESTABLISHED &&
		           dst->seqlo == 0) {
			/* half-connection close without the full FIN/ACK exchange */
			set_peer_state(t, st, dst, RD_TCPS_CLOSING);
		}
	}
	return tcp_pass(t, st, flags, now);
}

/* UDP and other protocols: single / multiple. */
static int track_pseudo(struct rd_state_table *t, struct rd_state *st, const struct rd_state_pkt *p,
                        rd_time_t now)
{
	bool fwd = p->dir == rd_state_dir(st);
	struct rd_state_peer *src = fwd ? &st->src : &st->dst;
	struct rd_state_peer *dst = fwd ? &st->dst : &st->src;
	if (src->state < RD_UDPS_SINGLE)
		set_peer_state(t, st, src, RD_UDPS_SINGLE);
	if (dst->state == RD_UDPS_SINGLE)
		set_peer_state(t, st, dst, RD_UDPS_MULTIPLE);
	st->last = now;
	st->timeout = rd_state_timeout_class(p->proto, src->state, dst->state);
	return RD_STATE_PASS;
}

int rd_state_track(struct rd_state_table *t, struct rd_state *st, const struct rd_state_pkt *p,
                   rd_time_t now, struct rd_state_result *res)
{
	switch (p->proto) {
	case PROTO_TCP:
		if ((p->tcp_flags & (RD_TH_SYN | RD_TH_ACK)) == RD_TH_SYN) {
			const struct rd_state_peer *a = &st->src, *b = &st->dst;
			if (a->state >= RD_TCPS_ESTABLISHED && b->state >= RD_TCPS_ESTABLISHED &&
			    !(a->state >= RD_TCPS_FIN_WAIT_2 && b->state >= RD_TCPS_FIN_WAIT_2)) {
				/* SYN into an established connection: RFC 5961 challenge */
				res->flags |= RD_STATE_R_CHALLENGE;
				res->reason = RD_STATE_RES_MATCH;
				return RD_STATE_DROP;
			}
		}
		if (st->flags & RD_STATE_F_SLOPPY)
			return tcp_track_sloppy(t, st, p, now, res);
		return tcp_track_full(t, st, p, now, res);
	case PROTO_ICMP:
	case PROTO_ICMPV6: {
		/* a request must travel the state's way, a reply the other (pf) */
		uint8_t qtype;
		bool reply;
		if (!(st->flags & RD_STATE_F_SLOPPY) &&
		    rd_state_icmp_query(p->af, p->icmp_type, &qtype, &reply) &&
		    (p->dir == rd_state_dir(st)) == reply) {
			res->reason = RD_STATE_RES_MATCH;
			return RD_STATE_DROP;
		}
		st->last = now;
		st->timeout = rd_state_timeout_class(p->proto, st->src.state, st->dst.state);
		return RD_STATE_PASS;
	}
	default:
		return track_pseudo(t, st, p, now);
	}
}

static void count_packet(struct rd_state *st, const struct rd_state_pkt *p)
{
	unsigned i = p->dir == rd_state_dir(st) ? 0 : 1;
	st->packets[i]++;
	st->bytes[i] += p->tot_len;
}

/*
 * An ICMP error quoting a packet of ours: find the quoted connection's
 * state (the quote travelled the other way), and for TCP check the quoted
 * sequence number against the window (pf_test_state_icmp).
 */
static int icmp_error(struct rd_state_table *t, const struct rd_state_pkt *p, rd_time_t now,
                      struct rd_state_result *res)
{
	struct rd_state_pkt q;
	memset(&q, 0, sizeof(q));
	q.af = p->af;
	q.proto = p->inner.proto;
	q.src = p->inner.src;
	q.dst = p->inner.dst;
	q.dir = p->dir == RD_STATE_IN ? RD_STATE_OUT : RD_STATE_IN;
	q.rdomain = p->rdomain;
	bool quoted_icmp = (p->af == RD_AF_INET && q.proto == PROTO_ICMP) ||
	                   (p->af == RD_AF_INET6 && q.proto == PROTO_ICMPV6);
	uint8_t qtype;
	bool qreply = false;
	if (q.proto == PROTO_TCP || q.proto == PROTO_UDP) {
		q.sport = p->inner.sport;
		q.dport = p->inner.dport;
	} else if (quoted_icmp) {
		/*
		 * pf matches an error quoting an ICMP query (traceroute -I,
		 * a ping's "TTL exceeded") against the query's state; the
		 * quote carries the id in inner.sport and the type in
		 * inner.dport. An error quoting an error has no state.
		 */
		if (p->inner.dport > 0xff ||
		    !rd_state_icmp_query(p->af, (uint8_t)p->inner.dport, &qtype, &qreply))
			return RD_STATE_NOSTATE;
		q.icmp_type = (uint8_t)p->inner.dport;
		q.icmp_id = p->inner.sport;
	}
	struct rd_state_key k;
	if (q.src.af != p->af || q.dst.af != p->af || rd_state_key_from_pkt(&q, &k) != 0)
		return RD_STATE_NOSTATE;
	if (memcmp(p->dst.u.v6, q.src.u.v6, rd_af_len(p->af)) != 0) {
		/* the error must go back to the quoted packet's sender */
		res->reason = RD_STATE_RES_BADSTATE;
		t->stats[RD_STATE_STAT_RES(RD_STATE_RES_BADSTATE)]++;
		return RD_STATE_DROP;
	}
	/* the key is built as the quote's direction; look it up as the error's */
	struct rd_state *st = rd_state_find_live(t, &k, p->dir, p->ifindex, now);
	if (st == NULL)
		return RD_STATE_NOSTATE;
	res->st = st;
	res->flags |= RD_STATE_R_ICMP_ERR;
	if (quoted_icmp && !(st->flags & RD_STATE_F_SLOPPY) &&
	    (q.dir == rd_state_dir(st)) == qreply) {
		/* the quoted request must have travelled the state's way (pf) */
		res->reason = RD_STATE_RES_MATCH;
		return RD_STATE_DROP;
	}
	if (q.proto == PROTO_TCP && !(st->flags & RD_STATE_F_SLOPPY)) {
		bool fwd = q.dir == rd_state_dir(st);
		const struct rd_state_peer *src = fwd ? &st->src : &st->dst;
		const struct rd_state_peer *dst = fwd ? &st->dst : &st->src;
		unsigned dws = 0;
		if ((src->wscale & RD_STATE_WSCALE_FLAG) && (dst->wscale & RD_STATE_WSCALE_FLAG))
			dws = dst->wscale & RD_STATE_WSCALE_MASK;
		uint32_t seq = p->inner.seq;
		if (!SEQ_GEQ(src->seqhi, seq) ||
		    !SEQ_GEQ(seq, src->seqlo - ((uint32_t)dst->max_win << dws))) {
			res->reason = RD_STATE_RES_BADSTATE;
			t->stats[RD_STATE_STAT_RES(RD_STATE_RES_BADSTATE)]++;
			return RD_STATE_DROP;
		}
	}
	count_packet(st, p);
	if (t->cb.event != NULL)
		t->cb.event(t->cb.user, st, RD_STATE_EV_UPDATE, 0, now);
	return RD_STATE_PASS;
}

int rd_state_packet(struct rd_state_table *t, const struct rd_state_pkt *p, rd_time_t now,
                    struct rd_state_result *res)
{
	struct rd_state_result dummy;
	struct rd_state_key key;
	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (p == NULL || p->dir > RD_STATE_OUT || rd_state_key_from_pkt(p, &key) != 0)
		return RD_ERR_INVAL;
	t->stats[RD_STATE_STAT_SEARCH]++;
	if (p->icmp_err && (p->proto == PROTO_ICMP || p->proto == PROTO_ICMPV6))
		return icmp_error(t, p, now, res);

	struct rd_state *st = rd_state_find_live(t, &key, p->dir, p->ifindex, now);
	if (st == NULL)
		return RD_STATE_NOSTATE;

	if (p->proto == PROTO_TCP && (p->tcp_flags & (RD_TH_SYN | RD_TH_ACK)) == RD_TH_SYN &&
	    st->src.state >= RD_TCPS_FIN_WAIT_2 && st->dst.state >= RD_TCPS_FIN_WAIT_2) {
		/* pf's state reuse: the old connection is gone, let the rules decide */
		rd_state_remove_why(t, st, RD_STATE_RM_REUSED, now);
		res->flags |= RD_STATE_R_REUSED;
		return RD_STATE_NOSTATE;
	}

	res->st = st;
	int v = rd_state_track(t, st, p, now, res);
	if (v == RD_STATE_DROP) {
		if (res->reason != RD_STATE_RES_MATCH)
			t->stats[RD_STATE_STAT_RES(res->reason)]++;
		if (res->reason == RD_STATE_RES_SRCLIMIT) {
			/* the source tracker refused the connection: pf kills the state */
			rd_state_remove_why(t, st, RD_STATE_RM_SRCLIMIT, now);
			res->st = NULL;
		}
		return v;
	}
	count_packet(st, p);
	if (t->cb.event != NULL)
		t->cb.event(t->cb.user, st, RD_STATE_EV_UPDATE, 0, now);
	return v;
}
