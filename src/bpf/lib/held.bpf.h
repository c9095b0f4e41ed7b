/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * held.bpf.h - the maps the gate object (gate.bpf.c) shares with the hold
 * watch (hold.bpf.c): user space creates them once, with the gate, and the
 * hold object reuses their fds.
 */
#ifndef PW_HELD_BPF_H
#define PW_HELD_BPF_H

#include "abi/gate.h"

/* Execs held (stopped) until user space decides: tgid -> state. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_GATE_HELD_MAX);
	__type(key, __u32);
	__type(value, struct pw_gate_held);
} gate_held SEC(".maps");

/* Execs that ran ungated (refused holds, escapes): records for user space. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} ungated SEC(".maps");

#endif /* PW_HELD_BPF_H */
