// SPDX-License-Identifier: MIT
/*
 * decode.c - turn ring-buffer records into events. Records come from our own
 * BPF programs, but every length is still checked against the record size:
 * a mismatched object or a bug must yield an error, never an overread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "monitor/event.h"

_Static_assert(sizeof(struct pw_token) == sizeof(struct pw_raw_token), "token ABI");
_Static_assert(offsetof(struct pw_token, cgroup_id) == offsetof(struct pw_raw_token, cgroup_id),
	       "token ABI");
_Static_assert((int)PW_EVENT_PROCESS_CREATE == (int)PW_RAW_PROCESS_CREATE &&
		       (int)PW_EVENT_EXEC == (int)PW_RAW_EXEC &&
		       (int)PW_EVENT_PROCESS_EXIT == (int)PW_RAW_PROCESS_EXIT &&
		       (int)PW_EVENT_THREAD_CREATE == (int)PW_RAW_THREAD_CREATE &&
		       (int)PW_EVENT_THREAD_EXIT == (int)PW_RAW_THREAD_EXIT &&
		       (int)PW_EVENT_PROCESS_ACCESS == (int)PW_RAW_PROCESS_ACCESS &&
		       (int)PW_EVENT_THREAD_ACCESS == (int)PW_RAW_THREAD_ACCESS,
	       "event type ABI");
_Static_assert(PW_EVF_ARGS_TRUNCATED == PW_RAW_F_ARGS_TRUNCATED &&
		       PW_EVF_PATH_TRUNCATED == PW_RAW_F_PATH_TRUNCATED &&
		       PW_EVF_GROUP_EXIT == PW_RAW_F_GROUP_EXIT,
	       "event flag ABI");
_Static_assert(PW_CLONE_THREAD == PW_RAW_CLONE_THREAD && PW_CLONE_VFORK == PW_RAW_CLONE_VFORK &&
		       PW_CLONE_PARENT == PW_RAW_CLONE_PARENT && PW_CLONE_VM == PW_RAW_CLONE_VM &&
		       PW_CLONE_NEWPID == PW_RAW_CLONE_NEWPID && PW_CLONE_NEWNS == PW_RAW_CLONE_NEWNS,
	       "clone flag ABI");

_Static_assert(PW_RUSAGE_IO == PW_RAW_RU_IO && PW_RUSAGE_CHARS == PW_RAW_RU_CHARS &&
		       PW_RUSAGE_PARTIAL == PW_RAW_RU_PARTIAL,
	       "rusage flag ABI");

/*
 * cputime_adjust() (kernel/sched/cputime.c): the tick-sampled utime:stime
 * ratio scales the exact runtime, so user + system == runtime. wait4() and
 * getrusage() report exactly this (minus the monotonic clamp they keep
 * across calls, which a single reading never needs).
 */
void pw_cputime_split(uint64_t rtime, uint64_t utime, uint64_t stime, uint64_t *user,
			  uint64_t *sys)
{
	if (stime == 0) {
		*user = rtime;
		*sys = 0;
		return;
	}
	if (utime == 0) {
		*user = 0;
		*sys = rtime;
		return;
	}
	*sys = (uint64_t)((unsigned __int128)stime * rtime / ((unsigned __int128)stime + utime));
	if (*sys > rtime)
		*sys = rtime;
	*user = rtime - *sys;
}

void pw_rusage_from_raw(struct pw_rusage *ru, const struct pw_raw_exit *raw, bool thread,
			uint64_t page_size)
{
	memset(ru, 0, sizeof(*ru));
	ru->sz = sizeof(*ru);
	pw_cputime_split(raw->runtime_ns, raw->utime_raw_ns, raw->stime_raw_ns, &ru->user_ns,
		      &ru->system_ns);
	ru->cpu_ns = ru->user_ns + ru->system_ns;
	/* ru_maxrss is in KiB: pages * (PAGE_SIZE / 1024), so bytes are exact multiples. */
	ru->max_rss_bytes = raw->maxrss_pages > UINT64_MAX / page_size ? UINT64_MAX
								       : raw->maxrss_pages * page_size;
	ru->minor_faults = raw->min_flt;
	ru->major_faults = raw->maj_flt;
	ru->voluntary_switches = raw->nvcsw;
	ru->involuntary_switches = raw->nivcsw;
	ru->flags = raw->rflags & (PW_RAW_RU_IO | PW_RAW_RU_CHARS | PW_RAW_RU_PARTIAL);
	if (ru->flags & PW_RUSAGE_IO) {
		ru->read_bytes = raw->read_bytes;
		ru->write_bytes = raw->write_bytes;
	}
	if (ru->flags & PW_RUSAGE_CHARS) {
		ru->read_chars = raw->rchar;
		ru->write_chars = raw->wchar;
	}
	ru->lifetime_ns = raw->lifetime_ns;
	ru->threads = raw->threads;
	if (thread) {
		ru->flags |= PW_RUSAGE_THREAD;
		ru->max_rss_bytes = 0; /* a thread has no RSS of its own */
	} else {
		ru->children_user_ns = raw->children_utime_ns;
		ru->children_system_ns = raw->children_stime_ns;
	}
}

static uint64_t kernel_page_size(void)
{
	static uint64_t cached;
	long v;

	if (!cached) {
		v = sysconf(_SC_PAGESIZE);
		cached = v > 0 ? (uint64_t)v : 4096;
	}
	return cached;
}

