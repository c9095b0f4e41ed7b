/* SPDX-License-Identifier: MIT */
/* test_proctable.c - the bounded process table: lookups, PID reuse, coarse /proc keys, LRU eviction. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "monitor/proctable.h"

static uint64_t tick_ns(void)
{
	long hz = sysconf(_SC_CLK_TCK);

	return 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
}

/* Give an entry something to own, so a leak or double free shows under ASan. */
static void fill(struct pw_process *p, const char *image)
{
	static const char args[] = "prog\0--opt\0value";

	assert_int_equal(pw_process_set_image(p, image), 0);
	assert_int_equal(pw_process_set_args(p, args, sizeof(args) - 1), 0);
	p->user_name = strdup("user");
	assert_non_null(p->user_name);
	snprintf(p->name, sizeof(p->name), "prog");
	p->ppid = 1;
	p->uid = 1000;
	p->threads = 3;
}

static void upsert_find_remove(void **state)
{
	struct pw_proctable *t = pw_proctable_new(16);
	struct pw_process *p, *q;

	(void)state;
	assert_non_null(t);
	assert_int_equal(pw_proctable_count(t), 0);
	assert_null(pw_proctable_find(t, 100));

	p = pw_proctable_upsert(t, 100, 5000);
	assert_non_null(p);
	assert_int_equal(p->pid, 100);
	assert_int_equal(p->start_ns, 5000);
	assert_int_equal(p->known, 0);
	assert_null(p->image);
	assert_int_equal(p->argc, 0);
	fill(p, "/usr/bin/prog");
	assert_int_equal(pw_proctable_count(t), 1);

	/* the same process again: the same entry, with what it knew */
	q = pw_proctable_upsert(t, 100, 5000);
	assert_ptr_equal(q, p);
	assert_string_equal(q->image, "/usr/bin/prog");
	assert_int_equal(q->argc, 3);
	assert_string_equal(q->argv[2], "value");
	assert_int_equal(q->threads, 3);
	assert_int_equal(pw_proctable_count(t), 1);
	assert_ptr_equal(pw_proctable_find(t, 100), p);

	/* others */
	assert_non_null(pw_proctable_upsert(t, 200, 6000));
	assert_non_null(pw_proctable_upsert(t, 1, 1));
	assert_int_equal(pw_proctable_count(t), 3);
	assert_int_equal(pw_proctable_find(t, 200)->start_ns, 6000);
	assert_null(pw_proctable_find(t, 300));

	pw_proctable_remove(t, 100);
	assert_null(pw_proctable_find(t, 100));
	assert_int_equal(pw_proctable_count(t), 2);
	pw_proctable_remove(t, 100); /* already gone: nothing happens */
	pw_proctable_remove(t, 12345);
	assert_int_equal(pw_proctable_count(t), 2);
	assert_non_null(pw_proctable_find(t, 200));
	assert_non_null(pw_proctable_find(t, 1));

	/* a removed PID comes back as a fresh entry */
	p = pw_proctable_upsert(t, 100, 7000);
	assert_non_null(p);
	assert_null(p->image);
	assert_int_equal(p->argc, 0);
	assert_int_equal(pw_proctable_evictions(t), 0);
	pw_proctable_free(t); /* frees entries that still own strings */
	pw_proctable_free(NULL);
}

/* Many PIDs in few buckets: chains are walked and unlinked correctly anywhere. */
static void collisions_and_chains(void **state)
{
	struct pw_proctable *t = pw_proctable_new(64);
	pid_t pid;

	(void)state;
	assert_non_null(t);
	/* 64 buckets: PIDs 64 apart collide under a multiplicative hash of a power of two */
	for (pid = 1; pid <= 64; pid++)
		assert_non_null(pw_proctable_upsert(t, pid * 64, (uint64_t)pid));
	assert_int_equal(pw_proctable_count(t), 64);
	/* remove from the middle, the ends, and every other one */
	for (pid = 2; pid <= 64; pid += 2)
		pw_proctable_remove(t, pid * 64);
	assert_int_equal(pw_proctable_count(t), 32);
	for (pid = 1; pid <= 64; pid++) {
		struct pw_process *p = pw_proctable_find(t, pid * 64);

		if (pid % 2) {
			assert_non_null(p);
			assert_int_equal(p->start_ns, (uint64_t)pid);
		} else {
			assert_null(p);
		}
	}
	assert_int_equal(pw_proctable_evictions(t), 0);
	pw_proctable_free(t);
}

