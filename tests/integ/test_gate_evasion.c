// SPDX-License-Identifier: MIT
/*
 * test_gate_evasion.c - an ordinary user (uid 65534) tries the known ways
 * around the exec gate (issue 12) against rules this test made: a private
 * mount namespace with a tmpfs copy, `ld.so PROGRAM`, a memfd, a cached
 * allow rewritten through a shared mapping, and resuming a held exec with
 * SIGCONT or ptrace. The program denied is a copy of this test binary with
 * one byte appended (so it has its own SHA-256); run with --payload FILE it
 * creates FILE as the first thing main() does: the marker that must not
 * appear. Every rule is scoped to uid 65534, every file lives in this
 * test's own directory, and every child has a watchdog (SIGKILL by pid).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534
#define EXEC_FAILED_BASE 200   /* child exit code: EXEC_FAILED_BASE + errno of the exec */
#define CHILD_DEADLINE_MS 20000

extern char **environ;

static char dir[64], denied[128], legit[128], denied_hex[65];
static const char *loader;
/* The running gate holds (6.13+); false: such execs are killed at exec instead (fail closed). */
static bool holds;

/* ------------------------------------------------------------ files */

static int setup(void **state)
{
	sigset_t hup;

	(void)state;
	/*
	 * The subjects are held, and a process that ignores or blocks SIGHUP
	 * cannot be (it is killed at exec: include/procward.h, "Held execs").
	 * Run under nohup or a CI runner that ignores SIGHUP, the subjects
	 * would inherit that: they get the default disposition, unblocked.
	 */
	signal(SIGHUP, SIG_DFL);
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &hup, NULL);
	if (geteuid() != 0)
		return 0;
	snprintf(dir, sizeof(dir), "/tmp/pw-gate-evasion-XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0777), 0); /* uid 65534 writes its markers and files here */
	alarm(300); /* watchdog of last resort: SIGALRM kills us, and the kernel drops the gate */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(dir);
	return 0;
}

/* Copy this binary to path with one byte appended (its own hash), mode 0755, owned by uid. */
static void make_copy(const char *path, char tag, uid_t uid)
{
	int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	char buf[65536];
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(write(out, &tag, 1), 1);
	close(in);
	assert_int_equal(fchown(out, uid, uid), 0);
	assert_int_equal(fchmod(out, 0755), 0);
	close(out);
}

static void sha256_hex(const char *path, char out[65])
{
	char cmd[256];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sha256sum %s", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%64s", out), 1);
	pclose(p);
}

static bool exists(const char *path)
{
	return !access(path, F_OK);
}

/* This binary's ELF interpreter, if it is dynamic (the VM's static build has none). */
static const char *find_loader(void)
{
	static const char *const paths[] = { "/lib64/ld-linux-x86-64.so.2",
					     "/lib/ld-linux-aarch64.so.1" };
	char buf[4096];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0 || !memmem(buf, (size_t)n, "/ld-", 4))
		return NULL; /* no PT_INTERP string in the headers: static */
	for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
		if (exists(paths[i]))
			return paths[i];
	return NULL;
}

/* ------------------------------------------------------------ decisions */

struct seen {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct {
		pid_t pid;
		enum pw_exec_verdict verdict;
		enum pw_gate_reason reason;
		bool held, via_loader;
		char image[256];
	} v[64];
	int n;
	/* handler mode (resume tests): held requests of uid 65534 are deferred here */
	bool defer_held;
	/* handler mode (blocked reader): uid 65534's exec-opens of `legit` wait for block_fd */
	int block_fd;
	bool blocking;
	struct pw_exec_request *deferred;
	pid_t deferred_pid;
};

static struct seen seen = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .block_fd = -1 };

/* The running gate: a failed assertion must not leave it running (teardown frees it). */
static struct pw_gate *gate;

static int free_gate(void **state)
{
	(void)state;
	pw_gate_free(gate);
	gate = NULL;
	seen.defer_held = false;
	return 0;
}

