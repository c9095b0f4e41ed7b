// SPDX-License-Identifier: MIT
// null.c - the overhead baseline in C: every lifecycle event, an empty handler
// (a counter); "ready" on stdout once started, "events N" on stderr at SIGTERM.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <procward.h>

static struct pw_monitor *monitor;
static void on_signal(int sig) { (void)sig; pw_monitor_stop(monitor); }
static int on_event(struct pw_monitor *m, const struct pw_event *ev, void *ud)
{
	(void)m;
	(void)ev;
	(*(unsigned long *)ud)++;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long n = 0;
	PW_OPTS(pw_monitor_opts, opts, .on_event = on_event, .userdata = &n, .events = PW_EVMASK_ALL);
	struct sigaction sa = { .sa_handler = on_signal };

	struct pw_rule rule = { .sz = sizeof(rule) };
	char *storage = NULL;

	if (pw_monitor_new(&opts, &monitor))
		return 1;
	/* argv[1]: a rule (the benchmark's "include name pw-bench-load") */
	if (argc > 1 && (pw_rule_parse(argv[1], &rule, &storage) || pw_monitor_add_rule(monitor, &rule)))
		return 1;
	free(storage);
	if (pw_monitor_start(monitor))
		return 1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	pw_monitor_run(monitor);
	fprintf(stderr, "events %lu\n", n);
	pw_monitor_free(monitor);
	return 0;
}
