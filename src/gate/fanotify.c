// SPDX-License-Identifier: MIT
/*
 * gate/fanotify.c - the fanotify group and its filesystem marks, kept up to
 * date by the new-mount watcher.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "gate/gate.h"

/* ------------------------------------------------------------ group */

int pw_gate_open_group(struct pw_gate *g)
{
	const unsigned int base = FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_TID | FAN_UNLIMITED_QUEUE;
	const unsigned int fflags = O_RDONLY | O_LARGEFILE | O_CLOEXEC;

	/* The pre-content class accepts FAN_DENY_ERRNO (Linux 6.14+); content is the fallback. */
	g->fan_fd = fanotify_init(base | FAN_CLASS_PRE_CONTENT, fflags);
	g->deny_errno_ok = g->fan_fd >= 0;
	if (g->fan_fd < 0 && errno == EINVAL)
		g->fan_fd = fanotify_init(base | FAN_CLASS_CONTENT, fflags);
	if (g->fan_fd >= 0)
		return 0;
	if (errno == EPERM) {
		pw_log(&g->log, PW_LOG_ERROR,
		       "the exec gate needs root (CAP_SYS_ADMIN for fanotify permission events)");
		return -EPERM;
	}
	pw_log(&g->log, PW_LOG_ERROR, "fanotify_init failed: %s", strerror(errno));
	return errno == ENOSYS || errno == EINVAL ? -PW_ERR_KERNEL_FEATURE : -errno;
}

/* ------------------------------------------------------------ marks */

static const char *const unmarked_fstypes[] = {
	"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "bpf", "tracefs", "debugfs",
	"securityfs", "pstore", "configfs", "fusectl", "binfmt_misc", "efivarfs", "autofs",
	"rpc_pipefs", "nsfs", "selinuxfs", "hugetlbfs",
};

/* Undo mountinfo's octal escapes (\040 for space...) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}

static bool dev_known(struct pw_gate *g, dev_t dev)
{
	for (size_t i = 0; i < g->n_devs; i++)
		if (g->devs[i] == dev)
			return true;
	return false;
}

static void dev_add(struct pw_gate *g, dev_t dev)
{
	if (g->n_devs == g->cap_devs) {
		size_t cap = g->cap_devs ? 2 * g->cap_devs : 64;
		dev_t *v = realloc(g->devs, cap * sizeof(*v));

		if (!v)
			return;
		g->devs = v;
		g->cap_devs = cap;
	}
	g->devs[g->n_devs++] = dev;
}

/*
 * Mark every filesystem of /proc/self/mountinfo not marked yet (one mark per
 * superblock: deduplicated by device). Filesystems that refuse are counted;
 * execs from them are caught as ungated by the BPF side.
 */
void pw_gate_mark_filesystems(struct pw_gate *g)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (!f) {
		pw_log(&g->log, PW_LOG_ERROR, "cannot read /proc/self/mountinfo: %s", strerror(errno));
		return;
	}
	while (getline(&line, &cap, f) > 0) {
		unsigned int maj, min;
		char mnt[4096], fstype[64];
		const char *sep = strstr(line, " - ");
		bool skip = false;
		dev_t dev;

		if (!sep || sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		dev = makedev(maj, min);
		if (dev_known(g, dev))
			continue;
		for (size_t i = 0; i < sizeof(unmarked_fstypes) / sizeof(*unmarked_fstypes); i++)
			skip |= !strcmp(fstype, unmarked_fstypes[i]);
		dev_add(g, dev); /* tried once, marked or not */
		if (skip)
			continue;
		unescape(mnt);
		if (fanotify_mark(g->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM,
				  AT_FDCWD, mnt)) {
			atomic_fetch_add(&g->fs_unmarkable, 1);
			pw_log(&g->log, PW_LOG_WARN, "cannot gate %s (%s): %s; its execs are reported ungated",
			       mnt, fstype, strerror(errno));
			continue;
		}
		atomic_fetch_add(&g->fs_marked, 1);
		pw_log(&g->log, PW_LOG_DEBUG, "gating %s (%s)", mnt, fstype);
	}
	free(line);
	fclose(f);
}

/* ------------------------------------------------------------ other namespaces (issue 12) */

#define MNT_SEEN_MAX 8192  /* mounts examined in other namespaces; beyond, their execs are held */

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U /* Linux 6.8: never reused */
#endif

int pw_gate_on_mount(void *ctx, void *data, size_t size)
{
	struct pw_gate *g = ctx;
	struct pw_gate_mount_batch *b = &g->mbatch;
	const struct pw_gate_mount_event *ev = data;

	if (size < sizeof(*ev))
		return 0;
	if (ev->kind == PW_GATE_MOUNT_FSMOUNT) {
		if (b->n_fsmounts < sizeof(b->fsmounts) / sizeof(*b->fsmounts)) {
			b->fsmounts[b->n_fsmounts].pid = ev->pid;
			b->fsmounts[b->n_fsmounts++].fd = ev->fd;
		} else {
			b->overflow = true;
		}
		return 0;
	}
	for (unsigned int i = 0; i < b->n_pids; i++)
		if (b->pids[i] == ev->pid)
			return 0; /* coalesced: one scan of its mounts covers every mount it made */
	if (b->n_pids < sizeof(b->pids) / sizeof(*b->pids))
		b->pids[b->n_pids++] = ev->pid;
	else
		b->overflow = true;
	return 0;
}

