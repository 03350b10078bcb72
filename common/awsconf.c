/* awsconf: see awsconf.h. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "awsconf.h"
#include "awshttp.h"
#include "container.h"
#include "strbuf.h"
#include "util.h"

struct ient {
	char *section;          /* as written inside [...], blanks folded */
	char *sub;              /* nested sub-section ("s3") or NULL */
	char *key;              /* lower-case */
	char *value;
};

struct ini {
	char *path;
	struct ient *e;
	size_t n, cap;
	char **secs;            /* every section header, for "profile not found" */
	size_t nsecs;
};

static void
ini_free(struct ini *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->e[i].section);
		free(f->e[i].sub);
		free(f->e[i].key);
		free(f->e[i].value);
	}
	for (i = 0; i < f->nsecs; i++)
		free(f->secs[i]);
	free(f->secs);
	free(f->e);
	free(f->path);
	memset(f, 0, sizeof *f);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

/* "profile   x" -> "profile x" */
static char *
fold_blanks(const char *s)
{
	struct strbuf b = STRBUF_INIT;
	int sp = 0;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\t') {
			sp = 1;
			continue;
		}
		if (sp && b.len)
			sb_addc(&b, ' ');
		sp = 0;
		sb_addc(&b, *s);
	}
	return sb_finish(&b);
}

static int
ini_add(struct ini *f, const char *sec, const char *sub, const char *key, const char *val)
{
	struct ient *e;
	char *p;

	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		if (!(e = realloc(f->e, cap * sizeof *e)))
			return fail("out of memory");
		f->e = e;
		f->cap = cap;
	}
	e = &f->e[f->n];
	memset(e, 0, sizeof *e);
	e->section = strdup(sec);
	e->sub = sub ? strdup(sub) : NULL;
	e->key = strdup(key);
	e->value = strdup(val);
	f->n++;
	if (!e->section || (sub && !e->sub) || !e->key || !e->value)
		return fail("out of memory");
	for (p = e->key; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

static int
ini_section(struct ini *f, char *name)
{
	char **s;

	if (!(s = realloc(f->secs, (f->nsecs + 1) * sizeof *s)))
		return fail("out of memory");
	f->secs = s;
	if (!(f->secs[f->nsecs] = fold_blanks(name)))
		return -1;
	f->nsecs++;
	return 0;
}

static int
ini_line(struct ini *f, char *line, int lineno, char **sub)
{
	int indented = line[0] == ' ' || line[0] == '\t';
	char *s = trim(line), *eq, *key, *val;
	const char *sec;

	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *e = strrchr(s, ']');
		if (!e || e[1])
			return fail("%s:%d: bad section header '%s'", f->path, lineno, s);
		*e = 0;
		free(*sub);
		*sub = NULL;
		return ini_section(f, trim(s + 1));
	}
	if (!(eq = strchr(s, '=')))
		return fail("%s:%d: expected 'key = value', got '%s'", f->path, lineno, s);
	if (!f->nsecs)
		return fail("%s:%d: 'key = value' before any [section]", f->path, lineno);
	*eq = 0;
	key = trim(s);
	val = trim(eq + 1);
	sec = f->secs[f->nsecs - 1];
	if (indented && *sub)
		return ini_add(f, sec, *sub, key, val);
	free(*sub);
	*sub = NULL;
	if (!*val) {            /* "s3 =" opens a nested sub-section */
		if (!(*sub = strdup(key)))
			return fail("out of memory");
		return 0;
	}
	return ini_add(f, sec, NULL, key, val);
}

/* Parse path; a missing file gives an empty ini. */
static int
ini_load(struct ini *f, const char *path)
{
	char *buf, *line, *next, *sub = NULL;
	size_t len;
	int lineno = 0, r = 0;

	memset(f, 0, sizeof *f);
	if (!(f->path = strdup(path)))
		return fail("out of memory");
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if (!(buf = read_file(path, 1 << 20, &len)))
		return fail("cannot read AWS settings: %s", errmsg());
	for (line = buf; line && r == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		lineno++;
		r = ini_line(f, line, lineno, &sub);
	}
	free(sub);
	free(buf);
	return r;
}

