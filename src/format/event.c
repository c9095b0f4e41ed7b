// SPDX-License-Identifier: MIT
/*
 * format/event.c - the records procward writes: events, snapshot rows and
 * gate decisions, as JSON Lines or text lines (schema: README "JSON Lines schema").
 */
#include <errno.h>
#include <sys/wait.h>

#include "procward.h"
#include "format/writer.h"

static const char *const clone_flag_names[] = { "thread", "vfork", "parent", "vm", "newpid", "newns" };
#define N_CLONE_FLAGS (sizeof(clone_flag_names) / sizeof(*clone_flag_names))

static inline void json_bool(struct pw_writer *w, bool v)
{
	if (v)
		pw_puts_lit(w, "true");
	else
		pw_puts_lit(w, "false");
}

static int finish(struct pw_writer *w, unsigned int flags)
{
	if (!(flags & PW_FORMAT_NO_NEWLINE))
		pw_putc(w, '\n');
	return pw_writer_finish(w);
}

/*
 * ,"key":[...] for an argument list, and ,"key_b64":{"i":"..."} for the
 * arguments that are not valid UTF-8 (rare: checked again only then).
 */
static void json_args(struct pw_writer *w, const char *key, size_t argc,
		      const char *(*arg)(const void *, size_t), const void *obj)
{
	bool any_bad = false, first = true;

	pw_puts_lit(w, ",\"");
	pw_puts(w, key);
	pw_puts_lit(w, "\":[");
	for (size_t i = 0; i < argc; i++) {
		const char *a = arg(obj, i);

		if (i)
			pw_putc(w, ',');
		any_bad |= pw_json_str(w, a, strlen(a));
	}
	pw_putc(w, ']');
	if (!any_bad)
		return;
	pw_puts_lit(w, ",\"");
	pw_puts(w, key);
	pw_puts_lit(w, "_b64\":{");
	for (size_t i = 0; i < argc; i++) {
		const char *a = arg(obj, i);
		size_t n = strlen(a);

		if (pw_utf8_valid(a, n))
			continue;
		if (!first)
			pw_putc(w, ',');
		first = false;
		pw_putc(w, '"');
		pw_put_u64(w, i);
		pw_puts_lit(w, "\":");
		pw_put_base64(w, a, n);
	}
	pw_putc(w, '}');
}

static const char *ev_arg(const void *ev, size_t i)
{
	return pw_event_arg(ev, i);
}

static const char *proc_arg(const void *p, size_t i)
{
	return pw_process_arg(p, i);
}

/* ,"key":N for each kind of number */
static inline void json_kv_u64(struct pw_writer *w, const char *lit_key_colon, size_t klen, uint64_t v)
{
	pw_put(w, lit_key_colon, klen);
	pw_put_u64(w, v);
}
#define KV_U(w, key, v) json_kv_u64((w), ",\"" key "\":", sizeof(",\"" key "\":") - 1, (v))
#define KV_I(w, key, v) do { pw_puts_lit((w), ",\"" key "\":"); pw_put_i64((w), (v)); } while (0)

static void json_token(struct pw_writer *w, const struct pw_event *ev)
{
	const struct pw_token *t = pw_event_token(ev);

	pw_puts_lit(w, ",\"token\":{\"uid\":");
	pw_put_u64(w, t->uid);
	KV_U(w, "euid", t->euid);
	KV_U(w, "suid", t->suid);
	KV_U(w, "fsuid", t->fsuid);
	KV_U(w, "gid", t->gid);
	KV_U(w, "egid", t->egid);
	KV_U(w, "sgid", t->sgid);
	KV_U(w, "fsgid", t->fsgid);
	pw_puts_lit(w, ",\"cap_effective\":\"");
	pw_put_hex(w, t->cap_effective);
	pw_puts_lit(w, "\",\"cap_permitted\":\"");
	pw_put_hex(w, t->cap_permitted);
	pw_putc(w, '"');
	KV_I(w, "loginuid", t->loginuid == UINT32_MAX ? (int64_t)-1 : (int64_t)t->loginuid);
	KV_I(w, "sessionid", t->sessionid == UINT32_MAX ? (int64_t)-1 : (int64_t)t->sessionid);
	KV_U(w, "pidns", t->pidns_ino);
	KV_U(w, "mntns", t->mntns_ino);
	KV_U(w, "cgroup_id", t->cgroup_id);
	pw_json_kv_str(w, "user", pw_event_user_name(ev));
	pw_json_kv_str(w, "group", pw_event_group_name(ev));
	pw_json_kv_str(w, "cgroup", pw_event_cgroup_path(ev));
	pw_json_kv_str(w, "container_id", pw_event_container_id(ev));
	pw_putc(w, '}');
}

