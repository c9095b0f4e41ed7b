// SPDX-License-Identifier: MIT
//! procward - a safe Rust binding over the C ABI of libprocward
//! (include/procward.h): [`Monitor`] (process and thread lifecycle, access
//! operations), [`Gate`] (the exec gate), [`Snapshot`] (running processes)
//! and [`Sampler`] (CPU and memory per interval, alert rules).
//!
//! Events, exec requests and decision records are borrowed from the library:
//! [`Event<'a>`](Event) and everything read from it live only as long as the
//! callback that received it, and the compiler enforces it. A handler that
//! tries to keep a borrowed name is rejected:
//!
//! ```compile_fail,E0521
//! use procward::{Monitor, MonitorOptions};
//! let mut kept: Option<&std::ffi::OsStr> = None;
//! let _m = Monitor::new(&MonitorOptions::default(), |ev| {
//!     kept = Some(ev.name()); // error: borrowed data escapes the closure
//! });
//! ```
//!
//! and so is keeping the event itself:
//!
//! ```compile_fail,E0521
//! use procward::{Event, Monitor, MonitorOptions};
//! let mut kept: Vec<&Event> = Vec::new();
//! let _m = Monitor::new(&MonitorOptions::default(), |ev| kept.push(ev));
//! ```
//!
//! The same holds for the gate: a handler is `'static`, so nothing borrowed
//! from an exec request can be stored where it outlives the call:
//!
//! ```compile_fail,E0521
//! use procward::{Gate, GateOptions};
//! use std::sync::{Arc, Mutex};
//! let kept: Arc<Mutex<Vec<&std::ffi::OsStr>>> = Arc::new(Mutex::new(Vec::new()));
//! let k = kept.clone();
//! let _g = Gate::new(GateOptions::default(), move |req| {
//!     k.lock().unwrap().push(req.name()); // error: borrowed data escapes the closure
//! });
//! ```
//!
//! nor from a decision record:
//!
//! ```compile_fail,E0521
//! use procward::{Decision, GateOptions};
//! use std::sync::{Arc, Mutex};
//! let kept: Arc<Mutex<Vec<&std::ffi::OsStr>>> = Arc::new(Mutex::new(Vec::new()));
//! let k = kept.clone();
//! let _o = GateOptions {
//!     on_decision: Some(Box::new(move |d: &Decision<'_>| k.lock().unwrap().push(d.name()))),
//!     ..Default::default()
//! };
//! ```
//!
//! A [`Sample`] borrows its [`Sampler`] (the library reuses it at the next
//! sample), so holding one across the next `sample()` is rejected:
//!
//! ```compile_fail,E0499
//! use procward::{Sampler, SamplerOptions};
//! let mut s = Sampler::new(SamplerOptions::default(), |_| {}).unwrap();
//! let first = s.sample().unwrap();
//! let second = s.sample().unwrap(); // error: s is still borrowed by first
//! println!("{} {}", first.len(), second.len());
//! ```
//!
//! Copying out is what compiles:
//!
//! ```no_run
//! use procward::{EventType, Monitor, MonitorOptions};
//! let mut names: Vec<std::ffi::OsString> = Vec::new();
//! let mut m = Monitor::new(&MonitorOptions { events: EventType::Exec.mask(), ..Default::default() },
//!                          |ev| names.push(ev.name().to_owned()))?;
//! m.start()?;
//! m.dispatch(1000)?;
//! drop(m);
//! println!("{:?}", names);
//! # Ok::<(), procward::Error>(())
//! ```
//!
//! Threads: a [`Monitor`] belongs to the thread that dispatches it (it is not
//! `Send`); [`StopHandle::stop`] works from any thread. Gate handlers run on
//! the gate's worker threads (so they are `Fn + Send + Sync + 'static`).
//! Panics never unwind into C: a monitor handler's panic stops `dispatch()` and
//! resumes there; a gate handler's is a handler failure (error_verdict, then
//! `on_error`).

#![deny(missing_docs)]

pub mod ffi;

// README.md's example is a doc test: it must compile (it is not run).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;

use std::any::Any;
use std::ffi::{CStr, CString, OsStr};
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int, c_uint, c_void};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::RawFd;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;
use std::sync::{Arc, Mutex};

pub use ffi::pw_proc_key as ProcKey;
pub use ffi::pw_token as Token;
pub use ffi::pw_rusage as Rusage;

/// `Rusage::flags` bits (`enum pw_rusage_flag`).
pub mod rusage {
    /// read_bytes/write_bytes are valid (CONFIG_TASK_IO_ACCOUNTING)
    pub const IO: u32 = 1 << 0;
    /// read_chars/write_chars are valid (CONFIG_TASK_XACCT)
    pub const CHARS: u32 = 1 << 1;
    /// other live threads could not be summed (kernel < 6.7): values are low
    pub const PARTIAL: u32 = 1 << 2;
    /// one thread's use (ThreadExit)
    pub const THREAD: u32 = 1 << 3;
}

// ------------------------------------------------------------------ errors

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// An errno value (`EPERM`, `EINVAL`, ...).
    Os(i32),
    /// The kernel exposes no BTF.
    NoBtf,
    /// BPF programs cannot be loaded here.
    NoBpf,
    /// A needed kernel feature is missing.
    KernelFeature,
    /// Enforcement asked for (protect), but this kernel cannot enforce it (no BPF LSM).
    EnforcementUnavailable,
    /// A rule could not be parsed.
    RuleSyntax,
    /// Too many rules of one kind.
    RuleLimit,
    /// A library code this binding does not know yet.
    Other(i32),
}

/// A library failure: the code (positive: an errno value or a `PW_ERR_*`),
/// what was being done, and `pw_strerror()`'s message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: i32,
    context: String,
}

impl Error {
    /// From a library return value (a negative errno or `-PW_ERR_*`).
    pub fn from_ret(ret: c_int, context: &str) -> Error {
        Error { code: ret.abs(), context: context.to_owned() }
    }
    /// The positive code.
    pub fn code(&self) -> i32 {
        self.code
    }
    /// The errno value, if this is one.
    pub fn raw_os_error(&self) -> Option<i32> {
        if self.code < ffi::PW_ERR_FIRST {
            Some(self.code)
        } else {
            None
        }
    }
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self.code {
            ffi::PW_ERR_NO_BTF => ErrorKind::NoBtf,
            ffi::PW_ERR_NO_BPF => ErrorKind::NoBpf,
            ffi::PW_ERR_KERNEL_FEATURE => ErrorKind::KernelFeature,
            ffi::PW_ERR_ENFORCE_UNAVAILABLE => ErrorKind::EnforcementUnavailable,
            ffi::PW_ERR_RULE_SYNTAX => ErrorKind::RuleSyntax,
            ffi::PW_ERR_RULE_LIMIT => ErrorKind::RuleLimit,
            c if c < ffi::PW_ERR_FIRST => ErrorKind::Os(c),
            c => ErrorKind::Other(c),
        }
    }
    /// True for the failures that mean "not available on this machine"
    /// (no BTF, no BPF, a missing kernel feature).
    pub fn is_unavailable(&self) -> bool {
        matches!(self.kind(), ErrorKind::NoBtf | ErrorKind::NoBpf | ErrorKind::KernelFeature)
    }
    /// `pw_strerror()`'s message.
    pub fn message(&self) -> String {
        cstr(unsafe { ffi::pw_strerror(self.code) }).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.message())
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        match e.raw_os_error() {
            Some(code) => std::io::Error::from_raw_os_error(code),
            None => std::io::Error::new(std::io::ErrorKind::Other, e),
        }
    }
}

/// `Result<T, procward::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

fn check(ret: c_int, context: &str) -> Result<c_int> {
    if ret < 0 {
        Err(Error::from_ret(ret, context))
    } else {
        Ok(ret)
    }
}

fn cstring(s: &str, context: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::from_ret(-22, context)) // EINVAL: a NUL inside
}

/// An optional name as a C string (an interior NUL is an error).
fn opt_cstring(s: Option<&str>, context: &str) -> Result<Option<CString>> {
    s.map(|n| cstring(n, context)).transpose()
}

/// The pointer the C side reads for an optional name: NULL for None.
fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |n| n.as_ptr())
}

/// The library's formatters are snprintf-like: ask the size, then fill. Their
/// output is valid UTF-8 (JSON: always; text: every other byte is \xNN).
fn format(what: &str, call: impl Fn(*mut c_char, usize) -> c_int) -> Result<String> {
    let n = check(call(ptr::null_mut(), 0), what)? as usize;
    let mut buf = vec![0u8; n + 1];
    check(call(buf.as_mut_ptr() as *mut c_char, buf.len()), what)?;
    buf.truncate(n);
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

const NO_NEWLINE: c_uint = 1; // PW_FORMAT_NO_NEWLINE

/// Escape a string as the library's text output does (`\xNN` for controls
/// and invalid UTF-8, `\\` for a backslash).
pub fn text_escape(s: &[u8]) -> Result<String> {
    let c = CString::new(s).map_err(|_| Error::from_ret(-22, "escape: NUL in string"))?;
    format("escape", |b, n| unsafe { ffi::pw_text_escape(c.as_ptr(), b, n) })
}

/// The column titles of [`Event::to_text`], with the newline.
pub fn event_text_header() -> &'static str {
    cstr(unsafe { ffi::pw_event_text_header() }).and_then(|c| c.to_str().ok()).unwrap_or("")
}

fn cstr<'a>(p: *const c_char) -> Option<&'a CStr> {
    if p.is_null() {
        None
    } else {
        Some(unsafe { CStr::from_ptr(p) })
    }
}

