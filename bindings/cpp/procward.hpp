// SPDX-License-Identifier: MIT
/*
 * procward.hpp - header-only C++17 binding over the C ABI of libprocward
 * (include/procward.h): RAII Monitor, Gate and Snapshot, std::function
 * handlers, errors as exceptions (procward::Error, a std::system_error).
 *
 * Lifetimes: Event, Decision and ExecRequest are views of borrowed C objects;
 * they and every std::string_view they return are valid only inside the
 * callback that received them (an ExecRequest after defer(): see Deferred).
 * Copy what you keep (std::string(ev.name())). Views cannot be copied.
 *
 * Threads: as in C. A Monitor belongs to one thread, except stop(). Gate
 * handlers run on the gate's worker threads, on_decision on its decision
 * thread; they may run concurrently with each other.
 *
 * Exceptions: library failures throw procward::Error (code(): the library's
 * error as a positive value in procward::category(), equivalent to
 * std::errc values for errno codes); protect() without BPF LSM throws
 * procward::EnforcementUnavailable. An exception thrown by a monitor handler
 * stops dispatch() and is rethrown from it; one thrown by a gate handler is a
 * handler failure (the gate's error_verdict) and goes to on_error. Nothing
 * unwinds into C.
 */
#ifndef PROCWARD_HPP
#define PROCWARD_HPP

#include <procward.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace procward {

// ------------------------------------------------------------------ errors

class ErrorCategory : public std::error_category {
public:
	const char *name() const noexcept override { return "procward"; }
	std::string message(int code) const override { return pw_strerror(code); }
	// errno codes compare equal to std::errc: e.code() == std::errc::operation_not_permitted
	std::error_condition default_error_condition(int code) const noexcept override
	{
		if (code < PW_ERR_FIRST)
			return std::error_condition(code, std::generic_category());
		return std::error_condition(code, *this);
	}
};

inline const std::error_category &category() noexcept
{
	static const ErrorCategory c;
	return c;
}

// The library's codes, positive as in code().value().
enum class Errc {
	no_btf = PW_ERR_NO_BTF,
	no_bpf = PW_ERR_NO_BPF,
	kernel_feature = PW_ERR_KERNEL_FEATURE,
	enforce_unavailable = PW_ERR_ENFORCE_UNAVAILABLE,
	rule_syntax = PW_ERR_RULE_SYNTAX,
	rule_limit = PW_ERR_RULE_LIMIT,
};
inline std::error_code make_error_code(Errc e) noexcept { return { static_cast<int>(e), category() }; }
} // namespace procward

// e.code() == procward::Errc::enforce_unavailable
template <> struct std::is_error_code_enum<procward::Errc> : std::true_type {};

namespace procward {

class Error : public std::system_error {
public:
	// err: a library return value (negative errno or -pw_error)
	Error(int err, const std::string &what)
		: std::system_error(err < 0 ? -err : err, category(), what)
	{
	}
	int value() const noexcept { return code().value(); }
};

// pw_monitor_protect() on a kernel without BPF LSM: nothing is enforced or stored.
class EnforcementUnavailable : public Error {
public:
	using Error::Error;
};

namespace detail {
[[noreturn]] inline void raise(int err, const char *what)
{
	if (-err == PW_ERR_ENFORCE_UNAVAILABLE || err == PW_ERR_ENFORCE_UNAVAILABLE)
		throw EnforcementUnavailable(err, what);
	throw Error(err, what);
}
inline int check(int ret, const char *what)
{
	if (ret < 0)
		raise(ret, what);
	return ret;
}
inline std::string_view sv(const char *s) { return s ? std::string_view(s) : std::string_view(); }
// The library's formatters are snprintf-like: ask the size, then fill.
template <typename F> std::string format(F call, const char *what)
{
	int n = check(call(nullptr, 0), what);
	std::string out(size_t(n) + 1, '\0');
	check(call(out.data(), out.size()), what);
	out.resize(size_t(n));
	return out;
}
} // namespace detail

inline std::string_view version() { return pw_version(); }
// Escape a string as the library's text output does (\xNN for controls and
// invalid UTF-8, \\ for a backslash).
inline std::string text_escape(const std::string &s)
{
	return detail::format([&](char *b, size_t n) { return pw_text_escape(s.c_str(), b, n); }, "escape");
}
inline unsigned int features() { return pw_features(); }
inline bool enforcement_available() { return pw_features() & PW_FEAT_BPF_LSM; }

// "terminate,debug" -> PW_ACCESS_* bits; throws Error(EINVAL) on an unknown name.
inline unsigned int parse_access(const std::string &list)
{
	unsigned int out = 0;
	detail::check(pw_access_parse(list.c_str(), &out), "parse access rights");
	return out;
}

// "terminate,set-limits" for PW_ACCESS_* bits (the names parse_access takes).
inline std::string access_names(unsigned int rights)
{
	std::string out;
	for (unsigned int bit = 1; bit && bit <= rights; bit <<= 1)
		if (rights & bit) {
			const char *n = pw_access_name(bit);
			if (!out.empty())
				out += ',';
			out += n ? n : "?";
		}
	return out;
}

enum class LogLevel { error = PW_LOG_ERROR, warn = PW_LOG_WARN, info = PW_LOG_INFO, debug = PW_LOG_DEBUG };
using LogFn = std::function<void(LogLevel, std::string_view)>;

namespace detail {
inline void log_trampoline(enum pw_log_level level, const char *msg, void *userdata)
{
	try {
		(*static_cast<LogFn *>(userdata))(static_cast<LogLevel>(level), sv(msg));
	} catch (...) {
		// a log line is not worth unwinding into the library
	}
}
// The log pair of Monitor's, Sampler's and Gate's C options: log is the
// object's own copy (its State's), alive as long as the C object calls it;
// empty, the library's default (silent) stays.
template <typename Opts> void set_log(Opts &o, LogFn &log)
{
	o.log = log ? log_trampoline : nullptr;
	o.log_userdata = log ? &log : nullptr;
}
// A C struct passed in by size: zeroed, padding too (the library checks the
// tail past its last field), then its sz set.
template <typename T> void zero_sized(T &c)
{
	std::memset(&c, 0, sizeof(c));
	c.sz = sizeof(c);
}
// An optional name argument: "" is none (NULL to the library).
inline const char *opt_cstr(const std::string &s) { return s.empty() ? nullptr : s.c_str(); }
} // namespace detail

using ProcKey = pw_proc_key;
using Token = pw_token; // plain data: uid, euid, ..., cap_effective, cgroup_id
using Rusage = pw_rusage; // plain data: user_ns, system_ns, cpu_ns, max_rss_bytes, ... flags (PW_RUSAGE_*)

// -------------------------------------------------------------------- views

namespace detail {
// The iterator of Snapshot and Sample: an index into a container whose
// operator[] makes the Value view; it borrows the container.
template <typename Container, typename Value> class IndexIterator {
public:
	IndexIterator(const Container *c, size_t i) : c_(c), i_(i) {}
	Value operator*() const { return (*c_)[i_]; }
	IndexIterator &operator++() { ++i_; return *this; }
	bool operator!=(const IndexIterator &o) const { return i_ != o.i_; }

private:
	const Container *c_;
	size_t i_;
};
} // namespace detail

// Arguments of an event, a request or a process: index or iterate.
template <typename Obj, size_t (*Count)(Obj), const char *(*Arg)(Obj, size_t)> class ArgsView {
public:
	explicit ArgsView(Obj o) : o_(o), n_(Count(o)) {}
	size_t size() const { return n_; }
	std::string_view operator[](size_t i) const { return detail::sv(Arg(o_, i)); }
	std::vector<std::string_view> vector() const
	{
		std::vector<std::string_view> v;
		for (size_t i = 0; i < n_; i++)
			v.push_back((*this)[i]);
		return v;
	}
	// argv joined by single spaces
	std::string joined() const
	{
		std::string s;
		for (size_t i = 0; i < n_; i++) {
			if (i)
				s += ' ';
			s += (*this)[i];
		}
		return s;
	}

private:
	Obj o_;
	size_t n_;
};

enum class EventType {
	process_create = PW_EVENT_PROCESS_CREATE,
	exec = PW_EVENT_EXEC,
	process_exit = PW_EVENT_PROCESS_EXIT,
	thread_create = PW_EVENT_THREAD_CREATE,
	thread_exit = PW_EVENT_THREAD_EXIT,
	lost = PW_EVENT_LOST,
	process_access = PW_EVENT_PROCESS_ACCESS,
	thread_access = PW_EVENT_THREAD_ACCESS,
	resource_alert = PW_EVENT_RESOURCE_ALERT, // from a Sampler's alert rule
};

enum class AlertKind { cpu = PW_ALERT_CPU, rss = PW_ALERT_RSS, threads = PW_ALERT_THREADS };
constexpr unsigned int mask(EventType t) { return 1u << static_cast<unsigned int>(t); }

inline std::string_view type_name(EventType t)
{
	return detail::sv(pw_event_type_name(static_cast<enum pw_event_type>(t)));
}

// A borrowed event: valid, with its strings, only inside the handler.
class Event {
public:
	explicit Event(const pw_event *ev) : ev_(ev) {}
	Event(const Event &) = delete;
	Event &operator=(const Event &) = delete;

