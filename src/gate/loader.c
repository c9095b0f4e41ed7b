// SPDX-License-Identifier: MIT
/*
 * gate/loader.c - `ld.so PROGRAM [ARGS]`: the ELF interpreter run as a
 * program maps PROGRAM with a plain open, which fanotify never asks about.
 * The gate recognises the system's interpreters (by identity, or by
 * content for a copy), and decides on PROGRAM instead, found the way ld.so
 * finds it (its own options parsed, relative to the process's cwd and root).
 *
 * Where: the argv that fanotify's exec-open sees is not final (the kernel
 * copies argv after opening the image, and another thread of the caller
 * may rewrite it meanwhile). So the exec-open of a loader run as a program
 * is allowed without marking it gated; at sched_process_exec it is then
 * held like any exec the gate did not see (hold.c), and decided here on
 * the stopped process's own command line, which is final.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gate/gate.h"

static const char *const loader_paths[] = {
	"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	"/usr/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1",
	"/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1", "/lib/ld-musl-x86_64.so.1",
	"/lib/ld-musl-aarch64.so.1", "/lib/ld-linux.so.2",
};

/* PT_INTERP of an ELF64 file into out (NUL-terminated); false if none. */
static bool elf_interp(const char *path, char *out, size_t cap)
{
	Elf64_Ehdr eh;
	bool found = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr)) {
		for (unsigned int i = 0; i < eh.e_phnum && i < 64 && !found; i++) {
			Elf64_Phdr ph;

			if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph))
				break;
			if (ph.p_type != PT_INTERP || ph.p_filesz == 0 || ph.p_filesz >= cap)
				continue;
			if (pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz) {
				out[ph.p_filesz] = 0;
				found = out[ph.p_filesz - 1] == 0 || strlen(out) > 0;
			}
		}
	}
	close(fd);
	return found;
}

static void add_loader(struct pw_gate *g, const char *path)
{
	struct pw_gate_loader *l;
	struct stat st;
	int fd;

	if (g->n_loaders == sizeof(g->loaders) / sizeof(*g->loaders))
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	for (unsigned int i = 0; i < g->n_loaders; i++)
		if (g->loaders[i].dev == st.st_dev && g->loaders[i].ino == st.st_ino) {
			close(fd);
			return;
		}
	l = &g->loaders[g->n_loaders];
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->size = st.st_size;
	if (!pw_sha256_fd(fd, l->sha256))
		g->n_loaders++;
	close(fd);
	pw_log(&g->log, PW_LOG_DEBUG, "ELF interpreter %s: `%s PROGRAM` is decided on PROGRAM", path, path);
}

void pw_gate_loader_init(struct pw_gate *g)
{
	static const char *const programs[] = { "/proc/self/exe", "/bin/sh", "/usr/bin/env" };
	char interp[256];

	g->n_loaders = 0;
	for (size_t i = 0; i < sizeof(programs) / sizeof(*programs); i++)
		if (elf_interp(programs[i], interp, sizeof(interp)))
			add_loader(g, interp);
	for (size_t i = 0; i < sizeof(loader_paths) / sizeof(*loader_paths); i++)
		add_loader(g, loader_paths[i]);
}

/* The image is one of the system's ELF interpreters: the same file, or a copy (size, SHA-256). */
static bool is_loader(struct pw_gate *g, struct pw_exec_request *req)
{
	const struct stat *st = pw_gate_req_stat(req);
	uint8_t hash[32];
	bool hashed = false;

	if (!st || !S_ISREG(st->st_mode))
		return false;
	for (unsigned int i = 0; i < g->n_loaders; i++) {
		const struct pw_gate_loader *l = &g->loaders[i];

		if (l->dev == st->st_dev && l->ino == st->st_ino)
			return true;
		if (l->size != st->st_size)
			continue;
		if (!hashed && pw_exec_sha256(req, hash))
			return false;
		hashed = true;
		if (!memcmp(hash, l->sha256, 32))
			return true;
	}
	return false;
}

/*
 * PROGRAM in ld.so's argv (args: NUL-separated, argv[0] first), as glibc's
 * rtld reads its options: these take no value, these take one; the first
 * other word is PROGRAM. NULL: none (--help, --version, or nothing).
 */
static const char *find_program(const char *args, uint32_t len, const char **libpath)
{
	static const char *const flag_opts[] = { "--list", "--verify", "--inhibit-cache",
						 "--list-tunables", "--list-diagnostics" };
	static const char *const value_opts[] = { "--library-path", "--inhibit-rpath", "--audit",
						  "--preload", "--argv0", "--glibc-hwcaps-prepend",
						  "--glibc-hwcaps-mask" };
	const char *end = args + len, *a = args;
	bool first = true;

	*libpath = NULL;
	while (a < end) {
		const char *next = a + strnlen(a, (size_t)(end - a)) + 1;
		bool known = false;

		if (next > end)
			return NULL; /* not NUL-terminated */
		if (first) { /* argv[0]: ld.so itself */
			first = false;
			a = next;
			continue;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "--version"))
			return NULL;
		for (size_t i = 0; i < sizeof(flag_opts) / sizeof(*flag_opts); i++)
			known |= !strcmp(a, flag_opts[i]);
		if (known) {
			a = next;
			continue;
		}
		for (size_t i = 0; i < sizeof(value_opts) / sizeof(*value_opts); i++)
			known |= !strcmp(a, value_opts[i]);
		if (known) {
			const char *after;

			if (next >= end)
				return NULL; /* rtld: an option without its value is PROGRAM-less usage */
			after = next + strnlen(next, (size_t)(end - next)) + 1;
			if (after > end)
				return NULL; /* the value is not NUL-terminated: not a command line */
			if (!strcmp(a, "--library-path"))
				*libpath = next;
			a = after;
			continue;
		}
		return a;
	}
	return NULL;
}

