/* SPDX-License-Identifier: MIT */
/* process.c - ownership of the strings a struct pw_process record holds. */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/process.h"

void pw_process_clear(struct pw_process *p)
{
	if (!p)
		return;
	free(p->image);
	free(p->args);
	free(p->argv);
	free(p->user_name);
	memset(p, 0, sizeof(*p));
}

/*
 * Every NUL ends one argument; bytes after the last NUL are one more
 * (unterminated) argument. So "a\0\0b" is {"a", "", "b"} and "a\0b\0\0" is
 * {"a", "b", ""}: the argv a process passed to execve round-trips exactly.
 * Sets PW_PK_ARGS and clears PW_PK_ARGS_TRUNCATED (the caller sets it after,
 * if the buffer was cut). On failure p is left unchanged.
 */
int pw_process_set_args(struct pw_process *p, const char *buf, size_t len)
{
	char *args = NULL;
	const char **argv = NULL;
	size_t args_len, argc = 0, i, start;

	if (!p || (!buf && len))
		return -EINVAL;
	args_len = len;
	if (len && buf[len - 1] != '\0')
		args_len++;
	/* args_len and argc are uint32_t in the record. */
	if (args_len > UINT32_MAX)
		return -E2BIG;

	if (args_len) {
		args = malloc(args_len);
		if (!args)
			return -ENOMEM;
		memcpy(args, buf, len);
		args[args_len - 1] = '\0';
		for (i = 0; i < args_len; i++)
			if (args[i] == '\0')
				argc++;
		argv = calloc(argc, sizeof(*argv));
		if (!argv) {
			free(args);
			return -ENOMEM;
		}
		for (i = 0, start = 0, argc = 0; i < args_len; i++) {
			if (args[i] == '\0') {
				argv[argc++] = args + start;
				start = i + 1;
			}
		}
	}

	free(p->args);
	free(p->argv);
	p->args = args;
	p->args_len = (uint32_t)args_len;
	p->argc = (uint32_t)argc;
	p->argv = argv;
	p->known |= PW_PK_ARGS;
	p->known &= ~(unsigned int)PW_PK_ARGS_TRUNCATED;
	return 0;
}

/* NULL forgets the image (clears PW_PK_IMAGE). */
int pw_process_set_image(struct pw_process *p, const char *image)
{
	char *copy = NULL;

	if (!p)
		return -EINVAL;
	if (image) {
		copy = strdup(image);
		if (!copy)
			return -ENOMEM;
	}
	free(p->image);
	p->image = copy;
	if (copy)
		p->known |= PW_PK_IMAGE;
	else
		p->known &= ~(unsigned int)PW_PK_IMAGE;
	return 0;
}