static void json_rights(struct pw_writer *w, unsigned int rights)
{
	bool first = true;

	pw_puts_lit(w, ",\"access\":[");
	for (unsigned int bit = 1; bit <= PW_ACCESS_ALL; bit <<= 1) {
		if (!(rights & bit))
			continue;
		if (!first)
			pw_putc(w, ',');
		first = false;
		pw_json_cstr(w, pw_access_name(bit));
	}
	pw_putc(w, ']');
}

/* Access events: the target and the operation (the common fields are the originator). */
static void json_access(struct pw_writer *w, const struct pw_event *ev)
{
	struct pw_proc_key tkey = pw_event_target_key(ev);

	KV_I(w, "target_pid", tkey.pid);
	KV_I(w, "target_tid", pw_event_target_tid(ev));
	KV_U(w, "target_start_ns", tkey.start_ns);
	pw_json_kv_str(w, "target_name", pw_event_target_name(ev));
	pw_json_kv_str(w, "op", pw_access_op_name(pw_event_access_op(ev)));
	json_rights(w, pw_event_access(ev));
	KV_I(w, "signal", pw_event_signal(ev));
	KV_I(w, "result", pw_event_access_result(ev));
	pw_puts_lit(w, ",\"denied\":");
	json_bool(w, pw_event_access_denied(ev));
	KV_U(w, "detail", pw_event_access_detail(ev));
}

static void json_exit(struct pw_writer *w, int status)
{
	if (WIFSIGNALED(status)) {
		pw_puts_lit(w, ",\"exit_code\":null,\"exit_signal\":");
		pw_put_i64(w, WTERMSIG(status));
		pw_puts_lit(w, ",\"core_dumped\":");
		json_bool(w, WCOREDUMP(status));
	} else {
		pw_puts_lit(w, ",\"exit_code\":");
		pw_put_i64(w, WEXITSTATUS(status));
		pw_puts_lit(w, ",\"exit_signal\":null");
	}
}

/* ,"key":N, or ,"key":null where the value was not measured */
#define KV_U_OR_NULL(w, key, valid, v)                    \
	do {                                              \
		if (valid)                                \
			KV_U((w), key, (v));              \
		else                                      \
			pw_puts_lit((w), ",\"" key "\":null"); \
	} while (0)

/*
 * Exits: ,"rusage":{...} with the names and units of struct pw_rusage
 * (ns, bytes, counts). Every key is always present: null marks what the
 * kernel did not measure (I/O without task I/O accounting) or what does
 * not apply (a thread's peak RSS and reaped children).
 */
static void json_rusage(struct pw_writer *w, const struct pw_rusage *ru)
{
	bool thread = ru->flags & PW_RUSAGE_THREAD;

	pw_puts_lit(w, ",\"rusage\":{\"cpu_ns\":");
	pw_put_u64(w, ru->cpu_ns);
	KV_U(w, "user_ns", ru->user_ns);
	KV_U(w, "system_ns", ru->system_ns);
	KV_U_OR_NULL(w, "max_rss_bytes", !thread, ru->max_rss_bytes);
	KV_U(w, "minor_faults", ru->minor_faults);
	KV_U(w, "major_faults", ru->major_faults);
	KV_U(w, "voluntary_switches", ru->voluntary_switches);
	KV_U(w, "involuntary_switches", ru->involuntary_switches);
	KV_U_OR_NULL(w, "read_bytes", ru->flags & PW_RUSAGE_IO, ru->read_bytes);
	KV_U_OR_NULL(w, "write_bytes", ru->flags & PW_RUSAGE_IO, ru->write_bytes);
	KV_U_OR_NULL(w, "read_chars", ru->flags & PW_RUSAGE_CHARS, ru->read_chars);
	KV_U_OR_NULL(w, "write_chars", ru->flags & PW_RUSAGE_CHARS, ru->write_chars);
	KV_U(w, "lifetime_ns", ru->lifetime_ns);
	KV_U_OR_NULL(w, "children_user_ns", !thread, ru->children_user_ns);
	KV_U_OR_NULL(w, "children_system_ns", !thread, ru->children_system_ns);
	KV_U(w, "threads", ru->threads);
	pw_puts_lit(w, ",\"partial\":");
	json_bool(w, ru->flags & PW_RUSAGE_PARTIAL);
	pw_putc(w, '}');
}

