/* SPDX-License-Identifier: MIT */
/* test_gate_loader.c - `ld.so PROGRAM`: finding PROGRAM in the loader's command line (untrusted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gate/gate.h"

/* A command line as /proc/PID/cmdline has it: words NUL-separated, each NUL-terminated. */
#define CMDLINE(s) s, (uint32_t)(sizeof(s) - 1)

static void expect_program(const char *args, uint32_t len, const char *program, const char *libpath)
{
	const char *lp = (const char *)1;
	const char *got = pw_gate_loader_program(args, len, &lp);

	if (!program)
		assert_null(got);
	else
		assert_string_equal(got, program);
	if (!libpath)
		assert_null(lp);
	else
		assert_string_equal(lp, libpath);
	if (got) /* inside the buffer, and terminated within it */
		assert_true(got >= args && got + strlen(got) < args + len);
}

static void test_program_after_options(void **state)
{
	(void)state;
	expect_program(CMDLINE("ld.so\0./prog\0--payload\0x\0"), "./prog", NULL);
	expect_program(CMDLINE("ld.so\0--inhibit-cache\0/tmp/p\0"), "/tmp/p", NULL);
	expect_program(CMDLINE("ld.so\0--list\0--verify\0p\0"), "p", NULL);
	expect_program(CMDLINE("ld.so\0--library-path\0/a:/b\0p\0-x\0"), "p", "/a:/b");
	expect_program(CMDLINE("ld.so\0--preload\0libx.so\0--argv0\0fake\0./p\0"), "./p", NULL);
	expect_program(CMDLINE("ld.so\0--audit\0a\0--inhibit-rpath\0b\0--glibc-hwcaps-mask\0c\0q\0"), "q",
		       NULL);
	/* the value of an option is never PROGRAM, even when it looks like one */
	expect_program(CMDLINE("ld.so\0--argv0\0/bin/true\0/tmp/evil\0"), "/tmp/evil", NULL);
	/* an unknown option is what rtld then tries to load as PROGRAM (and fails: denied) */
	expect_program(CMDLINE("ld.so\0--no-such-option\0p\0"), "--no-such-option", NULL);
	expect_program(CMDLINE("ld.so\0--\0p\0"), "--", NULL);
}

static void test_no_program(void **state)
{
	(void)state;
	expect_program(CMDLINE("ld.so\0"), NULL, NULL);
	expect_program(CMDLINE("ld.so\0--help\0p\0"), NULL, NULL);
	expect_program(CMDLINE("ld.so\0--version\0"), NULL, NULL);
	expect_program(CMDLINE("ld.so\0--list\0"), NULL, NULL);
	/* an option without its value: rtld prints its usage */
	expect_program(CMDLINE("ld.so\0--library-path\0"), NULL, NULL);
	expect_program(CMDLINE("ld.so\0--preload\0"), NULL, NULL);
	expect_program("", 0, NULL, NULL);
}

static void test_malformed(void **state)
{
	static const char unterminated[] = { 'l', 'd', 0, 'p', 'r', 'o', 'g' };
	static const char value_unterminated[] = { 'l', 'd', 0, '-', '-', 'a', 'u', 'd', 'i', 't', 0, 'x' };
	static const char only_argv0_unterminated[] = { 'l', 'd' };

	(void)state;
	expect_program(unterminated, sizeof(unterminated), NULL, NULL);
	expect_program(value_unterminated, sizeof(value_unterminated), NULL, NULL);
	expect_program(only_argv0_unterminated, sizeof(only_argv0_unterminated), NULL, NULL);
	/* found by fuzz_loader: --library-path's value unterminated, then nothing */
	expect_program("\0--library-path\0/a:/bry-pa", 26, NULL, NULL);
	/* a library path, and then no PROGRAM: no library path either */
	expect_program(CMDLINE("ld.so\0--library-path\0/a\0--help\0"), NULL, NULL);
	/* an empty word is a word: rtld would try to load "" (and fail) */
	expect_program(CMDLINE("ld.so\0\0p\0"), "", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_program_after_options),
		cmocka_unit_test(test_no_program),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests_name("gate_loader", tests, NULL, NULL);
}
