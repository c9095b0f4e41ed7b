// SPDX-License-Identifier: MIT
/*
 * test_events.c - event fields the lifecycle suite does not reach: execveat
 * (by directory fd and by file descriptor), credentials after a setuid-root
 * exec, group, cgroup and container names in a cgroup the test creates, and
 * the audit loginuid and session id. The monitor sees only this test's
 * process tree; every process, file and cgroup is the test's own and is
 * removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char dir[64];
static char p_true[128];

static struct {
	pid_t pid;
	char group[64], cgroup[512], container[80];
	bool seen;
} names;

/* The harness's collector, plus the lazily resolved names of one process's exec. */
static int on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	if (pw_event_type(ev) == PW_EVENT_EXEC && pw_event_pid(ev) == names.pid) {
		const char *g = pw_event_group_name(ev), *cg = pw_event_cgroup_path(ev);
		const char *id = pw_event_container_id(ev);

		snprintf(names.group, sizeof(names.group), "%s", g ? g : "(null)");
		snprintf(names.cgroup, sizeof(names.cgroup), "%s", cg ? cg : "(null)");
		snprintf(names.container, sizeof(names.container), "%s", id ? id : "(null)");
		names.seen = true;
	}
	return collector_on_event(m, ev, userdata);
}

/* A monitor of this process and its descendants, started. */
static struct pw_monitor *our_monitor(struct collector *c)
{
	PW_OPTS(pw_monitor_opts, o, .on_event = on_event, .userdata = c, .inherit_children = true);
	PW_OPTS(pw_rule, self, .action = PW_RULE_INCLUDE, .match = PW_MATCH_PID, .id = getpid());
	struct pw_monitor *m = start_monitor(c, &o);

	assert_int_equal(pw_monitor_add_rule(m, &self), 0);
	assert_int_equal(pw_monitor_start(m), 0);
	return m;
}