/* The unit of an alert's value and threshold, by kind. */
static const char *alert_kind_name(enum pw_alert_kind kind)
{
	switch (kind) {
	case PW_ALERT_CPU: return "cpu";
	case PW_ALERT_RSS: return "rss";
	case PW_ALERT_THREADS: return "threads";
	}
	return NULL;
}

static void json_alert(struct pw_writer *w, const struct pw_event *ev)
{
	KV_I(w, "alert_rule", pw_event_alert_rule(ev));
	pw_json_kv_str(w, "alert_kind", alert_kind_name(pw_event_alert_kind(ev)));
	KV_U(w, "alert_value", pw_event_alert_value(ev));
	KV_U(w, "alert_threshold", pw_event_alert_threshold(ev));
}

PW_API int pw_event_format_json(const struct pw_event *ev, char *buf, size_t len, unsigned int flags)
{
	struct pw_writer w;
	enum pw_event_type type;
	struct pw_proc_key key, pkey;
	unsigned int evflags;

	if (!ev || (flags & ~PW_FORMAT_NO_NEWLINE) || (!buf && len))
		return -EINVAL;
	pw_writer_init(&w, buf, len);
	type = pw_event_type(ev);
	pw_puts_lit(&w, "{\"type\":");
	pw_json_cstr(&w, pw_event_type_name(type));
	if (type == PW_EVENT_LOST) {
		KV_U(&w, "lost", pw_event_lost_count(ev));
		pw_putc(&w, '}');
		return finish(&w, flags);
	}
	key = pw_event_key(ev);
	pkey = pw_event_parent_key(ev);
	evflags = pw_event_flags(ev);
	KV_U(&w, "time_ns", pw_event_time_ns(ev));
	KV_U(&w, "cpu", pw_event_cpu(ev));
	KV_I(&w, "pid", key.pid);
	KV_I(&w, "tid", pw_event_tid(ev));
	KV_U(&w, "start_ns", key.start_ns);
	KV_I(&w, "ppid", pkey.pid);
	KV_U(&w, "parent_start_ns", pkey.start_ns);
	pw_json_kv_str(&w, "name", pw_event_name(ev));
	pw_json_kv_str(&w, "image", pw_event_image(ev));
	switch (type) {
	case PW_EVENT_PROCESS_CREATE:
	case PW_EVENT_THREAD_CREATE: {
		unsigned int cf = pw_event_clone_flags(ev);
		bool first = true;

		KV_I(&w, "creator_pid", pw_event_creator_pid(ev));
		KV_I(&w, "creator_tid", pw_event_creator_tid(ev));
		pw_puts_lit(&w, ",\"clone_flags_raw\":\"");
		pw_put_hex(&w, pw_event_clone_flags_raw(ev));
		pw_puts_lit(&w, "\",\"clone_flags\":[");
		for (size_t i = 0; i < N_CLONE_FLAGS; i++) {
			if (!(cf & (1u << i)))
				continue;
			if (!first)
				pw_putc(&w, ',');
			first = false;
			pw_putc(&w, '"');
			pw_puts(&w, clone_flag_names[i]);
			pw_putc(&w, '"');
		}
		pw_putc(&w, ']');
		break;
	}
	case PW_EVENT_EXEC:
		pw_json_kv_str(&w, "filename", pw_event_exec_filename(ev));
		pw_json_kv_str(&w, "cwd", pw_event_cwd(ev));
		pw_json_kv_str(&w, "previous_image", pw_event_previous_image(ev));
		break;
	case PW_EVENT_PROCESS_ACCESS:
	case PW_EVENT_THREAD_ACCESS:
		json_access(&w, ev);
		break;
	case PW_EVENT_PROCESS_EXIT:
	case PW_EVENT_THREAD_EXIT:
		json_exit(&w, pw_event_exit_status(ev));
		pw_puts_lit(&w, ",\"group_exit\":");
		json_bool(&w, evflags & PW_EVF_GROUP_EXIT);
		if (pw_event_rusage(ev))
			json_rusage(&w, pw_event_rusage(ev));
		break;
	case PW_EVENT_RESOURCE_ALERT:
		json_alert(&w, ev);
		break;
	default:
		break;
	}
	json_args(&w, "args", pw_event_argc(ev), ev_arg, ev);
	pw_puts_lit(&w, ",\"args_truncated\":");
	json_bool(&w, evflags & PW_EVF_ARGS_TRUNCATED);
	pw_puts_lit(&w, ",\"path_truncated\":");
	json_bool(&w, evflags & PW_EVF_PATH_TRUNCATED);
	pw_puts_lit(&w, ",\"from_table\":");
	json_bool(&w, evflags & PW_EVF_FROM_TABLE);
	if (evflags & PW_EVF_REDACTED)
		pw_puts_lit(&w, ",\"redacted\":true");
	if (pw_event_token(ev))
		json_token(&w, ev);
	pw_putc(&w, '}');
	return finish(&w, flags);
}

