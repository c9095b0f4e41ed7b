// SPDX-License-Identifier: MIT
/* gate/gate.c - the pw_gate object: options, rules while running, start/stop and stats. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/timerfd.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "core/fd.h"
#include "core/opts.h"
#include "gate/gate.h"
#include "gate.skel.h"
#include "hold.skel.h"

#define DEFAULT_TIMEOUT_MS 1000
#define DEFAULT_WORKERS 4
#define DEFAULT_EXTENSIONS 4
#define DEFAULT_PENDING 256
#define DEFAULT_DECISION_QUEUE 1024
#define DEFAULT_CACHE_ENTRIES 256

_Static_assert(sizeof(struct pw_token) == sizeof(struct pw_raw_token), "token layout");

/* ---------------------------------------------------------------- options */

static bool verdict_ok(enum pw_exec_verdict v)
{
	return !v || v == PW_EXEC_ALLOW || v == PW_EXEC_DENY;
}

PW_API int pw_gate_new(const struct pw_gate_opts *opts, struct pw_gate **out)
{
	struct pw_gate *g;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	err = PW_OPTS_CHECK(opts, userdata, pw_gate_opts);
	if (err)
		return err;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	PW_OPTS_COPY(&g->opts, opts);
	if (!verdict_ok(g->opts.timeout_verdict) || !verdict_ok(g->opts.error_verdict) ||
	    g->opts.interpreters > PW_GATE_INTERP_HANDLER || g->opts.workers > 1024 ||
	    g->opts.cache_entries > PW_GATE_CACHE_MAX || (unsigned int)g->opts.mounts > PW_GATE_MOUNTS_OWN_NS) {
		free(g);
		return -EINVAL;
	}
	PW_OPTS_DEFAULT(g->opts.timeout_ms, DEFAULT_TIMEOUT_MS);
	PW_OPTS_DEFAULT(g->opts.timeout_verdict, PW_EXEC_ALLOW);
	PW_OPTS_DEFAULT(g->opts.error_verdict, PW_EXEC_ALLOW);
	PW_OPTS_DEFAULT(g->opts.workers, DEFAULT_WORKERS);
	PW_OPTS_DEFAULT(g->opts.max_extensions, DEFAULT_EXTENSIONS);
	PW_OPTS_DEFAULT(g->opts.max_pending, DEFAULT_PENDING);
	PW_OPTS_DEFAULT(g->opts.decision_queue, DEFAULT_DECISION_QUEUE);
	PW_OPTS_DEFAULT(g->opts.cache_entries, DEFAULT_CACHE_ENTRIES);
	g->log.fn = g->opts.log;
	g->log.userdata = g->opts.log_userdata;
	g->fan_fd = g->stop_fd = g->meta_fd = g->argv_fd = g->marks_fd = g->cached_fd = -1;
	g->watch_fd = -1;
	g->guard_pidfd = g->guard_live_fd = g->guard_wake_fd = -1;
	g->held_fd = -1; /* issue 12 */
	g->proc_fd_dir = -1;
	pthread_rwlock_init(&g->rules_lock, NULL);
	pw_gate_cache_init(&g->cache);
	pthread_mutex_init(&g->ring_lock, NULL);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->work_cv, NULL);
	pw_gate_dlog_init(&g->dlog);
	pw_gate_argv_last_init(&g->argv_last);
	pthread_mutex_init(&g->tids_lock, NULL);
	*out = g;
	return 0;
}

/*
 * Rules change under the write lock, and every cached verdict is dropped
 * before letting go of it: no decision, and no cached allow in the kernel,
 * outlives the rules it was made under (decisions in flight see rules_gen
 * move and do not cache).
 */
static void rules_changed(struct pw_gate *g)
{
	if (!g->started)
		return;
	atomic_fetch_add(&g->rules_gen, 1);
	pw_gate_cache_flush(&g->cache);
	pw_gate_hold_update_mode(g); /* issue 12: hold ungated execs only if something could deny */
	pw_guard_scope(g);           /* what the guardian may allow for a gate that does not answer */
}

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
	if (!err)
		rules_changed(g);
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
	if (!err)
		rules_changed(g);
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

