# SPDX-License-Identifier: MIT
"""procward - a thin ctypes binding over the C ABI of libprocward.

Python 3.11 standard library only. The library is found through the
PROCWARD_LIB environment variable (a path to libprocward.so), else
../../build/libprocward.so next to this file (a source tree), else the
system's library path (ctypes.util.find_library("procward")).

    import procward

    print(procward.features())
    for p in procward.snapshot():
        print(p.pid, p.name, p.args)

    with procward.Monitor(events={"exec", "process_exit"},
                          rules=["exclude name-prefix kworker"]) as m:
        m.start()
        for ev in m.events(timeout=5):
            print(ev.type, ev.pid, ev.image, ev.args, ev.exit_code)

Events are converted into immutable Event objects while the C event is
still valid (inside the library's callback): nothing borrowed escapes.
A pw_monitor is not thread-safe: use a Monitor from one thread, except
stop(), which any thread may call.
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import dataclasses
import errno as _errno
import os
import time
import types
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_bool, c_char, c_char_p, c_int,
                    c_size_t, c_uint, c_uint32, c_uint64, c_void_p)
from typing import Callable, Iterable, Iterator, Mapping, Optional, Union

__all__ = [
    "Error", "Event", "Process", "ProcKey", "MonitorStats", "Monitor",
    "features", "snapshot", "version", "library_path",
    "EVENT_TYPES", "FEATURES",
]

# ----------------------------------------------------------------- loading


def _candidates() -> list[str]:
    env = os.environ.get("PROCWARD_LIB")
    if env:
        return [env]  # an explicit choice is not second-guessed
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [os.path.normpath(os.path.join(here, "..", "..", "build", "libprocward.so"))]
    found = ctypes.util.find_library("procward")
    if found:
        paths.append(found)
    return paths


def _load() -> tuple[ctypes.CDLL, str]:
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"{path}: not found")
            continue
        try:
            return ctypes.CDLL(path, use_errno=True), path
        except OSError as e:
            tried.append(f"{path}: {e}")
    raise ImportError("procward: cannot load libprocward.so (set PROCWARD_LIB); tried: "
                      + "; ".join(tried or ["nothing"]))


_lib, library_path = _load()
_libc = ctypes.CDLL(None)
_libc.free.argtypes = [c_void_p]
_libc.free.restype = None

# ----------------------------------------------------- the C ABI (procward.h)

pid_t = c_int


class _ProcKey(Structure):
    _fields_ = [("pid", pid_t), ("_pad", c_uint32), ("start_ns", c_uint64)]


class _Token(Structure):
    _fields_ = [
        ("uid", c_uint32), ("euid", c_uint32), ("suid", c_uint32), ("fsuid", c_uint32),
        ("gid", c_uint32), ("egid", c_uint32), ("sgid", c_uint32), ("fsgid", c_uint32),
        ("cap_effective", c_uint64), ("cap_permitted", c_uint64),
        ("loginuid", c_uint32), ("sessionid", c_uint32),
        ("pidns_ino", c_uint32), ("mntns_ino", c_uint32),
        ("cgroup_id", c_uint64),
    ]


class _Rule(Structure):
    _fields_ = [("sz", c_size_t), ("action", c_int), ("match", c_int),
                ("name", c_char_p), ("id", c_uint32)]


class _SnapshotOpts(Structure):
    _fields_ = [("sz", c_size_t), ("flags", c_uint), ("proc_root", c_char_p)]


_EVENT_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p)
_LOG_FN = CFUNCTYPE(None, c_int, c_char_p, c_void_p)


class _MonitorOpts(Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("events", c_uint),
        ("on_event", _EVENT_FN),
        ("userdata", c_void_p),
        ("ringbuf_bytes", c_size_t),
        ("inherit_children", c_bool),
        ("log", _LOG_FN),
        ("log_userdata", c_void_p),
        ("max_processes", c_size_t),
        ("max_args_bytes", c_uint),
        ("batch_delay_us", c_int),
    ]


class _MonitorStats(Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("events_delivered", c_uint64),
        ("events_lost", c_uint64),
        ("events_filtered", c_uint64),
        ("processes_tracked", c_uint64),
        ("table_evictions", c_uint64),
    ]


def _fn(name: str, restype, *argtypes, optional: bool = False):
    try:
        f = getattr(_lib, name)
    except AttributeError:
        if optional:
            return None
        raise
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_pw_version = _fn("pw_version", c_char_p)
_pw_strerror = _fn("pw_strerror", c_char_p, c_int)
_pw_features = _fn("pw_features", c_uint)
_pw_event_type_name = _fn("pw_event_type_name", c_char_p, c_int)

_ev = c_void_p
_pw_event_type = _fn("pw_event_type", c_int, _ev)
_pw_event_time_ns = _fn("pw_event_time_ns", c_uint64, _ev)
_pw_event_cpu = _fn("pw_event_cpu", c_uint, _ev)
_pw_event_pid = _fn("pw_event_pid", pid_t, _ev)
_pw_event_tid = _fn("pw_event_tid", pid_t, _ev)
_pw_event_key = _fn("pw_event_key", _ProcKey, _ev)
_pw_event_parent_pid = _fn("pw_event_parent_pid", pid_t, _ev)
_pw_event_parent_key = _fn("pw_event_parent_key", _ProcKey, _ev)
_pw_event_creator_pid = _fn("pw_event_creator_pid", pid_t, _ev)
_pw_event_creator_tid = _fn("pw_event_creator_tid", pid_t, _ev)
_pw_event_clone_flags = _fn("pw_event_clone_flags", c_uint, _ev)
_pw_event_clone_flags_raw = _fn("pw_event_clone_flags_raw", c_uint64, _ev, optional=True)
_pw_event_name = _fn("pw_event_name", c_char_p, _ev)
_pw_event_image = _fn("pw_event_image", c_char_p, _ev)
_pw_event_previous_image = _fn("pw_event_previous_image", c_char_p, _ev)
_pw_event_exec_filename = _fn("pw_event_exec_filename", c_char_p, _ev)
_pw_event_cwd = _fn("pw_event_cwd", c_char_p, _ev)
_pw_event_argc = _fn("pw_event_argc", c_size_t, _ev)
_pw_event_arg = _fn("pw_event_arg", c_char_p, _ev, c_size_t)
_pw_event_flags = _fn("pw_event_flags", c_uint, _ev)
_pw_event_exit_status = _fn("pw_event_exit_status", c_int, _ev)
_pw_event_lost_count = _fn("pw_event_lost_count", c_uint64, _ev)
_pw_event_token = _fn("pw_event_token", POINTER(_Token), _ev)
_pw_event_user_name = _fn("pw_event_user_name", c_char_p, _ev)
_pw_event_group_name = _fn("pw_event_group_name", c_char_p, _ev)
_pw_event_cgroup_path = _fn("pw_event_cgroup_path", c_char_p, _ev)
_pw_event_container_id = _fn("pw_event_container_id", c_char_p, _ev)

_pw_rule_parse = _fn("pw_rule_parse", c_int, c_char_p, POINTER(_Rule), POINTER(c_void_p))

_snap = c_void_p
_proc = c_void_p
_pw_snapshot_take = _fn("pw_snapshot_take", c_int, POINTER(_SnapshotOpts), POINTER(c_void_p))
_pw_snapshot_free = _fn("pw_snapshot_free", None, _snap)
_pw_snapshot_count = _fn("pw_snapshot_count", c_size_t, _snap)
_pw_snapshot_process = _fn("pw_snapshot_process", _proc, _snap, c_size_t)
_pw_process_pid = _fn("pw_process_pid", pid_t, _proc)
_pw_process_parent_pid = _fn("pw_process_parent_pid", pid_t, _proc)
_pw_process_key = _fn("pw_process_key", _ProcKey, _proc)
_pw_process_name = _fn("pw_process_name", c_char_p, _proc)
_pw_process_image = _fn("pw_process_image", c_char_p, _proc)
_pw_process_argc = _fn("pw_process_argc", c_size_t, _proc)
_pw_process_arg = _fn("pw_process_arg", c_char_p, _proc, c_size_t)
_pw_process_uid = _fn("pw_process_uid", c_uint32, _proc)
_pw_process_user_name = _fn("pw_process_user_name", c_char_p, _proc)
_pw_process_thread_count = _fn("pw_process_thread_count", c_uint32, _proc)
_pw_process_state = _fn("pw_process_state", c_char, _proc)

_mon = c_void_p
_pw_monitor_new = _fn("pw_monitor_new", c_int, POINTER(_MonitorOpts), POINTER(c_void_p))
_pw_monitor_free = _fn("pw_monitor_free", None, _mon)
_pw_monitor_add_rule = _fn("pw_monitor_add_rule", c_int, _mon, POINTER(_Rule))
_pw_monitor_remove_rule = _fn("pw_monitor_remove_rule", c_int, _mon, POINTER(_Rule))
_pw_monitor_clear_rules = _fn("pw_monitor_clear_rules", c_int, _mon)
_pw_monitor_start = _fn("pw_monitor_start", c_int, _mon)
_pw_monitor_fd = _fn("pw_monitor_fd", c_int, _mon)
_pw_monitor_dispatch = _fn("pw_monitor_dispatch", c_int, _mon, c_int)
_pw_monitor_stop = _fn("pw_monitor_stop", None, _mon)
_pw_monitor_stats = _fn("pw_monitor_stats", c_int, _mon, POINTER(_MonitorStats))

# ------------------------------------------------------------- constants

# enum pw_error
ERR_NO_BTF = 4000
ERR_NO_BPF = 4001
ERR_KERNEL_FEATURE = 4002
ERR_ENFORCE_UNAVAILABLE = 4003
ERR_RULE_SYNTAX = 4004
ERR_RULE_LIMIT = 4005

# enum pw_log_level
LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = range(4)

# enum pw_event_type, by the names pw_event_type_name() gives; asked of the
# library, so event types added to it are known here without a change
EVENT_TYPES = {
    name.decode(): t
    for t in range(1, 32)
    if (name := _pw_event_type_name(t)) is not None
}
_EVENT_ALIASES = {  # the CLI's words, for convenience
    "fork": ("process_create",),
    "exit": ("process_exit",),
    "thread": ("thread_create", "thread_exit"),
}
_EV_PROCESS_EXIT, _EV_THREAD_EXIT, _EV_LOST = 3, 5, 6
_EVMASK_ALL = sum(1 << t for t in range(1, 6))  # PW_EVMASK_ALL: the lifecycle events

# enum pw_feature, named as `procward features` prints them
FEATURES = {
    "btf": 1 << 0,
    "bpf": 1 << 1,
    "ringbuf": 1 << 2,
    "tp_btf": 1 << 3,
    "task_iter": 1 << 4,
    "bpf_lsm": 1 << 5,
    "fentry": 1 << 6,
    "fanotify_exec": 1 << 7,
    "send_signal": 1 << 8,
}

_CLONE_FLAGS = ("thread", "vfork", "parent", "vm", "newpid", "newns")  # enum pw_clone_flag bits
_EVENT_FLAGS = {  # enum pw_event_flag
    "args_truncated": 1 << 0,
    "path_truncated": 1 << 1,
    "from_table": 1 << 2,
    "group_exit": 1 << 3,
}

_SNAP_CMDLINE, _SNAP_IMAGE, _SNAP_USER = 1, 2, 4

# ---------------------------------------------------------------- errors


class Error(OSError):
    """A libprocward call failed: errno is the positive error code (an errno
    value, or one of the ERR_* library codes), strerror is pw_strerror()'s text."""

    def __init__(self, err: int, context: str = ""):
        code = -err if err < 0 else err
        message = _pw_strerror(code).decode(errors="replace")
        super().__init__(code, f"{context}: {message}" if context else message)


