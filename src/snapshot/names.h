/* SPDX-License-Identifier: MIT */
/* names.h - user, group and cgroup names resolved lazily in user space, with bounded caches. */
#ifndef PW_NAMES_H
#define PW_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Entries in each of the uid and gid caches (direct-mapped: a collision evicts). */
#define PW_NAMES_ID_CACHE 4096
/* cgroup id -> path entries kept; past it the cache is emptied and refilled. */
#define PW_NAMES_CGROUP_CACHE 16384
/* Directories deeper than this below the cgroup2 root are not walked. */
#define PW_NAMES_CGROUP_DEPTH 32
/* A miss rewalks the cgroup hierarchy at most this often. */
#define PW_NAMES_REWALK_NS 1000000000ull
/* Length of a full container id, without the NUL. */
#define PW_CONTAINER_ID_LEN 64

/*
 * One per monitor (or per snapshot). Not thread-safe: one owner calls
 * everything. Strings returned are owned by the cache and stay valid until
 * the next lookup of the same kind on the same object (pw_names_user,
 * pw_names_group, or either cgroup function), or pw_names_free().
 */
struct pw_names;

/* NULL with errno set (ENOMEM). Does no I/O: everything happens on first use. */
struct pw_names *pw_names_new(void);
void pw_names_free(struct pw_names *n);

/* getpwuid_r/getgrgid_r once per id; misses and errors are cached too. NULL if unknown. */
const char *pw_names_user(struct pw_names *n, uint32_t uid);
const char *pw_names_group(struct pw_names *n, uint32_t gid);

/*
 * Path of the cgroup v2 directory whose inode number is cgroup_id, relative
 * to the cgroup2 root ("/" for the root, "/system.slice/x.service" below).
 * The root is found in /proc/self/mountinfo on first use. NULL if cgroup2 is
 * not mounted or the id is unknown (even after a rewalk; rewalks are limited
 * to one per PW_NAMES_REWALK_NS).
 */
const char *pw_names_cgroup_path(struct pw_names *n, uint64_t cgroup_id);
/* The container id of that cgroup (pw_container_id_from_cgroup), or NULL. Same lifetime. */
const char *pw_names_container_id(struct pw_names *n, uint64_t cgroup_id);

/*
 * Use dir as the cgroup2 root instead of looking in mountinfo (after the
 * library mounted cgroup2 itself, or for tests). Drops the cgroup cache.
 * 0, -ENOMEM, -ENAMETOOLONG.
 */
int pw_names_set_cgroup_root(struct pw_names *n, const char *dir);

/* Counters, for tests and debug logs. */
struct pw_names_stats {
	uint64_t user_lookups;  /* getpwuid_r calls */
	uint64_t group_lookups; /* getgrgid_r calls */
	uint64_t cgroup_walks;  /* full walks of the cgroup hierarchy */
	uint64_t cgroup_entries;/* id -> path entries cached now */
};
void pw_names_get_stats(const struct pw_names *n, struct pw_names_stats *stats);

/*
 * Find the container id in a cgroup path: docker ("/docker/<id>",
 * "docker-<id>.scope"), containerd/CRI ("cri-containerd-<id>.scope",
 * "...:cri-containerd:<id>"), CRI-O ("crio-<id>.scope", "crio-<id>"),
 * podman ("libpod-<id>.scope"), and kubepods cgroupfs paths
 * ("/kubepods/<qos>/pod<uid>/<id>"). <id> is exactly 64 lowercase hex
 * digits. The deepest match wins (nested containers). Copies the full id
 * into out (outlen > PW_CONTAINER_ID_LEN): 0, -ENOENT if none, -EINVAL.
 */
int pw_container_id_from_cgroup(const char *path, char *out, size_t outlen);

/*
 * Find the cgroup2 mount in a /proc/PID/mountinfo buffer buf[0..len): its
 * mount point and its root inside the hierarchy, octal escapes (\040)
 * decoded. The first cgroup2 mount whose root is "/" wins, else the first.
 * 0, -ENOENT if none, -ENAMETOOLONG if a result does not fit, -EINVAL.
 */
int pw_mountinfo_find_cgroup2(const char *buf, size_t len, char *mnt, size_t mntlen,
			      char *root, size_t rootlen);

#endif
