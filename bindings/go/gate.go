// SPDX-License-Identifier: MIT
// gate.go - Gate: the exec gate, its requests (allow, deny, defer) and decision records.

package procward

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Verdict of an exec.
type Verdict int

// Verdicts. A handler returning NoVerdict (without having answered or
// deferred) leaves the exec to the library's timeout_verdict at once.
const (
	NoVerdict Verdict = 0
	Allow     Verdict = C.PW_EXEC_ALLOW
	Deny      Verdict = C.PW_EXEC_DENY
)

// Interpreters says what to do with the exec-opens of interpreters.
type Interpreters int

// enum pw_gate_interp.
const (
	InterpRules   Interpreters = C.PW_GATE_INTERP_RULES
	InterpAllow   Interpreters = C.PW_GATE_INTERP_ALLOW
	InterpHandler Interpreters = C.PW_GATE_INTERP_HANDLER
)

// ErrReleased: the request was answered and released, or its gate is closed.
var ErrReleased = errors.New("procward: exec request no longer valid (answered and released)")

// GateHandler decides one exec, on a gate thread. It answers with the
// request's methods or its return value (Allow, Deny: EPERM), or calls
// Defer and answers later from any goroutine.
type GateHandler func(req *ExecRequest) Verdict

// GateOptions are the fields of struct pw_gate_opts (0: the library's defaults).
type GateOptions struct {
	TimeoutMs         uint
	TimeoutVerdict    Verdict // on timeout, overload, shutdown; NoVerdict: allow
	ErrorVerdict      Verdict // on a handler failure (a panic); NoVerdict: allow
	Workers           uint
	MaxExtensions     uint
	MaxPending        uint
	Interpreters      Interpreters
	FailClosedUngated bool
	Audit             bool
	DecisionQueue     uint
	CacheEntries      uint
	ArgvInKernel      bool
	// DecisionFilter selects the decisions that make records for OnDecision:
	// RecordDenied | RecordReason(ByRule) ...; 0: every one.
	DecisionFilter uint32
	// KillOnMissedDeadline: after this many deadlines in a row the guardian
	// had to answer, it SIGKILLs the gating process; 0: never.
	KillOnMissedDeadline uint
	Rules                []string // "deny path /usr/bin/nc", "gate by-pid 42 children"
	// OnDecision gets a copy of every decision, on the decision thread.
	OnDecision func(*Decision)
	// OnError: a handler failed; err wraps its return code, or is the
	// recovered panic (a *HandlerPanic).
	OnError func(req *ExecRequest, err error)
	Log     func(LogLevel, string)
}

// GateReason is why a decision was made (enum pw_gate_reason).
type GateReason int

const (
	ReasonRule     GateReason = C.PW_GATE_BY_RULE
	ReasonHandler  GateReason = C.PW_GATE_BY_HANDLER
	ReasonTimeout  GateReason = C.PW_GATE_BY_TIMEOUT
	ReasonError    GateReason = C.PW_GATE_BY_ERROR
	ReasonDefault  GateReason = C.PW_GATE_BY_DEFAULT
	ReasonSelf     GateReason = C.PW_GATE_BY_SELF
	ReasonOverload GateReason = C.PW_GATE_BY_OVERLOAD
	ReasonShutdown GateReason = C.PW_GATE_BY_SHUTDOWN
	ReasonUngated  GateReason = C.PW_GATE_UNGATED
	ReasonCache    GateReason = C.PW_GATE_BY_CACHE
	ReasonGuardian GateReason = C.PW_GATE_BY_GUARDIAN
)

// GateOptions.DecisionFilter bits (PW_GATE_RECORD_*).
const (
	RecordDenied  uint32 = C.PW_GATE_RECORD_DENIED  // every deny (in audit mode, every would-be deny)
	RecordNotable uint32 = C.PW_GATE_RECORD_NOTABLE // denials and every decision that is not a routine allow
)

// RecordReason selects the decisions given for reason r.
func RecordReason(r GateReason) uint32 { return 1 << uint(r) }

// HandlerPanic is a panic recovered from a gate handler.
type HandlerPanic struct{ Value interface{} }

