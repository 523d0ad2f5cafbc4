/*
 * carpd: up/down scripts with ucarp's calling convention
 * `script <interface> <address> [xparam]`. Scripts of one vhost run one at
 * a time in order; none is ever waited for in the event loop (children are
 * reaped when SIGCHLD arrives through the signalfd).
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <syslog.h>

#include "carpd.h"

extern char **environ;

struct cd_job {
	struct cd_job *next;
	char *argv[5];
};

static void job_free(struct cd_job *j)
{
	int i;

	for (i = 0; i < 4; i++)
		free(j->argv[i]);
	free(j);
}

static void start_next(struct cd_script_queue *q)
{
	while (q->running == 0 && q->head != NULL) {
		struct cd_job *j = q->head;
		posix_spawnattr_t attr;
		sigset_t none;
		pid_t pid;
		int rc;

		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		/* The child must not inherit our blocked signals (they feed the signalfd). */
		posix_spawnattr_init(&attr);
		sigemptyset(&none);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
		rc = posix_spawn(&pid, j->argv[0], NULL, &attr, j->argv, environ);
		posix_spawnattr_destroy(&attr);
		if (rc != 0) {
			dm_log(LOG_ERR, "cannot run %s: %s", j->argv[0], strerror(rc));
		} else {
			dm_log(LOG_INFO, "running %s %s %s%s%s (pid %d)", j->argv[0], j->argv[1],
			       j->argv[2], j->argv[3] != NULL ? " " : "",
			       j->argv[3] != NULL ? j->argv[3] : "", (int)pid);
			q->running = pid;
		}
		job_free(j);
	}
}

void cd_script_enqueue(struct cd_script_queue *q, const char *script, const char *ifname,
                       const char *addr, const char *xparam)
{
	struct cd_job *j = calloc(1, sizeof(*j));

	if (j == NULL) {
		dm_log(LOG_ERR, "out of memory: %s not run", script);
		return;
	}
	j->argv[0] = strdup(script);
	j->argv[1] = strdup(ifname);
	j->argv[2] = strdup(addr);
	j->argv[3] = xparam != NULL ? strdup(xparam) : NULL;
	if (j->argv[0] == NULL || j->argv[1] == NULL || j->argv[2] == NULL ||
	    (xparam != NULL && j->argv[3] == NULL)) {
		dm_log(LOG_ERR, "out of memory: %s not run", script);
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
