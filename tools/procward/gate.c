// SPDX-License-Identifier: MIT
/* gate.c - `procward gate`: the exec gate from the command line; rules in, one line per decision out. */
#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"
#include "procward.h"
#include "service.h"

static const char gate_usage[] =
	"Usage: procward gate [OPTIONS]\n"
	"\n"
	"Allow or deny every exec on the machine by static rules, before the program runs.\n"
	"Runs until SIGINT/SIGTERM, then prints a summary on stderr.\n"
	"\n"
	"  -r, --rule RULE          e.g. 'deny path /usr/bin/nc', 'deny name curl uid 1000' (repeatable)\n"
	"  -f, --rules-file FILE    one rule per line, '#' comments\n"
	"  -d, --default VERDICT    allow|deny: execs no rule decides (default allow)\n"
	"  -t, --timeout MS         deadline of a decision (default 1000)\n"
	"  -a, --audit              report only: log what would be denied, allow everything\n"
	"  -j, --json               JSON Lines output\n"
	"  -o, --output FILE        decisions to FILE instead of stdout\n"
	"  -v, --verbose            library messages on stderr\n"
	"\n"
	"Rule conditions: path P, name N, sha256 HEX, uid U, by-name COMM, by-pid PID, children,\n"
	"arg A, errno E (deny). Actions: allow, deny. 'cache' on an allow/deny rule without uid,\n"
	"by-name, by-pid or arg keeps its verdict for the file until the file changes (a cached\n"
	"allow is enforced by the kernel). Exit status: 0 ok, 1 runtime error, 2 usage, 77 no privileges.\n";

struct gate_cli {
	FILE *out;
	bool json;
	bool verbose;
};

static void on_log(enum pw_log_level level, const char *msg, void *ud)
{
	struct gate_cli *cli = ud;

	if (level <= PW_LOG_WARN || cli->verbose)
		fprintf(stderr, "procward: %s\n", msg);
}

/* On the library's decision thread, never on the decision path: it may block on the output. */
static void on_decision(struct pw_gate *g, const struct pw_gate_decision *d, void *ud)
{
	struct gate_cli *cli = ud;
	const char *verdict = pw_decision_verdict(d) == PW_EXEC_DENY ? "deny" : "allow";
	const char *reason = pw_gate_reason_name(pw_decision_reason(d));

	(void)g;
	if (cli->json) {
		fprintf(cli->out, "{\"time_ns\":%" PRIu64 ",\"verdict\":\"%s\",\"reason\":\"%s\",\"audit\":%s,"
			"\"pid\":%d,\"tid\":%d,\"uid\":%u,\"name\":", pw_decision_time_ns(d), verdict,
			reason, pw_decision_audit(d) ? "true" : "false", pw_decision_pid(d),
			pw_decision_tid(d), pw_decision_uid(d));
		json_string(cli->out, pw_decision_name(d));
		fprintf(cli->out, ",\"image\":");
		json_string(cli->out, pw_decision_image(d));
		fprintf(cli->out, ",\"interpreter\":%s,\"rule\":%d,\"errno\":%d,\"latency_ns\":%" PRIu64
			",\"argv\":[", pw_decision_is_interpreter(d) ? "true" : "false", pw_decision_rule(d),
			pw_decision_errno(d), pw_decision_latency_ns(d));
		for (size_t i = 0; i < pw_decision_argc(d); i++) {
			if (i)
				fputc(',', cli->out);
			json_string(cli->out, pw_decision_arg(d, i));
		}
		fprintf(cli->out, "]%s}\n", pw_decision_redacted(d) ? ",\"redacted\":true" : "");
	} else {
		fprintf(cli->out, "%-5s%s %-8s pid %-7d uid %-6u %-15s %s%s", verdict,
			pw_decision_audit(d) ? "*" : " ", reason, pw_decision_pid(d), pw_decision_uid(d),
			pw_decision_name(d), pw_decision_image(d),
			pw_decision_is_interpreter(d) ? " (interpreter)" : "");
		for (size_t i = 0; i < pw_decision_argc(d); i++)
			fprintf(cli->out, "%s%s", i ? " " : " :: ", pw_decision_arg(d, i));
		fputc('\n', cli->out);
	}
	fflush(cli->out);
}

/*
 * SIGHUP (systemctl reload): the rules file replaces every rule at once; a
 * file with an error leaves the rules in force and says why. Outputs reopen.
 */
static void gate_reload(struct pw_gate *g, const char *rules_file, bool default_deny)
{
	char errbuf[512];
	int n;

	service_notify("RELOADING=1");
	service_reopen();
	if (!rules_file) {
		fprintf(stderr, "procward gate: SIGHUP: outputs reopened (no --rules-file to reload)\n");
	} else if ((n = pw_gate_replace_rules_file(g, rules_file, errbuf, sizeof(errbuf))) < 0) {
		fprintf(stderr, "procward gate: reload refused, the rules in force stay: %s\n",
			errbuf[0] ? errbuf : pw_strerror(n));
	} else if (default_deny && (n = pw_gate_add_rule_text(g, "deny")) < 0) {
		fprintf(stderr, "procward gate: reload: default deny: %s\n", pw_strerror(n));
	} else {
		fprintf(stderr, "procward gate: reloaded %d rules from %s\n", n, rules_file);
	}
	service_notify("READY=1");
}

