/* SPDX-License-Identifier: MIT */
/*
 * service.h - what `procward watch` and `procward gate` need to run as a
 * service: --config, the output options (files with rotation, syslog,
 * journal, all through libprocward's writer thread), redaction, sd_notify.
 */
#ifndef PW_CLI_SERVICE_H
#define PW_CLI_SERVICE_H

#include <stdio.h>

#include "procward.h"

/*
 * For watch and gate: expand --config FILE into options and take out the
 * options handled here. 0, or an exit status (2) after a message.
 */
int service_prepare(int *argc, char ***argv);
/*
 * A line-buffered stream whose complete lines go to the configured sinks
 * (msgid: the line's "type", else default_type); NULL when no sink was
 * asked for (keep stdout). fclose() flushes (bounded) and reports drops.
 */
FILE *service_stream(const char *default_type);
/* The redactor of --redact and the built-in patterns; NULL with --no-redact. */
const struct pw_redactor *service_redactor(void);
/* Tell systemd (NOTIFY_SOCKET) we are ready; SIGHUP reopens outputs (watch). */
void service_ready(int install_hup);
/* An sd_notify(3) state line ("RELOADING=1", "STOPPING=1", "STATUS=..."); no-op without systemd. */
void service_notify(const char *state);
/* Reopen the outputs (after logrotate). Async-signal-safe. */
void service_reopen(void);

#endif
