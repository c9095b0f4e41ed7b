/* SPDX-License-Identifier: MIT */
/* core/opts.h - small helpers every object of the library uses the same way: options and load errors. */
#ifndef PW_SHARED_H
#define PW_SHARED_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "procward.h"

/*
 * libbpf's rule for sized options: bytes of a newer caller's struct beyond
 * the fields this library knows must be zero, else the caller asked for
 * something we cannot do.
 */
static inline bool pw_opts_tail_zero(const void *opts, size_t user_sz, size_t our_sz)
{
	for (size_t i = our_sz; i < user_sz; i++)
		if (((const char *)opts)[i])
			return false;
	return true;
}

/* Map a libbpf load/attach error to what the application can act on. */
static inline int pw_bpf_load_error(int err)
{
	if (err == -EPERM || err == -EACCES)
		return -PW_ERR_NO_BPF;
	if (err == -ENOENT || err == -ESRCH || err == -ENOTSUP || err == -EOPNOTSUPP ||
	    err == -EINVAL)
		return -PW_ERR_KERNEL_FEATURE;
	return err;
}

#endif
