// SPDX-License-Identifier: MIT
/*
 * test_watchdog.c - examples/watchdog against real targets it starts: a
 * target that maps and unmaps 64 MiB on command is reniced exactly once per
 * crossing of "rss > 32M"; a busy loop over a CPU rule is killed, once.
 * Run as "test_watchdog --rss-target", this binary is that target.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define WATCHDOG PW_TEST_BUILD_DIR "/examples/watchdog"
#define SELF PW_TEST_BUILD_DIR "/tests/integ/test_watchdog"
#define REGION (64u << 20)

/* The target: 'a' maps and touches REGION, 'f' unmaps it; each acknowledged on stdout. */
static int rss_target(void)
{
	char *region = NULL, cmd, ack[] = "target ?\n";

	while (read(STDIN_FILENO, &cmd, 1) == 1) {
		if (cmd == 'a' && !region) {
			region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (region == MAP_FAILED)
				return 1;
			memset(region, 1, REGION);
		} else if (cmd == 'f' && region) {
			munmap(region, REGION);
			region = NULL;
		}
		ack[7] = cmd;
		if (write(STDOUT_FILENO, ack, sizeof(ack) - 1) != (ssize_t)sizeof(ack) - 1)
			return 1;
	}
	return 0;
}

struct wd_run {
	pid_t pid;
	int in, out; /* its stdin (ours to write), its stdout (ours to read) */
	char buf[1 << 16];
	size_t len;
};

static void wd_start(struct wd_run *w, char *const argv[])
{
	int in[2], out[2];

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	w->len = 0;
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test takes it (and its target) along */
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execv(WATCHDOG, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	w->in = in[1];
	w->out = out[0];
}

/* The next output line (malloc'd, no newline); NULL at EOF or after timeout_ms. */
static char *wd_line(struct wd_run *w, int timeout_ms)
{
	return read_line_within(w->out, w->buf, sizeof(w->buf), &w->len, timeout_ms);
}

/* Read lines until one starts with prefix (returned, malloc'd); counts the "action" lines passed. */
static char *wd_until(struct wd_run *w, const char *prefix, unsigned int *actions, int timeout_ms)
{
	long long end = test_ms_now() + timeout_ms;
	char *line;

	while (test_ms_now() < end && (line = wd_line(w, (int)(end - test_ms_now())))) {
		fprintf(stderr, "  | %s\n", line);
		if (!strncmp(line, "action ", 7))
			++*actions;
		if (!strncmp(line, prefix, strlen(prefix)))
			return line;
		free(line);
	}
	fail_msg("no line starting with '%s'", prefix);
	return NULL;
}

static int wd_finish(struct wd_run *w)
{
	int status;
	long long end = test_ms_now() + 20000;

	close(w->in);
	while (waitpid(w->pid, &status, WNOHANG) == 0) {
		if (test_ms_now() > end) {
			kill(w->pid, SIGKILL); /* bounded; its target dies with it (PDEATHSIG) */
			waitpid(w->pid, &status, 0);
			return -1;
		}
		struct pollfd pfd = { .fd = w->out, .events = POLLIN };

		/* keep its pipe drained so it never blocks writing */
		if (poll(&pfd, 1, 50) > 0)
			(void)!read(w->out, w->buf, sizeof(w->buf));
	}
	close(w->out);
	return status;
}

static int nice_of(pid_t pid)
{
	char buf[1024], *p = proc_stat_fields(pid, buf, sizeof(buf));
	int field = 3, nice = 99;

	for (char *tok = strtok(p, " "); tok; tok = strtok(NULL, " "), field++)
		if (field == 19)
			nice = atoi(tok);
	return nice;
}

static void rss_renice_once_per_crossing(void **state)
{
	char *argv[] = { "watchdog", "-v", "-i", "100", "-a", "renice", "-r", "rss > 32M",
			 "--", SELF, "--rss-target", NULL };
	struct wd_run *w = calloc(1, sizeof(*w));
	unsigned int actions = 0;
	char *line;
	pid_t target;
	int status;

	(void)state;
	require_bpf();
	assert_non_null(w);
	wd_start(w, argv);
	line = wd_until(w, "watchdog: pid ", &actions, 30000);
	target = atoi(line + strlen("watchdog: pid "));
	free(line);
	assert_true(target > 0);
	for (unsigned int crossing = 1; crossing <= 2; crossing++) {
		char want[64];

		/* (a sample may see it cross while it is still touching the pages) */
		assert_int_equal(write(w->in, "a", 1), 1);
		snprintf(want, sizeof(want), "action renice pid %d nice %u", target, 5 * crossing);
		line = wd_until(w, "action renice", &actions, 10000);
		assert_string_equal(line, want);
		free(line);
		assert_int_equal(nice_of(target), (int)(5 * crossing));
		/* more samples above the threshold: no more actions */
		for (int i = 0; i < 4; i++)
			free(wd_until(w, "sample pid", &actions, 10000));
		assert_int_equal(actions, crossing);
		assert_int_equal(write(w->in, "f", 1), 1);
		free(wd_until(w, "target f", &actions, 10000));
		/* samples below: re-armed, nothing done */
		for (int i = 0; i < 2; i++)
			free(wd_until(w, "sample pid", &actions, 10000));
		assert_int_equal(actions, crossing);
	}
	assert_int_equal(nice_of(target), 10);
	close(w->in); /* EOF: the target exits 0 */
	w->in = open("/dev/null", O_WRONLY);
	line = wd_until(w, "exit pid", &actions, 10000);
	assert_non_null(strstr(line, " code 0 actions 2"));
	free(line);
	status = wd_finish(w);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(w);
}

static void cpu_kill_once(void **state)
{
	/* 1% at the first sample above it: a busy loop gets that on any machine */
	char *argv[] = { "watchdog", "-i", "200", "-a", "kill", "-r", "cpu > 1%",
			 "--", "/bin/sh", "-c", "while :; do :; done", NULL };
	struct wd_run *w = calloc(1, sizeof(*w));
	unsigned int actions = 0;
	char *line;
	int status;

	(void)state;
	require_bpf();
	assert_non_null(w);
	wd_start(w, argv);
	free(wd_until(w, "watchdog: pid ", &actions, 30000));
	line = wd_until(w, "alert rule 0 cpu ", &actions, 20000);
	free(line);
	line = wd_until(w, "exit pid", &actions, 20000);
	assert_non_null(strstr(line, " signal 9 actions 1"));
	free(line);
	assert_int_equal(actions, 1);
	status = wd_finish(w);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL);
	free(w);
}

static void bad_arguments(void **state)
{
	static const char *const bad[][6] = {
		{ "-r", "cpu < 5", "--", "/bin/true", NULL },
		{ "-a", "explode", "-r", "cpu > 5", "--", "/bin/true" },
		{ "-r", "cpu > 5", NULL },
		{ "/bin/true", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *argv[8] = { "watchdog" };
		struct wd_run *w = calloc(1, sizeof(*w));
		int status;

		assert_non_null(w);
		for (size_t k = 0; k < 6 && bad[i][k]; k++)
			argv[k + 1] = (char *)bad[i][k];
		wd_start(w, argv);
		status = wd_finish(w);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 2);
		free(w);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rss_renice_once_per_crossing),
		cmocka_unit_test(cpu_kill_once),
		cmocka_unit_test(bad_arguments),
	};

	if (argc == 2 && !strcmp(argv[1], "--rss-target"))
		return rss_target();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
