/* runcap: see runcap.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "runcap.h"
#include "util.h"

#define ERR_KEEP 4096

struct cap {
	int fd;
	struct strbuf *sb;
	size_t max;
	int drop;               /* stderr: keep reading, stop storing */
};

/* Read what is there: 0 open, 1 EOF, -1 over its limit. */
static int
cap_read(struct cap *c)
{
	char buf[16384];
	ssize_t n = read(c->fd, buf, sizeof buf);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (n == 0)
		return 1;
	if (c->sb->len + (size_t)n > c->max) {
		if (!c->drop)
			return -1;
		n = (ssize_t)(c->max - c->sb->len);
	}
	sb_add(c->sb, buf, (size_t)n);
	return 0;
}

/* Poll until both pipes end: 0; -1 poll failed (message); -2 the
 * deadline passed; -3 stdout overflowed. */
static int
collect(struct cap *c, int nc, long long timeout_ms)
{
	int64_t end = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	struct pollfd pf[2];
	int open = nc, i, r;

	while (open > 0) {
		int wait = -1;
		for (i = 0; i < nc; i++)
			pf[i] = (struct pollfd){ c[i].fd, POLLIN, 0 };
		if (end && (wait = (int)(end - now_ms())) <= 0)
			return -2;
		if (poll(pf, (nfds_t)nc, wait) < 0 && errno != EINTR)
			return fail_errno("poll");
		for (i = 0; i < nc; i++) {
			if (c[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if ((r = cap_read(&c[i])) < 0)
				return -3;
			if (r) {
				close(c[i].fd);
				c[i].fd = -1;
				open--;
			}
		}
	}
	return 0;
}

int
runcap(const struct runcap *r, struct strbuf *out, struct strbuf *err, int *code)
{
	struct spawn_opts so = SPAWN_OPTS_INIT;
	struct cap c[2];
	int op[2], ep[2] = { -1, -1 }, nc = 1, st, rc, i;
	pid_t pid;

	if (pipe2(op, O_CLOEXEC) < 0 || (err && pipe2(ep, O_CLOEXEC) < 0))
		return fail_errno("pipe");
	so.fd_in = -2;
	so.fd_out = op[1];
	so.fd_err = err ? ep[1] : -1;
	so.setsid = 1;
	so.envp = r->envp;
	if (r->keep_fd >= 0)
		fcntl(r->keep_fd, F_SETFD, 0);
	pid = spawn(r->argv, &so);
	if (r->keep_fd >= 0)
		fcntl(r->keep_fd, F_SETFD, FD_CLOEXEC);
	close(op[1]);
	if (err)
		close(ep[1]);
	c[0] = (struct cap){ op[0], out, r->max, 0 };
	if (err)
		c[nc++] = (struct cap){ ep[0], err, ERR_KEEP, 1 };
	if (pid < 0) {
		for (i = 0; i < nc; i++)
			close(c[i].fd);
		return -1;
	}
	rc = collect(c, nc, r->timeout_ms);
	for (i = 0; i < nc; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	if (rc < 0)
		kill(-pid, SIGKILL);
	if ((st = wait_pid(pid)) < 0)
		return -1;
	if (rc == -2)
		return fail("%s did not finish within %lld s", r->argv[0],
		    (r->timeout_ms + 999) / 1000);
	if (rc == -3)
		return fail("%s printed more than %zu bytes", r->argv[0], r->max);
	if (rc < 0)
		return -1;
	*code = wait_status_code(st);
	return 0;
}
