// SPDX-License-Identifier: MIT
/*
 * test_gate_liveness.c - no exec waits on a gate that is stopped, killed,
 * crashed, dumping core or stuck past timeout_ms + 250 ms (the guardian).
 *
 * The gating process is a child this test forks (so the test can stop and
 * kill it); it gates only processes named pwl-sPID (this run's own name:
 * another run of the suite may gate at the same time) and its own descendants,
 * and holds only images of this test's temporary directory. The programs
 * exec'd are copies of this binary (it acts as pwl-true, pwl-hold...
 * by argv[0]), so the test needs nothing from the host but /bin/sh. Every
 * wait is bounded; a watchdog thread (no exec) SIGKILLs the gating process
 * and its guardian by pid, restores core_pattern and exits if the test
 * hangs. With timeout_verdict DENY, a stopped or crashed gate denies only
 * what it gates (this run's own subjects): everyone else's execs, and this
 * test's unrelated ones, are allowed by the guardian (out of scope).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "harness.h"

#define T_MS 500            /* the gate's timeout_ms in these tests */
#define BOUND_MS (T_MS + 250) /* the promise */
#define EXEC_FAILED 200
#define CORE_PATTERN "/proc/sys/kernel/core_pattern"

extern char **environ;

static char dir[64];
static char p_true[128], p_hold[128], p_spawned[128], p_sys[128], p_core[128], p_wait[128];
static char subj[16] = "pwl-subj"; /* the comm of the processes gated: pwl-sPID, this run's own */
static char saved_core_pattern[512];
static long long exec_overhead_ms; /* an exec with no gate: what the promise does not cover (slow in a VM) */
static atomic_bool core_pattern_changed;

/* ------------------------------------------------------------ programs */

/* This binary as the programs the tests exec: by argv[0]'s last component. */
static void run_as_program(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	if (!strcmp(base, "pwl-wait")) {
		for (;;)
			pause(); /* until the test kills it */
	}
	if (!strcmp(base, "pwl-core") && argc > 1) {
		/*
		 * The core_pattern pipe helper: one exec and no children, as
		 * systemd-coredump is, so a deny timeout verdict cannot stop it
		 * half way. A marker, then the core (stdin) next to it.
		 */
		char path[256];
		char buf[65536];
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "%.*s/pwl-core-ran", (int)(base - 1 - argv[0]), argv[0]);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			(void)!write(fd, argv[1], strlen(argv[1]));
			close(fd);
		}
		snprintf(path, sizeof(path), "%.*s/pwl-core-data", (int)(base - 1 - argv[0]), argv[0]);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		while (fd >= 0 && (n = read(0, buf, sizeof(buf))) > 0)
			if (write(fd, buf, (size_t)n) != n)
				break;
		_exit(0);
	}
	if (!strncmp(base, "pwl-", 4)) {
		/* pwl-true, pwl-hold, pwl-spawned, pwl-sys: create argv[1] if given, exit 0 */
		if (argc > 1) {
			int fd = open(argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

			if (fd >= 0)
				close(fd);
		}
		_exit(0);
	}
}

static void copy_self(const char *to)
{
	int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), out;
	char buf[65536];
	ssize_t n;

	assert_true(in >= 0);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* ------------------------------------------------------------ watchdog */

static pid_t watch_pids[8];
static int watch_efd = -1;
static pthread_t watch_thread;

static void restore_core_pattern(void)
{
	int fd;

	if (!atomic_exchange(&core_pattern_changed, false))
		return;
	fd = open(CORE_PATTERN, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, saved_core_pattern, strlen(saved_core_pattern));
		close(fd);
	}
}

/* No exec here: kill by pid, restore the sysctl, leave. */
static void *watchdog_main(void *arg)
{
	struct pollfd p = { .fd = watch_efd, .events = POLLIN };
	long ms = (long)(intptr_t)arg;

	if (poll(&p, 1, (int)ms) == 1)
		return NULL; /* disarmed */
	for (int i = 0; i < 8; i++)
		if (watch_pids[i] > 0)
			kill(watch_pids[i], SIGKILL);
	restore_core_pattern();
	fprintf(stderr, "watchdog: test hung for %ld ms; killed the gate and its guardian\n", ms);
	_exit(99);
}

static void watchdog_arm(long ms)
{
	uint64_t zero;

	memset(watch_pids, 0, sizeof(watch_pids));
	watch_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(watch_efd >= 0);
	(void)!read(watch_efd, &zero, sizeof(zero));
	assert_int_equal(pthread_create(&watch_thread, NULL, watchdog_main, (void *)(intptr_t)ms), 0);
}

static void watchdog_watch(pid_t pid)
{
	for (int i = 0; i < 8; i++)
		if (!watch_pids[i]) {
			watch_pids[i] = pid;
			return;
		}
}

static void watchdog_disarm(void)
{
	uint64_t one = 1;

	if (watch_efd < 0)
		return;
	(void)!write(watch_efd, &one, sizeof(one));
	pthread_join(watch_thread, NULL);
	close(watch_efd);
	watch_efd = -1;
}

/* ------------------------------------------------------------ processes */

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* waitpid with a deadline; -1 on timeout (the process is left alone). */
static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
	int fd = pidfd_of(pid), r;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (fd >= 0) {
		r = poll(&p, 1, timeout_ms);
		close(fd);
		if (r != 1)
			return -1;
	}
	while ((r = waitpid(pid, status, __WALL)) < 0 && errno == EINTR)
		;
	return r == pid ? 0 : -1;
}

/* fork; the child renames itself (comm) and execs path. */
static pid_t start_exec(const char *comm, const char *path, const char *arg)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (comm)
			prctl(PR_SET_NAME, comm);
		execl(path, path, arg, (char *)NULL);
		_exit(EXEC_FAILED + errno);
	}
	return pid;
}

/* Run path to completion; its status, and how long it took. Fails the test past 5 s. */
static int run_exec(const char *comm, const char *path, const char *arg, long long *ms)
{
	long long t0 = test_ms_now();
	pid_t pid = start_exec(comm, path, arg);
	int status = -1;

	if (wait_exit(pid, 5000, &status)) {
		kill(pid, SIGKILL);
		wait_exit(pid, 5000, &status);
		fail_msg("exec of %s did not complete in 5 s", path);
	}
	*ms = test_ms_now() - t0;
	return status;
}

