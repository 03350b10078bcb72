/* guest: the "VM" is a host process: $FCSTANDIN_AGENT [FCSTANDIN_AGENT_ARGS
 * words] --unix-dir GDIR, in its own process group, killed with us
 * (PR_SET_PDEATHSIG), its stdout/stderr on our stdout (the serial console),
 * no other fd of ours (a real guest has none of the host's).
 * Pause stops it and every process below it (the agent runs commands in
 * groups of their own: a paused VM runs nothing), resume continues them,
 * a kill kills them all.  When it exits on its own
 * the "VM" has shut down and the stand-in exits 0, like Firecracker after
 * a guest reboot (reboot=k).  The kernel command line (boot_args, kept
 * across snapshots) is in its environment as FCSTANDIN_CMDLINE, as a real
 * guest would read /proc/cmdline.
 */
#include "standin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define MAX_ARGS 64

int
guest_dir_make(void)
{
	const char *tmp = getenv("TMPDIR");
	char tmpl[108];

	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	if (fmt(tmpl, sizeof tmpl, "%s/fcg.XXXXXX", tmp) < 0)
		return -1;
	if (!mkdtemp(tmpl)) {
		if (strcmp(tmp, "/tmp")) {
			snprintf(tmpl, sizeof tmpl, "/tmp/fcg.XXXXXX");
			if (mkdtemp(tmpl))
				goto done;
		}
		return fail_errno("mkdtemp %s", tmpl);
	}
done:
	snprintf(S.gdir, sizeof S.gdir, "%s", tmpl);
	return 0;
}

void
guest_dir_remove(void)
{
	if (S.gdir[0])
		rm_rf(S.gdir);
	S.gdir[0] = 0;
}

static void
console(const char *s)
{
	if (write_all(1, s, strlen(s)) < 0)
		return;
}

static void
boot_lines(void)
{
	char buf[512];

	snprintf(buf, sizeof buf,
		"[    0.000000] Linux version 6.1.0-fcstandin (fc-standin) #1 SMP\n"
		"[    0.000000] Command line: %.200s\n"
		"[    0.004000] fc-standin: %lld vCPU(s), %lld MiB, firecracker %s\n",
		S.cmdline, S.cfg.vcpus, S.cfg.mem_mib, S.version);
	console(buf);
}

static int
build_argv(char **argv, char *words)
{
	const char *agent = getenv("FCSTANDIN_AGENT");
	const char *extra = getenv("FCSTANDIN_AGENT_ARGS");
	char *w, *save = NULL;
	int n = 0;

	argv[n++] = (char *)agent;
	if (extra) {
		snprintf(words, 4096, "%s", extra);
		for (w = strtok_r(words, " \t\n", &save); w && n < MAX_ARGS - 3;
		    w = strtok_r(NULL, " \t\n", &save))
			argv[n++] = w;
	}
	argv[n++] = "--unix-dir";
	argv[n++] = S.gdir;
	argv[n] = NULL;
	return n;
}

