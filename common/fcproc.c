/* fcproc: see fcproc.h. */
#include "fcproc.h"
#include "logcap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUN_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

void
vmm_init(struct vmm *v)
{
	memset(v, 0, sizeof *v);
	v->sockdir_fd = v->execfd = v->ctlfd = -1;
}

/* Why our child exited: its exec failed (the errno from its pipe), or
 * firecracker ran and stopped. */
static int
exit_reason(struct vmm *v, pid_t r, int st, const char *tail)
{
	int e = v->execfd >= 0 ? spawn_exec_error(v->execfd) : 0;

	v->execfd = -1;
	if (e) {
		errno = e;
		return fail_errno("cannot run firecracker %s", v->bin);
	}
	if (r > 0 && WIFSIGNALED(st))
		return fail("firecracker was killed by signal %d%s%s",
		    WTERMSIG(st), *tail ? "; log: " : "", tail);
	return fail("firecracker exited with status %d%s%s",
	    r > 0 ? wait_status_code(st) : -1, *tail ? "; log: " : "", tail);
}

int
unix_path_fit(const char *path, char *out, size_t n, int *dirfd)
{
	char dir[PATH_MAX];
	const char *base;
	int fd;

	*dirfd = -1;
	if (strlen(path) < SUN_MAX)
		return fmt(out, n, "%s", path);
	base = strrchr(path, '/');
	if (!base || base == path)
		return fail("socket path %s is too long", path);
	if (fmt(dir, sizeof dir, "%.*s", (int)(base - path), path) < 0)
		return -1;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("%s", dir);
	if (fmt(out, n, "/proc/self/fd/%d%s", fd, base) < 0 || strlen(out) >= SUN_MAX) {
		close(fd);
		return fail("socket path %s is too long", path);
	}
	*dirfd = fd;
	return 0;
}

static int
set_sock(struct vmm *v, const char *api_sock, int timeout_ms)
{
	if (fmt(v->api_sock, sizeof v->api_sock, "%s", api_sock) < 0)
		return -1;
	if (unix_path_fit(api_sock, v->api_conn, sizeof v->api_conn, &v->sockdir_fd) < 0)
		return -1;
	if (fc_open(&v->fc, v->api_conn, timeout_ms) < 0)
		return -1;
	v->fc_open = 1;
	return 0;
}

int
vmm_spawn(struct vmm *v, const struct vmm_opts *o)
{
	struct spawn_opts so = SPAWN_OPTS_INIT;
	char *argv[64 + 4];
	int i, n = 0, logfd = -2;
	pid_t pid;

	if (o->nargs > 64)
		return fail("too many firecracker arguments (%d, limit 64)", o->nargs);
	if (set_sock(v, o->api_sock, o->timeout_ms) < 0)
		return -1;
	argv[n++] = (char *)o->firecracker;
	argv[n++] = "--api-sock";
	argv[n++] = v->api_sock;
	for (i = 0; i < o->nargs; i++)
		argv[n++] = o->args[i];
	argv[n] = NULL;
	if (o->log) {
		logfd = open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (logfd < 0)
			return fail_errno("creating %s", o->log);
	}
	so.fd_in = -2;
	so.fd_out = logfd;
	so.fd_err = logfd;
	so.cwd = o->dir;
	so.setsid = 1;  /* our terminal's ^C must not reach it: we clean up */
	/* a VM that is not detached (create's) must not outlive us, even
	   when we are SIGKILLed and cannot clean up */
	so.pdeathsig = o->detach ? 0 : SIGKILL;
	so.keep_fd = o->keep_fd;
	/* no wait for the exec: it runs while we go on; an exec error comes
	   back from vmm_check */
	pid = spawn_nowait(argv, &so, &v->execfd);
	if (logfd >= 0)
		close(logfd);
	if (pid < 0)
		return fail("starting firecracker %s: %s", o->firecracker, errmsg());
	v->pid = pid;
	v->child = 1;
	return fmt(v->bin, sizeof v->bin, "%s", o->firecracker);
}

/* ---- two-step start (vmm_fork, vmm_go) ---- */

/* The child's half: wait for the run dir and the socket path, then enter
 * the dir, open its log, exec.  EOF (the parent died or dropped us): exit. */