static void on_decision(struct pw_gate *g, const struct pw_gate_decision *d, void *ud)
{
	struct seen *s = ud;

	(void)g;
	if (pw_decision_uid(d) != NOBODY)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->n < 64) {
		s->v[s->n].pid = pw_decision_pid(d);
		s->v[s->n].verdict = pw_decision_verdict(d);
		s->v[s->n].reason = pw_decision_reason(d);
		s->v[s->n].held = pw_decision_held(d);
		s->v[s->n].via_loader = pw_decision_via_loader(d);
		snprintf(s->v[s->n].image, sizeof(s->v[s->n].image), "%s", pw_decision_image(d));
		s->n++;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* The held decision for pid (waits for its record); -1 if none came. */
static int held_record(pid_t pid)
{
	struct timespec ts;
	int found = -1;

	deadline_in(&ts, 5000);
	pthread_mutex_lock(&seen.mu);
	for (;;) {
		for (int i = 0; i < seen.n; i++)
			if (seen.v[i].pid == pid && seen.v[i].held)
				found = i;
		if (found >= 0 || pthread_cond_timedwait(&seen.cv, &seen.mu, &ts))
			break;
	}
	pthread_mutex_unlock(&seen.mu);
	return found;
}

static int handler(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	struct seen *s = ud;

	(void)g;
	if (s->block_fd >= 0 && !(pw_exec_flags(req) & PW_EXEC_HELD) && pw_exec_token(req) &&
	    pw_exec_token(req)->uid == NOBODY && pw_exec_image(req) && !strcmp(pw_exec_image(req), legit)) {
		uint64_t v;

		pthread_mutex_lock(&s->mu);
		s->blocking = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		(void)!read_within(s->block_fd, &v, sizeof(v), 20000); /* bounded: the test's watchdog */
		return pw_exec_allow(req);
	}
	if (s->defer_held && (pw_exec_flags(req) & PW_EXEC_HELD) && pw_exec_token(req) &&
	    pw_exec_token(req)->uid == NOBODY) {
		pthread_mutex_lock(&s->mu);
		if (!s->deferred && !pw_exec_defer(req)) {
			s->deferred = req;
			s->deferred_pid = pw_exec_pid(req);
			pthread_cond_broadcast(&s->cv);
			pthread_mutex_unlock(&s->mu);
			return 0;
		}
		pthread_mutex_unlock(&s->mu);
	}
	return pw_exec_allow(req);
}

static void log_cb(enum pw_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= PW_LOG_WARN && !strstr(msg, "cannot gate") && !strstr(msg, "ungated exec"))
		fprintf(stderr, "gate log: %s\n", msg);
}

/* A gate for uid 65534 only: the rules deny `denied` by hash, and allow (cached) two victims. */
/*
 * The gate these tests run: a deny rule for nobody's copy of the denied
 * program, nobody the only gated user. mounts: PW_GATE_MOUNTS_OWN_NS for
 * the tests of held execs, so that a private namespace's tmpfs stays
 * unmarked and each exec from it is held, not raced by the mount thread.
 */
static struct pw_gate *start_gate_mounts(bool with_handler, enum pw_gate_mounts mounts)
{
	PW_OPTS(pw_gate_opts, o, .handler = with_handler ? handler : NULL, .userdata = &seen,
		.timeout_ms = 15000, .timeout_verdict = PW_EXEC_DENY, .on_decision = on_decision,
		.decision_userdata = &seen, .log = log_cb, .mounts = mounts);
	struct pw_gate *g = NULL;
	char rule[512];

	pthread_mutex_lock(&seen.mu);
	seen.n = 0;
	seen.deferred = NULL;
	seen.deferred_pid = 0;
	pthread_mutex_unlock(&seen.mu);
	assert_int_equal(pw_gate_new(&o, &g), 0);
	snprintf(rule, sizeof(rule), "deny sha256 %s uid %d", denied_hex, NOBODY);
	assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	snprintf(rule, sizeof(rule), "allow path %s/victim cache", dir);
	assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	snprintf(rule, sizeof(rule), "allow path %s/victim-root cache", dir);
	assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	snprintf(rule, sizeof(rule), "gate uid %d", NOBODY); /* the gated set: nobody else waits */
	assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	gate = g;
	assert_int_equal(pw_gate_start(g), 0);
	holds = pw_gate_hold_supported(g);
	return g;
}

static struct pw_gate *start_gate(bool with_handler)
{
	return start_gate_mounts(with_handler, PW_GATE_MOUNTS_OWN_NS);
}

static bool killed(int status);

/* A kernel that cannot hold: what the gate promises instead is checked; the rest is skipped. */
static void skip_unless_holds(const char *what)
{
	if (holds)
		return;
	free_gate(NULL);
	fprintf(stderr, "SKIP: %s: this kernel cannot hold execs (no bpf_send_signal_task, 6.13+)\n", what);
	skip();
}

/* A held exec's record for pid, with this verdict: its index in seen.v. */
static int expect_held_verdict(pid_t pid, enum pw_exec_verdict verdict)
{
	int r = held_record(pid);

	assert_true(r >= 0);
	assert_int_equal(seen.v[r].verdict, verdict);
	return r;
}

/* Killed at its held exec: nothing of it ran, and the record says deny. */
static int expect_killed_denied(pid_t pid, int status, const char *marker)
{
	assert_true(killed(status));
	assert_false(exists(marker));
	return expect_held_verdict(pid, PW_EXEC_DENY);
}

/* The program ran and exited 0 (its marker is there). */
static void expect_ran(int status, const char *marker)
{
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(exists(marker));
}

/*
 * A legitimate exec the gate could not see, on a kernel that cannot hold:
 * killed at exec (fail closed), marker absent, reported as such.
 */
static void expect_killed_unheld(pid_t pid, int status, const char *marker)
{
	int r = expect_killed_denied(pid, status, marker);

	assert_int_equal(seen.v[r].reason, PW_GATE_UNGATED);
}

/* ------------------------------------------------------------ children */

static void become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
		_exit(90);
	prctl(PR_SET_DUMPABLE, 1); /* its own /proc/self (uid_map), as after a login */
}

/* Wait for pid with a deadline; past it, SIGKILL (the watchdog needs no exec). Returns the status. */
static int wait_child(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	assert_true(pidfd >= 0);
	if (poll(&pfd, 1, CHILD_DEADLINE_MS) <= 0) {
		fprintf(stderr, "watchdog: child %d still running after %d ms: killed\n", pid,
			CHILD_DEADLINE_MS);
		kill(pid, SIGKILL);
	}
	close(pidfd);
	return wait_status(pid);
}

