// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gate.bpf.c - the exec gate's kernel side: capture who execs what (argv,
 * credentials, subject scope) at execve entry, before fanotify asks user
 * space; and at sched_process_exec report (and in fail-closed mode kill)
 * execs of gated processes that fanotify never saw.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "abi/gate.h"
#include "lib/held.bpf.h" /* gate_held, ungated: hold.bpf.c kills a held process resumed early */
#include "lib/path.bpf.h"
#include "lib/token.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGKILL_NR 9
#define SIGHUP_NR 1
#define SIGSTOP_NR 19
#define AT_EMPTY_PATH_FLAG 0x1000

struct pw_gate_bpf_config gate_cfg = {};
__u64 ungated_lost = 0;
__u64 cache_hits = 0;     /* execs whose main image carried a cached allow */
__u64 tree_dropped = 0;   /* children that could not inherit subject bits: gate_tree was full */
__u64 cache_stale = 0;    /* cached allows found stale at exec (the file's ctime moved) */
__u64 mounts_lost = 0;    /* mounts in other namespaces not reported: gate_mounts was full */

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct pw_gate_meta);
} gate_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct pw_gate_argv);
} gate_argv SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct pw_gate_mark);
} gate_marks SEC(".maps");

/*
 * Images with a cached allow: user space adds an entry when it puts a
 * fanotify ignore mark on the inode, and deletes it when it removes the
 * mark. An entry the kernel made stale (a write cleared the ignore mark)
 * is harmless: fanotify asks again, and user space then deletes it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_GATE_CACHE_MAX);
	__type(key, struct pw_gate_inode);
	__type(value, struct pw_gate_ctime);
} gate_cached SEC(".maps");

/* Mounts in other mount namespaces, for the gate's mount thread (gate/mounts.c). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024);
} gate_mounts SEC(".maps");

/*
 * Namespaces reported and not rescanned yet (mount namespace inode -> the
 * latest thread that mounted there): one record per namespace however
 * fast it mounts, so one user's flood cannot crowd out another's report.
 * User space deletes the entry before it rescans.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} mounts_pending SEC(".maps");

/* Subject conditions: value = the condition bits a match sets. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} subj_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[PW_COMM_LEN]);
	__type(value, __u64);
} subj_name SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} subj_uid SEC(".maps");

/* Names whose children inherit bits (rules `by-name N children`). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[PW_COMM_LEN]);
	__type(value, __u64);
} tree_name SEC(".maps");

/* Bits a process holds through an ancestor (tgid -> bits); deleted at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} tree SEC(".maps");

/* The argv record is built here, then copied into gate_argv; slack keeps masked reads in bounds. */
struct argv_scratch {
	struct pw_gate_argv rec;
	char slack[PW_GATE_ARGS_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct argv_scratch);
} argv_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_walk);
} path_scratch SEC(".maps");

static __always_inline __u64 lookup_bits(void *map, const void *key)
{
	__u64 *v = bpf_map_lookup_elem(map, key);

	return v ? *v : 0;
}

static __always_inline __u64 subject_bits(__u32 tgid, __u32 uid, const char comm[PW_COMM_LEN])
{
	__u64 bits;

	if (!gate_cfg.have_subjects)
		return 0;
	bits = lookup_bits(&subj_pid, &tgid) | lookup_bits(&subj_uid, &uid) |
	       lookup_bits(&subj_name, comm);
	if (gate_cfg.have_trees)
		bits |= lookup_bits(&tree, &tgid);
	return bits;
}

static __always_inline bool in_scope(__u64 bits)
{
	__u32 n = gate_cfg.n_scopes;

	if (gate_cfg.scope_all)
		return true;
	for (int i = 0; i < PW_GATE_MAX_SCOPES; i++) {
		__u64 m = gate_cfg.scope_masks[i];

		if (i >= n)
			break;
		if (m && (bits & m) == m)
			return true;
	}
	return false;
}

struct argv_walk {
	struct argv_scratch *s;
	const char *const *argv;
};

