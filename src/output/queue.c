// SPDX-License-Identifier: MIT
/*
 * output/queue.c - struct pw_sink: a bounded queue of formatted records and
 * the one thread that writes them to every target, so that no producer (a
 * monitor callback, a gate's decision thread) ever waits on a target.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/fd.h"
#include "core/opts.h"
#include "output/target.h"

#define MAX_SINKS 8
#define DEFAULT_QUEUE_LINES 8192
#define DEFAULT_QUEUE_BYTES (16u << 20)
#define DEFAULT_DRAIN_MS 2000

struct line {
	struct line *next;
	size_t len;
	char *type;  /* points into data, after the line */
	char data[]; /* line, NUL, type, NUL */
};

struct pw_sink {
	struct pw_sink_opts opts;
	struct pw_logger log;
	struct out_target sinks[MAX_SINKS];
	size_t n_sinks;
	pthread_t thread;
	bool started;
	int wakefd;                  /* eventfd: new lines, reopen, stop */
	/* the queue, under lock; the writer holds it only to take a line */
	pthread_mutex_t lock;
	pthread_cond_t idle_cv;      /* flush(): the queue drained */
	struct line *head, *tail;
	size_t queued_lines, queued_bytes;
	bool writer_waiting;         /* the writer sleeps in poll(): pushes must wake it */
	bool busy;                   /* the writer holds a batch it took (still counted as queued) */
	bool stop;
	atomic_bool abandon;         /* the drain time is over: sinks stop waiting */
	atomic_bool reopen;
	/* counters */
	atomic_uint_fast64_t pushed, written, dropped, write_errors, rotations, reopens;
};

PW_API int pw_sink_new(const struct pw_sink_opts *opts, struct pw_sink **out)
{
	struct pw_sink *o;

	if (!out || !PW_OPTS_VALID(opts, pw_sink_opts))
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	PW_OPTS_COPY(&o->opts, opts);
	PW_OPTS_DEFAULT(o->opts.queue_lines, DEFAULT_QUEUE_LINES);
	PW_OPTS_DEFAULT(o->opts.queue_bytes, DEFAULT_QUEUE_BYTES);
	PW_OPTS_DEFAULT(o->opts.drain_ms, DEFAULT_DRAIN_MS);
	o->log.fn = o->opts.log;
	o->log.userdata = o->opts.log_userdata;
	o->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (o->wakefd < 0) {
		int err = -errno;

		free(o);
		return err;
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->idle_cv, NULL);
	*out = o;
	return 0;
}

static struct out_target *new_sink(struct pw_sink *o, enum target_kind kind, int *err)
{
	struct out_target *s;

	*err = 0;
	if (!o)
		*err = -EINVAL;
	else if (o->started)
		*err = -EBUSY;
	else if (o->n_sinks == MAX_SINKS)
		*err = -ENOSPC;
	if (*err)
		return NULL;
	s = &o->sinks[o->n_sinks];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->fd = -1;
	return s;
}

static void sink_close(struct out_target *s)
{
	if (s->fd >= 0 && (s->kind != TARGET_FD || s->own_fd))
		close(s->fd);
	s->fd = -1;
	free(s->path);
	free(s->app_name);
	free(s->identifier);
	s->path = s->app_name = s->identifier = NULL;
}

int pw_target_set_fd(struct out_target *s, int fd, int err)
{
	if (err) {
		close(fd);
		return err;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	return 0;
}

/* The end of every pw_sink_add_*: s joins o, or on err gives back what it holds. */
static int sink_add(struct pw_sink *o, struct out_target *s, int err)
{
	if (err) {
		sink_close(s);
		return err;
	}
	o->n_sinks++;
	return 0;
}

PW_API int pw_sink_add_file(struct pw_sink *o, const struct pw_sink_file_opts *opts)
{
	int err;
	struct out_target *s = new_sink(o, TARGET_FILE, &err);

	if (!s)
		return err;
	if (!opts || !PW_OPTS_VALID(opts, pw_sink_file_opts) || !PW_OPTS_GET(opts, path, NULL) ||
	    !opts->path[0])
		return -EINVAL;
	s->open_flags = PW_OPTS_GET(opts, flags, 0u);
	s->mode = PW_OPTS_GET(opts, mode, 0u);
	s->rotate_size = PW_OPTS_GET(opts, rotate_size, 0);
	s->rotate_keep = PW_OPTS_GET(opts, rotate_keep, 0u);
	s->compress = PW_OPTS_GET(opts, rotate_compress, false);
	if (s->rotate_keep > 1000)
		return -EINVAL;
	s->path = strdup(opts->path);
	if (!s->path)
		return -ENOMEM;
	return sink_add(o, s, pw_file_target_open(s));
}

/*
 * The writer must be able to give up on a target that stops reading (the
 * drain time at pw_sink_free): a pipe, FIFO or terminal is written through
 * a descriptor of its own opened O_NONBLOCK from /proc/self/fd (its own
 * file description: the application's fd keeps its flags); a socket with
 * MSG_DONTWAIT. Regular files do not block for long. Where the reopen is
 * refused (a FIFO that lost its reader), the fd is written as it is.
 */
PW_API int pw_sink_add_fd(struct pw_sink *o, int fd)
{
	int err;
	struct out_target *s = new_sink(o, TARGET_FD, &err);
	struct stat st;

	if (!s)
		return err;
	if (fd < 0 || fstat(fd, &st))
		return -EBADF;
	s->fd = fd;
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		char path[64];
		int own;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		own = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (own >= 0) {
			s->fd = own;
			s->own_fd = true;
		}
	} else if (S_ISSOCK(st.st_mode)) {
		s->is_socket = true;
	}
	s->is_regular = S_ISREG(st.st_mode);
	o->n_sinks++;
	return 0;
}