static void exec_payload(const char *path, const char *marker)
{
	execv(path, (char *[]){ (char *)path, "--payload", (char *)marker, NULL });
	_exit(EXEC_FAILED_BASE + errno);
}

static bool killed(int status)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fprintf(stderr, "child status 0x%x: %s %d\n", status,
			WIFEXITED(status) ? "exited" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		_exit(91);
	close(fd);
}

/* Copy everything from in to out, in a child: _exit on failure. */
static void copy_fd_in_child(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			_exit(95);
}

/* Copy src to dst (mode 0755), in a child: _exit on failure. */
static void copy_in_child(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);

	if (in < 0 || out < 0)
		_exit(94);
	copy_fd_in_child(in, out);
	close(in);
	close(out);
}

/* In a child: become uid 65534 in a user and mount namespace of its own, a tmpfs on dir/mnt there. */
static void enter_private_ns(char *mnt, size_t len)
{
	char map[32];

	become_nobody();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS))
		_exit(92);
	snprintf(map, sizeof(map), "0 %d 1", NOBODY);
	write_file("/proc/self/setgroups", "deny");
	write_file("/proc/self/uid_map", map);
	write_file("/proc/self/gid_map", map);
	snprintf(mnt, len, "%s/mnt", dir);
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=16m"))
		_exit(93);
}

/* uid 65534: a user and mount namespace of its own, a tmpfs there, `src` copied onto it and run. */
static pid_t run_in_private_ns(const char *src, const char *marker)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char mnt[128], prog[160];

		enter_private_ns(mnt, sizeof(mnt));
		snprintf(prog, sizeof(prog), "%s/prog", mnt);
		copy_in_child(src, prog);
		exec_payload(prog, marker);
	}
	return pid;
}

/*
 * uid 65534, in a private mount namespace with a tmpfs of its own: `first`
 * runs from it, then `second` does. The two wait statuses go to status_fd.
 */
static pid_t run_twice_in_private_ns_synced(const char *first, const char *first_marker, const char *second,
					    const char *second_marker, int status_fd, int ready_fd, int go_fd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char mnt[128], p1[160], p2[160], go;
		int st[2];

		enter_private_ns(mnt, sizeof(mnt));
		snprintf(p1, sizeof(p1), "%s/first", mnt);
		snprintf(p2, sizeof(p2), "%s/second", mnt);
		copy_in_child(first, p1);
		copy_in_child(second, p2);
		/* with ready_fd: say the tmpfs is mounted and filled, run once told to */
		if (ready_fd >= 0 && (write(ready_fd, "r", 1) != 1 || read(go_fd, &go, 1) != 1))
			_exit(99);
		for (int i = 0; i < 2; i++) {
			pid_t c = fork();

			if (c < 0)
				_exit(96);
			if (c == 0)
				exec_payload(i ? p2 : p1, i ? second_marker : first_marker);
			if (waitpid(c, &st[i], 0) != c)
				_exit(97);
		}
		_exit(write(status_fd, st, sizeof(st)) == sizeof(st) ? 0 : 98);
	}
	return pid;
}

static pid_t run_twice_in_private_ns(const char *first, const char *first_marker, const char *second,
				     const char *second_marker, int status_fd)
{
	return run_twice_in_private_ns_synced(first, first_marker, second, second_marker, status_fd, -1, -1);
}

/* uid 65534: `src` copied into a memfd, run with fexecve (execveat AT_EMPTY_PATH). */
static pid_t run_memfd(const char *src, const char *marker)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int in, mfd;

		become_nobody();
		in = open(src, O_RDONLY | O_CLOEXEC);
		mfd = (int)syscall(SYS_memfd_create, "pw-evasion", 0);
		if (in < 0 || mfd < 0)
			_exit(94);
		copy_fd_in_child(in, mfd);
		close(in);
		fexecve(mfd, (char *[]){ "pw-evasion", "--payload", (char *)marker, NULL }, environ);
		_exit(EXEC_FAILED_BASE + errno);
	}
	return pid;
}

/* uid 65534 runs path (through the loader when via_loader). */
static pid_t run_nobody(const char *path, const char *marker, bool via_loader)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		become_nobody();
		if (via_loader) {
			execv(loader, (char *[]){ "ld.so", "--inhibit-cache", (char *)path, "--payload",
						  (char *)marker, NULL });
			_exit(EXEC_FAILED_BASE + errno);
		}
		exec_payload(path, marker);
	}
	return pid;
}

/* Rewrite path in place through a shared writable mapping with the content of from (same size). */
static void rewrite_mapped(const char *path, const char *from)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), in = open(from, O_RDONLY | O_CLOEXEC);
	struct stat st, st2;
	char *dst, *src;

	if (fd < 0 || in < 0 || fstat(fd, &st) || fstat(in, &st2) || st.st_size != st2.st_size)
		_exit(96);
	dst = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	src = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, in, 0);
	if (dst == MAP_FAILED || src == MAP_FAILED)
		_exit(97);
	memcpy(dst, src, (size_t)st.st_size);
	msync(dst, (size_t)st.st_size, MS_SYNC);
	munmap(dst, (size_t)st.st_size);
	munmap(src, (size_t)st.st_size);
	close(fd);
	close(in);
}

