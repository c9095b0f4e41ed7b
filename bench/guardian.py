#!/usr/bin/env python3
"""procward gate guardian cost: its CPU per decision, and none while idle.

The guardian (src/gate/guardian.c) is a process of its own, so a gate's
threads' CPU does not show it; this reads the guardian's own
/proc/PID/schedstat (on-CPU ns, timeslices) and its voluntary context
switches (wake-ups). Each round starts bench/build/pw-bench-gate (allow-all
handler), waits until it is ready and quiet, then measures two windows:

    idle    nothing of ours runs for --idle seconds (the machine may exec:
            every exec-open on it goes through the gate, so the gate's own
            count of exec-opens answered in the window is reported beside
            the guardian's wake-ups: it must wake for those only, never on
            a timer)
    spawn   posix_spawn of a /bin/true copy x --spawns, pinned to CPU 0
            (run.py's spawn storm); guardian and gate CPU over the storm and
            its drain, per exec-open the gate answered

The gate's running counters come from pw-bench-gate on SIGUSR1 (one JSON
line). Prints a Markdown table (and --json rows). Run as root. The gate is
stopped (SIGTERM, by pid) on any exit; a SIGKILLed run leaves a gate that
dies with this runner (PR_SET_PDEATHSIG).
"""

import argparse
import ctypes
import json
import os
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (BUILD, finish_or_killpg, has_fanotify_marks, interrupt_on, kill_pid,  # noqa: E402
                      loadavg, log, require, task_cpu_ns, wait_quiet)

GATE_BIN = os.environ.get("PW_BENCH_GATE", os.path.join(BUILD, "pw-bench-gate"))
LOAD = os.path.join(BUILD, "pw-bench-load")
TRUE_COPY = os.path.join(BUILD, "true", "pw-bench-load")
_LIBC = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _LIBC.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG


def schedstat(pid):
    """(on-CPU ns, timeslices) of a single-threaded process."""
    with open("/proc/%d/schedstat" % pid) as f:
        ns, _wait, slices = f.read().split()[:3]
    return int(ns), int(slices)


