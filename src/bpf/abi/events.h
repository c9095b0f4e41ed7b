/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * events.h - the event ABI shared by the BPF programs and the user side:
 * fixed-width fields, no pointers, variable tails described by lengths.
 * Included by both sides; nothing here may depend on kernel or libc headers.
 */
#ifndef PW_BPF_EVENTS_H
#define PW_BPF_EVENTS_H

#ifndef __VMLINUX_H__ /* the BPF side gets the __u32 family from vmlinux.h */
#include <linux/types.h>
#endif

#define PW_COMM_LEN 16
#define PW_FILENAME_MAX 512   /* execve filename argument as passed */
#define PW_PATH_MAX 1024      /* resolved image / cwd paths; power of two */
#define PW_PATH_DEPTH 40      /* dentry levels walked before the path is cut */
#define PW_ARGS_MAX 16384     /* hard upper bound of argv bytes captured; power of two */
#define PW_ARGS_DEFAULT 4096

/* Record types: the numeric values equal enum pw_event_type. */
enum pw_raw_type {
	PW_RAW_PROCESS_CREATE = 1,
	PW_RAW_EXEC = 2,
	PW_RAW_PROCESS_EXIT = 3,
	PW_RAW_THREAD_CREATE = 4,
	PW_RAW_THREAD_EXIT = 5,
	/* access operations (src/bpf/access.bpf.c); 6 is PW_EVENT_LOST, never a record */
	PW_RAW_PROCESS_ACCESS = 7,
	PW_RAW_THREAD_ACCESS = 8,
	PW_RAW_TYPE_MAX = 16,
};

/* pw_raw_header.flags; values equal enum pw_event_flag / pw_clone_flag. */
#define PW_RAW_F_ARGS_TRUNCATED (1u << 0)
#define PW_RAW_F_PATH_TRUNCATED (1u << 1)
#define PW_RAW_F_GROUP_EXIT (1u << 3)

#define PW_RAW_CLONE_THREAD (1u << 0)
#define PW_RAW_CLONE_VFORK (1u << 1)
#define PW_RAW_CLONE_PARENT (1u << 2)
#define PW_RAW_CLONE_VM (1u << 3)
#define PW_RAW_CLONE_NEWPID (1u << 4)
#define PW_RAW_CLONE_NEWNS (1u << 5)

/* Same layout as struct pw_token in procward.h (checked by the user side). */
struct pw_raw_token {
	__u32 uid, euid, suid, fsuid;
	__u32 gid, egid, sgid, fsgid;
	__u64 cap_effective, cap_permitted;
	__u32 loginuid;
	__u32 sessionid;
	__u32 pidns_ino;
	__u32 mntns_ino;
	__u64 cgroup_id;
};

/*
 * Every record starts with this header. pid/tid/start_ns describe the process
 * the event is about (see procward.h); token describes the originator.
 */
struct pw_raw_header {
	__u16 type;        /* enum pw_raw_type */
	__u16 flags;       /* PW_RAW_F_* */
	__u32 size;        /* bytes in the whole record, header included */
	__u64 ts_ns;       /* bpf_ktime_get_ns() */
	__u64 start_ns;    /* thread-group leader start, boottime ns */
	__u64 parent_start_ns;
	__u32 pid;         /* thread-group id */
	__u32 tid;
	__u32 ppid;        /* real_parent's thread-group id */
	__u32 cpu;
	char comm[PW_COMM_LEN];
	struct pw_raw_token token;
};

/* PROCESS_CREATE and THREAD_CREATE: header describes the new task. */
struct pw_raw_clone {
	struct pw_raw_header hdr;
	__u32 creator_pid;
	__u32 creator_tid;
	__u32 clone_flags; /* PW_RAW_CLONE_* */
	__u32 __pad;
	__u64 raw_clone_flags; /* CLONE_* as passed to clone/clone3 */
};

/* pw_raw_exit.rflags */
#define PW_RAW_RU_IO (1u << 0)      /* read/write_bytes valid (CONFIG_TASK_IO_ACCOUNTING) */
#define PW_RAW_RU_CHARS (1u << 1)   /* rchar/wchar valid (CONFIG_TASK_XACCT) */
#define PW_RAW_RU_PARTIAL (1u << 2) /* live threads could not be walked (no task iterator) */

