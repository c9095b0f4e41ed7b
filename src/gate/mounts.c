// SPDX-License-Identifier: MIT
/*
 * gate/mounts.c - the filesystems the gate marks: its own mount
 * namespace's at start and as mounted (POLLPRI on mountinfo), and those
 * mounted in any other mount namespace as the kernel reports each mount
 * (gate.bpf.c). Whether a superblock is marked is read from the group's
 * own fdinfo, the kernel's truth: a device number freed by an unmount and
 * reused by a new filesystem is marked again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/array.h"
#include "gate/gate.h"
#include "gate.skel.h"

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

static const char *const unmarked_fstypes[] = {
	"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "bpf", "tracefs", "debugfs",
	"securityfs", "pstore", "configfs", "fusectl", "binfmt_misc", "efivarfs", "autofs",
	"rpc_pipefs", "nsfs", "selinuxfs", "hugetlbfs",
};

/* ------------------------------------------------------------ mountinfo */

struct mount_line {
	unsigned int id, parent;
	dev_t dev;
	char fstype[64];
	char *mnt; /* unescaped mount point, relative to the namespace's root */
};

struct mount_table {
	struct mount_line *v; /* in mountinfo's order */
	size_t n, cap;
	size_t *by_id;        /* indexes into v, sorted by id: the walk asks which mount it is on */
};

/* Undo mountinfo's octal escapes (\040 for space...) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}

static void table_free(struct mount_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].mnt);
	free(t->v);
	free(t->by_id);
	memset(t, 0, sizeof(*t));
}

static int by_id_cmp(const void *a, const void *b, void *table)
{
	const struct mount_table *t = table;
	unsigned int x = t->v[*(const size_t *)a].id, y = t->v[*(const size_t *)b].id;

	return x < y ? -1 : x > y;
}

/* The mount with this id, or NULL (mounted after the table was read). */
static const struct mount_line *table_find(const struct mount_table *t, unsigned int id)
{
	size_t lo = 0, hi = t->by_id ? t->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mount_line *m = &t->v[t->by_id[mid]];

		if (m->id == id)
			return m;
		if (m->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Parse mountinfo (its bytes are the mounting user's: every field bounded). 0 or -errno. */
static int table_read(int fd, struct mount_table *t)
{
	FILE *f = fdopen(fd, "re");
	char *line = NULL, mnt[4096];
	size_t cap = 0;

	if (!f) {
		close(fd);
		return -errno;
	}
	while (getline(&line, &cap, f) > 0) {
		const char *sep = strstr(line, " - ");
		struct mount_line m = { 0 };
		unsigned int maj, min;

		if (!sep || sscanf(line, "%u %u %u:%u %*s %4095s", &m.id, &m.parent, &maj, &min, mnt) != 5 ||
		    sscanf(sep + 3, "%63s", m.fstype) != 1)
			continue;
		m.dev = makedev(maj, min);
		unescape(mnt);
		if (pw_array_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v), 64) ||
		    !(m.mnt = strdup(mnt)))
			break;
		t->v[t->n++] = m;
	}
	free(line);
	fclose(f);
	t->by_id = malloc((t->n ? t->n : 1) * sizeof(*t->by_id));
	if (!t->by_id)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		t->by_id[i] = i;
	/* qsort_r: two gates in one process sort on their own mount threads at once */
	qsort_r(t->by_id, t->n, sizeof(*t->by_id), by_id_cmp, t);
	return 0;
}

static bool is_fuse(const char *fstype)
{
	return !strcmp(fstype, "fuse") || !strcmp(fstype, "fuseblk") || !strncmp(fstype, "fuse.", 5);
}

/*
 * Whether a lookup in the directory fd is answered by its own filesystem:
 * not in FUSE, whose server (any user, in a user namespace) can leave a
 * lookup waiting forever, nor, in another namespace, in overlay, whose
 * lower layers can be FUSE. The mount fd is on is told by statx's mount id
 * (AT_STATX_DONT_SYNC: no request to any server); one the table does not
 * know (mounted since) is not looked into.
 */
static bool lookup_safe(const struct mount_table *t, int fd, bool foreign)
{
	const struct mount_line *m;
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) ||
	    !(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id > UINT32_MAX)
		return false;
	m = table_find(t, (unsigned int)stx.stx_mnt_id);
	return m && !is_fuse(m->fstype) && !(foreign && !strcmp(m->fstype, "overlay"));
}

/* ------------------------------------------------------------ marked superblocks */

