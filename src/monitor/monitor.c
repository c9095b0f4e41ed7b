// SPDX-License-Identifier: MIT
/*
 * monitor.c - the pw_monitor object: load and attach the lifecycle programs,
 * consume the ring buffer, keep the process table, deliver events.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "monitor/monitor.h" /* before the skeleton: it declares struct pw_bpf_config */
#include "lifecycle.skel.h"
#include "access/access.h"
#include "snapshot/names.h"
#include "monitor/proctable.h"
#include "core/array.h"
#include "core/opts.h"
#include "core/percpu.h"

#define DEFAULT_RINGBUF_BYTES (16u << 20)

/*
 * In a child of fork(): every descriptor of the monitor goes, so no program
 * of it stays attached (or loaded) for the child's sake. The child's copy
 * of the handle is inert; pw_monitor_free() there closes only placeholders.
 */
static void forget_in_child(struct pw_fork_hook *hook)
{
	struct pw_monitor *m =
		(struct pw_monitor *)((char *)hook - offsetof(struct pw_monitor, fork_hook));

	if (m->skel) {
		struct bpf_link **links = (struct bpf_link **)&m->skel->links;

		for (size_t i = 0; i < sizeof(m->skel->links) / sizeof(*links); i++)
			pw_fork_forget_link(links[i]);
		pw_fork_forget_bpf_object(m->skel->obj);
	}
	if (m->rb)
		pw_fork_forget_fd(ring_buffer__epoll_fd(m->rb));
	pw_fork_forget_fd(m->epfd);
	pw_fork_forget_fd(m->stopfd);
	pw_access_forget_in_child(m); /* access.c */
}

PW_API int pw_monitor_new(const struct pw_monitor_opts *opts, struct pw_monitor **out)
{
	struct pw_monitor_opts o;
	struct pw_monitor *m;
	int err;

	if (!out)
		return -EINVAL;
	*out = NULL;
	/* A newer caller's fields we don't know must be zero (libbpf's rule). */
	err = PW_OPTS_CHECK(opts, userdata, pw_monitor_opts);
	if (err)
		return err;
	if (!opts->on_event)
		return -EINVAL;
	if (opts->events & ~(PW_EVMASK_ALL | PW_EVMASK_ACCESS))
		return -EINVAL;

	/* validated and defaulted in a copy, so that a refusal has nothing to free */
	PW_OPTS_COPY(&o, opts);
	if (o.ringbuf_bytes && (o.ringbuf_bytes < 4096 || (o.ringbuf_bytes & (o.ringbuf_bytes - 1))))
		return -EINVAL;
	if (o.max_args_bytes > PW_ARGS_MAX)
		return -EINVAL;
	PW_OPTS_DEFAULT(o.batch_delay_us, PW_BATCH_DELAY_DEFAULT_US);
	if (o.batch_delay_us < -1 || o.batch_delay_us >= 1000000)
		return -EINVAL;
	PW_OPTS_DEFAULT(o.events, PW_EVMASK_ALL);
	PW_OPTS_DEFAULT(o.ringbuf_bytes, DEFAULT_RINGBUF_BYTES);
	PW_OPTS_DEFAULT(o.max_args_bytes, PW_ARGS_DEFAULT);

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->opts = o;
	m->log.fn = m->opts.log;
	m->log.userdata = m->opts.log_userdata;
	m->epfd = -1;
	m->stopfd = -1;
	m->fork_hook.in_child = forget_in_child;
	pw_fork_register(&m->fork_hook);
	*out = m;
	return 0;
}

static struct pw_rule_maps rule_maps(struct pw_monitor *m)
{
	struct pw_rule_maps maps = {
		.pid_fd = bpf_map__fd(m->skel->maps.pid_rules),
		.uid_fd = bpf_map__fd(m->skel->maps.uid_rules),
		.name_fd = bpf_map__fd(m->skel->maps.name_rules),
		.pattern_fd = bpf_map__fd(m->skel->maps.pattern_rules),
		.cfg = &m->skel->bss->cfg,
	};
	return maps;
}

