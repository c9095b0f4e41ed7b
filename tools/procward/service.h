/* SPDX-License-Identifier: MIT */
/*
 * service.h - what `procward watch` and `procward gate` need to run as a
 * service: --config FILE, the outputs of the writer thread (rotated files,
 * syslog, journald), redaction, SIGHUP, and readiness for systemd.
 */
#ifndef PW_CLI_SERVICE_H
#define PW_CLI_SERVICE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "procward.h"

/*
 * The options of the service outputs and redaction, on watch and gate;
 * cli_service_option() handles them. Option codes 0x110.. (cli.h's output
 * options use 0x100..).
 */
struct cli_service_opts {
	bool syslog, journal, rotate_compress, no_redact, no_redact_builtin;
	const char *syslog_socket, *journal_socket;
	int syslog_facility;
	uint64_t rotate_size;
	unsigned int rotate_keep;
	unsigned int queue_lines;
	const char **redact; /* user regexes */
	size_t n_redact;
};
#define CLI_SERVICE_LONGOPTS                                                    \
	{ "config", required_argument, NULL, 0x110 },                          \
	{ "syslog", no_argument, NULL, 0x111 },                                \
	{ "syslog-socket", required_argument, NULL, 0x112 },                   \
	{ "syslog-facility", required_argument, NULL, 0x113 },                 \
	{ "journal", no_argument, NULL, 0x114 },                               \
	{ "journal-socket", required_argument, NULL, 0x115 },                  \
	{ "rotate-size", required_argument, NULL, 0x116 },                     \
	{ "rotate-keep", required_argument, NULL, 0x117 },                     \
	{ "rotate-compress", no_argument, NULL, 0x118 },                       \
	{ "queue-lines", required_argument, NULL, 0x119 },                     \
	{ "redact", required_argument, NULL, 0x11a },                          \
	{ "no-redact", no_argument, NULL, 0x11b },                             \
	{ "no-redact-builtin", no_argument, NULL, 0x11c }
#define CLI_SERVICE_USAGE                                                                      \
	"      --config FILE        options from FILE (keys are these long options; see README)\n" \
	"      --syslog             RFC 5424 records to /dev/log (msgid: the event type)\n"        \
	"      --syslog-socket PATH another datagram socket than /dev/log (implies --syslog)\n"    \
	"      --syslog-facility F  daemon (default), auth, authpriv, user, local0..local7\n"      \
	"      --journal            journald's native protocol, with PROCWARD_* fields\n"          \
	"      --journal-socket P   another socket than /run/systemd/journal/socket\n"             \
	"      --rotate-size BYTES  rotate --output past this size (K, M, G suffixes)\n"           \
	"      --rotate-keep N      rotated files kept (default 5)\n"                              \
	"      --rotate-compress    gzip rotated files\n"                                          \
	"      --queue-lines N      records the writer thread queues at most (default 8192)\n"     \
	"      --redact REGEX       also hide what REGEX's groups match in arguments (repeatable)\n" \
	"      --no-redact-builtin  only the --redact patterns, not the built-in secret ones\n"    \
	"      --no-redact          print arguments as they are (secrets included)\n"              \
	"  SIGHUP reopens the output files and sockets (logrotate)"

/* Handles 0x110..0x11c: 1 if it was one of them, 0 if not, -1 on a bad value (after a message). */
int cli_service_option(struct cli_service_opts *s, int opt, const char *arg);

/*
 * --config FILE: the file's entries for `section` (watch, gate) as options
 * before the command line's, which come after them and so win (or add, for
 * repeatable options). Keys are the command's long options; a switch takes
 * yes or no. 0 (argc/argv replaced, or untouched without --config), or the
 * exit status after a message.
 */
int cli_config_expand(const char *section, const struct option *longopts, int *argc, char ***argv);
/*
 * While the command parses the expanded argv: "FILE:LINE: " in buf if the
 * option getopt_long() just returned came from the file (cli_usage() puts
 * it before its message). cli_config_done() when the parsing is over.
 */
bool cli_config_where(char *buf, size_t len);
void cli_config_done(void);

/* The redactor the options ask for (built-in patterns unless --no-redact...); NULL for none. */
int cli_redactor(const struct cli_service_opts *s, struct pw_redactor **out);
/*
 * The end of a service command's option parsing: cli_config_done(), no
 * argument left over, and the redactor the options ask for. 0, or the exit
 * status after a message.
 */
int cli_service_parsed(const char *cmd, int argc, char **argv, const struct cli_service_opts *s,
		       struct pw_redactor **redactor);
/*
 * cli_run() as a service: SIGHUP reopens `out`'s files and calls fn (see
 * cli_on_hup), and systemd hears READY=1 before and STOPPING=1 after.
 */
int cli_serve(struct pw_monitor *m, double duration, struct cli_out *out, void (*fn)(void *userdata),
	      void *userdata);

/*
 * sd_notify(3)'s datagram protocol without libsystemd: "READY=1",
 * "RELOADING=1", "STOPPING=1", "STATUS=..."; nothing outside systemd.
 */
void cli_notify(const char *state);

#endif
