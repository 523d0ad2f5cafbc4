/*
 * redundctl decode pfsync FILE [--key KEYFILE] [--port N]: decode captured
 * pfsync packets (raw, IP protocol 240) and secure envelopes (UDP, port
 * 8240 unless --port) into one JSON object a message. A message refused
 * for a value is named on stderr with its reason and byte offset, the rest
 * of its packet printed; a packet refused for its framing prints nothing.
 *
 * redundctl sync genkey FILE [--keyid N] [--aead NAME]: write a new pre-shared key file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "redund/pcap.h"
#include "redund/pfsync.h"
#include "redund/sync.h"
#include "redundctl.h"

/* ---- JSON output ----------------------------------------------------- */

/* A string field of at most max bytes, as every JSON string of the daemons (daemon.h). */
static void json_str(const char *s, size_t max)
{
	struct dm_buf b = {0};

	dm_buf_json_strn(&b, s, max);
	if (b.oom)
		fputs("null", stdout);
	else
		fwrite(b.p, 1, b.len, stdout);
	free(b.p);
}

static void json_addr(const struct rd_addr *a)
{
	char buf[RD_ADDR_STRLEN];

	if (a->af != RD_AF_INET && a->af != RD_AF_INET6) {
		printf("null");
		return;
	}
	printf("\"%s\"", rd_addr_format(a, buf, sizeof(buf)));
}

static void json_peer(const char *name, const struct rd_pfsync_peer *p)
{
	printf(",\"%s\":{\"scrub\":{\"flags\":%u,\"ttl\":%u,\"scrub_flag\":%u,\"ts_mod\":%u},"
	       "\"seqlo\":%u,\"seqhi\":%u,\"seqdiff\":%u,\"max_win\":%u,\"mss\":%u,"
	       "\"state\":%u,\"wscale\":%u}",
	       name, p->scrub.flags, p->scrub.ttl, p->scrub.scrub_flag, p->scrub.ts_mod, p->seqlo,
	       p->seqhi, p->seqdiff, p->max_win, p->mss, p->state, p->wscale);
}

static void json_key(const struct rd_pfsync_key *k)
{
	printf("{\"addr\":[");
	json_addr(&k->addr[0]);
	putchar(',');
	json_addr(&k->addr[1]);
	printf("],\"port\":[%u,%u],\"rdomain\":%u,\"af\":\"%s\"}", k->port[0], k->port[1],
	       k->rdomain, dm_af_name(k->af));
}

static void json_state(const struct rd_pfsync_state *s)
{
	printf(",\"id\":\"%016llx\",\"creatorid\":\"%08x\",\"ifname\":", (unsigned long long)s->id,
	       s->creatorid);
	json_str(s->ifname, RD_PFSYNC_IFNAMSIZ);
	printf(",\"key\":[");
	json_key(&s->key[0]);
	putchar(',');
	json_key(&s->key[1]);
	putchar(']');
	json_peer("src", &s->src);
	json_peer("dst", &s->dst);
	printf(",\"rt_addr\":");
	json_addr(&s->rt_addr);
	printf(",\"rule\":%d,\"anchor\":%d,\"nat_rule\":%d,\"creation\":%u,\"expire\":%u,"
	       "\"packets\":[%llu,%llu],\"bytes\":[%llu,%llu],\"rtableid\":[%d,%d],"
	       "\"max_mss\":%u,\"af\":\"%s\",\"proto\":%u,\"direction\":%u,\"log\":%u,\"rt\":%u,"
	       "\"timeout\":%u,\"sync_flags\":%u,\"updates\":%u,\"min_ttl\":%u,\"set_tos\":%u,"
	       "\"state_flags\":%u,\"set_prio\":[%u,%u]",
	       s->rule, s->anchor, s->nat_rule, s->creation, s->expire,
	       (unsigned long long)s->packets[0], (unsigned long long)s->packets[1],
	       (unsigned long long)s->bytes[0], (unsigned long long)s->bytes[1], s->rtableid[0],
	       s->rtableid[1], s->max_mss, dm_af_name(s->af), s->proto, s->direction, s->log, s->rt,
	       s->timeout, s->sync_flags, s->updates, s->min_ttl, s->set_tos, s->state_flags,
	       s->set_prio[0], s->set_prio[1]);
}

/* Where a message came from, printed first in each object. */
struct origin {
	unsigned long packet;
	const struct rd_sync_env_hdr *env; /* NULL for raw pfsync */
};

