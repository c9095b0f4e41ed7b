// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * access.bpf.c - operations by which one process reaches into another
 * (ptrace, process_vm_*, /proc/PID/mem, signals, pidfds): observed at the
 * syscall tracepoints, enforced by BPF LSM where the kernel allows it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "access.bpf.h"
#include "lib/token.bpf.h"
#include "lib/verdict.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EPERM_ 1
#define PTRACE_MODE_ATTACH_ 0x02
#define O_ACCMODE_ 3
#define PIDFS_MAGIC_ 0x50494446       /* 6.9+: pidfds live on pidfs */
#define ANON_INODE_FS_MAGIC_ 0x09041934 /* before: anon inodes named "[pidfd]" */

/* Syscall numbers, for the raw_tp fallback (tracefs unavailable). */
#if defined(__TARGET_ARCH_x86)
#define NR_ptrace 101
#define NR_kill 62
#define NR_tkill 200
#define NR_tgkill 234
#define NR_openat 257
#define NR_process_vm_readv 310
#define NR_process_vm_writev 311
#elif defined(__TARGET_ARCH_arm64)
#define NR_ptrace 117
#define NR_kill 129
#define NR_tkill 130
#define NR_tgkill 131
#define NR_openat 56
#define NR_process_vm_readv 270
#define NR_process_vm_writev 271
#else
#error "syscall numbers for this architecture are missing"
#endif
#define NR_pidfd_send_signal 424
#define NR_pidfd_open 434
#define NR_pidfd_getfd 438

static __always_inline __u32 signal_access(int sig)
{
	switch (sig) {
	case 0:
		return PW_RAW_ACC_READ_INFO; /* existence/permission probe */
	case 1: case 2: case 3: case 6: case 9: case 15: /* HUP INT QUIT ABRT KILL TERM */
		return PW_RAW_ACC_TERMINATE;
	case 18: case 19: case 20: case 21: case 22: /* CONT STOP TSTP TTIN TTOU */
		return PW_RAW_ACC_SUSPEND;
	default:
		return PW_RAW_ACC_SIGNAL;
	}
}

static __always_inline __u32 ptrace_access(long request)
{
	switch (request) {
	case 1: case 2: case 3:       /* PEEKTEXT PEEKDATA PEEKUSR */
		return PW_RAW_ACC_READ_MEMORY;
	case 4: case 5: case 6:       /* POKETEXT POKEDATA POKEUSR */
		return PW_RAW_ACC_WRITE_MEMORY;
	default:                      /* ATTACH, SEIZE and every control request */
		return PW_RAW_ACC_DEBUG;
	}
}

/* ---------------------------------------------------------------- targets */

struct target {
	__u32 tgid, tid;
	bool thread_directed;
	struct pw_access_target_val *val; /* NULL: not watched (watch_all only) */
};

/*
 * Resolve a TID named by an operation to its process. Leaders are keys of
 * access_targets; other threads of watched processes are in access_threads.
 */
static __always_inline bool resolve_tid(__u32 tid, struct target *t)
{
	__u32 *tgid;

	t->tid = tid;
	t->val = bpf_map_lookup_elem(&access_targets, &tid);
	if (t->val) {
		t->tgid = tid;
		return true;
	}
	tgid = bpf_map_lookup_elem(&access_threads, &tid);
	if (tgid) {
		t->tgid = *tgid;
		t->val = bpf_map_lookup_elem(&access_targets, &t->tgid);
		if (t->val)
			return true;
	}
	/* Unknown thread: only watch_all reports it, naming the TID as the process. */
	t->tgid = tid;
	return acfg.watch_all;
}

/* The struct pid number (global) behind a pidfd of the current task; 0 if none. */
static __always_inline __u32 pidfd_target(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct file **fds, *file;
	struct pid *pid;
	unsigned long magic;
	unsigned int max;
	char name[8] = {};

	if (fd < 0)
		return 0;
	max = BPF_CORE_READ(task, files, fdt, max_fds);
	if ((unsigned int)fd >= max)
		return 0;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	magic = BPF_CORE_READ(file, f_inode, i_sb, s_magic);
	if (magic == PIDFS_MAGIC_) {
		/* pidfs keeps the struct pid in the inode (private_data is not it since 6.14) */
		pid = BPF_CORE_READ(file, f_inode, i_private);
	} else if (magic == ANON_INODE_FS_MAGIC_) {
		bpf_probe_read_kernel_str(name, sizeof(name),
					  BPF_CORE_READ(file, f_path.dentry, d_name.name));
		if (__builtin_memcmp(name, "[pidfd]", 8))
			return 0;
		pid = BPF_CORE_READ(file, private_data);
	} else {
		return 0;
	}
	return BPF_CORE_READ(pid, numbers[0].nr);
}

/* Whether the current task's operations are reported; counts it if not. */
static __always_inline bool originator_reported(__u32 tgid, __u32 uid)
{
	__u32 kinds = acfg.orig_kinds, zero = 0;
	__u64 *n;

	if (!kinds)
		return true;
	if (verdict_passes(pid_uid_verdict(&orig_pids, &orig_uids, kinds, tgid, uid), kinds))
		return true;
	n = bpf_map_lookup_elem(&access_filtered, &zero);
	if (n)
		*n += 1;
	return false;
}

static __always_inline void fill_originator(struct pw_raw_header *hdr, __u32 type)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();

	fill_identity(hdr, task);
	hdr->type = type;
	hdr->size = sizeof(struct pw_raw_access);
	pw_current_comm(hdr->comm);
	fill_token(&hdr->token, task);
	hdr->token.cgroup_id = bpf_get_current_cgroup_id();
}

static __always_inline void count_lost(__u32 type)
{
	__sync_fetch_and_add(&access_lost[type & (PW_LOST_SLOTS - 1)], 1);
}

/*
 * sys_enter side: decide (target watched? right watched? originator
 * reported?) before anything is written, then park the record by tid.
 */
