/* SPDX-License-Identifier: MIT */
/* fuzz_procfs.c - libFuzzer target for the untrusted-text parsers (stat, status, cmdline, mountinfo, cgroup paths). */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/names.h"
#include "snapshot/procfs.h"
#include "snapshot/process.h"

/* Argv must round-trip to the bytes it came from, plus the NUL added when missing. */
static void check_args(const struct pw_process *p, const char *buf, size_t len)
{
	size_t i, off = 0, arg_len;

	for (i = 0; i < p->argc; i++) {
		arg_len = strlen(p->argv[i]);
		if (off + arg_len > len + 1 || (arg_len && memcmp(p->argv[i], buf + off, arg_len)))
			abort();
		off += arg_len + 1;
	}
	if (off != p->args_len || (len && off != len + (buf[len - 1] != '\0')) || (!len && off))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_stat_fields stat;
	struct pw_status_fields status;
	struct pw_process p = { 0 };
	char mnt[64], root[64], id[PW_CONTAINER_ID_LEN + 1];
	uint8_t selector;
	char *buf;
	size_t len;

	if (size < 1)
		return 0;
	selector = data[0];
	len = size - 1;
	/* An exact-size heap copy, so any read past len is caught by ASan. */
	buf = malloc(len + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, len);

	switch (selector % 5) {
	case 0:
		if (!pw_procfs_parse_stat(buf, len, &stat) &&
		    (strnlen(stat.comm, sizeof(stat.comm)) >= sizeof(stat.comm) || stat.pid < 0 ||
		     stat.ppid < 0))
			abort();
		break;
	case 1:
		pw_procfs_parse_status(buf, len, &status);
		break;
	case 2:
		if (!pw_procfs_parse_cmdline(&p, buf, len, selector & 0x80))
			check_args(&p, buf, len);
		/* replacing argv must not leak or reuse the old one */
		if (!pw_process_set_args(&p, buf, len / 2))
			check_args(&p, buf, len / 2);
		pw_process_clear(&p);
		break;
	case 3:
		pw_mountinfo_find_cgroup2(buf, len, mnt, sizeof(mnt), root, sizeof(root));
		break;
	case 4:
		buf[len] = '\0';
		if (!pw_container_id_from_cgroup(buf, id, sizeof(id)) &&
		    strlen(id) != PW_CONTAINER_ID_LEN)
			abort();
		break;
	}
	free(buf);
	return 0;
}
