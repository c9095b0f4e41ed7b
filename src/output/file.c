// SPDX-License-Identifier: MIT
/* output/file.c - output files opened safely: never through a symlink, never a FIFO or device, 0600 by default. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procward.h"
#include "core/opts.h"

PW_API int pw_output_open(const char *path, const struct pw_output_opts *opts)
{
	unsigned int flags = 0, mode = 0600;
	struct stat st;
	int fd;

	if (!path || !*path)
		return -EINVAL;
	if (!PW_OPTS_VALID(opts, pw_output_opts))
		return -EINVAL;
	flags = PW_OPTS_GET(opts, flags, 0u);
	if (PW_OPTS_GET(opts, mode, 0u))
		mode = opts->mode;
	if ((flags & ~PW_OUTPUT_TRUNCATE) || (mode & ~07777u))
		return -EINVAL;
	/*
	 * O_NONBLOCK: opening a FIFO for writing would otherwise wait for a
	 * reader (and with one, hand our records to whoever opened it); it is
	 * cleared again once the file is known to be regular.
	 */
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_APPEND | O_NONBLOCK | O_NOCTTY,
		  (mode_t)mode);
	if (fd < 0)
		return errno == ENXIO ? -EINVAL : -errno; /* ENXIO: a FIFO without a reader */
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) < 0 || ((flags & PW_OUTPUT_TRUNCATE) && ftruncate(fd, 0) < 0)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}
