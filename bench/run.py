#!/usr/bin/env python3
"""procward benchmark runner: procward and its peers in the same run.

For every workload (a storm of pw-bench-load, pinned to CPU 0) and every
round, the runner interleaves the baseline with each monitor:

    baseline, A, baseline, B, baseline, C, ..., baseline

(the order of A, B, C rotates each round). A monitor's ratio in a round is its
elapsed time over the mean of the two baselines around it; the report gives
the median ratio with min and max over the rounds. Since wall clock drifts on
VMs, it also reports costs per operation that drift barely touches:

  * bpf ns/op: run_time_ns of the BPF programs the monitor loaded (the ids that
    appeared when it started; kernel.bpf_stats_enabled=1), over the storm;
  * mon us/op: on-CPU time of the monitor process (sum of its threads'
    /proc/PID/task/TID/schedstat, plus reaped children), over the storm and
    its drain, per operation (= ms per 1,000 operations);
  * events captured vs generated, where the monitor's output can be counted.

Adding a configuration is one line in CONFIGS below. A configuration whose
binary is missing is reported as "skipped: <reason>".

The runner leaves the machine as it found it: monitors are stopped on exit,
Ctrl-C or exception; audit rules are removed; fapolicyd's configuration and
state files are restored; bpf_stats_enabled is restored; tracefs is unmounted
if the runner mounted it. What must be undone is also journaled in
build/cleanup.json, so `run.py --cleanup-only` repairs after a SIGKILL.

Python 3 standard library only. Run as root.
"""

import argparse
import atexit
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BUILD, HERE, ChildMonitor, Journal, Skip, final_cleanup, finish_or_killpg,  # noqa: E402
                      fapolicyd_check, find_pid_by_comm, fmt_ratio, has_fanotify_marks,
                      interrupt_on, loadavg, log, med, pid_alive,
                      rotate, sh, start_fapolicyd, stop_fapolicyd, task_cpu_ns, wait_quiet,
                      which, write_results)

ROOT = os.path.dirname(HERE)
LOAD = os.path.join(BUILD, "pw-bench-load")
# Copy of /bin/true named pw-bench-load: every process of a storm has that comm.
TRUE_COPY = os.path.join(BUILD, "true", "pw-bench-load")
FANOTIFY_BIN = os.path.join(BUILD, "pw-bench-fanotify")
PROCWARD = os.environ.get("PROCWARD", os.path.join(ROOT, "build", "procward"))
# Another procward binary to measure in the same run (e.g. a build of main): the *-base configs.
PROCWARD_BASE = os.environ.get("PROCWARD_BASE", "")
JOURNAL = os.path.join(BUILD, "cleanup.json")
KEEP_OUTPUT = False  # --keep-output
COMM = "pw-bench-load"
TRACEFS = "/sys/kernel/tracing"
BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"
FAPO_STATE_PATHS = ["/var/lib/fapolicyd", "/var/log/fapolicyd-access.log",
                    "/run/fapolicyd.pid", "/var/run/fapolicyd.state"]


# --------------------------------------------------------------------------
# Workloads: name -> (mode, N, N in smoke, parallel workers, CPU list)
# --------------------------------------------------------------------------
WORKLOADS = [
    # name          mode        N      smoke  P  cpus
    ("spawn",       "spawn",    3000,  200,   1, "0"),
    ("forkexec",    "forkexec", 3000,  200,   1, "0"),
    ("spawn-par4",  "spawn",    4000,  200,   4, "0"),
    ("thread",      "thread",   30000, 2000,  1, "0"),
    ("fork",        "fork",     5000,  300,   1, "0"),
    ("access",      "access",   50000, 1000,  1, "0"),
]


def generated_events(mode, n, procs):
    """Events of each kind that a storm produces for processes named COMM,
    counting the workload's own exec and exit (and its workers)."""
    workers = procs if procs > 1 else 0
    g = {"exec": 1, "exit": 1 + workers, "fork": workers, "clone": 0}
    if mode in ("spawn", "forkexec"):
        g["exec"] += n
        g["exit"] += n
        g["fork"] += n
    elif mode == "fork":
        g["exit"] += n
        g["fork"] += n
    elif mode == "thread":
        g["clone"] += n
    return g


