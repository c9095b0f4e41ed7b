// SPDX-License-Identifier: MIT
/*
 * service.c - `procward watch|gate` as a service: the configuration file,
 * the output options wired to libprocward's pw_output (a writer thread with
 * a bounded queue), redaction, and readiness for systemd (sd_notify's
 * datagram protocol, no libsystemd).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "service.h"

struct service {
	const char *cmd;
	char *output;             /* --output PATH ("-": stdout through the writer) */
	unsigned long long rotate_size;
	unsigned int rotate_keep;
	int rotate_compress;
	int syslog;
	char *syslog_socket;
	int syslog_facility;
	int journal;
	char *journal_socket;
	unsigned int queue_lines;
	int redact_builtin;       /* default on */
	int no_redact;
	char **redact;            /* user regexes */
	size_t n_redact;
	struct pw_redactor *redactor;
	struct pw_output *out;
	FILE *stream;
	const char *default_type;
	char *partial;            /* a line not yet ended by '\n' */
	size_t partial_len;
};

static struct service svc = { .rotate_keep = 5, .redact_builtin = 1 };

/* The options of watch and gate that stay theirs (for FILE:LINE errors on unknown keys). */
static const char *const watch_keys[] = { "events", "include-name", "exclude-name", "include-pid",
					  "exclude-pid", "uid", "exclude-uid", "rule", "children",
					  "json", "text", "duration", "max-events", "ringbuf-size",
					  "args-max", "batch-delay", "verbose", NULL };
static const char *const watch_switches[] = { "children", "json", "text", "verbose", NULL };
static const char *const gate_keys[] = { "rule", "rules-file", "default", "timeout", "audit", "json",
					 "verbose", NULL };
static const char *const gate_switches[] = { "audit", "json", "verbose", NULL };

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

static int parse_size(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	return *end ? -1 : (*out = v, 0);
}

static int parse_facility(const char *s)
{
	static const struct { const char *name; int f; } names[] = {
		{ "daemon", LOG_DAEMON }, { "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV },
		{ "user", LOG_USER }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(s, names[i].name))
			return names[i].f;
	return -1;
}

/* The options handled here: 1 if they take a value, 0 if a switch, -1 if not ours. */
static int service_option(const char *name)
{
	static const char *const with_value[] = { "config", "output", "rotate-size", "rotate-keep",
						  "syslog-socket", "syslog-facility", "journal-socket",
						  "redact", "queue-lines", NULL };
	static const char *const switches[] = { "rotate-compress", "syslog", "journal", "no-redact",
						"no-redact-builtin", NULL };

	if (in_list(with_value, name))
		return 1;
	if (in_list(switches, name))
		return 0;
	return -1;
}

/* Apply one service option; a message in err and -1 if its value is bad. */
static int apply(const char *name, const char *value, char *err, size_t errlen)
{
	unsigned long long v;

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)
	if (!strcmp(name, "output")) {
		free(svc.output);
		svc.output = strdup(value);
	} else if (!strcmp(name, "rotate-size")) {
		if (parse_size(value, &v) || (v && v < 4096))
			BAD("bad rotate-size '%s' (bytes, K, M or G suffix; at least 4096, 0: never)", value);
		svc.rotate_size = v;
	} else if (!strcmp(name, "rotate-keep")) {
		if (parse_size(value, &v) || v > 1000)
			BAD("bad rotate-keep '%s' (0..1000 old files)", value);
		svc.rotate_keep = (unsigned int)v;
	} else if (!strcmp(name, "queue-lines")) {
		if (parse_size(value, &v) || !v || v > 10000000)
			BAD("bad queue-lines '%s' (1..10000000)", value);
		svc.queue_lines = (unsigned int)v;
	} else if (!strcmp(name, "syslog-socket")) {
		free(svc.syslog_socket);
		svc.syslog_socket = strdup(value);
		svc.syslog = 1;
	} else if (!strcmp(name, "syslog-facility")) {
		if ((svc.syslog_facility = parse_facility(value)) < 0)
			BAD("bad syslog-facility '%s' (daemon, auth, authpriv, user, local0..local7)", value);
	} else if (!strcmp(name, "journal-socket")) {
		free(svc.journal_socket);
		svc.journal_socket = strdup(value);
		svc.journal = 1;
	} else if (!strcmp(name, "redact")) {
		char **v2 = realloc(svc.redact, (svc.n_redact + 1) * sizeof(*v2));

		if (!v2 || !(v2[svc.n_redact] = strdup(value)))
			BAD("out of memory");
		svc.redact = v2;
		svc.n_redact++;
	} else if (!strcmp(name, "rotate-compress")) {
		svc.rotate_compress = 1;
	} else if (!strcmp(name, "syslog")) {
		svc.syslog = 1;
	} else if (!strcmp(name, "journal")) {
		svc.journal = 1;
	} else if (!strcmp(name, "no-redact")) {
		svc.no_redact = 1;
	} else if (!strcmp(name, "no-redact-builtin")) {
		svc.redact_builtin = 0;
	}
	return 0;
#undef BAD
}

