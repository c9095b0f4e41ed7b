// SPDX-License-Identifier: MIT
// shim.c - the C side of the Go binding's callbacks: static trampolines that
// turn the library's void *userdata back into the cgo.Handle it carries and
// call the exported Go functions (callbacks.go).
#include <stdint.h>
#include <procward.h>
#include "_cgo_export.h"
#include "shim.h"

static int on_event(struct pw_monitor *m, const struct pw_event *ev, void *ud)
{
	(void)m;
	return pwgoOnEvent((uintptr_t)ud, (struct pw_event *)ev);
}

static int on_sampler_event(struct pw_monitor *m, const struct pw_event *ev, void *ud)
{
	(void)m;
	return pwgoOnSamplerEvent((uintptr_t)ud, (struct pw_event *)ev);
}

static void on_log(enum pw_log_level level, const char *msg, void *ud)
{
	pwgoLog((uintptr_t)ud, (int)level, (char *)msg);
}

static int on_request(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	(void)g;
	return pwgoOnRequest((uintptr_t)ud, req);
}

static void on_decision(struct pw_gate *g, const struct pw_gate_decision *d, void *ud)
{
	(void)g;
	pwgoOnDecision((uintptr_t)ud, (struct pw_gate_decision *)d);
}

static void on_gate_error(struct pw_gate *g, const struct pw_exec_request *req, int err, void *ud)
{
	(void)g;
	pwgoOnGateError((uintptr_t)ud, (struct pw_exec_request *)req, err);
}

/* The log pair of the monitor's, sampler's and gate's options: each opts
 * struct has its own, and without a Go Log (log_h 0) the library's default
 * (silent) is left as it is. */
static void set_log(pw_log_fn *log, void **log_userdata, uintptr_t log_h)
{
	if (log_h) {
		*log = on_log;
		*log_userdata = (void *)log_h;
	}
}

void pwgo_monitor_callbacks(struct pw_monitor_opts *o, uintptr_t h, uintptr_t log_h)
{
	o->on_event = on_event;
	o->userdata = (void *)h;
	set_log(&o->log, &o->log_userdata, log_h);
}

void pwgo_sampler_callbacks(struct pw_sampler_opts *o, uintptr_t h, uintptr_t log_h)
{
	o->on_event = on_sampler_event;
	o->userdata = (void *)h;
	set_log(&o->log, &o->log_userdata, log_h);
}

void pwgo_gate_callbacks(struct pw_gate_opts *o, uintptr_t h, int handler, int decisions, uintptr_t log_h)
{
	o->handler = handler ? on_request : NULL;
	o->userdata = (void *)h;
	o->on_decision = decisions ? on_decision : NULL;
	o->decision_userdata = (void *)h;
	o->on_error = on_gate_error;
	set_log(&o->log, &o->log_userdata, log_h);
}

void pwgo_event_read(const struct pw_event *ev, struct pwgo_event *o)
{
	o->type = pw_event_type(ev);
	o->cpu = pw_event_cpu(ev);
	o->time_ns = pw_event_time_ns(ev);
	o->pid = pw_event_pid(ev);
	o->tid = pw_event_tid(ev);
	o->parent_pid = pw_event_parent_pid(ev);
	o->creator_pid = pw_event_creator_pid(ev);
	o->creator_tid = pw_event_creator_tid(ev);
	o->key = pw_event_key(ev);
	o->parent_key = pw_event_parent_key(ev);
	o->clone_flags = pw_event_clone_flags(ev);
	o->flags = pw_event_flags(ev);
	o->clone_flags_raw = pw_event_clone_flags_raw(ev);
	o->lost_count = pw_event_lost_count(ev);
	o->exit_status = pw_event_exit_status(ev);
	o->name = pw_event_name(ev);
	o->image = pw_event_image(ev);
	o->previous_image = pw_event_previous_image(ev);
	o->exec_filename = pw_event_exec_filename(ev);
	o->cwd = pw_event_cwd(ev);
	o->argc = pw_event_argc(ev);
	o->token = pw_event_token(ev);
	o->rusage = pw_event_rusage(ev);
	if (o->type == PW_EVENT_PROCESS_ACCESS || o->type == PW_EVENT_THREAD_ACCESS) {
		o->target_pid = pw_event_target_pid(ev);
		o->target_tid = pw_event_target_tid(ev);
		o->target_key = pw_event_target_key(ev);
		o->target_name = pw_event_target_name(ev);
		o->access = pw_event_access(ev);
		o->access_op = pw_event_access_op(ev);
		o->signal = pw_event_signal(ev);
		o->access_result = pw_event_access_result(ev);
		o->access_detail = pw_event_access_detail(ev);
		o->access_denied = pw_event_access_denied(ev);
	}
	if (o->type == PW_EVENT_RESOURCE_ALERT) {
		o->alert_rule = pw_event_alert_rule(ev);
		o->alert_kind = (int)pw_event_alert_kind(ev);
		o->alert_value = pw_event_alert_value(ev);
		o->alert_threshold = pw_event_alert_threshold(ev);
	}
}

size_t pwgo_event_args(const struct pw_event *ev, const char **out, size_t n)
{
	size_t argc = pw_event_argc(ev), i;

	for (i = 0; i < argc && i < n; i++)
		out[i] = pw_event_arg(ev, i);
	return i;
}
