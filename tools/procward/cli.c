// SPDX-License-Identifier: MIT
/* cli.c - what every procward command shares: messages, option values, buffered output, the run loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "service.h"

/* ------------------------------------------------------------ messages */

const char *cli_prefix = "procward: ";

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Escaped with the library's text escape: a message quoting a process name cannot drive the terminal. */
static void emit(const char *prefix, const char *msg)
{
	char line[8192];
	size_t plen = strlen(prefix);
	int n;

	memcpy(line, prefix, plen);
	n = pw_text_escape(msg, line + plen, sizeof(line) - plen - 1);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - plen - 2)
		n = (int)(sizeof(line) - plen - 2); /* cut short, still one line */
	line[plen + (size_t)n] = '\n';
	write_all(STDERR_FILENO, line, plen + (size_t)n + 1);
}

static __attribute__((format(printf, 1, 0))) void vemit(const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	emit(cli_prefix, msg);
}

void cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vemit(fmt, ap);
	va_end(ap);
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	char msg[2048], where[600];
	size_t off = 0;
	va_list ap;

	if (cli_config_where(where, sizeof(where))) /* an option from --config FILE: FILE:LINE first */
		off = (size_t)snprintf(msg, sizeof(msg), "%s", where);
	if (off >= sizeof(msg))
		off = 0;
	va_start(ap, fmt);
	vsnprintf(msg + off, sizeof(msg) - off, fmt, ap);
	va_end(ap);
	emit(cli_prefix, msg);
	fprintf(stderr, "Try 'procward %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

void cli_log(enum pw_log_level level, const char *msg, void *userdata)
{
	int verbose = userdata ? *(const int *)userdata : 0;

	if (level <= PW_LOG_WARN || (verbose && level <= PW_LOG_INFO) || verbose > 1)
		emit(cli_prefix, msg);
}

int cli_start_error(const char *what, int err)
{
	cli_err("cannot start %s: %s", what, pw_strerror(err));
	switch (-err) {
	case EPERM:
	case EACCES:
	case PW_ERR_NO_BPF:
		if (geteuid() != 0)
			cli_err("run it as root (or with CAP_BPF and CAP_PERFMON; the gate needs CAP_SYS_ADMIN)");
		return EXIT_UNAVAILABLE;
	case PW_ERR_NO_BTF:
	case PW_ERR_KERNEL_FEATURE:
		cli_err("this kernel lacks what it needs: see 'procward features'");
		return EXIT_UNAVAILABLE;
	case PW_ERR_ENFORCE_UNAVAILABLE:
		cli_err("this kernel cannot run BPF LSM programs (procward features: bpf_lsm no); "
			"access operations can still be watched: procward watch --events access");
		return EXIT_UNAVAILABLE;
	default:
		return EXIT_RUNTIME;
	}
}

/* ------------------------------------------------------------ options */

bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

bool cli_parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0) || v > 1e9)
		return false;
	*out = v;
	return true;
}

int cli_output_option(struct cli_output_opts *o, int opt, const char *arg)
{
	char *end;
	unsigned long mode;

	switch (opt) {
	case 'o':
		o->path = arg;
		return 1;
	case 0x100:
		errno = 0;
		mode = strtoul(arg, &end, 8);
		if (errno || *end || end == arg || mode > 0777 || !mode) {
			cli_usage(NULL, "bad --output-mode '%s' (octal permission bits, e.g. 0640)", arg);
			return -1;
		}
		o->mode = (unsigned int)mode;
		return 1;
	case 0x101:
		o->truncate = true;
		return 1;
	default:
		return 0;
	}
}

int cli_other_option(struct cli_output_opts *o, struct cli_service_opts *svc, const char *cmd, int opt,
		     const char *arg)
{
	int r = cli_output_option(o, opt, arg);

	if (!r && svc)
		r = cli_service_option(svc, opt, arg);
	if (r > 0)
		return 0;
	return r < 0 ? EXIT_USAGE : cli_usage(cmd, "bad option");
}

/* ------------------------------------------------------------ output */

#define OUT_CAP (256 * 1024)
#define OUT_FLUSH_AT (OUT_CAP - 32 * 1024) /* a batch that large goes out early */
#define OUT_MAX_RECS 1024                    /* records held for the sink before they go out */

static void sink_log(enum pw_log_level level, const char *msg, void *userdata)
{
	(void)level;
	(void)userdata;
	emit(cli_prefix, msg);
}