static void json_origin(const struct origin *o)
{
	printf("{\"packet\":%lu", o->packet);
	if (o->env != NULL)
		printf(",\"envelope\":\"%s\",\"key_id\":%u,\"sender\":\"%08x\",\"seq\":%llu",
		       rd_sync_env_type_name(o->env->type), o->env->key_id, o->env->sender,
		       (unsigned long long)o->env->seq);
}

static int print_msg(void *user, const struct rd_pfsync_msg *m)
{
	const struct origin *o = user;

	json_origin(o);
	printf(",\"action\":\"%s\"", rd_pfsync_action_name(m->action));
	switch (m->action) {
	case RD_PFSYNC_ACT_CLR:
		printf(",\"ifname\":");
		json_str(m->u.clr.ifname, RD_PFSYNC_IFNAMSIZ);
		printf(",\"creatorid\":\"%08x\"", m->u.clr.creatorid);
		break;
	case RD_PFSYNC_ACT_INS_ACK:
	case RD_PFSYNC_ACT_UPD_REQ:
	case RD_PFSYNC_ACT_DEL_C:
		printf(",\"id\":\"%016llx\",\"creatorid\":\"%08x\"",
		       (unsigned long long)m->u.ref.id, m->u.ref.creatorid);
		break;
	case RD_PFSYNC_ACT_UPD_C:
		printf(",\"id\":\"%016llx\"", (unsigned long long)m->u.upd_c.id);
		json_peer("src", &m->u.upd_c.src);
		json_peer("dst", &m->u.upd_c.dst);
		printf(",\"creatorid\":\"%08x\",\"expire\":%u,\"timeout\":%u,\"state_flags\":%u",
		       m->u.upd_c.creatorid, m->u.upd_c.expire, m->u.upd_c.timeout,
		       m->u.upd_c.state_flags);
		break;
	case RD_PFSYNC_ACT_BUS:
		printf(",\"creatorid\":\"%08x\",\"endtime\":%u,\"status\":\"%s\"",
		       m->u.bus.creatorid, m->u.bus.endtime,
		       m->u.bus.status == RD_PFSYNC_BUS_START ? "start" : "end");
		break;
	case RD_PFSYNC_ACT_TDB:
		printf(",\"spi\":\"%08x\",\"dst\":", m->u.tdb.spi);
		json_addr(&m->u.tdb.dst);
		printf(",\"dst_port\":%u,\"rpl\":%llu,\"cur_bytes\":%llu,\"sproto\":%u,"
		       "\"updates\":%u,\"rdomain\":%u",
		       m->u.tdb.dst_port, (unsigned long long)m->u.tdb.rpl,
		       (unsigned long long)m->u.tdb.cur_bytes, m->u.tdb.sproto, m->u.tdb.updates,
		       m->u.tdb.rdomain);
		break;
	default:
		json_state(&m->u.state);
		break;
	}
	printf("}\n");
	return 0;
}

static int print_ack_rec(void *user, const struct rd_sync_ack_rec *r)
{
	size_t *i = user;

	printf("%s{\"sender\":\"%08x\",\"cumulative\":%llu,\"top\":%llu,\"bitmap\":\"%016llx\"}",
	       (*i)++ ? "," : "", r->sender, (unsigned long long)r->cumulative,
	       (unsigned long long)r->top, (unsigned long long)r->bitmap);
	return 0;
}

/*
 * ACK/NACK and HELLO payloads, through the channel's own decoder, so that a
 * payload is refused here exactly when a channel would refuse it. Returns 0,
 * or RD_ERR_PROTO with *c naming the refusal (nothing printed).
 */
static int print_control(const struct origin *o, const uint8_t *pl, size_t len,
                         struct rd_sync_ctl *c)
{
	size_t i = 0;

	if (rd_sync_ctl_decode(o->env->type, pl, len, c, NULL, NULL) != 0)
		return RD_ERR_PROTO;
	json_origin(o);
	if (c->type == RD_SYNC_ENV_HELLO) {
		printf(",\"next_seq\":%llu,\"oldest_seq\":%llu", (unsigned long long)c->next,
		       (unsigned long long)c->oldest);
		if (c->first != 0) /* a 16-byte HELLO (libredund before 0.2) has none */
			printf(",\"first_seq\":%llu", (unsigned long long)c->first);
		printf("}\n");
		return 0;
	}
	printf(",\"acks\":[");
	rd_sync_ctl_decode(o->env->type, pl, len, c, print_ack_rec, &i);
	printf("]}\n");
	return 0;
}

