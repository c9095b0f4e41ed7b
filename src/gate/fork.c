// SPDX-License-Identifier: MIT
/*
 * gate/fork.c - what a child forked by the gating process must not keep.
 *
 * A fanotify group lives as long as any descriptor of it. A child forked
 * while a gate runs gets one, and keeps it until its exec completes (the
 * descriptor is close-on-exec) - but that exec waits for this very gate. If
 * the gating process died in that moment (SIGKILL), the child would keep the
 * group alive with its marks and nobody to answer: every exec on the machine
 * would wait. So the child closes its copies of the gate's fanotify and
 * BPF link descriptors right after fork() (pthread_atfork).
 *
 * posix_spawn(), vfork(), system() and popen() run no fork handlers; their
 * children share the gate's memory and their exec is answered at once as
 * the gate's own (dispatch.c). The guardian answers for the rest (see
 * "Crash safety" in procward.h).
 */
#include <stddef.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "core/fd.h"
#include "core/fork.h"
#include "gate/gate.h"
#include "gate.skel.h"

/* In the child (core/fork.c runs the hooks): only close() and plain memory; the gate is unusable here anyway. */
static void gate_in_child(struct pw_fork_hook *hook)
{
	struct pw_gate *g = (struct pw_gate *)((char *)hook - offsetof(struct pw_gate, fork_hook));

	pw_zclose(&g->fan_fd);
	/* the guardian's liveness pipe: only the gating process may hold its write end */
	pw_zclose(&g->guard_live_fd);
	if (g->skel) {
		struct bpf_link **links = (struct bpf_link **)&g->skel->links;

		for (size_t i = 0; i < sizeof(g->skel->links) / sizeof(*links); i++)
			if (links[i] && bpf_link__fd(links[i]) >= 0)
				close(bpf_link__fd(links[i]));
	}
	pw_gate_hold_fork_child(g); /* issue 12: the held-exec watch's links too */
}

void pw_gate_fork_register(struct pw_gate *g)
{
	g->fork_hook.in_child = gate_in_child;
	pw_fork_register(&g->fork_hook);
}

void pw_gate_fork_unregister(struct pw_gate *g)
{
	pw_fork_unregister(&g->fork_hook);
}
