// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hold.bpf.c - the watch over execs the gate holds (stopped at
 * sched_process_exec, see gate.bpf.c): a held process that anything tries
 * to resume before its verdict is killed. Loaded only where the kernel has
 * bpf_send_signal_task() (6.13+); elsewhere held execs are killed at once.
 * Shares gate_held and the ungated ring with gate.bpf.c (reused fds).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "abi/gate.h"
#include "lib/held.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SIGKILL_NR 9
#define SIGCONT_NR 18
#define TASK_TRACED_BIT 0x8 /* __TASK_TRACED */

extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type,
				__u64 value) __ksym;

__u64 resumes_killed = 0;  /* held processes killed because something resumed them */
__u64 resumes_escaped = 0; /* ... where the kernel refused: reported to user space to kill */
__s64 last_refusal = 0;    /* the kernel's error for the last refusal (diagnostics) */

/* The held entry of task if it still waits for its verdict (and is this process, not a reuse). */
static __always_inline bool waiting(struct task_struct *task, __u32 *tgid)
{
	struct pw_gate_held *h;

	*tgid = BPF_CORE_READ(task, tgid);
	h = bpf_map_lookup_elem(&gate_held, tgid);
	return h && h->state == PW_GATE_HELD_WAITING &&
	       h->start_ns == BPF_CORE_READ(task, group_leader, start_boottime);
}

static __always_inline void report_escape(struct task_struct *task, __u32 tgid)
{
	struct pw_gate_ungated *rec;

	__sync_fetch_and_add(&resumes_escaped, 1);
	rec = bpf_ringbuf_reserve(&ungated, sizeof(*rec), 0);
	if (!rec)
		return;
	__builtin_memset(rec, 0, offsetof(struct pw_gate_ungated, comm));
	rec->comm[0] = 0;
	rec->image[0] = 0;
	rec->ts_ns = bpf_ktime_get_ns();
	rec->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	rec->pid = tgid;
	rec->tid = tgid;
	rec->hold = PW_GATE_HOLD_ESCAPED;
	rec->image_len = 1;
	bpf_ringbuf_submit(rec, 0);
}

/*
 * Every signal goes through here, from every source (kill, tgkill, pidfd,
 * a process group, SIGIO, the terminal), after the kernel has already woken
 * a stopped target for SIGCONT, with the target's siglock held. The
 * continued task must take that lock again before it can leave the kernel
 * (get_signal), and the SIGKILL queued here (deferred to an irq_work, as
 * interrupts are off) runs as soon as the sender drops it. In a context
 * without a user mm (a kworker, an interrupt on an idle CPU) the kernel
 * refuses to signal from BPF: user space is told and kills the process
 * itself, late (counted: resumes_escaped).
 */
SEC("tp_btf/signal_generate")
int BPF_PROG(pw_hold_signal, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	__u32 tgid;

	if (sig != SIGCONT_NR || !waiting(task, &tgid))
		return 0;
	/*
	 * Root (kuid 0: not root of a user namespace) may continue anything,
	 * another gate included: with two gates holding one exec, the first
	 * allow continues it, and a deny from the other comes late (a kill).
	 */
	if (BPF_CORE_READ((struct task_struct *)bpf_get_current_task_btf(), cred, euid.val) == 0)
		return 0;
	long err = bpf_send_signal_task(task, SIGKILL_NR, PIDTYPE_TGID, 0);

	if (err) {
		last_refusal = err;
		report_escape(task, tgid);
	}
	else
		__sync_fetch_and_add(&resumes_killed, 1);
	return 0;
}

/*
 * A tracer can resume a stopped process without any signal: it attaches
 * (the process moves into a ptrace stop) and continues it. The move into
 * the ptrace stop runs this in the held task itself, as it is switched
 * out: the SIGKILL is queued before the tracer can see the stop, let alone
 * continue it.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(pw_hold_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 tgid;

	if (!(prev_state & TASK_TRACED_BIT) || !waiting(prev, &tgid))
		return 0;
	bpf_send_signal(SIGKILL_NR);
	__sync_fetch_and_add(&resumes_killed, 1);
	return 0;
}
