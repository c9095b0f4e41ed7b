// SPDX-License-Identifier: MIT
/*
 * test_gate_behaviour.c - promises of the exec gate that test_gate.c does not
 * cover: audit mode, subject rules while running, the extension bound,
 * fail-open on handler errors, new mounts being marked, argv under Yama's
 * ptrace_scope 3 (only inside the VM matrix). The programs exec'd are copies
 * of this test binary in the test's own directory, which exit at once when
 * called with CHILD_ARG: no rule can touch the machine's own programs, and
 * the test needs nothing from the guest's userland. A watchdog alarm kills
 * the test if anything hangs (the kernel then releases every waiting exec).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CHILD_ARG "--pw-gate-behaviour-child"
#define EXEC_FAILED_BASE 200 /* child exit code: EXEC_FAILED_BASE + errno of execv */

static char dir[64];

/* A copy of this test binary at dir/NAME (or at `at`/NAME); returns its path. */
static char *program_in(const char *at, const char *name)
{
	static char paths[8][192];
	static int next;
	char *path = paths[next++ % 8];

	snprintf(path, sizeof(paths[0]), "%s/%s", at, name);
	copy_file_as("/proc/self/exe", path, 0755);
	return path;
}

static char *program(const char *name)
{
	return program_in(dir, name);
}

/*
 * fork; the child optionally drops to uid, then execs path with CHILD_ARG
 * and `extra`; returns the raw wait status. An exec failure exits
 * EXEC_FAILED_BASE + errno.
 */
static int run_as(const char *path, uid_t uid, const char *extra)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/*
		 * The strings on this child's own stack: a kernel-side argv copy
		 * cannot fault pages in, and after fork() the pages of the
		 * binary's read-only data may not be mapped in the child yet.
		 */
		char a0[64], a1[64], a2[64];
		char *argv[] = { a0, a1, extra ? a2 : NULL, NULL };

		snprintf(a0, sizeof(a0), "%s", strrchr(path, '/') + 1);
		snprintf(a1, sizeof(a1), "%s", CHILD_ARG);
		snprintf(a2, sizeof(a2), "%s", extra ? extra : "");

		if (uid && (setgid(uid) || setuid(uid)))
			_exit(2);
		execv(path, argv);
		_exit(EXEC_FAILED_BASE + errno);
	}
	return wait_status(pid);
}

static int run(const char *path)
{
	return run_as(path, 0, NULL);
}

static void assert_ran(int status)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void assert_denied(int status, int err)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EXEC_FAILED_BASE + err);
}

/* new_mount_is_marked: the mount point whose "gating PATH (FSTYPE)" message it waits for */
static char gating_want[160];
static atomic_int gating_seen;

static void log_cb(enum pw_log_level level, const char *msg, void *ud)
{
	size_t n = strlen(gating_want);

	(void)ud;
	if (n && !strncmp(msg, "gating ", 7) && !strncmp(msg + 7, gating_want, n) && !strncmp(msg + 7 + n, " (", 2))
		atomic_store(&gating_seen, 1);
	if (getenv("PW_TEST_GATE_DEBUG") || (level <= PW_LOG_WARN && !strstr(msg, "cannot gate")))
		fprintf(stderr, "gate log: %s\n", msg);
}

static bool in_dir(const char *image)
{
	return image && !strncmp(image, dir, strlen(dir)) && image[strlen(dir)] == '/';
}

static int setup(void **state)
{
	(void)state;
	return test_dir_setup(dir, sizeof(dir), "pw-gate-beh", 240);
}

static int teardown(void **state)
{
	char mnt[128];

	(void)state;
	if (!dir[0])
		return 0;
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	umount2(mnt, MNT_DETACH); /* left by a failed new-mounts test */
	test_dir_remove(dir);
	return 0;
}

/* ------------------------------------------------------------ decisions */

struct decisions {
	pthread_mutex_t lock;
	size_t n;
	struct {
		char image[192];
		enum pw_exec_verdict verdict;
		enum pw_gate_reason reason;
		bool audit;
		int rule;
	} v[64];
};

