// SPDX-License-Identifier: MIT
/*
 * test_access.c - access operations against the real kernel: a target
 * process this test forks is ptraced, read, signalled and opened, and each
 * operation's event is checked. Enforcement runs where BPF LSM works (the
 * VM matrix); elsewhere the same binary checks the documented refusal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/* linux/sched.h's, which clashes with glibc's sched.h */
struct pw_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

static volatile long secret = 0x5ec12e7;

/* ------------------------------------------------------------ the target */

struct target {
	pid_t pid, thread_tid;
	int ctl;       /* write end: a byte tells the target to rename itself; 'q' or EOF: exit */
	int ack;       /* read end: a byte after each rename */
	int target_fd; /* a pipe fd open in the target (its end of ctl) */
};

/* Read one byte from fd within timeout_ms: 1, or 0 on timeout/EOF. */
static int read_byte(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, timeout_ms) != 1)
		return 0;
	return read(fd, &c, 1) == 1;
}

/* waitpid() with a deadline (poll on a pidfd, no sleeping): the status, or -1 if still alive. */
static int wait_exit(pid_t pid, int timeout_ms)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), status = -1;
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	assert_true(pidfd >= 0);
	if (poll(&p, 1, timeout_ms) == 1)
		assert_int_equal(waitpid(pid, &status, 0), pid);
	close(pidfd);
	return status;
}

static bool still_alive(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void *target_thread(void *arg)
{
	int fd = *(int *)arg;
	pid_t tid = (pid_t)syscall(SYS_gettid);

	(void)!write(fd, &tid, sizeof(tid));
	for (;;)
		pause();
	return NULL;
}

/* A process with a second thread; it names itself `name`, and `rename` on request. */
static struct target spawn_target(const char *name, const char *rename)
{
	int info[2], ctl[2];
	struct target t = { 0 };

	assert_int_equal(pipe(info), 0);
	assert_int_equal(pipe(ctl), 0);
	t.pid = fork();
	assert_true(t.pid >= 0);
	if (t.pid == 0) {
		pthread_t th;
		char c;

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed assertion must not leave it behind */
		close(info[0]);
		close(ctl[1]);
		signal(SIGUSR1, on_usr1);
		prctl(PR_SET_NAME, name);
		if (pthread_create(&th, NULL, target_thread, &info[1]))
			_exit(3);
		while (read(ctl[0], &c, 1) == 1) {
			if (c == 'q')
				break;
			if (rename)
				prctl(PR_SET_NAME, rename);
			(void)!write(info[1], "r", 1); /* renamed: the kernel's maps already know */
		}
		_exit(0);
	}
	close(info[1]);
	t.target_fd = ctl[0];
	close(ctl[0]);
	assert_int_equal(read(info[0], &t.thread_tid, sizeof(t.thread_tid)), sizeof(t.thread_tid));
	t.ack = info[0];
	t.ctl = ctl[1];
	return t;
}

static void end_target(struct target *t)
{
	kill(t->pid, SIGKILL);
	wait_status(t->pid);
	close(t->ctl);
	close(t->ack);
}

/* ------------------------------------------------------- event recording */

struct acc {
	enum pw_event_type type;
	pid_t pid, tid, target_pid, target_tid;
	uid_t uid;
	unsigned int access;
	enum pw_access_op op;
	int signal;
	int64_t result;
	bool denied;
	uint64_t detail;
	char name[16], target_name[16];
};

struct recorder {
	struct acc v[4096];
	size_t n;
	/* optional: called for each access event (rule changes from a handler) */
	void (*hook)(struct pw_monitor *m, const struct acc *a, void *arg);
	void *hook_arg;
};

static int record(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	struct recorder *r = userdata;
	enum pw_event_type type = pw_event_type(ev);
	struct acc *a;

	if (type != PW_EVENT_PROCESS_ACCESS && type != PW_EVENT_THREAD_ACCESS)
		return 0;
	assert_true(r->n < sizeof(r->v) / sizeof(*r->v));
	a = &r->v[r->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->pid = pw_event_pid(ev);
	a->tid = pw_event_tid(ev);
	a->uid = pw_event_token(ev)->uid;
	a->target_pid = pw_event_target_pid(ev);
	a->target_tid = pw_event_target_tid(ev);
	a->access = pw_event_access(ev);
	a->op = pw_event_access_op(ev);
	a->signal = pw_event_signal(ev);
	a->result = pw_event_access_result(ev);
	a->denied = pw_event_access_denied(ev);
	a->detail = pw_event_access_detail(ev);
	snprintf(a->name, sizeof(a->name), "%s", pw_event_name(ev));
	snprintf(a->target_name, sizeof(a->target_name), "%s",
		 pw_event_target_name(ev) ? pw_event_target_name(ev) : "");
	assert_non_null(pw_event_type_name(type));
	assert_non_null(pw_access_op_name(a->op));
	if (r->hook)
		r->hook(m, a, r->hook_arg);
	return 0;
}

static struct pw_monitor *access_monitor(struct recorder *r)
{
	PW_OPTS(pw_monitor_opts, o, .events = PW_EVMASK_ACCESS, .on_event = record, .userdata = r);
	struct pw_monitor *m = NULL;

	assert_int_equal(pw_monitor_new(&o, &m), 0);
	return m;
}

/* access_monitor() into a cleared r (a test's static recorder, reused by the next test), started. */
static struct pw_monitor *started_access_monitor(struct recorder *r)
{
	struct pw_monitor *m;

	memset(r, 0, sizeof(*r));
	m = access_monitor(r);
	assert_int_equal(pw_monitor_start(m), 0);
	return m;
}

static void watch_pid(struct pw_monitor *m, pid_t pid)
{
	PW_OPTS(pw_access_target, t, .pid = pid);

	assert_int_equal(pw_monitor_watch_access(m, &t), 0);
}

/* Pump until an event of `op` on `target` arrives. */
static const struct acc *wait_op(struct pw_monitor *m, struct recorder *r, enum pw_access_op op,
				 pid_t target, int timeout_ms)
{
	size_t seen = 0;

	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		for (; seen < r->n; seen++)
			if (r->v[seen].op == op && r->v[seen].target_pid == target)
				return &r->v[seen];
		int n = pw_monitor_dispatch(m, 50);

		assert_true(n >= 0 || n == -EINTR);
	}
	return NULL;
}

static size_t count_target(const struct recorder *r, pid_t target)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->v[i].target_pid == target;
	return n;
}

static void check_originator(const struct acc *a)
{
	assert_int_equal(a->pid, getpid());
	assert_int_equal(a->tid, (pid_t)syscall(SYS_gettid));
	assert_int_equal(a->uid, getuid());
}

/* wait_op() within 3 s an event of `op` on `target`, made by this thread: it must come. */
static const struct acc *expect_op(struct pw_monitor *m, struct recorder *r, enum pw_access_op op,
				   pid_t target)
{
	const struct acc *a = wait_op(m, r, op, target, 3000);

	assert_non_null(a);
	check_originator(a);
	return a;
}

/* a (non-NULL) is a thread access: to the thread tid, not to its whole process. */
static const struct acc *expect_thread_access(const struct acc *a, pid_t tid)
{
	assert_non_null(a);
	assert_int_equal(a->type, PW_EVENT_THREAD_ACCESS);
	assert_int_equal(a->target_tid, tid);
	return a;
}

/* ---------------------------------------------------------- the operations */

