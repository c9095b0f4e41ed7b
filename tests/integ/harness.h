/* SPDX-License-Identifier: MIT */
/*
 * harness.h - shared by the integration tests: a collector that copies
 * every event it receives, and helpers to pump a monitor until an expected
 * event arrives. Events are copied because they are borrowed in callbacks.
 */
#ifndef PW_TEST_HARNESS_H
#define PW_TEST_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

#include "procward.h"

struct rec {
	enum pw_event_type type;
	pid_t pid, tid, ppid, creator_pid, creator_tid;
	struct pw_proc_key key, parent_key;
	unsigned int clone_flags, flags;
	uint64_t raw_clone_flags;
	int exit_status;
	uint64_t lost;
	char name[16];
	char *image, *filename, *cwd, *previous_image, *user;
	char **argv;
	size_t argc;
	struct pw_token token;
};

struct collector {
	struct rec *v;
	size_t n, cap;
	uint64_t lost;
};

/* pw_event_fn that appends a copy of every event to the collector in userdata. */
int collector_on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata);
void collector_free(struct collector *c);

/* A monitor feeding `c`; extra options may be given through `opts` (NULL: defaults). */
struct pw_monitor *start_monitor(struct collector *c, struct pw_monitor_opts *opts);
/* Dispatch for about `ms` milliseconds. */
void pump(struct pw_monitor *m, int ms);

typedef bool (*rec_pred)(const struct rec *r, const void *arg);
/* Pump until a record matching pred is collected (searching from index 0); NULL on timeout. */
const struct rec *wait_for(struct pw_monitor *m, struct collector *c, rec_pred pred,
			   const void *arg, int timeout_ms);
/* Count records matching pred. */
size_t count_recs(const struct collector *c, rec_pred pred, const void *arg);

/* Common predicates; arg points to a pid_t (or struct type_pid). */
struct type_pid {
	enum pw_event_type type;
	pid_t pid;
};
bool is_type_pid(const struct rec *r, const void *arg); /* type and pid */
bool is_type_tid(const struct rec *r, const void *arg); /* type and tid */
/* wait_for() the first record of `type` for `pid` (up to 5 s); fails the test if none comes. */
const struct rec *expect_event(struct pw_monitor *m, struct collector *c, enum pw_event_type type, pid_t pid);
/* Count the records of `type` for `pid` collected so far. */
size_t count_events(const struct collector *c, enum pw_event_type type, pid_t pid);

/* fork + optional chdir + execv; returns the child pid. */
pid_t spawn_exec(const char *path, char *const argv[], const char *cwd);
/* waitpid for pid and return the raw status. */
int wait_status(pid_t pid);
/* wait_status() of a process that must exit normally (fails the test if it was killed): its exit code. */
int wait_exit_code(pid_t pid);

/* Skip the calling test (cmocka skip()) unless running as root with BPF. */
void require_bpf(void);
/* rm -rf of a directory a test made under /tmp (anything else is left alone). */
void remove_tree(const char *dir);

/*
 * Synchronisation without sleeping: read up to len bytes once fd is
 * readable within timeout_ms (bytes read, 0 at EOF, -ETIMEDOUT, -errno).
 */
int read_within(int fd, void *buf, size_t len, int timeout_ms);
/* spawn_exec() that returns once the new image runs (its exec succeeded), or fails the test. */
pid_t spawn_exec_ready(const char *path, char *const argv[], const char *cwd);

/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
long long test_ms_now(void);
/* A fresh /tmp/PREFIX-XXXXXX (mode 0755) into dir; test_dir_remove() removes it (if made). */
void test_dir_make(char *dir, size_t len, const char *prefix);
void test_dir_remove(char *dir);
/* Copy a file (a program to exec, under a test's own name) with this mode. */
void copy_file_as(const char *from, const char *to, mode_t mode);
/* A hexadecimal field of /proc/PID/status ("CapEff", "CapBnd"). */
uint64_t proc_status_hex(pid_t pid, const char *field);
/* Nanoseconds on CPU of a process, all threads (/proc/PID/schedstat). */
uint64_t proc_schedstat_ns(pid_t pid);
/* /proc/PID/stat read into buf: a pointer to its fields after the comm (the state first). */
char *proc_stat_fields(pid_t pid, char *buf, size_t len);
/*
 * The next line read from fd, through buf (cap bytes, *len of them held):
 * malloc'd, without its newline; NULL at EOF or after timeout_ms.
 */
char *read_line_within(int fd, char *buf, size_t cap, size_t *len, int timeout_ms);
/* A whole file (up to 1 MiB - 1), NUL-terminated (free it). */
char *slurp_file(const char *path);
/* Lines of text holding both substrings (b may be NULL). */
size_t count_lines_with(const char *text, const char *a, const char *b);
/* argv[first..last] = strdup("TAGnn-xxx...") of 70 x: a long argv (free each). */
void fill_args(char *argv[], int first, int last, const char *tag);
/*
 * cmocka group setup of a suite with its own directory: test_dir_make()
 * when root (the tests skip themselves otherwise), and a watchdog alarm of
 * watchdog_s seconds (0: none) that ends a hung run.
 */
int test_dir_setup(char *dir, size_t len, const char *prefix, unsigned int watchdog_s);
/* The group setup() and teardown() of a suite that needs nothing but its directory. */
#define TEST_DIR_FIXTURES(DIR, PREFIX, WATCHDOG_S)                               \
	static int setup(void **state)                                         \
	{                                                                      \
		(void)state;                                                   \
		return test_dir_setup(DIR, sizeof(DIR), PREFIX, WATCHDOG_S);   \
	}                                                                      \
	static int teardown(void **state)                                      \
	{                                                                      \
		(void)state;                                                   \
		test_dir_remove(DIR);                                          \
		return 0;                                                      \
	}
/* uid, euid (= suid = fsuid), gid, egid (= sgid = fsgid) of an event's token. */
void assert_token_ids(const struct pw_token *t, uint32_t uid, uint32_t euid, uint32_t gid,
		      uint32_t egid);

/* ------------------------------------------------- the procward CLI as a process under test */

#define PW_TEST_CLI PW_TEST_BUILD_DIR "/procward"

/* A running `procward ...`: stdin and stdout /dev/null, stderr read by the test. */
struct cli_proc {
	pid_t pid;
	int pidfd;
	int errfd;       /* its stderr */
	char err[1 << 17]; /* what it wrote there so far (gate -vv: ~70 KiB of libbpf's debug lines) */
	size_t errlen;
	pthread_t watchdog;
	int watchdog_ms;
	volatile int reaped;
};
/*
 * Start PW_TEST_CLI with argv; a watchdog thread SIGKILLs it by pidfd (no
 * exec needed, so a hung gate cannot stop it) after watchdog_ms.
 */
void cli_start(struct cli_proc *p, char *const argv[], int watchdog_ms);
/* Read its stderr until `needle` shows up (true) or the deadline / its end (false). */
bool cli_wait_stderr(struct cli_proc *p, const char *needle, int timeout_ms);
/* Send sig (0: none), wait for the end within timeout_ms (then SIGKILL); the exit status (128+N for a signal). */
int cli_finish(struct cli_proc *p, int sig, int timeout_ms);

#endif
