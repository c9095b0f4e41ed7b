// SPDX-License-Identifier: MIT
/*
 * gate.c - the pw_gate object: the fanotify exec gate, its reader, worker
 * pool and deadlines, the verdict API, and the kernel programs that capture
 * argv and catch ungated execs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gate.h"
#include "shared.h"
#include "gate.skel.h"
#include "procfs.h"

#define DEFAULT_TIMEOUT_MS 1000
#define DEFAULT_WORKERS 4
#define DEFAULT_EXTENSIONS 4
#define DEFAULT_PENDING 256
#define DEFAULT_DECISION_QUEUE 1024
#define TID_SLOTS 4096
#define READ_BATCH (64 * 1024)
#define DECISION_ARGS 1024
#define DECISION_FILENAME 256
#define DEFAULT_CACHE_ENTRIES 256

#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400 /* Linux 6.0 */
#endif

#ifndef FAN_DENY_ERRNO
#define FAN_DENY_ERRNO(err) (FAN_DENY | ((((__u32)(err)) & 0xff) << 24))
#endif

_Static_assert(sizeof(struct pw_token) == sizeof(struct pw_raw_token), "token layout");

/* What the reader learns about one exec-open before deciding. */
struct exec_info {
	int fd;                 /* the event's fd: the image, opened by the kernel for us */
	uint32_t tid;
	bool have_meta;
	bool interp;
	bool self;
	struct pw_gate_meta meta;
	uint64_t t_arrival;     /* CLOCK_MONOTONIC ns */
};

struct pw_exec_request {
	struct pw_gate *g;
	struct exec_info info;
	bool pooled;
	bool rules_pending;     /* rules need a hash: evaluated on the worker */
	struct pw_exec_request *qnext;          /* worker queue / free list */
	struct pw_exec_request *inext, *iprev;  /* in-flight list */
	bool in_flight;
	_Atomic uint64_t deadline_ns;
	atomic_int answered;
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
};

struct gate_counters {
	_Atomic uint64_t decisions, allowed, denied, by_rule, by_handler, timed_out, late,
		handler_errors, self_allowed, interp, overloaded, ungated, ungated_killed, no_args,
		sink_dropped, extensions, cache_hits, cache_misses, cache_evictions, cache_flushes,
		cache_refused, cache_invalidated;
};

/* One image in the verdict cache. */
struct cache_entry {
	dev_t dev;
	ino_t ino;
	struct timespec ctime, mtime;
	off_t size;
	enum pw_exec_verdict verdict;
	int err;
	int fd;                 /* ALLOW: the image, to remove its ignore mark on eviction */
	uint64_t used;          /* LRU tick */
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
	pid_t self_pid;
	bool started, deny_errno_ok;
	atomic_bool stopping;
	struct gate_counters c;

	pthread_t reader, mounts, sink;
	pthread_t *workers;
	unsigned int n_workers;
	bool have_reader, have_mounts, have_sink;

	/* requests: pool, worker queue, in-flight list, under lock */
	pthread_mutex_t lock;
	pthread_cond_t work_cv;
	struct pw_exec_request *pool, *free_list, *q_head, *q_tail, *inflight;

	/* per-TID exec ids, reader only: tells an interpreter open from a main image */
	struct {
		uint32_t tid;
		uint64_t exec_id;
	} tids[TID_SLOTS];

	/* decision records for on_decision */
	pthread_mutex_t sink_lock;
	pthread_cond_t sink_cv;
	struct pw_gate_decision *ring;
	size_t ring_cap, ring_head, ring_len;

	/* verdict cache, under cache_lock (taken inside rules_lock, never the other way) */
	pthread_mutex_t cache_lock;
	struct cache_entry *cache;
	unsigned int cache_n;
	uint64_t cache_tick;
	unsigned int ignore_flag;   /* FAN_MARK_IGNORE, or FAN_MARK_IGNORED_MASK before 6.0 */
	int cached_fd;              /* BPF map gate_cached */
	uint64_t kernel_cache_hits; /* the kernel's count, saved when the gate stopped */

	/* filesystems marked (mount thread) */
	dev_t *devs;
	size_t n_devs, cap_devs;
	atomic_uint_fast64_t fs_marked, fs_unmarkable;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

#define INC(g, field) atomic_fetch_add_explicit(&(g)->c.field, 1, memory_order_relaxed)

/* ---------------------------------------------------------------- options */

static bool verdict_ok(enum pw_exec_verdict v)
{
	return !v || v == PW_EXEC_ALLOW || v == PW_EXEC_DENY;
}

PW_API int pw_gate_new(const struct pw_gate_opts *opts, struct pw_gate **out)
{
	struct pw_gate *g;
	size_t sz;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!opts || opts->sz < offsetof(struct pw_gate_opts, userdata) + sizeof(void *))
		return -EINVAL;
	if (!pw_opts_tail_zero(opts, opts->sz, sizeof(*opts)))
		return -EOPNOTSUPP;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	sz = opts->sz < sizeof(*opts) ? opts->sz : sizeof(*opts);
	memcpy(&g->opts, opts, sz);
	g->opts.sz = sizeof(g->opts);
	if (!verdict_ok(g->opts.timeout_verdict) || !verdict_ok(g->opts.error_verdict) ||
	    g->opts.interpreters > PW_GATE_INTERP_HANDLER || g->opts.workers > 1024 ||
	    g->opts.cache_entries > PW_GATE_CACHE_MAX) {
		free(g);
		return -EINVAL;
	}
	if (!g->opts.timeout_ms)
		g->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (!g->opts.timeout_verdict)
		g->opts.timeout_verdict = PW_EXEC_ALLOW;
	if (!g->opts.error_verdict)
		g->opts.error_verdict = PW_EXEC_ALLOW;
	if (!g->opts.workers)
		g->opts.workers = DEFAULT_WORKERS;
	if (!g->opts.max_extensions)
		g->opts.max_extensions = DEFAULT_EXTENSIONS;
	if (!g->opts.max_pending)
		g->opts.max_pending = DEFAULT_PENDING;
	if (!g->opts.decision_queue)
		g->opts.decision_queue = DEFAULT_DECISION_QUEUE;
	if (!g->opts.cache_entries)
		g->opts.cache_entries = DEFAULT_CACHE_ENTRIES;
	g->log.fn = g->opts.log;
	g->log.userdata = g->opts.log_userdata;
	g->fan_fd = g->stop_fd = g->meta_fd = g->argv_fd = g->marks_fd = g->cached_fd = -1;
	pthread_rwlock_init(&g->rules_lock, NULL);
	pthread_mutex_init(&g->cache_lock, NULL);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->work_cv, NULL);
	pthread_mutex_init(&g->sink_lock, NULL);
	pthread_cond_init(&g->sink_cv, NULL);
	*out = g;
	return 0;
}

static void cache_flush(struct pw_gate *g);

/*
 * Change the rules under the write lock, and drop every cached verdict
 * before letting go of it: no decision, and no cached allow in the kernel,
 * outlives the rules it was made under.
 */
PW_API int pw_gate_add_rule(struct pw_gate *g, const struct pw_gate_rule *rule)
{
	int err;

	if (!g)
		return -EINVAL;
	err = pw_gate_rule_validate(rule);
	if (err)
		return err;
	if (g->started && pw_gate_rule_has_subject(rule))
		return -EBUSY; /* subject conditions live in the kernel's maps, loaded at start */
	pthread_rwlock_wrlock(&g->rules_lock);
	err = pw_gate_rules_add(&g->rules, rule);
	if (!err && g->started) {
		atomic_fetch_add(&g->rules_gen, 1);
		cache_flush(g);
	}
	pthread_rwlock_unlock(&g->rules_lock);
	return err;
}

PW_API int pw_gate_remove_rule(struct pw_gate *g, unsigned int index)
{
	int err;

	if (!g)
		return -EINVAL;
	pthread_rwlock_wrlock(&g->rules_lock);
	if (index >= g->rules.n)
		err = -ENOENT;
	else if (g->started && g->rules.v[index].subject_mask)
		err = -EBUSY;
	else
		err = pw_gate_rules_remove(&g->rules, index);
	if (!err && g->started) {
		atomic_fetch_add(&g->rules_gen, 1);
		cache_flush(g);
	}
	pthread_rwlock_unlock(&g->rules_lock);
	return err;
}

PW_API int pw_gate_add_rule_text(struct pw_gate *g, const char *text)
{
	struct pw_gate_rule r;
	char *storage;
	int err;

	if (!g)
		return -EINVAL;
	err = pw_gate_rule_parse(text, &r, &storage);
	if (err)
		return err;
	err = pw_gate_add_rule(g, &r);
	free(storage);
	return err;
}

