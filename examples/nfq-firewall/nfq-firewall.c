/*
 * nfq-firewall — a userspace stateful firewall on live traffic: packets from
 * an nftables `queue` rule, tracked in a libredund state table with pf's TCP
 * window tracking, limited by pf's source tracking, answered with verdicts
 * in batches, and (optionally) the table synced to a peer running the same
 * program through the sync engine and the secure channel. The kernel's
 * conntrack is not involved. `nfq-firewall --help` is its manual.
 *
 * The three halves of libredund meet here:
 *   state table (redund/state.h)   rd_state_packet on every packet,
 *                                  rd_state_create for the rule's new states;
 *   source tracking (srctrack.h)   the table's attach/detach/established
 *                                  hooks drive it (fwglue.c, shared with
 *                                  pcap-firewall.c);
 *                                  overload adds the source to an nftables
 *                                  set, flush kills its states;
 *   sync (sync_carry.h, io_sync.h) the table's events go to the engine, the
 *                                  carry seals its packets, the UDP transport
 *                                  carries them; received ones are imported.
 *
 * Single-threaded: one poll loop over the queue socket, the sync socket and
 * the control socket; time is CLOCK_MONOTONIC, handed to the library.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <nftables/libnftables.h>
#include <sodium.h>

#include "fwglue.h"
#include "nfq.h"
#include "redund/common.h"
#include "redund/io_sync.h"
#include "redund/srctrack.h"
#include "redund/state.h"
#include "redund/sync.h"
#include "redund/sync_carry.h"

#define PROG         "nfq-firewall"
#define RULE_ID      1
#define MAX_INSIDE   16
#define MAX_QUEUES   64
#define RESET_MARK   0x7e5e7u /* default --reset-mark */
#define DEFAULT_COPY 512

/* Verdicts the firewall gives. */
enum verdict { V_ACCEPT, V_DROP, V_RESET };

/*
 * Why a packet was not accepted. The library's reasons (enum
 * rd_state_reason, < RD_STATE_RES_COUNT, named by rd_state_reason_name)
 * come first; the firewall's own follow.
 */
enum why {
	W_NO_STATE = RD_STATE_RES_COUNT, /* TCP without a state that is not a SYN */
	W_NOT_ALLOWED,                   /* from outside, no state: may not create one */
	W_OVERLOAD,                      /* source in the overload table */
	W_CHALLENGE,                     /* SYN on an established state (pf: challenge ACK) */
	W_LOOP,                          /* came back with the reset mark: no reject rule */
	W_TABLE_ERROR,                   /* rd_state_packet < 0 on a parsed packet */
	W_BINDING,                       /* arrived while the queues were being bound */
	W_NL,                            /* first of NFQ_BAD_COUNT netlink reasons */
	W_COUNT = W_NL + NFQ_BAD_COUNT,
};

static const char *why_name(int w)
{
	static const char *const own[] = {"no-state",  "not-allowed", "overload-table",
	                                  "challenge", "reset-loop",  "table-error",
	                                  "binding"};
	_Static_assert(sizeof(own) / sizeof(own[0]) == W_NL - RD_STATE_RES_COUNT,
	               "a name for each of the firewall's own reasons");

	if (w < RD_STATE_RES_COUNT)
		return rd_state_reason_name(w);
	if (w < W_NL)
		return own[w - RD_STATE_RES_COUNT];
	return nfq_bad_name(w - W_NL);
}

