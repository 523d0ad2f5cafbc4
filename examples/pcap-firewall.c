/*
 * pcap-firewall — run a capture through libredund's state table with pf-style
 * source tracking, and see what a stateful firewall with your limits would
 * have done to that traffic.
 *
 *   pcap-firewall [options] FILE.pcap
 *
 * One rule, "pass in keep state", decides which packets without a state may
 * create one (--allow, --allow-all); TCP creates states only from a SYN
 * without ACK (pf's default "flags S/SA"). Every packet is first looked up
 * in the state table (pf_test_state: TCP window tracking, UDP/ICMP
 * pseudo-states); a packet without a state goes to the rule, where the
 * source tracker applies the limits before the state is created. Sources
 * that break max-src-conn or max-src-conn-rate are put in an overload table
 * (with --overload) that blocks their new connections ("block quick from
 * <overload>"), and with flush their states are killed.
 *
 * Options:
 *   --allow SPEC[,SPEC..]   traffic that may create states: tcp:PORT,
 *                           udp:PORT, tcp, udp, icmp, proto:N (repeatable)
 *   --allow-all             any packet may create a state
 *   --max-states N          the rule's "max N"
 *   --limit-states N        the table's "set limit states" (default 100000)
 *   --max-src-states N      states per source
 *   --max-src-nodes N       distinct sources holding states (or lingering)
 *   --max-src-conn N        established TCP connections per source
 *   --max-src-conn-rate N/S established TCP connections per S seconds
 *   --overload MODE         none (default), table, flush, flush-global
 *   --src-track SECONDS     keep a source node this long after its last state
 *   --limit-src-nodes N     the tracker's "set limit src-nodes" (default 10000)
 *   --route-to ADDR[/LEN][,..]  a route-to pool: each new state gets a
 *                           gateway from it (shown with --verbose, counted
 *                           in the totals)
 *   --pool TYPE             round-robin (default), random, source-hash,
 *                           least-states, bitmask
 *   --sticky                sticky-address: a source keeps its gateway while
 *                           it has states (and --src-track after)
 *   --inside CIDR[,CIDR..]  packets from these networks travel OUT; default:
 *                           a packet that answers a state travels OUT, any
 *                           other IN (the capture's first packet of a flow is
 *                           its initiator)
 *   --verbose               one line per packet: pass / state-created /
 *                           blocked, with the reason
 *   --help
 *
 * Output: with --verbose a line per packet, then totals as "name: value"
 * lines: verdicts, blocks by reason, every state-table reason counter and
 * every source-tracking counter.
 *
 * The capture's timestamps are the clock (the library never reads one);
 * expiry runs a little on every packet, with bounded work.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwglue.h"
#include "redund/common.h"
#include "redund/pcap.h"
#include "redund/srctrack.h"
#include "redund/state.h"

#define RULE_ID 1

/* Why the example itself blocked a packet (besides the library's reasons). */
enum block_why {
	B_NOT_IP,    /* no IPv4/IPv6 packet in the record */
	B_PARSE,     /* rd_state_parse refused it */
	B_STATE,     /* matched a state and failed its checks */
	B_NO_RULE,   /* no state and the rule does not allow it */
	B_OVERLOAD,  /* no state and the source is in the overload table */
	B_SRC_LIMIT, /* the source tracker refused a new state */
	B_CREATE,    /* the state table refused a new state */
	B_MAX,
};

static const char *const block_names[B_MAX] = {
    "not-ip", "parse", "state", "no-rule", "overload-table", "src-limit", "create",
};

struct allow {
	uint8_t proto; /* 0: any */
	bool any_port;
	uint16_t port;
};

struct net {
	struct rd_addr addr;
	unsigned plen;
};

struct fw {
	struct fwglue g; /* first: the tables, the binding being created, the overload table */
	struct rd_src_rule *rule;
	struct allow allow[64];
	size_t nallow;
	bool allow_all;
	struct net inside[16];
	size_t ninside;
	struct net route[16]; /* the route-to pool */
	uint64_t routed[16];  /* new states given each gateway */
	size_t nroute;
	bool verbose;
	uint64_t packets, passed, created, blocked;
	uint64_t block[B_MAX];
};

