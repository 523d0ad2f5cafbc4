/*
 * Unit tests of syncd's command line and config file (syncd/config.c over
 * daemon.h's parser) and of its key files: every getopt form, the file
 * read first and the command line winning, lines of any length and their
 * numbers, every keyword in both places, key files read whole and private,
 * send-keyid naming any key given (0 too), one id per key, ct-batch
 * outside 1..1024 refused naming the file and line.
 */
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../test_tmpdir.h"
#include "redund/sync.h"
#include "syncd.h"

static char dir[256];

static int parse(struct sd_config *cfg, char *err, int argc, const char **argv)
{
	return sd_options_parse(argc, (char **)argv, cfg, err);
}
#define PARSE(cfg, err, ...)                                                                       \
	({                                                                                         \
		const char *a_[] = {"syncd", __VA_ARGS__};                                         \
		parse(cfg, err, (int)(sizeof(a_) / sizeof(a_[0])), a_);                            \
	})

/* Write len bytes of text to DIR/name with mode; returns the path (static buffer). */
static const char *file_bytes(const char *name, const char *text, size_t len, mode_t mode)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static const char *file(const char *name, const char *text)
{
	return file_bytes(name, text, strlen(text), 0600);
}

/* A key file with key id `id` and a key of bytes `fill`. */
static const char *keyfile(const char *name, uint32_t id, uint8_t fill)
{
	struct rd_sync_key k;
	char text[RD_SYNC_KEY_TEXT_LEN];

	memset(&k, 0, sizeof(k)); /* aead 0: XChaCha20-Poly1305 */
	k.id = id;
	memset(k.key, fill, sizeof(k.key));
	ck_assert_int_gt(rd_sync_key_format(&k, text, sizeof(text)), 0);
	return file(name, text);
}

START_TEST(every_getopt_form_reads_the_config_file)
{
	static const char *const forms[][2] = {
	    {"-c", NULL}, {"-c%s", ""}, {"--config", NULL}, {"--config=%s", ""}, {"--conf", NULL}};
	struct sd_config c;
	char err[SD_ERR_LEN], path[512], arg[600];
	size_t i;

	snprintf(path, sizeof(path), "%s",
	         file("forms.conf", "mode plain\ninterface eth9\nbulk-rate 2000\n"));
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (forms[i][1] == NULL) {
			ck_assert_int_eq(PARSE(&c, err, forms[i][0], path), 0);
		} else {
			snprintf(arg, sizeof(arg), forms[i][0], path);
			ck_assert_int_eq(PARSE(&c, err, arg), 0);
		}
		ck_assert_int_eq(c.mode, RD_IO_SYNC_PLAIN);
		ck_assert_str_eq(c.ifname, "eth9");
		ck_assert_uint_eq(c.bulk_rate, 2000);
		ck_assert_str_eq(c.config_file, path);
		sd_config_free(&c);
	}
}
END_TEST

/* maxupd 0 acts as 1, as in OpenBSD (the count is raised before it is compared). */
START_TEST(maxupd_zero_is_taken_as_one)
{
	struct sd_config c;
	char err[SD_ERR_LEN], path[512];

	ck_assert_int_eq(PARSE(&c, err, "-ieth1", "-mplain", "--maxupd", "0"), 0);
	ck_assert_uint_eq(c.maxupd, 1);
	sd_config_free(&c);
	snprintf(path, sizeof(path), "%s",
	         file("maxupd0.conf", "interface eth1\nmode plain\nmaxupd 0\n"));
	ck_assert_int_eq(PARSE(&c, err, "-c", path), 0);
	ck_assert_uint_eq(c.maxupd, 1);
	sd_config_free(&c);
	ck_assert_int_ne(PARSE(&c, err, "-ieth1", "-mplain", "--maxupd", "256"), 0);
}
END_TEST

