/* SPDX-License-Identifier: MIT */
/*
 * procward.h - the whole public API of libprocward: monitor and control the
 * lifecycle of Linux processes and threads from user space.
 *
 * Conventions (libbpf/sd-event style):
 *  - every exported symbol starts with pw_;
 *  - functions return 0 (or a count) on success and a negative errno on
 *    failure; pw_strerror() turns any return value into a message;
 *  - options structs start with `size_t sz` and are filled with PW_OPTS(), so
 *    fields added at the end never break old callers;
 *  - handles are opaque and come in new/free pairs; free accepts NULL;
 *  - objects passed to callbacks are borrowed: valid only until the callback
 *    returns. Strings returned by accessors share that lifetime.
 *
 * Threads: a pw_monitor is not thread-safe; one thread owns it and calls
 * everything on it, except pw_monitor_stop(), which any thread or a signal
 * handler may call. Callbacks run on the thread that called
 * pw_monitor_dispatch()/pw_monitor_run(). Two monitors in one process are
 * fully independent. The snapshot functions are reentrant.
 */
#ifndef PROCWARD_H
#define PROCWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PW_API __attribute__((visibility("default")))

#define PW_VERSION_MAJOR 0
#define PW_VERSION_MINOR 1
#define PW_VERSION_PATCH 0

/* "0.1.0": the version of the library actually loaded. */
PW_API const char *pw_version(void);

/* Declare and fill an options struct: PW_OPTS(pw_monitor_opts, o, .events = ...). */
#define PW_OPTS(TYPE, NAME, ...)                                               \
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }

/* ---------------------------------------------------------------- errors */

/* Library-specific error codes, returned negated like errno values. */
enum pw_error {
	PW_ERR_FIRST = 4000,
	PW_ERR_NO_BTF = 4000,      /* the kernel exposes no BTF (/sys/kernel/btf/vmlinux) */
	PW_ERR_NO_BPF,             /* BPF programs cannot be loaded here (privileges, lockdown, config) */
	PW_ERR_KERNEL_FEATURE,     /* a needed kernel feature is missing; see pw_features() */
	PW_ERR_ENFORCE_UNAVAILABLE,/* enforcement asked for, but the kernel cannot enforce it */
	PW_ERR_RULE_SYNTAX,        /* a rule could not be parsed */
	PW_ERR_RULE_LIMIT,         /* too many rules of one kind (see PW_MAX_* below) */
	PW_ERR_LAST,
};

/* A static message for a negative errno or pw_error (sign ignored). */
PW_API const char *pw_strerror(int err);

/* ---------------------------------------------------------------- logging */

enum pw_log_level { PW_LOG_ERROR, PW_LOG_WARN, PW_LOG_INFO, PW_LOG_DEBUG };

/*
 * The library never prints. Messages (feature fallbacks, mounts it made,
 * libbpf's own output at DEBUG) go to this callback; NULL drops them.
 */
typedef void (*pw_log_fn)(enum pw_log_level level, const char *msg, void *userdata);

/* -------------------------------------------------------------- features */

/* What the running kernel offers; probed once, cached. */
enum pw_feature {
	PW_FEAT_BTF = 1u << 0,          /* kernel BTF: CO-RE programs load */
	PW_FEAT_BPF = 1u << 1,          /* BPF programs may be loaded (privileges) */
	PW_FEAT_RINGBUF = 1u << 2,      /* BPF ring buffer */
	PW_FEAT_TP_BTF = 1u << 3,       /* BTF-typed tracepoints (lifecycle events) */
	PW_FEAT_TASK_ITER = 1u << 4,    /* iter/task */
	PW_FEAT_BPF_LSM = 1u << 5,      /* BPF LSM programs load and attach (enforcement) */
	PW_FEAT_FENTRY = 1u << 6,       /* BPF trampolines (fentry/fexit) */
	PW_FEAT_FANOTIFY_EXEC = 1u << 7,/* fanotify FAN_OPEN_EXEC_PERM (exec gate) */
	PW_FEAT_SEND_SIGNAL = 1u << 8,  /* bpf_send_signal (fail-closed backstop) */
};

