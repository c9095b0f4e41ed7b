#!/usr/bin/env python3
"""exitcost.py: the in-kernel cost the exit hook's resource accounting adds.

Runs the spawn storm (posix_spawn of a copy of /bin/true, pinned to CPU 0)
under pw-bench-null linked against several libraries, alternating in the
same run:
  nousage  this tree built with -DPW_BENCH_NO_EXIT_USAGE: the same programs
           and records, without reading the resource use (the default pair
           is nousage/new: it isolates the accounting from every other change);
  new      this tree (../build/libprocward.a);
  base     the library at git revision --base (before resource accounting),
           only with --with-base.
For each storm it reads run_time_ns/run_cnt of the monitor's own BPF
programs (kernel.bpf_stats_enabled=1, restored after) and prints ns per
spawn for the exit program (pw_exit) and for all of them, then the median
of the per-round differences (rounds alternate the order, so drift cancels).

    sudo python3 bench/exitcost.py [--rounds 9] [-n 3000] [--with-base [--base 2fc0a06]]

Python 3 standard library only; needs root, bpftool, make.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(HERE, "build")
LOAD = os.path.join(BUILD, "pw-bench-load")
TRUE_COPY = os.path.join(BUILD, "true", "pw-bench-load")
BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"
LIBS = ["-lbpf", "-lelf", "-lz", "-lpthread"]


def sh(argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, universal_newlines=True, **kw)


def build(base, with_base):
    sh(["make", "-C", HERE, "build/pw-bench-load", "build/true/pw-bench-load"])
    sh(["make", "-C", ROOT, "-j2", "build/libprocward.a"])
    trees = {"new": (os.path.join(ROOT, "build"), ROOT)}
    # The same tree, without the accounting: its own build directory, so
    # no object of the real build is replaced.
    nousage = os.path.join(BUILD, "nousage")
    sh(["make", "-C", ROOT, "-j2", "BUILD=" + nousage, "BPF_DEFS=-DPW_BENCH_NO_EXIT_USAGE",
        os.path.join(nousage, "libprocward.a")])
    trees["nousage"] = (nousage, ROOT)
    if with_base:
        src = os.path.join(BUILD, "base-src")
        stamp = os.path.join(src, ".rev")
        if not os.path.exists(stamp) or open(stamp).read() != base:
            sh(["rm", "-rf", src])
            os.makedirs(src)
            archive = subprocess.Popen(["git", "-C", ROOT, "archive", base],
                                       stdout=subprocess.PIPE)
            sh(["tar", "-x", "-C", src], stdin=archive.stdout)
            archive.wait()
            sh(["make", "-C", src, "-j2", "build/libprocward.a"])
            open(stamp, "w").write(base)
        trees["base"] = (os.path.join(src, "build"), src)
    bins = {}
    for name, (build_dir, tree) in trees.items():
        out = os.path.join(BUILD, "pw-bench-null-" + name)
        sh(["cc", "-O2", "-I", os.path.join(tree, "include"), "-o", out,
            os.path.join(HERE, "pw_null.c"), os.path.join(build_dir, "libprocward.a")] + LIBS)
        bins[name] = out
    return bins


def fd_prog_ids(pid):
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def progs(ids):
    out = json.loads(sh(["bpftool", "-j", "prog", "show"]).stdout or "[]")
    return {p["id"]: (p.get("name", ""), p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in out if p["id"] in ids}


def one_storm(binary, n):
    env = dict(os.environ, PW_BENCH_VERBOSE="1")
    mon = subprocess.Popen([binary], stderr=subprocess.PIPE, env=env, universal_newlines=True)
    try:
        line = mon.stderr.readline()
        if "ready" not in line:
            raise RuntimeError("monitor did not start: " + line)
        ids = fd_prog_ids(mon.pid)
        before = progs(ids)
        sh(["taskset", "-c", "0", LOAD, "spawn", "-n", str(n), "-x", TRUE_COPY])
        time.sleep(0.3)  # the last exits reach the ring; bpf stats are already final
        after = progs(ids)
    finally:
        mon.send_signal(signal.SIGINT)
        try:
            mon.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            mon.kill()
            mon.communicate()
    exit_ns = total_ns = exit_runs = 0
    for pid, (name, rt, cnt) in after.items():
        b = before.get(pid, (name, 0, 0))
        total_ns += rt - b[1]
        if name == "pw_exit":
            exit_ns += rt - b[1]
            exit_runs += cnt - b[2]
    return exit_ns / n, total_ns / n, exit_runs / n, exit_ns / max(exit_runs, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("-n", type=int, default=3000)
    ap.add_argument("--with-base", action="store_true",
                    help="also run the library at --base (before resource accounting)")
    ap.add_argument("--base", default="2fc0a06")
    a = ap.parse_args()
    bins = build(a.base, a.with_base)
    names = ["nousage", "new"] + (["base"] if a.with_base else [])
    old = open(BPF_STATS).read().strip()
    rows = {k: [] for k in names}
    try:
        with open(BPF_STATS, "w") as f:
            f.write("1")
        for r in range(a.rounds):
            order = names if r % 2 == 0 else names[::-1]
            for name in order:
                rows[name].append(one_storm(bins[name], a.n))
                print("round %d %-7s pw_exit %.0f ns/spawn, all programs %.0f ns/spawn, "
                      "pw_exit runs/spawn %.2f, pw_exit %.0f ns/run" % ((r, name) + rows[name][-1]),
                      flush=True)
    finally:
        with open(BPF_STATS, "w") as f:
            f.write(old)
    med = {k: [statistics.median(x[i] for x in v) for i in range(4)] for k, v in rows.items()}
    print()
    print("| library | pw_exit ns/spawn (median) | all programs ns/spawn | pw_exit runs/spawn "
          "| pw_exit ns/run |")
    print("|---|---|---|---|---|")
    for k in names:
        print("| %s | %.0f | %.0f | %.2f | %.0f |" % ((k,) + tuple(med[k])))
    print()
    for ref in [k for k in names if k != "new"]:
        diffs = [n[0] - o[0] for n, o in zip(rows["new"], rows[ref])]
        diffs_all = [n[1] - o[1] for n, o in zip(rows["new"], rows[ref])]
        print("new - %s: pw_exit %+.0f ns/spawn (median of the %d same-round differences; "
              "they range %+.0f..%+.0f), all programs %+.0f ns/spawn"
              % (ref, statistics.median(diffs), len(diffs), min(diffs), max(diffs),
                 statistics.median(diffs_all)))


if __name__ == "__main__":
    sys.exit(main())
