// SPDX-License-Identifier: MIT
/* bpf-progs.c - the ids of every BPF program loaded in the kernel, one per line (built static, run in the system VM). */
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	union bpf_attr attr;
	__u32 id = 0;

	for (;;) {
		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (syscall(__NR_bpf, BPF_PROG_GET_NEXT_ID, &attr, sizeof(attr)) < 0) {
			if (errno == ENOENT)
				return 0;
			perror("bpf(BPF_PROG_GET_NEXT_ID)");
			return 1;
		}
		id = attr.next_id;
		printf("%u\n", id);
	}
}
