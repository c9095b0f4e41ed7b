#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""null.py - the overhead of the Python binding: every lifecycle event, an
empty callback; "ready" on stdout once started, "events N" on stderr at SIGTERM."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import procward  # noqa: E402

n = 0


def on_event(ev):
    global n
    n += 1


m = procward.Monitor(events="all", callback=on_event, resolve_names=False,
                     rules=sys.argv[1:])  # the benchmark's "include name pw-bench-load"
m.start()
for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda *_: m.stop())
print("ready", flush=True)
m.run()
print(f"events {n}", file=sys.stderr)
m.close()
