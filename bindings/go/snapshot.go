// SPDX-License-Identifier: MIT
// snapshot.go - Snapshot: the running processes, copied out of a pw_snapshot.

package procward

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// Snapshot flags (enum pw_snapshot_flag).
const (
	SnapCmdline uint = C.PW_SNAP_CMDLINE
	SnapImage   uint = C.PW_SNAP_IMAGE
	SnapUser    uint = C.PW_SNAP_USER
	SnapAll          = SnapCmdline | SnapImage | SnapUser
)

// Process is one running process.
type Process struct {
	Pid, ParentPid int
	Key            ProcKey
	Name           string
	Image          string // with SnapImage, if readable
	Args           []string
	UID            uint32
	UserName       string // with SnapUser
	Threads        uint32
	State          byte // 'R', 'S', 'Z', ...
	// From /proc/PID/stat when the snapshot read it: CPU at clock-tick
	// resolution (threads summed, reaped children excluded), resident set,
	// start time (CLOCK_BOOTTIME ns, as Key.StartNs).
	UserNs, SystemNs, CPUNs uint64
	RSSBytes                uint64
	StartNs                 uint64
}

// Snapshot lists the running processes from /proc (or procRoot, if not "").
// No privileges needed.
func Snapshot(flags uint, procRoot string) ([]Process, error) {
	var opts C.struct_pw_snapshot_opts
	opts.sz = C.size_t(unsafe.Sizeof(opts))
	opts.flags = C.uint(flags)
	if procRoot != "" {
		opts.proc_root = C.CString(procRoot)
		defer C.free(unsafe.Pointer(opts.proc_root))
	}
	var s *C.struct_pw_snapshot
	if err := check(C.pw_snapshot_take(&opts, &s), "snapshot"); err != nil {
		return nil, err
	}
	defer C.pw_snapshot_free(s)
	n := int(C.pw_snapshot_count(s))
	out := make([]Process, n)
	for i := range out {
		p := C.pw_snapshot_process(s, C.size_t(i))
		out[i] = Process{
			Pid:       int(C.pw_process_pid(p)),
			ParentPid: int(C.pw_process_parent_pid(p)),
			Key:       procKey(C.pw_process_key(p)),
			Name:      goString(C.pw_process_name(p)),
			Image:     goString(C.pw_process_image(p)),
			UID:       uint32(C.pw_process_uid(p)),
			UserName:  goString(C.pw_process_user_name(p)),
			Threads:   uint32(C.pw_process_thread_count(p)),
			State:     byte(C.pw_process_state(p)),
			UserNs:    uint64(C.pw_process_user_ns(p)),
			SystemNs:  uint64(C.pw_process_system_ns(p)),
			CPUNs:     uint64(C.pw_process_cpu_ns(p)),
			RSSBytes:  uint64(C.pw_process_rss_bytes(p)),
			StartNs:   uint64(C.pw_process_start_ns(p)),
		}
		if argc := int(C.pw_process_argc(p)); argc > 0 {
			out[i].Args = goStrings(argc, func(j int) *C.char { return C.pw_process_arg(p, C.size_t(j)) })
		}
	}
	return out, nil
}
