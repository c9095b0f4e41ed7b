// SPDX-License-Identifier: MIT
/*
 * gate/cache.c - the verdict cache: an entry per image, the kernel's ignore
 * marks and the BPF map of cached allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "gate/gate.h"

/* ------------------------------------------------------------ verdict cache */

static uint32_t kernel_dev(dev_t dev)
{
	return major(dev) << 20 | minor(dev);
}

static bool same_file_state(const struct cache_entry *e, const struct stat *st)
{
	return e->ctime.tv_sec == st->st_ctim.tv_sec && e->ctime.tv_nsec == st->st_ctim.tv_nsec &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       e->size == st->st_size;
}

static struct cache_entry *cache_find(struct pw_gate *g, dev_t dev, ino_t ino)
{
	for (unsigned int i = 0; i < g->cache_n; i++)
		if (g->cache[i].ino == ino && g->cache[i].dev == dev)
			return &g->cache[i];
	return NULL;
}

/* Drop one entry (cache_lock held): the kernel's ignore mark first, then ours. */
static void cache_drop(struct pw_gate *g, struct cache_entry *e)
{
	if (e->verdict == PW_EXEC_ALLOW) {
		struct pw_gate_inode key = { .ino = e->ino, .dev = kernel_dev(e->dev) };

		fanotify_mark(g->fan_fd, FAN_MARK_REMOVE | g->ignore_flag, FAN_OPEN_EXEC_PERM, e->fd,
			      NULL);
		close(e->fd);
		bpf_map_delete_elem(g->cached_fd, &key);
	}
	*e = g->cache[--g->cache_n];
}

