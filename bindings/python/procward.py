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

    with procward.Monitor(events="access") as m:     # operations on other processes
        m.watch_access(pid=1234, access="terminate,debug")
        m.start()                                    # m.protect(...) needs BPF LSM
        for ev in m.events(timeout=5):
            print(ev.pid, "->", ev.target_pid, ev.access_op, ev.access, ev.result)

    def handler(req):                                # on a library worker thread
        return req.image != "/usr/bin/nc"            # True allows, False denies
    with procward.Gate(handler, rules=["gate by-name bash children"],
                       timeout_ms=2000) as gate:
        gate.start()                                 # every exec now waits for it

Events are converted into immutable Event objects while the C event is
still valid (inside the library's callback): nothing borrowed escapes.
A pw_monitor is not thread-safe: use a Monitor from one thread, except
stop(), which any thread may call. A Gate calls its handler on its own
worker threads with an ExecRequest whose facts are copied the same way;
see Gate and ExecRequest for verdicts, deferral and lifetimes.
"""

from __future__ import annotations

import atexit
import collections
import ctypes
import ctypes.util
import dataclasses
import enum
import errno as _errno
import os
import sys
import threading
import time
import types
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_bool, c_char, c_char_p, c_int,
                    c_int64, c_size_t, c_uint, c_uint8, c_uint32, c_uint64, c_void_p)
from typing import Callable, Iterable, Iterator, Mapping, Optional, Union

__all__ = [
    "Error", "ProcwardError", "EnforcementUnavailable",
    "Event", "Process", "ProcKey", "MonitorStats", "Monitor",
    "Rusage", "Sampler", "Sample", "ProcUsage", "AlertRule", "ALERT_KINDS",
    "features", "snapshot", "version", "library_path", "enforcement_available",
    "parse_access", "access_names",
    "Gate", "GateRule", "GateStats", "Decision", "ExecRequest", "Verdict", "ALLOW", "DENY",
    "EVENT_TYPES", "FEATURES", "ACCESS", "ACCESS_ALL", "ACCESS_OPS", "GATE_REASONS",
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


class _Rusage(Structure):  # struct pw_rusage
    _fields_ = [
        ("sz", c_size_t),
        ("user_ns", c_uint64), ("system_ns", c_uint64), ("cpu_ns", c_uint64),
        ("max_rss_bytes", c_uint64),
        ("minor_faults", c_uint64), ("major_faults", c_uint64),
        ("voluntary_switches", c_uint64), ("involuntary_switches", c_uint64),
        ("read_bytes", c_uint64), ("write_bytes", c_uint64),
        ("read_chars", c_uint64), ("write_chars", c_uint64),
        ("lifetime_ns", c_uint64),
        ("children_user_ns", c_uint64), ("children_system_ns", c_uint64),
        ("threads", c_uint32), ("flags", c_uint),
    ]


class _ProcUsage(Structure):  # struct pw_proc_usage
    _fields_ = [
        ("sz", c_size_t),
        ("key", _ProcKey),
        ("ppid", pid_t), ("uid", c_uint32),
        ("name", c_char * 16),
        ("state", c_char), ("exited", c_bool), ("started", c_bool), ("kernel_thread", c_bool),
        ("threads", c_uint32),
        ("cpu_ns", c_uint64), ("user_ns", c_uint64), ("system_ns", c_uint64),
        ("cpu_delta_ns", c_uint64), ("rss_bytes", c_uint64), ("max_rss_bytes", c_uint64),
        ("exit_status", c_int),
        ("image", c_char_p),
        ("argc", c_size_t),
        ("argv", POINTER(c_char_p)),
    ]


class _AlertRule(Structure):  # struct pw_alert_rule
    _fields_ = [("sz", c_size_t), ("kind", c_int), ("threshold", c_uint64),
                ("for_ms", c_uint), ("pid", pid_t), ("name", c_char_p)]


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
        ("redact", c_void_p),  # const struct pw_redactor *: not exposed yet
    ]


class _SamplerOpts(Structure):  # struct pw_sampler_opts
    _fields_ = [
        ("sz", c_size_t),
        ("on_event", _EVENT_FN),
        ("userdata", c_void_p),
        ("log", _LOG_FN),
        ("log_userdata", c_void_p),
        ("max_processes", c_size_t),
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


class _AccessTarget(Structure):
    _fields_ = [("sz", c_size_t), ("pid", pid_t), ("name", c_char_p), ("access", c_uint)]


class _ProtectRule(Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("pid", pid_t),
        ("name", c_char_p),
        ("deny", c_uint),
        ("flags", c_uint),
        ("except_uid", c_uint32),
        ("except_pid", pid_t),
    ]


# pw_gate_fn, pw_gate_decision_fn, pw_gate_error_fn
_GATE_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p)
_DECISION_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p)
_GATE_ERROR_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_int, c_void_p)


class _GateOpts(Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("handler", _GATE_FN),
        ("userdata", c_void_p),
        ("timeout_ms", c_uint),
        ("timeout_verdict", c_int),
        ("error_verdict", c_int),
        ("workers", c_uint),
        ("max_extensions", c_uint),
        ("max_pending", c_uint),
        ("interpreters", c_int),
        ("fail_closed_ungated", c_bool),
        ("audit", c_bool),
        ("on_decision", _DECISION_FN),
        ("decision_userdata", c_void_p),
        ("decision_queue", c_uint),
        ("on_error", _GATE_ERROR_FN),
        ("log", _LOG_FN),
        ("log_userdata", c_void_p),
        ("cache_entries", c_uint),
        ("argv_in_kernel", c_bool),
        ("decision_filter", c_uint),
        ("kill_on_missed_deadline", c_uint),
        ("redact", c_void_p),  # const struct pw_redactor *: not exposed yet
        ("mounts", c_int),  # enum pw_gate_mounts; 0: every mount namespace
    ]


class _GateRule(Structure):
    _fields_ = [
        ("sz", c_size_t),
        ("action", c_int),
        ("deny_errno", c_int),
        ("path", c_char_p),
        ("name", c_char_p),
        ("sha256", POINTER(c_uint8)),
        ("has_uid", c_bool),
        ("uid", c_uint32),
        ("subject_name", c_char_p),
        ("subject_pid", pid_t),
        ("children", c_bool),
        ("arg", c_char_p),
        ("cache", c_bool),
    ]


_GATE_STATS_FIELDS = (
    "decisions", "allowed", "denied", "by_rule", "by_handler", "timed_out", "late_verdicts",
    "handler_errors", "self_allowed", "interpreter_opens", "overloaded", "ungated",
    "ungated_killed", "ungated_lost", "no_args", "sink_dropped", "filesystems_marked",
    "filesystems_unmarkable", "extensions", "cache_hits", "cache_misses", "cache_entries",
    "cache_evictions", "cache_flushes", "cache_refused", "cache_invalidated",
    # the guardian (issue 11); guardian_pid is int64_t in C, never negative
    "guardian_verdicts", "guardian_read", "guardian_kernel_helpers", "guardian_kills",
    "guardian_pid",
    # execs fanotify never saw, and the loader (issue 12)
    "held", "held_killed", "held_resumed_killed", "held_escaped", "via_loader",
    "loader_unresolved", "cache_stale", "tree_dropped", "guardian_held", "filesystems_marked_held",
    "guardian_out_of_scope",
    # mounts in other mount namespaces
    "filesystems_marked_mounted", "mounts_reported", "mounts_lost", "mounts_unresolved",
)


class _GateStats(Structure):
    _fields_ = [("sz", c_size_t)] + [(f, c_uint64) for f in _GATE_STATS_FIELDS]


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

_pw_event_rusage = _fn("pw_event_rusage", POINTER(_Rusage), _ev)
_pw_event_alert_rule = _fn("pw_event_alert_rule", c_int, _ev)
_pw_event_alert_kind = _fn("pw_event_alert_kind", c_int, _ev)
_pw_event_alert_value = _fn("pw_event_alert_value", c_uint64, _ev)
_pw_event_alert_threshold = _fn("pw_event_alert_threshold", c_uint64, _ev)

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
_pw_process_user_ns = _fn("pw_process_user_ns", c_uint64, _proc)
_pw_process_system_ns = _fn("pw_process_system_ns", c_uint64, _proc)
_pw_process_cpu_ns = _fn("pw_process_cpu_ns", c_uint64, _proc)
_pw_process_rss_bytes = _fn("pw_process_rss_bytes", c_uint64, _proc)

# resource sampler
_smp = c_void_p
_pw_sampler_new = _fn("pw_sampler_new", c_int, POINTER(_SamplerOpts), POINTER(c_void_p))
_pw_sampler_free = _fn("pw_sampler_free", None, c_void_p)
_pw_sampler_start = _fn("pw_sampler_start", c_int, c_void_p)
_pw_sampler_fd = _fn("pw_sampler_fd", c_int, c_void_p)
_pw_sampler_dispatch = _fn("pw_sampler_dispatch", c_int, c_void_p, c_int)
_pw_sampler_sample = _fn("pw_sampler_sample", c_int, c_void_p, POINTER(c_void_p))
_pw_sampler_add_alert = _fn("pw_sampler_add_alert", c_int, c_void_p, POINTER(_AlertRule))
_pw_alert_rule_parse = _fn("pw_alert_rule_parse", c_int, c_char_p, POINTER(_AlertRule),
                           POINTER(c_void_p))
_pw_sample_time_ns = _fn("pw_sample_time_ns", c_uint64, _smp)
_pw_sample_interval_ns = _fn("pw_sample_interval_ns", c_uint64, _smp)
_pw_sample_count = _fn("pw_sample_count", c_size_t, _smp)
_pw_sample_process = _fn("pw_sample_process", POINTER(_ProcUsage), _smp, c_size_t)
_pw_sample_tasks = _fn("pw_sample_tasks", c_size_t, _smp)
_pw_sample_cost_ns = _fn("pw_sample_cost_ns", c_uint64, _smp)

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

# access operations
_pw_access_name = _fn("pw_access_name", c_char_p, c_uint)
_pw_access_op_name = _fn("pw_access_op_name", c_char_p, c_int)
_pw_access_parse = _fn("pw_access_parse", c_int, c_char_p, POINTER(c_uint))
_pw_event_target_pid = _fn("pw_event_target_pid", pid_t, _ev)
_pw_event_target_tid = _fn("pw_event_target_tid", pid_t, _ev)
_pw_event_target_key = _fn("pw_event_target_key", _ProcKey, _ev)
_pw_event_target_name = _fn("pw_event_target_name", c_char_p, _ev)
_pw_event_access = _fn("pw_event_access", c_uint, _ev)
_pw_event_access_op = _fn("pw_event_access_op", c_int, _ev)
_pw_event_signal = _fn("pw_event_signal", c_int, _ev)
_pw_event_access_result = _fn("pw_event_access_result", c_int64, _ev)
_pw_event_access_denied = _fn("pw_event_access_denied", c_bool, _ev)
_pw_event_access_detail = _fn("pw_event_access_detail", c_uint64, _ev)
_pw_monitor_watch_access = _fn("pw_monitor_watch_access", c_int, _mon, POINTER(_AccessTarget))
_pw_monitor_unwatch_access = _fn("pw_monitor_unwatch_access", c_int, _mon,
                                 POINTER(_AccessTarget))
_pw_monitor_watch_access_all = _fn("pw_monitor_watch_access_all", c_int, _mon, c_uint)
_pw_monitor_add_access_originator_rule = _fn("pw_monitor_add_access_originator_rule", c_int,
                                             _mon, POINTER(_Rule))
_pw_monitor_clear_access_originator_rules = _fn("pw_monitor_clear_access_originator_rules",
                                                c_int, _mon)
_pw_monitor_protect = _fn("pw_monitor_protect", c_int, _mon, POINTER(_ProtectRule))
_pw_monitor_unprotect = _fn("pw_monitor_unprotect", c_int, _mon, POINTER(_ProtectRule))

# exec gate
_gate = c_void_p
_req = c_void_p
_dec = c_void_p
_pw_gate_rule_parse = _fn("pw_gate_rule_parse", c_int, c_char_p, POINTER(_GateRule),
                          POINTER(c_void_p))
_pw_gate_new = _fn("pw_gate_new", c_int, POINTER(_GateOpts), POINTER(c_void_p))
_pw_gate_free = _fn("pw_gate_free", None, _gate)
_pw_gate_add_rule = _fn("pw_gate_add_rule", c_int, _gate, POINTER(_GateRule))
_pw_gate_add_rule_text = _fn("pw_gate_add_rule_text", c_int, _gate, c_char_p)
_pw_gate_remove_rule = _fn("pw_gate_remove_rule", c_int, _gate, c_uint)
_pw_gate_load_rules_file = _fn("pw_gate_load_rules_file", c_int, _gate, c_char_p, c_char_p,
                               c_size_t)
_pw_gate_start = _fn("pw_gate_start", c_int, _gate)
_pw_gate_stop = _fn("pw_gate_stop", None, _gate)
_pw_gate_stats = _fn("pw_gate_stats", c_int, _gate, POINTER(_GateStats))
_pw_gate_deny_errno_supported = _fn("pw_gate_deny_errno_supported", c_bool, _gate)
_pw_exec_pid = _fn("pw_exec_pid", pid_t, _req)
_pw_exec_tid = _fn("pw_exec_tid", pid_t, _req)
_pw_exec_parent_pid = _fn("pw_exec_parent_pid", pid_t, _req)
_pw_exec_key = _fn("pw_exec_key", _ProcKey, _req)
_pw_exec_name = _fn("pw_exec_name", c_char_p, _req)
_pw_exec_argc = _fn("pw_exec_argc", c_size_t, _req)
_pw_exec_arg = _fn("pw_exec_arg", c_char_p, _req, c_size_t)
_pw_exec_filename = _fn("pw_exec_filename", c_char_p, _req)
_pw_exec_image = _fn("pw_exec_image", c_char_p, _req)
_pw_exec_token = _fn("pw_exec_token", POINTER(_Token), _req)
_pw_exec_is_interpreter = _fn("pw_exec_is_interpreter", c_bool, _req)
_pw_exec_fd = _fn("pw_exec_fd", c_int, _req)
_pw_exec_sha256 = _fn("pw_exec_sha256", c_int, _req, POINTER(c_uint8 * 32))
_pw_exec_flags = _fn("pw_exec_flags", c_uint, _req)
_pw_exec_allow = _fn("pw_exec_allow", c_int, _req)
_pw_exec_deny = _fn("pw_exec_deny", c_int, _req, c_int)
_pw_exec_extend = _fn("pw_exec_extend", c_int, _req, c_uint)
_pw_exec_allow_cached = _fn("pw_exec_allow_cached", c_int, _req)
_pw_exec_deny_cached = _fn("pw_exec_deny_cached", c_int, _req, c_int)
_pw_exec_defer = _fn("pw_exec_defer", c_int, _req)
_pw_decision_verdict = _fn("pw_decision_verdict", c_int, _dec)
_pw_decision_reason = _fn("pw_decision_reason", c_int, _dec)
_pw_decision_errno = _fn("pw_decision_errno", c_int, _dec)
_pw_decision_audit = _fn("pw_decision_audit", c_bool, _dec)
_pw_decision_is_interpreter = _fn("pw_decision_is_interpreter", c_bool, _dec)
_pw_decision_pid = _fn("pw_decision_pid", pid_t, _dec)
_pw_decision_tid = _fn("pw_decision_tid", pid_t, _dec)
_pw_decision_uid = _fn("pw_decision_uid", c_uint32, _dec)
_pw_decision_name = _fn("pw_decision_name", c_char_p, _dec)
_pw_decision_image = _fn("pw_decision_image", c_char_p, _dec)
_pw_decision_filename = _fn("pw_decision_filename", c_char_p, _dec)
_pw_decision_argc = _fn("pw_decision_argc", c_size_t, _dec)
_pw_decision_arg = _fn("pw_decision_arg", c_char_p, _dec, c_size_t)
_pw_decision_rule = _fn("pw_decision_rule", c_int, _dec)
_pw_decision_time_ns = _fn("pw_decision_time_ns", c_uint64, _dec)
_pw_decision_latency_ns = _fn("pw_decision_latency_ns", c_uint64, _dec)
_pw_gate_reason_name = _fn("pw_gate_reason_name", c_char_p, c_int)

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
    "access": ("process_access", "thread_access"),  # PW_EVMASK_ACCESS
}
_EV_PROCESS_EXIT, _EV_THREAD_EXIT, _EV_LOST = 3, 5, 6
_EV_PROCESS_ACCESS, _EV_THREAD_ACCESS = 7, 8
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

# enum pw_rusage_flag
_RUSAGE_IO, _RUSAGE_CHARS, _RUSAGE_PARTIAL, _RUSAGE_THREAD = 1 << 0, 1 << 1, 1 << 2, 1 << 3
# enum pw_alert_kind, by the words alert rule texts use
ALERT_KINDS = {"cpu": 1, "rss": 2, "threads": 3}
_ALERT_KIND_NAMES = {v: k for k, v in ALERT_KINDS.items()}
_EV_RESOURCE_ALERT = 9
MAX_ALERT_RULES = 16  # PW_MAX_ALERT_RULES

# enum pw_access: right name ("debug", "terminate", ...) -> bit, as pw_access_name() says
ACCESS = {
    name.decode(): 1 << i
    for i in range(32)
    if (name := _pw_access_name(1 << i)) is not None
}
ACCESS_ALL = sum(ACCESS.values())  # PW_ACCESS_ALL
# enum pw_access_op: id -> name ("kill", "ptrace", ...), as pw_access_op_name() says
ACCESS_OPS = {
    op: name.decode()
    for op in range(1, 64)
    if (name := _pw_access_op_name(op)) is not None
}
_PROTECT_EXCEPT_UID, _PROTECT_EXCEPT_PID = 1 << 0, 1 << 1  # enum pw_protect_flag

# enum pw_gate_reason: id -> name ("rule", "handler", "timeout", ...)
GATE_REASONS = {
    r: name.decode()
    for r in range(1, 64)
    if (name := _pw_gate_reason_name(r)) is not None
}
_GATE_ACTIONS = {"allow": 1, "deny": 2, "gate": 3}  # enum pw_gate_action (text form's words)
_GATE_INTERP = {"rules": 0, "allow": 1, "handler": 2}  # enum pw_gate_interp
_EXEC_FLAGS = {"args_truncated": 1 << 0, "no_args": 1 << 1}  # enum pw_exec_flag

# ---------------------------------------------------------------- errors


class Error(OSError):
    """A libprocward call failed: errno is the positive error code (an errno
    value, or one of the ERR_* library codes), strerror is pw_strerror()'s text."""

    def __init__(self, err: int, context: str = ""):
        code = -err if err < 0 else err
        message = _pw_strerror(code).decode(errors="replace")
        super().__init__(code, f"{context}: {message}" if context else message)


ProcwardError = Error  # the same class, under a name that says whose error it is


class EnforcementUnavailable(Error):
    """Enforcement was asked for (Monitor.protect) but this kernel cannot
    enforce it: BPF LSM programs cannot load or attach (no "bpf_lsm" in
    features()). errno is ERR_ENFORCE_UNAVAILABLE; nothing was stored, and
    observation (watch_access) still works."""


_ERROR_CLASSES = {ERR_ENFORCE_UNAVAILABLE: EnforcementUnavailable}


def _error(ret: int, context: str) -> Error:
    return _ERROR_CLASSES.get(abs(ret), Error)(ret, context)


def _check(ret: int, context: str) -> int:
    if ret < 0:
        raise _error(ret, context)
    return ret


def _report_unraisable(exc: BaseException, where: str) -> None:
    """An exception a library thread cannot raise anywhere: to sys.unraisablehook."""
    try:
        sys.unraisablehook(types.SimpleNamespace(
            exc_type=type(exc), exc_value=exc, exc_traceback=exc.__traceback__,
            err_msg=f"Exception ignored in procward {where}", object=None))
    except BaseException:
        pass


def _str(b: Optional[bytes]) -> Optional[str]:
    # argv and paths are bytes in the kernel; surrogateescape round-trips them
    return None if b is None else os.fsdecode(b)


def _copy_args(n: int, arg: Callable[[int], Optional[bytes]]) -> tuple[str, ...]:
    # every argv the library hands out (events, exec requests, decisions,
    # snapshots, samples) is borrowed: copied now, a missing one as ""
    return tuple(_str(arg(i)) or "" for i in range(n))


_UNSET_ID = 0xFFFFFFFF  # (uint32_t)-1: an id the C side has not got (loginuid, sessionid, uid)


def _token_dict(t: _Token) -> dict:
    """A struct pw_token's fields, None for an unset loginuid/sessionid."""
    tok = {f: getattr(t, f) for f, _ in _Token._fields_}
    tok["loginuid"] = None if t.loginuid == _UNSET_ID else t.loginuid
    tok["sessionid"] = None if t.sessionid == _UNSET_ID else t.sessionid
    return tok


# ------------------------------------------------------------ data types


@dataclasses.dataclass(frozen=True)
class ProcKey:
    """A process identity that survives PID reuse (pid + leader start, CLOCK_BOOTTIME ns)."""
    pid: int
    start_ns: int


@dataclasses.dataclass(frozen=True)
class Process:
    """One process of a snapshot. CPU times are ns at clock-tick resolution
    (from /proc/PID/stat), summed over its threads, reaped children excluded;
    rss_bytes is 0 for kernel threads and zombies; start_ns is CLOCK_BOOTTIME
    ns, as the key."""
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
    user_ns: int = 0
    system_ns: int = 0
    cpu_ns: int = 0
    rss_bytes: int = 0


@dataclasses.dataclass(frozen=True)
class Rusage:
    """Resource use carried by an exit event (struct pw_rusage), read in the
    kernel when the process's last thread (a thread_exit: that thread) exited.
    Names and units as the JSON schema: ns, bytes, counts. None where the
    kernel did not measure it (I/O without task I/O accounting) or where it
    does not apply (a thread's peak RSS and reaped children)."""
    cpu_ns: int                     # user + system: the scheduler's exact runtime
    user_ns: int
    system_ns: int
    max_rss_bytes: Optional[int]    # peak resident set (ru_maxrss * 1024)
    minor_faults: int
    major_faults: int
    voluntary_switches: int
    involuntary_switches: int
    read_bytes: Optional[int]       # storage I/O (CONFIG_TASK_IO_ACCOUNTING)
    write_bytes: Optional[int]
    read_chars: Optional[int]       # through read()/write()-like calls (CONFIG_TASK_XACCT)
    write_chars: Optional[int]
    lifetime_ns: int
    children_user_ns: Optional[int]  # reaped children's CPU (process exits)
    children_system_ns: Optional[int]
    threads: int                    # threads whose counters were summed
    partial: bool                   # other live threads could not be summed: values are low
    thread: bool                    # one thread's use (thread_exit)


def _make_rusage(ru: _Rusage) -> Rusage:
    thread = bool(ru.flags & _RUSAGE_THREAD)
    io = bool(ru.flags & _RUSAGE_IO)
    chars = bool(ru.flags & _RUSAGE_CHARS)
    return Rusage(
        cpu_ns=ru.cpu_ns, user_ns=ru.user_ns, system_ns=ru.system_ns,
        max_rss_bytes=None if thread else ru.max_rss_bytes,
        minor_faults=ru.minor_faults, major_faults=ru.major_faults,
        voluntary_switches=ru.voluntary_switches,
        involuntary_switches=ru.involuntary_switches,
        read_bytes=ru.read_bytes if io else None, write_bytes=ru.write_bytes if io else None,
        read_chars=ru.read_chars if chars else None,
        write_chars=ru.write_chars if chars else None,
        lifetime_ns=ru.lifetime_ns,
        children_user_ns=None if thread else ru.children_user_ns,
        children_system_ns=None if thread else ru.children_system_ns,
        threads=ru.threads, partial=bool(ru.flags & _RUSAGE_PARTIAL), thread=thread)


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
    # process_access / thread_access: pid, tid, name and token above are the
    # ORIGINATOR's (the task that made the call); the target is here
    target_pid: int = 0             # target process (thread-group id)
    target_tid: int = 0             # the thread the call named (== target_pid for a process)
    target_key: ProcKey = ProcKey(0, 0)   # start_ns 0 when the kernel did not know it
    target_name: Optional[str] = None
    access: frozenset = frozenset()  # requested rights: {"terminate"}, {"debug"}, ... (ACCESS)
    access_mask: int = 0            # the same as enum pw_access bits
    access_op: Optional[str] = None  # "kill", "ptrace", "pidfd_open", ... (ACCESS_OPS)
    signal: int = 0                 # signal number of signal operations
    result: Optional[int] = None    # the syscall's return: >= 0 success, -errno failure
    denied: bool = False            # procward's own protection rule denied it
    detail: int = 0                 # ptrace request, open(2) flags, or pidfd_getfd's fd
    rusage: Optional[Rusage] = None  # process_exit / thread_exit: the resource use
    # resource_alert (from a Sampler's rules): the rule's index, its kind
    # ("cpu", "rss", "threads") and the value that crossed the threshold
    # (percent of one CPU, bytes, or threads); pid/key/name/token are the process's
    alert_rule: int = -1
    alert_kind: Optional[str] = None
    alert_value: int = 0
    alert_threshold: int = 0

    @property
    def type_id(self) -> int:
        return EVENT_TYPES[self.type]

    @property
    def is_access(self) -> bool:
        return self.type in ("process_access", "thread_access")


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
    args = _copy_args(_pw_event_argc(ev), lambda i: _pw_event_arg(ev, i))

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
        tok = _token_dict(tp.contents)
        if resolve_names:
            tok["user"] = _str(_pw_event_user_name(ev))
            tok["group"] = _str(_pw_event_group_name(ev))
            tok["cgroup"] = _str(_pw_event_cgroup_path(ev))
            tok["container_id"] = _str(_pw_event_container_id(ev))
        token = types.MappingProxyType(tok)

    access = {}
    if etype in (_EV_PROCESS_ACCESS, _EV_THREAD_ACCESS):
        tkey = _pw_event_target_key(ev)
        mask = _pw_event_access(ev)
        op = _pw_event_access_op(ev)
        access = dict(
            target_pid=_pw_event_target_pid(ev),
            target_tid=_pw_event_target_tid(ev),
            target_key=ProcKey(tkey.pid, tkey.start_ns),
            target_name=_str(_pw_event_target_name(ev)),
            access=access_names(mask),
            access_mask=mask,
            access_op=ACCESS_OPS.get(op, f"unknown_{op}"),
            signal=_pw_event_signal(ev),
            result=_pw_event_access_result(ev),
            denied=bool(_pw_event_access_denied(ev)),
            detail=_pw_event_access_detail(ev),
        )

    extra = {}
    rp = _pw_event_rusage(ev)
    if rp:
        extra["rusage"] = _make_rusage(rp.contents)
    if etype == _EV_RESOURCE_ALERT:
        kind = _pw_event_alert_kind(ev)
        extra.update(alert_rule=_pw_event_alert_rule(ev),
                     alert_kind=_ALERT_KIND_NAMES.get(kind, f"unknown_{kind}"),
                     alert_value=_pw_event_alert_value(ev),
                     alert_threshold=_pw_event_alert_threshold(ev))

    return Event(
        **access,
        **extra,
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


def enforcement_available() -> bool:
    """Whether Monitor.protect() can enforce here (BPF LSM: the "bpf_lsm" feature)."""
    return bool(_pw_features() & FEATURES["bpf_lsm"])


def access_names(mask: int) -> frozenset:
    """The right names of an enum pw_access bitmask: {"terminate", "debug", ...}."""
    return frozenset(name for name, bit in ACCESS.items() if mask & bit)


def _access_mask(access: Union[None, int, str, Iterable[str]], what: str = "access") -> int:
    """Rights as pw_access_parse() reads them: an int mask, a comma-separated
    string or an iterable of names ("terminate", "debug", ..., and the
    library's "all", "memory", "signals"). None and empty mean 0."""
    if access is None:
        return 0
    if isinstance(access, int):
        if access & ~ACCESS_ALL or access < 0:
            raise ValueError(f"{what}: {access:#x} has bits outside ACCESS_ALL")
        return access
    words = access.split(",") if isinstance(access, str) else list(access)
    text = ",".join(w.strip() for w in words if w.strip())
    if not text:
        return 0
    out = c_uint()
    ret = _pw_access_parse(os.fsencode(text), byref(out))
    if ret == -_errno.EINVAL:
        raise ValueError(f"{what}: unknown access right in {text!r} (rights: "
                         f"{', '.join(ACCESS)}; also all, memory, signals)")
    _check(ret, f"{what} {text!r}")
    return out.value


def parse_access(access: Union[int, str, Iterable[str]]) -> frozenset:
    """Parse rights ("terminate,debug", ["memory"], "all", or a mask) into names."""
    return access_names(_access_mask(access))


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
                args=_copy_args(_pw_process_argc(p), lambda k: _pw_process_arg(p, k)),
                uid=_pw_process_uid(p),
                user=_str(_pw_process_user_name(p)),
                threads=_pw_process_thread_count(p),
                state=_pw_process_state(p).decode(errors="replace"),
                start_ns=key.start_ns,
                user_ns=_pw_process_user_ns(p),
                system_ns=_pw_process_system_ns(p),
                cpu_ns=_pw_process_cpu_ns(p),
                rss_bytes=_pw_process_rss_bytes(p),
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


class _Closing:
    """Context manager and finalizer for objects that own a library handle:
    subclasses implement close() (idempotent)."""

    def close(self) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _add_rules_or_close(self, rules, add=None) -> None:
        """Constructor tail: add each rule (with add, else add_rule); on any
        failure free what was made."""
        add = add or self.add_rule
        try:
            for rule in rules:
                add(rule)
        except BaseException:
            self.close()
            raise


class _EventSource(_Closing):
    """The event side shared by Monitor and Sampler: the C event and log
    callbacks, the queue of callback-less objects and drain()."""

    def _init_events(self, callback, log, resolve_names) -> None:
        self._handle = c_void_p()
        self._callback = callback
        self._log = log
        self._resolve_names = resolve_names
        self._queue: collections.deque[Event] = collections.deque()
        self._pending_exc: Optional[BaseException] = None

    def _init_c_callbacks(self) -> None:
        # the C side holds these function pointers: keep them alive with the object
        self._c_event_fn = _EVENT_FN(self._on_event)
        self._c_log_fn = _LOG_FN(self._on_log) if self._log else _LOG_FN()

    # -- C callbacks: they must never let an exception unwind into C

    def _on_event(self, _m, ev, _userdata) -> int:
        try:
            event = _make_event(ev, self._resolve_names)
            if self._callback is None:
                self._queue.append(event)
            else:
                self._callback(event)
            return 0
        except BaseException as e:  # re-raised by dispatch() (and Sampler.sample())
            self._pending_exc = e
            return -_errno.ECANCELED

    def _on_log(self, level, msg, _userdata) -> None:
        try:
            self._log(level, _str(msg) or "")
        except BaseException:
            pass  # a logger's failure is not worth losing events over

    def _drain(self) -> list[Event]:
        out = list(self._queue)
        self._queue.clear()
        return out


class Monitor(_EventSource):
    """A pw_monitor: the kernel-side event stream of process lifecycle.

    events: None (all), an int mask, or names ("exec", "process_exit", ...,
        the CLI's "fork", "exit", "thread" too), as an iterable or a
        comma-separated string.
    rules: rule texts, as `procward watch --rule` takes them
        ("exclude name-prefix kworker", "include uid 1000").
    callback: called with each Event inside dispatch(); without one, events
        are queued and read with events()/iteration/dispatch()'s queue.
    log: called as log(level, message) for the library's log messages.

    Access operations (events="access"): watch_access(), unwatch_access(),
    watch_access_all(), add_access_originator_rule(), protect(), unprotect().

    The C monitor is created (and options validated) here; start() loads
    and attaches the kernel programs. close() (or the context manager)
    frees it.
    """

    def __init__(self, events=None, rules: Iterable[str] = (), inherit_children: bool = False,
                 callback: Optional[Callable[[Event], object]] = None,
                 ringbuf_bytes: int = 0, max_processes: int = 0, max_args_bytes: int = 0,
                 log: Optional[Callable[[int, str], object]] = None,
                 resolve_names: bool = True):
        self._init_events(callback, log, resolve_names)
        self._stop_requested = False
        self._started = False
        self._in_dispatch = False
        self._close_after_dispatch = False
        self._init_c_callbacks()
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
        self._add_rules_or_close(rules)

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

    # -- access operations (events "process_access"/"thread_access": ask for
    #    them with events="access" or {"process_access", "thread_access"})

    @staticmethod
    def _target(pid: int, name: Optional[str], what: str) -> tuple[int, Optional[bytes]]:
        if bool(pid) == (name is not None):
            raise ValueError(f"{what}: give a pid or a name (exactly one)")
        if pid and pid < 0:
            raise ValueError(f"{what}: pid must be > 0")
        return pid, (os.fsencode(name) if name is not None else None)

    def watch_access(self, pid: int = 0, name: Optional[str] = None,
                     access: Union[None, int, str, Iterable[str]] = None) -> None:
        """Report operations on a process (by pid; all its threads) or on every
        process named `name` (comm, exact, max 15 chars), for the rights in
        `access` (None/empty: all). Again for the same target replaces its
        rights. Before or after start(). Error(ESRCH) for a pid that is gone."""
        pid, bname = self._target(pid, name, "watch_access")
        t = _AccessTarget(sz=ctypes.sizeof(_AccessTarget), pid=pid, name=bname,
                          access=_access_mask(access))
        _check(_pw_monitor_watch_access(self._h(), byref(t)),
               f"watch access of {pid or repr(name)}")

    def unwatch_access(self, pid: int = 0, name: Optional[str] = None) -> None:
        """Stop watching a target added with watch_access(); Error(ENOENT) if none."""
        pid, bname = self._target(pid, name, "unwatch_access")
        t = _AccessTarget(sz=ctypes.sizeof(_AccessTarget), pid=pid, name=bname)
        _check(_pw_monitor_unwatch_access(self._h(), byref(t)),
               f"unwatch access of {pid or repr(name)}")

    def watch_access_all(self, access: Union[None, int, str, Iterable[str]]) -> None:
        """Report operations on every process for these rights; None/empty turns
        it off. Loud: "terminate" reports every kill(2) on the machine."""
        _check(_pw_monitor_watch_access_all(self._h(), _access_mask(access)), "watch access all")

    def add_access_originator_rule(self, text: str) -> None:
        """Filter access events by who made the call: "exclude pid 42",
        "include uid 1000" (pid and uid rules only). Denials are always reported."""
        with _ParsedRule(text) as r:
            _check(_pw_monitor_add_access_originator_rule(self._h(), byref(r.rule)),
                   f"access originator rule {text!r}")

    def clear_access_originator_rules(self) -> None:
        _check(_pw_monitor_clear_access_originator_rules(self._h()),
               "clear access originator rules")

    def protect(self, pid: int = 0, name: Optional[str] = None, *,
                deny: Union[int, str, Iterable[str]],
                except_uid: Optional[int] = None, except_pid: Optional[int] = None) -> None:
        """Deny the rights `deny` on a process (by pid) or on every process
        named `name`, to everyone except the target itself, originators with
        effective uid `except_uid`, and process `except_pid` (0: this process).
        Adds or replaces the rule for that pid/name; before or after start(),
        and from the event callback. Denied calls fail with EPERM (EACCES for
        /proc/PID/mem) and their events have denied=True.

        Raises EnforcementUnavailable (errno ERR_ENFORCE_UNAVAILABLE) when the
        kernel cannot run BPF LSM programs (see enforcement_available()):
        nothing is enforced and nothing is stored. Never a silent no-op."""
        pid, bname = self._target(pid, name, "protect")
        mask = _access_mask(deny, "deny")
        if not mask:
            raise ValueError("protect: deny names no right")
        flags = 0
        if except_uid is not None:
            flags |= _PROTECT_EXCEPT_UID
        if except_pid is not None:
            flags |= _PROTECT_EXCEPT_PID
        rule = _ProtectRule(sz=ctypes.sizeof(_ProtectRule), pid=pid, name=bname, deny=mask,
                            flags=flags, except_uid=except_uid or 0, except_pid=except_pid or 0)
        _check(_pw_monitor_protect(self._h(), byref(rule)), f"protect {pid or repr(name)}")

    def unprotect(self, pid: int = 0, name: Optional[str] = None) -> None:
        """Remove the protection rule for the same pid or name; Error(ENOENT) if none."""
        pid, bname = self._target(pid, name, "unprotect")
        rule = _ProtectRule(sz=ctypes.sizeof(_ProtectRule), pid=pid, name=bname)
        _check(_pw_monitor_unprotect(self._h(), byref(rule)), f"unprotect {pid or repr(name)}")

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
        return self._drain()

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


# ------------------------------------------------------- resource sampler


@dataclasses.dataclass(frozen=True)
class ProcUsage:
    """One process of a Sample (struct pw_proc_usage), copied out."""
    pid: int
    start_ns: int                   # with pid: the process key
    ppid: int
    uid: int
    name: str
    state: str                      # as /proc/PID/stat; "X": exited in the interval
    exited: bool                    # values from its exit event
    started: bool                   # started in the interval
    kernel_thread: bool
    threads: int
    cpu_ns: int                     # since it started (user + system)
    user_ns: int
    system_ns: int
    cpu_delta_ns: int               # since the previous sample
    rss_bytes: int                  # now; for an exited process its peak
    max_rss_bytes: Optional[int]    # exited: peak RSS; else None
    exit_status: Optional[int]      # exited: the raw wait status
    image: Optional[str]
    args: tuple[str, ...]

    @property
    def key(self) -> ProcKey:
        return ProcKey(self.pid, self.start_ns)

    @property
    def exit_code(self) -> Optional[int]:
        s = self.exit_status
        return os.WEXITSTATUS(s) if s is not None and os.WIFEXITED(s) else None

    @property
    def exit_signal(self) -> Optional[int]:
        s = self.exit_status
        return os.WTERMSIG(s) if s is not None and os.WIFSIGNALED(s) else None


@dataclasses.dataclass(frozen=True)
class Sample:
    """What Sampler.sample() measured: live processes first (pid order),
    then those that exited since the previous sample."""
    time_ns: int                    # CLOCK_MONOTONIC
    interval_ns: int                # since the previous sample
    tasks: int                      # tasks the kernel walked
    cost_ns: int                    # how long the walk took
    processes: tuple[ProcUsage, ...]

    def cpu_percent(self, p: ProcUsage) -> float:
        """p's CPU in the interval, in percent of one CPU."""
        return p.cpu_delta_ns * 100.0 / self.interval_ns if self.interval_ns else 0.0

    def find(self, pid: int, exited: Optional[bool] = None) -> Optional[ProcUsage]:
        for p in self.processes:
            if p.pid == pid and (exited is None or p.exited == exited):
                return p
        return None


def _make_usage(u: _ProcUsage) -> ProcUsage:
    args = _copy_args(u.argc, lambda i: u.argv[i]) if u.argv else ()
    return ProcUsage(
        pid=u.key.pid, start_ns=u.key.start_ns, ppid=u.ppid, uid=u.uid,
        name=_str(u.name) or "", state=u.state.decode(errors="replace"),
        exited=u.exited, started=u.started, kernel_thread=u.kernel_thread,
        threads=u.threads, cpu_ns=u.cpu_ns, user_ns=u.user_ns, system_ns=u.system_ns,
        cpu_delta_ns=u.cpu_delta_ns, rss_bytes=u.rss_bytes,
        max_rss_bytes=u.max_rss_bytes if u.exited else None,
        exit_status=u.exit_status if u.exited else None,
        image=_str(u.image), args=args)


@dataclasses.dataclass(frozen=True)
class AlertRule:
    """A sampler threshold: kind "cpu" (threshold in percent of one CPU),
    "rss" (bytes) or "threads"; it must hold for for_ms; only process pid
    and/or processes named name (comm) when given. AlertRule.parse() takes
    the text form: "cpu > 90% for 5s", "rss > 2GiB pid 42", "threads > 500 name nginx"."""
    kind: str
    threshold: int
    for_ms: int = 0
    pid: int = 0
    name: Optional[str] = None

    @classmethod
    def parse(cls, text: str) -> "AlertRule":
        r = _AlertRule(sz=ctypes.sizeof(_AlertRule))
        storage = c_void_p()
        _check(_pw_alert_rule_parse(os.fsencode(text), byref(r), byref(storage)),
               f"alert rule {text!r}")
        try:
            return cls(kind=_ALERT_KIND_NAMES[r.kind], threshold=r.threshold, for_ms=r.for_ms,
                       pid=r.pid, name=_str(r.name))
        finally:
            _libc.free(storage)

    def _to_c(self) -> _AlertRule:
        if self.kind not in ALERT_KINDS:
            raise ValueError(f"alert kind {self.kind!r}: one of {', '.join(ALERT_KINDS)}")
        if self.threshold < 0 or self.for_ms < 0 or self.pid < 0:
            raise ValueError("alert rule: threshold, for_ms and pid must be >= 0")
        name = os.fsencode(self.name) if self.name is not None else None
        if name is not None and len(name) > 15:
            raise ValueError(f"alert rule name {self.name!r}: at most 15 bytes (a comm)")
        return _AlertRule(sz=ctypes.sizeof(_AlertRule), kind=ALERT_KINDS[self.kind],
                          threshold=self.threshold, for_ms=self.for_ms, pid=self.pid,
                          name=name)


class Sampler(_EventSource):
    """A pw_sampler: CPU and memory of every process at your pace, from one
    BPF task-iterator walk per sample(), with the processes that exited in
    between taken from their exit events; and alert rules that raise one
    "resource_alert" event per process per crossing.

    callback: called with each Event (process_exit with .rusage, and
        resource_alert) inside dispatch() and sample(); without one, events
        are queued and read with drain().
    alerts: rule texts or AlertRule objects (add_alert() adds more).

    Use a Sampler from one thread. start() needs root (BPF) and a kernel
    with the task iterator (features() has "task_iter").
    """

    def __init__(self, callback: Optional[Callable[[Event], object]] = None,
                 alerts: Iterable[Union[str, AlertRule]] = (), max_processes: int = 0,
                 log: Optional[Callable[[int, str], object]] = None,
                 resolve_names: bool = True):
        self._init_events(callback, log, resolve_names)
        self._in_call = False
        self._init_c_callbacks()
        opts = _SamplerOpts(sz=ctypes.sizeof(_SamplerOpts), on_event=self._c_event_fn,
                            userdata=None, log=self._c_log_fn, log_userdata=None,
                            max_processes=max_processes)
        _check(_pw_sampler_new(byref(opts), byref(self._handle)), "sampler options")
        self._add_rules_or_close(alerts, self.add_alert)

    def _h(self) -> c_void_p:
        if not self._handle:
            raise ValueError("sampler is closed")
        if self._in_call:
            raise RuntimeError("a Sampler cannot be called from its own callback")
        return self._handle

    def _call(self, fn, *args) -> int:
        h = self._h()
        self._in_call = True
        try:
            ret = fn(h, *args)
        finally:
            self._in_call = False
        exc, self._pending_exc = self._pending_exc, None
        if exc is not None:
            raise exc
        return ret

    def add_alert(self, rule: Union[str, AlertRule]) -> int:
        """Add an alert rule (text or AlertRule); before or after start(). Its index."""
        if isinstance(rule, str):
            rule = AlertRule.parse(rule)
        c = rule._to_c()
        return _check(_pw_sampler_add_alert(self._h(), byref(c)), f"alert rule {rule}")

    def start(self) -> "Sampler":
        """Load the programs, seed the process table, take the baseline sample."""
        _check(self._call(_pw_sampler_start), "start")
        return self

    def fileno(self) -> int:
        """Readable when exit events wait (call dispatch()); valid after start()."""
        return _check(_pw_sampler_fd(self._h()), "fileno")

    def dispatch(self, timeout_ms: int = 0) -> int:
        """Collect exit events for up to timeout_ms (-1: until one comes)."""
        ret = self._call(_pw_sampler_dispatch, int(timeout_ms))
        return 0 if ret == -_errno.EINTR else _check(ret, "dispatch")

    def wait(self, seconds: float) -> None:
        """Collect exit events for `seconds` (the pause between two samples)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.dispatch(max(1, int(left * 1000)))

    def sample(self) -> Sample:
        """Measure now: deltas since the previous sample; alert rules evaluated
        (their events reach the callback or the queue before this returns)."""
        out = c_void_p()
        _check(self._call(_pw_sampler_sample, byref(out)), "sample")
        smp = out.value
        procs = tuple(_make_usage(_pw_sample_process(smp, i).contents)
                      for i in range(_pw_sample_count(smp)))
        return Sample(time_ns=_pw_sample_time_ns(smp), interval_ns=_pw_sample_interval_ns(smp),
                      tasks=_pw_sample_tasks(smp), cost_ns=_pw_sample_cost_ns(smp),
                      processes=procs)

    def drain(self) -> list[Event]:
        """The queued events (callback-less samplers), emptying the queue."""
        return self._drain()

    def close(self) -> None:
        """Detach everything and free the sampler. Idempotent."""
        if self._in_call:
            raise RuntimeError("a Sampler cannot be closed from its own callback")
        h, self._handle = self._handle, c_void_p()
        if h:
            _pw_sampler_free(h)


# ------------------------------------------------------------- exec gate


class Verdict(enum.IntEnum):
    """enum pw_exec_verdict."""
    ALLOW = 1
    DENY = 2


ALLOW = Verdict.ALLOW
DENY = Verdict.DENY


def _verdict_value(v: Union[None, str, int], what: str) -> int:
    if v is None:
        return 0  # the library's default: ALLOW
    if isinstance(v, str):
        try:
            return int(Verdict[v.upper()])
        except KeyError:
            raise ValueError(f"{what}: {v!r} is not 'allow' or 'deny'") from None
    return int(Verdict(v))


def _errno_value(err: int) -> int:
    if not isinstance(err, int) or isinstance(err, bool) or not 0 <= err <= 4095:
        raise ValueError(f"deny errno must be an errno value (0 = EPERM), not {err!r}")
    return err


@dataclasses.dataclass(frozen=True)
class GateStats:
    """pw_gate_stats: counters since start() (kept after stop())."""
    decisions: int              # exec-opens answered (self and interpreters included)
    allowed: int
    denied: int
    by_rule: int
    by_handler: int
    timed_out: int
    late_verdicts: int          # verdicts after the library had answered: ignored
    handler_errors: int         # the handler raised (error_verdict applied)
    self_allowed: int
    interpreter_opens: int
    overloaded: int
    ungated: int
    ungated_killed: int
    ungated_lost: int
    no_args: int
    sink_dropped: int           # decision records dropped: on_decision too slow
    filesystems_marked: int
    filesystems_unmarkable: int
    extensions: int
    cache_hits: int
    cache_misses: int
    cache_entries: int
    cache_evictions: int
    cache_flushes: int
    cache_refused: int
    cache_invalidated: int
    guardian_verdicts: int = 0
    guardian_read: int = 0
    guardian_kernel_helpers: int = 0
    guardian_kills: int = 0
    guardian_pid: int = 0
    held: int = 0                 # execs fanotify never saw, stopped and decided
    held_killed: int = 0          # ... killed at exec: they could not be held
    held_resumed_killed: int = 0  # held processes killed: something else resumed them
    held_escaped: int = 0
    via_loader: int = 0           # `ld.so PROGRAM` decided on PROGRAM
    loader_unresolved: int = 0
    cache_stale: int = 0          # cached allows whose file's ctime moved
    tree_dropped: int = 0
    guardian_held: int = 0        # held execs the guardian released for the gate
    filesystems_marked_held: int = 0  # other namespaces' filesystems marked through a held exec
    guardian_out_of_scope: int = 0  # exec-opens out of the rules' scope the guardian allowed
    filesystems_marked_mounted: int = 0  # other namespaces' filesystems marked as mounted
    mounts_reported: int = 0      # mounts in other namespaces the gate was told of
    mounts_lost: int = 0          # ... it could not be told of (the kernel's queue was full)
    mounts_unresolved: int = 0    # ... whose namespace had no process left to read it through


@dataclasses.dataclass(frozen=True)
class Decision:
    """A decision record (on_decision), copied out of the borrowed pw_gate_decision."""
    verdict: Verdict
    reason: str                 # "rule", "handler", "timeout", "default", ... (GATE_REASONS)
    errno: int                  # DENY: the errno given to the caller
    audit: bool                 # audit mode: not enforced
    is_interpreter: bool
    pid: int
    tid: int
    uid: Optional[int]          # None when the exec's credentials were not captured
    name: Optional[str]
    image: Optional[str]
    filename: Optional[str]
    args: tuple[str, ...]
    rule: Optional[int]         # index of the deciding rule (order added), None if no rule
    time_ns: int                # CLOCK_MONOTONIC of the answer
    latency_ns: int             # from the exec-open's arrival to the answer

    @property
    def allowed(self) -> bool:
        return self.verdict == Verdict.ALLOW


def _make_decision(d: int) -> Decision:
    reason = _pw_decision_reason(d)
    uid = _pw_decision_uid(d)
    rule = _pw_decision_rule(d)
    return Decision(
        verdict=Verdict(_pw_decision_verdict(d)),
        reason=GATE_REASONS.get(reason, f"unknown_{reason}"),
        errno=_pw_decision_errno(d),
        audit=bool(_pw_decision_audit(d)),
        is_interpreter=bool(_pw_decision_is_interpreter(d)),
        pid=_pw_decision_pid(d),
        tid=_pw_decision_tid(d),
        uid=None if uid == _UNSET_ID else uid,
        name=_str(_pw_decision_name(d)) or None,
        image=_str(_pw_decision_image(d)) or None,
        filename=_str(_pw_decision_filename(d)) or None,
        args=_copy_args(_pw_decision_argc(d), lambda i: _pw_decision_arg(d, i)),
        rule=None if rule < 0 else rule,
        time_ns=_pw_decision_time_ns(d),
        latency_ns=_pw_decision_latency_ns(d),
    )


@dataclasses.dataclass(frozen=True)
class GateRule:
    """A static gate rule (struct pw_gate_rule); GateRule.parse() reads the
    text form ("deny path /usr/bin/nc", "gate by-pid 1234 children", ...)."""
    action: str                     # "allow", "deny" or "gate" (ask the handler)
    errno: int = 0                  # deny: errno for the caller (0 = EPERM)
    path: Optional[str] = None      # the image (or interpreter), absolute, exact
    name: Optional[str] = None      # last path component of the image
    sha256: Optional[bytes] = None  # 32 bytes: SHA-256 of the file content
    uid: Optional[int] = None       # real uid of the exec'ing process
    by_name: Optional[str] = None   # comm of the exec'ing process
    by_pid: int = 0                 # the exec'ing process (0: any)
    children: bool = False          # by_name/by_pid also match their descendants
    arg: Optional[str] = None       # an argument after argv[0] equals this
    cache: bool = False             # allow/deny without subject or arg: cache for the image

    @classmethod
    def parse(cls, text: str) -> "GateRule":
        r = _GateRule()
        storage = c_void_p()
        _check(_pw_gate_rule_parse(os.fsencode(text), byref(r), byref(storage)),
               f"gate rule {text!r}")
        try:
            actions = {v: k for k, v in _GATE_ACTIONS.items()}
            return cls(
                action=actions.get(r.action, str(r.action)),
                errno=r.deny_errno,
                path=_str(r.path),
                name=_str(r.name),
                sha256=bytes(r.sha256[:32]) if r.sha256 else None,
                uid=r.uid if r.has_uid else None,
                by_name=_str(r.subject_name),
                by_pid=r.subject_pid,
                children=bool(r.children),
                arg=_str(r.arg),
                cache=bool(r.cache),
            )
        finally:
            _libc.free(storage)

    def _to_c(self) -> tuple[_GateRule, list]:
        """The C struct and the buffers it points into (keep both alive)."""
        if self.action not in _GATE_ACTIONS:
            raise ValueError(f"gate rule action {self.action!r}: one of {', '.join(_GATE_ACTIONS)}")
        keep = []

        def enc(v):
            if v is None:
                return None
            b = os.fsencode(v)
            keep.append(b)
            return b

        sha = None
        if self.sha256 is not None:
            if len(self.sha256) != 32:
                raise ValueError("gate rule sha256 must be 32 bytes")
            buf = (c_uint8 * 32).from_buffer_copy(self.sha256)
            keep.append(buf)
            sha = ctypes.cast(buf, POINTER(c_uint8))
        r = _GateRule(sz=ctypes.sizeof(_GateRule), action=_GATE_ACTIONS[self.action],
                      deny_errno=_errno_value(self.errno), path=enc(self.path),
                      name=enc(self.name), sha256=sha, has_uid=self.uid is not None,
                      uid=self.uid or 0, subject_name=enc(self.by_name),
                      subject_pid=self.by_pid, children=self.children, arg=enc(self.arg),
                      cache=self.cache)
        return r, keep


# ExecRequest states: where its C request may be touched from
_REQ_HANDLER = 0   # inside the handler: the worker holds the C request
_REQ_DEFERRED = 1  # defer() succeeded: valid until a verdict call (or the gate stops)
_REQ_DONE = 2      # released: the C request may be reused or freed; never touched again


class ExecRequest:
    """One exec waiting for a verdict, as the handler sees it.

    The facts (pid, tid, ppid, key, name, args, filename, image, token,
    is_interpreter, flags) are copied when the request is made, so they stay
    readable forever. The verdict methods, defer(), extend(), sha256() and
    fileno() reach the C request: inside the handler, or after defer() until
    the verdict; afterwards the verdict methods return False, and sha256()
    and fileno() raise ValueError.

    Verdict methods return True when this call decided the exec, and False
    when it had been answered already (deadline passed, gate stopped,
    another verdict first): too late is not an error.
    """

    def __init__(self, gate: "Gate", ptr: int):
        self._gate = gate
        self._ptr = ptr
        self._state = _REQ_HANDLER
        self.pid: int = _pw_exec_pid(ptr)
        self.tid: int = _pw_exec_tid(ptr)
        self.ppid: int = _pw_exec_parent_pid(ptr)
        key = _pw_exec_key(ptr)
        self.key = ProcKey(key.pid, key.start_ns)
        self.name: Optional[str] = _str(_pw_exec_name(ptr))  # comm before the exec
        self.args: tuple[str, ...] = _copy_args(_pw_exec_argc(ptr),
                                                lambda i: _pw_exec_arg(ptr, i))
        self.filename: Optional[str] = _str(_pw_exec_filename(ptr))  # as passed to execve
        self.image: Optional[str] = _str(_pw_exec_image(ptr))  # absolute path opened for exec
        self.is_interpreter: bool = bool(_pw_exec_is_interpreter(ptr))
        flags = _pw_exec_flags(ptr)
        self.flags = frozenset(n for n, bit in _EXEC_FLAGS.items() if flags & bit)
        tp = _pw_exec_token(ptr)
        self.token: Optional[Mapping[str, object]] = None
        if tp:
            self.token = types.MappingProxyType(_token_dict(tp.contents))

    @property
    def argv(self) -> tuple[str, ...]:
        return self.args

    @property
    def uid(self) -> Optional[int]:
        return self.token["uid"] if self.token else None

    def __repr__(self) -> str:
        return (f"<ExecRequest pid={self.pid} tid={self.tid} name={self.name!r} "
                f"image={self.image!r} args={self.args!r}>")

    # -- reaching the C request

    def _live_locked(self) -> bool:
        return self._state == _REQ_HANDLER or (
            self._state == _REQ_DEFERRED and not self._gate._stopping)

    def _verdict(self, fn, *args) -> bool:
        g = self._gate
        with g._req_lock:
            if not self._live_locked():
                return False
            ret = fn(self._ptr, *args)
            if self._state == _REQ_DEFERRED:
                # a verdict call releases a deferred request, whatever it returns
                self._state = _REQ_DONE
                g._deferred.discard(self)
        if ret in (-_errno.ETIMEDOUT, -_errno.EALREADY):
            return False
        _check(ret, "exec verdict")
        return True

    def allow(self) -> bool:
        """Let the exec run."""
        return self._verdict(_pw_exec_allow)

    def deny(self, errno: int = 0) -> bool:
        """Fail the execve with `errno` (0: EPERM; other values need kernel
        support, see Gate.deny_errno_supported, else EPERM is used)."""
        return self._verdict(_pw_exec_deny, _errno_value(errno))

    def allow_cached(self) -> bool:
        """Allow, and let the kernel allow this image (the file) from now on
        without asking, until the file changes or the rules change. Only for
        verdicts that depend on the image alone (not argv, subject or
        is_interpreter). Whether it was cached shows in stats() (cache_refused)."""
        return self._verdict(_pw_exec_allow_cached)

    def deny_cached(self, errno: int = 0) -> bool:
        """Deny, and deny this image from now on without calling the handler."""
        return self._verdict(_pw_exec_deny_cached, _errno_value(errno))

    def defer(self) -> bool:
        """Keep the request past the handler's return, to answer it later from
        any thread with a verdict method (before the deadline; extend() moves
        it). True when deferred; False if it was answered already or the gate
        is stopping (then the library's timeout_verdict applies)."""
        g = self._gate
        with g._req_lock:
            if self._state == _REQ_DEFERRED:
                return True
            if self._state != _REQ_HANDLER or g._stopping:
                return False
            ret = _pw_exec_defer(self._ptr)
            if ret == 0 or ret == -_errno.EALREADY:
                self._state = _REQ_DEFERRED
                g._deferred.add(self)
                return True
        if ret == -_errno.ETIMEDOUT:
            return False
        _check(ret, "defer")
        return False

    def extend(self, ms: int) -> bool:
        """Move the deadline to now + ms (at most max_extensions times:
        Error(E2BIG) after). False if it was answered already."""
        g = self._gate
        with g._req_lock:
            if not self._live_locked():
                return False
            ret = _pw_exec_extend(self._ptr, int(ms))
        if ret == -_errno.ETIMEDOUT:
            return False
        _check(ret, "extend")
        return True

    def sha256(self) -> bytes:
        """SHA-256 of the image content (computed once per request)."""
        out = (c_uint8 * 32)()
        with self._gate._req_lock:
            if not self._live_locked():
                raise ValueError("exec request is no longer valid (answered and released)")
            ret = _pw_exec_sha256(self._ptr, byref(out))
        _check(ret, "sha256")
        return bytes(out)

    def fileno(self) -> int:
        """Read-only fd of the image, owned by the library: valid only while
        the request is (inside the handler, or deferred and unanswered)."""
        with self._gate._req_lock:
            if not self._live_locked():
                raise ValueError("exec request is no longer valid (answered and released)")
            return _check(_pw_exec_fd(self._ptr), "fileno")

    def _handler_returned(self) -> None:
        with self._gate._req_lock:
            if self._state == _REQ_HANDLER:
                self._state = _REQ_DONE


# Set on library threads while they run a gate's Python code: that gate's
# owner-only calls (stop, close, add_rule...) would wait on the calling thread.
_gate_thread = threading.local()


class _OnGateThread:
    """`with _OnGateThread(gate):` marks the calling thread as running gate's
    code, and restores the mark it had on the way out (a log call inside a
    handler nests)."""
    __slots__ = ("_gate", "_outer")

    def __init__(self, gate: "Gate"):
        self._gate = gate

    def __enter__(self) -> None:
        self._outer = getattr(_gate_thread, "gate", None)
        _gate_thread.gate = self._gate

    def __exit__(self, *exc) -> None:
        _gate_thread.gate = self._outer


# Started gates, held strongly: the C gate calls into the Gate's ctypes thunks
# until stop(), so a running Gate must never be collected (it would be by the
# cyclic GC, on any thread, had the application dropped it).
_running_gates: "set[Gate]" = set()
_running_gates_lock = threading.Lock()


class Gate(_Closing):
    """A pw_gate: every new program image on the machine waits for a verdict.

    handler(request) runs on one of the library's worker threads for each
    exec the static rules leave open (see add_rule; a "gate by-pid N
    children" or "gate by-name COMM" rule narrows who is asked). It gives a
    verdict with request.allow() / deny(errno) / allow_cached() /
    deny_cached(errno), or by returning one: ALLOW/DENY (or "allow"/"deny"),
    True (allow) or False (deny with EPERM). Returning None without a
    verdict (and without request.defer()) applies timeout_verdict at once.
    Any other return value is a TypeError. An exception in the handler (or
    such a TypeError) is a handler failure: error_verdict is applied, stats()
    counts handler_errors, and on_error(request, exception) is called on the
    worker thread (without on_error: sys.unraisablehook).

    timeout_ms: deadline of a handler's verdict (0: 1000); timeout_verdict
    ("allow"/"deny"/ALLOW/DENY; None: allow) applies on timeout, overload
    and stop; error_verdict (None: allow) on handler failures.
    on_decision(Decision) runs on its own thread for every exec decided
    (the machine's, not only the gated ones). log(level, message) may run on
    any of the library's threads, the one that enforces deadlines included:
    keep it short.

    The GIL: the handler needs it. An exec started by a thread of this
    process that holds the GIL while the exec waits cannot be decided by
    this process's handler: it gets timeout_verdict at the deadline (no
    hang). os.posix_spawn() does that, and so does subprocess when it
    chooses posix_spawn (close_fds=False); subprocess's default fork/vfork
    path drops the GIL and is decided normally.

    decision_filter: which decisions make a record for on_decision (PW_GATE_RECORD_*
    bits of include/procward.h); 0: every one.
    kill_on_missed_deadline: N > 0: the guardian kills the gate after N missed
    deadlines in a row, and the kernel releases every exec; 0: never.

    argv_in_kernel: copy every execve's argv in the kernel instead of
    reading it from the waiting process when asked (the library switches by
    itself where that read is impossible). ExecRequest reads args before the
    handler runs, so a handler always sees them.

    The gate's own process is never gated (its execs are allowed at once);
    its children are. Start needs root (CAP_SYS_ADMIN and BPF). Owner-thread
    calls (start, stop, close, add_rule, remove_rule, load_rules_file) raise
    RuntimeError from the handler, on_decision or log. Use it as a context
    manager, or call close(). A started gate stays alive, and running, until
    stop() or close() even when nothing refers to it; at interpreter exit
    every running gate is closed.
    """

    def __init__(self, handler: Optional[Callable[[ExecRequest], object]] = None, *,
                 rules: Iterable[Union[str, GateRule]] = (),
                 timeout_ms: int = 0,
                 timeout_verdict: Union[None, str, int] = None,
                 error_verdict: Union[None, str, int] = None,
                 workers: int = 0, max_extensions: int = 0, max_pending: int = 0,
                 interpreters: Union[str, int] = "rules",
                 fail_closed_ungated: bool = False, audit: bool = False,
                 on_decision: Optional[Callable[[Decision], object]] = None,
                 decision_queue: int = 0,
                 on_error: Optional[Callable[[ExecRequest, BaseException], object]] = None,
                 log: Optional[Callable[[int, str], object]] = None,
                 cache_entries: int = 0, argv_in_kernel: bool = False,
                 decision_filter: int = 0, kill_on_missed_deadline: int = 0):
        self._handle = c_void_p()
        self._handler = handler
        self._on_decision_cb = on_decision
        self._on_error_cb = on_error
        self._log = log
        self._req_lock = threading.RLock()  # guards every C call on a request, and their states
        self._deferred: set[ExecRequest] = set()
        self._stopping = False
        self._started = False
        self._owner_pid = os.getpid()
        self._error_verdict = _verdict_value(error_verdict, "error_verdict") or Verdict.ALLOW
        if isinstance(interpreters, str):
            if interpreters not in _GATE_INTERP:
                raise ValueError(f"interpreters: one of {', '.join(_GATE_INTERP)}")
            interpreters = _GATE_INTERP[interpreters]
        # the C side holds these function pointers: they live as long as the gate
        self._c_handler = _GATE_FN(self._on_request) if handler else _GATE_FN()
        self._c_decision = _DECISION_FN(self._on_decision) if on_decision else _DECISION_FN()
        self._c_log = _LOG_FN(self._on_log) if log else _LOG_FN()
        opts = _GateOpts(
            sz=ctypes.sizeof(_GateOpts),
            handler=self._c_handler,
            timeout_ms=timeout_ms,
            timeout_verdict=_verdict_value(timeout_verdict, "timeout_verdict"),
            error_verdict=_verdict_value(error_verdict, "error_verdict"),
            workers=workers,
            max_extensions=max_extensions,
            max_pending=max_pending,
            interpreters=interpreters,
            fail_closed_ungated=fail_closed_ungated,
            audit=audit,
            on_decision=self._c_decision,
            decision_queue=decision_queue,
            on_error=_GATE_ERROR_FN(),  # on_error is called from _on_request, with the exception
            log=self._c_log,
            cache_entries=cache_entries,
            argv_in_kernel=argv_in_kernel,
            decision_filter=decision_filter,
            kill_on_missed_deadline=kill_on_missed_deadline,
        )
        _check(_pw_gate_new(byref(opts), byref(self._handle)), "gate options")
        self._add_rules_or_close(rules)

    # -- library threads: nothing may unwind into C

    def _on_request(self, _g, req, _userdata) -> int:
        try:
            with _OnGateThread(self):
                request = None
                try:
                    request = ExecRequest(self, req)
                    result = self._handler(request)
                    if result is not None:
                        self._apply_return(request, result)
                    return 0
                except BaseException as exc:
                    self._handler_failed(request, exc)
                    return -_errno.ECANCELED  # a handler failure: the library applies error_verdict
                finally:
                    if request is not None:
                        request._handler_returned()
        except BaseException:
            return -_errno.ECANCELED

    @staticmethod
    def _apply_return(request: ExecRequest, result) -> None:
        if isinstance(result, bool):
            verdict = Verdict.ALLOW if result else Verdict.DENY
        elif isinstance(result, (Verdict, str)):
            verdict = Verdict(_verdict_value(result, "handler return"))
        else:
            raise TypeError(f"a gate handler returns None, a Verdict, 'allow'/'deny' or a bool; "
                            f"got {result!r}")
        if verdict == Verdict.ALLOW:
            request.allow()
        else:
            request.deny()

    def _handler_failed(self, request: Optional[ExecRequest], exc: BaseException) -> None:
        try:
            if self._on_error_cb is not None:
                self._on_error_cb(request, exc)
            else:
                _report_unraisable(exc, "gate handler")
        except BaseException as e:
            _report_unraisable(e, "gate on_error")
        if request is not None and request._state == _REQ_DEFERRED:
            # the library answers with error_verdict, but a deferred request
            # stays held until a verdict call: give that verdict here instead
            (request.deny if self._error_verdict_is_deny() else request.allow)()

    def _error_verdict_is_deny(self) -> bool:
        return self._error_verdict == Verdict.DENY

    def _on_decision(self, _g, d, _userdata) -> None:
        try:
            with _OnGateThread(self):
                try:
                    self._on_decision_cb(_make_decision(d))
                except BaseException as e:
                    _report_unraisable(e, "gate on_decision")
        except BaseException:
            pass

    def _on_log(self, level, msg, _userdata) -> None:
        # also called from inside verdict calls, i.e. within a handler
        try:
            with _OnGateThread(self):
                self._log(level, _str(msg) or "")
        except BaseException:
            pass  # a logger's failure is not worth a decision

    # -- owner-thread calls

    def _h(self, what: str) -> c_void_p:
        if getattr(_gate_thread, "gate", None) is self:
            raise RuntimeError(f"Gate.{what}() cannot be called from a gate handler, "
                               f"on_decision or log (it would wait on its own thread)")
        if not self._handle:
            raise ValueError("gate is closed")
        return self._handle

    def add_rule(self, rule: Union[str, GateRule, None] = None, **fields) -> None:
        """Append a static rule: its text form ("deny path /tmp/x/evil",
        "gate by-pid 1234 children", "allow path /usr/bin/cc cache"), a
        GateRule, or GateRule's fields as keywords (action="deny", path=...).
        First match decides. While running, rules with a subject (uid,
        by_name, by_pid) raise Error(EBUSY); others apply to the next exec,
        and drop every cached verdict."""
        h = self._h("add_rule")
        if rule is None:
            rule = GateRule(**fields)
        elif fields:
            raise TypeError("add_rule: a rule, or its fields as keywords, not both")
        if isinstance(rule, str):
            _check(_pw_gate_add_rule_text(h, os.fsencode(rule)), f"gate rule {rule!r}")
            return
        r, _keep = rule._to_c()
        _check(_pw_gate_add_rule(h, byref(r)), f"gate rule {rule!r}")

    def remove_rule(self, index: int) -> None:
        """Remove the rule at `index` (order added; later rules move up).
        Error(ENOENT) if none; Error(EBUSY) for a subject rule while running."""
        _check(_pw_gate_remove_rule(self._h("remove_rule"), index), f"remove gate rule {index}")

    def load_rules_file(self, path: Union[str, os.PathLike]) -> int:
        """Add every rule of a rules file (one per line, # comments); all or
        nothing. Returns how many; before start() only. The Error's message
        says "PATH:LINE: ..." for a bad line."""
        errbuf = ctypes.create_string_buffer(512)
        ret = _pw_gate_load_rules_file(self._h("load_rules_file"), os.fsencode(path), errbuf,
                                       len(errbuf))
        if ret < 0:
            raise _error(ret, _str(errbuf.value) or f"rules file {os.fspath(path)!r}")
        return ret

    def start(self) -> "Gate":
        """Load the kernel programs, mark every filesystem, start the threads:
        from here on every exec on the machine waits for this gate."""
        h = self._h("start")
        with self._req_lock:
            self._stopping = False
        with _running_gates_lock:
            _running_gates.add(self)  # before any handler can run
        try:
            _check(_pw_gate_start(h), "gate start")
        except BaseException:
            with _running_gates_lock:
                _running_gates.discard(self)
            raise
        self._started = True
        return self

    def stop(self) -> None:
        """Answer everything pending with timeout_verdict, wait for running
        handlers and on_decision calls, release the kernel objects.
        Idempotent; deferred requests can no longer be answered."""
        if not self._handle:
            return
        h = self._h("stop")
        if os.getpid() != self._owner_pid:
            return  # a forked child: the threads and the group are the parent's
        with self._req_lock:
            self._stopping = True  # no C call on a deferred request from here: it may be freed
            for r in self._deferred:
                r._state = _REQ_DONE
            self._deferred.clear()
        _pw_gate_stop(h)  # ctypes drops the GIL: the workers can finish their handlers
        with self._req_lock:
            for r in self._deferred:
                r._state = _REQ_DONE
            self._deferred.clear()
        self._started = False
        with _running_gates_lock:
            _running_gates.discard(self)

    @property
    def started(self) -> bool:
        return self._started

    @property
    def deny_errno_supported(self) -> bool:
        """Whether deny(errno) can give errnos other than EPERM (FAN_DENY_ERRNO);
        known after start()."""
        return bool(_pw_gate_deny_errno_supported(self._handle)) if self._handle else False

    def stats(self) -> GateStats:
        if not self._handle:
            raise ValueError("gate is closed")
        s = _GateStats(sz=ctypes.sizeof(_GateStats))
        _check(_pw_gate_stats(self._handle, byref(s)), "gate stats")
        return GateStats(**{f: getattr(s, f) for f in _GATE_STATS_FIELDS})

    # -- lifetime

    def close(self) -> None:
        """Stop and free the gate. Idempotent."""
        if not self._handle:
            return
        self.stop()
        h, self._handle = self._handle, c_void_p()
        if os.getpid() == self._owner_pid:
            _pw_gate_free(h)


@atexit.register
def _stop_gates_at_exit() -> None:
    # before interpreter finalization: the workers can still take the GIL to finish
    with _running_gates_lock:
        gates = list(_running_gates)
    for g in gates:
        try:
            g.close()
        except Exception:
            pass
