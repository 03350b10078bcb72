/* agent-cli: a small host-side client of fc-agent for the tests.
 *
 *   agent-cli [options] SOCKET hello|ping|sync|drop|exec -- CMD [ARG...]
 *
 * SOCKET is the agent's Unix socket (fc-agent --unix-dir D listens on
 * D/PORT), or with --vsock PORT a Firecracker-style hybrid vsock socket.
 * exec passes stdin/stdout/stderr through and exits with the guest
 * status (127/126 when the command is missing / not executable, 124 on
 * timeout, 128+N for a signal, 125 when agent-cli itself failed). SIGINT
 * and SIGTERM are forwarded to the guest command. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "agent.h"
#include "util.h"

static int sig_w = -1;

static int
agent_connect_unix_raw(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return fail("bad socket %s", path);
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail_errno("connect %s", path);
	return fd;
}

static void
on_signal(int sig)
{
	char c = (char)sig;
	int e = errno;

	(void)!write(sig_w, &c, 1);
	errno = e;
}

static void
forward_signals(int *rd)
{
	struct sigaction sa;
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		die_status(125, "pipe: %s", strerror(errno));
	*rd = p[0];
	sig_w = p[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void
print_item(const char *what, const struct agent_item *it)
{
	static const char *st[] = { "ok", "skipped", "failed" };

	printf("%s: %s: %s\n", what, st[it->status], it->msg);
}

/* Handle one frame from the agent. Returns 1 when EXIT came. */
static int
on_frame(struct agent_exec *x)
{
	int t = agent_exec_next(x, -1);

	if (t < 0)
		die_status(125, "%s", errmsg());
	if (t == AGENT_T_STDOUT && write_all(1, x->buf, x->len) < 0)
		die_status(125, "writing stdout: %s", strerror(errno));
	if (t == AGENT_T_STDERR && write_all(2, x->buf, x->len) < 0)
		die_status(125, "writing stderr: %s", strerror(errno));
	return t == AGENT_T_EXIT;
}

/* Feed some of our stdin to the guest. Returns 1 at EOF. */
static int
on_stdin(struct agent_exec *x, unsigned char *buf, size_t cap)
{
	size_t want = x->credit < cap ? x->credit : cap;
	ssize_t r = read(0, buf, want);

	if (r < 0 && errno == EINTR)
		return 0;
	if (r < 0)
		die_status(125, "reading stdin: %s", strerror(errno));
	if (r == 0) {
		if (agent_exec_eof(x) < 0)
			die_status(125, "%s", errmsg());
		return 1;
	}
	if (agent_exec_stdin(x, buf, (size_t)r) != r)
		die_status(125, "sending stdin: %s", errmsg());
	return 0;
}

static int
run_exec(int fd, struct agent_exec_req *r)
{
	static unsigned char buf[128 * 1024];
	struct agent_exec x;
	struct pollfd pf[3];
	int sigr, in_eof = 0;
	char c;

	forward_signals(&sigr);
	if (agent_exec_start(&x, fd, r, 30000) < 0) {
		warnmsg("%s", errmsg());
		agent_exec_close(&x);
		return agent_exec_status(&x);
	}
	for (;;) {
		pf[0] = (struct pollfd){ x.fd, POLLIN, 0 };
		pf[1] = (struct pollfd){ in_eof || !x.credit ? -1 : 0, POLLIN, 0 };
		pf[2] = (struct pollfd){ sigr, POLLIN, 0 };
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			die_status(125, "poll: %s", strerror(errno));
		while (pf[2].revents && read(sigr, &c, 1) == 1)
			if (agent_exec_signal(&x, c) < 0)
				die_status(125, "%s", errmsg());
		if (pf[1].revents)
			in_eof = on_stdin(&x, buf, sizeof(buf));
		if (pf[0].revents && on_frame(&x))
			break;
	}
	agent_exec_close(&x);
	return agent_exec_status(&x);
}

static int
control(int fd, const char *what)
{
	struct agent_hello_result h;
	struct agent_item it;

	if (!strcmp(what, "hello")) {
		if (agent_hello(fd, &h, 30000) < 0)
			return -1;
		print_item("clock", &h.clock);
		print_item("entropy", &h.entropy);
	} else if (!strcmp(what, "ping")) {
		if (agent_ping(fd, 30000) < 0)
			return -1;
		printf("pong\n");
	} else if (!strcmp(what, "sync") || !strcmp(what, "drop")) {
		if (agent_sync(fd, what[0] == 'd' ? AGENT_SYNC_DROP_CACHES : 0, &it, 30000) < 0)
			return -1;
		print_item("drop_caches", &it);
	} else {
		usage_die("unknown request '%s'", what);
	}
	return 0;
}

