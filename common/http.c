/* http: see http.h. */
#include "http.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- response parser ---- */

enum pstate { P_HEAD, P_LEN, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END,
	P_TRAILER, P_EOF_BODY, P_DONE, P_ERROR };

#define MAX_INTERIM 16  /* 1xx responses skipped before the real one */

struct http_parser {
	enum pstate st;
	int head;
	size_t max_body;
	struct http_response r;
	size_t hcap;            /* r.hbuf capacity */
	size_t line_start;      /* offset of the current header line in hbuf */
	size_t bcap;            /* r.body capacity */
	uint64_t remain;        /* Content-Length or chunk bytes left */
	char line[HTTP_MAX_CHUNK_LINE];
	size_t llen;
	size_t trailer_len;
	int interim;
	enum http_err err;
	char emsg[200];
};

static int
perr(struct http_parser *p, enum http_err kind, const char *fmt_, ...)
	__attribute__((format(printf, 3, 4)));

static int
perr(struct http_parser *p, enum http_err kind, const char *fmt_, ...)
{
	va_list ap;

	va_start(ap, fmt_);
	vsnprintf(p->emsg, sizeof p->emsg, fmt_, ap);
	va_end(ap);
	p->err = kind;
	p->st = P_ERROR;
	return fail("%s", p->emsg);
}

static int
malformed(struct http_parser *p, const char *what)
{
	return perr(p, HTTP_EMALFORMED, "malformed HTTP response: %s", what);
}

static void
clear_response(struct http_response *r)
{
	free(r->hbuf);
	free(r->body);
	memset(r, 0, sizeof *r);
}

void
http_parser_reset(struct http_parser *p, int head_request)
{
	clear_response(&p->r);
	p->st = P_HEAD;
	p->head = head_request;
	p->hcap = p->line_start = p->bcap = 0;
	p->remain = 0;
	p->llen = p->trailer_len = 0;
	p->interim = 0;
	p->err = HTTP_OK;
	p->emsg[0] = 0;
}

struct http_parser *
http_parser_new(int head_request, size_t max_body)
{
	struct http_parser *p = calloc(1, sizeof *p);

	if (!p) {
		fail("out of memory");
		return NULL;
	}
	p->max_body = max_body;
	http_parser_reset(p, head_request);
	return p;
}

void
http_parser_free(struct http_parser *p)
{
	if (!p)
		return;
	clear_response(&p->r);
	free(p);
}

enum http_err
http_parser_error(const struct http_parser *p)
{
	return p->err;
}

void
http_parser_take(struct http_parser *p, struct http_response *out)
{
	*out = p->r;
	memset(&p->r, 0, sizeof p->r);
	http_parser_reset(p, p->head);
}

static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Visible characters, obs-text, SP and HT. */
static int
is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
body_reserve(struct http_parser *p, size_t extra)
{
	size_t need = p->r.body_len + extra + 1, nc;
	char *nb;

	if (p->r.body_len + extra > p->max_body)
		return perr(p, HTTP_ETOOBIG, "HTTP response body too large (limit %zu bytes)",
		    p->max_body);
	if (need <= p->bcap)
		return 0;
	nc = p->bcap ? p->bcap : 1024;
	while (nc < need)
		nc *= 2;
	if (nc > p->max_body + 1)
		nc = p->max_body + 1;
	nb = realloc(p->r.body, nc);
	if (!nb)
		return perr(p, HTTP_EIO, "out of memory for a %zu-byte HTTP body", need);
	p->r.body = nb;
	p->bcap = nc;
	return 0;
}

static int
body_add(struct http_parser *p, const char *s, size_t n)
{
	if (body_reserve(p, n) < 0)
		return -1;
	memcpy(p->r.body + p->r.body_len, s, n);
	p->r.body_len += n;
	p->r.body[p->r.body_len] = 0;
	return 0;
}

/* Split hbuf[0..hlen) into NUL-terminated lines without their CR LF.
 * Returns the number of lines, or -1 on a bare CR. */