int pw_split_args(const char *args, size_t len, struct pw_decode_buf *buf, size_t *argc)
{
	size_t n = 0, i, start = 0;
	int err;

	*argc = 0;
	if (!len)
		return 0;
	err = pw_array_grow((void **)&buf->args, &buf->args_cap, len + 1, 1, 16);
	if (err)
		return err;
	memcpy(buf->args, args, len);
	buf->args[len] = 0; /* a truncated last argument has no NUL of its own */
	for (i = 0; i < len; i++)
		if (!buf->args[i])
			n++;
	if (buf->args[len - 1])
		n++;
	err = pw_array_grow((void **)&buf->argv, &buf->argv_cap, n + 1, sizeof(char *), 16);
	if (err)
		return err;
	n = 0;
	for (i = 0; i <= len; i++) {
		if (i == len && start == len)
			break;
		if (!buf->args[i]) {
			buf->argv[n++] = buf->args + start;
			start = i + 1;
		}
	}
	buf->argv[n] = NULL;
	*argc = n;
	return 0;
}

void pw_decode_buf_free(struct pw_decode_buf *buf)
{
	free(buf->args);
	free(buf->argv);
	memset(buf, 0, sizeof(*buf));
}

/* A string field of `len` bytes that must end in its NUL. */
static const char *take_string(const char **cursor, size_t len)
{
	const char *s = *cursor;

	if (!len || s[len - 1] != 0 || strlen(s) != len - 1)
		return NULL;
	*cursor += len;
	return s;
}

static int decode_exec(struct pw_event *ev, const struct pw_raw_exec *raw, size_t size,
		       struct pw_decode_buf *buf)
{
	size_t tail = (size_t)raw->filename_len + raw->image_len + raw->cwd_len + raw->args_len;
	const char *cursor = raw->data;

	if (size < sizeof(*raw) || tail != size - sizeof(*raw))
		return -EBADMSG;
	ev->filename = take_string(&cursor, raw->filename_len);
	ev->image = take_string(&cursor, raw->image_len);
	ev->cwd = take_string(&cursor, raw->cwd_len);
	if (!ev->filename || !ev->image || !ev->cwd)
		return -EBADMSG;
	if (pw_split_args(cursor, raw->args_len, buf, &ev->argc))
		return -ENOMEM;
	ev->argv = ev->argc ? buf->argv : NULL;
	ev->args = buf->args;
	ev->args_len = raw->args_len;
	return 0;
}

/* The size of a fixed-size record type; 0 for EXEC (variable) and unknown types. */
static size_t fixed_size(unsigned int type)
{
	switch (type) {
	case PW_RAW_PROCESS_CREATE:
	case PW_RAW_THREAD_CREATE:
		return sizeof(struct pw_raw_clone);
	case PW_RAW_PROCESS_EXIT:
	case PW_RAW_THREAD_EXIT:
		return sizeof(struct pw_raw_exit);
	case PW_RAW_PROCESS_ACCESS:
	case PW_RAW_THREAD_ACCESS:
		return sizeof(struct pw_raw_access);
	default:
		return 0;
	}
}

int pw_event_decode(struct pw_event *ev, const void *data, size_t size, struct pw_decode_buf *buf)
{
	const struct pw_raw_header *hdr = data;

	memset(ev, 0, sizeof(*ev));
	if (size < sizeof(*hdr) || hdr->size > size)
		return -EBADMSG;
	size = hdr->size;
	ev->hdr = hdr;
	ev->type = (enum pw_event_type)hdr->type;
	ev->flags = hdr->flags;
	memcpy(ev->comm, hdr->comm, PW_COMM_LEN);
	ev->comm[PW_COMM_LEN - 1] = 0;

	/* every record type but EXEC has one exact size */
	if (hdr->type != PW_RAW_EXEC && size != fixed_size(hdr->type))
		return -EBADMSG;
	switch (hdr->type) {
	case PW_RAW_PROCESS_CREATE:
	case PW_RAW_THREAD_CREATE: {
		const struct pw_raw_clone *raw = data;

		ev->creator_pid = raw->creator_pid;
		ev->creator_tid = raw->creator_tid;
		ev->clone_flags = raw->clone_flags;
		ev->raw_clone_flags = raw->raw_clone_flags;
		return 0;
	}
	case PW_RAW_PROCESS_EXIT:
	case PW_RAW_THREAD_EXIT: {
		const struct pw_raw_exit *raw = data;

		if (size != sizeof(*raw))
			return -EBADMSG;
		ev->exit_status = raw->exit_status;
		pw_rusage_from_raw(&ev->rusage, raw, hdr->type == PW_RAW_THREAD_EXIT,
				   kernel_page_size());
		ev->has_rusage = true;
		return 0;
	}
	case PW_RAW_EXEC:
		return size < sizeof(struct pw_raw_exec) ? -EBADMSG : decode_exec(ev, data, size, buf);
	case PW_RAW_PROCESS_ACCESS: /* access operations (access.c) */
	case PW_RAW_THREAD_ACCESS: {
		const struct pw_raw_access *raw = data;

		ev->access = raw;
		memcpy(ev->target_comm, raw->target_comm, PW_COMM_LEN);
		ev->target_comm[PW_COMM_LEN - 1] = 0;
		return 0;
	}
	default:
		return -EBADMSG;
	}
}
