/* SPDX-License-Identifier: MIT */
/* test_rules.c - rule text parsing, rule validation, the user-side rule set and the glob matcher. */
#include <errno.h>
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/rules.h"

/* ------------------------------------------------------------ pw_rule_parse */

struct parse_ok {
	const char *text;
	enum pw_rule_action action;
	enum pw_rule_match match;
	const char *name; /* NULL for id rules */
	uint32_t id;
};

static void parse_valid_forms(void **state)
{
	static const struct parse_ok cases[] = {
		{ "include name bash", PW_RULE_INCLUDE, PW_MATCH_NAME, "bash", 0 },
		{ "exclude name bash", PW_RULE_EXCLUDE, PW_MATCH_NAME, "bash", 0 },
		{ "include name-prefix kworker", PW_RULE_INCLUDE, PW_MATCH_NAME_PREFIX, "kworker", 0 },
		{ "exclude name-prefix kworker", PW_RULE_EXCLUDE, PW_MATCH_NAME_PREFIX, "kworker", 0 },
		{ "include name-glob py*", PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB, "py*", 0 },
		{ "exclude name-glob s?h", PW_RULE_EXCLUDE, PW_MATCH_NAME_GLOB, "s?h", 0 },
		{ "include pid 42", PW_RULE_INCLUDE, PW_MATCH_PID, NULL, 42 },
		{ "exclude pid 1", PW_RULE_EXCLUDE, PW_MATCH_PID, NULL, 1 },
		{ "exclude pid 4194304", PW_RULE_EXCLUDE, PW_MATCH_PID, NULL, 4194304 },
		{ "include uid 1000", PW_RULE_INCLUDE, PW_MATCH_UID, NULL, 1000 },
		{ "exclude uid 0", PW_RULE_EXCLUDE, PW_MATCH_UID, NULL, 0 },
		{ "include uid 4294967294", PW_RULE_INCLUDE, PW_MATCH_UID, NULL, 4294967294u },
		{ "include uid 007", PW_RULE_INCLUDE, PW_MATCH_UID, NULL, 7 },
		/* one level of quotes is stripped, as typed in a rules file */
		{ "include name-glob 'py*'", PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB, "py*", 0 },
		{ "include name-glob \"py*\"", PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB, "py*", 0 },
		{ "exclude name 'bash'", PW_RULE_EXCLUDE, PW_MATCH_NAME, "bash", 0 },
		{ "include name-glob ''py*''", PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB, "'py*'", 0 },
		{ "include name 'x\"", PW_RULE_INCLUDE, PW_MATCH_NAME, "'x\"", 0 },
		{ "include name '", PW_RULE_INCLUDE, PW_MATCH_NAME, "'", 0 },
		/* any whitespace separates words */
		{ "  include\tname   bash \n", PW_RULE_INCLUDE, PW_MATCH_NAME, "bash", 0 },
		/* length limits: comm is 15 chars, a prefix needs one more for its '*' */
		{ "include name 123456789012345", PW_RULE_INCLUDE, PW_MATCH_NAME, "123456789012345", 0 },
		{ "include name-prefix 12345678901234", PW_RULE_INCLUDE, PW_MATCH_NAME_PREFIX,
		  "12345678901234", 0 },
		{ "include name-glob 12345678901234*", PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB,
		  "12345678901234*", 0 },
		{ "include name-glob '123456789012345'", PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB,
		  "123456789012345", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct parse_ok *c = &cases[i];
		struct pw_rule rule;
		struct pw_rule_entry e;
		char *storage = (char *)1;
		int err = pw_rule_parse(c->text, &rule, &storage);

		if (err)
			fail_msg("'%s': %d (%s)", c->text, err, strerror(-err));
		assert_non_null(storage);
		assert_int_equal(rule.sz, sizeof(rule));
		assert_int_equal(rule.action, c->action);
		assert_int_equal(rule.match, c->match);
		if (c->name) {
			assert_non_null(rule.name);
			assert_string_equal(rule.name, c->name);
			/* the name lives in the storage the caller frees */
			assert_true(rule.name >= storage && rule.name < storage + strlen(c->text));
			assert_int_equal(rule.id, 0);
		} else {
			assert_null(rule.name);
			assert_int_equal(rule.id, c->id);
		}
		/* what parse accepts, validate accepts */
		assert_int_equal(pw_rule_validate(&rule, &e), 0);
		free(storage);
	}
}

struct parse_bad {
	const char *text;
	int err;
};

static void parse_invalid_forms(void **state)
{
	static const struct parse_bad cases[] = {
		{ "", -(PW_ERR_RULE_SYNTAX) },
		{ "   \t\n", -(PW_ERR_RULE_SYNTAX) },
		{ "include", -(PW_ERR_RULE_SYNTAX) },
		{ "include name", -(PW_ERR_RULE_SYNTAX) },      /* missing value */
		{ "include pid", -(PW_ERR_RULE_SYNTAX) },
		{ "include name bash extra", -(PW_ERR_RULE_SYNTAX) },
		{ "include name bash zsh fish", -(PW_ERR_RULE_SYNTAX) },
		{ "include name 'a b'", -(PW_ERR_RULE_SYNTAX) }, /* quotes do not group words */
		{ "allow name bash", -(PW_ERR_RULE_SYNTAX) },
		{ "Include name bash", -(PW_ERR_RULE_SYNTAX) },
		{ "include comm bash", -(PW_ERR_RULE_SYNTAX) },
		{ "include name_prefix x", -(PW_ERR_RULE_SYNTAX) },
		{ "include gid 0", -(PW_ERR_RULE_SYNTAX) },
		{ "name include bash", -(PW_ERR_RULE_SYNTAX) },
		{ "include pid abc", -(PW_ERR_RULE_SYNTAX) },
		{ "include pid 12abc", -(PW_ERR_RULE_SYNTAX) },
		{ "include pid -1", -(PW_ERR_RULE_SYNTAX) },
		{ "include pid +5", -(PW_ERR_RULE_SYNTAX) },
		{ "include pid 0x10", -(PW_ERR_RULE_SYNTAX) },
		{ "include pid 1.5", -(PW_ERR_RULE_SYNTAX) },
		{ "include uid 4294967296", -(PW_ERR_RULE_SYNTAX) },      /* overflows uint32 */
		{ "include uid 99999999999999999999999", -(PW_ERR_RULE_SYNTAX) },
		{ "include pid 18446744073709551616", -(PW_ERR_RULE_SYNTAX) },
		{ "include pid 0", -EINVAL },
		{ "include pid 4194305", -EINVAL },  /* above PID_MAX_LIMIT */
		{ "include pid 4294967295", -EINVAL },
		{ "include uid 4294967295", -EINVAL }, /* (uid_t)-1 is "no uid" */
		{ "include name 1234567890123456", -ENAMETOOLONG },
		{ "include name-glob 1234567890123456", -ENAMETOOLONG },
		{ "include name-prefix 123456789012345", -ENAMETOOLONG },
		{ "include name ''", -EINVAL },
		{ "include name-glob \"\"", -EINVAL },
		{ "include name ba*", -EINVAL }, /* a literal name cannot hold glob characters */
		{ "include name b?sh", -EINVAL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct pw_rule rule;
		char *storage = (char *)1;
		int err;

		memset(&rule, 0x5a, sizeof(rule));
		err = pw_rule_parse(cases[i].text, &rule, &storage);
		if (err != cases[i].err)
			fail_msg("'%s': got %d, want %d", cases[i].text, err, cases[i].err);
		assert_null(storage);
		/* nothing of the failed parse is left for the caller to misuse */
		assert_null(rule.name);
		assert_int_equal(rule.sz, 0);
	}
}

static void parse_null_arguments(void **state)
{
	struct pw_rule rule;
	char *storage;

	(void)state;
	assert_int_equal(pw_rule_parse(NULL, &rule, &storage), -EINVAL);
	assert_int_equal(pw_rule_parse("include pid 1", NULL, &storage), -EINVAL);
	assert_int_equal(pw_rule_parse("include pid 1", &rule, NULL), -EINVAL);
}

static void strerror_of_rule_errors(void **state)
{
	(void)state;
	assert_non_null(pw_strerror(-(PW_ERR_RULE_SYNTAX)));
	assert_non_null(pw_strerror(-(PW_ERR_RULE_LIMIT)));
	assert_string_not_equal(pw_strerror(-(PW_ERR_RULE_SYNTAX)),
				pw_strerror(-(PW_ERR_RULE_LIMIT)));
}

/* ------------------------------------------------------- pw_rule_validate */

/*
 * Filled in place, not returned: a struct assignment need not copy padding,
 * and the library refuses a non-zero byte after the last field it knows.
 */
static void name_rule(struct pw_rule *r, enum pw_rule_action a, enum pw_rule_match m,
		      const char *name)
{
	memset(r, 0, sizeof(*r));
	r->sz = sizeof(*r);
	r->action = a;
	r->match = m;
	r->name = name;
}

static void id_rule(struct pw_rule *r, enum pw_rule_action a, enum pw_rule_match m, uint32_t id)
{
	memset(r, 0, sizeof(*r));
	r->sz = sizeof(*r);
	r->action = a;
	r->match = m;
	r->id = id;
}

static void validate_converts(void **state)
{
	struct pw_rule r;
	struct pw_rule_entry e;

	(void)state;
	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME, "bash");
	assert_int_equal(pw_rule_validate(&r, &e), 0);
	assert_int_equal(e.action, PW_RULE_INCLUDE);
	assert_int_equal(e.match, PW_MATCH_NAME);
	assert_string_equal(e.name, "bash");
	assert_int_equal(e.id, 0);

	/* a prefix becomes the glob the kernel runs */
	name_rule(&r, PW_RULE_EXCLUDE, PW_MATCH_NAME_PREFIX, "kworker");
	assert_int_equal(pw_rule_validate(&r, &e), 0);
	assert_string_equal(e.name, "kworker*");
	name_rule(&r, PW_RULE_EXCLUDE, PW_MATCH_NAME_PREFIX, "12345678901234");
	assert_int_equal(pw_rule_validate(&r, &e), 0);
	assert_string_equal(e.name, "12345678901234*");

	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB, "*");
	assert_int_equal(pw_rule_validate(&r, &e), 0);
	assert_string_equal(e.name, "*");

	id_rule(&r, PW_RULE_EXCLUDE, PW_MATCH_PID, 77);
	r.name = "ignored";
	assert_int_equal(pw_rule_validate(&r, &e), 0);
	assert_int_equal(e.id, 77);
	assert_string_equal(e.name, "");

	id_rule(&r, PW_RULE_INCLUDE, PW_MATCH_UID, 0);
	assert_int_equal(pw_rule_validate(&r, &e), 0);
	assert_int_equal(e.match, PW_MATCH_UID);
	assert_int_equal(e.id, 0);
}