static int sync_rules(void *ctx)
{
	struct pw_monitor *m = ctx;
	struct pw_rule_maps maps;

	if (!m->started)
		return 0;
	maps = rule_maps(m);
	return pw_rules_sync(&m->rules, &maps);
}

static int rule_op(struct pw_monitor *m, const struct pw_rule *rule, bool add)
{
	struct pw_rule_entry e;
	int err;

	if (!m)
		return -EINVAL;
	err = pw_rule_validate(rule, &e);
	return err ? err : pw_rules_change(&m->rules, &e, add, sync_rules, m);
}

PW_API int pw_monitor_add_rule(struct pw_monitor *m, const struct pw_rule *rule)
{
	return rule_op(m, rule, true);
}

PW_API int pw_monitor_remove_rule(struct pw_monitor *m, const struct pw_rule *rule)
{
	return rule_op(m, rule, false);
}

PW_API int pw_monitor_clear_rules(struct pw_monitor *m)
{
	if (!m)
		return -EINVAL;
	pw_rules_clear(&m->rules);
	return sync_rules(m);
}

/* Copy what is known of a process into the table entry. */
static void inherit_identity(struct pw_process *dst, const struct pw_process *src)
{
	if (!src)
		return;
	if (src->image)
		pw_process_set_image(dst, src->image);
	if (src->args_len)
		pw_process_set_args(dst, src->args, src->args_len);
	dst->known |= src->known & PW_PK_ARGS_TRUNCATED;
}

/* Fill image/argv of a non-exec event from the table entry. */
static void from_table(struct pw_event *ev, const struct pw_process *p)
{
	if (!p)
		return;
	ev->image = p->image;
	ev->argv = p->argc ? p->argv : NULL;
	ev->argc = p->argc;
	if (p->image || p->argc)
		ev->flags |= PW_EVF_FROM_TABLE;
	if (p->known & PW_PK_ARGS_TRUNCATED)
		ev->flags |= PW_EVF_ARGS_TRUNCATED;
}

/* Update the process table from an event; fills the table-derived fields. */
static void track(struct pw_monitor *m, struct pw_event *ev)
{
	const struct pw_raw_header *h = ev->hdr;
	struct pw_process *p, *creator;

	switch (ev->type) {
	case PW_EVENT_PROCESS_CREATE:
		creator = pw_proctable_find(m->table, ev->creator_pid);
		p = pw_proctable_upsert(m->table, h->pid, h->start_ns);
		if (!p)
			return;
		/* fork duplicates the creator's image and argv, whoever the parent is */
		if (creator && creator != p)
			inherit_identity(p, creator);
		p->ppid = h->ppid;
		p->uid = h->token.uid;
		p->gid = h->token.gid;
		p->threads = 1;
		memcpy(p->name, ev->comm, PW_COMM_LEN);
		from_table(ev, p);
		break;
	case PW_EVENT_EXEC:
		p = pw_proctable_upsert(m->table, h->pid, h->start_ns);
		if (!p)
			return;
		m->previous_image = p->image;
		ev->previous_image = p->image;
		p->image = NULL;
		pw_process_set_image(p, ev->image);
		pw_process_set_args(p, ev->args, ev->args_len);
		if (ev->flags & PW_EVF_ARGS_TRUNCATED)
			p->known |= PW_PK_ARGS_TRUNCATED;
		else
			p->known &= ~PW_PK_ARGS_TRUNCATED;
		p->ppid = h->ppid;
		p->uid = h->token.uid;
		p->gid = h->token.gid;
		p->threads = 1; /* exec leaves one thread */
		memcpy(p->name, ev->comm, PW_COMM_LEN);
		break;
	case PW_EVENT_THREAD_CREATE:
		p = pw_proctable_find(m->table, h->pid);
		if (p)
			p->threads++;
		from_table(ev, p);
		break;
	case PW_EVENT_THREAD_EXIT:
		p = pw_proctable_find(m->table, h->pid);
		if (p && p->threads > 1)
			p->threads--;
		from_table(ev, p);
		break;
	case PW_EVENT_PROCESS_EXIT:
		from_table(ev, pw_proctable_find(m->table, h->pid));
		break;
	default:
		break;
	}
}

