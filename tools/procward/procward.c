// SPDX-License-Identifier: MIT
/*
 * procward.c - the command-line tool's entry: one table of commands and
 * its dispatcher. Everything real happens in libprocward.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "watch", cmd_watch, "stream process and thread events (root, or CAP_BPF+CAP_PERFMON)" },
	{ "snapshot", cmd_snapshot, "list running processes (no privileges needed)" },
	{ "features", cmd_features, "show what this kernel supports" },
	{ "gate", cmd_gate, "allow or deny execs by rules before the program runs (root)" },
	{ "protect", cmd_protect, "deny access operations on protected processes (BPF LSM)" },
	{ "top", cmd_top, "processes by CPU, with those that exited between frames (root)" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(*commands))

static void usage(FILE *out)
{
	fputs("Usage: procward COMMAND [OPTIONS]\n"
	      "\n"
	      "Monitor and control the lifecycle of Linux processes and threads.\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "'procward COMMAND --help' lists a command's options. Short options mean the same\n"
	      "on every command: -j JSON, -t text, -o FILE output, -d SECONDS duration,\n"
	      "-r RULE, -v verbose, -h help.\n"
	      "\n"
	      "  -h, --help      this text\n"
	      "  -V, --version   version\n"
	      "\n"
	      "Exit status: 0 ok, 1 runtime error, 2 usage error, 77 missing privileges or kernel support.\n",
	      out);
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("procward %s (libprocward %s)\n", PW_VERSION_STRING, pw_version());
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	return cli_usage(NULL, "unknown command '%s'", cmd);
}