static int
split_lines(struct http_parser *p, char **lines, int max)
{
	char *s = p->r.hbuf, *end = s + p->r.hlen, *nl;
	int n = 0;

	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			return malformed(p, "header line without LF");
		if (memchr(s, 0, (size_t)(nl - s)))
			return malformed(p, "NUL byte in header");
		*nl = 0;
		if (nl > s && nl[-1] == '\r')
			nl[-1] = 0;
		if (strchr(s, '\r'))
			return malformed(p, "bare CR in header");
		if (n == max)
			return perr(p, HTTP_ETOOBIG, "HTTP response has more than %d header lines",
			    max - 2);
		lines[n++] = s;
		s = nl + 1;
	}
	return n;
}

static int
parse_status_line(struct http_parser *p, const char *s, int *minor)
{
	const char *reason;
	size_t i;

	if (strncmp(s, "HTTP/1.", 7) || s[7] < '0' || s[7] > '9')
		return malformed(p, "bad status line (not HTTP/1.x)");
	*minor = s[7] - '0';
	if (s[8] != ' ')
		return malformed(p, "bad status line");
	for (i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return malformed(p, "bad status code");
	p->r.status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (p->r.status < 100 || p->r.status > 599)
		return malformed(p, "status code out of range");
	if (s[12] != 0 && s[12] != ' ')
		return malformed(p, "bad status code");
	reason = s[12] ? s + 13 : "";
	for (i = 0; reason[i]; i++)
		if (!is_field_char((unsigned char)reason[i]))
			return malformed(p, "control character in reason phrase");
	snprintf(p->r.reason, sizeof p->r.reason, "%s", reason);
	return 0;
}

/* "name: value" -> hdr entry, OWS trimmed. */
static int
parse_header_line(struct http_parser *p, char *s)
{
	char *colon, *v, *e;
	struct http_header *h;

	if (*s == ' ' || *s == '\t')
		return malformed(p, "obsolete header line folding");
	for (colon = s; *colon && *colon != ':'; colon++)
		if (!is_tchar((unsigned char)*colon))
			return malformed(p, "bad header name");
	if (*colon != ':' || colon == s)
		return malformed(p, "header line without a name and colon");
	*colon = 0;
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = v; *e; e++)
		if (!is_field_char((unsigned char)*e))
			return malformed(p, "control character in header value");
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	if (p->r.nhdr == HTTP_MAX_HEADERS)
		return perr(p, HTTP_ETOOBIG, "HTTP response has more than %d headers",
		    HTTP_MAX_HEADERS);
	h = &p->r.hdr[p->r.nhdr++];
	h->name = s;
	h->value = v;
	return 0;
}

/* Does the comma-separated list in v contain token tok? */
static int
has_token(const char *v, const char *tok)
{
	size_t n = strlen(tok), k;

	while (*v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		k = strcspn(v, ",");
		while (k > 0 && (v[k - 1] == ' ' || v[k - 1] == '\t'))
			k--;
		if (k == n && !strncasecmp(v, tok, n))
			return 1;
		v += strcspn(v, ",");
	}
	return 0;
}

static int
parse_length(struct http_parser *p, const char *v, uint64_t *out)
{
	uint64_t x = 0;

	if (!*v)
		return malformed(p, "empty Content-Length");
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return malformed(p, "bad Content-Length");
		if (x > (UINT64_MAX - 9) / 10)
			return perr(p, HTTP_ETOOBIG, "HTTP response body too large (limit %zu bytes)",
			    p->max_body);
		x = x * 10 + (uint64_t)(*v - '0');
	}
	*out = x;
	return 0;
}

