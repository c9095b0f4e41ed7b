// SPDX-License-Identifier: MIT
/*
 * gate/decision_log.c - decision records: the queue to on_decision and its thread,
 * ungated-exec reports from the kernel, and the record accessors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gate/gate.h"

/* ------------------------------------------------------------ decision log */

/*
 * How long records gather after a batch; records stay at most this much
 * longer in the queue. 10 ms: with `--log all` over a spawn storm this
 * thread cost 25.6 us per spawn at 2 ms (3300 wake-ups per 6000 spawns)
 * and 8-12 us at 10 ms (~800 wake-ups).
 */
#define SINK_BATCH_NS 10000000L

/*
 * Queue a record for the sink thread; never waits for the sink. A full
 * queue drops the record and counts it, so decisions never stall on output.
 */
static void sink_push(struct pw_gate *g, const struct pw_gate_decision *d)
{
	struct pw_gate_dlog *dl = &g->dlog;

	pthread_mutex_lock(&dl->lock);
	if (dl->len == dl->cap) {
		PW_GATE_COUNT(g, sink_dropped);
	} else {
		dl->ring[(dl->head + dl->len) % dl->cap] = *d;
		dl->len++;
		if (!dl->gathering || dl->len >= dl->cap / 2)
			pthread_cond_signal(&dl->cv);
	}
	pthread_mutex_unlock(&dl->lock);
}

bool pw_gate_decision_wanted(const struct pw_gate *g, enum pw_exec_verdict v,
			     enum pw_gate_reason reason)
{
	unsigned int f = g->opts.decision_filter;

	if (!g->opts.on_decision)
		return false;
	if (!f || (v == PW_EXEC_DENY && (f & PW_GATE_RECORD_DENIED)))
		return true;
	return (unsigned int)reason < 32 && (f & PW_GATE_RECORD_REASON(reason));
}

void pw_gate_record_decision(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v,
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
	d.time_ns = pw_gate_now_ns();
	d.latency_ns = d.time_ns - req->info.t_arrival;
	if (req->info.have_meta)
		memcpy(d.name, req->info.meta.comm, PW_COMM_LEN);
	image = pw_gate_req_image(req);
	snprintf(d.image, sizeof(d.image), "%s", image ? image : "");
	d.filename[0] = 0;
	d.argc = d.args_len = 0;
	av = pw_gate_req_argv(req);
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
	d.held = req->info.held; /* issue 12 */
	d.via_loader = req->info.via_loader;
	sink_push(g, &d);
}

/*
 * On the decision thread, after the verdict: the record's copy of argv loses
 * its secrets, the request's (what rules and the handler saw) never did.
 * A redaction that fails or does not fit leaves no argv in the record.
 */
static void redact_record(struct pw_gate *g, struct pw_gate_decision *d)
{
	char *out = NULL;
	size_t len = 0;
	int ret = pw_redact_args(g->opts.redact, d->args, d->args_len, &out, &len);

	if (ret == 0)
		return;
	d->redacted = true;
	if (ret < 0 || len > sizeof(d->args)) {
		d->argc = d->args_len = 0;
	} else {
		memcpy(d->args, out, len);
		d->args_len = (uint32_t)len;
	}
	free(out);
}

static void *sink_main(void *arg)
{
	struct pw_gate *g = arg;
	struct pw_gate_dlog *dl = &g->dlog;
	struct pw_gate_decision *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	pthread_mutex_lock(&dl->lock);
	for (;;) {
		while (!dl->len && !atomic_load(&g->stopping))
			pthread_cond_wait(&dl->cv, &dl->lock);
		if (!dl->len)
			break;
		*d = dl->ring[dl->head];
		dl->head = (dl->head + 1) % dl->cap;
		dl->len--;
		pthread_mutex_unlock(&dl->lock);
		d->redacted = false;
		if (g->opts.redact && d->args_len)
			redact_record(g, d);
		g->opts.on_decision(g, d, g->opts.decision_userdata);
		pthread_mutex_lock(&dl->lock);
		/*
		 * A batch delivered: let the next records gather before taking
		 * them, so a busy period wakes this thread once per SINK_BATCH_NS
		 * rather than once per decision (a wake-up per record was most of
		 * `procward gate --log all`'s CPU: 62 us per spawn, against 12 us
		 * for the bare responder). An idle sink still wakes at once.
		 */
		if (!dl->len && !atomic_load(&g->stopping)) {
			struct timespec until;

			/*
			 * A timed wait, not a sleep: a burst that fills half the
			 * ring, or the stop, ends it early, so gathering never
			 * drops a record a prompt reader would have kept.
			 */
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += SINK_BATCH_NS;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			dl->gathering = true;
			while (dl->len < dl->cap / 2 && !atomic_load(&g->stopping) &&
			       pthread_cond_timedwait(&dl->cv, &dl->lock, &until) != ETIMEDOUT)
				;
			dl->gathering = false;
		}
	}
	pthread_mutex_unlock(&dl->lock);
	free(d);
	return NULL;
}