/* ------------------------------------------------------------ the gating process */

enum scenario {
	SC_DEFER,        /* hold: deferred, never answered by the handler */
	SC_POSIX_SPAWN,  /* hold: the handler posix_spawns pwl-spawned and waits for it */
	SC_SYSTEM,       /* hold: the handler runs system("exec pwl-sys"); pwl-sys is deferred */
	SC_SEGFAULT,     /* hold: the handler segfaults */
	SC_STUCK,        /* every hold blocks its handler thread forever */
};

struct gating_opts {
	enum scenario sc;
	unsigned int workers;
	unsigned int kill_after;
	enum pw_exec_verdict timeout_verdict;
	unsigned int timeout_ms; /* 0: T_MS */
};

struct msg {
	char type;       /* R ready, H a hold reached the handler, P posix_spawn took ms, S stats, Q stats while running */
	long long a, b, ungated_holds;
	struct pw_gate_stats st;
	long long guardian_records;
};

struct gating {
	pid_t pid, guardian;
	int to_child, from_child;
	uint32_t prog_ids[64];
	size_t n_progs;
};

static struct gating_opts g_opts;  /* in the child */
static int g_to_parent = -1;
static atomic_llong g_guardian_records, g_guardian_hold_records, g_ungated_holds;
static _Atomic pid_t g_hold_pids[8];
static int never_fd[2];           /* a pipe nobody writes: blocks a handler for good */

static void send_msg(int fd, char type, long long a, long long b)
{
	struct msg m = { .type = type, .a = a, .b = b };

	(void)!write(fd, &m, sizeof(m));
}

static int child_handler(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	/* by full path: another run of this test (its own directory) may gate the same names */
	const char *image = pw_exec_image(req) ? pw_exec_image(req) : "";
	char c;

	(void)g, (void)ud;
	if (!strcmp(image, p_sys) || !strcmp(image, p_spawned)) {
		send_msg(g_to_parent, 'H', pw_exec_pid(req), 1);
		pw_exec_defer(req); /* never answered: only a deadline lets it run */
		return 0;
	}
	if (strcmp(image, p_hold))
		return pw_exec_allow(req);
	for (int i = 0; i < 8; i++) {
		pid_t zero = 0;

		if (atomic_compare_exchange_strong(&g_hold_pids[i], &zero, pw_exec_pid(req)))
			break;
	}
	send_msg(g_to_parent, 'H', pw_exec_pid(req), 0);
	switch (g_opts.sc) {
	case SC_DEFER:
		break;
	case SC_POSIX_SPAWN: {
		char *argv[] = { p_spawned, NULL };
		long long t0 = test_ms_now();
		int status;
		pid_t pid;

		if (!posix_spawn(&pid, p_spawned, NULL, NULL, argv, environ))
			waitpid(pid, &status, 0);
		send_msg(g_to_parent, 'P', test_ms_now() - t0, 0);
		break;
	}
	case SC_SYSTEM: {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "exec %s", p_sys);
		(void)!system(cmd);
		break;
	}
	case SC_SEGFAULT:
		raise(SIGSEGV); /* as a bad pointer would: default action, core dump */
		break;
	case SC_STUCK:
		(void)!read(never_fd[0], &c, 1);
		break;
	}
	pw_exec_defer(req);
	return 0;
}

static void child_decision(struct pw_gate *g, const struct pw_gate_decision *d, void *ud)
{
	(void)g, (void)ud;
	if (getenv("PWL_DEBUG"))
		fprintf(stderr, "decision pid %d %s %s\n", pw_decision_pid(d), pw_decision_image(d),
			pw_gate_reason_name(pw_decision_reason(d)));
	if (pw_decision_reason(d) == PW_GATE_UNGATED)
		for (int i = 0; i < 8; i++)
			if (pw_decision_pid(d) && atomic_load(&g_hold_pids[i]) == pw_decision_pid(d))
				atomic_fetch_add(&g_ungated_holds, 1);
	if (pw_decision_reason(d) != PW_GATE_BY_GUARDIAN)
		return;
	atomic_fetch_add(&g_guardian_records, 1);
	for (int i = 0; i < 8; i++)
		if (pw_decision_pid(d) && atomic_load(&g_hold_pids[i]) == pw_decision_pid(d))
			atomic_fetch_add(&g_guardian_hold_records, 1);
}

static void child_log(enum pw_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= PW_LOG_ERROR)
		fprintf(stderr, "gating child: %s\n", msg);
}

