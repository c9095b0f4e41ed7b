// SPDX-License-Identifier: MIT
/*
 * core/fork.c - the registry of handles whose descriptors a forked child
 * gives up, and the pthread_atfork handlers that walk it.
 *
 * posix_spawn(), vfork(), system() and popen() run no fork handlers; their
 * children exec (every BPF descriptor is close-on-exec) or exit. A raw
 * clone()/clone3() without CLONE_VM runs none either: see "Forked children"
 * in procward.h.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "core/fork.h"

static pthread_mutex_t registry_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;
static struct pw_fork_hook *registry;
static int placeholder = -1; /* in the child, while its handler runs */

void pw_fork_lock(void)
{
	pthread_mutex_lock(&registry_lock);
}

void pw_fork_unlock(void)
{
	pthread_mutex_unlock(&registry_lock);
}

static void before_fork(void)
{
	pthread_mutex_lock(&registry_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&registry_lock);
}

/* Only the forking thread exists here: syscalls and plain memory, nothing that may lock. */
static void after_fork_child(void)
{
	if (registry) {
		placeholder = eventfd(0, EFD_CLOEXEC);
		for (struct pw_fork_hook *h = registry; h; h = h->next)
			h->in_child(h);
		if (placeholder >= 0)
			close(placeholder);
		placeholder = -1;
	}
	/*
	 * Not an unlock: a recursive mutex records its owner's TID, which is
	 * the parent thread's, so unlocking it here would fail and leave it
	 * held in the child for good. This thread is the child's only one.
	 */
	registry_lock = (pthread_mutex_t)PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
}

static void install_handlers(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void pw_fork_register(struct pw_fork_hook *hook)
{
	pthread_once(&handlers_once, install_handlers);
	pthread_mutex_lock(&registry_lock);
	hook->next = registry;
	registry = hook;
	pthread_mutex_unlock(&registry_lock);
}

void pw_fork_unregister(struct pw_fork_hook *hook)
{
	pthread_mutex_lock(&registry_lock);
	for (struct pw_fork_hook **p = &registry; *p; p = &(*p)->next)
		if (*p == hook) {
			*p = hook->next;
			break;
		}
	hook->next = NULL;
	pthread_mutex_unlock(&registry_lock);
}

void pw_fork_forget_fd(int fd)
{
	if (fd < 0)
		return;
	/*
	 * dup3() drops the old file atomically. Without a placeholder (the
	 * child is out of descriptors) the reference still has to go.
	 */
	if (placeholder < 0 || dup3(placeholder, fd, O_CLOEXEC) < 0)
		close(fd);
}

/*
 * A global data map (.bss, .data, .rodata) is mapped MAP_SHARED: through
 * the child's copy of that mapping, a write in the child (its own
 * pw_monitor_free() clearing the configuration) would reach the parent's
 * programs. Private zeroed memory takes its place, at the same address and
 * of the size libbpf mapped (bpf_map_mmap_sz()), so libbpf's later munmap()
 * in the child still matches.
 */
static void forget_mapping(struct bpf_map *map)
{
	size_t value_size, len, page = (size_t)getpagesize();
	const void *addr = bpf_map__initial_value(map, &value_size);

	if (!addr)
		return;
	len = (((size_t)bpf_map__value_size(map) + 7) & ~(size_t)7) * bpf_map__max_entries(map);
	len = (len + page - 1) & ~(page - 1);
	mmap((void *)addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
	     0);
}

void pw_fork_forget_bpf_object(const struct bpf_object *obj)
{
	struct bpf_program *prog;
	struct bpf_map *map;

	if (!obj)
		return;
	bpf_object__for_each_program(prog, obj)
		pw_fork_forget_fd(bpf_program__fd(prog));
	bpf_object__for_each_map(map, obj) {
		forget_mapping(map);
		pw_fork_forget_fd(bpf_map__fd(map));
	}
	if (bpf_object__btf(obj))
		pw_fork_forget_fd(btf__fd(bpf_object__btf(obj)));
}

void pw_fork_forget_link(const struct bpf_link *link)
{
	if (link)
		pw_fork_forget_fd(bpf_link__fd(link));
}