/* Send one raw frame (for protocol-error tests): a handshake of version
 * `proto` when type is AGENT_T_HANDSHAKE, else an empty frame of `type`
 * after a normal handshake. Prints the reply's type and text. */
static int
raw(int fd, int type, long long proto)
{
	unsigned char req[12], buf[4096];
	size_t n;
	int t;

	memcpy(req, AGENT_MAGIC, 8);
	agent_put32(req + 8, (uint32_t)proto);
	if (type == AGENT_T_HANDSHAKE) {
		if (agent_write_frame(fd, type, req, sizeof(req)) < 0)
			return -1;
	} else if (agent_write_frame(fd, type, NULL, 0) < 0) {
		return -1;
	}
	t = agent_read_frame(fd, buf, sizeof(buf) - 1, &n, 10000);
	if (t < 0)
		return -1;
	buf[n] = '\0';
	printf("reply 0x%02x %s\n", t, t == AGENT_T_ERROR ? (char *)buf : "");
	return 0;
}

static void
usage(void)
{
	printf("usage: %s [-t MS] [-T MS] [-e K=V]... [-w DIR] [--clear-env] [--vsock PORT]\n"
	    "       SOCKET hello|ping|sync|drop|exec -- CMD [ARG...]\n", progname);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vsock", required_argument, NULL, 'V' },
		{ "clear-env", no_argument, NULL, 'C' },
		{ "raw-proto", required_argument, NULL, 'P' },
		{ "raw-type", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_exec_req r = { 0 };
	char *env[64];
	long long t = 10000, port = -1, v, proto = -1, rtype = -1;
	int c, fd, ne = 0;

	prog_init(argv);
	while ((c = getopt_long(argc, argv, "+t:T:e:w:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': if (parse_long(optarg, 0, 3600000, &t, "-t") < 0) usage_die("%s", errmsg()); break;
		case 'T':
			if (parse_long(optarg, 0, 3600000, &v, "-T") < 0)
				usage_die("%s", errmsg());
			r.timeout_ms = (uint32_t)v;
			break;
		case 'e': if (ne < 63) env[ne++] = optarg; break;
		case 'w': r.cwd = optarg; break;
		case 'C': r.flags |= AGENT_EXEC_CLEAR_ENV; break;
		case 'V': if (parse_long(optarg, 1, 0xffffffff, &port, "--vsock") < 0) usage_die("%s", errmsg()); break;
		case 'P': if (parse_long(optarg, 0, 0xffffffff, &proto, "--raw-proto") < 0) usage_die("%s", errmsg()); break;
		case 'R': if (parse_long(optarg, 0, 255, &rtype, "--raw-type") < 0) usage_die("%s", errmsg()); break;
		case 'h': usage(); return 0;
		default: usage_die("bad option");
		}
	}
	env[ne] = NULL;
	if (proto >= 0 || rtype >= 0) {
		if (optind >= argc)
			usage_die("need SOCKET");
		fd = proto >= 0 ? -1 : agent_connect_unix(argv[optind], (int)t);
		if (proto >= 0) {
			/* raw handshake: connect without the library's handshake */
			fd = agent_connect_unix_raw(argv[optind]);
		}
		if (fd < 0 || raw(fd, proto >= 0 ? AGENT_T_HANDSHAKE : (int)rtype, proto) < 0)
			die_status(125, "%s", errmsg());
		return 0;
	}
	if (argc - optind < 2)
		usage_die("need SOCKET and a request");
	fd = port >= 0 ? agent_connect(argv[optind], (uint32_t)port, (int)t) :
	    agent_connect_unix(argv[optind], (int)t);
	if (fd < 0)
		die_status(125, "%s", errmsg());
	if (strcmp(argv[optind + 1], "exec")) {
		if (control(fd, argv[optind + 1]) < 0)
			die_status(125, "%s", errmsg());
		close(fd);
		return 0;
	}
	optind += 2;
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		usage_die("exec needs a command");
	r.argv = argv + optind;
	r.env = env;
	return run_exec(fd, &r);
}
