/* logcap: see logcap.h. */
#include "logcap.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* The log (stdout) holds size bytes, more than LOGCAP_MAX with what comes:
 * keep its last LOGCAP_KEEP bytes from a line start, after one line
 * counting all that went.  Returns the new size. */
static off_t
keep_tail(off_t size, uint64_t *dropped)
{
	char head[128], *keep, *s;
	off_t from = size > LOGCAP_KEEP ? size - LOGCAP_KEEP : 0;
	ssize_t n = 0;
	int hl;

	keep = malloc(LOGCAP_KEEP);
	if (keep && (n = pread(1, keep, (size_t)(size - from), from)) < 0)
		n = 0;
	s = keep;
	if (n > 0 && from > 0 && (s = memchr(keep, '\n', (size_t)n)) != NULL)
		s++;
	else
		s = keep;
	n -= s - keep;
	*dropped += (uint64_t)(size - n);
	hl = snprintf(head, sizeof head, "[fcsnap: %llu bytes of console output went here: "
	    "the log keeps its last %d KiB]\n", (unsigned long long)*dropped, LOGCAP_KEEP >> 10);
	if (ftruncate(1, 0) < 0 || write_all(1, head, (size_t)hl) < 0 ||
	    (n > 0 && write_all(1, s, (size_t)n) < 0))
		n = 0;
	free(keep);
	return hl + n;
}

static void __attribute__((noreturn))
keeper(void)
{
	static char buf[65536];
	uint64_t dropped = 0;
	struct stat st;
	off_t size = 0;
	ssize_t n;

	if (fstat(1, &st) == 0)
		size = st.st_size;
	for (;;) {
		n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		if (size + n > LOGCAP_MAX && fstat(1, &st) == 0) {
			size = st.st_size;      /* others append too */
			if (size + n > LOGCAP_MAX)
				size = keep_tail(size, &dropped);
		}
		if (write_all(1, buf, (size_t)n) == 0)
			size += n;
	}
}

int
logcap_start(const char *path)
{
	int fd, p[2], nul, e;
	pid_t pid;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	/* taken before the fork: the keeper's copy holds it to its end */
	if (flock(fd, LOCK_SH) < 0 || pipe2(p, O_CLOEXEC) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul < 0 || dup2(p[0], 0) < 0 || dup2(fd, 1) < 0 || dup2(nul, 2) < 0)
			_exit(1);
		close_others(-1);
		if (chdir("/") < 0)
			_exit(1);
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_NAME, "fc-logcap", 0, 0, 0);
		keeper();
	}
	e = errno;
	close(p[0]);
	close(fd);
	if (pid < 0) {
		close(p[1]);
		errno = e;
		return -1;
	}
	return p[1];
}

void
logcap_settle(const char *path, int ms)
{
	struct timespec ts = { 0, 1000000 };
	int64_t deadline = now_ms() + ms;
	int fd;

	if (!path)
		return;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK &&
	    now_ms() < deadline)
		nanosleep(&ts, NULL);
	close(fd);
}
