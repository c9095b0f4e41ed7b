/* SPDX-License-Identifier: MIT */
/* names.c - bounded caches of uid/gid names and of cgroup v2 id -> path, filled on demand. */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snapshot/names.h"
#include "snapshot/procfs.h"

/* getpw*_r scratch grows on ERANGE up to this (huge groups in LDAP). */
#define PW_NAMES_NSS_BUF_MAX (1u << 20)
/* mountinfo is read whole; thousands of mounts on busy hosts. */
#define PW_NAMES_MOUNTINFO_MAX (8u << 20)

enum id_state { ID_EMPTY, ID_FOUND, ID_MISSING };

struct id_entry {
	uint32_t id;
	uint8_t state;  /* enum id_state */
	char *name;     /* malloc'd when ID_FOUND */
};

struct cgroup_entry {
	uint64_t id;
	char *path;               /* malloc'd, NULL: empty slot; the container id follows it */
	const char *container_id; /* into path's allocation, NULL if none */
};

struct pw_names {
	struct id_entry users[PW_NAMES_ID_CACHE];
	struct id_entry groups[PW_NAMES_ID_CACHE];
	char *nss_buf;
	size_t nss_buf_len;

	struct cgroup_entry *cgroups; /* open addressing, power-of-two capacity */
	size_t cgroup_cap, cgroup_count;
	bool cgroup_root_known;
	char cgroup_root[PATH_MAX];   /* where the hierarchy is mounted */
	char cgroup_prefix[PATH_MAX]; /* the mount's root inside the hierarchy: "/" normally */
	bool walked;                  /* a walk or a mount search happened at last_walk_ns */
	uint64_t last_walk_ns;

	struct pw_names_stats stats;
};

struct pw_names *pw_names_new(void)
{
	return calloc(1, sizeof(struct pw_names));
}

static void cgroup_cache_flush(struct pw_names *n)
{
	size_t i;

	for (i = 0; i < n->cgroup_cap; i++)
		free(n->cgroups[i].path);
	if (n->cgroups)
		memset(n->cgroups, 0, n->cgroup_cap * sizeof(*n->cgroups));
	n->cgroup_count = 0;
}

void pw_names_free(struct pw_names *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < PW_NAMES_ID_CACHE; i++) {
		free(n->users[i].name);
		free(n->groups[i].name);
	}
	cgroup_cache_flush(n);
	free(n->cgroups);
	free(n->nss_buf);
	free(n);
}

