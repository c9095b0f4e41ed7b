// SPDX-License-Identifier: MIT
/*
 * test_watch.c - `procward watch` options as a user gives them (long names):
 * text output, --events filtering, --max-events, --args-max, --ringbuf-size,
 * --batch-delay. Every watch is limited to this test's process tree
 * (--include-pid PID --children), so only the test's own children count.
 * The CLI is waited for on pipes and with deadlines, never with sleeps.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CLI PW_TEST_BUILD_DIR "/procward"

static char dir[64];

struct watch {
	pid_t pid;
	int err_fd;
	char out_path[128];
	char err[8192];
	size_t err_len;
	int status;
};

TEST_DIR_FIXTURES(dir, "pw-watch", 300)

/* Append what stderr has now (or within timeout_ms); false at EOF. */
static bool read_err(struct watch *w, int timeout_ms)
{
	int n = read_within(w->err_fd, w->err + w->err_len, sizeof(w->err) - 1 - w->err_len,
			    timeout_ms);

	if (n > 0) {
		w->err_len += (size_t)n;
		w->err[w->err_len] = 0;
	}
	return n > 0 || n == -ETIMEDOUT;
}

/*
 * Start `procward watch ARGS... --include-pid <us> --children --output FILE
 * --verbose`; return once it says it is watching (stderr), so events of
 * children spawned after this call are seen.
 */
static void watch_start(struct watch *w, const char *name, const char *const *args)
{
	char pid_arg[32];
	const char *argv[32];
	int n = 0, errp[2];
	long long deadline = test_ms_now() + 15000;

	memset(w, 0, sizeof(*w));
	snprintf(w->out_path, sizeof(w->out_path), "%s/%s.out", dir, name);
	snprintf(pid_arg, sizeof(pid_arg), "%d", getpid());
	argv[n++] = "procward";
	argv[n++] = "watch";
	for (; *args; args++)
		argv[n++] = *args;
	argv[n++] = "--include-pid";
	argv[n++] = pid_arg;
	argv[n++] = "--children";
	argv[n++] = "--output";
	argv[n++] = w->out_path;
	argv[n++] = "--verbose";
	argv[n] = NULL;
	assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(errp[1], 2);
		execv(CLI, (char **)argv);
		_exit(127);
	}
	close(errp[1]);
	w->err_fd = errp[0];
	while (!strstr(w->err, "watching")) {
		if (!read_err(w, 1000) || test_ms_now() > deadline) {
			kill(w->pid, SIGKILL);
			fail_msg("procward watch did not start: %s", w->err);
		}
	}
}

/* Wait (with a deadline) for the CLI to exit; stop it first with SIGINT if asked. */
static void watch_end(struct watch *w, bool interrupt)
{
	long long deadline = test_ms_now() + 15000;
	pid_t got;

	if (interrupt)
		kill(w->pid, SIGINT);
	while ((got = waitpid(w->pid, &w->status, WNOHANG)) == 0) {
		read_err(w, 10);
		if (test_ms_now() > deadline) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, &w->status, 0);
			fail_msg("procward watch did not end: %s", w->err);
		}
	}
	assert_int_equal(got, w->pid);
	while (read_err(w, 100) && w->err_len < sizeof(w->err) - 1)
		;
	close(w->err_fd);
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* A whitespace-delimited pid, as the text columns show it. */
static void pid_token(char *buf, size_t len, pid_t pid)
{
	snprintf(buf, len, " %d ", pid);
}

/* fork + exec /bin/true with these arguments (argv[0] first); the raw status. */
static pid_t run_true(char *const argv[])
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execv("/bin/true", argv);
		_exit(127);
	}
	assert_int_equal(wait_exit_code(pid), 0);
	return pid;
}

/* The "N events, N lost" the CLI closes with on stderr. */
static void summary(const struct watch *w, uint64_t *events, uint64_t *lost)
{
	const char *s = strstr(w->err, " events, ");

	assert_non_null(s);
	while (s > w->err && s[-1] >= '0' && s[-1] <= '9')
		s--;
	assert_int_equal(sscanf(s, "%" SCNu64 " events, %" SCNu64 " lost", events, lost), 2);
}

/* ------------------------------------------------------------ tests */

