// SPDX-License-Identifier: MIT
/* output.c - event and process formatting for the CLI (schema documented in README.md). */
#include <inttypes.h>
#include <string.h>
#include <sys/wait.h>

#include "output.h"

void json_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out); /* bytes >= 0x80 pass through: argv is not always UTF-8 */
		}
	}
	fputc('"', out);
}

static const char *const clone_flag_names[] = { "thread", "vfork", "parent", "vm", "newpid", "newns" };

static void json_kv_str(FILE *out, const char *key, const char *v)
{
	fprintf(out, ",\"%s\":", key);
	json_string(out, v);
}

static void json_args(FILE *out, size_t argc, const char *(*arg)(const void *, size_t),
		      const void *obj)
{
	fputs(",\"args\":[", out);
	for (size_t i = 0; i < argc; i++) {
		if (i)
			fputc(',', out);
		json_string(out, arg(obj, i));
	}
	fputc(']', out);
}

static const char *ev_arg(const void *ev, size_t i)
{
	return pw_event_arg(ev, i);
}

static const char *proc_arg(const void *p, size_t i)
{
	return pw_process_arg(p, i);
}

static void json_exit(FILE *out, int status)
{
	if (WIFSIGNALED(status))
		fprintf(out, ",\"exit_code\":null,\"exit_signal\":%d,\"core_dumped\":%s",
			WTERMSIG(status), WCOREDUMP(status) ? "true" : "false");
	else
		fprintf(out, ",\"exit_code\":%d,\"exit_signal\":null", WEXITSTATUS(status));
}

static void json_token(FILE *out, const struct pw_event *ev)
{
	const struct pw_token *t = pw_event_token(ev);

	fprintf(out,
		",\"token\":{\"uid\":%u,\"euid\":%u,\"suid\":%u,\"fsuid\":%u,"
		"\"gid\":%u,\"egid\":%u,\"sgid\":%u,\"fsgid\":%u,"
		"\"cap_effective\":\"0x%" PRIx64 "\",\"cap_permitted\":\"0x%" PRIx64 "\","
		"\"loginuid\":%" PRId64 ",\"sessionid\":%" PRId64 ",\"pidns\":%u,\"mntns\":%u,"
		"\"cgroup_id\":%" PRIu64,
		t->uid, t->euid, t->suid, t->fsuid, t->gid, t->egid, t->sgid, t->fsgid,
		t->cap_effective, t->cap_permitted,
		t->loginuid == UINT32_MAX ? (int64_t)-1 : (int64_t)t->loginuid,
		t->sessionid == UINT32_MAX ? (int64_t)-1 : (int64_t)t->sessionid, t->pidns_ino,
		t->mntns_ino, t->cgroup_id);
	json_kv_str(out, "user", pw_event_user_name(ev));
	json_kv_str(out, "group", pw_event_group_name(ev));
	json_kv_str(out, "cgroup", pw_event_cgroup_path(ev));
	json_kv_str(out, "container_id", pw_event_container_id(ev));
	fputc('}', out);
}

/* Access events: the target and the operation (the header fields are the originator). */
static void json_access(FILE *out, const struct pw_event *ev)
{
	struct pw_proc_key tkey = pw_event_target_key(ev);
	unsigned int rights = pw_event_access(ev);
	bool first = true;

	fprintf(out, ",\"target_pid\":%d,\"target_tid\":%d,\"target_start_ns\":%" PRIu64,
		tkey.pid, pw_event_target_tid(ev), tkey.start_ns);
	json_kv_str(out, "target_name", pw_event_target_name(ev));
	json_kv_str(out, "op", pw_access_op_name(pw_event_access_op(ev)));
	fputs(",\"access\":[", out);
	for (unsigned int bit = 1; bit <= PW_ACCESS_ALL; bit <<= 1) {
		if (rights & bit) {
			fprintf(out, "%s\"%s\"", first ? "" : ",", pw_access_name(bit));
			first = false;
		}
	}
	fprintf(out, "],\"signal\":%d,\"result\":%" PRId64 ",\"denied\":%s,\"detail\":%" PRIu64,
		pw_event_signal(ev), pw_event_access_result(ev),
		pw_event_access_denied(ev) ? "true" : "false", pw_event_access_detail(ev));
}