struct fw {
	/* first (fwglue.h): the tables, the binding being created, the overload table */
	struct fwglue g;
	struct rd_src_rule *rule;
	/* overload set in nftables */
	struct nft_ctx *nft;
	char ov_family[16], ov_table[64], ov_set[64];
	bool ov_on;
	uint64_t ov_added, ov_errors;
	/* the rule: where packets come from */
	unsigned inside[MAX_INSIDE];
	size_t ninside;
	uint32_t reset_mark;
	/* the queue */
	struct mnl_socket *nl;
	unsigned q_lo, q_hi;
	unsigned batch; /* packets a round (recvmmsg) */
	bool batch_verdicts;
	bool q_bound[MAX_QUEUES];       /* the kernel acked the bind */
	uint64_t q_packets[MAX_QUEUES]; /* messages that named the queue */
	uint32_t copy;
	uint32_t seq;
	uint8_t *rxbuf; /* batch * rxlen */
	size_t rxlen;
	uint8_t *txbuf; /* verdicts of a round */
	size_t txcap;
	struct {
		uint16_t queue;
		uint32_t id;
	} * acc; /* the round's accepted packets (batch verdicts) */
	size_t acc_cap;
	/* counters */
	uint64_t packets, rounds, sends, single_msgs, batch_msgs, enobufs, nl_errors;
	uint64_t verdict[3];
	uint64_t why[W_COUNT];
	bool time_lookups;
	uint64_t lookups, lookup_ns;
	/* sync */
	struct rd_io_sync *io;
	struct rd_sync_carry *carry;
	struct rd_sync_engine *eng;
	struct rd_sync_channel *ch;
	/* control */
	int ctl_fd;
	const char *ctl_path;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static rd_time_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (rd_time_t)ts.tv_sec * RD_SEC + (rd_time_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

/* ---- nftables: the overload set ---- */

/* Names pasted into an nft command: letters, digits, '_', '-', '.' only. */
static bool nft_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

/* Run one nft command; 0 or -1 (the error text is logged). */
static int nft_cmd(struct fw *fw, const char *cmd)
{
	int rc = nft_run_cmd_from_buffer(fw->nft, cmd);

	if (rc != 0) {
		const char *err = nft_ctx_get_error_buffer(fw->nft);
		fprintf(stderr, PROG ": nft '%s' failed: %s", cmd, err ? err : "?\n");
		return -1;
	}
	return 0;
}

/* Add a source to the overload set, as `nft add element FAMILY TABLE SET { ADDR }`. */
static void overload_set_add(struct fw *fw, const struct rd_addr *a)
{
	char addr[RD_ADDR_STRLEN], cmd[256];

	if (!fw->ov_on)
		return;
	rd_addr_format(a, addr, sizeof(addr));
	snprintf(cmd, sizeof(cmd), "add element %s %s %s { %s }", fw->ov_family, fw->ov_table,
	         fw->ov_set, addr);
	if (nft_cmd(fw, cmd) == 0)
		fw->ov_added++;
	else
		fw->ov_errors++;
}

/* ---- glue (fwglue.c) and the firewall's own callbacks ---- */

/* Every change of the table goes to the sync engine (when syncing). */
static void hook_event(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	struct fw *fw = user; /* &fw->g, its first member */

	if (fw->eng != NULL)
		rd_sync_engine_state_event(fw->eng, st, ev, why, now);
}

/* A source joined the overload table: say so, and add it to the nftables set. */
static void on_overload(void *user, const struct rd_addr *src)
{
	struct fw *fw = user;
	char a[RD_ADDR_STRLEN];

	fprintf(stderr, PROG ": overload: %s\n", rd_addr_format(src, a, sizeof(a)));
	overload_set_add(fw, src);
}

/* ---- one packet ---- */

static int track(struct fw *fw, struct rd_state_pkt *p, rd_time_t now, struct rd_state_result *res)
{
	int v;

	if (!fw->time_lookups)
		return rd_state_packet(fw->g.st, p, now, res);
	rd_time_t t0 = now_ns();
	v = rd_state_packet(fw->g.st, p, now, res);
	fw->lookup_ns += now_ns() - t0;
	fw->lookups++;
	return v;
}

static bool inside(const struct fw *fw, unsigned ifindex)
{
	for (size_t i = 0; i < fw->ninside; i++)
		if (fw->inside[i] == ifindex)
			return true;
	return false;
}

static enum verdict refuse(struct fw *fw, int why, const struct rd_state_pkt *p)
{
	fw->why[why]++;
	/* pf's "block return" for TCP (never a reset for a reset); drop otherwise */
	if (p != NULL && p->proto == 6 && !(p->tcp_flags & RD_TH_RST) &&
	    (why == W_NO_STATE || why == W_NOT_ALLOWED))
		return V_RESET;
	return V_DROP;
}

static enum verdict decide(struct fw *fw, const struct nfq_pkt *q, rd_time_t now)
{
	struct rd_state_pkt p, o;
	struct rd_state_result res;
	int reason, v, rc;

	if (q->has_mark && q->mark == fw->reset_mark)
		return refuse(fw, W_LOOP, NULL);
	if (rd_state_parse(q->payload, q->len, RD_STATE_IN, &p, &reason) != 0) {
		rd_state_count_reason(fw->g.st, reason);
		return refuse(fw, reason, NULL);
	}
	if (fw->ninside > 0) {
		p.dir = inside(fw, q->indev) ? RD_STATE_IN : RD_STATE_OUT;
		v = track(fw, &p, now, &res);
	} else {
		/* No --inside: a packet answering a state travels OUT, any other IN. */
		o = p;
		o.dir = RD_STATE_OUT;
		v = track(fw, &o, now, &res);
		if (v == RD_STATE_NOSTATE)
			v = track(fw, &p, now, &res);
		else
			p = o;
	}
	if (v == RD_STATE_PASS)
		return V_ACCEPT;
	if (v == RD_STATE_DROP) {
		if (res.flags & RD_STATE_R_CHALLENGE)
			return refuse(fw, W_CHALLENGE, &p);
		fw->why[res.reason]++;
		return (res.flags & RD_STATE_R_SYN_RESET) ? V_RESET : V_DROP;
	}
	if (v < 0)
		return refuse(fw, W_TABLE_ERROR, &p);

	/* No state: the rule, "pass in [flags S/SA] keep state" with the limits. */
	if (p.dir == RD_STATE_OUT)
		return refuse(fw,
		              p.proto == 6 && (p.tcp_flags & (RD_TH_SYN | RD_TH_ACK)) != RD_TH_SYN
		                  ? W_NO_STATE
		                  : W_NOT_ALLOWED,
		              &p);
	if (p.proto == 6 && (p.tcp_flags & (RD_TH_SYN | RD_TH_ACK)) != RD_TH_SYN)
		return refuse(fw, W_NO_STATE, &p);
	if (addr_set_has(&fw->g.overload, &p.src))
		return refuse(fw, W_OVERLOAD, &p);
	fw->g.pending = 0;
	rc = rd_src_acquire(fw->g.src, fw->rule, &p.src, now, &fw->g.pending);
	if (rc != RD_OK) {
		rd_state_count_reason(fw->g.st, RD_STATE_RES_SRCLIMIT);
		return refuse(fw, RD_STATE_RES_SRCLIMIT, &p);
	}
	struct rd_state_opts opts;
	int w;
	memset(&opts, 0, sizeof(opts));
	opts.rule = RULE_ID;
	if (fwglue_create(&fw->g, &p, &opts, now, &w) != RD_OK)
		return refuse(fw, w >= 0 ? w : RD_STATE_RES_MEMORY, &p);
	return V_ACCEPT;
}

/* ---- the queue ---- */

static void nl_send(struct fw *fw, const void *buf, size_t len)
{
	if (len == 0)
		return;
	if (mnl_socket_sendto(fw->nl, buf, len) < 0) {
		fw->nl_errors++;
		if (fw->nl_errors < 10)
			fprintf(stderr, PROG ": verdict send: %s\n", strerror(errno));
	}
	fw->sends++;
}

/*
 * Count a message for the queue it names: one of ours, its headers read
 * (not nl-short or nl-type). Returns whether it named one of ours.
 */
static bool queue_count(struct fw *fw, int bad, const struct nfq_pkt *q)
{
	if (bad == NFQ_BAD_SHORT || bad == NFQ_BAD_TYPE || q->queue < fw->q_lo ||
	    q->queue > fw->q_hi)
		return false;
	fw->q_packets[q->queue - fw->q_lo]++;
	return true;
}

/*
 * Bind the queues and wait for the kernel's acks. Once the first queue is
 * bound its packets may arrive before the next ack: each gets a drop
 * verdict here (counted "binding"), never left waiting, since a later batch
 * verdict would accept every lower id unseen.
 */
static void queue_bind(struct fw *fw)
{
	static uint8_t buf[1 << 17];

	for (unsigned q = fw->q_lo; q <= fw->q_hi; q++) {
		struct nlmsghdr *nlh = nfq_build_bind(buf, (uint16_t)q, fw->copy, 8192, ++fw->seq);
		uint32_t seq = fw->seq;
		bool acked = false;

		if (mnl_socket_sendto(fw->nl, nlh, nlh->nlmsg_len) < 0)
			die("bind queue: %s", strerror(errno));
		while (!acked) {
			ssize_t n = mnl_socket_recvfrom(fw->nl, buf, sizeof(buf));
			int rem = (int)n;

			if (n < 0)
				die("bind queue: %s", strerror(errno));
			for (nlh = (struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, rem);
			     nlh = mnl_nlmsg_next(nlh, &rem)) {
				struct nfq_pkt p;
				uint8_t v[NFQ_MSG_MAX];

				if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == seq) {
					const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
					if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) &&
					    e->error != 0) {
						fprintf(
						    stderr,
						    PROG
						    ": bind queue %u: %s (another program bound "
						    "to it?)\n",
						    q, strerror(-e->error));
						exit(1);
					}
					acked = true;
					fw->q_bound[q - fw->q_lo] = true;
					continue;
				}
				int bad = nfq_parse(nlh, nlh->nlmsg_len, &p);
				if (bad != NFQ_OK && !p.has_id)
					continue;
				queue_count(fw, bad, &p);
				fw->packets++;
				fw->why[W_BINDING]++;
				fw->verdict[V_DROP]++;
				struct nlmsghdr *vh = nfq_build_verdict(v, p.queue, p.id, NF_DROP,
				                                        false, 0, false, ++fw->seq);
				nl_send(fw, vh, vh->nlmsg_len);
			}
		}
	}
}

