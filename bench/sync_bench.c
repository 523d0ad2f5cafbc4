/*
 * sync-bench: the state sync numbers of issue 5.
 *
 *  1. codec: pfsync v6 encode plus decode of full states (INS messages),
 *     one core, packets filled to the MTU (1500 and 9000).
 *  1b. import: the receiving half of a bulk without the network: BUS START,
 *     1,000,000 full states (UPD packed to the MTU), BUS END, applied by
 *     rd_sync_engine_input to an empty table on one core (the receiver's
 *     CPU bound).
 *  1c. aead: sealing and opening of full envelopes (the payload of a
 *     9000-byte datagram) with each AEAD on one core, through
 *     rd_sync_env_seal/rd_sync_env_open (which expand an AES-GCM key
 *     schedule per call, about 0.2 us; the channel does it once per key).
 *  2. bulk: 1,000,000 states from one sync engine to another over a veth
 *     pair between two network namespaces, through the real transport
 *     (libredund io sync sockets; secure mode: the secure channel, sealed
 *     envelopes, once with each AEAD (XChaCha20-Poly1305, and AES-256-GCM
 *     where the CPU has it); plain mode: raw pfsync, protocol 240), each
 *     secure run's time then as a ratio to plain's. Timed from the
 *     receiver's bulk request (UPD_REQ 0/0) to BUS END with every state in
 *     its table.
 *  3. convergence: both nodes hold the same 100,000 states; the receiver's
 *     namespace drops all sync traffic (nftables) while the sender changes
 *     every state; then the partition heals into 30% random loss (nftables
 *     `numgen random mod 100 < 30 drop`) and the time until the receiver
 *     holds every change is measured (secure mode: acknowledgements, NACKs
 *     and resends recover the loss).
 *
 * 2 and 3 need root (they create the namespaces, the veth pair and the
 * nftables rules themselves, then fork one process into each namespace with
 * setns); unprivileged they are skipped with a note.
 *
 *   sync-bench [--json] [--quick] [--mtu N] [--states N] [--changes N]
 *              [--bulk-packets N] [--bufsize KiB] [--open-thread 0|1]
 *              [--reserve 0|1] [--aead NAME]
 *              [--only codec|import|aead|bulk|converge]
 *     --json    one JSON object a line: {"measure": ..., "value": ..., "unit": ...}
 *     --quick   small sizes (smoke test)
 *     --bulk-packets  packets the bulk sender sends a millisecond at most
 *               (default 96 secure, 40 plain; without it plain also runs
 *               at 96)
 *     --bufsize  socket buffer size in KiB (default 65536)
 *     --open-thread  1: the secure bulk's receiver opens envelopes on a
 *               second thread (rd_sync_opener) while its first imports;
 *               0 (default): one thread does both
 *     --reserve  1: the bulk receiver's table reserves its memory at
 *               creation (rd_state_config.reserve); default 0
 *     --aead    secure runs with this AEAD only (xchacha20poly1305 or
 *               aes256gcm; default: the bulk with both, convergence with
 *               xchacha20poly1305)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redund/io_sync.h"
#include "redund/pfsync.h"
#include "redund/state.h"
#include "redund/sync.h"
#include "redund/sync_engine.h"
#include "redund/sync_carry.h"

static bool json;
#define CREATOR_AEAD 0x0a0a0a0bu /* the aead measures' sender id */
#define SEQ_BASE     ((uint64_t)1 << 40)
/*
 * The bulk sender's pacing, packets a millisecond at most (the engine's
 * bulk_packets per 1 ms bulk_interval), chosen per transport from
 * measurements on a 2-vCPU VM. Secure mode is also clocked by the
 * channel's acknowledgements (the engine paces by rd_sync_channel_room),
 * so a receiver that falls behind slows the sender; raw pfsync has no
 * feedback, and above about 40 packets (1,300 states) a millisecond the
 * receiver falls behind and loses states for good. 0: these defaults;
 * --bulk-packets sets both.
 */
static unsigned bulk_packets;
#define BULK_PACKETS_SECURE 96
#define BULK_PACKETS_PLAIN  40
static rd_time_t chan_rto; /* the channel's resend timeout; 0: its default */
/*
 * The secure channel's resend buffer and hold buffer (DATA envelopes).
 * Convergence keeps 8192 sent envelopes, so a partition of 100,000 changes
 * is recovered by resends; the bulk keeps the channel's default 1024: a
 * ring of 8192 9-KB envelopes is 74 MB that the bulk's sender would first
 * touch while sending, a page fault every 4 KiB (its first 270,000 states
 * were bound by that). The hold buffer is the window a bulk can have in
 * flight (rd_sync_channel_room: min of the two); 512 is the most the
 * replay window allows.
 */
static size_t chan_resend = 8192;
static size_t chan_hold = 512;
/*
 * The bulk receiver's table reserves its memory for the bulk at creation
 * (rd_state_config.reserve): --reserve 1. Default off.
 */
static bool table_reserve;
/*
 * --open-thread 1: the secure bulk receiver opens envelopes on a second
 * thread (rd_sync_opener) while its main thread imports
 * (rd_sync_channel_input_opened). Default off: on the 2-vCPU VM this was
 * measured on, the sender and the receiver's two threads share two cores,
 * and the bulk took 0.64-0.71 s against 0.52-0.60 s on one thread
 * (bench/README.md).
 */
static bool open_thread;
/*
 * Socket buffers. Large, so a receiver that falls behind the bulk sender
 * drops little (plain mode cannot recover a drop). Note for secure mode: a
 * backlog deeper than the channel's replay window (1024 datagrams) makes a
 * resend arrive "too old"; smaller buffers did not help in measurements.
 */
static size_t sock_buf = 64u << 20;
/* The AEAD of the secure nodes' key (enum rd_sync_aead); the children inherit it. */
static uint8_t node_aead = RD_SYNC_AEAD_XCHACHA20POLY1305;

static rd_time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (rd_time_t)ts.tv_sec * RD_SEC + (rd_time_t)ts.tv_nsec;
}

static void emit(const char *measure, double value, const char *unit, const char *note)
{
	if (json)
		printf("{\"measure\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"%s%s%s}\n", measure,
		       value, unit, note ? ", \"note\": \"" : "", note ? note : "",
		       note ? "\"" : "");
	else
		printf("%-34s %14.6g %s%s%s\n", measure, value, unit, note ? "  " : "",
		       note ? note : "");
	fflush(stdout);
}

static void skip(const char *measure, const char *why)
{
	if (json)
		printf("{\"measure\": \"%s\", \"skipped\": \"%s\"}\n", measure, why);
	else
		printf("%-34s skipped: %s\n", measure, why);
	fflush(stdout);
}

/* ---------------------------------------------------------------------- */
/* 1. codec                                                                */

