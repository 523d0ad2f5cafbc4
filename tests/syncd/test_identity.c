/* Unit tests of syncd's kept creatorid (syncd/identity.c). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test_tmpdir.h"
#include "syncd.h"

static char dir[256];

static void setup(void)
{
	ck_assert_ptr_nonnull(rd_test_mkdtemp("syncd-identity", dir, sizeof(dir)));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void file_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(first_start_makes_an_id_and_later_starts_keep_it)
{
	char sub[300], path[320], text[32], want[16], err[SD_ERR_LEN];
	uint32_t id = 0, again = 0;
	bool kept = false;

	/* The directory itself is made when missing (the default's parent exists). */
	snprintf(sub, sizeof(sub), "%s/state", dir);
	ck_assert_int_eq(sd_identity(sub, &id, &kept, err), 0);
	ck_assert(kept);
	ck_assert_uint_ne(id, 0);
	snprintf(path, sizeof(path), "%s/creatorid", sub);
	file_text(path, text, sizeof(text));
	snprintf(want, sizeof(want), "%08x\n", id);
	ck_assert_str_eq(text, want);
	ck_assert_int_ne(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/creatorid.tmp", sub);
	ck_assert_int_eq(access(path, F_OK), -1); /* no temporary left behind */
	ck_assert_int_eq(sd_identity(sub, &again, &kept, err), 0);
	ck_assert(kept);
	ck_assert_uint_eq(again, id);
}
END_TEST

START_TEST(an_operators_file_is_read_as_hex)
{
	char path[320], err[SD_ERR_LEN];
	uint32_t id = 0;
	bool kept = false;

	snprintf(path, sizeof(path), "%s/creatorid", dir);
	put_file(path, "0a0b0c0d\n");
	ck_assert_int_eq(sd_identity(dir, &id, &kept, err), 0);
	ck_assert(kept);
	ck_assert_uint_eq(id, 0x0a0b0c0d);
}
END_TEST

/* A damaged file stops syncd with its name: a new id would orphan the member's states. */
START_TEST(a_malformed_file_is_an_error_and_left_alone)
{
	const char *bad[] = {"", "0\n", "xyz\n", "123456789\n", "-1\n"};
	char path[320], err[SD_ERR_LEN], text[32];

	snprintf(path, sizeof(path), "%s/creatorid", dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t id = 0;
		bool kept = true;

		put_file(path, bad[i]);
		ck_assert_int_eq(sd_identity(dir, &id, &kept, err), -1);
		ck_assert(!kept);
		ck_assert_uint_eq(id, 0);
		ck_assert_ptr_nonnull(strstr(err, path));
		ck_assert_ptr_nonnull(strstr(err, "remove it"));
		file_text(path, text, sizeof(text));
		ck_assert_str_eq(text, bad[i]);
	}
}
END_TEST

/* A directory that cannot be made: an error, and a random id for this run only. */
START_TEST(an_unwritable_directory_gives_an_id_not_kept)
{
	char file[320], sub[340], err[SD_ERR_LEN];
	uint32_t id = 0;
	bool kept = true;

	snprintf(file, sizeof(file), "%s/plain-file", dir);
	put_file(file, "x");
	snprintf(sub, sizeof(sub), "%s/state", file);
	ck_assert_int_eq(sd_identity(sub, &id, &kept, err), -1);
	ck_assert(!kept);
	ck_assert_uint_ne(id, 0);
	ck_assert_ptr_nonnull(strstr(err, sub));
}
END_TEST

/*
 * The channel's first sequence number of each start: the clock, but never
 * below the last start's plus SD_INCARNATION_GAP, so a restart after the
 * clock was stepped back still numbers above the previous incarnation.
 */
START_TEST(incarnations_grow_even_when_the_clock_goes_back)
{
	char err[SD_ERR_LEN], path[320];
	const uint64_t t = 1800000000ull * 1000000000ull;
	uint64_t a, b, c, d;

	a = sd_incarnation(dir, t, err);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(a, t); /* the first start: the clock */
	b = sd_incarnation(dir, t + 3600ull * 1000000000ull, err);
	ck_assert_uint_eq(b, t + 3600ull * 1000000000ull);          /* an hour later: the clock */
	c = sd_incarnation(dir, t - 86400ull * 1000000000ull, err); /* clock a day back */
	ck_assert_uint_eq(c, b + SD_INCARNATION_GAP);
	d = sd_incarnation(dir, t - 86400ull * 1000000000ull + 5, err);
	ck_assert_uint_gt(d, c);
	/* A damaged file: the clock alone, and the file is made good again. */
	snprintf(path, sizeof(path), "%s/incarnation", dir);
	put_file(path, "garbage\n");
	ck_assert_uint_eq(sd_incarnation(dir, t, err), t);
	ck_assert_ptr_nonnull(strstr(err, "damaged")); /* said, not silent */
	ck_assert_uint_eq(sd_incarnation(dir, t, err), t + SD_INCARNATION_GAP);
	ck_assert_str_eq(err, "");
	/* No directory to keep it in: the clock, and err says why. */
	snprintf(path, sizeof(path), "%s/incarnation/x", dir);
	ck_assert_uint_eq(sd_incarnation(path, t, err), t);
	ck_assert_str_ne(err, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("syncd-identity");
	TCase *t = tcase_create("identity");
	SRunner *r;
	int failed;

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, first_start_makes_an_id_and_later_starts_keep_it);
	tcase_add_test(t, an_operators_file_is_read_as_hex);
	tcase_add_test(t, a_malformed_file_is_an_error_and_left_alone);
	tcase_add_test(t, an_unwritable_directory_gives_an_id_not_kept);
	tcase_add_test(t, incarnations_grow_even_when_the_clock_goes_back);
	suite_add_tcase(s, t);
	r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
