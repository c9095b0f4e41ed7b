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
#include <sys/sysmacros.h>
#include <unistd.h>

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

/* New mounts show as POLLPRI on mountinfo; the path lookups of marking stay off the reader. */
void *pw_gate_mounts_main(void *arg)
{
	struct pw_gate *g = arg;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLPRI },
		{ .fd = g->stop_fd, .events = POLLIN },
	};

	if (fd < 0)
		return NULL;
	/* A mount between pw_gate_start()'s marking and this open raised no event for fd. */
	pw_gate_mark_filesystems(g);
	while (!atomic_load(&g->stopping)) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (atomic_load(&g->stopping))
			break;
		if (pfd[0].revents & (POLLPRI | POLLERR))
			pw_gate_mark_filesystems(g);
	}
	close(fd);
	return NULL;
}