/* ---- the rule ---- */

static bool rule_allows(const struct fw *fw, const struct rd_state_pkt *p, const char **why)
{
	if (p->proto == 6 && (p->tcp_flags & (RD_TH_SYN | RD_TH_ACK)) != RD_TH_SYN) {
		*why = "flags S/SA";
		return false;
	}
	if (fw->allow_all)
		return true;
	for (size_t i = 0; i < fw->nallow; i++) {
		const struct allow *a = &fw->allow[i];
		if (a->proto != p->proto)
			continue;
		if (a->any_port || ((p->proto == 6 || p->proto == 17) && a->port == p->dport))
			return true;
	}
	*why = "not allowed";
	return false;
}

/* ---- one packet ---- */

static void say(const struct fw *fw, uint64_t n, const struct rd_state_pkt *p, const char *verdict,
                const char *why)
{
	char s[RD_ADDR_STRLEN], d[RD_ADDR_STRLEN];

	if (!fw->verbose)
		return;
	if (p == NULL) {
		printf("%" PRIu64 " %s (%s)\n", n, verdict, why);
		return;
	}
	rd_addr_format(&p->src, s, sizeof(s));
	rd_addr_format(&p->dst, d, sizeof(d));
	/* IPv6 addresses in brackets, so the port stays readable. */
	const char *o = p->af == RD_AF_INET6 ? "[" : "", *c = p->af == RD_AF_INET6 ? "]" : "";
	printf("%" PRIu64 " %s %s%s%s:%u > %s%s%s:%u proto %u%s%s%s: %s%s%s%s\n", n,
	       p->dir == RD_STATE_IN ? "in " : "out", o, s, c, p->sport, o, d, c, p->dport,
	       p->proto, p->proto == 6 ? " [" : "",
	       p->proto == 6
	           ? ((p->tcp_flags & RD_TH_SYN)   ? ((p->tcp_flags & RD_TH_ACK) ? "SA" : "S")
	              : (p->tcp_flags & RD_TH_RST) ? "R"
	              : (p->tcp_flags & RD_TH_FIN) ? "F"
	                                           : ".")
	           : "",
	       p->proto == 6 ? "]" : "", verdict, why ? " (" : "", why ? why : "", why ? ")" : "");
}

static void block(struct fw *fw, uint64_t n, const struct rd_state_pkt *p, enum block_why b,
                  const char *why)
{
	fw->blocked++;
	fw->block[b]++;
	say(fw, n, p, "blocked", why ? why : block_names[b]);
}

/* One counter of the tracker (rd_src_stats copies them all). */
static uint64_t src_stat(const struct rd_src_table *s, int which)
{
	uint64_t v[RD_SRC_STAT_COUNT];

	rd_src_stats(s, v);
	return v[which];
}

/* The name of the source-tracking limit that moved between two snapshots. */
static const char *src_limit_name(const uint64_t *before, const struct rd_src_table *s)
{
	static const unsigned which[] = {RD_SRC_STAT_MAX_SRC_STATES, RD_SRC_STAT_MAX_SRC_NODES,
	                                 RD_SRC_STAT_SRC_NODES, RD_SRC_STAT_MEMORY};

	uint64_t now[RD_SRC_STAT_COUNT];

	rd_src_stats(s, now);
	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++)
		if (now[which[i]] != before[which[i]])
			return rd_src_stat_name(which[i]);
	return "src-limit";
}

