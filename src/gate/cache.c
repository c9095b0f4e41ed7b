// SPDX-License-Identifier: MIT
/*
 * gate/cache.c - the verdict cache: an entry per file identity, the
 * kernel's ignore marks and the BPF map of cached allows. Which requests may
 * be cached is request.c's business; this file keeps verdicts for files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf/abi/gate.h"
#include "gate/cache.h"

#define COUNT(c, field) atomic_fetch_add_explicit(&(c)->field, 1, memory_order_relaxed)

static uint32_t kernel_dev(dev_t dev)
{
	return major(dev) << 20 | minor(dev);
}

static bool same_file_state(const struct pw_gate_file_id *a, const struct pw_gate_file_id *b)
{
	return a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->size == b->size;
}

void pw_gate_cache_init(struct pw_gate_cache *c)
{
	*c = (struct pw_gate_cache){ .fan_fd = -1, .map_fd = -1 };
	pthread_mutex_init(&c->lock, NULL);
}

void pw_gate_cache_fini(struct pw_gate_cache *c)
{
	pw_gate_cache_detach(c);
	pthread_mutex_destroy(&c->lock);
}

int pw_gate_cache_attach(struct pw_gate_cache *c, unsigned int cap, int fan_fd, int map_fd)
{
	struct pw_gate_cache_entry *e = calloc(cap, sizeof(*e));

	if (!e)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	free(c->entries);
	c->entries = e;
	c->cap = cap;
	c->n = 0;
	c->tick = 0;
	c->fan_fd = fan_fd;
	c->map_fd = map_fd;
	c->ignore_flag = FAN_MARK_IGNORE;
	c->hits = c->misses = c->evictions = c->flushes = c->invalidated = 0;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void pw_gate_cache_detach(struct pw_gate_cache *c)
{
	pthread_mutex_lock(&c->lock);
	for (unsigned int i = 0; i < c->n; i++)
		if (c->entries[i].verdict == PW_EXEC_ALLOW)
			close(c->entries[i].fd);
	c->n = 0;
	free(c->entries);
	c->entries = NULL;
	c->cap = 0;
	c->fan_fd = c->map_fd = -1;
	pthread_mutex_unlock(&c->lock);
}

static struct pw_gate_cache_entry *find(struct pw_gate_cache *c, dev_t dev, ino_t ino)
{
	for (unsigned int i = 0; i < c->n; i++)
		if (c->entries[i].id.ino == ino && c->entries[i].id.dev == dev)
			return &c->entries[i];
	return NULL;
}

static void unmap_allow(struct pw_gate_cache *c, const struct pw_gate_file_id *id)
{
	struct pw_gate_inode key = { .ino = id->ino, .dev = kernel_dev(id->dev) };

	bpf_map_delete_elem(c->map_fd, &key);
}

/* Drop one entry (lock held): the kernel's ignore mark first, then ours. */
static void drop(struct pw_gate_cache *c, struct pw_gate_cache_entry *e)
{
	if (e->verdict == PW_EXEC_ALLOW) {
		fanotify_mark(c->fan_fd, FAN_MARK_REMOVE | c->ignore_flag, FAN_OPEN_EXEC_PERM, e->fd, NULL);
		close(e->fd);
		unmap_allow(c, &e->id);
	}
	*e = c->entries[--c->n];
}

/* Drop every entry: one FAN_MARK_FLUSH removes all inode marks of the group (not its filesystem marks). */
void pw_gate_cache_flush(struct pw_gate_cache *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->fan_fd >= 0)
		fanotify_mark(c->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	for (unsigned int i = 0; i < c->n; i++) {
		struct pw_gate_cache_entry *e = &c->entries[i];

		if (e->verdict == PW_EXEC_ALLOW) {
			close(e->fd);
			unmap_allow(c, &e->id);
		}
	}
	c->n = 0;
	COUNT(c, flushes);
	pthread_mutex_unlock(&c->lock);
}

bool pw_gate_cache_lookup_deny(struct pw_gate_cache *c, const struct pw_gate_file_id *id, int *err)
{
	struct pw_gate_cache_entry *e;
	bool hit = false;

	/* racy read: an entry added right now is not needed yet */
	if (!id || !__atomic_load_n(&c->n, __ATOMIC_RELAXED)) {
		COUNT(c, misses);
		return false;
	}
	pthread_mutex_lock(&c->lock);
	e = find(c, id->dev, id->ino);
	if (e && e->verdict == PW_EXEC_DENY && same_file_state(&e->id, id)) {
		e->used = ++c->tick;
		*err = e->err;
		hit = true;
	} else if (e) {
		drop(c, e);
		COUNT(c, invalidated);
	}
	pthread_mutex_unlock(&c->lock);
	if (hit)
		COUNT(c, hits);
	else
		COUNT(c, misses);
	return hit;
}

/* Place the kernel's ignore mark for a cached allow (lock held); 0 or -errno. */
static int place_mark(struct pw_gate_cache *c, int fd)
{
	unsigned int add = FAN_MARK_ADD | c->ignore_flag;

	if (!fanotify_mark(c->fan_fd, add, FAN_OPEN_EXEC_PERM, fd, NULL))
		return 0;
	if (errno == EINVAL && c->ignore_flag == FAN_MARK_IGNORE) {
		c->ignore_flag = FAN_MARK_IGNORED_MASK; /* before Linux 6.0 */
		add = FAN_MARK_ADD | FAN_MARK_IGNORED_MASK;
		if (!fanotify_mark(c->fan_fd, add, FAN_OPEN_EXEC_PERM, fd, NULL))
			return 0;
	}
	return -errno;
}