static __attribute__((noreturn)) void gating_child(int to_parent, int from_parent)
{
	PW_OPTS(pw_gate_opts, o, .handler = child_handler, .timeout_ms = g_opts.timeout_ms ? g_opts.timeout_ms : T_MS,
		.timeout_verdict = g_opts.timeout_verdict, .workers = g_opts.workers,
		.on_decision = child_decision, .log = child_log,
		/* only what the test counts (PWL_DEBUG: all): the machine's execs could fill the record queue */
		.decision_filter = getenv("PWL_DEBUG") ? 0 : PW_GATE_RECORD_REASON(PW_GATE_BY_GUARDIAN) |
							  PW_GATE_RECORD_REASON(PW_GATE_UNGATED),
		.kill_on_missed_deadline = g_opts.kill_after);
	struct rlimit core = { RLIM_INFINITY, RLIM_INFINITY };
	struct pw_gate *g = NULL;
	struct pw_gate_stats st = { .sz = sizeof(st) };
	char rule[64];
	struct msg m = { .type = 'S', .st.sz = sizeof(m.st) };
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	signal(SIGSEGV, SIG_DFL); /* cmocka's crash handler must not turn a crash into an exit */
	signal(SIGABRT, SIG_DFL);
	setrlimit(RLIMIT_CORE, &core);
	prctl(PR_SET_NAME, "pwl-gate");
	g_to_parent = to_parent;
	snprintf(rule, sizeof(rule), "gate by-name %s", subj);
	if (pipe(never_fd) || pw_gate_new(&o, &g) || pw_gate_add_rule_text(g, rule))
		_exit(2);
	snprintf(rule, sizeof(rule), "gate by-pid %d children", (int)getpid());
	if (pw_gate_add_rule_text(g, rule) || pw_gate_start(g))
		_exit(3);
	pw_gate_stats(g, &st);
	send_msg(to_parent, 'R', st.guardian_pid, 0);
	while (read(from_parent, &c, 1) == 1 && c == 'Q') {
		struct msg q = { .type = 'Q', .st.sz = sizeof(q.st) };

		pw_gate_stats(g, &q.st);
		(void)!write(to_parent, &q, sizeof(q));
	}
	if (c != 'E' && c != 'S')
		_exit(4);
	if (c == 'E') /* exec while gating, without a stop: the guardian must notice and go */
		execl(p_wait, p_wait, (char *)NULL);
	pw_gate_stats(g, &m.st); /* before the stop: the guardian's own counters */
	m.guardian_records = atomic_load(&g_guardian_records);
	pw_gate_stop(g); /* every record delivered */
	pw_gate_stats(g, &st);
	pw_gate_free(g);
	if (st.sink_dropped)
		fprintf(stderr, "gating child: %" PRIu64 " decision records dropped: counts incomplete\n",
			st.sink_dropped);
	m.a = atomic_load(&g_guardian_hold_records); /* the holds the guardian answered */
	m.b = atomic_load(&g_guardian_records);
	m.ungated_holds = atomic_load(&g_ungated_holds);
	(void)!write(to_parent, &m, sizeof(m));
	_exit(0);
}

static bool read_msg(struct gating *gt, struct msg *m, int timeout_ms)
{
	struct pollfd p = { .fd = gt->from_child, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1 && read(gt->from_child, m, sizeof(*m)) == (ssize_t)sizeof(*m);
}

/* The gate's counters while it runs. */
static void query_gating(struct gating *gt, struct pw_gate_stats *st)
{
	struct msg m;

	assert_int_equal(write(gt->to_child, "Q", 1), 1);
	assert_true(read_msg(gt, &m, 10000));
	assert_int_equal(m.type, 'Q');
	*st = m.st;
}

/* The guardian is single-threaded: its schedstat is its own (on-CPU ns, timeslices run). */
static void schedstat_of(pid_t pid, long long *cpu_ns, long long *slices)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	*cpu_ns = *slices = -1;
	f = fopen(path, "re");
	if (!f)
		return;
	if (fscanf(f, "%lld %*s %lld", cpu_ns, slices) != 2)
		*cpu_ns = *slices = -1;
	fclose(f);
}

/* The BPF programs a process holds (prog_id of its bpf-prog and bpf-link fds). */
static size_t progs_of(pid_t pid, uint32_t *ids, size_t max)
{
	char path[64], line[256];
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)) && n < max) {
		char p2[320];
		FILE *f;

		snprintf(p2, sizeof(p2), "%s/%s", path, de->d_name);
		f = fopen(p2, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f) && n < max) {
			unsigned int id;

			if (sscanf(line, "prog_id: %u", &id) == 1)
				ids[n++] = id;
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * What the guardian holds: its group (and placeholders), pipe, eventfd,
 * pidfd and four BPF maps (gate_marks, where it marks gated execs;
 * gate_held and the ungated ring, for held execs; gate_meta, for the
 * scope); no program or link.
 */
static void check_guardian_fds(pid_t guardian)
{
	char path[64], link[320], target[256];
	int fanotify = 0, other = 0, maps = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)guardian);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (!strcmp(target, "anon_inode:bpf-map"))
			maps++;
		else if (strstr(target, "bpf"))
			fail_msg("the guardian holds a BPF object: %s", target);
		else if (!strcmp(target, "anon_inode:[fanotify]"))
			fanotify++;
		else if (strncmp(target, "pipe:", 5) && strcmp(target, "anon_inode:[eventfd]") &&
			 strcmp(target, "anon_inode:[pidfd]") && strncmp(target, "pidfd:", 6))
			other++, fprintf(stderr, "guardian fd %s -> %s\n", de->d_name, target);
	}
	closedir(d);
	assert_true(fanotify >= 1);
	assert_int_equal(maps, 4);
	assert_int_equal(other, 0);
}

static void start_gating(struct gating *gt, const struct gating_opts *go)
{
	int down[2], up[2];
	struct msg m;

	memset(gt, 0, sizeof(*gt));
	assert_int_equal(pipe2(down, O_CLOEXEC), 0);
	assert_int_equal(pipe2(up, O_CLOEXEC), 0);
	g_opts = *go;
	gt->pid = fork();
	assert_true(gt->pid >= 0);
	if (gt->pid == 0) {
		close(down[1]);
		close(up[0]);
		gating_child(up[1], down[0]);
	}
	watchdog_watch(gt->pid);
	close(down[0]);
	close(up[1]);
	gt->to_child = down[1];
	gt->from_child = up[0];
	assert_true(read_msg(gt, &m, 20000));
	assert_int_equal(m.type, 'R');
	gt->guardian = (pid_t)m.a;
	assert_true(gt->guardian > 0);
	watchdog_watch(gt->guardian);
	gt->n_progs = progs_of(gt->pid, gt->prog_ids, 64);
	assert_true(gt->n_progs > 0);
	check_guardian_fds(gt->guardian);
}

