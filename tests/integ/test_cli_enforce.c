// SPDX-License-Identifier: MIT
/*
 * test_cli_enforce.c - the CLI commands that enforce, end to end, where the
 * shared host cannot run them: `procward gate --default deny` (it gates
 * every exec on the machine: inside the VM matrix only, PW_TEST_IN_VM) and
 * `procward protect` (needs BPF LSM: the test skips where protect says it
 * is unavailable, exit 77). Needs nothing from the guest's userland: the
 * programs exec'd are copies of this binary, which exit at once when called
 * with CHILD_ARG, and the output is checked in C (text and JSON lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define CHILD_ARG "--pw-cli-enforce-child"
#define EXEC_FAILED_BASE 200 /* child exit code: EXEC_FAILED_BASE + errno of execv */

static char dir[64];

TEST_DIR_FIXTURES(dir, "pw-cli-enf", 240)

/* A copy of this test binary at dir/NAME; returns its path (static storage). */
static char *program(const char *name)
{
	static char paths[4][192];
	static int next;
	char *path = paths[next++ % 4];

	snprintf(path, sizeof(paths[0]), "%s/%s", dir, name);
	copy_file_as("/proc/self/exe", path, 0755);
	return path;
}

/* Run prog CHILD_ARG: its exit code, or EXEC_FAILED_BASE + the errno its execv failed with. */
static int run(const char *prog)
{
	char *const argv[] = { (char *)prog, CHILD_ARG, NULL };
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execv(prog, argv);
		_exit(EXEC_FAILED_BASE + errno);
	}
	return wait_exit_code(pid);
}

/* The ELF interpreter this binary runs under (from /proc/self/maps), or "" when static. */
static void interpreter(char *out, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/maps", "re");

	assert_non_null(f);
	out[0] = 0;
	while (!out[0] && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		if (path && strstr(path, "/ld-")) {
			path[strcspn(path, "\n")] = 0;
			snprintf(out, len, "%s", path);
		}
	}
	fclose(f);
}

/* ------------------------------------------------------------ gate --default deny */

/*
 * --default deny: an exec no rule allows is denied (EPERM) and logged by
 * the default log; the allowed program runs and is not logged. Every other
 * exec in the guest is denied meanwhile, so this test execs nothing else.
 */
static void gate_default_deny(void **state)
{
	char *allowed = program("pwce-allowed"), *other = program("pwce-other");
	char rule[256], interp_rule[256], interp[512], out_path[128];
	struct cli_proc p;
	char *out;
	int st_allowed, st_other;

	(void)state;
	require_bpf();
	if (!getenv("PW_TEST_IN_VM")) {
		fprintf(stderr, "SKIP: --default deny gates every exec on the machine: VM matrix only\n");
		skip();
	}
	interpreter(interp, sizeof(interp));
	snprintf(rule, sizeof(rule), "allow path %s", allowed);
	/* static rules apply to the ELF interpreter's open too (PW_GATE_INTERP_RULES) */
	snprintf(interp_rule, sizeof(interp_rule), "allow path %s", interp[0] ? interp : allowed);
	snprintf(out_path, sizeof(out_path), "%s/gate.txt", dir);
	{
		char *const argv[] = { "procward", "gate", "--text", "-r", rule, "-r", interp_rule, "--default",
				       "deny", "--timeout", "2000", "-d", "60", "-o", out_path, NULL };

		cli_start(&p, argv, 60000);
	}
	assert_true(cli_wait_stderr(&p, "running", 30000));
	st_allowed = run(allowed);
	st_other = run(other);
	assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
	/* the gate is gone: the other program runs again */
	assert_int_equal(run(other), 0);
	assert_int_equal(st_allowed, 0);
	assert_int_equal(st_other, EXEC_FAILED_BASE + EPERM);
	out = slurp_file(out_path);
	if (count_lines_with(out, "deny", other) != 1 || count_lines_with(out, allowed, NULL) != 0)
		fail_msg("gate --default deny: want one denial of %s and nothing of %s:\n%s", other, allowed, out);
	assert_non_null(strstr(p.err, "1 denied"));
	free(out);
}

/* ------------------------------------------------------------ protect */

