/* SPDX-License-Identifier: MIT */
/*
 * gate/mounts.h - which filesystems the gate marks for exec permission
 * events: every one of its own mount namespace, at start and as mounted,
 * and those mounted in any other mount namespace as the kernel reports the
 * mount (gate.bpf.c, gate_mounts). Marking does path lookups, so it runs
 * on a thread of its own, never on the reader.
 */
#ifndef PW_GATE_MOUNTS_H
#define PW_GATE_MOUNTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct pw_gate;
struct ring_buffer;

/* A mount namespace to rescan: reported by a thread that lives in it. */
struct pw_gate_ns_report {
	uint32_t ns, tid, pid;
};

/* Superblocks by device number: a hash set (a user can make thousands; mounts.c). */
struct pw_gate_dev_set {
	dev_t *v;
	size_t n, cap;
};

struct pw_gate_marks {
	struct pw_gate_dev_set refused; /* superblocks whose mark failed: not retried */
	uint32_t self_ns;          /* inode of the gate's own mount namespace */
	struct ring_buffer *rb;    /* gate_mounts; NULL: other namespaces are not watched */
	struct pw_gate_ns_report *reports; /* this drain's namespaces, one entry each */
	size_t n_reports, cap_reports;
	pthread_t thread;
	bool have_thread;
	atomic_uint_fast64_t marked, unmarkable, marked_mounted, reported, unresolved;
	uint64_t lost_saved;       /* the kernel's mounts_lost, kept after stop */
};

/* Mark every filesystem of the gate's own namespace not marked yet. */
void pw_gate_marks_own(struct pw_gate *g);
/* The mount thread: own namespace by POLLPRI, others by the kernel's reports. 0 or -errno. */
int pw_gate_marks_start(struct pw_gate *g);
/* Join the mount thread (g->stopping is set and stop_fd written). */
void pw_gate_marks_stop(struct pw_gate *g);
/* Free what start allocated; counters stay for pw_gate_stats(). */
void pw_gate_marks_fini(struct pw_gate *g);
/* The kernel's count of mount reports it could not queue. */
uint64_t pw_gate_marks_lost(const struct pw_gate *g);

#endif /* PW_GATE_MOUNTS_H */
