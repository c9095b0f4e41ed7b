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

void pwgo_monitor_callbacks(struct pw_monitor_opts *o, uintptr_t h, uintptr_t log_h)
{
	o->on_event = on_event;
	o->userdata = (void *)h;
	if (log_h) {
		o->log = on_log;
		o->log_userdata = (void *)log_h;
	}
}

void pwgo_gate_callbacks(struct pw_gate_opts *o, uintptr_t h, int handler, int decisions, uintptr_t log_h)
{
	o->handler = handler ? on_request : NULL;
	o->userdata = (void *)h;
	o->on_decision = decisions ? on_decision : NULL;
	o->decision_userdata = (void *)h;
	o->on_error = on_gate_error;
	if (log_h) {
		o->log = on_log;
		o->log_userdata = (void *)log_h;
	}
}
