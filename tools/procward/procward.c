// SPDX-License-Identifier: MIT
/*
 * procward.c - the command-line tool: argument parsing and output only;
 * everything real happens in libprocward.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "output.h"
#include "procward.h"
#include "service.h"

#define EXIT_USAGE 2
#define EXIT_NOPRIV 77 /* like automake's "skipped": not an error of the input */

static const char usage_text[] =
	"Usage: procward COMMAND [OPTIONS]\n"
	"\n"
	"Monitor the lifecycle of Linux processes and threads.\n"
	"\n"
	"Commands:\n"
	"  watch       stream process and thread events (needs root or CAP_BPF+CAP_PERFMON)\n"
	"  snapshot    list running processes (no privileges needed)\n"
	"  features    show what this kernel supports\n"
	"  gate        allow or deny execs by rules before the program runs (procward gate --help)\n"
	"  protect     deny access operations on protected processes (procward protect --help)\n"
	"\n"
	"watch options:\n"
	"  -e, --events LIST        fork,exec,exit,thread,thread-create,thread-exit,all (default all),\n"
	"                           access (process/thread access operations: ptrace, signals,\n"
	"                           process_vm_*, /proc/PID/mem, pidfds; aimed at the -p/-n\n"
	"                           processes, or at every process without them)\n"
	"  -n, --include-name NAME  only processes with this name (repeatable; '*' '?' glob)\n"
	"  -N, --exclude-name NAME  never processes with this name (repeatable; glob)\n"
	"  -p, --include-pid PID    only this process (repeatable)\n"
	"  -P, --exclude-pid PID    never this process (repeatable)\n"
	"  -u, --uid UID            only processes of this real uid (repeatable)\n"
	"  -U, --exclude-uid UID    never processes of this real uid (repeatable)\n"
	"  -r, --rule RULE          any rule, e.g. 'exclude name-prefix kworker'\n"
	"  -c, --children           children inherit the verdict of their ancestors\n"
	"  -j, --json               JSON Lines (default when stdout is not a terminal)\n"
	"  -t, --text               readable columns (default on a terminal)\n"
	"  -o, --output FILE        write events to FILE instead of stdout\n"
	"  -d, --duration SECONDS   stop after this long\n"
	"  -m, --max-events N       stop after N events\n"
	"      --ringbuf-size BYTES ring buffer size (power of two, default 16 MiB)\n"
	"      --args-max BYTES     argv bytes captured per exec (default 4096, max 16384)\n"
	"      --batch-delay US     in busy periods, read the ring every US microseconds\n"
	"                           (default 1000; 0: at every event, lowest latency, highest cost)\n"
	"\n"
	"snapshot options:\n"
	"  -j, --json, -t, --text, -o, --output FILE, --no-cmdline\n"
	"\n"
	"  -h, --help               this text\n"
	"  -V, --version            version\n"
	"\n"
	"Exit status: 0 ok, 1 runtime error, 2 usage error, 77 missing privileges or kernel support.\n";

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "procward: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'procward --help'.\n");
	exit(EXIT_USAGE);
}

/* ------------------------------------------------------------------ watch */

struct watch_state {
	FILE *out;
	bool json;
	uint64_t t0_ns;
	uint64_t max_events;
	uint64_t seen;
	uint64_t lost;
};

static struct pw_monitor *active_monitor;

static void on_signal(int sig)
{
	(void)sig;
	pw_monitor_stop(active_monitor);
}

static int on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	struct watch_state *st = userdata;

	if (pw_event_type(ev) == PW_EVENT_LOST) {
		st->lost += pw_event_lost_count(ev);
		fprintf(stderr, "procward: lost %" PRIu64 " events (ring buffer full)\n",
			pw_event_lost_count(ev));
	} else {
		st->seen++;
	}
	if (st->json)
		print_event_json(st->out, ev);
	else
		print_event_text(st->out, ev, st->t0_ns);
	if (st->max_events && st->seen >= st->max_events)
		pw_monitor_stop(m);
	return 0;
}

