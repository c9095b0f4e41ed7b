/* SPDX-License-Identifier: MIT */
/* test_log.c - libbpf's process-wide print function: routed to a handle's logger while it loads, chained otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <bpf/libbpf.h>

#include "core/log.h"

static int app_calls;
static char app_last[512];

static int app_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	app_calls++;
	vsnprintf(app_last, sizeof(app_last), fmt, ap);
	return 0;
}

static int logger_calls;
static char logger_last[512];

static void logger_fn(enum pw_log_level level, const char *msg, void *userdata)
{
	(void)level;
	(*(int *)userdata)++;
	snprintf(logger_last, sizeof(logger_last), "%s", msg);
}

/* libbpf warns when it cannot open an object file: a message on demand, no privileges needed. */
static void provoke_libbpf_message(void)
{
	struct bpf_object *obj = bpf_object__open_file("/nonexistent/pw-test-log.bpf.o", NULL);

	assert_true(libbpf_get_error(obj) != 0 || obj == NULL);
}

static int setup(void **state)
{
	(void)state;
	app_calls = logger_calls = 0;
	app_last[0] = logger_last[0] = 0;
	return 0;
}

/* Messages libbpf prints per failed open (its version decides), counted with nothing of ours in the way. */
static int per_open;

static void window_routes_then_chains(void **state)
{
	struct pw_logger log = { .fn = logger_fn, .userdata = &logger_calls };

	(void)state;
	libbpf_set_print(app_print);
	provoke_libbpf_message();
	per_open = app_calls;
	assert_true(per_open >= 1);
	assert_non_null(strstr(app_last, "pw-test-log.bpf.o"));

	/* a handle loading: its logger gets the messages, the application's function none */
	pw_log_libbpf_begin(&log);
	provoke_libbpf_message();
	pw_log_libbpf_end();
	assert_int_equal(logger_calls, per_open);
	assert_non_null(strstr(logger_last, "pw-test-log.bpf.o"));
	assert_int_equal(app_calls, per_open);

	/* after it: the application's function again, not dropped */
	provoke_libbpf_message();
	assert_int_equal(app_calls, 2 * per_open);
	assert_int_equal(logger_calls, per_open);
	/* ours stays installed, chaining: the process-wide function is not app_print */
	libbpf_print_fn_t installed = libbpf_set_print(app_print);

	assert_true(installed != app_print);
	libbpf_set_print(installed);
}

/* A handle without a logger asked for silence: nothing reaches anyone while it loads. */
static void silent_window(void **state)
{
	(void)state;
	pw_log_libbpf_begin(NULL);
	provoke_libbpf_message();
	pw_log_libbpf_end();
	assert_int_equal(app_calls, 0);
	provoke_libbpf_message();
	assert_int_equal(app_calls, per_open);
}

/* Through the public API: pw_features() loads probes; the application's print function survives it. */
static void public_api_keeps_app_print(void **state)
{
	(void)state;
	(void)pw_features();
	assert_int_equal(app_calls, 0); /* the probes' expected failures are not the application's */
	provoke_libbpf_message();
	assert_int_equal(app_calls, per_open);
	assert_non_null(strstr(app_last, "pw-test-log.bpf.o"));
}

static char collected[16384];

static void collect_fn(enum pw_log_level level, const char *msg, void *userdata)
{
	size_t len = strlen(collected);

	(void)level;
	(*(int *)userdata)++;
	assert_null(strchr(msg, '\n')); /* one line per call */
	snprintf(collected + len, sizeof(collected) - len, "%s|", msg);
}

/*
 * A message longer than any fixed buffer (a verifier log is kilobytes, its
 * reason in the last lines) reaches the logger whole: here libbpf's
 * message about a 3000-byte path, which a 1 KiB buffer used to cut.
 */
static void long_message_whole(void **state)
{
	struct pw_logger log = { .fn = collect_fn, .userdata = &logger_calls };
	char path[3100];
	struct bpf_object *obj;
	int n = snprintf(path, sizeof(path), "/nonexistent/");

	(void)state;
	for (; n < 3000; n++)
		path[n] = (char)('a' + n % 26);
	snprintf(path + n, sizeof(path) - (size_t)n, "/pw-test-log-end.bpf.o");
	collected[0] = 0;
	pw_log_libbpf_begin(&log);
	obj = bpf_object__open_file(path, NULL);
	pw_log_libbpf_end();
	assert_true(libbpf_get_error(obj) != 0 || obj == NULL);
	assert_true(logger_calls >= 1);
	assert_non_null(strstr(collected, path)); /* the whole path, its end included */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(window_routes_then_chains, setup),
		cmocka_unit_test_setup(silent_window, setup),
		cmocka_unit_test_setup(public_api_keeps_app_print, setup),
		cmocka_unit_test_setup(long_message_whole, setup), /* after the others: they install app_print first */
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
