/* Unit tests for the state extension's section (redund/sync_ext.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "redund/sync_ext.h"

static struct rd_sync_ext full_ext(void)
{
	struct rd_sync_ext x;

	memset(&x, 0, sizeof(x));
	x.have = RD_SYNC_EXT_MARK | RD_SYNC_EXT_LABELS | RD_SYNC_EXT_STATUS | RD_SYNC_EXT_HELPER;
	x.mark = 0x11223344;
	x.status = 0x0000040e;
	for (int i = 0; i < RD_SYNC_EXT_LABELS_LEN; i++)
		x.labels[i] = (uint8_t)(i + 1);
	strcpy(x.helper, "ftp");
	return x;
}

struct seen {
	int n;
	uint64_t id[8];
	uint32_t creatorid[8];
	struct rd_sync_ext x[8];
};

static int collect(void *user, uint64_t id, uint32_t creatorid, const struct rd_sync_ext *x)
{
	struct seen *s = user;

	ck_assert_int_lt(s->n, 8);
	s->id[s->n] = id;
	s->creatorid[s->n] = creatorid;
	s->x[s->n++] = *x;
	return 0;
}

/* A section of one record, written by the encoder, into buf; returns its length. */
static size_t one(uint8_t *buf, size_t cap, const struct rd_sync_ext *x)
{
	int h = rd_sync_ext_begin(buf, cap);
	int r;

	ck_assert_int_eq(h, RD_SYNC_EXT_HDR_LEN);
	r = rd_sync_ext_put(buf + h, cap - (size_t)h, 0x0102030405060708ull, 0xa1b2c3d4, x);
	ck_assert_int_gt(r, 0);
	return (size_t)h + (size_t)r;
}

START_TEST(record_round_trips_every_field)
{
	struct rd_sync_ext x = full_ext(), y = x;
	struct seen s = {0};
	uint8_t buf[128];
	size_t n = one(buf, sizeof(buf), &x);

	ck_assert_uint_eq(n, RD_SYNC_EXT_HDR_LEN + rd_sync_ext_record_len(&x));
	ck_assert_uint_eq(rd_sync_ext_record_len(&x), 14 + 6 + 18 + 6 + 5);
	/* The layout of the header: magic, version, reserved; the record's key. */
	ck_assert_uint_eq(buf[0], 'R');
	ck_assert_uint_eq(buf[1], 'X');
	ck_assert_uint_eq(buf[2], 1);
	ck_assert_uint_eq(buf[4], 0x01);
	ck_assert_uint_eq(buf[11], 0x08);
	ck_assert_uint_eq(buf[12], 0xa1);
	ck_assert_int_eq(rd_sync_ext_decode(buf, n, collect, &s), 1);
	ck_assert_int_eq(s.n, 1);
	ck_assert_uint_eq(s.id[0], 0x0102030405060708ull);
	ck_assert_uint_eq(s.creatorid[0], 0xa1b2c3d4);
	ck_assert(rd_sync_ext_equal(&s.x[0], &y));
	ck_assert_str_eq(s.x[0].helper, "ftp");
	ck_assert_uint_eq(s.x[0].mark, 0x11223344);
}
END_TEST

START_TEST(absent_fields_stay_absent)
{
	struct rd_sync_ext x = {.have = RD_SYNC_EXT_MARK, .mark = 7};
	struct seen s = {0};
	uint8_t buf[64];
	size_t n = one(buf, sizeof(buf), &x);

	ck_assert_uint_eq(n, RD_SYNC_EXT_HDR_LEN + 14 + 6);
	ck_assert_int_eq(rd_sync_ext_decode(buf, n, collect, &s), 1);
	ck_assert_uint_eq(s.x[0].have, RD_SYNC_EXT_MARK);
	ck_assert_uint_eq(s.x[0].mark, 7);
}
END_TEST

