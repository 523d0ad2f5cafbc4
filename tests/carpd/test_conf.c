/* Unit tests of carpd's command line (ucarp's options) and config file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "../test_tmpdir.h"
#include "carpd.h"

static char dir[256];

static int parse(struct cd_config *cfg, char *err, int argc, const char **argv)
{
	return cd_options_parse(argc, (char **)argv, cfg, err);
}
#define PARSE(cfg, err, ...)                                                                       \
	({                                                                                         \
		const char *a_[] = {"carpd", __VA_ARGS__};                                         \
		parse(cfg, err, (int)(sizeof(a_) / sizeof(a_[0])), a_);                            \
	})

/*
 * Write len bytes of text to a file of the temporary directory with the
 * given mode; returns its path (static buffer).
 */
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

/* A private text file (mode 0600, as key and password files must be). */
static const char *file(const char *name, const char *text)
{
	return file_bytes(name, text, strlen(text), 0600);
}

static struct rd_addr A(const char *s) {
	struct rd_addr a;

	ck_assert_int_eq(rd_addr_parse(s, &a), 0);
	return a;
}

START_TEST(ucarp_short_options_have_ucarp_meaning)
{
	struct cd_config c;
	char err[CD_ERR_LEN];
	uint8_t key[RD_CARP_KEY_LEN];

	ck_assert_int_eq(PARSE(&c, err, "-i", "eth1", "-s", "10.0.0.2", "-v", "42", "-p", "secret",
	                       "-a", "10.0.0.100", "-b", "2", "-k", "50", "-P", "-n", "-r", "4",
	                       "-u", "/up", "-d", "/down", "-x", "xp", "-z", "-B", "-S", "-D", "-f",
	                       "local3"),
	                 0);
	ck_assert_uint_eq(c.nvh, 1);
	struct cd_vhost_conf *v = &c.vh[0];
	ck_assert_str_eq(v->ifname, "eth1");
	ck_assert_int_eq(rd_addr_cmp(&v->src4, &(struct rd_addr){0}) != 0, 1);
	struct rd_addr s = A("10.0.0.2"), va = A("10.0.0.100");
	ck_assert_int_eq(rd_addr_cmp(&v->src4, &s), 0);
	ck_assert_uint_eq(v->vhid, 42);
	rd_carp_key_from_pass("secret", key);
	ck_assert_mem_eq(v->key, key, sizeof(key));
	ck_assert_uint_eq(v->naddrs, 1);
	ck_assert_int_eq(rd_addr_cmp(&v->addrs[0], &va), 0);
	ck_assert_uint_eq(v->prefixlen[0], 32);
	ck_assert_uint_eq(v->advbase, 2);
	ck_assert_uint_eq(v->advskew, 50);
	ck_assert(v->preempt && v->neutral && v->ignoreifstate);
	ck_assert_uint_eq(v->deadratio, 4);
	ck_assert_str_eq(v->upscript, "/up");
	ck_assert_str_eq(v->downscript, "/down");
	ck_assert_str_eq(v->xparam, "xp");
	ck_assert(c.shutdown && c.daemonize && c.debug);
	ck_assert_int_eq(c.facility, LOG_LOCAL3);
	ck_assert_str_eq(c.control, CD_DEFAULT_CONTROL);
	cd_config_free(&c);
}
END_TEST

START_TEST(long_options_match_short_ones)
{
	struct cd_config s, l;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(PARSE(&s, err, "-i", "eth0", "-v", "7", "-p", "pw", "-a", "10.1.1.1/24",
	                       "-b", "0", "-k", "10", "-P", "-r", "5", "-u", "/u", "-d", "/d", "-x",
	                       "x", "-S", "-n", "-s", "10.1.1.2"),
	                 0);
	ck_assert_int_eq(PARSE(&l, err, "--interface", "eth0", "--vhid", "7", "--pass", "pw",
	                       "--addr", "10.1.1.1/24", "--advbase", "0", "--advskew", "10",
	                       "--preempt", "--deadratio", "5", "--upscript", "/u", "--downscript",
	                       "/d", "--xparam", "x", "--ignoreifstate", "--neutral", "--srcip",
	                       "10.1.1.2"),
	                 0);
	ck_assert(cd_vhost_conf_equal(&s.vh[0], &l.vh[0]));
	cd_config_free(&s);
	cd_config_free(&l);
}
END_TEST

START_TEST(own_options_ipv6_several_addrs_peers_control)
{
	struct cd_config c;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(PARSE(&c, err, "-i", "eth0", "-v", "1", "-a", "10.0.0.1/24", "--addr",
	                       "2001:db8::1/64", "-a", "2001:db8::2", "--peer", "10.0.0.3",
	                       "--peer", "2001:db8::3", "-s", "10.0.0.2", "-s", "fe80::2",
	                       "--replay-strict", "--control", "/tmp/x.sock"),
	                 0);
	struct cd_vhost_conf *v = &c.vh[0];
	ck_assert_uint_eq(v->naddrs, 3);
	ck_assert_uint_eq(v->prefixlen[1], 64);
	ck_assert_uint_eq(v->prefixlen[2], 128);
	ck_assert_uint_eq(v->addrs[1].af, RD_AF_INET6);
	ck_assert_uint_eq(v->npeers, 2);
	ck_assert_uint_eq(v->src4.af, RD_AF_INET);
	ck_assert_uint_eq(v->src6.af, RD_AF_INET6);
	ck_assert(v->replay_strict);
	ck_assert_str_eq(c.control, "/tmp/x.sock");
	cd_config_free(&c);
}
END_TEST

