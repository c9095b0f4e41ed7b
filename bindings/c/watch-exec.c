// SPDX-License-Identifier: MIT
/*
 * watch-exec.c - the bindings contract, in C: one line per exec,
 * "PID<TAB>UID<TAB>argv joined by single spaces", until SIGINT or SIGTERM.
 * Bytes below 0x20, 0x7f and '\' in an argument are written as \xHH (so a
 * hostile argv cannot forge a line or a field); see bindings/README.md.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <procward.h>

static struct pw_monitor *monitor;

static void on_signal(int sig)
{
	(void)sig;
	pw_monitor_stop(monitor); /* async-signal-safe */
}

static void put_escaped(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

static int on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	const struct pw_token *token = pw_event_token(ev);
	size_t argc = pw_event_argc(ev);

	(void)m;
	(void)userdata;
	printf("%d\t%u\t", pw_event_pid(ev), token ? token->uid : (uint32_t)-1);
	for (size_t i = 0; i < argc; i++) {
		if (i)
			putchar(' ');
		put_escaped(pw_event_arg(ev, i));
	}
	putchar('\n');
	fflush(stdout);
	return 0;
}

int main(void)
{
	PW_OPTS(pw_monitor_opts, opts, .on_event = on_event, .events = PW_EVMASK(PW_EVENT_EXEC));
	struct sigaction sa = { .sa_handler = on_signal };
	int err;

	err = pw_monitor_new(&opts, &monitor);
	if (!err)
		err = pw_monitor_start(monitor);
	if (err) {
		fprintf(stderr, "watch-exec: %s\n", pw_strerror(err));
		pw_monitor_free(monitor);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = pw_monitor_run(monitor);
	if (err)
		fprintf(stderr, "watch-exec: %s\n", pw_strerror(err));
	pw_monitor_free(monitor);
	return err ? 1 : 0;
}
