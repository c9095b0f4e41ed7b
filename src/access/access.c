// SPDX-License-Identifier: MIT
/*
 * access.c - access operations: the watched targets, originator rules and
 * protection rules of a monitor, and the BPF object that observes and
 * enforces them (src/bpf/access.bpf.c), sharing the lifecycle ring buffer.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "access/access.h"
#include "core/fork.h"
#include "core/log.h"
#include "core/opts.h"
#include "monitor/rules.h"
#include "access.skel.h"

_Static_assert(PW_ACCESS_DEBUG == PW_RAW_ACC_DEBUG && PW_ACCESS_READ_MEMORY == PW_RAW_ACC_READ_MEMORY &&
		       PW_ACCESS_WRITE_MEMORY == PW_RAW_ACC_WRITE_MEMORY &&
		       PW_ACCESS_READ_INFO == PW_RAW_ACC_READ_INFO &&
		       PW_ACCESS_TERMINATE == PW_RAW_ACC_TERMINATE &&
		       PW_ACCESS_SUSPEND_RESUME == PW_RAW_ACC_SUSPEND &&
		       PW_ACCESS_SIGNAL == PW_RAW_ACC_SIGNAL &&
		       PW_ACCESS_OPEN_HANDLE == PW_RAW_ACC_OPEN_HANDLE &&
		       PW_ACCESS_DUP_HANDLE == PW_RAW_ACC_DUP_HANDLE &&
		       PW_ACCESS_SET_LIMITS == PW_RAW_ACC_SET_LIMITS && PW_ACCESS_ALL == PW_RAW_ACC_ALL,
	       "access right ABI");
_Static_assert((int)PW_ACCESS_OP_PTRACE == PW_RAW_OP_PTRACE &&
		       (int)PW_ACCESS_OP_PIDFD_GETFD == PW_RAW_OP_PIDFD_GETFD &&
		       (int)PW_ACCESS_OP_OTHER_PTRACE_CHECK == PW_RAW_OP_LSM_PTRACE_CHECK &&
		       (int)PW_ACCESS_OP_OTHER_SIGNAL == PW_RAW_OP_LSM_SIGNAL &&
		       (int)PW_ACCESS_OP_SIGIO == PW_RAW_OP_SIGIO &&
		       (int)PW_ACCESS_OP_CGROUP_KILL == PW_RAW_OP_CGROUP_KILL &&
		       (int)PW_ACCESS_OP_PERF_EVENT == PW_RAW_OP_PERF_EVENT,
	       "access op ABI");

#define MEMORY_RIGHTS (PW_ACCESS_READ_MEMORY | PW_ACCESS_WRITE_MEMORY)

/* One target, by pid or name, with what is watched and what is denied. */
struct target_entry {
	pid_t pid;                /* 0: by name */
	char name[PW_COMM_LEN];
	unsigned int watch;       /* rights reported (0: not watched by the application) */
	bool protect;
	struct pw_protect_val rule; /* PID rules: rule.start_ns binds it to the process */
	int pidfd;                /* PID rules: the process named when the rule was added; -1 */
};

struct pw_access_state {
	struct access_bpf *skel;
	struct target_entry *v;
	size_t n, cap;
	struct pw_rules orig;     /* originator rules (PID and UID only) */
	unsigned int watch_all;
	struct bpf_link *resolver; /* the task iterator pw_access_resolve */
};

/* ------------------------------------------------------------------ names */

static const char *const right_names[] = {
	"debug", "read-memory", "write-memory", "read-info", "terminate",
	"suspend-resume", "signal", "open-handle", "duplicate-handle", "set-limits",
};

PW_API const char *pw_access_name(unsigned int right)
{
	for (size_t i = 0; i < sizeof(right_names) / sizeof(*right_names); i++)
		if (right == 1u << i)
			return right_names[i];
	return NULL;
}

PW_API const char *pw_access_op_name(enum pw_access_op op)
{
	static const char *const names[] = {
		[PW_ACCESS_OP_PTRACE] = "ptrace",
		[PW_ACCESS_OP_PROCESS_VM_READV] = "process_vm_readv",
		[PW_ACCESS_OP_PROCESS_VM_WRITEV] = "process_vm_writev",
		[PW_ACCESS_OP_PROC_MEM_OPEN] = "proc_mem_open",
		[PW_ACCESS_OP_KILL] = "kill",
		[PW_ACCESS_OP_TGKILL] = "tgkill",
		[PW_ACCESS_OP_TKILL] = "tkill",
		[PW_ACCESS_OP_PIDFD_SEND_SIGNAL] = "pidfd_send_signal",
		[PW_ACCESS_OP_PIDFD_OPEN] = "pidfd_open",
		[PW_ACCESS_OP_PIDFD_GETFD] = "pidfd_getfd",
		[PW_ACCESS_OP_OTHER_PTRACE_CHECK] = "other_ptrace_check",
		[PW_ACCESS_OP_OTHER_SIGNAL] = "other_signal",
		[PW_ACCESS_OP_SIGIO] = "sigio",
		[PW_ACCESS_OP_PRLIMIT] = "prlimit",
		[PW_ACCESS_OP_CGROUP_KILL] = "cgroup_kill",
		[PW_ACCESS_OP_CGROUP_FREEZE] = "cgroup_freeze",
		[PW_ACCESS_OP_PROC_MEM_IO] = "proc_mem_io",
		[PW_ACCESS_OP_PROC_FD_OPEN] = "proc_fd_open",
		[PW_ACCESS_OP_PERF_EVENT] = "perf_event_open",
	};

	if ((unsigned int)op >= sizeof(names) / sizeof(*names))
		return NULL;
	return names[op];
}