static void fill_state(struct rd_pfsync_state *s, uint32_t i)
{
	memset(s, 0, sizeof(*s));
	s->id = 0x5f000000000000ULL + i;
	strcpy(s->ifname, "all");
	s->af = RD_AF_INET;
	s->proto = 6;
	for (int k = 0; k < 2; k++) {
		s->key[k].af = RD_AF_INET;
		s->key[k].proto = 6;
		s->key[k].addr[0] = rd_addr_v4(0x0a000000u + (i & 0xffffff));
		s->key[k].addr[1] = rd_addr_v4(0xc0000201u);
		s->key[k].port[0] = (uint16_t)(1024 + (i % 60000));
		s->key[k].port[1] = 443;
	}
	s->src.state = RD_PFSYNC_TCPS_ESTABLISHED;
	s->dst.state = RD_PFSYNC_TCPS_ESTABLISHED;
	s->src.seqlo = i * 7919u;
	s->src.seqhi = s->src.seqlo + 65535;
	s->src.max_win = 65535;
	s->dst.seqlo = i * 104729u;
	s->dst.seqhi = s->dst.seqlo + 65535;
	s->rule = -1;
	s->anchor = -1;
	s->nat_rule = -1;
	s->creation = 10;
	s->expire = 86390;
	s->packets[0] = i;
	s->bytes[0] = (uint64_t)i * 1000;
	s->creatorid = 0x01020304;
	s->direction = RD_PFSYNC_DIR_IN;
	s->timeout = RD_PFSYNC_TM_TCP_ESTABLISHED;
}

static int count_msg(void *user, const struct rd_pfsync_msg *m)
{
	uint64_t *sum = user;

	*sum += m->u.state.id ^ m->u.state.src.seqlo;
	return 0;
}

static void bench_codec(size_t mtu, size_t n)
{
	struct rd_pfsync_msg *msgs = malloc(1024 * sizeof(*msgs));
	uint8_t *pkt = malloc(mtu);
	struct rd_pfsync_stats st = {0};
	struct rd_pfsync_builder b;
	uint64_t sum = 0;
	size_t done = 0;
	char name[64];
	rd_time_t t0;

	for (uint32_t i = 0; i < 1024; i++) {
		msgs[i].action = RD_PFSYNC_ACT_INS;
		fill_state(&msgs[i].u.state, i);
	}
	t0 = mono();
	while (done < n) {
		size_t len, k = 0;

		rd_pfsync_builder_init(&b, pkt, mtu - 20);
		while (rd_pfsync_builder_add(&b, &msgs[(done + k) % 1024]) == 0)
			k++;
		len = rd_pfsync_builder_finish(&b);
		if (rd_pfsync_decode(pkt, len, &st, NULL, count_msg, &sum) != 0) {
			fprintf(stderr, "sync-bench: decode refused our own packet\n");
			exit(1);
		}
		done += k;
	}
	snprintf(name, sizeof(name), "codec_states_per_s_mtu%zu", mtu);
	emit(name, (double)done / ((double)(mono() - t0) / RD_SEC), "states/s",
	     sum == 0 ? "checksum zero" : NULL);
	free(msgs);
	free(pkt);
}

static void drop_pkt(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	(void)user;
	(void)pkt;
	(void)len;
	(void)now;
}

/* A bulk as pfsync packets of at most psize bytes: BUS START, n UPD, BUS END. */
struct bulk_pkts {
	uint8_t **pkts;
	size_t *lens;
	size_t n;
};

static void bulk_build(size_t psize, size_t n, struct bulk_pkts *bp)
{
	size_t cap = 0, done = 0;
	struct rd_pfsync_builder b;
	struct rd_pfsync_msg m;
	bool ended = false;

	memset(bp, 0, sizeof(*bp));
	while (!ended) {
		if (bp->n == cap) {
			cap = cap ? cap * 2 : 1024;
			bp->pkts = realloc(bp->pkts, cap * sizeof(*bp->pkts));
			bp->lens = realloc(bp->lens, cap * sizeof(*bp->lens));
			if (bp->pkts == NULL || bp->lens == NULL)
				exit(1);
		}
		bp->pkts[bp->n] = malloc(psize);
		if (bp->pkts[bp->n] == NULL)
			exit(1);
		rd_pfsync_builder_init(&b, bp->pkts[bp->n], psize);
		if (bp->n == 0) {
			memset(&m, 0, sizeof(m));
			m.action = RD_PFSYNC_ACT_BUS;
			m.u.bus.creatorid = 0x01020304;
			m.u.bus.status = RD_PFSYNC_BUS_START;
			rd_pfsync_builder_add(&b, &m);
		}
		m.action = RD_PFSYNC_ACT_UPD;
		for (; done < n; done++) {
			fill_state(&m.u.state, (uint32_t)done);
			if (rd_pfsync_builder_add(&b, &m) != 0)
				break;
		}
		if (done == n) {
			memset(&m, 0, sizeof(m));
			m.action = RD_PFSYNC_ACT_BUS;
			m.u.bus.creatorid = 0x01020304;
			m.u.bus.status = RD_PFSYNC_BUS_END;
			ended =
			    rd_pfsync_builder_add(&b, &m) == 0; /* else in a packet of its own */
		}
		bp->lens[bp->n++] = rd_pfsync_builder_finish(&b);
	}
}

static void bulk_free(struct bulk_pkts *bp)
{
	for (size_t i = 0; i < bp->n; i++)
		free(bp->pkts[i]);
	free(bp->pkts);
	free(bp->lens);
}

/* The bulk receiver's table (node_open): sized for n, no adaptive timeouts. */
static struct rd_state_table *import_table(size_t n)
{
	struct rd_state_config sc;
	struct rd_state_table *t;

	rd_state_config_default(&sc);
	sc.limit = (uint32_t)(n * 2 + 1024);
	sc.size_hint = (uint32_t)n;
	sc.creatorid = 0x0a0b0c0d;
	sc.timeouts[RD_STATE_TM_ADAPTIVE_START] = 0;
	sc.timeouts[RD_STATE_TM_ADAPTIVE_END] = 0;
	if (rd_state_table_new(&sc, &t) != 0)
		exit(1);
	return t;
}

/* This thread's CPU time in ns. */
static rd_time_t thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (rd_time_t)ts.tv_sec * RD_SEC + (rd_time_t)ts.tv_nsec;
}

/* 1b. import (see the top); the packets are built before the clock starts. */
static void bench_import(size_t mtu, size_t n)
{
	struct bulk_pkts bp;
	struct rd_state_table *t;
	struct rd_sync_engine *e;
	struct rd_sync_engine_config ec = {0};
	char name[64];
	rd_time_t t0, now = RD_SEC;

	bulk_build(mtu, n, &bp);
	t = import_table(n);
	ec.table = t;
	ec.mtu = mtu;
	ec.cb.send = drop_pkt;
	if (rd_sync_engine_new(&ec, &e) != 0)
		exit(1);
	t0 = mono();
	for (size_t i = 0; i < bp.n; i++)
		if (rd_sync_engine_input(e, bp.pkts[i], bp.lens[i], now) != 0)
			exit(1);
	double secs = (double)(mono() - t0) / RD_SEC;
	snprintf(name, sizeof(name), "import_states_per_s_mtu%zu", mtu);
	emit(name, (double)n / secs, "states/s",
	     rd_state_count(t) == n ? NULL : "incomplete: states missing");
	rd_sync_engine_free(e);
	rd_state_table_free(t, now);
	bulk_free(&bp);
}

