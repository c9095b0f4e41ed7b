/* SPDX-License-Identifier: MIT */
/* gate/gate.h - internals of struct pw_gate shared by its modules in src/gate/. */
#ifndef PW_GATE_H
#define PW_GATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>

#include "procward.h"
#include "core/fork.h"
#include "core/log.h"
#include "bpf/abi/gate.h"
#include "gate/cache.h"
#include "gate/guardian.h"
#include "gate/mounts.h"

/* ------------------------------------------------------------ SHA-256 */
struct pw_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t used;
};
void pw_sha256_init(struct pw_sha256 *c);
void pw_sha256_update(struct pw_sha256 *c, const void *data, size_t len);
void pw_sha256_final(struct pw_sha256 *c, uint8_t out[32]);
/* Hash a whole file from its fd with pread (the offset is not moved). 0 or -errno. */
int pw_sha256_fd(int fd, uint8_t out[32]);

/* ------------------------------------------------------------- rules */
struct pw_gate_rule_entry {
	enum pw_gate_action action;
	int deny_errno;
	char *path;
	char *name;
	bool has_sha256;
	uint8_t sha256[32];
	uint64_t subject_mask; /* condition bits that must all be in pw_gate_meta.subject_bits */
	/* subject conditions as given (for the BPF maps) */
	bool has_uid;
	uint32_t uid;
	char subject_name[PW_COMM_LEN];
	pid_t subject_pid;
	bool children;
	char *arg;         /* an argument after argv[0] equals this */
	bool cache;        /* the verdict is cached for the image */
};

struct pw_gate_rules {
	struct pw_gate_rule_entry *v;
	size_t n, cap;
	unsigned int n_subject_bits;
	bool need_image;    /* a rule looks at path or name */
	bool need_hash;     /* a rule looks at sha256 */
	bool have_scope;    /* an ASK rule with a subject restricts the gated set */
	bool have_trees;
	bool need_argv;     /* a rule looks at argv */
};

int pw_gate_rule_validate(const struct pw_gate_rule *r);
int pw_gate_rules_add(struct pw_gate_rules *rs, const struct pw_gate_rule *r);
void pw_gate_rules_free(struct pw_gate_rules *rs);
/* Remove rule i (later ones move up). -ENOENT if none. */
int pw_gate_rules_remove(struct pw_gate_rules *rs, size_t i);
/* Parse a whole rules file into `into`, all or nothing; errbuf says where it failed. */
int pw_gate_rules_parse_file(const char *path, struct pw_gate_rules *into, char *errbuf,
			     size_t errlen);
/* A rule with conditions on the exec'ing process (uid, by-name, by-pid). */
static inline bool pw_gate_rule_has_subject(const struct pw_gate_rule *r)
{
	return r->has_uid || r->subject_name || r->subject_pid;
}

/* What the rules see of one exec-open. */
struct pw_gate_subject {
	uint64_t subject_bits;
	const char *image;   /* NULL if unknown */
	int fd;              /* for hashing */
	bool have_hash;
	uint8_t hash[32];
	const char *args;    /* argv, NUL-separated (NULL: not captured) */
	uint32_t args_len;
};

/* Index of the first matching rule, or -1. May hash (fd) when a rule needs it. */
int pw_gate_rules_match(const struct pw_gate_rules *rs, struct pw_gate_subject *s);

/*
 * Whether a verdict for this exec may be cached for its image (see
 * "Verdict cache" in procward.h): NULL if so, else why not. matched: the
 * rule that routed the exec (-1: none); image/hash: what is known of it
 * (hash NULL: not computed).
 */
const char *pw_gate_rules_cache_veto(const struct pw_gate_rules *rs, int matched, bool allow,
				     const char *image, const uint8_t *hash);

/* ------------------------------------------------------------ the gate object */
#define TID_SLOTS 4096
#define DECISION_ARGS 1024
#define DECISION_FILENAME 256

#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400 /* Linux 6.0 */
#endif

#ifndef FAN_DENY_ERRNO
#define FAN_DENY_ERRNO(err) (FAN_DENY | ((((__u32)(err)) & 0xff) << 24))
#endif

