# SPDX-License-Identifier: MIT
"""Tests of the Python binding's access-operation and exec-gate API.

    python3 -m unittest discover -s tests/python -v

Every gate only denies programs this test copied into its own temporary
directory (each copy made unique, so no rule or cached verdict can match a
system file): rules name those paths, handlers are scoped to this process's
children and allow anything else at once. Gates are closed in tearDown, run
with short deadlines that allow, and a watchdog (faulthandler) kills a hung
test, which makes the kernel release every exec waiting on its gates.
"""

import errno
import faulthandler
import gc
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
import weakref

HERE = os.path.dirname(os.path.abspath(__file__))

# The gate answers an exec of a child that shares its memory (vfork,
# posix_spawn) as its own, at once, so such a child never waits holding the
# fanotify group (issue 11). These tests gate their own children, so they
# start them with fork(), whose children the gate judges like any process.
subprocess._USE_VFORK = False
subprocess._USE_POSIX_SPAWN = False
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))

import procward  # noqa: E402

sys.path.insert(0, HERE)
import layout  # noqa: E402  (tests/python/layout.py)
from started import UNAVAILABLE, start_or_skip  # noqa: E402  (tests/python/started.py)

IS_ROOT = os.geteuid() == 0
WATCHDOG_S = 120


def copy_program(directory: str, tag: str, source: str = "/bin/true") -> str:
    """A private copy of `source`, with a unique trailer: its own inode and hash."""
    path = os.path.join(directory, f"pwpy-{tag}-{uuid.uuid4().hex[:4]}")
    shutil.copyfile(source, path)
    with open(path, "ab") as f:
        f.write(b"\0procward-python-test " + uuid.uuid4().bytes)  # after the ELF: ignored
    os.chmod(path, 0o755)
    return path


def run(path: str, *args: str):
    """Run path with args: its exit code, or the OSError the exec failed with."""
    try:
        return subprocess.run([path, *args], timeout=10).returncode
    except OSError as e:
        return e