void
guest_start_now(void)
{
	const char *agent = getenv("FCSTANDIN_AGENT");
	char *argv[MAX_ARGS], words[4096];
	sigset_t none;
	pid_t parent = getpid(), pid;
	int nul;

	S.guest_boot_at = 0;
	if (S.guest_pid > 0)
		return;
	boot_lines();
	if (!agent || !*agent) {
		console("[    0.100000] fc-standin: FCSTANDIN_AGENT is not set: no guest runs\n");
		return;
	}
	build_argv(argv, words);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		warnmsg("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		nul = open("/dev/null", O_RDONLY);
		if (nul >= 0) {
			dup2(nul, 0);
			if (nul > 2)
				close(nul);
		}
		dup2(1, 2);
		/* a guest holds none of the host's fds (firecracker's
		   inherited ones included), only its drives */
		for (int fd = 3; fd < 1024; fd++)
			if (!disk_is_drive_fd(fd))
				close(fd);
		setenv("FCSTANDIN_CMDLINE", S.cmdline, 1);
		disks_to_guest(&S.cfg);
		execvp(agent, argv);
		fprintf(stderr, "fc-standin: guest: cannot run %s: %s\n", agent, strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	S.guest_pid = pid;
	vlog("guest %s started, pid %d", agent, (int)pid);
}

void
guest_boot(void)
{
	S.guest_wanted = 1;
	if (S.boot_ms > 0)
		S.guest_boot_at = now_ms() + S.boot_ms;
	else
		guest_start_now();
}

/* The processes below root (children, grandchildren...), from /proc.
 * Returns how many were put in out (at most max). */
static int
descendants(pid_t root, pid_t *out, int max)
{
	static pid_t pid[8192], ppid[8192];
	int n = 0, k = 0, i, j;
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return 0;
	while ((e = readdir(d)) && n < (int)(sizeof pid / sizeof pid[0])) {
		char path[300], buf[512], *rp;
		long pp;
		int fd;
		ssize_t r;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		r = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (r <= 0)
			continue;
		buf[r] = 0;
		/* "pid (comm) S ppid ...": comm may hold spaces and parens */
		if (!(rp = strrchr(buf, ')')) || sscanf(rp + 1, " %*c %ld", &pp) != 1)
			continue;
		pid[n] = (pid_t)atol(e->d_name);
		ppid[n++] = (pid_t)pp;
	}
	closedir(d);
	out[k++] = root;
	for (i = 0; i < k; i++)         /* breadth first over the found set */
		for (j = 0; j < n && k < max; j++)
			if (ppid[j] == out[i])
				out[k++] = pid[j];
	return k;
}

/* sig to the guest, its group and everything below it (found before any
 * is signalled: a killed parent's children move to another).  For
 * SIGSTOP, again until no new process shows up (one may fork meanwhile). */
static void
signal_tree(int sig)
{
	static pid_t seen[4096], now[4096];
	int ns = 0, n, i, j, fresh, round;

	for (round = 0; round < 20; round++) {
		n = descendants(S.guest_pid, now, (int)(sizeof now / sizeof now[0]));
		if (round == 0)
			kill(-S.guest_pid, sig);
		fresh = 0;
		for (i = 0; i < n; i++) {
			for (j = 0; j < ns && seen[j] != now[i]; j++)
				;
			if (j < ns)
				continue;
			kill(now[i], sig);
			if (ns < (int)(sizeof seen / sizeof seen[0]))
				seen[ns++] = now[i];
			fresh = 1;
		}
		if (!fresh || sig != SIGSTOP)
			break;
	}
}

void
guest_pause(void)
{
	if (S.guest_pid > 0)
		signal_tree(SIGSTOP);
}

void
guest_resume(void)
{
	if (!S.guest_wanted) {
		guest_boot();   /* a snapshot was loaded: the guest runs from now on */
		return;
	}
	if (S.guest_pid > 0)
		signal_tree(SIGCONT);
}

void
guest_kill(void)
{
	if (S.guest_pid <= 0)
		return;
	signal_tree(SIGKILL);
	kill(S.guest_pid, SIGKILL);
	waitpid(S.guest_pid, NULL, 0);
	S.guest_pid = 0;
}

void
guest_ctrl_alt_del(void)
{
	/* the guest's init sees ctrl-alt-del and reboots: reboot=k ends the VMM */
	if (S.guest_pid > 0) {
		kill(-S.guest_pid, SIGTERM);
		kill(-S.guest_pid, SIGCONT);
	}
	if (!S.exit_at)
		S.exit_at = now_ms() + (S.guest_pid > 0 ? 5000 : 100);
	S.exit_code = 0;
}

void
guest_reap(void)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p != S.guest_pid)
			continue;
		vlog("guest exited (status %d)", wait_status_code(st));
		/* the rest of its process group goes with the VM */
		kill(-S.guest_pid, SIGKILL);
		S.guest_pid = 0;
		console("[    9.999999] reboot: Restarting system\n");
		S.exit_code = 0;
		S.exit_at = now_ms();
	}
}
