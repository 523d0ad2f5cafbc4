/* syncd: entry point. Parses options, sets up logging, runs the daemon. */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "syncd.h"

int main(int argc, char **argv)
{
	struct sd_config cfg;
	struct sd_daemon *d = NULL;
	char err[SD_ERR_LEN];
	bool daemonize;
	int rc;

	rc = sd_options_parse(argc, argv, &cfg, err);
	if (rc > 0) {
		sd_config_free(&cfg);
		return 0;
	}
	if (rc < 0) {
		/* --check: "file:line: message" alone, as a compiler's (and exit 1). */
		fprintf(stderr, "%s%s\n", cfg.check ? "" : "syncd: ", err);
		rc = cfg.check ? 1 : 2;
		sd_config_free(&cfg);
		return rc;
	}
	if (cfg.check) {
		rc = sd_config_check_run(&cfg);
		sd_config_free(&cfg);
		return rc;
	}
	dm_log_setup("syncd", !cfg.daemonize, cfg.daemonize && !cfg.no_syslog, -1, cfg.debug);
	if (rd_init() != 0) {
		dm_log(LOG_ERR, "libredund initialisation failed");
		sd_config_free(&cfg);
		return 1;
	}
	daemonize = cfg.daemonize;
	rc = sd_daemon_new(&cfg, &d); /* takes cfg over */
	if (rc < 0) {
		sd_daemon_free(d);
		return 1;
	}
	sd_daemon_set_args(d, argc, argv); /* SIGHUP reads them again */
	/* Fork only once everything is set up, so start-up errors reach the terminal. */
	if (daemonize && (daemon(0, 0) < 0 || sd_daemon_after_fork(d) < 0)) {
		dm_log(LOG_ERR, "daemonize: %m");
		sd_daemon_free(d);
		return 1;
	}
	/* Set up (and forked): tell the service manager (Type=notify units). */
	dm_notifyf("READY=1\nMAINPID=%ld", (long)getpid());
	rc = sd_daemon_run(d);
	sd_daemon_free(d);
	return rc;
}