/*
 * Secrets out of argv before the application sees it, whatever the event's
 * argv came from (its own record or the process table). A failed redaction
 * delivers no argv rather than the secret.
 */
static void redact_event(struct pw_monitor *m, struct pw_event *ev)
{
	size_t len = 0, argc = 0;
	char *out = NULL, *p;
	int ret;

	for (size_t i = 0; i < ev->argc; i++)
		len += strlen(ev->argv[i]) + 1;
	free(m->redacted);
	m->redacted = NULL;
	ret = pw_array_grow((void **)&m->redact_scratch, &m->redact_scratch_cap, len, 1, 256);
	if (!ret) {
		p = m->redact_scratch;
		for (size_t i = 0; i < ev->argc; i++)
			p = stpcpy(p, ev->argv[i]) + 1;
		ret = pw_redact_args(m->opts.redact, m->redact_scratch, len, &out, &len);
	}
	if (ret == 0)
		return;
	if (ret < 0 || pw_split_args(out, len, &m->redact_buf, &argc)) {
		free(out);
		ev->argc = 0;
		ev->argv = NULL;
		ev->args = NULL;
		ev->args_len = 0;
		ev->flags |= PW_EVF_REDACTED | PW_EVF_ARGS_TRUNCATED;
		return;
	}
	m->redacted = out;
	ev->argv = m->redact_buf.argv;
	ev->argc = argc;
	ev->args = out;
	ev->args_len = len;
	ev->flags |= PW_EVF_REDACTED;
}

static int deliver(struct pw_monitor *m, struct pw_event *ev)
{
	int ret;

	if (!(m->opts.events & PW_EVMASK(ev->type)) && ev->type != PW_EVENT_LOST)
		return 0;
	if (m->opts.redact && ev->argc)
		redact_event(m, ev);
	ret = m->opts.on_event(m, ev, m->opts.userdata);
	if (ev->type != PW_EVENT_LOST)
		m->delivered++;
	m->dispatched++;
	return ret < 0 ? ret : 0;
}

/*
 * Before Linux 6.16 sched_process_exit carries no group_dead flag: two
 * threads exiting at once on two CPUs can both see signal->live == 0 and
 * both report the process exit. A process exits once, so an exit whose key
 * was just reported is the same exit seen twice.
 */
static bool exit_seen(struct pw_monitor *m, pid_t pid, uint64_t start_ns)
{
	for (size_t i = 0; i < PW_RECENT_EXITS; i++)
		if (m->recent_exits[i].pid == pid && m->recent_exits[i].start_ns == start_ns)
			return true;
	m->recent_exits[m->recent_exit_next].pid = pid;
	m->recent_exits[m->recent_exit_next].start_ns = start_ns;
	m->recent_exit_next = (m->recent_exit_next + 1) % PW_RECENT_EXITS;
	return false;
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct pw_monitor *m = ctx;
	struct pw_event ev;
	int err;

	err = pw_event_decode(&ev, data, size, &m->dbuf);
	if (err) {
		pw_log(&m->log, PW_LOG_ERROR, "dropping a malformed record of %zu bytes: %s", size,
		       pw_strerror(err));
		return 0;
	}
	ev.names = m->names;
	if (ev.type == PW_EVENT_PROCESS_EXIT && exit_seen(m, ev.hdr->pid, ev.hdr->start_ns))
		return 0;
	track(m, &ev);
	err = deliver(m, &ev);
	free(m->previous_image);
	m->previous_image = NULL;
	if (ev.type == PW_EVENT_PROCESS_EXIT)
		pw_proctable_remove(m->table, ev.hdr->pid);
	if (err) {
		m->callback_err = err;
		return err;
	}
	return 0;
}

