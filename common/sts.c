/* sts: see sts.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awshttp.h"
#include "s3.h"
#include "sha256.h"
#include "sigv4.h"
#include "sts.h"
#include "util.h"

#define ANSWER_MAX  65536
#define WEBID_MAX   32768

static const char *
action_of(const struct creds *c)
{
	return c->kind == CREDS_ASSUME_ROLE ? "AssumeRole" : "AssumeRoleWithWebIdentity";
}

/* The web identity token file's content, blanks at the ends removed. */
static char *
web_token(const struct creds *c)
{
	size_t n, i = 0;
	char *s;

	if (!(s = read_file(c->token_file, WEBID_MAX, &n))) {
		fail("web identity token file: %s", errmsg());
		return NULL;
	}
	while (n && (unsigned char)s[n - 1] <= ' ')
		s[--n] = 0;
	while (i < n && (unsigned char)s[i] <= ' ')
		i++;
	memmove(s, s + i, n - i + 1);
	if (!*s || strlen(s) != n - i) {
		free(s);
		fail("web identity token file %s is empty or holds a NUL byte", c->token_file);
		return NULL;
	}
	return s;
}

static char *
form(const struct creds *c, const char *token)
{
	struct sigv4_param q[6];
	struct strbuf b = STRBUF_INIT;
	char dur[32];
	size_t n = 0;

	q[n++] = (struct sigv4_param){ "Action", action_of(c) };
	q[n++] = (struct sigv4_param){ "Version", "2011-06-15" };
	q[n++] = (struct sigv4_param){ "RoleArn", c->role_arn };
	q[n++] = (struct sigv4_param){ "RoleSessionName", c->session_name };
	if (token)
		q[n++] = (struct sigv4_param){ "WebIdentityToken", token };
	else if (c->external_id)
		q[n++] = (struct sigv4_param){ "ExternalId", c->external_id };
	if (c->duration_s > 0) {
		snprintf(dur, sizeof dur, "%lld", c->duration_s);
		q[n++] = (struct sigv4_param){ "DurationSeconds", dur };
	}
	sigv4_query(&b, q, n);
	return sb_finish(&b);
}

/* "https://host:port/base" -> "host:port" and "/base/" */
static int
split_url(const struct creds *c, char *host, size_t hn, char *path, size_t pn)
{
	const char *h, *rest;
	size_t hl, al;
	int https;

	if (awshttp_url_host(c->url, "STS endpoint", &https, &h, &hl) < 0)
		return -1;
	al = strcspn(h, "/?#");
	rest = h + al;
	if (*rest && *rest != '/')
		return fail("STS endpoint '%s': no query or fragment, please", c->url);
	if (fmt(host, hn, "%.*s", (int)al, h) < 0 ||
	    fmt(path, pn, "%s%s", *rest ? rest : "/", *rest && rest[strlen(rest) - 1] != '/' ? "/" : "") < 0)
		return -1;
	return 0;
}

struct signed_hdrs {
	struct awshttp_hdr h[5];
	size_t n;
	struct sigv4_out so;
	char date[17];
};

static int
sign(struct creds *c, const char *host, const char *path, const char *body,
    struct signed_hdrs *s)
{
	struct sigv4_cred cred;
	struct sigv4_header sh[4];
	char hash[SHA256_HEX_LEN + 1];
	struct sigv4_req r = { "POST", path, NULL, 0, sh, 0, hash, SIGV4_NORMALIZE };
	size_t n = 0;

	if (creds_current(c->parent, &cred) < 0)
		return -1;
	sha256_hex_of(body, strlen(body), hash);
	sigv4_amz_date(time(NULL), s->date);
	sh[n++] = (struct sigv4_header){ "host", host };
	sh[n++] = (struct sigv4_header){ "content-type",
	    "application/x-www-form-urlencoded; charset=utf-8" };
	sh[n++] = (struct sigv4_header){ "x-amz-date", s->date };
	if (cred.session_token)
		sh[n++] = (struct sigv4_header){ "x-amz-security-token", cred.session_token };
	r.nheaders = n;
	if (sigv4_sign(&r, &cred, c->region, "sts", s->date, &s->so) < 0)
		return -1;
	s->h[s->n++] = (struct awshttp_hdr){ "X-Amz-Date", s->date };
	if (cred.session_token)
		s->h[s->n++] = (struct awshttp_hdr){ "X-Amz-Security-Token", cred.session_token };
	s->h[s->n++] = (struct awshttp_hdr){ "Authorization", s->so.authorization };
	return 0;
}