fn os<'a>(p: *const c_char) -> Option<&'a OsStr> {
    cstr(p).map(|c| OsStr::from_bytes(c.to_bytes()))
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

/// The version of the library linked in ("0.1.0").
pub fn version() -> &'static str {
    cstr(unsafe { ffi::pw_version() }).and_then(|c| c.to_str().ok()).unwrap_or("")
}

/// `PW_FEAT_*` bits of what the running kernel offers.
pub fn features() -> u32 {
    unsafe { ffi::pw_features() }
}

/// `PW_FEAT_BPF_LSM`: whether [`Monitor::protect`] can enforce here.
pub const FEAT_BPF_LSM: u32 = 1 << 5;

/// Whether protect() can enforce on this kernel.
pub fn enforcement_available() -> bool {
    features() & FEAT_BPF_LSM != 0
}

/// Access rights (`enum pw_access`).
pub mod access {
    /// ptrace attach/seize and control requests
    pub const DEBUG: u32 = 1 << 0;
    /// process_vm_readv, /proc/PID/mem read, PTRACE_PEEK*
    pub const READ_MEMORY: u32 = 1 << 1;
    /// process_vm_writev, /proc/PID/mem write, PTRACE_POKE*
    pub const WRITE_MEMORY: u32 = 1 << 2;
    /// PTRACE_MODE_READ checks, signal 0
    pub const READ_INFO: u32 = 1 << 3;
    /// SIGKILL, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGABRT
    pub const TERMINATE: u32 = 1 << 4;
    /// SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT
    pub const SUSPEND_RESUME: u32 = 1 << 5;
    /// any other signal
    pub const SIGNAL: u32 = 1 << 6;
    /// pidfd_open
    pub const OPEN_HANDLE: u32 = 1 << 7;
    /// pidfd_getfd, reopening /proc/PID/fd/N
    pub const DUP_HANDLE: u32 = 1 << 8;
    /// prlimit on the target (enforced together with TERMINATE)
    pub const SET_LIMITS: u32 = 1 << 9;
    /// every right (`PW_ACCESS_ALL`)
    pub const ALL: u32 = 0x3ff;
}

/// "terminate,set-limits" for access bits (the names [`parse_access`] takes).
pub fn access_names(rights: u32) -> String {
    let mut out = Vec::new();
    let mut bit = 1u32;
    while bit != 0 && bit <= rights {
        if rights & bit != 0 {
            out.push(cstr(unsafe { ffi::pw_access_name(bit) }).and_then(|c| c.to_str().ok()).unwrap_or("?"));
        }
        bit = bit.wrapping_shl(1);
    }
    out.join(",")
}

/// "terminate,debug" into access bits; `EINVAL` for an unknown name.
pub fn parse_access(list: &str) -> Result<u32> {
    let c = cstring(list, "parse access")?;
    let mut out: c_uint = 0;
    check(unsafe { ffi::pw_access_parse(c.as_ptr(), &mut out) }, "parse access")?;
    Ok(out)
}

/// Log levels of the library's log callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// errors
    Error,
    /// warnings (fallbacks)
    Warn,
    /// information
    Info,
    /// debugging, libbpf's own output
    Debug,
}

type LogFn = Box<dyn Fn(LogLevel, &str) + Send + Sync>;

unsafe extern "C" fn log_trampoline(level: c_int, msg: *const c_char, ud: *mut c_void) {
    let f = &*(ud as *const LogFn);
    let level = match level {
        0 => LogLevel::Error,
        1 => LogLevel::Warn,
        2 => LogLevel::Info,
        _ => LogLevel::Debug,
    };
    let text = cstr(msg).map(|c| c.to_string_lossy().into_owned()).unwrap_or_default();
    let _ = panic::catch_unwind(AssertUnwindSafe(|| f(level, &text)));
}

// ------------------------------------------------------------------- events

/// Event types (`enum pw_event_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// fork/vfork/clone without CLONE_THREAD
    ProcessCreate,
    /// a process replaced its image
    Exec,
    /// the last thread of a process exited
    ProcessExit,
    /// clone with CLONE_THREAD
    ThreadCreate,
    /// a thread exited
    ThreadExit,
    /// the kernel could not deliver some events
    Lost,
    /// an operation on another process
    ProcessAccess,
    /// an operation on one thread of another process
    ThreadAccess,
    /// a [`Sampler`]'s alert rule was crossed
    ResourceAlert,
    /// a type this binding does not know yet
    Other(i32),
}

impl EventType {
    fn from_raw(t: c_int) -> EventType {
        match t {
            1 => EventType::ProcessCreate,
            2 => EventType::Exec,
            3 => EventType::ProcessExit,
            4 => EventType::ThreadCreate,
            5 => EventType::ThreadExit,
            6 => EventType::Lost,
            7 => EventType::ProcessAccess,
            8 => EventType::ThreadAccess,
            9 => EventType::ResourceAlert,
            t => EventType::Other(t),
        }
    }
    /// The C value.
    pub fn raw(self) -> c_int {
        match self {
            EventType::ProcessCreate => 1,
            EventType::Exec => 2,
            EventType::ProcessExit => 3,
            EventType::ThreadCreate => 4,
            EventType::ThreadExit => 5,
            EventType::Lost => 6,
            EventType::ProcessAccess => 7,
            EventType::ThreadAccess => 8,
            EventType::ResourceAlert => 9,
            EventType::Other(t) => t,
        }
    }
    /// Its bit for [`MonitorOptions::events`].
    pub fn mask(self) -> u32 {
        1u32 << self.raw()
    }
    /// "exec", "process_create", ...
    pub fn name(self) -> &'static str {
        cstr(unsafe { ffi::pw_event_type_name(self.raw()) }).and_then(|c| c.to_str().ok()).unwrap_or("")
    }
}

/// Every lifecycle type (PW_EVMASK_ALL).
pub const EVENTS_ALL: u32 = 0b11_1110;
/// Both access types (PW_EVMASK_ACCESS); not in [`EVENTS_ALL`].
pub const EVENTS_ACCESS: u32 = (1 << 7) | (1 << 8);

/// A borrowed event: valid, with everything read from it, only inside the
/// handler that received it (`'a` is that call).
pub struct Event<'a> {
    raw: *const ffi::pw_event,
    _call: PhantomData<&'a ffi::pw_event>,
}

macro_rules! getters {
    ($($(#[$doc:meta])* $name:ident -> $t:ty = $f:ident;)*) => {
        $($(#[$doc])* pub fn $name(&self) -> $t { unsafe { ffi::$f(self.raw) } })*
    };
}

impl<'a> Event<'a> {
    /// The type.
    pub fn event_type(&self) -> EventType {
        EventType::from_raw(unsafe { ffi::pw_event_type(self.raw) })
    }
    getters! {
        /// CLOCK_MONOTONIC ns.
        time_ns -> u64 = pw_event_time_ns;
        /// The CPU it happened on.
        cpu -> u32 = pw_event_cpu;
        /// The process it is about (the originator for access events).
        pid -> i32 = pw_event_pid;
        /// The thread.
        tid -> i32 = pw_event_tid;
        /// The process key (survives PID reuse).
        key -> ProcKey = pw_event_key;
        /// The parent.
        parent_pid -> i32 = pw_event_parent_pid;
        /// The parent's key.
        parent_key -> ProcKey = pw_event_parent_key;
        /// Who called clone (creates).
        creator_pid -> i32 = pw_event_creator_pid;
        /// The creating thread.
        creator_tid -> i32 = pw_event_creator_tid;
        /// PW_CLONE_* bits.
        clone_flags -> u32 = pw_event_clone_flags;
        /// CLONE_* as passed.
        clone_flags_raw -> u64 = pw_event_clone_flags_raw;
        /// PW_EVF_* bits.
        flags -> u32 = pw_event_flags;
        /// Exits: the raw wait status.
        exit_status -> i32 = pw_event_exit_status;
        /// Lost: how many events since the last notification.
        lost_count -> u64 = pw_event_lost_count;
        /// Access: the target process.
        target_pid -> i32 = pw_event_target_pid;
        /// Access: the target thread.
        target_tid -> i32 = pw_event_target_tid;
        /// Access: the target's key.
        target_key -> ProcKey = pw_event_target_key;
        /// Access: the rights the operation needs ([`access`] bits).
        access -> u32 = pw_event_access;
        /// Access: the signal, else 0.
        signal -> i32 = pw_event_signal;
        /// Access: the syscall's return (>= 0 or -errno).
        access_result -> i64 = pw_event_access_result;
        /// Access: denied by procward's own rule.
        access_denied -> bool = pw_event_access_denied;
        /// Access: ptrace request, open flags, or pidfd_getfd's fd.
        access_detail -> u64 = pw_event_access_detail;
        /// Resource alerts: the rule's index ([`Sampler::add_alert`]'s result).
        alert_rule -> i32 = pw_event_alert_rule;
        /// Resource alerts: the value that crossed the rule (percent of one CPU, bytes or threads).
        alert_value -> u64 = pw_event_alert_value;
        /// Resource alerts: the rule's threshold.
        alert_threshold -> u64 = pw_event_alert_threshold;
    }
    /// Resource alerts: what the rule measures.
    pub fn alert_kind(&self) -> AlertKind {
        AlertKind::from_raw(unsafe { ffi::pw_event_alert_kind(self.raw) })
    }
    /// Access: the operation (`enum pw_access_op`).
    pub fn access_op(&self) -> i32 {
        unsafe { ffi::pw_event_access_op(self.raw) }
    }
    /// Access: "kill", "ptrace", ...
    pub fn access_op_name(&self) -> Option<&'static str> {
        cstr(unsafe { ffi::pw_access_op_name(self.access_op()) }).and_then(|c| c.to_str().ok())
    }
    /// The library's JSON record of the event (what `procward watch -j`
    /// prints), without the newline; made now, so it may be kept.
    pub fn to_json(&self) -> Result<String> {
        format("format event", |b, n| unsafe { ffi::pw_event_format_json(self.raw, b, n, NO_NEWLINE) })
    }
    /// The library's text line (`procward watch -t`), times in seconds since
    /// `time_base_ns` (CLOCK_MONOTONIC; 0: since boot), without the newline.
    pub fn to_text(&self, time_base_ns: u64) -> Result<String> {
        format("format event", |b, n| unsafe { ffi::pw_event_format_text(self.raw, b, n, NO_NEWLINE, time_base_ns) })
    }
    /// Exits (process and thread): the resource use, read in the kernel as
    /// the (last) thread exited; None for other events. Borrowed like the event.
    pub fn rusage(&self) -> Option<&'a Rusage> {
        unsafe { ffi::pw_event_rusage(self.raw).as_ref() }
    }
    /// Process name (comm); empty if unknown.
    pub fn name(&self) -> &'a OsStr {
        os(unsafe { ffi::pw_event_name(self.raw) }).unwrap_or_else(|| OsStr::new(""))
    }
    /// Image path, if known.
    pub fn image(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_event_image(self.raw) })
    }
    /// Exec: the image before.
    pub fn previous_image(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_event_previous_image(self.raw) })
    }
    /// Exec: the filename as passed to execve.
    pub fn exec_filename(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_event_exec_filename(self.raw) })
    }
    /// Exec: the working directory.
    pub fn cwd(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_event_cwd(self.raw) })
    }
    /// The command line.
    pub fn args(&self) -> EventArgs<'a> {
        EventArgs { raw: self.raw, len: unsafe { ffi::pw_event_argc(self.raw) }, _call: PhantomData }
    }
    /// The originator's credentials (None for a Lost notification).
    pub fn token(&self) -> Option<&'a Token> {
        unsafe { ffi::pw_event_token(self.raw).as_ref() }
    }
    /// Name of token().uid.
    pub fn user_name(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_event_user_name(self.raw) })
    }
    /// Name of token().gid.
    pub fn group_name(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_event_group_name(self.raw) })
    }
    /// The cgroup path.
    pub fn cgroup_path(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_event_cgroup_path(self.raw) })
    }
    /// The container id.
    pub fn container_id(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_event_container_id(self.raw) })
    }
    /// Access: the target's name.
    pub fn target_name(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_event_target_name(self.raw) })
    }
}

