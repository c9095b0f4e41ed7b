// SPDX-License-Identifier: MIT
/*
 * sampler.c - the pw_sampler object: per-interval CPU and memory of every
 * process from one BPF task-iterator walk per sample, with the processes
 * that exited in between taken from their exit events.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "resource/sampler.h"
#include "sampler.skel.h"
#include "monitor/monitor.h"
#include "monitor/proctable.h"
#include "snapshot/process.h"
#include "core/features.h"
#include "core/opts.h"

#define MAX_PENDING_EXITS 65536
/*
 * The sampler's monitor reads exit records only, and is woken for each: a
 * 2 MiB ring holds ~6000 of them between two reads. The monitor's default
 * of 16 MiB is 4096 pages the kernel zeroes at map creation, ~60 ms, a
 * quarter of `procward top`'s start-up. Records lost to a full ring are
 * counted (pw_monitor_stats), as for any monitor.
 */
#define SAMPLER_RINGBUF_BYTES (2u << 20)

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

static void exit_entry_clear(struct pw_exit_entry *e)
{
	free(e->args);
	free(e->argv);
	free(e->image);
	memset(e, 0, sizeof(*e));
}

/* Copy a borrowed exit event into a pending entry (argv and image included). */
static int keep_exit(struct pw_sampler *s, const struct pw_event *ev)
{
	const struct pw_rusage *ru = pw_event_rusage(ev);
	struct pw_exit_entry *e;
	size_t argc = pw_event_argc(ev), len = 0;
	char *cursor;

	if (!ru)
		return 0;
	if (s->n_pending >= MAX_PENDING_EXITS) {
		s->exits_dropped++;
		return 0;
	}
	if (grow((void **)&s->pending, &s->cap_pending, s->n_pending + 1, sizeof(*s->pending)))
		return -ENOMEM;
	e = &s->pending[s->n_pending];
	memset(e, 0, sizeof(*e));
	e->u.sz = sizeof(e->u);
	e->u.key = pw_event_key(ev);
	e->u.ppid = pw_event_parent_pid(ev);
	e->u.uid = pw_event_token(ev)->uid;
	memcpy(&e->token, pw_event_token(ev), sizeof(e->token));
	memcpy(e->u.name, pw_event_name(ev), sizeof(e->u.name));
	e->u.name[sizeof(e->u.name) - 1] = 0;
	e->u.state = 'X';
	e->u.exited = true;
	e->u.threads = ru->threads;
	e->u.cpu_ns = ru->cpu_ns;
	e->u.user_ns = ru->user_ns;
	e->u.system_ns = ru->system_ns;
	e->u.rss_bytes = e->u.max_rss_bytes = ru->max_rss_bytes;
	e->u.exit_status = pw_event_exit_status(ev);
	if (pw_event_image(ev) && !(e->image = strdup(pw_event_image(ev))))
		goto nomem;
	for (size_t i = 0; i < argc; i++)
		len += strlen(pw_event_arg(ev, i)) + 1;
	if (argc) {
		e->args = malloc(len);
		e->argv = calloc(argc + 1, sizeof(*e->argv));
		if (!e->args || !e->argv)
			goto nomem;
		cursor = e->args;
		for (size_t i = 0; i < argc; i++) {
			size_t n = strlen(pw_event_arg(ev, i)) + 1;

			memcpy(cursor, pw_event_arg(ev, i), n);
			e->argv[i] = cursor;
			cursor += n;
		}
	}
	e->u.image = e->image;
	e->u.argc = argc;
	e->u.argv = e->argv;
	s->n_pending++;
	return 0;
nomem:
	exit_entry_clear(e);
	return -ENOMEM;
}

static int on_monitor_event(struct pw_monitor *m, const struct pw_event *ev, void *userdata)
{
	struct pw_sampler *s = userdata;
	int err;

	if (pw_event_type(ev) != PW_EVENT_PROCESS_EXIT)
		return 0;
	err = keep_exit(s, ev);
	if (err)
		return err;
	return s->opts.on_event ? s->opts.on_event(m, ev, s->opts.userdata) : 0;
}