static int op_ptrace_attach(pid_t tid)
{
	int status;

	if (ptrace(PTRACE_ATTACH, tid, 0, 0))
		return -errno;
	waitpid(tid, &status, __WALL);
	ptrace(PTRACE_DETACH, tid, 0, 0);
	return 0;
}

static long op_vm_readv(pid_t pid)
{
	long value = 0;
	struct iovec local = { &value, sizeof(value) }, remote = { (void *)&secret, sizeof(value) };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	assert_int_equal(value, 0x5ec12e7);
	return n;
}

static int op_proc_mem_read(pid_t pid)
{
	char path[64];
	long value = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	assert_int_equal(pread(fd, &value, sizeof(value), (off_t)(uintptr_t)&secret), sizeof(value));
	assert_int_equal(value, 0x5ec12e7);
	close(fd);
	return 0;
}

static int op_kill(pid_t pid, int sig)
{
	return kill(pid, sig) ? -errno : 0;
}

/* SIGUSR1 to pid, then 200 ms of events: the accesses to it recorded so far. */
static size_t usr1_then_count(struct pw_monitor *m, struct recorder *r, pid_t pid)
{
	assert_int_equal(op_kill(pid, SIGUSR1), 0);
	pump(m, 200);
	return count_target(r, pid);
}

static int op_tgkill(pid_t pid, pid_t tid, int sig)
{
	return syscall(SYS_tgkill, pid, tid, sig) ? -errno : 0;
}

static int op_pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int op_pidfd_getfd(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), fd, err = 0;

	assert_true(pidfd >= 0);
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, 1, 0);
	if (fd < 0)
		err = -errno;
	else
		close(fd);
	close(pidfd);
	return err;
}

/* -------------------------------------------------------------- observation */

static void events_for_each_operation(void **state)
{
	static struct recorder r;
	struct pw_monitor *m;
	struct target t = spawn_target("pwacc-target", NULL), other = spawn_target("pwacc-other", NULL);
	const struct acc *a;
	int pidfd, fd;

	(void)state;
	memset(&r, 0, sizeof(r));
	m = access_monitor(&r);
	watch_pid(m, t.pid);
	assert_int_equal(pw_monitor_start(m), 0);

	/* ptrace attach to the process, then to its second thread */
	assert_int_equal(op_ptrace_attach(t.pid), 0);
	a = expect_op(m, &r, PW_ACCESS_OP_PTRACE, t.pid);
	assert_int_equal(a->type, PW_EVENT_PROCESS_ACCESS);
	assert_int_equal(a->target_tid, t.pid);
	assert_int_equal(a->access, PW_ACCESS_DEBUG);
	assert_int_equal(a->detail, PTRACE_ATTACH);
	assert_int_equal(a->result, 0);
	assert_false(a->denied);
	assert_string_equal(a->target_name, "pwacc-target");
	r.n = 0;
	assert_int_equal(op_ptrace_attach(t.thread_tid), 0);
	expect_thread_access(wait_op(m, &r, PW_ACCESS_OP_PTRACE, t.pid, 3000), t.thread_tid);

	/* process_vm_readv */
	assert_int_equal(op_vm_readv(t.pid), sizeof(long));
	a = expect_op(m, &r, PW_ACCESS_OP_PROCESS_VM_READV, t.pid);
	assert_int_equal(a->type, PW_EVENT_PROCESS_ACCESS);
	assert_int_equal(a->access, PW_ACCESS_READ_MEMORY);
	assert_int_equal(a->result, sizeof(long));

	/* /proc/PID/mem read */
	assert_int_equal(op_proc_mem_read(t.pid), 0);
	a = expect_op(m, &r, PW_ACCESS_OP_PROC_MEM_OPEN, t.pid);
	assert_int_equal(a->access, PW_ACCESS_READ_MEMORY);
	assert_true(a->result >= 0);
	assert_int_equal(a->detail & O_ACCMODE, O_RDONLY);

	/* tgkill to the second thread: a thread access */
	assert_int_equal(op_tgkill(t.pid, t.thread_tid, SIGUSR1), 0);
	a = expect_thread_access(expect_op(m, &r, PW_ACCESS_OP_TGKILL, t.pid), t.thread_tid);
	assert_int_equal(a->access, PW_ACCESS_SIGNAL);
	assert_int_equal(a->signal, SIGUSR1);
	assert_int_equal(a->result, 0);

	/* tkill names the thread only: resolved to its process in the kernel */
	assert_int_equal(syscall(SYS_tkill, t.thread_tid, SIGUSR1), 0);
	expect_thread_access(wait_op(m, &r, PW_ACCESS_OP_TKILL, t.pid, 3000), t.thread_tid);

	/* pidfd_open, pidfd_getfd, pidfd_send_signal */
	pidfd = (int)syscall(SYS_pidfd_open, t.pid, 0);
	assert_true(pidfd >= 0);
	a = expect_op(m, &r, PW_ACCESS_OP_PIDFD_OPEN, t.pid);
	assert_int_equal(a->access, PW_ACCESS_OPEN_HANDLE);
	assert_int_equal(a->result, pidfd);
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, 1, 0);
	assert_true(fd >= 0);
	a = expect_op(m, &r, PW_ACCESS_OP_PIDFD_GETFD, t.pid);
	assert_int_equal(a->access, PW_ACCESS_DUP_HANDLE);
	assert_int_equal(a->detail, 1);
	assert_int_equal(a->result, fd);
	close(fd);
	assert_int_equal(syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0), 0);
	a = wait_op(m, &r, PW_ACCESS_OP_PIDFD_SEND_SIGNAL, t.pid, 3000);
	assert_non_null(a);
	assert_int_equal(a->signal, SIGUSR1);
	close(pidfd);

	/* a failing call reports its errno */
	assert_int_equal(op_kill(t.pid, 999), -EINVAL);
	a = wait_op(m, &r, PW_ACCESS_OP_KILL, t.pid, 3000);
	assert_non_null(a);
	assert_int_equal(a->result, -EINVAL);
	r.n = 0;

	/* kill SIGTERM: terminate; the target dies of it */
	assert_int_equal(op_kill(t.pid, SIGTERM), 0);
	a = expect_op(m, &r, PW_ACCESS_OP_KILL, t.pid);
	assert_int_equal(a->type, PW_EVENT_PROCESS_ACCESS);
	assert_int_equal(a->access, PW_ACCESS_TERMINATE);
	assert_int_equal(a->signal, SIGTERM);
	assert_int_equal(a->result, 0);
	assert_true(WIFSIGNALED(wait_status(t.pid)));

	/* the unwatched process: nothing, whatever is done to it */
	assert_int_equal(op_kill(other.pid, SIGUSR1), 0);
	assert_int_equal(op_vm_readv(other.pid), sizeof(long));
	assert_int_equal(op_pidfd_open(other.pid), 0);
	pump(m, 300);
	assert_int_equal(count_target(&r, other.pid), 0);

	pw_monitor_free(m);
	close(t.ctl);
	close(t.ack);
	end_target(&other);
}

