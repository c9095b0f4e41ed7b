#!/usr/bin/env python3
"""Exec-gate decision latency: time of each posix_spawn with no gate, with the
bare fanotify responder, and with procward's gate (allow-all handler, and
with cached verdicts), interleaved.

The driver (build/pw-bench-spawnlat, gate_latency.c) is pinned to CPU 0 and
times each posix_spawn of /bin/true: glibc's posix_spawn (CLONE_VFORK)
returns once the child's execve has succeeded, so the time includes every
exec permission event the gate answers (the program and its ELF
interpreter). The responder runs unpinned. Each round runs every
configuration once (CHUNK spawns after WARM untimed ones), the order
rotating each round; samples are pooled per configuration.

spawn-latency difference gate - off is the decision latency as the exec'ing
process sees it; gate - fanotify-allow is what procward adds to the barest
responder. pw-bench-gate --latency also reports its own latency per
decision (pw_decision_latency_ns: from reading the event to answering it).

Usage: gate_latency.py [--smoke] [--rounds R] [--chunk N] [--md FILE] [--json FILE]   (root)
Python 3 standard library only.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, emit_markdown, interrupt_on, log, pct, require, rotate  # noqa: E402
from benchlib import threads_cpu_ns as cpu_ns  # noqa: E402

DRIVER = os.path.join(BUILD, "pw-bench-spawnlat")
GATE = os.path.join(BUILD, "pw-bench-gate")
FANOTIFY = os.path.join(BUILD, "pw-bench-fanotify")
TMP = os.path.join(BUILD, "extra")

CONFIGS = [
    ("off", None),
    ("fanotify-allow", [FANOTIFY]),
    ("procward-gate", [GATE, "--latency", "--latency-out", "{lat}"]),
    ("procward-gate-cache", [GATE, "--cache", "--latency", "--latency-out", "{lat}"]),
]
# Another build of pw-bench-gate (e.g. from the commit before the guardian), in the same run.
if os.environ.get("PW_BENCH_GATE_OTHER"):
    CONFIGS.append(("procward-gate-other",
                    [os.environ["PW_BENCH_GATE_OTHER"], "--latency", "--latency-out", "{lat}"]))
CURRENT = {}


def start_responder(argv, lat):
    argv = [a.format(lat=lat) for a in argv]
    # stderr to a file: a full pipe must never block a gate (every exec would wait)
    with open(os.path.join(TMP, "gatelat.responder.stderr"), "a") as err:
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True,
                             stdin=subprocess.DEVNULL, start_new_session=True)
    CURRENT[p.pid] = p
    line = p.stdout.readline()  # "ready" once the marks are in place
    if line.strip() != "ready":
        stop_responder(p)
        raise RuntimeError("%s not ready: %r (see %s)" % (argv[0], line, TMP))
    # until it is idle (the gate loads BPF programs, marks every filesystem)
    last = cpu_ns(p.pid)
    for _ in range(40):
        time.sleep(0.1)
        now = cpu_ns(p.pid)
        if now - last < 1_000_000:
            break
        last = now
    return p


def stop_responder(p):
    out = ""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        out, _ = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    CURRENT.pop(p.pid, None)
    return out


def run_driver(n, warm, out):
    r = subprocess.run([DRIVER, "-n", str(n), "-w", str(warm), "-c", "0", "-x", "/bin/true", "-o", out],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("driver failed: %s" % r.stderr.strip())
    with open(out) as f:
        return [int(x) for x in f.read().split()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="1 round of 100 spawns (< 10 s)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--chunk", type=int, default=500, help="timed spawns per configuration per round")
    ap.add_argument("--warm", type=int, default=20, help="untimed spawns before each chunk")
    ap.add_argument("--md")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.smoke:
        args.rounds, args.chunk, args.warm = 1, 100, 5
    require("gate_latency.py", "fanotify, BPF", (DRIVER, GATE, FANOTIFY))

    interrupt_on((signal.SIGTERM, signal.SIGHUP), with_signal_number=False)
    os.makedirs(TMP, exist_ok=True)
    samples = {c[0]: [] for c in CONFIGS}
    declat = {c[0]: [] for c in CONFIGS}
    stats = {c[0]: [] for c in CONFIGS}
    out = os.path.join(TMP, "gatelat.samples")
    lat = os.path.join(TMP, "gatelat.decisions")
    try:
        for rnd in range(args.rounds):
            order = rotate(CONFIGS, rnd)
            for name, argv in order:
                p = None
                if os.path.exists(lat):
                    os.unlink(lat)
                if argv:
                    p = start_responder(argv, lat)
                try:
                    xs = run_driver(args.chunk, args.warm, out)
                finally:
                    if p:
                        o = stop_responder(p)
                        try:
                            stats[name].append(json.loads(o.strip().splitlines()[-1]))
                        except (ValueError, IndexError):
                            pass
                samples[name] += xs
                if os.path.exists(lat):
                    with open(lat) as f:
                        declat[name] += [int(x) for x in f.read().split()]
                log("gate_latency: round %d %-20s p50 %7.1f us  p99 %7.1f us" %
                    (rnd + 1, name, pct(xs, 50) / 1e3, pct(xs, 99) / 1e3))
    finally:
        for p in list(CURRENT.values()):
            p.kill()
            p.wait()
    base = pct(samples["off"], 50)
    fan = pct(samples["fanotify-allow"], 50)
    rows = []
    for name, _ in CONFIGS:
        xs = samples[name]
        d = declat[name]
        decisions = sum(s.get("decisions", 0) for s in stats[name])
        rows.append({
            "config": name, "n": len(xs), "p50_us": pct(xs, 50) / 1e3, "p90_us": pct(xs, 90) / 1e3,
            "p99_us": pct(xs, 99) / 1e3, "max_us": max(xs) / 1e3,
            "p50_minus_off_us": (pct(xs, 50) - base) / 1e3,
            "p50_minus_fanotify_us": (pct(xs, 50) - fan) / 1e3,
            "decisions": decisions,
            "lib_decision_n": len(d),
            "lib_decision_p50_us": pct(d, 50) / 1e3 if d else None,
            "lib_decision_p99_us": pct(d, 99) / 1e3 if d else None,
            "cache_hits": sum(s.get("cache_hits", 0) for s in stats[name]) if stats[name] else None,
        })

    def f(x):
        return "-" if x is None else "%.1f" % x
    lines = ["### Exec-gate latency (gate_latency.py%s): posix_spawn of /bin/true, driver pinned to CPU 0, "
             "%d rounds x %d spawns, interleaved" % (" --smoke" if args.smoke else "", args.rounds, args.chunk), "",
             "| config | spawns | spawn p50 us | p90 us | p99 us | max us | p50 - off us | p50 - fanotify us |"
             " gate decisions (library p50 / p99 us, n) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lib = "-"
        if r["lib_decision_n"]:
            lib = "%s / %s (%d)" % (f(r["lib_decision_p50_us"]), f(r["lib_decision_p99_us"]), r["lib_decision_n"])
        if r["cache_hits"]:
            lib += ", cache hits %d" % r["cache_hits"]
        lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            r["config"], r["n"], f(r["p50_us"]), f(r["p90_us"]), f(r["p99_us"]), f(r["max_us"]),
            f(r["p50_minus_off_us"]), f(r["p50_minus_fanotify_us"]), lib))
    emit_markdown("\n".join(lines) + "\n", args.md, args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