int cmd_gate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rule", required_argument, 0, 'r' },    { "rules-file", required_argument, 0, 'f' },
		{ "default", required_argument, 0, 'd' }, { "timeout", required_argument, 0, 't' },
		{ "audit", no_argument, 0, 'a' },         { "json", no_argument, 0, 'j' },
		{ "output", required_argument, 0, 'o' },  { "verbose", no_argument, 0, 'v' },
		{ "help", no_argument, 0, 'h' },          { 0, 0, 0, 0 },
	};
	struct gate_cli cli = { .out = stdout };
	PW_OPTS(pw_gate_opts, opts, .on_decision = on_decision, .decision_userdata = &cli,
		.log = on_log, .log_userdata = &cli);
	struct pw_gate_stats st = { .sz = sizeof(st) };
	const char **rules = calloc(argc + 1, sizeof(*rules));
	const char *rules_file = NULL, *output = NULL;
	size_t n_rules = 0;
	bool default_deny = false;
	struct pw_gate *g = NULL;
	char errbuf[512];
	sigset_t set;
	int c, err, sig;

	if (!rules)
		return 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:f:d:t:ajo:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': rules[n_rules++] = optarg; break;
		case 'f': rules_file = optarg; break;
		case 'd':
			if (strcmp(optarg, "allow") && strcmp(optarg, "deny")) {
				fprintf(stderr, "procward gate: --default takes allow or deny\n");
				return 2;
			}
			default_deny = !strcmp(optarg, "deny");
			break;
		case 't': {
			char *end;
			unsigned long ms = strtoul(optarg, &end, 10);

			if (*end || !ms || ms > 3600000) {
				fprintf(stderr, "procward gate: --timeout takes milliseconds (1..3600000)\n");
				return 2;
			}
			opts.timeout_ms = (unsigned int)ms;
			break;
		}
		case 'a': opts.audit = true; break;
		case 'j': cli.json = true; break;
		case 'o': output = optarg; break;
		case 'v': cli.verbose = true; break;
		case 'h': fputs(gate_usage, stdout); return 0;
		default: fputs(gate_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "procward gate: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	opts.timeout_verdict = default_deny ? PW_EXEC_DENY : PW_EXEC_ALLOW;
	opts.redact = service_redactor();
	err = pw_gate_new(&opts, &g);
	if (err) {
		fprintf(stderr, "procward gate: %s\n", pw_strerror(err));
		return 1;
	}
	for (size_t i = 0; i < n_rules; i++) {
		err = pw_gate_add_rule_text(g, rules[i]);
		if (err) {
			fprintf(stderr, "procward gate: rule '%s': %s\n", rules[i], pw_strerror(err));
			pw_gate_free(g);
			return 2;
		}
	}
	if (rules_file) {
		err = pw_gate_load_rules_file(g, rules_file, errbuf, sizeof(errbuf));
		if (err < 0) {
			fprintf(stderr, "procward gate: %s\n", errbuf);
			pw_gate_free(g);
			return 2;
		}
	}
	if (default_deny && (err = pw_gate_add_rule_text(g, "deny"))) {
		fprintf(stderr, "procward gate: %s\n", pw_strerror(err));
		pw_gate_free(g);
		return 1;
	}
	if (service_stream("decision"))
		cli.out = service_stream("decision"); /* --output, --syslog, --journal: the writer's sinks */
	if (output && !(cli.out = fopen(output, "we"))) {
		fprintf(stderr, "procward gate: %s: %s\n", output, strerror(errno));
		pw_gate_free(g);
		return 1;
	}
	/* Signals go to sigwait() below, not to the library's threads (they inherit this mask). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	err = pw_gate_start(g);
	if (err) {
		fprintf(stderr, "procward gate: cannot start: %s\n", pw_strerror(err));
		pw_gate_free(g);
		return err == -EPERM || err == -PW_ERR_NO_BPF || err == -PW_ERR_NO_BTF ||
			       err == -PW_ERR_KERNEL_FEATURE
		       ? 77
		       : 1;
	}
	fprintf(stderr, "procward gate: running%s; SIGINT or SIGTERM stops\n",
		opts.audit ? " in audit mode (nothing is denied)" : "");
	service_ready(0);
	while (!sigwait(&set, &sig) && sig == SIGHUP)
		gate_reload(g, rules_file, default_deny);
	service_notify("STOPPING=1");
	pw_gate_stop(g);
	pw_gate_stats(g, &st);
	fprintf(stderr,
		"procward gate: %" PRIu64 " decisions: %" PRIu64 " allowed, %" PRIu64 " denied%s; "
		"%" PRIu64 " by rule, %" PRIu64 " timed out, %" PRIu64 " interpreter opens, %" PRIu64
		" self, %" PRIu64 " ungated (%" PRIu64 " killed, %" PRIu64 " lost), %" PRIu64
		" records dropped, %" PRIu64 " filesystems gated, %" PRIu64 " not markable\n",
		st.decisions, st.allowed, st.denied, opts.audit ? " (audit: not enforced)" : "",
		st.by_rule, st.timed_out, st.interpreter_opens, st.self_allowed, st.ungated,
		st.ungated_killed, st.ungated_lost, st.sink_dropped, st.filesystems_marked,
		st.filesystems_unmarkable);
	fprintf(stderr,
		"procward gate: verdict cache: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
		" entries, %" PRIu64 " evictions, %" PRIu64 " flushes, %" PRIu64 " refused, %" PRIu64
		" invalidated\n",
		st.cache_hits, st.cache_misses, st.cache_entries, st.cache_evictions, st.cache_flushes,
		st.cache_refused, st.cache_invalidated);
	pw_gate_free(g);
	if (cli.out != stdout)
		fclose(cli.out);
	free(rules);
	return 0;
}