static void on_decision(struct pw_gate *g, const struct pw_gate_decision *d, void *ud)
{
	struct decisions *ds = ud;
	const char *image = pw_decision_image(d);

	(void)g;
	if (!in_dir(image))
		return;
	pthread_mutex_lock(&ds->lock);
	if (ds->n < 64) {
		snprintf(ds->v[ds->n].image, sizeof(ds->v[0].image), "%s", image);
		ds->v[ds->n].verdict = pw_decision_verdict(d);
		ds->v[ds->n].reason = pw_decision_reason(d);
		ds->v[ds->n].audit = pw_decision_audit(d);
		ds->v[ds->n].rule = pw_decision_rule(d);
		ds->n++;
	}
	pthread_mutex_unlock(&ds->lock);
}

/* Records are delivered off the decision path: wait (bounded) until `want` arrived. */
static size_t wait_decisions(struct decisions *ds, size_t want)
{
	long long deadline = test_ms_now() + 5000;
	size_t n;

	for (;;) {
		pthread_mutex_lock(&ds->lock);
		n = ds->n;
		pthread_mutex_unlock(&ds->lock);
		if (n >= want || test_ms_now() > deadline)
			return n;
		usleep(1000); /* polling a condition with a deadline, not a fixed wait */
	}
}

/* Audit: every exec runs; the records say what would have been decided. */
static void audit_mode_reports_without_enforcing(void **state)
{
	struct decisions ds = { .lock = PTHREAD_MUTEX_INITIALIZER };
	PW_OPTS(pw_gate_opts, o, .audit = true, .log = log_cb, .on_decision = on_decision,
		.decision_userdata = &ds);
	struct pw_gate_stats st = { .sz = sizeof(st) };
	char *denied = program("pwgb-audit-deny"), *other = program("pwgb-audit-ok");
	struct pw_gate *g = NULL;
	char rule[256];

	(void)state;
	require_bpf();
	snprintf(rule, sizeof(rule), "deny path %s", denied);
	assert_int_equal(pw_gate_new(&o, &g), 0);
	assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	assert_int_equal(pw_gate_start(g), 0);
	assert_ran(run(denied)); /* a deny rule matched, and the exec ran anyway */
	assert_ran(run(other));
	assert_int_equal(wait_decisions(&ds, 2), 2);
	assert_int_equal(pw_gate_stats(g, &st), 0);
	pw_gate_free(g);

	assert_string_equal(ds.v[0].image, denied);
	assert_int_equal(ds.v[0].verdict, PW_EXEC_DENY);
	assert_int_equal(ds.v[0].reason, PW_GATE_BY_RULE);
	assert_int_equal(ds.v[0].rule, 0);
	assert_true(ds.v[0].audit);
	assert_string_equal(ds.v[1].image, other);
	assert_int_equal(ds.v[1].verdict, PW_EXEC_ALLOW);
	assert_true(ds.v[1].audit);
	/* the counters count what would have been: one deny */
	assert_int_equal(st.denied, 1);
	assert_int_equal(st.by_rule, 1);
	/* the gate is gone: the same exec runs without it, obviously */
	assert_ran(run(denied));
}

/* `deny name N uid U`: loaded at start; a subject rule cannot be added or removed while running. */
static void subject_rule_by_name_and_uid(void **state)
{
	PW_OPTS(pw_gate_opts, o, .log = log_cb);
	struct pw_gate_stats st = { .sz = sizeof(st) };
	char *prog = program("pwgb-uid"), *late = program("pwgb-late");
	struct pw_gate *g = NULL;

	(void)state;
	require_bpf();
	assert_int_equal(pw_gate_new(&o, &g), 0);
	assert_int_equal(pw_gate_add_rule_text(g, "deny name pwgb-uid uid 65534"), 0);
	assert_int_equal(pw_gate_start(g), 0);
	/* the named program, by that uid: denied; by root: allowed */
	assert_denied(run_as(prog, 65534, NULL), EPERM);
	assert_ran(run_as(prog, 0, NULL));
	/* another program by that uid: allowed */
	assert_ran(run_as(late, 65534, NULL));

	/* while running: refused, and nothing changes */
	assert_int_equal(pw_gate_add_rule_text(g, "deny name pwgb-late uid 65534"), -EBUSY);
	assert_int_equal(pw_gate_remove_rule(g, 0), -EBUSY);
	assert_ran(run_as(late, 65534, NULL));
	assert_denied(run_as(prog, 65534, NULL), EPERM);
	/* a rule without a subject is fine at run time */
	assert_int_equal(pw_gate_add_rule_text(g, "deny name pwgb-late"), 0);
	assert_denied(run_as(late, 65534, NULL), EPERM);
	assert_int_equal(pw_gate_remove_rule(g, 1), 0);
	assert_ran(run_as(late, 65534, NULL));
	assert_int_equal(pw_gate_stats(g, &st), 0);
	pw_gate_free(g);
	assert_int_equal(st.denied, 3);
	assert_int_equal(st.by_rule, 3);
}

