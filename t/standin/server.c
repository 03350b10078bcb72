/* server: HTTP/1.1 on the API Unix socket, shaped like Firecracker's
 * micro_http: keep-alive, Content-Length bodies only, replies
 * "HTTP/1.1 204 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n".
 * Requests on one connection are answered in order; FCSTANDIN_DELAY_MS
 * holds each request that long before it is handled (other connections and
 * the vsock bridge keep running meanwhile).
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define MAX_CONNS 64
#define MAX_HEAD 16384

struct conn {
	int fd;
	char *in;
	size_t inlen, incap;
	char *out;
	size_t outlen, outoff;
	int64_t ready_at;       /* a complete request waits until then */
	int closing;            /* close once out is flushed */
	int sent_continue;
};

static int lfd = -1;
static struct conn conns[MAX_CONNS];
static int nconns;

int
server_listen(const char *path)
{
	struct sockaddr_un sa;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path)
		return fail("API socket path too long (max %zu bytes): %s", sizeof sa.sun_path - 1,
			path);
	memcpy(sa.sun_path, path, strlen(path));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0)
		return fail_errno("socket");
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 128) < 0) {
		close(lfd);
		lfd = -1;
		return fail("Failed to open the API socket at: %s. Check that it is not already used.",
			path);
	}
	return 0;
}

static void
conn_free(struct conn *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	*c = conns[--nconns];
}

/* Stop listening: new connections are refused. */
static void
server_unlisten(void)
{
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
}

void
server_close_all(void)
{
	while (nconns > 0)
		conn_free(&conns[0]);
	server_unlisten();
}

static int
out_append(struct conn *c, const char *s, size_t n)
{
	char *p;

	if (c->outlen + n > SIZE_MAX / 2)
		return -1;
	p = realloc(c->out, c->outlen + n + 1);
	if (!p)
		return -1;
	c->out = p;
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
	return 0;
}

static void
send_reply(struct conn *c, int status, const char *body, int close_after)
{
	char head[256];
	int n;

	if (status == 204 || !body)
		n = snprintf(head, sizeof head, "HTTP/1.1 %d \r\nServer: Firecracker API\r\n"
			"Connection: %s\r\n\r\n", status, close_after ? "close" : "keep-alive");
	else
		n = snprintf(head, sizeof head, "HTTP/1.1 %d \r\nServer: Firecracker API\r\n"
			"Connection: %s\r\nContent-Type: application/json\r\n"
			"Content-Length: %zu\r\n\r\n", status, close_after ? "close" : "keep-alive",
			strlen(body));
	if (out_append(c, head, (size_t)n) < 0 ||
	    (status != 204 && body && out_append(c, body, strlen(body)) < 0))
		c->closing = 1;
	if (close_after)
		c->closing = 1;
}

static void
send_fault(struct conn *c, int status, const char *msg, int close_after)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "fault_message", msg);
	jw_obj_end(&w);
	send_reply(c, status, jw_text(&w) ? jw_text(&w) : "{}", close_after);
	jw_free(&w);
}

/* Parsed head of the request at the front of c->in. */
struct req {
	char method[16];
	char uri[2048];
	size_t head_len;
	long long clen;
	int have_clen, conn_close, expect100;
};

static int
header_is(const char *line, size_t len, const char *name, const char **val, size_t *vlen)
{
	size_t nl = strlen(name);

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl))
		return 0;
	*val = line + nl + 1;
	*vlen = len - nl - 1;
	while (*vlen && (**val == ' ' || **val == '\t')) {
		(*val)++;
		(*vlen)--;
	}
	while (*vlen && ((*val)[*vlen - 1] == ' ' || (*val)[*vlen - 1] == '\t'))
		(*vlen)--;
	return 1;
}

