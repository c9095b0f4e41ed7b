// SPDX-License-Identifier: MIT
/*
 * test_gate.c - the exec gate against the real kernel. Every rule is scoped
 * to programs copied into this test's own temporary directory or to
 * processes this test names (prctl) or spawns: a bug must never deny or
 * stall the machine's own programs. A watchdog alarm kills the test (the
 * kernel then releases any waiting exec) if anything hangs.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define EXEC_FAILED_BASE 200 /* child exit code: EXEC_FAILED_BASE + errno of execv */

static char dir[64];
static char p_true[128], p_touch[128], p_interp[128], p_script[128], p_script2[128];

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void copy_file(const char *from, const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp %s %s && chmod 755 %s", from, to, to);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static int setup(void **state)
{
	char text[256];

	(void)state;
	if (geteuid() != 0)
		return 0;
	snprintf(dir, sizeof(dir), "/tmp/pw-gate-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(p_true, sizeof(p_true), "%s/pwg-true", dir);
	snprintf(p_touch, sizeof(p_touch), "%s/pwg-touch", dir);
	snprintf(p_interp, sizeof(p_interp), "%s/pwg-sh", dir);
	snprintf(p_script, sizeof(p_script), "%s/script.sh", dir);
	snprintf(p_script2, sizeof(p_script2), "%s/script2.sh", dir);
	copy_file("/bin/true", p_true);
	copy_file("/bin/touch", p_touch);
	copy_file("/bin/sh", p_interp);
	snprintf(text, sizeof(text), "#!/bin/sh\ntouch \"$1\"\n");
	write_file(p_script, text, 0755);
	snprintf(text, sizeof(text), "#!%s\ntouch \"$1\"\n", p_interp);
	write_file(p_script2, text, 0755);
	alarm(240); /* watchdog: SIGALRM kills us, and the kernel releases every waiting exec */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(dir);
	return 0;
}

/* fork; the child names itself (comm) and execs; returns its pid. */
static pid_t spawn_named(const char *comm, const char *path, char *const argv[])
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (comm)
			prctl(PR_SET_NAME, comm);
		execv(path, argv);
		_exit(EXEC_FAILED_BASE + errno);
	}
	return pid;
}

static int run_named(const char *comm, const char *path, char *const argv[], long long *elapsed_ms)
{
	long long t0 = ms_now();
	int status = wait_status(spawn_named(comm, path, argv));

	if (elapsed_ms)
		*elapsed_ms = ms_now() - t0;
	return status;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void log_cb(enum pw_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= PW_LOG_WARN && !strstr(msg, "cannot gate"))
		fprintf(stderr, "gate log: %s\n", msg);
}

static struct pw_gate *gate_with(struct pw_gate_opts *opts, const char *const *rules)
{
	struct pw_gate *g = NULL;

	opts->log = log_cb;
	assert_int_equal(pw_gate_new(opts, &g), 0);
	for (; rules && *rules; rules++)
		assert_int_equal(pw_gate_add_rule_text(g, *rules), 0);
	assert_int_equal(pw_gate_start(g), 0);
	return g;
}

/* One exec of pwg-true as `comm` under a gate of opts and rules: its wait status; *st: the gate's counters after it. */
static int run_true_gated(struct pw_gate_opts *opts, const char *const *rules, const char *comm,
			  struct pw_gate_stats *st)
{
	struct pw_gate *g = gate_with(opts, rules);
	int status = run_named(comm, p_true, (char *[]){ "pwg-true", NULL }, NULL);

	pw_gate_stats(g, st);
	pw_gate_free(g);
	return status;
}

static char *rule_fmt(const char *fmt, const char *arg)
{
	static char buf[4][256];
	static int i;
	char *b = buf[i++ % 4];

	snprintf(b, 256, fmt, arg);
	return b;
}

/* -------------------------------------------------------------- tests */

static void test_deny_path_allow_other(void **state)
{
	char marker[128];
	PW_OPTS(pw_gate_opts, o);
	const char *rules[] = { rule_fmt("deny path %s", p_touch), NULL };
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g;
	int status;

	(void)state;
	require_bpf();
	snprintf(marker, sizeof(marker), "%s/denied-ran", dir);
	g = gate_with(&o, rules);
	status = run_named(NULL, p_touch, (char *[]){ "pwg-touch", marker, NULL }, NULL);
	/* allowed: a program no rule names runs */
	int ok = run_named(NULL, p_true, (char *[]){ "pwg-true", NULL }, NULL);
	pw_gate_stats(g, &st);
	pw_gate_free(g);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EXEC_FAILED_BASE + EPERM);
	assert_false(exists(marker));
	assert_true(WIFEXITED(ok));
	assert_int_equal(WEXITSTATUS(ok), 0);
	/* exactly one: the only rule names our copy of touch, and the rest is allowed */
	assert_int_equal(st.denied, 1);
	assert_int_equal(st.by_rule, 1);
}