static unsigned int parse_events(const char *list)
{
	static const struct {
		const char *name;
		unsigned int mask;
	} words[] = {
		{ "fork", PW_EVMASK(PW_EVENT_PROCESS_CREATE) },
		{ "process-create", PW_EVMASK(PW_EVENT_PROCESS_CREATE) },
		{ "exec", PW_EVMASK(PW_EVENT_EXEC) },
		{ "exit", PW_EVMASK(PW_EVENT_PROCESS_EXIT) },
		{ "process-exit", PW_EVMASK(PW_EVENT_PROCESS_EXIT) },
		{ "thread", PW_EVMASK(PW_EVENT_THREAD_CREATE) | PW_EVMASK(PW_EVENT_THREAD_EXIT) },
		{ "thread-create", PW_EVMASK(PW_EVENT_THREAD_CREATE) },
		{ "thread-exit", PW_EVMASK(PW_EVENT_THREAD_EXIT) },
		{ "all", PW_EVMASK_ALL },
		{ "access", PW_EVMASK_ACCESS },
		{ "process-access", PW_EVMASK(PW_EVENT_PROCESS_ACCESS) },
		{ "thread-access", PW_EVMASK(PW_EVENT_THREAD_ACCESS) },
	};
	char *copy = strdup(list), *save = NULL, *w;
	unsigned int mask = 0;

	if (!copy)
		exit(1);
	for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(words) / sizeof(*words); i++)
			if (!strcmp(w, words[i].name))
				break;
		if (i == sizeof(words) / sizeof(*words))
			usage_error("unknown event '%s' (fork, exec, exit, thread, thread-create, thread-exit, all, access)", w);
		mask |= words[i].mask;
	}
	free(copy);
	if (!mask)
		usage_error("empty event list '%s'", list);
	return mask;
}

/* Rules are kept as text and parsed by the library so CLI and API agree. */
struct rule_list {
	char **text;
	size_t n;
};

static void add_rule_text(struct rule_list *rl, const char *action, const char *match,
			  const char *value)
{
	char *text;

	if (match && !strcmp(match, "name") && strpbrk(value, "*?"))
		match = "name-glob";
	if (asprintf(&text, "%s%s%s%s%s", action, match ? " " : "", match ? match : "",
		     value ? " " : "", value ? value : "") < 0)
		exit(1);
	rl->text = realloc(rl->text, (rl->n + 1) * sizeof(char *));
	if (!rl->text)
		exit(1);
	rl->text[rl->n++] = text;
}

static double parse_number(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || end == s)
		usage_error(what, s);
	return v;
}

static void log_to_stderr(enum pw_log_level level, const char *msg, void *userdata)
{
	int verbose = *(int *)userdata;

	if (level <= PW_LOG_WARN || (verbose && level <= PW_LOG_INFO) || verbose > 1)
		fprintf(stderr, "procward: %s\n", msg);
}

static int start_error(int err)
{
	fprintf(stderr, "procward: cannot start monitoring: %s\n", pw_strerror(err));
	if (err == -PW_ERR_NO_BPF || err == -EPERM) {
		if (geteuid() != 0)
			fprintf(stderr, "procward: run it as root (or with CAP_BPF and CAP_PERFMON)\n");
		return EXIT_NOPRIV;
	}
	if (err == -PW_ERR_NO_BTF || err == -PW_ERR_KERNEL_FEATURE)
		return EXIT_NOPRIV;
	return 1;
}

/* "pid 42" / "name sshd" -> access targets; none: every process. */
static int watch_access_targets(struct pw_monitor *m, const struct rule_list *targets)
{
	int err = 0;

	if (!targets->n)
		return pw_monitor_watch_access_all(m, PW_ACCESS_ALL);
	for (size_t i = 0; i < targets->n && !err; i++) {
		const char *text = targets->text[i];
		PW_OPTS(pw_access_target, t);

		if (!strncmp(text, "pid ", 4))
			t.pid = (pid_t)atoi(text + 4);
		else
			t.name = text + 5;
		err = pw_monitor_watch_access(m, &t);
		if (err)
			fprintf(stderr, "procward: cannot watch access to %s: %s\n", text, pw_strerror(err));
	}
	return err;
}

