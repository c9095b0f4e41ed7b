# SPDX-License-Identifier: MIT
"""Tests of the Python binding (bindings/python/procward.py).

    python3 -m unittest discover -s tests/python -v

Unprivileged tests always run; the monitor tests need root and a kernel that
loads the programs, and are skipped otherwise.
"""

import os
import select
import shutil
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))

import procward  # noqa: E402

sys.path.insert(0, HERE)
import layout  # noqa: E402  (tests/python/layout.py)
from started import start_or_skip  # noqa: E402  (tests/python/started.py)

IS_ROOT = os.geteuid() == 0
TRUE = "/bin/true"
ECHO = "/bin/echo"


def collect(m: procward.Monitor, until, timeout: float = 10.0) -> list:
    """Events of m until until(events) holds or timeout seconds pass."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m.dispatch(100)
        seen.extend(m.drain())
        if until(seen):
            break
    return seen


class Unprivileged(unittest.TestCase):
    def test_library_and_version(self):
        self.assertTrue(os.path.exists(procward.library_path) or "/" not in procward.library_path)
        self.assertRegex(procward.version(), r"^\d+\.\d+\.\d+$")

    def test_features(self):
        f = procward.features()
        self.assertIsInstance(f, set)
        self.assertTrue(f <= set(procward.FEATURES))
        if os.path.exists("/sys/kernel/btf/vmlinux"):
            self.assertIn("btf", f)

    def test_snapshot_contains_self(self):
        procs = procward.snapshot(cmdline=True)
        self.assertGreater(len(procs), 1)
        me = [p for p in procs if p.pid == os.getpid()]
        self.assertEqual(len(me), 1)
        me = me[0]
        with open("/proc/self/cmdline", "rb") as f:
            cmdline = tuple(os.fsdecode(a) for a in f.read().split(b"\0")[:-1])
        self.assertEqual(me.args, cmdline)
        self.assertEqual(list(me.args), sys.orig_argv)
        with open("/proc/self/comm") as f:
            self.assertEqual(me.name, f.read().rstrip("\n"))
        self.assertEqual(me.ppid, os.getppid())
        self.assertEqual(me.uid, os.getuid())
        self.assertGreaterEqual(me.threads, 1)
        self.assertIn(me.state, "RSD")
        self.assertGreater(me.start_ns, 0)
        self.assertEqual(me.image, os.path.realpath(sys.executable))
        if IS_ROOT:
            self.assertEqual(me.user, "root")
        # immutable
        with self.assertRaises(Exception):
            me.pid = 1

    def test_snapshot_without_cmdline(self):
        procs = procward.snapshot(cmdline=False, image=False, user=False)
        me = next(p for p in procs if p.pid == os.getpid())
        self.assertEqual(me.args, ())
        self.assertIsNone(me.image)
        self.assertIsNone(me.user)

    def test_snapshot_error(self):
        with self.assertRaises(procward.Error) as cm:
            procward.snapshot(proc_root="/nonexistent/proc")
        self.assertGreater(cm.exception.errno, 0)
        self.assertTrue(cm.exception.strerror)
        self.assertIsInstance(cm.exception, OSError)

    def test_bad_rules_and_options(self):
        with self.assertRaises(procward.Error) as cm:
            procward.Monitor(rules=["include bogus x"])
        self.assertEqual(cm.exception.errno, procward.ERR_RULE_SYNTAX)
        self.assertIn("rule", cm.exception.strerror)
        with self.assertRaises(procward.Error) as cm:
            procward.Monitor(rules=["include name a-name-much-too-long"])
        self.assertEqual(cm.exception.errno, 36)  # ENAMETOOLONG
        with self.assertRaises(procward.Error) as cm:
            procward.Monitor(ringbuf_bytes=1000)
        self.assertEqual(cm.exception.errno, 22)  # EINVAL
        with self.assertRaises(ValueError):
            procward.Monitor(events=["exec", "bogus"])

    @unittest.skipUnless(shutil.which("cc"), "no C compiler")
    def test_struct_layouts_match_the_header(self):
        """The ctypes structs must equal include/procward.h, field by field."""
        layout.assert_layouts(self, {
            "pw_monitor_opts": procward._MonitorOpts,
            "pw_snapshot_opts": procward._SnapshotOpts,
            "pw_rule": procward._Rule,
            "pw_token": procward._Token,
            "pw_proc_key": procward._ProcKey,
            "pw_monitor_stats": procward._MonitorStats,
        })

    def test_rules_without_start(self):
        with procward.Monitor(events="exec,exit", rules=["exclude name true"]) as m:
            m.add_rule("include uid 0")
            with self.assertRaises(procward.Error) as cm:
                m.add_rule("include uid 0")
            self.assertEqual(cm.exception.errno, 17)  # EEXIST
            m.remove_rule("include uid 0")
            with self.assertRaises(procward.Error) as cm:
                m.remove_rule("include uid 0")
            self.assertEqual(cm.exception.errno, 2)  # ENOENT
            m.clear_rules()
            with self.assertRaises(procward.Error):
                m.fileno()  # not started
            self.assertEqual(m.stats().events_delivered, 0)
        with self.assertRaises(ValueError):
            m.add_rule("include uid 0")  # closed
        m.close()  # twice is fine


@unittest.skipUnless(IS_ROOT, "monitoring needs root")
class Privileged(unittest.TestCase):
    def test_exec_and_exit_of_a_child(self):
        with procward.Monitor(events={"exec", "process_exit"}) as m:
            start_or_skip(self, m)
            child = subprocess.Popen([TRUE, "with", "args"])
            child.wait()
            self.assertEqual(child.returncode, 0)

            def done(seen):
                return any(e.type == "process_exit" and e.pid == child.pid for e in seen)

            seen = [e for e in collect(m, done) if e.pid == child.pid]
            types = [e.type for e in seen]
            self.assertIn("exec", types)
            self.assertIn("process_exit", types)
            ex = next(e for e in seen if e.type == "exec")
            self.assertEqual(ex.args, (TRUE, "with", "args"))
            self.assertEqual(ex.filename, TRUE)
            self.assertEqual(ex.image, os.path.realpath(TRUE))
            self.assertEqual(ex.name, "true")
            self.assertEqual(ex.ppid, os.getpid())
            self.assertEqual(ex.key.pid, child.pid)
            self.assertGreater(ex.key.start_ns, 0)
            self.assertEqual(ex.cwd, os.getcwd())
            self.assertEqual(ex.token["uid"], 0)
            self.assertEqual(ex.token["user"], "root")
            self.assertNotIn("args_truncated", ex.flags)
            self.assertIsNone(ex.exit_code)
            with self.assertRaises(TypeError):
                ex.token["uid"] = 5  # read-only
            exit_ev = next(e for e in seen if e.type == "process_exit")
            self.assertEqual(exit_ev.exit_code, 0)
            self.assertIsNone(exit_ev.exit_signal)
            self.assertEqual(exit_ev.image, os.path.realpath(TRUE))
            self.assertEqual(exit_ev.args, (TRUE, "with", "args"))  # from the process table
            self.assertLess(types.index("exec"), types.index("process_exit"))
            st = m.stats()
            self.assertGreaterEqual(st.events_delivered, 2)
            self.assertGreater(st.processes_tracked, 0)

    def test_killed_child_and_fileno(self):
        with procward.Monitor(events="exit") as m:
            start_or_skip(self, m)
            child = subprocess.Popen(["/bin/sleep", "30"])
            time.sleep(0.1)
            child.kill()
            child.wait()
            r, _, _ = select.select([m], [], [], 10)  # fileno() makes it pollable
            self.assertEqual(r, [m])
            seen = collect(m, lambda s: any(e.pid == child.pid for e in s))
            ev = next(e for e in seen if e.pid == child.pid)
            self.assertEqual(ev.type, "process_exit")
            self.assertEqual(ev.exit_signal, 9)
            self.assertIsNone(ev.exit_code)

    def test_exclude_rule_drops_events(self):
        with procward.Monitor(events={"exec"}, rules=["exclude name true"]) as m:
            start_or_skip(self, m)
            excluded = subprocess.Popen([TRUE, "excluded"])
            excluded.wait()
            marker = subprocess.Popen([ECHO, "pw-marker"], stdout=subprocess.DEVNULL)
            marker.wait()
            seen = collect(m, lambda s: any(e.pid == marker.pid for e in s))
            pids = {e.pid for e in seen}
            self.assertIn(marker.pid, pids)
            self.assertNotIn(excluded.pid, pids)
            self.assertGreater(m.stats().events_filtered, 0)

    def test_callback_exception_propagates(self):
        class Boom(Exception):
            pass

        calls = []

        def callback(ev):
            calls.append(ev)
            if len(calls) == 1:
                raise Boom(f"from the callback on {ev.type}")

        # only this test's children: another exec on the machine cannot satisfy it
        with procward.Monitor(events={"exec"}, rules=[f"include pid {os.getpid()}"],
                              inherit_children=True, callback=callback) as m:
            start_or_skip(self, m)
            first = subprocess.Popen([TRUE, "first"])
            first.wait()
            with self.assertRaises(Boom):
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    m.dispatch(100)
            self.assertEqual(len(calls), 1)  # dispatch stopped at the failing callback
            self.assertEqual((calls[0].pid, calls[0].args), (first.pid, (TRUE, "first")))
            # the monitor survives and goes on with the events after it
            second = subprocess.Popen([TRUE, "second"])
            second.wait()
            collect_deadline = time.monotonic() + 10
            while len(calls) < 2 and time.monotonic() < collect_deadline:
                m.dispatch(100)
            self.assertEqual([(e.pid, e.args) for e in calls],
                             [(first.pid, (TRUE, "first")), (second.pid, (TRUE, "second"))])

    def test_callback_and_stop_from_another_thread(self):
        got = []
        with procward.Monitor(events="exec", rules=[f"include pid {os.getpid()}"],
                              inherit_children=True, callback=got.append) as m:
            start_or_skip(self, m)
            child = subprocess.Popen([TRUE, "threaded"])
            child.wait()
            timer = threading.Timer(0.5, m.stop)
            timer.start()
            t0 = time.monotonic()
            m.run(timeout=20)
            self.assertLess(time.monotonic() - t0, 10)
            self.assertTrue(m.stopped)
            timer.join()
            # exactly our child's exec: nothing else of this process tree ran
            self.assertEqual([(e.type, e.pid, e.args) for e in got],
                             [("exec", child.pid, (TRUE, "threaded"))])

    def test_iteration_until_stop(self):
        with procward.Monitor(events="exec") as m:
            start_or_skip(self, m)
            child = subprocess.Popen([TRUE, "iter"])
            child.wait()
            found = None
            for ev in m.events(timeout=10):
                if ev.pid == child.pid:
                    found = ev
                    m.stop()
            self.assertIsNotNone(found)
            self.assertEqual(found.args, (TRUE, "iter"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