/// The arguments of an event (borrowed like the event).
#[derive(Clone, Copy)]
pub struct EventArgs<'a> {
    raw: *const ffi::pw_event,
    len: usize,
    _call: PhantomData<&'a ffi::pw_event>,
}

impl<'a> EventArgs<'a> {
    /// How many.
    pub fn len(&self) -> usize {
        self.len
    }
    /// None.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The i-th.
    pub fn get(&self, i: usize) -> Option<&'a OsStr> {
        if i < self.len {
            os(unsafe { ffi::pw_event_arg(self.raw, i) })
        } else {
            None
        }
    }
    /// In order.
    pub fn iter(self) -> impl Iterator<Item = &'a OsStr> {
        (0..self.len).filter_map(move |i| self.get(i))
    }
}

// ----------------------------------------------------------------- snapshot

/// `PW_SNAP_*` flags.
pub mod snap {
    /// read argv of every process
    pub const CMDLINE: u32 = 1;
    /// resolve the image path
    pub const IMAGE: u32 = 2;
    /// resolve user names
    pub const USER: u32 = 4;
    /// all of them
    pub const ALL: u32 = 7;
}

/// The processes running now, from /proc (no privileges needed).
pub struct Snapshot {
    raw: *mut ffi::pw_snapshot,
}

impl Snapshot {
    /// Take one ([`snap`] flags).
    pub fn take(flags: u32) -> Result<Snapshot> {
        Snapshot::take_from(flags, None)
    }
    /// From another /proc (other PID namespaces, tests).
    pub fn take_from(flags: u32, proc_root: Option<&str>) -> Result<Snapshot> {
        let root = opt_cstring(proc_root, "snapshot")?;
        let opts = ffi::pw_snapshot_opts {
            sz: std::mem::size_of::<ffi::pw_snapshot_opts>(),
            flags,
            proc_root: opt_ptr(&root),
        };
        let mut raw = ptr::null_mut();
        check(unsafe { ffi::pw_snapshot_take(&opts, &mut raw) }, "snapshot")?;
        Ok(Snapshot { raw })
    }
    /// How many processes.
    pub fn len(&self) -> usize {
        unsafe { ffi::pw_snapshot_count(self.raw) }
    }
    /// None at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The i-th.
    pub fn get(&self, i: usize) -> Option<Process<'_>> {
        if i < self.len() {
            Some(Process { raw: unsafe { ffi::pw_snapshot_process(self.raw, i) }, _snap: PhantomData })
        } else {
            None
        }
    }
    /// By PID.
    pub fn find(&self, pid: i32) -> Option<Process<'_>> {
        let p = unsafe { ffi::pw_snapshot_find(self.raw, pid) };
        if p.is_null() {
            None
        } else {
            Some(Process { raw: p, _snap: PhantomData })
        }
    }
    /// Every process.
    pub fn iter(&self) -> impl Iterator<Item = Process<'_>> {
        (0..self.len()).filter_map(move |i| self.get(i))
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        unsafe { ffi::pw_snapshot_free(self.raw) }
    }
}

/// A process of a [`Snapshot`], borrowed from it.
#[derive(Clone, Copy)]
pub struct Process<'s> {
    raw: *const ffi::pw_process,
    _snap: PhantomData<&'s Snapshot>,
}

impl<'s> Process<'s> {
    /// The library's JSON record of the process (`procward snapshot -j`).
    pub fn to_json(&self) -> Result<String> {
        format("format process", |b, n| unsafe { ffi::pw_process_format_json(self.raw, b, n, NO_NEWLINE) })
    }
    getters! {
        /// PID.
        pid -> i32 = pw_process_pid;
        /// Parent PID.
        parent_pid -> i32 = pw_process_parent_pid;
        /// Key.
        key -> ProcKey = pw_process_key;
        /// Real uid.
        uid -> u32 = pw_process_uid;
        /// Threads.
        thread_count -> u32 = pw_process_thread_count;
        /// User CPU when the snapshot read it, ns (clock-tick resolution; threads summed).
        user_ns -> u64 = pw_process_user_ns;
        /// System CPU, ns.
        system_ns -> u64 = pw_process_system_ns;
        /// user_ns + system_ns.
        cpu_ns -> u64 = pw_process_cpu_ns;
        /// Resident set, bytes (0 for kernel threads and zombies).
        rss_bytes -> u64 = pw_process_rss_bytes;
        /// Start time, CLOCK_BOOTTIME ns (as key().start_ns).
        start_ns -> u64 = pw_process_start_ns;
    }
    /// State letter ('R', 'S', ...).
    pub fn state(&self) -> char {
        (unsafe { ffi::pw_process_state(self.raw) } as u8) as char
    }
    /// Name (comm).
    pub fn name(&self) -> &'s OsStr {
        os(unsafe { ffi::pw_process_name(self.raw) }).unwrap_or_else(|| OsStr::new(""))
    }
    /// Image (with snap::IMAGE).
    pub fn image(&self) -> Option<&'s OsStr> {
        os(unsafe { ffi::pw_process_image(self.raw) })
    }
    /// User name (with snap::USER).
    pub fn user_name(&self) -> Option<&'s OsStr> {
        os(unsafe { ffi::pw_process_user_name(self.raw) })
    }
    /// argv (with snap::CMDLINE).
    pub fn args(&self) -> Vec<&'s OsStr> {
        let n = unsafe { ffi::pw_process_argc(self.raw) };
        (0..n).filter_map(|i| os(unsafe { ffi::pw_process_arg(self.raw, i) })).collect()
    }
}

// ------------------------------------------------------------------ monitor

/// Options of a [`Monitor`] (`struct pw_monitor_opts`; 0: the library's default).
#[derive(Default)]
pub struct MonitorOptions {
    /// [`EventType::mask`] bits; 0: [`EVENTS_ALL`].
    pub events: u32,
    /// Ring buffer size (power of two >= 4096); 0: 16 MiB.
    pub ringbuf_bytes: usize,
    /// Children inherit rule verdicts.
    pub inherit_children: bool,
    /// Process table bound.
    pub max_processes: usize,
    /// argv capture limit.
    pub max_args_bytes: u32,
    /// Batching delay (0: default, -1: none).
    pub batch_delay_us: i32,
    /// Rules in text form ("exclude name-prefix kworker").
    pub rules: Vec<String>,
    /// The library's log lines.
    pub log: Option<Box<dyn Fn(LogLevel, &str) + Send + Sync>>,
}

/// Counters of a monitor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonitorStats {
    /// callbacks made
    pub events_delivered: u64,
    /// counted by the kernel: no ring-buffer space
    pub events_lost: u64,
    /// skipped in the kernel by rules
    pub events_filtered: u64,
    /// live entries of the process table
    pub processes_tracked: u64,
    /// process-table entries dropped
    pub table_evictions: u64,
}

/// A watched target of access operations.
#[derive(Clone, Debug, Default)]
pub struct AccessTarget {
    /// > 0: this process; 0: by name
    pub pid: i32,
    /// comm of the leader, exact
    pub name: Option<String>,
    /// [`access`] bits to report; 0: all
    pub access: u32,
}

