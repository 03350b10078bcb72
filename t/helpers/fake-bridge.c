/* fake-bridge: a stand-in for Firecracker's hybrid vsock socket, for the
 * vsock_connect tests.
 *
 *   fake-bridge [-d DELAY_MS] [-n CLOSE_FIRST] [-r RESET_FIRST] SOCKET GDIR
 *
 * After DELAY_MS (a late-starting listener) it listens on SOCKET (any
 * length: it binds from inside the socket's directory).  Each connection
 * must start with "CONNECT <port>\n".  The first CLOSE_FIRST connections
 * are closed without an answer; later ones are bridged to the Unix socket
 * GDIR/<port> after "OK <n>\n", or closed without answer when nothing
 * listens there (as Firecracker does).  The RESET_FIRST connections after
 * those get "OK <n>\n" and are then closed before any byte is bridged (a
 * guest processing the vsock transport reset after a snapshot).  Runs
 * until killed. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static int
unix_socket(const char *path, int do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if (do_listen) {
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0)
			die("listen on %s: %s", path, strerror(errno));
		return fd;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Copy both ways until either side closes. */
static void
pump(int a, int b)
{
	struct pollfd pf[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	char buf[65536];
	ssize_t r;

	for (;;) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			return;
		for (int i = 0; i < 2; i++) {
			if (!pf[i].revents)
				continue;
			r = read(pf[i].fd, buf, sizeof(buf));
			if (r <= 0)
				return;
			if (write_all(pf[1 - i].fd, buf, (size_t)r) < 0)
				return;
		}
	}
}

static void
handle(int fd, const char *gdir, int refuse, int reset)
{
	char line[64], path[200];
	size_t n = 0;
	unsigned port;
	int g;

	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	if (refuse || sscanf(line, "CONNECT %u", &port) != 1)
		return;
	snprintf(path, sizeof(path), "%s/%u", gdir, port);
	g = unix_socket(path, 0);
	if (g < 0)
		return;
	if (write_all(fd, "OK 1073741824\n", 14) < 0 || reset)
		return;
	pump(fd, g);
}

int
main(int argc, char **argv)
{
	long long delay = 0, close_first = 0, reset_first = 0;
	char *sock, *slash;
	int c, lfd, fd;

	prog_init(argv);
	while ((c = getopt(argc, argv, "d:n:r:")) != -1) {
		if (c == 'd' && parse_long(optarg, 0, 60000, &delay, "-d") < 0)
			usage_die("%s", errmsg());
		else if (c == 'n' && parse_long(optarg, 0, 1000000, &close_first, "-n") < 0)
			usage_die("%s", errmsg());
		else if (c == 'r' && parse_long(optarg, 0, 1000000, &reset_first, "-r") < 0)
			usage_die("%s", errmsg());
		else if (c != 'd' && c != 'n' && c != 'r')
			usage_die("usage: fake-bridge [-d MS] [-n N] [-r N] SOCKET GDIR");
	}
	if (argc - optind != 2)
		usage_die("usage: fake-bridge [-d MS] [-n N] [-r N] SOCKET GDIR");
	signal(SIGCHLD, SIG_IGN);
	if (delay) {
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	sock = argv[optind];
	if (argv[optind + 1][0] != '/')
		usage_die("GDIR must be absolute");
	slash = strrchr(sock, '/');
	if (slash) {
		*slash = '\0';
		if (chdir(*sock ? sock : "/") < 0)
			die("chdir %s: %s", sock, strerror(errno));
		sock = slash + 1;
	}
	lfd = unix_socket(sock, 1);
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (fork() == 0) {
			close(lfd);
			handle(fd, argv[optind + 1], close_first > 0, reset_first > 0);
			_exit(0);
		}
		if (close_first > 0)
			close_first--;
		else if (reset_first > 0)
			reset_first--;
		close(fd);
	}
}
