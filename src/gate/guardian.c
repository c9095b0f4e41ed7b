// SPDX-License-Identifier: MIT
/*
 * gate/guardian.c - the guardian: a small process, cloned by pw_gate_start(),
 * that holds its own reference to the gate's fanotify group and answers,
 * with timeout_verdict, every exec-open the gating process does not answer
 * in time, whatever became of that process (stopped, crashed, dumping core,
 * killed, exec'd itself).
 *
 * Why a process and why this shape. The kernel gives permission events no
 * timeout; only a response, or the last close of the group, releases a
 * waiting exec. A thread of the gating process stops and dies with it.
 * The guardian is a separate process in its own session (kill -STOP -PGID
 * does not reach it), single-threaded, with every signal blocked, its code,
 * stack and the shared mapping locked in memory (it never faults on a hung
 * filesystem), oom_score_adj -1000, and it never forks, execs or calls into
 * libc (raw system calls only: nothing it runs can take a lock of the
 * process it was cloned from).
 *
 * Responses by number. A fanotify response names its event by the fd
 * number the event was given when read (the kernel matches
 * fanotify_perm_event.fd against the number, on 6.1, 6.12 and 6.18 alike,
 * without looking at the writer's table), so the guardian answers an exec
 * the gating process read by the number published here; it needs no copy
 * of the event's fd (no SCM_RIGHTS or pidfd_getfd per exec). Numbers are
 * unique per reader, and the kernel answers the oldest event of a number
 * first, so the guardian must never read an event into a number the
 * gating process may be using: it reads one event at a time into the one
 * number that cannot be an event fd there, the group's own (every lower
 * number is taken by a placeholder in its table).
 *
 * What it watches, at no cost while nothing waits:
 *  - slots the gating process publishes (fd, deadline): answered after the
 *    deadline plus a slack, after a compare-and-swap that tells the gating
 *    process not to answer (and not to close the fd until the guardian is
 *    done);
 *  - the queue: an exec not read while the gating process began no read()
 *    for its stall window, the queue being non-empty (a stopped or dying
 *    process: a core dump's pipe helper waits here), is read and answered
 *    by the guardian. The window is timeout_ms (at least
 *    GUARD_STALL_MIN_NS): by then the gate's own deadline for an exec it
 *    had read at once would have passed too, so the guardian never takes
 *    an exec the gate could still decide in time (a gate that is slow to
 *    read, under a sanitizer or on a loaded machine, is not a dead one);
 *  - the gating process: its pidfd (death) and a pipe only it holds the
 *    write end of, close-on-exec (death or exec). Then it removes the
 *    marks, answers everything it knows and everything queued, and exits.
 * Idle, it sleeps in poll() on the group and those descriptors; the first
 * event wakes it, and it then looks again once per GUARD_LOOK_NS while
 * anything is queued or pending: a few wake-ups a second under load, none
 * per exec.
 *
 * Scope. A DENY timeout_verdict fails closed only for what the gate
 * gates: the gating process publishes the subject masks of its `gate` and
 * `deny` rules (pw_guard_scope()), and the guardian allows an exec-open
 * whose execve-entry record (gate_meta, by tid) matches none of them, as
 * the gate itself would (g_out_of_scope). A scoped gate in a group stop
 * has its queue read at once, so that nobody else waits a window for it.
 *
 * The promise, timeout_ms + 250 ms from the exec-open: an exec nobody
 * reads is seen queued within GUARD_LOOK_NS and taken a stall window
 * (timeout_ms) later; one the gate read is answered GUARD_SLACK_NS after
 * its deadline, which the gate sets at most timeout_ms + 100 ms after the
 * execve began (dispatch.c, READ_LATE_NS).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "gate/gate.h"
#include "gate/guardian.h"
#include "gate.skel.h"

#define GUARD_STALL_MIN_NS (100 * 1000000ull) /* the stall window: timeout_ms, at least this */
#define GUARD_LOOK_NS (100 * 1000000ull)      /* awake: the queue is looked at this often */
#define GUARD_SLACK_NS (40 * 1000000ull)
#define GUARD_STACK (64 * 1024)
#define GUARD_COVER_MAX 4096              /* events read per look, then liveness is checked again */

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* ------------------------------------------------------------ guardian side */
/*
 * No constant pools: the compiler must not turn stores or loops into loads
 * from .rodata (a file's pages, not locked) or calls to memset/memcpy.
 */
#if defined(__clang__)
/* clang has no optimize pragma; no_builtin (below) keeps memset/memcpy out. */
#define GUARD_NO_BUILTIN __attribute__((no_builtin))
#else
#define GUARD_NO_BUILTIN
#pragma GCC push_options
#pragma GCC optimize("no-tree-vectorize", "no-store-merging", "no-tree-loop-distribute-patterns")
#endif
/*
 * Everything below up to the gating side runs in the guardian only: in its
 * own text section (locked at start), with raw system calls, no libc, no
 * globals, no stack protector or sanitizer hooks.
 */
#if defined(__has_attribute) && __has_attribute(no_stack_protector)
#define GUARD_NO_SSP __attribute__((no_stack_protector))
#else
#define GUARD_NO_SSP
#endif
#define GUARD_FN __attribute__((section("pw_guardian"), noinline, used)) GUARD_NO_SSP GUARD_NO_BUILTIN \
	__attribute__((no_sanitize("address", "undefined")))

extern const char __start_pw_guardian[] __attribute__((visibility("hidden")));
extern const char __stop_pw_guardian[] __attribute__((visibility("hidden")));

static inline __attribute__((always_inline)) long gsys(long n, long a, long b, long c, long d, long e)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
	return x0;
#else
#error "the guardian needs raw system calls for this architecture"
#endif
}

#define LD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)

