/* SPDX-License-Identifier: MIT */
/* test_names.c - uid/gid name caches, container ids from cgroup paths, cgroup id -> path. */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "snapshot/names.h"
#include "snapshot/procfs.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void user_and_group_names(void **state)
{
	struct pw_names *n = pw_names_new();
	struct pw_names_stats st;
	const char *root;

	(void)state;
	assert_non_null(n);
	root = pw_names_user(n, 0);
	assert_non_null(root);
	assert_string_equal(root, "root");
	assert_string_equal(pw_names_group(n, 0), "root");
	assert_null(pw_names_user(n, 4000000000u));
	assert_null(pw_names_group(n, 4000000000u));
	pw_names_get_stats(n, &st);
	assert_int_equal(st.user_lookups, 2);
	assert_int_equal(st.group_lookups, 2);

	/* hits and misses alike come from the cache now */
	assert_ptr_equal(pw_names_user(n, 0), root);
	assert_null(pw_names_user(n, 4000000000u));
	assert_null(pw_names_group(n, 4000000000u));
	assert_string_equal(pw_names_group(n, 0), "root");
	pw_names_get_stats(n, &st);
	assert_int_equal(st.user_lookups, 2);
	assert_int_equal(st.group_lookups, 2);

	assert_null(pw_names_user(NULL, 0));
	pw_names_free(n);
	pw_names_free(NULL);
}

static void id_cache_is_bounded(void **state)
{
	const uint32_t count = PW_NAMES_ID_CACHE + 1000, base = 3000000000u;
	struct pw_names *n = pw_names_new();
	struct pw_names_stats st;
	uint64_t first_pass;
	uint32_t i;

	(void)state;
	assert_non_null(n);
	for (i = 0; i < count; i++)
		assert_null(pw_names_user(n, base + i));
	pw_names_get_stats(n, &st);
	first_pass = st.user_lookups;
	assert_int_equal(first_pass, count);
	for (i = 0; i < count; i++)
		assert_null(pw_names_user(n, base + i));
	pw_names_get_stats(n, &st);
	/* some were evicted (bounded), most were not (cached) */
	assert_true(st.user_lookups > first_pass);
	assert_true(st.user_lookups - first_pass < count / 2);
	assert_string_equal(pw_names_user(n, 0), "root");
	pw_names_free(n);
}

struct cid_case {
	const char *path;
	const char *id; /* NULL: no match */
};

