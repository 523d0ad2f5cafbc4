/*
 * carp-sim: a CARP cluster in the simulator. N nodes share one vhid on one
 * simulated Ethernet segment, or (--segments 2) are firewalls with a LAN
 * and a WAN segment, one vhost on each (vhid V on the LAN, V+1 on the
 * WAN) and one set of demotion groups per node; node i uses advskew i*K.
 * Faults (loss, a crash or freeze of the MASTER, a restart, a partition, a
 * node's carrier on one segment) are scripted from the command line; the
 * run is deterministic from --seed.
 *
 * Prints a timeline of state changes and faults, who holds which virtual
 * address after each change (with two segments), then one line per
 * failover:
 *   failover: <ms> ms            (one segment)
 *   failover lan: <ms> ms        (two segments, one line per segment moved)
 * measured from the failed MASTER's last advertisement (for a graceful
 * leave: its bow-out advertisement) to the new MASTER's first advertisement
 * (the new MASTER sends it at the instant it changes state, so this is also
 * the gap until the state change). The line also gives the time since the
 * crash, freeze or carrier loss itself.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carp_cluster.h"

#define MAX_LINK_EVENTS 8
#define MAX_GROUPS      8

/* A --fail-link / --restore-link: node (or WHO_MASTER / WHO_FAILED) on seg. */
enum { WHO_MASTER = -1, WHO_FAILED = -2 };
struct link_event {
	struct run *r;
	int who, seg;
	bool up;
	rd_time_t at;
};

struct run {
	struct cc_cluster *c;
	int crashed; /* the node --crash-master-at crashed, or -1 */
	int left;    /* the node --leave-master-at took out, or -1 */
	int failed;  /* the node the last --fail-link cut, or -1 */
	rd_time_t freeze_for;
	bool verbose;
	struct link_event links[MAX_LINK_EVENTS];
	int nlinks;
};

static void usage(FILE *f)
{
	fputs("usage: carp-sim [options]\n"
	      "  --nodes N             cluster size (default 3)\n"
	      "  --vhid V              virtual host id (default 1)\n"
	      "  --pass P              passphrase, at most 19 bytes (default \"secret\")\n"
	      "  --addr VIP            virtual address, IPv4 or IPv6 (default 10.0.0.100)\n"
	      "  --advbase B           seconds, 0..255 (default 1)\n"
	      "  --advskew-step K      node i uses advskew i*K (default 10)\n"
	      "  --preempt             a better node takes over from a worse MASTER\n"
	      "  --seconds T           simulated time (default 60)\n"
	      "  --seed S              seed of the simulation (default 1)\n"
	      "  --loss PCT            packet loss on the segment, percent (default 0)\n"
	      "  --delay MS            one-way delay (default 0.1)\n"
	      "  --jitter MS           plus uniform jitter (default 0.1)\n"
	      "  --crash-master-at S   crash the node that is MASTER at S seconds\n"
	      "  --restart-at S        restart the node crashed by --crash-master-at\n"
	      "  --leave-master-at S   the MASTER leaves gracefully (bow-out advertisement)\n"
	      "  --rejoin-at S         the node that left starts again\n"
	      "  --freeze-master-at S  freeze (SIGSTOP) the MASTER at S seconds ...\n"
	      "  --freeze-for S        ... for S seconds (default 5)\n"
	      "  --partition-at S      split the nodes into two halves at S seconds ...\n"
	      "  --heal-at S           ... and join them again at S seconds\n"
	      "  --segments N          1 (default) or 2: every node is a firewall with a LAN\n"
	      "                        and a WAN vhost (vhid V and V+1) sharing its demotion\n"
	      "                        groups (every vhost is in group carp)\n"
	      "  --group NAME          every vhost is also in demotion group NAME (repeatable);\n"
	      "                        --group -carp takes them out of carp\n"
	      "  --fail-link N:SEG@S   node N loses carrier on SEG (lan or wan) at S seconds;\n"
	      "                        N is a node number or 'master' (the LAN's MASTER then)\n"
	      "  --restore-link N:SEG@S  its carrier comes back; N may be 'failed' (the node\n"
	      "                        the last --fail-link cut)\n"
	      "  --pcap FILE           write every packet (Ethernet) to FILE\n"
	      "  --quiet               no timeline, only the summary\n",
	      f);
}