static void packet(struct fw *fw, uint64_t n, int linktype, const uint8_t *data, size_t len,
                   rd_time_t now)
{
	struct rd_state_pkt p, q;
	struct rd_state_result res;
	const uint8_t *ip;
	size_t ip_len;
	int reason, v;

	uint64_t conn0 = src_stat(fw->g.src, RD_SRC_STAT_MAX_SRC_CONN);

	fw->packets++;
	if (rd_pcap_ip_payload(linktype, data, len, &ip, &ip_len) != 0) {
		block(fw, n, NULL, B_NOT_IP, NULL);
		return;
	}
	if (rd_state_parse(ip, ip_len, RD_STATE_IN, &p, &reason) != 0) {
		rd_state_count_reason(fw->g.st, reason);
		block(fw, n, NULL, B_PARSE, rd_state_reason_name(reason));
		return;
	}
	if (fw->ninside > 0) {
		for (size_t i = 0; i < fw->ninside; i++)
			if (rd_addr_prefix_match(&fw->inside[i].addr, fw->inside[i].plen, &p.src))
				p.dir = RD_STATE_OUT;
		v = rd_state_packet(fw->g.st, &p, now, &res);
	} else {
		/* Auto: a packet answering a state travels OUT. */
		q = p;
		q.dir = RD_STATE_OUT;
		v = rd_state_packet(fw->g.st, &q, now, &res);
		if (v == RD_STATE_NOSTATE)
			v = rd_state_packet(fw->g.st, &p, now, &res);
		else
			p = q;
	}
	if (v == RD_STATE_PASS) {
		fw->passed++;
		say(fw, n, &p, "pass", NULL);
		return;
	}
	if (v == RD_STATE_DROP) {
		const char *why = rd_state_reason_name(res.reason);
		/* A handshake refused by the tracker: say which limit. */
		if (res.reason == RD_STATE_RES_SRCLIMIT)
			why = src_stat(fw->g.src, RD_SRC_STAT_MAX_SRC_CONN) != conn0
			          ? "src-limit: max-src-conn"
			          : "src-limit: max-src-conn-rate";
		block(fw, n, &p, B_STATE, why);
		return;
	}
	if (v < 0) {
		block(fw, n, &p, B_PARSE, rd_strerror(v));
		return;
	}

	/* No state: the ruleset. */
	const char *why = NULL;
	if (addr_set_has(&fw->g.overload, &p.src)) {
		block(fw, n, &p, B_OVERLOAD, NULL);
		return;
	}
	if (!rule_allows(fw, &p, &why)) {
		block(fw, n, &p, B_NO_RULE, why);
		return;
	}
	uint64_t before[RD_SRC_STAT_COUNT];
	rd_src_stats(fw->g.src, before);
	fw->g.pending = 0;
	int rc = rd_src_acquire(fw->g.src, fw->rule, &p.src, now, &fw->g.pending);
	if (rc != RD_OK) {
		rd_state_count_reason(fw->g.st, RD_STATE_RES_SRCLIMIT);
		block(fw, n, &p, B_SRC_LIMIT, src_limit_name(before, fw->g.src));
		return;
	}
	/* route-to: pick the gateway (sticky: the source's, if it has one). */
	struct rd_addr gw;
	char gwbuf[RD_ADDR_STRLEN + 16];
	if (fw->nroute > 0) {
		rc = rd_src_map(fw->g.src, fw->rule, RD_SRC_KIND_ROUTE, &p.src, now, &fw->g.pending,
		                &gw);
		if (rc != RD_OK) {
			rd_src_release(fw->g.src, fw->g.pending, now);
			fw->g.pending = 0;
			if (rc == RD_ERR_LIMIT) {
				rd_state_count_reason(fw->g.st, RD_STATE_RES_SRCLIMIT);
				block(fw, n, &p, B_SRC_LIMIT, src_limit_name(before, fw->g.src));
			} else {
				block(fw, n, &p, B_CREATE, "translate");
			}
			return;
		}
	}
	struct rd_state_opts o;
	memset(&o, 0, sizeof(o));
	o.rule = RULE_ID;
	int why_create;
	rc = fwglue_create(&fw->g, &p, &o, now, &why_create);
	if (rc != RD_OK) {
		block(fw, n, &p, B_CREATE,
		      why_create >= 0 ? rd_state_reason_name(why_create) : rd_strerror(rc));
		return;
	}
	fw->created++;
	if (fw->nroute == 0) {
		say(fw, n, &p, "state-created", NULL);
		return;
	}
	for (size_t i = 0; i < fw->nroute; i++)
		if (rd_addr_prefix_match(&fw->route[i].addr, fw->route[i].plen, &gw))
			fw->routed[i]++;
	snprintf(gwbuf, sizeof(gwbuf), "route-to ");
	rd_addr_format(&gw, gwbuf + 9, sizeof(gwbuf) - 9);
	say(fw, n, &p, "state-created", gwbuf);
}

