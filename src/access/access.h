/* SPDX-License-Identifier: MIT */
/* access.h - access operations: the monitor's watch set, protection rules and their BPF object. */
#ifndef PW_ACCESS_H
#define PW_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "procward.h"

struct pw_monitor;
struct pw_access_state;
struct pw_logger;

/*
 * All access needs from the monitor that hosts it: the slot for its state,
 * the logger, the event mask, and the lifecycle ring buffer its records go
 * to. The monitor fills it (monitor.c); access.c never sees struct pw_monitor.
 */
struct pw_access_host {
	struct pw_access_state **state;
	const struct pw_logger *log;
	unsigned int events;   /* the monitor's PW_EVMASK_* */
	size_t ring_bytes;
	int ring_fd;           /* the ring buffer map's fd; -1 before pw_monitor_start() */
	bool started;
};
void pw_monitor_access_host(const struct pw_monitor *m, struct pw_access_host *host);

/* Whether pw_monitor_start() must load the access programs. */
bool pw_access_wanted(const struct pw_monitor *m);
/* Load and attach after the lifecycle object (whose ring buffer it shares). */
int pw_access_start(struct pw_monitor *m);
/* Detach and free the kernel side; the rule lists stay. */
void pw_access_stop(struct pw_monitor *m);
/* In a forked child (core/fork.h): give up the access object's descriptors. */
void pw_access_forget_in_child(struct pw_monitor *m);
/* Free everything (pw_monitor_free). */
void pw_access_free(struct pw_monitor *m);

/* Counters of the access object for pw_monitor_stats(); 0 when not loaded. */
uint64_t pw_access_lost(const struct pw_monitor *m);
uint64_t pw_access_filtered(const struct pw_monitor *m);

#endif
