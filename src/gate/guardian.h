/* SPDX-License-Identifier: MIT */
/*
 * gate/guardian.h - the guardian process that answers for a gate that
 * cannot (stopped, crashed, dumping core, killed), and the mapping it shares
 * with the gating process.
 */
#ifndef PW_GATE_GUARDIAN_H
#define PW_GATE_GUARDIAN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * pw_guard_slot.state: PW_GUARD_* in the low 3 bits, a generation above
 * them (bumped by every publish): a compare-and-swap from a value read
 * earlier fails if the slot was answered and reused meanwhile (ABA).
 */
#define PW_GUARD_STATUS(v) ((v) & 7u)
#define PW_GUARD_WITH(v, status) (((v) & ~7u) | (status))
enum {
	PW_GUARD_FREE = 0,
	PW_GUARD_PENDING = 1,    /* the gating process read this exec-open; not answered */
	PW_GUARD_APP = 2,        /* the gating process claimed it and answers */
	PW_GUARD_CLAIMED = 3,    /* the guardian claimed it and is writing the response */
	PW_GUARD_ANSWERED = 4,   /* the guardian answered it; the event fd may now be closed */
};

/*
 * One exec-open the gating process holds, by the event's fd number (a
 * response names the event by the number it was given in the reader's
 * table; any holder of the group may write it). Slot i belongs to request
 * pool entry i.
 */
struct pw_guard_slot {
	uint32_t state;          /* PW_GUARD_*, changed by compare-and-swap only */
	int32_t fd;
	uint64_t deadline_ns;    /* CLOCK_MONOTONIC; the guardian answers after it plus its slack */
	/*
	 * A held exec (hold.c): no fanotify event waits, the process is
	 * stopped; answered with SIGCONT or SIGKILL to this process, after
	 * checking it is still the one held (start time). 0: an exec-open.
	 */
	uint32_t held_pid;
	uint32_t tid;            /* an exec-open's thread (FAN_REPORT_TID): its gate_meta key */
	uint64_t held_start_ns;  /* boottime ns, as gate_held and the process key have it */
};

/* Subject masks the guardian applies timeout_verdict to (see pw_guard_scope()). */
#define PW_GUARD_SCOPES_MAX 64

/* The shared mapping (MAP_SHARED, created before the guardian is cloned). */
struct pw_guard_shm {
	/* set once before the guardian starts */
	uint32_t n_slots;
	uint32_t timeout_response;   /* FAN_ALLOW or FAN_DENY */
	uint32_t kill_after;         /* SIGKILL the gate after this many missed deadlines in a row; 0: never */
	int32_t group_fd;            /* the group's number in the gating process (never an event fd there) */
	int32_t live_fd;             /* pipe read end: hangs up when the gate's process dies or execs */
	int32_t wake_fd;             /* eventfd: a slot was published while the guardian slept idle */
	int32_t marks_fd;            /* BPF map gate_marks: what the guardian reads and allows was gated */
	int32_t held_fd;             /* BPF map gate_held: execs held (stopped), released when the gate dies */
	pid_t app_pid;
	uint32_t clk_tck;            /* sysconf(_SC_CLK_TCK): /proc/PID/stat's start time unit */
	uint64_t stall_ns;           /* queue not read this long while non-empty: the guardian reads it */
	uint64_t slack_ns;           /* after a slot's deadline: the gate's own expiry goes first */
	uint64_t look_ns;            /* awake, the guardian looks at the queue this often */
	uint64_t stack_lo;           /* the guardian's stack (locked by it) */
	uint64_t timeout_ns;         /* timeout_ms: a held exec nobody read is the guardian's after it */
	int32_t ring_fd;             /* BPF ring `ungated`: unread while readable (held execs among it) */
	int32_t meta_fd;             /* BPF map gate_meta: who is exec'ing, for the scope */
	/* its strings: here, locked, rather than in the library's .rodata (a file's pages) */
	char name[16];               /* "pw-guardian" */
	char oom_path[32];           /* "/proc/self/oom_score_adj" */
	char oom_adj[8];             /* "-1000" */
	/* written by the gating process */
	uint64_t last_read_ns;       /* a reader began a read() of the group */
	uint32_t idle;               /* the guardian sleeps without a deadline: a publish must wake it */
	uint32_t missed_in_row;      /* reset by every answer the gating process gives */
	/*
	 * What the gate's rules can deny or ask about (pw_guard_scope()):
	 * every process (scope_all), or those whose gate_meta subject_bits
	 * hold all bits of one of scope_masks. scope_seq is odd while the
	 * gating process rewrites them; the guardian reads them between two
	 * equal even values, or gives timeout_verdict.
	 */
	uint32_t scope_seq;
	uint32_t scope_all;
	uint32_t n_scopes;
	uint32_t __pad4;
	uint64_t scope_masks[PW_GUARD_SCOPES_MAX];
	/* written by the guardian */
	uint64_t verdicts;           /* exec-opens the guardian answered */
	uint64_t read_by_guardian;   /* of them: read from the queue by the guardian */
	uint64_t kernel_helpers;     /* of them: the kernel's usermode helpers, allowed */
	uint64_t kills;              /* gating process SIGKILLed (kill_after) */
	uint64_t held_released;      /* held execs the guardian continued or killed (a verdict each) */
	uint64_t out_of_scope;       /* of verdicts: exec-opens out of the rules' scope, allowed */
	uint32_t ready;              /* the guardian is set up (its descriptors and locks) */
	int32_t setup_err;           /* or why it failed (negative errno) */
	struct pw_guard_slot slots[];
};

struct pw_gate;
struct pw_exec_request;

/* Start the guardian for g (the group is open, nothing marked yet). 0 or -errno. */
int pw_guard_start(struct pw_gate *g);
/* Ask it to answer what is left and exit, and reap it. The group stays open. */
void pw_guard_stop(struct pw_gate *g);
/* Publish a read exec-open (fd, deadline) for the request's slot. */
void pw_guard_publish(struct pw_gate *g, struct pw_exec_request *req);
/* A new deadline for a published request (an earlier one wakes the guardian). */
void pw_guard_extend(struct pw_gate *g, struct pw_exec_request *req, uint64_t deadline_ns);
/*
 * Before the gating process answers: true if it may (the slot is its own
 * now), false if the guardian answered it (after waiting for its write).
 * Requests without a slot (not published) are always the caller's.
 */
bool pw_guard_claim(struct pw_gate *g, struct pw_exec_request *req);
/* After the gating process answered a claimed request: the slot is free, the fd may close. */
void pw_guard_release(struct pw_gate *g, struct pw_exec_request *req);
/* A reader is about to read() the group. */
void pw_guard_reading(struct pw_gate *g);
/* The rules changed: publish their scope (caller holds rules_lock, or nothing can change them). */
void pw_guard_scope(struct pw_gate *g);

#endif
