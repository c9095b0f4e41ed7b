// SPDX-License-Identifier: MIT
/*
 * gate/rules.c - the exec gate's static rules: validation, the text form,
 * rules files, and matching an exec-open against them (first match wins).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/opts.h"
#include "gate/gate.h"

int pw_gate_rule_validate(const struct pw_gate_rule *r)
{
	if (!PW_OPTS_HAS(r, children))
		return -EINVAL;
	if (!PW_OPTS_VALID(r, pw_gate_rule))
		return -EOPNOTSUPP;
	if (r->action != PW_GATE_ALLOW && r->action != PW_GATE_DENY && r->action != PW_GATE_ASK)
		return -EINVAL;
	if (r->deny_errno && !pw_gate_errno_deliverable(r->deny_errno))
		return -EINVAL;
	if (r->path && r->path[0] != '/')
		return -EINVAL;
	if (r->name && (!r->name[0] || strchr(r->name, '/')))
		return -EINVAL;
	if (r->subject_name && (!r->subject_name[0] || strlen(r->subject_name) >= PW_COMM_LEN))
		return -ENAMETOOLONG;
	if (r->subject_pid < 0)
		return -EINVAL;
	if (r->children && !r->subject_pid && !r->subject_name)
		return -EINVAL; /* children of whom? */
	if (PW_OPTS_HAS(r, cache)) {
		if (r->arg && !r->arg[0])
			return -EINVAL;
		/* a cached verdict holds for the image alone: see "Verdict cache" */
		if (r->cache && (r->action == PW_GATE_ASK || r->arg || pw_gate_rule_has_subject(r)))
			return -EINVAL;
	}
	return 0;
}

int pw_gate_rules_add(struct pw_gate_rules *rs, const struct pw_gate_rule *r)
{
	struct pw_gate_rule_entry e = { 0 };
	unsigned int bits = 0;
	int err = pw_gate_rule_validate(r);

	if (err)
		return err;
	bits = !!r->has_uid + !!r->subject_name + !!r->subject_pid;
	if (rs->n_subject_bits + bits > PW_GATE_MAX_SUBJECTS)
		return -PW_ERR_RULE_LIMIT;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		struct pw_gate_rule_entry *v = realloc(rs->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	e.action = r->action;
	e.deny_errno = r->deny_errno ? r->deny_errno : EPERM;
	e.path = r->path ? strdup(r->path) : NULL;
	e.name = r->name ? strdup(r->name) : NULL;
	if ((r->path && !e.path) || (r->name && !e.name)) {
		free(e.path);
		free(e.name);
		return -ENOMEM;
	}
	if (r->sha256) {
		e.has_sha256 = true;
		memcpy(e.sha256, r->sha256, 32);
	}
	e.has_uid = r->has_uid;
	e.uid = r->uid;
	if (r->subject_name)
		strncpy(e.subject_name, r->subject_name, PW_COMM_LEN - 1);
	e.subject_pid = r->subject_pid;
	e.children = r->children;
	if (PW_OPTS_HAS(r, cache)) {
		e.cache = r->cache;
		if (r->arg && !(e.arg = strdup(r->arg))) {
			free(e.path);
			free(e.name);
			return -ENOMEM;
		}
	}
	/* bit order: uid, name, pid (gate.c fills the BPF maps the same way) */
	for (unsigned int i = 0; i < bits; i++)
		e.subject_mask |= 1ull << (rs->n_subject_bits + i);
	rs->n_subject_bits += bits;
	rs->need_image |= e.path || e.name;
	rs->need_hash |= e.has_sha256;
	rs->have_scope |= e.action == PW_GATE_ASK && e.subject_mask;
	rs->have_trees |= e.children;
	rs->need_argv |= !!e.arg;
	rs->v[rs->n++] = e;
	return 0;
}

int pw_gate_rules_remove(struct pw_gate_rules *rs, size_t i)
{
	if (i >= rs->n)
		return -ENOENT;
	free(rs->v[i].path);
	free(rs->v[i].name);
	free(rs->v[i].arg);
	memmove(&rs->v[i], &rs->v[i + 1], (rs->n - i - 1) * sizeof(*rs->v));
	rs->n--;
	/* subject bits are not renumbered: a removed rule leaves its bits unused */
	rs->need_image = rs->need_hash = rs->have_scope = rs->have_trees = rs->need_argv = false;
	for (size_t k = 0; k < rs->n; k++) {
		const struct pw_gate_rule_entry *e = &rs->v[k];

		rs->need_image |= e->path || e->name;
		rs->need_hash |= e->has_sha256;
		rs->have_scope |= e->action == PW_GATE_ASK && e->subject_mask;
		rs->have_trees |= e->children;
		rs->need_argv |= !!e->arg;
	}
	return 0;
}

void pw_gate_rules_free(struct pw_gate_rules *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].path);
		free(rs->v[i].name);
		free(rs->v[i].arg);
	}
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static bool args_contain(const struct pw_gate_subject *s, const char *arg)
{
	uint32_t off, len;

	if (!s->args)
		return false;
	for (off = 0; off < s->args_len && s->args[off]; off++)
		; /* skip argv[0] */
	for (off++; off < s->args_len; off += len + 1) {
		len = (uint32_t)strnlen(&s->args[off], s->args_len - off);
		if (!strcmp(&s->args[off], arg))
			return true;
	}
	return false;
}