void print_event_json(FILE *out, const struct pw_event *ev)
{
	enum pw_event_type type = pw_event_type(ev);
	struct pw_proc_key key = pw_event_key(ev), pkey = pw_event_parent_key(ev);
	unsigned int flags = pw_event_flags(ev);

	fprintf(out, "{\"type\":\"%s\"", pw_event_type_name(type));
	if (type == PW_EVENT_LOST) {
		fprintf(out, ",\"lost\":%" PRIu64 "}\n", pw_event_lost_count(ev));
		return;
	}
	fprintf(out,
		",\"time_ns\":%" PRIu64 ",\"cpu\":%u,\"pid\":%d,\"tid\":%d,\"start_ns\":%" PRIu64
		",\"ppid\":%d,\"parent_start_ns\":%" PRIu64,
		pw_event_time_ns(ev), pw_event_cpu(ev), key.pid, pw_event_tid(ev), key.start_ns,
		pkey.pid, pkey.start_ns);
	json_kv_str(out, "name", pw_event_name(ev));
	json_kv_str(out, "image", pw_event_image(ev));
	switch (type) {
	case PW_EVENT_PROCESS_CREATE:
	case PW_EVENT_THREAD_CREATE: {
		unsigned int cf = pw_event_clone_flags(ev);
		bool first = true;

		fprintf(out, ",\"creator_pid\":%d,\"creator_tid\":%d,\"clone_flags_raw\":\"0x%" PRIx64 "\",\"clone_flags\":[",
			pw_event_creator_pid(ev), pw_event_creator_tid(ev), pw_event_clone_flags_raw(ev));
		for (size_t i = 0; i < sizeof(clone_flag_names) / sizeof(*clone_flag_names); i++) {
			if (cf & (1u << i)) {
				fprintf(out, "%s\"%s\"", first ? "" : ",", clone_flag_names[i]);
				first = false;
			}
		}
		fputc(']', out);
		break;
	}
	case PW_EVENT_EXEC:
		json_kv_str(out, "filename", pw_event_exec_filename(ev));
		json_kv_str(out, "cwd", pw_event_cwd(ev));
		json_kv_str(out, "previous_image", pw_event_previous_image(ev));
		break;
	case PW_EVENT_PROCESS_ACCESS:
	case PW_EVENT_THREAD_ACCESS:
		json_access(out, ev);
		break;
	case PW_EVENT_PROCESS_EXIT:
	case PW_EVENT_THREAD_EXIT:
		json_exit(out, pw_event_exit_status(ev));
		fprintf(out, ",\"group_exit\":%s", flags & PW_EVF_GROUP_EXIT ? "true" : "false");
		break;
	default:
		break;
	}
	json_args(out, pw_event_argc(ev), ev_arg, ev);
	fprintf(out, ",\"args_truncated\":%s,\"path_truncated\":%s,\"from_table\":%s",
		flags & PW_EVF_ARGS_TRUNCATED ? "true" : "false",
		flags & PW_EVF_PATH_TRUNCATED ? "true" : "false",
		flags & PW_EVF_FROM_TABLE ? "true" : "false");
	if (flags & PW_EVF_REDACTED)
		fputs(",\"redacted\":true", out);
	json_token(out, ev);
	fputs("}\n", out);
}

void print_event_text_header(FILE *out)
{
	fprintf(out, "%-10s %-14s %7s %7s %7s %6s %-15s %s\n", "TIME(s)", "EVENT", "PID", "TID",
		"PPID", "UID", "NAME", "DETAILS");
}

static void text_args(FILE *out, const struct pw_event *ev)
{
	for (size_t i = 0; i < pw_event_argc(ev); i++) {
		const char *a = pw_event_arg(ev, i);

		fputc(' ', out);
		if (!*a || strpbrk(a, " \t\n\"'\\")) {
			fputc('"', out);
			for (; *a; a++) {
				if (*a == '"' || *a == '\\')
					fputc('\\', out);
				fputc(*a == '\n' ? ' ' : *a, out);
			}
			fputc('"', out);
		} else {
			fputs(a, out);
		}
	}
	if (pw_event_flags(ev) & PW_EVF_ARGS_TRUNCATED)
		fputs(" [args truncated]", out);
}

