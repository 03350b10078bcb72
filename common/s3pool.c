/* s3pool: the transfers of s3.h, carried by curl processes.
 *
 * One curl process carries a batch of requests in a row over one kept-alive
 * connection: its config (on a pipe) holds one group per request, joined by
 * "next", and "fail-early" makes it stop at the first transfer that fails.
 * Every response arrives on curl's stdout as
 *     [1xx header blocks] header block  body  "<token> <code> <size>\n"
 * (-i, then a write-out line).  The token is random and never sent to the
 * server, so a body cannot forge the end of a response; with a
 * Content-Length the body is taken by length, else up to the token.
 * A request body goes to curl through a pipe of its own, fed from memory
 * or spliced from a file range (no copy in this process), with an explicit
 * Content-Length.  A batch holds at most BATCH_MAX requests and about
 * BATCH_BYTES of bodies, so a signature is never minutes old when sent.
 *
 * When a process ends, the request it was on is classified (curl's exit
 * code, HTTP status, S3 error code) and maybe retried; requests it never
 * reached go back to the queue without counting an attempt. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "curlcfg.h"
#include "s3pool.h"
#include "strbuf.h"
#include "util.h"

#define HDR_MAX (64 * 1024)
#define ERRBODY_MAX (64 * 1024)
#define MEM_DEFAULT (64u * 1024 * 1024)
#define CURL_ERR_MAX 4096
#define BATCH_MAX 16
#define BATCH_BYTES (64LL << 20)
#define TOKEN_LEN 40                    /* "~fcsnap~" + 32 hex */
#define SCAN_KEEP (1 << 20)             /* scan mode: hold at most this */

enum { XF_FREE, XF_QUEUED, XF_WAIT, XF_RUN, XF_FAILED, XF_DONE };
enum { P_HDR, P_BODY_LEN, P_BODY_SCAN, P_TRAILER };

struct proc;

struct xfer {
	struct s3_req *r;
	int state;              /* XF_* */
	uint64_t seq;           /* queue order */
	struct proc *pr;        /* XF_RUN, XF_FAILED */
	int64_t restart_at;     /* XF_WAIT: ms */
	/* the body, as pieces, and how far it has been fed */
	struct s3_seg one;
	const struct s3_seg *segs;
	size_t nsegs, seg;
	size_t seg_off;
	int bodyw;              /* our end of the body pipe, -1 */
	/* the response */
	int status;
	int in_body;            /* final header block parsed */
	int nobody;             /* HEAD, 204, 304 */
	int late;               /* not first in its batch (signature may be old) */
	int garbled;            /* curl's output lost its framing: retry */
	long long got;          /* response body bytes received */
	struct strbuf mem;
	struct sha256 sha;
	char local_err[400];
};

struct proc {
	pid_t pid;
	int outfd, errfd;
	struct xfer *q[BATCH_MAX];
	int nq, cur;
	int st;                 /* P_* */
	long long left;         /* P_BODY_LEN */
	struct strbuf acc;      /* header block, trailer line, held body bytes */
	struct strbuf cerr;     /* curl's stderr */
	struct xfer *failed;    /* its trailer said it failed */
	int killed;
	char token[TOKEN_LEN + 1];
};

struct s3_pool {
	struct s3 *c;
	struct xfer *x;
	struct proc *pr;
	struct pollfd *pf;
	void **who;
	int nx, np, used;
	int batch;              /* requests per process (fd budget) */
	uint64_t seq;
	unsigned seed;          /* backoff jitter */
};

/* snprintf for messages: truncation is acceptable there. */
static void __attribute__((format(printf, 3, 4)))
msgf(char *out, size_t n, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(out, n, f, ap);
	va_end(ap);
}

static void
label(const struct s3 *c, const struct s3_req *r, char *out, size_t n)
{
	msgf(out, n, "%s s3://%s%s%s", r->method, c->bucket, r->key && *r->key ? "/" : "",
	    r->key ? r->key : "");
}

static void
res_reset(struct s3_result *res)
{
	int attempts = res->attempts;

	free(res->body);
	memset(res, 0, sizeof *res);
	res->attempts = attempts;
	res->content_length = -1;
}

void
s3_result_free(struct s3_result *res)
{
	free(res->body);
	memset(res, 0, sizeof *res);
}

/* ---- classification -------------------------------------------------- */

static int
transient_curl(int e)
{
	switch (e) {
	case 7: case 16: case 18: case 28: case 52: case 55: case 56: case 65: case 92:
		return 1;
	}
	return 0;
}

static int
transient_code(const char *code)
{
	static const char *t[] = { "SlowDown", "InternalError", "ServiceUnavailable",
	    "RequestTimeout", "OperationAborted", "Throttling", "ThrottlingException" };
	size_t i;

	for (i = 0; code && i < ARRAY_LEN(t); i++)
		if (!strcmp(code, t[i]))
			return 1;
	return 0;
}

/* curl's own message, last line, without "curl: (N) ". */
static const char *
curl_said(struct strbuf *cerr)
{
	char *s, *nl;

	if (!cerr->s)
		return "";
	s = cerr->s;
	while (cerr->len && (s[cerr->len - 1] == '\n' || s[cerr->len - 1] == '\r'))
		s[--cerr->len] = 0;
	if ((nl = strrchr(s, '\n')))
		s = nl + 1;
	if (!strncmp(s, "curl: (", 7) && (nl = strstr(s, ") ")))
		s = nl + 2;
	return text_shown(s);   /* it may quote the server */
}

/* curl 7.8x says only "Couldn't connect to server": try one connect(2)
 * ourselves to learn why (refused, unreachable, timed out). 0 if it
 * connects (or cannot be tried), else the errno. */