# --------------------------------------------------------------------------
# Process accounting
# --------------------------------------------------------------------------
def fd_prog_ids(pid):
    """BPF program ids held by pid's file descriptors (prog and link fds show
    'prog_id:' in their fdinfo): exact attribution even when someone else
    loads programs at the same time."""
    ids = set()
    try:
        fds = os.listdir("/proc/%d/fdinfo" % pid)
    except OSError:
        return ids
    for fd in fds:
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            pass
    return ids


# --------------------------------------------------------------------------
# BPF program statistics
# --------------------------------------------------------------------------
BPFTOOL = which("bpftool")


def bpf_progs():
    """{id: (run_time_ns, run_cnt)} of every loaded BPF program."""
    if not BPFTOOL:
        return {}
    try:
        out = sh([BPFTOOL, "-j", "prog", "show"], timeout=20).stdout
        progs = json.loads(out or "[]")
    except (subprocess.SubprocessError, ValueError, OSError):
        return {}
    return {p["id"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0)) for p in progs}


# --------------------------------------------------------------------------
# Cleanup journal: everything the runner must undo
# --------------------------------------------------------------------------
JOURNAL_STATE = Journal(JOURNAL)


def restore_audit(saved):
    auditctl = which("auditctl")
    if not auditctl:
        return
    sh([auditctl, "-D"], check=False)
    sh([auditctl, "-e", str(saved.get("enabled", 0))], check=False)


def cleanup_all():
    """Undo everything in the journal. Safe to call twice."""
    j = JOURNAL_STATE
    j.stop_pids()
    if "audit" in j.state:
        restore_audit(j.state["audit"])
        j.drop("audit")
    j.restore_fapolicyd(FAPO_STATE_PATHS)
    if "bpf_stats" in j.state:
        try:
            with open(BPF_STATS, "w") as f:
                f.write(str(j.state["bpf_stats"]))
        except OSError:
            pass
        j.drop("bpf_stats")
    if j.state.get("tracefs_mounted"):
        sh(["umount", TRACEFS], check=False)
        j.drop("tracefs_mounted")
    j.remove_if_empty()


# --------------------------------------------------------------------------
# Monitors
# --------------------------------------------------------------------------
class Monitor(ChildMonitor):
    """A monitor started as a child process writing to an output file.

    cmd may use {out} (output file), {build}, {procward}. ready: "bpf" (wait
    for new BPF programs), "fanotify" (wait for fanotify marks in its fds),
    or a number of seconds to sleep. stop_sig: how to ask it to finish
    (libbpf-tools and forkstat flush their output on SIGINT, not SIGTERM)."""

    def __init__(self, cmd, ready="bpf", stop_sig=signal.SIGINT, counter=None,
                 needs_tracefs=False, out_flag=None):
        super().__init__()
        self.cmd = cmd
        self.ready = ready
        self.stop_sig = stop_sig
        self.counter = counter
        self.needs_tracefs = needs_tracefs
        self.prog_ids = []

    def check(self):
        if "{procward_base}" in self.cmd[0] and not PROCWARD_BASE:
            raise Skip("PROCWARD_BASE not set")
        exe = self.cmd[0].format(build=BUILD, procward=PROCWARD, procward_base=PROCWARD_BASE)
        if not which(exe):
            raise Skip("%s not found" % exe)
        if self.needs_tracefs and not os.path.isdir(os.path.join(TRACEFS, "events")):
            raise Skip("tracefs not mounted at %s" % TRACEFS)

    def start(self, outfile):
        self.out = outfile
        before = set(bpf_progs())
        argv = [a.format(out=outfile, build=BUILD, procward=PROCWARD, procward_base=PROCWARD_BASE)
                for a in self.cmd]
        argv[0] = which(argv[0])
        uses_out = any("{out}" in a for a in self.cmd)
        self._spawn(argv, os.devnull if uses_out else outfile, JOURNAL_STATE, self.stop_sig)
        self._wait_ready(before)

    def _wait_ready(self, before):
        deadline = time.time() + 30
        if self.ready == "bpf":
            last, stable_since = None, None
            while time.time() < deadline:
                self._check_alive()
                ids = sorted(set(bpf_progs()) - before)
                if ids and ids == last:
                    if time.time() - stable_since > 0.4:
                        break
                else:
                    last, stable_since = ids, time.time()
                time.sleep(0.1)
            else:
                raise RuntimeError("no new BPF programs appeared within 30 s")
            mine = fd_prog_ids(self.pid)
            # Prefer the ids the monitor holds; else the new ones (best effort).
            self.prog_ids = sorted(mine & set(last)) or sorted(mine) or last
            time.sleep(0.3)  # attach follows load
        elif self.ready == "fanotify":
            while time.time() < deadline:
                self._check_alive()
                if has_fanotify_marks(self.pid):
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError("no fanotify mark within 30 s")
        else:
            time.sleep(float(self.ready))
            self._check_alive()
            self.prog_ids = sorted(fd_prog_ids(self.pid))

    def cpu_ns(self):
        return task_cpu_ns(self.pid)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self._stop_child(JOURNAL_STATE, self.stop_sig)

    def count(self):
        if self.counter is None or not self.out:
            return None
        try:
            return self.counter(self.out)
        except OSError:
            return None