static int push_arg(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));

	if (!nv || !s)
		return -1;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

/* --config FILE: its entries as options, before the command line's (which win). */
static int expand_config(const char *path, char ***nv, size_t *nn)
{
	const char *const *keys = !strcmp(svc.cmd, "gate") ? gate_keys : watch_keys;
	const char *const *sw = !strcmp(svc.cmd, "gate") ? gate_switches : watch_switches;
	struct config c;
	char err[600];

	if (config_parse(path, svc.cmd, &c, err, sizeof(err))) {
		fprintf(stderr, "procward: %s\n", err);
		return -1;
	}
	for (size_t i = 0; i < c.n; i++) {
		const struct config_entry *e = &c.v[i];
		int kind = service_option(e->key), b = config_bool(e->value);
		char msg[512], *arg = NULL;

		/* "redact-builtin = no" reads better in a file than no-redact-builtin = yes */
		if (!strcmp(e->key, "redact-builtin")) {
			if (b < 0)
				goto bad_bool;
			svc.redact_builtin = b;
			continue;
		}
		if (!strcmp(e->key, "config")) {
			fprintf(stderr, "procward: %s:%u: config cannot include another file\n", path, e->line);
			goto fail;
		}
		if (kind == 0 || (kind < 0 && in_list(sw, e->key))) {
			if (b < 0)
				goto bad_bool;
			if (!b)
				continue;
			if (kind == 0) {
				apply(e->key, "", msg, sizeof(msg));
				continue;
			}
			if (asprintf(&arg, "--%s", e->key) < 0 || push_arg(nv, nn, arg))
				goto fail;
			continue;
		}
		if (kind == 1) {
			if (apply(e->key, e->value, msg, sizeof(msg))) {
				fprintf(stderr, "procward: %s:%u: %s\n", path, e->line, msg);
				goto fail;
			}
			continue;
		}
		if (!in_list(keys, e->key)) {
			fprintf(stderr, "procward: %s:%u: unknown key '%s' for procward %s\n", path, e->line,
				e->key, svc.cmd);
			goto fail;
		}
		if (asprintf(&arg, "--%s=%s", e->key, e->value) < 0 || push_arg(nv, nn, arg))
			goto fail;
		continue;
bad_bool:
		fprintf(stderr, "procward: %s:%u: '%s' takes yes or no, not '%s'\n", path, e->line, e->key,
			e->value);
		goto fail;
	}
	config_free(&c);
	return 0;
fail:
	config_free(&c);
	return -1;
}

