/* libredund core: errors, allocator, randomness, addresses and prefixes, checksum. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/internal.h"
#include "redund/common.h"
#include "redund/version.h"

const char *rd_strerror(int err)
{
	const char *s = NULL;

	switch (err) {
	case RD_OK:
		return "success";
	case RD_ERR_NOMEM:
		return "out of memory";
	case RD_ERR_INVAL:
		return "invalid argument";
	case RD_ERR_PROTO:
		return "malformed or refused protocol input";
	case RD_ERR_NOSPC:
		return "output buffer too small";
	case RD_ERR_NOENT:
		return "no such entry";
	case RD_ERR_EXIST:
		return "entry already exists";
	case RD_ERR_LIMIT:
		return "limit reached";
	case RD_ERR_AUTH:
		return "authentication failed";
	case RD_ERR_STATE:
		return "operation not valid in the current state";
	case RD_ERR_REPLAY:
		return "replayed or looped-back input";
	case RD_ERR_AGAIN:
		return "try again later";
	case RD_ERR_CRYPTO:
		return "crypto library failure";
	case RD_ERR_NOTSUP:
		return "not supported on this machine";
	default:
		break;
	}
	/* Any other negative value is a negated errno (the io module's results). */
	if (err < 0 && err != INT_MIN) {
#ifdef RD_HAVE_STRERRORDESC_NP
		s = strerrordesc_np(-err);
#else
		/* Without glibc's static, thread-safe texts: say what it is. */
		s = err > -4096 ? "system error (a negated errno value; see strerror)" : NULL;
#endif
	}
	return s != NULL ? s : "unknown error";
}

static void *libc_malloc(void *user, size_t size)
{
	(void)user;
	return malloc(size);
}

static void *libc_calloc(void *user, size_t n, size_t size)
{
	(void)user;
	return calloc(n, size);
}

static void *libc_realloc(void *user, void *ptr, size_t size)
{
	(void)user;
	return realloc(ptr, size);
}

static void libc_free(void *user, void *ptr)
{
	(void)user;
	free(ptr);
}

static const struct rd_mem libc_mem = {
    .user = NULL,
    .malloc = libc_malloc,
    .calloc = libc_calloc,
    .realloc = libc_realloc,
    .free = libc_free,
};

const struct rd_mem *rd_mem_default(void)
{
	return &libc_mem;
}

int rd_init(void)
{
	return sodium_init() < 0 ? RD_ERR_CRYPTO : RD_OK;
}

void rd_random_buf(const struct rd_random *r, void *buf, size_t len)
{
	if (r != NULL && r->fn != NULL)
		r->fn(r->user, buf, len);
	else
		randombytes_buf(buf, len);
}

int rd_addr_parse(const char *s, struct rd_addr *out)
{
	struct rd_addr a;

	if (s == NULL || out == NULL)
		return RD_ERR_INVAL;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.u.v4) == 1) {
		a.af = RD_AF_INET;
	} else if (inet_pton(AF_INET6, s, a.u.v6) == 1) {
		a.af = RD_AF_INET6;
	} else {
		return RD_ERR_INVAL;
	}
	*out = a;
	return RD_OK;
}

char *rd_addr_format(const struct rd_addr *a, char *buf, size_t len)
{
	const char *r = NULL;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (a->af == RD_AF_INET)
		r = inet_ntop(AF_INET, a->u.v4, buf, (socklen_t)len);
	else if (a->af == RD_AF_INET6)
		r = inet_ntop(AF_INET6, a->u.v6, buf, (socklen_t)len);
	if (r == NULL)
		snprintf(buf, len, "?");
	return buf;
}

int rd_addr_cmp(const struct rd_addr *a, const struct rd_addr *b)
{
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	return memcmp(a->u.v6, b->u.v6, rd_af_len(a->af));
}

struct rd_addr rd_addr_v4(uint32_t host_order)
{
	struct rd_addr a;

	memset(&a, 0, sizeof(a));
	a.af = RD_AF_INET;
	a.u.v4[0] = (uint8_t)(host_order >> 24);
	a.u.v4[1] = (uint8_t)(host_order >> 16);
	a.u.v4[2] = (uint8_t)(host_order >> 8);
	a.u.v4[3] = (uint8_t)host_order;
	return a;
}

bool rd_addr_prefix_match(const struct rd_addr *net, unsigned plen, const struct rd_addr *a)
{
	unsigned bits = rd_af_bits(net->af);

	if (bits == 0 || a->af != net->af)
		return false;
	if (plen > bits)
		plen = bits;
	if (memcmp(net->u.v6, a->u.v6, plen / 8) != 0)
		return false;
	if (plen % 8 == 0)
		return true;
	return ((net->u.v6[plen / 8] ^ a->u.v6[plen / 8]) & (uint8_t)(0xff00u >> plen % 8)) == 0;
}

int rd_addr_netmask(uint8_t af, unsigned plen, struct rd_addr *out)
{
	unsigned bits = rd_af_bits(af);

	if (bits == 0)
		return RD_ERR_INVAL;
	if (plen > bits)
		plen = bits;
	memset(out, 0, sizeof(*out));
	out->af = af;
	memset(out->u.v6, 0xff, plen / 8);
	if (plen % 8 != 0)
		out->u.v6[plen / 8] = (uint8_t)(0xff00u >> plen % 8);
	return RD_OK;
}

uint32_t rd_cksum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s = sum;

	while (len >= 2) {
		s += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len == 1)
		s += (uint32_t)p[0] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint16_t rd_cksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t rd_cksum(const void *data, size_t len)
{
	return rd_cksum_fold(rd_cksum_add(0, data, len));
}

const char *rd_version(void)
{
	return RD_VERSION_STRING;
}