START_TEST(option_errors_say_what_was_expected)
{
	struct cd_config c;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(PARSE(&c, err, "-i", "eth0", "-a", "10.0.0.1"), -1);
	ck_assert_ptr_nonnull(strstr(err, "expected a vhid"));
	ck_assert_int_eq(PARSE(&c, err, "-v", "1", "-a", "10.0.0.1"), -1);
	ck_assert_ptr_nonnull(strstr(err, "expected an interface"));
	ck_assert_int_eq(PARSE(&c, err, "-i", "eth0", "-v", "1"), -1);
	ck_assert_ptr_nonnull(strstr(err, "expected at least one virtual address"));
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "256", "-a", "10.0.0.1"), -1);
	ck_assert_str_eq(err, "--vhid: expected a vhid from 1 to 255, got '256'");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "-k", "255"), -1);
	ck_assert_str_eq(err, "--advskew: expected an advskew from 0 to 254, got '255'");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1/33"), -1);
	ck_assert_ptr_nonnull(strstr(err, "--addr: expected an IPv4 or IPv6 address"));
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "-p", "twentycharacterslong"),
	    -1);
	ck_assert_str_eq(err, "--pass: expected a password of at most 19 characters");
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "--peer", "224.0.0.18"), -1);
	ck_assert_str_eq(err, "expected a unicast peer address, got 224.0.0.18 (multicast)");
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "--peer", "255.255.255.255"), -1);
	ck_assert_str_eq(err, "expected a unicast peer address, got 255.255.255.255 (broadcast)");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "--peer", "0.0.0.0"),
	                 -1);
	ck_assert_str_eq(err, "expected a unicast peer address, got 0.0.0.0 (unspecified)");
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "--peer", "240.1.2.3"), -1);
	ck_assert_str_eq(err, "expected a unicast peer address, got 240.1.2.3 (reserved)");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "-r", "0"), -1);
	ck_assert_ptr_nonnull(strstr(err, "--deadratio"));
	ck_assert_int_eq(PARSE(&c, err, "-Q"), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown option '-Q'"));
	ck_assert_int_eq(PARSE(&c, err, "-i"), -1);
	ck_assert_ptr_nonnull(strstr(err, "expects an argument"));
}
END_TEST

START_TEST(peer_without_a_virtual_address_of_its_family_is_refused)
{
	struct cd_config c;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--peer", "fd00::2"), -1);
	ck_assert_str_eq(err, "expected a virtual address of peer fd00::2's family");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "-a", "fd00::1",
	                       "--peer", "fd00::2"),
	                 0);
	cd_config_free(&c);
}
END_TEST

START_TEST(passfile_first_line_is_the_password)
{
	struct cd_config c;
	char err[CD_ERR_LEN];
	uint8_t key[RD_CARP_KEY_LEN];
	char path[512];

	snprintf(path, sizeof(path), "%s", file("pw", "hunter2\nsecond line\n"));
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "-o", path), 0);
	rd_carp_key_from_pass("hunter2", key);
	ck_assert_mem_eq(c.vh[0].key, key, sizeof(key));
	cd_config_free(&c);
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "-o", "/nonexistent"), -1);
	ck_assert_str_eq(err, "--passfile: /nonexistent: cannot open: No such file or directory");
	/* Read whole: a first line of 19 characters after which the file goes on. */
	{
		char big[8192];

		memset(big, 'z', sizeof(big));
		memcpy(big, "nineteencharacters!\r\n", 21);
		snprintf(path, sizeof(path), "%s", file_bytes("pw2", big, sizeof(big), 0400));
	}
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "-o", path), 0);
	rd_carp_key_from_pass("nineteencharacters!", key);
	ck_assert_mem_eq(c.vh[0].key, key, sizeof(key));
	cd_config_free(&c);
}
END_TEST

/* As ssh with a private key: group or others may not even read it. */
START_TEST(passfile_group_or_others_can_access_is_refused)
{
	static const mode_t open_modes[] = {0644, 0640, 0604, 0620, 0602, 0610, 0601, 0660};
	struct cd_config c;
	char err[CD_ERR_LEN], want[2048], path[512], conf[512], text[1024];
	size_t i;

	for (i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
		snprintf(path, sizeof(path), "%s",
		         file_bytes("pw-open", "secret\n", 7, open_modes[i]));
		ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "-o", path),
		                 -1);
		snprintf(want, sizeof(want),
		         "--passfile: %s: group or others can access it (mode %04o): chmod 600 %s",
		         path, (unsigned)open_modes[i], path);
		ck_assert_str_eq(err, want);
		/* The same in the file, with its line. */
		snprintf(text, sizeof(text), "vhost e 1\n addr 1.1.1.1\n passfile %s\n", path);
		snprintf(conf, sizeof(conf), "%s", file("pw.conf", text));
		ck_assert_int_eq(PARSE(&c, err, "-c", conf), -1);
		snprintf(
		    want, sizeof(want),
		    "%s:3: passfile: %s: group or others can access it (mode %04o): chmod 600 %s",
		    conf, path, (unsigned)open_modes[i], path);
		ck_assert_str_eq(err, want);
	}
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(PARSE(&c, err, "-c", conf), 0);
	cd_config_free(&c);
	/* Not a regular file (a directory here; a FIFO would block). */
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "-o", dir), -1);
	snprintf(want, sizeof(want), "--passfile: %s: not a regular file", dir);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(config_file_defines_several_vhosts)
{
	struct cd_config c;
	char err[CD_ERR_LEN];
	char path[512];

	snprintf(path, sizeof(path), "%s",
	         file("ok.conf", "# example\n"
	                         "control /run/x.sock   # trailing comment\n"
	                         "facility local1\n"
	                         "\n"
	                         "vhost eth0 10\n"
	                         "  pass secret\n"
	                         "  addr 192.0.2.1/24\n"
	                         "  addr 2001:db8::1/64\n"
	                         "  preempt\n"
	                         "vhost eth1 10\n"
	                         "\tpeer 198.51.100.3\n"
	                         "\taddr 198.51.100.10/24\n"
	                         "\tadvbase 0\n"
	                         "\tadvskew 40\n"));
	ck_assert_int_eq(PARSE(&c, err, "--config", path), 0);
	ck_assert_uint_eq(c.nvh, 2);
	ck_assert_str_eq(c.control, "/run/x.sock");
	ck_assert_int_eq(c.facility, LOG_LOCAL1);
	ck_assert_str_eq(c.vh[0].ifname, "eth0");
	ck_assert_uint_eq(c.vh[0].vhid, 10);
	ck_assert_uint_eq(c.vh[0].naddrs, 2);
	ck_assert(c.vh[0].preempt && c.vh[0].has_pass);
	ck_assert_str_eq(c.vh[1].ifname, "eth1");
	ck_assert_uint_eq(c.vh[1].advbase, 0);
	ck_assert_uint_eq(c.vh[1].advskew, 40);
	ck_assert_uint_eq(c.vh[1].npeers, 1);
	ck_assert(!c.vh[1].preempt);
	ck_assert_ptr_nonnull(strstr(c.vh[1].where, "ok.conf:10"));
	cd_config_free(&c);
	/* --control on the command line wins over the file's. */
	ck_assert_int_eq(PARSE(&c, err, "--control", "/tmp/cli.sock", "--config", path), 0);
	ck_assert_str_eq(c.control, "/tmp/cli.sock");
	cd_config_free(&c);
}
END_TEST