static int
probe_connect(const struct s3 *c)
{
	struct addrinfo hints, *ai = NULL;
	char host[256], *port, *e;
	struct pollfd pf;
	int fd, err = 0;
	socklen_t el = sizeof err;

	snprintf(host, sizeof host, "%s", c->host);
	if (host[0] == '[') {
		if (!(e = strchr(host, ']')))
			return 0;
		*e = 0;
		port = e[1] == ':' ? e + 2 : NULL;
		memmove(host, host + 1, strlen(host + 1) + 1);
	} else {
		port = strrchr(host, ':');
		if (port)
			*port++ = 0;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port ? port : !strcmp(c->scheme, "https") ? "443" : "80",
	    &hints, &ai) != 0 || !ai)
		return 0;
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err = errno;
		if (err == EINPROGRESS) {
			pf = (struct pollfd){ fd, POLLOUT, 0 };
			err = poll(&pf, 1, 3000) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 ? err : ETIMEDOUT;
		}
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return err;
}

static void
connect_error(const struct s3 *c, const char *said, const char *what, const char *host,
    char *out, size_t n)
{
	int e = probe_connect(c);

	if (e == ECONNREFUSED || strcasestr(said, "refused"))
		msgf(out, n, "%s: cannot connect to %s: connection refused (is the server "
		    "running and the endpoint right?)", what, host);
	else if (e == ENETUNREACH || e == EHOSTUNREACH || strcasestr(said, "unreachable"))
		msgf(out, n, "%s: cannot connect to %s: network unreachable", what, host);
	else if (e == ETIMEDOUT)
		msgf(out, n, "%s: cannot connect to %s: connection timed out", what, host);
	else
		msgf(out, n, "%s: cannot connect to %s: %s", what, host, said);
}

static void
curl_error(struct s3 *c, struct strbuf *cerr, int e, const char *what, char *out, size_t n)
{
	const char *said = curl_said(cerr);
	char host[300];

	snprintf(host, sizeof host, "%s://%s", c->scheme, c->host);
	if (e == 7)
		connect_error(c, said, what, host, out, n);
	else if (e == 6)
		msgf(out, n, "%s: cannot resolve host of %s: check the endpoint "
		    "(AWS_ENDPOINT_URL, AWS_REGION) and DNS", what, host);
	else if (e == 28)
		msgf(out, n, "%s: timed out talking to %s (%s)", what, host, said);
	else if (e == 60)
		msgf(out, n, "%s: TLS certificate of %s is not trusted: set AWS_CA_BUNDLE "
		    "to the CA file that signed it", what, host);
	else if (e == 77)
		msgf(out, n, "%s: cannot use the CA bundle '%s': fix AWS_CA_BUNDLE", what,
		    c->conf->ca_bundle ? c->conf->ca_bundle : "(default)");
	else if (e == 35)
		msgf(out, n, "%s: TLS handshake with %s failed: %s", what, host, said);
	else if (e == 52 || e == 56 || e == 55 || e == 18)
		msgf(out, n, "%s: the connection to %s was lost (%s)", what, host, said);
	else if (e == 65)       /* curl wanted to resend a body it reads from a pipe */
		msgf(out, n, "%s: the connection to %s was lost while sending", what, host);
	else if (e >= 128)
		msgf(out, n, "%s: curl was killed by signal %d", what, e - 128);
	else
		msgf(out, n, "%s: curl failed (exit %d): %s", what, e, *said ? said : "no message");
}

static void
http_error(struct s3 *c, int st, const char *code, const char *msg,
    const char *what, char *out, size_t n)
{
	const char *ak = c->conf->creds->access_key;

	if (!code)
		code = st == 404 ? "NoSuchKey" : NULL;
	if (!code && st == 403)
		msgf(out, n, "%s: HTTP 403 Forbidden: bad credentials or no permission "
		    "(check the secret key and the credentials' rights)", what);
	else if (!code)
		msgf(out, n, "%s: HTTP %d from the server", what, st);
	else if (!strcmp(code, "SignatureDoesNotMatch"))
		msgf(out, n, "%s: bad credentials: the server rejected the signature of access "
		    "key %s (SignatureDoesNotMatch): check the secret key (AWS_SECRET_ACCESS_KEY "
		    "or ~/.aws/credentials)", what, ak);
	else if (!strcmp(code, "InvalidAccessKeyId"))
		msgf(out, n, "%s: bad credentials: access key %s is not known to the server "
		    "(InvalidAccessKeyId): check AWS_ACCESS_KEY_ID or ~/.aws/credentials", what, ak);
	else if (!strcmp(code, "NoSuchBucket"))
		msgf(out, n, "%s: no such bucket '%s' (NoSuchBucket): check the bucket name, "
		    "region and endpoint", what, c->bucket);
	else if (!strcmp(code, "NoSuchKey"))
		msgf(out, n, "%s: no such object", what);
	else if (!strcmp(code, "AccessDenied"))
		msgf(out, n, "%s: access denied (AccessDenied): the credentials of %s lack "
		    "permission for this", what, ak);
	else if (!strcmp(code, "RequestTimeTooSkewed"))
		msgf(out, n, "%s: the local clock is wrong: the server refused the request "
		    "time (RequestTimeTooSkewed): fix the system clock (NTP)", what);
	else if (!strcmp(code, "ExpiredToken") || !strcmp(code, "InvalidToken") ||
	    !strcmp(code, "TokenRefreshRequired"))
		msgf(out, n, "%s: the session token is expired or invalid (%s): renew "
		    "AWS_SESSION_TOKEN", what, code);
	else if (!strcmp(code, "AuthorizationHeaderMalformed") || !strcmp(code, "PermanentRedirect"))
		msgf(out, n, "%s: wrong region or endpoint for bucket '%s' (%s: %s): set "
		    "AWS_REGION", what, c->bucket, code, msg ? msg : "");
	else
		msgf(out, n, "%s: S3 error %s (HTTP %d)%s%s", what, code, st,
		    msg ? ": " : "", msg ? msg : "");
}

/* The response of x is complete (e == 0) or curl failed on it with exit
 * code e (shell style: 128+N for a signal). Sets res (ok, message);
 * returns 1 when the failure is worth a retry. */