/* ------------------------------------------------------------ handlers */

struct handler_state {
	atomic_int calls;
	int extend_ret[8];
	unsigned int extend_n;   /* extensions to try */
	unsigned int extend_ms;
	unsigned int work_ms;    /* then take this long */
	int ret;                 /* return this (negative: a failure) */
	bool verdict;            /* give an allow before returning */
	atomic_int errors;
	int last_error;
};

static int handler(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	struct handler_state *hs = ud;

	(void)g;
	if (!in_dir(pw_exec_image(req)))
		return pw_exec_allow(req);
	atomic_fetch_add(&hs->calls, 1);
	for (unsigned int i = 0; i < hs->extend_n && i < 8; i++)
		hs->extend_ret[i] = pw_exec_extend(req, hs->extend_ms);
	if (hs->work_ms) {
		struct timespec t = { hs->work_ms / 1000, (hs->work_ms % 1000) * 1000000L };

		nanosleep(&t, NULL); /* the slow handler under test, not a synchronisation */
	}
	if (hs->verdict)
		pw_exec_allow(req);
	return hs->ret;
}

static void on_error(struct pw_gate *g, const struct pw_exec_request *req, int err, void *ud)
{
	struct handler_state *hs = ud;

	(void)g, (void)req;
	hs->last_error = err;
	atomic_fetch_add(&hs->errors, 1);
}

/* Run prog under g, then stop g (which waits for the handler) and read its stats; frees g. */
static int run_then_stats(struct pw_gate *g, const char *prog, struct pw_gate_stats *st)
{
	int status = run(prog);

	pw_gate_stop(g);
	assert_int_equal(pw_gate_stats(g, st), 0);
	pw_gate_free(g);
	return status;
}

static struct pw_gate *handler_gate(struct pw_gate_opts *o, struct handler_state *hs)
{
	struct pw_gate *g = NULL;
	char scope[64];

	o->handler = handler;
	o->userdata = hs;
	o->on_error = on_error;
	o->log = log_cb;
	assert_int_equal(pw_gate_new(o, &g), 0);
	/* only this test's children are asked */
	snprintf(scope, sizeof(scope), "gate by-pid %d children", getpid());
	assert_int_equal(pw_gate_add_rule_text(g, scope), 0);
	assert_int_equal(pw_gate_start(g), 0);
	return g;
}

/* At most max_extensions pushes of the deadline per request, and they do push it. */
static void extension_bound(void **state)
{
	struct handler_state hs = { .extend_n = 4, .extend_ms = 3000, .work_ms = 600,
				    .verdict = true };
	PW_OPTS(pw_gate_opts, o, .max_extensions = 2, .timeout_ms = 300,
		.timeout_verdict = PW_EXEC_DENY);
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g = handler_gate(&o, &hs);
	char *prog = program("pwgb-extend");
	int status;

	(void)state;
	require_bpf();
	status = run_then_stats(g, prog, &st);
	assert_int_equal(atomic_load(&hs.calls), 1);
	assert_int_equal(hs.extend_ret[0], 0);
	assert_int_equal(hs.extend_ret[1], 0);
	assert_int_equal(hs.extend_ret[2], -E2BIG);
	assert_int_equal(hs.extend_ret[3], -E2BIG);
	assert_int_equal(st.extensions, 2);
	/* 600 ms of work against a 300 ms deadline: the extension held it off */
	assert_ran(status);
	assert_int_equal(st.timed_out, 0);
	assert_int_equal(st.late_verdicts, 0);
}

