// SPDX-License-Identifier: MIT
/* harness.c - event collector and monitor helpers for the integration tests. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int collector_on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	struct collector *c = userdata;
	struct rec *r;

	(void)m;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		assert_non_null(c->v);
	}
	r = &c->v[c->n++];
	memset(r, 0, sizeof(*r));
	r->type = pw_event_type(ev);
	if (r->type == PW_EVENT_LOST) {
		r->lost = pw_event_lost_count(ev);
		c->lost += r->lost;
		return 0;
	}
	r->pid = pw_event_pid(ev);
	r->tid = pw_event_tid(ev);
	r->ppid = pw_event_parent_pid(ev);
	r->creator_pid = pw_event_creator_pid(ev);
	r->creator_tid = pw_event_creator_tid(ev);
	r->key = pw_event_key(ev);
	r->parent_key = pw_event_parent_key(ev);
	r->clone_flags = pw_event_clone_flags(ev);
	r->raw_clone_flags = pw_event_clone_flags_raw(ev);
	r->flags = pw_event_flags(ev);
	r->exit_status = pw_event_exit_status(ev);
	snprintf(r->name, sizeof(r->name), "%s", pw_event_name(ev));
	r->image = dup_or_null(pw_event_image(ev));
	r->filename = dup_or_null(pw_event_exec_filename(ev));
	r->cwd = dup_or_null(pw_event_cwd(ev));
	r->previous_image = dup_or_null(pw_event_previous_image(ev));
	r->user = dup_or_null(pw_event_user_name(ev));
	r->token = *pw_event_token(ev);
	r->argc = pw_event_argc(ev);
	r->argv = calloc(r->argc + 1, sizeof(char *));
	for (size_t i = 0; i < r->argc; i++)
		r->argv[i] = strdup(pw_event_arg(ev, i));
	assert_null(pw_event_arg(ev, r->argc));
	return 0;
}

void collector_free(struct collector *c)
{
	for (size_t i = 0; i < c->n; i++) {
		struct rec *r = &c->v[i];

		free(r->image);
		free(r->filename);
		free(r->cwd);
		free(r->previous_image);
		free(r->user);
		for (size_t j = 0; j < r->argc; j++)
			free(r->argv[j]);
		free(r->argv);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

void require_bpf(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: integration tests need root\n");
		skip();
	}
}

struct pw_monitor *start_monitor(struct collector *c, struct pw_monitor_opts *opts)
{
	PW_OPTS(pw_monitor_opts, defaults, .on_event = collector_on_event, .userdata = c);
	struct pw_monitor *m = NULL;
	int err;

	if (!opts)
		opts = &defaults;
	if (!opts->on_event) {
		opts->on_event = collector_on_event;
		opts->userdata = c;
	}
	err = pw_monitor_new(opts, &m);
	assert_int_equal(err, 0);
	return m;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void pump(struct pw_monitor *m, int ms)
{
	long long end = now_ms() + ms;

	while (now_ms() < end) {
		int n = pw_monitor_dispatch(m, (int)(end - now_ms()) > 0 ? (int)(end - now_ms()) : 0);

		assert_true(n >= 0 || n == -EINTR);
	}
}

const struct rec *wait_for(struct pw_monitor *m, struct collector *c, rec_pred pred,
			   const void *arg, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	size_t checked = 0;

	for (;;) {
		for (; checked < c->n; checked++)
			if (pred(&c->v[checked], arg))
				return &c->v[checked];
		if (now_ms() >= end)
			return NULL;
		int n = pw_monitor_dispatch(m, 50);

		assert_true(n >= 0 || n == -EINTR);
	}
}

const struct rec *expect_event(struct pw_monitor *m, struct collector *c, enum pw_event_type type, pid_t pid)
{
	struct type_pid want = { type, pid };
	const struct rec *r = wait_for(m, c, is_type_pid, &want, 5000);

	if (!r)
		fail_msg("no %s event of pid %d within 5 s", pw_event_type_name(type), (int)pid);
	return r;
}

size_t count_events(const struct collector *c, enum pw_event_type type, pid_t pid)
{
	struct type_pid want = { type, pid };

	return count_recs(c, is_type_pid, &want);
}

size_t count_recs(const struct collector *c, rec_pred pred, const void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < c->n; i++)
		n += pred(&c->v[i], arg);
	return n;
}

bool is_type_pid(const struct rec *r, const void *arg)
{
	const struct type_pid *tp = arg;

	return r->type == tp->type && r->pid == tp->pid;
}

bool is_type_tid(const struct rec *r, const void *arg)
{
	const struct type_pid *tp = arg;

	return r->type == tp->type && r->tid == tp->pid;
}

pid_t spawn_exec(const char *path, char *const argv[], const char *cwd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (cwd && chdir(cwd))
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

int wait_status(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

int wait_exit_code(pid_t pid)
{
	int status = wait_status(pid);

	if (!WIFEXITED(status))
		fail_msg("pid %d did not exit (status 0x%x, signal %d)", (int)pid, status,
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return WEXITSTATUS(status);
}

void remove_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	if (!dir || !dir[0] || strncmp(dir, "/tmp/", 5))
		return; /* only what a test made under /tmp */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