int service_prepare(int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp, **nv = NULL;
	size_t nn = 0;
	char err[512];

	if (argc < 2 || (strcmp(argv[1], "watch") && strcmp(argv[1], "gate")))
		return 0;
	svc.cmd = argv[1];
	svc.default_type = !strcmp(svc.cmd, "gate") ? "decision" : NULL;
	if (push_arg(&nv, &nn, argv[0]) || push_arg(&nv, &nn, argv[1]))
		return 1;
	/* The file first, so that the command line's options come after it and win. */
	for (int i = 2; i < argc; i++) {
		const char *path = NULL;

		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[i + 1];
		else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
		if (path && expand_config(path, &nv, &nn))
			return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *eq, *value = NULL;
		char name[64];
		int kind;

		if (!strcmp(a, "-o")) {
			a = "--output";
		} else if (strncmp(a, "--", 2) || !a[2]) {
			if (push_arg(&nv, &nn, argv[i]))
				return 1;
			continue;
		}
		eq = strchr(a, '=');
		snprintf(name, sizeof(name), "%.*s", eq ? (int)(eq - a - 2) : (int)strlen(a + 2), a + 2);
		kind = service_option(name);
		if (kind < 0) {
			if (push_arg(&nv, &nn, argv[i]))
				return 1;
			continue;
		}
		if (kind == 1) {
			if (eq) {
				value = eq + 1;
			} else if (i + 1 < argc) {
				value = argv[++i];
			} else {
				fprintf(stderr, "procward: --%s needs a value\nTry 'procward %s --help'.\n", name,
					svc.cmd);
				return 2;
			}
		} else if (eq) {
			fprintf(stderr, "procward: --%s takes no value\n", name);
			return 2;
		}
		if (!strcmp(name, "config"))
			continue;
		if (apply(name, value ? value : "", err, sizeof(err))) {
			fprintf(stderr, "procward: %s\n", err);
			return 2;
		}
	}
	if (!svc.no_redact) {
		PW_OPTS(pw_redact_opts, ro, .no_builtin = !svc.redact_builtin);

		if (pw_redact_new(&ro, &svc.redactor))
			return 1;
		for (size_t i = 0; i < svc.n_redact; i++)
			if (pw_redact_add_regex(svc.redactor, svc.redact[i], err, sizeof(err))) {
				fprintf(stderr, "procward: bad --redact '%s': %s\n", svc.redact[i],
					err[0] ? err : "too many patterns (64 at most)");
				return 2;
			}
	}
	*argcp = (int)nn;
	*argvp = nv;
	return 0;
}

const struct pw_redactor *service_redactor(void)
{
	return svc.redactor;
}

/* ---------------------------------------------------------------- stream */

static const char *line_type(const char *line, size_t len, char *buf, size_t cap)
{
	static const char key[] = "\"type\":\"";
	const char *p = memmem(line, len < 64 ? len : 64, key, sizeof(key) - 1), *e;

	if (!p)
		return svc.default_type;
	p += sizeof(key) - 1;
	e = memchr(p, '"', (size_t)(line + len - p));
	if (!e || (size_t)(e - p) >= cap)
		return svc.default_type;
	memcpy(buf, p, (size_t)(e - p));
	buf[e - p] = 0;
	return buf;
}

static void push_line(const char *line, size_t len)
{
	char type[33];

	pw_output_push(svc.out, line_type(line, len, type, sizeof(type)), line, len);
}

static ssize_t stream_write(void *cookie, const char *buf, size_t size)
{
	size_t start = 0;

	(void)cookie;
	for (size_t i = 0; i < size; i++) {
		if (buf[i] != '\n')
			continue;
		if (svc.partial_len) {
			char *p = realloc(svc.partial, svc.partial_len + i - start);

			if (p) {
				memcpy(p + svc.partial_len, buf + start, i - start);
				push_line(p, svc.partial_len + i - start);
				svc.partial = p;
			}
			svc.partial_len = 0;
		} else {
			push_line(buf + start, i - start);
		}
		start = i + 1;
	}
	if (start < size) {
		char *p = realloc(svc.partial, svc.partial_len + size - start);

		if (!p)
			return -1;
		memcpy(p + svc.partial_len, buf + start, size - start);
		svc.partial = p;
		svc.partial_len += size - start;
	}
	return (ssize_t)size;
}

