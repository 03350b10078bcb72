/* fc-agent: the guest side of fcsnap.  Listens on AF_VSOCK (or a Unix
 * socket in test mode), answers hello/ping/sync, runs exec sessions.
 * The protocol is in common/agent.h and man/fc-agent.8.
 *
 * One process per connection: the listener forks a session for every
 * accepted connection.  Exec sessions are then fully independent (one
 * slow host or a stuck command cannot stall another session or the
 * listener), and each session is a plain poll loop over its own few fds.
 * A fork of this small static binary costs far less than a vsock round
 * trip. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/random.h>
#include <linux/vm_sockets.h>

#include "agent.h"
#include "util.h"

#define WINDOW      (256u * 1024)          /* stdin bytes in flight */
#define RX_CAP      (WINDOW + 4096)        /* one whole frame at most */
#define TX_CAP      (WINDOW + 4096)
#define TX_RESERVE  256                    /* room kept for control frames */
#define OUT_CHUNK   (64u * 1024)
#define PIPE_BYTES  (256 * 1024)               /* fewer wakeups per MiB */
#define DRAIN_MS    1000                   /* output idle time after exit */
#define LINGER_MS   5000                   /* wait for the host to close */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int verbose, test_mode, as_init;
static volatile sig_atomic_t got_term;
static int sig_w = -1;                     /* self-pipe write end */

static void
logv(const char *fmt_, ...) __attribute__((format(printf, 1, 2)));

static void
logv(const char *fmt_, ...)
{
	va_list ap;
	char buf[512];

	if (!verbose)
		return;
	va_start(ap, fmt_);
	vsnprintf(buf, sizeof(buf), fmt_, ap);
	va_end(ap);
	fprintf(stderr, "%s[%d]: %s\n", progname, (int)getpid(), buf);
}

/* ---- signals ---- */

static void
on_signal(int sig)
{
	int e = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	if (sig_w >= 0)
		(void)!write(sig_w, &c, 1);
	errno = e;
}

/* A non-blocking CLOEXEC self-pipe; returns its read end. */
static int
self_pipe(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		die("pipe: %s", strerror(errno));
	if (sig_w >= 0)
		close(sig_w);
	sig_w = p[1];
	return p[0];
}

static void
catch(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void
drain_fd(int fd)
{
	char b[64];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

/* ---- replies ---- */

/* Append an item (u8 status, u8 n, message) to p at *off. */
static void
put_item(unsigned char *p, size_t *off, int status, const char *msg)
{
	size_t n = strlen(msg);

	if (n > 255)
		n = 255;
	p[(*off)++] = (unsigned char)status;
	p[(*off)++] = (unsigned char)n;
	memcpy(p + *off, msg, n);
	*off += n;
}

static int
send_error(int fd, const char *msg)
{
	logv("error: %s", msg);
	return agent_write_frame(fd, AGENT_T_ERROR, msg, strlen(msg));
}

/* ---- hello / ping / sync ---- */

static int
set_clock(uint64_t ns, char *msg, size_t n)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	if (test_mode) {
		snprintf(msg, n, "skipped in test mode");
		return AGENT_ITEM_SKIPPED;
	}
	if (clock_settime(CLOCK_REALTIME, &ts) < 0) {
		snprintf(msg, n, "clock_settime: %s", strerror(errno));
		return AGENT_ITEM_FAILED;
	}
	snprintf(msg, n, "clock set");
	return AGENT_ITEM_OK;
}

static int
add_entropy(const unsigned char *b, size_t len, char *msg, size_t n)
{
	uint32_t e[2 + AGENT_ENTROPY_MAX / 4];   /* a struct rand_pool_info */
	struct rand_pool_info *info = (struct rand_pool_info *)e;
	int fd, r;

	if (test_mode) {
		snprintf(msg, n, "skipped in test mode");
		return AGENT_ITEM_SKIPPED;
	}
	info->entropy_count = (int)(len * 8);
	info->buf_size = (int)len;
	memcpy(e + 2, b, len);
	fd = open("/dev/random", O_WRONLY | O_CLOEXEC);
	r = fd < 0 ? -1 : ioctl(fd, RNDADDENTROPY, info);
	if (r < 0)
		snprintf(msg, n, "%s /dev/random: %s", fd < 0 ? "opening" : "RNDADDENTROPY on",
		    strerror(errno));
	else
		snprintf(msg, n, "%zu bytes added", len);
	if (fd >= 0)
		close(fd);
	explicit_bzero(e, sizeof(e));
	return r < 0 ? AGENT_ITEM_FAILED : AGENT_ITEM_OK;
}

static int
do_hello(int fd, const unsigned char *p, size_t n)
{
	unsigned char out[2 * 257];
	char msg[256], clock_msg[256];
	size_t off = 0;
	int st;

	if (n < 8 + AGENT_ENTROPY_MIN || n > 8 + AGENT_ENTROPY_MAX)
		return send_error(fd, "hello: payload must be 8 bytes of time and 64..256 bytes of entropy"), -1;
	st = set_clock(agent_get64(p), clock_msg, sizeof(clock_msg));
	put_item(out, &off, st, clock_msg);
	st = add_entropy(p + 8, n - 8, msg, sizeof(msg));
	put_item(out, &off, st, msg);
	/* always on the console: once per restore, and the proof a clone
	 * was reseeded */
	fprintf(stderr, "%s: hello: clock: %s; entropy: %s\n", progname, clock_msg, msg);
	return agent_write_frame(fd, AGENT_T_HELLO_OK, out, off);
}

static int
drop_caches(char *msg, size_t n)
{
	int fd;

	if (test_mode) {
		snprintf(msg, n, "skipped in test mode");
		return AGENT_ITEM_SKIPPED;
	}
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "3\n", 2) != 2) {
		snprintf(msg, n, "/proc/sys/vm/drop_caches: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return AGENT_ITEM_FAILED;
	}
	close(fd);
	snprintf(msg, n, "caches dropped");
	return AGENT_ITEM_OK;
}