/* bpf_loop callback: append argument `index`; 1 stops the walk. */
static long argv_step(__u64 index, void *ctx)
{
	struct argv_walk *w = ctx;
	struct argv_scratch *s = w->s;
	const char *arg = NULL;
	__u32 off;
	long n;

	if (!s)
		return 1;
	if (bpf_probe_read_user(&arg, sizeof(arg), &w->argv[index])) {
		s->rec.__pad |= PW_GATE_F_ARGS_TRUNCATED;
		return 1;
	}
	if (!arg)
		return 1;
	off = s->rec.args_len;
	if (off >= PW_GATE_ARGS_MAX) {
		s->rec.__pad |= PW_GATE_F_ARGS_TRUNCATED;
		return 1;
	}
	n = bpf_probe_read_user_str(&s->rec.args[off & (PW_GATE_ARGS_MAX - 1)], PW_GATE_ARGS_MAX,
				    arg);
	if (n <= 0 || off + n > PW_GATE_ARGS_MAX) {
		/* unreadable (not faulted in) or too long: keep what fits whole */
		s->rec.__pad |= PW_GATE_F_ARGS_TRUNCATED;
		return 1;
	}
	s->rec.args_len = off + n;
	s->rec.argc++;
	return 0;
}

/*
 * Runs at execve entry, in the exec'ing thread, before the kernel opens the
 * image (which is when fanotify asks user space): argv still points into the
 * old mm, so it is read here and nowhere later.
 */
static __always_inline int capture(const char *filename, const char *const *argv, __u32 flags)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct argv_walk walk;
	struct pw_gate_meta meta;
	struct argv_scratch *s;
	__u32 zero = 0, tid;
	long n;

	if (!gate_cfg.enabled)
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	/* A mark left by an earlier execve of this thread that failed must not count. */
	bpf_map_delete_elem(&gate_marks, &tid);

	__builtin_memset(&meta, 0, sizeof(meta));
	meta.exec_id = bpf_ktime_get_ns();
	meta.pid = task->tgid;
	meta.tid = tid;
	meta.ppid = task->real_parent->tgid;
	meta.start_ns = task->group_leader->start_boottime;
	meta.flags = flags;
	pw_task_comm(task, meta.comm);
	fill_token(&meta.token, task);
	meta.token.cgroup_id = bpf_get_current_cgroup_id();
	meta.subject_bits = subject_bits(meta.pid, meta.token.uid, meta.comm);
	meta.filename_ptr = (__u64)filename;
	meta.argv_ptr = (__u64)argv;

	s = gate_cfg.capture_argv ? bpf_map_lookup_elem(&argv_scratch, &zero) : NULL;
	if (s) {
		s->rec.exec_id = meta.exec_id;
		s->rec.argc = 0;
		s->rec.args_len = 0;
		s->rec.__pad = 0;
		n = bpf_probe_read_user_str(s->rec.filename, sizeof(s->rec.filename), filename);
		if (n <= 0) {
			s->rec.filename[0] = 0;
			n = 1;
		} else if (n == sizeof(s->rec.filename)) {
			meta.flags |= PW_GATE_F_FILENAME_TRUNCATED;
		}
		s->rec.filename_len = n;
		walk.s = s;
		walk.argv = argv;
		bpf_loop(PW_GATE_ARGV_SLOTS, argv_step, &walk, 0);
		meta.flags |= s->rec.__pad | PW_GATE_F_ARGS_COPIED; /* and truncation found by the walk */
		bpf_map_update_elem(&gate_argv, &tid, &s->rec, BPF_ANY);
	}
	bpf_map_update_elem(&gate_meta, &tid, &meta, BPF_ANY);
	return 0;
}

/* Preferred: fires for execve/execveat only (needs tracefs to attach). */
SEC("tracepoint/syscalls/sys_enter_execve")
int pw_gate_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return capture((const char *)ctx->args[0], (const char *const *)ctx->args[1], 0);
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int pw_gate_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return capture((const char *)ctx->args[1], (const char *const *)ctx->args[2],
		       PW_GATE_F_EXECVEAT);
}

/* The exec syscall numbers of the target architecture (no others: the fallback stays off there). */
#if defined(__TARGET_ARCH_x86)
#define PW_NR_EXECVE 59
#define PW_NR_EXECVEAT 322
#elif defined(__TARGET_ARCH_arm64)
#define PW_NR_EXECVE 221
#define PW_NR_EXECVEAT 281
#endif

/* Fallback without tracefs: every syscall entry, filtered by number at once. */
SEC("tp_btf/sys_enter")
int BPF_PROG(pw_gate_sys_enter, struct pt_regs *regs, long id)
{
#ifdef PW_NR_EXECVE
	if (id == PW_NR_EXECVE)
		return capture((const char *)PT_REGS_PARM1_CORE_SYSCALL(regs),
			       (const char *const *)PT_REGS_PARM2_CORE_SYSCALL(regs), 0);
	if (id == PW_NR_EXECVEAT)
		return capture((const char *)PT_REGS_PARM2_CORE_SYSCALL(regs),
			       (const char *const *)PT_REGS_PARM3_CORE_SYSCALL(regs),
			       PW_GATE_F_EXECVEAT);
#endif
	return 0;
}