int pw_gate_rules_match(const struct pw_gate_rules *rs, struct pw_gate_subject *s)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct pw_gate_rule_entry *e = &rs->v[i];

		if ((s->subject_bits & e->subject_mask) != e->subject_mask)
			continue;
		if (e->path && (!s->image || strcmp(e->path, s->image)))
			continue;
		if (e->name && (!s->image || strcmp(e->name, base_name(s->image))))
			continue;
		if (e->has_sha256) {
			if (!s->have_hash) {
				if (s->fd < 0 || pw_sha256_fd(s->fd, s->hash))
					continue;
				s->have_hash = true;
			}
			if (memcmp(e->sha256, s->hash, 32))
				continue;
		}
		if (e->arg && !args_contain(s, e->arg))
			continue;
		return (int)i;
	}
	return -1;
}

/* Whether rule e's image conditions hold for this image: 1 yes, 0 no, -1 unknown (hash). */
static int image_matches(const struct pw_gate_rule_entry *e, const char *image, const uint8_t *hash)
{
	if (e->path && (!image || strcmp(e->path, image)))
		return 0;
	if (e->name && (!image || strcmp(e->name, base_name(image))))
		return 0;
	if (e->has_sha256) {
		if (!hash)
			return -1;
		if (memcmp(e->sha256, hash, 32))
			return 0;
	}
	return 1;
}

const char *pw_gate_rules_cache_veto(const struct pw_gate_rules *rs, int matched, bool allow,
				     const char *image, const uint8_t *hash)
{
	if (matched >= 0 && (size_t)matched < rs->n) {
		const struct pw_gate_rule_entry *e = &rs->v[matched];

		if (e->arg)
			return "the rule that matched depends on argv";
		if (e->subject_mask && e->action != PW_GATE_ASK)
			return "the rule that matched depends on the subject";
	}
	if (!allow)
		return NULL; /* a cached deny is looked up after the rules, for every exec */
	/*
	 * The kernel will skip every rule for this image: no rule may give
	 * another exec of it a deny. Rules that depend on who or with what
	 * arguments could; the first rule that matches the image for everyone
	 * ends the search (nothing after it is reached).
	 */
	for (size_t i = 0; i < rs->n; i++) {
		const struct pw_gate_rule_entry *e = &rs->v[i];
		int m = image_matches(e, image, hash);

		if (e->subject_mask || e->arg) {
			if (e->action == PW_GATE_DENY && m)
				return "a deny rule that depends on the subject or argv may match this image";
			continue;
		}
		if (m < 0 && e->action == PW_GATE_DENY)
			return "a deny rule by sha256 may match this image";
		if (m == 1)
			break;
	}
	return NULL;
}

/* issue 12: a held exec is stopped only if something could deny it. */
bool pw_gate_rules_could_deny(const struct pw_gate_rules *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].action == PW_GATE_DENY)
			return true;
	return false;
}

/* ---------------------------------------------------------- text form */

/*
 * The errnos fanotify lets a permission response give (FAN_DENY_ERRNO,
 * Linux 6.14+; fs/notify/fanotify/fanotify_user.c). Any other, such as
 * EACCES, the kernel refuses: a rule naming one is refused at once rather
 * than silently turned into EPERM at the first denial.
 */