static void test_deny_errno(void **state)
{
	PW_OPTS(pw_gate_opts, o);
	const char *rules[] = { rule_fmt("deny errno EAGAIN path %s", p_true), NULL };
	struct pw_gate *g;
	int status;
	bool errno_ok;

	(void)state;
	require_bpf();
	g = gate_with(&o, rules);
	errno_ok = pw_gate_deny_errno_supported(g);
	status = run_named(NULL, p_true, (char *[]){ "pwg-true", NULL }, NULL);
	pw_gate_free(g);
	fprintf(stderr, "deny errno supported: %s\n", errno_ok ? "yes" : "no");
	assert_int_equal(WEXITSTATUS(status), EXEC_FAILED_BASE + (errno_ok ? EAGAIN : EPERM));
}

static void test_script_denied(void **state)
{
	char m1[128], m2[128];
	PW_OPTS(pw_gate_opts, o);
	const char *rules[] = { rule_fmt("deny path %s", p_script), rule_fmt("deny path %s", p_interp),
				NULL };
	struct pw_gate *g;
	int s1, s2;

	(void)state;
	require_bpf();
	snprintf(m1, sizeof(m1), "%s/script-ran", dir);
	snprintf(m2, sizeof(m2), "%s/script2-ran", dir);
	g = gate_with(&o, rules);
	s1 = run_named(NULL, p_script, (char *[]){ "script.sh", m1, NULL }, NULL);
	s2 = run_named(NULL, p_script2, (char *[]){ "script2.sh", m2, NULL }, NULL);
	pw_gate_free(g);
	assert_int_equal(WEXITSTATUS(s1), EXEC_FAILED_BASE + EPERM);
	assert_int_equal(WEXITSTATUS(s2), EXEC_FAILED_BASE + EPERM);
	assert_false(exists(m1));
	assert_false(exists(m2));
}

struct seen {
	pthread_mutex_t mu;
	int calls;
	char argv[8][64];
	int argc;
	char image[256], name[16], filename[256];
	bool interp;         /* the last call was an interpreter open */
	int interp_calls;
	pid_t pid;
	int sleep_ms;        /* before the verdict */
	int extend_ms;       /* extend once by this before sleeping */
	enum pw_exec_verdict verdict;
	int verdict_ret;
	int handler_ret;
	unsigned int flags;  /* pw_exec_flags() */
	size_t args_bytes;   /* all captured arguments, NULs included */
	bool args_after;     /* read argv only after the verdict */
};

static int handler(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	struct seen *s = ud;
	int ret;

	(void)g;
	pthread_mutex_lock(&s->mu);
	s->calls++;
	if (s->args_after) {
		s->verdict_ret = pw_exec_allow(req);
		s->argc = (int)pw_exec_argc(req);
		s->flags = pw_exec_flags(req);
		pthread_mutex_unlock(&s->mu);
		return 0;
	}
	s->argc = (int)pw_exec_argc(req);
	s->flags = pw_exec_flags(req);
	s->args_bytes = 0;
	for (int i = 0; i < s->argc; i++) {
		if (i < 8)
			snprintf(s->argv[i], sizeof(s->argv[i]), "%s", pw_exec_arg(req, i));
		s->args_bytes += strlen(pw_exec_arg(req, i)) + 1;
	}
	snprintf(s->image, sizeof(s->image), "%s", pw_exec_image(req) ?: "");
	snprintf(s->name, sizeof(s->name), "%s", pw_exec_name(req) ?: "");
	snprintf(s->filename, sizeof(s->filename), "%s", pw_exec_filename(req) ?: "");
	s->pid = pw_exec_pid(req);
	s->interp = pw_exec_is_interpreter(req);
	s->interp_calls += s->interp;
	pthread_mutex_unlock(&s->mu);
	if (s->extend_ms)
		assert_int_equal(pw_exec_extend(req, s->extend_ms), 0);
	if (s->sleep_ms)
		usleep(s->sleep_ms * 1000);
	if (s->handler_ret)
		return s->handler_ret;
	ret = s->verdict == PW_EXEC_DENY ? pw_exec_deny(req, 0) : pw_exec_allow(req);
	pthread_mutex_lock(&s->mu); /* handlers run on several threads at once */
	s->verdict_ret = ret;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* argv read from the waiting process (default), or copied in the kernel at execve entry. */
static void argv_case(bool in_kernel)
{
	struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER, .verdict = PW_EXEC_ALLOW };
	PW_OPTS(pw_gate_opts, o, .handler = handler, .userdata = &s, .timeout_ms = 2000,
		.argv_in_kernel = in_kernel);
	const char *rules[] = { "gate by-name pwgt-argv", NULL };
	struct pw_gate *g;
	pid_t pid;
	int status;

	g = gate_with(&o, rules);
	pid = spawn_named("pwgt-argv", p_true, (char *[]){ "pwg-true", "alpha", "beta gamma", NULL });
	status = wait_status(pid);
	pw_gate_free(g);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(s.calls, 1); /* ld.so is an interpreter open: rules only by default */
	assert_int_equal(s.argc, 3);
	assert_string_equal(s.argv[0], "pwg-true");
	assert_string_equal(s.argv[1], "alpha");
	assert_string_equal(s.argv[2], "beta gamma");
	assert_string_equal(s.image, p_true);
	assert_string_equal(s.filename, p_true);
	assert_string_equal(s.name, "pwgt-argv");
	assert_int_equal(s.pid, pid);
	assert_int_equal(s.flags, 0);
}

static void test_handler_sees_new_argv(void **state)
{
	(void)state;
	require_bpf();
	argv_case(false);
	argv_case(true);
}