static int dgram_connect(struct out_target *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(s->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, s->path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	return pw_target_set_fd(s, fd, err);
}

PW_API int pw_sink_add_syslog(struct pw_sink *o, const struct pw_sink_syslog_opts *opts)
{
	int err;
	struct out_target *s = new_sink(o, TARGET_SYSLOG, &err);
	const char *app = PW_OPTS_GET(opts, app_name, NULL) ? opts->app_name : "procward";

	if (!s)
		return err;
	if (!PW_OPTS_VALID(opts, pw_sink_syslog_opts))
		return -EINVAL;
	/* APP-NAME is 1*48PRINTUSASCII (RFC 5424 6.2.5) */
	if (!app[0] || strlen(app) > 48 || strpbrk(app, " "))
		return -EINVAL;
	s->facility = PW_OPTS_GET(opts, facility, 0) ? opts->facility : LOG_DAEMON;
	if (s->facility < 0 || (s->facility & 7) || s->facility > LOG_LOCAL7)
		return -EINVAL;
	s->path = strdup(PW_OPTS_GET(opts, socket_path, NULL) ? opts->socket_path : "/dev/log");
	s->app_name = strdup(app);
	if (!s->path || !s->app_name)
		return sink_add(o, s, -ENOMEM);
	if (gethostname(s->hostname, sizeof(s->hostname) - 1) || !s->hostname[0])
		strcpy(s->hostname, "-");
	/* HOSTNAME is PRINTUSASCII without spaces */
	for (char *c = s->hostname; *c; c++)
		if (*c < 33 || *c > 126)
			*c = '_';
	return sink_add(o, s, dgram_connect(s));
}

PW_API int pw_sink_add_journal(struct pw_sink *o, const struct pw_sink_journal_opts *opts)
{
	int err;
	struct out_target *s = new_sink(o, TARGET_JOURNAL, &err);

	if (!s)
		return err;
	if (!PW_OPTS_VALID(opts, pw_sink_journal_opts))
		return -EINVAL;
	s->path = strdup(PW_OPTS_GET(opts, socket_path, NULL) ? opts->socket_path
							      : "/run/systemd/journal/socket");
	s->identifier = strdup(PW_OPTS_GET(opts, identifier, NULL) ? opts->identifier : "procward");
	if (!s->path || !s->identifier)
		return sink_add(o, s, -ENOMEM);
	return sink_add(o, s, dgram_connect(s));
}

int pw_dgram_send(struct out_target *s, const struct target_env *env, const struct iovec *iov, int iovcnt)
{
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	bool reconnected = false;

	for (;;) {
		struct pollfd pfd;

		if (s->fd >= 0 && sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		if (s->fd >= 0 && errno == EINTR)
			continue;
		if (s->fd >= 0 && errno == EAGAIN) {
			/* The reader is slow or stopped: wait for room, in slices, until abandoned. */
			if (atomic_load(env->abandon))
				return -EAGAIN;
			pfd.fd = s->fd;
			pfd.events = POLLOUT;
			poll(&pfd, 1, 100);
			continue;
		}
		if (s->fd >= 0 && errno != ECONNREFUSED && errno != ENOTCONN && errno != ENOENT)
			return -errno; /* EMSGSIZE and the like: this record cannot go */
		/* The receiver went away (restarted): reconnect once per record. */
		if (reconnected)
			return -ENOTCONN;
		reconnected = true;
		if (dgram_connect(s) < 0) {
			pw_zclose(&s->fd);
			return -ENOTCONN;
		}
	}
}

int pw_fd_write_all(int fd, bool sock, const struct target_env *env, struct iovec *iov, int iovcnt,
		    size_t *done)
{
	int i = 0;

	if (done)
		*done = 0;
	while (i < iovcnt) {
		struct msghdr mh = { .msg_iov = &iov[i], .msg_iovlen = (size_t)(iovcnt - i) };
		ssize_t n = sock ? sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) : writev(fd, &iov[i], iovcnt - i);

		if (n < 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if (atomic_load(env->abandon))
				return -EAGAIN;
			poll(&pfd, 1, 100);
			continue;
		}
		if (done)
			*done += (size_t)n;
		while (i < iovcnt && (size_t)n >= iov[i].iov_len)
			n -= (ssize_t)iov[i++].iov_len;
		if (i < iovcnt) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= (size_t)n;
		}
	}
	return 0;
}

