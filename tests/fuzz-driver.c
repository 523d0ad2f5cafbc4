/*
 * Stand-alone driver for the fuzz targets when they are not built with
 * libFuzzer (gcc builds, the ASan build): runs LLVMFuzzerTestOneInput over
 * every file and directory named on the command line (the seed corpus), then
 * over mutations of those seeds and purely random inputs from a fixed seed,
 * so the targets run as ordinary, repeatable tests.
 *
 * Environment: FUZZ_DRIVER_RUNS (default 20000) random/mutated inputs,
 * FUZZ_DRIVER_SEED (default 1).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEDS      256
#define FUZZ_MAX_INPUT 4096

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_len[MAX_SEEDS];
static size_t nseeds;
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		fprintf(stderr, "%s: read failed\n", path);
		exit(2);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	if (nseeds < MAX_SEEDS) {
		seeds[nseeds] = buf;
		seed_len[nseeds++] = (size_t)n;
	} else {
		free(buf);
	}
}

static void run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char sub[4096];

	if (stat(path, &st) != 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	d = opendir(path);
	if (d == NULL) {
		perror(path);
		exit(2);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		run_path(sub);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	const char *s;
	long runs = 20000;
	uint8_t buf[FUZZ_MAX_INPUT];

	rng_state = 1;
	if ((s = getenv("FUZZ_DRIVER_RUNS")) != NULL)
		runs = strtol(s, NULL, 10);
	if ((s = getenv("FUZZ_DRIVER_SEED")) != NULL)
		rng_state = strtoull(s, NULL, 10) | 1;
	for (int i = 1; i < argc; i++)
		run_path(argv[i]);
	for (long r = 0; r < runs; r++) {
		size_t len;

		if (nseeds > 0 && (rng() & 3) != 0) {
			/* Mutate a seed: flip bytes, truncate or extend. */
			size_t k = rng() % nseeds;
			len = seed_len[k] > FUZZ_MAX_INPUT ? FUZZ_MAX_INPUT : seed_len[k];
			memcpy(buf, seeds[k], len);
			int flips = 1 + (int)(rng() % 4);
			for (int f = 0; f < flips && len > 0; f++)
				buf[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
			switch (rng() % 4) {
			case 0:
				len = len > 0 ? rng() % (len + 1) : 0;
				break;
			case 1:
				while (len < FUZZ_MAX_INPUT && (rng() & 7) != 0)
					buf[len++] = (uint8_t)rng();
				break;
			default:
				break;
			}
		} else {
			len = rng() % 512;
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rng();
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("fuzz driver: %zu seed inputs, %ld generated inputs, no crash\n", nseeds, runs);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i]);
	return 0;
}