/* A child that waits for a signal; named (its comm) `name`. */
static pid_t target(const char *name)
{
	int ready[2];
	char byte;
	pid_t pid;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, name);
		(void)!write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	assert_int_equal(read_within(ready[0], &byte, 1, 5000), 1); /* named by now */
	close(ready[0]);
	return pid;
}

/* Start `procward protect ARGS...`; true once it protects, false (finished) if it said 77. */
static bool protect_start(struct cli_proc *p, char *const argv[])
{
	cli_start(p, argv, 60000);
	if (cli_wait_stderr(p, "protecting", 30000))
		return true;
	int status = cli_finish(p, 0, 20000);

	if (status == 77 && strstr(p->err, "cannot start protection")) {
		fprintf(stderr, "SKIP: protect unavailable here: %s", p->err);
		return false;
	}
	fail_msg("procward protect did not start (status %d): %s", status, p->err);
	return false;
}

/*
 * protect PID -D terminate: SIGTERM from us is refused (EPERM) while it
 * runs and goes through after it ends; the event is written, marked
 * denied, as a JSON line and as a text line. --except-uid of our uid lets
 * us through. protect NAME: the same by the process's name.
 */
static void protect_pid_name_and_exception(void **state)
{
	char pid_arg[16], json_path[128], text_path[128], needle[128];
	struct cli_proc p;
	char *out;
	pid_t t;

	(void)state;
	require_bpf();
	snprintf(json_path, sizeof(json_path), "%s/protect.json", dir);
	snprintf(text_path, sizeof(text_path), "%s/protect.txt", dir);

	/* by PID, JSON */
	t = target("pwce-target");
	snprintf(pid_arg, sizeof(pid_arg), "%d", t);
	{
		char *const argv[] = { "procward", "protect", pid_arg, "-D", "terminate", "--json", "-o", json_path,
				       "-d", "60", NULL };

		if (!protect_start(&p, argv)) {
			kill(t, SIGKILL);
			wait_status(t);
			skip();
		}
	}
	assert_int_equal(kill(t, SIGTERM), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(kill(t, SIGKILL), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
	out = slurp_file(json_path);
	snprintf(needle, sizeof(needle), "\"target_pid\":%d,", t);
	if (count_lines_with(out, needle, "\"signal\":15,\"result\":-1,\"denied\":true") != 1 ||
	    count_lines_with(out, needle, "\"signal\":9,\"result\":-1,\"denied\":true") != 1 ||
	    count_lines_with(out, needle, "\"op\":\"kill\"") != 2)
		fail_msg("protect --json: want the two denied kills of %d:\n%s", t, out);
	free(out);
	/* protection ended with the command */
	assert_int_equal(kill(t, SIGTERM), 0);
	assert_int_equal(WTERMSIG(wait_status(t)), SIGTERM);

	/* by NAME, text; and an exception for our own uid */
	t = target("pwce-byname");
	{
		char *const argv[] = { "procward", "protect", "pwce-byname", "-D", "terminate", "--text", "-o",
				       text_path, "-d", "60", NULL };

		assert_true(protect_start(&p, argv));
	}
	assert_int_equal(kill(t, SIGTERM), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
	out = slurp_file(text_path);
	snprintf(needle, sizeof(needle), " -> %d/%d (pwce-byname) kill", t, t);
	if (count_lines_with(out, needle, "sig 15 = -1 DENIED") != 1)
		fail_msg("protect --text: want one denied kill of %d:\n%s", t, out);
	free(out);
	{
		char uid[16];

		snprintf(uid, sizeof(uid), "%u", (unsigned int)geteuid());
		snprintf(pid_arg, sizeof(pid_arg), "%d", t);
		char *const argv[] = { "procward", "protect", pid_arg, "-D", "terminate", "-x", uid, "-d", "60",
				       NULL };

		assert_true(protect_start(&p, argv));
	}
	assert_int_equal(kill(t, SIGTERM), 0); /* our uid is excepted */
	assert_int_equal(WTERMSIG(wait_status(t)), SIGTERM);
	assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
}

int main(int argc, char **argv)
{
	/* a copy of this binary exec'd by a test: it only has to run */
	if (argc >= 2 && !strcmp(argv[1], CHILD_ARG))
		return 0;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gate_default_deny),
		cmocka_unit_test(protect_pid_name_and_exception),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
