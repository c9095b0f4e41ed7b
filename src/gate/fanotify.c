// SPDX-License-Identifier: MIT
/*
 * gate/fanotify.c - the fanotify group (its marks: mounts.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include "gate/gate.h"

/* ------------------------------------------------------------ group */

int pw_gate_open_group(struct pw_gate *g)
{
	/*
	 * Unlimited marks: the verdict cache's ignore marks and one mark per
	 * superblock count against root's fanotify mark limit otherwise, which
	 * a user who mounts thousands of tmpfs in a namespace of their own
	 * could use up, for this gate and any other fanotify tool of root's.
	 */
	const unsigned int base = FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_TID | FAN_UNLIMITED_QUEUE |
				  FAN_UNLIMITED_MARKS;
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