func (p *HandlerPanic) Error() string { return fmt.Sprintf("gate handler panicked: %v", p.Value) }

// GateStats are the gate's counters (struct pw_gate_stats).
type GateStats struct {
	Decisions, Allowed, Denied, ByRule, ByHandler, TimedOut, LateVerdicts, HandlerErrors   uint64
	SelfAllowed, InterpreterOpens, Overloaded, Ungated, UngatedKilled, UngatedLost, NoArgs uint64
	SinkDropped, FilesystemsMarked, FilesystemsUnmarkable, Extensions                      uint64
	CacheHits, CacheMisses, CacheEntries, CacheEvictions, CacheFlushes, CacheRefused       uint64
	CacheInvalidated                                                                       uint64
	// The guardian (procward.h, "Crash safety"); kept after Stop.
	GuardianVerdicts, GuardianRead, GuardianKernelHelpers, GuardianKills uint64
	GuardianPid                                                          int // while the gate runs; 0 otherwise
}

// Gate wraps a pw_gate.
type Gate struct {
	g *C.struct_pw_gate
	handles
	opts     GateOptions
	handler  GateHandler
	life     sync.RWMutex // verdicts hold it shared; Close takes it to free the gate
	freed    bool
	panics   sync.Map // request pointer -> recovered panic, for OnError
	fallback Verdict
}

// NewGate creates a gate; handler may be nil (static rules only).
func NewGate(opts GateOptions, handler GateHandler) (*Gate, error) {
	gate := &Gate{opts: opts, handler: handler, fallback: opts.TimeoutVerdict}
	if gate.fallback == NoVerdict {
		gate.fallback = Allow
	}
	var c C.struct_pw_gate_opts
	c.sz = C.size_t(unsafe.Sizeof(c))
	c.timeout_ms = C.uint(opts.TimeoutMs)
	c.timeout_verdict = C.enum_pw_exec_verdict(opts.TimeoutVerdict)
	c.error_verdict = C.enum_pw_exec_verdict(opts.ErrorVerdict)
	c.workers = C.uint(opts.Workers)
	c.max_extensions = C.uint(opts.MaxExtensions)
	c.max_pending = C.uint(opts.MaxPending)
	c.interpreters = C.enum_pw_gate_interp(opts.Interpreters)
	c.fail_closed_ungated = C.bool(opts.FailClosedUngated)
	c.audit = C.bool(opts.Audit)
	c.decision_queue = C.uint(opts.DecisionQueue)
	c.cache_entries = C.uint(opts.CacheEntries)
	c.argv_in_kernel = C.bool(opts.ArgvInKernel)
	c.decision_filter = C.uint(opts.DecisionFilter)
	c.kill_on_missed_deadline = C.uint(opts.KillOnMissedDeadline)
	logH := gate.init(gate, opts.Log)
	withHandler, withDecisions := C.int(0), C.int(0)
	if handler != nil {
		withHandler = 1
	}
	if opts.OnDecision != nil {
		withDecisions = 1
	}
	C.pwgo_gate_callbacks(&c, C.uintptr_t(gate.handle), withHandler, withDecisions, logH)
	if err := check(C.pw_gate_new(&c, &gate.g), "gate"); err != nil {
		gate.release()
		return nil, err
	}
	if err := addRules(opts.Rules, gate.AddRule, gate.Close); err != nil {
		return nil, err
	}
	return gate, nil
}

func (gate *Gate) ptr() (*C.struct_pw_gate, error) {
	if gate.g == nil {
		return nil, &Error{Op: "gate", Code: syscall.EBADF}
	}
	return gate.g, nil
}

// AddRule appends a rule in text form (the owning goroutine, not a handler).
func (gate *Gate) AddRule(text string) error {
	g, err := gate.ptr()
	if err != nil {
		return err
	}
	cs := C.CString(text)
	defer C.free(unsafe.Pointer(cs))
	return check(C.pw_gate_add_rule_text(g, cs), "add gate rule")
}

// RemoveRule removes the rule at index (the order added).
func (gate *Gate) RemoveRule(index uint) error {
	g, err := gate.ptr()
	if err != nil {
		return err
	}
	return check(C.pw_gate_remove_rule(g, C.uint(index)), "remove gate rule")
}