/* A name follows a process that renames itself to it; originator rules filter. */
static void name_watch_and_originator_filter(void **state)
{
	static struct recorder r;
	PW_OPTS(pw_access_target, byname, .name = "pwacc-named", .access = PW_ACCESS_SIGNAL);
	PW_OPTS(pw_rule, self, .action = PW_RULE_EXCLUDE, .match = PW_MATCH_PID, .id = getpid());
	struct pw_monitor_stats stats = { .sz = sizeof(stats) };
	struct target t = spawn_target("pwacc-before", "pwacc-named");
	struct pw_monitor *m;
	const struct acc *a;

	(void)state;
	memset(&r, 0, sizeof(r));
	m = access_monitor(&r);
	assert_int_equal(pw_monitor_watch_access(m, &byname), 0);
	assert_int_equal(pw_monitor_start(m), 0);

	assert_int_equal(op_kill(t.pid, SIGUSR1), 0); /* not yet named */
	assert_int_equal(write(t.ctl, "r", 1), 1);
	assert_int_equal(read_byte(t.ack, 3000), 1); /* renamed (task_rename ran in that prctl) */
	assert_int_equal(op_kill(t.pid, SIGUSR1), 0);
	assert_int_equal(op_kill(t.pid, SIGSTOP), 0); /* suspend: not a watched right */
	assert_int_equal(op_kill(t.pid, SIGCONT), 0);
	a = wait_op(m, &r, PW_ACCESS_OP_KILL, t.pid, 3000);
	assert_non_null(a);
	assert_string_equal(a->target_name, "pwacc-named");
	assert_int_equal(a->access, PW_ACCESS_SIGNAL);
	pump(m, 200);
	assert_int_equal(count_target(&r, t.pid), 1);

	/* originator rule: our own operations are no longer reported, and counted */
	assert_int_equal(pw_monitor_add_access_originator_rule(m, &self), 0);
	assert_int_equal(usr1_then_count(m, &r, t.pid), 1);
	assert_int_equal(pw_monitor_stats(m, &stats), 0);
	assert_true(stats.events_filtered >= 1);
	assert_int_equal(stats.events_lost, 0);
	assert_int_equal(pw_monitor_clear_access_originator_rules(m), 0);
	assert_int_equal(usr1_then_count(m, &r, t.pid), 2);

	/* unwatching ends it */
	assert_int_equal(pw_monitor_unwatch_access(m, &byname), 0);
	assert_int_equal(usr1_then_count(m, &r, t.pid), 2);
	pw_monitor_free(m);
	end_target(&t);
}

static void parse_and_names(void **state)
{
	unsigned int bits = 0;

	(void)state;
	assert_int_equal(pw_access_parse("terminate,debug,write-memory", &bits), 0);
	assert_int_equal(bits, PW_ACCESS_TERMINATE | PW_ACCESS_DEBUG | PW_ACCESS_WRITE_MEMORY);
	assert_int_equal(pw_access_parse("all", &bits), 0);
	assert_int_equal(bits, PW_ACCESS_ALL);
	assert_int_equal(pw_access_parse(" terminate , debug\t", &bits), 0);
	assert_int_equal(bits, PW_ACCESS_TERMINATE | PW_ACCESS_DEBUG);
	assert_int_equal(pw_access_parse("kill,suspend,dup-handle", &bits), 0);
	assert_int_equal(bits, PW_ACCESS_TERMINATE | PW_ACCESS_SUSPEND_RESUME | PW_ACCESS_DUP_HANDLE);
	assert_int_equal(pw_access_parse(" , ", &bits), -EINVAL);
	assert_int_equal(pw_access_parse("terminate,bogus", &bits), -EINVAL);
	assert_int_equal(pw_access_parse("", &bits), -EINVAL);
	assert_string_equal(pw_access_name(PW_ACCESS_DUP_HANDLE), "duplicate-handle");
	assert_null(pw_access_name(3));
	assert_string_equal(pw_access_op_name(PW_ACCESS_OP_PIDFD_GETFD), "pidfd_getfd");
	assert_string_equal(pw_event_type_name(PW_EVENT_THREAD_ACCESS), "thread_access");
}

/* ------------------------------------------------------------- enforcement */

static bool have_lsm(void)
{
	return pw_features() & PW_FEAT_BPF_LSM;
}

/*
 * A started monitor recording into r (cleared) the accesses to pid; with
 * BPF LSM, protecting by rule.
 */
static struct pw_monitor *protecting_monitor(struct recorder *r, pid_t pid,
					     const struct pw_protect_rule *rule)
{
	struct pw_monitor *m;

	memset(r, 0, sizeof(*r));
	m = access_monitor(r);
	watch_pid(m, pid);
	if (have_lsm())
		assert_int_equal(pw_monitor_protect(m, rule), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	return m;
}

/* SIGTERM a target no rule protects any more: it ends of it. */
static void terminate_target(struct target *t)
{
	assert_int_equal(op_kill(t->pid, SIGTERM), 0);
	assert_int_equal(WTERMSIG(wait_exit(t->pid, 5000)), SIGTERM);
	close(t->ctl);
	close(t->ack);
}

/* Without BPF LSM: the documented refusal, before and after start; observation goes on. */
static void enforcement_unavailable(void **state)
{
	static struct recorder r;
	struct target t = spawn_target("pwacc-prot", NULL);
	PW_OPTS(pw_protect_rule, rule, .pid = t.pid, .deny = PW_ACCESS_TERMINATE);
	struct pw_monitor *m;

	(void)state;
	if (have_lsm()) {
		end_target(&t);
		skip();
	}
	memset(&r, 0, sizeof(r));
	m = access_monitor(&r);
	assert_int_equal(pw_monitor_protect(m, &rule), -PW_ERR_ENFORCE_UNAVAILABLE);
	watch_pid(m, t.pid);
	assert_int_equal(pw_monitor_start(m), 0);
	assert_int_equal(pw_monitor_protect(m, &rule), -PW_ERR_ENFORCE_UNAVAILABLE);
	assert_int_equal(pw_monitor_unprotect(m, &rule), -ENOENT); /* nothing was stored */
	assert_non_null(strstr(pw_strerror(-PW_ERR_ENFORCE_UNAVAILABLE), "enforce"));
	assert_int_equal(op_kill(t.pid, SIGTERM), 0); /* not denied */
	assert_non_null(wait_op(m, &r, PW_ACCESS_OP_KILL, t.pid, 3000));
	assert_false(r.v[0].denied);
	assert_true(WIFSIGNALED(wait_status(t.pid)));
	close(t.ctl);
	close(t.ack);
	pw_monitor_free(m);
}

struct op_case {
	const char *what;
	int denied_errno; /* the kernel's mm_access() turns every refusal of /proc/PID/mem into EACCES */
	unsigned int deny;
	enum pw_access_op op;
	int (*run)(struct target *t);
	bool lsm_only; /* seen by an LSM hook only: reported when denied, not when allowed */
};

static int run_ptrace(struct target *t) { return op_ptrace_attach(t->pid); }
static int run_vm_readv(struct target *t) { long n = op_vm_readv(t->pid); return n < 0 ? (int)n : 0; }
static int run_proc_mem(struct target *t) { return op_proc_mem_read(t->pid); }
static int run_kill(struct target *t) { return op_kill(t->pid, SIGTERM); }
static int run_tgkill(struct target *t) { return op_tgkill(t->pid, t->thread_tid, SIGUSR1); }
static int run_pidfd_open(struct target *t) { return op_pidfd_open(t->pid); }
static int run_pidfd_getfd(struct target *t) { return op_pidfd_getfd(t->pid); }

/* Reopen the target's pipe through /proc/PID/fd/N: a copy of its file, like pidfd_getfd. */
static int run_proc_fd(struct target *t)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, t->target_fd);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* A sampling perf event on the target: its registers and stack could be read. */
static int run_perf_sample(struct target *t)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_SW_TASK_CLOCK,
		.sample_period = 100000,
		.sample_type = PERF_SAMPLE_IP,
		.disabled = 1,
		.exclude_kernel = 1,
	};
	int fd = (int)syscall(SYS_perf_event_open, &a, t->pid, -1, -1, 0);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* prlimit(RLIMIT_CPU) would kill it once it has run a second. */
