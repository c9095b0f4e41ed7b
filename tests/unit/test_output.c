/* SPDX-License-Identifier: MIT */
/*
 * test_output.c - the service side without privileges: the configuration
 * parser on malformed input, redaction of each built-in example and of user
 * regexes, RFC 5424 and journald framing, and pw_sink's file rotation,
 * reopen, safe open and a sink that blocks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "output/target.h"
/* The CLI's parser (tools/procward compiles against include/ only; it is self-contained). */
#include "../../tools/procward/config.c"

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/pw-test-output.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------ config */

static void config_sections_and_values(void **state)
{
	static const char text[] =
		"# comment\n"
		"  ; another\n"
		"redact = --db-pass ([^ ]+)\n"
		"\n"
		"[watch]\n"
		"events = exec,exit   \n"
		"output=/var/log/x.jsonl\n"
		"[gate]\n"
		"rules-file = /etc/procward/gate.rules\n"
		"rule = \"deny path /usr/bin/nc\"\n"
		"[watch]\r\n"
		"json = yes\r\n";
	struct config c;
	char err[256];

	(void)state;
	assert_int_equal(config_parse_buf("f.conf", text, strlen(text), "watch", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.v[0].key, "redact");
	assert_string_equal(c.v[0].value, "--db-pass ([^ ]+)");
	assert_int_equal(c.v[0].line, 3);
	assert_string_equal(c.v[1].key, "events");
	assert_string_equal(c.v[1].value, "exec,exit");
	assert_string_equal(c.v[2].value, "/var/log/x.jsonl");
	assert_string_equal(c.v[3].key, "json");
	assert_string_equal(c.v[3].value, "yes");
	assert_int_equal(c.v[3].line, 12);
	config_free(&c);
	assert_int_equal(config_parse_buf("f.conf", text, strlen(text), "gate", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[2].key, "rule");
	assert_string_equal(c.v[2].value, "deny path /usr/bin/nc"); /* quotes keep the blanks */
	config_free(&c);
}

static void config_malformed(void **state)
{
	static const struct {
		const char *text;
		const char *err;
	} cases[] = {
		{ "key value\n", "f.conf:1: expected '=' after 'key'" },
		{ "\n\nKey = 1\n", "f.conf:3: expected 'key = value' (keys are long options: lower case, digits, '-')" },
		{ "= 1\n", "f.conf:1: expected 'key = value' (keys are long options: lower case, digits, '-')" },
		{ "events =\n", "f.conf:1: 'events' has no value" },
		{ "events =   \t\n", "f.conf:1: 'events' has no value" },
		{ "events = \"\"\n", "f.conf:1: 'events' has an empty value" },
		{ "[watch\n", "f.conf:1: section header without ']'" },
		{ "[]\n", "f.conf:1: bad section name (letters, digits and '-')" },
		{ "[wa tch]\n", "f.conf:1: bad section name (letters, digits and '-')" },
		{ "a = 1\nb_c = 2\n", "f.conf:2: expected '=' after 'b'" },
		{ "x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = 1\n",
		  "f.conf:1: key longer than 64 bytes" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct config c = { 0 };

		assert_int_equal(config_parse_buf("f.conf", cases[i].text, strlen(cases[i].text), "watch", &c,
						  err, sizeof(err)), -1);
		assert_string_equal(err, cases[i].err);
		assert_null(c.v);
	}
}

static void config_hostile_bytes(void **state)
{
	char buf[CONFIG_LINE_MAX + 16], err[256];
	struct config c = { 0 };
	static const char nul[] = "a = 1\nb = x\0y\n";

	(void)state;
	assert_int_equal(config_parse_buf("f", nul, sizeof(nul) - 1, "watch", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "f:2: NUL byte in line");
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "k = ", 4);
	assert_int_equal(config_parse_buf("f", buf, sizeof(buf), "watch", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "f:1: line longer than 8192 bytes");
	/* the last line needs no newline; a tiny error buffer is never overrun */
	assert_int_equal(config_parse_buf("f", "k = v", 5, "watch", &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 1);
	config_free(&c);
	assert_int_equal(config_parse_buf("a-very-long-file-name", "x", 1, "watch", &c, err, 8), -1);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(config_bool("Yes"), 1);
	assert_int_equal(config_bool("off"), 0);
	assert_int_equal(config_bool("maybe"), -1);
	assert_int_equal(config_parse("/nonexistent/procward.conf", "watch", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/procward.conf: No such file or directory");
}

/* --------------------------------------------------------------- redaction */

/* argv as one string with '|' between arguments, redacted, back to '|' form. */
static char *redact(const struct pw_redactor *r, const char *joined, int *ret)
{
	size_t len = strlen(joined) + 1, out_len;
	char *args = strdup(joined), *out, *res;

	for (char *p = args; *p; p++)
		if (*p == '|')
			*p = 0;
	*ret = pw_redact_args(r, args, len, &out, &out_len);
	if (*ret <= 0) {
		free(args);
		return strdup(joined);
	}
	res = malloc(out_len);
	memcpy(res, out, out_len);
	for (size_t i = 0; i + 1 < out_len; i++)
		if (!res[i])
			res[i] = '|';
	free(out);
	free(args);
	return res;
}

static void redact_builtin_examples(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "prog|--password=hunter2", "prog|--password=***" },
		{ "prog|--db-password=hunter2|--verbose", "prog|--db-password=***|--verbose" },
		{ "prog|--password|hunter2|next", "prog|--password|***|next" },
		{ "prog|--token|abc.def|x", "prog|--token|***|x" },
		{ "prog|--api-key=K1", "prog|--api-key=***" },
		{ "/usr/bin/mysql|-u|root|-phunter2|db", "/usr/bin/mysql|-u|root|-p***|db" },
		{ "mysqldump|-psecret", "mysqldump|-p***" },
		{ "sshpass|-p|hunter2|ssh|host", "sshpass|-p|***|ssh|host" },
		{ "curl|https://api/x?token=abc123&page=2", "curl|https://api/x?token=***&page=2" },
		{ "curl|https://api/x?access_token=abc123", "curl|https://api/x?access_token=***" },
		{ "env|PGPASSWORD=hunter2|psql", "env|PGPASSWORD=***|psql" },
		{ "prog|client_secret=s", "prog|client_secret=***" },
		{ "curl|-H|Authorization: Bearer eyJhbGciOi.x.y", "curl|-H|Authorization: Bearer ***" },
		{ "curl|-H|authorization: Basic dXNlcjpwYXNz", "curl|-H|authorization: Basic ***" },
		{ "curl|-H|Authorization: rawtoken", "curl|-H|Authorization: ***" },
		{ "curl|-H|X-Api-Key: k", "curl|-H|X-Api-Key: ***" },
		{ "git|clone|https://bob:s3cr3t@git.example/r.git", "git|clone|https://bob:***@git.example/r.git" },
		{ "psql|postgres://app:pw@db:5432/x", "psql|postgres://app:***@db:5432/x" },
		{ "x|a://u:p@h|b://v:q@i", "x|a://u:***@h|b://v:***@i" },
	};
	static const char *const untouched[] = {
		"mkdir|-p|/tmp/x",              /* -p is no password outside the listed programs */
		"mysql|-p|dbname",              /* mysql -p alone prompts: the next word is a database */
		"ssh|-p|22|host",
		"prog|--bypass=1|--compass=n",  /* short names only as whole words */
		"git|clone|ssh://git@host/r",   /* a user without a password */
		"prog|https://host/path?page=2",
		"prog",
	};
	struct pw_redactor *r;
	int ret;

	(void)state;
	assert_int_equal(pw_redact_new(NULL, &r), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *got = redact(r, cases[i].in, &ret);

		assert_int_equal(ret, 1);
		assert_string_equal(got, cases[i].out);
		free(got);
	}
	for (size_t i = 0; i < sizeof(untouched) / sizeof(*untouched); i++) {
		char *got = redact(r, untouched[i], &ret);

		assert_int_equal(ret, 0);
		assert_string_equal(got, untouched[i]);
		free(got);
	}
	pw_redact_free(r);
}

static void redact_user_regex(void **state)
{
	PW_OPTS(pw_redact_opts, o, .no_builtin = true);
	struct pw_redactor *r;
	char err[128];
	char *got;
	int ret;

	(void)state;
	assert_int_equal(pw_redact_new(&o, &r), 0);
	/* a capture group: only its bytes go */
	assert_int_equal(pw_redact_add_regex(r, "^--db-pass:(.+)$", err, sizeof(err)), 0);
	/* two groups, every match in the argument */
	assert_int_equal(pw_redact_add_regex(r, "k([0-9]+)=([a-z]+)", err, sizeof(err)), 0);
	/* no group: the whole match */
	assert_int_equal(pw_redact_add_regex(r, "AKIA[A-Z0-9]{8}", err, sizeof(err)), 0);
	got = redact(r, "tool|--db-pass:xyz|k1=ab,k22=cd|id=AKIA12345678!|--password=kept", &ret);
	assert_int_equal(ret, 1);
	assert_string_equal(got, "tool|--db-pass:***|k***=***,k***=***|id=***!|--password=kept");
	free(got);
	got = redact(r, "tool|nothing", &ret);
	assert_int_equal(ret, 0);
	free(got);
	assert_int_equal(pw_redact_add_regex(r, "([unclosed", err, sizeof(err)), -PW_ERR_RULE_SYNTAX);
	assert_true(err[0] != 0);
	/* an empty match cannot loop */
	assert_int_equal(pw_redact_add_regex(r, "x*", err, sizeof(err)), 0);
	got = redact(r, "a|bxxc", &ret);
	assert_int_equal(ret, 1);
	assert_string_equal(got, "a|b***c");
	free(got);
	pw_redact_free(r);
}

static void redact_without_final_nul(void **state)
{
	struct pw_redactor *r;
	char *out;
	size_t len;

	(void)state;
	assert_int_equal(pw_redact_new(NULL, &r), 0);
	/* argv as the kernel may cut it: the last argument has no NUL */
	assert_int_equal(pw_redact_args(r, "a\0--token=abc", 13, &out, &len), 1);
	assert_int_equal(len, 14);
	assert_memory_equal(out, "a\0--token=***", 14);
	free(out);
	assert_int_equal(pw_redact_args(r, NULL, 0, &out, &len), 0);
	assert_null(out);
	pw_redact_free(r);
}

/* ----------------------------------------------------------- sink framing */

static void syslog_rfc5424_header(void **state)
{
	struct timespec t = { .tv_sec = 1764669600, .tv_nsec = 123456789 }; /* 2025-12-02T10:00:00Z */
	char buf[256];
	ssize_t n;

	(void)state;
	n = pw_syslog_format(buf, sizeof(buf), LOG_DAEMON | LOG_INFO, &t, "host1", "procward", 42, "exec");
	assert_true(n > 0);
	buf[n] = 0;
	assert_string_equal(buf, "<30>1 2025-12-02T10:00:00.123456Z host1 procward 42 exec - ");
	/* msgid: at most 32 printable ASCII, others replaced; none: "-" */
	n = pw_syslog_format(buf, sizeof(buf), 30, &t, "h", "procward", 1, "a b\x01" "cdefghijklmnopqrstuvwxyz0123456789");
	buf[n] = 0;
	assert_string_equal(buf, "<30>1 2025-12-02T10:00:00.123456Z h procward 1 a_b_cdefghijklmnopqrstuvwxyz0123 - ");
	n = pw_syslog_format(buf, sizeof(buf), 30, &t, "h", "procward", 1, NULL);
	buf[n] = 0;
	assert_string_equal(buf, "<30>1 2025-12-02T10:00:00.123456Z h procward 1 - - ");
	assert_int_equal(pw_syslog_format(buf, 10, 30, &t, "h", "procward", 1, "x"), -ENOSPC);
}

/* Find binary-safe field NAME in a journal datagram; its value copied to out. */
static int jfield(const struct pw_jbuf *b, const char *name, char *out, size_t cap)
{
	size_t i = 0, nl = strlen(name);

	while (i < b->len) {
		const char *nlp = memchr(b->p + i, '\n', b->len - i);
		uint64_t len = 0;

		if (!nlp)
			return -1;
		for (int k = 0; k < 8; k++)
			len |= (uint64_t)(uint8_t)nlp[1 + k] << (8 * k);
		if ((size_t)(nlp - (b->p + i)) == nl && !memcmp(b->p + i, name, nl)) {
			if (len >= cap)
				return -1;
			memcpy(out, nlp + 9, len);
			out[len] = 0;
			return 0;
		}
		i = (size_t)(nlp - b->p) + 9 + len + 1;
	}
	return -1;
}

static void journal_fields_from_json(void **state)
{
	static const char line[] = "{\"type\":\"exec\",\"pid\":42,\"image\":\"/usr/bin/a\\nb\",\"nested\":{\"x\":\"}\"},"
				   "\"args\":[\"a\",\"]\"],\"ok\":true,\"none\":null,\"u\":\"\\u00e9\\ud83d\\ude00\",\"Mixed-Key\":1}";
	struct pw_jbuf b = { 0 };
	char v[64];

	(void)state;
	assert_int_equal(pw_journal_json_fields(&b, line, sizeof(line) - 1), 6);
	assert_int_equal(jfield(&b, "PROCWARD_TYPE", v, sizeof(v)), 0);
	assert_string_equal(v, "exec");
	assert_int_equal(jfield(&b, "PROCWARD_PID", v, sizeof(v)), 0);
	assert_string_equal(v, "42");
	assert_int_equal(jfield(&b, "PROCWARD_IMAGE", v, sizeof(v)), 0);
	assert_string_equal(v, "/usr/bin/a\nb"); /* decoded: the binary-safe form carries the newline */
	assert_int_equal(jfield(&b, "PROCWARD_OK", v, sizeof(v)), 0);
	assert_string_equal(v, "true");
	assert_int_equal(jfield(&b, "PROCWARD_U", v, sizeof(v)), 0);
	assert_string_equal(v, "\xc3\xa9\xf0\x9f\x98\x80");
	assert_int_equal(jfield(&b, "PROCWARD_MIXED_KEY", v, sizeof(v)), 0);
	assert_int_equal(jfield(&b, "PROCWARD_NONE", v, sizeof(v)), -1);
	assert_int_equal(jfield(&b, "PROCWARD_NESTED", v, sizeof(v)), -1);
	free(b.p);
	/* not JSON, or cut short: no fields, no overrun */
	memset(&b, 0, sizeof(b));
	assert_int_equal(pw_journal_json_fields(&b, "plain text", 10), 0);
	assert_int_equal(pw_journal_json_fields(&b, "{\"a\":\"unterminated", 18), 0);
	assert_int_equal(pw_journal_json_fields(&b, "{\"a\":\"\\u12", 10), 0);
	assert_int_equal(pw_journal_json_fields(&b, "{\"a\":1,\"b\":[", 12), 1);
	free(b.p);
}

/* ----------------------------------------------------------------- pw_sink */

static size_t count_lines(const char *path, const char *needle)
{
	gzFile f = gzopen(path, "rb");
	char line[4096];
	size_t n = 0;

	if (!f)
		return (size_t)-1;
	while (gzgets(f, line, sizeof(line)))
		n += strstr(line, needle) != NULL;
	gzclose(f);
	return n;
}

static size_t count_files(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	size_t n = 0;

	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static void rotation_keeps_exactly_keep(void **state)
{
	for (int compress = 0; compress <= 1; compress++) {
		char path[128], name[160], line[200];
		struct pw_sink *o;
		struct pw_sink_stats st = { .sz = sizeof(st) };
		size_t total = 0;
		PW_OPTS(pw_sink_opts, oo, .queue_lines = 100000);
		PW_OPTS(pw_sink_file_opts, fo, .path = path, .rotate_size = 8192, .rotate_keep = 3,
			.rotate_compress = compress);

		(void)state;
		snprintf(path, sizeof(path), "%s/rot%d.log", tmpdir, compress);
		assert_int_equal(pw_sink_new(&oo, &o), 0);
		assert_int_equal(pw_sink_add_file(o, &fo), 0);
		assert_int_equal(pw_sink_start(o), 0);
		/* 100 lines of 100 bytes: 10100 bytes, rotated once past 8192 */
		for (int i = 0; i < 100; i++) {
			int n = snprintf(line, sizeof(line), "{\"type\":\"exec\",\"seq\":%06d,\"pad\":\"%062d\"}", i, 0);

			assert_int_equal(n, 99);
			assert_int_equal(pw_sink_push(o, "exec", line, (size_t)n), 0);
		}
		assert_int_equal(pw_sink_flush(o, 5000), 0);
		assert_int_equal(count_lines(path, "\"seq\":"), 100 - 81);
		snprintf(name, sizeof(name), "%s.1%s", path, compress ? ".gz" : "");
		assert_int_equal(count_lines(name, "\"seq\":"), 81); /* 81 * 100 <= 8192 < 82 * 100 */
		/* 1000 more lines: 12 more rotations; exactly 3 old files stay */
		for (int i = 100; i < 1100; i++) {
			int n = snprintf(line, sizeof(line), "{\"type\":\"exec\",\"seq\":%06d,\"pad\":\"%062d\"}", i, 0);

			assert_int_equal(pw_sink_push(o, "exec", line, (size_t)n), 0);
		}
		assert_int_equal(pw_sink_flush(o, 5000), 0);
		assert_int_equal(pw_sink_stats(o, &st), 0);
		assert_int_equal(st.rotations, 13);
		assert_int_equal(st.written, 1100);
		assert_int_equal(st.dropped, 0);
		snprintf(name, sizeof(name), "rot%d.log", compress);
		assert_int_equal(count_files(name), 4); /* PATH and PATH.1 .. PATH.3 */
		total = count_lines(path, "\"seq\":");
		for (int k = 1; k <= 3; k++) {
			snprintf(name, sizeof(name), "%s.%d%s", path, k, compress ? ".gz" : "");
			assert_int_equal(count_lines(name, "\"seq\":"), 81);
			total += 81;
		}
		/* the newest lines, none lost in between: 1100 - 13 * 81 = 47 in PATH */
		assert_int_equal(total, 47 + 3 * 81);
		snprintf(name, sizeof(name), "%s.4%s", path, compress ? ".gz" : "");
		assert_int_equal(access(name, F_OK), -1);
		pw_sink_free(o);
	}
}

static void reopen_after_rename(void **state)
{
	char path[128], moved[140];
	struct pw_sink *o;
	struct pw_sink_stats st = { .sz = sizeof(st) };
	PW_OPTS(pw_sink_file_opts, fo, .path = path);
	struct stat sb;

	(void)state;
	snprintf(path, sizeof(path), "%s/reopen.log", tmpdir);
	snprintf(moved, sizeof(moved), "%s.1", path);
	assert_int_equal(pw_sink_new(NULL, &o), 0);
	assert_int_equal(pw_sink_add_file(o, &fo), 0);
	assert_int_equal(pw_sink_start(o), 0);
	assert_int_equal(pw_sink_push(o, "a", "before", 6), 0);
	assert_int_equal(pw_sink_flush(o, 5000), 0);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(pw_sink_push(o, "a", "still-old", 9), 0); /* into the renamed file */
	assert_int_equal(pw_sink_flush(o, 5000), 0);
	pw_sink_reopen(o);
	assert_int_equal(pw_sink_push(o, "a", "after", 5), 0);
	assert_int_equal(pw_sink_flush(o, 5000), 0);
	assert_int_equal(count_lines(moved, "before"), 1);
	assert_int_equal(count_lines(moved, "still-old"), 1);
	assert_int_equal(count_lines(path, "after"), 1);
	assert_int_equal(count_lines(path, "before"), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(pw_sink_stats(o, &st), 0);
	assert_int_equal(st.reopens, 1);
	pw_sink_free(o);
}

static void safe_open_refuses(void **state)
{
	char path[128], target[128];
	struct pw_sink *o;
	PW_OPTS(pw_sink_file_opts, fo, .path = path);

	(void)state;
	assert_int_equal(pw_sink_new(NULL, &o), 0);
	snprintf(target, sizeof(target), "%s/target", tmpdir);
	snprintf(path, sizeof(path), "%s/link.log", tmpdir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(pw_sink_add_file(o, &fo), -ELOOP);
	assert_int_equal(access(target, F_OK), -1); /* nothing created through the link */
	snprintf(path, sizeof(path), "%s/fifo.log", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* never waits for a FIFO's reader, and refuses it when one is there */
	assert_int_equal(pw_sink_add_file(o, &fo), -EINVAL);
	{
		int rd = open(path, O_RDONLY | O_NONBLOCK);

		assert_true(rd >= 0);
		assert_int_equal(pw_sink_add_file(o, &fo), -EINVAL);
		close(rd);
	}
	assert_int_equal(pw_sink_add_file(o, NULL), -EINVAL);
	pw_sink_free(o);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* ------------------------------------------------------------ a pipe shared with another writer */

struct pipe_side {
	int fd;
	atomic_bool stop;
	char *buf; /* reader: all it read */
	size_t len, cap;
	unsigned int written; /* writer: its "ERR\n" records */
};

static void *other_writer(void *arg)
{
	struct pipe_side *w = arg;

	while (!atomic_load(&w->stop) && w->written < 200000)
		if (write(w->fd, "ERR\n", 4) == 4)
			w->written++;
		else
			sched_yield(); /* the pipe is full: the reader drains it */
	return NULL;
}

static void *pipe_reader(void *arg)
{
	struct pipe_side *r = arg;
	ssize_t n;

	for (;;) {
		if (r->cap - r->len < 65536) {
			r->cap = r->cap ? 2 * r->cap : 1 << 20;
			r->buf = realloc(r->buf, r->cap);
			if (!r->buf)
				return NULL;
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n <= 0)
			break; /* EOF: every writer closed */
		r->len += (size_t)n;
	}
	return NULL;
}

/*
 * A pipe another process writes to as well (`procward watch 2>&1 | ...`):
 * batches are cut at PIPE_BUF, which the kernel writes whole, so no other
 * writer's bytes land inside a record, and every record arrives once, in
 * order.
 */
static void shared_pipe_keeps_records_whole(void **state)
{
	enum { LINES = 20000, LEN = 199 };
	PW_OPTS(pw_sink_opts, oo, .queue_lines = LINES);
	struct pipe_side w = { 0 }, r = { 0 };
	struct pw_sink_stats st = { .sz = sizeof(st) };
	pthread_t wt, rt;
	struct pw_sink *o;
	char line[LEN + 1];
	unsigned int next = 0, errs = 0;
	int p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fcntl(p[1], F_SETPIPE_SZ, 16384); /* a small pipe: the sink's writes are often partial */
	assert_int_equal(pw_sink_new(&oo, &o), 0);
	assert_int_equal(pw_sink_add_fd(o, p[1]), 0);
	w.fd = p[1];
	r.fd = p[0];
	assert_int_equal(pthread_create(&rt, NULL, pipe_reader, &r), 0);
	assert_int_equal(pthread_create(&wt, NULL, other_writer, &w), 0);
	assert_int_equal(pw_sink_start(o), 0);
	for (int i = 0; i < LINES; i++) {
		int n = snprintf(line, sizeof(line), "{\"seq\":%08d,\"pad\":\"%0*d\"}", i, LEN - 25, 0);

		assert_int_equal(n, LEN);
		assert_int_equal(pw_sink_push(o, "exec", line, (size_t)n), 0);
	}
	assert_int_equal(pw_sink_flush(o, 20000), 0);
	assert_int_equal(pw_sink_stats(o, &st), 0);
	assert_int_equal(st.written, LINES);
	assert_int_equal(st.write_errors, 0);
	atomic_store(&w.stop, true);
	pthread_join(wt, NULL);
	pw_sink_free(o); /* closes its own reopened descriptor of the pipe */
	close(p[1]);
	pthread_join(rt, NULL);
	close(p[0]);
	assert_non_null(r.buf);
	for (char *s = r.buf, *end = r.buf + r.len, *nl; s < end; s = nl + 1) {
		nl = memchr(s, '\n', (size_t)(end - s));
		assert_non_null(nl); /* the stream ends with a whole line */
		if (nl - s == 3 && !memcmp(s, "ERR", 3)) {
			errs++;
			continue;
		}
		/* anything else is one of ours, whole and next in order */
		snprintf(line, sizeof(line), "{\"seq\":%08u,\"pad\":\"%0*d\"}", next, LEN - 25, 0);
		assert_int_equal(nl - s, LEN);
		assert_memory_equal(s, line, LEN);
		next++;
	}
	fprintf(stderr, "shared pipe: %u records whole and in order, %u of the other writer's\n", next, errs);
	assert_int_equal(next, LINES);
	assert_int_equal(errs, w.written);
	free(r.buf);
}

/* A pipe nobody reads: pushes never wait, and every line is accounted for. */
static void blocked_pipe_costs_nothing(void **state)
{
	struct pw_sink *o;
	struct pw_sink_stats st = { .sz = sizeof(st) };
	PW_OPTS(pw_sink_opts, oo, .queue_lines = 64, .drain_ms = 200);
	char line[1024];
	int p[2], drops = 0;
	uint64_t t0, worst = 0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	memset(line, 'x', sizeof(line));
	assert_int_equal(pw_sink_new(&oo, &o), 0);
	assert_int_equal(pw_sink_add_fd(o, p[1]), 0);
	assert_int_equal(pw_sink_start(o), 0);
	for (int i = 0; i < 2000; i++) {
		uint64_t t = now_ns();
		int err = pw_sink_push(o, "exec", line, sizeof(line));

		t = now_ns() - t;
		worst = t > worst ? t : worst;
		if (err) {
			assert_int_equal(err, -ENOBUFS);
			drops++;
		}
	}
	/* 64 KiB of pipe + 64 queued lines of 1 KiB: most of 2000 lines must drop */
	assert_true(drops >= 2000 - 64 - 65);
	assert_true(worst < 50 * 1000 * 1000ull); /* no push waited on the pipe (50 ms: a loaded CI) */
	assert_int_equal(pw_sink_flush(o, 300), -ETIMEDOUT);
	assert_int_equal(pw_sink_stats(o, &st), 0);
	assert_int_equal(st.pushed, 2000);
	assert_int_equal(st.dropped, (uint64_t)drops);
	/* queued counts the batch in the writer's hand too */
	assert_int_equal(st.written + st.dropped + st.queued, 2000);
	t0 = now_ns();
	pw_sink_free(o); /* drain_ms 200, then the blocked write gives up */
	assert_true(now_ns() - t0 < 2000 * 1000 * 1000ull);
	close(p[0]);
	close(p[1]);
}

/* A datagram socket bound at tmpdir/name (its address in sa), standing in for a log daemon's. */
static int bound_dgram_socket(struct sockaddr_un *sa, const char *name)
{
	int fd;

	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", tmpdir, name);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	return fd;
}

static void syslog_datagrams(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pw_sink *o;
	PW_OPTS(pw_sink_syslog_opts, so, .socket_path = sa.sun_path, .facility = LOG_LOCAL3);
	char buf[512];
	ssize_t n;
	int fd;

	(void)state;
	fd = bound_dgram_socket(&sa, "log.sock");
	assert_int_equal(pw_sink_new(NULL, &o), 0);
	assert_int_equal(pw_sink_add_syslog(o, &so), 0);
	assert_int_equal(pw_sink_start(o), 0);
	assert_int_equal(pw_sink_push(o, "process_exit", "{\"type\":\"process_exit\"}\n", 24), 0);
	assert_int_equal(pw_sink_flush(o, 5000), 0);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = 0;
	assert_memory_equal(buf, "<158>1 ", 7); /* local3.info */
	assert_non_null(strstr(buf, "Z "));
	snprintf(buf + 256, 200, " procward %d process_exit - {\"type\":\"process_exit\"}", (int)getpid());
	assert_non_null(strstr(buf, buf + 256));
	assert_int_equal(buf[n - 1], '}'); /* no newline in a datagram */
	pw_sink_free(o);
	close(fd);
	so.socket_path = "/nonexistent/log.sock";
	assert_int_equal(pw_sink_new(NULL, &o), 0);
	assert_int_equal(pw_sink_add_syslog(o, &so), -ENOENT);
	pw_sink_free(o);
}

/* The sized-struct rule: a tail this library does not know must be zero. */
static void opts_unknown_tail_refused(void **state)
{
	struct {
		struct pw_sink_opts o;
		uint64_t newer_field;
	} big = { .o = { .sz = sizeof(big) } };
	struct {
		struct pw_redact_opts o;
		uint64_t newer_field;
	} rbig = { .o = { .sz = sizeof(rbig) } };
	struct pw_sink *o = NULL;
	struct pw_redactor *r = NULL;

	(void)state;
	big.newer_field = 1;
	assert_int_equal(pw_sink_new(&big.o, &o), -EINVAL);
	big.newer_field = 0;
	assert_int_equal(pw_sink_new(&big.o, &o), 0); /* a zero tail: asks for nothing unknown */
	{
		struct {
			struct pw_sink_file_opts f;
			uint64_t newer_field;
		} fbig = { .f = { .sz = sizeof(fbig), .path = "/nonexistent/x" }, .newer_field = 7 };

		assert_int_equal(pw_sink_add_file(o, &fbig.f), -EINVAL);
	}
	pw_sink_free(o);
	rbig.newer_field = 1;
	assert_int_equal(pw_redact_new(&rbig.o, &r), -EINVAL);
	assert_null(r);
}

/* --output-mode and --truncate reach the file target (pw_output_open); a reopen appends. */
static void file_mode_and_truncate(void **state)
{
	char path[128], buf[64];
	struct pw_sink *o;
	struct stat sb;
	mode_t old = umask(0);
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/mode.log", tmpdir);
	{
		PW_OPTS(pw_sink_file_opts, fo, .path = path, .mode = 0640);

		assert_int_equal(pw_sink_new(NULL, &o), 0);
		assert_int_equal(pw_sink_add_file(o, &fo), 0);
		assert_int_equal(pw_sink_start(o), 0);
		assert_int_equal(pw_sink_push(o, NULL, "old\n", 4), 0);
		assert_int_equal(pw_sink_flush(o, 5000), 0);
		pw_sink_free(o);
	}
	umask(old);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	{
		PW_OPTS(pw_sink_file_opts, fo, .path = path, .flags = PW_OUTPUT_TRUNCATE);

		assert_int_equal(pw_sink_new(NULL, &o), 0);
		assert_int_equal(pw_sink_add_file(o, &fo), 0);
		assert_int_equal(pw_sink_start(o), 0);
		assert_int_equal(pw_sink_push(o, NULL, "new", 3), 0);
		assert_int_equal(pw_sink_flush(o, 5000), 0);
		pw_sink_reopen(o); /* not truncated again */
		assert_int_equal(pw_sink_push(o, NULL, "after-reopen", 12), 0);
		assert_int_equal(pw_sink_flush(o, 5000), 0);
		pw_sink_free(o);
	}
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf), f), 17);
	fclose(f);
	assert_memory_equal(buf, "new\nafter-reopen\n", 17);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640); /* an existing file keeps its mode */
}

/* journald's native protocol, end to end on a socket standing in for journald's. */
static void journal_datagrams(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pw_sink *o;
	PW_OPTS(pw_sink_journal_opts, jo, .socket_path = sa.sun_path);
	static const char line[] = "{\"type\":\"exec\",\"pid\":7,\"name\":\"a\\nb\"}";
	struct pw_jbuf b = { 0 };
	char buf[4096], v[64];
	ssize_t n;
	int fd;

	(void)state;
	fd = bound_dgram_socket(&sa, "journal.sock");
	assert_int_equal(pw_sink_new(NULL, &o), 0);
	assert_int_equal(pw_sink_add_journal(o, &jo), 0);
	assert_int_equal(pw_sink_start(o), 0);
	assert_int_equal(pw_sink_push(o, "exec", line, sizeof(line) - 1), 0);
	assert_int_equal(pw_sink_flush(o, 5000), 0);
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(n > 0);
	b.p = buf;
	b.len = (size_t)n;
	assert_int_equal(jfield(&b, "MESSAGE", v, sizeof(v)), 0);
	assert_string_equal(v, line);
	assert_int_equal(jfield(&b, "SYSLOG_IDENTIFIER", v, sizeof(v)), 0);
	assert_string_equal(v, "procward");
	assert_int_equal(jfield(&b, "PROCWARD_EVENT", v, sizeof(v)), 0);
	assert_string_equal(v, "exec");
	assert_int_equal(jfield(&b, "PROCWARD_PID", v, sizeof(v)), 0);
	assert_string_equal(v, "7");
	assert_int_equal(jfield(&b, "PROCWARD_NAME", v, sizeof(v)), 0);
	assert_string_equal(v, "a\nb");
	pw_sink_free(o);
	close(fd);
}

/*
 * A blocking pipe (as a shell hands over `> fifo`) that nobody reads: the
 * writer writes through its own non-blocking descriptor, so pw_sink_free
 * still returns after the drain time, and the application's fd keeps its flags.
 */
static void blocking_pipe_does_not_hang_free(void **state)
{
	PW_OPTS(pw_sink_opts, oo, .queue_lines = 16, .drain_ms = 200);
	struct pw_sink *o;
	char line[4096];
	uint64_t t0;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	memset(line, 'y', sizeof(line));
	assert_int_equal(pw_sink_new(&oo, &o), 0);
	assert_int_equal(pw_sink_add_fd(o, p[1]), 0);
	assert_int_equal(pw_sink_start(o), 0);
	for (int i = 0; i < 100; i++)
		pw_sink_push(o, "exec", line, sizeof(line)); /* 400 KiB: far past the 64 KiB pipe */
	t0 = now_ns();
	pw_sink_free(o);
	assert_true(now_ns() - t0 < 2000 * 1000 * 1000ull);
	assert_int_equal(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	assert_true(fcntl(p[1], F_GETFD) >= 0); /* not closed: the application's */
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_sections_and_values),
		cmocka_unit_test(config_malformed),
		cmocka_unit_test(config_hostile_bytes),
		cmocka_unit_test(redact_builtin_examples),
		cmocka_unit_test(redact_user_regex),
		cmocka_unit_test(redact_without_final_nul),
		cmocka_unit_test(syslog_rfc5424_header),
		cmocka_unit_test(journal_fields_from_json),
		cmocka_unit_test(rotation_keeps_exactly_keep),
		cmocka_unit_test(reopen_after_rename),
		cmocka_unit_test(safe_open_refuses),
		cmocka_unit_test(blocked_pipe_costs_nothing),
		cmocka_unit_test(syslog_datagrams),
		cmocka_unit_test(opts_unknown_tail_refused),
		cmocka_unit_test(file_mode_and_truncate),
		cmocka_unit_test(journal_datagrams),
		cmocka_unit_test(blocking_pipe_does_not_hang_free),
		cmocka_unit_test(shared_pipe_keeps_records_whole),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
