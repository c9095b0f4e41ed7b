/* SPDX-License-Identifier: MIT */
/* procfs.c - parsers for /proc text; they trust nothing but the buffer length. */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "core/number.h"
#include "snapshot/procfs.h"

/* A token is [start, end); numbers are plain decimal with an optional '-'. */
/* Signed fields (priority, nice, tpgid = -1) are only checked, never used. */
static int check_s64(const char *s, const char *end)
{
	uint64_t v;
	int err;

	if (s < end && *s == '-')
		s++;
	err = pw_parse_u64(s, end, &v);
	if (err)
		return err;
	return v > (uint64_t)INT64_MAX + 1 ? -EINVAL : 0;
}

static int parse_pid(const char *s, const char *end, pid_t *out)
{
	uint64_t v;
	int err = pw_parse_u64_max(s, end, INT_MAX, &v);

	if (!err)
		*out = (pid_t)v;
	return err;
}

static int parse_u32(const char *s, const char *end, uint32_t *out)
{
	uint64_t v;
	int err = pw_parse_u64_max(s, end, UINT32_MAX, &v);

	if (!err)
		*out = (uint32_t)v;
	return err;
}

int pw_procfs_parse_stat(const char *buf, size_t len, struct pw_stat_fields *out)
{
	const char *open, *close = NULL, *pos, *end, *tok;
	struct pw_stat_fields f;
	size_t comm_len;
	int field;
	/* the unsigned 64-bit fields kept, by proc(5) field number */
	uint64_t *const u64_at[25] = {
		[14] = &f.utime_ticks, [15] = &f.stime_ticks, [22] = &f.starttime_ticks,
		[23] = &f.vsize_bytes, [24] = &f.rss_pages,
	};

	if (!buf || !out)
		return -EINVAL;
	end = buf + len;
	memset(&f, 0, sizeof(f));

	/* The kernel prints "%d (%s) %c ..." : pid, one space, then comm. */
	open = memchr(buf, '(', len);
	if (!open || open < buf + 2 || open[-1] != ' ')
		return -EINVAL;
	if (parse_pid(buf, open - 1, &f.pid))
		return -EINVAL;
	for (pos = end; pos > open + 1;) {
		pos--;
		if (*pos == ')') {
			close = pos;
			break;
		}
	}
	if (!close)
		return -EINVAL;
	comm_len = (size_t)(close - open - 1);
	if (comm_len > PW_COMM_LEN - 1)
		comm_len = PW_COMM_LEN - 1;
	memcpy(f.comm, open + 1, comm_len);
	f.comm[comm_len] = '\0';

	/* Fields 3.. are separated by single spaces; the line may end in '\n'. */
	if (end > close + 1 && end[-1] == '\n')
		end--;
	pos = close + 1;
	for (field = 3; field <= 24; field++) {
		/* 23 (vsize) and 24 (rss) are used when present; 22 fields suffice. */
		if (field > 22 && pos == end)
			break;
		if (pos >= end || *pos != ' ')
			return -EINVAL;
		tok = ++pos;
		while (pos < end && *pos != ' ')
			pos++;
		if (pos == tok)
			return -EINVAL;

		if (u64_at[field]) {
			if (pw_parse_u64(tok, pos, u64_at[field]))
				return -EINVAL;
			continue;
		}
		switch (field) {
		case 3:
			if (pos - tok != 1)
				return -EINVAL;
			f.state = *tok;
			break;
		case 4:
			if (parse_pid(tok, pos, &f.ppid))
				return -EINVAL;
			break;
		case 20:
			if (parse_u32(tok, pos, &f.num_threads))
				return -EINVAL;
			break;
		default:
			if (check_s64(tok, pos))
				return -EINVAL;
		}
	}
	f.has_rss = field > 24;
	/* A state must be a printable letter-like byte, never a separator. */
	if ((unsigned char)f.state <= ' ' || (unsigned char)f.state >= 0x7f)
		return -EINVAL;
	*out = f;
	return 0;
}

/* Parses "<4 u32 separated by tabs/spaces>" up to the end of the line. */
static int parse_id_quad(const char *s, const char *end, uint32_t ids[4])
{
	const char *tok;
	int n;

	for (n = 0; n < 4; n++) {
		if (s >= end || (*s != '\t' && *s != ' '))
			return -EINVAL;
		while (s < end && (*s == '\t' || *s == ' '))
			s++;
		tok = s;
		while (s < end && *s != '\t' && *s != ' ')
			s++;
		if (parse_u32(tok, s, &ids[n]))
			return -EINVAL;
	}
	while (s < end && (*s == '\t' || *s == ' '))
		s++;
	return s == end ? 0 : -EINVAL;
}

int pw_procfs_parse_status(const char *buf, size_t len, struct pw_status_fields *out)
{
	const char *line = buf, *end, *eol;
	struct pw_status_fields f;
	bool have_uid = false, have_gid = false;

	if (!buf || !out)
		return -EINVAL;
	end = buf + len;
	memset(&f, 0, sizeof(f));
	while (line < end) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			eol = end;
		if (eol - line >= 4 && !memcmp(line, "Uid:", 4)) {
			if (have_uid || parse_id_quad(line + 4, eol, f.uid))
				return -EINVAL;
			have_uid = true;
		} else if (eol - line >= 4 && !memcmp(line, "Gid:", 4)) {
			if (have_gid || parse_id_quad(line + 4, eol, f.gid))
				return -EINVAL;
			have_gid = true;
		}
		line = eol + 1;
	}
	if (!have_uid || !have_gid)
		return -EINVAL;
	*out = f;
	return 0;
}

int pw_procfs_parse_cmdline(struct pw_process *p, const char *buf, size_t len, bool truncated)
{
	int err = pw_process_set_args(p, buf, len);

	if (err)
		return err;
	if (truncated)
		p->known |= PW_PK_ARGS_TRUNCATED;
	return 0;
}

int pw_procfs_ticks_to_ns(uint64_t ticks, long clk_tck, uint64_t *ns)
{
	const uint64_t ns_per_sec = 1000000000ull;
	uint64_t hz, secs, rest;

	if (clk_tck <= 0 || !ns)
		return -EINVAL;
	hz = (uint64_t)clk_tck;
	if (hz > UINT64_MAX / ns_per_sec)
		return -ERANGE;
	/* Split so that a USER_HZ that does not divide 1e9 stays exact. */
	secs = ticks / hz;
	rest = ticks % hz;
	if (secs > UINT64_MAX / ns_per_sec)
		return -ERANGE;
	secs *= ns_per_sec;
	rest = rest * ns_per_sec / hz; /* rest < hz, checked above */
	if (secs > UINT64_MAX - rest)
		return -ERANGE;
	*ns = secs + rest;
	return 0;
}

int pw_procfs_read_file(int dirfd, const char *name, char *buf, size_t cap, size_t *len,
			bool *truncated)
{
	size_t have = 0;
	ssize_t n;
	char extra;
	int fd, err = 0;

	if (!name || (!buf && cap) || !len || !truncated)
		return -EINVAL;
	*len = 0;
	*truncated = false;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -errno;
	while (have < cap) {
		n = read(fd, buf + have, cap - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0)
			goto done;
		have += (size_t)n;
	}
	/* Full: one more byte tells a file of exactly cap bytes from a longer one. */
	for (;;) {
		n = read(fd, &extra, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		break;
	}
	*truncated = n > 0;
done:
	*len = have;
out:
	close(fd);
	return err;
}