int pw_fd_write_lines(int fd, const struct target_env *env, const struct iovec *lines, size_t n, bool atomic,
		      bool *failed)
{
	struct iovec iov[2 * PW_SINK_BATCH_LINES];
	size_t i = 0;

	while (i < n) {
		size_t k = i, bytes = 0, done;
		int cnt = 0, err;

		do {
			bytes += lines[i].iov_len + 1;
			iov[cnt++] = lines[i++];
			iov[cnt++] = (struct iovec){ "\n", 1 };
		} while (i < n && cnt < (int)(sizeof(iov) / sizeof(iov[0])) &&
			 (!atomic || bytes + lines[i].iov_len + 1 <= PIPE_BUF));
		err = pw_fd_write_all(fd, false, env, iov, cnt, &done);
		if (!err)
			continue;
		/* the lines this call wrote whole stay written; from the first cut one on, all failed */
		for (; k < i && done >= lines[k].iov_len + 1; k++)
			done -= lines[k].iov_len + 1;
		for (; k < n; k++)
			failed[k] = true;
		return err;
	}
	return 0;
}

static int sink_write(struct pw_sink *o, struct out_target *s, const struct line *l)
{
	struct target_env env = { .abandon = &o->abandon, .log = &o->log, .rotations = &o->rotations };
	struct iovec iov[2] = { { (void *)l->data, l->len }, { "\n", 1 } };

	switch (s->kind) {
	case TARGET_FD: return pw_fd_write_all(s->fd, s->is_socket, &env, iov, 2, NULL);
	case TARGET_SYSLOG: return pw_syslog_target_write(s, &env, l->type, l->data, l->len);
	case TARGET_JOURNAL: return pw_journal_target_write(s, &env, l->type, l->data, l->len);
	case TARGET_FILE: break; /* batched: sink_write_batch() */
	}
	return -EINVAL;
}

/*
 * A batch to one target; failed[i] is set for each line it did not take.
 * Files get the whole batch in one writev, pipes and FIFOs in writes of at
 * most PIPE_BUF: the syscall and the file system's per-write cost were most
 * of the writer's CPU when each line was its own write. Datagram targets
 * keep one record per message, which is what their readers parse.
 */
static void sink_write_batch(struct pw_sink *o, struct out_target *s, struct line *const *batch,
			     const struct iovec *lines, size_t n, bool *failed)
{
	struct target_env env = { .abandon = &o->abandon, .log = &o->log, .rotations = &o->rotations };
	size_t errors = 0;

	if (s->kind == TARGET_FILE) {
		pw_file_target_write_lines(s, &env, lines, n, failed);
	} else if (s->kind == TARGET_FD && !s->is_socket) {
		pw_fd_write_lines(s->fd, &env, lines, n, !s->is_regular, failed);
	} else {
		for (size_t i = 0; i < n; i++)
			failed[i] = sink_write(o, s, batch[i]) != 0;
	}
	for (size_t i = 0; i < n; i++)
		errors += failed[i];
	if (errors)
		atomic_fetch_add(&o->write_errors, errors);
}

static void do_reopen(struct pw_sink *o)
{
	atomic_fetch_add(&o->reopens, 1);
	for (size_t i = 0; i < o->n_sinks; i++) {
		struct out_target *s = &o->sinks[i];
		int err = 0;

		if (s->kind == TARGET_FILE)
			err = pw_file_target_reopen(s);
		else if (s->kind == TARGET_SYSLOG || s->kind == TARGET_JOURNAL)
			err = dgram_connect(s);
		if (err)
			pw_log(&o->log, PW_LOG_WARN, "output: cannot reopen %s: %s", s->path, pw_strerror(err));
	}
}

