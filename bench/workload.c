/* pw-bench-load: the process storms that bench/run.py times.
 *
 *   pw-bench-load MODE [-n N] [-p P] [-x PATH]
 *
 * MODE   spawn     posix_spawn(PATH) + waitpid, N times
 *        forkexec  fork + execve(PATH) + waitpid, N times
 *        thread    pthread_create + pthread_join, N times
 *        fork      fork + _exit(0) + waitpid, N times (no exec)
 *        access    kill(SIGUSR1, ignored) + process_vm_readv aimed at a child, N times
 * -n N   operations in total (default 1000)
 * -p P   spread them over P parallel worker processes (default 1; with P > 1
 *        the workers are forked first and each does N/P operations)
 * -x PATH  program to spawn/exec (default /bin/true); the benchmark passes a
 *        copy of /bin/true that is itself named pw-bench-load, so that every
 *        process of the storm carries the comm "pw-bench-load"
 *
 * Prints one JSON line on stdout:
 *   {"mode":"spawn","ops":3000,"procs":1,"elapsed_s":2.61,"failed":0}
 * Exit status 0 when every operation succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <signal.h>
#include <stdio.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *exec_path = "/bin/true";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? 0 : -1;
}

static void *thread_fn(void *arg)
{
	return arg;
}

/* One operation; returns 0 on success. */
static int op(const char *mode)
{
	pid_t pid;
	char *argv[] = { (char *)exec_path, NULL };

	if (strcmp(mode, "spawn") == 0) {
		if (posix_spawn(&pid, exec_path, NULL, NULL, argv, environ) != 0)
			return -1;
		return reap(pid);
	}
	if (strcmp(mode, "forkexec") == 0) {
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0) {
			execve(exec_path, argv, environ);
			_exit(127);
		}
		return reap(pid);
	}
	if (strcmp(mode, "fork") == 0) {
		pid = fork();
		if (pid < 0)
			return -1;
		if (pid == 0)
			_exit(0);
		return reap(pid);
	}
	if (strcmp(mode, "access") == 0) {
		/* access-event traffic: a signal and a memory read aimed at a child */
		static pid_t target;
		static long word;
		long buf;
		struct iovec local = { &buf, sizeof(buf) }, remote = { &word, sizeof(word) };

		if (!target) {
			target = fork();
			if (target < 0)
				return -1;
			if (target == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the workload */
				signal(SIGUSR1, SIG_IGN);
				for (;;)
					pause();
			}
			usleep(10000); /* let it ignore SIGUSR1 before the first kill */
		}
		if (kill(target, SIGUSR1) != 0)
			return -1;
		return process_vm_readv(target, &local, 1, &remote, 1, 0) == sizeof(buf) ? 0 : -1;
	}
	if (strcmp(mode, "thread") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_fn, NULL) != 0)
			return -1;
		return pthread_join(t, NULL) == 0 ? 0 : -1;
	}
	return -1;
}

static long run_ops(const char *mode, long n)
{
	long failed = 0;
	for (long i = 0; i < n; i++)
		if (op(mode) != 0)
			failed++;
	return failed;
}

static void usage(void)
{
	fprintf(stderr, "usage: pw-bench-load spawn|forkexec|thread|fork|access [-n N] [-p P] [-x PATH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long n = 1000, procs = 1, failed = 0;
	const char *mode;
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	if (strcmp(mode, "spawn") && strcmp(mode, "forkexec") &&
	    strcmp(mode, "thread") && strcmp(mode, "fork") && strcmp(mode, "access"))
		usage();
	optind = 2;
	while ((c = getopt(argc, argv, "n:p:x:")) != -1) {
		switch (c) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'p': procs = strtol(optarg, NULL, 10); break;
		case 'x': exec_path = optarg; break;
		default: usage();
		}
	}
	if (n < 1 || procs < 1 || procs > 256)
		usage();
	/* The binary is already called pw-bench-load; make sure of the comm. */
	prctl(PR_SET_NAME, "pw-bench-load", 0, 0, 0);

	double t0 = now();
	if (procs == 1) {
		failed = run_ops(mode, n);
	} else {
		/* Shared counter of failures across workers. */
		long *shared = mmap(NULL, sizeof(long) * procs, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		pid_t *pids = calloc(procs, sizeof(pid_t));
		if (shared == MAP_FAILED || !pids) {
			perror("pw-bench-load");
			return 1;
		}
		for (long w = 0; w < procs; w++) {
			long share = n / procs + (w < n % procs ? 1 : 0);
			pids[w] = fork();
			if (pids[w] < 0) {
				perror("fork");
				return 1;
			}
			if (pids[w] == 0) {
				shared[w] = run_ops(mode, share);
				_exit(0);
			}
		}
		for (long w = 0; w < procs; w++) {
			if (reap(pids[w]) != 0)
				failed++;
			failed += shared[w];
		}
	}
	double el = now() - t0;
	printf("{\"mode\":\"%s\",\"ops\":%ld,\"procs\":%ld,\"elapsed_s\":%.6f,\"failed\":%ld}\n",
	       mode, n, procs, el, failed);
	return failed ? 1 : 0;
}
