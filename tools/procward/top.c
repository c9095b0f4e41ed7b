// SPDX-License-Identifier: MIT
/*
 * top.c - `procward top`: a live view of CPU and memory per process from
 * the library's sampler, including the processes that exited between two
 * frames. Argument parsing and formatting only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "procward.h"

#define EXIT_USAGE 2
#define EXIT_NOPRIV 77
#define CMDLINE_MAX 512 /* bytes of a command line shown in text */

static const char top_usage[] =
	"Usage: procward top [-b] [-d SECONDS] [-n ITERATIONS] [--json] [-p PID]...\n"
	"\n"
	"CPU and memory of every process, sorted by CPU, with the processes that\n"
	"exited during each interval (which /proc-based tools never see).\n"
	"\n"
	"  -b, --batch            batch mode: frames one after another, no screen control\n"
	"  -d, --delay SECONDS    interval between frames (default 3, at least 0.05)\n"
	"  -n, --iterations N     stop after N frames\n"
	"  -p, --pid PID          only this process (repeatable)\n"
	"  -j, --json             one JSON object per frame (implies -b)\n"
	"  -a, --alert RULE       report alert rules: 'cpu > 90% for 5s', 'rss > 2GiB',\n"
	"                         'threads > 500' [pid N] [name COMM] (repeatable; stderr)\n"
	"  -h, --help             this text\n"
	"\n"
	"Interactive (stdout a terminal, no -b): q quits.\n"
	"JSON frame: {\"time\": UNIX_SECONDS, \"interval_s\": S, \"processes\": [{\"pid\", \"ppid\",\n"
	"  \"name\", \"user\", \"uid\", \"state\", \"threads\", \"cpu_percent\", \"cpu_ns\",\n"
	"  \"user_ns\", \"system_ns\", \"rss_bytes\", \"exited\", \"started\", \"args\", ...}]};\n"
	"  exited processes add \"max_rss_bytes\", \"exit_code\", \"exit_signal\".\n";

static volatile sig_atomic_t top_stop;
static struct termios saved_tty;
static bool tty_raw;

static void on_top_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static void restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
		fputs("\033[?25h\033[?1049l", stdout); /* cursor back, main screen */
		fflush(stdout);
		tty_raw = false;
	}
}

/* ---------------------------------------------------------------- escaping */

/*
 * Text for a terminal, by the library's escape (pw_text_escape: C0, DEL,
 * C1, bidi overrides and invalid bytes as \xNN), so a hostile name or
 * argument can neither move the cursor nor pass for another one. At most
 * cap - 1 bytes and a NUL into dst, cut before an escape or a character,
 * never inside one; returns the length.
 */
static size_t escape_text(char *dst, size_t cap, const char *str)
{
	char buf[4 * CMDLINE_MAX + 1];
	size_t n, w = 0;
	int len;

	if (!cap)
		return 0;
	len = pw_text_escape(str, buf, sizeof(buf));
	n = len < 0 ? 0 : (size_t)len < sizeof(buf) ? (size_t)len : sizeof(buf) - 1;
	/* whole units only: "\\", "\xNN", or one UTF-8 character (the escape left only valid ones) */
	while (w < n) {
		unsigned char c = (unsigned char)buf[w];
		size_t unit = c == '\\' ? (w + 1 < n && buf[w + 1] == 'x' ? 4 : 2) :
			      c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

		if (w + unit > n || w + unit > cap - 1)
			break;
		w += unit;
	}
	memcpy(dst, buf, w);
	dst[w] = 0;
	return w;
}

static size_t text_escaped(FILE *out, const char *str, size_t max)
{
	char buf[4 * CMDLINE_MAX + 1];
	size_t n = escape_text(buf, max + 1 < sizeof(buf) ? max + 1 : sizeof(buf), str);

	fwrite(buf, 1, n, out);
	return n;
}

/*
 * One member by a library formatter (snprintf-like): on the stack if it
 * fits, else in a buffer of its size; `,"key":empty` if there is no memory.
 */
struct member {
	const char *key;
	const char *value;          /* json_member */
	const char *const *argv;    /* json_args */
	size_t argc;
};

static void put_member(FILE *out, const struct member *m, const char *empty,
		       int (*fmt)(const struct member *m, char *buf, size_t len))
{
	char small[2048], *buf = small;
	int n = fmt(m, small, sizeof(small));

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(small)) {
		buf = malloc((size_t)n + 1);
		if (!buf || fmt(m, buf, (size_t)n + 1) != n) {
			free(buf);
			fprintf(out, ",\"%s\":%s", m->key, empty);
			return;
		}
	}
	fwrite(buf, 1, (size_t)n, out);
	if (buf != small)
		free(buf);
}