/* In a child of fork(): the iterator program goes (its monitor has its own hook). */
static void forget_in_child(struct pw_fork_hook *hook)
{
	struct pw_sampler *s =
		(struct pw_sampler *)((char *)hook - offsetof(struct pw_sampler, fork_hook));

	pw_fork_forget_link(s->iter_link);
	if (s->skel)
		pw_fork_forget_bpf_object(s->skel->obj);
}

PW_API int pw_sampler_new(const struct pw_sampler_opts *opts, struct pw_sampler **out)
{
	struct pw_sampler *s;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (opts && opts->sz < sizeof(size_t))
		return -EINVAL;
	if (!PW_OPTS_VALID(opts, pw_sampler_opts))
		return -EOPNOTSUPP;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	PW_OPTS_COPY(&s->opts, opts);
	s->fork_hook.in_child = forget_in_child;
	pw_fork_register(&s->fork_hook);
	*out = s;
	return 0;
}

PW_API struct pw_monitor *pw_sampler_monitor(struct pw_sampler *s)
{
	return s ? s->mon : NULL;
}

static void sample_clear(struct pw_sample *smp)
{
	for (size_t i = 0; i < smp->n_exits; i++)
		exit_entry_clear(&smp->exits[i]);
	free(smp->exits);
	smp->exits = NULL;
	smp->n_exits = 0;
}

PW_API void pw_sampler_free(struct pw_sampler *s)
{
	if (!s)
		return;
	pw_fork_lock();
	bpf_link__destroy(s->iter_link);
	sampler_bpf__destroy(s->skel);
	s->iter_link = NULL;
	s->skel = NULL;
	pw_fork_unlock();
	pw_fork_unregister(&s->fork_hook);
	pw_monitor_free(s->mon);
	for (size_t i = 0; i < s->n_pending; i++)
		exit_entry_clear(&s->pending[i]);
	free(s->pending);
	sample_clear(&s->sample);
	free(s->sample.procs);
	free(s->sample.strings);
	free(s->sample.argvs);
	free(s->prev);
	free(s->gone);
	free(s->raw);
	free(s);
}

PW_API int pw_sampler_fd(const struct pw_sampler *s)
{
	return s && s->started ? pw_monitor_fd(s->mon) : -EINVAL;
}

PW_API int pw_sampler_dispatch(struct pw_sampler *s, int timeout_ms)
{
	if (!s || !s->started)
		return -EINVAL;
	return pw_monitor_dispatch(s->mon, timeout_ms);
}

/* Walk every task once: the raw records land in s->raw. Returns the count or -errno. */
static int walk_tasks(struct pw_sampler *s, size_t *count)
{
	size_t have = 0;
	ssize_t n;
	int fd, err = 0;

	fd = bpf_iter_create(bpf_link__fd(s->iter_link));
	if (fd < 0)
		return -errno;
	for (;;) {
		if (grow((void **)&s->raw, &s->raw_cap, have + 256, sizeof(*s->raw))) {
			err = -ENOMEM;
			break;
		}
		n = read(fd, (char *)s->raw + have * sizeof(*s->raw),
			 (s->raw_cap - have) * sizeof(*s->raw));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) /* the kernel restarts a walk it could not finish */
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		/* seq_file hands out whole records: bpf_seq_write() is all or nothing */
		if (n % sizeof(*s->raw)) {
			err = -EBADMSG;
			break;
		}
		have += (size_t)n / sizeof(*s->raw);
	}
	close(fd);
	*count = have;
	return err;
}

/* /proc's letter for a task state (kernel's __task_state_index, "RSDTtXZPI"). */
static char state_letter(uint32_t state, int32_t exit_state)
{
	static const char letters[] = "RSDTtXZPI";
	unsigned int v = (state | (uint32_t)exit_state) & 0x7f, idx = 0;

	if ((state & 0x402) == 0x402) /* TASK_IDLE */
		v = 0x80;
	if (state & 0x1000) /* TASK_RTLOCK_WAIT */
		v = 0x2;
	while (v) {
		idx++;
		v >>= 1;
	}
	return idx < sizeof(letters) - 1 ? letters[idx] : '?';
}

static int cmp_raw_tgid(const void *a, const void *b)
{
	const struct pw_raw_task_sample *x = a, *y = b;

	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	/* the leader first within its group */
	return (y->sflags & PW_SAMPLE_LEADER) - (x->sflags & PW_SAMPLE_LEADER);
}

