// SPDX-License-Identifier: MIT
/*
 * gate/argv.c - the new command line of a gated execve, read on demand.
 *
 * The BPF side records, at execve entry, where filename and argv are in the
 * exec'ing task's memory. The task then waits in the kernel for our verdict
 * with its old mm still in place, so the strings are read from here with
 * process_vm_readv() only when a rule or the handler asks for them: an exec
 * nobody asks about (a cached allow, an allow-all handler) costs no copy.
 *
 * Where reading another process's memory is refused (Yama ptrace_scope 3),
 * the gate switches the BPF side to copying the arguments at execve entry
 * (gate_cfg.capture_argv), which costs ~4 us per exec, and says so once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "gate/gate.h"
#include "gate.skel.h"

#define PAGE 4096u

/* Bytes from addr to the end of its page: a read never spans an unmapped page. */
static size_t to_page_end(uint64_t addr)
{
	return PAGE - (size_t)(addr & (PAGE - 1));
}

static ssize_t remote_read(pid_t tid, uint64_t addr, void *dst, size_t len)
{
	struct iovec local = { .iov_base = dst, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };
	ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);

	return n < 0 ? -errno : n;
}

/*
 * A NUL-terminated string at addr into dst[cap]: its length with the NUL,
 * 0 if it does not fit (dst then holds a prefix), or -errno.
 */
static ssize_t remote_str(pid_t tid, uint64_t addr, char *dst, size_t cap)
{
	size_t got = 0;

	while (got < cap) {
		size_t want = to_page_end(addr + got);
		ssize_t n;
		char *nul;

		if (want > cap - got)
			want = cap - got;
		n = remote_read(tid, addr + got, dst + got, want);
		if (n <= 0)
			return n < 0 ? n : -EFAULT;
		nul = memchr(dst + got, 0, (size_t)n);
		if (nul)
			return nul - dst + 1;
		got += (size_t)n;
		if ((size_t)n < want)
			return -EFAULT;
	}
	return 0;
}

/*
 * The argv pointer array, up to PW_GATE_ARGV_SLOTS entries, from entry n on
 * (those before it are read already and not NULL); returns how many before NULL.
 */
static ssize_t remote_argv_ptrs(pid_t tid, uint64_t argv, uint64_t *ptrs, size_t n, bool *cut)
{
	*cut = false;
	while (n < PW_GATE_ARGV_SLOTS) {
		uint64_t addr = argv + n * sizeof(uint64_t);
		size_t want = to_page_end(addr) / sizeof(uint64_t);
		ssize_t got;

		if (want == 0)
			want = 1;
		if (want > PW_GATE_ARGV_SLOTS - n)
			want = PW_GATE_ARGV_SLOTS - n;
		got = remote_read(tid, addr, &ptrs[n], want * sizeof(uint64_t));
		if (got < (ssize_t)sizeof(uint64_t))
			return got < 0 ? got : -EFAULT;
		for (size_t i = 0; i < (size_t)got / sizeof(uint64_t); i++)
			if (!ptrs[n + i])
				return (ssize_t)(n + i);
		n += (size_t)got / sizeof(uint64_t);
	}
	*cut = true;
	return (ssize_t)n;
}

static void switch_to_kernel_capture(struct pw_gate *g, int err)
{
	if (__atomic_exchange_n(&g->skel->bss->gate_cfg.capture_argv, 1, __ATOMIC_RELAXED))
		return;
	pw_log(&g->log, PW_LOG_WARN,
	       "cannot read the arguments of exec'ing processes (process_vm_readv: %s%s); "
	       "copying them in the kernel at every execve from now on",
	       strerror(-err), err == -EPERM ? ", e.g. Yama ptrace_scope 3" : "");
}

/*
 * The filename up to its page end and the argv pointers up to theirs, in
 * one process_vm_readv: every call walks the target's page tables and
 * checks ptrace access, and these two were a third of the gate's system
 * calls per logged exec. Sets *flen (with the NUL; 0: no NUL in what was
 * read, *fdone: the whole first chunk was read) and *nptrs (pointers read
 * before NULL; -1: the chunk was not read whole) from what came back.
 */
