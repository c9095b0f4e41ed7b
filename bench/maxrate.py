#!/usr/bin/env python3
"""Highest event rate procward's pipeline sustains with zero loss, and what
is lost beyond it (counted, never silent).

The pipeline is build/pw-bench-null (the library with an empty callback),
run with PW_BENCH_VERBOSE=1 so that it counts, per event type, the events of
processes named pw-bench-load and, at the end, drains the ring and prints
delivered/lost/filtered. Storms are build/pw-bench-load, NOT pinned (both
CPUs: the storm competes with the monitor for CPU), spawning the copy of
/bin/true named pw-bench-load so every event of a storm carries that name.

Two series:
  * default settings (16 MiB ring, no rule): thread and spawn storms of
    growing length and parallelism. Lost events here are machine-wide (the
    monitor sees every process), so "lost" is an upper bound for the storm.
  * forced small rings (PW_BENCH_RINGBUF) with an include rule on the storm's
    name (PW_BENCH_INCLUDE=pw-bench-load): nothing else reaches the ring, so
    generated == delivered + lost must hold exactly; "unaccounted" shows it.

Generated events of a storm (name pw-bench-load): its own exec and exit;
with P > 1 workers, P process_create and P process_exit; thread: N
thread_create + N thread_exit; spawn: N process_create + N exec + N
process_exit.

Usage: maxrate.py [--smoke] [--md FILE] [--json FILE]     (root)
Python 3 standard library only.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BUILD, emit_markdown, interrupt_on, log, require, wait_quiet  # noqa: E402
from benchlib import threads_cpu_ns as cpu_ns  # noqa: E402

NULL = os.path.join(BUILD, "pw-bench-null")
LOAD = os.path.join(BUILD, "pw-bench-load")
TRUE_COPY = os.path.join(BUILD, "true", "pw-bench-load")
COMM = "pw-bench-load"

# (label, env for pw-bench-null, mode, n, workers)
FULL = [
    ("default", {}, "thread", 100000, 2),
    ("default", {}, "thread", 300000, 2),
    ("default", {}, "thread", 1000000, 2),
    ("default", {}, "thread", 1000000, 4),
    ("default", {}, "thread", 300000, 1),
    ("default", {}, "spawn", 20000, 2),
    ("ring 1 MiB", {"PW_BENCH_RINGBUF": str(1 << 20), "PW_BENCH_INCLUDE": COMM}, "thread", 300000, 2),
    ("ring 256 KiB", {"PW_BENCH_RINGBUF": str(1 << 18), "PW_BENCH_INCLUDE": COMM}, "thread", 300000, 2),
    ("ring 64 KiB", {"PW_BENCH_RINGBUF": str(1 << 16), "PW_BENCH_INCLUDE": COMM}, "thread", 300000, 2),
    ("ring 16 KiB", {"PW_BENCH_RINGBUF": str(1 << 14), "PW_BENCH_INCLUDE": COMM}, "thread", 300000, 2),
    ("ring 16 KiB", {"PW_BENCH_RINGBUF": str(1 << 14), "PW_BENCH_INCLUDE": COMM}, "spawn", 5000, 2),
]
SMOKE = [
    ("default", {}, "thread", 5000, 2),
    ("ring 16 KiB", {"PW_BENCH_RINGBUF": str(1 << 14), "PW_BENCH_INCLUDE": COMM}, "thread", 20000, 2),
]

DETAIL = re.compile(
    r"pwnull-detail: delivered (\d+) lost (\d+) filtered (\d+) tracked (\d+) malformed (\d+)"
    r" run (-?\d+) signal (\d+) comm \S+: process_create (\d+) exec (\d+) process_exit (\d+) thread_create (\d+) thread_exit (\d+)")

CURRENT = {}  # pid -> Popen we started (stopped on exit, by pid)


def wait_drained(pid, limit=30.0):
    """Until the monitor uses < 2 ms of CPU in 150 ms (its backlog is drained);
    returns the seconds waited."""
    return wait_quiet(lambda: cpu_ns(pid), limit)[1]


def generated(mode, n, p):
    w = p if p > 1 else 0
    g = {"process_create": w, "exec": 1, "process_exit": 1 + w, "thread_create": 0, "thread_exit": 0}
    if mode == "thread":
        g["thread_create"] += n
        g["thread_exit"] += n
    elif mode == "spawn":
        g["process_create"] += n
        g["exec"] += n
        g["process_exit"] += n
    return g


def stop(p, sig=signal.SIGINT, wait=60):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    CURRENT.pop(p.pid, None)


def one(label, env_extra, mode, n, p, tmpdir):
    env = dict(os.environ, PW_BENCH_VERBOSE="1", **env_extra)
    errpath = os.path.join(tmpdir, "maxrate-null.stderr")
    with open(errpath, "w") as ef:
        mon = subprocess.Popen([NULL], stdout=subprocess.DEVNULL, stderr=ef, stdin=subprocess.DEVNULL,
                               env=env, start_new_session=True)
    CURRENT[mon.pid] = mon
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            if mon.poll() is not None:
                raise RuntimeError("pw-bench-null exited: " + open(errpath).read().strip())
            if "pwnull: ready" in open(errpath).read():
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("pw-bench-null not ready within 30 s")
        wait_drained(mon.pid)
        c0 = cpu_ns(mon.pid)
        argv = [LOAD, mode, "-n", str(n), "-p", str(p), "-x", TRUE_COPY]
        st = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=max(120, n * 0.001))
        if st.returncode != 0:
            raise RuntimeError("workload failed: %s %s" % (st.stdout.strip(), st.stderr.strip()))
        elapsed = json.loads(st.stdout.strip().splitlines()[-1])["elapsed_s"]
        drain = wait_drained(mon.pid)
        c1 = cpu_ns(mon.pid)
        early = mon.poll()  # not None: the monitor ended before we stopped it
    finally:
        stop(mon)
    err = open(errpath).read()
    m = DETAIL.search(err)
    if not m:
        raise RuntimeError("no detail line from pw-bench-null: " + err.strip()[-300:])
    v = [int(x) for x in m.groups()]
    got = dict(zip(["process_create", "exec", "process_exit", "thread_create", "thread_exit"], v[7:]))
    gen = generated(mode, n, p)
    g, d = sum(gen.values()), sum(got.values())
    return {
        "config": label, "ring": env_extra.get("PW_BENCH_RINGBUF", "default"),
        "include_rule": bool(env_extra.get("PW_BENCH_INCLUDE")),
        "storm": "%s -n %d -p %d" % (mode, n, p), "mode": mode, "n": n, "workers": p,
        "generated": g, "delivered": d, "lost": v[1], "unaccounted": g - d - v[1],
        "delivered_all": v[0], "filtered": v[2], "malformed": v[4],
        "run_return": v[5], "stop_signal": v[6], "exited_early": early is not None,
        "generated_by_type": gen, "delivered_by_type": got,
        "storm_s": elapsed, "drain_s": round(drain, 2),
        "gen_rate": g / elapsed, "deliv_rate": d / elapsed,
        "mon_cpu_us_per_event": (c1 - c0) / 1000.0 / max(1, v[0]),
    }


def table(rows):
    out = ["| config | storm (unpinned) | generated | delivered | lost | unaccounted | storm s |"
           " generated ev/s | delivered ev/s (during storm) | drain after s | monitor CPU us/event |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cfg = r["config"] + (" + include rule" if r["include_rule"] else "")
        out.append("| %s | %s | %d | %d | %d | %d | %.2f | %.0f | %.0f | %.2f | %.2f |" % (
            cfg, r["storm"], r["generated"], r["delivered"], r["lost"], r["unaccounted"],
            r["storm_s"], r["gen_rate"], r["deliv_rate"], r["drain_s"], r["mon_cpu_us_per_event"]))
    zero = [r for r in rows if r["config"] == "default" and r["lost"] == 0 and r["unaccounted"] == 0]
    if zero:
        best = max(zero, key=lambda r: r["gen_rate"])
        out.append("")
        out.append("Highest rate with zero loss (default settings): %.0f events/s (%s, %d events)." %
                   (best["gen_rate"], best["storm"], best["generated"]))
    lossy = [r for r in rows if r["config"] == "default" and r["lost"]]
    if lossy:
        out.append("Default settings lost events in: " +
                   ", ".join("%s (%d lost of %d)" % (r["storm"], r["lost"], r["generated"]) for r in lossy))
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="two short storms (< 10 s)")
    ap.add_argument("--md", help="also write the Markdown table here")
    ap.add_argument("--json", help="write the rows as JSON here")
    args = ap.parse_args()
    require("maxrate.py", "BPF", (NULL, LOAD, TRUE_COPY))

    interrupt_on((signal.SIGTERM, signal.SIGHUP), with_signal_number=False)
    tmpdir = os.path.join(BUILD, "extra")
    os.makedirs(tmpdir, exist_ok=True)
    rows = []
    try:
        for cfg in (SMOKE if args.smoke else FULL):
            r = one(*cfg, tmpdir=tmpdir)
            rows.append(r)
            log("maxrate: %-28s %-22s gen %8d deliv %8d lost %7d unacc %d  %.2f s  %.0f ev/s" % (
                cfg[0] + (" +incl" if r["include_rule"] else ""), r["storm"], r["generated"],
                r["delivered"], r["lost"], r["unaccounted"], r["storm_s"], r["gen_rate"]))
    finally:
        for p in list(CURRENT.values()):
            stop(p, signal.SIGKILL)
    md = "### Max event rate (maxrate.py%s)\n\n%s\n" % (" --smoke" if args.smoke else "", table(rows))
    emit_markdown(md, args.md, args.json, rows)
    for r in rows:
        if r["exited_early"] or r["run_return"] or r["stop_signal"] not in (0, 2):
            print("maxrate: %s: monitor ended early (run returned %d, signal %d)" %
                  (r["storm"], r["run_return"], r["stop_signal"]), file=sys.stderr)
    bad = [r for r in rows if r["include_rule"] and r["unaccounted"] != 0]
    if bad:
        print("maxrate: generated != delivered + lost under an include rule: %s" %
              ", ".join(r["storm"] for r in bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
