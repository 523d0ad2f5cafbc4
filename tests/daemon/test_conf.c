/*
 * The daemons' one option and configuration-file parser (daemon/conf.c)
 * over a small table of its own: every getopt_long form, its syntax errors,
 * the file's lines of any length and their numbers, unknown keywords and
 * argument counts, and reading a file whole (size limit, secrets private,
 * no FIFO or directory).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test_tmpdir.h"
#include "daemon.h"

static char dir[256];

enum { T_FLAG = 1, T_NAME, T_PAIR, T_CONFIG };

static const struct dm_opt table[] = {
    {"flag", 'f', T_FLAG, 0, DM_OPT_BOTH, NULL}, {"name", 'n', T_NAME, 1, DM_OPT_BOTH, "NAME"},
    {"number", 0, T_NAME, 1, DM_OPT_BOTH, "N"},  {"config", 'c', T_CONFIG, 1, DM_OPT_CLI, "FILE"},
    {"pair", 0, T_PAIR, 2, DM_OPT_FILE, "A B"},
};
static const struct dm_opts opts = {"testd", table, sizeof(table) / sizeof(table[0])};

/* Scan argv (a NULL-terminated list after the program name) into a string "name=arg ...". */
static int scan(char *out, size_t outlen, char *err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	struct dm_arg *a;
	size_t n, i, used = 0;

	argv[argc++] = "testd";
	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	if (dm_opts_scan(&opts, argc, argv, &a, &n, err, 256) < 0) {
		ck_assert_ptr_null(a);
		return -1;
	}
	out[0] = '\0';
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, outlen - used, "%s%s=%s", i ? " " : "",
		                         a[i].opt->name, a[i].arg ? a[i].arg : "-");
	free(a);
	return 0;
}
#define SCAN(out, err, ...) scan(out, sizeof(out), err, __VA_ARGS__, (char *)NULL)

START_TEST(every_getopt_form_is_one_option)
{
	char out[512], err[256];

	ck_assert_int_eq(SCAN(out, err, "--name", "a", "--name=b", "-n", "c", "-nd", "--na", "e",
	                      "--number=7", "-f", "--flag"),
	                 0);
	ck_assert_str_eq(out, "name=a name=b name=c name=d name=e number=7 flag=- flag=-");
	/* A flag cluster with an argument attached to its last letter. */
	ck_assert_int_eq(SCAN(out, err, "-ffnx"), 0);
	ck_assert_str_eq(out, "flag=- flag=- name=x");
	/* An empty argument is an argument (the setter refuses it or not). */
	ck_assert_int_eq(SCAN(out, err, "--name="), 0);
	ck_assert_str_eq(out, "name=");
	ck_assert_int_eq(SCAN(out, err, "-c", "/x", "-c/y", "--config=/z"), 0);
	ck_assert_str_eq(out, "config=/x config=/y config=/z");
	/* Scanning twice starts afresh (getopt's state reset). */
	ck_assert_int_eq(SCAN(out, err, "-nq"), 0);
	ck_assert_str_eq(out, "name=q");
}
END_TEST

START_TEST(command_line_syntax_errors_say_what_is_wrong)
{
	char out[512], err[256];

	ck_assert_int_eq(SCAN(out, err, "--flag=1"), -1);
	ck_assert_str_eq(err, "option '--flag' takes no argument");
	ck_assert_int_eq(SCAN(out, err, "--fl=1"), -1);
	ck_assert_str_eq(err, "option '--flag' takes no argument");
	ck_assert_int_eq(SCAN(out, err, "-n"), -1);
	ck_assert_str_eq(err, "option '-n' expects an argument");
	ck_assert_int_eq(SCAN(out, err, "--name"), -1);
	ck_assert_str_eq(err, "option '--name' expects an argument");
	ck_assert_int_eq(SCAN(out, err, "--number"), -1);
	ck_assert_str_eq(err, "option '--number' expects an argument");
	ck_assert_int_eq(SCAN(out, err, "--n", "x"), -1);
	ck_assert_str_eq(err, "ambiguous option '--n' (--name, --number)");
	ck_assert_int_eq(SCAN(out, err, "--nothing=3"), -1);
	ck_assert_str_eq(err, "unknown option '--nothing' (see testd --help)");
	ck_assert_int_eq(SCAN(out, err, "-fz"), -1);
	ck_assert_str_eq(err, "unknown option '-z' (see testd --help)");
	/* A file-only keyword is no option. */
	ck_assert_int_eq(SCAN(out, err, "--pair", "a"), -1);
	ck_assert_str_eq(err, "unknown option '--pair' (see testd --help)");
	ck_assert_int_eq(SCAN(out, err, "-f", "word"), -1);
	ck_assert_str_eq(err, "unexpected argument 'word' (see testd --help)");
	ck_assert_int_eq(SCAN(out, err, "--", "-f"), -1);
	ck_assert_str_eq(err, "unexpected argument '-f' (see testd --help)");
}
END_TEST

