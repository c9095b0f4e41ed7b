/* SPDX-License-Identifier: MIT */
/* test_fork.c - core/fork.c: what a registered handle forgets in a forked child, and only there. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/fork.h"

struct handle {
	struct pw_fork_hook hook;
	int fd; /* what the child must give up */
};

static void forget(struct pw_fork_hook *hook)
{
	struct handle *h = (struct handle *)((char *)hook - offsetof(struct handle, hook));

	pw_fork_forget_fd(h->fd);
}

static bool is_eventfd(int fd)
{
	char path[64], target[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return !strcmp(target, "anon_inode:[eventfd]");
}

/* Readable (EOF or data) within timeout_ms. */
static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/*
 * The child gets an eventfd in place of the pipe's write end: the parent,
 * closing its own copy, sees EOF while the child still lives, and the
 * child's number stays taken (its close() closes the placeholder).
 */
static void child_gives_up_registered_fd(void **state)
{
	struct handle h = { .hook.in_child = forget };
	int data[2], report[2], go[2];
	char verdict = 0, c;
	int status;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(data, O_CLOEXEC), 0);
	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(go), 0);
	h.fd = data[1];
	pw_fork_register(&h.hook);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* 'y': the number now names an eventfd; 'n': it does not */
		verdict = is_eventfd(h.fd) && fcntl(h.fd, F_GETFD) == FD_CLOEXEC ? 'y' : 'n';
		(void)!write(report[1], &verdict, 1);
		close(go[1]);
		(void)!read(go[0], &c, 1); /* live until the parent has looked */
		_exit(close(h.fd) ? 2 : 0);
	}
	close(report[1]);
	close(go[0]);
	assert_int_equal(read(report[0], &verdict, 1), 1);
	assert_int_equal(verdict, 'y');
	assert_false(is_eventfd(data[1])); /* the parent's copy is untouched */
	close(data[1]);
	assert_true(readable(data[0], 5000));
	assert_int_equal(read(data[0], &c, 1), 0); /* EOF: no write end is left anywhere */
	close(go[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* its close() worked */
	pw_fork_unregister(&h.hook);
	close(data[0]);
	close(report[0]);
}

/* After pw_fork_unregister(), a child keeps its copies again. */
static void unregistered_handle_is_left_alone(void **state)
{
	struct handle h = { .hook.in_child = forget };
	int data[2], report[2];
	char verdict = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(data), 0);
	assert_int_equal(pipe(report), 0);
	h.fd = data[1];
	pw_fork_register(&h.hook);
	pw_fork_unregister(&h.hook);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		verdict = is_eventfd(h.fd) ? 'y' : 'n';
		(void)!write(report[1], &verdict, 1);
		_exit(0);
	}
	close(report[1]);
	assert_int_equal(read(report[0], &verdict, 1), 1);
	assert_int_equal(verdict, 'n');
	assert_int_equal(waitpid(pid, &(int){ 0 }, 0), pid);
	close(data[0]);
	close(data[1]);
	close(report[0]);
}

/*
 * The registry lock is usable in the child: fork() took it in the parent
 * (the prepare handler), and a child that makes or frees a handle takes it
 * again. A wedged lock would hang the child: the parent waits bounded and
 * kills it.
 */
static void child_can_take_the_lock(void **state)
{
	struct handle h = { .hook.in_child = forget, .fd = -1 };
	char verdict = 0;
	int report[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(report), 0);
	pw_fork_register(&h.hook);
	pw_fork_lock(); /* held while forking too: recursive */
	pid = fork();
	if (pid == 0) {
		struct handle again = { .hook.in_child = forget, .fd = -1 };

		pw_fork_register(&again.hook);
		pw_fork_unregister(&again.hook);
		(void)!write(report[1], "y", 1);
		_exit(0);
	}
	pw_fork_unlock();
	assert_true(pid > 0);
	close(report[1]);
	if (!readable(report[0], 5000))
		kill(pid, SIGKILL);
	assert_int_equal(read(report[0], &verdict, 1), 1);
	assert_int_equal(verdict, 'y');
	assert_int_equal(waitpid(pid, &(int){ 0 }, 0), pid);
	pw_fork_unregister(&h.hook);
	close(report[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(child_gives_up_registered_fd),
		cmocka_unit_test(unregistered_handle_is_left_alone),
		cmocka_unit_test(child_can_take_the_lock),
	};

	return cmocka_run_group_tests_name("fork", tests, NULL, NULL);
}
