// SPDX-License-Identifier: MIT
/*
 * test_gate_cache.c - the exec gate's verdict cache against the real kernel.
 * Every rule is scoped to processes this test names (prctl) and every
 * cached verdict to programs copied into this test's own temporary
 * directory: a bug must never deny or stall the machine's own programs.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define EXEC_FAILED_BASE 200 /* child exit code: EXEC_FAILED_BASE + errno of execv */

static char dir[64];

/* watchdog: SIGALRM kills us, and the kernel releases every waiting exec */
TEST_DIR_FIXTURES(dir, "pw-gate-cache", 240)

static void copy_true(const char *to)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cp /bin/true %s && chmod 755 %s", to, to);
	assert_int_equal(system(cmd), 0);
}

/* fork; the child names itself (comm) and execs path with argv; returns its wait status. */
static int run_named(const char *comm, const char *path, char *const argv[])
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_NAME, comm);
		execv(path, argv);
		_exit(EXEC_FAILED_BASE + errno);
	}
	return wait_status(pid);
}

static void log_cb(enum pw_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if ((level <= PW_LOG_WARN && !strstr(msg, "cannot gate")) || strstr(msg, "not caching"))
		fprintf(stderr, "gate log: %s\n", msg);
}

struct cache_seen {
	pthread_mutex_t mu;
	int calls;                   /* handler calls for files in our directory */
	bool deny;                   /* the verdict for them: deny (else allow) */
	int deny_errno;              /* ... with this errno (0: EPERM) */
	atomic_int cache_records;    /* decision records by the cache for our files */
	atomic_int ungated_records;  /* ungated reports for our files (other people's execs may be ungated) */
	atomic_int guardian_records; /* our files answered by the guardian: the gate stalled timeout_ms */
};

/* Our files get a cached verdict; anything else (ld.so after a cached program) a plain allow. */
static int cache_handler(struct pw_gate *g, struct pw_exec_request *req, void *ud)
{
	struct cache_seen *s = ud;
	const char *image = pw_exec_image(req);

	(void)g;
	if (!image || strncmp(image, dir, strlen(dir)))
		return pw_exec_allow(req);
	pthread_mutex_lock(&s->mu);
	s->calls++;
	pthread_mutex_unlock(&s->mu);
	return s->deny ? pw_exec_deny_cached(req, s->deny_errno) : pw_exec_allow_cached(req);
}

static void cache_records(struct pw_gate *g, const struct pw_gate_decision *d, void *ud)
{
	struct cache_seen *s = ud;

	(void)g;
	if (strncmp(pw_decision_image(d), dir, strlen(dir)))
		return;
	if (pw_decision_reason(d) == PW_GATE_BY_CACHE)
		atomic_fetch_add(&s->cache_records, 1);
	else if (pw_decision_reason(d) == PW_GATE_UNGATED)
		atomic_fetch_add(&s->ungated_records, 1);
	else if (pw_decision_reason(d) == PW_GATE_BY_GUARDIAN)
		atomic_fetch_add(&s->guardian_records, 1);
}

/*
 * The gate judged every exec of ours: no ungated report and no guardian
 * verdict for our files (the gate machine-wide may see other people's
 * ungated execs, e.g. from memfd, and the guardian answers theirs only
 * after timeout_ms unread: the gate would have to stall 3 s).
 */
static void assert_all_judged(struct cache_seen *s, const struct pw_gate_stats *st)
{
	if (atomic_load(&s->ungated_records) || atomic_load(&s->guardian_records))
		fprintf(stderr, "ours: %d ungated, %d by guardian; machine-wide: %" PRIu64 " ungated, guardian %"
			PRIu64 " verdicts (%" PRIu64 " read by it), %" PRIu64 " records dropped\n",
			atomic_load(&s->ungated_records), atomic_load(&s->guardian_records), st->ungated,
			st->guardian_verdicts, st->guardian_read, st->sink_dropped);
	assert_int_equal(st->sink_dropped, 0); /* else the counts below miss records */
	assert_int_equal(atomic_load(&s->ungated_records), 0);
	assert_int_equal(atomic_load(&s->guardian_records), 0);
}

