// SPDX-License-Identifier: MIT
/*
 * gate/request.c - one exec-open request: its pool, its lazily read facts,
 * what of its verdict the cache keeps, its single answer to the kernel, and
 * the verdict and accessor API.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "core/fd.h"
#include "gate/gate.h"
#include "gate.skel.h"

/* ------------------------------------------------------------ requests */

void pw_gate_request_put(struct pw_exec_request *req)
{
	struct pw_gate *g = req->g;

	if (atomic_fetch_sub(&req->refs, 1) != 1)
		return;
	pw_zclose(&req->info.fd);
	if (req->info.event_fd >= 0) /* issue 12: ld.so's event fd when fd is its PROGRAM */
		close(req->info.event_fd);
	req->info.event_fd = -1;
	if (req->info.pidfd >= 0) /* a held exec (answered by the guardian: never released here) */
		close(req->info.pidfd);
	req->info.pidfd = -1;
	if (!req->pooled || req->retired)
		return;
	pthread_mutex_lock(&g->lock);
	req->qnext = g->free_list;
	g->free_list = req;
	pthread_mutex_unlock(&g->lock);
}

void pw_gate_request_init(struct pw_gate *g, struct pw_exec_request *req, const struct pw_gate_exec_info *info)
{
	req->g = g;
	req->info = *info;
	req->rules_pending = false;
	req->qnext = req->inext = req->iprev = NULL;
	req->in_flight = false;
	atomic_store(&req->deadline_ns, info->t_arrival + (uint64_t)g->opts.timeout_ms * 1000000ull);
	atomic_store(&req->answered, 0);
	atomic_store(&req->responded, 0);
	atomic_store(&req->refs, 1);
	atomic_store(&req->deferred, 0);
	atomic_store(&req->extensions, 0);
	req->by_app = false;
	req->rule = -1;
	req->image_done = req->argv_done = req->hash_done = req->stat_done = false;
	req->cache_want = false;
	req->rules_gen = 0;
	req->marked = false;
}

/* fstat of the image, once per request. */
const struct stat *pw_gate_req_stat(struct pw_exec_request *req)
{
	pthread_mutex_lock(&req->mu);
	if (!req->stat_done) {
		req->stat_err = fstat(req->info.fd, &req->st) ? -errno : 0;
		req->stat_done = true;
	}
	pthread_mutex_unlock(&req->mu);
	return req->stat_err ? NULL : &req->st;
}

const char *pw_gate_req_image(struct pw_exec_request *req)
{
	char link[32];
	ssize_t n;

	pthread_mutex_lock(&req->mu);
	if (!req->image_done) {
		int dir = req->g->proc_fd_dir;

		n = -1;
		if (req->info.fd >= 0) {
			snprintf(link, sizeof(link), "%s%d", dir >= 0 ? "" : "/proc/self/fd/", req->info.fd);
			n = readlinkat(dir >= 0 ? dir : AT_FDCWD, link, req->image, sizeof(req->image) - 1);
		}
		req->image[n > 0 ? n : 0] = 0;
		req->image_done = true;
	}
	pthread_mutex_unlock(&req->mu);
	return req->image[0] ? req->image : NULL;
}

/* ------------------------------------------------------------ the pool */

/*
 * Every exec-open the gate reads takes an entry of a pool of max_pending,
 * allocated at start: a burst never allocates, and the guardian's shared
 * slots are indexed by the entry. 0 or -ENOMEM.
 */
int pw_gate_pool_create(struct pw_gate *g)
{
	/*
	 * Without it (no /proc of our pid namespace) images are read by full
	 * path. "self" is resolved at open: a child forked after an earlier
	 * start holds its parent's fd table's directory, and opens its own.
	 */
	if (g->proc_fd_dir >= 0 && g->proc_fd_pid != getpid())
		pw_zclose(&g->proc_fd_dir);
	if (g->proc_fd_dir < 0) {
		g->proc_fd_dir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
		g->proc_fd_pid = getpid();
	}
	g->pool = calloc(g->opts.max_pending, sizeof(*g->pool));
	if (!g->pool)
		return -ENOMEM;
	g->free_list = NULL;
	for (unsigned int i = 0; i < g->opts.max_pending; i++) {
		struct pw_exec_request *r = &g->pool[i];

		pthread_mutex_init(&r->mu, NULL);
		r->pooled = true;
		r->info.fd = -1;
		r->qnext = g->free_list;
		g->free_list = r;
	}
	return 0;
}