void pw_names_get_stats(const struct pw_names *n, struct pw_names_stats *stats)
{
	if (!n || !stats)
		return;
	*stats = n->stats;
	stats->cgroup_entries = n->cgroup_count;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ uid / gid */

static size_t id_slot(uint32_t id)
{
	/* Fibonacci hashing: sequential uids and subuid ranges spread evenly. */
	_Static_assert((PW_NAMES_ID_CACHE & (PW_NAMES_ID_CACHE - 1)) == 0, "power of two");
	return (size_t)((id * 2654435769u) >> 20) & (PW_NAMES_ID_CACHE - 1);
}

/* The name, malloc'd; NULL if unknown, on NSS errors, or out of memory. */
static char *nss_resolve(struct pw_names *n, uint32_t id, bool group)
{
	struct passwd pwd, *pwd_res;
	struct group grp, *grp_res;
	const char *name;
	size_t len;
	char *buf;
	int err;

	for (;;) {
		if (!n->nss_buf) {
			len = 1024;
			buf = malloc(len);
			if (!buf)
				return NULL;
			n->nss_buf = buf;
			n->nss_buf_len = len;
		}
		if (group) {
			n->stats.group_lookups++;
			err = getgrgid_r((gid_t)id, &grp, n->nss_buf, n->nss_buf_len, &grp_res);
			name = !err && grp_res ? grp_res->gr_name : NULL;
		} else {
			n->stats.user_lookups++;
			err = getpwuid_r((uid_t)id, &pwd, n->nss_buf, n->nss_buf_len, &pwd_res);
			name = !err && pwd_res ? pwd_res->pw_name : NULL;
		}
		if (err == EINTR)
			continue;
		if (err != ERANGE)
			break;
		if (n->nss_buf_len >= PW_NAMES_NSS_BUF_MAX)
			return NULL;
		buf = realloc(n->nss_buf, n->nss_buf_len * 2);
		if (!buf)
			return NULL;
		n->nss_buf = buf;
		n->nss_buf_len *= 2;
	}
	return name ? strdup(name) : NULL;
}

static const char *id_lookup(struct pw_names *n, struct id_entry *table, uint32_t id, bool group)
{
	struct id_entry *e;
	char *name;

	if (!n)
		return NULL;
	e = &table[id_slot(id)];
	if (e->state != ID_EMPTY && e->id == id)
		return e->name;
	/*
	 * A miss is cached like a hit: an unknown uid (a container's subuid)
	 * would otherwise cost an NSS lookup per event. A collision evicts.
	 */
	name = nss_resolve(n, id, group);
	free(e->name);
	e->id = id;
	e->state = name ? ID_FOUND : ID_MISSING;
	e->name = name;
	return name;
}

const char *pw_names_user(struct pw_names *n, uint32_t uid)
{
	return n ? id_lookup(n, n->users, uid, false) : NULL;
}

const char *pw_names_group(struct pw_names *n, uint32_t gid)
{
	return n ? id_lookup(n, n->groups, gid, true) : NULL;
}

/* ------------------------------------------------------ container ids */

static bool is_hex64(const char *s, size_t len)
{
	size_t i;

	if (len != PW_CONTAINER_ID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);

	return len >= plen && !memcmp(s, prefix, plen);
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t slen = strlen(suffix);

	return len >= slen && !memcmp(s + len - slen, suffix, slen);
}

/* The id inside one path component, given the one before it; NULL if none. */
static const char *component_container_id(const char *c, size_t len, const char *prev,
					  size_t prev_len, bool under_kubepods)
{
	static const char *const scope_prefixes[] = {
		"docker-", "cri-containerd-", "crio-", "libpod-",
	};
	static const char cri_sep[] = ":cri-containerd:";
	size_t i, plen, core_len;

	/* systemd cgroup driver: "<runtime>-<id>.scope" */
	if (has_suffix(c, len, ".scope")) {
		core_len = len - strlen(".scope");
		for (i = 0; i < sizeof(scope_prefixes) / sizeof(scope_prefixes[0]); i++) {
			plen = strlen(scope_prefixes[i]);
			if (has_prefix(c, core_len, scope_prefixes[i]) &&
			    is_hex64(c + plen, core_len - plen))
				return c + plen;
		}
		return NULL;
	}
	/* CRI-O with the cgroupfs driver: ".../pod<uid>/crio-<id>" */
	plen = strlen("crio-");
	if (has_prefix(c, len, "crio-") && is_hex64(c + plen, len - plen))
		return c + plen;
	/* containerd given a systemd-style "slice:prefix:name" cgroup path */
	if (len > PW_CONTAINER_ID_LEN + sizeof(cri_sep) - 1 &&
	    memcmp(c + len - PW_CONTAINER_ID_LEN - (sizeof(cri_sep) - 1), cri_sep,
		   sizeof(cri_sep) - 1) == 0 &&
	    is_hex64(c + len - PW_CONTAINER_ID_LEN, PW_CONTAINER_ID_LEN))
		return c + len - PW_CONTAINER_ID_LEN;
	/* cgroupfs driver: "/docker/<id>", "/kubepods/<qos>/pod<uid>/<id>" */
	if (is_hex64(c, len)) {
		if (prev_len == strlen("docker") && !memcmp(prev, "docker", prev_len))
			return c;
		if (under_kubepods && has_prefix(prev, prev_len, "pod"))
			return c;
	}
	return NULL;
}

int pw_container_id_from_cgroup(const char *path, char *out, size_t outlen)
{
	const char *c, *end, *prev = "", *found = NULL, *id;
	size_t prev_len = 0, len;
	bool under_kubepods = false;

	if (!path || !out || outlen <= PW_CONTAINER_ID_LEN)
		return -EINVAL;
	for (c = path; *c; c = end) {
		while (*c == '/')
			c++;
		end = c;
		while (*end && *end != '/')
			end++;
		len = (size_t)(end - c);
		if (!len)
			break;
		id = component_container_id(c, len, prev, prev_len, under_kubepods);
		if (id)
			found = id; /* keep going: the deepest container wins */
		if (has_prefix(c, len, "kubepods"))
			under_kubepods = true;
		prev = c;
		prev_len = len;
	}
	if (!found)
		return -ENOENT;
	memcpy(out, found, PW_CONTAINER_ID_LEN);
	out[PW_CONTAINER_ID_LEN] = '\0';
	return 0;
}

/* ----------------------------------------------------------- mountinfo */

/* Copy a mountinfo field, decoding the kernel's \ooo escapes (space, tab, newline, backslash). */
static int unescape_field(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		char ch = s[i];

		if (ch == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			ch = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= outlen)
			return -ENAMETOOLONG;
		out[o++] = ch;
	}
	if (!outlen)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

int pw_mountinfo_find_cgroup2(const char *buf, size_t len, char *mnt, size_t mntlen,
			      char *root, size_t rootlen)
{
	/* "36 35 98:0 /root /mnt rw,noatime master:1 - cgroup2 cgroup2 rw" */
	const char *line = buf, *end, *eol, *tok[6], *fs = NULL, *p;
	size_t tok_len[6], fs_len = 0, nfield;
	const char *best_mnt = NULL, *best_root = NULL;
	size_t best_mnt_len = 0, best_root_len = 0;
	int err;

	if (!buf || !mnt || !root)
		return -EINVAL;
	end = buf + len;
	for (; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			eol = end;
		nfield = 0;
		fs = NULL;
		for (p = line; p < eol;) {
			const char *t = p;

			while (p < eol && *p != ' ')
				p++;
			if (p > t) {
				if (nfield < 6) {
					tok[nfield] = t;
					tok_len[nfield] = (size_t)(p - t);
				} else if (!fs && p - t == 1 && *t == '-') {
					/* the separator: the next token is the type */
					while (p < eol && *p == ' ')
						p++;
					fs = p;
					while (p < eol && *p != ' ')
						p++;
					fs_len = (size_t)(p - fs);
					break;
				}
				nfield++;
			}
			while (p < eol && *p == ' ')
				p++;
		}
		if (nfield < 6 || !fs || fs_len != strlen("cgroup2") ||
		    memcmp(fs, "cgroup2", fs_len))
			continue;
		if (!best_mnt || (best_root_len != 1 && tok_len[3] == 1 && tok[3][0] == '/')) {
			best_root = tok[3];
			best_root_len = tok_len[3];
			best_mnt = tok[4];
			best_mnt_len = tok_len[4];
		}
	}
	if (!best_mnt)
		return -ENOENT;
	err = unescape_field(best_mnt, best_mnt_len, mnt, mntlen);
	if (!err)
		err = unescape_field(best_root, best_root_len, root, rootlen);
	return err;
}

/* ------------------------------------------------------------- cgroups */

static size_t cgroup_slot(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static struct cgroup_entry *cgroup_find(struct pw_names *n, uint64_t id)
{
	size_t i;

	if (!n->cgroup_cap)
		return NULL;
	for (i = cgroup_slot(id, n->cgroup_cap);; i = (i + 1) & (n->cgroup_cap - 1)) {
		if (!n->cgroups[i].path)
			return NULL;
		if (n->cgroups[i].id == id)
			return &n->cgroups[i];
	}
}

/* Capacity stays at least twice the count, so probing always meets an empty slot. */
static int cgroup_grow(struct pw_names *n)
{
	size_t cap = n->cgroup_cap ? n->cgroup_cap * 2 : 256, i, j;
	struct cgroup_entry *table = calloc(cap, sizeof(*table));

	if (!table)
		return -ENOMEM;
	for (i = 0; i < n->cgroup_cap; i++) {
		if (!n->cgroups[i].path)
			continue;
		for (j = cgroup_slot(n->cgroups[i].id, cap); table[j].path; j = (j + 1) & (cap - 1))
			;
		table[j] = n->cgroups[i];
	}
	free(n->cgroups);
	n->cgroups = table;
	n->cgroup_cap = cap;
	return 0;
}

static int cgroup_insert(struct pw_names *n, uint64_t id, const char *path)
{
	char container_id[PW_CONTAINER_ID_LEN + 1];
	struct cgroup_entry *e;
	size_t path_len = strlen(path), size, i;
	bool has_container;
	char *copy;

	e = cgroup_find(n, id);
	if (e && !strcmp(e->path, path))
		return 0;
	has_container = !pw_container_id_from_cgroup(path, container_id, sizeof(container_id));
	size = path_len + 1 + (has_container ? sizeof(container_id) : 0);
	copy = malloc(size);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, path, path_len + 1);
	if (has_container)
		memcpy(copy + path_len + 1, container_id, sizeof(container_id));

	if (e) { /* renamed cgroup: same id, new path */
		free(e->path);
	} else {
		/* Bounded: when full, forget everything and refill from this walk on. */
		if (n->cgroup_count >= PW_NAMES_CGROUP_CACHE)
			cgroup_cache_flush(n);
		if ((n->cgroup_count + 1) * 2 > n->cgroup_cap && cgroup_grow(n)) {
			free(copy);
			return -ENOMEM;
		}
		for (i = cgroup_slot(id, n->cgroup_cap); n->cgroups[i].path;
		     i = (i + 1) & (n->cgroup_cap - 1))
			;
		e = &n->cgroups[i];
		e->id = id;
		n->cgroup_count++;
	}
	e->path = copy;
	e->container_id = has_container ? copy + path_len + 1 : NULL;
	return 0;
}

/*
 * Record every directory below dir_fd (which it consumes), path[0..len) being
 * its path. Only the cgroup2 filesystem (dev) is walked, symlinks never.
 */
static void cgroup_walk_dir(struct pw_names *n, int dir_fd, char *path, size_t len, int depth,
			    dev_t dev)
{
	struct dirent *de;
	struct stat st;
	size_t name_len, child_len;
	DIR *dir;
	int fd;

	dir = fdopendir(dir_fd);
	if (!dir) {
		close(dir_fd);
		return;
	}
	while ((de = readdir(dir))) {
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		name_len = strlen(de->d_name);
		/* "/" + name, except right after the root's "/" */
		child_len = (len == 1 ? 1 : len + 1) + name_len;
		if (child_len >= PATH_MAX)
			continue;
		fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) || st.st_dev != dev) {
			close(fd);
			continue;
		}
		if (len != 1)
			path[len] = '/';
		memcpy(path + child_len - name_len, de->d_name, name_len + 1);
		/* A failed insert (ENOMEM) only costs a later miss. */
		cgroup_insert(n, (uint64_t)st.st_ino, path);
		if (depth + 1 < PW_NAMES_CGROUP_DEPTH)
			cgroup_walk_dir(n, fd, path, child_len, depth + 1, dev);
		else
			close(fd);
		path[len] = '\0';
	}
	closedir(dir);
}

