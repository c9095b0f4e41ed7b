// SPDX-License-Identifier: MIT
// monitor.go - Monitor: lifecycle and access events, copied into Event values.

package procward

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// EventType of an event (enum pw_event_type).
type EventType int

// Event types.
const (
	ProcessCreate EventType = C.PW_EVENT_PROCESS_CREATE
	Exec          EventType = C.PW_EVENT_EXEC
	ProcessExit   EventType = C.PW_EVENT_PROCESS_EXIT
	ThreadCreate  EventType = C.PW_EVENT_THREAD_CREATE
	ThreadExit    EventType = C.PW_EVENT_THREAD_EXIT
	Lost          EventType = C.PW_EVENT_LOST
	ProcessAccess EventType = C.PW_EVENT_PROCESS_ACCESS
	ThreadAccess  EventType = C.PW_EVENT_THREAD_ACCESS
	ResourceAlert EventType = C.PW_EVENT_RESOURCE_ALERT // from a Sampler's alert rule
)

// Mask is its bit for MonitorOptions.Events.
func (t EventType) Mask() uint32 { return 1 << uint(t) }

func (t EventType) String() string { return goString(C.pw_event_type_name(C.enum_pw_event_type(t))) }

// Event masks.
const (
	EventsAll    uint32 = 1<<ProcessCreate | 1<<Exec | 1<<ProcessExit | 1<<ThreadCreate | 1<<ThreadExit
	EventsAccess uint32 = 1<<ProcessAccess | 1<<ThreadAccess
)

// Event is a copy of one library event; it may be kept.
type Event struct {
	Type                   EventType
	TimeNs                 uint64
	CPU                    uint32
	Pid, Tid               int // the originator's, for access events
	Key                    ProcKey
	ParentPid              int
	ParentKey              ProcKey
	CreatorPid, CreatorTid int
	CloneFlags             uint32 // PW_CLONE_*
	CloneFlagsRaw          uint64
	Name                   string
	Image                  string // "" when unknown
	PreviousImage          string
	ExecFilename           string
	Cwd                    string
	Args                   []string
	Flags                  uint32 // PW_EVF_*
	ExitStatus             int    // raw wait status: syscall.WaitStatus(ev.ExitStatus)
	LostCount              uint64
	Token                  *Token  // nil for Lost
	Rusage                 *Rusage // process and thread exits; nil for other events
	// The library's JSON record of the event (what `procward watch -j`
	// prints, no newline): only with MonitorOptions.JSON.
	JSON string
	// Resolved only with MonitorOptions.ResolveNames.
	UserName, GroupName, CgroupPath, ContainerID string
	// Access events.
	TargetPid, TargetTid int
	TargetKey            ProcKey
	TargetName           string
	Access               Access
	AccessOp             int
	Signal               int
	AccessResult         int64
	AccessDenied         bool
	AccessDetail         uint64
	// Resource alerts (Pid, Key, Name, Args, Token are the process's): the
	// rule's index (Sampler.AddAlert's result), its kind, the value that
	// crossed it and the threshold (percent of one CPU, bytes or threads).
	AlertRule      int
	AlertKind      AlertKind
	AlertValue     uint64
	AlertThreshold uint64
}

// formatted: a snprintf-like formatter of the library, sized then filled.
func formatted(call func(buf *C.char, n C.size_t) C.int) string {
	n := call(nil, 0)
	if n < 0 {
		return ""
	}
	buf := make([]byte, int(n)+1)
	if call((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf))) < 0 {
		return ""
	}
	return string(buf[:n])
}

// TextEscape escapes s as the library's text output does (\xNN for controls
// and invalid UTF-8, \\ for a backslash).
func TextEscape(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", &Error{Op: "escape", Code: syscall.EINVAL}
	}
	cs := C.CString(s)
	defer C.free(unsafe.Pointer(cs))
	return formatted(func(b *C.char, n C.size_t) C.int { return C.pw_text_escape(cs, b, n) }), nil
}

