// SPDX-License-Identifier: MIT
/*
 * redact/redact.c - secrets in command lines replaced by "***" before any
 * output: built-in patterns (password/token options and assignments,
 * Authorization headers, URL credentials) and user regexes whose capture
 * groups are replaced. Applied to copies for output, never to what a gate
 * decides on.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "procward.h"
#include "core/opts.h"

#define MAX_REGEXES 64
#define MASK "***"

struct pw_redactor {
	bool builtin;
	regex_t re[MAX_REGEXES];
	size_t n_re;
};

PW_API int pw_redact_new(const struct pw_redact_opts *opts, struct pw_redactor **out)
{
	struct pw_redactor *r;

	if (!out || !PW_OPTS_VALID(opts, pw_redact_opts))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->builtin = !PW_OPTS_GET(opts, no_builtin, false);
	*out = r;
	return 0;
}

PW_API void pw_redact_free(struct pw_redactor *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_re; i++)
		regfree(&r->re[i]);
	free(r);
}

PW_API int pw_redact_add_regex(struct pw_redactor *r, const char *regex, char *errbuf, size_t errlen)
{
	int rc;

	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!r || !regex || !regex[0])
		return -EINVAL;
	if (r->n_re == MAX_REGEXES)
		return -PW_ERR_RULE_LIMIT;
	rc = regcomp(&r->re[r->n_re], regex, REG_EXTENDED);
	if (rc) {
		if (errbuf && errlen)
			regerror(rc, &r->re[r->n_re], errbuf, errlen);
		return -PW_ERR_RULE_SYNTAX;
	}
	r->n_re++;
	return 0;
}

/* ------------------------------------------------------------ one argument */

/* Spans of an argument to replace by MASK; built per pass, then applied. */
struct spans {
	size_t start[64], end[64];
	size_t n;
};

static void span_add(struct spans *sp, size_t start, size_t end)
{
	if (end > start && sp->n < 64) {
		sp->start[sp->n] = start;
		sp->end[sp->n] = end;
		sp->n++;
	}
}

/* A copy of s with the spans (sorted, overlaps merged) replaced; NULL on ENOMEM. */
static char *apply_spans(const char *s, struct spans *sp)
{
	size_t len = strlen(s), o = 0, pos = 0;
	char *out = malloc(len + sp->n * sizeof(MASK) + 1);

	if (!out)
		return NULL;
	for (size_t i = 1; i < sp->n; i++) /* insertion sort: at most 64 */
		for (size_t k = i; k && sp->start[k - 1] > sp->start[k]; k--) {
			size_t a = sp->start[k], b = sp->end[k];

			sp->start[k] = sp->start[k - 1];
			sp->end[k] = sp->end[k - 1];
			sp->start[k - 1] = a;
			sp->end[k - 1] = b;
		}
	for (size_t i = 0; i < sp->n; i++) {
		size_t a = sp->start[i] < pos ? pos : sp->start[i], b = sp->end[i];

		if (b <= pos)
			continue;
		memcpy(out + o, s + pos, a - pos);
		o += a - pos;
		memcpy(out + o, MASK, sizeof(MASK) - 1);
		o += sizeof(MASK) - 1;
		pos = b;
	}
	memcpy(out + o, s + pos, len - pos);
	out[o + len - pos] = 0;
	return out;
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/*
 * NAME=VALUE where NAME ends in a secret's name: long words anywhere at the
 * end (PGPASSWORD=, access_token=, --api-key=), short ones only as a whole
 * word (--pass=, pwd=, but not bypass=). VALUE runs to '&', ';', ',', a blank
 * or the end (query strings, env assignments).
 */
static const char *const long_words[] = { "password", "passwd", "secret", "token", "apikey",
					  "api_key", "api-key", "credentials", "credential",
					  "access_key", "access-key", "passphrase" };
static const char *const short_words[] = { "pass", "pwd", "pw", "auth", "pin" };

static bool secret_name(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(long_words) / sizeof(*long_words); i++) {
		size_t w = strlen(long_words[i]);

		if (n >= w && !strncasecmp(name + n - w, long_words[i], w))
			return true;
	}
	for (size_t i = 0; i < sizeof(short_words) / sizeof(*short_words); i++) {
		size_t w = strlen(short_words[i]);

		if (n >= w && !strncasecmp(name + n - w, short_words[i], w) &&
		    (n == w || name[n - w - 1] == '-' || name[n - w - 1] == '_' || name[n - w - 1] == '.'))
			return true;
	}
	return false;
}

