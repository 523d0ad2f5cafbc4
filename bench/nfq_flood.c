/*
 * nfq-flood — the UDP traffic of bench/nfq-bench.sh: small datagrams as
 * fast as one core sends them (sendmmsg, 64 a call) over N flows (one
 * socket, so one source port, each), and a receiver counting what arrives.
 *
 *   nfq-flood send DST PORT SECONDS [FLOWS [SIZE]]   prints "sent N pps P"
 *   nfq-flood recv PORT SECONDS                       prints "received N pps P"
 *
 * The receiver counts from its first datagram for SECONDS (so start it
 * first), with recvmmsg, 64 a call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int do_send(const char *dst, int port, double secs, int flows, int size)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	char payload[1500];
	int *fd = calloc((size_t)flows, sizeof(int));
	unsigned long long sent = 0;

	if (fd == NULL || inet_pton(AF_INET, dst, &to.sin_addr) != 1)
		return 2;
	memset(payload, 'x', sizeof(payload));
	for (int i = 0; i < flows; i++)
		if ((fd[i] = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
		    connect(fd[i], (struct sockaddr *)&to, sizeof(to)) < 0) {
			perror("socket");
			return 1;
		}
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = (size_t)size;
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	double t0 = now_s(), end = t0 + secs;
	for (int k = 0; now_s() < end; k = (k + 1) % flows) {
		int n = sendmmsg(fd[k], m, BATCH, 0);
		if (n > 0)
			sent += (unsigned long long)n;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
			perror("sendmmsg");
	}
	printf("sent %llu pps %.0f\n", sent, (double)sent / (now_s() - t0));
	return 0;
}

static int do_recv(int port, double secs)
{
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct mmsghdr m[BATCH];
	struct iovec iov[BATCH];
	static char buf[BATCH][2048];
	int fd = socket(AF_INET, SOCK_DGRAM, 0), size = 32 << 20;
	unsigned long long got = 0;
	double t0 = 0, end = 0;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("bind");
		return 1;
	}
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = buf[i];
		iov[i].iov_len = sizeof(buf[i]);
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (t0 != 0 && now_s() >= end)
			break;
		if (poll(&p, 1, 100) <= 0)
			continue;
		int n = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		if (t0 == 0) {
			t0 = now_s();
			end = t0 + secs;
			continue; /* counting starts after the first batch */
		}
		got += (unsigned long long)n;
	}
	printf("received %llu pps %.0f\n", got, (double)got / (now_s() - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], atoi(argv[3]), atof(argv[4]), argc > 5 ? atoi(argv[5]) : 1,
		               argc > 6 ? atoi(argv[6]) : 18);
	if (argc == 4 && strcmp(argv[1], "recv") == 0)
		return do_recv(atoi(argv[2]), atof(argv[3]));
	fprintf(stderr,
	        "usage: nfq-flood send DST PORT SECONDS [FLOWS [SIZE]] | recv PORT SECONDS\n");
	return 2;
}
