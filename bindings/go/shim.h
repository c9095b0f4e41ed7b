// SPDX-License-Identifier: MIT
// shim.h - declarations of shim.c for the Go files' cgo preambles.
#ifndef PWGO_SHIM_H
#define PWGO_SHIM_H
#include <stdint.h>
#include <stdlib.h>
#include <procward.h>

void pwgo_monitor_callbacks(struct pw_monitor_opts *o, uintptr_t h, uintptr_t log_h);
void pwgo_sampler_callbacks(struct pw_sampler_opts *o, uintptr_t h, uintptr_t log_h);
void pwgo_gate_callbacks(struct pw_gate_opts *o, uintptr_t h, int handler, int decisions, uintptr_t log_h);

/* Everything an Event copies, read in one cgo call instead of one per accessor. */
struct pwgo_event {
	int type;
	unsigned int cpu;
	uint64_t time_ns;
	pid_t pid, tid, parent_pid, creator_pid, creator_tid;
	struct pw_proc_key key, parent_key;
	unsigned int clone_flags, flags;
	uint64_t clone_flags_raw, lost_count;
	int exit_status;
	const char *name, *image, *previous_image, *exec_filename, *cwd;
	size_t argc;
	const struct pw_token *token;
	const struct pw_rusage *rusage; /* exits only */
	/* access events */
	pid_t target_pid, target_tid;
	struct pw_proc_key target_key;
	const char *target_name;
	unsigned int access;
	int access_op, signal;
	int64_t access_result;
	uint64_t access_detail;
	bool access_denied;
	/* resource alerts */
	int alert_rule, alert_kind;
	uint64_t alert_value, alert_threshold;
};
void pwgo_event_read(const struct pw_event *ev, struct pwgo_event *out);
/* argv[0..n) into out; returns how many were stored */
size_t pwgo_event_args(const struct pw_event *ev, const char **out, size_t n);
#endif