/* ---------------------------------------------------------------- text */

/* Spaces after what was written since start, up to width columns (left-aligned columns). */
static void text_pad(struct pw_writer *w, size_t start, size_t width)
{
	if (w->pos - start < width)
		pw_put_spaces(w, width - (w->pos - start));
}

/* A text field padded to width columns (bytes of the escaped form). */
static void text_col(struct pw_writer *w, const char *s, size_t width)
{
	size_t start = w->pos;

	pw_text_cstr(w, s ? s : "-");
	text_pad(w, start, width);
}

/* Numbers left-aligned in width columns (pw_put_i64_width right-aligns). */
static void text_u64_col(struct pw_writer *w, uint64_t v, size_t width)
{
	size_t start = w->pos;

	pw_put_u64(w, v);
	text_pad(w, start, width);
}

static void text_i64_col(struct pw_writer *w, int64_t v, size_t width)
{
	size_t start = w->pos;

	pw_put_i64(w, v);
	text_pad(w, start, width);
}

static void text_seconds(struct pw_writer *w, uint64_t ns)
{
	char frac[7];
	uint64_t us = (ns % 1000000000ull) / 1000;
	size_t start = w->pos;

	pw_put_u64(w, ns / 1000000000ull);
	for (int i = 5; i >= 0; i--, us /= 10)
		frac[i + 1] = (char)('0' + us % 10);
	frac[0] = '.';
	pw_put(w, frac, sizeof(frac));
	text_pad(w, start, 10);
}

/* ns as milliseconds with three decimals: 626253000 -> "626.253" */
static void text_ms(struct pw_writer *w, uint64_t ns)
{
	uint64_t us = ns / 1000;
	char frac[4] = { '.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
			 (char)('0' + us % 10) };

	pw_put_u64(w, us / 1000);
	pw_put(w, frac, sizeof(frac));
}

