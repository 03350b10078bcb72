/* awshttp: see awshttp.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "awshttp.h"
#include "curlcfg.h"
#include "runcap.h"
#include "util.h"

static int
quoted(struct strbuf *b, const char *opt, const char *s)
{
	sb_addf(b, "%s = ", opt);
	if (curlcfg_quote(b, s) < 0)
		return fail("%s (%s)", errmsg(), opt);
	sb_addc(b, '\n');
	return 0;
}

static int
config(const struct awshttp_req *r, const char *token, struct strbuf *b)
{
	struct strbuf h = STRBUF_INIT;
	size_t i;
	int bad = 0;

	bad |= quoted(b, "url", r->url);
	bad |= quoted(b, "request", r->method);
	for (i = 0; i < r->nhdr && !bad; i++) {
		sb_truncate(&h, 0);
		sb_addf(&h, "%s: %s", r->hdr[i].name, r->hdr[i].value);
		bad |= sb_ok(&h) < 0 || quoted(b, "header", h.s);
	}
	sb_free(&h);
	if (r->body)
		bad |= quoted(b, "data-binary", r->body);
	if (r->ca_bundle)
		bad |= quoted(b, "cacert", r->ca_bundle);
	if (r->no_proxy)
		sb_adds(b, "noproxy = \"*\"\n");
	sb_adds(b, "silent\nshow-error\ngloboff\nproto = \"=http,https\"\nheader = \"Expect:\"\n");
	sb_addf(b, "connect-timeout = %lld.%03lld\nmax-time = %lld.%03lld\n",
	    r->timeout_ms / 1000, r->timeout_ms % 1000, r->timeout_ms / 1000,
	    r->timeout_ms % 1000);
	sb_addf(b, "write-out = \"%s%%{http_code}\"\n", token);
	return bad || sb_ok(b) < 0 ? -1 : 0;
}

/* Our environment without AWS_* (curl needs none of it). */
static char **
curl_env(void)
{
	extern char **environ;
	size_t n = 0, k = 0, i;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 1, sizeof *env)))
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "AWS_", 4))
			env[k++] = environ[i];
	return env;
}

/* "curl: (7) Failed to connect ..." -> "Failed to connect ..." */
static const char *
curl_said(struct strbuf *err)
{
	char *s, *nl;

	if (!err->len || sb_ok(err) < 0)
		return "no message";
	s = err->s;
	if (!strncmp(s, "curl: (", 7) && (nl = strstr(s, ") ")))
		s = nl + 2;
	if ((nl = strchr(s, '\n')))
		*nl = 0;
	return s;
}

static int
finish(const struct awshttp_req *r, const char *token, struct strbuf *out,
    struct awshttp_res *res)
{
	size_t tl = strlen(token);
	char *m;

	if (sb_ok(out) < 0 || out->len < tl + 3 || !(m = memmem(out->s + out->len - tl - 3,
	    tl, token, tl)) || m != out->s + out->len - tl - 3)
		return fail("%s: no HTTP answer", r->url);
	res->status = atoi(m + tl);
	if (res->status < 100 || res->status > 599)
		return fail("%s: no HTTP answer", r->url);
	*m = 0;
	res->len = (size_t)(m - out->s);
	res->body = sb_finish(out);
	return 0;
}

int
awshttp_do(const struct awshttp_req *r, struct awshttp_res *res)
{
	struct strbuf cfg = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
	const char *name = getenv("FCSNAP_CURL");
	char curl[4096], fdarg[32], token[48], **env = NULL;
	char *argv[] = { curl, "-q", "-K", fdarg, NULL };
	struct runcap rc = { argv, NULL, -1, 0, 0 };
	int code, rv = -1;

	memset(res, 0, sizeof *res);
	if (find_exe(name && *name ? name : "curl", curl, sizeof curl) < 0)
		return fail("%s: curl not found: install curl or set FCSNAP_CURL", r->url);
	curlcfg_token(token, sizeof token, "~aws~");
	if (config(r, token, &cfg) < 0 || (rc.keep_fd = curlcfg_pipe(&cfg)) < 0)
		goto out;
	if (!(env = curl_env())) {
		fail("out of memory");
		goto out;
	}
	snprintf(fdarg, sizeof fdarg, "/dev/fd/%d", rc.keep_fd);
	rc.envp = env;
	rc.max = r->max + strlen(token) + 8;
	rc.timeout_ms = r->timeout_ms + 5000;
	if (runcap(&rc, &out, &err, &code) < 0)
		fail("%s: %s", r->url, errmsg());
	else if (code == 28)
		fail("%s: no answer within %lld.%03lld s", r->url, r->timeout_ms / 1000,
		    r->timeout_ms % 1000);
	else if (code)
		fail("%s: %s", r->url, curl_said(&err));
	else
		rv = finish(r, token, &out, res);
out:
	if (rc.keep_fd >= 0)
		close(rc.keep_fd);
	if (cfg.s)
		memset(cfg.s, 0, cfg.len);
	sb_free(&cfg);
	sb_free(&out);
	sb_free(&err);
	free(env);
	return rv;
}

void
awshttp_res_free(struct awshttp_res *res)
{
	free(res->body);
	memset(res, 0, sizeof *res);
}

int
awshttp_url_host(const char *url, const char *what, int *https, const char **host,
    size_t *hlen)
{
	const char *h, *e;

	if (!strncmp(url, "https://", 8))
		*https = 1, h = url + 8;
	else if (!strncmp(url, "http://", 7))
		*https = 0, h = url + 7;
	else
		return fail("%s '%s': want http://host[:port]/path or https://...", what, url);
	if (*h == '[')
		e = strchr(h, ']') ? strchr(h, ']') + 1 : NULL;
	else
		e = h + strcspn(h, ":/?#");
	if (!e || e == h || (*e && !strchr(":/?#", *e)) ||
	    memchr(h, '@', strcspn(h, "/?#")))
		return fail("%s '%s': bad host", what, url);
	*host = h;
	*hlen = (size_t)(e - h);
	return 0;
}