static __always_inline int begin_op(struct target *t, __u32 op, __u32 access, int sig,
				    __u64 detail)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, cur_tgid = id >> 32, zero = 0, watched, uid;
	struct pw_access_target_val *v = t->val;
	struct pending_op *p;
	bool report;

	if (t->tgid == cur_tgid || !t->tgid)
		return 0; /* a process reaching into itself is not an access */
	watched = v ? v->access : acfg.all_access;
	if (acfg.watch_all)
		watched |= acfg.all_access;
	if (!(watched & access) && !(v && (v->flags & PW_TGT_PROTECTED)))
		return 0;
	uid = bpf_get_current_uid_gid();
	report = (watched & access) && originator_reported(cur_tgid, uid);

	p = bpf_map_lookup_elem(&access_scratch, &zero);
	if (!p)
		return 0;
	fill_originator(&p->ev.hdr, t->thread_directed ? PW_RAW_THREAD_ACCESS
						       : PW_RAW_PROCESS_ACCESS);
	p->ev.target_pid = t->tgid;
	p->ev.target_tid = t->tid;
	if (v) {
		p->ev.target_start_ns = v->start_ns;
		__builtin_memcpy(p->ev.target_comm, v->comm, PW_COMM_LEN);
	} else {
		p->ev.target_start_ns = 0;
		__builtin_memset(p->ev.target_comm, 0, PW_COMM_LEN);
	}
	p->ev.access = access;
	p->ev.op = op;
	p->ev.aflags = 0;
	p->ev.result = 0;
	p->ev.signal = sig;
	p->ev.__pad = 0;
	p->ev.detail = detail;
	p->report = report;
	p->checked = 0;
	bpf_map_update_elem(&pending, &tid, p, BPF_ANY);
	return 0;
}

static __always_inline void submit(struct pw_raw_access *ev)
{
	__u32 type = ev->hdr.type;

	if (!(acfg.report & (1u << (type & 31))))
		return;
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), 0))
		count_lost(type);
}

/* sys_exit side: attach the result to the parked record and send it. */
static __always_inline int end_op(long ret, __u32 op1, __u32 op2)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending_op *p = bpf_map_lookup_elem(&pending, &tid);

	if (!p)
		return 0;
	if (p->ev.op == op1 || p->ev.op == op2) {
		p->ev.result = ret;
		if (p->report || (p->ev.aflags & PW_RAW_AF_DENIED))
			submit(&p->ev);
	}
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

/* ------------------------------------------------------ syscall handlers */

static __always_inline int do_ptrace(long request, long pid)
{
	struct target t = {};

	if (request == 0 || pid <= 0) /* PTRACE_TRACEME names no target */
		return 0;
	if (!resolve_tid(pid, &t))
		return 0;
	t.thread_directed = t.tid != t.tgid;
	return begin_op(&t, PW_RAW_OP_PTRACE, ptrace_access(request), 0, request);
}

static __always_inline int do_process_vm(long pid, bool write)
{
	struct target t = {};

	if (pid <= 0 || !resolve_tid(pid, &t))
		return 0;
	t.tid = t.tgid; /* the address space is the process's */
	return begin_op(&t, write ? PW_RAW_OP_PROCESS_VM_WRITEV : PW_RAW_OP_PROCESS_VM_READV,
			write ? PW_RAW_ACC_WRITE_MEMORY : PW_RAW_ACC_READ_MEMORY, 0, 0);
}

static __always_inline int do_kill(long pid, long sig)
{
	struct target t = {};

	/* pid <= 0 signals a group: no single target (LSM denials still report). */
	if (pid <= 0 || !resolve_tid(pid, &t))
		return 0;
	t.tid = t.tgid;
	return begin_op(&t, PW_RAW_OP_KILL, signal_access(sig), sig, 0);
}

static __always_inline int do_tgkill(long tgid, long tid, long sig)
{
	struct target t = { .tgid = tgid, .tid = tid, .thread_directed = true };

	if (tgid <= 0 || tid <= 0)
		return 0;
	t.val = bpf_map_lookup_elem(&access_targets, &t.tgid);
	if (!t.val && !acfg.watch_all)
		return 0;
	return begin_op(&t, PW_RAW_OP_TGKILL, signal_access(sig), sig, 0);
}

static __always_inline int do_tkill(long tid, long sig)
{
	struct target t = {};

	if (tid <= 0 || !resolve_tid(tid, &t))
		return 0;
	t.thread_directed = true;
	return begin_op(&t, PW_RAW_OP_TKILL, signal_access(sig), sig, 0);
}

static __always_inline int do_pidfd_send_signal(long pidfd, long sig)
{
	struct target t = {};
	__u32 pid = pidfd_target(pidfd);

	if (!pid || !resolve_tid(pid, &t))
		return 0;
	t.tid = t.tgid;
	return begin_op(&t, PW_RAW_OP_PIDFD_SEND_SIGNAL, signal_access(sig), sig, 0);
}

static __always_inline int do_pidfd_open(long pid)
{
	struct target t = {};

	if (pid <= 0 || !resolve_tid(pid, &t))
		return 0;
	t.tid = t.tgid;
	return begin_op(&t, PW_RAW_OP_PIDFD_OPEN, PW_RAW_ACC_OPEN_HANDLE, 0, 0);
}

static __always_inline int do_pidfd_getfd(long pidfd, long fd)
{
	struct target t = {};
	__u32 pid = pidfd_target(pidfd);

	if (!pid || !resolve_tid(pid, &t))
		return 0;
	t.tid = t.tgid;
	return begin_op(&t, PW_RAW_OP_PIDFD_GETFD, PW_RAW_ACC_DUP_HANDLE, 0, fd);
}