/*
 * Up to PW_SINK_BATCH_LINES lines (PW_SINK_BATCH_BYTES) off the head. They
 * stay counted in queued_lines/queued_bytes until written, so the queue's
 * bounds cover what the writer holds and stats.queued says what is not out.
 */
static size_t take_batch(struct pw_sink *o, struct line **batch, size_t *bytes)
{
	size_t n = 0;

	*bytes = 0;
	while (o->head && n < PW_SINK_BATCH_LINES && (n == 0 || *bytes + o->head->len <= PW_SINK_BATCH_BYTES)) {
		struct line *l = o->head;

		o->head = l->next;
		*bytes += l->len;
		batch[n++] = l;
	}
	if (!o->head)
		o->tail = NULL;
	return n;
}

/* The batch to every target; the lines written by all of them (the rest failed somewhere), or -1: abandoned. */
static ssize_t write_batch(struct pw_sink *o, struct line **batch, size_t n)
{
	struct iovec lines[PW_SINK_BATCH_LINES];
	bool any_failed[PW_SINK_BATCH_LINES] = { false };
	size_t ok = 0;

	if (atomic_load(&o->abandon))
		return -1;
	for (size_t i = 0; i < n; i++)
		lines[i] = (struct iovec){ batch[i]->data, batch[i]->len };
	for (size_t t = 0; t < o->n_sinks; t++) {
		bool failed[PW_SINK_BATCH_LINES] = { false };

		sink_write_batch(o, &o->sinks[t], batch, lines, n, failed);
		for (size_t i = 0; i < n; i++)
			any_failed[i] |= failed[i];
	}
	for (size_t i = 0; i < n; i++)
		ok += !any_failed[i];
	return (ssize_t)ok; /* a line is written once every target took it */
}

static void *writer_main(void *arg)
{
	struct pw_sink *o = arg;
	struct line *batch[PW_SINK_BATCH_LINES];

	for (;;) {
		size_t n, bytes;
		ssize_t ok;
		uint64_t v;

		if (atomic_exchange(&o->reopen, false))
			do_reopen(o);
		pthread_mutex_lock(&o->lock);
		if (!o->head) {
			pthread_cond_broadcast(&o->idle_cv);
			if (o->stop) {
				pthread_mutex_unlock(&o->lock);
				break;
			}
			o->writer_waiting = true;
			pthread_mutex_unlock(&o->lock);
			struct pollfd pfd = { .fd = o->wakefd, .events = POLLIN };
			poll(&pfd, 1, -1);
			if (read(o->wakefd, &v, sizeof(v)) < 0) {
				/* EAGAIN: woken already drained; nothing to do */
			}
			pthread_mutex_lock(&o->lock);
			o->writer_waiting = false;
			pthread_mutex_unlock(&o->lock);
			continue;
		}
		n = take_batch(o, batch, &bytes);
		o->busy = true;
		pthread_mutex_unlock(&o->lock);

		ok = write_batch(o, batch, n);
		for (size_t i = 0; i < n; i++)
			free(batch[i]);
		pthread_mutex_lock(&o->lock);
		/* with the queued count, under the lock: stats never see a line twice */
		if (ok < 0)
			atomic_fetch_add(&o->dropped, n);
		else
			atomic_fetch_add(&o->written, (size_t)ok);
		o->queued_lines -= n;
		o->queued_bytes -= bytes;
		o->busy = false;
		pthread_mutex_unlock(&o->lock);
	}
	return NULL;
}

PW_API int pw_sink_start(struct pw_sink *o)
{
	sigset_t all, old;
	int err;

	if (!o)
		return -EINVAL;
	if (o->started)
		return -EBUSY;
	/* Signals belong to the application's threads, not to the writer. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&o->thread, NULL, writer_main, o);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	o->started = true;
	return 0;
}

static void wake(struct pw_sink *o)
{
	uint64_t one = 1;

	if (write(o->wakefd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the writer is awake anyway */
	}
}

