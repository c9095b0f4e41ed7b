#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gate-deny PATH - the bindings contract, in Python: deny every exec of PATH
(EPERM), allow the rest (cached: the kernel stops asking about those images),
print "ready" once the gate decides execs; stop on SIGINT or SIGTERM."""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import procward  # noqa: E402


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: gate-deny PATH", file=sys.stderr)
        return 2
    denied = os.path.realpath(sys.argv[1])  # the gate reports the resolved image

    def handler(req: procward.ExecRequest) -> None:
        if req.image == denied:
            req.deny()
        else:
            req.allow_cached()

    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # blocked before the gate's threads start, so only sigwait() below sees them
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        gate = procward.Gate(handler)
        gate.start()
    except procward.Error as e:
        print(f"gate-deny: {e.strerror}", file=sys.stderr)
        return 1
    print("ready", flush=True)
    signal.sigwait(stop_signals)  # releases the GIL: the handler runs meanwhile
    gate.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
