// SPDX-License-Identifier: MIT

// Package procward is a Go binding over the C ABI of libprocward
// (include/procward.h), through cgo, with no other modules: a Monitor of
// process and thread lifecycle and access operations, the exec Gate, and
// Snapshot of the running processes.
//
// Events, exec requests and decision records are copied out of the borrowed
// C objects into Go values while the C object is valid: everything a handler
// receives may be kept. Errors are *Error values wrapping the library's code
// as a syscall.Errno: errors.Is(err, syscall.EPERM) and
// errors.Is(err, procward.ErrEnforcementUnavailable) work.
//
// Threads: a Monitor is used by one goroutine at a time (Run locks its OS
// thread); Stop and context cancellation work from anywhere. Gate handlers run
// on the gate's own threads, as goroutines the cgo runtime creates for them,
// concurrently with each other.
package procward

/*
#cgo CFLAGS: -I${SRCDIR}/../../include -O2
#cgo LDFLAGS: -L${SRCDIR}/../../build -l:libprocward.a -lbpf -lelf -lz -lpthread
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"runtime/cgo"
	"strings"
	"syscall"
	"unsafe"
)

// Library error codes, as syscall.Errno values (errors.Is works with them).
const (
	ErrNoBTF                  = syscall.Errno(C.PW_ERR_NO_BTF)
	ErrNoBPF                  = syscall.Errno(C.PW_ERR_NO_BPF)
	ErrKernelFeature          = syscall.Errno(C.PW_ERR_KERNEL_FEATURE)
	ErrEnforcementUnavailable = syscall.Errno(C.PW_ERR_ENFORCE_UNAVAILABLE)
	ErrRuleSyntax             = syscall.Errno(C.PW_ERR_RULE_SYNTAX)
	ErrRuleLimit              = syscall.Errno(C.PW_ERR_RULE_LIMIT)
)

// Error is a library failure: what was being done and the library's code.
type Error struct {
	Op   string
	Code syscall.Errno // positive: an errno value or one of the Err* codes
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Op, C.GoString(C.pw_strerror(C.int(e.Code))))
}

// Unwrap gives the code, for errors.Is(err, syscall.EPERM) and the like.
func (e *Error) Unwrap() error { return e.Code }

// Unavailable says whether err means "not on this machine": no BTF, no BPF,
// or a missing kernel feature.
func Unavailable(err error) bool {
	e, ok := err.(*Error)
	return ok && (e.Code == ErrNoBTF || e.Code == ErrNoBPF || e.Code == ErrKernelFeature)
}

func check(ret C.int, op string) error {
	if ret < 0 {
		return &Error{Op: op, Code: syscall.Errno(-ret)}
	}
	return nil
}

// handles keep a Monitor or Gate, and its log callback, alive for the C side.
type handles struct {
	handle cgo.Handle // the Go object itself, the callbacks' userdata
	logH   cgo.Handle // its Log callback (0: none)
}

// init takes the handles of obj and log; the C form of the log handle (0 without one).
func (h *handles) init(obj interface{}, log func(LogLevel, string)) C.uintptr_t {
	h.handle = cgo.NewHandle(obj)
	if log == nil {
		return 0
	}
	h.logH = cgo.NewHandle(log)
	return C.uintptr_t(h.logH)
}

func (h *handles) release() {
	h.handle.Delete()
	if h.logH != 0 {
		h.logH.Delete()
	}
}

// addRules adds each rule in turn; on the first failure it closes and returns the error.
func addRules(rules []string, add func(string) error, close func()) error {
	for _, r := range rules {
		if err := add(r); err != nil {
			close()
			return err
		}
	}
	return nil
}

func goString(p *C.char) string {
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// goStrings copies n C strings, arg(i) giving the i-th: every argv the
// library hands out (events, exec requests, decisions, snapshots, samples)
// is borrowed, valid only during the call or callback that gave it.
func goStrings(n int, arg func(i int) *C.char) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = goString(arg(i))
	}
	return out
}

// Version of the library linked in.
func Version() string { return C.GoString(C.pw_version()) }

// Features is a bitmask of Feat* values.
type Features uint32

// Kernel features (enum pw_feature).
const (
	FeatBTF          Features = C.PW_FEAT_BTF
	FeatBPF          Features = C.PW_FEAT_BPF
	FeatRingbuf      Features = C.PW_FEAT_RINGBUF
	FeatTPBTF        Features = C.PW_FEAT_TP_BTF
	FeatTaskIter     Features = C.PW_FEAT_TASK_ITER
	FeatBPFLSM       Features = C.PW_FEAT_BPF_LSM
	FeatFentry       Features = C.PW_FEAT_FENTRY
	FeatFanotifyExec Features = C.PW_FEAT_FANOTIFY_EXEC
	FeatSendSignal   Features = C.PW_FEAT_SEND_SIGNAL
)

// KernelFeatures: what the running kernel offers.
func KernelFeatures() Features { return Features(C.pw_features()) }

// EnforcementAvailable: whether Monitor.Protect can enforce here (BPF LSM).
func EnforcementAvailable() bool { return KernelFeatures()&FeatBPFLSM != 0 }

// LogLevel of a library log line.
type LogLevel int

// Log levels.
const (
	LogError LogLevel = C.PW_LOG_ERROR
	LogWarn  LogLevel = C.PW_LOG_WARN
	LogInfo  LogLevel = C.PW_LOG_INFO
	LogDebug LogLevel = C.PW_LOG_DEBUG
)

// ProcKey identifies a process across PID reuse.
type ProcKey struct {
	Pid     int
	StartNs uint64
}

func procKey(k C.struct_pw_proc_key) ProcKey { return ProcKey{int(k.pid), uint64(k.start_ns)} }

// Token is the originator's credentials, captured in the kernel.
type Token struct {
	UID, EUID, SUID, FSUID     uint32
	GID, EGID, SGID, FSGID     uint32
	CapEffective, CapPermitted uint64
	LoginUID, SessionID        uint32
	PidNsIno, MntNsIno         uint32
	CgroupID                   uint64
}

// Rusage is the resource use of an exit (struct pw_rusage), read in the
// kernel as the (last) thread exited: for a process exit the whole process,
// as getrusage(RUSAGE_SELF) would give; for a thread exit that thread.
type Rusage struct {
	UserNs, SystemNs, CPUNs                uint64 // CPUNs = UserNs + SystemNs: the exact runtime
	MaxRSSBytes                            uint64
	MinorFaults, MajorFaults               uint64
	VoluntarySwitches, InvoluntarySwitches uint64
	ReadBytes, WriteBytes                  uint64 // valid with RusageIO
	ReadChars, WriteChars                  uint64 // valid with RusageChars
	LifetimeNs                             uint64
	ChildrenUserNs, ChildrenSystemNs       uint64 // reaped children (process exits)
	Threads                                uint32
	Flags                                  uint32 // Rusage* bits
}

// Rusage.Flags bits (enum pw_rusage_flag).
const (
	RusageIO      = C.PW_RUSAGE_IO      // ReadBytes/WriteBytes valid
	RusageChars   = C.PW_RUSAGE_CHARS   // ReadChars/WriteChars valid
	RusagePartial = C.PW_RUSAGE_PARTIAL // other live threads could not be summed (kernel < 6.7)
	RusageThread  = C.PW_RUSAGE_THREAD  // one thread's use (ThreadExit)
)

func rusage(r *C.struct_pw_rusage) *Rusage {
	if r == nil {
		return nil
	}
	return &Rusage{
		uint64(r.user_ns), uint64(r.system_ns), uint64(r.cpu_ns), uint64(r.max_rss_bytes),
		uint64(r.minor_faults), uint64(r.major_faults), uint64(r.voluntary_switches),
		uint64(r.involuntary_switches), uint64(r.read_bytes), uint64(r.write_bytes),
		uint64(r.read_chars), uint64(r.write_chars), uint64(r.lifetime_ns),
		uint64(r.children_user_ns), uint64(r.children_system_ns), uint32(r.threads), uint32(r.flags),
	}
}

func token(t *C.struct_pw_token) *Token {
	if t == nil {
		return nil
	}
	return &Token{
		uint32(t.uid), uint32(t.euid), uint32(t.suid), uint32(t.fsuid),
		uint32(t.gid), uint32(t.egid), uint32(t.sgid), uint32(t.fsgid),
		uint64(t.cap_effective), uint64(t.cap_permitted),
		uint32(t.loginuid), uint32(t.sessionid), uint32(t.pidns_ino), uint32(t.mntns_ino),
		uint64(t.cgroup_id),
	}
}

// Access rights (enum pw_access).
type Access uint32

// Rights.
const (
	AccessDebug         Access = C.PW_ACCESS_DEBUG
	AccessReadMemory    Access = C.PW_ACCESS_READ_MEMORY
	AccessWriteMemory   Access = C.PW_ACCESS_WRITE_MEMORY
	AccessReadInfo      Access = C.PW_ACCESS_READ_INFO
	AccessTerminate     Access = C.PW_ACCESS_TERMINATE
	AccessSuspendResume Access = C.PW_ACCESS_SUSPEND_RESUME
	AccessSignal        Access = C.PW_ACCESS_SIGNAL
	AccessOpenHandle    Access = C.PW_ACCESS_OPEN_HANDLE
	AccessDupHandle     Access = C.PW_ACCESS_DUP_HANDLE
	AccessSetLimits     Access = C.PW_ACCESS_SET_LIMITS // prlimit (enforced together with AccessTerminate)
	AccessAll           Access = C.PW_ACCESS_ALL
)

// ParseAccess turns "terminate,debug" into rights.
func ParseAccess(list string) (Access, error) {
	cs := C.CString(list)
	defer C.free(unsafe.Pointer(cs))
	var out C.uint
	if err := check(C.pw_access_parse(cs, &out), "parse access"); err != nil {
		return 0, err
	}
	return Access(out), nil
}

// String: "terminate,set-limits" (the names ParseAccess takes).
func (a Access) String() string {
	var names []string
	for bit := Access(1); bit != 0 && bit <= a; bit <<= 1 {
		if a&bit != 0 {
			n := goString(C.pw_access_name(C.uint(bit)))
			if n == "" {
				n = "?"
			}
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// AccessOpName: "kill", "ptrace", ... for an access event's AccessOp.
func AccessOpName(op int) string { return goString(C.pw_access_op_name(C.enum_pw_access_op(op))) }