/*
 * openat("/proc/<pid>/mem"): every openat on the machine passes here, so
 * the check is one 24-byte user read and a prefix compare, and only while
 * some target wants memory rights (acfg.proc_mem). Paths relative to a
 * dirfd, "/proc/self", and /proc/PID/task/TID/mem are not parsed; BPF LSM
 * still enforces them (ptrace_access_check sees every /proc/PID/mem open).
 */
static __always_inline int do_openat(const char *filename, long flags)
{
	char path[24] = {};
	struct target t = {};
	__u32 pid = 0, i, access;

	if (!acfg.proc_mem)
		return 0;
	if (bpf_probe_read_user_str(path, sizeof(path), filename) < 10)
		return 0;
	if (path[0] != '/' || path[1] != 'p' || path[2] != 'r' || path[3] != 'o' ||
	    path[4] != 'c' || path[5] != '/')
		return 0;
#pragma unroll
	for (i = 6; i < 16; i++) {
		char c = path[i];

		if (c < '0' || c > '9')
			break;
		pid = pid * 10 + (c - '0');
	}
	if (i == 6 || i > 19 || !pid)
		return 0;
	if (path[i & 31] != '/' || path[(i + 1) & 31] != 'm' || path[(i + 2) & 31] != 'e' ||
	    path[(i + 3) & 31] != 'm' || path[(i + 4) & 31] != 0)
		return 0;
	if (!resolve_tid(pid, &t))
		return 0;
	t.tid = t.tgid;
	switch (flags & O_ACCMODE_) {
	case 0: access = PW_RAW_ACC_READ_MEMORY; break;
	case 1: access = PW_RAW_ACC_WRITE_MEMORY; break;
	default: access = PW_RAW_ACC_READ_MEMORY | PW_RAW_ACC_WRITE_MEMORY; break;
	}
	return begin_op(&t, PW_RAW_OP_PROC_MEM_OPEN, access, 0, flags);
}

/*
 * Per-syscall tracepoints (preferred: they run only for these syscalls).
 * syscalls/sys_enter_* records have the layout of trace_event_raw_sys_enter.
 */
#define ARG(n) (ctx->args[n])

SEC("tracepoint/syscalls/sys_enter_ptrace")
int pw_enter_ptrace(struct trace_event_raw_sys_enter *ctx) { return do_ptrace(ARG(0), ARG(1)); }
SEC("tracepoint/syscalls/sys_exit_ptrace")
int pw_exit_ptrace(struct trace_event_raw_sys_exit *ctx) { return end_op(ctx->ret, PW_RAW_OP_PTRACE, 0); }

SEC("tracepoint/syscalls/sys_enter_process_vm_readv")
int pw_enter_vm_readv(struct trace_event_raw_sys_enter *ctx) { return do_process_vm(ARG(0), false); }
SEC("tracepoint/syscalls/sys_exit_process_vm_readv")
int pw_exit_vm_readv(struct trace_event_raw_sys_exit *ctx) { return end_op(ctx->ret, PW_RAW_OP_PROCESS_VM_READV, 0); }

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int pw_enter_vm_writev(struct trace_event_raw_sys_enter *ctx) { return do_process_vm(ARG(0), true); }
SEC("tracepoint/syscalls/sys_exit_process_vm_writev")
int pw_exit_vm_writev(struct trace_event_raw_sys_exit *ctx) { return end_op(ctx->ret, PW_RAW_OP_PROCESS_VM_WRITEV, 0); }

SEC("tracepoint/syscalls/sys_enter_kill")
int pw_enter_kill(struct trace_event_raw_sys_enter *ctx) { return do_kill(ARG(0), ARG(1)); }
SEC("tracepoint/syscalls/sys_exit_kill")
int pw_exit_kill(struct trace_event_raw_sys_exit *ctx) { return end_op(ctx->ret, PW_RAW_OP_KILL, 0); }

SEC("tracepoint/syscalls/sys_enter_tgkill")
int pw_enter_tgkill(struct trace_event_raw_sys_enter *ctx) { return do_tgkill(ARG(0), ARG(1), ARG(2)); }
SEC("tracepoint/syscalls/sys_exit_tgkill")
int pw_exit_tgkill(struct trace_event_raw_sys_exit *ctx) { return end_op(ctx->ret, PW_RAW_OP_TGKILL, 0); }

SEC("tracepoint/syscalls/sys_enter_tkill")
int pw_enter_tkill(struct trace_event_raw_sys_enter *ctx) { return do_tkill(ARG(0), ARG(1)); }
SEC("tracepoint/syscalls/sys_exit_tkill")
int pw_exit_tkill(struct trace_event_raw_sys_exit *ctx) { return end_op(ctx->ret, PW_RAW_OP_TKILL, 0); }

SEC("tracepoint/syscalls/sys_enter_pidfd_send_signal")
int pw_enter_pidfd_signal(struct trace_event_raw_sys_enter *ctx) { return do_pidfd_send_signal(ARG(0), ARG(1)); }
SEC("tracepoint/syscalls/sys_exit_pidfd_send_signal")
int pw_exit_pidfd_signal(struct trace_event_raw_sys_exit *ctx) { return end_op(ctx->ret, PW_RAW_OP_PIDFD_SEND_SIGNAL, 0); }

SEC("tracepoint/syscalls/sys_enter_pidfd_open")
int pw_enter_pidfd_open(struct trace_event_raw_sys_enter *ctx) { return do_pidfd_open(ARG(0)); }
SEC("tracepoint/syscalls/sys_exit_pidfd_open")
int pw_exit_pidfd_open(struct trace_event_raw_sys_exit *ctx) { return end_op(ctx->ret, PW_RAW_OP_PIDFD_OPEN, 0); }

SEC("tracepoint/syscalls/sys_enter_pidfd_getfd")
int pw_enter_pidfd_getfd(struct trace_event_raw_sys_enter *ctx) { return do_pidfd_getfd(ARG(0), ARG(1)); }
SEC("tracepoint/syscalls/sys_exit_pidfd_getfd")
int pw_exit_pidfd_getfd(struct trace_event_raw_sys_exit *ctx) { return end_op(ctx->ret, PW_RAW_OP_PIDFD_GETFD, 0); }