static int
classify(struct s3 *c, struct xfer *x, int e, struct strbuf *cerr)
{
	struct s3_result *res = x->r->res;
	char what[300], *code = NULL, *msg = NULL;
	int tr = 0;

	label(c, x->r, what, sizeof what);
	res->curl_exit = e;
	res->body_len = x->mem.len;
	res->body = x->mem.s;
	x->mem = (struct strbuf)STRBUF_INIT;
	if (x->local_err[0]) {
		msgf(res->err, sizeof res->err, "%s: %s", what, x->local_err);
		return x->garbled;
	}
	if (e != 0) {
		curl_error(c, cerr, e, what, res->err, sizeof res->err);
		return transient_curl(e);
	}
	if (!x->in_body) {
		msgf(res->err, sizeof res->err, "%s: no HTTP response from curl", what);
		return 1;
	}
	if (x->status >= 200 && x->status < 300) {
		res->ok = 1;
		if (x->r->hash_body)
			sha256_final(&x->sha, res->sha256);
		return 0;
	}
	if (res->body) {
		code = s3_xml_text(res->body, res->body_len, "Code");
		msg = s3_xml_text(res->body, res->body_len, "Message");
		if (code)
			text_shown(code);
		if (msg)
			text_shown(msg);
	}
	res->not_found = x->status == 404 && (!code || !strcmp(code, "NoSuchKey"));
	http_error(c, x->status, code, msg, what, res->err, sizeof res->err);
	tr = x->status >= 500 || x->status == 429 || transient_code(code) ||
	    (x->late && code && !strcmp(code, "RequestTimeTooSkewed"));
	free(code);
	free(msg);
	return tr;
}

static long long
backoff(const struct s3 *c, int attempt, unsigned *seed)
{
	long long d = c->o.backoff_ms > 0 ? c->o.backoff_ms : 1;
	int i;

	for (i = 1; i < attempt && d < 30000; i++)
		d *= 2;
	if (d > 30000)
		d = 30000;
	return d / 2 + (long long)rand_r(seed) % (d / 2 + 1);
}

/* ---- request bodies -------------------------------------------------- */

/* curl runs in a group of its own (FCSNAP_CURL may be a wrapper script):
 * stop all of it. */
static void
proc_kill(struct proc *pr)
{
	if (!pr->killed && pr->pid > 0) {
		kill(-pr->pid, SIGTERM);
		pr->killed = 1;
	}
}

static void
xfer_local_error(struct xfer *x, const char *msg)
{
	if (!x->local_err[0])
		snprintf(x->local_err, sizeof x->local_err, "%s", msg);
	if (x->pr)
		proc_kill(x->pr);
}

static void
body_close(struct xfer *x)
{
	if (x->bodyw >= 0)
		close(x->bodyw);
	x->bodyw = -1;
}

/* Move what the pipe takes of the current piece. 1 progress, 2 the pipe
 * is full, 0 the pipe is gone, -1 local error (set on x). */
static int
feed_piece(struct xfer *x)
{
	static char buf[1 << 16];
	const struct s3_seg *g = &x->segs[x->seg];
	size_t want = g->len - x->seg_off;
	ssize_t k;

	if (!want) {
		x->seg++;
		x->seg_off = 0;
		return 1;
	}
	if (want > (1 << 20))
		want = 1 << 20;
	if (g->mem) {
		k = write(x->bodyw, (const char *)g->mem + x->seg_off, want);
	} else {
		loff_t o = g->off + (off_t)x->seg_off;

		k = splice(g->fd, &o, x->bodyw, NULL, want, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (k < 0 && (errno == EINVAL || errno == ENOSYS)) {
			/* a source splice cannot read: copy */
			if (want > sizeof buf)
				want = sizeof buf;
			k = pread(g->fd, buf, want, g->off + (off_t)x->seg_off);
			if (k > 0)
				k = write(x->bodyw, buf, (size_t)k);
			else if (k == 0)
				errno = 0;
		}
		if (k == 0) {
			xfer_local_error(x, "the upload's source is shorter than expected "
			    "(did the file change?)");
			return -1;
		}
	}
	if (k < 0) {
		if (errno == EINTR)
			return 1;
		if (errno == EAGAIN)
			return 2;
		if (errno == EPIPE)
			return 0;
		char m[300];
		msgf(m, sizeof m, "reading the upload's source: %s", strerror(errno));
		xfer_local_error(x, m);
		return -1;
	}
	x->seg_off += (size_t)k;
	if (x->seg_off == g->len) {
		x->seg++;
		x->seg_off = 0;
	}
	return 1;
}

/* Feed x's body pipe until it is full or the body is all sent. */
static void
feed_body(struct xfer *x)
{
	int k = 1;

	while (x->bodyw >= 0 && x->seg < x->nsegs && k == 1)
		k = feed_piece(x);
	if (k <= 0 || x->seg >= x->nsegs)
		body_close(x);
}

/* ---- response bodies ------------------------------------------------- */

static int
good(const struct xfer *x)
{
	return x->status >= 200 && x->status < 300;
}

/* Does the body of x's (current) response go to memory; how much of it. */
static int
mem_sink(const struct xfer *x)
{
	return !good(x) || x->r->out_fd < 0;
}

static size_t
mem_cap(const struct xfer *x)
{
	return good(x) ? (x->r->mem_max ? x->r->mem_max : MEM_DEFAULT) : ERRBODY_MAX;
}

static void
body_bytes(struct xfer *x, const char *p, size_t n)
{
	struct s3_req *r = x->r;
	struct s3_result *res = r->res;
	int ok = good(x);
	size_t cap = mem_cap(x);

	x->got += (long long)n;
	if (x->local_err[0] || !n)
		return;
	if (ok && r->hash_body)
		sha256_update(&x->sha, p, n);
	if (ok && r->out_fd >= 0) {
		if (r->mem_max && (unsigned long long)res->out_bytes + n > r->mem_max) {
			res->too_big = 1;
			xfer_local_error(x, "response body larger than expected");
			return;
		}
		while (n) {
			ssize_t k = pwrite(r->out_fd, p, n, r->out_off + res->out_bytes);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				char m[300];
				res->write_err = k < 0 ? errno : EIO;
				msgf(m, sizeof m, "writing the download at offset %lld: %s",
				    (long long)(r->out_off + res->out_bytes),
				    strerror(k < 0 ? errno : EIO));
				xfer_local_error(x, m);
				return;
			}
			res->out_bytes += k;
			p += k;
			n -= (size_t)k;
		}
		return;
	}
	if (x->mem.len + n > cap) {
		if (ok) {
			res->too_big = 1;
			xfer_local_error(x, "response body larger than expected");
			return;
		}
		n = cap - x->mem.len;
	}
	sb_add(&x->mem, p, n);
	if (x->mem.oom)
		xfer_local_error(x, "out of memory");
}

