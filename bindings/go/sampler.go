// SPDX-License-Identifier: MIT
// sampler.go - Sampler: CPU and memory of every process per interval (one
// BPF task-iterator walk per sample), copied into Go values, and alert rules
// whose crossings arrive as ResourceAlert events.

package procward

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// AlertKind is what an alert rule measures (enum pw_alert_kind).
type AlertKind int

// Alert kinds.
const (
	AlertCPU     AlertKind = C.PW_ALERT_CPU     // percent of one CPU, above Threshold for ForMs
	AlertRSS     AlertKind = C.PW_ALERT_RSS     // resident set in bytes
	AlertThreads AlertKind = C.PW_ALERT_THREADS // number of threads
)

func (k AlertKind) String() string {
	switch k {
	case AlertCPU:
		return "cpu"
	case AlertRSS:
		return "rss"
	case AlertThreads:
		return "threads"
	}
	return "unknown"
}

// AlertRule is struct pw_alert_rule: "cpu > 90% for 5s" is
// AlertRule{Kind: AlertCPU, Threshold: 90, ForMs: 5000}.
type AlertRule struct {
	Kind      AlertKind
	Threshold uint64 // percent of one CPU, bytes, or threads
	ForMs     uint   // the condition must hold at every sample this long; 0: once
	Pid       int    // only this process; 0: every process
	Name      string // only processes with this comm; "": any
}

// ParseAlertRule reads the library's text form: "cpu > 90% for 5s",
// "rss > 2GiB", "threads > 500", optionally followed by "pid N" or "name
// COMM". The error wraps ErrRuleSyntax.
func ParseAlertRule(text string) (AlertRule, error) {
	if err := noNUL(text, "parse alert rule"); err != nil {
		return AlertRule{}, err
	}
	cs := C.CString(text)
	defer C.free(unsafe.Pointer(cs))
	var r C.struct_pw_alert_rule
	var storage *C.char
	r.sz = C.size_t(unsafe.Sizeof(r))
	if err := check(C.pw_alert_rule_parse(cs, &r, &storage), "parse alert rule"); err != nil {
		return AlertRule{}, err
	}
	defer C.free(unsafe.Pointer(storage))
	return AlertRule{AlertKind(r.kind), uint64(r.threshold), uint(r.for_ms), int(r.pid), goString(r.name)}, nil
}

func noNUL(s, op string) error {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return &Error{Op: op, Code: syscall.EINVAL}
		}
	}
	return nil
}

// ProcUsage is one process in a sample (struct pw_proc_usage), copied.
type ProcUsage struct {
	Key          ProcKey
	Pid, PPid    int
	UID          uint32 // real uid
	Name         string // comm
	State        byte   // as /proc/PID/stat: 'R', 'S', 'D', 'Z', 'T', ...; 'X': exited
	Exited       bool   // exited in the interval: values from its exit event
	Started      bool   // started in the interval
	KernelThread bool
	Threads      uint32
	CPUNs        uint64 // CPU since it started (user + system), ns
	UserNs       uint64
	SystemNs     uint64
	CPUDeltaNs   uint64  // CPU in the interval, ns
	CPUPercent   float64 // CPUDeltaNs over the interval: 100 is one CPU all the time
	RSSBytes     uint64  // resident set now; exited: its peak
	MaxRSSBytes  uint64  // exited: peak RSS; else 0
	ExitStatus   int     // exited: raw wait status
	Image        string  // "" when unknown
	Args         []string
}

// Sample is one pw_sampler_sample(), copied: it may be kept.
type Sample struct {
	TimeNs     uint64 // CLOCK_MONOTONIC
	IntervalNs uint64 // since the previous sample
	Tasks      int    // tasks the kernel walked
	CostNs     uint64 // ns the walk took
	// Live processes first (pid order), then those that exited in the interval.
	Processes []ProcUsage
}

// Find is the live (exited false) or exited entry of pid, or nil.
func (s *Sample) Find(pid int, exited bool) *ProcUsage {
	for i := range s.Processes {
		if s.Processes[i].Pid == pid && s.Processes[i].Exited == exited {
			return &s.Processes[i]
		}
	}
	return nil
}

