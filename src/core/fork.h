/* SPDX-License-Identifier: MIT */
/* core/fork.h - a child made by fork() keeps none of a handle's kernel objects (pthread_atfork). */
#ifndef PW_FORK_H
#define PW_FORK_H

struct bpf_object;
struct bpf_link;

/*
 * A handle that owns BPF programs, links or maps registers a hook; in the
 * child of every fork() (glibc's, with pthread_atfork handlers) each
 * hook's in_child() runs before fork() returns there. Without it the child
 * holds copies of every descriptor, and the programs stay attached (LSM
 * protection keeps enforcing) until the child exits, long after the handle
 * was freed in the parent.
 */
struct pw_fork_hook {
	void (*in_child)(struct pw_fork_hook *hook); /* only pw_fork_forget_*() and plain memory */
	struct pw_fork_hook *next;
};

void pw_fork_register(struct pw_fork_hook *hook);
void pw_fork_unregister(struct pw_fork_hook *hook);

/*
 * Held while a handle acquires or releases descriptors, so that a fork()
 * on another thread sees either all of them or none (recursive: a log
 * callback that runs meanwhile may fork).
 */
void pw_fork_lock(void);
void pw_fork_unlock(void);

/*
 * In in_child() only. The descriptor number stays taken but now refers to
 * a harmless eventfd: the kernel object loses the child's reference, and a
 * later close() of the child's copy of the handle (pw_monitor_free() in the
 * child) closes that eventfd instead of whatever the child opened since.
 */
void pw_fork_forget_fd(int fd);
/*
 * Every program, map and BTF descriptor of the object, and its shared
 * mappings of global data (replaced by private zeroed memory).
 */
void pw_fork_forget_bpf_object(const struct bpf_object *obj);
void pw_fork_forget_link(const struct bpf_link *link);

#endif