/* Parse a config file holding text; expect failure with err containing want. */
static void conf_error(const char *text, const char *want)
{
	struct cd_config c;
	char err[CD_ERR_LEN];
	char path[512];

	snprintf(path, sizeof(path), "%s", file("bad.conf", text));
	ck_assert_int_eq(PARSE(&c, err, "--config", path), -1);
	if (strstr(err, want) == NULL)
		ck_abort_msg("error '%s' lacks '%s'", err, want);
}

START_TEST(config_errors_name_file_line_and_expectation)
{
	conf_error("vhost eth0 1\n addr 10.0.0.1\n advskew 300\n",
	           "bad.conf:3: advskew: expected an advskew from 0 to 254, got '300'");
	conf_error("addr 10.0.0.1\n",
	           "bad.conf:1: expected a 'vhost INTERFACE VHID' line before 'addr'");
	conf_error("vhost eth0\n", "bad.conf:1: expected 'vhost INTERFACE VHID'");
	conf_error("vhost eth0 0\n", "bad.conf:1: expected a vhid from 1 to 255, got '0'");
	conf_error("vhost eth0 1\n addr 10.0.0.1\n frobnicate 1\n",
	           "bad.conf:3: unknown keyword 'frobnicate' (see carpd(8))");
	conf_error("vhost eth0 1\n addr 10.0.0.1\n debug\n",
	           "bad.conf:3: 'debug' is an option of the command line only");
	conf_error("vhost eth0 1\n addr 10.0.0.1\n preempt yes\n",
	           "bad.conf:3: expected no argument after 'preempt'");
	conf_error("vhost eth0 1\n addr 10.0.0.1 10.0.0.2\n",
	           "bad.conf:2: expected 'addr ADDR[/PREFIX]'");
	conf_error("vhost eth0 1\n addr 10.0.0.1\nvhost eth0 1\n addr 10.0.0.2\n",
	           "bad.conf:3: expected a vhid not yet used on eth0 (vhid 1 is already at ");
	conf_error("vhost eth0 1\n pass x\nvhost eth0 2\n addr 10.0.0.2\n",
	           "bad.conf:1: vhost eth0 1: expected at least one virtual address");
	conf_error("vhost eth0 1\n addr 10.0.0.1\ncontrol /x\n",
	           "bad.conf:3: expected 'control' before the first 'vhost' line");
	conf_error("# nothing\n", "bad.conf: expected at least one 'vhost INTERFACE VHID' section");
	conf_error("", "bad.conf: expected at least one 'vhost INTERFACE VHID' section");
	conf_error("vhost eth0 1 2\n", "bad.conf:1: expected 'vhost INTERFACE VHID'");
	conf_error("vhost eth0 1\n vhid 2\n",
	           "bad.conf:2: expected the interface and vhid on the 'vhost' line");
}
END_TEST

START_TEST(config_with_vhost_options_on_the_command_line_is_refused)
{
	struct cd_config c;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(PARSE(&c, err, "--config", "/nonexistent", "-v", "3"), -1);
	ck_assert_ptr_nonnull(strstr(err, "go in the --config file"));
	ck_assert_int_eq(PARSE(&c, err, "--config", "/nonexistent/carpd.conf"), -1);
	ck_assert_str_eq(err, "/nonexistent/carpd.conf: cannot open: No such file or directory");
	ck_assert_int_eq(PARSE(&c, err, "--config", "/a", "-c", "/b"), -1);
	ck_assert_str_eq(err, "--config: given twice (one configuration file)");
}
END_TEST

/* Parse text as a config file (0 expected) into c; the caller frees c. */
static void conf_ok(struct cd_config *c, const char *text)
{
	char err[CD_ERR_LEN];
	char path[512];

	snprintf(path, sizeof(path), "%s", file("good.conf", text));
	if (PARSE(c, err, "--config", path) != 0)
		ck_abort_msg("'%s' refused: %s", text, err);
}

