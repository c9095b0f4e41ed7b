/* SPDX-License-Identifier: MIT */
/* test_opts.c - the sized-struct idiom: PW_OPTS zero-fills, and each entry point refuses an unknown tail. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/opts.h"
#include "gate/gate.h"
#include "monitor/rules.h"

static int on_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	(void)m, (void)ev, (void)userdata;
	return 0;
}

/* Leave 0xa5 all over the stack the next call's frame will use. */
static __attribute__((noinline)) void dirty_stack(void)
{
	volatile unsigned char junk[4096];

	memset((void *)junk, 0xa5, sizeof(junk));
	__asm__ volatile("" : : "r"(junk) : "memory");
}

static __attribute__((noinline)) size_t nonzero_after(const void *p, size_t from, size_t to)
{
	size_t n = 0;

	for (size_t i = from; i < to; i++)
		n += ((const unsigned char *)p)[i] != 0;
	return n;
}

static __attribute__((noinline)) size_t gate_opts_tail_bytes(void)
{
	PW_OPTS(pw_gate_opts, o, .argv_in_kernel = true, .audit = true);

	return nonzero_after(&o, PW_OPTS_KNOWN_SZ(pw_gate_opts), sizeof(o));
}

static __attribute__((noinline)) size_t gate_rule_tail_bytes(void)
{
	PW_OPTS(pw_gate_rule, r, .action = PW_GATE_DENY, .cache = true);

	return nonzero_after(&r, PW_OPTS_KNOWN_SZ(pw_gate_rule), sizeof(r));
}

static __attribute__((noinline)) size_t rule_tail_bytes(void)
{
	PW_OPTS(pw_rule, r, .action = PW_RULE_INCLUDE, .match = PW_MATCH_UID, .id = 0xffffffe);

	return nonzero_after(&r, PW_OPTS_KNOWN_SZ(pw_rule), sizeof(r));
}

/* The three structs that have tail padding after their last field. */
static void pw_opts_zero_fills_padding(void **state)
{
	(void)state;
	/* pw_gate_opts may or may not end in padding; where it does, it must be zero. */
	dirty_stack();
	assert_int_equal(gate_opts_tail_bytes(), 0);
	dirty_stack();
	assert_int_equal(gate_rule_tail_bytes(), 0);
	dirty_stack();
	assert_int_equal(rule_tail_bytes(), 0);
}

/*
 * A newer caller: v2 is the struct `o` followed by `future_field`, which this
 * library does not know. make() accepts it while that field is 0, and refuses
 * it (-EOPNOTSUPP, *out left NULL) once it is set.
 */
#define ASSERT_UNKNOWN_FIELD_REFUSED(v2, make, out, destroy)                   \
	do {                                                                   \
		(v2).o.sz = sizeof(v2);                                        \
		assert_int_equal(make(&(v2).o, &(out)), 0);                    \
		assert_non_null(out);                                          \
		destroy(out);                                                  \
		(out) = NULL;                                                  \
		(v2).future_field = 7;                                         \
		assert_int_equal(make(&(v2).o, &(out)), -EOPNOTSUPP);          \
		assert_null(out);                                              \
		(v2).future_field = 0;                                         \
	} while (0)

struct gate_opts_v2 {
	struct pw_gate_opts o;
	uint64_t future_field;
};

static void gate_opts_unknown_tail(void **state)
{
	struct gate_opts_v2 v2;
	struct pw_gate *g = NULL;

	(void)state;
	memset(&v2, 0, sizeof(v2));
	ASSERT_UNKNOWN_FIELD_REFUSED(v2, pw_gate_new, g, pw_gate_free);

	/* a field appended into today's padding, right after argv_in_kernel */
	((unsigned char *)&v2.o)[PW_OPTS_KNOWN_SZ(pw_gate_opts)] = 1;
	assert_int_equal(pw_gate_new(&v2.o, &g), -EOPNOTSUPP);
	((unsigned char *)&v2.o)[PW_OPTS_KNOWN_SZ(pw_gate_opts)] = 0;

	/* too small to hold the required fields */
	v2.o.sz = offsetof(struct pw_gate_opts, userdata);
	assert_int_equal(pw_gate_new(&v2.o, &g), -EINVAL);
	v2.o.sz = 0;
	assert_int_equal(pw_gate_new(&v2.o, &g), -EINVAL);
	assert_int_equal(pw_gate_new(NULL, &g), -EINVAL);
}

/* An older caller: bytes after its sz are not its struct and are never read. */
static void gate_opts_older_caller(void **state)
{
	struct gate_opts_v2 v2;
	struct pw_gate *g = NULL;

	(void)state;
	memset(&v2, 0xff, sizeof(v2));
	memset(&v2.o, 0, pw_offsetofend(struct pw_gate_opts, userdata));
	v2.o.sz = pw_offsetofend(struct pw_gate_opts, userdata);
	assert_int_equal(pw_gate_new(&v2.o, &g), 0);
	pw_gate_free(g);
}