static rd_time_t secs(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 1e9) {
		fprintf(stderr, "carp-sim: bad time '%s'\n", s);
		exit(2);
	}
	return (rd_time_t)(v * 1e9 + 0.5);
}

static long num(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "carp-sim: %s must be %ld..%ld\n", what, lo, hi);
		exit(2);
	}
	return v;
}

static void print_time(rd_time_t t)
{
	printf("%4llu.%06llu s", (unsigned long long)(t / RD_SEC),
	       (unsigned long long)(t % RD_SEC / RD_USEC));
}

static void crash_master(void *user, rd_time_t now)
{
	struct run *r = user;
	int m = -1;
	if (cc_masters(r->c, &m) == 0) {
		printf("(no MASTER to crash at %.3f s)\n", (double)now / 1e9);
		return;
	}
	r->crashed = m;
	rd_sim_crash_at(r->c->sim, now, m);
}

static void restart_crashed(void *user, rd_time_t now)
{
	struct run *r = user;
	if (r->crashed >= 0)
		rd_sim_restart_at(r->c->sim, now, r->crashed);
}

static void leave_master(void *user, rd_time_t now)
{
	struct run *r = user;
	int m = -1;
	if (cc_masters(r->c, &m) == 0) {
		printf("(no MASTER to leave at %.3f s)\n", (double)now / 1e9);
		return;
	}
	r->left = m;
	cc_leave(r->c, m);
}

static void rejoin_left(void *user, rd_time_t now)
{
	struct run *r = user;
	(void)now;
	if (r->left >= 0)
		cc_rejoin(r->c, r->left);
}

static void link_change(void *user, rd_time_t now)
{
	struct link_event *l = user;
	struct run *r = l->r;
	int n = l->who;

	if (n == WHO_MASTER && cc_masters(r->c, &n) == 0) {
		printf("(no MASTER to cut at %.3f s)\n", (double)now / 1e9);
		return;
	}
	if (n == WHO_FAILED)
		n = r->failed;
	if (n < 0)
		return;
	if (!l->up)
		r->failed = n;
	cc_carrier_at(r->c, now, n, l->seg, l->up);
}

/* "N:SEG@S" with N a number, "master" or "failed" and SEG lan or wan. */
static void parse_link(const char *arg, bool up, struct run *r, int nseg_max)
{
	struct link_event *l;
	char who[16], seg[8];
	int n = 0;

	if (r->nlinks == MAX_LINK_EVENTS) {
		fprintf(stderr, "carp-sim: at most %d link events\n", MAX_LINK_EVENTS);
		exit(2);
	}
	l = &r->links[r->nlinks];
	const char *at = strchr(arg, '@');
	if (at == NULL || sscanf(arg, "%15[^:]:%7[^@]@%n", who, seg, &n) != 2 ||
	    arg + n != at + 1) {
		fprintf(stderr, "carp-sim: expected N:SEG@SECONDS, got '%s'\n", arg);
		exit(2);
	}
	if (strcmp(who, "master") == 0)
		l->who = WHO_MASTER;
	else if (strcmp(who, "failed") == 0)
		l->who = WHO_FAILED;
	else
		l->who = (int)num(who, 0, CC_MAX_NODES - 1, "the node of a link event");
	if (strcmp(seg, "lan") == 0)
		l->seg = 0;
	else if (strcmp(seg, "wan") == 0 && nseg_max > 1)
		l->seg = 1;
	else {
		fprintf(stderr, "carp-sim: segment '%s' is not lan%s\n", seg,
		        nseg_max > 1 ? " or wan" : " (wan needs --segments 2 first)");
		exit(2);
	}
	l->at = secs(at + 1);
	l->up = up;
	l->r = r;
	r->nlinks++;
}

