/* Unit tests for spawn_nowait (util.h) and vmm_spawn (fcproc.h): the pid
 * comes back before the exec, an exec error is reported afterwards (by
 * spawn_exec_error, and by vmm_wait_ready as "cannot run firecracker X"),
 * keep_fd alone is inherited, the caller's signal handlers are not. */
#include "tap.h"
#include "fcproc.h"
#include "logcap.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

/* vmm_fork's child waits; dropped, it exits 0 without running anything */
static void
test_fork_dropped(void)
{
	struct vmm_opts vo = { 0 };
	struct vmm v;
	int st;

	vmm_init(&v);
	vo.firecracker = "/nonexistent/firecracker";
	ok(vmm_fork(&v, &vo) == 0 && v.pid > 0, "vmm_fork gives the pid at once");
	vmm_release(&v);
	st = wait_pid(v.pid);
	ok(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "dropped before vmm_go, the child exits 0 and never execs (status %d)", st);
}

/* let go, it runs in the dir it was given, keeps that fd, logs to log */
static void
test_fork_go(void)
{
	char dir[] = "/tmp/fcu-spawn.XXXXXX", fc[PATH_MAX], p[PATH_MAX + 16], sock[PATH_MAX];
	char *args[] = { "extra" }, want[PATH_MAX + 64], *got;
	struct vmm_opts vo = { 0 };
	struct vmm v;
	int dfd, st;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(fc, sizeof fc, "%s/fc", dir);
	snprintf(p, sizeof p, "#!/bin/sh\npwd -P >cwd; echo \"$@\" >args; "
	    "for f in /proc/$$/fd/*; do [ \"$(readlink $f)\" = \"$(pwd -P)\" ] && "
	    "echo kept >fd; done; echo to-log\n");
	write_file_atomic(fc, p, strlen(p), 0755);
	snprintf(sock, sizeof sock, "%s/api.sock", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	vmm_init(&v);
	vo.firecracker = fc;
	vo.args = args;
	vo.nargs = 1;
	ok(vmm_fork(&v, &vo) == 0, "vmm_fork");
	ok(vmm_go(&v, dfd, sock, 1000) == 0, "vmm_go: %s", errmsg());
	st = wait_pid(v.pid);
	is_int(wait_status_code(st), 0, "it ran");
	snprintf(p, sizeof p, "%s/cwd", dir);
	got = read_file(p, 4096, NULL);
	snprintf(want, sizeof want, "%s\n", dir);
	ok(got && !strcmp(got, want), "its cwd is the dir it was given: %s", got ? got : "-");
	free(got);
	snprintf(p, sizeof p, "%s/args", dir);
	got = read_file(p, 4096, NULL);
	snprintf(want, sizeof want, "--api-sock %s extra\n", sock);
	ok(got && !strcmp(got, want), "its arguments: %s", got ? got : "-");
	free(got);
	snprintf(p, sizeof p, "%s/fd", dir);
	got = read_file(p, 4096, NULL);
	ok(got && !strcmp(got, "kept\n"), "it keeps the dir fd across exec");
	free(got);
	snprintf(p, sizeof p, "%s/log", dir);
	logcap_settle(p, 10000);        /* the keeper writes it a moment later */
	got = read_file(p, 4096, NULL);
	ok(got && !strcmp(got, "to-log\n"), "its stdout goes to log");
	free(got);
	vmm_release(&v);
	close(dfd);
	rm_rf(dir);
}

int
main(void)
{
	test_exec_error();
	test_keep_fd();
	test_handlers();
	test_vmm();
	test_fork_dropped();
	test_fork_go();
	return done_testing();
}
