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
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

/* run() of a command line made from a format. */
static __attribute__((format(printf, 3, 4))) int runf(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	return run(cmd, buf, len);
}

/* A command line, the exit status it must end with, and a string its output must hold. */
struct cli_expect {
	const char *cmd;
	int status;
	const char *needle;
};

static void expect_all(const struct cli_expect *e, size_t n)
{
	static char out[16384];

	for (size_t i = 0; i < n; i++) {
		int status = run(e[i].cmd, out, sizeof(out));

		if (status != e[i].status || !strstr(out, e[i].needle))
			fail_msg("%s: status %d (want %d), output: %s", e[i].cmd, status, e[i].status, out);
	}
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

/* a fresh directory per test */
TEST_DIR_FIXTURES(tmpdir, "pw-cli", 0)

/* ------------------------------------------------------------ the tests */

/* Each command line ends with its exit status and says why. */
#define NOBODY "setpriv --reuid=65534 --regid=65534 --clear-groups " CLI
static void exit_statuses_and_messages(void **state)
{
	static const struct cli_expect cases[] = {
		{ CLI " --version", 0, "procward 0." },
		{ CLI " --help", 0, "watch" },
		{ CLI " --help", 0, "snapshot" },
		{ CLI " --help", 0, "gate" },
		{ CLI " frobnicate 2>&1", 2, "unknown command" },
		{ CLI " watch --events nonsense 2>&1", 2, "unknown event" },
		{ CLI " watch --exclude-name a-name-longer-than-15 2>&1", 2, "too long" },
		{ CLI " watch --rule 'include nonsense 3' 2>&1", 2, "rule" },
		/* one meaning per short flag: -t is text and -d a duration on every command */
		{ CLI " gate -t 5 2>&1", 2, "unexpected argument '5'" },
		{ CLI " gate -d never 2>&1", 2, "bad --duration 'never'" },
		{ CLI " protect -d never 1 -D all 2>&1", 2, "bad --duration 'never'" },
		{ CLI " gate --log some 2>&1", 2, "--log takes default or all" },
		{ CLI " snapshot --output-mode 0999 -o /tmp/x 2>&1", 2, "bad --output-mode" },
		/* a message quoting the user's input escapes its control bytes too */
		{ CLI " \"$(printf 'x\\033[2Jy')\" 2>&1", 2, "unknown command 'x\\x1b[2Jy'" },
		/* without privileges: a clear message and status 77 from every command that loads BPF */
		{ NOBODY " watch -d 1 2>&1", 77, "cannot start monitoring" },
		{ NOBODY " watch -d 1 2>&1", 77, "root" },
		{ NOBODY " gate -d 1 2>&1", 77, "cannot start the gate" },
		/* protect: 77 both where BPF LSM is missing and where privileges are */
		{ NOBODY " protect 1 -D terminate -d 1 2>&1", 77, "cannot start protection" },
		{ NOBODY " snapshot --json >/dev/null", 0, "" },
	};
	static char out[16384];

	(void)state;
	expect_all(cases, sizeof(cases) / sizeof(cases[0]));
	run(CLI " \"$(printf 'x\\033[2Jy')\" 2>&1", out, sizeof(out));
	assert_null(strchr(out, '\033'));
}
#undef NOBODY

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

	snprintf(probe, sizeof(probe), "%s/pw-cli-probe", tmpdir);
	assert_int_equal(wait_exit_code(spawn_exec(probe, argv, NULL)), 9);
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

/*
 * watch --json and --text: a child that burns CPU and touches memory exits;
 * its exit line carries the rusage that wait4() reports for it (CPU and
 * peak RSS within 2%), with every documented key.
 */
static void watch_exit_lines_carry_rusage(void **state)
{
	static const char *const formats[] = { "--json", "--text" };
	static char text[1 << 16];
	char probe[128], file[128], cmd[256], out[256], expr[2048];
	/* sh: a builtin loop (CPU, no children), then a 24 MiB string (memory) */
	char *const child_argv[] = { "pw-cli-burn", "-c",
				     "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; "
				     "x=$(head -c 25165824 /dev/zero | tr '\\0' a); exit 4",
				     NULL };

	(void)state;
	snprintf(probe, sizeof(probe), "%s/pw-cli-burn", tmpdir);
	snprintf(cmd, sizeof(cmd), "cp /bin/sh %s", probe);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	for (size_t f = 0; f < 2; f++) {
		char *const argv[] = { "procward", "watch", "-v", (char *)formats[f], "-n", "pw-cli-burn",
				       "--events", "exit", "-o", file, NULL };
		struct cli_proc p;
		struct rusage ru;
		long long t0, t1;
		uint64_t cpu_ns;
		int status;
		pid_t pid;

		snprintf(file, sizeof(file), "%s/exit%zu.out", tmpdir, f);
		cli_start(&p, argv, 30000);
		assert_true(cli_wait_stderr(&p, "watching", 20000));
		t0 = test_ms_now();
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			execv(probe, child_argv);
			_exit(127);
		}
		assert_int_equal(wait4(pid, &status, 0, &ru), pid);
		t1 = test_ms_now();
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 4);
		assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
		/* wait4 includes the reaped children (head, tr): only the shell's own use is in its event */
		cpu_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000ull + (uint64_t)ru.ru_utime.tv_usec * 1000 +
			 (uint64_t)ru.ru_stime.tv_sec * 1000000000ull + (uint64_t)ru.ru_stime.tv_usec * 1000;
		if (f == 0) {
			snprintf(expr, sizeof(expr),
				 "[r for r in recs if r[\"type\"]==\"process_exit\" and r[\"pid\"]==%d "
				 "and r[\"exit_code\"]==4 and set(r[\"rusage\"])=={\"cpu_ns\",\"user_ns\","
				 "\"system_ns\",\"max_rss_bytes\",\"minor_faults\",\"major_faults\","
				 "\"voluntary_switches\",\"involuntary_switches\",\"read_bytes\","
				 "\"write_bytes\",\"read_chars\",\"write_chars\",\"lifetime_ns\","
				 "\"children_user_ns\",\"children_system_ns\",\"threads\",\"partial\"} "
				 "and (lambda u: abs(u[\"cpu_ns\"]+u[\"children_user_ns\"]+"
				 "u[\"children_system_ns\"]-%llu)<=0.02*%llu "
				 "and u[\"cpu_ns\"]==u[\"user_ns\"]+u[\"system_ns\"] "
				 "and u[\"cpu_ns\"]>0.5*%llu "
				 "and abs(u[\"max_rss_bytes\"]-%ld*1024)<=0.02*%ld*1024 "
				 "and 0<u[\"lifetime_ns\"]<=%lld*1000000 "
				 "and u[\"minor_faults\"]>0 and u[\"threads\"]==1 and u[\"partial\"] is False"
				 ")(r[\"rusage\"])]",
				 pid, (unsigned long long)cpu_ns, (unsigned long long)cpu_ns,
				 (unsigned long long)cpu_ns, ru.ru_maxrss, ru.ru_maxrss, t1 - t0 + 1);
			assert_int_equal(json_check(file, expr), 0);
		} else {
			char needle[64], type[32];
			const char *line = NULL;
			size_t n = read_file(file, text, sizeof(text));
			int ev_pid;

			assert_true(n > 0);
			/* its own line: TIME EVENT PID ... (its subshell's has it as PPID) */
			for (const char *l = text; *l && !line; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
				if (sscanf(l, "%*s %31s %d", type, &ev_pid) == 2 && ev_pid == pid &&
				    !strcmp(type, "process_exit"))
					line = l;
			assert_non_null(line);
			fprintf(stderr, "text: %.*s\n", (int)strcspn(line, "\n"), line);
			assert_non_null(strstr(line, " exit 4 cpu_ms="));
			snprintf(needle, sizeof(needle), " maxrss_kib=%ld ", ru.ru_maxrss);
			/* peak RSS in KiB is exact (pages), so the text shows wait4's number */
			assert_true(strstr(line, needle) && strstr(line, needle) < strchr(line, '\n'));
			assert_true(strstr(line, " life_ms=") < strchr(line, '\n'));
		}
	}
}

