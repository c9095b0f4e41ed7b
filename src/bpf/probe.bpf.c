// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * probe.bpf.c - one trivial program per attach type procward may use; the
 * feature probe loads each alone to learn what this kernel allows.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_process_fork")
int BPF_PROG(probe_tp_btf, struct task_struct *parent, struct task_struct *child)
{
	return 0;
}

SEC("lsm/task_kill")
int BPF_PROG(probe_lsm, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred)
{
	return 0;
}

SEC("fentry/security_task_kill")
int BPF_PROG(probe_fentry)
{
	return 0;
}

SEC("iter/task")
int probe_task_iter(struct bpf_iter__task *ctx)
{
	return 0;
}