/* Decide the body framing from the parsed headers. */
static int
frame_body(struct http_parser *p, int minor)
{
	int i, have_len = 0, have_te = 0, keep = 0;
	uint64_t len = 0, l = 0;

	for (i = 0; i < p->r.nhdr; i++) {
		const char *n = p->r.hdr[i].name, *v = p->r.hdr[i].value;
		if (!strcasecmp(n, "connection")) {
			if (has_token(v, "close"))
				p->r.close = 1;
			if (has_token(v, "keep-alive"))
				keep = 1;
		} else if (!strcasecmp(n, "transfer-encoding")) {
			if (have_te || strcasecmp(v, "chunked"))
				return perr(p, HTTP_EMALFORMED,
				    "unsupported HTTP Transfer-Encoding '%.40s'", v);
			have_te = 1;
		} else if (!strcasecmp(n, "content-length")) {
			if (parse_length(p, v, &l) < 0)
				return -1;
			if (have_len && l != len)
				return malformed(p, "conflicting Content-Length headers");
			have_len = 1;
			len = l;
		}
	}
	if (minor == 0 && !keep)
		p->r.close = 1;
	if (p->head || p->r.status == 204 || p->r.status == 304) {
		p->st = P_DONE;
		return 0;
	}
	if (have_te && have_len)
		return malformed(p, "both Transfer-Encoding and Content-Length");
	if (have_te) {
		p->st = P_CHUNK_SIZE;
		return 0;
	}
	if (have_len) {
		if (len > p->max_body)
			return perr(p, HTTP_ETOOBIG, "HTTP response body too large "
			    "(%llu bytes, limit %zu)", (unsigned long long)len, p->max_body);
		if (len == 0) {
			p->st = P_DONE;
			return 0;
		}
		if (body_reserve(p, (size_t)len) < 0)
			return -1;
		p->remain = len;
		p->st = P_LEN;
		return 0;
	}
	p->r.close = 1;
	p->st = P_EOF_BODY;
	return 0;
}

/* The header block is complete in hbuf. */
static int
parse_head(struct http_parser *p)
{
	char *lines[HTTP_MAX_HEADERS + 2];
	int n, i, minor = 1;

	n = split_lines(p, lines, HTTP_MAX_HEADERS + 2);
	if (n < 0)
		return -1;
	/* last line is the empty one ending the block */
	if (n < 2)
		return malformed(p, "empty line instead of a status line");
	if (parse_status_line(p, lines[0], &minor) < 0)
		return -1;
	for (i = 1; i < n - 1; i++)
		if (parse_header_line(p, lines[i]) < 0)
			return -1;
	if (p->r.status >= 100 && p->r.status < 200) {
		if (p->r.status == 101)
			return malformed(p, "unexpected 101 Switching Protocols");
		if (++p->interim > MAX_INTERIM)
			return malformed(p, "too many interim 1xx responses");
		p->r.hlen = 0;
		p->r.nhdr = 0;
		p->r.status = 0;
		p->r.reason[0] = 0;
		p->line_start = 0;
		return 0;
	}
	return frame_body(p, minor);
}

/* Header bytes: copy up to and including the next LF. */
static int
feed_head(struct http_parser *p, const char *buf, size_t n, size_t *i)
{
	const char *s = buf + *i, *nl = memchr(s, '\n', n - *i);
	size_t k = nl ? (size_t)(nl - s) + 1 : n - *i, need, line;
	char *nb;

	need = p->r.hlen + k;
	if (need > HTTP_MAX_HEADER)
		return perr(p, HTTP_ETOOBIG, "HTTP response header too large (limit %d bytes)",
		    HTTP_MAX_HEADER);
	if (need + 1 > p->hcap) {
		size_t nc = p->hcap ? p->hcap * 2 : 512;
		while (nc < need + 1)
			nc *= 2;
		nb = realloc(p->r.hbuf, nc);
		if (!nb)
			return perr(p, HTTP_EIO, "out of memory");
		p->r.hbuf = nb;
		p->hcap = nc;
	}
	memcpy(p->r.hbuf + p->r.hlen, s, k);
	p->r.hlen = need;
	p->r.hbuf[need] = 0;
	*i += k;
	if (!nl)
		return 0;
	line = p->r.hlen - p->line_start;     /* including LF */
	if (line == 1 || (line == 2 && p->r.hbuf[p->line_start] == '\r'))
		return parse_head(p);
	p->line_start = p->r.hlen;
	return 0;
}

