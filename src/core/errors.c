// SPDX-License-Identifier: MIT
/* errors.c - messages for library error codes, and the version. */
#include <errno.h>
#include <string.h>

#include "procward.h"

#ifndef PW_VERSION_STRING
#define PW_VERSION_STRING "0.1.0"
#endif

PW_API const char *pw_version(void)
{
	return PW_VERSION_STRING;
}

PW_API const char *pw_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case PW_ERR_NO_BTF:
		return "the kernel exposes no BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load";
	case PW_ERR_NO_BPF:
		return "BPF programs cannot be loaded (needs root or CAP_BPF+CAP_PERFMON, and a kernel with BPF)";
	case PW_ERR_KERNEL_FEATURE:
		return "a kernel feature procward needs is missing (see `procward features`)";
	case PW_ERR_ENFORCE_UNAVAILABLE:
		return "enforcement is not available on this kernel (BPF LSM cannot load); observation still works";
	case PW_ERR_RULE_SYNTAX:
		return "rule syntax error: expected `include|exclude name|name-prefix|name-glob|pid|uid VALUE`";
	case PW_ERR_RULE_LIMIT:
		return "too many rules of this kind";
	case ENAMETOOLONG:
		return "name too long (process names hold at most 15 bytes)";
	}
	/* strerror() is not reentrant in every libc; the GNU one returns static strings for known codes. */
	return strerror(err);
}
