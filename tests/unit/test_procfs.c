/* SPDX-License-Identifier: MIT */
/* test_procfs.c - the /proc text parsers, the decimal parser they share (core/number.h), and pw_process argv handling, on malformed input too. */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/number.h"
#include "snapshot/procfs.h"
#include "snapshot/process.h"

/* A real line (kernel 6.x, 52 fields) with comm and starttime as parameters. */
#define STAT_FMT                                                               \
	"%s (%s) S 1 1234 1234 0 -1 4194560 3150 6180 0 2 4 3 7 5 20 0 %s 0 %s "   \
	"25165824 1213 18446744073709551615 94241146687488 94241147380133 "    \
	"140732816052816 0 0 0 0 4096 1260 1 0 0 17 1 0 0 0 0 0 94241147561232 " \
	"94241147587724 94241176436736 140732816058089 140732816058104 "       \
	"140732816058104 140732816060396 0\n"

/* parse(text, length, out) refuses every text of bad[] with -EINVAL. */
#define ASSERT_ALL_REFUSED(parse, bad, out)                                                    \
	for (size_t bad_i_ = 0; bad_i_ < sizeof(bad) / sizeof((bad)[0]); bad_i_++) {            \
		if (parse((bad)[bad_i_], strlen((bad)[bad_i_]), out) != -EINVAL)                 \
			fail_msg("%s accepted malformed #%zu: \"%s\"", #parse, bad_i_, (bad)[bad_i_]); \
	}

static int parse_stat_fmt(const char *pid, const char *comm, const char *threads,
			  const char *start, struct pw_stat_fields *f)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), STAT_FMT, pid, comm, threads, start);

	assert_true(n > 0 && (size_t)n < sizeof(line));
	return pw_procfs_parse_stat(line, (size_t)n, f);
}

static void stat_normal(void **state)
{
	struct pw_stat_fields f;

	(void)state;
	assert_int_equal(parse_stat_fmt("4321", "bash", "3", "987654", &f), 0);
	assert_int_equal(f.pid, 4321);
	assert_string_equal(f.comm, "bash");
	assert_int_equal(f.state, 'S');
	assert_int_equal(f.ppid, 1);
	assert_int_equal(f.num_threads, 3);
	assert_true(f.starttime_ticks == 987654);
}

static void stat_comm_with_parens_and_spaces(void **state)
{
	struct pw_stat_fields f;

	(void)state;
	assert_int_equal(parse_stat_fmt("7", "a) S 1 (b", "1", "5", &f), 0);
	assert_string_equal(f.comm, "a) S 1 (b");
	assert_int_equal(f.ppid, 1);
	assert_int_equal(parse_stat_fmt("7", "))", "2", "5", &f), 0);
	assert_string_equal(f.comm, "))");
	assert_int_equal(f.num_threads, 2);
	assert_int_equal(parse_stat_fmt("7", "", "1", "5", &f), 0);
	assert_string_equal(f.comm, "");
	assert_int_equal(parse_stat_fmt("7", "x y z", "1", "5", &f), 0);
	assert_string_equal(f.comm, "x y z");
}

static void stat_comm_with_newline_and_long(void **state)
{
	struct pw_stat_fields f;

	(void)state;
	assert_int_equal(parse_stat_fmt("8", "evil\n1 (x) R", "1", "5", &f), 0);
	assert_string_equal(f.comm, "evil\n1 (x) R");
	assert_int_equal(f.state, 'S');
	/* workqueue workers show more than 15 bytes: cut, never overflowed */
	assert_int_equal(parse_stat_fmt("9", "kworker/u8:2-events_unbound", "1", "5", &f), 0);
	assert_string_equal(f.comm, "kworker/u8:2-ev");
}

