/* pump: move bytes between our stdio and one agent exec session (agent.h)
 * -- the stream half of fc-exec.
 *
 *   struct pump p;                      zeroed, p.x.fd = -1 (pump_free is
 *                                       then safe at any point)
 *   agent_exec_start(&p.x, fd, &req, ms)   the caller starts the command
 *   pump_init(&p, &o)                   buffers, stdio endpoints, deadline
 *   pump_run(&p)                        until the EXIT frame has come and all
 *                                       output is written
 *   agent_exec_status(&p.x), p.exited   the result
 *   pump_free(&p)                       closes p.x too
 *
 * One poll loop moves bytes between our stdio and the agent connection
 * through bounded buffers: stdin is read only while the agent's window
 * (agent.h) has room, agent output is read only while our output buffer
 * for that stream can take the next frame, so a slow reader of our stdout
 * throttles the guest and nothing grows without bound.  Pipes among our
 * stdio are reopened through /proc/self/fd/N with O_NONBLOCK (a private
 * open file description: the caller's stays blocking), sockets are used
 * with MSG_DONTWAIT, terminals and files as they are.
 *
 * Our stdout reader going away (EPIPE) drops the rest of that stream and
 * sends the command SIGPIPE, as a local pipeline would.  With o.capture,
 * stdout and stderr are kept in memory (out[i].cap, at most o.max_output
 * bytes each; out[i].total counts every byte, out[i].truncated says some
 * were dropped) instead of written to fds 1 and 2.
 *
 * Failures (-1, message set): a malformed or unexpected frame, an agent
 * ERROR frame, the connection closing before the exit status, an I/O
 * error on our side, and the host-side deadline: with o.timeout_ms the
 * agent must end the command within timeout + AGENT_KILL_GRACE_MS +
 * agent_ms, else host_timeout is set and the pump gives up.
 */
#ifndef FCSNAP_PUMP_H
#define FCSNAP_PUMP_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"

struct pump_opts {
	const char *code;               /* the command's stdin is this string
					 * (NULL: our fd 0) */
	int capture;                    /* keep output in memory (see above) */
	unsigned long long max_output;  /* with capture: bytes kept per stream */
	long long timeout_ms;           /* the command's timeout (0: none) */
	long long agent_ms;             /* the agent's answer timeout */
	int sig_fd;                     /* readable: each byte a signal number
					 * to forward to the command (-1: none) */
};

/* A stdio endpoint (internal). */
struct pump_ep {
	int fd, mode;
};

struct pump_obuf {
	unsigned char *b;
	size_t off, len;
	struct pump_ep ep;
	int discard;            /* the reader went away: drop */
	/* capture */
	char *cap;
	size_t caplen, capsize;
	unsigned long long total;
	int truncated;
};

struct pump {
	struct agent_exec x;
	struct pump_opts o;
	unsigned char *rx, *tx;
	size_t rxoff, rxlen, txoff, txlen;
	struct pump_obuf out[2];        /* stdout, stderr */
	struct pump_ep in;
	int in_open;            /* still reading our stdin (or o.code) */
	size_t codeoff;
	int sock_eof, peer_closed, blocked, sent_pipe;
	int64_t deadline;       /* host-side safety net (ns), 0 = none */
	int host_timeout;       /* the pump gave up at the deadline */
	int64_t exited;         /* now_ns() when the EXIT frame came (0: not) */
};

/* After agent_exec_start: allocate, open our stdio, queue STDIN_EOF when
 * there is no stdin.  0 or -1. */
int pump_init(struct pump *s, const struct pump_opts *o);
/* Run until EXIT and all output is written. 0 or -1. */
int pump_run(struct pump *s);
void pump_free(struct pump *s);

#endif