static void freeze_master(void *user, rd_time_t now)
{
	struct run *r = user;
	int m = -1;
	if (cc_masters(r->c, &m) == 0) {
		printf("(no MASTER to freeze at %.3f s)\n", (double)now / 1e9);
		return;
	}
	rd_sim_freeze_at(r->c->sim, now, m);
	rd_sim_thaw_at(r->c->sim, now + r->freeze_for, m);
}

/* "lan " before a segment's events when there are two, else nothing. */
static const char *seg_tag(const struct cc_cluster *c, int seg, char *buf, size_t size)
{
	if (c->nseg < 2 || seg < 0)
		return "";
	snprintf(buf, size, "%s ", cc_seg_name(seg));
	return buf;
}

/*
 * Who holds each segment's virtual address, replaying the log up to entry
 * `upto` (exclusive): the nodes whose vhost is MASTER, not crashed, frozen
 * or gone. Writes e.g. "lan: node 1, wan: node 1" to buf.
 */
static void holders(const struct cc_cluster *c, size_t upto, char *buf, size_t size)
{
	static int st[CC_MAX_NODES][CC_MAX_SEGS];
	static bool out[CC_MAX_NODES];
	size_t len = 0;

	memset(st, 0, sizeof(st));
	memset(out, 0, sizeof(out));
	for (size_t i = 0; i < upto; i++) {
		const struct cc_event *e = &c->log[i];

		if (e->kind == CC_STATE)
			st[e->node][e->seg] = e->to;
		else if (e->kind == CC_CRASH)
			memset(st[e->node], 0, sizeof(st[e->node]));
		else if (e->kind == CC_FREEZE || e->kind == CC_THAW)
			out[e->node] = e->kind == CC_FREEZE;
	}
	buf[0] = '\0';
	for (int s = 0; s < c->nseg; s++) {
		int k = 0;

		len +=
		    (size_t)snprintf(buf + len, size - len, "%s%s:", s ? ", " : "", cc_seg_name(s));
		for (int n = 0; n < c->cfg.nodes && len < size; n++)
			if (!out[n] && st[n][s] == RD_CARP_MASTER)
				len += (size_t)snprintf(buf + len, size - len, "%s node %d",
				                        k++ ? " +" : "", n);
		if (len < size && k == 0)
			len += (size_t)snprintf(buf + len, size - len, " nobody");
		else if (len < size && k > 1)
			len += (size_t)snprintf(buf + len, size - len, " (split)");
		if (len >= size)
			break;
	}
}

static void print_timeline(const struct cc_cluster *c)
{
	char last[256] = "", now[256], tag[8];

	puts("timeline:");
	for (size_t i = 0; i < c->nlog; i++) {
		const struct cc_event *e = &c->log[i];
		printf("  ");
		print_time(e->t);
		switch (e->kind) {
		case CC_STATE:
			printf("  node %d  %s%s -> %s  (%s)\n", e->node,
			       seg_tag(c, e->seg, tag, sizeof(tag)), rd_carp_state_name(e->from),
			       rd_carp_state_name(e->to), e->reason != NULL ? e->reason : "");
			break;
		case CC_MASTER_AD:
			printf("  node %d  %sfirst advertisement as MASTER\n", e->node,
			       seg_tag(c, e->seg, tag, sizeof(tag)));
			break;
		case CC_PARTITION:
		case CC_HEAL:
		case CC_LINK:
			printf("  segment %s%s\n", seg_tag(c, e->seg, tag, sizeof(tag)),
			       cc_kind_name(e->kind));
			break;
		case CC_CARRIER_DOWN:
		case CC_CARRIER_UP:
			printf("  node %d  %s carrier %s\n", e->node, cc_seg_name(e->seg),
			       e->kind == CC_CARRIER_DOWN ? "down" : "up");
			break;
		default:
			printf("  node %d  %s\n", e->node, cc_kind_name(e->kind));
			break;
		}
		/* With two segments: who holds what, whenever that changed (once
		 * the events of this instant are done). */
		if (c->nseg < 2 || (i + 1 < c->nlog && c->log[i + 1].t == e->t))
			continue;
		holders(c, i + 1, now, sizeof(now));
		if (strcmp(now, last) != 0) {
			printf("  ");
			print_time(e->t);
			printf("  holders: %s\n", now);
			snprintf(last, sizeof(last), "%s", now);
		}
	}
}

