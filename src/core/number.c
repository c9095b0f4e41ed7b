// SPDX-License-Identifier: MIT
/* number.c - length-checked decimal parsing: every byte is looked at, none past the end. */
#include <errno.h>
#include <string.h>

#include "core/number.h"

int pw_parse_u64(const char *s, const char *end, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || s >= end)
		return -EINVAL;
	for (; s < end; s++) {
		unsigned int digit;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		digit = (unsigned int)(*s - '0');
		if (v > (UINT64_MAX - digit) / 10)
			return -EINVAL;
		v = v * 10 + digit;
	}
	*out = v;
	return 0;
}

int pw_parse_u64_max(const char *s, const char *end, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (pw_parse_u64(s, end, &v) || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int pw_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	return s ? pw_parse_u64_max(s, s + strlen(s), max, out) : -EINVAL;
}