/* Exits: key=value pairs whose keys carry the unit; what was not measured is left out. */
static void text_rusage(struct pw_writer *w, const struct pw_rusage *ru)
{
	pw_puts_lit(w, " cpu_ms=");
	text_ms(w, ru->cpu_ns);
	pw_puts_lit(w, " user_ms=");
	text_ms(w, ru->user_ns);
	pw_puts_lit(w, " sys_ms=");
	text_ms(w, ru->system_ns);
	if (!(ru->flags & PW_RUSAGE_THREAD)) {
		pw_puts_lit(w, " maxrss_kib=");
		pw_put_u64(w, ru->max_rss_bytes / 1024);
	}
	pw_puts_lit(w, " minflt=");
	pw_put_u64(w, ru->minor_faults);
	pw_puts_lit(w, " majflt=");
	pw_put_u64(w, ru->major_faults);
	pw_puts_lit(w, " nvcsw=");
	pw_put_u64(w, ru->voluntary_switches);
	pw_puts_lit(w, " nivcsw=");
	pw_put_u64(w, ru->involuntary_switches);
	if (ru->flags & PW_RUSAGE_IO) {
		pw_puts_lit(w, " read_bytes=");
		pw_put_u64(w, ru->read_bytes);
		pw_puts_lit(w, " write_bytes=");
		pw_put_u64(w, ru->write_bytes);
	}
	pw_puts_lit(w, " life_ms=");
	text_ms(w, ru->lifetime_ns);
	if (ru->flags & PW_RUSAGE_PARTIAL)
		pw_puts_lit(w, " partial");
}

static void text_args(struct pw_writer *w, const struct pw_event *ev)
{
	for (size_t i = 0; i < pw_event_argc(ev); i++) {
		pw_putc(w, ' ');
		pw_text_word(w, pw_event_arg(ev, i));
	}
	if (pw_event_flags(ev) & PW_EVF_ARGS_TRUNCATED)
		pw_puts_lit(w, " [args truncated]");
	if (pw_event_flags(ev) & PW_EVF_REDACTED)
		pw_puts_lit(w, " [redacted]");
}

PW_API const char *pw_event_text_header(void)
{
	return "TIME(s)    EVENT              PID     TID    PPID    UID NAME            DETAILS\n";
}

