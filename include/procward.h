/* SPDX-License-Identifier: MIT */
/*
 * procward.h - the whole public API of libprocward: monitor and control the
 * lifecycle of Linux processes and threads from user space.
 *
 * Conventions (libbpf/sd-event style):
 *  - every exported symbol starts with pw_;
 *  - functions return 0 (or a count) on success and a negative errno on
 *    failure; pw_strerror() turns any return value into a message;
 *  - options and rule structs start with `size_t sz` and are filled with
 *    PW_OPTS() (or memset to zero first), so fields added at the end never
 *    break old callers; the library refuses (-EOPNOTSUPP) a struct with a
 *    non-zero byte after the last field it knows, padding included, so build
 *    them in place: a struct assignment need not copy padding;
 *  - handles are opaque and come in new/free pairs; free accepts NULL;
 *  - objects passed to callbacks are borrowed: valid only until the callback
 *    returns. Strings returned by accessors share that lifetime.
 *
 * Threads: a pw_monitor is not thread-safe; one thread owns it and calls
 * everything on it, except pw_monitor_stop(), which any thread or a signal
 * handler may call. Callbacks run on the thread that called
 * pw_monitor_dispatch()/pw_monitor_run(). Two monitors in one process are
 * fully independent. The snapshot functions are reentrant.
 *
 * Process-wide effects, beyond the handles themselves:
 *  - loading access events or an exec gate may mount tracefs on
 *    /sys/kernel/tracing if nothing is mounted there (libbpf resolves
 *    syscall tracepoints through it); the mount is left in place;
 *  - the first pw_gate_start() installs pthread_atfork() handlers (once per
 *    process), so that a forked child closes its copies of the gate's
 *    descriptors (see the gate's limits below);
 *  - the first pw_monitor_new() or pw_sampler_new() installs another pair
 *    for monitors and samplers (see "Forked children" at pw_monitor_free);
 *  - while the library loads BPF objects it routes libbpf's messages to the
 *    handle's log callback; every other message still reaches the print
 *    function the application set with libbpf_set_print(), which is chained,
 *    not replaced.
 */
#ifndef PROCWARD_H
#define PROCWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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

/*
 * Declare and fill an options struct: PW_OPTS(pw_monitor_opts, o, .events = ...).
 * As libbpf's LIBBPF_OPTS: memset first, so the padding is zero too. The
 * library refuses (-EOPNOTSUPP) a struct with any non-zero byte after the
 * last field it knows, which is how a field appended by a newer header is
 * detected by an older library, even when it falls into today's padding.
 */
#define PW_OPTS(TYPE, NAME, ...)                                               \
	struct TYPE NAME = ({                                                  \
		memset(&NAME, 0, sizeof(struct TYPE));                         \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };       \
	})

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
	PW_EVENT_PROCESS_ACCESS = 7, /* an operation on another process (see "access operations") */
	PW_EVENT_THREAD_ACCESS = 8,  /* an operation on one thread of another process */
	PW_EVENT_RESOURCE_ALERT = 9, /* a sampler's alert rule was crossed (see "resource sampler") */
};

/* Event mask bits for pw_monitor_opts.events. */
#define PW_EVMASK(type) (1u << (type))
#define PW_EVMASK_ALL                                                          \
	(PW_EVMASK(PW_EVENT_PROCESS_CREATE) | PW_EVMASK(PW_EVENT_EXEC) |       \
	 PW_EVMASK(PW_EVENT_PROCESS_EXIT) | PW_EVMASK(PW_EVENT_THREAD_CREATE) | \
	 PW_EVMASK(PW_EVENT_THREAD_EXIT))
/* Access events: not in PW_EVMASK_ALL (they need a watched target; see below). */
#define PW_EVMASK_ACCESS                                                       \
	(PW_EVMASK(PW_EVENT_PROCESS_ACCESS) | PW_EVMASK(PW_EVENT_THREAD_ACCESS))

/* "process_create", "exec", ... ; NULL for an unknown type. */
PW_API const char *pw_event_type_name(enum pw_event_type type);

/*
 * Identity of a process that survives PID reuse: the PID together with the
 * kernel's start time of its thread-group leader (CLOCK_BOOTTIME ns, the same
 * clock as field 22 of /proc/PID/stat). Two processes never share a key.
 */
struct pw_proc_key {
	pid_t pid;
	uint32_t pad; /* zero */
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
	PW_EVF_REDACTED = 1u << 4,        /* secrets in argv were replaced (pw_monitor_opts.redact) */
};
PW_API unsigned int pw_event_flags(const struct pw_event *ev);

/*
 * Exits: the raw wait status (as from waitpid): WIFEXITED/WEXITSTATUS and
 * WIFSIGNALED/WTERMSIG apply.
 */
PW_API int pw_event_exit_status(const struct pw_event *ev);

/*
 * Resource use carried by PROCESS_EXIT and THREAD_EXIT, read in the kernel
 * when the (last) thread exits. For PROCESS_EXIT it is the whole process
 * summed over all its threads, the values getrusage(RUSAGE_SELF) would give
 * at that moment; wait4() reports the same plus the process's own reaped
 * children (children_*; its ru_maxrss is the larger of the two peaks). For
 * THREAD_EXIT it is that thread alone.
 */
struct pw_rusage {
	size_t sz;                   /* sizeof(struct pw_rusage) of the library */
	uint64_t user_ns;            /* user CPU time, ns */
	uint64_t system_ns;          /* system CPU time, ns */
	/*
	 * user_ns + system_ns: the scheduler's exact runtime. The kernel only
	 * samples the user/system split at ticks; like getrusage, the split is
	 * that sample's ratio applied to the exact total.
	 */
	uint64_t cpu_ns;
	uint64_t max_rss_bytes;      /* peak resident set size, bytes (ru_maxrss * 1024) */
	uint64_t minor_faults;       /* ru_minflt */
	uint64_t major_faults;       /* ru_majflt */
	uint64_t voluntary_switches; /* ru_nvcsw */
	uint64_t involuntary_switches; /* ru_nivcsw */
	uint64_t read_bytes;         /* bytes read from storage (PW_RUSAGE_IO) */
	uint64_t write_bytes;        /* bytes written to storage (PW_RUSAGE_IO) */
	uint64_t read_chars;         /* bytes passed by read()-like calls (PW_RUSAGE_CHARS) */
	uint64_t write_chars;        /* bytes passed by write()-like calls (PW_RUSAGE_CHARS) */
	uint64_t lifetime_ns;        /* from the process's (thread's) start to its exit */
	uint64_t children_user_ns;   /* reaped children's user CPU (PROCESS_EXIT), ns */
	uint64_t children_system_ns; /* reaped children's system CPU, ns */
	uint32_t threads;            /* threads whose counters were summed */
	unsigned int flags;          /* enum pw_rusage_flag */
};

enum pw_rusage_flag {
	PW_RUSAGE_IO = 1u << 0,      /* read_bytes/write_bytes valid (CONFIG_TASK_IO_ACCOUNTING) */
	PW_RUSAGE_CHARS = 1u << 1,   /* read_chars/write_chars valid (CONFIG_TASK_XACCT) */
	PW_RUSAGE_PARTIAL = 1u << 2, /* other live threads could not be summed (kernel < 6.7): values are low */
	PW_RUSAGE_THREAD = 1u << 3,  /* one thread's use (THREAD_EXIT) */
};

/* Exits: the resource use; NULL for other events. Borrowed like the event. */
PW_API const struct pw_rusage *pw_event_rusage(const struct pw_event *ev);

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
	size_t :0;        /* see PW_OPTS: the tail padding is initialized too */
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
/*
 * Resource use when the snapshot read the process (/proc/PID/stat): CPU
 * time in ns at clock-tick resolution (USER_HZ), summed over its threads
 * and excluding reaped children; resident set in bytes (0 for kernel
 * threads and zombies); start time in CLOCK_BOOTTIME ns (as the key).
 */
PW_API uint64_t pw_process_user_ns(const struct pw_process *p);
PW_API uint64_t pw_process_system_ns(const struct pw_process *p);
PW_API uint64_t pw_process_cpu_ns(const struct pw_process *p);
PW_API uint64_t pw_process_rss_bytes(const struct pw_process *p);
PW_API uint64_t pw_process_start_ns(const struct pw_process *p);

/* ---------------------------------------------------------------- output */
/*
 * One formatter for every consumer (the CLI, syslog, bindings), so the
 * schema is defined once (README "JSON Lines schema"). Each call writes one
 * record into buf like snprintf: at most len bytes, NUL-terminated when
 * len > 0, and returns the length the whole record needs (NUL excluded);
 * a return >= len means it was cut short: call again with a larger buffer.
 * Negative: -EINVAL (NULL object, unknown flag), -EOVERFLOW (over INT_MAX).
 * buf may be NULL when len is 0, to ask for the size.
 *
 * JSON: one object, valid UTF-8 whatever bytes the strings hold. Valid
 * UTF-8 is kept exactly; control characters are escaped as JSON says
 * (\n, \u001b, ...; DEL, C1 controls and U+2028/U+2029 too), which JSON
 * decodes to the same characters. Each byte that is not part of valid
 * UTF-8 becomes U+FFFD in the string, and the object gets a sibling
 * "<key>_b64" with the base64 of the string's exact bytes (for argument
 * lists, "args_b64": {"<index>": "<base64>"}): a record with a key ending
 * in _b64 had invalid UTF-8, and nothing of it is lost.
 *
 * Text: one line of columns. Every control byte (below 0x20, 0x7f), the
 * UTF-8 C1 controls and bidirectional overrides, and every byte that is
 * not valid UTF-8, are shown as \xNN; a backslash as \\; so a name, path
 * or argument can neither move the cursor nor start a line of its own.
 *
 * Reentrant; call them where the object is valid (an event or a decision
 * inside its callback, a process until pw_snapshot_free()).
 */
enum pw_format_flag {
	PW_FORMAT_NO_NEWLINE = 1u << 0, /* no '\n' at the end of the record */
};

PW_API int pw_event_format_json(const struct pw_event *ev, char *buf, size_t len,
				unsigned int flags);
/* TIME column: seconds since time_base_ns (CLOCK_MONOTONIC ns; 0: since boot). */
PW_API int pw_event_format_text(const struct pw_event *ev, char *buf, size_t len,
				unsigned int flags, uint64_t time_base_ns);
/* The column titles of pw_event_format_text(), with the newline. */
PW_API const char *pw_event_text_header(void);