/* Text output of exec events, and --max-events ending the watch by itself. */
static void text_output_and_max_events(void **state)
{
	static const char *const args[] = { "--text", "--events", "exec", "--max-events", "2", NULL };
	char *argv[] = { "true", "pw-watch-a", "b c", NULL };
	char *image = realpath("/bin/true", NULL), tok[32], *out;
	struct watch w;
	pid_t p1, p2, p3;
	uint64_t events, lost;

	(void)state;
	require_bpf();
	watch_start(&w, "text", args);
	p1 = run_true(argv);
	p2 = run_true(argv);
	watch_end(&w, false); /* --max-events 2: it stops by itself */
	p3 = run_true(argv);
	out = slurp_file(w.out_path);
	assert_true(WIFEXITED(w.status));
	assert_int_equal(WEXITSTATUS(w.status), 0);
	/* exactly two lines, one per exec, with type, pid, image and argv */
	assert_int_equal(count_lines(out), 2);
	pid_token(tok, sizeof(tok), p1);
	assert_int_equal(count_lines_with(out, tok, "exec"), 1);
	assert_int_equal(count_lines_with(out, tok, image), 1);
	assert_int_equal(count_lines_with(out, tok, "pw-watch-a"), 1);
	assert_int_equal(count_lines_with(out, tok, "b c"), 1);
	pid_token(tok, sizeof(tok), p2);
	assert_int_equal(count_lines_with(out, tok, "exec"), 1);
	pid_token(tok, sizeof(tok), p3);
	assert_int_equal(count_lines_with(out, tok, NULL), 0);
	assert_null(strchr(out, '{')); /* text, not JSON */
	summary(&w, &events, &lost);
	assert_int_equal(events, 2);
	assert_int_equal(lost, 0);
	free(out);
	free(image);
}

/* --events picks the types: only exits of our children, none of their forks or execs. */
static void events_filter(void **state)
{
	static const char *const args[] = { "--text", "-e", "exit", "--max-events", "3", NULL }; /* -e: --events */
	char *argv[] = { "true", "pw-watch-exit", NULL };
	char tok[32], *out;
	struct watch w;
	pid_t pids[3];
	uint64_t events, lost;

	(void)state;
	require_bpf();
	watch_start(&w, "filter", args);
	for (int i = 0; i < 3; i++)
		pids[i] = run_true(argv);
	watch_end(&w, false);
	out = slurp_file(w.out_path);
	assert_int_equal(WEXITSTATUS(w.status), 0);
	assert_int_equal(count_lines(out), 3);
	assert_int_equal(count_lines_with(out, "process_exit", NULL), 3);
	assert_int_equal(count_lines_with(out, " exec ", NULL), 0);
	assert_int_equal(count_lines_with(out, "process_create", NULL), 0);
	for (int i = 0; i < 3; i++) {
		pid_token(tok, sizeof(tok), pids[i]);
		assert_int_equal(count_lines_with(out, tok, "process_exit"), 1);
	}
	summary(&w, &events, &lost);
	assert_int_equal(events, 3);
	free(out);
}

/* --args-max bounds the argv captured, and says so on the line. */
static void args_max(void **state)
{
	static const char *const args[] = { "--text", "--events", "exec", "--max-events", "1",
					    "--args-max", "1024", NULL };
	static const char *const too_big[] = { "--args-max", "20000", NULL };
	char *argv[42], tok[32], *out;
	struct watch w;
	pid_t pid;

	(void)state;
	require_bpf();
	argv[0] = "true";
	fill_args(argv, 1, 40, "pw-arg");
	argv[41] = NULL;
	watch_start(&w, "argsmax", args);
	pid = run_true(argv);
	watch_end(&w, false);
	out = slurp_file(w.out_path);
	pid_token(tok, sizeof(tok), pid);
	assert_int_equal(count_lines_with(out, tok, "pw-arg01-"), 1);
	/*
	 * "true\0" and 40 arguments of 80 bytes with their NULs, cut at 1024:
	 * 5 + 12 x 80 = 965, so 12 whole arguments and 59 bytes of the 13th
	 */
	assert_int_equal(count_lines_with(out, tok, argv[12]), 1);
	assert_int_equal(count_lines_with(out, tok, "pw-arg13-"), 1);
	assert_int_equal(count_lines_with(out, tok, argv[13]), 0);
	assert_int_equal(count_lines_with(out, tok, "pw-arg14-"), 0);
	assert_int_equal(count_lines_with(out, tok, "pw-arg40-"), 0);
	assert_int_equal(count_lines_with(out, tok, "truncated"), 1);
	free(out);
	for (int i = 1; i < 41; i++)
		free(argv[i]);

	/* over the library's bound: refused before anything runs */
	{
		char cmd[256], buf[1024];
		FILE *p;
		size_t n;
		int status;

		snprintf(cmd, sizeof(cmd), "%s watch %s %s 2>&1", CLI, too_big[0], too_big[1]);
		p = popen(cmd, "r");
		assert_non_null(p);
		n = fread(buf, 1, sizeof(buf) - 1, p);
		buf[n] = 0;
		status = pclose(p);
		assert_int_equal(WEXITSTATUS(status), 2);
		assert_non_null(strstr(buf, "bad options"));
	}
}

/*
 * --ringbuf-size and --batch-delay reach the library: a 4 KiB ring that is
 * read only every 0.9 s in a busy period loses events of a fork burst, and
 * says how many; the default ring with the same delay loses none, and the
 * counts add up exactly (one create and one exit per fork).
 */
