/*
 * hash-bench: the keyed hash of the library's tables (core/siphash.h,
 * SipHash-1-3 inline) against libsodium's crypto_shorthash_siphash24 call
 * that they used before, at the lengths the tables hash: 12 bytes (the sync
 * engine's and the state table's (id, creatorid)), 16 (an IPv4 state key),
 * 22 (a source node) and 40 (an IPv6 state key).
 *
 * Throughput: independent messages one after another (the CPU overlaps
 * them, as a burst lookup does). Latency: each message holds the previous
 * hash (as a single lookup waits for its hash before its first load).
 * Thread CPU time, best of 5 runs, so other loads on the machine count
 * little.
 *
 *   hash-bench
 */
#include <sodium.h>
#include <stdio.h>
#include <time.h>

#include "core/siphash.h"

#define N     20000000
#define NMSG  (1 << 16)
#define ROUND 5

static unsigned char msg[NMSG][48];

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
	static const size_t lens[] = {12, 16, 22, 40};
	unsigned char key[16];
	struct rd_sipkey k;
	volatile uint64_t sink = 0;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	rd_sipkey_from_bytes(&k, key);
	randombytes_buf(msg, sizeof(msg));
	printf("%5s %18s %18s %18s %18s\n", "bytes", "siphash24 thr ns", "siphash13 thr ns",
	       "siphash24 lat ns", "siphash13 lat ns");
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li];
		double best[4] = {1e9, 1e9, 1e9, 1e9};
		for (int r = 0; r < ROUND; r++) {
			double t0 = cpu_s(), d;
			uint64_t acc = 0, h = 1;
			unsigned char b[48] = {0};
			for (size_t i = 0; i < N; i++) {
				crypto_shorthash_siphash24((unsigned char *)&h, msg[i % NMSG], len,
				                           key);
				acc += h;
			}
			d = (cpu_s() - t0) / N * 1e9;
			best[0] = d < best[0] ? d : best[0];
			t0 = cpu_s();
			for (size_t i = 0; i < N; i++)
				acc += rd_siphash13(&k, msg[i % NMSG], len);
			d = (cpu_s() - t0) / N * 1e9;
			best[1] = d < best[1] ? d : best[1];
			t0 = cpu_s();
			for (size_t i = 0; i < N / 4; i++) {
				memcpy(b, &h, 8);
				crypto_shorthash_siphash24((unsigned char *)&h, b, len, key);
			}
			d = (cpu_s() - t0) / (N / 4) * 1e9;
			best[2] = d < best[2] ? d : best[2];
			t0 = cpu_s();
			for (size_t i = 0; i < N / 4; i++) {
				memcpy(b, &h, 8);
				h = rd_siphash13(&k, b, len);
			}
			d = (cpu_s() - t0) / (N / 4) * 1e9;
			best[3] = d < best[3] ? d : best[3];
			sink += acc + h;
		}
		printf("%5zu %18.1f %18.1f %18.1f %18.1f\n", len, best[0], best[1], best[2],
		       best[3]);
	}
	/* Printed, so the sums (and the hashing behind them) cannot be dropped. */
	printf("checksum %016llx\n", (unsigned long long)sink);
	return 0;
}
