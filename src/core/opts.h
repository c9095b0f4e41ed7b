/* SPDX-License-Identifier: MIT */
/*
 * core/opts.h - the sized-struct idiom (libbpf's OPTS_VALID/OPTS_HAS), shared
 * by every entry point that takes an options or rule struct; and load errors.
 */
#ifndef PW_SHARED_H
#define PW_SHARED_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "procward.h"

#define pw_offsetofend(TYPE, FIELD) (offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))

/*
 * The last field this library knows of each sized struct. A caller built
 * against a newer header passes a bigger sz; every byte from the end of this
 * field to its sz must be zero, else it asked for something this library
 * cannot do. Checking from offsetofend rather than sizeof also sees a field
 * appended into today's tail padding (PW_OPTS zero-fills the padding).
 * Appending a field to a struct in procward.h means moving its marker here:
 * the assertions below catch a marker that no longer names the last field
 * whenever the struct grew by at least its alignment.
 */
#define pw_snapshot_opts__last_field proc_root
#define pw_monitor_opts__last_field redact
#define pw_rule__last_field id
#define pw_access_target__last_field access
#define pw_protect_rule__last_field except_pid
#define pw_gate_opts__last_field mounts
#define pw_gate_rule__last_field cache
#define pw_output_opts__last_field mode
#define pw_sampler_opts__last_field max_processes
#define pw_sink_opts__last_field log_userdata
#define pw_sink_file_opts__last_field rotate_compress
#define pw_sink_syslog_opts__last_field facility
#define pw_sink_journal_opts__last_field identifier
#define pw_redact_opts__last_field no_builtin

#define PW_OPTS_KNOWN_SZ(TYPE) pw_offsetofend(struct TYPE, TYPE##__last_field)
#define PW_OPTS_LAST_FIELD_IS_LAST(TYPE)                                       \
	_Static_assert(sizeof(struct TYPE) - PW_OPTS_KNOWN_SZ(TYPE) < _Alignof(struct TYPE), \
		       #TYPE "__last_field is not the last field of struct " #TYPE)
PW_OPTS_LAST_FIELD_IS_LAST(pw_snapshot_opts);
PW_OPTS_LAST_FIELD_IS_LAST(pw_monitor_opts);
PW_OPTS_LAST_FIELD_IS_LAST(pw_rule);
PW_OPTS_LAST_FIELD_IS_LAST(pw_access_target);
PW_OPTS_LAST_FIELD_IS_LAST(pw_protect_rule);
PW_OPTS_LAST_FIELD_IS_LAST(pw_gate_opts);
PW_OPTS_LAST_FIELD_IS_LAST(pw_gate_rule);
PW_OPTS_LAST_FIELD_IS_LAST(pw_sink_opts);
PW_OPTS_LAST_FIELD_IS_LAST(pw_sink_file_opts);
PW_OPTS_LAST_FIELD_IS_LAST(pw_sink_syslog_opts);
PW_OPTS_LAST_FIELD_IS_LAST(pw_sink_journal_opts);
PW_OPTS_LAST_FIELD_IS_LAST(pw_redact_opts);

/* sz covers at least `sz` itself, and nothing past `known` is set. */
static inline bool pw_opts_validate(const void *opts, size_t known, size_t user_sz)
{
	const unsigned char *p = opts;

	if (user_sz < sizeof(size_t))
		return false;
	for (size_t i = known; i < user_sz; i++)
		if (p[i])
			return false;
	return true;
}

/* libbpf's OPTS_VALID: NULL is valid (all defaults); else the tail rule above. */
#define PW_OPTS_VALID(opts, TYPE)                                              \
	(!(opts) || pw_opts_validate((opts), PW_OPTS_KNOWN_SZ(TYPE), (opts)->sz))
/* The caller's struct holds FIELD (an older caller's may end before it). */
#define PW_OPTS_HAS(opts, FIELD)                                               \
	((opts) && (opts)->sz >= pw_offsetofend(__typeof__(*(opts)), FIELD))
/*
 * What a call taking a TYPE answers for opts: 0, -EINVAL where the caller's
 * struct ends before FIELD (the last one it must hold), or -EOPNOTSUPP where
 * it sets fields this library does not know.
 */
#define PW_OPTS_CHECK(opts, FIELD, TYPE)                                       \
	(!PW_OPTS_HAS(opts, FIELD) ? -EINVAL : !PW_OPTS_VALID(opts, TYPE) ? -EOPNOTSUPP : 0)
#define PW_OPTS_GET(opts, FIELD, fallback) (PW_OPTS_HAS(opts, FIELD) ? (opts)->FIELD : (fallback))

/*
 * Copy a validated caller struct into the library's own: fields an older
 * caller's struct lacks stay zero (their defaults), and the copy's sz is
 * the library's, so later code reads every field without PW_OPTS_HAS.
 * NULL opts (all defaults) leaves every field zero.
 */
#define PW_OPTS_COPY(dst, opts)                                                \
	do {                                                                   \
		memset((dst), 0, sizeof(*(dst)));                              \
		if (opts)                                                      \
			memcpy((dst), (opts), (opts)->sz < sizeof(*(dst)) ? (opts)->sz : sizeof(*(dst))); \
		(dst)->sz = sizeof(*(dst));                                    \
	} while (0)

/*
 * A field left zero takes the library's default: PW_OPTS zero-fills, and
 * PW_OPTS_COPY leaves zero what an older caller's struct lacks.
 */
#define PW_OPTS_DEFAULT(field, value)                                          \
	do {                                                                   \
		if (!(field))                                                  \
			(field) = (value);                                     \
	} while (0)

/* Map a libbpf load/attach error to what the application can act on. */
static inline int pw_bpf_load_error(int err)
{
	if (err == -EPERM || err == -EACCES)
		return -PW_ERR_NO_BPF;
	if (err == -ENOENT || err == -ESRCH || err == -ENOTSUP || err == -EOPNOTSUPP ||
	    err == -EINVAL)
		return -PW_ERR_KERNEL_FEATURE;
	return err;
}

#endif
