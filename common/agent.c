/* agent: frame codec and the host side of the agent protocol.  See agent.h. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "util.h"
#include "vsock.h"

#define REPLY_MAX 8192

/* ---- codec ---- */

void
agent_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

uint32_t
agent_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
agent_put64(unsigned char *p, uint64_t v)
{
	agent_put32(p, (uint32_t)(v >> 32));
	agent_put32(p + 4, (uint32_t)v);
}

uint64_t
agent_get64(const unsigned char *p)
{
	return (uint64_t)agent_get32(p) << 32 | agent_get32(p + 4);
}

void
agent_put_hdr(unsigned char *h, int type, uint32_t n)
{
	h[0] = (unsigned char)type;
	agent_put32(h + 1, n);
}

int
agent_write_frame(int fd, int type, const void *p, size_t n)
{
	unsigned char h[AGENT_HDR_LEN];
	struct iovec iov[2];
	ssize_t w;

	if (n > AGENT_MAX_PAYLOAD)
		return fail("frame of %zu bytes exceeds the %u byte limit", n, AGENT_MAX_PAYLOAD);
	agent_put_hdr(h, type, (uint32_t)n);
	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)p;
	iov[1].iov_len = n;
	do
		w = writev(fd, iov, n ? 2 : 1);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return fail_errno("sending to the agent connection");
	if ((size_t)w < sizeof(h)) {
		if (write_all(fd, h + w, sizeof(h) - (size_t)w) < 0)
			return fail_errno("sending to the agent connection");
		w = sizeof(h);
	}
	if (n && write_all(fd, (const unsigned char *)p + (w - (ssize_t)sizeof(h)),
	    n - (size_t)(w - (ssize_t)sizeof(h))) < 0)
		return fail_errno("sending to the agent connection");
	return 0;
}

/* Read exactly n bytes before the deadline (-1: none).  Returns n, the
 * smaller count read before EOF, or -1 (message set). */