def wakeups(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    return 0


class Gate:
    def __init__(self, outfile):
        self.out = outfile
        self._stdout = open(outfile, "w")
        self.proc = subprocess.Popen([GATE_BIN], stdout=self._stdout, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        self.seen = 0
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("pw-bench-gate exited (rc %s)" % self.proc.returncode)
            if "ready" in self._lines() and has_fanotify_marks(self.pid):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("pw-bench-gate not ready within 30 s")
        self.guardian = int(self.stats()["guardian_pid"])
        if self.guardian <= 0:
            raise RuntimeError("the gate reports no guardian")

    def _lines(self):
        with open(self.out) as f:
            return f.read().split("\n")

    def stats(self):
        """The running gate's counters (SIGUSR1: one JSON line)."""
        n = len([l for l in self._lines() if l.startswith("{")])
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.time() + 10
        while time.time() < deadline:
            js = [l for l in self._lines() if l.startswith("{") and l.endswith("}")]
            if len(js) > n:
                return json.loads(js[-1])
            time.sleep(0.01)
        raise RuntimeError("pw-bench-gate did not answer SIGUSR1")

    def cpu_ns(self):
        return task_cpu_ns(self.pid) + schedstat(self.guardian)[0]

    def stop(self):
        kill_pid(self.pid, signal.SIGTERM, popen=self.proc)
        self._stdout.close()
        js = [l for l in self._lines() if l.startswith("{") and '"running"' not in l]
        return json.loads(js[-1]) if js else None


def run_spawn(n):
    argv = ["taskset", "-c", "0", LOAD, "spawn", "-n", str(n), "-p", "1", "-x", TRUE_COPY]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    out, err = finish_or_killpg(p, max(60.0, n * 0.02), communicate=True)
    if p.returncode != 0:
        raise RuntimeError("spawn storm failed (rc %d): %s" % (p.returncode, err.strip()))
    res = json.loads(out.strip().splitlines()[-1])
    if res.get("failed"):
        raise RuntimeError("spawn storm: %d spawns failed" % res["failed"])
    return res["elapsed_s"]


def window(gate, run):
    """Guardian and gate counters around run()."""
    s0 = gate.stats()
    g0, sl0 = schedstat(gate.guardian)
    w0 = wakeups(gate.guardian)
    c0 = task_cpu_ns(gate.pid)
    t0 = time.time()
    run()
    wait_quiet(gate.cpu_ns)
    secs = time.time() - t0
    g1, sl1 = schedstat(gate.guardian)
    w1 = wakeups(gate.guardian)
    c1 = task_cpu_ns(gate.pid)
    s1 = gate.stats()
    return {"secs": secs, "decisions": s1["decisions"] - s0["decisions"],
            "guardian_verdicts": s1["guardian_verdicts"] - s0["guardian_verdicts"],
            "guardian_ns": g1 - g0, "guardian_slices": sl1 - sl0, "guardian_wakeups": w1 - w0,
            "gate_ns": c1 - c0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle", type=float, default=10.0, help="idle window, s (default 10)")
    ap.add_argument("--spawns", type=int, default=3000)
    ap.add_argument("--smoke", action="store_true", help="1 round, 2 s idle, 200 spawns")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    if args.smoke:
        args.rounds, args.idle, args.spawns = 1, 2.0, 200
    require("guardian.py", "fanotify permission events", [GATE_BIN, LOAD, TRUE_COPY])
    interrupt_on((signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
    os.makedirs(os.path.join(BUILD, "extra"), exist_ok=True)
    log("guardian cost: %s, rounds %d, idle %.0f s, %d spawns, loadavg %s" %
        (GATE_BIN, args.rounds, args.idle, args.spawns, loadavg()))
    rows = []
    for rnd in range(args.rounds):
        gate = Gate(os.path.join(BUILD, "extra", "guardian.r%d.out" % rnd))
        try:
            wait_quiet(gate.cpu_ns)
            idle = window(gate, lambda: time.sleep(args.idle))
            storm = window(gate, lambda: run_spawn(args.spawns))
        finally:
            final = gate.stop()
        for kind, w in (("idle", idle), ("spawn", storm)):
            w.update(round=rnd, kind=kind)
            rows.append(w)
            log("  r%d %-5s %5.1f s: %6d exec-opens, guardian %8.0f us CPU, %5d wake-ups, %3d verdicts;"
                " gate %8.0f us CPU" % (rnd, kind, w["secs"], w["decisions"], w["guardian_ns"] / 1e3,
                                        w["guardian_wakeups"], w["guardian_verdicts"], w["gate_ns"] / 1e3))
        if final and final.get("guardian_verdicts"):
            log("  r%d: the guardian answered %d exec-opens (the gate was too slow)" %
                (rnd, final["guardian_verdicts"]))

    def med(kind, f):
        xs = [f(r) for r in rows if r["kind"] == kind]
        return statistics.median(xs), min(xs), max(xs)

    lines = ["| window | exec-opens answered | guardian CPU us | guardian wake-ups | guardian ns per exec-open"
             " | guardian wake-ups per 1000 exec-opens | gate CPU us per exec-open |",
             "|---|---|---|---|---|---|---|"]
    for kind in ("idle", "spawn"):
        def fmt(f, d=0):
            m, lo, hi = med(kind, f)
            return "%.*f (%.*f-%.*f)" % (d, m, d, lo, d, hi)
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            kind, fmt(lambda r: r["decisions"]), fmt(lambda r: r["guardian_ns"] / 1e3),
            fmt(lambda r: r["guardian_wakeups"]),
            fmt(lambda r: r["guardian_ns"] / max(1, r["decisions"])),
            fmt(lambda r: 1000.0 * r["guardian_wakeups"] / max(1, r["decisions"]), 1),
            fmt(lambda r: r["gate_ns"] / 1e3 / max(1, r["decisions"]), 1)))
    print("\nmedian (min-max) over %d rounds:\n" % args.rounds)
    print("\n".join(lines))
    with open(os.path.join(BUILD, "extra", "guardian.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