PW_API int pw_access_parse(const char *list, unsigned int *out)
{
	static const struct {
		const char *name;
		unsigned int bits;
	} aliases[] = {
		{ "all", PW_ACCESS_ALL },
		{ "memory", MEMORY_RIGHTS },
		{ "signals", PW_ACCESS_TERMINATE | PW_ACCESS_SUSPEND_RESUME | PW_ACCESS_SIGNAL },
		{ "dup-handle", PW_ACCESS_DUP_HANDLE },
		{ "suspend", PW_ACCESS_SUSPEND_RESUME },
		{ "kill", PW_ACCESS_TERMINATE },
	};
	unsigned int bits = 0;
	const char *p = list;

	if (!list || !out)
		return -EINVAL;
	while (*p) {
		size_t len, i;
		bool found = false;

		p += strspn(p, " \t"); /* "terminate, debug" reads as it looks */
		len = strcspn(p, ",");
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;

		for (i = 0; i < sizeof(right_names) / sizeof(*right_names) && !found; i++)
			if (strlen(right_names[i]) == len && !strncmp(p, right_names[i], len)) {
				bits |= 1u << i;
				found = true;
			}
		for (i = 0; i < sizeof(aliases) / sizeof(*aliases) && !found; i++)
			if (strlen(aliases[i].name) == len && !strncmp(p, aliases[i].name, len)) {
				bits |= aliases[i].bits;
				found = true;
			}
		if (!found)
			return -EINVAL;
		p += len;
		p += strspn(p, " \t");
		if (*p == ',')
			p++;
	}
	if (!bits)
		return -EINVAL;
	*out = bits;
	return 0;
}

/* ------------------------------------------------------------- user side */

/* The host's view for m (monitor.c fills it; access never sees struct pw_monitor). */
static struct pw_access_host host_of(const struct pw_monitor *m)
{
	struct pw_access_host h;

	pw_monitor_access_host(m, &h);
	return h;
}

static struct pw_access_state *state(const struct pw_access_host *h)
{
	if (!*h->state)
		*h->state = calloc(1, sizeof(**h->state));
	return *h->state;
}

static int target_key(pid_t pid, const char *name, char out[PW_COMM_LEN])
{
	memset(out, 0, PW_COMM_LEN);
	if (pid < 0)
		return -EINVAL;
	if (pid > 0)
		return 0;
	if (!name || !*name)
		return -EINVAL;
	if (strlen(name) >= PW_COMM_LEN)
		return -ENAMETOOLONG;
	memcpy(out, name, strlen(name));
	return 0;
}

static struct target_entry *find_entry(struct pw_access_state *s, pid_t pid,
				       const char name[PW_COMM_LEN])
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].pid == pid && (pid || !memcmp(s->v[i].name, name, PW_COMM_LEN)))
			return &s->v[i];
	return NULL;
}

static struct target_entry *get_entry(struct pw_access_state *s, pid_t pid,
				      const char name[PW_COMM_LEN])
{
	struct target_entry *e = find_entry(s, pid, name);

	if (e)
		return e;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct target_entry *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->pidfd = -1;
	e->pid = pid;
	memcpy(e->name, name, PW_COMM_LEN);
	return e;
}

static void drop_entry_if_unused(struct pw_access_state *s, struct target_entry *e)
{
	if (e->watch || e->protect)
		return;
	if (e->pidfd >= 0)
		close(e->pidfd);
	*e = s->v[--s->n];
}

/* ------------------------------------------------------------ kernel side */

static int read_comm(pid_t pid, char comm[PW_COMM_LEN])
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	memset(comm, 0, PW_COMM_LEN);
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n >= PW_COMM_LEN)
		n = PW_COMM_LEN - 1;
	memcpy(comm, buf, n);
	return 0;
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Threads of a watched process go into access_threads; new ones the kernel adds. */
static void seed_threads(struct pw_access_state *s, pid_t pid)
{
	int fd = bpf_map__fd(s->skel->maps.access_threads);
	char path[64];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		__u32 tid, tgid = pid;

		if (!is_number(d->d_name))
			continue;
		tid = (__u32)strtoul(d->d_name, NULL, 10);
		if (tid != tgid)
			bpf_map_update_elem(fd, &tid, &tgid, BPF_ANY);
	}
	closedir(dir);
}

