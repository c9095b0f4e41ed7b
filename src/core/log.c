// SPDX-License-Identifier: MIT
/* log.c - formatting for the log callback, and libbpf's messages routed to it. */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "core/log.h"

static __thread const struct pw_logger *libbpf_logger;

void pw_log(const struct pw_logger *log, enum pw_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!log || !log->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log->fn(level, msg, log->userdata);
}

/*
 * libbpf has one print function per process. The library installs its own
 * once and keeps the one it replaced: inside a load window (this thread,
 * between begin and end) messages belong to the handle's logger, which may
 * be NULL for silence; everywhere else they go on to the previous function,
 * so an application's own libbpf_set_print() keeps working.
 */
static __thread bool in_window;
static libbpf_print_fn_t previous_print;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	const struct pw_logger *log = libbpf_logger;
	enum pw_log_level lvl = level == LIBBPF_WARN ? PW_LOG_WARN : PW_LOG_DEBUG;
	char small[1024], *msg = small, *line, *nl;
	va_list again;
	int n;

	if (!in_window)
		return previous_print ? previous_print(level, fmt, ap) : 0;
	if (!log || !log->fn)
		return 0;
	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	/*
	 * A verifier log comes as one message of many kilobytes, and its last
	 * lines say why the load failed: never cut it, hand it on line by line.
	 */
	if (n >= (int)sizeof(small) && (msg = malloc((size_t)n + 1)))
		vsnprintf(msg, (size_t)n + 1, fmt, again);
	else if (!msg)
		msg = small; /* out of memory: the first kilobyte at least */
	va_end(again);
	for (line = msg; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (*line || nl) /* keep empty lines inside, not the final newline */
			log->fn(lvl, line, log->userdata);
		if (!nl)
			break;
	}
	if (msg != small)
		free(msg);
	return 0;
}

static pthread_once_t print_once = PTHREAD_ONCE_INIT;

static void install_print(void)
{
	previous_print = libbpf_set_print(libbpf_print);
}

void pw_log_libbpf_begin(const struct pw_logger *log)
{
	pthread_once(&print_once, install_print);
	libbpf_logger = log;
	in_window = true;
}

void pw_log_libbpf_end(void)
{
	libbpf_logger = NULL;
	in_window = false;
}