static int run_prlimit(struct target *t)
{
	struct rlimit rl = { 1, 1 };

	return prlimit(t->pid, RLIMIT_CPU, &rl, NULL) ? -errno : 0;
}

static const struct op_case cases[] = {
	{ "ptrace attach", EPERM, PW_ACCESS_DEBUG, PW_ACCESS_OP_PTRACE, run_ptrace, false },
	{ "process_vm_readv", EPERM, PW_ACCESS_READ_MEMORY, PW_ACCESS_OP_PROCESS_VM_READV, run_vm_readv, false },
	{ "/proc/PID/mem read", EACCES, PW_ACCESS_READ_MEMORY, PW_ACCESS_OP_PROC_MEM_OPEN, run_proc_mem, false },
	{ "kill SIGTERM", EPERM, PW_ACCESS_TERMINATE, PW_ACCESS_OP_KILL, run_kill, false },
	{ "tgkill thread", EPERM, PW_ACCESS_SIGNAL, PW_ACCESS_OP_TGKILL, run_tgkill, false },
	{ "pidfd_open", EPERM, PW_ACCESS_OPEN_HANDLE, PW_ACCESS_OP_PIDFD_OPEN, run_pidfd_open, false },
	{ "pidfd_getfd", EPERM, PW_ACCESS_DUP_HANDLE, PW_ACCESS_OP_PIDFD_GETFD, run_pidfd_getfd, false },
	{ "reopen /proc/PID/fd/N", EPERM, PW_ACCESS_DUP_HANDLE, PW_ACCESS_OP_PROC_FD_OPEN, run_proc_fd, true },
	{ "perf_event_open sampling", EPERM, PW_ACCESS_READ_MEMORY, PW_ACCESS_OP_PERF_EVENT, run_perf_sample, true },
	{ "prlimit RLIMIT_CPU (terminate)", EPERM, PW_ACCESS_TERMINATE, PW_ACCESS_OP_PRLIMIT, run_prlimit, true },
	{ "prlimit RLIMIT_CPU (set-limits)", EPERM, PW_ACCESS_SET_LIMITS, PW_ACCESS_OP_PRLIMIT, run_prlimit, true },
};

/* Each operation: denied (EPERM, event denied) on the protected target, allowed on another. */
static void enforcement_each_operation(void **state)
{
	(void)state;
	if (!have_lsm())
		skip();
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		static struct recorder r;
		const struct op_case *c = &cases[i];
		struct target prot = spawn_target("pwacc-prot", NULL);
		struct target free_ = spawn_target("pwacc-free", NULL);
		PW_OPTS(pw_protect_rule, rule, .pid = prot.pid, .deny = c->deny);
		struct pw_monitor *m;
		const struct acc *a;

		fprintf(stderr, "  enforce: %s\n", c->what);
		memset(&r, 0, sizeof(r));
		m = access_monitor(&r);
		assert_int_equal(pw_monitor_protect(m, &rule), 0);
		watch_pid(m, free_.pid);
		assert_int_equal(pw_monitor_start(m), 0);

		assert_int_equal(c->run(&prot), -c->denied_errno);
		a = wait_op(m, &r, c->op, prot.pid, 3000);
		assert_non_null(a);
		check_originator(a);
		assert_true(a->denied);
		assert_int_equal(a->result, -c->denied_errno);
		assert_true(a->access & c->deny);

		assert_int_equal(c->run(&free_), 0);
		if (!c->lsm_only) {
			a = wait_op(m, &r, c->op, free_.pid, 3000);
			assert_non_null(a);
			assert_false(a->denied);
			assert_true(a->result >= 0);
		}

		/* the protected process is untouched by its own rule: still alive */
		assert_true(still_alive(prot.pid));
		pw_monitor_free(m);
		end_target(&prot);
		end_target(&free_);
	}
}

/* A handler lifts the rule when it sees the denial: the next call goes through. */
static void unprotect_from_handler(struct pw_monitor *m, const struct acc *a, void *arg)
{
	const struct pw_protect_rule *rule = arg;

	if (a->denied && a->target_pid == rule->pid)
		assert_int_equal(pw_monitor_unprotect(m, rule), 0);
}

static void rule_change_from_handler(void **state)
{
	static struct recorder r;
	struct target t, t2;
	struct pw_monitor *m;

	(void)state;
	if (!have_lsm())
		skip();
	t = spawn_target("pwacc-prot", NULL);
	{
		PW_OPTS(pw_protect_rule, rule, .pid = t.pid, .deny = PW_ACCESS_TERMINATE);

		memset(&r, 0, sizeof(r));
		r.hook = unprotect_from_handler;
		r.hook_arg = &rule;
		m = access_monitor(&r);
		assert_int_equal(pw_monitor_start(m), 0);
		assert_int_equal(pw_monitor_protect(m, &rule), 0);
		assert_int_equal(op_kill(t.pid, SIGTERM), -EPERM);
		assert_non_null(wait_op(m, &r, PW_ACCESS_OP_KILL, t.pid, 3000));
		/* the handler removed the rule: the same right that was denied now goes through */
		assert_int_equal(pw_monitor_unprotect(m, &rule), -ENOENT);
		terminate_target(&t);
	}
	t2 = spawn_target("pwacc-prot", NULL);
	{
		PW_OPTS(pw_protect_rule, exempt, .pid = t2.pid, .deny = PW_ACCESS_TERMINATE,
			.flags = PW_PROTECT_EXCEPT_UID, .except_uid = geteuid() + 1);

		/* an exception for another uid: we are still refused... */
		r.hook = NULL;
		assert_int_equal(pw_monitor_protect(m, &exempt), 0);
		assert_int_equal(op_kill(t2.pid, SIGTERM), -EPERM);
		/* ...and one for our uid lets us through */
		exempt.except_uid = geteuid();
		assert_int_equal(pw_monitor_protect(m, &exempt), 0);
		assert_int_equal(op_kill(t2.pid, SIGTERM), 0);
		assert_int_equal(WTERMSIG(wait_exit(t2.pid, 5000)), SIGTERM);
		pw_monitor_free(m);
		close(t2.ctl);
		close(t2.ack);
	}
}

/*
 * Protection by name. Group signals: kill(-pgrp) checks each member in
 * task_kill, so the protected member is refused (reported as other_signal)
 * while the others get it; with only the protected one left, kill fails.
 */
