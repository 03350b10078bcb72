/* s3: see s3.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "curlcfg.h"
#include "s3.h"
#include "strbuf.h"
#include "util.h"

#define CONFIG_MAX (16 * 1024)          /* one request's part of a curl config */

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
	if (c->o.retries < 0)
		c->o.retries = conf->max_attempts > 0 ? conf->max_attempts - 1 : 5;
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

static int
cfg_header(struct strbuf *b, const char *name, const char *value)
{
	struct strbuf h = STRBUF_INIT;
	int r;

	sb_addf(&h, "%s: %s", name, value);
	if (sb_ok(&h) < 0)
		return -1;
	sb_adds(b, "header = ");
	r = curlcfg_quote(b, h.s);
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
	struct sigv4_cred cred;
	size_t n = 0, i;

	if (creds_current(c->conf->creds, &cred) < 0)   /* refreshed when expiring */
		return -1;
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
cfg_options(struct s3 *c, struct strbuf *b, const struct s3_req *r, int body_fd,
    const char *token)
{
	if (!strcmp(r->method, "HEAD"))
		sb_adds(b, "head\n");
	else if (body_fd < 0 || strcmp(r->method, "PUT"))
		sb_addf(b, "request = \"%s\"\n", r->method);
	if (body_fd >= 0)
		sb_addf(b, "upload-file = \"/dev/fd/%d\"\n", body_fd);
	sb_adds(b, "include\nsilent\nshow-error\ngloboff\nsuppress-connect-headers\n");
	if (token)
		sb_addf(b, "write-out = \"%s %%{http_code} %%{size_download}\\n\"\n", token);
	cfg_seconds(b, "connect-timeout", c->o.connect_timeout_ms);
	if (c->o.max_time_ms > 0)
		cfg_seconds(b, "max-time", c->o.max_time_ms);
	if (c->o.stall_ms > 0)
		sb_addf(b, "speed-limit = %d\nspeed-time = %lld\n", S3_STALL_RATE,
		    (c->o.stall_ms + 999) / 1000);
}

off_t
s3_req_body_len(const struct s3_req *r)
{
	off_t n = 0;
	size_t i;

	if (!r->nsegs)
		return r->body_fd >= 0 ? r->body_len : (off_t)r->body_mem_len;
	for (i = 0; i < r->nsegs; i++)
		n += (off_t)r->segs[i].len;
	return n;
}

int
s3_req_has_body(const struct s3_req *r)
{
	return r->nsegs || r->body_fd >= 0 || r->body_mem || !strcmp(r->method, "PUT") ||
	    !strcmp(r->method, "POST");
}

char *
s3_curl_config(struct s3 *c, const struct s3_req *r, int body_fd, const char *token)
{
	struct strbuf b = STRBUF_INIT, url = STRBUF_INIT;
	struct sigv4_header h[64];
	struct sigv4_out so;
	const char *hash = r->payload_hash;
	char date[17], *path, mh[SHA256_HEX_LEN + 1];
	off_t body_len = body_fd >= 0 ? s3_req_body_len(r) : 0;
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
		hash = body_len > 0 ? SIGV4_UNSIGNED_PAYLOAD : SIGV4_EMPTY_SHA256;
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
	bad |= curlcfg_quote(&b, url.s);
	sb_addc(&b, '\n');
	for (i = 0; i < nh && !bad; i++)
		bad |= cfg_header(&b, h[i].name, h[i].value);
	bad |= cfg_header(&b, "Authorization", so.authorization);
	sb_adds(&b, "header = \"Expect:\"\n");
	if (body_fd >= 0) {
		/* the body comes from a pipe: curl cannot know its length */
		sb_addf(&b, "header = \"Content-Length: %lld\"\n", (long long)body_len);
		sb_adds(&b, "header = \"Transfer-Encoding:\"\n");
		sb_adds(&b, "header = \"Content-Type: application/octet-stream\"\n");
	}
	cfg_options(c, &b, r, body_fd, token);
	if (c->conf->ca_bundle) {
		sb_adds(&b, "cacert = ");
		bad |= curlcfg_quote(&b, c->conf->ca_bundle);
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
	if (!size || parse_long(size, 0, LLONG_MAX, &o->size, "size") < 0) {
		fail("bad ListObjectsV2 answer: a <Contents> entry without a valid <Size>");
		free(size);
		free(o->key);
		return -1;
	}
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
