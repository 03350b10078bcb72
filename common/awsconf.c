/* awsconf: see awsconf.h. */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "awsconf.h"
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
static int
sec_match(const char *sec, const char *p, int cfg)
{
	if (!cfg)
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

static int
set_source(struct awsconf *c, const char *file, const char *sec)
{
	struct strbuf b = STRBUF_INIT;

	sb_addf(&b, "%s [%s]", file, sec);
	free(c->cred_source);
	return (c->cred_source = sb_finish(&b)) ? 0 : -1;
}

/* Credentials from one file: 1 found, 0 none, -1 error. */
static int
file_creds(struct awsconf *c, const struct ini *f, int cfg)
{
	const char *sec = NULL, *sec2 = NULL;
	const char *ak = ini_get(f, c->profile, cfg, NULL, "aws_access_key_id", &sec);
	const char *sk = ini_get(f, c->profile, cfg, NULL, "aws_secret_access_key", &sec2);

	if (!ak && !sk)
		return 0;
	if (!ak || !sk)
		return fail("%s [%s]: has %s but no %s", f->path, ak ? sec : sec2,
		    ak ? "aws_access_key_id" : "aws_secret_access_key",
		    ak ? "aws_secret_access_key" : "aws_access_key_id");
	if (set(&c->access_key, ak) < 0 || set(&c->secret_key, sk) < 0 ||
	    set(&c->session_token, ini_get(f, c->profile, cfg, NULL, "aws_session_token", NULL)) < 0 ||
	    set_source(c, f->path, sec) < 0)
		return -1;
	return 1;
}

static int
env_creds(struct awsconf *c)
{
	const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");

	if (!ak && !sk)
		return 0;
	if (!ak || !sk)
		return fail("%s is set but %s is not: set both, or neither to use ~/.aws/credentials",
		    ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		    ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	if (set(&c->access_key, ak) < 0 || set(&c->secret_key, sk) < 0 ||
	    set(&c->session_token, env("AWS_SESSION_TOKEN")) < 0 ||
	    set(&c->cred_source, "environment") < 0)
		return -1;
	return 1;
}

static const char *
first(const char *a, const char *b)
{
	return a ? a : b;
}

static int
settings(struct awsconf *c, const struct ini *cfg)
{
	const char *p = c->profile, *v;

	v = first(env("AWS_REGION"), env("AWS_DEFAULT_REGION"));
	v = first(v, ini_get(cfg, p, 1, NULL, "region", NULL));
	if (set(&c->region, v ? v : "us-east-1") < 0)
		return -1;
	v = first(env("AWS_ENDPOINT_URL_S3"), env("AWS_ENDPOINT_URL"));
	v = first(v, ini_get(cfg, p, 1, "s3", "endpoint_url", NULL));
	v = first(v, ini_get(cfg, p, 1, NULL, "endpoint_url", NULL));
	if (set(&c->endpoint, v) < 0)
		return -1;
	v = ini_get(cfg, p, 1, "s3", "addressing_style", NULL);
	if (v && strcmp(v, "auto") && strcmp(v, "path") && strcmp(v, "virtual"))
		return fail("%s [%s]: addressing_style '%s' is not auto, path or virtual",
		    cfg->path, p, v);
	if (set(&c->addressing, v ? v : "auto") < 0)
		return -1;
	v = first(env("AWS_CA_BUNDLE"), ini_get(cfg, p, 1, NULL, "ca_bundle", NULL));
	return set(&c->ca_bundle, v);
}

/* Profiles that get credentials some other way (roles, SSO, helper
 * processes) are named rather than reported as "no credentials". */
static int
unsupported(const struct awsconf *c, const struct ini *cr, const struct ini *cfg)
{
	static const char *keys[] = { "role_arn", "credential_process", "sso_session",
	    "sso_start_url", "web_identity_token_file" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(keys); i++)
		if (ini_get(cfg, c->profile, 1, NULL, keys[i], NULL) ||
		    ini_get(cr, c->profile, 0, NULL, keys[i], NULL))
			return fail("AWS profile '%s' uses %s, which fcsnap does not support: "
			    "export static credentials instead (e.g. eval \"$(aws configure "
			    "export-credentials --profile %s --format env)\")", c->profile, keys[i],
			    c->profile);
	return 0;
}

static int
load(struct awsconf *c, const char *profile, struct ini *cr, struct ini *cfg)
{
	char crpath[4096], cfgpath[4096];
	int explicit = profile || env("AWS_PROFILE"), r;

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
	if ((r = env_creds(c)) != 0)
		return r < 0 ? -1 : 0;
	if ((r = file_creds(c, cr, 0)) != 0)
		return r < 0 ? -1 : 0;
	if ((r = file_creds(c, cfg, 1)) != 0)
		return r < 0 ? -1 : 0;
	if ((r = unsupported(c, cr, cfg)) != 0)
		return r;
	if (explicit)
		return fail("no AWS credentials for profile '%s': set AWS_ACCESS_KEY_ID/"
		    "AWS_SECRET_ACCESS_KEY or add aws_access_key_id/aws_secret_access_key "
		    "to [%s] in %s", c->profile, c->profile, crpath);
	return fail("no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
	    "or configure ~/.aws/credentials");
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

static void
free_secret(char *s)
{
	if (s)
		memset(s, 0, strlen(s));
	free(s);
}

void
awsconf_free(struct awsconf *c)
{
	free(c->profile);
	free(c->access_key);
	free_secret(c->secret_key);
	free_secret(c->session_token);
	free(c->region);
	free(c->endpoint);
	free(c->addressing);
	free(c->ca_bundle);
	free(c->cred_source);
	memset(c, 0, sizeof *c);
}
