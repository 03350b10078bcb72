/* sigv4: see sigv4.h. */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "sigv4.h"
#include "util.h"

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

static void
encode_n(struct strbuf *b, const char *s, size_t n, int keep_slash)
{
	static const char hx[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			sb_addc(b, (char)c);
		} else {
			char e[3] = { '%', hx[c >> 4], hx[c & 15] };
			sb_add(b, e, 3);
		}
	}
}

void
sigv4_encode(struct strbuf *b, const char *s, int keep_slash)
{
	encode_n(b, s, strlen(s), keep_slash);
}

/* Segment [s, s+n) encoded once, or twice with SIGV4_DOUBLE_ENCODE. */
static void
encode_segment(struct strbuf *b, const char *s, size_t n, int flags)
{
	struct strbuf t = STRBUF_INIT;

	if (!(flags & SIGV4_DOUBLE_ENCODE)) {
		encode_n(b, s, n, 0);
		return;
	}
	encode_n(&t, s, n, 0);
	if (t.oom)
		b->oom = 1;
	else if (t.s)
		encode_n(b, t.s, t.len, 0);
	sb_free(&t);
}

/* Generic-service path: dot segments removed, empty segments dropped, a
 * trailing slash kept. */
static void
normalized_path(struct strbuf *b, const char *path, int flags)
{
	const char *seg[256], *p = path, *e;
	size_t len[256], n = 0, i, l;
	int trailing = 0;

	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		l = e ? (size_t)(e - p) : strlen(p);
		trailing = e != NULL;
		if (l == 1 && p[0] == '.') {
			/* nothing */
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (n)
				n--;
		} else if (n < ARRAY_LEN(seg)) {
			seg[n] = p;
			len[n++] = l;
		} else {
			b->oom = 1;     /* absurd depth: refuse rather than mis-sign */
			return;
		}
		p += l;
	}
	sb_addc(b, '/');
	for (i = 0; i < n; i++) {
		if (i)
			sb_addc(b, '/');
		encode_segment(b, seg[i], len[i], flags);
	}
	if (n && trailing)
		sb_addc(b, '/');
}

void
sigv4_uri_path(struct strbuf *b, const char *path, int flags)
{
	const char *p = path, *e;

	if (!*path) {
		sb_addc(b, '/');
		return;
	}
	if (flags & SIGV4_NORMALIZE) {
		normalized_path(b, path, flags);
		return;
	}
	for (;;) {
		e = strchr(p, '/');
		encode_segment(b, p, e ? (size_t)(e - p) : strlen(p), flags);
		if (!e)
			break;
		sb_addc(b, '/');
		p = e + 1;
	}
}

struct qent {
	char *k, *v;
};