/* ------------------------------------------------------------ tests */

static void marker_path(char *out, size_t len, const char *what)
{
	snprintf(out, len, "%s/marker-%s", dir, what);
	unlink(out);
}

/* Evasion 1: a private mount namespace (unshare -Urm) and a tmpfs copy; and a legitimate program there. */
static void test_private_mount_ns(void **state)
{
	char marker[160], legit_marker[160];
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g;
	pid_t pid;
	int status, r;

	(void)state;
	require_bpf();
	marker_path(marker, sizeof(marker), "ns-denied");
	marker_path(legit_marker, sizeof(legit_marker), "ns-legit");
	g = start_gate(false);

	pid = run_in_private_ns(denied, marker);
	status = wait_child(pid);
	r = expect_killed_denied(pid, status, marker);
	assert_int_equal(seen.v[r].reason, holds ? PW_GATE_BY_RULE : PW_GATE_UNGATED);

	/* a program no rule denies runs from there, after the same hold */
	pid = run_in_private_ns(legit, legit_marker);
	status = wait_child(pid);
	if (!holds) { /* no hold: killed too, as documented (fail closed) */
		expect_killed_unheld(pid, status, legit_marker);
		pw_gate_stats(g, &st);
		free_gate(NULL);
		assert_true(st.held_killed >= 2);
		fprintf(stderr, "no hold on this kernel: both execs from the private namespace killed at exec\n");
		return;
	}
	expect_ran(status, legit_marker);
	expect_held_verdict(pid, PW_EXEC_ALLOW);

	pw_gate_stats(g, &st);
	free_gate(NULL);
	fprintf(stderr, "private ns: %" PRIu64 " held, %" PRIu64 " killed at exec\n", st.held, st.held_killed);
	assert_true(st.held >= 2);
	assert_int_equal(st.filesystems_marked_mounted, 0); /* PW_GATE_MOUNTS_OWN_NS */
}

/*
 * The child of run_twice_in_private_ns*() exits 0 once it has written the
 * wait statuses of its two execs to fd: they are read into statuses.
 */
static void read_two_statuses(pid_t pid, int fd, int statuses[2])
{
	int status = wait_child(pid);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read_within(fd, statuses, 2 * sizeof(int), 1000), (int)(2 * sizeof(int)));
	close(fd);
}

/*
 * The first exec (legit) ran and left its marker; the second (denied), from
 * a marked filesystem, was asked about at its open: its execve failed with
 * EPERM, nothing of it ran, and it was not killed.
 */
static void expect_ran_then_refused(const int statuses[2], const char *first, const char *second)
{
	assert_true(WIFEXITED(statuses[0]) && WEXITSTATUS(statuses[0]) == 0);
	assert_true(exists(first));
	assert_true(WIFEXITED(statuses[1]));
	assert_int_equal(WEXITSTATUS(statuses[1]), EXEC_FAILED_BASE + EPERM);
	assert_false(exists(second));
}

/*
 * A filesystem of a private namespace is marked by its first held exec:
 * the next exec from it is asked about at its open, so a deny is an errno
 * (EPERM), nothing of it runs, and it is not held.
 */
static void test_private_mount_ns_marked(void **state)
{
	char first[160], second[160];
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g;
	int p[2], statuses[2];
	pid_t pid;

	(void)state;
	require_bpf();
	marker_path(first, sizeof(first), "ns-first");
	marker_path(second, sizeof(second), "ns-second");
	g = start_gate(false);
	skip_unless_holds("marking a filesystem through a held exec");
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = run_twice_in_private_ns(legit, first, denied, second, p[1]);
	close(p[1]);
	read_two_statuses(pid, p[0], statuses);
	pw_gate_stats(g, &st);
	free_gate(NULL);
	fprintf(stderr, "private ns: first exec 0x%x, second 0x%x; %" PRIu64 " held, %" PRIu64
		" filesystems marked through held execs\n", statuses[0], statuses[1], st.held,
		st.filesystems_marked_held);
	expect_ran_then_refused(statuses, first, second); /* the first held, allowed */
	assert_int_equal(st.held, 1);
	assert_true(st.filesystems_marked_held >= 1);
}

/*
 * A tmpfs mounted in another mount namespace is marked when the kernel
 * reports the mount (PW_GATE_MOUNTS_EVERY_NS), before anything runs from
 * it: a legitimate program there runs, unheld (on 6.1/6.12 too, where an
 * unmarked one would be killed at exec), and a denied one fails its
 * execve with EPERM, asked about at its open. The child runs once the
 * gate's counter shows the mark (not a sleep: the mark is what is tested).
 */
