/*
 * carpd: up/down scripts with ucarp's calling convention
 * `script <interface> <address> [xparam]`. Scripts of one vhost run one at
 * a time in order; none is ever waited for in the event loop (children are
 * reaped when SIGCHLD arrives through the signalfd).
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>

#include "carpd.h"

extern char **environ;

struct cd_job {
	struct cd_job *next;
	char *argv[CD_JOB_ARGS];
};

static void job_free(struct cd_job *j)
{
	int i;

	for (i = 0; i < CD_JOB_ARGS; i++)
		free(j->argv[i]);
	free(j);
}

pid_t cd_spawn(char *const *argv)
{
	posix_spawnattr_t attr;
	sigset_t none;
	pid_t pid;
	int rc;

	/* The child must not inherit our blocked signals (they feed the signalfd). */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, argv[0], NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	return rc != 0 ? -rc : pid;
}

static void start_next(struct cd_script_queue *q)
{
	while (q->running == 0 && q->head != NULL) {
		struct cd_job *j = q->head;
		char line[512];
		size_t o = 0;
		pid_t pid;
		int i;

		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		pid = cd_spawn(j->argv);
		for (i = 0; j->argv[i] != NULL && o < sizeof(line); i++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s", i ? " " : "",
			                      j->argv[i]);
		if (pid < 0) {
			dm_log(LOG_ERR, "cannot run %s: %s", j->argv[0], strerror((int)-pid));
		} else {
			dm_log(LOG_INFO, "running %s (pid %d)", line, (int)pid);
			q->running = pid;
		}
		job_free(j);
	}
}

void cd_script_enqueue_argv(struct cd_script_queue *q, const char *const *argv)
{
	struct cd_job *j = calloc(1, sizeof(*j));
	int i;

	if (j == NULL) {
		dm_log(LOG_ERR, "out of memory: %s not run", argv[0]);
		return;
	}
	for (i = 0; argv[i] != NULL && i < CD_JOB_ARGS - 1; i++)
		if ((j->argv[i] = strdup(argv[i])) == NULL) {
			dm_log(LOG_ERR, "out of memory: %s not run", argv[0]);
			job_free(j);
			return;
		}
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	start_next(q);
}

void cd_script_enqueue(struct cd_script_queue *q, const char *script, const char *ifname,
                       const char *addr, const char *xparam)
{
	const char *argv[] = {script, ifname, addr, xparam, NULL};

	cd_script_enqueue_argv(q, argv);
}

bool cd_script_reaped(struct cd_script_queue *q, pid_t pid, int status)
{
	if (q->running == 0 || q->running != pid)
		return false;
	q->running = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		dm_log(LOG_WARNING, "script (pid %d) exited with status %d", (int)pid,
		       WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		dm_log(LOG_WARNING, "script (pid %d) killed by signal %d", (int)pid,
		       WTERMSIG(status));
	start_next(q);
	return true;
}

void cd_script_clear(struct cd_script_queue *q)
{
	while (q->head != NULL) {
		struct cd_job *j = q->head;

		q->head = j->next;
		job_free(j);
	}
	q->tail = NULL;
}

bool cd_script_idle(const struct cd_script_queue *q)
{
	return q->running == 0 && q->head == NULL;
}
