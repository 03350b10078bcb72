/* util: see util.h. */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

const char *progname = "fcsnap";
static _Thread_local char errbuf[1024];

void
prog_init(char **argv)
{
	const char *p;

	if (argv && argv[0]) {
		p = strrchr(argv[0], '/');
		progname = p ? p + 1 : argv[0];
	}
	signal(SIGPIPE, SIG_IGN);
}

static void __attribute__((format(printf, 1, 0)))
vmsg(const char *fmt_, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof buf, fmt_, ap);
	fprintf(stderr, "%s: %s\n", progname, buf);
}

void
warnmsg(const char *fmt_, ...)
{
	va_list ap;

	va_start(ap, fmt_);
	vmsg(fmt_, ap);
	va_end(ap);
}

void
die(const char *fmt_, ...)
{
	va_list ap;

	va_start(ap, fmt_);
	vmsg(fmt_, ap);
	va_end(ap);
	exit(1);
}

void
usage_die(const char *fmt_, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt_);
	vsnprintf(buf, sizeof buf, fmt_, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s (see '%s --help')\n", progname, buf, progname);
	exit(2);
}

void
die_status(int st, const char *fmt_, ...)
{
	va_list ap;

	va_start(ap, fmt_);
	vmsg(fmt_, ap);
	va_end(ap);
	exit(st);
}

int
fail(const char *fmt_, ...)
{
	char tmp[sizeof errbuf];
	va_list ap;

	va_start(ap, fmt_);
	vsnprintf(tmp, sizeof tmp, fmt_, ap);
	va_end(ap);
	memcpy(errbuf, tmp, sizeof errbuf);
	return -1;
}

int
fail_errno(const char *fmt_, ...)
{
	char tmp[sizeof errbuf];
	int e = errno;
	size_t l;
	va_list ap;

	va_start(ap, fmt_);
	vsnprintf(tmp, sizeof tmp, fmt_, ap);
	va_end(ap);
	l = strlen(tmp);
	snprintf(tmp + l, sizeof tmp - l, ": %s", strerror(e));
	memcpy(errbuf, tmp, sizeof errbuf);
	errno = e;
	return -1;
}

const char *
errmsg(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

int
name_check(const char *name, const char *what)
{
	size_t i, n = strlen(name);

	if (n == 0)
		return fail("%s is empty", what);
	if (n > 63)
		return fail("%s '%.63s...' is longer than 63 bytes", what, name);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return fail("%s '%s' is not allowed", what, name);
	for (i = 0; i < n; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (alnum || (i > 0 && (c == '.' || c == '_' || c == '-')))
			continue;
		return fail("bad %s '%s': use lower-case letters, digits and . _ - "
		    "(starting with a letter or digit)", what, name);
	}
	return 0;
}

int
fmt(char *out, size_t n, const char *f, ...)
{
	va_list ap;
	int r;

	va_start(ap, f);
	r = vsnprintf(out, n, f, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= n)
		return fail("string too long (%d bytes, limit %zu)", r, n - 1);
	return 0;
}

int
path_join(char *out, size_t n, const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la && a[la - 1] == '/')
		return fmt(out, n, "%s%s", a, b);
	if (fmt(out, n, "%s/%s", a, b) < 0)
		return fail("path too long: %s/%s", a, b);
	return 0;
}

int
parse_long(const char *s, long long min, long long max, long long *out, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	if (!s || !*s)
		return fail("missing %s", what);
	v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		return fail("bad %s '%s': not a whole number", what, s);
	if (v < min || v > max)
		return fail("bad %s '%s': must be between %lld and %lld", what, s, min, max);
	*out = v;
	return 0;
}

int
parse_size(const char *s, unsigned long long *out, const char *what)
{
	char *end;
	unsigned long long v, mul = 1;

	errno = 0;
	if (!s || !*s || *s == '-')
		return fail("bad %s '%s': expected a size like 512M", what, s ? s : "");
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return fail("bad %s '%s': expected a size like 512M", what, s);
	switch (*end) {
	case 0: break;
	case 'k': case 'K': mul = 1ULL << 10; end++; break;
	case 'm': case 'M': mul = 1ULL << 20; end++; break;
	case 'g': case 'G': mul = 1ULL << 30; end++; break;
	case 't': case 'T': mul = 1ULL << 40; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end)
		return fail("bad %s '%s': expected a size like 512M", what, s);
	if (v > ULLONG_MAX / mul)
		return fail("bad %s '%s': too large", what, s);
	*out = v * mul;
	return 0;
}

