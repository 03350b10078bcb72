/* s3: see s3.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "s3.h"
#include "strbuf.h"
#include "util.h"

#define HDR_MAX (64 * 1024)
#define ERRBODY_MAX (64 * 1024)
#define MEM_DEFAULT (64u * 1024 * 1024)
#define CURL_ERR_MAX 4096
#define CONFIG_MAX (60 * 1024)          /* stays below a pipe's buffer */

/* ---- s3:// URLs ------------------------------------------------------ */

static int
bucket_ok(const char *b, size_t n)
{
	size_t i;

	if (n < 3 || n > 63)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = b[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		    ch == '-' || ch == '_' || (ch >= 'A' && ch <= 'Z')))
			return 0;
	}
	return 1;
}

int
s3_url_parse(const char *url, struct s3_url *u)
{
	const char *b, *slash;
	size_t bl, pl;

	memset(u, 0, sizeof *u);
	if (strncmp(url, "s3://", 5))
		return fail("bad S3 URL '%s': want s3://bucket/prefix", url);
	b = url + 5;
	slash = strchr(b, '/');
	bl = slash ? (size_t)(slash - b) : strlen(b);
	if (!bucket_ok(b, bl))
		return fail("bad S3 URL '%s': bucket name must be 3-63 characters of a-z 0-9 . -",
		    url);
	u->bucket = strndup(b, bl);
	b = slash ? slash + 1 : "";
	pl = strlen(b);
	while (pl && b[pl - 1] == '/')
		pl--;
	u->prefix = strndup(b, pl);
	if (!u->bucket || !u->prefix) {
		s3_url_free(u);
		return fail("out of memory");
	}
	return 0;
}

void
s3_url_free(struct s3_url *u)
{
	free(u->bucket);
	free(u->prefix);
	memset(u, 0, sizeof *u);
}

char *
s3_key_join(const char *prefix, const char *rel)
{
	struct strbuf b = STRBUF_INIT;

	if (prefix && *prefix) {
		sb_adds(&b, prefix);
		sb_addc(&b, '/');
	}
	sb_adds(&b, rel);
	return sb_finish(&b);
}

/* ---- client ---------------------------------------------------------- */

static int
dns_safe(const char *b)
{
	size_t n = strlen(b), i;

	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
			return 0;
	return 1;
}

static int
find_curl(struct s3 *c)
{
	const char *e = getenv("FCSNAP_CURL"), *name = c->o.curl;

	if (!name)
		name = e && *e ? e : "curl";
	if (find_exe(name, c->curl, sizeof c->curl) == 0)
		return 0;
	if (strchr(name, '/'))
		return fail("cannot run curl '%s'%s: %s; install curl or point FCSNAP_CURL at it",
		    name, name == e ? " (from FCSNAP_CURL)" : "", strerror(errno));
	return fail("curl not found in PATH: install curl (it carries the S3 transfers) "
	    "or set FCSNAP_CURL to its path");
}

/* Split "http[s]://host[:port][/base]" into c->scheme, host, base. */
static int
parse_endpoint(struct s3 *c, const char *ep)
{
	const char *h, *slash;
	size_t bl;

	if (!strncmp(ep, "https://", 8))
		c->scheme = strdup("https"), h = ep + 8;
	else if (!strncmp(ep, "http://", 7))
		c->scheme = strdup("http"), h = ep + 7;
	else
		return fail("bad S3 endpoint '%s': want http://host[:port] or https://host[:port] "
		    "(AWS_ENDPOINT_URL)", ep);
	slash = strchr(h, '/');
	if (slash == h || !*h)
		return fail("bad S3 endpoint '%s': no host", ep);
	c->host = slash ? strndup(h, (size_t)(slash - h)) : strdup(h);
	bl = slash ? strlen(slash) : 0;
	while (bl && slash[bl - 1] == '/')
		bl--;
	c->base = strndup(slash ? slash : "", bl);
	if (!c->scheme || !c->host || !c->base)
		return fail("out of memory");
	if (strpbrk(c->host, " \t\r\n\"\\@?#"))
		return fail("bad S3 endpoint '%s': bad character in host", ep);
	return 0;
}

static int
addressing(struct s3 *c)
{
	int a = c->o.addressing;
	struct strbuf b = STRBUF_INIT;
	char *h;

	if (a == S3_ADDR_AUTO && c->conf->addressing) {
		if (!strcmp(c->conf->addressing, "path"))
			a = S3_ADDR_PATH;
		else if (!strcmp(c->conf->addressing, "virtual"))
			a = S3_ADDR_VIRTUAL;
	}
	if (a == S3_ADDR_AUTO)
		a = c->conf->endpoint || !dns_safe(c->bucket) ? S3_ADDR_PATH : S3_ADDR_VIRTUAL;
	c->path_style = a == S3_ADDR_PATH;
	if (c->path_style)
		return 0;
	if (!dns_safe(c->bucket) && strchr(c->bucket, '_'))
		return fail("bucket '%s' cannot be addressed virtual-hosted: use path-style",
		    c->bucket);
	sb_addf(&b, "%s.%s", c->bucket, c->host);
	if (!(h = sb_finish(&b)))
		return -1;
	free(c->host);
	c->host = h;
	return 0;
}