SEC("tracepoint/syscalls/sys_enter_openat")
int pw_enter_openat(struct trace_event_raw_sys_enter *ctx) { return do_openat((const char *)ARG(1), ARG(2)); }
SEC("tracepoint/syscalls/sys_exit_openat")
int pw_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	if (!acfg.proc_mem)
		return 0;
	return end_op(ctx->ret, PW_RAW_OP_PROC_MEM_OPEN, 0);
}

/*
 * Fallback when no tracefs can be had: the raw sys_enter/sys_exit
 * tracepoints run for every syscall of the machine, so the number is
 * checked first and everything else returns at once.
 */
SEC("raw_tp/sys_enter")
int BPF_PROG(pw_raw_enter, struct pt_regs *regs, long nr)
{
	switch (nr) {
	case NR_ptrace:
		return do_ptrace(PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs));
	case NR_process_vm_readv:
		return do_process_vm(PT_REGS_PARM1_CORE_SYSCALL(regs), false);
	case NR_process_vm_writev:
		return do_process_vm(PT_REGS_PARM1_CORE_SYSCALL(regs), true);
	case NR_kill:
		return do_kill(PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs));
	case NR_tgkill:
		return do_tgkill(PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs),
				 PT_REGS_PARM3_CORE_SYSCALL(regs));
	case NR_tkill:
		return do_tkill(PT_REGS_PARM1_CORE_SYSCALL(regs), PT_REGS_PARM2_CORE_SYSCALL(regs));
	case NR_pidfd_send_signal:
		return do_pidfd_send_signal(PT_REGS_PARM1_CORE_SYSCALL(regs),
					    PT_REGS_PARM2_CORE_SYSCALL(regs));
	case NR_pidfd_open:
		return do_pidfd_open(PT_REGS_PARM1_CORE_SYSCALL(regs));
	case NR_pidfd_getfd:
		return do_pidfd_getfd(PT_REGS_PARM1_CORE_SYSCALL(regs),
				      PT_REGS_PARM2_CORE_SYSCALL(regs));
	case NR_openat:
		return do_openat((const char *)PT_REGS_PARM2_CORE_SYSCALL(regs),
				 PT_REGS_PARM3_CORE_SYSCALL(regs));
	default:
		return 0;
	}
}

SEC("raw_tp/sys_exit")
int BPF_PROG(pw_raw_exit, struct pt_regs *regs, long ret)
{
#if defined(__TARGET_ARCH_x86)
	long nr = BPF_CORE_READ(regs, orig_ax);
#else
	long nr = BPF_CORE_READ(regs, syscallno);
#endif

	switch (nr) {
	case NR_ptrace: return end_op(ret, PW_RAW_OP_PTRACE, 0);
	case NR_process_vm_readv: return end_op(ret, PW_RAW_OP_PROCESS_VM_READV, 0);
	case NR_process_vm_writev: return end_op(ret, PW_RAW_OP_PROCESS_VM_WRITEV, 0);
	case NR_kill: return end_op(ret, PW_RAW_OP_KILL, 0);
	case NR_tgkill: return end_op(ret, PW_RAW_OP_TGKILL, 0);
	case NR_tkill: return end_op(ret, PW_RAW_OP_TKILL, 0);
	case NR_pidfd_send_signal: return end_op(ret, PW_RAW_OP_PIDFD_SEND_SIGNAL, 0);
	case NR_pidfd_open: return end_op(ret, PW_RAW_OP_PIDFD_OPEN, 0);
	case NR_pidfd_getfd: return end_op(ret, PW_RAW_OP_PIDFD_GETFD, 0);
	case NR_openat: return acfg.proc_mem ? end_op(ret, PW_RAW_OP_PROC_MEM_OPEN, 0) : 0;
	default: return 0;
	}
}

/* --------------------------------------------- keeping the target set current */

static __always_inline void read_comm(char comm[PW_COMM_LEN], const char *src)
{
	__builtin_memset(comm, 0, PW_COMM_LEN);
	bpf_probe_read_kernel_str(comm, PW_COMM_LEN, src);
}

static __always_inline bool comm_eq(const char *a, const char *b)
{
#pragma unroll
	for (int i = 0; i < PW_COMM_LEN; i++) {
		if (a[i] != b[i])
			return false;
		if (!a[i])
			return true;
	}
	return true;
}

/* Whether the NUL-terminated `s` is the literal `lit` (n bytes, its NUL included). */
static __always_inline bool str_is(const char *s, const char *lit, int n)
{
#pragma unroll
	for (int i = 0; i < 16; i++) {
		if (i >= n)
			break;
		if (s[i] != lit[i])
			return false;
	}
	return true;
}

/*
 * Record the cgroup v2 ancestry of a protected process: cg_ids[level] is
 * the id (kernfs node id, the directory's inode number) of its cgroup at
 * that level. Walks up through css.parent; levels past 2 * PW_CG_DEPTH are
 * not reached, and the cgroup.kill check then assumes the worst.
 */
static __always_inline void fill_cgroup(struct pw_access_target_val *v, struct task_struct *task)
{
	struct cgroup *cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	int level;

	if (!cg)
		return;
	level = BPF_CORE_READ(cg, level);
#pragma unroll
	for (int i = 0; i < PW_CG_DEPTH; i++)
		v->cg_ids[i] = 0;
	v->cg_level = level;
	for (int k = 0; k < 2 * PW_CG_DEPTH; k++) {
		int l = level - k;

		if (l < 0 || !cg)
			break;
		if (l < PW_CG_DEPTH) {
			__u32 idx = l;

			barrier_var(idx); /* keep the mask: the verifier needs the bound */
			v->cg_ids[idx & (PW_CG_DEPTH - 1)] = BPF_CORE_READ(cg, kn, id);
		}
		/* css `self` is the first member of struct cgroup */
		cg = (struct cgroup *)((void *)BPF_CORE_READ(cg, self.parent) -
				       bpf_core_field_offset(struct cgroup, self));
	}
	v->cg_known = 1;
}

