/* echo-guest: a tiny guest for fc-standin's tests (stands in for fc-agent's
 * test mode).
 *
 *   echo-guest PORT... --unix-dir DIR
 *
 * Listens on DIR/PORT (AF_UNIX stream) for each PORT and echoes every byte
 * of every connection back (one process per connection), propagating EOF
 * with shutdown(SHUT_WR).  Prints "echo-guest: listening on PORT" to stdout
 * once all listeners are up.  Children die with their parent.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define MAXP 16

static void
echo(int fd)
{
	static char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (write_all(fd, buf, (size_t)n) < 0)
			_exit(1);
	}
	shutdown(fd, SHUT_WR);
	_exit(0);
}

static int
listen_on(const char *dir, const char *port)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (fmt(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, port) < 0)
		die("%s", errmsg());
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 64) < 0)
		die("listen on %s: %s", sa.sun_path, strerror(errno));
	return fd;
}

int
main(int argc, char **argv)
{
	struct pollfd p[MAXP];
	const char *dir = NULL, *ports[MAXP];
	int np = 0, i, c;
	pid_t pid;

	prog_init(argv);
	signal(SIGCHLD, SIG_IGN);       /* no zombies */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--unix-dir") && i + 1 < argc)
			dir = argv[++i];
		else if (np < MAXP)
			ports[np++] = argv[i];
		else
			usage_die("too many ports");
	}
	if (!dir || np == 0)
		usage_die("usage: echo-guest PORT... --unix-dir DIR");
	for (i = 0; i < np; i++) {
		p[i].fd = listen_on(dir, ports[i]);
		p[i].events = POLLIN;
		printf("echo-guest: listening on %s\n", ports[i]);
	}
	fflush(stdout);
	for (;;) {
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (i = 0; i < np; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			pid = fork();
			if (pid == 0) {
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				echo(c);
			}
			close(c);
		}
	}
}