static int
do_sync(int fd, const unsigned char *p, size_t n)
{
	unsigned char out[260];
	char msg[256] = "not asked";
	size_t off = 0;
	int st = AGENT_ITEM_SKIPPED;

	if (n != 1)
		return send_error(fd, "sync: payload must be one flags byte"), -1;
	sync();
	if (p[0] & AGENT_SYNC_DROP_CACHES)
		st = drop_caches(msg, sizeof(msg));
	put_item(out, &off, st, msg);
	logv("sync: drop caches: %s", msg);
	return agent_write_frame(fd, AGENT_T_SYNC_OK, out, off);
}

static int
do_handshake(int fd, const unsigned char *p, size_t n)
{
	unsigned char out[12 + 64];
	char msg[128];
	size_t vl = strlen(FCSNAP_VERSION);

	if (n < 12 || memcmp(p, AGENT_MAGIC, 8))
		return send_error(fd, "not an fcsnap agent handshake"), -1;
	if (agent_get32(p + 8) != AGENT_PROTO_VERSION) {
		snprintf(msg, sizeof(msg), "protocol version mismatch: the agent speaks %u, the host %u",
		    AGENT_PROTO_VERSION, agent_get32(p + 8));
		return send_error(fd, msg), -1;
	}
	memcpy(out, AGENT_MAGIC, 8);
	agent_put32(out + 8, AGENT_PROTO_VERSION);
	memcpy(out + 12, FCSNAP_VERSION, vl);
	return agent_write_frame(fd, AGENT_T_HANDSHAKE_OK, out, 12 + vl);
}

/* ---- exec: request parsing and spawning ---- */

struct cmd {
	uint32_t timeout_ms, flags;
	const char *cwd;
	char **argv;
	char **envp;
	size_t envc;
};

/* Split n bytes at p into count NUL-terminated strings; *used bytes. */
static int
take_strings(const unsigned char *p, size_t n, uint32_t count, const char **out, size_t *used)
{
	size_t off = 0;

	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *z = memchr(p + off, '\0', n - off);

		if (!z)
			return -1;
		out[i] = (const char *)p + off;
		off = (size_t)(z - p) + 1;
	}
	*used = off;
	return 0;
}

static void
env_set(struct cmd *c, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);

	for (size_t i = 0; i < c->envc; i++) {
		if (!strncmp(c->envp[i], kv, kl) && c->envp[i][kl] == '=') {
			if (eq) {
				c->envp[i] = (char *)kv;
			} else {
				c->envp[i] = c->envp[--c->envc];
				c->envp[c->envc] = NULL;
			}
			return;
		}
	}
	if (eq) {
		c->envp[c->envc++] = (char *)kv;
		c->envp[c->envc] = NULL;
	}
}

extern char **environ;

/* Parse an EXEC payload. Returns 0 or -1 with msg set. Strings point into p. */
static int
parse_exec(const unsigned char *p, size_t n, struct cmd *c, char *msg, size_t mn)
{
	uint32_t argc, envc;
	size_t used, base = 0, off;
	const char **v;

	if (n < 17)
		return snprintf(msg, mn, "exec: short request"), -1;
	c->timeout_ms = agent_get32(p);
	c->flags = agent_get32(p + 4);
	argc = agent_get32(p + 8);
	envc = agent_get32(p + 12);
	if (argc == 0 || argc > n || envc > n)
		return snprintf(msg, mn, "exec: bad argument or environment count"), -1;
	if (!(c->flags & AGENT_EXEC_CLEAR_ENV))
		while (environ[base])
			base++;
	v = calloc((size_t)1 + argc + envc, sizeof(*v));
	c->argv = calloc((size_t)argc + 1, sizeof(char *));
	c->envp = calloc(base + envc + 1, sizeof(char *));
	if (!v || !c->argv || !c->envp) {
		free(v);
		return snprintf(msg, mn, "exec: out of memory"), -1;
	}
	if (take_strings(p + 16, n - 16, 1 + argc + envc, v, &used) < 0) {
		free(v);
		return snprintf(msg, mn, "exec: malformed strings"), -1;
	}
	c->cwd = *v[0] ? v[0] : "/";
	memcpy(c->argv, v + 1, argc * sizeof(char *));
	for (off = 0; off < base; off++)
		c->envp[off] = environ[off];
	c->envc = base;
	for (uint32_t i = 0; i < envc; i++)
		env_set(c, v[1 + argc + i]);
	free(v);
	return 0;
}