/* What the reader learns about one exec-open before deciding. */
struct pw_gate_exec_info {
	int fd;                 /* the event's fd: the image, opened by the kernel for us */
	uint32_t tid;
	bool have_meta;
	bool interp;
	bool self;
	struct pw_gate_meta meta;
	uint64_t t_arrival;     /* CLOCK_MONOTONIC ns */
	/* --- evasion (issue 12): held execs and the loader; hold.c, loader.c --- */
	bool held;              /* not a fanotify event: a held exec (fd: /proc/PID/exe) */
	bool via_loader;        /* fd is the program ld.so was asked to run */
	int pidfd;              /* held: the process, to continue or kill it (-1: none) */
	int event_fd;           /* via_loader: the fanotify event's fd (ld.so), for the response; else -1 */
	bool loader_run;        /* exec-open of ld.so run as a program: allowed unmarked, decided when held */
	bool loader_unresolved; /* via_loader, but PROGRAM could not be found: denied */
	uint64_t held_start_ns; /* held: the process's start (boottime ns), for the guardian's check */
};

struct pw_exec_request {
	struct pw_gate *g;
	struct pw_gate_exec_info info;
	bool pooled;
	bool retired;           /* its pool outlived a stop (a deferred request held it) */
	bool rules_pending;     /* rules need a hash: evaluated on the worker */
	struct pw_exec_request *qnext;          /* worker queue / free list */
	struct pw_exec_request *inext, *iprev;  /* in-flight list */
	bool in_flight;
	_Atomic uint64_t deadline_ns;
	atomic_int answered;
	atomic_int responded;   /* the kernel has the verdict: the exec may have moved on */
	atomic_int refs;
	atomic_int deferred;
	atomic_uint extensions;
	bool by_app;            /* the answer came from a verdict call */
	int rule;
	/* filled lazily under mu: the handler and the record writer may race */
	pthread_mutex_t mu;
	bool image_done, argv_done, hash_done, stat_done;
	int hash_err, stat_err;
	struct stat st;         /* of the image, before the verdict: what a cached verdict is for */
	bool cache_want;        /* the verdict is to be cached (a *_cached call, or a rule) */
	uint64_t rules_gen;     /* g->rules_gen when the rules routed this request */
	char image[PW_PATH_MAX];
	struct pw_gate_argv argv;
	uint8_t hash[32];
	/* liveness (guardian.c) */
	bool published;         /* its slot in the guardian's mapping holds it */
	bool marked;            /* gate_marks has its image for its tid */
};

struct pw_gate_decision {
	enum pw_exec_verdict verdict;
	enum pw_gate_reason reason;
	int err;
	bool audit, interp;
	pid_t pid, tid;
	uint32_t uid;
	int rule;
	uint64_t time_ns, latency_ns;
	char name[PW_COMM_LEN];
	char image[PW_PATH_MAX];
	char filename[DECISION_FILENAME];
	uint32_t argc, args_len;
	char args[DECISION_ARGS];
	bool held, via_loader; /* issue 12: held at exec; decided on ld.so's PROGRAM */
	bool redacted;         /* args had secrets replaced (opts.redact) */
};

struct gate_counters {
	_Atomic uint64_t decisions, allowed, denied, by_rule, by_handler, timed_out, late,
		handler_errors, self_allowed, interp, overloaded, ungated, ungated_killed, no_args,
		sink_dropped, extensions, cache_refused;
};

/*
 * decision_log.c: the records for on_decision, queued by the deciding
 * threads for the sink thread (all under lock). Owned by decision_log.c:
 * the gate only calls the pw_gate_dlog_* functions below.
 */
struct pw_gate_dlog {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct pw_gate_decision *ring;
	size_t cap, head, len;
	bool gathering; /* the thread lets records gather: a push wakes it only past half the ring */
	pthread_t thread;
	bool have_thread;
};

/*
 * argv.c: the last argv record read from an exec'ing task, kept for the
 * interpreter opens of the same execve (same tid and exec id), which ask
 * for the same command line: each remote read costs system calls that walk
 * the target's page tables. Owned by argv.c (pw_gate_argv_last_*).
 */
struct pw_gate_argv_last {
	pthread_mutex_t lock;
	uint32_t tid;
	struct pw_gate_argv av; /* av.exec_id 0: nothing kept */
};

struct pw_gate {
	struct pw_gate_opts opts;
	struct pw_logger log;
	/* rules: read by the reader and workers, changed by the owner while running */
	pthread_rwlock_t rules_lock;
	struct pw_gate_rules rules;
	_Atomic uint64_t rules_gen;
	struct gate_bpf *skel;
	struct ring_buffer *rb;
	int fan_fd, stop_fd, meta_fd, argv_fd, marks_fd;
	/*
	 * O_PATH /proc/self/fd, for the images' paths (request.c): a readlinkat
	 * of one name instead of a walk of four. Opened at the first start and
	 * kept until pw_gate_free(), so that no reader ever sees its number
	 * closed and reused, not even a deferred request's after a stop.
	 */
	int proc_fd_dir;
	pid_t proc_fd_pid; /* whose /proc/PID/fd it is: a forked child that starts the gate reopens it */
	pid_t self_pid;
	bool started, deny_errno_ok;
	atomic_bool stopping;
	struct gate_counters c;