class AuditRule(Monitor):
    """Kernel audit with an execve rule; no daemon. The 'monitor process' is
    the kauditd kernel thread."""

    RULE = ["-a", "always,exit", "-F", "arch=b64", "-S", "execve,execveat", "-k", "pwbench"]

    def __init__(self):
        super().__init__(["auditctl"], ready=0)

    def check(self):
        super().check()
        st = sh([which("auditctl"), "-s"], check=False)
        if st.returncode != 0:
            raise Skip("auditctl -s failed: %s" % st.stderr.strip())
        rules = sh([which("auditctl"), "-l"], check=False).stdout.strip()
        if rules and rules != "No rules":
            raise Skip("audit rules already loaded; not touching them")
        if find_pid_by_comm("auditd"):
            raise Skip("auditd is running; not touching its rules")

    def start(self, outfile):
        self.out = outfile
        auditctl = which("auditctl")
        st = sh([auditctl, "-s"]).stdout
        m = re.search(r"^enabled (\d+)", st, re.M)
        JOURNAL_STATE.set("audit", {"enabled": int(m.group(1)) if m else 0})
        sh([auditctl] + self.RULE)
        sh([auditctl, "-e", "1"])
        self.pid = find_pid_by_comm("kauditd")
        self.proc = None
        time.sleep(0.2)

    def cpu_ns(self):
        return task_cpu_ns(self.pid) if self.pid else 0

    def alive(self):
        return True

    def stop(self):
        if "audit" in JOURNAL_STATE.state:
            restore_audit(JOURNAL_STATE.state["audit"])
            JOURNAL_STATE.drop("audit")


class Fapolicyd(Monitor):
    """fapolicyd 1.1.x in permissive mode (root, trust = file). Configuration
    is swapped in for the run and restored after; the daemon is stopped with
    SIGTERM to its pid."""

    def __init__(self):
        super().__init__(["fapolicyd"], ready="fanotify", stop_sig=signal.SIGTERM)

    def check(self):
        super().check()
        fapolicyd_check(which)

    def start(self, outfile):
        self.out = outfile
        self.pid, _ = start_fapolicyd(JOURNAL_STATE, os.path.join(BUILD, "fapolicyd.etc.orig"),
                                      FAPO_STATE_PATHS, which, sh)
        self.proc = None
        self._wait_ready(set())

    def _check_alive(self):
        if not pid_alive(self.pid):
            raise RuntimeError("fapolicyd exited")

    def alive(self):
        return pid_alive(self.pid)

    def stop(self):
        stop_fapolicyd(JOURNAL_STATE, self.pid, FAPO_STATE_PATHS)
        self.pid = None


# --------------------------------------------------------------------------
# Output counters: file -> {event kind: count} for processes named COMM
# --------------------------------------------------------------------------
def count_column0(kind):
    """execsnoop / exitsnoop: one line per event, PCOMM first."""
    def counter(path):
        n = 0
        with open(path, errors="replace") as f:
            for line in f:
                if line.split(None, 1)[:1] == [COMM]:
                    n += 1
        return {kind: n}
    return counter