static void
child_exec(const struct cmd *c, int in, int out, int err, int errpipe)
{
	sigset_t none;
	int e[2];

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	e[0] = 1;
	if (chdir(c->cwd) == 0) {
		e[0] = 2;
		environ = c->envp;              /* PATH lookup uses the command's PATH */
		execvp(c->argv[0], c->argv);
	}
	e[1] = errno;
	(void)!write(errpipe, e, sizeof(e));
	_exit(127);
}

/* Report why the command did not start. */
static void
send_exec_error(int fd, const struct cmd *c, int stage, int e)
{
	unsigned char out[600];
	int kind = AGENT_FAIL_OTHER;
	int n;

	if (stage == 2 && e == ENOENT)
		kind = AGENT_FAIL_NOTFOUND;
	else if (stage == 2 && (e == EACCES || e == ENOEXEC || e == EISDIR || e == EPERM))
		kind = AGENT_FAIL_NOEXEC;
	out[0] = (unsigned char)kind;
	agent_put32(out + 1, (uint32_t)e);
	if (stage == 1)
		n = snprintf((char *)out + 5, sizeof(out) - 5, "working directory %s: %s",
		    c->cwd, strerror(e));
	else if (kind == AGENT_FAIL_NOTFOUND)
		n = snprintf((char *)out + 5, sizeof(out) - 5, "command not found in the guest");
	else
		n = snprintf((char *)out + 5, sizeof(out) - 5, "cannot execute in the guest: %s",
		    strerror(e));
	if (n >= (int)(sizeof(out) - 5))
		n = (int)(sizeof(out) - 6);
	logv("exec %s: %s", c->argv[0], (char *)out + 5);
	agent_write_frame(fd, AGENT_T_EXEC_ERROR, out, 5 + (size_t)n + 1);
}

/* ---- exec: the session loop ---- */

struct session {
	int sock, sigr;
	pid_t pid;
	int in, out, err;                  /* our ends; -1 when closed */
	int host_eof;                      /* STDIN_EOF received */
	int exited, status, timed_out;
	uint32_t flags;
	int64_t deadline, kill_at, drain_until;
	unsigned char rx[RX_CAP];
	size_t rxlen;
	unsigned char sin[WINDOW];         /* stdin waiting for the child */
	size_t soff, slen;
	size_t unacked;                    /* consumed stdin not yet in a WINDOW frame */
	unsigned char tx[TX_CAP];
	size_t toff, tlen;
};

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
tx_frame(struct session *s, int type, const void *p, size_t n)
{
	if (s->toff + s->tlen + AGENT_HDR_LEN + n > TX_CAP) {
		memmove(s->tx, s->tx + s->toff, s->tlen);
		s->toff = 0;
	}
	agent_put_hdr(s->tx + s->toff + s->tlen, type, (uint32_t)n);
	memcpy(s->tx + s->toff + s->tlen + AGENT_HDR_LEN, p, n);
	s->tlen += AGENT_HDR_LEN + n;
}

static void
ack_stdin(struct session *s, size_t n, int force)
{
	unsigned char p[4];

	s->unacked += n;
	if (!s->unacked || (!force && s->unacked < WINDOW / 4 && s->slen))
		return;
	if (TX_CAP - s->tlen < TX_RESERVE / 2)  /* host not reading: later */
		return;
	agent_put32(p, (uint32_t)s->unacked);
	tx_frame(s, AGENT_T_WINDOW, p, sizeof(p));
	s->unacked = 0;
}

static void
kill_group(struct session *s, int sig)
{
	if (kill(-s->pid, sig) < 0 && errno == ESRCH && !s->exited)
		kill(s->pid, sig);
}

/* A protocol error inside a session: queue ERROR if it fits, try once
 * to send it; the caller then ends the session. */
static int
session_error(struct session *s, const char *msg)
{
	size_t n = strlen(msg);

	logv("error: %s", msg);
	if (n > 200)
		n = 200;
	if (TX_CAP - s->tlen >= AGENT_HDR_LEN + n)
		tx_frame(s, AGENT_T_ERROR, msg, n);
	(void)!write(s->sock, s->tx + s->toff, s->tlen);
	return -1;
}

/* One complete frame from the host. Returns 0 or -1 (protocol error). */
static int
host_frame(struct session *s, int type, const unsigned char *p, size_t n)
{
	switch (type) {
	case AGENT_T_STDIN:
		if (s->host_eof || n > WINDOW - s->slen - s->unacked)
			return session_error(s, "stdin beyond the window or after its end");
		if (s->in < 0) {               /* the command closed its stdin */
			ack_stdin(s, n, 1);
			return 0;
		}
		if (s->soff + s->slen + n > WINDOW) {
			memmove(s->sin, s->sin + s->soff, s->slen);
			s->soff = 0;
		}
		memcpy(s->sin + s->soff + s->slen, p, n);
		s->slen += n;
		return 0;
	case AGENT_T_STDIN_EOF:
		s->host_eof = 1;
		return 0;
	case AGENT_T_SIGNAL:
		if (n != 4 || agent_get32(p) == 0 || agent_get32(p) >= NSIG)
			return session_error(s, "bad signal frame");
		logv("signal %u to group %d", agent_get32(p), (int)s->pid);
		if (!s->exited)
			kill_group(s, (int)agent_get32(p));
		return 0;
	default:
		return session_error(s, "unexpected frame in an exec session");
	}
}

