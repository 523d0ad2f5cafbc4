/*
 * pfsync-flood: a steady stream of pfsync v6 state updates (full UPD
 * messages, packed to the MTU) over raw IP protocol 240, as a busy firewall's
 * pfsync or plain-mode syncd sends them: the sync load of bench/carp-loaded.sh.
 *
 *   pfsync-flood -i IF [-r STATES_PER_S] [-n POOL] [-d DST] [-m MTU] [-t SECONDS]
 *     -i IF   interface to send on (the socket is bound to it)
 *     -r N    state updates a second (default 100000), sent in 1 ms batches
 *     -n N    distinct states, updated in turn (default 20000): UDP states
 *             10.200.x.y:port -> 10.201.0.1:53, creatorid 0x0f100d00
 *     -d DST  destination (default the pfsync group 224.0.0.240), TTL 255
 *     -m MTU  packet size limit (default 1500: 5 states a packet)
 *     -t S    stop after S seconds (default: at SIGTERM / SIGINT)
 *
 * Each pass over the pool raises every state's packet and byte counters,
 * so each update is a change. At exit it prints one line on stdout:
 * the states and packets sent, send errors, and the rate achieved.
 * Needs root (raw socket). Send it only inside a network namespace.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "redund/pfsync.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill_state(struct rd_pfsync_state *s, uint32_t i, uint64_t pass)
{
	memset(s, 0, sizeof(*s));
	s->id = 0x7100000000000000ULL + i;
	strcpy(s->ifname, "all");
	s->af = RD_AF_INET;
	s->proto = 17;
	for (int k = 0; k < 2; k++) {
		s->key[k].af = RD_AF_INET;
		s->key[k].proto = 17;
		s->key[k].addr[0] = rd_addr_v4(0x0ac80000u + (i >> 6));
		s->key[k].addr[1] = rd_addr_v4(0x0ac90001u);
		s->key[k].port[0] = (uint16_t)(1024 + (i & 63));
		s->key[k].port[1] = 53;
	}
	s->src.state = RD_PFSYNC_UDPS_MULTIPLE;
	s->dst.state = RD_PFSYNC_UDPS_MULTIPLE;
	s->rule = -1;
	s->anchor = -1;
	s->nat_rule = -1;
	s->creation = 10;
	s->expire = 60;
	s->packets[0] = pass + 1;
	s->packets[1] = pass + 1;
	s->bytes[0] = (pass + 1) * 100;
	s->bytes[1] = (pass + 1) * 100;
	s->creatorid = 0x0f100d00;
	s->direction = RD_PFSYNC_DIR_IN;
	s->timeout = RD_PFSYNC_TM_UDP_MULTIPLE;
}

static void usage(void)
{
	fprintf(stderr, "usage: pfsync-flood -i IF [-r STATES_PER_S] [-n POOL] [-d DST] "
	                "[-m MTU] [-t SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *dst = "224.0.0.240";
	unsigned long rate = 100000, pool = 20000, mtu = 1500;
	double secs = 0;
	int c;

	while ((c = getopt(argc, argv, "i:r:n:d:m:t:")) != -1) {
		switch (c) {
		case 'i':
			ifname = optarg;
			break;
		case 'r':
			rate = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			pool = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			dst = optarg;
			break;
		case 'm':
			mtu = strtoul(optarg, NULL, 0);
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		default:
			usage();
		}
	}
	if (ifname == NULL || rate == 0 || pool == 0 || mtu < 576 || mtu > 65535)
		usage();

	struct sockaddr_in to = {.sin_family = AF_INET};
	if (inet_pton(AF_INET, dst, &to.sin_addr) != 1)
		usage();
	int fd = socket(AF_INET, SOCK_RAW, 240);
	int ttl = 255;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname)) != 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) != 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) != 0) {
		perror("pfsync-flood: socket");
		return 1;
	}
	struct ip_mreqn mr = {.imr_ifindex = (int)if_nametoindex(ifname)};
	if (IN_MULTICAST(ntohl(to.sin_addr.s_addr)) &&
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) != 0) {
		perror("pfsync-flood: IP_MULTICAST_IF");
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	uint8_t *pkt = malloc(mtu);
	if (pkt == NULL)
		return 1;
	struct rd_pfsync_builder b;
	struct rd_pfsync_msg m = {.action = RD_PFSYNC_ACT_UPD};
	unsigned long long states = 0, pkts = 0, errs = 0, pass = 0;
	uint32_t next = 0;
	double t0 = mono_s();
	struct timespec tick;
	clock_gettime(CLOCK_MONOTONIC, &tick);

	while (!stop && (secs <= 0 || mono_s() - t0 < secs)) {
		/* The states owed by now (1 ms batches, catching up after a delay). */
		unsigned long long owed = (unsigned long long)((mono_s() - t0) * (double)rate);

		while (states < owed && !stop) {
			size_t n = 0;

			rd_pfsync_builder_init(&b, pkt, mtu - 20);
			for (;;) {
				fill_state(&m.u.state, next, pass);
				if (rd_pfsync_builder_add(&b, &m) != 0)
					break;
				n++;
				if (++next == pool) {
					next = 0;
					pass++;
				}
			}
			size_t len = rd_pfsync_builder_finish(&b);
			if (sendto(fd, pkt, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
				errs++;
			else
				pkts++;
			states += n;
		}
		tick.tv_nsec += 1000000;
		if (tick.tv_nsec >= 1000000000) {
			tick.tv_nsec -= 1000000000;
			tick.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL);
	}
	double el = mono_s() - t0;
	printf("pfsync-flood: %llu states in %llu packets (%llu send errors) in %.1f s: "
	       "%.0f states/s\n",
	       states, pkts, errs, el, el > 0 ? (double)states / el : 0.0);
	free(pkt);
	close(fd);
	return 0;
}
