/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* verdict.bpf.h - PID and UID rule lookup, shared by the lifecycle filter and the access originator filter. */
#ifndef PW_VERDICT_BPF_H
#define PW_VERDICT_BPF_H

#include "abi/events.h"

/* PW_VERDICT_* bits of the PID and UID rules (maps tgid/uid -> __u8) that exist (kinds). */
static __always_inline __u8 pid_uid_verdict(void *pid_map, void *uid_map, __u32 kinds, __u32 tgid,
					    __u32 uid)
{
	__u8 verdict = 0, *v;

	if (kinds & PW_RK_PID) {
		v = bpf_map_lookup_elem(pid_map, &tgid);
		if (v)
			verdict |= *v;
	}
	if (kinds & PW_RK_UID) {
		v = bpf_map_lookup_elem(uid_map, &uid);
		if (v)
			verdict |= *v;
	}
	return verdict;
}

/* Exclude wins; with include rules present only an include lets the subject through. */
static __always_inline bool verdict_passes(__u8 verdict, __u32 kinds)
{
	if (verdict & PW_VERDICT_EXCLUDE)
		return false;
	return (verdict & PW_VERDICT_INCLUDE) || !(kinds & PW_RK_HAS_INCLUDE);
}

#endif