/* ---- packet walking -------------------------------------------------- */

struct decoder {
	const char *file;
	struct rd_sync_key key;
	bool have_key;
	unsigned port;
	unsigned long refused, refused_msgs, messages, other;
	struct rd_pfsync_stats stats;
	uint8_t plain[65536];
};

static void refuse(struct decoder *d, unsigned long packet, const char *reason, size_t offset,
                   bool has_offset)
{
	d->refused++;
	if (has_offset)
		fprintf(stderr, "redundctl: %s: packet %lu refused: %s (pfsync byte %zu)\n",
		        d->file, packet, reason, offset);
	else
		fprintf(stderr, "redundctl: %s: packet %lu refused: %s\n", d->file, packet, reason);
}

/* What a refused message's callback needs: where it came from and the tally. */
struct refusal_ctx {
	struct origin o;
	struct decoder *d;
};

/* The value that refused a message, for the line naming it. */
static void refused_value(char *buf, size_t cap, const struct rd_pfsync_msg *m, int reason)
{
	const struct rd_pfsync_state *s = &m->u.state;
	bool state = m->action == RD_PFSYNC_ACT_INS || m->action == RD_PFSYNC_ACT_UPD ||
	             m->action == RD_PFSYNC_ACT_DEL;

	buf[0] = '\0';
	if (reason == RD_PFSYNC_STAT_BADTIMEOUT)
		snprintf(buf, cap, ", timeout %u",
		         m->action == RD_PFSYNC_ACT_UPD_C ? m->u.upd_c.timeout : s->timeout);
	else if (reason == RD_PFSYNC_STAT_BADVAL && m->action == RD_PFSYNC_ACT_BUS)
		snprintf(buf, cap, ", status %u", m->u.bus.status);
	else if (reason == RD_PFSYNC_STAT_BADVAL && m->action == RD_PFSYNC_ACT_UPD_C)
		snprintf(buf, cap, ", peer states %u/%u", m->u.upd_c.src.state,
		         m->u.upd_c.dst.state);
	else if (reason == RD_PFSYNC_STAT_BADVAL && state)
		snprintf(buf, cap, ", peer states %u/%u, direction %u", s->src.state, s->dst.state,
		         s->direction);
}

/* Names a message refused for a value on stderr: action, id, reason, offset. */
static int print_refused(void *user, const struct rd_pfsync_msg *m, int reason, size_t offset)
{
	struct refusal_ctx *c = user;
	uint64_t id = 0;
	uint32_t cid = 0;
	char val[64];

	rd_pfsync_msg_ref(m, &id, &cid);
	refused_value(val, sizeof(val), m, reason);
	c->d->refused_msgs++;
	fprintf(stderr,
	        "redundctl: %s: packet %lu: %s id %016llx creatorid %08x refused: %s%s "
	        "(pfsync byte %zu)\n",
	        c->d->file, c->o.packet, rd_pfsync_action_name(m->action), (unsigned long long)id,
	        cid, rd_pfsync_stat_name(reason), val, offset);
	return 0;
}

static void decode_pfsync(struct decoder *d, const struct origin *o, const uint8_t *p, size_t len)
{
	struct rd_pfsync_info info;
	struct refusal_ctx c = {*o, d};

	/* print_msg reads the origin at the start of c. */
	if (rd_pfsync_decode_each(p, len, &d->stats, &info, print_msg, print_refused, &c) != 0) {
		refuse(d, o->packet, rd_pfsync_stat_name(info.reason), info.offset, true);
		return;
	}
	if (info.hdr_len < RD_PFSYNC_HDR_LEN)
		fprintf(stderr,
		        "redundctl: %s: packet %lu: header len %u is under 20: read to the end of "
		        "the packet (%zu bytes), as OpenBSD does\n",
		        d->file, o->packet, info.hdr_len, info.length);
	d->messages += info.messages;
}