PW_API int pw_event_format_text(const struct pw_event *ev, char *buf, size_t len, unsigned int flags,
				uint64_t time_base_ns)
{
	struct pw_writer w;
	enum pw_event_type type;
	const struct pw_token *t;
	uint64_t ts;
	int status;

	if (!ev || (flags & ~PW_FORMAT_NO_NEWLINE) || (!buf && len))
		return -EINVAL;
	pw_writer_init(&w, buf, len);
	type = pw_event_type(ev);
	if (type == PW_EVENT_LOST) {
		pw_puts_lit(&w, "-          lost           LOST ");
		pw_put_u64(&w, pw_event_lost_count(ev));
		pw_puts_lit(&w, " events (ring buffer full)");
		return finish(&w, flags);
	}
	t = pw_event_token(ev);
	ts = pw_event_time_ns(ev);
	text_seconds(&w, ts >= time_base_ns ? ts - time_base_ns : 0);
	pw_putc(&w, ' ');
	text_col(&w, pw_event_type_name(type), 14);
	pw_putc(&w, ' ');
	pw_put_i64_width(&w, pw_event_pid(ev), 7);
	pw_putc(&w, ' ');
	pw_put_i64_width(&w, pw_event_tid(ev), 7);
	pw_putc(&w, ' ');
	pw_put_i64_width(&w, pw_event_parent_pid(ev), 7);
	pw_putc(&w, ' ');
	pw_put_i64_width(&w, t ? t->uid : 0, 6);
	pw_putc(&w, ' ');
	text_col(&w, pw_event_name(ev), 15);
	switch (type) {
	case PW_EVENT_PROCESS_CREATE:
	case PW_EVENT_THREAD_CREATE:
		pw_puts_lit(&w, " by ");
		pw_put_i64(&w, pw_event_creator_pid(ev));
		pw_putc(&w, '/');
		pw_put_i64(&w, pw_event_creator_tid(ev));
		for (size_t i = 0; i < N_CLONE_FLAGS; i++) {
			if (pw_event_clone_flags(ev) & (1u << i)) {
				pw_putc(&w, ' ');
				pw_puts(&w, clone_flag_names[i]);
			}
		}
		break;
	case PW_EVENT_EXEC:
		pw_putc(&w, ' ');
		pw_text_cstr(&w, pw_event_image(ev));
		text_args(&w, ev);
		break;
	case PW_EVENT_PROCESS_ACCESS:
	case PW_EVENT_THREAD_ACCESS: {
		const char *tname = pw_event_target_name(ev);
		unsigned int rights = pw_event_access(ev);
		char sep = ' ';

		pw_puts_lit(&w, " -> ");
		pw_put_i64(&w, pw_event_target_pid(ev));
		pw_putc(&w, '/');
		pw_put_i64(&w, pw_event_target_tid(ev));
		if (tname) {
			pw_puts_lit(&w, " (");
			pw_text_cstr(&w, tname);
			pw_putc(&w, ')');
		}
		pw_putc(&w, ' ');
		pw_text_cstr(&w, pw_access_op_name(pw_event_access_op(ev)));
		for (unsigned int bit = 1; bit <= PW_ACCESS_ALL; bit <<= 1) {
			if (rights & bit) {
				pw_putc(&w, sep);
				pw_puts(&w, pw_access_name(bit));
				sep = ',';
			}
		}
		if (pw_event_signal(ev)) {
			pw_puts_lit(&w, " sig ");
			pw_put_i64(&w, pw_event_signal(ev));
		}
		pw_puts_lit(&w, " = ");
		pw_put_i64(&w, pw_event_access_result(ev));
		if (pw_event_access_denied(ev))
			pw_puts_lit(&w, " DENIED");
		break;
	}
	case PW_EVENT_PROCESS_EXIT:
	case PW_EVENT_THREAD_EXIT:
		status = pw_event_exit_status(ev);
		if (WIFSIGNALED(status)) {
			pw_puts_lit(&w, " signal ");
			pw_put_i64(&w, WTERMSIG(status));
			if (WCOREDUMP(status))
				pw_puts_lit(&w, " (core dumped)");
		} else {
			pw_puts_lit(&w, " exit ");
			pw_put_i64(&w, WEXITSTATUS(status));
		}
		if (pw_event_rusage(ev))
			text_rusage(&w, pw_event_rusage(ev));
		if (pw_event_image(ev)) {
			pw_putc(&w, ' ');
			pw_text_cstr(&w, pw_event_image(ev));
		}
		break;
	case PW_EVENT_RESOURCE_ALERT: {
		const char *kind = alert_kind_name(pw_event_alert_kind(ev));
		const char *unit = pw_event_alert_kind(ev) == PW_ALERT_CPU ? "%" :
				   pw_event_alert_kind(ev) == PW_ALERT_RSS ? "B" : "";

		pw_puts_lit(&w, " rule ");
		pw_put_i64(&w, pw_event_alert_rule(ev));
		pw_putc(&w, ' ');
		pw_puts(&w, kind ? kind : "?");
		pw_putc(&w, ' ');
		pw_put_u64(&w, pw_event_alert_value(ev));
		pw_puts(&w, unit);
		pw_puts_lit(&w, " > ");
		pw_put_u64(&w, pw_event_alert_threshold(ev));
		pw_puts(&w, unit);
		if (pw_event_image(ev)) {
			pw_putc(&w, ' ');
			pw_text_cstr(&w, pw_event_image(ev));
		}
		break;
	}
	default:
		break;
	}
	return finish(&w, flags);
}

/* ---------------------------------------------------------------- snapshot rows */

PW_API int pw_process_format_json(const struct pw_process *p, char *buf, size_t len, unsigned int flags)
{
	struct pw_writer w;
	struct pw_proc_key key;
	char state;

	if (!p || (flags & ~PW_FORMAT_NO_NEWLINE) || (!buf && len))
		return -EINVAL;
	pw_writer_init(&w, buf, len);
	key = pw_process_key(p);
	state = pw_process_state(p);
	pw_puts_lit(&w, "{\"pid\":");
	pw_put_i64(&w, key.pid);
	KV_I(&w, "ppid", pw_process_parent_pid(p));
	KV_U(&w, "start_ns", key.start_ns);
	KV_U(&w, "uid", pw_process_uid(p));
	KV_U(&w, "threads", pw_process_thread_count(p));
	pw_puts_lit(&w, ",\"state\":");
	pw_json_str(&w, &state, state ? 1 : 0);
	pw_json_kv_str(&w, "user", pw_process_user_name(p));
	pw_json_kv_str(&w, "name", pw_process_name(p));
	pw_json_kv_str(&w, "image", pw_process_image(p));
	json_args(&w, "args", pw_process_argc(p), proc_arg, p);
	pw_putc(&w, '}');
	return finish(&w, flags);
}

