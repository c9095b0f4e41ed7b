// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * lifecycle.bpf.c - process and thread lifecycle events: clone, exec, exit.
 * BTF-typed tracepoints need neither tracefs nor trampolines, so they work
 * on kernels where fentry/LSM programs cannot load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "lib/maps.bpf.h"
#include "lib/token.bpf.h"
#include "lib/rules.bpf.h"
#include "lib/path.bpf.h"
#include "lib/rdonly.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGNAL_GROUP_EXIT_FLAG 0x00000004 /* include/linux/sched/signal.h */
/* include/uapi/linux/sched.h; vmlinux.h carries no macros */
#define CLONE_VM_FLAG 0x00000100
#define CLONE_VFORK_FLAG 0x00004000
#define CLONE_NEWNS_FLAG 0x00020000
#define CLONE_NEWPID_FLAG 0x20000000

static __always_inline bool wanted(__u32 type)
{
	return cfg.event_mask & (1u << type);
}

static __always_inline void count_lost(__u32 type)
{
	__sync_fetch_and_add(&lost[type & (PW_LOST_SLOTS - 1)], 1);
}

struct pw_comm_arg {
	char c[PW_COMM_LEN];
};

/*
 * A global function: the verifier checks it once, on its own, instead of
 * again at each of its call sites in every program, with the rule scan's
 * bpf_loop callbacks walked until they converge each time. That was most
 * of the programs' load time: pw_fork 66 -> 24-34 ms and pw_exit 56 ->
 * 28-40 ms on 6.18, a sixth of `procward top`'s start-up (issue 14).
 */
__noinline __u8 pw_effective_verdict(__u32 tgid, __u32 uid, const struct pw_comm_arg *comm)
{
	char local[PW_COMM_LEN];

	if (!comm)
		return 0;
	/* a map key must be on the stack for 6.1's verifier (not memory an argument points to) */
	__builtin_memcpy(local, comm->c, PW_COMM_LEN);
	return effective_verdict(tgid, uid, local);
}

/* Whether events caused by the current task are tracked; counts it if not. */
static __always_inline bool current_tracked(struct task_struct *task, char comm[PW_COMM_LEN])
{
	struct pw_comm_arg c;
	__u32 tgid, uid;

	if (!cfg.rule_kinds)
		return true;
	tgid = task->tgid;
	uid = task->cred->uid.val;
	__builtin_memcpy(c.c, comm, PW_COMM_LEN); /* comm may be ring-buffer memory (pw_exec) */
	if (verdict_tracks(pw_effective_verdict(tgid, uid, &c)))
		return true;
	count_filtered();
	return false;
}

static __always_inline void fill_current_token(struct pw_raw_token *tok, struct task_struct *task)
{
	fill_token(tok, task);
	tok->cgroup_id = bpf_get_current_cgroup_id();
}

/*
 * Filter first, reserve second: called once the event is wanted. A record
 * of `size` bytes with its header filled for `about` (the event's subject)
 * and the originator's token; NULL, counted as lost, when the ring is full.
 */
static __always_inline void *reserve_event(__u32 size, __u32 type, struct task_struct *about,
					   struct task_struct *task, const char comm[PW_COMM_LEN])
{
	struct pw_raw_header *hdr = bpf_ringbuf_reserve(&events, size, 0);

	if (!hdr) {
		count_lost(type);
		return NULL;
	}
	fill_identity(hdr, about);
	hdr->type = type;
	hdr->size = size;
	__builtin_memcpy(hdr->comm, comm, PW_COMM_LEN);
	fill_current_token(&hdr->token, task);
	return hdr;
}

/*
 * task_newtask runs at the end of copy_process(): the new task is fully set
 * up (pids, real_parent, start_boottime) and, unlike sched_process_fork, the
 * tracepoint carries the clone flags. current is the creating task.
 */