int pw_gate_rules_parse_file(const char *path, struct pw_gate_rules *into, char *errbuf,
			     size_t errlen);

PW_API int pw_gate_load_rules_file(struct pw_gate *g, const char *path, char *errbuf,
				   size_t errlen)
{
	if (!g || !path)
		return -EINVAL;
	if (g->started)
		return -EBUSY;
	return pw_gate_rules_parse_file(path, &g->rules, errbuf, errlen);
}

/* ------------------------------------------------------------ requests */

static void request_put(struct pw_exec_request *req)
{
	struct pw_gate *g = req->g;

	if (atomic_fetch_sub(&req->refs, 1) != 1)
		return;
	if (req->info.fd >= 0)
		close(req->info.fd);
	req->info.fd = -1;
	if (!req->pooled)
		return;
	pthread_mutex_lock(&g->lock);
	req->qnext = g->free_list;
	g->free_list = req;
	pthread_mutex_unlock(&g->lock);
}

static void request_init(struct pw_gate *g, struct pw_exec_request *req, const struct exec_info *info)
{
	req->g = g;
	req->info = *info;
	req->rules_pending = false;
	req->qnext = req->inext = req->iprev = NULL;
	req->in_flight = false;
	atomic_store(&req->deadline_ns, info->t_arrival + (uint64_t)g->opts.timeout_ms * 1000000ull);
	atomic_store(&req->answered, 0);
	atomic_store(&req->refs, 1);
	atomic_store(&req->deferred, 0);
	atomic_store(&req->extensions, 0);
	req->by_app = false;
	req->rule = -1;
	req->image_done = req->argv_done = req->hash_done = req->stat_done = false;
	req->cache_want = false;
	req->rules_gen = 0;
}

/* fstat of the image, once per request. */
static const struct stat *req_stat(struct pw_exec_request *req)
{
	pthread_mutex_lock(&req->mu);
	if (!req->stat_done) {
		req->stat_err = fstat(req->info.fd, &req->st) ? -errno : 0;
		req->stat_done = true;
	}
	pthread_mutex_unlock(&req->mu);
	return req->stat_err ? NULL : &req->st;
}

static const char *req_image(struct pw_exec_request *req)
{
	char link[32];
	ssize_t n;

	pthread_mutex_lock(&req->mu);
	if (!req->image_done) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", req->info.fd);
		n = req->info.fd >= 0 ? readlink(link, req->image, sizeof(req->image) - 1) : -1;
		req->image[n > 0 ? n : 0] = 0;
		req->image_done = true;
	}
	pthread_mutex_unlock(&req->mu);
	return req->image[0] ? req->image : NULL;
}

/*
 * The argv record of this execve. Read while the exec'ing thread still waits
 * (or right after the answer, before it can start another execve), and
 * checked against the exec id of the same execve.
 */
static const struct pw_gate_argv *req_argv(struct pw_exec_request *req)
{
	struct pw_gate *g = req->g;

	pthread_mutex_lock(&req->mu);
	if (!req->argv_done) {
		req->argv_done = true;
		if (!req->info.have_meta ||
		    bpf_map_lookup_elem(g->argv_fd, &req->info.tid, &req->argv) ||
		    req->argv.exec_id != req->info.meta.exec_id) {
			req->argv.argc = 0;
			req->argv.args_len = 0;
			req->argv.filename_len = 0;
			req->argv.exec_id = 0;
		}
		req->argv.filename[sizeof(req->argv.filename) - 1] = 0;
		if (req->argv.args_len > sizeof(req->argv.args))
			req->argv.args_len = sizeof(req->argv.args);
	}
	pthread_mutex_unlock(&req->mu);
	return req->argv.exec_id ? &req->argv : NULL;
}

/* ------------------------------------------------------------ decision log */

static void record_decision(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v,
			    int err, enum pw_gate_reason reason)
{
	struct pw_gate_decision d;
	const struct pw_gate_argv *av;
	const char *image;

	memset(&d, 0, offsetof(struct pw_gate_decision, image));
	d.verdict = v;
	d.reason = reason;
	d.err = v == PW_EXEC_DENY ? err : 0;
	d.audit = g->opts.audit;
	d.interp = req->info.interp;
	d.tid = req->info.tid;
	d.pid = req->info.have_meta ? (pid_t)req->info.meta.pid : 0;
	d.uid = req->info.have_meta ? req->info.meta.token.uid : (uint32_t)-1;
	d.rule = req->rule;
	d.time_ns = now_ns();
	d.latency_ns = d.time_ns - req->info.t_arrival;
	if (req->info.have_meta)
		memcpy(d.name, req->info.meta.comm, PW_COMM_LEN);
	image = req_image(req);
	snprintf(d.image, sizeof(d.image), "%s", image ? image : "");
	d.filename[0] = 0;
	d.argc = d.args_len = 0;
	av = req_argv(req);
	if (av) {
		uint32_t len = av->args_len < DECISION_ARGS ? av->args_len : 0;

		memcpy(d.filename, av->filename, sizeof(d.filename) - 1);
		d.filename[sizeof(d.filename) - 1] = 0;
		if (!len) { /* longer than the record holds: keep whole arguments that fit */
			for (uint32_t i = 0; i < av->args_len && i < DECISION_ARGS; i++)
				if (!av->args[i])
					len = i + 1;
		}
		memcpy(d.args, av->args, len);
		d.args_len = len;
		for (uint32_t i = 0; i < len; i++)
			d.argc += !d.args[i];
	}
	pthread_mutex_lock(&g->sink_lock);
	if (g->ring_len == g->ring_cap) {
		INC(g, sink_dropped);
	} else {
		g->ring[(g->ring_head + g->ring_len) % g->ring_cap] = d;
		g->ring_len++;
		pthread_cond_signal(&g->sink_cv);
	}
	pthread_mutex_unlock(&g->sink_lock);
}

static void *sink_main(void *arg)
{
	struct pw_gate *g = arg;
	struct pw_gate_decision *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	pthread_mutex_lock(&g->sink_lock);
	for (;;) {
		while (!g->ring_len && !atomic_load(&g->stopping))
			pthread_cond_wait(&g->sink_cv, &g->sink_lock);
		if (!g->ring_len)
			break;
		*d = g->ring[g->ring_head];
		g->ring_head = (g->ring_head + 1) % g->ring_cap;
		g->ring_len--;
		pthread_mutex_unlock(&g->sink_lock);
		g->opts.on_decision(g, d, g->opts.decision_userdata);
		pthread_mutex_lock(&g->sink_lock);
	}
	pthread_mutex_unlock(&g->sink_lock);
	free(d);
	return NULL;
}

/* ------------------------------------------------------------ answering */

static bool deny_errno_allowed(int err)
{
	switch (err) {
	case EIO: case EPERM: case EBUSY: case ETXTBSY: case EAGAIN: case ENOSPC: case EDQUOT:
		return true;
	}
	return false;
}

/* Tell BPF this exec was seen, so sched_process_exec does not call it ungated. */
static void mark_gated(struct pw_gate *g, struct pw_exec_request *req)
{
	struct pw_gate_mark mark = { 0 };
	const struct stat *st = req_stat(req);

	if (!st)
		return;
	mark.ino = st->st_ino;
	mark.dev = major(st->st_dev) << 20 | minor(st->st_dev);
	bpf_map_update_elem(g->marks_fd, &req->info.tid, &mark, BPF_ANY);
}

static bool info_in_scope(const struct pw_gate *g, const struct exec_info *info)
{
	const struct pw_gate_bpf_config *cfg = &g->skel->bss->gate_cfg;

	if (cfg->scope_all)
		return true;
	for (uint32_t i = 0; i < cfg->n_scopes; i++) {
		uint64_t m = cfg->scope_masks[i];

		if ((info->meta.subject_bits & m) == m)
			return true;
	}
	return false;
}

/* Returns the errno actually given to the caller (EPERM without FAN_DENY_ERRNO). */
static int respond(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v, int err)
{
	const struct exec_info *info = &req->info;
	struct fanotify_response r = { .fd = info->fd, .response = FAN_ALLOW };

	if (v == PW_EXEC_DENY) {
		if (!err || !g->deny_errno_ok || !deny_errno_allowed(err))
			err = EPERM;
		r.response = err == EPERM ? FAN_DENY : FAN_DENY_ERRNO(err);
	} else if (!info->interp && !info->self && (!info->have_meta || info_in_scope(g, info))) {
		mark_gated(g, req);
	}
	while (write(g->fan_fd, &r, sizeof(r)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EINVAL && r.response != FAN_DENY && v == PW_EXEC_DENY) {
			g->deny_errno_ok = false;
			r.response = FAN_DENY;
			err = EPERM;
			continue;
		}
		pw_log(&g->log, PW_LOG_ERROR, "writing a fanotify response failed: %s", strerror(errno));
		break;
	}
	return err;
}