static void protect_by_name(void **state)
{
	static struct recorder r;
	PW_OPTS(pw_protect_rule, rule, .name = "pwacc-guard", .deny = PW_ACCESS_TERMINATE);
	struct pw_monitor *m;
	struct target t, mate;
	const struct acc *a;

	(void)state;
	if (!have_lsm())
		skip();
	m = started_access_monitor(&r);
	assert_int_equal(pw_monitor_protect(m, &rule), 0);
	/* named before spawn_target returns: task_rename ran in its prctl */
	t = spawn_target("pwacc-guard", NULL);
	mate = spawn_target("pwacc-mate", NULL);
	assert_int_equal(setpgid(t.pid, t.pid), 0);
	assert_int_equal(setpgid(mate.pid, t.pid), 0);
	assert_int_equal(op_kill(t.pid, SIGKILL), -EPERM);
	assert_non_null(wait_op(m, &r, PW_ACCESS_OP_KILL, t.pid, 3000));
	r.n = 0;

	assert_int_equal(kill(-t.pid, SIGKILL), 0); /* the mate got it */
	assert_int_equal(WTERMSIG(wait_exit(mate.pid, 5000)), SIGKILL);
	a = expect_op(m, &r, PW_ACCESS_OP_OTHER_SIGNAL, t.pid);
	assert_true(a->denied);
	assert_int_equal(a->signal, SIGKILL);
	assert_int_equal(a->access, PW_ACCESS_TERMINATE);
	assert_true(still_alive(t.pid));
	assert_int_equal(op_kill(-t.pid, SIGKILL), -EPERM); /* only the protected one is left */
	assert_true(still_alive(t.pid));

	assert_int_equal(pw_monitor_unprotect(m, &rule), 0);
	end_target(&t);
	close(mate.ctl);
	close(mate.ack);
	pw_monitor_free(m);
}

/*
 * A PID rule is the process's, not the PID's: it goes when the process
 * exits, and a new process given the same PID (clone3 set_tid, what a user
 * cycling PIDs would get) is not protected.
 */
static void protect_pid_not_inherited(void **state)
{
	static struct recorder r;
	struct pw_clone_args args = { .exit_signal = SIGCHLD };
	struct pw_monitor *m;
	struct target t;
	pid_t pid, again;

	(void)state;
	if (!have_lsm())
		skip();
	m = started_access_monitor(&r);
	t = spawn_target("pwacc-reuse", NULL);
	pid = t.pid;
	{
		PW_OPTS(pw_protect_rule, rule, .pid = pid, .deny = PW_ACCESS_TERMINATE);

		assert_int_equal(pw_monitor_protect(m, &rule), 0);
	}
	assert_int_equal(op_kill(pid, SIGTERM), -EPERM);
	assert_int_equal(write(t.ctl, "q", 1), 1); /* it exits by itself */
	assert_true(WIFEXITED(wait_exit(pid, 5000)));
	close(t.ctl);
	close(t.ack);

	args.set_tid = (uint64_t)(uintptr_t)&pid;
	args.set_tid_size = 1;
	again = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (again == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	if (again < 0 && errno == EEXIST) {
		pw_monitor_free(m);
		skip(); /* someone else took the PID in between */
	}
	assert_int_equal(again, pid);
	assert_int_equal(op_kill(again, SIGTERM), 0);
	assert_int_equal(WTERMSIG(wait_exit(again, 5000)), SIGTERM);
	{
		/* no process: refused, nothing stored */
		PW_OPTS(pw_protect_rule, gone, .pid = pid, .deny = PW_ACCESS_TERMINATE);

		assert_int_equal(pw_monitor_protect(m, &gone), -ESRCH);
	}
	pw_monitor_free(m);
}

/* Arm an O_ASYNC pipe whose owner is `owner`, with `sig` as the SIGIO signal; write to it. */
static void sigio_to(pid_t owner, int sig, int p[2])
{
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[0], F_SETOWN, owner), 0);
	assert_int_equal(fcntl(p[0], F_SETSIG, sig), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK), 0);
	assert_int_equal(write(p[1], "x", 1), 1); /* kill_fasync -> send_sigio */
}

/* Signals the kernel sends itself on another's behalf: SIGIO; prlimit is in `cases`. */
static void protect_sigio(void **state)
{
	static struct recorder r;
	struct target t = spawn_target("pwacc-sigio", NULL), f = spawn_target("pwacc-sigfree", NULL);
	PW_OPTS(pw_protect_rule, rule, .pid = t.pid, .deny = PW_ACCESS_TERMINATE);
	struct pw_monitor *m;
	const struct acc *a;
	int p[2], q[2];

	(void)state;
	if (!have_lsm()) {
		end_target(&t);
		end_target(&f);
		skip();
	}
	m = started_access_monitor(&r);
	assert_int_equal(pw_monitor_protect(m, &rule), 0);

	sigio_to(t.pid, SIGKILL, p); /* F_SETSIG SIGKILL: would kill it */
	a = wait_op(m, &r, PW_ACCESS_OP_SIGIO, t.pid, 3000);
	assert_non_null(a);
	assert_true(a->denied);
	assert_int_equal(a->signal, SIGKILL);
	assert_int_equal(a->access, PW_ACCESS_TERMINATE);
	assert_true(still_alive(t.pid));

	sigio_to(f.pid, SIGKILL, q); /* the same on an unprotected process kills it */
	assert_int_equal(WTERMSIG(wait_exit(f.pid, 5000)), SIGKILL);
	assert_true(still_alive(t.pid));
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(f.ctl);
	close(f.ack);
	pw_monitor_free(m);
	end_target(&t);
}

/*
 * Access obtained before the rule: an open /proc/PID/mem fd is checked on
 * every read; a tracer already attached (here to one thread only) makes
 * pw_monitor_protect() refuse, since its requests are not checked again.
 */
