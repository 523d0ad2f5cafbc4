/* carpd: entry point. Parses options, sets up logging, runs the daemon. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#include "carpd.h"

/*
 * --realtime N: SCHED_FIFO at priority N, so that a busy machine does not
 * delay advertisements and the master-down timer (bench/carp-loaded.sh), and
 * memory locked. Scripts and checks start under SCHED_OTHER
 * (SCHED_RESET_ON_FORK); memory locks are not inherited. Called after the
 * fork of -B, which would reset both. A failure is logged and carpd runs on.
 */
static void realtime(int prio)
{
	struct sched_param sp = {.sched_priority = prio};
	bool fifo, locked;

	if (prio <= 0)
		return;
	fifo = sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0;
	if (!fifo)
		dm_log(LOG_WARNING, "realtime %d: sched_setscheduler: %m (running without)", prio);
	locked = mlockall(MCL_CURRENT | MCL_FUTURE) == 0;
	if (!locked)
		dm_log(LOG_WARNING, "realtime: mlockall: %m (memory not locked)");
	if (fifo && locked)
		dm_log(LOG_INFO, "realtime: SCHED_FIFO priority %d, memory locked", prio);
}

int main(int argc, char **argv)
{
	struct cd_config cfg;
	struct cd_daemon *d = NULL;
	char err[CD_ERR_LEN];
	bool daemonize;
	int rc;

	rc = cd_options_parse(argc, argv, &cfg, err);
	if (rc > 0)
		return 0;
	if (rc < 0) {
		/* --check: "file:line: message" alone, as a compiler's (and exit 1). */
		fprintf(stderr, "%s%s\n", cfg.check ? "" : "carpd: ", err);
		return cfg.check ? 1 : 2;
	}
	if (cfg.check) {
		rc = cd_config_check_run(&cfg);
		cd_config_free(&cfg);
		return rc;
	}
	/* Like ucarp: syslog unless --facility none; stderr while in the foreground. */
	dm_log_setup("carpd", !cfg.daemonize,
	             !cfg.no_syslog && (cfg.daemonize || cfg.facility >= 0), cfg.facility,
	             cfg.debug);
	if (rd_init() != 0) {
		dm_log(LOG_ERR, "libredund initialisation failed");
		cd_config_free(&cfg);
		return 1;
	}
	daemonize = cfg.daemonize;
	rc = cd_daemon_new(&cfg, &d); /* takes cfg over */
	if (rc < 0) {
		cd_daemon_free(d);
		return 1;
	}
	/* Fork only once everything is set up, so start-up errors reach the terminal. */
	if (daemonize && (daemon(0, 0) < 0 || cd_daemon_after_fork(d) < 0)) {
		dm_log(LOG_ERR, "daemonize: %m");
		cd_daemon_free(d);
		return 1;
	}
	realtime(d->cfg.realtime);
	/* Set up (and forked): tell the service manager (Type=notify units). */
	dm_notifyf("READY=1\nMAINPID=%ld", (long)getpid());
	rc = cd_daemon_run(d);
	cd_daemon_free(d);
	return rc;
}
