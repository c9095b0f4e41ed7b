// SPDX-License-Identifier: MIT
/* watch.c - `procward watch`: stream process and thread events as text or JSON Lines. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "service.h"

static const char watch_usage[] =
	"Usage: procward watch [OPTIONS]\n"
	"\n"
	"Stream process and thread events (needs root or CAP_BPF+CAP_PERFMON).\n"
	"\n"
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
	"  -j, --json               JSON Lines (default when the output is not a terminal)\n"
	"  -t, --text               readable columns (default on a terminal)\n"
	CLI_OUTPUT_FILE_USAGE("events")
	"  -d, --duration SECONDS   stop after this long\n"
	"  -m, --max-events N       stop after N events\n"
	"      --ringbuf-size BYTES ring buffer size (power of two, default 16 MiB)\n"
	"      --args-max BYTES     argv bytes captured per exec (default 4096, max 16384)\n"
	"      --batch-delay US     in busy periods, read the ring every US microseconds\n"
	"                           (default 4000; 0: at every event, lowest latency, highest cost)\n"
	"  -v, --verbose            library messages on stderr (twice: debug)\n"
	"  -h, --help               this text\n"
	"\n"
	"Service outputs (records go through a writer thread with a bounded queue: a stalled\n"
	"output drops records and counts them, never slows the monitor):\n"
	"  -o -                     stdout through the writer thread\n"
	CLI_SERVICE_USAGE "\n";

struct watch_state {
	struct cli_out out;
	bool json;
	uint64_t t0_ns;
	uint64_t max_events, seen;
};

static int on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	struct watch_state *st = userdata;

	(void)m;
	if (pw_event_type(ev) == PW_EVENT_LOST) {
		cli_err("lost %" PRIu64 " events (ring buffer full)", pw_event_lost_count(ev));
	} else {
		if (st->max_events && st->seen >= st->max_events)
			return 0; /* the rest of the batch after the limit */
		if (++st->seen == st->max_events)
			cli_stop();
	}
	st->out.type = pw_event_type_name(pw_event_type(ev));
	cli_out_event(&st->out, ev, st->json, &st->t0_ns);
	return 0;
}

static bool parse_events(const char *list, unsigned int *out)
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
	const char *p = list;
	unsigned int mask = 0;

	while (*p) {
		size_t n = strcspn(p, ","), i;

		for (i = 0; i < sizeof(words) / sizeof(*words); i++)
			if (strlen(words[i].name) == n && !strncmp(p, words[i].name, n))
				break;
		if (i == sizeof(words) / sizeof(*words)) {
			cli_usage("watch", "unknown event '%.*s' (fork, exec, exit, thread, thread-create, "
				  "thread-exit, all, access)", (int)n, p);
			return false;
		}
		mask |= words[i].mask;
		p += n + (p[n] == ',');
	}
	if (!mask) {
		cli_usage("watch", "empty event list '%s'", list);
		return false;
	}
	*out = mask;
	return true;
}

/* Rules are kept as text and parsed by the library, so the CLI and the API agree. */
struct rule_list {
	char **text;
	size_t n;
};

static bool add_rule_text(struct rule_list *rl, const char *action, const char *match,
			  const char *value)
{
	char **grown;
	char *text;

	if (match && !strcmp(match, "name") && strpbrk(value, "*?"))
		match = "name-glob";
	if (asprintf(&text, "%s%s%s%s%s", action, match ? " " : "", match ? match : "",
		     value ? " " : "", value ? value : "") < 0)
		return false;
	grown = realloc(rl->text, (rl->n + 1) * sizeof(char *));
	if (!grown) {
		free(text);
		return false;
	}
	rl->text = grown;
	rl->text[rl->n++] = text;
	return true;
}

static void free_rules(struct rule_list *rl)
{
	for (size_t i = 0; i < rl->n; i++)
		free(rl->text[i]);
	free(rl->text);
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
			cli_err("cannot watch access to %s: %s", text, pw_strerror(err));
	}
	return err;
}