def _check(ret: int, context: str) -> int:
    if ret < 0:
        raise Error(ret, context)
    return ret


def _str(b: Optional[bytes]) -> Optional[str]:
    # argv and paths are bytes in the kernel; surrogateescape round-trips them
    return None if b is None else os.fsdecode(b)


# ------------------------------------------------------------ data types


@dataclasses.dataclass(frozen=True)
class ProcKey:
    """A process identity that survives PID reuse (pid + leader start, CLOCK_BOOTTIME ns)."""
    pid: int
    start_ns: int


@dataclasses.dataclass(frozen=True)
class Process:
    """One process of a snapshot."""
    pid: int
    ppid: int
    name: str
    image: Optional[str]
    args: tuple[str, ...]
    uid: int
    user: Optional[str]
    threads: int
    state: str
    start_ns: int


@dataclasses.dataclass(frozen=True)
class Event:
    """One event, copied out of the library's borrowed pw_event."""
    type: str                       # "process_create", "exec", "process_exit", ..., "lost"
    pid: int = 0
    tid: int = 0
    ppid: int = 0
    key: ProcKey = ProcKey(0, 0)
    parent_key: ProcKey = ProcKey(0, 0)
    time_ns: int = 0                # CLOCK_MONOTONIC
    cpu: int = 0
    creator_pid: int = 0            # *_create only
    creator_tid: int = 0
    clone_flags: frozenset = frozenset()   # {"vfork", "newpid", ...}
    clone_flags_raw: int = 0        # CLONE_* as passed to clone
    name: Optional[str] = None
    image: Optional[str] = None
    filename: Optional[str] = None  # exec: as passed to execve
    cwd: Optional[str] = None
    previous_image: Optional[str] = None
    args: tuple[str, ...] = ()
    flags: frozenset = frozenset()  # {"args_truncated", "path_truncated", "from_table", "group_exit"}
    exit_status: Optional[int] = None   # raw wait status (exits only)
    exit_code: Optional[int] = None     # WEXITSTATUS when it exited normally
    exit_signal: Optional[int] = None   # WTERMSIG when a signal killed it
    core_dumped: bool = False
    token: Optional[Mapping[str, object]] = None  # the originator's credentials, read-only
    lost: int = 0                   # "lost" events: how many were not delivered

    @property
    def type_id(self) -> int:
        return EVENT_TYPES[self.type]