// LoadRulesFile adds every rule of a file (the count), or none and an error
// saying "PATH:LINE: ...".
func (gate *Gate) LoadRulesFile(path string) (int, error) {
	g, err := gate.ptr()
	if err != nil {
		return 0, err
	}
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	var buf [512]C.char
	ret := C.pw_gate_load_rules_file(g, cs, &buf[0], C.size_t(len(buf)))
	if ret < 0 {
		op := C.GoString(&buf[0])
		if op == "" {
			op = path
		}
		return 0, &Error{Op: op, Code: syscall.Errno(-ret)}
	}
	return int(ret), nil
}

// Start: from here on every exec on the machine waits for this gate.
func (gate *Gate) Start() error {
	g, err := gate.ptr()
	if err != nil {
		return err
	}
	return check(C.pw_gate_start(g), "start gate")
}

// Stop answers what is pending with the timeout verdict and joins the
// gate's threads (waits for running handlers). Idempotent.
func (gate *Gate) Stop() {
	if gate.g != nil {
		C.pw_gate_stop(gate.g)
	}
}

// Close stops and frees the gate; a deferred request answered after it gets
// ErrReleased. Idempotent.
func (gate *Gate) Close() {
	if gate.g == nil {
		return
	}
	C.pw_gate_stop(gate.g) // joins the handlers: nothing defers after this
	gate.life.Lock()
	gate.freed = true
	C.pw_gate_free(gate.g)
	gate.g = nil
	gate.life.Unlock()
	gate.release()
}

// DenyErrnoSupported: whether deny errnos other than EPERM reach the caller.
func (gate *Gate) DenyErrnoSupported() bool {
	return gate.g != nil && bool(C.pw_gate_deny_errno_supported(gate.g))
}

// Stats are the gate's counters.
func (gate *Gate) Stats() (GateStats, error) {
	g, err := gate.ptr()
	if err != nil {
		return GateStats{}, err
	}
	var s C.struct_pw_gate_stats
	s.sz = C.size_t(unsafe.Sizeof(s))
	if err := check(C.pw_gate_stats(g, &s), "gate stats"); err != nil {
		return GateStats{}, err
	}
	return GateStats{
		uint64(s.decisions), uint64(s.allowed), uint64(s.denied), uint64(s.by_rule), uint64(s.by_handler),
		uint64(s.timed_out), uint64(s.late_verdicts), uint64(s.handler_errors), uint64(s.self_allowed),
		uint64(s.interpreter_opens), uint64(s.overloaded), uint64(s.ungated), uint64(s.ungated_killed),
		uint64(s.ungated_lost), uint64(s.no_args), uint64(s.sink_dropped), uint64(s.filesystems_marked),
		uint64(s.filesystems_unmarkable), uint64(s.extensions), uint64(s.cache_hits), uint64(s.cache_misses),
		uint64(s.cache_entries), uint64(s.cache_evictions), uint64(s.cache_flushes), uint64(s.cache_refused),
		uint64(s.cache_invalidated),
		uint64(s.guardian_verdicts), uint64(s.guardian_read), uint64(s.guardian_kernel_helpers),
		uint64(s.guardian_kills), int(s.guardian_pid),
	}, nil
}

const (
	reqLive = iota
	reqDeferred
	reqDone
)

// ExecRequest is one exec waiting for a verdict. The identity fields are
// copied when the handler is called; Image, Filename and Args read from the
// library on first use (so ask before the verdict) and are kept.
type ExecRequest struct {
	Pid, Tid, ParentPid int
	Key                 ProcKey
	Name                string // comm before the exec
	Token               *Token
	IsInterpreter       bool

	gate  *Gate
	r     *C.struct_pw_exec_request
	mu    sync.Mutex
	state int

	image, filename *string
	args            []string
	argsRead        bool
}

