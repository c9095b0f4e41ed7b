// SPDX-License-Identifier: MIT
// procward_test.go - tests of the Go binding against real processes and the
// real kernel: snapshot (with resource use), monitor (every lifecycle type,
// the whole token and rusage of an exit, the library's JSON, rules, lost
// events, panics, context cancellation, the channel), access watch and
// protect, and the exec gate (handler, verdicts, defer, cache, failures,
// decisions and their filter, the image file, the guardian and
// KillOnMissedDeadline), and the sampler (a busy child's CPU, alert rules
// once per crossing, Run's context, panics, rule text). Privileged tests skip when not root.
//
// The gate only asks about this process's children (`gate by-pid`) and
// denies only programs copied into the test's own directory. A watchdog
// (time.AfterFunc: no exec) SIGKILLs this process by pid past its deadline.

package procward

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	time.AfterFunc(120*time.Second, func() {
		fmt.Fprintln(os.Stderr, "procward_test: watchdog: SIGKILL after 120 s")
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	})
	if parent := os.Getenv("PW_GO_GATE_PARENT"); parent != "" {
		gatingProcess(parent) // never returns
	}
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func program(t *testing.T, dir, name string) string {
	src, err := os.Open("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(dir, name)
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	return path
}

func startMonitor(t *testing.T, opts MonitorOptions) *Monitor {
	m, err := NewMonitor(opts)
	started(t, m, err)
	return m
}

// started fails the test if creating or starting obj failed (skips it where
// the kernel lacks what it needs), and closes obj when the test ends.
func started(t *testing.T, obj interface {
	Start() error
	Close()
}, err error) {
	if err != nil {
		t.Fatal(err)
	}
	if err := obj.Start(); err != nil {
		obj.Close()
		if Unavailable(err) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Cleanup(obj.Close)
}

// pump dispatches into recs until done() or 10 s.
func pump(t *testing.T, m *Monitor, handler func(*Event), done func() bool) {
	end := time.Now().Add(10 * time.Second)
	for !done() && time.Now().Before(end) {
		if _, err := m.Dispatch(100, handler); err != nil {
			t.Fatal(err)
		}
	}
}

func TestErrors(t *testing.T) {
	e := &Error{Op: "op", Code: syscall.EPERM}
	if !errors.Is(e, syscall.EPERM) || !errors.Is(e, os.ErrPermission) {
		t.Fatal("errors.Is on an EPERM Error")
	}
	if !strings.HasPrefix(e.Error(), "op: ") {
		t.Fatal(e.Error())
	}
	m, err := NewMonitor(MonitorOptions{Rules: []string{"include colour blue"}})
	if m != nil || !errors.Is(err, ErrRuleSyntax) {
		t.Fatalf("bad rule: %v", err)
	}
	if _, err := NewMonitor(MonitorOptions{RingbufBytes: 1000}); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("bad ring size: %v", err)
	}
	if a, err := ParseAccess("terminate,debug"); err != nil || a != AccessTerminate|AccessDebug {
		t.Fatal(a, err)
	}
	// every right the library names, bit for bit
	if a, err := ParseAccess("set-limits"); err != nil || a != AccessSetLimits {
		t.Fatal(a, err)
	}
	if a, err := ParseAccess("all"); err != nil || a != AccessAll || AccessAll != AccessSetLimits<<1-1 {
		t.Fatal(a, err)
	}
	if s := (AccessTerminate | AccessSetLimits).String(); s != "terminate,set-limits" {
		t.Fatal(s)
	}
	if a, err := ParseAccess(AccessAll.String()); err != nil || a != AccessAll {
		t.Fatal(a, err)
	}
	if RecordReason(ReasonGuardian) != 1<<11 || RecordNotable&RecordReason(ReasonHandler) != 0 || RecordNotable&RecordReason(ReasonTimeout) == 0 {
		t.Fatal("record bits")
	}
	if _, err := ParseAccess("nonsense"); !errors.Is(err, syscall.EINVAL) {
		t.Fatal(err)
	}
	if !strings.HasPrefix(Version(), "0.") {
		t.Fatal(Version())
	}
	if Exec.String() != "exec" {
		t.Fatal(Exec.String())
	}
}

func TestSnapshot(t *testing.T) {
	cpuNow := func() uint64 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return uint64(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for start := cpuNow(); cpuNow()-start < 50e6; {
		// 50 ms of CPU of our own to be seen
	}
	procs, err := Snapshot(SnapAll, "")
	if err != nil {
		t.Fatal(err)
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // after the snapshot: no less
	cpuAfter := uint64(ru.Utime.Nano() + ru.Stime.Nano())
	hwm := uint64(0)
	status, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			hwm = kb * 1024
		}
	}
	raw, _ := os.ReadFile("/proc/self/cmdline")
	want := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
	n := 0
	for _, p := range procs {
		if p.Pid != os.Getpid() {
			continue
		}
		n++
		if !reflect.DeepEqual(p.Args, want) || p.ParentPid != os.Getppid() || p.UID != uint32(os.Getuid()) || p.Threads < 1 {
			t.Fatalf("%+v", p)
		}
		// resource use as /proc/self/stat had it (getrusage rounds to µs: 1 ms slack)
		if p.CPUNs != p.UserNs+p.SystemNs || p.CPUNs == 0 || p.CPUNs > cpuAfter+1e6 ||
			p.RSSBytes == 0 || p.RSSBytes > hwm || p.StartNs != p.Key.StartNs {
			t.Fatalf("resource use %+v (CPU after %d ns, VmHWM %d)", p, cpuAfter, hwm)
		}
	}
	if n != 1 {
		t.Fatalf("self %d times", n)
	}
	if _, err := Snapshot(0, "/nonexistent-proc-root"); err == nil {
		t.Fatal("snapshot of a missing root")
	}
}

func TestLifecycle(t *testing.T) {
	needRoot(t)
	m := startMonitor(t, MonitorOptions{Events: EventsAll, JSON: true})
	var recs []*Event
	keep := func(ev *Event) {
		if ev.Pid == os.Getpid() || ev.ParentPid == os.Getpid() {
			recs = append(recs, ev)
		}
	}
	cmd := exec.Command("/bin/sh", "-c", "exit 3")
	err := cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	find := func(ty EventType, pid int) *Event {
		for _, r := range recs {
			if r.Type == ty && r.Pid == pid {
				return r
			}
		}
		return nil
	}
	pump(t, m, keep, func() bool { return find(ProcessExit, pid) != nil })
	create := find(ProcessCreate, pid)
	if create == nil || create.ParentPid != os.Getpid() {
		t.Fatalf("create %+v", create)
	}
	ex := find(Exec, pid)
	if ex == nil || !reflect.DeepEqual(ex.Args, []string{"/bin/sh", "-c", "exit 3"}) ||
		ex.Token == nil || ex.Token.UID != uint32(os.Getuid()) || ex.Name != "sh" || ex.Image == "" {
		t.Fatalf("exec %+v", ex)
	}
	// the library's JSON record, made inside the callback
	var rec struct {
		Type string   `json:"type"`
		Pid  int      `json:"pid"`
		Args []string `json:"args"`
	}
	if err := json.Unmarshal([]byte(ex.JSON), &rec); err != nil || rec.Type != "exec" || rec.Pid != pid ||
		!reflect.DeepEqual(rec.Args, ex.Args) || strings.HasSuffix(ex.JSON, "\n") {
		t.Fatalf("exec JSON %q: %+v %v", ex.JSON, rec, err)
	}
	if esc, err := TextEscape("a\nb\\"); err != nil || esc != `a\x0ab\\` {
		t.Fatalf("escape %q %v", esc, err)
	}
	if _, err := TextEscape("a\x00b"); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("escape of a NUL: %v", err)
	}
	exit := find(ProcessExit, pid)
	if ws := syscall.WaitStatus(exit.ExitStatus); !ws.Exited() || ws.ExitStatus() != 3 {
		t.Fatalf("exit %+v", exit)
	}
	st, err := m.Stats()
	if err != nil || st.EventsLost != 0 {
		t.Fatal(st, err)
	}
}

