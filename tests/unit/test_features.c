/* SPDX-License-Identifier: MIT */
/*
 * test_features.c - probing some features gives what probing all of them
 * gives for those bits, whatever the order, and each answer is stable.
 * Without privileges the program probes fail: the answers agree anyway.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "procward.h"
#include "core/features.h"

static void subsets_agree_with_all(void **state)
{
	static const unsigned int bits[] = {
		PW_FEAT_TASK_ITER, PW_FEAT_TP_BTF, PW_FEAT_BTF, PW_FEAT_RINGBUF, PW_FEAT_BPF,
		PW_FEAT_BPF_LSM, PW_FEAT_FENTRY, PW_FEAT_FANOTIFY_EXEC, PW_FEAT_SEND_SIGNAL,
	};
	unsigned int got[sizeof(bits) / sizeof(*bits)], all;

	(void)state;
	/* one at a time first, the program probes before the BTF probe they need */
	for (size_t i = 0; i < sizeof(bits) / sizeof(*bits); i++) {
		got[i] = pw_features_probe(bits[i]);
		assert_true((got[i] & ~bits[i]) == 0);
	}
	all = pw_features();
	for (size_t i = 0; i < sizeof(bits) / sizeof(*bits); i++) {
		assert_int_equal(got[i], all & bits[i]);
		assert_int_equal(pw_features_probe(bits[i]), got[i]);
	}
	/* a program feature holds only with BTF */
	if (all & (PW_FEAT_TP_BTF | PW_FEAT_TASK_ITER | PW_FEAT_FENTRY | PW_FEAT_BPF_LSM))
		assert_true(all & PW_FEAT_BTF);
	assert_int_equal(pw_features_probe(0), 0);
	assert_int_equal(pw_features_probe(~0u), all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(subsets_agree_with_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
