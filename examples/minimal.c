// SPDX-License-Identifier: MIT
/*
 * minimal.c - the smallest useful libprocward application: print every exec
 * and process exit until SIGINT or for argv[1] seconds. Public API only:
 *   cc minimal.c $(pkg-config --cflags --libs procward) -o minimal
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <procward.h>

static struct pw_monitor *monitor;

static void on_signal(int sig)
{
	(void)sig;
	pw_monitor_stop(monitor); /* async-signal-safe */
}

static int on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	(void)m;
	(void)userdata;
	if (pw_event_type(ev) == PW_EVENT_EXEC) {
		printf("exec %d %s", pw_event_pid(ev), pw_event_image(ev));
		for (size_t i = 0; i < pw_event_argc(ev); i++)
			printf(" %s", pw_event_arg(ev, i));
		putchar('\n');
	} else if (pw_event_type(ev) == PW_EVENT_PROCESS_EXIT) {
		int status = pw_event_exit_status(ev);

		printf("exit %d %d\n", pw_event_pid(ev),
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	PW_OPTS(pw_monitor_opts, opts, .on_event = on_event,
		.events = PW_EVMASK(PW_EVENT_EXEC) | PW_EVMASK(PW_EVENT_PROCESS_EXIT));
	int err;

	err = pw_monitor_new(&opts, &monitor);
	if (!err)
		err = pw_monitor_start(monitor);
	if (err) {
		fprintf(stderr, "minimal: %s\n", pw_strerror(err));
		pw_monitor_free(monitor);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGALRM, on_signal);
	if (argc > 1)
		alarm((unsigned int)atoi(argv[1]));
	fprintf(stderr, "minimal: monitoring (libprocward %s)\n", pw_version());
	err = pw_monitor_run(monitor);
	if (err)
		fprintf(stderr, "minimal: %s\n", pw_strerror(err));
	pw_monitor_free(monitor);
	return err ? 1 : 0;
}