PW_API const char *pw_process_text_header(void)
{
	return "    PID    PPID USER         THR   S NAME            COMMAND\n";
}

PW_API int pw_process_format_text(const struct pw_process *p, char *buf, size_t len, unsigned int flags)
{
	struct pw_writer w;
	const char *user;
	char state;

	if (!p || (flags & ~PW_FORMAT_NO_NEWLINE) || (!buf && len))
		return -EINVAL;
	pw_writer_init(&w, buf, len);
	user = pw_process_user_name(p);
	state = pw_process_state(p);
	pw_put_i64_width(&w, pw_process_pid(p), 7);
	pw_putc(&w, ' ');
	pw_put_i64_width(&w, pw_process_parent_pid(p), 7);
	pw_putc(&w, ' ');
	if (user)
		text_col(&w, user, 10);
	else
		text_u64_col(&w, pw_process_uid(p), 10);
	pw_putc(&w, ' ');
	pw_put_i64_width(&w, pw_process_thread_count(p), 5);
	pw_puts_lit(&w, "   ");
	pw_text_str(&w, &state, state ? 1 : 0, false);
	pw_putc(&w, ' ');
	text_col(&w, pw_process_name(p), 15);
	if (pw_process_argc(p)) {
		for (size_t i = 0; i < pw_process_argc(p); i++) {
			pw_putc(&w, ' ');
			pw_text_word(&w, pw_process_arg(p, i));
		}
	} else if (pw_process_image(p)) {
		pw_putc(&w, ' ');
		pw_text_cstr(&w, pw_process_image(p));
	}
	return finish(&w, flags);
}

/* ---------------------------------------------------------------- gate decisions */

/*
 * A decision's arguments are one NUL-separated block: walk it once
 * instead of asking pw_decision_arg() for each index from the start.
 */
struct decision_args {
	const struct pw_gate_decision *d;
	const char *next;
	size_t next_i;
};

static const char *decision_arg(const void *obj, size_t i)
{
	struct decision_args *da = (struct decision_args *)obj;

	if (!da->next || i != da->next_i) {
		da->next = pw_decision_arg(da->d, i);
		da->next_i = i;
	}
	const char *a = da->next;

	if (!a) /* a record whose argc and block disagree: never read past it */
		return "";
	da->next = a + strlen(a) + 1;
	da->next_i = i + 1;
	return a;
}

static const char *verdict_name(enum pw_exec_verdict v)
{
	return v == PW_EXEC_DENY ? "deny" : "allow";
}

PW_API int pw_gate_decision_format_json(const struct pw_gate_decision *d, char *buf, size_t len,
					unsigned int flags)
{
	struct decision_args da = { .d = d };
	struct pw_writer w;
	const char *filename;

	if (!d || (flags & ~PW_FORMAT_NO_NEWLINE) || (!buf && len))
		return -EINVAL;
	pw_writer_init(&w, buf, len);
	pw_puts_lit(&w, "{\"time_ns\":");
	pw_put_u64(&w, pw_decision_time_ns(d));
	pw_puts_lit(&w, ",\"verdict\":\"");
	pw_puts(&w, verdict_name(pw_decision_verdict(d)));
	pw_putc(&w, '"');
	pw_json_kv_str(&w, "reason", pw_gate_reason_name(pw_decision_reason(d)));
	pw_puts_lit(&w, ",\"audit\":");
	json_bool(&w, pw_decision_audit(d));
	KV_I(&w, "pid", pw_decision_pid(d));
	KV_I(&w, "tid", pw_decision_tid(d));
	KV_U(&w, "uid", pw_decision_uid(d));
	pw_json_kv_str(&w, "name", pw_decision_name(d));
	pw_json_kv_str(&w, "image", pw_decision_image(d));
	filename = pw_decision_filename(d);
	pw_json_kv_str(&w, "filename", filename && *filename ? filename : NULL);
	pw_puts_lit(&w, ",\"interpreter\":");
	json_bool(&w, pw_decision_is_interpreter(d));
	pw_puts_lit(&w, ",\"held\":");
	json_bool(&w, pw_decision_held(d));
	pw_puts_lit(&w, ",\"via_loader\":");
	json_bool(&w, pw_decision_via_loader(d));
	KV_I(&w, "rule", pw_decision_rule(d));
	KV_I(&w, "errno", pw_decision_errno(d));
	KV_U(&w, "latency_ns", pw_decision_latency_ns(d));
	json_args(&w, "argv", pw_decision_argc(d), decision_arg, &da);
	if (pw_decision_redacted(d))
		pw_puts_lit(&w, ",\"redacted\":true");
	pw_putc(&w, '}');
	return finish(&w, flags);
}