static int cgroup_find_root(struct pw_names *n)
{
	size_t cap = (size_t)64 * 1024, len;
	bool truncated;
	char *buf = NULL, *bigger;
	int err;

	for (;;) {
		bigger = realloc(buf, cap);
		if (!bigger) {
			err = -ENOMEM;
			goto out;
		}
		buf = bigger;
		err = pw_procfs_read_file(AT_FDCWD, "/proc/self/mountinfo", buf, cap, &len,
					  &truncated);
		if (err)
			goto out;
		if (!truncated)
			break;
		if (cap >= PW_NAMES_MOUNTINFO_MAX) {
			err = -EFBIG;
			goto out;
		}
		cap *= 2;
	}
	err = pw_mountinfo_find_cgroup2(buf, len, n->cgroup_root, sizeof(n->cgroup_root),
					n->cgroup_prefix, sizeof(n->cgroup_prefix));
	if (!err)
		n->cgroup_root_known = true;
out:
	free(buf);
	return err;
}

static void cgroup_walk(struct pw_names *n)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len;
	int fd;

	n->walked = true;
	n->last_walk_ns = now_ns();
	if (!n->cgroup_root_known && cgroup_find_root(n))
		return;
	n->stats.cgroup_walks++;
	fd = open(n->cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st)) {
		close(fd);
		return;
	}
	/*
	 * Paths are relative to the hierarchy's root, as in /proc/PID/cgroup:
	 * a mount of a sub-tree prefixes its root. Roots outside our cgroup
	 * namespace ("/../..") cannot be named that way; use the mount itself.
	 */
	len = strlen(n->cgroup_prefix);
	if (!len || n->cgroup_prefix[0] != '/' || strstr(n->cgroup_prefix, "/.."))
		len = 0;
	if (!len)
		path[len++] = '/';
	else
		memcpy(path, n->cgroup_prefix, len);
	while (len > 1 && path[len - 1] == '/')
		len--;
	path[len] = '\0';
	cgroup_insert(n, (uint64_t)st.st_ino, path);
	cgroup_walk_dir(n, fd, path, len, 0, st.st_dev);
}