/* Orderly: stop the gate in the child; its stats. */
static void stop_gating(struct gating *gt, struct msg *out)
{
	int status;

	assert_int_equal(write(gt->to_child, "S", 1), 1);
	assert_true(read_msg(gt, out, 10000));
	assert_int_equal(out->type, 'S');
	assert_int_equal(wait_exit(gt->pid, 10000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	gt->pid = 0;
}

static void state_of(pid_t pid, char *state)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	*state = 0;
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		*state = p[2];
	fclose(f);
}

/*
 * Afterwards nothing is left: gating process and guardian gone (the
 * guardian is reparented to us, a subreaper, if the gate died), its BPF
 * programs gone, no stray child, and an exec is decided at once.
 */
static void check_nothing_left(struct gating *gt)
{
	int status;
	long long ms;

	if (gt->pid > 0) {
		assert_int_equal(wait_exit(gt->pid, 10000, &status), 0);
		gt->pid = 0;
	}
	/* the guardian is ours to reap only if it was orphaned; either way it must go */
	for (int i = 0; i < 200 && kill(gt->guardian, 0) == 0; i++) {
		char st;

		state_of(gt->guardian, &st);
		if (st == 'Z' || st == 0) {
			waitpid(gt->guardian, &status, __WALL | WNOHANG);
			continue;
		}
		wait_exit(gt->guardian, 10, &status);
	}
	assert_int_not_equal(kill(gt->guardian, 0), 0);
	for (size_t i = 0; i < gt->n_progs; i++) {
		int fd = -1;

		/*
		 * A program id is not reused while it exists (another gate's new
		 * ones get new ids). The kernel frees links from a work queue:
		 * bounded look.
		 */
		for (int tries = 0; tries < 200; tries++) {
			fd = bpf_prog_get_fd_by_id(gt->prog_ids[i]);
			if (fd < 0)
				break;
			close(fd);
			poll(NULL, 0, 10);
		}
		if (fd >= 0)
			fail_msg("BPF program %u of the gate still exists", gt->prog_ids[i]);
	}
	/* orphans of the gate (a shell, its exec) finish once allowed: bounded look for strays */
	for (int i = 0; i < 200 && waitpid(-1, &status, __WALL | WNOHANG) != -1; i++)
		poll(NULL, 0, 10);
	assert_int_equal(waitpid(-1, &status, __WALL | WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	status = run_exec(NULL, p_true, NULL, &ms);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(ms < 250 + exec_overhead_ms);
}

static void kill_gating(struct gating *gt, int sig)
{
	assert_int_equal(kill(gt->pid, sig), 0);
}

/* A pending exec: the handler has it (its H message). */
static pid_t start_pending(struct gating *gt, const char *marker)
{
	pid_t pid = start_exec(subj, p_hold, marker);
	struct msg m;

	assert_true(read_msg(gt, &m, 5000));
	assert_int_equal(m.type, 'H');
	return pid;
}

/*
 * The unrelated exec (this test's own name: out of the gate's scope):
 * allowed within the promise whatever timeout_verdict is, the gate being
 * unable. With v DENY and in_scope, an exec of the gated name next: denied
 * by the guardian within the promise.
 */
static long long unrelated_exec_gets(enum pw_exec_verdict v, bool in_scope)
{
	long long ms, scoped_ms;
	int status = run_exec(NULL, p_true, NULL, &ms);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fprintf(stderr, "  unrelated exec: %lld ms (bound %d + %lld without a gate)\n", ms, BOUND_MS,
		exec_overhead_ms);
	assert_true(ms <= BOUND_MS + exec_overhead_ms);
	if (v == PW_EXEC_DENY && in_scope) {
		status = run_exec(subj, p_true, NULL, &scoped_ms);
		fprintf(stderr, "  in-scope exec: %lld ms\n", scoped_ms);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), EXEC_FAILED + EPERM);
		assert_true(scoped_ms <= BOUND_MS + exec_overhead_ms);
	}
	return ms;
}

static long long unrelated_exec(void)
{
	return unrelated_exec_gets(PW_EXEC_ALLOW, false);
}

/*
 * A pending exec ends with the timeout verdict (ALLOW: it ran) within the
 * promise of t0. Allowed, it is two exec-opens: its image (held: the
 * guardian answers it at the deadline) and then its ELF interpreter, which
 * nobody reads while the gate cannot: the guardian reads it within 2 x 100 ms.
 */
static void pending_gets_timeout_verdict(pid_t pid, const char *marker, long long t0,
					 enum pw_exec_verdict v)
{
	int status;
	long long ms;

	assert_int_equal(wait_exit(pid, 5000, &status), 0);
	ms = test_ms_now() - t0;
	fprintf(stderr, "  pending exec: done %lld ms after the fault (bound %d + %s%lld)\n", ms, BOUND_MS,
		v == PW_EXEC_ALLOW ? "200 + " : "", exec_overhead_ms);
	assert_true(WIFEXITED(status));
	if (v == PW_EXEC_ALLOW) {
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_true(exists(marker));
	} else {
		assert_int_equal(WEXITSTATUS(status), EXEC_FAILED + EPERM);
		assert_false(exists(marker));
	}
	assert_true(ms <= BOUND_MS + (v == PW_EXEC_ALLOW ? 200 : 0) + exec_overhead_ms);
}

static void marker_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
	unlink(buf);
}

/* ------------------------------------------------------------ tests */

/* Arm the watchdog (60 s) and start the gating process. */
static void arm_and_start_gating(struct gating *gt, const struct gating_opts *go)
{
	watchdog_arm(60000);
	start_gating(gt, go);
}

/* The end of a test: nothing of the gate left, and the watchdog disarmed. */
static void check_and_disarm(struct gating *gt)
{
	check_nothing_left(gt);
	watchdog_disarm();
}

/* arm_and_start_gating(), then a pending exec (with a fresh marker of this name). */
static pid_t gating_with_pending(struct gating *gt, const struct gating_opts *go, char *marker,
				 size_t len, const char *name)
{
	marker_path(marker, len, name);
	arm_and_start_gating(gt, go);
	return start_pending(gt, marker);
}

/* The gate SIGKILLed: an unrelated exec, then the pending one, allowed in time; nothing left. */
static void kill_gating_pending_allowed(struct gating *gt, pid_t pending, const char *marker)
{
	long long t0 = test_ms_now();

	kill_gating(gt, SIGKILL);
	unrelated_exec();
	pending_gets_timeout_verdict(pending, marker, t0, PW_EXEC_ALLOW);
	check_and_disarm(gt);
}

