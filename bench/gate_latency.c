/* pw-bench-spawnlat: time each posix_spawn, for bench/gate_latency.py.
 *
 *   pw-bench-spawnlat [-n N] [-w W] [-c CPU] [-x PATH] [-o FILE]
 *
 * Pins itself to CPU (default 0; -1: not pinned), spawns W untimed warm-up
 * processes (default 0), then N times (default 1000):
 * t0 = now; posix_spawn(PATH); t1 = now; waitpid. glibc's posix_spawn uses
 * clone(CLONE_VM | CLONE_VFORK): it returns once the child's execve has
 * succeeded (or failed), so t1 - t0 covers the exec and, under an exec
 * gate, the wait for its verdicts. Writes t1 - t0 in ns, one per line, to
 * FILE (default stdout) and a summary JSON line on stderr:
 *   {"n":N,"failed":F,"p50_us":..,"p90_us":..,"p99_us":..,"max_us":..}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *s, long n, double p)
{
	long i = (long)(p / 100.0 * (n - 1) + 0.5);
	return s[i < n ? i : n - 1] / 1000.0;
}

int main(int argc, char **argv)
{
	long n = 1000, warm = 0, failed = 0, ok = 0;
	int cpu = 0, c;
	const char *path = "/bin/true", *outpath = NULL;
	FILE *out = stdout;

	while ((c = getopt(argc, argv, "n:w:c:x:o:")) != -1) {
		switch (c) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'w': warm = strtol(optarg, NULL, 10); break;
		case 'c': cpu = atoi(optarg); break;
		case 'x': path = optarg; break;
		case 'o': outpath = optarg; break;
		default:
			fprintf(stderr, "usage: pw-bench-spawnlat [-n N] [-w W] [-c CPU] [-x PATH] [-o FILE]\n");
			return 2;
		}
	}
	if (n < 1)
		return 2;
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			perror("sched_setaffinity");
			return 1;
		}
	}
	if (outpath && !(out = fopen(outpath, "w"))) {
		perror(outpath);
		return 1;
	}
	uint64_t *lat = calloc(n, sizeof(*lat));
	if (!lat)
		return 1;
	char *args[] = { (char *)path, NULL };
	for (long i = 0; i < warm; i++) {
		pid_t pid;
		int st;
		if (posix_spawn(&pid, path, NULL, NULL, args, environ) == 0)
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
	}
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st;
		uint64_t t0 = now_ns();
		int err = posix_spawn(&pid, path, NULL, NULL, args, environ);
		uint64_t t1 = now_ns();
		if (err) {
			failed++;
			continue;
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			failed++;
			continue;
		}
		lat[ok++] = t1 - t0;
	}
	for (long i = 0; i < ok; i++)
		fprintf(out, "%llu\n", (unsigned long long)lat[i]);
	if (out != stdout)
		fclose(out);
	if (ok) {
		qsort(lat, ok, sizeof(*lat), cmp);
		fprintf(stderr, "{\"n\":%ld,\"failed\":%ld,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}\n",
			ok, failed, pct(lat, ok, 50), pct(lat, ok, 90), pct(lat, ok, 99), lat[ok - 1] / 1000.0);
	}
	return failed ? 1 : 0;
}
