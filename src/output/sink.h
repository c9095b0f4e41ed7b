/* SPDX-License-Identifier: MIT */
/* output/sink.h - the sinks behind struct pw_output (file with rotation, fd, syslog, journal). */
#ifndef PW_OUTPUT_SINK_H
#define PW_OUTPUT_SINK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "procward.h"
#include "core/log.h"

/* What a sink may consult while it writes: give up waiting once abandon is set. */
struct pw_sink_env {
	const atomic_bool *abandon;
	const struct pw_logger *log;
	atomic_uint_fast64_t *rotations;
};

enum pw_sink_kind { PW_SINK_FILE = 1, PW_SINK_FD, PW_SINK_SYSLOG, PW_SINK_JOURNAL };

struct pw_sink {
	enum pw_sink_kind kind;
	char *path;            /* file: the log; syslog/journal: the socket */
	int fd;                /* -1 while closed */
	/* file */
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
 * Open for appending a log file procward creates: never through a symlink,
 * never a FIFO or device (a hostile pre-created path), 0600. One function,
 * so it can be swapped for a shared safe opener. fd or -errno.
 */
int pw_output_safe_open(const char *path);

/* file (rotate.c) */
int pw_file_sink_open(struct pw_sink *s);
int pw_file_sink_write(struct pw_sink *s, const struct pw_sink_env *env, const char *line, size_t len);
int pw_file_sink_reopen(struct pw_sink *s);

/* A whole buffer to a possibly non-blocking fd, waiting in slices while env allows. */
int pw_fd_write_all(int fd, const struct pw_sink_env *env, const struct iovec *iov, int iovcnt);

/* syslog (syslog.c) */
int pw_syslog_sink_write(struct pw_sink *s, const struct pw_sink_env *env, const char *type,
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
int pw_journal_sink_write(struct pw_sink *s, const struct pw_sink_env *env, const char *type,
			  const char *line, size_t len);

/* Send one datagram on a connected AF_UNIX socket, reconnecting once if the peer went away. */
int pw_dgram_send(struct pw_sink *s, const struct pw_sink_env *env, const struct iovec *iov, int iovcnt);

#endif