START_TEST(track_lines_take_keepalived_defaults_and_options)
{
	struct cd_config c;

	/* /bin/true and /bin/sh: any executable will do. */
	conf_ok(&c, "track-interface eth1\n"
	            "track-script /bin/true interval 3 fall 2 rise 4 weight 20 group lan\n"
	            "vhost eth0 1\n addr 10.0.0.1\n"
	            " track-interface eth2 weight 7 group wan\n"
	            " track-script /bin/sh\n");
	ck_assert_uint_eq(c.ntrack, 4);
	/* The defaults: weight 255 (keepalived's FAULT), group carp. */
	ck_assert_int_eq(c.track[0].kind, CD_TRACK_IF);
	ck_assert_str_eq(c.track[0].name, "eth1");
	ck_assert_uint_eq(c.track[0].weight, 255);
	ck_assert_str_eq(c.track[0].group, "carp");
	ck_assert_int_eq(c.track[1].kind, CD_TRACK_SCRIPT);
	ck_assert_str_eq(c.track[1].name, "/bin/true");
	ck_assert_uint_eq(c.track[1].interval, 3);
	ck_assert_uint_eq(c.track[1].timeout, 3); /* the interval unless given */
	ck_assert_uint_eq(c.track[1].fall, 2);
	ck_assert_uint_eq(c.track[1].rise, 4);
	ck_assert_uint_eq(c.track[1].weight, 20);
	ck_assert_str_eq(c.track[1].group, "lan");
	ck_assert_uint_eq(c.track[2].weight, 7);
	ck_assert_str_eq(c.track[2].group, "wan");
	/* Script defaults: every second, timeout 1, fall 1, rise 1, weight 255. */
	ck_assert_uint_eq(c.track[3].interval, 1);
	ck_assert_uint_eq(c.track[3].timeout, 1);
	ck_assert_uint_eq(c.track[3].fall, 1);
	ck_assert_uint_eq(c.track[3].rise, 1);
	ck_assert_uint_eq(c.track[3].weight, 255);
	ck_assert_ptr_null(c.notify);
	cd_config_free(&c);
}
END_TEST

START_TEST(notify_lines_are_global_with_a_bounded_timeout)
{
	struct cd_config c;

	conf_ok(&c, "notify /bin/true\nnotify-master-before /bin/sh timeout 4\nvhost eth0 1\n"
	            " addr 10.0.0.1\n");
	ck_assert_str_eq(c.notify, "/bin/true");
	ck_assert_str_eq(c.notify_master_before, "/bin/sh");
	ck_assert_uint_eq(c.notify_master_timeout, 4);
	cd_config_free(&c);
	conf_ok(&c, "notify-master-before /bin/sh\nvhost eth0 1\n addr 10.0.0.1\n");
	ck_assert_uint_eq(c.notify_master_timeout, CD_NOTIFY_TIMEOUT_DEFAULT);
	cd_config_free(&c);
}
END_TEST

START_TEST(track_and_notify_errors_name_file_line_and_expectation)
{
	conf_error("track-script bin/check\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: track-script: expected an absolute path to the health check, got "
	           "'bin/check'");
	conf_error("track-script /nonexistent/check\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: track-script: expected an executable health check: "
	           "/nonexistent/check: No such file or directory");
	conf_error("track-script /bin/true fall 0\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: track-script: expected 'fall' followed by a number from 1 to 255, "
	           "got '0'");
	conf_error("track-script /bin/true rise\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: track-script: expected 'rise' followed by a number from 1 to 255, "
	           "got 'nothing'");
	conf_error("track-interface eth1 interval 2\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: track-interface: expected weight or group, got 'interval'");
	conf_error("track-interface eth1 weight 0\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: track-interface: expected 'weight' followed by a number from 1 to "
	           "255, got '0'");
	conf_error("track-interface eth1 group -carp\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: track-interface: expected 'group' followed by a group name");
	conf_error("track-interface eth1\ntrack-interface eth1 weight 3\nvhost eth0 1\n"
	           " addr 10.0.0.1\n",
	           "bad.conf:2: track-interface: expected eth1 once (already at ");
	conf_error("track-interface\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: expected 'track-interface IF [weight N] [group G]'");
	conf_error("vhost eth0 1\n addr 10.0.0.1\nnotify /bin/true\n",
	           "bad.conf:3: expected 'notify' before the first 'vhost' line");
	conf_error("notify /bin/true\nnotify /bin/true\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:2: expected 'notify' once");
	conf_error("notify-master-before /bin/true timeout 0\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: notify-master-before: expected 'PATH [timeout S]'");
	conf_error("notify /nonexistent\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: notify: expected an executable: /nonexistent: No such file");
}
END_TEST

START_TEST(vmac_is_a_flag_for_ipv4_vhosts)
{
	struct cd_config c;
	char err[CD_ERR_LEN];

	conf_ok(&c, "vhost eth0 1\n addr 10.0.0.1/24\n vmac\n");
	ck_assert(c.vh[0].vmac);
	cd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "eth0", "-v", "3", "-a", "10.0.0.1", "--vmac"), 0);
	ck_assert(c.vh[0].vmac);
	cd_config_free(&c);
	conf_error("vhost eth0 1\n addr 2001:db8::1/64\n vmac\n",
	           "bad.conf:1: vhost eth0 1: expected IPv4 addresses only with vmac");
}
END_TEST

START_TEST(conf_equal_detects_any_change)
{
	struct cd_config a, b;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(PARSE(&a, err, "-i", "e", "-v", "1", "-a", "10.0.0.1/24", "-k", "5"), 0);
	ck_assert_int_eq(PARSE(&b, err, "-i", "e", "-v", "1", "-a", "10.0.0.1/24", "-k", "5"), 0);
	ck_assert(cd_vhost_conf_equal(&a.vh[0], &b.vh[0]));
	b.vh[0].prefixlen[0] = 25;
	ck_assert(!cd_vhost_conf_equal(&a.vh[0], &b.vh[0]));
	b.vh[0].prefixlen[0] = 24;
	b.vh[0].advskew = 6;
	ck_assert(!cd_vhost_conf_equal(&a.vh[0], &b.vh[0]));
	b.vh[0].advskew = 5;
	b.vh[0].key[0] = 'x';
	ck_assert(!cd_vhost_conf_equal(&a.vh[0], &b.vh[0]));
	cd_config_free(&a);
	cd_config_free(&b);
}
END_TEST