int
s3_open(struct s3 *c, const struct awsconf *conf, const char *bucket, const struct s3_opts *o)
{
	static const struct s3_opts def = S3_OPTS_INIT;
	struct strbuf ep = STRBUF_INIT;
	char *aws;
	int r;

	memset(c, 0, sizeof *c);
	c->conf = conf;
	c->o = o ? *o : def;
	if (!bucket_ok(bucket, strlen(bucket)))
		return fail("bad bucket name '%s'", bucket);
	if (!(c->bucket = strdup(bucket)))
		return fail("out of memory");
	if (find_curl(c) < 0)
		goto fail;
	if (conf->endpoint) {
		r = parse_endpoint(c, conf->endpoint);
	} else {
		sb_addf(&ep, "https://s3.%s.amazonaws.com%s", conf->region,
		    !strncmp(conf->region, "cn-", 3) ? ".cn" : "");
		if (!(aws = sb_finish(&ep)))
			goto fail;
		r = parse_endpoint(c, aws);
		free(aws);
	}
	if (r < 0 || addressing(c) < 0)
		goto fail;
	return 0;
fail:
	s3_close(c);
	return -1;
}

void
s3_close(struct s3 *c)
{
	free(c->bucket);
	free(c->scheme);
	free(c->host);
	free(c->base);
	memset(c, 0, sizeof *c);
}

/* ---- request building ------------------------------------------------ */

/* Unencoded request path: [base][/bucket]/key. */
static char *
raw_path(const struct s3 *c, const char *key)
{
	struct strbuf b = STRBUF_INIT;

	sb_adds(&b, c->base);
	if (c->path_style) {
		sb_addc(&b, '/');
		sb_adds(&b, c->bucket);
		if (key && *key) {
			sb_addc(&b, '/');
			sb_adds(&b, key);
		}
	} else {
		sb_addc(&b, '/');
		if (key)
			sb_adds(&b, key);
	}
	return sb_finish(&b);
}

/* A curl-config string: "..." with \ and " escaped. Control characters
 * would end the line (header injection): refused. */
static int
cq(struct strbuf *b, const char *s)
{
	sb_addc(b, '"');
	for (; *s; s++) {
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return fail("control character in an S3 request field");
		if (*s == '"' || *s == '\\')
			sb_addc(b, '\\');
		sb_addc(b, *s);
	}
	sb_addc(b, '"');
	return 0;
}

static int
cfg_header(struct strbuf *b, const char *name, const char *value)
{
	struct strbuf h = STRBUF_INIT;
	int r;

	sb_addf(&h, "%s: %s", name, value);
	if (sb_ok(&h) < 0)
		return -1;
	sb_adds(b, "header = ");
	r = cq(b, h.s);
	sb_addc(b, '\n');
	sb_free(&h);
	return r;
}

static void
cfg_seconds(struct strbuf *b, const char *opt, long long ms)
{
	sb_addf(b, "%s = %lld.%03lld\n", opt, ms / 1000, ms % 1000);
}

/* Signed headers: host, x-amz-content-sha256, x-amz-date, the token, and
 * the caller's. */
static int
sign(struct s3 *c, const struct s3_req *r, const char *path, const char *hash,
    const char *date, struct sigv4_header *h, size_t *nh, struct sigv4_out *so)
{
	struct sigv4_req sr = { r->method, path, r->query, r->nquery, h, 0, hash, 0 };
	struct sigv4_cred cred = { c->conf->access_key, c->conf->secret_key,
	    c->conf->session_token };
	size_t n = 0, i;

	h[n++] = (struct sigv4_header){ "host", c->host };
	h[n++] = (struct sigv4_header){ "x-amz-content-sha256", hash };
	h[n++] = (struct sigv4_header){ "x-amz-date", date };
	if (cred.session_token)
		h[n++] = (struct sigv4_header){ "x-amz-security-token", cred.session_token };
	for (i = 0; i < r->nheaders; i++)
		h[n++] = r->headers[i];
	sr.nheaders = n;
	*nh = n;
	return sigv4_sign(&sr, &cred, c->conf->region, "s3", date, so);
}

static void
cfg_options(struct s3 *c, struct strbuf *b, const struct s3_req *r, int has_body)
{
	if (!strcmp(r->method, "HEAD"))
		sb_adds(b, "head\n");
	else if (!has_body || strcmp(r->method, "PUT"))
		sb_addf(b, "request = \"%s\"\n", r->method);
	if (has_body)
		sb_adds(b, "upload-file = \"/dev/fd/0\"\n");
	sb_adds(b, "include\nsilent\nshow-error\ngloboff\nsuppress-connect-headers\n");
	cfg_seconds(b, "connect-timeout", c->o.connect_timeout_ms);
	if (c->o.max_time_ms > 0)
		cfg_seconds(b, "max-time", c->o.max_time_ms);
	if (c->o.stall_ms > 0)
		sb_addf(b, "speed-limit = 1\nspeed-time = %lld\n",
		    (c->o.stall_ms + 999) / 1000);
}