int read_within(int fd, void *buf, size_t len, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	for (;;) {
		n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -ETIMEDOUT;
		n = (int)read(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 ? -errno : n;
	}
}

pid_t spawn_exec_ready(const char *path, char *const argv[], const char *cwd)
{
	int pfd[2], err = 0;
	pid_t pid;

	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		if (cwd && chdir(cwd))
			err = errno;
		else {
			execv(path, argv);
			err = errno;
		}
		(void)!write(pfd[1], &err, sizeof(err));
		_exit(127);
	}
	close(pfd[1]);
	/* EOF: the close-on-exec write end went away with the exec */
	assert_int_equal(read_within(pfd[0], &err, sizeof(err), 10000), 0);
	close(pfd[0]);
	return pid;
}

long long test_ms_now(void)
{
	return now_ms();
}

void test_dir_make(char *dir, size_t len, const char *prefix)
{
	snprintf(dir, len, "/tmp/%s-XXXXXX", prefix);
	assert_non_null(mkdtemp(dir));
	/* children that dropped to another uid exec from here */
	assert_int_equal(chmod(dir, 0755), 0);
}

void test_dir_remove(char *dir)
{
	if (dir[0])
		remove_tree(dir);
	dir[0] = '\0';
}

void copy_file_as(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
	assert_true(in >= 0);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(fchmod(out, mode), 0);
	assert_int_equal(close(out), 0);
}

uint64_t proc_status_hex(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t flen = strlen(field);
	uint64_t v = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			v = strtoull(line + flen + 1, NULL, 16);
			found = true;
		}
	fclose(f);
	assert_true(found);
	return v;
}

uint64_t proc_schedstat_ns(pid_t pid)
{
	char path[64];
	unsigned long long ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%llu", &ns), 1);
	fclose(f);
	return ns;
}

char *proc_stat_fields(pid_t pid, char *buf, size_t len)
{
	char path[64], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, (int)len, f));
	fclose(f);
	p = strrchr(buf, ')');
	assert_non_null(p);
	return p + 2;
}

char *read_line_within(int fd, char *buf, size_t cap, size_t *len, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(buf, '\n', *len);

		if (nl) {
			size_t n = (size_t)(nl - buf);
			char *line = strndup(buf, n);

			assert_non_null(line);
			memmove(buf, nl + 1, *len - n - 1);
			*len -= n + 1;
			return line;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = end - now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return NULL;
		assert_true(*len < cap);
		ssize_t r = read(fd, buf + *len, cap - *len);

		if (r <= 0)
			return NULL;
		*len += (size_t)r;
	}
}

#define SLURP_MAX (1 << 20)