START_TEST(several_records_come_in_order)
{
	struct rd_sync_ext a = {.have = RD_SYNC_EXT_MARK, .mark = 1}, b = full_ext();
	struct seen s = {0};
	uint8_t buf[256];
	int off = rd_sync_ext_begin(buf, sizeof(buf));

	off += rd_sync_ext_put(buf + off, sizeof(buf) - (size_t)off, 1, 10, &a);
	off += rd_sync_ext_put(buf + off, sizeof(buf) - (size_t)off, 2, 20, &b);
	off += rd_sync_ext_put(buf + off, sizeof(buf) - (size_t)off, 3, 30, &a);
	ck_assert_int_eq(rd_sync_ext_decode(buf, (size_t)off, collect, &s), 3);
	ck_assert_uint_eq(s.id[1], 2);
	ck_assert_uint_eq(s.creatorid[2], 30);
	ck_assert(rd_sync_ext_equal(&s.x[1], &b));
	/* A header alone: no record. */
	ck_assert_int_eq(rd_sync_ext_decode(buf, RD_SYNC_EXT_HDR_LEN, collect, &s), 0);
}
END_TEST

START_TEST(unknown_attributes_are_skipped)
{
	uint8_t buf[64];
	struct rd_sync_ext x = {.have = RD_SYNC_EXT_MARK, .mark = 9};
	struct seen s = {0};
	size_t n = one(buf, sizeof(buf), &x);

	/* A later version's attribute (type 200, 3 bytes) after the mark. */
	buf[n++] = 200;
	buf[n++] = 3;
	buf[n++] = 1;
	buf[n++] = 2;
	buf[n++] = 3;
	buf[RD_SYNC_EXT_HDR_LEN + 13] += 5; /* the record's n */
	ck_assert_int_eq(rd_sync_ext_decode(buf, n, collect, &s), 1);
	ck_assert_uint_eq(s.x[0].have, RD_SYNC_EXT_MARK);
	ck_assert_uint_eq(s.x[0].mark, 9);
}
END_TEST

START_TEST(another_version_is_ignored_whole)
{
	struct rd_sync_ext x = full_ext();
	struct seen s = {0};
	uint8_t buf[128];
	size_t n = one(buf, sizeof(buf), &x);

	buf[2] = 2;
	ck_assert_int_eq(rd_sync_ext_decode(buf, n, collect, &s), RD_ERR_STATE);
	ck_assert_int_eq(s.n, 0);
}
END_TEST

START_TEST(bad_framing_is_refused_whole_before_any_record)
{
	struct rd_sync_ext x = full_ext(), m = {.have = RD_SYNC_EXT_MARK, .mark = 1};
	struct seen s = {0};
	uint8_t buf[256], bad[256];
	size_t n;
	int off;

	/* A good record first, then a truncated one: neither is delivered. */
	off = rd_sync_ext_begin(buf, sizeof(buf));
	off += rd_sync_ext_put(buf + off, sizeof(buf) - (size_t)off, 1, 1, &m);
	off += rd_sync_ext_put(buf + off, sizeof(buf) - (size_t)off, 2, 2, &x);
	ck_assert_int_eq(rd_sync_ext_decode(buf, (size_t)off - 1, collect, &s), RD_ERR_PROTO);
	ck_assert_int_eq(rd_sync_ext_decode(buf, RD_SYNC_EXT_HDR_LEN + 20 + 5, collect, &s),
	                 RD_ERR_PROTO);
	ck_assert_int_eq(s.n, 0);
	/* No magic; shorter than a header. */
	memcpy(bad, buf, (size_t)off);
	bad[1] = 'Y';
	ck_assert_int_eq(rd_sync_ext_decode(bad, (size_t)off, collect, &s), RD_ERR_PROTO);
	ck_assert_int_eq(rd_sync_ext_decode(buf, 3, collect, &s), RD_ERR_PROTO);
	/* A mark of 3 bytes. */
	n = one(bad, sizeof(bad), &m);
	bad[RD_SYNC_EXT_HDR_LEN + 15] = 3;
	ck_assert_int_eq(rd_sync_ext_decode(bad, n, collect, &s), RD_ERR_PROTO);
	/* The mark twice. */
	n = one(bad, sizeof(bad), &m);
	memcpy(bad + n, bad + RD_SYNC_EXT_HDR_LEN + 14, 6);
	n += 6;
	bad[RD_SYNC_EXT_HDR_LEN + 13] += 6;
	ck_assert_int_eq(rd_sync_ext_decode(bad, n, collect, &s), RD_ERR_PROTO);
	/* A helper name with a NUL in it. */
	n = one(bad, sizeof(bad), &x);
	bad[n - 2] = 0;
	ck_assert_int_eq(rd_sync_ext_decode(bad, n, collect, &s), RD_ERR_PROTO);
	/* An attribute overrunning its record. */
	n = one(bad, sizeof(bad), &m);
	bad[RD_SYNC_EXT_HDR_LEN + 13] = 5;
	ck_assert_int_eq(rd_sync_ext_decode(bad, n, collect, &s), RD_ERR_PROTO);
	ck_assert_int_eq(s.n, 0);
}
END_TEST