	pthread_t reader;
	pthread_t *workers;
	unsigned int n_workers;
	bool have_reader;

	struct pw_fork_hook fork_hook; /* fork.c: a forked child closes the gate's descriptors */
	atomic_bool flushed;        /* stopping: the marks are gone, no new event can come */

	/* pools kept after a stop because the application held deferred requests; freed with the gate */
	struct retired_pool {
		struct pw_exec_request *pool;
		unsigned int n;
		struct retired_pool *next;
	} *retired;

	/* requests: pool, worker queue, in-flight list, under lock */
	pthread_mutex_t lock;
	pthread_cond_t work_cv;
	struct pw_exec_request *pool, *free_list, *q_head, *q_tail, *inflight;

	/* the reader as a handler thread, and the watch thread that covers for it */
	pthread_t watch;
	bool have_watch;
	atomic_uint_fast64_t inline_since;  /* the reader's handler call began (0: none) */
	atomic_bool reader_done;
	int watch_fd;                       /* timerfd: TAKEOVER_NS after a handler call began */
	atomic_bool watch_armed;
	pthread_mutex_t ring_lock;          /* one consumer of rb at a time: the reader, or the watch thread */

	/* per-TID exec ids (reader, or watch thread while covering): interpreter open or main image */
	pthread_mutex_t tids_lock;
	struct {
		uint32_t tid;
		uint64_t exec_id;
	} tids[TID_SLOTS];

	struct pw_gate_dlog dlog;   /* decision records for on_decision */
	struct pw_gate_argv_last argv_last; /* argv of the last execve read (argv.c) */

	struct pw_gate_cache cache; /* verdicts per file (cache.c) */
	int cached_fd;              /* BPF map gate_cached, handed to the cache */
	uint64_t kernel_cache_hits; /* the kernel's count, saved when the gate stopped */

	struct pw_gate_marks marks; /* filesystems marked, and the mount thread (mounts.c) */

	/* ---- liveness: the guardian process (guardian.c) and shutdown (gate.c) */
	struct pw_guard_shm *guard;     /* shared with the guardian; NULL when none runs */
	pid_t guard_pid;
	int guard_pidfd, guard_live_fd, guard_wake_fd;
	struct {
		uint64_t verdicts, read_by_guardian, kernel_helpers, kills, held_released, out_of_scope;
	} guard_saved;                  /* its counters, kept when it exits */
	atomic_int verdicts_running;    /* application verdict calls in progress (stop waits for them) */
	_Atomic uint64_t by_guardian;   /* requests of ours the guardian answered */
	/* --- evasion (issue 12): held execs (hold.c), the loader (loader.c) --- */
	struct hold_bpf *hold_skel;         /* the watch over held execs; NULL: held execs are killed */
	int held_fd;                        /* BPF map gate_held */
	_Atomic uint64_t held, held_killed, held_escaped, via_loader, loader_unresolved;
	_Atomic uint64_t fs_marked_held;    /* filesystems marked through a held exec's image */
	uint64_t kernel_resumes_killed;     /* hold_skel's count, saved when the gate stopped */
	struct pw_gate_loader {
		dev_t dev;
		ino_t ino;
		off_t size;
		uint8_t sha256[32];
	} loaders[8];                       /* the system's ELF interpreters (PT_INTERP targets) */
	unsigned int n_loaders;
};

static inline uint64_t pw_gate_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#define PW_GATE_COUNT(g, field) atomic_fetch_add_explicit(&(g)->c.field, 1, memory_order_relaxed)

/* request.c: the pool of requests (allocated at start; retired at stop while the application holds some) */
int pw_gate_pool_create(struct pw_gate *g);
void pw_gate_pool_retire(struct pw_gate *g);
void pw_gate_pool_free_retired(struct pw_gate *g);
/* request.c: one exec-open request and its answer */
void pw_gate_request_put(struct pw_exec_request *req);
void pw_gate_request_init(struct pw_gate *g, struct pw_exec_request *req, const struct pw_gate_exec_info *info);
/* fstat of the image, once per request. */
const struct stat *pw_gate_req_stat(struct pw_exec_request *req);
const char *pw_gate_req_image(struct pw_exec_request *req);
/*
 * Mark an in-scope main image as seen (gate_marks) before it is decided.
 * replace: overwrite a mark the thread has; else -EEXIST for one (the
 * guardian's, for this execve's main image: this open is its interpreter).
 * 0 or -errno (also 0 for opens that need no mark).
 */