static struct pw_proc_prev *find_prev(struct pw_proc_prev *v, size_t n, struct pw_proc_key key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].key.pid == key.pid)
			return v[mid].key.start_ns == key.start_ns ? &v[mid] : NULL;
		if (v[mid].key.pid < key.pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool key_in(const struct pw_proc_key *v, size_t n, struct pw_proc_key key)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == key.pid && v[i].start_ns == key.start_ns)
			return true;
	return false;
}

/* Copy a process table entry's argv and image into the sample's string arena. */
static int sample_strings(struct pw_sample *smp, const struct pw_process *p, size_t *str_off,
			  size_t *argv_off, size_t *argc, ssize_t *image_off)
{
	size_t img = p && p->image ? strlen(p->image) + 1 : 0;
	size_t args = p ? p->args_len : 0, n = p ? p->argc : 0;

	*str_off = smp->strings_len;
	*argv_off = smp->argvs_len;
	*argc = n;
	*image_off = -1;
	if (grow((void **)&smp->strings, &smp->strings_cap, smp->strings_len + img + args + 1, 1) ||
	    grow((void **)&smp->argvs, &smp->argvs_cap, smp->argvs_len + n + 1, sizeof(char *)))
		return -ENOMEM;
	if (img) {
		*image_off = (ssize_t)smp->strings_len;
		memcpy(smp->strings + smp->strings_len, p->image, img);
		smp->strings_len += img;
	}
	*str_off = smp->strings_len;
	if (args) {
		memcpy(smp->strings + smp->strings_len, p->args, args);
		smp->strings_len += args;
	}
	smp->argvs_len += n + 1;
	return 0;
}

/* Offsets become pointers only once the arenas stop moving. */
struct str_refs {
	size_t str_off, argv_off, argc;
	ssize_t image_off;
	const struct pw_process *p;
};

static void resolve_strings(struct pw_sample *smp, struct pw_proc_usage *u, const struct str_refs *r)
{
	const char *args = smp->strings + r->str_off;
	const char **argv = smp->argvs + r->argv_off;

	u->image = r->image_off >= 0 ? smp->strings + r->image_off : NULL;
	for (size_t i = 0; i < r->argc; i++) {
		argv[i] = args;
		args += strlen(args) + 1;
	}
	argv[r->argc] = NULL;
	u->argc = r->argc;
	u->argv = r->argc ? argv : NULL;
}

/*
 * Build the sample from the walk and the pending exits, and the next
 * "previous" array. first: the baseline at start (no deltas, no alerts).
 */