/* Read from the host socket and handle whole frames. -1: host gone or
 * protocol error. */
static int
host_read(struct session *s)
{
	const unsigned char *p;
	size_t n, used, off = 0;
	ssize_t r;
	int type, d;

	r = read(s->sock, s->rx + s->rxlen, RX_CAP - s->rxlen);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r <= 0)
		return -1;
	s->rxlen += (size_t)r;
	while ((d = agent_decode(s->rx + off, s->rxlen - off, WINDOW, &type, &p, &n, &used)) == 1) {
		if (host_frame(s, type, p, n) < 0)
			return -1;
		off += used;
	}
	if (d < 0)
		return session_error(s, errmsg());
	memmove(s->rx, s->rx + off, s->rxlen - off);
	s->rxlen -= off;
	return 0;
}

static int
host_write(struct session *s)
{
	ssize_t w = write(s->sock, s->tx + s->toff, s->tlen);

	if (w < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (w < 0)
		return -1;
	s->toff += (size_t)w;
	s->tlen -= (size_t)w;
	if (!s->tlen)
		s->toff = 0;
	return 0;
}

static void
child_write(struct session *s)
{
	ssize_t w = write(s->in, s->sin + s->soff, s->slen);

	if (w < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (w < 0) {                        /* EPIPE: the command closed stdin */
		close_fd(&s->in);
		ack_stdin(s, s->slen, 1);
		s->soff = s->slen = 0;
		return;
	}
	s->soff += (size_t)w;
	s->slen -= (size_t)w;
	if (!s->slen)
		s->soff = 0;
	ack_stdin(s, (size_t)w, 0);
}

/* Room for command output, keeping TX_RESERVE for control frames. */
static size_t
tx_room(const struct session *s)
{
	if (TX_CAP - s->tlen < TX_RESERVE + AGENT_HDR_LEN + 1)
		return 0;
	return TX_CAP - s->tlen - TX_RESERVE - AGENT_HDR_LEN;
}

/* Read command output from *fd into the tx buffer as one frame. */
static void
child_read(struct session *s, int *fd, int type)
{
	size_t room = tx_room(s);
	unsigned char *h;
	ssize_t r;

	if (room == 0)                      /* filled since the poll */
		return;
	if (room > OUT_CHUNK)
		room = OUT_CHUNK;
	if (s->toff + s->tlen + AGENT_HDR_LEN + room > TX_CAP) {
		memmove(s->tx, s->tx + s->toff, s->tlen);
		s->toff = 0;
	}
	h = s->tx + s->toff + s->tlen;
	r = read(*fd, h + AGENT_HDR_LEN, room);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		close_fd(fd);
		return;
	}
	agent_put_hdr(h, type, (uint32_t)r);
	s->tlen += AGENT_HDR_LEN + (size_t)r;
	if (s->exited)
		s->drain_until = now_ms() + DRAIN_MS;
}

/* The command may have exited: collect it (killing the rest of its group
 * first, while its pgid cannot be reused). */
static void
check_child(struct session *s)
{
	siginfo_t si;

	drain_fd(s->sigr);
	if (s->exited)
		return;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
		return;
	if (!(s->flags & AGENT_EXEC_KEEP_GROUP))
		kill(-s->pid, SIGKILL);
	while (waitpid(s->pid, &s->status, 0) < 0 && errno == EINTR)
		;
	s->exited = 1;
	s->drain_until = now_ms() + DRAIN_MS;
	close_fd(&s->in);
	ack_stdin(s, s->slen, 1);
	s->soff = s->slen = 0;
	logv("pid %d ended, status 0x%x", (int)s->pid, s->status);
}

static void
check_timers(struct session *s)
{
	int64_t t = now_ms();

	if (!s->exited && s->deadline && t >= s->deadline && !s->timed_out) {
		logv("timeout: SIGTERM to group %d", (int)s->pid);
		s->timed_out = 1;
		kill_group(s, SIGTERM);
		s->kill_at = t + AGENT_KILL_GRACE_MS;
	}
	if (!s->exited && s->kill_at && t >= s->kill_at) {
		kill_group(s, SIGKILL);
		s->kill_at = 0;
	}
	if (s->exited && s->tlen)           /* output waits for the host */
		s->drain_until = t + DRAIN_MS;
	if (s->exited && s->tlen == 0 && t >= s->drain_until) {
		close_fd(&s->out);
		close_fd(&s->err);
	}
}

static int
poll_timeout(const struct session *s)
{
	int64_t t = now_ms(), next = -1;

	if (!s->exited && s->deadline && !s->timed_out)
		next = s->deadline;
	if (!s->exited && s->kill_at)
		next = s->kill_at;
	if (s->exited && (s->out >= 0 || s->err >= 0) && (next < 0 || s->drain_until < next))
		next = s->drain_until;
	if (next < 0)
		return -1;
	return next <= t ? 0 : (int)(next - t > INT_MAX ? INT_MAX : next - t);
}

enum { P_SOCK, P_SIG, P_IN, P_OUT, P_ERR, P_N };

static void
set_poll(struct session *s, struct pollfd *pf)
{
	int room = tx_room(s) > 0;

	pf[P_SOCK] = (struct pollfd){ s->sock, (short)(POLLIN | (s->tlen ? POLLOUT : 0)), 0 };
	pf[P_SIG] = (struct pollfd){ s->sigr, POLLIN, 0 };
	pf[P_IN] = (struct pollfd){ s->slen ? s->in : -1, POLLOUT, 0 };
	pf[P_OUT] = (struct pollfd){ room ? s->out : -1, POLLIN, 0 };
	pf[P_ERR] = (struct pollfd){ room ? s->err : -1, POLLIN, 0 };
}

/* Run the loop until the command has exited and its output is drained.
 * Returns 0, or -1 when the host went away. */
static int
session_loop(struct session *s)
{
	struct pollfd pf[P_N];

	while (!s->exited || s->out >= 0 || s->err >= 0) {
		set_poll(s, pf);
		if (poll(pf, P_N, poll_timeout(s)) < 0 && errno != EINTR)
			return -1;
		if (pf[P_SIG].revents)
			check_child(s);
		if ((pf[P_SOCK].revents & POLLOUT) && host_write(s) < 0)
			return -1;
		if ((pf[P_SOCK].revents & (POLLIN | POLLHUP | POLLERR)) && host_read(s) < 0)
			return -1;
		if (pf[P_IN].revents)
			child_write(s);
		ack_stdin(s, 0, 0);
		if (s->host_eof && !s->slen && s->in >= 0)
			close_fd(&s->in);
		if (pf[P_OUT].revents && s->out >= 0)
			child_read(s, &s->out, AGENT_T_STDOUT);
		if (pf[P_ERR].revents && s->err >= 0)
			child_read(s, &s->err, AGENT_T_STDERR);
		check_timers(s);
	}
	return 0;
}

/* Half-close and wait (bounded) for the host to close: closing a socket
 * with unread input resets it, and the host could lose the last frames. */
static void
linger_close(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int64_t end = now_ms() + LINGER_MS;
	char buf[4096];

	shutdown(fd, SHUT_WR);
	while (now_ms() < end && poll(&p, 1, (int)(end - now_ms())) > 0)
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
}

/* Send everything queued, reading and dropping what the host still sends
 * meanwhile (stdin for a command that is gone): a host blocked sending
 * stdin within its window reads our output only once we have read that,
 * so a flush that stopped reading could leave both sides blocked in a
 * write forever.  The host's half-close (EOF) only ends the reading. */
static int
flush_tx(struct session *s)
{
	struct pollfd p = { .fd = s->sock };
	char junk[4096];
	int reading = 1;
	ssize_t r;

	while (s->tlen) {
		p.events = (short)(POLLOUT | (reading ? POLLIN : 0));
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if ((p.revents & POLLOUT) && host_write(s) < 0)
			return -1;
		if (reading && (p.revents & POLLIN)) {
			r = read(s->sock, junk, sizeof(junk));
			if (r == 0)
				reading = 0;
			else if (r < 0 && errno != EINTR && errno != EAGAIN)
				return -1;
		}
		if ((p.revents & (POLLERR | POLLNVAL)) ||
		    ((p.revents & POLLHUP) && !(p.revents & (POLLIN | POLLOUT))))
			return -1;
	}
	return 0;
}

/* Queue EXIT and flush everything. */
static int
session_finish(struct session *s)
{
	unsigned char p[5];
	int kind = AGENT_EXIT_CODE, code = 0;

	if (WIFSIGNALED(s->status)) {
		kind = AGENT_EXIT_SIGNAL;
		code = WTERMSIG(s->status);
	} else {
		code = WEXITSTATUS(s->status);
	}
	if (s->timed_out)
		kind = AGENT_EXIT_TIMEOUT;
	p[0] = (unsigned char)kind;
	agent_put32(p + 1, (uint32_t)code);
	tx_frame(s, AGENT_T_EXIT, p, sizeof(p));
	logv("exit kind %d code %d", kind, code);
	if (flush_tx(s) < 0)
		return -1;
	linger_close(s->sock);
	return 0;
}

/* The host went away: kill the command's group and collect it. */
static void
session_abort(struct session *s)
{
	logv("host connection lost: killing group %d", (int)s->pid);
	if (!s->exited) {
		kill_group(s, SIGKILL);
		while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

static int
make_pipes(int p[3][2])
{
	for (int i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC) < 0)
			return -1;
		fcntl(p[i][0], F_SETPIPE_SZ, PIPE_BYTES);   /* best effort */
	}
	return 0;
}

/* Fork the command. Returns its pid, or -1 after sending EXEC_ERROR. */
static pid_t
spawn_cmd(int sock, const struct cmd *c, int p[3][2])
{
	int ep[2], e[2];
	pid_t pid;
	ssize_t r;

	if (pipe2(ep, O_CLOEXEC) < 0)
		return send_exec_error(sock, c, 3, errno), -1;
	pid = fork();
	if (pid < 0) {
		send_exec_error(sock, c, 3, errno);
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	if (pid == 0)
		child_exec(c, p[0][0], p[1][1], p[2][1], ep[1]);
	setpgid(pid, pid);
	close(ep[1]);
	do
		r = read(ep[0], e, sizeof(e));
	while (r < 0 && errno == EINTR);
	close(ep[0]);
	if (r == (ssize_t)sizeof(e)) {
		send_exec_error(sock, c, e[0], e[1]);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return -1;
	}
	return pid;
}

static int
do_exec(int sock, const unsigned char *payload, size_t n)
{
	struct cmd c;
	struct session *s;
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	unsigned char st[8];
	char msg[128];
	int rc;

	memset(&c, 0, sizeof(c));
	if (parse_exec(payload, n, &c, msg, sizeof(msg)) < 0)
		return send_error(sock, msg), -1;
	s = calloc(1, sizeof(*s));
	if (!s || make_pipes(p) < 0)
		return send_error(sock, "exec: out of resources"), -1;
	s->sock = sock;
	s->sigr = self_pipe();
	catch(SIGCHLD);
	s->pid = spawn_cmd(sock, &c, p);
	close(p[0][0]);
	close(p[1][1]);
	close(p[2][1]);
	if (s->pid < 0)
		return -1;
	logv("exec %s: pid %d", c.argv[0], (int)s->pid);
	s->in = p[0][1];
	s->out = p[1][0];
	s->err = p[2][0];
	s->flags = c.flags;
	s->deadline = c.timeout_ms ? now_ms() + c.timeout_ms : 0;
	for (int i = 0; i < 3; i++)
		fcntl(i == 0 ? s->in : i == 1 ? s->out : s->err, F_SETFL, O_NONBLOCK);
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	agent_put32(st, (uint32_t)s->pid);
	agent_put32(st + 4, WINDOW);
	tx_frame(s, AGENT_T_STARTED, st, sizeof(st));
	check_child(s);
	rc = session_loop(s);
	if (rc < 0)
		session_abort(s);
	else
		rc = session_finish(s);
	return rc;
}

/* ---- connections ---- */

static unsigned char req_buf[AGENT_MAX_PAYLOAD];

/* Serve one connection until it closes. */
static void
serve(int fd)
{
	size_t n;
	int t, shaken = 0;

	for (;;) {
		t = agent_read_frame(fd, req_buf, sizeof(req_buf), &n, -1);
		if (t < 0) {
			if (strcmp(errmsg(), "connection closed"))
				send_error(fd, errmsg());
			return;
		}
		if (!shaken && t != AGENT_T_HANDSHAKE) {
			send_error(fd, "expected a handshake first");
			return;
		}
		switch (t) {
		case AGENT_T_HANDSHAKE:
			if (do_handshake(fd, req_buf, n) < 0)
				return;
			shaken = 1;
			break;
		case AGENT_T_HELLO:
			if (do_hello(fd, req_buf, n) < 0)
				return;
			break;
		case AGENT_T_PING:
			if (n > AGENT_MAX_PING) {
				send_error(fd, "ping: payload too long");
				return;
			}
			if (agent_write_frame(fd, AGENT_T_PONG, req_buf, n) < 0)
				return;
			break;
		case AGENT_T_SYNC:
			if (do_sync(fd, req_buf, n) < 0)
				return;
			break;
		case AGENT_T_EXEC:
			do_exec(fd, req_buf, n);
			return;
		default:
			send_error(fd, "unknown request type");
			return;
		}
	}
}

/* ---- listening ---- */

static void
reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* bind + listen; closes fd and returns -1 (message set) on failure. */
static int
bind_listen(int fd, const struct sockaddr *sa, socklen_t n, const char *what)
{
	if (bind(fd, sa, n) < 0 || listen(fd, 128) < 0) {
		fail_errno("listening on %s", what);
		close(fd);
		return -1;
	}
	logv("listening on %s", what);
	return fd;
}

static int
listen_unix(const char *dir, uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%u", dir, port) >=
	    (int)sizeof(sa.sun_path))
		return fail("socket path %s/%u is too long (max %zu bytes): use a shorter --unix-dir",
		    dir, port, sizeof(sa.sun_path) - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno("socket");
	unlink(sa.sun_path);
	return bind_listen(fd, (struct sockaddr *)&sa, sizeof(sa), sa.sun_path);
}

static int
listen_vsock(uint32_t port)
{
	struct sockaddr_vm sa;
	char what[32];
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.svm_family = AF_VSOCK;
	sa.svm_cid = VMADDR_CID_ANY;
	sa.svm_port = port;
	snprintf(what, sizeof(what), "vsock port %u", port);
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno("vsock socket (does the kernel have CONFIG_VIRTIO_VSOCKETS and the VM a vsock device?)");
	return bind_listen(fd, (struct sockaddr *)&sa, sizeof(sa), what);
}

/* Listen, or as init keep trying (process 1 must not exit). */
static int
listen_any(const char *dir, uint32_t port)
{
	int fd, warned = 0;

	for (;;) {
		fd = dir ? listen_unix(dir, port) : listen_vsock(port);
		if (fd >= 0 || !as_init)
			return fd;
		if (!warned++)
			warnmsg("%s (retrying every second)", errmsg());
		reap_all();
		sleep(1);
	}
}

/* Test mode: end with the process that started us (the Firecracker
 * stand-in), as a real agent ends with its VM. */
static void
follow_parent(void)
{
	pid_t parent = getppid();
	int sig = 0;

	if (prctl(PR_GET_PDEATHSIG, &sig) == 0 && sig)
		return;                         /* the starter chose already */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		exit(0);
}

/* ---- init duties ---- */

/* fds 0..2 open (on /dev/null if need be), so no pipe lands there. */
static void
std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
			die("cannot open /dev/null as fd %d", fd);
}

static void
mount_one(const char *src, const char *dst, const char *type, unsigned long fl,
    const char *opts)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, fl, opts) < 0 && errno != EBUSY)
		warnmsg("mounting %s on %s: %s", type, dst, strerror(errno));
}