/* Seed the table from /proc, after attaching, so no process falls between the two. */
static void seed_table(struct pw_monitor *m)
{
	PW_OPTS(pw_snapshot_opts, sopts, .flags = PW_SNAP_CMDLINE | PW_SNAP_IMAGE);
	struct pw_snapshot *snap;
	int err;

	err = pw_snapshot_take(&sopts, &snap);
	if (err) {
		pw_log(&m->log, PW_LOG_WARN, "process table not seeded from /proc: %s", pw_strerror(err));
		return;
	}
	for (size_t i = 0; i < pw_snapshot_count(snap); i++) {
		const struct pw_process *src = pw_snapshot_process(snap, i);
		struct pw_process *p = pw_proctable_upsert(m->table, src->pid, src->start_ns);

		if (!p)
			break;
		inherit_identity(p, src);
		p->ppid = src->ppid;
		p->uid = src->uid;
		p->gid = src->gid;
		p->threads = src->threads;
		memcpy(p->name, src->name, PW_COMM_LEN);
		p->known |= PW_PK_KEY_COARSE;
	}
	pw_snapshot_free(snap);
}

static int load_programs(struct pw_monitor *m)
{
	struct lifecycle_bpf *skel;
	int ncpus, err;

	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return -PW_ERR_NO_BTF;
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0)
		return ncpus ? ncpus : -EINVAL;

	pw_log_libbpf_begin(&m->log);
	skel = lifecycle_bpf__open();
	if (!skel) {
		err = -errno;
		goto out;
	}
	m->skel = skel;
	bpf_map__set_max_entries(skel->maps.events, m->opts.ringbuf_bytes);
	bpf_map__set_max_entries(skel->maps.scratch, ncpus);
	/*
	 * The inherited-verdict map is preallocated (LRU): 65536 entries are
	 * ~4 MiB of zeroed pages, a tenth of a short-lived monitor's start-up
	 * (`procward top`). Without inherit_children nothing reads or writes it.
	 */
	if (!m->opts.inherit_children)
		bpf_map__set_max_entries(skel->maps.inherited, 1);
	err = lifecycle_bpf__load(skel);
	if (err) {
		pw_log(&m->log, PW_LOG_ERROR, "loading the lifecycle programs failed: %s",
		       pw_strerror(err));
		err = pw_bpf_load_error(err);
		goto out;
	}
	skel->bss->cfg.event_mask = 0;
	skel->bss->cfg.inherit = m->opts.inherit_children;
	skel->bss->cfg.args_max = m->opts.max_args_bytes;
	m->started = true; /* rules may now go to the maps */
	err = sync_rules(m);
	if (err)
		goto out;
	err = lifecycle_bpf__attach(skel);
	if (err) {
		pw_log(&m->log, PW_LOG_ERROR, "attaching the lifecycle programs failed: %s",
		       pw_strerror(err));
		err = pw_bpf_load_error(err);
	}
out:
	pw_log_libbpf_end();
	return err;
}

/*
 * The kernel needs create and exec records to keep the process table right
 * even when the application did not ask for them; they are not delivered.
 */
static unsigned int kernel_event_mask(unsigned int wanted)
{
	unsigned int mask = 0;

	for (int t = PW_RAW_PROCESS_CREATE; t <= PW_RAW_THREAD_EXIT; t++)
		if (wanted & PW_EVMASK(t))
			mask |= 1u << t;
	if (mask)
		mask |= 1u << PW_RAW_PROCESS_CREATE | 1u << PW_RAW_EXEC | 1u << PW_RAW_PROCESS_EXIT;
	return mask;
}