static void stat_truncated(void **state)
{
	char line[2048];
	struct pw_stat_fields f;
	int n = snprintf(line, sizeof(line), STAT_FMT, "10", "cat", "1", "424242");
	size_t cut, end_of_22;

	(void)state;
	/* Every prefix that ends before field 22 is complete must be rejected. */
	end_of_22 = (size_t)(strstr(line, " 424242 ") - line) + strlen(" 424242");
	for (cut = 0; cut < end_of_22 - strlen("424242"); cut++)
		assert_int_equal(pw_procfs_parse_stat(line, cut, &f), -EINVAL);
	/* Ending right after field 22 is fine: later fields are not needed. */
	assert_int_equal(pw_procfs_parse_stat(line, end_of_22, &f), 0);
	assert_true(f.starttime_ticks == 424242);
	assert_int_equal(pw_procfs_parse_stat(line, (size_t)n, &f), 0);
	assert_int_equal(pw_procfs_parse_stat(NULL, 0, &f), -EINVAL);
}

static void stat_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"1 bash) S 1",
		"1 (bash S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"(bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"x (bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"-1 (bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"1(bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"1 )bash( S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"1 (bash) SS 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"1 (bash)  S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"1 (bash) S x 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"1 (bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1x 0 5\n",
		"1 (bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0x5\n",
		"1 (bash) S 1 1 1 0 - 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
		"1 (bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 -1 0 5\n",
		"1 (bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5\n",
		"1 (bash) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n",
		"1 (bash) \n 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5\n",
	};
	struct pw_stat_fields f;

	(void)state;
	ASSERT_ALL_REFUSED(pw_procfs_parse_stat, bad, &f);
}

static void stat_huge_numbers(void **state)
{
	struct pw_stat_fields f;

	(void)state;
	assert_int_equal(parse_stat_fmt("2147483647", "max", "4294967295",
					"18446744073709551615", &f), 0);
	assert_int_equal(f.pid, 2147483647);
	assert_true(f.num_threads == 4294967295u);
	assert_true(f.starttime_ticks == UINT64_MAX);
	assert_int_equal(parse_stat_fmt("2147483648", "big", "1", "5", &f), -EINVAL);
	assert_int_equal(parse_stat_fmt("1", "big", "4294967296", "5", &f), -EINVAL);
	assert_int_equal(parse_stat_fmt("1", "big", "1", "18446744073709551616", &f), -EINVAL);
	assert_int_equal(parse_stat_fmt("1", "big", "1", "99999999999999999999999", &f), -EINVAL);
	assert_int_equal(parse_stat_fmt("1", "big", "99999999999999999999999", "5", &f), -EINVAL);
}

static void ticks_to_ns(void **state)
{
	uint64_t ns;

	(void)state;
	assert_int_equal(pw_procfs_ticks_to_ns(123, 100, &ns), 0);
	assert_true(ns == 1230000000ull);
	assert_int_equal(pw_procfs_ticks_to_ns(1, 3, &ns), 0); /* USER_HZ not dividing 1e9 */
	assert_true(ns == 333333333ull);
	assert_int_equal(pw_procfs_ticks_to_ns(UINT64_MAX, 100, &ns), -ERANGE);
	assert_int_equal(pw_procfs_ticks_to_ns(1, 0, &ns), -EINVAL);
	assert_int_equal(pw_procfs_ticks_to_ns(1, -100, &ns), -EINVAL);
}

static const char status_ok[] = "Name:\tbash\n"
				"Umask:\t0022\n"
				"State:\tS (sleeping)\n"
				"Tgid:\t4321\n"
				"Uid:\t1000\t1001\t1002\t1003\n"
				"Gid:\t100\t101\t102\t4294967295\n"
				"FDSize:\t256\n"
				"NSuid:\t1\n"
				"Groups:\t4 24 27\n";

static void status_normal(void **state)
{
	struct pw_status_fields s;

	(void)state;
	assert_int_equal(pw_procfs_parse_status(status_ok, strlen(status_ok), &s), 0);
	assert_int_equal(s.uid[0], 1000);
	assert_int_equal(s.uid[1], 1001);
	assert_int_equal(s.uid[2], 1002);
	assert_int_equal(s.uid[3], 1003);
	assert_int_equal(s.gid[0], 100);
	assert_true(s.gid[3] == 4294967295u);
	/* only the two lines, no trailing newline, spaces instead of tabs */
	assert_int_equal(pw_procfs_parse_status("Gid: 5 6 7 8\nUid: 1 2 3 4", 25, &s), 0);
	assert_int_equal(s.uid[0], 1);
	assert_int_equal(s.gid[3], 8);
}

static void status_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"Name:\tx\n",
		"Uid:\t1\t1\t1\t1\n",                          /* no Gid */
		"Gid:\t1\t1\t1\t1\n",                          /* no Uid */
		"Uid:\t1\t1\t1\nGid:\t1\t1\t1\t1\n",           /* three values */
		"Uid:\t1\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\n",     /* five values */
		"Uid:\t1\t1\tx\t1\nGid:\t1\t1\t1\t1\n",        /* non-numeric */
		"Uid:\t1\t1\t-1\t1\nGid:\t1\t1\t1\t1\n",       /* negative */
		"Uid:\t1\t1\t4294967296\t1\nGid:\t1\t1\t1\t1\n", /* > u32 */
		"Uid:1\t1\t1\t1\nGid:\t1\t1\t1\t1\n",          /* no separator */
		"Uid:\t\t\t\t\nGid:\t1\t1\t1\t1\n",            /* empty values */
		"Uid:\t1\t1\t1\t1\nUid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\n", /* repeated */
		" Uid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\n",       /* not at line start */
	};
	struct pw_status_fields s;

	(void)state;
	ASSERT_ALL_REFUSED(pw_procfs_parse_status, bad, &s);
	/* a cut inside the Gid line is malformed, not silently short */
	assert_int_equal(pw_procfs_parse_status(status_ok, (size_t)(strstr(status_ok, "\t101") - status_ok), &s),
			 -EINVAL);
}