void print_event_text(FILE *out, const struct pw_event *ev, uint64_t t0_ns)
{
	enum pw_event_type type = pw_event_type(ev);
	const struct pw_token *t;
	uint64_t ts;
	int status;

	if (type == PW_EVENT_LOST) {
		fprintf(out, "%-10s %-14s LOST %" PRIu64 " events (ring buffer full)\n", "-", "lost",
			pw_event_lost_count(ev));
		return;
	}
	t = pw_event_token(ev);
	ts = pw_event_time_ns(ev);
	fprintf(out, "%-10.6f %-14s %7d %7d %7d %6u %-15s", ts >= t0_ns ? (ts - t0_ns) / 1e9 : 0.0,
		pw_event_type_name(type), pw_event_pid(ev), pw_event_tid(ev),
		pw_event_parent_pid(ev), t->uid, pw_event_name(ev));
	switch (type) {
	case PW_EVENT_PROCESS_CREATE:
	case PW_EVENT_THREAD_CREATE:
		fprintf(out, " by %d/%d", pw_event_creator_pid(ev), pw_event_creator_tid(ev));
		for (size_t i = 0; i < sizeof(clone_flag_names) / sizeof(*clone_flag_names); i++)
			if (pw_event_clone_flags(ev) & (1u << i))
				fprintf(out, " %s", clone_flag_names[i]);
		break;
	case PW_EVENT_EXEC:
		fprintf(out, " %s", pw_event_image(ev));
		text_args(out, ev);
		break;
	case PW_EVENT_PROCESS_ACCESS:
	case PW_EVENT_THREAD_ACCESS: {
		const char *tname = pw_event_target_name(ev);
		unsigned int rights = pw_event_access(ev);
		const char *sep = " ";

		fprintf(out, " -> %d/%d", pw_event_target_pid(ev), pw_event_target_tid(ev));
		if (tname)
			fprintf(out, " (%s)", tname);
		fprintf(out, " %s", pw_access_op_name(pw_event_access_op(ev)));
		for (unsigned int bit = 1; bit <= PW_ACCESS_ALL; bit <<= 1) {
			if (rights & bit) {
				fprintf(out, "%s%s", sep, pw_access_name(bit));
				sep = ",";
			}
		}
		if (pw_event_signal(ev))
			fprintf(out, " sig %d", pw_event_signal(ev));
		fprintf(out, " = %" PRId64 "%s", pw_event_access_result(ev),
			pw_event_access_denied(ev) ? " DENIED" : "");
		break;
	}
	case PW_EVENT_PROCESS_EXIT:
	case PW_EVENT_THREAD_EXIT:
		status = pw_event_exit_status(ev);
		if (WIFSIGNALED(status))
			fprintf(out, " signal %d%s", WTERMSIG(status),
				WCOREDUMP(status) ? " (core dumped)" : "");
		else
			fprintf(out, " exit %d", WEXITSTATUS(status));
		if (pw_event_image(ev))
			fprintf(out, " %s", pw_event_image(ev));
		break;
	default:
		break;
	}
	fputc('\n', out);
}

void print_process_text_header(FILE *out)
{
	fprintf(out, "%7s %7s %-10s %5s %3s %-15s %s\n", "PID", "PPID", "USER", "THR", "S", "NAME",
		"COMMAND");
}

void print_process_text(FILE *out, const struct pw_process *p)
{
	const char *user = pw_process_user_name(p);
	char uidbuf[16];

	if (!user) {
		snprintf(uidbuf, sizeof(uidbuf), "%u", pw_process_uid(p));
		user = uidbuf;
	}
	fprintf(out, "%7d %7d %-10s %5u %3c %-15s", pw_process_pid(p), pw_process_parent_pid(p), user,
		pw_process_thread_count(p), pw_process_state(p), pw_process_name(p));
	if (pw_process_argc(p)) {
		for (size_t i = 0; i < pw_process_argc(p); i++)
			fprintf(out, " %s", pw_process_arg(p, i));
	} else if (pw_process_image(p)) {
		fprintf(out, " %s", pw_process_image(p));
	}
	fputc('\n', out);
}

void print_process_json(FILE *out, const struct pw_process *p)
{
	struct pw_proc_key key = pw_process_key(p);

	fprintf(out, "{\"pid\":%d,\"ppid\":%d,\"start_ns\":%" PRIu64 ",\"uid\":%u,\"threads\":%u,\"state\":\"%c\"",
		key.pid, pw_process_parent_pid(p), key.start_ns, pw_process_uid(p),
		pw_process_thread_count(p), pw_process_state(p));
	json_kv_str(out, "user", pw_process_user_name(p));
	json_kv_str(out, "name", pw_process_name(p));
	json_kv_str(out, "image", pw_process_image(p));
	json_args(out, pw_process_argc(p), proc_arg, p);
	fputs("}\n", out);
}