/* ---- reading curl's stdout ------------------------------------------- */

/* The output lost its framing: stop the process; the request it was on
 * fails (and is retried), the rest go back to the queue. */
static void
garbled(struct proc *pr, const char *why)
{
	struct xfer *x = pr->cur < pr->nq ? pr->q[pr->cur] : NULL;

	if (x && !x->local_err[0]) {
		msgf(x->local_err, sizeof x->local_err, "garbled output from curl (%s)", why);
		x->garbled = 1;
	}
	proc_kill(pr);
}

/* A Content-Length: one decimal number, nothing else. */
static int
parse_length(const char *v, long long *out)
{
	long long n = 0;

	if (!*v)
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || n > (LLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*v - '0');
	}
	*out = n;
	return 0;
}

static int
parse_header_line(struct s3_result *res, char *line, const char **why)
{
	char *v = strchr(line, ':'), *e;
	long long n;
	size_t l;

	if (!v)
		return 0;
	*v++ = 0;
	while (*v == ' ' || *v == '\t')
		v++;
	e = v + strlen(v);
	while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
		*--e = 0;
	if (!strcasecmp(line, "content-length")) {
		if (parse_length(v, &n) < 0 ||
		    (res->content_length >= 0 && res->content_length != n)) {
			*why = "bad Content-Length";
			return -1;
		}
		res->content_length = n;
	} else if (!strcasecmp(line, "etag")) {
		l = strlen(v);
		if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
			v++;
			l -= 2;
		}
		snprintf(res->etag, sizeof res->etag, "%.*s", (int)l, v);
	}
	return 0;
}

int
s3_parse_head(char *s, struct s3_result *res, int *status, const char **why)
{
	char *line, *next, *sp = strchr(s, ' ');
	long st = 0;

	if (sp && !strncmp(s, "HTTP/", 5) && sp[1] >= '1' && sp[1] <= '9')
		st = strtol(sp + 1, NULL, 10);
	*status = st >= 100 && st <= 999 ? (int)st : 0;
	if (!*status) {
		*why = "no HTTP status line";
		return -1;
	}
	if (*status < 200)
		return 0;
	res->http_status = *status;
	res->content_length = -1;
	res->etag[0] = 0;
	line = strchr(s, '\n');
	for (line = line ? line + 1 : NULL; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (parse_header_line(res, line, why) < 0)
			return -1;
	}
	return 0;
}

/* A complete header block in acc: the status and headers of x. Sets the
 * body mode; an interim (1xx) block is dropped. */
static void
header_block(struct proc *pr, struct xfer *x)
{
	struct s3_result *res = x->r->res;
	const char *why = "";
	int st;

	if (s3_parse_head(pr->acc.s, res, &st, &why) < 0) {
		garbled(pr, why);
		return;
	}
	if (st < 200)
		return;
	x->status = st;
	x->in_body = 1;
	x->nobody = !strcmp(x->r->method, "HEAD") || st == 204 || st == 304;
	if (mem_sink(x) && res->content_length > 0 &&
	    (unsigned long long)res->content_length <= mem_cap(x))
		sb_reserve(&x->mem, (size_t)res->content_length);
	if (x->nobody || res->content_length == 0) {
		pr->st = P_TRAILER;
	} else if (res->content_length > 0) {
		pr->st = P_BODY_LEN;
		pr->left = res->content_length;
	} else {
		pr->st = P_BODY_SCAN;
	}
}

/* P_HDR: collect a header block. Returns the bytes used. */
static size_t
in_header(struct proc *pr, struct xfer *x, const char *d, size_t n)
{
	size_t old = pr->acc.len, from = old > 3 ? old - 3 : 0, hl;
	char *end;

	sb_add(&pr->acc, d, n);
	if (pr->acc.oom) {
		xfer_local_error(x, "out of memory");
		return n;
	}
	if (pr->acc.s[0] == '~') {      /* no response at all: the trailer */
		pr->st = P_TRAILER;
		sb_truncate(&pr->acc, old);
		return 0;
	}
	end = memmem(pr->acc.s + from, pr->acc.len - from, "\r\n\r\n", 4);
	hl = end ? (size_t)(end - pr->acc.s) + 4 : 0;
	if (!end && (end = memmem(pr->acc.s + from, pr->acc.len - from, "\n\n", 2)))
		hl = (size_t)(end - pr->acc.s) + 2;
	if (!end) {
		if (pr->acc.len > HDR_MAX)
			garbled(pr, "response headers too large");
		return n;
	}
	sb_truncate(&pr->acc, hl);
	header_block(pr, x);
	sb_truncate(&pr->acc, 0);
	return hl - old;
}

static void proc_output(struct s3_pool *p, struct proc *pr, const char *d, size_t n);

/* P_BODY_SCAN: the body runs up to the token. Hold back what could be the
 * token's start; pass the rest on. Uses all of d. */