/// A protection rule (needs BPF LSM).
#[derive(Clone, Debug, Default)]
pub struct ProtectRule {
    /// > 0: this process; 0: by name
    pub pid: i32,
    /// every process with this name
    pub name: Option<String>,
    /// [`access`] bits denied, non-zero
    pub deny: u32,
    /// originators with this effective uid may
    pub except_uid: Option<u32>,
    /// this process may (0: the caller)
    pub except_pid: Option<i32>,
}

struct Parsed {
    rule: ffi::pw_rule,
    storage: *mut c_char,
}

impl Parsed {
    fn new(text: &str) -> Result<Parsed> {
        let c = cstring(text, "parse rule")?;
        let mut p = Parsed {
            rule: ffi::pw_rule { sz: std::mem::size_of::<ffi::pw_rule>(), action: 0, match_: 0, name: ptr::null(), id: 0 },
            storage: ptr::null_mut(),
        };
        check(unsafe { ffi::pw_rule_parse(c.as_ptr(), &mut p.rule, &mut p.storage) }, "parse rule")?;
        Ok(p)
    }
}

impl Drop for Parsed {
    fn drop(&mut self) {
        unsafe { ffi::free(self.storage as *mut c_void) }
    }
}

type Handler<'h> = Box<dyn FnMut(&Event<'_>) + 'h>;

/// What a Monitor's or a Sampler's userdata points to: the handler, and the
/// panic it raised, which the call that ran it resumes.
struct HandlerState<'h> {
    handler: Handler<'h>,
    panic: Option<Box<dyn Any + Send>>,
    log: Option<LogFn>,
}

impl<'h> HandlerState<'h> {
    /// After a call that ran the handler: resume its panic; EINTR (stop() or
    /// a signal) is Ok(0); else check().
    fn finish(&mut self, ret: c_int, what: &str) -> Result<usize> {
        if let Some(p) = self.panic.take() {
            panic::resume_unwind(p);
        }
        if ret == -4 {
            return Ok(0); // EINTR: stop() or a signal
        }
        check(ret, what).map(|n| n as usize)
    }
}

/// The counters of a monitor (a Monitor's own, or a Sampler's).
fn monitor_stats(m: *mut ffi::pw_monitor, what: &str) -> Result<MonitorStats> {
    let mut s = ffi::pw_monitor_stats { sz: std::mem::size_of::<ffi::pw_monitor_stats>(), ..Default::default() };
    check(unsafe { ffi::pw_monitor_stats(m, &mut s) }, what)?;
    Ok(MonitorStats {
        events_delivered: s.events_delivered,
        events_lost: s.events_lost,
        events_filtered: s.events_filtered,
        processes_tracked: s.processes_tracked,
        table_evictions: s.table_evictions,
    })
}

struct StopInner {
    monitor: Mutex<*mut ffi::pw_monitor>,
}
// The pointer is only used for pw_monitor_stop (any thread) under the lock,
// and cleared under it before the monitor is freed.
unsafe impl Send for StopInner {}
unsafe impl Sync for StopInner {}

/// Stops a running [`Monitor::run`]/[`Monitor::dispatch`] from any thread;
/// does nothing once the monitor is gone.
#[derive(Clone)]
pub struct StopHandle {
    inner: Arc<StopInner>,
}

impl StopHandle {
    /// Ask run()/dispatch() to return.
    pub fn stop(&self) {
        let m = self.inner.monitor.lock().unwrap_or_else(|e| e.into_inner());
        if !m.is_null() {
            unsafe { ffi::pw_monitor_stop(*m) }
        }
    }
}

/// A monitor of process and thread lifecycle (and access operations). The
/// handler runs on the thread that calls dispatch()/run(), with a borrowed
/// [`Event`].
pub struct Monitor<'h> {
    raw: *mut ffi::pw_monitor,
    state: Box<HandlerState<'h>>,
    stop: Arc<StopInner>,
}