static void drop_env(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	(void)user;
	(void)to;
	(void)pkt;
	(void)len;
}

/*
 * 1d. secure import: the receiving half of a secure bulk without the
 * network, on one core: the same bulk as 1b in packets sized for an
 * envelope in a datagram of mtu bytes, sealed beforehand (a HELLO, then
 * DATA), opened by a channel and applied by its engine (a carry, as syncd
 * and the bulk's receiver have them); and the same packets applied
 * unsealed (plain) first. Times are this thread's CPU time: the
 * receiver's cost, what bounds the bulk when the machine is otherwise
 * idle, and what a loaded machine disturbs least.
 */
static void bench_import_secure(size_t mtu, size_t n, int aead_only)
{
	size_t psize = mtu - 28 - RD_SYNC_ENV_OVERHEAD, envcap = psize + RD_SYNC_ENV_OVERHEAD;
	struct bulk_pkts bp;
	uint8_t *envs, hello[RD_SYNC_HELLO_LEN + RD_SYNC_ENV_OVERHEAD];
	size_t *envlens;
	double plain_s = 0;
	char name[80], note[96];

	bulk_build(psize, n, &bp);
	envs = malloc(bp.n * envcap);
	envlens = malloc(bp.n * sizeof(*envlens));
	if (envs == NULL || envlens == NULL)
		exit(1);
	/* Plain first and again last: the two bracket any drift of the machine. */
	for (int r = -1; r <= RD_SYNC_AEAD_COUNT; r++) {
		int a = r == RD_SYNC_AEAD_COUNT ? -1 : r;
		struct rd_state_table *t = import_table(n);
		struct rd_sync_engine_config ec = {0};
		struct rd_sync_carry_config cc;
		struct rd_sync_carry *carry = NULL;
		struct rd_sync_channel *ch = NULL;
		struct rd_sync_engine *e;
		struct rd_sync_key key;
		rd_time_t c0, now = RD_SEC;
		double secs;

		if (a >= 0 && ((aead_only >= 0 && a != aead_only) || !rd_sync_aead_available(a))) {
			rd_state_table_free(t, now);
			continue;
		}
		ec.table = t;
		ec.mtu = psize;
		ec.cb.send = drop_pkt;
		if (a < 0) {
			if (rd_sync_engine_new(&ec, &e) != 0)
				exit(1);
		} else {
			struct rd_sync_env_hdr h = {.type = RD_SYNC_ENV_HELLO,
			                            .key_id = 1,
			                            .sender = CREATOR_AEAD,
			                            .seq = SEQ_BASE};
			uint8_t pl[RD_SYNC_HELLO_LEN];

			memset(&key, 0, sizeof(key));
			key.id = 1;
			key.aead = (uint8_t)a;
			memset(key.key, 0x42, sizeof(key.key));
			/* The sender's HELLO (next, oldest, first), then its DATA. */
			for (int k = 0; k < 3; k++)
				for (int b = 0; b < 8; b++)
					pl[k * 8 + b] = (uint8_t)((SEQ_BASE + 1) >> (56 - 8 * b));
			if (rd_sync_env_seal(&key, &h, NULL, pl, sizeof(pl), hello, sizeof(hello)) <
			    0)
				exit(1);
			h.type = RD_SYNC_ENV_DATA;
			for (size_t i = 0; i < bp.n; i++) {
				int len;

				h.seq = SEQ_BASE + 1 + i;
				len = rd_sync_env_seal(&key, &h, NULL, bp.pkts[i], bp.lens[i],
				                       envs + i * envcap, envcap);
				if (len < 0)
					exit(1);
				envlens[i] = (size_t)len;
			}
			rd_sync_carry_config_default(&cc);
			cc.channel.sender_id = CREATOR_AEAD + 1;
			cc.channel.seq_start = SEQ_BASE;
			cc.channel.keys = &key;
			cc.channel.nkeys = 1;
			cc.channel.send_key_id = 1;
			cc.channel.mtu = envcap;
			cc.channel.cb.send = drop_env;
			cc.engine = ec;
			cc.engine.mtu = 0;
			if (rd_sync_carry_new(&cc, &carry) != 0)
				exit(1);
			ch = rd_sync_carry_channel(carry);
			e = rd_sync_carry_engine(carry);
		}
		c0 = thread_cpu();
		if (ch != NULL) {
			if (rd_sync_channel_input(ch, hello, sizeof(hello), now) != 0)
				exit(1);
			for (size_t i = 0; i < bp.n; i++)
				if (rd_sync_channel_input(ch, envs + i * envcap, envlens[i], now) !=
				    0)
					exit(1);
		} else {
			for (size_t i = 0; i < bp.n; i++)
				if (rd_sync_engine_input(e, bp.pkts[i], bp.lens[i], now) != 0)
					exit(1);
		}
		secs = (double)(thread_cpu() - c0) / RD_SEC;
		if (a < 0) {
			if (r < 0)
				plain_s = secs;
			snprintf(name, sizeof(name), "import_plain_cpu_s%s", r < 0 ? "" : "_again");
			snprintf(note, sizeof(note), "%zu states, packets of %zu bytes", n, psize);
		} else {
			snprintf(name, sizeof(name), "import_secure_%s_cpu_s",
			         rd_sync_aead_name(a));
			snprintf(note, sizeof(note), "%.2fx plain",
			         plain_s > 0 ? secs / plain_s : 0);
		}
		emit(name, secs, "s", rd_state_count(t) == n ? note : "incomplete: states missing");
		if (carry != NULL)
			rd_sync_carry_free(carry);
		else
			rd_sync_engine_free(e);
		rd_state_table_free(t, now);
	}
	free(envs);
	free(envlens);
	bulk_free(&bp);
}

/*
 * 1c. aead (see the top): n envelopes of `payload` bytes sealed, then
 * opened; MB/s of payload by this thread's CPU time (on a shared machine,
 * wall time measures the neighbours).
 */
