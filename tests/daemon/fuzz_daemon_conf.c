/*
 * fuzz-daemon-conf: the configuration-file parsers of both daemons
 * (carpd's cd_config_parse and syncd's sd_config_parse, over daemon/conf.c's
 * dm_conf_parse) on the same bytes, taken as a file's text. Whatever the
 * bytes, neither may read outside them or leak; a refusal is a message
 * "fuzz.conf:..." (the file's name, then its line); an accepted file gives
 * a configuration that passes its own checks, and reading it twice gives
 * the same configuration (the parser keeps no state between files).
 *
 * carpd's passfile keyword reads the file it names; only regular files are
 * read (dm_file_read), so a generated path cannot block the target.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../carpd/carpd.h"
#include "../../syncd/syncd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void carpd_init(struct cd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->facility = -1;
	c->startup_demote = c->startup_hold = c->realtime = -1;
}

static void refused_with_location(const char *err)
{
	if (strncmp(err, "fuzz.conf", 9) != 0 || (err[9] != ':' && err[9] != '\0'))
		abort();
}

static void carpd(const char *text, size_t size)
{
	struct cd_config a, b;
	char err[CD_ERR_LEN], e2[CD_ERR_LEN];
	int ra, rb;
	size_t i;

	carpd_init(&a);
	carpd_init(&b);
	ra = cd_config_parse("fuzz.conf", text, size, &a, err);
	rb = cd_config_parse("fuzz.conf", text, size, &b, e2);
	if (ra != rb)
		abort();
	if (ra < 0) {
		/* A vhost's own check names the vhost's line ("fuzz.conf:N: vhost ..."). */
		refused_with_location(err);
		if (strcmp(err, e2) != 0)
			abort();
	} else {
		if (a.nvh == 0 || a.nvh != b.nvh || a.ntrack != b.ntrack ||
		    (a.notify == NULL) != (b.notify == NULL))
			abort();
		for (i = 0; i < a.ntrack; i++)
			if (!cd_track_same(&a.track[i], &b.track[i]) ||
			    a.track[i].weight != b.track[i].weight || a.track[i].weight == 0 ||
			    a.track[i].fall == 0 || a.track[i].rise == 0 || a.track[i].timeout == 0)
				abort();
		for (i = 0; i < a.nvh; i++)
			if (cd_vhost_conf_check(&a.vh[i], err) != 0 ||
			    !cd_vhost_conf_equal(&a.vh[i], &b.vh[i]) ||
			    !cd_vhost_conf_groups_equal(&a.vh[i], &b.vh[i]))
				abort();
	}
	cd_config_free(&a);
	cd_config_free(&b);
}

static void syncd(const char *text, size_t size)
{
	struct sd_config c;
	char err[SD_ERR_LEN];

	sd_config_init(&c);
	if (sd_config_parse(&c, "fuzz.conf", text, size, err) < 0)
		refused_with_location(err);
	else
		(void)sd_config_check(&c, err); /* it must not crash on any parsed value */
	sd_config_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy, so ASan sees any read past the text's end. */
	char *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	carpd(copy, size);
	syncd(copy, size);
	free(copy);
	return 0;
}
