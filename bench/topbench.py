#!/usr/bin/env python3
"""topbench.py: CPU time of `procward top -b` against procps `top -b`, same run.

Starts N extra sleeping processes (build/pw-bench-sleepers), then runs, in
alternating order for each round, `procward top -b -d D -n F` and
`top -b -d D -n F` with stdout to /dev/null, each also with -n 1 (start-up
plus one frame, so the cost per further frame can be separated from
start-up), and takes each run's CPU time
(user + system, from wait4 of the child: it includes the BPF programs the
sampler runs in its own read() calls, and startup: loading, seeding the
process table). Prints each round and the median ratio procward/top.

Also reports the sampler's walk cost per process per sample from the
--json frames ("walk_ns" / "tasks"), with and without the N sleepers, to
show it grows linearly.

    sudo python3 bench/topbench.py [--procs 3000] [--frames 10] [--delay 0.5] [--rounds 3]

Python 3 standard library only; root (BPF). The sleepers are killed by
process group on any exit (they also have PR_SET_PDEATHSIG).
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SLEEPERS = os.path.join(HERE, "build", "pw-bench-sleepers")
PROCWARD = os.environ.get("PROCWARD", os.path.join(ROOT, "build", "procward"))


def cpu_of(argv):
    """Run argv to completion (stdout discarded); its user+system CPU seconds."""
    with open(os.devnull, "w") as null:
        p = subprocess.Popen(argv, stdout=null, stderr=subprocess.PIPE)
        _, _, ru = os.wait4(p.pid, 0)
        p.returncode = 0
        err = p.stderr.read().decode(errors="replace")
        p.stderr.close()
    if err.strip():
        sys.stderr.write(err)
    return ru.ru_utime + ru.ru_stime


def walk_cost(frames, delay):
    out = subprocess.run([PROCWARD, "top", "--json", "-d", str(delay), "-n", str(frames)],
                         check=True, stdout=subprocess.PIPE).stdout.decode()
    per = []
    tasks = 0
    for line in out.splitlines():
        f = json.loads(line)
        tasks = f["tasks"]
        per.append(f["walk_ns"] / max(f["tasks"], 1))
    return tasks, statistics.median(per)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--procs", type=int, default=3000)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--delay", type=float, default=0.5)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    subprocess.run(["make", "-C", HERE, "build/pw-bench-sleepers"], check=True,
                   stdout=subprocess.DEVNULL)

    base_tasks, base_walk = walk_cost(4, 0.2)
    sl = subprocess.Popen([SLEEPERS, str(a.procs)], stdout=subprocess.PIPE, start_new_session=True)
    try:
        line = sl.stdout.readline().decode()
        if not line.startswith("ready"):
            raise RuntimeError("sleepers did not start: " + line)
        tasks, walk = walk_cost(4, 0.2)
        print("sampler walk: %d tasks %.0f ns/task/sample; with %d sleepers %d tasks %.0f ns/task/sample"
              % (base_tasks, base_walk, a.procs, tasks, walk))
        def argv(tool, frames):
            if tool == "procward":
                return [PROCWARD, "top", "-b", "-d", str(a.delay), "-n", str(frames)]
            return ["top", "-b", "-d", str(a.delay), "-n", str(frames)]

        rows = []
        for r in range(a.rounds):
            runs = [(t, f) for t in ("procward", "top") for f in (1, a.frames)]
            if r % 2:
                runs.reverse()
            cpu = {}
            for tool, frames in runs:
                cpu[(tool, frames)] = cpu_of(argv(tool, frames))
            pw_frame = (cpu[("procward", a.frames)] - cpu[("procward", 1)]) / (a.frames - 1)
            top_frame = (cpu[("top", a.frames)] - cpu[("top", 1)]) / (a.frames - 1)
            row = dict(pw_total=cpu[("procward", a.frames)], top_total=cpu[("top", a.frames)],
                       pw_start=cpu[("procward", 1)], top_start=cpu[("top", 1)],
                       pw_frame=pw_frame, top_frame=top_frame)
            row["total_ratio"] = row["pw_total"] / row["top_total"]
            row["frame_ratio"] = pw_frame / top_frame if top_frame > 0 else float("nan")
            rows.append(row)
            print("round %d: %d frames: procward %.3f s CPU, top %.3f s CPU, ratio %.3f; "
                  "1 frame: procward %.3f s, top %.3f s; per further frame: procward %.1f ms, "
                  "top %.1f ms, ratio %.3f"
                  % (r, a.frames, row["pw_total"], row["top_total"], row["total_ratio"],
                     row["pw_start"], row["top_start"], pw_frame * 1e3, top_frame * 1e3,
                     row["frame_ratio"]), flush=True)
        med = {k: statistics.median(x[k] for x in rows) for k in rows[0]}
        print()
        print("%d extra processes, -d %s, %d rounds (medians):" % (a.procs, a.delay, a.rounds))
        print("| | procward top -b | procps top -b | ratio |")
        print("|---|---|---|---|")
        print("| CPU s, %d frames | %.3f | %.3f | %.3f |" % (a.frames, med["pw_total"],
                                                        med["top_total"], med["total_ratio"]))
        print("| CPU s, 1 frame (start-up + 1 frame) | %.3f | %.3f | %.3f |"
              % (med["pw_start"], med["top_start"], med["pw_start"] / med["top_start"]))
        print("| CPU ms per further frame | %.2f | %.2f | %.3f |"
              % (med["pw_frame"] * 1e3, med["top_frame"] * 1e3, med["frame_ratio"]))
    finally:
        os.killpg(sl.pid, signal.SIGKILL)
        sl.wait()


if __name__ == "__main__":
    sys.exit(main())
