// SPDX-License-Identifier: MIT
//! The C ABI of include/procward.h, declared by hand (no bindgen, no crates).
//! Layouts are checked against the C compiler's in the tests (tests/kernel.rs:
//! struct_layouts_match_the_header).
#![allow(non_camel_case_types, missing_docs)]

use std::os::raw::{c_char, c_int, c_uint, c_void};

pub type pid_t = i32;

pub const PW_ERR_FIRST: c_int = 4000;
pub const PW_ERR_NO_BTF: c_int = 4000;
pub const PW_ERR_NO_BPF: c_int = 4001;
pub const PW_ERR_KERNEL_FEATURE: c_int = 4002;
pub const PW_ERR_ENFORCE_UNAVAILABLE: c_int = 4003;
pub const PW_ERR_RULE_SYNTAX: c_int = 4004;
pub const PW_ERR_RULE_LIMIT: c_int = 4005;

#[repr(C)]
pub struct pw_event {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct pw_monitor {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct pw_snapshot {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct pw_process {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct pw_gate {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct pw_exec_request {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct pw_gate_decision {
    _opaque: [u8; 0],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct pw_proc_key {
    pub pid: pid_t,
    pub __pad: u32,
    pub start_ns: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct pw_token {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
    pub cap_effective: u64,
    pub cap_permitted: u64,
    pub loginuid: u32,
    pub sessionid: u32,
    pub pidns_ino: u32,
    pub mntns_ino: u32,
    pub cgroup_id: u64,
}

/// Resource use of an exit (`struct pw_rusage`): plain data, borrowed like the event.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct pw_rusage {
    pub sz: usize,
    pub user_ns: u64,
    pub system_ns: u64,
    pub cpu_ns: u64,
    pub max_rss_bytes: u64,
    pub minor_faults: u64,
    pub major_faults: u64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_chars: u64,
    pub write_chars: u64,
    pub lifetime_ns: u64,
    pub children_user_ns: u64,
    pub children_system_ns: u64,
    pub threads: u32,
    pub flags: c_uint,
}

#[repr(C)]
pub struct pw_rule {
    pub sz: usize,
    pub action: c_int,
    pub match_: c_int,
    pub name: *const c_char,
    pub id: u32,
}

#[repr(C)]
pub struct pw_snapshot_opts {
    pub sz: usize,
    pub flags: c_uint,
    pub proc_root: *const c_char,
}

pub type pw_log_fn = Option<unsafe extern "C" fn(level: c_int, msg: *const c_char, ud: *mut c_void)>;
pub type pw_event_fn =
    Option<unsafe extern "C" fn(m: *mut pw_monitor, ev: *const pw_event, ud: *mut c_void) -> c_int>;

#[repr(C)]
pub struct pw_sampler {
    _opaque: [u8; 0],
}
#[repr(C)]
pub struct pw_sample {
    _opaque: [u8; 0],
}

/// One process in a sample (`struct pw_proc_usage`), borrowed from its sample.
#[repr(C)]
pub struct pw_proc_usage {
    pub sz: usize,
    pub key: pw_proc_key,
    pub ppid: pid_t,
    pub uid: u32,
    pub name: [c_char; 16],
    pub state: c_char,
    pub exited: bool,
    pub started: bool,
    pub kernel_thread: bool,
    pub threads: u32,
    pub cpu_ns: u64,
    pub user_ns: u64,
    pub system_ns: u64,
    pub cpu_delta_ns: u64,
    pub rss_bytes: u64,
    pub max_rss_bytes: u64,
    pub exit_status: c_int,
    pub image: *const c_char,
    pub argc: usize,
    pub argv: *const *const c_char,
}

#[repr(C)]
pub struct pw_sampler_opts {
    pub sz: usize,
    pub on_event: pw_event_fn,
    pub userdata: *mut c_void,
    pub log: pw_log_fn,
    pub log_userdata: *mut c_void,
    pub max_processes: usize,
}

pub const PW_ALERT_CPU: c_int = 1;
pub const PW_ALERT_RSS: c_int = 2;
pub const PW_ALERT_THREADS: c_int = 3;
pub const PW_MAX_ALERT_RULES: usize = 16;

#[repr(C)]
pub struct pw_alert_rule {
    pub sz: usize,
    pub kind: c_int, // enum pw_alert_kind
    pub threshold: u64,
    pub for_ms: c_uint,
    pub pid: pid_t,
    pub name: *const c_char,
}

#[repr(C)]
pub struct pw_monitor_opts {
    pub sz: usize,
    pub events: c_uint,
    pub on_event: pw_event_fn,
    pub userdata: *mut c_void,
    pub ringbuf_bytes: usize,
    pub inherit_children: bool,
    pub log: pw_log_fn,
    pub log_userdata: *mut c_void,
    pub max_processes: usize,
    pub max_args_bytes: c_uint,
    pub batch_delay_us: c_int,
    pub redact: *const c_void, // const struct pw_redactor *: not exposed yet
}

#[repr(C)]
#[derive(Default)]
pub struct pw_monitor_stats {
    pub sz: usize,
    pub events_delivered: u64,
    pub events_lost: u64,
    pub events_filtered: u64,
    pub processes_tracked: u64,
    pub table_evictions: u64,
}

#[repr(C)]
pub struct pw_access_target {
    pub sz: usize,
    pub pid: pid_t,
    pub name: *const c_char,
    pub access: c_uint,
}

#[repr(C)]
pub struct pw_protect_rule {
    pub sz: usize,
    pub pid: pid_t,
    pub name: *const c_char,
    pub deny: c_uint,
    pub flags: c_uint,
    pub except_uid: u32,
    pub except_pid: pid_t,
}

pub type pw_gate_fn = Option<
    unsafe extern "C" fn(g: *mut pw_gate, req: *mut pw_exec_request, ud: *mut c_void) -> c_int,
>;
pub type pw_gate_decision_fn =
    Option<unsafe extern "C" fn(g: *mut pw_gate, d: *const pw_gate_decision, ud: *mut c_void)>;
pub type pw_gate_error_fn = Option<
    unsafe extern "C" fn(g: *mut pw_gate, req: *const pw_exec_request, err: c_int, ud: *mut c_void),
>;

#[repr(C)]
pub struct pw_gate_opts {
    pub sz: usize,
    pub handler: pw_gate_fn,
    pub userdata: *mut c_void,
    pub timeout_ms: c_uint,
    pub timeout_verdict: c_int,
    pub error_verdict: c_int,
    pub workers: c_uint,
    pub max_extensions: c_uint,
    pub max_pending: c_uint,
    pub interpreters: c_int,
    pub fail_closed_ungated: bool,
    pub audit: bool,
    pub on_decision: pw_gate_decision_fn,
    pub decision_userdata: *mut c_void,
    pub decision_queue: c_uint,
    pub on_error: pw_gate_error_fn,
    pub log: pw_log_fn,
    pub log_userdata: *mut c_void,
    pub cache_entries: c_uint,
    pub argv_in_kernel: bool,
    pub decision_filter: c_uint,
    pub kill_on_missed_deadline: c_uint,
    pub redact: *const c_void, // const struct pw_redactor *: not exposed yet
    pub mounts: c_uint,        // enum pw_gate_mounts; 0: every mount namespace
}

#[repr(C)]
pub struct pw_gate_rule {
    pub sz: usize,
    pub action: c_int,
    pub deny_errno: c_int,
    pub path: *const c_char,
    pub name: *const c_char,
    pub sha256: *const u8,
    pub has_uid: bool,
    pub uid: u32,
    pub subject_name: *const c_char,
    pub subject_pid: pid_t,
    pub children: bool,
    pub arg: *const c_char,
    pub cache: bool,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct pw_gate_stats {
    pub sz: usize,
    pub decisions: u64,
    pub allowed: u64,
    pub denied: u64,
    pub by_rule: u64,
    pub by_handler: u64,
    pub timed_out: u64,
    pub late_verdicts: u64,
    pub handler_errors: u64,
    pub self_allowed: u64,
    pub interpreter_opens: u64,
    pub overloaded: u64,
    pub ungated: u64,
    pub ungated_killed: u64,
    pub ungated_lost: u64,
    pub no_args: u64,
    pub sink_dropped: u64,
    pub filesystems_marked: u64,
    pub filesystems_unmarkable: u64,
    pub extensions: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub cache_entries: u64,
    pub cache_evictions: u64,
    pub cache_flushes: u64,
    pub cache_refused: u64,
    pub cache_invalidated: u64,
    pub guardian_verdicts: u64,
    pub guardian_read: u64,
    pub guardian_kernel_helpers: u64,
    pub guardian_kills: u64,
    pub guardian_pid: i64,
    // execs fanotify never saw, and the loader (issue 12)
    pub held: u64,
    pub held_killed: u64,
    pub held_resumed_killed: u64,
    pub held_escaped: u64,
    pub via_loader: u64,
    pub loader_unresolved: u64,
    pub cache_stale: u64,
    pub tree_dropped: u64,
    pub guardian_held: u64,
    pub filesystems_marked_held: u64,
    pub guardian_out_of_scope: u64,
    pub filesystems_marked_mounted: u64,
    pub mounts_reported: u64,
    pub mounts_lost: u64,
    pub mounts_unresolved: u64,
}

extern "C" {
    pub fn free(p: *mut c_void);

    pub fn pw_version() -> *const c_char;
    pub fn pw_strerror(err: c_int) -> *const c_char;
    pub fn pw_features() -> c_uint;

    pub fn pw_event_type_name(t: c_int) -> *const c_char;
    pub fn pw_event_type(ev: *const pw_event) -> c_int;
    pub fn pw_event_time_ns(ev: *const pw_event) -> u64;
    pub fn pw_event_cpu(ev: *const pw_event) -> c_uint;
    pub fn pw_event_pid(ev: *const pw_event) -> pid_t;
    pub fn pw_event_tid(ev: *const pw_event) -> pid_t;
    pub fn pw_event_key(ev: *const pw_event) -> pw_proc_key;
    pub fn pw_event_parent_pid(ev: *const pw_event) -> pid_t;
    pub fn pw_event_parent_key(ev: *const pw_event) -> pw_proc_key;
    pub fn pw_event_creator_pid(ev: *const pw_event) -> pid_t;
    pub fn pw_event_creator_tid(ev: *const pw_event) -> pid_t;
    pub fn pw_event_clone_flags(ev: *const pw_event) -> c_uint;
    pub fn pw_event_clone_flags_raw(ev: *const pw_event) -> u64;
    pub fn pw_event_name(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_image(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_previous_image(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_exec_filename(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_cwd(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_argc(ev: *const pw_event) -> usize;
    pub fn pw_event_arg(ev: *const pw_event, i: usize) -> *const c_char;
    pub fn pw_event_flags(ev: *const pw_event) -> c_uint;
    pub fn pw_event_exit_status(ev: *const pw_event) -> c_int;
    pub fn pw_event_lost_count(ev: *const pw_event) -> u64;
    pub fn pw_event_rusage(ev: *const pw_event) -> *const pw_rusage;
    pub fn pw_event_format_json(ev: *const pw_event, buf: *mut c_char, len: usize, flags: c_uint) -> c_int;
    pub fn pw_event_format_text(ev: *const pw_event, buf: *mut c_char, len: usize, flags: c_uint, time_base_ns: u64) -> c_int;
    pub fn pw_event_text_header() -> *const c_char;
    pub fn pw_process_format_json(p: *const pw_process, buf: *mut c_char, len: usize, flags: c_uint) -> c_int;
    pub fn pw_gate_decision_format_json(d: *const pw_gate_decision, buf: *mut c_char, len: usize, flags: c_uint) -> c_int;
    pub fn pw_text_escape(s: *const c_char, buf: *mut c_char, len: usize) -> c_int;
    pub fn pw_event_token(ev: *const pw_event) -> *const pw_token;
    pub fn pw_event_user_name(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_group_name(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_cgroup_path(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_container_id(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_target_pid(ev: *const pw_event) -> pid_t;
    pub fn pw_event_target_tid(ev: *const pw_event) -> pid_t;
    pub fn pw_event_target_key(ev: *const pw_event) -> pw_proc_key;
    pub fn pw_event_target_name(ev: *const pw_event) -> *const c_char;
    pub fn pw_event_access(ev: *const pw_event) -> c_uint;
    pub fn pw_event_access_op(ev: *const pw_event) -> c_int;
    pub fn pw_event_signal(ev: *const pw_event) -> c_int;
    pub fn pw_event_access_result(ev: *const pw_event) -> i64;
    pub fn pw_event_access_denied(ev: *const pw_event) -> bool;
    pub fn pw_event_access_detail(ev: *const pw_event) -> u64;

    pub fn pw_rule_parse(text: *const c_char, out: *mut pw_rule, storage: *mut *mut c_char) -> c_int;

    pub fn pw_snapshot_take(opts: *const pw_snapshot_opts, out: *mut *mut pw_snapshot) -> c_int;
    pub fn pw_snapshot_free(s: *mut pw_snapshot);
    pub fn pw_snapshot_count(s: *const pw_snapshot) -> usize;
    pub fn pw_snapshot_process(s: *const pw_snapshot, i: usize) -> *const pw_process;
    pub fn pw_snapshot_find(s: *const pw_snapshot, pid: pid_t) -> *const pw_process;
    pub fn pw_process_pid(p: *const pw_process) -> pid_t;
    pub fn pw_process_parent_pid(p: *const pw_process) -> pid_t;
    pub fn pw_process_key(p: *const pw_process) -> pw_proc_key;
    pub fn pw_process_name(p: *const pw_process) -> *const c_char;
    pub fn pw_process_image(p: *const pw_process) -> *const c_char;
    pub fn pw_process_argc(p: *const pw_process) -> usize;
    pub fn pw_process_arg(p: *const pw_process, i: usize) -> *const c_char;
    pub fn pw_process_uid(p: *const pw_process) -> u32;
    pub fn pw_process_user_name(p: *const pw_process) -> *const c_char;
    pub fn pw_process_thread_count(p: *const pw_process) -> u32;
    pub fn pw_process_state(p: *const pw_process) -> c_char;
    pub fn pw_process_user_ns(p: *const pw_process) -> u64;
    pub fn pw_process_system_ns(p: *const pw_process) -> u64;
    pub fn pw_process_cpu_ns(p: *const pw_process) -> u64;
    pub fn pw_process_rss_bytes(p: *const pw_process) -> u64;
    pub fn pw_process_start_ns(p: *const pw_process) -> u64;

    pub fn pw_monitor_new(opts: *const pw_monitor_opts, out: *mut *mut pw_monitor) -> c_int;
    pub fn pw_monitor_free(m: *mut pw_monitor);
    pub fn pw_monitor_add_rule(m: *mut pw_monitor, r: *const pw_rule) -> c_int;
    pub fn pw_monitor_remove_rule(m: *mut pw_monitor, r: *const pw_rule) -> c_int;
    pub fn pw_monitor_clear_rules(m: *mut pw_monitor) -> c_int;
    pub fn pw_monitor_start(m: *mut pw_monitor) -> c_int;
    pub fn pw_monitor_fd(m: *const pw_monitor) -> c_int;
    pub fn pw_monitor_dispatch(m: *mut pw_monitor, timeout_ms: c_int) -> c_int;
    pub fn pw_monitor_run(m: *mut pw_monitor) -> c_int;
    pub fn pw_monitor_stop(m: *mut pw_monitor);
    pub fn pw_monitor_stats(m: *const pw_monitor, s: *mut pw_monitor_stats) -> c_int;

    pub fn pw_sampler_new(opts: *const pw_sampler_opts, out: *mut *mut pw_sampler) -> c_int;
    pub fn pw_sampler_free(s: *mut pw_sampler);
    pub fn pw_sampler_start(s: *mut pw_sampler) -> c_int;
    pub fn pw_sampler_fd(s: *const pw_sampler) -> c_int;
    pub fn pw_sampler_dispatch(s: *mut pw_sampler, timeout_ms: c_int) -> c_int;
    pub fn pw_sampler_sample(s: *mut pw_sampler, out: *mut *const pw_sample) -> c_int;
    pub fn pw_sampler_monitor(s: *mut pw_sampler) -> *mut pw_monitor;
    pub fn pw_sample_time_ns(smp: *const pw_sample) -> u64;
    pub fn pw_sample_interval_ns(smp: *const pw_sample) -> u64;
    pub fn pw_sample_count(smp: *const pw_sample) -> usize;
    pub fn pw_sample_process(smp: *const pw_sample, i: usize) -> *const pw_proc_usage;
    pub fn pw_sample_tasks(smp: *const pw_sample) -> usize;
    pub fn pw_sample_cost_ns(smp: *const pw_sample) -> u64;
    pub fn pw_sampler_add_alert(s: *mut pw_sampler, rule: *const pw_alert_rule) -> c_int;
    pub fn pw_alert_rule_parse(text: *const c_char, out: *mut pw_alert_rule, storage: *mut *mut c_char) -> c_int;
    pub fn pw_event_alert_rule(ev: *const pw_event) -> c_int;
    pub fn pw_event_alert_kind(ev: *const pw_event) -> c_int;
    pub fn pw_event_alert_value(ev: *const pw_event) -> u64;
    pub fn pw_event_alert_threshold(ev: *const pw_event) -> u64;

    pub fn pw_access_name(right: c_uint) -> *const c_char;
    pub fn pw_access_op_name(op: c_int) -> *const c_char;
    pub fn pw_access_parse(list: *const c_char, out: *mut c_uint) -> c_int;
    pub fn pw_monitor_watch_access(m: *mut pw_monitor, t: *const pw_access_target) -> c_int;
    pub fn pw_monitor_unwatch_access(m: *mut pw_monitor, t: *const pw_access_target) -> c_int;
    pub fn pw_monitor_watch_access_all(m: *mut pw_monitor, access: c_uint) -> c_int;
    pub fn pw_monitor_add_access_originator_rule(m: *mut pw_monitor, r: *const pw_rule) -> c_int;
    pub fn pw_monitor_clear_access_originator_rules(m: *mut pw_monitor) -> c_int;
    pub fn pw_monitor_protect(m: *mut pw_monitor, r: *const pw_protect_rule) -> c_int;
    pub fn pw_monitor_unprotect(m: *mut pw_monitor, r: *const pw_protect_rule) -> c_int;

    pub fn pw_gate_rule_parse(text: *const c_char, out: *mut pw_gate_rule, storage: *mut *mut c_char) -> c_int;
    pub fn pw_gate_new(opts: *const pw_gate_opts, out: *mut *mut pw_gate) -> c_int;
    pub fn pw_gate_free(g: *mut pw_gate);
    pub fn pw_gate_add_rule(g: *mut pw_gate, r: *const pw_gate_rule) -> c_int;
    pub fn pw_gate_add_rule_text(g: *mut pw_gate, text: *const c_char) -> c_int;
    pub fn pw_gate_remove_rule(g: *mut pw_gate, index: c_uint) -> c_int;
    pub fn pw_gate_load_rules_file(g: *mut pw_gate, path: *const c_char, errbuf: *mut c_char, errlen: usize) -> c_int;
    pub fn pw_gate_start(g: *mut pw_gate) -> c_int;
    pub fn pw_gate_stop(g: *mut pw_gate);
    pub fn pw_gate_stats(g: *const pw_gate, s: *mut pw_gate_stats) -> c_int;
    pub fn pw_gate_deny_errno_supported(g: *const pw_gate) -> bool;

    pub fn pw_exec_pid(r: *const pw_exec_request) -> pid_t;
    pub fn pw_exec_tid(r: *const pw_exec_request) -> pid_t;
    pub fn pw_exec_parent_pid(r: *const pw_exec_request) -> pid_t;
    pub fn pw_exec_key(r: *const pw_exec_request) -> pw_proc_key;
    pub fn pw_exec_name(r: *const pw_exec_request) -> *const c_char;
    pub fn pw_exec_argc(r: *mut pw_exec_request) -> usize;
    pub fn pw_exec_arg(r: *mut pw_exec_request, i: usize) -> *const c_char;
    pub fn pw_exec_filename(r: *mut pw_exec_request) -> *const c_char;
    pub fn pw_exec_image(r: *mut pw_exec_request) -> *const c_char;
    pub fn pw_exec_token(r: *const pw_exec_request) -> *const pw_token;
    pub fn pw_exec_is_interpreter(r: *const pw_exec_request) -> bool;
    pub fn pw_exec_fd(r: *const pw_exec_request) -> c_int;
    pub fn pw_exec_sha256(r: *mut pw_exec_request, out: *mut u8) -> c_int;
    pub fn pw_exec_flags(r: *mut pw_exec_request) -> c_uint;
    pub fn pw_exec_allow(r: *mut pw_exec_request) -> c_int;
    pub fn pw_exec_deny(r: *mut pw_exec_request, err: c_int) -> c_int;
    pub fn pw_exec_extend(r: *mut pw_exec_request, ms: c_uint) -> c_int;
    pub fn pw_exec_allow_cached(r: *mut pw_exec_request) -> c_int;
    pub fn pw_exec_deny_cached(r: *mut pw_exec_request, err: c_int) -> c_int;
    pub fn pw_exec_defer(r: *mut pw_exec_request) -> c_int;

    pub fn pw_decision_verdict(d: *const pw_gate_decision) -> c_int;
    pub fn pw_decision_reason(d: *const pw_gate_decision) -> c_int;
    pub fn pw_decision_errno(d: *const pw_gate_decision) -> c_int;
    pub fn pw_decision_audit(d: *const pw_gate_decision) -> bool;
    pub fn pw_decision_is_interpreter(d: *const pw_gate_decision) -> bool;
    pub fn pw_decision_pid(d: *const pw_gate_decision) -> pid_t;
    pub fn pw_decision_tid(d: *const pw_gate_decision) -> pid_t;
    pub fn pw_decision_uid(d: *const pw_gate_decision) -> u32;
    pub fn pw_decision_name(d: *const pw_gate_decision) -> *const c_char;
    pub fn pw_decision_image(d: *const pw_gate_decision) -> *const c_char;
    pub fn pw_decision_filename(d: *const pw_gate_decision) -> *const c_char;
    pub fn pw_decision_argc(d: *const pw_gate_decision) -> usize;
    pub fn pw_decision_arg(d: *const pw_gate_decision, i: usize) -> *const c_char;
    pub fn pw_decision_rule(d: *const pw_gate_decision) -> c_int;
    pub fn pw_decision_time_ns(d: *const pw_gate_decision) -> u64;
    pub fn pw_decision_latency_ns(d: *const pw_gate_decision) -> u64;
    pub fn pw_gate_reason_name(reason: c_int) -> *const c_char;
}
