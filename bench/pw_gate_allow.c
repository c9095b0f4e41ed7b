/* pw-bench-gate: procward's exec gate with an allow-all handler, for the
 * benchmark to compare with the bare fanotify responder (fanotify_allow.c).
 *
 *   pw-bench-gate [--cache] [--no-handler] [--workers N]
 *
 * (default)     every exec goes to a handler that allows it
 * --cache       the handler allows with pw_exec_allow_cached(): the kernel
 *               stops asking about an image once it was allowed
 * --no-handler  no handler: the library allows what no rule decides
 *
 * Prints "ready" on stdout once every filesystem is marked; on SIGTERM or
 * SIGINT stops the gate and prints its counters as one JSON line on stdout. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procward.h"

static int allow_all(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	(void)g, (void)ud;
	return pw_exec_allow(req);
}

static int allow_all_cached(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	(void)g, (void)ud;
	return pw_exec_allow_cached(req);
}

static void on_log(enum pw_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= PW_LOG_WARN && !strstr(msg, "cannot gate"))
		fprintf(stderr, "pw-bench-gate: %s\n", msg);
}

int main(int argc, char **argv)
{
	PW_OPTS(pw_gate_opts, opts, .handler = allow_all, .log = on_log);
	struct pw_gate_stats st = { .sz = sizeof(st) };
	struct pw_gate *g = NULL;
	uint64_t entries;
	sigset_t set;
	int err, sig;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cache")) {
			opts.handler = allow_all_cached;
		} else if (!strcmp(argv[i], "--no-handler")) {
			opts.handler = NULL;
		} else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
			opts.workers = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: pw-bench-gate [--cache] [--no-handler] [--workers N]\n");
			return 2;
		}
	}
	/* The signals go to sigwait(), not to the gate's threads (they inherit the mask). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	err = pw_gate_new(&opts, &g);
	if (!err)
		err = pw_gate_start(g);
	if (err) {
		fprintf(stderr, "pw-bench-gate: %s\n", pw_strerror(err));
		pw_gate_free(g);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	pw_gate_stats(g, &st);
	entries = st.cache_entries; /* the cache is emptied by stop */
	pw_gate_stop(g);
	pw_gate_stats(g, &st);
	st.cache_entries = entries;
	printf("{\"decisions\":%" PRIu64 ",\"allowed\":%" PRIu64 ",\"denied\":%" PRIu64
	       ",\"by_handler\":%" PRIu64 ",\"interpreter_opens\":%" PRIu64 ",\"no_args\":%" PRIu64
	       ",\"ungated\":%" PRIu64 ",\"overloaded\":%" PRIu64 ",\"cache_hits\":%" PRIu64
	       ",\"cache_misses\":%" PRIu64 ",\"cache_entries\":%" PRIu64 ",\"cache_evictions\":%" PRIu64
	       ",\"cache_flushes\":%" PRIu64 ",\"cache_refused\":%" PRIu64 "}\n",
	       st.decisions, st.allowed, st.denied, st.by_handler, st.interpreter_opens, st.no_args,
	       st.ungated, st.overloaded, st.cache_hits, st.cache_misses, st.cache_entries,
	       st.cache_evictions, st.cache_flushes, st.cache_refused);
	pw_gate_free(g);
	return 0;
}