@dataclasses.dataclass(frozen=True)
class MonitorStats:
    events_delivered: int
    events_lost: int
    events_filtered: int
    processes_tracked: int
    table_evictions: int


def _make_event(ev: int, resolve_names: bool) -> Event:
    """Copy everything out of a borrowed struct pw_event (valid only now)."""
    etype = _pw_event_type(ev)
    tname = _pw_event_type_name(etype)
    tname = tname.decode() if tname else f"unknown_{etype}"
    if etype == _EV_LOST:
        return Event(type=tname, lost=_pw_event_lost_count(ev))

    key = _pw_event_key(ev)
    pkey = _pw_event_parent_key(ev)
    cflags = _pw_event_clone_flags(ev)
    eflags = _pw_event_flags(ev)
    argc = _pw_event_argc(ev)
    args = tuple(_str(_pw_event_arg(ev, i)) or "" for i in range(argc))

    exit_status = exit_code = exit_signal = None
    core_dumped = False
    if etype in (_EV_PROCESS_EXIT, _EV_THREAD_EXIT):
        exit_status = _pw_event_exit_status(ev)
        if os.WIFSIGNALED(exit_status):
            exit_signal = os.WTERMSIG(exit_status)
            core_dumped = os.WCOREDUMP(exit_status)
        else:
            exit_code = os.WEXITSTATUS(exit_status)

    token = None
    tp = _pw_event_token(ev)
    if tp:
        t = tp.contents
        unset = 0xFFFFFFFF
        tok = {f: getattr(t, f) for f, _ in _Token._fields_}
        tok["loginuid"] = None if t.loginuid == unset else t.loginuid
        tok["sessionid"] = None if t.sessionid == unset else t.sessionid
        if resolve_names:
            tok["user"] = _str(_pw_event_user_name(ev))
            tok["group"] = _str(_pw_event_group_name(ev))
            tok["cgroup"] = _str(_pw_event_cgroup_path(ev))
            tok["container_id"] = _str(_pw_event_container_id(ev))
        token = types.MappingProxyType(tok)

    return Event(
        type=tname,
        pid=_pw_event_pid(ev),
        tid=_pw_event_tid(ev),
        ppid=_pw_event_parent_pid(ev),
        key=ProcKey(key.pid, key.start_ns),
        parent_key=ProcKey(pkey.pid, pkey.start_ns),
        time_ns=_pw_event_time_ns(ev),
        cpu=_pw_event_cpu(ev),
        creator_pid=_pw_event_creator_pid(ev),
        creator_tid=_pw_event_creator_tid(ev),
        clone_flags=frozenset(n for i, n in enumerate(_CLONE_FLAGS) if cflags & (1 << i)),
        clone_flags_raw=_pw_event_clone_flags_raw(ev) if _pw_event_clone_flags_raw else 0,
        name=_str(_pw_event_name(ev)),
        image=_str(_pw_event_image(ev)),
        filename=_str(_pw_event_exec_filename(ev)),
        cwd=_str(_pw_event_cwd(ev)),
        previous_image=_str(_pw_event_previous_image(ev)),
        args=args,
        flags=frozenset(n for n, bit in _EVENT_FLAGS.items() if eflags & bit),
        exit_status=exit_status,
        exit_code=exit_code,
        exit_signal=exit_signal,
        core_dumped=core_dumped,
        token=token,
    )