static void protect_access_from_before(void **state)
{
	static struct recorder r;
	struct target t = spawn_target("pwacc-early", NULL);
	PW_OPTS(pw_protect_rule, rule, .pid = t.pid,
		.deny = PW_ACCESS_READ_MEMORY | PW_ACCESS_WRITE_MEMORY | PW_ACCESS_DEBUG);
	struct pw_monitor *m;
	const struct acc *a;
	char path[64];
	long value = 0;
	int memfd, ready[2];
	pid_t tracer;

	(void)state;
	if (!have_lsm()) {
		end_target(&t);
		skip();
	}
	m = started_access_monitor(&r);
	snprintf(path, sizeof(path), "/proc/%d/mem", t.pid);
	memfd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(memfd >= 0);
	assert_int_equal(pread(memfd, &value, sizeof(value), (off_t)(uintptr_t)&secret), sizeof(value));
	assert_int_equal(value, 0x5ec12e7);

	assert_int_equal(pw_monitor_protect(m, &rule), 0);
	value = 0;
	assert_int_equal(pread(memfd, &value, sizeof(value), (off_t)(uintptr_t)&secret), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(value, 0);
	a = expect_op(m, &r, PW_ACCESS_OP_PROC_MEM_IO, t.pid);
	assert_true(a->denied);
	assert_int_equal(a->access, PW_ACCESS_READ_MEMORY);
	assert_int_equal(a->detail, 0);
	close(memfd);
	assert_int_equal(pw_monitor_unprotect(m, &rule), 0);

	/* a tracer seizes the second thread, then the rule is asked for */
	assert_int_equal(pipe(ready), 0);
	tracer = fork();
	assert_true(tracer >= 0);
	if (tracer == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (ptrace(PTRACE_SEIZE, t.thread_tid, 0, 0))
			_exit(1);
		(void)!write(ready[1], "s", 1);
		for (;;)
			pause();
	}
	assert_int_equal(read_byte(ready[0], 5000), 1);
	assert_int_equal(pw_monitor_protect(m, &rule), -EBUSY);
	assert_int_equal(pw_monitor_unprotect(m, &rule), -ENOENT); /* nothing stored */
	kill(tracer, SIGKILL);
	assert_int_equal(WTERMSIG(wait_exit(tracer, 5000)), SIGKILL); /* its exit detaches it */
	assert_int_equal(pw_monitor_protect(m, &rule), 0);
	assert_int_equal(op_ptrace_attach(t.thread_tid), -EPERM); /* and no new tracer gets in */
	close(ready[0]);
	close(ready[1]);
	pw_monitor_free(m);
	end_target(&t);
}

/* Write "1" to a cgroup file; 0 or -errno. */
static int cg_write(const char *dir, const char *file, const char *value)
{
	char path[256];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static void cg_move(const char *dir, pid_t pid)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", pid);
	assert_int_equal(cg_write(dir, "cgroup.procs", buf), 0);
}

/*
 * cgroup.kill and cgroup.freeze of a cgroup that holds a protected process
 * (directly or below) are refused; other cgroups are not affected. Only
 * cgroups this test makes, holding only its own children, are touched.
 */
static void protect_cgroup_kill_freeze(void **state)
{
	static struct recorder r;
	char base[128], moved_after[160], moved_before[160], other[160];
	struct target t, t2, f;
	struct pw_monitor *m;
	const struct acc *a;

	(void)state;
	if (!have_lsm())
		skip();
	snprintf(base, sizeof(base), "/sys/fs/cgroup/pwacc-%d", getpid());
	snprintf(moved_after, sizeof(moved_after), "%s/after", base);
	snprintf(moved_before, sizeof(moved_before), "%s/before", base);
	snprintf(other, sizeof(other), "%s-free", base);
	assert_int_equal(mkdir(base, 0755), 0);
	assert_int_equal(mkdir(moved_after, 0755), 0);
	assert_int_equal(mkdir(moved_before, 0755), 0);
	assert_int_equal(mkdir(other, 0755), 0);
	t = spawn_target("pwacc-cg", NULL);
	t2 = spawn_target("pwacc-cg2", NULL);
	f = spawn_target("pwacc-cgfree", NULL);
	cg_move(moved_before, t2.pid); /* before the rule: found when the rule is added */
	cg_move(other, f.pid);

	m = started_access_monitor(&r);
	{
		PW_OPTS(pw_protect_rule, rule, .pid = t.pid,
			.deny = PW_ACCESS_TERMINATE | PW_ACCESS_SUSPEND_RESUME);
		PW_OPTS(pw_protect_rule, rule2, .pid = t2.pid, .deny = PW_ACCESS_TERMINATE);

		assert_int_equal(pw_monitor_protect(m, &rule), 0);
		assert_int_equal(pw_monitor_protect(m, &rule2), 0);
		cg_move(moved_after, t.pid); /* after the rule: followed by cgroup_attach_task */

		assert_int_equal(cg_write(moved_after, "cgroup.kill", "1"), -EPERM);
		a = wait_op(m, &r, PW_ACCESS_OP_CGROUP_KILL, t.pid, 3000);
		assert_non_null(a);
		check_originator(a);
		assert_true(a->denied);
		assert_int_equal(a->access, PW_ACCESS_TERMINATE);
		assert_int_equal(cg_write(moved_before, "cgroup.kill", "1"), -EPERM);
		assert_non_null(wait_op(m, &r, PW_ACCESS_OP_CGROUP_KILL, t2.pid, 3000));
		assert_int_equal(cg_write(base, "cgroup.kill", "1"), -EPERM); /* an ancestor */
		assert_int_equal(cg_write(moved_after, "cgroup.freeze", "1"), -EPERM);
		a = wait_op(m, &r, PW_ACCESS_OP_CGROUP_FREEZE, t.pid, 3000);
		assert_non_null(a);
		assert_int_equal(a->access, PW_ACCESS_SUSPEND_RESUME);
		/* t2's rule denies terminate only: its cgroup may be frozen and thawed */
		assert_int_equal(cg_write(moved_before, "cgroup.freeze", "1"), 0);
		assert_int_equal(cg_write(moved_before, "cgroup.freeze", "0"), 0);
		assert_true(still_alive(t.pid));
		assert_true(still_alive(t2.pid));

		/* an unrelated cgroup: killed as usual */
		assert_int_equal(cg_write(other, "cgroup.kill", "1"), 0);
		assert_int_equal(WTERMSIG(wait_exit(f.pid, 5000)), SIGKILL);

		/* without the rules, the same write kills them */
		assert_int_equal(pw_monitor_unprotect(m, &rule), 0);
		assert_int_equal(pw_monitor_unprotect(m, &rule2), 0);
		assert_int_equal(cg_write(base, "cgroup.kill", "1"), 0);
		assert_int_equal(WTERMSIG(wait_exit(t.pid, 5000)), SIGKILL);
		assert_int_equal(WTERMSIG(wait_exit(t2.pid, 5000)), SIGKILL);
	}
	pw_monitor_free(m);
	close(t.ctl);
	close(t.ack);
	close(t2.ctl);
	close(t2.ack);
	close(f.ctl);
	close(f.ack);
	/* best effort: an empty cgroup left behind in the guest harms nothing */
	rmdir(moved_after);
	rmdir(moved_before);
	rmdir(base);
	rmdir(other);
}

/*
 * Documented as out of reach: a terminal's signals (TIOCSIG on the pty
 * master here; ^C and hangup likewise) are sent with SEND_SIG_PRIV, which
 * no LSM hook sees. A protected process with that pty as its controlling
 * terminal dies of it, though kill() of the same signal is refused.
 */
static void protect_terminal_signal_not_covered(void **state)
{
	static struct recorder r;
	struct pw_monitor *m;
	int master, ready[2];
	char *slave;
	pid_t pid;

	(void)state;
	if (!have_lsm())
		skip();
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	slave = ptsname(master);
	assert_non_null(slave);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setsid() < 0 || open(slave, O_RDWR) < 0) /* its controlling terminal, foreground */
			_exit(1);
		(void)!write(ready[1], "t", 1);
		for (;;)
			pause();
	}
	assert_int_equal(read_byte(ready[0], 5000), 1);
	m = started_access_monitor(&r);
	{
		PW_OPTS(pw_protect_rule, rule, .pid = pid, .deny = PW_ACCESS_TERMINATE);

		assert_int_equal(pw_monitor_protect(m, &rule), 0);
	}
	/* TIOCSIG takes SIGINT, SIGQUIT and SIGTSTP only (pty_signal) */
	assert_int_equal(op_kill(pid, SIGINT), -EPERM);
	assert_int_equal(ioctl(master, TIOCSIG, SIGINT), 0);
	assert_int_equal(WTERMSIG(wait_exit(pid, 5000)), SIGINT);
	pw_monitor_free(m);
	close(master);
	close(ready[0]);
	close(ready[1]);
}

/*
 * Watchdog for a test that could hang in the kernel: if the test has not
 * stopped it within its deadline, it prints where every thread of this
 * process and each registered child is blocked (wchan, syscall, kernel
 * stack), then SIGKILLs the children (which unblocks a wait on them) and,
 * if the test still does not finish, the whole binary.
 */
static struct {
	pthread_t thread;
	int stop[2];
	int timeout_ms;
	pid_t pids[8];
	int n;
} dog;

static void dump_task(const char *dir)
{
	static const char *const files[] = { "comm", "wchan", "syscall", "stack" };
	char path[128], buf[2048];

	for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			fprintf(stderr, "  watchdog: %s: %s%s", path, buf, buf[n - 1] == '\n' ? "" : "\n");
		}
	}
}