static void decode_envelope(struct decoder *d, unsigned long packet, const uint8_t *p, size_t len)
{
	struct rd_sync_env_hdr h;
	struct origin o = {packet, &h};
	struct rd_sync_ctl c;
	int reason, n;

	if (!d->have_key) {
		refuse(d, packet, "secure envelope: no key given (--key KEYFILE)", 0, false);
		return;
	}
	n = rd_sync_env_open(&d->key, 1, p, len, &h, d->plain, sizeof(d->plain), &reason);
	if (n < 0) {
		refuse(d, packet, n == RD_ERR_NOSPC ? "too long" : rd_sync_stat_name(reason), 0,
		       false);
		return;
	}
	if (h.type == RD_SYNC_ENV_DATA) {
		decode_pfsync(d, &o, d->plain, (size_t)n);
	} else if (print_control(&o, d->plain, (size_t)n, &c) != 0) {
		char why[96];
		snprintf(why, sizeof(why), "%s (%s, %s payload byte %zu)",
		         rd_sync_stat_name(c.stat), rd_sync_ctl_error_name(c.error),
		         rd_sync_env_type_name(h.type), c.offset);
		refuse(d, packet, why, 0, false);
	}
	sodium_memzero(d->plain, (size_t)n);
}

/* Finds the transport payload: proto 240 or UDP to/from the port. */
static void decode_ip(struct decoder *d, unsigned long packet, const uint8_t *ip, size_t len)
{
	size_t hl, total;
	uint8_t proto, ttl;

	if (len >= 20 && ip[0] >> 4 == 4) {
		hl = (size_t)(ip[0] & 15) * 4;
		total = (size_t)ip[2] << 8 | ip[3];
		proto = ip[9];
		ttl = ip[8];
		if (hl < 20 || total < hl || total > len) {
			if (proto == RD_PFSYNC_IPPROTO)
				refuse(d, packet, "bad IPv4 header", 0, false);
			else
				d->other++;
			return;
		}
	} else if (len >= 40 && ip[0] >> 4 == 6) {
		/* No extension headers: pfsync senders do not use any. */
		hl = 40;
		total = 40 + ((size_t)ip[4] << 8 | ip[5]);
		proto = ip[6];
		ttl = ip[7];
		if (total > len) {
			d->other++;
			return;
		}
	} else {
		d->other++;
		return;
	}
	if (proto == RD_PFSYNC_IPPROTO) {
		struct origin o = {packet, NULL};
		if (ttl != RD_PFSYNC_TTL) {
			char why[64];
			snprintf(why, sizeof(why), "badttl (%u, receivers require 255)", ttl);
			refuse(d, packet, why, 0, false);
			return;
		}
		decode_pfsync(d, &o, ip + hl, total - hl);
		return;
	}
	if (proto == 17 && total - hl >= 8) {
		const uint8_t *udp = ip + hl;
		unsigned sport = (unsigned)udp[0] << 8 | udp[1],
		         dport = (unsigned)udp[2] << 8 | udp[3];
		size_t ulen = (size_t)udp[4] << 8 | udp[5];
		if (sport == d->port || dport == d->port) {
			if (ulen < 8 || ulen > total - hl) {
				refuse(d, packet, "bad UDP length", 0, false);
				return;
			}
			decode_envelope(d, packet, udp + 8, ulen - 8);
			return;
		}
	}
	d->other++;
}

/* The key file as syncd reads it (daemon.h's reader): whole, private, parsed. */
static int read_key(const char *path, struct rd_sync_key *k)
{
	char err[512];

	if (dm_sync_key_read(path, k, err, sizeof(err)) < 0) {
		fprintf(stderr, "redundctl: %s\n", err);
		return -1;
	}
	return 0;
}

/* One packet of a decode run: d's counters say whether it was pfsync. */
struct pfsync_run {
	struct decoder *d;
	unsigned long packet;
};

static int pfsync_packet(void *user, const struct rd_pcap_packet *p)
{
	struct pfsync_run *pr = user;
	struct decoder *d = pr->d;
	unsigned long before = d->messages + d->refused + d->refused_msgs;
	const uint8_t *ip;
	size_t ip_len;

	pr->packet++;
	if (rd_pcap_ip_payload(p->linktype, p->data, p->len, &ip, &ip_len) != 0) {
		d->other++;
		return 0;
	}
	decode_ip(d, pr->packet, ip, ip_len);
	return d->messages + d->refused + d->refused_msgs != before;
}

