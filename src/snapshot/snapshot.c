/* SPDX-License-Identifier: MIT */
/* snapshot.c - the public snapshot API: a sorted list of the processes in a /proc tree. */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/number.h"
#include "core/opts.h"
#include "snapshot/names.h"
#include "snapshot/procfs.h"
#include "snapshot/process.h"

/* stat is ~300 bytes plus a comm of at most 64; status ~1.5 KiB, Uid/Gid early in it. */
#define PW_SNAP_STAT_MAX 4096
#define PW_SNAP_STATUS_MAX 8192

#define PW_SNAP_ALL_FLAGS (PW_SNAP_CMDLINE | PW_SNAP_IMAGE | PW_SNAP_USER)

struct pw_snapshot {
	struct pw_process *procs; /* sorted by pid */
	size_t count;
};

/* Scratch and settings for one pw_snapshot_take(). */
struct snap_ctx {
	int proc_fd;
	unsigned int flags;
	long clk_tck;
	uint64_t page_size;
	char *cmdline_buf; /* PW_PROCFS_CMDLINE_MAX bytes, if PW_SNAP_CMDLINE */
	struct pw_names *names;
};

/* "123" -> 123; anything else ("self", "01", "12x", > INT_MAX) is not a process. */
static pid_t pid_from_name(const char *name)
{
	uint64_t v;

	if (name[0] == '0' || pw_parse_uint(name, INT_MAX, &v))
		return 0;
	return (pid_t)v;
}

/* The process is gone (or being torn down): skip it without a word. */
static bool vanished(int err)
{
	return err == -ENOENT || err == -ESRCH;
}

/* Errors that would make every later process fail too: abort the snapshot. */
static bool fatal(int err)
{
	return err == -ENOMEM || err == -EMFILE || err == -ENFILE;
}

/*
 * Fill p from the /proc/PID directory pid_fd. 0: keep p; 1: skip it
 * (vanished or malformed); <0: fatal. Holding pid_fd pins the process we
 * opened: after it exits, reads fail with ESRCH even if the PID is reused.
 */
static int read_process(struct snap_ctx *ctx, int pid_fd, pid_t pid, struct pw_process *p)
{
	char stat_buf[PW_SNAP_STAT_MAX], status_buf[PW_SNAP_STATUS_MAX], exe[PATH_MAX];
	struct pw_status_fields status_fields;
	struct pw_stat_fields stat_fields;
	const char *user;
	bool truncated;
	ssize_t n;
	size_t len;
	int err;

	err = pw_procfs_read_file(pid_fd, "stat", stat_buf, sizeof(stat_buf), &len, &truncated);
	if (err)
		return fatal(err) ? err : 1;
	if (pw_procfs_parse_stat(stat_buf, len, &stat_fields) || stat_fields.pid != pid)
		return 1;
	p->pid = pid;
	p->ppid = stat_fields.ppid;
	p->state = stat_fields.state;
	p->threads = stat_fields.num_threads;
	memcpy(p->name, stat_fields.comm, sizeof(p->name));
	if (pw_procfs_ticks_to_ns(stat_fields.starttime_ticks, ctx->clk_tck, &p->start_ns))
		return 1;
	p->known |= PW_PK_KEY_COARSE;
	if (pw_procfs_ticks_to_ns(stat_fields.utime_ticks, ctx->clk_tck, &p->user_ns) ||
	    pw_procfs_ticks_to_ns(stat_fields.stime_ticks, ctx->clk_tck, &p->system_ns))
		return 1;
	if (stat_fields.has_rss && stat_fields.rss_pages <= UINT64_MAX / ctx->page_size)
		p->rss_bytes = stat_fields.rss_pages * ctx->page_size;
	p->vsize_bytes = stat_fields.vsize_bytes;

	err = pw_procfs_read_file(pid_fd, "status", status_buf, sizeof(status_buf), &len,
				  &truncated);
	if (vanished(err) || fatal(err))
		return fatal(err) ? err : 1;
	if (!err && !pw_procfs_parse_status(status_buf, len, &status_fields)) {
		p->uid = status_fields.uid[0];
		p->gid = status_fields.gid[0];
	} else {
		p->uid = p->gid = (uint32_t)-1;
	}

	if (ctx->flags & PW_SNAP_CMDLINE) {
		err = pw_procfs_read_file(pid_fd, "cmdline", ctx->cmdline_buf,
					  PW_PROCFS_CMDLINE_MAX, &len, &truncated);
		if (vanished(err) || fatal(err))
			return fatal(err) ? err : 1;
		if (!err) {
			err = pw_procfs_parse_cmdline(p, ctx->cmdline_buf, len, truncated);
			if (err)
				return err;
		}
	}

	if (ctx->flags & PW_SNAP_IMAGE) {
		/* EACCES without privileges, ENOENT for kernel threads: image stays NULL. */
		n = readlinkat(pid_fd, "exe", exe, sizeof(exe));
		if (n > 0 && (size_t)n < sizeof(exe)) {
			exe[n] = '\0';
			err = pw_process_set_image(p, exe);
			if (err)
				return err;
		}
	}

	if ((ctx->flags & PW_SNAP_USER) && p->uid != (uint32_t)-1) {
		user = pw_names_user(ctx->names, p->uid);
		if (user) {
			p->user_name = strdup(user);
			if (!p->user_name)
				return -ENOMEM;
		}
	}
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct pw_process *pa = a, *pb = b;

	return (pa->pid > pb->pid) - (pa->pid < pb->pid);
}

