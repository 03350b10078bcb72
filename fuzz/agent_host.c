/* libFuzzer target: the host side of the agent protocol (agent.h).
 *
 * Byte 0 picks a conversation; the rest is everything the "agent" sends,
 * written into one end of a socketpair, which is then shut for writing so
 * the host sees EOF after it.  The host runs the conversation on the other
 * end: the handshake, then HELLO, PING, SYNC, or an exec session read to
 * its end (stdout, stderr, window frames, exit).  Whatever the bytes, the
 * host must fail cleanly or finish, never read out of bounds or hang (all
 * reads have a timeout and EOF is always there).
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"

#define MAX_IN (128 * 1024)     /* fits a socket buffer: the write never blocks */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
converse(int fd, int what)
{
	static char *const argv[] = { "sh", "-c", "true", NULL };
	static char *const env[] = { "A=1", "B", NULL };
	struct agent_exec_req req = { argv, env, "/tmp", 0, 0 };
	struct agent_hello_result hr;
	struct agent_item it;
	struct agent_exec x;
	char ver[64];
	int t, i;

	if (agent_handshake(fd, ver, sizeof ver, 1000) < 0)
		goto out;
	if (strnlen(ver, sizeof ver) == sizeof ver)
		abort();
	switch (what % 4) {
	case 0:
		if (agent_hello(fd, &hr, 1000) == 0 &&
		    (strnlen(hr.clock.msg, sizeof hr.clock.msg) == sizeof hr.clock.msg ||
		    strnlen(hr.entropy.msg, sizeof hr.entropy.msg) == sizeof hr.entropy.msg))
			abort();
		break;
	case 1:
		(void)agent_ping(fd, 1000);
		break;
	case 2:
		if (agent_sync(fd, AGENT_SYNC_DROP_CACHES, &it, 1000) == 0 &&
		    strnlen(it.msg, sizeof it.msg) == sizeof it.msg)
			abort();
		break;
	case 3:
		if (agent_exec_start(&x, fd, &req, 1000) == 0) {
			(void)agent_exec_stdin(&x, "in", 2);
			(void)agent_exec_eof(&x);
			for (i = 0; i < 10000; i++) {
				t = agent_exec_next(&x, 1000);
				if (t < 0 || t == AGENT_T_EXIT)
					break;
				if (x.len > AGENT_MAX_PAYLOAD)
					abort();
			}
			(void)agent_exec_status(&x);
		}
		agent_exec_close(&x);
		return;         /* x owned fd */
	}
out:
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];

	if (size < 1 || size > MAX_IN)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	shutdown(sv[1], SHUT_WR);
	converse(sv[0], data[0]);
	close(sv[1]);
	return 0;
}