static size_t
in_scan(struct s3_pool *p, struct proc *pr, struct xfer *x, const char *d, size_t n)
{
	size_t old = pr->acc.len, from = old > TOKEN_LEN ? old - TOKEN_LEN : 0;
	char *t;

	sb_add(&pr->acc, d, n);
	if (pr->acc.oom) {
		xfer_local_error(x, "out of memory");
		return n;
	}
	t = memmem(pr->acc.s + from, pr->acc.len - from, pr->token, TOKEN_LEN);
	if (t) {
		struct strbuf rest = pr->acc;
		size_t body = (size_t)(t - rest.s);

		body_bytes(x, rest.s, body);
		pr->acc = (struct strbuf)STRBUF_INIT;
		pr->st = P_TRAILER;
		proc_output(p, pr, rest.s + body, rest.len - body);
		sb_free(&rest);
		return n;
	}
	if (pr->acc.len > SCAN_KEEP) {
		size_t pass = pr->acc.len - TOKEN_LEN;

		body_bytes(x, pr->acc.s, pass);
		memmove(pr->acc.s, pr->acc.s + pass, TOKEN_LEN);
		sb_truncate(&pr->acc, TOKEN_LEN);
	}
	return n;
}

static void finish_xfer(struct s3_pool *p, struct xfer *x, int e, struct strbuf *cerr);

/* A trailer line "<token> <code> <size>" ends x's response. */
static void
trailer(struct s3_pool *p, struct proc *pr, struct xfer *x)
{
	char *s = pr->acc.s, *e;
	long code;
	long long size;

	if (pr->acc.len < TOKEN_LEN + 1 || memcmp(s, pr->token, TOKEN_LEN) != 0) {
		garbled(pr, "no end-of-response line");
		return;
	}
	code = strtol(s + TOKEN_LEN, &e, 10);
	size = strtoll(e, NULL, 10);
	body_close(x);
	pr->cur++;
	pr->st = P_HDR;
	sb_truncate(&pr->acc, 0);
	if (code == 0 || code != x->status || size != x->got) {
		/* curl failed on it: its exit status tells why */
		if (pr->failed) {
			garbled(pr, "two failed transfers");
			return;
		}
		x->state = XF_FAILED;
		pr->failed = x;
		return;
	}
	finish_xfer(p, x, 0, NULL);
}

/* P_TRAILER: collect the line. */
static size_t
in_trailer(struct s3_pool *p, struct proc *pr, struct xfer *x, const char *d, size_t n)
{
	const char *nl = memchr(d, '\n', n);
	size_t k = nl ? (size_t)(nl - d) + 1 : n;

	sb_add(&pr->acc, d, k);
	if (pr->acc.len > 256) {
		garbled(pr, "end-of-response line too long");
		return n;
	}
	if (nl)
		trailer(p, pr, x);
	return k;
}

static void
proc_output(struct s3_pool *p, struct proc *pr, const char *d, size_t n)
{
	while (n && !pr->killed) {
		struct xfer *x = pr->cur < pr->nq ? pr->q[pr->cur] : NULL;
		size_t k;

		if (!x) {
			garbled(pr, "output after the last response");
			return;
		}
		switch (pr->st) {
		case P_HDR:
			k = in_header(pr, x, d, n);
			break;
		case P_BODY_LEN:
			k = n < (unsigned long long)pr->left ? n : (size_t)pr->left;
			body_bytes(x, d, k);
			if (!(pr->left -= (long long)k))
				pr->st = P_TRAILER;
			break;
		case P_BODY_SCAN:
			k = in_scan(p, pr, x, d, n);
			break;
		default:
			k = in_trailer(p, pr, x, d, n);
			break;
		}
		d += k;
		n -= k;
	}
}

/* Where the next read of curl's stdout goes: straight into the reserved
 * buffer of a body of known length going to memory (no copy through buf),
 * else buf.  *in_place says which. */
static char *
read_target(struct proc *pr, char *buf, size_t *n, int *in_place)
{
	struct xfer *x = pr->cur < pr->nq ? pr->q[pr->cur] : NULL;
	size_t room;

	*in_place = 0;
	if (!x || pr->st != P_BODY_LEN || !good(x) || !mem_sink(x) || x->local_err[0])
		return buf;
	room = x->mem.cap > x->mem.len + 1 ? x->mem.cap - x->mem.len - 1 : 0;
	if ((unsigned long long)pr->left > room || room == 0)
		return buf;
	*in_place = 1;
	*n = (size_t)pr->left;
	return x->mem.s + x->mem.len;
}

/* k bytes arrived in place (see read_target). */
static void
got_in_place(struct proc *pr, size_t k)
{
	struct xfer *x = pr->q[pr->cur];

	if (x->r->hash_body)
		sha256_update(&x->sha, x->mem.s + x->mem.len, k);
	x->mem.len += k;
	x->mem.s[x->mem.len] = 0;
	x->got += (long long)k;
	if (!(pr->left -= (long long)k))
		pr->st = P_TRAILER;
}

/* Read what is there on *fd; 0 at EOF (fd closed), 1 otherwise. */
static int
proc_read(struct s3_pool *p, struct proc *pr, int *fd)
{
	static char buf[1 << 18];
	size_t n = sizeof buf;
	int in_place = 0;
	char *to = fd == &pr->outfd ? read_target(pr, buf, &n, &in_place) : buf;
	ssize_t k = read(*fd, to, n);

	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (k <= 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	if (in_place)
		got_in_place(pr, (size_t)k);
	else if (fd == &pr->outfd)
		proc_output(p, pr, buf, (size_t)k);
	else if (pr->cerr.len < CURL_ERR_MAX)
		sb_add(&pr->cerr, buf, (size_t)k);
	return 1;
}

/* ---- the pool -------------------------------------------------------- */

/* How many fds are open now. */
static long
fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;

	if (!d)
		return 64;
	while (readdir(d))
		n++;
	closedir(d);
	return n;       /* counts ".", ".." and d's own fd: a little margin */
}

/* Processes and requests per process so that every fd fits in our limit
 * (raised to the hard limit when that helps): a process holds 2 fds here,
 * plus one per request with a body; 16 are left for the rest. */
static void
fd_budget(int *np, int *batch)
{
	struct rlimit rl;
	long used = fds_open() + 16, room, b;
	rlim_t need = (rlim_t)*np * (BATCH_MAX + 2) + (rlim_t)used;

	*batch = BATCH_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = need < rl.rlim_max ? need : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	room = (long)rl.rlim_cur - used;
	if (room < 3 * (long)*np)
		*np = room >= 3 ? (int)(room / 3) : 1;
	b = room / *np - 2;
	*batch = b < 1 ? 1 : b > BATCH_MAX ? BATCH_MAX : (int)b;
}