	EventType type() const { return static_cast<EventType>(pw_event_type(ev_)); }
	uint64_t time_ns() const { return pw_event_time_ns(ev_); }
	unsigned int cpu() const { return pw_event_cpu(ev_); }
	pid_t pid() const { return pw_event_pid(ev_); }
	pid_t tid() const { return pw_event_tid(ev_); }
	ProcKey key() const { return pw_event_key(ev_); }
	pid_t parent_pid() const { return pw_event_parent_pid(ev_); }
	ProcKey parent_key() const { return pw_event_parent_key(ev_); }
	pid_t creator_pid() const { return pw_event_creator_pid(ev_); }
	pid_t creator_tid() const { return pw_event_creator_tid(ev_); }
	unsigned int clone_flags() const { return pw_event_clone_flags(ev_); } // PW_CLONE_*
	uint64_t clone_flags_raw() const { return pw_event_clone_flags_raw(ev_); }
	// Empty when unknown.
	std::string_view name() const { return detail::sv(pw_event_name(ev_)); }
	std::string_view image() const { return detail::sv(pw_event_image(ev_)); }
	std::string_view previous_image() const { return detail::sv(pw_event_previous_image(ev_)); }
	std::string_view exec_filename() const { return detail::sv(pw_event_exec_filename(ev_)); }
	std::string_view cwd() const { return detail::sv(pw_event_cwd(ev_)); }
	ArgsView<const pw_event *, pw_event_argc, pw_event_arg> args() const { return ArgsView<const pw_event *, pw_event_argc, pw_event_arg>(ev_); }
	unsigned int flags() const { return pw_event_flags(ev_); } // PW_EVF_*
	int exit_status() const { return pw_event_exit_status(ev_); } // as from waitpid()
	uint64_t lost_count() const { return pw_event_lost_count(ev_); }
	// Exits (process and thread): the resource use, read in the kernel as the
	// (last) thread exited; nullptr for other events. Borrowed like the event.
	const Rusage *rusage() const { return pw_event_rusage(ev_); }
	// The originator's credentials; nullptr for a LOST notification.
	const Token *token() const { return pw_event_token(ev_); }
	std::string_view user_name() const { return detail::sv(pw_event_user_name(ev_)); }
	std::string_view group_name() const { return detail::sv(pw_event_group_name(ev_)); }
	std::string_view cgroup_path() const { return detail::sv(pw_event_cgroup_path(ev_)); }
	std::string_view container_id() const { return detail::sv(pw_event_container_id(ev_)); }
	// Access events (pid()/name()/token() are then the originator's).
	bool is_access() const { return type() == EventType::process_access || type() == EventType::thread_access; }
	pid_t target_pid() const { return pw_event_target_pid(ev_); }
	pid_t target_tid() const { return pw_event_target_tid(ev_); }
	ProcKey target_key() const { return pw_event_target_key(ev_); }
	std::string_view target_name() const { return detail::sv(pw_event_target_name(ev_)); }
	unsigned int access() const { return pw_event_access(ev_); } // PW_ACCESS_*
	enum pw_access_op access_op() const { return pw_event_access_op(ev_); }
	int signal() const { return pw_event_signal(ev_); }
	int64_t access_result() const { return pw_event_access_result(ev_); }
	bool access_denied() const { return pw_event_access_denied(ev_); }
	uint64_t access_detail() const { return pw_event_access_detail(ev_); }
	// Resource alerts (pid()/key()/name()/token()/args() are the process's):
	// the rule's index (Sampler::add_alert's return), its kind, the value that
	// crossed it and the threshold (percent of one CPU, bytes or threads).
	bool is_alert() const { return type() == EventType::resource_alert; }
	int alert_rule() const { return pw_event_alert_rule(ev_); }
	AlertKind alert_kind() const { return static_cast<AlertKind>(pw_event_alert_kind(ev_)); }
	uint64_t alert_value() const { return pw_event_alert_value(ev_); }
	uint64_t alert_threshold() const { return pw_event_alert_threshold(ev_); }
	// The library's formats (what `procward watch -j` / `-t` print): one JSON
	// object (valid UTF-8 whatever the bytes), or one escaped text line with
	// seconds since time_base_ns. With '\n' unless newline is false.
	std::string json(bool newline = false) const
	{
		unsigned int f = newline ? 0u : unsigned(PW_FORMAT_NO_NEWLINE);
		return detail::format([&](char *b, size_t n) { return pw_event_format_json(ev_, b, n, f); }, "format event");
	}
	std::string text(uint64_t time_base_ns = 0, bool newline = false) const
	{
		unsigned int f = newline ? 0u : unsigned(PW_FORMAT_NO_NEWLINE);
		return detail::format([&](char *b, size_t n) { return pw_event_format_text(ev_, b, n, f, time_base_ns); },
				      "format event");
	}
	static std::string_view text_header() { return detail::sv(pw_event_text_header()); }
	const pw_event *raw() const { return ev_; }

private:
	const pw_event *ev_;
};

// ----------------------------------------------------------------- snapshot

class Process {
public:
	explicit Process(const pw_process *p) : p_(p) {}
	pid_t pid() const { return pw_process_pid(p_); }
	pid_t parent_pid() const { return pw_process_parent_pid(p_); }
	ProcKey key() const { return pw_process_key(p_); }
	std::string_view name() const { return detail::sv(pw_process_name(p_)); }
	std::string_view image() const { return detail::sv(pw_process_image(p_)); }
	ArgsView<const pw_process *, pw_process_argc, pw_process_arg> args() const { return ArgsView<const pw_process *, pw_process_argc, pw_process_arg>(p_); }
	uint32_t uid() const { return pw_process_uid(p_); }
	std::string_view user_name() const { return detail::sv(pw_process_user_name(p_)); }
	uint32_t thread_count() const { return pw_process_thread_count(p_); }
	char state() const { return pw_process_state(p_); }
	// From /proc/PID/stat when the snapshot read it: CPU at clock-tick
	// resolution (threads summed, reaped children excluded), resident set,
	// start time (CLOCK_BOOTTIME ns, as key().start_ns).
	uint64_t user_ns() const { return pw_process_user_ns(p_); }
	uint64_t system_ns() const { return pw_process_system_ns(p_); }
	uint64_t cpu_ns() const { return pw_process_cpu_ns(p_); }
	uint64_t rss_bytes() const { return pw_process_rss_bytes(p_); }
	uint64_t start_ns() const { return pw_process_start_ns(p_); }
	std::string json() const
	{
		return detail::format([&](char *b, size_t n) { return pw_process_format_json(p_, b, n, PW_FORMAT_NO_NEWLINE); },
				      "format process");
	}
	std::string text() const
	{
		return detail::format([&](char *b, size_t n) { return pw_process_format_text(p_, b, n, PW_FORMAT_NO_NEWLINE); },
				      "format process");
	}

private:
	const pw_process *p_;
};

// The processes running now, from /proc. Process views (and their strings)
// are valid while the Snapshot lives. No privileges needed.
class Snapshot {
public:
	explicit Snapshot(unsigned int flags = PW_SNAP_CMDLINE | PW_SNAP_IMAGE | PW_SNAP_USER,
			  const char *proc_root = nullptr)
	{
		pw_snapshot_opts opts{};
		opts.sz = sizeof(opts);
		opts.flags = flags;
		opts.proc_root = proc_root;
		pw_snapshot *s = nullptr;
		detail::check(pw_snapshot_take(&opts, &s), "snapshot");
		snap_.reset(s);
	}
	size_t size() const { return pw_snapshot_count(snap_.get()); }
	Process operator[](size_t i) const { return Process(pw_snapshot_process(snap_.get(), i)); }
	std::optional<Process> find(pid_t pid) const
	{
		const pw_process *p = pw_snapshot_find(snap_.get(), pid);
		return p ? std::optional<Process>(Process(p)) : std::nullopt;
	}
	using iterator = detail::IndexIterator<Snapshot, Process>;
	iterator begin() const { return iterator(this, 0); }
	iterator end() const { return iterator(this, size()); }

private:
	struct Free {
		void operator()(pw_snapshot *s) const { pw_snapshot_free(s); }
	};
	std::unique_ptr<pw_snapshot, Free> snap_;
};

// ------------------------------------------------------------------ monitor

struct MonitorOptions {
	unsigned int events = 0; // mask(EventType::exec) | ...; 0: PW_EVMASK_ALL
	size_t ringbuf_bytes = 0;
	bool inherit_children = false;
	size_t max_processes = 0;
	unsigned int max_args_bytes = 0;
	int batch_delay_us = 0;
	LogFn log;
};

struct MonitorStats {
	uint64_t events_delivered, events_lost, events_filtered, processes_tracked, table_evictions;
};

struct AccessTarget {
	pid_t pid = 0;    // > 0: this process; 0: name
	std::string name; // comm of the leader, exact
	unsigned int access = 0; // PW_ACCESS_* to report; 0: all
};

struct ProtectRule {
	pid_t pid = 0;
	std::string name;
	unsigned int deny = 0; // PW_ACCESS_*, non-zero
	std::optional<uint32_t> except_uid;
	std::optional<pid_t> except_pid; // 0: the calling process
};

namespace detail {
// A parsed rule, its strings in storage the library allocated.
struct ParsedRule {
	pw_rule rule{};
	char *storage = nullptr;
	explicit ParsedRule(const std::string &text)
	{
		rule.sz = sizeof(rule);
		check(pw_rule_parse(text.c_str(), &rule, &storage), "parse rule");
	}
	~ParsedRule() { free(storage); }
	ParsedRule(const ParsedRule &) = delete;
	ParsedRule &operator=(const ParsedRule &) = delete;
};

// The on_event of Monitor and Sampler: run the handler; what it throws is
// kept in error (finish_call() rethrows it) and stops the library's loop.
inline int deliver_event(const std::function<void(const Event &)> &handler, const pw_event *ev,
			 std::exception_ptr &error)
{
	try {
		Event e(ev);
		handler(e);
		return 0;
	} catch (...) {
		error = std::current_exception();
		return -ECANCELED;
	}
}
// After a call that ran handlers: rethrow what one threw; EINTR is 0; else check().
inline int finish_call(std::exception_ptr &error, int ret, const char *what)
{
	if (error) {
		std::exception_ptr e = std::exchange(error, nullptr);
		std::rethrow_exception(e);
	}
	if (ret == -EINTR)
		return 0;
	return check(ret, what);
}
// What a Monitor or a Sampler keeps behind the pointer the library's
// callbacks get as userdata (so that moving the C++ object moves nothing the
// library points at): the C object, freed with it; the handler; the log
// function; and what the handler threw, for finish_call() to rethrow.
template <typename Obj, void (*Free)(Obj *)> struct EventState {
	Obj *obj = nullptr;
	std::function<void(const Event &)> handler;
	LogFn log;
	std::exception_ptr error;
	~EventState() { Free(obj); }
};
// Monitor's and Sampler's stats(): a Sampler's are those of the monitor it runs.
inline MonitorStats monitor_stats(const pw_monitor *m, const char *what)
{
	struct pw_monitor_stats s{};
	s.sz = sizeof(s);
	check(pw_monitor_stats(m, &s), what);
	return { s.events_delivered, s.events_lost, s.events_filtered, s.processes_tracked,
		 s.table_evictions };
}
} // namespace detail

class Monitor {
public:
	using Handler = std::function<void(const Event &)>;