int rctl_decode_pfsync(const struct rctl_opts *o, int argc, char **argv)
{
	struct decoder *d;
	struct pfsync_run pr = {0};
	const char *file = NULL, *keyfile = NULL, *ifname = NULL;
	char filter[96];
	unsigned count = 0;
	bool bad = false;
	int rc, status;

	(void)o;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return 1;
	d->port = RD_SYNC_UDP_PORT;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--key") == 0 && i + 1 < argc) {
			keyfile = argv[++i];
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			if (dm_parse_uint(argv[++i], 1, 65535, &d->port) < 0)
				bad = true;
		} else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc && ifname == NULL) {
			ifname = argv[++i];
		} else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			if (dm_parse_uint(argv[++i], 1, 1000000000, &count) < 0)
				bad = true;
		} else if (file == NULL && argv[i][0] != '-') {
			file = argv[i];
		} else {
			bad = true;
		}
	}
	if (bad || (file == NULL) == (ifname == NULL)) {
		fprintf(stderr,
		        "usage: redundctl decode pfsync FILE | -i IF [-c N] [--key KEYFILE] "
		        "[--port N]\n");
		free(d);
		return 2;
	}
	d->file = file ? file : ifname;
	if (rd_init() != 0 || (keyfile != NULL && read_key(keyfile, &d->key) != 0)) {
		free(d);
		return 1;
	}
	d->have_key = keyfile != NULL;
	pr.d = d;
	/* Live: raw pfsync and the secure envelope's port only, in the kernel. */
	snprintf(filter, sizeof(filter), "ip proto %d or udp port %u", RD_PFSYNC_IPPROTO, d->port);
	rc = rctl_capture_run(file, ifname, filter, count, pfsync_packet, &pr);
	status = rc != 0 || d->refused != 0 || d->refused_msgs != 0 ? 1 : 0;
	if (d->refused != 0 || d->refused_msgs != 0 || d->other != 0)
		fprintf(stderr,
		        "redundctl: %s: %lu message(s), %lu message(s) refused, %lu packet(s) "
		        "refused, %lu other record(s) skipped\n",
		        d->file, d->messages, d->refused_msgs, d->refused, d->other);
	sodium_memzero(&d->key, sizeof(d->key));
	free(d);
	return status;
}

int rctl_sync_genkey(const struct rctl_opts *o, int argc, char **argv)
{
	struct rd_sync_key k;
	char text[RD_SYNC_KEY_TEXT_LEN];
	uint32_t id = 1;
	int aead = RD_SYNC_AEAD_XCHACHA20POLY1305;
	const char *file = NULL;
	char err[256];
	bool bad = false;
	int fd, n, ok;

	(void)o;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--keyid") == 0 && i + 1 < argc) {
			/* Refused with the reason: "" or junk must never become id 0. */
			if (dm_sync_keyid_parse(argv[++i], &id, err, sizeof(err)) < 0) {
				fprintf(stderr, "redundctl: --keyid: %s\n", err);
				return 2;
			}
		} else if (strcmp(argv[i], "--aead") == 0 && i + 1 < argc) {
			const char *v = argv[++i];

			for (aead = 0; aead < RD_SYNC_AEAD_COUNT; aead++)
				if (strcmp(v, rd_sync_aead_name(aead)) == 0)
					break;
			if (aead == RD_SYNC_AEAD_COUNT) {
				fprintf(stderr,
				        "redundctl: --aead: expected aes256gcm or "
				        "xchacha20poly1305, got '%s'\n",
				        v);
				return 2;
			}
		} else if (file == NULL && argv[i][0] != '-') {
			file = argv[i];
		} else {
			bad = true;
		}
	}
	if (bad || file == NULL) {
		fprintf(stderr, "usage: redundctl sync genkey FILE [--keyid N] [--aead "
		                "aes256gcm|xchacha20poly1305]\n");
		return 2;
	}
	if (rd_init() != 0)
		return 1;
	/*
	 * Written anyway where this CPU lacks AES-NI (the key may be for other
	 * machines), with a warning: syncd refuses it here.
	 */
	if (!rd_sync_aead_available(aead))
		fprintf(stderr,
		        "redundctl: warning: this CPU lacks AES-NI/PCLMULQDQ: syncd here cannot "
		        "use an %s key\n",
		        rd_sync_aead_name(aead));
	/* Never overwrite a key: rotation means a new file with a new id. */
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "redundctl: %s: %s\n", file, strerror(errno));
		return 1;
	}
	rd_sync_key_generate(id, NULL, &k);
	k.aead = (uint8_t)aead;
	n = rd_sync_key_format(&k, text, sizeof(text));
	ok = n > 0 && write(fd, text, (size_t)n) == n;
	ok = close(fd) == 0 && ok;
	sodium_memzero(&k, sizeof(k));
	sodium_memzero(text, sizeof(text));
	if (!ok) {
		fprintf(stderr, "redundctl: %s: write failed\n", file);
		unlink(file);
		return 1;
	}
	return 0;
}