/* The writer thread and its targets; 0, or the exit status after a message. */
static int open_sink(struct cli_out *o, const struct cli_output_opts *opts)
{
	const struct cli_service_opts *svc = opts->service;
	PW_OPTS(pw_sink_opts, so, .queue_lines = svc->queue_lines, .log = sink_log);
	int err;

	err = pw_sink_new(&so, &o->sink);
	if (err)
		goto fail;
	/* held records go to the queue together: never more than half of it at once */
	o->max_recs = svc->queue_lines ? svc->queue_lines / 2 : OUT_MAX_RECS;
	if (o->max_recs > OUT_MAX_RECS)
		o->max_recs = OUT_MAX_RECS;
	if (!o->max_recs)
		o->max_recs = 1;
	if (!opts->path || !strcmp(opts->path, "-")) {
		if (opts->path || (!svc->syslog && !svc->journal))
			err = pw_sink_add_fd(o->sink, STDOUT_FILENO);
	} else {
		PW_OPTS(pw_sink_file_opts, fo, .path = opts->path, .mode = opts->mode,
			.flags = opts->truncate ? PW_OUTPUT_TRUNCATE : 0, .rotate_size = svc->rotate_size,
			.rotate_keep = svc->rotate_keep, .rotate_compress = svc->rotate_compress);

		err = pw_sink_add_file(o->sink, &fo);
		if (err == -EINVAL || err == -EISDIR || err == -ELOOP) {
			cli_err("refusing to write to %s: %s", opts->path,
				err == -ELOOP ? "it is a symbolic link (not followed)"
					      : "not a regular file (use shell redirection for pipes and devices)");
			return EXIT_USAGE;
		}
		if (err) {
			cli_err("cannot open %s: %s", opts->path, pw_strerror(err));
			return EXIT_RUNTIME;
		}
	}
	if (!err && svc->syslog) {
		PW_OPTS(pw_sink_syslog_opts, sy, .socket_path = svc->syslog_socket,
			.facility = svc->syslog_facility);

		err = pw_sink_add_syslog(o->sink, &sy);
		if (err) {
			cli_err("syslog socket %s: %s", svc->syslog_socket ? svc->syslog_socket : "/dev/log",
				pw_strerror(err));
			return EXIT_RUNTIME;
		}
	}
	if (!err && svc->journal) {
		PW_OPTS(pw_sink_journal_opts, jo, .socket_path = svc->journal_socket);

		err = pw_sink_add_journal(o->sink, &jo);
		if (err) {
			cli_err("journal socket %s: %s",
				svc->journal_socket ? svc->journal_socket : "/run/systemd/journal/socket",
				pw_strerror(err));
			return EXIT_RUNTIME;
		}
	}
	if (!err)
		err = pw_sink_start(o->sink);
	if (!err)
		return 0;
fail:
	cli_err("cannot start the output: %s", pw_strerror(err));
	return EXIT_RUNTIME;
}

int cli_out_open(struct cli_out *o, const struct cli_output_opts *opts)
{
	memset(o, 0, sizeof(*o));
	o->fd = STDOUT_FILENO;
	if (opts && opts->service && (opts->path || opts->service->syslog || opts->service->journal)) {
		int ret = open_sink(o, opts);

		if (ret) { /* nothing was queued: no summary to give at close */
			pw_sink_free(o->sink);
			o->sink = NULL;
		}
		o->is_tty = (!opts->path || !strcmp(opts->path, "-")) && isatty(STDOUT_FILENO);
		o->fd = -1;
		o->cap = OUT_CAP;
		o->buf = malloc(o->cap);
		o->recs = calloc(OUT_MAX_RECS, sizeof(*o->recs));
		if (!ret && (!o->buf || !o->recs)) {
			cli_err("out of memory");
			ret = EXIT_RUNTIME;
		}
		return ret;
	}
	if (opts && opts->path) {
		PW_OPTS(pw_output_opts, oo, .mode = opts->mode,
			.flags = opts->truncate ? PW_OUTPUT_TRUNCATE : 0);
		int fd = pw_output_open(opts->path, &oo);

		if (fd < 0) {
			if (fd == -EINVAL || fd == -EISDIR || fd == -ELOOP)
				cli_err("refusing to write to %s: %s", opts->path,
					fd == -ELOOP ? "it is a symbolic link (not followed)"
						     : "not a regular file (use shell redirection for pipes and devices)");
			else
				cli_err("cannot open %s: %s", opts->path, strerror(-fd));
			o->fd = -1;
			return fd == -EINVAL || fd == -EISDIR || fd == -ELOOP ? EXIT_USAGE : EXIT_RUNTIME;
		}
		o->fd = fd;
	}
	o->is_tty = isatty(o->fd);
	o->cap = OUT_CAP;
	o->buf = malloc(o->cap);
	if (!o->buf) {
		cli_err("out of memory");
		return EXIT_RUNTIME;
	}
	return 0;
}