	// Validates the options; loads nothing until start().
	Monitor(const MonitorOptions &opts, Handler handler) : st_(new State)
	{
		st_->handler = std::move(handler);
		st_->log = opts.log;
		pw_monitor_opts o{};
		o.sz = sizeof(o);
		o.events = opts.events;
		o.on_event = on_event;
		o.userdata = st_.get();
		o.ringbuf_bytes = opts.ringbuf_bytes;
		o.inherit_children = opts.inherit_children;
		detail::set_log(o, st_->log);
		o.max_processes = opts.max_processes;
		o.max_args_bytes = opts.max_args_bytes;
		o.batch_delay_us = opts.batch_delay_us;
		detail::check(pw_monitor_new(&o, &st_->obj), "monitor");
	}
	Monitor(Monitor &&) = default;
	Monitor &operator=(Monitor &&) = default;
	~Monitor() = default;

	// Rules in the library's text form: "exclude name-prefix kworker", "include uid 1000".
	void add_rule(const std::string &text)
	{
		detail::ParsedRule r(text);
		detail::check(pw_monitor_add_rule(h(), &r.rule), "add rule");
	}
	void remove_rule(const std::string &text)
	{
		detail::ParsedRule r(text);
		detail::check(pw_monitor_remove_rule(h(), &r.rule), "remove rule");
	}
	void clear_rules() { detail::check(pw_monitor_clear_rules(h()), "clear rules"); }