/* Does section name sec belong to profile p in a config (cfg) or
 * credentials file? */
#define SEC_EXACT 2       /* cfg argument: match the section name as is */

static int
sec_match(const char *sec, const char *p, int cfg)
{
	if (!cfg || cfg == SEC_EXACT)
		return !strcmp(sec, p);
	if (!strncmp(sec, "profile ", 8) && !strcmp(sec + 8, p))
		return 1;
	return !strcmp(p, "default") && !strcmp(sec, "default");
}

static int
has_section(const struct ini *f, const char *p, int cfg)
{
	size_t i;

	for (i = 0; i < f->nsecs; i++)
		if (sec_match(f->secs[i], p, cfg))
			return 1;
	return 0;
}

/* Value of key (in sub-section sub, or top level when NULL); the last one
 * wins, like the AWS tools. Sets *sec to the section it came from. */
static const char *
ini_get(const struct ini *f, const char *p, int cfg, const char *sub, const char *key,
    const char **sec)
{
	const char *v = NULL;
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct ient *e = &f->e[i];
		if (!sec_match(e->section, p, cfg) || strcmp(e->key, key))
			continue;
		if (sub ? !e->sub || strcmp(e->sub, sub) : e->sub != NULL)
			continue;
		v = e->value;
		if (sec)
			*sec = e->section;
	}
	return v;
}

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static int
home_path(char *out, size_t n, const char *envname, const char *rel)
{
	const char *v = env(envname), *home;
	struct passwd *pw;

	if (v)
		return fmt(out, n, "%s", v);
	home = env("HOME");
	if (!home && (pw = getpwuid(getuid())))
		home = pw->pw_dir;
	if (!home)
		home = "/";
	return fmt(out, n, "%s/%s", home, rel);
}

static int
set(char **dst, const char *v)
{
	free(*dst);
	*dst = NULL;
	if (v && !(*dst = strdup(v)))
		return fail("out of memory");
	return 0;
}

static const char *
first(const char *a, const char *b)
{
	return a ? a : b;
}


static int
truthy(const char *what, const char *v, int *out)
{
	*out = 0;
	if (!v)
		return 0;
	if (!strcasecmp(v, "true"))
		return *out = 1, 0;
	if (!strcasecmp(v, "false"))
		return 0;
	return fail("%s '%s': want true or false", what, v);
}

/* ---- endpoints ------------------------------------------------------- */

/* The [services NAME] section the profile names (NULL: none); -1 when it
 * names one that is not there. */
static int
services_section(const struct ini *cfg, const char *p, char *out, size_t n)
{
	const char *name = ini_get(cfg, p, 1, NULL, "services", NULL);

	*out = 0;
	if (!name)
		return 0;
	if (fmt(out, n, "services %s", name) < 0)
		return -1;
	if (!has_section(cfg, out, SEC_EXACT))
		return fail("AWS profile '%s' has services = %s, but %s has no [services %s] "
		    "section: add it or remove the services line", p, name, cfg->path, name);
	return 0;
}

/* The endpoint_url configured for service svc, NULL for AWS's own, in the
 * SDKs' order: $envname, $AWS_ENDPOINT_URL, [services NAME] svc =
 * endpoint_url, (for s3) the profile's s3 = endpoint_url, the profile's
 * endpoint_url; none of them with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS or
 * ignore_configured_endpoint_urls true. */
static int
endpoint_for(const struct ini *cfg, const char *p, const char *svc, const char *envname,
    const char **out)
{
	char sec[512];
	const char *v;
	int ignore;

	*out = NULL;
	if (services_section(cfg, p, sec, sizeof sec) < 0)
		return -1;
	v = env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
	if (truthy(v ? "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" : "ignore_configured_endpoint_urls",
	    first(v, ini_get(cfg, p, 1, NULL, "ignore_configured_endpoint_urls", NULL)),
	    &ignore) < 0)
		return -1;
	if (ignore)
		return 0;
	v = first(env(envname), env("AWS_ENDPOINT_URL"));
	if (!v && *sec)
		v = ini_get(cfg, sec, SEC_EXACT, svc, "endpoint_url", NULL);
	if (!v && !strcmp(svc, "s3"))
		v = ini_get(cfg, p, 1, "s3", "endpoint_url", NULL);
	*out = first(v, ini_get(cfg, p, 1, NULL, "endpoint_url", NULL));
	return 0;
}

