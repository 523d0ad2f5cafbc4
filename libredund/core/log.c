/* The logging hook: format once, only when someone listens. */
#include <stdio.h>

#include "internal.h"

void rd_logf(const struct rd_log *log, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (log == NULL || log->fn == NULL || level > log->level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log->fn(log->user, level, msg);
}