/*
 * The gate reads the filename and the argv pointers in one call, each up to
 * its page end, and reads on where they continue: a filename, a pointer
 * array and an argument that each straddle a page boundary are read whole.
 * The exec's ELF interpreter (ld.so), asked about too, sees the same argv
 * (kept from the main image's read, by tid and exec id), also after a
 * handler that took its time over the main image (sleep_ms).
 */
static void argv_pages_case(int sleep_ms)
{
	struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER, .verdict = PW_EXEC_ALLOW, .sleep_ms = sleep_ms };
	PW_OPTS(pw_gate_opts, o, .handler = handler, .userdata = &s, .timeout_ms = 2000,
		.interpreters = PW_GATE_INTERP_HANDLER);
	const char *rules[] = { "gate by-name pwgt-pages", NULL };
	const long page = sysconf(_SC_PAGESIZE);
	struct pw_gate *g;
	pid_t pid;
	int status;

	g = gate_with(&o, rules);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *base = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *filename, *arg1, **argv;

		if (base == MAP_FAILED)
			_exit(EXEC_FAILED_BASE + errno);
		filename = base + page - 5; /* 5 bytes in page 0, the rest in page 1 */
		strcpy(filename, p_true);
		argv = (char **)(base + 2 * page - 2 * sizeof(char *)); /* 2 pointers in page 1, 2 in page 2 */
		arg1 = base + 3 * page - 3; /* "alp" in page 2, "ha-beta" in page 3 */
		strcpy(arg1, "alpha-beta");
		argv[0] = "pwg-true";
		argv[1] = arg1;
		argv[2] = "gamma";
		argv[3] = NULL;
		prctl(PR_SET_NAME, "pwgt-pages");
		execv(filename, argv);
		_exit(EXEC_FAILED_BASE + errno);
	}
	status = wait_status(pid);
	pw_gate_free(g);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(s.calls, 2); /* the image, then ld.so */
	assert_int_equal(s.interp_calls, 1);
	assert_true(s.interp); /* what s holds is ld.so's request */
	assert_int_equal(s.argc, 3);
	assert_string_equal(s.argv[0], "pwg-true");
	assert_string_equal(s.argv[1], "alpha-beta");
	assert_string_equal(s.argv[2], "gamma");
	assert_string_equal(s.filename, p_true);
	assert_int_equal(s.flags, 0);
	assert_int_equal(s.pid, pid);
}

static void test_argv_across_pages(void **state)
{
	(void)state;
	require_bpf();
	argv_pages_case(0);
	argv_pages_case(80); /* ld.so's open comes 80 ms after the execve's entry */
}

/* The requests for one pid's exec of pwg-true (the gate is unscoped: every other exec is allowed). */
struct reuse_seen {
	pthread_mutex_t mu;
	pid_t pid;
	int calls;
	bool interp, held;
	char name[16];
};

static int reuse_handler(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	struct reuse_seen *s = ud;
	const char *image = pw_exec_image(req);

	(void)g;
	pthread_mutex_lock(&s->mu);
	if (image && !strcmp(image, p_true) && s->pid && pw_exec_tid(req) == s->pid) {
		s->calls++;
		s->interp = pw_exec_is_interpreter(req);
		s->held = pw_exec_flags(req) & PW_EXEC_HELD;
		snprintf(s->name, sizeof(s->name), "%s", pw_exec_name(req) ?: "");
	}
	pthread_mutex_unlock(&s->mu);
	return pw_exec_allow(req);
}

/* execve through the 32-bit entry (int $0x80): it fires no syscalls:sys_enter_execve. */
static void exec_via_int80(const char *path)
{
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	uint32_t *argv, *envp;
	long ret;

	if (m == MAP_FAILED)
		_exit(EXEC_FAILED_BASE + errno);
	snprintf(m, 2048, "%s", path);
	strcpy(m + 2048, "pwg-true");
	argv = (uint32_t *)(m + 3072);
	argv[0] = (uint32_t)(uintptr_t)(m + 2048);
	argv[1] = 0;
	envp = argv + 2;
	envp[0] = 0;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(11), "b"((uint32_t)(uintptr_t)m), "c"((uint32_t)(uintptr_t)argv),
			   "d"((uint32_t)(uintptr_t)envp)
			 : "memory");
	_exit(EXEC_FAILED_BASE + (int)-ret);
}

/*
 * A task under a reused tid is not joined to the exited thread's execve
 * record. The BPF side records each execve's entry by tid; an exec that
 * makes no record (a kernel helper; here a 32-bit execve, which fires no
 * execve tracepoint) under the tid of a thread that exec'd and exited used
 * to get that thread's name and exec id, and was then taken for its
 * interpreter: not asked about, and held at exec for want of a mark. The
 * records now end with their thread. The pid is reused by writing
 * ns_last_pid (the allocator's cursor: nothing to restore); if another
 * process takes it first, the test skips.
 */
