/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* token.bpf.h - fill the originator's credentials ("security token") and task identity. */
#ifndef PW_TOKEN_BPF_H
#define PW_TOKEN_BPF_H

#include "events.h"

/*
 * kernel_cap_t was {u32 cap[2]} before 6.3 and {u64 val} since; both are 8
 * bytes, and on little-endian the u32 pair reads as the same u64.
 */
static __always_inline __u64 read_caps(const kernel_cap_t *caps)
{
	__u64 v = 0;

	bpf_core_read(&v, sizeof(v), caps);
	return v;
}

static __always_inline __u32 task_pidns_ino(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);

	return BPF_CORE_READ(pid, numbers[level & 31].ns, ns.inum);
}

/*
 * `task` must be a BTF pointer (bpf_get_current_task_btf() or a tp_btf
 * argument): fields are loaded directly, with CO-RE relocations and the
 * verifier's fault handling, instead of one bpf_probe_read call each. On
 * this project's VM that halves the cost of a lifecycle event.
 */
static __always_inline void fill_token(struct pw_raw_token *tok, struct task_struct *task)
{
	const struct cred *cred = task->cred;

	tok->uid = cred->uid.val;
	tok->euid = cred->euid.val;
	tok->suid = cred->suid.val;
	tok->fsuid = cred->fsuid.val;
	tok->gid = cred->gid.val;
	tok->egid = cred->egid.val;
	tok->sgid = cred->sgid.val;
	tok->fsgid = cred->fsgid.val;
	tok->cap_effective = read_caps(&cred->cap_effective);
	tok->cap_permitted = read_caps(&cred->cap_permitted);
	/* loginuid/sessionid exist only with CONFIG_AUDIT. */
	if (bpf_core_field_exists(task->loginuid)) {
		tok->loginuid = task->loginuid.val;
		tok->sessionid = task->sessionid;
	} else {
		tok->loginuid = (__u32)-1;
		tok->sessionid = (__u32)-1;
	}
	tok->pidns_ino = task_pidns_ino(task);
	tok->mntns_ino = task->nsproxy->mnt_ns->ns.inum;
	tok->cgroup_id = 0; /* filled by the caller where it is the current task */
}

/*
 * The current task's comm, zero-padded. Before Linux 6.x bpf_get_current_comm
 * did not pad (strscpy), leaving stack garbage after the NUL: names used as
 * hash keys then never matched, and stale bytes leaked into events.
 */
static __always_inline void pw_current_comm(char comm[PW_COMM_LEN])
{
	__builtin_memset(comm, 0, PW_COMM_LEN);
	bpf_get_current_comm(comm, PW_COMM_LEN);
}

/* Fill the identity part of a header for `task` (a BTF pointer: the subject of the event). */
static __always_inline void fill_identity(struct pw_raw_header *hdr, struct task_struct *task)
{
	struct task_struct *parent = task->real_parent;

	hdr->pid = task->tgid;
	hdr->tid = task->pid;
	hdr->start_ns = task->group_leader->start_boottime;
	hdr->ppid = parent->tgid;
	hdr->parent_start_ns = parent->group_leader->start_boottime;
	hdr->ts_ns = bpf_ktime_get_ns();
	hdr->cpu = bpf_get_smp_processor_id();
	hdr->flags = 0;
}

#endif
