/* SPDX-License-Identifier: MIT */
/* gate.h - internals of struct pw_gate shared by its modules (gate.c, gate_rules.c, gate_sha256.c). */
#ifndef PW_GATE_H
#define PW_GATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "procward.h"
#include "log.h"
#include "bpf/gate_abi.h"

/* ------------------------------------------------------------ SHA-256 */
struct pw_sha256 {
	uint32_t h[8];
	uint64_t len;
	uint8_t buf[64];
	size_t used;
};
void pw_sha256_init(struct pw_sha256 *c);
void pw_sha256_update(struct pw_sha256 *c, const void *data, size_t len);
void pw_sha256_final(struct pw_sha256 *c, uint8_t out[32]);
/* Hash a whole file from its fd with pread (the offset is not moved). 0 or -errno. */
int pw_sha256_fd(int fd, uint8_t out[32]);

/* ------------------------------------------------------------- rules */
struct pw_gate_rule_entry {
	enum pw_gate_action action;
	int deny_errno;
	char *path;
	char *name;
	bool has_sha256;
	uint8_t sha256[32];
	uint64_t subject_mask; /* condition bits that must all be in pw_gate_meta.subject_bits */
	/* subject conditions as given (for the BPF maps) */
	bool has_uid;
	uint32_t uid;
	char subject_name[PW_COMM_LEN];
	pid_t subject_pid;
	bool children;
	char *arg;         /* an argument after argv[0] equals this */
	bool cache;        /* the verdict is cached for the image */
};

struct pw_gate_rules {
	struct pw_gate_rule_entry *v;
	size_t n, cap;
	unsigned int n_subject_bits;
	bool need_image;    /* a rule looks at path or name */
	bool need_hash;     /* a rule looks at sha256 */
	bool have_scope;    /* an ASK rule with a subject restricts the gated set */
	bool have_trees;
	bool need_argv;     /* a rule looks at argv */
};

int pw_gate_rule_validate(const struct pw_gate_rule *r);
int pw_gate_rules_add(struct pw_gate_rules *rs, const struct pw_gate_rule *r);
void pw_gate_rules_free(struct pw_gate_rules *rs);
/* Remove rule i (later ones move up). -ENOENT if none. */
int pw_gate_rules_remove(struct pw_gate_rules *rs, size_t i);
/* A rule with conditions on the exec'ing process (uid, by-name, by-pid). */
static inline bool pw_gate_rule_has_subject(const struct pw_gate_rule *r)
{
	return r->has_uid || r->subject_name || r->subject_pid;
}

/* What the rules see of one exec-open. */
struct pw_gate_subject {
	uint64_t subject_bits;
	const char *image;   /* NULL if unknown */
	int fd;              /* for hashing */
	bool have_hash;
	uint8_t hash[32];
	const char *args;    /* argv, NUL-separated (NULL: not captured) */
	uint32_t args_len;
};

/* Index of the first matching rule, or -1. May hash (fd) when a rule needs it. */
int pw_gate_rules_match(const struct pw_gate_rules *rs, struct pw_gate_subject *s);

/*
 * Whether a verdict for this exec may be cached for its image (see
 * "Verdict cache" in procward.h): NULL if so, else why not. matched: the
 * rule that routed the exec (-1: none); image/hash: what is known of it
 * (hash NULL: not computed).
 */
const char *pw_gate_rules_cache_veto(const struct pw_gate_rules *rs, int matched, bool allow,
				     const char *image, const uint8_t *hash);

#endif
