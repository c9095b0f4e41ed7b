/* SPDX-License-Identifier: MIT */
/* fuzz_rules.c - libFuzzer target for both rule text parsers: the monitor's include/exclude rules and the gate's rules (one line and a whole file). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate/gate.h"
#include "monitor/rules.h"

/* Whatever the parser accepts, its validator accepts too, and the strings stay inside storage. */
static void monitor_rule(const char *text)
{
	struct pw_rule rule;
	struct pw_rule_entry e;
	char *storage = NULL;

	if (pw_rule_parse(text, &rule, &storage))
		return;
	if (pw_rule_validate(&rule, &e))
		abort();
	if (rule.name && strlen(rule.name) >= PW_COMM_LEN)
		abort();
	free(storage);
}

static void gate_rule(const char *text)
{
	struct pw_gate_rules rs = { 0 };
	struct pw_gate_rule rule;
	char *storage = NULL;
	int err;

	err = pw_gate_rule_parse(text, &rule, &storage);
	if (err)
		return;
	if (pw_gate_rule_validate(&rule))
		abort(); /* the text form promises only valid rules */
	err = pw_gate_rules_add(&rs, &rule);
	free(storage);
	if (!err) {
		struct pw_gate_subject s = { .image = "/usr/bin/x", .fd = -1,
					     .args = "x\0-y\0", .args_len = 5 };

		(void)pw_gate_rules_match(&rs, &s);
		(void)pw_gate_rules_cache_veto(&rs, 0, true, s.image, NULL);
	}
	pw_gate_rules_free(&rs);
}

/* The file parser: all or nothing, and a clear error for the first bad line. */
static void gate_rules_file(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/pw-fuzz-rules.XXXXXX";
	struct pw_gate_rules rs = { 0 };
	char err[256];
	int fd = mkstemp(path), n;

	if (fd < 0)
		return;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return;
	}
	close(fd);
	n = pw_gate_rules_parse_file(path, &rs, err, sizeof(err));
	unlink(path);
	if (n < 0 && (rs.n || !err[0]))
		abort(); /* a failed file adds nothing and says why */
	if (n >= 0 && rs.n != (size_t)n)
		abort();
	pw_gate_rules_free(&rs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	if (data[0] % 3 == 2) {
		gate_rules_file(data + 1, size - 1);
		return 0;
	}
	/* an exact-size copy, so a read past the NUL is caught by ASan */
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] % 3 == 0)
		monitor_rule(text);
	else
		gate_rule(text);
	free(text);
	return 0;
}
