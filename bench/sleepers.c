/* pw-bench-sleepers: N live processes that do nothing, for bench/rss.sh.
 *
 *   pw-bench-sleepers N
 *
 * Forks N children that pause() forever, prints "ready N" on stdout, and
 * waits. On SIGTERM, SIGINT or SIGHUP it SIGKILLs every child, reaps them and
 * exits. Each child also has PR_SET_PDEATHSIG = SIGKILL, so that if this
 * process dies in any way (SIGKILL included) the children go with it. It
 * puts itself in its own process group first: `kill -KILL -- -PID` reaches
 * all of them at once. Exit status 0 when all N were started and reaped. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
	pid_t self = getpid(), *kids;
	long started = 0, reaped = 0;
	struct sigaction sa = { .sa_handler = on_sig };
	sigset_t block, old;

	if (n < 1 || n > 1000000) {
		fprintf(stderr, "usage: pw-bench-sleepers N\n");
		return 2;
	}
	kids = calloc(n, sizeof(*kids));
	if (!kids)
		return 1;
	setpgid(0, 0);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Signals wait until every child exists (then sigsuspend sees them). */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (; started < n; started++) {
		pid_t p = fork();
		if (p < 0) {
			fprintf(stderr, "pw-bench-sleepers: fork %ld: %m\n", started);
			break;
		}
		if (p == 0) {
			signal(SIGTERM, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(0);
			sigprocmask(SIG_SETMASK, &old, NULL);
			for (;;)
				pause();
		}
		kids[started] = p;
	}
	if (started == n) {
		printf("ready %ld\n", started);
		fflush(stdout);
		while (!stop)
			sigsuspend(&old);
	}
	for (long i = 0; i < started; i++)
		kill(kids[i], SIGKILL);
	for (;;) {
		pid_t p = waitpid(-1, NULL, 0);
		if (p > 0)
			reaped++;
		else if (errno != EINTR)
			break;
	}
	fprintf(stderr, "pw-bench-sleepers: started %ld reaped %ld\n", started, reaped);
	return started == n && reaped == n ? 0 : 1;
}