PW_API int pw_process_format_json(const struct pw_process *p, char *buf, size_t len,
				  unsigned int flags);
PW_API int pw_process_format_text(const struct pw_process *p, char *buf, size_t len,
				  unsigned int flags);
PW_API const char *pw_process_text_header(void);

/* Escape one string as text output does (for log lines and messages): snprintf-like. */
PW_API int pw_text_escape(const char *s, char *buf, size_t len);
/*
 * One JSON object member by the schema's rules, for applications that
 * write their own objects (procward top does): `,"key":"value"` (null for
 * a NULL value), valid UTF-8 for any bytes, and `,"key_b64":"..."` with
 * the raw bytes when value is not valid UTF-8. key: [a-z0-9_]+ (else
 * -EINVAL). snprintf-like: the length it needs, a NUL-terminated prefix in buf.
 */
PW_API int pw_json_member(const char *key, const char *value, char *buf, size_t len);
/* The same for a list: `,"key":[...]`, and `,"key_b64":{"INDEX":"..."}` for the invalid ones. */
PW_API int pw_json_args_member(const char *key, const char *const *argv, size_t argc, char *buf,
			       size_t len);

/*
 * Safe output files (--output): open(O_WRONLY|O_CREAT|O_NOFOLLOW|O_CLOEXEC),
 * so a symlink is never followed; created with `mode` (0: 0600, the
 * records hold every command line on the machine); anything but a regular
 * file is refused (-EINVAL for a FIFO, device or socket, -EISDIR, -ELOOP
 * for a symlink); appended to unless PW_OUTPUT_TRUNCATE. An existing file
 * keeps its mode. Returns the fd (the caller closes it) or -errno.
 */
enum pw_output_flag {
	PW_OUTPUT_TRUNCATE = 1u << 0, /* empty an existing file instead of appending */
};

struct pw_output_opts {
	size_t sz;
	unsigned int flags;  /* enum pw_output_flag */
	unsigned int mode;   /* permission bits of a new file; 0: 0600 */
};

PW_API int pw_output_open(const char *path, const struct pw_output_opts *opts);

/*
 * Sinks for records the application has already formatted (JSON Lines,
 * text): a bounded queue and one writer thread per struct pw_sink, so that
 * a producer (a monitor callback, a gate's on_decision) never waits on a
 * target. A full queue drops the record and counts it (pw_sink_stats).
 *
 * Threads: pw_sink_new, the pw_sink_add_* calls, pw_sink_start and
 * pw_sink_free by the owner; pw_sink_push, pw_sink_flush and pw_sink_stats
 * from any thread; pw_sink_reopen from any thread or a signal handler
 * (async-signal-safe). Targets are added before start.
 */
struct pw_sink;

struct pw_sink_opts {
	size_t sz;
	unsigned int queue_lines;  /* records buffered at most; 0: 8192 */
	size_t queue_bytes;        /* bytes buffered at most; 0: 16 MiB */
	unsigned int drain_ms;     /* pw_sink_free keeps writing the queue this long; 0: 2000 */
	pw_log_fn log;             /* rotation and reopen failures; called on the writer thread */
	void *log_userdata;
};
PW_API int pw_sink_new(const struct pw_sink_opts *opts, struct pw_sink **out);
/* Writes what is queued (for at most drain_ms; the rest is counted dropped), stops, frees. NULL ok. */
PW_API void pw_sink_free(struct pw_sink *o);

/*
 * A log file, opened with pw_output_open() (never through a symlink, only
 * a regular file, `mode` for a new file: 0 is 0600). With rotate_size, a
 * record that would take the file past it first renames PATH to PATH.1
 * (PATH.1 to PATH.2, ..., PATH.KEEP falls off: at most rotate_keep old
 * files besides PATH), gzip'd to PATH.N.gz with rotate_compress.
 * pw_sink_reopen() reopens PATH (after an external rotation such as
 * logrotate's create mode). flags: enum pw_output_flag, at the first open.
 */
struct pw_sink_file_opts {
	size_t sz;
	const char *path;
	unsigned int flags;        /* PW_OUTPUT_TRUNCATE */
	unsigned int mode;         /* permission bits of a new file; 0: 0600 */
	uint64_t rotate_size;      /* bytes; 0: never rotate */
	unsigned int rotate_keep;  /* old files kept (at most 1000) */
	unsigned int rotate_compress; /* nonzero: gzip rotated files (not a bool: a field appended later stays detectable) */
};
PW_API int pw_sink_add_file(struct pw_sink *o, const struct pw_sink_file_opts *opts);
/* An fd the application keeps open (stdout, a pipe); a full pipe waits on the writer thread only. */
PW_API int pw_sink_add_fd(struct pw_sink *o, int fd);

/*
 * RFC 5424 records on a local datagram socket: "<PRI>1 TIME HOST APP PID
 * MSGID - RECORD", msgid = the type given to pw_sink_push(). A receiver
 * that restarted is reconnected at the next record.
 */
struct pw_sink_syslog_opts {
	size_t sz;
	const char *socket_path;   /* NULL: /dev/log */
	const char *app_name;      /* NULL: "procward" */
	int facility;              /* LOG_DAEMON, LOG_AUTHPRIV, ... (<syslog.h>); 0: LOG_DAEMON */
};
PW_API int pw_sink_add_syslog(struct pw_sink *o, const struct pw_sink_syslog_opts *opts);

/*
 * journald's native protocol (a datagram of fields; libsystemd is not
 * needed): MESSAGE = the record, PROCWARD_EVENT = the type, and for a
 * JSON object record each top-level scalar as PROCWARD_<KEY> (upper
 * case: PROCWARD_PID, PROCWARD_IMAGE, ...).
 */
struct pw_sink_journal_opts {
	size_t sz;
	const char *socket_path;   /* NULL: /run/systemd/journal/socket */
	const char *identifier;    /* SYSLOG_IDENTIFIER; NULL: "procward" */
};
PW_API int pw_sink_add_journal(struct pw_sink *o, const struct pw_sink_journal_opts *opts);

PW_API int pw_sink_start(struct pw_sink *o);
/*
 * Queue one record (a trailing newline is dropped; each target adds its
 * own separator) with its type (syslog msgid, journal PROCWARD_EVENT; may
 * be NULL). Never blocks on a target: -ENOBUFS when the queue is full
 * (counted in dropped).
 */
PW_API int pw_sink_push(struct pw_sink *o, const char *type, const char *line, size_t len);
/* Reopen files and sockets before the writer's next record. Async-signal-safe. */
PW_API void pw_sink_reopen(struct pw_sink *o);
/* Wait until everything pushed so far was handed to the targets: 0, -ETIMEDOUT (-1: forever). */
PW_API int pw_sink_flush(struct pw_sink *o, int timeout_ms);

struct pw_sink_stats {
	size_t sz;
	uint64_t pushed;       /* pw_sink_push calls */
	uint64_t written;      /* records every target took */
	uint64_t dropped;      /* records lost: queue full, or still queued when the drain time ended */
	uint64_t write_errors; /* target writes that failed (one record may count once per target) */
	uint64_t rotations;
	uint64_t reopens;
	uint64_t queued;       /* records waiting now */
};
PW_API int pw_sink_stats(const struct pw_sink *o, struct pw_sink_stats *stats);

/* ------------------------------------------------------------- redaction */
/*
 * Secrets in command lines, replaced by "***" in copies made for output:
 *  - NAME=VALUE where NAME ends in password, passwd, secret, token, apikey,
 *    api_key, api-key, credential(s), access_key, passphrase, or is the word
 *    pass, pwd, pw, auth or pin (--password=X, PGPASSWORD=X, ?token=X&);
 *  - the argument after --password, --token, ... (same names, no '=');
 *  - -pSECRET of the MySQL/MariaDB clients, and -p SECRET of sshpass;
 *  - Authorization: (the scheme stays: "Bearer ***"), X-Api-Key:,
 *    X-Auth-Token: and Cookie: header values;
 *  - user:SECRET@ in URLs.
 * User patterns are POSIX extended regexes matched against each argument:
 * every capture group's bytes are replaced, or the whole match if the
 * regex has no group (Tetragon's redaction filters). A redactor is
 * read-only once set up: any thread may use it then.
 */
struct pw_redactor;

struct pw_redact_opts {
	size_t sz;
	unsigned int no_builtin;   /* nonzero: only the user's patterns (not a bool, as above) */
};
PW_API int pw_redact_new(const struct pw_redact_opts *opts, struct pw_redactor **out);
PW_API void pw_redact_free(struct pw_redactor *r);
/* -PW_ERR_RULE_SYNTAX with regerror()'s message in errbuf; -PW_ERR_RULE_LIMIT past 64. */
PW_API int pw_redact_add_regex(struct pw_redactor *r, const char *regex, char *errbuf, size_t errlen);
/*
 * Redact a NUL-separated argv of len bytes. 1: something was replaced, and
 * *out (malloc'd, free() it) holds the new argv, NUL-separated, same count,
 * *out_len bytes; 0: nothing to hide (*out NULL); or -errno.
 */
PW_API int pw_redact_args(const struct pw_redactor *r, const char *args, size_t len, char **out,
			  size_t *out_len);

/* --------------------------------------------------------------- monitor */

struct pw_monitor;

/*
 * Return 0 to go on; a negative value stops pw_monitor_run()/dispatch(),
 * which return it.
 */
typedef int (*pw_event_fn)(struct pw_monitor *m, const struct pw_event *ev, void *userdata);

#define PW_BATCH_DELAY_DEFAULT_US 4000

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
	/*
	 * While events keep coming, wait this long after delivering a batch
	 * before reading again, so the kernel appends to the ring without
	 * waking the reader for each event (a wake-up is the largest single
	 * cost of an event on virtual machines). Bounds the added latency of a
	 * busy period; an idle monitor still wakes at the first event.
	 * 0: default (PW_BATCH_DELAY_DEFAULT_US, the value bench/README.md
	 * measured); -1: no delay (lowest latency, highest cost).
	 */
	int batch_delay_us;
	/*
	 * Secrets in argv replaced before the callback sees them (EXEC argv
	 * and argv from the process table alike), the event flagged
	 * PW_EVF_REDACTED. Borrowed: must outlive the monitor. NULL: none.
	 */
	const struct pw_redactor *redact;
};

