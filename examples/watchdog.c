// SPDX-License-Identifier: MIT
/*
 * watchdog.c - a resource watchdog: run a program, and when it crosses an
 * alert rule ("cpu > 50% for 2s", "rss > 512M") notify, renice it or kill
 * it, once per crossing. Public API only:
 *   cc watchdog.c $(pkg-config --cflags --libs procward) -o watchdog
 *   watchdog [-a notify|renice|kill] [-i MS] [-v] -r RULE [-r RULE]... -- PROGRAM [ARG]...
 * The watchdog owns its target (its child, reaped only by it), so the pid
 * an alert names cannot have been reused by another process.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <procward.h>

enum action { NOTIFY, RENICE, KILL };

struct watchdog {
	pid_t child;
	enum action action;
	bool verbose;
	unsigned int actions;
};

#define RENICE_STEP 5
#define MAX_RULES 4

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static const char *kind_name(enum pw_alert_kind kind)
{
	return kind == PW_ALERT_CPU ? "cpu" : kind == PW_ALERT_RSS ? "rss" : "threads";
}

static void act(struct watchdog *w, const struct pw_event *ev)
{
	int nice_now;

	w->actions++;
	printf("alert rule %d %s %llu > %llu\n", pw_event_alert_rule(ev),
	       kind_name(pw_event_alert_kind(ev)), (unsigned long long)pw_event_alert_value(ev),
	       (unsigned long long)pw_event_alert_threshold(ev));
	switch (w->action) {
	case NOTIFY:
		printf("action notify pid %d\n", w->child);
		break;
	case RENICE:
		errno = 0;
		nice_now = getpriority(PRIO_PROCESS, (id_t)w->child);
		if (nice_now == -1 && errno)
			break;
		if (setpriority(PRIO_PROCESS, (id_t)w->child, nice_now + RENICE_STEP) == 0)
			printf("action renice pid %d nice %d\n", w->child, nice_now + RENICE_STEP);
		else
			fprintf(stderr, "watchdog: renice %d: %s\n", w->child, strerror(errno));
		break;
	case KILL:
		if (kill(w->child, SIGKILL) == 0)
			printf("action kill pid %d\n", w->child);
		break;
	}
}

static int on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	struct watchdog *w = userdata;
	const struct pw_rusage *ru;

	(void)m;
	if (pw_event_pid(ev) != w->child)
		return 0;
	if (pw_event_type(ev) == PW_EVENT_RESOURCE_ALERT) {
		act(w, ev);
	} else if (pw_event_type(ev) == PW_EVENT_PROCESS_EXIT && (ru = pw_event_rusage(ev))) {
		printf("usage pid %d cpu_ms=%.3f maxrss_kib=%llu life_ms=%.3f\n", w->child,
		       ru->cpu_ns / 1e6, (unsigned long long)(ru->max_rss_bytes / 1024),
		       ru->lifetime_ns / 1e6);
	}
	fflush(stdout);
	return 0;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* fork the target, held at a pipe until the rules name its pid; -1 on failure */
static pid_t spawn_held(char **argv, int *release)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		/* the target does not outlive its watchdog (not even a SIGKILLed one) */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || read(p[0], &c, 1) != 1)
			_exit(127); /* the watchdog went away before releasing it */
		close(p[0]);
		execvp(argv[0], argv);
		fprintf(stderr, "watchdog: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return -1;
	}
	*release = p[1];
	return pid;
}