PW_API int pw_sink_push(struct pw_sink *o, const char *type, const char *line, size_t len)
{
	size_t tlen = type ? strlen(type) : 0;
	struct line *l;
	bool must_wake;

	if (!o || (!line && len))
		return -EINVAL;
	while (len && (line[len - 1] == '\n'))
		len--; /* sinks add their own record separator */
	atomic_fetch_add(&o->pushed, 1);
	pthread_mutex_lock(&o->lock);
	if (o->stop || o->queued_lines >= o->opts.queue_lines ||
	    o->queued_bytes + len > o->opts.queue_bytes) {
		pthread_mutex_unlock(&o->lock);
		atomic_fetch_add(&o->dropped, 1);
		return -ENOBUFS;
	}
	pthread_mutex_unlock(&o->lock);
	/* allocate outside the lock: the writer must never wait on a producer's malloc */
	l = malloc(sizeof(*l) + len + tlen + 2);
	if (!l) {
		atomic_fetch_add(&o->dropped, 1);
		return -ENOMEM;
	}
	l->next = NULL;
	l->len = len;
	memcpy(l->data, line, len);
	l->data[len] = 0;
	l->type = l->data + len + 1;
	memcpy(l->type, type ? type : "", tlen + 1);
	pthread_mutex_lock(&o->lock);
	if (o->stop || o->queued_lines >= o->opts.queue_lines ||
	    o->queued_bytes + len > o->opts.queue_bytes) {
		pthread_mutex_unlock(&o->lock);
		free(l);
		atomic_fetch_add(&o->dropped, 1);
		return -ENOBUFS;
	}
	if (o->tail)
		o->tail->next = l;
	else
		o->head = l;
	o->tail = l;
	o->queued_lines++;
	o->queued_bytes += len;
	must_wake = o->writer_waiting;
	o->writer_waiting = false; /* one wake-up per sleep */
	pthread_mutex_unlock(&o->lock);
	if (must_wake)
		wake(o);
	return 0;
}

PW_API void pw_sink_reopen(struct pw_sink *o)
{
	if (!o)
		return;
	atomic_store(&o->reopen, true);
	wake(o);
}

PW_API int pw_sink_flush(struct pw_sink *o, int timeout_ms)
{
	struct timespec dl;
	int err = 0;

	if (!o)
		return -EINVAL;
	if (!o->started)
		return o->head ? -EAGAIN : 0;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&o->lock);
	while ((o->head || o->busy) && !err) {
		if (timeout_ms < 0)
			err = -pthread_cond_wait(&o->idle_cv, &o->lock);
		else
			err = -pthread_cond_timedwait(&o->idle_cv, &o->lock, &dl);
	}
	pthread_mutex_unlock(&o->lock);
	return err == -ETIMEDOUT ? -ETIMEDOUT : err;
}

PW_API int pw_sink_stats(const struct pw_sink *o, struct pw_sink_stats *st)
{
	struct pw_sink_stats s = { .sz = sizeof(s) };
	struct pw_sink *mo = (struct pw_sink *)o;

	if (!o || !st || st->sz < sizeof(size_t))
		return -EINVAL;
	/*
	 * All under the lock, where the writer moves a batch from queued to
	 * written: a line is never counted twice, and written + dropped +
	 * queued never exceeds pushed (each push counts itself first).
	 */
	pthread_mutex_lock(&mo->lock);
	s.queued = mo->queued_lines;
	s.written = atomic_load(&mo->written);
	s.dropped = atomic_load(&mo->dropped);
	s.pushed = atomic_load(&mo->pushed);
	pthread_mutex_unlock(&mo->lock);
	s.write_errors = atomic_load(&mo->write_errors);
	s.rotations = atomic_load(&mo->rotations);
	s.reopens = atomic_load(&mo->reopens);
	memcpy(st, &s, st->sz < sizeof(s) ? st->sz : sizeof(s));
	return 0;
}

PW_API void pw_sink_free(struct pw_sink *o)
{
	if (!o)
		return;
	if (o->started) {
		struct timespec dl;

		pthread_mutex_lock(&o->lock);
		o->stop = true;
		pthread_mutex_unlock(&o->lock);
		wake(o);
		/* Drain what is queued for drain_ms, then stop waiting on sinks. */
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += o->opts.drain_ms / 1000;
		dl.tv_nsec += (long)(o->opts.drain_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(o->thread, NULL, &dl)) {
			atomic_store(&o->abandon, true);
			wake(o);
			pthread_join(o->thread, NULL);
		}
	}
	while (o->head) {
		struct line *l = o->head;

		o->head = l->next;
		free(l);
		atomic_fetch_add(&o->dropped, 1);
	}
	for (size_t i = 0; i < o->n_sinks; i++)
		sink_close(&o->sinks[i]);
	close(o->wakefd);
	pthread_mutex_destroy(&o->lock);
	pthread_cond_destroy(&o->idle_cv);
	free(o);
}