static void validate_rejects(void **state)
{
	struct pw_rule r;
	struct pw_rule_entry e;

	(void)state;
	assert_int_equal(pw_rule_validate(NULL, &e), -EINVAL);

	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME, "bash");
	r.sz = offsetof(struct pw_rule, id); /* too old to hold the id */
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
	r.sz = 0;
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);

	name_rule(&r, 0, PW_MATCH_NAME, "bash");
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
	name_rule(&r, 3, PW_MATCH_NAME, "bash");
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
	name_rule(&r, PW_RULE_INCLUDE, 0, "bash");
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
	name_rule(&r, PW_RULE_INCLUDE, 6, "bash");
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);

	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME, NULL);
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB, NULL);
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME_PREFIX, "");
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME, "1234567890123456");
	assert_int_equal(pw_rule_validate(&r, &e), -ENAMETOOLONG);
	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME_PREFIX, "123456789012345");
	assert_int_equal(pw_rule_validate(&r, &e), -ENAMETOOLONG);
	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB,
		      "a-very-long-pattern-that-goes-on-and-on-and-on");
	assert_int_equal(pw_rule_validate(&r, &e), -ENAMETOOLONG);
	name_rule(&r, PW_RULE_INCLUDE, PW_MATCH_NAME, "b*sh");
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);

	id_rule(&r, PW_RULE_INCLUDE, PW_MATCH_PID, 0);
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
	id_rule(&r, PW_RULE_INCLUDE, PW_MATCH_PID, 4194305);
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
	id_rule(&r, PW_RULE_INCLUDE, PW_MATCH_UID, UINT32_MAX);
	assert_int_equal(pw_rule_validate(&r, &e), -EINVAL);
}