/* ---- command line ---- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: pcap-firewall [options] FILE.pcap\n"
	        "  --allow SPEC[,SPEC..]    may create states: tcp:PORT udp:PORT tcp udp icmp "
	        "proto:N\n"
	        "  --allow-all              any packet may create a state\n"
	        "  --max-states N           the rule's max states\n"
	        "  --limit-states N         the table's state limit (default 100000)\n"
	        "  --max-src-states N       states per source\n"
	        "  --max-src-nodes N        distinct sources\n"
	        "  --max-src-conn N         established TCP connections per source\n"
	        "  --max-src-conn-rate N/S  established TCP connections per S seconds\n"
	        "  --overload MODE          none, table, flush, flush-global\n"
	        "  --src-track SECONDS      source node lifetime after its last state\n"
	        "  --limit-src-nodes N      the tracker's node limit (default 10000)\n"
	        "  --route-to ADDR[/LEN][,..] a route-to pool for new states\n"
	        "  --pool TYPE              round-robin random source-hash least-states bitmask\n"
	        "  --sticky                 a source keeps its gateway (sticky-address)\n"
	        "  --inside CIDR[,CIDR..]   packets from these networks travel out\n"
	        "  --verbose                a verdict line per packet\n"
	        "  --help                   this text\n");
}

static uint32_t num(const char *s, const char *opt)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v > UINT32_MAX) {
		fprintf(stderr, "pcap-firewall: %s: bad number '%s'\n", opt, s);
		exit(2);
	}
	return (uint32_t)v;
}

static void parse_allow(struct fw *fw, char *list)
{
	for (char *tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ",")) {
		struct allow a = {0, true, 0};
		char *colon = strchr(tok, ':');

		if (colon != NULL)
			*colon++ = '\0';
		if (strcmp(tok, "tcp") == 0)
			a.proto = 6;
		else if (strcmp(tok, "udp") == 0)
			a.proto = 17;
		else if (strcmp(tok, "icmp") == 0)
			a.proto = 1;
		else if (strcmp(tok, "icmp6") == 0)
			a.proto = 58;
		else if (strcmp(tok, "proto") == 0 && colon != NULL) {
			a.proto = (uint8_t)num(colon, "--allow");
			colon = NULL;
		} else {
			fprintf(stderr, "pcap-firewall: --allow: bad spec '%s'\n", tok);
			exit(2);
		}
		if (colon != NULL) {
			if (a.proto != 6 && a.proto != 17) {
				fprintf(stderr, "pcap-firewall: --allow: ports need tcp or udp\n");
				exit(2);
			}
			a.any_port = false;
			a.port = (uint16_t)num(colon, "--allow");
		}
		if (fw->nallow == sizeof(fw->allow) / sizeof(fw->allow[0])) {
			fprintf(stderr, "pcap-firewall: --allow: too many specs\n");
			exit(2);
		}
		fw->allow[fw->nallow++] = a;
	}
}

static size_t parse_nets(struct net *out, size_t max, char *list, const char *opt)
{
	size_t k = 0;

	for (char *tok = strtok(list, ","); tok != NULL; tok = strtok(NULL, ",")) {
		struct net n;
		char *slash = strchr(tok, '/');

		if (slash != NULL)
			*slash++ = '\0';
		if (rd_addr_parse(tok, &n.addr) != 0 || k == max) {
			fprintf(stderr, "pcap-firewall: %s: bad network '%s'\n", opt, tok);
			exit(2);
		}
		n.plen = slash ? num(slash, opt) : (n.addr.af == RD_AF_INET ? 32 : 128);
		if (n.plen > (n.addr.af == RD_AF_INET ? 32u : 128u)) {
			fprintf(stderr, "pcap-firewall: %s: bad prefix length\n", opt);
			exit(2);
		}
		out[k++] = n;
	}
	return k;
}

static void print_totals(const struct fw *fw, const uint64_t *rs)
{
	uint64_t c[RD_STATE_STAT_COUNT];

	rd_state_stats(fw->g.st, c);
	printf("packets: %" PRIu64 "\n", fw->packets);
	printf("passed: %" PRIu64 "\n", fw->passed);
	printf("state-created: %" PRIu64 "\n", fw->created);
	printf("blocked: %" PRIu64 "\n", fw->blocked);
	for (int i = 0; i < B_MAX; i++)
		printf("blocked %s: %" PRIu64 "\n", block_names[i], fw->block[i]);
	printf("pcap bad records: %" PRIu64 "\n",
	       rs[RD_PCAP_STAT_SHORT_HEADER] + rs[RD_PCAP_STAT_SHORT_RECORD] +
	           rs[RD_PCAP_STAT_OVERSIZE] + rs[RD_PCAP_STAT_BAD_LENGTH]);
	printf("states: %u\n", rd_state_count(fw->g.st));
	printf("states half-open: %u\n", rd_state_count_halfopen(fw->g.st));
	printf("state searches: %" PRIu64 "\n", c[RD_STATE_STAT_SEARCH]);
	printf("state inserts: %" PRIu64 "\n", c[RD_STATE_STAT_INSERT]);
	printf("state removals: %" PRIu64 "\n", c[RD_STATE_STAT_REMOVAL]);
	for (int i = 0; i < RD_STATE_RES_COUNT; i++) {
		const char *name = rd_state_reason_name(i);
		if (name != NULL && strcmp(name, "?") != 0)
			printf("reason %s: %" PRIu64 "\n", name, c[RD_STATE_STAT_RES(i)]);
	}
	printf("src-nodes: %u\n", rd_src_count(fw->g.src));
	uint64_t src_stats[RD_SRC_STAT_COUNT];
	rd_src_stats(fw->g.src, src_stats);
	for (int i = 0; i < RD_SRC_STAT_COUNT; i++)
		printf("src %s: %" PRIu64 "\n", rd_src_stat_name(i), src_stats[i]);
	printf("overload table: %zu\n", fw->g.overload.n);
	for (size_t i = 0; i < fw->nroute; i++) {
		char buf[RD_ADDR_STRLEN];
		printf("route-to %s/%u: %" PRIu64 "\n",
		       rd_addr_format(&fw->route[i].addr, buf, sizeof(buf)), fw->route[i].plen,
		       fw->routed[i]);
	}
}

int main(int argc, char **argv)
{
	enum {
		O_ALLOW = 256,
		O_ALLOW_ALL,
		O_MAX_STATES,
		O_LIMIT_STATES,
		O_MSS,
		O_MSN,
		O_MSC,
		O_MSCR,
		O_OVERLOAD,
		O_SRC_TRACK,
		O_LIMIT_SRC_NODES,
		O_INSIDE,
		O_ROUTE_TO,
		O_POOL,
		O_STICKY,
		O_VERBOSE,
		O_HELP
	};
	static const struct option opts[] = {
	    {"allow", required_argument, NULL, O_ALLOW},
	    {"allow-all", no_argument, NULL, O_ALLOW_ALL},
	    {"max-states", required_argument, NULL, O_MAX_STATES},
	    {"limit-states", required_argument, NULL, O_LIMIT_STATES},
	    {"max-src-states", required_argument, NULL, O_MSS},
	    {"max-src-nodes", required_argument, NULL, O_MSN},
	    {"max-src-conn", required_argument, NULL, O_MSC},
	    {"max-src-conn-rate", required_argument, NULL, O_MSCR},
	    {"overload", required_argument, NULL, O_OVERLOAD},
	    {"src-track", required_argument, NULL, O_SRC_TRACK},
	    {"limit-src-nodes", required_argument, NULL, O_LIMIT_SRC_NODES},
	    {"inside", required_argument, NULL, O_INSIDE},
	    {"route-to", required_argument, NULL, O_ROUTE_TO},
	    {"pool", required_argument, NULL, O_POOL},
	    {"sticky", no_argument, NULL, O_STICKY},
	    {"verbose", no_argument, NULL, O_VERBOSE},
	    {"help", no_argument, NULL, O_HELP},
	    {NULL, 0, NULL, 0},
	};
	static struct fw fw;
	struct rd_state_config scfg;
	struct rd_src_config tcfg;
	struct rd_src_rule_config rcfg;
	struct rd_src_pool_config pool = {.type = RD_SRC_POOL_ROUNDROBIN};
	struct rd_state_rule_config srule;
	struct rd_pcap_reader *rd;
	struct rd_pcap_packet pkt;
	uint64_t rs[RD_PCAP_STAT_COUNT];
	uint32_t limit_states = 100000, max_states = 0, limit_src_nodes = 10000;
	rd_time_t now = 0;
	int c, rc;
	uint64_t n = 0;

	memset(&rcfg, 0, sizeof(rcfg));
	rcfg.id = RULE_ID;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_ALLOW:
			parse_allow(&fw, optarg);
			break;
		case O_ALLOW_ALL:
			fw.allow_all = true;
			break;
		case O_MAX_STATES:
			max_states = num(optarg, "--max-states");
			break;
		case O_LIMIT_STATES:
			limit_states = num(optarg, "--limit-states");
			break;
		case O_MSS:
			rcfg.max_src_states = num(optarg, "--max-src-states");
			break;
		case O_MSN:
			rcfg.max_src_nodes = num(optarg, "--max-src-nodes");
			break;
		case O_MSC:
			rcfg.max_src_conn = num(optarg, "--max-src-conn");
			break;
		case O_MSCR: {
			char *slash = strchr(optarg, '/');
			if (slash == NULL) {
				fprintf(stderr, "pcap-firewall: --max-src-conn-rate wants N/S\n");
				return 2;
			}
			*slash = '\0';
			rcfg.max_src_conn_rate = num(optarg, "--max-src-conn-rate");
			rcfg.max_src_conn_seconds = num(slash + 1, "--max-src-conn-rate");
			break;
		}
		case O_OVERLOAD:
			if (strcmp(optarg, "none") == 0) {
				rcfg.overload = false;
				rcfg.flush = RD_SRC_FLUSH_NONE;
			} else if (strcmp(optarg, "table") == 0) {
				rcfg.overload = true;
				rcfg.flush = RD_SRC_FLUSH_NONE;
			} else if (strcmp(optarg, "flush") == 0) {
				rcfg.overload = true;
				rcfg.flush = RD_SRC_FLUSH_RULE;
			} else if (strcmp(optarg, "flush-global") == 0) {
				rcfg.overload = true;
				rcfg.flush = RD_SRC_FLUSH_GLOBAL;
			} else {
				fprintf(
				    stderr,
				    "pcap-firewall: --overload: none|table|flush|flush-global\n");
				return 2;
			}
			break;
		case O_SRC_TRACK:
			rcfg.src_track = (rd_time_t)num(optarg, "--src-track") * RD_SEC;
			break;
		case O_LIMIT_SRC_NODES:
			limit_src_nodes = num(optarg, "--limit-src-nodes");
			break;
		case O_INSIDE:
			fw.ninside = parse_nets(fw.inside, 16, optarg, "--inside");
			break;
		case O_ROUTE_TO:
			fw.nroute = parse_nets(fw.route, 16, optarg, "--route-to");
			break;
		case O_POOL: {
			/* enum rd_src_pool_type order */
			static const char *const types[] = {"none",        "bitmask",
			                                    "random",      "source-hash",
			                                    "round-robin", "least-states"};
			size_t i;
			for (i = 1; i < sizeof(types) / sizeof(types[0]); i++)
				if (strcmp(optarg, types[i]) == 0)
					break;
			if (i == sizeof(types) / sizeof(types[0])) {
				fprintf(stderr, "pcap-firewall: --pool: round-robin random "
				                "source-hash least-states bitmask\n");
				return 2;
			}
			pool.type = (enum rd_src_pool_type)i;
			break;
		}
		case O_STICKY:
			pool.sticky = true;
			break;
		case O_VERBOSE:
			fw.verbose = true;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (!fw.allow_all && fw.nallow == 0)
		fprintf(stderr, "pcap-firewall: no --allow: nothing may create a state\n");
	if (rd_init() != 0) {
		fprintf(stderr, "pcap-firewall: libsodium failed to initialise\n");
		return 1;
	}

	/* Source tracking: per-rule nodes whenever a limit asks for them. */
	fwglue_track(&rcfg);
	if (rcfg.overload && !rcfg.max_src_conn && !rcfg.max_src_conn_rate)
		fprintf(stderr, "pcap-firewall: --overload without --max-src-conn(-rate) never "
		                "triggers\n");
	rd_src_config_default(&tcfg);
	fw.g.prog = "pcap-firewall";
	fwglue_src_cb(&fw.g, &tcfg);
	tcfg.max_nodes = limit_src_nodes;
	if ((rc = rd_src_table_new(&tcfg, &fw.g.src)) != 0 ||
	    (rc = rd_src_rule_add(fw.g.src, &rcfg, &fw.rule)) != 0) {
		fprintf(stderr, "pcap-firewall: source tracking: %s\n", rd_strerror(rc));
		return 2;
	}
	if (fw.nroute > 0) {
		if ((rc = rd_src_pool_set(fw.g.src, fw.rule, RD_SRC_KIND_ROUTE, &pool)) != 0) {
			fprintf(stderr, "pcap-firewall: --pool: %s\n", rd_strerror(rc));
			return 2;
		}
		for (size_t i = 0; i < fw.nroute; i++) {
			rc = rd_src_pool_add(fw.g.src, fw.rule, RD_SRC_KIND_ROUTE,
			                     &fw.route[i].addr, fw.route[i].plen, 1);
			if (rc != 0) {
				fprintf(stderr, "pcap-firewall: --route-to: %s\n", rd_strerror(rc));
				return 2;
			}
		}
	}

	rd_state_config_default(&scfg);
	scfg.limit = limit_states;
	fwglue_state_cb(&fw.g, &scfg);
	if ((rc = rd_state_table_new(&scfg, &fw.g.st)) != 0) {
		fprintf(stderr, "pcap-firewall: state table: %s\n", rd_strerror(rc));
		return 1;
	}
	memset(&srule, 0, sizeof(srule));
	srule.max_states = max_states;
	if ((rc = rd_state_rule_set(fw.g.st, RULE_ID, &srule)) != 0) {
		fprintf(stderr, "pcap-firewall: rule: %s\n", rd_strerror(rc));
		return 1;
	}

	if ((rc = rd_pcap_reader_open(argv[optind], NULL, &rd)) != 0) {
		fprintf(stderr, "pcap-firewall: %s: %s\n", argv[optind],
		        rc == RD_ERR_STATE ? strerror(errno) : rd_strerror(rc));
		return 1;
	}
	while ((rc = rd_pcap_next(rd, &pkt)) == 1) {
		if (pkt.ts > now)
			now = pkt.ts; /* the capture is the clock; never backwards */
		packet(&fw, ++n, pkt.linktype, pkt.data, pkt.len, now);
		/* Bounded expiry work per packet keeps both tables trimmed. */
		rd_state_purge(fw.g.st, now, 16);
		rd_src_handle_expiry(fw.g.src, now, 16);
	}
	if (rc < 0)
		fprintf(stderr, "pcap-firewall: %s: stopped at a bad record: %s\n", argv[optind],
		        rd_strerror(rc));
	rd_pcap_reader_stats(rd, rs);
	rd_pcap_reader_close(rd);
	print_totals(&fw, rs);
	rd_state_table_free(fw.g.st, now);
	rd_src_table_free(fw.g.src);
	addr_set_free(&fw.g.overload);
	return 0;
}
