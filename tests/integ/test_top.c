// SPDX-License-Identifier: MIT
/*
 * test_top.c - `procward top` against real processes: a busy loop's CPU in
 * --json frames, a process that lived only between two frames, and hostile
 * names that must come out escaped in text and valid in JSON.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CLI PW_TEST_BUILD_DIR "/procward"

/* procward top with its stdout on a pipe; a watchdog-free design: every read has a deadline. */
struct top_run {
	pid_t pid;
	int fd;
	char buf[1 << 24]; /* a frame lists every process: 3000 of them are over 1 MiB */
	size_t len;
};

static void top_start(struct top_run *t, char *const argv[])
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	t->len = 0;
	t->pid = fork();
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execv(CLI, argv);
		_exit(127);
	}
	close(p[1]);
	t->fd = p[0];
}

/* The next line (a frame in --json), NUL-terminated in a malloc'd copy; NULL at EOF or deadline. */
static char *top_line(struct top_run *t, int timeout_ms)
{
	return read_line_within(t->fd, t->buf, sizeof(t->buf), &t->len, timeout_ms);
}

static int top_finish(struct top_run *t)
{
	int status;
	long long end = test_ms_now() + 10000;

	close(t->fd);
	while (waitpid(t->pid, &status, WNOHANG) == 0) {
		if (test_ms_now() > end) {
			kill(t->pid, SIGKILL); /* bounded: never leave it running */
			waitpid(t->pid, &status, 0);
			return -1;
		}
		usleep(10000);
	}
	return status;
}

/* The JSON object of pid in a frame (up to its closing "]}"), or NULL. */
static char *proc_object(const char *frame, pid_t pid, char *out, size_t cap)
{
	char needle[32];
	const char *p, *end;

	snprintf(needle, sizeof(needle), "{\"pid\":%d,", pid);
	p = strstr(frame, needle);
	if (!p)
		return NULL;
	end = strstr(p, "]}");
	assert_non_null(end);
	assert_true((size_t)(end - p) < cap);
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = 0;
	return out;
}

static double field_num(const char *obj, const char *key)
{
	char needle[64];
	const char *p;

	snprintf(needle, sizeof(needle), "\"%s\":", key);
	p = strstr(obj, needle);
	assert_non_null(p);
	return strtod(p + strlen(needle), NULL);
}

static uint64_t cpu_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void json_busy_loop_and_short_lived(void **state)
{
	char *argv[] = { "procward", "top", "--json", "-d", "1", "-n", "7", NULL };
	struct top_run *t = calloc(1, sizeof(*t));
	char obj[65536], *frame;
	pid_t busy, brief;
	struct rusage ru;
	uint64_t s0, s1;
	long long t0, t1;
	bool seen_live = false;
	int status;

	(void)state;
	require_bpf();
	assert_non_null(t);
	busy = fork();
	assert_true(busy >= 0);
	if (busy == 0) {
		volatile uint64_t sink = 0;

		/* a failed assertion must not leave it spinning */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
			_exit(1);
		for (;;)
			sink++;
	}
	setpriority(PRIO_PROCESS, (id_t)busy, -10); /* shared machine: let it have its CPU */
	top_start(t, argv);
	frame = top_line(t, 20000); /* frame 1 */
	assert_non_null(frame);
	s0 = proc_schedstat_ns(busy);
	t0 = test_ms_now();
	free(frame);

	/*
	 * Between frame 1 and frame 2: a process that starts, burns 300 ms and
	 * exits; long enough that its exit work after the kernel's hook
	 * (unmapping; large under ASan) stays under 1% of its CPU.
	 */
	brief = fork();
	assert_true(brief >= 0);
	if (brief == 0) {
		uint64_t end = cpu_clock_ns() + 300000000ull;

		while (cpu_clock_ns() < end)
			;
		_exit(3);
	}
	assert_int_equal(wait4(brief, &status, 0, &ru), brief);

	frame = top_line(t, 5000); /* frame 2 */
	assert_non_null(frame);
	s1 = proc_schedstat_ns(busy);
	t1 = test_ms_now();
	assert_true(frame[0] == '{' && strstr(frame, "\"time\":") && strstr(frame, "\"processes\":["));

	assert_non_null(proc_object(frame, busy, obj, sizeof(obj)));
	{
		double reported = field_num(obj, "cpu_percent");
		double kernel = (double)(s1 - s0) / 1e6 / (double)(t1 - t0) * 100.0;

		fprintf(stderr, "busy loop: top %.1f%%, kernel (schedstat) %.1f%%\n", reported, kernel);
		assert_true(strstr(obj, "\"exited\":false"));
		assert_true(reported >= kernel - 10 && reported <= kernel + 10);
		/* never more than one CPU for one thread */
		assert_true(reported <= 110);
	}

	/*
	 * The frame of the interval in which it exited: frame 2, or a later one
	 * when a loaded machine stretched its CPU time past frame 2 (then
	 * it is listed live, as started, until then).
	 */
	for (int more = 0;; more++) {
		if (!proc_object(frame, brief, obj, sizeof(obj)))
			fail_msg("pid %d is missing from a frame of its life", brief);
		if (strstr(obj, "\"exited\":true"))
			break;
		/* live: "started" in the first frame that lists it only */
		assert_non_null(strstr(obj, seen_live ? "\"started\":false" : "\"started\":true"));
		seen_live = true;
		assert_true(more < 3);
		free(frame);
		frame = top_line(t, 5000);
		assert_non_null(frame);
	}
	{
		double cpu_ns = field_num(obj, "cpu_ns");
		double want = (double)ru.ru_utime.tv_sec * 1e9 + ru.ru_utime.tv_usec * 1e3 +
			      (double)ru.ru_stime.tv_sec * 1e9 + ru.ru_stime.tv_usec * 1e3;

		fprintf(stderr, "short-lived: %s\n", obj);
		assert_true(strstr(obj, "\"exited\":true"));
		/* started in this interval unless an earlier frame listed it live */
		assert_non_null(strstr(obj, seen_live ? "\"started\":false" : "\"started\":true"));
		assert_true(strstr(obj, "\"exit_code\":3"));
		assert_true(cpu_ns >= want * 0.98 && cpu_ns <= want * 1.02);
		assert_true(field_num(obj, "max_rss_bytes") > 0);
	}
	free(frame);
	/* it is reported in the frame of its interval only */
	frame = top_line(t, 5000);
	assert_non_null(frame);
	assert_null(proc_object(frame, brief, obj, sizeof(obj)));
	free(frame);
	kill(busy, SIGKILL);
	waitpid(busy, &status, 0);
	status = top_finish(t);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(t);
}