static void bench_aead(int aead, size_t payload, size_t n)
{
	struct rd_sync_key key;
	struct rd_sync_env_hdr h = {.type = RD_SYNC_ENV_DATA, .key_id = 1, .sender = CREATOR_AEAD};
	size_t envlen = payload + RD_SYNC_ENV_OVERHEAD, opened = 0;
	uint8_t *pt = malloc(payload), *back = malloc(payload);
	uint8_t *envs = malloc(64 * envlen);
	rd_time_t seal_ns = 0, open_ns = 0, t0;
	char name[64];

	if (pt == NULL || back == NULL || envs == NULL)
		exit(1);
	memset(&key, 0, sizeof(key));
	key.id = 1;
	key.aead = (uint8_t)aead;
	memset(key.key, 0x42, sizeof(key.key));
	for (size_t i = 0; i < payload; i++)
		pt[i] = (uint8_t)(i * 31);
	/* 64 envelopes at a time: sealed, then opened, as a sender and a receiver would. */
	for (size_t done = 0; done < n; done += 64) {
		t0 = thread_cpu();
		for (size_t i = 0; i < 64; i++) {
			h.seq = done + i + 1;
			if (rd_sync_env_seal(&key, &h, NULL, pt, payload, envs + i * envlen,
			                     envlen) != (int)envlen)
				exit(1);
		}
		seal_ns += thread_cpu() - t0;
		t0 = thread_cpu();
		for (size_t i = 0; i < 64; i++)
			if (rd_sync_env_open(&key, 1, envs + i * envlen, envlen, NULL, back,
			                     payload, NULL) == (int)payload)
				opened++;
		open_ns += thread_cpu() - t0;
	}
	snprintf(name, sizeof(name), "aead_seal_MBps_%s", rd_sync_aead_name(aead));
	emit(name, (double)payload * (double)n / 1e6 / ((double)seal_ns / RD_SEC), "MB/s", NULL);
	snprintf(name, sizeof(name), "aead_open_MBps_%s", rd_sync_aead_name(aead));
	emit(name, (double)payload * (double)n / 1e6 / ((double)open_ns / RD_SEC), "MB/s",
	     opened == (n + 63) / 64 * 64 ? NULL : "some envelopes did not open");
	free(pt);
	free(back);
	free(envs);
}

/* ---------------------------------------------------------------------- */
/* Nodes: a table, an engine, maybe a channel, a transport                  */

/* Namespace names carry the pid, so concurrent runs do not collide. */
static char NS_A[32], NS_B[32];
#define ADDR_A  "10.250.0.1"
#define ADDR_B  "10.250.0.2"
#define CREATOR 0x0a0a0a0au

struct node {
	bool secure;
	struct rd_state_table *t;
	struct rd_sync_engine *e;
	struct rd_sync_channel *ch;
	struct rd_sync_carry *carry; /* secure: owns e and ch */
	struct rd_sync_carry_config carry_cfg;
	struct rd_sync_key key;
	struct rd_io_sync *io;
	size_t payload; /* largest UDP/IP payload: a raw pfsync packet or an envelope */
	/* receiver bookkeeping */
	uint64_t want_src_state; /* count states whose src.state reaches this */
	uint8_t *seen;           /* by id - base */
	uint64_t id_base;
	size_t nseen, nids;
};

static void node_event(void *user, struct rd_state *st, int ev, int why, rd_time_t now)
{
	struct node *n = user;

	if (n->e != NULL)
		rd_sync_engine_state_event(n->e, st, ev, why, now);
	if (n->seen != NULL && ev != RD_STATE_EV_REMOVE && st->src.state == n->want_src_state &&
	    st->id >= n->id_base && st->id - n->id_base < n->nids &&
	    !n->seen[st->id - n->id_base]) {
		n->seen[st->id - n->id_base] = 1;
		n->nseen++;
	}
}

static void eng_send(void *user, const uint8_t *pkt, size_t len, rd_time_t now)
{
	struct node *n = user;

	(void)now;
	rd_io_sync_queue(n->io, NULL, pkt, len); /* raw pfsync; secure: the carry */
}

static void ch_send(void *user, uint32_t to, const uint8_t *pkt, size_t len)
{
	struct node *n = user;

	(void)to;
	rd_io_sync_queue(n->io, NULL, pkt, len);
}

static int node_open(struct node *n, bool secure, uint32_t creatorid, const char *peer, size_t mtu,
                     size_t nstates)
{
	struct rd_state_config sc;
	struct rd_io_sync_config ic = {0};
	size_t payload;
	int rc;

	n->secure = secure;
	rd_state_config_default(&sc);
	sc.limit = (uint32_t)(nstates * 2 + 1024);
	sc.size_hint = (uint32_t)nstates;
	sc.creatorid = creatorid;
	sc.timeouts[RD_STATE_TM_ADAPTIVE_START] = 0;
	sc.timeouts[RD_STATE_TM_ADAPTIVE_END] = 0;
	sc.reserve = table_reserve;
	sc.cb.user = n;
	sc.cb.event = node_event;
	if ((rc = rd_state_table_new(&sc, &n->t)) != 0)
		return rc;
	ic.mode = secure ? RD_IO_SYNC_SECURE : RD_IO_SYNC_PLAIN;
	rd_addr_parse(peer, &ic.peers[0]);
	ic.npeers = 1;
	ic.bufsize = sock_buf;
	ic.batch = 256;
	ic.max_dgram = mtu + 64;
	if ((rc = rd_io_sync_open(&ic, &n->io)) < 0) {
		fprintf(stderr, "sync-bench: transport: %s\n", strerror(-rc));
		return rc;
	}
	payload = mtu - rd_io_sync_overhead(n->io);
	if (secure) {
		/* The channel's half of the carry; node_engine makes both. */
		struct rd_sync_channel_config *cc = &n->carry_cfg.channel;

		rd_sync_carry_config_default(&n->carry_cfg);
		n->key.id = 1;
		memset(n->key.key, 0x42, sizeof(n->key.key)); /* both ends: the same test key */
		n->key.aead = node_aead;
		cc->sender_id = creatorid;
		cc->seq_start = SEQ_BASE;
		cc->keys = &n->key;
		cc->nkeys = 1;
		cc->send_key_id = 1;
		cc->mtu = payload;
		cc->resend_slots = chan_resend;
		cc->hold_slots = chan_hold;
		cc->hello_interval = 100 * RD_MSEC;
		cc->rto = chan_rto;
		cc->cb.send = ch_send;
		cc->cb.user = n;
	}
	n->payload = payload;
	return 0;
}

/*
 * The engine, once the table holds the node's initial states: they are
 * then the table's and not changes to send.
 */
static int node_engine(struct node *n)
{
	struct rd_sync_engine_config ec = {0};
	int rc;

	ec.table = n->t;
	if (!n->secure)
		ec.mtu = n->payload; /* secure: the channel's payload_max */
	ec.bulk_packets = bulk_packets ? bulk_packets
	                  : n->secure  ? BULK_PACKETS_SECURE
	                               : BULK_PACKETS_PLAIN;
	ec.bulk_interval = RD_MSEC;
	ec.bulk_req_interval = 200 * RD_MSEC;
	if (!n->secure) {
		ec.cb.send = eng_send;
		ec.cb.user = n;
		return rd_sync_engine_new(&ec, &n->e);
	}
	/* The binding syncd uses: mtu, sends, receives, pacing. */
	n->carry_cfg.engine = ec;
	if ((rc = rd_sync_carry_new(&n->carry_cfg, &n->carry)) != 0)
		return rc;
	n->ch = rd_sync_carry_channel(n->carry);
	n->e = rd_sync_carry_engine(n->carry);
	return 0;
}

