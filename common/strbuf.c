/* strbuf: see strbuf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "util.h"

static int
grow(struct strbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (!(p = realloc(b->s, cap))) {
		b->oom = 1;
		return -1;
	}
	b->s = p;
	b->cap = cap;
	return 0;
}

void
sb_reserve(struct strbuf *b, size_t n)
{
	char *p;

	if (b->oom || b->len + n + 1 <= b->cap)
		return;
	if (!(p = realloc(b->s, b->len + n + 1))) {
		b->oom = 1;
		return;
	}
	b->s = p;
	b->cap = b->len + n + 1;
	b->s[b->len] = 0;
}

void
sb_add(struct strbuf *b, const void *p, size_t n)
{
	if (grow(b, n) < 0)
		return;
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

void
sb_adds(struct strbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

void
sb_addc(struct strbuf *b, char c)
{
	sb_add(b, &c, 1);
}

void
sb_addf(struct strbuf *b, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	if (n < 0 || grow(b, (size_t)n) < 0) {
		b->oom = 1;
		return;
	}
	va_start(ap, f);
	vsnprintf(b->s + b->len, (size_t)n + 1, f, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
sb_truncate(struct strbuf *b, size_t n)
{
	if (n < b->len) {
		b->len = n;
		b->s[n] = 0;
	}
}

int
sb_ok(const struct strbuf *b)
{
	return b->oom ? fail("out of memory") : 0;
}

char *
sb_finish(struct strbuf *b)
{
	char *s;

	if (b->oom) {
		sb_free(b);
		fail("out of memory");
		return NULL;
	}
	if (!b->s && grow(b, 0) == 0)
		b->s[0] = 0;
	if (!b->s) {
		fail("out of memory");
		return NULL;
	}
	s = b->s;
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void
sb_free(struct strbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}
