// SPDX-License-Identifier: MIT
/*
 * test_cli.c - the procward CLI as a user runs it: records that parse for
 * any bytes, text without control bytes, output files that follow no
 * symlink, one exit status per start failure, the gate's default log, and
 * what a dead monitor leaves behind (nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
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

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------- a CLI process under test */

struct cli_proc {
	pid_t pid;
	int pidfd;
	int errfd;       /* its stderr */
	char err[16384]; /* what it wrote there so far */
	size_t errlen;
	pthread_t watchdog;
	int watchdog_ms;
	volatile int reaped;
};

/* SIGKILL by pid after a deadline, with no exec (a gate that hangs would hang exec). */
static void *watchdog_main(void *arg)
{
	struct cli_proc *p = arg;
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

	if (poll(&pfd, 1, p->watchdog_ms) == 0 && !p->reaped)
		syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
	return NULL;
}

static void cli_start(struct cli_proc *p, char *const argv[], int watchdog_ms)
{
	int errp[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(errp[1], STDERR_FILENO);
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		execv(CLI, argv);
		_exit(127);
	}
	close(errp[1]);
	p->errfd = errp[0];
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	assert_true(p->pidfd >= 0);
	p->watchdog_ms = watchdog_ms;
	assert_int_equal(pthread_create(&p->watchdog, NULL, watchdog_main, p), 0);
}

/* Read its stderr until `needle` shows up (true) or the deadline / its end (false). */
static bool cli_wait_stderr(struct cli_proc *p, const char *needle, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	while (!strstr(p->err, needle)) {
		struct pollfd pfd = { .fd = p->errfd, .events = POLLIN };
		uint64_t now = now_ms();
		ssize_t n;

		if (now >= deadline || p->errlen + 1 >= sizeof(p->err))
			return false;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(p->errfd, p->err + p->errlen, sizeof(p->err) - 1 - p->errlen);
		if (n <= 0)
			return false;
		p->errlen += (size_t)n;
		p->err[p->errlen] = 0;
	}
	return true;
}

/* Send sig (0: none), wait for the end within timeout_ms; the exit status (128+N for a signal). */
static int cli_finish(struct cli_proc *p, int sig, int timeout_ms)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
	int status;

	if (sig)
		kill(p->pid, sig);
	if (poll(&pfd, 1, timeout_ms) != 1)
		syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
	while (p->errlen + 1 < sizeof(p->err)) {
		ssize_t n = read(p->errfd, p->err + p->errlen, sizeof(p->err) - 1 - p->errlen);

		if (n <= 0)
			break;
		p->errlen += (size_t)n;
		p->err[p->errlen] = 0;
	}
	status = wait_status(p->pid);
	p->reaped = 1;
	pthread_join(p->watchdog, NULL); /* it returned when the process ended */
	close(p->pidfd);
	close(p->errfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = 0;
	return (size_t)n;
}

/* Every line is one JSON value, and the file is strict UTF-8: the number of lines, or -1. */
static int json_lines(const char *file)
{
	char cmd[1024], out[256];

	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys\n"
		 "n=0\n"
		 "for l in open(sys.argv[1],\"rb\"):\n"
		 "  assert isinstance(json.loads(l.decode(\"utf-8\")), dict)\n"
		 "  n+=1\n"
		 "print(n)' %s 2>&1",
		 file);
	if (run(cmd, out, sizeof(out)))
		return -1;
	return atoi(out);
}

/* Run a python check over the JSON Lines file; 0 if it printed "ok". */
static int json_check(const char *file, const char *python_expr_over_recs)
{
	char cmd[4096], out[4096];
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys,base64\n"
		 "recs=[json.loads(l.decode(\"utf-8\")) for l in open(sys.argv[1],\"rb\")]\n"
		 "print(\"ok\" if (%s) else recs)' %s 2>&1",
		 python_expr_over_recs, file);
	rc = run(cmd, out, sizeof(out));
	if (rc || strncmp(out, "ok", 2))
		fprintf(stderr, "json check failed: %s\n", out);
	return rc || strncmp(out, "ok", 2);
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pw-cli-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int drop_tmpdir(void **state)
{
	(void)state;
	remove_tree(tmpdir);
	return 0;
}