/* The default bound is 4; without extensions the same handler times out. */
static void extension_default_and_timeout(void **state)
{
	struct handler_state hs = { .extend_n = 6, .extend_ms = 3000, .verdict = true };
	PW_OPTS(pw_gate_opts, o, .timeout_ms = 300, .timeout_verdict = PW_EXEC_DENY);
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g = handler_gate(&o, &hs);
	char *prog = program("pwgb-extend4");
	int status;

	(void)state;
	require_bpf();
	assert_ran(run(prog));
	for (int i = 0; i < 4; i++)
		assert_int_equal(hs.extend_ret[i], 0);
	assert_int_equal(hs.extend_ret[4], -E2BIG);
	assert_int_equal(hs.extend_ret[5], -E2BIG);
	/* no extension, slow handler: the deadline gives timeout_verdict */
	hs.extend_n = 0;
	hs.work_ms = 600;
	/* stopping joins the handler, whose late verdict comes after the exec failed */
	status = run_then_stats(g, prog, &st);
	assert_denied(status, EPERM);
	assert_int_equal(st.extensions, 4);
	assert_int_equal(st.timed_out, 1);
	assert_int_equal(st.late_verdicts, 1); /* the handler's allow came after the deadline */
}

/* A failing handler: error_verdict, ALLOW by default (fail-open), and on_error is told. */
static void handler_error_fail_open(void **state)
{
	struct handler_state hs = { .ret = -EIO };
	PW_OPTS(pw_gate_opts, o);
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g = handler_gate(&o, &hs);
	char *prog = program("pwgb-error");
	int status;

	(void)state;
	require_bpf();
	status = run_then_stats(g, prog, &st);
	assert_ran(status);
	assert_int_equal(atomic_load(&hs.calls), 1);
	assert_int_equal(atomic_load(&hs.errors), 1);
	assert_int_equal(hs.last_error, -EIO);
	assert_int_equal(st.handler_errors, 1);
	assert_int_equal(st.denied, 0);

	/* the explicit choice behaves the same */
	PW_OPTS(pw_gate_opts, o2, .error_verdict = PW_EXEC_ALLOW);
	atomic_store(&hs.calls, 0);
	atomic_store(&hs.errors, 0);
	g = handler_gate(&o2, &hs);
	status = run(prog);
	pw_gate_free(g);
	assert_ran(status);
	assert_int_equal(atomic_load(&hs.errors), 1);
}

/* ------------------------------------------------------------ mounts */