static void queue_unbind(struct fw *fw)
{
	uint8_t buf[NFQ_MSG_MAX];

	for (unsigned q = fw->q_lo; q <= fw->q_hi; q++) {
		struct nlmsghdr *nlh = nfq_build_unbind(buf, (uint16_t)q, ++fw->seq);
		(void)mnl_socket_sendto(fw->nl, nlh, nlh->nlmsg_len);
	}
}

/* Append a verdict message to the round's buffer. */
static void tx_verdict(struct fw *fw, size_t *pos, unsigned queue, uint32_t id, enum verdict v,
                       bool batch)
{
	struct nlmsghdr *nlh;

	if (*pos + NFQ_MSG_MAX > fw->txcap) {
		nl_send(fw, fw->txbuf, *pos);
		*pos = 0;
	}
	nlh = nfq_build_verdict(fw->txbuf + *pos, (uint16_t)queue, id,
	                        v == V_ACCEPT ? NF_ACCEPT
	                        : v == V_DROP ? NF_DROP
	                                      : NF_REPEAT,
	                        v == V_RESET, fw->reset_mark, batch, ++fw->seq);
	*pos += NLMSG_ALIGN(nlh->nlmsg_len);
	if (batch)
		fw->batch_msgs++;
	else
		fw->single_msgs++;
}

/*
 * One round: up to `batch` packets with one recvmmsg, a verdict for each,
 * sent with one sendto: every refusal on its own (drop, or repeat with the
 * reset mark), then one NFQNL_MSG_VERDICT_BATCH per queue accepting all
 * the others (ids up to the highest accepted: every lower id still waiting
 * was in this round, since the kernel queues a packet only once its message
 * reached us). A message without a packet id (nl-no-id, or cut before it)
 * gets no verdict and its packet, if the kernel queued one, keeps waiting
 * with an id we do not know; a batch verdict could cover that id and accept
 * the packet unseen, so that round the queue's accepted packets get a
 * verdict each (every queue's, when the message did not say its queue).
 * Returns the packets read, or 0 when none waited.
 */
static int queue_round(struct fw *fw)
{
	struct mmsghdr msgs[256];
	struct iovec iov[256];
	uint32_t acc[MAX_QUEUES];
	bool has_acc[MAX_QUEUES], no_batch[MAX_QUEUES];
	size_t pos = 0, nacc = 0;
	int n;

	memset(has_acc, 0, sizeof(has_acc));
	memset(no_batch, 0, sizeof(no_batch));
	for (unsigned i = 0; i < fw->batch; i++) {
		iov[i].iov_base = fw->rxbuf + (size_t)i * fw->rxlen;
		iov[i].iov_len = fw->rxlen;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(mnl_socket_get_fd(fw->nl), msgs, fw->batch, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == ENOBUFS)
			fw->enobufs++;
		else if (errno != EAGAIN && errno != EINTR)
			fw->nl_errors++;
		return 0;
	}
	rd_time_t now = now_ns();
	fw->rounds++;
	for (int i = 0; i < n; i++) {
		const struct nlmsghdr *nlh = iov[i].iov_base;
		int rem = (int)msgs[i].msg_len;

		for (; mnl_nlmsg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
			struct nfq_pkt q;
			enum verdict v;
			int bad;

			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
				if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error != 0)
					fw->nl_errors++;
				continue;
			}
			if (nlh->nlmsg_type == NLMSG_NOOP || nlh->nlmsg_type == NLMSG_DONE)
				continue;
			fw->packets++;
			bad = nfq_parse(nlh, nlh->nlmsg_len, &q);
			bool known = queue_count(fw, bad, &q);
			if (bad != NFQ_OK) {
				fw->why[W_NL + bad]++;
				if (!q.has_id) {
					/* Nothing to answer: the kernel's queue keeps it; no
					 * batch verdict this round may cover its id (on any
					 * queue, when the message did not name one of ours). */
					for (unsigned k = 0; k + fw->q_lo <= fw->q_hi; k++)
						if (!known || k == q.queue - fw->q_lo)
							no_batch[k] = true;
					continue;
				}
				v = V_DROP;
			} else {
				v = decide(fw, &q, now);
			}
			fw->verdict[v]++;
			if (v == V_ACCEPT && fw->batch_verdicts && q.queue >= fw->q_lo &&
			    q.queue <= fw->q_hi && nacc < fw->acc_cap) {
				/* decided at the end of the round: batched or one by one */
				fw->acc[nacc].queue = q.queue;
				fw->acc[nacc++].id = q.id;
				continue;
			}
			tx_verdict(fw, &pos, q.queue, q.id, v, false);
		}
	}
	for (size_t i = 0; i < nacc; i++) {
		unsigned k = fw->acc[i].queue - fw->q_lo;
		if (no_batch[k]) {
			tx_verdict(fw, &pos, fw->acc[i].queue, fw->acc[i].id, V_ACCEPT, false);
			continue;
		}
		if (!has_acc[k] || fw->acc[i].id > acc[k])
			acc[k] = fw->acc[i].id;
		has_acc[k] = true;
	}
	for (unsigned k = 0; k + fw->q_lo <= fw->q_hi; k++)
		if (has_acc[k])
			tx_verdict(fw, &pos, fw->q_lo + k, acc[k], V_ACCEPT, true);
	nl_send(fw, fw->txbuf, pos);
	return n;
}