/* New threads of watched processes; new processes whose name is watched. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(pw_access_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 pid = BPF_CORE_READ(child, pid), tgid = BPF_CORE_READ(child, tgid);
	struct pw_access_target_val *tmpl, val;
	char comm[PW_COMM_LEN];

	if (pid != tgid) {
		if (bpf_map_lookup_elem(&access_targets, &tgid))
			bpf_map_update_elem(&access_threads, &pid, &tgid, BPF_ANY);
		return 0;
	}
	if (acfg.n_exec_names) {
		/* A child carries the name its parent's exec gave (it has not exec'd itself). */
		__u32 ptgid = BPF_CORE_READ(parent, tgid);
		struct pw_exec_name *pe = bpf_map_lookup_elem(&exec_names, &ptgid), rec;

		if (pe && pe->start_ns == BPF_CORE_READ(parent, group_leader, start_boottime)) {
			rec = *pe;
			rec.start_ns = BPF_CORE_READ(child, start_boottime);
			bpf_map_update_elem(&exec_names, &tgid, &rec, BPF_ANY);
		}
	}
	if (!acfg.n_names)
		return 0;
	read_comm(comm, child->comm);
	tmpl = bpf_map_lookup_elem(&access_names, comm);
	if (!tmpl)
		return 0;
	val = *tmpl;
	val.start_ns = BPF_CORE_READ(child, start_boottime);
	val.flags = PW_TGT_BY_NAME | (tmpl->flags & PW_TGT_PROTECTED);
	if (val.flags & PW_TGT_PROTECTED)
		fill_cgroup(&val, child); /* clone3(CLONE_INTO_CGROUP) may differ from the parent */
	bpf_map_update_elem(&access_targets, &tgid, &val, BPF_ANY);
	return 0;
}

/*
 * task_rename runs before the new comm is copied in: exec (begin_new_exec)
 * and prctl(PR_SET_NAME)/comm writes all pass here. Only the leader's name
 * is the process's name.
 */
SEC("tp_btf/task_rename")
int BPF_PROG(pw_access_rename, struct task_struct *task, const char *newcomm)
{
	__u32 pid = BPF_CORE_READ(task, pid), tgid = BPF_CORE_READ(task, tgid);
	struct pw_access_target_val *tmpl, *cur, val;
	char comm[PW_COMM_LEN];

	if (!acfg.n_names || pid != tgid)
		return 0;
	read_comm(comm, newcomm);
	tmpl = bpf_map_lookup_elem(&access_names, comm);
	cur = bpf_map_lookup_elem(&access_targets, &tgid);
	if (tmpl) {
		val = *tmpl;
		val.start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
		val.flags = PW_TGT_BY_NAME | (tmpl->flags & PW_TGT_PROTECTED);
		if (cur && (cur->flags & PW_TGT_BY_PID)) {
			val.access |= cur->access;
			val.flags |= cur->flags;
		}
		if (val.flags & PW_TGT_PROTECTED)
			fill_cgroup(&val, task);
		bpf_map_update_elem(&access_targets, &tgid, &val, BPF_ANY);
	} else if (cur && (cur->flags & PW_TGT_BY_NAME)) {
		if (cur->flags & PW_TGT_BY_PID) {
			cur->flags &= ~PW_TGT_BY_NAME;
			__builtin_memcpy(cur->comm, comm, PW_COMM_LEN);
		} else {
			bpf_map_delete_elem(&access_targets, &tgid);
		}
	} else if (cur) {
		__builtin_memcpy(cur->comm, comm, PW_COMM_LEN);
	}
	return 0;
}

/* The name exec gives (basename of the path executed), for PW_PROT_EXEC_NAME rules. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(pw_access_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct pw_exec_name rec = {};
	__u32 tgid;

	if (!acfg.n_exec_names)
		return 0;
	tgid = BPF_CORE_READ(p, tgid);
	rec.start_ns = BPF_CORE_READ(p, group_leader, start_boottime);
	read_comm(rec.comm, p->comm);
	bpf_map_update_elem(&exec_names, &tgid, &rec, BPF_ANY);
	return 0;
}

/* A protected process moved to another cgroup: its ancestry for cgroup.kill/freeze. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(pw_access_cgroup_attach, struct cgroup *dst_cgrp, const char *path,
	     struct task_struct *task, bool threadgroup)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct pw_access_target_val *v = bpf_map_lookup_elem(&access_targets, &tgid);

	if (v && (v->flags & PW_TGT_PROTECTED))
		fill_cgroup(v, BPF_CORE_READ(task, group_leader));
	return 0;
}

/*
 * A dead process is no target: its PID may come back as another process,
 * which must inherit neither watching nor protection (the PID rule goes
 * with the process; user space keeps the rule's start time, so even a
 * stale entry could never match the next process).
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(pw_access_exit, struct task_struct *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u32 pid = BPF_CORE_READ(task, pid), tgid = BPF_CORE_READ(task, tgid);

	if (pid != tgid)
		bpf_map_delete_elem(&access_threads, &pid);
	if (BPF_CORE_READ(task, signal, live.counter) == 0) {
		bpf_map_delete_elem(&access_targets, &tgid);
		bpf_map_delete_elem(&protect_pids, &tgid);
		bpf_map_delete_elem(&exec_names, &tgid);
	}
	return 0;
}

/* Leaders only: the process's start time and cgroup ancestry, for user space. */
static __always_inline void seed_exec_name(struct task_struct *task, __u32 tgid)
{
	struct pw_exec_name rec = {};
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);

	if (!exe)
		return;
	/* A process exec'd before the rule is judged by its executable's file name. */
	bpf_probe_read_kernel_str(rec.comm, sizeof(rec.comm), BPF_CORE_READ(exe, f_path.dentry, d_name.name));
	rec.start_ns = BPF_CORE_READ(task, start_boottime);
	bpf_map_update_elem(&exec_names, &tgid, &rec, BPF_NOEXIST); /* an exec's own record wins */
}

