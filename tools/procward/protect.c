// SPDX-License-Identifier: MIT
/*
 * protect.c - `procward protect PID|NAME --deny RIGHTS`: deny access rights on
 * a process for as long as the command runs, and show the access events.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char protect_usage[] =
	"Usage: procward protect PID|NAME --deny RIGHTS [OPTIONS]\n"
	"\n"
	"Deny access rights on a process (by PID, or every process with that name)\n"
	"while this command runs, and print the access operations aimed at it.\n"
	"A PID names that one process: a later process given its PID is not protected.\n"
	"Needs BPF LSM (see 'procward features': bpf_lsm).\n"
	"\n"
	"  -D, --deny RIGHTS        comma-separated rights to deny:\n"
	"        debug              ptrace attach/seize and every ptrace request\n"
	"        read-memory        process_vm_readv, /proc/PID/mem reads, perf sampling\n"
	"        write-memory       process_vm_writev, /proc/PID/mem writes\n"
	"        read-info          /proc/PID/environ and other ptrace read checks, signal 0,\n"
	"                           perf_event_open counting\n"
	"        terminate          SIGKILL, SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGABRT, cgroup.kill\n"
	"        suspend-resume     SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU, SIGCONT, cgroup.freeze\n"
	"        signal             every other signal\n"
	"        open-handle        pidfd_open\n"
	"        duplicate-handle   pidfd_getfd, reopening /proc/PID/fd/N or map_files/N\n"
	"        set-limits         prlimit on it (denying terminate refuses prlimit too)\n"
	"      or a group: memory (read- and write-memory), signals (terminate,\n"
	"      suspend-resume, signal), all; short forms: kill, suspend, dup-handle.\n"
	"      A signal counts by its number however it is sent (kill, tgkill, pidfd,\n"
	"      a group signal, SIGIO/F_SETSIG from a file it owns).\n"
	"  -e, --exec-name          NAME only: protect a process only while its name is the one\n"
	"                           its exec gave it (renaming a process cannot opt it in)\n"
	"  -x, --except-uid UID     originators with this effective uid are allowed\n"
	"  -s, --except-self        this procward process is allowed\n"
	"  -j, --json               JSON Lines (default when the output is not a terminal)\n"
	"  -t, --text               readable columns (default on a terminal)\n"
	CLI_OUTPUT_FILE_USAGE("events")
	CLI_RUN_USAGE
	"\n"
	"Not covered (see procward(1), LIMITS): terminal-generated signals (^C, TIOCSIG,\n"
	"hangup), the OOM killer, cgroup v1 freezer.state, CPU-wide perf events.\n"
	"\n"
	"Exit status: 0 ok, 1 runtime error, 2 usage error, 77 enforcement not available here.\n";

struct protect_state {
	struct cli_out out;
	bool json;
	uint64_t t0_ns;
};

static int protect_on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	struct protect_state *st = userdata;

	(void)m;
	cli_out_event(&st->out, ev, st->json, &st->t0_ns);
	return 0;
}

int cmd_protect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "deny", required_argument, NULL, 'D' },
		{ "exec-name", no_argument, NULL, 'e' },
		{ "except-uid", required_argument, NULL, 'x' },
		{ "except-self", no_argument, NULL, 's' },
		CLI_FORMAT_LONGOPTS,
		CLI_OUTPUT_LONGOPTS,
		CLI_RUN_LONGOPTS,
		{ 0 },
	};
	struct protect_state st = { .out = { .fd = -1 } };
	struct cli_output_opts output = { 0 };
	struct pw_monitor *m = NULL;
	double duration = 0;
	int opt, err, json = -1, ret = 0, verbose = 0, r;
	const char *target;
	char banner[512];
	uint64_t v;
	char *end;
	PW_OPTS(pw_monitor_opts, opts, .events = PW_EVMASK_ACCESS, .on_event = protect_on_event,
		.userdata = &st, .log = cli_log, .log_userdata = &verbose);
	PW_OPTS(pw_protect_rule, rule);

	optind = 1;
	while ((opt = getopt_long(argc, argv, "D:ex:sjto:d:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'D':
			if (pw_access_parse(optarg, &rule.deny))
				return cli_usage("protect", "unknown right in '%s'", optarg);
			break;
		case 'x':
			if (!cli_parse_u64(optarg, UINT32_MAX, &v))
				return cli_usage("protect", "bad --except-uid '%s'", optarg);
			rule.except_uid = (uint32_t)v;
			rule.flags |= PW_PROTECT_EXCEPT_UID;
			break;
		case 'e': rule.flags |= PW_PROTECT_EXEC_NAME; break;
		case 's': rule.flags |= PW_PROTECT_EXCEPT_PID; break; /* except_pid 0: ourselves */
		case 'j': json = 1; break;
		case 't': json = 0; break;
		case 'd':
			if (!cli_parse_seconds(optarg, &duration))
				return cli_usage("protect", "bad --duration '%s'", optarg);
			break;
		case 'v': verbose++; break;
		case 'h': fputs(protect_usage, stdout); return 0;
		default:
			r = cli_output_option(&output, opt, optarg);
			if (r > 0)
				break;
			return r < 0 ? EXIT_USAGE : cli_usage("protect", "bad option");
		}
	}
	if (optind != argc - 1)
		return cli_usage("protect", "expected one PID or NAME");
	if (!rule.deny)
		return cli_usage("protect", "--deny RIGHTS is required");
	target = argv[optind];
	errno = 0;
	rule.pid = (pid_t)strtol(target, &end, 10);
	if (errno || *end || end == target || rule.pid <= 0) {
		rule.pid = 0;
		rule.name = target;
	}
	if (rule.pid && (rule.flags & PW_PROTECT_EXEC_NAME))
		return cli_usage("protect", "--exec-name needs a NAME, not a PID");

	err = pw_monitor_new(&opts, &m);
	if (!err)
		err = pw_monitor_protect(m, &rule);
	if (err == -PW_ERR_ENFORCE_UNAVAILABLE) {
		ret = cli_start_error("protection", err);
		goto out;
	}
	if (err) {
		cli_err("cannot protect %s: %s", target, pw_strerror(err));
		ret = err == -ESRCH || err == -EINVAL || err == -ENAMETOOLONG ? EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	snprintf(banner, sizeof(banner), "protecting %s (Ctrl-C to stop)", target);
	ret = cli_start_events(m, &st.out, &output, json, &st.json, &st.t0_ns, "protection", banner);
	if (ret)
		goto out;
	err = cli_run(m, duration, &st.out);
	if (err) {
		cli_err("%s", pw_strerror(err));
		ret = EXIT_RUNTIME;
	}
out:
	pw_monitor_free(m);
	if (cli_out_close(&st.out))
		ret = EXIT_RUNTIME;
	return ret;
}