char *slurp_file(const char *path)
{
	char *buf = calloc(1, SLURP_MAX);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 0;

	assert_non_null(buf);
	assert_true(fd >= 0);
	while (len < SLURP_MAX - 1 && (n = read(fd, buf + len, SLURP_MAX - 1 - len)) > 0)
		len += (size_t)n;
	assert_true(n >= 0);
	close(fd);
	return buf;
}

size_t count_lines_with(const char *text, const char *a, const char *b)
{
	size_t n = 0;

	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *copy = strndup(line, len);

		assert_non_null(copy);
		n += strstr(copy, a) && (!b || strstr(copy, b));
		free(copy);
		line += len + (end != NULL);
	}
	return n;
}

void fill_args(char *argv[], int first, int last, const char *tag)
{
	char arg[128];

	for (int i = first; i <= last; i++) {
		snprintf(arg, sizeof(arg), "%s%02d-%s", tag, i,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		argv[i] = strdup(arg);
		assert_non_null(argv[i]);
	}
}

int test_dir_setup(char *dir, size_t len, const char *prefix, unsigned int watchdog_s)
{
	if (geteuid() != 0)
		return 0; /* each test skips itself (require_bpf) */
	test_dir_make(dir, len, prefix);
	if (watchdog_s)
		alarm(watchdog_s);
	return 0;
}

void assert_token_ids(const struct pw_token *t, uint32_t uid, uint32_t euid, uint32_t gid,
		      uint32_t egid)
{
	assert_int_equal(t->uid, uid);
	assert_int_equal(t->euid, euid);
	assert_int_equal(t->suid, euid);
	assert_int_equal(t->fsuid, euid);
	assert_int_equal(t->gid, gid);
	assert_int_equal(t->egid, egid);
	assert_int_equal(t->sgid, egid);
	assert_int_equal(t->fsgid, egid);
}

/* ------------------------------------------------- a CLI process under test */


/* SIGKILL by pid after a deadline, with no exec (a gate that hangs would hang exec). */
static void *watchdog_main(void *arg)
{
	struct cli_proc *p = arg;
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

	if (poll(&pfd, 1, p->watchdog_ms) == 0 && !p->reaped)
		syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
	return NULL;
}

void cli_start(struct cli_proc *p, char *const argv[], int watchdog_ms)
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
		execv(PW_TEST_CLI, argv);
		_exit(127);
	}
	close(errp[1]);
	p->errfd = errp[0];
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	assert_true(p->pidfd >= 0);
	p->watchdog_ms = watchdog_ms;
	assert_int_equal(pthread_create(&p->watchdog, NULL, watchdog_main, p), 0);
}

/* One read of its stderr, appended to p->err (kept a string): read()'s result. */
static ssize_t cli_read_stderr(struct cli_proc *p)
{
	ssize_t n = read(p->errfd, p->err + p->errlen, sizeof(p->err) - 1 - p->errlen);

	if (n > 0) {
		p->errlen += (size_t)n;
		p->err[p->errlen] = 0;
	}
	return n;
}

/* Read its stderr until `needle` shows up (true) or the deadline / its end (false). */
bool cli_wait_stderr(struct cli_proc *p, const char *needle, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	while (!strstr(p->err, needle)) {
		struct pollfd pfd = { .fd = p->errfd, .events = POLLIN };
		long long now = now_ms();

		if (now >= deadline || p->errlen + 1 >= sizeof(p->err))
			return false;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		if (cli_read_stderr(p) <= 0)
			return false;
	}
	return true;
}

/* Send sig (0: none), wait for the end within timeout_ms; the exit status (128+N for a signal). */
int cli_finish(struct cli_proc *p, int sig, int timeout_ms)
{
	struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
	int status;

	if (sig)
		kill(p->pid, sig);
	if (poll(&pfd, 1, timeout_ms) != 1)
		syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
	while (p->errlen + 1 < sizeof(p->err) && cli_read_stderr(p) > 0)
		;
	status = wait_status(p->pid);
	p->reaped = 1;
	pthread_join(p->watchdog, NULL); /* it returned when the process ended */
	close(p->pidfd);
	close(p->errfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