/* Validates options; loads nothing yet. */
PW_API int pw_monitor_new(const struct pw_monitor_opts *opts, struct pw_monitor **out);
/*
 * Stops if running, detaches every program, frees. Accepts NULL. When it
 * returns, no link of the monitor exists (its protection rules end here);
 * the kernel drops the detached programs after an RCU grace period.
 *
 * Forked children: a child made by fork() while monitors exist (glibc's
 * fork(), which runs pthread_atfork handlers) gets none of their kernel
 * objects: before fork() returns in the child, each of the monitor's BPF
 * program, link, map and BTF descriptors is replaced by an eventfd, and
 * its shared mappings of the programs' global data by private memory, so
 * the child keeps nothing attached and nothing loaded, however long it
 * lives. The child's copy of the monitor is inert: it must not be used,
 * only freed (pw_monitor_free() there closes just those placeholders and
 * leaves the parent's monitor as it was). What the child still keeps until
 * it execs or exits: its mapping of the ring buffer, and the perf events
 * that syscall tracepoints are attached through, with no program on them.
 * vfork(), posix_spawn(), system() and popen() children exec (every BPF
 * descriptor is close-on-exec) or exit. Not covered: a raw clone() or
 * clone3() without CLONE_VM runs no handler, and such a child keeps the
 * programs attached until it execs or exits; pw_monitor_free() first
 * removes every protection rule from the kernel and silences every
 * program, so what it keeps enforces and reports nothing. A fork() on
 * another thread waits while a monitor loads or unloads its programs (so
 * that the child sees all of their descriptors or none); a log callback
 * that runs meanwhile may itself fork, but must not wait for a thread that
 * forks.
 */
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

/*
 * Dispatch until pw_monitor_stop() or a callback error. 0 after a stop; the
 * events already in the ring when the stop is seen are delivered first.
 */
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

/* ------------------------------------------------------ resource sampler */
/*
 * The sampler measures CPU and memory of every process at the application's
 * pace: each pw_sampler_sample() walks all tasks in the kernel with one BPF
 * task iterator (iter/task; one read(), no /proc file per process) and
 * reports what each process used since the previous sample. Processes that
 * exited since then, including those that started and exited between two
 * samples, come from their exit events (struct pw_rusage), so no CPU time
 * is lost between samples. Command lines come from the library's process
 * table (exec events, seeded from /proc once at start).
 *
 * Threads: one thread owns a sampler and calls everything on it; callbacks
 * run on that thread inside pw_sampler_dispatch() and pw_sampler_sample().
 * Needs what pw_monitor_start() needs, and PW_FEAT_TASK_ITER.
 */
struct pw_sampler;
struct pw_sample; /* borrowed: valid until the next pw_sampler_sample() or pw_sampler_free() */

/* One process in a sample. */
struct pw_proc_usage {
	size_t sz;                /* sizeof(struct pw_proc_usage) of the library */
	struct pw_proc_key key;
	pid_t ppid;
	uint32_t uid;             /* real uid */
	char name[16];            /* comm */
	char state;               /* as /proc/PID/stat: 'R', 'S', 'D', 'Z', 'T', 't', 'I', ...; 'X' exited */
	bool exited;              /* exited since the previous sample: values from its exit event */
	bool started;             /* started since the previous sample */
	bool kernel_thread;
	uint32_t threads;
	uint64_t cpu_ns;          /* CPU used since the process started (user + system), ns */
	uint64_t user_ns;         /* user share of cpu_ns (the kernel's tick ratio, as getrusage) */
	uint64_t system_ns;
	uint64_t cpu_delta_ns;    /* CPU used since the previous sample, ns */
	uint64_t rss_bytes;       /* resident set now; for exited processes their peak */
	uint64_t max_rss_bytes;   /* exited: peak RSS (ru_maxrss); else 0 (unknown) */
	int exit_status;          /* exited: the wait status */
	const char *image;        /* from the process table; NULL if unknown */
	size_t argc;              /* command line from the process table (0 if unknown) */
	const char *const *argv;
};

struct pw_sampler_opts {
	size_t sz;
	/*
	 * Optional. Receives PW_EVENT_PROCESS_EXIT (with pw_event_rusage) as
	 * they are collected, and PW_EVENT_RESOURCE_ALERT from alert rules. The
	 * monitor argument is the sampler's own (pw_sampler_monitor()).
	 */
	pw_event_fn on_event;
	void *userdata;
	pw_log_fn log;
	void *log_userdata;
	size_t max_processes;     /* process table bound; 0: 65536 */
};

PW_API int pw_sampler_new(const struct pw_sampler_opts *opts, struct pw_sampler **out);
/* Detaches everything, frees the last sample. Accepts NULL. Forked children: see pw_monitor_free(). */
PW_API void pw_sampler_free(struct pw_sampler *s);
/* Load, attach, seed the table and take the baseline sample (not returned). */
PW_API int pw_sampler_start(struct pw_sampler *s);
/* Readable when exit events wait: call pw_sampler_dispatch(). */
PW_API int pw_sampler_fd(const struct pw_sampler *s);
/* Collect exit events for up to timeout_ms (-1: until one arrives, 0: ready ones). Count or -errno. */
PW_API int pw_sampler_dispatch(struct pw_sampler *s, int timeout_ms);
/*
 * Take a sample now: collect pending exit events, walk the tasks, compute
 * the deltas since the previous sample, evaluate alert rules. *out is valid
 * until the next call or pw_sampler_free(). 0 or -errno.
 */
PW_API int pw_sampler_sample(struct pw_sampler *s, const struct pw_sample **out);
/*
 * The sampler's monitor, for pw_monitor_stats(); do not dispatch or free it.
 * It reads exit records only, through a 2 MiB ring (about 7000 exit records
 * between two dispatches); records lost to a full ring are counted there.
 */
PW_API struct pw_monitor *pw_sampler_monitor(struct pw_sampler *s);

/* CLOCK_MONOTONIC ns of the sample, and ns since the previous one. */
PW_API uint64_t pw_sample_time_ns(const struct pw_sample *smp);
PW_API uint64_t pw_sample_interval_ns(const struct pw_sample *smp);
/* Processes: live ones first (in pid order), then those that exited in the interval. */
PW_API size_t pw_sample_count(const struct pw_sample *smp);
PW_API const struct pw_proc_usage *pw_sample_process(const struct pw_sample *smp, size_t i);
/* Tasks the kernel walked, and ns the walk took (CLOCK_MONOTONIC around the read). */
PW_API size_t pw_sample_tasks(const struct pw_sample *smp);
PW_API uint64_t pw_sample_cost_ns(const struct pw_sample *smp);

/* -- alert rules: evaluated at every sample */
enum pw_alert_kind {
	PW_ALERT_CPU = 1,     /* CPU in percent of one CPU, above threshold for for_ms */
	PW_ALERT_RSS = 2,     /* resident set in bytes above threshold */
	PW_ALERT_THREADS = 3, /* more than threshold threads */
};

struct pw_alert_rule {
	size_t sz;
	enum pw_alert_kind kind;
	uint64_t threshold;   /* percent of one CPU, bytes, or threads */
	unsigned int for_ms;  /* the condition must hold at every sample for this long; 0: once */
	pid_t pid;            /* only this process; 0: every process */
	const char *name;     /* only processes with this comm; NULL: any */
};

#define PW_MAX_ALERT_RULES 16

/*
 * A rule raises one PW_EVENT_RESOURCE_ALERT per process each time the
 * process crosses it (the condition has held for for_ms), and is re-armed for
 * that process once a sample finds the condition false again. Returns the
 * rule's index (>= 0), or -EINVAL, PW_ERR_RULE_LIMIT. Before or after start.
 */
PW_API int pw_sampler_add_alert(struct pw_sampler *s, const struct pw_alert_rule *rule);
/*
 * "cpu > 90% for 5s", "rss > 2GiB", "threads > 500", optionally followed by
 * "pid N" or "name COMM". Sizes take K/M/G/T (powers of 1024, "iB" optional)
 * or none; durations ms or s. The name points into *storage (free() it).
 * 0 or PW_ERR_RULE_SYNTAX.
 */
PW_API int pw_alert_rule_parse(const char *text, struct pw_alert_rule *out, char **storage);

/*
 * RESOURCE_ALERT events: pw_event_pid/key/name/token() and the name
 * accessors describe the process (its token as the sampler read it); these
 * give the rule and the value that crossed it (percent, bytes or threads).
 */
PW_API int pw_event_alert_rule(const struct pw_event *ev);
PW_API enum pw_alert_kind pw_event_alert_kind(const struct pw_event *ev);
PW_API uint64_t pw_event_alert_value(const struct pw_event *ev);
PW_API uint64_t pw_event_alert_threshold(const struct pw_event *ev);

