// SPDX-License-Identifier: MIT
// shim.h - declarations of shim.c for the Go files' cgo preambles.
#include <stdint.h>
#include <stdlib.h>
#include <procward.h>

void pwgo_monitor_callbacks(struct pw_monitor_opts *o, uintptr_t h, uintptr_t log_h);
void pwgo_gate_callbacks(struct pw_gate_opts *o, uintptr_t h, int handler, int decisions, uintptr_t log_h);
