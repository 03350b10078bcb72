/* Unit tests for spawn_nowait (util.h) and vmm_spawn (fcproc.h): the pid
 * comes back before the exec, an exec error is reported afterwards (by
 * spawn_exec_error, and by vmm_wait_ready as "cannot run firecracker X"),
 * keep_fd alone is inherited, the caller's signal handlers are not. */
#include "tap.h"
#include "fcproc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int
run_sh(const char *script, int keep)
{
	struct spawn_opts so = SPAWN_OPTS_INIT;
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	int errfd, st;
	pid_t pid;

	so.keep_fd = keep;
	pid = spawn_nowait(argv, &so, &errfd);
	if (pid < 0)
		return -1;
	if (spawn_exec_error(errfd) != 0)
		return -1;
	st = wait_pid(pid);
	return st < 0 ? -1 : wait_status_code(st);
}

static void
test_exec_error(void)
{
	char *argv[] = { "/nonexistent/firecracker", NULL };
	int errfd, st;
	pid_t pid;

	pid = spawn_nowait(argv, NULL, &errfd);
	ok(pid > 0, "a missing binary still gives a pid (no wait for the exec)");
	is_int(spawn_exec_error(errfd), ENOENT, "its exec error comes back later");
	st = wait_pid(pid);
	is_int(wait_status_code(st), 127, "the child exits 127");
}

static void
test_keep_fd(void)
{
	char script[128];
	int a, b;

	a = open("/dev/null", O_RDONLY | O_CLOEXEC);
	b = open("/dev/null", O_RDONLY | O_CLOEXEC);
	snprintf(script, sizeof script, "[ -e /proc/self/fd/%d ] && ! [ -e /proc/self/fd/%d ]",
	    a, b);
	is_int(run_sh(script, a), 0, "keep_fd is inherited, other close-on-exec fds are not");
	is_int(fcntl(a, F_GETFD), FD_CLOEXEC, "the caller's keep_fd stays close-on-exec");
	close(a);
	close(b);
}

static void
on_term(int sig)
{
	(void)sig;
	_exit(99);
}

static void
test_handlers(void)
{
	sigset_t term, old;

	signal(SIGTERM, on_term);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	/* the child gets SIGTERM with the default action and unblocked */
	is_int(run_sh("kill -TERM $$; sleep 5", -1), 128 + SIGTERM,
	    "the child starts with SIGTERM unblocked and default");
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGTERM, SIG_DFL);
}

static void
test_vmm(void)
{
	struct vmm_opts vo = { 0 };
	struct vmm v;
	char sock[64];

	snprintf(sock, sizeof sock, "/tmp/fcu-spawn.%ld.sock", (long)getpid());
	vmm_init(&v);
	vo.firecracker = "/nonexistent/firecracker";
	vo.dir = "/";
	vo.api_sock = sock;
	vo.detach = 1;
	vo.timeout_ms = 10000;
	ok(vmm_spawn(&v, &vo) == 0, "vmm_spawn of a missing binary returns at once");
	ok(vmm_wait_ready(&v, NULL, 10000) < 0, "vmm_wait_ready fails");
	ok(strstr(errmsg(), "cannot run firecracker /nonexistent/firecracker: No such file") != NULL,
	    "and names the exec error: %s", errmsg());
	vmm_release(&v);
}

int
main(void)
{
	test_exec_error();
	test_keep_fd();
	test_handlers();
	test_vmm();
	return done_testing();
}