PW_API int pw_gate_load_rules_file(struct pw_gate *g, const char *path, char *errbuf,
				   size_t errlen)
{
	if (!g || !path)
		return -EINVAL;
	if (g->started)
		return -EBUSY;
	return pw_gate_rules_parse_file(path, &g->rules, errbuf, errlen);
}

/* ------------------------------------------------------------ start/stop */

static void gate_shutdown(struct pw_gate *g)
{
	uint64_t one = 1;

	atomic_store(&g->stopping, true);
	if (g->skel)
		g->skel->bss->gate_cfg.enabled = 0;
	if (g->stop_fd >= 0)
		(void)!write(g->stop_fd, &one, sizeof(one));
	pw_gate_marks_stop(g);
	/*
	 * No new events from here; then the reader answers what is queued and
	 * in flight. (It waits for this: answered before the flush, a main
	 * image could open its ELF interpreter into a group nobody reads.)
	 */
	if (g->fan_fd >= 0)
		fanotify_mark(g->fan_fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
	atomic_store(&g->flushed, true);
	/* The reader may be in a handler: the watch thread answers for it meanwhile. */
	if (g->have_reader)
		pthread_join(g->reader, NULL);
	g->have_reader = false;
	atomic_store(&g->reader_done, true); /* also if it never ran */
	if (g->have_watch)
		pthread_join(g->watch, NULL);
	g->have_watch = false;
	pthread_mutex_lock(&g->lock);
	pthread_cond_broadcast(&g->work_cv);
	pthread_mutex_unlock(&g->lock);
	for (unsigned int i = 0; i < g->n_workers; i++)
		pthread_join(g->workers[i], NULL);
	g->n_workers = 0;
	/*
	 * Every request is answered. An application thread may still be inside
	 * a verdict call that won its request just before: wait for it, it
	 * writes to the group and the maps released below.
	 */
	while (atomic_load(&g->verdicts_running))
		sched_yield();
	/* Then the guardian, which answers anything left and exits; the group is still ours. */
	pw_guard_stop(g);
	/* No thread or process of ours writes responses any more. */
	pw_gate_cache_detach(&g->cache);
	pw_gate_fork_unregister(g);
	pw_zclose(&g->fan_fd); /* and with the group, every ignore mark */
	pw_gate_dlog_stop(&g->dlog);
	ring_buffer__free(g->rb);
	g->rb = NULL;
	pw_gate_hold_fini(g); /* issue 12: nothing left stopped; the watch goes before its maps */
	if (g->skel) /* kept for pw_gate_stats() after stop */
		g->kernel_cache_hits = __atomic_load_n(&g->skel->bss->cache_hits, __ATOMIC_RELAXED);
	gate_bpf__destroy(g->skel);
	g->skel = NULL;
	pw_zclose(&g->stop_fd);
	pw_zclose(&g->watch_fd);
	pw_gate_pool_retire(g);
	g->q_head = g->q_tail = g->inflight = NULL;
	free(g->workers);
	g->workers = NULL;
	pw_gate_marks_fini(g);
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
	atomic_store(&g->by_guardian, 0);
	memset(&g->guard_saved, 0, sizeof(g->guard_saved));
	memset(&g->c, 0, sizeof(g->c));
	g->held = g->held_killed = g->held_escaped = g->via_loader = g->loader_unresolved = 0; /* issue 12 */
	g->fs_marked_held = 0;
	memset(g->tids, 0, sizeof(g->tids));
	g->marks.marked = g->marks.unmarkable = g->marks.marked_mounted = 0;
	g->marks.reported = g->marks.unresolved = g->marks.lost_saved = 0;
	atomic_store(&g->flushed, false);
	err = pw_gate_open_group(g);
	if (err)
		return err;
	g->started = true; /* from here gate_shutdown() undoes whatever was done */
	pw_gate_fork_register(g);
	err = pw_gate_load_bpf(g);
	if (err)
		goto fail;
	g->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->watch_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	atomic_store(&g->watch_armed, false);
	g->workers = calloc(g->opts.workers, sizeof(*g->workers));
	if (g->stop_fd < 0 || g->watch_fd < 0 || pw_gate_pool_create(g) || !g->workers ||
	    pw_gate_cache_attach(&g->cache, g->opts.cache_entries, g->fan_fd, g->cached_fd)) {
		err = -ENOMEM;
		goto fail;
	}
	/* The sink thread waits for records until the gate stops (decision_log.c). */
	err = pw_gate_dlog_start(g);
	if (err)
		goto fail;
	/* Before any filesystem is marked: from the first gated exec on, someone answers it. */
	err = pw_guard_start(g);
	if (err)
		goto fail;
	atomic_store(&g->inline_since, 0);
	atomic_store(&g->reader_done, false);
	/* The reader is a handler thread too (dispatch.c): workers - 1 more. */
	for (; g->n_workers + 1 < g->opts.workers; g->n_workers++) {
		err = -pthread_create(&g->workers[g->n_workers], NULL, pw_gate_worker_main, g);
		if (err)
			goto fail;
	}
	err = -pthread_create(&g->watch, NULL, pw_gate_watch_main, g);
	if (err)
		goto fail;
	g->have_watch = true;
	err = -pthread_create(&g->reader, NULL, pw_gate_reader_main, g);
	if (err)
		goto fail;
	g->have_reader = true;
	g->skel->bss->gate_cfg.enabled = 1;
	/* The reader runs: execs may now wait on this gate. */
	pw_gate_marks_own(g);
	if (!g->marks.marked) {
		pw_log(&g->log, PW_LOG_ERROR, "no filesystem could be marked for exec permission events");
		err = -PW_ERR_KERNEL_FEATURE;
		goto fail;
	}
	{
		struct timespec ts; /* bpf_ktime_get_ns() is CLOCK_MONOTONIC */

		clock_gettime(CLOCK_MONOTONIC, &ts);
		g->skel->bss->gate_cfg.armed_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	}
	err = pw_gate_marks_start(g);
	if (err)
		goto fail;
	pw_log(&g->log, PW_LOG_INFO, "exec gate started: %" PRIu64 " filesystems gated, %" PRIu64
	       " not markable, deny errno %s", (uint64_t)g->marks.marked, (uint64_t)g->marks.unmarkable,
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
	pw_gate_pool_free_retired(g);
	pw_gate_rules_free(&g->rules);
	pthread_rwlock_destroy(&g->rules_lock);
	pw_gate_cache_fini(&g->cache);
	pthread_mutex_destroy(&g->ring_lock);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->work_cv);
	pw_gate_dlog_fini(&g->dlog);
	pw_gate_argv_last_fini(&g->argv_last);
	pthread_mutex_destroy(&g->tids_lock);
	pw_zclose(&g->proc_fd_dir);
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
	s.filesystems_marked = atomic_load(&g->marks.marked);
	s.filesystems_unmarkable = atomic_load(&g->marks.unmarkable);
	s.extensions = atomic_load(&c->extensions);
	s.cache_hits = atomic_load(&g->cache.hits) +
		       (g->skel ? __atomic_load_n(&g->skel->bss->cache_hits, __ATOMIC_RELAXED)
				: g->kernel_cache_hits);
	s.cache_misses = atomic_load(&g->cache.misses);
	s.cache_entries = pw_gate_cache_entries(&g->cache);
	s.cache_evictions = atomic_load(&g->cache.evictions);
	s.cache_flushes = atomic_load(&g->cache.flushes);
	s.cache_refused = atomic_load(&c->cache_refused);
	s.cache_invalidated = atomic_load(&g->cache.invalidated);
	if (g->guard) {
		s.guardian_verdicts = __atomic_load_n(&g->guard->verdicts, __ATOMIC_SEQ_CST);
		s.guardian_read = __atomic_load_n(&g->guard->read_by_guardian, __ATOMIC_SEQ_CST);
		s.guardian_kernel_helpers = __atomic_load_n(&g->guard->kernel_helpers, __ATOMIC_SEQ_CST);
		s.guardian_kills = __atomic_load_n(&g->guard->kills, __ATOMIC_SEQ_CST);
		s.guardian_pid = g->guard_pid;
		s.guardian_held = __atomic_load_n(&g->guard->held_released, __ATOMIC_SEQ_CST);
		s.guardian_out_of_scope = __atomic_load_n(&g->guard->out_of_scope, __ATOMIC_SEQ_CST);
	} else {
		s.guardian_verdicts = g->guard_saved.verdicts;
		s.guardian_read = g->guard_saved.read_by_guardian;
		s.guardian_kernel_helpers = g->guard_saved.kernel_helpers;
		s.guardian_kills = g->guard_saved.kills;
		s.guardian_held = g->guard_saved.held_released;
		s.guardian_out_of_scope = g->guard_saved.out_of_scope;
	}
	/* issue 12 */
	s.held = atomic_load(&g->held);
	s.held_killed = atomic_load(&g->held_killed);
	s.held_resumed_killed = g->hold_skel ? __atomic_load_n(&g->hold_skel->bss->resumes_killed,
								 __ATOMIC_RELAXED) : g->kernel_resumes_killed;
	s.held_escaped = atomic_load(&g->held_escaped);
	s.via_loader = atomic_load(&g->via_loader);
	s.loader_unresolved = atomic_load(&g->loader_unresolved);
	s.cache_stale = g->skel ? __atomic_load_n(&g->skel->bss->cache_stale, __ATOMIC_RELAXED) : 0;
	s.filesystems_marked_held = atomic_load(&g->fs_marked_held);
	s.filesystems_marked_mounted = atomic_load(&g->marks.marked_mounted);
	s.mounts_reported = atomic_load(&g->marks.reported);
	s.mounts_lost = pw_gate_marks_lost(g);
	s.mounts_unresolved = atomic_load(&g->marks.unresolved);
	s.tree_dropped = g->skel ? __atomic_load_n(&g->skel->bss->tree_dropped, __ATOMIC_RELAXED) : 0;
	sz = stats->sz < sizeof(s) ? stats->sz : sizeof(s);
	memcpy(stats, &s, sz);
	stats->sz = sz;
	return 0;
}

/* ------------------------------------------------------ whole-set replacement */

/* Same subject conditions (what the kernel's maps were loaded with at start). */
static bool same_subject(const struct pw_gate_rule_entry *a, const struct pw_gate_rule_entry *b)
{
	return a->action == b->action && a->has_uid == b->has_uid && a->uid == b->uid &&
	       !strcmp(a->subject_name, b->subject_name) && a->subject_pid == b->subject_pid &&
	       a->children == b->children;
}

/*
 * Parse a whole rules file and swap it in for every rule at once, under the
 * write lock: an exec-open sees either the old set or the new one, never a
 * mix. While running, rules with a subject (uid, by-name, by-pid) live in
 * the kernel's maps since start: the new file must have the same ones, in
 * the same order, or it is refused (-EBUSY) and the old rules stay.
 */
PW_API int pw_gate_replace_rules_file(struct pw_gate *g, const char *path, char *errbuf,
				      size_t errlen)
{
	struct pw_gate_rules fresh = { 0 }, old;
	size_t ia = 0, ib = 0;
	int n;

	if (!g || !path)
		return -EINVAL;
	n = pw_gate_rules_parse_file(path, &fresh, errbuf, errlen);
	if (n < 0) {
		pw_gate_rules_free(&fresh);
		return n;
	}
	pthread_rwlock_wrlock(&g->rules_lock);
	if (g->started) {
		/* walk both sets' subject rules side by side; they must match one for one */
		for (;;) {
			while (ia < g->rules.n && !g->rules.v[ia].subject_mask)
				ia++;
			while (ib < fresh.n && !fresh.v[ib].subject_mask)
				ib++;
			if (ia == g->rules.n || ib == fresh.n)
				break;
			if (!same_subject(&g->rules.v[ia], &fresh.v[ib]))
				break;
			/* keep the bits the kernel knows this rule by */
			fresh.v[ib].subject_mask = g->rules.v[ia].subject_mask;
			ia++;
			ib++;
		}
		if (ia != g->rules.n || ib != fresh.n) {
			pthread_rwlock_unlock(&g->rules_lock);
			pw_gate_rules_free(&fresh);
			if (errbuf && errlen)
				snprintf(errbuf, errlen,
					 "%s: rules with uid, by-name or by-pid differ from the running ones "
					 "(loaded into the kernel at start): restart to change them", path);
			return -EBUSY;
		}
		fresh.n_subject_bits = g->rules.n_subject_bits;
	}
	old = g->rules;
	g->rules = fresh;
	rules_changed(g);
	pthread_rwlock_unlock(&g->rules_lock);
	pw_gate_rules_free(&old);
	return n;
}
