/* SPDX-License-Identifier: MIT */
/* test_gate_rules.c - the exec gate's static rules: text form, rules files, validation, matching and the cache veto. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gate/gate.h"

/* ------------------------------------------------------------ text form */

/* Every field of a parsed rule; NULL strings and zeros where the text says nothing. */
static const struct parse_case {
	const char *text;
	enum pw_gate_action action;
	int deny_errno;
	const char *path, *name, *subject_name, *arg;
	bool has_uid;
	uint32_t uid;
	pid_t subject_pid;
	bool children, cache;
	int sha_first, sha_last; /* -1: no sha256 */
} parse_cases[] = {
	{ "deny path /usr/bin/nc", PW_GATE_DENY, 0, "/usr/bin/nc", NULL, NULL, NULL, false, 0, 0,
	  false, false, -1, -1 },
	{ "deny errno EAGAIN name curl uid 1000", PW_GATE_DENY, EAGAIN, NULL, "curl", NULL, NULL,
	  true, 1000, 0, false, false, -1, -1 },
	{ "  deny errno 16 name x # trailing comment", PW_GATE_DENY, 16, NULL, "x", NULL, NULL,
	  false, 0, 0, false, false, -1, -1 },
	{ "gate by-pid 1234 children", PW_GATE_ASK, 0, NULL, NULL, NULL, NULL, false, 0, 1234, true,
	  false, -1, -1 },
	{ "ask by-name 'my shell' arg \"-c\"", PW_GATE_ASK, 0, NULL, NULL, "my shell", "-c", false,
	  0, 0, false, false, -1, -1 },
	{ "allow path /usr/bin/cc cache", PW_GATE_ALLOW, 0, "/usr/bin/cc", NULL, NULL, NULL, false,
	  0, 0, false, true, -1, -1 },
	{ "allow sha256 BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
	  PW_GATE_ALLOW, 0, NULL, NULL, NULL, NULL, false, 0, 0, false, false, 0xba, 0xad },
	{ "deny uid 0", PW_GATE_DENY, 0, NULL, NULL, NULL, NULL, true, 0, 0, false, false, -1, -1 },
};

static void assert_str_or_null(const char *got, const char *want)
{
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
}

static void parse_valid_forms(void **state)
{
	struct pw_gate_rule r;
	char *storage = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(*parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];

		if (pw_gate_rule_parse(c->text, &r, &storage))
			fail_msg("refused: %s", c->text);
		assert_int_equal(r.sz, sizeof(r));
		assert_int_equal(r.action, c->action);
		assert_int_equal(r.deny_errno, c->deny_errno);
		assert_str_or_null(r.path, c->path);
		assert_str_or_null(r.name, c->name);
		assert_str_or_null(r.subject_name, c->subject_name);
		assert_str_or_null(r.arg, c->arg);
		assert_int_equal(r.has_uid, c->has_uid);
		assert_int_equal(r.uid, c->uid);
		assert_int_equal(r.subject_pid, c->subject_pid);
		assert_int_equal(r.children, c->children);
		assert_int_equal(r.cache, c->cache);
		if (c->sha_first < 0) {
			assert_null(r.sha256);
		} else {
			assert_non_null(r.sha256);
			assert_int_equal(r.sha256[0], c->sha_first);
			assert_int_equal(r.sha256[31], c->sha_last);
		}
		free(storage);
	}

	/* the strings live in storage, not in the caller's text */
	{
		char text[] = "deny name victim";

		assert_int_equal(pw_gate_rule_parse(text, &r, &storage), 0);
		memset(text, 'x', sizeof(text) - 1);
		assert_string_equal(r.name, "victim");
		free(storage);
	}
}

static void parse_blank_and_comment(void **state)
{
	static const char *const blank[] = { "", "   ", "\t\r\n", "# a comment", "   # indented" };
	struct pw_gate_rule r;
	char *storage = (char *)1;

	(void)state;
	for (size_t i = 0; i < sizeof(blank) / sizeof(*blank); i++) {
		/* one line with no rule is a syntax error for the single-rule parser */
		assert_int_equal(pw_gate_rule_parse(blank[i], &r, &storage), -PW_ERR_RULE_SYNTAX);
		assert_null(storage);
		storage = (char *)1;
	}
}