/* The guardian's counters and the records it made, as stop_gating() reported them. */
static void print_guardian_records(const struct msg *st)
{
	fprintf(stderr, "  guardian: %" PRIu64 " verdicts, %" PRIu64 " read by it; records 'by guardian': %lld"
		" (%lld of the held exec)\n", st->st.guardian_verdicts, st->st.guardian_read, st->b, st->a);
}

static void sigstop_with_pending(enum pw_exec_verdict v)
{
	struct gating_opts go = { .sc = SC_DEFER, .workers = 2, .timeout_verdict = v };
	struct gating gt;
	struct msg st;
	char marker[128];
	long long t0;
	pid_t pending;
	char state;

	pending = gating_with_pending(&gt, &go, marker, sizeof(marker), "stop-pending");
	t0 = test_ms_now();
	kill_gating(&gt, SIGSTOP);
	unrelated_exec_gets(v, true); /* read by the guardian: allowed, out of scope; in scope: v */
	pending_gets_timeout_verdict(pending, marker, t0, v);
	state_of(gt.guardian, &state);
	assert_int_not_equal(state, 'T');
	kill_gating(&gt, SIGCONT);
	stop_gating(&gt, &st);
	print_guardian_records(&st);
	/* the pending exec: the gate had read it; the guardian answered it at its deadline */
	assert_int_equal(st.a, 1);
	assert_int_equal(st.ungated_holds, 0); /* a gated exec, though the guardian allowed it */
	assert_true(st.st.guardian_verdicts >= 1 + st.st.guardian_read);
	assert_true(st.st.guardian_read >= 1); /* at least the unrelated exec, read while stopped */
	check_and_disarm(&gt);
}

static void test_sigstop_pending(void **state)
{
	(void)state;
	require_bpf();
	sigstop_with_pending(PW_EXEC_ALLOW);
	sigstop_with_pending(PW_EXEC_DENY); /* fail-closed for this run's subjects only */
}

/*
 * The handler's child of scenario sc reaches us as a message of this type
 * (into m, for the caller's checks); then the gate is SIGKILLed with an exec
 * pending, which is allowed in time, nothing left behind.
 */
static void sigkill_after_handler_child(enum scenario sc, const char *name, char type, struct msg *m)
{
	struct gating_opts go = { .sc = sc, .workers = 2, .timeout_verdict = PW_EXEC_ALLOW };
	struct gating gt;
	char marker[128];
	pid_t pending;

	require_bpf();
	pending = gating_with_pending(&gt, &go, marker, sizeof(marker), name);
	assert_true(read_msg(&gt, m, 5000));
	assert_int_equal(m->type, type);
	kill_gating_pending_allowed(&gt, pending, marker);
}

static void test_sigkill_posix_spawn(void **state)
{
	struct msg m;

	(void)state;
	/* the handler's posix_spawn child shares the gate's mm: its exec is the gate's own, at once */
	sigkill_after_handler_child(SC_POSIX_SPAWN, "spawn-pending", 'P', &m);
	fprintf(stderr, "  posix_spawn child of the handler ran in %lld ms\n", m.a);
	assert_true(m.a < T_MS / 2);
}

static void test_sigkill_system_child(void **state)
{
	struct msg m;

	(void)state;
	/* system()'s shell execs pwl-sys: a descendant of the gate, gated, deferred by the handler */
	sigkill_after_handler_child(SC_SYSTEM, "system-pending", 'H', &m);
	assert_int_equal(m.b, 1);
}

static bool read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return false;
	buf[n] = 0;
	return true;
}

/*
 * The handler segfaults while core_pattern pipes to a helper. With a deny
 * timeout verdict too, the helper runs: the guardian allows the kernel's
 * usermode helpers (children of kthreadd), or the core would be lost.
 */
static void segfault_pipe_core_pattern(enum pw_exec_verdict v)
{
	struct gating_opts go = { .sc = SC_SEGFAULT, .workers = 2, .timeout_verdict = v };
	char pattern[300], marker[128], core_marker[160], core_file[160];
	struct gating gt;
	struct stat sb;
	long long t0;
	pid_t pending;
	int status, fd;

	require_bpf();
	if (!read_file(CORE_PATTERN, saved_core_pattern, sizeof(saved_core_pattern)))
		skip();
	marker_path(marker, sizeof(marker), "core-pending");
	/* the helper (pwl-core) writes these next to itself: no core is lost */
	snprintf(core_marker, sizeof(core_marker), "%s/pwl-core-ran", dir);
	snprintf(core_file, sizeof(core_file), "%s/pwl-core-data", dir);
	unlink(core_marker);
	unlink(core_file);
	arm_and_start_gating(&gt, &go);
	snprintf(pattern, sizeof(pattern), "|%s %%p", p_core);
	atomic_store(&core_pattern_changed, true);
	fd = open(CORE_PATTERN, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pattern, strlen(pattern)), (ssize_t)strlen(pattern));
	close(fd);
	pending = start_pending(&gt, marker); /* the handler segfaults on it */
	t0 = test_ms_now();
	/* (no in-scope exec here: once the gate is dead, nothing gates it) */
	unrelated_exec_gets(v, false);
	pending_gets_timeout_verdict(pending, marker, t0, v);
	assert_int_equal(wait_exit(gt.pid, 10000, &status), 0);
	gt.pid = 0;
	restore_core_pattern();
	fprintf(stderr, "  gating process: %s %d%s\n", WIFSIGNALED(status) ? "signal" : "exit",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
		WIFSIGNALED(status) && WCOREDUMP(status) ? " (core dumped)" : "");
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	assert_true(WCOREDUMP(status));
	/* the helper ran and got the core (it may still be writing: wait for its marker) */
	for (int i = 0; i < 100 && !exists(core_marker); i++)
		poll(NULL, 0, 20); /* the helper is not ours to wait for: bounded look */
	assert_true(exists(core_marker));
	for (int i = 0; i < 100 && (stat(core_file, &sb) || sb.st_size == 0); i++)
		poll(NULL, 0, 20);
	assert_int_equal(stat(core_file, &sb), 0);
	fprintf(stderr, "  core helper got %lld bytes of core\n", (long long)sb.st_size);
	assert_true(sb.st_size > 0);
	check_and_disarm(&gt);
}