// selfReport: the child prints what the kernel shows it of itself
// (/proc/$$/status), then burns a little CPU.
const selfReport = `while read -r k a b c d; do case $k in Uid:|Gid:) echo "$k $a $b $c $d";; ` +
	`CapPrm:|CapEff:) echo "$k $a";; esac; done < /proc/$$/status; ` +
	`i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done`

func inode(t *testing.T, path string) uint64 {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func readUint(t *testing.T, path string) uint64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// cgroupDir: this process's cgroup v2 directory ("" without cgroup2).
func cgroupDir() string {
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	cg, _ := os.ReadFile("/proc/self/cgroup")
	mnt, path := "", ""
	for _, l := range strings.Split(string(mi), "\n") {
		if f := strings.Fields(l); strings.Contains(l, " - cgroup2 ") && len(f) > 4 {
			mnt = f[4]
			break
		}
	}
	for _, l := range strings.Split(string(cg), "\n") {
		if strings.HasPrefix(l, "0::") {
			path = l[3:]
		}
	}
	if mnt == "" {
		return ""
	}
	return mnt + path
}

func TestExitTokenAndRusage(t *testing.T) {
	needRoot(t)
	m := startMonitor(t, MonitorOptions{Events: EventsAll})
	// setpriv gives the child distinct real and effective ids, then execs sh
	cmd := exec.Command("/usr/bin/setpriv", "--ruid", "2001", "--euid", "2002", "--rgid", "1001", "--egid", "1002",
		"--clear-groups", "/bin/sh", "-c", selfReport)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var exit *Event
	others := 0
	keep := func(ev *Event) {
		if ev.Pid != pid {
			return
		}
		if ev.Type == ProcessExit {
			exit = ev
		} else if ev.Type != ThreadExit && ev.Rusage != nil {
			others++
		}
	}
	pump(t, m, keep, func() bool { return exit != nil })
	if exit == nil || exit.Token == nil || exit.Rusage == nil {
		t.Fatalf("exit %+v", exit)
	}
	field := func(key string) []string {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, key+" ") {
				return strings.Fields(l)[1:]
			}
		}
		t.Fatalf("%s in %q", key, out)
		return nil
	}
	tk := exit.Token
	ids := func(v ...uint32) []string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.FormatUint(uint64(x), 10)
		}
		return s
	}
	if got := ids(tk.UID, tk.EUID, tk.SUID, tk.FSUID); !reflect.DeepEqual(got, field("Uid:")) || tk.UID == tk.SUID {
		t.Fatalf("uids %v, the process saw %v", got, field("Uid:"))
	}
	if got := ids(tk.GID, tk.EGID, tk.SGID, tk.FSGID); !reflect.DeepEqual(got, field("Gid:")) {
		t.Fatalf("gids %v, the process saw %v", got, field("Gid:"))
	}
	if prm, _ := strconv.ParseUint(field("CapPrm:")[0], 16, 64); prm != tk.CapPermitted {
		t.Fatalf("cap_permitted %x, the process saw %x", tk.CapPermitted, prm)
	}
	if eff, _ := strconv.ParseUint(field("CapEff:")[0], 16, 64); eff != tk.CapEffective {
		t.Fatalf("cap_effective %x, the process saw %x", tk.CapEffective, eff)
	}
	if uint64(tk.LoginUID) != readUint(t, "/proc/self/loginuid") || uint64(tk.SessionID) != readUint(t, "/proc/self/sessionid") {
		t.Fatalf("audit ids %+v", tk)
	}
	if uint64(tk.PidNsIno) != inode(t, "/proc/self/ns/pid") || uint64(tk.MntNsIno) != inode(t, "/proc/self/ns/mnt") {
		t.Fatalf("namespaces %+v", tk)
	}
	if dir := cgroupDir(); dir != "" && tk.CgroupID != inode(t, dir) {
		t.Fatalf("cgroup id %d, %s is %d", tk.CgroupID, dir, inode(t, dir))
	}
	// the resource use, against wait4's (the child has no children of its own)
	r, ru := exit.Rusage, cmd.ProcessState.SysUsage().(*syscall.Rusage)
	waitNs := uint64(ru.Utime.Nano() + ru.Stime.Nano())
	if r.CPUNs != r.UserNs+r.SystemNs || r.CPUNs == 0 || r.CPUNs > waitNs+1e6 || r.CPUNs+5e6 < waitNs ||
		r.LifetimeNs < r.CPUNs || r.MaxRSSBytes == 0 || r.MaxRSSBytes > uint64(ru.Maxrss)*1024 ||
		r.MinorFaults == 0 || r.MinorFaults > uint64(ru.Minflt) || r.Threads != 1 || r.Flags&RusageThread != 0 ||
		r.ChildrenUserNs+r.ChildrenSystemNs != 0 {
		t.Fatalf("rusage %+v, wait4 %+v (%d ns)", r, ru, waitNs)
	}
	if others != 0 {
		t.Fatalf("%d non-exit events with a rusage", others)
	}
}