START_TEST(startup_hold_defaults_to_128_for_30_seconds)
{
	struct cd_config c;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1"), 0);
	ck_assert_int_eq(c.startup_demote, 128);
	ck_assert_int_eq(c.startup_hold, 30);
	cd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--startup-demote",
	                       "0", "--startup-hold", "86400"),
	                 0);
	ck_assert_int_eq(c.startup_demote, 0);
	ck_assert_int_eq(c.startup_hold, 86400);
	cd_config_free(&c);
	/* The last of a repeated option wins, as for the others. */
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--startup-demote",
	                       "5", "--startup-demote", "7"),
	                 0);
	ck_assert_int_eq(c.startup_demote, 7);
	cd_config_free(&c);
}
END_TEST

START_TEST(startup_hold_options_are_validated)
{
	struct cd_config c;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--startup-demote", "256"), -1);
	ck_assert_str_eq(err, "--startup-demote: expected a start-up demotion from 0 to 255 (0: no "
	                      "start-up hold), got '256'");
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--startup-demote", "-1"), -1);
	ck_assert_ptr_nonnull(strstr(err, "got '-1'"));
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--startup-hold", "0"), -1);
	ck_assert_str_eq(
	    err, "--startup-hold: expected a start-up hold from 1 to 86400 seconds, got '0'");
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--startup-hold", "86401"), -1);
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--startup-hold", "5s"), -1);
	ck_assert_ptr_nonnull(strstr(err, "got '5s'"));
}
END_TEST

/* --realtime / realtime: off by default, 1..99, the command line wins over the file. */
START_TEST(realtime_is_off_by_default_validated_and_the_command_line_wins)
{
	struct cd_config c;
	char err[CD_ERR_LEN];
	char path[512];

	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1"), 0);
	ck_assert_int_eq(c.realtime, 0);
	cd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--realtime", "50"),
	                 0);
	ck_assert_int_eq(c.realtime, 50);
	cd_config_free(&c);
	ck_assert_int_eq(
	    PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--realtime", "100"), -1);
	ck_assert_str_eq(err, "--realtime: expected a SCHED_FIFO priority from 1 to 99 (0: no "
	                      "realtime), got '100'");
	snprintf(path, sizeof(path), "%s",
	         file("rt.conf", "realtime 20\n"
	                         "vhost eth0 1\n"
	                         "  addr 10.0.0.1\n"));
	ck_assert_int_eq(PARSE(&c, err, "--config", path), 0);
	ck_assert_int_eq(c.realtime, 20);
	cd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "--realtime", "0", "--config", path), 0);
	ck_assert_int_eq(c.realtime, 0);
	cd_config_free(&c);
	conf_error("vhost eth0 1\n addr 10.0.0.1\nrealtime 5\n",
	           "bad.conf:3: expected 'realtime' before the first 'vhost' line");
}
END_TEST

START_TEST(startup_hold_in_the_file_and_the_command_line_wins)
{
	struct cd_config c;
	char err[CD_ERR_LEN];
	char path[512];

	snprintf(path, sizeof(path), "%s",
	         file("startup.conf", "startup-demote 64\n"
	                              "startup-hold 90\n"
	                              "vhost eth0 1\n"
	                              "  addr 10.0.0.1\n"));
	ck_assert_int_eq(PARSE(&c, err, "--config", path), 0);
	ck_assert_int_eq(c.startup_demote, 64);
	ck_assert_int_eq(c.startup_hold, 90);
	cd_config_free(&c);
	ck_assert_int_eq(PARSE(&c, err, "--startup-demote", "0", "--config", path), 0);
	ck_assert_int_eq(c.startup_demote, 0);
	ck_assert_int_eq(c.startup_hold, 90);
	cd_config_free(&c);
	conf_error("startup-demote 300\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: startup-demote: expected a start-up demotion from 0 to 255");
	conf_error("startup-hold\nvhost eth0 1\n addr 10.0.0.1\n",
	           "bad.conf:1: expected 'startup-hold SECONDS'");
	conf_error("vhost eth0 1\n addr 10.0.0.1\nstartup-hold 5\n",
	           "bad.conf:3: expected 'startup-hold' before the first 'vhost' line");
}
END_TEST

START_TEST(group_keyword_adds_groups_and_minus_carp_leaves_carp)
{
	struct cd_config c;
	char err[CD_ERR_LEN];
	char path[512];

	snprintf(path, sizeof(path), "%s",
	         file("groups.conf", "vhost eth0 1\n"
	                             "  addr 10.0.0.1\n"
	                             "  group lan\n"
	                             "  group uplink.2\n"
	                             "vhost eth1 2\n"
	                             "  addr 10.0.1.1\n"
	                             "  group -carp\n"
	                             "  group pair-b\n"
	                             "vhost eth1 3\n"
	                             "  addr 10.0.1.2\n"));
	ck_assert_int_eq(PARSE(&c, err, "--config", path), 0);
	ck_assert_uint_eq(c.vh[0].ngroups, 2);
	ck_assert_str_eq(c.vh[0].groups[0], "lan");
	ck_assert_str_eq(c.vh[0].groups[1], "uplink.2");
	ck_assert_uint_eq(c.vh[1].ngroups, 2);
	ck_assert_str_eq(c.vh[1].groups[0], "-carp");
	ck_assert_str_eq(c.vh[1].groups[1], "pair-b");
	ck_assert_uint_eq(c.vh[2].ngroups, 0);
	cd_config_free(&c);
	/* The command line's --group is the same keyword. */
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--group", "-carp",
	                       "--group", "wan"),
	                 0);
	ck_assert_uint_eq(c.vh[0].ngroups, 2);
	ck_assert_str_eq(c.vh[0].groups[1], "wan");
	cd_config_free(&c);
}
END_TEST

