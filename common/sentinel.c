/* sentinel: see sentinel.h. */
#include "sentinel.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static _Noreturn void
sentinel_main(int rfd, const char *name, void (*fn)(void *), void *arg)
{
	sigset_t none;
	int nul, done = 0;
	ssize_t r;
	char c;

	setsid();
	prctl(PR_SET_NAME, name);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {         /* never hold the caller's pipes open */
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	close_others(rfd);      /* nor its locks */
	for (;;) {
		r = read(rfd, &c, 1);
		if (r == 1 && c == 'D')
			done = 1;
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	if (!done)
		fn(arg);
	_exit(0);
}

int
sentinel_start(struct sentinel *s, const char *name, void (*fn)(void *), void *arg)
{
	sigset_t all, old;
	int p[2];
	pid_t pid;

	s->pid = 0;
	s->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);     /* no handler of ours in the child */
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		sentinel_main(p[0], name, fn, arg);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return fail_errno("fork");
	}
	s->pid = pid;
	s->fd = p[1];
	return 0;
}

void
sentinel_release(struct sentinel *s, int done)
{
	int fd = s->fd;
	char d = 'D';

	s->fd = -1;
	if (s->pid <= 0 || fd < 0)
		return;
	if (done)
		(void)!write(fd, &d, 1);
	close(fd);
}

void
sentinel_end(struct sentinel *s, int done)
{
	pid_t pid = (pid_t)s->pid;

	sentinel_release(s, done);
	if (pid <= 0)
		return;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
}