static void pid_reuse_clears_entry(void **state)
{
	struct pw_proctable *t = pw_proctable_new(8);
	struct pw_process *p, *q;

	(void)state;
	assert_non_null(t);
	p = pw_proctable_upsert(t, 4242, 1000000000ull);
	fill(p, "/usr/bin/old");
	p->known |= PW_PK_ARGS_TRUNCATED;

	/* same PID, another start: another process, nothing of the old one survives */
	q = pw_proctable_upsert(t, 4242, 2000000000ull);
	assert_non_null(q);
	assert_int_equal(q->pid, 4242);
	assert_int_equal(q->start_ns, 2000000000ull);
	assert_null(q->image);
	assert_null(q->args);
	assert_null(q->argv);
	assert_int_equal(q->argc, 0);
	assert_null(q->user_name);
	assert_int_equal(q->known, 0);
	assert_int_equal(q->threads, 0);
	assert_int_equal(q->ppid, 0);
	assert_string_equal(q->name, "");
	assert_int_equal(pw_proctable_count(t), 1);
	/* reuse is not eviction */
	assert_int_equal(pw_proctable_evictions(t), 0);

	/* an earlier start is another process too (exact keys compare exactly) */
	fill(q, "/usr/bin/new");
	q = pw_proctable_upsert(t, 4242, 2000000000ull - 1);
	assert_null(q->image);
	assert_int_equal(q->start_ns, 2000000000ull - 1);
	pw_proctable_free(t);
}

/*
 * /proc gives start times in clock ticks; an entry seeded from there
 * (PW_PK_KEY_COARSE) is the same process as an exact key in the same tick,
 * and another process outside it.
 */
static void coarse_keys(void **state)
{
	const uint64_t tick = tick_ns(), seeded = 123456 * tick;
	struct pw_proctable *t = pw_proctable_new(8);
	struct pw_process *p;

	(void)state;
	assert_non_null(t);

	/* inside the tick: kept, and the key becomes exact */
	p = pw_proctable_upsert(t, 10, seeded);
	fill(p, "/usr/bin/seeded");
	p->known |= PW_PK_KEY_COARSE;
	p = pw_proctable_upsert(t, 10, seeded + tick - 1);
	assert_string_equal(p->image, "/usr/bin/seeded");
	assert_int_equal(p->start_ns, seeded + tick - 1);
	assert_false(p->known & PW_PK_KEY_COARSE);
	assert_true(p->known & PW_PK_IMAGE);
	/* now exact: another start in the same tick is PID reuse */
	p = pw_proctable_upsert(t, 10, seeded + 1);
	assert_null(p->image);
	assert_int_equal(p->start_ns, seeded + 1);

	/* the first nanosecond of the tick */
	p = pw_proctable_upsert(t, 11, seeded);
	fill(p, "/usr/bin/a");
	p->known |= PW_PK_KEY_COARSE;
	p = pw_proctable_upsert(t, 11, seeded);
	assert_string_equal(p->image, "/usr/bin/a");

	/* the next tick: another process */
	p = pw_proctable_upsert(t, 12, seeded);
	fill(p, "/usr/bin/b");
	p->known |= PW_PK_KEY_COARSE;
	p = pw_proctable_upsert(t, 12, seeded + tick);
	assert_null(p->image);
	assert_int_equal(p->start_ns, seeded + tick);

	/* the tick before: another process */
	p = pw_proctable_upsert(t, 13, seeded);
	fill(p, "/usr/bin/c");
	p->known |= PW_PK_KEY_COARSE;
	p = pw_proctable_upsert(t, 13, seeded - 1);
	assert_null(p->image);

	/* far away: another process */
	p = pw_proctable_upsert(t, 14, seeded);
	fill(p, "/usr/bin/d");
	p->known |= PW_PK_KEY_COARSE;
	p = pw_proctable_upsert(t, 14, seeded + 1000 * tick + 5);
	assert_null(p->image);

	assert_int_equal(pw_proctable_count(t), 5);
	assert_int_equal(pw_proctable_evictions(t), 0);
	pw_proctable_free(t);
}