static void __attribute__((noreturn))
forked_wait(char **argv, int ctl, int errfd)
{
	char path[PATH_MAX], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { path, sizeof path - 1 };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;
	int dirfd = -1, logfd, nul, e;
	ssize_t n;

	spawn_child_signals();
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof cbuf;
	while ((n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (!c || c->cmsg_type != SCM_RIGHTS)
		_exit(0);
	memcpy(&dirfd, CMSG_DATA(c), sizeof dirfd);
	path[n] = 0;
	argv[2] = path;
	if (fchdir(dirfd) < 0 || setsid() < 0)
		goto fail;
	logfd = logcap_start("log");     /* bounded: the guest's console */
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (logfd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(logfd, 1) < 0 ||
	    dup2(logfd, 2) < 0 || fcntl(dirfd, F_SETFD, 0) < 0)
		goto fail;
	execv(argv[0], argv);
fail:
	e = errno;
	n = write(errfd, &e, sizeof e);
	(void)n;
	_exit(127);
}

int
vmm_fork(struct vmm *v, const struct vmm_opts *o)
{
	char *argv[64 + 4];
	int i, n = 0, sp[2], ep[2];
	pid_t pid;

	if (o->nargs > 64)
		return fail("too many firecracker arguments (%d, limit 64)", o->nargs);
	if (fmt(v->bin, sizeof v->bin, "%s", o->firecracker) < 0)
		return -1;
	argv[n++] = (char *)o->firecracker;
	argv[n++] = "--api-sock";
	argv[n++] = NULL;       /* from vmm_go */
	for (i = 0; i < o->nargs; i++)
		argv[n++] = o->args[i];
	argv[n] = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return fail_errno("socketpair");
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(sp[0]);
		close(sp[1]);
		return fail_errno("pipe");
	}
	pid = fork();
	if (pid == 0) {
		close(sp[0]);
		forked_wait(argv, sp[1], ep[1]);
	}
	close(sp[1]);
	close(ep[1]);
	if (pid < 0) {
		close(sp[0]);
		close(ep[0]);
		return fail_errno("starting firecracker %s: fork", o->firecracker);
	}
	v->pid = pid;
	v->child = 1;
	v->ctlfd = sp[0];
	v->execfd = ep[0];
	return 0;
}

int
vmm_go(struct vmm *v, int dirfd, const char *api_sock, int timeout_ms)
{
	size_t n = strlen(api_sock);
	ssize_t r;

	if (set_sock(v, api_sock, timeout_ms) < 0)
		return -1;
	r = send_fd(v->ctlfd, api_sock, n, dirfd);
	close(v->ctlfd);
	v->ctlfd = -1;
	if (r != (ssize_t)n)
		return fail_errno("starting firecracker %s", v->bin);
	return 0;
}

int
vmm_check_wait(struct vmm *v, const char *log, int ms)
{
	struct timespec ts = { 0, 1000000 };
	int64_t deadline = now_ms() + ms;

	for (;;) {
		if (vmm_check(v, log) < 0)
			return -1;
		if (now_ms() >= deadline)
			return 0;
		nanosleep(&ts, NULL);
	}
}

int
vmm_attach(struct vmm *v, pid_t pid, const char *api_sock, int timeout_ms)
{
	if (set_sock(v, api_sock, timeout_ms) < 0)
		return -1;
	v->pid = pid;
	v->child = 0;
	return 0;
}

static int
try_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, r;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
	return r;
}

int
vmm_check(struct vmm *v, const char *log)
{
	char tail[600];
	int st;
	pid_t r;

	if (v->child) {
		r = waitpid(v->pid, &st, WNOHANG);
		if (r == 0)
			return 0;
		if (r < 0 && errno == EINTR)
			return 0;
		v->pid = 0;
		logcap_settle(log, 1000);       /* its last words */
		log_tail(log, 3, tail, sizeof tail);
		for (char *q = tail; *q; q++)
			if (*q == '\n')
				*q = '|';
		return exit_reason(v, r, st, tail);
	}
	if (kill(v->pid, 0) < 0 && errno == ESRCH) {
		pid_t old = v->pid;
		v->pid = 0;
		return fail("firecracker (pid %ld) is gone", (long)old);
	}
	return 0;
}

int
vmm_wait_ready(struct vmm *v, const char *log, int timeout_ms)
{
	struct timespec ts = { 0, 100000 };
	int64_t deadline = now_ms() + timeout_ms;
	int step = 0;

	for (;;) {
		if (vmm_check(v, log) < 0)
			return -1;
		if (try_connect(v->api_conn) == 0)
			return 0;
		if (now_ms() > deadline)
			return fail("firecracker's API socket %s did not answer within %d ms",
			    v->api_sock, timeout_ms);
		nanosleep(&ts, NULL);
		if (++step == 100)
			ts.tv_nsec = 1000000;   /* slow hosts: 1 ms steps after ~10 ms */
	}
}

void
vmm_release(struct vmm *v)
{
	if (v->fc_open)
		fc_close(&v->fc);
	v->fc_open = 0;
	if (v->sockdir_fd >= 0)
		close(v->sockdir_fd);
	if (v->execfd >= 0)
		close(v->execfd);
	if (v->ctlfd >= 0)
		close(v->ctlfd);
	v->sockdir_fd = v->execfd = v->ctlfd = -1;
}

