"""Helpers shared by the bench/ runners (run.py, buildbench.py,
gate_latency.py, maxrate.py): logging, /proc process accounting, stopping
processes we started, the cleanup journal, fapolicyd's configuration swap
and restore, and report formatting.

Python 3 standard library only.
"""

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
FAPO_DIR = "/etc/fapolicyd"


class Skip(Exception):
    """A configuration cannot run here; the message says why."""


def log(msg):
    print(msg, flush=True)


def which(name, path=None):
    """An executable by path, or on PATH plus /usr/sbin:/sbin."""
    if os.path.sep in name:
        return name if os.access(name, os.X_OK) else None
    if path is None:
        path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return shutil.which(name, path=path)


def sh(cmd, check=True, timeout=60, stdin=None):
    return subprocess.run(cmd, check=check, timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=stdin)


# --------------------------------------------------------------------------
# Process accounting
# --------------------------------------------------------------------------
def _threads_ns(pid, tids):
    total = 0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def threads_cpu_ns(pid):
    """On-CPU ns of all live threads of pid."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    return _threads_ns(pid, tids)


def task_cpu_ns(pid):
    """On-CPU ns of all live threads of pid, plus its reaped children."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    total = _threads_ns(pid, tids)
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # cutime, cstime (fields 16, 17; index 13, 14 after the comm)
        hz = os.sysconf("SC_CLK_TCK")
        total += (int(fields[13]) + int(fields[14])) * 1_000_000_000 // hz
    except (OSError, ValueError, IndexError):
        pass
    return total


def wait_quiet(cpu, limit=10.0):
    """Wait until cpu() (a monitor's CPU ns) stops growing: < 2 ms of CPU in
    150 ms (start-up work or backlog done). Returns (cpu ns, seconds waited)."""
    t0 = time.time()
    last = cpu()
    while time.time() - t0 < limit:
        time.sleep(0.15)
        now = cpu()
        if now - last < 2_000_000:  # < 2 ms of CPU in 150 ms
            return now, time.time() - t0
        last = now
    return cpu(), time.time() - t0


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


def pid_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def find_pid_by_comm(comm, alive_only=False):
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/comm" % d) as f:
                    if f.read().strip() == comm and (not alive_only or pid_alive(int(d))):
                        return int(d)
            except OSError:
                pass
    return None


def has_fanotify_marks(pid):
    try:
        for fd in os.listdir("/proc/%d/fdinfo" % pid):
            try:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                    text = f.read()
                if "fanotify mnt_id" in text or "fanotify sdev" in text or "fanotify ino" in text:
                    return True
            except OSError:
                pass
    except OSError:
        pass
    return False