static ssize_t
read_exact(int fd, unsigned char *b, size_t n, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	int64_t left;
	ssize_t r;
	int pr;

	while (got < n) {
		if (deadline >= 0) {
			left = deadline - now_ms();
			pr = poll(&p, 1, left < 0 ? 0 : (int)(left > INT_MAX ? INT_MAX : left));
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0)
				return fail_errno("waiting for the agent");
			if (pr == 0)
				return fail("timed out waiting for the agent");
		}
		r = read(fd, b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNRESET)
			break;
		if (r < 0)
			return fail_errno("reading from the agent connection");
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* agent_read_frame; *closed says the peer closed before the frame began. */
static int
read_frame(int fd, void *buf, size_t cap, size_t *n, int timeout_ms, int *closed)
{
	unsigned char h[AGENT_HDR_LEN];
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	uint32_t len;
	ssize_t r;

	*closed = 0;
	r = read_exact(fd, h, sizeof(h), deadline);
	if (r < 0)
		return -1;
	*closed = r == 0;
	if (r == 0)
		return fail("connection closed");
	if ((size_t)r < sizeof(h))
		return fail("truncated frame (connection closed inside a header)");
	len = agent_get32(h + 1);
	if (len > AGENT_MAX_PAYLOAD || len > cap)
		return fail("oversized frame: type 0x%02x announces %u bytes (limit %zu)",
		    h[0], len, cap < AGENT_MAX_PAYLOAD ? cap : (size_t)AGENT_MAX_PAYLOAD);
	r = read_exact(fd, buf, len, deadline);
	if (r < 0)
		return -1;
	if ((size_t)r < len)
		return fail("truncated frame: type 0x%02x, %zd of %u bytes before the connection closed",
		    h[0], r, len);
	*n = len;
	return h[0];
}

int
agent_read_frame(int fd, void *buf, size_t cap, size_t *n, int timeout_ms)
{
	int closed;

	return read_frame(fd, buf, cap, n, timeout_ms, &closed);
}

int
agent_decode(const unsigned char *b, size_t len, size_t max, int *type,
    const unsigned char **payload, size_t *n, size_t *used)
{
	uint32_t plen;

	if (len < AGENT_HDR_LEN)
		return 0;
	plen = agent_get32(b + 1);
	if (plen > max || plen > AGENT_MAX_PAYLOAD)
		return fail("oversized frame: type 0x%02x announces %u bytes (limit %zu)",
		    b[0], plen, max);
	if (len - AGENT_HDR_LEN < plen)
		return 0;
	*type = b[0];
	*payload = b + AGENT_HDR_LEN;
	*n = plen;
	*used = AGENT_HDR_LEN + plen;
	return 1;
}

/* ---- host side: connection ---- */

/* Copy a reply text (up to its NUL, if any) into a message: the guest's
 * words, shown (util.h text_shown; a newline becomes a space). */
static void
text_copy(char *out, size_t cap, const unsigned char *p, size_t n)
{
	const unsigned char *z = memchr(p, '\0', n);

	if (z)
		n = (size_t)(z - p);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\n')
			out[i] = ' ';
	text_shown(out);
}

/* Write a request and read its reply into buf; an ERROR reply becomes
 * the message. Returns the reply type or -1; *closed says the peer closed
 * the connection before a byte of the reply (or before taking the
 * request). */
static int
request_c(int fd, int type, const void *p, size_t n, unsigned char *buf, size_t cap,
    size_t *rn, int timeout_ms, int *closed)
{
	char msg[512];
	int t;

	*closed = 0;
	if (agent_write_frame(fd, type, p, n) < 0) {
		*closed = errno == EPIPE || errno == ECONNRESET;
		return -1;
	}
	t = read_frame(fd, buf, cap, rn, timeout_ms, closed);
	if (t < 0)
		return fail("agent: %s", errmsg());
	if (t == AGENT_T_ERROR) {
		text_copy(msg, sizeof(msg), buf, *rn);
		return fail("agent: %s", msg);
	}
	return t;
}

static int
request(int fd, int type, const void *p, size_t n, unsigned char *buf, size_t cap,
    size_t *rn, int timeout_ms)
{
	int closed;

	return request_c(fd, type, p, n, buf, cap, rn, timeout_ms, &closed);
}

/* agent_handshake; *closed as for request_c. */
static int
handshake(int fd, char *ver, size_t vern, int timeout_ms, int *closed)
{
	unsigned char req[12], buf[REPLY_MAX];
	size_t n;
	uint32_t v;
	int t;

	memcpy(req, AGENT_MAGIC, 8);
	agent_put32(req + 8, AGENT_PROTO_VERSION);
	t = request_c(fd, AGENT_T_HANDSHAKE, req, sizeof(req), buf, sizeof(buf), &n, timeout_ms,
	    closed);
	if (t < 0)
		return -1;
	if (t != AGENT_T_HANDSHAKE_OK || n < 12 || memcmp(buf, AGENT_MAGIC, 8))
		return fail("the peer is not an fcsnap agent (bad handshake reply): check the agent port");
	v = agent_get32(buf + 8);
	if (v != AGENT_PROTO_VERSION)
		return fail("the agent speaks protocol %u, we speak %u: install a matching fc-agent in the image",
		    v, AGENT_PROTO_VERSION);
	if (ver && vern)
		text_copy(ver, vern, buf + 12, n - 12);
	return 0;
}

int
agent_handshake(int fd, char *ver, size_t vern, int timeout_ms)
{
	int closed;

	return handshake(fd, ver, vern, timeout_ms, &closed);
}

#define HANDSHAKE_MIN_MS 2000

/* Time left for the handshake: what remains of the caller's timeout, but
 * at least HANDSHAKE_MIN_MS (a connect that just made it must not fail
 * for want of a round trip on a slow host). */
static int
remaining(int64_t deadline)
{
	int64_t left = deadline - now_ms();

	if (left < HANDSHAKE_MIN_MS)
		return HANDSHAKE_MIN_MS;
	return left > INT_MAX ? INT_MAX : (int)left;
}

#define CLOSED_BACKOFF_MIN_MS 5
#define CLOSED_BACKOFF_MAX_MS 100

/* A connection Firecracker answered "OK" that the guest closes before the
 * agent's handshake is "not ready yet": after a snapshot the guest
 * processes a vsock transport reset a little after it resumes and drops
 * the connections open then (fc-agent(8)).  It is retried with a short
 * backoff until timeout_ms; when the first connection holds, nothing more
 * is done. */
int
agent_connect(const char *uds_path, uint32_t port, int timeout_ms)
{
	return agent_connect_watch(uds_path, port, timeout_ms, NULL, NULL);
}

int
agent_connect_watch(const char *uds_path, uint32_t port, int timeout_ms,
    int (*gone)(void *), void *arg)
{
	int64_t deadline = now_ms() + timeout_ms, backoff = CLOSED_BACKOFF_MIN_MS, left;
	int fd, closed, tries = 0;

	for (;;) {
		left = deadline - now_ms();
		fd = vsock_connect_watch(uds_path, port,
		    tries ? (int)(left > 0 ? left : 0) : timeout_ms, gone, arg);
		if (fd < 0)
			break;
		tries++;
		if (handshake(fd, NULL, 0, remaining(deadline), &closed) == 0)
			return fd;
		close(fd);
		left = deadline - now_ms();
		if (!closed)
			return fail("vsock port %u via %s: %s", port, uds_path, errmsg());
		if (left <= 0)
			return fail("vsock port %u via %s: the guest closed all %d connections before "
			    "the agent's handshake within %.1f s: is fc-agent listening on that port?",
			    port, uds_path, tries, timeout_ms / 1000.0);
		if (gone && gone(arg))
			return -1;
		sleep_ms(backoff < left ? backoff : left);
		backoff = backoff * 2 > CLOSED_BACKOFF_MAX_MS ? CLOSED_BACKOFF_MAX_MS : backoff * 2;
	}
	if (tries)
		return fail("%s (after the guest closed %d connection(s) before the agent's "
		    "handshake)", errmsg(), tries);
	return -1;
}

static int
unix_connect_once(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
agent_connect_unix(const char *path, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	struct timespec ts = { 0, 2000000 };
	int fd;

	while ((fd = unix_connect_once(path)) < 0) {
		if ((errno != ENOENT && errno != ECONNREFUSED) || now_ms() >= deadline)
			return fail_errno("connecting to the agent socket %s", path);
		nanosleep(&ts, NULL);
	}
	if (agent_handshake(fd, NULL, 0, remaining(deadline)) < 0) {
		close(fd);
		return fail("%s: %s", path, errmsg());
	}
	return fd;
}

/* ---- host side: control requests ---- */

/* Parse one item (u8 status, u8 n, n bytes) at *off. */
static int
parse_item(const unsigned char *p, size_t n, size_t *off, struct agent_item *it)
{
	size_t l;

	if (n - *off < 2)
		return fail("agent: short reply");
	l = p[*off + 1];
	if (n - *off - 2 < l || p[*off] > AGENT_ITEM_FAILED)
		return fail("agent: malformed reply item");
	it->status = p[*off];
	text_copy(it->msg, sizeof(it->msg), p + *off + 2, l);
	*off += 2 + l;
	return 0;
}

int
agent_hello(int fd, struct agent_hello_result *res, int timeout_ms)
{
	unsigned char req[8 + 128], buf[REPLY_MAX];
	struct agent_hello_result tmp;
	struct timespec ts;
	size_t n, off = 0;
	int t;

	if (getrandom(req + 8, sizeof(req) - 8, 0) != (ssize_t)(sizeof(req) - 8))
		return fail_errno("getrandom");
	clock_gettime(CLOCK_REALTIME, &ts);
	agent_put64(req, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	t = request(fd, AGENT_T_HELLO, req, sizeof(req), buf, sizeof(buf), &n, timeout_ms);
	explicit_bzero(req, sizeof(req));
	if (t < 0)
		return -1;
	if (t != AGENT_T_HELLO_OK)
		return fail("agent: unexpected reply 0x%02x to hello", t);
	if (!res)
		res = &tmp;
	if (parse_item(buf, n, &off, &res->clock) < 0 ||
	    parse_item(buf, n, &off, &res->entropy) < 0)
		return -1;
	return 0;
}

int
agent_ping(int fd, int timeout_ms)
{
	unsigned char req[8], buf[AGENT_MAX_PING];
	size_t n;
	int t;

	agent_put64(req, (uint64_t)now_ns());
	t = request(fd, AGENT_T_PING, req, sizeof(req), buf, sizeof(buf), &n, timeout_ms);
	if (t < 0)
		return -1;
	if (t != AGENT_T_PONG || n != sizeof(req) || memcmp(buf, req, n))
		return fail("agent: bad reply to ping");
	return 0;
}

int
agent_sync(int fd, unsigned flags, struct agent_item *drop, int timeout_ms)
{
	unsigned char req[1] = { (unsigned char)flags }, buf[REPLY_MAX];
	struct agent_item tmp;
	size_t n, off = 0;
	int t;

	t = request(fd, AGENT_T_SYNC, req, sizeof(req), buf, sizeof(buf), &n, timeout_ms);
	if (t < 0)
		return -1;
	if (t != AGENT_T_SYNC_OK)
		return fail("agent: unexpected reply 0x%02x to sync", t);
	return parse_item(buf, n, &off, drop ? drop : &tmp);
}

/* ---- host side: exec ---- */

static size_t
strv_size(char *const *v, uint32_t *count)
{
	size_t n = 0;

	*count = 0;
	for (; v && *v; v++, (*count)++)
		n += strlen(*v) + 1;
	return n;
}

static unsigned char *
strv_put(unsigned char *p, char *const *v)
{
	for (; v && *v; v++) {
		size_t l = strlen(*v) + 1;

		memcpy(p, *v, l);
		p += l;
	}
	return p;
}

/* Encode an EXEC payload into a malloc'd buffer. */
static unsigned char *
exec_encode(const struct agent_exec_req *r, size_t *n)
{
	const char *cwd = r->cwd ? r->cwd : "";
	uint32_t argc, envc;
	unsigned char *b, *p;
	size_t sz;

	sz = 16 + strlen(cwd) + 1 + strv_size(r->argv, &argc) + strv_size(r->env, &envc);
	if (argc == 0)
		return fail("exec: empty command"), NULL;
	if (sz > AGENT_MAX_PAYLOAD)
		return fail("exec: command, environment and directory take %zu bytes, more than the %u byte limit",
		    sz, AGENT_MAX_PAYLOAD), NULL;
	b = malloc(sz);
	if (!b)
		return fail_errno("exec"), NULL;
	agent_put32(b, r->timeout_ms);
	agent_put32(b + 4, r->flags);
	agent_put32(b + 8, argc);
	agent_put32(b + 12, envc);
	p = b + 16;
	memcpy(p, cwd, strlen(cwd) + 1);
	p = strv_put(p + strlen(cwd) + 1, r->argv);
	strv_put(p, r->env);
	*n = sz;
	return b;
}

static int
exec_failed(struct agent_exec *x, const char *cmd)
{
	char msg[512];

	if (x->len < 6)
		return fail("agent: malformed exec error");
	x->fail_kind = x->buf[0];
	text_copy(msg, sizeof(msg), x->buf + 5, x->len - 5);
	return fail("%s: %s", cmd, msg);
}

int
agent_exec_start(struct agent_exec *x, int fd, const struct agent_exec_req *r,
    int timeout_ms)
{
	unsigned char *req;
	size_t n;
	int t, rc;

	memset(x, 0, sizeof(*x));
	x->fd = fd;
	x->buf = malloc(AGENT_MAX_PAYLOAD);
	if (!x->buf)
		return fail_errno("exec");
	req = exec_encode(r, &n);
	if (!req)
		return -1;
	rc = agent_write_frame(fd, AGENT_T_EXEC, req, n);
	free(req);
	if (rc < 0)
		return -1;
	t = agent_read_frame(fd, x->buf, AGENT_MAX_PAYLOAD, &x->len, timeout_ms);
	if (t < 0)
		return fail("agent: %s", errmsg());
	if (t == AGENT_T_EXEC_ERROR)
		return exec_failed(x, r->argv[0]);
	if (t == AGENT_T_ERROR) {
		char msg[512];

		text_copy(msg, sizeof(msg), x->buf, x->len);
		return fail("agent: %s", msg);
	}
	if (t != AGENT_T_STARTED || x->len < 8)
		return fail("agent: unexpected reply 0x%02x to exec", t);
	x->pid = (pid_t)agent_get32(x->buf);
	x->credit = agent_get32(x->buf + 4);
	return 0;
}

/* Send a frame to the session; once the agent has closed its side (the
 * command ended), frames are discarded: agent_exec_next reports the rest. */
static int
send_or_discard(struct agent_exec *x, int type, const void *p, size_t n)
{
	if (x->peer_closed)
		return 0;
	if (agent_write_frame(x->fd, type, p, n) == 0)
		return 0;
	if (errno != EPIPE && errno != ECONNRESET)
		return -1;
	x->peer_closed = 1;
	return 0;
}

ssize_t
agent_exec_stdin(struct agent_exec *x, const void *buf, size_t n)
{
	if (n > x->credit)
		n = x->credit;
	if (n > AGENT_MAX_PAYLOAD)
		n = AGENT_MAX_PAYLOAD;
	if (n == 0)
		return 0;
	x->credit -= n;
	if (send_or_discard(x, AGENT_T_STDIN, buf, n) < 0)
		return -1;
	return (ssize_t)n;
}

int
agent_exec_eof(struct agent_exec *x)
{
	return send_or_discard(x, AGENT_T_STDIN_EOF, NULL, 0);
}

int
agent_exec_signal(struct agent_exec *x, int sig)
{
	unsigned char p[4];

	agent_put32(p, (uint32_t)sig);
	return send_or_discard(x, AGENT_T_SIGNAL, p, sizeof(p));
}

int
agent_exec_next(struct agent_exec *x, int timeout_ms)
{
	char msg[512];
	int t;

	t = agent_read_frame(x->fd, x->buf, AGENT_MAX_PAYLOAD, &x->len, timeout_ms);
	if (t < 0)
		return fail("agent: %s before the command's exit status", errmsg());
	switch (t) {
	case AGENT_T_STDOUT:
	case AGENT_T_STDERR:
		return t;
	case AGENT_T_WINDOW:
		if (x->len < 4)
			return fail("agent: malformed window frame");
		x->credit += agent_get32(x->buf);
		return t;
	case AGENT_T_EXIT:
		if (agent_exit_parse(x->buf, x->len, &x->exit_kind, &x->exit_code) < 0)
			return -1;
		x->done = 1;
		return t;
	case AGENT_T_ERROR:
		text_copy(msg, sizeof(msg), x->buf, x->len);
		return fail("agent: %s", msg);
	default:
		return fail("agent: unexpected frame 0x%02x in an exec session", t);
	}
}

int
agent_exit_parse(const unsigned char *p, size_t n, int *kind, int *code)
{
	uint32_t c;

	if (n < 5 || p[0] > AGENT_EXIT_TIMEOUT)
		return fail("agent: malformed exit frame");
	c = agent_get32(p + 1);
	if (p[0] == AGENT_EXIT_SIGNAL ? c < 1 || c > 64 : c > 255)
		return fail("agent: malformed exit frame: %s %lu is out of range",
		    p[0] == AGENT_EXIT_SIGNAL ? "signal" : "exit status", (unsigned long)c);
	*kind = p[0];
	*code = (int)c;
	return 0;
}

int
agent_exec_status(const struct agent_exec *x)
{
	if (x->fail_kind)
		return x->fail_kind == AGENT_FAIL_NOTFOUND ? 127 :
		    x->fail_kind == AGENT_FAIL_NOEXEC ? 126 : 125;
	if (!x->done)
		return 125;
	if (x->exit_kind == AGENT_EXIT_TIMEOUT)
		return 124;
	if (x->exit_kind == AGENT_EXIT_SIGNAL)
		return 128 + x->exit_code;
	return x->exit_code;
}

void
agent_exec_close(struct agent_exec *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	free(x->buf);
	x->buf = NULL;
}