static void *dog_main(void *arg)
{
	struct pollfd p = { .fd = dog.stop[0], .events = POLLIN };
	char dir[64];

	(void)arg;
	if (poll(&p, 1, dog.timeout_ms) != 0)
		return NULL;
	fprintf(stderr, "  watchdog: the test is stuck after %d ms\n", dog.timeout_ms);
	for (pid_t tid = getpid(); tid < getpid() + 64; tid++) {
		snprintf(dir, sizeof(dir), "/proc/self/task/%d", tid);
		if (!access(dir, F_OK))
			dump_task(dir);
	}
	for (int i = 0; i < dog.n; i++) {
		snprintf(dir, sizeof(dir), "/proc/%d", dog.pids[i]);
		dump_task(dir);
		kill(dog.pids[i], SIGKILL);
	}
	if (poll(&p, 1, 10000) == 0)
		_exit(3);
	return NULL;
}

static void watchdog_start(int timeout_ms)
{
	dog.n = 0;
	dog.timeout_ms = timeout_ms;
	assert_int_equal(pipe(dog.stop), 0);
	assert_int_equal(pthread_create(&dog.thread, NULL, dog_main, NULL), 0);
}

static void watchdog_watch(pid_t pid)
{
	if (dog.n < 8)
		dog.pids[dog.n++] = pid;
}

static void watchdog_stop(void)
{
	assert_int_equal(write(dog.stop[1], "s", 1), 1);
	pthread_join(dog.thread, NULL);
	close(dog.stop[0]);
	close(dog.stop[1]);
}

/*
 * PW_PROTECT_EXEC_NAME: the name must come from the process's exec. A
 * program exec'd under the name is protected; a process that renamed
 * itself to it (prctl) is not. Without the flag the renamed one would be.
 */
static void protect_by_exec_name(void **state)
{
	static struct recorder r;
	PW_OPTS(pw_protect_rule, rule, .name = "pwacc-exe", .deny = PW_ACCESS_TERMINATE,
		.flags = PW_PROTECT_EXEC_NAME);
	PW_OPTS(pw_protect_rule, plain, .name = "pwacc-plain", .deny = PW_ACCESS_TERMINATE);
	char dir[64], link[96], self[512], fdarg[16];
	struct target impostor, renamed;
	struct pw_monitor *m;
	int ready[2];
	ssize_t n;
	pid_t pid;

	(void)state;
	if (!have_lsm())
		skip();
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = 0;
	watchdog_start(60000);
	snprintf(dir, sizeof(dir), "/tmp/pwacc-exec-%d", getpid());
	snprintf(link, sizeof(link), "%s/pwacc-exe", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(symlink(self, link), 0);
	PW_OPTS(pw_protect_rule, bad, .pid = getppid(), .deny = PW_ACCESS_TERMINATE,
		.flags = PW_PROTECT_EXEC_NAME);

	memset(&r, 0, sizeof(r));
	m = access_monitor(&r);
	fprintf(stderr, "  exec-name: start\n");
	assert_int_equal(pw_monitor_start(m), 0);
	assert_int_equal(pw_monitor_protect(m, &bad), -EINVAL); /* names only */
	assert_int_equal(pw_monitor_protect(m, &rule), 0);
	assert_int_equal(pw_monitor_protect(m, &plain), 0);
	fprintf(stderr, "  exec-name: rules in\n");

	assert_int_equal(pipe(ready), 0);
	snprintf(fdarg, sizeof(fdarg), "%d", ready[1]);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(link, "pwacc-exe", "--pwacc-exec-child", fdarg, (char *)NULL);
		_exit(127);
	}
	watchdog_watch(pid);
	assert_int_equal(read_byte(ready[0], 10000), 1); /* it runs main() under its exec name */
	fprintf(stderr, "  exec-name: exec'd child runs\n");
	assert_int_equal(op_kill(pid, SIGTERM), -EPERM);

	impostor = spawn_target("pwacc-exe", NULL);
	watchdog_watch(impostor.pid);
	assert_int_equal(op_kill(impostor.pid, SIGTERM), 0);
	assert_int_equal(WTERMSIG(wait_exit(impostor.pid, 5000)), SIGTERM);
	renamed = spawn_target("pwacc-plain", NULL); /* no flag: a rename is enough */
	watchdog_watch(renamed.pid);
	assert_int_equal(op_kill(renamed.pid, SIGTERM), -EPERM);
	fprintf(stderr, "  exec-name: checked\n");

	/*
	 * The rules go with the monitor, although the children forked since it
	 * started live on (forked_child_keeps_no_program).
	 */
	pw_monitor_free(m);
	assert_int_equal(op_kill(renamed.pid, SIGTERM), 0);
	assert_int_equal(WTERMSIG(wait_exit(renamed.pid, 5000)), SIGTERM);
	close(renamed.ctl);
	close(renamed.ack);
	assert_int_equal(op_kill(pid, SIGTERM), 0);
	assert_int_equal(WTERMSIG(wait_exit(pid, 5000)), SIGTERM);
	watchdog_stop();
	close(impostor.ctl);
	close(impostor.ack);
	close(ready[0]);
	close(ready[1]);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* --------------------------------------------- children forked meanwhile */

struct bpf_ids {
	uint32_t prog[256], link[256];
	size_t n_prog, n_link;
};

static void add_id(uint32_t *v, size_t *n, uint32_t id)
{
	for (size_t i = 0; i < *n; i++)
		if (v[i] == id)
			return;
	if (*n < 256)
		v[(*n)++] = id;
}

/* The BPF program and link ids that process `pid` holds descriptors of (its fdinfo). */
static void bpf_ids_of(pid_t pid, struct bpf_ids *ids)
{
	char dir[64], path[352], line[256];
	struct dirent *d;
	DIR *fds;

	memset(ids, 0, sizeof(*ids));
	snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", pid);
	fds = opendir(dir);
	assert_non_null(fds);
	while ((d = readdir(fds))) {
		unsigned int id;
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue; /* closed meanwhile */
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "prog_id: %u", &id) == 1)
				add_id(ids->prog, &ids->n_prog, id);
			else if (sscanf(line, "link_id: %u", &id) == 1)
				add_id(ids->link, &ids->n_link, id);
		}
		fclose(f);
	}
	closedir(fds);
}

static bool has_id(const uint32_t *v, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == id)
			return true;
	return false;
}

/* Whether the kernel still has the program or link with this id (no bpftool). */
static bool bpf_id_exists(enum bpf_cmd cmd, uint32_t id)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	if (cmd == BPF_LINK_GET_FD_BY_ID)
		attr.link_id = id;
	else
		attr.prog_id = id;
	fd = (int)syscall(SYS_bpf, cmd, &attr, sizeof(attr));
	if (fd >= 0) {
		close(fd);
		return true;
	}
	assert_int_equal(errno, ENOENT);
	return false;
}

/*
 * A child forked after the monitor started, and alive after it was freed:
 * it holds none of the monitor's programs or links, and once the monitor
 * is freed none of them exists any more - so, with BPF LSM, its protection
 * ends with the monitor even though the protected process lives on.
 */