/* The path of the exec'd file into rec->image (for memfd: its dentry name). */
static __always_inline void fill_image(struct pw_gate_ungated *rec, struct file *file)
{
	struct path_walk *w;
	__u32 zero = 0, start, len;

	rec->image[0] = 0;
	rec->image_len = 1;
	w = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!w)
		return;
	w->truncated = 0;
	start = build_path(&file->f_path, w);
	len = PW_PATH_MAX - start;
	len &= (PW_PATH_MAX - 1) | PW_PATH_MAX;
	bpf_probe_read_kernel(rec->image, len, &w->buf[start]);
	rec->image_len = len;
	if (len <= 2) /* an internal mount (memfd): its dentry name says more */
		rec->image_len = bpf_probe_read_kernel_str(rec->image, PW_PATH_MAX,
							   BPF_CORE_READ(file, f_path.dentry, d_name.name));
}

/* The inode's ctime, across the three layouts since 5.x (CO-RE picks one at load). */
struct inode___v66 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___v51 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

static __always_inline void inode_ctime(struct inode *inode, struct pw_gate_ctime *out)
{
	if (bpf_core_field_exists(inode->i_ctime_sec)) {
		out->sec = BPF_CORE_READ(inode, i_ctime_sec);
		/* bit 31 is I_CTIME_QUERIED (multigrain timestamps, 6.13+), not time */
		out->nsec = BPF_CORE_READ(inode, i_ctime_nsec) & 0x7fffffff;
	} else if (bpf_core_field_exists(((struct inode___v66 *)inode)->__i_ctime)) {
		out->sec = BPF_CORE_READ((struct inode___v66 *)inode, __i_ctime.tv_sec);
		out->nsec = BPF_CORE_READ((struct inode___v66 *)inode, __i_ctime.tv_nsec);
	} else {
		out->sec = BPF_CORE_READ((struct inode___v51 *)inode, i_ctime.tv_sec);
		out->nsec = BPF_CORE_READ((struct inode___v51 *)inode, i_ctime.tv_nsec);
	}
}

/* SIGHUP ignored or blocked: see hold() for why such a process is not held. */
static __always_inline bool sighup_disarmed(struct task_struct *task)
{
	unsigned long handler = (unsigned long)BPF_CORE_READ(task, sighand, action[SIGHUP_NR - 1].sa.sa_handler);
	unsigned long blocked = BPF_CORE_READ(task, blocked.sig[0]);

	return handler == 1 /* SIG_IGN */ || (blocked & (1ul << (SIGHUP_NR - 1)));
}

/*
 * Hold an exec nobody judged: the caller is in sched_process_exec, in the
 * exec'ing task, with interrupts on, so the SIGSTOP is queued before this
 * returns and is acted on when the task leaves the kernel: not one
 * instruction of the new image runs before the stop. A stop is no hold
 * against the process's owner, who may SIGCONT it or resume it with
 * ptrace; hold.bpf.c kills a held process that is continued or attached
 * before its verdict (gate_held state WAITING). Processes where that watch
 * cannot work are killed here instead (fail closed):
 *  - traced already: the tracer sees the SIGSTOP first and may swallow it;
 *  - SIGHUP ignored or blocked: the kernel itself sends SIGHUP + SIGCONT
 *    when a stopped job's process group is orphaned or its terminal hangs
 *    up, from contexts (an exiting task, a kworker) where BPF cannot signal
 *    another task; with SIGHUP armed, that SIGHUP kills the process first;
 *  - gate_held is full (PW_GATE_HELD_MAX held at once).
 * Returns the PW_GATE_HOLD_* record value.
 */
static __always_inline __u32 hold(struct task_struct *task, __u32 tgid)
{
	struct pw_gate_held h = {};

	if (gate_cfg.hold_mode != PW_GATE_HOLD_MODE_HOLD) {
		bpf_send_signal(SIGKILL_NR);
		return PW_GATE_HOLD_KILLED | PW_GATE_HOLD_F_NOWATCH;
	}
	if (BPF_CORE_READ(task, ptrace)) {
		bpf_send_signal(SIGKILL_NR);
		return PW_GATE_HOLD_KILLED | PW_GATE_HOLD_F_TRACED;
	}
	if (sighup_disarmed(task)) {
		bpf_send_signal(SIGKILL_NR);
		return PW_GATE_HOLD_KILLED | PW_GATE_HOLD_F_SIGHUP;
	}
	h.start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	h.state = PW_GATE_HELD_WAITING;
	h.held_ns = bpf_ktime_get_ns();
	/* The entry first: the watch must know the process before anything can resume it. */
	if (bpf_map_update_elem(&gate_held, &tgid, &h, BPF_ANY)) {
		bpf_send_signal(SIGKILL_NR);
		return PW_GATE_HOLD_KILLED | PW_GATE_HOLD_F_FULL;
	}
	if (bpf_send_signal(SIGSTOP_NR)) {
		bpf_map_delete_elem(&gate_held, &tgid);
		bpf_send_signal(SIGKILL_NR);
		return PW_GATE_HOLD_KILLED;
	}
	return PW_GATE_HOLD_STOPPED;
}