static int fmt_member(const struct member *m, char *buf, size_t len)
{
	return pw_json_member(m->key, m->value, buf, len);
}

static int fmt_args(const struct member *m, char *buf, size_t len)
{
	return pw_json_args_member(m->key, m->argv, m->argc, buf, len);
}

/* ,"key":"value" by the library's schema: valid UTF-8, and key_b64 with the raw bytes if needed */
static void json_member(FILE *out, const char *key, const char *value)
{
	put_member(out, &(struct member){ .key = key, .value = value }, "null", fmt_member);
}

static void json_args(FILE *out, const char *key, const char *const *argv, size_t argc)
{
	put_member(out, &(struct member){ .key = key, .argv = argv, .argc = argc }, "[]", fmt_args);
}

/* ---------------------------------------------------------------- users */

struct user_cache {
	uint32_t uid[64];
	char name[64][33];
	unsigned int n, next;
};

static const char *user_name(struct user_cache *c, uint32_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	unsigned int slot;

	for (unsigned int i = 0; i < c->n; i++)
		if (c->uid[i] == uid)
			return c->name[i];
	slot = c->n < 64 ? c->n++ : (c->next++ % 64);
	c->uid[slot] = uid;
	if (!getpwuid_r(uid, &pw, buf, sizeof(buf), &res) && res && strlen(res->pw_name) < 33)
		strcpy(c->name[slot], res->pw_name);
	else
		snprintf(c->name[slot], sizeof(c->name[slot]), "%u", uid);
	return c->name[slot];
}

/* ---------------------------------------------------------------- frames */

struct top_opts {
	bool batch, json;
	double delay;
	long iterations;
	pid_t pids[64];
	size_t n_pids;
	int rows, cols; /* interactive: terminal size */
};

static bool wanted_pid(const struct top_opts *o, pid_t pid)
{
	if (!o->n_pids)
		return true;
	for (size_t i = 0; i < o->n_pids; i++)
		if (o->pids[i] == pid)
			return true;
	return false;
}

static int cmp_cpu(const void *a, const void *b)
{
	const struct pw_proc_usage *x = *(const struct pw_proc_usage *const *)a;
	const struct pw_proc_usage *y = *(const struct pw_proc_usage *const *)b;

	if (x->cpu_delta_ns != y->cpu_delta_ns)
		return x->cpu_delta_ns > y->cpu_delta_ns ? -1 : 1;
	return (x->key.pid > y->key.pid) - (x->key.pid < y->key.pid);
}

static double pct(const struct pw_proc_usage *u, uint64_t interval_ns)
{
	return interval_ns ? (double)u->cpu_delta_ns * 100.0 / (double)interval_ns : 0.0;
}

/*
 * The text frame's numbers in integer arithmetic: a batch frame prints
 * thousands of rows, and glibc's floating-point printf was a tenth of
 * procward top's CPU per frame.
 */
static uint64_t pct_tenths(const struct pw_proc_usage *u, uint64_t interval_ns)
{
	return interval_ns ? (u->cpu_delta_ns * 1000 + interval_ns / 2) / interval_ns : 0;
}

/* t tenths as "I.D" */
static const char *tenths(char *buf, size_t len, uint64_t t)
{
	snprintf(buf, len, "%" PRIu64 ".%u", t / 10, (unsigned)(t % 10));
	return buf;
}

/* 1.5K, 12M, ...: one decimal below 10 units, as top shows them */
static void human_bytes(char *buf, size_t len, uint64_t b)
{
	static const char units[] = "KMGTP";
	uint64_t t = b * 10 / 1024; /* tenths of the unit */
	int u = 0;

	while (t >= 10240 && u < 4) {
		t /= 1024;
		u++;
	}
	if (t < 100)
		snprintf(buf, len, "%" PRIu64 ".%u%c", t / 10, (unsigned)(t % 10), units[u]);
	else
		snprintf(buf, len, "%" PRIu64 "%c", (t + 5) / 10, units[u]);
}

static void text_command(FILE *out, const struct pw_proc_usage *u, size_t max)
{
	size_t used = 0;

	if (!u->argc) {
		/* kernel threads and processes whose argv is unknown: [comm], as ps shows them */
		fputc('[', out);
		text_escaped(out, u->name, max > 2 ? max - 2 : 0);
		fputc(']', out);
		return;
	}
	for (size_t i = 0; i < u->argc && used < max; i++) {
		if (i) {
			fputc(' ', out);
			used++;
		}
		used += text_escaped(out, u->argv[i], max - used);
	}
}