/* Open addressing, linear probing; a slot holds dev + 1 (0: empty). */
static size_t set_slot(const struct pw_gate_dev_set *s, dev_t dev)
{
	uint64_t h = (uint64_t)dev * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 32) & (s->cap - 1);

	while (s->v[i] && s->v[i] != dev + 1)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static bool set_has(const struct pw_gate_dev_set *s, dev_t dev)
{
	return s->cap && s->v[set_slot(s, dev)] == dev + 1;
}

/* Added if there is memory: a device left out is only looked at again. */
static void set_add(struct pw_gate_dev_set *s, dev_t dev)
{
	if (set_has(s, dev))
		return;
	if (2 * (s->n + 1) > s->cap) { /* at most half full */
		struct pw_gate_dev_set bigger = { .cap = s->cap ? 2 * s->cap : 64 };

		bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
		if (!bigger.v)
			return;
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i])
				bigger.v[set_slot(&bigger, s->v[i] - 1)] = s->v[i];
		bigger.n = s->n;
		free(s->v);
		*s = bigger;
	}
	s->v[set_slot(s, dev)] = dev + 1;
	s->n++;
}

static void set_free(struct pw_gate_dev_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The superblocks the group has marks on now ("fanotify sdev:%x" in its fdinfo). */
static void read_marked(const struct pw_gate *g, struct pw_gate_dev_set *s)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", g->fan_fd);
	f = fopen(path, "re");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		unsigned int sdev; /* the kernel's encoding: major << 20 | minor */

		if (sscanf(line, "fanotify sdev:%x", &sdev) == 1)
			set_add(s, makedev(sdev >> 20, sdev & 0xfffff));
	}
	free(line);
	fclose(f);
}

/* ------------------------------------------------------------ marking */

static int sys_openat2(int dirfd, const char *path, uint64_t resolve)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = resolve };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/*
 * m's mount point, opened (O_PATH) from rootfd, the namespace's root, one
 * component at a time: each is looked up only where lookup_safe() says,
 * and never through a symlink (a mount point's parent directories belong
 * to whoever mounted, who can swap one for a link). -1 if it cannot be.
 */
static int open_mount_point(const struct mount_table *t, int rootfd, const char *path, bool foreign)
{
	char buf[4096], *save = NULL, *comp;
	int fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || strlen(path) >= sizeof(buf)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	strcpy(buf, path);
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next;

		if (!strcmp(comp, ".") || !strcmp(comp, "..") || !lookup_safe(t, fd, foreign)) {
			close(fd);
			return -1;
		}
		next = sys_openat2(fd, comp, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
		close(fd);
		if (next < 0)
			return -1;
		fd = next;
	}
	return fd;
}

/*
 * Mark the filesystem of mount m. 1 marked, 0 skipped (not reachable,
 * hidden under another mount, FUSE elsewhere than the gate's own
 * namespace), -errno refused by fanotify.
 */
static int mark_one(struct pw_gate *g, const struct mount_table *t, int rootfd, const struct mount_line *m,
		    bool foreign)
{
	struct statx stx;
	char self[64];
	int fd, err = 0;

	if (foreign && is_fuse(m->fstype))
		return 0;
	fd = open_mount_point(t, rootfd, m->mnt, foreign);
	if (fd < 0) {
		pw_log(&g->log, PW_LOG_DEBUG, "not reaching mount point %s (%s)", m->mnt, m->fstype);
		return 0;
	}
	/*
	 * Exactly this mount, by its id: not one mounted over it (its own line
	 * is marked in turn). (Not by device: a btrfs subvolume's files show
	 * another st_dev than its superblock's.)
	 */
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) ||
	    !(stx.stx_mask & STATX_MNT_ID) || stx.stx_mnt_id != m->id) {
		close(fd);
		return 0;
	}
	/* the O_PATH fd's own path: fanotify resolves it to exactly what was opened */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (fanotify_mark(g->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD,
			  self))
		err = -errno;
	close(fd);
	return err ? err : 1;
}

/*
 * Mark the new filesystems of the mount namespace that procfd (/proc/PID)
 * is in. Each superblock is marked once however many mounts show it. A
 * scan tries at most MOUNTS_PER_SCAN mounts (a user can stack thousands
 * in a namespace of their own; what is left is held at exec, and tried at
 * the next report), and stops when the gate does.
 */