static int stream_close(void *cookie)
{
	struct pw_output_stats st = { .sz = sizeof(st) };

	(void)cookie;
	if (svc.partial_len)
		push_line(svc.partial, svc.partial_len);
	pw_output_flush(svc.out, 2000);
	pw_output_stats(svc.out, &st);
	fprintf(stderr,
		"procward: output: %llu lines written, %llu dropped, %llu write errors, %llu rotations, "
		"%llu reopens\n",
		(unsigned long long)st.written, (unsigned long long)st.dropped,
		(unsigned long long)st.write_errors, (unsigned long long)st.rotations,
		(unsigned long long)st.reopens);
	pw_output_free(svc.out);
	svc.out = NULL;
	free(svc.partial);
	svc.partial = NULL;
	svc.partial_len = 0;
	return st.dropped || st.write_errors ? -1 : 0;
}

static void log_output(enum pw_log_level level, const char *msg, void *ud)
{
	(void)level;
	(void)ud;
	fprintf(stderr, "procward: %s\n", msg);
}

FILE *service_stream(const char *default_type)
{
	static const cookie_io_functions_t io = { .write = stream_write, .close = stream_close };
	PW_OPTS(pw_output_opts, oo, .queue_lines = svc.queue_lines, .log = log_output);
	int err;

	if (default_type)
		svc.default_type = default_type;
	if (!svc.output && !svc.syslog && !svc.journal)
		return NULL;
	if (svc.stream)
		return svc.stream;
	if ((err = pw_output_new(&oo, &svc.out)))
		goto fail;
	if (svc.output && !strcmp(svc.output, "-")) {
		err = pw_output_add_fd(svc.out, STDOUT_FILENO);
	} else if (svc.output) {
		PW_OPTS(pw_output_file_opts, fo, .path = svc.output, .rotate_size = svc.rotate_size,
			.rotate_keep = svc.rotate_keep, .rotate_compress = svc.rotate_compress);

		err = pw_output_add_file(svc.out, &fo);
		if (err == -ELOOP || err == -EINVAL)
			fprintf(stderr, "procward: %s: refused: a symlink or not a regular file\n", svc.output);
	}
	if (err) {
		fprintf(stderr, "procward: cannot open %s: %s\n", svc.output, pw_strerror(err));
		goto fail;
	}
	if (svc.syslog) {
		PW_OPTS(pw_output_syslog_opts, so, .socket_path = svc.syslog_socket,
			.facility = svc.syslog_facility);

		if ((err = pw_output_add_syslog(svc.out, &so))) {
			fprintf(stderr, "procward: syslog socket %s: %s\n",
				svc.syslog_socket ? svc.syslog_socket : "/dev/log", pw_strerror(err));
			goto fail;
		}
	}
	if (svc.journal) {
		PW_OPTS(pw_output_journal_opts, jo, .socket_path = svc.journal_socket);

		if ((err = pw_output_add_journal(svc.out, &jo))) {
			fprintf(stderr, "procward: journal socket %s: %s\n",
				svc.journal_socket ? svc.journal_socket : "/run/systemd/journal/socket",
				pw_strerror(err));
			goto fail;
		}
	}
	if ((err = pw_output_start(svc.out)))
		goto fail;
	svc.stream = fopencookie(NULL, "w", io);
	if (!svc.stream)
		goto fail;
	/* A line goes to the queue as soon as it is complete: nothing waits in stdio. */
	setvbuf(svc.stream, NULL, _IOLBF, 0);
	return svc.stream;
fail:
	pw_output_free(svc.out);
	svc.out = NULL;
	exit(1);
}

/* --------------------------------------------------------------- systemd */

void service_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0; /* an abstract socket */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0) {
		/* nothing to do: readiness is best effort outside systemd */
	}
	close(fd);
}

void service_reopen(void)
{
	pw_output_reopen(svc.out);
}

static void on_hup(int sig)
{
	(void)sig;
	service_reopen();
}

void service_ready(int install_hup)
{
	if (install_hup) {
		struct sigaction sa = { .sa_handler = on_hup, .sa_flags = SA_RESTART };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGHUP, &sa, NULL);
	}
	service_notify("READY=1");
}