func newRequest(gate *Gate, r *C.struct_pw_exec_request) *ExecRequest {
	return &ExecRequest{
		Pid:           int(C.pw_exec_pid(r)),
		Tid:           int(C.pw_exec_tid(r)),
		ParentPid:     int(C.pw_exec_parent_pid(r)),
		Key:           procKey(C.pw_exec_key(r)),
		Name:          goString(C.pw_exec_name(r)),
		Token:         token(C.pw_exec_token(r)),
		IsInterpreter: bool(C.pw_exec_is_interpreter(r)),
		gate:          gate,
		r:             r,
	}
}

// lock takes the gate's life (shared) and the request; live says whether
// the C request may still be touched.
func (req *ExecRequest) lock() (live bool) {
	req.gate.life.RLock()
	req.mu.Lock()
	return req.state != reqDone && !req.gate.freed
}

func (req *ExecRequest) unlock() {
	req.mu.Unlock()
	req.gate.life.RUnlock()
}

// cached reads a string of the request once, while the request is live;
// "" if it was released before anyone asked.
func (req *ExecRequest) cached(slot **string, read func(*C.struct_pw_exec_request) *C.char) string {
	live := req.lock()
	defer req.unlock()
	if *slot == nil && live {
		s := goString(read(req.r))
		*slot = &s
	}
	if *slot == nil {
		return ""
	}
	return **slot
}

// Image is the absolute path of the file opened for exec ("" if unknown).
func (req *ExecRequest) Image() string {
	return req.cached(&req.image, func(r *C.struct_pw_exec_request) *C.char { return C.pw_exec_image(r) })
}

// Filename is execve's filename argument, as passed.
func (req *ExecRequest) Filename() string {
	return req.cached(&req.filename, func(r *C.struct_pw_exec_request) *C.char { return C.pw_exec_filename(r) })
}

// Args is the new argv.
func (req *ExecRequest) Args() []string {
	live := req.lock()
	defer req.unlock()
	if !req.argsRead && live {
		req.args = goStrings(int(C.pw_exec_argc(req.r)), func(i int) *C.char {
			return C.pw_exec_arg(req.r, C.size_t(i))
		})
		req.argsRead = true
	}
	return req.args
}

// SHA256 of the image content.
func (req *ExecRequest) SHA256() ([32]byte, error) {
	var out [32]byte
	live := req.lock()
	defer req.unlock()
	if !live {
		return out, ErrReleased
	}
	err := check(C.pw_exec_sha256(req.r, (*C.uint8_t)(unsafe.Pointer(&out[0]))), "sha256")
	return out, err
}

// File returns a duplicate of the image's read-only fd (pw_exec_fd), to read
// or hash it; the caller closes it. ErrReleased once the request is answered.
func (req *ExecRequest) File() (*os.File, error) {
	name := req.Image() // before lock(): Image takes it too
	live := req.lock()
	defer req.unlock()
	if !live {
		return nil, ErrReleased
	}
	fd := int(C.pw_exec_fd(req.r))
	if fd < 0 {
		return nil, &Error{Op: "exec fd", Code: syscall.Errno(-fd)}
	}
	dup, err := syscall.Dup(fd) // the library owns fd and closes it with the request
	if err != nil {
		return nil, &Error{Op: "exec fd", Code: err.(syscall.Errno)}
	}
	syscall.CloseOnExec(dup)
	return os.NewFile(uintptr(dup), name), nil
}

// Exec flags of the request (pw_exec_flags).
const (
	ExecArgsTruncated = C.PW_EXEC_ARGS_TRUNCATED // argv longer than captured, or unreadable
	ExecNoArgs        = C.PW_EXEC_NO_ARGS        // nothing was captured for this exec
)

// Flags: ExecArgsTruncated, ExecNoArgs (reading them may read argv; ask
// before the verdict); 0 once the request is answered.
func (req *ExecRequest) Flags() uint32 {
	live := req.lock()
	defer req.unlock()
	if !live {
		return 0
	}
	return uint32(C.pw_exec_flags(req.r))
}

// answer gives a verdict: true if it decided the exec, false if the exec
// was answered already (deadline, stop, an earlier verdict).
func (req *ExecRequest) answer(f func(*C.struct_pw_exec_request) C.int) (bool, error) {
	live := req.lock()
	defer req.unlock()
	if !live {
		return false, nil
	}
	ret := f(req.r)
	if req.state == reqDeferred {
		req.state = reqDone // the verdict call released it, whatever it returned
	}
	if ret == -C.int(syscall.ETIMEDOUT) || ret == -C.int(syscall.EALREADY) {
		return false, nil
	}
	return ret == 0, check(ret, "verdict")
}

