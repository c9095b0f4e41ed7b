// SPDX-License-Identifier: MIT
/*
 * test_lifecycle.c - the core pipeline against the real kernel: real
 * processes and threads are created, and their events are checked field by
 * field. Every expectation names processes this test created.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Resolve a path the way the kernel's dentry walk reports it (/bin -> /usr/bin). */
static char *real(const char *path)
{
	char *r = realpath(path, NULL);

	assert_non_null(r);
	return r;
}

/* Inode of /proc/<pid>/ns/<ns> ("self" for pid 0). */
static uint32_t ns_inode(pid_t pid, const char *ns)
{
	char path[64];
	struct stat st;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	else
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns);
	assert_int_equal(stat(path, &st), 0);
	return (uint32_t)st.st_ino;
}

static int setup_root(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "integration tests need root\n");
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- exec */

static void exec_event_fields(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	char dir[] = "/tmp/pw-exec-XXXXXX";
	char *argv[] = { "true", "alpha", "beta gamma", "", "--delta=1", NULL };
	char *image = real("/bin/true"), *cwd;
	const struct rec *r;
	struct pw_proc_key exec_key;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	cwd = real(dir);
	assert_int_equal(pw_monitor_start(m), 0);
	pid = spawn_exec("/bin/true", argv, dir);
	r = expect_event(m, &c, PW_EVENT_EXEC, pid);
	assert_int_equal(r->tid, pid);
	assert_int_equal(r->ppid, getpid());
	assert_string_equal(r->name, "true");
	assert_string_equal(r->filename, "/bin/true");
	assert_string_equal(r->image, image);
	assert_string_equal(r->cwd, cwd);
	assert_int_equal(r->argc, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(r->argv[i], argv[i]);
	assert_false(r->flags & PW_EVF_ARGS_TRUNCATED);
	assert_int_equal(r->key.pid, pid);
	assert_true(r->key.start_ns > 0);
	assert_int_equal(r->parent_key.pid, getpid());
	/* the token of the exec'ing task: this test's credentials */
	assert_int_equal(r->token.uid, getuid());
	assert_int_equal(r->token.euid, geteuid());
	assert_int_equal(r->token.gid, getgid());
	assert_true(r->token.cap_effective & (1ull << 21)); /* CAP_SYS_ADMIN as root */
	/* exact: root's exec keeps this test's capability sets and namespaces */
	assert_int_equal(r->token.cap_effective, proc_status_hex(getpid(), "CapEff"));
	assert_int_equal(r->token.cap_permitted, proc_status_hex(getpid(), "CapPrm"));
	assert_int_equal(r->token.pidns_ino, ns_inode(0, "pid"));
	assert_int_equal(r->token.mntns_ino, ns_inode(0, "mnt"));
	assert_true(r->token.cgroup_id != 0);
	assert_string_equal(r->user, "root");
	exec_key = r->key;

	/* the exit of the same process names its image and argv from the table */
	assert_int_equal(wait_exit_code(pid), 0);
	r = expect_event(m, &c, PW_EVENT_PROCESS_EXIT, pid);
	assert_string_equal(r->image, image);
	assert_int_equal(r->argc, 5);
	assert_string_equal(r->argv[2], "beta gamma");
	assert_true(r->flags & PW_EVF_FROM_TABLE);
	/* and carries the key the exec had: same pid, same start time */
	assert_int_equal(r->key.pid, exec_key.pid);
	assert_int_equal(r->key.start_ns, exec_key.start_ns);

	pw_monitor_free(m);
	collector_free(&c);
	rmdir(dir);
	free(image);
	free(cwd);
}

/* A long argv is cut at the limit, flagged, and its prefix is exact. */
static void exec_long_argv_truncated(void **state)
{
	struct collector c = { 0 };
	PW_OPTS(pw_monitor_opts, opts, .max_args_bytes = 1024,
		.events = PW_EVMASK(PW_EVENT_EXEC));
	struct pw_monitor *m = start_monitor(&c, &opts);
	char *argv[64];
	const struct rec *r;
	pid_t pid;

	(void)state;
	argv[0] = "true";
	fill_args(argv, 1, 62, "arg");
	argv[63] = NULL;
	assert_int_equal(pw_monitor_start(m), 0);
	pid = spawn_exec("/bin/true", argv, NULL);
	r = expect_event(m, &c, PW_EVENT_EXEC, pid);
	assert_true(r->flags & PW_EVF_ARGS_TRUNCATED);
	assert_true(r->argc > 5 && r->argc < 63);
	for (size_t i = 0; i + 1 < r->argc; i++) /* every complete argument is exact */
		assert_string_equal(r->argv[i], argv[i]);
	wait_status(pid);

	/* The next, short exec must not show leftovers of the long one. */
	char *short_argv[] = { "true", "x", NULL };

	pid = spawn_exec("/bin/true", short_argv, NULL);
	r = expect_event(m, &c, PW_EVENT_EXEC, pid);
	assert_false(r->flags & PW_EVF_ARGS_TRUNCATED);
	assert_int_equal(r->argc, 2);
	assert_string_equal(r->argv[1], "x");
	wait_status(pid);
	for (int i = 1; i < 63; i++)
		free(argv[i]);
	pw_monitor_free(m);
	collector_free(&c);
}

/*
 * A task in a nested pid namespace (level 1) reports that namespace, not the
 * initial one: the token reads numbers[level] of its struct pid.
 */
struct ppid_type {
	enum pw_event_type type;
	pid_t ppid;
};

static bool is_type_ppid(const struct rec *r, const void *arg)
{
	const struct ppid_type *w = arg;

	return r->type == w->type && r->ppid == w->ppid;
}

static void token_in_new_pid_namespace(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	const struct rec *r;
	struct ppid_type want;
	uint32_t inner_ns = 0;
	int pipefd[2], status;
	pid_t child;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	child = fork();
	if (child == 0) {
		struct stat st;
		pid_t inner;

		close(pipefd[0]);
		/* The child stays in our namespace; its next child is pid 1 of a new one. */
		if (unshare(CLONE_NEWPID))
			_exit(10);
		inner = fork();
		if (inner == 0) {
			execl("/bin/true", "true", "in-new-pidns", (char *)NULL);
			_exit(12);
		}
		/* The link resolves only once the namespace has its first process. */
		if (inner < 0 || stat("/proc/self/ns/pid_for_children", &st))
			_exit(10);
		inner_ns = (uint32_t)st.st_ino;
		if (write(pipefd[1], &inner_ns, sizeof(inner_ns)) != sizeof(inner_ns))
			_exit(11);
		if (waitpid(inner, &status, 0) != inner || !WIFEXITED(status))
			_exit(13);
		_exit(WEXITSTATUS(status));
	}
	close(pipefd[1]);
	assert_int_equal(read(pipefd[0], &inner_ns, sizeof(inner_ns)), sizeof(inner_ns));
	close(pipefd[0]);
	assert_int_equal(wait_exit_code(child), 0);
	assert_int_not_equal(inner_ns, ns_inode(0, "pid"));

	want = (struct ppid_type){ PW_EVENT_EXEC, child };
	r = wait_for(m, &c, is_type_ppid, &want, 5000);
	assert_non_null(r);
	assert_int_equal(r->argc, 2);
	assert_string_equal(r->argv[1], "in-new-pidns");
	assert_int_equal(r->token.pidns_ino, inner_ns);
	/* the child that created it is still in ours */
	want.type = PW_EVENT_PROCESS_CREATE;
	r = wait_for(m, &c, is_type_ppid, &want, 5000);
	assert_non_null(r);
	assert_int_equal(r->creator_pid, child);
	assert_int_equal(r->token.pidns_ino, ns_inode(0, "pid"));
	pw_monitor_free(m);
	collector_free(&c);
}

/* ---------------------------------------------------------------- fork */

static void fork_without_exec(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	char *self = real("/proc/self/exe");
	const struct rec *r;
	pid_t pid;

	(void)state;
	assert_int_equal(pw_monitor_start(m), 0);
	pid = fork();
	if (pid == 0)
		_exit(5);
	r = expect_event(m, &c, PW_EVENT_PROCESS_CREATE, pid);
	assert_int_equal(r->creator_pid, getpid());
	assert_int_equal(r->creator_tid, syscall(SYS_gettid));
	assert_int_equal(r->ppid, getpid());
	assert_int_equal(r->tid, pid);
	assert_false(r->clone_flags & (PW_CLONE_THREAD | PW_CLONE_PARENT | PW_CLONE_VM));
	/* fork duplicates the creator's image: known from the table */
	assert_non_null(r->image);
	assert_string_equal(r->image, self);

	assert_int_equal(wait_exit_code(pid), 5);
	r = expect_event(m, &c, PW_EVENT_PROCESS_EXIT, pid);
	assert_true(WIFEXITED(r->exit_status));
	assert_int_equal(WEXITSTATUS(r->exit_status), 5);
	assert_string_equal(r->image, self);
	/* no exec happened */
	assert_int_equal(count_events(&c, PW_EVENT_EXEC, pid), 0);
	pw_monitor_free(m);
	collector_free(&c);
	free(self);
}

static void vfork_flagged(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	const struct rec *r;
	pid_t pid;

	(void)state;
	assert_int_equal(pw_monitor_start(m), 0);
	pid = vfork();
	if (pid == 0)
		_exit(0);
	r = expect_event(m, &c, PW_EVENT_PROCESS_CREATE, pid);
	assert_true(r->clone_flags & PW_CLONE_VFORK);
	assert_true(r->clone_flags & PW_CLONE_VM);
	assert_true(r->raw_clone_flags & CLONE_VFORK);
	wait_status(pid);
	pw_monitor_free(m);
	collector_free(&c);
}

/* CLONE_PARENT: the creator is this test, the parent is this test's parent. */
static void clone_parent_creator_differs(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	const struct rec *r;
	long pid;

	(void)state;
	assert_int_equal(pw_monitor_start(m), 0);
	pid = syscall(SYS_clone, CLONE_PARENT, NULL, NULL, NULL, NULL);
	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	r = expect_event(m, &c, PW_EVENT_PROCESS_CREATE, (pid_t)pid);
	assert_int_equal(r->creator_pid, getpid());
	assert_int_equal(r->ppid, getppid());
	assert_int_not_equal(r->ppid, r->creator_pid);
	assert_true(r->clone_flags & PW_CLONE_PARENT);
	pw_monitor_free(m);
	collector_free(&c);
}

/* ------------------------------------------------------------- threads */

#define NTHREADS 6
static pid_t thread_tids[NTHREADS];

static void *thread_main(void *arg)
{
	thread_tids[(long)arg] = (pid_t)syscall(SYS_gettid);
	return NULL;
}

static void threads_counted_exactly(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	pthread_t th[NTHREADS];
	struct type_pid want;

	(void)state;
	assert_int_equal(pw_monitor_start(m), 0);
	for (long i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_main, (void *)i), 0);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < NTHREADS; i++) {
		const struct rec *r;

		want = (struct type_pid){ PW_EVENT_THREAD_CREATE, thread_tids[i] };
		r = wait_for(m, &c, is_type_tid, &want, 5000);
		assert_non_null(r);
		assert_int_equal(r->pid, getpid());
		assert_int_equal(r->creator_pid, getpid());
		assert_int_equal(r->creator_tid, syscall(SYS_gettid));
		assert_true(r->clone_flags & PW_CLONE_THREAD);
		assert_true(r->clone_flags & PW_CLONE_VM);
		want.type = PW_EVENT_THREAD_EXIT;
		r = wait_for(m, &c, is_type_tid, &want, 5000);
		assert_non_null(r);
		assert_int_equal(r->pid, getpid());
		assert_true(WIFEXITED(r->exit_status));
	}
	/* exactly NTHREADS of each for this process, and no process exit */
	assert_int_equal(count_events(&c, PW_EVENT_THREAD_CREATE, getpid()), NTHREADS);
	assert_int_equal(count_events(&c, PW_EVENT_THREAD_EXIT, getpid()), NTHREADS);
	assert_int_equal(count_events(&c, PW_EVENT_PROCESS_EXIT, getpid()), 0);
	pw_monitor_free(m);
	collector_free(&c);
}