static void
init_setup(void)
{
	int fd;

	mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666");
	mount_one("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	if (fcntl(0, F_GETFD) < 0 && (fd = open("/dev/console", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (sethostname("fcsnap", 6) < 0)
		warnmsg("sethostname: %s", strerror(errno));
	reboot(RB_DISABLE_CAD);             /* ctrl-alt-del becomes SIGINT to us */
	if (getpid() != 1)                  /* --init: adopt orphans as init would */
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	setenv("HOME", "/root", 0);
}

/* PID 1 on SIGTERM / ctrl-alt-del: stop everything, sync, power off.
 * With --init but not process 1 (a container, a test): only sync. */
static void
init_shutdown(void)
{
	logv("shutting down");
	sync();
	if (getpid() != 1)
		return;
	kill(-1, SIGTERM);
	sleep(1);
	kill(-1, SIGKILL);
	sync();
#if defined(__x86_64__) || defined(__i386__)
	/* Firecracker on x86 has no power-off device before ACPI support
	 * (v1.8); a reboot makes it exit cleanly on every version. */
	reboot(RB_AUTOBOOT);
#endif
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void
accept_one(int lfd, int sigr)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	pid_t pid;

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
			sleep(1);                /* let sessions end instead of spinning */
		return;
	}
	pid = fork();
	if (pid < 0) {
		warnmsg("fork: %s", strerror(errno));
		close(fd);
		return;
	}
	if (pid == 0) {
		close(lfd);
		close(sigr);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		serve(fd);
		_exit(0);
	}
	logv("connection: session %d", (int)pid);
	close(fd);
}