static void test_foreign_mount_marked(void **state)
{
	char first[160], second[160], c;
	struct pw_gate_stats st = { .sz = sizeof(st) };
	int p[2], ready[2], go[2], statuses[2];
	struct pw_gate *g;
	pid_t pid;

	(void)state;
	require_bpf();
	marker_path(first, sizeof(first), "mnt-legit");
	marker_path(second, sizeof(second), "mnt-denied");
	g = start_gate_mounts(false, PW_GATE_MOUNTS_EVERY_NS);
	if (access("/sys/kernel/tracing/events/syscalls/sys_exit_mount", F_OK) &&
	    access("/sys/kernel/debug/tracing/events/syscalls/sys_exit_mount", F_OK)) {
		free_gate(NULL);
		fprintf(stderr, "SKIP: no syscall tracepoints: mounts in other namespaces are not reported\n");
		skip();
	}
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid = run_twice_in_private_ns_synced(legit, first, denied, second, p[1], ready[1], go[0]);
	close(p[1]);
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read_within(ready[0], &c, 1, 10000), 1);
	/* the mount was reported and its tmpfs marked: bounded wait on the gate's counter */
	for (int i = 0; i < 500; i++) {
		pw_gate_stats(g, &st);
		if (st.filesystems_marked_mounted >= 1)
			break;
		usleep(10000);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	read_two_statuses(pid, p[0], statuses);
	close(ready[0]);
	pw_gate_stats(g, &st);
	free_gate(NULL);
	fprintf(stderr, "foreign mount: %" PRIu64 " reported, %" PRIu64 " marked as mounted, %" PRIu64
		" held; legit 0x%x, denied 0x%x\n", st.mounts_reported, st.filesystems_marked_mounted,
		st.held, statuses[0], statuses[1]);
	assert_true(st.mounts_reported >= 1);
	assert_true(st.filesystems_marked_mounted >= 1);
	expect_ran_then_refused(statuses, first, second); /* the first not held */
	assert_int_equal(st.held, 0);
	assert_int_equal(st.held_killed, 0);
}

/* Evasion 2: `ld.so PROGRAM`: decided on PROGRAM; a legitimate PROGRAM still runs. */
static void test_loader(void **state)
{
	char marker[160], legit_marker[160];
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g;
	pid_t pid;
	int status, r;

	(void)state;
	require_bpf();
	if (!loader) {
		fprintf(stderr, "SKIP: this test binary is static: ld.so cannot run it\n");
		skip();
	}
	marker_path(marker, sizeof(marker), "ldso-denied");
	marker_path(legit_marker, sizeof(legit_marker), "ldso-legit");
	g = start_gate(false);

	pid = run_nobody(denied, marker, true);
	status = wait_child(pid);
	if (!holds) { /* no hold: `ld.so PROGRAM` is killed at exec, whatever PROGRAM (fail closed) */
		expect_killed_unheld(pid, status, marker);
		pid = run_nobody(legit, legit_marker, true);
		expect_killed_unheld(pid, wait_child(pid), legit_marker);
		pw_gate_stats(g, &st);
		free_gate(NULL);
		assert_int_equal(st.via_loader, 0);
		assert_true(st.held_killed >= 2);
		fprintf(stderr, "no hold on this kernel: ld.so PROGRAM killed at exec\n");
		return;
	}
	r = expect_killed_denied(pid, status, marker);
	assert_true(seen.v[r].via_loader);
	assert_string_equal(seen.v[r].image, denied); /* the record is about PROGRAM */

	pid = run_nobody(legit, legit_marker, true);
	status = wait_child(pid);
	expect_ran(status, legit_marker);
	r = expect_held_verdict(pid, PW_EXEC_ALLOW);
	assert_true(seen.v[r].via_loader);

	pw_gate_stats(g, &st);
	free_gate(NULL);
	assert_int_equal(st.via_loader, 2);
	assert_int_equal(st.loader_unresolved, 0);
}

/* Evasion 3: memfd_create + fexecve. */
static void test_memfd(void **state)
{
	char marker[160], legit_marker[160];
	pid_t pid;
	int status;

	(void)state;
	require_bpf();
	marker_path(marker, sizeof(marker), "memfd-denied");
	marker_path(legit_marker, sizeof(legit_marker), "memfd-legit");
	start_gate(false);

	pid = run_memfd(denied, marker);
	status = wait_child(pid);
	expect_killed_denied(pid, status, marker);

	pid = run_memfd(legit, legit_marker);
	status = wait_child(pid);
	if (!holds) { /* no hold: killed too, as documented (fail closed) */
		expect_killed_unheld(pid, status, legit_marker);
		free_gate(NULL);
		return;
	}
	if (!WIFEXITED(status))
		killed(status);
	expect_ran(status, legit_marker);
	free_gate(NULL);
}

/*
 * Evasion 4: a cached allow, then the file rewritten through a shared
 * writable mapping (no write(2), no modify event). A file its user owns is
 * never cached; a root-owned one is, and the kernel finds its ctime moved.
 */
