// SPDX-License-Identifier: MIT
/* rules.c - validate, parse and store include/exclude rules; mirror them into the BPF maps. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "core/array.h"
#include "core/number.h"
#include "core/opts.h"
#include "monitor/rules.h"

static int validate_name(const char *name, enum pw_rule_match match)
{
	size_t len;

	if (!name || !*name)
		return -EINVAL;
	len = strlen(name);
	/* comm holds 15 bytes; a prefix rule needs room for its '*'. */
	if (len > PW_COMM_LEN - 1 - (match == PW_MATCH_NAME_PREFIX))
		return -ENAMETOOLONG;
	if (match == PW_MATCH_NAME && strpbrk(name, "*?"))
		return -EINVAL; /* a literal name cannot hold glob characters meaningfully */
	return 0;
}

int pw_rule_validate(const struct pw_rule *rule, struct pw_rule_entry *out)
{
	int err = PW_OPTS_CHECK(rule, id, pw_rule);

	if (err)
		return err;
	if (rule->action != PW_RULE_INCLUDE && rule->action != PW_RULE_EXCLUDE)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->action = rule->action;
	out->match = rule->match;
	switch (rule->match) {
	case PW_MATCH_NAME:
	case PW_MATCH_NAME_PREFIX:
	case PW_MATCH_NAME_GLOB:
		err = validate_name(rule->name, rule->match);
		if (err)
			return err;
		strcpy(out->name, rule->name);
		if (rule->match == PW_MATCH_NAME_PREFIX)
			strcat(out->name, "*");
		return 0;
	case PW_MATCH_PID:
		if (rule->id == 0 || rule->id > 4194304) /* PID_MAX_LIMIT */
			return -EINVAL;
		out->id = rule->id;
		return 0;
	case PW_MATCH_UID:
		if (rule->id == (uint32_t)-1)
			return -EINVAL;
		out->id = rule->id;
		return 0;
	}
	return -EINVAL;
}

static int same_rule(const struct pw_rule_entry *a, const struct pw_rule_entry *b)
{
	return a->action == b->action && a->match == b->match && a->id == b->id &&
	       !strcmp(a->name, b->name);
}

static int is_pattern(enum pw_rule_match m)
{
	return m == PW_MATCH_NAME_PREFIX || m == PW_MATCH_NAME_GLOB;
}

int pw_rules_add(struct pw_rules *rules, const struct pw_rule_entry *e)
{
	size_t n_patterns = 0, n_names = 0, n_ids = 0;

	for (size_t i = 0; i < rules->n; i++) {
		if (same_rule(&rules->v[i], e))
			return -EEXIST;
		n_patterns += is_pattern(rules->v[i].match);
		n_names += rules->v[i].match == PW_MATCH_NAME;
		n_ids += rules->v[i].match == PW_MATCH_PID || rules->v[i].match == PW_MATCH_UID;
	}
	if ((is_pattern(e->match) && n_patterns >= PW_MAX_PATTERN_RULES) ||
	    (e->match == PW_MATCH_NAME && n_names >= PW_MAX_NAME_RULES) ||
	    ((e->match == PW_MATCH_PID || e->match == PW_MATCH_UID) && n_ids >= PW_MAX_ID_RULES))
		return -(PW_ERR_RULE_LIMIT);
	if (pw_array_grow((void **)&rules->v, &rules->cap, rules->n + 1, sizeof(*rules->v), 16))
		return -ENOMEM;
	rules->v[rules->n++] = *e;
	return 0;
}

int pw_rules_change(struct pw_rules *rules, const struct pw_rule_entry *e, bool add,
		    int (*sync)(void *ctx), void *ctx)
{
	int err = add ? pw_rules_add(rules, e) : pw_rules_remove(rules, e);

	if (err)
		return err;
	err = sync(ctx);
	if (err)
		(void)(add ? pw_rules_remove(rules, e) : pw_rules_add(rules, e));
	return err;
}

int pw_rules_remove(struct pw_rules *rules, const struct pw_rule_entry *e)
{
	for (size_t i = 0; i < rules->n; i++) {
		if (same_rule(&rules->v[i], e)) {
			memmove(&rules->v[i], &rules->v[i + 1], (rules->n - i - 1) * sizeof(*e));
			rules->n--;
			return 0;
		}
	}
	return -ENOENT;
}

void pw_rules_clear(struct pw_rules *rules)
{
	rules->n = 0;
}

void pw_rules_free(struct pw_rules *rules)
{
	free(rules->v);
	memset(rules, 0, sizeof(*rules));
}

static __u8 verdict_of(enum pw_rule_action a)
{
	return a == PW_RULE_INCLUDE ? PW_VERDICT_INCLUDE : PW_VERDICT_EXCLUDE;
}

/* Delete every key of a hash map. */
static int clear_hash(int fd, size_t key_size)
{
	char key[PW_COMM_LEN], next[PW_COMM_LEN];
	int err;

	while (!(err = bpf_map_get_next_key(fd, NULL, next))) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key) && errno != ENOENT)
			return -errno;
	}
	return err == -ENOENT || errno == ENOENT ? 0 : -errno;
}

/* The verdict bits of all rules with this exact key, merged as the kernel expects. */
static int put_merged(int fd, const void *key, __u8 verdict)
{
	__u8 old = 0;

	if (!bpf_map_lookup_elem(fd, key, &old))
		verdict |= old;
	return bpf_map_update_elem(fd, key, &verdict, BPF_ANY) ? -errno : 0;
}