START_TEST(options_in_every_form_and_the_command_line_wins)
{
	struct sd_config c;
	char err[SD_ERR_LEN], path[512];

	ck_assert_int_eq(PARSE(&c, err, "-ieth1", "-mplain", "-p10.0.0.2", "--peer=10.0.0.3",
	                       "--bulk-rate=5000", "-s/tmp/s.sock", "--lim", "7", "-Bd"),
	                 0);
	ck_assert_str_eq(c.ifname, "eth1");
	ck_assert_int_eq(c.mode, RD_IO_SYNC_PLAIN);
	ck_assert_uint_eq(c.npeers, 2);
	ck_assert_uint_eq(c.bulk_rate, 5000);
	ck_assert_str_eq(c.control, "/tmp/s.sock");
	ck_assert_uint_eq(c.limit, 7);
	ck_assert(c.daemonize && c.debug);
	sd_config_free(&c);
	/* The file is read first, wherever -c stands: the command line wins. */
	snprintf(path, sizeof(path), "%s",
	         file("wins.conf", "mode plain\ninterface eth2\nmtu 9000\nforeground\n"));
	ck_assert_int_eq(PARSE(&c, err, "--mtu", "1400", "-B", "-c", path), 0);
	ck_assert_uint_eq(c.mtu, 1400);
	ck_assert_str_eq(c.ifname, "eth2");
	ck_assert(c.daemonize);
	sd_config_free(&c);
}
END_TEST

START_TEST(errors_name_the_option_or_the_line)
{
	struct sd_config c;
	char err[SD_ERR_LEN], want[1024], path[512];

	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-m", "plain", "--no-bulk=1"), -1);
	ck_assert_str_eq(err, "option '--no-bulk' takes no argument");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-m", "plain", "-k"), -1);
	ck_assert_str_eq(err, "option '-k' expects an argument");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "--m", "plain"), -1);
	ck_assert_str_eq(err, "ambiguous option '--m' (--mode, --mtu, --maxupd)");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-m", "plain", "--mtu", "100"), -1);
	ck_assert_str_eq(err, "--mtu: expected an MTU from 576 to 65535, got '100'");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "--foreground"), -1);
	ck_assert_str_eq(err, "unknown option '--foreground' (see syncd --help)");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-m", "plain", "-f", "local0"), -1);
	ck_assert_str_eq(err, "--facility: expected 'none' (stderr only), got 'local0'");
	sd_config_free(&c);

	snprintf(path, sizeof(path), "%s", file("bad.conf", "# x\n\nmode plain\nport 0\n"));
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-c", path), -1);
	snprintf(want, sizeof(want), "%s:4: port: expected a port from 1 to 65535, got '0'", path);
	ck_assert_str_eq(err, want);
	sd_config_free(&c);
	snprintf(path, sizeof(path), "%s", file("bad.conf", "mode plain\nfrobnicate\n"));
	ck_assert_int_eq(PARSE(&c, err, "-c", path), -1);
	snprintf(want, sizeof(want), "%s:2: unknown keyword 'frobnicate' (see syncd(8))", path);
	ck_assert_str_eq(err, want);
	sd_config_free(&c);
	snprintf(path, sizeof(path), "%s", file("bad.conf", "daemonize\n"));
	ck_assert_int_eq(PARSE(&c, err, "-c", path), -1);
	snprintf(want, sizeof(want), "%s:1: 'daemonize' is an option of the command line only",
	         path);
	ck_assert_str_eq(err, want);
	sd_config_free(&c);
	snprintf(path, sizeof(path), "%s", file("bad.conf", "mode\n"));
	ck_assert_int_eq(PARSE(&c, err, "-c", path), -1);
	snprintf(want, sizeof(want), "%s:1: expected 'mode secure|plain'", path);
	ck_assert_str_eq(err, want);
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-c", path, "--config", path), -1);
	ck_assert_str_eq(err, "--config: given twice (one configuration file)");
	sd_config_free(&c);
}
END_TEST

/*
 * Lines of any length: today's probe found a 1,024-byte line buffer, so
 * that text past byte 1,023 of a comment became a keyword.
 */