/*
 * After the threads are gone only the application can hold requests: those
 * it deferred, valid until its verdict call (which now returns -ETIMEDOUT).
 * Their pool is then kept, apart from any new one, until pw_gate_free().
 */
void pw_gate_pool_retire(struct pw_gate *g)
{
	struct retired_pool *rp;
	bool held = false;

	for (unsigned int i = 0; g->pool && i < g->opts.max_pending; i++)
		if (atomic_load(&g->pool[i].refs) > 0) {
			g->pool[i].retired = true;
			held = true;
		}
	if (held && (rp = malloc(sizeof(*rp)))) {
		rp->pool = g->pool;
		rp->n = g->opts.max_pending;
		rp->next = g->retired;
		g->retired = rp;
		pw_log(&g->log, PW_LOG_DEBUG, "deferred requests outlive the stop; kept until pw_gate_free()");
		g->pool = g->free_list = NULL;
		return;
	}
	for (unsigned int i = 0; g->pool && i < g->opts.max_pending; i++)
		pthread_mutex_destroy(&g->pool[i].mu);
	free(g->pool);
	g->pool = g->free_list = NULL;
}

/* pw_gate_free(): the pools deferred requests kept past a stop. */
void pw_gate_pool_free_retired(struct pw_gate *g)
{
	while (g->retired) {
		struct retired_pool *rp = g->retired;

		g->retired = rp->next;
		for (unsigned int i = 0; i < rp->n; i++) {
			if (rp->pool[i].info.fd >= 0)
				close(rp->pool[i].info.fd);
			pthread_mutex_destroy(&rp->pool[i].mu);
		}
		free(rp->pool);
		free(rp);
	}
}

/* ------------------------------------------------------------ the verdict cache, for a request */

bool pw_gate_req_cached_deny(struct pw_gate *g, struct pw_exec_request *req, int *err)
{
	const struct stat *st = pw_gate_req_stat(req); /* also what a verdict cached later is checked against */
	struct pw_gate_file_id id;

	if (st)
		pw_gate_file_id_of(&id, st);
	return pw_gate_cache_lookup_deny(&g->cache, st ? &id : NULL, err);
}

/*
 * After the answer: keep the verdict for the image, if this request's may
 * be kept. The file's own conditions (who may change it) are the cache's.
 */
static void keep_verdict(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v, int err)
{
	const struct stat *st = pw_gate_req_stat(req);
	struct pw_gate_file_id id;
	const char *why;

	if (g->opts.audit) {
		why = "audit mode";
	} else if (!st) {
		why = "the image could not be examined";
	} else if (v == PW_EXEC_ALLOW && (req->info.held || req->info.via_loader || req->info.loader_run)) {
		why = "a held or loader exec: there is no fanotify event to mark"; /* a stale deny only fails closed */
	} else {
		/* Under the read lock: a rule change waits for this insert, then flushes it. */
		pthread_rwlock_rdlock(&g->rules_lock);
		if (req->rules_gen != atomic_load(&g->rules_gen))
			why = "the rules changed while it was decided";
		else
			why = pw_gate_rules_cache_veto(&g->rules, req->rule, v == PW_EXEC_ALLOW,
						       g->rules.need_image ? pw_gate_req_image(req) : NULL,
						       req->hash_done && !req->hash_err ? req->hash : NULL);
		if (!why) {
			pw_gate_file_id_of(&id, st);
			why = pw_gate_cache_insert(&g->cache, req->info.fd, &id, v, err);
		}
		pthread_rwlock_unlock(&g->rules_lock);
	}
	if (why) {
		const char *image = pw_gate_req_image(req);

		PW_GATE_COUNT(g, cache_refused);
		pw_log(&g->log, PW_LOG_INFO, "not caching the verdict for %s: %s", image ? image : "?", why);
	}
}

/* ------------------------------------------------------------ answering */

static bool info_in_scope(const struct pw_gate *g, const struct pw_gate_exec_info *info)
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

/*
 * Tell BPF this exec was seen, so sched_process_exec does not call it
 * ungated. Done when the request is read, before it is decided: whoever
 * answers it then (this process, or the guardian for it) answers a gated
 * exec. A deny takes the mark back.
 */