static void
serve_forever(int lfd, const char *sock_path)
{
	struct pollfd pf[2];
	int sigr = self_pipe();

	catch(SIGCHLD);
	catch(SIGTERM);
	catch(SIGINT);
	pf[0] = (struct pollfd){ lfd, POLLIN, 0 };
	pf[1] = (struct pollfd){ sigr, POLLIN, 0 };
	while (!got_term) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (pf[1].revents) {
			drain_fd(sigr);
			reap_all();
		}
		if (!got_term && (pf[0].revents & POLLIN))
			accept_one(lfd, sigr);
	}
	if (as_init)
		init_shutdown();
	if (sock_path)
		unlink(sock_path);
	logv("terminated");
}

/* ---- a read-only root made writable: fc_overlay=DIR [fc_init=INIT] ----
 * The kernel hands boot words of the form a=b that it does not know to
 * init as environment.  fc_overlay=DIR (an empty directory on the root
 * disk, /.fcsnap in images made by fc-rootfs): mount a tmpfs on DIR, an
 * overlay of / (lower, the read-only disk) and DIR/upper on DIR/root, and
 * make that the root.  Writes then live in guest memory only: a snapshot
 * keeps them, the disk never sees them.  fc_init=INIT: then exec INIT
 * (systemd, OpenRC, busybox init...) with our arguments; unless INIT is
 * this very program, which just goes on as the agent. */