PW_API void pw_snapshot_free(struct pw_snapshot *snap)
{
	size_t i;

	if (!snap)
		return;
	for (i = 0; i < snap->count; i++)
		pw_process_clear(&snap->procs[i]);
	free(snap->procs);
	free(snap);
}

PW_API int pw_snapshot_take(const struct pw_snapshot_opts *opts, struct pw_snapshot **out)
{
	struct snap_ctx ctx = { .proc_fd = -1 };
	struct pw_snapshot *snap = NULL;
	const char *proc_root;
	struct dirent *de;
	size_t cap = 0;
	DIR *dir = NULL;
	pid_t pid;
	int pid_fd, err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!PW_OPTS_VALID(opts, pw_snapshot_opts))
		return -EINVAL;
	ctx.flags = PW_OPTS_GET(opts, flags, 0u);
	proc_root = PW_OPTS_GET(opts, proc_root, NULL);
	if (!proc_root)
		proc_root = "/proc";
	if (ctx.flags & ~(unsigned int)PW_SNAP_ALL_FLAGS)
		return -EINVAL;

	ctx.clk_tck = sysconf(_SC_CLK_TCK);
	if (ctx.clk_tck <= 0)
		return -EINVAL;
	ctx.page_size = sysconf(_SC_PAGESIZE) > 0 ? (uint64_t)sysconf(_SC_PAGESIZE) : 4096;
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	if (ctx.flags & PW_SNAP_CMDLINE) {
		ctx.cmdline_buf = malloc(PW_PROCFS_CMDLINE_MAX);
		if (!ctx.cmdline_buf) {
			err = -ENOMEM;
			goto err;
		}
	}
	if (ctx.flags & PW_SNAP_USER) {
		ctx.names = pw_names_new();
		if (!ctx.names) {
			err = -ENOMEM;
			goto err;
		}
	}
	ctx.proc_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx.proc_fd < 0) {
		err = -errno;
		goto err;
	}
	dir = fdopendir(ctx.proc_fd);
	if (!dir) {
		err = -errno;
		close(ctx.proc_fd);
		goto err;
	}

	for (;;) {
		errno = 0;
		de = readdir(dir);
		if (!de) {
			if (errno) {
				err = -errno;
				goto err;
			}
			break;
		}
		pid = pid_from_name(de->d_name);
		if (!pid)
			continue;
		err = pw_array_grow((void **)&snap->procs, &cap, snap->count + 1,
				    sizeof(*snap->procs), 512);
		if (err)
			goto err;
		pid_fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pid_fd < 0) {
			err = -errno;
			if (fatal(err))
				goto err;
			continue;
		}
		memset(&snap->procs[snap->count], 0, sizeof(struct pw_process));
		err = read_process(&ctx, pid_fd, pid, &snap->procs[snap->count]);
		close(pid_fd);
		if (err < 0) {
			pw_process_clear(&snap->procs[snap->count]);
			goto err;
		}
		if (err > 0)
			pw_process_clear(&snap->procs[snap->count]);
		else
			snap->count++;
	}

	/* /proc lists PIDs in ascending order today, but that is not a promise. */
	if (snap->count)
		qsort(snap->procs, snap->count, sizeof(*snap->procs), cmp_pid);
	closedir(dir);
	pw_names_free(ctx.names);
	free(ctx.cmdline_buf);
	*out = snap;
	return 0;