#define MOUNTS_PER_SCAN 256
static void mark_namespace(struct pw_gate *g, int procfd, bool foreign)
{
	struct pw_gate_marks *mk = &g->marks;
	struct mount_table t = { 0 };
	struct pw_gate_dev_set marked = { 0 };
	int fd, rootfd;

	unsigned int budget = MOUNTS_PER_SCAN;

	fd = openat(procfd, "mountinfo", O_RDONLY | O_CLOEXEC);
	rootfd = openat(procfd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || rootfd < 0 || table_read(fd, &t)) {
		if (!foreign)
			pw_log(&g->log, PW_LOG_ERROR, "cannot read this process's mounts: %s", strerror(errno));
		if (fd >= 0 && rootfd < 0)
			close(fd);
		goto out;
	}
	read_marked(g, &marked);
	/* Newest last in mountinfo: they get the budget first. */
	for (size_t i = t.n; i-- > 0 && budget && !atomic_load(&g->stopping);) {
		const struct mount_line *m = &t.v[i];
		bool skip = false;
		int r;

		if (set_has(&marked, m->dev) || set_has(&mk->refused, m->dev))
			continue;
		for (size_t k = 0; k < sizeof(unmarked_fstypes) / sizeof(*unmarked_fstypes); k++)
			skip |= !strcmp(m->fstype, unmarked_fstypes[k]);
		if (skip)
			continue;
		budget--;
		r = mark_one(g, &t, rootfd, m, foreign);
		if (r < 0) {
			/* out of marks or memory may pass; anything else is this filesystem's */
			if (r != -ENOSPC && r != -ENOMEM)
				set_add(&mk->refused, m->dev);
			atomic_fetch_add(&mk->unmarkable, 1);
			pw_log(&g->log, PW_LOG_WARN, "cannot gate %s (%s): %s; its execs are held or reported",
			       m->mnt, m->fstype, strerror(-r));
			continue;
		}
		if (r == 0)
			continue;
		set_add(&marked, m->dev);
		atomic_fetch_add(&mk->marked, 1);
		if (foreign)
			atomic_fetch_add(&mk->marked_mounted, 1);
		pw_log(&g->log, PW_LOG_DEBUG, "gating %s (%s)%s", m->mnt, m->fstype,
		       foreign ? " in another mount namespace" : "");
	}
out:
	if (rootfd >= 0)
		close(rootfd);
	table_free(&t);
	set_free(&marked);
}

void pw_gate_marks_own(struct pw_gate *g)
{
	int procfd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (procfd < 0) {
		pw_log(&g->log, PW_LOG_ERROR, "cannot open /proc/self: %s", strerror(errno));
		return;
	}
	mark_namespace(g, procfd, false);
	close(procfd);
}

/* ------------------------------------------------------------ other namespaces */

/* /proc/ID (a thread or a process) as an O_PATH fd if its mount namespace is ns; else -1. */
static int proc_in_ns(uint32_t id, uint32_t ns)
{
	char path[32];
	struct stat st;
	int fd;

	if (!id)
		return -1;
	snprintf(path, sizeof(path), "/proc/%u", id);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstatat(fd, "ns/mnt", &st, 0) || st.st_ino != ns) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The mounting thread is gone (mount(8) exits at once): any process still in ns. */
static int find_in_ns(uint32_t ns)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int fd = -1;

	if (!d)
		return -1;
	while (fd < 0 && (e = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(e->d_name, &end, 10);

		if (*end || !pid || pid > UINT32_MAX)
			continue;
		fd = proc_in_ns((uint32_t)pid, ns);
	}
	closedir(d);
	return fd;
}

/* A mount in another namespace (ring callback): its namespace is rescanned once per drain. */
static int on_mount_report(void *ctx, void *data, size_t len)
{
	struct pw_gate_marks *mk = &((struct pw_gate *)ctx)->marks;
	const struct pw_gate_mount *m = data;

	if (len < sizeof(*m))
		return 0;
	atomic_fetch_add(&mk->reported, 1);
	for (size_t i = 0; i < mk->n_reports; i++) {
		if (mk->reports[i].ns == m->mnt_ns) { /* the latest reporter is the likeliest alive */
			mk->reports[i].tid = m->tid;
			mk->reports[i].pid = m->pid;
			return 0;
		}
	}
	if (pw_array_grow((void **)&mk->reports, &mk->cap_reports, mk->n_reports + 1,
			  sizeof(*mk->reports), 16))
		return 0; /* no memory: its execs are held, as unmarked */
	mk->reports[mk->n_reports++] = (struct pw_gate_ns_report){ m->mnt_ns, m->tid, m->pid };
	return 0;
}