void pw_gate_dlog_init(struct pw_gate_dlog *dl)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&dl->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the gathering deadline ignores clock changes */
	pthread_cond_init(&dl->cv, &attr);
	pthread_condattr_destroy(&attr);
}

int pw_gate_dlog_start(struct pw_gate *g)
{
	struct pw_gate_dlog *dl = &g->dlog;
	int err;

	if (!g->opts.on_decision)
		return 0;
	dl->cap = g->opts.decision_queue;
	dl->head = dl->len = 0;
	dl->ring = calloc(dl->cap, sizeof(*dl->ring));
	if (!dl->ring)
		return -ENOMEM;
	err = -pthread_create(&dl->thread, NULL, sink_main, g);
	if (err)
		return err;
	dl->have_thread = true;
	return 0;
}

void pw_gate_dlog_stop(struct pw_gate_dlog *dl)
{
	pthread_mutex_lock(&dl->lock);
	pthread_cond_broadcast(&dl->cv);
	pthread_mutex_unlock(&dl->lock);
	if (dl->have_thread)
		pthread_join(dl->thread, NULL);
	dl->have_thread = false;
	free(dl->ring);
	dl->ring = NULL;
	dl->len = dl->head = 0;
}

void pw_gate_dlog_fini(struct pw_gate_dlog *dl)
{
	pthread_mutex_destroy(&dl->lock);
	pthread_cond_destroy(&dl->cv);
}

/* ------------------------------------------------------------ ungated */

int pw_gate_on_ungated(void *ctx, void *data, size_t size)
{
	struct pw_gate *g = ctx;
	const struct pw_gate_ungated *u = data;
	struct pw_gate_decision d;

	if (size < sizeof(*u))
		return 0;
	if (pw_gate_hold_event(g, u)) /* issue 12: held (stopped) execs are decided, not just reported */
		return 0;
	if (u->cached) {
		/* the audit trail of an exec the kernel allowed by the cache */
		if (pw_gate_decision_wanted(g, PW_EXEC_ALLOW, PW_GATE_BY_CACHE))
			goto record;
		return 0;
	}
	PW_GATE_COUNT(g, ungated);
	if (u->killed)
		PW_GATE_COUNT(g, ungated_killed);
	pw_log(&g->log, PW_LOG_WARN, "ungated exec: pid %u (%.16s) ran %.*s%s", u->pid, u->comm,
	       (int)(u->image_len < PW_PATH_MAX ? u->image_len : PW_PATH_MAX), u->image,
	       u->killed ? ": killed" : "");
	if (!pw_gate_decision_wanted(g, u->killed ? PW_EXEC_DENY : PW_EXEC_ALLOW, PW_GATE_UNGATED))
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
	d.time_ns = pw_gate_now_ns();
	memcpy(d.name, u->comm, PW_COMM_LEN);
	d.name[PW_COMM_LEN - 1] = 0;
	memcpy(d.image, u->image, PW_PATH_MAX);
	d.image[PW_PATH_MAX - 1] = 0;
	d.filename[0] = 0;
	d.argc = d.args_len = 0;
	d.held = u->hold != PW_GATE_HOLD_NONE; /* issue 12: killed because it could not be held */
	d.via_loader = false;
	sink_push(g, &d);
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
PW_API bool pw_decision_redacted(const struct pw_gate_decision *d) { return d->redacted; }
PW_API uint64_t pw_decision_time_ns(const struct pw_gate_decision *d) { return d->time_ns; }
PW_API uint64_t pw_decision_latency_ns(const struct pw_gate_decision *d) { return d->latency_ns; }
PW_API bool pw_decision_held(const struct pw_gate_decision *d) { return d->held; }
PW_API bool pw_decision_via_loader(const struct pw_gate_decision *d) { return d->via_loader; }

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
		[PW_GATE_BY_GUARDIAN] = "guardian",
	};

	if ((unsigned int)reason >= sizeof(names) / sizeof(*names))
		return NULL;
	return names[reason];
}
