/* SPDX-License-Identifier: MIT */
/* core/percpu.h - reading a per-CPU BPF counter: the sum over every possible CPU. */
#ifndef PW_PERCPU_H
#define PW_PERCPU_H

#include <stdint.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* Sum of a per-CPU array's u64 slots at `key`; 0 if it cannot be read. */
static inline uint64_t pw_percpu_sum(int map_fd, uint32_t key)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t total = 0;

	if (map_fd < 0 || ncpus <= 0)
		return 0;
	{
		/* the kernel writes one 8-byte slot per possible CPU */
		__u64 per_cpu[ncpus];

		if (bpf_map_lookup_elem(map_fd, &key, per_cpu))
			return 0;
		for (int i = 0; i < ncpus; i++)
			total += per_cpu[i];
	}
	return total;
}

#endif
