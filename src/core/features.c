// SPDX-License-Identifier: MIT
/*
 * features.c - what the running kernel allows, learned by trying: each probe
 * program is loaded (and, for LSM, attached) alone, then released at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "core/features.h"
#include "core/log.h"
#include "probe.skel.h"

static int try_program(const char *name, bool attach)
{
	struct probe_bpf *skel = probe_bpf__open();
	struct bpf_program *prog, *target = NULL;
	struct bpf_link *link;
	int err;

	if (!skel)
		return -errno;
	bpf_object__for_each_program(prog, skel->obj) {
		bool mine = !strcmp(bpf_program__name(prog), name);

		bpf_program__set_autoload(prog, mine);
		if (mine)
			target = prog;
	}
	err = target ? probe_bpf__load(skel) : -ENOENT;
	if (!err && attach) {
		link = bpf_program__attach(target);
		err = link ? 0 : -errno;
		bpf_link__destroy(link);
	}
	probe_bpf__destroy(skel);
	return err;
}

static int try_fanotify_exec(void)
{
	char dir[] = "/tmp/pw-probe-XXXXXX";
	int fd, err = 0;

	fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY);
	if (fd < 0)
		return -errno;
	/* A fresh empty directory nobody execs from: the probe can block no one. */
	if (!mkdtemp(dir)) {
		close(fd);
		return -errno;
	}
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_ONLYDIR, FAN_OPEN_EXEC_PERM | FAN_EVENT_ON_CHILD,
			  AT_FDCWD, dir))
		err = -errno;
	close(fd);
	rmdir(dir);
	return err;
}

#define PW_FEAT_NEED_BTF (PW_FEAT_TP_BTF | PW_FEAT_TASK_ITER | PW_FEAT_FENTRY | PW_FEAT_BPF_LSM)
#define PW_FEAT_ALL_KNOWN                                                                  \
	(PW_FEAT_BTF | PW_FEAT_BPF | PW_FEAT_RINGBUF | PW_FEAT_NEED_BTF | PW_FEAT_FANOTIFY_EXEC | \
	 PW_FEAT_SEND_SIGNAL)

/*
 * Probe the features in `want` only: each program probe costs a parse of
 * the kernel's BTF (~10 ms of CPU here), and the sampler, say, needs one
 * of the four. `have_btf`: whether PW_FEAT_BTF is already known to hold.
 */
static unsigned int probe_some(unsigned int want, bool have_btf)
{
	unsigned int f = 0;

	/* libbpf's messages from failing probes are expected: keep them quiet. */
	pw_log_libbpf_begin(NULL);
	if ((want & PW_FEAT_BTF) && !access("/sys/kernel/btf/vmlinux", R_OK))
		f |= PW_FEAT_BTF;
	if ((want & PW_FEAT_BPF) && libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCKET_FILTER, NULL) == 1)
		f |= PW_FEAT_BPF;
	if ((want & PW_FEAT_RINGBUF) && libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1)
		f |= PW_FEAT_RINGBUF;
	if ((want & PW_FEAT_SEND_SIGNAL) &&
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_send_signal, NULL) == 1)
		f |= PW_FEAT_SEND_SIGNAL;
	if (have_btf || (f & PW_FEAT_BTF)) {
		if ((want & PW_FEAT_TP_BTF) && !try_program("probe_tp_btf", false))
			f |= PW_FEAT_TP_BTF;
		if ((want & PW_FEAT_TASK_ITER) && !try_program("probe_task_iter", false))
			f |= PW_FEAT_TASK_ITER;
		if ((want & PW_FEAT_FENTRY) && !try_program("probe_fentry", false))
			f |= PW_FEAT_FENTRY;
		if ((want & PW_FEAT_BPF_LSM) && !try_program("probe_lsm", true))
			f |= PW_FEAT_BPF_LSM;
	}
	if ((want & PW_FEAT_FANOTIFY_EXEC) && !try_fanotify_exec())
		f |= PW_FEAT_FANOTIFY_EXEC;
	pw_log_libbpf_end();
	return f;
}

/* What was probed, and what of it holds: each feature is probed once per process. */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int probed, found;

unsigned int pw_features_probe(unsigned int want)
{
	unsigned int todo, have;

	pthread_mutex_lock(&probe_lock);
	todo = want & ~probed;
	if (todo & PW_FEAT_NEED_BTF)
		todo |= PW_FEAT_BTF & ~probed; /* the program probes need it */
	if (todo) {
		found |= probe_some(todo, found & PW_FEAT_BTF);
		probed |= todo;
	}
	have = found & want;
	pthread_mutex_unlock(&probe_lock);
	return have;
}

PW_API unsigned int pw_features(void)
{
	return pw_features_probe(PW_FEAT_ALL_KNOWN);
}