static void assignments(const char *s, struct spans *sp)
{
	for (const char *eq = strchr(s, '='); eq; eq = strchr(eq + 1, '=')) {
		const char *name = eq, *v = eq + 1, *end;

		while (name > s && name_char(name[-1]))
			name--;
		if (name == eq || !secret_name(name, (size_t)(eq - name)))
			continue;
		end = v + strcspn(v, "&;, \t");
		span_add(sp, (size_t)(v - s), (size_t)(end - s));
	}
}

/*
 * "Authorization: Bearer X" -> "Authorization: Bearer ***" (the scheme stays
 * readable). Only the colons are candidates: a header name is matched
 * backwards from each one, so an argument costs one pass, not one compare
 * per byte and name.
 */
static void headers(const char *s, struct spans *sp)
{
	static const char *const names[] = { "authorization", "x-api-key", "x-auth-token", "cookie" };

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		size_t w = strlen(names[i]);

		for (const char *colon = strchr(s, ':'); colon; colon = strchr(colon + 1, ':')) {
			const char *v, *word;

			if ((size_t)(colon - s) < w || strncasecmp(colon - w, names[i], w))
				continue;
			v = colon + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			word = v;
			while (*word && isalpha((unsigned char)*word))
				word++;
			/* a scheme word followed by a blank and more: keep the scheme */
			if (i == 0 && word > v && (*word == ' ' || *word == '\t') && word[1]) {
				while (*word == ' ' || *word == '\t')
					word++;
				v = word;
			}
			span_add(sp, (size_t)(v - s), strlen(s));
			return;
		}
	}
}

/* scheme://user:password@host -> scheme://user:***@host */
static void url_credentials(const char *s, struct spans *sp)
{
	for (const char *p = strstr(s, "://"); p; p = strstr(p + 3, "://")) {
		const char *auth = p + 3, *end = auth + strcspn(auth, "/?#"), *at = NULL, *colon;

		for (const char *q = auth; q < end; q++)
			if (*q == '@')
				at = q;
		if (!at)
			continue;
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon)
			span_add(sp, (size_t)(colon + 1 - s), (size_t)(at - s));
	}
}