SEC("iter/task")
int pw_access_resolve(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct pw_access_target_val *v;
	__u32 tgid;

	if (!task)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	if (BPF_CORE_READ(task, pid) != tgid)
		return 0;
	if (resolve_seed)
		seed_exec_name(task, tgid);
	if (!resolve_pid || tgid != resolve_pid)
		return 0;
	resolve_start_ns = BPF_CORE_READ(task, start_boottime);
	resolve_found = 1;
	v = bpf_map_lookup_elem(&access_targets, &tgid);
	if (v && v->start_ns == resolve_start_ns && (v->flags & PW_TGT_PROTECTED))
		fill_cgroup(v, task);
	return 0;
}

/* ------------------------------------------------------------ enforcement */

#define SIGIO_ 29
#define MAY_WRITE_ 0x2
#define PROC_SUPER_MAGIC_ 0x9fa0
#define CGROUP2_SUPER_MAGIC_ 0x63677270

static __always_inline struct pw_protect_val *protect_rule(__u32 tgid, __u64 start_ns,
							   const char comm[PW_COMM_LEN])
{
	struct pw_protect_val *r = bpf_map_lookup_elem(&protect_pids, &tgid);
	struct pw_exec_name *e;

	/* Exact key: a PID rule never applies to a later process with that PID. */
	if (r && r->start_ns == start_ns)
		return r;
	if (!acfg.n_protect_names)
		return NULL;
	r = bpf_map_lookup_elem(&protect_names, comm);
	if (!r || !(r->flags & PW_PROT_EXEC_NAME))
		return r;
	/* Only the name its exec gave it: a process that renamed itself cannot opt in. */
	e = bpf_map_lookup_elem(&exec_names, &tgid);
	if (!e || e->start_ns != start_ns || !comm_eq(e->comm, comm))
		return NULL;
	return r;
}

/* Whether the rule denies `access` to an originator with this euid and tgid. */
static __always_inline bool rule_denies_as(struct pw_protect_val *r, __u32 access, __u32 euid,
					   __u32 tgid)
{
	if (!r || !(r->deny & access))
		return false;
	if ((r->flags & PW_PROT_EXCEPT_UID) && euid == r->except_uid)
		return false;
	if ((r->flags & PW_PROT_EXCEPT_PID) && tgid == r->except_pid)
		return false;
	return true;
}

/* Whether the rule denies `access` to the current task. */
static __always_inline bool rule_denies(struct pw_protect_val *r, __u32 access)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task_btf();

	return rule_denies_as(r, access, BPF_CORE_READ(cur, cred, euid.val),
			      bpf_get_current_pid_tgid() >> 32);
}

/* A denial seen only by an LSM hook: reported from here (no syscall record to mark). */
static __always_inline void report_denial(__u32 tgid, __u32 tid, __u64 start_ns,
					  const char comm[PW_COMM_LEN], __u32 access, __u32 op,
					  int sig, __u64 detail)
{
	struct pw_raw_access *ev;

	if (!(acfg.report & (1u << PW_RAW_PROCESS_ACCESS)))
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count_lost(PW_RAW_PROCESS_ACCESS);
		return;
	}
	fill_originator(&ev->hdr, PW_RAW_PROCESS_ACCESS);
	ev->target_start_ns = start_ns;
	ev->target_pid = tgid;
	ev->target_tid = tid;
	ev->access = access;
	ev->op = op;
	ev->aflags = PW_RAW_AF_DENIED | PW_RAW_AF_NO_RESULT;
	ev->result = -EPERM_;
	ev->signal = sig;
	ev->__pad = 0;
	ev->detail = detail;
	__builtin_memcpy(ev->target_comm, comm, PW_COMM_LEN);
	bpf_ringbuf_submit(ev, 0);
}

/*
 * Called from the LSM hooks with the target task. The parked sys_enter
 * record, when it is about the same process, tells which right the call
 * needs (the hook alone cannot tell process_vm_readv from ptrace attach);
 * without one, `fallback` is used. A denial marks the parked record, whose
 * sys_exit reports it with the EPERM, or is reported from here.
 */
static __always_inline int enforce(struct task_struct *target, __u32 fallback, __u32 hook_op,
				   int sig, __u64 detail)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = BPF_CORE_READ(target, tgid), access = fallback;
	struct task_struct *leader = BPF_CORE_READ(target, group_leader);
	__u64 start_ns = BPF_CORE_READ(leader, start_boottime);
	struct pw_protect_val *r;
	struct pending_op *p;
	char comm[PW_COMM_LEN];

	if (tgid == id >> 32)
		return 0;
	read_comm(comm, leader->comm);
	r = protect_rule(tgid, start_ns, comm);
	if (!r)
		return 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p && p->ev.target_pid == tgid)
		access = p->ev.access;
	else
		p = NULL;
	if (!rule_denies(r, access))
		return 0;
	if (p) {
		p->ev.aflags |= PW_RAW_AF_DENIED;
		return -EPERM_;
	}
	report_denial(tgid, BPF_CORE_READ(target, pid), start_ns, comm, access, hook_op, sig, detail);
	return -EPERM_;
}

/*
 * ptrace_may_access(): ptrace attach, /proc/PID/mem and the other
 * PTRACE_MODE_READ files, process_vm_*, pidfd_getfd, kcmp. Not called when
 * the target is in the caller's own thread group.
 */