// SamplerOptions are the fields of struct pw_sampler_opts.
type SamplerOptions struct {
	// OnEvent receives ProcessExit events (with Rusage) as they are
	// collected and ResourceAlert events from alert rules, on the goroutine
	// that called Dispatch, Sample or Run. A panic in it is re-raised there.
	OnEvent      func(*Event)
	Alerts       []string // alert rules in text form, added by NewSampler
	MaxProcesses int      // process table bound; 0: the library's (65536)
	Log          func(LogLevel, string)
}

// Sampler wraps a pw_sampler. One goroutine uses it at a time; Close may
// come from any goroutine once that one has returned.
type Sampler struct {
	s *C.struct_pw_sampler
	handles
	onEvent func(*Event)
	panicV  interface{}
}

// NewSampler validates the options and rules; nothing is loaded until Start.
func NewSampler(opts SamplerOptions) (*Sampler, error) {
	s := &Sampler{onEvent: opts.OnEvent}
	var c C.struct_pw_sampler_opts
	c.sz = C.size_t(unsafe.Sizeof(c))
	c.max_processes = C.size_t(opts.MaxProcesses)
	logH := s.init(s, opts.Log)
	C.pwgo_sampler_callbacks(&c, C.uintptr_t(s.handle), logH)
	if err := check(C.pw_sampler_new(&c, &s.s), "sampler"); err != nil {
		s.release()
		return nil, err
	}
	for _, text := range opts.Alerts {
		if _, err := s.AddAlertText(text); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close detaches everything and frees. Idempotent.
func (s *Sampler) Close() {
	if s.s != nil {
		C.pw_sampler_free(s.s)
		s.s = nil
		s.release()
	}
}

func (s *Sampler) ptr() (*C.struct_pw_sampler, error) {
	if s.s == nil {
		return nil, &Error{Op: "sampler", Code: syscall.EBADF}
	}
	return s.s, nil
}

func (s *Sampler) finish(ret C.int, op string) (int, error) {
	return finishCall(&s.panicV, ret, op)
}

// AddAlert adds a rule (before or after Start); its index, which the
// rule's ResourceAlert events carry. Errors wrap EINVAL or ErrRuleLimit.
func (s *Sampler) AddAlert(r AlertRule) (int, error) {
	p, err := s.ptr()
	if err != nil {
		return -1, err
	}
	if err := noNUL(r.Name, "add alert"); err != nil {
		return -1, err
	}
	var c C.struct_pw_alert_rule
	c.sz = C.size_t(unsafe.Sizeof(c))
	c.kind = uint32(r.Kind)
	c.threshold = C.uint64_t(r.Threshold)
	c.for_ms = C.uint(r.ForMs)
	c.pid = C.pid_t(r.Pid)
	if r.Name != "" {
		c.name = C.CString(r.Name) // the library copies it
		defer C.free(unsafe.Pointer(c.name))
	}
	ret := C.pw_sampler_add_alert(p, &c)
	if err := check(ret, "add alert"); err != nil {
		return -1, err
	}
	return int(ret), nil
}

// AddAlertText adds a rule in text form (ParseAlertRule).
func (s *Sampler) AddAlertText(text string) (int, error) {
	r, err := ParseAlertRule(text)
	if err != nil {
		return -1, err
	}
	return s.AddAlert(r)
}

// Start loads, attaches and takes the baseline sample.
func (s *Sampler) Start() error {
	p, err := s.ptr()
	if err != nil {
		return err
	}
	return check(C.pw_sampler_start(p), "start sampler")
}

// Fd is readable when exit events wait (call Dispatch), after Start.
func (s *Sampler) Fd() (int, error) {
	p, err := s.ptr()
	if err != nil {
		return -1, err
	}
	fd := C.pw_sampler_fd(p)
	return int(fd), check(fd, "sampler fd")
}

// Dispatch collects exit events for up to timeoutMs (-1: until one
// arrives, 0: the ready ones); their number.
func (s *Sampler) Dispatch(timeoutMs int) (int, error) {
	p, err := s.ptr()
	if err != nil {
		return 0, err
	}
	return s.finish(C.pw_sampler_dispatch(p, C.int(timeoutMs)), "sampler dispatch")
}

// Sample takes a sample now: the deltas since the previous one, copied.
// Alert rules are evaluated (OnEvent runs) first.
func (s *Sampler) Sample() (*Sample, error) {
	p, err := s.ptr()
	if err != nil {
		return nil, err
	}
	var smp *C.struct_pw_sample
	if _, err := s.finish(C.pw_sampler_sample(p, &smp), "sample"); err != nil {
		return nil, err
	}
	if smp == nil {
		return nil, &Error{Op: "sample", Code: syscall.EINTR}
	}
	return copySample(smp), nil
}

func copySample(smp *C.struct_pw_sample) *Sample {
	out := &Sample{
		TimeNs:     uint64(C.pw_sample_time_ns(smp)),
		IntervalNs: uint64(C.pw_sample_interval_ns(smp)),
		Tasks:      int(C.pw_sample_tasks(smp)),
		CostNs:     uint64(C.pw_sample_cost_ns(smp)),
	}
	n := int(C.pw_sample_count(smp))
	out.Processes = make([]ProcUsage, n)
	for i := 0; i < n; i++ {
		u := C.pw_sample_process(smp, C.size_t(i))
		pu := &out.Processes[i]
		pu.Key = procKey(u.key)
		pu.Pid = int(u.key.pid)
		pu.PPid = int(u.ppid)
		pu.UID = uint32(u.uid)
		name := C.GoBytes(unsafe.Pointer(&u.name[0]), C.int(len(u.name)))
		for j, b := range name {
			if b == 0 {
				name = name[:j]
				break
			}
		}
		pu.Name = string(name)
		pu.State = byte(u.state)
		pu.Exited = bool(u.exited)
		pu.Started = bool(u.started)
		pu.KernelThread = bool(u.kernel_thread)
		pu.Threads = uint32(u.threads)
		pu.CPUNs = uint64(u.cpu_ns)
		pu.UserNs = uint64(u.user_ns)
		pu.SystemNs = uint64(u.system_ns)
		pu.CPUDeltaNs = uint64(u.cpu_delta_ns)
		if out.IntervalNs > 0 {
			pu.CPUPercent = 100 * float64(pu.CPUDeltaNs) / float64(out.IntervalNs)
		}
		pu.RSSBytes = uint64(u.rss_bytes)
		pu.MaxRSSBytes = uint64(u.max_rss_bytes)
		pu.ExitStatus = int(u.exit_status)
		pu.Image = goString(u.image)
		if argc := int(u.argc); argc > 0 && u.argv != nil {
			argv := unsafe.Slice((**C.char)(unsafe.Pointer(u.argv)), argc)
			pu.Args = goStrings(argc, func(j int) *C.char { return argv[j] })
		}
	}
	return out
}

// RunFor collects exit events until d has passed (waiting on Fd, no sleep).
func (s *Sampler) RunFor(d time.Duration) error {
	end := time.Now().Add(d)
	for {
		left := time.Until(end)
		if left <= 0 {
			return nil
		}
		if _, err := s.Dispatch(int(left/time.Millisecond) + 1); err != nil {
			return err
		}
	}
}

// Run takes a sample every interval and gives it to fn until ctx is done
// (nil then) or the library fails. Exit events are collected between
// samples; it holds its goroutine's OS thread. The context is looked at
// between waits of at most 100 ms.
func (s *Sampler) Run(ctx context.Context, interval time.Duration, fn func(*Sample)) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	next := time.Now().Add(interval)
	for {
		for {
			if ctx.Err() != nil {
				return nil
			}
			left := time.Until(next)
			if left <= 0 {
				break
			}
			if left > 100*time.Millisecond {
				left = 100 * time.Millisecond
			}
			if _, err := s.Dispatch(int(left/time.Millisecond) + 1); err != nil {
				return err
			}
		}
		smp, err := s.Sample()
		if err != nil {
			return err
		}
		next = next.Add(interval)
		fn(smp)
	}
}

// Stats are the counters of the sampler's monitor.
func (s *Sampler) Stats() (MonitorStats, error) {
	p, err := s.ptr()
	if err != nil {
		return MonitorStats{}, err
	}
	return monitorStats(C.pw_sampler_monitor(p), "sampler stats")
}
