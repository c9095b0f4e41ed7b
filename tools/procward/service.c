// SPDX-License-Identifier: MIT
/*
 * service.c - `procward watch|gate` as a service: the service options, the
 * configuration file expanded into options, the redactor, and readiness for
 * systemd (sd_notify's datagram protocol, no libsystemd).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "service.h"

/* Decimal bytes with an optional K, M or G suffix. */
static bool parse_size(const char *s, uint64_t *out)
{
	unsigned int shift = 0;
	char num[32];
	size_t n = strlen(s);

	if (!n || n >= sizeof(num))
		return false;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	default: break;
	}
	if (shift)
		num[n - 1] = 0;
	if (!cli_parse_u64(num, UINT64_MAX >> shift, out))
		return false;
	*out <<= shift;
	return true;
}

static int parse_facility(const char *s)
{
	static const struct {
		const char *name;
		int facility;
	} names[] = {
		{ "daemon", LOG_DAEMON }, { "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV },
		{ "user", LOG_USER }, { "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (!strcmp(s, names[i].name))
			return names[i].facility;
	return -1;
}

int cli_service_option(struct cli_service_opts *s, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 0x110: /* --config: read by cli_config_expand() before getopt */
		return 1;
	case 0x111: s->syslog = true; return 1;
	case 0x112: s->syslog = true; s->syslog_socket = arg; return 1;
	case 0x113:
		s->syslog_facility = parse_facility(arg);
		if (s->syslog_facility < 0) {
			cli_usage(NULL, "bad --syslog-facility '%s' (daemon, auth, authpriv, user, local0..local7)", arg);
			return -1;
		}
		return 1;
	case 0x114: s->journal = true; return 1;
	case 0x115: s->journal = true; s->journal_socket = arg; return 1;
	case 0x116:
		if (!parse_size(arg, &v) || (v && v < 4096)) {
			cli_usage(NULL, "bad --rotate-size '%s' (bytes, K, M or G suffix; at least 4096, 0: never)", arg);
			return -1;
		}
		s->rotate_size = v;
		return 1;
	case 0x117:
		if (!cli_parse_u64(arg, 1000, &v)) {
			cli_usage(NULL, "bad --rotate-keep '%s' (0..1000 old files)", arg);
			return -1;
		}
		s->rotate_keep = (unsigned int)v;
		return 1;
	case 0x118: s->rotate_compress = true; return 1;
	case 0x119:
		if (!cli_parse_u64(arg, 10000000, &v) || !v) {
			cli_usage(NULL, "bad --queue-lines '%s' (1..10000000)", arg);
			return -1;
		}
		s->queue_lines = (unsigned int)v;
		return 1;
	case 0x11a: {
		const char **grown = realloc(s->redact, (s->n_redact + 1) * sizeof(*grown));

		if (!grown) {
			cli_err("out of memory");
			return -1;
		}
		s->redact = grown;
		s->redact[s->n_redact++] = arg;
		return 1;
	}
	case 0x11b: s->no_redact = true; return 1;
	case 0x11c: s->no_redact_builtin = true; return 1;
	default:
		return 0;
	}
}

int cli_redactor(const struct cli_service_opts *s, struct pw_redactor **out)
{
	PW_OPTS(pw_redact_opts, ro, .no_builtin = s->no_redact_builtin);
	char errbuf[256];
	int err;

	*out = NULL;
	if (s->no_redact || (s->no_redact_builtin && !s->n_redact))
		return 0;
	err = pw_redact_new(&ro, out);
	if (err) {
		cli_err("%s", pw_strerror(err));
		return EXIT_RUNTIME;
	}
	for (size_t i = 0; i < s->n_redact; i++) {
		err = pw_redact_add_regex(*out, s->redact[i], errbuf, sizeof(errbuf));
		if (err) {
			cli_err("bad --redact '%s': %s", s->redact[i],
				err == -PW_ERR_RULE_SYNTAX ? errbuf : pw_strerror(err));
			pw_redact_free(*out);
			*out = NULL;
			return EXIT_USAGE;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ --config */

/* Where each argument of the expanded argv came from: a line of the file, or 0 (the command line). */
static struct {
	char *path;
	unsigned int *line;
	int n;
	bool parsing;
} origin;

bool cli_config_where(char *buf, size_t len)
{
	int i = optind - 1; /* getopt_long has just taken "--key=value" */

	if (!origin.parsing || i < 0 || i >= origin.n || !origin.line[i])
		return false;
	snprintf(buf, len, "%s:%u: ", origin.path, origin.line[i]);
	return true;
}

void cli_config_done(void)
{
	origin.parsing = false;
	free(origin.path);
	free(origin.line);
	memset(&origin, 0, sizeof(origin));
}

static const struct option *find_option(const struct option *longopts, const char *name)
{
	for (; longopts->name; longopts++)
		if (!strcmp(longopts->name, name))
			return longopts;
	return NULL;
}

static bool push_arg(char ***v, size_t *n, char *s)
{
	char **grown;

	if (!s)
		return false;
	grown = realloc(*v, (*n + 2) * sizeof(char *));
	if (!grown) {
		free(s);
		return false;
	}
	grown[(*n)++] = s;
	grown[*n] = NULL;
	*v = grown;
	return true;
}

static bool note_line(size_t argi, unsigned int line)
{
	unsigned int *grown;

	if ((int)argi >= origin.n) {
		grown = realloc(origin.line, (argi + 1) * sizeof(*grown));
		if (!grown)
			return false;
		memset(grown + origin.n, 0, (argi + 1 - (size_t)origin.n) * sizeof(*grown));
		origin.line = grown;
		origin.n = (int)argi + 1;
	}
	origin.line[argi] = line;
	return true;
}

int cli_config_expand(const char *section, const struct option *longopts, int *argcp, char ***argvp)
{
	int argc = *argcp;
	char **argv = *argvp, **nv = NULL, err[600];
	const char *path = NULL;
	struct config c = { 0 };
	struct stat st;
	size_t nn = 0;
	int ret = EXIT_USAGE; /* at usage: (oom: sets its own) */

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			path = argv[i] + 9;
	}
	if (!path)
		return 0;
	/*
	 * The file says what a root service watches and denies: one that
	 * another user may write (or replace) would hand them the gate.
	 */
	if (!stat(path, &st) && ((st.st_mode & S_IWOTH) || (st.st_uid != 0 && st.st_uid != geteuid()))) {
		cli_err("%s: refused: writable by others or owned by another user (uid %u)", path,
			(unsigned int)st.st_uid);
		return EXIT_USAGE;
	}
	if (config_parse(path, section, &c, err, sizeof(err))) {
		cli_err("%s", err);
		return EXIT_USAGE;
	}
	if (!push_arg(&nv, &nn, strdup(argv[0])))
		goto oom;
	for (size_t i = 0; i < c.n; i++) {
		const struct config_entry *e = &c.v[i];
		const struct option *o = find_option(longopts, e->key);
		char *arg = NULL;

		if (!o || !strcmp(e->key, "config") || !strcmp(e->key, "help")) {
			cli_err("%s:%u: %s '%s' for procward %s", path, e->line,
				o ? "not a configuration key:" : "unknown key", e->key, section);
			goto usage;
		}
		if (o->has_arg == no_argument) {
			int b = config_bool(e->value);

			if (b < 0) {
				cli_err("%s:%u: '%s' takes yes or no, not '%s'", path, e->line, e->key, e->value);
				goto usage;
			}
			if (!b)
				continue;
			if (asprintf(&arg, "--%s", e->key) < 0)
				arg = NULL;
		} else if (asprintf(&arg, "--%s=%s", e->key, e->value) < 0) {
			arg = NULL;
		}
		if (!push_arg(&nv, &nn, arg))
			goto oom;
		if (!note_line(nn - 1, e->line))
			goto oom;
	}
	/* The command line after the file: its options win. */
	for (int i = 1; i < argc; i++)
		if (!push_arg(&nv, &nn, strdup(argv[i])))
			goto oom;
	origin.path = strdup(path);
	if (!origin.path || !note_line(nn - 1, 0))
		goto oom;
	origin.parsing = true;
	config_free(&c);
	*argcp = (int)nn;
	*argvp = nv; /* lives as long as the command */
	return 0;
oom:
	cli_err("out of memory");
	ret = EXIT_RUNTIME;
usage:
	cli_config_done();
	config_free(&c);
	for (size_t i = 0; i < nn; i++)
		free(nv[i]);
	free(nv);
	return ret;
}

int cli_service_parsed(const char *cmd, int argc, char **argv, const struct cli_service_opts *s,
		       struct pw_redactor **redactor)
{
	cli_config_done();
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	return cli_redactor(s, redactor);
}

int cli_serve(struct pw_monitor *m, double duration, struct cli_out *out, void (*fn)(void *userdata),
	      void *userdata)
{
	int err;

	cli_on_hup(out->sink, fn, userdata);
	cli_notify("READY=1");
	err = cli_run(m, duration, out);
	cli_notify("STOPPING=1");
	cli_on_hup(NULL, NULL, NULL);
	return err;
}

/* --------------------------------------------------------------- systemd */

void cli_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0; /* an abstract socket */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0) {
		/* best effort: systemd's own timeout reports a unit that never got ready */
	}
	close(fd);
}