/*
 * The rights and flags that all entries give to one process (by pid and by
 * its name). A PID rule bound to another process that had this PID is not
 * this process's (start_ns: 0 when unknown, and then every rule counts).
 */
static void merged_for(const struct pw_access_state *s, pid_t pid, const char comm[PW_COMM_LEN],
		       uint64_t start_ns, struct pw_access_target_val *val)
{
	memset(val, 0, sizeof(*val));
	memcpy(val->comm, comm, PW_COMM_LEN);
	val->start_ns = start_ns;
	for (size_t i = 0; i < s->n; i++) {
		const struct target_entry *e = &s->v[i];
		__u32 bit;

		if (e->pid ? e->pid != pid : memcmp(e->name, comm, PW_COMM_LEN))
			continue;
		if (e->pid && e->protect && start_ns && e->rule.start_ns && e->rule.start_ns != start_ns)
			continue;
		bit = e->pid ? PW_TGT_BY_PID : PW_TGT_BY_NAME;
		val->flags |= bit;
		val->access |= e->watch;
		if (e->protect) {
			val->flags |= PW_TGT_PROTECTED;
			val->access |= PW_ACCESS_ALL;
		}
	}
}

/*
 * Run the task iterator (access.bpf.c, pw_access_resolve): with pid > 0 it
 * reports that process's exact start time (the process key's, which /proc
 * gives only in clock ticks) and refreshes the cgroup ancestry of its
 * access_targets entry; with seed, it records the exec names of running
 * processes. -ESRCH when no process has that PID.
 */
static int run_resolver(struct pw_access_state *s, pid_t pid, bool seed, uint64_t *start_ns)
{
	struct access_bpf__bss *b = s->skel->bss;
	char buf[64];
	ssize_t n;
	int fd, err = 0;

	if (!s->resolver)
		return -ENOTSUP;
	b->resolve_pid = pid > 0 ? (__u32)pid : 0;
	b->resolve_seed = seed;
	b->resolve_found = 0;
	b->resolve_start_ns = 0;
	fd = bpf_iter_create(bpf_link__fd(s->resolver));
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		err = -errno;
	close(fd);
	if (!err && pid > 0 && !b->resolve_found)
		err = -ESRCH;
	if (!err && start_ns)
		*start_ns = b->resolve_start_ns;
	b->resolve_pid = 0;
	b->resolve_seed = 0;
	return err;
}

/* Whether the process behind a pidfd has exited (the pidfd polls readable then). */
static bool pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

/* Make access_targets[pid] what the entries say about that process. */
static int sync_process(struct pw_access_state *s, pid_t pid)
{
	int fd = bpf_map__fd(s->skel->maps.access_targets);
	struct pw_access_target_val val;
	char comm[PW_COMM_LEN];
	uint64_t start_ns = 0, again = 0;
	__u32 key = pid;
	int err;

	if (read_comm(pid, comm)) {
		bpf_map_delete_elem(fd, &key);
		return -ESRCH;
	}
	merged_for(s, pid, comm, 0, &val);
	if (!val.flags) {
		bpf_map_delete_elem(fd, &key);
		return 0;
	}
	/*
	 * Protection needs the exact start time (one walk of the task list);
	 * watching alone goes without it (target_start_ns 0).
	 */
	if (val.flags & PW_TGT_PROTECTED) {
		err = run_resolver(s, pid, false, &start_ns);
		if (!err)
			merged_for(s, pid, comm, start_ns, &val);
		if (err || !val.flags) {
			bpf_map_delete_elem(fd, &key);
			return err;
		}
	}
	if (bpf_map_update_elem(fd, &key, &val, BPF_ANY))
		return -errno;
	seed_threads(s, pid);
	if (!(val.flags & PW_TGT_PROTECTED))
		return 0;
	/*
	 * Again, now that the entry exists: the iterator fills its cgroup
	 * ancestry, and from here on cgroup_attach_task keeps it current. A
	 * different start means the PID now names another process.
	 */
	err = run_resolver(s, pid, false, &again);
	if (!err && again != start_ns)
		err = -ESRCH;
	if (err)
		bpf_map_delete_elem(fd, &key);
	return err;
}