SEC("tp_btf/task_newtask")
int BPF_PROG(pw_fork, struct task_struct *new_task, u64 raw_flags)
{
	/* Only read here: read-only views verify without BTF searches (lib/rdonly.bpf.h). */
	struct task_struct *child = pw_rdonly(new_task, struct task_struct);
	__u32 child_pid = child->pid;
	__u32 child_tgid = child->tgid;
	bool is_thread = child_pid != child_tgid;
	__u32 type = is_thread ? PW_RAW_THREAD_CREATE : PW_RAW_PROCESS_CREATE;
	struct task_struct *task = pw_rdonly(bpf_get_current_task_btf(), struct task_struct);
	char comm[PW_COMM_LEN];
	struct pw_raw_clone *ev;
	__u32 flags = 0;

	pw_task_comm(task, comm);
	if (!is_thread && cfg.inherit && cfg.rule_kinds) {
		/* The child carries its creator's verdict (rules or inherited). */
		__u32 tgid = task->tgid;
		__u32 uid = task->cred->uid.val;
		__u8 verdict = pw_effective_verdict(tgid, uid, (const struct pw_comm_arg *)comm);

		if (verdict)
			bpf_map_update_elem(&inherited, &child_tgid, &verdict, BPF_ANY);
	}
	if (!wanted(type) || !current_tracked(task, comm))
		return 0;

	ev = reserve_event(sizeof(*ev), type, child, task, comm);
	if (!ev)
		return 0;
	ev->creator_pid = task->tgid;
	ev->creator_tid = task->pid;

	if (is_thread)
		flags |= PW_RAW_CLONE_THREAD;
	if (raw_flags & CLONE_VFORK_FLAG)
		flags |= PW_RAW_CLONE_VFORK;
	if (!is_thread && child->real_parent->tgid != ev->creator_pid)
		flags |= PW_RAW_CLONE_PARENT;
	if (raw_flags & CLONE_VM_FLAG)
		flags |= PW_RAW_CLONE_VM;
	if (raw_flags & CLONE_NEWPID_FLAG)
		flags |= PW_RAW_CLONE_NEWPID;
	if (raw_flags & CLONE_NEWNS_FLAG)
		flags |= PW_RAW_CLONE_NEWNS;
	ev->clone_flags = flags;
	ev->raw_clone_flags = raw_flags;
	ev->__pad = 0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/*
 * sched_process_exec runs after the new image is loaded: current->mm is the
 * new mm, whose argument pages were just written by the kernel, so argv is
 * read from arg_start..arg_end without the pointer races of sys_enter_execve.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(pw_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *new_bprm)
{
	/* Only read here: read-only views verify without BTF searches (lib/rdonly.bpf.h). */
	struct task_struct *task = pw_rdonly(bpf_get_current_task_btf(), struct task_struct);
	struct linux_binprm *bprm = pw_rdonly(new_bprm, struct linux_binprm);
	__u32 cpu = bpf_get_smp_processor_id(), off, len, args_max;
	unsigned long arg_start, arg_end;
	struct exec_scratch *s;
	struct pw_raw_exec *ev;
	__u32 size;

	if (!wanted(PW_RAW_EXEC))
		return 0;
	/* Tracing programs run with migration disabled: the CPU's slot is ours. */
	s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!s)
		return 0;
	ev = &s->ev;
	pw_current_comm(ev->hdr.comm);
	if (!current_tracked(task, ev->hdr.comm))
		return 0;

	fill_identity(&ev->hdr, task);
	ev->hdr.type = PW_RAW_EXEC;
	fill_current_token(&ev->hdr.token, task);
	ev->old_tid = old_pid;
	ev->argc = BPF_CORE_READ(bprm, argc);
	ev->__pad = 0;
	ev->__pad2 = 0;

	s->path.truncated = 0;
	/* filename as passed to execve */
	len = bpf_probe_read_kernel_str(s->data, PW_FILENAME_MAX, BPF_CORE_READ(bprm, filename));
	if ((int)len <= 0) {
		s->data[0] = 0;
		len = 1;
	}
	len &= (PW_FILENAME_MAX - 1) | PW_FILENAME_MAX;
	ev->filename_len = len;
	off = len;

	/* the image the kernel actually mapped (the interpreter for #! scripts) */
	{
		__u32 start = build_path(&bprm->file->f_path, &s->path);

		len = PW_PATH_MAX - start;
		len &= (PW_PATH_MAX - 1) | PW_PATH_MAX;
		bpf_probe_read_kernel(&s->data[off & (PW_FILENAME_MAX * 2 - 1)], len,
				      &s->path.buf[start]);
		ev->image_len = len;
		off += len;
	}
	/* working directory */
	{
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		__u32 start = build_path(&fs->pwd, &s->path);

		len = PW_PATH_MAX - start;
		len &= (PW_PATH_MAX - 1) | PW_PATH_MAX;
		bpf_probe_read_kernel(&s->data[off & (4 * PW_PATH_MAX - 1)], len,
				      &s->path.buf[start]);
		ev->cwd_len = len;
		off += len;
	}
	if (s->path.truncated)
		ev->hdr.flags |= PW_RAW_F_PATH_TRUNCATED;

	/* argv of the new image */
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	args_max = cfg.args_max;
	if (args_max > PW_ARGS_MAX || !args_max)
		args_max = PW_ARGS_DEFAULT;
	if (len > args_max) {
		len = args_max;
		ev->hdr.flags |= PW_RAW_F_ARGS_TRUNCATED;
	}
	len &= (PW_ARGS_MAX - 1) | PW_ARGS_MAX;
	off &= PW_ARGS_MAX - 1; /* off < 2 * PW_PATH_MAX + PW_FILENAME_MAX < PW_ARGS_MAX */
	if (len && bpf_probe_read_user(&s->data[off], len, (void *)arg_start) != 0) {
		/* Unreadable (should not happen right after exec): report no args. */
		len = 0;
		ev->hdr.flags |= PW_RAW_F_ARGS_TRUNCATED;
	}
	ev->args_len = len;

	size = sizeof(*ev) + off + len;
	if (size > sizeof(*ev) + PW_EXEC_DATA_MAX) /* cannot happen; tells the verifier */
		return 0;
	ev->hdr.size = size;
	if (bpf_ringbuf_output(&events, ev, size, 0))
		count_lost(PW_RAW_EXEC);
	return 0;
}