static void ringbuf_size_and_batch_delay(void **state)
{
	static const char *const small[] = { "--json", "--events", "fork,exit", "--ringbuf-size",
					     "4096", "--batch-delay", "900000", NULL };
	static const char *const big[] = { "--json", "--events", "fork,exit", "--batch-delay",
					   "900000", NULL };
	const int forks = 200;
	uint64_t events, lost;
	struct watch w;

	(void)state;
	require_bpf();
	for (int round = 0; round < 2; round++) {
		watch_start(&w, round ? "bigring" : "smallring", round ? big : small);
		for (int i = 0; i < forks; i++) {
			pid_t pid = fork();

			if (pid == 0)
				_exit(0);
			wait_status(pid);
		}
		/* every record is in the ring or counted lost: a stop delivers what is there */
		watch_end(&w, true);
		assert_int_equal(WEXITSTATUS(w.status), 0);
		summary(&w, &events, &lost);
		fprintf(stderr, "ring %s: %" PRIu64 " events, %" PRIu64 " lost\n",
			round ? "16 MiB" : "4 KiB", events, lost);
		if (round == 0) {
			assert_true(lost > 0);
			assert_non_null(strstr(w.err, "lost"));
			assert_int_equal(events + lost, 2 * (uint64_t)forks);
		} else {
			assert_int_equal(lost, 0);
			assert_int_equal(events, 2 * (uint64_t)forks);
		}
	}
}

/* Poll the output file (a condition with a deadline) for a line holding `tok`: when it came, or -1. */
static long long line_appears(const char *path, const char *tok, int timeout_ms)
{
	long long deadline = test_ms_now() + timeout_ms;

	while (test_ms_now() < deadline) {
		char *out = slurp_file(path);
		size_t n = count_lines_with(out, tok, NULL);

		free(out);
		if (n)
			return test_ms_now();
		usleep(2000);
	}
	return -1;
}

/*
 * --batch-delay reaches the library: after delivering a batch the monitor
 * waits that long before reading again, so an exit that happens right after
 * the first one was written comes out no sooner than the delay later. The
 * bound only errs towards passing on a slow machine (a late look at the
 * first line shortens the measured gap); the library's default delay
 * (--batch-delay 0: 4 ms, printed for comparison) delivers it at once.
 */
static void batch_delay_holds_the_next_batch(void **state)
{
	static const char *const slow[] = { "--text", "--events", "exit", "--batch-delay", "900000", NULL };
	static const char *const fast[] = { "--text", "--events", "exit", "--batch-delay", "0", NULL }; /* 0: the default, 4 ms */
	long long gap[2];

	(void)state;
	require_bpf();
	for (int round = 0; round < 2; round++) {
		struct watch w;
		char tok[32];
		long long seen;
		pid_t pid;

		watch_start(&w, round ? "nodelay" : "delay", round ? fast : slow);
		pid = fork();
		if (pid == 0)
			_exit(0);
		wait_status(pid);
		pid_token(tok, sizeof(tok), pid);
		seen = line_appears(w.out_path, tok, 10000);
		assert_true(seen > 0);
		pid = fork();
		if (pid == 0)
			_exit(0);
		wait_status(pid);
		pid_token(tok, sizeof(tok), pid);
		gap[round] = line_appears(w.out_path, tok, 10000);
		assert_true(gap[round] > 0);
		gap[round] -= seen;
		watch_end(&w, true);
		assert_int_equal(WEXITSTATUS(w.status), 0);
	}
	fprintf(stderr, "second exit written %lld ms after the first with --batch-delay 900000, %lld ms with 0 (the default)\n",
		gap[0], gap[1]);
	assert_true(gap[0] >= 400);
}

/* Values the library refuses come back as usage errors, not as a watch that ignores them. */
static void bad_sizes_refused(void **state)
{
	static const char *const cases[] = {
		"--ringbuf-size 1000",   /* not a power of two */
		"--ringbuf-size 2048",   /* below 4096 */
		"--batch-delay 1000000", /* a second or more */
		"--batch-delay -5",
	};
	char cmd[256], buf[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		FILE *p;
		size_t n;
		int status;

		snprintf(cmd, sizeof(cmd), "%s watch %s 2>&1", CLI, cases[i]);
		p = popen(cmd, "r");
		assert_non_null(p);
		n = fread(buf, 1, sizeof(buf) - 1, p);
		buf[n] = 0;
		status = pclose(p);
		if (WEXITSTATUS(status) != 2)
			fail_msg("'%s' exited %d: %s", cases[i], WEXITSTATUS(status), buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_output_and_max_events),
		cmocka_unit_test(events_filter),
		cmocka_unit_test(args_max),
		cmocka_unit_test(ringbuf_size_and_batch_delay),
		cmocka_unit_test(batch_delay_holds_the_next_batch),
		cmocka_unit_test(bad_sizes_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
