/* creds: see creds.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "credproc.h"
#include "creds.h"
#include "imds.h"
#include "json.h"
#include "sts.h"
#include "util.h"

#define KEY_MAX    256
#define SECRET_MAX 1024
#define TOKEN_MAX  8192

struct creds *
creds_new(enum creds_kind kind, const char *source)
{
	struct creds *c = calloc(1, sizeof *c);

	if (!c || !(c->source = strdup(source))) {
		free(c);
		fail("out of memory");
		return NULL;
	}
	c->kind = kind;
	c->timeout_ms = 1000;
	c->attempts = 1;
	return c;
}

static void
free_secret(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	free(s);
}

void
creds_free(struct creds *c)
{
	if (!c)
		return;
	free(c->access_key);
	free_secret(c->secret_key);
	free_secret(c->session_token);
	free_secret(c->auth);
	free(c->source);
	free(c->cmd);
	free(c->url);
	free(c->auth_file);
	free(c->role_arn);
	free(c->session_name);
	free(c->external_id);
	free(c->token_file);
	free(c->region);
	free(c->ca_bundle);
	creds_free(c->parent);
	free(c);
}

void
creds_clean(char *out, size_t n, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < n && s[i]; i++)
		out[i] = (unsigned char)s[i] < ' ' || s[i] == 0x7f ? '?' : s[i];
	out[i] = 0;
}

static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
creds_parse_time(const char *s, time_t *t)
{
	struct tm tm;
	int y, mo, d, h, mi, sec;
	const char *z;

	memset(&tm, 0, sizeof tm);
	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
	    s[16] != ':' || digits(s + 17, 2, &sec))
		return -1;
	z = s + 19;
	if (*z == '.')
		for (z++; *z >= '0' && *z <= '9'; z++)
			;
	if (strcmp(z, "Z") && strcmp(z, "z") && strcmp(z, "+00:00"))
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*t = timegm(&tm);
	return 0;
}

/* 0 when s is a sane value: ak printable ASCII without space, '/', ','
 * or quotes (AWS's are [A-Z0-9]; S3-compatible servers use others, such
 * as Swift's "account:user"; none of those characters could stand in the
 * Credential= field of a signature), else no control characters. */
static int
value_ok(const char *s, size_t max, int ak)
{
	size_t n = strlen(s), i;

	if (!n || n > max)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ak ? ch <= ' ' || ch >= 0x7f || strchr("/,\"'\\", ch) :
		    ch < ' ' || ch == 0x7f)
			return -1;
	}
	return 0;
}

static int
dup_to(char **dst, const char *s)
{
	char *n = NULL;

	if (s && !(n = strdup(s)))
		return fail("out of memory");
	free_secret(*dst);
	*dst = n;
	return 0;
}

int
creds_set(struct creds *c, const char *what, const char *ak, const char *sk,
    const char *token, const char *expiration)
{
	time_t exp = 0;
	char e[64];

	if (!ak || value_ok(ak, KEY_MAX, 1) < 0)
		return fail("%s: %s access key id", what, ak ? "bad" : "no");
	if (!sk || value_ok(sk, SECRET_MAX, 0) < 0)
		return fail("%s: %s secret access key", what, sk ? "bad" : "no");
	if (token && value_ok(token, TOKEN_MAX, 0) < 0)
		return fail("%s: bad session token", what);
	if (expiration) {
		creds_clean(e, sizeof e, expiration, strlen(expiration));
		if (creds_parse_time(expiration, &exp) < 0)
			return fail("%s: bad Expiration '%s' (want YYYY-MM-DDTHH:MM:SSZ)", what, e);
		if (exp <= time(NULL))
			return fail("%s: the credentials it gave expired already (at %s)", what, e);
	}
	if (dup_to(&c->access_key, ak) < 0 || dup_to(&c->secret_key, sk) < 0 ||
	    dup_to(&c->session_token, token) < 0)
		return -1;
	c->expires = exp;
	return 0;
}

/* A JSON string member (NULL when absent); -1 when not a string. */
static int
jstr(const char *js, const struct json_tok *t, const char *key, char *out, size_t n,
    const char **v)
{
	int i = json_get(js, t, 0, key);

	*v = NULL;
	if (i < 0)
		return 0;
	if (json_str(js, t, i, out, n) < 0)
		return -1;
	*v = out;
	return 0;
}

int
creds_set_json(struct creds *c, const char *what, const char *js, size_t n)
{
	char ak[KEY_MAX + 1], sk[SECRET_MAX + 1], tok[TOKEN_MAX + 1], exp[64];
	struct json_tok t[256];
	const char *a, *s, *k, *e;
	int nt = json_parse(js, n, t, (int)ARRAY_LEN(t), NULL), r;

	if (nt < 0 || t[0].type != JSON_OBJECT)
		return fail("%s: the answer is not a JSON object", what);
	if (jstr(js, t, "AccessKeyId", ak, sizeof ak, &a) < 0 ||
	    jstr(js, t, "SecretAccessKey", sk, sizeof sk, &s) < 0 ||
	    jstr(js, t, "Token", tok, sizeof tok, &k) < 0 ||
	    (!k && jstr(js, t, "SessionToken", tok, sizeof tok, &k) < 0) ||
	    jstr(js, t, "Expiration", exp, sizeof exp, &e) < 0)
		return fail("%s: a credential field of the answer is not a short string", what);
	r = creds_set(c, what, a, s, k, e);
	memset(sk, 0, sizeof sk);
	memset(tok, 0, sizeof tok);
	return r;
}

int
creds_fetch(struct creds *c)
{
	switch (c->kind) {
	case CREDS_STATIC:
		return 0;
	case CREDS_PROCESS:
		return credproc_fetch(c);
	case CREDS_CONTAINER:
		return container_fetch(c);
	case CREDS_IMDS:
		return imds_fetch(c);
	case CREDS_WEB_IDENTITY:
	case CREDS_ASSUME_ROLE:
		return sts_fetch(c);
	}
	return fail("unknown credential source");
}

static void
iso_time(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
creds_current(struct creds *c, struct sigv4_cred *out)
{
	time_t now = time(NULL);
	char when[32];

	if (c->expires && c->expires - now <= CREDS_REFRESH_S && now >= c->retry_after) {
		if (creds_fetch(c) < 0) {
			iso_time(c->expires, when);
			if (c->expires - now <= CREDS_GRACE_S)
				return fail("cannot refresh the AWS credentials (they expire at %s): %s",
				    when, errmsg());
			warnmsg("cannot refresh the AWS credentials yet (they expire at %s): %s",
			    when, errmsg());
			c->retry_after = now + 30;
		}
	}
	if (c->expires && c->expires <= now) {
		iso_time(c->expires, when);
		return fail("the AWS credentials from %s expired at %s", c->source, when);
	}
	out->access_key = c->access_key;
	out->secret_key = c->secret_key;
	out->session_token = c->session_token;
	return 0;
}