/* Bitmask of enum pw_feature. Safe from any thread. */
PW_API unsigned int pw_features(void);

/* ---------------------------------------------------------------- events */

enum pw_event_type {
	PW_EVENT_PROCESS_CREATE = 1, /* fork/vfork/clone without CLONE_THREAD */
	PW_EVENT_EXEC = 2,           /* a process replaced its image (execve/execveat) */
	PW_EVENT_PROCESS_EXIT = 3,   /* the last thread of a process exited */
	PW_EVENT_THREAD_CREATE = 4,  /* clone with CLONE_THREAD */
	PW_EVENT_THREAD_EXIT = 5,    /* a thread created by THREAD_CREATE exited */
	PW_EVENT_LOST = 6,           /* the kernel could not deliver some events */
};

/* Event mask bits for pw_monitor_opts.events. */
#define PW_EVMASK(type) (1u << (type))
#define PW_EVMASK_ALL                                                          \
	(PW_EVMASK(PW_EVENT_PROCESS_CREATE) | PW_EVMASK(PW_EVENT_EXEC) |       \
	 PW_EVMASK(PW_EVENT_PROCESS_EXIT) | PW_EVMASK(PW_EVENT_THREAD_CREATE) | \
	 PW_EVMASK(PW_EVENT_THREAD_EXIT))

/* "process_create", "exec", ... ; NULL for an unknown type. */
PW_API const char *pw_event_type_name(enum pw_event_type type);

/*
 * Identity of a process that survives PID reuse: the PID together with the
 * kernel's start time of its thread-group leader (CLOCK_BOOTTIME ns, the same
 * clock as field 22 of /proc/PID/stat). Two processes never share a key.
 */
struct pw_proc_key {
	pid_t pid;
	uint32_t __pad;
	uint64_t start_ns;
};

/*
 * The originator's credentials: the "security token" of the task that caused
 * the event (the creator for PROCESS_CREATE, the new image for EXEC, the
 * exiting task for exits). Captured in the kernel at event time.
 */
struct pw_token {
	uint32_t uid, euid, suid, fsuid;
	uint32_t gid, egid, sgid, fsgid;
	uint64_t cap_effective, cap_permitted;
	uint32_t loginuid;   /* (uint32_t)-1 when unset */
	uint32_t sessionid;  /* (uint32_t)-1 when unset */
	uint32_t pidns_ino;  /* inode of the task's PID namespace */
	uint32_t mntns_ino;  /* inode of the task's mount namespace */
	uint64_t cgroup_id;  /* cgroup v2 id (inode of the cgroup directory) */
};

struct pw_event; /* borrowed: valid only inside the callback */

PW_API enum pw_event_type pw_event_type(const struct pw_event *ev);
/* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) and the CPU the event happened on. */
PW_API uint64_t pw_event_time_ns(const struct pw_event *ev);
PW_API unsigned int pw_event_cpu(const struct pw_event *ev);

/*
 * The process the event is about: the new child for PROCESS_CREATE, the
 * exec'ing process for EXEC, the exited process for PROCESS_EXIT, the process
 * that owns the thread for THREAD_*.
 */
PW_API pid_t pw_event_pid(const struct pw_event *ev);
/* The thread: new TID for THREAD_CREATE, exiting TID for *_EXIT, exec'ing TID. */
PW_API pid_t pw_event_tid(const struct pw_event *ev);
PW_API struct pw_proc_key pw_event_key(const struct pw_event *ev);
/* Parent (real_parent) of the process; for PROCESS_CREATE, the new child's parent. */
PW_API pid_t pw_event_parent_pid(const struct pw_event *ev);
PW_API struct pw_proc_key pw_event_parent_key(const struct pw_event *ev);
/*
 * Creator: the process/thread that called clone (PROCESS_CREATE,
 * THREAD_CREATE). Differs from the parent with CLONE_PARENT. 0 otherwise.
 */