int pw_gate_mark_gated(struct pw_gate *g, struct pw_exec_request *req, bool replace)
{
	const struct pw_gate_exec_info *info = &req->info;
	struct pw_gate_mark mark = { 0 };
	const struct stat *st;

	/*
	 * Self execs are marked too: a vfork/posix_spawn child of the gate is
	 * answered at once as self, but fanotify did see it, so
	 * sched_process_exec must not report it as ungated.
	 */
	/*
	 * Not marked: a held exec (it is past sched_process_exec), and ld.so
	 * run as a program, so that it is held and decided on PROGRAM (loader.c).
	 */
	if (info->interp || info->held || info->loader_run || (info->have_meta && !info_in_scope(g, info)))
		return 0;
	st = pw_gate_req_stat(req);
	if (!st)
		return 0;
	mark.ino = st->st_ino;
	mark.dev = major(st->st_dev) << 20 | minor(st->st_dev);
	if (bpf_map_update_elem(g->marks_fd, &req->info.tid, &mark, replace ? BPF_ANY : BPF_NOEXIST))
		return -errno;
	req->marked = true;
	return 0;
}

/* The errno a deny gives here: EPERM without FAN_DENY_ERRNO or for errnos the kernel refuses. */
static int given_errno(const struct pw_gate *g, int err)
{
	return !err || !g->deny_errno_ok || !pw_gate_errno_deliverable(err) ? EPERM : err;
}

/*
 * err: for a deny, already given_errno(). Returns the errno actually given
 * (EPERM if the kernel refuses the chosen one after all).
 */
static int respond(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v, int err)
{
	const struct pw_gate_exec_info *info = &req->info;
	struct fanotify_response r = { .fd = pw_gate_event_fd(info), .response = FAN_ALLOW };

	if (info->held) /* issue 12: no fanotify event waits; the process is stopped */
		return pw_gate_hold_respond(g, req, v, err);
	if (v == PW_EXEC_DENY) {
		r.response = err == EPERM ? FAN_DENY : FAN_DENY_ERRNO(err);
		if (req->marked) /* no exec follows; a later one of this thread must not find it */
			bpf_map_delete_elem(g->marks_fd, &info->tid);
		req->marked = false;
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
		if (errno == ENOENT) /* answered already: the guardian, for a process that was gone */
			break;
		pw_log(&g->log, PW_LOG_ERROR, "writing a fanotify response failed: %s", strerror(errno));
		break;
	}
	return err;
}

/*
 * Give the verdict once: the first caller wins (reader, worker, timeout or
 * the application). -EALREADY if it was answered before.
 */
int pw_gate_answer(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v, int err,
		   enum pw_gate_reason reason, bool by_app)
{
	enum pw_exec_verdict enforced;
	bool ours;
	int expected = 0;
	bool record;

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
	/*
	 * The guardian may have answered it (this process did not, in time):
	 * then its verdict stands, and what is recorded is the guardian's.
	 */
	ours = pw_guard_claim(g, req);
	if (!ours) {
		v = g->opts.timeout_verdict;
		err = EPERM;
		reason = PW_GATE_BY_GUARDIAN;
		req->by_app = false;
		atomic_fetch_add(&g->by_guardian, 1);
	}
	enforced = g->opts.audit ? PW_EXEC_ALLOW : v;
	/* The record needs argv, which is readable only while the exec waits. */
	record = pw_gate_decision_wanted(g, v, reason);
	if (record && ours)
		(void)pw_gate_req_argv(req);
	/*
	 * Counters and the cache before the response: whoever saw the exec
	 * finish (and execs the same file again at once, or reads the stats)
	 * must find them updated.
	 */
	if (v == PW_EXEC_DENY)
		err = given_errno(g, err);
	PW_GATE_COUNT(g, decisions);
	if (v == PW_EXEC_ALLOW)
		PW_GATE_COUNT(g, allowed);
	else
		PW_GATE_COUNT(g, denied);
	switch (reason) {
	case PW_GATE_BY_RULE: PW_GATE_COUNT(g, by_rule); break;
	case PW_GATE_BY_HANDLER: PW_GATE_COUNT(g, by_handler); break;
	case PW_GATE_BY_TIMEOUT: PW_GATE_COUNT(g, timed_out); break;
	case PW_GATE_BY_SELF: PW_GATE_COUNT(g, self_allowed); break;
	case PW_GATE_BY_OVERLOAD: PW_GATE_COUNT(g, overloaded); break;
	default: break;
	}
	/* Only verdicts someone gave: not a timeout's, an error's or a default's. */
	if (req->cache_want && (reason == PW_GATE_BY_HANDLER || reason == PW_GATE_BY_RULE))
		keep_verdict(g, req, v, err);
	if (ours) {
		err = respond(g, req, enforced, err);
		pw_guard_release(g, req);
	}
	atomic_store(&req->responded, 1);
	if (record)
		pw_gate_record_decision(g, req, v, err, reason);
	pw_gate_request_put(req); /* the kernel's reference: the exec no longer waits */
	return ours ? 0 : -ETIMEDOUT;
}

