// SPDX-License-Identifier: MIT
/* event.c - accessors of the borrowed event object. */
#include "monitor/event.h"
#include "snapshot/names.h"

/* The key of a process (its pid and start time); the padding zero. */
static struct pw_proc_key proc_key(uint32_t pid, uint64_t start_ns)
{
	struct pw_proc_key key = { .pid = (pid_t)pid, .start_ns = start_ns };

	return key;
}

PW_API enum pw_event_type pw_event_type(const struct pw_event *ev)
{
	return ev->type;
}

PW_API const char *pw_event_type_name(enum pw_event_type type)
{
	switch (type) {
	case PW_EVENT_PROCESS_CREATE: return "process_create";
	case PW_EVENT_EXEC: return "exec";
	case PW_EVENT_PROCESS_EXIT: return "process_exit";
	case PW_EVENT_THREAD_CREATE: return "thread_create";
	case PW_EVENT_THREAD_EXIT: return "thread_exit";
	case PW_EVENT_LOST: return "lost";
	case PW_EVENT_PROCESS_ACCESS: return "process_access";
	case PW_EVENT_THREAD_ACCESS: return "thread_access";
	case PW_EVENT_RESOURCE_ALERT: return "resource_alert";
	}
	return NULL;
}

PW_API uint64_t pw_event_time_ns(const struct pw_event *ev)
{
	return ev->hdr ? ev->hdr->ts_ns : 0;
}

PW_API unsigned int pw_event_cpu(const struct pw_event *ev)
{
	return ev->hdr ? ev->hdr->cpu : 0;
}

PW_API pid_t pw_event_pid(const struct pw_event *ev)
{
	return ev->hdr ? (pid_t)ev->hdr->pid : 0;
}

PW_API pid_t pw_event_tid(const struct pw_event *ev)
{
	return ev->hdr ? (pid_t)ev->hdr->tid : 0;
}

PW_API struct pw_proc_key pw_event_key(const struct pw_event *ev)
{
	return ev->hdr ? proc_key(ev->hdr->pid, ev->hdr->start_ns) : proc_key(0, 0);
}

PW_API pid_t pw_event_parent_pid(const struct pw_event *ev)
{
	return ev->hdr ? (pid_t)ev->hdr->ppid : 0;
}

PW_API struct pw_proc_key pw_event_parent_key(const struct pw_event *ev)
{
	return ev->hdr ? proc_key(ev->hdr->ppid, ev->hdr->parent_start_ns) : proc_key(0, 0);
}

PW_API pid_t pw_event_creator_pid(const struct pw_event *ev)
{
	return ev->creator_pid;
}

PW_API pid_t pw_event_creator_tid(const struct pw_event *ev)
{
	return ev->creator_tid;
}

PW_API unsigned int pw_event_clone_flags(const struct pw_event *ev)
{
	return ev->clone_flags;
}

PW_API uint64_t pw_event_clone_flags_raw(const struct pw_event *ev)
{
	return ev->raw_clone_flags;
}

PW_API const char *pw_event_name(const struct pw_event *ev)
{
	return ev->hdr ? ev->comm : NULL;
}

PW_API const char *pw_event_image(const struct pw_event *ev)
{
	return ev->image;
}

PW_API const char *pw_event_previous_image(const struct pw_event *ev)
{
	return ev->previous_image;
}

PW_API const char *pw_event_exec_filename(const struct pw_event *ev)
{
	return ev->filename;
}

PW_API const char *pw_event_cwd(const struct pw_event *ev)
{
	return ev->cwd;
}

PW_API size_t pw_event_argc(const struct pw_event *ev)
{
	return ev->argc;
}

PW_API const char *pw_event_arg(const struct pw_event *ev, size_t i)
{
	return i < ev->argc ? ev->argv[i] : NULL;
}

PW_API unsigned int pw_event_flags(const struct pw_event *ev)
{
	return ev->flags;
}