static struct cgroup_entry *cgroup_lookup(struct pw_names *n, uint64_t cgroup_id)
{
	struct cgroup_entry *e;

	if (!n || !cgroup_id)
		return NULL;
	e = cgroup_find(n, cgroup_id);
	if (e)
		return e;
	/* A miss rewalks, but never more than once per PW_NAMES_REWALK_NS. */
	if (n->walked && now_ns() - n->last_walk_ns < PW_NAMES_REWALK_NS)
		return NULL;
	cgroup_walk(n);
	return cgroup_find(n, cgroup_id);
}

const char *pw_names_cgroup_path(struct pw_names *n, uint64_t cgroup_id)
{
	struct cgroup_entry *e = cgroup_lookup(n, cgroup_id);

	return e ? e->path : NULL;
}

const char *pw_names_container_id(struct pw_names *n, uint64_t cgroup_id)
{
	struct cgroup_entry *e = cgroup_lookup(n, cgroup_id);

	return e ? e->container_id : NULL;
}

int pw_names_set_cgroup_root(struct pw_names *n, const char *dir)
{
	size_t len;

	if (!n || !dir)
		return -EINVAL;
	len = strlen(dir);
	if (len >= sizeof(n->cgroup_root))
		return -ENAMETOOLONG;
	memcpy(n->cgroup_root, dir, len + 1);
	strcpy(n->cgroup_prefix, "/");
	n->cgroup_root_known = true;
	n->walked = false;
	cgroup_cache_flush(n);
	return 0;
}
