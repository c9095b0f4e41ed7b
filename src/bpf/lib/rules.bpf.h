/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* rules.bpf.h - in-kernel tracking decision, made before any ring-buffer space is used. */
#ifndef PW_RULES_BPF_H
#define PW_RULES_BPF_H

#include "lib/maps.bpf.h"
#include "lib/verdict.bpf.h"

struct glob_state {
	char pattern[PW_COMM_LEN];
	char subject[PW_COMM_LEN];
	__u32 plen, p, i, star, mark;
	bool have_star;
	int result; /* -1 while undecided */
};

/*
 * One step of the classic single-backtrack '*'/'?' glob. Every step
 * advances i or p, or moves the star's anchor forward, so 2 * 16 * 16 steps
 * always decide. Run through bpf_loop() so the verifier checks the step
 * once instead of walking every path of every iteration.
 */
/*
 * The state lives in a map, not on the stack: the verifier then knows
 * nothing of its values and checks the step once, instead of walking every
 * combination of constants through 512 iterations (newer verifiers follow
 * bpf_loop callbacks until their state converges).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct glob_state);
} glob_scratch SEC(".maps");

struct glob_ctx {
	struct glob_state *g;
};

static long glob_step(__u64 index, void *ctx)
{
	struct glob_state *g = ((struct glob_ctx *)ctx)->g;
	__u32 p, i;
	char c, pc;

	if (!g)
		return 1;
	p = g->p;
	i = g->i;
	c = i < PW_COMM_LEN ? g->subject[i & (PW_COMM_LEN - 1)] : 0;
	pc = p < PW_COMM_LEN ? g->pattern[p & (PW_COMM_LEN - 1)] : 0;
	if (!c) {
		/* Subject consumed: only stars may remain. */
		if (p >= g->plen) {
			g->result = 1;
			return 1;
		}
		if (pc != '*') {
			g->result = 0;
			return 1;
		}
		g->p = p + 1;
		return 0;
	}
	if (p < g->plen && pc != '*' && (pc == '?' || pc == c)) {
		g->p = p + 1;
		g->i = i + 1;
	} else if (p < g->plen && pc == '*') {
		g->have_star = true;
		g->star = p;
		g->p = p + 1;
		g->mark = i;
	} else if (g->have_star) {
		g->p = g->star + 1;
		g->mark++;
		g->i = g->mark;
	} else {
		g->result = 0;
		return 1;
	}
	return 0;
}

static __always_inline bool glob_match(const char *pattern, __u32 plen, const char *subject)
{
	struct glob_ctx ctx;
	__u32 zero = 0;
	struct glob_state *g = bpf_map_lookup_elem(&glob_scratch, &zero);

	if (!g || plen > PW_COMM_LEN)
		return false;
	__builtin_memcpy(g->pattern, pattern, PW_COMM_LEN);
	__builtin_memcpy(g->subject, subject, PW_COMM_LEN);
	g->plen = plen;
	g->p = g->i = g->star = g->mark = 0;
	g->have_star = false;
	g->result = -1;
	ctx.g = g;
	bpf_loop(2 * PW_COMM_LEN * PW_COMM_LEN, glob_step, &ctx, 0);
	return g->result == 1;
}

struct pattern_scan {
	const char *comm;
	__u32 count;
	__u8 verdict;
};

/* bpf_loop callback: match pattern rule number `index` against the comm. */
static long pattern_step(__u64 index, void *ctx)
{
	struct pattern_scan *scan = ctx;
	__u32 key = index;
	struct pw_pattern_rule *r;

	if (key >= scan->count)
		return 1;
	r = bpf_map_lookup_elem(&pattern_rules, &key);
	if (!r)
		return 1;
	if (glob_match(r->pattern, r->len, scan->comm))
		scan->verdict |= r->verdict;
	return 0;
}

/* PW_VERDICT_* of the rules that match this process itself, 0 if none. */
static __always_inline __u8 rule_verdict(__u32 tgid, __u32 uid, const char comm[PW_COMM_LEN])
{
	__u32 kinds = cfg.rule_kinds;
	__u8 verdict = pid_uid_verdict(&pid_rules, &uid_rules, kinds, tgid, uid), *v;

	if (kinds & PW_RK_NAME) {
		v = bpf_map_lookup_elem(&name_rules, comm);
		if (v)
			verdict |= *v;
	}
	if (kinds & PW_RK_PATTERN) {
		/* Prefix rules arrive here as globs ending in '*'. */
		struct pattern_scan scan = { .comm = comm, .count = cfg.n_patterns };

		bpf_loop(PW_MAX_PATTERNS, pattern_step, &scan, 0);
		verdict |= scan.verdict;
	}
	if (verdict & PW_VERDICT_EXCLUDE)
		return PW_VERDICT_EXCLUDE;
	return verdict;
}

/* The verdict that applies to a process: its own rules, else an inherited one. */
static __always_inline __u8 effective_verdict(__u32 tgid, __u32 uid, const char comm[PW_COMM_LEN])
{
	__u8 verdict = rule_verdict(tgid, uid, comm);

	if (!verdict && cfg.inherit) {
		__u8 *v = bpf_map_lookup_elem(&inherited, &tgid);

		if (v)
			verdict = *v;
	}
	return verdict;
}

static __always_inline bool verdict_tracks(__u8 verdict)
{
	if (verdict == PW_VERDICT_EXCLUDE)
		return false;
	if (verdict == PW_VERDICT_INCLUDE)
		return true;
	return !(cfg.rule_kinds & PW_RK_HAS_INCLUDE);
}

static __always_inline void count_filtered(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&filtered_count, &zero);

	if (n)
		*n += 1;
}

#endif
