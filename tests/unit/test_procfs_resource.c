/* SPDX-License-Identifier: MIT */
/* test_procfs_resource.c - the resource fields of /proc/PID/stat (CPU ticks, vsize, rss), malformed too. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "snapshot/procfs.h"

/* Fields 1-24 of a real line; utime, stime, vsize, rss are parameters. */
#define HEAD "77 (a) b) R 1 1234 1234 0 -1 4194560 3150 6180 0 2 "
#define MID " 7 5 20 0 1 0 987654 "

static int parse(const char *line, struct pw_stat_fields *f)
{
	return pw_procfs_parse_stat(line, strlen(line), f);
}

static void resource_fields(void **state)
{
	struct pw_stat_fields f;

	(void)state;
	assert_int_equal(parse(HEAD "123 45" MID "25165824 1213 18446744073709551615 0\n", &f), 0);
	assert_int_equal(f.utime_ticks, 123);
	assert_int_equal(f.stime_ticks, 45);
	assert_int_equal(f.vsize_bytes, 25165824);
	assert_int_equal(f.rss_pages, 1213);
	assert_true(f.has_rss);
	assert_string_equal(f.comm, "a) b");
}

static void line_ending_at_22_has_no_rss(void **state)
{
	struct pw_stat_fields f;

	(void)state;
	assert_int_equal(parse(HEAD "1 2 7 5 20 0 1 0 987654", &f), 0);
	assert_false(f.has_rss);
	assert_int_equal(f.rss_pages, 0);
	/* Ending after 23 is fine too: rss unknown. */
	assert_int_equal(parse(HEAD "1 2 7 5 20 0 1 0 987654 4096\n", &f), 0);
	assert_false(f.has_rss);
	assert_int_equal(f.vsize_bytes, 4096);
}

static void malformed_resource_fields(void **state)
{
	struct pw_stat_fields f;

	(void)state;
	/* negative or non-numeric CPU ticks, rss, vsize; overflow */
	assert_int_equal(parse(HEAD "-1 45" MID "1 2\n", &f), -EINVAL);
	assert_int_equal(parse(HEAD "1 4x5" MID "1 2\n", &f), -EINVAL);
	assert_int_equal(parse(HEAD "1 2" MID "1 -2\n", &f), -EINVAL);
	assert_int_equal(parse(HEAD "1 2" MID "x 2\n", &f), -EINVAL);
	assert_int_equal(parse(HEAD "1 2" MID "1 18446744073709551616\n", &f), -EINVAL);
	/* doubled separators */
	assert_int_equal(parse(HEAD "1 2" MID "1  2\n", &f), -EINVAL);
	assert_int_equal(parse(HEAD "1  2" MID "1 2\n", &f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resource_fields),
		cmocka_unit_test(line_ending_at_22_has_no_rss),
		cmocka_unit_test(malformed_resource_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