static void assert_args(const struct pw_process *p, size_t argc, const char *const *want)
{
	size_t i;

	assert_int_equal(p->argc, argc);
	for (i = 0; i < argc; i++)
		assert_string_equal(p->argv[i], want[i]);
	assert_true(p->known & PW_PK_ARGS);
}

static void cmdline_shapes(void **state)
{
	struct pw_process p = { 0 };
	static const char *const three[] = { "ls", "-l", "/tmp" };
	static const char *const with_empty[] = { "a", "", "b", "" };
	static const char *const one_empty[] = { "" };

	(void)state;
	assert_int_equal(pw_procfs_parse_cmdline(&p, "ls\0-l\0/tmp\0", 11, false), 0);
	assert_args(&p, 3, three);
	assert_int_equal(p.args_len, 11);
	assert_false(p.known & PW_PK_ARGS_TRUNCATED);

	/* no final NUL (setproctitle, or cut at the limit) */
	assert_int_equal(pw_procfs_parse_cmdline(&p, "ls\0-l\0/tmp", 10, true), 0);
	assert_args(&p, 3, three);
	assert_int_equal(p.args_len, 11);
	assert_true(p.known & PW_PK_ARGS_TRUNCATED);

	/* kernel thread / zombie: empty, known */
	assert_int_equal(pw_procfs_parse_cmdline(&p, "", 0, false), 0);
	assert_int_equal(p.argc, 0);
	assert_null(p.argv);
	assert_null(p.args);
	assert_true(p.known & PW_PK_ARGS);
	assert_false(p.known & PW_PK_ARGS_TRUNCATED);

	assert_int_equal(pw_procfs_parse_cmdline(&p, "a\0\0b\0\0", 6, false), 0);
	assert_args(&p, 4, with_empty);

	assert_int_equal(pw_procfs_parse_cmdline(&p, "\0", 1, false), 0);
	assert_args(&p, 1, one_empty);
	pw_process_clear(&p);
}

