/* SPDX-License-Identifier: MIT */
/* output/target.h - the targets a struct pw_sink writes to: a file with rotation, an fd, syslog, journald. */
#ifndef PW_OUTPUT_TARGET_H
#define PW_OUTPUT_TARGET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "procward.h"
#include "core/log.h"

/* What a target may consult while it writes: give up waiting once abandon is set. */
struct target_env {
	const atomic_bool *abandon;
	const struct pw_logger *log;
	atomic_uint_fast64_t *rotations;
};

enum target_kind { TARGET_FILE = 1, TARGET_FD, TARGET_SYSLOG, TARGET_JOURNAL };

struct out_target {
	enum target_kind kind;
	char *path;            /* file: the log; syslog/journal: the socket */
	int fd;                /* -1 while closed */
	bool own_fd;           /* fd target: our non-blocking reopen of the application's fd */
	bool is_socket;        /* fd target: written with MSG_DONTWAIT */
	bool is_regular;       /* fd target: a regular file (batches need no PIPE_BUF cut) */
	/* file */
	unsigned int open_flags, mode; /* pw_output_opts: PW_OUTPUT_TRUNCATE at the first open only */
	uint64_t size, rotate_size;
	unsigned int rotate_keep;
	bool compress;
	/* syslog */
	int facility;
	char *app_name;
	char hostname[256];
	/* journal */
	char *identifier;
};

/*
 * s writes to fd from now on, its old descriptor closed (queue.c). With err
 * (a -errno from setting fd up) fd is closed instead, s keeps what it had,
 * and err is returned.
 */
int pw_target_set_fd(struct out_target *s, int fd, int err);

/* file (rotate.c) */
int pw_file_target_open(struct out_target *s);
/*
 * Lines (without their '\n') appended in order, one writev per run between
 * rotation points; failed[i] is set for each line of a run that failed.
 */
void pw_file_target_write_lines(struct out_target *s, const struct target_env *env, const struct iovec *lines,
				size_t n, bool *failed);
int pw_file_target_reopen(struct out_target *s);

/* What the writer takes from the queue at a time: one writev for byte-stream targets. */
#define PW_SINK_BATCH_LINES 256
#define PW_SINK_BATCH_BYTES (64u << 10)

/*
 * A whole buffer to a possibly non-blocking fd, waiting in slices while env
 * allows; iov is consumed (advanced in place). *done (if not NULL): the
 * bytes written, also on failure.
 */
int pw_fd_write_all(int fd, bool sock, const struct target_env *env, struct iovec *iov, int iovcnt,
		    size_t *done);
/*
 * n lines, each followed by '\n', in as few writev calls as allowed: with
 * atomic, no call carries more than PIPE_BUF bytes unless it is a single
 * line (a pipe keeps such a write whole, so another writer's bytes never
 * land inside a record). failed[i] is set for each line not written whole;
 * the first error, or 0.
 */
int pw_fd_write_lines(int fd, const struct target_env *env, const struct iovec *lines, size_t n, bool atomic,
		      bool *failed);

/* syslog (syslog.c) */
int pw_syslog_target_write(struct out_target *s, const struct target_env *env, const char *type,
			 const char *line, size_t len);
/* Format one RFC 5424 record into buf (at most cap bytes); its length, or -ENOSPC. */
ssize_t pw_syslog_format(char *buf, size_t cap, int pri, const struct timespec *now,
			 const char *hostname, const char *app_name, int pid, const char *msgid);

/* journal (journal.c) */
struct pw_jbuf {
	char *p;
	size_t len, cap;
};
/* Append a JSON line's top-level scalars as PROCWARD_* fields; their number, or -ENOMEM. */
int pw_journal_json_fields(struct pw_jbuf *b, const char *s, size_t len);
int pw_journal_target_write(struct out_target *s, const struct target_env *env, const char *type,
			  const char *line, size_t len);

/* Send one datagram on a connected AF_UNIX socket, reconnecting once if the peer went away. */
int pw_dgram_send(struct out_target *s, const struct target_env *env, const struct iovec *iov, int iovcnt);

#endif
