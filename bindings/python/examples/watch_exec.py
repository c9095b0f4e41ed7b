#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""watch-exec - the bindings contract, in Python: one line per exec,
"PID<TAB>UID<TAB>argv joined by single spaces", until SIGINT or SIGTERM.
Bytes below 0x20, 0x7f and backslash are written as \\xHH (bindings/README.md)."""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import procward  # noqa: E402

_UNSAFE = re.compile(rb"[\x00-\x1f\x7f\\]")


def escape(arg: str) -> bytes:
    return _UNSAFE.sub(lambda m: b"\\x%02x" % m.group()[0], os.fsencode(arg))


def main() -> int:
    out = sys.stdout.buffer

    def on_event(ev: procward.Event) -> None:
        uid = ev.token["uid"] if ev.token else 0xFFFFFFFF
        out.write(b"%d\t%d\t%s\n" % (ev.pid, uid, b" ".join(escape(a) for a in ev.args)))
        out.flush()

    try:
        m = procward.Monitor(events="exec", callback=on_event, resolve_names=False)
        m.start()
    except procward.Error as e:
        print(f"watch-exec: {e.strerror}", file=sys.stderr)
        return 1
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: m.stop())
    m.run()
    m.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