static void test_segfault_pipe_core_pattern(void **state)
{
	(void)state;
	segfault_pipe_core_pattern(PW_EXEC_ALLOW);
}

static void test_segfault_pipe_core_pattern_deny(void **state)
{
	(void)state;
	segfault_pipe_core_pattern(PW_EXEC_DENY);
}

static void test_stuck_handlers(void **state)
{
	struct gating_opts go = { .sc = SC_STUCK, .workers = 2, .timeout_verdict = PW_EXEC_ALLOW };
	char marker[3][128];
	struct gating gt;
	long long t0;
	pid_t pending[3];

	(void)state;
	require_bpf();
	arm_and_start_gating(&gt, &go);
	t0 = test_ms_now();
	/* two handler threads (the reader and one worker) stuck for good, a third request queued */
	for (int i = 0; i < 2; i++) {
		char name[32];

		snprintf(name, sizeof(name), "stuck-%d", i);
		marker_path(marker[i], sizeof(marker[i]), name);
		pending[i] = start_pending(&gt, marker[i]);
	}
	marker_path(marker[2], sizeof(marker[2]), "stuck-queued");
	pending[2] = start_exec(subj, p_hold, marker[2]);
	unrelated_exec();
	for (int i = 0; i < 3; i++)
		pending_gets_timeout_verdict(pending[i], marker[i], t0, PW_EXEC_ALLOW);
	/* the handlers never return: stop would wait for them forever; kill the process */
	kill_gating(&gt, SIGKILL);
	check_and_disarm(&gt);
}

static void test_stop_process_group(void **state)
{
	struct gating_opts go = { .sc = SC_DEFER, .workers = 2, .timeout_verdict = PW_EXEC_ALLOW };
	struct gating gt;
	char marker[128], st_guard, st_gate;
	struct msg st;
	long long t0;
	pid_t pending;

	(void)state;
	require_bpf();
	pending = gating_with_pending(&gt, &go, marker, sizeof(marker), "pgrp-pending");
	t0 = test_ms_now();
	assert_int_equal(kill(-gt.pid, SIGSTOP), 0); /* the gating process leads its own group */
	unrelated_exec();
	pending_gets_timeout_verdict(pending, marker, t0, PW_EXEC_ALLOW);
	state_of(gt.pid, &st_gate);
	state_of(gt.guardian, &st_guard);
	assert_int_equal(st_gate, 'T');
	assert_int_not_equal(st_guard, 'T'); /* its own session and group */
	assert_int_equal(kill(-gt.pid, SIGCONT), 0);
	stop_gating(&gt, &st);
	print_guardian_records(&st);
	assert_int_equal(st.a, 1);
	check_and_disarm(&gt);
}

/* SIGSTOP the gating process, and wait (bounded) until it is stopped (state T), not just signalled. */
static void stop_gating_until_stopped(struct gating *gt)
{
	char state_gate = 0;

	kill_gating(gt, SIGSTOP);
	for (int i = 0; i < 500 && state_gate != 'T'; i++) {
		state_of(gt->pid, &state_gate);
		if (state_gate != 'T')
			poll(NULL, 0, 2);
	}
	assert_int_equal(state_gate, 'T');
}

/*
 * A gate that is slow to read, not dead: stopped for less than its
 * timeout_ms while an exec waits unread, then running again. The exec is
 * its to judge (the handler allows it once the gate runs), not the
 * guardian's: an exec the gate would have read at once could not have
 * timed out yet either. (Under a sanitizer or on a loaded machine a gate
 * can be this slow, and the guardian must not overrule it.)
 */
