/* SPDX-License-Identifier: MIT */
/*
 * gate/cache.h - the verdict cache: verdicts kept per file identity (device,
 * inode, change time), with the kernel's ignore marks and the BPF map of
 * cached allows. It knows files, not requests: what may be cached for a
 * request (rules, audit mode, held execs) the caller decides (request.c).
 */
#ifndef PW_GATE_CACHE_H
#define PW_GATE_CACHE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "procward.h"

/*
 * What a cached verdict is for: the image as fstat saw it before the
 * verdict, with its owner and mode (who could change it unseen).
 */
struct pw_gate_file_id {
	dev_t dev;
	ino_t ino;
	struct timespec ctime, mtime;
	off_t size;
	uid_t uid;
	mode_t mode;
};

static inline void pw_gate_file_id_of(struct pw_gate_file_id *id, const struct stat *st)
{
	*id = (struct pw_gate_file_id){ .dev = st->st_dev, .ino = st->st_ino, .ctime = st->st_ctim,
					.mtime = st->st_mtim, .size = st->st_size, .uid = st->st_uid,
					.mode = st->st_mode };
}

struct pw_gate_cache_entry {
	struct pw_gate_file_id id;
	enum pw_exec_verdict verdict;
	int err;
	int fd;       /* ALLOW: the image, to remove its ignore mark on eviction */
	uint64_t used; /* LRU tick */
};

struct pw_gate_cache {
	pthread_mutex_t lock; /* taken inside the gate's rules_lock, never the other way */
	struct pw_gate_cache_entry *entries;
	unsigned int n, cap;
	uint64_t tick;
	int fan_fd;               /* the group the ignore marks belong to; -1: detached */
	int map_fd;               /* BPF map gate_cached: the kernel's ctime check at exec */
	unsigned int ignore_flag; /* FAN_MARK_IGNORE, or FAN_MARK_IGNORED_MASK before 6.0 */
	_Atomic uint64_t hits, misses, evictions, flushes, invalidated;
};

void pw_gate_cache_init(struct pw_gate_cache *c);
void pw_gate_cache_fini(struct pw_gate_cache *c);
/* For a started gate: cap entries, the group and the map; counters reset. 0 or -ENOMEM. */
int pw_gate_cache_attach(struct pw_gate_cache *c, unsigned int cap, int fan_fd, int map_fd);
/* The group is closing: close the entries' descriptors (its close drops the marks), free them. */
void pw_gate_cache_detach(struct pw_gate_cache *c);

/* Drop every entry. */
void pw_gate_cache_flush(struct pw_gate_cache *c);
/*
 * A cached deny for this file: true, *err set. An allow entry found here is
 * stale (the kernel asked again because the file was written): dropped.
 */
bool pw_gate_cache_lookup_deny(struct pw_gate_cache *c, const struct pw_gate_file_id *id, int *err);
/* Keep v for the file open at fd, whose identity was id when it was decided: NULL, or why not. */
const char *pw_gate_cache_insert(struct pw_gate_cache *c, int fd, const struct pw_gate_file_id *id,
				 enum pw_exec_verdict v, int err);
/* The kernel found a cached allow stale at exec (its ctime moved): drop it (counted as invalidated). */
void pw_gate_cache_forget(struct pw_gate_cache *c, dev_t dev, ino_t ino);
unsigned int pw_gate_cache_entries(const struct pw_gate_cache *c);

#endif