START_TEST(group_keyword_is_validated)
{
	struct cd_config c;
	char err[CD_ERR_LEN];

	conf_error("vhost eth0 1\n addr 10.0.0.1\n group -lan\n",
	           "bad.conf:3: group: expected a group name, or '-carp' to leave carp (only carp "
	           "can be left), got '-lan'");
	conf_error("vhost eth0 1\n addr 10.0.0.1\n group carp\n",
	           "bad.conf:3: group: expected a group other than carp: every vhost is in carp "
	           "unless 'group -carp'");
	conf_error("vhost eth0 1\n addr 10.0.0.1\n group lan\n group lan\n",
	           "bad.conf:4: group: expected each group once, got 'lan' twice");
	conf_error("vhost eth0 1\n addr 10.0.0.1\n group aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	           "bad.conf:3: group: expected a group name of 1 to 31 printable characters");
	conf_error("vhost eth0 1\n addr 10.0.0.1\n group\n", "bad.conf:3: expected 'group NAME'");
	conf_error("vhost eth0 1\n addr 10.0.0.1\n group a\n group b\n group c\n group d\n"
	           " group e\n group f\n group g\n group h\n group i\n",
	           "bad.conf:11: group: expected at most 8 groups per vhost");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--group", "a\x01"),
	                 -1);
	ck_assert_ptr_nonnull(strstr(err, "--group: expected a group name of 1 to 31"));
}
END_TEST

START_TEST(groups_compare_as_sets_for_reload)
{
	struct cd_config a, b;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(
	    PARSE(&a, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--group", "x", "--group", "y"),
	    0);
	ck_assert_int_eq(
	    PARSE(&b, err, "-i", "e", "-v", "1", "-a", "10.0.0.1", "--group", "y", "--group", "x"),
	    0);
	ck_assert(cd_vhost_conf_groups_equal(&a.vh[0], &b.vh[0]));
	ck_assert(cd_vhost_conf_equal(&a.vh[0], &b.vh[0]));
	snprintf(b.vh[0].groups[1], CD_NAME_MAX, "z");
	ck_assert(!cd_vhost_conf_groups_equal(&a.vh[0], &b.vh[0]));
	/* Groups alone do not make another vhost: a reload relabels it running. */
	ck_assert(cd_vhost_conf_equal(&a.vh[0], &b.vh[0]));
	b.vh[0].ngroups = 1;
	ck_assert(!cd_vhost_conf_groups_equal(&a.vh[0], &b.vh[0]));
	cd_config_free(&a);
	cd_config_free(&b);
}
END_TEST

/*
 * Every getopt_long form: "--opt V", "--opt=V", "-o V", "-oV", an
 * unambiguous abbreviation; the config file by -c FILE, -cFILE,
 * --config FILE and --config=FILE.
 */
START_TEST(every_getopt_form_gives_the_same_configuration)
{
	struct cd_config a, b, c, d, e;
	char err[CD_ERR_LEN], path[512], cform[520], lform[530];

	ck_assert_int_eq(PARSE(&a, err, "-i", "eth0", "-v", "7", "-a", "10.1.1.1/24", "-k", "10",
	                       "--startup-hold", "5", "-f", "local2"),
	                 0);
	ck_assert_int_eq(PARSE(&b, err, "-ieth0", "-v7", "-a10.1.1.1/24", "-k10",
	                       "--startup-hold=5", "-flocal2"),
	                 0);
	ck_assert_int_eq(PARSE(&c, err, "--interface=eth0", "--vhid=7", "--addr=10.1.1.1/24",
	                       "--advskew=10", "--startup-h=5", "--facility=local2"),
	                 0);
	ck_assert(cd_vhost_conf_equal(&a.vh[0], &b.vh[0]));
	ck_assert(cd_vhost_conf_equal(&a.vh[0], &c.vh[0]));
	ck_assert_uint_eq(c.vh[0].advskew, 10);
	ck_assert_int_eq(b.startup_hold, 5);
	ck_assert_int_eq(c.startup_hold, 5);
	ck_assert_int_eq(b.facility, LOG_LOCAL2);
	ck_assert_int_eq(c.facility, LOG_LOCAL2);
	cd_config_free(&a);
	cd_config_free(&b);
	cd_config_free(&c);
	/* Flags in a cluster, an argument attached to the last. */
	ck_assert_int_eq(PARSE(&a, err, "-PnSi", "eth0", "-Bv", "3", "-a", "10.0.0.1"), 0);
	ck_assert(a.vh[0].preempt && a.vh[0].neutral && a.vh[0].ignoreifstate && a.daemonize);
	ck_assert_str_eq(a.vh[0].ifname, "eth0");
	ck_assert_uint_eq(a.vh[0].vhid, 3);
	cd_config_free(&a);

	snprintf(path, sizeof(path), "%s",
	         file("forms.conf", "vhost eth0 7\n addr 10.1.1.1/24\n advskew 10\n"));
	snprintf(cform, sizeof(cform), "-c%s", path);
	snprintf(lform, sizeof(lform), "--config=%s", path);
	ck_assert_int_eq(PARSE(&a, err, "-c", path), 0);
	ck_assert_int_eq(PARSE(&b, err, cform), 0);
	ck_assert_int_eq(PARSE(&c, err, "--config", path), 0);
	ck_assert_int_eq(PARSE(&d, err, lform), 0);
	ck_assert_int_eq(PARSE(&e, err, "--conf", path), 0);
	ck_assert_uint_eq(d.nvh, 1);
	ck_assert_uint_eq(d.vh[0].advskew, 10);
	ck_assert_str_eq(d.config_file, path);
	ck_assert(cd_vhost_conf_equal(&a.vh[0], &b.vh[0]));
	ck_assert(cd_vhost_conf_equal(&a.vh[0], &c.vh[0]));
	ck_assert(cd_vhost_conf_equal(&a.vh[0], &d.vh[0]));
	ck_assert(cd_vhost_conf_equal(&a.vh[0], &e.vh[0]));
	cd_config_free(&a);
	cd_config_free(&b);
	cd_config_free(&c);
	cd_config_free(&d);
	cd_config_free(&e);
}
END_TEST

START_TEST(command_line_syntax_errors_name_the_option)
{
	struct cd_config c;
	char err[CD_ERR_LEN];

	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-v", "1", "-a", "1.1.1.1", "--preempt=yes"),
	                 -1);
	ck_assert_str_eq(err, "option '--preempt' takes no argument");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-a", "1.1.1.1", "--replay-strict=1"), -1);
	ck_assert_str_eq(err, "option '--replay-strict' takes no argument");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-a", "1.1.1.1", "-v"), -1);
	ck_assert_str_eq(err, "option '-v' expects an argument");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-a", "1.1.1.1", "-Pv"), -1);
	ck_assert_str_eq(err, "option '-v' expects an argument");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-a", "1.1.1.1", "--vhid"), -1);
	ck_assert_str_eq(err, "option '--vhid' expects an argument");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "-a", "1.1.1.1", "--peer"), -1);
	ck_assert_str_eq(err, "option '--peer' expects an argument");
	ck_assert_int_eq(PARSE(&c, err, "--adv", "1"), -1);
	ck_assert_str_eq(err, "ambiguous option '--adv' (--advbase, --advskew)");
	ck_assert_int_eq(PARSE(&c, err, "--frobnicate=2"), -1);
	ck_assert_str_eq(err, "unknown option '--frobnicate' (see carpd --help)");
	ck_assert_int_eq(PARSE(&c, err, "-PQ"), -1);
	ck_assert_str_eq(err, "unknown option '-Q' (see carpd --help)");
	ck_assert_int_eq(PARSE(&c, err, "-i", "e", "stray"), -1);
	ck_assert_str_eq(err, "unexpected argument 'stray' (see carpd --help)");
	/* The file's keyword "vhost" is no option. */
	ck_assert_int_eq(PARSE(&c, err, "--vhost", "e"), -1);
	ck_assert_str_eq(err, "unknown option '--vhost' (see carpd --help)");
}
END_TEST

