/*
 * Control envelope payloads (ACK, NACK, HELLO): the one decoder the
 * channel and redundctl share, so that both refuse the same payloads for
 * the same reasons. Layout: redund/sync.h.
 */
#include <string.h>

#include "core/internal.h"
#include "redund/sync.h"

_Static_assert(RD_SYNC_ACK_REC_LEN == 4 + 4 + 8 + 8 + 8,
               "ACK record: sender, reserved, cumulative, top, bitmap");
_Static_assert(RD_SYNC_HELLO_LEN == 8 + 8 + 8, "HELLO: next, oldest, first");
_Static_assert(RD_SYNC_HELLO_V0_LEN == 8 + 8, "HELLO before first: next, oldest");

static const char *const error_names[RD_SYNC_CTL_ERROR_COUNT] = {
    [RD_SYNC_CTL_OK] = "ok",
    [RD_SYNC_CTL_BADTYPE] = "badtype",
    [RD_SYNC_CTL_ACK_SHORT] = "ack_short",
    [RD_SYNC_CTL_ACK_COUNT] = "ack_count",
    [RD_SYNC_CTL_ACK_CUM_ABOVE_TOP] = "ack_cum_above_top",
    [RD_SYNC_CTL_HELLO_LEN] = "hello_len",
    [RD_SYNC_CTL_HELLO_NEXT_ZERO] = "hello_next_zero",
    [RD_SYNC_CTL_HELLO_OLDEST_ZERO] = "hello_oldest_zero",
    [RD_SYNC_CTL_HELLO_OLDEST_ABOVE_NEXT] = "hello_oldest_above_next",
    [RD_SYNC_CTL_HELLO_FIRST_ZERO] = "hello_first_zero",
    [RD_SYNC_CTL_HELLO_FIRST_ABOVE_OLDEST] = "hello_first_above_oldest",
};

const char *rd_sync_ctl_error_name(int error)
{
	if (error < 0 || error >= RD_SYNC_CTL_ERROR_COUNT)
		return "unknown";
	return error_names[error];
}

static int ctl_refuse(struct rd_sync_ctl *out, int error, size_t offset)
{
	out->error = error;
	out->stat = error == RD_SYNC_CTL_BADTYPE ? RD_SYNC_STAT_BADTYPE : RD_SYNC_STAT_BADPAYLOAD;
	out->offset = offset;
	return RD_ERR_PROTO;
}

static void get_record(const uint8_t *r, struct rd_sync_ack_rec *rec)
{
	rec->sender = rd_get32(r);
	rec->cumulative = rd_get64(r + 8);
	rec->top = rd_get64(r + 16);
	rec->bitmap = rd_get64(r + 24);
}

static int decode_acks(const uint8_t *pl, size_t len, struct rd_sync_ctl *out, rd_sync_ack_fn fn,
                       void *user)
{
	size_t n;

	if (len < RD_SYNC_ACK_HDR_LEN)
		return ctl_refuse(out, RD_SYNC_CTL_ACK_SHORT, 0);
	n = rd_get16(pl);
	if (len != RD_SYNC_ACK_HDR_LEN + n * RD_SYNC_ACK_REC_LEN)
		return ctl_refuse(out, RD_SYNC_CTL_ACK_COUNT, 0);
	for (size_t i = 0; i < n; i++) {
		size_t off = RD_SYNC_ACK_HDR_LEN + i * RD_SYNC_ACK_REC_LEN;
		if (rd_get64(pl + off + 8) > rd_get64(pl + off + 16))
			return ctl_refuse(out, RD_SYNC_CTL_ACK_CUM_ABOVE_TOP, off + 8);
	}
	out->nrecs = n;
	for (size_t i = 0; fn != NULL && i < n; i++) {
		struct rd_sync_ack_rec rec;
		int rc;
		get_record(pl + RD_SYNC_ACK_HDR_LEN + i * RD_SYNC_ACK_REC_LEN, &rec);
		rc = fn(user, &rec);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int decode_hello(const uint8_t *pl, size_t len, struct rd_sync_ctl *out)
{
	uint64_t next, oldest, first = 0;

	if (len != RD_SYNC_HELLO_LEN && len != RD_SYNC_HELLO_V0_LEN)
		return ctl_refuse(out, RD_SYNC_CTL_HELLO_LEN, 0);
	next = rd_get64(pl);
	oldest = rd_get64(pl + 8);
	if (next == 0)
		return ctl_refuse(out, RD_SYNC_CTL_HELLO_NEXT_ZERO, 0);
	if (oldest > next)
		return ctl_refuse(out, RD_SYNC_CTL_HELLO_OLDEST_ABOVE_NEXT, 8);
	if (oldest == 0) /* no DATA has sequence number 0: the peer's window would wrap */
		return ctl_refuse(out, RD_SYNC_CTL_HELLO_OLDEST_ZERO, 8);
	if (len == RD_SYNC_HELLO_LEN) {
		first = rd_get64(pl + 16);
		if (first == 0)
			return ctl_refuse(out, RD_SYNC_CTL_HELLO_FIRST_ZERO, 16);
		if (first > oldest)
			return ctl_refuse(out, RD_SYNC_CTL_HELLO_FIRST_ABOVE_OLDEST, 16);
	}
	out->next = next;
	out->oldest = oldest;
	out->first = first;
	return 0;
}

int rd_sync_ctl_decode(uint8_t type, const uint8_t *payload, size_t len, struct rd_sync_ctl *out,
                       rd_sync_ack_fn fn, void *user)
{
	if (out == NULL || (payload == NULL && len > 0))
		return RD_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	out->type = type;
	out->error = RD_SYNC_CTL_OK;
	out->stat = RD_SYNC_STAT_OPENED;
	switch (type) {
	case RD_SYNC_ENV_ACK:
	case RD_SYNC_ENV_NACK:
		return decode_acks(payload, len, out, fn, user);
	case RD_SYNC_ENV_HELLO:
		return decode_hello(payload, len, out);
	default:
		return ctl_refuse(out, RD_SYNC_CTL_BADTYPE, 0);
	}
}