/// The on_event of Monitor and Sampler: ud is their HandlerState.
unsafe extern "C" fn on_event(_m: *mut ffi::pw_monitor, ev: *const ffi::pw_event, ud: *mut c_void) -> c_int {
    let state = &mut *(ud as *mut HandlerState<'_>);
    let event = Event { raw: ev, _call: PhantomData };
    let handler = &mut state.handler;
    match panic::catch_unwind(AssertUnwindSafe(|| handler(&event))) {
        Ok(()) => 0,
        Err(p) => {
            state.panic = Some(p);
            -125 // -ECANCELED: stops the call (dispatch, sample), which resumes the panic
        }
    }
}

impl<'h> Monitor<'h> {
    /// Validate the options and rules; loads nothing until start().
    pub fn new<F>(opts: &MonitorOptions, handler: F) -> Result<Monitor<'h>>
    where
        F: FnMut(&Event<'_>) + 'h,
    {
        Monitor::with_log(opts, None, handler)
    }

    fn with_log<F>(opts: &MonitorOptions, log: Option<LogFn>, handler: F) -> Result<Monitor<'h>>
    where
        F: FnMut(&Event<'_>) + 'h,
    {
        let mut state = Box::new(HandlerState { handler: Box::new(handler), panic: None, log });
        let log_ud: *mut c_void = match state.log.as_ref() {
            Some(l) => l as *const LogFn as *mut c_void,
            None => ptr::null_mut(),
        };
        let copts = ffi::pw_monitor_opts {
            sz: std::mem::size_of::<ffi::pw_monitor_opts>(),
            events: opts.events,
            on_event: Some(on_event),
            userdata: &mut *state as *mut HandlerState<'h> as *mut c_void,
            ringbuf_bytes: opts.ringbuf_bytes,
            inherit_children: opts.inherit_children,
            log: if log_ud.is_null() { None } else { Some(log_trampoline) },
            log_userdata: log_ud,
            max_processes: opts.max_processes,
            max_args_bytes: opts.max_args_bytes,
            batch_delay_us: opts.batch_delay_us,
            redact: ptr::null(),
        };
        let mut raw = ptr::null_mut();
        check(unsafe { ffi::pw_monitor_new(&copts, &mut raw) }, "monitor")?;
        let mut m = Monitor { raw, state, stop: Arc::new(StopInner { monitor: Mutex::new(raw) }) };
        for r in &opts.rules {
            m.add_rule(r)?;
        }
        Ok(m)
    }

    /// Like new(), with the library's log lines going to `log`.
    pub fn new_with_log<F, L>(opts: &MonitorOptions, log: L, handler: F) -> Result<Monitor<'h>>
    where
        F: FnMut(&Event<'_>) + 'h,
        L: Fn(LogLevel, &str) + Send + Sync + 'static,
    {
        Monitor::with_log(opts, Some(Box::new(log)), handler)
    }

    /// "include name bash", "exclude pid 42", ...; before or after start.
    pub fn add_rule(&mut self, text: &str) -> Result<()> {
        let p = Parsed::new(text)?;
        check(unsafe { ffi::pw_monitor_add_rule(self.raw, &p.rule) }, "add rule").map(|_| ())
    }
    /// Remove a rule added earlier; ENOENT if none.
    pub fn remove_rule(&mut self, text: &str) -> Result<()> {
        let p = Parsed::new(text)?;
        check(unsafe { ffi::pw_monitor_remove_rule(self.raw, &p.rule) }, "remove rule").map(|_| ())
    }
    /// Remove every rule.
    pub fn clear_rules(&mut self) -> Result<()> {
        check(unsafe { ffi::pw_monitor_clear_rules(self.raw) }, "clear rules").map(|_| ())
    }

    /// The C form of t with these rights; the name's storage comes along (keep it while c is used).
    fn access_target(t: &AccessTarget, access: u32) -> Result<(Option<CString>, ffi::pw_access_target)> {
        let name = opt_cstring(t.name.as_deref(), "access target")?;
        // Zeroed, tail padding included (see Gate::new): a literal leaves it undefined.
        let mut c: ffi::pw_access_target = unsafe { std::mem::zeroed() };
        c.sz = std::mem::size_of::<ffi::pw_access_target>();
        c.pid = t.pid;
        c.name = opt_ptr(&name);
        c.access = access;
        Ok((name, c))
    }

    /// Report access operations aimed at the target.
    pub fn watch_access(&mut self, t: &AccessTarget) -> Result<()> {
        let (_name, c) = Monitor::access_target(t, t.access)?;
        check(unsafe { ffi::pw_monitor_watch_access(self.raw, &c) }, "watch access").map(|_| ())
    }
    /// Stop watching a target.
    pub fn unwatch_access(&mut self, t: &AccessTarget) -> Result<()> {
        let (_name, c) = Monitor::access_target(t, 0)?;
        check(unsafe { ffi::pw_monitor_unwatch_access(self.raw, &c) }, "unwatch access").map(|_| ())
    }
    /// Report operations on every process for these rights (0: off).
    pub fn watch_access_all(&mut self, access: u32) -> Result<()> {
        check(unsafe { ffi::pw_monitor_watch_access_all(self.raw, access) }, "watch access of all").map(|_| ())
    }
    /// "exclude pid 42", "include uid 1000" for the originators of access events.
    pub fn add_access_originator_rule(&mut self, text: &str) -> Result<()> {
        let p = Parsed::new(text)?;
        check(unsafe { ffi::pw_monitor_add_access_originator_rule(self.raw, &p.rule) }, "originator rule").map(|_| ())
    }
    /// Remove every originator rule.
    pub fn clear_access_originator_rules(&mut self) -> Result<()> {
        check(unsafe { ffi::pw_monitor_clear_access_originator_rules(self.raw) }, "originator rules").map(|_| ())
    }
    fn protect_rule(r: &ProtectRule) -> Result<(Option<CString>, ffi::pw_protect_rule)> {
        let name = opt_cstring(r.name.as_deref(), "protect")?;
        let c = ffi::pw_protect_rule {
            sz: std::mem::size_of::<ffi::pw_protect_rule>(),
            pid: r.pid,
            name: opt_ptr(&name),
            deny: r.deny,
            flags: (if r.except_uid.is_some() { 1 } else { 0 }) | (if r.except_pid.is_some() { 2 } else { 0 }),
            except_uid: r.except_uid.unwrap_or(0),
            except_pid: r.except_pid.unwrap_or(0),
        };
        Ok((name, c))
    }
    /// Deny rights on a process. Err with [`ErrorKind::EnforcementUnavailable`]
    /// when the kernel has no BPF LSM (nothing is stored).
    pub fn protect(&mut self, r: &ProtectRule) -> Result<()> {
        let (_name, c) = Monitor::protect_rule(r)?;
        check(unsafe { ffi::pw_monitor_protect(self.raw, &c) }, "protect").map(|_| ())
    }
    /// Remove the rule for the same pid or name.
    pub fn unprotect(&mut self, r: &ProtectRule) -> Result<()> {
        let (_name, c) = Monitor::protect_rule(r)?;
        check(unsafe { ffi::pw_monitor_unprotect(self.raw, &c) }, "unprotect").map(|_| ())
    }

    /// Load and attach the kernel programs.
    pub fn start(&mut self) -> Result<()> {
        check(unsafe { ffi::pw_monitor_start(self.raw) }, "start monitor").map(|_| ())
    }
    /// A pollable fd, after start.
    pub fn fd(&self) -> Result<RawFd> {
        check(unsafe { ffi::pw_monitor_fd(self.raw) }, "monitor fd")
    }
    fn finish(&mut self, ret: c_int, what: &str) -> Result<usize> {
        self.state.finish(ret, what)
    }
    /// Wait up to timeout_ms (-1: forever) and deliver what is ready; the
    /// number of events delivered. A handler's panic resumes here.
    pub fn dispatch(&mut self, timeout_ms: i32) -> Result<usize> {
        let ret = unsafe { ffi::pw_monitor_dispatch(self.raw, timeout_ms) };
        self.finish(ret, "dispatch")
    }
    /// Dispatch until a [`StopHandle`] stops it.
    pub fn run(&mut self) -> Result<()> {
        let ret = unsafe { ffi::pw_monitor_run(self.raw) };
        self.finish(ret, "run").map(|_| ())
    }
    /// A handle that stops run()/dispatch() from any thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle { inner: self.stop.clone() }
    }
    /// Counters since start.
    pub fn stats(&self) -> Result<MonitorStats> {
        monitor_stats(self.raw, "monitor stats")
    }
}

impl<'h> Drop for Monitor<'h> {
    fn drop(&mut self) {
        *self.stop.monitor.lock().unwrap_or_else(|e| e.into_inner()) = ptr::null_mut();
        unsafe { ffi::pw_monitor_free(self.raw) }
    }
}

// ------------------------------------------------------------------ sampler

/// What an alert rule measures (`enum pw_alert_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// CPU in percent of one CPU
    Cpu,
    /// resident set in bytes
    Rss,
    /// number of threads
    Threads,
    /// a kind this binding does not know yet
    Other(i32),
}

impl AlertKind {
    fn from_raw(k: c_int) -> AlertKind {
        match k {
            ffi::PW_ALERT_CPU => AlertKind::Cpu,
            ffi::PW_ALERT_RSS => AlertKind::Rss,
            ffi::PW_ALERT_THREADS => AlertKind::Threads,
            k => AlertKind::Other(k),
        }
    }
    /// The C value.
    pub fn raw(self) -> c_int {
        match self {
            AlertKind::Cpu => ffi::PW_ALERT_CPU,
            AlertKind::Rss => ffi::PW_ALERT_RSS,
            AlertKind::Threads => ffi::PW_ALERT_THREADS,
            AlertKind::Other(k) => k,
        }
    }
}

/// An alert rule (`struct pw_alert_rule`): "cpu > 90% for 5s" is
/// `AlertRule { kind: AlertKind::Cpu, threshold: 90, for_ms: 5000, pid: 0, name: None }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRule {
    /// What it measures.
    pub kind: AlertKind,
    /// Percent of one CPU, bytes, or threads.
    pub threshold: u64,
    /// The condition must hold at every sample this long; 0: once.
    pub for_ms: u32,
    /// Only this process; 0: every process.
    pub pid: i32,
    /// Only processes with this comm.
    pub name: Option<String>,
}

impl AlertRule {
    /// The library's text form: "cpu > 90% for 5s", "rss > 2GiB",
    /// "threads > 500", optionally followed by "pid N" or "name COMM".
    /// Err with [`ErrorKind::RuleSyntax`].
    pub fn parse(text: &str) -> Result<AlertRule> {
        let c = cstring(text, "parse alert rule")?;
        let mut r = ffi::pw_alert_rule {
            sz: std::mem::size_of::<ffi::pw_alert_rule>(),
            kind: 0,
            threshold: 0,
            for_ms: 0,
            pid: 0,
            name: ptr::null(),
        };
        let mut storage: *mut c_char = ptr::null_mut();
        check(unsafe { ffi::pw_alert_rule_parse(c.as_ptr(), &mut r, &mut storage) }, "parse alert rule")?;
        let name = cstr(r.name).map(|n| n.to_string_lossy().into_owned());
        unsafe { ffi::free(storage as *mut c_void) };
        Ok(AlertRule { kind: AlertKind::from_raw(r.kind), threshold: r.threshold, for_ms: r.for_ms, pid: r.pid, name })
    }
}

/// Options of a [`Sampler`] (`struct pw_sampler_opts`).
#[derive(Default)]
pub struct SamplerOptions {
    /// Process table bound; 0: the library's (65536).
    pub max_processes: usize,
    /// Alert rules in text form, added by new().
    pub alerts: Vec<String>,
    /// The library's log lines.
    pub log: Option<Box<dyn Fn(LogLevel, &str) + Send + Sync>>,
}

/// One process in a sample, borrowed from the [`Sample`].
#[derive(Clone, Copy)]
pub struct ProcUsage<'s> {
    raw: &'s ffi::pw_proc_usage,
    interval_ns: u64,
}

impl<'s> ProcUsage<'s> {
    /// The process key.
    pub fn key(&self) -> ProcKey {
        self.raw.key
    }
    /// The pid.
    pub fn pid(&self) -> i32 {
        self.raw.key.pid
    }
    /// The parent's pid.
    pub fn ppid(&self) -> i32 {
        self.raw.ppid
    }
    /// Real uid.
    pub fn uid(&self) -> u32 {
        self.raw.uid
    }
    /// comm.
    pub fn name(&self) -> &'s OsStr {
        let b: &'s [u8] = unsafe { &*(&self.raw.name[..] as *const [c_char] as *const [u8]) };
        OsStr::from_bytes(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())])
    }
    /// As /proc/PID/stat: 'R', 'S', 'D', 'Z', 'T', ...; 'X': exited.
    pub fn state(&self) -> char {
        self.raw.state as u8 as char
    }
    /// Exited in the interval: the values come from its exit event.
    pub fn exited(&self) -> bool {
        self.raw.exited
    }
    /// Started in the interval.
    pub fn started(&self) -> bool {
        self.raw.started
    }
    /// A kernel thread.
    pub fn kernel_thread(&self) -> bool {
        self.raw.kernel_thread
    }
    /// Threads.
    pub fn threads(&self) -> u32 {
        self.raw.threads
    }
    /// CPU since it started (user + system), ns.
    pub fn cpu_ns(&self) -> u64 {
        self.raw.cpu_ns
    }
    /// User share of cpu_ns.
    pub fn user_ns(&self) -> u64 {
        self.raw.user_ns
    }
    /// System share of cpu_ns.
    pub fn system_ns(&self) -> u64 {
        self.raw.system_ns
    }
    /// CPU in the interval, ns.
    pub fn cpu_delta_ns(&self) -> u64 {
        self.raw.cpu_delta_ns
    }
    /// CPU in the interval in percent of one CPU (100: one CPU all the time).
    pub fn cpu_percent(&self) -> f64 {
        if self.interval_ns == 0 {
            0.0
        } else {
            100.0 * self.raw.cpu_delta_ns as f64 / self.interval_ns as f64
        }
    }
    /// Resident set now; for exited processes their peak.
    pub fn rss_bytes(&self) -> u64 {
        self.raw.rss_bytes
    }
    /// Exited: peak RSS; else 0.
    pub fn max_rss_bytes(&self) -> u64 {
        self.raw.max_rss_bytes
    }
    /// Exited: the raw wait status.
    pub fn exit_status(&self) -> i32 {
        self.raw.exit_status
    }
    /// The image from the process table, if known.
    pub fn image(&self) -> Option<&'s OsStr> {
        os(self.raw.image)
    }
    /// The command line from the process table (empty if unknown).
    pub fn args(&self) -> Vec<&'s OsStr> {
        if self.raw.argv.is_null() {
            return Vec::new();
        }
        (0..self.raw.argc).filter_map(|i| os(unsafe { *self.raw.argv.add(i) })).collect()
    }
}

/// A sample, borrowed from its [`Sampler`]: it holds the sampler borrowed,
/// so the next sample() cannot come while it lives.
pub struct Sample<'s> {
    raw: *const ffi::pw_sample,
    _sampler: PhantomData<&'s mut ()>,
}