func copyEvent(ev *C.struct_pw_event, names, json bool) *Event {
	var o C.struct_pwgo_event
	C.pwgo_event_read(ev, &o) // one cgo call for every scalar and string pointer
	e := &Event{
		Type:          EventType(o._type),
		TimeNs:        uint64(o.time_ns),
		CPU:           uint32(o.cpu),
		Pid:           int(o.pid),
		Tid:           int(o.tid),
		Key:           procKey(o.key),
		ParentPid:     int(o.parent_pid),
		ParentKey:     procKey(o.parent_key),
		CreatorPid:    int(o.creator_pid),
		CreatorTid:    int(o.creator_tid),
		CloneFlags:    uint32(o.clone_flags),
		CloneFlagsRaw: uint64(o.clone_flags_raw),
		Name:          goString(o.name),
		Image:         goString(o.image),
		PreviousImage: goString(o.previous_image),
		ExecFilename:  goString(o.exec_filename),
		Cwd:           goString(o.cwd),
		Flags:         uint32(o.flags),
		ExitStatus:    int(o.exit_status),
		LostCount:     uint64(o.lost_count),
		Token:         token(o.token),
		Rusage:        rusage(o.rusage),
	}
	if n := int(o.argc); n > 0 {
		ptrs := make([]*C.char, n)
		n = int(C.pwgo_event_args(ev, &ptrs[0], C.size_t(n)))
		e.Args = goStrings(n, func(i int) *C.char { return ptrs[i] })
	}
	if json {
		e.JSON = formatted(func(b *C.char, n C.size_t) C.int {
			return C.pw_event_format_json(ev, b, n, C.PW_FORMAT_NO_NEWLINE)
		})
	}
	if names {
		e.UserName = goString(C.pw_event_user_name(ev))
		e.GroupName = goString(C.pw_event_group_name(ev))
		e.CgroupPath = goString(C.pw_event_cgroup_path(ev))
		e.ContainerID = goString(C.pw_event_container_id(ev))
	}
	if e.Type == ProcessAccess || e.Type == ThreadAccess {
		e.TargetPid = int(o.target_pid)
		e.TargetTid = int(o.target_tid)
		e.TargetKey = procKey(o.target_key)
		e.TargetName = goString(o.target_name)
		e.Access = Access(o.access)
		e.AccessOp = int(o.access_op)
		e.Signal = int(o.signal)
		e.AccessResult = int64(o.access_result)
		e.AccessDenied = bool(o.access_denied)
		e.AccessDetail = uint64(o.access_detail)
	}
	if e.Type == ResourceAlert {
		e.AlertRule = int(o.alert_rule)
		e.AlertKind = AlertKind(o.alert_kind)
		e.AlertValue = uint64(o.alert_value)
		e.AlertThreshold = uint64(o.alert_threshold)
	}
	return e
}

// MonitorOptions are the fields of struct pw_monitor_opts (0: the library's defaults).
type MonitorOptions struct {
	Events          uint32 // EventType.Mask() bits; 0: EventsAll
	RingbufBytes    int
	InheritChildren bool
	MaxProcesses    int
	MaxArgsBytes    uint
	BatchDelayUs    int
	ResolveNames    bool     // fill UserName, GroupName, CgroupPath, ContainerID
	JSON            bool     // fill Event.JSON with the library's record of the event
	Rules           []string // "exclude name-prefix kworker", "include uid 1000"
	Log             func(LogLevel, string)
}

// MonitorStats are counters since start.
type MonitorStats struct {
	EventsDelivered, EventsLost, EventsFiltered, ProcessesTracked, TableEvictions uint64
}

// Monitor wraps a pw_monitor.
type Monitor struct {
	mu      sync.Mutex // guards m against Close while Stop runs
	running sync.WaitGroup
	m       *C.struct_pw_monitor
	handles
	names   bool
	json    bool
	handler func(*Event)
	panicV  interface{}
	log     func(LogLevel, string)
}

