/* SPDX-License-Identifier: MIT */
/* monitor.h - internals of struct pw_monitor shared with the modules that extend it. */
#ifndef PW_MONITOR_H
#define PW_MONITOR_H

#include <signal.h>
#include <stdbool.h>

#include "procward.h"
#include "monitor/event.h"
#include "core/fork.h"
#include "core/log.h"
#include "monitor/rules.h"

struct lifecycle_bpf;
struct ring_buffer;
struct pw_proctable;
struct pw_names;

#define PW_RECENT_EXITS 64

struct pw_monitor {
	struct pw_monitor_opts opts;
	struct pw_logger log;
	struct pw_rules rules;
	struct lifecycle_bpf *skel;
	struct ring_buffer *rb;
	struct pw_proctable *table;
	struct pw_names *names;
	struct pw_decode_buf dbuf;
	int epfd;               /* what pw_monitor_fd() returns */
	int stopfd;             /* eventfd written by pw_monitor_stop() */
	volatile sig_atomic_t stop_requested;
	bool stop_seen;         /* dispatch returned -EINTR for a stop request */
	bool started;
	int callback_err;       /* a callback's negative return, ends consume */
	int dispatched;         /* events delivered in the current dispatch */
	int last_batch;         /* events delivered by the previous dispatch */
	uint64_t lost_seen;
	uint64_t delivered;
	char *previous_image;   /* owned for the duration of one EXEC callback */
	struct pw_proc_key recent_exits[PW_RECENT_EXITS]; /* duplicate exit reports */
	size_t recent_exit_next;
	struct pw_access_state *access; /* access operations (access.c); NULL until used */
	struct pw_decode_buf redact_buf; /* argv of the event being delivered, redacted (opts.redact) */
	char *redacted;
	char *redact_scratch;            /* argv flattened for the redactor; grows, never shrinks */
	size_t redact_scratch_cap;
	struct pw_fork_hook fork_hook;  /* forked children give up its descriptors (core/fork.h) */
};

#endif