/* ------------------------------------------------------------ verdict cache */

static uint32_t kernel_dev(dev_t dev)
{
	return major(dev) << 20 | minor(dev);
}

static bool same_file_state(const struct cache_entry *e, const struct stat *st)
{
	return e->ctime.tv_sec == st->st_ctim.tv_sec && e->ctime.tv_nsec == st->st_ctim.tv_nsec &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       e->size == st->st_size;
}

static struct cache_entry *cache_find(struct pw_gate *g, dev_t dev, ino_t ino)
{
	for (unsigned int i = 0; i < g->cache_n; i++)
		if (g->cache[i].ino == ino && g->cache[i].dev == dev)
			return &g->cache[i];
	return NULL;
}

/* Drop one entry (cache_lock held): the kernel's ignore mark first, then ours. */
static void cache_drop(struct pw_gate *g, struct cache_entry *e)
{
	if (e->verdict == PW_EXEC_ALLOW) {
		struct pw_gate_inode key = { .ino = e->ino, .dev = kernel_dev(e->dev) };

		fanotify_mark(g->fan_fd, FAN_MARK_REMOVE | g->ignore_flag, FAN_OPEN_EXEC_PERM, e->fd,
			      NULL);
		close(e->fd);
		bpf_map_delete_elem(g->cached_fd, &key);
	}
	*e = g->cache[--g->cache_n];
}