/* A filesystem mounted while the gate runs is marked: its programs are gated too. */
static void new_mount_is_marked(void **state)
{
	PW_OPTS(pw_gate_opts, o, .log = log_cb);
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g = NULL;
	char mnt[128], rule[256], *prog;
	uint64_t before;
	long long deadline;
	int status;

	(void)state;
	require_bpf();
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	assert_int_equal(mkdir(mnt, 0755), 0);
	snprintf(rule, sizeof(rule), "deny path %s/pwgb-mounted", mnt);
	assert_int_equal(pw_gate_new(&o, &g), 0);
	assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	assert_int_equal(pw_gate_start(g), 0);
	assert_int_equal(pw_gate_stats(g, &st), 0);
	before = st.filesystems_marked;

	snprintf(gating_want, sizeof(gating_want), "%s", mnt);
	atomic_store(&gating_seen, 0);
	assert_int_equal(mount("pw-gate-test", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m"), 0);
	/*
	 * The gate's mount watcher marks it and says so ("gating MNT (tmpfs)"):
	 * wait for that message about this mount, with a deadline (the count
	 * alone may grow for another helper's mount first on a shared machine).
	 */
	deadline = test_ms_now() + 5000;
	while (!atomic_load(&gating_seen) && test_ms_now() < deadline)
		usleep(2000); /* polling a condition with a deadline */
	gating_want[0] = 0;
	assert_true(atomic_load(&gating_seen));
	assert_int_equal(pw_gate_stats(g, &st), 0);
	assert_true(st.filesystems_marked > before);
	prog = program_in(mnt, "pwgb-mounted");
	status = run(prog);
	assert_int_equal(pw_gate_stats(g, &st), 0);
	pw_gate_free(g);
	assert_int_equal(umount2(mnt, 0), 0);
	assert_denied(status, EPERM);
	assert_int_equal(st.denied, 1);
	assert_int_equal(st.ungated, 0);
}

/* ------------------------------------------------------------ Yama */

struct argv_seen {
	pthread_mutex_t lock;
	int calls;
	char args[3][32];
	size_t argc;
	unsigned int flags;
};

static int argv_handler(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	struct argv_seen *a = ud;

	(void)g;
	if (!in_dir(pw_exec_image(req)))
		return pw_exec_allow(req);
	pthread_mutex_lock(&a->lock);
	a->calls++;
	a->argc = pw_exec_argc(req);
	for (size_t i = 0; i < 3 && i < a->argc; i++)
		snprintf(a->args[i], sizeof(a->args[i]), "%s", pw_exec_arg(req, i));
	a->flags = pw_exec_flags(req);
	pthread_mutex_unlock(&a->lock);
	return pw_exec_allow(req);
}

/* A handler reads the argv of an exec of our program NAME; it must be exact. */
static void argv_case(const char *name, bool in_kernel)
{
	struct argv_seen a = { .lock = PTHREAD_MUTEX_INITIALIZER };
	PW_OPTS(pw_gate_opts, o, .handler = argv_handler, .userdata = &a, .log = log_cb,
		.argv_in_kernel = in_kernel);
	struct pw_gate *g = NULL;
	char scope[64], *prog = program(name);
	int status;

	assert_int_equal(pw_gate_new(&o, &g), 0);
	snprintf(scope, sizeof(scope), "gate by-pid %d children", getpid());
	assert_int_equal(pw_gate_add_rule_text(g, scope), 0);
	assert_int_equal(pw_gate_start(g), 0);
	status = run_as(prog, 0, "k 2");
	pw_gate_free(g);
	assert_ran(status);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.argc, 3);
	assert_string_equal(a.args[0], name);
	assert_string_equal(a.args[1], CHILD_ARG);
	assert_string_equal(a.args[2], "k 2");
	assert_int_equal(a.flags & (PW_EXEC_NO_ARGS | PW_EXEC_ARGS_TRUNCATED), 0);
}

/* The kernel copy asked for explicitly: the same argv as a read from the process. */
static void argv_in_kernel_explicit(void **state)
{
	(void)state;
	require_bpf();
	argv_case("pwgb-kargv", true);
}

/*
 * Under ptrace_scope 3 nobody may read another process's memory, so the
 * argv must come from the kernel copy (chosen automatically). Setting 3
 * cannot be undone until reboot: only in a throw-away VM (PW_TEST_IN_VM,
 * set by tests/vm/run-matrix.sh), never on a shared host.
 */
static void argv_under_yama_scope_3(void **state)
{
	char cur = 0;
	int fd;

	(void)state;
	require_bpf();
	if (!getenv("PW_TEST_IN_VM")) {
		fprintf(stderr, "SKIP: sets kernel.yama.ptrace_scope=3 (irreversible): VM matrix only\n");
		skip();
	}
	fd = open("/proc/sys/kernel/yama/ptrace_scope", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "SKIP: no Yama in this kernel\n");
		skip();
	}
	assert_int_equal(pread(fd, &cur, 1, 0), 1);
	if (cur != '3')
		assert_int_equal(pwrite(fd, "3\n", 2, 0), 2);
	close(fd);
	argv_case("pwgb-yama", false);
}

int main(int argc, char **argv)
{
	/* a copy of this binary exec'd by a test: it only has to run */
	if (argc >= 2 && !strcmp(argv[1], CHILD_ARG))
		return 0;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(audit_mode_reports_without_enforcing),
		cmocka_unit_test(subject_rule_by_name_and_uid),
		cmocka_unit_test(extension_bound),
		cmocka_unit_test(extension_default_and_timeout),
		cmocka_unit_test(handler_error_fail_open),
		cmocka_unit_test(new_mount_is_marked),
		cmocka_unit_test(argv_in_kernel_explicit),
		/* last: it leaves ptrace_scope at 3 in the VM */
		cmocka_unit_test(argv_under_yama_scope_3),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