func TestThreads(t *testing.T) {
	needRoot(t)
	m := startMonitor(t, MonitorOptions{Events: ThreadCreate.Mask() | ThreadExit.Mask()})
	// a child that starts one thread and joins it
	cmd := exec.Command("python3", "-c", "import threading; t = threading.Thread(target=len, args=((),)); t.start(); t.join()")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var created, exited []int
	keep := func(ev *Event) {
		if ev.Pid == pid && ev.Type == ThreadCreate {
			created = append(created, ev.Tid)
		}
		if ev.Pid == pid && ev.Type == ThreadExit {
			exited = append(exited, ev.Tid)
		}
	}
	pump(t, m, keep, func() bool { return len(created) == 1 && len(exited) == 1 })
	if len(created) != 1 || !reflect.DeepEqual(created, exited) || created[0] == pid {
		t.Fatalf("threads of %d: created %v exited %v", pid, created, exited)
	}
}

func TestRulesPanicsAndContext(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	excluded := program(t, dir, "pwgo-excluded")
	included := program(t, dir, "pwgo-included")
	m := startMonitor(t, MonitorOptions{
		Events: Exec.Mask() | ProcessExit.Mask(),
		Rules:  []string{"exclude name pwgo-excluded"},
	})
	var recs []*Event
	keep := func(ev *Event) {
		if ev.ParentPid == os.Getpid() {
			recs = append(recs, ev)
		}
	}
	if err := exec.Command(excluded).Run(); err != nil {
		t.Fatal(err)
	}
	inc := exec.Command(included)
	if err := inc.Run(); err != nil {
		t.Fatal(err)
	}
	count := func(ty EventType, name string) int {
		n := 0
		for _, r := range recs {
			if r.Type == ty && r.Name == name {
				n++
			}
		}
		return n
	}
	pump(t, m, keep, func() bool { return count(ProcessExit, "pwgo-included") == 1 })
	m.Dispatch(0, keep)
	if count(Exec, "pwgo-included") != 1 || count(Exec, "pwgo-excluded") != 0 || count(ProcessExit, "pwgo-excluded") != 0 {
		t.Fatalf("rules: %d %d %d", count(Exec, "pwgo-included"), count(Exec, "pwgo-excluded"), count(ProcessExit, "pwgo-excluded"))
	}
	if err := m.RemoveRule("exclude name pwgo-excluded"); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveRule("exclude name pwgo-excluded"); !errors.Is(err, syscall.ENOENT) {
		t.Fatal(err)
	}

	// a handler's panic stops Dispatch and is raised there
	if err := exec.Command(included).Run(); err != nil {
		t.Fatal(err)
	}
	var caught interface{}
	end := time.Now().Add(10 * time.Second)
	for caught == nil && time.Now().Before(end) {
		func() {
			defer func() { caught = recover() }()
			m.Dispatch(100, func(ev *Event) {
				if ev.ParentPid == os.Getpid() {
					panic("boom")
				}
			})
		}()
	}
	if caught != "boom" {
		t.Fatalf("caught %v", caught)
	}

	// Events: a channel, closed when the context is cancelled
	ctx, cancel := context.WithCancel(context.Background())
	events, errc := m.Events(ctx, 16)
	if err := exec.Command(included, "via-channel").Run(); err != nil {
		t.Fatal(err)
	}
	var got *Event
	timeout := time.After(10 * time.Second)
	for got == nil {
		select {
		case ev := <-events:
			if ev != nil && ev.Type == Exec && len(ev.Args) == 2 && ev.Args[1] == "via-channel" {
				got = ev
			}
		case <-timeout:
			t.Fatal("no exec on the channel")
		}
	}
	cancel()
	for range events {
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestLostEvents(t *testing.T) {
	needRoot(t)
	m := startMonitor(t, MonitorOptions{RingbufBytes: 4096})
	var lost, notes uint64
	count := func(ev *Event) {
		if ev.Type == Lost {
			lost += ev.LostCount
			notes++
		}
	}
	for i := 0; i < 300; i++ { // far more than 4 KiB of records, none read meanwhile
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		m.Dispatch(100, count)
	}
	st, _ := m.Stats()
	if notes < 1 || lost == 0 || st.EventsLost != lost {
		t.Fatalf("notes %d lost %d stats %d", notes, lost, st.EventsLost)
	}
}

func TestAccessWatchAndProtect(t *testing.T) {
	needRoot(t)
	sleeper := exec.Command("/bin/sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	pid := sleeper.Process.Pid
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); string(comm) == "sleep\n" {
			break
		}
		time.Sleep(5 * time.Millisecond) // polling the exec, with a deadline
	}
	m, err := NewMonitor(MonitorOptions{Events: EventsAccess})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.WatchAccess(AccessTarget{Pid: pid, Access: AccessTerminate}); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		sleeper.Process.Kill()
		if Unavailable(err) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	rule := ProtectRule{Pid: pid, Deny: AccessTerminate}
	if EnforcementAvailable() {
		if err := m.Protect(rule); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, syscall.SIGTERM); !errors.Is(err, syscall.EPERM) {
			t.Fatal(err)
		}
		m.Unprotect(rule)
	} else {
		err := m.Protect(rule)
		var pe *Error
		if !errors.Is(err, ErrEnforcementUnavailable) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "enforce") {
			t.Fatalf("protect without BPF LSM: %v", err)
		}
		if err := m.Unprotect(rule); !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("unprotect: %v", err)
		}
	}
	var recs []*Event
	m.Dispatch(0, func(*Event) {})
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sleeper.Wait()
	keep := func(ev *Event) { recs = append(recs, ev) }
	pump(t, m, keep, func() bool { return len(recs) > 0 })
	m.Dispatch(50, keep)
	if len(recs) != 1 {
		t.Fatalf("%d access events", len(recs))
	}
	ev := recs[0]
	if ev.Type != ProcessAccess || ev.Pid != os.Getpid() || ev.TargetPid != pid || ev.Signal != int(syscall.SIGTERM) ||
		ev.Access != AccessTerminate || ev.AccessResult != 0 || AccessOpName(ev.AccessOp) != "kill" {
		t.Fatalf("%+v", ev)
	}
}

