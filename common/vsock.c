/* vsock: host side of Firecracker's hybrid vsock.  See vsock.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "vsock.h"

#define BACKOFF_MIN_US 250       /* a restored guest's listener is there in ~1 ms */
#define BACKOFF_MAX_US 50000
#define ONE_TRY_REPLY_MS 5000

/* Fill sa with path; paths too long for sun_path go through an O_PATH fd
 * of their directory ("/proc/self/fd/N/name"), *dfd is that fd. */
static int
uds_addr(struct sockaddr_un *sa, const char *path, int *dfd)
{
	char dir[PATH_MAX];
	const char *base;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*dfd = -1;
	if (strlen(path) < sizeof(sa->sun_path)) {
		memcpy(sa->sun_path, path, strlen(path) + 1);
		return 0;
	}
	base = strrchr(path, '/');
	if (!base || (size_t)(base - path) >= sizeof(dir))
		return fail("socket path %s is too long (max %zu bytes): use a shorter directory",
		    path, sizeof(sa->sun_path) - 1);
	memcpy(dir, path, (size_t)(base - path));
	dir[base - path] = '\0';
	*dfd = open(base == path ? "/" : dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0)
		return fail_errno("opening the directory of %s", path);
	if (snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s",
	    *dfd, base + 1) >= (int)sizeof(sa->sun_path)) {
		close(*dfd);
		*dfd = -1;
		return fail("socket name %s is too long: use a shorter name", base + 1);
	}
	return 0;
}

/* One connect(2). Returns the fd, or -1 with errno. */
static int
uds_connect_once(const struct sockaddr_un *sa)
{
	int fd, e;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

static void
sleep_us(int64_t us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait until fd is readable or the deadline passes. 1 ready, 0 timeout. */
static int
wait_readable(int fd, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)(left > INT_MAX ? INT_MAX : left));
		if (r >= 0 || errno != EINTR)
			return r > 0;
	}
}

/* Take the next bytes of the reply line into line[*n..]: peek at what
 * arrived and consume it only up to the first '\n' (guest data may
 * follow the line in the same segment).  1 when the line is complete, 0
 * when more is to come, -1 on EOF/reset, -2 on another error (errno). */
static int
take_line(int fd, char *line, size_t cap, size_t *n)
{
	ssize_t r, want;
	char *nl;

	r = recv(fd, line + *n, cap - *n, MSG_PEEK);
	if (r < 0 && errno == EINTR)
		return 0;
	if (r == 0 || (r < 0 && errno == ECONNRESET))
		return -1;
	if (r < 0)
		return -2;
	nl = memchr(line + *n, '\n', (size_t)r);
	want = nl ? nl - (line + *n) + 1 : r;
	r = read(fd, line + *n, (size_t)want);
	if (r != want)          /* peeked bytes are there: not on a sane socket */
		return r < 0 ? -2 : -1;
	*n += (size_t)r;
	return nl != NULL;
}

/* Read the reply line (and not a byte more: data may follow it).
 * Returns 1 for "OK ...", 0 for EOF/reset (retry), -1 for anything else
 * (message set), -2 for a timeout. */
static int
read_reply(int fd, int64_t deadline, const char *what)
{
	char line[64];
	size_t n = 0;
	int r = 0;

	while (!r && n < sizeof(line) - 1) {
		if (!wait_readable(fd, deadline))
			return -2;
		r = take_line(fd, line, sizeof(line) - 1, &n);
		if (r == -1)
			return 0;
		if (r == -2)
			return fail_errno("reading the CONNECT reply from %s", what);
	}
	line[r ? n - 1 : n] = '\0';
	if (!strncmp(line, "OK ", 3))
		return 1;
	return fail("unexpected reply '%s' to CONNECT on %s", line, what);
}

static int
retryable(int e)
{
	return e == ENOENT || e == ECONNREFUSED || e == ECONNRESET || e == EPIPE ||
	    e == EAGAIN;
}

/* One attempt. Returns the fd, -1 to retry (errno-like reason in *why),
 * -2 for a hard failure (message set), -3 for a reply timeout. */
static int
attempt(const struct sockaddr_un *sa, uint32_t port, int64_t deadline,
    const char *what, int *why)
{
	char req[32];
	int fd, n, r;

	fd = uds_connect_once(sa);
	if (fd < 0) {
		*why = errno;
		if (retryable(errno))
			return -1;
		fail_errno("connecting to %s", what);
		return -2;
	}
	n = snprintf(req, sizeof(req), "CONNECT %u\n", port);
	if (write(fd, req, (size_t)n) != n) {
		*why = errno;
		close(fd);
		return -1;
	}
	r = read_reply(fd, deadline, what);
	if (r == 1)
		return fd;
	close(fd);
	if (r == 0)
		*why = ECONNRESET;
	return r == 0 ? -1 : r == -2 ? -3 : -2;
}

int
vsock_connect(const char *uds_path, uint32_t port, int timeout_ms)
{
	return vsock_connect_watch(uds_path, port, timeout_ms, NULL, NULL);
}

int
vsock_connect_watch(const char *uds_path, uint32_t port, int timeout_ms,
    int (*gone)(void *), void *arg)
{
	struct sockaddr_un sa;
	int64_t start = now_ms(), deadline = start + (timeout_ms > 0 ? timeout_ms : 0);
	int64_t backoff = BACKOFF_MIN_US, left;
	int dfd, fd, why = 0;

	if (uds_addr(&sa, uds_path, &dfd) < 0)
		return -1;
	for (;;) {
		fd = attempt(&sa, port, timeout_ms > 0 ? deadline : now_ms() + ONE_TRY_REPLY_MS,
		    uds_path, &why);
		if (fd >= 0 || fd == -2 || fd == -3)
			break;
		left = deadline - now_ms();
		if (left <= 0)
			break;
		if (gone && gone(arg)) {
			fd = -4;
			break;
		}
		sleep_us(backoff < left * 1000 ? backoff : left * 1000);
		backoff = backoff * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : backoff * 2;
	}
	if (dfd >= 0)
		close(dfd);
	if (fd >= 0 || fd == -2 || fd == -4)
		return fd >= 0 ? fd : -1;
	return fail("no agent answered on vsock port %u via %s within %.1f s (last: %s)",
	    port, uds_path, timeout_ms / 1000.0,
	    fd == -3 && !why ? "no reply to CONNECT; is the VM running?" :
	    why == ENOENT ? "socket does not exist" :
	    why == ECONNREFUSED ? "connection refused" : "closed without OK");
}