/* Drop every entry: one FAN_MARK_FLUSH removes all inode marks of the group (not its filesystem marks). */
static void cache_flush(struct pw_gate *g)
{
	pthread_mutex_lock(&g->cache_lock);
	if (g->fan_fd >= 0)
		fanotify_mark(g->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	for (unsigned int i = 0; i < g->cache_n; i++) {
		struct cache_entry *e = &g->cache[i];

		if (e->verdict == PW_EXEC_ALLOW) {
			struct pw_gate_inode key = { .ino = e->ino, .dev = kernel_dev(e->dev) };

			close(e->fd);
			bpf_map_delete_elem(g->cached_fd, &key);
		}
	}
	g->cache_n = 0;
	INC(g, cache_flushes);
	pthread_mutex_unlock(&g->cache_lock);
}

/*
 * At the point where the handler would be called: a cached deny for this
 * image answers instead (true, *err set). An allow entry found here is
 * stale: the kernel asked again because the file was written.
 */
static bool cache_deny_hit(struct pw_gate *g, struct pw_exec_request *req, int *err)
{
	const struct stat *st = req_stat(req); /* also what a verdict cached later is checked against */
	struct cache_entry *e;
	bool hit = false;

	if (!st || !g->cache_n) { /* racy read: an entry added right now is not needed yet */
		INC(g, cache_misses);
		return false;
	}
	pthread_mutex_lock(&g->cache_lock);
	e = cache_find(g, st->st_dev, st->st_ino);
	if (e && e->verdict == PW_EXEC_DENY && same_file_state(e, st)) {
		e->used = ++g->cache_tick;
		*err = e->err;
		hit = true;
	} else if (e) {
		cache_drop(g, e);
		INC(g, cache_invalidated);
	}
	pthread_mutex_unlock(&g->cache_lock);
	if (hit)
		INC(g, cache_hits);
	else
		INC(g, cache_misses);
	return hit;
}

static void cache_refuse(struct pw_gate *g, struct pw_exec_request *req, const char *why)
{
	const char *image = req_image(req);

	INC(g, cache_refused);
	pw_log(&g->log, PW_LOG_INFO, "not caching the verdict for %s: %s", image ? image : "?", why);
}

/* Place the kernel's ignore mark for a cached allow; 0 or -errno. */
static int cache_mark(struct pw_gate *g, int fd)
{
	unsigned int add = FAN_MARK_ADD | g->ignore_flag;

	if (!fanotify_mark(g->fan_fd, add, FAN_OPEN_EXEC_PERM, fd, NULL))
		return 0;
	if (errno == EINVAL && g->ignore_flag == FAN_MARK_IGNORE) {
		g->ignore_flag = FAN_MARK_IGNORED_MASK; /* before Linux 6.0 */
		add = FAN_MARK_ADD | FAN_MARK_IGNORED_MASK;
		if (!fanotify_mark(g->fan_fd, add, FAN_OPEN_EXEC_PERM, fd, NULL))
			return 0;
	}
	return -errno;
}

/* After the answer: keep the verdict for the image, if it may be kept. */
static void cache_insert(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v,
			 int err)
{
	const struct stat *st = req_stat(req);
	const char *why = NULL;
	struct cache_entry *e;
	struct stat now;
	int fd = -1;

	if (g->opts.audit) {
		cache_refuse(g, req, "audit mode");
		return;
	}
	if (!st) {
		cache_refuse(g, req, "the image could not be examined");
		return;
	}
	/* Under the read lock: a rule change waits for this insert, then flushes it. */
	pthread_rwlock_rdlock(&g->rules_lock);
	if (req->rules_gen != atomic_load(&g->rules_gen))
		why = "the rules changed while it was decided";
	else
		why = pw_gate_rules_cache_veto(&g->rules, req->rule, v == PW_EXEC_ALLOW,
					       g->rules.need_image ? req_image(req) : NULL,
					       req->hash_done && !req->hash_err ? req->hash : NULL);
	if (why)
		goto refuse;
	pthread_mutex_lock(&g->cache_lock);
	e = cache_find(g, st->st_dev, st->st_ino);
	if (e)
		cache_drop(g, e);
	if (g->cache_n == g->opts.cache_entries) {
		struct cache_entry *lru = &g->cache[0];

		for (unsigned int i = 1; i < g->cache_n; i++)
			if (g->cache[i].used < lru->used)
				lru = &g->cache[i];
		cache_drop(g, lru);
		INC(g, cache_evictions);
	}
	if (v == PW_EXEC_ALLOW) {
		struct pw_gate_inode key = { .ino = st->st_ino, .dev = kernel_dev(st->st_dev) };
		uint32_t one = 1;
		char magic[2];

		/*
		 * At sched_process_exec a script's file is gone (bprm->file is its
		 * interpreter): the kernel could not tell a cached script from one
		 * fanotify never saw.
		 */
		if (pread(req->info.fd, magic, 2, 0) == 2 && magic[0] == '#' && magic[1] == '!') {
			why = "a script (#!): only programs are cached";
			goto unlock_refuse;
		}
		fd = fcntl(req->info.fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			why = "out of file descriptors";
			goto unlock_refuse;
		}
		/* The BPF side first: the first exec the mark lets through must not look ungated. */
		if (bpf_map_update_elem(g->cached_fd, &key, &one, BPF_ANY)) {
			why = "the kernel's cache map is full";
			goto unlock_refuse;
		}
		if (cache_mark(g, fd)) {
			bpf_map_delete_elem(g->cached_fd, &key);
			why = "the ignore mark could not be placed";
			goto unlock_refuse;
		}
		/*
		 * A write between the decision and the mark cleared nothing (the
		 * mark was not there yet): if the file changed, undo.
		 */
		if (fstat(fd, &now) || now.st_ctim.tv_sec != st->st_ctim.tv_sec ||
		    now.st_ctim.tv_nsec != st->st_ctim.tv_nsec || now.st_size != st->st_size) {
			fanotify_mark(g->fan_fd, FAN_MARK_REMOVE | g->ignore_flag, FAN_OPEN_EXEC_PERM, fd,
				      NULL);
			bpf_map_delete_elem(g->cached_fd, &key);
			why = "the file changed while it was decided";
			goto unlock_refuse;
		}
	}
	e = &g->cache[g->cache_n++];
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->ctime = st->st_ctim;
	e->mtime = st->st_mtim;
	e->size = st->st_size;
	e->verdict = v;
	e->err = err;
	e->fd = fd;
	e->used = ++g->cache_tick;
	pthread_mutex_unlock(&g->cache_lock);
	pthread_rwlock_unlock(&g->rules_lock);
	return;
unlock_refuse:
	pthread_mutex_unlock(&g->cache_lock);
	if (fd >= 0)
		close(fd);
refuse:
	pthread_rwlock_unlock(&g->rules_lock);
	cache_refuse(g, req, why);
}

/*
 * Give the verdict once: the first caller wins (reader, worker, timeout or
 * the application). -EALREADY if it was answered before.
 */
static int answer(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v, int err,
		  enum pw_gate_reason reason, bool by_app)
{
	enum pw_exec_verdict enforced = g->opts.audit ? PW_EXEC_ALLOW : v;
	int expected = 0;

	if (!atomic_compare_exchange_strong(&req->answered, &expected, 1))
		return -EALREADY;
	req->by_app = by_app;
	if (req->in_flight) {
		pthread_mutex_lock(&g->lock);
		if (req->iprev)
			req->iprev->inext = req->inext;
		else
			g->inflight = req->inext;
		if (req->inext)
			req->inext->iprev = req->iprev;
		req->in_flight = false;
		pthread_mutex_unlock(&g->lock);
	}
	err = respond(g, req, enforced, err ? err : EPERM);
	INC(g, decisions);
	if (v == PW_EXEC_ALLOW)
		INC(g, allowed);
	else
		INC(g, denied);
	switch (reason) {
	case PW_GATE_BY_RULE: INC(g, by_rule); break;
	case PW_GATE_BY_HANDLER: INC(g, by_handler); break;
	case PW_GATE_BY_TIMEOUT: INC(g, timed_out); break;
	case PW_GATE_BY_SELF: INC(g, self_allowed); break;
	case PW_GATE_BY_OVERLOAD: INC(g, overloaded); break;
	default: break;
	}
	/* Only verdicts someone gave: not a timeout's, an error's or a default's. */
	if (req->cache_want && (reason == PW_GATE_BY_HANDLER || reason == PW_GATE_BY_RULE))
		cache_insert(g, req, v, err);
	if (g->opts.on_decision)
		record_decision(g, req, v, err, reason);
	request_put(req); /* the kernel's reference: the exec no longer waits */
	return 0;
}

/* ------------------------------------------------------------ verdict API */

static int verdict_call(struct pw_exec_request *req, enum pw_exec_verdict v, int err, bool cache)
{
	struct pw_gate *g;
	int ret;

	if (!req || err < 0 || err > 4095)
		return -EINVAL;
	g = req->g;
	/* a reference so that answer() dropping the kernel's cannot free req under us */
	atomic_fetch_add(&req->refs, 1);
	if (cache && !atomic_load(&req->answered))
		req->cache_want = true; /* read by whoever answers: this call, unless it lost the race */
	ret = answer(g, req, v, err, PW_GATE_BY_HANDLER, true);
	if (ret == -EALREADY && !req->by_app) {
		INC(g, late);
		ret = -ETIMEDOUT;
	}
	if (atomic_exchange(&req->deferred, 0))
		request_put(req);
	request_put(req);
	return ret;
}

PW_API int pw_exec_allow(struct pw_exec_request *req)
{
	return verdict_call(req, PW_EXEC_ALLOW, 0, false);
}

PW_API int pw_exec_deny(struct pw_exec_request *req, int err)
{
	return verdict_call(req, PW_EXEC_DENY, err, false);
}

PW_API int pw_exec_allow_cached(struct pw_exec_request *req)
{
	return verdict_call(req, PW_EXEC_ALLOW, 0, true);
}

PW_API int pw_exec_deny_cached(struct pw_exec_request *req, int err)
{
	return verdict_call(req, PW_EXEC_DENY, err, true);
}

PW_API int pw_exec_extend(struct pw_exec_request *req, unsigned int ms)
{
	if (!req)
		return -EINVAL;
	if (atomic_load(&req->answered))
		return -ETIMEDOUT;
	if (atomic_fetch_add(&req->extensions, 1) >= req->g->opts.max_extensions)
		return -E2BIG;
	atomic_store(&req->deadline_ns, now_ns() + (uint64_t)ms * 1000000ull);
	INC(req->g, extensions);
	return 0;
}

PW_API int pw_exec_defer(struct pw_exec_request *req)
{
	if (!req)
		return -EINVAL;
	if (atomic_load(&req->answered))
		return -ETIMEDOUT;
	if (atomic_exchange(&req->deferred, 1))
		return -EALREADY;
	atomic_fetch_add(&req->refs, 1);
	return 0;
}

/* ------------------------------------------------------------ accessors */

PW_API pid_t pw_exec_pid(const struct pw_exec_request *req)
{
	return req && req->info.have_meta ? (pid_t)req->info.meta.pid : 0;
}

PW_API pid_t pw_exec_tid(const struct pw_exec_request *req)
{
	return req ? (pid_t)req->info.tid : 0;
}

PW_API pid_t pw_exec_parent_pid(const struct pw_exec_request *req)
{
	return req && req->info.have_meta ? (pid_t)req->info.meta.ppid : 0;
}

PW_API struct pw_proc_key pw_exec_key(const struct pw_exec_request *req)
{
	struct pw_proc_key key = { 0 };

	if (req && req->info.have_meta) {
		key.pid = req->info.meta.pid;
		key.start_ns = req->info.meta.start_ns;
	}
	return key;
}

PW_API const char *pw_exec_name(const struct pw_exec_request *req)
{
	return req && req->info.have_meta ? req->info.meta.comm : NULL;
}

PW_API size_t pw_exec_argc(struct pw_exec_request *req)
{
	const struct pw_gate_argv *av = req ? req_argv(req) : NULL;

	return av ? av->argc : 0;
}

PW_API const char *pw_exec_arg(struct pw_exec_request *req, size_t i)
{
	const struct pw_gate_argv *av = req ? req_argv(req) : NULL;
	uint32_t off = 0;

	if (!av || i >= av->argc)
		return NULL;
	for (; i && off < av->args_len; off++)
		if (!av->args[off])
			i--;
	return off < av->args_len ? &av->args[off] : NULL;
}

PW_API const char *pw_exec_filename(struct pw_exec_request *req)
{
	const struct pw_gate_argv *av = req ? req_argv(req) : NULL;

	return av ? av->filename : NULL;
}

PW_API const char *pw_exec_image(struct pw_exec_request *req)
{
	return req ? req_image(req) : NULL;
}

PW_API const struct pw_token *pw_exec_token(const struct pw_exec_request *req)
{
	return req && req->info.have_meta ? (const struct pw_token *)&req->info.meta.token : NULL;
}

PW_API bool pw_exec_is_interpreter(const struct pw_exec_request *req)
{
	return req && req->info.interp;
}

PW_API int pw_exec_fd(const struct pw_exec_request *req)
{
	return req ? req->info.fd : -EINVAL;
}

PW_API int pw_exec_sha256(struct pw_exec_request *req, uint8_t out[32])
{
	if (!req || !out)
		return -EINVAL;
	pthread_mutex_lock(&req->mu);
	if (!req->hash_done) {
		req->hash_err = pw_sha256_fd(req->info.fd, req->hash);
		req->hash_done = true;
	}
	pthread_mutex_unlock(&req->mu);
	if (!req->hash_err)
		memcpy(out, req->hash, 32);
	return req->hash_err;
}

PW_API unsigned int pw_exec_flags(struct pw_exec_request *req)
{
	unsigned int f = 0;

	if (!req)
		return 0;
	if (!req_argv(req))
		f |= PW_EXEC_NO_ARGS;
	if (req->info.have_meta &&
	    req->info.meta.flags & (PW_GATE_F_ARGS_TRUNCATED | PW_GATE_F_FILENAME_TRUNCATED))
		f |= PW_EXEC_ARGS_TRUNCATED;
	return f;
}

PW_API bool pw_gate_deny_errno_supported(const struct pw_gate *g)
{
	return g && g->deny_errno_ok;
}

/* ------------------------------------------------------------ decisions */

enum route { ROUTE_ALLOW, ROUTE_DENY, ROUTE_ASK };

/* Static rules, then scope: what to do with an exec-open without calling anyone. */
static enum route route_by_rules(struct pw_gate *g, struct pw_exec_request *req, int *err,
				 enum pw_gate_reason *reason)
{
	struct pw_gate_subject s = {
		.subject_bits = req->info.have_meta ? req->info.meta.subject_bits : 0,
		.fd = req->info.fd,
	};
	enum route r = ROUTE_ASK;
	int i;

	pthread_rwlock_rdlock(&g->rules_lock);
	req->rules_gen = atomic_load(&g->rules_gen);
	*reason = PW_GATE_BY_RULE;
	if (g->rules.n) {
		if (g->rules.need_image)
			s.image = req_image(req);
		if (g->rules.need_argv) {
			const struct pw_gate_argv *av = req_argv(req);

			s.args = av ? av->args : NULL;
			s.args_len = av ? av->args_len : 0;
		}
		i = pw_gate_rules_match(&g->rules, &s);
		if (s.have_hash) {
			memcpy(req->hash, s.hash, 32);
			req->hash_done = true;
			req->hash_err = 0;
		}
		req->rule = i;
		if (i >= 0) {
			const struct pw_gate_rule_entry *e = &g->rules.v[i];

			req->cache_want = e->cache;
			if (e->action == PW_GATE_ALLOW) {
				r = ROUTE_ALLOW;
				goto out;
			}
			if (e->action == PW_GATE_DENY) {
				*err = e->deny_errno;
				r = ROUTE_DENY;
				goto out;
			}
		} else if (g->rules.have_scope) {
			*reason = PW_GATE_BY_DEFAULT; /* not a gated process */
			r = ROUTE_ALLOW;
			goto out;
		}
	}
	*reason = PW_GATE_BY_DEFAULT;
	if (!g->opts.handler || (req->info.interp && g->opts.interpreters != PW_GATE_INTERP_HANDLER))
		r = ROUTE_ALLOW;
out:
	pthread_rwlock_unlock(&g->rules_lock);
	return r;
}

static void call_handler(struct pw_gate *g, struct pw_exec_request *req)
{
	int ret = g->opts.handler(g, req, g->opts.userdata);

	if (ret < 0) {
		INC(g, handler_errors);
		if (g->opts.on_error)
			g->opts.on_error(g, req, ret, g->opts.userdata);
		answer(g, req, g->opts.error_verdict, EPERM, PW_GATE_BY_ERROR, false);
	} else if (!atomic_load(&req->deferred)) {
		answer(g, req, g->opts.timeout_verdict, EPERM, PW_GATE_BY_DEFAULT, false);
	}
}

static void *worker_main(void *arg)
{
	struct pw_gate *g = arg;
	struct pw_exec_request *req;

	for (;;) {
		pthread_mutex_lock(&g->lock);
		while (!g->q_head && !atomic_load(&g->stopping))
			pthread_cond_wait(&g->work_cv, &g->lock);
		req = g->q_head;
		if (!req) {
			pthread_mutex_unlock(&g->lock);
			break;
		}
		g->q_head = req->qnext;
		if (!g->q_head)
			g->q_tail = NULL;
		pthread_mutex_unlock(&g->lock);

		if (!atomic_load(&req->answered)) {
			enum route r = ROUTE_ASK;
			enum pw_gate_reason reason = PW_GATE_BY_HANDLER;
			int err = EPERM;

			/* (without rules_pending, the reader routed it and looked in the cache) */
			if (req->rules_pending) {
				r = route_by_rules(g, req, &err, &reason);
				if (r == ROUTE_ASK && cache_deny_hit(g, req, &err)) {
					r = ROUTE_DENY;
					reason = PW_GATE_BY_CACHE;
				}
			}
			if (r == ROUTE_ASK)
				call_handler(g, req);
			else
				answer(g, req, r == ROUTE_DENY ? PW_EXEC_DENY : PW_EXEC_ALLOW, err, reason,
				       false);
		}
		request_put(req); /* the worker's reference */
	}
	return NULL;
}

/* Hand a request to the pool, with its deadline watched by the reader. */
static void enqueue(struct pw_gate *g, struct pw_exec_request *req)
{
	atomic_fetch_add(&req->refs, 1); /* the worker's */
	pthread_mutex_lock(&g->lock);
	req->in_flight = true;
	req->iprev = NULL;
	req->inext = g->inflight;
	if (g->inflight)
		g->inflight->iprev = req;
	g->inflight = req;
	req->qnext = NULL;
	if (g->q_tail)
		g->q_tail->qnext = req;
	else
		g->q_head = req;
	g->q_tail = req;
	pthread_cond_signal(&g->work_cv);
	pthread_mutex_unlock(&g->lock);
}

static struct pw_exec_request *take_request(struct pw_gate *g)
{
	struct pw_exec_request *req;

	pthread_mutex_lock(&g->lock);
	req = g->free_list;
	if (req)
		g->free_list = req->qnext;
	pthread_mutex_unlock(&g->lock);
	return req;
}

static bool tid_is_ours(const struct pw_gate *g, uint32_t tid)
{
	char path[48];

	if (tid == (uint32_t)g->self_pid)
		return true;
	snprintf(path, sizeof(path), "/proc/self/task/%u", tid);
	return !access(path, F_OK);
}

/* One FAN_OPEN_EXEC_PERM event: decide at once, or hand it to the pool. */
static void on_exec_open(struct pw_gate *g, const struct fanotify_event_metadata *m)
{
	struct pw_exec_request local, *req = &local;
	struct exec_info info = { .fd = m->fd, .tid = (uint32_t)m->pid, .t_arrival = now_ns() };
	enum pw_gate_reason reason;
	enum route r;
	int err = EPERM;
	unsigned int slot = info.tid % TID_SLOTS;

	if (!bpf_map_lookup_elem(g->meta_fd, &info.tid, &info.meta) && info.meta.tid == info.tid) {
		info.have_meta = true;
		info.self = info.meta.pid == (uint32_t)g->self_pid;
	} else {
		INC(g, no_args);
		info.self = tid_is_ours(g, info.tid);
	}
	/*
	 * Opens after the first one of the same execve are its interpreters.
	 * (After a main image with a cached allow, no event came for it: its
	 * ELF interpreter's open is then the first, and taken for a main image.)
	 */
	if (g->tids[slot].tid == info.tid && g->tids[slot].exec_id == info.meta.exec_id) {
		info.interp = true;
		INC(g, interp);
	} else {
		g->tids[slot].tid = info.tid;
		g->tids[slot].exec_id = info.meta.exec_id;
	}

	local.pooled = false;
	pthread_mutex_init(&local.mu, NULL);
	request_init(g, &local, &info);
	if (info.self) {
		answer(g, req, PW_EXEC_ALLOW, 0, PW_GATE_BY_SELF, false);
		goto out;
	}
	if (info.interp && g->opts.interpreters == PW_GATE_INTERP_ALLOW) {
		answer(g, req, PW_EXEC_ALLOW, 0, PW_GATE_BY_DEFAULT, false);
		goto out;
	}
	if (g->rules.need_hash && g->rules.n) {
		r = ROUTE_ASK; /* hashing belongs on a worker, never on the reader */
	} else {
		r = route_by_rules(g, req, &err, &reason);
		if (r == ROUTE_ASK && cache_deny_hit(g, req, &err)) {
			r = ROUTE_DENY;
			reason = PW_GATE_BY_CACHE;
		}
		if (r != ROUTE_ASK) {
			answer(g, req, r == ROUTE_DENY ? PW_EXEC_DENY : PW_EXEC_ALLOW, err, reason, false);
			goto out;
		}
	}
	req = take_request(g);
	if (!req) {
		answer(g, &local, g->opts.timeout_verdict, EPERM, PW_GATE_BY_OVERLOAD, false);
		goto out;
	}
	request_init(g, req, &info);
	req->rules_pending = g->rules.need_hash && g->rules.n;
	req->rule = local.rule;
	req->rules_gen = local.rules_gen;
	if (local.image_done) {
		memcpy(req->image, local.image, sizeof(req->image));
		req->image_done = true;
	}
	if (local.stat_done) {
		req->st = local.st;
		req->stat_err = local.stat_err;
		req->stat_done = true;
	}
	if (local.argv_done) {
		req->argv = local.argv;
		req->argv_done = true;
	}
	enqueue(g, req);
	pthread_mutex_destroy(&local.mu);
	return;
out:
	pthread_mutex_destroy(&local.mu);
}

/* ------------------------------------------------------------ ungated */

static int on_ungated(void *ctx, void *data, size_t size)
{
	struct pw_gate *g = ctx;
	const struct pw_gate_ungated *u = data;
	struct pw_gate_decision d;

	if (size < sizeof(*u))
		return 0;
	if (u->cached) {
		if (g->opts.on_decision) /* the audit trail of an exec the kernel allowed by the cache */
			goto record;
		return 0;
	}
	INC(g, ungated);
	if (u->killed)
		INC(g, ungated_killed);
	pw_log(&g->log, PW_LOG_WARN, "ungated exec: pid %u (%.16s) ran %.*s%s", u->pid, u->comm,
	       (int)(u->image_len < PW_PATH_MAX ? u->image_len : PW_PATH_MAX), u->image,
	       u->killed ? ": killed" : "");
	if (!g->opts.on_decision)
		return 0;
record:
	memset(&d, 0, offsetof(struct pw_gate_decision, image));
	d.verdict = u->killed ? PW_EXEC_DENY : PW_EXEC_ALLOW;
	d.reason = u->cached ? PW_GATE_BY_CACHE : PW_GATE_UNGATED;
	d.err = u->killed ? EPERM : 0;
	d.pid = u->pid;
	d.tid = u->tid;
	d.uid = u->uid;
	d.rule = -1;
	d.time_ns = now_ns();
	memcpy(d.name, u->comm, PW_COMM_LEN);
	d.name[PW_COMM_LEN - 1] = 0;
	memcpy(d.image, u->image, PW_PATH_MAX);
	d.image[PW_PATH_MAX - 1] = 0;
	d.filename[0] = 0;
	d.argc = d.args_len = 0;
	pthread_mutex_lock(&g->sink_lock);
	if (g->ring_len == g->ring_cap) {
		INC(g, sink_dropped);
	} else {
		g->ring[(g->ring_head + g->ring_len) % g->ring_cap] = d;
		g->ring_len++;
		pthread_cond_signal(&g->sink_cv);
	}
	pthread_mutex_unlock(&g->sink_lock);
	return 0;
}

/* ------------------------------------------------------------ reader */

#define EXPIRE_BATCH 64

/* Answer requests past their deadline; returns ms until the next one (-1: none). */
static int expire(struct pw_gate *g, enum pw_gate_reason reason, bool all)
{
	struct pw_exec_request *due[EXPIRE_BATCH];
	uint64_t now, next = UINT64_MAX;
	size_t n;

	do {
		n = 0;
		now = now_ns();
		next = UINT64_MAX;
		pthread_mutex_lock(&g->lock);
		for (struct pw_exec_request *r = g->inflight; r; r = r->inext) {
			uint64_t dl = atomic_load(&r->deadline_ns);

			if ((all || dl <= now) && !atomic_load(&r->answered) && n < EXPIRE_BATCH) {
				atomic_fetch_add(&r->refs, 1);
				due[n++] = r;
			} else if (dl < next) {
				next = dl;
			}
		}
		pthread_mutex_unlock(&g->lock);
		for (size_t i = 0; i < n; i++) {
			answer(g, due[i], g->opts.timeout_verdict, EPERM, reason, false);
			request_put(due[i]);
		}
	} while (n == EXPIRE_BATCH);
	if (next == UINT64_MAX)
		return -1;
	now = now_ns();
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

static void read_events(struct pw_gate *g, char *buf)
{
	for (;;) {
		ssize_t len = read(g->fan_fd, buf, READ_BATCH);
		const struct fanotify_event_metadata *m = (const void *)buf;

		if (len <= 0)
			return; /* EAGAIN: drained */
		for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
			if (m->vers != FANOTIFY_METADATA_VERSION || m->fd < 0)
				continue;
			if (m->mask & FAN_OPEN_EXEC_PERM)
				on_exec_open(g, m);
			else
				close(m->fd);
		}
	}
}

static void *reader_main(void *arg)
{
	struct pw_gate *g = arg;
	char *buf = aligned_alloc(8, READ_BATCH);
	struct pollfd pfd[3] = {
		{ .fd = g->fan_fd, .events = POLLIN },
		{ .fd = g->stop_fd, .events = POLLIN },
		{ .fd = ring_buffer__epoll_fd(g->rb), .events = POLLIN },
	};
	int timeout = -1;

	if (!buf) {
		pw_log(&g->log, PW_LOG_ERROR, "gate reader: out of memory");
		return NULL;
	}
	while (!atomic_load(&g->stopping)) {
		if (poll(pfd, 3, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			read_events(g, buf);
		if (pfd[2].revents)
			ring_buffer__consume(g->rb);
		timeout = expire(g, PW_GATE_BY_TIMEOUT, false);
	}
	/* Stopping: the marks are gone, so only queued events remain; answer them all. */
	read_events(g, buf);
	expire(g, PW_GATE_BY_SHUTDOWN, true);
	ring_buffer__consume(g->rb);
	free(buf);
	return NULL;
}

/* ------------------------------------------------------------ marks */

static const char *const unmarked_fstypes[] = {
	"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "bpf", "tracefs", "debugfs",
	"securityfs", "pstore", "configfs", "fusectl", "binfmt_misc", "efivarfs", "autofs",
	"rpc_pipefs", "nsfs", "selinuxfs", "hugetlbfs",
};

/* Undo mountinfo's octal escapes (\040 for space...) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}

static bool dev_known(struct pw_gate *g, dev_t dev)
{
	for (size_t i = 0; i < g->n_devs; i++)
		if (g->devs[i] == dev)
			return true;
	return false;
}

static void dev_add(struct pw_gate *g, dev_t dev)
{
	if (g->n_devs == g->cap_devs) {
		size_t cap = g->cap_devs ? 2 * g->cap_devs : 64;
		dev_t *v = realloc(g->devs, cap * sizeof(*v));

		if (!v)
			return;
		g->devs = v;
		g->cap_devs = cap;
	}
	g->devs[g->n_devs++] = dev;
}

/*
 * Mark every filesystem of /proc/self/mountinfo not marked yet (one mark per
 * superblock: deduplicated by device). Filesystems that refuse are counted;
 * execs from them are caught as ungated by the BPF side.
 */
static void mark_filesystems(struct pw_gate *g)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		pw_log(&g->log, PW_LOG_ERROR, "cannot read /proc/self/mountinfo: %s", strerror(errno));
		return;
	}
	while (getline(&line, &cap, f) > 0) {
		unsigned int maj, min;
		char mnt[4096], fstype[64];
		const char *sep = strstr(line, " - ");
		bool skip = false;
		dev_t dev;

		if (!sep || sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		dev = makedev(maj, min);
		if (dev_known(g, dev))
			continue;
		for (size_t i = 0; i < sizeof(unmarked_fstypes) / sizeof(*unmarked_fstypes); i++)
			skip |= !strcmp(fstype, unmarked_fstypes[i]);
		dev_add(g, dev); /* tried once, marked or not */
		if (skip)
			continue;
		unescape(mnt);
		if (fanotify_mark(g->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM,
				  AT_FDCWD, mnt)) {
			atomic_fetch_add(&g->fs_unmarkable, 1);
			pw_log(&g->log, PW_LOG_WARN, "cannot gate %s (%s): %s; its execs are reported ungated",
			       mnt, fstype, strerror(errno));
			continue;
		}
		atomic_fetch_add(&g->fs_marked, 1);
		pw_log(&g->log, PW_LOG_DEBUG, "gating %s (%s)", mnt, fstype);
	}
	free(line);
	fclose(f);
}

/* New mounts show as POLLPRI on mountinfo; the path lookups of marking stay off the reader. */
static void *mounts_main(void *arg)
{
	struct pw_gate *g = arg;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLPRI },
		{ .fd = g->stop_fd, .events = POLLIN },
	};

	if (fd < 0)
		return NULL;
	while (!atomic_load(&g->stopping)) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (atomic_load(&g->stopping))
			break;
		if (pfd[0].revents & (POLLPRI | POLLERR))
			mark_filesystems(g);
	}
	close(fd);
	return NULL;
}