char *
s3_curl_config(struct s3 *c, const struct s3_req *r, int has_body, off_t body_len)
{
	struct strbuf b = STRBUF_INIT, url = STRBUF_INIT;
	struct sigv4_header h[64];
	struct sigv4_out so;
	const char *hash = r->payload_hash;
	char date[17], *path, mh[SHA256_HEX_LEN + 1];
	size_t nh, i;
	int bad = 0;

	if (r->nheaders > ARRAY_LEN(h) - 4) {
		fail("too many headers");
		return NULL;
	}
	if (!hash && r->body_fd < 0 && r->body_mem) {
		sha256_hex_of(r->body_mem, r->body_mem_len, mh);
		hash = mh;
	}
	if (!hash)
		hash = has_body && body_len > 0 ? SIGV4_UNSIGNED_PAYLOAD : SIGV4_EMPTY_SHA256;
	if (!(path = raw_path(c, r->key)))
		return NULL;
	sigv4_amz_date(time(NULL), date);
	if (sign(c, r, path, hash, date, h, &nh, &so) < 0) {
		free(path);
		return NULL;
	}
	sb_addf(&url, "%s://%s", c->scheme, c->host);
	sigv4_uri_path(&url, path, 0);
	if (r->nquery) {
		sb_addc(&url, '?');
		sigv4_query(&url, r->query, r->nquery);
	}
	free(path);
	if (sb_ok(&url) < 0)
		goto out;
	sb_adds(&b, "url = ");
	bad |= cq(&b, url.s);
	sb_addc(&b, '\n');
	for (i = 0; i < nh && !bad; i++)
		bad |= cfg_header(&b, h[i].name, h[i].value);
	bad |= cfg_header(&b, "Authorization", so.authorization);
	sb_adds(&b, "header = \"Expect:\"\n");
	if (has_body)
		sb_adds(&b, "header = \"Content-Type: application/octet-stream\"\n");
	cfg_options(c, &b, r, has_body);
	if (c->conf->ca_bundle) {
		sb_adds(&b, "cacert = ");
		bad |= cq(&b, c->conf->ca_bundle);
		sb_addc(&b, '\n');
	}
out:
	sigv4_out_free(&so);
	sb_free(&url);
	if (bad) {
		sb_free(&b);
		return NULL;
	}
	if (b.len > CONFIG_MAX) {
		sb_free(&b);
		fail("S3 request too large (key or headers)");
		return NULL;
	}
	return sb_finish(&b);
}

/* ---- one transfer ---------------------------------------------------- */

struct xfer {
	struct s3_req *r;
	pid_t pid;
	int outfd, errfd, bodyfd;
	int in_body;            /* headers parsed */
	int status;
	int killed;             /* we stopped it (local error) */
	int64_t restart_at;     /* ms; 0 = not waiting for a retry */
	struct strbuf hdr, cerr, mem;
	struct sha256 sha;
	char local_err[400];
};