	void watch_access(const AccessTarget &t)
	{
		pw_access_target c;
		detail::zero_sized(c);
		c.pid = t.pid;
		c.name = detail::opt_cstr(t.name);
		c.access = t.access;
		detail::check(pw_monitor_watch_access(h(), &c), "watch access");
	}
	void unwatch_access(const AccessTarget &t)
	{
		pw_access_target c;
		detail::zero_sized(c);
		c.pid = t.pid;
		c.name = detail::opt_cstr(t.name);
		detail::check(pw_monitor_unwatch_access(h(), &c), "unwatch access");
	}
	void watch_access_all(unsigned int access)
	{
		detail::check(pw_monitor_watch_access_all(h(), access), "watch access of all");
	}
	void add_access_originator_rule(const std::string &text)
	{
		detail::ParsedRule r(text);
		detail::check(pw_monitor_add_access_originator_rule(h(), &r.rule), "add originator rule");
	}
	void clear_access_originator_rules()
	{
		detail::check(pw_monitor_clear_access_originator_rules(h()), "clear originator rules");
	}
	// Throws EnforcementUnavailable without BPF LSM (nothing is stored).
	void protect(const ProtectRule &r)
	{
		pw_protect_rule c;
		detail::zero_sized(c);
		c.pid = r.pid;
		c.name = detail::opt_cstr(r.name);
		c.deny = r.deny;
		c.flags = (r.except_uid ? unsigned(PW_PROTECT_EXCEPT_UID) : 0u) | (r.except_pid ? unsigned(PW_PROTECT_EXCEPT_PID) : 0u);
		c.except_uid = r.except_uid.value_or(0);
		c.except_pid = r.except_pid.value_or(0);
		detail::check(pw_monitor_protect(h(), &c), "protect");
	}
	void unprotect(pid_t pid, const std::string &name = "")
	{
		pw_protect_rule c;
		detail::zero_sized(c);
		c.pid = pid;
		c.name = detail::opt_cstr(name);
		detail::check(pw_monitor_unprotect(h(), &c), "unprotect");
	}