/* ------------------------------------------------------------ start/stop */

static int tracefs_ready(struct pw_gate *g)
{
	if (!access("/sys/kernel/tracing/events/syscalls/sys_enter_execve", F_OK))
		return 1;
	if (!access("/sys/kernel/debug/tracing/events/syscalls/sys_enter_execve", F_OK))
		return 1;
	if (!mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		pw_log(&g->log, PW_LOG_INFO, "mounted tracefs on /sys/kernel/tracing for the exec gate");
		return !access("/sys/kernel/tracing/events/syscalls/sys_enter_execve", F_OK);
	}
	return 0;
}

static int map_or(int fd, const void *key, uint64_t bits)
{
	uint64_t v = 0;

	bpf_map_lookup_elem(fd, key, &v);
	v |= bits;
	return bpf_map_update_elem(fd, key, &v, BPF_ANY);
}

/* Descendants of root (from /proc) get its tree bit: for rules naming a running service. */
static void seed_tree(struct pw_gate *g, pid_t root, uint64_t bit)
{
	int tree_fd = bpf_map__fd(g->skel->maps.tree);
	bool grew = true;

	map_or(tree_fd, &(uint32_t){ (uint32_t)root }, bit);
	/* Fixed point over ppid links; every pass adds at least one generation. */
	for (int pass = 0; grew && pass < 64; pass++) {
		DIR *d = opendir("/proc");
		struct dirent *de;

		grew = false;
		if (!d)
			return;
		while ((de = readdir(d))) {
			struct pw_stat_fields st;
			char path[288], buf[1024];
			uint32_t pid, ppid;
			uint64_t v = 0, pv = 0;
			size_t len;
			bool trunc;
			int dfd;

			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s", de->d_name);
			dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0)
				continue;
			if (pw_procfs_read_file(dfd, "stat", buf, sizeof(buf), &len, &trunc) ||
			    pw_procfs_parse_stat(buf, len, &st)) {
				close(dfd);
				continue;
			}
			close(dfd);
			pid = st.pid;
			ppid = st.ppid;
			if (bpf_map_lookup_elem(tree_fd, &ppid, &pv) || !(pv & bit))
				continue;
			bpf_map_lookup_elem(tree_fd, &pid, &v);
			if (v & bit)
				continue;
			map_or(tree_fd, &pid, bit);
			grew = true;
		}
		closedir(d);
	}
}