/* Collect one line (up to LF) into p->line; 1 when complete. */
static int
collect_line(struct http_parser *p, const char *buf, size_t n, size_t *i, size_t max,
    const char *what)
{
	const char *s = buf + *i, *nl = memchr(s, '\n', n - *i);
	size_t k = nl ? (size_t)(nl - s) + 1 : n - *i;

	if (p->llen + k > max)
		return perr(p, HTTP_ETOOBIG, "HTTP %s too long (limit %zu bytes)", what, max);
	memcpy(p->line + p->llen, s, k);
	p->llen += k;
	*i += k;
	if (!nl)
		return 0;
	p->llen--;                              /* drop LF */
	if (p->llen > 0 && p->line[p->llen - 1] == '\r')
		p->llen--;
	p->line[p->llen] = 0;
	if (memchr(p->line, '\r', p->llen) || memchr(p->line, 0, p->llen))
		return malformed(p, "bare CR or NUL in a chunk line");
	return 1;
}

static int
parse_chunk_size(struct http_parser *p)
{
	const char *s = p->line;
	uint64_t v = 0;
	int d, nd = 0;

	for (; (d = (*s >= '0' && *s <= '9') ? *s - '0' :
	    (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10 :
	    (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1) >= 0; s++, nd++) {
		if (v > (UINT64_MAX >> 4))
			return perr(p, HTTP_ETOOBIG, "HTTP chunk size too large");
		v = v << 4 | (uint64_t)d;
	}
	if (nd == 0)
		return malformed(p, "bad chunk size");
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s && *s != ';')
		return malformed(p, "bad chunk size");
	for (; *s; s++)
		if (!is_field_char((unsigned char)*s))
			return malformed(p, "control character in chunk extension");
	p->llen = 0;
	if (v == 0) {
		p->st = P_TRAILER;
		return 0;
	}
	if (v > p->max_body - p->r.body_len)
		return perr(p, HTTP_ETOOBIG, "HTTP response body too large (limit %zu bytes)",
		    p->max_body);
	if (body_reserve(p, (size_t)v) < 0)
		return -1;
	p->remain = v;
	p->st = P_CHUNK_DATA;
	return 0;
}

static int
parse_trailer(struct http_parser *p)
{
	const char *s = p->line;

	p->trailer_len += p->llen + 2;
	if (p->trailer_len > HTTP_MAX_HEADER)
		return perr(p, HTTP_ETOOBIG, "HTTP trailer too large (limit %d bytes)",
		    HTTP_MAX_HEADER);
	if (p->llen == 0) {
		p->st = P_DONE;
		return 0;
	}
	p->llen = 0;
	if (*s == ' ' || *s == '\t')
		return malformed(p, "obsolete line folding in trailer");
	while (is_tchar((unsigned char)*s))
		s++;
	if (*s != ':' || s == p->line)
		return malformed(p, "bad trailer line");
	for (; *s; s++)
		if (!is_field_char((unsigned char)*s))
			return malformed(p, "control character in trailer");
	return 0;
}

static int
feed_data(struct http_parser *p, const char *buf, size_t n, size_t *i, enum pstate next)
{
	size_t k = n - *i;

	if (k > p->remain)
		k = (size_t)p->remain;
	memcpy(p->r.body + p->r.body_len, buf + *i, k);
	p->r.body_len += k;
	p->r.body[p->r.body_len] = 0;
	p->remain -= k;
	*i += k;
	if (p->remain == 0)
		p->st = next;
	return 0;
}

static int
feed_chunk_end(struct http_parser *p, char c)
{
	if (c == '\r' && p->llen == 0) {
		p->llen = 1;
		return 0;
	}
	if (c != '\n')
		return malformed(p, "chunk data not followed by CRLF");
	p->llen = 0;
	p->st = P_CHUNK_SIZE;
	return 0;
}

static int
feed_step(struct http_parser *p, const char *buf, size_t n, size_t *i)
{
	int r;

	switch (p->st) {
	case P_HEAD:
		return feed_head(p, buf, n, i);
	case P_LEN:
		return feed_data(p, buf, n, i, P_DONE);
	case P_CHUNK_DATA:
		return feed_data(p, buf, n, i, P_CHUNK_END);
	case P_CHUNK_END:
		return feed_chunk_end(p, buf[(*i)++]);
	case P_CHUNK_SIZE:
		r = collect_line(p, buf, n, i, HTTP_MAX_CHUNK_LINE - 1, "chunk-size line");
		return r <= 0 ? r : parse_chunk_size(p);
	case P_TRAILER:
		r = collect_line(p, buf, n, i, HTTP_MAX_CHUNK_LINE - 1, "trailer line");
		return r <= 0 ? r : parse_trailer(p);
	case P_EOF_BODY:
		r = body_add(p, buf + *i, n - *i);
		*i = n;
		return r;
	default:
		return 0;
	}
}

int
http_parser_feed(struct http_parser *p, const char *buf, size_t n, size_t *used)
{
	size_t i = 0;

	*used = 0;
	if (p->st == P_ERROR)
		return fail("%s", p->emsg);
	while (i < n && p->st != P_DONE) {
		if (feed_step(p, buf, n, &i) < 0) {
			*used = i;
			return -1;
		}
	}
	*used = i;
	return p->st == P_DONE;
}

int
http_parser_eof(struct http_parser *p)
{
	switch (p->st) {
	case P_DONE:
		return 1;
	case P_EOF_BODY:
		p->st = P_DONE;
		return 1;
	case P_ERROR:
		return fail("%s", p->emsg);
	case P_HEAD:
		if (p->r.hlen == 0 && p->interim == 0)
			return perr(p, HTTP_ECLOSED, "connection closed by peer without a response");
		/* fall through */
	default:
		return perr(p, HTTP_ECLOSED, "connection closed by peer mid-response");
	}
}

const char *
http_header(const struct http_response *r, const char *name)
{
	int i;

	for (i = 0; i < r->nhdr; i++)
		if (!strcasecmp(r->hdr[i].name, name))
			return r->hdr[i].value;
	return NULL;
}

void
http_response_free(struct http_response *r)
{
	if (r)
		clear_response(r);
}

/* ---- connection ---- */

struct http_conn {
	int fd;
	int is_unix;
	char path[PATH_MAX];    /* unix socket path, or host */
	int port;
	char name[PATH_MAX + 16]; /* for messages */
	int timeout_ms;
	size_t max_body;
	int reused;             /* a response was read on fd */
	enum http_err err;
	struct http_parser *parser;
	char rbuf[16384];
};

static struct http_conn *
conn_new(int timeout_ms)
{
	struct http_conn *c = calloc(1, sizeof *c);

	if (!c) {
		fail("out of memory");
		return NULL;
	}
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	c->max_body = HTTP_MAX_BODY;
	return c;
}

struct http_conn *
http_unix(const char *sock_path, int timeout_ms)
{
	struct http_conn *c;

	if (!*sock_path) {
		fail("empty socket path");
		return NULL;
	}
	c = conn_new(timeout_ms);
	if (!c)
		return NULL;
	c->is_unix = 1;
	if (fmt(c->path, sizeof c->path, "%s", sock_path) < 0) {
		free(c);
		fail("socket path too long: %.80s...", sock_path);
		return NULL;
	}
	snprintf(c->name, sizeof c->name, "%s", sock_path);
	return c;
}

struct http_conn *
http_tcp(const char *host, int port, int timeout_ms)
{
	struct http_conn *c;

	if (port <= 0 || port > 65535) {
		fail("bad TCP port %d", port);
		return NULL;
	}
	c = conn_new(timeout_ms);
	if (!c)
		return NULL;
	if (fmt(c->path, sizeof c->path, "%s", host) < 0) {
		free(c);
		fail("host name too long");
		return NULL;
	}
	c->port = port;
	snprintf(c->name, sizeof c->name, "%s:%d", host, port);
	return c;
}

void
http_set_timeout(struct http_conn *c, int timeout_ms)
{
	c->timeout_ms = timeout_ms;
}

void
http_set_max_body(struct http_conn *c, size_t max_body)
{
	c->max_body = max_body;
	if (c->parser)
		c->parser->max_body = max_body;
}

enum http_err
http_last_error(const struct http_conn *c)
{
	return c->err;
}

static void
drop(struct http_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->reused = 0;
}

void
http_close(struct http_conn *c)
{
	if (!c)
		return;
	drop(c);
	http_parser_free(c->parser);
	free(c);
}

static int
cfail(struct http_conn *c, enum http_err kind, const char *fmt_, ...)
	__attribute__((format(printf, 3, 4)));

static int
cfail(struct http_conn *c, enum http_err kind, const char *fmt_, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt_);
	vsnprintf(msg, sizeof msg, fmt_, ap);
	va_end(ap);
	c->err = kind;
	drop(c);
	return fail("%s: %s", c->name, msg);
}

