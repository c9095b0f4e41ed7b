// SPDX-License-Identifier: MIT
/*
 * output/rotate.c - the file sink: append-only log created 0600, size-based
 * rotation (PATH.1 .. PATH.KEEP, optionally gzip'd) and reopen after an
 * external rotation (logrotate's create mode renames the file, then HUPs us).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include "output/target.h"

int pw_file_target_open(struct out_target *s)
{
	PW_OPTS(pw_output_opts, oo, .flags = s->open_flags, .mode = s->mode);
	struct stat st;
	int fd = pw_output_open(s->path, &oo); /* file.c: O_NOFOLLOW, regular files only */
	int err;

	if (fd < 0)
		return fd;
	err = pw_target_set_fd(s, fd, fstat(fd, &st) ? -errno : 0);
	if (err)
		return err;
	s->open_flags = 0; /* a reopen or a rotation appends */
	s->size = (uint64_t)st.st_size;
	return 0;
}

int pw_file_target_reopen(struct out_target *s)
{
	return pw_file_target_open(s);
}

static int rotated_name(char *buf, size_t cap, const char *path, unsigned int i, bool gz)
{
	int n = snprintf(buf, cap, "%s.%u%s", path, i, gz ? ".gz" : "");

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* PATH.1 -> PATH.1.gz (through a temporary, so a crash leaves no half file under the final name). */
static int compress_file(const char *src, const char *dst)
{
	char tmp[PATH_MAX], buf[65536];
	int in, out, err = 0;
	gzFile gz;
	ssize_t n;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	unlink(tmp);
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	gz = gzdopen(out, "wb6");
	if (!gz) {
		close(out);
		close(in);
		unlink(tmp);
		return -ENOMEM;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (gzwrite(gz, buf, (unsigned int)n) != (int)n) {
			err = -EIO;
			break;
		}
	if (n < 0)
		err = -errno;
	if (gzclose(gz) != Z_OK && !err)
		err = -EIO;
	close(in);
	if (!err && rename(tmp, dst))
		err = -errno;
	if (err)
		unlink(tmp);
	else
		unlink(src);
	return err;
}

/*
 * PATH.(KEEP-1) -> PATH.KEEP, ..., PATH -> PATH.1, then a new PATH: the
 * oldest file falls off by being renamed over. KEEP = 0: no old file is kept.
 */
static int rotate(struct out_target *s, const struct target_env *env)
{
	char from[PATH_MAX], to[PATH_MAX];
	int err;

	if (s->rotate_keep == 0) {
		if (unlink(s->path) && errno != ENOENT)
			return -errno;
	} else {
		for (unsigned int i = s->rotate_keep; i > 1; i--) {
			if ((err = rotated_name(from, sizeof(from), s->path, i - 1, s->compress)) ||
			    (err = rotated_name(to, sizeof(to), s->path, i, s->compress)))
				return err;
			if (rename(from, to) && errno != ENOENT)
				return -errno;
		}
		if ((err = rotated_name(to, sizeof(to), s->path, 1, false)))
			return err;
		if (rename(s->path, to) && errno != ENOENT)
			return -errno;
	}
	err = pw_file_target_open(s);
	if (err)
		return err;
	atomic_fetch_add(env->rotations, 1);
	if (s->compress && s->rotate_keep) {
		if ((err = rotated_name(from, sizeof(from), s->path, 1, false)) ||
		    (err = rotated_name(to, sizeof(to), s->path, 1, true)))
			return err;
		/* On the writer thread: the producers never wait for it, the queue absorbs the time. */
		err = compress_file(from, to);
		if (err)
			pw_log(env->log, PW_LOG_WARN, "output: cannot compress %s: %s (kept uncompressed)", from,
			       pw_strerror(err));
	}
	return 0;
}

/* Rotate before a line that would take a non-empty file past rotate_size, as line-at-a-time writes did. */
static bool must_rotate(const struct out_target *s, uint64_t pending, size_t len)
{
	uint64_t size = s->size + pending;

	return s->rotate_size && size && size + len + 1 > s->rotate_size;
}

void pw_file_target_write_lines(struct out_target *s, const struct target_env *env, const struct iovec *lines,
				size_t n, bool *failed)
{
	size_t i = 0;

	while (i < n) {
		uint64_t run = 0;
		size_t j = i;
		int err;

		if (must_rotate(s, 0, lines[i].iov_len)) {
			err = rotate(s, env);
			if (err)
				pw_log(env->log, PW_LOG_WARN, "output: cannot rotate %s: %s", s->path, pw_strerror(err));
		}
		if (s->fd < 0 && pw_file_target_open(s)) {
			for (; i < n; i++)
				failed[i] = true; /* the next batch tries to open it again */
			return;
		}
		do
			run += lines[j++].iov_len + 1;
		while (j < n && !must_rotate(s, run, lines[j].iov_len));
		/* One writev per run: with O_APPEND, no line is interleaved with another writer's. */
		pw_fd_write_lines(s->fd, env, &lines[i], j - i, false, &failed[i]); /* failures: in failed[] */
		for (size_t k = i; k < j; k++)
			s->size += failed[k] ? 0 : lines[k].iov_len + 1;
		i = j;
	}
}
