// SPDX-License-Identifier: MIT
/*
 * gate/bpf.c - the gate's kernel programs: loading and attaching them, and
 * the subject conditions in their maps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gate/gate.h"
#include "gate.skel.h"
#include "snapshot/procfs.h"

static int tracefs_ready(struct pw_gate *g)
{
	if (!access("/sys/kernel/tracing/events/syscalls/sys_enter_execve", F_OK))
		return 1;
	if (!access("/sys/kernel/debug/tracing/events/syscalls/sys_enter_execve", F_OK))
		return 1;
	if (!mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL)) {
		pw_log(&g->log, PW_LOG_INFO, "mounted tracefs on /sys/kernel/tracing for the exec gate");
		return !access("/sys/kernel/tracing/events/syscalls/sys_enter_execve", F_OK);
	}
	return 0;
}

static int map_or(int fd, const void *key, uint64_t bits)
{
	uint64_t v = 0;

	bpf_map_lookup_elem(fd, key, &v);
	v |= bits;
	return bpf_map_update_elem(fd, key, &v, BPF_ANY);
}

/* Descendants of root (from /proc) get its tree bit: for rules naming a running service. */
static void seed_tree(struct pw_gate *g, pid_t root, uint64_t bit)
{
	int tree_fd = bpf_map__fd(g->skel->maps.tree);
	bool grew = true;

	map_or(tree_fd, &(uint32_t){ (uint32_t)root }, bit);
	/* Fixed point over ppid links; every pass adds at least one generation. */
	for (int pass = 0; grew && pass < 64; pass++) {
		DIR *d = opendir("/proc");
		struct dirent *de;

		grew = false;
		if (!d)
			return;
		while ((de = readdir(d))) {
			struct pw_stat_fields st;
			char path[288], buf[1024];
			uint32_t pid, ppid;
			uint64_t v = 0, pv = 0;
			size_t len;
			bool trunc;
			int dfd;

			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s", de->d_name);
			dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0)
				continue;
			if (pw_procfs_read_file(dfd, "stat", buf, sizeof(buf), &len, &trunc) ||
			    pw_procfs_parse_stat(buf, len, &st)) {
				close(dfd);
				continue;
			}
			close(dfd);
			pid = st.pid;
			ppid = st.ppid;
			if (bpf_map_lookup_elem(tree_fd, &ppid, &pv) || !(pv & bit))
				continue;
			bpf_map_lookup_elem(tree_fd, &pid, &v);
			if (v & bit)
				continue;
			map_or(tree_fd, &pid, bit);
			grew = true;
		}
		closedir(d);
	}
}

/* Subject conditions into the BPF maps; bit order as in pw_gate_rules_add(). */
static int load_subjects(struct pw_gate *g)
{
	struct pw_gate_bpf_config *cfg = &g->skel->bss->gate_cfg;
	int err = 0;

	cfg->scope_all = !g->rules.have_scope;
	for (size_t i = 0; i < g->rules.n && !err; i++) {
		const struct pw_gate_rule_entry *e = &g->rules.v[i];
		unsigned int b = e->subject_mask ? (unsigned int)__builtin_ctzll(e->subject_mask) : 0;

		if (!e->subject_mask)
			continue;
		cfg->have_subjects = 1;
		if (e->has_uid)
			err = err ?: map_or(bpf_map__fd(g->skel->maps.subj_uid), &e->uid, 1ull << b++);
		if (e->subject_name[0]) {
			char key[PW_COMM_LEN] = { 0 };

			memcpy(key, e->subject_name, PW_COMM_LEN - 1);
			err = err ?: map_or(bpf_map__fd(g->skel->maps.subj_name), key, 1ull << b);
			if (e->children) {
				err = err ?: map_or(bpf_map__fd(g->skel->maps.tree_name), key, 1ull << b);
				cfg->have_trees = 1;
			}
			b++;
		}
		if (e->subject_pid) {
			uint32_t pid = e->subject_pid;

			if (e->children) {
				cfg->have_trees = 1;
				seed_tree(g, e->subject_pid, 1ull << b);
			} else {
				err = err ?: map_or(bpf_map__fd(g->skel->maps.subj_pid), &pid, 1ull << b);
			}
			b++;
		}
		if (e->action == PW_GATE_ASK) {
			if (cfg->n_scopes == PW_GATE_MAX_SCOPES)
				return -PW_ERR_RULE_LIMIT;
			cfg->scope_masks[cfg->n_scopes++] = e->subject_mask;
		}
	}
	return err;
}