/* ------------------------------------------------------- exit statuses */

static void *sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static void exit_codes_and_signals(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	const struct rec *r;
	pid_t code_pid, sig_pid, group_pid;
	int ready[2];
	char byte;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	code_pid = fork();
	if (code_pid == 0)
		_exit(42);
	sig_pid = fork();
	if (sig_pid == 0) {
		pause();
		_exit(0);
	}
	/* a multi-threaded process killed by a signal: one process exit, with the signal */
	group_pid = fork();
	if (group_pid == 0) {
		pthread_t t;

		pthread_create(&t, NULL, sleeper, NULL);
		(void)!write(ready[1], "t", 1); /* the second thread exists */
		pause();
		_exit(0);
	}
	close(ready[1]);
	/* SIGTERM's default action ends sig_pid whenever it lands; group_pid must be threaded first */
	assert_int_equal(read_within(ready[0], &byte, 1, 5000), 1);
	close(ready[0]);
	kill(sig_pid, SIGTERM);
	kill(group_pid, SIGKILL);
	assert_int_equal(wait_exit_code(code_pid), 42);
	assert_int_equal(WTERMSIG(wait_status(sig_pid)), SIGTERM);
	assert_int_equal(WTERMSIG(wait_status(group_pid)), SIGKILL);

	r = expect_event(m, &c, PW_EVENT_PROCESS_EXIT, code_pid);
	assert_true(WIFEXITED(r->exit_status));
	assert_int_equal(WEXITSTATUS(r->exit_status), 42);

	r = expect_event(m, &c, PW_EVENT_PROCESS_EXIT, sig_pid);
	assert_true(WIFSIGNALED(r->exit_status));
	assert_int_equal(WTERMSIG(r->exit_status), SIGTERM);

	r = expect_event(m, &c, PW_EVENT_PROCESS_EXIT, group_pid);
	assert_true(WIFSIGNALED(r->exit_status));
	assert_int_equal(WTERMSIG(r->exit_status), SIGKILL);
	assert_true(r->flags & PW_EVF_GROUP_EXIT);
	assert_int_equal(count_events(&c, PW_EVENT_PROCESS_EXIT, group_pid), 1);
	pw_monitor_free(m);
	collector_free(&c);
}