	void start() { detail::check(pw_monitor_start(h()), "start monitor"); }
	int fd() const { return detail::check(pw_monitor_fd(h()), "monitor fd"); }
	// Events delivered; 0 on timeout, after stop() or a signal (-EINTR).
	// Rethrows what the handler threw.
	int dispatch(int timeout_ms = -1) { return finish(pw_monitor_dispatch(h(), timeout_ms), "dispatch"); }
	// Until stop() (0) or the handler throws (rethrown here).
	void run() { finish(pw_monitor_run(h()), "run"); }
	// Any thread; async-signal-safe.
	void stop() noexcept
	{
		if (st_ && st_->obj)
			pw_monitor_stop(st_->obj);
	}
	MonitorStats stats() const { return detail::monitor_stats(h(), "monitor stats"); }
	pw_monitor *raw() const { return st_->obj; }

private:
	using State = detail::EventState<pw_monitor, pw_monitor_free>;
	static int on_event(pw_monitor *, const pw_event *ev, void *userdata)
	{
		State *st = static_cast<State *>(userdata);
		return detail::deliver_event(st->handler, ev, st->error);
	}
	pw_monitor *h() const
	{
		if (!st_)
			throw Error(-EBADF, "monitor moved from");
		return st_->obj;
	}
	int finish(int ret, const char *what) { return detail::finish_call(st_->error, ret, what); }
	std::unique_ptr<State> st_;
};

// ------------------------------------------------------------------ sampler

// "cpu > 90% for 5s" is AlertRule{AlertKind::cpu, 90, 5000}; parse() reads
// the library's text form (throws Error PW_ERR_RULE_SYNTAX).
struct AlertRule {
	AlertKind kind = AlertKind::cpu;
	uint64_t threshold = 0; // percent of one CPU, bytes, or threads
	unsigned int for_ms = 0; // must hold at every sample this long; 0: once
	pid_t pid = 0;          // only this process; 0: every process
	std::string name;       // only processes with this comm; empty: any

	static AlertRule parse(const std::string &text)
	{
		pw_alert_rule r{};
		char *storage = nullptr;
		r.sz = sizeof(r);
		detail::check(pw_alert_rule_parse(text.c_str(), &r, &storage), "parse alert rule");
		AlertRule a{ static_cast<AlertKind>(r.kind), r.threshold, r.for_ms, r.pid, r.name ? r.name : "" };
		free(storage);
		return a;
	}
};

// One process in a sample: a view, valid as long as its Sample.
class ProcUsage {
public:
	explicit ProcUsage(const pw_proc_usage *u) : u_(u) {}
	ProcKey key() const { return u_->key; }
	pid_t pid() const { return u_->key.pid; }
	pid_t ppid() const { return u_->ppid; }
	uint32_t uid() const { return u_->uid; }
	std::string_view name() const { return std::string_view(u_->name, strnlen(u_->name, sizeof(u_->name))); }
	char state() const { return u_->state; } // as /proc/PID/stat; 'X': exited
	bool exited() const { return u_->exited; } // in the interval: values from its exit event
	bool started() const { return u_->started; }
	bool kernel_thread() const { return u_->kernel_thread; }
	uint32_t threads() const { return u_->threads; }
	uint64_t cpu_ns() const { return u_->cpu_ns; } // since it started, user + system
	uint64_t user_ns() const { return u_->user_ns; }
	uint64_t system_ns() const { return u_->system_ns; }
	uint64_t cpu_delta_ns() const { return u_->cpu_delta_ns; } // in the interval
	uint64_t rss_bytes() const { return u_->rss_bytes; } // exited: the peak
	uint64_t max_rss_bytes() const { return u_->max_rss_bytes; } // exited only, else 0
	int exit_status() const { return u_->exit_status; }
	std::string_view image() const { return detail::sv(u_->image); }
	std::vector<std::string_view> args() const
	{
		std::vector<std::string_view> v;
		for (size_t i = 0; i < u_->argc; i++)
			v.push_back(detail::sv(u_->argv[i]));
		return v;
	}
	const pw_proc_usage *raw() const { return u_; }

private:
	const pw_proc_usage *u_;
};

// A sample: borrowed from its Sampler, valid until the next sample() or the
// Sampler's end. Live processes first (pid order), then those that exited.
class Sample {
public:
	explicit Sample(const pw_sample *s) : s_(s) {}
	uint64_t time_ns() const { return pw_sample_time_ns(s_); } // CLOCK_MONOTONIC
	uint64_t interval_ns() const { return pw_sample_interval_ns(s_); }
	size_t size() const { return pw_sample_count(s_); }
	ProcUsage operator[](size_t i) const { return ProcUsage(pw_sample_process(s_, i)); }
	size_t tasks() const { return pw_sample_tasks(s_); } // tasks the kernel walked
	uint64_t cost_ns() const { return pw_sample_cost_ns(s_); } // ns the walk took
	// CPU in the interval in percent of one CPU (100: one CPU all the time).
	double cpu_percent(const ProcUsage &u) const
	{
		return interval_ns() ? 100.0 * double(u.cpu_delta_ns()) / double(interval_ns()) : 0.0;
	}
	// The live (exited false) or exited entry of pid, if any.
	std::optional<ProcUsage> find(pid_t pid, bool exited = false) const
	{
		for (size_t i = 0; i < size(); i++)
			if ((*this)[i].pid() == pid && (*this)[i].exited() == exited)
				return (*this)[i];
		return std::nullopt;
	}

	using iterator = detail::IndexIterator<Sample, ProcUsage>;
	iterator begin() const { return iterator(this, 0); }
	iterator end() const { return iterator(this, size()); }
	const pw_sample *raw() const { return s_; }

private:
	const pw_sample *s_;
};

struct SamplerOptions {
	LogFn log;                 // optional
	size_t max_processes = 0;  // process table bound; 0: the library's (65536)
};

// CPU and memory of every process, sampled with one BPF task iterator walk
// per sample() (no /proc file per process); exits between samples come from
// exit events. The handler receives process_exit events (with rusage())
// and resource_alert events from add_alert() rules; it runs on the calling
// thread inside dispatch() and sample(), and what it throws is rethrown there.
// One thread owns a Sampler. Errors are exceptions (procward::Error).
class Sampler {
public:
	using Handler = std::function<void(const Event &)>;