/* A tracer attached to any thread of the process (TracerPid in its status), or 0. */
static pid_t tracer_of(pid_t pid)
{
	char path[96], line[128];
	struct dirent *d;
	pid_t tracer = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while (!tracer && (d = readdir(dir))) {
		FILE *f;

		if (!is_number(d->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/status", pid, d->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "TracerPid:", 10)) {
				tracer = (pid_t)strtol(line + 10, NULL, 10);
				break;
			}
		fclose(f);
	}
	closedir(dir);
	return tracer;
}

/* After access_names changed: every running process with that name. */
static void sync_name_processes(struct pw_access_state *s, const char name[PW_COMM_LEN])
{
	struct dirent *d;
	DIR *dir = opendir("/proc");

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		char comm[PW_COMM_LEN];
		pid_t pid;

		if (!is_number(d->d_name))
			continue;
		pid = (pid_t)strtol(d->d_name, NULL, 10);
		if (read_comm(pid, comm) || memcmp(comm, name, PW_COMM_LEN))
			continue;
		sync_process(s, pid);
	}
	closedir(dir);
}

static void merged_name_template(const struct pw_access_state *s, const char name[PW_COMM_LEN],
				 struct pw_access_target_val *val)
{
	memset(val, 0, sizeof(*val));
	memcpy(val->comm, name, PW_COMM_LEN);
	for (size_t i = 0; i < s->n; i++) {
		const struct target_entry *e = &s->v[i];

		if (e->pid || memcmp(e->name, name, PW_COMM_LEN))
			continue;
		val->flags |= PW_TGT_BY_NAME;
		val->access |= e->watch;
		if (e->protect) {
			val->flags |= PW_TGT_PROTECTED;
			val->access |= PW_ACCESS_ALL;
		}
	}
}

/* Global switches derived from the entries; written last, so maps are filled first. */
static void sync_config(const struct pw_access_host *h)
{
	struct pw_access_state *s = (*h->state);
	struct pw_access_config *c = &s->skel->bss->acfg;
	unsigned int names = 0, protect_names = 0, deny_open = 0, mem = 0;
	unsigned int deny_mem = 0, deny_cgroup = 0, deny_dup = 0, exec_names = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct target_entry *e = &s->v[i];

		if (!e->pid) {
			names++;
			if (e->protect)
				protect_names++;
			if (e->protect && (e->rule.flags & PW_PROT_EXEC_NAME))
				exec_names++;
		}
		if (e->protect && (e->rule.deny & PW_ACCESS_OPEN_HANDLE))
			deny_open = 1;
		if (e->protect && (e->rule.deny & MEMORY_RIGHTS))
			deny_mem = 1;
		if (e->protect && (e->rule.deny & (PW_ACCESS_TERMINATE | PW_ACCESS_SUSPEND_RESUME)))
			deny_cgroup = 1;
		if (e->protect && (e->rule.deny & PW_ACCESS_DUP_HANDLE))
			deny_dup = 1;
		if ((e->watch & MEMORY_RIGHTS) || (e->protect && (e->rule.deny & MEMORY_RIGHTS)))
			mem = 1;
	}
	if (s->watch_all & MEMORY_RIGHTS)
		mem = 1;
	c->all_access = s->watch_all;
	c->watch_all = !!s->watch_all;
	c->n_names = names;
	c->n_protect_names = protect_names;
	c->deny_open = deny_open;
	c->deny_mem = deny_mem;
	c->deny_cgroup = deny_cgroup;
	c->deny_dup = deny_dup;
	c->n_exec_names = exec_names;
	c->proc_mem = mem;
	c->report = 0;
	if (h->events & PW_EVMASK(PW_EVENT_PROCESS_ACCESS))
		c->report |= 1u << PW_RAW_PROCESS_ACCESS;
	if (h->events & PW_EVMASK(PW_EVENT_THREAD_ACCESS))
		c->report |= 1u << PW_RAW_THREAD_ACCESS;
}

/* Push one entry (and everything derived from it) to the maps. */
static int sync_entry(const struct pw_access_host *h, pid_t pid, const char name[PW_COMM_LEN])
{
	struct pw_access_state *s = (*h->state);
	struct target_entry *e;
	int err = 0;

	if (!s || !s->skel)
		return 0;
	e = find_entry(s, pid, name);
	if (pid) {
		int fd = bpf_map__fd(s->skel->maps.protect_pids);
		__u32 key = pid;

		if (e && e->protect) {
			/*
			 * Bind the rule to the process the pidfd names: the start
			 * time found while that process is still alive is its own.
			 */
			if (!e->rule.start_ns) {
				uint64_t start_ns;

				err = run_resolver(s, pid, false, &start_ns);
				if (!err && pidfd_exited(e->pidfd))
					err = -ESRCH;
				if (err)
					return err;
				e->rule.start_ns = start_ns;
			}
			if (bpf_map_update_elem(fd, &key, &e->rule, BPF_ANY))
				return -errno;
		} else {
			bpf_map_delete_elem(fd, &key);
		}
		err = sync_process(s, pid);
		/* It exited meanwhile: the exit hook may have run before the rule was in. */
		if (!err && e && e->protect && pidfd_exited(e->pidfd))
			err = -ESRCH;
		if (err && e && e->protect)
			bpf_map_delete_elem(fd, &key);
	} else {
		int pfd = bpf_map__fd(s->skel->maps.protect_names);
		int nfd = bpf_map__fd(s->skel->maps.access_names);
		struct pw_access_target_val tmpl;

		if (e && e->protect) {
			if (bpf_map_update_elem(pfd, name, &e->rule, BPF_ANY))
				return -errno;
		} else {
			bpf_map_delete_elem(pfd, name);
		}
		merged_name_template(s, name, &tmpl);
		if (tmpl.flags) {
			if (bpf_map_update_elem(nfd, name, &tmpl, BPF_ANY))
				return -errno;
		} else {
			bpf_map_delete_elem(nfd, name);
		}
		sync_config(h); /* n_names before the scan, so forks during it are caught */
		if (e && e->protect && (e->rule.flags & PW_PROT_EXEC_NAME))
			run_resolver(s, 0, true, NULL); /* exec names of processes exec'd before */
		sync_name_processes(s, name);
	}
	sync_config(h);
	return err;
}