static ssize_t first_reads(pid_t tid, const struct pw_gate_meta *meta, struct pw_gate_argv *out,
			   uint64_t *ptrs, size_t *flen, bool *fdone, ssize_t *nptrs, size_t *pread)
{
	size_t fwant = to_page_end(meta->filename_ptr), pwant = 0, got_p = 0;
	struct iovec local[2], remote[2];
	ssize_t n;
	char *nul;

	if (fwant > sizeof(out->filename))
		fwant = sizeof(out->filename);
	if (meta->argv_ptr) {
		pwant = to_page_end(meta->argv_ptr) / sizeof(uint64_t);
		if (pwant > PW_GATE_ARGV_SLOTS)
			pwant = PW_GATE_ARGV_SLOTS;
		pwant *= sizeof(uint64_t);
	}
	local[0] = (struct iovec){ .iov_base = out->filename, .iov_len = fwant };
	remote[0] = (struct iovec){ .iov_base = (void *)(uintptr_t)meta->filename_ptr, .iov_len = fwant };
	local[1] = (struct iovec){ .iov_base = ptrs, .iov_len = pwant };
	remote[1] = (struct iovec){ .iov_base = (void *)(uintptr_t)meta->argv_ptr, .iov_len = pwant };
	n = process_vm_readv(tid, local, pwant ? 2 : 1, remote, pwant ? 2 : 1, 0);
	if (n < 0)
		return -errno;
	*fdone = (size_t)n >= fwant;
	nul = memchr(out->filename, 0, *fdone ? fwant : (size_t)n);
	*flen = nul ? (size_t)(nul - out->filename) + 1 : 0;
	*nptrs = -1;
	*pread = 0;
	if (*fdone && pwant) {
		got_p = ((size_t)n - fwant) / sizeof(uint64_t);
		for (size_t i = 0; i < got_p; i++)
			if (!ptrs[i]) {
				*nptrs = (ssize_t)i;
				return 0;
			}
		if (got_p * sizeof(uint64_t) == pwant)
			*pread = got_p; /* all non-NULL: read on from there */
	}
	return 0;
}

/* Fill out from the exec'ing task's memory; false if nothing could be read. */
static bool read_remote(struct pw_exec_request *req, struct pw_gate_argv *out)
{
	const struct pw_gate_meta *meta = &req->info.meta;
	pid_t tid = (pid_t)req->info.tid;
	uint64_t ptrs[PW_GATE_ARGV_SLOTS];
	size_t flen = 0, pread = 0;
	ssize_t n, argc = 0;
	bool fdone = false, cut = false;

	n = first_reads(tid, meta, out, ptrs, &flen, &fdone, &argc, &pread);
	if (n == 0 && !flen) { /* no NUL in the filename's first chunk */
		size_t fwant = to_page_end(meta->filename_ptr);

		if (!fdone) {
			n = -EFAULT; /* that chunk could not be read whole */
		} else if (fwant < sizeof(out->filename)) { /* it goes on in the next page */
			ssize_t r = remote_str(tid, meta->filename_ptr + fwant, out->filename + fwant,
					       sizeof(out->filename) - fwant);

			if (r < 0)
				n = r;
			else if (r > 0)
				flen = fwant + (size_t)r;
		} /* else, or r == 0: longer than the record holds (flen stays 0) */
	}
	if (n < 0) {
		if (n == -EPERM || n == -EACCES)
			switch_to_kernel_capture(req->g, (int)n);
		return false;
	}
	if (flen == 0) {
		out->filename[sizeof(out->filename) - 1] = 0;
		out->__pad |= PW_GATE_F_FILENAME_TRUNCATED;
		flen = sizeof(out->filename);
	}
	out->filename_len = (uint32_t)flen;
	if (meta->argv_ptr && argc < 0)
		argc = remote_argv_ptrs(tid, meta->argv_ptr, ptrs, pread, &cut);
	else if (!meta->argv_ptr)
		argc = 0;
	if (argc < 0) {
		argc = 0;
		cut = true;
	}
	if (cut)
		out->__pad |= PW_GATE_F_ARGS_TRUNCATED;
	for (ssize_t i = 0; i < argc; i++) {
		size_t off = out->args_len;

		n = off < sizeof(out->args) ?
			    remote_str(tid, ptrs[i], &out->args[off], sizeof(out->args) - off) :
			    0;
		if (n <= 0) { /* unreadable, or does not fit whole: keep the whole ones */
			out->__pad |= PW_GATE_F_ARGS_TRUNCATED;
			break;
		}
		out->args_len += (uint32_t)n;
		out->argc++;
	}
	return true;
}

/*
 * A held exec (issue 12) has run its execve already: its old mm, where the
 * captured pointers point, is gone. The new argv is the stopped process's
 * command line (it has not run, so it has not rewritten it).
 */
static bool read_cmdline(struct pw_exec_request *req, struct pw_gate_argv *out)
{
	char path[48];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", req->info.tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, out->args, sizeof(out->args));
	close(fd);
	if (n < 0)
		return false;
	out->args_len = (uint32_t)n;
	if (n > 0 && out->args[n - 1]) { /* cut: keep the whole arguments */
		out->__pad |= PW_GATE_F_ARGS_TRUNCATED;
		while (n > 0 && out->args[n - 1])
			n--;
		out->args_len = (uint32_t)n;
	}
	for (ssize_t i = 0; i < n; i++)
		out->argc += !out->args[i];
	out->filename[0] = 0; /* execve's filename was in the old mm */
	out->filename_len = 1;
	return true;
}