static void lru_bound(void **state)
{
	const size_t n = 100, k = 37;
	struct pw_proctable *t = pw_proctable_new(n);
	size_t i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < n + k; i++) {
		struct pw_process *p = pw_proctable_upsert(t, (pid_t)(1000 + i), i);

		assert_non_null(p);
		fill(p, "/usr/bin/x"); /* the evicted ones own memory too */
		assert_true(pw_proctable_count(t) <= n);
	}
	assert_int_equal(pw_proctable_count(t), n);
	assert_int_equal(pw_proctable_evictions(t), k);
	/* the first k inserted were the least recently used */
	for (i = 0; i < k; i++)
		assert_null(pw_proctable_find(t, (pid_t)(1000 + i)));
	for (i = k; i < n + k; i++) {
		struct pw_process *p = pw_proctable_find(t, (pid_t)(1000 + i));

		assert_non_null(p);
		assert_int_equal(p->start_ns, i);
	}
	pw_proctable_free(t);
}

/* A table bounded by max (0: the default) after upserting PIDs 1..npids, in that order. */
static struct pw_proctable *table_with(size_t max, pid_t npids)
{
	struct pw_proctable *t = pw_proctable_new(max);

	assert_non_null(t);
	for (pid_t pid = 1; pid <= npids; pid++)
		assert_non_null(pw_proctable_upsert(t, pid, 0));
	return t;
}

/* find and upsert both count as use; the eviction order follows. */
static void lru_order_follows_use(void **state)
{
	struct pw_proctable *t = table_with(4, 4);

	(void)state;
	/* use order, oldest first: 2 3 1 4 */
	assert_non_null(pw_proctable_find(t, 1));
	assert_non_null(pw_proctable_upsert(t, 4, 0));
	assert_non_null(pw_proctable_upsert(t, 5, 0)); /* evicts 2 */
	assert_null(pw_proctable_find(t, 2));
	assert_non_null(pw_proctable_upsert(t, 6, 0)); /* evicts 3 */
	assert_null(pw_proctable_find(t, 3));
	assert_non_null(pw_proctable_find(t, 1));
	assert_non_null(pw_proctable_find(t, 4));
	assert_non_null(pw_proctable_find(t, 5));
	assert_non_null(pw_proctable_find(t, 6));
	assert_int_equal(pw_proctable_evictions(t), 2);

	/* a PID-reuse upsert on a full table evicts nothing */
	assert_non_null(pw_proctable_upsert(t, 5, 99));
	assert_int_equal(pw_proctable_count(t), 4);
	assert_int_equal(pw_proctable_evictions(t), 2);

	/* a lookup that misses changes nothing; removal makes room without eviction */
	assert_null(pw_proctable_find(t, 77));
	pw_proctable_remove(t, 1);
	assert_non_null(pw_proctable_upsert(t, 7, 0));
	assert_int_equal(pw_proctable_evictions(t), 2);
	assert_int_equal(pw_proctable_count(t), 4);
	/* the oldest now is 4 (found above before 5, 6) */
	assert_non_null(pw_proctable_upsert(t, 8, 0));
	assert_null(pw_proctable_find(t, 4));
	assert_int_equal(pw_proctable_evictions(t), 3);
	pw_proctable_free(t);
}

/* A table of one: every new PID evicts the last. */
static void table_of_one(void **state)
{
	struct pw_proctable *t = pw_proctable_new(1);
	struct pw_process *p;

	(void)state;
	assert_non_null(t);
	for (pid_t pid = 1; pid <= 10; pid++) {
		p = pw_proctable_upsert(t, pid, 0);
		assert_non_null(p);
		fill(p, "/x");
		assert_int_equal(pw_proctable_count(t), 1);
		assert_ptr_equal(pw_proctable_find(t, pid), p);
		if (pid > 1)
			assert_null(pw_proctable_find(t, pid - 1));
	}
	assert_int_equal(pw_proctable_evictions(t), 9);
	pw_proctable_remove(t, 10);
	assert_int_equal(pw_proctable_count(t), 0);
	pw_proctable_free(t);
}

/* 0 means the default bound, and a large table still works. */
static void default_bound(void **state)
{
	struct pw_proctable *t = table_with(0, 70000);

	(void)state;
	assert_int_equal(pw_proctable_count(t), 65536);
	assert_int_equal(pw_proctable_evictions(t), 70000 - 65536);
	assert_null(pw_proctable_find(t, 1));
	assert_non_null(pw_proctable_find(t, 70000));
	pw_proctable_free(t);
}