static int setup(void **state)
{
	(void)state;
	test_dir_setup(dir, sizeof(dir), "pw-events", 0);
	if (dir[0]) {
		snprintf(p_true, sizeof(p_true), "%s/pw-true", dir);
		copy_file_as("/bin/true", p_true, 0755);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_dir_remove(dir);
	return 0;
}

static const struct rec *exec_of(struct pw_monitor *m, struct collector *c, pid_t pid)
{
	struct type_pid want = { PW_EVENT_EXEC, pid };

	return wait_for(m, c, is_type_pid, &want, 5000);
}

/* ------------------------------------------------------------ execveat */

static void execveat_by_dirfd_and_fd(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m;
	char *argv_dir[] = { "pw-true", "by-dirfd", NULL }, *argv_fd[] = { "pw-true", "by-fd", NULL };
	char *envp[] = { NULL }, want[64];
	char *image = realpath(p_true, NULL);
	const struct rec *r;
	pid_t by_dir, by_fd;
	int dfd, ffd;

	(void)state;
	require_bpf();
	assert_non_null(image);
	m = our_monitor(&c);
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ffd = open(p_true, O_PATH | O_CLOEXEC);
	assert_true(dfd >= 0 && ffd >= 0);
	/* plain descriptors in the children: a close-on-exec one would be gone for the kernel's /dev/fd name */
	by_dir = fork();
	if (by_dir == 0) {
		int d = dup(dfd);

		syscall(SYS_execveat, d, "pw-true", argv_dir, envp, 0);
		_exit(127);
	}
	by_fd = fork();
	if (by_fd == 0) {
		int f = dup(ffd);

		syscall(SYS_execveat, f, "", argv_fd, envp, AT_EMPTY_PATH);
		_exit(127);
	}
	assert_int_equal(wait_exit_code(by_dir), 0);
	assert_int_equal(wait_exit_code(by_fd), 0);

	r = exec_of(m, &c, by_dir);
	assert_non_null(r);
	assert_string_equal(r->image, image);
	assert_int_equal(r->argc, 2);
	assert_string_equal(r->argv[1], "by-dirfd");
	/* the kernel names a descriptor-relative exec /dev/fd/N/NAME (fs/exec.c alloc_bprm) */
	assert_non_null(r->filename);
	assert_true(!strncmp(r->filename, "/dev/fd/", 8));
	snprintf(want, sizeof(want), "/%s", "pw-true");
	assert_string_equal(strrchr(r->filename, '/'), want);

	r = exec_of(m, &c, by_fd);
	assert_non_null(r);
	assert_string_equal(r->image, image);
	assert_int_equal(r->argc, 2);
	assert_string_equal(r->argv[1], "by-fd");
	assert_true(!strncmp(r->filename, "/dev/fd/", 8));
	assert_null(strchr(r->filename + 8, '/')); /* /dev/fd/N: no name after the descriptor */
	close(dfd);
	close(ffd);
	pw_monitor_free(m);
	collector_free(&c);
	free(image);
}

/* ------------------------------------------------------------ setuid */

/* An unprivileged process execs a setuid-root copy: the exec's token is the new image's credentials. */
static void setuid_exec_credentials(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m;
	char suid[128];
	char *argv[] = { "pw-suid", "x", NULL };
	struct statvfs sv;
	const struct rec *r;
	uint64_t bounding = proc_status_hex(getpid(), "CapBnd");
	pid_t pid;

	(void)state;
	require_bpf();
	assert_int_equal(statvfs(dir, &sv), 0);
	if (sv.f_flag & ST_NOSUID) {
		fprintf(stderr, "SKIP: %s is on a nosuid filesystem\n", dir);
		skip();
	}
	snprintf(suid, sizeof(suid), "%s/pw-suid", dir);
	copy_file_as("/bin/true", suid, 0755);
	assert_int_equal(chown(suid, 0, 0), 0);
	assert_int_equal(chmod(suid, 04755), 0); /* chown clears the set-uid bit: after it */
	m = our_monitor(&c);
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(2);
		execv(suid, argv);
		_exit(127);
	}
	assert_int_equal(wait_exit_code(pid), 0);
	r = exec_of(m, &c, pid);
	assert_non_null(r);
	assert_token_ids(&r->token, 65534, 0, 65534, 65534);
	/* a set-uid-root exec gets every capability of the bounding set */
	assert_int_equal(r->token.cap_effective, bounding);
	assert_int_equal(r->token.cap_permitted, bounding);
	/* the exit is the same task, still with the new image's credentials */
	r = expect_event(m, &c, PW_EVENT_PROCESS_EXIT, pid);
	assert_int_equal(r->token.uid, 65534);
	assert_int_equal(r->token.euid, 0);
	pw_monitor_free(m);
	collector_free(&c);
}

/* ------------------------------------------------------------ cgroup */