static void test_cached_allow_rewritten(void **state)
{
	char victim[160], victim_root[160], marker[160], first[160];
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g;
	pid_t pid;
	int status;

	(void)state;
	require_bpf();
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(victim_root, sizeof(victim_root), "%s/victim-root", dir);
	make_copy(victim, 'L', NOBODY);
	make_copy(victim_root, 'L', 0);
	marker_path(first, sizeof(first), "cache-first");
	g = start_gate(false);

	/* the user's own file: allowed, not cached */
	pid = run_nobody(victim, first, false);
	assert_int_equal(WEXITSTATUS(wait_child(pid)), 0);
	assert_true(exists(first));
	pw_gate_stats(g, &st);
	assert_int_equal(st.cache_entries, 0);
	assert_int_equal(st.cache_refused, 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		become_nobody();
		rewrite_mapped(victim, denied);
		_exit(0);
	}
	assert_int_equal(WEXITSTATUS(wait_child(pid)), 0);
	marker_path(marker, sizeof(marker), "cache-user");
	pid = run_nobody(victim, marker, false);
	status = wait_child(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EXEC_FAILED_BASE + EPERM);
	assert_false(exists(marker));

	/* a root-owned file: cached; rewritten the same way (by root), the kernel sees the ctime */
	unlink(first);
	pid = run_nobody(victim_root, first, false);
	assert_int_equal(WEXITSTATUS(wait_child(pid)), 0);
	pw_gate_stats(g, &st);
	assert_int_equal(st.cache_entries, 1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		rewrite_mapped(victim_root, denied);
		_exit(0);
	}
	assert_int_equal(WEXITSTATUS(wait_child(pid)), 0);
	marker_path(marker, sizeof(marker), "cache-root");
	pid = run_nobody(victim_root, marker, false);
	status = wait_child(pid);
	expect_killed_denied(pid, status, marker);
	pw_gate_stats(g, &st);
	free_gate(NULL);
	assert_int_equal(st.cache_stale, 1);
	assert_int_equal(st.cache_entries, 0); /* the stale entry was dropped */
}

/* A held exec waits for the handler; wait until it is there. Returns its pid. */
static pid_t wait_deferred(void)
{
	struct timespec ts;
	pid_t pid = 0;

	deadline_in(&ts, 10000);
	pthread_mutex_lock(&seen.mu);
	while (!seen.deferred && !pthread_cond_timedwait(&seen.cv, &seen.mu, &ts))
		;
	if (seen.deferred)
		pid = seen.deferred_pid;
	pthread_mutex_unlock(&seen.mu);
	return pid;
}

static void answer_deferred(void)
{
	pthread_mutex_lock(&seen.mu);
	if (seen.deferred)
		pw_exec_allow(seen.deferred); /* the process is gone by now: nothing to continue */
	seen.deferred = NULL;
	pthread_mutex_unlock(&seen.mu);
}

/* The owner resumes a held exec before its verdict: SIGCONT from another of its processes, or ptrace. */
static void resume_attempt(bool use_ptrace)
{
	char marker[160];
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g;
	pid_t pid, held, helper;
	int status;

	marker_path(marker, sizeof(marker), use_ptrace ? "resume-ptrace" : "resume-sigcont");
	seen.defer_held = true;
	g = start_gate(true);
	skip_unless_holds(use_ptrace ? "resuming a held exec with ptrace" : "resuming a held exec with SIGCONT");
	pid = run_memfd(legit, marker); /* allowed by the rules: it is up to the handler, which waits */
	held = wait_deferred();
	assert_int_equal(held, pid);
	helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		become_nobody();
		if (!use_ptrace)
			_exit(kill(held, SIGCONT) ? 98 : 0);
		if (ptrace(PTRACE_SEIZE, held, 0, 0) || ptrace(PTRACE_INTERRUPT, held, 0, 0))
			_exit(98);
		waitpid(held, NULL, __WALL);
		ptrace(PTRACE_CONT, held, 0, 0);
		_exit(0);
	}
	status = wait_child(pid);
	wait_child(helper);
	answer_deferred();
	seen.defer_held = false;
	pw_gate_stats(g, &st);
	free_gate(NULL);
	/* what a failure needs to tell: killed in the kernel, or late by user space (escaped) */
	fprintf(stderr, "resumed by %s: status 0x%x, marker %s, %" PRIu64 " killed by the watch, %" PRIu64
		" escaped, %" PRIu64 " held\n", use_ptrace ? "ptrace" : "SIGCONT", status,
		exists(marker) ? "written" : "absent", st.held_resumed_killed, st.held_escaped, st.held);
	assert_true(killed(status));
	assert_false(exists(marker));
	assert_int_equal(st.held_resumed_killed, 1);
}

static void test_held_sigcont(void **state)
{
	(void)state;
	require_bpf();
	resume_attempt(false);
}

static void test_held_ptrace(void **state)
{
	(void)state;
	require_bpf();
	resume_attempt(true);
}

/*
 * A handler that blocks on the reader thread must not leave held execs
 * stopped meanwhile: they are read from the kernel's ring by the watch
 * thread too, and decided on another worker.
 */
static void test_held_while_reader_blocked(void **state)
{
	char first[160], marker[160];
	long long t0;
	uint64_t one = 1;
	pid_t blocked, pid;
	int status;

	(void)state;
	require_bpf();
	marker_path(first, sizeof(first), "blocked-first");
	marker_path(marker, sizeof(marker), "blocked-held");
	seen.block_fd = eventfd(0, EFD_CLOEXEC);
	seen.blocking = false;
	assert_true(seen.block_fd >= 0);
	start_gate(true);
	if (!holds) {
		close(seen.block_fd);
		seen.block_fd = -1;
	}
	skip_unless_holds("a held exec while a handler blocks");
	blocked = run_nobody(legit, first, false); /* its exec-open blocks a handler */
	pthread_mutex_lock(&seen.mu);
	{
		struct timespec ts;

		deadline_in(&ts, 10000);
		while (!seen.blocking && !pthread_cond_timedwait(&seen.cv, &seen.mu, &ts))
			;
	}
	pthread_mutex_unlock(&seen.mu);
	assert_true(seen.blocking);
	t0 = test_ms_now();
	pid = run_memfd(legit, marker);
	status = wait_child(pid);
	fprintf(stderr, "held exec decided in %lld ms while a handler blocked\n", test_ms_now() - t0);
	expect_ran(status, marker);
	assert_false(exists(first)); /* still blocked: the held exec did not wait for it */
	assert_int_equal(write(seen.block_fd, &one, sizeof(one)), sizeof(one));
	status = wait_child(blocked);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	free_gate(NULL);
	close(seen.block_fd);
	seen.block_fd = -1;
}