static void print_text_frame(FILE *out, const struct pw_sample *smp, const struct top_opts *o,
			     struct user_cache *users, const struct pw_proc_usage **sorted, size_t n,
			     size_t n_live)
{
	uint64_t iv = pw_sample_interval_ns(smp);
	size_t shown = 0, limit = SIZE_MAX, cmd_max = CMDLINE_MAX;
	time_t now = time(NULL);
	struct tm tm;
	uint64_t total = 0;
	char rss[16], when[16], name[64], cpu[24];

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	for (size_t i = 0; i < n; i++)
		total += pct_tenths(sorted[i], iv);
	if (!o->batch) {
		fputs("\033[H\033[J", out);
		limit = o->rows > 8 ? (size_t)o->rows - 8 : 1;
		cmd_max = o->cols > 52 ? (size_t)o->cols - 52 : 8;
	}
	fprintf(out,
		"procward top - %s, interval %.2f s, %zu processes, %zu exited, %s%% CPU in all, "
		"walk %zu tasks in %.2f ms\n\n",
		when, iv / 1e9, n_live, n - n_live, tenths(cpu, sizeof(cpu), total), pw_sample_tasks(smp),
		pw_sample_cost_ns(smp) / 1e6);
	fprintf(out, "%7s %-10s %6s %8s %5s %1s %-15s %s\n", "PID", "USER", "%CPU", "RSS", "THR", "S",
		"NAME", "COMMAND");
	for (size_t i = 0; i < n && shown < limit; i++) {
		const struct pw_proc_usage *u = sorted[i];

		if (u->exited)
			continue;
		human_bytes(rss, sizeof(rss), u->rss_bytes);
		escape_text(name, sizeof(name), u->name); /* may be wider than 15 once escaped */
		fprintf(out, "%7d %-10.10s %6s %8s %5u %c %-15s ", u->key.pid,
			user_name(users, u->uid), tenths(cpu, sizeof(cpu), pct_tenths(u, iv)), rss,
			u->threads, u->state, name);
		text_command(out, u, cmd_max);
		fputc('\n', out);
		shown++;
	}
	if (n > n_live) {
		fprintf(out, "\nExited during the interval:\n%7s %-10s %6s %10s %8s %-8s %-15s %s\n",
			"PID", "USER", "%CPU", "CPU(ms)", "PEAKRSS", "EXIT", "NAME", "COMMAND");
		for (size_t i = 0; i < n; i++) {
			const struct pw_proc_usage *u = sorted[i];
			char exitbuf[16];

			if (!u->exited)
				continue;
			if (!o->batch && shown++ >= limit + 4)
				break;
			if (WIFSIGNALED(u->exit_status))
				snprintf(exitbuf, sizeof(exitbuf), "sig %d", WTERMSIG(u->exit_status));
			else
				snprintf(exitbuf, sizeof(exitbuf), "%d", WEXITSTATUS(u->exit_status));
			human_bytes(rss, sizeof(rss), u->max_rss_bytes);
			escape_text(name, sizeof(name), u->name);
			fprintf(out, "%7d %-10.10s %6s %10.1f %8s %-8s %-15s ", u->key.pid,
				user_name(users, u->uid), tenths(cpu, sizeof(cpu), pct_tenths(u, iv)),
				u->cpu_ns / 1e6, rss, exitbuf, name);
			text_command(out, u, cmd_max);
			fputc('\n', out);
		}
	}
	if (o->batch)
		fputc('\n', out);
}