START_TEST(count_finds_repeated_options)
{
	char *argv[] = {"testd", "-c", "a", "-f", "--config=b", NULL};
	struct dm_arg *a;
	size_t n;
	char err[256];

	ck_assert_int_eq(dm_opts_scan(&opts, 5, argv, &a, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(dm_opts_count(a, n, T_CONFIG), 2);
	ck_assert_uint_eq(dm_opts_count(a, n, T_FLAG), 1);
	ck_assert_uint_eq(dm_opts_count(a, n, T_PAIR), 0);
	free(a);
}
END_TEST

/* The file: each line's keyword, arguments and number, into a string. */
struct seen {
	char s[4096];
	size_t len;
	int refuse_line; /* the callback refuses this line */
};

static int on_line(void *user, const struct dm_opt *o, char **args, unsigned line, char *err,
                   size_t len)
{
	struct seen *v = user;
	int i;

	if ((int)line == v->refuse_line) {
		dm_errf(err, len, "%s: refused", o->name);
		return -1;
	}
	v->len += (size_t)snprintf(v->s + v->len, sizeof(v->s) - v->len, "%u:%s", line, o->name);
	for (i = 0; i < o->nargs; i++)
		v->len +=
		    (size_t)snprintf(v->s + v->len, sizeof(v->s) - v->len, "(%.10s)", args[i]);
	v->len += (size_t)snprintf(v->s + v->len, sizeof(v->s) - v->len, " ");
	return 0;
}

static int conf(struct seen *v, const char *text, size_t len, char *err)
{
	memset(v->s, 0, sizeof(v->s));
	v->len = 0;
	return dm_conf_parse(&opts, "t.conf", text, len, on_line, v, err, 256);
}
#define CONF(v, text, err) conf(v, text, strlen(text), err)

START_TEST(file_lines_keywords_and_numbers)
{
	struct seen v = {.refuse_line = 0};
	char err[256];

	ck_assert_int_eq(CONF(&v,
	                      "# comment\n"
	                      "\n"
	                      "  flag   # trailing\n"
	                      "\tname x#y\r\n"
	                      "pair a b\n"
	                      "number 7",
	                      err),
	                 0);
	ck_assert_str_eq(v.s, "3:flag 4:name(x#y) 5:pair(a)(b) 6:number(7) ");
	ck_assert_int_eq(CONF(&v, "", err), 0);
	ck_assert_str_eq(v.s, "");
	ck_assert_int_eq(CONF(&v, "\n\n\n", err), 0);
	ck_assert_str_eq(v.s, "");
}
END_TEST

/* A comment, an argument, a line of any length; a line end past any buffer size. */
START_TEST(file_lines_of_any_length)
{
	struct seen v = {.refuse_line = 0};
	char err[256];
	size_t sizes[] = {1000, 1022, 1023, 1024, 1025, 4095, 4096, 4097, 70000};
	size_t k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = 0, i;
		char *t = malloc(2 * sizes[k] + 200);

		ck_assert_ptr_nonnull(t);
		n += (size_t)sprintf(t, "# ");
		for (i = 0; i < sizes[k]; i++)
			t[n++] = (char)('a' + i % 7);
		n += (size_t)sprintf(t + n, " flag name x\nname ");
		for (i = 0; i < sizes[k]; i++)
			t[n++] = 'w';
		n += (size_t)sprintf(t + n, " # flag\n\nflag\n");
		ck_assert_int_eq(conf(&v, t, n, err), 0);
		ck_assert_str_eq(v.s, "2:name(wwwwwwwwww) 4:flag ");
		/* The error of a line after it names its own line. */
		n += (size_t)sprintf(t + n, "bogus\n");
		ck_assert_int_eq(conf(&v, t, n, err), -1);
		ck_assert_str_eq(err, "t.conf:5: unknown keyword 'bogus' (see testd(8))");
		free(t);
	}
}
END_TEST

START_TEST(file_errors_name_the_line_and_what_was_expected)
{
	struct seen v = {.refuse_line = 0};
	char err[256];

	ck_assert_int_eq(CONF(&v, "flag\nflag\nfrobnicate 1\n", err), -1);
	ck_assert_str_eq(err, "t.conf:3: unknown keyword 'frobnicate' (see testd(8))");
	ck_assert_str_eq(v.s, "1:flag 2:flag "); /* applied before the error (callers discard) */
	ck_assert_int_eq(CONF(&v, "config /x\n", err), -1);
	ck_assert_str_eq(err, "t.conf:1: 'config' is an option of the command line only");
	ck_assert_int_eq(CONF(&v, "\nflag yes\n", err), -1);
	ck_assert_str_eq(err, "t.conf:2: expected no argument after 'flag'");
	ck_assert_int_eq(CONF(&v, "name\n", err), -1);
	ck_assert_str_eq(err, "t.conf:1: expected 'name NAME'");
	ck_assert_int_eq(CONF(&v, "name a b\n", err), -1);
	ck_assert_str_eq(err, "t.conf:1: expected 'name NAME'");
	ck_assert_int_eq(CONF(&v, "pair a\n", err), -1);
	ck_assert_str_eq(err, "t.conf:1: expected 'pair A B'");
	ck_assert_int_eq(CONF(&v, "pair a b c d e\n", err), -1);
	ck_assert_str_eq(err, "t.conf:1: expected 'pair A B'");
	/* Keywords are whole words: no abbreviation in the file. */
	ck_assert_int_eq(CONF(&v, "fla\n", err), -1);
	ck_assert_str_eq(err, "t.conf:1: unknown keyword 'fla' (see testd(8))");
	ck_assert_int_eq(conf(&v, "flag\nname \0x\n", 13, err), -1);
	ck_assert_str_eq(err, "t.conf:2: a NUL byte: not a text file");
	ck_assert_int_eq(conf(&v, "flag\n# \0\n", 9, err), -1);
	ck_assert_str_eq(err, "t.conf:2: a NUL byte: not a text file");
	/* The callback's refusal, with the location in front. */
	v.refuse_line = 2;
	ck_assert_int_eq(CONF(&v, "flag\nname x\n", err), -1);
	ck_assert_str_eq(err, "t.conf:2: name: refused");
}
END_TEST

static const char *write_file(const char *name, const char *text, size_t len, mode_t mode)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

START_TEST(files_are_read_whole_up_to_the_limit)
{
	char err[1200], want[1200], *text;
	size_t len;
	char *big = malloc(DM_FILE_MAX + 1);
	const char *p;

	ck_assert_ptr_nonnull(big);
	memset(big, 'x', DM_FILE_MAX + 1);
	p = write_file("max", big, DM_FILE_MAX, 0644);
	ck_assert_int_eq(dm_file_read(p, 0, &text, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, DM_FILE_MAX);
	ck_assert_int_eq(text[len], '\0');
	ck_assert_int_eq(text[len - 1], 'x');
	dm_file_free(text, len);
	p = write_file("over", big, DM_FILE_MAX + 1, 0644);
	ck_assert_int_eq(dm_file_read(p, 0, &text, &len, err, sizeof(err)), -1);
	ck_assert_ptr_null(text);
	snprintf(want, sizeof(want), "%s: larger than %d bytes", p, DM_FILE_MAX);
	ck_assert_str_eq(err, want);
	p = write_file("empty", "", 0, 0644);
	ck_assert_int_eq(dm_file_read(p, 0, &text, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(text, "");
	dm_file_free(text, len);
	dm_file_free(NULL, 0);
	free(big);
}
END_TEST

START_TEST(secrets_must_be_private_and_regular)
{
	static const mode_t open_modes[] = {0644, 0640, 0604, 0660, 0620, 0610, 0602, 0601, 0606};
	char err[1200], want[1200], *text, fifo[600];
	size_t len, i;
	const char *p = NULL;

	for (i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		p = write_file("secret", "s3cret\n", 7, open_modes[i]);
		ck_assert_int_eq(dm_file_read(p, DM_FILE_SECRET, &text, &len, err, sizeof(err)),
		                 -1);
		snprintf(want, sizeof(want),
		         "%s: group or others can access it (mode %04o): chmod 600 %s", p,
		         (unsigned)open_modes[i], p);
		ck_assert_str_eq(err, want);
		/* Not a secret: any mode reads. */
		ck_assert_int_eq(dm_file_read(p, 0, &text, &len, err, sizeof(err)), 0);
		dm_file_free(text, len);
	}
	ck_assert_int_eq(chmod(p, 0600), 0);
	ck_assert_int_eq(dm_file_read(p, DM_FILE_SECRET, &text, &len, err, sizeof(err)), 0);
	ck_assert_str_eq(text, "s3cret\n");
	dm_file_free(text, len);
	ck_assert_int_eq(chmod(p, 0400), 0);
	ck_assert_int_eq(dm_file_read(p, DM_FILE_SECRET, &text, &len, err, sizeof(err)), 0);
	dm_file_free(text, len);
	/* A directory, a FIFO (which would block a read): not regular files. */
	ck_assert_int_eq(dm_file_read(dir, 0, &text, &len, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", dir);
	ck_assert_str_eq(err, want);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(dm_file_read(fifo, DM_FILE_SECRET, &text, &len, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", fifo);
	ck_assert_str_eq(err, want);
	snprintf(fifo, sizeof(fifo), "%s/none", dir);
	ck_assert_int_eq(dm_file_read(fifo, 0, &text, &len, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: %s", fifo, strerror(ENOENT));
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(key_ids_are_decimal_below_2_32)
{
	uint32_t id = 5;
	char err[256];

	ck_assert_int_eq(dm_sync_keyid_parse("0", &id, err, sizeof(err)), 0);
	ck_assert_uint_eq(id, 0);
	ck_assert_int_eq(dm_sync_keyid_parse("4294967295", &id, err, sizeof(err)), 0);
	ck_assert_uint_eq(id, 4294967295u);
	id = 5;
	ck_assert_int_eq(dm_sync_keyid_parse("", &id, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "expected a decimal key id from 0 to 4294967295, got ''");
	ck_assert_uint_eq(id, 5);
	ck_assert_int_eq(dm_sync_keyid_parse("4294967296", &id, err, sizeof(err)), -1);
	ck_assert_int_eq(dm_sync_keyid_parse("0x1", &id, err, sizeof(err)), -1);
	ck_assert_int_eq(dm_sync_keyid_parse("-1", &id, err, sizeof(err)), -1);
	ck_assert_int_eq(dm_sync_keyid_parse(" 1", &id, err, sizeof(err)), -1);
	ck_assert_uint_eq(id, 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon-conf");
	TCase *tc = tcase_create("conf");

	if (rd_test_mkdtemp("daemon-conf", dir, sizeof(dir)) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	tcase_add_test(tc, every_getopt_form_is_one_option);
	tcase_add_test(tc, command_line_syntax_errors_say_what_is_wrong);
	tcase_add_test(tc, count_finds_repeated_options);
	tcase_add_test(tc, file_lines_keywords_and_numbers);
	tcase_add_test(tc, file_lines_of_any_length);
	tcase_add_test(tc, file_errors_name_the_line_and_what_was_expected);
	tcase_add_test(tc, files_are_read_whole_up_to_the_limit);
	tcase_add_test(tc, secrets_must_be_private_and_regular);
	tcase_add_test(tc, key_ids_are_decimal_below_2_32);
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
