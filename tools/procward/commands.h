/* SPDX-License-Identifier: MIT */
/* commands.h - subcommands that live in their own files (gate, protect). */
#ifndef PW_CLI_COMMANDS_H
#define PW_CLI_COMMANDS_H

/* Each takes argv starting at the subcommand name; returns the exit status. */
int cmd_gate(int argc, char **argv);
int cmd_protect(int argc, char **argv);
int cmd_top(int argc, char **argv);

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} extra_commands[] = {
	{ "gate", cmd_gate },
	{ "protect", cmd_protect },
	{ "top", cmd_top },
	{ "", 0 },
};

#endif