err:
	if (dir)
		closedir(dir);
	pw_names_free(ctx.names);
	free(ctx.cmdline_buf);
	pw_snapshot_free(snap);
	return err;
}

PW_API size_t pw_snapshot_count(const struct pw_snapshot *snap)
{
	return snap ? snap->count : 0;
}

PW_API const struct pw_process *pw_snapshot_process(const struct pw_snapshot *snap, size_t i)
{
	return snap && i < snap->count ? &snap->procs[i] : NULL;
}

PW_API const struct pw_process *pw_snapshot_find(const struct pw_snapshot *snap, pid_t pid)
{
	size_t lo = 0, hi, mid;

	if (!snap)
		return NULL;
	hi = snap->count;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (snap->procs[mid].pid == pid)
			return &snap->procs[mid];
		if (snap->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

PW_API pid_t pw_process_pid(const struct pw_process *p)
{
	return p ? p->pid : 0;
}

PW_API pid_t pw_process_parent_pid(const struct pw_process *p)
{
	return p ? p->ppid : 0;
}

PW_API struct pw_proc_key pw_process_key(const struct pw_process *p)
{
	struct pw_proc_key key = { 0 };

	if (p) {
		key.pid = p->pid;
		key.start_ns = p->start_ns;
	}
	return key;
}

PW_API const char *pw_process_name(const struct pw_process *p)
{
	return p ? p->name : NULL;
}

PW_API const char *pw_process_image(const struct pw_process *p)
{
	return p ? p->image : NULL;
}

PW_API size_t pw_process_argc(const struct pw_process *p)
{
	return p ? p->argc : 0;
}

PW_API const char *pw_process_arg(const struct pw_process *p, size_t i)
{
	return p && i < p->argc ? p->argv[i] : NULL;
}

PW_API uint32_t pw_process_uid(const struct pw_process *p)
{
	return p ? p->uid : (uint32_t)-1;
}

PW_API const char *pw_process_user_name(const struct pw_process *p)
{
	return p ? p->user_name : NULL;
}

PW_API uint32_t pw_process_thread_count(const struct pw_process *p)
{
	return p ? p->threads : 0;
}

PW_API char pw_process_state(const struct pw_process *p)
{
	return p ? p->state : '\0';
}

PW_API uint64_t pw_process_user_ns(const struct pw_process *p)
{
	return p ? p->user_ns : 0;
}

PW_API uint64_t pw_process_system_ns(const struct pw_process *p)
{
	return p ? p->system_ns : 0;
}

PW_API uint64_t pw_process_cpu_ns(const struct pw_process *p)
{
	return p ? p->user_ns + p->system_ns : 0;
}

PW_API uint64_t pw_process_rss_bytes(const struct pw_process *p)
{
	return p ? p->rss_bytes : 0;
}

PW_API uint64_t pw_process_start_ns(const struct pw_process *p)
{
	return p ? p->start_ns : 0;
}
