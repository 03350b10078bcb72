/* pump: see pump.h. */
#include "pump.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define RX_CAP   (AGENT_MAX_PAYLOAD + AGENT_HDR_LEN)
#define OUT_CAP  AGENT_MAX_PAYLOAD
#define TX_CAP   (256u * 1024 + 4096)
#define TX_RESV  64                     /* room kept for SIGNAL / STDIN_EOF */
#define IN_CHUNK (64u * 1024)

/* ---- stdio endpoints ---- */

enum { EP_CLOSED, EP_NB, EP_SOCK, EP_BLOCK };

static void
ep_open(struct pump_ep *e, int fd, int writing)
{
	char p[32];
	struct stat sb;
	int nfd;

	e->fd = fd;
	e->mode = EP_BLOCK;
	if (fstat(fd, &sb) < 0) {
		e->mode = EP_CLOSED;
		return;
	}
	if (S_ISSOCK(sb.st_mode)) {
		e->mode = EP_SOCK;
	} else if (S_ISFIFO(sb.st_mode)) {
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		nfd = open(p, (writing ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
		if (nfd >= 0) {
			e->fd = nfd;
			e->mode = EP_NB;
		}
	}
}

static ssize_t
ep_read(struct pump_ep *e, void *b, size_t n)
{
	return e->mode == EP_SOCK ? recv(e->fd, b, n, MSG_DONTWAIT) : read(e->fd, b, n);
}

static ssize_t
ep_write(struct pump_ep *e, const void *b, size_t n)
{
	if (e->mode == EP_SOCK)
		return send(e->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(e->fd, b, n);
}

/* ---- the exec session ---- */

static void
tx_frame(struct pump *s, int type, const void *p, size_t n)
{
	if (s->txoff + s->txlen + AGENT_HDR_LEN + n > TX_CAP) {
		memmove(s->tx, s->tx + s->txoff, s->txlen);
		s->txoff = 0;
	}
	if (s->txoff + s->txlen + AGENT_HDR_LEN + n > TX_CAP)
		return;         /* no room: only extra signals can be dropped */
	agent_put_hdr(s->tx + s->txoff + s->txlen, type, (uint32_t)n);
	if (n)
		memcpy(s->tx + s->txoff + s->txlen + AGENT_HDR_LEN, p, n);
	s->txlen += AGENT_HDR_LEN + n;
}

static void
send_signal(struct pump *s, int sig)
{
	unsigned char p[4];

	if (s->x.done || s->peer_closed)
		return;
	agent_put32(p, (uint32_t)sig);
	tx_frame(s, AGENT_T_SIGNAL, p, sizeof p);
}

/* Room for stdin data in tx, keeping TX_RESV for control frames. */
static size_t
stdin_room(struct pump *s)
{
	size_t room;

	if (s->txoff && s->txoff + s->txlen + AGENT_HDR_LEN + IN_CHUNK + TX_RESV > TX_CAP) {
		memmove(s->tx, s->tx + s->txoff, s->txlen);
		s->txoff = 0;
	}
	if (s->txoff + s->txlen + AGENT_HDR_LEN + TX_RESV >= TX_CAP)
		return 0;
	room = TX_CAP - s->txoff - s->txlen - AGENT_HDR_LEN - TX_RESV;
	if (room > IN_CHUNK)
		room = IN_CHUNK;
	if (room > s->x.credit)
		room = s->x.credit;
	return room;
}

static void
stdin_end(struct pump *s)
{
	s->in_open = 0;
	tx_frame(s, AGENT_T_STDIN_EOF, NULL, 0);
}

static void
stdin_read(struct pump *s)
{
	size_t room = stdin_room(s);
	unsigned char *h;
	ssize_t r;

	if (!room)
		return;
	h = s->tx + s->txoff + s->txlen;
	if (s->o.code) {
		size_t left = strlen(s->o.code) - s->codeoff;

		r = (ssize_t)(left < room ? left : room);
		memcpy(h + AGENT_HDR_LEN, s->o.code + s->codeoff, (size_t)r);
		s->codeoff += (size_t)r;
	} else {
		r = ep_read(&s->in, h + AGENT_HDR_LEN, room);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			return;
	}
	if (r <= 0) {           /* EOF, or an unreadable stdin: the end */
		stdin_end(s);
		return;
	}
	agent_put_hdr(h, AGENT_T_STDIN, (uint32_t)r);
	s->txlen += AGENT_HDR_LEN + (size_t)r;
	s->x.credit -= (size_t)r;
	if (s->o.code && !s->o.code[s->codeoff])
		stdin_end(s);
}

static int
sock_write(struct pump *s)
{
	ssize_t w = write(s->x.fd, s->tx + s->txoff, s->txlen);

	if (w < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
		/* the agent closed its side: the command ended; EXIT follows */
		s->peer_closed = 1;
		s->txlen = s->txoff = 0;
		s->in_open = 0;
		return 0;
	}
	if (w < 0)
		return fail_errno("writing to the agent");
	s->txoff += (size_t)w;
	s->txlen -= (size_t)w;
	if (!s->txlen)
		s->txoff = 0;
	return 0;
}

static void
capture(const struct pump *s, struct pump_obuf *b, const unsigned char *p, size_t n)
{
	size_t take = n;

	b->total += n;
	if (b->caplen + take > s->o.max_output) {
		take = s->o.max_output > b->caplen ? (size_t)(s->o.max_output - b->caplen) : 0;
		b->truncated = 1;
	}
	if (!take)
		return;
	if (b->caplen + take > b->capsize) {
		size_t ns = b->capsize ? b->capsize : 65536;
		char *nb;

		while (ns < b->caplen + take)
			ns *= 2;
		if (ns > s->o.max_output)
			ns = (size_t)s->o.max_output;
		nb = realloc(b->cap, ns);
		if (!nb) {
			b->truncated = 1;
			return;
		}
		b->cap = nb;
		b->capsize = ns;
	}
	memcpy(b->cap + b->caplen, p, take);
	b->caplen += take;
}

/* Take an output frame: 1, or 0 when there is no room yet. */
static int
out_take(const struct pump *s, struct pump_obuf *b, const unsigned char *p, size_t n)
{
	if (s->o.capture) {
		capture(s, b, p, n);
		return 1;
	}
	if (b->discard)
		return 1;
	if (b->off + b->len + n > OUT_CAP) {
		memmove(b->b, b->b + b->off, b->len);
		b->off = 0;
	}
	if (b->len + n > OUT_CAP)
		return 0;
	memcpy(b->b + b->off + b->len, p, n);
	b->len += n;
	return 1;
}

static int
frame(struct pump *s, int type, const unsigned char *p, size_t n)
{
	char msg[256];

	switch (type) {
	case AGENT_T_STDOUT:
	case AGENT_T_STDERR:
		return out_take(s, &s->out[type == AGENT_T_STDERR], p, n);
	case AGENT_T_WINDOW:
		if (n < 4)
			return fail("agent: malformed window frame");
		s->x.credit += agent_get32(p);
		return 1;
	case AGENT_T_EXIT:
		if (agent_exit_parse(p, n, &s->x.exit_kind, &s->x.exit_code) < 0)
			return -1;
		s->x.done = 1;
		s->exited = now_ns();
		return 1;
	case AGENT_T_ERROR:
		snprintf(msg, sizeof msg, "%.*s", (int)(n > 200 ? 200 : n), (const char *)p);
		return fail("agent: %s", text_shown(msg));
	default:
		return fail("agent: unexpected frame 0x%02x in an exec session", type);
	}
}

/* Handle the whole frames in rx. 0 or -1. */
static int
rx_drain(struct pump *s)
{
	const unsigned char *p;
	size_t n, used;
	int type, d, r;

	s->blocked = 0;
	while (!s->x.done) {
		d = agent_decode(s->rx + s->rxoff, s->rxlen, AGENT_MAX_PAYLOAD, &type, &p,
		    &n, &used);
		if (d < 0)
			return fail("agent: %s", errmsg());
		if (d == 0)
			break;
		r = frame(s, type, p, n);
		if (r < 0)
			return -1;
		if (r == 0) {
			s->blocked = 1;
			break;
		}
		s->rxoff += used;
		s->rxlen -= used;
	}
	if (!s->rxlen)
		s->rxoff = 0;
	if (s->sock_eof && !s->x.done && !s->blocked)
		return fail("agent: connection closed before the command's exit status "
		    "(did the VM stop?)");
	return 0;
}

static int
sock_read(struct pump *s)
{
	ssize_t r;

	if (s->rxoff && (s->rxlen < IN_CHUNK || s->rxoff + s->rxlen > RX_CAP / 2)) {
		memmove(s->rx, s->rx + s->rxoff, s->rxlen);
		s->rxoff = 0;
	}
	r = read(s->x.fd, s->rx + s->rxoff + s->rxlen, RX_CAP - s->rxoff - s->rxlen);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (r < 0 && errno != ECONNRESET)
		return fail_errno("reading from the agent");
	if (r <= 0)
		s->sock_eof = 1;
	else
		s->rxlen += (size_t)r;
	return rx_drain(s);
}

static int
out_write(struct pump *s, int i)
{
	struct pump_obuf *b = &s->out[i];
	ssize_t w = ep_write(&b->ep, b->b + b->off, b->len);

	if (w < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (w < 0 && errno == EPIPE) {
		/* our reader is gone: drop the rest; the command gets SIGPIPE
		 * as it would in a local pipeline */
		b->discard = 1;
		b->len = b->off = 0;
		if (i == 0 && !s->sent_pipe) {
			send_signal(s, SIGPIPE);
			s->sent_pipe = 1;
		}
		return rx_drain(s);
	}
	if (w < 0)
		return fail_errno("writing %s", i ? "stderr" : "stdout");
	b->off += (size_t)w;
	b->len -= (size_t)w;
	if (!b->len)
		b->off = 0;
	return s->blocked ? rx_drain(s) : 0;
}

static void
take_signals(struct pump *s)
{
	unsigned char c[16];
	ssize_t r;

	while ((r = read(s->o.sig_fd, c, sizeof c)) > 0)
		for (ssize_t i = 0; i < r; i++)
			send_signal(s, c[i]);
}

enum { P_SOCK, P_IN, P_OUT, P_ERR, P_SIG, P_N };

static int
poll_ms(const struct pump *s)
{
	int64_t left;

	if (!s->deadline)
		return -1;
	left = (s->deadline - now_ns()) / 1000000 + 1;
	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static int
session_step(struct pump *s)
{
	struct pollfd pf[P_N];
	int want_in = s->in_open && !s->x.done && !s->peer_closed && stdin_room(s) > 0;

	pf[P_SOCK].fd = s->x.fd;
	pf[P_SOCK].events = (short)((!s->sock_eof && s->rxlen < RX_CAP &&
	    !(s->blocked && s->rxlen >= RX_CAP / 2) ? POLLIN : 0) | (s->txlen ? POLLOUT : 0));
	if (!pf[P_SOCK].events)         /* not even POLLHUP: it would spin */
		pf[P_SOCK].fd = -1;
	pf[P_IN].fd = want_in && !s->o.code ? s->in.fd : -1;
	pf[P_IN].events = POLLIN;
	pf[P_OUT].fd = s->out[0].len ? s->out[0].ep.fd : -1;
	pf[P_OUT].events = POLLOUT;
	pf[P_ERR].fd = s->out[1].len ? s->out[1].ep.fd : -1;
	pf[P_ERR].events = POLLOUT;
	pf[P_SIG].fd = s->o.sig_fd;
	pf[P_SIG].events = POLLIN;
	if (want_in && s->o.code)
		stdin_read(s);
	if (poll(pf, P_N, s->o.code && want_in ? 0 : poll_ms(s)) < 0) {
		if (errno != EINTR)
			return fail_errno("poll");
		pf[P_SOCK].revents = pf[P_IN].revents = pf[P_OUT].revents = 0;
		pf[P_ERR].revents = pf[P_SIG].revents = 0;
	}
	if (s->deadline && now_ns() > s->deadline) {
		s->host_timeout = 1;
		return fail("the agent did not end the command within %lld s of its "
		    "timeout: giving up", (long long)((s->o.agent_ms + AGENT_KILL_GRACE_MS) / 1000));
	}
	if (pf[P_SIG].revents)
		take_signals(s);
	if (pf[P_IN].revents)
		stdin_read(s);
	if ((pf[P_SOCK].revents & POLLOUT) && sock_write(s) < 0)
		return -1;
	if ((pf[P_SOCK].revents & (POLLIN | POLLHUP | POLLERR)) && sock_read(s) < 0)
		return -1;
	if (pf[P_OUT].revents && s->out[0].len && out_write(s, 0) < 0)
		return -1;
	if (pf[P_ERR].revents && s->out[1].len && out_write(s, 1) < 0)
		return -1;
	return 0;
}

int
pump_init(struct pump *s, const struct pump_opts *o)
{
	s->o = *o;
	s->rx = malloc(RX_CAP);
	s->tx = malloc(TX_CAP);
	if (!s->rx || !s->tx)
		return fail_errno("exec");
	if (!s->o.capture) {
		for (int i = 0; i < 2; i++) {
			s->out[i].b = malloc(OUT_CAP);
			if (!s->out[i].b)
				return fail_errno("exec");
			ep_open(&s->out[i].ep, 1 + i, 1);
		}
	}
	if (!s->o.code)
		ep_open(&s->in, 0, 0);
	s->in_open = s->o.code || s->in.mode != EP_CLOSED;
	if (!s->in_open)
		tx_frame(s, AGENT_T_STDIN_EOF, NULL, 0);
	else if (s->o.code && !*s->o.code)
		stdin_end(s);
	fcntl(s->x.fd, F_SETFL, fcntl(s->x.fd, F_GETFL) | O_NONBLOCK);
	if (s->o.timeout_ms)
		s->deadline = now_ns() + (s->o.timeout_ms + AGENT_KILL_GRACE_MS + s->o.agent_ms) *
		    1000000LL;
	return 0;
}

int
pump_run(struct pump *s)
{
	while (!s->x.done || s->out[0].len || s->out[1].len)
		if (session_step(s) < 0)
			return -1;
	return 0;
}

void
pump_free(struct pump *s)
{
	agent_exec_close(&s->x);
	free(s->rx);
	free(s->tx);
	for (int i = 0; i < 2; i++) {
		free(s->out[i].b);
		free(s->out[i].cap);
		if (s->out[i].ep.mode == EP_NB)
			close(s->out[i].ep.fd);
	}
	if (s->in.mode == EP_NB)
		close(s->in.fd);
}