static void forked_child_keeps_no_program(void **state)
{
	static struct recorder r;
	PW_OPTS(pw_protect_rule, rule, .name = "pwacc-forked", .deny = PW_ACCESS_TERMINATE);
	struct bpf_ids before, running, child, after;
	size_t progs = 0, links = 0;
	struct pw_monitor *m;
	struct target t;

	(void)state;
	bpf_ids_of(getpid(), &before);
	m = protecting_monitor(&r, getppid(), &rule);
	t = spawn_target("pwacc-forked", NULL);

	bpf_ids_of(getpid(), &running);
	for (size_t i = 0; i < running.n_prog; i++)
		progs += !has_id(before.prog, before.n_prog, running.prog[i]);
	for (size_t i = 0; i < running.n_link; i++)
		links += !has_id(before.link, before.n_link, running.link[i]);
	assert_true(progs > 0 && links > 0); /* the monitor's own, attached */
	bpf_ids_of(t.pid, &child);
	for (size_t i = 0; i < child.n_prog; i++)
		assert_false(has_id(running.prog, running.n_prog, child.prog[i]) &&
			     !has_id(before.prog, before.n_prog, child.prog[i]));
	for (size_t i = 0; i < child.n_link; i++)
		assert_false(has_id(running.link, running.n_link, child.link[i]) &&
			     !has_id(before.link, before.n_link, child.link[i]));
	if (have_lsm())
		assert_int_equal(op_kill(t.pid, SIGTERM), -EPERM);
	fprintf(stderr, "  forked: monitor holds %zu programs, %zu links; the child none of them\n",
		progs, links);

	pw_monitor_free(m); /* no unprotect first */
	bpf_ids_of(getpid(), &after);
	/* Detaching is synchronous: the links are gone when close() returns. */
	for (size_t i = 0; i < running.n_link; i++)
		if (!has_id(before.link, before.n_link, running.link[i]))
			assert_false(bpf_id_exists(BPF_LINK_GET_FD_BY_ID, running.link[i]));
	/*
	 * The kernel puts a detached program only after an RCU grace period
	 * (bpf_link_free: dealloc_deferred), which user space cannot wait for:
	 * poll, bounded. With a child holding a copy it would never go.
	 */
	for (size_t i = 0; i < running.n_prog; i++) {
		uint32_t id = running.prog[i];
		int waited = 0;

		if (has_id(before.prog, before.n_prog, id))
			continue;
		assert_false(has_id(after.prog, after.n_prog, id));
		while (bpf_id_exists(BPF_PROG_GET_FD_BY_ID, id) && waited < 10000)
			waited += poll(NULL, 0, 10) == 0 ? 10 : 0;
		assert_false(bpf_id_exists(BPF_PROG_GET_FD_BY_ID, id));
	}
	assert_true(still_alive(t.pid));
	/* With BPF LSM: the rule was denying this until pw_monitor_free() */
	terminate_target(&t);
}

/* Whether any link of `ids` that `before` did not have still exists. */
static bool some_link_exists(const struct bpf_ids *ids, const struct bpf_ids *before)
{
	for (size_t i = 0; i < ids->n_link; i++)
		if (!has_id(before->link, before->n_link, ids->link[i]) &&
		    bpf_id_exists(BPF_LINK_GET_FD_BY_ID, ids->link[i]))
			return true;
	return false;
}

/*
 * A child made by a raw clone() runs no fork handler and keeps the
 * programs attached (documented under "Forked children"): but freeing the
 * monitor left them no rule, so a protected process is killable at once.
 * Once that child exits, nothing remains.
 */
static void raw_clone_child_keeps_inert_programs(void **state)
{
	static struct recorder r;
	PW_OPTS(pw_protect_rule, rule, .name = "pwacc-raw", .deny = PW_ACCESS_TERMINATE);
	struct bpf_ids before, running;
	struct pw_monitor *m;
	struct target t;
	int hold[2];
	pid_t raw;

	(void)state;
	bpf_ids_of(getpid(), &before);
	m = protecting_monitor(&r, getppid(), &rule);
	t = spawn_target("pwacc-raw", NULL);
	if (have_lsm())
		assert_int_equal(op_kill(t.pid, SIGTERM), -EPERM);
	bpf_ids_of(getpid(), &running);

	assert_int_equal(pipe(hold), 0);
	raw = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	assert_true(raw >= 0);
	if (raw == 0) { /* raw syscalls only: no fork handler ran, glibc's state is the parent's */
		char c;

		syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		syscall(SYS_close, hold[1]);
		syscall(SYS_read, hold[0], &c, 1);
		syscall(SYS_exit_group, 0);
	}
	close(hold[0]);

	pw_monitor_free(m);
	assert_true(some_link_exists(&running, &before)); /* the raw child's copies */
	terminate_target(&t); /* with BPF LSM: no rule left */

	close(hold[1]); /* the raw child reads EOF and exits */
	assert_int_equal(wait_exit(raw, 5000), 0);
	assert_false(some_link_exists(&running, &before));
}

/*
 * A child that frees its (inert) copy of the monitor touches nothing of
 * the parent's: the parent still gets events and, with BPF LSM, still
 * enforces. Its copy shared the kernel's global data with the parent
 * until fork() gave it private memory instead.
 */
static void child_freeing_its_copy_leaves_parent_alone(void **state)
{
	static struct recorder r;
	PW_OPTS(pw_protect_rule, rule, .name = "pwacc-copy", .deny = PW_ACCESS_TERMINATE);
	struct pw_monitor *m;
	struct target t;
	pid_t pid;

	(void)state;
	t = spawn_target("pwacc-copy", NULL);
	m = protecting_monitor(&r, t.pid, &rule);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pw_monitor_free(m);
		_exit(0);
	}
	assert_int_equal(wait_exit(pid, 10000), 0);

	assert_int_equal(op_kill(t.pid, 0), 0);
	assert_non_null(wait_op(m, &r, PW_ACCESS_OP_KILL, t.pid, 5000));
	if (have_lsm())
		assert_int_equal(op_kill(t.pid, SIGTERM), -EPERM);
	pw_monitor_free(m);
	end_target(&t);
}

static int setup_root(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "integration tests need root\n");
		return -1;
	}
	if (getenv("PW_TEST_REQUIRE_LSM") && !have_lsm()) {
		fprintf(stderr, "PW_TEST_REQUIRE_LSM is set but BPF LSM is unavailable here\n");
		return -1;
	}
	fprintf(stderr, "BPF LSM %s: enforcement tests %s\n", have_lsm() ? "available" : "unavailable",
		have_lsm() ? "run" : "check the documented refusal");
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_and_names),
		cmocka_unit_test(events_for_each_operation),
		cmocka_unit_test(name_watch_and_originator_filter),
		cmocka_unit_test(enforcement_unavailable),
		cmocka_unit_test(enforcement_each_operation),
		cmocka_unit_test(rule_change_from_handler),
		cmocka_unit_test(protect_by_name),
		cmocka_unit_test(protect_pid_not_inherited),
		cmocka_unit_test(protect_sigio),
		cmocka_unit_test(protect_access_from_before),
		cmocka_unit_test(protect_cgroup_kill_freeze),
		cmocka_unit_test(protect_terminal_signal_not_covered),
		cmocka_unit_test(protect_by_exec_name),
		cmocka_unit_test(forked_child_keeps_no_program),
		cmocka_unit_test(raw_clone_child_keeps_inert_programs),
		cmocka_unit_test(child_freeing_its_copy_leaves_parent_alone),
	};

	/* protect_by_exec_name runs this binary under another name: say so, then wait. */
	if (argc == 3 && !strcmp(argv[1], "--pwacc-exec-child")) {
		int fd = atoi(argv[2]);

		(void)!write(fd, "e", 1);
		for (;;)
			pause();
	}
	return cmocka_run_group_tests_name("access", tests, setup_root, NULL);
}
