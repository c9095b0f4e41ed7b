/* SPDX-License-Identifier: MIT */
/* core/array.h - the one growable-array step every module uses: double the capacity until it holds `need`. */
#ifndef PW_ARRAY_H
#define PW_ARRAY_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Make room for `need` elements of `elem` bytes in *v, whose capacity is
 * *cap: doubled, starting from `first`. 0, or -ENOMEM with *v and *cap
 * unchanged (also when the size would overflow).
 */
static inline int pw_array_grow(void **v, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t n = *cap ? *cap : first;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / elem)
		return -ENOMEM;
	q = realloc(*v, n * elem);
	if (!q)
		return -ENOMEM;
	*v = q;
	*cap = n;
	return 0;
}

#endif