def count_forkstat(path):
    """forkstat: 'TIME EVENT PID INFO [DURATION] PROCESS'; fork/clone print a
    parent line then a child/thread line. An event is the storm's when the
    program of its process is COMM (or, for <unknown> names, when its pid
    was already seen as the storm's)."""
    counts = {"fork": 0, "exec": 0, "exit": 0, "clone": 0}
    # index of the process field after "TIME EVENT PID"
    proc_at = {"exec": 0, "exit": 2, "fork": 1, "clone": 1}
    ours = set()
    parent_ours = False
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4 or parts[1] not in counts:
                continue
            ev, pid, rest = parts[1], parts[2], parts[3:]
            procf = rest[proc_at[ev]] if len(rest) > proc_at[ev] else ""
            named = os.path.basename(procf) == COMM
            if ev in ("fork", "clone"):
                if rest[0] == "parent":
                    parent_ours = named or pid in ours
                    continue
                if rest[0] in ("child", "thread"):
                    if parent_ours or named:
                        ours.add(pid)
                        counts[ev] += 1
                    parent_ours = False
                continue
            if named or (pid in ours and procf == "<unknown>"):
                ours.add(pid)
                counts[ev] += 1
    return counts


def count_fanotify(path):
    """pw-bench-fanotify prints {"events": N} (every exec on the system,
    including each dynamic loader)."""
    with open(path) as f:
        for line in f:
            if line.startswith("{"):
                return {"exec-perm(all)": json.loads(line)["events"]}
    return {}


def count_procward(path):
    """procward watch --json: one JSON object per line; count by its type
    field the records whose process name is COMM."""
    counts = {}
    with open(path, errors="replace") as f:
        for line in f:
            if COMM not in line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict):
                continue
            if "name" in rec and rec["name"] != COMM:
                continue
            t = rec.get("type") or rec.get("event") or rec.get("kind") or "?"
            counts[str(t)] = counts.get(str(t), 0) + 1
    return counts


def count_gate_cli(path):
    """procward gate prints "N decisions: ..." on stderr at the end: every
    exec-open on the system (as fanotify-allow's count), so CPU per decision
    can be compared even while other processes exec."""
    try:
        with open(path + ".stderr", errors="replace") as f:
            m = re.search(r"(\d+) decisions", f.read())
    except OSError:
        return {}
    return {"decisions(all)": int(m.group(1))} if m else {}


# --------------------------------------------------------------------------
# Configurations: adding one is one line.
#   name: factory returning a Monitor (None for the baseline)
# --------------------------------------------------------------------------
def skipped(reason):
    def factory():
        raise Skip(reason)
    return factory