def kill_pid(pid, sig=signal.SIGTERM, starttime=None, wait=10.0, popen=None):
    """Stop one process we started (by pid, checking it is still the same
    process): sig, then SIGTERM, then SIGKILL."""
    if starttime is not None and pid_starttime(pid) not in (None, starttime):
        return  # pid reused by someone else: not ours
    for s, w in ((sig, wait), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        if not pid_alive(pid):
            break
        try:
            os.kill(pid, s)
        except ProcessLookupError:
            break
        deadline = time.time() + w
        while time.time() < deadline:
            if popen is not None and popen.poll() is not None:
                break
            if not pid_alive(pid):
                break
            time.sleep(0.05)
    if popen is not None:
        try:
            popen.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass


class ChildMonitor:
    """What the benchmarks' monitors share when they run as our child: stdout
    and stderr in files, a session of its own, its pid in the journal (so a
    killed run still stops it), stopped with a signal (kill_pid's escalation)."""

    def __init__(self):
        self.proc = None  # the Popen, while it runs
        self.pid = None
        self.out = None  # its output file; stderr goes to out + ".stderr"

    def _spawn(self, argv, stdout_path, journal, stop_sig, **popen_kw):
        self._stdout = open(stdout_path, "w")
        self._stderr = open(self.out + ".stderr", "w")
        self.proc = subprocess.Popen(argv, stdout=self._stdout, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL, start_new_session=True, **popen_kw)
        self.pid = self.proc.pid
        journal.add_pid(self.pid, stop_sig)

    def _err(self):
        """The end of what it wrote to stderr."""
        try:
            with open(self.out + ".stderr") as f:
                return f.read().strip()[-300:]
        except OSError:
            return ""

    def _check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError("monitor exited (rc %s): %s" % (self.proc.returncode, self._err()))

    def _stop_child(self, journal, sig):
        """Stop it with sig; its exit status (None if it was not running)."""
        if self.proc is None:
            return None
        kill_pid(self.pid, sig, popen=self.proc)
        journal.drop("pid:%d" % self.pid)
        self._stdout.close()
        self._stderr.close()
        rc = self.proc.returncode
        self.proc = None
        return rc


def finish_or_killpg(p, timeout, communicate=False):
    """p.communicate() (or p.wait()) within timeout; on a timeout or an
    interrupt, SIGKILL p's process group (p runs in its own session), reap
    it and re-raise."""
    try:
        return p.communicate(timeout=timeout) if communicate else p.wait(timeout=timeout)
    except BaseException:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if communicate:
            p.communicate()
        else:
            p.wait()
        raise


def require(prog, why, binaries):
    """Exit unless root and every binary is built."""
    if os.geteuid() != 0:
        sys.exit("%s: run as root (%s)" % (prog, why))
    for b in binaries:
        if not os.access(b, os.X_OK):
            sys.exit("%s: %s missing: make -C bench" % (prog, b))


def interrupt_on(signals, with_signal_number=True):
    """Turn these signals into KeyboardInterrupt (so that finally: runs)."""
    def on_signal(sig, frame):
        if with_signal_number:
            raise KeyboardInterrupt("signal %d" % sig)
        raise KeyboardInterrupt
    for s in signals:
        signal.signal(s, on_signal)


def rotate(items, rnd):
    """items rotated by rnd places: the interleaving order of round rnd."""
    k = len(items)
    return [items[(i + rnd) % k] for i in range(k)] if k else []


# --------------------------------------------------------------------------
# Cleanup journal: everything a runner must undo, on disk so that
# `--cleanup-only` repairs after a SIGKILL
# --------------------------------------------------------------------------
class Journal:
    def __init__(self, path):
        self.path = path
        self.state = {}

    def load(self):
        try:
            with open(self.path) as f:
                self.state = json.load(f)
        except (OSError, ValueError):
            self.state = {}

    def save(self):
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1)
        os.replace(tmp, self.path)

    def set(self, key, value):
        self.state[key] = value
        self.save()

    def drop(self, key):
        if key in self.state:
            del self.state[key]
            self.save()

    def add_pid(self, pid, sig, starttime=None):
        """Journal a process we started (stopped by cleanup with sig)."""
        if starttime is None:
            starttime = pid_starttime(pid)
        self.set("pid:%d" % pid, {"pid": pid, "sig": int(sig), "starttime": starttime})

    def stop_pids(self):
        """Stop every journaled process (checking its start time)."""
        for key in sorted(k for k in self.state if k.startswith("pid:")):
            info = self.state[key]
            kill_pid(info["pid"], signal.Signals(info.get("sig", signal.SIGTERM)),
                     info.get("starttime"), wait=5.0)
            self.drop(key)

    def restore_fapolicyd(self, state_paths):
        if "fapolicyd" in self.state:
            restore_fapolicyd(self.state["fapolicyd"], state_paths)
            self.drop("fapolicyd")

    def remove_if_empty(self):
        if os.path.exists(self.path) and not self.state:
            os.unlink(self.path)

    def startup(self, cleanup, cleanup_only):
        """Load; undo what an interrupted run left. True: --cleanup-only done."""
        self.load()
        if cleanup_only:
            cleanup()
            log("cleanup done")
            return True
        if self.state:
            log("an earlier run was interrupted; undoing what it left: %s" % sorted(self.state))
            cleanup()
        return False


def final_cleanup(cleanup, ignore=(signal.SIGINT, signal.SIGTERM)):
    """Ignore further signals, then undo everything."""
    for s in ignore:
        signal.signal(s, signal.SIG_IGN)
    cleanup()


