/* SPDX-License-Identifier: MIT */
/* core/number.h - the library's one parser of decimal numbers in untrusted text (/proc, rule texts). */
#ifndef PW_NUMBER_H
#define PW_NUMBER_H

#include <stdint.h>

/*
 * The decimal digits in [s, end), nothing else (no sign, no spaces, at
 * least one digit): 0 and *out, or -EINVAL (also on overflow).
 */
int pw_parse_u64(const char *s, const char *end, uint64_t *out);
/* pw_parse_u64() of a number that must be at most `max`. */
int pw_parse_u64_max(const char *s, const char *end, uint64_t max, uint64_t *out);
/* The same for a whole NUL-terminated string, at most `max`. */
int pw_parse_uint(const char *s, uint64_t max, uint64_t *out);

#endif