/* The cgroup2 mount point, from mountinfo ("/sys/fs/cgroup" or ".../unified"). */
static bool cgroup2_root(char *out, size_t len)
{
	char line[1024], mnt[512], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (sep && sscanf(line, "%*u %*u %*s %*s %511s", mnt) == 1 &&
		    sscanf(sep + 3, "%63s", fstype) == 1 && !strcmp(fstype, "cgroup2")) {
			snprintf(out, len, "%s", mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void group_cgroup_and_container_names(void **state)
{
	static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct collector c = { 0 };
	struct pw_monitor *m;
	char root[512], parent[600], leaf[700], procs[800], want_path[256];
	char *argv[] = { "pw-true", "in-cgroup", NULL };
	struct group *gr = getgrgid(65534);
	char want_group[64];
	const struct rec *r;
	pid_t pid;

	(void)state;
	require_bpf();
	if (!cgroup2_root(root, sizeof(root))) {
		fprintf(stderr, "SKIP: no cgroup2 mount\n");
		skip();
	}
	assert_non_null(gr);
	snprintf(want_group, sizeof(want_group), "%s", gr->gr_name);
	snprintf(parent, sizeof(parent), "%s/pw-test-%d", root, getpid());
	snprintf(leaf, sizeof(leaf), "%s/docker-%s.scope", parent, id);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", leaf);
	snprintf(want_path, sizeof(want_path), "/pw-test-%d/docker-%s.scope", getpid(), id);
	assert_int_equal(mkdir(parent, 0755), 0);
	assert_int_equal(mkdir(leaf, 0755), 0);
	m = our_monitor(&c);
	pid = fork();
	if (pid == 0) {
		int fd = open(procs, O_WRONLY);

		/* into the test cgroup, with a named group, then exec */
		if (fd < 0 || write(fd, "0", 1) != 1 || setgroups(0, NULL) || setgid(65534))
			_exit(2);
		close(fd);
		execv(p_true, argv);
		_exit(127);
	}
	names.pid = pid;
	assert_int_equal(wait_exit_code(pid), 0);
	r = exec_of(m, &c, pid);
	assert_non_null(r);
	assert_true(names.seen);
	assert_int_equal(r->token.gid, 65534);
	assert_string_equal(names.group, want_group);
	assert_string_equal(names.cgroup, want_path);
	assert_string_equal(names.container, id);
	pw_monitor_free(m);
	collector_free(&c);
	/* the child is reaped: both cgroups are empty */
	assert_int_equal(rmdir(leaf), 0);
	assert_int_equal(rmdir(parent), 0);
	memset(&names, 0, sizeof(names));
}

/* ------------------------------------------------------------ audit ids */

static void loginuid_and_sessionid(void **state)
{
	struct collector c = { 0 };
	struct pw_monitor *m;
	char *argv[] = { "pw-true", "login", NULL };
	const struct rec *r;
	unsigned int session = 0;
	int report[2], n;
	pid_t pid;

	(void)state;
	require_bpf();
	if (access("/proc/self/loginuid", W_OK)) {
		fprintf(stderr, "SKIP: no writable /proc/self/loginuid (audit off)\n");
		skip();
	}
	m = our_monitor(&c);
	assert_int_equal(pipe2(report, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		/* setting the loginuid starts a new audit session (kernel/audit.c) */
		int fd = open("/proc/self/loginuid", O_WRONLY);
		char buf[32] = { 0 };
		unsigned int s = 0;

		if (fd < 0 || write(fd, "4242", 4) != 4)
			_exit(3); /* immutable loginuid, or no CAP_AUDIT_CONTROL */
		close(fd);
		fd = open("/proc/self/sessionid", O_RDONLY);
		if (fd < 0 || read(fd, buf, sizeof(buf) - 1) <= 0)
			_exit(4);
		s = (unsigned int)strtoul(buf, NULL, 10);
		if (write(report[1], &s, sizeof(s)) != sizeof(s))
			_exit(5);
		execv(p_true, argv);
		_exit(127);
	}
	close(report[1]);
	n = read_within(report[0], &session, sizeof(session), 5000);
	close(report[0]);
	if (WEXITSTATUS(wait_status(pid)) == 3) {
		pw_monitor_free(m);
		collector_free(&c);
		fprintf(stderr, "SKIP: the loginuid cannot be set here (immutable)\n");
		skip();
	}
	assert_int_equal(n, sizeof(session));
	r = exec_of(m, &c, pid);
	assert_non_null(r);
	assert_int_equal(r->token.loginuid, 4242);
	assert_int_equal(r->token.sessionid, session);
	assert_true(session != 0 && session != (unsigned int)-1);
	pw_monitor_free(m);
	collector_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(execveat_by_dirfd_and_fd),
		cmocka_unit_test(setuid_exec_credentials),
		cmocka_unit_test(group_cgroup_and_container_names),
		cmocka_unit_test(loginuid_and_sessionid),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