static int cmd_watch(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "include-name", required_argument, NULL, 'n' },
		{ "exclude-name", required_argument, NULL, 'N' },
		{ "include-pid", required_argument, NULL, 'p' },
		{ "exclude-pid", required_argument, NULL, 'P' },
		{ "uid", required_argument, NULL, 'u' },
		{ "exclude-uid", required_argument, NULL, 'U' },
		{ "rule", required_argument, NULL, 'r' },
		{ "children", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "text", no_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-events", required_argument, NULL, 'm' },
		{ "ringbuf-size", required_argument, NULL, 1 },
		{ "args-max", required_argument, NULL, 2 },
		{ "batch-delay", required_argument, NULL, 3 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct watch_state st = { .out = stdout };
	struct rule_list rules = { 0 };
	struct rule_list access_targets = { 0 }; /* -p/-n values: the targets of access events */
	const char *output = NULL;
	double duration = 0;
	int json = -1, opt, err, verbose = 0, ret = 0;
	struct pw_monitor *m = NULL;
	struct pw_monitor_stats stats = { .sz = sizeof(stats) };
	struct timespec now;
	PW_OPTS(pw_monitor_opts, opts, .on_event = on_event, .userdata = &st,
		.log = log_to_stderr, .log_userdata = &verbose);

	while ((opt = getopt_long(argc, argv, "e:n:N:p:P:u:U:r:cjto:d:m:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e': opts.events = parse_events(optarg); break;
		case 'n': add_rule_text(&rules, "include", "name", optarg);
			add_rule_text(&access_targets, "name", NULL, optarg); break;
		case 'N': add_rule_text(&rules, "exclude", "name", optarg); break;
		case 'p': add_rule_text(&rules, "include", "pid", optarg);
			add_rule_text(&access_targets, "pid", NULL, optarg); break;
		case 'P': add_rule_text(&rules, "exclude", "pid", optarg); break;
		case 'u': add_rule_text(&rules, "include", "uid", optarg); break;
		case 'U': add_rule_text(&rules, "exclude", "uid", optarg); break;
		case 'r': add_rule_text(&rules, optarg, NULL, NULL); break;
		case 'c': opts.inherit_children = true; break;
		case 'j': json = 1; break;
		case 't': json = 0; break;
		case 'o': output = optarg; break;
		case 'd': duration = parse_number(optarg, "bad --duration '%s'"); break;
		case 'm': st.max_events = (uint64_t)parse_number(optarg, "bad --max-events '%s'"); break;
		case 1: opts.ringbuf_bytes = (size_t)parse_number(optarg, "bad --ringbuf-size '%s'"); break;
		case 2: opts.max_args_bytes = (unsigned int)parse_number(optarg, "bad --args-max '%s'"); break;
		case 3: opts.batch_delay_us = (int)parse_number(optarg, "bad --batch-delay '%s'"); if (!opts.batch_delay_us) opts.batch_delay_us = -1; break;
		case 'v': verbose++; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: usage_error("%s", "bad watch option"); break;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);

	opts.redact = service_redactor();
	err = pw_monitor_new(&opts, &m);
	if (err) {
		fprintf(stderr, "procward: bad options: %s\n", pw_strerror(err));
		ret = EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < rules.n; i++) {
		struct pw_rule rule;
		char *storage;

		err = pw_rule_parse(rules.text[i], &rule, &storage);
		if (!err) {
			err = pw_monitor_add_rule(m, &rule);
			free(storage);
		}
		if (err) {
			fprintf(stderr, "procward: rule '%s': %s\n", rules.text[i], pw_strerror(err));
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (output) {
		st.out = fopen(output, "w");
		if (!st.out) {
			fprintf(stderr, "procward: cannot open %s: %s\n", output, strerror(errno));
			st.out = stdout;
			ret = 1;
			goto out;
		}
	}
	if (service_stream(NULL))
		st.out = service_stream(NULL); /* --output, --syslog, --journal: the writer thread's sinks */
	st.json = json >= 0 ? json : !isatty(fileno(st.out));
	clock_gettime(CLOCK_MONOTONIC, &now);
	st.t0_ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;

	if (opts.events & PW_EVMASK_ACCESS) {
		err = watch_access_targets(m, &access_targets);
		if (err) {
			ret = EXIT_USAGE;
			goto out;
		}
	}
	err = pw_monitor_start(m);
	if (err) {
		ret = start_error(err);
		goto out;
	}
	active_monitor = m;
	service_ready(1);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGALRM, on_signal);
	if (duration > 0) {
		struct itimerval it = { .it_value = { .tv_sec = (time_t)duration,
						       .tv_usec = (suseconds_t)((duration - (time_t)duration) * 1e6) } };

		setitimer(ITIMER_REAL, &it, NULL);
	}
	if (verbose)
		fprintf(stderr, "procward: watching (Ctrl-C to stop)\n");
	if (!st.json && !output)
		print_event_text_header(st.out);
	fflush(st.out);
	err = pw_monitor_run(m);
	if (err) {
		fprintf(stderr, "procward: %s\n", pw_strerror(err));
		ret = 1;
	}
	pw_monitor_stats(m, &stats);
	fprintf(stderr,
		"procward: %" PRIu64 " events, %" PRIu64 " lost, %" PRIu64
		" filtered in the kernel, %" PRIu64 " processes tracked\n",
		stats.events_delivered, stats.events_lost, stats.events_filtered,
		stats.processes_tracked);
out:
	active_monitor = NULL;
	pw_monitor_free(m);
	if (fflush(st.out) || (st.out != stdout && fclose(st.out))) {
		fprintf(stderr, "procward: writing events failed: %s\n", strerror(errno));
		ret = 1;
	}
	for (size_t i = 0; i < rules.n; i++)
		free(rules.text[i]);
	free(rules.text);
	for (size_t i = 0; i < access_targets.n; i++)
		free(access_targets.text[i]);
	free(access_targets.text);
	return ret;
}

/* --------------------------------------------------------------- snapshot */

static int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },   { "text", no_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' }, { "no-cmdline", no_argument, NULL, 1 },
		{ "help", no_argument, NULL, 'h' },   { 0 },
	};
	PW_OPTS(pw_snapshot_opts, opts, .flags = PW_SNAP_CMDLINE | PW_SNAP_IMAGE | PW_SNAP_USER);
	struct pw_snapshot *snap;
	FILE *out = stdout;
	int json = -1, opt, err;

	while ((opt = getopt_long(argc, argv, "jto:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 't': json = 0; break;
		case 'o':
			out = fopen(optarg, "w");
			if (!out) {
				fprintf(stderr, "procward: cannot open %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			break;
		case 1: opts.flags &= ~PW_SNAP_CMDLINE; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: usage_error("%s", "bad snapshot option"); break;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (json < 0)
		json = !isatty(fileno(out));
	err = pw_snapshot_take(&opts, &snap);
	if (err) {
		fprintf(stderr, "procward: snapshot failed: %s\n", pw_strerror(err));
		return 1;
	}
	if (!json)
		print_process_text_header(out);
	for (size_t i = 0; i < pw_snapshot_count(snap); i++) {
		if (json)
			print_process_json(out, pw_snapshot_process(snap, i));
		else
			print_process_text(out, pw_snapshot_process(snap, i));
	}
	pw_snapshot_free(snap);
	if (fflush(out) || (out != stdout && fclose(out))) {
		fprintf(stderr, "procward: writing failed: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

/* --------------------------------------------------------------- features */

static int cmd_features(void)
{
	static const struct {
		unsigned int bit;
		const char *name, *use;
	} rows[] = {
		{ PW_FEAT_BTF, "btf", "CO-RE programs (all events)" },
		{ PW_FEAT_BPF, "bpf", "loading BPF programs (privileges)" },
		{ PW_FEAT_RINGBUF, "ringbuf", "event delivery" },
		{ PW_FEAT_TP_BTF, "tp_btf", "process and thread lifecycle events" },
		{ PW_FEAT_TASK_ITER, "task_iter", "kernel-side snapshot" },
		{ PW_FEAT_SEND_SIGNAL, "send_signal", "fail-closed backstop of the exec gate" },
		{ PW_FEAT_FANOTIFY_EXEC, "fanotify_exec", "exec gate (blocking process creation)" },
		{ PW_FEAT_FENTRY, "fentry", "BPF trampolines" },
		{ PW_FEAT_BPF_LSM, "bpf_lsm", "enforcing access rules (revoking access)" },
	};
	unsigned int f = pw_features();

	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++)
		printf("%-14s %-4s %s\n", rows[i].name, f & rows[i].bit ? "yes" : "no", rows[i].use);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (service_prepare(&argc, &argv)) /* --config and the output options: service.c */
		return EXIT_USAGE;
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("procward %s (libprocward %s)\n", PW_VERSION_STRING, pw_version());
		return 0;
	}
	if (!strcmp(cmd, "watch"))
		return cmd_watch(argc - 1, argv + 1);
	if (!strcmp(cmd, "snapshot"))
		return cmd_snapshot(argc - 1, argv + 1);
	if (!strcmp(cmd, "features"))
		return cmd_features();
	for (size_t i = 0; i < sizeof(extra_commands) / sizeof(*extra_commands); i++)
		if (extra_commands[i].run && !strcmp(cmd, extra_commands[i].name))
			return extra_commands[i].run(argc - 1, argv + 1);
	usage_error("unknown command '%s'", cmd);
	return EXIT_USAGE;
}