static void snapshot_json_and_text(void **state)
{
	static char out[1 << 20];
	char needle[64], file[128];
	int lines;

	(void)state;
	assert_int_equal(run(CLI " snapshot --json", out, sizeof(out)), 0);
	snprintf(needle, sizeof(needle), "{\"pid\":%d,", getpid());
	assert_non_null(strstr(out, needle));
	snprintf(file, sizeof(file), "%s/snap.json", tmpdir);
	assert_int_equal(runf(out, sizeof(out), CLI " snapshot -j -o %s", file), 0);
	lines = json_lines(file);
	assert_true(lines > 1);
	assert_int_equal(run(CLI " snapshot --text", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "COMMAND"));
}

/* --output: 0600, appended, never through a symlink, never a FIFO, device or directory. */
static void output_files_are_safe(void **state)
{
	static char out[1 << 20];
	char file[128], link[128], fifo[128];
	struct stat st;

	(void)state;
	snprintf(file, sizeof(file), "%s/out", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);

	/* new: 0600 even under a permissive umask */
	assert_int_equal(runf(out, sizeof(out), "umask 000; " CLI " snapshot -j -o %s", file), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* appended to, not truncated */
	assert_int_equal(runf(out, sizeof(out), "printf 'marker\\n' > %s && " CLI " snapshot -j -o %s && head -1 %s",
			      file, file, file), 0);
	assert_string_equal(out, "marker\n");
	assert_int_equal(runf(out, sizeof(out), CLI " snapshot -j --truncate -o %s && head -c 8 %s", file, file), 0);
	assert_memory_equal(out, "{\"pid\":", 7);
	/* a symlink is refused and its target untouched */
	assert_int_equal(runf(out, sizeof(out),
			      "printf 'keep\\n' > %s && ln -s %s %s && " CLI " snapshot -j --truncate -o %s 2>&1", file,
			      file, link, link), 2);
	assert_non_null(strstr(out, "symbolic link"));
	read_file(file, out, sizeof(out));
	assert_string_equal(out, "keep\n");
	/* a FIFO is refused at once (no reader: the open must not block) */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(runf(out, sizeof(out), "timeout 10 " CLI " snapshot -j -o %s 2>&1", fifo), 2);
	assert_non_null(strstr(out, "not a regular file"));
	assert_int_equal(runf(out, sizeof(out), CLI " snapshot -j -o %s 2>&1", tmpdir), 2);
	assert_non_null(strstr(out, "not a regular file"));
	assert_int_equal(run(CLI " snapshot -j -o /dev/null 2>&1", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "not a regular file"));
	/* --output-mode for a new file */
	unlink(file);
	assert_int_equal(runf(out, sizeof(out), "umask 022; " CLI " snapshot -j --output-mode 0640 -o %s", file), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
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

		snprintf(file, sizeof(file), "%s/gate%d.json", tmpdir, all);
		cli_start(&p, argv, 30000);
		assert_true(cli_wait_stderr(&p, "running", 20000));
		assert_int_equal(wait_exit_code(spawn_exec(denied, dargv, NULL)), 127); /* execv failed: EPERM */
		assert_int_equal(wait_exit_code(spawn_exec(allowed, aargv, NULL)), 0);
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

/* ------------------------------------------------ hostile bytes, every command */

/*
 * No byte of `buf` can drive a terminal or forge a line: nothing below 0x20
 * but '\n', no DEL, no C1 control (U+0080..U+009F), no bidi override or
 * isolate. The first offender fails the test, with its offset.
 */
static void assert_clean(const char *what, const char *buf, size_t n)
{
	const unsigned char *s = (const unsigned char *)buf;

	for (size_t i = 0; i < n; i++) {
		bool bad = (s[i] < 0x20 && s[i] != '\n') || s[i] == 0x7f ||
			   (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] < 0xa0) ||
			   (s[i] == 0xe2 && i + 2 < n &&
			    ((s[i + 1] == 0x80 && s[i + 2] >= 0xaa && s[i + 2] <= 0xae) ||
			     (s[i + 1] == 0x81 && s[i + 2] >= 0xa6 && s[i + 2] <= 0xa9)));

		if (bad)
			fail_msg("%s: byte 0x%02x at offset %zu of %zu", what, s[i], i, n);
	}
}

/* Lines of buf that begin with `prefix`: a forged record would. */
static size_t lines_starting(const char *buf, const char *prefix)
{
	size_t n = 0, plen = strlen(prefix);

	for (const char *line = buf; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL)
		n += !strncmp(line, prefix, plen);
	return n;
}

/*
 * The attacker: a program named na<ESC>[2Jme (its comm too) in a directory
 * whose name holds a newline, run with an argument of invalid UTF-8, an OSC
 * title sequence, BEL, and a newline followed by a forged record.
 */
#define HOSTILE_NAME "na\x1b[2Jme"
#define HOSTILE_DIR "d\nforged-dir"
#define HOSTILE_ARG "\xff\x1b]0;pwned\a\nforged-arg 1 exec \x9b\xc2\x9b\xe2\x80\xae"
#define HOSTILE_NAME_SHOWN "na\\x1b[2Jme"
#define HOSTILE_DIR_SHOWN "d\\x0aforged-dir"
#define HOSTILE_ARG_SHOWN "\"\\xff\\x1b]0;pwned\\x07\\x0aforged-arg 1 exec \\x9b\\xc2\\x9b\\xe2\\x80\\xae\"" /* quoted: it has spaces */

struct hostile {
	char path[192];
	pid_t pid;
	int stdin_w; /* closing it ends the program (read x; exit 7) */
};

/* Start the hostile program, blocked reading its stdin; return once its exec ran. */
static void hostile_start(struct hostile *h)
{
	char *const argv[] = { h->path, "-c", "read x; exit 7", "sh", HOSTILE_ARG, NULL };
	int in[2], ready[2], err = 0;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], STDIN_FILENO);
		execv(h->path, argv);
		err = errno;
		(void)!write(ready[1], &err, sizeof(err));
		_exit(127);
	}
	close(in[0]);
	close(ready[1]);
	h->stdin_w = in[1];
	/* EOF: the close-on-exec write end went away with the exec */
	assert_int_equal(read_within(ready[0], &err, sizeof(err), 10000), 0);
	close(ready[0]);
}