int pw_gate_load_bpf(struct pw_gate *g)
{
	struct gate_bpf *skel;
	bool tracepoints, watch_mounts;
	struct stat ns;
	int err;

	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return -PW_ERR_NO_BTF;
	pw_log_libbpf_begin(&g->log);
	tracepoints = tracefs_ready(g) > 0;
	if (!tracepoints)
		pw_log(&g->log, PW_LOG_INFO,
		       "no tracefs: capturing execve arguments from the raw sys_enter tracepoint");
	skel = gate_bpf__open();
	if (!skel) {
		err = -errno;
		goto out;
	}
	g->skel = skel;
	bpf_program__set_autoload(skel->progs.pw_gate_enter_execve, tracepoints);
	bpf_program__set_autoload(skel->progs.pw_gate_enter_execveat, tracepoints);
	bpf_program__set_autoload(skel->progs.pw_gate_sys_enter, !tracepoints);
	/* Mounts in other namespaces: syscall tracepoints only (a raw sys_exit would tax every syscall). */
	watch_mounts = tracepoints && g->opts.mounts == PW_GATE_MOUNTS_EVERY_NS;
	bpf_program__set_autoload(skel->progs.pw_gate_exit_mount, watch_mounts);
	bpf_program__set_autoload(skel->progs.pw_gate_exit_move_mount, watch_mounts);
	if (!watch_mounts && g->opts.mounts == PW_GATE_MOUNTS_EVERY_NS)
		pw_log(&g->log, PW_LOG_INFO, "no tracefs: filesystems mounted in other mount namespaces are "
		       "not marked as mounted (their execs are held)");
	err = gate_bpf__load(skel);
	if (err) {
		pw_log(&g->log, PW_LOG_ERROR, "loading the gate programs failed: %s", pw_strerror(err));
		err = err == -EPERM || err == -EACCES ? -PW_ERR_NO_BPF : -PW_ERR_KERNEL_FEATURE;
		goto out;
	}
	skel->bss->gate_cfg.self_pid = g->self_pid;
	if (!stat("/proc/self/ns/mnt", &ns)) /* else 0: every mount is reported, ours rescanned too */
		skel->bss->gate_cfg.self_mnt_ns = (__u32)ns.st_ino;
	skel->bss->gate_cfg.fail_closed = g->opts.fail_closed_ungated;
	skel->bss->gate_cfg.report_cached = pw_gate_decision_wanted(g, PW_EXEC_ALLOW, PW_GATE_BY_CACHE);
	pw_gate_argv_init(g); /* argv.c */
	err = load_subjects(g);
	if (err)
		goto out;
	err = gate_bpf__attach(skel);
	if (err) {
		pw_log(&g->log, PW_LOG_ERROR, "attaching the gate programs failed: %s", pw_strerror(err));
		err = -PW_ERR_KERNEL_FEATURE;
		goto out;
	}
	g->meta_fd = bpf_map__fd(skel->maps.gate_meta);
	g->argv_fd = bpf_map__fd(skel->maps.gate_argv);
	g->marks_fd = bpf_map__fd(skel->maps.gate_marks);
	g->cached_fd = bpf_map__fd(skel->maps.gate_cached);
	g->rb = ring_buffer__new(bpf_map__fd(skel->maps.ungated), pw_gate_on_ungated, g, NULL);
	if (!g->rb) {
		err = -errno;
		goto out;
	}
	pw_gate_loader_init(g);    /* loader.c */
	err = pw_gate_hold_init(g); /* hold.c: the watch over held execs, shares our maps */
out:
	pw_log_libbpf_end();
	return err;
}
