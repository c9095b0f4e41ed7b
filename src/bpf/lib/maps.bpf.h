/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* maps.bpf.h - the maps and globals of the lifecycle object, shared by its helpers. */
#ifndef PW_MAPS_BPF_H
#define PW_MAPS_BPF_H

#include "abi/events.h"
#include "lib/path.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} pid_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} uid_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[PW_COMM_LEN]);
	__type(value, __u8);
} name_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PW_MAX_PATTERNS);
	__type(key, __u32);
	__type(value, struct pw_pattern_rule);
} pattern_rules SEC(".maps");

/*
 * Verdicts inherited from an ancestor (tgid -> PW_VERDICT_*). LRU so that a
 * burst of forks can never make it fail; entries are deleted at exit.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} inherited SEC(".maps");

/* Events skipped by rules, per CPU so the hot path never shares a cache line. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} filtered_count SEC(".maps");

/* Scratch space for one exec record and one path, indexed by CPU. */
struct exec_scratch {
	struct pw_raw_exec ev;
	char data[PW_EXEC_DATA_MAX + PW_ARGS_MAX]; /* slack so masked offsets stay in bounds */
	struct path_walk path;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of possible CPUs before load */
	__type(key, __u32);
	__type(value, struct exec_scratch);
} scratch SEC(".maps");

struct pw_bpf_config cfg = {};
/* Records that found no ring-buffer space, by type; atomically incremented. */
__u64 lost[PW_LOST_SLOTS] = {};

#endif
