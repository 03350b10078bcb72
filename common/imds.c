/* imds: see imds.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "awshttp.h"
#include "imds.h"
#include "json.h"
#include "strbuf.h"
#include "util.h"

#define ROLE_MAX 128
#define CREDS_PATH "/latest/meta-data/iam/security-credentials/"

struct imds {
	struct creds *c;
	char token[256];        /* "" without one (IMDSv1) */
};

static int
req(struct imds *m, const char *method, const char *path, struct awshttp_res *res)
{
	struct awshttp_hdr h = { "X-aws-ec2-metadata-token", m->token };
	struct awshttp_hdr ttl = { "X-aws-ec2-metadata-token-ttl-seconds", "21600" };
	struct awshttp_req r = { method, NULL, NULL, 0, NULL, m->c->timeout_ms, 1, NULL, 16384 };
	struct strbuf u = STRBUF_INIT;
	int rv;

	sb_addf(&u, "%s%s", m->c->url, path);
	if (sb_ok(&u) < 0)
		return -1;
	r.url = u.s;
	if (!strcmp(method, "PUT"))
		r.hdr = &ttl, r.nhdr = 1;
	else if (*m->token)
		r.hdr = &h, r.nhdr = 1;
	rv = awshttp_do(&r, res);
	sb_free(&u);
	return rv;
}

/* 0 with m->token set (or "" for IMDSv1); -1. */
static int
get_token(struct imds *m)
{
	struct awshttp_res res;
	size_t n;
	int st;

	m->token[0] = 0;
	if (req(m, "PUT", "/latest/api/token", &res) < 0)
		return -1;
	st = res.status;
	if (st == 403 || st == 404 || st == 405) {
		awshttp_res_free(&res);
		if (m->c->v1_disabled)
			return fail("%s: the IMDSv2 token request was refused (HTTP %d) and "
			    "IMDSv1 is disabled (AWS_EC2_METADATA_V1_DISABLED)", m->c->url, st);
		return 0;
	}
	n = res.len;
	while (n && (res.body[n - 1] == '\n' || res.body[n - 1] == '\r'))
		n--;
	if (res.status != 200 || !n || n >= sizeof m->token || memchr(res.body, 0, n) ||
	    strcspn(res.body, "\r\n\t ") < n) {
		awshttp_res_free(&res);
		return fail("%s: bad answer to the IMDSv2 token request (HTTP %d)", m->c->url, st);
	}
	memcpy(m->token, res.body, n);
	m->token[n] = 0;
	awshttp_res_free(&res);
	return 0;
}

/* GET path: 200 -> 0 with res; 401 with a token -> new token, once. */
static int
get(struct imds *m, const char *path, struct awshttp_res *res, const char *what)
{
	int again = 1, st;

	for (;;) {
		if (req(m, "GET", path, res) < 0)
			return -1;
		if (res->status == 200)
			return 0;
		st = res->status;
		awshttp_res_free(res);
		if (st == 401 && *m->token && again--) {
			if (get_token(m) < 0)
				return -1;
			continue;
		}
		if (st == 404)
			return fail("%s: %s: none (HTTP 404: the instance has no IAM role)",
			    m->c->url, what);
		return fail("%s: %s: HTTP %d", m->c->url, what, st);
	}
}

/* The first line of the role list, checked. */
static int
role_name(struct imds *m, char out[ROLE_MAX + 1])
{
	struct awshttp_res res;
	size_t n, i;

	if (get(m, CREDS_PATH, &res, "the instance's role") < 0)
		return -1;
	n = strcspn(res.body, "\r\n");
	for (i = 0; i < n; i++)
		if (!strchr("+=,.@-_", res.body[i]) && !((res.body[i] >= 'a' && res.body[i] <= 'z') ||
		    (res.body[i] >= 'A' && res.body[i] <= 'Z') || (res.body[i] >= '0' && res.body[i] <= '9')))
			break;
	if (!n || n > ROLE_MAX || i < n) {
		awshttp_res_free(&res);
		return fail("%s: the instance's role name is empty or not an IAM role name",
		    m->c->url);
	}
	memcpy(out, res.body, n);
	out[n] = 0;
	awshttp_res_free(&res);
	return 0;
}

/* The answer's "Code", when there is one, must be "Success". */
static int
code_ok(const char *what, const struct awshttp_res *res)
{
	struct json_tok t[64];
	char code[64];
	int nt = json_parse(res->body, res->len, t, (int)ARRAY_LEN(t), NULL), i;

	if (nt < 1 || t[0].type != JSON_OBJECT || (i = json_get(res->body, t, 0, "Code")) < 0)
		return 0;
	if (json_str(res->body, t, i, code, sizeof code) < 0)
		return fail("%s: bad \"Code\"", what);
	if (strcmp(code, "Success"))
		return fail("%s: the service says \"%s\"", what, code);
	return 0;
}

static int
fetch_once(struct imds *m)
{
	struct awshttp_res res;
	char role[ROLE_MAX + 1], what[ROLE_MAX + 160];
	struct strbuf p = STRBUF_INIT;
	int r;

	if (get_token(m) < 0 || role_name(m, role) < 0)
		return -1;
	sb_addf(&p, "%s%s", CREDS_PATH, role);
	if (sb_ok(&p) < 0)
		return -1;
	snprintf(what, sizeof what, "EC2 instance metadata %s (role %s)", m->c->url, role);
	r = get(m, p.s, &res, "the role's credentials");
	sb_free(&p);
	if (r < 0)
		return -1;
	r = code_ok(what, &res) < 0 ? -1 : creds_set_json(m->c, what, res.body, res.len);
	memset(res.body, 0, res.len);
	awshttp_res_free(&res);
	if (r == 0) {
		free(m->c->source);
		if (!(m->c->source = strdup(what)))
			return fail("out of memory");
	}
	return r;
}

int
imds_fetch(struct creds *c)
{
	struct imds m = { c, "" };
	int i, r = -1;

	for (i = 0; i < c->attempts && r < 0; i++)
		r = fetch_once(&m);
	memset(m.token, 0, sizeof m.token);
	return r;
}