impl<'s> Sample<'s> {
    /// CLOCK_MONOTONIC ns of the sample.
    pub fn time_ns(&self) -> u64 {
        unsafe { ffi::pw_sample_time_ns(self.raw) }
    }
    /// ns since the previous sample.
    pub fn interval_ns(&self) -> u64 {
        unsafe { ffi::pw_sample_interval_ns(self.raw) }
    }
    /// Tasks the kernel walked.
    pub fn tasks(&self) -> usize {
        unsafe { ffi::pw_sample_tasks(self.raw) }
    }
    /// ns the walk took.
    pub fn cost_ns(&self) -> u64 {
        unsafe { ffi::pw_sample_cost_ns(self.raw) }
    }
    /// Processes: live ones first (pid order), then those that exited in the interval.
    pub fn len(&self) -> usize {
        unsafe { ffi::pw_sample_count(self.raw) }
    }
    /// No process.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The i-th process.
    pub fn get(&self, i: usize) -> Option<ProcUsage<'_>> {
        if i >= self.len() {
            return None;
        }
        let interval_ns = self.interval_ns();
        unsafe { ffi::pw_sample_process(self.raw, i).as_ref() }.map(|raw| ProcUsage { raw, interval_ns })
    }
    /// Every process.
    pub fn iter(&self) -> impl Iterator<Item = ProcUsage<'_>> {
        (0..self.len()).filter_map(move |i| self.get(i))
    }
    /// The live (`exited` false) or exited entry of pid.
    pub fn find(&self, pid: i32, exited: bool) -> Option<ProcUsage<'_>> {
        self.iter().find(|u| u.pid() == pid && u.exited() == exited)
    }
}

/// CPU and memory of every process, one BPF task-iterator walk per
/// [`Sampler::sample`]; exits between samples come from exit events. The
/// handler gets [`EventType::ProcessExit`] events (with rusage()) and
/// [`EventType::ResourceAlert`] events from alert rules, on the thread that
/// calls dispatch()/sample(), as a borrowed [`Event`]; a panic in it
/// resumes there.
pub struct Sampler<'h> {
    raw: *mut ffi::pw_sampler,
    state: Box<HandlerState<'h>>,
}

impl<'h> Sampler<'h> {
    /// Validate the options and rules; loads nothing until start().
    pub fn new<F>(opts: SamplerOptions, handler: F) -> Result<Sampler<'h>>
    where
        F: FnMut(&Event<'_>) + 'h,
    {
        let mut state = Box::new(HandlerState { handler: Box::new(handler), panic: None, log: opts.log });
        let log_ud: *mut c_void = match state.log.as_ref() {
            Some(l) => l as *const LogFn as *mut c_void,
            None => ptr::null_mut(),
        };
        let copts = ffi::pw_sampler_opts {
            sz: std::mem::size_of::<ffi::pw_sampler_opts>(),
            on_event: Some(on_event),
            userdata: &mut *state as *mut HandlerState<'h> as *mut c_void,
            log: if log_ud.is_null() { None } else { Some(log_trampoline) },
            log_userdata: log_ud,
            max_processes: opts.max_processes,
        };
        let mut raw = ptr::null_mut();
        check(unsafe { ffi::pw_sampler_new(&copts, &mut raw) }, "sampler")?;
        let mut s = Sampler { raw, state };
        for a in &opts.alerts {
            s.add_alert_text(a)?;
        }
        Ok(s)
    }
    /// Add an alert rule, before or after start; its index, which its
    /// alert events carry (`Event::alert_rule`).
    pub fn add_alert(&mut self, r: &AlertRule) -> Result<usize> {
        let name = opt_cstring(r.name.as_deref(), "add alert")?;
        let c = ffi::pw_alert_rule {
            sz: std::mem::size_of::<ffi::pw_alert_rule>(),
            kind: r.kind.raw(),
            threshold: r.threshold,
            for_ms: r.for_ms,
            pid: r.pid,
            name: opt_ptr(&name), // copied by the library
        };
        check(unsafe { ffi::pw_sampler_add_alert(self.raw, &c) }, "add alert").map(|i| i as usize)
    }
    /// Add an alert rule in text form ([`AlertRule::parse`]).
    pub fn add_alert_text(&mut self, text: &str) -> Result<usize> {
        self.add_alert(&AlertRule::parse(text)?)
    }
    /// Load, attach, seed the table and take the baseline sample.
    pub fn start(&mut self) -> Result<()> {
        check(unsafe { ffi::pw_sampler_start(self.raw) }, "start sampler").map(|_| ())
    }
    /// Readable when exit events wait, after start.
    pub fn fd(&self) -> Result<RawFd> {
        check(unsafe { ffi::pw_sampler_fd(self.raw) }, "sampler fd")
    }
    fn finish(&mut self, ret: c_int, what: &str) -> Result<usize> {
        self.state.finish(ret, what)
    }
    /// Collect exit events for up to timeout_ms (-1: until one arrives, 0:
    /// the ready ones); how many.
    pub fn dispatch(&mut self, timeout_ms: i32) -> Result<usize> {
        let ret = unsafe { ffi::pw_sampler_dispatch(self.raw, timeout_ms) };
        self.finish(ret, "sampler dispatch")
    }
    /// Collect exit events until `d` has passed (waiting on the fd, no sleep).
    pub fn run_for(&mut self, d: std::time::Duration) -> Result<()> {
        let end = std::time::Instant::now() + d;
        loop {
            let now = std::time::Instant::now();
            if now >= end {
                return Ok(());
            }
            self.dispatch((end - now).as_millis() as i32 + 1)?;
        }
    }
    /// Take a sample now: the deltas since the previous one; alert rules are
    /// evaluated (the handler runs). Borrows the sampler while it lives.
    pub fn sample(&mut self) -> Result<Sample<'_>> {
        let mut smp: *const ffi::pw_sample = ptr::null();
        let ret = unsafe { ffi::pw_sampler_sample(self.raw, &mut smp) };
        self.finish(ret, "sample")?;
        if smp.is_null() {
            return Err(Error::from_ret(-4, "sample"));
        }
        Ok(Sample { raw: smp, _sampler: PhantomData })
    }
    /// Counters of the sampler's monitor.
    pub fn stats(&self) -> Result<MonitorStats> {
        monitor_stats(unsafe { ffi::pw_sampler_monitor(self.raw) }, "sampler stats")
    }
}

impl<'h> Drop for Sampler<'h> {
    fn drop(&mut self) {
        unsafe { ffi::pw_sampler_free(self.raw) }
    }
}

// --------------------------------------------------------------------- gate

/// A verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// let it run
    Allow,
    /// fail the execve
    Deny,
}

impl Verdict {
    fn raw(self) -> c_int {
        match self {
            Verdict::Allow => 1,
            Verdict::Deny => 2,
        }
    }
}

/// `GateOptions::decision_filter` bits (`PW_GATE_RECORD_*`) and the reasons
/// of `Decision::reason()` (`enum pw_gate_reason`).
pub mod record {
    /// every deny (in audit mode, every would-be deny)
    pub const DENIED: u32 = 1 << 0;
    /// the decisions given for `reason` (one of the `BY_*` below)
    pub const fn reason(reason: i32) -> u32 {
        1 << reason
    }
    /// a static rule decided
    pub const BY_RULE: i32 = 1;
    /// the handler's verdict
    pub const BY_HANDLER: i32 = 2;
    /// no verdict before the deadline
    pub const BY_TIMEOUT: i32 = 3;
    /// the handler failed
    pub const BY_ERROR: i32 = 4;
    /// out of scope, no handler, or no verdict given
    pub const BY_DEFAULT: i32 = 5;
    /// the gate's own process
    pub const BY_SELF: i32 = 6;
    /// more than max_pending waiting
    pub const BY_OVERLOAD: i32 = 7;
    /// pending when the gate stopped
    pub const BY_SHUTDOWN: i32 = 8;
    /// an exec fanotify never saw
    pub const UNGATED: i32 = 9;
    /// a cached verdict
    pub const BY_CACHE: i32 = 10;
    /// the guardian answered
    pub const BY_GUARDIAN: i32 = 11;
    /// denials and every decision that is not a routine allow (the CLI's default log)
    pub const NOTABLE: u32 = !(reason(BY_RULE) | reason(BY_HANDLER) | reason(BY_DEFAULT) | reason(BY_SELF) | reason(BY_CACHE));
}

/// What to do with interpreter exec-opens (`enum pw_gate_interp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpreters {
    /// static rules apply; otherwise allowed without the handler
    Rules = 0,
    /// allowed at once
    Allow = 1,
    /// rules, then the handler
    Handler = 2,
}

impl Default for Interpreters {
    fn default() -> Self {
        Interpreters::Rules
    }
}

struct GateLife {
    freed: Mutex<bool>,
}