struct monitor_opts_v2 {
	struct pw_monitor_opts o;
	uint32_t future_field;
};

static void monitor_opts_unknown_tail(void **state)
{
	struct monitor_opts_v2 v2;
	struct pw_monitor *m = NULL;

	(void)state;
	memset(&v2, 0, sizeof(v2));
	v2.o.on_event = on_event;
	ASSERT_UNKNOWN_FIELD_REFUSED(v2, pw_monitor_new, m, pw_monitor_free);

	/* an older caller's struct ends at userdata; the rest takes defaults */
	memset(&v2, 0xff, sizeof(v2));
	memset(&v2.o, 0, pw_offsetofend(struct pw_monitor_opts, userdata));
	v2.o.sz = pw_offsetofend(struct pw_monitor_opts, userdata);
	v2.o.on_event = on_event;
	assert_int_equal(pw_monitor_new(&v2.o, &m), 0);
	pw_monitor_free(m);
}

static void snapshot_opts_unknown_tail(void **state)
{
	struct {
		struct pw_snapshot_opts o;
		uint64_t future_field;
	} v2;
	struct pw_snapshot *snap = NULL;

	(void)state;
	memset(&v2, 0, sizeof(v2));
	v2.o.sz = sizeof(v2);
	v2.future_field = 1;
	assert_int_equal(pw_snapshot_take(&v2.o, &snap), -EINVAL);
	assert_null(snap);
}

static void gate_rule_unknown_tail(void **state)
{
	struct {
		struct pw_gate_rule r;
		uint64_t future_field;
	} v2;

	(void)state;
	memset(&v2, 0, sizeof(v2));
	v2.r.sz = sizeof(v2);
	v2.r.action = PW_GATE_DENY;
	v2.r.name = "nc";
	assert_int_equal(pw_gate_rule_validate(&v2.r), 0);
	v2.future_field = 1;
	assert_int_equal(pw_gate_rule_validate(&v2.r), -EOPNOTSUPP);
	v2.future_field = 0;
	((unsigned char *)&v2.r)[PW_OPTS_KNOWN_SZ(pw_gate_rule)] = 1;
	assert_int_equal(pw_gate_rule_validate(&v2.r), -EOPNOTSUPP);
	((unsigned char *)&v2.r)[PW_OPTS_KNOWN_SZ(pw_gate_rule)] = 0;
	/* an older rule struct without arg and cache is still a rule */
	v2.r.sz = pw_offsetofend(struct pw_gate_rule, children);
	assert_int_equal(pw_gate_rule_validate(&v2.r), 0);
	v2.r.sz = offsetof(struct pw_gate_rule, children);
	assert_int_equal(pw_gate_rule_validate(&v2.r), -EINVAL);
}

/* PW_OPTS_CHECK: the answer for a struct too short, one with an unknown tail, and a good one. */
static void opts_check_answers(void **state)
{
	struct {
		struct pw_rule r;
		uint64_t future_field;
	} v2;

	(void)state;
	memset(&v2, 0, sizeof(v2));
	v2.r.sz = sizeof(v2.r);
	assert_int_equal(PW_OPTS_CHECK(&v2.r, id, pw_rule), 0);
	v2.r.sz = offsetof(struct pw_rule, id);
	assert_int_equal(PW_OPTS_CHECK(&v2.r, id, pw_rule), -EINVAL);
	v2.r.sz = sizeof(v2);
	assert_int_equal(PW_OPTS_CHECK(&v2.r, id, pw_rule), 0);
	v2.future_field = 1;
	assert_int_equal(PW_OPTS_CHECK(&v2.r, id, pw_rule), -EOPNOTSUPP);
	assert_int_equal(PW_OPTS_CHECK((struct pw_rule *)NULL, id, pw_rule), -EINVAL);
}

/* The helper itself, at the edges. */
static void opts_validate_edges(void **state)
{
	unsigned char buf[32] = { 0 };

	(void)state;
	assert_false(pw_opts_validate(buf, 16, 0));
	assert_false(pw_opts_validate(buf, 16, sizeof(size_t) - 1));
	assert_true(pw_opts_validate(buf, 16, sizeof(size_t)));
	assert_true(pw_opts_validate(buf, 16, 32));
	buf[31] = 1;
	assert_false(pw_opts_validate(buf, 16, 32));
	assert_true(pw_opts_validate(buf, 16, 31));
	buf[15] = 1; /* inside the known part: not the tail rule's business */
	buf[31] = 0;
	assert_true(pw_opts_validate(buf, 16, 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pw_opts_zero_fills_padding),
		cmocka_unit_test(gate_opts_unknown_tail),
		cmocka_unit_test(gate_opts_older_caller),
		cmocka_unit_test(monitor_opts_unknown_tail),
		cmocka_unit_test(snapshot_opts_unknown_tail),
		cmocka_unit_test(gate_rule_unknown_tail),
		cmocka_unit_test(opts_check_answers),
		cmocka_unit_test(opts_validate_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
