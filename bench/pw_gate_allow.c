/* pw-bench-gate: procward's exec gate with an allow-all handler, for the
 * benchmark to compare with the bare fanotify responder (fanotify_allow.c).
 *
 *   pw-bench-gate [--cache] [--no-handler] [--workers N] [--latency [--latency-out FILE]]
 *
 * (default)     every exec goes to a handler that allows it
 * --cache       the handler allows with pw_exec_allow_cached(): the kernel
 *               stops asking about an image once it was allowed
 * --no-handler  no handler: the library allows what no rule decides
 * --latency     also collect each decision's latency as the library measures
 *               it (pw_decision_latency_ns: from reading the event off the
 *               fanotify fd to the answer; cache hits and self excluded) and
 *               put "lat_n", "lat_p50_us", "lat_p99_us", "lat_max_us" first in the JSON;
 *               --latency-out FILE also writes each latency (ns), one per line
 *
 * Prints "ready" on stdout once every filesystem is marked; on SIGUSR1
 * prints the running gate's counters (decisions, guardian_verdicts,
 * guardian_pid) as one JSON line; on SIGTERM or SIGINT stops the gate and
 * prints its counters as one JSON line on stdout. */
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

/* --latency: on_decision runs on one thread; read after pw_gate_stop() joined it. */
#define LAT_MAX (1u << 20)
static uint64_t *lat;
static size_t nlat;
static const char *lat_out;

static void on_decision(struct pw_gate *g, const struct pw_gate_decision *d, void *ud)
{
	enum pw_gate_reason r = pw_decision_reason(d);

	(void)g, (void)ud;
	if (r != PW_GATE_BY_CACHE && r != PW_GATE_BY_SELF && nlat < LAT_MAX)
		lat[nlat++] = pw_decision_latency_ns(d);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct_us(double p)
{
	size_t i = (size_t)(p / 100.0 * (double)(nlat - 1) + 0.5);
	return lat[i < nlat ? i : nlat - 1] / 1000.0;
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
		} else if (!strcmp(argv[i], "--latency")) {
			lat = calloc(LAT_MAX, sizeof(*lat));
			if (!lat)
				return 1;
			opts.on_decision = on_decision;
		} else if (!strcmp(argv[i], "--latency-out") && i + 1 < argc) {
			lat_out = argv[++i];
		} else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
			opts.workers = (unsigned int)strtoul(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: pw-bench-gate [--cache] [--no-handler] [--workers N] [--latency [--latency-out FILE]]\n");
			return 2;
		}
	}
	/* The signals go to sigwait(), not to the gate's threads (they inherit the mask). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
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
	while (!sigwait(&set, &sig) && sig == SIGUSR1) {
		pw_gate_stats(g, &st);
		printf("{\"running\":true,\"decisions\":%" PRIu64 ",\"guardian_verdicts\":%" PRIu64
		       ",\"guardian_read\":%" PRIu64 ",\"guardian_pid\":%" PRId64 "}\n", st.decisions,
		       st.guardian_verdicts, st.guardian_read, st.guardian_pid);
		fflush(stdout);
	}
	pw_gate_stats(g, &st);
	entries = st.cache_entries; /* the cache is emptied by stop */
	pw_gate_stop(g);
	pw_gate_stats(g, &st);
	st.cache_entries = entries;
	if (lat && nlat && lat_out) {
		FILE *f = fopen(lat_out, "w");
		if (f) {
			for (size_t i = 0; i < nlat; i++)
				fprintf(f, "%" PRIu64 "\n", lat[i]);
			fclose(f);
		}
	}
	if (lat && nlat) {
		qsort(lat, nlat, sizeof(*lat), cmp_u64);
		printf("{\"lat_n\":%zu,\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_max_us\":%.1f,",
		       nlat, pct_us(50), pct_us(99), (double)lat[nlat - 1] / 1000.0);
	} else {
		printf("{");
	}
	printf("\"decisions\":%" PRIu64 ",\"allowed\":%" PRIu64 ",\"denied\":%" PRIu64
	       ",\"by_handler\":%" PRIu64 ",\"interpreter_opens\":%" PRIu64 ",\"no_args\":%" PRIu64
	       ",\"ungated\":%" PRIu64 ",\"overloaded\":%" PRIu64 ",\"cache_hits\":%" PRIu64
	       ",\"cache_misses\":%" PRIu64 ",\"cache_entries\":%" PRIu64 ",\"cache_evictions\":%" PRIu64
	       ",\"cache_flushes\":%" PRIu64 ",\"cache_refused\":%" PRIu64 ",\"guardian_verdicts\":%" PRIu64
	       ",\"guardian_read\":%" PRIu64 "}\n",
	       st.decisions, st.allowed, st.denied, st.by_handler, st.interpreter_opens, st.no_args,
	       st.ungated, st.overloaded, st.cache_hits, st.cache_misses, st.cache_entries,
	       st.cache_evictions, st.cache_flushes, st.cache_refused, st.guardian_verdicts, st.guardian_read);
	pw_gate_free(g);
	return 0;
}