static void test_slow_gate_not_overruled(void **state)
{
	struct gating_opts go = { .sc = SC_DEFER, .workers = 2, .timeout_verdict = PW_EXEC_ALLOW,
				  .timeout_ms = 3000 };
	struct pw_gate_stats s0, s1;
	struct gating gt;
	struct msg st;
	int status;
	pid_t pid;

	(void)state;
	require_bpf();
	arm_and_start_gating(&gt, &go);
	query_gating(&gt, &s0);
	stop_gating_until_stopped(&gt);
	pid = start_exec(subj, p_true, NULL);
	/* 600 ms unread: well past the guardian's old 100 ms stall window, well within timeout_ms */
	assert_int_equal(wait_exit(pid, 600, &status), -1);
	kill_gating(&gt, SIGCONT);
	assert_int_equal(wait_exit(pid, 5000, &status), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	query_gating(&gt, &s1);
	stop_gating(&gt, &st);
	fprintf(stderr, "  after a 600 ms stop: guardian %" PRIu64 " verdicts (%" PRIu64 " read by it), handler %"
		PRIu64 " verdicts, %" PRIu64 " ungated meanwhile\n", s1.guardian_verdicts, s1.guardian_read,
		s1.by_handler - s0.by_handler, s1.ungated - s0.ungated);
	/* nothing waited 3 s unread, on the whole machine: the guardian answered nothing */
	assert_int_equal(s1.guardian_verdicts, 0);
	assert_int_equal(s1.guardian_read, 0);
	assert_true(s1.by_handler - s0.by_handler >= 1);
	assert_int_equal(st.ungated_holds, 0);
	check_and_disarm(&gt);
}

/*
 * An exec the gate reads late (stopped 500 ms, less than its timeout_ms of
 * 1000) and then cannot answer (stopped again): its deadline counts from
 * its execve, not from the late read, so it still ends within timeout_ms +
 * 250 ms (+ 200 ms for its interpreter, +exec time) of being started.
 * Counted from the read it would take 1540 ms.
 */
static void test_late_read_keeps_promise(void **state)
{
	struct gating_opts go = { .sc = SC_DEFER, .workers = 2, .timeout_verdict = PW_EXEC_ALLOW,
				  .timeout_ms = 1000 };
	struct gating gt;
	struct msg m, st;
	char marker[128];
	long long t0, ms;
	int status;
	pid_t pid;

	(void)state;
	require_bpf();
	marker_path(marker, sizeof(marker), "late-read");
	arm_and_start_gating(&gt, &go);
	stop_gating_until_stopped(&gt);
	t0 = test_ms_now();
	pid = start_exec(subj, p_hold, marker);
	assert_int_equal(wait_exit(pid, 500, &status), -1); /* unread, and not taken by the guardian */
	kill_gating(&gt, SIGCONT);
	assert_true(read_msg(&gt, &m, 5000));
	assert_int_equal(m.type, 'H');
	kill_gating(&gt, SIGSTOP); /* read late, deferred, and now nobody answers but the guardian */
	assert_int_equal(wait_exit(pid, 5000, &status), 0);
	ms = test_ms_now() - t0;
	fprintf(stderr, "  exec read after a 500 ms stop: done %lld ms after it started (bound 1000 + 250 + 200 + %lld)\n",
		ms, exec_overhead_ms);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(exists(marker));
	assert_true(ms <= 1000 + 250 + 200 + exec_overhead_ms);
	kill_gating(&gt, SIGCONT);
	stop_gating(&gt, &st);
	assert_int_equal(st.a, 1); /* the guardian answered it, the gate recorded so */
	assert_int_equal(st.ungated_holds, 0);
	check_and_disarm(&gt);
}

/*
 * A stopped fail-closed gate fails closed only for what it gates: with a
 * long timeout_ms and DENY, an exec out of its scope (this test's own
 * name) runs at once while the gate is SIGSTOPped, and one of the gated
 * name is denied by the guardian.
 */
#define SCOPE_T_MS 3000
static void test_stopped_scoped_gate_denies_only_its_own(void **state)
{
	struct gating_opts go = { .sc = SC_DEFER, .workers = 2, .timeout_verdict = PW_EXEC_DENY,
				  .timeout_ms = SCOPE_T_MS };
	struct gating gt;
	struct msg st;
	long long ms, out_ms[2];
	int status;
	char pstate = 0;

	(void)state;
	require_bpf();
	arm_and_start_gating(&gt, &go);
	kill_gating(&gt, SIGSTOP);
	for (int i = 0; i < 500 && pstate != 'T'; i++) { /* the stop is asynchronous: wait for it, bounded */
		state_of(gt.pid, &pstate);
		if (pstate != 'T')
			sched_yield();
	}
	assert_int_equal(pstate, 'T');
	for (int i = 0; i < 2; i++) {
		status = run_exec(NULL, p_true, NULL, &out_ms[i]);
		fprintf(stderr, "  out-of-scope exec %d: %lld ms (timeout_ms %d)\n", i, out_ms[i], SCOPE_T_MS);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		/* well before timeout_ms: not a stall window spent waiting for the stopped gate */
		assert_true(out_ms[i] <= SCOPE_T_MS / 3 + exec_overhead_ms);
	}
	status = run_exec(subj, p_true, NULL, &ms);
	fprintf(stderr, "  in-scope exec: denied after %lld ms\n", ms);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EXEC_FAILED + EPERM);
	assert_true(ms <= SCOPE_T_MS + 250 + exec_overhead_ms);
	kill_gating(&gt, SIGCONT);
	stop_gating(&gt, &st);
	fprintf(stderr, "  guardian: %" PRIu64 " verdicts, %" PRIu64 " read by it, %" PRIu64 " out of scope\n",
		st.st.guardian_verdicts, st.st.guardian_read, st.st.guardian_out_of_scope);
	/* two execs, each its image and its ELF interpreter; the machine's own may add more */
	assert_true(st.st.guardian_out_of_scope >= 4);
	assert_true(st.st.guardian_verdicts >= st.st.guardian_out_of_scope + 1); /* + the denied one */
	check_and_disarm(&gt);
}

static void test_kill_on_missed_deadline(void **state)
{
	struct gating_opts go = { .sc = SC_DEFER, .workers = 2, .kill_after = 2,
				  .timeout_verdict = PW_EXEC_ALLOW };
	char marker[2][128];
	struct gating gt;
	pid_t pending[2];
	long long t0;
	int status;

	(void)state;
	require_bpf();
	arm_and_start_gating(&gt, &go);
	marker_path(marker[0], sizeof(marker[0]), "kill-0");
	marker_path(marker[1], sizeof(marker[1]), "kill-1");
	pending[0] = start_pending(&gt, marker[0]);
	pending[1] = start_pending(&gt, marker[1]);
	t0 = test_ms_now();
	kill_gating(&gt, SIGSTOP); /* two deadlines missed in a row: the guardian kills it */
	pending_gets_timeout_verdict(pending[0], marker[0], t0, PW_EXEC_ALLOW);
	pending_gets_timeout_verdict(pending[1], marker[1], t0, PW_EXEC_ALLOW);
	assert_int_equal(wait_exit(gt.pid, 5000, &status), 0);
	gt.pid = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	fprintf(stderr, "  gating process killed %lld ms after it stopped\n", test_ms_now() - t0);
	check_and_disarm(&gt);
}

static void test_exec_self_while_gating(void **state)
{
	struct gating_opts go = { .sc = SC_DEFER, .workers = 2, .timeout_verdict = PW_EXEC_ALLOW };
	struct gating gt;
	char st = 'R';
	long long t0;
	int status;

	(void)state;
	require_bpf();
	arm_and_start_gating(&gt, &go);
	t0 = test_ms_now();
	assert_int_equal(write(gt.to_child, "E", 1), 1);
	/* its liveness pipe closed on exec: the guardian answers what is left and exits */
	for (int i = 0; i < 500; i++) {
		state_of(gt.guardian, &st);
		if (st == 'Z' || st == 0)
			break;
		poll(NULL, 0, 10); /* bounded look at another process's state */
	}
	fprintf(stderr, "  guardian gone %lld ms after the exec (state %c)\n", test_ms_now() - t0, st ? st : '-');
	assert_true(st == 'Z' || st == 0);
	unrelated_exec();
	/* the exec'd program still runs (it was the exec, not a death): it sleeps in pause() */
	for (int i = 0; i < 500; i++) {
		state_of(gt.pid, &st);
		if (st == 'S')
			break;
		poll(NULL, 0, 10);
	}
	assert_int_equal(st, 'S');
	kill_gating(&gt, SIGKILL);
	assert_int_equal(wait_exit(gt.pid, 5000, &status), 0);
	gt.pid = 0;
	check_and_disarm(&gt);
}