CONFIGS = [
    ("execsnoop",      lambda: Monitor(["execsnoop"], counter=count_column0("exec"), needs_tracefs=True)),
    ("exitsnoop",      lambda: Monitor(["exitsnoop"], counter=count_column0("exit"), needs_tracefs=True)),
    ("forkstat",       lambda: Monitor(["forkstat", "-e", "fork,exec,exit,clone"], ready=1.0, counter=count_forkstat)),
    ("audit-rule",     lambda: AuditRule()),
    ("fanotify-allow", lambda: Monitor(["{build}/pw-bench-fanotify"], ready="fanotify", stop_sig=signal.SIGTERM, counter=count_fanotify)),
    ("fapolicyd",      lambda: Fapolicyd()),
    ("procward-watch", lambda: Monitor(["{procward}", "watch", "--json", "--output", "{out}"], counter=count_procward)),
    ("procward-watch-noredact", lambda: Monitor(["{procward}", "watch", "--json", "--no-redact", "--output", "{out}"], counter=count_procward)),
    ("procward-watch-access", lambda: Monitor(["{procward}", "watch", "--events", "access", "--json", "--output", "{out}"], counter=count_procward)),
    ("procward-lib-null", lambda: Monitor(["{build}/pw-bench-null"])),
    ("procward-watch-exclude", lambda: Monitor(["{procward}", "watch", "--exclude-name", COMM, "--json", "--output", "{out}"], counter=count_procward)),
    ("procward-gate",  lambda: Monitor(["{build}/pw-bench-gate"], ready="fanotify", stop_sig=signal.SIGTERM)),
    ("procward-gate-cache", lambda: Monitor(["{build}/pw-bench-gate", "--cache"], ready="fanotify", stop_sig=signal.SIGTERM)),
    # The CLI: `procward gate` without rules, its default log (denials and anomalies) and --log all.
    ("procward-gate-cli", lambda: Monitor(["{procward}", "gate", "--json", "--output", "{out}"], ready="fanotify", stop_sig=signal.SIGTERM, counter=count_gate_cli)),
    ("procward-gate-cli-all", lambda: Monitor(["{procward}", "gate", "--log", "all", "--json", "--output", "{out}"], ready="fanotify", stop_sig=signal.SIGTERM, counter=count_gate_cli)),
    # The same commands of the PROCWARD_BASE binary (skipped unless set), for a before/after in one run.
    ("procward-watch-base", lambda: Monitor(["{procward_base}", "watch", "--json", "--output", "{out}"], counter=count_procward)),
    ("procward-gate-cli-base", lambda: Monitor(["{procward_base}", "gate", "--json", "--output", "{out}"], ready="fanotify", stop_sig=signal.SIGTERM, counter=count_gate_cli)),
]


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------
def run_storm(wl, n, timeout):
    name, mode, _, _, procs, cpus = wl
    argv = ["taskset", "-c", cpus, LOAD, mode, "-n", str(n), "-p", str(procs), "-x", TRUE_COPY]
    # Own session, so that on a timeout the workers go too (by its group id).
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    out, err = finish_or_killpg(p, timeout, communicate=True)
    if p.returncode != 0:
        raise RuntimeError("workload %s failed (rc %d): %s %s" %
                           (name, p.returncode, out.strip(), err.strip()))
    return json.loads(out.strip().splitlines()[-1])["elapsed_s"]


def storm_timeout(n):
    return max(60.0, n * 0.01)


def measure_tool(name, factory, wl, n, outdir, rnd):
    """Start the monitor, run the storm, collect its numbers, stop it."""
    mon = factory()
    mon.check()
    out = os.path.join(outdir, "%s.%s.r%d.out" % (wl[0], name, rnd))
    try:
        mon.start(out)
        wait_quiet(mon.cpu_ns)  # let it finish its start-up work before timing
        progs0 = bpf_progs()
        cpu0 = mon.cpu_ns()
        el = run_storm(wl, n, timeout=storm_timeout(n))
        cpu1, drain = wait_quiet(mon.cpu_ns)
        progs1 = bpf_progs()
        if not mon.alive():
            raise RuntimeError("monitor died during the storm")
    finally:
        mon.stop()
    bpf_ns = bpf_runs = None
    if mon.prog_ids:
        bpf_ns = sum(progs1.get(i, (0, 0))[0] - progs0.get(i, (0, 0))[0] for i in mon.prog_ids)
        bpf_runs = sum(progs1.get(i, (0, 0))[1] - progs0.get(i, (0, 0))[1] for i in mon.prog_ids)
    counts = mon.count()
    if not KEEP_OUTPUT:  # procward's JSON is ~1 KB per event: don't pile it up
        for f in (out, out + ".stderr"):
            if os.path.exists(f) and not (f.endswith(".stderr") and os.path.getsize(f)):
                os.unlink(f)
    return {"elapsed": el, "bpf_ns": bpf_ns, "bpf_runs": bpf_runs, "cpu_ns": cpu1 - cpu0,
            "drain_s": drain, "counts": counts, "nprogs": len(mon.prog_ids)}


def prepare(args):
    if os.geteuid() != 0:
        return "not root"
    # bpf_stats_enabled for per-program run_time_ns
    try:
        with open(BPF_STATS) as f:
            orig = int(f.read().strip())
        if orig != 1:
            JOURNAL_STATE.set("bpf_stats", orig)
            with open(BPF_STATS, "w") as f:
                f.write("1")
    except OSError as e:
        log("warning: cannot enable bpf stats: %s" % e)
    if not os.path.isdir(os.path.join(TRACEFS, "events")):
        r = sh(["mount", "-t", "tracefs", "nodev", TRACEFS], check=False)
        if r.returncode == 0:
            JOURNAL_STATE.set("tracefs_mounted", True)
        else:
            log("warning: cannot mount tracefs: %s" % r.stderr.strip())
    return None


