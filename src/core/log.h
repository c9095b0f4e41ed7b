/* SPDX-License-Identifier: MIT */
/* log.h - route library messages to the application's log callback; the library never prints. */
#ifndef PW_LOG_H
#define PW_LOG_H

#include "procward.h"

struct pw_logger {
	pw_log_fn fn;
	void *userdata;
};

void pw_log(const struct pw_logger *log, enum pw_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * libbpf's print callback is process-wide; while a handle loads its
 * programs, libbpf's messages on that thread go to the handle's logger
 * (NULL: dropped). Outside those windows they go to the print function the
 * application had set, which the library chains to instead of replacing.
 */
void pw_log_libbpf_begin(const struct pw_logger *log);
void pw_log_libbpf_end(void);

#endif