static int build_sample(struct pw_sampler *s, size_t nraw, bool first)
{
	struct pw_sample *smp = &s->sample;
	uint64_t now = clock_ns(CLOCK_MONOTONIC), boot_now = clock_ns(CLOCK_BOOTTIME);
	struct pw_proc_prev *next = NULL;
	struct str_refs *refs = NULL;
	size_t n_next = 0, i, j, live;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	int err = 0;

	sample_clear(smp);
	smp->count = smp->strings_len = smp->argvs_len = 0;
	smp->interval_ns = s->last_time_ns ? now - s->last_time_ns : 0;
	smp->time_ns = now;
	smp->tasks = nraw;
	qsort(s->raw, nraw, sizeof(*s->raw), cmp_raw_tgid);

	if (grow((void **)&smp->procs, &smp->cap, nraw + s->n_pending + 1, sizeof(*smp->procs)))
		return -ENOMEM;
	next = calloc(nraw + 1, sizeof(*next));
	refs = calloc(nraw + 1, sizeof(*refs));
	if (!next || !refs) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nraw; i = j) {
		const struct pw_raw_task_sample *l = &s->raw[i];
		uint64_t rt = l->sig_runtime_ns, ut = l->sig_utime_ns, st = l->sig_stime_ns;
		struct pw_proc_usage *u;
		struct pw_proc_prev *pv, *nx;
		struct pw_process *tp;

		for (j = i; j < nraw && s->raw[j].tgid == l->tgid; j++) {
			rt += s->raw[j].runtime_ns;
			ut += s->raw[j].utime_ns;
			st += s->raw[j].stime_ns;
		}
		/* A group whose leader is gone from the list (rare races): skip it. */
		if (!(l->sflags & PW_SAMPLE_LEADER))
			continue;
		u = &smp->procs[smp->count];
		memset(u, 0, sizeof(*u));
		u->sz = sizeof(*u);
		u->key.pid = (pid_t)l->tgid;
		u->key.start_ns = l->start_ns;
		/* A zombie whose exit was reported: it is in the exited list, not here. */
		if (l->exit_state && key_in(s->gone, s->n_gone, u->key))
			continue;
		u->ppid = (pid_t)l->ppid;
		u->uid = l->token.uid;
		memcpy(u->name, l->comm, sizeof(u->name));
		u->name[sizeof(u->name) - 1] = 0;
		u->state = state_letter(l->state, l->exit_state);
		u->kernel_thread = l->sflags & PW_SAMPLE_KTHREAD;
		u->threads = l->nr_threads;
		u->cpu_ns = rt;
		pw_cputime_split(rt, ut, st, &u->user_ns, &u->system_ns);
		if (l->sflags & PW_SAMPLE_HAS_MM)
			u->rss_bytes = l->rss_pages * page;
		pv = find_prev(s->prev, s->n_prev, u->key);
		if (pv) {
			u->cpu_delta_ns = rt > pv->cpu_ns ? rt - pv->cpu_ns : 0;
		} else if (!first && l->start_ns >= s->last_boot_ns) {
			u->started = true;
			u->cpu_delta_ns = rt;
		}
		nx = &next[n_next++];
		if (pv)
			*nx = *pv;
		nx->key = u->key;
		nx->cpu_ns = rt;
		tp = s->mon ? pw_proctable_find(s->mon->table, u->key.pid) : NULL;
		refs[smp->count].p = tp;
		err = sample_strings(smp, tp, &refs[smp->count].str_off, &refs[smp->count].argv_off,
				     &refs[smp->count].argc, &refs[smp->count].image_off);
		if (err)
			goto out;
		if (!first && s->n_alerts) {
			err = pw_alerts_check(s, u, &l->token, nx);
			if (err)
				goto out;
		}
		smp->count++;
	}
	live = smp->count;
	for (i = 0; i < live; i++)
		resolve_strings(smp, &smp->procs[i], &refs[i]);

	/* Exits since the previous sample: their CPU in this interval is what they added. */
	free(s->gone);
	s->gone = calloc(s->n_pending + 1, sizeof(*s->gone));
	s->n_gone = 0;
	if (!s->gone) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s->n_pending; i++) {
		struct pw_exit_entry *e = &s->pending[i];
		struct pw_proc_prev *pv = find_prev(s->prev, s->n_prev, e->u.key);

		e->u.cpu_delta_ns = pv ? (e->u.cpu_ns > pv->cpu_ns ? e->u.cpu_ns - pv->cpu_ns : 0)
				       : e->u.cpu_ns;
		e->u.started = !pv && e->u.key.start_ns >= s->last_boot_ns;
		s->gone[s->n_gone++] = e->u.key;
		/* The walk may have seen it as a zombie just before the exit event came. */
		for (j = 0; j < live; j++) {
			if (smp->procs[j].key.pid == e->u.key.pid &&
			    smp->procs[j].key.start_ns == e->u.key.start_ns) {
				memmove(&smp->procs[j], &smp->procs[j + 1],
					(live - j - 1) * sizeof(*smp->procs));
				live--;
				break;
			}
		}
	}
	smp->count = live;
	if (!first) {
		for (i = 0; i < s->n_pending; i++)
			smp->procs[smp->count++] = s->pending[i].u;
		/* the sample owns the exit entries' strings now */
		smp->exits = s->pending;
		smp->n_exits = s->n_pending;
		s->pending = NULL;
		s->cap_pending = 0;
	} else {
		for (i = 0; i < s->n_pending; i++)
			exit_entry_clear(&s->pending[i]);
	}
	s->n_pending = 0;

	free(s->prev);
	s->prev = next;
	s->n_prev = n_next;
	next = NULL;
	s->last_time_ns = now;
	s->last_boot_ns = boot_now;
out:
	free(next);
	free(refs);
	return err;
}