START_TEST(put_refuses_what_does_not_fit)
{
	struct rd_sync_ext x = full_ext();
	uint8_t buf[RD_SYNC_EXT_REC_MAX];
	size_t need = rd_sync_ext_record_len(&x);

	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(rd_sync_ext_put(buf, need - 1, 1, 1, &x), RD_ERR_NOSPC);
	ck_assert_uint_eq(buf[0], 0xee);
	ck_assert_int_eq(rd_sync_ext_put(buf, need, 1, 1, &x), (int)need);
	ck_assert_int_eq(rd_sync_ext_put(NULL, need, 1, 1, &x), RD_ERR_INVAL);
	ck_assert_int_eq(rd_sync_ext_begin(buf, 3), RD_ERR_NOSPC);
	/* A full helper name makes the longest record without expectations. */
	memset(x.helper, 'h', RD_SYNC_EXT_HELPER_MAX);
	x.helper[RD_SYNC_EXT_HELPER_MAX] = '\0';
	ck_assert_uint_eq(rd_sync_ext_record_len(&x),
	                  RD_SYNC_EXT_REC_MAX - 2 -
	                      RD_SYNC_EXT_EXPECT_MAX * RD_SYNC_EXT_EXPECT_LEN);
	ck_assert_int_eq(rd_sync_ext_put(buf, sizeof(buf), 1, 1, &x),
	                 (int)rd_sync_ext_record_len(&x));
}
END_TEST

START_TEST(equal_compares_present_fields_only)
{
	struct rd_sync_ext a = {.have = RD_SYNC_EXT_MARK, .mark = 5, .status = 1};
	struct rd_sync_ext b = {.have = RD_SYNC_EXT_MARK, .mark = 5, .status = 2};

	ck_assert(rd_sync_ext_equal(&a, &b));
	b.mark = 6;
	ck_assert(!rd_sync_ext_equal(&a, &b));
	b.mark = 5;
	b.have |= RD_SYNC_EXT_STATUS;
	ck_assert(!rd_sync_ext_equal(&a, &b));
}
END_TEST

static struct rd_sync_ext_expect ftp_data(uint16_t dport)
{
	struct rd_sync_ext_expect e;

	memset(&e, 0, sizeof(e));
	e.af = RD_AF_INET;
	e.proto = 6;
	e.timeout = 300;
	e.src[0] = 10, e.src[1] = 20, e.src[3] = 100;
	e.dst[0] = 10, e.dst[1] = 10, e.dst[3] = 100;
	e.dport = dport;
	memset(e.src_mask, 0xff, 4);
	e.sport_mask = 0; /* any source port: active FTP's */
	return e;
}