static const struct {
	const char *name;
	int value;
} errno_names[] = {
	{ "EPERM", EPERM }, { "EIO", EIO }, { "EBUSY", EBUSY }, { "ETXTBSY", ETXTBSY },
	{ "EAGAIN", EAGAIN }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
};

bool pw_gate_errno_deliverable(int err)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(*errno_names); i++)
		if (errno_names[i].value == err)
			return true;
	return false;
}

/* Next token of *p: whitespace-separated, or quoted with ' or ". NULL at the end. */
static char *next_token(char **p, const char **why)
{
	char *s = *p, *start, q;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (!*s || *s == '#') {
		*p = s;
		return NULL;
	}
	if (*s == '\'' || *s == '"') {
		q = *s++;
		start = s;
		while (*s && *s != q)
			s++;
		if (!*s) {
			*why = "unterminated quote";
			*p = s;
			return NULL;
		}
	} else {
		start = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			s++;
	}
	if (*s)
		*s++ = 0;
	*p = s;
	return start;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_hex32(const char *s, uint8_t out[32])
{
	if (!s || strlen(s) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", s[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/*
 * Parse one rule. `storage` receives one heap block holding every string and
 * the hash the rule points to. why: a static message on syntax errors.
 * Returns 0, 1 for a blank/comment line (nothing parsed), or negative.
 */
static int parse_rule(const char *text, struct pw_gate_rule *out, char **storage, const char **why)
{
	size_t len = strlen(text);
	char *buf, *p, *tok, *val;
	uint8_t *hash;

	*why = NULL;
	buf = malloc(len + 1 + 32);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len + 1);
	hash = (uint8_t *)buf + len + 1;
	p = buf;
	memset(out, 0, sizeof(*out));
	out->sz = sizeof(*out);
	tok = next_token(&p, why);
	if (!tok) {
		free(buf);
		return *why ? -PW_ERR_RULE_SYNTAX : 1;
	}
	if (!strcmp(tok, "allow"))
		out->action = PW_GATE_ALLOW;
	else if (!strcmp(tok, "deny"))
		out->action = PW_GATE_DENY;
	else if (!strcmp(tok, "gate") || !strcmp(tok, "ask"))
		out->action = PW_GATE_ASK;
	else {
		*why = "a rule starts with allow, deny or gate";
		goto syntax;
	}
	while ((tok = next_token(&p, why))) {
		uint32_t n;

		if (!strcmp(tok, "children")) {
			out->children = true;
			continue;
		}
		if (!strcmp(tok, "cache")) {
			out->cache = true;
			continue;
		}
		val = next_token(&p, why);
		if (!val) {
			if (!*why)
				*why = "a condition needs a value";
			goto syntax;
		}
		if (!strcmp(tok, "path")) {
			if (val[0] != '/') {
				*why = "path needs an absolute path";
				goto syntax;
			}
			out->path = val;
		} else if (!strcmp(tok, "name")) {
			if (!val[0] || strchr(val, '/')) {
				*why = "name is the last component of a path: not empty, no '/'";
				goto syntax;
			}
			out->name = val;
		} else if (!strcmp(tok, "sha256")) {
			if (parse_hex32(val, hash)) {
				*why = "sha256 needs 64 hex digits";
				goto syntax;
			}
			out->sha256 = hash;
		} else if (!strcmp(tok, "uid")) {
			if (parse_u32(val, &out->uid)) {
				*why = "uid needs a number";
				goto syntax;
			}
			out->has_uid = true;
		} else if (!strcmp(tok, "arg")) {
			if (!val[0]) {
				*why = "arg needs a non-empty argument";
				goto syntax;
			}
			out->arg = val;
		} else if (!strcmp(tok, "by-name")) {
			if (!val[0] || strlen(val) >= PW_COMM_LEN) {
				*why = "by-name: process names hold 1 to 15 bytes";
				goto syntax;
			}
			out->subject_name = val;
		} else if (!strcmp(tok, "by-pid")) {
			if (parse_u32(val, &n) || !n || n > INT32_MAX) {
				*why = "by-pid needs a process id";
				goto syntax;
			}
			out->subject_pid = (pid_t)n;
		} else if (!strcmp(tok, "errno")) {
			size_t i;

			for (i = 0; i < sizeof(errno_names) / sizeof(*errno_names); i++)
				if (!strcmp(val, errno_names[i].name))
					break;
			if (i < sizeof(errno_names) / sizeof(*errno_names)) {
				out->deny_errno = errno_names[i].value;
			} else if (parse_u32(val, &n) || !n || n > 4095 || !pw_gate_errno_deliverable((int)n)) {
				*why = "errno must be one the kernel can give a denied exec: EPERM, EIO, EBUSY, "
				       "ETXTBSY, EAGAIN, ENOSPC, EDQUOT (or its number)";
				goto syntax;
			} else {
				out->deny_errno = (int)n;
			}
		} else {
			*why = "unknown condition (path, name, sha256, uid, by-name, by-pid, children, arg, "
			       "errno, cache)";
			goto syntax;
		}
	}
	if (*why)
		goto syntax;
	if (out->children && !out->subject_pid && !out->subject_name) {
		*why = "children needs by-pid or by-name";
		goto syntax;
	}
	if (out->deny_errno && out->action != PW_GATE_DENY) {
		*why = "errno applies to deny rules only";
		goto syntax;
	}
	if (out->cache && (out->action == PW_GATE_ASK || out->arg || pw_gate_rule_has_subject(out))) {
		*why = "cache applies to allow/deny rules without uid, by-name, by-pid or arg";
		goto syntax;
	}
	*storage = buf;
	return 0;
syntax:
	free(buf);
	return -PW_ERR_RULE_SYNTAX;
}

PW_API int pw_gate_rule_parse(const char *text, struct pw_gate_rule *out, char **storage)
{
	const char *why;
	int err;

	if (!text || !out || !storage)
		return -EINVAL;
	*storage = NULL;
	err = parse_rule(text, out, storage, &why);
	return err == 1 ? -PW_ERR_RULE_SYNTAX : err;
}

int pw_gate_rules_parse_file(const char *path, struct pw_gate_rules *into, char *errbuf,
			     size_t errlen)
{
	struct pw_gate_rules tmp = { 0 };
	char *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	int err = 0, added = 0;
	FILE *f = fopen(path, "re");

	if (errbuf && errlen)
		errbuf[0] = 0;
	if (!f) {
		err = -errno;
		if (errbuf)
			snprintf(errbuf, errlen, "%s: %s", path, strerror(-err));
		return err;
	}
	/* Validate against a copy holding the rules so far, so limits count too. */
	tmp.n_subject_bits = into->n_subject_bits;
	while (getline(&line, &cap, f) >= 0) {
		struct pw_gate_rule r;
		const char *why;
		char *storage = NULL;

		lineno++;
		err = parse_rule(line, &r, &storage, &why);
		if (err == 1) {
			err = 0;
			continue;
		}
		if (!err) {
			err = pw_gate_rules_add(&tmp, &r);
			free(storage);
			why = err == -PW_ERR_RULE_LIMIT ? "too many subject conditions (max 64)"
							  : pw_strerror(err);
		}
		if (err) {
			if (errbuf)
				snprintf(errbuf, errlen, "%s:%u: %s", path, lineno,
					 why ? why : pw_strerror(err));
			goto out;
		}
		added++;
	}
	if (ferror(f)) {
		err = -EIO;
		if (errbuf)
			snprintf(errbuf, errlen, "%s: read error", path);
		goto out;
	}
	/* Every line is good: move the rules over, renumbering subject bits. */
	for (size_t i = 0; i < tmp.n; i++) {
		const struct pw_gate_rule_entry *e = &tmp.v[i];
		PW_OPTS(pw_gate_rule, r,
			.action = e->action,
			.deny_errno = e->deny_errno == EPERM ? 0 : e->deny_errno,
			.path = e->path,
			.name = e->name,
			.sha256 = e->has_sha256 ? e->sha256 : NULL,
			.has_uid = e->has_uid,
			.uid = e->uid,
			.subject_name = e->subject_name[0] ? e->subject_name : NULL,
			.subject_pid = e->subject_pid,
			.children = e->children,
			.arg = e->arg,
			.cache = e->cache,
		);

		err = pw_gate_rules_add(into, &r);
		if (err)
			goto out; /* cannot happen: validated above */
	}
	err = added;
out:
	free(line);
	fclose(f);
	pw_gate_rules_free(&tmp);
	return err;
}