PW_API pid_t pw_event_creator_pid(const struct pw_event *ev);
PW_API pid_t pw_event_creator_tid(const struct pw_event *ev);

/* Clone properties derived in the kernel (PROCESS_CREATE, THREAD_CREATE). */
enum pw_clone_flag {
	PW_CLONE_THREAD = 1u << 0,
	PW_CLONE_VFORK = 1u << 1,
	PW_CLONE_PARENT = 1u << 2, /* child's parent is the creator's parent */
	PW_CLONE_VM = 1u << 3,     /* shares the creator's address space */
	PW_CLONE_NEWPID = 1u << 4, /* child lives in a new PID namespace */
	PW_CLONE_NEWNS = 1u << 5,  /* child lives in a new mount namespace */
};
PW_API unsigned int pw_event_clone_flags(const struct pw_event *ev);
/* The CLONE_* flags exactly as the creator passed them (0 for other events). */
PW_API uint64_t pw_event_clone_flags_raw(const struct pw_event *ev);

/* Process name (comm, up to 15 chars) at event time. */
PW_API const char *pw_event_name(const struct pw_event *ev);
/*
 * Full path of the process image: from the kernel for EXEC, from the
 * library's process table otherwise (NULL if unknown).
 */
PW_API const char *pw_event_image(const struct pw_event *ev);
/* EXEC: the image the process ran before this exec (NULL if unknown). */
PW_API const char *pw_event_previous_image(const struct pw_event *ev);
/* EXEC: the filename as passed to execve (may be relative). */
PW_API const char *pw_event_exec_filename(const struct pw_event *ev);
/* EXEC: working directory of the process (NULL if unknown). */
PW_API const char *pw_event_cwd(const struct pw_event *ev);

/*
 * Command line: for EXEC, the new argv read in the kernel from the new
 * mm; for other events, from the process table (what the process last
 * exec'd). NULL past the end.
 */
PW_API size_t pw_event_argc(const struct pw_event *ev);
PW_API const char *pw_event_arg(const struct pw_event *ev, size_t i);

/* Event-quality flags: a consumer can tell exact data from filled-in data. */
enum pw_event_flag {
	PW_EVF_ARGS_TRUNCATED = 1u << 0,  /* argv longer than the capture limit */
	PW_EVF_PATH_TRUNCATED = 1u << 1,  /* image or cwd path longer than the limit */
	PW_EVF_FROM_TABLE = 1u << 2,      /* image/argv came from the process table, not this event */
	PW_EVF_GROUP_EXIT = 1u << 3,      /* exit caused by exit_group/fatal signal of the whole process */
};
PW_API unsigned int pw_event_flags(const struct pw_event *ev);

/*
 * Exits: the raw wait status (as from waitpid): WIFEXITED/WEXITSTATUS and
 * WIFSIGNALED/WTERMSIG apply.
 */
PW_API int pw_event_exit_status(const struct pw_event *ev);

/* LOST: how many events the kernel could not deliver since the last LOST. */
PW_API uint64_t pw_event_lost_count(const struct pw_event *ev);

/* The originator's security token. */
PW_API const struct pw_token *pw_event_token(const struct pw_event *ev);
/* Names resolved lazily in user space, cached; NULL if unknown. */
PW_API const char *pw_event_user_name(const struct pw_event *ev);   /* of token->uid */
PW_API const char *pw_event_group_name(const struct pw_event *ev);  /* of token->gid */
PW_API const char *pw_event_cgroup_path(const struct pw_event *ev); /* "/system.slice/x.service" */
/* Container id parsed from the cgroup path (docker, containerd, podman, crio), or NULL. */
PW_API const char *pw_event_container_id(const struct pw_event *ev);