static int sample_now(struct pw_sampler *s, bool first)
{
	uint64_t t0;
	size_t nraw = 0;
	int err;

	/* Exits first: a process the walk no longer sees must already be pending. */
	do {
		err = pw_monitor_dispatch(s->mon, 0);
	} while (err > 0);
	if (err < 0 && err != -EINTR)
		return err;
	s->skel->bss->want_token = s->n_alerts > 0;
	t0 = clock_ns(CLOCK_MONOTONIC);
	err = walk_tasks(s, &nraw);
	if (err)
		return err;
	s->sample.cost_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	/* Exits that raced the walk: the walk may still list them as zombies. */
	do {
		err = pw_monitor_dispatch(s->mon, 0);
	} while (err > 0);
	if (err < 0 && err != -EINTR)
		return err;
	return build_sample(s, nraw, first);
}

PW_API int pw_sampler_start(struct pw_sampler *s)
{
	PW_OPTS(pw_monitor_opts, mopts, .events = PW_EVMASK(PW_EVENT_PROCESS_EXIT),
		.on_event = on_monitor_event, .log = NULL, .batch_delay_us = -1);
	int err;

	if (!s)
		return -EINVAL;
	if (s->started)
		return -EALREADY;
	mopts.userdata = s;
	mopts.log = s->opts.log;
	mopts.log_userdata = s->opts.log_userdata;
	mopts.max_processes = s->opts.max_processes;
	mopts.ringbuf_bytes = SAMPLER_RINGBUF_BYTES;
	err = pw_monitor_new(&mopts, &s->mon);
	if (err)
		return err;
	pw_fork_lock(); /* a fork() elsewhere sees the iterator's descriptors or none */
	s->skel = sampler_bpf__open_and_load();
	if (!s->skel) {
		err = -errno;
		/*
		 * Only now the probe: it is a program load of its own (a parse of
		 * the kernel's BTF, ~35 ms here, a tenth of `procward top`'s
		 * start-up), and it tells a kernel without iter/task from others.
		 */
		err = pw_features_probe(PW_FEAT_TASK_ITER) ? pw_bpf_load_error(err) : -PW_ERR_KERNEL_FEATURE;
		goto fail;
	}
	s->iter_link = bpf_program__attach_iter(s->skel->progs.pw_sample_tasks, NULL);
	if (!s->iter_link) {
		err = pw_bpf_load_error(-errno);
		goto fail;
	}
	pw_fork_unlock();
	err = pw_monitor_start(s->mon);
	if (err)
		goto fail_unlocked;
	s->started = true;
	err = sample_now(s, true);
	if (err)
		goto fail_unlocked;
	return 0;
fail_unlocked:
	pw_fork_lock();
fail:
	bpf_link__destroy(s->iter_link);
	s->iter_link = NULL;
	sampler_bpf__destroy(s->skel);
	s->skel = NULL;
	pw_fork_unlock();
	pw_monitor_free(s->mon);
	s->mon = NULL;
	s->started = false;
	return err;
}

PW_API int pw_sampler_sample(struct pw_sampler *s, const struct pw_sample **out)
{
	int err;

	if (!s || !out)
		return -EINVAL;
	*out = NULL;
	if (!s->started)
		return -EINVAL;
	err = sample_now(s, false);
	if (err)
		return err;
	*out = &s->sample;
	return 0;
}

PW_API uint64_t pw_sample_time_ns(const struct pw_sample *smp)
{
	return smp ? smp->time_ns : 0;
}

PW_API uint64_t pw_sample_interval_ns(const struct pw_sample *smp)
{
	return smp ? smp->interval_ns : 0;
}

PW_API size_t pw_sample_count(const struct pw_sample *smp)
{
	return smp ? smp->count : 0;
}

PW_API const struct pw_proc_usage *pw_sample_process(const struct pw_sample *smp, size_t i)
{
	return smp && i < smp->count ? &smp->procs[i] : NULL;
}

PW_API size_t pw_sample_tasks(const struct pw_sample *smp)
{
	return smp ? smp->tasks : 0;
}

PW_API uint64_t pw_sample_cost_ns(const struct pw_sample *smp)
{
	return smp ? smp->cost_ns : 0;
}
