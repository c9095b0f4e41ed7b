// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sampler.bpf.c - the resource sampler's task iterator: one fixed-size
 * record per task (CPU, and for leaders RSS, state, identity and token), so
 * a sample costs one read() instead of opening /proc files per process.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "abi/events.h"
#include "lib/token.bpf.h" /* pw_task_comm */
#include "lib/rdonly.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_KTHREAD_FLAG 0x00200000 /* include/linux/sched.h */

/* Before 6.2 the RSS counters were atomics in struct mm_rss_stat. */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));
struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* get_mm_counter(): percpu_counter_read_positive(), i.e. the shared count, clamped at 0. */
static __always_inline __u64 counter_pos(__s64 v)
{
	return v > 0 ? (__u64)v : 0;
}

static __always_inline __u64 mm_rss_pages(struct mm_struct *mm)
{
	/* the ___old flavor names the kernel's struct mm_rss_stat (gone from this vmlinux.h) */
	if (bpf_core_type_exists(struct mm_rss_stat___old)) {
		struct mm_struct___old *old = (void *)mm;

		return counter_pos(BPF_CORE_READ(old, rss_stat.count[0].counter)) +
		       counter_pos(BPF_CORE_READ(old, rss_stat.count[1].counter)) +
		       counter_pos(BPF_CORE_READ(old, rss_stat.count[3].counter));
	}
	/* MM_FILEPAGES 0, MM_ANONPAGES 1, MM_SHMEMPAGES 3 (2 is swap entries) */
	return counter_pos(mm->rss_stat[0].count) + counter_pos(mm->rss_stat[1].count) +
	       counter_pos(mm->rss_stat[3].count);
}

/* Set by user space: fill the whole token (alert rules need it), not only the uid. */
__u32 want_token = 0;

/*
 * The token as fill_token() makes it, with CO-RE probe reads: slower per
 * task than direct loads, but the verifier checks every load through a
 * trusted task pointer against the kernel's BTF (a linear search per load
 * on this kernel), and this runs only while alert rules exist.
 */
static __always_inline void sample_token(struct pw_raw_token *tok, struct task_struct *task)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);
	unsigned int level;

	tok->uid = BPF_CORE_READ(cred, uid.val);
	tok->euid = BPF_CORE_READ(cred, euid.val);
	tok->suid = BPF_CORE_READ(cred, suid.val);
	tok->fsuid = BPF_CORE_READ(cred, fsuid.val);
	tok->gid = BPF_CORE_READ(cred, gid.val);
	tok->egid = BPF_CORE_READ(cred, egid.val);
	tok->sgid = BPF_CORE_READ(cred, sgid.val);
	tok->fsgid = BPF_CORE_READ(cred, fsgid.val);
	bpf_core_read(&tok->cap_effective, sizeof(tok->cap_effective), &cred->cap_effective);
	bpf_core_read(&tok->cap_permitted, sizeof(tok->cap_permitted), &cred->cap_permitted);
	if (bpf_core_field_exists(task->loginuid)) {
		tok->loginuid = BPF_CORE_READ(task, loginuid.val);
		tok->sessionid = BPF_CORE_READ(task, sessionid);
	} else {
		tok->loginuid = (__u32)-1;
		tok->sessionid = (__u32)-1;
	}
	level = BPF_CORE_READ(task, thread_pid, level);
	tok->pidns_ino = BPF_CORE_READ(task, thread_pid, numbers[level & 31].ns, ns.inum);
	tok->mntns_ino = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	tok->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
}

SEC("iter/task")
int pw_sample_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct pw_raw_task_sample r;

	if (!task)
		return 0;
	task = pw_rdonly(task, struct task_struct); /* only read: verifies without BTF searches */
	__builtin_memset(&r, 0, sizeof(r));
	r.tgid = task->tgid;
	r.tid = task->pid;
	r.runtime_ns = task->se.sum_exec_runtime;
	r.utime_ns = task->utime;
	r.stime_ns = task->stime;
	if (task->flags & PF_KTHREAD_FLAG)
		r.sflags |= PW_SAMPLE_KTHREAD;
	if (r.tgid == r.tid) {
		/* Direct loads: this runs for every process at every sample. */
		struct signal_struct *sig = task->signal;
		struct mm_struct *mm = task->mm;

		r.sflags |= PW_SAMPLE_LEADER;
		r.start_ns = task->start_boottime;
		r.nr_threads = sig->nr_threads;
		r.sig_runtime_ns = sig->sum_sched_runtime;
		r.sig_utime_ns = sig->utime;
		r.sig_stime_ns = sig->stime;
		r.ppid = task->real_parent->tgid;
		if (bpf_core_field_exists(task->__state))
			r.state = task->__state;
		r.exit_state = task->exit_state;
		if (mm) {
			r.rss_pages = mm_rss_pages(mm);
			r.sflags |= PW_SAMPLE_HAS_MM;
		}
		pw_task_comm(task, r.comm);
		if (want_token)
			sample_token(&r.token, task);
		else
			r.token.uid = task->cred->uid.val;
	}
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}