# -------------------------------------------------------------- functions


def version() -> str:
    """Version of the loaded libprocward."""
    return _pw_version().decode()


def features() -> set[str]:
    """Names of the kernel features available here (see FEATURES)."""
    mask = _pw_features()
    return {name for name, bit in FEATURES.items() if mask & bit}


def snapshot(cmdline: bool = True, image: bool = True, user: bool = True,
             proc_root: Optional[str] = None) -> list[Process]:
    """List running processes from /proc (no privileges needed)."""
    flags = (_SNAP_CMDLINE if cmdline else 0) | (_SNAP_IMAGE if image else 0) | \
        (_SNAP_USER if user else 0)
    opts = _SnapshotOpts(ctypes.sizeof(_SnapshotOpts), flags,
                         os.fsencode(proc_root) if proc_root is not None else None)
    snap = c_void_p()
    _check(_pw_snapshot_take(byref(opts), byref(snap)), "snapshot")
    try:
        out = []
        for i in range(_pw_snapshot_count(snap)):
            p = _pw_snapshot_process(snap, i)
            key = _pw_process_key(p)
            out.append(Process(
                pid=_pw_process_pid(p),
                ppid=_pw_process_parent_pid(p),
                name=_str(_pw_process_name(p)) or "",
                image=_str(_pw_process_image(p)),
                args=tuple(_str(_pw_process_arg(p, k)) or ""
                           for k in range(_pw_process_argc(p))),
                uid=_pw_process_uid(p),
                user=_str(_pw_process_user_name(p)),
                threads=_pw_process_thread_count(p),
                state=_pw_process_state(p).decode(errors="replace"),
                start_ns=key.start_ns,
            ))
        return out
    finally:
        _pw_snapshot_free(snap)