type GateHandler = Box<dyn Fn(&mut ExecRequest<'_>) + Send + Sync>;
type DecisionFn = Box<dyn Fn(&Decision<'_>) + Send + Sync>;
type GateErrorFn = Box<dyn Fn(&ExecRequest<'_>, i32, Option<String>) + Send + Sync>;

/// Options of a [`Gate`] (`struct pw_gate_opts`; 0/None: the library's defaults).
#[derive(Default)]
pub struct GateOptions {
    /// deadline of a verdict, ms
    pub timeout_ms: u32,
    /// on timeout, overload, shutdown (None: allow)
    pub timeout_verdict: Option<Verdict>,
    /// on a handler failure (None: allow, fail-open)
    pub error_verdict: Option<Verdict>,
    /// handler calls at once
    pub workers: u32,
    /// extend() calls per request
    pub max_extensions: u32,
    /// requests waiting at once
    pub max_pending: u32,
    /// interpreter exec-opens
    pub interpreters: Interpreters,
    /// kill ungated execs of gated processes
    pub fail_closed_ungated: bool,
    /// report only
    pub audit: bool,
    /// records buffered for on_decision
    pub decision_queue: u32,
    /// images in the verdict cache
    pub cache_entries: u32,
    /// copy argv in the kernel at every execve
    pub argv_in_kernel: bool,
    /// which decisions make records for on_decision ([`record`] bits); 0: every one
    pub decision_filter: u32,
    /// SIGKILL the gating process after this many deadlines in a row the
    /// guardian had to answer; 0: never
    pub kill_on_missed_deadline: u32,
    /// rules in text form ("deny path /usr/bin/nc", "gate by-pid 42 children")
    pub rules: Vec<String>,
    /// every decision, on the decision thread
    pub on_decision: Option<Box<dyn Fn(&Decision<'_>) + Send + Sync>>,
    /// a handler failed: the request, its error (-ECANCELED for a panic) and the panic message
    pub on_error: Option<Box<dyn Fn(&ExecRequest<'_>, i32, Option<String>) + Send + Sync>>,
    /// the library's log lines (from the gate's threads: keep it quick)
    pub log: Option<Box<dyn Fn(LogLevel, &str) + Send + Sync>>,
}

struct GateState {
    handler: Option<GateHandler>,
    on_decision: Option<DecisionFn>,
    on_error: Option<GateErrorFn>,
    log: Option<LogFn>,
    life: Arc<GateLife>,
    fallback: Verdict,
}

/// The exec gate: every exec on the machine waits for its verdict once started.
pub struct Gate {
    raw: *mut ffi::pw_gate,
    state: Box<GateState>,
}

// The owner's calls take &mut self; the callbacks only read the state, which is Sync.
unsafe impl Send for Gate {}

/// Gate counters (`struct pw_gate_stats`).
pub type GateStats = ffi::pw_gate_stats;

thread_local! {
    static HANDLER_PANIC: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
}

unsafe extern "C" fn on_request(_g: *mut ffi::pw_gate, req: *mut ffi::pw_exec_request, ud: *mut c_void) -> c_int {
    let state = &*(ud as *const GateState);
    let handler = match state.handler.as_ref() {
        Some(h) => h,
        None => return 0,
    };
    let mut r = ExecRequest { raw: req, life: &state.life, fallback: state.fallback, deferred: false };
    match panic::catch_unwind(AssertUnwindSafe(|| handler(&mut r))) {
        Ok(()) => 0,
        Err(p) => {
            let msg = panic_message(&*p);
            HANDLER_PANIC.with(|c| *c.borrow_mut() = Some(msg));
            -125 // -ECANCELED: error_verdict, then on_error on this thread
        }
    }
}

unsafe extern "C" fn on_gate_error(_g: *mut ffi::pw_gate, req: *const ffi::pw_exec_request, err: c_int, ud: *mut c_void) {
    let state = &*(ud as *const GateState);
    let msg = HANDLER_PANIC.with(|c| c.borrow_mut().take());
    if let Some(f) = state.on_error.as_ref() {
        let r = ExecRequest { raw: req as *mut _, life: &state.life, fallback: state.fallback, deferred: true };
        let _ = panic::catch_unwind(AssertUnwindSafe(|| f(&r, err, msg)));
    }
}

unsafe extern "C" fn on_decision(_g: *mut ffi::pw_gate, d: *const ffi::pw_gate_decision, ud: *mut c_void) {
    let state = &*(ud as *const GateState);
    if let Some(f) = state.on_decision.as_ref() {
        let dec = Decision { raw: d, _call: PhantomData };
        let _ = panic::catch_unwind(AssertUnwindSafe(|| f(&dec)));
    }
}

impl Gate {
    /// A gate with a handler, called on a worker thread for each exec the
    /// rules leave open: give a verdict with the request's methods, or defer
    /// it. Returning without one applies timeout_verdict; a panic, error_verdict.
    pub fn new<F>(opts: GateOptions, handler: F) -> Result<Gate>
    where
        F: Fn(&mut ExecRequest<'_>) + Send + Sync + 'static,
    {
        Gate::build(opts, Some(Box::new(handler)))
    }
    /// A gate of static rules only (the rest is allowed).
    pub fn with_rules_only(opts: GateOptions) -> Result<Gate> {
        Gate::build(opts, None)
    }

    fn build(opts: GateOptions, handler: Option<GateHandler>) -> Result<Gate> {
        let fallback = opts.timeout_verdict.unwrap_or(Verdict::Allow);
        let state = Box::new(GateState {
            handler,
            on_decision: opts.on_decision,
            on_error: opts.on_error,
            log: opts.log,
            life: Arc::new(GateLife { freed: Mutex::new(false) }),
            fallback,
        });
        let ud = &*state as *const GateState as *mut c_void;
        let log_ud = state.log.as_ref().map_or(ptr::null_mut(), |l| l as *const LogFn as *mut c_void);
        // Zeroed, tail padding included: the library refuses options whose bytes
        // past the last field it knows are not zero, and a struct literal
        // leaves padding undefined (it ends in a 4-byte enum).
        let mut c: ffi::pw_gate_opts = unsafe { std::mem::zeroed() };
        c.sz = std::mem::size_of::<ffi::pw_gate_opts>();
        c.handler = if state.handler.is_some() { Some(on_request) } else { None };
        c.userdata = ud;
        c.timeout_ms = opts.timeout_ms;
        c.timeout_verdict = opts.timeout_verdict.map_or(0, |v| v.raw());
        c.error_verdict = opts.error_verdict.map_or(0, |v| v.raw());
        c.workers = opts.workers;
        c.max_extensions = opts.max_extensions;
        c.max_pending = opts.max_pending;
        c.interpreters = opts.interpreters as c_int;
        c.fail_closed_ungated = opts.fail_closed_ungated;
        c.audit = opts.audit;
        c.on_decision = if state.on_decision.is_some() { Some(on_decision) } else { None };
        c.decision_userdata = ud;
        c.decision_queue = opts.decision_queue;
        c.on_error = Some(on_gate_error);
        c.log = if log_ud.is_null() { None } else { Some(log_trampoline) };
        c.log_userdata = log_ud;
        c.cache_entries = opts.cache_entries;
        c.argv_in_kernel = opts.argv_in_kernel;
        c.decision_filter = opts.decision_filter;
        c.kill_on_missed_deadline = opts.kill_on_missed_deadline;
        c.redact = ptr::null();
        c.mounts = 0; // PW_GATE_MOUNTS_EVERY_NS
        let mut raw = ptr::null_mut();
        check(unsafe { ffi::pw_gate_new(&c, &mut raw) }, "gate")?;
        let mut g = Gate { raw, state };
        for r in &opts.rules {
            g.add_rule(r)?;
        }
        Ok(g)
    }

    /// Append a rule in text form. Not from a handler (it has no `&mut Gate`).
    pub fn add_rule(&mut self, text: &str) -> Result<()> {
        let c = cstring(text, "add gate rule")?;
        check(unsafe { ffi::pw_gate_add_rule_text(self.raw, c.as_ptr()) }, "add gate rule").map(|_| ())
    }
    /// Remove the rule at index (the order added).
    pub fn remove_rule(&mut self, index: u32) -> Result<()> {
        check(unsafe { ffi::pw_gate_remove_rule(self.raw, index) }, "remove gate rule").map(|_| ())
    }
    /// Load a rules file: the number added; on error nothing is added, and
    /// the error's context says "PATH:LINE: ...".
    pub fn load_rules_file(&mut self, path: &str) -> Result<usize> {
        let c = cstring(path, "rules file")?;
        let mut buf = [0 as c_char; 512];
        let ret = unsafe { ffi::pw_gate_load_rules_file(self.raw, c.as_ptr(), buf.as_mut_ptr(), buf.len()) };
        if ret < 0 {
            let msg = cstr(buf.as_ptr()).map(|m| m.to_string_lossy().into_owned()).unwrap_or_default();
            return Err(Error::from_ret(ret, if msg.is_empty() { path } else { &msg }));
        }
        Ok(ret as usize)
    }
    /// From here on every exec on the machine waits for this gate.
    pub fn start(&mut self) -> Result<()> {
        check(unsafe { ffi::pw_gate_start(self.raw) }, "start gate").map(|_| ())
    }
    /// Answer what is pending with timeout_verdict, join the threads. Idempotent.
    pub fn stop(&mut self) {
        unsafe { ffi::pw_gate_stop(self.raw) }
    }
    /// Counters.
    pub fn stats(&self) -> Result<GateStats> {
        let mut s = GateStats { sz: std::mem::size_of::<GateStats>(), ..Default::default() };
        check(unsafe { ffi::pw_gate_stats(self.raw, &mut s) }, "gate stats")?;
        Ok(s)
    }
    /// Whether deny errnos other than EPERM reach the caller.
    pub fn deny_errno_supported(&self) -> bool {
        unsafe { ffi::pw_gate_deny_errno_supported(self.raw) }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        unsafe { ffi::pw_gate_stop(self.raw) }; // joins the handlers: none can defer after this
        let mut freed = self.state.life.freed.lock().unwrap_or_else(|e| e.into_inner());
        *freed = true;
        unsafe { ffi::pw_gate_free(self.raw) };
    }
}

fn verdict_ret(ret: c_int) -> Result<bool> {
    if ret == -110 || ret == -114 {
        return Ok(false); // ETIMEDOUT, EALREADY: answered already
    }
    check(ret, "verdict").map(|_| true)
}

/// A borrowed exec request, valid inside the handler.
pub struct ExecRequest<'a> {
    raw: *mut ffi::pw_exec_request,
    life: &'a Arc<GateLife>,
    fallback: Verdict,
    deferred: bool,
}

impl<'a> ExecRequest<'a> {
    /// The exec'ing process.
    pub fn pid(&self) -> i32 {
        unsafe { ffi::pw_exec_pid(self.raw) }
    }
    /// The exec'ing thread.
    pub fn tid(&self) -> i32 {
        unsafe { ffi::pw_exec_tid(self.raw) }
    }
    /// Its parent.
    pub fn parent_pid(&self) -> i32 {
        unsafe { ffi::pw_exec_parent_pid(self.raw) }
    }
    /// Its key.
    pub fn key(&self) -> ProcKey {
        unsafe { ffi::pw_exec_key(self.raw) }
    }
    /// Name (comm) before the exec.
    pub fn name(&self) -> &OsStr {
        os(unsafe { ffi::pw_exec_name(self.raw) }).unwrap_or_else(|| OsStr::new(""))
    }
    /// The new argv (read from the process on first use: ask before the verdict).
    pub fn args(&mut self) -> Vec<&OsStr> {
        let n = unsafe { ffi::pw_exec_argc(self.raw) };
        (0..n).filter_map(|i| os(unsafe { ffi::pw_exec_arg(self.raw, i) })).collect()
    }
    /// execve's filename argument.
    pub fn filename(&mut self) -> Option<&OsStr> {
        os(unsafe { ffi::pw_exec_filename(self.raw) })
    }
    /// Absolute path of the file opened for exec.
    pub fn image(&mut self) -> Option<&OsStr> {
        os(unsafe { ffi::pw_exec_image(self.raw) })
    }
    /// Credentials at execve entry.
    pub fn token(&self) -> Option<&Token> {
        unsafe { ffi::pw_exec_token(self.raw).as_ref() }
    }
    /// An interpreter of the exec, not its main image.
    pub fn is_interpreter(&self) -> bool {
        unsafe { ffi::pw_exec_is_interpreter(self.raw) }
    }
    /// Read-only fd of the image, owned by the library.
    pub fn fd(&self) -> RawFd {
        unsafe { ffi::pw_exec_fd(self.raw) }
    }
    /// PW_EXEC_* flags.
    pub fn flags(&mut self) -> u32 {
        unsafe { ffi::pw_exec_flags(self.raw) }
    }
    /// SHA-256 of the image.
    pub fn sha256(&mut self) -> Result<[u8; 32]> {
        let mut out = [0u8; 32];
        check(unsafe { ffi::pw_exec_sha256(self.raw, out.as_mut_ptr()) }, "sha256")?;
        Ok(out)
    }
    /// Allow: Ok(true) if this call decided, Ok(false) if answered already.
    pub fn allow(&mut self) -> Result<bool> {
        verdict_ret(unsafe { ffi::pw_exec_allow(self.raw) })
    }
    /// Deny with errno (0: EPERM).
    pub fn deny(&mut self, errno: i32) -> Result<bool> {
        verdict_ret(unsafe { ffi::pw_exec_deny(self.raw, errno) })
    }
    /// Allow, cached for the image.
    pub fn allow_cached(&mut self) -> Result<bool> {
        verdict_ret(unsafe { ffi::pw_exec_allow_cached(self.raw) })
    }
    /// Deny, cached for the image.
    pub fn deny_cached(&mut self, errno: i32) -> Result<bool> {
        verdict_ret(unsafe { ffi::pw_exec_deny_cached(self.raw, errno) })
    }
    /// Push the deadline to now + ms.
    pub fn extend(&mut self, ms: u32) -> Result<bool> {
        verdict_ret(unsafe { ffi::pw_exec_extend(self.raw, ms) })
    }
    /// Keep the request past the handler's return: the [`Deferred`] may go to
    /// any thread and must be answered there (dropped, it answers with the
    /// gate's timeout_verdict).
    pub fn defer(&mut self) -> Result<Deferred> {
        if self.deferred {
            return Err(Error::from_ret(-114, "defer: already deferred"));
        }
        check(unsafe { ffi::pw_exec_defer(self.raw) }, "defer")?;
        self.deferred = true;
        Ok(Deferred { raw: self.raw, life: self.life.clone(), fallback: self.fallback })
    }
}

/// A deferred exec request: answer it from any thread. It may outlive its
/// Gate: the gate's stop answers it with timeout_verdict, and a verdict after
/// the Gate is gone returns Ok(false) without touching anything.
pub struct Deferred {
    raw: *mut ffi::pw_exec_request,
    life: Arc<GateLife>,
    fallback: Verdict,
}

// The library's verdict functions may be called from any thread.
unsafe impl Send for Deferred {}

impl Deferred {
    fn answer(mut self, v: Verdict, errno: i32, cached: bool) -> Result<bool> {
        let raw = std::mem::replace(&mut self.raw, ptr::null_mut());
        Deferred::call(&self.life, raw, v, errno, cached)
    }
    fn call(life: &GateLife, raw: *mut ffi::pw_exec_request, v: Verdict, errno: i32, cached: bool) -> Result<bool> {
        let freed = life.freed.lock().unwrap_or_else(|e| e.into_inner());
        if *freed || raw.is_null() {
            return Ok(false);
        }
        // the verdict call releases the request, whatever it returns
        verdict_ret(unsafe {
            match (v, cached) {
                (Verdict::Allow, false) => ffi::pw_exec_allow(raw),
                (Verdict::Allow, true) => ffi::pw_exec_allow_cached(raw),
                (Verdict::Deny, false) => ffi::pw_exec_deny(raw, errno),
                (Verdict::Deny, true) => ffi::pw_exec_deny_cached(raw, errno),
            }
        })
    }
    /// The exec'ing process; None once the gate is gone.
    pub fn pid(&self) -> Option<i32> {
        let freed = self.life.freed.lock().unwrap_or_else(|e| e.into_inner());
        if *freed {
            None
        } else {
            Some(unsafe { ffi::pw_exec_pid(self.raw) })
        }
    }
    /// Allow.
    pub fn allow(self) -> Result<bool> {
        self.answer(Verdict::Allow, 0, false)
    }
    /// Deny with errno (0: EPERM).
    pub fn deny(self, errno: i32) -> Result<bool> {
        self.answer(Verdict::Deny, errno, false)
    }
    /// Allow, cached for the image.
    pub fn allow_cached(self) -> Result<bool> {
        self.answer(Verdict::Allow, 0, true)
    }
    /// Deny, cached for the image.
    pub fn deny_cached(self, errno: i32) -> Result<bool> {
        self.answer(Verdict::Deny, errno, true)
    }
    /// Push the deadline; Ok(false) if answered already or the gate is gone.
    pub fn extend(&mut self, ms: u32) -> Result<bool> {
        let freed = self.life.freed.lock().unwrap_or_else(|e| e.into_inner());
        if *freed {
            return Ok(false);
        }
        verdict_ret(unsafe { ffi::pw_exec_extend(self.raw, ms) })
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            let _ = Deferred::call(&self.life, self.raw, self.fallback, 0, false);
        }
    }
}

/// A decision record (on_decision), borrowed for the callback.
pub struct Decision<'a> {
    raw: *const ffi::pw_gate_decision,
    _call: PhantomData<&'a ffi::pw_gate_decision>,
}

impl<'a> Decision<'a> {
    /// The library's JSON record of the decision (`procward gate -j`).
    pub fn to_json(&self) -> Result<String> {
        format("format decision", |b, n| unsafe { ffi::pw_gate_decision_format_json(self.raw, b, n, NO_NEWLINE) })
    }
    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        if unsafe { ffi::pw_decision_verdict(self.raw) } == 2 {
            Verdict::Deny
        } else {
            Verdict::Allow
        }
    }
    getters! {
        /// enum pw_gate_reason
        reason -> i32 = pw_decision_reason;
        /// DENY: the errno
        errno -> i32 = pw_decision_errno;
        /// audit: not enforced
        audit -> bool = pw_decision_audit;
        /// an interpreter open
        is_interpreter -> bool = pw_decision_is_interpreter;
        /// the process
        pid -> i32 = pw_decision_pid;
        /// the thread
        tid -> i32 = pw_decision_tid;
        /// real uid
        uid -> u32 = pw_decision_uid;
        /// -1 when no rule decided
        rule -> i32 = pw_decision_rule;
        /// CLOCK_MONOTONIC ns of the answer
        time_ns -> u64 = pw_decision_time_ns;
        /// ns from arrival to answer
        latency_ns -> u64 = pw_decision_latency_ns;
    }
    /// "handler", "rule", "cache", ...
    pub fn reason_name(&self) -> &'static str {
        cstr(unsafe { ffi::pw_gate_reason_name(self.reason()) }).and_then(|c| c.to_str().ok()).unwrap_or("")
    }
    /// comm
    pub fn name(&self) -> &'a OsStr {
        os(unsafe { ffi::pw_decision_name(self.raw) }).unwrap_or_else(|| OsStr::new(""))
    }
    /// the image
    pub fn image(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_decision_image(self.raw) })
    }
    /// execve's filename
    pub fn filename(&self) -> Option<&'a OsStr> {
        os(unsafe { ffi::pw_decision_filename(self.raw) })
    }
    /// argv
    pub fn args(&self) -> Vec<&'a OsStr> {
        let n = unsafe { ffi::pw_decision_argc(self.raw) };
        (0..n).filter_map(|i| os(unsafe { ffi::pw_decision_arg(self.raw, i) })).collect()
    }
}
