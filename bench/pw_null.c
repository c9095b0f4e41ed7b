// SPDX-License-Identifier: MIT
/*
 * pw_null.c - the library with an empty callback: every lifecycle event is
 * collected and delivered, nothing is done with it. The floor of the
 * pipeline's cost. Usage: pw-bench-null [EVENT_MASK [EXCLUDED_NAME]]
 */
#include <procward.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
static struct pw_monitor *M;
static void on_sig(int s) { (void)s; pw_monitor_stop(M); }
static int cb(struct pw_monitor *m, const struct pw_event *ev, void *u) { (void)m; (void)ev; (*(long *)u)++; return 0; }
int main(int argc, char **argv) {
	long n = 0;
	PW_OPTS(pw_monitor_opts, o, .on_event = cb, .userdata = &n, .events = argc > 1 ? (unsigned)atoi(argv[1]) : 0);
	if (pw_monitor_new(&o, &M) || pw_monitor_start(M)) return 1;
	if (argc > 2) { struct pw_rule r = { .sz = sizeof(r), .action = PW_RULE_EXCLUDE, .match = PW_MATCH_NAME, .name = argv[2] }; pw_monitor_add_rule(M, &r); }
	signal(SIGINT, on_sig); signal(SIGTERM, on_sig);
	pw_monitor_run(M);
	struct pw_monitor_stats st = { .sz = sizeof(st) }; pw_monitor_stats(M, &st);
	fprintf(stderr, "pwnull: %ld events, lost %llu filtered %llu\n", n, (unsigned long long)st.events_lost, (unsigned long long)st.events_filtered);
	pw_monitor_free(M);
}