# --------------------------------------------------------------------------
# fapolicyd: configuration swapped in for a run, restored after
# --------------------------------------------------------------------------
def restore_fapolicyd(saved, state_paths):
    backup = saved["backup"]
    if os.path.isdir(backup):
        if os.path.isdir(FAPO_DIR):
            shutil.rmtree(FAPO_DIR)
        shutil.copytree(backup, FAPO_DIR, symlinks=True)
        shutil.copystat(backup, FAPO_DIR)
        shutil.rmtree(backup)
    # Remove the state files that fapolicyd created and were not there before.
    before = set(saved.get("existing", []))
    for p in state_paths:
        paths = [p]
        if os.path.isdir(p):
            paths = [os.path.join(p, x) for x in os.listdir(p)]
        for q in paths:
            if q not in before and os.path.lexists(q) and not os.path.isdir(q):
                os.unlink(q)


def fapolicyd_check(which_fn):
    if not which_fn("fagenrules"):
        raise Skip("fagenrules not found")
    if not os.path.exists(os.path.join(FAPO_DIR, "fapolicyd.conf")):
        raise Skip("%s/fapolicyd.conf missing" % FAPO_DIR)
    if find_pid_by_comm("fapolicyd"):
        raise Skip("fapolicyd already running; not touching it")


def start_fapolicyd(journal, backup, state_paths, which_fn, sh_fn,
                    copystat=False, alive_only=False):
    """Back up /etc/fapolicyd (journaled with the state files already there),
    set permissive, trust = file, uid/gid root, start fapolicyd --permissive
    and journal its pid. Returns (pid, starttime)."""
    if os.path.exists(backup):
        shutil.rmtree(backup)
    shutil.copytree(FAPO_DIR, backup, symlinks=True)
    if copystat:
        shutil.copystat(FAPO_DIR, backup)
    existing = []
    for p in state_paths:
        if os.path.isdir(p):
            existing += [os.path.join(p, x) for x in os.listdir(p)]
        elif os.path.lexists(p):
            existing.append(p)
    journal.set("fapolicyd", {"backup": backup, "existing": existing})
    conf = os.path.join(FAPO_DIR, "fapolicyd.conf")
    with open(conf) as f:
        text = f.read()
    for key, val in (("permissive", "1"), ("trust", "file"), ("uid", "root"), ("gid", "root")):
        text, n = re.subn(r"(?m)^\s*%s\s*=.*$" % key, "%s = %s" % (key, val), text)
        if n == 0:
            text += "%s = %s\n" % (key, val)
    with open(conf, "w") as f:
        f.write(text)
    sh_fn([which_fn("fagenrules"), "--load"], check=False)
    r = sh_fn([which_fn("fapolicyd"), "--permissive"], check=False)  # daemonizes
    pid = None
    deadline = time.time() + 15
    while time.time() < deadline and not pid:
        pid = find_pid_by_comm("fapolicyd", alive_only=alive_only)
        time.sleep(0.05)
    if not pid:
        raise RuntimeError("fapolicyd did not start: %s" % r.stderr.strip()[-300:])
    starttime = pid_starttime(pid)
    journal.add_pid(pid, signal.SIGTERM, starttime)
    return pid, starttime


def stop_fapolicyd(journal, pid, state_paths, starttime=None):
    """SIGTERM fapolicyd (by pid), then restore its configuration and state."""
    if pid:
        kill_pid(pid, signal.SIGTERM, starttime=starttime, wait=15.0)
        journal.drop("pid:%d" % pid)
    journal.restore_fapolicyd(state_paths)


# --------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------
def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def med(xs):
    """Median of the values that are not None (None if there are none)."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_ratio(rs, digits=2):
    if not rs:
        return "-"
    return "%.*fx (%.*f-%.*f)" % (digits, statistics.median(rs), digits, min(rs), digits, max(rs))


def pct(xs, p):
    s = sorted(xs)
    i = int(round(p / 100.0 * (len(s) - 1)))
    return s[min(i, len(s) - 1)]


def write_results(raw, table, outdir, json_path=""):
    """raw results as JSON (json_path or outdir/results.json), the table as
    outdir/results.md; logs where."""
    path = json_path or os.path.join(outdir, "results.json")
    with open(path, "w") as f:
        json.dump(raw, f, indent=1)
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(table) + "\n")
    log("")
    log("raw results: %s" % path)


def emit_markdown(md, md_path=None, json_path=None, rows=None):
    """Print a Markdown report; also write it to md_path and rows to json_path."""
    print()
    print(md)
    if md_path:
        with open(md_path, "w") as f:
            f.write(md)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(rows, f, indent=1)
