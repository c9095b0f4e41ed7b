/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bpf/abi/gate.h - the exec gate's ABI between its BPF programs (gate.bpf.c) and
 * the user side (src/gate*.c): fixed-width structs, no pointers.
 */
#ifndef PW_BPF_GATE_ABI_H
#define PW_BPF_GATE_ABI_H

#include "events.h"

#define PW_GATE_ARGS_MAX 4096    /* argv bytes captured at sys_enter_execve; power of two */
#define PW_GATE_ARGV_SLOTS 256   /* argv pointers followed before the capture stops */
#define PW_GATE_MAX_SUBJECTS 64  /* subject conditions: one bit of pw_gate_meta.subject_bits each */
#define PW_GATE_MAX_SCOPES 8     /* `gate` rules with a subject (the gated set) */

/* pw_gate_meta.flags */
#define PW_GATE_F_ARGS_TRUNCATED (1u << 0)
#define PW_GATE_F_FILENAME_TRUNCATED (1u << 1)
#define PW_GATE_F_EXECVEAT (1u << 2)
#define PW_GATE_F_ARGS_COPIED (1u << 3) /* argv is in gate_argv (capture_argv was on) */
#define PW_GATE_CACHE_MAX 4096   /* cached images (kernel map gate_cached; user cache is smaller) */

/*
 * Written at sys_enter_execve/execveat, keyed by TID: who is exec'ing. The
 * fanotify event of the same TID that follows is joined with it. Small, so
 * that user space reads it on every event for the price of one lookup.
 */
struct pw_gate_meta {
	__u64 exec_id;        /* bpf_ktime_get_ns() at syscall entry: this execve */
	__u64 start_ns;       /* thread-group leader start (boottime ns): the process key */
	__u64 subject_bits;   /* subject-scoped rules whose subject matches this process */
	__u32 pid;            /* tgid of the exec'ing process */
	__u32 tid;
	__u32 ppid;
	__u32 flags;          /* PW_GATE_F_* */
	char comm[PW_COMM_LEN];
	struct pw_raw_token token;
	/*
	 * The execve arguments as user addresses in the exec'ing task's (old)
	 * mm. User space reads them with process_vm_readv() only when a rule
	 * or the handler asks: the task waits for the verdict, so the old mm
	 * is still in place. Copying them here instead (capture_argv) costs
	 * ~4 us per exec, cached or not.
	 */
	__u64 filename_ptr;
	__u64 argv_ptr;
};

/* The new command line of the same execve (separate: only read when needed). */
struct pw_gate_argv {
	__u64 exec_id;        /* equals pw_gate_meta.exec_id of the same execve */
	__u32 argc;           /* arguments captured */
	__u32 args_len;       /* bytes of args used, NULs included */
	__u32 filename_len;   /* bytes of filename used, NUL included */
	__u32 __pad;
	char filename[PW_FILENAME_MAX];
	char args[PW_GATE_ARGS_MAX];
};

/*
 * Written by user space before it allows the main image of an execve:
 * sched_process_exec then knows the exec was gated. Kernel dev_t encoding
 * (major << 20 | minor).
 */
struct pw_gate_mark {
	__u64 ino;
	__u32 dev;
	__u32 __pad;
};

/*
 * Key of gate_cached: an image whose allow is cached (the gate put a
 * fanotify ignore mark on it). Kernel dev_t encoding, as pw_gate_mark.
 */
struct pw_gate_inode {
	__u64 ino;
	__u32 dev;
	__u32 __pad;
};

/*
 * Ring-buffer record: an exec of an in-scope process fanotify never saw, or
 * (cached = 1) an exec allowed by a cached verdict, reported when the
 * application wants decision records.
 */
struct pw_gate_ungated {
	__u64 ts_ns;
	__u64 start_ns;
	__u64 ino;
	__u32 dev;
	__u32 pid;
	__u32 tid;            /* the thread that called execve */
	__u32 uid;
	__u32 killed;         /* SIGKILLed in the kernel (fail-closed) */
	__u32 image_len;      /* bytes of image used, NUL included */
	__u32 cached;         /* not ungated: allowed by a cached verdict */
	__u32 hold;           /* PW_GATE_HOLD_*: what the kernel did with an ungated exec */
	char comm[PW_COMM_LEN];
	char image[PW_PATH_MAX];
};