/* ------------------------------------------------------ access operations */
/*
 * Every operation by which one process reaches into another: ptrace,
 * process_vm_readv/writev, opening /proc/PID/mem, signals (kill, tgkill,
 * tkill, pidfd_send_signal), pidfd_open and pidfd_getfd. The Linux
 * counterpart of opening or duplicating a process or thread handle.
 *
 * Two event types (request them with PW_EVMASK_ACCESS in
 * pw_monitor_opts.events; PW_EVMASK_ALL does not include them):
 *  - PW_EVENT_THREAD_ACCESS: the operation names one thread (tgkill, tkill,
 *    ptrace of a thread other than the leader);
 *  - PW_EVENT_PROCESS_ACCESS: every other one.
 * For these events pw_event_pid/tid/key/name/token() and the user, group,
 * cgroup and container accessors describe the ORIGINATOR (the task that
 * made the call); the target has its own accessors below.
 *
 * Only operations on watched targets are reported (pw_monitor_watch_access,
 * pw_monitor_watch_access_all), and the kernel drops the others before any
 * ring-buffer space is used; originator rules narrow it further. A process
 * acting on itself is never reported.
 *
 * How it is observed: per-syscall tracepoints (syscalls/sys_enter_* and
 * sys_exit_*; the library mounts tracefs on /sys/kernel/tracing if no
 * tracefs is mounted, and says so at PW_LOG_INFO). Where that is impossible
 * it falls back to the raw sys_enter/sys_exit tracepoints, which run for
 * every syscall (logged at PW_LOG_WARN). The enter side decides and parks
 * the call by thread; the exit side adds the result and delivers it.
 *
 * /proc/PID/mem: openat() calls whose path is literally "/proc/<digits>/mem"
 * are reported (one short user read per openat while some target watches
 * memory rights). Paths relative to a directory fd, /proc/self/mem and
 * /proc/PID/task/TID/mem are not reported by observation; with BPF LSM they
 * are still enforced (the kernel's ptrace_access_check sees every open).
 *
 * Enforcement (pw_monitor_protect) needs BPF LSM (PW_FEAT_BPF_LSM):
 * lsm/ptrace_access_check (ptrace attach, /proc/PID/mem, process_vm_*,
 * pidfd_getfd, other PTRACE_MODE_READ checks), lsm/task_kill (signals,
 * group signals kill(-pgrp) and kill(-1) included: each member is checked,
 * and the call fails with EPERM only if no member got the signal) and,
 * for pidfd_open, which has no hook of its own, lsm/file_alloc_security
 * during a pidfd_open aimed at a protected process. A denied call fails
 * with EPERM (opening /proc/PID/mem: EACCES, which the kernel returns for
 * every refusal there) and its event has pw_event_access_denied() true.
 *
 * Paths that do not go through those checks, and how each is covered:
 *  - SIGIO/SIGURG to an F_SETOWN owner (any signal, SIGKILL included, with
 *    F_SETSIG): lsm/file_send_sigiotask; the signal is silently not sent.
 *    The uid exception is judged on whoever set the owner.
 *  - prlimit(2) on the target: lsm/task_setrlimit, needing SET_LIMITS and
 *    TERMINATE (lowering RLIMIT_CPU kills): prlimit fails with EPERM.
 *  - cgroup.kill and cgroup.freeze (cgroup v2) of any cgroup whose subtree
 *    holds the target: lsm/file_permission refuses the write (EPERM) for a
 *    rule denying terminate (kill) or suspend-resume (freeze).
 *  - A /proc/PID/mem fd opened before the rule, or received from another
 *    process: every read and write through it is checked
 *    (lsm/file_permission; EPERM).
 *  - A tracer attached before the rule: its ptrace requests are not
 *    checked again by the kernel, so pw_monitor_protect() refuses a PID
 *    rule for a process that has a tracer on any thread (-EBUSY) instead
 *    of pretending. Processes a name rule matches are not checked (below).
 *  - Reopening a target's file through /proc/PID/fd/N or map_files/N is
 *    DUP_HANDLE (lsm/inode_follow_link; EPERM); readlink() stays read-info.
 *  - perf_event_open() on the target: read-info, and READ_MEMORY too when
 *    it samples (registers and user stack; lsm/perf_event_alloc; EPERM).
 * Operations seen only by these hooks (PW_ACCESS_OP_SIGIO and later) are
 * reported when denied, not when allowed.
 *
 * NOT covered, and why. Signals the kernel sends as its own (SEND_SIG_PRIV):
 * check_kill_permission() returns before security_task_kill() for them, so
 * no LSM program sees them:
 *  - Terminal-generated signals: ^C, ^Z, ^\ on its controlling terminal,
 *    TIOCSIG on the pty master, SIGHUP and SIGCONT at a hangup. Whoever
 *    holds the terminal sends them. Remedy: no controlling terminal
 *    (setsid()). tests/integ/test_access.c shows TIOCSIG killing a process
 *    whose rule denies terminate.
 *  - The death of its PID namespace's init, which SIGKILLs every process
 *    in the namespace. Remedy: protect that init too.
 *  - The OOM killer, which can be aimed at it by raising its
 *    /proc/PID/oom_score_adj (its owner or root; the kernel asks for no
 *    ptrace access) or by lowering memory.max of a cgroup holding it.
 * Signals the kernel raises in the process itself: SIGBUS when a file it
 * has mapped is truncated (by anyone allowed to write that file), SIGXCPU
 * and SIGKILL at an RLIMIT_CPU set before the rule, SIGPIPE, SIGSEGV.
 * Outside what a rule can name:
 *  - CPU-wide perf events (pid -1; CAP_PERFMON, or perf_event_paranoid
 *    <= 0) sample every task on a CPU, registers and user stacks included,
 *    and name no task for lsm/perf_event_alloc to check.
 *  - Moving it into a cgroup that is already frozen (write access to both
 *    cgroups' cgroup.procs): the PID is in the written data, which no hook
 *    that sees the write can read.
 *  - A tracer attached before a name rule matched the process: the kernel
 *    checks a tracer once, at attach, and pw_monitor_protect() can refuse
 *    only a PID rule (-EBUSY).
 *  - root with CAP_SYS_ADMIN or CAP_BPF can rewrite procward's maps (by
 *    id), kill the process whose monitor holds the rules (they end with it:
 *    protect that process as well), load a kernel module, write
 *    /proc/sysrq-trigger or reboot. An LSM program cannot stand above the
 *    kernel that root controls.
 * Not covered although a hook exists (these slow, freeze or read the
 * process, none kills it; procward does not check them):
 *  - cgroup v1's freezer.state (cgroup v2's cgroup.freeze is covered);
 *  - setpriority(), sched_setscheduler(), sched_setaffinity(),
 *    ioprio_set() on it (same uid or CAP_SYS_NICE), and the cgroup v2
 *    limits cpu.max, io.max, pids.max;
 *  - /proc/PID files the kernel serves without a ptrace check (stat,
 *    status, cmdline, comm, ...).
 * A process is never refused anything on itself (its own threads).
 */

/* Access rights; an event carries the rights its operation needs. */
enum pw_access {
	PW_ACCESS_DEBUG = 1u << 0,        /* ptrace attach/seize and control requests */
	PW_ACCESS_READ_MEMORY = 1u << 1,  /* process_vm_readv, /proc/PID/mem read, PTRACE_PEEK* */
	PW_ACCESS_WRITE_MEMORY = 1u << 2, /* process_vm_writev, /proc/PID/mem write, PTRACE_POKE* */
	PW_ACCESS_READ_INFO = 1u << 3,    /* PTRACE_MODE_READ checks (/proc/PID/environ...), signal 0 */
	PW_ACCESS_TERMINATE = 1u << 4,    /* SIGKILL, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGABRT */
	PW_ACCESS_SUSPEND_RESUME = 1u << 5, /* SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT */
	PW_ACCESS_SIGNAL = 1u << 6,       /* any other signal (note: SIGUSR1 etc. kill by default) */
	PW_ACCESS_OPEN_HANDLE = 1u << 7,  /* pidfd_open */
	PW_ACCESS_DUP_HANDLE = 1u << 8,   /* pidfd_getfd, reopening /proc/PID/fd/N: copy a file out */
	PW_ACCESS_SET_LIMITS = 1u << 9,   /* prlimit on the target (also needs TERMINATE) */
	PW_ACCESS_ALL = 0x3ffu,
};

/* The operation of an access event. */
enum pw_access_op {
	PW_ACCESS_OP_PTRACE = 1,            /* detail: the ptrace request */
	PW_ACCESS_OP_PROCESS_VM_READV = 2,
	PW_ACCESS_OP_PROCESS_VM_WRITEV = 3,
	PW_ACCESS_OP_PROC_MEM_OPEN = 4,     /* detail: open(2) flags */
	PW_ACCESS_OP_KILL = 5,
	PW_ACCESS_OP_TGKILL = 6,
	PW_ACCESS_OP_TKILL = 7,
	PW_ACCESS_OP_PIDFD_SEND_SIGNAL = 8,
	PW_ACCESS_OP_PIDFD_OPEN = 9,
	PW_ACCESS_OP_PIDFD_GETFD = 10,      /* detail: the target's fd asked for */
	/*
	 * Denied by a rule in a call observation did not recognise (a group
	 * signal, a relative /proc path, sigqueue...): reported by the LSM hook,
	 * with result -EPERM.
	 */
	PW_ACCESS_OP_OTHER_PTRACE_CHECK = 11,
	PW_ACCESS_OP_OTHER_SIGNAL = 12,
	/* Seen only by LSM hooks (see above), so reported only when denied. */
	PW_ACCESS_OP_SIGIO = 13,         /* signal: the SIGIO/SIGURG/F_SETSIG signal */
	PW_ACCESS_OP_PRLIMIT = 14,       /* detail: the resource */
	PW_ACCESS_OP_CGROUP_KILL = 15,   /* detail: the cgroup's id */
	PW_ACCESS_OP_CGROUP_FREEZE = 16, /* detail: the cgroup's id */
	PW_ACCESS_OP_PROC_MEM_IO = 17,   /* read (detail 0) or write (1) through an open /proc/PID/mem */
	PW_ACCESS_OP_PROC_FD_OPEN = 18,  /* reopening /proc/PID/fd/N or map_files/N */
	PW_ACCESS_OP_PERF_EVENT = 19,    /* detail: the sample period (0: counting) */
};

/* "debug", "read-memory", ... for one bit; NULL otherwise. */
PW_API const char *pw_access_name(unsigned int right);
/* "ptrace", "process_vm_readv", "kill", ...; NULL for an unknown op. */
PW_API const char *pw_access_op_name(enum pw_access_op op);
/*
 * Parse a comma-separated list of right names ("terminate,debug,write-memory";
 * blanks around names are ignored) into *out. Also accepted: "all",
 * "memory" = read-memory+write-memory, "signals" = terminate+suspend-resume+
 * signal, and the short forms "kill" = terminate, "suspend" = suspend-resume,
 * "dup-handle" = duplicate-handle. 0, or -EINVAL for an unknown or empty name.
 */
PW_API int pw_access_parse(const char *list, unsigned int *out);

/* ACCESS events: the target process (thread-group id) and the thread the call named. */
PW_API pid_t pw_event_target_pid(const struct pw_event *ev);
PW_API pid_t pw_event_target_tid(const struct pw_event *ev);
/* Target key; start_ns is 0 when the kernel did not know it (see above). */
PW_API struct pw_proc_key pw_event_target_key(const struct pw_event *ev);
/* Target's process name when known, else NULL. */
PW_API const char *pw_event_target_name(const struct pw_event *ev);
/* Requested rights: enum pw_access bits. */
PW_API unsigned int pw_event_access(const struct pw_event *ev);
PW_API enum pw_access_op pw_event_access_op(const struct pw_event *ev);
/* Signal number of signal operations, else 0. */
PW_API int pw_event_signal(const struct pw_event *ev);
/* The syscall's return value: >= 0 success, -errno failure (-EPERM when denied). */
PW_API int64_t pw_event_access_result(const struct pw_event *ev);
/* True when procward's own rule (pw_monitor_protect) denied the operation. */
PW_API bool pw_event_access_denied(const struct pw_event *ev);
/* Operation detail: ptrace request, open flags, or the fd asked of pidfd_getfd. */
PW_API uint64_t pw_event_access_detail(const struct pw_event *ev);