/* Every key of a hash map goes (keys of at most PW_COMM_LEN bytes). */
static void clear_map(int fd)
{
	char key[PW_COMM_LEN];

	while (!bpf_map_get_next_key(fd, NULL, key))
		if (bpf_map_delete_elem(fd, key))
			break;
}

static int sync_orig_rules(const struct pw_access_host *h)
{
	struct pw_access_state *s = (*h->state);
	int pid_fd, uid_fd;
	__u32 kinds = 0, key;

	if (!s || !s->skel)
		return 0;
	pid_fd = bpf_map__fd(s->skel->maps.orig_pids);
	uid_fd = bpf_map__fd(s->skel->maps.orig_uids);
	s->skel->bss->acfg.orig_kinds = 0; /* report everything while the maps change */
	clear_map(pid_fd);
	clear_map(uid_fd);
	for (size_t i = 0; i < s->orig.n; i++) {
		const struct pw_rule_entry *e = &s->orig.v[i];
		__u8 verdict = e->action == PW_RULE_INCLUDE ? PW_VERDICT_INCLUDE : PW_VERDICT_EXCLUDE;
		int fd = e->match == PW_MATCH_PID ? pid_fd : uid_fd;
		__u8 old = 0;

		key = e->id;
		bpf_map_lookup_elem(fd, &key, &old);
		verdict |= old;
		if (bpf_map_update_elem(fd, &key, &verdict, BPF_ANY))
			return -errno;
		kinds |= e->match == PW_MATCH_PID ? PW_RK_PID : PW_RK_UID;
		if (e->action == PW_RULE_INCLUDE)
			kinds |= PW_RK_HAS_INCLUDE;
	}
	s->skel->bss->acfg.orig_kinds = kinds;
	return 0;
}

/* libbpf resolves syscalls/ tracepoints through tracefs; mount it if nobody did. */
static bool syscall_tracepoints_usable(const struct pw_access_host *h)
{
	static const char *const ids[] = {
		"/sys/kernel/tracing/events/syscalls/sys_enter_kill/id",
		"/sys/kernel/debug/tracing/events/syscalls/sys_enter_kill/id",
	};

	for (size_t i = 0; i < 2; i++)
		if (!access(ids[i], R_OK))
			return true;
	if (!access("/sys/kernel/tracing", F_OK) &&
	    !mount("tracefs", "/sys/kernel/tracing", "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		   NULL)) {
		pw_log(h->log, PW_LOG_INFO,
		       "mounted tracefs on /sys/kernel/tracing for the syscall tracepoints");
		if (!access(ids[0], R_OK))
			return true;
	}
	pw_log(h->log, PW_LOG_WARN,
	       "syscall tracepoints unavailable (no tracefs): access operations are observed at "
	       "the raw sys_enter/sys_exit tracepoints, which run for every syscall");
	return false;
}

bool pw_access_wanted(const struct pw_monitor *m)
{
	const struct pw_access_host hh = host_of(m), *h = &hh;
	const struct pw_access_state *s = *h->state;

	return (h->events & PW_EVMASK_ACCESS) || (s && (s->n || s->watch_all || s->orig.n));
}

static void access_stop(const struct pw_access_host *h);

/* Load and attach; the monitor's ring buffer (h->ring_fd) must exist. */
static int access_start(const struct pw_access_host *h)
{
	struct pw_access_state *s = state(h);
	bool lsm = pw_features() & PW_FEAT_BPF_LSM;
	struct access_bpf *skel;
	struct bpf_program *prog;
	bool tracepoints;
	int err;

	if (!s)
		return -ENOMEM;
	if (s->skel)
		return 0;
	tracepoints = syscall_tracepoints_usable(h);
	pw_fork_lock(); /* a fork() elsewhere sees all the descriptors or none */
	pw_log_libbpf_begin(h->log);
	skel = access_bpf__open();
	if (!skel) {
		err = -errno;
		goto out;
	}
	s->skel = skel;
	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);

		if (!strncmp(sec, "tracepoint/", 11))
			bpf_program__set_autoload(prog, tracepoints);
		else if (!strncmp(sec, "raw_tp/", 7))
			bpf_program__set_autoload(prog, !tracepoints);
		else if (!strncmp(sec, "lsm/", 4))
			bpf_program__set_autoload(prog, lsm);
	}
	bpf_program__set_autoattach(skel->progs.pw_access_resolve, false); /* attached below */
	/* One ring buffer for every record: the lifecycle object's. */
	bpf_map__set_max_entries(skel->maps.events, h->ring_bytes);
	err = bpf_map__reuse_fd(skel->maps.events, h->ring_fd);
	if (err)
		goto out;
	err = access_bpf__load(skel);
	if (err) {
		pw_log(h->log, PW_LOG_ERROR, "loading the access programs failed: %s",
		       pw_strerror(err));
		err = pw_bpf_load_error(err);
		goto out;
	}
	/* Before the entries are synced: binding PID rules needs it. */
	s->resolver = bpf_program__attach_iter(skel->progs.pw_access_resolve, NULL);
	if (!s->resolver) {
		err = -errno;
		pw_log(h->log, PW_LOG_ERROR, "attaching the task iterator failed: %s",
		       pw_strerror(err));
		goto out;
	}
	for (size_t i = 0; i < s->n; i++) {
		err = sync_entry(h, s->v[i].pid, s->v[i].name);
		if (err && err != -ESRCH)
			goto out;
	}
	err = sync_orig_rules(h);
	if (err)
		goto out;
	sync_config(h);
	err = access_bpf__attach(skel);
	if (err) {
		pw_log(h->log, PW_LOG_ERROR, "attaching the access programs failed: %s",
		       pw_strerror(err));
		err = pw_bpf_load_error(err);
		goto out;
	}
	pw_log(h->log, PW_LOG_INFO, "access operations: %s, enforcement %s",
	       tracepoints ? "syscall tracepoints" : "raw syscall tracepoints",
	       lsm ? "by BPF LSM" : "unavailable (no BPF LSM)");