/*
 * PROCESS_EXIT and THREAD_EXIT. The resource fields (appended after
 * exit_status) are the whole process's for PROCESS_EXIT (the released
 * threads' totals in signal_struct plus every thread still listed, as
 * getrusage(RUSAGE_SELF) sums them) and the exiting thread's for THREAD_EXIT.
 */
struct pw_raw_exit {
	struct pw_raw_header hdr;
	__s32 exit_status; /* wait(2) status */
	__u32 __pad;
	__u64 runtime_ns;     /* se.sum_exec_runtime: the scheduler's exact CPU time */
	__u64 utime_raw_ns;   /* tick-sampled user time: only its share of the total is used */
	__u64 stime_raw_ns;   /* tick-sampled system time */
	__u64 maxrss_pages;   /* peak RSS: signal->maxrss, or the mm's hiwater if larger */
	__u64 min_flt;
	__u64 maj_flt;
	__u64 nvcsw;
	__u64 nivcsw;
	__u64 read_bytes;     /* ioac: bytes fetched from / sent to storage */
	__u64 write_bytes;
	__u64 rchar;          /* ioac: bytes passed to read()/write()-like calls */
	__u64 wchar;
	__u64 children_utime_ns; /* reaped children (signal->cutime), adjusted as wait4 does */
	__u64 children_stime_ns;
	__u64 lifetime_ns;    /* boottime now - start_boottime (leader for processes) */
	__u32 threads;        /* threads summed (1 for a thread exit) */
	__u32 rflags;         /* PW_RAW_RU_* */
};

/*
 * EXEC: followed by data[] = filename NUL, image NUL, cwd NUL, argv
 * (args_len bytes, each arg NUL-terminated). Lengths include the NULs.
 */
struct pw_raw_exec {
	struct pw_raw_header hdr;
	__u32 old_tid;     /* thread that called execve (before de_thread) */
	__u32 argc;        /* argc of the new image (bprm->argc), even if truncated */
	__u16 filename_len;
	__u16 image_len;
	__u16 cwd_len;
	__u16 __pad;
	__u32 args_len;
	__u32 __pad2;
	char data[];
};

#define PW_EXEC_DATA_MAX (PW_FILENAME_MAX + 2 * PW_PATH_MAX + PW_ARGS_MAX)

/* Bits of pw_bpf_config.rule_kinds: which rule maps to consult. */
#define PW_RK_PID (1u << 0)
#define PW_RK_NAME (1u << 1)
#define PW_RK_UID (1u << 2)
#define PW_RK_PATTERN (1u << 3)
#define PW_RK_HAS_INCLUDE (1u << 8) /* at least one include rule exists */

/* Values of the rule maps. */
#define PW_VERDICT_INCLUDE 1
#define PW_VERDICT_EXCLUDE 2

#define PW_PATTERN_GLOB 2 /* name prefix rules are globs ending in '*' */
#define PW_MAX_PATTERNS 16

struct pw_pattern_rule {
	__u8 kind;    /* PW_PATTERN_* */
	__u8 verdict; /* PW_VERDICT_* */
	__u8 len;     /* bytes of pattern used */
	__u8 __pad;
	char pattern[PW_COMM_LEN];
};

/*
 * Runtime configuration in the BPF side's .bss (the global `cfg`), written
 * by user space through the mmap so a change takes effect at the next
 * event without a syscall.
 */
struct pw_bpf_config {
	__u32 event_mask;   /* 1 << enum pw_raw_type */
	__u32 rule_kinds;   /* PW_RK_* */
	__u32 inherit;      /* children inherit rule verdicts */
	__u32 args_max;     /* argv bytes to capture, <= PW_ARGS_MAX */
	__u32 n_patterns;   /* used entries of pattern_rules */
	__u32 __pad;
};

/* Counters in the BPF side's .bss, read by user space through the mmap. */
#define PW_LOST_SLOTS PW_RAW_TYPE_MAX

/* ---- access operations (PW_RAW_PROCESS_ACCESS / PW_RAW_THREAD_ACCESS) ---- */

