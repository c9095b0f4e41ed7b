/* SPDX-License-Identifier: MIT */
/* sampler.h - internals of struct pw_sampler shared by sampler.c and alerts.c. */
#ifndef PW_SAMPLER_H
#define PW_SAMPLER_H

#include "core/fork.h"
#include <stdbool.h>
#include <stdint.h>

#include "procward.h"
#include "bpf/abi/events.h"

struct sampler_bpf;
struct bpf_link;

/* What the sampler remembers of a process between samples (sorted by pid). */
struct pw_proc_prev {
	struct pw_proc_key key;
	uint64_t cpu_ns;
	uint32_t fired;                            /* alert rules crossed and not yet re-armed */
	uint64_t above_since[PW_MAX_ALERT_RULES];  /* CLOCK_MONOTONIC ns; 0: not above */
};

/* An exit collected between samples, with copies of what the event borrowed. */
struct pw_exit_entry {
	struct pw_proc_usage u;
	struct pw_raw_token token;
	char *args;    /* owned: NUL-separated */
	const char **argv;
	char *image;
};

struct pw_alert_state {
	struct pw_alert_rule rule;
	char name[16];
};

/* One sample: live processes then exited ones; strings in `strings`. */
struct pw_sample {
	uint64_t time_ns, interval_ns, cost_ns;
	size_t tasks;
	struct pw_proc_usage *procs;
	size_t count, cap;
	struct pw_exit_entry *exits; /* the exits this sample reports (owned) */
	size_t n_exits;
	char *strings;
	size_t strings_len, strings_cap;
	const char **argvs;
	size_t argvs_len, argvs_cap;
};

struct pw_sampler {
	struct pw_sampler_opts opts;
	struct pw_monitor *mon;
	struct sampler_bpf *skel;
	struct bpf_link *iter_link;
	struct pw_fork_hook fork_hook; /* forked children give up skel and iter_link (core/fork.h) */
	bool started;
	/* exits collected since the last sample */
	struct pw_exit_entry *pending;
	size_t n_pending, cap_pending;
	uint64_t exits_dropped;
	/* the previous sample's processes, sorted by pid */
	struct pw_proc_prev *prev;
	size_t n_prev;
	/* keys reported as exited by the last sample: their zombies are not shown again */
	struct pw_proc_key *gone;
	size_t n_gone;
	uint64_t last_time_ns;
	uint64_t last_boot_ns;
	/* raw records of the last walk */
	struct pw_raw_task_sample *raw;
	size_t raw_cap;
	struct pw_sample sample;
	struct pw_alert_state alerts[PW_MAX_ALERT_RULES];
	unsigned int n_alerts;
};

/* alerts.c: evaluate every rule for one live process of the sample. */
int pw_alerts_check(struct pw_sampler *s, const struct pw_proc_usage *u,
		    const struct pw_raw_token *token, struct pw_proc_prev *prev);

#endif
