// SPDX-License-Identifier: MIT
/* gate.c - `procward gate`: the exec gate from the command line; rules in, decision lines out. */
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "service.h"

static const char gate_usage[] =
	"Usage: procward gate [OPTIONS]\n"
	"\n"
	"Allow or deny every exec on the machine by static rules, before the program runs.\n"
	"Runs until SIGINT/SIGTERM (or --duration), then prints a summary on stderr.\n"
	"\n"
	"  -r, --rule RULE          e.g. 'deny path /usr/bin/nc', 'deny name curl uid 1000' (repeatable)\n"
	"  -f, --rules-file FILE    one rule per line, '#' comments\n"
	"      --default VERDICT    allow|deny: execs no rule decides (default allow)\n"
	"  -T, --timeout MS         deadline of a decision (default 1000)\n"
	"  -a, --audit              report only: log what would be denied, allow everything\n"
	"      --log WHAT           default: denials, timeouts, errors, ungated execs and other\n"
	"                           non-routine verdicts; all: every decision (interpreters too)\n"
	"  -j, --json               JSON Lines output\n"
	"  -t, --text               readable lines (default)\n"
	CLI_OUTPUT_FILE_USAGE("decisions")
	CLI_RUN_USAGE
	"\n"
	"Service outputs (decision records go through a writer thread with a bounded queue):\n"
	"  -o -                     stdout through the writer thread\n"
	CLI_SERVICE_USAGE "; with --rules-file, it also replaces\n"
	"  every rule by the file's, atomically (a bad file keeps the rules in force and says why)\n"
	"\n"
	"Rule conditions: path P, name N, sha256 HEX, uid U, by-name COMM, by-pid PID, children,\n"
	"arg A, errno E (deny). Actions: allow, deny. 'cache' on an allow/deny rule without uid,\n"
	"by-name, by-pid or arg keeps its verdict for the file until the file changes (a cached\n"
	"allow is enforced by the kernel). Exit status: 0 ok, 1 runtime error, 2 usage, 77 no privileges.\n";

struct gate_cli {
	struct cli_out out;
	pthread_mutex_t lock; /* out: the decision thread writes, the main thread flushes */
	bool json;
	struct pw_gate *g;
	const char *rules_file; /* SIGHUP replaces the rules by this file's */
	size_t n_rules;         /* -r rules: a reload would lose them */
	bool default_deny;
};

static int fmt_decision_json(const void *d, char *buf, size_t len, void *arg)
{
	(void)arg;
	return pw_gate_decision_format_json(d, buf, len, 0);
}

static int fmt_decision_text(const void *d, char *buf, size_t len, void *arg)
{
	(void)arg;
	return pw_gate_decision_format_text(d, buf, len, 0);
}

/* A routine allow (by rule, handler, default, self or cache): only --log all prints it. */
static bool routine(const struct pw_gate_decision *d)
{
	return pw_decision_verdict(d) == PW_EXEC_ALLOW &&
	       (PW_GATE_RECORD_REASON(pw_decision_reason(d)) & ~PW_GATE_RECORD_NOTABLE);
}

/*
 * On the library's decision thread, never on the decision path: it may
 * block on the output. A denial or an anomaly is written at once; routine
 * allows (--log all) gather in the buffer, which the main thread writes
 * every CLI_FLUSH_MS: a write per record was a third of --log all's cost.
 */
static void on_decision(struct pw_gate *g, const struct pw_gate_decision *d, void *ud)
{
	struct gate_cli *cli = ud;

	(void)g;
	pthread_mutex_lock(&cli->lock);
	cli->out.type = pw_decision_verdict(d) == PW_EXEC_DENY ? "deny" : "allow";
	cli_out_record(&cli->out, cli->json ? fmt_decision_json : fmt_decision_text, d, NULL);
	if (!routine(d))
		cli_out_flush(&cli->out);
	pthread_mutex_unlock(&cli->lock);
}

