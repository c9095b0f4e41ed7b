// SPDX-License-Identifier: MIT
/*
 * gate/hold.c - held execs: an exec of a gated process that fanotify never
 * saw (memfd, a filesystem not marked, a stale cached allow) is stopped by
 * the kernel before its first instruction (gate.bpf.c), decided here by the
 * same rules and handler on /proc/PID/exe, then continued or killed. The
 * watch that kills a held process resumed by anyone else is hold.bpf.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "gate/gate.h"
#include "gate.skel.h"
#include "hold.skel.h"

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* The kernel functions the watch needs (6.13+). */
static bool kernel_has_watch(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool ok;

	if (!btf)
		return false;
	ok = btf__find_by_name_kind(btf, "bpf_send_signal_task", BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return ok;
}

void pw_gate_hold_update_mode(struct pw_gate *g)
{
	struct pw_gate_bpf_config *cfg;
	bool could_deny;

	if (!g->skel)
		return;
	cfg = &g->skel->bss->gate_cfg;
	could_deny = g->opts.handler || pw_gate_rules_could_deny(&g->rules);
	/* Nothing could be denied: holding would only cost a stop; the exec is reported. */
	if (!could_deny || g->opts.audit)
		cfg->hold_mode = PW_GATE_HOLD_MODE_REPORT;
	else
		cfg->hold_mode = g->hold_skel ? PW_GATE_HOLD_MODE_HOLD : PW_GATE_HOLD_MODE_KILL;
}

int pw_gate_hold_init(struct pw_gate *g)
{
	struct hold_bpf *h;
	int err;

	g->held_fd = bpf_map__fd(g->skel->maps.gate_held);
	if (!kernel_has_watch()) {
		pw_log(&g->log, PW_LOG_WARN,
		       "this kernel has no bpf_send_signal_task (6.13+): execs the gate cannot see "
		       "(memfd, unmarked filesystems) are killed instead of held and decided");
		goto out;
	}
	h = hold_bpf__open();
	if (!h)
		goto fail;
	if (bpf_map__reuse_fd(h->maps.gate_held, g->held_fd) ||
	    bpf_map__reuse_fd(h->maps.ungated, bpf_map__fd(g->skel->maps.ungated))) {
		hold_bpf__destroy(h);
		goto fail;
	}
	err = hold_bpf__load(h);
	if (!err)
		err = hold_bpf__attach(h);
	if (err) {
		hold_bpf__destroy(h);
		goto fail;
	}
	g->hold_skel = h;
	goto out;
fail:
	pw_log(&g->log, PW_LOG_WARN,
	       "the watch over held execs could not be loaded: execs the gate cannot see are killed");
out:
	pw_gate_hold_update_mode(g);
	return 0;
}

/* The held entry of pid, if it is that process (start time) and still waits. */
static bool held_waiting(struct pw_gate *g, uint32_t pid, uint64_t start_ns)
{
	struct pw_gate_held h;

	return !bpf_map_lookup_elem(g->held_fd, &pid, &h) && h.start_ns == start_ns &&
	       h.state == PW_GATE_HELD_WAITING;
}

/*
 * Continue or kill a held process. For an allow the entry is set RELEASED
 * before the SIGCONT, so that the watch lets our own SIGCONT through.
 * (An entry that is gone is a process that is gone, or a reuse of its pid
 * whose start time differs: killed through the pidfd, which names the
 * process opened, never a newer one.)
 */
static void release(struct pw_gate *g, uint32_t pid, int pidfd, enum pw_exec_verdict v)
{
	struct pw_gate_held h;
	bool found = !bpf_map_lookup_elem(g->held_fd, &pid, &h);

	/* the verdict in the entry first: if this process dies before its signal, the guardian gives it */
	if (found) {
		h.state = v == PW_EXEC_ALLOW ? PW_GATE_HELD_RELEASED : PW_GATE_HELD_DENIED;
		bpf_map_update_elem(g->held_fd, &pid, &h, BPF_EXIST);
	}
	if (v == PW_EXEC_ALLOW && found)
		sys_pidfd_signal(pidfd, SIGCONT);
	else
		sys_pidfd_signal(pidfd, SIGKILL);
	bpf_map_delete_elem(g->held_fd, &pid);
}

int pw_gate_hold_respond(struct pw_gate *g, struct pw_exec_request *req, enum pw_exec_verdict v, int err)
{
	if (req->info.pidfd >= 0) {
		release(g, req->info.tid, req->info.pidfd, v);
		close(req->info.pidfd);
		req->info.pidfd = -1;
	}
	return err;
}

static void kill_escaped(struct pw_gate *g, const struct pw_gate_ungated *u)
{
	int pidfd = sys_pidfd_open((pid_t)u->pid);
	struct pw_gate_held h;

	atomic_fetch_add(&g->held_escaped, 1);
	if (pidfd < 0)
		return;
	/* only the process that was held (not a reuse of its pid) */
	if (!bpf_map_lookup_elem(g->held_fd, &u->pid, &h) && h.start_ns == u->start_ns &&
	    h.state == PW_GATE_HELD_WAITING)
		sys_pidfd_signal(pidfd, SIGKILL);
	close(pidfd);
	pw_log(&g->log, PW_LOG_WARN, "held exec of pid %u was resumed from a context the kernel "
	       "could not stop it in (error %lld): killed from user space", u->pid,
	       g->hold_skel ? (long long)g->hold_skel->bss->last_refusal : 0ll);
}

/*
 * A held exec from a filesystem the gate never marked (mounted in a
 * private mount namespace, which the gate's own mountinfo does not show):
 * mark it now through the image, so the next exec from it is asked about
 * at its open (a deny is then an errno, not a kill), whatever namespace
 * made it. Not FUSE: its server, the user who mounted it, could then
 * stall the opens of the gate's event files. Adding a mark that exists
 * changes nothing (a cached allow's stale file, a mark another thread
 * just added); filesystems that refuse (a memfd's internal mount) stay
 * held. Costs a system call per held exec, not per exec.
 */
static void mark_held_filesystem(struct pw_gate *g, int fd, uint32_t pid)
{
	struct statfs sfs;

	if (fstatfs(fd, &sfs) || (unsigned long)sfs.f_type == 0x65735546 /* FUSE */)
		return;
	if (fanotify_mark(g->fan_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, fd, NULL))
		return;
	atomic_fetch_add(&g->fs_marked_held, 1);
	pw_log(&g->log, PW_LOG_DEBUG, "gating the filesystem of a held exec (pid %u)", pid);
}

/*
 * A pool entry for a held exec, published to the guardian before it is
 * decided (as the reader does for exec-opens): if this process then stops
 * answering, the guardian continues or kills the held process at the
 * deadline. NULL: the pool is exhausted.
 */
static struct pw_exec_request *take_request(struct pw_gate *g, const struct pw_gate_exec_info *info)
{
	struct pw_exec_request *req;

	pthread_mutex_lock(&g->lock);
	req = g->free_list;
	if (req)
		g->free_list = req->qnext;
	pthread_mutex_unlock(&g->lock);
	if (!req)
		return NULL;
	req->info = *info; /* what the guardian's slot needs: held, tid, held_start_ns */
	atomic_store(&req->deadline_ns, info->t_arrival + (uint64_t)g->opts.timeout_ms * 1000000ull);
	pw_guard_publish(g, req);
	return req;
}

bool pw_gate_hold_event(struct pw_gate *g, const struct pw_gate_ungated *u)
{
	struct pw_gate_exec_info info = { .fd = -1, .pidfd = -1, .event_fd = -1 };
	unsigned int kind = u->hold & PW_GATE_HOLD_KIND;
	char path[64];

	if (u->hold & PW_GATE_HOLD_F_STALE) {
		pw_gate_cache_forget(&g->cache, makedev(u->dev >> 20, u->dev & 0xfffff), u->ino);
	}
	if (kind == PW_GATE_HOLD_ESCAPED) {
		kill_escaped(g, u);
		return true;
	}
	if (kind == PW_GATE_HOLD_KILLED) {
		atomic_fetch_add(&g->held_killed, 1);
		pw_log(&g->log, PW_LOG_WARN, "exec of pid %u (%.16s) killed: the gate did not see it and "
		       "could not hold it (%s)", u->pid, u->comm,
		       u->hold & PW_GATE_HOLD_F_TRACED ? "traced" :
		       u->hold & PW_GATE_HOLD_F_SIGHUP ? "SIGHUP ignored or blocked" :
		       u->hold & PW_GATE_HOLD_F_FULL ? "too many held" :
		       u->hold & PW_GATE_HOLD_F_NOWATCH ? "no watch on this kernel (6.13+ needed)" : "no signal");
		return false; /* and reported like any ungated kill */
	}
	if (kind != PW_GATE_HOLD_STOPPED)
		return false;

	info.tid = u->pid; /* after the exec the process is single-threaded: its tid is its pid */
	/*
	 * Waiting since it was stopped (bpf_ktime_get_ns() is CLOCK_MONOTONIC):
	 * the deadline is the guardian's for a held exec nobody read.
	 */
	info.t_arrival = pw_gate_now_ns();
	if (u->ts_ns && u->ts_ns < info.t_arrival)
		info.t_arrival = u->ts_ns;
	info.held = true;
	info.held_start_ns = u->start_ns;
	info.pidfd = sys_pidfd_open((pid_t)u->pid);
	if (info.pidfd < 0)
		return true; /* gone already (killed) */
	if (!held_waiting(g, u->pid, u->start_ns)) { /* killed and its pid reused, or resumed and killed */
		close(info.pidfd);
		return true;
	}
	atomic_fetch_add(&g->held, 1);
	/* The exec'ing thread's entry: who exec'd (its old tid; the process waits, nothing overwrote it). */
	if (!bpf_map_lookup_elem(g->meta_fd, &u->tid, &info.meta) && info.meta.pid == u->pid &&
	    info.meta.start_ns == u->start_ns)
		info.have_meta = true;
	snprintf(path, sizeof(path), "/proc/%u/exe", u->pid);
	info.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (info.fd < 0 || atomic_load(&g->stopping)) {
		/* nothing to decide on (fail closed), or no thread left to decide: the stop verdict */
		enum pw_exec_verdict v = info.fd < 0 ? PW_EXEC_DENY : g->opts.timeout_verdict;

		pw_log(&g->log, PW_LOG_WARN, "held exec of pid %u: %s", u->pid,
		       info.fd < 0 ? "its image cannot be opened: killed" : "the gate is stopping");
		release(g, u->pid, info.pidfd, g->opts.audit ? PW_EXEC_ALLOW : v);
		close(info.pidfd);
		if (info.fd >= 0)
			close(info.fd);
		return true;
	}
	if (!(u->hold & PW_GATE_HOLD_F_STALE))
		mark_held_filesystem(g, info.fd, u->pid);
	/* owns fd and pidfd from here (a NULL request is answered at once: overload) */
	pw_gate_submit(g, take_request(g, &info), &info, false);
	return true;
}

/* Stopping, every request answered: whatever is still held gets the stop verdict. */
void pw_gate_hold_fini(struct pw_gate *g)
{
	uint32_t keys[PW_GATE_HELD_MAX]; /* 4 KiB */
	uint32_t n = 0, key;

	/* the keys first: releasing deletes entries, which would restart a walk */
	if (g->held_fd >= 0)
		while (n < PW_GATE_HELD_MAX && !bpf_map_get_next_key(g->held_fd, n ? &keys[n - 1] : NULL, &key))
			keys[n++] = key;
	for (uint32_t i = 0; i < n; i++) {
		struct pw_gate_held h;
		int pidfd;

		if (bpf_map_lookup_elem(g->held_fd, &keys[i], &h) || h.state != PW_GATE_HELD_WAITING)
			continue;
		pidfd = sys_pidfd_open((pid_t)keys[i]);
		if (pidfd < 0)
			continue;
		release(g, keys[i], pidfd, g->opts.audit ? PW_EXEC_ALLOW : g->opts.timeout_verdict);
		close(pidfd);
	}
	if (g->hold_skel)
		g->kernel_resumes_killed = __atomic_load_n(&g->hold_skel->bss->resumes_killed,
							   __ATOMIC_RELAXED);
	hold_bpf__destroy(g->hold_skel);
	g->hold_skel = NULL;
	g->held_fd = -1;
}

/* In a child forked by the gating process: it must not keep the watch attached (see fork.c). */
void pw_gate_hold_fork_child(struct pw_gate *g)
{
	struct bpf_link **links;

	if (!g->hold_skel)
		return;
	links = (struct bpf_link **)&g->hold_skel->links;
	for (size_t i = 0; i < sizeof(g->hold_skel->links) / sizeof(*links); i++)
		if (links[i] && bpf_link__fd(links[i]) >= 0)
			close(bpf_link__fd(links[i]));
}

PW_API bool pw_gate_hold_supported(const struct pw_gate *g)
{
	return g && g->started && g->hold_skel;
}