/*
 * Lines of any length: a comment's text past any buffer size stays a
 * comment, a long argument stays one word, and every error names the line
 * it is on.
 */
START_TEST(config_lines_of_any_length_and_their_numbers)
{
	struct cd_config c;
	char err[CD_ERR_LEN], path[512];
	size_t n = 0, i;
	char *text = malloc(40000);

	ck_assert_ptr_nonnull(text);
	n += (size_t)sprintf(text + n, "# ");
	for (i = 0; i < 3000; i++)
		text[n++] = 'c';
	n += (size_t)sprintf(text + n, " advskew 300 startup-demote 300\n"); /* line 1 */
	n += (size_t)sprintf(text + n, "vhost eth0 1 # ");
	for (i = 0; i < 5000; i++)
		text[n++] = 'd';
	n += (size_t)sprintf(text + n, " advskew 300\n");          /* line 2 */
	n += (size_t)sprintf(text + n, "\r\n  addr 10.0.0.1\r\n"); /* lines 3, 4 */
	n += (size_t)sprintf(text + n, "  xparam ");
	for (i = 0; i < 4000; i++)
		text[n++] = 'x';
	n += (size_t)sprintf(text + n, "\n"); /* line 5 */
	text[n] = '\0';
	snprintf(path, sizeof(path), "%s", file("long.conf", text));
	ck_assert_int_eq(PARSE(&c, err, "-c", path), 0);
	ck_assert_uint_eq(c.nvh, 1);
	ck_assert_uint_eq(c.vh[0].advskew, 0);
	ck_assert_int_eq(c.startup_demote, 128);
	ck_assert_uint_eq(strlen(c.vh[0].xparam), 4000);
	ck_assert_ptr_nonnull(strstr(c.vh[0].where, "long.conf:2"));
	cd_config_free(&c);
	/* An error after the long lines names its own line. */
	n += (size_t)sprintf(text + n, "  advbase 256\n"); /* line 6 */
	snprintf(path, sizeof(path), "%s", file("long.conf", text));
	ck_assert_int_eq(PARSE(&c, err, "-c", path), -1);
	ck_assert_ptr_nonnull(
	    strstr(err, "long.conf:6: advbase: expected an advbase from 0 to 255"));
	/* A last line without a line end is a line. */
	ck_assert_int_eq(
	    cd_config_parse("mem", "vhost e 1\n\n addr 10.0.0.1\n advskew 9", 36, &c, err), 0);
	ck_assert_uint_eq(c.vh[0].advskew, 9);
	cd_config_free(&c);
	memset(&c, 0, sizeof(c));
	c.facility = c.startup_demote = c.startup_hold = -1;
	ck_assert_int_eq(
	    cd_config_parse("mem", "vhost e 1\n\n addr 10.0.0.1\n advskew 999", 38, &c, err), -1);
	ck_assert_str_eq(err, "mem:4: advskew: expected an advskew from 0 to 254, got '999'");
	cd_config_free(&c);
	/* A NUL byte: not a text file, named with its line. */
	memset(&c, 0, sizeof(c));
	c.facility = c.startup_demote = c.startup_hold = -1;
	ck_assert_int_eq(cd_config_parse("mem", "vhost e 1\n addr\0 10.0.0.1\n", 26, &c, err), -1);
	ck_assert_str_eq(err, "mem:2: a NUL byte: not a text file");
	cd_config_free(&c);
	free(text);
}
END_TEST

