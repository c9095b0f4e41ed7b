/* SPDX-License-Identifier: MIT */
/* core/fd.h - closing a descriptor that may be unset (-1), as libbpf's zclose(). */
#ifndef PW_FD_H
#define PW_FD_H

#include <unistd.h>

/* close(*fd) if it is open, and mark it unset; async-signal-safe (the atfork child handler uses it). */
static inline void pw_zclose(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#endif