/* ------------------------------------------------------------ the tests */

static void help_and_version(void **state)
{
	static char out[16384];

	(void)state;
	assert_int_equal(run(CLI " --version", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "procward 0."));
	assert_int_equal(run(CLI " --help", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "watch"));
	assert_non_null(strstr(out, "snapshot"));
	assert_non_null(strstr(out, "gate"));
	assert_int_equal(run(CLI " frobnicate 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "unknown command"));
	assert_int_equal(run(CLI " watch --events nonsense 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "unknown event"));
	assert_int_equal(run(CLI " watch --exclude-name a-name-longer-than-15 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "too long"));
	assert_int_equal(run(CLI " watch --rule 'include nonsense 3' 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "rule"));
	/* one meaning per short flag: -t is text and -d a duration on every command */
	assert_int_equal(run(CLI " gate -t 5 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "unexpected argument '5'"));
	assert_int_equal(run(CLI " gate -d never 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "bad --duration 'never'"));
	assert_int_equal(run(CLI " protect -d never 1 -D all 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "bad --duration 'never'"));
	assert_int_equal(run(CLI " gate --log some 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--log takes default or all"));
	assert_int_equal(run(CLI " snapshot --output-mode 0999 -o /tmp/x 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "bad --output-mode"));
	/* a message quoting the user's input escapes its control bytes too */
	assert_int_equal(run(CLI " \"$(printf 'x\\033[2Jy')\" 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "unknown command 'x\\x1b[2Jy'"));
	assert_null(strchr(out, '\033'));
}

/*
 * Every right the library knows is in `procward protect --help` and in the
 * man page (a right added later must be documented in both); protect's
 * own usage errors.
 */
static void protect_help_lists_every_right(void **state)
{
	static char out[16384], man[262144];
	unsigned int all = 0;
	size_t n;
	FILE *f;

	(void)state;
	assert_int_equal(run(CLI " protect --help", out, sizeof(out)), 0);
	f = fopen(PW_TEST_SRC_DIR "/doc/procward.1", "r");
	assert_non_null(f);
	n = fread(man, 1, sizeof(man) - 1, f);
	fclose(f);
	man[n] = 0;
	for (unsigned int bit = 1; bit; bit <<= 1) {
		const char *name = pw_access_name(bit);
		char roff[64], word[64];
		size_t j = 0;

		if (!name)
			continue;
		all |= bit;
		snprintf(word, sizeof(word), " %s ", name); /* a whole word in the list */
		assert_non_null(strstr(out, word));
		for (const char *c = name; *c && j + 3 < sizeof(roff); c++) {
			if (*c == '-')
				roff[j++] = '\\';
			roff[j++] = *c;
		}
		roff[j] = 0;
		assert_non_null(strstr(man, roff)); /* roff spells '-' as "\-" */
	}
	assert_int_equal(all, PW_ACCESS_ALL);
	assert_non_null(strstr(out, "--exec-name"));
	assert_non_null(strstr(man, "exec\\-name"));
	assert_int_equal(run(CLI " protect pwcli-x -D set-limits,bogus 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "unknown right in 'set-limits,bogus'"));
	assert_int_equal(run(CLI " protect 1 -D all --exec-name 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--exec-name needs a NAME"));
}

/*
 * A probe (a copy of sh named pw-cli-probe) runs echo with an argument of
 * invalid UTF-8 and terminal controls, under `procward watch`.
 */
#define ODD_ARG "x\xffy\x1b[2J"

static void run_probe(void)
{
	char probe[128];
	char *const argv[] = { "pw-cli-probe", "-c", "/bin/echo pw-cli-marker \"$1\" >/dev/null; exit 9",
			       "sh", ODD_ARG, NULL };
	int status;

	snprintf(probe, sizeof(probe), "%s/pw-cli-probe", tmpdir);
	status = wait_status(spawn_exec(probe, argv, NULL));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 9);
}

static void watch_probe(const char *format, const char *file)
{
	char cmd[256];
	char *const argv[] = { "procward", "watch", "-v", (char *)format, "-n", "pw-cli-probe", "--children",
			       "-o", (char *)file, NULL };
	struct cli_proc p;
	char out[256];

	snprintf(cmd, sizeof(cmd), "cp /bin/sh %s/pw-cli-probe", tmpdir);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	cli_start(&p, argv, 30000);
	assert_true(cli_wait_stderr(&p, "watching", 20000));
	run_probe();
	/* SIGTERM right after: what the kernel produced before the stop is still written */
	assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
	assert_non_null(strstr(p.err, "events,"));
	assert_non_null(strstr(p.err, "0 lost"));
}

/* watch --json: every line parses as strict UTF-8 JSON; invalid bytes come back exactly from args_b64. */
static void watch_json_is_valid_and_lossless(void **state)
{
	char file[128];
	struct stat st;

	(void)state;
	snprintf(file, sizeof(file), "%s/events.json", tmpdir);
	watch_probe("--json", file);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* probe: process_create? no (spawned before it had the name); exec, exit; echo: create, exec, exit */
	assert_true(json_lines(file) >= 5);
	assert_int_equal(json_check(file,
		"[r for r in recs if r[\"type\"]==\"exec\" and r[\"args\"]==[\"/bin/echo\",\"pw-cli-marker\","
		"\"x\\ufffdy\\x1b[2J\"] and base64.b64decode(r[\"args_b64\"][\"2\"])==b\"x\\xffy\\x1b[2J\" "
		"and list(r[\"args_b64\"])==[\"2\"] and r[\"token\"][\"user\"]==\"root\"]"), 0);
	assert_int_equal(json_check(file,
		"[r for r in recs if r[\"type\"]==\"process_exit\" and r[\"name\"]==\"pw-cli-probe\" "
		"and r[\"exit_code\"]==9 and r[\"exit_signal\"] is None]"), 0);
	/* no record without _b64 had a replacement character: the flag is exact */
	assert_int_equal(json_check(file,
		"all((\"\\ufffd\" in json.dumps(r, ensure_ascii=False)) == any(k.endswith(\"_b64\") for k in r) "
		"for r in recs)"), 0);
}

/* watch --text: no control byte in the output; the odd argument shown as \xNN. */
static void watch_text_escapes_control_bytes(void **state)
{
	static char out[1 << 16];
	char file[128];
	size_t n;

	(void)state;
	snprintf(file, sizeof(file), "%s/events.txt", tmpdir);
	watch_probe("--text", file);
	n = read_file(file, out, sizeof(out));
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++)
		assert_true((unsigned char)out[i] >= 0x20 || out[i] == '\n');
	assert_non_null(strstr(out, "/bin/echo pw-cli-marker x\\xffy\\x1b[2J"));
	assert_non_null(strstr(out, "exit 9"));
}

static void snapshot_json_and_text(void **state)
{
	static char out[1 << 20];
	char needle[64], file[128], cmd[512];
	int lines;

	(void)state;
	assert_int_equal(run(CLI " snapshot --json", out, sizeof(out)), 0);
	snprintf(needle, sizeof(needle), "{\"pid\":%d,", getpid());
	assert_non_null(strstr(out, needle));
	snprintf(file, sizeof(file), "%s/snap.json", tmpdir);
	snprintf(cmd, sizeof(cmd), CLI " snapshot -j -o %s", file);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	lines = json_lines(file);
	assert_true(lines > 1);
	assert_int_equal(run(CLI " snapshot --text", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "COMMAND"));
}

/* --output: 0600, appended, never through a symlink, never a FIFO, device or directory. */
static void output_files_are_safe(void **state)
{
	static char out[1 << 20];
	char file[128], link[128], fifo[128], cmd[1024];
	struct stat st;

	(void)state;
	snprintf(file, sizeof(file), "%s/out", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);

	/* new: 0600 even under a permissive umask */
	snprintf(cmd, sizeof(cmd), "umask 000; " CLI " snapshot -j -o %s", file);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* appended to, not truncated */
	snprintf(cmd, sizeof(cmd), "printf 'marker\\n' > %s && " CLI " snapshot -j -o %s && head -1 %s", file, file,
		 file);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	assert_string_equal(out, "marker\n");
	snprintf(cmd, sizeof(cmd), CLI " snapshot -j --truncate -o %s && head -c 8 %s", file, file);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	assert_memory_equal(out, "{\"pid\":", 7);
	/* a symlink is refused and its target untouched */
	snprintf(cmd, sizeof(cmd), "printf 'keep\\n' > %s && ln -s %s %s && " CLI " snapshot -j --truncate -o %s 2>&1",
		 file, file, link, link);
	assert_int_equal(run(cmd, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "symbolic link"));
	read_file(file, out, sizeof(out));
	assert_string_equal(out, "keep\n");
	/* a FIFO is refused at once (no reader: the open must not block) */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(cmd, sizeof(cmd), "timeout 10 " CLI " snapshot -j -o %s 2>&1", fifo);
	assert_int_equal(run(cmd, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "not a regular file"));
	snprintf(cmd, sizeof(cmd), CLI " snapshot -j -o %s 2>&1", tmpdir);
	assert_int_equal(run(cmd, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "not a regular file"));
	assert_int_equal(run(CLI " snapshot -j -o /dev/null 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "not a regular file"));
	/* --output-mode for a new file */
	unlink(file);
	snprintf(cmd, sizeof(cmd), "umask 022; " CLI " snapshot -j --output-mode 0640 -o %s", file);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
}

/* Without privileges: a clear message and status 77 from every command that loads BPF. */
static void unprivileged_cli(void **state)
{
	static char out[16384];

	(void)state;
	assert_int_equal(run("setpriv --reuid=65534 --regid=65534 --clear-groups " CLI
			     " watch -d 1 2>&1", out, sizeof(out)), 77);
	assert_non_null(strstr(out, "cannot start monitoring"));
	assert_non_null(strstr(out, "root"));
	assert_int_equal(run("setpriv --reuid=65534 --regid=65534 --clear-groups " CLI
			     " gate -d 1 2>&1", out, sizeof(out)), 77);
	assert_non_null(strstr(out, "cannot start the gate"));
	/* protect: 77 both where BPF LSM is missing and where privileges are */
	assert_int_equal(run("setpriv --reuid=65534 --regid=65534 --clear-groups " CLI
			     " protect 1 -D terminate -d 1 2>&1", out, sizeof(out)), 77);
	assert_non_null(strstr(out, "cannot start protection"));
	assert_int_equal(run("setpriv --reuid=65534 --regid=65534 --clear-groups " CLI
			     " snapshot --json >/dev/null", out, sizeof(out)), 0);
}

/*
 * The gate's default log is denials and anomalies: a denied exec is one
 * JSON record with its argv; allowed execs (and their interpreters) make
 * none. --log all: every decision.
 */
static void gate_default_log_and_log_all(void **state)
{
	char denied[128], allowed[128], file[128], rule[256], cmd[512], out[1024];
	char *const dargv[] = { "pw-cli-denied", "arg-one", ODD_ARG, NULL };
	char *const aargv[] = { "pw-cli-allowed", NULL };

	(void)state;
	snprintf(denied, sizeof(denied), "%s/pw-cli-denied", tmpdir);
	snprintf(allowed, sizeof(allowed), "%s/pw-cli-allowed", tmpdir);
	snprintf(cmd, sizeof(cmd), "cp /bin/true %s && cp /bin/true %s", denied, allowed);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	snprintf(rule, sizeof(rule), "deny path %s", denied);
	for (int all = 0; all < 2; all++) {
		char *const argv[] = { "procward", "gate", "-j", "-r", rule, "-d", "60", "-o", file,
				       all ? "--log" : NULL, "all", NULL };
		struct cli_proc p;
		int status;

		snprintf(file, sizeof(file), "%s/gate%d.json", tmpdir, all);
		cli_start(&p, argv, 30000);
		assert_true(cli_wait_stderr(&p, "running", 20000));
		status = wait_status(spawn_exec(denied, dargv, NULL));
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 127); /* execv failed: EPERM */
		status = wait_status(spawn_exec(allowed, aargv, NULL));
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
		assert_non_null(strstr(p.err, "decisions"));
		if (!all) {
			/* exactly the denial: nothing else of ours, nothing routine of anyone's */
			assert_int_equal(json_check(file,
				"len([r for r in recs if r[\"verdict\"]==\"allow\" and r[\"reason\"] in "
				"(\"rule\",\"handler\",\"default\",\"self\",\"cache\")])==0"), 0);
		} else {
			assert_int_equal(json_check(file,
				"[r for r in recs if r[\"verdict\"]==\"allow\" and r[\"image\"].endswith(\"/pw-cli-allowed\")]"), 0);
		}
		snprintf(cmd, sizeof(cmd),
			 "len([r for r in recs if r[\"verdict\"]==\"deny\" and r[\"image\"]==\"%s\" and "
			 "r[\"reason\"]==\"rule\" and r[\"rule\"]==0 and r[\"errno\"]==1 and "
			 "r[\"argv\"][:2]==[\"pw-cli-denied\",\"arg-one\"] and "
			 "base64.b64decode(r[\"argv_b64\"][\"2\"])==b\"x\\xffy\\x1b[2J\"])==1",
			 denied);
		assert_int_equal(json_check(file, cmd), 0);
	}
}

/*
 * The BPF programs a process holds (prog and link fds show "prog_id:" in
 * their fdinfo): exact even while other processes load programs.
 */
static size_t held_prog_ids(pid_t pid, __u32 *ids, size_t max)
{
	char path[64], line[128];
	size_t n = 0;

	for (int fd = 0; fd < 1024 && n < max; fd++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (n < max && fgets(line, sizeof(line), f)) {
			unsigned int id;

			if (sscanf(line, "prog_id: %u", &id) == 1)
				ids[n++] = id;
		}
		fclose(f);
	}
	return n;
}

static size_t alive_progs(const __u32 *ids, size_t n)
{
	size_t alive = 0;

	for (size_t i = 0; i < n; i++) {
		int fd = bpf_prog_get_fd_by_id(ids[i]);

		if (fd >= 0) {
			alive++;
			close(fd);
		}
	}
	return alive;
}

/* A monitor killed with SIGKILL leaves no program loaded. */
static void killed_monitor_leaves_nothing(void **state)
{
	__u32 ids[256];
	size_t n, alive = 1;
	char file[128];
	struct cli_proc p;

	(void)state;
	snprintf(file, sizeof(file), "%s/killed.json", tmpdir);
	{
		char *const argv[] = { "procward", "watch", "-v", "--json", "-o", file, NULL };

		cli_start(&p, argv, 30000);
	}
	assert_true(cli_wait_stderr(&p, "watching", 20000));
	n = held_prog_ids(p.pid, ids, 256);
	assert_true(n > 0);
	assert_int_equal(alive_progs(ids, n), n);
	assert_int_equal(cli_finish(&p, SIGKILL, 20000), 128 + SIGKILL);
	/* program teardown is deferred to an RCU grace period: poll, bounded */
	for (uint64_t deadline = now_ms() + 10000; now_ms() < deadline;) {
		alive = alive_progs(ids, n);
		if (!alive)
			break;
		usleep(20 * 1000);
	}
	assert_int_equal(alive, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(help_and_version),
		cmocka_unit_test(protect_help_lists_every_right),
		cmocka_unit_test_setup_teardown(watch_json_is_valid_and_lossless, make_tmpdir, drop_tmpdir),
		cmocka_unit_test_setup_teardown(watch_text_escapes_control_bytes, make_tmpdir, drop_tmpdir),
		cmocka_unit_test_setup_teardown(snapshot_json_and_text, make_tmpdir, drop_tmpdir),
		cmocka_unit_test_setup_teardown(output_files_are_safe, make_tmpdir, drop_tmpdir),
		cmocka_unit_test(unprivileged_cli),
		cmocka_unit_test_setup_teardown(gate_default_log_and_log_all, make_tmpdir, drop_tmpdir),
		cmocka_unit_test_setup_teardown(killed_monitor_leaves_nothing, make_tmpdir, drop_tmpdir),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "integration tests need root\n");
		return 1;
	}
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
