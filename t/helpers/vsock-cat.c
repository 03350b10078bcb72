/* vsock-cat: a test client for Firecracker's hybrid vsock socket.
 *
 *   vsock-cat [-n] [-l LINE] UDS PORT
 *   vsock-cat -d SOCKET          (direct: no CONNECT handshake; for benchmarks)
 *
 * Connects to UDS, writes "CONNECT PORT\n" (or LINE and "\n" with -l) in
 * one write, reads the reply one byte at a time up to "\n" and prints it on
 * stderr.  Exit 3 when the connection is closed without an "OK " reply.
 * Then copies stdin to the socket (one process, ending with
 * shutdown(SHUT_WR)) and the socket to stdout (another) at the same time;
 * exits 0 when the socket reaches EOF.  -n: stop after the reply.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

static char buf[262144];

static int
copy(int in, int out)
{
	ssize_t n;

	n = read(in, buf, sizeof buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	if (write_all(out, buf, (size_t)n) < 0)
		die("write: %s", strerror(errno));
	return 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa;
	pid_t pid;
	char line[128], reply[128];
	const char *custom = NULL;
	int fd, c, onlyreply = 0, direct = 0, len = 0;
	ssize_t n;

	prog_init(argv);
	while ((c = getopt(argc, argv, "dnl:")) != -1) {
		if (c == 'd')
			direct = 1;
		else if (c == 'n')
			onlyreply = 1;
		else if (c == 'l')
			custom = optarg;
		else
			usage_die("usage: vsock-cat [-n] [-l LINE] UDS PORT");
	}
	if (argc - optind != 2 - direct)
		usage_die("usage: vsock-cat [-n] [-l LINE] UDS PORT");
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (fmt(sa.sun_path, sizeof sa.sun_path, "%s", argv[optind]) < 0)
		die("%s", errmsg());
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("connect %s: %s", argv[optind], strerror(errno));
	if (direct)
		goto bridge;
	if (custom)
		n = snprintf(line, sizeof line, "%s\n", custom);
	else
		n = snprintf(line, sizeof line, "CONNECT %s\n", argv[optind + 1]);
	if (write_all(fd, line, (size_t)n) < 0)
		die("write: %s", strerror(errno));
	for (;;) {
		n = read(fd, reply + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "vsock-cat: closed without OK\n");
			return 3;
		}
		if (reply[len] == '\n' || len == (int)sizeof reply - 2)
			break;
		len++;
	}
	reply[len] = 0;
	fprintf(stderr, "%s\n", reply);
	if (strncmp(reply, "OK ", 3))
		return 3;
	if (onlyreply)
		return 0;
bridge:
	/* full duplex without buffering: one process per direction */
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		while (copy(0, fd))
			;
		shutdown(fd, SHUT_WR);
		_exit(0);
	}
	while (copy(fd, 1))
		;
	kill(pid, SIGKILL);     /* the socket is done: stdin no longer matters */
	waitpid(pid, NULL, 0);
	return 0;
}