SEC("lsm/ptrace_access_check")
int BPF_PROG(pw_lsm_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	__u32 fallback;

	if (ret)
		return ret;
	/* Without a parked call an ATTACH check may be any of these. */
	fallback = mode & PTRACE_MODE_ATTACH_
			   ? PW_RAW_ACC_DEBUG | PW_RAW_ACC_READ_MEMORY | PW_RAW_ACC_WRITE_MEMORY |
				     PW_RAW_ACC_DUP_HANDLE
			   : PW_RAW_ACC_READ_INFO;
	return enforce(child, fallback, PW_RAW_OP_LSM_PTRACE_CHECK, 0, 0);
}

/*
 * Every user-sent signal (kill, tgkill, tkill, pidfd_send_signal, sigqueue,
 * and kill(-pgrp)/kill(-1), which check each process of the group here).
 * Not: signals the kernel sends on its own behalf (SEND_SIG_PRIV), among
 * them terminal-generated ones (^C, TIOCSIG, hangup): see procward.h.
 */
SEC("lsm/task_kill")
int BPF_PROG(pw_lsm_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	if (ret)
		return ret;
	return enforce(p, signal_access(sig), PW_RAW_OP_LSM_SIGNAL, sig, 0);
}

/*
 * SIGIO/SIGURG (or the F_SETSIG signal, SIGKILL included) to the owner of
 * an O_ASYNC file: sent by the kernel, never through task_kill. The task
 * doing the I/O is not the one that chose the owner, so the exception by
 * uid is judged on the owner-setter's euid (fown->euid) and the exception
 * by PID cannot apply. The protected process's own I/O is never refused;
 * a rule that denies `signal` refuses default SIGIO set up by anyone else.
 */
SEC("lsm/file_send_sigiotask")
int BPF_PROG(pw_lsm_sigio, struct task_struct *tsk, struct fown_struct *fown, int sig, int ret)
{
	__u32 tgid, access;
	struct task_struct *leader;
	struct pw_protect_val *r;
	int signum = sig ? sig : SIGIO_;
	char comm[PW_COMM_LEN];
	__u64 start_ns;

	if (ret)
		return ret;
	tgid = BPF_CORE_READ(tsk, tgid);
	if (tgid == bpf_get_current_pid_tgid() >> 32)
		return 0;
	leader = BPF_CORE_READ(tsk, group_leader);
	start_ns = BPF_CORE_READ(leader, start_boottime);
	read_comm(comm, leader->comm);
	r = protect_rule(tgid, start_ns, comm);
	access = signal_access(signum);
	if (!rule_denies_as(r, access, BPF_CORE_READ(fown, euid.val), 0))
		return 0;
	report_denial(tgid, BPF_CORE_READ(tsk, pid), start_ns, comm, access, PW_RAW_OP_SIGIO, signum, 0);
	return -EPERM_;
}

/*
 * prlimit(2) on another process. Lowering RLIMIT_CPU, RLIMIT_FSIZE,
 * RLIMIT_AS... kills or breaks the target, so the call needs
 * TERMINATE as well as SET_LIMITS: a rule denying either refuses it.
 */
SEC("lsm/task_setrlimit")
int BPF_PROG(pw_lsm_setrlimit, struct task_struct *p, unsigned int resource,
	     struct rlimit *new_rlim, int ret)
{
	if (ret)
		return ret;
	return enforce(p, PW_RAW_ACC_SET_LIMITS | PW_RAW_ACC_TERMINATE, PW_RAW_OP_PRLIMIT, 0,
		       resource);
}

/*
 * perf_event_open() on a task: counting reads information; sampling can
 * copy its registers and user stack (PERF_SAMPLE_REGS_USER/STACK_USER), so
 * it needs READ_MEMORY as well. Events inherited at fork are skipped: the
 * parent event was checked, and refusing here would make fork() fail.
 */
SEC("lsm/perf_event_alloc")
int BPF_PROG(pw_lsm_perf_alloc, struct perf_event *event, int ret)
{
	struct task_struct *target;
	__u64 period;
	__u32 access = PW_RAW_ACC_READ_INFO;

	if (ret)
		return ret;
	if (BPF_CORE_READ(event, parent))
		return 0;
	target = BPF_CORE_READ(event, hw.target);
	if (!target)
		return 0;
	period = BPF_CORE_READ(event, attr.sample_period);
	if (period)
		access |= PW_RAW_ACC_READ_MEMORY;
	return enforce(target, access, PW_RAW_OP_PERF_EVENT, 0, period);
}

/* The task of a /proc/PID/... inode (the thread for /proc/PID/task/TID/...), or NULL. */
static __always_inline struct task_struct *proc_inode_task(struct inode *inode)
{
	struct proc_inode *pi = (struct proc_inode *)((void *)inode -
						      bpf_core_field_offset(struct proc_inode, vfs_inode));
	struct pid *pid = BPF_CORE_READ(pi, pid);
	struct hlist_node *first;

	if (!pid)
		return NULL;
	first = BPF_CORE_READ(pid, tasks[PIDTYPE_PID].first);
	if (!first)
		return NULL;
	return (struct task_struct *)((void *)first - bpf_core_field_offset(struct task_struct, pid_links));
}

/*
 * Reopening a file of the target through /proc/PID/fd/N (or map_files/N)
 * is the same as pidfd_getfd: DUP_HANDLE. The kernel checks it with a
 * PTRACE_MODE_READ ptrace_may_access (read-info), so it is recognised here,
 * when the magic link is followed. readlink() of the link stays read-info.
 */
SEC("lsm/inode_follow_link")
int BPF_PROG(pw_lsm_follow_link, struct dentry *dentry, struct inode *inode, bool rcu, int ret)
{
	char dir[16] = {};
	struct task_struct *task;

	if (ret || !acfg.deny_dup)
		return ret;
	if (BPF_CORE_READ(inode, i_sb, s_magic) != PROC_SUPER_MAGIC_)
		return 0;
	bpf_probe_read_kernel_str(dir, sizeof(dir), BPF_CORE_READ(dentry, d_parent, d_name.name));
	if (!str_is(dir, "fd", 3) && !str_is(dir, "map_files", 10))
		return 0;
	task = proc_inode_task(inode);
	if (!task)
		return 0;
	return enforce(task, PW_RAW_ACC_DUP_HANDLE, PW_RAW_OP_PROC_FD_OPEN, 0, 0);
}