static void print_stats(const struct pw_gate *g, bool audit, bool holds)
{
	struct pw_gate_stats st = { .sz = sizeof(st) };

	pw_gate_stats(g, &st);
	cli_err("%" PRIu64 " decisions: %" PRIu64 " allowed, %" PRIu64 " denied%s; "
		"%" PRIu64 " by rule, %" PRIu64 " timed out, %" PRIu64 " interpreter opens, %" PRIu64
		" self, %" PRIu64 " ungated (%" PRIu64 " killed, %" PRIu64 " lost), %" PRIu64
		" records dropped, %" PRIu64 " filesystems gated, %" PRIu64 " not markable",
		st.decisions, st.allowed, st.denied, audit ? " (audit: not enforced)" : "",
		st.by_rule, st.timed_out, st.interpreter_opens, st.self_allowed, st.ungated,
		st.ungated_killed, st.ungated_lost, st.sink_dropped, st.filesystems_marked,
		st.filesystems_unmarkable);
	cli_err("verdict cache: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
		" entries, %" PRIu64 " evictions, %" PRIu64 " flushes, %" PRIu64 " refused, %" PRIu64
		" invalidated",
		st.cache_hits, st.cache_misses, st.cache_entries, st.cache_evictions, st.cache_flushes,
		st.cache_refused, st.cache_invalidated);
	/* execs fanotify never saw: held and decided, or killed where that is impossible */
	cli_err("held execs: %" PRIu64 " decided, %" PRIu64 " killed at exec (%s), %" PRIu64
		" killed when resumed by others, %" PRIu64 " via ld.so (%" PRIu64 " unresolved), %" PRIu64
		" stale cached allows, %" PRIu64 " released by the guardian",
		st.held, st.held_killed, holds ? "could not be held" : "this kernel cannot hold: 6.13+",
		st.held_resumed_killed, st.via_loader, st.loader_unresolved, st.cache_stale, st.guardian_held);
}

/*
 * SIGHUP (systemctl reload), on the main thread: the rules file replaces
 * every rule at once; a file with an error leaves the rules in force and
 * says why. The output files were reopened already (cli_on_hup).
 */
static void gate_reload(void *userdata)
{
	struct gate_cli *cli = userdata;
	char errbuf[512];
	int n;

	cli_notify("RELOADING=1");
	if (!cli->rules_file) {
		cli_err("SIGHUP: outputs reopened (no --rules-file to reload)");
	} else if (cli->n_rules) {
		cli_err("SIGHUP: outputs reopened; rules not reloaded: -r rules and --rules-file are "
			"combined, and only a --rules-file alone can be replaced");
	} else if ((n = pw_gate_replace_rules_file(cli->g, cli->rules_file, errbuf, sizeof(errbuf))) < 0) {
		cli_err("reload refused, the rules in force stay: %s", errbuf[0] ? errbuf : pw_strerror(n));
	} else if (cli->default_deny && (n = pw_gate_add_rule_text(cli->g, "deny")) < 0) {
		cli_err("reload: --default deny: %s", pw_strerror(n));
	} else {
		cli_err("reloaded %d rules from %s", n, cli->rules_file);
	}
	cli_notify("READY=1");
}

