/* SPDX-License-Identifier: MIT */
/* event.h - the borrowed event object handed to callbacks, and its decoder. */
#ifndef PW_EVENT_H
#define PW_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "procward.h"
#include "bpf/abi/events.h"

struct pw_names;
struct pw_process;

struct pw_event {
	enum pw_event_type type;
	const struct pw_raw_header *hdr;    /* NULL for LOST */
	pid_t creator_pid, creator_tid;
	unsigned int clone_flags;
	uint64_t raw_clone_flags;
	int exit_status;
	uint64_t lost_count;
	unsigned int flags;                 /* enum pw_event_flag */
	const char *filename, *image, *cwd, *previous_image;
	const char *const *argv;
	size_t argc;
	const char *args;                   /* EXEC: the argv bytes, NUL-separated */
	size_t args_len;
	char comm[PW_COMM_LEN];             /* NUL-terminated copy */
	struct pw_names *names;             /* lazy name resolution */
	/* *_ACCESS (access.c): the record, and its target name NUL-terminated */
	const struct pw_raw_access *access;
	char target_comm[PW_COMM_LEN];
	/* *_EXIT: resource use decoded from the record (decode.c) */
	bool has_rusage;
	struct pw_rusage rusage;
	/* RESOURCE_ALERT (src/resource/alerts.c) */
	int alert_rule;
	enum pw_alert_kind alert_kind;
	uint64_t alert_value, alert_threshold;
};

/* Reusable buffers for decoding; owned by the monitor. */
struct pw_decode_buf {
	char *args;          /* NUL-terminated copy of the argv bytes */
	size_t args_cap;
	const char **argv;
	size_t argv_cap;
};

/*
 * Validate a raw record of `size` bytes from the ring buffer and fill `ev`
 * (strings point into the record or into buf). -EBADMSG for a record that
 * violates the ABI (sizes, missing NULs), -ENOMEM.
 */
int pw_event_decode(struct pw_event *ev, const void *data, size_t size, struct pw_decode_buf *buf);
void pw_decode_buf_free(struct pw_decode_buf *buf);

/*
 * Resource use of an exit record: the user/system split as the kernel's
 * cputime_adjust() makes it, the peak RSS in bytes. page_size: the
 * kernel's page size.
 */
void pw_rusage_from_raw(struct pw_rusage *ru, const struct pw_raw_exit *raw, bool thread,
			uint64_t page_size);

/* cputime_adjust(): the exact runtime split by the tick-sampled user:system ratio. */
void pw_cputime_split(uint64_t rtime, uint64_t utime, uint64_t stime, uint64_t *user,
		      uint64_t *sys);

/* Split a NUL-separated argv buffer (last NUL optional) into buf->argv. */
int pw_split_args(const char *args, size_t len, struct pw_decode_buf *buf, size_t *argc);

#endif