/* A newer caller's larger struct is accepted: sz only has to cover what we read. */
static void validate_accepts_larger_struct(void **state)
{
	struct {
		struct pw_rule rule;
		uint64_t future_field;
	} big;
	struct pw_rule_entry e;

	(void)state;
	memset(&big, 0, sizeof(big));
	big.rule.action = PW_RULE_INCLUDE;
	big.rule.match = PW_MATCH_PID;
	big.rule.id = 9;
	big.rule.sz = sizeof(big);
	assert_int_equal(pw_rule_validate(&big.rule, &e), 0);
	assert_int_equal(e.id, 9);
	/* a newer caller's field this library does not know: refused, not ignored */
	big.future_field = 1;
	assert_int_equal(pw_rule_validate(&big.rule, &e), -EOPNOTSUPP);
	big.future_field = 0;
	/* ... also when it would sit in today's tail padding, right after id */
	((unsigned char *)&big.rule)[offsetof(struct pw_rule, id) + sizeof(big.rule.id)] = 1;
	assert_int_equal(pw_rule_validate(&big.rule, &e), -EOPNOTSUPP);
}

/* ------------------------------------------------------------- rule set */

static struct pw_rule_entry entry(enum pw_rule_action a, enum pw_rule_match m, const char *name,
				  uint32_t id)
{
	struct pw_rule_entry e;

	memset(&e, 0, sizeof(e));
	e.action = a;
	e.match = m;
	e.id = id;
	if (name)
		snprintf(e.name, sizeof(e.name), "%s", name);
	return e;
}