int pw_gate_mark_gated(struct pw_gate *g, struct pw_exec_request *req, bool replace);
/* rules.c: whether fanotify lets a denial give this errno (else it refuses the response) */
bool pw_gate_errno_deliverable(int err);
/* argv.c */
const struct pw_gate_argv *pw_gate_req_argv(struct pw_exec_request *req);
void pw_gate_argv_init(struct pw_gate *g);
void pw_gate_argv_last_init(struct pw_gate_argv_last *last);
void pw_gate_argv_last_fini(struct pw_gate_argv_last *last);
/* Give the verdict once: the first caller wins. -EALREADY if it was answered before. */
int pw_gate_answer(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v, int err,
		   enum pw_gate_reason reason, bool by_app);

/* request.c: a cached deny for this request's image answers instead of the handler (true, *err set). */
bool pw_gate_req_cached_deny(struct pw_gate *g, struct pw_exec_request *req, int *err);

/* decision_log.c: the queue and the sink thread (pw_gate_new / pw_gate_start / stop / free) */
void pw_gate_dlog_init(struct pw_gate_dlog *dl);
/* With on_decision: the queue (decision_queue records) and the sink thread; 0 or -errno. */
int pw_gate_dlog_start(struct pw_gate *g);
/* Wakes the sink thread, which delivers what is queued once g->stopping is set; joins it, frees the queue. */
void pw_gate_dlog_stop(struct pw_gate_dlog *dl);
void pw_gate_dlog_fini(struct pw_gate_dlog *dl);
/* decision_log.c: decision records */
/* Whether this decision makes a record (on_decision set, and decision_filter selects it). */
bool pw_gate_decision_wanted(const struct pw_gate *g, enum pw_exec_verdict v,
			     enum pw_gate_reason reason);
void pw_gate_record_decision(struct pw_gate *g, struct pw_exec_request *req,
			     enum pw_exec_verdict v, int err, enum pw_gate_reason reason);
/* ring_buffer callback for the kernel's ungated-exec reports */
int pw_gate_on_ungated(void *ctx, void *data, size_t size);

/* dispatch.c: reader and worker threads */
void *pw_gate_reader_main(void *arg);
void *pw_gate_worker_main(void *arg);
void *pw_gate_watch_main(void *arg);

/* fork.c: forked children close the gate's descriptors */
void pw_gate_fork_register(struct pw_gate *g);
void pw_gate_fork_unregister(struct pw_gate *g);

/* fanotify.c: the fanotify group (its marks: mounts.h) */
int pw_gate_open_group(struct pw_gate *g);

/* bpf.c: the kernel programs */
int pw_gate_load_bpf(struct pw_gate *g);

/* --- evasion (issue 12) --- */
/* dispatch.c: route one exec (a fanotify event's, or a held one) by rules, cache and handler. */
void pw_gate_submit(struct pw_gate *g, struct pw_exec_request *req, const struct pw_gate_exec_info *info,
		    bool may_inline);
/* hold.c: held execs */
int pw_gate_hold_init(struct pw_gate *g);      /* after the gate's programs are attached */
void pw_gate_hold_update_mode(struct pw_gate *g); /* the rules changed: could anything be denied? */
void pw_gate_hold_fini(struct pw_gate *g);     /* stopping, requests answered: release what is still held */
void pw_gate_hold_fork_child(struct pw_gate *g); /* fork.c, in a forked child: close the watch's links */
/* From the ungated ring: a held exec (or one that escaped the watch); true if consumed. */
bool pw_gate_hold_event(struct pw_gate *g, const struct pw_gate_ungated *u);
/* The response for a held request: SIGCONT or SIGKILL. Returns err. */
int pw_gate_hold_respond(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v, int err);
/* rules.c: whether any rule or the handler could deny an exec (rules_lock held or not running). */
bool pw_gate_rules_could_deny(const struct pw_gate_rules *rs);
/* loader.c: ld.so PROGRAM */
void pw_gate_loader_init(struct pw_gate *g);
/*
 * PROGRAM in ld.so's argv (args: len bytes, NUL-separated, argv[0] first)
 * as glibc's rtld reads its options; *libpath: --library-path's value or
 * NULL. NULL: no PROGRAM (--help, --version, nothing, or malformed).
 */
const char *pw_gate_loader_program(const char *args, uint32_t len, const char **libpath);
/* If req's image is the ELF interpreter run as a program: decide on PROGRAM instead (true). */
bool pw_gate_loader_apply(struct pw_gate *g, struct pw_exec_request *req);
/* The fd the fanotify response names. */
static inline int pw_gate_event_fd(const struct pw_gate_exec_info *info)
{
	return info->event_fd >= 0 ? info->event_fd : info->fd;
}

#endif