static int
settings(struct awsconf *c, const struct ini *cfg)
{
	const char *p = c->profile, *v;

	v = first(env("AWS_REGION"), env("AWS_DEFAULT_REGION"));
	v = first(v, ini_get(cfg, p, 1, NULL, "region", NULL));
	/* it becomes part of host names (s3.REGION.amazonaws.com) */
	if (v && (!*v || strlen(v) > 64 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(v)))
		return fail("AWS region '%s' is not a region name (like us-east-1)", v);
	if (set(&c->region, v ? v : "us-east-1") < 0)
		return -1;
	if (endpoint_for(cfg, p, "s3", "AWS_ENDPOINT_URL_S3", &v) < 0 || set(&c->endpoint, v) < 0)
		return -1;
	v = ini_get(cfg, p, 1, "s3", "addressing_style", NULL);
	if (v && strcmp(v, "auto") && strcmp(v, "path") && strcmp(v, "virtual"))
		return fail("%s [%s]: addressing_style '%s' is not auto, path or virtual",
		    cfg->path, p, v);
	if (set(&c->addressing, v ? v : "auto") < 0)
		return -1;
	v = first(env("AWS_MAX_ATTEMPTS"), ini_get(cfg, p, 1, NULL, "max_attempts", NULL));
	if (v) {
		long long n;
		if (parse_long(v, 1, 100, &n, env("AWS_MAX_ATTEMPTS") ? "AWS_MAX_ATTEMPTS" :
		    "max_attempts") < 0)
			return -1;
		c->max_attempts = (int)n;
	}
	v = first(env("AWS_CA_BUNDLE"), ini_get(cfg, p, 1, NULL, "ca_bundle", NULL));
	return set(&c->ca_bundle, v);
}

/* ---- the credential chain -------------------------------------------- */

#define CHAIN_DEPTH 8
#define STS_TIMEOUT_MS 30000

struct chain {
	struct awsconf *c;
	const struct ini *cr, *cfg;
	char sts[1024];                 /* STS endpoint */
	const char *visited[CHAIN_DEPTH];
	int depth;
	struct strbuf tried;
};

/* Note "a" "b" in the list of what was tried. */
static void
tried(struct chain *ch, const char *a, const char *b)
{
	if (ch->tried.len)
		sb_adds(&ch->tried, ", ");
	sb_adds(&ch->tried, a);
	sb_adds(&ch->tried, b);
}

/* A profile setting: the credentials file's [p], else the config's
 * [profile p]; *from = the file it is in. */
static const char *
prop(const struct chain *ch, const char *p, const char *key, const struct ini **from)
{
	const char *v;

	if ((v = ini_get(ch->cr, p, 0, NULL, key, NULL))) {
		if (from)
			*from = ch->cr;
		return v;
	}
	if ((v = ini_get(ch->cfg, p, 1, NULL, key, NULL)) && from)
		*from = ch->cfg;
	return v;
}

/* A provider named a + b. */
static struct creds *
new_creds(enum creds_kind kind, const char *a, const char *b_)
{
	struct strbuf b = STRBUF_INIT;
	struct creds *c;
	char *s;

	sb_adds(&b, a);
	sb_adds(&b, b_);
	if (!(s = sb_finish(&b)))
		return NULL;
	c = creds_new(kind, s);
	free(s);
	return c;
}

