/* SPDX-License-Identifier: MIT */
/* output.h - how the CLI prints events and processes: aligned text or JSON Lines. */
#ifndef PW_CLI_OUTPUT_H
#define PW_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "procward.h"

void json_string(FILE *out, const char *s);
void print_event_json(FILE *out, const struct pw_event *ev);
void print_event_text(FILE *out, const struct pw_event *ev, uint64_t t0_ns);
void print_event_text_header(FILE *out);
void print_process_json(FILE *out, const struct pw_process *p);
void print_process_text(FILE *out, const struct pw_process *p);
void print_process_text_header(FILE *out);

#endif