static void drain_reports(struct pw_gate *g)
{
	struct pw_gate_marks *mk = &g->marks;

	int pending_fd = bpf_map__fd(g->skel->maps.mounts_pending);

	ring_buffer__consume(mk->rb);
	for (size_t i = 0; i < mk->n_reports && !atomic_load(&g->stopping); i++) {
		struct pw_gate_ns_report *r = &mk->reports[i];
		uint32_t latest;
		int procfd;

		/* the kernel's latest mounter there; and from now, a mount there reports again */
		if (!bpf_map_lookup_and_delete_elem(pending_fd, &r->ns, &latest) && latest)
			r->tid = latest;
		procfd = proc_in_ns(r->tid, r->ns);

		if (procfd < 0)
			procfd = proc_in_ns(r->pid, r->ns);
		if (procfd < 0)
			procfd = find_in_ns(r->ns);
		if (procfd < 0) { /* the namespace is gone, and with it its mounts */
			atomic_fetch_add(&mk->unresolved, 1);
			continue;
		}
		mark_namespace(g, procfd, true);
		close(procfd);
	}
	mk->n_reports = 0;
}

/* ------------------------------------------------------------ the mount thread */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *mounts_main(void *arg)
{
	struct pw_gate *g = arg;
	struct pw_gate_marks *mk = &g->marks;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	struct pollfd pfd[3] = {
		{ .fd = g->stop_fd, .events = POLLIN },
		{ .fd = fd, .events = POLLPRI },
		{ .fd = mk->rb ? ring_buffer__epoll_fd(mk->rb) : -1, .events = POLLIN },
	};

	const int ring_fd = pfd[2].fd;
	uint64_t rest_until = 0;

	/* A mount between pw_gate_start()'s marking and this open raised no event for fd. */
	pw_gate_marks_own(g);
	if (mk->rb)
		drain_reports(g);
	while (!atomic_load(&g->stopping)) {
		uint64_t now = now_ns();
		int timeout = -1;

		/*
		 * Reading a namespace's mountinfo costs the kernel time that grows
		 * with its mounts (stacked mounts: quadratically), and any user
		 * can make a namespace with thousands and mount on. After a drain
		 * that took d, the reports wait 3d: at most a quarter of a CPU
		 * goes to other namespaces, whatever they do. The kernel keeps
		 * one report per namespace meanwhile.
		 */
		pfd[2].fd = now < rest_until ? -1 : ring_fd;
		if (pfd[2].fd < 0 && ring_fd >= 0)
			timeout = (int)((rest_until - now) / 1000000) + 1;
		if (poll(pfd, 3, timeout) < 0 && errno != EINTR)
			break;
		if (atomic_load(&g->stopping))
			break;
		if (pfd[1].revents & (POLLPRI | POLLERR))
			pw_gate_marks_own(g);
		if (pfd[2].fd >= 0 && (pfd[2].revents & POLLIN)) {
			uint64_t t0 = now_ns(), t1;

			drain_reports(g);
			t1 = now_ns();
			rest_until = t1 + 3 * (t1 - t0);
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

int pw_gate_marks_start(struct pw_gate *g)
{
	struct pw_gate_marks *mk = &g->marks;
	int err;

	if (g->skel && bpf_program__fd(g->skel->progs.pw_gate_exit_mount) >= 0) {
		mk->rb = ring_buffer__new(bpf_map__fd(g->skel->maps.gate_mounts), on_mount_report, g, NULL);
		if (!mk->rb)
			pw_log(&g->log, PW_LOG_WARN, "mounts in other namespaces not watched: %s",
			       strerror(errno));
	}
	err = -pthread_create(&mk->thread, NULL, mounts_main, g);
	if (err)
		return err;
	mk->have_thread = true;
	return 0;
}

void pw_gate_marks_stop(struct pw_gate *g)
{
	struct pw_gate_marks *mk = &g->marks;

	if (mk->have_thread)
		pthread_join(mk->thread, NULL);
	mk->have_thread = false;
	if (g->skel)
		mk->lost_saved = __atomic_load_n(&g->skel->bss->mounts_lost, __ATOMIC_RELAXED);
}

void pw_gate_marks_fini(struct pw_gate *g)
{
	struct pw_gate_marks *mk = &g->marks;

	ring_buffer__free(mk->rb);
	mk->rb = NULL;
	set_free(&mk->refused);
	free(mk->reports);
	mk->reports = NULL;
	mk->n_reports = mk->cap_reports = 0;
}

uint64_t pw_gate_marks_lost(const struct pw_gate *g)
{
	return g->skel ? __atomic_load_n(&g->skel->bss->mounts_lost, __ATOMIC_RELAXED) : g->marks.lost_saved;
}