def _event_mask(events: Union[None, int, str, Iterable[str]]) -> int:
    if events is None:
        return 0  # the library's default: all
    if isinstance(events, int):
        return events
    if isinstance(events, str):
        events = [w for w in events.replace(",", " ").split() if w]
    mask = 0
    for name in events:
        for n in _EVENT_ALIASES.get(name, (name,)):
            if n == "all":
                mask |= _EVMASK_ALL
            elif n in EVENT_TYPES and n != "lost":
                mask |= 1 << EVENT_TYPES[n]
            else:
                raise ValueError(f"unknown event type {name!r} "
                                 f"(one of {', '.join(t for t in EVENT_TYPES if t != 'lost')})")
    return mask


class _ParsedRule:
    """A rule parsed by the library; the storage it points into is freed on close()."""

    def __init__(self, text: str):
        self.text = text
        self.rule = _Rule()
        self._storage = c_void_p()
        _check(_pw_rule_parse(text.encode(), byref(self.rule), byref(self._storage)),
               f"rule {text!r}")

    def close(self) -> None:
        if self._storage:
            _libc.free(self._storage)
            self._storage = c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Monitor:
    """A pw_monitor: the kernel-side event stream of process lifecycle.

    events: None (all), an int mask, or names ("exec", "process_exit", ...,
        the CLI's "fork", "exit", "thread" too), as an iterable or a
        comma-separated string.
    rules: rule texts, as `procward watch --rule` takes them
        ("exclude name-prefix kworker", "include uid 1000").
    callback: called with each Event inside dispatch(); without one, events
        are queued and read with events()/iteration/dispatch()'s queue.
    log: called as log(level, message) for the library's log messages.

    The C monitor is created (and options validated) here; start() loads
    and attaches the kernel programs. close() (or the context manager)
    frees it.
    """

    def __init__(self, events=None, rules: Iterable[str] = (), inherit_children: bool = False,
                 callback: Optional[Callable[[Event], object]] = None,
                 ringbuf_bytes: int = 0, max_processes: int = 0, max_args_bytes: int = 0,
                 log: Optional[Callable[[int, str], object]] = None,
                 resolve_names: bool = True):
        self._handle = c_void_p()
        self._callback = callback
        self._log = log
        self._resolve_names = resolve_names
        self._queue: collections.deque[Event] = collections.deque()
        self._pending_exc: Optional[BaseException] = None
        self._stop_requested = False
        self._started = False
        self._in_dispatch = False
        self._close_after_dispatch = False
        # the C side holds these function pointers: keep them alive with the monitor
        self._c_event_fn = _EVENT_FN(self._on_event)
        self._c_log_fn = _LOG_FN(self._on_log) if log else _LOG_FN()
        opts = _MonitorOpts(
            sz=ctypes.sizeof(_MonitorOpts),
            events=_event_mask(events),
            on_event=self._c_event_fn,
            userdata=None,
            ringbuf_bytes=ringbuf_bytes,
            inherit_children=inherit_children,
            log=self._c_log_fn,
            log_userdata=None,
            max_processes=max_processes,
            max_args_bytes=max_args_bytes,
        )
        _check(_pw_monitor_new(byref(opts), byref(self._handle)), "monitor options")
        try:
            for text in rules:
                self.add_rule(text)
        except BaseException:
            self.close()
            raise

    # -- C callbacks: they must never let an exception unwind into C

    def _on_event(self, _m, ev, _userdata) -> int:
        try:
            event = _make_event(ev, self._resolve_names)
            if self._callback is None:
                self._queue.append(event)
            else:
                self._callback(event)
            return 0
        except BaseException as e:  # re-raised by dispatch()
            self._pending_exc = e
            return -_errno.ECANCELED

    def _on_log(self, level, msg, _userdata) -> None:
        try:
            self._log(level, _str(msg) or "")
        except BaseException:
            pass  # a logger's failure is not worth losing events over

    # -- rules

    def _h(self) -> c_void_p:
        if not self._handle:
            raise ValueError("monitor is closed")
        return self._handle

    def add_rule(self, text: str) -> None:
        """Add a rule ("include name bash"); before or after start()."""
        with _ParsedRule(text) as r:
            _check(_pw_monitor_add_rule(self._h(), byref(r.rule)), f"rule {text!r}")

    def remove_rule(self, text: str) -> None:
        """Remove a rule added before with the same text meaning; Error(ENOENT) if none."""
        with _ParsedRule(text) as r:
            _check(_pw_monitor_remove_rule(self._h(), byref(r.rule)), f"rule {text!r}")

    def clear_rules(self) -> None:
        _check(_pw_monitor_clear_rules(self._h()), "clear rules")

    # -- running

    def start(self) -> "Monitor":
        """Load and attach the kernel programs (root or CAP_BPF+CAP_PERFMON)."""
        _check(_pw_monitor_start(self._h()), "start")
        self._started = True
        return self

    def fileno(self) -> int:
        """A pollable fd (readable when events are ready); valid after start()."""
        return _check(_pw_monitor_fd(self._h()), "fileno")

    def dispatch(self, timeout_ms: int = -1) -> int:
        """Wait up to timeout_ms (-1 forever, 0 not at all) and deliver what is
        ready: to the callback, or into the queue events() reads. Returns the
        number of events delivered; 0 on timeout or after stop(). An exception
        raised by the callback is re-raised here."""
        h = self._h()
        self._in_dispatch = True
        try:
            ret = _pw_monitor_dispatch(h, int(timeout_ms))
        finally:
            self._in_dispatch = False
            if self._close_after_dispatch:
                self.close()
        exc, self._pending_exc = self._pending_exc, None
        if exc is not None:
            raise exc
        if ret == -_errno.EINTR:
            return 0  # stop() or a signal; Python runs its signal handlers next
        return _check(ret, "dispatch")

    def stop(self) -> None:
        """Make a running dispatch()/run()/events() return. Any thread."""
        self._stop_requested = True
        if self._handle:
            _pw_monitor_stop(self._handle)

    @property
    def stopped(self) -> bool:
        return self._stop_requested

    def run(self, timeout: Optional[float] = None) -> None:
        """Dispatch to the callback until stop(), an exception, or `timeout` seconds."""
        for _ in self._dispatch_loop(timeout):
            pass

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Yield events as they come, until stop() or `timeout` seconds. Needs
        a Monitor without a callback."""
        if self._callback is not None:
            raise RuntimeError("events() reads the queue; this monitor has a callback")
        for _ in self._dispatch_loop(timeout):
            while self._queue:
                yield self._queue.popleft()
        while self._queue:
            yield self._queue.popleft()

    def __iter__(self) -> Iterator[Event]:
        return self.events()

    def _dispatch_loop(self, timeout: Optional[float]):
        self._stop_requested = False
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stop_requested:
            if deadline is None:
                wait_ms = -1
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait_ms = max(1, int(left * 1000))
            self.dispatch(wait_ms)
            yield

    def drain(self) -> list[Event]:
        """The queued events (callback-less monitors), emptying the queue."""
        out = list(self._queue)
        self._queue.clear()
        return out

    def stats(self) -> MonitorStats:
        s = _MonitorStats(sz=ctypes.sizeof(_MonitorStats))
        _check(_pw_monitor_stats(self._h(), byref(s)), "stats")
        return MonitorStats(s.events_delivered, s.events_lost, s.events_filtered,
                            s.processes_tracked, s.table_evictions)

    # -- lifetime

    def close(self) -> None:
        """Stop, detach every program, free the monitor. Idempotent."""
        if self._in_dispatch:
            # called from the callback: the C side still iterates the ring buffer
            self._close_after_dispatch = True
            self.stop()
            return
        h, self._handle = self._handle, c_void_p()
        if h:
            _pw_monitor_free(h)
        self._started = False

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