static void test_reused_tid_not_joined(void **state)
{
	struct reuse_seen s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	PW_OPTS(pw_gate_opts, o, .handler = reuse_handler, .userdata = &s, .timeout_ms = 2000);
	struct pw_gate_stats st = { .sz = sizeof(st) };
	char probe[32] = "", want[32];
	struct pw_gate *g;
	pid_t first, second;
	int status;
	FILE *f;

	(void)state;
	require_bpf();
	f = fopen("/proc/sys/kernel/ns_last_pid", "re");
	if (!f || !fgets(probe, sizeof(probe), f)) {
		if (f)
			fclose(f);
		fprintf(stderr, "SKIP: no /proc/sys/kernel/ns_last_pid\n");
		skip();
	}
	fclose(f);
	g = gate_with(&o, NULL);
	first = spawn_named("pwgt-old", p_true, (char *[]){ "pwg-true", NULL });
	pthread_mutex_lock(&s.mu);
	s.pid = first;
	pthread_mutex_unlock(&s.mu);
	assert_int_equal(WEXITSTATUS(wait_status(first)), 0);
	pthread_mutex_lock(&s.mu);
	s.pid = 0; /* the first exec may have been decided before s.pid was set: not counted */
	s.calls = 0;
	pthread_mutex_unlock(&s.mu);

	snprintf(want, sizeof(want), "%d", first - 1);
	f = fopen("/proc/sys/kernel/ns_last_pid", "we");
	assert_non_null(f);
	fputs(want, f);
	fclose(f);
	pthread_mutex_lock(&s.mu);
	s.pid = first; /* set before the fork: the child's exec is counted */
	pthread_mutex_unlock(&s.mu);
	second = fork();
	assert_true(second >= 0);
	if (second == 0) {
		if (getpid() != first)
			_exit(99);
		prctl(PR_SET_NAME, "pwgt-new");
		exec_via_int80(p_true);
	}
	status = wait_status(second);
	pw_gate_stats(g, &st);
	pw_gate_free(g);
	if (second != first) {
		fprintf(stderr, "SKIP: pid %d was taken before the fork (got %d)\n", first, second);
		skip();
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == EXEC_FAILED_BASE + ENOSYS) {
		fprintf(stderr, "SKIP: no 32-bit system call entry (ia32_emulation off)\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0); /* ran: not killed, not refused */
	pthread_mutex_lock(&s.mu);
	assert_int_equal(s.calls, 1); /* asked about as a main image */
	assert_false(s.interp);
	assert_false(s.held);
	assert_string_not_equal(s.name, "pwgt-old");
	pthread_mutex_unlock(&s.mu);
	assert_int_equal(st.held, 0);
}

/*
 * More than the 4 KiB captured: whole arguments up to the limit, flagged
 * truncated, in both modes. Read only after the verdict: nothing (the
 * process may be running its new image), flagged as missing.
 */
static void test_argv_long_and_after_verdict(void **state)
{
	char *argv[80];
	char arg[100];
	int status;

	(void)state;
	require_bpf();
	argv[0] = "pwg-true";
	for (int i = 1; i < 79; i++) {
		snprintf(arg, sizeof(arg), "arg%02d-%080d", i, i);
		argv[i] = strdup(arg);
	}
	argv[79] = NULL;
	for (int mode = 0; mode < 2; mode++) {
		struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER, .verdict = PW_EXEC_ALLOW };
		PW_OPTS(pw_gate_opts, o, .handler = handler, .userdata = &s, .timeout_ms = 2000,
			.argv_in_kernel = mode == 1);
		const char *rules[] = { "gate by-name pwgt-argv", NULL };
		struct pw_gate *g = gate_with(&o, rules);

		status = wait_status(spawn_named("pwgt-argv", p_true, argv));
		pw_gate_free(g);
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(s.calls, 1);
		assert_true(s.flags & PW_EXEC_ARGS_TRUNCATED);
		assert_false(s.flags & PW_EXEC_NO_ARGS);
		assert_true(s.argc > 30 && s.argc < 79); /* 4096 bytes of 90-byte arguments */
		assert_true(s.args_bytes <= 4096 && s.args_bytes > 4096 - 91);
		for (int i = 0; i < 8; i++) /* seen.argv keeps 63 bytes of each */
			assert_memory_equal(s.argv[i], argv[i], strlen(s.argv[i]) + (i == 0));
		assert_int_equal(strlen(s.argv[1]), sizeof(s.argv[1]) - 1);
	}
	{
		struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER, .args_after = true };
		PW_OPTS(pw_gate_opts, o, .handler = handler, .userdata = &s, .timeout_ms = 2000);
		const char *rules[] = { "gate by-name pwgt-argv", NULL };
		struct pw_gate *g = gate_with(&o, rules);

		status = wait_status(spawn_named("pwgt-argv", p_true, (char *[]){ "pwg-true", "x", NULL }));
		pw_gate_free(g);
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(s.calls, 1);
		assert_int_equal(s.verdict_ret, 0);
		assert_int_equal(s.argc, 0);
		assert_true(s.flags & PW_EXEC_NO_ARGS);
	}
	for (int i = 1; i < 79; i++)
		free(argv[i]);
}

/* Sleeps only for processes named pwgt-slow; allows the rest at once. */
static int slow_for_one(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	atomic_int *calls = ud;

	(void)g;
	atomic_fetch_add(calls, 1);
	if (!strcmp(pw_exec_name(req) ?: "", "pwgt-slow"))
		usleep(1500 * 1000); /* the blocked handler under test, not a synchronisation */
	return pw_exec_allow(req);
}

