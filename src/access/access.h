/* SPDX-License-Identifier: MIT */
/* access.h - access operations: the monitor's watch set, protection rules and their BPF object. */
#ifndef PW_ACCESS_H
#define PW_ACCESS_H

#include <stdbool.h>

#include "procward.h"

struct pw_monitor;
struct pw_access_state;

/* Whether pw_monitor_start() must load the access programs. */
bool pw_access_wanted(const struct pw_monitor *m);
/* Load and attach after the lifecycle object (whose ring buffer it shares). */
int pw_access_start(struct pw_monitor *m);
/* Detach and free the kernel side; the rule lists stay. */
void pw_access_stop(struct pw_monitor *m);
/* Free everything (pw_monitor_free). */
void pw_access_free(struct pw_monitor *m);

/* Counters of the access object for pw_monitor_stats(); 0 when not loaded. */
uint64_t pw_access_lost(const struct pw_monitor *m);
uint64_t pw_access_filtered(const struct pw_monitor *m);

#endif