/* ---------------------------------------------------------------- rules */

enum pw_rule_action { PW_RULE_INCLUDE = 1, PW_RULE_EXCLUDE = 2 };

enum pw_rule_match {
	PW_MATCH_NAME = 1,        /* process name equals value (comm, max 15 chars) */
	PW_MATCH_NAME_PREFIX = 2, /* process name starts with value */
	PW_MATCH_NAME_GLOB = 3,   /* process name matches a glob of '*' and '?' */
	PW_MATCH_PID = 4,         /* process (thread group) id */
	PW_MATCH_UID = 5,         /* real uid of the process */
};

struct pw_rule {
	size_t sz;
	enum pw_rule_action action;
	enum pw_rule_match match;
	const char *name; /* NAME* matches */
	uint32_t id;      /* PID or UID matches */
};

#define PW_MAX_NAME_RULES 1024
#define PW_MAX_ID_RULES 4096
#define PW_MAX_PATTERN_RULES 16

/*
 * Tracking: a process is tracked unless an exclude rule matches it; if any
 * include rule exists, only processes an include rule matches are tracked
 * (excludes win over includes). With children inheritance on, a process
 * whose ancestor was included (or excluded) by a rule inherits that verdict,
 * unless a rule matches the process itself. Rules are evaluated in the kernel
 * at every event, before any ring-buffer space is used.
 *
 * Parse "include name bash", "exclude pid 42", "include uid 1000",
 * "exclude name-prefix kworker", "include name-glob 'py*'". The strings in
 * `out` point into `text` storage copied into *storage (free() it).
 */
PW_API int pw_rule_parse(const char *text, struct pw_rule *out, char **storage);

/* -------------------------------------------------------------- snapshot */

/* A process as listed by a snapshot. */
struct pw_process;
struct pw_snapshot;

enum pw_snapshot_flag {
	PW_SNAP_CMDLINE = 1u << 0, /* read argv of every process */
	PW_SNAP_IMAGE = 1u << 1,   /* resolve the image path (/proc/PID/exe) */
	PW_SNAP_USER = 1u << 2,    /* resolve user names */
};

struct pw_snapshot_opts {
	size_t sz;
	unsigned int flags;    /* enum pw_snapshot_flag */
	const char *proc_root; /* NULL: "/proc"; for tests and other PID namespaces */
};

/* Lists running processes from /proc; works without BPF or privileges. */
PW_API int pw_snapshot_take(const struct pw_snapshot_opts *opts, struct pw_snapshot **out);
PW_API void pw_snapshot_free(struct pw_snapshot *snap);
PW_API size_t pw_snapshot_count(const struct pw_snapshot *snap);
/* i < count; the process stays valid until pw_snapshot_free(). */
PW_API const struct pw_process *pw_snapshot_process(const struct pw_snapshot *snap, size_t i);
/* NULL if the PID is not in the snapshot. */
PW_API const struct pw_process *pw_snapshot_find(const struct pw_snapshot *snap, pid_t pid);

PW_API pid_t pw_process_pid(const struct pw_process *p);
PW_API pid_t pw_process_parent_pid(const struct pw_process *p);
PW_API struct pw_proc_key pw_process_key(const struct pw_process *p);
PW_API const char *pw_process_name(const struct pw_process *p);
PW_API const char *pw_process_image(const struct pw_process *p); /* NULL unless PW_SNAP_IMAGE and readable */
PW_API size_t pw_process_argc(const struct pw_process *p);       /* 0 unless PW_SNAP_CMDLINE */
PW_API const char *pw_process_arg(const struct pw_process *p, size_t i);
PW_API uint32_t pw_process_uid(const struct pw_process *p);
PW_API const char *pw_process_user_name(const struct pw_process *p); /* NULL unless PW_SNAP_USER */
PW_API uint32_t pw_process_thread_count(const struct pw_process *p);
PW_API char pw_process_state(const struct pw_process *p); /* 'R', 'S', 'Z', ... */