START_TEST(long_comment_lines_stay_comments_and_lines_are_counted)
{
	struct sd_config c;
	char err[SD_ERR_LEN], want[1024];
	char *text = malloc(20000);
	size_t n = 0, i;

	ck_assert_ptr_nonnull(text);
	n += (size_t)sprintf(text + n, "# ");
	for (i = 0; i < 1021; i++)
		text[n++] = 'c';
	/* Bytes 1,023 on: a keyword if the line were cut there. */
	n += (size_t)sprintf(text + n, "creatorid 0a0b0c0d\n");
	n += (size_t)sprintf(text + n, "mode plain #");
	for (i = 0; i < 5000; i++)
		text[n++] = ' ';
	n += (size_t)sprintf(text + n, "creatorid 0a0b0c0e\n");
	n += (size_t)sprintf(text + n, "state-dir /");
	for (i = 0; i < 3000; i++)
		text[n++] = 's';
	n += (size_t)sprintf(text + n, "\n");
	sd_config_init(&c);
	ck_assert_int_eq(sd_config_parse(&c, "long.conf", text, n, err), 0);
	ck_assert_uint_eq(c.creatorid, 0);
	ck_assert_int_eq(c.mode, RD_IO_SYNC_PLAIN);
	ck_assert_uint_eq(strlen(c.state_dir), 3001);
	sd_config_free(&c);
	/* An error after them names its own line. */
	n += (size_t)sprintf(text + n, "\n  label 128\n");
	sd_config_init(&c);
	ck_assert_int_eq(sd_config_parse(&c, "long.conf", text, n, err), -1);
	snprintf(want, sizeof(want),
	         "long.conf:5: label: expected a conntrack label bit 0 to 127, or off, got '128'");
	ck_assert_str_eq(err, want);
	sd_config_free(&c);
	/* A NUL byte. */
	sd_config_init(&c);
	ck_assert_int_eq(sd_config_parse(&c, "nul.conf", "mode plain\n\nmo\0de", 17, err), -1);
	ck_assert_str_eq(err, "nul.conf:3: a NUL byte: not a text file");
	sd_config_free(&c);
	free(text);
}
END_TEST

/* The same words in both places: every keyword through the file equals the command line. */
START_TEST(every_keyword_means_the_same_in_both_places)
{
	struct sd_config f, l;
	char err[SD_ERR_LEN], path[512];

	snprintf(path, sizeof(path), "%s",
	         file("every.conf", "interface eth3\npeer 10.0.0.2\nmode plain\nport 9000\n"
	                            "group 224.0.0.241\nlocal 10.0.0.1\ncreatorid 0x0a0b0c0d\n"
	                            "state-dir /tmp/sd\nlabel off\nmtu 1400\nlimit 500\n"
	                            "maxupd 16\nbulk-rate 3000\ncarpd-control /tmp/c.sock\n"
	                            "demote-group fw\nno-bulk\nno-apply\nstrict-own\n"
	                            "check-ttl\ncontrol /tmp/s.sock\ndebug\n"));
	ck_assert_int_eq(PARSE(&f, err, "-c", path), 0);
	ck_assert_int_eq(PARSE(&l, err, "--interface", "eth3", "--peer", "10.0.0.2", "--mode",
	                       "plain", "--port", "9000", "--group", "224.0.0.241", "--local",
	                       "10.0.0.1", "--creatorid", "0x0a0b0c0d", "--state-dir", "/tmp/sd",
	                       "--label", "off", "--mtu", "1400", "--limit", "500", "--maxupd",
	                       "16", "--bulk-rate", "3000", "--carpd-control", "/tmp/c.sock",
	                       "--demote-group", "fw", "--no-bulk", "--no-apply", "--strict-own",
	                       "--check-ttl", "--control", "/tmp/s.sock", "--debug"),
	                 0);
	ck_assert_str_eq(f.ifname, l.ifname);
	ck_assert_uint_eq(f.npeers, 1);
	ck_assert_int_eq(rd_addr_cmp(&f.peers[0], &l.peers[0]), 0);
	ck_assert_int_eq(f.mode, l.mode);
	ck_assert_uint_eq(f.port, 9000);
	ck_assert_uint_eq(l.port, 9000);
	ck_assert_int_eq(rd_addr_cmp(&f.group, &l.group), 0);
	ck_assert_int_eq(rd_addr_cmp(&f.local, &l.local), 0);
	ck_assert_uint_eq(f.creatorid, 0x0a0b0c0d);
	ck_assert_uint_eq(l.creatorid, 0x0a0b0c0d);
	ck_assert_str_eq(f.state_dir, l.state_dir);
	ck_assert_int_eq(f.label, -1);
	ck_assert_int_eq(l.label, -1);
	ck_assert_uint_eq(f.mtu, 1400);
	ck_assert_uint_eq(l.mtu, 1400);
	ck_assert_uint_eq(f.limit, l.limit);
	ck_assert_uint_eq(f.maxupd, 16);
	ck_assert_uint_eq(l.maxupd, 16);
	ck_assert_uint_eq(f.bulk_rate, l.bulk_rate);
	ck_assert_str_eq(f.carpd_control, l.carpd_control);
	ck_assert_str_eq(f.demote_group, l.demote_group);
	ck_assert(!f.bulk && !l.bulk && !f.apply && !l.apply);
	ck_assert(f.strict_own && l.strict_own && f.check_ttl && l.check_ttl);
	ck_assert(f.debug && l.debug);
	ck_assert_str_eq(f.control, l.control);
	sd_config_free(&f);
	sd_config_free(&l);
}
END_TEST