/* A watched target: a process (and all its threads) by PID, or every process with a name. */
struct pw_access_target {
	size_t sz;
	pid_t pid;           /* > 0: this process; 0: use name */
	const char *name;    /* process name (comm of the leader, max 15 chars), exact */
	unsigned int access; /* rights to report (enum pw_access); 0: all */
	size_t :0;           /* see PW_OPTS: the tail padding is initialized too */
};

/*
 * Report access operations aimed at the target. Watching the same target
 * again replaces its rights. Before or after start; after start it takes
 * effect for the next operation. A PID target ends when that process exits
 * (a reused PID is not watched); a name follows processes as they exec or
 * rename to it (prctl PR_SET_NAME) and away from it. Errors: -EINVAL,
 * -ENAMETOOLONG, -ESRCH (no such PID), -ENOSPC (map full).
 */
PW_API int pw_monitor_watch_access(struct pw_monitor *m, const struct pw_access_target *t);
/* Stop watching a target added earlier (same pid or name); -ENOENT if none. */
PW_API int pw_monitor_unwatch_access(struct pw_monitor *m, const struct pw_access_target *t);
/*
 * Report operations on every process for these rights (0 turns it off).
 * Loud: every kill(2) on the machine for PW_ACCESS_TERMINATE. The target of
 * a thread-directed call on an unwatched process is given by its TID.
 */
PW_API int pw_monitor_watch_access_all(struct pw_monitor *m, unsigned int access);

/*
 * Originator filter for access events: PW_MATCH_PID and PW_MATCH_UID rules
 * (include/exclude, same semantics as pw_monitor_add_rule). Denials are
 * reported whoever the originator is.
 */
PW_API int pw_monitor_add_access_originator_rule(struct pw_monitor *m, const struct pw_rule *rule);
PW_API int pw_monitor_clear_access_originator_rules(struct pw_monitor *m);

/* pw_protect_rule.flags */
enum pw_protect_flag {
	PW_PROTECT_EXCEPT_UID = 1u << 0, /* originators whose effective uid is except_uid may */
	PW_PROTECT_EXCEPT_PID = 1u << 1, /* the process except_pid may (0: the calling process) */
	/*
	 * Name rules only: protect a process only while its name is the one its
	 * last exec gave it (the basename of the path executed), so nobody can
	 * opt in by renaming a process (prctl(PR_SET_NAME), /proc/PID/comm).
	 * The kernel records names at exec from the first such rule on; a
	 * process exec'd earlier is judged by its executable's file name (a
	 * program started through a symlink of another name is then not
	 * protected).
	 */
	PW_PROTECT_EXEC_NAME = 1u << 2,
};

/*
 * A protection rule: which rights are denied on a process (and all its
 * threads), by PID or by name, to whom. The protected process itself is
 * never denied anything. Denied operations fail with EPERM. A PID rule is
 * bound to that process (PID and start time): it ends when the process
 * exits, and a later process given the same PID is not protected.
 */
struct pw_protect_rule {
	size_t sz;
	pid_t pid;           /* > 0: this process; 0: use name */
	const char *name;    /* every process whose (leader's) name equals this */
	unsigned int deny;   /* enum pw_access bits, non-zero */
	unsigned int flags;  /* enum pw_protect_flag */
	uint32_t except_uid;
	pid_t except_pid;
};

/*
 * Add or replace (same pid or name) a protection rule. Before or after
 * start; from an event callback too: the next operation sees the change.
 * The protected target is watched for all rights, so its denials (and
 * the other operations on it) are reported when access events are asked
 * for. Errors: -PW_ERR_ENFORCE_UNAVAILABLE when this kernel cannot run BPF
 * LSM programs (PW_FEAT_BPF_LSM missing: nothing is enforced, and nothing is
 * stored), -EINVAL (PW_PROTECT_EXEC_NAME on a PID rule too), -ENAMETOOLONG,
 * -ESRCH (no such process, or it exited while the rule was added), -EBUSY
 * (the process has a tracer: ptrace(2) attached before the rule keeps full
 * control, so nothing is stored), -ENOSPC.
 */
PW_API int pw_monitor_protect(struct pw_monitor *m, const struct pw_protect_rule *rule);
/* Remove the rule for the same pid or name; -ENOENT if none. */
PW_API int pw_monitor_unprotect(struct pw_monitor *m, const struct pw_protect_rule *rule);

