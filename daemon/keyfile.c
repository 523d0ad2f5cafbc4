/*
 * Daemon plumbing: the sync key file as syncd and redundctl read it, one
 * reader so that they agree (read whole, private, parsed by libredund), and
 * the key id as both take it on their command lines.
 */
#include <stdint.h>
#include <string.h>

#include "daemon.h"
#include "redund/sync.h"

int dm_sync_key_read(const char *path, struct rd_sync_key *key, char *err, size_t errlen)
{
	char *text;
	size_t len;
	char e[512];
	int rc;

	if (dm_file_read(path, DM_FILE_SECRET, &text, &len, e, sizeof(e)) < 0) {
		dm_errf(err, errlen, "key file %s", e); /* e starts with the path */
		return -1;
	}
	rc = rd_sync_key_parse(text, len, key);
	dm_file_free(text, len);
	if (rc == RD_ERR_NOTSUP) {
		dm_errf(err, errlen,
		        "key file %s: aead aes256gcm needs a CPU with AES-NI and PCLMULQDQ, which "
		        "this one lacks; every member needs the AEAD its key names: use an "
		        "xchacha20poly1305 key for this cluster (redundctl sync genkey FILE --aead "
		        "xchacha20poly1305)",
		        path);
		return -1;
	}
	if (rc != 0) {
		dm_errf(err, errlen,
		        "key file %s: not a key file (expected \"keyid N\" and \"key <64 hex "
		        "digits>\" lines, optionally \"aead aes256gcm\" or \"aead "
		        "xchacha20poly1305\", and # comments; redundctl sync genkey writes one)",
		        path);
		return -1;
	}
	return 0;
}

int dm_sync_keyid_parse(const char *s, uint32_t *id, char *err, size_t errlen)
{
	uint64_t v;

	if (dm_parse_u64(s, 10, 0, UINT32_MAX, &v) < 0) {
		dm_errf(err, errlen, "expected a decimal key id from 0 to %u, got '%s'", UINT32_MAX,
		        s);
		return -1;
	}
	*id = (uint32_t)v;
	return 0;
}