static void rules_add_and_duplicates(void **state)
{
	struct pw_rules rules = { 0 };
	struct pw_rule_entry a = entry(PW_RULE_INCLUDE, PW_MATCH_NAME, "bash", 0);
	struct pw_rule_entry b = entry(PW_RULE_EXCLUDE, PW_MATCH_NAME, "bash", 0);
	struct pw_rule_entry c = entry(PW_RULE_INCLUDE, PW_MATCH_NAME_GLOB, "bash", 0);
	struct pw_rule_entry d = entry(PW_RULE_INCLUDE, PW_MATCH_PID, NULL, 42);
	struct pw_rule_entry e = entry(PW_RULE_INCLUDE, PW_MATCH_UID, NULL, 42);

	(void)state;
	assert_int_equal(pw_rules_add(&rules, &a), 0);
	assert_int_equal(pw_rules_add(&rules, &a), -EEXIST);
	/* same value, other action or match: other rules */
	assert_int_equal(pw_rules_add(&rules, &b), 0);
	assert_int_equal(pw_rules_add(&rules, &c), 0);
	assert_int_equal(pw_rules_add(&rules, &d), 0);
	assert_int_equal(pw_rules_add(&rules, &e), 0);
	assert_int_equal(pw_rules_add(&rules, &d), -EEXIST);
	assert_int_equal(pw_rules_add(&rules, &e), -EEXIST);
	assert_int_equal(rules.n, 5);
	assert_int_equal(rules.v[0].match, PW_MATCH_NAME);
	assert_int_equal(rules.v[4].match, PW_MATCH_UID);

	/* duplicates are found through validate too: one prefix and its glob are one rule */
	{
		struct pw_rule r1;
		struct pw_rule_entry e1;

		name_rule(&r1, PW_RULE_INCLUDE, PW_MATCH_NAME_PREFIX, "py");
		assert_int_equal(pw_rule_validate(&r1, &e1), 0);
		assert_int_equal(pw_rules_add(&rules, &e1), 0);
		assert_int_equal(pw_rules_add(&rules, &e1), -EEXIST);
	}
	pw_rules_free(&rules);
	assert_null(rules.v);
	assert_int_equal(rules.n, 0);
	pw_rules_free(&rules); /* twice is harmless */
}