out:
	pw_log_libbpf_end();
	if (err)
		access_stop(h);
	pw_fork_unlock();
	return err;
}

int pw_access_start(struct pw_monitor *m)
{
	const struct pw_access_host h = host_of(m);

	return access_start(&h);
}

static void access_stop(const struct pw_access_host *h)
{
	struct pw_access_state *s = *h->state;

	if (!s)
		return;
	pw_fork_lock();
	/*
	 * A child that no fork handler ran for (raw clone(), see "Forked
	 * children" in procward.h) may keep the programs alive past this: they
	 * are left with no rule to enforce and nothing to report.
	 */
	if (s->skel && s->skel->bss) {
		memset(&s->skel->bss->acfg, 0, sizeof(s->skel->bss->acfg));
		clear_map(bpf_map__fd(s->skel->maps.protect_pids));
		clear_map(bpf_map__fd(s->skel->maps.protect_names));
	}
	bpf_link__destroy(s->resolver);
	s->resolver = NULL;
	access_bpf__destroy(s->skel);
	s->skel = NULL;
	pw_fork_unlock();
}

/* monitor.c's fork hook: the access object's descriptors leave the child too. */
void pw_access_forget_in_child(struct pw_monitor *m)
{
	const struct pw_access_host h = host_of(m);
	struct pw_access_state *s = *h.state;

	if (!s || !s->skel)
		return;
	pw_fork_forget_link(s->resolver);
	{
		struct bpf_link **links = (struct bpf_link **)&s->skel->links;

		for (size_t i = 0; i < sizeof(s->skel->links) / sizeof(*links); i++)
			pw_fork_forget_link(links[i]);
	}
	pw_fork_forget_bpf_object(s->skel->obj);
}

void pw_access_stop(struct pw_monitor *m)
{
	const struct pw_access_host h = host_of(m);

	access_stop(&h);
}

void pw_access_free(struct pw_monitor *m)
{
	const struct pw_access_host hh = host_of(m), *h = &hh;

	if (!(*h->state))
		return;
	access_stop(h);
	for (size_t i = 0; i < (*h->state)->n; i++)
		if ((*h->state)->v[i].pidfd >= 0)
			close((*h->state)->v[i].pidfd);
	free((*h->state)->v);
	pw_rules_free(&(*h->state)->orig);
	free((*h->state));
	(*h->state) = NULL;
}

uint64_t pw_access_lost(const struct pw_monitor *m)
{
	const struct pw_access_host hh = host_of(m), *h = &hh;
	uint64_t total = 0;

	if (!(*h->state) || !(*h->state)->skel)
		return 0;
	for (int i = 0; i < PW_LOST_SLOTS; i++)
		total += __atomic_load_n(&(*h->state)->skel->bss->access_lost[i], __ATOMIC_RELAXED);
	return total;
}