	explicit Sampler(const SamplerOptions &opts = {}, Handler handler = {}) : st_(new State)
	{
		st_->handler = std::move(handler);
		st_->log = opts.log;
		pw_sampler_opts o{};
		o.sz = sizeof(o);
		o.on_event = on_event;
		o.userdata = st_.get();
		detail::set_log(o, st_->log);
		o.max_processes = opts.max_processes;
		detail::check(pw_sampler_new(&o, &st_->obj), "sampler");
	}
	Sampler(Sampler &&) = default;
	Sampler &operator=(Sampler &&) = default;
	~Sampler() = default;

	// Returns the rule's index, which alert events carry (alert_rule()).
	int add_alert(const AlertRule &r)
	{
		pw_alert_rule c;
		detail::zero_sized(c);
		c.kind = static_cast<enum pw_alert_kind>(r.kind);
		c.threshold = r.threshold;
		c.for_ms = r.for_ms;
		c.pid = r.pid;
		c.name = detail::opt_cstr(r.name); // the library copies it
		return detail::check(pw_sampler_add_alert(h(), &c), "add alert");
	}
	int add_alert(const std::string &text) { return add_alert(AlertRule::parse(text)); }

	// Loads, attaches and takes the baseline sample.
	void start() { detail::check(pw_sampler_start(h()), "start sampler"); }
	int fd() const { return detail::check(pw_sampler_fd(h()), "sampler fd"); }
	// Collect exit events for up to timeout_ms (-1: until one); their count.
	int dispatch(int timeout_ms = -1) { return finish(pw_sampler_dispatch(h(), timeout_ms), "sampler dispatch"); }
	// Collect exit events until ms have passed (waits on fd(), no sleep).
	void run_for(int ms)
	{
		auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
		for (auto now = std::chrono::steady_clock::now(); now < end; now = std::chrono::steady_clock::now())
			dispatch(int(std::chrono::duration_cast<std::chrono::milliseconds>(end - now).count()) + 1);
	}
	// The deltas since the previous sample; alert rules are evaluated (the
	// handler runs). The Sample is valid until the next call.
	Sample sample()
	{
		const pw_sample *smp = nullptr;
		finish(pw_sampler_sample(h(), &smp), "sample");
		if (!smp)
			throw Error(-EINTR, "sample interrupted");
		return Sample(smp);
	}
	MonitorStats stats() const { return detail::monitor_stats(pw_sampler_monitor(h()), "sampler stats"); }
	pw_sampler *raw() const { return st_->obj; }

private:
	using State = detail::EventState<pw_sampler, pw_sampler_free>;
	static int on_event(pw_monitor *, const pw_event *ev, void *userdata)
	{
		State *st = static_cast<State *>(userdata);
		if (!st->handler)
			return 0;
		return detail::deliver_event(st->handler, ev, st->error);
	}
	pw_sampler *h() const
	{
		if (!st_)
			throw Error(-EBADF, "sampler moved from");
		return st_->obj;
	}
	int finish(int ret, const char *what) { return detail::finish_call(st_->error, ret, what); }
	std::unique_ptr<State> st_;
};

// --------------------------------------------------------------------- gate

enum class Verdict { allow = PW_EXEC_ALLOW, deny = PW_EXEC_DENY };

class Gate;

namespace detail {
// What a Deferred shares with its Gate: once the gate is freed, every request
// still deferred is gone with it, and a late answer must not touch it.
struct GateLife {
	std::mutex mu;
	bool freed = false;
};
} // namespace detail

// A borrowed exec request: valid inside the handler. defer() turns it into a
// Deferred, which owns the obligation to answer.
class ExecRequest {
public:
	ExecRequest(pw_exec_request *r, Verdict fallback, std::shared_ptr<detail::GateLife> life = nullptr)
		: r_(r), fallback_(fallback), life_(std::move(life))
	{
	}
	ExecRequest(const ExecRequest &) = delete;
	ExecRequest &operator=(const ExecRequest &) = delete;

	pid_t pid() const { return pw_exec_pid(r_); }
	pid_t tid() const { return pw_exec_tid(r_); }
	pid_t parent_pid() const { return pw_exec_parent_pid(r_); }
	ProcKey key() const { return pw_exec_key(r_); }
	std::string_view name() const { return detail::sv(pw_exec_name(r_)); }
	// Read from the exec'ing process on first use: ask before the verdict.
	ArgsView<pw_exec_request *, pw_exec_argc, pw_exec_arg> args() const { return ArgsView<pw_exec_request *, pw_exec_argc, pw_exec_arg>(r_); }
	std::string_view filename() const { return detail::sv(pw_exec_filename(r_)); }
	std::string_view image() const { return detail::sv(pw_exec_image(r_)); }
	const Token *token() const { return pw_exec_token(r_); }
	bool is_interpreter() const { return pw_exec_is_interpreter(r_); }
	int fd() const { return pw_exec_fd(r_); }
	unsigned int flags() const { return pw_exec_flags(r_); }
	std::array<uint8_t, 32> sha256() const
	{
		std::array<uint8_t, 32> out{};
		detail::check(pw_exec_sha256(r_, out.data()), "sha256");
		return out;
	}
	// Verdicts: true if this call decided the exec, false if it was answered
	// already (deadline, stop, an earlier verdict). err: errno for the caller, 0 = EPERM.
	bool allow() const { return verdict(pw_exec_allow(r_)); }
	bool deny(int err = 0) const { return verdict(pw_exec_deny(r_, err)); }
	bool allow_cached() const { return verdict(pw_exec_allow_cached(r_)); }
	bool deny_cached(int err = 0) const { return verdict(pw_exec_deny_cached(r_, err)); }
	// Push the deadline to now + ms; throws Error(E2BIG) past max_extensions.
	void extend(unsigned int ms) const { detail::check(pw_exec_extend(r_, ms), "extend"); }
	pw_exec_request *raw() const { return r_; }

	class Deferred;
	// Keep the request past the handler's return (see Deferred).
	inline Deferred defer();