/* Milliseconds left before deadline (-1: no deadline); 0 when passed. */
static int
left_ms(int64_t deadline)
{
	int64_t l;

	if (deadline < 0)
		return -1;
	l = deadline - now_ms();
	if (l <= 0)
		return 0;
	return l > INT_MAX ? INT_MAX : (int)l;
}

/* Wait for events on fd; 1 ready, 0 timed out, -1 error (errno). */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	int r, t;

	for (;;) {
		t = left_ms(deadline);
		if (t == 0)
			return 0;
		r = poll(&pfd, 1, t);
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static int
timed_out(struct http_conn *c, const char *what)
{
	return cfail(c, HTTP_ETIMEOUT, "timed out after %d ms %s", c->timeout_ms, what);
}

static int
connect_errno(struct http_conn *c, int e)
{
	errno = e;
	if (e == ENOENT || e == ENOTDIR)
		return cfail(c, HTTP_ENOSOCK, "no such socket (is the server running?)");
	if (e == ECONNREFUSED)
		return cfail(c, HTTP_EREFUSED, "connection refused (nothing is listening; "
		    "stale socket?)");
	return cfail(c, HTTP_EIO, "cannot connect: %s", strerror(e));
}

/* Fill sun for c->path; a long path goes through an O_PATH fd of its
 * directory (*dirfd, closed by the caller). */
static int
unix_addr(struct http_conn *c, struct sockaddr_un *sun, int *dirfd)
{
	char dir[PATH_MAX];
	const char *base, *slash;

	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(c->path) < sizeof sun->sun_path) {
		memcpy(sun->sun_path, c->path, strlen(c->path) + 1);
		return 0;
	}
	slash = strrchr(c->path, '/');
	if (!slash)
		return cfail(c, HTTP_EIO, "socket name longer than %zu bytes",
		    sizeof sun->sun_path - 1);
	base = slash + 1;
	snprintf(dir, sizeof dir, "%.*s", (int)(slash - c->path) ? (int)(slash - c->path) : 1,
	    c->path);
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return connect_errno(c, errno);
	if (snprintf(sun->sun_path, sizeof sun->sun_path, "/proc/self/fd/%d/%s", *dirfd, base)
	    >= (int)sizeof sun->sun_path)
		return cfail(c, HTTP_EIO, "socket path too long for AF_UNIX even through "
		    "/proc/self/fd (file name over ~90 bytes): use a shorter path");
	return 0;
}