/* The example file installed with syncd parses (its key file aside). */
START_TEST(the_example_file_parses)
{
	struct sd_config c;
	char err[SD_ERR_LEN];

	sd_config_init(&c);
	ck_assert_int_eq(sd_config_load(&c, SYNCD_EXAMPLE, err), 0);
	ck_assert_str_eq(c.ifname, "eth1");
	ck_assert_uint_eq(c.nkeyfiles, 1);
	ck_assert_int_eq(sd_config_check(&c, err), 0);
	sd_config_free(&c);
}
END_TEST

START_TEST(key_files_are_read_whole_and_must_be_private)
{
	struct sd_config c;
	struct rd_sync_key keys[SD_MAX_KEYS];
	char err[SD_ERR_LEN], want[1200], path[512];
	size_t n = 0, nkeys, i;
	char *text = malloc(20000), k1[128];

	ck_assert_ptr_nonnull(text);
	/* A comment header of 16 KB, then the key. */
	for (i = 0; i < 128; i++) {
		memset(text + n, '#', 127);
		n += 127;
		text[n++] = '\n';
	}
	{
		struct rd_sync_key k = {.id = 42};

		memset(k.key, 0x5a, sizeof(k.key));
		ck_assert_int_gt(rd_sync_key_format(&k, k1, sizeof(k1)), 0);
	}
	memcpy(text + n, k1, strlen(k1));
	n += strlen(k1);
	snprintf(path, sizeof(path), "%s", file_bytes("long.key", text, n, 0600));
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-k", path), 0);
	ck_assert_int_eq(sd_keys_load(&c, keys, &nkeys, err), 0);
	ck_assert_uint_eq(nkeys, 1);
	ck_assert_uint_eq(keys[0].id, 42);
	ck_assert_uint_eq(keys[0].key[31], 0x5a);
	ck_assert_uint_eq(sd_send_keyid(&c, keys), 42);
	sodium_memzero(keys, sizeof(keys));
	sd_config_free(&c);
	/* Group or others: refused at start, naming the file and the fix. */
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-k", path), -1);
	snprintf(want, sizeof(want),
	         "key file %s: group or others can access it (mode 0640): chmod 600 %s", path,
	         path);
	ck_assert_str_eq(err, want);
	sd_config_free(&c);
	free(text);
}
END_TEST

START_TEST(send_keyid_names_any_key_given_zero_included)
{
	struct sd_config c;
	struct rd_sync_key keys[SD_MAX_KEYS];
	char err[SD_ERR_LEN], want[1200], p0[512], p1[512], p1b[512];
	size_t nkeys;

	snprintf(p0, sizeof(p0), "%s", keyfile("k0", 0, 0x11));
	snprintf(p1, sizeof(p1), "%s", keyfile("k1", 1, 0x22));
	snprintf(p1b, sizeof(p1b), "%s", keyfile("k1b", 1, 0x33));
	/* Without send-keyid, the first file's id seals, 0 as any other. */
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-k", p1, "-k", p0), 0);
	ck_assert(!c.send_keyid_set);
	ck_assert_int_eq(sd_keys_load(&c, keys, &nkeys, err), 0);
	ck_assert_uint_eq(nkeys, 2);
	ck_assert_uint_eq(sd_send_keyid(&c, keys), 1);
	sd_config_free(&c);
	/* --send-keyid 0 selects key id 0 (it used to mean "the first file's"). */
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-k", p1, "-k", p0, "--send-keyid", "0"), 0);
	ck_assert(c.send_keyid_set);
	ck_assert_int_eq(sd_keys_load(&c, keys, &nkeys, err), 0);
	ck_assert_uint_eq(sd_send_keyid(&c, keys), 0);
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-k", p0, "--send-keyid=1"), -1);
	ck_assert_str_eq(err, "send-keyid: no key file has key id 1 (key ids: 0)");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-k", p0, "--send-keyid", ""), -1);
	ck_assert_str_eq(err,
	                 "--send-keyid: expected a decimal key id from 0 to 4294967295, got ''");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-k", p0, "--send-keyid", "4294967296"), -1);
	ck_assert_ptr_nonnull(strstr(err, "got '4294967296'"));
	sd_config_free(&c);
	/* One id twice. */
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-k", p1, "-k", p0, "-k", p1b), -1);
	snprintf(want, sizeof(want),
	         "key files %s and %s both have key id 1 (each key needs its own id)", p1, p1b);
	ck_assert_str_eq(err, want);
	sd_config_free(&c);
}
END_TEST

