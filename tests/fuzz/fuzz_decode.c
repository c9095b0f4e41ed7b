/* SPDX-License-Identifier: MIT */
/* fuzz_decode.c - libFuzzer target for the ring-buffer record decoder: any bytes give an event or -EBADMSG, never an overread. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/event.h"

/* Every string an accepted event hands out is NUL-terminated where ASan can see it. */
static void touch(const char *s)
{
	if (s)
		(void)strlen(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_decode_buf buf = { 0 };
	struct pw_event ev;
	void *rec;
	int err;

	/* An exact-size heap copy (8-aligned by malloc, as ring records are), so any read past size is caught. */
	rec = malloc(size ? size : 1);
	if (!rec)
		return 0;
	memcpy(rec, data, size);
	memset(&ev, 0, sizeof(ev));
	err = pw_event_decode(&ev, rec, size, &buf);
	if (err && err != -EBADMSG && err != -ENOMEM)
		abort();
	if (!err) {
		size_t argc = pw_event_argc(&ev);

		(void)pw_event_type(&ev);
		(void)pw_event_pid(&ev);
		(void)pw_event_key(&ev);
		(void)pw_event_parent_key(&ev);
		(void)pw_event_flags(&ev);
		touch(pw_event_name(&ev));
		touch(pw_event_image(&ev));
		touch(pw_event_previous_image(&ev));
		touch(pw_event_exec_filename(&ev));
		touch(pw_event_cwd(&ev));
		for (size_t i = 0; i < argc; i++)
			if (!pw_event_arg(&ev, i))
				abort();
		if (pw_event_arg(&ev, argc))
			abort();
		(void)pw_event_token(&ev);
	}
	pw_decode_buf_free(&buf);
	free(rec);
	return 0;
}
