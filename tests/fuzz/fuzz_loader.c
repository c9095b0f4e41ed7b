/* SPDX-License-Identifier: MIT */
/* fuzz_loader.c - libFuzzer target for finding PROGRAM in `ld.so PROGRAM`'s command line (the exec'ing user's text). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/gate.h"

/* Whatever is found lies inside the input and ends there (a NUL within it). */
static void inside(const char *p, const char *buf, size_t len)
{
	if (!p)
		return;
	if (p < buf || p >= buf + len || !memchr(p, 0, (size_t)(buf + len - p)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	const char *prog, *libpath = NULL;

	if (size > 1 << 16)
		return 0;
	buf = malloc(size ? size : 1); /* exactly the input: ASan sees any read past it */
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	prog = pw_gate_loader_program(buf, (uint32_t)size, &libpath);
	inside(prog, buf, size);
	inside(libpath, buf, size);
	if (libpath && !prog)
		abort(); /* a library path is only for a PROGRAM */
	free(buf);
	return 0;
}
