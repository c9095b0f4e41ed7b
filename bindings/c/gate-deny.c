// SPDX-License-Identifier: MIT
/*
 * gate-deny.c - the bindings contract, in C: deny every exec of PATH (EPERM),
 * allow the rest, print "ready" once the gate decides execs; stop on SIGINT
 * or SIGTERM. The handler decides, so the binding's handler path is what runs;
 * other images get a cached allow (the kernel stops asking about them).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <procward.h>

static int handler(struct pw_gate *g, struct pw_exec_request *req, void *userdata)
{
	const char *denied = userdata;
	const char *image = pw_exec_image(req);

	(void)g;
	/* a late verdict (-ETIMEDOUT: the deadline passed) is counted by the library */
	if (image && strcmp(image, denied) == 0)
		pw_exec_deny(req, EPERM);
	else
		pw_exec_allow_cached(req);
	return 0;
}

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	struct pw_gate *gate = NULL;
	sigset_t stop_signals;
	int err, sig;

	if (argc != 2) {
		fprintf(stderr, "usage: gate-deny PATH\n");
		return 2;
	}
	/* the gate reports the resolved image path */
	if (!realpath(argv[1], path)) {
		fprintf(stderr, "gate-deny: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	/* blocked before the gate starts its threads, so only sigwait() sees them */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

	PW_OPTS(pw_gate_opts, opts, .handler = handler, .userdata = path);
	err = pw_gate_new(&opts, &gate);
	if (!err)
		err = pw_gate_start(gate);
	if (err) {
		fprintf(stderr, "gate-deny: %s\n", pw_strerror(err));
		pw_gate_free(gate);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&stop_signals, &sig);
	pw_gate_free(gate); /* stops: answers what is pending, joins the threads */
	return 0;
}