static void parse_rejects(void **state)
{
	static const char *const bad[] = {
		"permit path /x",                      /* unknown action */
		"deny",                                /* valid: deny everything? no: see below */
		"deny path relative/x",                /* paths are absolute */
		"deny path",                           /* condition without value */
		"deny pth /x",                         /* unknown condition */
		"gate children",                       /* children of whom? */
		"deny sha256 abc",                     /* 64 hex digits */
		"deny sha256 zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"allow by-name averyveryverylongname", /* comm holds 15 bytes */
		"allow by-name ''",
		"deny name bin/curl",                  /* a name is the last component */
		"deny name ''",
		"deny uid -1",
		"deny uid 1000x",
		"deny uid 99999999999",
		"gate by-pid 0",
		"gate by-pid 2147483648",
		"deny errno 0 name x",
		"deny errno 4096 name x",
		"deny errno EWHAT name x",
		"deny errno EACCES name x",            /* the kernel refuses it for a denial */
		"deny errno 13 name x",
		"allow errno EAGAIN name x",           /* errno is for deny */
		"gate name x cache",                   /* a handler's verdict is not a rule's */
		"allow name x uid 1 cache",            /* cached per image: no subject */
		"allow name x arg -v cache",           /* ... and no argv */
		"deny arg ''",
		"deny name 'unterminated",
	};
	struct pw_gate_rule r;
	char *storage;

	(void)state;
	/* "deny" alone is a rule (deny every exec); keep it out of the table's loop */
	assert_int_equal(pw_gate_rule_parse("deny", &r, &storage), 0);
	free(storage);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (!strcmp(bad[i], "deny"))
			continue;
		storage = (char *)1;
		if (pw_gate_rule_parse(bad[i], &r, &storage) != -PW_ERR_RULE_SYNTAX)
			fail_msg("accepted: %s", bad[i]);
		assert_null(storage);
	}
	assert_int_equal(pw_gate_rule_parse(NULL, &r, &storage), -EINVAL);
	assert_int_equal(pw_gate_rule_parse("deny", NULL, &storage), -EINVAL);
	assert_int_equal(pw_gate_rule_parse("deny", &r, NULL), -EINVAL);
}

/* ------------------------------------------------------------ validation */

/* In place: a returned struct need not carry its padding, which must be zero. */
static void base_rule(struct pw_gate_rule *r, enum pw_gate_action a)
{
	memset(r, 0, sizeof(*r));
	r->sz = sizeof(*r);
	r->action = a;
}

static void validate_table(void **state)
{
	static const uint8_t hash[32] = { 1 };
	struct pw_gate_rule r;

	(void)state;
#define CHECK(expr, want)                                                     \
	do {                                                                  \
		base_rule(&r, PW_GATE_DENY);                                  \
		expr;                                                         \
		assert_int_equal(pw_gate_rule_validate(&r), (want));          \
	} while (0)
	CHECK((void)0, 0);
	CHECK(r.action = 0, -EINVAL);
	CHECK(r.action = 4, -EINVAL);
	CHECK(r.deny_errno = -1, -EINVAL);
	CHECK(r.deny_errno = 4096, -EINVAL);
	CHECK(r.deny_errno = 4095, -EINVAL);
	CHECK(r.deny_errno = EACCES, -EINVAL);
	CHECK(r.deny_errno = EAGAIN, 0);
	CHECK(r.path = "rel", -EINVAL);
	CHECK(r.path = "/abs", 0);
	CHECK(r.name = "", -EINVAL);
	CHECK(r.name = "a/b", -EINVAL);
	CHECK(r.name = "ok", 0);
	CHECK(r.subject_name = "", -ENAMETOOLONG);
	CHECK(r.subject_name = "0123456789abcdef", -ENAMETOOLONG);
	CHECK(r.subject_name = "0123456789abcde", 0);
	CHECK(r.subject_pid = -1, -EINVAL);
	CHECK(r.children = true, -EINVAL);
	CHECK((r.children = true, r.subject_pid = 1), 0);
	CHECK(r.arg = "", -EINVAL);
	CHECK(r.sha256 = hash, 0);
	CHECK(r.cache = true, 0);
	CHECK((r.cache = true, r.arg = "-x"), -EINVAL);
	CHECK((r.cache = true, r.has_uid = true), -EINVAL);
	CHECK((r.cache = true, r.action = PW_GATE_ASK), -EINVAL);
#undef CHECK
	assert_int_equal(pw_gate_rule_validate(NULL), -EINVAL);
}

