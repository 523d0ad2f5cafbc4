/* The state extension's section: layout and rules in redund/sync_ext.h. */
#include <string.h>

#include "core/internal.h"
#include "redund/sync_ext.h"

#define MAGIC0 0x52 /* 'R' */
#define MAGIC1 0x58 /* 'X' */

_Static_assert(RD_SYNC_EXT_REC_MAX == 14 + 6 + 18 + 6 + 17 + 2 + 4 * 62, "every attribute once");
_Static_assert(RD_SYNC_EXT_EXPECT_MAX *RD_SYNC_EXT_EXPECT_LEN <= 255, "expectations fit a length");

static bool expect_equal(const struct rd_sync_ext_expect *a, const struct rd_sync_ext_expect *b)
{
	return a->af == b->af && a->proto == b->proto && a->flags == b->flags &&
	       memcmp(a->src, b->src, 16) == 0 && memcmp(a->dst, b->dst, 16) == 0 &&
	       a->sport == b->sport && a->dport == b->dport &&
	       memcmp(a->src_mask, b->src_mask, 16) == 0 && a->sport_mask == b->sport_mask;
}

static unsigned nexpect(const struct rd_sync_ext *x)
{
	if (!(x->have & RD_SYNC_EXT_EXPECT))
		return 0;
	return x->nexpect < RD_SYNC_EXT_EXPECT_MAX ? x->nexpect : RD_SYNC_EXT_EXPECT_MAX;
}

bool rd_sync_ext_equal(const struct rd_sync_ext *a, const struct rd_sync_ext *b)
{
	if (a->have != b->have)
		return false;
	if ((a->have & RD_SYNC_EXT_MARK) && a->mark != b->mark)
		return false;
	if ((a->have & RD_SYNC_EXT_STATUS) && a->status != b->status)
		return false;
	if ((a->have & RD_SYNC_EXT_LABELS) && memcmp(a->labels, b->labels, sizeof(a->labels)) != 0)
		return false;
	if ((a->have & RD_SYNC_EXT_HELPER) &&
	    strncmp(a->helper, b->helper, RD_SYNC_EXT_HELPER_MAX) != 0)
		return false;
	if (nexpect(a) != nexpect(b))
		return false;
	for (unsigned i = 0; i < nexpect(a); i++)
		if (!expect_equal(&a->expect[i], &b->expect[i]))
			return false;
	return true;
}

static size_t helper_len(const struct rd_sync_ext *x)
{
	if (!(x->have & RD_SYNC_EXT_HELPER))
		return 0;
	return strnlen(x->helper, RD_SYNC_EXT_HELPER_MAX);
}

size_t rd_sync_ext_record_len(const struct rd_sync_ext *x)
{
	size_t n = RD_SYNC_EXT_REC_LEN, h = helper_len(x);

	if (x->have & RD_SYNC_EXT_MARK)
		n += 2 + 4;
	if (x->have & RD_SYNC_EXT_LABELS)
		n += 2 + RD_SYNC_EXT_LABELS_LEN;
	if (x->have & RD_SYNC_EXT_STATUS)
		n += 2 + 4;
	if (h > 0)
		n += 2 + h;
	if (x->have & RD_SYNC_EXT_EXPECT)
		n += 2 + nexpect(x) * RD_SYNC_EXT_EXPECT_LEN;
	return n;
}

int rd_sync_ext_begin(uint8_t *buf, size_t cap)
{
	if (buf == NULL || cap < RD_SYNC_EXT_HDR_LEN)
		return RD_ERR_NOSPC;
	buf[0] = MAGIC0;
	buf[1] = MAGIC1;
	buf[2] = RD_SYNC_EXT_VERSION;
	buf[3] = 0;
	return RD_SYNC_EXT_HDR_LEN;
}

static uint8_t *attr(uint8_t *p, uint8_t type, const void *v, size_t len)
{
	p[0] = type;
	p[1] = (uint8_t)len;
	memcpy(p + 2, v, len);
	return p + 2 + len;
}

static void put_expect(uint8_t *p, const struct rd_sync_ext_expect *e)
{
	p[0] = e->af;
	p[1] = e->proto;
	rd_put16(p + 2, e->flags);
	rd_put32(p + 4, e->timeout);
	memcpy(p + 8, e->src, 16);
	memcpy(p + 24, e->dst, 16);
	rd_put16(p + 40, e->sport);
	rd_put16(p + 42, e->dport);
	memcpy(p + 44, e->src_mask, 16);
	rd_put16(p + 60, e->sport_mask);
}

static void get_expect(const uint8_t *p, struct rd_sync_ext_expect *e)
{
	e->af = p[0];
	e->proto = p[1];
	e->flags = rd_get16(p + 2);
	e->timeout = rd_get32(p + 4);
	memcpy(e->src, p + 8, 16);
	memcpy(e->dst, p + 24, 16);
	e->sport = rd_get16(p + 40);
	e->dport = rd_get16(p + 42);
	memcpy(e->src_mask, p + 44, 16);
	e->sport_mask = rd_get16(p + 60);
}