static void hostile_end(struct hostile *h)
{
	close(h->stdin_w);
	assert_int_equal(wait_exit_code(h->pid), 7);
}

/*
 * Every command that prints what a process chose (watch text and JSON,
 * snapshot text and JSON, the gate's decision lines, the library's log
 * lines, protect's messages) writes it escaped: not one control byte on the
 * output, no forged line, and the hostile bytes still readable (\xNN in
 * text, exact in JSON and its _b64 fields).
 */
static void hostile_bytes_through_every_command(void **state)
{
	static char out[1 << 20];
	char sub[128], mnt[128], wtext[192], wjson[192], stext[192], sjson[192], gtext[192], gjson[192];
	char pid_arg[16], tok[32], rule[256], cmd[4096];
	struct hostile h;
	static struct cli_proc wt, wj, gp;
	size_t n;
	int status;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/" HOSTILE_DIR, tmpdir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(h.path, sizeof(h.path), "%s/" HOSTILE_NAME, sub);
	copy_file_as("/bin/sh", h.path, 0755);
	snprintf(wtext, sizeof(wtext), "%s/watch.txt", tmpdir);
	snprintf(wjson, sizeof(wjson), "%s/watch.json", tmpdir);
	snprintf(stext, sizeof(stext), "%s/snap.txt", tmpdir);
	snprintf(sjson, sizeof(sjson), "%s/snap.json", tmpdir);
	snprintf(gtext, sizeof(gtext), "%s/gate.txt", tmpdir);
	snprintf(gjson, sizeof(gjson), "%s/gate.json", tmpdir);
	snprintf(pid_arg, sizeof(pid_arg), "%d", getpid());

	/* watch, text and JSON, of this test's process tree */
	{
		char *const targv[] = { "procward", "watch", "--text", "-p", pid_arg, "--children", "-v",
					"-o", wtext, NULL };
		char *const jargv[] = { "procward", "watch", "--json", "-p", pid_arg, "--children", "-v",
					"-o", wjson, NULL };

		cli_start(&wt, targv, 60000);
		cli_start(&wj, jargv, 60000);
		assert_true(cli_wait_stderr(&wt, "watching", 20000));
		assert_true(cli_wait_stderr(&wj, "watching", 20000));
	}
	hostile_start(&h);

	/* snapshot while it runs: its comm, exe and cmdline from /proc */
	assert_int_equal(runf(out, sizeof(out), CLI " snapshot --text -o %s 2>&1", stext), 0);
	assert_int_equal(runf(out, sizeof(out), CLI " snapshot --json -o %s 2>&1", sjson), 0);
	/* a snapshot on the terminal (stdout) takes the same path */
	assert_int_equal(run(CLI " snapshot --text 2>&1", out, sizeof(out)), 0);
	assert_clean("snapshot --text on stdout", out, strlen(out));

	hostile_end(&h);
	assert_int_equal(cli_finish(&wt, SIGTERM, 20000), 0);
	assert_int_equal(cli_finish(&wj, SIGTERM, 20000), 0);
	assert_clean("watch stderr", wt.err, wt.errlen);

	snprintf(tok, sizeof(tok), " %d ", h.pid);
	n = read_file(wtext, out, sizeof(out));
	assert_clean("watch --text", out, n);
	/* one exec line, the whole record on it: name, escaped directory and argument */
	if (count_lines_with(out, HOSTILE_DIR_SHOWN "/" HOSTILE_NAME_SHOWN " -c \"read x; exit 7\" sh "
			     HOSTILE_ARG_SHOWN, NULL) != 1)
		fail_msg("watch --text: no exec line with the escaped record:\n%s", out);
	assert_int_equal(lines_starting(out, "forged"), 0);
	if (count_lines_with(out, "process_exit", NULL) < 1 ||
	    count_lines_with(out, "exit 7", NULL) != 2) /* its exec line and its exit */
		fail_msg("watch --text: no exit 7 line:\n%s", out);

	assert_true(json_lines(wjson) >= 2);

	/* snapshot: the row is one line, escaped; the JSON row exact */
	n = read_file(stext, out, sizeof(out));
	assert_clean("snapshot --text", out, n);
	if (count_lines_with(out, HOSTILE_NAME_SHOWN " ", NULL) < 1 ||
	    count_lines_with(out, "sh " HOSTILE_ARG_SHOWN, NULL) != 1)
		fail_msg("snapshot --text: no escaped row:\n%s", out);
	assert_int_equal(lines_starting(out, "forged"), 0);
	snprintf(cmd, sizeof(cmd),
		 "len([r for r in recs if r[\"pid\"]==%d and r[\"name\"]==\"na\\x1b[2Jme\" and "
		 "r[\"image\"].endswith(\"/d\\nforged-dir/na\\x1b[2Jme\") and "
		 "base64.b64decode(r[\"args_b64\"][\"4\"])==b\"\\xff\\x1b]0;pwned\\x07\\nforged-arg 1 exec "
		 "\\x9b\\xc2\\x9b\\xe2\\x80\\xae\"])==1",
		 h.pid);
	assert_int_equal(json_check(sjson, cmd), 0);
	snprintf(cmd, sizeof(cmd),
		 "len([r for r in recs if r[\"type\"]==\"exec\" and r[\"pid\"]==%d and "
		 "r[\"image\"].endswith(\"/d\\nforged-dir/na\\x1b[2Jme\") and "
		 "r[\"args\"][4]==\"\\ufffd\\x1b]0;pwned\\x07\\nforged-arg 1 exec \\ufffd\\x9b\\u202e\" and "
		 "base64.b64decode(r[\"args_b64\"][\"4\"])==b\"\\xff\\x1b]0;pwned\\x07\\nforged-arg 1 exec "
		 "\\x9b\\xc2\\x9b\\xe2\\x80\\xae\"])==1",
		 h.pid);
	assert_int_equal(json_check(wjson, cmd), 0);

	/*
	 * The gate, text and JSON, denying the program by name; -vv prints the
	 * library's debug lines, among them "gating MOUNT" of a tmpfs mounted
	 * at a hostile path.
	 */
	snprintf(mnt, sizeof(mnt), "%s/m\x1b[2J\nforged-mount", tmpdir);
	assert_int_equal(mkdir(mnt, 0755), 0);
	assert_int_equal(mount("pw-cli-test", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m"), 0);
	snprintf(rule, sizeof(rule), "deny name " HOSTILE_NAME);
	for (int json = 0; json < 2; json++) {
		char *const gargv[] = { "procward", "gate", json ? "--json" : "--text", "-r", rule, "-d", "60",
					"-o", json ? gjson : gtext, "-vv", NULL };
		char *const argv[] = { h.path, "-c", "exit 0", "sh", HOSTILE_ARG, NULL };

		cli_start(&gp, gargv, 60000);
		assert_true(cli_wait_stderr(&gp, "running", 30000));
		assert_int_equal(wait_exit_code(spawn_exec(h.path, argv, NULL)), 127); /* EPERM */
		assert_int_equal(cli_finish(&gp, SIGTERM, 20000), 0);
		assert_clean("gate stderr", gp.err, gp.errlen);
		if (!strstr(gp.err, "gating ") || !strstr(gp.err, "/m\\x1b[2J\\x0aforged-mount (tmpfs)"))
			fail_msg("gate -vv: no escaped 'gating' line for the hostile mount:\n%s", gp.err);
		assert_int_equal(lines_starting(gp.err, "forged"), 0);
	}
	umount2(mnt, MNT_DETACH);
	n = read_file(gtext, out, sizeof(out));
	assert_clean("gate --text", out, n);
	if (count_lines_with(out, HOSTILE_DIR_SHOWN "/" HOSTILE_NAME_SHOWN " -c \"exit 0\" sh " HOSTILE_ARG_SHOWN,
			     NULL) != 1 ||
	    count_lines_with(out, "deny", NULL) != 1)
		fail_msg("gate --text: not one escaped denial line:\n%s", out);
	assert_int_equal(lines_starting(out, "forged"), 0);
	assert_int_equal(json_check(gjson,
		"len([r for r in recs if r[\"verdict\"]==\"deny\" and "
		"r[\"image\"].endswith(\"/d\\nforged-dir/na\\x1b[2Jme\") and "
		"base64.b64decode(r[\"argv_b64\"][\"4\"])==b\"\\xff\\x1b]0;pwned\\x07\\nforged-arg 1 exec "
		"\\x9b\\xc2\\x9b\\xe2\\x80\\xae\"])==1"), 0);

	/* protect: a hostile target name is quoted escaped, whether or not this kernel can enforce */
	status = runf(out, sizeof(out), CLI " protect '%s' -D terminate -d 0.1 2>&1", HOSTILE_NAME "\n" "forged");
	if (status != 0 && status != 2 && status != 77)
		fail_msg("protect: status %d: %s", status, out);
	assert_clean("protect", out, strlen(out));
	assert_int_equal(lines_starting(out, "forged"), 0);
	/* the usage error of a bad right quotes it escaped too */
	assert_int_equal(runf(out, sizeof(out), CLI " protect 1 -D '%s' 2>&1", "x\x1b[2J\nforged"), 2);
	assert_clean("protect usage", out, strlen(out));
	assert_non_null(strstr(out, "x\\x1b[2J\\x0aforged"));
}

/* fork + execv: 0 if the program ran and exited 0, else the errno execv failed with. */
static int exec_errno(const char *path, char *const argv[])
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		execv(path, argv);
		_exit(100 + errno);
	}
	int code = wait_exit_code(pid);

	return code ? code - 100 : 0;
}