static void unload(struct pw_monitor *m)
{
	pw_fork_lock();
	/*
	 * A child that no fork handler ran for (raw clone()) may keep the
	 * programs alive: they get nothing more to report.
	 */
	if (m->skel && m->skel->bss)
		m->skel->bss->cfg.event_mask = 0;
	ring_buffer__free(m->rb);
	m->rb = NULL;
	pw_access_stop(m); /* access.c: before the ring it shares goes */
	lifecycle_bpf__destroy(m->skel); /* detaches every link */
	m->skel = NULL;
	if (m->epfd >= 0)
		close(m->epfd);
	if (m->stopfd >= 0)
		close(m->stopfd);
	m->epfd = m->stopfd = -1;
	pw_proctable_free(m->table);
	m->table = NULL;
	pw_names_free(m->names);
	m->names = NULL;
	m->started = false;
	pw_fork_unlock();
}

PW_API int pw_monitor_start(struct pw_monitor *m)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	if (!m)
		return -EINVAL;
	if (m->started)
		return -EALREADY;
	pw_fork_lock(); /* a fork() elsewhere sees all the descriptors or none */
	m->table = pw_proctable_new(m->opts.max_processes);
	m->names = pw_names_new();
	m->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!m->table || !m->names || m->stopfd < 0 || m->epfd < 0) {
		err = -ENOMEM;
		goto fail;
	}
	err = load_programs(m);
	if (err)
		goto fail;
	if (pw_access_wanted(m)) { /* access.c: shares the ring buffer loaded above */
		err = pw_access_start(m);
		if (err)
			goto fail;
	}
	m->rb = ring_buffer__new(bpf_map__fd(m->skel->maps.events), handle_record, m, NULL);
	if (!m->rb) {
		err = -errno;
		goto fail;
	}
	ev.data.u32 = 0;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(m->rb), &ev)) {
		err = -errno;
		goto fail;
	}
	ev.data.u32 = 1;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->stopfd, &ev)) {
		err = -errno;
		goto fail;
	}
	/* Events flow from here on; the table is seeded before the first is read. */
	m->skel->bss->cfg.event_mask = kernel_event_mask(m->opts.events);
	pw_fork_unlock();
	seed_table(m);
	return 0;
fail:
	unload(m);
	pw_fork_unlock();
	return err;
}

PW_API int pw_monitor_fd(const struct pw_monitor *m)
{
	return m && m->started ? m->epfd : -EINVAL;
}

static uint64_t kernel_lost_total(const struct pw_monitor *m)
{
	uint64_t total = 0;

	for (int i = 0; i < PW_LOST_SLOTS; i++)
		total += __atomic_load_n(&m->skel->bss->lost[i], __ATOMIC_RELAXED);
	return total + pw_access_lost(m); /* access.c */
}

static int report_lost(struct pw_monitor *m)
{
	uint64_t total = kernel_lost_total(m);
	struct pw_event ev;

	if (total == m->lost_seen)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.type = PW_EVENT_LOST;
	ev.lost_count = total - m->lost_seen;
	m->lost_seen = total;
	return deliver(m, &ev);
}

/* A stop request ends this dispatch: -EINTR, remembered for pw_monitor_run(). */
static int consume_stop(struct pw_monitor *m)
{
	uint64_t v;

	m->stop_requested = 0;
	m->stop_seen = true;
	(void)!read(m->stopfd, &v, sizeof(v));
	return -EINTR;
}

