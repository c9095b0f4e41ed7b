/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * path.bpf.h - absolute path of a struct path, walked up the dentry tree
 * and across mounts (bpf_d_path is not available to tracepoint programs).
 */
#ifndef PW_PATH_BPF_H
#define PW_PATH_BPF_H

#include "abi/events.h"

/*
 * Walk state. It lives in a map value: the verifier then treats the
 * pointers and offsets as unknown and checks the loop body once, instead of
 * once per level and per branch (which exceeds its 1M-instruction budget).
 */
struct path_walk {
	__u64 dentry, vfsmnt, mnt, mnt_parent; /* kernel pointers, read with probe_read */
	__u32 off;                             /* first byte of the path in buf */
	__u32 truncated;
	char buf[2 * PW_PATH_MAX];             /* path right-aligned before buf[PW_PATH_MAX - 1] */
};

struct path_walk_ctx {
	struct path_walk *w;
};

/* bpf_loop callback: prepend one component; 1 stops the walk. */
static long path_step(__u64 index, void *ctx)
{
	struct path_walk *w = ((struct path_walk_ctx *)ctx)->w;
	struct dentry *dentry, *mnt_root, *d_parent;
	struct mount *mnt, *mnt_parent;
	struct vfsmount *vfsmnt;
	struct qstr name;
	__u32 len, off;

	if (!w)
		return 1;
	dentry = (struct dentry *)w->dentry;
	mnt = (struct mount *)w->mnt;
	mnt_parent = (struct mount *)w->mnt_parent;
	vfsmnt = (struct vfsmount *)w->vfsmnt;
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	d_parent = BPF_CORE_READ(dentry, d_parent);

	if (dentry == mnt_root || dentry == d_parent) {
		if (dentry != mnt_root || mnt == mnt_parent || !mnt_parent)
			return 1; /* the global root (or a detached tree) */
		/* Root of a mounted filesystem: continue at its mountpoint. */
		w->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = (__u64)mnt_parent;
		w->mnt_parent = (__u64)BPF_CORE_READ(mnt_parent, mnt_parent);
		w->vfsmnt = (__u64)&mnt_parent->mnt;
		return 0;
	}
	name = BPF_CORE_READ(dentry, d_name);
	len = name.len;
	off = w->off;
	if (len + 1 > off || off > PW_PATH_MAX - 1) {
		w->truncated = 1;
		return 1;
	}
	off -= len + 1;
	w->buf[off & (PW_PATH_MAX - 1)] = '/';
	bpf_probe_read_kernel(&w->buf[(off + 1) & (PW_PATH_MAX - 1)], len & (PW_PATH_MAX - 1),
			      name.name);
	w->off = off;
	w->dentry = (__u64)d_parent;
	return 0;
}

/*
 * Builds the path of `path` into w->buf and returns the offset of its first
 * byte; the path ends with the NUL at w->buf[PW_PATH_MAX - 1]. Sets
 * w->truncated when the path was deeper than PW_PATH_DEPTH levels or longer
 * than PW_PATH_MAX (the leading part is then missing).
 */
static __always_inline __u32 build_path(const struct path *path, struct path_walk *w)
{
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	struct path_walk_ctx ctx = { .w = w };
	long n;

	w->dentry = (__u64)BPF_CORE_READ(path, dentry);
	w->vfsmnt = (__u64)vfsmnt;
	w->mnt = (__u64)mnt;
	w->mnt_parent = (__u64)BPF_CORE_READ(mnt, mnt_parent);
	w->off = PW_PATH_MAX - 1;
	w->buf[PW_PATH_MAX - 1] = 0;
	n = bpf_loop(PW_PATH_DEPTH, path_step, &ctx, 0);
	if (n >= PW_PATH_DEPTH)
		w->truncated = 1;
	if (w->off >= PW_PATH_MAX - 1) { /* the root itself */
		w->off = PW_PATH_MAX - 2;
		w->buf[PW_PATH_MAX - 2] = '/';
	}
	return w->off & (PW_PATH_MAX - 1);
}

#endif