// NewMonitor validates the options and rules; nothing is loaded until Start.
func NewMonitor(opts MonitorOptions) (*Monitor, error) {
	mon := &Monitor{names: opts.ResolveNames, json: opts.JSON, log: opts.Log}
	var c C.struct_pw_monitor_opts
	c.sz = C.size_t(unsafe.Sizeof(c))
	c.events = C.uint(opts.Events)
	c.ringbuf_bytes = C.size_t(opts.RingbufBytes)
	c.inherit_children = C.bool(opts.InheritChildren)
	c.max_processes = C.size_t(opts.MaxProcesses)
	c.max_args_bytes = C.uint(opts.MaxArgsBytes)
	c.batch_delay_us = C.int(opts.BatchDelayUs)
	logH := mon.init(mon, opts.Log)
	C.pwgo_monitor_callbacks(&c, C.uintptr_t(mon.handle), logH)
	if err := check(C.pw_monitor_new(&c, &mon.m), "monitor"); err != nil {
		mon.release()
		return nil, err
	}
	if err := addRules(opts.Rules, mon.AddRule, mon.Close); err != nil {
		return nil, err
	}
	return mon, nil
}

// Close stops (and waits for a Run or Dispatch on another goroutine to
// return), detaches every program and frees. Idempotent.
func (mon *Monitor) Close() {
	mon.Stop()
	mon.running.Wait()
	mon.mu.Lock()
	m := mon.m
	mon.m = nil
	mon.mu.Unlock()
	if m != nil {
		C.pw_monitor_free(m)
		mon.release()
	}
}

func (mon *Monitor) ptr() (*C.struct_pw_monitor, error) {
	if mon.m == nil {
		return nil, &Error{Op: "monitor", Code: syscall.EBADF}
	}
	return mon.m, nil
}

// call runs f on the monitor (EBADF once closed) and turns its result into an error.
func (mon *Monitor) call(op string, f func(*C.struct_pw_monitor) C.int) error {
	m, err := mon.ptr()
	if err != nil {
		return err
	}
	return check(f(m), op)
}

// nameCall is call with name as a C string (nil for ""), freed after f returns.
func (mon *Monitor) nameCall(op, name string, f func(m *C.struct_pw_monitor, name *C.char) C.int) error {
	return mon.call(op, func(m *C.struct_pw_monitor) C.int {
		var cs *C.char
		if name != "" {
			cs = C.CString(name)
			defer C.free(unsafe.Pointer(cs))
		}
		return f(m, cs)
	})
}

// ruleCall is call with a rule parsed from its text form.
func (mon *Monitor) ruleCall(op, text string, f func(*C.struct_pw_monitor, *C.struct_pw_rule) C.int) error {
	m, err := mon.ptr()
	if err != nil {
		return err
	}
	return withRule(text, func(r *C.struct_pw_rule) C.int { return f(m, r) }, op)
}

func parseRule(text string) (*C.struct_pw_rule, *C.char, error) {
	cs := C.CString(text)
	defer C.free(unsafe.Pointer(cs))
	r := (*C.struct_pw_rule)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_pw_rule{}))))
	r.sz = C.size_t(unsafe.Sizeof(*r))
	var storage *C.char
	if err := check(C.pw_rule_parse(cs, r, &storage), "parse rule"); err != nil {
		C.free(unsafe.Pointer(r))
		return nil, nil, err
	}
	return r, storage, nil
}

func withRule(text string, f func(*C.struct_pw_rule) C.int, op string) error {
	r, storage, err := parseRule(text)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(r))
	defer C.free(unsafe.Pointer(storage))
	return check(f(r), op)
}

// AddRule adds a rule in the library's text form, before or after Start
// (from the handler, or while Run is not running).
func (mon *Monitor) AddRule(text string) error {
	return mon.ruleCall("add rule", text, func(m *C.struct_pw_monitor, r *C.struct_pw_rule) C.int {
		return C.pw_monitor_add_rule(m, r)
	})
}

