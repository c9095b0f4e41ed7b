// SPDX-License-Identifier: MIT
/*
 * gate/dispatch.c - the reader loop and deadlines, routing each exec-open by
 * rules and cache, and the threads that call the handler.
 *
 * The reader calls the handler itself when no request waits for a worker:
 * handing each exec to another thread cost a wake-up and a context switch
 * per exec, more than the bare fanotify round trip. A handler that blocks
 * must not stall the gate, so a watch thread wakes on a timer TAKEOVER_NS
 * after a handler call began; if the reader is still in that call, it takes
 * over reading and deadlines until the reader is back, and what it reads
 * goes to the workers (opts.workers - 1 threads: the reader is one of the
 * handler threads). The timer is armed by whichever handler call finds it
 * idle, and re-armed by the watch thread for a call that began since, so a
 * storm of quick handler calls costs one timer and one wake-up per
 * TAKEOVER_NS, not two timer syscalls per exec (each reprograms the timer
 * hardware: expensive in a VM). Measured on a 2-vCPU VM: arming and
 * disarming around every call put the syscalls on each exec's path (spawn
 * storm 1.15x against the bare responder's 1.03x, 52 us of gate CPU per
 * exec); this way 1.03x and 43 us. The price is a wake-up 2 ms after a
 * lone call (a build: 87 ms of gate CPU against 59), off the exec's path.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kcmp.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gate/gate.h"
#include "snapshot/procfs.h"

/* Events per read: their pool entries are taken and published together. */
#define BATCH_EVENTS 256
#define READ_BATCH (BATCH_EVENTS * FAN_EVENT_METADATA_LEN)
#define TAKEOVER_NS (2 * 1000000ull)    /* reader in a handler this long: the watch thread reads */
/*
 * A request's deadline is timeout_ms from its read, but at most
 * timeout_ms + READ_LATE_NS from its execve's entry: an exec the gate read
 * late (a loaded machine, a gate that was stopped for a while) still gets
 * its verdict within the promise (guardian.c).
 */
#define READ_LATE_NS (100 * 1000000ull)

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
			s.image = pw_gate_req_image(req);
		if (g->rules.need_argv) {
			const struct pw_gate_argv *av = pw_gate_req_argv(req);

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
		PW_GATE_COUNT(g, handler_errors);
		if (g->opts.on_error)
			g->opts.on_error(g, req, ret, g->opts.userdata);
		pw_gate_answer(g, req, g->opts.error_verdict, EPERM, PW_GATE_BY_ERROR, false);
	} else if (!atomic_load(&req->deferred)) {
		pw_gate_answer(g, req, g->opts.timeout_verdict, EPERM, PW_GATE_BY_DEFAULT, false);
	}
}

/* Decide one queued or inline request; drops the caller's reference. */
static void process_request(struct pw_gate *g, struct pw_exec_request *req)
{
	if (!atomic_load(&req->answered)) {
		enum route r = ROUTE_ASK;
		enum pw_gate_reason reason = PW_GATE_BY_HANDLER;
		int err = EPERM;

		/* (without rules_pending, the reader routed it and looked in the cache) */
		if (req->rules_pending) {
			r = route_by_rules(g, req, &err, &reason);
			if (r == ROUTE_ASK && pw_gate_req_cached_deny(g, req, &err)) {
				r = ROUTE_DENY;
				reason = PW_GATE_BY_CACHE;
			}
		}
		if (r == ROUTE_ASK && atomic_load(&g->stopping))
			pw_gate_answer(g, req, g->opts.timeout_verdict, EPERM, PW_GATE_BY_SHUTDOWN, false);
		else if (r == ROUTE_ASK)
			call_handler(g, req);
		else
			pw_gate_answer(g, req, r == ROUTE_DENY ? PW_EXEC_DENY : PW_EXEC_ALLOW, err,
				       reason, false);
	}
	pw_gate_request_put(req);
}

/* The oldest queued request, or NULL. */
static struct pw_exec_request *dequeue_locked(struct pw_gate *g)
{
	struct pw_exec_request *req = g->q_head;

	if (req) {
		g->q_head = req->qnext;
		if (!g->q_head)
			g->q_tail = NULL;
	}
	return req;
}