/* Drop every entry: one FAN_MARK_FLUSH removes all inode marks of the group (not its filesystem marks). */
void pw_gate_cache_flush(struct pw_gate *g)
{
	pthread_mutex_lock(&g->cache_lock);
	if (g->fan_fd >= 0)
		fanotify_mark(g->fan_fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	for (unsigned int i = 0; i < g->cache_n; i++) {
		struct cache_entry *e = &g->cache[i];

		if (e->verdict == PW_EXEC_ALLOW) {
			struct pw_gate_inode key = { .ino = e->ino, .dev = kernel_dev(e->dev) };

			close(e->fd);
			bpf_map_delete_elem(g->cached_fd, &key);
		}
	}
	g->cache_n = 0;
	PW_GATE_COUNT(g, cache_flushes);
	pthread_mutex_unlock(&g->cache_lock);
}

/*
 * At the point where the handler would be called: a cached deny for this
 * image answers instead (true, *err set). An allow entry found here is
 * stale: the kernel asked again because the file was written.
 */
bool pw_gate_cache_deny_hit(struct pw_gate *g, struct pw_exec_request *req, int *err)
{
	const struct stat *st = pw_gate_req_stat(req); /* also what a verdict cached later is checked against */
	struct cache_entry *e;
	bool hit = false;

	if (!st || !g->cache_n) { /* racy read: an entry added right now is not needed yet */
		PW_GATE_COUNT(g, cache_misses);
		return false;
	}
	pthread_mutex_lock(&g->cache_lock);
	e = cache_find(g, st->st_dev, st->st_ino);
	if (e && e->verdict == PW_EXEC_DENY && same_file_state(e, st)) {
		e->used = ++g->cache_tick;
		*err = e->err;
		hit = true;
	} else if (e) {
		cache_drop(g, e);
		PW_GATE_COUNT(g, cache_invalidated);
	}
	pthread_mutex_unlock(&g->cache_lock);
	if (hit)
		PW_GATE_COUNT(g, cache_hits);
	else
		PW_GATE_COUNT(g, cache_misses);
	return hit;
}

static void cache_refuse(struct pw_gate *g, struct pw_exec_request *req, const char *why)
{
	const char *image = pw_gate_req_image(req);

	PW_GATE_COUNT(g, cache_refused);
	pw_log(&g->log, PW_LOG_INFO, "not caching the verdict for %s: %s", image ? image : "?", why);
}

/* Place the kernel's ignore mark for a cached allow; 0 or -errno. */
static int cache_mark(struct pw_gate *g, int fd)
{
	unsigned int add = FAN_MARK_ADD | g->ignore_flag;

	if (!fanotify_mark(g->fan_fd, add, FAN_OPEN_EXEC_PERM, fd, NULL))
		return 0;
	if (errno == EINVAL && g->ignore_flag == FAN_MARK_IGNORE) {
		g->ignore_flag = FAN_MARK_IGNORED_MASK; /* before Linux 6.0 */
		add = FAN_MARK_ADD | FAN_MARK_IGNORED_MASK;
		if (!fanotify_mark(g->fan_fd, add, FAN_OPEN_EXEC_PERM, fd, NULL))
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
 * rewrite anything, is not what the gate defends against. Held and loader
 * execs have no fanotify event to mark (NULL: the file may be cached).
 */
static const char *cache_file_veto(const struct pw_exec_request *req, const struct stat *st)
{
	static const unsigned long remote_fs[] = {
		0x65735546 /* FUSE */, 0x6969 /* NFS */, 0xff534d42 /* CIFS */, 0xfe534d42 /* SMB2 */,
		0x01021997 /* 9P */, 0x00c36400 /* CEPH */, 0x517b /* SMB */,
	};
	struct statfs sfs;

	if (req->info.held || req->info.via_loader || req->info.loader_run)
		return "a held or loader exec: there is no fanotify event to mark";
	if (st->st_uid != 0)
		return "not owned by root: its owner could change it unseen (a shared writable mapping)";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others: they could change it unseen (a shared writable mapping)";
	if (!fstatfs(req->info.fd, &sfs))
		for (size_t i = 0; i < sizeof(remote_fs) / sizeof(*remote_fs); i++)
			if ((unsigned long)sfs.f_type == remote_fs[i])
				return "on a network or FUSE filesystem: its content can change elsewhere";
	return NULL;
}

/* After the answer: keep the verdict for the image, if it may be kept. */
void pw_gate_cache_insert(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v,
			  int err)
{
	const struct stat *st = pw_gate_req_stat(req);
	const char *why = NULL;
	struct cache_entry *e;
	struct stat now;
	int fd = -1;

	if (g->opts.audit) {
		cache_refuse(g, req, "audit mode");
		return;
	}
	if (!st) {
		cache_refuse(g, req, "the image could not be examined");
		return;
	}
	why = v == PW_EXEC_ALLOW ? cache_file_veto(req, st) : NULL; /* a stale deny only fails closed */
	if (why) {
		cache_refuse(g, req, why);
		return;
	}
	/* Under the read lock: a rule change waits for this insert, then flushes it. */
	pthread_rwlock_rdlock(&g->rules_lock);
	if (req->rules_gen != atomic_load(&g->rules_gen))
		why = "the rules changed while it was decided";
	else
		why = pw_gate_rules_cache_veto(&g->rules, req->rule, v == PW_EXEC_ALLOW,
					       g->rules.need_image ? pw_gate_req_image(req) : NULL,
					       req->hash_done && !req->hash_err ? req->hash : NULL);
	if (why)
		goto refuse;
	pthread_mutex_lock(&g->cache_lock);
	e = cache_find(g, st->st_dev, st->st_ino);
	if (e)
		cache_drop(g, e);
	if (g->cache_n == g->opts.cache_entries) {
		struct cache_entry *lru = &g->cache[0];

		for (unsigned int i = 1; i < g->cache_n; i++)
			if (g->cache[i].used < lru->used)
				lru = &g->cache[i];
		cache_drop(g, lru);
		PW_GATE_COUNT(g, cache_evictions);
	}
	if (v == PW_EXEC_ALLOW) {
		struct pw_gate_inode key = { .ino = st->st_ino, .dev = kernel_dev(st->st_dev) };
		/* the kernel checks the ctime at every exec the ignore mark lets through */
		struct pw_gate_ctime one = { .sec = st->st_ctim.tv_sec, .nsec = (uint32_t)st->st_ctim.tv_nsec };
		char magic[2];

		/*
		 * At sched_process_exec a script's file is gone (bprm->file is its
		 * interpreter): the kernel could not tell a cached script from one
		 * fanotify never saw.
		 */
		if (pread(req->info.fd, magic, 2, 0) == 2 && magic[0] == '#' && magic[1] == '!') {
			why = "a script (#!): only programs are cached";
			goto unlock_refuse;
		}
		fd = fcntl(req->info.fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			why = "out of file descriptors";
			goto unlock_refuse;
		}
		/* The BPF side first: the first exec the mark lets through must not look ungated. */
		if (bpf_map_update_elem(g->cached_fd, &key, &one, BPF_ANY)) {
			why = "the kernel's cache map is full";
			goto unlock_refuse;
		}
		if (cache_mark(g, fd)) {
			bpf_map_delete_elem(g->cached_fd, &key);
			why = "the ignore mark could not be placed";
			goto unlock_refuse;
		}
		/*
		 * A write between the decision and the mark cleared nothing (the
		 * mark was not there yet): if the file changed, undo.
		 */
		if (fstat(fd, &now) || now.st_ctim.tv_sec != st->st_ctim.tv_sec ||
		    now.st_ctim.tv_nsec != st->st_ctim.tv_nsec || now.st_size != st->st_size) {
			fanotify_mark(g->fan_fd, FAN_MARK_REMOVE | g->ignore_flag, FAN_OPEN_EXEC_PERM, fd,
				      NULL);
			bpf_map_delete_elem(g->cached_fd, &key);
			why = "the file changed while it was decided";
			goto unlock_refuse;
		}
	}
	e = &g->cache[g->cache_n++];
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->ctime = st->st_ctim;
	e->mtime = st->st_mtim;
	e->size = st->st_size;
	e->verdict = v;
	e->err = err;
	e->fd = fd;
	e->used = ++g->cache_tick;
	pthread_mutex_unlock(&g->cache_lock);
	pthread_rwlock_unlock(&g->rules_lock);
	return;
unlock_refuse:
	pthread_mutex_unlock(&g->cache_lock);
	if (fd >= 0)
		close(fd);
refuse:
	pthread_rwlock_unlock(&g->rules_lock);
	cache_refuse(g, req, why);
}

/* issue 12: the kernel found a cached allow stale at exec (its ctime moved): drop it. */
void pw_gate_cache_forget(struct pw_gate *g, dev_t dev, ino_t ino)
{
	struct cache_entry *e;

	pthread_mutex_lock(&g->cache_lock);
	e = cache_find(g, dev, ino);
	if (e)
		cache_drop(g, e);
	pthread_mutex_unlock(&g->cache_lock);
}