/* Write `text` to path (0600), replacing it. */
static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/*
 * gate --rules-file: comments and blank lines skipped, every rule in its
 * order (its index in the record), errno honoured; a bad line is a usage
 * error naming the file and line, and nothing starts. --audit: the same
 * rule denies nothing, and the record says what it would have denied.
 * --timeout and --default take their values or refuse them (--timeout at
 * work: gate_timeout_decides; --default deny gates every exec on the
 * machine: test_cli_enforce, in the VM only).
 */
static void gate_rules_file_audit_and_options(void **state)
{
	char den1[128], den2[128], allowed[128], rules[128], bad[128], file[192], text[1024], cmd[1024];
	char *const argv1[] = { "pw-cli-den1", NULL }, *const argv2[] = { "pw-cli-den2", NULL };
	char *const aargv[] = { "pw-cli-allowed", NULL };
	static char out[16384];
	static struct cli_proc p;
	int want_errno;

	(void)state;
	snprintf(den1, sizeof(den1), "%s/pw-cli-den1", tmpdir);
	snprintf(den2, sizeof(den2), "%s/pw-cli-den2", tmpdir);
	snprintf(allowed, sizeof(allowed), "%s/pw-cli-allowed", tmpdir);
	copy_file_as("/bin/true", den1, 0755);
	copy_file_as("/bin/true", den2, 0755);
	copy_file_as("/bin/true", allowed, 0755);
	snprintf(rules, sizeof(rules), "%s/rules", tmpdir);
	snprintf(text, sizeof(text),
		 "# procward gate rules\n"
		 "\n"
		 "   # an indented comment\n"
		 "deny path %s errno EAGAIN\n"
		 "deny path %s\n",
		 den1, den2);
	write_text(rules, text);

	/* the rules file, enforced */
	snprintf(file, sizeof(file), "%s/rules.json", tmpdir);
	{
		char *const argv[] = { "procward", "gate", "--json", "--rules-file", rules, "--timeout", "2000",
				       "--default", "allow", "-d", "60", "-o", file, "-v", NULL };

		cli_start(&p, argv, 30000);
	}
	assert_true(cli_wait_stderr(&p, "running", 20000));
	/* -v: the library says whether this kernel gives a deny's errno (FAN_DENY_ERRNO) or EPERM only */
	want_errno = strstr(p.err, "deny errno supported") ? EAGAIN : EPERM;
	if (want_errno == EPERM && !strstr(p.err, "deny errno EPERM only"))
		fail_msg("gate -v does not say whether a deny's errno is given: %s", p.err);
	assert_int_equal(exec_errno(den1, argv1), want_errno);
	assert_int_equal(exec_errno(den2, argv2), EPERM);
	assert_int_equal(exec_errno(allowed, aargv), 0);
	assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
	snprintf(cmd, sizeof(cmd),
		 "len([r for r in recs if r[\"verdict\"]==\"deny\" and r[\"image\"]==\"%s\" and r[\"rule\"]==0 "
		 "and r[\"errno\"]==%d and not r[\"audit\"]])==1 and "
		 "len([r for r in recs if r[\"verdict\"]==\"deny\" and r[\"image\"]==\"%s\" and r[\"rule\"]==1 "
		 "and r[\"errno\"]==1])==1 and "
		 "not [r for r in recs if r[\"image\"]==\"%s\"]",
		 den1, want_errno, den2, allowed);
	assert_int_equal(json_check(file, cmd), 0);

	/* audit: the same rules deny nothing; what they would deny is recorded, flagged */
	snprintf(file, sizeof(file), "%s/audit.json", tmpdir);
	{
		char *const argv[] = { "procward", "gate", "-j", "--audit", "-f", rules, "-d", "60", "-o", file, NULL };

		cli_start(&p, argv, 30000);
	}
	assert_true(cli_wait_stderr(&p, "running in audit mode", 20000));
	assert_int_equal(exec_errno(den1, argv1), 0);
	assert_int_equal(exec_errno(den2, argv2), 0);
	assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
	assert_non_null(strstr(p.err, "(audit: not enforced)"));
	snprintf(cmd, sizeof(cmd),
		 "len([r for r in recs if r[\"verdict\"]==\"deny\" and r[\"audit\"] and r[\"image\"]==\"%s\" "
		 "and r[\"rule\"]==0])==1 and "
		 "len([r for r in recs if r[\"verdict\"]==\"deny\" and r[\"audit\"] and r[\"image\"]==\"%s\" "
		 "and r[\"rule\"]==1])==1",
		 den1, den2);
	assert_int_equal(json_check(file, cmd), 0);

	/* a bad line: refused with its file and line number, before the gate starts */
	snprintf(bad, sizeof(bad), "%s/bad-rules", tmpdir);
	write_text(bad, "# fine\ndeny path /nonexistent/pw-cli\ndeny frobnicate 3\n");
	assert_int_equal(runf(out, sizeof(out), CLI " gate -f %s -d 5 2>&1", bad), 2);
	snprintf(text, sizeof(text), "%s:3: unknown condition", bad);
	assert_non_null(strstr(out, text));
	assert_null(strstr(out, "running"));
	assert_int_equal(runf(out, sizeof(out), CLI " gate -f %s/missing -d 5 2>&1", tmpdir), 2);
	assert_null(strstr(out, "running"));
	/* option values the gate refuses */
	{
		static const struct cli_expect cases[] = {
			{ CLI " gate --default maybe 2>&1", 2, "--default takes allow or deny, not 'maybe'" },
			{ CLI " gate --timeout 0 2>&1", 2, "--timeout takes milliseconds" },
			{ CLI " gate -T 3600001 2>&1", 2, "--timeout takes milliseconds" },
			{ CLI " gate -T 10ms 2>&1", 2, "--timeout takes milliseconds" },
			{ CLI " gate -r 'deny frobnicate' 2>&1", 2, "rule 'deny frobnicate'" },
		};

		expect_all(cases, sizeof(cases) / sizeof(cases[0]));
	}
}