/* --------------------------------------------------------------- rules */

static pid_t fork_named(const char *name, int exit_code)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pid_t grandchild;

		prctl(PR_SET_NAME, name);
		grandchild = fork();
		if (grandchild == 0)
			_exit(0);
		waitpid(grandchild, NULL, 0);
		_exit(exit_code);
	}
	return pid;
}

static bool created_by(const struct rec *r, const void *arg)
{
	return r->type == PW_EVENT_PROCESS_CREATE && r->creator_pid == *(const pid_t *)arg;
}

static bool any_of_pid(const struct rec *r, const void *arg)
{
	return r->type != PW_EVENT_LOST && r->pid == *(const pid_t *)arg;
}

static void excluded_name_produces_nothing(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	PW_OPTS(pw_rule, rule, .action = PW_RULE_EXCLUDE,
		.match = PW_MATCH_NAME, .name = "pw-excluded");
	struct pw_monitor_stats stats = { .sz = sizeof(stats) };
	pid_t quiet, loud;

	(void)state;
	assert_int_equal(pw_monitor_add_rule(m, &rule), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	quiet = fork_named("pw-excluded", 3);
	assert_int_equal(wait_exit_code(quiet), 3);
	/* the control, started after the excluded one finished, is seen */
	loud = fork_named("pw-included", 4);
	assert_int_equal(wait_exit_code(loud), 4);
	expect_event(m, &c, PW_EVENT_PROCESS_EXIT, loud);
	assert_non_null(wait_for(m, &c, created_by, &loud, 5000));
	/* the excluded process's own fork and exit were filtered in the kernel */
	assert_int_equal(count_recs(&c, created_by, &quiet), 0);
	assert_int_equal(count_events(&c, PW_EVENT_PROCESS_EXIT, quiet), 0);
	assert_int_equal(pw_monitor_stats(m, &stats), 0);
	/* exactly its three: the grandchild's create and exit, and its own exit */
	assert_int_equal(stats.events_filtered, 3);
	pw_monitor_free(m);
	collector_free(&c);
}

static void glob_and_prefix_rules(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	PW_OPTS(pw_rule, glob, .action = PW_RULE_EXCLUDE,
		.match = PW_MATCH_NAME_GLOB, .name = "pw-g?ob-*");
	PW_OPTS(pw_rule, prefix, .action = PW_RULE_EXCLUDE,
		.match = PW_MATCH_NAME_PREFIX, .name = "pw-pre");
	pid_t g, p, ok;

	(void)state;
	assert_int_equal(pw_monitor_add_rule(m, &glob), 0);
	assert_int_equal(pw_monitor_add_rule(m, &prefix), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	g = fork_named("pw-glob-x", 0);
	p = fork_named("pw-prefixed", 0);
	wait_status(g);
	wait_status(p);
	ok = fork_named("pw-gloc-x", 0); /* does not match "pw-g?ob-*" */
	wait_status(ok);
	expect_event(m, &c, PW_EVENT_PROCESS_EXIT, ok);
	assert_int_equal(count_events(&c, PW_EVENT_PROCESS_EXIT, g), 0);
	assert_int_equal(count_events(&c, PW_EVENT_PROCESS_EXIT, p), 0);
	pw_monitor_free(m);
	collector_free(&c);
}

/* include pid: only that process; with children inheritance its descendants too. */
static void pid_rule_and_children(void **state)
{
	int go[2];
	struct collector c = { 0 };
	PW_OPTS(pw_monitor_opts, opts, .inherit_children = true);
	struct pw_monitor *m = start_monitor(&c, &opts);
	PW_OPTS(pw_rule, rule, .action = PW_RULE_INCLUDE, .match = PW_MATCH_PID);
	pid_t target, other;
	char b;

	(void)state;
	assert_int_equal(pipe(go), 0);
	target = fork();
	if (target == 0) {
		/* wait until the rule is in place, then fork a child that forks again */
		pid_t child;

		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		child = fork();
		if (child == 0) {
			pid_t grandchild = fork();

			if (grandchild == 0)
				_exit(0);
			waitpid(grandchild, NULL, 0);
			_exit(0);
		}
		waitpid(child, NULL, 0);
		_exit(7);
	}
	close(go[0]);
	rule.id = target;
	assert_int_equal(pw_monitor_add_rule(m, &rule), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	other = fork_named("pw-other", 0);
	wait_status(other);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(wait_exit_code(target), 7);
	expect_event(m, &c, PW_EVENT_PROCESS_EXIT, target);
	/* the target's child and grandchild were reported (inherited) */
	const struct rec *child = wait_for(m, &c, created_by, &target, 2000);

	assert_non_null(child);
	assert_non_null(wait_for(m, &c, created_by, &child->pid, 2000));
	/* an unrelated process was not */
	assert_int_equal(count_recs(&c, any_of_pid, &other), 0);
	assert_int_equal(count_recs(&c, created_by, &other), 0);
	close(go[1]);
	pw_monitor_free(m);
	collector_free(&c);
}

/* Rules change while running and take effect for the next event. */
static void rules_change_while_running(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	PW_OPTS(pw_rule, rule, .action = PW_RULE_EXCLUDE,
		.match = PW_MATCH_NAME, .name = "pw-toggle");
	pid_t a, b, d;

	(void)state;
	assert_int_equal(pw_monitor_start(m), 0);
	a = fork_named("pw-toggle", 0);
	wait_status(a);
	expect_event(m, &c, PW_EVENT_PROCESS_EXIT, a);
	assert_int_equal(pw_monitor_add_rule(m, &rule), 0);
	b = fork_named("pw-toggle", 0);
	wait_status(b);
	assert_int_equal(pw_monitor_remove_rule(m, &rule), 0);
	assert_int_equal(pw_monitor_remove_rule(m, &rule), -ENOENT);
	d = fork_named("pw-toggle", 0);
	wait_status(d);
	expect_event(m, &c, PW_EVENT_PROCESS_EXIT, d);
	assert_int_equal(count_events(&c, PW_EVENT_PROCESS_EXIT, b), 0);
	pw_monitor_free(m);
	collector_free(&c);
}

static void uid_in_token_and_uid_rule(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	PW_OPTS(pw_rule, rule, .action = PW_RULE_INCLUDE,
		.match = PW_MATCH_UID, .id = 4242);
	const struct rec *r;
	pid_t pid, root_child;

	(void)state;
	assert_int_equal(pw_monitor_add_rule(m, &rule), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "true", "as-4242", NULL };

		if (setresgid(4343, 4343, 4343) || setresuid(4242, 4242, 4242))
			_exit(99);
		execv("/bin/true", argv);
		_exit(127);
	}
	root_child = fork_named("pw-root-child", 0);
	assert_int_equal(wait_exit_code(pid), 0);
	wait_status(root_child);
	r = expect_event(m, &c, PW_EVENT_EXEC, pid);
	assert_token_ids(&r->token, 4242, 4242, 4343, 4343);
	assert_int_equal(r->token.cap_effective, 0); /* dropped with the uid change */
	expect_event(m, &c, PW_EVENT_PROCESS_EXIT, pid);
	/* root's processes are not included by the uid rule */
	assert_int_equal(count_recs(&c, any_of_pid, &root_child), 0);
	pw_monitor_free(m);
	collector_free(&c);
}

/* ------------------------------------------------------ loss accounting */

static void lost_events_counted(void **state)
{
	struct collector c = { 0 };
	/* only this test's process tree: every record the kernel meant to send is one of ours */
	PW_OPTS(pw_monitor_opts, opts, .ringbuf_bytes = 4096, .inherit_children = true,
		.events = PW_EVMASK(PW_EVENT_PROCESS_CREATE) | PW_EVMASK(PW_EVENT_PROCESS_EXIT));
	struct pw_monitor *m = start_monitor(&c, &opts);
	PW_OPTS(pw_rule, self, .action = PW_RULE_INCLUDE, .match = PW_MATCH_PID, .id = getpid());
	struct pw_monitor_stats stats = { .sz = sizeof(stats) };
	const int forks = 300;
	size_t seen, delivered;

	(void)state;
	assert_int_equal(pw_monitor_add_rule(m, &self), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	/* 300 forks and exits without reading: far more than 4 KiB of records */
	for (int i = 0; i < forks; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		wait_status(pid);
	}
	pump(m, 300);
	assert_true(c.lost > 0);
	assert_int_equal(pw_monitor_stats(m, &stats), 0);
	assert_int_equal(stats.events_lost, c.lost);
	/* a LOST notification was delivered, and nothing vanished silently */
	assert_true(count_events(&c, PW_EVENT_LOST, 0) >= 1);
	seen = delivered = 0;
	for (size_t i = 0; i < c.n; i++) {
		if (c.v[i].type == PW_EVENT_LOST)
			continue;
		delivered++;
		/* nothing but our children's creates and exits passes the rule */
		assert_int_equal(c.v[i].ppid, getpid());
		seen += c.v[i].type == PW_EVENT_PROCESS_CREATE && c.v[i].creator_pid == getpid();
	}
	assert_true(seen < (size_t)forks);
	/* exact accounting: each fork meant one create and one exit, delivered or counted lost */
	assert_int_equal(delivered + c.lost, 2 * (size_t)forks);
	pw_monitor_free(m);
	collector_free(&c);
}

/* ------------------------------------------------------- process keys */

static void pid_reuse_gives_new_key(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = start_monitor(&c, NULL);
	struct clone_args args = { .exit_signal = SIGCHLD };
	struct type_pid want;
	const struct rec *first, *second;
	pid_t pid, again;

	(void)state;
	assert_int_equal(pw_monitor_start(m), 0);
	pid = fork();
	if (pid == 0)
		_exit(0);
	wait_status(pid);
	/* clone3 with set_tid asks the kernel for exactly that (now free) PID */
	args.set_tid = (uint64_t)(uintptr_t)&pid;
	args.set_tid_size = 1;
	again = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (again == 0)
		_exit(0);
	if (again < 0 && errno == EEXIST) {
		pw_monitor_free(m);
		collector_free(&c);
		skip(); /* someone else took the PID in between */
	}
	assert_int_equal(again, pid);
	wait_status(again);
	expect_event(m, &c, PW_EVENT_PROCESS_EXIT, pid);
	first = expect_event(m, &c, PW_EVENT_PROCESS_CREATE, pid);
	second = NULL;
	for (size_t i = 0; i < 100 && !second; i++) {
		pump(m, 20);
		for (size_t j = 0; j < c.n; j++)
			if (&c.v[j] != first && c.v[j].type == PW_EVENT_PROCESS_CREATE &&
			    c.v[j].pid == pid)
				second = &c.v[j];
	}
	assert_non_null(second);
	want = (struct type_pid){ PW_EVENT_PROCESS_CREATE, pid };
	first = wait_for(m, &c, is_type_pid, &want, 0); /* c.v may have moved */
	assert_int_equal(first->key.pid, second->key.pid);
	assert_true(first->key.start_ns != second->key.start_ns);
	pw_monitor_free(m);
	collector_free(&c);
}

/* ---------------------------------------------------- snapshot, monitors */

static void snapshot_has_known_process(void **state)
{
	char *argv[] = { "sleep", "7.25", NULL };
	PW_OPTS(pw_snapshot_opts, opts, .flags = PW_SNAP_CMDLINE | PW_SNAP_IMAGE | PW_SNAP_USER);
	struct pw_snapshot *snap;
	const struct pw_process *p;
	pid_t pid = spawn_exec_ready("/bin/sleep", argv, NULL);
	char *image = real("/bin/sleep");

	(void)state;
	assert_int_equal(pw_snapshot_take(&opts, &snap), 0);
	p = pw_snapshot_find(snap, pid);
	assert_non_null(p);
	assert_int_equal(pw_process_parent_pid(p), getpid());
	assert_string_equal(pw_process_name(p), "sleep");
	assert_string_equal(pw_process_image(p), image);
	assert_int_equal(pw_process_argc(p), 2);
	assert_string_equal(pw_process_arg(p, 1), "7.25");
	assert_string_equal(pw_process_user_name(p), "root");
	assert_int_equal(pw_process_thread_count(p), 1);
	assert_null(pw_snapshot_find(snap, 0x3fffffff));
	pw_snapshot_free(snap);
	kill(pid, SIGKILL);
	wait_status(pid);
	free(image);
}

static void two_monitors_independent(void **state)
{
	struct collector c1 = { 0 }, c2 = { 0 };
	PW_OPTS(pw_monitor_opts, o2, .events = PW_EVMASK(PW_EVENT_PROCESS_EXIT));
	struct pw_monitor *m1 = start_monitor(&c1, NULL);
	struct pw_monitor *m2 = start_monitor(&c2, &o2);
	PW_OPTS(pw_rule, rule, .action = PW_RULE_EXCLUDE,
		.match = PW_MATCH_NAME, .name = "pw-only-m2");
	pid_t pid;

	(void)state;
	assert_int_equal(pw_monitor_add_rule(m1, &rule), 0);
	assert_int_equal(pw_monitor_start(m1), 0);
	assert_int_equal(pw_monitor_start(m2), 0);
	assert_int_not_equal(pw_monitor_fd(m1), pw_monitor_fd(m2));
	pid = fork_named("pw-only-m2", 0);
	wait_status(pid);
	expect_event(m2, &c2, PW_EVENT_PROCESS_EXIT, pid);
	pump(m1, 200);
	assert_int_equal(count_events(&c1, PW_EVENT_PROCESS_EXIT, pid), 0);
	/* m2 asked for exits only */
	assert_int_equal(count_events(&c2, PW_EVENT_PROCESS_CREATE, pid), 0);
	pw_monitor_free(m1);
	/* m2 goes on after m1 is gone */
	pid = fork_named("pw-after-m1", 0);
	wait_status(pid);
	expect_event(m2, &c2, PW_EVENT_PROCESS_EXIT, pid);
	pw_monitor_free(m2);
	collector_free(&c1);
	collector_free(&c2);
}

/*
 * stop() from another thread ends a run() that is dispatching: the thread
 * stops the monitor only once run() has delivered the exit of a child it
 * made, so the stop lands in a running loop, never before it.
 */
struct run_stop {
	struct pw_monitor *m;
	pid_t child;
	atomic_int seen; /* run() delivered the child's exit */
	atomic_int stopped;
};

static int run_stop_cb(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	struct run_stop *rs = userdata;

	(void)m;
	if (pw_event_type(ev) == PW_EVENT_PROCESS_EXIT && pw_event_pid(ev) == atomic_load(&rs->child))
		atomic_store(&rs->seen, 1);
	return 0;
}

static void *stop_when_dispatching(void *arg)
{
	struct run_stop *rs = arg;
	long long deadline = test_ms_now() + 10000;
	int go[2];
	pid_t pid;
	char b;

	/* the child exits only once its pid is stored, or its exit may be read before (one CPU) */
	if (pipe(go))
		return NULL;
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		_exit(read(go[0], &b, 1) == 1 ? 0 : 1);
	}
	close(go[0]);
	atomic_store(&rs->child, pid);
	(void)!write(go[1], "x", 1);
	close(go[1]);
	waitpid(pid, NULL, 0);
	while (!atomic_load(&rs->seen) && test_ms_now() < deadline)
		sched_yield(); /* polling a condition with a deadline */
	atomic_store(&rs->stopped, 1);
	pw_monitor_stop(rs->m);
	return NULL;
}

static void run_and_stop(void **state)
{
	struct run_stop rs = { .child = -1 };
	PW_OPTS(pw_monitor_opts, opts, .on_event = run_stop_cb, .userdata = &rs);
	pthread_t t;

	(void)state;
	assert_int_equal(pw_monitor_new(&opts, &rs.m), 0);
	assert_int_equal(pw_monitor_run(rs.m), -EINVAL); /* not started */
	assert_int_equal(pw_monitor_start(rs.m), 0);
	assert_int_equal(pw_monitor_start(rs.m), -EALREADY);
	assert_true(pw_monitor_fd(rs.m) >= 0);
	assert_int_equal(pthread_create(&t, NULL, stop_when_dispatching, &rs), 0);
	assert_int_equal(pw_monitor_run(rs.m), 0);
	/* run() returned because of the stop, after it had dispatched the child's exit */
	assert_true(atomic_load(&rs.stopped));
	assert_true(atomic_load(&rs.seen));
	pthread_join(t, NULL);
	pw_monitor_free(rs.m);
	pw_monitor_free(NULL);
}

/* A callback's error stops dispatch and comes back from it. */
static int failing_cb(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	(void)m;
	(void)ev;
	(*(int *)userdata)++;
	return -ECANCELED;
}

static void callback_error_returned(void **state)
{
	int calls = 0;
	PW_OPTS(pw_monitor_opts, opts, .on_event = failing_cb, .userdata = &calls);
	struct pw_monitor *m = NULL;
	int err = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pw_monitor_new(&opts, &m), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	pid = fork();
	if (pid == 0)
		_exit(0);
	wait_status(pid);
	for (int i = 0; i < 50 && err != -ECANCELED; i++)
		err = pw_monitor_dispatch(m, 100);
	assert_int_equal(err, -ECANCELED);
	assert_int_equal(calls, 1);
	pw_monitor_free(m);
}

static void bad_options_rejected(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m = NULL;
	PW_OPTS(pw_rule, long_name, .action = PW_RULE_EXCLUDE,
		.match = PW_MATCH_NAME, .name = "a-name-longer-than-15");
	PW_OPTS(pw_rule, zero_pid, .action = PW_RULE_INCLUDE,
		.match = PW_MATCH_PID, .id = 0);

	(void)state;
	{
		PW_OPTS(pw_monitor_opts, o);
		assert_int_equal(pw_monitor_new(&o, &m), -EINVAL); /* no callback */
	}
	{
		PW_OPTS(pw_monitor_opts, o, .on_event = collector_on_event, .ringbuf_bytes = 5000);
		assert_int_equal(pw_monitor_new(&o, &m), -EINVAL); /* not a power of two */
	}
	{
		PW_OPTS(pw_monitor_opts, o, .on_event = collector_on_event, .events = 1u << 30);
		assert_int_equal(pw_monitor_new(&o, &m), -EINVAL);
	}
	{
		PW_OPTS(pw_monitor_opts, o, .on_event = collector_on_event, .max_args_bytes = 1 << 20);
		assert_int_equal(pw_monitor_new(&o, &m), -EINVAL);
	}
	assert_null(m);
	m = start_monitor(&c, NULL);
	assert_int_equal(pw_monitor_add_rule(m, &long_name), -ENAMETOOLONG);
	assert_int_equal(pw_monitor_add_rule(m, &zero_pid), -EINVAL);
	assert_int_equal(pw_monitor_add_rule(m, NULL), -EINVAL);
	pw_monitor_free(m);
	collector_free(&c);
}

/* Without privileges, start fails with a clear error and nothing leaks. */
static void unprivileged_start_fails_clearly(void **state)
{
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0) {
		struct collector c = { 0 };
		PW_OPTS(pw_monitor_opts, o, .on_event = collector_on_event, .userdata = &c);
		struct pw_monitor *m = NULL;
		int err;

		if (setresuid(65534, 65534, 65534))
			_exit(99);
		if (pw_monitor_new(&o, &m))
			_exit(98);
		err = pw_monitor_start(m);
		pw_monitor_free(m);
		_exit(err == -PW_ERR_NO_BPF ? 0 : 1);
	}
	assert_int_equal(wait_exit_code(pid), 0);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A signal that arrives during the batch delay (the short sleep after a
 * busy dispatch) ends the dispatch with -EINTR, as one during the wait
 * does. It used to be swallowed there, and the wait that followed slept
 * on: a Python program's SIGTERM handler (which runs only once the C call
 * returns) then waited for the next event, forever on a quiet machine.
 */
static void signal_during_batch_delay_interrupts_dispatch(void **state)
{
	struct collector c = { 0 };
	PW_OPTS(pw_monitor_opts, opts, .batch_delay_us = 900000);
	struct pw_monitor *m = start_monitor(&c, &opts);
	PW_OPTS(pw_rule, rule, .action = PW_RULE_INCLUDE, .match = PW_MATCH_PID);
	struct sigaction sa = { .sa_handler = on_alarm }, old; /* no SA_RESTART */
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	long long t0, ms;
	pid_t target;
	int go[2], rc;
	char b;

	(void)state;
	assert_int_equal(pipe(go), 0);
	target = fork();
	if (target == 0) {
		close(go[1]);
		_exit(read(go[0], &b, 1) == 1 ? 0 : 1);
	}
	close(go[0]);
	rule.id = target; /* only our child's events: nothing else ends the wait */
	assert_int_equal(pw_monitor_add_rule(m, &rule), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	assert_int_equal(write(go[1], "x", 1), 1);
	assert_int_equal(wait_exit_code(target), 0);
	/* a batch: the next dispatch starts with the 900 ms batch delay */
	do
		rc = pw_monitor_dispatch(m, 5000);
	while (rc == -EINTR);
	assert_true(rc > 0);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	t0 = test_ms_now();
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0); /* the signal lands in the delay */
	rc = pw_monitor_dispatch(m, 3000);
	ms = test_ms_now() - t0;
	sigaction(SIGALRM, &old, NULL);
	fprintf(stderr, "  dispatch returned %d after %lld ms (signal at 100 ms, delay 900 ms)\n", rc, ms);
	assert_int_equal(rc, -EINTR);
	assert_true(ms < 900);
	close(go[1]);
	pw_monitor_free(m);
	collector_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exec_event_fields),
		cmocka_unit_test(signal_during_batch_delay_interrupts_dispatch),
		cmocka_unit_test(exec_long_argv_truncated),
		cmocka_unit_test(token_in_new_pid_namespace),
		cmocka_unit_test(fork_without_exec),
		cmocka_unit_test(vfork_flagged),
		cmocka_unit_test(clone_parent_creator_differs),
		cmocka_unit_test(threads_counted_exactly),
		cmocka_unit_test(exit_codes_and_signals),
		cmocka_unit_test(excluded_name_produces_nothing),
		cmocka_unit_test(glob_and_prefix_rules),
		cmocka_unit_test(pid_rule_and_children),
		cmocka_unit_test(rules_change_while_running),
		cmocka_unit_test(uid_in_token_and_uid_rule),
		cmocka_unit_test(lost_events_counted),
		cmocka_unit_test(pid_reuse_gives_new_key),
		cmocka_unit_test(snapshot_has_known_process),
		cmocka_unit_test(two_monitors_independent),
		cmocka_unit_test(run_and_stop),
		cmocka_unit_test(callback_error_returned),
		cmocka_unit_test(bad_options_rejected),
		cmocka_unit_test(unprivileged_start_fails_clearly),
	};

	return cmocka_run_group_tests_name("lifecycle", tests, setup_root, NULL);
}