/* Subject conditions into the BPF maps; bit order as in pw_gate_rules_add(). */
static int load_subjects(struct pw_gate *g)
{
	struct pw_gate_bpf_config *cfg = &g->skel->bss->gate_cfg;
	int err = 0;

	cfg->scope_all = !g->rules.have_scope;
	for (size_t i = 0; i < g->rules.n && !err; i++) {
		const struct pw_gate_rule_entry *e = &g->rules.v[i];
		unsigned int b = e->subject_mask ? (unsigned int)__builtin_ctzll(e->subject_mask) : 0;

		if (!e->subject_mask)
			continue;
		cfg->have_subjects = 1;
		if (e->has_uid)
			err = err ?: map_or(bpf_map__fd(g->skel->maps.subj_uid), &e->uid, 1ull << b++);
		if (e->subject_name[0]) {
			char key[PW_COMM_LEN] = { 0 };

			memcpy(key, e->subject_name, PW_COMM_LEN - 1);
			err = err ?: map_or(bpf_map__fd(g->skel->maps.subj_name), key, 1ull << b);
			if (e->children) {
				err = err ?: map_or(bpf_map__fd(g->skel->maps.tree_name), key, 1ull << b);
				cfg->have_trees = 1;
			}
			b++;
		}
		if (e->subject_pid) {
			uint32_t pid = e->subject_pid;

			if (e->children) {
				cfg->have_trees = 1;
				seed_tree(g, e->subject_pid, 1ull << b);
			} else {
				err = err ?: map_or(bpf_map__fd(g->skel->maps.subj_pid), &pid, 1ull << b);
			}
			b++;
		}
		if (e->action == PW_GATE_ASK) {
			if (cfg->n_scopes == PW_GATE_MAX_SCOPES)
				return -PW_ERR_RULE_LIMIT;
			cfg->scope_masks[cfg->n_scopes++] = e->subject_mask;
		}
	}
	return err;
}