// startGate: a started gate asking only about our children's execs of dir's programs.
func startGate(t *testing.T, dir string, opts GateOptions, handler GateHandler) *Gate {
	if opts.TimeoutMs == 0 {
		opts.TimeoutMs = 3000
	}
	opts.Rules = append(opts.Rules, fmt.Sprintf("gate by-pid %d children", os.Getpid()))
	g, err := NewGate(opts, func(req *ExecRequest) Verdict {
		if !strings.HasPrefix(req.Image(), dir+"/") {
			return Allow
		}
		return handler(req)
	})
	started(t, g, err)
	return g
}

// execErr runs path through env(1): Go starts children with CLONE_VM|CLONE_VFORK,
// and the gate answers such children of its own process as its own exec, at
// once (issue 11). env has its own memory by the time it execs path, so the
// gate judges that exec; env reports the exec's errno on stderr.
func execErr(path string) error {
	cmd := exec.Command("/usr/bin/env", path, "x")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err == nil {
		return nil
	}
	for msg, errno := range map[string]syscall.Errno{
		"Operation not permitted":          syscall.EPERM,
		"Resource temporarily unavailable": syscall.EAGAIN,
		"Permission denied":                syscall.EACCES,
	} {
		if strings.Contains(stderr.String(), msg) {
			return &os.PathError{Op: "exec", Path: path, Err: errno}
		}
	}
	return err
}