/* ------------------------------------------------------------ liveness */
/*
 * A held process is stopped: if the gate dies or stops while it decides,
 * the guardian must continue or kill it (timeout_verdict), or it would
 * stay stopped for good. The gate runs in a child here, so that the test
 * can kill or stop it; its handler never answers a held exec of uid 65534.
 */
#define HOLD_T_MS 600           /* the gating child's timeout_ms, stop variant */
#define HOLD_DEATH_T_MS 60000   /* ... death variant: a verdict this late would be the timeout's */

static int to_parent = -1;

static int hanging_handler(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	pid_t pid = pw_exec_tid(req); /* a held exec's process is single-threaded: tid = pid */

	(void)g;
	(void)ud;
	if ((pw_exec_flags(req) & PW_EXEC_HELD) && pw_exec_token(req) && pw_exec_token(req)->uid == NOBODY &&
	    !pw_exec_defer(req)) {
		(void)!write(to_parent, &pid, sizeof(pid));
		return 0; /* never answered: the gate dies or stops with it */
	}
	return pw_exec_allow(req);
}

/* Fork the gating child; *from reads its reports. 'H' first if it holds, 'N' if this kernel cannot. */
static pid_t start_gating_child(enum pw_exec_verdict timeout_verdict, unsigned int timeout_ms, int *from)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		PW_OPTS(pw_gate_opts, o, .handler = hanging_handler, .timeout_ms = timeout_ms,
			.timeout_verdict = timeout_verdict, .log = log_cb);
		struct pw_gate *g = NULL;
		char rule[64], ok;

		close(p[0]);
		to_parent = p[1];
		/*
		 * Only this test's own children that became uid 65534: a stopped
		 * or dead fail-closed gate denies nobody else's execs.
		 */
		snprintf(rule, sizeof(rule), "gate uid %d by-pid %d children", NOBODY, (int)getppid());
		if (pw_gate_new(&o, &g) || pw_gate_add_rule_text(g, rule) || pw_gate_start(g))
			_exit(1);
		ok = pw_gate_hold_supported(g) ? 'H' : 'N';
		(void)!write(p[1], &ok, 1);
		for (;;)
			pause();
	}
	close(p[1]);
	*from = p[0];
	return pid;
}

/*
 * What happens to the gating child: SIGKILLed or SIGSTOPped once a held
 * exec reached its handler, or SIGSTOPped before the exec (the held exec
 * is then never read). The held process gets timeout_verdict from the
 * guardian: at once after the death; by the deadline + 250 ms while the
 * gate is stopped.
 */
enum gate_fate { GATE_DIES, GATE_STOPS, GATE_STOPPED_BEFORE };