def wait_until(cond, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def stats_when(gate: procward.Gate, cond) -> procward.GateStats:
    """The gate's stats once cond(stats) holds (or after 5 s): the library
    counts a decision just after answering it, so the exec may end first."""
    wait_until(lambda: cond(gate.stats()))
    return gate.stats()


# ------------------------------------------------------------ no privileges


class AccessUnprivileged(unittest.TestCase):
    def test_names_and_parse(self):
        self.assertEqual(procward.parse_access("terminate,debug,write-memory"),
                         {"terminate", "debug", "write-memory"})
        self.assertEqual(procward.parse_access(["terminate", " debug "]), {"terminate", "debug"})
        self.assertEqual(procward.parse_access("all"), frozenset(procward.ACCESS))
        self.assertEqual(procward.parse_access("memory"), {"read-memory", "write-memory"})
        self.assertEqual(procward.parse_access(procward.ACCESS["signal"]), {"signal"})
        self.assertEqual(procward.ACCESS_ALL, 0x3FF)  # with set-limits (prlimit)
        self.assertEqual(procward.ACCESS["duplicate-handle"], 1 << 8)
        self.assertEqual(procward.ACCESS_OPS[10], "pidfd_getfd")
        self.assertEqual(procward.ACCESS_OPS[5], "kill")
        self.assertEqual(procward.access_names(0x11), {"debug", "terminate"})
        self.assertIn("process_access", procward.EVENT_TYPES)
        self.assertIn("thread_access", procward.EVENT_TYPES)
        with self.assertRaises(ValueError):
            procward.parse_access("terminate,bogus")
        with self.assertRaises(ValueError):
            procward.parse_access(1 << 20)

    def test_target_validation(self):
        with procward.Monitor(events="access") as m:
            with self.assertRaises(ValueError):
                m.watch_access()  # neither pid nor name
            with self.assertRaises(ValueError):
                m.watch_access(pid=1, name="init")  # both
            with self.assertRaises(ValueError):
                m.watch_access(pid=os.getpid(), access="bogus")
            with self.assertRaises(procward.Error) as cm:
                m.watch_access(name="a-name-much-too-long")
            self.assertEqual(cm.exception.errno, errno.ENAMETOOLONG)
            with self.assertRaises(procward.Error) as cm:
                m.unwatch_access(name="pwpy-none")
            self.assertEqual(cm.exception.errno, errno.ENOENT)
            with self.assertRaises(procward.Error) as cm:
                m.add_access_originator_rule("include name bash")  # pid and uid only
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            with self.assertRaises(procward.Error) as cm:
                m.add_access_originator_rule("include bogus 1")
            self.assertEqual(cm.exception.errno, procward.ERR_RULE_SYNTAX)
            with self.assertRaises(ValueError):
                m.protect(pid=os.getpid(), deny=())  # no right
            with self.assertRaises(TypeError):
                m.protect(pid=os.getpid())  # deny is required

    def test_watch_a_dead_pid(self):
        child = subprocess.Popen(["/bin/true"])
        child.wait()  # reaped: the pid names nothing
        with procward.Monitor(events="access") as m:
            with self.assertRaises(procward.Error) as cm:
                m.watch_access(pid=child.pid)
            self.assertEqual(cm.exception.errno, errno.ESRCH)

    def test_protect_without_bpf_lsm_is_refused(self):
        """Without BPF LSM, protect() raises the documented error: never a silent no-op."""
        if procward.enforcement_available():
            self.skipTest("BPF LSM works here: Privileged tests check enforcement")
        with procward.Monitor(events="access") as m:
            with self.assertRaises(procward.EnforcementUnavailable) as cm:
                m.protect(pid=os.getpid(), deny={"terminate", "debug"})
            e = cm.exception
            self.assertIsInstance(e, procward.ProcwardError)
            self.assertIsInstance(e, OSError)
            self.assertEqual(e.errno, procward.ERR_ENFORCE_UNAVAILABLE)
            self.assertIn("enforce", e.strerror)
            with self.assertRaises(procward.Error) as cm:
                m.unprotect(pid=os.getpid())  # nothing was stored
            self.assertEqual(cm.exception.errno, errno.ENOENT)


class GateUnprivileged(unittest.TestCase):
    def test_options_and_rules(self):
        with self.assertRaises(procward.Error) as cm:
            procward.Gate(workers=5000)
        self.assertEqual(cm.exception.errno, errno.EINVAL)
        with self.assertRaises(ValueError):
            procward.Gate(timeout_verdict="maybe")
        with self.assertRaises(ValueError):
            procward.Gate(interpreters="sometimes")
        with self.assertRaises(procward.Error) as cm:
            procward.Gate(rules=["deny bogus"])
        self.assertEqual(cm.exception.errno, procward.ERR_RULE_SYNTAX)

        with procward.Gate(rules=["deny path /nonexistent/pwpy-a"], timeout_ms=2000,
                           timeout_verdict=procward.DENY, error_verdict="deny") as g:
            g.add_rule("allow name pwpy-b cache")
            g.add_rule(procward.GateRule(action="deny", path="/nonexistent/pwpy-c", errno=11))
            g.add_rule(action="gate", by_pid=os.getpid(), children=True)
            with self.assertRaises(procward.Error) as cm:  # a cached verdict cannot depend on who
                g.add_rule(action="deny", by_name="pwpy", cache=True)
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            with self.assertRaises(procward.Error) as cm:
                g.add_rule(action="deny", path="relative/path")
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            with self.assertRaises(ValueError):
                g.add_rule(action="deny", sha256=b"short")
            with self.assertRaises(TypeError):
                g.add_rule("deny name x", action="deny")
            g.remove_rule(1)
            with self.assertRaises(procward.Error) as cm:
                g.remove_rule(3)  # 3 rules left: 0..2
            self.assertEqual(cm.exception.errno, errno.ENOENT)
            self.assertFalse(g.started)
            self.assertEqual(g.stats().decisions, 0)
        with self.assertRaises(ValueError):
            g.add_rule("deny name x")  # closed
        g.close()  # twice is fine

    def test_rule_parse(self):
        r = procward.GateRule.parse("deny errno EAGAIN path /tmp/x uid 7 by-name pwpy "
                                    "children arg --yes")
        self.assertEqual(r, procward.GateRule(action="deny", errno=errno.EAGAIN, path="/tmp/x",
                                              uid=7, by_name="pwpy", children=True,
                                              arg="--yes"))
        digest = hashlib.sha256(b"pwpy").digest()
        r = procward.GateRule.parse(f"allow sha256 {digest.hex()} cache")
        self.assertEqual((r.action, r.sha256, r.cache), ("allow", digest, True))
        self.assertEqual(procward.GateRule.parse("gate by-pid 42").by_pid, 42)

    def test_rules_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            good = os.path.join(tmp, "good.rules")
            with open(good, "w") as f:
                f.write("# procward python test\ndeny path /nonexistent/pwpy-a\n\n"
                        "allow name pwpy-b  # trailing comment\n")
            bad = os.path.join(tmp, "bad.rules")
            with open(bad, "w") as f:
                f.write("deny path /nonexistent/pwpy-a\nfrobnicate everything\n")
            with procward.Gate() as g:
                self.assertEqual(g.load_rules_file(good), 2)
                with self.assertRaises(procward.Error) as cm:
                    g.load_rules_file(bad)
                self.assertIn(f"{bad}:2", str(cm.exception))
                g.remove_rule(1)  # only the good file's two rules are there
                with self.assertRaises(procward.Error):
                    g.remove_rule(1)

    @unittest.skipUnless(shutil.which("cc"), "no C compiler")
    def test_struct_layouts_match_the_header(self):
        """The new ctypes structs must equal include/procward.h, field by field."""
        layout.assert_layouts(self, {
            "pw_access_target": procward._AccessTarget,
            "pw_protect_rule": procward._ProtectRule,
            "pw_gate_opts": procward._GateOpts,
            "pw_gate_rule": procward._GateRule,
            "pw_gate_stats": procward._GateStats,
        })


# ------------------------------------------------------------ access events


def access_events(m: procward.Monitor, target_pid: int, until, timeout: float = 5.0) -> list:
    """Access events on target_pid until until(events) holds or timeout passes."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m.dispatch(50)
        seen.extend(e for e in m.drain() if e.is_access and e.target_pid == target_pid)
        if until(seen):
            break
    return seen


def pump(m: procward.Monitor, target_pid: int, seconds: float = 0.3) -> list:
    return access_events(m, target_pid, lambda s: False, seconds)


@unittest.skipUnless(IS_ROOT, "access events need root")
class AccessPrivileged(unittest.TestCase):
    def setUp(self):
        self.children = []

    def tearDown(self):
        for c in self.children:
            if c.poll() is None:
                c.kill()
                c.wait()

    def spawn(self, argv) -> subprocess.Popen:
        child = subprocess.Popen(argv)
        self.children.append(child)
        return child

    def start(self, m: procward.Monitor) -> None:
        start_or_skip(self, m, "monitoring")

    def test_kill_sigterm_of_a_watched_child(self):
        child = self.spawn(["/bin/sleep", "30"])
        other = self.spawn(["/bin/sleep", "30"])
        with procward.Monitor(events="access") as m:
            m.watch_access(pid=child.pid)
            self.start(m)

            pidfd = os.pidfd_open(child.pid)
            try:
                seen = access_events(m, child.pid, lambda s: s)
            finally:
                os.close(pidfd)
            self.assertEqual(len(seen), 1, seen)
            ev = seen[0]
            self.assertEqual(ev.access_op, "pidfd_open")
            self.assertEqual(ev.access, {"open-handle"})
            self.assertEqual(ev.result, pidfd)

            with self.assertRaises(OSError) as cm:
                os.kill(child.pid, 999)  # fails in the kernel: reported with its errno
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            seen = access_events(m, child.pid, lambda s: s)
            self.assertEqual([(e.access_op, e.result) for e in seen], [("kill", -errno.EINVAL)])

            os.kill(other.pid, signal.SIGTERM)  # not watched: never reported
            os.kill(child.pid, signal.SIGTERM)
            seen = access_events(m, child.pid, lambda s: s)
            self.assertEqual(child.wait(10), -signal.SIGTERM)
            self.assertEqual(len(seen), 1, seen)
            ev = seen[0]
            self.assertEqual(ev.type, "process_access")
            self.assertTrue(ev.is_access)
            # the originator: this thread of this process
            self.assertEqual(ev.pid, os.getpid())
            self.assertEqual(ev.tid, threading.get_native_id())
            self.assertEqual(ev.token["uid"], os.getuid())
            # the target
            self.assertEqual(ev.target_pid, child.pid)
            self.assertEqual(ev.target_tid, child.pid)
            self.assertEqual(ev.target_key.pid, child.pid)
            self.assertEqual(ev.target_name, "sleep")
            self.assertEqual(ev.access, {"terminate"})
            self.assertEqual(ev.access_mask, procward.ACCESS["terminate"])
            self.assertEqual(ev.access_op, "kill")
            self.assertEqual(ev.signal, signal.SIGTERM)
            self.assertEqual(ev.result, 0)
            self.assertFalse(ev.denied)

            self.assertEqual(other.wait(10), -signal.SIGTERM)
            self.assertEqual(pump(m, other.pid), [])

    def test_watch_by_name_rights_and_originator_rules(self):
        with tempfile.TemporaryDirectory(prefix="pw-py-access-") as tmp:
            sleeper = copy_program(tmp, "acc", "/bin/sleep")  # comm: its name (13 chars)
            comm = os.path.basename(sleeper)
            child = self.spawn([sleeper, "30"])
            with procward.Monitor(events={"process_access", "thread_access"}) as m:
                m.watch_access(name=comm, access={"signal"})
                self.start(m)

                os.kill(child.pid, signal.SIGSTOP)  # suspend-resume: not a watched right
                os.kill(child.pid, signal.SIGCONT)
                os.kill(child.pid, signal.SIGWINCH)  # "signal" (ignored by sleep)
                seen = access_events(m, child.pid, lambda s: s)
                seen += pump(m, child.pid)
                self.assertEqual([(e.access_op, e.signal, e.access) for e in seen],
                                 [("kill", signal.SIGWINCH, {"signal"})])
                self.assertEqual(seen[0].target_name, comm)

                # an originator rule: our own calls are filtered in the kernel, and counted
                m.add_access_originator_rule(f"exclude pid {os.getpid()}")
                os.kill(child.pid, signal.SIGWINCH)
                self.assertEqual(pump(m, child.pid), [])
                self.assertGreaterEqual(m.stats().events_filtered, 1)
                m.clear_access_originator_rules()
                os.kill(child.pid, signal.SIGWINCH)
                self.assertEqual(len(access_events(m, child.pid, lambda s: s)), 1)

                # watching again replaces the rights
                m.watch_access(name=comm, access="suspend-resume")
                os.kill(child.pid, signal.SIGWINCH)
                os.kill(child.pid, signal.SIGSTOP)
                os.kill(child.pid, signal.SIGCONT)
                seen = access_events(m, child.pid, lambda s: len(s) >= 2)
                seen += pump(m, child.pid)
                self.assertEqual([e.signal for e in seen], [signal.SIGSTOP, signal.SIGCONT])
                self.assertTrue(all(e.access == {"suspend-resume"} for e in seen))

                m.unwatch_access(name=comm)
                os.kill(child.pid, signal.SIGWINCH)
                self.assertEqual(pump(m, child.pid), [])
                with self.assertRaises(procward.Error) as cm:
                    m.unwatch_access(name=comm)
                self.assertEqual(cm.exception.errno, errno.ENOENT)

    def test_watch_access_all(self):
        child = self.spawn(["/bin/sleep", "30"])
        with procward.Monitor(events="access") as m:
            self.start(m)
            m.watch_access_all("terminate")
            os.kill(child.pid, signal.SIGTERM)
            seen = access_events(m, child.pid, lambda s: s)
            self.assertEqual([(e.access_op, e.signal) for e in seen], [("kill", signal.SIGTERM)])
            self.assertEqual(child.wait(10), -signal.SIGTERM)

            m.watch_access_all(None)  # off
            child2 = self.spawn(["/bin/sleep", "30"])
            os.kill(child2.pid, signal.SIGTERM)
            self.assertEqual(pump(m, child2.pid), [])

    def test_protect(self):
        """Enforced where BPF LSM works; elsewhere the documented refusal, and no denial."""
        child = self.spawn(["/bin/sleep", "30"])
        with procward.Monitor(events="access") as m:
            if not procward.enforcement_available():
                with self.assertRaises(procward.EnforcementUnavailable):
                    m.protect(pid=child.pid, deny="terminate")
                m.watch_access(pid=child.pid)
                self.start(m)
                with self.assertRaises(procward.EnforcementUnavailable) as cm:
                    m.protect(pid=child.pid, deny="terminate")
                self.assertEqual(cm.exception.errno, procward.ERR_ENFORCE_UNAVAILABLE)
                with self.assertRaises(procward.Error) as cm:
                    m.unprotect(pid=child.pid)
                self.assertEqual(cm.exception.errno, errno.ENOENT)
                os.kill(child.pid, signal.SIGTERM)  # nothing stops it
                seen = access_events(m, child.pid, lambda s: s)
                self.assertEqual(child.wait(10), -signal.SIGTERM)
                self.assertEqual(len(seen), 1)
                self.assertFalse(seen[0].denied)
                return

            m.protect(pid=child.pid, deny={"terminate"})
            self.start(m)
            with self.assertRaises(PermissionError):
                os.kill(child.pid, signal.SIGTERM)
            seen = access_events(m, child.pid, lambda s: s)
            self.assertEqual(len(seen), 1)
            self.assertTrue(seen[0].denied)
            self.assertEqual(seen[0].result, -errno.EPERM)
            self.assertIsNone(child.poll())
            # the rule replaced by one that excepts our uid: we get through
            m.protect(pid=child.pid, deny={"terminate"}, except_uid=os.geteuid())
            os.kill(child.pid, signal.SIGTERM)
            self.assertEqual(child.wait(10), -signal.SIGTERM)


# ------------------------------------------------------------ the exec gate


@unittest.skipUnless(IS_ROOT, "the exec gate needs root")
class GatePrivileged(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if "fanotify_exec" not in procward.features():
            raise unittest.SkipTest("fanotify FAN_OPEN_EXEC_PERM is unavailable here")
        cls.dir = tempfile.mkdtemp(prefix="pw-py-gate-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        # a hung test dies, and with it every fanotify group: waiting execs are released
        faulthandler.dump_traceback_later(WATCHDOG_S, exit=True)
        self.gates = []

    def tearDown(self):
        for g in self.gates:
            g.close()
        faulthandler.cancel_dump_traceback_later()

    def program(self, tag: str) -> str:
        return copy_program(self.dir, tag)

    def gate(self, handler=None, scoped: bool = True, **kw) -> procward.Gate:
        """A started gate. With a handler: only this process's children are
        asked, and the handler sees only our programs (the rest: allowed)."""
        kw.setdefault("timeout_ms", 2000)
        kw.setdefault("timeout_verdict", "allow")
        rules = list(kw.pop("rules", ()))
        if handler is not None and scoped:
            rules.append(f"gate by-pid {os.getpid()} children")
            inner = handler

            def handler(req):
                if not (req.image or "").startswith(self.dir + os.sep):
                    return procward.ALLOW
                return inner(req)
        g = procward.Gate(handler, rules=rules, **kw)
        self.gates.append(g)
        start_or_skip(self, g, "the exec gate")
        return g

    def assertDenied(self, result, err=errno.EPERM):
        self.assertIsInstance(result, OSError, f"not denied: {result!r}")
        self.assertEqual(result.errno, err)

    # -- static rules

    def test_rule_denies_our_copy_only(self):
        denied, allowed = self.program("deny"), self.program("allow")
        g = self.gate(rules=[f"deny path {denied}"])
        self.assertTrue(g.started)
        result = run(denied)
        self.assertIsInstance(result, PermissionError)
        self.assertDenied(result)
        self.assertEqual(run(allowed), 0)
        self.assertEqual(run("/bin/true"), 0)
        st = stats_when(g, lambda st: st.denied >= 1 and st.allowed >= 2)
        # exactly one deny: the one rule names our copy, and nothing else is denied
        self.assertEqual(st.denied, 1)
        self.assertEqual(st.by_rule, 1)
        self.assertGreaterEqual(st.allowed, 2)  # the rest of the machine execs too
        self.assertGreaterEqual(st.filesystems_marked, 1)
        g.stop()
        self.assertFalse(g.started)
        self.assertEqual(run(denied), 0)  # a stopped gate leaves nothing behind
        g.start()  # and starts again
        self.assertDenied(run(denied))

    def test_sha256_rule_struct(self):
        denied, twin = self.program("hash"), self.program("twin")
        with open(denied, "rb") as f:
            digest = hashlib.sha256(f.read()).digest()
        g = self.gate(rules=[procward.GateRule(action="deny", errno=0, sha256=digest,
                                               by_pid=os.getpid(), children=True)])
        self.assertDenied(run(denied))
        self.assertEqual(run(twin), 0)  # the same program, another hash
        self.assertGreaterEqual(stats_when(g, lambda st: st.by_rule >= 1).by_rule, 1)

    def test_decision_records(self):
        denied, allowed = self.program("rec-deny"), self.program("rec-allow")
        records = []
        g = self.gate(rules=[f"deny path {denied}"], on_decision=records.append)
        self.assertDenied(run(denied, "one", "two words"))
        self.assertEqual(run(allowed), 0)

        def find(image):
            return next((r for r in list(records) if r.image == image), None)

        self.assertTrue(wait_until(lambda: find(denied) and find(allowed)))
        g.stop()  # joins the decision thread
        d = find(denied)
        self.assertEqual(d.verdict, procward.DENY)
        self.assertFalse(d.allowed)
        self.assertEqual(d.reason, "rule")
        self.assertEqual(d.rule, 0)
        self.assertEqual(d.errno, errno.EPERM)
        self.assertEqual(d.args, (denied, "one", "two words"))
        self.assertEqual(d.filename, denied)
        self.assertEqual(d.uid, 0)
        self.assertFalse(d.audit)
        self.assertFalse(d.is_interpreter)
        self.assertGreater(d.pid, 0)
        self.assertGreater(d.time_ns, 0)
        a = find(allowed)
        self.assertEqual((a.verdict, a.reason, a.rule), (procward.ALLOW, "default", None))

    # -- the handler

    def test_handler_sees_the_request_and_decides(self):
        denied, allowed = self.program("h-deny"), self.program("h-allow")
        seen, returns = [], []

        def handler(req):
            seen.append(req)
            digest = req.sha256()
            with open(req.image, "rb") as f:
                self.assertEqual(digest, hashlib.sha256(f.read()).digest())
            self.assertGreaterEqual(req.fileno(), 0)
            if req.image == denied:
                returns.append(req.deny(errno.EPERM))
            else:
                returns.append(req.allow())
            returns.append(req.allow())  # a second verdict is too late, not an error

        g = self.gate(handler)
        self.assertDenied(run(denied, "alpha", "beta gamma"))
        child = subprocess.Popen([allowed, "x"])
        self.assertEqual(child.wait(10), 0)
        # the exec may end before the handler that allowed it has returned
        self.assertTrue(wait_until(lambda: len(returns) == 4))
        self.assertEqual(returns, [True, False, True, False])
        self.assertEqual([r.image for r in seen], [denied, allowed])
        with open("/proc/self/comm") as f:
            comm = f.read().strip()
        req = seen[0]
        self.assertEqual(req.args, (denied, "alpha", "beta gamma"))
        self.assertEqual(req.argv, req.args)
        self.assertEqual(req.filename, denied)
        self.assertEqual(req.name, comm)  # the process before the exec: a fork of ours
        self.assertEqual(req.ppid, os.getpid())
        self.assertEqual(req.uid, os.getuid())
        self.assertEqual(req.token["euid"], os.geteuid())
        self.assertFalse(req.is_interpreter)
        self.assertEqual(req.flags, frozenset())
        req = seen[1]
        self.assertEqual((req.pid, req.tid, req.key.pid), (child.pid,) * 3)
        self.assertEqual(req.args, (allowed, "x"))
        # the handler returned: the C request is released, the copied facts stay
        self.assertFalse(req.allow())
        with self.assertRaises(ValueError):
            req.sha256()
        st = g.stats()
        # the handler was asked about our two children only (scoped by pid), and the
        # second verdict of each call was refused within the handler, not counted late
        self.assertEqual(st.by_handler, 2)
        self.assertEqual(st.late_verdicts, 0)
        self.assertEqual(st.handler_errors, 0)

    def test_argv_in_kernel(self):
        prog = self.program("kargv")
        seen = []
        self.gate(lambda req: seen.append(req) or True, argv_in_kernel=True)
        self.assertEqual(run(prog, "k1", "k 2"), 0)
        self.assertEqual([(r.args, r.filename, r.flags) for r in seen],
                         [((prog, "k1", "k 2"), prog, frozenset())])

    def test_returned_verdicts(self):
        by_true, by_deny, by_none = (self.program(t) for t in ("r-true", "r-deny", "r-none"))
        answers = {by_true: True, by_deny: procward.DENY, by_none: None}
        g = self.gate(lambda req: answers[req.image], timeout_verdict="deny", timeout_ms=5000)
        self.assertEqual(run(by_true), 0)
        self.assertDenied(run(by_deny))
        t0 = time.monotonic()
        self.assertDenied(run(by_none))  # no verdict: timeout_verdict at once, not at the deadline
        self.assertLess(time.monotonic() - t0, 2.5)
        st = g.stats()
        self.assertEqual(st.timed_out, 0)
        self.assertEqual(st.handler_errors, 0)

    def test_handler_exception_gives_the_error_verdict(self):
        prog = self.program("boom")

        class Boom(Exception):
            pass

        def raising(req):
            raise Boom(req.image)

        errors = []
        g = self.gate(raising, error_verdict="deny", on_error=lambda r, e: errors.append((r, e)))
        self.assertDenied(run(prog))
        self.assertEqual(len(errors), 1)
        req, exc = errors[0]
        self.assertIsInstance(exc, Boom)
        self.assertEqual(req.image, prog)
        self.assertEqual(g.stats().handler_errors, 1)
        g.close()

        # fail-open by default; a return value that is no verdict is a failure too
        errors.clear()
        g = self.gate(lambda req: 0, on_error=lambda r, e: errors.append(e))
        self.assertEqual(run(prog), 0)
        self.assertEqual(len(errors), 1)
        self.assertIsInstance(errors[0], TypeError)
        self.assertEqual(g.stats().handler_errors, 1)

    def test_owner_calls_are_refused_in_the_handler(self):
        prog = self.program("owner")
        errors = []

        def handler(req):
            for call in (g.stop, g.close, lambda: g.add_rule("deny name x")):
                try:
                    call()
                except RuntimeError as e:
                    errors.append(e)
            return True

        g = self.gate(handler)
        self.assertEqual(run(prog), 0)
        self.assertEqual(len(errors), 3)
        self.assertTrue(g.started)

    def test_allow_cached_asks_once(self):
        prog = self.program("c-allow")
        calls = []

        def handler(req):
            calls.append(req.image)
            req.allow_cached()

        g = self.gate(handler)
        self.assertEqual(run(prog, "first"), 0)
        # cached just after the answer: the next exec must not overtake it
        self.assertEqual(stats_when(g, lambda st: st.cache_entries >= 1).cache_entries, 1)
        self.assertEqual(run(prog, "second"), 0)
        self.assertEqual(calls, [prog])
        st = g.stats()
        self.assertGreaterEqual(st.cache_hits, 1)
        self.assertGreaterEqual(st.cache_entries, 1)
        self.assertEqual(st.cache_refused, 0)
        # a rule added while running drops every cached verdict: asked again
        g.add_rule(f"deny path {self.dir}/pwpy-nothing")
        self.assertEqual(run(prog, "third"), 0)
        self.assertEqual(calls, [prog, prog])
        self.assertGreaterEqual(g.stats().cache_flushes, 1)

    def test_deny_cached_asks_once(self):
        prog = self.program("c-deny")
        calls = []

        def handler(req):
            calls.append(req.image)
            req.deny_cached(0)

        g = self.gate(handler)
        self.assertDenied(run(prog))
        self.assertEqual(stats_when(g, lambda st: st.cache_entries >= 1).cache_entries, 1)
        self.assertDenied(run(prog))
        self.assertEqual(calls, [prog])
        self.assertGreaterEqual(stats_when(g, lambda st: st.cache_hits >= 1).cache_hits, 1)

    def test_deny_errno(self):
        prog = self.program("errno")
        g = self.gate(lambda req: req.deny(errno.EAGAIN) and None)
        result = run(prog)
        if g.deny_errno_supported:
            self.assertIsInstance(result, BlockingIOError)
            self.assertDenied(result, errno.EAGAIN)
        else:
            self.assertDenied(result, errno.EPERM)

    def test_defer_and_answer_from_another_thread(self):
        prog = self.program("defer")
        deferred, answered = [], []

        def handler(req):
            self.assertTrue(req.defer())
            deferred.append(req)

            def later():
                answered.append(req.deny())
                answered.append(req.allow())  # released: too late

            threading.Timer(0.3, later).start()

        g = self.gate(handler)
        t0 = time.monotonic()
        self.assertDenied(run(prog))
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.assertTrue(wait_until(lambda: len(answered) == 2))
        self.assertEqual(answered, [True, False])
        with self.assertRaises(ValueError):
            deferred[0].fileno()
        self.assertEqual(g.stats().timed_out, 0)

    def test_deferred_request_outlives_a_stop_safely(self):
        prog = self.program("defer-stop")
        deferred = []

        def handler(req):
            req.defer()
            deferred.append(req)

        g = self.gate(handler, timeout_verdict="deny", timeout_ms=10000)
        child = threading.Thread(target=lambda: deferred.append(run(prog)))
        child.start()
        self.assertTrue(wait_until(lambda: deferred))
        g.stop()  # answers the pending exec with timeout_verdict
        child.join(10)
        self.assertFalse(child.is_alive())
        req, result = deferred
        self.assertDenied(result)
        self.assertFalse(req.allow())  # never touches the freed request
        self.assertFalse(req.extend(100))

    def test_timeout_and_late_verdict(self):
        prog = self.program("slow")
        late = []
        done = threading.Event()

        def handler(req):
            time.sleep(0.8)
            late.append(req.allow())
            done.set()

        g = self.gate(handler, timeout_ms=300, timeout_verdict="deny")
        t0 = time.monotonic()
        self.assertDenied(run(prog))
        elapsed = time.monotonic() - t0
        self.assertTrue(done.wait(5))
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 0.8)
        self.assertEqual(late, [False])
        st = g.stats()
        self.assertEqual(st.timed_out, 1)
        self.assertEqual(st.late_verdicts, 1)

    def test_extend_the_deadline(self):
        prog = self.program("extend")
        answers = []

        def handler(req):
            answers.append(req.extend(3000))
            time.sleep(0.6)
            answers.append(req.deny())

        g = self.gate(handler, timeout_ms=300, timeout_verdict="allow", max_extensions=1)
        self.assertDenied(run(prog))  # the handler's own verdict, after the first deadline
        self.assertTrue(wait_until(lambda: len(answers) == 2))
        self.assertEqual(answers, [True, True])
        st = g.stats()
        self.assertEqual(st.extensions, 1)
        self.assertEqual(st.timed_out, 0)

    def test_exec_from_a_gil_holding_spawn_does_not_hang(self):
        """os.posix_spawn keeps the GIL while the child's exec runs: the gate
        answers that child (it shares the gate's memory) as its own, at once,
        so neither the handler nor the deadline is needed."""
        prog = self.program("spawn")
        g = self.gate(lambda req: procward.DENY, timeout_ms=500, timeout_verdict="allow")
        t0 = time.monotonic()
        try:
            pid = os.posix_spawn(prog, [prog], os.environ)
        except PermissionError:
            result = "denied by the handler"  # a Python that drops the GIL there
        else:
            _, status = os.waitpid(pid, 0)
            result = os.waitstatus_to_exitcode(status)
            self.assertEqual(result, 0)
            st = g.stats()
            self.assertEqual(st.timed_out, 0)
            self.assertEqual(st.by_handler, 0)
        self.assertLess(time.monotonic() - t0, 3, result)

    def test_a_running_gate_is_not_collected(self):
        prog = self.program("gc")
        g = self.gate(rules=[f"deny path {prog}"])
        ref = weakref.ref(g)
        self.gates.remove(g)
        del g
        gc.collect()
        self.assertIsNotNone(ref())  # the C gate still calls into it
        self.assertDenied(run(prog))
        ref().close()
        gc.collect()
        self.assertIsNone(ref())
        self.assertEqual(run(prog), 0)

    def test_context_manager(self):
        prog = self.program("with")
        with procward.Gate(rules=[f"deny path {prog}"], timeout_ms=2000) as g:
            try:
                g.start()
            except procward.Error as e:
                if e.errno in UNAVAILABLE:
                    self.skipTest(str(e))
                raise
            self.assertDenied(run(prog))
        self.assertEqual(run(prog), 0)
        with self.assertRaises(ValueError):
            g.stats()
        with self.assertRaises(ValueError):
            g.start()
        g.stop()
        g.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