void *pw_gate_worker_main(void *arg)
{
	struct pw_gate *g = arg;
	struct pw_exec_request *req;

	for (;;) {
		pthread_mutex_lock(&g->lock);
		while (!g->q_head && !atomic_load(&g->stopping))
			pthread_cond_wait(&g->work_cv, &g->lock);
		req = dequeue_locked(g);
		pthread_mutex_unlock(&g->lock);
		if (!req)
			break;
		process_request(g, req); /* drops the worker's reference */
	}
	return NULL;
}

/* Arm the watch thread's timer for the call that began at `since`, unless it is armed. */
static void watch_arm(struct pw_gate *g, uint64_t since)
{
	uint64_t at = since + TAKEOVER_NS;
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(at / 1000000000ull), .tv_nsec = (long)(at % 1000000000ull) },
	};

	if (!atomic_exchange(&g->watch_armed, true))
		timerfd_settime(g->watch_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/*
 * On the reader: call the handler here, with the watch timer armed. The
 * reader then helps with what was queued meanwhile, as one of the
 * opts.workers handler threads, before it reads again.
 */
static void run_inline(struct pw_gate *g, struct pw_exec_request *req)
{
	uint64_t since = pw_gate_now_ns();

	atomic_store(&g->inline_since, since);
	watch_arm(g, since);
	for (;;) {
		process_request(g, req);
		pthread_mutex_lock(&g->lock);
		req = dequeue_locked(g);
		pthread_mutex_unlock(&g->lock);
		if (!req)
			break;
		atomic_store(&g->inline_since, pw_gate_now_ns());
	}
	atomic_store(&g->inline_since, 0);
}

/*
 * Put a request in flight (its deadline watched) and either queue it for
 * the pool or, if may_inline and nothing waits before it, keep it for the
 * calling reader (true). Either way the request gets a reference for
 * whoever processes it.
 */
static bool dispatch(struct pw_gate *g, struct pw_exec_request *req, bool may_inline)
{
	bool keep;

	atomic_fetch_add(&req->refs, 1);
	pthread_mutex_lock(&g->lock);
	req->in_flight = true;
	req->iprev = NULL;
	req->inext = g->inflight;
	if (g->inflight)
		g->inflight->iprev = req;
	g->inflight = req;
	keep = may_inline && !req->rules_pending && !g->q_head;
	if (!keep) {
		req->qnext = NULL;
		if (g->q_tail)
			g->q_tail->qnext = req;
		else
			g->q_head = req;
		g->q_tail = req;
		pthread_cond_signal(&g->work_cv);
	}
	pthread_mutex_unlock(&g->lock);
	return keep;
}

static bool tid_is_ours(const struct pw_gate *g, uint32_t tid)
{
	char path[48];

	if (tid == (uint32_t)g->self_pid)
		return true;
	snprintf(path, sizeof(path), "/proc/self/task/%u", tid);
	return !access(path, F_OK);
}

/*
 * A child of the gate that shares its memory (vfork, posix_spawn, system(),
 * popen(): clone with CLONE_VM) holds a copy of the group until its exec
 * completes, and runs no pthread_atfork handler to close it. Its exec is
 * the gate's own: answered at once, so it never waits while holding the
 * group (and never keeps the group alive for a gate that died meanwhile).
 * kcmp() compares the two mm; asked only for children of the gate.
 */
static bool shares_our_mm(const struct pw_gate *g, uint32_t pid)
{
	return syscall(SYS_kcmp, (pid_t)g->self_pid, (pid_t)pid, KCMP_VM, 0, 0) == 0;
}

/*
 * Whether info->meta was captured at the entry of the execve that waits now,
 * not left in the (LRU) map by an earlier thread with the same tid: a
 * kernel usermode helper's exec has no execve entry. Then the thread is
 * one of meta's process, which started when meta says. Asked only for an
 * exec read late (rare): two /proc lookups.
 */
static bool meta_is_this_execs(const struct pw_gate_exec_info *info)
{
	char path[64], buf[1024];
	struct pw_stat_fields f;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/task/%u", info->meta.pid, info->tid);
	if (hz <= 0 || access(path, F_OK))
		return false;
	snprintf(path, sizeof(path), "/proc/%u/stat", info->meta.pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	/* /proc's start time is start_boottime in clock ticks, as meta's is in ns */
	return n > 0 && !pw_procfs_parse_stat(buf, (size_t)n, &f) &&
	       f.starttime_ticks == info->meta.start_ns / (1000000000ull / (uint64_t)hz);
}

/* Static rules need a hash: they are evaluated on a worker. One look, under the lock. */
static bool rules_need_worker(struct pw_gate *g)
{
	bool need;

	pthread_rwlock_rdlock(&g->rules_lock);
	need = g->rules.need_hash && g->rules.n;
	pthread_rwlock_unlock(&g->rules_lock);
	return need;
}

/*
 * One FAN_OPEN_EXEC_PERM event: decide at once, call the handler here, or
 * queue it. req: its pool entry, already published to the guardian (NULL:
 * the pool is exhausted).
 */
static void on_exec_open(struct pw_gate *g, const struct fanotify_event_metadata *m,
			 struct pw_exec_request *req, uint64_t t_arrival, bool may_inline)
{
	struct pw_gate_exec_info info = {
		.fd = m->fd, .tid = (uint32_t)m->pid, .t_arrival = t_arrival, .pidfd = -1, .event_fd = -1,
	};
	unsigned int slot = info.tid % TID_SLOTS;

	if (!bpf_map_lookup_elem(g->meta_fd, &info.tid, &info.meta) && info.meta.tid == info.tid) {
		info.have_meta = true;
		info.self = info.meta.pid == (uint32_t)g->self_pid ||
			    (info.meta.ppid == (uint32_t)g->self_pid && shares_our_mm(g, info.meta.pid));
	} else {
		PW_GATE_COUNT(g, no_args);
		info.self = tid_is_ours(g, info.tid) || shares_our_mm(g, info.tid);
	}
	/*
	 * Opens after the first one of the same execve are its interpreters.
	 * (After a main image with a cached allow, no event came for it: its
	 * ELF interpreter's open is then the first, and taken for a main image.)
	 */
	pthread_mutex_lock(&g->tids_lock); /* the watch thread may read events too */
	if (g->tids[slot].tid == info.tid && g->tids[slot].exec_id == info.meta.exec_id) {
		info.interp = true;
		PW_GATE_COUNT(g, interp);
	} else {
		g->tids[slot].tid = info.tid;
		g->tids[slot].exec_id = info.meta.exec_id;
	}
	pthread_mutex_unlock(&g->tids_lock);
	pw_gate_submit(g, req, &info, may_inline);
}

/*
 * Route one exec: a fanotify event's (above) or a held one (hold.c). req:
 * its pool entry, already published to the guardian (NULL: the pool is
 * exhausted, answered at once).
 */
void pw_gate_submit(struct pw_gate *g, struct pw_exec_request *req, const struct pw_gate_exec_info *info,
		    bool may_inline)
{
	enum pw_gate_reason reason;
	enum route r;
	int err = EPERM;

	if (!req) {
		struct pw_exec_request local;

		local.pooled = false;
		local.published = false;
		pthread_mutex_init(&local.mu, NULL);
		pw_gate_request_init(g, &local, info);
		pw_gate_answer(g, &local, info->self ? PW_EXEC_ALLOW : g->opts.timeout_verdict, EPERM,
			       info->self ? PW_GATE_BY_SELF : PW_GATE_BY_OVERLOAD, false);
		pthread_mutex_destroy(&local.mu);
		return;
	}
	pw_gate_request_init(g, req, info);
	info = &req->info;
	/* `ld.so PROGRAM` is decided on PROGRAM (loader.c); before the mark, which it must not get */
	if (!info->self && !info->interp)
		pw_gate_loader_apply(g, req);
	if (info->have_meta && !info->interp && info->meta.exec_id < info->t_arrival &&
	    info->t_arrival - info->meta.exec_id > READ_LATE_NS && meta_is_this_execs(info)) {
		uint64_t dl = info->meta.exec_id + READ_LATE_NS + (uint64_t)g->opts.timeout_ms * 1000000ull;

		atomic_store(&req->deadline_ns, dl);
		pw_guard_extend(g, req, dl);
	}
	/*
	 * The BPF side drops a thread's mark at its execve's entry, so a mark
	 * with this execve's meta is this execve's: the guardian read and
	 * allowed its main image while this process did not read, and this
	 * open is its interpreter. (Overwritten, the mark would name the
	 * interpreter, and the exec would be reported ungated.) Without such
	 * meta (a kernel helper's exec, under a reused tid) it is an earlier
	 * thread's, left by an exec that failed: replaced.
	 */
	if (pw_gate_mark_gated(g, req, false) == -EEXIST) {
		if (info->have_meta && meta_is_this_execs(info)) {
			req->info.interp = true;
			PW_GATE_COUNT(g, interp);
		} else {
			pw_gate_mark_gated(g, req, true);
		}
	}
	if (info->loader_unresolved) {
		pw_gate_answer(g, req, PW_EXEC_DENY, EPERM, PW_GATE_BY_DEFAULT, false);
		return;
	}
	if (info->self) {
		pw_gate_answer(g, req, PW_EXEC_ALLOW, 0, PW_GATE_BY_SELF, false);
		return;
	}
	if (info->interp && g->opts.interpreters == PW_GATE_INTERP_ALLOW) {
		pw_gate_answer(g, req, PW_EXEC_ALLOW, 0, PW_GATE_BY_DEFAULT, false);
		return;
	}
	if (rules_need_worker(g)) {
		req->rules_pending = true; /* hashing belongs on a worker, never on the reader */
	} else {
		r = route_by_rules(g, req, &err, &reason);
		if (r == ROUTE_ASK && pw_gate_req_cached_deny(g, req, &err)) {
			r = ROUTE_DENY;
			reason = PW_GATE_BY_CACHE;
		}
		if (r != ROUTE_ASK) {
			pw_gate_answer(g, req, r == ROUTE_DENY ? PW_EXEC_DENY : PW_EXEC_ALLOW, err, reason, false);
			return;
		}
	}
	if (dispatch(g, req, may_inline))
		run_inline(g, req);
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
		now = pw_gate_now_ns();
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
			pw_gate_answer(g, due[i], g->opts.timeout_verdict, EPERM, reason, false);
			pw_gate_request_put(due[i]);
		}
	} while (n == EXPIRE_BATCH);
	if (next == UINT64_MAX)
		return -1;
	now = pw_gate_now_ns();
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

/*
 * The reader is one of the handler threads: what its last batch queued (all
 * but the batch's last event, or everything while others were queued) it
 * helps decide, rather than wait while the workers are busy.
 */
static void help_with_queue(struct pw_gate *g)
{
	struct pw_exec_request *req;

	if (atomic_load(&g->stopping))
		return;
	pthread_mutex_lock(&g->lock);
	req = dequeue_locked(g);
	pthread_mutex_unlock(&g->lock);
	if (req)
		run_inline(g, req);
}

/*
 * Read and decide. Every exec-open of a batch gets its pool entry and is
 * published to the guardian right after the read, before any of them is
 * decided: whatever then stops this thread, the guardian knows them all.
 */
static void read_events(struct pw_gate *g, char *buf, bool may_inline)
{
	struct pw_exec_request *reqs[BATCH_EVENTS];

	for (;;) {
		ssize_t len, rest;
		const struct fanotify_event_metadata *m;
		uint64_t now;
		size_t n = 0, i;

		pw_guard_reading(g);
		len = read(g->fan_fd, buf, READ_BATCH);
		if (len <= 0)
			return; /* EAGAIN: drained */
		now = pw_gate_now_ns();
		pthread_mutex_lock(&g->lock);
		for (m = (const void *)buf, rest = len; FAN_EVENT_OK(m, rest) && n < BATCH_EVENTS;
		     m = FAN_EVENT_NEXT(m, rest), n++) {
			struct pw_exec_request *req = NULL;

			if (m->vers == FANOTIFY_METADATA_VERSION && m->fd >= 0 && (m->mask & FAN_OPEN_EXEC_PERM) &&
			    (req = g->free_list)) {
				g->free_list = req->qnext;
				req->info.fd = m->fd;
				req->info.tid = (uint32_t)m->pid; /* FAN_REPORT_TID; for the guardian's scope */
				req->info.held = false; /* (a pool entry's last use may have been a held exec) */
				atomic_store(&req->deadline_ns, now + (uint64_t)g->opts.timeout_ms * 1000000ull);
			}
			reqs[n] = req;
		}
		pthread_mutex_unlock(&g->lock);
		for (i = 0; i < n; i++)
			if (reqs[i])
				pw_guard_publish(g, reqs[i]);
		for (m = (const void *)buf, rest = len, i = 0; FAN_EVENT_OK(m, rest) && i < n;
		     m = FAN_EVENT_NEXT(m, rest), i++) {
			/*
			 * Only the batch's last event may be handled here: the
			 * others must not wait for a handler. (FAN_EVENT_NEXT
			 * consumes its length argument: work on a copy.)
			 */
			ssize_t left = rest;
			const struct fanotify_event_metadata *next = FAN_EVENT_NEXT(m, left);
			bool last = !FAN_EVENT_OK(next, left);

			if (m->vers != FANOTIFY_METADATA_VERSION || m->fd < 0)
				continue;
			if (m->mask & FAN_OPEN_EXEC_PERM)
				on_exec_open(g, m, reqs[i], now, may_inline && last && !atomic_load(&g->stopping));
			else
				close(m->fd);
		}
	}
}

/*
 * The kernel's reports: ungated execs, and held ones (hold.c), which wait
 * stopped until they are read here. The reader reads them, and the watch
 * thread while the reader is in a handler; never both at once (libbpf's
 * ring_buffer is not for concurrent consumers). Nothing consumed here calls
 * a handler: held execs are queued for the workers.
 */
static void consume_ring(struct pw_gate *g)
{
	pthread_mutex_lock(&g->ring_lock);
	ring_buffer__consume(g->rb);
	pthread_mutex_unlock(&g->ring_lock);
}

/*
 * What the reader polls, and the watch thread while it covers for a reader
 * in a handler: [0] fanotify, [1] stop, [2] the kernel's reports.
 */
static void reader_pollfds(const struct pw_gate *g, struct pollfd pfd[3])
{
	pfd[0] = (struct pollfd){ .fd = g->fan_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = g->stop_fd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = ring_buffer__epoll_fd(g->rb), .events = POLLIN };
}

void *pw_gate_reader_main(void *arg)
{
	struct pw_gate *g = arg;
	char *buf = aligned_alloc(8, READ_BATCH);
	struct pollfd pfd[3];
	int timeout = -1;

	if (!buf) {
		pw_log(&g->log, PW_LOG_ERROR, "gate reader: out of memory");
		return NULL;
	}
	reader_pollfds(g, pfd);
	while (!atomic_load(&g->stopping)) {
		if (poll(pfd, 3, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			read_events(g, buf, true);
		help_with_queue(g);
		if (pfd[2].revents)
			consume_ring(g);
		timeout = expire(g, PW_GATE_BY_TIMEOUT, false);
	}
	/* Stopping: once the marks are gone, only queued events remain; answer them all. */
	while (!atomic_load(&g->flushed))
		sleep_ns(1000000);
	read_events(g, buf, false);
	expire(g, PW_GATE_BY_SHUTDOWN, true);
	consume_ring(g);
	free(buf);
	atomic_store(&g->reader_done, true);
	return NULL;
}

/* ------------------------------------------------------------ watch */

void *pw_gate_watch_main(void *arg)
{
	struct pw_gate *g = arg;
	char *buf = aligned_alloc(8, READ_BATCH);
	struct pollfd wait[2] = {
		{ .fd = g->watch_fd, .events = POLLIN },
		{ .fd = g->stop_fd, .events = POLLIN },
	};
	struct pollfd cover[3];

	if (!buf) {
		pw_log(&g->log, PW_LOG_ERROR, "gate watch: out of memory");
		return NULL;
	}
	reader_pollfds(g, cover);
	while (!atomic_load(&g->stopping)) {
		uint64_t fired, since;

		if (poll(wait, 2, -1) < 0 || !(wait[0].revents & POLLIN))
			continue;
		(void)!read(g->watch_fd, &fired, sizeof(fired));
		atomic_store(&g->watch_armed, false); /* before looking: a new call re-arms */
		since = atomic_load(&g->inline_since);
		if (!since)
			continue; /* the reader is back: nothing to cover, nothing to time */
		if (pw_gate_now_ns() - since < TAKEOVER_NS) {
			watch_arm(g, since); /* a call that began after the timer was set */
			continue;
		}
		/* The reader is in a handler: read for it (to the pool), and the kernel's reports; keep the deadlines. */
		while (atomic_load(&g->inline_since) && !atomic_load(&g->stopping)) {
			int timeout = expire(g, PW_GATE_BY_TIMEOUT, false);

			if (timeout < 0 || timeout > 5)
				timeout = 5; /* and look again whether the reader is back */
			if (poll(cover, 3, timeout) > 0 && cover[0].revents)
				read_events(g, buf, false);
			if (cover[2].revents) /* held execs wait stopped until read: for the workers */
				consume_ring(g);
		}
	}
	/* Stopping: until the reader is out of its handler, answer whatever waits (after the flush). */
	while (!atomic_load(&g->flushed))
		sleep_ns(1000000);
	while (!atomic_load(&g->reader_done)) {
		read_events(g, buf, false);
		expire(g, PW_GATE_BY_SHUTDOWN, true);
		sleep_ns(5 * 1000000ull);
	}
	free(buf);
	return NULL;
}
