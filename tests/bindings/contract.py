#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""contract.py - the bindings contract (bindings/README.md), one scenario for
every language: `contract.py [--build DIR] LANG...` runs build/bindings/LANG/
watch-exec and gate-deny against real processes and prints, per language,
"contract-LANG: N passed, N failed". Root only (BPF, fanotify).

Every wait has a deadline, and a watchdog thread SIGKILLs the example by pid
(no exec needed: a stuck gate must not be able to stop its own killer).
gate-deny only ever denies a program this script copied into its own
temporary directory; everything else on the machine is allowed.
"""

import argparse
import errno
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

NOBODY = 65534
READY_S = 20.0   # start-up: loading BPF programs on a busy machine
STEP_S = 10.0    # any one later step
EXIT_S = 10.0    # SIGTERM to exit


class Example:
    """A running example: its stdout lines in a queue, SIGKILLed by a watchdog
    thread (by pid) if it outlives `deadline` seconds."""

    def __init__(self, argv, deadline: float):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.lines: "queue.Queue[bytes]" = queue.Queue()
        self.stderr = b""
        self.killed = False
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        self.watchdog = threading.Timer(deadline, self._kill)
        self.watchdog.daemon = True
        self.watchdog.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip(b"\n"))
        self.lines.put(None)

    def _read_err(self):
        self.stderr = self.proc.stderr.read()

    def _kill(self):
        self.killed = True
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait_line(self, want, timeout: float):
        """The first line for which want(line) holds, or None at the deadline or EOF."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                self.lines.put(None)  # EOF stays visible
                return None
            if want(line):
                return line

    def terminate(self) -> int:
        """SIGTERM; the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(EXIT_S)
        except subprocess.TimeoutExpired:
            self._kill()
            self.proc.wait()
            rc = None
        self.watchdog.cancel()
        return None if self.killed else rc


def copy_program(directory: str, name: str) -> str:
    path = os.path.join(directory, name)
    shutil.copy2("/bin/true", path)
    os.chmod(path, 0o755)
    return path


def run_exec(argv, user=None, timeout=STEP_S):
    """(pid, exit status) of argv, or the OSError its exec raised."""
    try:
        p = subprocess.Popen(argv, user=user, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as e:
        return None, e
    return p.pid, p.wait(timeout)


class Contract:
    def __init__(self, build: str, lang: str, tmp: str):
        self.dir = os.path.join(build, "bindings", lang)
        self.lang = lang
        self.tmp = tmp
        self.passed = self.failed = 0

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        print(f"  {'ok  ' if ok else 'FAIL'} {self.lang}: {what}" + ("" if ok else f": {detail}"),
              flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def watch_exec(self):
        tag = uuid.uuid4().hex[:8]
        probe = copy_program(self.tmp, f"pwc-probe-{tag}")
        cmd = copy_program(self.tmp, f"pwc-cmd-{tag}")
        ex = Example([os.path.join(self.dir, "watch-exec")], READY_S + 3 * STEP_S + EXIT_S)
        try:
            # ready once it prints the line of a probe exec
            ready = None
            end = time.monotonic() + READY_S
            n = 0
            while ready is None and time.monotonic() < end and ex.proc.poll() is None:
                n += 1
                pid, _ = run_exec([probe, f"probe-{n}"])
                want = f"{pid}\t0\t{probe} probe-{n}".encode()
                ready = ex.wait_line(lambda line: line == want, 0.5)
            if not self.check(ready is not None, "watch-exec prints a probe exec",
                              f"no line within {READY_S}s; stderr: {ex.stderr[-300:]!r}"):
                return
            # a known argv, hostile bytes included, run as a known uid
            argv = [cmd, "alpha", "two words", "tab\there", "nl\nhere", "back\\slash", "é"]
            pid, status = run_exec(argv, user=NOBODY)
            want = (f"{pid}\t{NOBODY}\t{cmd} alpha two words tab\\x09here nl\\x0ahere "
                    f"back\\x5cslash é").encode()
            got = ex.wait_line(lambda line: line.startswith(f"{pid}\t".encode()), STEP_S)
            self.check(status == 0 and got == want, "watch-exec line: pid, uid, escaped argv",
                       f"want {want!r}, got {got!r} (exit {status})")
        finally:
            rc = ex.terminate()
            self.check(rc == 0, "watch-exec exits 0 on SIGTERM",
                       f"exit {rc}; stderr: {ex.stderr[-300:]!r}")

    def gate_deny(self):
        tag = uuid.uuid4().hex[:8]
        denied = copy_program(self.tmp, f"pwc-deny-{tag}")
        allowed = copy_program(self.tmp, f"pwc-allow-{tag}")
        ex = Example([os.path.join(self.dir, "gate-deny"), denied], READY_S + 3 * STEP_S + EXIT_S)
        try:
            ready = ex.wait_line(lambda line: line == b"ready", READY_S)
            if not self.check(ready is not None, "gate-deny prints ready",
                              f"stderr: {ex.stderr[-300:]!r}"):
                return
            _, result = run_exec([denied])
            self.check(isinstance(result, OSError) and result.errno == errno.EPERM,
                       "gate-deny: exec of PATH fails with EPERM", f"got {result!r}")
            _, result = run_exec([allowed, "x"])
            self.check(result == 0, "gate-deny: another exec runs", f"got {result!r}")
            _, result = run_exec([denied, "again"])
            self.check(isinstance(result, OSError) and result.errno == errno.EPERM,
                       "gate-deny: PATH is denied again", f"got {result!r}")
        finally:
            rc = ex.terminate()
            self.check(rc == 0, "gate-deny exits 0 on SIGTERM",
                       f"exit {rc}; stderr: {ex.stderr[-300:]!r}")
        _, result = run_exec([denied])
        self.check(result == 0, "PATH runs once gate-deny has stopped", f"got {result!r}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    ap.add_argument("langs", nargs="+")
    args = ap.parse_args()
    if os.geteuid() != 0:
        for lang in args.langs:
            print(f"contract-{lang}: 0 passed, 0 failed, 2 skipped (needs root)")
        return 0
    failed = 0
    for lang in args.langs:
        tmp = tempfile.mkdtemp(prefix="pw-contract-")
        os.chmod(tmp, 0o755)  # the uid-65534 exec must reach its program
        c = Contract(os.path.abspath(args.build), lang, tmp)
        try:
            for name in ("watch-exec", "gate-deny"):
                if not os.access(os.path.join(c.dir, name), os.X_OK):
                    c.check(False, f"{name} is built", os.path.join(c.dir, name))
            if c.failed == 0:
                c.watch_exec()
                c.gate_deny()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"contract-{lang}: {c.passed} passed, {c.failed} failed", flush=True)
        failed += c.failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