static int load_bpf(struct pw_gate *g)
{
	struct gate_bpf *skel;
	bool tracepoints;
	int err;

	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return -PW_ERR_NO_BTF;
	pw_log_libbpf_begin(&g->log);
	tracepoints = tracefs_ready(g) > 0;
	if (!tracepoints)
		pw_log(&g->log, PW_LOG_INFO,
		       "no tracefs: capturing execve arguments from the raw sys_enter tracepoint");
	skel = gate_bpf__open();
	if (!skel) {
		err = -errno;
		goto out;
	}
	g->skel = skel;
	bpf_program__set_autoload(skel->progs.pw_gate_enter_execve, tracepoints);
	bpf_program__set_autoload(skel->progs.pw_gate_enter_execveat, tracepoints);
	bpf_program__set_autoload(skel->progs.pw_gate_sys_enter, !tracepoints);
	err = gate_bpf__load(skel);
	if (err) {
		pw_log(&g->log, PW_LOG_ERROR, "loading the gate programs failed: %s", pw_strerror(err));
		err = err == -EPERM || err == -EACCES ? -PW_ERR_NO_BPF : -PW_ERR_KERNEL_FEATURE;
		goto out;
	}
	skel->bss->gate_cfg.self_pid = g->self_pid;
	skel->bss->gate_cfg.fail_closed = g->opts.fail_closed_ungated;
	skel->bss->gate_cfg.report_cached = g->opts.on_decision != NULL;
	err = load_subjects(g);
	if (err)
		goto out;
	err = gate_bpf__attach(skel);
	if (err) {
		pw_log(&g->log, PW_LOG_ERROR, "attaching the gate programs failed: %s", pw_strerror(err));
		err = -PW_ERR_KERNEL_FEATURE;
		goto out;
	}
	g->meta_fd = bpf_map__fd(skel->maps.gate_meta);
	g->argv_fd = bpf_map__fd(skel->maps.gate_argv);
	g->marks_fd = bpf_map__fd(skel->maps.gate_marks);
	g->cached_fd = bpf_map__fd(skel->maps.gate_cached);
	g->rb = ring_buffer__new(bpf_map__fd(skel->maps.ungated), on_ungated, g, NULL);
	if (!g->rb)
		err = -errno;
out:
	pw_log_libbpf_end();
	return err;
}

static int open_group(struct pw_gate *g)
{
	const unsigned int base = FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_TID | FAN_UNLIMITED_QUEUE;
	const unsigned int fflags = O_RDONLY | O_LARGEFILE | O_CLOEXEC;

	/* The pre-content class accepts FAN_DENY_ERRNO (Linux 6.14+); content is the fallback. */
	g->fan_fd = fanotify_init(base | FAN_CLASS_PRE_CONTENT, fflags);
	g->deny_errno_ok = g->fan_fd >= 0;
	if (g->fan_fd < 0 && errno == EINVAL)
		g->fan_fd = fanotify_init(base | FAN_CLASS_CONTENT, fflags);
	if (g->fan_fd >= 0)
		return 0;
	if (errno == EPERM) {
		pw_log(&g->log, PW_LOG_ERROR,
		       "the exec gate needs root (CAP_SYS_ADMIN for fanotify permission events)");
		return -EPERM;
	}
	pw_log(&g->log, PW_LOG_ERROR, "fanotify_init failed: %s", strerror(errno));
	return errno == ENOSYS || errno == EINVAL ? -PW_ERR_KERNEL_FEATURE : -errno;
}