/* 1 = complete head parsed, 0 = need more, -1 = malformed (msg set). */
static int
parse_head(struct conn *c, struct req *r, char *msg, size_t mn)
{
	char *end, *p, *eol, *sp1, *sp2;
	const char *v;
	size_t vlen;

	memset(r, 0, sizeof *r);
	if (c->inlen == 0)
		return 0;
	end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
	if (!end) {
		if (c->inlen > MAX_HEAD) {
			snprintf(msg, mn, "Request headers are too large.");
			return -1;
		}
		return 0;
	}
	r->head_len = (size_t)(end - c->in) + 4;
	eol = memmem(c->in, r->head_len, "\r\n", 2);
	sp1 = memchr(c->in, ' ', (size_t)(eol - c->in));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || (size_t)(sp1 - c->in) >= sizeof r->method ||
	    (size_t)(sp2 - sp1 - 1) >= sizeof r->uri || sp2 == sp1 + 1) {
		snprintf(msg, mn, "Invalid request line.");
		return -1;
	}
	memcpy(r->method, c->in, (size_t)(sp1 - c->in));
	memcpy(r->uri, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	if ((size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    (sp2[8] != '1' && sp2[8] != '0')) {
		snprintf(msg, mn, "Unsupported HTTP version.");
		return -1;
	}
	for (p = eol + 2; p < end + 2; p = eol + 2) {
		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		if (!eol || eol == p)
			break;
		if (!memchr(p, ':', (size_t)(eol - p))) {
			snprintf(msg, mn, "Invalid header.");
			return -1;
		}
		if (header_is(p, (size_t)(eol - p), "Content-Length", &v, &vlen)) {
			char num[24];
			long long x;

			if (r->have_clen || vlen == 0 || vlen >= sizeof num) {
				snprintf(msg, mn, "Invalid value. Key:Content-Length; Value:%.*s",
					(int)vlen, v);
				return -1;
			}
			memcpy(num, v, vlen);
			num[vlen] = 0;
			if (num[0] < '0' || num[0] > '9' || parse_long(num, 0, INT64_MAX, &x, "length") < 0) {
				snprintf(msg, mn, "Invalid value. Key:Content-Length; Value:%s", num);
				return -1;
			}
			r->clen = x;
			r->have_clen = 1;
		} else if (header_is(p, (size_t)(eol - p), "Transfer-Encoding", &v, &vlen)) {
			snprintf(msg, mn, "Invalid header. Key:Transfer-Encoding; Value:%.*s",
				(int)vlen, v);
			return -1;
		} else if (header_is(p, (size_t)(eol - p), "Connection", &v, &vlen)) {
			r->conn_close = vlen == 5 && !strncasecmp(v, "close", 5);
		} else if (header_is(p, (size_t)(eol - p), "Expect", &v, &vlen)) {
			r->expect100 = vlen == 12 && !strncasecmp(v, "100-continue", 12);
		}
	}
	return 1;
}

/* Try to handle the first request buffered on c.  Returns 1 if one was
 * handled (or the connection is now closing), 0 if waiting. */
static int
conn_step(struct conn *c)
{
	char msg[256];
	struct req r;
	struct reply rep;
	int64_t now;
	size_t total;
	int k;

	if (c->closing == 1)
		return 0;
	k = parse_head(c, &r, msg, sizeof msg);
	if (k < 0) {
		send_fault(c, 400, msg, 1);
		return 1;
	}
	if (k == 0)
		return 0;
	if (r.clen > S.max_payload) {
		snprintf(msg, sizeof msg, "Request payload with size %lld is larger than the "
			"limit of %lld allowed by server.", r.clen, S.max_payload);
		send_fault(c, 413, msg, 1);
		return 1;
	}
	total = r.head_len + (size_t)r.clen;
	if (c->inlen < total) {
		if (r.expect100 && !c->sent_continue) {
			out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
			c->sent_continue = 1;
		}
		return 0;
	}
	now = now_ms();
	if (S.delay_ms > 0) {
		if (c->ready_at == 0) {
			c->ready_at = now + S.delay_ms;
			return 0;
		}
		if (now < c->ready_at)
			return 0;
	}
	c->ready_at = 0;
	c->sent_continue = 0;
	{
		char *body = malloc((size_t)r.clen + 1);

		if (!body) {
			send_fault(c, 500, "out of memory", 1);
			return 1;
		}
		memcpy(body, c->in + r.head_len, (size_t)r.clen);
		body[r.clen] = 0;
		memmove(c->in, c->in + total, c->inlen - total);
		c->inlen -= total;
		vlog("%s %s %.*s", r.method, r.uri, (int)(r.clen > 300 ? 300 : r.clen), body);
		memset(&rep, 0, sizeof rep);
		api_handle(r.method, r.uri, body, (size_t)r.clen, r.clen > 0, &rep);
		free(body);
		if (S.fatal)
			server_unlisten();      /* as if exited: refused from now on */
	}
	vlog("-> %d %s", rep.status, rep.body ? rep.body : "");
	send_reply(c, rep.status, rep.body, r.conn_close);
	free(rep.body);
	return 1;
}

static void
conn_read(struct conn *c)
{
	ssize_t n;

	for (;;) {
		if (c->incap - c->inlen < 4096) {
			size_t cap = c->incap ? c->incap * 2 : 8192;
			char *p;

			if (cap > (size_t)S.max_payload + MAX_HEAD * 2 + 65536) {
				if (c->incap - c->inlen == 0)
					return;     /* full: wait for the handler */
				cap = c->incap;
			} else {
				p = realloc(c->in, cap);
				if (!p) {
					c->closing = 1;
					return;
				}
				c->in = p;
				c->incap = cap;
			}
		}
		n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
		if (n > 0) {
			c->inlen += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		/* EOF or error: finish what we have, then close */
		c->closing = 2;
		return;
	}
}

static int
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

static void
accept_all(void)
{
	struct conn *c;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (nconns == MAX_CONNS) {
			close(fd);
			continue;
		}
		c = &conns[nconns++];
		memset(c, 0, sizeof *c);
		c->fd = fd;
	}
}

int
server_pollfds(struct pollfd *p, int max, int64_t *deadline)
{
	int n = 0, i;

	if (lfd >= 0 && n < max) {
		p[n].fd = lfd;
		p[n].events = POLLIN;
		n++;
	}
	for (i = 0; i < nconns && n < max; i++) {
		p[n].fd = conns[i].fd;
		p[n].events = (conns[i].closing == 2 ? 0 : POLLIN) |
			(conns[i].outlen > conns[i].outoff ? POLLOUT : 0);
		if (conns[i].ready_at && (*deadline == 0 || conns[i].ready_at < *deadline))
			*deadline = conns[i].ready_at;
		if (!p[n].events)
			p[n].fd = -1;   /* nothing to wait for: POLLHUP alone would spin */
		n++;
	}
	return n;
}

static void
conn_service(struct conn *c)
{
	int guard = 0;

	while (conn_step(c) && guard++ < 64)
		;
}

void
server_events(struct pollfd *p, int n)
{
	int i, k;

	for (k = 0; k < n; k++) {
		if (p[k].fd == lfd) {
			if (p[k].revents & POLLIN)
				accept_all();
			continue;
		}
		for (i = 0; i < nconns; i++)
			if (conns[i].fd == p[k].fd)
				break;
		if (i == nconns)
			continue;
		if (p[k].revents & (POLLIN | POLLHUP | POLLERR))
			conn_read(&conns[i]);
	}
	/* handle requests (also those whose delay expired), flush, reap */
	for (i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];

		conn_service(c);
		if (conn_flush(c) < 0 || (c->closing && c->outlen == c->outoff &&
		    !(c->closing == 2 && c->ready_at))) {
			conn_free(c);
			i--;
		}
	}
}

int
server_busy(void)
{
	int i;

	for (i = 0; i < nconns; i++)
		if (conns[i].outlen > conns[i].outoff)
			return 1;
	return 0;
}