const char *pw_gate_loader_program(const char *args, uint32_t len, const char **libpath)
{
	const char *prog = find_program(args, len, libpath);

	if (!prog)
		*libpath = NULL; /* nothing to follow it for */
	return prog;
}

static int sys_openat2(int dirfd, const char *path, uint64_t resolve)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, .resolve = resolve };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/*
 * Open PROGRAM as the process would: relative to its cwd, absolute to its
 * root. Where its root is ours, that is plain openat from its cwd. Where it
 * is not (chroot, another mount namespace), an absolute path is resolved in
 * its root (RESOLVE_IN_ROOT, as a chroot does), and a relative one only
 * beneath its cwd: a ".." or an absolute symlink out of it could resolve
 * differently for us than for ld.so, so it fails, and the exec is denied.
 */
static int open_in_task(pid_t pid, const char *prog)
{
	char path[64];
	struct stat task_root, our_root;
	int rootfd, cwdfd, fd;
	bool same_root;

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
	cwdfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || cwdfd < 0) {
		fd = -errno;
		goto out;
	}
	same_root = !fstat(rootfd, &task_root) && !stat("/", &our_root) &&
		    task_root.st_dev == our_root.st_dev && task_root.st_ino == our_root.st_ino;
	if (same_root) {
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
		struct stat a, b;

		same_root = !stat(path, &a) && !stat("/proc/self/ns/mnt", &b) && a.st_ino == b.st_ino;
	}
	if (same_root)
		fd = openat(cwdfd, prog, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	else if (prog[0] == '/')
		fd = sys_openat2(rootfd, prog, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	else
		fd = sys_openat2(cwdfd, prog, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		fd = -errno;
out:
	if (rootfd >= 0)
		close(rootfd);
	if (cwdfd >= 0)
		close(cwdfd);
	return fd;
}

/* A PROGRAM without a slash is searched like a library; only --library-path can be followed here. */
static int open_program(pid_t pid, const char *prog, const char *libpath)
{
	char buf[PW_PATH_MAX];

	if (strchr(prog, '/'))
		return open_in_task(pid, prog);
	while (libpath && *libpath) {
		size_t n = strcspn(libpath, ":;");
		int fd;

		if (n && snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, libpath, prog) < (int)sizeof(buf)) {
			fd = open_in_task(pid, buf);
			if (fd >= 0)
				return fd;
		}
		libpath += n + (libpath[n] != 0);
	}
	return -ENOENT; /* LD_LIBRARY_PATH and the system directories are not followed: denied */
}

bool pw_gate_loader_apply(struct pw_gate *g, struct pw_exec_request *req)
{
	const struct pw_gate_argv *av;
	const char *prog, *libpath;
	struct stat st;
	int fd;

	if (!g->n_loaders || !is_loader(g, req))
		return false;
	if (!req->info.held) {
		/* the exec-open: argv is not final yet; decided on PROGRAM when held (see the top) */
		req->info.loader_run = true;
		return true;
	}
	av = pw_gate_req_argv(req);
	if (!av)
		return false; /* no command line: decided on ld.so itself */
	prog = pw_gate_loader_program(av->args, av->args_len, &libpath);
	if (!prog)
		return false; /* --help, --version: ld.so runs nothing */
	atomic_fetch_add(&g->via_loader, 1);
	fd = open_program((pid_t)req->info.tid, prog, libpath);
	if (fd >= 0 && (fstat(fd, &st) || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -EACCES;
	}
	if (fd < 0) {
		atomic_fetch_add(&g->loader_unresolved, 1);
		pw_log(&g->log, PW_LOG_WARN, "pid %u runs the ELF interpreter on %s, which the gate "
		       "cannot find as ld.so would (%s): denied", req->info.tid, prog, strerror(-fd));
		req->info.via_loader = true;
		req->info.loader_unresolved = true;
		return true;
	}
	/* PROGRAM is what the rules and the handler see from here; ld.so's fd stays for the record */
	req->info.event_fd = req->info.fd;
	req->info.fd = fd;
	req->info.via_loader = true;
	pthread_mutex_lock(&req->mu);
	req->image_done = req->hash_done = req->stat_done = false;
	pthread_mutex_unlock(&req->mu);
	return true;
}