struct s3_pool *
s3_pool_new(struct s3 *c, int max_parallel)
{
	struct s3_pool *p;
	int i, npf;

	if (max_parallel < 1)
		max_parallel = 1;
	if (max_parallel > 64)
		max_parallel = 64;
	p = calloc(1, sizeof *p);
	if (!p)
		goto oom;
	p->np = max_parallel;
	fd_budget(&p->np, &p->batch);
	p->nx = p->np * p->batch;
	npf = 2 * p->np + p->nx;
	p->x = calloc((size_t)p->nx, sizeof *p->x);
	p->pr = calloc((size_t)p->np, sizeof *p->pr);
	p->pf = calloc((size_t)npf, sizeof *p->pf);
	p->who = calloc((size_t)npf, sizeof *p->who);
	if (!p->x || !p->pr || !p->pf || !p->who)
		goto oom;
	p->c = c;
	for (i = 0; i < p->nx; i++)
		p->x[i].bodyw = -1;
	for (i = 0; i < p->np; i++)
		p->pr[i].outfd = p->pr[i].errfd = -1;
	p->seed = (unsigned)(now_ns() ^ getpid());
	return p;
oom:
	s3_pool_free(p);
	fail("out of memory");
	return NULL;
}

int
s3_pool_slots(const struct s3_pool *p)
{
	return p->nx - p->used;
}

int
s3_pool_capacity(const struct s3_pool *p)
{
	return p->nx;
}

int
s3_pool_running(const struct s3_pool *p)
{
	return p->used;
}

int
s3_pool_start(struct s3_pool *p, struct s3_req *r, struct s3_result *res)
{
	struct xfer *x = NULL;
	int i;

	for (i = 0; i < p->nx && !x; i++)
		if (p->x[i].state == XF_FREE)
			x = &p->x[i];
	if (!x)
		return fail("s3: no free transfer slot");
	memset(res, 0, sizeof *res);
	res->content_length = -1;
	r->res = res;
	x->r = r;
	x->state = XF_QUEUED;
	x->seq = ++p->seq;
	if (r->nsegs) {
		x->segs = r->segs;
		x->nsegs = r->nsegs;
	} else if (r->body_fd >= 0 || r->body_mem) {
		x->one = (struct s3_seg){ r->body_fd >= 0 ? NULL : r->body_mem, r->body_fd,
		    r->body_off, r->body_fd >= 0 ? (size_t)r->body_len : r->body_mem_len };
		if (!x->one.mem && r->body_fd < 0)
			x->one.mem = "";
		x->segs = &x->one;
		x->nsegs = 1;
	}
	p->used++;
	return 0;
}

/* curl's environment: ours without the AWS secrets (it gets what it needs
 * on the config pipe), so not even /proc/PID/environ shows them. */
static char **
curl_env(void)
{
	static const char *drop[] = { "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=",
	    "AWS_SECURITY_TOKEN=", "AWS_ACCESS_KEY_ID=", "AWS_CONTAINER_AUTHORIZATION_TOKEN=" };
	static char **env;
	extern char **environ;
	size_t n = 0, i, j, k = 0;

	free(env);
	while (environ[n])
		n++;
	if (!(env = calloc(n + 1, sizeof *env)))
		return NULL;
	for (i = 0; i < n; i++) {
		for (j = 0; j < ARRAY_LEN(drop); j++)
			if (!strncmp(environ[i], drop[j], strlen(drop[j])))
				break;
		if (j == ARRAY_LEN(drop))
			env[k++] = environ[i];
	}
	return env;
}

/* Before a spawn: x's body pipe (read end returned, inheritable) and its
 * part of the config. */
static int
xfer_prepare(struct s3_pool *p, struct proc *pr, struct xfer *x, struct strbuf *cfg, int *rfd)
{
	int bp[2];
	char *part;

	*rfd = -1;
	res_reset(x->r->res);
	x->r->res->attempts++;
	sb_free(&x->mem);
	sha256_init(&x->sha);
	x->status = x->in_body = x->nobody = x->garbled = 0;
	x->got = 0;
	x->local_err[0] = 0;
	x->seg = x->seg_off = 0;
	if (s3_req_has_body(x->r)) {
		if (pipe2(bp, O_CLOEXEC) < 0)
			return fail_errno("pipe");
		fcntl(bp[1], F_SETFL, O_NONBLOCK);
		fcntl(bp[1], F_SETPIPE_SZ, 1 << 18);
		x->bodyw = bp[1];
		*rfd = bp[0];
	}
	part = s3_curl_config(p->c, x->r, *rfd, pr->token);
	if (!part) {
		if (*rfd >= 0)
			close(*rfd);
		*rfd = -1;
		body_close(x);
		return -1;
	}
	if (cfg->len)
		sb_adds(cfg, "next\n");
	sb_adds(cfg, part);
	memset(part, 0, strlen(part));
	free(part);
	return 0;
}

static int
proc_spawn(struct s3_pool *p, struct proc *pr, const int *rfds, struct strbuf *cfg)
{
	struct spawn_opts so = SPAWN_OPTS_INIT;
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, cfd, i;
	char fdarg[32], *argv[5];

	cfd = curlcfg_pipe(cfg);
	if (cfd < 0)
		return -1;
	if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		fail_errno("pipe");
		goto fail;
	}
	fcntl(op[0], F_SETPIPE_SZ, 1 << 20);
	snprintf(fdarg, sizeof fdarg, "/dev/fd/%d", cfd);
	argv[0] = p->c->curl;
	argv[1] = "-q";
	argv[2] = "-K";
	argv[3] = fdarg;
	argv[4] = NULL;
	so.fd_in = -2;
	so.fd_out = op[1];
	so.fd_err = ep[1];
	so.setsid = 1;          /* its own group, killed as one (proc_kill) */
	if (!(so.envp = curl_env())) {
		fail("out of memory");
		goto fail;
	}
	/* the fds curl inherits besides 0-2: its config and the bodies */
	fcntl(cfd, F_SETFD, 0);
	for (i = 0; i < pr->nq; i++)
		if (rfds[i] >= 0)
			fcntl(rfds[i], F_SETFD, 0);
	pr->pid = spawn(argv, &so);
	if (pr->pid < 0)
		goto fail;
	close(cfd);
	close(op[1]);
	close(ep[1]);
	pr->outfd = op[0];
	pr->errfd = ep[0];
	return 0;