static void gate_shutdown(struct pw_gate *g)
{
	uint64_t one = 1;

	atomic_store(&g->stopping, true);
	if (g->skel)
		g->skel->bss->gate_cfg.enabled = 0;
	if (g->stop_fd >= 0)
		(void)!write(g->stop_fd, &one, sizeof(one));
	if (g->have_mounts)
		pthread_join(g->mounts, NULL);
	g->have_mounts = false;
	/* No new events from here; the reader answers what is queued and in flight. */
	if (g->fan_fd >= 0)
		fanotify_mark(g->fan_fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
	if (g->have_reader)
		pthread_join(g->reader, NULL);
	g->have_reader = false;
	pthread_mutex_lock(&g->lock);
	pthread_cond_broadcast(&g->work_cv);
	pthread_mutex_unlock(&g->lock);
	for (unsigned int i = 0; i < g->n_workers; i++)
		pthread_join(g->workers[i], NULL);
	g->n_workers = 0;
	/* Every request is answered and no thread of ours writes responses any more. */
	for (unsigned int i = 0; i < g->cache_n; i++)
		if (g->cache[i].verdict == PW_EXEC_ALLOW)
			close(g->cache[i].fd);
	g->cache_n = 0;
	free(g->cache);
	g->cache = NULL;
	if (g->fan_fd >= 0)
		close(g->fan_fd); /* and with the group, every ignore mark */
	g->fan_fd = -1;
	pthread_mutex_lock(&g->sink_lock);
	pthread_cond_broadcast(&g->sink_cv);
	pthread_mutex_unlock(&g->sink_lock);
	if (g->have_sink)
		pthread_join(g->sink, NULL);
	g->have_sink = false;
	ring_buffer__free(g->rb);
	g->rb = NULL;
	if (g->skel) /* kept for pw_gate_stats() after stop */
		g->kernel_cache_hits = __atomic_load_n(&g->skel->bss->cache_hits, __ATOMIC_RELAXED);
	gate_bpf__destroy(g->skel);
	g->skel = NULL;
	if (g->stop_fd >= 0)
		close(g->stop_fd);
	g->stop_fd = -1;
	for (unsigned int i = 0; g->pool && i < g->opts.max_pending; i++)
		pthread_mutex_destroy(&g->pool[i].mu);
	free(g->pool);
	g->pool = g->free_list = g->q_head = g->q_tail = g->inflight = NULL;
	free(g->workers);
	g->workers = NULL;
	free(g->ring);
	g->ring = NULL;
	g->ring_len = g->ring_head = 0;
	free(g->devs);
	g->devs = NULL;
	g->n_devs = g->cap_devs = 0;
	g->started = false;
}

PW_API int pw_gate_start(struct pw_gate *g)
{
	int err;

	if (!g)
		return -EINVAL;
	if (g->started)
		return -EALREADY;
	g->self_pid = getpid();
	atomic_store(&g->stopping, false);
	memset(&g->c, 0, sizeof(g->c));
	memset(g->tids, 0, sizeof(g->tids));
	g->cache_n = 0;
	g->cache_tick = 0;
	g->ignore_flag = FAN_MARK_IGNORE;
	g->fs_marked = g->fs_unmarkable = 0;
	err = open_group(g);
	if (err)
		return err;
	g->started = true; /* from here gate_shutdown() undoes whatever was done */
	err = load_bpf(g);
	if (err)
		goto fail;
	g->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->pool = calloc(g->opts.max_pending, sizeof(*g->pool));
	g->workers = calloc(g->opts.workers, sizeof(*g->workers));
	g->ring_cap = g->opts.decision_queue;
	g->ring = g->opts.on_decision ? calloc(g->ring_cap, sizeof(*g->ring)) : NULL;
	g->cache = calloc(g->opts.cache_entries, sizeof(*g->cache));
	if (g->stop_fd < 0 || !g->pool || !g->workers || (g->opts.on_decision && !g->ring) ||
	    !g->cache) {
		err = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < g->opts.max_pending; i++) {
		struct pw_exec_request *r = &g->pool[i];

		pthread_mutex_init(&r->mu, NULL);
		r->pooled = true;
		r->info.fd = -1;
		r->qnext = g->free_list;
		g->free_list = r;
	}
	for (; g->n_workers < g->opts.workers; g->n_workers++) {
		err = -pthread_create(&g->workers[g->n_workers], NULL, worker_main, g);
		if (err)
			goto fail;
	}
	if (g->opts.on_decision) {
		err = -pthread_create(&g->sink, NULL, sink_main, g);
		if (err)
			goto fail;
		g->have_sink = true;
	}
	err = -pthread_create(&g->reader, NULL, reader_main, g);
	if (err)
		goto fail;
	g->have_reader = true;
	g->skel->bss->gate_cfg.enabled = 1;
	/* The reader runs: execs may now wait on this gate. */
	mark_filesystems(g);
	if (!g->fs_marked) {
		pw_log(&g->log, PW_LOG_ERROR, "no filesystem could be marked for exec permission events");
		err = -PW_ERR_KERNEL_FEATURE;
		goto fail;
	}
	{
		struct timespec ts; /* bpf_ktime_get_ns() is CLOCK_MONOTONIC */

		clock_gettime(CLOCK_MONOTONIC, &ts);
		g->skel->bss->gate_cfg.armed_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	}
	err = -pthread_create(&g->mounts, NULL, mounts_main, g);
	if (err)
		goto fail;
	g->have_mounts = true;
	pw_log(&g->log, PW_LOG_INFO, "exec gate started: %" PRIu64 " filesystems gated, %" PRIu64
	       " not markable, deny errno %s", (uint64_t)g->fs_marked, (uint64_t)g->fs_unmarkable,
	       g->deny_errno_ok ? "supported" : "EPERM only");
	return 0;
fail:
	gate_shutdown(g);
	return err;
}

PW_API void pw_gate_stop(struct pw_gate *g)
{
	if (g && g->started)
		gate_shutdown(g);
}

PW_API void pw_gate_free(struct pw_gate *g)
{
	if (!g)
		return;
	pw_gate_stop(g);
	pw_gate_rules_free(&g->rules);
	pthread_rwlock_destroy(&g->rules_lock);
	pthread_mutex_destroy(&g->cache_lock);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->work_cv);
	pthread_mutex_destroy(&g->sink_lock);
	pthread_cond_destroy(&g->sink_cv);
	free(g);
}

PW_API int pw_gate_stats(const struct pw_gate *g, struct pw_gate_stats *stats)
{
	struct pw_gate_stats s = { .sz = sizeof(s) };
	struct gate_counters *c;
	size_t sz;

	if (!g || !stats || stats->sz < sizeof(size_t))
		return -EINVAL;
	c = (struct gate_counters *)&g->c;
	s.decisions = atomic_load(&c->decisions);
	s.allowed = atomic_load(&c->allowed);
	s.denied = atomic_load(&c->denied);
	s.by_rule = atomic_load(&c->by_rule);
	s.by_handler = atomic_load(&c->by_handler);
	s.timed_out = atomic_load(&c->timed_out);
	s.late_verdicts = atomic_load(&c->late);
	s.handler_errors = atomic_load(&c->handler_errors);
	s.self_allowed = atomic_load(&c->self_allowed);
	s.interpreter_opens = atomic_load(&c->interp);
	s.overloaded = atomic_load(&c->overloaded);
	s.ungated = atomic_load(&c->ungated);
	s.ungated_killed = atomic_load(&c->ungated_killed);
	s.ungated_lost = g->skel ? __atomic_load_n(&g->skel->bss->ungated_lost, __ATOMIC_RELAXED) : 0;
	s.no_args = atomic_load(&c->no_args);
	s.sink_dropped = atomic_load(&c->sink_dropped);
	s.filesystems_marked = g->fs_marked;
	s.filesystems_unmarkable = g->fs_unmarkable;
	s.extensions = atomic_load(&c->extensions);
	s.cache_hits = atomic_load(&c->cache_hits) +
		       (g->skel ? __atomic_load_n(&g->skel->bss->cache_hits, __ATOMIC_RELAXED)
				: g->kernel_cache_hits);
	s.cache_misses = atomic_load(&c->cache_misses);
	s.cache_entries = g->cache_n;
	s.cache_evictions = atomic_load(&c->cache_evictions);
	s.cache_flushes = atomic_load(&c->cache_flushes);
	s.cache_refused = atomic_load(&c->cache_refused);
	s.cache_invalidated = atomic_load(&c->cache_invalidated);
	sz = stats->sz < sizeof(s) ? stats->sz : sizeof(s);
	memcpy(stats, &s, sz);
	stats->sz = sz;
	return 0;
}

/* ------------------------------------------------------------ decision records */

PW_API enum pw_exec_verdict pw_decision_verdict(const struct pw_gate_decision *d) { return d->verdict; }
PW_API enum pw_gate_reason pw_decision_reason(const struct pw_gate_decision *d) { return d->reason; }
PW_API int pw_decision_errno(const struct pw_gate_decision *d) { return d->err; }
PW_API bool pw_decision_audit(const struct pw_gate_decision *d) { return d->audit; }
PW_API bool pw_decision_is_interpreter(const struct pw_gate_decision *d) { return d->interp; }
PW_API pid_t pw_decision_pid(const struct pw_gate_decision *d) { return d->pid; }
PW_API pid_t pw_decision_tid(const struct pw_gate_decision *d) { return d->tid; }
PW_API uint32_t pw_decision_uid(const struct pw_gate_decision *d) { return d->uid; }
PW_API const char *pw_decision_name(const struct pw_gate_decision *d) { return d->name; }
PW_API const char *pw_decision_image(const struct pw_gate_decision *d) { return d->image; }
PW_API const char *pw_decision_filename(const struct pw_gate_decision *d) { return d->filename; }
PW_API size_t pw_decision_argc(const struct pw_gate_decision *d) { return d->argc; }
PW_API int pw_decision_rule(const struct pw_gate_decision *d) { return d->rule; }
PW_API uint64_t pw_decision_time_ns(const struct pw_gate_decision *d) { return d->time_ns; }
PW_API uint64_t pw_decision_latency_ns(const struct pw_gate_decision *d) { return d->latency_ns; }

PW_API const char *pw_decision_arg(const struct pw_gate_decision *d, size_t i)
{
	uint32_t off = 0;

	if (i >= d->argc)
		return NULL;
	for (; i && off < d->args_len; off++)
		if (!d->args[off])
			i--;
	return off < d->args_len ? &d->args[off] : NULL;
}

PW_API const char *pw_gate_reason_name(enum pw_gate_reason reason)
{
	static const char *const names[] = {
		[PW_GATE_BY_RULE] = "rule",         [PW_GATE_BY_HANDLER] = "handler",
		[PW_GATE_BY_TIMEOUT] = "timeout",   [PW_GATE_BY_ERROR] = "error",
		[PW_GATE_BY_DEFAULT] = "default",   [PW_GATE_BY_SELF] = "self",
		[PW_GATE_BY_OVERLOAD] = "overload", [PW_GATE_BY_SHUTDOWN] = "shutdown",
		[PW_GATE_UNGATED] = "ungated",      [PW_GATE_BY_CACHE] = "cache",
	};

	if ((unsigned int)reason >= sizeof(names) / sizeof(*names))
		return NULL;
	return names[reason];
}
