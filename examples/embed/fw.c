/*
 * fw.c: a stand-in firewall for examples/embed (see fw.h): a virtual clock
 * that jumps to each deadline, and a link that hands every packet sent back
 * to the sender 1 ms later, as a multicast socket with loopback does.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw.h"

#define FW_LOOP_DELAY (1 * RD_MSEC)

struct fw {
	rd_time_t now, end;
	uint8_t pending[256]; /* the packet on its way back, if pending_len > 0 */
	size_t pending_len;
	rd_time_t pending_at;
	uint64_t sent, received;
};

struct fw *fw_new(rd_time_t start, rd_time_t end)
{
	struct fw *fw = calloc(1, sizeof(*fw));
	if (fw != NULL) {
		fw->now = start;
		fw->end = end;
	}
	return fw;
}

void fw_free(struct fw *fw)
{
	free(fw);
}

rd_time_t fw_now(const struct fw *fw)
{
	return fw->now;
}

int fw_send(struct fw *fw, const uint8_t *pkt, size_t len, const struct rd_addr *dst)
{
	(void)dst;
	if (len > sizeof(fw->pending))
		return RD_ERR_NOSPC;
	/* a link of one packet: a newer one replaces one not yet looped back */
	memcpy(fw->pending, pkt, len);
	fw->pending_len = len;
	fw->pending_at = fw->now + FW_LOOP_DELAY;
	fw->sent++;
	return 0;
}

bool fw_wait(struct fw *fw, rd_time_t deadline, uint8_t *pkt, size_t size, size_t *len,
             rd_time_t *now)
{
	*len = 0;
	if (fw->pending_len > 0 && fw->pending_at <= deadline && fw->pending_len <= size) {
		fw->now = fw->pending_at > fw->now ? fw->pending_at : fw->now;
		memcpy(pkt, fw->pending, fw->pending_len);
		*len = fw->pending_len;
		fw->pending_len = 0;
		fw->received++;
	} else if (deadline > fw->now) {
		fw->now = deadline;
	}
	*now = fw->now;
	return fw->now <= fw->end;
}

void fw_log(struct fw *fw, const char *fmt, ...)
{
	va_list ap;
	printf("%7.3f s  ", (double)fw->now / RD_SEC);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

uint64_t fw_sent(const struct fw *fw)
{
	return fw->sent;
}

uint64_t fw_received(const struct fw *fw)
{
	return fw->received;
}