PW_API int pw_gate_decision_format_text(const struct pw_gate_decision *d, char *buf, size_t len,
					unsigned int flags)
{
	struct decision_args da = { .d = d };
	struct pw_writer w;
	size_t argc;

	if (!d || (flags & ~PW_FORMAT_NO_NEWLINE) || (!buf && len))
		return -EINVAL;
	pw_writer_init(&w, buf, len);
	text_col(&w, verdict_name(pw_decision_verdict(d)), 5);
	pw_putc(&w, pw_decision_audit(d) ? '*' : ' ');
	pw_putc(&w, ' ');
	text_col(&w, pw_gate_reason_name(pw_decision_reason(d)), 8);
	pw_puts_lit(&w, " pid ");
	text_i64_col(&w, pw_decision_pid(d), 7);
	pw_puts_lit(&w, " uid ");
	text_u64_col(&w, pw_decision_uid(d), 6);
	pw_putc(&w, ' ');
	text_col(&w, pw_decision_name(d), 15);
	pw_putc(&w, ' ');
	pw_text_cstr(&w, pw_decision_image(d));
	if (pw_decision_is_interpreter(d))
		pw_puts_lit(&w, " (interpreter)");
	if (pw_decision_via_loader(d))
		pw_puts_lit(&w, " (via ld.so)");
	if (pw_decision_held(d))
		pw_puts_lit(&w, " (held)");
	argc = pw_decision_argc(d);
	for (size_t i = 0; i < argc; i++) {
		pw_puts(&w, i ? " " : " :: ");
		pw_text_word(&w, decision_arg(&da, i));
	}
	return finish(&w, flags);
}

/* A key the caller names: plain [a-z0-9_], so it needs no escaping itself. */
static bool json_key_ok(const char *key)
{
	if (!key || !*key)
		return false;
	for (const char *k = key; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

PW_API int pw_json_member(const char *key, const char *value, char *buf, size_t len)
{
	struct pw_writer w;

	if (!json_key_ok(key) || (!buf && len))
		return -EINVAL;
	pw_writer_init(&w, buf, len);
	pw_json_kv_str(&w, key, value);
	return pw_writer_finish(&w);
}

static const char *array_arg(const void *argv, size_t i)
{
	return ((const char *const *)argv)[i];
}

PW_API int pw_json_args_member(const char *key, const char *const *argv, size_t argc, char *buf,
			       size_t len)
{
	struct pw_writer w;

	if (!json_key_ok(key) || (!argv && argc) || (!buf && len))
		return -EINVAL;
	for (size_t i = 0; i < argc; i++)
		if (!argv[i])
			return -EINVAL;
	pw_writer_init(&w, buf, len);
	json_args(&w, key, argc, array_arg, argv);
	return pw_writer_finish(&w);
}

PW_API int pw_text_escape(const char *s, char *buf, size_t len)
{
	struct pw_writer w;

	if (!s || (!buf && len))
		return -EINVAL;
	pw_writer_init(&w, buf, len);
	pw_text_cstr(&w, s);
	return pw_writer_finish(&w);
}