/* ------------------------------------------------------------ verdict API */

/*
 * Application calls count themselves in g->verdicts_running for their whole
 * length: pw_gate_stop() waits for them before it releases what a verdict
 * uses (the BPF maps, the group, the cache, the guardian's mapping). A
 * call that comes after stop answered everything loses the compare-and-swap
 * and touches none of it.
 */
static void app_call_enter(struct pw_gate *g)
{
	atomic_fetch_add(&g->verdicts_running, 1);
}

static void app_call_leave(struct pw_gate *g)
{
	atomic_fetch_sub(&g->verdicts_running, 1);
}

static int verdict_call(struct pw_exec_request *req, enum pw_exec_verdict v, int err, bool cache)
{
	struct pw_gate *g;
	int ret;

	if (!req || err < 0 || err > 4095)
		return -EINVAL;
	g = req->g;
	app_call_enter(g);
	/* a reference so that pw_gate_answer() dropping the kernel's cannot free req under us */
	atomic_fetch_add(&req->refs, 1);
	if (cache && !atomic_load(&req->answered))
		req->cache_want = true; /* read by whoever answers: this call, unless it lost the race */
	ret = pw_gate_answer(g, req, v, err, PW_GATE_BY_HANDLER, true);
	if ((ret == -EALREADY && !req->by_app) || ret == -ETIMEDOUT) {
		PW_GATE_COUNT(g, late);
		ret = -ETIMEDOUT;
	}
	if (atomic_exchange(&req->deferred, 0))
		pw_gate_request_put(req);
	pw_gate_request_put(req);
	app_call_leave(g);
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
	app_call_enter(req->g);
	if (!atomic_load(&req->answered)) { /* (stop waits for this call: the mapping stays) */
		uint64_t dl = pw_gate_now_ns() + (uint64_t)ms * 1000000ull;

		atomic_store(&req->deadline_ns, dl);
		pw_guard_extend(req->g, req, dl);
	}
	app_call_leave(req->g);
	PW_GATE_COUNT(req->g, extensions);
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
	const struct pw_gate_argv *av = req ? pw_gate_req_argv(req) : NULL;

	return av ? av->argc : 0;
}

PW_API const char *pw_exec_arg(struct pw_exec_request *req, size_t i)
{
	const struct pw_gate_argv *av = req ? pw_gate_req_argv(req) : NULL;
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
	const struct pw_gate_argv *av = req ? pw_gate_req_argv(req) : NULL;

	return av ? av->filename : NULL;
}

PW_API const char *pw_exec_image(struct pw_exec_request *req)
{
	return req ? pw_gate_req_image(req) : NULL;
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
	if (!pw_gate_req_argv(req))
		f |= PW_EXEC_NO_ARGS;
	else if (((req->info.have_meta ? req->info.meta.flags : 0) | req->argv.__pad) &
		 (PW_GATE_F_ARGS_TRUNCATED | PW_GATE_F_FILENAME_TRUNCATED))
		f |= PW_EXEC_ARGS_TRUNCATED;
	if (req->info.held)
		f |= PW_EXEC_HELD;
	if (req->info.via_loader)
		f |= PW_EXEC_VIA_LOADER;
	return f;
}

PW_API bool pw_gate_deny_errno_supported(const struct pw_gate *g)
{
	return g && g->deny_errno_ok;
}