/* -------------------------------------------------------------- exec gate */
/*
 * The exec gate: the application sees every new program image before it
 * runs and allows or denies it. A denied execve fails in the caller (EPERM,
 * or the errno given where the kernel supports it); nothing of the program
 * runs. Built on fanotify FAN_OPEN_EXEC_PERM (needs CAP_SYS_ADMIN) and BPF
 * programs that note the caller and its credentials at execve entry.
 *
 * Threads: a pw_gate runs its own threads once started: a reader that takes
 * events from the kernel, applies static rules, enforces deadlines and calls
 * the handler itself while nothing waits; a watch thread that covers for it
 * when a handler takes long; `workers` - 1 more handler threads; and, if
 * on_decision is set, one that delivers decision records. pw_gate_new/add_rule/start/stop/free are called
 * by the thread that owns the gate (not from a handler). The verdict
 * functions may be called from any thread. Two gates, in one process or in
 * two, are independent and both decide every exec.
 *
 * Self: exec-opens by the gate's own process are allowed at once, without
 * rules or handler (a gate must never wait on itself); so are those of its
 * children that share its memory (vfork(), posix_spawn(), system(),
 * popen(): their exec is the gate's own, and they hold a copy of the
 * fanotify group until it completes). Other children are gated like any
 * other process.
 *
 * Crash safety: the kernel gives exec permission events no timeout, so
 * pw_gate_start() also starts a guardian: a small process (named
 * pw-guardian, pw_gate_stats.guardian_pid) that holds its own reference to
 * the fanotify group and answers for the gating process when it cannot.
 * The promise: every exec-open gets a verdict within timeout_ms + 250 ms
 * of being queued, whatever happens to the gating process:
 *  - stopped (SIGSTOP, a debugger, a frozen cgroup, `kill -STOP -PGID`:
 *    the guardian has its own session and process group), blocked (every
 *    handler stuck, threads in page faults on a hung filesystem: the
 *    guardian's memory is its own and locked), crashed or dumping core
 *    (the core dump's pipe helper is answered, allowed even when
 *    timeout_verdict denies: the application's core is not lost), killed (OOM,
 *    SIGKILL), exec'ing itself, or exiting without pw_gate_stop();
 *  - requests the gate read and did not answer by their deadline get
 *    timeout_verdict from the guardian 40 ms after it. A request's deadline
 *    is timeout_ms after the gate read it, but at most timeout_ms + 100 ms
 *    after its execve began (an exec the gate read late is not given more).
 *    Until the gate then reads or answers again, the guardian takes every
 *    exec-open at once (the interpreter of the exec it just allowed);
 *  - execs the gate does not read while it begins no read for timeout_ms
 *    (at least 100 ms) are read and answered by the guardian
 *    (timeout_verdict; kernel usermode helpers such as a core dump's pipe
 *    helper: allow), and then every further exec at once until the gate
 *    reads again. A gate that is only slow to read (a loaded machine, a
 *    sanitizer) is not overruled: an exec it had read at once could not
 *    have timed out by then either;
 *  - when the gating process dies or execs, the guardian removes the
 *    marks, answers everything and exits.
 * Such verdicts are counted (guardian_verdicts, guardian_read,
 * guardian_out_of_scope) and, for
 * requests the gate had read, reported to on_decision as
 * PW_GATE_BY_GUARDIAN once the gate runs again (a late verdict call
 * returns -ETIMEDOUT); execs the guardian read itself are counted only.
 * With kill_on_missed_deadline the guardian SIGKILLs a gate that misses
 * that many deadlines in a row (its core dump, if any, is cut short).
 * Costs: the guardian sleeps in poll() while nothing waits; under load it
 * wakes a few times per 100 ms window, not per exec; the gate writes each
 * request's slot (a few stores) and, after an idle spell, one eventfd.
 * An exec whose main image the guardian allowed is gated (not reported
 * ungated); its interpreter, read by the gate, is taken for one.
 * Limits, exactly:
 *  - the guardian itself stopped (SIGSTOP to its pid, a debugger attached
 *    to it) or killed together with the gating process: the guardian's
 *    part of the promise is gone. If both die, the kernel allows every
 *    waiting exec as the group closes; a child of the gate that holds the
 *    group (see below) keeps it open until its exec completes.
 *  - an exec the gate read but had not yet published (the few instructions
 *    between its read() and the publish) when it stopped waits until it
 *    runs again; if it died, the kernel allows it when the group closes.
 *  - the guardian knows the rules' scope, not the rules: with
 *    timeout_verdict DENY it denies the execs of processes some `gate` or
 *    `deny` rule's subject (uid, by-name, by-pid, children) matches, and
 *    allows every other (guardian_out_of_scope), as the gate itself
 *    would: a stopped or dead fail-closed gate fails closed only for what
 *    it gates. Everything gets timeout_verdict when that cannot be told:
 *    no subject-scoped `gate` rule, a `gate` or `deny` rule without a
 *    subject (it may match anyone), or no execve-entry record of the
 *    exec's thread whose process is still the one recorded (a kernel
 *    helper's exec, an exec begun before the gate was armed).
 *  - a scoped DENY gate in a group stop (SIGSTOP, job control; not a
 *    debugger's ptrace stop) has its queue read by the guardian at once,
 *    so execs out of its scope do not wait timeout_ms for it; its in-scope
 *    execs then get timeout_verdict at once too, not at their deadline.
 *  - timeout_ms + 250 ms assumes the machine schedules the guardian (it
 *    has no real-time priority). An interpreter's deadline counts from
 *    when the gate read it (its execve began before the main image was
 *    decided).
 * Children: a child forked (fork()) by the gating process closes its copy
 * of the group at once (pthread_atfork), and must not use or free the
 * parent's pw_gate. Children sharing its memory are answered at once (see
 * Self). Children created by a raw clone() without either hold a copy
 * until their exec completes; while the guardian lives that is harmless.

 * Held execs: an exec of a gated process that fanotify never asked about
 * (a memfd or other anonymous file, a filesystem the gate has not marked:
 * one mounted in a private mount namespace, say; `ld.so PROGRAM`, below; a
 * cached allow whose file changed) is stopped by the kernel at
 * sched_process_exec, before its first instruction (SIGSTOP from BPF), and
 * decided like any other: the same rules and handler, on /proc/PID/exe
 * (pw_exec_fd; pw_exec_image is its path) and the stopped process's
 * command line (pw_exec_arg; pw_exec_filename is empty), with
 * pw_exec_flags() PW_EXEC_HELD and the record's pw_decision_held(). An
 * allow continues it (SIGCONT), a deny kills it (SIGKILL: the exec has
 * happened, so there is no errno to give). The filesystem of a held exec
 * is then marked through its image (pw_gate_stats.filesystems_marked_held;
 * not FUSE, whose server could stall the gate), so the next exec from a
 * private namespace's tmpfs is asked about at its open like any other,
 * and a deny there is an errno; a memfd's internal filesystem cannot be
 * marked, so every memfd exec is held. Only while a rule or the
 * handler could deny (not in audit mode); otherwise such execs are reported
 * only. A stop alone is no hold against the process's owner: a BPF watch
 * kills a held process that anything else resumes before its verdict, by
 * SIGCONT from any source or by a tracer attaching
 * (pw_gate_stats.held_resumed_killed). Processes where that watch cannot
 * work are killed at exec instead (held_killed, logged with the reason):
 * already traced; SIGHUP ignored or blocked (the kernel itself sends SIGHUP
 * and SIGCONT to a stopped orphaned job, from where BPF cannot signal);
 * more than 1024 held at once.
 * Kernels: the watch needs bpf_send_signal_task() (6.13+). On older ones
 * (6.1, 6.12) nothing is held: such execs of gated processes are killed at
 * exec whenever a rule or the handler could deny them (fail closed), a
 * warning says so at start, and pw_gate_hold_supported() is false.
 * Liveness: a held exec is a stopped process, and gets the same promise as
 * an exec-open: a verdict within timeout_ms + 250 ms of its stop. The gate
 * reads held execs on its reader thread, or on the watch thread while the
 * reader is in a handler, and publishes each to the guardian; at the
 * deadline the guardian continues or kills it (timeout_verdict) for a gate
 * that is stopped or stuck; held execs the gate did not even read (the
 * kernel's ring unread for 100 ms) it finds in the kernel's table and
 * treats the same way; when the gating process dies, it gives every process
 * still held the verdict the gate left for it, or timeout_verdict, at once
 * (pw_gate_stats.guardian_held). Limits: the guardian checks a held
 * process by its start time before it signals it (pid reuse); a held exec
 * the gate read but did not publish yet when it stopped, past its
 * deadline, can get the guardian's verdict and, later, the gate's (a kill
 * from either wins). If the guardian dies too, held processes stay stopped
 * (SIGCONT by root releases them: the watch is gone with the gate).
 *
 * Mounts: at start the gate marks every filesystem of its own mount
 * namespace, and each one mounted there later (POLLPRI on mountinfo). A
 * mount(2) or move_mount(2) in any other mount namespace (a container's, a
 * user's `unshare -Urm`) is reported by a syscall tracepoint, and the gate
 * marks the new filesystems it finds in that namespace's mountinfo
 * (pw_gate_stats.filesystems_marked_mounted). Each mount point is resolved
 * from /proc/PID/root a component at a time, without following symlinks,
 * never looking up a name inside FUSE (whose server, any user in a user
 * namespace, could stall the lookup forever) or, in other namespaces,
 * inside overlay (its layers may be FUSE), and checked by its mount id;
 * FUSE itself is marked in the gate's namespace only. A scan tries at most
 * 256 mounts, newest first; the kernel reports a namespace once until it
 * is rescanned. This is an optimisation of "Held execs",
 * not a replacement: an exec from a filesystem before it was marked (an
 * exec right after its mount; a detached fsmount(2) tree never attached;
 * a report lost in a flood of mounts, mounts_lost) is held or, on kernels
 * before 6.13, killed, as before. It needs the syscall tracepoints
 * (tracefs, mounted by the gate if it can); without them, and with
 * mounts = PW_GATE_MOUNTS_OWN_NS, only the gate's own namespace is
 * marked as mounted.
 *
 * The loader: `ld.so PROGRAM [ARGS]` (the system's ELF interpreters, found
 * at start from PT_INTERP of /bin/sh and friends, or a copy of one by size
 * and SHA-256) maps PROGRAM with a plain open(), which fanotify never asks
 * about. Its exec-open is decided as usual but not marked gated, so the
 * exec is then held, and decided on PROGRAM, found as ld.so finds it (its
 * options parsed, relative to the process's cwd and root); the request
 * (PW_EXEC_VIA_LOADER, pw_exec_fd/image/sha256 are PROGRAM's) and the
 * record (pw_decision_via_loader) say so (pw_gate_stats.via_loader). A
 * PROGRAM the gate cannot find that way (without a slash: a search of
 * LD_LIBRARY_PATH or the system directories) is denied
 * (loader_unresolved). Without held execs (kernels before 6.13) `ld.so
 * PROGRAM` of a gated process is killed whenever anything could deny it.
 *
 * Verdict cache: a verdict given with pw_exec_allow_cached() or
 * pw_exec_deny_cached(), or by a rule with `cache`, holds for the program
 * image (the file: device and inode, so every path and hard link to it)
 * until the file changes. A cached allow is enforced by the kernel: the gate
 * puts a fanotify ignore mark on the inode, and further exec-opens of it
 * (as a program, a script or an interpreter) are not asked about at all. A
 * cached deny is answered by the library, after the static rules and
 * without calling the handler. A cached verdict therefore may not depend on
 * argv, on the subject (pid, name, uid, credentials, parent) or on
 * pw_exec_is_interpreter(); only on the image. The library refuses to cache
 * (pw_gate_stats.cache_refused, and an INFO log line saying why) when:
 *  - the rule that matched this exec depends on argv (`arg`), or decided by
 *    the subject (allow/deny with uid, by-name, by-pid; `gate` rules with a
 *    subject only choose who is asked, and do not prevent caching);
 *  - for an allow: a deny rule that depends on the subject or argv could
 *    match this image for another exec (the kernel would skip it);
 *  - the rules changed since the request was routed; audit mode; the file
 *    changed while it was being decided;
 *  - for an allow: the image is a script (#!): at exec time the kernel no
 *    longer knows a script's file, so it could not tell a cached script
 *    from an ungated one. Its interpreter may be cached;
 *  - for an allow: the file is not owned by root, or is writable by group
 *    or others (for a POSIX ACL, its mask), or lives on a network or FUSE
 *    filesystem: its content could change without a write(2) the gate
 *    sees (a shared writable mapping raises no modify event, and the
 *    kernel's ignore mark would stay), so only root could change it
 *    unseen; or it is a held or loader exec (no fanotify event to mark).
 * An exec whose program image has a cached allow produces no event for the
 * image; its ELF interpreter (ld.so), unless cached too, then arrives as the
 * first exec-open of that execve and is presented as the program
 * (pw_exec_is_interpreter() false): a handler that caches allows should
 * allow (and may cache) the system's ELF interpreters. Execs allowed by a
 * cached verdict are reported to on_decision (PW_GATE_BY_CACHE) from the
 * kernel's exec tracepoint, so the decision log has no hole.
 * Invalidation: any write to the file clears the kernel's ignore mark (the
 * gate never uses FAN_MARK_IGNORED_SURV_MODIFY) and changes its ctime, which
 * cached denies are checked against, and which the kernel checks a cached
 * allow against at every exec (the ctime saved with it): a changed file's
 * exec is held and decided (see "Held execs"; pw_gate_stats.cache_stale)
 * and its entry dropped; a file replaced by rename is a new
 * inode; adding or removing a rule drops every cached verdict before the
 * call returns; a stopped gate leaves nothing behind (a new fanotify group
 * on restart). The cache holds at most cache_entries images, least recently
 * used out first, and one file descriptor per cached allow (to remove its
 * mark on eviction).
 */

struct pw_gate;
struct pw_exec_request;   /* borrowed: see pw_gate_fn */
struct pw_gate_decision;  /* borrowed: valid only inside on_decision */

enum pw_exec_verdict {
	PW_EXEC_ALLOW = 1,
	PW_EXEC_DENY = 2,
};

/* Why a verdict was given (pw_decision_reason). */
enum pw_gate_reason {
	PW_GATE_BY_RULE = 1,     /* a static rule (allow/deny) decided */
	PW_GATE_BY_HANDLER = 2,  /* the handler's verdict */
	PW_GATE_BY_TIMEOUT = 3,  /* no verdict before the deadline: timeout_verdict */
	PW_GATE_BY_ERROR = 4,    /* the handler failed: error_verdict */
	PW_GATE_BY_DEFAULT = 5,  /* out of scope, no handler, or the handler gave no verdict */
	PW_GATE_BY_SELF = 6,     /* the gate's own process: allowed at once */
	PW_GATE_BY_OVERLOAD = 7, /* more than max_pending requests waiting: timeout_verdict */
	PW_GATE_BY_SHUTDOWN = 8, /* pending when the gate stopped: timeout_verdict */
	PW_GATE_UNGATED = 9,     /* exec fanotify never saw (memfd, unmarkable fs); DENY = killed */
	PW_GATE_BY_CACHE = 10,   /* a cached verdict (an allow is reported from the kernel's exec hook) */
	PW_GATE_BY_GUARDIAN = 11, /* the guardian answered (timeout_verdict): the gate could not in time */
};

/* What to do with the exec-opens of interpreters (ld.so, #! interpreters). */
enum pw_gate_interp {
	PW_GATE_INTERP_RULES = 0,   /* static rules apply; otherwise allowed without the handler */
	PW_GATE_INTERP_ALLOW = 1,   /* allowed at once */
	PW_GATE_INTERP_HANDLER = 2, /* static rules, then the handler (pw_exec_is_interpreter) */
};

/*
 * Which filesystems the gate marks for exec permission events as they are
 * mounted (see "Mounts").
 */
enum pw_gate_mounts {
	PW_GATE_MOUNTS_EVERY_NS = 0, /* its own mount namespace's, and every other's */
	PW_GATE_MOUNTS_OWN_NS = 1,   /* its own only: execs from others' are held (or killed) */
};