// RemoveRule removes a rule added earlier (ENOENT if none).
func (mon *Monitor) RemoveRule(text string) error {
	return mon.ruleCall("remove rule", text, func(m *C.struct_pw_monitor, r *C.struct_pw_rule) C.int {
		return C.pw_monitor_remove_rule(m, r)
	})
}

// ClearRules removes every rule.
func (mon *Monitor) ClearRules() error {
	return mon.call("clear rules", func(m *C.struct_pw_monitor) C.int { return C.pw_monitor_clear_rules(m) })
}

// AccessTarget is a watched target: a process by Pid, or every process named Name.
type AccessTarget struct {
	Pid    int
	Name   string
	Access Access // 0: all
}

func (t AccessTarget) c(name *C.char) *C.struct_pw_access_target {
	var c C.struct_pw_access_target
	c.sz = C.size_t(unsafe.Sizeof(c))
	c.pid = C.pid_t(t.Pid)
	c.name = name
	c.access = C.uint(t.Access)
	return &c
}

// WatchAccess reports access operations aimed at the target.
func (mon *Monitor) WatchAccess(t AccessTarget) error {
	return mon.nameCall("watch access", t.Name, func(m *C.struct_pw_monitor, name *C.char) C.int {
		return C.pw_monitor_watch_access(m, t.c(name))
	})
}

// UnwatchAccess stops watching a target.
func (mon *Monitor) UnwatchAccess(t AccessTarget) error {
	return mon.nameCall("unwatch access", t.Name, func(m *C.struct_pw_monitor, name *C.char) C.int {
		return C.pw_monitor_unwatch_access(m, t.c(name))
	})
}

// WatchAccessAll reports operations on every process for these rights (0: off).
func (mon *Monitor) WatchAccessAll(a Access) error {
	return mon.call("watch access of all", func(m *C.struct_pw_monitor) C.int { return C.pw_monitor_watch_access_all(m, C.uint(a)) })
}

// AddAccessOriginatorRule: "exclude pid 42", "include uid 1000".
func (mon *Monitor) AddAccessOriginatorRule(text string) error {
	return mon.ruleCall("add originator rule", text, func(m *C.struct_pw_monitor, r *C.struct_pw_rule) C.int {
		return C.pw_monitor_add_access_originator_rule(m, r)
	})
}

// ClearAccessOriginatorRules removes them all.
func (mon *Monitor) ClearAccessOriginatorRules() error {
	return mon.call("clear originator rules", func(m *C.struct_pw_monitor) C.int { return C.pw_monitor_clear_access_originator_rules(m) })
}

// ProtectRule denies rights on a process (by Pid or Name).
type ProtectRule struct {
	Pid       int
	Name      string
	Deny      Access
	ExceptUID *uint32
	ExceptPid *int // 0: the calling process
}

func (r ProtectRule) c(name *C.char) *C.struct_pw_protect_rule {
	var c C.struct_pw_protect_rule
	c.sz = C.size_t(unsafe.Sizeof(c))
	c.pid = C.pid_t(r.Pid)
	c.name = name
	c.deny = C.uint(r.Deny)
	if r.ExceptUID != nil {
		c.flags |= C.PW_PROTECT_EXCEPT_UID
		c.except_uid = C.uint32_t(*r.ExceptUID)
	}
	if r.ExceptPid != nil {
		c.flags |= C.PW_PROTECT_EXCEPT_PID
		c.except_pid = C.pid_t(*r.ExceptPid)
	}
	return &c
}

// Protect adds or replaces a protection rule. Without BPF LSM the error
// wraps ErrEnforcementUnavailable, and nothing is stored.
func (mon *Monitor) Protect(r ProtectRule) error {
	return mon.nameCall("protect", r.Name, func(m *C.struct_pw_monitor, name *C.char) C.int {
		return C.pw_monitor_protect(m, r.c(name))
	})
}

// Unprotect removes the rule for the same pid or name.
func (mon *Monitor) Unprotect(r ProtectRule) error {
	return mon.nameCall("unprotect", r.Name, func(m *C.struct_pw_monitor, name *C.char) C.int {
		return C.pw_monitor_unprotect(m, r.c(name))
	})
}