static void set_args_edges(void **state)
{
	struct pw_process p = { 0 };
	char big[70000];
	size_t i;

	(void)state;
	assert_int_equal(pw_process_set_args(NULL, "a", 1), -EINVAL);
	assert_int_equal(pw_process_set_args(&p, NULL, 1), -EINVAL);
	assert_int_equal(pw_process_set_args(&p, NULL, 0), 0);
	assert_int_equal(p.argc, 0);

	/* the buffer is copied: the caller may reuse it */
	memcpy(big, "x\0y", 3);
	assert_int_equal(pw_process_set_args(&p, big, 3), 0);
	big[0] = 'z';
	assert_string_equal(p.argv[0], "x");
	assert_string_equal(p.argv[1], "y");

	/* many tiny args */
	memset(big, 0, sizeof(big));
	for (i = 0; i < sizeof(big); i += 2)
		big[i] = 'q';
	assert_int_equal(pw_process_set_args(&p, big, sizeof(big)), 0);
	assert_int_equal(p.argc, sizeof(big) / 2);
	assert_string_equal(p.argv[p.argc - 1], "q");
	assert_int_equal(p.args_len, sizeof(big));

	assert_int_equal(pw_process_set_image(&p, "/usr/bin/q"), 0);
	assert_string_equal(p.image, "/usr/bin/q");
	assert_true(p.known & PW_PK_IMAGE);
	assert_int_equal(pw_process_set_image(&p, NULL), 0);
	assert_null(p.image);
	assert_false(p.known & PW_PK_IMAGE);

	pw_process_clear(&p);
	assert_int_equal(p.argc, 0);
	assert_null(p.argv);
	pw_process_clear(&p); /* twice: a zeroed record is fine */
	pw_process_clear(NULL);
}

static void read_file_limits(void **state)
{
	char dir[] = "/tmp/pw-test-procfs-XXXXXX", path[64], buf[16];
	size_t len;
	bool truncated;
	int dfd, fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);

	snprintf(path, sizeof(path), "%s/exact", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "0123456789abcdef", 16), 16);
	close(fd);
	assert_int_equal(pw_procfs_read_file(dfd, "exact", buf, 16, &len, &truncated), 0);
	assert_int_equal(len, 16);
	assert_false(truncated);
	assert_int_equal(pw_procfs_read_file(dfd, "exact", buf, 10, &len, &truncated), 0);
	assert_int_equal(len, 10);
	assert_true(truncated);
	assert_memory_equal(buf, "0123456789", 10);
	assert_int_equal(pw_procfs_read_file(dfd, "missing", buf, 10, &len, &truncated), -ENOENT);

	/* a real /proc file: short reads are continued */
	assert_int_equal(pw_procfs_read_file(AT_FDCWD, "/proc/self/stat", buf, sizeof(buf), &len,
					     &truncated), 0);
	assert_int_equal(len, sizeof(buf));
	assert_true(truncated);

	unlink(path);
	close(dfd);
	rmdir(dir);
}

static void own_stat_from_proc(void **state)
{
	static char buf[4096];
	struct pw_stat_fields f;
	struct pw_status_fields s;
	size_t len;
	bool truncated;

	(void)state;
	assert_int_equal(pw_procfs_read_file(AT_FDCWD, "/proc/self/stat", buf, sizeof(buf), &len,
					     &truncated), 0);
	assert_int_equal(pw_procfs_parse_stat(buf, len, &f), 0);
	assert_int_equal(f.pid, getpid());
	assert_int_equal(f.ppid, getppid());
	assert_int_equal(f.state, 'R');
	assert_int_equal(f.num_threads, 1);
	assert_int_equal(pw_procfs_read_file(AT_FDCWD, "/proc/self/status", buf, sizeof(buf), &len,
					     &truncated), 0);
	assert_int_equal(pw_procfs_parse_status(buf, len, &s), 0);
	assert_int_equal(s.uid[0], getuid());
	assert_int_equal(s.uid[1], geteuid());
	assert_int_equal(s.gid[0], getgid());
}