// checkImageFile: the request's File is the image (its bytes hash to
// SHA256(), and are /bin/true's: the program is a copy), Flags says argv was
// captured whole.
func checkImageFile(req *ExecRequest) error {
	f, err := req.File()
	if err != nil {
		return err
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	want, _ := os.ReadFile("/bin/true")
	sum, err := req.SHA256()
	if err != nil || sha256.Sum256(got) != sum || !bytes.Equal(got, want) || f.Name() != req.Image() {
		return fmt.Errorf("image file %s: %d bytes, sha256 %x vs %x (%v)", f.Name(), len(got), sha256.Sum256(got), sum, err)
	}
	if fl := req.Flags(); fl&(ExecArgsTruncated|ExecNoArgs) != 0 {
		return fmt.Errorf("flags %#x for a short argv", fl)
	}
	return nil
}

func TestGateHandlerAndDecisions(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	denied, allowed := program(t, dir, "deny"), program(t, dir, "allow")
	var mu sync.Mutex
	var seen [][]string
	var decisions []string
	var fileErr error = errors.New("handler not called")
	g := startGate(t, dir, GateOptions{DecisionFilter: RecordDenied, KillOnMissedDeadline: 5, OnDecision: func(d *Decision) {
		if strings.HasPrefix(d.Image, dir) {
			mu.Lock()
			decisions = append(decisions, fmt.Sprintf("%s %s %d", filepath.Base(d.Image), d.Reason, d.Verdict))
			mu.Unlock()
		}
	}}, func(req *ExecRequest) Verdict {
		mu.Lock()
		seen = append(seen, req.Args())
		mu.Unlock()
		if req.ParentPid != os.Getpid() || req.Token == nil || req.Token.UID != 0 {
			return Deny
		}
		if req.Image() == denied {
			mu.Lock()
			fileErr = checkImageFile(req)
			mu.Unlock()
			return Deny // the return value is the verdict
		}
		if ok, err := req.Allow(); !ok || err != nil {
			panic("allow")
		}
		if ok, err := req.Allow(); ok || err != nil { // answered already: false, no error
			panic("second allow")
		}
		return NoVerdict
	})
	if err := execErr(denied); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("denied: %v", err)
	}
	if err := execErr(allowed); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if st, err := g.Stats(); err != nil || st.GuardianPid <= 0 || syscall.Kill(st.GuardianPid, 0) != nil {
		t.Fatalf("guardian of a running gate: %+v %v", st, err)
	}
	g.Stop() // joins the decision thread
	if !reflect.DeepEqual(seen, [][]string{{denied, "x"}, {allowed, "x"}}) {
		t.Fatalf("seen %q", seen)
	}
	if fileErr != nil {
		t.Fatal(fileErr)
	}
	// DecisionFilter reached the library: the allow made no record
	if !reflect.DeepEqual(decisions, []string{"deny handler 2"}) {
		t.Fatalf("decisions %q", decisions)
	}
	st, _ := g.Stats()
	if st.ByHandler < 2 || st.Denied < 1 || st.GuardianPid != 0 || st.GuardianVerdicts+st.GuardianKills != 0 {
		t.Fatalf("%+v", st)
	}
	if err := execErr(denied); err != nil {
		t.Fatalf("after stop: %v", err) // a stopped gate leaves nothing behind
	}
}