/* Wait (bounded) until the handler was called `n` times: the slow exec is in it. */
static void wait_calls(atomic_int *calls, int n)
{
	long long deadline = ms_now() + 5000;

	while (atomic_load(calls) < n && ms_now() < deadline)
		usleep(1000); /* polling a condition with a deadline */
	assert_true(atomic_load(calls) >= n);
}

/*
 * The reader calls the handler itself; a handler that blocks there must not
 * stall the gate: with a second handler thread another exec is decided at
 * once, with one thread an exec a static rule decides still goes through
 * and the blocked exec gets its timeout verdict on time.
 */
static void test_blocked_handler_does_not_stall(void **state)
{
	long long fast_ms, rule_ms, slow_ms;
	pid_t slow;
	int status;

	(void)state;
	require_bpf();
	{
		atomic_int calls = 0;
		PW_OPTS(pw_gate_opts, o, .handler = slow_for_one, .userdata = &calls,
			.timeout_ms = 5000, .workers = 2);
		const char *rules[] = { "gate by-name pwgt-slow", "gate by-name pwgt-fast", NULL };
		struct pw_gate *g = gate_with(&o, rules);
		long long t0 = ms_now();

		slow = spawn_named("pwgt-slow", p_true, (char *[]){ "pwg-true", NULL });
		wait_calls(&calls, 1); /* the slow one is in the handler */
		status = run_named("pwgt-fast", p_true, (char *[]){ "pwg-true", NULL }, &fast_ms);
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(WEXITSTATUS(wait_status(slow)), 0);
		slow_ms = ms_now() - t0;
		pw_gate_free(g);
		fprintf(stderr, "blocked handler, 2 threads: other exec %lld ms, blocked one %lld ms\n",
			fast_ms, slow_ms);
		assert_int_equal(atomic_load(&calls), 2);
		assert_true(fast_ms < 400);
		assert_true(slow_ms >= 1500);
	}
	{
		atomic_int calls = 0;
		PW_OPTS(pw_gate_opts, o, .handler = slow_for_one, .userdata = &calls,
			.timeout_ms = 400, .timeout_verdict = PW_EXEC_DENY, .workers = 1);
		const char *rules[] = { "gate by-name pwgt-slow", rule_fmt("allow path %s", p_touch), NULL };
		struct pw_gate *g = gate_with(&o, rules);
		long long t0 = ms_now();
		char marker[160];

		slow = spawn_named("pwgt-slow", p_true, (char *[]){ "pwg-true", NULL });
		wait_calls(&calls, 1); /* the slow one holds the only handler thread */
		snprintf(marker, sizeof(marker), "%s/blocked-handler-marker", dir);
		status = run_named(NULL, p_touch, (char *[]){ "pwg-touch", marker, NULL }, &rule_ms);
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_true(exists(marker));
		unlink(marker);
		status = wait_status(slow);
		slow_ms = ms_now() - t0;
		pw_gate_free(g); /* joins the handler (it still holds `calls`) */
		fprintf(stderr, "blocked handler, 1 thread: rule-decided exec %lld ms, blocked one denied after %lld ms\n",
			rule_ms, slow_ms);
		assert_int_equal(WEXITSTATUS(status), EXEC_FAILED_BASE + EPERM);
		assert_true(rule_ms < 400);
		assert_true(slow_ms >= 390 && slow_ms < 400 + 200);
	}
}

static int deferring_handler(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	_Atomic(struct pw_exec_request *) *held = ud;

	(void)g;
	assert_int_equal(pw_exec_defer(req), 0);
	atomic_store(held, req);
	return 0;
}

/*
 * A deferred request stays valid past pw_gate_stop() until the verdict call,
 * which then says it came too late; the waiting exec got the shutdown
 * verdict meanwhile. (Under ASan this also proves no use after free.)
 */
static void test_deferred_request_survives_stop(void **state)
{
	_Atomic(struct pw_exec_request *) held = NULL;
	PW_OPTS(pw_gate_opts, o, .handler = deferring_handler, .userdata = &held, .timeout_ms = 10000);
	const char *rules[] = { "gate by-name pwgt-defer", NULL };
	struct pw_gate *g;
	pid_t pid;
	int status;

	(void)state;
	require_bpf();
	g = gate_with(&o, rules);
	pid = spawn_named("pwgt-defer", p_true, (char *[]){ "pwg-true", NULL });
	for (int i = 0; i < 500 && !atomic_load(&held); i++)
		usleep(10 * 1000);
	assert_non_null(atomic_load(&held));
	pw_gate_stop(g); /* answers the waiting exec (timeout_verdict: allow) */
	status = wait_status(pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(pw_exec_pid(atomic_load(&held)), pid);
	assert_int_equal(pw_exec_allow(atomic_load(&held)), -ETIMEDOUT);
	/* the gate starts again with a fresh pool, and goes */
	assert_int_equal(pw_gate_start(g), 0);
	pw_gate_free(g);
}

/* Whether this process holds a fanotify group or a BPF link (scans /proc/self/fd). */
static bool holds_gate_fds(void)
{
	char path[300], target[64];
	bool found = false;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		return true;
	while ((e = readdir(d))) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		found |= !strcmp(target, "anon_inode:[fanotify]") || !strcmp(target, "anon_inode:bpf_link");
	}
	closedir(d);
	return found;
}