def fmt_num(xs, scale=1.0, digits=1):
    m = med(xs)
    if m is None:
        return "-"
    return "%.*f" % (digits, m * scale)


def summarize(results, configs, workloads, nops):
    """Markdown table per workload."""
    lines = []
    for wl in workloads:
        w = wl[0]
        r = results[w]
        base = r["baseline"]
        n = nops[w]
        gen = generated_events(wl[1], n, wl[4])
        lines.append("")
        lines.append("### %s: %s x%d, %d worker(s), CPU %s; baseline median %.3f s (%.3f-%.3f)" %
                     (w, wl[1], n, wl[4], wl[5], statistics.median(base), min(base), max(base)))
        if not any(r.get(name) is not None for name, _ in configs) or \
                all(r.get(name) is None or "skipped" in r[name] for name, _ in configs) and w != workloads[0][0]:
            continue
        lines.append("")
        lines.append("| config | time vs baseline, median (min-max) | in-kernel BPF ns/op (ns/run x runs/op) | monitor CPU us/op | events captured / generated |")
        lines.append("|---|---|---|---|---|")
        for name, _ in configs:
            c = r.get(name)
            if c is None:
                continue
            if "skipped" in c:
                lines.append("| %s | skipped: %s | | | |" % (name, c["skipped"]))
                continue
            if "error" in c and not c["ratios"]:
                lines.append("| %s | error: %s | | | |" % (name, c["error"]))
                continue
            bpf = "-"
            if any(x is not None for x in c["bpf_ns"]):
                per_run = [ns / runs for ns, runs in zip(c["bpf_ns"], c["bpf_runs"])
                           if ns is not None and runs]
                bpf = "%s (%s ns/run x %s runs/op)" % (
                    fmt_num([x / n for x in c["bpf_ns"] if x is not None], digits=0),
                    fmt_num(per_run, digits=0),
                    fmt_num([r / n for r in c["bpf_runs"] if r is not None], digits=2))
            cpu = fmt_num([x / n / 1000.0 for x in c["cpu_ns"]], digits=1)
            counts = c["counts"][-1] if c["counts"] and c["counts"][-1] is not None else None
            if counts is None:
                ev = "n/a"
            else:
                parts = []
                for k, v in counts.items():
                    g = gen.get(k)
                    parts.append("%s %d/%d" % (k, v, g) if g is not None else "%s %d" % (k, v))
                ev = ", ".join(parts) if parts else "none"
            lines.append("| %s | %s | %s | %s | %s |" % (name, fmt_ratio(c["ratios"]), bpf, cpu, ev))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    ap.add_argument("--smoke", action="store_true",
                    help="1 round, small N, monitors on the spawn workload only")
    ap.add_argument("--workloads", default="", help="comma list of workloads (default all)")
    ap.add_argument("--configs", default="", help="comma list of configs (default all)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every N")
    ap.add_argument("--json", default="", help="write raw results here")
    ap.add_argument("--keep-output", action="store_true",
                    help="keep every monitor's output file in build/out-*/ (default: delete after counting)")
    ap.add_argument("--cleanup-only", action="store_true",
                    help="undo what an interrupted run left (from build/cleanup.json)")
    args = ap.parse_args()

    global KEEP_OUTPUT
    KEEP_OUTPUT = args.keep_output
    if JOURNAL_STATE.startup(cleanup_all, args.cleanup_only):
        return 0

    for f in (LOAD, TRUE_COPY, FANOTIFY_BIN):
        if not os.access(f, os.X_OK):
            log("missing %s: run `make -C bench` first" % f)
            return 2

    interrupt_on((signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
    atexit.register(cleanup_all)

    workloads = [w for w in WORKLOADS if not args.workloads or w[0] in args.workloads.split(",")]
    configs = [c for c in CONFIGS if not args.configs or c[0] in args.configs.split(",")]
    rounds = 1 if args.smoke else args.rounds
    nops = {w[0]: max(1, int((w[3] if args.smoke else w[2]) * args.scale)) for w in workloads}
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    outdir = os.path.join(BUILD, "out-" + stamp)
    os.makedirs(outdir, exist_ok=True)

    errors = 0
    try:
        not_ready = prepare(args)
        log("procward bench %s: %s, nproc %d, kernel %s, rounds %d%s, loadavg %s" %
            (stamp, platform.node(), os.cpu_count(), platform.release(), rounds,
             " (smoke)" if args.smoke else "", loadavg()))
        # Which configurations can run at all here?
        runnable = []
        skip_reason = {}
        for name, factory in configs:
            try:
                if not_ready:
                    raise Skip(not_ready)
                factory().check()
                runnable.append((name, factory))
            except Skip as e:
                skip_reason[name] = str(e)
                log("%-24s skipped: %s" % (name, e))
        results = {}
        for wi, wl in enumerate(workloads):
            w, n = wl[0], nops[wl[0]]
            tools = runnable if (not args.smoke or wi == 0) else []
            r = {"baseline": []}
            for name, _ in configs:
                r[name] = ({"skipped": skip_reason[name]} if name in skip_reason else
                           {"ratios": [], "bpf_ns": [], "bpf_runs": [], "cpu_ns": [], "counts": [], "elapsed": [],
                            "drain_s": []})
            if args.smoke and wi > 0:
                for name, _ in runnable:
                    r[name] = None  # smoke: monitors run on the first workload only
            results[w] = r
            log("== %s (%s x%d, P=%d, CPU %s)" % (w, wl[1], n, wl[4], wl[5]))
            run_storm(wl, max(1, n // 10), timeout=120)  # warm-up, not timed
            for rnd in range(rounds):
                order = rotate(tools, rnd)
                prev = run_storm(wl, n, timeout=storm_timeout(n))
                r["baseline"].append(prev)
                for name, factory in order:
                    c = r[name]
                    try:
                        m = measure_tool(name, factory, wl, n, outdir, rnd)
                    except Skip as e:
                        r[name] = {"skipped": str(e)}
                        continue
                    except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as e:  # noqa
                        c["error"] = str(e)[:200]
                        errors += 1
                        log("  r%d %-24s error: %s" % (rnd, name, c["error"]))
                        continue
                    nxt = run_storm(wl, n, timeout=storm_timeout(n))
                    r["baseline"].append(nxt)
                    ratio = m["elapsed"] / ((prev + nxt) / 2.0)
                    prev = nxt
                    if args.smoke and m["counts"] is not None:
                        gen = generated_events(wl[1], n, wl[4])
                        if any(gen.get(k, 0) > 0 for k in m["counts"]) and not any(m["counts"].values()):
                            c["error"] = "captured no event of the storm: %s" % m["counts"]
                            errors += 1
                            log("  r%d %-24s error: %s" % (rnd, name, c["error"]))
                    c["ratios"].append(ratio)
                    c["elapsed"].append(m["elapsed"])
                    c["bpf_ns"].append(m["bpf_ns"])
                    c["bpf_runs"].append(m["bpf_runs"])
                    c["cpu_ns"].append(m["cpu_ns"])
                    c["counts"].append(m["counts"])
                    c["drain_s"].append(m["drain_s"])
                    log("  r%d %-24s %.3f s  ratio %.3f  bpf %s ns/op  mon %.1f us/op  %s" %
                        (rnd, name, m["elapsed"], ratio,
                         "-" if m["bpf_ns"] is None else "%.0f" % (m["bpf_ns"] / n),
                         m["cpu_ns"] / n / 1000.0, m["counts"] if m["counts"] is not None else ""))
                if not order:
                    log("  r%d baseline %.3f s" % (rnd, prev))
        table = summarize(results, configs, workloads, nops)
        log("")
        log("loadavg at the end: %s" % loadavg())
        log("## Results %s (nproc %d, kernel %s, %d round(s))" %
            (datetime.date.today().isoformat(), os.cpu_count(), platform.release(), rounds))
        for line in table:
            log(line)
        raw = {"date": stamp, "nproc": os.cpu_count(), "kernel": platform.release(),
               "rounds": rounds, "smoke": args.smoke, "nops": nops, "results": results}
        write_results(raw, table, outdir, args.json)
    except KeyboardInterrupt as e:
        log("interrupted (%s); cleaning up" % (e or "Ctrl-C"))
        errors += 1
    finally:
        final_cleanup(cleanup_all)
    if errors:
        log("%d error(s)" % errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