static int
overlay_mount(const char *mnt, char *root, size_t n)
{
	char up[PATH_MAX], wk[PATH_MAX], opts[2 * PATH_MAX + 32];

	if (snprintf(up, sizeof up, "%s/upper", mnt) >= (int)sizeof up ||
	    snprintf(wk, sizeof wk, "%s/work", mnt) >= (int)sizeof wk ||
	    snprintf(root, n, "%s/root", mnt) >= (int)n ||
	    snprintf(opts, sizeof opts, "lowerdir=/,upperdir=%s,workdir=%s", up, wk) >=
	    (int)sizeof opts)
		return fail("fc_overlay=%s: path too long", mnt);
	/* pivot_root refuses shared mounts; ours propagate nowhere */
	mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return fail_errno("fc_overlay: tmpfs on %s", mnt);
	if (mkdir(up, 0755) < 0 || mkdir(wk, 0755) < 0 || mkdir(root, 0755) < 0)
		return fail_errno("fc_overlay: making %s", up);
	if (mount("overlay", root, "overlay", 0, opts) < 0)
		return fail_errno("fc_overlay: overlay of / on %s", root);
	return 0;
}

/* Overlay and pivot into it; keep (the test mode's socket dir, or NULL)
 * stays the real directory. */
static int
overlay_root(const char *mnt, const char *keep)
{
	char root[PATH_MAX], kp[2 * PATH_MAX];

	if (overlay_mount(mnt, root, sizeof root) < 0)
		return -1;
	if (keep && keep[0] == '/' &&
	    (snprintf(kp, sizeof kp, "%s%s", root, keep) >= (int)sizeof kp ||
	    mount(keep, kp, NULL, MS_BIND, NULL) < 0))
		return fail_errno("fc_overlay: keeping %s", keep);
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return fail_errno("fc_overlay: pivot_root into %s", root);
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return fail_errno("fc_overlay: detaching the old root");
	logv("root is an overlay of the disk and a tmpfs");
	return 0;
}