static void held_when_gate_fails(enum gate_fate fate, enum pw_exec_verdict timeout_verdict)
{
	static const char *const names[] = { "dies", "stops", "stopped-before" };
	char marker[160], ok = 0;
	unsigned int t_ms = fate == GATE_DIES ? HOLD_DEATH_T_MS : HOLD_T_MS;
	long long t0, elapsed, bound, root_ms = -1;
	char root_marker[192];
	pid_t gating, pid, held = 0;
	int from, status, root_status = 0;

	snprintf(marker, sizeof(marker), "%s/marker-gate-%s-%s", dir, names[fate],
		 timeout_verdict == PW_EXEC_ALLOW ? "allow" : "deny");
	unlink(marker);
	gating = start_gating_child(timeout_verdict, t_ms, &from);
	if (read_within(from, &ok, 1, 20000) != 1) {
		kill(gating, SIGKILL);
		wait_status(gating);
		fail_msg("the gating child did not start");
	}
	if (ok == 'N') {
		kill(gating, SIGKILL);
		wait_status(gating);
		close(from);
		fprintf(stderr, "SKIP: this kernel cannot hold execs (no bpf_send_signal_task, 6.13+): "
			"they are killed at exec, nothing stays stopped\n");
		skip();
	}
	if (fate == GATE_STOPPED_BEFORE)
		kill(gating, SIGSTOP);
	t0 = test_ms_now();
	pid = run_memfd(legit, marker);
	if (fate != GATE_STOPPED_BEFORE &&
	    (read_within(from, &held, sizeof(held), 20000) != sizeof(held) || held != pid)) {
		kill(gating, SIGKILL);
		kill(pid, SIGKILL);
		wait_status(gating);
		wait_status(pid);
		fail_msg("the held exec did not reach the handler (got pid %d, want %d)", held, pid);
	}
	if (fate == GATE_DIES) {
		t0 = test_ms_now();
		kill(gating, SIGKILL);
		wait_status(gating);
		bound = 2000; /* the guardian wakes on the death (its pidfd), not on a deadline */
	} else if (fate == GATE_STOPS) {
		t0 = test_ms_now();
		kill(gating, SIGSTOP);
		bound = t_ms + 250 + 500; /* the promise, plus a loaded machine's scheduling */
	} else {
		/* its ELF interpreter's exec-open waits too (the guardian reads it after 100 ms) */
		bound = t_ms + 250 + 100 + 500;
	}
	status = wait_child(pid);
	elapsed = test_ms_now() - t0;
	if (fate != GATE_DIES && timeout_verdict == PW_EXEC_DENY) {
		/*
		 * Fail-closed only for what it gates: this test's own exec as
		 * root, out of the scope, runs while the gate is still stopped,
		 * before timeout_ms (the guardian reads a stopped gate's queue at
		 * once and allows it; waiting for the deadline would take t_ms).
		 * Checked once the gating child is gone: a failed check must not
		 * leave it stopped.
		 */
		long long t1 = test_ms_now();
		pid_t root_pid = fork();

		if (root_pid < 0) {
			kill(gating, SIGKILL);
			wait_status(gating);
			fail_msg("fork: %s", strerror(errno));
		}
		snprintf(root_marker, sizeof(root_marker), "%s-root", marker);
		unlink(root_marker);
		if (root_pid == 0)
			exec_payload(legit, root_marker);
		root_status = wait_child(root_pid);
		root_ms = test_ms_now() - t1;
	}
	if (fate != GATE_DIES) {
		kill(gating, SIGKILL);
		wait_status(gating);
	}
	close(from);
	if (root_ms >= 0) {
		fprintf(stderr, "gate %s: an out-of-scope exec ran in %lld ms (timeout_ms %u)\n", names[fate],
			root_ms, t_ms);
		expect_ran(root_status, root_marker);
		assert_true(root_ms < t_ms);
	}
	fprintf(stderr, "gate %s: held exec %s after %lld ms (bound %lld)\n", names[fate],
		WIFEXITED(status) ? "continued" : "killed", elapsed, bound);
	if (timeout_verdict == PW_EXEC_DENY) {
		assert_true(killed(status));
		assert_false(exists(marker));
	} else {
		expect_ran(status, marker);
	}
	assert_true(elapsed <= bound);
}

/* One case of held_when_gate_fails(), the initial state of its test. */
struct held_case {
	enum gate_fate fate;
	enum pw_exec_verdict timeout_verdict;
};

static void test_held_gate_fails(void **state)
{
	const struct held_case *c = *state;

	require_bpf();
	held_when_gate_fails(c->fate, c->timeout_verdict);
}

/* A test of that name running test_held_gate_fails() on this case. */
#define HELD_CASE(NAME, FATE, VERDICT) \
	{ #NAME, test_held_gate_fails, NULL, NULL, &(struct held_case){ FATE, VERDICT } }

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_private_mount_ns, free_gate),
		cmocka_unit_test_teardown(test_private_mount_ns_marked, free_gate),
		cmocka_unit_test_teardown(test_foreign_mount_marked, free_gate),
		cmocka_unit_test_teardown(test_loader, free_gate),
		cmocka_unit_test_teardown(test_memfd, free_gate),
		cmocka_unit_test_teardown(test_cached_allow_rewritten, free_gate),
		cmocka_unit_test_teardown(test_held_sigcont, free_gate),
		cmocka_unit_test_teardown(test_held_ptrace, free_gate),
		cmocka_unit_test_teardown(test_held_while_reader_blocked, free_gate),
		HELD_CASE(test_held_gate_killed_deny, GATE_DIES, PW_EXEC_DENY),
		HELD_CASE(test_held_gate_killed_allow, GATE_DIES, PW_EXEC_ALLOW),
		HELD_CASE(test_held_gate_stopped_deny, GATE_STOPS, PW_EXEC_DENY),
		HELD_CASE(test_held_gate_stopped_allow, GATE_STOPS, PW_EXEC_ALLOW),
		/*
		 * Stopped before the exec: nobody reads the held exec. (ALLOW only: with
		 * DENY the guardian denies its ELF interpreter's exec-open, so the exec
		 * fails before any hold.)
		 */
		HELD_CASE(test_held_unread_gate_stopped, GATE_STOPPED_BEFORE, PW_EXEC_ALLOW),
	};
	char mnt[128];
	int rc;

	/* payload mode, first thing: create the marker; it must not appear for a denied copy */
	if (argc == 3 && !strcmp(argv[1], "--payload")) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		return fd < 0 ? 1 : 0;
	}
	if (geteuid() == 0) {
		assert_int_equal(setup(NULL), 0);
		snprintf(denied, sizeof(denied), "%s/denied", dir);
		snprintf(legit, sizeof(legit), "%s/legit", dir);
		snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
		make_copy(denied, 'D', 0);
		make_copy(legit, 'L', 0);
		sha256_hex(denied, denied_hex);
		mkdir(mnt, 0755);
		loader = find_loader();
	}
	rc = cmocka_run_group_tests_name("gate_evasion", tests, NULL, NULL);

	if (geteuid() == 0)
		teardown(NULL);
	return rc;
}
