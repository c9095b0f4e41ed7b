/* SPDX-License-Identifier: MIT */
/* rules.h - the include/exclude rule set of a monitor and its mirror in the BPF maps. */
#ifndef PW_RULES_H
#define PW_RULES_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#include "procward.h"
#include "bpf/abi/events.h"

/* One validated rule, with its name copied. */
struct pw_rule_entry {
	enum pw_rule_action action;
	enum pw_rule_match match;
	char name[PW_COMM_LEN]; /* NUL-terminated; pattern for NAME_PREFIX/GLOB */
	uint32_t id;
};

struct pw_rules {
	struct pw_rule_entry *v;
	size_t n, cap;
};

/* Where the kernel side keeps the rules. */
struct pw_rule_maps {
	int pid_fd, uid_fd, name_fd, pattern_fd;
	struct pw_bpf_config *cfg; /* mmapped .bss */
};

/* Check a public rule and convert it. -EINVAL, -ENAMETOOLONG. */
int pw_rule_validate(const struct pw_rule *rule, struct pw_rule_entry *out);

int pw_rules_add(struct pw_rules *rules, const struct pw_rule_entry *e);
int pw_rules_remove(struct pw_rules *rules, const struct pw_rule_entry *e);
void pw_rules_clear(struct pw_rules *rules);
void pw_rules_free(struct pw_rules *rules);
/*
 * Add (or remove) e, then mirror the set into the kernel with sync(ctx);
 * if that fails, undo the change, so that the user side stays equal to what
 * the kernel enforces. Returns the first error.
 */
int pw_rules_change(struct pw_rules *rules, const struct pw_rule_entry *e, bool add,
		    int (*sync)(void *ctx), void *ctx);

/*
 * Make the kernel maps equal to `rules`. Safe while programs run: the
 * rule kinds are narrowed before entries go and widened after they come.
 */
int pw_rules_sync(const struct pw_rules *rules, const struct pw_rule_maps *maps);

/* Glob of the kernel's algorithm, for tests and user-side checks. */
int pw_glob_match(const char *pattern, const char *subject);

#endif