PW_API int pw_event_exit_status(const struct pw_event *ev)
{
	return ev->exit_status;
}

PW_API const struct pw_rusage *pw_event_rusage(const struct pw_event *ev)
{
	return ev && ev->has_rusage ? &ev->rusage : NULL;
}

PW_API uint64_t pw_event_lost_count(const struct pw_event *ev)
{
	return ev->lost_count;
}

PW_API const struct pw_token *pw_event_token(const struct pw_event *ev)
{
	/* Same layout, asserted in decode.c. */
	return ev->hdr ? (const struct pw_token *)&ev->hdr->token : NULL;
}

PW_API const char *pw_event_user_name(const struct pw_event *ev)
{
	return ev->hdr && ev->names ? pw_names_user(ev->names, ev->hdr->token.uid) : NULL;
}

PW_API const char *pw_event_group_name(const struct pw_event *ev)
{
	return ev->hdr && ev->names ? pw_names_group(ev->names, ev->hdr->token.gid) : NULL;
}

PW_API const char *pw_event_cgroup_path(const struct pw_event *ev)
{
	return ev->hdr && ev->names ? pw_names_cgroup_path(ev->names, ev->hdr->token.cgroup_id) : NULL;
}

PW_API const char *pw_event_container_id(const struct pw_event *ev)
{
	return ev->hdr && ev->names ? pw_names_container_id(ev->names, ev->hdr->token.cgroup_id)
				    : NULL;
}

/* ---- access events (access.c owns the rest of the access API) ---- */

PW_API pid_t pw_event_target_pid(const struct pw_event *ev)
{
	return ev->access ? (pid_t)ev->access->target_pid : 0;
}

PW_API pid_t pw_event_target_tid(const struct pw_event *ev)
{
	return ev->access ? (pid_t)ev->access->target_tid : 0;
}

PW_API struct pw_proc_key pw_event_target_key(const struct pw_event *ev)
{
	return ev->access ? proc_key(ev->access->target_pid, ev->access->target_start_ns) : proc_key(0, 0);
}

PW_API const char *pw_event_target_name(const struct pw_event *ev)
{
	return ev->access && ev->target_comm[0] ? ev->target_comm : NULL;
}

PW_API unsigned int pw_event_access(const struct pw_event *ev)
{
	return ev->access ? ev->access->access : 0;
}

PW_API enum pw_access_op pw_event_access_op(const struct pw_event *ev)
{
	return ev->access ? (enum pw_access_op)ev->access->op : 0;
}

PW_API int pw_event_signal(const struct pw_event *ev)
{
	return ev->access ? ev->access->signal : 0;
}

PW_API int64_t pw_event_access_result(const struct pw_event *ev)
{
	return ev->access ? ev->access->result : 0;
}

PW_API bool pw_event_access_denied(const struct pw_event *ev)
{
	return ev->access && (ev->access->aflags & PW_RAW_AF_DENIED);
}

PW_API uint64_t pw_event_access_detail(const struct pw_event *ev)
{
	return ev->access ? ev->access->detail : 0;
}

/* ---- resource alerts (src/resource/ fills them) ---- */

PW_API int pw_event_alert_rule(const struct pw_event *ev)
{
	return ev && ev->type == PW_EVENT_RESOURCE_ALERT ? ev->alert_rule : -1;
}

PW_API enum pw_alert_kind pw_event_alert_kind(const struct pw_event *ev)
{
	return ev && ev->type == PW_EVENT_RESOURCE_ALERT ? ev->alert_kind : 0;
}

PW_API uint64_t pw_event_alert_value(const struct pw_event *ev)
{
	return ev && ev->type == PW_EVENT_RESOURCE_ALERT ? ev->alert_value : 0;
}

PW_API uint64_t pw_event_alert_threshold(const struct pw_event *ev)
{
	return ev && ev->type == PW_EVENT_RESOURCE_ALERT ? ev->alert_threshold : 0;
}