func TestGateDeferCacheFailures(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	deferred, cached, failing := program(t, dir, "defer"), program(t, dir, "cached"), program(t, dir, "fail")
	queue := make(chan *ExecRequest, 4)
	var cachedCalls int32
	var mu sync.Mutex
	var failures []error
	g := startGate(t, dir, GateOptions{
		ErrorVerdict: Deny,
		OnError: func(req *ExecRequest, err error) {
			mu.Lock()
			failures = append(failures, err)
			mu.Unlock()
		},
	}, func(req *ExecRequest) Verdict {
		switch req.Image() {
		case deferred:
			if err := req.Defer(); err != nil {
				panic(err)
			}
			queue <- req
		case cached:
			atomic.AddInt32(&cachedCalls, 1)
			req.AllowCached()
		case failing:
			panic("oops")
		default:
			return Allow
		}
		return NoVerdict
	})
	// answered by another goroutine, after the handler returned
	answered := make(chan error, 1)
	go func() {
		select {
		case req := <-queue:
			if ok, err := req.Extend(2000); !ok || err != nil {
				answered <- fmt.Errorf("extend: %v %v", ok, err)
				return
			}
			ok, err := req.Deny(syscall.EPERM)
			if !ok || err != nil {
				answered <- fmt.Errorf("deny: %v %v", ok, err)
				return
			}
			if ok, _ := req.Allow(); ok {
				answered <- errors.New("a released request answered twice")
				return
			}
			answered <- nil
		case <-time.After(10 * time.Second):
			answered <- errors.New("no deferred request")
		}
	}()
	if err := execErr(deferred); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("deferred: %v", err)
	}
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := execErr(cached); err != nil {
			t.Fatal(err)
		}
	}
	if n := atomic.LoadInt32(&cachedCalls); n != 1 {
		t.Fatalf("cached: handler called %d times", n) // the kernel stopped asking
	}
	if err := execErr(failing); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("failing: %v", err) // ErrorVerdict
	}
	mu.Lock()
	var hp *HandlerPanic
	if len(failures) != 1 || !errors.As(failures[0], &hp) || hp.Value != "oops" {
		t.Fatalf("failures %v", failures)
	}
	mu.Unlock()
	st, _ := g.Stats()
	if st.CacheEntries < 1 || st.HandlerErrors < 1 {
		t.Fatalf("%+v", st)
	}
	g.Close()

	// a deferred request outliving its gate: the stop answers it, its verdict is false
	held := program(t, dir, "held")
	g2 := startGate(t, dir, GateOptions{TimeoutVerdict: Deny}, func(req *ExecRequest) Verdict {
		req.Defer()
		queue <- req
		return NoVerdict
	})
	result := make(chan error, 1)
	go func() { result <- execErr(held) }()
	var kept *ExecRequest
	select {
	case kept = <-queue:
	case <-time.After(10 * time.Second):
		t.Fatal("no deferred request")
	}
	g2.Close() // stop: TimeoutVerdict (deny) for what is pending
	if err := <-result; !errors.Is(err, syscall.EPERM) {
		t.Fatalf("held: %v", err)
	}
	if ok, err := kept.Allow(); ok || err != nil {
		t.Fatalf("after close: %v %v", ok, err)
	}
}

