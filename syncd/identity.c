/*
 * syncd: the node's creatorid, kept across restarts in STATE-DIR/creatorid.
 *
 * Peers know a member by its creatorid: its states are filed under it, and
 * the secure channel follows its stream under it. A member that came back
 * under a new random id every start looked like a stranger (its old states
 * orphaned under the old id, a new entry in every peer's table); with the
 * id kept, its peers see a new incarnation of a member they know.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syncd.h"

#define errf(err, ...) dm_errf((err), SD_ERR_LEN, __VA_ARGS__)

/* Reads an existing id file: 1, 0 when absent, -1 with err when unusable. */
static int id_read(const char *path, uint32_t *id, char *err)
{
	char buf[32];
	uint64_t v;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR) /* no file, or no directory yet */
			return 0;
		errf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		errf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (dm_parse_u64(buf, 16, 1, UINT32_MAX, &v) < 0) {
		errf(err,
		     "%s: not a creatorid (1 to 8 hex digits, not zero); remove it to make a new "
		     "one",
		     path);
		return -1;
	}
	*id = (uint32_t)v;
	return 1;
}

/* Writes a file of one line atomically (temporary file, fsync, rename). */
static int line_write(const char *dir, const char *path, const char *line, char *err)
{
	char tmp[PATH_MAX];
	int fd, len;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		errf(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errf(err, "%s: path too long", dir);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		errf(err, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	len = (int)strlen(line);
	if (write(fd, line, (size_t)len) != len || fsync(fd) != 0) {
		errf(err, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		errf(err, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int sd_identity(const char *dir, uint32_t *id, bool *kept, char *err)
{
	char path[PATH_MAX], line[16];
	int rc;

	*kept = false;
	if (snprintf(path, sizeof(path), "%s/creatorid", dir) >= (int)sizeof(path)) {
		errf(err, "%s: path too long", dir);
		return -1;
	}
	rc = id_read(path, id, err);
	if (rc != 0) {
		*kept = rc > 0;
		return rc > 0 ? 0 : -1;
	}
	do {
		if (getrandom(id, sizeof(*id), 0) != (ssize_t)sizeof(*id)) {
			errf(err, "getrandom: %s", strerror(errno));
			return -1;
		}
	} while (*id == 0);
	snprintf(line, sizeof(line), "%08x\n", *id);
	if (line_write(dir, path, line, err) != 0)
		return -1;
	*kept = true;
	return 0;
}

uint64_t sd_incarnation(const char *dir, uint64_t now_ns, char *err)
{
	char path[PATH_MAX], buf[32], line[32];
	uint64_t last = 0, start = now_ns;
	ssize_t n;
	int fd;

	err[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/incarnation", dir) >= (int)sizeof(path)) {
		errf(err, "%s: path too long", dir);
		return now_ns;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (dm_parse_u64(buf, 10, 1, UINT64_MAX - SD_INCARNATION_GAP, &last) < 0)
			last = 0; /* unreadable: the clock alone, as without a file */
	}
	if (last != 0 && start < last + SD_INCARNATION_GAP)
		start = last + SD_INCARNATION_GAP;
	snprintf(line, sizeof(line), "%llu\n", (unsigned long long)start);
	if (line_write(dir, path, line, err) == 0 && fd >= 0 && last == 0)
		errf(err, "%s was damaged (rewritten): the previous start is not known", path);
	return start;
}