struct cg_scan {
	__u64 id;       /* the cgroup written to */
	__u32 level;
	__u32 access;   /* TERMINATE (cgroup.kill) or SUSPEND (cgroup.freeze) */
	__u32 self;     /* the writer's tgid */
	__u32 tgid;     /* out: a protected process in that cgroup's subtree */
	__u64 start_ns;
	char comm[PW_COMM_LEN];
};

static long cg_scan_step(struct bpf_map *map, __u32 *key, struct pw_access_target_val *v,
			 struct cg_scan *c)
{
	struct pw_protect_val *r;
	bool holds;

	if (!(v->flags & PW_TGT_PROTECTED) || !v->cg_known || *key == c->self)
		return 0;
	if (c->level < PW_CG_DEPTH)
		holds = c->level <= v->cg_level && v->cg_ids[c->level & (PW_CG_DEPTH - 1)] == c->id;
	else
		holds = v->cg_level >= c->level; /* deeper than recorded: assume it does */
	if (!holds)
		return 0;
	r = protect_rule(*key, v->start_ns, v->comm);
	if (!rule_denies(r, c->access))
		return 0;
	c->tgid = *key;
	c->start_ns = v->start_ns;
	__builtin_memcpy(c->comm, v->comm, PW_COMM_LEN);
	return 1;
}

/*
 * cgroup.kill kills every process of a cgroup's subtree and cgroup.freeze
 * stops them, with signals and job control the kernel sends itself (no
 * task_kill). Refused for the writer when a protected process whose rule
 * denies it (terminate / suspend-resume) is in that subtree.
 */
static __always_inline int cgroup_write(struct file *file)
{
	struct dentry *d = BPF_CORE_READ(file, f_path.dentry);
	struct cg_scan c = {};
	struct kernfs_node *kn;
	struct cgroup *cg;
	char name[16] = {};
	__u32 op;

	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(d, d_name.name));
	if (str_is(name, "cgroup.kill", 12)) {
		c.access = PW_RAW_ACC_TERMINATE;
		op = PW_RAW_OP_CGROUP_KILL;
	} else if (str_is(name, "cgroup.freeze", 14)) {
		c.access = PW_RAW_ACC_SUSPEND;
		op = PW_RAW_OP_CGROUP_FREEZE;
	} else {
		return 0;
	}
	/* The file's directory is the cgroup: its kernfs node's priv. */
	kn = BPF_CORE_READ(d, d_parent, d_inode, i_private);
	cg = BPF_CORE_READ(kn, priv);
	if (!cg)
		return 0;
	c.id = BPF_CORE_READ(cg, kn, id);
	c.level = BPF_CORE_READ(cg, level);
	c.self = bpf_get_current_pid_tgid() >> 32;
	bpf_for_each_map_elem(&access_targets, cg_scan_step, &c, 0);
	if (!c.tgid)
		return 0;
	report_denial(c.tgid, c.tgid, c.start_ns, c.comm, c.access, op, 0, c.id);
	return -EPERM_;
}

/*
 * Every read and write passes here (rw_verify_area), so it returns after
 * one global test unless some rule needs it. Two cases: an open
 * /proc/PID/mem fd (opened before the rule, or passed by another process)
 * used on a protected process, and cgroup.kill/cgroup.freeze writes.
 */
SEC("lsm/file_permission")
int BPF_PROG(pw_lsm_file_perm, struct file *file, int mask, int ret)
{
	unsigned long magic;
	char name[4] = {};
	struct task_struct *task;
	struct inode *inode;

	if (ret || (!acfg.deny_mem && !acfg.deny_cgroup))
		return ret;
	inode = BPF_CORE_READ(file, f_inode);
	magic = BPF_CORE_READ(inode, i_sb, s_magic);
	if (magic == CGROUP2_SUPER_MAGIC_)
		return acfg.deny_cgroup && (mask & MAY_WRITE_) ? cgroup_write(file) : 0;
	if (magic != PROC_SUPER_MAGIC_ || !acfg.deny_mem)
		return 0;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	if (!str_is(name, "mem", 4))
		return 0;
	task = proc_inode_task(inode);
	if (!task)
		return 0;
	return enforce(task, mask & MAY_WRITE_ ? PW_RAW_ACC_WRITE_MEMORY : PW_RAW_ACC_READ_MEMORY,
		       PW_RAW_OP_PROC_MEM_IO, 0, !!(mask & MAY_WRITE_));
}

/*
 * pidfd_open has no LSM hook of its own; the pidfd is the first (and only)
 * file it allocates, so a parked pidfd_open whose target denies opening a
 * handle is refused here. Every other file allocation returns after one
 * global test (and one lookup while some rule denies OPEN_HANDLE).
 */
SEC("lsm/file_alloc_security")
int BPF_PROG(pw_lsm_file_alloc, struct file *file, int ret)
{
	__u32 tid;
	struct pending_op *p;
	struct pw_protect_val *r;

	if (ret || !acfg.deny_open)
		return ret;
	tid = (__u32)bpf_get_current_pid_tgid();
	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p || p->ev.op != PW_RAW_OP_PIDFD_OPEN || p->checked)
		return 0;
	p->checked = 1;
	r = protect_rule(p->ev.target_pid, p->ev.target_start_ns, p->ev.target_comm);
	if (!rule_denies(r, PW_RAW_ACC_OPEN_HANDLE))
		return 0;
	p->ev.aflags |= PW_RAW_AF_DENIED;
	return -EPERM_;
}