/* A name made of escape sequences and invalid UTF-8 comes out inert. */
static void hostile_name_escaped(void **state)
{
	static const char hostile[] = "\x1b[2J\xff\x7f\xc2\x9b\xe2\x80\xae\\z"; /* ... U+202E */
	struct top_run *t = calloc(1, sizeof(*t));
	char pidarg[16], *line, *all = NULL;
	size_t all_len = 0;
	int ready[2], status;
	pid_t pid;
	char c;

	(void)state;
	require_bpf();
	assert_non_null(t);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, hostile, 0, 0, 0);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	snprintf(pidarg, sizeof(pidarg), "%d", pid);

	{
		char *argv[] = { "procward", "top", "--json", "-d", "0.2", "-n", "1", "-p", pidarg, NULL };

		top_start(t, argv);
		line = top_line(t, 20000);
		assert_non_null(line);
		fprintf(stderr, "json: %s\n", line);
		/*
		 * The library's schema: ESC, DEL and C1 escaped, the invalid byte
		 * U+FFFD, valid UTF-8 (U+202E) kept, and name_b64 with the raw bytes.
		 */
		assert_non_null(strstr(line, "\"name\":\"\\u001b[2J\xef\xbf\xbd\\u007f\\u009b\xe2\x80\xae\\\\z\","
					     "\"name_b64\":\"G1sySv9/wpvigK5ceg==\""));
		for (const unsigned char *p = (const unsigned char *)line; *p; p++)
			assert_true(*p >= 0x20 && *p != 0x7f);
		free(line);
		status = top_finish(t);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	{
		char *argv[] = { "procward", "top", "-b", "-d", "0.2", "-n", "1", "-p", pidarg, NULL };

		top_start(t, argv);
		while ((line = top_line(t, 20000))) {
			size_t n = strlen(line);

			all = realloc(all, all_len + n + 2);
			assert_non_null(all);
			memcpy(all + all_len, line, n);
			all[all_len + n] = '\n';
			all_len += n + 1;
			all[all_len] = 0;
			free(line);
		}
		assert_non_null(all);
		fprintf(stderr, "text:\n%s", all);
		assert_non_null(strstr(all, "\\x1b[2J\\xff\\x7f\\xc2\\x9b\\xe2\\x80\\xae\\\\z"));
		for (size_t i = 0; i < all_len; i++)
			assert_true(all[i] == '\n' || ((unsigned char)all[i] >= 0x20 && all[i] != 0x7f));
		free(all);
		status = top_finish(t);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	free(t);
}

static void bad_arguments(void **state)
{
	static const char *const bad[][4] = {
		{ "-d", "0", NULL }, { "-d", "x", NULL }, { "-n", "0", NULL },
		{ "-p", "-3", NULL }, { "--alert", "cpu < 3", NULL }, { "extra", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char *argv[6] = { "procward", "top", (char *)bad[i][0], (char *)bad[i][1], NULL };
		struct top_run *t = calloc(1, sizeof(*t));
		int status;

		assert_non_null(t);
		top_start(t, argv);
		status = top_finish(t);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 2);
		free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_busy_loop_and_short_lived),
		cmocka_unit_test(hostile_name_escaped),
		cmocka_unit_test(bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