/* Static keys of one file's profile section: 1 found, 0 none, -1 error. */
static int
file_creds(struct chain *ch, const char *p, const struct ini *f, int cfg, struct creds **out)
{
	const char *sec = NULL, *sec2 = NULL;
	const char *ak = ini_get(f, p, cfg, NULL, "aws_access_key_id", &sec);
	const char *sk = ini_get(f, p, cfg, NULL, "aws_secret_access_key", &sec2);
	struct strbuf b = STRBUF_INIT;
	struct creds *c;

	if (!ak && !sk)
		return 0;
	if (!ak || !sk)
		return fail("%s [%s]: has %s but no %s", f->path, ak ? sec : sec2,
		    ak ? "aws_access_key_id" : "aws_secret_access_key",
		    ak ? "aws_secret_access_key" : "aws_access_key_id");
	sb_addf(&b, "%s [%s]", f->path, sec);
	if (sb_ok(&b) < 0 || !(c = new_creds(CREDS_STATIC, b.s, ""))) {
		sb_free(&b);
		return -1;
	}
	sb_free(&b);
	if (creds_set(c, c->source, ak, sk, ini_get(f, p, cfg, NULL, "aws_session_token", NULL),
	    NULL) < 0) {
		creds_free(c);
		return -1;
	}
	*out = c;
	return 1;
}

static int
env_creds(struct creds **out)
{
	const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
	struct creds *c;

	if (!ak && !sk)
		return 0;
	if (!ak || !sk)
		return fail("%s is set but %s is not: set both, or neither to use ~/.aws/credentials",
		    ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		    ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (!(c = creds_new(CREDS_STATIC, "environment")))
		return -1;
	if (creds_set(c, "environment", ak, sk, env("AWS_SESSION_TOKEN"), NULL) < 0) {
		creds_free(c);
		return -1;
	}
	*out = c;
	return 1;
}

/* Fetch c now; *out = c (1), or free it (-1). */
static int
fetched(struct creds *c, struct creds **out)
{
	if (!c)
		return -1;
	if (creds_fetch(c) < 0) {
		creds_free(c);
		return -1;
	}
	*out = c;
	return 1;
}

/* metadata_service_timeout (s) / _num_attempts of the SDKs. */
static int
metadata_opts(struct chain *ch, struct creds *c)
{
	const char *p = ch->c->profile, *t, *n;
	long long v;

	t = first(env("AWS_METADATA_SERVICE_TIMEOUT"),
	    ini_get(ch->cfg, p, 1, NULL, "metadata_service_timeout", NULL));
	n = first(env("AWS_METADATA_SERVICE_NUM_ATTEMPTS"),
	    ini_get(ch->cfg, p, 1, NULL, "metadata_service_num_attempts", NULL));
	if (t) {
		if (parse_long(t, 1, 3600, &v, "metadata service timeout (AWS_METADATA_SERVICE_TIMEOUT, s)") < 0)
			return -1;
		c->timeout_ms = v * 1000;
	}
	if (n) {
		if (parse_long(n, 1, 20, &v, "metadata service attempts (AWS_METADATA_SERVICE_NUM_ATTEMPTS)") < 0)
			return -1;
		c->attempts = (int)v;
	}
	return 0;
}

static struct creds *
imds_creds(struct chain *ch)
{
	const char *p = ch->c->profile, *ep, *mode, *v1;
	struct creds *c;
	int https, v1off;
	const char *h;
	size_t hl;

	ep = first(env("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
	    ini_get(ch->cfg, p, 1, NULL, "ec2_metadata_service_endpoint", NULL));
	mode = first(env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"),
	    ini_get(ch->cfg, p, 1, NULL, "ec2_metadata_service_endpoint_mode", NULL));
	if (mode && strcasecmp(mode, "ipv4") && strcasecmp(mode, "ipv6")) {
		fail("EC2 metadata endpoint mode '%s': want IPv4 or IPv6", mode);
		return NULL;
	}
	if (!ep)
		ep = mode && !strcasecmp(mode, "ipv6") ? "http://[fd00:ec2::254]" : "http://169.254.169.254";
	if (awshttp_url_host(ep, "EC2 metadata endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT)",
	    &https, &h, &hl) < 0)
		return NULL;
	v1 = env("AWS_EC2_METADATA_V1_DISABLED");
	if (truthy(v1 ? "AWS_EC2_METADATA_V1_DISABLED" : "ec2_metadata_v1_disabled",
	    first(v1, ini_get(ch->cfg, p, 1, NULL, "ec2_metadata_v1_disabled", NULL)), &v1off) < 0)
		return NULL;
	if (!(c = new_creds(CREDS_IMDS, "EC2 instance metadata ", ep)))
		return NULL;
	c->v1_disabled = v1off;
	if (set(&c->url, ep) < 0 || metadata_opts(ch, c) < 0) {
		creds_free(c);
		return NULL;
	}
	while (*c->url && c->url[strlen(c->url) - 1] == '/')
		c->url[strlen(c->url) - 1] = 0;
	return c;
}

/* Container credentials: 1 fetched, 0 not configured, -1. */
static int
container_creds(struct chain *ch, struct creds **out)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	struct strbuf u = STRBUF_INIT;
	struct creds *c;

	if (!rel && !full)
		return 0;
	if (rel && *rel != '/')
		return fail("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI '%s' does not start with '/'", rel);
	if (!rel && container_url_ok(full, "AWS_CONTAINER_CREDENTIALS_FULL_URI") < 0)
		return -1;
	sb_addf(&u, "%s%s", rel ? "http://169.254.170.2" : "", rel ? rel : full);
	if (sb_ok(&u) < 0 || !(c = new_creds(CREDS_CONTAINER, "container credentials ", u.s))) {
		sb_free(&u);
		return -1;
	}
	c->url = sb_finish(&u);
	/* the SDKs send a token only to a FULL_URI */
	if (!c->url || metadata_opts(ch, c) < 0 || set(&c->ca_bundle, ch->c->ca_bundle) < 0 ||
	    (!rel && (set(&c->auth_file, env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) < 0 ||
	    set(&c->auth, env("AWS_CONTAINER_AUTHORIZATION_TOKEN")) < 0))) {
		creds_free(c);
		return -1;
	}
	return fetched(c, out);
}

/* An STS-backed provider for role (fields common to both kinds). */
static struct creds *
sts_creds(struct chain *ch, enum creds_kind kind, const char *role, const char *session,
    const char *p)
{
	char name[64];
	struct creds *c = new_creds(kind, "role ", role);
	const char *d = p ? prop(ch, p, "duration_seconds", NULL) : NULL;

	if (!c)
		return NULL;
	snprintf(name, sizeof name, "fcsnap-%lld", (long long)time(NULL));
	c->timeout_ms = STS_TIMEOUT_MS;
	if (set(&c->role_arn, role) < 0 || set(&c->session_name, first(session, name)) < 0 ||
	    set(&c->url, ch->sts) < 0 || set(&c->region, ch->c->region) < 0 ||
	    set(&c->ca_bundle, ch->c->ca_bundle) < 0 ||
	    (d && parse_long(d, 900, 43200, &c->duration_s, "duration_seconds") < 0)) {
		creds_free(c);
		return NULL;
	}
	return c;
}

static int
webid_creds(struct chain *ch, const char *role, const char *file, const char *session,
    const char *p, struct creds **out)
{
	struct creds *c = sts_creds(ch, CREDS_WEB_IDENTITY, role, session, p);

	if (c && set(&c->token_file, file) < 0) {
		creds_free(c);
		c = NULL;
	}
	return fetched(c, out);
}

/* Refuse a credential_process from a file another user could have
 * written (it would run as us). */
static int
file_safe(const char *path, const char *what)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return fail_errno("%s", path);
	if ((st.st_uid != geteuid() && st.st_uid != 0) || (st.st_mode & 022))
		return fail("%s: refusing %s from a file that another user owns or can write "
		    "(chown it to yourself and chmod go-w)", path, what);
	return 0;
}