/*
 * Called on a worker thread for each exec the static rules leave open. Give
 * a verdict with pw_exec_allow()/pw_exec_deny(), in the handler or, after
 * pw_exec_defer(), later from any thread. Returning without a verdict (and
 * without deferring) applies timeout_verdict at once. A negative return is a
 * handler failure: error_verdict is applied and on_error is called.
 *
 * The request is borrowed: valid until the handler returns, or, after
 * pw_exec_defer(), until the application's verdict call (at the latest
 * until pw_gate_free()). A deferred request must get that call even if the
 * handler then failed or the gate stopped meanwhile: it releases the
 * request, and returns -ETIMEDOUT if a verdict was given without it.
 */
typedef int (*pw_gate_fn)(struct pw_gate *g, struct pw_exec_request *req, void *userdata);

/* Called on the decision thread, off the decision path; it may block. */
typedef void (*pw_gate_decision_fn)(struct pw_gate *g, const struct pw_gate_decision *d,
				    void *userdata);

/* A handler failed (err: its negative return). Called on the worker thread. */
typedef void (*pw_gate_error_fn)(struct pw_gate *g, const struct pw_exec_request *req, int err,
				 void *userdata);

struct pw_gate_opts {
	size_t sz;
	pw_gate_fn handler;            /* NULL: static rules only; the rest is allowed */
	void *userdata;
	unsigned int timeout_ms;       /* deadline of a handler's verdict; 0: 1000 */
	enum pw_exec_verdict timeout_verdict; /* on timeout, overload, shutdown; 0: ALLOW */
	enum pw_exec_verdict error_verdict;   /* on a handler failure; 0: ALLOW (fail-open) */
	/*
	 * Handler calls at once; 0: 4. The thread reading fanotify is one of
	 * them: it calls the handler itself when no request waits (no hand-off
	 * per exec), and if a call takes over 2 ms another thread reads on.
	 */
	unsigned int workers;
	unsigned int max_extensions;   /* pw_exec_extend() calls per request; 0: 4 */
	unsigned int max_pending;      /* requests waiting at once; 0: 256 */
	enum pw_gate_interp interpreters;
	/*
	 * Ungated execs (no fanotify event: memfd, a filesystem that cannot be
	 * marked) of gated processes are held and decided (see "Held execs")
	 * whenever a rule or the handler could deny them, and reported
	 * (PW_GATE_UNGATED) otherwise; with this set they are killed in the
	 * kernel before their first instruction instead, held or not.
	 */
	bool fail_closed_ungated;
	bool audit;                    /* report only: every exec is allowed; records say what would be */
	pw_gate_decision_fn on_decision; /* NULL: no decision records */
	void *decision_userdata;
	unsigned int decision_queue;   /* records buffered for on_decision; 0: 1024 */
	pw_gate_error_fn on_error;
	pw_log_fn log;                 /* NULL: silent; called from the gate's threads (the reader too): keep it quick */
	void *log_userdata;
	unsigned int cache_entries;    /* images in the verdict cache; 0: 256; at most 4096 */
	/*
	 * Where the new argv/filename come from. false (default): read from
	 * the exec'ing process's memory (process_vm_readv) while it waits, and
	 * only if a rule or the handler asks; an exec nobody asks about costs
	 * nothing. true: copied in the kernel at every execve entry (~4 us per
	 * exec); chosen automatically where Yama's ptrace_scope is 3, or when a
	 * read is refused (logged).
	 */
	bool argv_in_kernel;
	/*
	 * Which decisions make records for on_decision; 0: every one. A record
	 * is made when a selected bit matches: PW_GATE_RECORD_DENIED for every
	 * deny (in audit mode, every would-be deny), PW_GATE_RECORD_REASON(r)
	 * for the decisions given for reason r. A decision nothing selects
	 * costs no record: its argv is not read, its image path not resolved.
	 */
	unsigned int decision_filter;
	/* ---- liveness (see "Crash safety") */
	/*
	 * Endpoint-Security behaviour, off by default (0): after this many
	 * deadlines in a row that the guardian had to answer for the gating
	 * process, the guardian SIGKILLs it (the kernel then releases
	 * everything). Any verdict the gating process gives itself resets the
	 * count.
	 */
	unsigned int kill_on_missed_deadline;
	/*
	 * Redact the argv of decision records (on the decision thread, before
	 * on_decision): rules and the handler always see the real argv.
	 * Borrowed: must outlive the gate. NULL: none.
	 */
	const struct pw_redactor *redact;
	enum pw_gate_mounts mounts;    /* 0: marked as mounted in every mount namespace */
};

#define PW_GATE_RECORD_DENIED (1u << 0)
#define PW_GATE_RECORD_REASON(reason) (1u << (reason))
/*
 * The gate CLI's default log: denials, and every decision that is not a
 * routine allow (by rule, handler, default, self or cache): timeouts,
 * handler errors, overload, shutdown, ungated execs, and reasons added later.
 */
#define PW_GATE_RECORD_NOTABLE                                                 \
	(~(PW_GATE_RECORD_REASON(PW_GATE_BY_RULE) | PW_GATE_RECORD_REASON(PW_GATE_BY_HANDLER) | \
	   PW_GATE_RECORD_REASON(PW_GATE_BY_DEFAULT) | PW_GATE_RECORD_REASON(PW_GATE_BY_SELF) | \
	   PW_GATE_RECORD_REASON(PW_GATE_BY_CACHE)))

/* Static rules, evaluated in the library before the handler, in order; the first match decides. */
enum pw_gate_action {
	PW_GATE_ALLOW = 1, /* allow, no handler */
	PW_GATE_DENY = 2,  /* deny with deny_errno, no handler */
	PW_GATE_ASK = 3,   /* call the handler ("gate"); with a subject, defines the gated set */
};

struct pw_gate_rule {
	size_t sz;
	enum pw_gate_action action;
	int deny_errno;            /* DENY: 0 = EPERM */
	/* What: the image (or interpreter) opened for exec. NULL/false = any. */
	const char *path;          /* absolute path, exact */
	const char *name;          /* last path component of the image */
	const uint8_t *sha256;     /* 32 bytes: SHA-256 of the file content */
	/* Whose: the exec'ing process, before the exec. */
	bool has_uid;
	uint32_t uid;              /* real uid */
	const char *subject_name;  /* process name (comm) */
	pid_t subject_pid;         /* 0 = any */
	bool children;             /* subject_pid/subject_name also match their descendants */
	/* Argv: an argument after argv[0] equals this. NULL = any. */
	const char *arg;
	/* ALLOW/DENY without subject or arg: cache the verdict for the image (see "Verdict cache"). */
	bool cache;
	size_t :0; /* see PW_OPTS: the tail padding is initialized too */
};

/*
 * Scope: if any ASK rule has a subject, only the processes such rules match
 * are gated (handler, ungated reports); execs no rule matches are allowed.
 * Without such a rule, every exec no rule decides goes to the handler.
 *
 * Text form, one rule per line (`#` starts a comment):
 *   allow|deny|gate [errno EPERM|EIO|EBUSY|ETXTBSY|EAGAIN|ENOSPC|EDQUOT|NUM] [path P] [name N] [sha256 HEX]
 *                   [uid U] [by-name COMM] [by-pid PID] [children] [arg A] [cache]
 * e.g. "deny path /usr/bin/nc", "deny name curl uid 1000",
 * "gate by-pid 1234 children", "allow path /usr/bin/cc cache".
 */
PW_API int pw_gate_rule_parse(const char *text, struct pw_gate_rule *out, char **storage);

PW_API int pw_gate_new(const struct pw_gate_opts *opts, struct pw_gate **out);
/* Stops if running, frees. Accepts NULL. */
PW_API void pw_gate_free(struct pw_gate *g);

/*
 * Append a rule. Before or after pw_gate_start(), by the thread that owns
 * the gate (not from a handler). While the gate runs, rules with a subject
 * (uid, by-name, by-pid) are refused with -EBUSY (they are loaded into the
 * kernel at start); any other rule applies to every exec-open that arrives
 * after the call returns, and every cached verdict is dropped before it
 * returns. Errors: -EINVAL, -EBUSY, PW_ERR_RULE_LIMIT.
 */
PW_API int pw_gate_add_rule(struct pw_gate *g, const struct pw_gate_rule *rule);
PW_API int pw_gate_add_rule_text(struct pw_gate *g, const char *text);
/*
 * Remove the rule at `index` (as pw_decision_rule() counts: the order added;
 * later rules move up by one). Same threads and rules as pw_gate_add_rule():
 * while running, -EBUSY for a rule with a subject; drops every cached
 * verdict. -ENOENT if there is no such rule.
 */
PW_API int pw_gate_remove_rule(struct pw_gate *g, unsigned int index);
/*
 * Parse a whole rules file; on any error nothing is added, and errbuf gets
 * "PATH:LINE: message". Returns the number of rules added, or negative.
 * Before pw_gate_start() only (-EBUSY after).
 */
PW_API int pw_gate_load_rules_file(struct pw_gate *g, const char *path, char *errbuf,
				   size_t errlen);
/*
 * Replace every rule by those of a rules file, atomically: each exec-open
 * is decided by the old set or by the new one, and cached verdicts are
 * dropped. On any error (errbuf: "PATH:LINE: message") the rules in force
 * stay. While running, rules with uid, by-name or by-pid must be the same
 * as the running ones, in the same order (they are in the kernel since
 * start), else -EBUSY. Returns the number of rules, or negative. By the
 * thread that owns the gate, before or after pw_gate_start().
 */
PW_API int pw_gate_replace_rules_file(struct pw_gate *g, const char *path, char *errbuf,
				      size_t errlen);

/*
 * Load the BPF programs, start the guardian (see "Crash safety"), mark
 * every filesystem, start the threads. From here on every exec on the
 * machine waits for this gate. Errors: -EPERM
 * (needs root: CAP_SYS_ADMIN for fanotify permission events, and BPF),
 * PW_ERR_NO_BTF, PW_ERR_NO_BPF, PW_ERR_KERNEL_FEATURE.
 */
PW_API int pw_gate_start(struct pw_gate *g);
/*
 * Answer everything pending or queued with timeout_verdict
 * (PW_GATE_BY_SHUTDOWN; queued requests get no handler call), join the
 * threads (waits for running handlers, on_decision calls and verdict calls
 * in progress on other threads), stop the guardian, release the kernel
 * objects. Idempotent.
 */
PW_API void pw_gate_stop(struct pw_gate *g);