/*
 * A child forked while the gate runs must not hold the fanotify group (or
 * the BPF links): if the gate died while that child waited in exec, the
 * group would outlive it and every exec would wait.
 */
static void test_forked_child_drops_gate_fds(void **state)
{
	PW_OPTS(pw_gate_opts, o);
	const char *rules[] = { rule_fmt("deny path %s", p_touch), NULL };
	struct pw_gate *g;
	pid_t pid;

	(void)state;
	require_bpf();
	g = gate_with(&o, rules);
	assert_true(holds_gate_fds()); /* the check sees them here */
	pid = fork();
	if (pid == 0)
		_exit(holds_gate_fds() ? 1 : 0);
	assert_int_equal(WEXITSTATUS(wait_status(pid)), 0);
	pw_gate_free(g);
}

static void test_timeout_default_verdict(void **state)
{
	struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER, .sleep_ms = 700, .verdict = PW_EXEC_ALLOW };
	PW_OPTS(pw_gate_opts, o, .handler = handler, .userdata = &s, .timeout_ms = 200,
		.timeout_verdict = PW_EXEC_DENY);
	const char *rules[] = { "gate by-name pwgt-timeout", NULL };
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g;
	long long elapsed;
	int status;

	(void)state;
	require_bpf();
	g = gate_with(&o, rules);
	status = run_named("pwgt-timeout", p_true, (char *[]){ "pwg-true", NULL }, &elapsed);
	pw_gate_stop(g); /* joins the handler: its late verdict is counted */
	pw_gate_stats(g, &st);
	pw_gate_free(g);
	fprintf(stderr, "timeout: exec answered after %lld ms (timeout 200)\n", elapsed);
	assert_int_equal(WEXITSTATUS(status), EXEC_FAILED_BASE + EPERM);
	assert_true(elapsed >= 190 && elapsed < 200 + 150);
	assert_int_equal(st.timed_out, 1);
	assert_int_equal(st.late_verdicts, 1);
	assert_int_equal(s.verdict_ret, -ETIMEDOUT);
}

static void test_extend_deadline(void **state)
{
	struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER, .sleep_ms = 400, .extend_ms = 1000,
			  .verdict = PW_EXEC_DENY };
	PW_OPTS(pw_gate_opts, o, .handler = handler, .userdata = &s, .timeout_ms = 200,
		.timeout_verdict = PW_EXEC_ALLOW);
	const char *rules[] = { "gate by-name pwgt-extend", NULL };
	struct pw_gate_stats st = { .sz = sizeof(st) };
	int status;

	(void)state;
	require_bpf();
	status = run_true_gated(&o, rules, "pwgt-extend", &st);
	assert_int_equal(WEXITSTATUS(status), EXEC_FAILED_BASE + EPERM); /* the handler's own verdict */
	assert_int_equal(st.timed_out, 0);
	assert_int_equal(st.extensions, 1);
	assert_int_equal(s.verdict_ret, 0);
}

static void test_handler_error_fail_closed(void **state)
{
	struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER, .handler_ret = -EIO };
	PW_OPTS(pw_gate_opts, o, .handler = handler, .userdata = &s, .error_verdict = PW_EXEC_DENY);
	const char *rules[] = { "gate by-name pwgt-error", NULL };
	struct pw_gate_stats st = { .sz = sizeof(st) };
	int status;

	(void)state;
	require_bpf();
	status = run_true_gated(&o, rules, "pwgt-error", &st);
	assert_int_equal(WEXITSTATUS(status), EXEC_FAILED_BASE + EPERM);
	assert_int_equal(st.handler_errors, 1);
}

struct sink_state {
	int wfd; /* write end of a pipe nobody reads, already full */
	atomic_int calls;
};

static void blocking_sink(struct pw_gate *g, const struct pw_gate_decision *d, void *ud)
{
	struct sink_state *ss = ud;
	char line[64];

	(void)g;
	atomic_fetch_add(&ss->calls, 1);
	snprintf(line, sizeof(line), "%d %s\n", pw_decision_pid(d), pw_gate_reason_name(pw_decision_reason(d)));
	(void)!write(ss->wfd, line, strlen(line)); /* blocks: the pipe is full */
}

static void test_blocked_sink_does_not_delay(void **state)
{
	struct sink_state ss = { 0 };
	PW_OPTS(pw_gate_opts, o, .on_decision = blocking_sink, .decision_userdata = &ss,
		.decision_queue = 4);
	const char *rules[] = { rule_fmt("deny path %s", p_touch), NULL };
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g;
	int pfd[2], flags;
	long long t0, elapsed;
	char fill[4096] = { 0 };

	(void)state;
	require_bpf();
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(pfd), 0);
	flags = fcntl(pfd[1], F_GETFL);
	fcntl(pfd[1], F_SETFL, flags | O_NONBLOCK);
	while (write(pfd[1], fill, sizeof(fill)) > 0)
		;
	fcntl(pfd[1], F_SETFL, flags); /* blocking again, and full */
	ss.wfd = pfd[1];
	g = gate_with(&o, rules);
	t0 = ms_now();
	for (int i = 0; i < 20; i++) {
		int status = run_named(NULL, p_true, (char *[]){ "pwg-true", NULL }, NULL);

		assert_int_equal(WEXITSTATUS(status), 0);
	}
	elapsed = ms_now() - t0;
	pw_gate_stats(g, &st);
	close(pfd[0]); /* the sink's write fails with EPIPE: stop can join it */
	pw_gate_free(g);
	close(pfd[1]);
	fprintf(stderr, "blocked sink: 20 execs in %lld ms, %" PRIu64 " records dropped\n", elapsed,
		st.sink_dropped);
	assert_true(elapsed < 2000);
	assert_true(st.sink_dropped > 0);
	assert_true(atomic_load(&ss.calls) >= 1);
}