static int
same_file(const char *a, const char *b)
{
	struct stat x, y;

	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
	    x.st_ino == y.st_ino;
}

/* As PID 1 with fc_overlay: the overlay (after getopt, with keep). */
static void
overlay_setup(const char *keep)
{
	const char *mnt = getenv("fc_overlay");

	if (!mnt || !*mnt || getpid() != 1)
		return;
	if (overlay_root(mnt, keep) < 0)
		warnmsg("%s; / stays the read-only disk", errmsg());
	unsetenv("fc_overlay");
	unsetenv("fc_init");
}

/* As PID 1 with fc_init naming another program: the overlay, then that
 * init.  Never returns unless fc_init is unset or is us. */
static void
preinit(char **argv)
{
	const char *init = getenv("fc_init");

	if (getpid() != 1 || !init || !*init || same_file(init, argv[0]))
		return;
	argv[0] = (char *)init;
	overlay_setup(NULL);
	execv(argv[0], argv);
	warnmsg("cannot run %s (fc_init): %s; running as the agent", argv[0], strerror(errno));
	argv[0] = "fc-agent";
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: %s [-v] [-p PORT] [-U DIR] [--init]\n"
	    "  -p, --port PORT      listen on vsock port PORT (default %u)\n"
	    "  -U, --unix-dir DIR   test mode: listen on the Unix socket DIR/PORT instead\n"
	    "      --init           act as PID 1: mount /proc, /sys, /dev, /tmp, reap,\n"
	    "                       power off on SIGTERM (automatic when PID 1)\n"
	    "  -v, --verbose        log to stderr\n"
	    "  -h, --help           this help\n"
	    "      --version        print the version\n",
	    progname, AGENT_DEFAULT_PORT);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "unix-dir", required_argument, NULL, 'U' },
		{ "init", no_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	char path[PATH_MAX];
	long long port = AGENT_DEFAULT_PORT;
	int c, lfd, pid1;

	prog_init(argv);
	preinit(argv);
	opterr = 0;
	as_init = pid1 = getpid() == 1;
	while ((c = getopt_long(argc, argv, "p:U:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_long(optarg, 1, 0xfffffffe, &port, "port") < 0) {
				if (!pid1)
					usage_die("%s", errmsg());
				warnmsg("%s: ignored, listening on port %u", errmsg(), AGENT_DEFAULT_PORT);
				port = AGENT_DEFAULT_PORT;
			}
			break;
		case 'U': dir = optarg; break;
		case 'I': as_init = 1; break;
		case 'v': verbose = 1; break;
		case 'h':
			if (pid1)
				goto ignore;
			usage(stdout);
			return 0;
		case 'V':
			if (pid1)
				goto ignore;
			printf("%s (fcsnap) %s\n", progname, FCSNAP_VERSION);
			return 0;
		default:
			if (!pid1)
				usage_die("bad option '%s': try '%s --help'", argv[optind - 1], progname);
		ignore:
			/* the kernel passes its unknown boot words to init */
			warnmsg("as process 1, ignoring the option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc && !pid1)
		usage_die("unexpected argument '%s'", argv[optind]);
	for (; optind < argc; optind++)
		warnmsg("as process 1, ignoring the argument '%s'", argv[optind]);
	test_mode = dir != NULL;
	if (as_init) {
		overlay_setup(dir);
		init_setup();
	}
	std_fds();
	setenv("PATH", DEFAULT_PATH, 0);
	if (test_mode)
		follow_parent();
	lfd = listen_any(dir, (uint32_t)port);
	if (lfd < 0)
		die("%s", errmsg());
	snprintf(path, sizeof(path), "%s/%lld", dir ? dir : "", port);
	serve_forever(lfd, dir ? path : NULL);
	return 0;
}