int pw_rules_sync(const struct pw_rules *rules, const struct pw_rule_maps *maps)
{
	struct pw_bpf_config *cfg = maps->cfg;
	__u32 kinds = 0, n_patterns = 0;
	int err;

	/* Narrow first: while the maps change, the kernel tracks everything. */
	__atomic_store_n(&cfg->rule_kinds, 0, __ATOMIC_SEQ_CST);
	if ((err = clear_hash(maps->pid_fd, sizeof(__u32))) ||
	    (err = clear_hash(maps->uid_fd, sizeof(__u32))) ||
	    (err = clear_hash(maps->name_fd, PW_COMM_LEN)))
		return err;

	for (size_t i = 0; i < rules->n; i++) {
		const struct pw_rule_entry *e = &rules->v[i];
		__u8 verdict = verdict_of(e->action);

		if (e->action == PW_RULE_INCLUDE)
			kinds |= PW_RK_HAS_INCLUDE;
		switch (e->match) {
		case PW_MATCH_PID:
			err = put_merged(maps->pid_fd, &e->id, verdict);
			kinds |= PW_RK_PID;
			break;
		case PW_MATCH_UID:
			err = put_merged(maps->uid_fd, &e->id, verdict);
			kinds |= PW_RK_UID;
			break;
		case PW_MATCH_NAME: {
			char key[PW_COMM_LEN] = { 0 };

			memcpy(key, e->name, strlen(e->name));
			err = put_merged(maps->name_fd, key, verdict);
			kinds |= PW_RK_NAME;
			break;
		}
		case PW_MATCH_NAME_PREFIX:
		case PW_MATCH_NAME_GLOB: {
			struct pw_pattern_rule pr = { .kind = PW_PATTERN_GLOB, .verdict = verdict };
			__u32 key = n_patterns++;

			pr.len = strlen(e->name);
			memcpy(pr.pattern, e->name, pr.len);
			err = bpf_map_update_elem(maps->pattern_fd, &key, &pr, BPF_ANY) ? -errno : 0;
			kinds |= PW_RK_PATTERN;
			break;
		}
		}
		if (err)
			return err;
	}
	cfg->n_patterns = n_patterns;
	__atomic_store_n(&cfg->rule_kinds, kinds, __ATOMIC_SEQ_CST);
	return 0;
}

int pw_glob_match(const char *pat, const char *s)
{
	size_t p = 0, i = 0, star = 0, mark = 0, plen = strlen(pat), slen = strlen(s);
	int have_star = 0;

	while (i < slen) {
		if (p < plen && pat[p] != '*' && (pat[p] == '?' || pat[p] == s[i])) {
			p++;
			i++;
		} else if (p < plen && pat[p] == '*') {
			have_star = 1;
			star = p++;
			mark = i;
		} else if (have_star) {
			p = star + 1;
			i = ++mark;
		} else {
			return 0;
		}
	}
	while (p < plen && pat[p] == '*')
		p++;
	return p == plen;
}

static const struct {
	const char *word;
	enum pw_rule_match match;
} match_words[] = {
	{ "name", PW_MATCH_NAME },	       { "name-prefix", PW_MATCH_NAME_PREFIX },
	{ "name-glob", PW_MATCH_NAME_GLOB }, { "pid", PW_MATCH_PID },
	{ "uid", PW_MATCH_UID },
};

static int parse_id(const char *s, uint32_t *out)
{
	uint64_t v;

	if (pw_parse_uint(s, UINT32_MAX, &v))
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

PW_API int pw_rule_parse(const char *text, struct pw_rule *out, char **storage)
{
	char *copy, *words[4], *save = NULL, *w;
	size_t n = 0, i;
	int err = -(PW_ERR_RULE_SYNTAX);

	if (!text || !out || !storage)
		return -EINVAL;
	*storage = NULL;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	for (w = strtok_r(copy, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == 3)
			goto fail; /* trailing words */
		words[n++] = w;
	}
	if (n != 3)
		goto fail;
	memset(out, 0, sizeof(*out));
	out->sz = sizeof(*out);
	if (!strcmp(words[0], "include"))
		out->action = PW_RULE_INCLUDE;
	else if (!strcmp(words[0], "exclude"))
		out->action = PW_RULE_EXCLUDE;
	else
		goto fail;
	for (i = 0; i < sizeof(match_words) / sizeof(match_words[0]); i++)
		if (!strcmp(words[1], match_words[i].word))
			break;
	if (i == sizeof(match_words) / sizeof(match_words[0]))
		goto fail;
	out->match = match_words[i].match;
	if (out->match == PW_MATCH_PID || out->match == PW_MATCH_UID) {
		if (parse_id(words[2], &out->id))
			goto fail;
	} else {
		/* Strip one level of quotes: 'py*' as typed in a rules file. */
		size_t len = strlen(words[2]);

		if (len >= 2 && (words[2][0] == '\'' || words[2][0] == '"') &&
		    words[2][len - 1] == words[2][0]) {
			words[2][len - 1] = 0;
			words[2]++;
		}
		out->name = words[2];
	}
	{
		struct pw_rule_entry check;

		err = pw_rule_validate(out, &check);
		if (err)
			goto fail;
	}
	*storage = copy;
	return 0;
fail:
	free(copy);
	memset(out, 0, sizeof(*out));
	return err;
}