uint64_t pw_access_filtered(const struct pw_monitor *m)
{
	const struct pw_access_host hh = host_of(m), *h = &hh;
	int ncpus = libbpf_num_possible_cpus();
	uint64_t total = 0;
	__u32 zero = 0;

	if (!(*h->state) || !(*h->state)->skel || ncpus <= 0)
		return 0;
	{
		__u64 per_cpu[ncpus];

		if (!bpf_map_lookup_elem(bpf_map__fd((*h->state)->skel->maps.access_filtered), &zero,
					 per_cpu))
			for (int i = 0; i < ncpus; i++)
				total += per_cpu[i];
	}
	return total;
}

/* Load the programs on first use after start (before start, pw_monitor_start does). */
static int ensure_loaded(const struct pw_access_host *h)
{
	if (!h->started || ((*h->state) && (*h->state)->skel))
		return 0;
	return access_start(h);
}

/* -------------------------------------------------------------------- API */

PW_API int pw_monitor_watch_access(struct pw_monitor *m, const struct pw_access_target *t)
{
	struct pw_access_state *s;
	struct target_entry *e;
	char name[PW_COMM_LEN];
	unsigned int old;
	int err;

	if (!m || !PW_OPTS_HAS(t, access))
		return -EINVAL;
	if (!PW_OPTS_VALID(t, pw_access_target))
		return -EOPNOTSUPP;
	const struct pw_access_host hh = host_of(m), *h = &hh;

	err = target_key(t->pid, t->name, name);
	if (err)
		return err;
	if (t->access & ~PW_ACCESS_ALL)
		return -EINVAL;
	if (t->pid > 0 && kill(t->pid, 0) && errno == ESRCH)
		return -ESRCH;
	s = state(h);
	e = s ? get_entry(s, t->pid, name) : NULL;
	if (!e)
		return -ENOMEM;
	old = e->watch;
	e->watch = t->access ? t->access : PW_ACCESS_ALL;
	err = ensure_loaded(h);
	if (!err)
		err = sync_entry(h, t->pid, name);
	if (err) {
		e->watch = old;
		drop_entry_if_unused(s, e);
	}
	return err;
}

/*
 * Unwatch or unprotect: clear that part of the entry for pid/name, drop the
 * entry when nothing is left, and push the result. -ENOENT if it was not set.
 */
static int remove_target(const struct pw_access_host *h, pid_t pid, const char *name_arg, bool protection)
{
	struct target_entry *e;
	char name[PW_COMM_LEN];
	int err;

	err = target_key(pid, name_arg, name);
	if (err)
		return err;
	e = (*h->state) ? find_entry((*h->state), pid, name) : NULL;
	if (!e || !(protection ? e->protect : e->watch))
		return -ENOENT;
	if (protection) {
		e->protect = false;
		memset(&e->rule, 0, sizeof(e->rule));
		if (e->pidfd >= 0) {
			close(e->pidfd);
			e->pidfd = -1;
		}
	} else {
		e->watch = 0;
	}
	drop_entry_if_unused((*h->state), e);
	err = sync_entry(h, pid, name);
	return err == -ESRCH ? 0 : err; /* the process is gone: nothing left to undo */
}

PW_API int pw_monitor_unwatch_access(struct pw_monitor *m, const struct pw_access_target *t)
{
	if (!m || !PW_OPTS_HAS(t, name))
		return -EINVAL;
	if (!PW_OPTS_VALID(t, pw_access_target))
		return -EOPNOTSUPP;
	const struct pw_access_host hh = host_of(m), *h = &hh;

	return remove_target(h, t->pid, t->name, false);
}

PW_API int pw_monitor_watch_access_all(struct pw_monitor *m, unsigned int access)
{
	struct pw_access_state *s;
	int err;

	if (!m || (access & ~PW_ACCESS_ALL))
		return -EINVAL;
	const struct pw_access_host hh = host_of(m), *h = &hh;

	s = state(h);
	if (!s)
		return -ENOMEM;
	s->watch_all = access;
	err = access ? ensure_loaded(h) : 0;
	if (!err && s->skel)
		sync_config(h);
	return err;
}

PW_API int pw_monitor_add_access_originator_rule(struct pw_monitor *m, const struct pw_rule *rule)
{
	struct pw_access_state *s;
	struct pw_rule_entry e;
	int err;

	if (!m)
		return -EINVAL;
	const struct pw_access_host hh = host_of(m), *h = &hh;

	err = pw_rule_validate(rule, &e);
	if (err)
		return err;
	if (e.match != PW_MATCH_PID && e.match != PW_MATCH_UID)
		return -EINVAL;
	s = state(h);
	if (!s)
		return -ENOMEM;
	err = pw_rules_add(&s->orig, &e);
	if (err)
		return err;
	err = sync_orig_rules(h);
	if (err)
		pw_rules_remove(&s->orig, &e);
	return err;
}

