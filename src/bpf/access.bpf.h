/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* access.bpf.h - maps and globals of the access object (src/bpf/access.bpf.c). */
#ifndef PW_ACCESS_BPF_H
#define PW_ACCESS_BPF_H

#include "abi/events.h"

/*
 * The lifecycle object's ring buffer: user space points this map at it with
 * bpf_map__reuse_fd() before load, so one consumer sees every record in order.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* Watched target processes: tgid -> what to report about accesses to them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pw_access_target_val);
} access_targets SEC(".maps");

/*
 * Threads (other than the leader) of watched processes: tid -> tgid, so an
 * operation naming a TID finds its process. LRU: a thread storm in a watched
 * process can never make an update fail.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} access_threads SEC(".maps");

/* Watched process names (comm of the thread-group leader) -> target template. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[PW_COMM_LEN]);
	__type(value, struct pw_access_target_val);
} access_names SEC(".maps");

/* Protection rules by tgid and by leader name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct pw_protect_val);
} protect_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[PW_COMM_LEN]);
	__type(value, struct pw_protect_val);
} protect_names SEC(".maps");

/* Originator rules: tgid or uid -> PW_VERDICT_INCLUDE / PW_VERDICT_EXCLUDE. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} orig_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} orig_uids SEC(".maps");

/* An operation between sys_enter and sys_exit, by tid. */
struct pending_op {
	struct pw_raw_access ev;
	__u32 report;   /* the originator passed its filter and the right is watched */
	__u32 checked;  /* file_alloc_security already decided for this pidfd_open */
};

/*
 * LRU: an entry whose sys_exit never comes (the thread was killed in the
 * call) ages out instead of filling the map; exit matches the op, so a stale
 * entry is never reported as another call's result.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct pending_op);
} pending SEC(".maps");

/* Where sys_enter builds a record: it is too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pending_op);
} access_scratch SEC(".maps");

/* Operations on watched targets skipped by originator rules. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} access_filtered SEC(".maps");

/*
 * The name each process got from its last exec, by tgid (recorded while a
 * name rule asks for it: PW_PROT_EXEC_NAME), so a process that renamed
 * itself (prctl(PR_SET_NAME), /proc/PID/comm) is told apart. LRU: entries
 * are deleted at exit, and a storm of execs can never make an update fail.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pw_exec_name);
} exec_names SEC(".maps");

struct pw_access_config acfg = {};

/*
 * The task iterator (pw_access_resolve) reads these: user space sets
 * resolve_pid (a leader's PID) or resolve_seed, runs the iterator, and
 * reads resolve_found/resolve_start_ns. One resolution at a time (the
 * monitor's thread).
 */
__u32 resolve_pid = 0;
__u32 resolve_seed = 0;     /* record exec names of processes that have none */
__u32 resolve_found = 0;
__u64 resolve_start_ns = 0;
/* Records that found no ring-buffer space, by type; atomically incremented. */
__u64 access_lost[PW_LOST_SLOTS] = {};

#endif