/* Open-coded task iterator (Linux 6.7+); weak so the object loads without it. */
extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task,
			     unsigned int flags) __weak __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __weak __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __weak __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __weak __ksym;
extern void bpf_task_release(struct task_struct *p) __weak __ksym;
#define PW_ITER_PROC_THREADS 2 /* BPF_TASK_ITER_PROC_THREADS: every thread of one process */

/* One task's own counters, as accumulate_thread_rusage() and task_cputime() read them. */
static __always_inline void add_task_usage(struct pw_raw_exit *ev, struct task_struct *t)
{
	ev->runtime_ns += t->se.sum_exec_runtime;
	ev->utime_raw_ns += t->utime;
	ev->stime_raw_ns += t->stime;
	ev->min_flt += t->min_flt;
	ev->maj_flt += t->maj_flt;
	ev->nvcsw += t->nvcsw;
	ev->nivcsw += t->nivcsw;
	if (bpf_core_field_exists(t->ioac.read_bytes)) {
		ev->read_bytes += t->ioac.read_bytes;
		ev->write_bytes += t->ioac.write_bytes;
	}
	if (bpf_core_field_exists(t->ioac.rchar)) {
		ev->rchar += t->ioac.rchar;
		ev->wchar += t->ioac.wchar;
	}
}

static __always_inline void zero_usage(struct pw_raw_exit *ev)
{
	ev->runtime_ns = ev->utime_raw_ns = ev->stime_raw_ns = 0;
	ev->min_flt = ev->maj_flt = ev->nvcsw = ev->nivcsw = 0;
	ev->read_bytes = ev->write_bytes = ev->rchar = ev->wchar = 0;
	ev->children_utime_ns = ev->children_stime_ns = 0;
	ev->maxrss_pages = 0;
	ev->rflags = 0;
	if (bpf_core_field_exists(((struct task_io_accounting *)0)->read_bytes))
		ev->rflags |= PW_RAW_RU_IO;
	if (bpf_core_field_exists(((struct task_io_accounting *)0)->rchar))
		ev->rflags |= PW_RAW_RU_CHARS;
}

/*
 * PW_BENCH_NO_EXIT_USAGE: only for bench/exitcost.py, which builds the
 * library a second time with it to measure, in one run and one tree, what
 * reading the resource use adds to the exit program. Records keep their
 * size; their usage fields are left zero.
 */

/* The exiting thread's own use (THREAD_EXIT). */
static __always_inline void fill_thread_usage(struct pw_raw_exit *ev, struct task_struct *task)
{
	zero_usage(ev);
#ifdef PW_BENCH_NO_EXIT_USAGE
	ev->threads = 0;
	ev->lifetime_ns = 0;
#else
	add_task_usage(ev, task);
	ev->threads = 1;
	ev->lifetime_ns = bpf_ktime_get_boot_ns() - task->start_boottime;
#endif
}

/*
 * The process's use at the death of its last thread, summed as
 * getrusage(RUSAGE_SELF) and thread_group_cputime() do: threads already
 * released (__exit_signal) were added to signal_struct; the others, this one
 * and any that decremented signal->live before us but are still in do_exit
 * (or a zombie leader), are still listed and are added one by one. do_exit()
 * folds the mm's hiwater into signal->maxrss before this tracepoint, in
 * every kernel order of exit_mm() and the tracepoint; the mm's own hiwater
 * is taken too where the mm is still attached.
 */
static __always_inline void fill_process_usage(struct pw_raw_exit *ev, struct task_struct *task,
						struct task_struct *trusted)
{
	struct signal_struct *sig = task->signal;
	struct mm_struct *mm = task->mm;
	__u64 maxrss;