/* Access rights; values equal enum pw_access in procward.h. */
#define PW_RAW_ACC_DEBUG (1u << 0)        /* ptrace attach/seize and control requests */
#define PW_RAW_ACC_READ_MEMORY (1u << 1)  /* process_vm_readv, /proc/PID/mem read, PEEK */
#define PW_RAW_ACC_WRITE_MEMORY (1u << 2) /* process_vm_writev, /proc/PID/mem write, POKE */
#define PW_RAW_ACC_READ_INFO (1u << 3)    /* PTRACE_MODE_READ checks, signal 0 */
#define PW_RAW_ACC_TERMINATE (1u << 4)    /* SIGKILL SIGTERM SIGINT SIGQUIT SIGHUP SIGABRT */
#define PW_RAW_ACC_SUSPEND (1u << 5)      /* SIGSTOP SIGTSTP SIGTTIN SIGTTOU SIGCONT */
#define PW_RAW_ACC_SIGNAL (1u << 6)       /* any other signal */
#define PW_RAW_ACC_OPEN_HANDLE (1u << 7)  /* pidfd_open */
#define PW_RAW_ACC_DUP_HANDLE (1u << 8)   /* pidfd_getfd, reopening /proc/PID/fd/N */
#define PW_RAW_ACC_SET_LIMITS (1u << 9)   /* prlimit on another process */
#define PW_RAW_ACC_ALL 0x3ffu

/* Operations; values equal enum pw_access_op in procward.h. */
enum pw_raw_access_op {
	PW_RAW_OP_PTRACE = 1,
	PW_RAW_OP_PROCESS_VM_READV = 2,
	PW_RAW_OP_PROCESS_VM_WRITEV = 3,
	PW_RAW_OP_PROC_MEM_OPEN = 4,
	PW_RAW_OP_KILL = 5,
	PW_RAW_OP_TGKILL = 6,
	PW_RAW_OP_TKILL = 7,
	PW_RAW_OP_PIDFD_SEND_SIGNAL = 8,
	PW_RAW_OP_PIDFD_OPEN = 9,
	PW_RAW_OP_PIDFD_GETFD = 10,
	PW_RAW_OP_LSM_PTRACE_CHECK = 11, /* denied by a rule, syscall not recognised */
	PW_RAW_OP_LSM_SIGNAL = 12,       /* denied by a rule, syscall not recognised */
	/* Seen only by the LSM hooks, so reported only when denied. */
	PW_RAW_OP_SIGIO = 13,            /* SIGIO/SIGURG to an F_SETOWN owner; signal: the signal */
	PW_RAW_OP_PRLIMIT = 14,          /* detail: the resource */
	PW_RAW_OP_CGROUP_KILL = 15,      /* write to cgroup.kill of a cgroup holding the target */
	PW_RAW_OP_CGROUP_FREEZE = 16,    /* write to cgroup.freeze of a cgroup holding the target */
	PW_RAW_OP_PROC_MEM_IO = 17,      /* read/write through an open /proc/PID/mem; detail: 1 write */
	PW_RAW_OP_PROC_FD_OPEN = 18,     /* following /proc/PID/fd/N or map_files/N */
	PW_RAW_OP_PERF_EVENT = 19,       /* perf_event_open on the target; detail: sample period */
};

/* pw_raw_access.aflags */
#define PW_RAW_AF_DENIED (1u << 0)    /* procward's LSM rule denied it */
#define PW_RAW_AF_NO_RESULT (1u << 1) /* reported by the LSM hook: result is the denial */

/*
 * An access operation. The header describes the originator (pid, tid, key,
 * comm, token), exactly as for the other records; the target follows.
 */
struct pw_raw_access {
	struct pw_raw_header hdr;
	__u64 target_start_ns; /* 0 when the target is not in the watched set */
	__u32 target_pid;      /* thread-group id */
	__u32 target_tid;      /* the thread named by the operation; == target_pid otherwise */
	__u32 access;          /* PW_RAW_ACC_* requested */
	__u16 op;              /* enum pw_raw_access_op */
	__u16 aflags;          /* PW_RAW_AF_* */
	__s64 result;          /* syscall return value: >= 0 success, -errno */
	__s32 signal;          /* signal number for signal operations, else 0 */
	__u32 __pad;
	__u64 detail;          /* ptrace request, open(2) flags, or the fd asked of pidfd_getfd */
	char target_comm[PW_COMM_LEN]; /* "" when unknown */
};