/* Was node MASTER on seg just before log entry `upto`? */
static bool was_master(const struct cc_cluster *c, size_t upto, int node, int seg)
{
	int st = RD_CARP_INIT;
	for (size_t i = 0; i < upto; i++)
		if (c->log[i].kind == CC_STATE && c->log[i].node == node && c->log[i].seg == seg)
			st = c->log[i].to;
		else if ((c->log[i].kind == CC_CRASH || c->log[i].kind == CC_LEAVE) &&
		         c->log[i].node == node)
			st = RD_CARP_INIT;
	return st == RD_CARP_MASTER;
}

/*
 * For each crash, freeze, leave or carrier loss of a MASTER, on each
 * segment it held: who took over, and when.
 */
static void print_failovers(const struct run *r)
{
	const struct cc_cluster *c = r->c;
	char label[16];

	for (size_t f = 0; f < c->nlog; f++) {
		const struct cc_event *ft = &c->log[f];
		if (ft->kind != CC_CRASH && ft->kind != CC_FREEZE && ft->kind != CC_LEAVE &&
		    ft->kind != CC_CARRIER_DOWN)
			continue;
		const char *what =
		    ft->kind == CC_CARRIER_DOWN ? "carrier loss" : cc_kind_name(ft->kind);
		for (int s = 0; s < c->nseg; s++) {
			const struct cc_event *first_ad = NULL;
			if (!was_master(c, f, ft->node, s))
				continue;
			snprintf(label, sizeof(label), "failover%s%s", c->nseg > 1 ? " " : "",
			         c->nseg > 1 ? cc_seg_name(s) : "");
			for (size_t i = f + 1; i < c->nlog; i++) {
				const struct cc_event *e = &c->log[i];
				if (e->kind == CC_MASTER_AD && e->node != ft->node && e->seg == s) {
					first_ad = e;
					break;
				}
			}
			if (first_ad == NULL) {
				printf("%s: none (node %d %s at %.3f s; no other node became "
				       "MASTER)\n",
				       label, ft->node, what, (double)ft->t / 1e9);
				continue;
			}
			if (ft->kind == CC_LEAVE) {
				/* The leaving MASTER's last word is its bow-out. */
				printf("%s: %llu ms  (node %d: bow-out advertisement at %.3f s; "
				       "node %d: first advertisement as MASTER at %.3f s)\n",
				       label, (unsigned long long)((first_ad->t - ft->t) / RD_MSEC),
				       ft->node, (double)ft->t / 1e9, first_ad->node,
				       (double)first_ad->t / 1e9);
				continue;
			}
			/* A carrier loss silences only that segment: elsewhere the
			 * node still advertises, and the clock starts at the loss. */
			rd_time_t from = ft->last_ad[s] != RD_TIME_NEVER ? ft->last_ad[s] : ft->t;
			if (ft->kind == CC_CARRIER_DOWN && ft->seg != s)
				from = ft->t;
			printf(
			    "%s: %llu ms  (node %d: last advertisement at %.3f s, %s at %.3f s; "
			    "node %d: first advertisement as MASTER at %.3f s, %llu ms after the "
			    "%s)\n",
			    label, (unsigned long long)((first_ad->t - from) / RD_MSEC), ft->node,
			    (double)from / 1e9, what, (double)ft->t / 1e9, first_ad->node,
			    (double)first_ad->t / 1e9,
			    (unsigned long long)((first_ad->t - ft->t) / RD_MSEC), what);
		}
	}
}