// Start loads and attaches the kernel programs.
func (mon *Monitor) Start() error {
	return mon.call("start monitor", func(m *C.struct_pw_monitor) C.int { return C.pw_monitor_start(m) })
}

// Fd is a pollable descriptor, after Start.
func (mon *Monitor) Fd() (int, error) {
	m, err := mon.ptr()
	if err != nil {
		return -1, err
	}
	fd := C.pw_monitor_fd(m)
	return int(fd), check(fd, "monitor fd")
}

// finishCall ends a Monitor or Sampler call that ran the handler: it
// re-raises the handler's panic (taken from *panicV); EINTR is 0.
func finishCall(panicV *interface{}, ret C.int, op string) (int, error) {
	if p := *panicV; p != nil {
		*panicV = nil
		panic(p)
	}
	if ret == -C.int(syscall.EINTR) {
		return 0, nil
	}
	if err := check(ret, op); err != nil {
		return 0, err
	}
	return int(ret), nil
}

func (mon *Monitor) finish(ret C.int, op string) (int, error) {
	return finishCall(&mon.panicV, ret, op)
}

// Dispatch waits up to timeoutMs (-1: forever) and gives what is ready to
// handler; the number of events. A panic in handler is re-raised here.
func (mon *Monitor) Dispatch(timeoutMs int, handler func(*Event)) (int, error) {
	m, err := mon.ptr()
	if err != nil {
		return 0, err
	}
	mon.running.Add(1)
	defer mon.running.Done()
	mon.handler = handler
	ret := C.pw_monitor_dispatch(m, C.int(timeoutMs))
	return mon.finish(ret, "dispatch")
}

// Run gives every event to handler until ctx is done or Stop is called (nil
// then), or the library fails. It holds its goroutine's OS thread.
func (mon *Monitor) Run(ctx context.Context, handler func(*Event)) error {
	m, err := mon.ptr()
	if err != nil {
		return err
	}
	mon.running.Add(1)
	defer mon.running.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			mon.Stop()
		case <-done:
		}
	}()
	mon.handler = handler
	_, err = mon.finish(C.pw_monitor_run(m), "run")
	return err
}

// Events runs the monitor on its own goroutine and delivers events on a
// channel (with room for buffer events: a full channel holds the reader back,
// and the kernel counts what no longer fits as Lost). The channel is closed
// when ctx is done or Stop is called; the error, if any, comes on errc.
func (mon *Monitor) Events(ctx context.Context, buffer int) (events <-chan *Event, errc <-chan error) {
	ch := make(chan *Event, buffer)
	ec := make(chan error, 1)
	go func() {
		defer close(ch)
		ec <- mon.Run(ctx, func(ev *Event) {
			select {
			case ch <- ev:
			case <-ctx.Done():
			}
		})
		close(ec)
	}()
	return ch, ec
}

// Stop makes Run or Dispatch return. Any goroutine.
func (mon *Monitor) Stop() {
	mon.mu.Lock()
	defer mon.mu.Unlock()
	if mon.m != nil {
		C.pw_monitor_stop(mon.m)
	}
}

// Stats are counters since start.
func (mon *Monitor) Stats() (MonitorStats, error) {
	m, err := mon.ptr()
	if err != nil {
		return MonitorStats{}, err
	}
	return monitorStats(m, "monitor stats")
}

// monitorStats reads the counters of a monitor (a Monitor's, or a Sampler's).
func monitorStats(m *C.struct_pw_monitor, op string) (MonitorStats, error) {
	var s C.struct_pw_monitor_stats
	s.sz = C.size_t(unsafe.Sizeof(s))
	if err := check(C.pw_monitor_stats(m, &s), op); err != nil {
		return MonitorStats{}, err
	}
	return MonitorStats{uint64(s.events_delivered), uint64(s.events_lost), uint64(s.events_filtered),
		uint64(s.processes_tracked), uint64(s.table_evictions)}, nil
}
