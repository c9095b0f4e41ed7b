/* SPDX-License-Identifier: MIT */
/* process.h - the library's record of one process, shared by the snapshot and the process table. */
#ifndef PW_PROCESS_H
#define PW_PROCESS_H

#include <stdint.h>
#include <sys/types.h>

#include "procward.h"

#define PW_COMM_LEN 16

/* What a struct pw_process knows; bits of pw_process.known. */
enum pw_process_known {
	PW_PK_IMAGE = 1u << 0,
	PW_PK_ARGS = 1u << 1,
	PW_PK_KEY_COARSE = 1u << 2, /* start_ns from /proc: clock-tick resolution */
	PW_PK_ARGS_TRUNCATED = 1u << 3,
};

struct pw_process {
	pid_t pid;
	pid_t ppid;
	uint64_t start_ns;      /* CLOCK_BOOTTIME ns of the leader's start */
	uint32_t uid, gid;
	uint32_t threads;
	char state;
	char name[PW_COMM_LEN];
	char *image;            /* malloc'd, NULL if unknown */
	char *args;             /* malloc'd argv, each NUL-terminated, back to back */
	uint32_t args_len;      /* bytes in args */
	uint32_t argc;
	const char **argv;      /* malloc'd index into args (argc entries), NULL if argc == 0 */
	char *user_name;        /* malloc'd, NULL unless resolved */
	unsigned int known;     /* enum pw_process_known */
	/* resource use when the record was read (snapshot: /proc/PID/stat) */
	uint64_t user_ns, system_ns; /* clock-tick resolution */
	uint64_t rss_bytes;
	uint64_t vsize_bytes;
};

/* Frees what the record owns (not the record). Safe on a zeroed record. */
void pw_process_clear(struct pw_process *p);
/* Replace p's argv with the NUL-separated buffer buf[0..len); builds argv. 0 or -ENOMEM. */
int pw_process_set_args(struct pw_process *p, const char *buf, size_t len);
/* Replace p's image path (copied). 0 or -ENOMEM. */
int pw_process_set_image(struct pw_process *p, const char *image);

#endif