/* This process's CPU time (user and system), in seconds. */
static double cpu_seconds(void)
{
	struct timespec cpu;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	return (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
}

/* One round of the loop: timers, a poll of at most `max_wait`, receive, send. */
/*
 * The timers' part of a loop round: what is due now, the sends flushed;
 * returns the wait until the next timer, at most max_wait.
 */
static struct timespec node_timers(struct node *n, rd_time_t max_wait)
{
	rd_time_t now = mono(), next = now + max_wait, x;

	rd_sync_engine_handle_expiry(n->e, now);
	if (n->ch != NULL)
		rd_sync_channel_handle_expiry(n->ch, now);
	rd_io_sync_flush(n->io);
	if ((x = rd_sync_engine_expiry(n->e)) < next)
		next = x;
	if (n->ch != NULL && (x = rd_sync_channel_expiry(n->ch)) < next)
		next = x;
	now = mono();
	next = next > now ? next - now : 0;
	return (struct timespec){.tv_sec = (time_t)(next / RD_SEC),
	                         .tv_nsec = (long)(next % RD_SEC)};
}

static void node_step(struct node *n, rd_time_t max_wait, int extra_fd, bool *extra_ready)
{
	struct rd_io_sync_msg msgs[256];
	struct pollfd p[2];
	struct timespec ts = node_timers(n, max_wait);
	rd_time_t now;
	int r;

	p[0].fd = rd_io_sync_fd(n->io);
	p[0].events = POLLIN | (rd_io_sync_pending(n->io) ? POLLOUT : 0);
	p[1].fd = extra_fd;
	p[1].events = POLLIN;
	r = ppoll(p, extra_fd >= 0 ? 2 : 1, &ts, NULL);
	if (r <= 0)
		return;
	if (extra_fd >= 0 && (p[1].revents & POLLIN) && extra_ready != NULL)
		*extra_ready = true;
	if (p[0].revents & POLLOUT)
		rd_io_sync_flush(n->io);
	for (int rounds = 0; rounds < 64 && (p[0].revents & POLLIN); rounds++) {
		int k = rd_io_sync_recv(n->io, msgs, 256);

		if (k < 0)
			break;
		now = mono();
		for (int i = 0; i < k; i++) {
			if (n->ch != NULL)
				rd_sync_channel_input(n->ch, msgs[i].data, msgs[i].len, now);
			else
				rd_sync_engine_input(n->e, msgs[i].data, msgs[i].len, now);
		}
		rd_io_sync_flush(n->io);
	}
}

/* One counter of a channel (enum rd_sync_stat). */
static uint64_t channel_stat(const struct rd_sync_channel *ch, int stat)
{
	uint64_t v[RD_SYNC_STAT_COUNT];

	rd_sync_channel_stats(ch, v);
	return v[stat];
}

/* Every counter, to stderr (SYNC_BENCH_DEBUG). */
static void node_dump(const char *who, struct node *n)
{
	uint64_t es[RD_SYNC_ENGINE_STAT_COUNT], ps[RD_PFSYNC_STAT_COUNT];
	uint64_t ios[RD_IO_SYNC_STAT_COUNT], cs[RD_SYNC_STAT_COUNT];

	fprintf(stderr, "%s: states %u\n  engine:", who, rd_state_count(n->t));
	rd_sync_engine_stats(n->e, es);
	for (int i = 0; i < RD_SYNC_ENGINE_STAT_COUNT; i++)
		fprintf(stderr, " %s %" PRIu64, rd_sync_engine_stat_name(i), es[i]);
	fprintf(stderr, "\n  pfsync:");
	rd_sync_engine_pfsync_stats(n->e, ps);
	for (int i = 0; i < RD_PFSYNC_STAT_COUNT; i++)
		fprintf(stderr, " %s %" PRIu64, rd_pfsync_stat_name(i), ps[i]);
	fprintf(stderr, "\n  io:");
	rd_io_sync_stats(n->io, ios);
	for (int i = 0; i < RD_IO_SYNC_STAT_COUNT; i++)
		fprintf(stderr, " %s %" PRIu64, rd_io_sync_stat_name(i), ios[i]);
	if (n->ch != NULL) {
		fprintf(stderr, "\n  channel:");
		rd_sync_channel_stats(n->ch, cs);
		for (int i = 0; i < RD_SYNC_STAT_COUNT; i++)
			fprintf(stderr, " %s %" PRIu64, rd_sync_stat_name(i), cs[i]);
	}
	fprintf(stderr, "\n");
}

static void fill_table(struct node *n, size_t count, uint64_t id_base, uint32_t creatorid,
                       uint8_t src_state)
{
	rd_time_t now = mono();

	for (size_t i = 0; i < count; i++) {
		struct rd_state_info in;
		uint32_t a = 0x0a000000u + (uint32_t)(i / 50000), b = 0xc6336401u;

		memset(&in, 0, sizeof(in));
		in.wire.af = RD_AF_INET;
		in.wire.proto = 6;
		memcpy(in.wire.addr[0], &a, 4);
		memcpy(in.wire.addr[1], &b, 4);
		in.wire.port[0] = (uint16_t)(1024 + i % 50000);
		in.wire.port[1] = 443;
		in.stack = in.wire;
		in.id = id_base + i;
		in.creatorid = creatorid;
		in.rule = RD_STATE_RULE_NONE;
		in.src.state = src_state;
		in.dst.state = RD_TCPS_ESTABLISHED;
		in.timeout = RD_STATE_TM_TCP_ESTABLISHED;
		if (rd_state_import(n->t, &in, now, NULL) != 0) {
			fprintf(stderr, "sync-bench: import %zu refused\n", i);
			exit(1);
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Namespaces                                                              */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static void ns_down(void)
{
	sh("ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", NS_A, NS_B);
}

static int ns_up(size_t mtu)
{
	ns_down();
	if (sh("ip netns add %s && ip netns add %s && ip link add rdsb0 netns %s"
	       " mtu %zu type veth peer name rdsb1 netns %s mtu %zu"
	       " && ip -n %s addr add " ADDR_A "/24 dev rdsb0"
	       " && ip -n %s addr add " ADDR_B "/24 dev rdsb1"
	       " && ip -n %s link set rdsb0 up && ip -n %s link set rdsb1 up"
	       " && ip -n %s link set lo up && ip -n %s link set lo up",
	       NS_A, NS_B, NS_A, mtu, NS_B, mtu, NS_A, NS_B, NS_A, NS_B, NS_A, NS_B) != 0)
		return -1;
	return 0;
}

static int enter_ns(const char *name)
{
	char path[128];
	int fd, rc;

	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

/* Run fn in a child inside namespace ns; returns its pid. */
static pid_t spawn(const char *ns, void (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (enter_ns(ns) != 0) {
			perror("setns");
			_exit(1);
		}
		fn(arg);
		_exit(0);
	}
	return pid;
}

/*
 * Run fa in namespace A and fb in B with arg, read B's four result
 * numbers from res[0] (r[1] = -1 when B wrote none), then end both
 * children, close res and take the namespaces down.
 */
static void run_pair(void (*fa)(void *), void (*fb)(void *), void *arg, int res[2], double r[4])
{
	pid_t pa = spawn(NS_A, fa, arg), pb = spawn(NS_B, fb, arg);

	close(res[1]);
	if (read(res[0], r, 4 * sizeof(*r)) != (ssize_t)(4 * sizeof(*r)))
		r[1] = -1;
	kill(pa, SIGKILL);
	kill(pb, SIGKILL);
	waitpid(pa, NULL, 0);
	waitpid(pb, NULL, 0);
	close(res[0]);
	ns_down();
}

/* ---------------------------------------------------------------------- */
/* 2. bulk                                                                  */

/*
 * The opening thread and the importing thread share a ring of opened
 * envelopes (one producer, one consumer). The opener receives with
 * rd_io_sync_recv (the io object's receive half; the importer uses only
 * its send half: rd_io_sync_queue/flush/pending), opens each datagram into
 * a slot and publishes it; an eventfd wakes the importer.
 */
#define ORING 2048 /* slots: twice the channel's replay window of datagrams */

struct oring {
	struct node *n;
	struct rd_sync_opener *op;
	size_t cap;   /* bytes a slot */
	uint8_t *buf; /* ORING * cap */
	struct rd_sync_opened o[ORING];
	_Atomic size_t head; /* written by the opener */
	_Atomic size_t tail; /* written by the importer */
	_Atomic bool stop;
	int efd;
};

static void *opener_main(void *arg)
{
	struct oring *r = arg;
	struct rd_io_sync_msg msgs[256];
	struct pollfd p = {.fd = rd_io_sync_fd(r->n->io), .events = POLLIN};
	size_t head = 0;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		int k;

		if (poll(&p, 1, 5) <= 0)
			continue;
		while ((k = rd_io_sync_recv(r->n->io, msgs, 256)) > 0) {
			for (int i = 0; i < k; i++) {
				size_t slot = head % ORING;

				while (head -
				           atomic_load_explicit(&r->tail, memory_order_acquire) >=
				       ORING) {
					if (atomic_load_explicit(&r->stop, memory_order_relaxed))
						return NULL;
					sched_yield(); /* the importer is behind: wait for a slot */
				}
				if (rd_sync_opener_open(r->op, msgs[i].data, msgs[i].len,
				                        r->buf + slot * r->cap, r->cap,
				                        &r->o[slot]) != 0)
					continue; /* larger than a slot: cannot be ours */
				atomic_store_explicit(&r->head, ++head, memory_order_release);
			}
			if (eventfd_write(r->efd, 1) != 0)
				return NULL;
		}
	}
	return NULL;
}

/* node_step for the importer: timers, wait on the ring, input what is opened. */
static void node_step_opened(struct node *n, struct oring *r, rd_time_t max_wait)
{
	struct timespec ts = node_timers(n, max_wait);
	struct pollfd p[2];
	size_t tail, head;
	rd_time_t now;
	eventfd_t v;

	tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (atomic_load_explicit(&r->head, memory_order_acquire) == tail) {
		p[0].fd = r->efd;
		p[0].events = POLLIN;
		p[1].fd = rd_io_sync_fd(n->io);
		p[1].events = rd_io_sync_pending(n->io) ? POLLOUT : 0;
		if (ppoll(p, 2, &ts, NULL) <= 0)
			return;
		if (p[1].revents & POLLOUT)
			rd_io_sync_flush(n->io);
	}
	if (eventfd_read(r->efd, &v) != 0 && errno != EAGAIN)
		return;
	head = atomic_load_explicit(&r->head, memory_order_acquire);
	now = mono();
	for (; tail != head; tail++) {
		rd_sync_channel_input_opened(n->ch, &r->o[tail % ORING], now);
		if ((tail & 15) == 15) {
			/* Slots back to the opener, the acks due out to the sender. */
			atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
			rd_io_sync_flush(n->io);
			now = mono();
		}
	}
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	rd_io_sync_flush(n->io);
}

static int oring_start(struct oring *r, struct node *n, pthread_t *th)
{
	memset(r, 0, sizeof(*r));
	r->n = n;
	r->cap = n->payload + 64;
	r->buf = malloc(ORING * r->cap);
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->buf == NULL || r->efd < 0 || rd_sync_opener_new(n->ch, &r->op) != 0)
		return -1;
	return pthread_create(th, NULL, opener_main, r) == 0 ? 0 : -1;
}

static void oring_stop(struct oring *r, pthread_t th)
{
	atomic_store(&r->stop, true);
	pthread_join(th, NULL);
	rd_sync_opener_free(r->op);
	close(r->efd);
	free(r->buf);
}

struct bulk_args {
	bool secure;
	size_t mtu, nstates;
	int result_fd; /* B writes its result here */
	int ready_fd;  /* A writes one byte when its table is full */
	int ready_rd;
};

static void bulk_sender(void *p)
{
	struct bulk_args *a = p;
	struct node n = {0};

	if (node_open(&n, a->secure, CREATOR, ADDR_B, a->mtu, a->nstates) != 0)
		_exit(1);
	fill_table(&n, a->nstates, 1, CREATOR, RD_TCPS_ESTABLISHED);
	if (node_engine(&n) != 0 || write(a->ready_fd, "r", 1) != 1)
		_exit(1);
	for (rd_time_t t0 = mono(); mono() < t0 + 20 * RD_SEC;)
		node_step(&n, 10 * RD_MSEC, -1, NULL);
	if (getenv("SYNC_BENCH_DEBUG") != NULL)
		node_dump("sender", &n);
	for (;;)
		node_step(&n, 10 * RD_MSEC, -1, NULL);
}

static void bulk_receiver(void *p)
{
	struct bulk_args *a = p;
	struct node n = {0};
	static struct oring ring;
	pthread_t opener;
	rd_time_t t_first = 0, t_trace = 0;
	double result[4], cpu0;
	char c;
	rd_time_t t0, deadline;

	if (node_open(&n, a->secure, CREATOR + 1, ADDR_A, a->mtu, a->nstates) != 0 ||
	    node_engine(&n) != 0)
		_exit(1);
	if (read(a->ready_rd, &c, 1) != 1)
		_exit(1);
	/*
	 * Ask at once, as syncd does at start-up: the channels meet as part
	 * of the transfer. (Meeting first and then asking made two bulks run:
	 * meeting a new peer reports it lost, which already asks for one.)
	 */
	if (n.ch != NULL && open_thread && oring_start(&ring, &n, &opener) != 0)
		_exit(1);
	t0 = mono();
	cpu0 = cpu_seconds();
	deadline = t0 + 30 * RD_SEC;
	rd_sync_engine_bulk_request(n.e, t0);
	while ((rd_sync_engine_bulk_pending(n.e) || rd_state_count(n.t) < a->nstates) &&
	       mono() < deadline) {
		if (n.ch != NULL && open_thread)
			node_step_opened(&n, &ring, 5 * RD_MSEC);
		else
			node_step(&n, 5 * RD_MSEC, -1, NULL);
		if (t_first == 0 && rd_state_count(n.t) > 0)
			t_first = mono();
		if (getenv("SYNC_BENCH_TRACE") != NULL && mono() >= t_trace) {
			fprintf(stderr, "  %.3f s: %u states\n", (double)(mono() - t0) / RD_SEC,
			        rd_state_count(n.t));
			t_trace = mono() + 50 * RD_MSEC;
		}
	}
	result[0] = (double)(mono() - t0) / RD_SEC;
	result[1] = rd_state_count(n.t);
	result[3] = cpu_seconds() - cpu0; /* both threads */
	/* The opener stops before io's counters are read (redund/io_sync.h). */
	if (n.ch != NULL && open_thread)
		oring_stop(&ring, opener);
	if (getenv("SYNC_BENCH_DEBUG") != NULL) {
		struct timespec cpu;

		fprintf(stderr, "receiver: first state after %.3f s\n",
		        (double)(t_first - t0) / RD_SEC);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		fprintf(stderr, "receiver: %.3f s CPU in all\n",
		        (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9);
		node_dump("receiver", &n);
	}
	result[2] = n.ch ? (double)channel_stat(n.ch, RD_SYNC_STAT_DELIVERED) : 0;
	if (write(a->result_fd, result, sizeof(result)) != (ssize_t)sizeof(result))
		_exit(1);
}

/* Returns the bulk's time in seconds, or -1 (skipped, incomplete). */
static double bench_bulk(bool secure, size_t mtu, size_t nstates)
{
	struct bulk_args a = {.secure = secure, .mtu = mtu, .nstates = nstates};
	int res[2], rdy[2];
	double r[4] = {0};
	char name[64], note[128];

	if (secure)
		snprintf(name, sizeof(name), "bulk_%zu_states_secure_%s_s", nstates,
		         rd_sync_aead_name(node_aead));
	else if (bulk_packets != 0)
		snprintf(name, sizeof(name), "bulk_%zu_states_plain_at_%u_s", nstates,
		         bulk_packets);
	else
		snprintf(name, sizeof(name), "bulk_%zu_states_plain_s", nstates);
	if (ns_up(mtu) != 0 || pipe(res) != 0 || pipe(rdy) != 0) {
		skip(name, "cannot create namespaces/veth");
		ns_down();
		return -1;
	}
	a.result_fd = res[1];
	a.ready_fd = rdy[1];
	a.ready_rd = rdy[0];
	run_pair(bulk_sender, bulk_receiver, &a, res, r);
	close(rdy[0]);
	close(rdy[1]);
	if (r[1] < (double)nstates) {
		snprintf(note, sizeof(note), "incomplete: %.0f of %zu states", r[1], nstates);
		skip(name, note);
		return -1;
	}
	snprintf(note, sizeof(note),
	         "veth MTU %zu, %u packets/ms, %.0f states/s, receiver CPU %.3f s%s%s", mtu,
	         bulk_packets ? bulk_packets
	         : secure     ? BULK_PACKETS_SECURE
	                      : BULK_PACKETS_PLAIN,
	         nstates / r[0], r[3], secure && open_thread ? " (2 threads)" : "",
	         table_reserve ? ", reserved table" : "");
	emit(name, r[0], "s", note);
	return r[0];
}

/* ---------------------------------------------------------------------- */
/* 3. convergence after a partition, at 30% loss                           */

struct conv_args {
	size_t mtu, nstates;
	int a_to_b[2]; /* "p": A may change (B partitioned), "c": changes sent */
	int b_to_a[2];
	int result_fd;
};

static void conv_sender(void *p)
{
	struct conv_args a = *(struct conv_args *)p;
	struct node n = {0};
	bool ready = false;
	char c;

	if (node_open(&n, true, CREATOR, ADDR_B, a.mtu, a.nstates) != 0)
		_exit(1);
	fill_table(&n, a.nstates, 1, CREATOR, RD_TCPS_ESTABLISHED);
	if (node_engine(&n) != 0)
		_exit(1);
	while (!ready)
		node_step(&n, 10 * RD_MSEC, a.b_to_a[0], &ready);
	if (read(a.b_to_a[0], &c, 1) != 1)
		_exit(1);
	/* B is partitioned now: change every state (both TCP peers move on). */
	fill_table(&n, a.nstates, 1, CREATOR, RD_TCPS_FIN_WAIT_2);
	rd_sync_engine_flush(n.e, mono());
	for (rd_time_t t0 = mono(); mono() < t0 + 300 * RD_MSEC;)
		node_step(&n, 10 * RD_MSEC, -1, NULL);
	if (write(a.a_to_b[1], "c", 1) != 1)
		_exit(1);
	for (rd_time_t t0 = mono(); mono() < t0 + 5 * RD_SEC;)
		node_step(&n, 10 * RD_MSEC, -1, NULL);
	if (getenv("SYNC_BENCH_DEBUG") != NULL)
		node_dump("sender", &n);
	for (;;)
		node_step(&n, 10 * RD_MSEC, -1, NULL);
}

static void conv_receiver(void *p)
{
	struct conv_args a = *(struct conv_args *)p;
	struct node n = {0};
	bool ready = false;
	double result[4];
	rd_time_t t0, deadline;
	char c;

	if (node_open(&n, true, CREATOR + 1, ADDR_A, a.mtu, a.nstates) != 0)
		_exit(1);
	/* The same states as A (A's ids and creatorid), so only the changes travel. */
	fill_table(&n, a.nstates, 1, CREATOR, RD_TCPS_ESTABLISHED);
	if (node_engine(&n) != 0)
		_exit(1);
	n.want_src_state = RD_TCPS_FIN_WAIT_2;
	n.seen = calloc(a.nstates, 1);
	n.id_base = 1;
	n.nids = a.nstates;
	/* Meet the peer (hellos), then cut the link. */
	for (t0 = mono(); mono() < t0 + 500 * RD_MSEC;)
		node_step(&n, 10 * RD_MSEC, -1, NULL);
	if (system("nft add table inet rdsb && nft add chain inet rdsb in "
	           "'{ type filter hook input priority -300; }' && "
	           "nft add rule inet rdsb in udp dport 8240 drop") != 0)
		_exit(2);
	if (write(a.b_to_a[1], "p", 1) != 1)
		_exit(1);
	while (!ready)
		node_step(&n, 10 * RD_MSEC, a.a_to_b[0], &ready);
	if (read(a.a_to_b[0], &c, 1) != 1)
		_exit(1);
	/* Heal into 30% loss. */
	if (system("nft flush chain inet rdsb in && nft add rule inet rdsb in "
	           "udp dport 8240 numgen random mod 100 '<' 30 counter drop") != 0)
		_exit(2);
	t0 = mono();
	deadline = t0 + 30 * RD_SEC;
	while (n.nseen < a.nstates && mono() < deadline)
		node_step(&n, 5 * RD_MSEC, -1, NULL);
	result[0] = (double)(mono() - t0) / RD_SEC;
	result[1] = (double)n.nseen;
	result[2] = (double)channel_stat(n.ch, RD_SYNC_STAT_NACKS_SENT);
	result[3] = 0;
	if (getenv("SYNC_BENCH_DEBUG") != NULL)
		node_dump("receiver", &n);
	if (write(a.result_fd, result, sizeof(result)) != (ssize_t)sizeof(result))
		_exit(1);
}

static void bench_convergence(size_t mtu, size_t nstates)
{
	struct conv_args a = {.mtu = mtu, .nstates = nstates};
	int res[2];
	double r[4] = {0};
	char name[64], note[160];

	snprintf(name, sizeof(name), "converge_%zu_changes_30pct_loss_s", nstates);
	if (ns_up(mtu) != 0 || pipe(res) != 0 || pipe(a.a_to_b) != 0 || pipe(a.b_to_a) != 0) {
		skip(name, "cannot create namespaces/veth");
		ns_down();
		return;
	}
	a.result_fd = res[1];
	run_pair(conv_sender, conv_receiver, &a, res, r);
	if (r[1] < (double)nstates) {
		snprintf(note, sizeof(note), "incomplete: %.0f of %zu changes", r[1], nstates);
		skip(name, note);
		return;
	}
	snprintf(note, sizeof(note), "secure mode (%s), veth MTU %zu, %.0f NACKs",
	         rd_sync_aead_name(node_aead), mtu, r[2]);
	emit(name, r[0], "s", note);
}

int main(int argc, char **argv)
{
	bool quick = false;
	const char *only = NULL;
	int aead_only = -1;
	size_t mtu = 9000, nstates = 1000000, nchanges = 100000;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--mtu") == 0 && i + 1 < argc)
			mtu = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--states") == 0 && i + 1 < argc)
			nstates = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--changes") == 0 && i + 1 < argc)
			nchanges = strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--bulk-packets") == 0 && i + 1 < argc)
			bulk_packets = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--bufsize") == 0 && i + 1 < argc)
			sock_buf = strtoul(argv[++i], NULL, 10) << 10;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--open-thread") == 0 && i + 1 < argc)
			open_thread = strcmp(argv[++i], "0") != 0;
		else if (strcmp(argv[i], "--reserve") == 0 && i + 1 < argc)
			table_reserve = strcmp(argv[++i], "0") != 0;
		else if (strcmp(argv[i], "--aead") == 0 && i + 1 < argc &&
		         (strcmp(argv[i + 1], rd_sync_aead_name(RD_SYNC_AEAD_AES256GCM)) == 0 ||
		          strcmp(argv[i + 1], rd_sync_aead_name(RD_SYNC_AEAD_XCHACHA20POLY1305)) ==
		              0))
			aead_only =
			    strcmp(argv[++i], rd_sync_aead_name(RD_SYNC_AEAD_AES256GCM)) == 0
			        ? RD_SYNC_AEAD_AES256GCM
			        : RD_SYNC_AEAD_XCHACHA20POLY1305;
		else {
			fprintf(stderr,
			        "usage: %s [--json] [--quick] [--mtu N] [--states N] [--changes N] "
			        "[--bulk-packets N] [--bufsize KiB] [--open-thread 0|1] [--reserve "
			        "0|1] [--aead "
			        "xchacha20poly1305|aes256gcm] [--only "
			        "codec|import|aead|bulk|converge]\n",
			        argv[0]);
			return 2;
		}
	}
	if (mtu < 576 || mtu > 65535) {
		fprintf(stderr, "sync-bench: --mtu 576..65535\n");
		return 2;
	}
	if (rd_init() != 0)
		return 1;
	snprintf(NS_A, sizeof(NS_A), "rdsb-a-%d", (int)getpid());
	snprintf(NS_B, sizeof(NS_B), "rdsb-b-%d", (int)getpid());
	if (quick) {
		nstates = 20000;
		nchanges = 5000;
	}
	if (only == NULL || strcmp(only, "codec") == 0) {
		bench_codec(1500, quick ? 200000 : 5000000);
		bench_codec(9000, quick ? 200000 : 5000000);
	}
	if (only == NULL || strcmp(only, "import") == 0)
		bench_import(mtu, nstates);
	if (aead_only == RD_SYNC_AEAD_AES256GCM &&
	    !rd_sync_aead_available(RD_SYNC_AEAD_AES256GCM)) {
		fprintf(stderr, "sync-bench: aes256gcm: this CPU lacks AES-NI/PCLMULQDQ\n");
		return 1;
	}
	if (only == NULL || strcmp(only, "import") == 0)
		bench_import_secure(mtu, nstates, aead_only);
	if (only == NULL || strcmp(only, "aead") == 0) {
		for (int a = 0; a < RD_SYNC_AEAD_COUNT; a++) {
			if ((aead_only >= 0 && a != aead_only) || !rd_sync_aead_available(a))
				skip(rd_sync_aead_name(a), "not selected or not available here");
			else
				bench_aead(a, mtu - 28 - RD_SYNC_ENV_OVERHEAD,
				           quick ? 2048 : 32768);
		}
	}
	if (geteuid() != 0) {
		skip("bulk", "needs root (network namespaces)");
		skip("converge", "needs root (network namespaces)");
		return 0;
	}
	if (only == NULL || strcmp(only, "bulk") == 0) {
		double secure[RD_SYNC_AEAD_COUNT], plain, plain_fast = -1;

		for (int a = 0; a < RD_SYNC_AEAD_COUNT; a++) {
			secure[a] = -1;
			if ((aead_only >= 0 && a != aead_only) || !rd_sync_aead_available(a))
				continue;
			/* A receiver busy importing acks late: no spurious resends. */
			chan_rto = 300 * RD_MSEC;
			chan_resend = 1024;
			node_aead = (uint8_t)a;
			secure[a] = bench_bulk(true, mtu, nstates);
		}
		chan_rto = 0;
		plain = bench_bulk(false, mtu, nstates);
		/*
		 * Plain again at the secure sender's pacing: raw pfsync has no
		 * feedback, so its default is the rate a receiver keeps up with
		 * even when busy; at the secure pace it is the cost without the
		 * cipher and the channel.
		 */
		if (bulk_packets == 0) {
			bulk_packets = BULK_PACKETS_SECURE;
			plain_fast = bench_bulk(false, mtu, nstates);
			bulk_packets = 0;
		}
		for (int a = 0; a < RD_SYNC_AEAD_COUNT && plain > 0; a++) {
			char name[64], note[96];

			if (secure[a] <= 0)
				continue;
			snprintf(name, sizeof(name), "bulk_secure_%s_over_plain",
			         rd_sync_aead_name(a));
			emit(name, secure[a] / plain, "x", "same run; goal <= 1.2");
			if (plain_fast <= 0)
				continue;
			snprintf(name, sizeof(name), "bulk_secure_%s_over_plain_at_%u",
			         rd_sync_aead_name(a), BULK_PACKETS_SECURE);
			snprintf(note, sizeof(note), "same run, both senders at %u packets/ms",
			         BULK_PACKETS_SECURE);
			emit(name, secure[a] / plain_fast, "x", note);
		}
	}
	chan_resend = 8192;
	node_aead = aead_only >= 0 ? (uint8_t)aead_only : RD_SYNC_AEAD_XCHACHA20POLY1305;
	if (only == NULL || strcmp(only, "converge") == 0)
		bench_convergence(mtu, nchanges);
	return 0;
}
