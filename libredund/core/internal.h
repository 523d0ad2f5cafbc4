/* libredund internal helpers shared by the modules; not installed. */
#ifndef RD_CORE_INTERNAL_H
#define RD_CORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "redund/common.h"

#define RD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RD_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define RD_MAX(a, b)    ((a) > (b) ? (a) : (b))

/* Allocation through an optional allocator (NULL: libc). */
static inline const struct rd_mem *rd_mem_or_default(const struct rd_mem *m)
{
	return m != NULL ? m : rd_mem_default();
}

static inline void *rd_malloc(const struct rd_mem *m, size_t n)
{
	m = rd_mem_or_default(m);
	return m->malloc(m->user, n);
}

static inline void *rd_calloc(const struct rd_mem *m, size_t n, size_t size)
{
	m = rd_mem_or_default(m);
	return m->calloc(m->user, n, size);
}

static inline void *rd_realloc(const struct rd_mem *m, void *p, size_t n)
{
	m = rd_mem_or_default(m);
	return m->realloc(m->user, p, n);
}

static inline void rd_free(const struct rd_mem *m, void *p)
{
	if (p == NULL)
		return;
	m = rd_mem_or_default(m);
	m->free(m->user, p);
}

/* Big-endian loads and stores on byte buffers (no alignment assumptions). */
/* Bytes of an address of family af (RD_AF_INET: 4, else 16). */
static inline size_t rd_af_len(uint8_t af)
{
	return af == RD_AF_INET ? 4 : 16;
}

/* Bits of an address of family af; 0 for a family that is neither. */
static inline unsigned rd_af_bits(uint8_t af)
{
	return af == RD_AF_INET ? 32 : af == RD_AF_INET6 ? 128 : 0;
}

static inline uint16_t rd_get16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t rd_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t rd_get64(const uint8_t *p)
{
	return (uint64_t)rd_get32(p) << 32 | rd_get32(p + 4);
}

static inline void rd_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void rd_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void rd_put64(uint8_t *p, uint64_t v)
{
	rd_put32(p, (uint32_t)(v >> 32));
	rd_put32(p + 4, (uint32_t)v);
}

/*
 * rd_logf - format and deliver a message through a log hook if its level
 * passes. Messages longer than 512 bytes are truncated.
 */
void rd_logf(const struct rd_log *log, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