static void test_two_gates(void **state)
{
	PW_OPTS(pw_gate_opts, o1);
	PW_OPTS(pw_gate_opts, o2);
	const char *r1[] = { rule_fmt("deny path %s", p_touch), NULL };
	const char *r2[] = { rule_fmt("deny path %s", p_interp), NULL };
	struct pw_gate *g1, *g2;
	int s1, s2, s3;

	(void)state;
	require_bpf();
	g1 = gate_with(&o1, r1);
	g2 = gate_with(&o2, r2);
	s1 = run_named(NULL, p_touch, (char *[]){ "pwg-touch", "/dev/null", NULL }, NULL);
	s2 = run_named(NULL, p_interp, (char *[]){ "pwg-sh", "-c", "true", NULL }, NULL);
	s3 = run_named(NULL, p_true, (char *[]){ "pwg-true", NULL }, NULL);
	pw_gate_free(g2);
	pw_gate_free(g1);
	assert_int_equal(WEXITSTATUS(s1), EXEC_FAILED_BASE + EPERM);
	assert_int_equal(WEXITSTATUS(s2), EXEC_FAILED_BASE + EPERM);
	assert_int_equal(WEXITSTATUS(s3), 0);
}

static int never_answers(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	(void)g, (void)req, (void)ud;
	pause();
	return 0;
}

static void test_killed_gate_releases_exec(void **state)
{
	int ready[2];
	pid_t gate_pid, execer;
	char c;
	int status;
	long long t0;

	(void)state;
	require_bpf();
	assert_int_equal(pipe(ready), 0);
	gate_pid = fork();
	assert_true(gate_pid >= 0);
	if (gate_pid == 0) {
		PW_OPTS(pw_gate_opts, o, .handler = never_answers, .timeout_ms = 60000);
		struct pw_gate *g = NULL;

		alarm(30); /* never outlive the test */
		if (pw_gate_new(&o, &g) || pw_gate_add_rule_text(g, "gate by-name pwgt-killed") ||
		    pw_gate_start(g))
			_exit(1);
		(void)!write(ready[1], "r", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	execer = spawn_named("pwgt-killed", p_true, (char *[]){ "pwg-true", NULL });
	/* it waits in the kernel for the gate's answer (wchan fanotify_get_response) */
	{
		long long deadline = ms_now() + 10000;
		char path[64], wchan[128] = "";

		snprintf(path, sizeof(path), "/proc/%d/wchan", execer);
		while (!strstr(wchan, "fanotify") && ms_now() < deadline) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t n = fd >= 0 ? read(fd, wchan, sizeof(wchan) - 1) : -1;

			if (fd >= 0)
				close(fd);
			wchan[n > 0 ? n : 0] = 0;
			if (!strstr(wchan, "fanotify"))
				usleep(2000); /* polling a condition with a deadline */
		}
		if (!strstr(wchan, "fanotify"))
			fail_msg("the exec under the gate is not waiting for fanotify (wchan '%s')", wchan);
	}
	assert_int_equal(waitpid(execer, &status, WNOHANG), 0); /* still waiting on the gate */
	t0 = ms_now();
	kill(gate_pid, SIGKILL);
	waitpid(gate_pid, NULL, 0);
	status = wait_status(execer);
	fprintf(stderr, "killed gate: waiting exec released %lld ms after SIGKILL\n", ms_now() - t0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A child that waits for a byte on `go`, then execs a memfd copy of /bin/true. */
static pid_t spawn_memfd_exec(int go)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[65536], c;
		int in = open("/bin/true", O_RDONLY), mfd = memfd_create("pwg-memfd", MFD_CLOEXEC);
		ssize_t n;

		if (in < 0 || mfd < 0)
			_exit(90);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(mfd, buf, n) != n)
				_exit(91);
		if (read(go, &c, 1) != 1)
			_exit(92);
		fexecve(mfd, (char *[]){ "pwg-memfd", NULL }, (char *[]){ NULL });
		_exit(EXEC_FAILED_BASE + errno);
	}
	return pid;
}