int cmd_watch(int argc, char **argv)
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
		CLI_FORMAT_LONGOPTS,
		CLI_OUTPUT_LONGOPTS,
		{ "duration", required_argument, NULL, 'd' },
		{ "max-events", required_argument, NULL, 'm' },
		{ "ringbuf-size", required_argument, NULL, 1 },
		{ "args-max", required_argument, NULL, 2 },
		{ "batch-delay", required_argument, NULL, 3 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		CLI_SERVICE_LONGOPTS,
		{ 0 },
	};
	struct watch_state st = { .out = { .fd = -1 } };
	struct cli_service_opts svc = { .rotate_keep = 5 };
	struct pw_redactor *redactor = NULL;
	struct rule_list rules = { 0 };
	struct rule_list access_targets = { 0 }; /* -p/-n values: the targets of access events */
	struct cli_output_opts output = { 0 };
	struct pw_monitor_stats stats = { .sz = sizeof(stats) };
	struct pw_monitor *m = NULL;
	double duration = 0;
	int json = -1, opt, err, verbose = 0, ret = 0;
	uint64_t v;
	PW_OPTS(pw_monitor_opts, opts, .on_event = on_event, .userdata = &st, .log = cli_log,
		.log_userdata = &verbose);

	ret = cli_config_expand("watch", longopts, &argc, &argv);
	if (ret)
		return ret;
	output.service = &svc;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "e:n:N:p:P:u:U:r:cjto:d:m:vh", longopts, NULL)) != -1) {
		bool ok = true;

		switch (opt) {
		case 'e': ok = parse_events(optarg, &opts.events); if (!ok) { ret = EXIT_USAGE; goto out; } break;
		case 'n': ok = add_rule_text(&rules, "include", "name", optarg) &&
			       add_rule_text(&access_targets, "name", NULL, optarg); break;
		case 'N': ok = add_rule_text(&rules, "exclude", "name", optarg); break;
		case 'p': ok = add_rule_text(&rules, "include", "pid", optarg) &&
			       add_rule_text(&access_targets, "pid", NULL, optarg); break;
		case 'P': ok = add_rule_text(&rules, "exclude", "pid", optarg); break;
		case 'u': ok = add_rule_text(&rules, "include", "uid", optarg); break;
		case 'U': ok = add_rule_text(&rules, "exclude", "uid", optarg); break;
		case 'r': ok = add_rule_text(&rules, optarg, NULL, NULL); break;
		case 'c': opts.inherit_children = true; break;
		case 'j': json = 1; break;
		case 't': json = 0; break;
		case 'd':
			if (!cli_parse_seconds(optarg, &duration)) {
				ret = cli_usage("watch", "bad --duration '%s'", optarg);
				goto out;
			}
			break;
		case 'm':
			if (!cli_parse_u64(optarg, UINT64_MAX, &st.max_events)) {
				ret = cli_usage("watch", "bad --max-events '%s'", optarg);
				goto out;
			}
			break;
		case 1:
			if (!cli_parse_u64(optarg, SIZE_MAX, &v)) {
				ret = cli_usage("watch", "bad --ringbuf-size '%s'", optarg);
				goto out;
			}
			opts.ringbuf_bytes = (size_t)v;
			break;
		case 2:
			if (!cli_parse_u64(optarg, UINT32_MAX, &v)) {
				ret = cli_usage("watch", "bad --args-max '%s'", optarg);
				goto out;
			}
			opts.max_args_bytes = (unsigned int)v;
			break;
		case 3:
			if (!cli_parse_u64(optarg, 1000000, &v)) {
				ret = cli_usage("watch", "bad --batch-delay '%s' (0..1000000 us)", optarg);
				goto out;
			}
			opts.batch_delay_us = v ? (int)v : -1;
			break;
		case 'v': verbose++; break;
		case 'h': fputs(watch_usage, stdout); goto out;
		default:
			ret = cli_other_option(&output, &svc, "watch", opt, optarg);
			if (ret)
				goto out;
		}
		if (!ok) {
			cli_err("out of memory");
			ret = EXIT_RUNTIME;
			goto out;
		}
	}
	ret = cli_service_parsed("watch", argc, argv, &svc, &redactor);
	if (ret)
		goto out;
	opts.redact = redactor;
	err = pw_monitor_new(&opts, &m);
	if (err) {
		cli_err("bad options: %s", pw_strerror(err));
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
			cli_err("rule '%s': %s", rules.text[i], pw_strerror(err));
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if ((opts.events & PW_EVMASK_ACCESS) && watch_access_targets(m, &access_targets)) {
		ret = EXIT_USAGE;
		goto out;
	}
	ret = cli_start_events(m, &st.out, &output, json, &st.json, &st.t0_ns, "monitoring",
			       verbose ? "watching (Ctrl-C to stop)" : NULL);
	if (ret)
		goto out;
	err = cli_serve(m, duration, &st.out, NULL, NULL); /* SIGHUP: reopen the output files (logrotate) */
	if (err) {
		cli_err("%s", pw_strerror(err));
		ret = EXIT_RUNTIME;
	}
	pw_monitor_stats(m, &stats);
	cli_err("%" PRIu64 " events, %" PRIu64 " lost, %" PRIu64 " filtered in the kernel, %" PRIu64
		" processes tracked",
		stats.events_delivered, stats.events_lost, stats.events_filtered,
		stats.processes_tracked);
out:
	cli_config_done(); /* no-op when parsing ended normally */
	pw_monitor_free(m);
	if (cli_out_close(&st.out))
		ret = EXIT_RUNTIME;
	pw_redact_free(redactor); /* after the monitor: it borrowed it */
	free(svc.redact);
	free_rules(&rules);
	free_rules(&access_targets);
	return ret;
}
