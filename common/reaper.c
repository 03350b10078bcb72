/* reaper: see reaper.h. */
#include "reaper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runreg.h"
#include "util.h"

static volatile sig_atomic_t g_reaper_pid;
static volatile sig_atomic_t g_reaper_fd = -1;

void
reaper_finish(int keep)
{
	int fd = g_reaper_fd;
	pid_t pid = (pid_t)g_reaper_pid;
	char k = 'K';

	g_reaper_fd = -1;
	if (fd >= 0) {
		if (keep)
			(void)!write(fd, &k, 1);
		close(fd);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	g_reaper_pid = 0;
}

/* A process whose argv is `... --api-sock SOCK ...`: the firecracker of a
 * run dir whose pid was not recorded yet. 0 if none. */
static pid_t
find_by_api_sock(const char *sock)
{
	char path[300], buf[4096];
	struct dirent *e;
	pid_t found = 0;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		ssize_t n;
		int fd;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read_full(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (char *p = buf; p < buf + n; p += strlen(p) + 1)
			if (!strcmp(p, "--api-sock") && p + strlen(p) + 1 < buf + n &&
			    !strcmp(p + strlen(p) + 1, sock))
				found = (pid_t)atol(e->d_name);
	}
	closedir(d);
	return found;
}

static void
reap_vm(const struct store *st, const char *id, pid_t owner)
{
	char run[PATH_MAX], nm[128], tmp[PATH_MAX];
	struct vm v;

	if (store_sub(st, "run", run, sizeof run) == 0 &&
	    fmt(nm, sizeof nm, ".tmp-%ld-%s", (long)owner, id) == 0 &&
	    path_join(tmp, sizeof tmp, run, nm) == 0)
		rm_rf(tmp);
	if (vm_load(st, id, &v) < 0 || v.owner_pid != owner)
		return;         /* gone, or not ours (an id someone else holds) */
	if (v.pid <= 0) {
		v.pid = find_by_api_sock(v.api_sock);
		if (v.pid > 0 && proc_start_time(v.pid, &v.pid_start, NULL) < 0)
			v.pid = 0;
	}
	v.owner_pid = 0;        /* never signal the owner (us, or dead) */
	vm_destroy(&v, 0);
}

static _Noreturn void
reaper_main(int rfd, const struct store *st, const char *id, pid_t owner)
{
	sigset_t none;
	char c;
	int keep = 0, nul;
	ssize_t r;

	setsid();
	prctl(PR_SET_NAME, "fc-exec-reaper");
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {         /* never hold the caller's pipes open */
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	for (int fd = 3; fd < 1024; fd++)
		if (fd != rfd)
			close(fd);
	for (;;) {
		r = read(rfd, &c, 1);
		if (r == 1 && c == 'K')
			keep = 1;
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	if (!keep)
		reap_vm(st, id, owner);
	_exit(0);
}

int
reaper_start(const struct store *st, const char *id)
{
	sigset_t all, old;
	pid_t owner = getpid(), pid;
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		reaper_main(p[0], st, id, owner);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return fail_errno("fork");
	}
	g_reaper_pid = pid;
	g_reaper_fd = p[1];
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