/* utime + stime of a process, in clock ticks. */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static long long wakeups(pid_t pid)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static void test_idle_guardian_costs_nothing(void **state)
{
	struct gating_opts go = { .sc = SC_DEFER, .workers = 2, .timeout_verdict = PW_EXEC_ALLOW };
	struct gating gt;
	struct msg st;
	struct pw_gate_stats s0, s1;
	long long c0, c1, w0, w1, ns0, ns1, sl0, sl1;
	int efd;
	struct pollfd p;

	(void)state;
	require_bpf();
	arm_and_start_gating(&gt, &go);
	/* what start-up left (the first look at the queue) is over within a look period */
	efd = eventfd(0, EFD_CLOEXEC);
	p = (struct pollfd){ .fd = efd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 300), 0);
	query_gating(&gt, &s0);
	c0 = cpu_ticks(gt.guardian);
	w0 = wakeups(gt.guardian);
	schedstat_of(gt.guardian, &ns0, &sl0);
	/* a 2 s measurement window (waiting on an eventfd nobody writes) */
	assert_int_equal(poll(&p, 1, 2000), 0);
	close(efd);
	schedstat_of(gt.guardian, &ns1, &sl1);
	c1 = cpu_ticks(gt.guardian);
	w1 = wakeups(gt.guardian);
	query_gating(&gt, &s1);
	/*
	 * The machine is shared: other people's execs go through this gate too,
	 * and each exec-open may wake an idle guardian twice (the queue, then
	 * the end of its look period). Without execs it would not run at all:
	 * no polling, no timer.
	 */
	fprintf(stderr, "  idle guardian over 2 s: %lld ns of CPU in %lld timeslices, %lld wake-ups, %lld ticks; "
		"the gate answered %" PRIu64 " exec-opens meanwhile (%.1f us per wake-up)\n",
		ns1 - ns0, sl1 - sl0, w1 - w0, c1 - c0, s1.decisions - s0.decisions,
		w1 > w0 ? (double)(ns1 - ns0) / 1000.0 / (double)(w1 - w0) : 0.0);
	assert_true(c0 >= 0 && c1 >= 0 && ns0 >= 0 && ns1 >= 0);
	assert_int_equal(c1 - c0, 0);
	/* (+2: an exec-open answered just before the window may wake it once or twice in it) */
	assert_true(w1 - w0 <= 2 * (long long)(s1.decisions - s0.decisions) + 2);
	if (s1.decisions == s0.decisions)
		assert_true(w1 - w0 <= 2);
	stop_gating(&gt, &st);
	check_and_disarm(&gt);
}

/* ------------------------------------------------------------ main */

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(subj, sizeof(subj), "pwl-s%d", (int)(getpid() % 1000000));
	snprintf(dir, sizeof(dir), "/tmp/pw-gate-live-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(p_true, sizeof(p_true), "%s/pwl-true", dir);
	snprintf(p_hold, sizeof(p_hold), "%s/pwl-hold", dir);
	snprintf(p_spawned, sizeof(p_spawned), "%s/pwl-spawned", dir);
	snprintf(p_sys, sizeof(p_sys), "%s/pwl-sys", dir);
	snprintf(p_core, sizeof(p_core), "%s/pwl-core", dir);
	copy_self(p_core);
	copy_self(p_true);
	copy_self(p_hold);
	copy_self(p_spawned);
	copy_self(p_sys);
	snprintf(p_wait, sizeof(p_wait), "%s/pwl-wait", dir);
	copy_self(p_wait);
	/* orphans (a guardian whose gate died) come to us, to be reaped and checked */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	for (int i = 0; i < 3; i++) {
		long long ms;
		int status = run_exec(NULL, p_true, NULL, &ms);

		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (ms > exec_overhead_ms)
			exec_overhead_ms = ms;
	}
	fprintf(stderr, "an exec without a gate: %lld ms at most\n", exec_overhead_ms);
	return 0;
}

/*
 * After each test, passed or failed: nothing of it may outlive it (a failed
 * assertion leaves a stopped gate behind otherwise).
 */
static int kill_leftovers(void **state)
{
	int status;

	(void)state;
	for (int i = 0; i < 8; i++)
		if (watch_pids[i] > 0) {
			kill(watch_pids[i], SIGCONT);
			kill(watch_pids[i], SIGKILL);
		}
	restore_core_pattern();
	watchdog_disarm();
	memset(watch_pids, 0, sizeof(watch_pids));
	for (int i = 0; i < 200 && waitpid(-1, &status, __WALL | WNOHANG) != -1; i++)
		poll(NULL, 0, 10);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	restore_core_pattern();
	remove_tree(dir);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sigstop_pending, kill_leftovers),
		cmocka_unit_test_teardown(test_sigkill_posix_spawn, kill_leftovers),
		cmocka_unit_test_teardown(test_sigkill_system_child, kill_leftovers),
		cmocka_unit_test_teardown(test_segfault_pipe_core_pattern, kill_leftovers),
		cmocka_unit_test_teardown(test_segfault_pipe_core_pattern_deny, kill_leftovers),
		cmocka_unit_test_teardown(test_stuck_handlers, kill_leftovers),
		cmocka_unit_test_teardown(test_stop_process_group, kill_leftovers),
		cmocka_unit_test_teardown(test_slow_gate_not_overruled, kill_leftovers),
		cmocka_unit_test_teardown(test_late_read_keeps_promise, kill_leftovers),
		cmocka_unit_test_teardown(test_stopped_scoped_gate_denies_only_its_own, kill_leftovers),
		cmocka_unit_test_teardown(test_kill_on_missed_deadline, kill_leftovers),
		cmocka_unit_test_teardown(test_exec_self_while_gating, kill_leftovers),
		cmocka_unit_test_teardown(test_idle_guardian_costs_nothing, kill_leftovers),
	};

	run_as_program(argc, argv);
	return cmocka_run_group_tests_name("gate liveness", tests, setup, teardown);
}