static void container_ids(void **state)
{
	static const struct cid_case cases[] = {
		/* docker, cgroupfs and systemd drivers */
		{ "/docker/" ID_A, ID_A },
		{ "/docker/" ID_A "/", ID_A },
		{ "/system.slice/docker-" ID_A ".scope", ID_A },
		/* nested: the innermost container */
		{ "/docker/" ID_A "/docker/" ID_B, ID_B },
		{ "/docker/" ID_A "/init.scope", ID_A },
		/* containerd / CRI */
		{ "/system.slice/cri-containerd-" ID_A ".scope", ID_A },
		{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/"
		  "cri-containerd-" ID_A ".scope", ID_A },
		{ "/system.slice/containerd.service/kubepods-burstable-pod1234.slice:cri-containerd:" ID_A,
		  ID_A },
		/* CRI-O */
		{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice/crio-" ID_A
		  ".scope", ID_A },
		{ "/kubepods/burstable/pod0c5f7e5b-1a2b-4c3d-9e8f-001122334455/crio-" ID_A, ID_A },
		/* podman */
		{ "/machine.slice/libpod-" ID_A ".scope", ID_A },
		{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_A
		  ".scope/container", ID_A },
		/* kubepods with the cgroupfs driver */
		{ "/kubepods/burstable/pod0c5f7e5b-1a2b-4c3d-9e8f-001122334455/" ID_A, ID_A },
		{ "/kubepods/pod0c5f7e5b-1a2b-4c3d-9e8f-001122334455/" ID_A, ID_A },
		{ "/kubepods.slice/kubepods-pod1.slice/docker-" ID_A ".scope", ID_A },

		/* not containers */
		{ "/", NULL },
		{ "", NULL },
		{ "/user.slice/user-1000.slice/session-2.scope", NULL },
		{ "/system.slice/docker.service", NULL },
		{ "/system.slice/containerd.service", NULL },
		{ "/machine.slice/libpod-conmon-" ID_A ".scope", NULL },
		{ "/system.slice/crio-conmon-" ID_A ".scope", NULL },
		{ "/kubepods/burstable/pod0c5f7e5b-1a2b-4c3d-9e8f-001122334455", NULL },
		/* a bare id needs docker/ or kubepods/.../pod<uid>/ before it */
		{ "/" ID_A, NULL },
		{ "/system.slice/" ID_A, NULL },
		{ "/kubepods/burstable/notapod/" ID_A, NULL },
		{ "/foo/pod1/" ID_A, NULL },
		/* wrong length / not hex / upper case / junk around */
		{ "/docker/0123456789ab", NULL },
		{ "/docker/" ID_A "0", NULL },
		{ "/docker/" ID_A "/../x", ID_A },
		{ "/docker/x" ID_A, NULL },
		{ "/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL },
		{ "/docker/0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef", NULL },
		{ "/system.slice/docker-0123456789abcdef.scope", NULL },
		{ "/system.slice/docker-" ID_A "0.scope", NULL },
		{ "/system.slice/docker-" ID_A ".scop", NULL },
		{ "/system.slice/docker-" ID_A ".scope.d", NULL },
		{ "/system.slice/xdocker-" ID_A ".scope", NULL },
		{ "/system.slice/docker_" ID_A ".scope", NULL },
		{ "/system.slice/.scope", NULL },
		{ "/x:cri-containerd:" ID_A "0", NULL },
		{ "/x:cri-containerd:0123", NULL },
		{ ":cri-containerd:", NULL },
		{ "/docker", NULL },
		{ "docker/", NULL },
		{ "///", NULL },
	};
	char out[PW_CONTAINER_ID_LEN + 1];
	size_t i;
	int err;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'X', sizeof(out));
		err = pw_container_id_from_cgroup(cases[i].path, out, sizeof(out));
		if (cases[i].id) {
			if (err)
				fail_msg("case %zu: no id in \"%s\" (%d)", i, cases[i].path, err);
			assert_string_equal(out, cases[i].id);
		} else if (err != -ENOENT) {
			fail_msg("case %zu: \"%s\" gave %d", i, cases[i].path, err);
		}
	}
	assert_int_equal(pw_container_id_from_cgroup("/docker/" ID_A, out, PW_CONTAINER_ID_LEN),
			 -EINVAL);
	assert_int_equal(pw_container_id_from_cgroup(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(pw_container_id_from_cgroup("/docker/" ID_A, NULL, 100), -EINVAL);
}

static void mountinfo(void **state)
{
	static const char hybrid[] =
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:5 - cgroup2 cgroup2 rw\n";
	static const char unified_no_nl[] =
		"22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
		"35 24 0:30 / /sys/fs/cgroup rw,nosuid master:4 shared:9 - cgroup2 cgroup2 rw";
	static const char sub_first[] =
		"50 22 0:30 /kubepods /host\\040cg rw - cgroup2 cgroup2 rw\n"
		"51 22 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	static const char only_sub[] =
		"50 22 0:30 /a\\134b /mnt/we\\011ird rw - cgroup2 none rw\n";
	static const char *const none[] = {
		"",
		"\n\n",
		"22 1 8:1 / / rw - ext4 /dev/sda1 rw\n",
		"41 31 0:38 / /x rw - cgroup cgroup2 rw\n",  /* type cgroup; cgroup2 is the source */
		"41 31 0:38 / /x rw cgroup2\n",              /* no separator */
		"41 31 - cgroup2 cgroup2 rw\n",              /* too few fields */
		"41 31 0:38 / /x rw - cgroup2x cgroup2 rw\n",
	};
	char mnt[64], root[64];
	size_t i;

	(void)state;
	assert_int_equal(pw_mountinfo_find_cgroup2(hybrid, strlen(hybrid), mnt, sizeof(mnt), root,
						   sizeof(root)), 0);
	assert_string_equal(mnt, "/sys/fs/cgroup/unified");
	assert_string_equal(root, "/");
	assert_int_equal(pw_mountinfo_find_cgroup2(unified_no_nl, strlen(unified_no_nl), mnt,
						   sizeof(mnt), root, sizeof(root)), 0);
	assert_string_equal(mnt, "/sys/fs/cgroup");
	/* a mount of the whole hierarchy wins over an earlier sub-tree mount */
	assert_int_equal(pw_mountinfo_find_cgroup2(sub_first, strlen(sub_first), mnt, sizeof(mnt),
						   root, sizeof(root)), 0);
	assert_string_equal(mnt, "/sys/fs/cgroup");
	assert_string_equal(root, "/");
	assert_int_equal(pw_mountinfo_find_cgroup2(sub_first, strlen("50 22 0:30 /kubepods /host\\040cg rw - cgroup2 cgroup2 rw\n"),
						   mnt, sizeof(mnt), root, sizeof(root)), 0);
	assert_string_equal(mnt, "/host cg");
	assert_string_equal(root, "/kubepods");
	assert_int_equal(pw_mountinfo_find_cgroup2(only_sub, strlen(only_sub), mnt, sizeof(mnt),
						   root, sizeof(root)), 0);
	assert_string_equal(mnt, "/mnt/we\tird");
	assert_string_equal(root, "/a\\b");
	assert_int_equal(pw_mountinfo_find_cgroup2(hybrid, strlen(hybrid), mnt, 22, root,
						   sizeof(root)), -ENAMETOOLONG);
	assert_int_equal(pw_mountinfo_find_cgroup2(hybrid, strlen(hybrid), mnt, 23, root,
						   sizeof(root)), 0);
	for (i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		if (pw_mountinfo_find_cgroup2(none[i], strlen(none[i]), mnt, sizeof(mnt), root,
					      sizeof(root)) != -ENOENT)
			fail_msg("mountinfo case %zu: found a cgroup2 mount in \"%s\"", i, none[i]);
	}
}

static uint64_t ino_of(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		fail_msg("stat %s: %s", path, strerror(errno));
	return (uint64_t)st.st_ino;
}

/* The walk over any directory tree: no cgroup2 or privileges needed. */
static void cgroup_walk_fake_tree(void **state)
{
	char top[] = "/tmp/pw-test-cg-XXXXXX", path[PATH_MAX], cmd[PATH_MAX + 16];
	struct pw_names *n = pw_names_new();
	struct pw_names_stats st;
	uint64_t deep_ok = 0, too_deep = 0;
	size_t len;
	int depth, fd;

	(void)state;
	assert_non_null(n);
	assert_non_null(mkdtemp(top));
	snprintf(path, sizeof(path), "%s/system.slice", top);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/system.slice/docker-" ID_A ".scope", top);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/system.slice/file", top);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/link", top);
	assert_int_equal(symlink("/", path), 0);
	/* a chain deeper than the walk goes */
	len = (size_t)snprintf(path, sizeof(path), "%s", top);
	for (depth = 1; depth <= PW_NAMES_CGROUP_DEPTH + 2; depth++) {
		len += (size_t)snprintf(path + len, sizeof(path) - len, "/d");
		assert_int_equal(mkdir(path, 0755), 0);
		if (depth == PW_NAMES_CGROUP_DEPTH)
			deep_ok = ino_of(path);
		if (depth == PW_NAMES_CGROUP_DEPTH + 1)
			too_deep = ino_of(path);
	}

	assert_int_equal(pw_names_set_cgroup_root(n, top), 0);
	assert_string_equal(pw_names_cgroup_path(n, ino_of(top)), "/");
	assert_null(pw_names_container_id(n, ino_of(top)));
	snprintf(path, sizeof(path), "%s/system.slice", top);
	assert_string_equal(pw_names_cgroup_path(n, ino_of(path)), "/system.slice");
	snprintf(path, sizeof(path), "%s/system.slice/docker-" ID_A ".scope", top);
	assert_string_equal(pw_names_cgroup_path(n, ino_of(path)),
			    "/system.slice/docker-" ID_A ".scope");
	assert_string_equal(pw_names_container_id(n, ino_of(path)), ID_A);
	assert_non_null(pw_names_cgroup_path(n, deep_ok));
	assert_int_equal(strlen(pw_names_cgroup_path(n, deep_ok)), 2 * PW_NAMES_CGROUP_DEPTH);
	snprintf(path, sizeof(path), "%s/system.slice/file", top);
	assert_null(pw_names_cgroup_path(n, ino_of(path)));
	pw_names_get_stats(n, &st);
	/* one walk served all of it: the misses came within a second */
	assert_int_equal(st.cgroup_walks, 1);
	assert_null(pw_names_cgroup_path(n, too_deep));
	assert_null(pw_names_cgroup_path(n, ino_of("/")));      /* behind the symlink */
	assert_int_equal(st.cgroup_entries, 3 + PW_NAMES_CGROUP_DEPTH);

	/* a directory made after the walk: found once the rewalk delay is over */
	snprintf(path, sizeof(path), "%s/late", top);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_null(pw_names_cgroup_path(n, ino_of(path)));
	pw_names_get_stats(n, &st);
	assert_int_equal(st.cgroup_walks, 1);
	usleep(PW_NAMES_REWALK_NS / 1000 + 100000);
	assert_string_equal(pw_names_cgroup_path(n, ino_of(path)), "/late");
	pw_names_get_stats(n, &st);
	assert_int_equal(st.cgroup_walks, 2);
	assert_null(pw_names_cgroup_path(n, 0));

	pw_names_free(n);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	assert_int_equal(system(cmd), 0);
}