/*
 * issue 12: a cached allow is a fanotify ignore mark, which a write through
 * a shared writable mapping does not clear (no modify event), and on
 * filesystems without page_mkwrite (tmpfs) does not move the ctime either.
 * So only files whose content nobody but root can change are cached: owned
 * by root (the owner can always chmod), not writable by group or others
 * (for a POSIX ACL the group bits are its mask: no named user may write
 * either), on a filesystem whose content is not changed elsewhere (network
 * and FUSE filesystems can change under the kernel's feet). Root, who can
 * rewrite anything, is not what the gate defends against.
 */
static const char *allow_file_veto(int fd, const struct pw_gate_file_id *id)
{
	static const unsigned long remote_fs[] = {
		0x65735546 /* FUSE */, 0x6969 /* NFS */, 0xff534d42 /* CIFS */, 0xfe534d42 /* SMB2 */,
		0x01021997 /* 9P */, 0x00c36400 /* CEPH */, 0x517b /* SMB */,
	};
	struct statfs sfs;
	char magic[2];

	if (id->uid != 0)
		return "not owned by root: its owner could change it unseen (a shared writable mapping)";
	if (id->mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others: they could change it unseen (a shared writable mapping)";
	if (!fstatfs(fd, &sfs))
		for (size_t i = 0; i < sizeof(remote_fs) / sizeof(*remote_fs); i++)
			if ((unsigned long)sfs.f_type == remote_fs[i])
				return "on a network or FUSE filesystem: its content can change elsewhere";
	/*
	 * At sched_process_exec a script's file is gone (bprm->file is its
	 * interpreter): the kernel could not tell a cached script from one
	 * fanotify never saw.
	 */
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == '#' && magic[1] == '!')
		return "a script (#!): only programs are cached";
	return NULL;
}

/* The ignore mark and the kernel's ctime entry of a cached allow (lock held); NULL, or why not. */
static const char *arm_allow(struct pw_gate_cache *c, int fd, const struct pw_gate_file_id *id)
{
	struct pw_gate_inode key = { .ino = id->ino, .dev = kernel_dev(id->dev) };
	/* the kernel checks the ctime at every exec the ignore mark lets through */
	struct pw_gate_ctime ctime = { .sec = id->ctime.tv_sec, .nsec = (uint32_t)id->ctime.tv_nsec };
	struct stat now;

	/* The BPF side first: the first exec the mark lets through must not look ungated. */
	if (bpf_map_update_elem(c->map_fd, &key, &ctime, BPF_ANY))
		return "the kernel's cache map is full";
	if (place_mark(c, fd)) {
		bpf_map_delete_elem(c->map_fd, &key);
		return "the ignore mark could not be placed";
	}
	/* A write between the decision and the mark cleared nothing (the mark was not there yet): if the file changed, undo. */
	if (fstat(fd, &now) || now.st_ctim.tv_sec != id->ctime.tv_sec || now.st_ctim.tv_nsec != id->ctime.tv_nsec ||
	    now.st_size != id->size) {
		fanotify_mark(c->fan_fd, FAN_MARK_REMOVE | c->ignore_flag, FAN_OPEN_EXEC_PERM, fd, NULL);
		bpf_map_delete_elem(c->map_fd, &key);
		return "the file changed while it was decided";
	}
	return NULL;
}

const char *pw_gate_cache_insert(struct pw_gate_cache *c, int fd, const struct pw_gate_file_id *id,
				 enum pw_exec_verdict v, int err)
{
	struct pw_gate_cache_entry *e;
	const char *why = NULL;
	int keep_fd = -1;

	if (v == PW_EXEC_ALLOW && (why = allow_file_veto(fd, id))) /* a stale deny only fails closed */
		return why;
	pthread_mutex_lock(&c->lock);
	if (!c->cap || c->fan_fd < 0) {
		why = "the gate is not running";
		goto out;
	}
	e = find(c, id->dev, id->ino);
	if (e)
		drop(c, e);
	if (c->n == c->cap) {
		struct pw_gate_cache_entry *lru = &c->entries[0];

		for (unsigned int i = 1; i < c->n; i++)
			if (c->entries[i].used < lru->used)
				lru = &c->entries[i];
		drop(c, lru);
		COUNT(c, evictions);
	}
	if (v == PW_EXEC_ALLOW) {
		keep_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (keep_fd < 0) {
			why = "out of file descriptors";
			goto out;
		}
		why = arm_allow(c, keep_fd, id);
		if (why) {
			close(keep_fd);
			goto out;
		}
	}
	e = &c->entries[c->n++];
	*e = (struct pw_gate_cache_entry){ .id = *id, .verdict = v, .err = err, .fd = keep_fd, .used = ++c->tick };
out:
	pthread_mutex_unlock(&c->lock);
	return why;
}

void pw_gate_cache_forget(struct pw_gate_cache *c, dev_t dev, ino_t ino)
{
	struct pw_gate_cache_entry *e;

	pthread_mutex_lock(&c->lock);
	e = find(c, dev, ino);
	if (e)
		drop(c, e);
	pthread_mutex_unlock(&c->lock);
	COUNT(c, invalidated);
}

unsigned int pw_gate_cache_entries(const struct pw_gate_cache *c)
{
	return __atomic_load_n(&c->n, __ATOMIC_RELAXED);
}
