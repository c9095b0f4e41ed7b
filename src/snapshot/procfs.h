/* SPDX-License-Identifier: MIT */
/* procfs.h - length-checked parsers for the untrusted text of /proc/PID/{stat,status,cmdline}. */
#ifndef PW_PROCFS_H
#define PW_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot/process.h"

/* Upper bound for argv read from /proc/PID/cmdline; longer is PW_PK_ARGS_TRUNCATED. */
#define PW_PROCFS_CMDLINE_MAX ((size_t)32 * 1024)

/* The fields of /proc/PID/stat the library uses. */
struct pw_stat_fields {
	pid_t pid;                /* field 1 */
	char comm[PW_COMM_LEN];   /* field 2, cut to 15 bytes (kworkers show up to 64) */
	char state;               /* field 3 */
	pid_t ppid;               /* field 4 */
	uint32_t num_threads;     /* field 20 */
	uint64_t starttime_ticks; /* field 22: clock ticks since boot */
	uint64_t utime_ticks;     /* field 14: user CPU, clock ticks */
	uint64_t stime_ticks;     /* field 15: system CPU, clock ticks */
	uint64_t vsize_bytes;     /* field 23, when present */
	uint64_t rss_pages;       /* field 24, when present */
	bool has_rss;             /* the line went on to field 24 */
};

/* uid/gid are {real, effective, saved, filesystem}, as in the Uid:/Gid: lines. */
struct pw_status_fields {
	uint32_t uid[4];
	uint32_t gid[4];
};

/*
 * Parse a /proc/PID/stat line held in buf[0..len) (no NUL needed). comm lies
 * between the first '(' and the last ')', and may hold anything, newlines
 * included. 0, or -EINVAL for any malformed input (missing parens, fewer than
 * 22 fields, a non-numeric or overflowing number).
 */
int pw_procfs_parse_stat(const char *buf, size_t len, struct pw_stat_fields *out);

/*
 * Parse the Uid: and Gid: lines of /proc/PID/status in buf[0..len); other
 * lines are ignored. -EINVAL if either is missing, repeated or malformed.
 */
int pw_procfs_parse_status(const char *buf, size_t len, struct pw_status_fields *out);

/*
 * Set p's argv from a /proc/PID/cmdline buffer (see pw_process_set_args for
 * the splitting rule; an empty buffer, as for kernel threads and zombies,
 * gives argc 0). truncated: the buffer was cut at the read limit, so the
 * last argument is partial: sets PW_PK_ARGS_TRUNCATED. 0 or -ENOMEM.
 */
int pw_procfs_parse_cmdline(struct pw_process *p, const char *buf, size_t len, bool truncated);

/* Clock ticks since boot to ns: 0, or -EINVAL (clk_tck <= 0) or -ERANGE (overflow). */
int pw_procfs_ticks_to_ns(uint64_t ticks, long clk_tck, uint64_t *ns);

/*
 * Read all of the file `name` (relative to dirfd) into buf[0..cap): *len gets
 * the bytes read, *truncated whether the file held more than cap bytes.
 * Short reads (as /proc gives) are continued; EINTR is retried.
 * 0 or -errno (-ENOENT / -ESRCH when the process is gone).
 */
int pw_procfs_read_file(int dirfd, const char *name, char *buf, size_t cap, size_t *len,
			bool *truncated);

#endif