/* What is watched for one target process (value of the access target maps). */
#define PW_TGT_BY_PID (1u << 0)     /* added by PID from user space */
#define PW_TGT_BY_NAME (1u << 1)    /* added because its name is watched */
#define PW_TGT_PROTECTED (1u << 2)  /* a protection rule names it: track its operations */
#define PW_CG_DEPTH 16 /* cgroup levels recorded per protected process */
struct pw_access_target_val {
	__u64 start_ns;   /* leader start (boottime ns); 0: any */
	__u32 access;     /* rights reported (PW_RAW_ACC_*) */
	__u32 flags;      /* PW_TGT_* */
	char comm[PW_COMM_LEN];
	/*
	 * Protected targets: the cgroup v2 ids of the process's cgroup and its
	 * ancestors, by level (cg_ids[0] the root), kept current by the kernel
	 * (fork, rename, cgroup_attach_task), so a write to cgroup.kill or
	 * cgroup.freeze of any cgroup that holds it is recognised.
	 */
	__u32 cg_level;   /* level of its cgroup */
	__u32 cg_known;   /* cg_* filled */
	__u64 cg_ids[PW_CG_DEPTH];
};

/* A protection rule (values of the protect maps). */
#define PW_PROT_EXCEPT_UID (1u << 0)
#define PW_PROT_EXCEPT_PID (1u << 1)
#define PW_PROT_EXEC_NAME (1u << 2)  /* name rules: only a process still named by its exec */
struct pw_protect_val {
	__u64 start_ns;   /* PID rules: the protected process's start (exact; never 0) */
	__u32 deny;       /* PW_RAW_ACC_* */
	__u32 flags;      /* PW_PROT_* */
	__u32 except_uid; /* originators with this effective uid are allowed */
	__u32 except_pid; /* this originator process is allowed */
};

/* Runtime configuration of the access object (its .bss `acfg`). */
struct pw_access_config {
	__u32 report;     /* 1 << PW_RAW_*_ACCESS wanted in the ring */
	__u32 watch_all;  /* every process is a target */
	__u32 all_access; /* with watch_all: rights reported */
	__u32 n_names;    /* entries in access_names: fork/rename keep them current */
	__u32 orig_kinds; /* PW_RK_PID | PW_RK_UID | PW_RK_HAS_INCLUDE of originator rules */
	__u32 proc_mem;   /* parse openat() paths for /proc/PID/mem */
	__u32 n_protect_names; /* entries in protect_names */
	__u32 deny_open;  /* some rule denies PW_RAW_ACC_OPEN_HANDLE */
	__u32 deny_mem;   /* some rule denies memory rights: reads of open /proc/PID/mem fds */
	__u32 deny_cgroup;/* some rule denies TERMINATE or SUSPEND: cgroup.kill/cgroup.freeze */
	__u32 deny_dup;   /* some rule denies DUP_HANDLE: /proc/PID/fd/N reopens */
	__u32 n_exec_names; /* name rules with PW_PROT_EXEC_NAME: record comm at exec */
};

/* Name given to a process by its last exec (value of exec_names). */
struct pw_exec_name {
	__u64 start_ns;
	char comm[PW_COMM_LEN];
};

/* ---- resource sampler (src/bpf/sampler.bpf.c, read by src/resource/) ---- */

#define PW_SAMPLE_LEADER (1u << 0) /* the thread-group leader: process fields valid */
#define PW_SAMPLE_KTHREAD (1u << 1)
#define PW_SAMPLE_HAS_MM (1u << 2) /* rss_pages valid */

/*
 * One record per task, written by the iter/task program with
 * bpf_seq_write() and read() back by the sampler. A process's CPU is its
 * leader's sig_* (threads already released) plus every task's own.
 */
struct pw_raw_task_sample {
	__u32 tgid;
	__u32 tid;
	__u32 sflags;         /* PW_SAMPLE_* */
	__u32 nr_threads;     /* leader: signal->nr_threads */
	__u64 runtime_ns;     /* this task's se.sum_exec_runtime */
	__u64 utime_ns;       /* this task's tick-sampled user time */
	__u64 stime_ns;
	/* leader only (0 otherwise) */
	__u64 start_ns;       /* start_boottime */
	__u64 sig_runtime_ns; /* signal->sum_sched_runtime: released threads */
	__u64 sig_utime_ns;
	__u64 sig_stime_ns;
	__u64 rss_pages;      /* file + anon + shmem, as /proc/PID/stat field 24 */
	__u32 ppid;
	__u32 state;          /* task->__state */
	__s32 exit_state;
	__u32 __pad;
	char comm[PW_COMM_LEN];
	struct pw_raw_token token;
};

#endif /* PW_BPF_EVENTS_H */