static int profile_creds(struct chain *ch, const char *p, int keys_only, struct creds **out);

static int
source_creds(struct chain *ch, const char *p, const char *src, const char *cs,
    struct creds **out)
{
	int i, r;

	if (src) {
		if (!has_section(ch->cr, src, 0) && !has_section(ch->cfg, src, 1))
			return fail("source_profile '%s' of AWS profile '%s' is in neither %s nor %s",
			    src, p, ch->cr->path, ch->cfg->path);
		for (i = 0; i < ch->depth; i++)
			if (!strcmp(ch->visited[i], src) && strcmp(src, p))
				return fail("AWS profiles '%s' and '%s' name each other as "
				    "source_profile: break the loop", p, src);
		if (ch->depth >= CHAIN_DEPTH)
			return fail("AWS profile '%s': source_profile chain longer than %d", p,
			    CHAIN_DEPTH);
		r = profile_creds(ch, src, !strcmp(src, p), out);
		if (r == 0)
			return fail("source_profile '%s' of AWS profile '%s' has no credentials", src, p);
		return r;
	}
	if (!strcmp(cs, "Environment")) {
		if ((r = env_creds(out)) == 0)
			return fail("AWS profile '%s' has credential_source = Environment, but "
			    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set", p);
		return r;
	}
	if (!strcmp(cs, "Ec2InstanceMetadata"))
		return fetched(imds_creds(ch), out);
	if (!strcmp(cs, "EcsContainer")) {
		if ((r = container_creds(ch, out)) == 0)
			return fail("AWS profile '%s' has credential_source = EcsContainer, but "
			    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/_FULL_URI are not set", p);
		return r;
	}
	return fail("AWS profile '%s': credential_source '%s' is not Environment, "
	    "Ec2InstanceMetadata or EcsContainer", p, cs);
}

static int
role_creds(struct chain *ch, const char *p, const char *role, struct creds **out)
{
	const char *src = prop(ch, p, "source_profile", NULL);
	const char *cs = prop(ch, p, "credential_source", NULL);
	const char *wf = prop(ch, p, "web_identity_token_file", NULL);
	const char *sn = prop(ch, p, "role_session_name", NULL);
	struct creds *parent = NULL, *c;

	if (src && cs)
		return fail("AWS profile '%s' has both source_profile and credential_source: "
		    "keep one", p);
	if (!src && !cs) {
		if (wf)
			return webid_creds(ch, role, wf, sn, p, out);
		return fail("AWS profile '%s' has role_arn but no source_profile, "
		    "credential_source or web_identity_token_file", p);
	}
	ch->visited[ch->depth++] = p;
	if (source_creds(ch, p, src, cs, &parent) < 0)
		return -1;
	ch->depth--;
	if (!(c = sts_creds(ch, CREDS_ASSUME_ROLE, role, sn, p)) ||
	    set(&c->external_id, prop(ch, p, "external_id", NULL)) < 0) {
		creds_free(c);
		creds_free(parent);
		return -1;
	}
	c->parent = parent;
	return fetched(c, out);
}

static int
unsupported(const char *p, const char *key)
{
	return fail("AWS profile '%s' uses %s, which fcsnap does not support: export "
	    "static credentials instead (e.g. eval \"$(aws configure export-credentials "
	    "--profile %s --format env)\")", p, key, p);
}

/* Credentials of profile p in the SDKs' order: role_arn (with
 * source_profile, credential_source or web_identity_token_file), SSO
 * (refused), credential_process, static keys (credentials file, then
 * config). keys_only: static keys only (a profile that is its own
 * source_profile). 1 found, 0 none, -1 error. */
static int
profile_creds(struct chain *ch, const char *p, int keys_only, struct creds **out)
{
	static const char *sso[] = { "sso_session", "sso_start_url", "sso_account_id" };
	const struct ini *from = NULL;
	const char *role = prop(ch, p, "role_arn", NULL), *cmd;
	struct creds *c;
	size_t i;
	int r;

	if (role && !keys_only)
		return role_creds(ch, p, role, out);
	for (i = 0; i < ARRAY_LEN(sso) && !keys_only; i++)
		if (prop(ch, p, sso[i], NULL))
			return unsupported(p, sso[i]);
	if (!keys_only && (cmd = prop(ch, p, "credential_process", &from))) {
		if (file_safe(from->path, "credential_process") < 0 ||
		    !(c = new_creds(CREDS_PROCESS, "credential_process of AWS profile ", p)))
			return -1;
		if (set(&c->cmd, cmd) < 0) {
			creds_free(c);
			return -1;
		}
		return fetched(c, out);
	}
	if ((r = file_creds(ch, p, ch->cr, 0, out)) != 0)
		return r;
	return file_creds(ch, p, ch->cfg, 1, out);
}

static int
sts_endpoint(struct chain *ch)
{
	const char *v, *r = ch->c->region;

	if (endpoint_for(ch->cfg, ch->c->profile, "sts", "AWS_ENDPOINT_URL_STS", &v) < 0)
		return -1;
	if (v)
		return fmt(ch->sts, sizeof ch->sts, "%s", v);
	return fmt(ch->sts, sizeof ch->sts, "https://sts.%s.amazonaws.com%s", r,
	    !strncmp(r, "cn-", 3) ? ".cn" : "");
}

/* The SDKs' chain: environment keys (not for a profile named by the
 * caller, as with the CLI's --profile), web identity from the
 * environment, the profile, container credentials, EC2 instance metadata. */
static int
chain(struct chain *ch, int skip_env, struct creds **out)
{
	const char *wf = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *ra = env("AWS_ROLE_ARN");
	struct creds *im;
	int r, off;

	if (!skip_env && (r = env_creds(out)) != 0)
		return r;
	if (!skip_env)
		tried(ch, "", "the environment (AWS_ACCESS_KEY_ID)");
	if (wf && ra)
		return webid_creds(ch, ra, wf, env("AWS_ROLE_SESSION_NAME"), NULL, out);
	if (wf || ra)
		return fail("%s is set but %s is not: set both for web identity credentials",
		    wf ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
		    wf ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
	tried(ch, "", "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)");
	if ((r = profile_creds(ch, ch->c->profile, 0, out)) != 0)
		return r;
	sb_addf(&ch->tried, ", profile '%s' (%s, %s)", ch->c->profile, ch->cr->path,
	    ch->cfg->path);
	if ((r = container_creds(ch, out)) != 0)
		return r;
	tried(ch, "", "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)");
	if (truthy("AWS_EC2_METADATA_DISABLED", env("AWS_EC2_METADATA_DISABLED"), &off) < 0)
		return -1;
	if (off) {
		tried(ch, "", "not EC2 instance metadata (AWS_EC2_METADATA_DISABLED)");
		return 0;
	}
	if (!(im = imds_creds(ch)))
		return -1;
	if ((r = fetched(im, out)) > 0)
		return r;
	tried(ch, "EC2 instance metadata: ", errmsg());
	return 0;
}

static int
load(struct awsconf *c, const char *profile, struct ini *cr, struct ini *cfg)
{
	char crpath[4096], cfgpath[4096];
	int explicit = profile || env("AWS_PROFILE"), r;
	struct chain ch;

	if (set(&c->profile, first(profile, first(env("AWS_PROFILE"), "default"))) < 0)
		return -1;
	if (home_path(crpath, sizeof crpath, "AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials") < 0 ||
	    home_path(cfgpath, sizeof cfgpath, "AWS_CONFIG_FILE", ".aws/config") < 0)
		return -1;
	if (ini_load(cr, crpath) < 0 || ini_load(cfg, cfgpath) < 0)
		return -1;
	if (explicit && !has_section(cr, c->profile, 0) && !has_section(cfg, c->profile, 1))
		return fail("AWS profile '%s' not found in %s or %s: add a [%s] section or "
		    "choose another profile", c->profile, crpath, cfgpath, c->profile);
	if (settings(c, cfg) < 0)
		return -1;
	memset(&ch, 0, sizeof ch);
	ch.c = c;
	ch.cr = cr;
	ch.cfg = cfg;
	if (sts_endpoint(&ch) < 0)
		return -1;
	r = chain(&ch, profile != NULL, &c->creds);
	if (r == 0)
		fail("no AWS credentials: tried %s; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
		    "or configure ~/.aws/credentials", sb_ok(&ch.tried) == 0 ? ch.tried.s : "");
	sb_free(&ch.tried);
	return r > 0 ? 0 : -1;
}

int
awsconf_load(struct awsconf *c, const char *profile)
{
	struct ini cr, cfg;
	int r;

	memset(c, 0, sizeof *c);
	memset(&cr, 0, sizeof cr);
	memset(&cfg, 0, sizeof cfg);
	r = load(c, profile, &cr, &cfg);
	ini_free(&cr);
	ini_free(&cfg);
	if (r < 0)
		awsconf_free(c);
	return r;
}

void
awsconf_free(struct awsconf *c)
{
	free(c->profile);
	creds_free(c->creds);
	free(c->region);
	free(c->endpoint);
	free(c->addressing);
	free(c->ca_bundle);
	memset(c, 0, sizeof *c);
}