int cli_out_flush(struct cli_out *o)
{
	size_t off = 0;

	if (o->sink) {
		/* full queue: -ENOBUFS, counted in the sink's dropped; the producer never waits */
		for (size_t i = 0; i < o->n_recs; i++)
			pw_sink_push(o->sink, o->recs[i].type, o->buf + o->recs[i].off, o->recs[i].len);
		o->n_recs = 0;
		o->len = 0;
		return 0;
	}
	while (off < o->len && !o->err) {
		ssize_t w = write(o->fd, o->buf + off, o->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			o->err = -errno;
		else if (w == 0)
			o->err = -EIO;
		else
			off += (size_t)w;
	}
	o->len = 0;
	return o->err;
}

/* Whatever is queued goes out (bounded by the sink's drain time); what was lost is said. */
static int close_sink(struct cli_out *o)
{
	struct pw_sink_stats st = { .sz = sizeof(st) };
	int ret = 0;

	cli_out_flush(o); /* the records held go to the queue first */
	pw_sink_flush(o->sink, 2000);
	pw_sink_stats(o->sink, &st);
	cli_err("output: %" PRIu64 " records, %" PRIu64 " written, %" PRIu64 " dropped, %" PRIu64
		" write errors, %" PRIu64 " still queued, %" PRIu64 " rotations, %" PRIu64 " reopens",
		st.pushed, st.written, st.dropped, st.write_errors, st.queued, st.rotations, st.reopens);
	if (st.write_errors)
		ret = EXIT_RUNTIME;
	pw_sink_free(o->sink); /* what is still queued gets the drain time, then counts as dropped */
	o->sink = NULL;
	free(o->buf);
	o->buf = NULL;
	free(o->recs);
	o->recs = NULL;
	return ret;
}

int cli_out_close(struct cli_out *o)
{
	int ret = 0;

	if (o->sink)
		return close_sink(o);
	if (!o->buf && o->fd < 0)
		return 0;
	cli_out_flush(o);
	if (o->fd > STDERR_FILENO && close(o->fd) < 0 && !o->err)
		o->err = -errno;
	if (o->err) {
		cli_err("writing the output failed: %s", strerror(-o->err));
		ret = EXIT_RUNTIME;
	}
	free(o->buf);
	o->buf = NULL;
	free(o->recs);
	o->recs = NULL;
	o->fd = -1;
	return ret;
}

static bool reserve(struct cli_out *o, size_t need)
{
	char *nb;

	if (o->cap - o->len > need)
		return true;
	cli_out_flush(o);
	if (o->cap > need)
		return true;
	nb = realloc(o->buf, need + 1);
	if (!nb)
		return false;
	o->buf = nb;
	o->cap = need + 1;
	return true;
}

void cli_out_str(struct cli_out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->sink) {
		cli_out_flush(o); /* in order after the records held */
		pw_sink_push(o->sink, NULL, s, n);
		return;
	}
	if (!reserve(o, n))
		return;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

void cli_out_record(struct cli_out *o, cli_format_fn fmt, const void *obj, void *arg)
{
	int n = fmt(obj, o->buf + o->len, o->cap - o->len, arg);

	if (n < 0) {
		cli_err("cannot format a record: %s", pw_strerror(n));
		return;
	}
	if ((size_t)n >= o->cap - o->len) { /* did not fit: make room, format again */
		if (!reserve(o, (size_t)n))
			return;
		n = fmt(obj, o->buf + o->len, o->cap - o->len, arg);
		if (n < 0 || (size_t)n >= o->cap - o->len)
			return;
	}
	if (o->sink)
		o->recs[o->n_recs++] = (struct cli_out_rec){ o->len, (size_t)n, o->type };
	o->len += (size_t)n;
	if (o->len >= OUT_FLUSH_AT || (o->sink && o->n_recs >= o->max_recs))
		cli_out_flush(o);
}

static int fmt_event_json(const void *ev, char *buf, size_t len, void *arg)
{
	(void)arg;
	return pw_event_format_json(ev, buf, len, 0);
}

static int fmt_event_text(const void *ev, char *buf, size_t len, void *arg)
{
	return pw_event_format_text(ev, buf, len, 0, *(const uint64_t *)arg);
}

void cli_out_event(struct cli_out *o, const struct pw_event *ev, bool json, uint64_t *t0_ns)
{
	if (json)
		cli_out_record(o, fmt_event_json, ev, NULL);
	else
		cli_out_record(o, fmt_event_text, ev, t0_ns);
}

/* ------------------------------------------------------------ running */

static volatile sig_atomic_t stop_flag, hup_flag;
static struct pw_monitor *volatile running_monitor;
static struct pw_sink *volatile hup_sink;
static void (*hup_fn)(void *userdata);
static void *hup_userdata;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
	if (running_monitor)
		pw_monitor_stop(running_monitor); /* async-signal-safe */
}