void
vmm_kill(struct vmm *v)
{
	if (v->pid > 0) {
		kill(v->pid, SIGKILL);
		if (v->child)
			while (waitpid(v->pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
	v->pid = 0;
	vmm_release(v);
	if (v->api_sock[0])
		unlink(v->api_sock);
}

static int
parse_ver(const char *s, int *maj, int *min)
{
	while (*s == 'v' || *s == 'V')
		s++;
	return sscanf(s, "%d.%d", maj, min) == 2 ? 0 : -1;
}

int
fc_version_loadable(const char *snap, const char *bin)
{
	int a, b, c, d;

	if (parse_ver(snap, &a, &b) < 0 || parse_ver(bin, &c, &d) < 0)
		return -1;
	return a == c && b == d;
}

int
fc_binary_version(const char *firecracker, char *out, size_t n)
{
	struct spawn_opts so = SPAWN_OPTS_INIT;
	char buf[512], *p, *e;
	char *argv[] = { (char *)firecracker, "--version", NULL };
	int pfd[2], st;
	ssize_t r;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	so.fd_in = -2;
	so.fd_out = pfd[1];
	so.fd_err = -2;
	pid = spawn(argv, &so);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return -1;
	}
	r = read_full(pfd[0], buf, sizeof buf - 1);
	close(pfd[0]);
	st = wait_pid(pid);
	if (r < 0)
		return fail_errno("reading the output of %s --version", firecracker);
	buf[r] = 0;
	if (st < 0 || wait_status_code(st) != 0)
		return fail("%s --version failed (status %d): is it a firecracker binary?",
		    firecracker, st < 0 ? -1 : wait_status_code(st));
	/* "Firecracker v1.16.1\n..." */
	for (p = buf; *p; p++)
		if (*p == 'v' && p[1] >= '0' && p[1] <= '9')
			break;
	if (!*p)
		return fail("%s --version printed no version ('%.40s')", firecracker, buf);
	p++;
	for (e = p; (*e >= '0' && *e <= '9') || *e == '.' || *e == '-' ||
	    (*e >= 'a' && *e <= 'z'); e++)
		;
	return fmt(out, n, "%.*s", (int)(e - p), p);
}

/* The cache entry's name for a binary: its device and inode. */
static int
ver_cache_path(const char *dir, const struct stat *sb, char *out, size_t n)
{
	return fmt(out, n, "%s/fcver-%llx-%llx", dir, (unsigned long long)sb->st_dev,
	    (unsigned long long)sb->st_ino);
}

/* "<size> <mtime ns> <ctime ns> " identifies this binary's contents: any
 * write or replacement changes ctime, which no one can set back. */
static int
ver_cache_key(const struct stat *sb, char *out, size_t n)
{
	return fmt(out, n, "%lld %lld.%09ld %lld.%09ld ", (long long)sb->st_size,
	    (long long)sb->st_mtim.tv_sec, sb->st_mtim.tv_nsec,
	    (long long)sb->st_ctim.tv_sec, sb->st_ctim.tv_nsec);
}

int
fc_binary_version_cached(const char *firecracker, const char *cache_dir, char *out, size_t n)
{
	char path[PATH_MAX], key[128], *text, *v;
	struct stat sb;
	size_t len, kl;

	if (!cache_dir || stat(firecracker, &sb) < 0 ||
	    ver_cache_path(cache_dir, &sb, path, sizeof path) < 0 ||
	    ver_cache_key(&sb, key, sizeof key) < 0)
		return fc_binary_version(firecracker, out, n);
	kl = strlen(key);
	text = read_file_trusted(AT_FDCWD, path, 256, &len);
	if (text && len > kl + 1 && !strncmp(text, key, kl) && text[len - 1] == '\n') {
		v = text + kl;
		text[len - 1] = 0;
		if (strlen(v) < n && strspn(v, "0123456789.-abcdefghijklmnopqrstuvwxyz") ==
		    strlen(v)) {
			memcpy(out, v, strlen(v) + 1);
			free(text);
			return 0;
		}
	}
	free(text);
	if (fc_binary_version(firecracker, out, n) < 0)
		return -1;
	/* best effort: a read-only store just runs --version every time */
	if (fmt(key + kl, sizeof key - kl, "%s\n", out) == 0 &&
	    (mkdir(cache_dir, 0755) == 0 || errno == EEXIST))
		write_file_atomic(path, key, strlen(key), 0644);
	return 0;
}

void
log_tail(const char *path, int lines, char *out, size_t n)
{
	char buf[4096];
	ssize_t r;
	off_t sz;
	int fd, seen = 0;
	char *p, *q;

	out[0] = 0;
	if (!path || n == 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	sz = lseek(fd, 0, SEEK_END);
	if (sz > (off_t)sizeof buf - 1)
		lseek(fd, sz - (off_t)(sizeof buf - 1), SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	r = read_full(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return;
	buf[r] = 0;
	while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == '\r'))
		buf[--r] = 0;
	for (p = buf + r; p > buf; p--)
		if (p[-1] == '\n' && ++seen == lines)
			break;
	for (q = p; *q; q++)
		if ((unsigned char)*q < 32 && *q != '\n')
			*q = ' ';
		else if ((unsigned char)*q >= 127)
			*q = '?';
	snprintf(out, n, "%s", p);
}

int
split_args_env(const char *val, char **argv, int n, int max)
{
	char *copy, *tok, *save = NULL;

	if (!val || !*val)
		return n;
	copy = strdup(val);
	if (!copy)
		return n;
	for (tok = strtok_r(copy, " \t\n", &save); tok && n < max;
	    tok = strtok_r(NULL, " \t\n", &save))
		argv[n++] = tok;
	return n;       /* copy lives until exit: argv points into it */
}

/* ---- guard ---- */

#define GUARD_DIRS 4

static volatile sig_atomic_t g_pid;
static volatile sig_atomic_t g_child;
static char g_dirs[GUARD_DIRS][PATH_MAX];
static volatile sig_atomic_t g_used[GUARD_DIRS];

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Remove a flat directory with async-signal-safe calls only. */
static void
rm_flat(const char *dir)
{
	char buf[2048];
	long nread, off;
	int fd, removed = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	for (;;) {
		nread = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (nread < 0)
			break;
		if (nread == 0) {
			/* Rewind only if this pass removed something (the
			 * directory changed under the cursor); else done. */
			if (!removed)
				break;
			removed = 0;
			lseek(fd, 0, SEEK_SET);
			continue;
		}
		for (off = 0; off < nread; ) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] == '.' && (!d->d_name[1] ||
			    (d->d_name[1] == '.' && !d->d_name[2])))
				continue;
			if (unlinkat(fd, d->d_name, 0) == 0 ||
			    (errno == EISDIR && unlinkat(fd, d->d_name, AT_REMOVEDIR) == 0))
				removed = 1;
		}
	}
	close(fd);
	rmdir(dir);
}