/* Options whose next argument is the secret: --password X, --token X, ... */
static bool secret_option(const char *arg)
{
	size_t n;

	if (arg[0] != '-' || strchr(arg, '='))
		return false;
	n = strlen(arg);
	return n > 2 && arg[1] == '-' && secret_name(arg, n);
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Programs whose -p is a password: "-p SECRET" (sshpass) or "-pSECRET" (the MySQL family). */
static bool p_takes_next(const char *prog)
{
	return !strcmp(prog, "sshpass");
}

static bool p_attached(const char *prog)
{
	static const char *const progs[] = { "mysql", "mysqldump", "mysqladmin", "mysqlimport",
					     "mysqlcheck", "mysqlshow", "mariadb", "mariadb-dump",
					     "mariadb-admin", "sshpass" };

	for (size_t i = 0; i < sizeof(progs) / sizeof(*progs); i++)
		if (!strcmp(prog, progs[i]))
			return true;
	return false;
}

/* The redacted copy of argument i, or NULL if nothing in it is a secret (*err on ENOMEM). */
static char *redact_one(const struct pw_redactor *r, const char *const *argv, size_t i, int *err)
{
	const char *arg = argv[i], *prog = base(argv[0]);
	char *cur = NULL;
	struct spans sp = { .n = 0 };

	*err = 0;
	if (r->builtin) {
		if (i > 0 && (secret_option(argv[i - 1]) ||
			      (!strcmp(argv[i - 1], "-p") && p_takes_next(prog)))) {
			cur = strdup(MASK);
			if (!cur)
				*err = -ENOMEM;
			return cur;
		}
		if (i > 0 && p_attached(prog) && !strncmp(arg, "-p", 2) && arg[2])
			span_add(&sp, 2, strlen(arg));
		if (strchr(arg, '='))
			assignments(arg, &sp);
		if (strchr(arg, ':')) {
			headers(arg, &sp);
			url_credentials(arg, &sp);
		}
		if (sp.n && !(cur = apply_spans(arg, &sp))) {
			*err = -ENOMEM;
			return NULL;
		}
	}
	for (size_t k = 0; k < r->n_re; k++) {
		const char *s = cur ? cur : arg;
		regmatch_t m[10];
		size_t off = 0, len = strlen(s);
		char *next;

		sp.n = 0;
		while (off <= len && !regexec(&r->re[k], s + off, 10, m, off ? REG_NOTBOL : 0)) {
			bool groups = false;

			for (int g = 1; g < 10; g++)
				if (m[g].rm_so >= 0) {
					groups = true;
					span_add(&sp, off + (size_t)m[g].rm_so, off + (size_t)m[g].rm_eo);
				}
			if (!groups && r->re[k].re_nsub == 0)
				span_add(&sp, off + (size_t)m[0].rm_so, off + (size_t)m[0].rm_eo);
			/* an empty match moves on by one byte, so the loop ends */
			off += m[0].rm_eo > m[0].rm_so ? (size_t)m[0].rm_eo : (size_t)m[0].rm_so + 1;
		}
		if (!sp.n)
			continue;
		next = apply_spans(s, &sp);
		if (!next) {
			free(cur);
			*err = -ENOMEM;
			return NULL;
		}
		free(cur);
		cur = next;
	}
	return cur;
}

/*
 * Whether the built-in patterns could match anywhere in args: every one
 * needs a '=' or a ':' in the argument, or an option "--NAME" or "-p..."
 * before or in it. Most command lines have none of these, and then
 * redaction costs one pass over the bytes and no allocation (it runs on
 * every event of a monitor's hot path).
 */
static bool builtin_candidate(const char *args, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = args[i];

		if (c == '=' || c == ':')
			return true;
		if (c == '-' && (i == 0 || !args[i - 1]) && i + 1 < len &&
		    (args[i + 1] == '-' || args[i + 1] == 'p'))
			return true;
	}
	return false;
}

PW_API int pw_redact_args(const struct pw_redactor *r, const char *args, size_t len, char **out,
			  size_t *out_len)
{
	const char **argv = NULL;
	char **red = NULL, *buf = NULL;
	size_t argc = 0, total = 0, o = 0;
	int err = 0, changed = 0;

	if (!r || !out || !out_len || (!args && len))
		return -EINVAL;
	*out = NULL;
	*out_len = 0;
	for (size_t i = 0; i < len; i++)
		argc += !args[i];
	if (len && args[len - 1])
		argc++; /* a last argument without its NUL */
	if (!argc || (!r->n_re && (!r->builtin || !builtin_candidate(args, len))))
		return 0;
	argv = calloc(argc, sizeof(*argv));
	red = calloc(argc, sizeof(*red));
	if (!argv || !red) {
		err = -ENOMEM;
		goto out;
	}
	/* A copy that is NUL-terminated throughout, whatever the caller's last byte. */
	buf = malloc(len + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(buf, args, len);
	buf[len] = 0;
	for (size_t i = 0, off = 0; i < argc; i++) {
		argv[i] = buf + off;
		off += strlen(buf + off) + 1;
	}
	for (size_t i = 0; i < argc && !err; i++) {
		red[i] = redact_one(r, argv, i, &err);
		changed |= !!red[i];
		total += strlen(red[i] ? red[i] : argv[i]) + 1;
	}
	if (err || !changed)
		goto out;
	*out = malloc(total);
	if (!*out) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < argc; i++) {
		const char *a = red[i] ? red[i] : argv[i];
		size_t n = strlen(a) + 1;

		memcpy(*out + o, a, n);
		o += n;
	}
	*out_len = o;
out:
	for (size_t i = 0; red && i < argc; i++)
		free(red[i]);
	free(red);
	free(argv);
	free(buf);
	return err ? err : changed;
}