	static bool verdict(int ret)
	{
		if (ret == -ETIMEDOUT || ret == -EALREADY)
			return false;
		detail::check(ret, "verdict");
		return true;
	}

private:
	friend class Gate;
	pw_exec_request *r_;
	Verdict fallback_;
	std::shared_ptr<detail::GateLife> life_;
	bool deferred_ = false;
};

// A deferred request: movable to any thread; answer it with allow()/deny()
// (which release it). Destroyed unanswered, it answers with the gate's
// timeout_verdict. It may outlive its Gate: the Gate's stop answers it with
// timeout_verdict, and a verdict after the Gate is gone returns false.
class ExecRequest::Deferred {
public:
	Deferred(Deferred &&o) noexcept
		: r_(std::exchange(o.r_, nullptr)), fallback_(o.fallback_), life_(std::move(o.life_))
	{
	}
	Deferred &operator=(Deferred &&o) noexcept
	{
		if (this != &o) {
			release();
			r_ = std::exchange(o.r_, nullptr);
			fallback_ = o.fallback_;
			life_ = std::move(o.life_);
		}
		return *this;
	}
	Deferred(const Deferred &) = delete;
	Deferred &operator=(const Deferred &) = delete;
	~Deferred() { release(); }

	bool allow() { return answer([](pw_exec_request *r) { return pw_exec_allow(r); }); }
	bool deny(int err = 0) { return answer([err](pw_exec_request *r) { return pw_exec_deny(r, err); }); }
	bool allow_cached() { return answer([](pw_exec_request *r) { return pw_exec_allow_cached(r); }); }
	bool deny_cached(int err = 0)
	{
		return answer([err](pw_exec_request *r) { return pw_exec_deny_cached(r, err); });
	}
	// Push the deadline to now + ms; false if answered or the gate is gone.
	bool extend(unsigned int ms)
	{
		std::lock_guard<std::mutex> lock(life_->mu);
		if (!r_ || life_->freed)
			return false;
		int ret = pw_exec_extend(r_, ms);
		if (ret == -ETIMEDOUT || ret == -EALREADY)
			return false;
		detail::check(ret, "extend");
		return true;
	}
	bool answered() const { return r_ == nullptr; }

private:
	friend class ExecRequest;
	Deferred(pw_exec_request *r, Verdict fallback, std::shared_ptr<detail::GateLife> life)
		: r_(r), fallback_(fallback), life_(std::move(life))
	{
	}
	// The verdict call releases the request whatever it returns.
	template <typename F> bool answer(F call)
	{
		if (!r_)
			throw Error(-EALREADY, "deferred request already answered");
		pw_exec_request *r = std::exchange(r_, nullptr);
		std::lock_guard<std::mutex> lock(life_->mu);
		if (life_->freed)
			return false;
		return ExecRequest::verdict(call(r));
	}
	void release() noexcept
	{
		if (r_) {
			try {
				fallback_ == Verdict::deny ? deny(0) : allow();
			} catch (...) {
			}
		}
	}
	pw_exec_request *r_;
	Verdict fallback_;
	std::shared_ptr<detail::GateLife> life_;
};

inline ExecRequest::Deferred ExecRequest::defer()
{
	if (deferred_)
		throw Error(-EALREADY, "defer: already deferred");
	int ret = pw_exec_defer(r_);
	if (ret < 0)
		detail::raise(ret, "defer");
	deferred_ = true;
	return Deferred(r_, fallback_, life_);
}

// A decision record (on_decision): borrowed, valid inside the callback.
class Decision {
public:
	explicit Decision(const pw_gate_decision *d) : d_(d) {}
	Decision(const Decision &) = delete;
	Decision &operator=(const Decision &) = delete;
	Verdict verdict() const { return static_cast<Verdict>(pw_decision_verdict(d_)); }
	enum pw_gate_reason reason() const { return pw_decision_reason(d_); }
	std::string_view reason_name() const { return detail::sv(pw_gate_reason_name(reason())); }
	int error() const { return pw_decision_errno(d_); }
	bool audit() const { return pw_decision_audit(d_); }
	bool is_interpreter() const { return pw_decision_is_interpreter(d_); }
	pid_t pid() const { return pw_decision_pid(d_); }
	pid_t tid() const { return pw_decision_tid(d_); }
	uint32_t uid() const { return pw_decision_uid(d_); }
	std::string_view name() const { return detail::sv(pw_decision_name(d_)); }
	std::string_view image() const { return detail::sv(pw_decision_image(d_)); }
	std::string_view filename() const { return detail::sv(pw_decision_filename(d_)); }
	ArgsView<const pw_gate_decision *, pw_decision_argc, pw_decision_arg> args() const { return ArgsView<const pw_gate_decision *, pw_decision_argc, pw_decision_arg>(d_); }
	int rule() const { return pw_decision_rule(d_); } // -1: no rule decided
	uint64_t time_ns() const { return pw_decision_time_ns(d_); }
	uint64_t latency_ns() const { return pw_decision_latency_ns(d_); }
	std::string json() const
	{
		return detail::format(
			[&](char *b, size_t n) { return pw_gate_decision_format_json(d_, b, n, PW_FORMAT_NO_NEWLINE); },
			"format decision");
	}
	std::string text() const
	{
		return detail::format(
			[&](char *b, size_t n) { return pw_gate_decision_format_text(d_, b, n, PW_FORMAT_NO_NEWLINE); },
			"format decision");
	}

private:
	const pw_gate_decision *d_;
};

struct GateOptions {
	unsigned int timeout_ms = 0;
	Verdict timeout_verdict = Verdict::allow;
	Verdict error_verdict = Verdict::allow; // fail-open unless asked
	unsigned int workers = 0;
	unsigned int max_extensions = 0;
	unsigned int max_pending = 0;
	enum pw_gate_interp interpreters = PW_GATE_INTERP_RULES;
	bool fail_closed_ungated = false;
	bool audit = false;
	unsigned int decision_queue = 0;
	unsigned int cache_entries = 0;
	bool argv_in_kernel = false;
	// Which decisions make records for on_decision (PW_GATE_RECORD_DENIED,
	// PW_GATE_RECORD_REASON(r), PW_GATE_RECORD_NOTABLE); 0: every one.
	unsigned int decision_filter = 0;
	// After this many deadlines in a row the guardian had to answer, it
	// SIGKILLs the gating process (0: never). See "Crash safety" in procward.h.
	unsigned int kill_on_missed_deadline = 0;
	std::vector<std::string> rules; // text form: "deny path /usr/bin/nc", "gate by-pid 42 children"
	// On the decision thread, for every exec decided.
	std::function<void(const Decision &)> on_decision;
	// A handler failed: err is its negative return (-ECANCELED for an
	// exception, which is passed too). On the worker thread.
	std::function<void(const ExecRequest &, int err, std::exception_ptr)> on_error;
	LogFn log;
};

// Every counter of struct pw_gate_stats, the guardian's (guardian_pid...) included.
struct GateStats : ::pw_gate_stats {};

class Gate {
public:
	// Runs on a worker thread for each exec the rules leave open. Give a verdict
	// with req.allow()/deny()... or req.defer(); returning without one applies
	// timeout_verdict at once; throwing applies error_verdict.
	using Handler = std::function<void(ExecRequest &)>;