fail:
	close(cfd);
	for (i = 0; i < 2; i++) {
		if (op[i] >= 0)
			close(op[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	return -1;
}

/* The next queued request (lowest seq), or NULL. */
static struct xfer *
next_queued(struct s3_pool *p)
{
	struct xfer *best = NULL;
	int i;

	for (i = 0; i < p->nx; i++)
		if (p->x[i].state == XF_QUEUED && (!best || p->x[i].seq < best->seq))
			best = &p->x[i];
	return best;
}

static long long
xfer_bytes(const struct xfer *x)
{
	if (x->nsegs)
		return (long long)s3_req_body_len(x->r);
	return x->r->mem_max ? (long long)x->r->mem_max : 0;
}

static void
finish_xfer(struct s3_pool *p, struct xfer *x, int e, struct strbuf *cerr)
{
	int retry = classify(p->c, x, e, cerr);
	struct s3_result *res = x->r->res;
	long long wait;
	size_t l;

	body_close(x);
	x->pr = NULL;
	if (retry && res->attempts <= p->c->o.retries) {
		wait = backoff(p->c, res->attempts, &p->seed);
		warnmsg("%s; retry %d of %d in %lld.%01lld s", res->err, res->attempts,
		    p->c->o.retries, wait / 1000, wait % 1000 / 100);
		x->state = XF_WAIT;
		x->restart_at = now_ms() + wait;
		return;
	}
	if (retry && res->attempts > 1 && (l = strlen(res->err)) < sizeof res->err)
		msgf(res->err + l, sizeof res->err - l, "; gave up after %d attempts",
		    res->attempts);
	x->state = XF_DONE;
}

/* x was in a batch curl did not get to: queue it again. That is not an
 * attempt when an earlier request explains the stop. */
static void
requeue(struct s3_pool *p, struct xfer *x, int count_attempt)
{
	body_close(x);
	x->pr = NULL;
	x->state = XF_QUEUED;
	if (!count_attempt) {
		x->r->res->attempts--;
		return;
	}
	if (x->r->res->attempts > p->c->o.retries) {
		msgf(x->local_err, sizeof x->local_err, "curl ended without making the request");
		finish_xfer(p, x, 0, NULL);
	}
}

/* Give an idle process up to `want` queued requests and start it. A
 * request whose setup fails is finished with that error. */
static int
proc_start(struct s3_pool *p, struct proc *pr, int want)
{
	struct strbuf cfg = STRBUF_INIT;
	int rfds[BATCH_MAX], i, r;
	long long bytes = 0;
	struct xfer *x;

	memset(pr, 0, sizeof *pr);
	pr->outfd = pr->errfd = -1;
	curlcfg_token(pr->token, sizeof pr->token, "~fcsnap~");
	while (pr->nq < want && (x = next_queued(p))) {
		long long b = xfer_bytes(x);

		if (pr->nq && bytes + b > BATCH_BYTES)
			break;
		if (xfer_prepare(p, pr, x, &cfg, &rfds[pr->nq]) < 0) {
			msgf(x->local_err, sizeof x->local_err, "%s", errmsg());
			finish_xfer(p, x, 0, NULL);
			continue;
		}
		bytes += b;
		x->state = XF_RUN;
		x->pr = pr;
		x->late = pr->nq > 0;
		pr->q[pr->nq++] = x;
	}
	if (!pr->nq) {
		sb_free(&cfg);
		return 0;
	}
	sb_adds(&cfg, "fail-early\n");
	r = sb_ok(&cfg) < 0 ? -1 : proc_spawn(p, pr, rfds, &cfg);
	memset(cfg.s, 0, cfg.len);
	sb_free(&cfg);
	for (i = 0; i < pr->nq; i++)
		if (rfds[i] >= 0)
			close(rfds[i]);
	if (r < 0) {
		for (i = 0; i < pr->nq; i++) {
			x = pr->q[i];
			msgf(x->local_err, sizeof x->local_err, "%s", errmsg());
			finish_xfer(p, x, 0, NULL);
		}
		pr->nq = 0;
		pr->pid = 0;
	}
	return 0;
}

/* Both pipes of pr are closed: reap curl and settle what it carried. The
 * request to blame for a stop: the one whose end-of-response line said it
 * failed, else one we stopped it for (a local error: its source, its
 * destination), else the one it was on if that had begun or curl failed.
 * The others go back to the queue, not counting an attempt when one is to
 * blame. */
static void
proc_end(struct s3_pool *p, struct proc *pr)
{
	int st = wait_pid(pr->pid), e = st < 0 ? 1 : wait_status_code(st), i;
	struct xfer *blame = pr->failed;

	pr->pid = 0;
	for (i = pr->cur; !blame && i < pr->nq; i++)
		if (pr->q[i]->state == XF_RUN && pr->q[i]->local_err[0])
			blame = pr->q[i];
	if (!blame && pr->cur < pr->nq && (pr->st != P_HDR || pr->acc.len || e))
		blame = pr->q[pr->cur];
	if (blame && !e && !blame->local_err[0]) {
		msgf(blame->local_err, sizeof blame->local_err,
		    "the response ended early (curl exited 0)");
		blame->garbled = 1;
	}
	if (blame)
		finish_xfer(p, blame, e, &pr->cerr);
	for (i = pr->cur; i < pr->nq; i++)
		if (pr->q[i]->state == XF_RUN)
			requeue(p, pr->q[i], !blame);
	sb_free(&pr->acc);
	sb_free(&pr->cerr);
	pr->nq = pr->cur = 0;
	pr->failed = NULL;
}

/* Start idle processes on the queue, spreading it over them. */
static int
dispatch(struct s3_pool *p)
{
	int idle = 0, queued = 0, i, per;
	int64_t now = now_ms();

	for (i = 0; i < p->nx; i++) {
		struct xfer *x = &p->x[i];
		if (x->state == XF_WAIT && x->restart_at <= now)
			x->state = XF_QUEUED;
		queued += x->state == XF_QUEUED;
	}
	for (i = 0; i < p->np; i++)
		idle += p->pr[i].pid == 0 && p->pr[i].outfd < 0 && p->pr[i].errfd < 0;
	for (i = 0; i < p->np && queued > 0 && idle > 0; i++) {
		struct proc *pr = &p->pr[i];

		if (pr->pid || pr->outfd >= 0 || pr->errfd >= 0)
			continue;
		per = (queued + idle - 1) / idle;
		if (per > p->batch)
			per = p->batch;
		if (proc_start(p, pr, per) < 0)
			return -1;
		queued -= pr->nq;
		idle--;
	}
	return 0;
}

static struct s3_req *
take_done(struct s3_pool *p)
{
	int i;

	for (i = 0; i < p->nx; i++) {
		struct xfer *x = &p->x[i];
		if (x->state == XF_DONE) {
			struct s3_req *r = x->r;

			body_close(x);
			sb_free(&x->mem);
			memset(x, 0, sizeof *x);
			x->bodyw = -1;
			p->used--;
			return r;
		}
	}
	return NULL;
}

/* One poll over every process and body pipe. 0, 2 after a signal, -1. */
static int
pool_round(struct s3_pool *p, int64_t deadline)
{
	int np = 0, i, k, timeout = -1;
	int64_t now = now_ms();

	if (dispatch(p) < 0)
		return -1;
	for (i = 0; i < p->np; i++) {
		struct proc *pr = &p->pr[i];
		if (pr->outfd >= 0) {
			p->pf[np] = (struct pollfd){ pr->outfd, POLLIN, 0 };
			p->who[np++] = pr;
		}
		if (pr->errfd >= 0) {
			p->pf[np] = (struct pollfd){ pr->errfd, POLLIN, 0 };
			p->who[np++] = pr;
		}
		if (pr->pid > 0 && pr->outfd < 0 && pr->errfd < 0) {
			proc_end(p, pr);
			return 0;
		}
	}
	for (i = 0; i < p->nx; i++) {
		struct xfer *x = &p->x[i];
		if (x->state == XF_RUN && x->bodyw >= 0) {
			p->pf[np] = (struct pollfd){ x->bodyw, POLLOUT, 0 };
			p->who[np++] = x;
		}
		if (x->state == XF_WAIT) {
			int64_t w = x->restart_at - now;
			if (w < 0)
				w = 0;
			if (timeout < 0 || w < timeout)
				timeout = (int)w;
		}
	}
	if (!np && timeout < 0)
		return 0;
	if (deadline >= 0 && (timeout < 0 || deadline - now < timeout))
		timeout = deadline > now ? (int)(deadline - now) : 0;
	k = poll(p->pf, (nfds_t)np, timeout);
	if (k < 0 && errno == EINTR)
		return 2;
	if (k < 0)
		return fail_errno("poll");
	for (i = 0; i < np && k > 0; i++) {
		if (!p->pf[i].revents)
			continue;
		if ((void *)p->who[i] >= (void *)p->x && (void *)p->who[i] < (void *)(p->x + p->nx)) {
			struct xfer *x = p->who[i];
			if (x->bodyw == p->pf[i].fd)
				feed_body(x);
		} else {
			struct proc *pr = p->who[i];
			if (p->pf[i].fd == pr->outfd)
				proc_read(p, pr, &pr->outfd);
			else if (p->pf[i].fd == pr->errfd)
				proc_read(p, pr, &pr->errfd);
		}
	}
	return 0;
}

int
s3_pool_wait_for(struct s3_pool *p, struct s3_req **done, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int r;

	*done = NULL;
	while (p->used) {
		if ((*done = take_done(p)))
			return 1;
		if ((r = pool_round(p, deadline)) == 2)
			return 0;       /* a signal: let the caller look at its flags */
		if (r < 0)
			return r;
		if ((*done = take_done(p)))
			return 1;
		if (deadline >= 0 && now_ms() >= deadline)
			return 0;
	}
	return 0;
}

int
s3_pool_wait(struct s3_pool *p, struct s3_req **done)
{
	return s3_pool_wait_for(p, done, -1);
}

void
s3_pool_free(struct s3_pool *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; p->pr && i < p->np; i++) {
		struct proc *pr = &p->pr[i];
		if (pr->pid > 0) {
			kill(-pr->pid, SIGTERM);
			wait_pid(pr->pid);
		}
		if (pr->outfd >= 0)
			close(pr->outfd);
		if (pr->errfd >= 0)
			close(pr->errfd);
		sb_free(&pr->acc);
		sb_free(&pr->cerr);
	}
	for (i = 0; p->x && i < p->nx; i++) {
		body_close(&p->x[i]);
		sb_free(&p->x[i].mem);
	}
	free(p->x);
	free(p->pr);
	free(p->pf);
	free(p->who);
	free(p);
}

int
s3_do(struct s3 *c, struct s3_req *r, struct s3_result *res)
{
	struct s3_pool *p = s3_pool_new(c, 1);
	struct s3_req *done;
	int k;

	memset(res, 0, sizeof *res);
	if (!p)
		return -1;
	if (s3_pool_start(p, r, res) < 0) {
		s3_pool_free(p);
		msgf(res->err, sizeof res->err, "%s", errmsg());
		return -1;
	}
	do
		k = s3_pool_wait(p, &done);
	while (k >= 0 && s3_pool_running(p));
	s3_pool_free(p);
	if (k < 0) {
		msgf(res->err, sizeof res->err, "%s", errmsg());
		return -1;
	}
	if (!res->ok)
		return fail("%s", res->err);
	return 0;
}