static int usage(void)
{
	fprintf(stderr, "usage: watchdog [-a notify|renice|kill] [-i MS] [-v] -r RULE [-r RULE]... "
			"-- PROGRAM [ARG]...\n"
			"  RULE: 'cpu > 50%% for 2s', 'rss > 512M', 'threads > 100'\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct watchdog w = { .action = NOTIFY };
	PW_OPTS(pw_sampler_opts, opts, .on_event = on_event, .userdata = &w);
	struct pw_alert_rule rules[MAX_RULES];
	char *storage[MAX_RULES] = { 0 };
	const struct pw_sample *smp;
	struct pw_sampler *s = NULL;
	int n_rules = 0, interval_ms = 500, release = -1, status = 0, opt, err, ret = 1;
	bool reaped = false;

	while ((opt = getopt(argc, argv, "+a:i:r:v")) != -1) {
		switch (opt) {
		case 'a':
			if (!strcmp(optarg, "notify"))
				w.action = NOTIFY;
			else if (!strcmp(optarg, "renice"))
				w.action = RENICE;
			else if (!strcmp(optarg, "kill"))
				w.action = KILL;
			else
				return usage();
			break;
		case 'i':
			interval_ms = atoi(optarg);
			if (interval_ms < 10 || interval_ms > 3600000)
				return usage();
			break;
		case 'r':
			if (n_rules == MAX_RULES)
				return usage();
			if (pw_alert_rule_parse(optarg, &rules[n_rules], &storage[n_rules])) {
				fprintf(stderr, "watchdog: bad rule '%s'\n", optarg);
				return 2;
			}
			n_rules++;
			break;
		case 'v':
			w.verbose = true;
			break;
		default:
			return usage();
		}
	}
	if (!n_rules || optind >= argc)
		return usage();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	err = pw_sampler_new(&opts, &s);
	if (err)
		goto fail;
	w.child = spawn_held(argv + optind, &release);
	if (w.child < 0) {
		err = -errno;
		goto fail;
	}
	for (int i = 0; i < n_rules; i++) {
		rules[i].pid = w.child; /* only our target */
		err = pw_sampler_add_alert(s, &rules[i]);
		if (err < 0)
			goto fail;
	}
	err = pw_sampler_start(s);
	if (err)
		goto fail;
	if (write(release, "g", 1) != 1) {
		err = -errno;
		goto fail;
	}
	close(release);
	release = -1;
	printf("watchdog: pid %d started\n", w.child);
	fflush(stdout);

	while (!reaped && !stop_requested) {
		long long next = mono_ms() + interval_ms;

		/* collect exit events until the next sample */
		for (long long left; !stop_requested && (left = next - mono_ms()) > 0;) {
			err = pw_sampler_dispatch(s, (int)left);
			if (err < 0 && err != -EINTR)
				goto fail;
		}
		/* reap first, then sample: the final sample holds its exit event */
		reaped = waitpid(w.child, &status, WNOHANG) == w.child;
		err = pw_sampler_sample(s, &smp);
		if (err)
			goto fail;
		if (w.verbose) {
			for (size_t i = 0; i < pw_sample_count(smp); i++) {
				const struct pw_proc_usage *u = pw_sample_process(smp, i);

				if (u->key.pid == w.child)
					printf("sample pid %d cpu %.1f%% rss %llu%s\n", w.child,
					       pw_sample_interval_ns(smp) ?
						       u->cpu_delta_ns * 100.0 / pw_sample_interval_ns(smp) :
						       0.0,
					       (unsigned long long)u->rss_bytes, u->exited ? " exited" : "");
			}
			fflush(stdout);
		}
	}
	if (!reaped) { /* stopped by a signal: the target goes with the watchdog */
		kill(w.child, SIGKILL);
		waitpid(w.child, &status, 0);
	}
	if (WIFSIGNALED(status))
		printf("exit pid %d signal %d actions %u\n", w.child, WTERMSIG(status), w.actions);
	else
		printf("exit pid %d code %d actions %u\n", w.child, WEXITSTATUS(status), w.actions);
	ret = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	goto out;
fail:
	fprintf(stderr, "watchdog: %s\n", pw_strerror(err));
	if (w.child > 0) {
		kill(w.child, SIGKILL);
		waitpid(w.child, NULL, 0);
	}
	ret = 1;
out:
	if (release >= 0)
		close(release);
	pw_sampler_free(s);
	for (int i = 0; i < n_rules; i++)
		free(storage[i]);
	return ret;
}
