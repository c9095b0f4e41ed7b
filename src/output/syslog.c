// SPDX-License-Identifier: MIT
/*
 * output/syslog.c - RFC 5424 records on a local datagram socket (/dev/log):
 * app-name procward, msgid the event type, the formatted line (JSON) as MSG,
 * so rsyslog or journald take the event as it is.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "output/target.h"

ssize_t pw_syslog_format(char *buf, size_t cap, int pri, const struct timespec *now,
			 const char *hostname, const char *app_name, int pid, const char *msgid)
{
	char id[33];
	struct tm tm;
	size_t n = 0;
	int w;

	/* MSGID is 1*32PRINTUSASCII: anything else in an event type becomes '_' */
	for (; msgid && msgid[n] && n < 32; n++)
		id[n] = msgid[n] > 32 && msgid[n] < 127 ? msgid[n] : '_';
	if (!n)
		id[n++] = '-';
	id[n] = 0;
	gmtime_r(&now->tv_sec, &tm);
	w = snprintf(buf, cap, "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06ldZ %s %s %d %s - ", pri,
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     now->tv_nsec / 1000, hostname, app_name, pid, id);
	if (w < 0 || (size_t)w >= cap)
		return -ENOSPC;
	return w;
}

int pw_syslog_target_write(struct out_target *s, const struct target_env *env, const char *type,
			 const char *line, size_t len)
{
	char header[512];
	struct timespec now;
	struct iovec iov[2];
	ssize_t hl;

	clock_gettime(CLOCK_REALTIME, &now);
	hl = pw_syslog_format(header, sizeof(header), s->facility | LOG_INFO, &now, s->hostname,
			      s->app_name, (int)getpid(), type);
	if (hl < 0)
		return (int)hl;
	iov[0].iov_base = header;
	iov[0].iov_len = (size_t)hl;
	iov[1].iov_base = (void *)line;
	iov[1].iov_len = len;
	return pw_dgram_send(s, env, iov, 2);
}