// gatingProcess is the gating process of TestGateKillOnMissedDeadline: this
// test binary run again with PW_GO_GATE_PARENT set (TestMain). It gates the
// parent's children, defers the held program's exec without answering, and
// prints "ready", then "held".
func gatingProcess(parent string) {
	syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0) // never outlives the test
	held := os.Getenv("PW_GO_HELD")
	var mu sync.Mutex
	var kept []*ExecRequest
	g, err := NewGate(GateOptions{TimeoutMs: 300, TimeoutVerdict: Allow, KillOnMissedDeadline: 1,
		Rules: []string{"gate by-pid " + parent + " children"}}, func(req *ExecRequest) Verdict {
		if req.Image() != held {
			return Allow
		}
		if err := req.Defer(); err != nil {
			panic(err)
		}
		mu.Lock()
		kept = append(kept, req) // read, never answered
		mu.Unlock()
		fmt.Println("held")
		return NoVerdict
	})
	if err == nil {
		err = g.Start()
	}
	if err != nil {
		fmt.Println("unavailable", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	select {}
}

// TestGateKillOnMissedDeadline: KillOnMissedDeadline reaches the library. A
// gating process stopped with a request in hand misses its deadline; the
// guardian answers the exec (TimeoutVerdict allow) and SIGKILLs it.
func TestGateKillOnMissedDeadline(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	held := program(t, dir, "held")
	gating := exec.Command(os.Args[0])
	gating.Env = append(os.Environ(), "PW_GO_GATE_PARENT="+strconv.Itoa(os.Getpid()), "PW_GO_HELD="+held)
	out, err := gating.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := gating.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan *os.ProcessState, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		st, _ := gating.Process.Wait()
		exited <- st
	}()
	defer gating.Process.Kill() // by pid: frees any exec it holds
	waitLine := func(want string) string {
		deadline := time.After(10 * time.Second)
		for {
			select {
			case l := <-lines:
				if l == want || strings.HasPrefix(l, "unavailable") {
					return l
				}
			case <-deadline:
				return ""
			}
		}
	}
	if l := waitLine("ready"); l != "ready" {
		if strings.HasPrefix(l, "unavailable") {
			t.Skip(l)
		}
		t.Fatalf("the gating process did not start: %q", l)
	}
	ran := make(chan error, 1)
	go func() { ran <- execErr(held) }() // waits for a verdict
	if l := waitLine("held"); l != "held" {
		t.Fatalf("no held request: %q", l)
	}
	if err := syscall.Kill(gating.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-exited:
		if ws, ok := st.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("gating process: %v", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the guardian did not kill the stopped gate")
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("held exec: %v (want the guardian's allow)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("held exec not answered")
	}
}

// ---------------------------------------------------------------- sampler

// spin starts a busy loop the test owns (sh's `while :`), at nice -10 (the
// machine is shared: give it its CPU); it is killed and reaped at cleanup.
func spin(t *testing.T) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", "while :; do :; done")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, -10)
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

// schedstat is the ns pid has run, all threads (/proc/PID/schedstat).
func schedstat(t *testing.T, pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		t.Fatal(err)
	}
	ns, err := strconv.ParseUint(strings.Fields(string(b))[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func mustSample(t *testing.T, s *Sampler) *Sample {
	smp, err := s.Sample()
	if err != nil {
		t.Fatal(err)
	}
	return smp
}

func runFor(t *testing.T, s *Sampler, d time.Duration) {
	if err := s.RunFor(d); err != nil {
		t.Fatal(err)
	}
}

// A busy child's delta over 500 ms is what the kernel says it ran: each
// walk lies between two schedstat reads, so the delta is bracketed exactly.
// Its share is at most 100% of a CPU (+5: the walk and the interval's clock
// are read a moment apart) and at least a tenth: on a shared machine a
// neighbour's steal time takes what nice -10 cannot keep (the C suite's
// floor). Its exit is in the next sample, once.
func TestSamplerBusyChild(t *testing.T) {
	needRoot(t)
	s, err := NewSampler(SamplerOptions{})
	started(t, s, err)
	cmd := spin(t)
	pid := cmd.Process.Pid
	runFor(t, s, 100*time.Millisecond)
	before0 := schedstat(t, pid)
	mustSample(t, s)
	before1 := schedstat(t, pid)
	runFor(t, s, 500*time.Millisecond)
	after0 := schedstat(t, pid)
	smp := mustSample(t, s)
	after1 := schedstat(t, pid)
	u := smp.Find(pid, false)
	if u == nil {
		t.Fatalf("pid %d not in the sample (%d processes)", pid, len(smp.Processes))
	}
	t.Logf("spin: %.1f%% of a CPU over %.1f ms; %d tasks walked in %.3f ms", u.CPUPercent,
		float64(smp.IntervalNs)/1e6, smp.Tasks, float64(smp.CostNs)/1e6)
	if u.CPUPercent < 10 || u.CPUPercent > 105 {
		t.Errorf("CPU %.1f%%, want 10..105%%", u.CPUPercent)
	}
	if u.CPUDeltaNs < after0-before1 || u.CPUDeltaNs > after1-before0 {
		t.Errorf("delta %d ns, schedstat %d..%d ns", u.CPUDeltaNs, after0-before1, after1-before0)
	}
	if u.Name != "sh" || u.Threads != 1 || u.State != 'R' || u.Exited || u.Started || u.RSSBytes == 0 ||
		u.UserNs+u.SystemNs != u.CPUNs || u.PPid != os.Getpid() || u.UID != uint32(os.Getuid()) {
		t.Errorf("usage %+v", *u)
	}
	if strings.Join(u.Args, " ") != "/bin/sh -c while :; do :; done" {
		t.Errorf("args %q", u.Args)
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	runFor(t, s, 50*time.Millisecond)
	smp = mustSample(t, s)
	x := smp.Find(pid, true)
	if smp.Find(pid, false) != nil || x == nil {
		t.Fatalf("exited pid %d: live %v, exited %v", pid, smp.Find(pid, false), x)
	}
	ws := syscall.WaitStatus(x.ExitStatus)
	if x.State != 'X' || !ws.Signaled() || ws.Signal() != syscall.SIGKILL ||
		x.CPUNs < after1*8/10 { // its life from tick-sampled user + system time: most of what schedstat saw
		t.Errorf("exited %+v", *x)
	}
	if mustSample(t, s).Find(pid, true) != nil {
		t.Error("exit listed twice")
	}
}

// "cpu > 10% for 400ms pid N" (10%: what a busy loop at nice -10 gets even
// on a loaded shared machine): running 1.2 s, one alert; stopped 1.2 s,
// none more (re-armed); running again, exactly one more. Each is an Event
// with the process's identity and token. Run stops on its context.
func TestSamplerAlertOncePerCrossing(t *testing.T) {
	needRoot(t)
	var alerts []*Event
	exits := 0
	pid := 0
	s, err := NewSampler(SamplerOptions{
		Alerts: []string{"threads > 3 name pw-nothing-here"}, // matches no process: index 0
		OnEvent: func(ev *Event) {
			switch {
			case ev.Type == ProcessExit && ev.Rusage != nil:
				exits++
			case ev.Type == ResourceAlert && ev.Pid == pid:
				alerts = append(alerts, ev)
			}
		},
	})
	started(t, s, err)
	cmd := spin(t)
	pid = cmd.Process.Pid
	idx, err := s.AddAlertText(fmt.Sprintf("cpu > 10%% for 400ms pid %d", pid))
	if err != nil || idx != 1 {
		t.Fatal(idx, err)
	}
	for phase := 0; phase < 3; phase++ {
		switch phase {
		case 1:
			_ = cmd.Process.Signal(syscall.SIGSTOP)
		case 2:
			_ = cmd.Process.Signal(syscall.SIGCONT)
		}
		ctx, cancel := context.WithCancel(context.Background())
		n := 0
		if err := s.Run(ctx, 200*time.Millisecond, func(*Sample) {
			if n++; n == 6 { // 6 x 200 ms
				cancel()
			}
		}); err != nil {
			t.Fatal(err)
		}
		cancel()
		want := 1
		if phase == 2 {
			want = 2
		}
		if len(alerts) != want {
			t.Fatalf("phase %d: %d alerts, want %d", phase, len(alerts), want)
		}
	}
	for _, a := range alerts {
		if a.AlertRule != idx || a.AlertKind != AlertCPU || a.AlertValue <= 10 || a.AlertValue > 105 ||
			a.AlertThreshold != 10 || a.Name != "sh" || a.Key.Pid != pid || a.Token == nil ||
			a.Token.UID != uint32(os.Getuid()) || a.Type.String() != "resource_alert" {
			t.Errorf("alert %+v", *a)
		}
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	for i := 0; i < 50 && exits == 0; i++ {
		if _, err := s.Dispatch(100); err != nil {
			t.Fatal(err)
		}
	}
	if exits == 0 {
		t.Error("no exit event with its resource use")
	}
}

// A panic in OnEvent comes out of Sample; bad rules are errors.
func TestSamplerPanicAndRules(t *testing.T) {
	for _, bad := range []string{"", "cpu 90%", "cpu > lots", "disk > 1G", "rss > 2GiB pid x"} {
		if _, err := ParseAlertRule(bad); !errors.Is(err, ErrRuleSyntax) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	r, err := ParseAlertRule("rss > 2GiB name worker")
	if err != nil || r != (AlertRule{Kind: AlertRSS, Threshold: 2 << 30, Name: "worker"}) {
		t.Errorf("%+v %v", r, err)
	}
	if _, err := NewSampler(SamplerOptions{Alerts: []string{"cpu > x"}}); !errors.Is(err, ErrRuleSyntax) {
		t.Errorf("NewSampler with a bad rule: %v", err)
	}
	needRoot(t)
	pid := 0
	s, err := NewSampler(SamplerOptions{OnEvent: func(ev *Event) {
		if ev.Type == ResourceAlert && ev.Pid == pid {
			panic("from the handler")
		}
	}})
	started(t, s, err)
	pid = spin(t).Process.Pid
	if _, err := s.AddAlert(AlertRule{Kind: AlertCPU, Threshold: 10, Pid: pid}); err != nil {
		t.Fatal(err)
	}
	var got interface{}
	for i := 0; i < 10 && got == nil; i++ {
		runFor(t, s, 100*time.Millisecond)
		func() {
			defer func() { got = recover() }()
			_, _ = s.Sample()
		}()
	}
	if got != "from the handler" {
		t.Errorf("recovered %v", got)
	}
	s.Close()
	if _, err := s.Sample(); !errors.Is(err, syscall.EBADF) {
		t.Errorf("closed: %v", err)
	}
}