static void print_json_frame(FILE *out, const struct pw_sample *smp, struct user_cache *users,
			     const struct pw_proc_usage **sorted, size_t n)
{
	uint64_t iv = pw_sample_interval_ns(smp);
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	fprintf(out, "{\"time\":%lld.%03ld,\"interval_s\":%.6f,\"tasks\":%zu,\"walk_ns\":%" PRIu64
		",\"processes\":[",
		(long long)now.tv_sec, now.tv_nsec / 1000000, iv / 1e9, pw_sample_tasks(smp),
		pw_sample_cost_ns(smp));
	for (size_t i = 0; i < n; i++) {
		const struct pw_proc_usage *u = sorted[i];

		fprintf(out, "%s{\"pid\":%d,\"start_ns\":%" PRIu64 ",\"ppid\":%d", i ? "," : "",
			u->key.pid, u->key.start_ns, u->ppid);
		json_member(out, "name", u->name);
		json_member(out, "user", user_name(users, u->uid));
		fprintf(out,
			",\"uid\":%u,\"state\":\"%c\",\"threads\":%u,\"cpu_percent\":%.2f,"
			"\"cpu_ns\":%" PRIu64 ",\"cpu_delta_ns\":%" PRIu64 ",\"user_ns\":%" PRIu64
			",\"system_ns\":%" PRIu64 ",\"rss_bytes\":%" PRIu64
			",\"exited\":%s,\"started\":%s,\"kernel_thread\":%s",
			u->uid, u->state >= 0x21 && u->state < 0x7f ? u->state : '?', u->threads,
			pct(u, iv), u->cpu_ns, u->cpu_delta_ns, u->user_ns, u->system_ns, u->rss_bytes,
			u->exited ? "true" : "false", u->started ? "true" : "false",
			u->kernel_thread ? "true" : "false");
		if (u->exited) {
			fprintf(out, ",\"max_rss_bytes\":%" PRIu64, u->max_rss_bytes);
			if (WIFSIGNALED(u->exit_status))
				fprintf(out, ",\"exit_code\":null,\"exit_signal\":%d", WTERMSIG(u->exit_status));
			else
				fprintf(out, ",\"exit_code\":%d,\"exit_signal\":null",
					WEXITSTATUS(u->exit_status));
		}
		json_member(out, "image", u->image);
		json_args(out, "args", u->argv, u->argc);
		fputc('}', out);
	}
	fputs("]}\n", out);
}

static int on_top_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	(void)m;
	(void)userdata;
	if (pw_event_type(ev) == PW_EVENT_RESOURCE_ALERT) {
		fprintf(stderr, "procward: alert %d: pid %d (", pw_event_alert_rule(ev), pw_event_pid(ev));
		text_escaped(stderr, pw_event_name(ev), 60);
		fprintf(stderr, ") %s %" PRIu64 " > %" PRIu64 "\n",
			pw_event_alert_kind(ev) == PW_ALERT_CPU ? "cpu%" :
			pw_event_alert_kind(ev) == PW_ALERT_RSS ? "rss" : "threads",
			pw_event_alert_value(ev), pw_event_alert_threshold(ev));
	}
	return 0;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Wait for the next frame, draining the exit events every DRAIN_MS rather
 * than at each one: top needs them only at the frame, and a wake-up per
 * exit would cost more than the frame itself during a spawn storm. The
 * ring holds far more than DRAIN_MS of events. Interactive: 'q' returns 1.
 */
#define DRAIN_MS 250

static int wait_frame(struct pw_sampler *s, long long deadline, bool interactive)
{
	while (!top_stop) {
		long long left = deadline - mono_ms();
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int n, err;

		if (left <= 0)
			return 0;
		n = poll(&pfd, interactive ? 1 : 0, (int)(left < DRAIN_MS ? left : DRAIN_MS));
		if (n < 0 && errno != EINTR)
			return -errno;
		err = pw_sampler_dispatch(s, 0);
		if (err < 0 && err != -EINTR)
			return err;
		if (interactive && n > 0 && (pfd.revents & POLLIN)) {
			char c;

			if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q'))
				return 1;
		}
	}
	return 1;
}

static void term_size(struct top_opts *o)
{
	struct winsize ws;

	o->rows = 24;
	o->cols = 80;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		o->rows = ws.ws_row;
		o->cols = ws.ws_col;
	}
}

static void enter_tty(void)
{
	struct termios raw;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tty))
		return;
	raw = saved_tty;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		return;
	tty_raw = true;
	atexit(restore_tty);
	fputs("\033[?1049h\033[?25l", stdout); /* alternate screen, no cursor */
}

static double parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.05) || v > 86400) {
		fprintf(stderr, "procward top: bad delay '%s' (seconds, 0.05 to 86400)\n", s);
		exit(EXIT_USAGE);
	}
	return v;
}