/* The guardian's table: lower numbers are placeholders; these sit above the group's number. */
struct guard_fds {
	int group, live, wake, app;  /* app: pidfd of the gating process */
	int marks;                   /* BPF map gate_marks (a map only: no program lives on in here) */
	int held;                    /* BPF map gate_held: the execs held (stopped) for the gate */
	int ring;                    /* BPF ring `ungated`: polled only, never consumed here */
	int meta;                    /* BPF map gate_meta: the subject bits of an exec, for the scope */
	int event;                   /* the number events are read into: the gating process's group fd */
	bool killed;
};

GUARD_FN static uint64_t g_now(void)
{
	struct timespec ts;

	gsys(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0, 0, 0);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

GUARD_FN static void g_respond(const struct guard_fds *f, int event_fd, uint32_t response)
{
	struct fanotify_response r;

	r.fd = event_fd;
	r.response = response;
	while (gsys(SYS_write, f->group, (long)&r, sizeof(r), 0, 0) == -EINTR)
		;
}

/*
 * One more deadline the gating process missed. Counted before the response
 * (whoever sees the exec finish must find the counters updated); the kill,
 * after kill_after in a row, comes after it.
 */
GUARD_FN static uint32_t g_count(struct pw_guard_shm *s)
{
	ADD(&s->verdicts, 1);
	return ADD(&s->missed_in_row, 1) + 1;
}

GUARD_FN static void g_kill_check(struct pw_guard_shm *s, struct guard_fds *f, uint32_t in_row)
{
	if (s->kill_after && in_row >= s->kill_after && !f->killed) {
		f->killed = true;
		if (gsys(SYS_pidfd_send_signal, f->app, SIGKILL, 0, 0, 0) == 0)
			ADD(&s->kills, 1);
	}
}

/* Append v in decimal to path at i; returns the new end. */
GUARD_FN static int g_put_dec(char *path, int i, uint32_t v)
{
	int n = 0, digits[12];

	do {
		digits[n++] = (int)(v % 10);
		v /= 10;
	} while (v && n < 12);
	while (n)
		path[i++] = (char)('0' + digits[--n]);
	return i;
}

/*
 * /proc/PID/stat into buf (*len bytes); the index of its last ')', or -1.
 * "pid (comm) S ppid ...": comm may hold anything, spaces and ')' included,
 * so fields are counted from the last ')'.
 */
GUARD_FN static int g_read_stat(int pid, char *buf, int cap, long *len)
{
	char path[32];
	int i = 0, fd;

	path[i++] = '/', path[i++] = 'p', path[i++] = 'r', path[i++] = 'o', path[i++] = 'c', path[i++] = '/';
	i = g_put_dec(path, i, (uint32_t)pid);
	path[i++] = '/', path[i++] = 's', path[i++] = 't', path[i++] = 'a', path[i++] = 't';
	path[i] = 0;
	fd = (int)gsys(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0);
	if (fd < 0)
		return -1;
	*len = gsys(SYS_read, fd, (long)buf, cap - 1, 0, 0);
	gsys(SYS_close, fd, 0, 0, 0, 0);
	for (i = (int)*len - 1; i > 0 && buf[i] != ')'; i--)
		;
	return i > 0 ? i : -1;
}

/* Field `field` (1-based, >= 3) of /proc/PID/stat as a decimal number; -1 if unreadable. */
GUARD_FN static int64_t g_stat_field(int pid, int field)
{
	char buf[512];
	int spaces = 0;
	int64_t v = 0;
	long len = 0;
	int i = g_read_stat(pid, buf, sizeof(buf), &len);

	if (i < 0)
		return -1;
	/* field k follows the (k - 2)th space past the ')' */
	for (; i < len && spaces < field - 2; i++)
		if (buf[i] == ' ')
			spaces++;
	if (spaces != field - 2)
		return -1;
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (buf[i] - '0');
	return v;
}

/*
 * A task whose parent is kthreadd (pid 2) is the kernel's own usermode
 * helper (a core dump's pipe helper, modprobe): no process can reparent to
 * kthreadd. Allowed even when timeout_verdict denies: the kernel waits for
 * it (a core dump of the very process that could not answer), and only
 * root configures it.
 */
GUARD_FN static bool g_kernel_helper(int pid)
{
	return pid > 0 && g_stat_field(pid, 4) == 2; /* field 4: ppid; kthreadd is 2 */
}

/*
 * An exec the guardian allows was gated: tell the BPF side, as the gating
 * process does (gate_marks, by tid), or it would report the exec ungated
 * (and kill it under fail_closed_ungated). Only if the thread has no mark:
 * the gating process may have read this execve's main image, and this is
 * its interpreter.
 */
GUARD_FN static void g_mark(const struct guard_fds *f, int tid)
{
	struct stat st;
	struct pw_gate_mark mark;
	struct {
		uint32_t map_fd, pad;
		uint64_t key, value, flags;
	} attr;
	uint32_t key = (uint32_t)tid;
	uint64_t dev;

	if (gsys(SYS_fstat, f->event, (long)&st, 0, 0, 0))
		return;
	dev = st.st_dev; /* glibc's dev_t to the kernel's internal major << 20 | minor */
	mark.ino = st.st_ino;
	mark.dev = (uint32_t)(((((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffull)) << 20) |
			      ((dev & 0xff) | ((dev >> 12) & ~0xffull)));
	mark.__pad = 0;
	attr.map_fd = (uint32_t)f->marks;
	attr.pad = 0;
	attr.key = (uint64_t)(uintptr_t)&key;
	attr.value = (uint64_t)(uintptr_t)&mark;
	attr.flags = BPF_NOEXIST;
	gsys(SYS_bpf, BPF_MAP_UPDATE_ELEM, (long)&attr, sizeof(attr), 0, 0);
}

/* One bpf(2) map call on the guardian's stack: lookup, update or next key. */
GUARD_FN static long g_map(int cmd, int map_fd, const void *key, void *value_or_next, uint64_t flags)
{
	struct {
		uint32_t map_fd, pad;
		uint64_t key, value, flags;
	} attr;

	attr.map_fd = (uint32_t)map_fd;
	attr.pad = 0;
	attr.key = (uint64_t)(uintptr_t)key;
	attr.value = (uint64_t)(uintptr_t)value_or_next;
	attr.flags = flags;
	return gsys(SYS_bpf, cmd, (long)&attr, sizeof(attr), 0, 0);
}

/* Field 22 of /proc/PID/stat (start time, clock ticks since boot); 0 if unreadable. */
GUARD_FN static uint64_t g_start_ticks(int pid)
{
	int64_t ticks = g_stat_field(pid, 22);

	return ticks < 0 ? 0 : (uint64_t)ticks;
}

/* The state letter of /proc/PID/stat (field 3); 0 if unreadable. */
GUARD_FN static char g_state(int pid)
{
	char buf[512];
	long len = 0;
	int i = g_read_stat(pid, buf, sizeof(buf), &len);

	return i >= 0 && i + 2 < len ? buf[i + 2] : 0;
}

/* tid is a thread of process pid now (/proc/PID/task/TID exists). */
GUARD_FN static bool g_thread_of(uint32_t pid, uint32_t tid)
{
	char path[48];
	int i = 0;

	path[i++] = '/', path[i++] = 'p', path[i++] = 'r', path[i++] = 'o', path[i++] = 'c', path[i++] = '/';
	i = g_put_dec(path, i, pid);
	path[i++] = '/', path[i++] = 't', path[i++] = 'a', path[i++] = 's', path[i++] = 'k', path[i++] = '/';
	i = g_put_dec(path, i, tid);
	path[i] = 0;
	return gsys(SYS_faccessat, AT_FDCWD, (long)path, F_OK, 0, 0) == 0;
}

/* The gate's rules have a scope the guardian can tell processes apart by. */
GUARD_FN static bool g_scoped(struct pw_guard_shm *s)
{
	return s->timeout_response != FAN_ALLOW && !LD(&s->scope_all);
}

/*
 * An exec-open of thread tid that the gate itself would allow without a
 * rule or the handler looking at it: its process matches no rule that can
 * deny or ask (pw_guard_scope()). The BPF side wrote the subject bits at
 * this execve's entry (gate_meta, by tid); the meta is taken for this
 * exec's only if its process is alive with the start time it recorded and
 * tid is still one of its threads. Anything unsure (no meta, a kernel
 * helper's exec under a reused tid, rules changing meanwhile): false, and
 * the exec gets timeout_verdict.
 */
GUARD_FN static bool g_out_of_scope(struct pw_guard_shm *s, const struct guard_fds *f, uint32_t tid)
{
	struct pw_gate_meta meta;
	uint32_t seq, n;

	if (!tid || !g_scoped(s))
		return false;
	if (g_map(BPF_MAP_LOOKUP_ELEM, f->meta, &tid, &meta, 0) || meta.tid != tid || !meta.pid)
		return false;
	seq = LD(&s->scope_seq);
	if ((seq & 1) || LD(&s->scope_all))
		return false;
	n = LD(&s->n_scopes);
	for (uint32_t i = 0; i < n && i < PW_GUARD_SCOPES_MAX; i++) {
		uint64_t m = LD(&s->scope_masks[i]);

		if ((meta.subject_bits & m) == m)
			return false;
	}
	if (LD(&s->scope_seq) != seq)
		return false;
	if (g_start_ticks((int)meta.pid) != meta.start_ns / (1000000000ull / s->clk_tck))
		return false;
	return tid == meta.pid || g_thread_of(meta.pid, tid);
}

/*
 * The response to an exec-open of tid the gate did not answer in time:
 * timeout_verdict, or allow if it is out of scope (counted). A DENY
 * timeout_verdict fails closed only for what the gate gates.
 */
GUARD_FN static uint32_t g_verdict(struct pw_guard_shm *s, const struct guard_fds *f, uint32_t tid)
{
	if (s->timeout_response == FAN_ALLOW || !g_out_of_scope(s, f, tid))
		return s->timeout_response;
	ADD(&s->out_of_scope, 1);
	return FAN_ALLOW;
}

/*
 * Continue (allow) or kill a held process for the gate. The pidfd pins
 * the process it was opened on; the start time, read after it, says
 * whether that is still the one held (its pid not reused since). An allow
 * sets gate_held RELEASED first, as the gate does, so that the watch of a
 * gate that is alive but stuck lets this SIGCONT through.
 */
GUARD_FN static bool g_release(struct pw_guard_shm *s, struct guard_fds *f, uint32_t pid, uint64_t start_ns,
			       bool allow)
{
	struct pw_gate_held h;
	int pidfd = (int)gsys(SYS_pidfd_open, (long)pid, 0, 0, 0, 0);
	bool done = false;

	if (pidfd < 0)
		return false; /* gone */
	if (g_start_ticks((int)pid) == start_ns / (1000000000ull / s->clk_tck)) {
		if (allow && !g_map(BPF_MAP_LOOKUP_ELEM, f->held, &pid, &h, 0) && h.start_ns == start_ns) {
			h.state = PW_GATE_HELD_RELEASED;
			g_map(BPF_MAP_UPDATE_ELEM, f->held, &pid, &h, BPF_EXIST);
		}
		done = gsys(SYS_pidfd_send_signal, pidfd, allow ? SIGCONT : SIGKILL, 0, 0, 0) == 0;
		if (done)
			ADD(&s->held_released, 1);
	}
	gsys(SYS_close, pidfd, 0, 0, 0, 0);
	return done;
}

/*
 * The gate is gone: no process of it will continue or kill what it held.
 * Every entry of gate_held is a process stopped for it: the verdict the
 * gate gave (RELEASED, DENIED: it may have died before its signal), else
 * timeout_verdict.
 */
GUARD_FN static void g_held_all(struct pw_guard_shm *s, struct guard_fds *f)
{
	uint32_t key, next;
	bool first = true;

	for (int i = 0; i < PW_GATE_HELD_MAX; i++) {
		struct pw_gate_held h;

		if (g_map(BPF_MAP_GET_NEXT_KEY, f->held, first ? 0 : &key, &next, 0))
			break;
		first = false;
		key = next;
		if (g_map(BPF_MAP_LOOKUP_ELEM, f->held, &key, &h, 0))
			continue;
		g_release(s, f, key, h.start_ns,
			  h.state == PW_GATE_HELD_RELEASED ||
			  (h.state == PW_GATE_HELD_WAITING && s->timeout_response == FAN_ALLOW));
	}
}

/* A held exec the gating process read: its slot answers it (g_slots). */
GUARD_FN static bool g_held_published(struct pw_guard_shm *s, uint32_t pid)
{
	for (uint32_t i = 0; i < s->n_slots; i++) {
		uint32_t st = PW_GUARD_STATUS(LD(&s->slots[i].state));

		if (st != PW_GUARD_FREE && st != PW_GUARD_ANSWERED && LD(&s->slots[i].held_pid) == pid)
			return true;
	}
	return false;
}

/*
 * Held execs the gating process has not read (the ring stays unread: it
 * is stopped, or every thread of it is stuck): past timeout_ms plus the
 * slack from the stop, the guardian gives them timeout_verdict, as for an
 * exec-open. Returns the next due time (UINT64_MAX: none waits).
 */
GUARD_FN static uint64_t g_held_due(struct pw_guard_shm *s, struct guard_fds *f, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	uint32_t key, nkey;
	bool first = true;

	for (int i = 0; i < PW_GATE_HELD_MAX; i++) {
		struct pw_gate_held h;
		uint64_t due;
		uint32_t in_row;

		if (g_map(BPF_MAP_GET_NEXT_KEY, f->held, first ? 0 : &key, &nkey, 0))
			break;
		first = false;
		key = nkey;
		if (g_map(BPF_MAP_LOOKUP_ELEM, f->held, &key, &h, 0) || h.state != PW_GATE_HELD_WAITING)
			continue;
		due = h.held_ns + s->timeout_ns + s->slack_ns;
		if (due > now) {
			if (due < next)
				next = due;
			continue;
		}
		if (g_held_published(s, key))
			continue;
		in_row = g_count(s);
		g_release(s, f, key, h.start_ns, s->timeout_response == FAN_ALLOW);
		g_kill_check(s, f, in_row);
	}
	return next;
}

/* Unconsumed data in the ring (a level: readable until the gate reads it). */
GUARD_FN static bool g_readable(int fd)
{
	struct pollfd p;

	p.fd = fd;
	p.events = POLLIN;
	p.revents = 0;
	return gsys(SYS_poll, (long)&p, 1, 0, 0, 0) > 0 && (p.revents & POLLIN);
}

/* Read the queue one event at a time (into f->event only) and answer each. */
GUARD_FN static void g_cover(struct pw_guard_shm *s, struct guard_fds *f)
{
	struct fanotify_event_metadata m;

	for (int i = 0; i < GUARD_COVER_MAX; i++) {
		long n = gsys(SYS_read, f->group, (long)&m, sizeof(m), 0, 0);
		uint32_t response = s->timeout_response;

		if (n == -EINTR)
			continue;
		if (n < (long)sizeof(m))
			return; /* -EAGAIN: empty */
		if (m.fd < 0)
			continue;
		if (m.mask & FAN_OPEN_EXEC_PERM) {
			bool out_of_scope = false;
			uint32_t in_row;

			if (response != FAN_ALLOW && g_kernel_helper(m.pid)) {
				response = FAN_ALLOW;
				ADD(&s->kernel_helpers, 1);
			} else if (response != FAN_ALLOW) {
				response = g_verdict(s, f, (uint32_t)m.pid);
				out_of_scope = response == FAN_ALLOW;
			}
			/* (the gate marks no out-of-scope exec: sched_process_exec ignores them) */
			if (response == FAN_ALLOW && !out_of_scope)
				g_mark(f, m.pid);
			ADD(&s->read_by_guardian, 1);
			in_row = g_count(s);
			g_respond(f, m.fd, response);
			g_kill_check(s, f, in_row);
		}
		gsys(SYS_close, m.fd, 0, 0, 0, 0);
	}
}

/* Answer published slots due by now (all: any still published). Returns the next due time. */
GUARD_FN static uint64_t g_slots(struct pw_guard_shm *s, struct guard_fds *f, uint64_t now, bool all)
{
	uint64_t next = UINT64_MAX;

	for (uint32_t i = 0; i < s->n_slots; i++) {
		struct pw_guard_slot *sl = &s->slots[i];
		uint32_t st = LD(&sl->state), in_row;
		uint64_t due;

		if (PW_GUARD_STATUS(st) == PW_GUARD_APP && all) {
			/* claimed by a process that is gone: it may not have written; a repeat is refused (ENOENT) */
			if (!LD(&sl->held_pid)) /* (a held one: g_held_all reads the verdict it left) */
				g_respond(f, sl->fd, g_verdict(s, f, LD(&sl->tid)));
			continue;
		}
		if (PW_GUARD_STATUS(st) != PW_GUARD_PENDING)
			continue;
		due = LD(&sl->deadline_ns) + s->slack_ns;
		if (!all && due > now) {
			if (due < next)
				next = due;
			continue;
		}
		if (!__atomic_compare_exchange_n(&sl->state, &st, PW_GUARD_WITH(st, PW_GUARD_CLAIMED), false,
						 __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			continue; /* the gating process answers it */
		in_row = g_count(s);
		if (LD(&sl->held_pid))
			g_release(s, f, LD(&sl->held_pid), LD(&sl->held_start_ns), s->timeout_response == FAN_ALLOW);
		else
			g_respond(f, sl->fd, g_verdict(s, f, LD(&sl->tid)));
		ST(&sl->state, PW_GUARD_WITH(st, PW_GUARD_ANSWERED));
		gsys(SYS_futex, (long)&sl->state, FUTEX_WAKE, 1, 0, 0);
		g_kill_check(s, f, in_row);
	}
	return next;
}

GUARD_FN static bool g_any_pending(struct pw_guard_shm *s)
{
	for (uint32_t i = 0; i < s->n_slots; i++)
		if (PW_GUARD_STATUS(LD(&s->slots[i].state)) == PW_GUARD_PENDING)
			return true;
	return false;
}

/*
 * The gating process does not run: it began no read since the guardian last
 * read for it (stalled_read), or since it missed a deadline, and gave no
 * verdict since (missed_read, missed_in_row).
 */
GUARD_FN static bool g_stalled(struct pw_guard_shm *s, uint64_t stalled_read, uint64_t missed_read)
{
	uint64_t last_read = LD(&s->last_read_ns);

	return (stalled_read && last_read == stalled_read) ||
	       (missed_read && last_read == missed_read && LD(&s->missed_in_row));
}

/* The gating process is gone (or exec'd): no new events, answer everything, exit. */
GUARD_FN __attribute__((noreturn)) static void g_finish(struct pw_guard_shm *s, struct guard_fds *f)
{
	gsys(SYS_fanotify_mark, f->group, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, 0);
	g_slots(s, f, 0, true);
	g_cover(s, f);
	g_held_all(s, f);
	/* exit_group closes the group: the kernel allows anything left (e.g. read, never published) */
	for (;;)
		gsys(SYS_exit_group, 0, 0, 0, 0, 0);
}

GUARD_FN static int g_dup_to(int from, int to)
{
	return (int)gsys(SYS_dup3, from, to, O_CLOEXEC, 0, 0);
}

/*
 * Descriptors: keep the group, the liveness pipe, the wake eventfd, the
 * gating process's pidfd and four BPF maps (gate_marks, gate_held, the
 * ungated ring, gate_meta) just above the group's number F, fill 0..F-1 with
 * placeholders, close everything else (the gating process's sockets, BPF
 * links, event fds: none may live on in the guardian). The lowest free
 * number is then F, where every event the guardian reads lands.
 */
GUARD_FN static int g_setup_fds(struct pw_guard_shm *s, struct guard_fds *f, int app_pidfd)
{
	int F = s->group_fd, hi = F + 9;
	int src[8] = { F, s->live_fd, s->wake_fd, app_pidfd, s->marks_fd, s->held_fd, s->ring_fd, s->meta_fd };

	for (int i = 0; i < 8; i++)
		if (src[i] > hi)
			hi = src[i];
	hi += 1; /* above every source and every target */
	for (int i = 0; i < 8; i++) /* above every source first: a target must not overwrite one */
		if (g_dup_to(src[i], hi + i) < 0)
			return -EMFILE;
	for (int i = 0; i < 8; i++)
		if (g_dup_to(hi + i, F + 1 + i) < 0)
			return -EMFILE;
	gsys(SYS_close_range, F + 9, ~0u, 0, 0, 0);
	for (int i = 0; i < F; i++)
		if (g_dup_to(F + 1, i) < 0)
			return -EMFILE;
	gsys(SYS_close, F, 0, 0, 0, 0);
	f->group = F + 1;
	f->live = F + 2;
	f->wake = F + 3;
	f->app = F + 4;
	f->marks = F + 5;
	f->held = F + 6;
	f->ring = F + 7;
	f->meta = F + 8;
	f->event = F;
	return 0;
}

GUARD_FN static void g_lock(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;

	gsys(SYS_mlock, (long)a, (long)((uintptr_t)p + len - a), 0, 0, 0);
}

GUARD_FN static int g_main(void *arg)
{
	struct pw_guard_shm *s = arg;
	struct guard_fds f;
	uint64_t all_signals = ~0ull, first_seen = 0, active_until = 0, stalled_read = 0, missed_read = 0;
	uint64_t ring_seen = 0, held_next = UINT64_MAX;
	int fd, app_pidfd, err, adj_len = 0;

	f.killed = false;
	gsys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all_signals, 0, 8, 0);
	gsys(SYS_setsid, 0, 0, 0, 0, 0); /* its own session and group: kill -STOP -PGID of the gate misses it */
	gsys(SYS_prctl, PR_SET_NAME, (long)s->name, 0, 0, 0);
	fd = (int)gsys(SYS_openat, AT_FDCWD, (long)s->oom_path, O_WRONLY | O_CLOEXEC, 0, 0);
	while (s->oom_adj[adj_len])
		adj_len++;
	if (fd >= 0) {
		gsys(SYS_write, fd, (long)s->oom_adj, adj_len, 0, 0);
		gsys(SYS_close, fd, 0, 0, 0, 0);
	}
	g_lock(__start_pw_guardian, (size_t)(__stop_pw_guardian - __start_pw_guardian));
	g_lock(s, sizeof(*s) + s->n_slots * sizeof(s->slots[0]));
	g_lock((const void *)(uintptr_t)s->stack_lo, GUARD_STACK);
	app_pidfd = (int)gsys(SYS_pidfd_open, s->app_pid, 0, 0, 0, 0);
	err = app_pidfd < 0 ? app_pidfd : g_setup_fds(s, &f, app_pidfd);
	ST(&s->setup_err, err);
	ST(&s->ready, 1);
	gsys(SYS_futex, (long)&s->ready, FUTEX_WAKE, 1, 0, 0);
	if (err)
		gsys(SYS_exit_group, 1, 0, 0, 0, 0);

	for (;;) {
		struct pollfd pfd[5];
		uint64_t now = g_now(), next, answered = LD(&s->verdicts);
		long timeout;
		bool queued, ring;
		int n;

		next = g_slots(s, &f, now, false);
		/*
		 * The gate missed a deadline (by the slack): until it reads or
		 * answers again, it is not running, and what it has not read
		 * (the interpreter of the exec just allowed) is ours at once.
		 */
		if (LD(&s->verdicts) != answered)
			missed_read = LD(&s->last_read_ns);
		pfd[0].fd = f.group;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		queued = gsys(SYS_poll, (long)pfd, 1, 0, 0, 0) > 0 && (pfd[0].revents & POLLIN);
		if (queued) {
			uint64_t last_read = LD(&s->last_read_ns);

			/*
			 * The window opens at a look that finds execs queued, and
			 * opens again whenever the gating process began a read
			 * since: what was queued then may be gone, and what is
			 * queued now may have come just now. An exec still queued
			 * at the end of a window waited all of it unread (nobody
			 * else reads), however long the gate was idle before.
			 */
			if (!first_seen || last_read > first_seen)
				first_seen = now;
			/*
			 * Nobody read for stall_ns while an exec waited; or nobody
			 * read since the last time that happened: the gating
			 * process still does not read, no need to wait again.
			 */
			/*
			 * A scoped gate in a group stop (SIGSTOP, job control:
			 * state T) reads nothing until continued: what is queued
			 * is ours at once, so that execs out of its scope do not
			 * wait a window for it. (Not a ptrace stop, t: a traced
			 * gate stops briefly at every system call.)
			 */
			if (now - first_seen >= s->stall_ns || g_stalled(s, stalled_read, missed_read) ||
			    (g_scoped(s) && g_state((int)s->app_pid) == 'T')) {
				stalled_read = last_read;
				g_cover(s, &f);
				first_seen = 0;
				continue;
			}
			if (first_seen + s->stall_ns < next)
				next = first_seen + s->stall_ns;
			/* and look again meanwhile: the window may open again later */
			if (now + s->look_ns < next)
				next = now + s->look_ns;
		} else {
			first_seen = 0;
		}
		/*
		 * The ring unread for stall_ns: look for held execs nobody read
		 * (g_held_due), then again when the first of them is due, and
		 * after every further stall_ns the ring stays unread.
		 */
		ring = g_readable(f.ring);
		if (ring && !ring_seen)
			ring_seen = now;
		if ((ring && now - ring_seen >= s->stall_ns) || now >= held_next) {
			held_next = g_held_due(s, &f, now);
			ring_seen = ring ? now : 0;
		}
		if (!ring)
			ring_seen = 0;
		if (ring && ring_seen + s->stall_ns < next)
			next = ring_seen + s->stall_ns;
		if (held_next < next)
			next = held_next;
		if (!queued && !ring && next == UINT64_MAX && now >= active_until) {
			/* Idle: sleep on the group itself; a slot published meanwhile wakes us. */
			ST(&s->idle, 1);
			if (g_any_pending(s)) {
				ST(&s->idle, 0);
				continue;
			}
			timeout = -1;
		} else {
			if (!queued && active_until > now && active_until < next)
				next = active_until;
			/* an exec queued meanwhile is seen within look_ns, answered stall_ns after that */
			if (now + s->look_ns < next)
				next = now + s->look_ns;
			timeout = next <= now ? 0 : (long)((next - now + 999999) / 1000000);
		}
		/*
		 * Awake, the group is left out: under load it would wake us for
		 * every exec. Unless the gating process still reads nothing since
		 * we last read for it: then each exec is ours at once.
		 */
		n = 0;
		if (timeout < 0 || (!queued && g_stalled(s, stalled_read, missed_read))) {
			pfd[n].fd = f.group;
			pfd[n++].events = POLLIN;
		}
		if (timeout < 0) { /* idle: a record (a held exec among them) wakes us; awake, it is looked at */
			pfd[n].fd = f.ring;
			pfd[n++].events = POLLIN;
		}
		pfd[n].fd = f.live;
		pfd[n++].events = POLLIN;
		pfd[n].fd = f.app;
		pfd[n++].events = POLLIN;
		pfd[n].fd = f.wake;
		pfd[n++].events = POLLIN;
		for (int i = 0; i < n; i++)
			pfd[i].revents = 0;
		if (gsys(SYS_poll, (long)pfd, n, timeout, 0, 0) < 0)
			continue;
		ST(&s->idle, 0);
		for (int i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (pfd[i].fd == f.live || pfd[i].fd == f.app)
				g_finish(s, &f);
			/*
			 * Either means execs are coming: stay awake (not idle) for
			 * look_ns, so the gate's publishes in that window need no
			 * wake-up. (The gate often reads the event before we run, and
			 * only the eventfd is left readable.)
			 */
			if (pfd[i].fd == f.wake) {
				uint64_t v;

				gsys(SYS_read, f.wake, (long)&v, sizeof(v), 0, 0);
				active_until = g_now() + s->look_ns;
			}
			if (pfd[i].fd == f.group) {
				first_seen = g_now();
				active_until = first_seen + s->look_ns;
			}
			if (pfd[i].fd == f.ring)
				active_until = g_now() + s->stall_ns;
		}
	}
	return 0;
}

#if !defined(__clang__)
#pragma GCC pop_options
#endif

/* ------------------------------------------------------------ gating side */

static long futex_wait(uint32_t *addr, uint32_t val, long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	return syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);
}

static size_t shm_size(unsigned int n_slots)
{
	return sizeof(struct pw_guard_shm) + n_slots * sizeof(struct pw_guard_slot);
}

int pw_guard_start(struct pw_gate *g)
{
	struct pw_guard_shm *s;
	int live[2], pidfd = -1, err;
	size_t sz = shm_size(g->opts.max_pending);
	sigset_t all, old;
	void *stack;
	pid_t pid;

#ifdef PW_BENCH_NO_GUARDIAN
	/*
	 * Benchmark builds only (bench/Makefile, pw-bench-gate-noguard): the
	 * same tree without its guardian, to measure what the guardian costs.
	 * No shipped build defines this; every pw_guard_* call is a no-op
	 * without g->guard.
	 */
	(void)s, (void)live, (void)pidfd, (void)err, (void)sz, (void)all, (void)old, (void)stack, (void)pid;
	return 0;
#endif

	s = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return -errno;
	if (pipe2(live, O_CLOEXEC)) {
		err = -errno;
		munmap(s, sz);
		return err;
	}
	g->guard_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	stack = mmap(NULL, GUARD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (g->guard_wake_fd < 0 || stack == MAP_FAILED) {
		err = -ENOMEM;
		goto fail;
	}
	s->n_slots = g->opts.max_pending;
	s->timeout_response = g->opts.timeout_verdict == PW_EXEC_DENY && !g->opts.audit ? FAN_DENY : FAN_ALLOW;
	s->kill_after = g->opts.kill_on_missed_deadline;
	s->group_fd = g->fan_fd;
	s->live_fd = live[0];
	s->wake_fd = g->guard_wake_fd;
	s->marks_fd = g->marks_fd;
	s->held_fd = g->held_fd;
	s->ring_fd = bpf_map__fd(g->skel->maps.ungated);
	s->meta_fd = g->meta_fd;
	s->scope_all = 1; /* until pw_guard_scope() below */
	s->timeout_ns = (uint64_t)g->opts.timeout_ms * 1000000ull;
	s->clk_tck = (uint32_t)sysconf(_SC_CLK_TCK);
	s->app_pid = getpid();
	s->stall_ns = (uint64_t)g->opts.timeout_ms * 1000000ull;
	if (s->stall_ns < GUARD_STALL_MIN_NS)
		s->stall_ns = GUARD_STALL_MIN_NS;
	s->slack_ns = GUARD_SLACK_NS;
	s->look_ns = GUARD_LOOK_NS;
	s->last_read_ns = pw_gate_now_ns();
	s->stack_lo = (uint64_t)(uintptr_t)stack;
	snprintf(s->name, sizeof(s->name), "pw-guardian");
	snprintf(s->oom_path, sizeof(s->oom_path), "/proc/self/oom_score_adj");
	snprintf(s->oom_adj, sizeof(s->oom_adj), "-1000");
	/*
	 * clone() without CLONE_VM, on a stack of its own, exit signal 0 (no
	 * SIGCHLD: an application's waitpid(-1) does not reap it, __WALL does).
	 * Unlike fork(), no pthread_atfork handler runs: the guardian must not
	 * depend on the application's.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* no handler of the application may run in it */
	pid = clone(g_main, (char *)stack + GUARD_STACK, CLONE_PIDFD, s, &pidfd, NULL, NULL);
	err = pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	munmap(stack, GUARD_STACK);
	close(live[0]);
	live[0] = -1;
	if (err)
		goto fail;
	g->guard = s;
	g->guard_pid = pid;
	g->guard_pidfd = pidfd;
	g->guard_live_fd = live[1];
	for (int tries = 0; !__atomic_load_n(&s->ready, __ATOMIC_SEQ_CST); tries++) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		if (tries > 50 || (poll(&p, 1, 0) > 0)) {
			pw_log(&g->log, PW_LOG_ERROR, "the gate's guardian process did not start");
			err = -ECHILD;
			goto fail_started;
		}
		futex_wait(&s->ready, 0, 100);
	}
	if (s->setup_err) {
		err = s->setup_err;
		pw_log(&g->log, PW_LOG_ERROR, "the gate's guardian process failed to start: %s", strerror(-err));
		goto fail_started;
	}
	/* Now that rules_changed() sees g->guard: no change of the rules is missed. */
	pthread_rwlock_rdlock(&g->rules_lock);
	pw_guard_scope(g);
	pthread_rwlock_unlock(&g->rules_lock);
	/* Children forked later need none of it (the guardian has its own). */
	madvise(s, sz, MADV_DONTFORK);
	pw_log(&g->log, PW_LOG_DEBUG, "guardian process %d started", (int)pid);
	return 0;
fail_started:
	pw_guard_stop(g);
	return err;
fail:
	if (stack != MAP_FAILED)
		munmap(stack, GUARD_STACK);
	if (live[0] >= 0)
		close(live[0]);
	close(live[1]);
	if (g->guard_wake_fd >= 0)
		close(g->guard_wake_fd);
	g->guard_wake_fd = -1;
	munmap(s, sz);
	return err;
}

void pw_guard_stop(struct pw_gate *g)
{
	struct pw_guard_shm *s = g->guard;
	siginfo_t si;

	if (!s)
		return;
	/* The hang-up tells it to answer what is left (nothing, after an orderly stop) and exit. */
	if (g->guard_live_fd >= 0)
		close(g->guard_live_fd);
	g->guard_live_fd = -1;
	if (g->guard_pidfd >= 0) {
		struct pollfd p = { .fd = g->guard_pidfd, .events = POLLIN };

		if (poll(&p, 1, 2000) <= 0) {
			pw_log(&g->log, PW_LOG_ERROR, "guardian %d did not exit; killing it", (int)g->guard_pid);
			syscall(SYS_pidfd_send_signal, g->guard_pidfd, SIGKILL, NULL, 0);
		}
		while (waitid((idtype_t)P_PIDFD, (id_t)g->guard_pidfd, &si, WEXITED | __WALL) < 0 &&
		       errno == EINTR)
			;
		close(g->guard_pidfd);
	}
	g->guard_pidfd = -1;
	g->guard_saved.verdicts = __atomic_load_n(&s->verdicts, __ATOMIC_SEQ_CST);
	g->guard_saved.read_by_guardian = __atomic_load_n(&s->read_by_guardian, __ATOMIC_SEQ_CST);
	g->guard_saved.kernel_helpers = __atomic_load_n(&s->kernel_helpers, __ATOMIC_SEQ_CST);
	g->guard_saved.kills = __atomic_load_n(&s->kills, __ATOMIC_SEQ_CST);
	g->guard_saved.held_released = __atomic_load_n(&s->held_released, __ATOMIC_SEQ_CST);
	g->guard_saved.out_of_scope = __atomic_load_n(&s->out_of_scope, __ATOMIC_SEQ_CST);
	/* (under the rules' lock: a rule added meanwhile publishes its scope in here) */
	pthread_rwlock_wrlock(&g->rules_lock);
	g->guard = NULL;
	munmap(s, shm_size(s->n_slots));
	pthread_rwlock_unlock(&g->rules_lock);
	if (g->guard_wake_fd >= 0)
		close(g->guard_wake_fd);
	g->guard_wake_fd = -1;
}

static struct pw_guard_slot *slot_of(struct pw_gate *g, struct pw_exec_request *req)
{
	if (!g->guard || !req->pooled || req->retired || !g->pool || req < g->pool ||
	    req >= g->pool + g->opts.max_pending)
		return NULL;
	return &g->guard->slots[req - g->pool];
}

void pw_guard_publish(struct pw_gate *g, struct pw_exec_request *req)
{
	struct pw_guard_slot *sl = slot_of(g, req);
	uint64_t one = 1;

	if (!sl)
		return;
	sl->fd = req->info.fd;
	__atomic_store_n(&sl->tid, req->info.held ? 0 : req->info.tid, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->held_pid, req->info.held ? req->info.tid : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->held_start_ns, req->info.held ? req->info.held_start_ns : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sl->deadline_ns, atomic_load(&req->deadline_ns), __ATOMIC_SEQ_CST);
	__atomic_store_n(&sl->state, PW_GUARD_WITH(__atomic_load_n(&sl->state, __ATOMIC_RELAXED) + 8u,
						   PW_GUARD_PENDING), __ATOMIC_SEQ_CST);
	req->published = true;
	/* (seq_cst store, then load: the guardian stores idle, then scans the slots) */
	if (__atomic_load_n(&g->guard->idle, __ATOMIC_SEQ_CST))
		(void)!write(g->guard_wake_fd, &one, sizeof(one));
}

void pw_guard_extend(struct pw_gate *g, struct pw_exec_request *req, uint64_t deadline_ns)
{
	struct pw_guard_slot *sl = req->published ? slot_of(g, req) : NULL;
	uint64_t one = 1;

	if (!sl)
		return;
	/* An earlier deadline: the guardian may sleep until the old one, awake or not. */
	if (__atomic_exchange_n(&sl->deadline_ns, deadline_ns, __ATOMIC_SEQ_CST) > deadline_ns)
		(void)!write(g->guard_wake_fd, &one, sizeof(one));
}

bool pw_guard_claim(struct pw_gate *g, struct pw_exec_request *req)
{
	struct pw_guard_slot *sl = req->published ? slot_of(g, req) : NULL;
	uint32_t st;

	if (!sl)
		return true;
	st = __atomic_load_n(&sl->state, __ATOMIC_SEQ_CST);
	if (PW_GUARD_STATUS(st) == PW_GUARD_PENDING &&
	    __atomic_compare_exchange_n(&sl->state, &st, PW_GUARD_WITH(st, PW_GUARD_APP), false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&g->guard->missed_in_row, __ATOMIC_RELAXED))
			__atomic_store_n(&g->guard->missed_in_row, 0, __ATOMIC_RELAXED);
		return true;
	}
	/*
	 * The guardian has it: its response is written between its claim and
	 * ANSWERED (a few system calls). The fd stays open until then, so its
	 * number cannot name a newer event meanwhile.
	 */
	for (int i = 0; i < 100 && PW_GUARD_STATUS(st = __atomic_load_n(&sl->state, __ATOMIC_SEQ_CST)) ==
					   PW_GUARD_CLAIMED; i++)
		futex_wait(&sl->state, st, 10);
	__atomic_store_n(&sl->state, PW_GUARD_WITH(st, PW_GUARD_FREE), __ATOMIC_SEQ_CST);
	req->published = false;
	return false;
}

void pw_guard_release(struct pw_gate *g, struct pw_exec_request *req)
{
	struct pw_guard_slot *sl = req->published ? slot_of(g, req) : NULL;

	if (sl)
		__atomic_store_n(&sl->state,
				 PW_GUARD_WITH(__atomic_load_n(&sl->state, __ATOMIC_RELAXED), PW_GUARD_FREE),
				 __ATOMIC_SEQ_CST);
	req->published = false;
}

void pw_guard_reading(struct pw_gate *g)
{
	if (g->guard)
		__atomic_store_n(&g->guard->last_read_ns, pw_gate_now_ns(), __ATOMIC_RELAXED);
}

/*
 * What the guardian may allow for a gate that does not answer: a process
 * the gate would allow without asking anyone. The gate asks the handler
 * for a process in the scope of an ASK rule with a subject (or everyone,
 * without one), and rules can deny anyone they match; so the guardian's
 * scope is every ASK or DENY rule's subject mask, and everyone if one of
 * them has no subject, or if no ASK rule has one. A process matching none
 * is allowed by the gate itself (route_by_rules: no rule, scoped gate).
 */
void pw_guard_scope(struct pw_gate *g)
{
	struct pw_guard_shm *s = g->guard;
	uint32_t n = 0, all = !g->rules.have_scope;

	if (!s)
		return;
	__atomic_store_n(&s->scope_seq, s->scope_seq + 1, __ATOMIC_SEQ_CST); /* odd: being rewritten */
	for (size_t i = 0; i < g->rules.n && !all; i++) {
		const struct pw_gate_rule_entry *e = &g->rules.v[i];

		if (e->action != PW_GATE_ASK && e->action != PW_GATE_DENY)
			continue;
		if (!e->subject_mask || n == PW_GUARD_SCOPES_MAX)
			all = 1;
		else
			__atomic_store_n(&s->scope_masks[n++], e->subject_mask, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&s->n_scopes, n, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->scope_all, all, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->scope_seq, s->scope_seq + 1, __ATOMIC_SEQ_CST);
}