static void rules_limits(void **state)
{
	struct pw_rules rules = { 0 };
	struct pw_rule_entry e;
	char name[PW_COMM_LEN];
	uint32_t i;

	(void)state;
	/* patterns: prefix and glob rules share one budget */
	for (i = 0; i < PW_MAX_PATTERN_RULES; i++) {
		snprintf(name, sizeof(name), "p%u*", i);
		e = entry(PW_RULE_INCLUDE, i % 2 ? PW_MATCH_NAME_GLOB : PW_MATCH_NAME_PREFIX, name, 0);
		assert_int_equal(pw_rules_add(&rules, &e), 0);
	}
	e = entry(PW_RULE_EXCLUDE, PW_MATCH_NAME_GLOB, "over*", 0);
	assert_int_equal(pw_rules_add(&rules, &e), -(PW_ERR_RULE_LIMIT));
	e = entry(PW_RULE_EXCLUDE, PW_MATCH_NAME_PREFIX, "over*", 0);
	assert_int_equal(pw_rules_add(&rules, &e), -(PW_ERR_RULE_LIMIT));
	/* a full pattern budget leaves the others alone */
	e = entry(PW_RULE_EXCLUDE, PW_MATCH_NAME, "n", 0);
	assert_int_equal(pw_rules_add(&rules, &e), 0);
	e = entry(PW_RULE_EXCLUDE, PW_MATCH_PID, NULL, 1);
	assert_int_equal(pw_rules_add(&rules, &e), 0);

	/* names */
	for (i = 1; i < PW_MAX_NAME_RULES; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		e = entry(i % 2 ? PW_RULE_INCLUDE : PW_RULE_EXCLUDE, PW_MATCH_NAME, name, 0);
		assert_int_equal(pw_rules_add(&rules, &e), 0);
	}
	e = entry(PW_RULE_INCLUDE, PW_MATCH_NAME, "one-too-many", 0);
	assert_int_equal(pw_rules_add(&rules, &e), -(PW_ERR_RULE_LIMIT));

	/* pids and uids share the id budget */
	for (i = 2; i <= PW_MAX_ID_RULES; i++) {
		e = entry(PW_RULE_EXCLUDE, i % 2 ? PW_MATCH_UID : PW_MATCH_PID, NULL, i);
		assert_int_equal(pw_rules_add(&rules, &e), 0);
	}
	e = entry(PW_RULE_EXCLUDE, PW_MATCH_UID, NULL, 999999);
	assert_int_equal(pw_rules_add(&rules, &e), -(PW_ERR_RULE_LIMIT));
	e = entry(PW_RULE_EXCLUDE, PW_MATCH_PID, NULL, 999999);
	assert_int_equal(pw_rules_add(&rules, &e), -(PW_ERR_RULE_LIMIT));
	assert_int_equal(rules.n, PW_MAX_PATTERN_RULES + PW_MAX_NAME_RULES + PW_MAX_ID_RULES);

	/* removing one frees its slot */
	e = entry(PW_RULE_EXCLUDE, PW_MATCH_PID, NULL, 2);
	assert_int_equal(pw_rules_remove(&rules, &e), 0);
	e = entry(PW_RULE_EXCLUDE, PW_MATCH_UID, NULL, 999999);
	assert_int_equal(pw_rules_add(&rules, &e), 0);

	/* clear empties the set but keeps it usable */
	pw_rules_clear(&rules);
	assert_int_equal(rules.n, 0);
	e = entry(PW_RULE_EXCLUDE, PW_MATCH_NAME_GLOB, "over*", 0);
	assert_int_equal(pw_rules_add(&rules, &e), 0);
	pw_rules_free(&rules);
}

/* The kernel mirror: counts calls, sees the set at the time, fails on demand. */
struct fake_sync {
	const struct pw_rules *rules;
	int calls;
	size_t n_seen;
	int ret;
};

static int fake_sync(void *ctx)
{
	struct fake_sync *f = ctx;

	f->calls++;
	f->n_seen = f->rules->n;
	return f->ret;
}

static void rules_change_rolls_back(void **state)
{
	struct pw_rules rules = { 0 };
	struct fake_sync f = { .rules = &rules };
	struct pw_rule_entry a = entry(PW_RULE_INCLUDE, PW_MATCH_NAME, "a", 0);
	struct pw_rule_entry b = entry(PW_RULE_EXCLUDE, PW_MATCH_UID, NULL, 7);

	(void)state;
	assert_int_equal(pw_rules_change(&rules, &a, true, fake_sync, &f), 0);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.n_seen, 1); /* the kernel is synced with the new set */
	/* the kernel refuses: the add is undone */
	f.ret = -ENOSPC;
	assert_int_equal(pw_rules_change(&rules, &b, true, fake_sync, &f), -ENOSPC);
	assert_int_equal(f.n_seen, 2);
	assert_int_equal(rules.n, 1);
	assert_string_equal(rules.v[0].name, "a");
	/* ... and a remove is undone too: the kernel still enforces the rule */
	assert_int_equal(pw_rules_change(&rules, &a, false, fake_sync, &f), -ENOSPC);
	assert_int_equal(f.n_seen, 0);
	assert_int_equal(rules.n, 1);
	assert_string_equal(rules.v[0].name, "a");
	/* a set error comes first: no sync at all */
	f.ret = 0;
	f.calls = 0;
	assert_int_equal(pw_rules_change(&rules, &b, false, fake_sync, &f), -ENOENT);
	assert_int_equal(f.calls, 0);
	assert_int_equal(pw_rules_change(&rules, &a, false, fake_sync, &f), 0);
	assert_int_equal(rules.n, 0);
	pw_rules_free(&rules);
}

