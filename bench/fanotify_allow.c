/* pw-bench-fanotify: the barest user-space exec gate, as a floor to compare
 * procward's gate with. It marks the whole filesystem holding / for
 * FAN_OPEN_EXEC_PERM and answers FAN_ALLOW to every event.
 *
 * Prints "ready" on stdout once the mark is in place; exits on SIGTERM/SIGINT
 * (closing the fanotify fd lets any pending event through) and prints
 * {"events":N} on stdout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: read() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY | O_LARGEFILE);
	if (fd < 0) {
		perror("fanotify_init");
		return 1;
	}
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM,
			  AT_FDCWD, "/") < 0) {
		perror("fanotify_mark");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	char buf[8192] __attribute__((aligned(8)));
	unsigned long events = 0;
	while (!stop) {
		ssize_t len = read(fd, buf, sizeof(buf));
		if (len < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			perror("read");
			break;
		}
		struct fanotify_event_metadata *m = (void *)buf;
		for (; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
			if (m->vers != FANOTIFY_METADATA_VERSION) {
				fprintf(stderr, "fanotify metadata version mismatch\n");
				return 1;
			}
			if (m->mask & FAN_OPEN_EXEC_PERM) {
				struct fanotify_response r = { .fd = m->fd, .response = FAN_ALLOW };
				if (write(fd, &r, sizeof(r)) < 0)
					perror("write response");
				events++;
			}
			if (m->fd >= 0)
				close(m->fd);
		}
	}
	close(fd);
	printf("{\"events\":%lu}\n", events);
	return 0;
}
