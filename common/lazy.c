/* lazy: the page server of a lazy restore.  See lazy.h. */
#include "lazy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fcproc.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static int
find_pager(char *out, size_t n)
{
	const char *env = getenv("FCSNAP_PAGER");
	char self[PATH_MAX], *s;
	ssize_t k;

	if (env && *env)
		return find_exe(env, out, n);
	k = readlink("/proc/self/exe", self, sizeof self - 1);
	if (k > 0) {
		self[k] = 0;
		s = strrchr(self, '/');
		if (s && (*s = 0, fmt(out, n, "%s/fc-pager", self) == 0) && access(out, X_OK) == 0)
			return 0;
	}
	if (find_exe("fc-pager", out, n) == 0)
		return 0;
	return fail("fc-pager not found next to %s or in PATH: install it, or set "
	    "FCSNAP_PAGER", progname);
}

/* Read "ready\n" from fd within timeout_ms: 0, or -1 (EOF or timeout). */
static int
wait_ready(int fd, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct pollfd pf = { fd, POLLIN, 0 };
	char buf[16];
	size_t got = 0;
	ssize_t n;

	while (got < 6) {
		int left = (int)(deadline - now_ms());

		if (left <= 0)
			return fail("fc-pager did not get ready in %d ms", timeout_ms);
		if (poll(&pf, 1, left) < 0 && errno != EINTR)
			return fail_errno("poll");
		n = read(fd, buf + got, sizeof buf - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return fail("fc-pager exited before it listened");
		got += (size_t)n;
	}
	return memcmp(buf, "ready\n", 6) ? fail("fc-pager said something odd") : 0;
}

static int
mark(const char *dir)
{
	char p[PATH_MAX];

	if (path_join(p, sizeof p, dir, LAZY_MARK) < 0)
		return -1;
	return write_file_replace(p, "Uffd\n", 5, 0600);
}

int
lazy_is(const char *dir)
{
	char p[PATH_MAX], buf[8];
	ssize_t n;
	int fd;

	if (path_join(p, sizeof p, dir, LAZY_MARK) < 0)
		return 0;
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf);
	close(fd);
	return n == 5 && !memcmp(buf, "Uffd\n", 5);
}

int
lazy_pagers(const char *dir, pid_t *pids, int max)
{
	char path[64], buf[PATH_MAX];
	struct dirent *e;
	ssize_t n;
	DIR *d;
	int k = 0, fd;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (k < max && (e = readdir(d))) {
		long pid = strtol(e->d_name, NULL, 10);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%ld/comm", pid);
		n = -1;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof buf - 1);
			close(fd);
		}
		if (n != 9 || memcmp(buf, "fc-pager\n", 9))
			continue;
		snprintf(path, sizeof path, "/proc/%ld/cwd", pid);
		n = readlink(path, buf, sizeof buf - 1);
		if (n <= 0)
			continue;
		buf[n] = 0;
		if (!strcmp(buf, dir))
			pids[k++] = (pid_t)pid;
	}
	closedir(d);
	return k;
}

/* Spawn argv (the pager) in dir, its stderr appended to log, and wait
 * until it listens. */
static pid_t
start(char **argv, const char *dir, const char *log, int timeout_ms)
{
	struct spawn_opts so = SPAWN_OPTS_INIT;
	char tail[1024];
	int rp[2], lfd;
	pid_t p;

	if (mark(dir) < 0)
		return -1;
	lfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0)
		return fail_errno("%s", log);
	if (pipe2(rp, O_CLOEXEC) < 0) {
		close(lfd);
		return fail_errno("pipe");
	}
	so.fd_in = -2;
	so.fd_out = rp[1];
	so.fd_err = lfd;
	so.cwd = dir;
	so.setsid = 1;
	p = spawn(argv, &so);
	close(rp[1]);
	close(lfd);
	if (p > 0 && wait_ready(rp[0], timeout_ms) < 0) {
		log_tail(log, 2, tail, sizeof tail);
		fail("%s%s%s", errmsg(), tail[0] ? ": " : "", tail);
		p = -1;
	}
	close(rp[0]);
	return p;
}

/* The snapshot whose working-set hint the pager records (hint.h): the
 * NAME of a pull dir .../snapshots/.pull-NAME, or of the memory file
 * .../snapshots/NAME/mem it was opened as.  0, or -1: none (another
 * generation's file, or not in a store). */
