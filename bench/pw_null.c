// SPDX-License-Identifier: MIT
/*
 * pw_null.c - the library with an empty callback: every lifecycle event is
 * collected and delivered, nothing is done with it. The floor of the
 * pipeline's cost. Usage: pw-bench-null [EVENT_MASK [EXCLUDED_NAME]]
 *
 * Optional environment (unset: the defaults, exactly as before):
 *   PW_BENCH_RINGBUF=BYTES  ring buffer size (power of two >= 4096)
 *   PW_BENCH_INCLUDE=COMM   an include rule on that name: only its events
 *   PW_BENCH_VERBOSE=1      print "pwnull: ready" on stderr once started, and
 *                           at the end drain what is left in the ring and
 *                           print one more line:
 *     pwnull-detail: delivered D lost L filtered F tracked T malformed M
 *       run R signal S comm C: process_create a exec b process_exit c thread_create d thread_exit e
 *   PW_BENCH_COMM=COMM      the name counted on the detail line (default pw-bench-load)
 */
#include <procward.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct pw_monitor *M;
static const char *comm = "pw-bench-load";
static unsigned long long by_type[16], malformed;

static volatile sig_atomic_t got_sig;
static void on_sig(int s) { got_sig = s; pw_monitor_stop(M); }
static int cb(struct pw_monitor *m, const struct pw_event *ev, void *u) { (void)m; (void)ev; (*(long *)u)++; return 0; }
static int cb_count(struct pw_monitor *m, const struct pw_event *ev, void *u)
{
	const char *name = pw_event_name(ev);
	enum pw_event_type t = pw_event_type(ev);

	(void)m;
	if (t != PW_EVENT_LOST) {
		(*(long *)u)++;
		if (name && !strcmp(name, comm) && (unsigned)t < 16)
			by_type[t]++;
	}
	return 0;
}
static void on_log(enum pw_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level == PW_LOG_ERROR) {
		if (strstr(msg, "malformed"))
			malformed++;
		fprintf(stderr, "pwnull: %s\n", msg);
	}
}

int main(int argc, char **argv) {
	long n = 0;
	const char *rb = getenv("PW_BENCH_RINGBUF"), *inc = getenv("PW_BENCH_INCLUDE");
	int verbose = getenv("PW_BENCH_VERBOSE") && atoi(getenv("PW_BENCH_VERBOSE"));
	PW_OPTS(pw_monitor_opts, o, .on_event = verbose ? cb_count : cb, .userdata = &n, .events = argc > 1 ? (unsigned)atoi(argv[1]) : 0);
	if (getenv("PW_BENCH_COMM"))
		comm = getenv("PW_BENCH_COMM");
	if (rb && *rb)
		o.ringbuf_bytes = strtoull(rb, NULL, 0);
	if (verbose)
		o.log = on_log;
	int err = pw_monitor_new(&o, &M);
	if (!err && inc && *inc) {
		struct pw_rule r = { .sz = sizeof(r), .action = PW_RULE_INCLUDE, .match = PW_MATCH_NAME, .name = inc };
		err = pw_monitor_add_rule(M, &r);
	}
	if (err || (err = pw_monitor_start(M))) {
		fprintf(stderr, "pwnull: %s\n", pw_strerror(err));
		return 1;
	}
	if (argc > 2) { struct pw_rule r = { .sz = sizeof(r), .action = PW_RULE_EXCLUDE, .match = PW_MATCH_NAME, .name = argv[2] }; pw_monitor_add_rule(M, &r); }
	signal(SIGINT, on_sig); signal(SIGTERM, on_sig);
	if (verbose) {
		fprintf(stderr, "pwnull: ready\n");
		fflush(stderr);
	}
	int run_err = pw_monitor_run(M);
	if (verbose) /* what the stop left in the ring */
		while (pw_monitor_dispatch(M, 0) > 0)
			;
	struct pw_monitor_stats st = { .sz = sizeof(st) }; pw_monitor_stats(M, &st);
	fprintf(stderr, "pwnull: %ld events, lost %llu filtered %llu\n", n, (unsigned long long)st.events_lost, (unsigned long long)st.events_filtered);
	if (verbose)
		fprintf(stderr, "pwnull-detail: delivered %llu lost %llu filtered %llu tracked %llu malformed %llu"
			" run %d signal %d comm %s: process_create %llu exec %llu process_exit %llu thread_create %llu thread_exit %llu\n",
			(unsigned long long)st.events_delivered, (unsigned long long)st.events_lost,
			(unsigned long long)st.events_filtered, (unsigned long long)st.processes_tracked, malformed, run_err, (int)got_sig, comm,
			by_type[PW_EVENT_PROCESS_CREATE], by_type[PW_EVENT_EXEC], by_type[PW_EVENT_PROCESS_EXIT],
			by_type[PW_EVENT_THREAD_CREATE], by_type[PW_EVENT_THREAD_EXIT]);
	pw_monitor_free(M);
}