START_TEST(expectations_round_trip_as_a_set)
{
	struct rd_sync_ext x = {.have = RD_SYNC_EXT_HELPER | RD_SYNC_EXT_EXPECT, .nexpect = 2};
	struct seen s = {0};
	uint8_t buf[RD_SYNC_EXT_HDR_LEN + RD_SYNC_EXT_REC_MAX];
	size_t n;

	strcpy(x.helper, "ftp");
	x.expect[0] = ftp_data(40001);
	x.expect[1] = ftp_data(40002);
	x.expect[1].flags = 3;
	n = one(buf, sizeof(buf), &x);
	ck_assert_uint_eq(n, RD_SYNC_EXT_HDR_LEN + 14 + 5 + 2 + 2 * RD_SYNC_EXT_EXPECT_LEN);
	ck_assert_int_eq(rd_sync_ext_decode(buf, n, collect, &s), 1);
	ck_assert_uint_eq(s.x[0].nexpect, 2);
	ck_assert_uint_eq(s.x[0].expect[1].dport, 40002);
	ck_assert_uint_eq(s.x[0].expect[1].flags, 3);
	ck_assert_uint_eq(s.x[0].expect[0].timeout, 300);
	ck_assert_uint_eq(s.x[0].expect[0].src_mask[3], 0xff);
	ck_assert(rd_sync_ext_equal(&s.x[0], &x));
	/* Seconds left run down: not a difference. The port is. */
	x.expect[0].timeout = 7;
	ck_assert(rd_sync_ext_equal(&s.x[0], &x));
	x.expect[0].dport = 1;
	ck_assert(!rd_sync_ext_equal(&s.x[0], &x));
	/* None left: the empty set travels (the peer deletes its copies). */
	x.nexpect = 0;
	n = one(buf, sizeof(buf), &x);
	s.n = 0;
	ck_assert_int_eq(rd_sync_ext_decode(buf, n, collect, &s), 1);
	ck_assert_uint_eq(s.x[0].have & RD_SYNC_EXT_EXPECT, RD_SYNC_EXT_EXPECT);
	ck_assert_uint_eq(s.x[0].nexpect, 0);
	/* The longest record: four expectations, a full helper name, everything else. */
	x = full_ext();
	x.have |= RD_SYNC_EXT_EXPECT;
	x.nexpect = 9; /* counts as the maximum */
	memset(x.helper, 'h', RD_SYNC_EXT_HELPER_MAX);
	ck_assert_uint_eq(rd_sync_ext_record_len(&x), RD_SYNC_EXT_REC_MAX);
}
END_TEST

START_TEST(expectations_cut_short_are_refused)
{
	struct rd_sync_ext x = {.have = RD_SYNC_EXT_EXPECT, .nexpect = 1};
	struct seen s = {0};
	uint8_t buf[512];
	size_t n, a = RD_SYNC_EXT_HDR_LEN + 14;

	x.expect[0] = ftp_data(40001);
	n = one(buf, sizeof(buf), &x);
	/* A length that is not a whole number of expectations (4, the most, fill a length byte). */
	buf[a + 1] = RD_SYNC_EXT_EXPECT_LEN - 1;
	buf[RD_SYNC_EXT_HDR_LEN + 13] -= 1;
	ck_assert_int_eq(rd_sync_ext_decode(buf, n - 1, collect, &s), RD_ERR_PROTO);
	ck_assert_int_eq(s.n, 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sync-ext");
	TCase *c = tcase_create("section");

	tcase_add_test(c, record_round_trips_every_field);
	tcase_add_test(c, absent_fields_stay_absent);
	tcase_add_test(c, several_records_come_in_order);
	tcase_add_test(c, unknown_attributes_are_skipped);
	tcase_add_test(c, another_version_is_ignored_whole);
	tcase_add_test(c, bad_framing_is_refused_whole_before_any_record);
	tcase_add_test(c, put_refuses_what_does_not_fit);
	tcase_add_test(c, equal_compares_present_fields_only);
	tcase_add_test(c, expectations_round_trip_as_a_set);
	tcase_add_test(c, expectations_cut_short_are_refused);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