/* interface repeated: standby sync links in order, each once, at most 4, multicast only. */
START_TEST(interface_repeated_adds_standby_links)
{
	struct sd_config c;
	char err[SD_ERR_LEN];
	const char *path = file("links.conf", "mode plain\ninterface eth0\n");

	ck_assert_int_eq(PARSE(&c, err, "-c", path, "-i", "sl2", "--interface=sl3"), 0);
	ck_assert_str_eq(c.ifname, "eth0");
	ck_assert_uint_eq(c.nmore, 2);
	ck_assert_str_eq(c.more_ifnames[0], "sl2");
	ck_assert_str_eq(c.more_ifnames[1], "sl3");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-m", "plain", "-i", "a", "-i", "b", "-i", "a"), -1);
	ck_assert_str_eq(err, "--interface: interface a given twice");
	sd_config_free(&c);
	ck_assert_int_eq(
	    PARSE(&c, err, "-m", "plain", "-i", "a", "-i", "b", "-i", "c", "-i", "d", "-i", "e"),
	    -1);
	ck_assert_str_eq(err, "--interface: expected at most 4 sync interfaces");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-m", "plain", "-i", "a", "-i", "b", "-p", "10.0.0.2"), -1);
	ck_assert_ptr_nonnull(strstr(err, "several sync interfaces need multicast"));
	sd_config_free(&c);
}
END_TEST

/* ct-batch: 1 to SD_CT_BATCH_MAX (1024) requests a datagram; 0 and 1025 refused, naming where. */
START_TEST(ct_batch_outside_1_to_1024_is_refused)
{
	struct sd_config c;
	char err[SD_ERR_LEN], want[1024], path[512];

	static const struct {
		const char *text, *value;
		int line;
	} bad[] = {{"mode plain\nct-batch 0\n", "0", 2},
	           {"mode plain\n\nct-batch 1025\n", "1025", 3}};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s", file("batch.conf", bad[i].text));
		ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-c", path), -1);
		snprintf(want, sizeof(want),
		         "%s:%d: ct-batch: expected 1 to 1024 requests a datagram, got '%s'", path,
		         bad[i].line, bad[i].value);
		ck_assert_str_eq(err, want);
		sd_config_free(&c);
	}
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-m", "plain", "--ct-batch", "1025"), -1);
	ck_assert_str_eq(err, "--ct-batch: expected 1 to 1024 requests a datagram, got '1025'");
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-m", "plain", "--ct-batch=0"), -1);
	ck_assert_str_eq(err, "--ct-batch: expected 1 to 1024 requests a datagram, got '0'");
	sd_config_free(&c);
	/* The bounds themselves are taken. */
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-m", "plain", "--ct-batch", "1"), 0);
	ck_assert_uint_eq(c.ct_batch, 1);
	sd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-m", "plain", "--ct-batch", "1024"), 0);
	ck_assert_uint_eq(c.ct_batch, SD_CT_BATCH_MAX);
	sd_config_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("syncd-config");
	TCase *tc = tcase_create("parse");

	if (rd_test_mkdtemp("syncd-config", dir, sizeof(dir)) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	tcase_add_test(tc, every_getopt_form_reads_the_config_file);
	tcase_add_test(tc, options_in_every_form_and_the_command_line_wins);
	tcase_add_test(tc, maxupd_zero_is_taken_as_one);
	tcase_add_test(tc, errors_name_the_option_or_the_line);
	tcase_add_test(tc, long_comment_lines_stay_comments_and_lines_are_counted);
	tcase_add_test(tc, every_keyword_means_the_same_in_both_places);
	tcase_add_test(tc, the_example_file_parses);
	tcase_add_test(tc, key_files_are_read_whole_and_must_be_private);
	tcase_add_test(tc, send_keyid_names_any_key_given_zero_included);
	tcase_add_test(tc, interface_repeated_adds_standby_links);
	tcase_add_test(tc, ct_batch_outside_1_to_1024_is_refused);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	char cmd[300 + sizeof(dir)];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		failed++;
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