static long parse_count(const char *s, const char *what, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "procward top: bad %s '%s'\n", what, s);
		exit(EXIT_USAGE);
	}
	return v;
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "batch", no_argument, NULL, 'b' },   { "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' }, { "json", no_argument, NULL, 'j' },
		{ "alert", required_argument, NULL, 'a' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct top_opts o = { .delay = 3.0, .iterations = -1 };
	PW_OPTS(pw_sampler_opts, sopts, .on_event = on_top_event);
	const struct pw_proc_usage **sorted = NULL;
	struct user_cache *users = calloc(1, sizeof(*users));
	struct pw_sampler *s = NULL;
	const char *alerts[PW_MAX_ALERT_RULES];
	size_t n_alerts = 0, cap = 0;
	int opt, err, ret = 0;
	long long next;

	if (!users)
		return 1;
	while ((opt = getopt_long(argc, argv, "bd:n:p:ja:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b': o.batch = true; break;
		case 'd': o.delay = parse_seconds(optarg); break;
		case 'n': o.iterations = parse_count(optarg, "iteration count", 1, 1000000000); break;
		case 'p':
			if (o.n_pids == sizeof(o.pids) / sizeof(*o.pids)) {
				fprintf(stderr, "procward top: at most 64 -p\n");
				return EXIT_USAGE;
			}
			o.pids[o.n_pids++] = (pid_t)parse_count(optarg, "pid", 1, 0x7fffffff);
			break;
		case 'j': o.json = o.batch = true; break;
		case 'a':
			if (n_alerts == PW_MAX_ALERT_RULES) {
				fprintf(stderr, "procward top: at most %d alert rules\n", PW_MAX_ALERT_RULES);
				return EXIT_USAGE;
			}
			alerts[n_alerts++] = optarg;
			break;
		case 'h': fputs(top_usage, stdout); free(users); return 0;
		default: fputs(top_usage, stderr); free(users); return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "procward top: unexpected argument '%s'\n", argv[optind]);
		free(users);
		return EXIT_USAGE;
	}
	if (!isatty(STDOUT_FILENO))
		o.batch = true;
	/* A batch frame is one line per process: write it in few large writes (flushed per frame). */
	if (o.batch)
		setvbuf(stdout, NULL, _IOFBF, 256 * 1024);

	err = pw_sampler_new(&sopts, &s);
	for (size_t i = 0; !err && i < n_alerts; i++) {
		struct pw_alert_rule rule;
		char *storage = NULL;

		err = pw_alert_rule_parse(alerts[i], &rule, &storage);
		if (!err)
			err = pw_sampler_add_alert(s, &rule);
		free(storage); /* the sampler keeps its own copy of the name */
		if (err < 0) {
			fprintf(stderr, "procward top: alert rule '%s': %s\n", alerts[i],
				err == -PW_ERR_RULE_SYNTAX
					? "expected 'cpu|rss|threads > VALUE [for DURATION] [pid N] [name COMM]'"
					: pw_strerror(err));
			pw_sampler_free(s);
			free(users);
			return EXIT_USAGE;
		}
		err = 0;
	}
	if (!err)
		err = pw_sampler_start(s);
	if (err) {
		fprintf(stderr, "procward top: cannot start: %s\n", pw_strerror(err));
		pw_sampler_free(s);
		free(users);
		return err == -EPERM || err == -PW_ERR_NO_BPF || err == -PW_ERR_NO_BTF ||
				       err == -PW_ERR_KERNEL_FEATURE
			       ? EXIT_NOPRIV
			       : 1;
	}
	signal(SIGINT, on_top_signal);
	signal(SIGTERM, on_top_signal);
	signal(SIGPIPE, on_top_signal);
	if (!o.batch)
		enter_tty();

	next = mono_ms();
	for (long frame = 0; o.iterations < 0 || frame < o.iterations; frame++) {
		const struct pw_sample *smp;
		size_t n = 0, n_live = 0, count;

		next += (long long)(o.delay * 1000);
		err = wait_frame(s, next, !o.batch && tty_raw);
		if (err) {
			if (err < 0) {
				fprintf(stderr, "procward top: %s\n", pw_strerror(err));
				ret = 1;
			}
			break;
		}
		err = pw_sampler_sample(s, &smp);
		if (err) {
			fprintf(stderr, "procward top: sample failed: %s\n", pw_strerror(err));
			ret = 1;
			break;
		}
		count = pw_sample_count(smp);
		if (count > cap) {
			const struct pw_proc_usage **grown = realloc(sorted, count * sizeof(*sorted));

			if (!grown) {
				ret = 1;
				break;
			}
			sorted = grown;
			cap = count;
		}
		for (size_t i = 0; i < count; i++) {
			const struct pw_proc_usage *u = pw_sample_process(smp, i);

			if (!wanted_pid(&o, u->key.pid))
				continue;
			sorted[n++] = u;
			n_live += !u->exited;
		}
		qsort(sorted, n, sizeof(*sorted), cmp_cpu);
		if (!o.batch)
			term_size(&o);
		if (o.json)
			print_json_frame(stdout, smp, users, sorted, n);
		else
			print_text_frame(stdout, smp, &o, users, sorted, n, n_live);
		if (fflush(stdout) || top_stop)
			break;
	}
	restore_tty();
	pw_sampler_free(s);
	free(sorted);
	free(users);
	return ret;
}