/* Random operations against a simple model: count, membership, evictions. */
static void random_against_model(void **state)
{
	enum { MAX = 32, PIDS = 96, ROUNDS = 200000 };
	uint64_t model_start[PIDS], model_used[PIDS], clock = 0, evictions = 0, x = 88172645463325252ull;
	bool present[PIDS] = { 0 };
	struct pw_proctable *t = pw_proctable_new(MAX);
	size_t count = 0;

	(void)state;
	assert_non_null(t);
	for (int r = 0; r < ROUNDS; r++) {
		pid_t pid;
		int op;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pid = (pid_t)(1 + x % PIDS);
		op = (int)((x >> 32) % 4);
		if (op <= 1) { /* upsert, sometimes with another start */
			uint64_t start = (x >> 40) % 3;
			struct pw_process *p;

			if (!present[pid - 1] && count == MAX) {
				int lru = -1;

				for (int i = 0; i < PIDS; i++)
					if (present[i] && (lru < 0 || model_used[i] < model_used[lru]))
						lru = i;
				present[lru] = false;
				count--;
				evictions++;
			}
			p = pw_proctable_upsert(t, pid, start);
			assert_non_null(p);
			if (present[pid - 1] && model_start[pid - 1] != start) {
				assert_null(p->image); /* reused: cleared */
			} else if (present[pid - 1]) {
				assert_non_null(p->image);
			}
			if (!p->image)
				assert_int_equal(pw_process_set_image(p, "/bin/model"), 0);
			count += !present[pid - 1];
			present[pid - 1] = true;
			model_start[pid - 1] = start;
			model_used[pid - 1] = ++clock;
		} else if (op == 2) {
			struct pw_process *p = pw_proctable_find(t, pid);

			assert_int_equal(p != NULL, present[pid - 1]);
			if (p) {
				assert_int_equal(p->start_ns, model_start[pid - 1]);
				model_used[pid - 1] = ++clock;
			}
		} else {
			pw_proctable_remove(t, pid);
			count -= present[pid - 1];
			present[pid - 1] = false;
		}
		assert_int_equal(pw_proctable_count(t), count);
		assert_int_equal(pw_proctable_evictions(t), evictions);
	}
	pw_proctable_free(t);
}

/* pw_process_set_args, which the table relies on for argv. */
static void process_args_and_image(void **state)
{
	struct pw_process p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(pw_process_set_args(&p, "a\0b", 3), 0);
	assert_int_equal(p.argc, 2);
	assert_int_equal(p.args_len, 4);
	assert_string_equal(p.argv[1], "b");
	assert_true(p.known & PW_PK_ARGS);
	p.known |= PW_PK_ARGS_TRUNCATED;
	assert_int_equal(pw_process_set_args(&p, "x\0", 2), 0);
	assert_int_equal(p.argc, 1);
	assert_false(p.known & PW_PK_ARGS_TRUNCATED);
	assert_int_equal(pw_process_set_args(&p, NULL, 0), 0);
	assert_int_equal(p.argc, 0);
	assert_null(p.argv);
	assert_int_equal(pw_process_set_args(&p, NULL, 1), -EINVAL);
	assert_int_equal(pw_process_set_args(NULL, "a", 1), -EINVAL);

	assert_int_equal(pw_process_set_image(&p, "/a"), 0);
	assert_true(p.known & PW_PK_IMAGE);
	assert_int_equal(pw_process_set_image(&p, "/b"), 0);
	assert_string_equal(p.image, "/b");
	assert_int_equal(pw_process_set_image(&p, NULL), 0);
	assert_null(p.image);
	assert_false(p.known & PW_PK_IMAGE);
	assert_int_equal(pw_process_set_image(NULL, "/a"), -EINVAL);
	pw_process_clear(&p);
	pw_process_clear(&p);
	pw_process_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(upsert_find_remove),
		cmocka_unit_test(collisions_and_chains),
		cmocka_unit_test(pid_reuse_clears_entry),
		cmocka_unit_test(coarse_keys),
		cmocka_unit_test(lru_bound),
		cmocka_unit_test(lru_order_follows_use),
		cmocka_unit_test(table_of_one),
		cmocka_unit_test(default_bound),
		cmocka_unit_test(random_against_model),
		cmocka_unit_test(process_args_and_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