// Allow lets the exec run.
func (req *ExecRequest) Allow() (bool, error) {
	return req.answer(func(r *C.struct_pw_exec_request) C.int { return C.pw_exec_allow(r) })
}

// Deny fails the execve with errno (0: EPERM).
func (req *ExecRequest) Deny(errno syscall.Errno) (bool, error) {
	return req.answer(func(r *C.struct_pw_exec_request) C.int { return C.pw_exec_deny(r, C.int(errno)) })
}

// AllowCached allows, and lets the kernel allow this image from now on.
func (req *ExecRequest) AllowCached() (bool, error) {
	return req.answer(func(r *C.struct_pw_exec_request) C.int { return C.pw_exec_allow_cached(r) })
}

// DenyCached denies, and denies this image from now on without the handler.
func (req *ExecRequest) DenyCached(errno syscall.Errno) (bool, error) {
	return req.answer(func(r *C.struct_pw_exec_request) C.int { return C.pw_exec_deny_cached(r, C.int(errno)) })
}

// Extend pushes the deadline to now + ms.
func (req *ExecRequest) Extend(ms uint) (bool, error) {
	live := req.lock()
	defer req.unlock()
	if !live {
		return false, nil
	}
	ret := C.pw_exec_extend(req.r, C.uint(ms))
	if ret == -C.int(syscall.ETIMEDOUT) || ret == -C.int(syscall.EALREADY) {
		return false, nil
	}
	return ret == 0, check(ret, "extend")
}

// Defer keeps the request past the handler's return: answer it later from
// any goroutine, before the deadline (Extend moves it). Only in the handler.
func (req *ExecRequest) Defer() error {
	req.mu.Lock()
	defer req.mu.Unlock()
	if req.state != reqLive {
		return &Error{Op: "defer", Code: syscall.EALREADY}
	}
	if err := check(C.pw_exec_defer(req.r), "defer"); err != nil {
		return err
	}
	req.state = reqDeferred
	return nil
}

// handlerReturned: a request not deferred is released by the library now.
func (req *ExecRequest) handlerReturned() {
	req.mu.Lock()
	if req.state == reqLive {
		req.state = reqDone
	}
	req.mu.Unlock()
}

// Decision is a copy of a decision record.
type Decision struct {
	Verdict       Verdict
	Reason        string // "handler", "rule", "cache", "timeout", ...
	Errno         int
	Audit         bool
	IsInterpreter bool
	Pid, Tid      int
	UID           uint32
	Name          string
	Image         string
	Filename      string
	Args          []string
	Rule          int // -1: no rule decided
	TimeNs        uint64
	LatencyNs     uint64
}

func copyDecision(d *C.struct_pw_gate_decision) *Decision {
	out := &Decision{
		Verdict:       Verdict(C.pw_decision_verdict(d)),
		Reason:        goString(C.pw_gate_reason_name(C.pw_decision_reason(d))),
		Errno:         int(C.pw_decision_errno(d)),
		Audit:         bool(C.pw_decision_audit(d)),
		IsInterpreter: bool(C.pw_decision_is_interpreter(d)),
		Pid:           int(C.pw_decision_pid(d)),
		Tid:           int(C.pw_decision_tid(d)),
		UID:           uint32(C.pw_decision_uid(d)),
		Name:          goString(C.pw_decision_name(d)),
		Image:         goString(C.pw_decision_image(d)),
		Filename:      goString(C.pw_decision_filename(d)),
		Rule:          int(C.pw_decision_rule(d)),
		TimeNs:        uint64(C.pw_decision_time_ns(d)),
		LatencyNs:     uint64(C.pw_decision_latency_ns(d)),
	}
	out.Args = goStrings(int(C.pw_decision_argc(d)), func(i int) *C.char {
		return C.pw_decision_arg(d, C.size_t(i))
	})
	return out
}
