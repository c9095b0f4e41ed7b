// SPDX-License-Identifier: GPL-2.0
/*
 * lsm_probe: self-test proving the VM harness can run BPF LSM programs.
 *
 * Exit codes: 0 PASS, 1 FAIL, 77 SKIP (BPF LSM / trampolines unavailable on
 * this kernel, e.g. the 6.18 build host, where loading/attaching fails EPERM).
 *
 * Usage: lsm_probe [-v]        (-v: libbpf debug output)
 *        lsm_probe --exit0     (internal: exec target used to count execs)
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include "lsm_probe.skel.h"

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_SKIP 77

#ifndef ENOTSUPP
#define ENOTSUPP 524	/* kernel-internal "not supported", leaks out of bpf() */
#endif

static int verbose;
static int failures;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

#define CHECK(cond, ...)                                          \
	do {                                                      \
		if (cond) {                                       \
			printf("  ok: ");                         \
		} else {                                          \
			printf("  NOT OK: ");                     \
			failures++;                               \
		}                                                 \
		printf(__VA_ARGS__);                              \
		printf("\n");                                     \
		fflush(stdout);                                   \
	} while (0)

/* Errors meaning "this kernel cannot run BPF LSM / trampoline programs". */
static int is_unsupported(int err)
{
	err = err < 0 ? -err : err;
	return err == EPERM || err == ENOTSUPP || err == EOPNOTSUPP ||
	       err == ENOSYS || err == ENOENT;
}

/* Returns 1 if "bpf" is in the active LSM list, 0 if not, -1 if unknown. */
static int bpf_lsm_active(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/security/lsm", "r");
	size_t n;
	char *tok, *save = NULL, copy[512];

	buf[0] = '\0';
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(copy, sizeof(copy), "%s", buf);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "bpf") == 0)
			return 1;
	return 0;
}

static int skip(const char *why, int err)
{
	printf("SKIP: lsm_probe: BPF LSM unavailable: %s (%s)\n", why,
	       err ? strerror(err < 0 ? -err : err) : "no error code");
	printf("      (expected on kernels without BPF trampolines/LSM, e.g. the build host;"
	       " run it in tests/vm/run-vm.sh)\n");
	return EXIT_SKIP;
}

/* A failed load or attach: a skip where the kernel lacks the support, else a failure. */
static int setup_failed(struct lsm_probe_bpf *skel, int err, const char *step, const char *skip_why)
{
	lsm_probe_bpf__destroy(skel);
	if (is_unsupported(err))
		return skip(skip_why, err);
	printf("FAIL: lsm_probe: %s: %s\n", step, strerror(-err));
	return EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct lsm_probe_bpf *skel = NULL;
	char lsm[512];
	pid_t child;
	int err, status = 0, active, saved_errno;
	__u64 execs_before;

	if (argc > 1 && strcmp(argv[1], "--exit0") == 0)
		return 0;
	if (argc > 1 && strcmp(argv[1], "-v") == 0)
		verbose = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(libbpf_print);

	active = bpf_lsm_active(lsm, sizeof(lsm));
	printf("lsm_probe: active LSMs: %s\n", active < 0 ? "(unknown: securityfs not readable)" : lsm);
	if (active == 0)
		return skip("\"bpf\" is not in /sys/kernel/security/lsm", 0);

	skel = lsm_probe_bpf__open();
	if (!skel) {
		printf("FAIL: lsm_probe: open skeleton: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	err = lsm_probe_bpf__load(skel);
	if (err)
		return setup_failed(skel, err, "load", "loading the lsm/task_kill program failed");
	err = lsm_probe_bpf__attach(skel);
	if (err)
		return setup_failed(skel, err, "attach", "attaching the BPF programs failed");
	printf("lsm_probe: loaded and attached lsm/task_kill + tp_btf/sched_process_exec\n");

	/* 1. tp_btf/sched_process_exec counts an exec we cause. */
	execs_before = __atomic_load_n(&skel->bss->exec_count, __ATOMIC_SEQ_CST);
	child = fork();
	if (child == 0) {
		execl("/proc/self/exe", argv[0], "--exit0", (char *)NULL);
		_exit(127);
	}
	CHECK(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0,
	      "fork+exec of self (--exit0) succeeded");
	CHECK(__atomic_load_n(&skel->bss->exec_count, __ATOMIC_SEQ_CST) > execs_before,
	      "sched_process_exec counter went from %llu to %llu",
	      (unsigned long long)execs_before,
	      (unsigned long long)skel->bss->exec_count);

	/* 2. lsm/task_kill denies signals to the protected child. */
	child = fork();
	if (child < 0) {
		printf("FAIL: lsm_probe: fork: %s\n", strerror(errno));
		lsm_probe_bpf__destroy(skel);
		return EXIT_FAIL;
	}
	if (child == 0) {
		for (;;)
			pause();
	}

	__atomic_store_n(&skel->bss->target_tgid, (__u32)child, __ATOMIC_SEQ_CST);
	errno = 0;
	err = kill(child, SIGTERM);
	saved_errno = errno;
	CHECK(err == -1 && saved_errno == EPERM,
	      "kill(protected child %d, SIGTERM) denied with EPERM (got ret=%d errno=%s)",
	      (int)child, err, saved_errno ? strerror(saved_errno) : "0");
	CHECK(skel->bss->denied_count >= 1, "denied_count = %llu",
	      (unsigned long long)skel->bss->denied_count);
	CHECK(kill(child, 0) == 0, "kill(child, 0) existence probe still allowed");

	__atomic_store_n(&skel->bss->target_tgid, 0, __ATOMIC_SEQ_CST);
	errno = 0;
	err = kill(child, SIGTERM);
	saved_errno = errno;
	CHECK(err == 0, "kill(unprotected child, SIGTERM) allowed (ret=%d errno=%s)", err,
	      saved_errno ? strerror(saved_errno) : "0");
	if (err != 0)
		kill(child, SIGKILL);	/* make sure it does not outlive us */
	status = 0;
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status),
	      "child terminated by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : -1);

	lsm_probe_bpf__destroy(skel);

	if (failures) {
		printf("FAIL: lsm_probe: %d check(s) failed\n", failures);
		return EXIT_FAIL;
	}
	printf("PASS: lsm_probe\n");
	return EXIT_PASS;
}