static void print_summary(const struct cc_cluster *c, rd_time_t end)
{
	uint64_t st[RD_SIM_STAT_COUNT];
	int who = -1;
	int masters = cc_masters(c, &who);

	rd_sim_stats(c->sim, -1, st);
	printf("at %.3f s: ", (double)end / 1e9);
	for (int i = 0; i < c->cfg.nodes; i++) {
		const struct cc_node *n = &c->node[i];
		int life = rd_sim_node_state(c->sim, i);
		uint64_t ads = 0;

		printf("%snode %d ", i != 0 ? ", " : "", i);
		for (int s = 0; s < c->nseg; s++) {
			const char *st_name = life == RD_SIM_NODE_CRASHED ? "crashed"
			                      : life == RD_SIM_NODE_FROZEN
			                          ? "frozen"
			                          : rd_carp_state_name(n->v[s].state);
			ads += n->v[s].ads;
			if (c->nseg > 1)
				printf("%s%s %s", s ? " " : "", cc_seg_name(s), st_name);
			else
				printf("%s", st_name);
		}
		printf(" (advskew %u, %llu ads)", c->cfg.advskew[i], (unsigned long long)ads);
	}
	printf("\nmasters: %d", masters);
	if (masters == 1)
		printf(" (node %d)", who);
	if (c->nseg > 1) {
		char h[256];

		printf("%s", masters == 1 ? " on the lan" : "");
		holders(c, c->nlog, h, sizeof(h));
		printf("\nholders: %s", h);
	}
	printf(
	    "\npackets: %llu sent, %llu delivered, %llu lost, %llu to crashed nodes, "
	    "%llu to nodes without carrier\n",
	    (unsigned long long)st[RD_SIM_STAT_SENT], (unsigned long long)st[RD_SIM_STAT_DELIVERED],
	    (unsigned long long)st[RD_SIM_STAT_LOST], (unsigned long long)st[RD_SIM_STAT_TO_DOWN],
	    (unsigned long long)st[RD_SIM_STAT_NO_CARRIER]);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"nodes", required_argument, NULL, 'n'},
	    {"vhid", required_argument, NULL, 'v'},
	    {"pass", required_argument, NULL, 'p'},
	    {"addr", required_argument, NULL, 'a'},
	    {"advbase", required_argument, NULL, 'b'},
	    {"advskew-step", required_argument, NULL, 'k'},
	    {"preempt", no_argument, NULL, 'P'},
	    {"seconds", required_argument, NULL, 't'},
	    {"seed", required_argument, NULL, 's'},
	    {"loss", required_argument, NULL, 'l'},
	    {"delay", required_argument, NULL, 'd'},
	    {"jitter", required_argument, NULL, 'j'},
	    {"crash-master-at", required_argument, NULL, 'C'},
	    {"restart-at", required_argument, NULL, 'R'},
	    {"leave-master-at", required_argument, NULL, 'L'},
	    {"rejoin-at", required_argument, NULL, 'J'},
	    {"freeze-master-at", required_argument, NULL, 'F'},
	    {"freeze-for", required_argument, NULL, 'f'},
	    {"partition-at", required_argument, NULL, 'X'},
	    {"heal-at", required_argument, NULL, 'H'},
	    {"pcap", required_argument, NULL, 'w'},
	    {"segments", required_argument, NULL, 'S'},
	    {"group", required_argument, NULL, 'G'},
	    {"fail-link", required_argument, NULL, 'D'},
	    {"restore-link", required_argument, NULL, 'U'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cc_config cfg = {.nodes = 3, .vhid = 1, .pass = "secret", .advbase = 1, .seed = 1};
	long step = 10;
	rd_time_t seconds = 60 * RD_SEC, never = RD_TIME_NEVER;
	rd_time_t crash_at = never, restart_at = never, freeze_at = never;
	rd_time_t leave_at = never, rejoin_at = never;
	rd_time_t part_at = never, heal_at = never;
	const char *pcap_path = NULL, *addr = "10.0.0.100";
	struct run r = {
	    .crashed = -1, .left = -1, .failed = -1, .freeze_for = 5 * RD_SEC, .verbose = true};
	const char *groups[MAX_GROUPS];
	double loss = 0;
	int o;

	cfg.link.delay = 100 * RD_USEC;
	cfg.link.jitter = 100 * RD_USEC;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			cfg.nodes = (int)num(optarg, 1, CC_MAX_NODES, "--nodes");
			break;
		case 'v':
			cfg.vhid = (uint8_t)num(optarg, 1, 255, "--vhid");
			break;
		case 'p':
			cfg.pass = optarg;
			break;
		case 'a':
			addr = optarg;
			break;
		case 'b':
			cfg.advbase = (uint8_t)num(optarg, 0, 255, "--advbase");
			break;
		case 'k':
			step = num(optarg, 0, 254, "--advskew-step");
			break;
		case 'P':
			cfg.preempt = true;
			break;
		case 't':
			seconds = secs(optarg);
			break;
		case 's':
			cfg.seed = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			loss = strtod(optarg, NULL);
			if (loss < 0 || loss > 100) {
				fputs("carp-sim: --loss must be 0..100\n", stderr);
				return 2;
			}
			break;
		case 'd':
			cfg.link.delay = secs(optarg) / 1000;
			break;
		case 'j':
			cfg.link.jitter = secs(optarg) / 1000;
			break;
		case 'C':
			crash_at = secs(optarg);
			break;
		case 'R':
			restart_at = secs(optarg);
			break;
		case 'L':
			leave_at = secs(optarg);
			break;
		case 'J':
			rejoin_at = secs(optarg);
			break;
		case 'F':
			freeze_at = secs(optarg);
			break;
		case 'f':
			r.freeze_for = secs(optarg);
			break;
		case 'X':
			part_at = secs(optarg);
			break;
		case 'H':
			heal_at = secs(optarg);
			break;
		case 'w':
			pcap_path = optarg;
			break;
		case 'S':
			cfg.segments = (int)num(optarg, 1, CC_MAX_SEGS, "--segments");
			break;
		case 'G':
			if (cfg.ngroups == MAX_GROUPS) {
				fprintf(stderr, "carp-sim: at most %d --group\n", MAX_GROUPS);
				return 2;
			}
			groups[cfg.ngroups++] = optarg;
			break;
		case 'D':
		case 'U':
			parse_link(optarg, o == 'U', &r, cfg.segments);
			break;
		case 'q':
			r.verbose = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((cfg.nodes - 1) * step > 254) {
		fprintf(stderr, "carp-sim: (nodes-1) * advskew-step must be at most 254\n");
		return 2;
	}
	if (rd_addr_parse(addr, &cfg.vip) != 0) {
		fprintf(stderr, "carp-sim: bad --addr '%s'\n", addr);
		return 2;
	}
	if (strlen(cfg.pass) > 19) {
		fprintf(stderr, "carp-sim: --pass is at most 19 bytes\n");
		return 2;
	}
	if (cfg.vhid + (cfg.segments > 1 ? 1 : 0) > 255) {
		fprintf(stderr, "carp-sim: with two segments the WAN uses vhid %u + 1\n", cfg.vhid);
		return 2;
	}
	cfg.groups = groups;
	for (int i = 0; i < cfg.nodes; i++)
		cfg.advskew[i] = (uint8_t)(i * step);
	cfg.link.loss_ppm = RD_SIM_PCT(loss);
	if (rd_init() != 0) {
		fputs("carp-sim: rd_init failed\n", stderr);
		return 1;
	}

	struct rd_pcap_writer *pcap = NULL;
	if (pcap_path != NULL &&
	    rd_pcap_writer_open(pcap_path, RD_PCAP_LINKTYPE_ETHERNET, NULL, &pcap) != 0) {
		perror(pcap_path);
		return 1;
	}
	cfg.pcap = pcap;
	r.c = cc_new(&cfg);
	if (r.c == NULL) {
		fputs("carp-sim: cannot build the cluster (a bad --group name?)\n", stderr);
		return 1;
	}
	for (int i = 0; i < r.nlinks; i++) {
		if (r.links[i].who >= cfg.nodes) {
			fprintf(stderr, "carp-sim: no node %d\n", r.links[i].who);
			return 2;
		}
		rd_sim_call_at(r.c->sim, r.links[i].at, link_change, &r.links[i]);
	}
	struct rd_sim *sim = r.c->sim;
	if (crash_at != never)
		rd_sim_call_at(sim, crash_at, crash_master, &r);
	if (restart_at != never)
		rd_sim_call_at(sim, restart_at, restart_crashed, &r);
	if (freeze_at != never)
		rd_sim_call_at(sim, freeze_at, freeze_master, &r);
	if (leave_at != never)
		rd_sim_call_at(sim, leave_at, leave_master, &r);
	if (rejoin_at != never)
		rd_sim_call_at(sim, rejoin_at, rejoin_left, &r);
	if (part_at != never) {
		int pgroups[CC_MAX_NODES];
		for (int i = 0; i < cfg.nodes; i++)
			pgroups[i] = i < (cfg.nodes + 1) / 2 ? 0 : 1;
		for (int s = 0; s < r.c->nseg; s++)
			rd_sim_partition_at(sim, part_at, r.c->seg[s], pgroups, (size_t)cfg.nodes);
	}
	if (heal_at != never)
		for (int s = 0; s < r.c->nseg; s++)
			rd_sim_heal_at(sim, heal_at, r.c->seg[s]);

	char vip[RD_ADDR_STRLEN];
	printf("carp-sim: %d nodes, vhid %u, %s, advbase %u, advskew step %ld, %spreempt, "
	       "loss %.1f%%, seed %llu, %.1f s\n",
	       cfg.nodes, cfg.vhid, rd_addr_format(&cfg.vip, vip, sizeof(vip)), cfg.advbase, step,
	       cfg.preempt ? "" : "no ", loss, (unsigned long long)cfg.seed, (double)seconds / 1e9);
	if (r.c->nseg > 1) {
		printf("segments: lan (vhid %u) and wan (vhid %u), one demotion node per firewall, "
		       "vhosts in groups",
		       cfg.vhid, cfg.vhid + 1);
		bool carp = true;
		for (size_t i = 0; i < cfg.ngroups; i++)
			carp &= strcmp(groups[i], "-carp") != 0;
		printf("%s", carp ? " carp" : "");
		for (size_t i = 0; i < cfg.ngroups; i++)
			if (strcmp(groups[i], "-carp") != 0 && strcmp(groups[i], "carp") != 0)
				printf(" %s", groups[i]);
		printf("%s\n", carp || cfg.ngroups > 1 ? "" : " (none)");
	}
	if (rd_sim_run_until(sim, seconds) < 0 || r.c->failed) {
		fputs("carp-sim: the simulation failed (out of memory?)\n", stderr);
		return 1;
	}
	if (r.verbose)
		print_timeline(r.c);
	print_summary(r.c, seconds);
	print_failovers(&r);
	cc_free(r.c);
	if (pcap != NULL && rd_pcap_writer_close(pcap) != 0) {
		fprintf(stderr, "carp-sim: writing %s failed\n", pcap_path);
		return 1;
	}
	return 0;
}