static void run_memfd_case(bool fail_closed, int *status, struct pw_gate_stats *st)
{
	PW_OPTS(pw_gate_opts, o, .fail_closed_ungated = fail_closed);
	struct pw_gate *g = NULL;
	char rule[64];
	int go[2];
	pid_t pid;

	assert_int_equal(pipe(go), 0);
	pid = spawn_memfd_exec(go[0]);
	snprintf(rule, sizeof(rule), "gate by-pid %d", pid);
	o.log = log_cb;
	assert_int_equal(pw_gate_new(&o, &g), 0);
	assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	assert_int_equal(pw_gate_start(g), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	*status = wait_status(pid);
	/* the ungated record comes through a ring buffer: wait for it, with a deadline */
	st->sz = sizeof(*st);
	for (long long deadline = ms_now() + 5000;;) {
		pw_gate_stats(g, st);
		if (st->ungated || ms_now() > deadline)
			break;
		usleep(2000); /* polling a condition with a deadline */
	}
	pw_gate_free(g);
	close(go[0]);
	close(go[1]);
}

static void test_memfd_ungated(void **state)
{
	struct pw_gate_stats st;
	int status;

	(void)state;
	require_bpf();
	run_memfd_case(false, &status, &st);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(st.ungated, 1);
	assert_int_equal(st.ungated_killed, 0);

	run_memfd_case(true, &status, &st);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(st.ungated, 1);
	assert_int_equal(st.ungated_killed, 1);
}

static void test_parallel_up_to_pool(void **state)
{
	struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER, .sleep_ms = 300, .verdict = PW_EXEC_ALLOW };
	PW_OPTS(pw_gate_opts, o, .handler = handler, .userdata = &s, .timeout_ms = 5000,
		.workers = 4);
	const char *rules[] = { "gate by-name pwgt-par", NULL };
	struct pw_gate *g;
	long long t0, four, eight;
	pid_t pids[8];

	(void)state;
	require_bpf();
	g = gate_with(&o, rules);
	t0 = ms_now();
	for (int i = 0; i < 4; i++)
		pids[i] = spawn_named("pwgt-par", p_true, (char *[]){ "pwg-true", NULL });
	for (int i = 0; i < 4; i++)
		assert_int_equal(WEXITSTATUS(wait_status(pids[i])), 0);
	four = ms_now() - t0;
	t0 = ms_now();
	for (int i = 0; i < 8; i++)
		pids[i] = spawn_named("pwgt-par", p_true, (char *[]){ "pwg-true", NULL });
	for (int i = 0; i < 8; i++)
		assert_int_equal(WEXITSTATUS(wait_status(pids[i])), 0);
	eight = ms_now() - t0;
	pw_gate_free(g);
	fprintf(stderr, "parallel: 4 execs x 300 ms handler with 4 workers: %lld ms; 8 execs: %lld ms\n",
		four, eight);
	assert_true(four < 550);               /* decided in parallel, not 1200 ms */
	assert_true(eight >= 590 && eight < 900); /* two rounds of the pool */
}

static void test_sha256_rule(void **state)
{
	/* sha256 of the copy of /bin/true, computed by sha256sum */
	char cmd[256], hex[65] = { 0 }, rule[128];
	PW_OPTS(pw_gate_opts, o);
	struct pw_gate *g = NULL;
	FILE *f;
	int s1, s2;

	(void)state;
	require_bpf();
	snprintf(cmd, sizeof(cmd), "sha256sum %s", p_true);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%64s", hex), 1);
	pclose(f);
	/* scoped: only execs by processes this test names */
	snprintf(rule, sizeof(rule), "deny sha256 %s by-name pwgt-sha", hex);
	o.log = log_cb;
	assert_int_equal(pw_gate_new(&o, &g), 0);
	assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	assert_int_equal(pw_gate_start(g), 0);
	s1 = run_named("pwgt-sha", p_true, (char *[]){ "pwg-true", NULL }, NULL);
	s2 = run_named("pwgt-sha", p_touch, (char *[]){ "pwg-touch", "/dev/null", NULL }, NULL);
	pw_gate_free(g);
	assert_int_equal(WEXITSTATUS(s1), EXEC_FAILED_BASE + EPERM);
	assert_int_equal(WEXITSTATUS(s2), 0);
}

static void test_needs_root(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	require_bpf();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		PW_OPTS(pw_gate_opts, o);
		struct pw_gate *g = NULL;
		int err;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		if (pw_gate_new(&o, &g))
			_exit(3);
		err = pw_gate_start(g);
		pw_gate_free(g);
		_exit(err == -EPERM ? 0 : 4);
	}
	status = wait_status(pid);
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deny_path_allow_other),
		cmocka_unit_test(test_deny_errno),
		cmocka_unit_test(test_script_denied),
		cmocka_unit_test(test_handler_sees_new_argv),
		cmocka_unit_test(test_argv_long_and_after_verdict),
		cmocka_unit_test(test_argv_across_pages),
		cmocka_unit_test(test_reused_tid_not_joined),
		cmocka_unit_test(test_blocked_handler_does_not_stall),
		cmocka_unit_test(test_deferred_request_survives_stop),
		cmocka_unit_test(test_forked_child_drops_gate_fds),
		cmocka_unit_test(test_timeout_default_verdict),
		cmocka_unit_test(test_extend_deadline),
		cmocka_unit_test(test_handler_error_fail_closed),
		cmocka_unit_test(test_blocked_sink_does_not_delay),
		cmocka_unit_test(test_two_gates),
		cmocka_unit_test(test_killed_gate_releases_exec),
		cmocka_unit_test(test_memfd_ungated),
		cmocka_unit_test(test_parallel_up_to_pool),
		cmocka_unit_test(test_sha256_rule),
		cmocka_unit_test(test_needs_root),
	};

	return cmocka_run_group_tests_name("gate", tests, setup, teardown);
}