/* Every keyword of carpd(8)'s example file, as the file and as the command line. */
START_TEST(every_keyword_is_read_in_both_places)
{
	struct cd_config c, l;
	char err[CD_ERR_LEN], path[512], text[2048], pw[512];

	snprintf(pw, sizeof(pw), "%s", file("every.pass", "pw\n"));
	snprintf(text, sizeof(text),
	         "control /tmp/c.sock\nfacility local4\nstartup-demote 10\nstartup-hold 20\n"
	         "vhost eth0 5\n srcip 10.0.0.2\n passfile %s\n preempt\n neutral\n"
	         " addr 10.0.0.1/24\n advbase 2\n advskew 3\n upscript /u\n downscript /d\n"
	         " deadratio 4\n xparam x\n peer 10.0.0.3\n replay-strict\n ignoreifstate\n"
	         " group g\n",
	         pw);
	snprintf(path, sizeof(path), "%s", file("every.conf", text));
	ck_assert_int_eq(PARSE(&c, err, "-c", path), 0);
	ck_assert_int_eq(PARSE(&l, err, "--control", "/tmp/c.sock", "--facility", "local4",
	                       "--startup-demote", "10", "--startup-hold", "20", "--interface",
	                       "eth0", "--vhid", "5", "--srcip", "10.0.0.2", "--passfile", pw,
	                       "--preempt", "--neutral", "--addr", "10.0.0.1/24", "--advbase", "2",
	                       "--advskew", "3", "--upscript", "/u", "--downscript", "/d",
	                       "--deadratio", "4", "--xparam", "x", "--peer", "10.0.0.3",
	                       "--replay-strict", "--ignoreifstate", "--group", "g"),
	                 0);
	ck_assert(cd_vhost_conf_equal(&c.vh[0], &l.vh[0]));
	ck_assert(cd_vhost_conf_groups_equal(&c.vh[0], &l.vh[0]));
	ck_assert(c.vh[0].preempt && c.vh[0].neutral && c.vh[0].replay_strict &&
	          c.vh[0].ignoreifstate && c.vh[0].has_pass);
	ck_assert_uint_eq(c.vh[0].npeers, 1);
	ck_assert_str_eq(c.control, l.control);
	ck_assert_int_eq(c.facility, LOG_LOCAL4);
	ck_assert_int_eq(l.facility, LOG_LOCAL4);
	ck_assert_int_eq(c.startup_demote, 10);
	ck_assert_int_eq(l.startup_demote, 10);
	ck_assert_int_eq(c.startup_hold, 20);
	ck_assert_int_eq(l.startup_hold, 20);
	/* What the command line gave is marked: it wins over the file on reload too. */
	ck_assert(!c.cli_control && !c.cli_facility && !c.cli_startup_demote &&
	          !c.cli_startup_hold);
	ck_assert(l.cli_control && l.cli_facility && l.cli_startup_demote && l.cli_startup_hold);
	cd_config_free(&c);
	cd_config_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("carpd-conf");
	TCase *tc = tcase_create("parse");

	if (rd_test_mkdtemp("carpd-conf", dir, sizeof(dir)) == NULL) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	tcase_add_test(tc, ucarp_short_options_have_ucarp_meaning);
	tcase_add_test(tc, long_options_match_short_ones);
	tcase_add_test(tc, own_options_ipv6_several_addrs_peers_control);
	tcase_add_test(tc, option_errors_say_what_was_expected);
	tcase_add_test(tc, peer_without_a_virtual_address_of_its_family_is_refused);
	tcase_add_test(tc, passfile_first_line_is_the_password);
	tcase_add_test(tc, passfile_group_or_others_can_access_is_refused);
	tcase_add_test(tc, every_getopt_form_gives_the_same_configuration);
	tcase_add_test(tc, command_line_syntax_errors_name_the_option);
	tcase_add_test(tc, config_lines_of_any_length_and_their_numbers);
	tcase_add_test(tc, every_keyword_is_read_in_both_places);
	tcase_add_test(tc, config_file_defines_several_vhosts);
	tcase_add_test(tc, config_errors_name_file_line_and_expectation);
	tcase_add_test(tc, config_with_vhost_options_on_the_command_line_is_refused);
	tcase_add_test(tc, conf_equal_detects_any_change);
	tcase_add_test(tc, startup_hold_defaults_to_128_for_30_seconds);
	tcase_add_test(tc, startup_hold_options_are_validated);
	tcase_add_test(tc, startup_hold_in_the_file_and_the_command_line_wins);
	tcase_add_test(tc, realtime_is_off_by_default_validated_and_the_command_line_wins);
	tcase_add_test(tc, group_keyword_adds_groups_and_minus_carp_leaves_carp);
	tcase_add_test(tc, group_keyword_is_validated);
	tcase_add_test(tc, groups_compare_as_sets_for_reload);
	tcase_add_test(tc, track_lines_take_keepalived_defaults_and_options);
	tcase_add_test(tc, notify_lines_are_global_with_a_bounded_timeout);
	tcase_add_test(tc, track_and_notify_errors_name_file_line_and_expectation);
	tcase_add_test(tc, vmac_is_a_flag_for_ipv4_vhosts);
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