static void
label(const struct s3 *c, const struct s3_req *r, char *out, size_t n)
{
	snprintf(out, n, "%s s3://%s%s%s", r->method, c->bucket, r->key && *r->key ? "/" : "",
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

static int
segs_copy(const struct s3_req *r, int fd, char *buf, size_t bufsz)
{
	size_t i, done;
	ssize_t k;

	for (i = 0; i < r->nsegs; i++) {
		const struct s3_seg *g = &r->segs[i];

		if (g->mem) {
			if (write_all(fd, g->mem, g->len) < 0)
				return fail_errno("memfd write");
			continue;
		}
		for (done = 0; done < g->len; done += (size_t)k) {
			size_t want = g->len - done < bufsz ? g->len - done : bufsz;

			k = pread(g->fd, buf, want, g->off + (off_t)done);
			if (k < 0 && errno == EINTR) {
				k = 0;
				continue;
			}
			if (k <= 0) {
				if (k == 0)
					errno = EIO;
				return fail_errno("reading the upload's source at offset %lld",
				    (long long)(g->off + (off_t)done));
			}
			if (write_all(fd, buf, (size_t)k) < 0)
				return fail_errno("memfd write");
		}
	}
	return 0;
}

/* An fd curl can reopen as /dev/fd/0 with the right size: the file itself
 * when the range is the whole file, else a memfd copy of the range. */
static int
body_fd(const struct s3_req *r)
{
	static char buf[1 << 16];
	struct stat st;
	off_t done = 0;
	ssize_t k;
	int fd;

	if (!r->nsegs && r->body_fd >= 0 && r->body_off == 0 && fstat(r->body_fd, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size == r->body_len)
		return fcntl(r->body_fd, F_DUPFD_CLOEXEC, 3);
	if ((fd = memfd_create("s3-body", MFD_CLOEXEC)) < 0)
		return fail_errno("memfd_create");
	if (r->nsegs) {
		if (segs_copy(r, fd, buf, sizeof buf) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if (r->body_fd < 0) {
		if (r->body_mem_len && write_all(fd, r->body_mem, r->body_mem_len) < 0)
			goto fail;
		return fd;
	}
	while (done < r->body_len) {
		size_t want = sizeof buf;
		if ((off_t)want > r->body_len - done)
			want = (size_t)(r->body_len - done);
		k = pread(r->body_fd, buf, want, r->body_off + done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			close(fd);
			return fail_errno("reading the upload's source at offset %lld",
			    (long long)(r->body_off + done));
		}
		if (write_all(fd, buf, (size_t)k) < 0)
			goto fail;
		done += k;
	}
	return fd;
fail:
	close(fd);
	return fail_errno("memfd write");
}

static int
has_body(const struct s3_req *r)
{
	return r->nsegs || r->body_fd >= 0 || r->body_mem || !strcmp(r->method, "PUT") ||
	    !strcmp(r->method, "POST");
}

static off_t
req_body_len(const struct s3_req *r)
{
	off_t n = 0;
	size_t i;

	if (!r->nsegs)
		return r->body_fd >= 0 ? r->body_len : (off_t)r->body_mem_len;
	for (i = 0; i < r->nsegs; i++)
		n += (off_t)r->segs[i].len;
	return n;
}

static int
config_pipe(const char *cfg)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	if (write_all(p[1], cfg, strlen(cfg)) < 0) {
		close(p[0]);
		close(p[1]);
		return fail_errno("writing curl config");
	}
	close(p[1]);
	return p[0];
}

/* curl's environment: ours without the AWS secrets (it gets what it needs
 * on the config pipe), so not even /proc/PID/environ shows them. */
static char **
curl_env(void)
{
	static const char *drop[] = { "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=",
	    "AWS_SECURITY_TOKEN=", "AWS_ACCESS_KEY_ID=" };
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

/* Start one attempt of x->r. */
static int
xfer_spawn(struct s3 *c, struct xfer *x)
{
	struct spawn_opts so = SPAWN_OPTS_INIT;
	int op[2] = { -1, -1 }, ep[2] = { -1, -1 }, cfd = -1, body = has_body(x->r);
	off_t blen = req_body_len(x->r);
	char *cfg, fdarg[32];
	char *argv[5];

	res_reset(x->r->res);
	x->r->res->attempts++;
	sb_free(&x->hdr);
	sb_free(&x->cerr);
	sb_free(&x->mem);
	x->in_body = x->status = x->killed = 0;
	x->local_err[0] = 0;
	sha256_init(&x->sha);
	if (body && x->bodyfd < 0 && (x->bodyfd = body_fd(x->r)) < 0)
		return -1;
	if (!(cfg = s3_curl_config(c, x->r, body, blen)))
		return -1;
	cfd = config_pipe(cfg);
	memset(cfg, 0, strlen(cfg));
	free(cfg);
	if (cfd < 0)
		return -1;
	if (pipe2(op, O_CLOEXEC) < 0) {
		fail_errno("pipe");
		goto fail;
	}
	if (pipe2(ep, O_CLOEXEC) < 0) {
		fail_errno("pipe");
		close(op[0]);
		close(op[1]);
		op[0] = -1;
		goto fail;
	}
	fcntl(op[0], F_SETPIPE_SZ, 1 << 20);
	snprintf(fdarg, sizeof fdarg, "/dev/fd/%d", cfd);
	argv[0] = c->curl;
	argv[1] = "-q";
	argv[2] = "-K";
	argv[3] = fdarg;
	argv[4] = NULL;
	so.fd_in = body ? x->bodyfd : -2;
	so.fd_out = op[1];
	so.fd_err = ep[1];
	if (!(so.envp = curl_env())) {
		fail("out of memory");
		goto fail;
	}
	fcntl(cfd, F_SETFD, 0);         /* the one fd curl inherits besides 0-2 */
	x->pid = spawn(argv, &so);
	close(cfd);
	close(op[1]);
	close(ep[1]);
	if (x->pid < 0) {
		close(op[0]);
		close(ep[0]);
		return -1;
	}
	x->outfd = op[0];
	x->errfd = ep[0];
	return 0;
fail:
	close(cfd);
	if (op[0] >= 0) {
		close(op[0]);
		close(op[1]);
		close(ep[0]);
		close(ep[1]);
	}
	return -1;
}

static void
xfer_local_error(struct xfer *x, const char *msg)
{
	if (!x->local_err[0])
		snprintf(x->local_err, sizeof x->local_err, "%s", msg);
	if (!x->killed && x->pid > 0) {
		kill(x->pid, SIGTERM);
		x->killed = 1;
	}
}

static void
parse_header_line(struct xfer *x, char *line)
{
	struct s3_result *res = x->r->res;
	char *v = strchr(line, ':'), *e;

	if (!v)
		return;
	*v++ = 0;
	while (*v == ' ' || *v == '\t')
		v++;
	e = v + strlen(v);
	while (e > v && (e[-1] == '\r' || e[-1] == ' '))
		*--e = 0;
	if (!strcasecmp(line, "content-length"))
		res->content_length = strtoll(v, NULL, 10);
	else if (!strcasecmp(line, "etag"))
		snprintf(res->etag, sizeof res->etag, "%.*s",
		    (int)(strlen(v) >= 2 && v[0] == '"' ? strlen(v) - 2 : strlen(v)),
		    v[0] == '"' ? v + 1 : v);
}

/* A complete header block in x->hdr: status and headers. Returns 1 for a
 * final response, 0 for an interim (1xx) one. */
static int
parse_headers(struct xfer *x)
{
	char *s = x->hdr.s, *line, *next, *sp;

	sp = strchr(s, ' ');
	x->status = sp && !strncmp(s, "HTTP/", 5) ? atoi(sp + 1) : 0;
	if (x->status >= 100 && x->status < 200)
		return 0;
	x->r->res->http_status = x->status;
	line = strchr(s, '\n');
	for (line = line ? line + 1 : NULL; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		parse_header_line(x, line);
	}
	return 1;
}

static void
body_bytes(struct xfer *x, const char *p, size_t n)
{
	struct s3_req *r = x->r;
	struct s3_result *res = r->res;
	int good = x->status >= 200 && x->status < 300;
	size_t cap = good ? (r->mem_max ? r->mem_max : MEM_DEFAULT) : ERRBODY_MAX;

	if (x->local_err[0])
		return;
	if (good && r->hash_body)
		sha256_update(&x->sha, p, n);
	if (good && r->out_fd >= 0) {
		while (n) {
			ssize_t k = pwrite(r->out_fd, p, n, r->out_off + res->out_bytes);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				char m[300];
				snprintf(m, sizeof m, "writing the download at offset %lld: %s",
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
		if (good) {
			xfer_local_error(x, "response body larger than expected");
			return;
		}
		n = cap - x->mem.len;
	}
	sb_add(&x->mem, p, n);
	if (x->mem.oom)
		xfer_local_error(x, "out of memory");
}

static void
feed(struct xfer *x, const char *p, size_t n)
{
	char *end;
	size_t hl, rest;

	while (n && !x->in_body) {
		sb_add(&x->hdr, p, n);
		if (x->hdr.oom) {
			xfer_local_error(x, "out of memory");
			return;
		}
		end = memmem(x->hdr.s, x->hdr.len, "\r\n\r\n", 4);
		hl = end ? (size_t)(end - x->hdr.s) + 4 : 0;
		if (!end && (end = memmem(x->hdr.s, x->hdr.len, "\n\n", 2)))
			hl = (size_t)(end - x->hdr.s) + 2;
		if (!end) {
			if (x->hdr.len > HDR_MAX)
				xfer_local_error(x, "response headers too large");
			return;
		}
		rest = x->hdr.len - hl;
		p += n - rest;
		n = rest;
		x->hdr.s[hl] = 0;
		x->in_body = parse_headers(x);
		sb_free(&x->hdr);
	}
	if (n)
		body_bytes(x, p, n);
}

/* Read what is there on fd; returns 0 at EOF (fd closed), 1 otherwise. */
static int
drain(struct xfer *x, int *fd, int is_out)
{
	static char buf[1 << 18];
	ssize_t k = read(*fd, buf, sizeof buf);

	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (k <= 0) {
		close(*fd);
		*fd = -1;
		return 0;
	}
	if (is_out)
		feed(x, buf, (size_t)k);
	else if (x->cerr.len < CURL_ERR_MAX)
		sb_add(&x->cerr, buf, (size_t)k);
	return 1;
}

/* ---- classification -------------------------------------------------- */

/* snprintf for messages: truncation is acceptable there. */
static void __attribute__((format(printf, 3, 4)))
msgf(char *out, size_t n, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(out, n, f, ap);
	va_end(ap);
}

static int
transient_curl(int e)
{
	switch (e) {
	case 7: case 16: case 18: case 28: case 52: case 55: case 56: case 92:
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
curl_said(struct xfer *x)
{
	char *s, *nl;

	if (!x->cerr.s)
		return "";
	s = x->cerr.s;
	while (x->cerr.len && (s[x->cerr.len - 1] == '\n' || s[x->cerr.len - 1] == '\r'))
		s[--x->cerr.len] = 0;
	while ((nl = strrchr(s, '\n')) && nl[1] == 0)
		*nl = 0;
	if ((nl = strrchr(s, '\n')))
		s = nl + 1;
	if (!strncmp(s, "curl: (", 7) && (nl = strstr(s, ") ")))
		s = nl + 2;
	return s;
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
curl_error(struct s3 *c, struct xfer *x, int e, const char *what, char *out, size_t n)
{
	const char *said = curl_said(x);
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
	else if (e == 52 || e == 56 || e == 55)
		msgf(out, n, "%s: connection to %s was reset: %s", what, host, said);
	else if (e >= 128)
		msgf(out, n, "%s: curl was killed by signal %d", what, e - 128);
	else
		msgf(out, n, "%s: curl failed (exit %d): %s", what, e, *said ? said : "no message");
}

static void
http_error(struct s3 *c, struct xfer *x, const char *code, const char *msg,
    const char *what, char *out, size_t n)
{
	const char *ak = c->conf->access_key;
	int st = x->status;

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

/* Set res (ok, message); returns 1 when the failure is worth a retry. */
static int
classify(struct s3 *c, struct xfer *x, int wst)
{
	struct s3_result *res = x->r->res;
	char what[300], *code = NULL, *msg = NULL;
	int e = wait_status_code(wst), tr = 0;

	label(c, x->r, what, sizeof what);
	res->curl_exit = e;
	res->body_len = x->mem.len;
	res->body = x->mem.s;
	x->mem = (struct strbuf)STRBUF_INIT;
	if (x->local_err[0]) {
		msgf(res->err, sizeof res->err, "%s: %s", what, x->local_err);
		return 0;
	}
	if (e != 0) {
		curl_error(c, x, e, what, res->err, sizeof res->err);
		return transient_curl(e);
	}
	if (!x->in_body && x->status == 0) {
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
	}
	res->not_found = x->status == 404 && (!code || !strcmp(code, "NoSuchKey"));
	http_error(c, x, code, msg, what, res->err, sizeof res->err);
	tr = x->status >= 500 || x->status == 429 || transient_code(code);
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

/* ---- the pool -------------------------------------------------------- */

struct s3_pool {
	struct s3 *c;
	struct xfer *x;
	int n, used;
	unsigned seed;          /* backoff jitter */
};

struct s3_pool *
s3_pool_new(struct s3 *c, int max_parallel)
{
	struct s3_pool *p;
	int i;

	if (max_parallel < 1)
		max_parallel = 1;
	if (max_parallel > 64)
		max_parallel = 64;
	if (!(p = calloc(1, sizeof *p)) || !(p->x = calloc((size_t)max_parallel, sizeof *p->x))) {
		free(p);
		fail("out of memory");
		return NULL;
	}
	p->c = c;
	p->n = max_parallel;
	for (i = 0; i < p->n; i++)
		p->x[i].outfd = p->x[i].errfd = p->x[i].bodyfd = -1;
	p->seed = (unsigned)(now_ns() ^ getpid());
	return p;
}

int
s3_pool_slots(const struct s3_pool *p)
{
	return p->n - p->used;
}

int
s3_pool_capacity(const struct s3_pool *p)
{
	return p->n;
}

int
s3_pool_running(const struct s3_pool *p)
{
	return p->used;
}

static void
xfer_clear(struct xfer *x)
{
	if (x->outfd >= 0)
		close(x->outfd);
	if (x->errfd >= 0)
		close(x->errfd);
	if (x->bodyfd >= 0)
		close(x->bodyfd);
	sb_free(&x->hdr);
	sb_free(&x->cerr);
	sb_free(&x->mem);
	memset(x, 0, sizeof *x);
	x->outfd = x->errfd = x->bodyfd = -1;
}

int
s3_pool_start(struct s3_pool *p, struct s3_req *r, struct s3_result *res)
{
	struct xfer *x = NULL;
	int i;

	for (i = 0; i < p->n && !x; i++)
		if (!p->x[i].r)
			x = &p->x[i];
	if (!x)
		return fail("s3: no free transfer slot");
	memset(res, 0, sizeof *res);
	r->res = res;
	x->r = r;
	if (xfer_spawn(p->c, x) < 0) {
		xfer_clear(x);
		return -1;
	}
	p->used++;
	return 0;
}

/* The attempt in x ended (both pipes closed): reap, classify, and either
 * schedule a retry (returns 0) or finish (returns 1). */
static int
xfer_end(struct s3_pool *p, struct xfer *x)
{
	int st = wait_pid(x->pid), retry;

	x->pid = 0;
	retry = classify(p->c, x, st < 0 ? 1 << 8 : st);
	if (retry && x->r->res->attempts <= p->c->o.retries) {
		x->restart_at = now_ms() + backoff(p->c, x->r->res->attempts, &p->seed);
		return 0;
	}
	return 1;
}

static int
xfer_restart(struct s3_pool *p, struct xfer *x)
{
	char keep[sizeof x->r->res->err];

	x->restart_at = 0;
	snprintf(keep, sizeof keep, "%s", x->r->res->err);
	if (xfer_spawn(p->c, x) == 0)
		return 0;
	msgf(x->r->res->err, sizeof x->r->res->err, "%s (retry failed: %s)", keep, errmsg());
	return 1;
}

static struct s3_req *
finish(struct s3_pool *p, struct xfer *x)
{
	struct s3_req *r = x->r;

	xfer_clear(x);
	p->used--;
	return r;
}

/* One round of poll over every running attempt; returns a finished request
 * or NULL. */
static int
pool_round(struct s3_pool *p, struct s3_req **done, int64_t deadline)
{
	struct pollfd pf[2 * 64];
	struct xfer *who[2 * 64];
	int np = 0, i, timeout = -1, k;
	int64_t now = now_ms();

	for (i = 0; i < p->n; i++) {
		struct xfer *x = &p->x[i];
		if (!x->r)
			continue;
		if (x->restart_at) {
			if (x->restart_at <= now) {
				if (xfer_restart(p, x)) {
					*done = finish(p, x);
					return 1;
				}
			} else if (timeout < 0 || x->restart_at - now < timeout) {
				timeout = (int)(x->restart_at - now);
			}
			continue;
		}
		if (x->outfd >= 0 && np < (int)ARRAY_LEN(pf)) {
			pf[np] = (struct pollfd){ x->outfd, POLLIN, 0 };
			who[np++] = x;
		}
		if (x->errfd >= 0 && np < (int)ARRAY_LEN(pf)) {
			pf[np] = (struct pollfd){ x->errfd, POLLIN, 0 };
			who[np++] = x;
		}
		if (x->outfd < 0 && x->errfd < 0 && xfer_end(p, x)) {
			*done = finish(p, x);
			return 1;
		}
	}
	if (!np && timeout < 0)
		return 0;
	if (deadline >= 0 && (timeout < 0 || deadline - now < timeout))
		timeout = deadline > now ? (int)(deadline - now) : 0;
	k = poll(pf, (nfds_t)np, timeout);
	if (k < 0 && errno == EINTR)
		return 2;
	if (k < 0)
		return fail_errno("poll");
	for (i = 0; i < np && k > 0; i++) {
		if (!pf[i].revents)
			continue;
		if (pf[i].fd == who[i]->outfd)
			drain(who[i], &who[i]->outfd, 1);
		else if (pf[i].fd == who[i]->errfd)
			drain(who[i], &who[i]->errfd, 0);
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
		if ((r = pool_round(p, done, deadline)) == 2)
			return 0;       /* a signal: let the caller look at its flags */
		if (r != 0)
			return r;
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
	for (i = 0; i < p->n; i++) {
		if (p->x[i].pid > 0) {
			kill(p->x[i].pid, SIGTERM);
			wait_pid(p->x[i].pid);
		}
		xfer_clear(&p->x[i]);
	}
	free(p->x);
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
	while (k == 0 && s3_pool_running(p));
	s3_pool_free(p);
	if (k < 0) {
		msgf(res->err, sizeof res->err, "%s", errmsg());
		return -1;
	}
	if (!res->ok)
		return fail("%s", res->err);
	return 0;
}

/* ---- helpers --------------------------------------------------------- */

static int
simple(struct s3 *c, struct s3_req *r, struct s3_result *res)
{
	if (s3_do(c, r, res) == 0)
		return 0;
	return res->not_found ? 1 : -1;
}

int
s3_put_mem(struct s3 *c, const char *key, const void *buf, size_t n)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	char hx[SHA256_HEX_LEN + 1];
	int k;

	sha256_hex_of(buf, n, hx);
	r.method = "PUT";
	r.key = key;
	r.body_mem = buf ? buf : "";
	r.body_mem_len = n;
	r.payload_hash = hx;
	k = simple(c, &r, &res);
	s3_result_free(&res);
	return k < 0 ? -1 : k;
}

int
s3_put_file(struct s3 *c, const char *key, int fd, off_t off, off_t len, const char *sha256hex)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	r.method = "PUT";
	r.key = key;
	r.body_fd = fd;
	r.body_off = off;
	r.body_len = len;
	r.payload_hash = sha256hex;
	k = simple(c, &r, &res);
	s3_result_free(&res);
	return k < 0 ? -1 : k;
}

int
s3_get_fd(struct s3 *c, const char *key, int fd, off_t off, off_t *n, unsigned char sha[SHA256_LEN])
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	r.key = key;
	r.out_fd = fd;
	r.out_off = off;
	r.hash_body = sha != NULL;
	k = simple(c, &r, &res);
	if (k == 0) {
		if (n)
			*n = res.out_bytes;
		if (sha)
			memcpy(sha, res.sha256, SHA256_LEN);
	}
	s3_result_free(&res);
	return k;
}

int
s3_get_mem(struct s3 *c, const char *key, size_t max, char **buf, size_t *n)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	*buf = NULL;
	r.key = key;
	r.mem_max = max;
	k = simple(c, &r, &res);
	if (k == 0) {
		if (!res.body && !(res.body = calloc(1, 1))) {
			s3_result_free(&res);
			return fail("out of memory");
		}
		*buf = res.body;
		if (n)
			*n = res.body_len;
		res.body = NULL;
	}
	s3_result_free(&res);
	return k;
}

int
s3_head(struct s3 *c, const char *key, long long *size)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	r.method = "HEAD";
	r.key = key;
	k = simple(c, &r, &res);
	if (k == 0 && size)
		*size = res.content_length;
	s3_result_free(&res);
	return k;
}

int
s3_delete(struct s3 *c, const char *key)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	r.method = "DELETE";
	r.key = key;
	k = simple(c, &r, &res);
	s3_result_free(&res);
	return k < 0 ? -1 : 0;
}

/* ---- XML ------------------------------------------------------------- */

static void
utf8(struct strbuf *b, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		sb_addc(b, (char)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3f));
		sb_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		sb_add(b, u, 3);
	} else if (cp < 0x110000) {
		u[0] = (char)(0xf0 | cp >> 18); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f));
		sb_add(b, u, 4);
	}
}

/* Decode one entity at s (after '&'), up to e; returns bytes consumed
 * after the '&', or 0 when it is not an entity we know. */
static size_t
entity(struct strbuf *b, const char *s, const char *e)
{
	static const struct { const char *name; char ch; } ents[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	const char *semi = memchr(s, ';', (size_t)(e - s));
	unsigned long cp;
	char *end;
	size_t i;

	if (!semi || semi - s > 10)
		return 0;
	for (i = 0; i < ARRAY_LEN(ents); i++) {
		size_t l = strlen(ents[i].name);
		if ((size_t)(semi - s + 1) == l && !memcmp(s, ents[i].name, l)) {
			sb_addc(b, ents[i].ch);
			return l;
		}
	}
	if (*s != '#')
		return 0;
	if (s[1] == 'x' || s[1] == 'X')
		cp = strtoul(s + 2, &end, 16);
	else
		cp = strtoul(s + 1, &end, 10);
	if (end != semi || cp == 0 || cp >= 0x110000)
		return 0;
	utf8(b, cp);
	return (size_t)(semi - s) + 1;
}

static char *
xml_decode(const char *s, size_t n)
{
	struct strbuf b = STRBUF_INIT;
	const char *e = s + n;
	size_t k;

	while (s < e) {
		if (*s == '&' && (k = entity(&b, s + 1, e)) > 0) {
			s += k + 1;
			continue;
		}
		sb_addc(&b, *s++);
	}
	return sb_finish(&b);
}

/* Locate the content of the first <tag>..</tag> in [xml, xml+n). */
static const char *
xml_find(const char *xml, size_t n, const char *tag, size_t *len)
{
	char open[80], close_[80];
	const char *s, *e;
	int ol, cl;

	ol = snprintf(open, sizeof open, "<%s>", tag);
	cl = snprintf(close_, sizeof close_, "</%s>", tag);
	if (ol >= (int)sizeof open || cl >= (int)sizeof close_)
		return NULL;
	if (!(s = memmem(xml, n, open, (size_t)ol))) {
		snprintf(open, sizeof open, "<%s/>", tag);
		if ((s = memmem(xml, n, open, strlen(open)))) {
			*len = 0;
			return s;
		}
		return NULL;
	}
	s += ol;
	if (!(e = memmem(s, n - (size_t)(s - xml), close_, (size_t)cl)))
		return NULL;
	*len = (size_t)(e - s);
	return s;
}

char *
s3_xml_text(const char *xml, size_t n, const char *tag)
{
	size_t len;
	const char *s = xml_find(xml, n, tag, &len);

	return s ? xml_decode(s, len) : NULL;
}

static int
list_add_obj(struct s3_list *l, const char *blk, size_t n)
{
	struct s3_obj *o;
	char *size;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		if (!(o = realloc(l->objs, cap * sizeof *o)))
			return fail("out of memory");
		l->objs = o;
		l->cap = cap;
	}
	o = &l->objs[l->n];
	if (!(o->key = s3_xml_text(blk, n, "Key")))
		return fail("bad ListObjectsV2 answer: <Contents> without <Key>");
	size = s3_xml_text(blk, n, "Size");
	o->size = size ? strtoll(size, NULL, 10) : -1;
	free(size);
	o->etag = s3_xml_text(blk, n, "ETag");
	l->n++;
	return 0;
}

static int
list_add_prefix(struct s3_list *l, const char *blk, size_t n)
{
	char **p;

	if (l->nprefixes == l->capprefixes) {
		size_t cap = l->capprefixes ? 2 * l->capprefixes : 16;
		if (!(p = realloc(l->prefixes, cap * sizeof *p)))
			return fail("out of memory");
		l->prefixes = p;
		l->capprefixes = cap;
	}
	if (!(l->prefixes[l->nprefixes] = s3_xml_text(blk, n, "Prefix")))
		return fail("bad ListObjectsV2 answer: <CommonPrefixes> without <Prefix>");
	l->nprefixes++;
	return 0;
}

/* Call add for each <tag> block in the document. */
static int
each_block(const char *xml, size_t n, const char *tag, struct s3_list *l,
    int (*add)(struct s3_list *, const char *, size_t))
{
	const char *p = xml, *blk;
	size_t len;

	while (p < xml + n && (blk = xml_find(p, n - (size_t)(p - xml), tag, &len))) {
		if (add(l, blk, len) < 0)
			return -1;
		p = blk + len;
	}
	return 0;
}

int
s3_list_parse(const char *xml, size_t n, struct s3_list *l, int *truncated, char **next)
{
	char *t;

	*next = NULL;
	*truncated = 0;
	if (!memmem(xml, n, "<ListBucketResult", 17))
		return fail("bad ListObjectsV2 answer: no <ListBucketResult>");
	if (each_block(xml, n, "Contents", l, list_add_obj) < 0 ||
	    each_block(xml, n, "CommonPrefixes", l, list_add_prefix) < 0)
		return -1;
	if ((t = s3_xml_text(xml, n, "IsTruncated"))) {
		*truncated = !strcmp(t, "true");
		free(t);
	}
	*next = s3_xml_text(xml, n, "NextContinuationToken");
	if (*truncated && !*next)
		return fail("bad ListObjectsV2 answer: truncated without NextContinuationToken");
	return 0;
}

int
s3_list(struct s3 *c, const char *prefix, const char *delimiter, int max_keys, struct s3_list *out)
{
	struct sigv4_param q[5];
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	char mk[16], *token = NULL;
	int truncated = 1, rc = 0;
	size_t nq;

	memset(out, 0, sizeof *out);
	snprintf(mk, sizeof mk, "%d", max_keys);
	while (truncated && rc == 0) {
		nq = 0;
		q[nq++] = (struct sigv4_param){ "list-type", "2" };
		if (prefix && *prefix)
			q[nq++] = (struct sigv4_param){ "prefix", prefix };
		if (delimiter)
			q[nq++] = (struct sigv4_param){ "delimiter", delimiter };
		if (max_keys > 0)
			q[nq++] = (struct sigv4_param){ "max-keys", mk };
		if (token)
			q[nq++] = (struct sigv4_param){ "continuation-token", token };
		r.query = q;
		r.nquery = nq;
		rc = s3_do(c, &r, &res) < 0 ? -1 : 0;
		free(token);
		token = NULL;
		if (rc == 0)
			rc = s3_list_parse(res.body ? res.body : "", res.body_len, out, &truncated, &token);
		s3_result_free(&res);
	}
	free(token);
	if (rc < 0)
		s3_list_free(out);
	return rc;
}

void
s3_list_free(struct s3_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->objs[i].key);
		free(l->objs[i].etag);
	}
	for (i = 0; i < l->nprefixes; i++)
		free(l->prefixes[i]);
	free(l->objs);
	free(l->prefixes);
	memset(l, 0, sizeof *l);
}