/* ---- sync ---- */

static void ch_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	struct fw *fw = user;

	(void)to; /* one peer */
	(void)rd_io_sync_queue(fw->io, NULL, pkt, len);
}

static void sync_input(struct fw *fw)
{
	struct rd_io_sync_msg msgs[64];
	int n;

	for (int round = 0; round < 16; round++) {
		n = rd_io_sync_recv(fw->io, msgs, 64);
		if (n < 0)
			break;
		rd_time_t now = now_ns();
		for (int i = 0; i < n; i++)
			(void)rd_sync_channel_input(fw->ch, msgs[i].data, msgs[i].len, now);
	}
	rd_io_sync_flush(fw->io);
}

static void sync_open(struct fw *fw, const char *peer, const char *keyfile, const char *ifname)
{
	struct rd_io_sync_config ic;
	struct rd_sync_carry_config cc;
	struct rd_sync_key key;
	struct timespec ts;
	char text[4096];
	ssize_t n;
	int fd, rc;

	fd = open(keyfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("--sync-key: %s", strerror(errno));
	n = read(fd, text, sizeof(text));
	close(fd);
	if (n < 0 || rd_sync_key_parse(text, (size_t)n, &key) != 0)
		die("--sync-key %s: not a key file (redundctl sync genkey makes one)", keyfile);
	sodium_memzero(text, sizeof(text));

	rd_io_sync_config_default(&ic);
	ic.mode = RD_IO_SYNC_SECURE;
	ic.multicast = false;
	if (rd_addr_parse(peer, &ic.peers[0]) != 0)
		die("--sync-peer: bad address '%s'", peer);
	ic.npeers = 1;
	if (ifname != NULL && (ic.ifindex = if_nametoindex(ifname)) == 0)
		die("--sync-if: no interface %s", ifname);
	ic.check_ttl = true;
	if ((rc = rd_io_sync_open(&ic, &fw->io)) < 0)
		die("sync transport: %s", strerror(-rc));

	rd_sync_carry_config_default(&cc);
	cc.channel.sender_id = rd_state_creatorid(fw->g.st);
	/* Above anything an earlier run sent under this key: the realtime clock. */
	clock_gettime(CLOCK_REALTIME, &ts);
	cc.channel.seq_start = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	cc.channel.keys = &key;
	cc.channel.nkeys = 1;
	cc.channel.send_key_id = key.id;
	cc.channel.mtu = 1500 - rd_io_sync_overhead(fw->io);
	cc.channel.cb.send = ch_send;
	cc.channel.cb.user = fw;
	cc.engine.table = fw->g.st;
	rc = rd_sync_carry_new(&cc, &fw->carry);
	sodium_memzero(&key, sizeof(key));
	if (rc != 0)
		die("sync: %s", rd_strerror(rc));
	fw->ch = rd_sync_carry_channel(fw->carry);
	fw->eng = rd_sync_carry_engine(fw->carry);
	/* A join: we lack the peer's states. */
	rd_sync_engine_bulk_request(fw->eng, now_ns());
}

/* ---- status ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	fputc('"', f);
}

static void json_counters(FILE *f, const char *name, const uint64_t *v, int n,
                          const char *(*namef)(int), bool skip_zero)
{
	bool first = true;

	fprintf(f, ",\"%s\":{", name);
	for (int i = 0; i < n; i++) {
		const char *s = namef(i);
		if (s == NULL || strcmp(s, "?") == 0 || (skip_zero && v[i] == 0))
			continue;
		fprintf(f, "%s", first ? "" : ",");
		json_str(f, s);
		fprintf(f, ":%" PRIu64, v[i]);
		first = false;
	}
	fputc('}', f);
}

/* The status as one line of JSON (the control socket's `status --json`). */
static char *status_json(struct fw *fw)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	uint64_t c[RD_STATE_STAT_COUNT], s[RD_SRC_STAT_COUNT];
	bool first = true;

	if (f == NULL)
		return NULL;
	rd_state_stats(fw->g.st, c);
	rd_src_stats(fw->g.src, s);
	fprintf(f,
	        "{\"queues\":[%u,%u],\"packets\":%" PRIu64 ",\"verdicts\":{\"accept\":%" PRIu64
	        ",\"drop\":%" PRIu64 ",\"reset\":%" PRIu64 "}",
	        fw->q_lo, fw->q_hi, fw->packets, fw->verdict[V_ACCEPT], fw->verdict[V_DROP],
	        fw->verdict[V_RESET]);
	fprintf(f,
	        ",\"queue\":{\"rounds\":%" PRIu64 ",\"sends\":%" PRIu64
	        ",\"verdict_messages\":%" PRIu64 ",\"batch_messages\":%" PRIu64
	        ",\"enobufs\":%" PRIu64 ",\"netlink_errors\":%" PRIu64 ",\"per_queue\":[",
	        fw->rounds, fw->sends, fw->single_msgs, fw->batch_msgs, fw->enobufs, fw->nl_errors);
	for (unsigned k = 0; k + fw->q_lo <= fw->q_hi; k++)
		fprintf(f, "%s{\"num\":%u,\"bound\":%s,\"packets\":%" PRIu64 "}", k ? "," : "",
		        fw->q_lo + k, fw->q_bound[k] ? "true" : "false", fw->q_packets[k]);
	fprintf(f, "]}");
	json_counters(f, "drops", fw->why, W_COUNT, why_name, true);
	fprintf(f, ",\"states\":%u,\"states_halfopen\":%u,\"src_nodes\":%u",
	        rd_state_count(fw->g.st), rd_state_count_halfopen(fw->g.st),
	        rd_src_count(fw->g.src));
	fprintf(f,
	        ",\"overload\":{\"table\":%zu,\"set_added\":%" PRIu64 ",\"set_errors\":%" PRIu64
	        ",\"addresses\":[",
	        fw->g.overload.n, fw->ov_added, fw->ov_errors);
	first = true;
	for (size_t i = 0; i < fw->g.overload.cap; i++)
		if (fw->g.overload.used[i]) {
			char a[RD_ADDR_STRLEN];
			fprintf(f, "%s\"%s\"", first ? "" : ",",
			        rd_addr_format(&fw->g.overload.slot[i], a, sizeof(a)));
			first = false;
		}
	fprintf(f, "]}");
	fprintf(f,
	        ",\"lookup\":{\"timed\":%s,\"calls\":%" PRIu64 ",\"ns\":%" PRIu64
	        ",\"ns_avg\":%.1f}",
	        fw->time_lookups ? "true" : "false", fw->lookups, fw->lookup_ns,
	        fw->lookups ? (double)fw->lookup_ns / (double)fw->lookups : 0.0);
	json_counters(f, "state_counters", c, RD_STATE_STAT_COUNT, rd_state_stat_name, false);
	json_counters(f, "src_counters", s, RD_SRC_STAT_COUNT, rd_src_stat_name, false);
	if (fw->carry != NULL) {
		uint64_t e[RD_SYNC_ENGINE_STAT_COUNT], h[RD_SYNC_STAT_COUNT],
		    t[RD_IO_SYNC_STAT_COUNT];
		rd_sync_engine_stats(fw->eng, e);
		rd_sync_channel_stats(fw->ch, h);
		rd_io_sync_stats(fw->io, t);
		fprintf(f, ",\"sync\":{\"creatorid\":\"%08" PRIx32 "\",\"bulk_pending\":%s",
		        rd_state_creatorid(fw->g.st),
		        rd_sync_engine_bulk_pending(fw->eng) ? "true" : "false");
		json_counters(f, "engine", e, RD_SYNC_ENGINE_STAT_COUNT, rd_sync_engine_stat_name,
		              true);
		json_counters(f, "channel", h, RD_SYNC_STAT_COUNT, rd_sync_stat_name, true);
		json_counters(f, "transport", t, RD_IO_SYNC_STAT_COUNT, rd_io_sync_stat_name, true);
		fputc('}', f);
	}
	fprintf(f, "}\n");
	fclose(f);
	return out;
}