static int
hint_name(const char *mem, const char *pull, char *name, size_t n)
{
	char path[PATH_MAX], *b, *d;
	ssize_t k;

	if (pull) {
		b = strrchr(pull, '/');
		b = b ? b + 1 : (char *)pull;
		if (strncmp(b, ".pull-", 6) || fmt(name, n, "%s", b + 6) < 0)
			return -1;
		return name_check(name, "snapshot name");
	}
	k = readlink(mem, path, sizeof path - 1);
	if (k <= 0)
		return -1;
	path[k] = 0;
	b = strrchr(path, '/');
	if (!b || strcmp(b, "/mem"))
		return -1;
	*b = 0;
	d = strrchr(path, '/');
	if (!d)
		return -1;
	*d = 0;
	b = strrchr(path, '/');
	if (!b || strcmp(b, "/snapshots") || fmt(name, n, "%s", d + 1) < 0)
		return -1;
	return name_check(name, "snapshot name");
}

/* fc-pager for fc_pid in dir: on the memory file mem, or (pull) on the
 * lazy pull of url in dir pull. */
static pid_t
start_pager(const char *dir, const char *mem, const char *pull, const char *url,
    pid_t fc_pid, const char *log, int timeout_ms)
{
	char bin[PATH_MAX], pid[32], tmo[32], name[64], *argv[20];
	int n = 0;

	if (find_pager(bin, sizeof bin) < 0 ||
	    fmt(pid, sizeof pid, "%ld", (long)fc_pid) < 0 ||
	    fmt(tmo, sizeof tmo, "%dms", timeout_ms) < 0)
		return -1;
	argv[n++] = bin;
	if (pull) {
		argv[n++] = "--pull";
		argv[n++] = (char *)pull;
		argv[n++] = "--remote";
		argv[n++] = (char *)url;
	} else {
		argv[n++] = "-m";
		argv[n++] = (char *)mem;
	}
	argv[n++] = "-s";
	argv[n++] = LAZY_SOCK;
	argv[n++] = "-p";
	argv[n++] = pid;
	argv[n++] = "--accept-timeout";
	argv[n++] = tmo;
	argv[n++] = "--ready-fd";
	argv[n++] = "1";
	argv[n++] = "--stats";
	if (hint_name(mem, pull, name, sizeof name) == 0) {
		argv[n++] = "--hint";
		argv[n++] = name;
	}
	argv[n] = NULL;
	return start(argv, dir, log, timeout_ms);
}

pid_t
lazy_start(const char *dir, const char *mem, pid_t fc_pid, const char *log,
    int timeout_ms)
{
	return start_pager(dir, mem, NULL, NULL, fc_pid, log, timeout_ms);
}

pid_t
lazy_start_remote(const char *dir, const char *pull, const char *url, pid_t fc_pid,
    const char *log, int timeout_ms)
{
	return start_pager(dir, NULL, pull, url, fc_pid, log, timeout_ms);
}

int
lazy_hold(const char *dir, int *pidfds, int max)
{
	pid_t pids[8], again[8];
	int n, k, j, m, got = 0, fd;

	n = lazy_pagers(dir, pids, max < 8 ? max : 8);
	for (k = 0; k < n; k++) {
		fd = (int)syscall(SYS_pidfd_open, pids[k], 0);
		if (fd < 0)
			continue;
		/* still the pager of dir now that the pidfd pins it? */
		m = lazy_pagers(dir, again, 8);
		for (j = 0; j < m && again[j] != pids[k]; j++)
			;
		if (j == m)
			close(fd);
		else
			pidfds[got++] = fd;
	}
	return got;
}

void
lazy_reap(int *pidfds, int n, long long grace_ms)
{
	struct pollfd pf;
	int64_t deadline = now_ms() + grace_ms;
	int k, left;

	for (k = 0; k < n; k++) {
		pf.fd = pidfds[k];
		pf.events = POLLIN;
		left = (int)(deadline - now_ms());
		if (poll(&pf, 1, left > 0 ? left : 0) != 1)
			syscall(SYS_pidfd_send_signal, pidfds[k], SIGKILL, NULL, 0);
		close(pidfds[k]);
	}
}
