// SPDX-License-Identifier: MIT
/* snapshot.c - `procward snapshot` (the running processes) and `procward features` (what this kernel offers). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char snapshot_usage[] =
	"Usage: procward snapshot [OPTIONS]\n"
	"\n"
	"List the running processes (no privileges needed).\n"
	"\n"
	"  -j, --json               JSON Lines (default when the output is not a terminal)\n"
	"  -t, --text               readable columns (default on a terminal)\n"
	CLI_OUTPUT_FILE_USAGE("the snapshot")
	"      --no-cmdline         do not read command lines\n"
	"  -h, --help               this text\n";

/* cli_out_record() formatter of a process: *as_json picks JSON or text. */
static int fmt_process(const void *p, char *buf, size_t len, void *as_json)
{
	if (*(const int *)as_json)
		return pw_process_format_json(p, buf, len, 0);
	return pw_process_format_text(p, buf, len, 0);
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_FORMAT_LONGOPTS,
		CLI_OUTPUT_LONGOPTS,
		{ "no-cmdline", no_argument, NULL, 1 },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	PW_OPTS(pw_snapshot_opts, opts, .flags = PW_SNAP_CMDLINE | PW_SNAP_IMAGE | PW_SNAP_USER);
	struct cli_output_opts output = { 0 };
	struct pw_snapshot *snap = NULL;
	struct cli_out out = { .fd = -1 };
	int json = -1, opt, err, ret = 0, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jto:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 't': json = 0; break;
		case 1: opts.flags &= ~PW_SNAP_CMDLINE; break;
		case 'h': fputs(snapshot_usage, stdout); return 0;
		default:
			r = cli_other_option(&output, NULL, "snapshot", opt, optarg);
			if (r)
				return r;
		}
	}
	if (optind < argc)
		return cli_usage("snapshot", "unexpected argument '%s'", argv[optind]);
	err = pw_snapshot_take(&opts, &snap);
	if (err) {
		cli_err("snapshot failed: %s", pw_strerror(err));
		return EXIT_RUNTIME;
	}
	ret = cli_out_open(&out, &output);
	if (ret)
		goto out;
	if (json < 0)
		json = !out.is_tty;
	if (!json)
		cli_out_str(&out, pw_process_text_header());
	for (size_t i = 0; i < pw_snapshot_count(snap); i++)
		cli_out_record(&out, fmt_process, pw_snapshot_process(snap, i), &json);
out:
	pw_snapshot_free(snap);
	if (cli_out_close(&out))
		ret = EXIT_RUNTIME;
	return ret;
}

int cmd_features(int argc, char **argv)
{
	static const struct {
		unsigned int bit;
		const char *name, *use;
	} rows[] = {
		{ PW_FEAT_BTF, "btf", "CO-RE programs (all events)" },
		{ PW_FEAT_BPF, "bpf", "loading BPF programs (privileges)" },
		{ PW_FEAT_RINGBUF, "ringbuf", "event delivery" },
		{ PW_FEAT_TP_BTF, "tp_btf", "process and thread lifecycle events" },
		{ PW_FEAT_TASK_ITER, "task_iter", "kernel-side snapshot" },
		{ PW_FEAT_SEND_SIGNAL, "send_signal", "fail-closed backstop of the exec gate" },
		{ PW_FEAT_FANOTIFY_EXEC, "fanotify_exec", "exec gate (blocking process creation)" },
		{ PW_FEAT_FENTRY, "fentry", "BPF trampolines" },
		{ PW_FEAT_BPF_LSM, "bpf_lsm", "enforcing access rules (revoking access)" },
	};
	unsigned int f;

	if (argc > 1) {
		if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			puts("Usage: procward features\n\nWhat this kernel supports, one feature a line.");
			return 0;
		}
		return cli_usage("features", "unexpected argument '%s'", argv[1]);
	}
	f = pw_features();
	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++)
		printf("%-14s %-4s %s\n", rows[i].name, f & rows[i].bit ? "yes" : "no", rows[i].use);
	return 0;
}