void pw_gate_argv_last_init(struct pw_gate_argv_last *last)
{
	pthread_mutex_init(&last->lock, NULL);
	last->tid = 0;
	last->av.exec_id = 0;
}

void pw_gate_argv_last_fini(struct pw_gate_argv_last *last)
{
	pthread_mutex_destroy(&last->lock);
}

/* The used part of an argv record (both lengths are bounded where it is filled). */
static void argv_copy(struct pw_gate_argv *dst, const struct pw_gate_argv *src)
{
	memcpy(dst, src, offsetof(struct pw_gate_argv, filename));
	memcpy(dst->filename, src->filename, sizeof(dst->filename));
	memcpy(dst->args, src->args, src->args_len);
}

/*
 * The interpreter opens of an execve (ld.so, a script's interpreter) come
 * after its main image's, from the same waiting task: the same tid and
 * exec id (the BPF side's timestamp of that execve's entry) is the same
 * command line, so it is copied instead of read again from the task. A
 * tid's exec record ends with its thread (gate.bpf.c pw_gate_exit), so a
 * later task under a reused tid never carries that exec id.
 */
static bool argv_last_take(struct pw_gate_argv_last *last, uint32_t tid, uint64_t exec_id,
			   struct pw_gate_argv *out)
{
	bool hit;

	if (!exec_id)
		return false;
	pthread_mutex_lock(&last->lock);
	hit = last->av.exec_id == exec_id && last->tid == tid;
	if (hit)
		argv_copy(out, &last->av);
	pthread_mutex_unlock(&last->lock);
	return hit;
}

static void argv_last_keep(struct pw_gate_argv_last *last, uint32_t tid, const struct pw_gate_argv *av)
{
	pthread_mutex_lock(&last->lock);
	last->tid = tid;
	argv_copy(&last->av, av);
	pthread_mutex_unlock(&last->lock);
}

/*
 * The argv record of this execve: from the kernel's copy where the BPF side
 * made one (checked against the exec id), else from the task's memory. Only
 * valid while the exec'ing thread waits for the verdict (or right after it,
 * before it can start another execve).
 */
const struct pw_gate_argv *pw_gate_req_argv(struct pw_exec_request *req)
{
	struct pw_gate *g = req->g;
	struct pw_gate_argv *av = &req->argv;
	bool ok = false, kept = false;

	pthread_mutex_lock(&req->mu);
	if (!req->argv_done) {
		req->argv_done = true;
		memset(av, 0, offsetof(struct pw_gate_argv, filename));
		av->filename[0] = 0;
		if (req->info.held)
			ok = read_cmdline(req, av);
		else if (!req->info.have_meta)
			ok = false;
		else if (argv_last_take(&g->argv_last, req->info.tid, req->info.meta.exec_id, av))
			ok = kept = true;
		else if (req->info.meta.flags & PW_GATE_F_ARGS_COPIED)
			ok = !bpf_map_lookup_elem(g->argv_fd, &req->info.tid, av) &&
			     av->exec_id == req->info.meta.exec_id;
		else if (!atomic_load(&req->responded))
			ok = read_remote(req, av);
		else /* the task may run its new image (or the old one again) by now */
			ok = false;
		/* exec_id says whether there is a record (a stale map entry has another) */
		av->exec_id = ok ? (req->info.have_meta ? req->info.meta.exec_id : 1) : 0;
		av->filename[sizeof(av->filename) - 1] = 0;
		if (av->args_len > sizeof(av->args))
			av->args_len = sizeof(av->args);
		if (ok && !kept && !req->info.held) /* held: /proc's cmdline, not this execve's record */
			argv_last_keep(&g->argv_last, req->info.tid, av);
	}
	pthread_mutex_unlock(&req->mu);
	return av->exec_id ? av : NULL;
}

/* At start: where Yama forbids reading other processes, copy in the kernel from the first exec. */
void pw_gate_argv_init(struct pw_gate *g)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int scope = 0;

	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = 0;
		fclose(f);
	}
	if (scope >= 3 || g->opts.argv_in_kernel) {
		g->skel->bss->gate_cfg.capture_argv = 1;
		pw_log(&g->log, PW_LOG_INFO, "execve arguments are copied in the kernel at every execve%s",
		       scope >= 3 ? " (Yama ptrace_scope 3 forbids reading them later)" : "");
	}
}