/* Whatever the text form accepts is a valid rule. */
static void parsed_rules_validate(void **state)
{
	static const char *const texts[] = {
		"deny", "allow path /a cache", "deny errno EBUSY name b uid 0",
		"gate by-name sh children arg x", "gate by-pid 7", "deny sha256 "
		"0000000000000000000000000000000000000000000000000000000000000000 by-pid 9",
	};
	struct pw_gate_rule r;
	char *storage;

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
		assert_int_equal(pw_gate_rule_parse(texts[i], &r, &storage), 0);
		assert_int_equal(pw_gate_rule_validate(&r), 0);
		free(storage);
	}
}

/* ------------------------------------------------------------ rule set */

static void add_text(struct pw_gate_rules *rs, const char *text)
{
	struct pw_gate_rule r;
	char *storage;

	assert_int_equal(pw_gate_rule_parse(text, &r, &storage), 0);
	assert_int_equal(pw_gate_rules_add(rs, &r), 0);
	free(storage);
}

static void rules_set_flags_and_bits(void **state)
{
	struct pw_gate_rules rs = { 0 };

	(void)state;
	add_text(&rs, "deny name nc");
	assert_true(rs.need_image);
	assert_false(rs.need_hash || rs.have_scope || rs.have_trees || rs.need_argv);
	assert_int_equal(rs.v[0].deny_errno, EPERM); /* 0 means EPERM */
	add_text(&rs, "gate uid 1000 by-name sh by-pid 5 children");
	assert_true(rs.have_scope && rs.have_trees);
	/* three subject conditions, three bits of their own */
	assert_int_equal(rs.n_subject_bits, 3);
	assert_int_equal(rs.v[1].subject_mask, 0x7);
	add_text(&rs, "deny arg --evil uid 0");
	assert_true(rs.need_argv);
	assert_int_equal(rs.v[2].subject_mask, 0x8);
	add_text(&rs, "deny sha256 "
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(rs.need_hash);

	/* removing recomputes what the rest needs; bits are not reused */
	assert_int_equal(pw_gate_rules_remove(&rs, 3), 0);
	assert_false(rs.need_hash);
	assert_int_equal(pw_gate_rules_remove(&rs, 1), 0);
	assert_false(rs.have_scope || rs.have_trees);
	assert_true(rs.need_argv && rs.need_image);
	assert_int_equal(rs.n, 2);
	assert_string_equal(rs.v[1].arg, "--evil");
	assert_int_equal(rs.n_subject_bits, 4);
	assert_int_equal(pw_gate_rules_remove(&rs, 2), -ENOENT);
	pw_gate_rules_free(&rs);
	assert_int_equal(rs.n, 0);
	assert_null(rs.v);
}

static void rules_subject_limit(void **state)
{
	struct pw_gate_rules rs = { 0 };
	struct pw_gate_rule r;

	(void)state;
	base_rule(&r, PW_GATE_DENY);
	r.has_uid = true;
	for (unsigned int i = 0; i < PW_GATE_MAX_SUBJECTS; i++) {
		r.uid = i;
		assert_int_equal(pw_gate_rules_add(&rs, &r), 0);
	}
	assert_int_equal(pw_gate_rules_add(&rs, &r), -PW_ERR_RULE_LIMIT);
	assert_int_equal(rs.n, PW_GATE_MAX_SUBJECTS);
	/* a rule without a subject needs no bit */
	r.has_uid = false;
	assert_int_equal(pw_gate_rules_add(&rs, &r), 0);
	pw_gate_rules_free(&rs);
}

/* ------------------------------------------------------------ matching */

static struct pw_gate_subject subject(const char *image, const char *args, uint32_t args_len)
{
	struct pw_gate_subject s;

	memset(&s, 0, sizeof(s));
	s.image = image;
	s.fd = -1;
	s.args = args;
	s.args_len = args_len;
	return s;
}

static void match_first_rule_wins(void **state)
{
	struct pw_gate_rules rs = { 0 };
	struct pw_gate_subject s;

	(void)state;
	add_text(&rs, "allow path /usr/bin/cc");
	add_text(&rs, "deny name cc");
	add_text(&rs, "deny name nc uid 1000");
	add_text(&rs, "deny arg -e");
	add_text(&rs, "gate");

	s = subject("/usr/bin/cc", NULL, 0);
	assert_int_equal(pw_gate_rules_match(&rs, &s), 0);
	s = subject("/opt/cc", NULL, 0);
	assert_int_equal(pw_gate_rules_match(&rs, &s), 1);
	/* name compares the last component only, exactly */
	s = subject("/usr/bin/ncat", NULL, 0);
	assert_int_equal(pw_gate_rules_match(&rs, &s), 4);
	s = subject("/usr/bin/nc", NULL, 0);
	assert_int_equal(pw_gate_rules_match(&rs, &s), 4); /* uid condition not met */
	s.subject_bits = rs.v[2].subject_mask;
	assert_int_equal(pw_gate_rules_match(&rs, &s), 2);
	/* unknown image: no path or name rule can match */
	s = subject(NULL, NULL, 0);
	assert_int_equal(pw_gate_rules_match(&rs, &s), 4);
	pw_gate_rules_free(&rs);
	s = subject("/usr/bin/cc", NULL, 0);
	assert_int_equal(pw_gate_rules_match(&rs, &s), -1);
}

static void match_args(void **state)
{
	struct pw_gate_rules rs = { 0 };
	struct pw_gate_subject s;

	(void)state;
	add_text(&rs, "deny arg -e");
	/* argv[0] is not an argument */
	s = subject("/bin/x", "-e\0-x\0", 6);
	assert_int_equal(pw_gate_rules_match(&rs, &s), -1);
	s = subject("/bin/x", "nc\0-l\0-e\0", 9);
	assert_int_equal(pw_gate_rules_match(&rs, &s), 0);
	/* the last argument without its NUL (a cut argv) is still compared within args_len */
	s = subject("/bin/x", "nc\0-e", 5);
	assert_int_equal(pw_gate_rules_match(&rs, &s), 0);
	/* a prefix of the argument is not the argument */
	s = subject("/bin/x", "nc\0-ex\0", 7);
	assert_int_equal(pw_gate_rules_match(&rs, &s), -1);
	s = subject("/bin/x", "nc\0-", 4);
	assert_int_equal(pw_gate_rules_match(&rs, &s), -1);
	/* argv not captured: no arg rule matches */
	s = subject("/bin/x", NULL, 0);
	assert_int_equal(pw_gate_rules_match(&rs, &s), -1);
	pw_gate_rules_free(&rs);
}

static void match_sha256_from_fd(void **state)
{
	struct pw_gate_rules rs = { 0 };
	struct pw_gate_subject s;
	char path[] = "/tmp/pw-gate-rules-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "abc", 3), 3);
	add_text(&rs, "deny sha256 "
		      "0000000000000000000000000000000000000000000000000000000000000000");
	add_text(&rs, "deny sha256 "
		      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	s = subject("/bin/x", NULL, 0);
	s.fd = fd;
	assert_int_equal(pw_gate_rules_match(&rs, &s), 1);
	assert_true(s.have_hash); /* hashed once, kept for the other rules and the cache */
	assert_int_equal(s.hash[0], 0xba);
	/* no descriptor, no hash: the rule cannot match */
	s = subject("/bin/x", NULL, 0);
	assert_int_equal(pw_gate_rules_match(&rs, &s), -1);
	close(fd);
	pw_gate_rules_free(&rs);
}

/* ------------------------------------------------------------ cache veto */

/*
 * The table pw_gate_rules_cache_veto() implements: may the verdict for
 * this image be kept, so that the kernel lets later execs of it through
 * (allow) or the gate answers them without the rules (deny)?
 */
static void cache_veto_table(void **state)
{
	static const uint8_t hash_x[32] = { 0x11 }, hash_other[32] = { 0x22 };
	char sha_x[160];
	struct pw_gate_rules rs = { 0 };

	(void)state;
	/* 0 */ add_text(&rs, "deny name curl arg --upload");
	/* 1 */ add_text(&rs, "deny name nc uid 1000");
	/* 2 */ add_text(&rs, "gate by-name sh");
	/* 3 */ add_text(&rs, "allow path /usr/bin/cc");
	/* 4 */ add_text(&rs, "deny name cc uid 0");
	snprintf(sha_x, sizeof(sha_x), "deny sha256 11%062d", 0);
	/* 5 */ add_text(&rs, sha_x);

	/* the rule that decided depends on argv or on the subject: never cached */
	assert_string_equal(pw_gate_rules_cache_veto(&rs, 0, false, "/usr/bin/curl", NULL),
			    "the rule that matched depends on argv");
	assert_string_equal(pw_gate_rules_cache_veto(&rs, 1, false, "/usr/bin/nc", NULL),
			    "the rule that matched depends on the subject");
	assert_string_equal(pw_gate_rules_cache_veto(&rs, 1, true, "/usr/bin/nc", NULL),
			    "the rule that matched depends on the subject");
	/* an ASK rule's subject only routes to the handler; its verdict is about the image */
	assert_null(pw_gate_rules_cache_veto(&rs, 2, false, "/usr/bin/vim", NULL));
	/* a deny (no rule, or a rule for everyone) is looked up after the rules: cached */
	assert_null(pw_gate_rules_cache_veto(&rs, -1, false, "/usr/bin/nc", NULL));
	/* an allow for nc: rule 1 would deny nc for uid 1000 */
	assert_string_equal(pw_gate_rules_cache_veto(&rs, -1, true, "/usr/bin/nc", NULL),
			    "a deny rule that depends on the subject or argv may match this image");
	/* an allow for curl: rule 0 would deny it with --upload */
	assert_non_null(pw_gate_rules_cache_veto(&rs, -1, true, "/usr/bin/curl", NULL));
	/* /usr/bin/cc: rule 3 allows it for everyone first; rule 4 is never reached */
	assert_null(pw_gate_rules_cache_veto(&rs, 3, true, "/usr/bin/cc", NULL));
	/* another cc: rule 3 does not match it, rule 4 could deny it */
	assert_non_null(pw_gate_rules_cache_veto(&rs, -1, true, "/opt/cc", NULL));
	/* a sha256 deny rule: unknown hash vetoes, a known other hash does not */
	assert_string_equal(pw_gate_rules_cache_veto(&rs, -1, true, "/usr/bin/vim", NULL),
			    "a deny rule by sha256 may match this image");
	assert_null(pw_gate_rules_cache_veto(&rs, -1, true, "/usr/bin/vim", hash_other));
	/* rule 3 decides cc before the sha256 rule is reached, whatever its hash */
	assert_null(pw_gate_rules_cache_veto(&rs, 3, true, "/usr/bin/cc", hash_x));
	/* out-of-range rule indexes are "no rule" */
	assert_null(pw_gate_rules_cache_veto(&rs, 99, false, "/usr/bin/nc", NULL));
	pw_gate_rules_free(&rs);

	/* no rules at all: every verdict may be cached */
	assert_null(pw_gate_rules_cache_veto(&rs, -1, true, "/usr/bin/x", NULL));
	assert_null(pw_gate_rules_cache_veto(&rs, -1, true, NULL, NULL));
}

/* ------------------------------------------------------------ rules files */

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rules_file_all_or_nothing(void **state)
{
	char path[64], err[256];
	struct pw_gate_rules rs = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "/tmp/pw-gate-rules-%d", getpid());
	add_text(&rs, "deny name before"); /* already there: kept either way */

	write_text(path, "# comment\ndeny path /nonexistent/pwg-a\n\ndeny pth /x\nallow name ok\n");
	assert_int_equal(pw_gate_rules_parse_file(path, &rs, err, sizeof(err)), -PW_ERR_RULE_SYNTAX);
	assert_non_null(strstr(err, ":4: unknown condition"));
	assert_int_equal(rs.n, 1);

	write_text(path, "deny path /nonexistent/pwg-a\ndeny name curl uid 1000\n"
			 "\n# two rules and a comment\ngate by-pid 1 children\n");
	assert_int_equal(pw_gate_rules_parse_file(path, &rs, err, sizeof(err)), 3);
	assert_int_equal(rs.n, 4);
	assert_string_equal(rs.v[3 - 1].name, "curl");
	assert_int_equal(rs.v[3].subject_pid, 1);
	/* subject bits continue after the rules already there */
	assert_int_equal(rs.v[2].subject_mask, 0x1);
	assert_int_equal(rs.v[3].subject_mask, 0x2);

	/* the subject limit counts the rules already in the set */
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		for (int i = 0; i < PW_GATE_MAX_SUBJECTS; i++)
			fprintf(f, "deny uid %d\n", i);
		fclose(f);
	}
	assert_int_equal(pw_gate_rules_parse_file(path, &rs, err, sizeof(err)), -PW_ERR_RULE_LIMIT);
	assert_non_null(strstr(err, ":63: too many subject conditions"));
	assert_int_equal(rs.n, 4);

	unlink(path);
	assert_int_equal(pw_gate_rules_parse_file(path, &rs, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	pw_gate_rules_free(&rs);
}

/* The same through the public API (moved here from the root-only integration suite). */
static void rules_file_public_api(void **state)
{
	char path[64], err[256];
	PW_OPTS(pw_gate_opts, o);
	struct pw_gate *g = NULL;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/pw-gate-rules-api-%d", getpid());
	write_text(path, "# comment\ndeny path /nonexistent/pwg-a\n\ndeny pth /x\nallow name ok\n");
	assert_int_equal(pw_gate_new(&o, &g), 0);
	assert_int_equal(pw_gate_load_rules_file(g, path, err, sizeof(err)), -PW_ERR_RULE_SYNTAX);
	assert_non_null(strstr(err, ":4:"));
	write_text(path, "deny path /nonexistent/pwg-a\ndeny name curl uid 1000\ngate by-pid 1 children\n");
	assert_int_equal(pw_gate_load_rules_file(g, path, err, sizeof(err)), 3);
	unlink(path);
	pw_gate_free(g);
}

/*
 * pw_gate_replace_rules_file: all or nothing; once running (the subject
 * rules are in the kernel's maps since start) only a file with the same
 * subject rules in the same order is taken.
 */
static void rules_file_replace(void **state)
{
	char path[64], err[256];
	PW_OPTS(pw_gate_opts, o);
	struct pw_gate *g = NULL;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/pw-gate-rules-replace-%d", getpid());
	assert_int_equal(pw_gate_new(&o, &g), 0);
	assert_int_equal(pw_gate_add_rule_text(g, "deny name from-text"), 0);
	write_text(path, "deny path /nonexistent/a\ndeny name curl uid 1000\n");
	assert_int_equal(pw_gate_replace_rules_file(g, path, err, sizeof(err)), 2);
	assert_int_equal(g->rules.n, 2); /* the earlier rule is gone: a replacement, not an addition */
	assert_string_equal(g->rules.v[0].path, "/nonexistent/a");
	write_text(path, "deny path /nonexistent/b\ndeny bogus\n");
	assert_int_equal(pw_gate_replace_rules_file(g, path, err, sizeof(err)), -PW_ERR_RULE_SYNTAX);
	assert_non_null(strstr(err, ":2: "));
	assert_int_equal(g->rules.n, 2);
	assert_string_equal(g->rules.v[0].path, "/nonexistent/a"); /* the rules in force stay */

	/* as if started (no kernel side here: the cache flush has nothing to flush) */
	g->started = true;
	write_text(path, "deny path /nonexistent/c\ndeny name curl uid 1000\nallow name ok\n");
	assert_int_equal(pw_gate_replace_rules_file(g, path, err, sizeof(err)), 3);
	assert_string_equal(g->rules.v[0].path, "/nonexistent/c");
	assert_int_equal(g->rules.v[1].subject_mask, 0x1); /* the bit the kernel knows it by */
	write_text(path, "deny path /nonexistent/d\ndeny name curl uid 1001\n");
	assert_int_equal(pw_gate_replace_rules_file(g, path, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "restart to change them"));
	write_text(path, "deny path /nonexistent/d\n");
	assert_int_equal(pw_gate_replace_rules_file(g, path, err, sizeof(err)), -EBUSY);
	assert_int_equal(g->rules.n, 3);
	assert_string_equal(g->rules.v[0].path, "/nonexistent/c");
	g->started = false;
	unlink(path);
	assert_int_equal(pw_gate_replace_rules_file(g, path, err, sizeof(err)), -ENOENT);
	assert_int_equal(g->rules.n, 3);
	pw_gate_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_valid_forms),
		cmocka_unit_test(parse_blank_and_comment),
		cmocka_unit_test(parse_rejects),
		cmocka_unit_test(validate_table),
		cmocka_unit_test(parsed_rules_validate),
		cmocka_unit_test(rules_set_flags_and_bits),
		cmocka_unit_test(rules_subject_limit),
		cmocka_unit_test(match_first_rule_wins),
		cmocka_unit_test(match_args),
		cmocka_unit_test(match_sha256_from_fd),
		cmocka_unit_test(cache_veto_table),
		cmocka_unit_test(rules_file_all_or_nothing),
		cmocka_unit_test(rules_file_public_api),
		cmocka_unit_test(rules_file_replace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