/* Runtime configuration in the gate object's .bss (global `gate_cfg`). */
struct pw_gate_bpf_config {
	__u32 self_pid;       /* the gate's own process: never reported or killed */
	__u32 scope_all;      /* every process is gated (no subject-scoped `gate` rule) */
	__u32 n_scopes;       /* else: used entries of scope_masks */
	__u32 fail_closed;    /* SIGKILL ungated execs of gated processes */
	__u32 have_subjects;  /* subject maps hold entries: look them up */
	__u32 have_trees;     /* rules with children: inherit subject bits at fork */
	__u32 enabled;        /* set once user space is ready to mark */
	__u32 report_cached;  /* send a record for every exec allowed by a cached verdict */
	__u32 capture_argv;   /* copy argv into gate_argv at execve entry (user space cannot read it) */
	__u32 __pad;
	__u64 armed_ns;       /* bpf_ktime_get_ns() once every filesystem was marked */
	/* A process is gated when its subject_bits contain all bits of one mask. */
	__u64 scope_masks[PW_GATE_MAX_SCOPES];
	/* --- held execs (issue 12) --- */
	__u32 hold_mode;      /* PW_GATE_HOLD_MODE_*: what an ungated exec of a gated process gets */
	__u32 self_mnt_ns;    /* the gate's mount namespace (inode): its mounts are not reported */
};

/*
 * Held execs (see "Held execs" in procward.h). An exec of a gated process
 * that fanotify never saw (memfd, a filesystem not marked yet, a cached
 * allow whose file changed) is stopped at sched_process_exec, before its
 * first instruction, and decided in user space on /proc/PID/exe.
 */
#define PW_GATE_HOLD_MODE_REPORT 0 /* nothing could deny it: report only */
#define PW_GATE_HOLD_MODE_HOLD 1   /* SIGSTOP, with the kernel's watch against SIGCONT/ptrace */
#define PW_GATE_HOLD_MODE_KILL 2   /* no watch on this kernel: SIGKILL (fail closed) */

/* pw_gate_ungated.hold */
#define PW_GATE_HOLD_NONE 0     /* reported only (or killed by fail_closed_ungated) */
#define PW_GATE_HOLD_STOPPED 1  /* stopped: user space decides, then SIGCONT or SIGKILL */
#define PW_GATE_HOLD_KILLED 2   /* could not be held safely (traced, SIGHUP ignored, no room): killed */
#define PW_GATE_HOLD_ESCAPED 3  /* the watch saw a SIGCONT it could not stop in the kernel: kill now */
#define PW_GATE_HOLD_KIND 0xff  /* the low byte is one of the above; flags why: */
#define PW_GATE_HOLD_F_STALE (1u << 8)   /* a cached allow whose file changed (ctime) */
#define PW_GATE_HOLD_F_TRACED (1u << 9)  /* killed: traced (the tracer could swallow the SIGSTOP) */
#define PW_GATE_HOLD_F_SIGHUP (1u << 10) /* killed: SIGHUP ignored or blocked (see procward.h) */
#define PW_GATE_HOLD_F_FULL (1u << 11)   /* killed: PW_GATE_HELD_MAX execs held already */
#define PW_GATE_HOLD_F_NOWATCH (1u << 12) /* killed: this kernel cannot watch a held exec */

#define PW_GATE_HELD_MAX 1024   /* execs held at once; beyond, they are killed */

/* Value of gate_held (key: tgid). */
struct pw_gate_held {
	__u64 start_ns;       /* thread-group leader start (boottime ns): the process key */
	__u32 state;          /* PW_GATE_HELD_* */
	__u32 __pad;
	__u64 held_ns;        /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) when it was stopped */
};
#define PW_GATE_HELD_WAITING 1  /* stopped, no verdict yet: a SIGCONT or tracer kills it */
#define PW_GATE_HELD_RELEASED 2 /* allowed: user space sends the SIGCONT */
#define PW_GATE_HELD_DENIED 3   /* denied: user space sends the SIGKILL */

/*
 * Ring-buffer record (gate_mounts): a mount(2) or move_mount(2) succeeded
 * in a mount namespace other than the gate's. User space marks the new
 * filesystems it finds in that namespace's mountinfo (gate/mounts.c).
 */
struct pw_gate_mount {
	__u32 pid;
	__u32 tid;            /* the thread that mounted: its /proc entry shows the namespace */
	__u32 mnt_ns;         /* inode of its mount namespace */
	__u32 __pad;
};

/* Value of gate_cached: the inode's ctime when the allow was cached. */
struct pw_gate_ctime {
	__s64 sec;
	__u32 nsec;
	__u32 __pad;
};

#endif /* PW_BPF_GATE_ABI_H */
