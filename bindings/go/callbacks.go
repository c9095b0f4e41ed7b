// SPDX-License-Identifier: MIT
// callbacks.go - the Go functions shim.c calls: each finds its Monitor or
// Gate through the cgo.Handle in the library's userdata. Nothing panics
// back into C: a monitor handler's panic stops dispatch and is re-raised by
// Run/Dispatch; a gate handler's is a handler failure (ErrorVerdict, OnError).

package procward

/*
#include "shim.h"
*/
import "C"

import (
	"runtime/cgo"
	"syscall"
	"unsafe"
)

//export pwgoOnEvent
func pwgoOnEvent(h C.uintptr_t, ev *C.struct_pw_event) C.int {
	mon := cgo.Handle(h).Value().(*Monitor)
	return deliverEvent(mon.handler, &mon.panicV, ev, mon.names, mon.json)
}

//export pwgoOnSamplerEvent
func pwgoOnSamplerEvent(h C.uintptr_t, ev *C.struct_pw_event) C.int {
	s := cgo.Handle(h).Value().(*Sampler)
	return deliverEvent(s.onEvent, &s.panicV, ev, false, false)
}

// deliverEvent gives handler (if any) a copy of ev; its panic is kept in
// *panicV (finishCall re-raises it) and stops the call (-ECANCELED).
func deliverEvent(handler func(*Event), panicV *interface{}, ev *C.struct_pw_event, names, json bool) (ret C.int) {
	if handler == nil {
		return 0
	}
	defer func() {
		if p := recover(); p != nil {
			*panicV = p
			ret = -C.int(syscall.ECANCELED)
		}
	}()
	handler(copyEvent(ev, names, json))
	return 0
}

//export pwgoLog
func pwgoLog(h C.uintptr_t, level C.int, msg *C.char) {
	f := cgo.Handle(h).Value().(func(LogLevel, string))
	defer func() { _ = recover() }()
	f(LogLevel(level), goString(msg))
}

//export pwgoOnRequest
func pwgoOnRequest(h C.uintptr_t, r *C.struct_pw_exec_request) (ret C.int) {
	gate := cgo.Handle(h).Value().(*Gate)
	req := newRequest(gate, r)
	defer req.handlerReturned()
	defer func() {
		if p := recover(); p != nil {
			gate.panics.Store(uintptr(unsafe.Pointer(r)), p)
			ret = -C.int(syscall.ECANCELED)
		}
	}()
	v := gate.handler(req)
	req.mu.Lock()
	live := req.state == reqLive
	req.mu.Unlock()
	if live {
		switch v {
		case Allow:
			_, _ = req.Allow()
		case Deny:
			_, _ = req.Deny(0)
		}
	}
	return 0
}

//export pwgoOnGateError
func pwgoOnGateError(h C.uintptr_t, r *C.struct_pw_exec_request, code C.int) {
	gate := cgo.Handle(h).Value().(*Gate)
	var err error = &Error{Op: "gate handler", Code: syscall.Errno(-code)}
	if p, ok := gate.panics.LoadAndDelete(uintptr(unsafe.Pointer(r))); ok {
		err = &HandlerPanic{Value: p}
	}
	if gate.opts.OnError == nil {
		return
	}
	req := newRequest(gate, r)
	req.state = reqDone
	defer func() { _ = recover() }()
	gate.opts.OnError(req, err)
}

//export pwgoOnDecision
func pwgoOnDecision(h C.uintptr_t, d *C.struct_pw_gate_decision) {
	gate := cgo.Handle(h).Value().(*Gate)
	defer func() { _ = recover() }()
	gate.opts.OnDecision(copyDecision(d))
}
