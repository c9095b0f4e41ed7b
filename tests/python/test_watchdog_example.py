# SPDX-License-Identifier: MIT
"""bindings/python/examples/watchdog.py against real targets it starts: a
target that maps and unmaps 64 MiB on command is reniced exactly once per
crossing of "rss > 32M"; a busy loop over a CPU rule is killed, once."""

import os
import select
import signal
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))

import procward  # noqa: E402

WATCHDOG = os.path.join(HERE, "..", "..", "bindings", "python", "examples", "watchdog.py")
TARGET = r"""
import mmap, os
region = None
while (c := os.read(0, 1)):
    if c == b"a" and region is None:
        region = mmap.mmap(-1, 64 << 20)
        for i in range(0, 64 << 20, 4096):
            region[i] = 1
    elif c == b"f" and region is not None:
        region.close()  # munmap: the pages leave the resident set
        region = None
    os.write(1, b"target " + c + b"\n")
"""


def proc_nice(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    return int(data[data.rindex(")") + 2:].split()[16])  # field 19


class Run:
    """The watchdog with pipes on stdin/stdout; every read has a deadline."""

    def __init__(self, test, args):
        self.test = test
        self.p = subprocess.Popen([sys.executable, WATCHDOG, *args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""
        self.actions = 0

    def until(self, prefix: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                text = line.decode()
                if text.startswith("action "):
                    self.actions += 1
                if text.startswith(prefix):
                    return text
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                self.test.fail(f"no line starting with {prefix!r}")
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                self.test.fail(f"EOF before a line starting with {prefix!r}")
            self.buf += chunk

    def send(self, c: bytes) -> None:
        self.p.stdin.write(c)
        self.p.stdin.flush()

    def finish(self) -> int:
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()  # bounded; its target dies with it (PDEATHSIG)
            self.p.wait()
            raise
        finally:
            self.p.stdout.close()
            self.p.stderr.close()


@unittest.skipUnless(os.geteuid() == 0, "the sampler needs root")
class WatchdogExample(unittest.TestCase):
    def setUp(self):
        if "task_iter" not in procward.features():
            self.skipTest("no BPF task iterator on this kernel")

    def test_rss_renice_once_per_crossing(self):
        r = Run(self, ["-v", "-i", "100", "-a", "renice", "-r", "rss > 32M",
                       "--", sys.executable, "-c", TARGET])
        try:
            line = r.until("watchdog: pid ", 30)
            target = int(line.split()[2])
            for crossing in (1, 2):
                r.send(b"a")  # a sample may see it cross while it still touches pages
                self.assertEqual(r.until("action renice"),
                                 f"action renice pid {target} nice {5 * crossing}")
                self.assertEqual(proc_nice(target), 5 * crossing)
                for _ in range(4):  # more samples above: nothing more
                    r.until("sample pid")
                self.assertEqual(r.actions, crossing)
                r.send(b"f")
                r.until("target f")
                for _ in range(2):  # below: re-armed, nothing done
                    r.until("sample pid")
                self.assertEqual(r.actions, crossing)
            self.assertEqual(proc_nice(target), 10)
            r.p.stdin.close()  # EOF: the target exits 0
            self.assertTrue(r.until("exit pid").endswith(" code 0 actions 2"))
        finally:
            code = r.finish()
        self.assertEqual(code, 0)

    def test_cpu_kill_once(self):
        r = Run(self, ["-i", "200", "-a", "kill", "-r", "cpu > 1%",
                       "--", "/bin/sh", "-c", "while :; do :; done"])
        try:
            r.until("watchdog: pid ", 30)
            r.until("alert rule 0 cpu ", 20)
            self.assertTrue(r.until("exit pid", 20).endswith(" signal 9 actions 1"))
            self.assertEqual(r.actions, 1)
        finally:
            code = r.finish()
        self.assertEqual(code, 128 + signal.SIGKILL)

    def test_bad_arguments(self):
        for args in (["-r", "cpu < 5", "--", "/bin/true"], ["-a", "explode", "-r", "cpu > 5",
                     "--", "/bin/true"], ["-r", "cpu > 5"], ["/bin/true"]):
            p = subprocess.run([sys.executable, WATCHDOG, *args], capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 2, args)


if __name__ == "__main__":
    unittest.main()