static void
guard_run(void)
{
	pid_t pid = (pid_t)g_pid;
	int i;

	if (pid > 0) {
		kill(pid, SIGKILL);
		if (g_child)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
	g_pid = 0;
	for (i = 0; i < GUARD_DIRS; i++) {
		if (!g_used[i])
			continue;
		rm_flat(g_dirs[i]);
		g_used[i] = 0;
	}
}

static void
guard_handler(int sig)
{
	char msg[128];
	size_t l = 0;
	const char *p;

	guard_run();
	for (p = progname; *p && l < 60; p++)
		msg[l++] = *p;
	for (p = ": interrupted by signal "; *p; p++)
		msg[l++] = *p;
	if (sig >= 10)
		msg[l++] = (char)('0' + sig / 10);
	msg[l++] = (char)('0' + sig % 10);
	msg[l++] = '\n';
	l = (size_t)write(2, msg, l);
	_exit(1);
}

void
guard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = guard_handler;
	sigfillset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void
guard_pid(pid_t pid, int child)
{
	guard_block();
	g_pid = pid;
	g_child = child;
	guard_unblock();
}

int
guard_dir(const char *dir)
{
	int i;

	if (strlen(dir) >= PATH_MAX)
		return fail("path too long: %s", dir);
	for (i = 0; i < GUARD_DIRS; i++) {
		if (g_used[i])
			continue;
		guard_block();
		memcpy(g_dirs[i], dir, strlen(dir) + 1);
		g_used[i] = 1;
		guard_unblock();
		return 0;
	}
	return fail("internal: too many guarded directories");
}

void
guard_forget_dir(const char *dir)
{
	int i;

	guard_block();
	for (i = 0; i < GUARD_DIRS; i++)
		if (g_used[i] && !strcmp(g_dirs[i], dir))
			g_used[i] = 0;
	guard_unblock();
}

void
guard_cleanup(void)
{
	guard_block();
	guard_run();
	guard_unblock();
}

static sigset_t
guard_set(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGINT);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGHUP);
	return s;
}

static int g_depth;     /* nesting of guard_block (main thread only) */

void
guard_block(void)
{
	sigset_t s = guard_set();

	if (g_depth++ == 0)
		sigprocmask(SIG_BLOCK, &s, NULL);
}

void
guard_unblock(void)
{
	sigset_t s = guard_set();

	if (g_depth > 0 && --g_depth == 0)
		sigprocmask(SIG_UNBLOCK, &s, NULL);
}