	zero_usage(ev);
#ifdef PW_BENCH_NO_EXIT_USAGE
	ev->threads = 0;
	ev->lifetime_ns = 0;
	return;
#endif
	maxrss = sig->maxrss;
	ev->runtime_ns = sig->sum_sched_runtime;
	ev->utime_raw_ns = sig->utime;
	ev->stime_raw_ns = sig->stime;
	ev->min_flt = sig->min_flt;
	ev->maj_flt = sig->maj_flt;
	ev->nvcsw = sig->nvcsw;
	ev->nivcsw = sig->nivcsw;
	if (bpf_core_field_exists(sig->ioac.read_bytes)) {
		ev->read_bytes = sig->ioac.read_bytes;
		ev->write_bytes = sig->ioac.write_bytes;
	}
	if (bpf_core_field_exists(sig->ioac.rchar)) {
		ev->rchar = sig->ioac.rchar;
		ev->wchar = sig->ioac.wchar;
	}
	ev->children_utime_ns = sig->cutime;
	ev->children_stime_ns = sig->cstime;
	if (mm && mm->hiwater_rss > maxrss)
		maxrss = mm->hiwater_rss;
	ev->maxrss_pages = maxrss;
	ev->lifetime_ns = bpf_ktime_get_boot_ns() - task->group_leader->start_boottime;

	/* The common case, one listed thread, needs no walk. */
	if (sig->nr_threads <= 1 || !bpf_core_type_exists(struct bpf_iter_task)) {
		add_task_usage(ev, task);
		ev->threads = 1;
		if (sig->nr_threads > 1)
			ev->rflags |= PW_RAW_RU_PARTIAL;
		return;
	}
	{
		struct task_struct *leader, *t;
		struct bpf_iter_task it;
		__u32 n = 0;

		/*
		 * PROC_THREADS walks from the given thread to the end of the
		 * list without wrapping, so it starts at the leader, which
		 * heads the list (it stays listed, as a zombie if need be,
		 * until the group is reaped). group_leader is only an RCU
		 * pointer: the iterator wants a referenced one.
		 */
		leader = bpf_task_acquire(trusted->group_leader);
		if (!leader) {
			add_task_usage(ev, task);
			ev->threads = 1;
			ev->rflags |= PW_RAW_RU_PARTIAL;
			return;
		}
		bpf_iter_task_new(&it, leader, PW_ITER_PROC_THREADS);
		/*
		 * The kernel bounds the walk (the thread list); no counter is
		 * compared in the loop, so the verifier need not unroll it.
		 */
		while ((t = bpf_iter_task_next(&it))) {
			add_task_usage(ev, pw_rdonly(t, struct task_struct));
			n++;
		}
		bpf_iter_task_destroy(&it);
		bpf_task_release(leader);
		ev->threads = n;
	}
}

/*
 * sched_process_exit runs in do_exit() after signal->live was decremented,
 * so live == 0 means this is the last thread of the process.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(pw_exit, struct task_struct *p)
{
	/* current: only for the thread walk's bpf_task_acquire() */
	struct task_struct *trusted = (struct task_struct *)bpf_get_current_task_btf();
	/* everything else only reads: a view that verifies without BTF searches */
	struct task_struct *task = pw_rdonly(trusted, struct task_struct);
	__u32 pid = task->pid;
	__u32 tgid = task->tgid;
	bool group_dead = task->signal->live.counter == 0;
	char comm[PW_COMM_LEN];
	struct pw_raw_exit *ev;
	bool tracked;

	pw_task_comm(task, comm);
	tracked = current_tracked(task, comm);
	if (group_dead && cfg.inherit)
		bpf_map_delete_elem(&inherited, &tgid);

	/* A thread exit is reported for every task but the leader. */
	if (pid != tgid && wanted(PW_RAW_THREAD_EXIT) && tracked) {
		ev = reserve_event(sizeof(*ev), PW_RAW_THREAD_EXIT, task, task, comm);
		if (ev) {
			ev->exit_status = task->exit_code;
			ev->__pad = 0;
			fill_thread_usage(ev, task);
			bpf_ringbuf_submit(ev, 0);
		}
	}
	if (!group_dead || !wanted(PW_RAW_PROCESS_EXIT) || !tracked)
		return 0;

	ev = reserve_event(sizeof(*ev), PW_RAW_PROCESS_EXIT, task, task, comm);
	if (!ev)
		return 0;
	/* exit_group() and fatal signals record the status for the whole group. */
	if (task->signal->flags & SIGNAL_GROUP_EXIT_FLAG) {
		ev->exit_status = task->signal->group_exit_code;
		ev->hdr.flags |= PW_RAW_F_GROUP_EXIT;
	} else {
		ev->exit_status = task->exit_code;
	}
	ev->__pad = 0;
	fill_process_usage(ev, task, trusted);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
