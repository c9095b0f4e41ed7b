// SPDX-License-Identifier: MIT
/*
 * protect.c - `procward protect PID|NAME --deny RIGHTS`: deny access rights on
 * a process for as long as the command runs, and show the access events.
 */
#include <errno.h>
#include <getopt.h>
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

#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 77

static const char protect_usage[] =
	"Usage: procward protect PID|NAME --deny RIGHTS [OPTIONS]\n"
	"\n"
	"Deny access rights on a process (by PID, or every process with that name)\n"
	"while this command runs, and print the access operations aimed at it.\n"
	"Needs BPF LSM (see 'procward features': bpf_lsm).\n"
	"\n"
	"  -D, --deny RIGHTS       comma-separated: debug, read-memory, write-memory, read-info,\n"
	"                          terminate, suspend-resume, signal, open-handle, duplicate-handle,\n"
	"                          memory, signals, all\n"
	"  -x, --except-uid UID    originators with this effective uid are allowed\n"
	"  -s, --except-self       this procward process is allowed\n"
	"  -j, --json / -t, --text output format (default: JSON when stdout is not a terminal)\n"
	"  -d, --duration SECONDS  stop after this long\n"
	"  -h, --help\n"
	"\n"
	"Exit status: 0 ok, 1 runtime error, 2 usage error, 77 enforcement not available here.\n";

static struct pw_monitor *protect_monitor;

static void protect_on_signal(int sig)
{
	(void)sig;
	pw_monitor_stop(protect_monitor);
}

struct protect_state {
	bool json;
	uint64_t t0_ns;
};

static int protect_on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	struct protect_state *st = userdata;

	(void)m;
	if (st->json)
		print_event_json(stdout, ev);
	else
		print_event_text(stdout, ev, st->t0_ns);
	fflush(stdout);
	return 0;
}

static int protect_usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "procward protect: ");
	fprintf(stderr, msg, arg);
	fprintf(stderr, "\nTry 'procward protect --help'.\n");
	return EXIT_USAGE;
}

int cmd_protect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "deny", required_argument, NULL, 'D' },
		{ "except-uid", required_argument, NULL, 'x' },
		{ "except-self", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "text", no_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct protect_state st = { 0 };
	PW_OPTS(pw_monitor_opts, opts, .events = PW_EVMASK_ACCESS, .on_event = protect_on_event,
		.userdata = &st);
	PW_OPTS(pw_protect_rule, rule);
	struct pw_monitor *m = NULL;
	struct timespec now;
	double duration = 0;
	int opt, err, json = -1, ret = 0;
	const char *target;
	char *end;

	while ((opt = getopt_long(argc, argv, "D:x:sjtd:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'D':
			if (pw_access_parse(optarg, &rule.deny))
				return protect_usage_error("unknown right in '%s'", optarg);
			break;
		case 'x':
			errno = 0;
			rule.except_uid = (uint32_t)strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg)
				return protect_usage_error("bad --except-uid '%s'", optarg);
			rule.flags |= PW_PROTECT_EXCEPT_UID;
			break;
		case 's': rule.flags |= PW_PROTECT_EXCEPT_PID; break; /* except_pid 0: ourselves */
		case 'j': json = 1; break;
		case 't': json = 0; break;
		case 'd':
			duration = strtod(optarg, &end);
			if (*end || duration < 0)
				return protect_usage_error("bad --duration '%s'", optarg);
			break;
		case 'h': fputs(protect_usage, stdout); return 0;
		default: return protect_usage_error("%s", "bad option");
		}
	}
	if (optind != argc - 1)
		return protect_usage_error("%s", "expected one PID or NAME");
	if (!rule.deny)
		return protect_usage_error("%s", "--deny RIGHTS is required");
	target = argv[optind];
	rule.pid = (pid_t)strtol(target, &end, 10);
	if (*end || end == target || rule.pid <= 0) {
		rule.pid = 0;
		rule.name = target;
	}

	err = pw_monitor_new(&opts, &m);
	if (!err)
		err = pw_monitor_protect(m, &rule);
	if (err == -PW_ERR_ENFORCE_UNAVAILABLE) {
		fprintf(stderr,
			"procward: cannot protect %s: %s.\n"
			"procward: this kernel cannot run BPF LSM programs (procward features: bpf_lsm no);\n"
			"procward: access operations can still be watched: procward watch --events access\n",
			target, pw_strerror(err));
		ret = EXIT_UNAVAILABLE;
		goto out;
	}
	if (err) {
		fprintf(stderr, "procward: cannot protect %s: %s\n", target, pw_strerror(err));
		ret = err == -ESRCH || err == -EINVAL || err == -ENAMETOOLONG ? EXIT_USAGE : 1;
		goto out;
	}
	err = pw_monitor_start(m);
	if (err) {
		fprintf(stderr, "procward: cannot start: %s\n", pw_strerror(err));
		ret = err == -PW_ERR_NO_BPF || err == -PW_ERR_KERNEL_FEATURE ? EXIT_UNAVAILABLE : 1;
		goto out;
	}
	st.json = json >= 0 ? json : !isatty(STDOUT_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &now);
	st.t0_ns = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	protect_monitor = m;
	signal(SIGINT, protect_on_signal);
	signal(SIGTERM, protect_on_signal);
	signal(SIGALRM, protect_on_signal);
	if (duration > 0) {
		struct itimerval it = { .it_value = { .tv_sec = (time_t)duration,
						       .tv_usec = (suseconds_t)((duration - (time_t)duration) * 1e6) } };

		setitimer(ITIMER_REAL, &it, NULL);
	}
	fprintf(stderr, "procward: protecting %s (Ctrl-C to stop)\n", target);
	if (!st.json)
		print_event_text_header(stdout);
	err = pw_monitor_run(m);
	if (err) {
		fprintf(stderr, "procward: %s\n", pw_strerror(err));
		ret = 1;
	}
out:
	protect_monitor = NULL;
	pw_monitor_free(m);
	return ret;
}