	explicit Gate(GateOptions opts, Handler handler = nullptr) : st_(new State)
	{
		st_->handler = std::move(handler);
		st_->opts = std::move(opts);
		const GateOptions &o = st_->opts;
		pw_gate_opts c;
		detail::zero_sized(c);
		c.handler = st_->handler ? on_request : nullptr;
		c.userdata = st_.get();
		c.timeout_ms = o.timeout_ms;
		c.timeout_verdict = static_cast<enum pw_exec_verdict>(o.timeout_verdict);
		c.error_verdict = static_cast<enum pw_exec_verdict>(o.error_verdict);
		c.workers = o.workers;
		c.max_extensions = o.max_extensions;
		c.max_pending = o.max_pending;
		c.interpreters = o.interpreters;
		c.fail_closed_ungated = o.fail_closed_ungated;
		c.audit = o.audit;
		c.on_decision = o.on_decision ? on_decision : nullptr;
		c.decision_userdata = st_.get();
		c.decision_queue = o.decision_queue;
		c.on_error = on_error;
		detail::set_log(c, st_->opts.log);
		c.cache_entries = o.cache_entries;
		c.argv_in_kernel = o.argv_in_kernel;
		c.decision_filter = o.decision_filter;
		c.kill_on_missed_deadline = o.kill_on_missed_deadline;
		detail::check(pw_gate_new(&c, &st_->g), "gate");
		for (const std::string &r : o.rules)
			add_rule(r);
	}
	Gate(Gate &&) = default;
	Gate &operator=(Gate &&) = delete; // the old gate's deferred requests would outlive it
	// Stops (answers what is pending, deferred requests included) and frees.
	~Gate()
	{
		if (!st_)
			return;
		pw_gate_stop(st_->g); // joins the handlers: none can defer after this
		std::lock_guard<std::mutex> lock(st_->life->mu);
		st_->life->freed = true;
		pw_gate_free(st_->g);
		st_->g = nullptr;
	}

	// The owning thread only, not from a handler.
	void add_rule(const std::string &text) { detail::check(pw_gate_add_rule_text(h(), text.c_str()), "add gate rule"); }
	void add_rule(const pw_gate_rule &rule) { detail::check(pw_gate_add_rule(h(), &rule), "add gate rule"); }
	void remove_rule(unsigned int index) { detail::check(pw_gate_remove_rule(h(), index), "remove gate rule"); }
	// The number of rules added; on error nothing is added and what() says "PATH:LINE: ...".
	int load_rules_file(const std::string &path)
	{
		char err[512] = "";
		int ret = pw_gate_load_rules_file(h(), path.c_str(), err, sizeof(err));
		if (ret < 0)
			detail::raise(ret, err[0] ? err : path.c_str());
		return ret;
	}
	// From here on every exec on the machine waits for this gate.
	void start() { detail::check(pw_gate_start(h()), "start gate"); }
	void stop() { pw_gate_stop(h()); }
	GateStats stats() const
	{
		GateStats s{};
		s.sz = sizeof(struct pw_gate_stats);
		detail::check(pw_gate_stats(h(), &s), "gate stats");
		return s;
	}
	bool deny_errno_supported() const { return pw_gate_deny_errno_supported(h()); }
	pw_gate *raw() const { return st_->g; }

private:
	struct State {
		pw_gate *g = nullptr;
		Handler handler;
		GateOptions opts;
		std::shared_ptr<detail::GateLife> life = std::make_shared<detail::GateLife>();
		~State() { pw_gate_free(g); } // only when the constructor threw
	};
	static std::exception_ptr &thread_error()
	{
		static thread_local std::exception_ptr e;
		return e;
	}
	static int on_request(pw_gate *, pw_exec_request *req, void *userdata)
	{
		State *st = static_cast<State *>(userdata);
		try {
			ExecRequest r(req, st->opts.timeout_verdict, st->life);
			st->handler(r);
			return 0;
		} catch (...) {
			thread_error() = std::current_exception();
			return -ECANCELED;
		}
	}
	static void on_error(pw_gate *, const pw_exec_request *req, int err, void *userdata)
	{
		State *st = static_cast<State *>(userdata);
		std::exception_ptr e = std::exchange(thread_error(), nullptr);
		if (!st->opts.on_error)
			return;
		try {
			ExecRequest r(const_cast<pw_exec_request *>(req), st->opts.timeout_verdict);
			st->opts.on_error(r, err, e);
		} catch (...) {
		}
	}
	static void on_decision(pw_gate *, const pw_gate_decision *d, void *userdata)
	{
		State *st = static_cast<State *>(userdata);
		try {
			Decision dec(d);
			st->opts.on_decision(dec);
		} catch (...) {
		}
	}
	pw_gate *h() const
	{
		if (!st_)
			throw Error(-EBADF, "gate moved from");
		return st_->g;
	}
	std::unique_ptr<State> st_;
};

} // namespace procward
#endif // PROCWARD_HPP
