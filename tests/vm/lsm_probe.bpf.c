// SPDX-License-Identifier: GPL-2.0
/*
 * lsm_probe: minimal BPF LSM + tp_btf self-test for the VM harness.
 *
 *  - lsm/task_kill denies (-EPERM) any signal sent to the thread group
 *    whose tgid equals `target_tgid` (0 = nothing is protected).
 *  - tp_btf/sched_process_exec counts execs system-wide.
 *
 * Built with CO-RE against the build host's vmlinux.h; relocates on the
 * Debian 6.1 / 6.12 guest kernels.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define EPERM 1

char LICENSE[] SEC("license") = "GPL";

/* Writable globals (.bss): user space flips them through skel->bss. */
__u32 target_tgid = 0;
__u64 denied_count = 0;
__u64 exec_count = 0;

SEC("lsm/task_kill")
int BPF_PROG(pw_task_kill, struct task_struct *p, struct kernel_siginfo *info,
	     int sig, const struct cred *cred, int ret)
{
	__u32 target = target_tgid;

	if (ret != 0)		/* an earlier LSM already denied: keep its verdict */
		return ret;
	if (target == 0 || sig == 0)	/* sig 0 = existence probe, allow */
		return 0;
	if ((__u32)BPF_CORE_READ(p, tgid) != target)
		return 0;
	__sync_fetch_and_add(&denied_count, 1);
	return -EPERM;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(pw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__sync_fetch_and_add(&exec_count, 1);
	return 0;
}