/* The "0::" line of /proc/self/cgroup, without the newline. */
static int own_cgroup2_path(char *out, size_t outlen)
{
	char buf[4096], *line, *eol;
	size_t len;
	bool truncated;

	if (pw_procfs_read_file(AT_FDCWD, "/proc/self/cgroup", buf, sizeof(buf) - 1, &len,
				&truncated))
		return -1;
	buf[len] = '\0';
	for (line = buf; line && *line; line = eol ? eol + 1 : NULL) {
		eol = strchr(line, '\n');
		if (eol)
			*eol = '\0';
		if (!strncmp(line, "0::", 3)) {
			snprintf(out, outlen, "%s", line + 3);
			return 0;
		}
	}
	return -1;
}

static int find_cgroup2_mount(char *mnt, size_t mntlen)
{
	static char buf[1 << 20];
	char root[PATH_MAX];
	size_t len;
	bool truncated;

	if (pw_procfs_read_file(AT_FDCWD, "/proc/self/mountinfo", buf, sizeof(buf), &len,
				&truncated))
		return -1;
	return pw_mountinfo_find_cgroup2(buf, len, mnt, mntlen, root, sizeof(root));
}

/* Our own cgroup, found through the real mountinfo and cgroup2 mount. */
static void cgroup_path_of_self(void **state)
{
	char mnt[PATH_MAX], own[PATH_MAX], path[2 * PATH_MAX], tmp_mnt[] = "/tmp/pw-cg2-XXXXXX";
	struct pw_names *n;
	bool mounted_here = false;
	uint64_t id;

	(void)state;
	if (own_cgroup2_path(own, sizeof(own))) {
		print_message("SKIP: no \"0::\" line in /proc/self/cgroup (no cgroup2 here)\n");
		skip();
	}
	if (find_cgroup2_mount(mnt, sizeof(mnt))) {
		/* Mount it ourselves, beside (not over) a v1 /sys/fs/cgroup. */
		if (geteuid() != 0 || !mkdtemp(tmp_mnt) ||
		    mount("cgroup2", tmp_mnt, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
			print_message("SKIP: cgroup2 is not mounted and cannot be mounted here\n");
			rmdir(tmp_mnt);
			skip();
		}
		mounted_here = true;
		snprintf(mnt, sizeof(mnt), "%s", tmp_mnt);
	}
	snprintf(path, sizeof(path), "%s%s", mnt, own);
	id = ino_of(path);

	n = pw_names_new();
	assert_non_null(n);
	assert_string_equal(pw_names_cgroup_path(n, id), own);
	assert_string_equal(pw_names_cgroup_path(n, ino_of(mnt)), "/");
	assert_null(pw_names_cgroup_path(n, UINT64_MAX - 1));
	pw_names_free(n);

	if (mounted_here) {
		umount2(tmp_mnt, MNT_DETACH);
		rmdir(tmp_mnt);
	}
}

/* Write our pid into <cgroup dir>/cgroup.procs. */
static int write_pid(const char *cgroup_dir)
{
	char file[PATH_MAX + 64], pid[32];
	int fd, len, ok;

	snprintf(file, sizeof(file), "%s/cgroup.procs", cgroup_dir);
	fd = open(file, O_WRONLY);
	if (fd < 0)
		return -1;
	len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	ok = write(fd, pid, (size_t)len) == len;
	close(fd);
	return ok ? 0 : -1;
}

/* Root only: a child cgroup we create (and join) shows up under its path. */
static void cgroup_path_of_new_cgroup(void **state)
{
	char mnt[PATH_MAX], path[2 * PATH_MAX + 64], want[64], orig[PATH_MAX], own[PATH_MAX];
	struct pw_names *n;
	uint64_t id;

	(void)state;
	if (find_cgroup2_mount(mnt, sizeof(mnt))) {
		print_message("SKIP: cgroup2 is not mounted\n");
		skip();
	}
	snprintf(want, sizeof(want), "/pw-test-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s%s", mnt, want);
	if (mkdir(path, 0755)) {
		print_message("SKIP: cannot create a cgroup (%s)\n", strerror(errno));
		skip();
	}
	id = ino_of(path);
	n = pw_names_new();
	assert_non_null(n);
	assert_string_equal(pw_names_cgroup_path(n, id), want);
	assert_null(pw_names_container_id(n, id));
	pw_names_free(n);

	/* Move ourselves in: /proc/self/cgroup and the cache must agree on it. */
	assert_int_equal(own_cgroup2_path(orig, sizeof(orig)), 0);
	if (write_pid(path)) {
		print_message("note: cannot join %s, own-cgroup check left to cgroup_path_of_self\n",
			      path);
	} else {
		assert_int_equal(own_cgroup2_path(own, sizeof(own)), 0);
		assert_string_equal(own, want);
		n = pw_names_new();
		assert_non_null(n);
		assert_string_equal(pw_names_cgroup_path(n, id), own);
		pw_names_free(n);
		snprintf(path, sizeof(path), "%s%s", mnt, orig);
		assert_int_equal(write_pid(path), 0);
		snprintf(path, sizeof(path), "%s%s", mnt, want);
	}
	assert_int_equal(rmdir(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(user_and_group_names),
		cmocka_unit_test(id_cache_is_bounded),
		cmocka_unit_test(container_ids),
		cmocka_unit_test(mountinfo),
		cmocka_unit_test(cgroup_walk_fake_tree),
		cmocka_unit_test(cgroup_path_of_self),
		cmocka_unit_test(cgroup_path_of_new_cgroup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