static void on_hup_signal(int sig)
{
	(void)sig;
	hup_flag = 1;
	if (hup_sink)
		pw_sink_reopen(hup_sink); /* async-signal-safe */
}

void cli_on_hup(struct pw_sink *sink, void (*fn)(void *userdata), void *userdata)
{
	hup_sink = sink;
	hup_fn = fn;
	hup_userdata = userdata;
}

static void handle_hup(void)
{
	if (!hup_flag)
		return;
	hup_flag = 0;
	if (hup_fn)
		hup_fn(hup_userdata);
}

void cli_stop(void)
{
	stop_flag = 1;
	if (running_monitor)
		pw_monitor_stop(running_monitor);
}

void cli_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The gate: its threads decide; this thread waits for the end (signals are
 * blocked), and writes out what the decision thread left in the buffer.
 */
static int wait_blocked(double duration, struct cli_out *out)
{
	uint64_t deadline = duration > 0 ? cli_now_ns() + (uint64_t)(duration * 1e9) : 0;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (hup_sink || hup_fn)
		sigaddset(&set, SIGHUP);
	while (!stop_flag) {
		uint64_t wait_ns = CLI_FLUSH_MS * 1000000ull;
		struct timespec ts;
		int sig;

		if (deadline) {
			uint64_t now = cli_now_ns();

			if (now >= deadline)
				break;
			if (deadline - now < wait_ns)
				wait_ns = deadline - now;
		}
		ts.tv_sec = (time_t)(wait_ns / 1000000000ull);
		ts.tv_nsec = (long)(wait_ns % 1000000000ull);
		sig = sigtimedwait(&set, NULL, &ts);
		if (out && out->lock) {
			pthread_mutex_lock(out->lock);
			cli_out_flush(out);
			pthread_mutex_unlock(out->lock);
		}
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGHUP) {
			on_hup_signal(sig); /* here on this thread: the signal was waited for, not caught */
			handle_hup();
		}
	}
	return 0;
}

int cli_start_events(struct pw_monitor *m, struct cli_out *out, const struct cli_output_opts *output,
		     int json, bool *json_out, uint64_t *t0_ns, const char *what, const char *banner)
{
	int err, ret = cli_out_open(out, output);

	if (ret)
		return ret;
	*json_out = json >= 0 ? json : !out->is_tty;
	err = pw_monitor_start(m);
	if (err)
		return cli_start_error(what, err);
	cli_catch_stop(m); /* before the message: a stop right after it ends the run in order */
	*t0_ns = cli_now_ns();
	if (banner)
		cli_err("%s", banner);
	if (!*json_out && (!output->path || !strcmp(output->path, "-")))
		cli_out_str(out, pw_event_text_header());
	cli_out_flush(out);
	return 0;
}

void cli_catch_stop(struct pw_monitor *m)
{
	struct sigaction sa = { .sa_handler = on_stop_signal }; /* no SA_RESTART: the wait must end */

	running_monitor = m;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	if (hup_sink || hup_fn) {
		struct sigaction hup = { .sa_handler = on_hup_signal };

		sigemptyset(&hup.sa_mask);
		sigaction(SIGHUP, &hup, NULL);
	}
}

int cli_run(struct pw_monitor *m, double duration, struct cli_out *out)
{
	int err = 0;

	if (!m)
		return wait_blocked(duration, out);
	cli_catch_stop(m); /* again: the SIGHUP handler, once cli_on_hup has a sink */
	if (duration > 0) {
		struct itimerval it = { .it_value = {
			.tv_sec = (time_t)duration,
			.tv_usec = (suseconds_t)((duration - (double)(time_t)duration) * 1e6) } };

		if (!it.it_value.tv_sec && !it.it_value.tv_usec)
			it.it_value.tv_usec = 1;
		setitimer(ITIMER_REAL, &it, NULL);
	}
	while (!stop_flag) {
		err = pw_monitor_dispatch(m, -1);
		if (out)
			cli_out_flush(out);
		handle_hup();
		if (err == -EINTR) { /* our stop, or another signal: look at the flag */
			err = 0;
			continue;
		}
		if (err < 0)
			break;
		err = 0;
	}
	if (!err) {
		/* A stop drops nothing: what the kernel already produced is delivered. */
		err = pw_monitor_dispatch(m, 0);
		if (err == -EINTR)
			err = pw_monitor_dispatch(m, 0);
		if (err > 0)
			err = 0;
		if (out)
			cli_out_flush(out);
	}
	running_monitor = NULL;
	return err;
}
