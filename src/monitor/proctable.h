/* SPDX-License-Identifier: MIT */
/* proctable.h - bounded table of live processes, keyed by PID, kept from events. */
#ifndef PW_PROCTABLE_H
#define PW_PROCTABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "snapshot/process.h"

struct pw_proctable;

struct pw_proctable *pw_proctable_new(size_t max_entries);
void pw_proctable_free(struct pw_proctable *t);

/* The entry for pid, or NULL. Marks it recently used. */
struct pw_process *pw_proctable_find(struct pw_proctable *t, pid_t pid);
/*
 * The entry for pid, created empty if absent; an existing entry with
 * another start time (a reused PID) is cleared first. Evicts the least
 * recently used entry when full. NULL on ENOMEM.
 */
struct pw_process *pw_proctable_upsert(struct pw_proctable *t, pid_t pid, uint64_t start_ns);
/* Drop the entry (after its exit was delivered). */
void pw_proctable_remove(struct pw_proctable *t, pid_t pid);

size_t pw_proctable_count(const struct pw_proctable *t);
uint64_t pw_proctable_evictions(const struct pw_proctable *t);

#endif