int
parse_duration_ms(const char *s, long long *out_ms, const char *what)
{
	char *end;
	double v;

	errno = 0;
	if (!s || !*s || *s == '-')
		return fail("bad %s '%s': expected a duration like 30, 500ms, 2m", what, s ? s : "");
	v = strtod(s, &end);
	if (errno || end == s)
		return fail("bad %s '%s': expected a duration like 30, 500ms, 2m", what, s);
	if (!strcmp(end, "ms"))
		;
	else if (!*end || !strcmp(end, "s"))
		v *= 1000;
	else if (!strcmp(end, "m"))
		v *= 60000;
	else if (!strcmp(end, "h"))
		v *= 3600000;
	else
		return fail("bad %s '%s': expected a duration like 30, 500ms, 2m", what, s);
	if (v > 1e15)
		return fail("bad %s '%s': too large", what, s);
	*out_ms = (long long)v;
	return 0;
}

int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
now_ms(void)
{
	return now_ns() / 1000000;
}

void
sleep_ms(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, p + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Read all of fd (at most max bytes) into a NUL-terminated buffer; closes
 * fd.  what names the file in messages ("" for the reason alone). */
static char *
read_fd(int fd, size_t max, size_t *len, const char *what)
{
	char *buf;
	ssize_t r;

	buf = malloc(max + 1);
	if (!buf) {
		close(fd);
		fail("out of memory");
		return NULL;
	}
	r = read_full(fd, buf, max + 1);
	close(fd);
	if (r < 0) {
		if (*what)
			fail_errno("reading %s", what);
		else
			fail_errno("cannot be read");
		free(buf);
		return NULL;
	}
	if ((size_t)r > max) {
		if (*what)
			fail("%s: larger than %zu bytes", what, max);
		else
			fail("is larger than %zu bytes", max);
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[r] = 0;
	if (len)
		*len = (size_t)r;
	return buf;
}

char *
read_file(const char *path, size_t max, size_t *len)
{
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail_errno("%s", path);
		return NULL;
	}
	return read_fd(fd, max, len, path);
}

static const char *
file_kind(mode_t m)
{
	if (S_ISDIR(m)) return "a directory";
	if (S_ISFIFO(m)) return "a fifo";
	if (S_ISSOCK(m)) return "a socket";
	if (S_ISCHR(m)) return "a character device";
	if (S_ISBLK(m)) return "a block device";
	return "not a plain file";
}

/* Only we (or root) can change it: the owner, and no write for group or
 * others. */
static int
writers_trusted(const struct stat *st)
{
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return fail("is owned by uid %ld, not by us or root", (long)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return fail("is writable by %s", (st->st_mode & S_IWOTH) ? "other users" :
		    "its group");
	return 0;
}

int
stat_trusted(const struct stat *st, uint64_t max)
{
	errno = EINVAL;
	if (S_ISLNK(st->st_mode))
		return fail("is a symbolic link");
	if (!S_ISREG(st->st_mode))
		return fail("is %s, not a regular file", file_kind(st->st_mode));
	if (writers_trusted(st) < 0)
		return -1;
	if (max && (uint64_t)st->st_size > max)
		return fail("has %lld bytes, more than %llu", (long long)st->st_size,
		    (unsigned long long)max);
	return 0;
}

char *
text_shown(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return s;
}

int
dir_trusted(const struct stat *st)
{
	errno = EINVAL;
	if (!S_ISDIR(st->st_mode))
		return fail("is not a directory");
	return writers_trusted(st);
}

int
open_trusted(int dfd, const char *path, int flags, uint64_t max)
{
	struct stat st;
	int fd, e;

	fd = openat(dfd, path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		if (e == ELOOP || e == ENXIO) {
			fail(e == ELOOP ? "is a symbolic link" : "is a socket, not a regular file");
			e = EINVAL;
		} else {
			fail_errno("cannot be opened");
		}
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) < 0 || stat_trusted(&st, max) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		e = errno;
		if (e != EINVAL)
			fail_errno("cannot be examined");
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

char *
read_file_trusted(int dfd, const char *path, size_t max, size_t *len)
{
	int fd = open_trusted(dfd, path, O_RDONLY, max);

	if (fd < 0)
		return NULL;
	return read_fd(fd, max, len, "");
}

static int
write_replace(const char *path, const void *buf, size_t n, mode_t mode, int sync)
{
	char tmp[PATH_MAX];
	int fd;

	if (fmt(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return fail_errno("creating %s", tmp);
	if (write_all(fd, buf, n) < 0 || (sync && fsync(fd) < 0)) {
		fail_errno("writing %s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0) {
		fail_errno("writing %s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		fail_errno("renaming %s to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
write_file_atomic(const char *path, const void *buf, size_t n, mode_t mode)
{
	return write_replace(path, buf, n, mode, 1);
}

int
write_file_replace(const char *path, const void *buf, size_t n, mode_t mode)
{
	return write_replace(path, buf, n, mode, 0);
}

int
mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (fmt(buf, sizeof buf, "%s", path) < 0)
		return -1;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return fail_errno("creating %s", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return fail_errno("creating %s", buf);
	return 0;
}

static int
rm_rf_at(int dfd, const char *name)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;

	/* most entries are files: unlink first, look only when it fails
	 * (a directory: EISDIR on Linux, EPERM where POSIX allows it) */
	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return fail_errno("removing %s", name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : fail_errno("%s", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return fail_errno("removing %s", name);
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)     /* ENOENT: removed meanwhile by someone else */
		return errno == ENOENT ? 0 : fail_errno("opening %s", name);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return fail_errno("opening %s", name);
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (rm_rf_at(dirfd(d), e->d_name) < 0)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return fail_errno("removing %s", name);
	return rc;
}

int
rm_rf(const char *path)
{
	return rm_rf_at(AT_FDCWD, path);
}

int
rm_dead_owner(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX], *end;
	size_t pl = strlen(prefix);
	long pid;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, pl))
			continue;
		pid = strtol(e->d_name + pl, &end, 10);
		if (end == e->d_name + pl || *end != '-' || pid <= 0 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (path_join(p, sizeof p, dir, e->d_name) == 0 && rm_rf(p) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* posix_spawn, not fork: glibc and musl start the child with CLONE_VM |
 * CLONE_VFORK, so a parent holding hundreds of MiB (a pull's buffers) does
 * not copy its page tables nor take copy-on-write faults afterwards, and
 * exec errors come back as the return value. */
static int
spawn_fds(posix_spawn_file_actions_t *fa, const struct spawn_opts *o, int tmp[3])
{
	int want[3], i, e;

	want[0] = o->fd_in; want[1] = o->fd_out; want[2] = o->fd_err;
	for (i = 0; i < 3; i++) {
		if (want[i] == -2) {
			e = posix_spawn_file_actions_addopen(fa, i, "/dev/null", O_RDWR, 0);
		} else if (want[i] >= 0) {
			/* a close-on-exec copy above 2, so 0..2 may be swapped */
			if ((tmp[i] = fcntl(want[i], F_DUPFD_CLOEXEC, 10)) < 0)
				return errno;
			e = posix_spawn_file_actions_adddup2(fa, tmp[i], i);
		} else {
			continue;
		}
		if (e)
			return e;
	}
	if (o->cwd && (e = posix_spawn_file_actions_addchdir_np(fa, o->cwd)))
		return e;
	return 0;
}

/* The message for a child that could not start (errno e). */
static pid_t
spawn_failed(char *const argv[], const struct spawn_opts *o, int e)
{
	errno = e;
	if (o->cwd && e == ENOENT && access(o->cwd, F_OK) < 0)
		return fail_errno("cannot enter %s", o->cwd);
	return fail_errno("cannot run %s", argv[0]);
}

void
spawn_child_signals(void)
{
	struct sigaction dfl, old;
	sigset_t none;
	int i;

	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		if (sigaction(i, NULL, &old) == 0 && old.sa_handler != SIG_DFL &&
		    (old.sa_handler != SIG_IGN || i == SIGPIPE))
			sigaction(i, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The child of a fork: handlers back to the default before any signal is
 * unblocked (the parent's cleanup handler must never run here), fds, and
 * exec; its errno goes to errfd (close-on-exec: EOF once it exec'd). */
static void __attribute__((noreturn))
child_exec(char *const argv[], const struct spawn_opts *o, pid_t parent, int errfd)
{
	int want[3] = { o->fd_in, o->fd_out, o->fd_err }, e, i, n;

	spawn_child_signals();
	if (o->pdeathsig && (prctl(PR_SET_PDEATHSIG, o->pdeathsig) < 0 ||
	    getppid() != parent))
		_exit(127);     /* the parent is gone already */
	if (o->keep_fd > 2 && fcntl(o->keep_fd, F_SETFD, 0) < 0)
		goto fail;
	for (i = 0; i < 3; i++) {
		if (want[i] == -2)
			want[i] = open("/dev/null", O_RDWR);
		/* a copy above 2 first, so 0..2 may be swapped */
		if (want[i] >= 0 && want[i] != i && (want[i] = fcntl(want[i],
		    F_DUPFD_CLOEXEC, 10)) < 0)
			goto fail;
	}
	for (i = 0; i < 3; i++)
		if (want[i] >= 0 && dup2(want[i], i) < 0)
			goto fail;
	if ((o->setsid && setsid() < 0) || (o->cwd && chdir(o->cwd) < 0))
		goto fail;
	if (o->envp)
		execve(argv[0], argv, o->envp);
	else
		execvp(argv[0], argv);
fail:
	e = errno;
	n = (int)write(errfd, &e, sizeof e);
	(void)n;
	_exit(127);
}

/* fork, the child on its way to exec: the pid, with *errfd the read end
 * of its exec-error pipe. */
static pid_t
fork_exec(char *const argv[], const struct spawn_opts *o, int *errfd)
{
	pid_t parent = getpid(), pid;
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	if ((pid = fork()) < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return fail_errno("fork");
	}
	if (pid == 0)
		child_exec(argv, o, parent, pfd[1]);
	close(pfd[1]);
	*errfd = pfd[0];
	return pid;
}

/* fork + exec, for what posix_spawn cannot do (a parent-death signal, an
 * inherited fd).  Exec errors come back on a close-on-exec pipe. */
static pid_t
spawn_fork(char *const argv[], const struct spawn_opts *o)
{
	int errfd, e;
	pid_t pid;

	pid = fork_exec(argv, o, &errfd);
	if (pid < 0)
		return -1;
	e = spawn_exec_error(errfd);
	if (!e)
		return pid;
	waitpid(pid, NULL, 0);
	return spawn_failed(argv, o, e);
}

pid_t
spawn_nowait(char *const argv[], const struct spawn_opts *o, int *errfd)
{
	static const struct spawn_opts def = SPAWN_OPTS_INIT;

	return fork_exec(argv, o ? o : &def, errfd);
}

int
spawn_exec_error(int errfd)
{
	int e = 0;
	ssize_t n;

	while ((n = read(errfd, &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(errfd);
	return n == (ssize_t)sizeof e ? e : 0;
}

pid_t
spawn(char *const argv[], const struct spawn_opts *o)
{
	static const struct spawn_opts def = SPAWN_OPTS_INIT;
	extern char **environ;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, pipe;
	int tmp[3] = { -1, -1, -1 }, e, i;
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	pid_t pid = -1;

	if (!o)
		o = &def;
	if (o->pdeathsig || o->keep_fd > 2)
		return spawn_fork(argv, o);
	sigemptyset(&none);
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);      /* we ignore it; the child should not */
	if (o->setsid)
		flags |= POSIX_SPAWN_SETSID;
	if ((e = posix_spawn_file_actions_init(&fa)))
		return fail("posix_spawn: %s", strerror(e));
	if ((e = posix_spawnattr_init(&at))) {
		posix_spawn_file_actions_destroy(&fa);
		return fail("posix_spawn: %s", strerror(e));
	}
	e = posix_spawnattr_setflags(&at, flags);
	if (!e)
		e = posix_spawnattr_setsigmask(&at, &none);
	if (!e)
		e = posix_spawnattr_setsigdefault(&at, &pipe);
	if (!e)
		e = spawn_fds(&fa, o, tmp);
	if (!e) {
		char *const *env = o->envp ? o->envp : environ;
		e = strchr(argv[0], '/') ? posix_spawn(&pid, argv[0], &fa, &at, argv, env) :
		    posix_spawnp(&pid, argv[0], &fa, &at, argv, env);
	}
	for (i = 0; i < 3; i++)
		if (tmp[i] >= 0)
			close(tmp[i]);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (!e)
		return pid;
	return spawn_failed(argv, o, e);
}

ssize_t
send_fd(int sock, const void *buf, size_t n, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)buf, n };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;
	ssize_t r;

	memset(cbuf, 0, sizeof cbuf);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	while ((r = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return r;
}

int
wait_pid(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return fail_errno("waitpid %ld", (long)pid);
	}
	return st;
}

int
wait_status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

int
find_exe(const char *name, char *out, size_t n)
{
	const char *path, *p, *q;
	char buf[PATH_MAX];

	if (strchr(name, '/')) {
		if (access(name, X_OK) < 0)
			return fail_errno("%s", name);
		return fmt(out, n, "%s", name);
	}
	path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = q + 1) {
		q = strchr(p, ':');
		if (!q)
			q = p + strlen(p);
		if (q > p && snprintf(buf, sizeof buf, "%.*s/%s", (int)(q - p), p, name) < (int)sizeof buf
		    && access(buf, X_OK) == 0)
			return fmt(out, n, "%s", buf);
		if (!*q)
			break;
	}
	return fail("%s not found in PATH", name);
}

void
close_others(int keep)
{
	int fd;

#ifdef SYS_close_range
	if (keep < 3 && syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
	if (keep >= 3 && (keep == 3 || syscall(SYS_close_range, 3u, (unsigned)keep - 1, 0u) == 0) &&
	    syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
		return;
#endif
	for (fd = 3; fd < 1024; fd++)
		if (fd != keep)
			close(fd);
}
