/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server's log line: "HH:MM:SS.mmm sim_server: ..." on stderr.
 */

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "sim/server/log.h"

void
srv_log(const char *fmt, ...)
{
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &now);
	localtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld sim_server: ", ts, now.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