static void rules_remove(void **state)
{
	struct pw_rules rules = { 0 };
	struct pw_rule_entry e[4] = {
		entry(PW_RULE_INCLUDE, PW_MATCH_NAME, "a", 0),
		entry(PW_RULE_INCLUDE, PW_MATCH_NAME, "b", 0),
		entry(PW_RULE_EXCLUDE, PW_MATCH_PID, NULL, 5),
		entry(PW_RULE_INCLUDE, PW_MATCH_NAME, "c", 0),
	};
	struct pw_rule_entry other;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pw_rules_add(&rules, &e[i]), 0);

	/* only an exact match is removed */
	other = entry(PW_RULE_EXCLUDE, PW_MATCH_NAME, "a", 0);
	assert_int_equal(pw_rules_remove(&rules, &other), -ENOENT);
	other = entry(PW_RULE_INCLUDE, PW_MATCH_PID, NULL, 5);
	assert_int_equal(pw_rules_remove(&rules, &other), -ENOENT);
	other = entry(PW_RULE_EXCLUDE, PW_MATCH_PID, NULL, 6);
	assert_int_equal(pw_rules_remove(&rules, &other), -ENOENT);
	assert_int_equal(rules.n, 4);

	/* the order of the others is kept */
	assert_int_equal(pw_rules_remove(&rules, &e[1]), 0);
	assert_int_equal(rules.n, 3);
	assert_string_equal(rules.v[0].name, "a");
	assert_int_equal(rules.v[1].id, 5);
	assert_string_equal(rules.v[2].name, "c");
	assert_int_equal(pw_rules_remove(&rules, &e[1]), -ENOENT);

	assert_int_equal(pw_rules_remove(&rules, &e[3]), 0); /* the last one */
	assert_int_equal(pw_rules_remove(&rules, &e[0]), 0); /* the first one */
	assert_int_equal(rules.n, 1);
	assert_int_equal(rules.v[0].id, 5);
	assert_int_equal(pw_rules_remove(&rules, &e[2]), 0);
	assert_int_equal(rules.n, 0);
	assert_int_equal(pw_rules_remove(&rules, &e[2]), -ENOENT);
	/* removed rules may come back */
	assert_int_equal(pw_rules_add(&rules, &e[2]), 0);
	pw_rules_free(&rules);

	/* an empty, never-allocated set */
	assert_int_equal(pw_rules_remove(&rules, &e[0]), -ENOENT);
	pw_rules_clear(&rules);
	pw_rules_free(&rules);
}

/* ------------------------------------------------------------ pw_glob_match */

struct glob_case {
	const char *pattern, *subject;
	int match;
};

