// SPDX-License-Identifier: MIT
/*
 * test_cli.c - the procward CLI as a user runs it, and what a dead monitor
 * leaves behind (nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "harness.h"

#define CLI PW_TEST_BUILD_DIR "/procward"

/* Run a shell command, capture stdout+stderr into buf; return the exit status. */
static int run(const char *cmd, char *buf, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	int status;

	assert_non_null(p);
	while (n + 1 < len) {
		size_t got = fread(buf + n, 1, len - 1 - n, p);

		if (!got)
			break;
		n += got;
	}
	buf[n] = 0;
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void help_and_version(void **state)
{
	static char out[16384];

	(void)state;
	assert_int_equal(run(CLI " --version", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "procward 0."));
	assert_int_equal(run(CLI " --help", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "watch"));
	assert_non_null(strstr(out, "snapshot"));
	assert_int_equal(run(CLI " frobnicate 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "unknown command"));
	assert_int_equal(run(CLI " watch --events nonsense 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "unknown event"));
	assert_int_equal(run(CLI " watch --exclude-name a-name-longer-than-15 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "too long"));
	assert_int_equal(run(CLI " watch --rule 'include nonsense 3' 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "rule"));
}

/* watch --json: a known program appears with its argv and exit code. */
static void watch_json_shows_exec_and_exit(void **state)
{
	static char out[1 << 20];
	char file[] = "/tmp/pw-cli-XXXXXX", cmd[512];
	int fd = mkstemp(file);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* a copy of sh named pw-cli-probe: its comm is the rule's name */
	char dir[] = "/tmp/pw-cli-dir-XXXXXX";

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "cp /bin/sh %s/pw-cli-probe && "
		 CLI " watch --json -n pw-cli-probe --children -d 2 -o %s 2>&1 & "
		 "sleep 1; %s/pw-cli-probe -c '/bin/echo pw-cli-marker >/dev/null; exit 9'; wait $!; rc=$?; "
		 "rm -rf %s; exit $rc",
		 dir, file, dir, dir);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	/* the summary line is printed on stderr at the end */
	assert_non_null(strstr(out, "events,"));
	assert_non_null(strstr(out, "lost"));
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, out, sizeof(out) - 1);
	close(fd);
	unlink(file);
	assert_true(n > 0);
	out[n] = 0;
	/* every line is one JSON object with a type */
	for (char *line = out; *line; line = strchr(line, '\n') + 1) {
		assert_int_equal(line[0], '{');
		assert_true(strncmp(line, "{\"type\":\"", 9) == 0);
		if (!strchr(line, '\n'))
			break;
	}
	assert_non_null(strstr(out, "\"args\":[\"/bin/echo\",\"pw-cli-marker\"]"));
	assert_non_null(strstr(out, "\"type\":\"process_exit\""));
	assert_non_null(strstr(out, "\"exit_code\":9"));
	assert_non_null(strstr(out, "\"user\":\"root\""));
}

static void snapshot_json_and_text(void **state)
{
	static char out[1 << 20];
	char needle[64];

	(void)state;
	assert_int_equal(run(CLI " snapshot --json", out, sizeof(out)), 0);
	snprintf(needle, sizeof(needle), "{\"pid\":%d,", getpid());
	assert_non_null(strstr(out, needle));
	assert_int_equal(run(CLI " snapshot --text", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "COMMAND"));
}

/* Without privileges: a clear message and status 77; snapshot still works. */
static void unprivileged_cli(void **state)
{
	static char out[16384];

	(void)state;
	assert_int_equal(run("setpriv --reuid=65534 --regid=65534 --clear-groups " CLI
			     " watch -d 1 2>&1", out, sizeof(out)), 77);
	assert_non_null(strstr(out, "cannot start monitoring"));
	assert_non_null(strstr(out, "root"));
	assert_int_equal(run("setpriv --reuid=65534 --regid=65534 --clear-groups " CLI
			     " snapshot --json >/dev/null", out, sizeof(out)), 0);
}

/* Count loaded BPF programs whose name starts with pw_. */
static int count_pw_programs(void)
{
	__u32 id = 0;
	int n = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) && !strncmp(info.name, "pw_", 3))
			n++;
		close(fd);
	}
	return n;
}

/* A monitor killed with SIGKILL leaves no program attached. */
static void killed_monitor_leaves_nothing(void **state)
{
	int before = count_pw_programs(), during = 0, after = -1;
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0) {
		execl(CLI, "procward", "watch", "--json", "-o", "/dev/null", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && during <= before; i++) {
		usleep(50 * 1000);
		during = count_pw_programs();
	}
	assert_true(during > before);
	kill(pid, SIGKILL);
	wait_status(pid);
	/* program teardown is deferred to an RCU grace period */
	for (int i = 0; i < 100; i++) {
		after = count_pw_programs();
		if (after == before)
			break;
		usleep(50 * 1000);
	}
	assert_int_equal(after, before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(help_and_version),
		cmocka_unit_test(watch_json_shows_exec_and_exit),
		cmocka_unit_test(snapshot_json_and_text),
		cmocka_unit_test(unprivileged_cli),
		cmocka_unit_test(killed_monitor_leaves_nothing),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "integration tests need root\n");
		return 1;
	}
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
