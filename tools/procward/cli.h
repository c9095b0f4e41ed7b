/* SPDX-License-Identifier: MIT */
/* cli.h - what the procward commands share: exit codes, buffered output, messages, the run loop. */
#ifndef PW_CLI_H
#define PW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "procward.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 77 /* like automake's "skipped": privileges or kernel support, not the input */

/* The commands (argv starts at the command's name); each returns the exit status. */
int cmd_watch(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_gate(int argc, char **argv);
int cmd_protect(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* ------------------------------------------------------------ messages */

/* What messages start with: "procward: ", or the command's own ("procward gate: "). */
extern const char *cli_prefix;
/* "<prefix><message>\n" on stderr, control bytes escaped, in one write (any thread). */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: the message, a hint to --help; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The library's log callback: userdata is an int verbosity (0: warnings and errors). */
void cli_log(enum pw_log_level level, const char *msg, void *userdata);
/*
 * Why a monitor, protection or gate could not start, and the exit status
 * for it: EXIT_UNAVAILABLE for missing privileges or kernel support, else
 * EXIT_RUNTIME.
 */
int cli_start_error(const char *what, int err);

/* ------------------------------------------------------------ options */

/* Decimal (or 0x hex) integer in [0, max]; false if it is not one. */
bool cli_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Seconds, fractions allowed, >= 0. */
bool cli_parse_seconds(const char *s, double *out);

struct cli_service_opts;

/* --output FILE, --output-mode MODE, --truncate: the same on every command. */
struct cli_output_opts {
	const char *path;  /* NULL: stdout; "-" with a writer thread: stdout through it */
	unsigned int mode; /* 0: 0600 */
	bool truncate;
	/*
	 * watch and gate: records go to libprocward's writer thread (struct
	 * pw_sink: a bounded queue, drops counted), which feeds the file, and
	 * syslog and journald as `service` asks. NULL: written here.
	 */
	const struct cli_service_opts *service;
};
#define CLI_OUTPUT_LONGOPTS                                                   \
	{ "output", required_argument, NULL, 'o' },                          \
	{ "output-mode", required_argument, NULL, 0x100 },                   \
	{ "truncate", no_argument, NULL, 0x101 }
/* -j/-t: the record format, the same letters in every command. */
#define CLI_FORMAT_LONGOPTS                                                   \
	{ "json", no_argument, NULL, 'j' },                                   \
	{ "text", no_argument, NULL, 't' }
/* -d/-v/-h of a long-running command (CLI_RUN_USAGE). */
#define CLI_RUN_LONGOPTS                                                      \
	{ "duration", required_argument, NULL, 'd' },                         \
	{ "verbose", no_argument, NULL, 'v' },                                \
	{ "help", no_argument, NULL, 'h' }
/* Handles 'o', 0x100, 0x101: 1 if it was one of them, 0 if not, -1 on a bad value. */
int cli_output_option(struct cli_output_opts *o, int opt, const char *arg);
/*
 * The default: of a command's option switch: 0 if opt was an output option (or,
 * with svc, a service option: service.h), else the exit status to return.
 */
int cli_other_option(struct cli_output_opts *o, struct cli_service_opts *svc, const char *cmd, int opt,
		     const char *arg);

/* The help lines of the output file options (cli_other_option); what: "events", "decisions". */
#define CLI_OUTPUT_FILE_USAGE(what)                                                                       \
	"  -o, --output FILE        append " what " to FILE (created 0600; never through a symlink)\n"     \
	"      --output-mode MODE   permission bits of a new output file (octal, default 0600)\n"         \
	"      --truncate           empty an existing output file first\n"
/* The help lines every long-running command ends its options with. */
#define CLI_RUN_USAGE                                                                                     \
	"  -d, --duration SECONDS   stop after this long\n"                                               \
	"  -v, --verbose            library messages on stderr\n"                                         \
	"  -h, --help               this text\n"

/* ------------------------------------------------------------ output */

/*
 * Records are formatted into one buffer and written with one write() per
 * batch (cli_out_flush), not per field: stdio's per-call cost was most of
 * the CLI's CPU per event.
 */
struct cli_out {
	int fd;
	bool is_tty;
	char *buf;
	size_t len, cap;
	int err;  /* first write error (negative errno), reported at the end */
	pthread_mutex_t *lock; /* set when another thread writes records (the gate's decision thread) */
	struct pw_sink *sink;  /* the writer thread: records are queued to it, never written here */
	const char *type;      /* the next record's type (syslog msgid, a static string) for the sink */
	/*
	 * With a sink, the records of a batch wait in buf and are queued
	 * together at cli_out_flush: one wake-up of the writer per batch, not
	 * one per record (a wake-up costs more than formatting the record).
	 */
	struct cli_out_rec { size_t off, len; const char *type; } *recs;
	size_t n_recs, max_recs;
};

/* Open the output (stdout when path is NULL); 0, or the exit status after a message. */
int cli_out_open(struct cli_out *o, const struct cli_output_opts *opts);
/* Flush and close; 0, or the exit status after a message. */
int cli_out_close(struct cli_out *o);
int cli_out_flush(struct cli_out *o);
void cli_out_str(struct cli_out *o, const char *s);

/* One record: a library formatter (snprintf-like) writing into the buffer. */
typedef int (*cli_format_fn)(const void *obj, char *buf, size_t len, void *arg);
void cli_out_record(struct cli_out *o, cli_format_fn fmt, const void *obj, void *arg);

/* A monitor's event as JSON Lines, or as a text line timed from *t0_ns (cli_start_events). */
void cli_out_event(struct cli_out *o, const struct pw_event *ev, bool json, uint64_t *t0_ns);

/* ------------------------------------------------------------ running */

/*
 * The start of a command that prints a monitor's events: open the output,
 * choose JSON (json < 0: when the output is not a terminal), start the
 * monitor (what: "monitoring", "protection" for the error), catch the stop
 * signals, print banner (if any) on stderr and the text header when text
 * goes to stdout. 0, or the exit status after a message.
 */
int cli_start_events(struct pw_monitor *m, struct cli_out *out, const struct cli_output_opts *output,
		     int json, bool *json_out, uint64_t *t0_ns, const char *what, const char *banner);


/*
 * Run until SIGINT/SIGTERM, the duration (seconds; 0: none) or cli_stop().
 * With a monitor: dispatch it, flushing `out` after each batch, and deliver
 * what the kernel already produced before returning (a stop drops nothing).
 * Without one (the gate: its threads do the work), wait, flushing `out`
 * (under out->lock) every CLI_FLUSH_MS; then the signals must have been
 * blocked with cli_block_signals() before the library started threads.
 * 0, or a negative error from dispatching.
 */
int cli_run(struct pw_monitor *m, double duration, struct cli_out *out);
#define CLI_FLUSH_MS 100
/*
 * Catch SIGINT/SIGTERM for cli_run(m) from now on: call it before saying
 * "watching", so a stop signal right after the message ends the run in
 * order (everything produced delivered) instead of killing the process.
 */
void cli_catch_stop(struct pw_monitor *m);
/* Make cli_run() return (from a callback: after the current batch). */
void cli_stop(void);
/* Block SIGINT/SIGTERM/SIGHUP in this thread and the threads it starts later. */
void cli_block_signals(void);
/*
 * SIGHUP while cli_run() runs: `sink`'s files and sockets are reopened at
 * once (from the handler: async-signal-safe), then fn(userdata) is called
 * on cli_run's thread (the gate reloads its rules there). Without a call
 * to this, SIGHUP keeps its default action.
 */
void cli_on_hup(struct pw_sink *sink, void (*fn)(void *userdata), void *userdata);

/* CLOCK_MONOTONIC now, ns: the time base of text output. */
uint64_t cli_now_ns(void);

#endif