int cmd_gate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rule", required_argument, NULL, 'r' },
		{ "rules-file", required_argument, NULL, 'f' },
		{ "default", required_argument, NULL, 1 },
		{ "timeout", required_argument, NULL, 'T' },
		{ "audit", no_argument, NULL, 'a' },
		{ "log", required_argument, NULL, 2 },
		CLI_FORMAT_LONGOPTS,
		CLI_OUTPUT_LONGOPTS,
		CLI_RUN_LONGOPTS,
		CLI_SERVICE_LONGOPTS,
		{ 0 },
	};
	struct gate_cli cli = { .out = { .fd = -1 }, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct cli_service_opts svc = { .rotate_keep = 5 };
	struct pw_redactor *redactor = NULL;
	struct cli_output_opts output = { 0 };
	const char **rules = NULL;
	const char *rules_file = NULL;
	size_t n_rules = 0;
	bool default_deny = false, holds;
	struct pw_gate *g = NULL;
	char errbuf[512];
	double duration = 0;
	int c, err, ret = 0, verbose = 0;
	uint64_t ms;
	PW_OPTS(pw_gate_opts, opts, .on_decision = on_decision, .decision_userdata = &cli,
		.log = cli_log, .log_userdata = &verbose, .decision_filter = PW_GATE_RECORD_NOTABLE);

	cli_prefix = "procward gate: ";
	ret = cli_config_expand("gate", longopts, &argc, &argv);
	if (ret)
		return ret;
	output.service = &svc;
	rules = calloc((size_t)argc + 1, sizeof(*rules));
	if (!rules) {
		cli_err("out of memory");
		return EXIT_RUNTIME;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "r:f:T:ajto:d:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': rules[n_rules++] = optarg; break;
		case 'f': rules_file = optarg; break;
		case 1:
			if (strcmp(optarg, "allow") && strcmp(optarg, "deny")) {
				ret = cli_usage("gate", "--default takes allow or deny, not '%s'", optarg);
				goto out;
			}
			default_deny = !strcmp(optarg, "deny");
			break;
		case 'T':
			if (!cli_parse_u64(optarg, 3600000, &ms) || !ms) {
				ret = cli_usage("gate", "--timeout takes milliseconds (1..3600000), not '%s'", optarg);
				goto out;
			}
			opts.timeout_ms = (unsigned int)ms;
			break;
		case 'a': opts.audit = true; break;
		case 2:
			if (!strcmp(optarg, "all")) {
				opts.decision_filter = 0;
			} else if (!strcmp(optarg, "default")) {
				opts.decision_filter = PW_GATE_RECORD_NOTABLE;
			} else {
				ret = cli_usage("gate", "--log takes default or all, not '%s'", optarg);
				goto out;
			}
			break;
		case 'j': cli.json = true; break;
		case 't': cli.json = false; break;
		case 'd':
			if (!cli_parse_seconds(optarg, &duration)) {
				ret = cli_usage("gate", "bad --duration '%s'", optarg);
				goto out;
			}
			break;
		case 'v': verbose++; break;
		case 'h': fputs(gate_usage, stdout); goto out;
		default:
			ret = cli_other_option(&output, &svc, "gate", c, optarg);
			if (ret)
				goto out;
		}
	}
	ret = cli_service_parsed("gate", argc, argv, &svc, &redactor);
	if (ret)
		goto out;
	opts.timeout_verdict = default_deny ? PW_EXEC_DENY : PW_EXEC_ALLOW;
	opts.redact = redactor;
	err = pw_gate_new(&opts, &g);
	if (err) {
		cli_err("%s", pw_strerror(err));
		ret = EXIT_RUNTIME;
		goto out;
	}
	for (size_t i = 0; i < n_rules; i++) {
		err = pw_gate_add_rule_text(g, rules[i]);
		if (err) {
			cli_err("rule '%s': %s", rules[i], pw_strerror(err));
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (rules_file && pw_gate_load_rules_file(g, rules_file, errbuf, sizeof(errbuf)) < 0) {
		cli_err("%s", errbuf);
		ret = EXIT_USAGE;
		goto out;
	}
	if (default_deny && (err = pw_gate_add_rule_text(g, "deny"))) {
		cli_err("%s", pw_strerror(err));
		ret = EXIT_RUNTIME;
		goto out;
	}
	ret = cli_out_open(&cli.out, &output);
	if (ret)
		goto out;
	cli.out.lock = &cli.lock;
	/* Signals go to cli_run() below, not to the library's threads (they inherit this mask). */
	cli_block_signals();
	err = pw_gate_start(g);
	if (err) {
		ret = cli_start_error("the gate", err);
		goto out;
	}
	holds = pw_gate_hold_supported(g);
	cli_err("running%s%s; SIGINT or SIGTERM stops",
		opts.audit ? " in audit mode (nothing is denied)" : "",
		holds ? "" : " (this kernel cannot hold execs the gate does not see: they are killed)");
	cli.g = g;
	cli.rules_file = rules_file;
	cli.n_rules = n_rules;
	cli.default_deny = default_deny;
	cli_serve(NULL, duration, &cli.out, gate_reload, &cli);
	pw_gate_stop(g);
	print_stats(g, opts.audit, holds);
out:
	cli_config_done(); /* no-op when parsing ended normally */
	pw_gate_free(g);
	if (cli_out_close(&cli.out))
		ret = EXIT_RUNTIME;
	pw_redact_free(redactor); /* after the gate: it borrowed it */
	free(svc.redact);
	free(rules);
	return ret;
}