/*
 * sched_process_exec runs after the point of no return and before the new
 * image's first instruction, in the exec'ing task: a SIGKILL sent here is
 * delivered on the way back to user space, so nothing of the image runs.
 *
 * Whether fanotify saw the exec: user space marks the TID with the inode of
 * the first exec-open it allowed. For an ELF, that is bprm->file. For a
 * script bprm->file is the final interpreter, so the mark must name another
 * file (the script); if it names the interpreter itself, only the
 * interpreter was seen and the script was not (a memfd script).
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(pw_gate_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct pw_gate_inode key = {};
	struct pw_gate_ctime *cached_ctime, now;
	struct pw_gate_ungated *rec;
	struct pw_gate_mark *mark;
	struct pw_gate_meta *meta;
	__u32 old_tid = old_pid, tgid, uid, held = PW_GATE_HOLD_NONE, stale = 0;
	__u64 bits;
	bool gated = false, script, cached = false, killed = false;

	if (!gate_cfg.enabled)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	key.ino = BPF_CORE_READ(bprm, file, f_inode, i_ino);
	key.dev = BPF_CORE_READ(bprm, file, f_inode, i_sb, s_dev);
	script = BPF_CORE_READ(bprm, interp) != BPF_CORE_READ(bprm, filename);
	mark = bpf_map_lookup_elem(&gate_marks, &old_tid);
	if (mark) {
		bool same = mark->ino == key.ino && mark->dev == key.dev;

		gated = script ? !same : same;
		bpf_map_delete_elem(&gate_marks, &old_tid);
	}
	/*
	 * An image with a cached allow was judged when its verdict was cached;
	 * fanotify stays silent about it. Scripts are never cached (user space
	 * refuses), so for a script bprm->file is an interpreter and says
	 * nothing about whether the script was judged. The allow holds only
	 * for the file as it was: a write that fanotify does not see (through
	 * a shared writable mapping) keeps the ignore mark but moves the ctime
	 * on filesystems that update it on mmap writes; user space caches only
	 * files nobody but root can write (see cache.c).
	 */
	if (!script && (cached_ctime = bpf_map_lookup_elem(&gate_cached, &key))) {
		inode_ctime(BPF_CORE_READ(bprm, file, f_inode), &now);
		if (now.sec == cached_ctime->sec && now.nsec == cached_ctime->nsec) {
			__sync_fetch_and_add(&cache_hits, 1);
			cached = !gated;
			gated = true;
		} else if (!gated) {
			__sync_fetch_and_add(&cache_stale, 1);
			stale = PW_GATE_HOLD_F_STALE;
		}
	}
	if (tgid == gate_cfg.self_pid || (gated && !(cached && gate_cfg.report_cached)))
		return 0;

	uid = BPF_CORE_READ(task, cred, uid.val);
	meta = bpf_map_lookup_elem(&gate_meta, &old_tid);
	if (!cached) {
		/*
		 * Only an execve that entered after every filesystem was marked can be
		 * judged (one that opened its image earlier was never asked about);
		 * kernel-started execs (no syscall entry) are not judged either.
		 */
		if (!meta || meta->pid != tgid || !gate_cfg.armed_ns ||
		    meta->exec_id < gate_cfg.armed_ns)
			return 0;
		bits = meta->subject_bits; /* the subject as it was before the exec */
		if (!in_scope(bits))
			return 0;
		if (gate_cfg.fail_closed) {
			bpf_send_signal(SIGKILL_NR);
			killed = true;
		} else if (gate_cfg.hold_mode != PW_GATE_HOLD_MODE_REPORT || stale) {
			held = hold(task, tgid) | stale;
			killed = (held & PW_GATE_HOLD_KIND) == PW_GATE_HOLD_KILLED;
		}
	}
	rec = bpf_ringbuf_reserve(&ungated, sizeof(*rec), 0);
	if (!rec) {
		__sync_fetch_and_add(&ungated_lost, 1);
		/* a held exec nobody will hear of would stay stopped: kill it instead */
		if ((held & PW_GATE_HOLD_KIND) == PW_GATE_HOLD_STOPPED) {
			bpf_map_delete_elem(&gate_held, &tgid);
			bpf_send_signal(SIGKILL_NR);
		}
		return 0;
	}
	rec->ts_ns = bpf_ktime_get_ns();
	rec->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	rec->ino = key.ino;
	rec->dev = key.dev;
	rec->pid = tgid;
	rec->tid = old_tid;
	rec->uid = uid;
	rec->killed = killed;
	rec->cached = cached;
	rec->hold = held;
	if (meta && meta->pid == tgid)
		__builtin_memcpy(rec->comm, meta->comm, PW_COMM_LEN);
	else
		__builtin_memset(rec->comm, 0, PW_COMM_LEN);
	fill_image(rec, BPF_CORE_READ(bprm, file));
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