struct pw_gate_stats {
	size_t sz;
	uint64_t decisions;       /* exec-opens answered (self and interpreters included) */
	uint64_t allowed;
	uint64_t denied;
	uint64_t by_rule;
	uint64_t by_handler;
	uint64_t timed_out;
	uint64_t late_verdicts;   /* verdicts after the library had answered: ignored */
	uint64_t handler_errors;
	uint64_t self_allowed;
	uint64_t interpreter_opens;
	uint64_t overloaded;
	uint64_t ungated;         /* execs fanotify never saw, of gated processes */
	uint64_t ungated_killed;
	uint64_t ungated_lost;    /* ungated reports the kernel could not queue */
	uint64_t no_args;         /* events without a captured argv (counted, decided anyway) */
	uint64_t sink_dropped;    /* decision records dropped: on_decision too slow */
	uint64_t filesystems_marked;
	uint64_t filesystems_unmarkable;
	uint64_t extensions;
	/* verdict cache */
	uint64_t cache_hits;        /* execs decided by a cached verdict (allows: counted in the kernel) */
	uint64_t cache_misses;      /* requests that went to the handler: no cached verdict */
	uint64_t cache_entries;     /* images cached now */
	uint64_t cache_evictions;   /* dropped to make room (least recently used) */
	uint64_t cache_flushes;     /* every entry dropped: a rule was added or removed */
	uint64_t cache_refused;     /* cached verdicts asked for but not cached (see "Verdict cache") */
	uint64_t cache_invalidated; /* entries found stale: the file changed since */
	/* ---- liveness: the guardian (see "Crash safety"); kept after stop */
	uint64_t guardian_verdicts; /* exec-opens the guardian answered (timeout_verdict) */
	uint64_t guardian_read;     /* of them: read from the queue by the guardian (the gate read none of it) */
	uint64_t guardian_kernel_helpers; /* of them: kernel usermode helpers, allowed (core dump pipe...) */
	uint64_t guardian_kills;    /* gating process SIGKILLed (kill_on_missed_deadline) */
	int64_t guardian_pid;       /* the guardian process while the gate runs; 0 otherwise */
	/* --- issue 12: execs fanotify never saw, and the loader --- */
	uint64_t held;              /* ungated execs stopped and decided on /proc/PID/exe */
	uint64_t held_killed;       /* ungated execs killed at exec: they could not be held safely */
	uint64_t held_resumed_killed; /* held processes killed because something resumed them first */
	uint64_t held_escaped;      /* ... that the kernel could not stop in time (killed late, by user space) */
	uint64_t via_loader;        /* `ld.so PROGRAM` execs decided on PROGRAM */
	uint64_t loader_unresolved; /* ... whose PROGRAM could not be found: denied */
	uint64_t cache_stale;       /* cached allows found changed at exec (ctime): held and decided */
	uint64_t tree_dropped;      /* children left out of a `children` subject: the kernel map was full */
	uint64_t guardian_held;     /* held execs the guardian continued or killed for a gate that did not */
	uint64_t filesystems_marked_held; /* filesystems of other mount namespaces marked through a held exec */
	/*
	 * Of guardian_verdicts: exec-opens out of the rules' scope (see "Crash
	 * safety") that the guardian allowed although timeout_verdict denies.
	 */
	uint64_t guardian_out_of_scope;
	/* --- mounts in other mount namespaces (see "Mounts") --- */
	uint64_t filesystems_marked_mounted; /* ... marked when the mount was reported */
	uint64_t mounts_reported;   /* mount(2)/move_mount(2) in other namespaces the gate was told of */
	uint64_t mounts_lost;       /* ... it could not be told of: the kernel's queue was full */
	uint64_t mounts_unresolved; /* ... whose namespace had no process left to read it through */
};
PW_API int pw_gate_stats(const struct pw_gate *g, struct pw_gate_stats *stats);

/* Whether pw_exec_deny() can return errnos other than EPERM here (FAN_DENY_ERRNO). */
PW_API bool pw_gate_deny_errno_supported(const struct pw_gate *g);
/*
 * Whether this running gate holds the execs fanotify cannot see (see "Held
 * execs"): false on kernels without bpf_send_signal_task (before 6.13),
 * where such an exec of a gated process is killed instead (fail closed)
 * whenever a rule or the handler could deny it. False before start.
 */
PW_API bool pw_gate_hold_supported(const struct pw_gate *g);

/* -- the request: valid while borrowed (see pw_gate_fn) */
PW_API pid_t pw_exec_pid(const struct pw_exec_request *req);
PW_API pid_t pw_exec_tid(const struct pw_exec_request *req);
PW_API pid_t pw_exec_parent_pid(const struct pw_exec_request *req);
PW_API struct pw_proc_key pw_exec_key(const struct pw_exec_request *req);
/* Name (comm) of the process before the exec. */
PW_API const char *pw_exec_name(const struct pw_exec_request *req);
/*
 * The new argv, as passed to execve; NULL past the end. Read from the
 * exec'ing process on the first call (see argv_in_kernel), so call these
 * before giving the verdict: afterwards the process may already run its new
 * image, and they return 0/NULL (with PW_EXEC_NO_ARGS) unless read before.
 */
PW_API size_t pw_exec_argc(struct pw_exec_request *req);
PW_API const char *pw_exec_arg(struct pw_exec_request *req, size_t i);
/* execve's filename argument, as passed (may be relative; "" for fexecve). */
PW_API const char *pw_exec_filename(struct pw_exec_request *req);
/* Absolute path of the file being opened for exec (resolved from its fd). */
PW_API const char *pw_exec_image(struct pw_exec_request *req);
/* The exec'ing task's credentials at execve entry; NULL if not captured. */
PW_API const struct pw_token *pw_exec_token(const struct pw_exec_request *req);
/* An interpreter (ld.so, #! interpreter) of the exec, not its main image. */
PW_API bool pw_exec_is_interpreter(const struct pw_exec_request *req);
/* Read-only fd of the image, to read or hash it; owned by the library. */
PW_API int pw_exec_fd(const struct pw_exec_request *req);
/* SHA-256 of the image content, computed once per request. 0 or -errno. */
PW_API int pw_exec_sha256(struct pw_exec_request *req, uint8_t out[32]);

enum pw_exec_flag {
	PW_EXEC_ARGS_TRUNCATED = 1u << 0, /* argv longer than captured, or unreadable */
	PW_EXEC_NO_ARGS = 1u << 1,        /* nothing was captured for this exec */
	/* issue 12 (see "Held execs" and "The loader" above pw_gate_opts): */
	PW_EXEC_HELD = 1u << 2,           /* a held exec: the process is stopped, fd is /proc/PID/exe */
	PW_EXEC_VIA_LOADER = 1u << 3,     /* `ld.so PROGRAM`: the request is about PROGRAM */
};
PW_API unsigned int pw_exec_flags(struct pw_exec_request *req);

/* -- verdicts: any thread. 0; -ETIMEDOUT if the library answered already (counted late); -EALREADY */
PW_API int pw_exec_allow(struct pw_exec_request *req);
/* err: errno for the exec'ing caller; 0 = EPERM. Without kernel support, EPERM is used. */
PW_API int pw_exec_deny(struct pw_exec_request *req, int err);
/* Push the deadline to now + ms; at most max_extensions times (-E2BIG after). */
PW_API int pw_exec_extend(struct pw_exec_request *req, unsigned int ms);
/*
 * The same verdicts, cached for the image (see "Verdict cache" above). The
 * verdict itself is given as by pw_exec_allow()/pw_exec_deny(), with the
 * same returns; whether it was cached shows in pw_gate_stats (a refusal is
 * not an error).
 */
PW_API int pw_exec_allow_cached(struct pw_exec_request *req);
PW_API int pw_exec_deny_cached(struct pw_exec_request *req, int err);
/* Keep the request past the handler's return; a verdict call must follow (it releases it). */
PW_API int pw_exec_defer(struct pw_exec_request *req);

/* -- decision records (on_decision) */
PW_API enum pw_exec_verdict pw_decision_verdict(const struct pw_gate_decision *d);
PW_API enum pw_gate_reason pw_decision_reason(const struct pw_gate_decision *d);
PW_API int pw_decision_errno(const struct pw_gate_decision *d);  /* DENY: errno given */
PW_API bool pw_decision_audit(const struct pw_gate_decision *d); /* audit: not enforced */
PW_API bool pw_decision_is_interpreter(const struct pw_gate_decision *d);
PW_API pid_t pw_decision_pid(const struct pw_gate_decision *d);
PW_API pid_t pw_decision_tid(const struct pw_gate_decision *d);
PW_API uint32_t pw_decision_uid(const struct pw_gate_decision *d);
PW_API const char *pw_decision_name(const struct pw_gate_decision *d);
PW_API const char *pw_decision_image(const struct pw_gate_decision *d);
PW_API const char *pw_decision_filename(const struct pw_gate_decision *d);
PW_API size_t pw_decision_argc(const struct pw_gate_decision *d);
PW_API const char *pw_decision_arg(const struct pw_gate_decision *d, size_t i);
/* -1 when no rule decided; else the index of the rule in the order added. */
PW_API int pw_decision_rule(const struct pw_gate_decision *d);
/* CLOCK_MONOTONIC ns of the answer, and ns from the event's arrival to the answer. */
PW_API uint64_t pw_decision_time_ns(const struct pw_gate_decision *d);
PW_API uint64_t pw_decision_latency_ns(const struct pw_gate_decision *d);
PW_API const char *pw_gate_reason_name(enum pw_gate_reason reason);
/* issue 12: the exec was held (stopped, decided on /proc/PID/exe), or killed because it could not be */
PW_API bool pw_decision_held(const struct pw_gate_decision *d);
/* issue 12: `ld.so PROGRAM`: the record is about PROGRAM (image), decided in ld.so's stead */
PW_API bool pw_decision_via_loader(const struct pw_gate_decision *d);
/* The record's argv had secrets replaced (pw_gate_opts.redact). */
PW_API bool pw_decision_redacted(const struct pw_gate_decision *d);

/* -- output: see "output" above; the schema is in README "JSON Lines schema" */
PW_API int pw_gate_decision_format_json(const struct pw_gate_decision *d, char *buf, size_t len,
					unsigned int flags);
PW_API int pw_gate_decision_format_text(const struct pw_gate_decision *d, char *buf, size_t len,
					unsigned int flags);

#ifdef __cplusplus
}
#endif
#endif /* PROCWARD_H */