static int
sts_error(const struct creds *c, const char *what, const struct awshttp_res *res)
{
	char *code = s3_xml_text(res->body, res->len, "Code");
	char *msg = s3_xml_text(res->body, res->len, "Message");
	char cc[100], mc[300];

	creds_clean(cc, sizeof cc, code ? code : "", code ? strlen(code) : 0);
	creds_clean(mc, sizeof mc, msg ? msg : "", msg ? strlen(msg) : 0);
	free(code);
	free(msg);
	return fail("%s: HTTP %d%s%s%s%s", what, res->status, *cc ? " " : "", cc,
	    *mc ? ": " : "", mc);
}

int
sts_parse(struct creds *c, const char *what, const char *action, const char *xml, size_t n)
{
	char tag[64], *res, *ak, *sk, *tok, *exp;
	int r = -1;

	/* the four names occur nowhere else in an STS answer: taken from the
	 * whole document, so each value is decoded exactly once */
	snprintf(tag, sizeof tag, "%sResult", action);
	if (!(res = s3_xml_text(xml, n, tag)))
		return fail("%s: the answer has no <%s>", what, tag);
	memset(res, 0, strlen(res));
	free(res);
	ak = s3_xml_text(xml, n, "AccessKeyId");
	sk = s3_xml_text(xml, n, "SecretAccessKey");
	tok = s3_xml_text(xml, n, "SessionToken");
	exp = s3_xml_text(xml, n, "Expiration");
	if (!tok || !exp)
		fail("%s: the answer's <Credentials> lacks %s", what,
		    tok ? "<Expiration>" : "<SessionToken>");
	else
		r = creds_set(c, what, ak, sk, tok, exp);
	if (sk)
		memset(sk, 0, strlen(sk));
	if (tok)
		memset(tok, 0, strlen(tok));
	free(ak);
	free(sk);
	free(tok);
	free(exp);
	return r;
}

int
sts_fetch(struct creds *c)
{
	struct signed_hdrs s;
	struct awshttp_hdr ct = { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" };
	struct awshttp_req r = { "POST", NULL, NULL, 0, NULL, c->timeout_ms, 0, c->ca_bundle,
	    ANSWER_MAX };
	struct awshttp_res res;
	char host[512], path[1024], url[2048], what[1024], *token = NULL, *body = NULL;
	int rv = -1;

	memset(&s, 0, sizeof s);
	snprintf(what, sizeof what, "STS %s of %s at %s", action_of(c), c->role_arn, c->url);
	if (split_url(c, host, sizeof host, path, sizeof path) < 0)
		return -1;
	if (c->kind == CREDS_WEB_IDENTITY && !(token = web_token(c)))
		return -1;
	if (!(body = form(c, token)))
		goto out;
	s.h[s.n++] = ct;
	if (c->kind == CREDS_ASSUME_ROLE && sign(c, host, path, body, &s) < 0)
		goto out;
	if (fmt(url, sizeof url, "%.*s%s", (int)(strstr(c->url, "://") + 3 - c->url), c->url,
	    host) < 0 || fmt(url + strlen(url), sizeof url - strlen(url), "%s", path) < 0)
		goto out;
	r.url = url;
	r.hdr = s.h;
	r.nhdr = s.n;
	r.body = body;
	if (awshttp_do(&r, &res) < 0) {
		fail("%s: %s", what, errmsg());
		goto out;
	}
	if (res.status != 200)
		rv = sts_error(c, what, &res);
	else
		rv = sts_parse(c, what, action_of(c), res.body, res.len);
	memset(res.body, 0, res.len);
	awshttp_res_free(&res);
out:
	sigv4_out_free(&s.so);
	if (token)
		memset(token, 0, strlen(token));
	if (body)
		memset(body, 0, strlen(body));
	free(token);
	free(body);
	return rv;
}