/* --------------------------------------------------------------- monitor */

struct pw_monitor;

/*
 * Return 0 to go on; a negative value stops pw_monitor_run()/dispatch(),
 * which return it.
 */
typedef int (*pw_event_fn)(struct pw_monitor *m, const struct pw_event *ev, void *userdata);

struct pw_monitor_opts {
	size_t sz;
	unsigned int events;       /* PW_EVMASK() bits; 0: PW_EVMASK_ALL */
	pw_event_fn on_event;      /* required */
	void *userdata;
	size_t ringbuf_bytes;      /* power of two >= 4096; 0: 16 MiB */
	bool inherit_children;     /* children inherit rule verdicts */
	pw_log_fn log;             /* NULL: silent */
	void *log_userdata;
	size_t max_processes;      /* process table bound; 0: 65536 */
	unsigned int max_args_bytes; /* argv capture limit; 0: 4096 (max 16384) */
};

/* Validates options; loads nothing yet. */
PW_API int pw_monitor_new(const struct pw_monitor_opts *opts, struct pw_monitor **out);
/* Stops if running, detaches every program, frees. Accepts NULL. */
PW_API void pw_monitor_free(struct pw_monitor *m);

/* Add a rule; before or after start (takes effect for the next event). */
PW_API int pw_monitor_add_rule(struct pw_monitor *m, const struct pw_rule *rule);
/* Remove a rule added earlier with the same match and value; -ENOENT if none. */
PW_API int pw_monitor_remove_rule(struct pw_monitor *m, const struct pw_rule *rule);
PW_API int pw_monitor_clear_rules(struct pw_monitor *m);

/*
 * Load and attach the kernel programs and seed the process table from
 * /proc. Errors: PW_ERR_NO_BTF, PW_ERR_NO_BPF (-EPERM without privileges),
 * PW_ERR_KERNEL_FEATURE.
 */
PW_API int pw_monitor_start(struct pw_monitor *m);

/* A pollable fd (EPOLLIN when events are ready), valid after start. */
PW_API int pw_monitor_fd(const struct pw_monitor *m);

/*
 * Wait up to timeout_ms (-1: forever, 0: don't wait) and deliver what is
 * ready. Returns the number of events delivered, 0 on timeout, -EINTR when
 * interrupted by a signal or by pw_monitor_stop(), or a callback's negative
 * return.
 */
PW_API int pw_monitor_dispatch(struct pw_monitor *m, int timeout_ms);

/* Dispatch until pw_monitor_stop() or a callback error. 0 after a stop. */
PW_API int pw_monitor_run(struct pw_monitor *m);

/* Ask run()/dispatch() to return. Async-signal-safe, any thread. */
PW_API void pw_monitor_stop(struct pw_monitor *m);

/* Counters since start. */
struct pw_monitor_stats {
	size_t sz;
	uint64_t events_delivered; /* callbacks made (LOST notifications excluded) */
	uint64_t events_lost;      /* counted by the kernel: no ring-buffer space */
	uint64_t events_filtered;  /* skipped in the kernel by rules (sampled per CPU) */
	uint64_t processes_tracked;/* live entries of the process table */
	uint64_t table_evictions;  /* process-table entries dropped to stay bounded */
};
PW_API int pw_monitor_stats(const struct pw_monitor *m, struct pw_monitor_stats *stats);

/* ------------------------------------------------------ access operations */
/*
 * (Issue: process and thread access operations.) Declarations for access
 * events and protection rules go in this section.
 */

/* -------------------------------------------------------------- exec gate */
/*
 * (Issue: exec gate.) Declarations for the blocking exec gate go in this
 * section: struct pw_gate and its options, the verdict API.
 */

#ifdef __cplusplus
}
#endif
#endif /* PROCWARD_H */