PW_API int pw_monitor_clear_access_originator_rules(struct pw_monitor *m)
{
	if (!m)
		return -EINVAL;
	const struct pw_access_host hh = host_of(m), *h = &hh;

	if (!(*h->state))
		return 0;
	pw_rules_clear(&(*h->state)->orig);
	return sync_orig_rules(h);
}

PW_API int pw_monitor_protect(struct pw_monitor *m, const struct pw_protect_rule *rule)
{
	struct pw_access_state *s;
	struct target_entry *e, saved;
	char name[PW_COMM_LEN];
	int err, pidfd = -1;
	bool existed;
	pid_t tracer;

	if (!m || !PW_OPTS_HAS(rule, except_pid))
		return -EINVAL;
	if (!PW_OPTS_VALID(rule, pw_protect_rule))
		return -EOPNOTSUPP;
	const struct pw_access_host hh = host_of(m), *h = &hh;

	/* Never a silent no-op: without BPF LSM nothing could enforce the rule. */
	if (!(pw_features() & PW_FEAT_BPF_LSM)) {
		pw_log(h->log, PW_LOG_ERROR,
		       "protection rules need BPF LSM, which this kernel does not allow "
		       "(lsm programs cannot load or attach): nothing is enforced");
		return -PW_ERR_ENFORCE_UNAVAILABLE;
	}
	err = target_key(rule->pid, rule->name, name);
	if (err)
		return err;
	if (!rule->deny || (rule->deny & ~PW_ACCESS_ALL) ||
	    (rule->flags & ~(PW_PROTECT_EXCEPT_UID | PW_PROTECT_EXCEPT_PID | PW_PROTECT_EXEC_NAME)) ||
	    (rule->pid > 0 && (rule->flags & PW_PROTECT_EXEC_NAME)))
		return -EINVAL;
	if (rule->pid > 0) {
		/* The pidfd names this process for good, whatever later gets its PID. */
		pidfd = (int)syscall(SYS_pidfd_open, rule->pid, 0);
		if (pidfd < 0)
			return errno == ESRCH ? -ESRCH : -errno;
		tracer = tracer_of(rule->pid);
		if (tracer) {
			pw_log(h->log, PW_LOG_ERROR,
			       "process %d is traced by %d: a tracer attached before the rule keeps "
			       "full control over it, so it cannot be protected",
			       (int)rule->pid, (int)tracer);
			close(pidfd);
			return -EBUSY;
		}
	}
	s = state(h);
	if (!s) {
		if (pidfd >= 0)
			close(pidfd);
		return -ENOMEM;
	}
	existed = find_entry(s, rule->pid, name) != NULL;
	e = get_entry(s, rule->pid, name);
	if (!e) {
		if (pidfd >= 0)
			close(pidfd);
		return -ENOMEM;
	}
	saved = *e;
	e->protect = true;
	e->pidfd = pidfd;
	memset(&e->rule, 0, sizeof(e->rule));
	e->rule.deny = rule->deny;
	if (rule->flags & PW_PROTECT_EXCEPT_UID) {
		e->rule.flags |= PW_PROT_EXCEPT_UID;
		e->rule.except_uid = rule->except_uid;
	}
	if (rule->flags & PW_PROTECT_EXCEPT_PID) {
		e->rule.flags |= PW_PROT_EXCEPT_PID;
		e->rule.except_pid = rule->except_pid > 0 ? (__u32)rule->except_pid : (__u32)getpid();
	}
	if (rule->flags & PW_PROTECT_EXEC_NAME)
		e->rule.flags |= PW_PROT_EXEC_NAME;
	err = ensure_loaded(h);
	if (!err)
		err = sync_entry(h, rule->pid, name);
	/* Attached between the check and the rule (later attaches are denied). */
	if (!err && rule->pid > 0 && s->skel && (tracer = tracer_of(rule->pid))) {
		pw_log(h->log, PW_LOG_ERROR, "process %d got tracer %d while being protected",
		       (int)rule->pid, (int)tracer);
		err = -EBUSY;
	}
	if (err) {
		if (pidfd >= 0)
			close(pidfd);
		*e = saved;
		if (!existed) {
			e->protect = false;
			drop_entry_if_unused(s, e);
		}
		sync_entry(h, rule->pid, name);
		return err;
	}
	if (saved.pidfd >= 0)
		close(saved.pidfd);
	return 0;
}

PW_API int pw_monitor_unprotect(struct pw_monitor *m, const struct pw_protect_rule *rule)
{
	if (!m || !PW_OPTS_HAS(rule, name))
		return -EINVAL;
	if (!PW_OPTS_VALID(rule, pw_protect_rule))
		return -EOPNOTSUPP;
	const struct pw_access_host hh = host_of(m), *h = &hh;

	return remove_target(h, rule->pid, rule->name, true);
}