/* A mount not tried before (its unique id), remembered; false when the table is full. */
static bool mnt_first_seen(struct pw_gate *g, uint64_t id, bool *full)
{
	*full = false;
	for (size_t i = 0; i < g->n_mnt_seen; i++)
		if (g->mnt_seen[i] == id)
			return false;
	if (!g->mnt_seen)
		g->mnt_seen = calloc(MNT_SEEN_MAX, sizeof(*g->mnt_seen));
	if (!g->mnt_seen || g->n_mnt_seen == MNT_SEEN_MAX) {
		*full = true;
		return false;
	}
	g->mnt_seen[g->n_mnt_seen++] = id;
	return true;
}

/*
 * Mark the filesystem of fd (a path in another process's namespace) unless
 * known. Dedup by unique mount id, not device: an anonymous device number
 * (tmpfs) is reused by the next superblock once one is unmounted, and the
 * mark died with the old one. Adding a mark that exists is harmless.
 */
static void mark_fd(struct pw_gate *g, int fd, dev_t expect, const char *what)
{
	struct statx stx;
	bool full;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE | STATX_MNT_ID, &stx))
		return;
	if (expect && makedev(stx.stx_dev_major, stx.stx_dev_minor) != expect)
		return; /* the path led elsewhere (a symlink, a race): the exec is held instead */
	if (!mnt_first_seen(g, stx.stx_mnt_id, &full)) {
		if (full)
			atomic_fetch_add(&g->mounts_unmarked, 1);
		return;
	}
	if (fanotify_mark(g->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, fd, NULL)) {
		atomic_fetch_add(&g->fs_unmarkable, 1);
		pw_log(&g->log, PW_LOG_DEBUG, "cannot gate %s: %s; its execs are held", what, strerror(errno));
		return;
	}
	atomic_fetch_add(&g->fs_marked_elsewhere, 1);
	pw_log(&g->log, PW_LOG_DEBUG, "gating %s", what);
}

static bool unmarked_type(const char *fstype)
{
	for (size_t i = 0; i < sizeof(unmarked_fstypes) / sizeof(*unmarked_fstypes); i++)
		if (!strcmp(fstype, unmarked_fstypes[i]))
			return true;
	return false;
}

/* Every filesystem of pid's mount namespace not known, through /proc/PID/root. */
static void scan_process(struct pw_gate *g, uint32_t pid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	unsigned int lines = 0;
	FILE *f;
	int root;

	snprintf(path, sizeof(path), "/proc/%u/mountinfo", pid);
	f = fopen(path, "re");
	snprintf(path, sizeof(path), "/proc/%u/root", pid);
	root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (!f || root < 0)
		goto out;
	atomic_fetch_add(&g->mount_scans, 1);
	while (getline(&line, &cap, f) > 0 && lines++ < MNT_SEEN_MAX) {
		unsigned int maj, min;
		char mnt[4096], fstype[64];
		const char *sep = strstr(line, " - ");
		dev_t dev;
		int fd;

		if (!sep || sscanf(line, "%*u %*u %u:%u %*s %4095s", &maj, &min, mnt) != 3 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		dev = makedev(maj, min);
		if (dev_known(g, dev) || unmarked_type(fstype))
			continue; /* marked from our own namespace (or not markable at all) */
		unescape(mnt);
		/* in its root: the mount point is a path of its namespace, resolved there */
		fd = openat(root, mnt[0] == '/' ? mnt + 1 : mnt, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		mark_fd(g, fd, dev, mnt);
		close(fd);
	}
out:
	free(line);
	if (f)
		fclose(f);
	if (root >= 0)
		close(root);
}

/* A detached mount (fsmount): its fd, copied from the process. */
static void mark_fsmount(struct pw_gate *g, uint32_t pid, int fd)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), copy;

	if (pidfd < 0)
		return;
	copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	close(pidfd);
	if (copy < 0)
		return;
	mark_fd(g, copy, 0, "a detached mount (fsmount)");
	close(copy);
}

static void mark_batch(struct pw_gate *g)
{
	struct pw_gate_mount_batch *b = &g->mbatch;

	for (unsigned int i = 0; i < b->n_fsmounts; i++)
		mark_fsmount(g, b->fsmounts[i].pid, b->fsmounts[i].fd);
	for (unsigned int i = 0; i < b->n_pids; i++)
		scan_process(g, b->pids[i]);
	if (b->overflow)
		atomic_fetch_add(&g->mounts_unmarked, 1);
	b->n_pids = b->n_fsmounts = 0;
	b->overflow = false;
}

/*
 * New mounts show as POLLPRI on our mountinfo, and, in any namespace, as
 * gate_mounts records; the path lookups of marking stay off the reader (the
 * decision path). A user making mounts as fast as they can costs this
 * thread one scan of their mounts per batch, bounded (MNT_SEEN_MAX); what
 * is not marked in time is held at exec, never let through.
 */
void *pw_gate_mounts_main(void *arg)
{
	struct pw_gate *g = arg;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	struct pollfd pfd[3] = {
		{ .fd = fd, .events = POLLPRI },
		{ .fd = g->stop_fd, .events = POLLIN },
		{ .fd = g->mount_rb ? ring_buffer__epoll_fd(g->mount_rb) : -1, .events = POLLIN },
	};

	if (fd < 0)
		return NULL;
	while (!atomic_load(&g->stopping)) {
		if (poll(pfd, 3, -1) < 0 && errno != EINTR)
			break;
		if (atomic_load(&g->stopping))
			break;
		if (pfd[0].revents & (POLLPRI | POLLERR))
			pw_gate_mark_filesystems(g);
		if (pfd[2].revents & POLLIN) {
			ring_buffer__consume(g->mount_rb);
			mark_batch(g);
		}
	}
	close(fd);
	return NULL;
}