int rd_sync_ext_put(uint8_t *buf, size_t cap, uint64_t id, uint32_t creatorid,
                    const struct rd_sync_ext *x)
{
	size_t len, h;
	uint8_t *p, v[4];

	if (buf == NULL || x == NULL)
		return RD_ERR_INVAL;
	len = rd_sync_ext_record_len(x);
	h = helper_len(x);
	if (cap < len)
		return RD_ERR_NOSPC;
	rd_put64(buf, id);
	rd_put32(buf + 8, creatorid);
	rd_put16(buf + 12, (uint16_t)(len - RD_SYNC_EXT_REC_LEN));
	p = buf + RD_SYNC_EXT_REC_LEN;
	if (x->have & RD_SYNC_EXT_MARK) {
		rd_put32(v, x->mark);
		p = attr(p, RD_SYNC_EXT_A_MARK, v, 4);
	}
	if (x->have & RD_SYNC_EXT_LABELS)
		p = attr(p, RD_SYNC_EXT_A_LABELS, x->labels, RD_SYNC_EXT_LABELS_LEN);
	if (x->have & RD_SYNC_EXT_STATUS) {
		rd_put32(v, x->status);
		p = attr(p, RD_SYNC_EXT_A_STATUS, v, 4);
	}
	if (h > 0)
		p = attr(p, RD_SYNC_EXT_A_HELPER, x->helper, h);
	if (x->have & RD_SYNC_EXT_EXPECT) {
		p[0] = RD_SYNC_EXT_A_EXPECT;
		p[1] = (uint8_t)(nexpect(x) * RD_SYNC_EXT_EXPECT_LEN);
		p += 2;
		for (unsigned i = 0; i < nexpect(x); i++, p += RD_SYNC_EXT_EXPECT_LEN)
			put_expect(p, &x->expect[i]);
	}
	return (int)len;
}

/* One record's attributes a[0..n) into *x; false when refused (see the header). */
static bool parse_attrs(const uint8_t *a, size_t n, struct rd_sync_ext *x)
{
	memset(x, 0, sizeof(*x));
	while (n > 0) {
		uint8_t type, len;
		uint32_t bit;

		if (n < 2 || (size_t)a[1] + 2 > n)
			return false;
		type = a[0];
		len = a[1];
		switch (type) {
		case RD_SYNC_EXT_A_MARK:
		case RD_SYNC_EXT_A_STATUS:
			bit = type == RD_SYNC_EXT_A_MARK ? RD_SYNC_EXT_MARK : RD_SYNC_EXT_STATUS;
			if (len != 4 || (x->have & bit))
				return false;
			if (type == RD_SYNC_EXT_A_MARK)
				x->mark = rd_get32(a + 2);
			else
				x->status = rd_get32(a + 2);
			x->have |= bit;
			break;
		case RD_SYNC_EXT_A_LABELS:
			if (len != RD_SYNC_EXT_LABELS_LEN || (x->have & RD_SYNC_EXT_LABELS))
				return false;
			memcpy(x->labels, a + 2, RD_SYNC_EXT_LABELS_LEN);
			x->have |= RD_SYNC_EXT_LABELS;
			break;
		case RD_SYNC_EXT_A_HELPER:
			if (len == 0 || len > RD_SYNC_EXT_HELPER_MAX ||
			    (x->have & RD_SYNC_EXT_HELPER) || memchr(a + 2, 0, len) != NULL)
				return false;
			memcpy(x->helper, a + 2, len);
			x->helper[len] = '\0';
			x->have |= RD_SYNC_EXT_HELPER;
			break;
		case RD_SYNC_EXT_A_EXPECT:
			if (len % RD_SYNC_EXT_EXPECT_LEN != 0 ||
			    len / RD_SYNC_EXT_EXPECT_LEN > RD_SYNC_EXT_EXPECT_MAX ||
			    (x->have & RD_SYNC_EXT_EXPECT))
				return false;
			x->nexpect = (uint8_t)(len / RD_SYNC_EXT_EXPECT_LEN);
			for (unsigned i = 0; i < x->nexpect; i++)
				get_expect(a + 2 + i * RD_SYNC_EXT_EXPECT_LEN, &x->expect[i]);
			x->have |= RD_SYNC_EXT_EXPECT;
			break;
		default:
			break; /* a later version's: skipped */
		}
		a += 2 + (size_t)len;
		n -= 2 + (size_t)len;
	}
	return true;
}

/* Walks the records; fn NULL: checks only. Returns the count, RD_ERR_PROTO or fn's value. */
static int walk(const uint8_t *p, size_t len, rd_sync_ext_fn fn, void *user)
{
	struct rd_sync_ext x;
	int count = 0, rc;

	while (len > 0) {
		size_t n;

		if (len < RD_SYNC_EXT_REC_LEN)
			return RD_ERR_PROTO;
		n = rd_get16(p + 12);
		if (n > len - RD_SYNC_EXT_REC_LEN || !parse_attrs(p + RD_SYNC_EXT_REC_LEN, n, &x))
			return RD_ERR_PROTO;
		if (fn != NULL && (rc = fn(user, rd_get64(p), rd_get32(p + 8), &x)) != 0)
			return rc;
		count++;
		p += RD_SYNC_EXT_REC_LEN + n;
		len -= RD_SYNC_EXT_REC_LEN + n;
	}
	return count;
}

int rd_sync_ext_decode(const uint8_t *sec, size_t len, rd_sync_ext_fn fn, void *user)
{
	int rc;

	if (sec == NULL || len < RD_SYNC_EXT_HDR_LEN || sec[0] != MAGIC0 || sec[1] != MAGIC1)
		return RD_ERR_PROTO;
	if (sec[2] != RD_SYNC_EXT_VERSION)
		return RD_ERR_STATE;
	sec += RD_SYNC_EXT_HDR_LEN;
	len -= RD_SYNC_EXT_HDR_LEN;
	if ((rc = walk(sec, len, NULL, NULL)) < 0 || fn == NULL)
		return rc;
	return walk(sec, len, fn, user);
}
