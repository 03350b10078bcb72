/* container: see container.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awshttp.h"
#include "container.h"
#include "util.h"

#define AUTH_MAX 16384

static int
loopback4(const char *h, size_t n)
{
	unsigned a, b, c, d;
	char tail, buf[32];

	if (n >= sizeof buf)
		return 0;
	memcpy(buf, h, n);
	buf[n] = 0;
	return sscanf(buf, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 &&
	    b < 256 && c < 256 && d < 256 && strspn(buf, "0123456789.") == n;
}

static int
is(const char *h, size_t n, const char *s)
{
	return n == strlen(s) && !strncmp(h, s, n);
}

int
container_url_ok(const char *url, const char *what)
{
	const char *h;
	size_t n;
	int https;

	if (awshttp_url_host(url, what, &https, &h, &n) < 0)
		return -1;
	if (https || loopback4(h, n) || is(h, n, "[::1]") || is(h, n, "localhost") ||
	    is(h, n, "169.254.170.2") || is(h, n, "169.254.170.23") || is(h, n, "[fd00:ec2::23]"))
		return 0;
	return fail("%s '%s': an http URL must be a loopback address, 169.254.170.2 or "
	    "169.254.170.23 (the ECS/EKS credential hosts); use https for any other host",
	    what, url);
}

/* The Authorization value: the token file's content, else the token. */
static char *
auth_value(const struct creds *c)
{
	size_t n;
	char *s;

	if (!c->auth_file)
		return c->auth ? strdup(c->auth) : NULL;
	if (!(s = read_file(c->auth_file, AUTH_MAX, &n))) {
		fail("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %s", errmsg());
		return NULL;
	}
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = 0;
	if (strlen(s) != n || strpbrk(s, "\r\n")) {
		free(s);
		fail("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: holds more than one line",
		    c->auth_file);
		return NULL;
	}
	return s;
}

static int
fetch_once(struct creds *c, const char *auth)
{
	struct awshttp_hdr h = { "Authorization", auth };
	struct awshttp_req r = { "GET", c->url, &h, auth ? 1 : 0, NULL, c->timeout_ms, 0,
	    c->ca_bundle, 65536 };
	struct awshttp_res res;
	char what[600], said[200];
	int rv;

	r.no_proxy = strncmp(c->url, "https://", 8) != 0;
	if (awshttp_do(&r, &res) < 0)
		return fail("container credentials: %s", errmsg());
	snprintf(what, sizeof what, "container credentials %s", c->url);
	if (res.status != 200) {
		creds_clean(said, sizeof said, res.body, res.len);
		rv = fail("%s: HTTP %d%s%s", what, res.status, *said ? ": " : "", said);
	} else {
		rv = creds_set_json(c, what, res.body, res.len);
	}
	memset(res.body, 0, res.len);
	awshttp_res_free(&res);
	return rv;
}

int
container_fetch(struct creds *c)
{
	char *auth = NULL;
	int i, r = -1;

	if ((c->auth_file || c->auth) && !(auth = auth_value(c)))
		return -1;
	for (i = 0; i < c->attempts && r < 0; i++)
		r = fetch_once(c, auth);
	if (auth)
		memset(auth, 0, strlen(auth));
	free(auth);
	return r;
}
