// SPDX-License-Identifier: MIT
/*
 * proctable.c - the process table: open hashing on PID with an intrusive LRU
 * list. Memory is bounded by max_entries; when full, the least recently
 * touched process is evicted and counted (its exit was most likely lost).
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "monitor/proctable.h"

struct entry {
	struct pw_process proc;
	struct entry *hash_next;
	struct pw_list lru; /* in pw_proctable.lru */
};

struct pw_proctable {
	struct entry **buckets;
	size_t nbuckets; /* power of two */
	size_t count, max;
	uint64_t evictions;
	struct pw_list lru; /* most recently touched first */
};

#define lru_entry(node) pw_container_of(node, struct entry, lru)

static size_t bucket_of(const struct pw_proctable *t, pid_t pid)
{
	return ((uint32_t)pid * 2654435761u) & (t->nbuckets - 1);
}

struct pw_proctable *pw_proctable_new(size_t max_entries)
{
	struct pw_proctable *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max = max_entries ? max_entries : 65536;
	t->nbuckets = 64;
	while (t->nbuckets < t->max)
		t->nbuckets <<= 1;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	pw_list_init(&t->lru);
	return t;
}

/* e was touched: it moves to the front. */
static void lru_touch(struct pw_proctable *t, struct entry *e)
{
	pw_list_del(&e->lru);
	pw_list_push(&t->lru, &e->lru);
}

static struct entry *lookup(struct pw_proctable *t, pid_t pid, struct entry ***link)
{
	struct entry **pp = &t->buckets[bucket_of(t, pid)];

	for (; *pp; pp = &(*pp)->hash_next)
		if ((*pp)->proc.pid == pid)
			break;
	if (link)
		*link = pp;
	return *pp;
}

static void drop(struct pw_proctable *t, struct entry *e)
{
	struct entry **link;

	lookup(t, e->proc.pid, &link);
	*link = e->hash_next;
	pw_list_del(&e->lru);
	pw_process_clear(&e->proc);
	free(e);
	t->count--;
}

void pw_proctable_free(struct pw_proctable *t)
{
	if (!t)
		return;
	while (!pw_list_empty(&t->lru))
		drop(t, lru_entry(pw_list_first(&t->lru)));
	free(t->buckets);
	free(t);
}

struct pw_process *pw_proctable_find(struct pw_proctable *t, pid_t pid)
{
	struct entry *e = lookup(t, pid, NULL);

	if (!e)
		return NULL;
	lru_touch(t, e);
	return &e->proc;
}

/* /proc start times have clock-tick resolution: compare coarse keys at that grain. */
static bool same_start(const struct pw_process *p, uint64_t start_ns)
{
	static uint64_t tick_ns;

	if (!(p->known & PW_PK_KEY_COARSE))
		return p->start_ns == start_ns;
	if (!tick_ns) {
		long hz = sysconf(_SC_CLK_TCK);

		tick_ns = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
	}
	return start_ns / tick_ns * tick_ns == p->start_ns;
}

struct pw_process *pw_proctable_upsert(struct pw_proctable *t, pid_t pid, uint64_t start_ns)
{
	struct entry **link, *e = lookup(t, pid, &link);

	if (e) {
		if (!same_start(&e->proc, start_ns)) { /* the PID was reused */
			pw_process_clear(&e->proc);
			memset(&e->proc, 0, sizeof(e->proc));
			e->proc.pid = pid;
		}
		e->proc.start_ns = start_ns;
		e->proc.known &= ~PW_PK_KEY_COARSE;
		lru_touch(t, e);
		return &e->proc;
	}
	if (t->count >= t->max) {
		drop(t, lru_entry(pw_list_last(&t->lru)));
		t->evictions++;
		lookup(t, pid, &link); /* the chain may have changed */
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->proc.pid = pid;
	e->proc.start_ns = start_ns;
	*link = e;
	pw_list_push(&t->lru, &e->lru);
	t->count++;
	return &e->proc;
}

void pw_proctable_remove(struct pw_proctable *t, pid_t pid)
{
	struct entry *e = lookup(t, pid, NULL);

	if (e)
		drop(t, e);
}

size_t pw_proctable_count(const struct pw_proctable *t)
{
	return t->count;
}

uint64_t pw_proctable_evictions(const struct pw_proctable *t)
{
	return t->evictions;
}
