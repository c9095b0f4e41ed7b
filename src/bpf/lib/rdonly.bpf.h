/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* rdonly.bpf.h - read-only views of kernel pointers, cheap for the verifier to check. */
#ifndef PW_RDONLY_BPF_H
#define PW_RDONLY_BPF_H

#include <bpf/bpf_core_read.h>

/* Linux 6.2+; weak so that the objects load without it. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __weak __ksym;

/*
 * Why: each pointer field loaded through a trusted pointer (from
 * bpf_get_current_task_btf(), a tp_btf or iterator argument) makes the
 * verifier search the kernel's BTF for up to four "<type>__safe_*" names,
 * linearly on 6.18 (check_ptr_to_btf_access -> btf_nested_type_is_trusted
 * -> btf_find_by_name_kind), at every such load on every path it walks.
 * That was a third of `procward top`'s start-up CPU (issue 14). Through a
 * read-only cast the same loads become fault-handled loads (PROBE_MEM) of
 * the same cost at run time, and the verifier searches nothing.
 *
 * The view may only be read: it cannot be passed to a kfunc or helper that
 * wants a trusted pointer (bpf_task_acquire, iterators), so callers keep the
 * original for those. The test is the open-coded task iterator's type
 * (6.7+): where it exists, so does bpf_rdonly_cast; on older kernels the
 * branch is dead at load time and the trusted pointer is used as before.
 */
#define pw_rdonly(ptr, type)                                                                   \
	(bpf_core_type_exists(struct bpf_iter_task)                                            \
		 ? (type *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type))                \
		 : (type *)(ptr))

#endif