static int
qcmp(const void *a, const void *b)
{
	const struct qent *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

static char *
encoded(const char *s)
{
	struct strbuf t = STRBUF_INIT;

	sigv4_encode(&t, s ? s : "", 0);
	return sb_finish(&t);
}

void
sigv4_query(struct strbuf *b, const struct sigv4_param *q, size_t n)
{
	struct qent *e;
	size_t i;

	if (!n)
		return;
	if (!(e = calloc(n, sizeof *e))) {
		b->oom = 1;
		return;
	}
	for (i = 0; i < n; i++) {
		e[i].k = encoded(q[i].key);
		e[i].v = encoded(q[i].value);
		if (!e[i].k || !e[i].v) {
			b->oom = 1;
			goto out;
		}
	}
	qsort(e, n, sizeof *e, qcmp);
	for (i = 0; i < n; i++) {
		if (i)
			sb_addc(b, '&');
		sb_adds(b, e[i].k);
		sb_addc(b, '=');
		sb_adds(b, e[i].v);
	}
out:
	for (i = 0; i < n; i++) {
		free(e[i].k);
		free(e[i].v);
	}
	free(e);
}

struct hent {
	char *name;             /* lower-case */
	char *value;            /* trimmed, spaces folded */
	size_t idx;
};

static int
hcmp(const void *a, const void *b)
{
	const struct hent *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
header_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == ':' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static char *
lower_dup(const char *s)
{
	char *d = strdup(s), *p;

	if (d)
		for (p = d; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	return d;
}

/* Value with leading/trailing blanks removed and inner runs of blanks
 * folded into one space. */
static char *
trim_dup(const char *s)
{
	char *d = malloc(strlen(s) + 1), *o = d;
	int sp = 0;

	if (!d)
		return NULL;
	while (*s == ' ' || *s == '\t')
		s++;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\t') {
			sp = 1;
			continue;
		}
		if (sp && o != d)
			*o++ = ' ';
		sp = 0;
		*o++ = *s;
	}
	*o = 0;
	return d;
}

static void
free_hents(struct hent *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

/* Append canonical headers (each "name:value\n") to c, signed list to s. */
static int
canonical_headers(const struct sigv4_req *r, struct strbuf *c, struct strbuf *s)
{
	struct hent *h;
	size_t i;

	if (!r->nheaders)
		return fail("sigv4: no headers to sign (host is required)");
	if (!(h = calloc(r->nheaders, sizeof *h)))
		return fail("out of memory");
	for (i = 0; i < r->nheaders; i++) {
		if (!header_name_ok(r->headers[i].name)) {
			free_hents(h, r->nheaders);
			return fail("sigv4: bad header name '%s'", r->headers[i].name);
		}
		h[i].name = lower_dup(r->headers[i].name);
		h[i].value = trim_dup(r->headers[i].value ? r->headers[i].value : "");
		h[i].idx = i;
		if (!h[i].name || !h[i].value) {
			free_hents(h, r->nheaders);
			return fail("out of memory");
		}
	}
	qsort(h, r->nheaders, sizeof *h, hcmp);
	for (i = 0; i < r->nheaders; i++) {
		if (i && !strcmp(h[i].name, h[i - 1].name)) {
			sb_addc(c, ',');
			sb_adds(c, h[i].value);
			continue;
		}
		if (i) {
			sb_addc(c, '\n');
			sb_addc(s, ';');
		}
		sb_adds(c, h[i].name);
		sb_addc(c, ':');
		sb_adds(c, h[i].value);
		sb_adds(s, h[i].name);
	}
	sb_addc(c, '\n');
	free_hents(h, r->nheaders);
	return 0;
}

static void
hmac(const void *k, size_t kl, const char *msg, unsigned char out[SHA256_LEN])
{
	hmac_sha256(k, kl, msg, strlen(msg), out);
}

void
sigv4_out_free(struct sigv4_out *o)
{
	free(o->canonical_request);
	free(o->string_to_sign);
	free(o->signed_headers);
	free(o->authorization);
	memset(o, 0, sizeof *o);
}

int
sigv4_sign(const struct sigv4_req *r, const struct sigv4_cred *cr,
    const char *region, const char *service, const char *amz_date,
    struct sigv4_out *o)
{
	struct strbuf c = STRBUF_INIT, sh = STRBUF_INIT, sts = STRBUF_INIT, au = STRBUF_INIT;
	unsigned char k[SHA256_LEN], sig[SHA256_LEN];
	char day[9], hx[SHA256_HEX_LEN + 1];
	struct strbuf key = STRBUF_INIT;

	memset(o, 0, sizeof *o);
	if (strlen(amz_date) != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z')
		return fail("sigv4: bad date '%s' (want YYYYMMDDTHHMMSSZ)", amz_date);
	memcpy(day, amz_date, 8);
	day[8] = 0;
	sb_adds(&c, r->method);
	sb_addc(&c, '\n');
	sigv4_uri_path(&c, r->path, r->flags);
	sb_addc(&c, '\n');
	sigv4_query(&c, r->query, r->nquery);
	sb_addc(&c, '\n');
	if (canonical_headers(r, &c, &sh) < 0)
		goto fail;
	sb_addc(&c, '\n');
	sb_add(&c, sh.s ? sh.s : "", sh.len);
	sb_addc(&c, '\n');
	sb_adds(&c, r->payload_hash ? r->payload_hash : SIGV4_UNSIGNED_PAYLOAD);
	if (sb_ok(&c) < 0 || sb_ok(&sh) < 0)
		goto fail;

	sha256_hex_of(c.s, c.len, hx);
	sb_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
	    amz_date, day, region, service, hx);

	sb_addf(&key, "AWS4%s", cr->secret_key);
	if (sb_ok(&key) < 0 || sb_ok(&sts) < 0)
		goto fail;
	hmac(key.s, key.len, day, k);
	hmac(k, sizeof k, region, k);
	hmac(k, sizeof k, service, k);
	hmac(k, sizeof k, "aws4_request", k);
	hmac(k, sizeof k, sts.s, sig);
	memset(k, 0, sizeof k);
	memset(key.s, 0, key.len);
	sb_free(&key);
	sha256_hex(sig, o->signature);

	sb_addf(&au, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
	    "SignedHeaders=%s, Signature=%s", cr->access_key, day, region, service,
	    sh.s, o->signature);
	o->canonical_request = sb_finish(&c);
	o->string_to_sign = sb_finish(&sts);
	o->signed_headers = sb_finish(&sh);
	o->authorization = sb_finish(&au);
	if (!o->canonical_request || !o->string_to_sign || !o->signed_headers || !o->authorization) {
		sigv4_out_free(o);
		return fail("out of memory");
	}
	return 0;
fail:
	if (key.s)
		memset(key.s, 0, key.len);
	sb_free(&key);
	sb_free(&c);
	sb_free(&sh);
	sb_free(&sts);
	sb_free(&au);
	return -1;
}

void
sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