/* ---- control socket ---- */

static void ctl_open(struct fw *fw)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	if (strlen(fw->ctl_path) >= sizeof(sun.sun_path))
		die("--control: path too long: %s", fw->ctl_path);
	strcpy(sun.sun_path, fw->ctl_path);
	unlink(fw->ctl_path);
	fw->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fw->ctl_fd < 0 || bind(fw->ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fw->ctl_fd, 8) < 0)
		die("--control: %s", strerror(errno));
	chmod(fw->ctl_path, 0600);
}

/* One client: a command line in, the answer out, closed. Bounded: 200 ms. */
static void ctl_serve(struct fw *fw)
{
	char line[256];
	size_t n = 0;
	int c = accept4(fw->ctl_fd, NULL, NULL, SOCK_CLOEXEC);

	if (c < 0)
		return;
	while (n < sizeof(line) - 1) {
		struct pollfd p = {.fd = c, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			break;
		ssize_t r = read(c, line + n, sizeof(line) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		if (memchr(line, '\n', n) != NULL)
			break;
	}
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	char *answer = NULL;
	if (strcmp(line, "status --json") == 0 || strcmp(line, "status") == 0)
		answer = status_json(fw);
	const char *a = answer ? answer : "error: commands: status --json\n";
	size_t len = strlen(a), off = 0;
	while (off < len) {
		ssize_t w = send(c, a + off, len - off, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(answer);
	close(c);
}

/* ---- command line ---- */

static void usage(FILE *f)
{
	fputs(
	    "NAME\n"
	    "     nfq-firewall - a stateful firewall on an nftables queue, with pf's source\n"
	    "     tracking, synced to a peer (libredund example)\n"
	    "\n"
	    "SYNOPSIS\n"
	    "     nfq-firewall --queue N[-M] [--inside IF[,IF..]] [--max-src-conn N]\n"
	    "                  [--max-src-conn-rate N/S] [--max-src-states N] [--max-src-nodes N]\n"
	    "                  [--overload-set FAMILY TABLE SET [--flush | --flush-global]]\n"
	    "                  [--sync-peer ADDR --sync-key FILE [--sync-if IF]]\n"
	    "                  [--control PATH] [--batch N] [--no-batch-verdicts] [--copy N]\n"
	    "                  [--reset-mark MARK] [--limit-states N] [--src-track SECONDS]\n"
	    "                  [--time-lookups]\n"
	    "\n"
	    "DESCRIPTION\n"
	    "     Reads the packets an nftables `queue num N` rule hands it, runs each\n"
	    "     through a libredund state table (pf_test_state: TCP window tracking,\n"
	    "     UDP/ICMP pseudo-states) and enforces one rule for packets without a\n"
	    "     state, as pf.conf's\n"
	    "\n"
	    "         pass in on <inside> flags S/SA keep state (max-src-conn N,\n"
	    "             max-src-conn-rate N/S, max-src-states N, max-src-nodes N,\n"
	    "             overload <SET> [flush [global]])\n"
	    "\n"
	    "     A packet that matches a state and passes its checks is accepted; one\n"
	    "     that fails them is dropped (counted under the library's reason, e.g.\n"
	    "     state-mismatch). A TCP segment without a state that is not a SYN, and\n"
	    "     any TCP packet from outside without a state, is answered with a reset;\n"
	    "     other packets without a state from outside are dropped. The kernel's\n"
	    "     conntrack is not used. A parsed packet the table refuses with an error\n"
	    "     (rd_state_packet < 0: a malformed lookup) is dropped, counted\n"
	    "     table-error.\n"
	    "\n"
	    "     Verdicts go in batches: the packets of one read (up to --batch) are\n"
	    "     decided, every refusal is sent on its own and the accepted ones with\n"
	    "     one NFQNL_MSG_VERDICT_BATCH per queue, all in one sendto. A message\n"
	    "     without a packet id (counted nl-no-id) gets no verdict; in its round\n"
	    "     its queue's accepted packets get a verdict each, since a batch could\n"
	    "     accept its packet unseen.\n"
	    "\n"
	    "OPTIONS\n"
	    "     --queue N | N-M\n"
	    "             the queue number(s) to bind (as the rule's `queue num`).\n"
	    "     --inside IF[,IF..]\n"
	    "             packets entering on these interfaces travel IN and may create\n"
	    "             states; all others travel OUT and only match states. Without it,\n"
	    "             a packet answering a state travels OUT and any other IN.\n"
	    "     --max-src-conn N\n"
	    "             at most N established TCP connections per source.\n"
	    "     --max-src-conn-rate N/S\n"
	    "             at most N connections established per S seconds per source.\n"
	    "     --max-src-states N\n"
	    "             at most N states per source.\n"
	    "     --max-src-nodes N\n"
	    "             at most N distinct sources holding states.\n"
	    "     --src-track SECONDS\n"
	    "             keep a source's node this long after its last state (0).\n"
	    "     --limit-states N\n"
	    "             the table's state limit (100000).\n"
	    "     --overload-set FAMILY TABLE SET\n"
	    "             a source breaking max-src-conn or max-src-conn-rate is added to\n"
	    "             this nftables set (as `nft add element FAMILY TABLE SET { ADDR }`)\n"
	    "             and to the firewall's own overload table; its new states are\n"
	    "             refused. The set must exist; block it before the queue rule.\n"
	    "             One set, of one family's addresses: a source of the other\n"
	    "             family is kept in the firewall's own table only (the add fails,\n"
	    "             counted overload.set_errors).\n"
	    "     --flush, --flush-global\n"
	    "             with --overload-set: also kill the source's states of the rule\n"
	    "             (the only rule here, so both kill the same states, as pf's\n"
	    "             `flush` and `flush global` do with one rule).\n"
	    "     --sync-peer ADDR --sync-key FILE [--sync-if IF]\n"
	    "             sync the state table with a peer running nfq-firewall: pfsync\n"
	    "             messages through libredund's sync engine, sealed by the secure\n"
	    "             channel with the pre-shared key FILE (`redundctl sync genkey`),\n"
	    "             over UDP port 8240 on interface IF. At start it asks the peer\n"
	    "             for its table (a bulk update).\n"
	    "     --control PATH\n"
	    "             a Unix socket answering `status --json` (one line of JSON:\n"
	    "             verdicts, drops per reason, each queue's bind and packets,\n"
	    "             states, source nodes, overloads, the table's, tracker's and\n"
	    "             sync counters).\n"
	    "     --batch N\n"
	    "             packets read and decided per round (1..256, default 64).\n"
	    "     --no-batch-verdicts\n"
	    "             one NFQNL_MSG_VERDICT per accepted packet (for comparison).\n"
	    "     --copy N\n"
	    "             bytes of each packet copied from the kernel (default 512: the\n"
	    "             headers are all the table reads).\n"
	    "     --reset-mark MARK\n"
	    "             the mark of a packet to answer with a reset (default 0x7e5e7): it\n"
	    "             is handed back (NF_REPEAT) with this mark, for a rule\n"
	    "             `meta mark MARK reject with tcp reset` before the queue rule.\n"
	    "             A packet that comes back with it anyway is dropped (reset-loop).\n"
	    "     --time-lookups\n"
	    "             time every rd_state_packet call (status: lookup.ns_avg).\n"
	    "     --help  this text.\n"
	    "\n"
	    "NFTABLES\n"
	    "     table inet fw {\n"
	    "         set bad { type ipv4_addr; }\n"
	    "         chain forward {\n"
	    "             type filter hook forward priority filter; policy drop;\n"
	    "             meta mark 0x7e5e7 counter reject with tcp reset\n"
	    "             ip saddr @bad counter reject with tcp reset\n"
	    "             queue num 0\n"
	    "         }\n"
	    "     }\n"
	    "\n"
	    "DIFFERENCES FROM PF\n"
	    "     One rule. Source nodes are not synced (OpenBSD's pfsync does not carry\n"
	    "     them either, only a flag saying a state had one): states imported from\n"
	    "     the peer count against no source, so after a move to the peer a source\n"
	    "     starts its limits afresh there.\n"
	    "     A SYN on an established state is dropped without pf's challenge ACK.\n"
	    "     No scrub, no NAT, no fragment reassembly (non-first fragments are\n"
	    "     dropped as `fragment`).\n"
	    "\n"
	    "EXIT STATUS\n"
	    "     0 after SIGINT/SIGTERM, 1 on a set-up error, 2 on a usage error.\n",
	    f);
}

static uint32_t num(const char *s, const char *opt)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || *end != '\0' || end == s || v > UINT32_MAX) {
		fprintf(stderr, PROG ": %s: bad number '%s'\n", opt, s);
		exit(2);
	}
	return (uint32_t)v;
}

static void usage_error(const char *msg)
{
	fprintf(stderr, PROG ": %s (see --help)\n", msg);
	exit(2);
}

int main(int argc, char **argv)
{
	enum {
		O_QUEUE = 256,
		O_INSIDE,
		O_MSC,
		O_MSCR,
		O_MSS,
		O_MSN,
		O_SRC_TRACK,
		O_LIMIT_STATES,
		O_OVERLOAD_SET,
		O_FLUSH,
		O_FLUSH_GLOBAL,
		O_SYNC_PEER,
		O_SYNC_KEY,
		O_SYNC_IF,
		O_CONTROL,
		O_BATCH,
		O_NO_BATCH,
		O_COPY,
		O_RESET_MARK,
		O_TIME,
		O_HELP,
	};
	static const struct option opts[] = {
	    {"queue", required_argument, NULL, O_QUEUE},
	    {"inside", required_argument, NULL, O_INSIDE},
	    {"max-src-conn", required_argument, NULL, O_MSC},
	    {"max-src-conn-rate", required_argument, NULL, O_MSCR},
	    {"max-src-states", required_argument, NULL, O_MSS},
	    {"max-src-nodes", required_argument, NULL, O_MSN},
	    {"src-track", required_argument, NULL, O_SRC_TRACK},
	    {"limit-states", required_argument, NULL, O_LIMIT_STATES},
	    {"overload-set", required_argument, NULL, O_OVERLOAD_SET},
	    {"flush", no_argument, NULL, O_FLUSH},
	    {"flush-global", no_argument, NULL, O_FLUSH_GLOBAL},
	    {"sync-peer", required_argument, NULL, O_SYNC_PEER},
	    {"sync-key", required_argument, NULL, O_SYNC_KEY},
	    {"sync-if", required_argument, NULL, O_SYNC_IF},
	    {"control", required_argument, NULL, O_CONTROL},
	    {"batch", required_argument, NULL, O_BATCH},
	    {"no-batch-verdicts", no_argument, NULL, O_NO_BATCH},
	    {"copy", required_argument, NULL, O_COPY},
	    {"reset-mark", required_argument, NULL, O_RESET_MARK},
	    {"time-lookups", no_argument, NULL, O_TIME},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	static struct fw fw;
	struct rd_src_rule_config rcfg;
	struct rd_src_config tcfg;
	struct rd_state_config scfg;
	struct rd_state_rule_config srule;
	const char *sync_peer = NULL, *sync_key = NULL, *sync_if = NULL;
	char *inside_list = NULL;
	bool queue_set = false;
	uint32_t limit_states = 100000;
	int c, rc;

	rd_src_rule_config_default(&rcfg);
	rcfg.id = RULE_ID;
	fw.batch = 64;
	fw.batch_verdicts = true;
	fw.copy = DEFAULT_COPY;
	fw.reset_mark = RESET_MARK;
	fw.ctl_fd = -1;
	/* "+": no permutation, so --overload-set can take the two words after it. */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case O_QUEUE: {
			char *dash = strchr(optarg, '-');
			if (dash != NULL)
				*dash++ = '\0';
			fw.q_lo = num(optarg, "--queue");
			fw.q_hi = dash ? num(dash, "--queue") : fw.q_lo;
			if (fw.q_hi < fw.q_lo || fw.q_hi > 65535 || fw.q_hi - fw.q_lo >= MAX_QUEUES)
				usage_error("--queue: N or N-M, at most 64 queues, below 65536");
			queue_set = true;
			break;
		}
		case O_INSIDE:
			inside_list = optarg;
			break;
		case O_MSC:
			rcfg.max_src_conn = num(optarg, "--max-src-conn");
			break;
		case O_MSCR: {
			char *slash = strchr(optarg, '/');
			if (slash == NULL)
				usage_error("--max-src-conn-rate wants N/S");
			*slash = '\0';
			rcfg.max_src_conn_rate = num(optarg, "--max-src-conn-rate");
			rcfg.max_src_conn_seconds = num(slash + 1, "--max-src-conn-rate");
			if (rcfg.max_src_conn_seconds == 0)
				usage_error("--max-src-conn-rate: S must be at least 1");
			break;
		}
		case O_MSS:
			rcfg.max_src_states = num(optarg, "--max-src-states");
			break;
		case O_MSN:
			rcfg.max_src_nodes = num(optarg, "--max-src-nodes");
			break;
		case O_SRC_TRACK:
			rcfg.src_track = (rd_time_t)num(optarg, "--src-track") * RD_SEC;
			break;
		case O_LIMIT_STATES:
			limit_states = num(optarg, "--limit-states");
			break;
		case O_OVERLOAD_SET:
			/* three words: FAMILY TABLE SET */
			if (optind + 1 >= argc)
				usage_error("--overload-set wants FAMILY TABLE SET");
			if (!nft_name_ok(optarg, sizeof(fw.ov_family)) ||
			    !nft_name_ok(argv[optind], sizeof(fw.ov_table)) ||
			    !nft_name_ok(argv[optind + 1], sizeof(fw.ov_set)))
				usage_error(
				    "--overload-set: names of letters, digits, '_', '-', '.'");
			strcpy(fw.ov_family, optarg);
			strcpy(fw.ov_table, argv[optind]);
			strcpy(fw.ov_set, argv[optind + 1]);
			optind += 2;
			fw.ov_on = true;
			rcfg.overload = true;
			break;
		case O_FLUSH:
			rcfg.flush = RD_SRC_FLUSH_RULE;
			break;
		case O_FLUSH_GLOBAL:
			rcfg.flush = RD_SRC_FLUSH_GLOBAL;
			break;
		case O_SYNC_PEER:
			sync_peer = optarg;
			break;
		case O_SYNC_KEY:
			sync_key = optarg;
			break;
		case O_SYNC_IF:
			sync_if = optarg;
			break;
		case O_CONTROL:
			fw.ctl_path = optarg;
			break;
		case O_BATCH:
			fw.batch = num(optarg, "--batch");
			if (fw.batch < 1 || fw.batch > 256)
				usage_error("--batch: 1..256");
			break;
		case O_NO_BATCH:
			fw.batch_verdicts = false;
			break;
		case O_COPY:
			fw.copy = num(optarg, "--copy");
			if (fw.copy < 128 || fw.copy > 65535)
				usage_error("--copy: 128..65535");
			break;
		case O_RESET_MARK:
			fw.reset_mark = num(optarg, "--reset-mark");
			if (fw.reset_mark == 0)
				usage_error("--reset-mark: not 0");
			break;
		case O_TIME:
			fw.time_lookups = true;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage_error("unknown option");
		}
	}
	if (optind != argc)
		usage_error("unexpected argument");
	if (!queue_set)
		usage_error("--queue is required");
	if (rcfg.flush != RD_SRC_FLUSH_NONE && !rcfg.overload)
		usage_error("--flush and --flush-global need --overload-set");
	if ((sync_peer == NULL) != (sync_key == NULL))
		usage_error("--sync-peer and --sync-key go together");
	if (inside_list != NULL)
		for (char *t = strtok(inside_list, ","); t != NULL; t = strtok(NULL, ",")) {
			if (fw.ninside == MAX_INSIDE)
				usage_error("--inside: at most 16 interfaces");
			if ((fw.inside[fw.ninside++] = if_nametoindex(t)) == 0)
				die("--inside: no interface %s", t);
		}
	if (rd_init() != 0)
		die("%s", "libsodium failed to initialise");

	/* Source tracking: rule-mode nodes whenever a limit asks for them. */
	fwglue_track(&rcfg);
	rd_src_config_default(&tcfg);
	fw.g.prog = PROG;
	fw.g.on_overload = on_overload;
	fw.g.user = &fw;
	fwglue_src_cb(&fw.g, &tcfg);
	if ((rc = rd_src_table_new(&tcfg, &fw.g.src)) != 0 ||
	    (rc = rd_src_rule_add(fw.g.src, &rcfg, &fw.rule)) != 0)
		die("source tracking: %s", rd_strerror(rc));

	rd_state_config_default(&scfg);
	scfg.limit = limit_states;
	fwglue_state_cb(&fw.g, &scfg);
	scfg.cb.event = hook_event; /* its user: &fw.g, fw's first member */
	if ((rc = rd_state_table_new(&scfg, &fw.g.st)) != 0)
		die("state table: %s", rd_strerror(rc));
	rd_state_rule_config_default(&srule);
	if ((rc = rd_state_rule_set(fw.g.st, RULE_ID, &srule)) != 0)
		die("rule: %s", rd_strerror(rc));

	if (fw.ov_on) {
		char cmd[256];
		if ((fw.nft = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL)
			die("%s", "libnftables: no context");
		nft_ctx_buffer_output(fw.nft);
		nft_ctx_buffer_error(fw.nft);
		snprintf(cmd, sizeof(cmd), "list set %s %s %s", fw.ov_family, fw.ov_table,
		         fw.ov_set);
		if (nft_cmd(&fw, cmd) != 0)
			die("--overload-set %s: no such set", fw.ov_set);
	}

	/* The queue socket: large buffer, no ENOBUFS errors (the kernel counts drops). */
	if ((fw.nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) == NULL ||
	    mnl_socket_bind(fw.nl, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink: %s", strerror(errno));
	{
		int one = 1, size = 8 << 20;
		setsockopt(mnl_socket_get_fd(fw.nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one,
		           sizeof(one));
		if (setsockopt(mnl_socket_get_fd(fw.nl), SOL_SOCKET, SO_RCVBUFFORCE, &size,
		               sizeof(size)) < 0)
			setsockopt(mnl_socket_get_fd(fw.nl), SOL_SOCKET, SO_RCVBUF, &size,
			           sizeof(size));
	}
	fw.rxlen = fw.copy + 1024; /* the message's headers and attributes besides the copy */
	fw.rxbuf = malloc((size_t)fw.batch * fw.rxlen);
	fw.txcap = ((size_t)fw.batch + MAX_QUEUES + 1) * NFQ_MSG_MAX;
	fw.txbuf = malloc(fw.txcap);
	/* a round's messages: each at least a netlink and an nfgenmsg header */
	fw.acc_cap = (size_t)fw.batch * fw.rxlen / (MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg));
	fw.acc = calloc(fw.acc_cap, sizeof(*fw.acc));
	if (fw.rxbuf == NULL || fw.txbuf == NULL || fw.acc == NULL)
		die("%s", "out of memory");
	queue_bind(&fw);

	if (sync_peer != NULL)
		sync_open(&fw, sync_peer, sync_key, sync_if);
	if (fw.ctl_path != NULL)
		ctl_open(&fw);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, PROG ": queue %u-%u, creatorid %08" PRIx32 "%s\n", fw.q_lo, fw.q_hi,
	        rd_state_creatorid(fw.g.st), fw.carry ? ", syncing" : "");

	while (!stop) {
		struct pollfd pfd[3];
		nfds_t n = 0;
		rd_time_t now = now_ns(), next = now + RD_SEC, e;
		int timeout;

		if ((e = rd_state_expiry(fw.g.st)) < next)
			next = e;
		if ((e = rd_src_expiry(fw.g.src)) < next)
			next = e;
		if (fw.carry != NULL) {
			if ((e = rd_sync_channel_expiry(fw.ch)) < next)
				next = e;
			if ((e = rd_sync_engine_expiry(fw.eng)) < next)
				next = e;
		}
		timeout = next <= now ? 0 : (int)((next - now + RD_MSEC - 1) / RD_MSEC);
		pfd[n++] = (struct pollfd){.fd = mnl_socket_get_fd(fw.nl), .events = POLLIN};
		if (fw.io != NULL)
			pfd[n++] = (struct pollfd){
			    .fd = rd_io_sync_fd(fw.io),
			    .events = (short)(POLLIN | (rd_io_sync_pending(fw.io) ? POLLOUT : 0))};
		if (fw.ctl_fd >= 0)
			pfd[n++] = (struct pollfd){.fd = fw.ctl_fd, .events = POLLIN};
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pfd[0].revents & POLLIN) {
			/* Bounded: the sync socket and the timers get their turn. */
			for (int r = 0; r < 64 && queue_round(&fw) == (int)fw.batch; r++)
				;
		}
		for (nfds_t i = 1; i < n; i++) {
			if (fw.io != NULL && pfd[i].fd == rd_io_sync_fd(fw.io) && pfd[i].revents)
				sync_input(&fw);
			if (pfd[i].fd == fw.ctl_fd && (pfd[i].revents & POLLIN))
				ctl_serve(&fw);
		}
		now = now_ns();
		rd_state_handle_expiry(fw.g.st, now);
		rd_src_handle_expiry(fw.g.src, now, 256);
		if (fw.carry != NULL) {
			rd_sync_channel_handle_expiry(fw.ch, now);
			rd_sync_engine_handle_expiry(fw.eng, now);
			rd_io_sync_flush(fw.io);
		}
	}

	queue_unbind(&fw);
	mnl_socket_close(fw.nl);
	if (fw.carry != NULL) {
		rd_sync_engine_flush(fw.eng, now_ns());
		rd_io_sync_flush(fw.io);
		rd_sync_carry_free(fw.carry);
		rd_io_sync_close(fw.io);
	}
	if (fw.ctl_fd >= 0) {
		close(fw.ctl_fd);
		unlink(fw.ctl_path);
	}
	fw.eng = NULL;
	rd_state_table_free(fw.g.st, now_ns());
	rd_src_table_free(fw.g.src);
	if (fw.nft != NULL)
		nft_ctx_free(fw.nft);
	addr_set_free(&fw.g.overload);
	free(fw.rxbuf);
	free(fw.txbuf);
	free(fw.acc);
	return 0;
}