PW_API int pw_monitor_dispatch(struct pw_monitor *m, int timeout_ms)
{
	struct epoll_event evs[2];
	int n, err;

	if (!m || !m->started)
		return -EINVAL;
	if (m->stop_requested)
		return consume_stop(m);
	/*
	 * Busy period: give the kernel time to append more records before we
	 * read. The BPF ring buffer wakes the reader only for a record that
	 * finds it caught up, so while we lag a little, commits cost no
	 * wake-up at all. Idle periods are unaffected.
	 */
	if (m->last_batch > 0 && m->opts.batch_delay_us > 0 && timeout_ms != 0) {
		struct timespec delay = { .tv_nsec = (long)m->opts.batch_delay_us * 1000 };

		if (timeout_ms > 0 && delay.tv_nsec > timeout_ms * 1000000L)
			delay.tv_nsec = timeout_ms * 1000000L;
		/*
		 * A signal here interrupts the dispatch as one in the wait does:
		 * swallowed, the wait below would sleep on, and a handler that
		 * runs only once we return (Python's) would wait for an event.
		 */
		if (nanosleep(&delay, NULL) && errno == EINTR)
			return m->stop_requested ? consume_stop(m) : -EINTR;
	}
	n = epoll_wait(m->epfd, evs, 2, timeout_ms);
	if (n < 0)
		return -errno;
	m->dispatched = 0;
	m->callback_err = 0;
	err = ring_buffer__consume(m->rb);
	if (err < 0 && m->callback_err)
		return m->callback_err;
	if (err < 0)
		return err;
	err = report_lost(m);
	if (err)
		return err;
	m->last_batch = m->dispatched;
	if (m->stop_requested && !m->dispatched)
		return consume_stop(m);
	return m->dispatched;
}

PW_API int pw_monitor_run(struct pw_monitor *m)
{
	int err;

	if (!m || !m->started)
		return -EINVAL;
	m->stop_seen = false;
	for (;;) {
		err = pw_monitor_dispatch(m, -1);
		if (err == -EINTR) {
			/*
			 * Either our stop request (seen by dispatch, or still
			 * pending when a signal interrupted the wait) or a
			 * signal the application handles: go on waiting.
			 */
			if (m->stop_seen || m->stop_requested) {
				if (m->stop_requested)
					consume_stop(m);
				m->stop_seen = false;
				/* Deliver what the kernel already produced: a stop drops nothing. */
				m->callback_err = 0;
				err = ring_buffer__consume(m->rb);
				if (err < 0)
					return m->callback_err ? m->callback_err : err;
				return report_lost(m);
			}
			continue;
		}
		if (err < 0)
			return err;
	}
}

PW_API void pw_monitor_stop(struct pw_monitor *m)
{
	uint64_t one = 1;

	if (!m)
		return;
	m->stop_requested = 1;
	if (m->stopfd >= 0)
		(void)!write(m->stopfd, &one, sizeof(one));
}

PW_API int pw_monitor_stats(const struct pw_monitor *m, struct pw_monitor_stats *stats)
{
	struct pw_monitor_stats s = { .sz = sizeof(s) };
	size_t sz;

	if (!m || !stats || stats->sz < sizeof(size_t))
		return -EINVAL;
	s.events_delivered = m->delivered;
	if (m->started) {
		s.events_lost = kernel_lost_total(m);
		s.events_filtered = pw_percpu_sum(bpf_map__fd(m->skel->maps.filtered_count), 0);
		s.events_filtered += pw_access_filtered(m); /* access.c */
		s.processes_tracked = pw_proctable_count(m->table);
		s.table_evictions = pw_proctable_evictions(m->table);
	}
	sz = stats->sz < sizeof(s) ? stats->sz : sizeof(s);
	memcpy(stats, &s, sz);
	stats->sz = sz;
	return 0;
}

PW_API void pw_monitor_free(struct pw_monitor *m)
{
	if (!m)
		return;
	unload(m);
	pw_access_free(m); /* access.c */
	pw_fork_unregister(&m->fork_hook);
	pw_rules_free(&m->rules);
	pw_decode_buf_free(&m->dbuf);
	pw_decode_buf_free(&m->redact_buf);
	free(m->redacted);
	free(m->redact_scratch);
	free(m->previous_image);
	free(m);
}

/* access.c's narrow view of the monitor (access/access.h). */
void pw_monitor_access_host(const struct pw_monitor *m, struct pw_access_host *host)
{
	host->state = (struct pw_access_state **)&m->access;
	host->log = &m->log;
	host->events = m->opts.events;
	host->ring_bytes = m->opts.ringbuf_bytes;
	host->ring_fd = m->skel ? bpf_map__fd(m->skel->maps.events) : -1;
	host->started = m->started;
}
