/* SPDX-License-Identifier: MIT */
/* test_snapshot.c - snapshots of a fake /proc tree (malformed and vanished entries) and of the real /proc. */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "procward.h"
#include "snapshot/process.h"
#include "snapshot/procfs.h"

static int main_argc;
static char **main_argv;
static char fake_root[] = "/tmp/pw-test-proc-XXXXXX";

static void write_file(const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_str(const char *rel, const char *data)
{
	write_file(rel, data, strlen(data));
}

static void make_dir(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", fake_root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void write_stat(pid_t pid, const char *comm, char state, pid_t ppid, unsigned threads,
		       unsigned long long start)
{
	char rel[64], line[512];

	snprintf(rel, sizeof(rel), "%d/stat", pid);
	snprintf(line, sizeof(line),
		 "%d (%s) %c %d 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 %u 0 %llu 1000 10 "
		 "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
		 pid, comm, state, ppid, threads, start);
	write_str(rel, line);
}

static void write_status(pid_t pid, unsigned uid, unsigned gid)
{
	char rel[64], text[256];

	snprintf(rel, sizeof(rel), "%d/status", pid);
	snprintf(text, sizeof(text),
		 "Name:\tx\nState:\tS (sleeping)\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\n"
		 "Groups:\t\n",
		 uid, uid, uid, uid, gid, gid, gid, gid);
	write_str(rel, text);
}

static int rm_tree(const char *path)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

/* Directory order of the fake tree is unsorted on purpose (creation order). */
static int build_fake_proc(void **state)
{
	static char big_cmdline[PW_PROCFS_CMDLINE_MAX + 100];
	char target[PATH_MAX];

	(void)state;
	if (!mkdtemp(fake_root))
		return -1;
	/* 1000: cmdline over the limit */
	make_dir("1000");
	write_stat(1000, "long args", 'R', 1, 2, 500);
	write_status(1000, 4000000000u, 5);
	memset(big_cmdline, 'a', sizeof(big_cmdline));
	big_cmdline[10] = '\0';
	write_file("1000/cmdline", big_cmdline, sizeof(big_cmdline));
	/* 1: init with an exe link */
	make_dir("1");
	write_stat(1, "systemd", 'S', 0, 1, 2);
	write_status(1, 0, 0);
	write_file("1/cmdline", "/sbin/init\0splash\0", 18);
	snprintf(target, sizeof(target), "/usr/lib/systemd/systemd");
	assert_int_equal(symlinkat(target, AT_FDCWD, strcat(strcpy(big_cmdline, fake_root), "/1/exe")), 0);
	/* 300: a kernel thread: empty cmdline, no exe */
	make_dir("300");
	write_stat(300, "kworker/0:1-events", 'I', 2, 1, 30);
	write_status(300, 0, 0);
	write_file("300/cmdline", "", 0);
	/* 42: malformed stat: skipped */
	make_dir("42");
	write_str("42/stat", "42 (broken S 1 1\n");
	write_status(42, 0, 0);
	/* 4242: vanished between readdir and open of its files: skipped */
	make_dir("4242");
	/* 77: status without Uid: kept, uid unknown */
	make_dir("77");
	write_stat(77, "no uid", 'Z', 1, 0, 77);
	write_str("77/status", "Name:\tx\nGid:\t1\t1\t1\t1\n");
	write_file("77/cmdline", "", 0);
	/* 4343: gone after its stat was read (status ENOENT): skipped */
	make_dir("4343");
	write_stat(4343, "short-lived", 'R', 1, 1, 5);
	/* 55: stat names another pid: skipped */
	make_dir("55");
	write_str("55/stat", "56 (liar) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0\n");
	write_status(55, 0, 0);
	/* not processes */
	make_dir("sys");
	make_dir("0012");
	make_dir("12x");
	write_str("uptime", "1.0 1.0\n");
	assert_int_equal(symlinkat("1000", AT_FDCWD, strcat(strcpy(big_cmdline, fake_root), "/self")), 0);
	return 0;
}

static int remove_fake_proc(void **state)
{
	(void)state;
	return rm_tree(fake_root) ? -1 : 0;
}

static void fake_counts_fields_sorting(void **state)
{
	PW_OPTS(pw_snapshot_opts, opts, .flags = PW_SNAP_CMDLINE | PW_SNAP_IMAGE | PW_SNAP_USER,
		.proc_root = fake_root);
	const long hz = sysconf(_SC_CLK_TCK);
	struct pw_snapshot *snap;
	const struct pw_process *p;
	struct pw_proc_key key;
	size_t i;

	(void)state;
	assert_int_equal(pw_snapshot_take(&opts, &snap), 0);
	assert_int_equal(pw_snapshot_count(snap), 4); /* 1, 77, 300, 1000 */
	for (i = 1; i < pw_snapshot_count(snap); i++)
		assert_true(pw_process_pid(pw_snapshot_process(snap, i - 1)) <
			    pw_process_pid(pw_snapshot_process(snap, i)));
	assert_null(pw_snapshot_process(snap, 4));

	p = pw_snapshot_find(snap, 1);
	assert_non_null(p);
	assert_int_equal(pw_process_parent_pid(p), 0);
	assert_string_equal(pw_process_name(p), "systemd");
	assert_string_equal(pw_process_image(p), "/usr/lib/systemd/systemd");
	assert_int_equal(pw_process_argc(p), 2);
	assert_string_equal(pw_process_arg(p, 0), "/sbin/init");
	assert_string_equal(pw_process_arg(p, 1), "splash");
	assert_null(pw_process_arg(p, 2));
	assert_int_equal(pw_process_uid(p), 0);
	assert_string_equal(pw_process_user_name(p), "root");
	assert_int_equal(pw_process_state(p), 'S');
	assert_int_equal(pw_process_thread_count(p), 1);
	key = pw_process_key(p);
	assert_int_equal(key.pid, 1);
	assert_true(key.start_ns == 2ull * 1000000000ull / (unsigned long long)hz);
	assert_true(p->known & PW_PK_KEY_COARSE);

	p = pw_snapshot_find(snap, 300);
	assert_non_null(p);
	assert_string_equal(pw_process_name(p), "kworker/0:1-eve");
	assert_int_equal(pw_process_argc(p), 0);
	assert_true(p->known & PW_PK_ARGS);
	assert_null(pw_process_image(p));
	assert_int_equal(pw_process_state(p), 'I');

	p = pw_snapshot_find(snap, 77);
	assert_non_null(p);
	assert_string_equal(pw_process_name(p), "no uid");
	assert_true(pw_process_uid(p) == (uint32_t)-1);
	assert_null(pw_process_user_name(p));
	assert_int_equal(pw_process_thread_count(p), 0);
	assert_true(p->known & PW_PK_ARGS);

	p = pw_snapshot_find(snap, 1000);
	assert_non_null(p);
	assert_true(pw_process_uid(p) == 4000000000u);
	assert_null(pw_process_user_name(p));
	assert_int_equal(pw_process_argc(p), 2);
	assert_int_equal(strlen(pw_process_arg(p, 0)), 10);
	assert_int_equal(strlen(pw_process_arg(p, 1)), PW_PROCFS_CMDLINE_MAX - 11);
	assert_true(p->known & PW_PK_ARGS_TRUNCATED);

	assert_null(pw_snapshot_find(snap, 42));
	assert_null(pw_snapshot_find(snap, 4242));
	assert_null(pw_snapshot_find(snap, 4343));
	assert_null(pw_snapshot_find(snap, 55));
	assert_null(pw_snapshot_find(snap, 56));
	assert_null(pw_snapshot_find(snap, 12));
	assert_null(pw_snapshot_find(snap, 0));
	assert_null(pw_snapshot_find(snap, -1));
	assert_null(pw_snapshot_find(snap, 999999));
	pw_snapshot_free(snap);
}

static void fake_without_flags(void **state)
{
	PW_OPTS(pw_snapshot_opts, opts, .proc_root = fake_root);
	struct pw_snapshot *snap;
	const struct pw_process *p;

	(void)state;
	assert_int_equal(pw_snapshot_take(&opts, &snap), 0);
	assert_int_equal(pw_snapshot_count(snap), 4);
	p = pw_snapshot_find(snap, 1);
	assert_null(pw_process_image(p));
	assert_int_equal(pw_process_argc(p), 0);
	assert_null(pw_process_user_name(p));
	pw_snapshot_free(snap);
}

static void bad_options(void **state)
{
	struct {
		struct pw_snapshot_opts opts;
		unsigned long future_field;
	} newer = { .opts = { .sz = sizeof(newer), .proc_root = fake_root }, .future_field = 1 };
	struct pw_snapshot *snap = (struct pw_snapshot *)&snap;
	PW_OPTS(pw_snapshot_opts, unknown_flag, .flags = 1u << 30, .proc_root = fake_root);
	PW_OPTS(pw_snapshot_opts, missing_root, .proc_root = "/nonexistent/proc");
	struct pw_snapshot_opts old = { .sz = offsetof(struct pw_snapshot_opts, proc_root) };

	(void)state;
	assert_int_equal(pw_snapshot_take(&unknown_flag, &snap), -EINVAL);
	assert_null(snap);
	assert_int_equal(pw_snapshot_take(&newer.opts, &snap), -EINVAL);
	newer.future_field = 0;
	assert_int_equal(pw_snapshot_take(&newer.opts, &snap), 0);
	assert_int_equal(pw_snapshot_count(snap), 4);
	pw_snapshot_free(snap);
	assert_int_equal(pw_snapshot_take(&missing_root, &snap), -ENOENT);
	assert_int_equal(pw_snapshot_take(&unknown_flag, NULL), -EINVAL);
	/* an old caller whose struct ends before proc_root gets /proc */
	assert_int_equal(pw_snapshot_take(&old, &snap), 0);
	assert_non_null(pw_snapshot_find(snap, getpid()));
	pw_snapshot_free(snap);
	pw_snapshot_free(NULL);
	assert_int_equal(pw_snapshot_count(NULL), 0);
	assert_null(pw_snapshot_find(NULL, 1));
}

/* Forks "sh -c 'read x' <argv...>" blocked on a pipe; returns once exec is done. */
static pid_t spawn_reader(int *stdin_w)
{
	int in[2], sync[2];
	char byte;
	pid_t pid;

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		close(in[0]);
		close(in[1]);
		close(sync[0]);
		execl("/bin/sh", "sh", "-c", "read x", "procward test", "", "two\nlines", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(sync[1]);
	/* EOF on the CLOEXEC pipe: the exec has happened, cmdline is the new one. */
	assert_int_equal(read(sync[0], &byte, 1), 0);
	close(sync[0]);
	*stdin_w = in[1];
	return pid;
}

static void real_proc(void **state)
{
	PW_OPTS(pw_snapshot_opts, opts, .flags = PW_SNAP_CMDLINE | PW_SNAP_IMAGE | PW_SNAP_USER);
	static const char *const child_argv[] = { "sh", "-c", "read x", "procward test", "",
						   "two\nlines" };
	char self_exe[PATH_MAX], sh_exe[PATH_MAX];
	struct pw_snapshot *snap;
	const struct pw_process *p;
	int stdin_w, status, i;
	ssize_t n;
	pid_t child;

	(void)state;
	child = spawn_reader(&stdin_w);
	assert_int_equal(pw_snapshot_take(&opts, &snap), 0);
	assert_true(pw_snapshot_count(snap) >= 2);

	p = pw_snapshot_find(snap, getpid());
	assert_non_null(p);
	assert_int_equal(pw_process_parent_pid(p), getppid());
	assert_int_equal(pw_process_uid(p), getuid());
	assert_int_equal((int)pw_process_argc(p), main_argc);
	for (i = 0; i < main_argc; i++)
		assert_string_equal(pw_process_arg(p, (size_t)i), main_argv[i]);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	assert_true(n > 0);
	self_exe[n] = '\0';
	assert_string_equal(pw_process_image(p), self_exe);
	assert_true(pw_process_key(p).start_ns > 0);
	assert_int_equal(pw_process_state(p), 'R');
	assert_true(pw_process_thread_count(p) >= 1);
	if (getuid() == 0)
		assert_string_equal(pw_process_user_name(p), "root");

	p = pw_snapshot_find(snap, child);
	assert_non_null(p);
	assert_int_equal(pw_process_parent_pid(p), getpid());
	assert_string_equal(pw_process_name(p), "sh");
	assert_int_equal(pw_process_argc(p), 6);
	for (i = 0; i < 6; i++)
		assert_string_equal(pw_process_arg(p, (size_t)i), child_argv[i]);
	assert_non_null(realpath("/bin/sh", sh_exe));
	assert_string_equal(pw_process_image(p), sh_exe);
	/* the child started after us: keys order by start time */
	assert_true(pw_process_key(p).start_ns >= pw_process_key(pw_snapshot_find(snap, getpid())).start_ns);

	/* kernel threads (kthreadd, pid 2 in the initial namespace) have no argv and no image */
	p = pw_snapshot_find(snap, 2);
	if (p && pw_process_parent_pid(p) == 0 && !strcmp(pw_process_name(p), "kthreadd")) {
		assert_int_equal(pw_process_argc(p), 0);
		assert_null(pw_process_image(p));
	}
	pw_snapshot_free(snap);

	close(stdin_w);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
}

/* As an unprivileged user: no error, other users' images unreadable (NULL). */
static void real_proc_unprivileged(void **state)
{
	PW_OPTS(pw_snapshot_opts, opts, .flags = PW_SNAP_CMDLINE | PW_SNAP_IMAGE | PW_SNAP_USER);
	struct pw_snapshot *snap;
	const struct pw_process *p, *init;
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip(); /* already unprivileged: real_proc covered it */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (pw_snapshot_take(&opts, &snap))
			_exit(11);
		p = pw_snapshot_find(snap, getpid());
		if (!p || !pw_process_image(p) || pw_process_uid(p) != 65534)
			_exit(12);
		init = pw_snapshot_find(snap, 1);
		if (init && pw_process_uid(init) == 0 && pw_process_image(init))
			_exit(13);
		pw_snapshot_free(snap);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fake_counts_fields_sorting),
		cmocka_unit_test(fake_without_flags),
		cmocka_unit_test(bad_options),
		cmocka_unit_test(real_proc),
		cmocka_unit_test(real_proc_unprivileged),
	};

	main_argc = argc;
	main_argv = argv;
	return cmocka_run_group_tests(tests, build_fake_proc, remove_fake_proc);
}