/* Children inherit the subject bits of rules with `children`. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(pw_gate_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 child_tgid, parent_tgid;
	char comm[PW_COMM_LEN];
	__u64 bits;

	if (!gate_cfg.enabled || !gate_cfg.have_trees)
		return 0;
	child_tgid = BPF_CORE_READ(child, tgid);
	if (BPF_CORE_READ(child, pid) != child_tgid)
		return 0; /* a thread */
	parent_tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	pw_current_comm(comm);
	bits = lookup_bits(&tree, &parent_tgid) | lookup_bits(&tree_name, comm);
	/* A child that cannot inherit is out of scope: never silently (counted, reported). */
	if (bits && bpf_map_update_elem(&tree, &child_tgid, &bits, BPF_ANY))
		__sync_fetch_and_add(&tree_dropped, 1);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(pw_gate_exit, struct task_struct *p)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 tgid;

	/*
	 * A thread's execve records end with it. Left in the LRU, a later task
	 * under the reused tid that makes none of its own (a kernel helper,
	 * exec'd without an execve entry) would be joined to them: another
	 * owner's uid, name and argv, and taken for that exec's interpreter.
	 */
	bpf_map_delete_elem(&gate_meta, &tid);
	if (gate_cfg.capture_argv)
		bpf_map_delete_elem(&gate_argv, &tid);
	if ((!gate_cfg.have_trees && gate_cfg.hold_mode != PW_GATE_HOLD_MODE_HOLD) ||
	    BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	if (gate_cfg.have_trees)
		bpf_map_delete_elem(&tree, &tgid);
	if (gate_cfg.hold_mode == PW_GATE_HOLD_MODE_HOLD)
		bpf_map_delete_elem(&gate_held, &tgid); /* a held process that died (killed) */
	return 0;
}

/*
 * A mount that may have brought a new filesystem into another mount
 * namespace (a container's, an `unshare -m` user's): the gate marks only
 * what it can see, so it is told. Its own namespace's mounts it sees on
 * /proc/self/mountinfo. An exec from the new filesystem before user space
 * marked it is still held (or killed) at exec: this only makes that rare.
 */
static __always_inline int report_mount(long ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct pw_gate_mount *m;
	__u64 pid_tgid;
	__u32 ns, tid;

	if (ret != 0 || !gate_cfg.enabled)
		return 0;
	ns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	if (ns == gate_cfg.self_mnt_ns)
		return 0;
	pid_tgid = bpf_get_current_pid_tgid();
	tid = (__u32)pid_tgid;
	if (bpf_map_update_elem(&mounts_pending, &ns, &tid, BPF_NOEXIST)) {
		/* pending already: the rescan to come sees this mount too */
		bpf_map_update_elem(&mounts_pending, &ns, &tid, BPF_EXIST);
		return 0;
	}
	m = bpf_ringbuf_reserve(&gate_mounts, sizeof(*m), 0);
	if (!m) {
		bpf_map_delete_elem(&mounts_pending, &ns); /* so that its next mount reports again */
		__sync_fetch_and_add(&mounts_lost, 1);
		return 0;
	}
	m->pid = (__u32)(pid_tgid >> 32);
	m->tid = (__u32)pid_tgid;
	m->mnt_ns = ns;
	m->__pad = 0;
	bpf_ringbuf_submit(m, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mount")
int pw_gate_exit_mount(struct trace_event_raw_sys_exit *ctx)
{
	return report_mount(ctx->ret);
}

/* fsmount(2) makes a detached mount; move_mount(2) attaches it (and moves others). */
SEC("tracepoint/syscalls/sys_exit_move_mount")
int pw_gate_exit_move_mount(struct trace_event_raw_sys_exit *ctx)
{
	return report_mount(ctx->ret);
}