static int
connect_unix(struct http_conn *c, int64_t deadline)
{
	struct sockaddr_un sun;
	int dirfd = -1, e;

	if (unix_addr(c, &sun, &dirfd) < 0) {
		if (dirfd >= 0)
			close(dirfd);
		return -1;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		e = errno;
		if (dirfd >= 0)
			close(dirfd);
		return cfail(c, HTTP_EIO, "socket: %s", strerror(e));
	}
	/* A full backlog makes a non-blocking AF_UNIX connect fail with
	 * EAGAIN: retry until the deadline. */
	while (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		e = errno;
		if (e == EINTR)
			continue;
		if (e == EAGAIN && left_ms(deadline) != 0) {
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
			continue;
		}
		if (dirfd >= 0)
			close(dirfd);
		if (e == EAGAIN)
			return timed_out(c, "connecting (listen backlog full)");
		if (e == ENOENT && dirfd >= 0 && !strncmp(sun.sun_path, "/proc/", 6) &&
		    access("/proc/self/fd", F_OK) < 0)
			return cfail(c, HTTP_EIO, "socket path longer than %zu bytes and /proc "
			    "is not mounted: use a shorter path", sizeof sun.sun_path - 1);
		return connect_errno(c, e);
	}
	if (dirfd >= 0)
		close(dirfd);
	return 0;
}

