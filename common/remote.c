/* remote: shared plumbing of the S3 programs (see remote.h). */
#include "remote.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t remote_stop;

int
remote_resolve(const char *url, const char *bucket, const char *prefix, char **out)
{
	const char *env = getenv("FCSNAP_REMOTE");
	size_t n;

	*out = NULL;
	if (url && bucket)
		return fail("give either an s3:// URL or --bucket, not both");
	if (!url && !bucket && prefix)
		return fail("--prefix needs --bucket");
	if (bucket) {
		n = strlen(bucket) + (prefix ? strlen(prefix) : 0) + 8;
		*out = malloc(n);
		if (!*out)
			return fail("out of memory");
		snprintf(*out, n, "s3://%s%s%s", bucket, prefix && *prefix ? "/" : "",
		    prefix ? prefix : "");
		return 0;
	}
	if (!url && env && *env)
		url = env;
	if (!url)
		return fail("no remote given: pass s3://bucket/prefix (or --bucket), "
		    "or set FCSNAP_REMOTE");
	*out = strdup(url);
	return *out ? 0 : fail("out of memory");
}

int
remote_open(struct remote *r, const char *url, const struct s3_opts *o)
{
	size_t n;

	memset(r, 0, sizeof *r);
	if (s3_url_parse(url, &r->u) < 0)
		return -1;
	n = strlen(r->u.bucket) + strlen(r->u.prefix) + 8;
	r->url = malloc(n);
	if (!r->url) {
		s3_url_free(&r->u);
		return fail("out of memory");
	}
	snprintf(r->url, n, "s3://%s%s%s", r->u.bucket, *r->u.prefix ? "/" : "", r->u.prefix);
	if (awsconf_load(&r->conf, NULL) < 0) {
		s3_url_free(&r->u);
		free(r->url);
		return -1;
	}
	if (s3_open(&r->c, &r->conf, r->u.bucket, o) < 0) {
		awsconf_free(&r->conf);
		s3_url_free(&r->u);
		free(r->url);
		return -1;
	}
	r->open = 1;
	return 0;
}

int
remote_opt_attempts(struct s3_opts *o, const char *arg)
{
	long long v;

	if (parse_long(arg, 1, 100, &v, "--attempts") < 0)
		return -1;
	o->retries = (int)v - 1;
	return 0;
}

int
remote_opt_stall(struct s3_opts *o, const char *arg)
{
	long long ms;

	if (parse_duration_ms(arg, &ms, "--stall-timeout") < 0)
		return -1;
	if (ms < 1000 || ms > 3600000)
		return fail("--stall-timeout '%s': use 1s..1h", arg);
	o->stall_ms = ms;
	return 0;
}

void
remote_close(struct remote *r)
{
	if (!r->open)
		return;
	s3_close(&r->c);
	awsconf_free(&r->conf);
	s3_url_free(&r->u);
	free(r->url);
	r->open = 0;
}

char *
remote_key(const struct remote *r, const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + (b ? strlen(b) + 1 : 0) + (c ? strlen(c) + 1 : 0) + 1;
	char *rel = malloc(n), *k;

	if (!rel) {
		fail("out of memory");
		return NULL;
	}
	snprintf(rel, n, "%s%s%s%s%s", a, b ? "/" : "", b ? b : "", c ? "/" : "", c ? c : "");
	k = s3_key_join(r->u.prefix, rel);
	free(rel);
	return k;
}

static void
on_signal(int sig)
{
	(void)sig;
	remote_stop = 1;
}

void
remote_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void
remote_human(char *out, size_t n, double v)
{
	static const char units[] = "KMGTPE";
	int u = -1;

	if (v < 1024) {
		snprintf(out, n, "%.0f", v);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(out, n, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

void
progress_init(struct progress *p, const char *what, uint64_t total, int verbose)
{
	memset(p, 0, sizeof *p);
	p->tty = isatty(2);
	p->on = p->tty || verbose;
	p->what = what;
	p->total = total;
	p->start_ms = p->last_ms = now_ms();
}

void
progress_add(struct progress *p, uint64_t n)
{
	p->done += n;
}

void
progress_draw(struct progress *p, int force)
{
	int64_t now = now_ms(), el;
	char d[16], t[16], rate[16], eta[32] = "";
	double bps;

	if (!p->on)
		return;
	if (!force && now - p->last_ms < (p->tty ? 200 : 5000))
		return;
	p->last_ms = now;
	el = now - p->start_ms;
	bps = el > 0 ? (double)p->done * 1000.0 / (double)el : 0;
	remote_human(d, sizeof d, (double)p->done);
	remote_human(t, sizeof t, (double)p->total);
	remote_human(rate, sizeof rate, bps);
	if (bps > 0 && p->total > p->done) {
		long long s = (long long)((double)(p->total - p->done) / bps);
		snprintf(eta, sizeof eta, "  ETA %lld:%02lld", s / 60, s % 60);
	}
	fprintf(stderr, "%s%s: %s: %s / %s  %s/s%s%s", p->tty ? "\r" : "", progname,
	    p->what, d, t, rate, eta, p->tty ? "\033[K" : "\n");
}

void
progress_end(struct progress *p)
{
	if (!p->on)
		return;
	progress_draw(p, 1);
	if (p->tty)
		fputc('\n', stderr);
}
