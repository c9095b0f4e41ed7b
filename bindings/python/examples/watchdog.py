#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""watchdog - run a program, and when it crosses an alert rule
("cpu > 50% for 2s", "rss > 512M") notify, renice it or kill it, once per
crossing. The Python twin of examples/watchdog.c, same options and output:

    watchdog.py [-a notify|renice|kill] [-i MS] [-v] -r RULE [-r RULE]... -- PROGRAM [ARG]...

The watchdog owns its target (its child, reaped only by it), so the pid an
alert names cannot have been reused by another process."""

import argparse
import ctypes
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import procward  # noqa: E402

RENICE_STEP = 5
PR_SET_PDEATHSIG = 1


def spawn_held(argv):
    """fork the target, held at a pipe until the rules name its pid: (pid, release fd)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(w)
            # the target does not outlive its watchdog (not even a SIGKILLed one)
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.read(r, 1) == b"g":
                os.execvp(argv[0], argv)
        except OSError as e:
            print(f"watchdog: {argv[0]}: {e.strerror}", file=sys.stderr)
        finally:
            os._exit(127)
    os.close(r)
    return pid, w


def main() -> int:
    ap = argparse.ArgumentParser(prog="watchdog.py")
    ap.add_argument("-a", dest="action", choices=("notify", "renice", "kill"), default="notify")
    ap.add_argument("-i", dest="interval_ms", type=int, default=500)
    ap.add_argument("-v", dest="verbose", action="store_true")
    ap.add_argument("-r", dest="rules", action="append", required=True)
    ap.add_argument("program", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if args.program[:1] == ["--"]:
        args.program = args.program[1:]
    if not args.program or not 10 <= args.interval_ms <= 3600000:
        ap.print_usage(sys.stderr)
        return 2
    try:
        rules = [procward.AlertRule.parse(text) for text in args.rules]
    except procward.Error as e:
        print(f"watchdog: {e}", file=sys.stderr)
        return 2

    state = {"actions": 0}
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))

    def on_event(ev: procward.Event) -> None:
        if ev.pid != child:
            return
        if ev.type == "resource_alert":
            state["actions"] += 1
            print(f"alert rule {ev.alert_rule} {ev.alert_kind} {ev.alert_value} > "
                  f"{ev.alert_threshold}")
            if args.action == "notify":
                print(f"action notify pid {child}")
            elif args.action == "renice":
                nice = os.getpriority(os.PRIO_PROCESS, child) + RENICE_STEP
                os.setpriority(os.PRIO_PROCESS, child, nice)
                print(f"action renice pid {child} nice {nice}")
            else:
                os.kill(child, signal.SIGKILL)
                print(f"action kill pid {child}")
        elif ev.type == "process_exit" and ev.rusage:
            ru = ev.rusage
            print(f"usage pid {child} cpu_ms={ru.cpu_ns / 1e6:.3f} "
                  f"maxrss_kib={ru.max_rss_bytes // 1024} life_ms={ru.lifetime_ns / 1e6:.3f}")
        sys.stdout.flush()

    child, release = spawn_held(args.program)
    status = None
    try:
        with procward.Sampler(callback=on_event) as sampler:
            for rule in rules:
                sampler.add_alert(procward.AlertRule(rule.kind, rule.threshold, rule.for_ms,
                                                     pid=child))  # only our target
            sampler.start()
            os.write(release, b"g")
            os.close(release)
            release = None
            print(f"watchdog: pid {child} started", flush=True)
            while status is None and not stop:
                sampler.wait(args.interval_ms / 1000)
                # reap first, then sample: the final sample holds its exit event
                pid, st = os.waitpid(child, os.WNOHANG)
                if pid == child:
                    status = st
                smp = sampler.sample()
                p = smp.find(child)
                if args.verbose and p:
                    print(f"sample pid {child} cpu {smp.cpu_percent(p):.1f}% rss {p.rss_bytes}"
                          f"{' exited' if p.exited else ''}", flush=True)
    except procward.Error as e:
        print(f"watchdog: {e}", file=sys.stderr)
        return 1
    finally:
        if release is not None:
            os.close(release)
        if status is None:  # stopped, or failed: the target goes with the watchdog
            os.kill(child, signal.SIGKILL)
            _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        print(f"exit pid {child} signal {os.WTERMSIG(status)} actions {state['actions']}")
        return 128 + os.WTERMSIG(status)
    print(f"exit pid {child} code {os.WEXITSTATUS(status)} actions {state['actions']}")
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