static int
connect_tcp(struct http_conn *c, int64_t deadline)
{
	struct addrinfo hints, *res, *ai;
	char port[16];
	int r, e = ECONNREFUSED, one = 1;
	socklen_t el;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%d", c->port);
	r = getaddrinfo(c->path, port, &hints, &res);
	if (r)
		return cfail(c, HTTP_EIO, "cannot resolve: %s", gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
		if (c->fd < 0) {
			e = errno;
			continue;
		}
		if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (e == EINPROGRESS || e == EINTR) {
			r = wait_fd(c->fd, POLLOUT, deadline);
			if (r == 0) {
				freeaddrinfo(res);
				return timed_out(c, "connecting");
			}
			el = sizeof e;
			if (r > 0 && getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && !e)
				break;
			if (r < 0)
				e = errno;
		}
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	if (c->fd < 0)
		return connect_errno(c, e);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return 0;
}

/* Has the peer closed (or sent something unasked on) an idle connection?
 * One non-blocking peek: EAGAIN means alive and quiet. */
static int
idle_conn_dead(int fd)
{
	char b;
	ssize_t r;

	do
		r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	return r >= 0 || errno != EAGAIN;
}

/* Send all of buf. Returns bytes sent before a failure in *sent. */
static int
send_all(struct http_conn *c, const char *buf, size_t n, int64_t deadline, size_t *sent)
{
	ssize_t w;
	int r;

	*sent = 0;
	while (*sent < n) {
		w = send(c->fd, buf + *sent, n - *sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w >= 0) {
			*sent += (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		r = wait_fd(c->fd, POLLOUT, deadline);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

static char *
build_request(struct http_conn *c, const char *method, const char *path,
    const char *content_type, const char *body, size_t body_len, size_t *len)
{
	char head[1024], host[300];
	char *buf;
	int n;
	int with_body = body || (strcmp(method, "GET") && strcmp(method, "HEAD") &&
	    strcmp(method, "DELETE"));

	if (strpbrk(path, " \r\n") || strpbrk(method, " \r\n") ||
	    (content_type && strpbrk(content_type, "\r\n"))) {
		fail("bad HTTP request line or header (space or newline)");
		return NULL;
	}
	if (!content_type)
		content_type = "application/json";
	if (c->is_unix)
		snprintf(host, sizeof host, "localhost");
	else
		snprintf(host, sizeof host, strchr(c->path, ':') ? "[%.255s]:%d" : "%.255s:%d",
		    c->path, c->port);
	if (with_body)
		n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s\r\n"
		    "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", method, path,
		    host, content_type, body_len);
	else
		n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s\r\n\r\n",
		    method, path, host);
	if (n < 0 || (size_t)n >= sizeof head) {
		fail("HTTP request line too long: %.60s...", path);
		return NULL;
	}
	if (!body)
		body_len = 0;
	buf = malloc((size_t)n + body_len + 1);
	if (!buf) {
		fail("out of memory");
		return NULL;
	}
	memcpy(buf, head, (size_t)n);
	if (body_len)
		memcpy(buf + n, body, body_len);
	*len = (size_t)n + body_len;
	return buf;
}

/* Read one response. 0 ok, -1 failure; *got says if any byte arrived. */
static int
read_response(struct http_conn *c, int64_t deadline, struct http_response *r, int *got)
{
	size_t used;
	ssize_t n;
	int pr, w;

	*got = 0;
	for (;;) {
		/* the answer takes a while: wait first, then read */
		w = wait_fd(c->fd, POLLIN, deadline);
		if (w == 0)
			return timed_out(c, *got ? "reading the response" :
			    "waiting for a response");
		if (w < 0)
			return cfail(c, HTTP_EIO, "poll: %s", strerror(errno));
		n = recv(c->fd, c->rbuf, sizeof c->rbuf, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET)
				return cfail(c, HTTP_ECLOSED, "connection reset by peer %s",
				    *got ? "mid-response" : "without a response");
			return cfail(c, HTTP_EIO, "reading the response: %s", strerror(errno));
		}
		if (n == 0) {
			if (http_parser_eof(c->parser) < 0)
				return cfail(c, http_parser_error(c->parser), "%s", c->parser->emsg);
			http_parser_take(c->parser, r);
			drop(c);
			return 0;
		}
		*got = 1;
		pr = http_parser_feed(c->parser, c->rbuf, (size_t)n, &used);
		if (pr < 0)
			return cfail(c, http_parser_error(c->parser), "%s", c->parser->emsg);
		if (pr == 1) {
			http_parser_take(c->parser, r);
			/* bytes beyond the response were not asked for */
			if (r->close || used < (size_t)n)
				drop(c);
			else
				c->reused = 1;
			return 0;
		}
	}
}

static int
is_idempotent_read(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

static int
attempt(struct http_conn *c, const char *method, const char *req, size_t len,
    int64_t deadline, struct http_response *r, int *retry)
{
	size_t sent;
	int was_reused, got;

	*retry = 0;
	if (c->fd >= 0 && idle_conn_dead(c->fd))
		drop(c);
	was_reused = c->fd >= 0;
	if (c->fd < 0 && (c->is_unix ? connect_unix(c, deadline) : connect_tcp(c, deadline)) < 0)
		return -1;
	if (send_all(c, req, len, deadline, &sent) < 0) {
		if (errno == ETIMEDOUT)
			return timed_out(c, "sending the request");
		if (was_reused && sent == 0 && (errno == EPIPE || errno == ECONNRESET))
			*retry = 1;
		if (errno == EPIPE || errno == ECONNRESET)
			return cfail(c, HTTP_ECLOSED, "connection closed by peer while sending "
			    "the request");
		return cfail(c, HTTP_EIO, "sending the request: %s", strerror(errno));
	}
	http_parser_reset(c->parser, !strcmp(method, "HEAD"));
	if (read_response(c, deadline, r, &got) < 0) {
		if (was_reused && !got && c->err == HTTP_ECLOSED && is_idempotent_read(method))
			*retry = 1;
		return -1;
	}
	return 0;
}

int
http_request(struct http_conn *c, const char *method, const char *path,
    const char *content_type, const char *body, size_t body_len,
    struct http_response *r)
{
	int64_t deadline = c->timeout_ms > 0 ? now_ms() + c->timeout_ms : -1;
	char *req;
	size_t len;
	int rc, retry;

	memset(r, 0, sizeof *r);
	c->err = HTTP_OK;
	if (!c->parser) {
		c->parser = http_parser_new(0, c->max_body);
		if (!c->parser)
			return -1;
	}
	req = build_request(c, method, path, content_type, body, body_len, &len);
	if (!req) {
		c->err = HTTP_EIO;
		return -1;
	}
	rc = attempt(c, method, req, len, deadline, r, &retry);
	if (rc < 0 && retry)
		rc = attempt(c, method, req, len, deadline, r, &retry);
	free(req);
	if (rc == 0)
		c->err = HTTP_OK;
	return rc;
}