/*
 * --timeout reaches the library: a sha256 rule hashes the image on a
 * worker before it decides; a 32 MiB program takes far longer to hash than
 * 1 ms. With --timeout 20000 the rule decides (denied, reason rule); with
 * --timeout 1 the deadline does (the default verdict, allow: it runs, and
 * the default log records the timeout as ours). The rule is scoped to this test's
 * children (by-pid), so nothing else on the machine is hashed.
 */
static void gate_timeout_decides(void **state)
{
	char big[128], file[192], rule[256], cmd[512], hex[128];
	char *const argv[] = { "pw-cli-big", NULL };
	static struct cli_proc p;

	(void)state;
	snprintf(big, sizeof(big), "%s/pw-cli-big", tmpdir);
	copy_file_as("/bin/true", big, 0755);
	assert_int_equal(truncate(big, 32 << 20), 0); /* an ELF file with zeros after it still runs */
	assert_int_equal(exec_errno(big, argv), 0);
	assert_int_equal(runf(hex, sizeof(hex), "sha256sum %s | cut -c1-64", big), 0);
	hex[strcspn(hex, "\n")] = 0;
	assert_int_equal(strlen(hex), 64);
	snprintf(rule, sizeof(rule), "deny sha256 %s by-pid %d children", hex, getpid());
	for (int quick = 0; quick < 2; quick++) {
		char *const gargv[] = { "procward", "gate", "-j", "-r", rule, "-T", quick ? "1" : "20000", "-d", "60",
					"-o", file, NULL };

		snprintf(file, sizeof(file), "%s/timeout%d.json", tmpdir, quick);
		cli_start(&p, gargv, 60000);
		assert_true(cli_wait_stderr(&p, "running", 20000));
		assert_int_equal(exec_errno(big, argv), quick ? 0 : EPERM);
		assert_int_equal(cli_finish(&p, SIGTERM, 20000), 0);
		/* with -T 1 anyone's exec may time out on a loaded machine (allowed): only ours is counted here */
		if (!quick && !strstr(p.err, " 0 timed out"))
			fail_msg("gate -T 20000: a decision timed out: %s", p.err);
		snprintf(cmd, sizeof(cmd),
			 quick ? "len([r for r in recs if r[\"image\"]==\"%s\" and r[\"verdict\"]==\"allow\" and "
				 "r[\"reason\"]==\"timeout\"])==1"
			       : "len([r for r in recs if r[\"image\"]==\"%s\" and r[\"verdict\"]==\"deny\" and "
				 "r[\"reason\"]==\"rule\" and r[\"rule\"]==0])==1",
			 big);
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
	for (long long deadline = test_ms_now() + 10000; test_ms_now() < deadline;) {
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
		cmocka_unit_test(exit_statuses_and_messages),
		cmocka_unit_test(protect_help_lists_every_right),
		cmocka_unit_test_setup_teardown(watch_json_is_valid_and_lossless, setup, teardown),
		cmocka_unit_test_setup_teardown(watch_text_escapes_control_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(watch_exit_lines_carry_rusage, setup, teardown),
		cmocka_unit_test_setup_teardown(snapshot_json_and_text, setup, teardown),
		cmocka_unit_test_setup_teardown(output_files_are_safe, setup, teardown),
		cmocka_unit_test_setup_teardown(gate_default_log_and_log_all, setup, teardown),
		cmocka_unit_test_setup_teardown(gate_rules_file_audit_and_options, setup, teardown),
		cmocka_unit_test_setup_teardown(gate_timeout_decides, setup, teardown),
		cmocka_unit_test_setup_teardown(killed_monitor_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_bytes_through_every_command, setup, teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "integration tests need root\n");
		return 1;
	}
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