/* ------------------------------------------------ core/number.h: the one decimal parser */

static void accepts_decimal(void **state)
{
	uint64_t v = 1;

	(void)state;
	assert_int_equal(pw_parse_uint("0", UINT64_MAX, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(pw_parse_uint("4194304", UINT64_MAX, &v), 0);
	assert_int_equal(v, 4194304);
	assert_int_equal(pw_parse_uint("007", UINT64_MAX, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pw_parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(pw_parse_uint("4294967295", UINT32_MAX, &v), 0);
	assert_int_equal(v, UINT32_MAX);
}

static void refuses_the_rest(void **state)
{
	static const char *const bad[] = {
		"", " 1", "1 ", "+1", "-1", "1x", "0x10", "1.0", "18446744073709551616",
		"99999999999999999999999", "1\n",
	};
	uint64_t v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (pw_parse_uint(bad[i], UINT64_MAX, &v) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_int_equal(v, 42); /* untouched on error */
	}
	assert_int_equal(pw_parse_uint(NULL, 1, &v), -EINVAL);
}

/* max is inclusive: the bound itself is fine, one more is not. */
static void bounds_inclusive(void **state)
{
	static const struct {
		const char *at, *over;
		uint64_t max;
	} b[] = {
		{ "4294967295", "4294967296", UINT32_MAX },
		{ "2147483647", "2147483648", INT32_MAX },
		{ "4095", "4096", 4095 },
		{ "0", "1", 0 },
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(b) / sizeof(*b); i++) {
		assert_int_equal(pw_parse_uint(b[i].at, b[i].max, &v), 0);
		assert_true(v == b[i].max);
		assert_int_equal(pw_parse_uint(b[i].over, b[i].max, &v), -EINVAL);
		/* the same bound on a token that is not NUL-terminated */
		v = 42;
		assert_int_equal(pw_parse_u64_max(b[i].over, b[i].over + strlen(b[i].over), b[i].max, &v),
				 -EINVAL);
		assert_true(v == 42); /* untouched on error */
		assert_int_equal(pw_parse_u64_max(b[i].at, b[i].at + strlen(b[i].at), b[i].max, &v), 0);
		assert_true(v == b[i].max);
	}
}

/* A token is a range: digits after `end` are not part of it, and are never read. */
static void length_checked(void **state)
{
	char *buf = malloc(3);
	uint64_t v;

	(void)state;
	assert_non_null(buf);
	buf[0] = '1', buf[1] = '2', buf[2] = '3'; /* no NUL: ASan catches a read past the 3 bytes */
	assert_int_equal(pw_parse_u64(buf, buf + 3, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(pw_parse_u64(buf, buf + 2, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(pw_parse_u64(buf, buf, &v), -EINVAL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stat_normal),
		cmocka_unit_test(accepts_decimal),
		cmocka_unit_test(refuses_the_rest),
		cmocka_unit_test(bounds_inclusive),
		cmocka_unit_test(length_checked),
		cmocka_unit_test(stat_comm_with_parens_and_spaces),
		cmocka_unit_test(stat_comm_with_newline_and_long),
		cmocka_unit_test(stat_truncated),
		cmocka_unit_test(stat_malformed),
		cmocka_unit_test(stat_huge_numbers),
		cmocka_unit_test(ticks_to_ns),
		cmocka_unit_test(status_normal),
		cmocka_unit_test(status_malformed),
		cmocka_unit_test(cmdline_shapes),
		cmocka_unit_test(set_args_edges),
		cmocka_unit_test(read_file_limits),
		cmocka_unit_test(own_stat_from_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