static void glob_table(void **state)
{
	static const struct glob_case cases[] = {
		{ "", "", 1 },
		{ "", "a", 0 },
		{ "a", "", 0 },
		{ "*", "", 1 },
		{ "**", "", 1 },
		{ "?", "", 0 },
		{ "*", "anything", 1 },
		{ "bash", "bash", 1 },
		{ "bash", "bas", 0 },
		{ "bash", "bashh", 0 },
		{ "bash", "Bash", 0 },
		{ "b?sh", "bash", 1 },
		{ "b?sh", "bsh", 0 },
		{ "????", "bash", 1 },
		{ "???", "bash", 0 },
		{ "py*", "python3", 1 },
		{ "py*", "py", 1 },
		{ "py*", "p", 0 },
		{ "py*", "xpython", 0 },
		{ "*sh", "bash", 1 },
		{ "*sh", "sh", 1 },
		{ "*sh", "shx", 0 },
		{ "*ab*", "xxabyy", 1 },
		{ "*ab*", "xxbayy", 0 },
		{ "a*b*c", "aXbYc", 1 },
		{ "a*b*c", "abc", 1 },
		{ "a*b*c", "acb", 0 },
		{ "a*a*a", "aaa", 1 },
		{ "a*a*a", "aa", 0 },
		{ "*a?", "xxxab", 1 },
		{ "*a?", "xxxa", 0 },
		{ "*aab", "aaaab", 1 },   /* needs the backtrack */
		{ "*abc*abd", "abcabcabd", 1 },
		{ "kworker*", "kworker/0:1", 1 },
		{ "kworker/*", "kworker/u8:2", 1 },
		{ "*/*", "kworker/0:1", 1 },
		{ "*:*", "kworker/0:1H", 1 },
		{ ".*", ".hidden", 1 },   /* no FNM_PERIOD semantics */
		{ "*", ".hidden", 1 },
		{ "[ab]", "a", 0 },       /* no bracket expressions: '[' is literal */
		{ "[ab]", "[ab]", 1 },
		{ "\\*", "\\x", 1 },      /* no escapes: '\' is literal, '*' still a star */
		{ "123456789012345", "123456789012345", 1 },
		{ "12345678901234*", "123456789012345", 1 },
		{ "*5", "123456789012345", 1 },
		/* a '*' in the subject is an ordinary character for a '*' in the pattern */
		{ "*", "*", 1 },
		{ "*b", "*xb", 1 },
		{ "a*b", "a*xb", 1 },
		{ "*?", "*", 1 },
		{ "?*x", "**yx", 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct glob_case *c = &cases[i];
		int got = pw_glob_match(c->pattern, c->subject);

		if (got != c->match)
			fail_msg("pw_glob_match(\"%s\", \"%s\") = %d, want %d", c->pattern, c->subject,
				 got, c->match);
	}
}

/* xorshift64*: reproducible without touching the global rand() state */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void random_string(char *out, size_t max_len, const char *alphabet)
{
	size_t n = rng() % (max_len + 1), k = strlen(alphabet);

	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[rng() % k];
	out[n] = 0;
}

/*
 * Property: for patterns of literals, '*' and '?', pw_glob_match agrees with
 * fnmatch(3) without flags, on names up to comm's 15 characters. The small
 * alphabet makes matches common and backtracking frequent.
 */
static void glob_agrees_with_fnmatch(void **state, const char *subject_alphabet)
{
	char pattern[PW_COMM_LEN], subject[PW_COMM_LEN];
	unsigned long matches = 0, failures = 0;
	const unsigned long rounds = 200000;

	(void)state;
	for (unsigned long r = 0; r < rounds; r++) {
		int want, got;

		random_string(pattern, PW_COMM_LEN - 1, "ab*?");
		random_string(subject, PW_COMM_LEN - 1, subject_alphabet);
		want = fnmatch(pattern, subject, 0) == 0;
		got = pw_glob_match(pattern, subject);
		matches += want;
		if (got != want && failures++ < 10)
			print_error("pw_glob_match(\"%s\", \"%s\") = %d, fnmatch says %d\n", pattern,
				    subject, got, want);
	}
	/* the generator must exercise both outcomes to mean anything */
	assert_true(matches > rounds / 100);
	assert_true(matches < rounds - rounds / 100);
	if (failures)
		fail_msg("%lu of %lu random cases disagree with fnmatch", failures, rounds);
}

static void glob_property_plain_subjects(void **state)
{
	glob_agrees_with_fnmatch(state, "ab");
}

/* Process names may contain '*' and '?' themselves (prctl(PR_SET_NAME)). */
static void glob_property_subjects_with_wildcards(void **state)
{
	glob_agrees_with_fnmatch(state, "ab*?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_valid_forms),
		cmocka_unit_test(parse_invalid_forms),
		cmocka_unit_test(parse_null_arguments),
		cmocka_unit_test(strerror_of_rule_errors),
		cmocka_unit_test(validate_converts),
		cmocka_unit_test(validate_rejects),
		cmocka_unit_test(validate_accepts_larger_struct),
		cmocka_unit_test(rules_add_and_duplicates),
		cmocka_unit_test(rules_limits),
		cmocka_unit_test(rules_remove),
		cmocka_unit_test(rules_change_rolls_back),
		cmocka_unit_test(glob_table),
		cmocka_unit_test(glob_property_plain_subjects),
		cmocka_unit_test(glob_property_subjects_with_wildcards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