static int calls(struct cache_seen *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->calls;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static struct pw_gate *start_gate(struct cache_seen *s, const char *rule)
{
	/* records of what the test counts only: the whole machine's execs go through the gate */
	PW_OPTS(pw_gate_opts, o, .handler = cache_handler, .userdata = s, .timeout_ms = 3000,
		.on_decision = cache_records, .decision_userdata = s, .log = log_cb,
		.decision_filter = PW_GATE_RECORD_REASON(PW_GATE_BY_CACHE) |
				   PW_GATE_RECORD_REASON(PW_GATE_UNGATED) |
				   PW_GATE_RECORD_REASON(PW_GATE_BY_GUARDIAN));
	struct pw_gate *g = NULL;

	assert_int_equal(pw_gate_new(&o, &g), 0);
	if (rule)
		assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	assert_int_equal(pw_gate_start(g), 0);
	return g;
}

#define RUN(path) run_named("pwgc-allow", path, (char *[]){ "pwgc-true", NULL })

static void test_cached_allow_and_invalidation(void **state)
{
	struct cache_seen s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct pw_gate_stats st = { .sz = sizeof(st) };
	char prog[128], tmp[128], cmd[512], rule[192];
	struct pw_gate *g;

	(void)state;
	require_bpf();
	snprintf(prog, sizeof(prog), "%s/pwgc-true", dir);
	snprintf(tmp, sizeof(tmp), "%s/pwgc-true.new", dir);
	copy_true(prog);
	/*
	 * No subject-scoped rule: every exec of the machine goes to the handler,
	 * which allows what is not ours without caching it; a rule added later
	 * then comes first.
	 */
	g = start_gate(&s, NULL);

	/* asked once, both run */
	assert_int_equal(WEXITSTATUS(RUN(prog)), 0);
	assert_int_equal(WEXITSTATUS(RUN(prog)), 0);
	assert_int_equal(calls(&s), 1);
	pw_gate_stats(g, &st);
	assert_int_equal(st.cache_entries, 1);
	assert_true(st.cache_hits >= 1);

	/* modified in place: asked again */
	snprintf(cmd, sizeof(cmd), "printf x >> %s", prog);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(WEXITSTATUS(RUN(prog)), 0);
	assert_int_equal(calls(&s), 2);
	assert_int_equal(WEXITSTATUS(RUN(prog)), 0);
	assert_int_equal(calls(&s), 2);

	/* replaced by rename (a new inode): asked again */
	copy_true(tmp);
	assert_int_equal(rename(tmp, prog), 0);
	assert_int_equal(WEXITSTATUS(RUN(prog)), 0);
	assert_int_equal(calls(&s), 3);
	assert_int_equal(WEXITSTATUS(RUN(prog)), 0);
	assert_int_equal(calls(&s), 3);

	/* a deny rule added while the allow is cached: the next exec is denied */
	snprintf(rule, sizeof(rule), "deny path %s", prog);
	assert_int_equal(pw_gate_add_rule_text(g, rule), 0);
	assert_int_equal(WEXITSTATUS(RUN(prog)), EXEC_FAILED_BASE + EPERM);
	/* and removed again: asked again, allowed */
	assert_int_equal(pw_gate_remove_rule(g, 0), 0);
	assert_int_equal(WEXITSTATUS(RUN(prog)), 0);
	assert_int_equal(calls(&s), 4);
	/* rules with a subject stay fixed while running */
	assert_int_equal(pw_gate_add_rule_text(g, "deny by-name pwgc-other"), -EBUSY);

	/* decision records of the cached execs come off the decision path: wait, with a deadline */
	for (long long deadline = test_ms_now() + 5000;
	     atomic_load(&s.cache_records) < 3 && test_ms_now() < deadline;)
		usleep(2000); /* polling a condition with a deadline */
	pw_gate_stats(g, &st);
	pw_gate_free(g);
	fprintf(stderr, "cache: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " flushes, %" PRIu64
		" invalidated, %" PRIu64 " refused, %d cache records\n", st.cache_hits,
		st.cache_misses, st.cache_flushes, st.cache_invalidated, st.cache_refused,
		atomic_load(&s.cache_records));
	assert_true(st.cache_hits >= 3);
	assert_true(st.cache_flushes >= 2);
	assert_all_judged(&s, &st); /* cached execs are not ungated */
	assert_true(atomic_load(&s.cache_records) >= 3);

	/* a new gate starts with nothing cached */
	s.calls = 0;
	g = start_gate(&s, NULL);
	assert_int_equal(WEXITSTATUS(RUN(prog)), 0);
	pw_gate_stats(g, &st);
	pw_gate_free(g);
	assert_all_judged(&s, &st);
	assert_int_equal(calls(&s), 1);
}

static void test_cached_deny(void **state)
{
	struct cache_seen s = { .mu = PTHREAD_MUTEX_INITIALIZER, .deny = true };
	struct pw_gate_stats st = { .sz = sizeof(st) };
	char prog[128];
	struct pw_gate *g;
	int s1, s2;

	(void)state;
	require_bpf();
	snprintf(prog, sizeof(prog), "%s/pwgc-denied", dir);
	copy_true(prog);
	g = start_gate(&s, "gate by-name pwgc-deny");
	s1 = run_named("pwgc-deny", prog, (char *[]){ "pwgc-denied", NULL });
	s2 = run_named("pwgc-deny", prog, (char *[]){ "pwgc-denied", NULL });
	pw_gate_stats(g, &st);
	pw_gate_free(g);
	assert_int_equal(WEXITSTATUS(s1), EXEC_FAILED_BASE + EPERM);
	assert_int_equal(WEXITSTATUS(s2), EXEC_FAILED_BASE + EPERM);
	assert_int_equal(calls(&s), 1);
	assert_int_equal(st.cache_hits, 1);

	/* A cached deny repeats the handler's errno, where the kernel takes one. */
	s = (struct cache_seen){ .mu = PTHREAD_MUTEX_INITIALIZER, .deny = true, .deny_errno = EAGAIN };
	copy_true(prog); /* a new inode: nothing cached for it */
	g = start_gate(&s, "gate by-name pwgc-deny");
	if (pw_gate_deny_errno_supported(g)) {
		s1 = run_named("pwgc-deny", prog, (char *[]){ "pwgc-denied", NULL });
		s2 = run_named("pwgc-deny", prog, (char *[]){ "pwgc-denied", NULL });
		pw_gate_stats(g, &st);
		assert_int_equal(WEXITSTATUS(s1), EXEC_FAILED_BASE + EAGAIN);
		assert_int_equal(WEXITSTATUS(s2), EXEC_FAILED_BASE + EAGAIN);
		assert_int_equal(calls(&s), 1);
		assert_int_equal(st.cache_hits, 1);
	}
	pw_gate_free(g);
}

static void test_argv_rule_not_cached(void **state)
{
	struct cache_seen s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct pw_gate_stats st = { .sz = sizeof(st) };
	char prog[128];
	struct pw_gate *g;

	(void)state;
	require_bpf();
	snprintf(prog, sizeof(prog), "%s/pwgc-argv", dir);
	copy_true(prog);
	g = start_gate(&s, "gate by-name pwgc-arg arg --magic");
	for (int i = 0; i < 2; i++)
		assert_int_equal(WEXITSTATUS(run_named("pwgc-arg", prog,
						       (char *[]){ "pwgc-argv", "--magic", NULL })),
				 0);
	pw_gate_stats(g, &st);
	pw_gate_free(g);
	assert_int_equal(calls(&s), 2); /* asked both times: nothing was cached */
	assert_int_equal(st.cache_refused, 2);
	assert_int_equal(st.cache_entries, 0);
}

static void test_cache_rule_syntax(void **state)
{
	struct pw_gate_rule r;
	char *storage = NULL;

	(void)state;
	assert_int_equal(pw_gate_rule_parse("allow path /x/y cache", &r, &storage), 0);
	assert_true(r.cache);
	free(storage);
	/* a cached verdict cannot depend on the subject or argv */
	assert_int_equal(pw_gate_rule_parse("allow path /x/y uid 0 cache", &r, &storage),
			 -PW_ERR_RULE_SYNTAX);
	assert_int_equal(pw_gate_rule_parse("deny name x arg -c cache", &r, &storage),
			 -PW_ERR_RULE_SYNTAX);
	assert_int_equal(pw_gate_rule_parse("gate cache", &r, &storage), -PW_ERR_RULE_SYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_rule_syntax),
		cmocka_unit_test(test_cached_allow_and_invalidation),
		cmocka_unit_test(test_cached_deny),
		cmocka_unit_test(test_argv_rule_not_cached),
	};

	return cmocka_run_group_tests_name("gate_cache", tests, setup, teardown);
}
