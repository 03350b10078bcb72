/* hint: a snapshot's working-set hint.  See hint.h. */
#include "hint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meta.h"
#include "util.h"

#define MAGIC "fcsnap-hint 1\n"
#define STAMP "created_at "

void
hint_free(struct hint *h)
{
	free(h->pages);
	h->pages = NULL;
	h->n = 0;
}

/* One line [s, e) as a page number: digits only, no leading zero. */
static int
page_of(const char *s, const char *e, uint64_t *v)
{
	uint64_t x = 0;

	if (s == e || e - s > 12 || (*s == '0' && e - s > 1))
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return 0;
}

/* The created_at line at *s: 0 the same, 1 another, -1 malformed. */
static int
stamp(const char **s, const char *end, const char *created_at)
{
	const char *nl;
	size_t n = strlen(STAMP);

	if ((size_t)(end - *s) < n || memcmp(*s, STAMP, n))
		return fail("no created_at line");
	nl = memchr(*s + n, '\n', (size_t)(end - *s - (ptrdiff_t)n));
	if (!nl || nl - (*s + n) > 40)
		return fail("its created_at line is malformed");
	n = (size_t)(nl - (*s + n));
	*s += strlen(STAMP);
	if (n != strlen(created_at) || memcmp(*s, created_at, n)) {
		*s = nl + 1;
		return 1;
	}
	*s = nl + 1;
	return 0;
}

static int
pages_of(const char *s, const char *end, uint64_t mem_pages, struct hint *h)
{
	const char *nl;
	uint64_t v;

	h->pages = malloc(HINT_MAX_PAGES * sizeof *h->pages);
	if (!h->pages)
		return fail("out of memory");
	for (; s < end; s = nl + 1) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			return fail("its last line is not ended");
		if (page_of(s, nl, &v) < 0)
			return fail("line %zu is not a page number", h->n + 3);
		if (v >= mem_pages)
			return fail("page %llu is past the end of mem (%llu pages)",
			    (unsigned long long)v, (unsigned long long)mem_pages);
		if (h->n && v <= h->pages[h->n - 1])
			return fail("page %llu is out of order", (unsigned long long)v);
		if (h->n == HINT_MAX_PAGES)
			return fail("it lists more than %d pages", HINT_MAX_PAGES);
		h->pages[h->n++] = v;
	}
	return 0;
}

int
hint_parse(const char *text, size_t len, const char *created_at, uint64_t mem_pages,
    struct hint *h)
{
	const char *s = text, *end = text + len;
	int r;

	memset(h, 0, sizeof *h);
	if (len > HINT_MAX_BYTES)
		return fail("it is larger than %d bytes", HINT_MAX_BYTES);
	if (len < strlen(MAGIC) || memcmp(s, MAGIC, strlen(MAGIC)))
		return fail("it does not start with \"fcsnap-hint 1\"");
	s += strlen(MAGIC);
	r = stamp(&s, end, created_at);
	if (r != 0)
		return r;
	if (pages_of(s, end, mem_pages, h) < 0) {
		hint_free(h);
		return -1;
	}
	return 0;
}

char *
hint_format(const char *created_at, const uint64_t *pages, size_t n, size_t *len)
{
	size_t cap = strlen(MAGIC) + strlen(STAMP) + strlen(created_at) + 2 + n * 22, k;
	char *t = malloc(cap);
	int w;

	if (!t) {
		fail("out of memory");
		return NULL;
	}
	w = snprintf(t, cap, "%s%s%s\n", MAGIC, STAMP, created_at);
	*len = (size_t)w;
	for (k = 0; k < n; k++)
		*len += (size_t)snprintf(t + *len, cap - *len, "%llu\n",
		    (unsigned long long)pages[k]);
	return t;
}

/* Write the hint into dir unless it has one. */
static int
save_in(const char *dir, const uint64_t *pages, size_t n)
{
	char path[PATH_MAX];
	struct meta m;
	size_t len;
	char *t;
	int r;

	if (path_join(path, sizeof path, dir, HINT_FILE) < 0)
		return -1;
	if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	meta_init(&m);
	if (meta_read(dir, &m) < 0) {
		fail("%s: %s", dir, meta_reason());
		meta_free(&m);
		return -1;
	}
	t = hint_format(m.created_at, pages, n, &len);
	meta_free(&m);
	if (!t)
		return -1;
	r = write_file_atomic(path, t, len, 0600);
	free(t);
	return r;
}

int
hint_save(const struct store *s, const char *name, const uint64_t *pages, size_t n)
{
	char snaps[PATH_MAX], dir[PATH_MAX], base[96];
	int lock, r = 1;

	if (!n || n > HINT_MAX_PAGES)
		return 1;
	if (store_sub(s, "snapshots", snaps, sizeof snaps) < 0)
		return -1;
	lock = store_lock_timeout(s, name, 10000);
	if (lock < 0)
		return -1;
	if (store_has(s, name)) {
		if (path_join(dir, sizeof dir, snaps, name) == 0)
			r = save_in(dir, pages, n);
		else
			r = -1;
	} else if (fmt(base, sizeof base, ".pull-%s", name) < 0 ||
	    path_join(dir, sizeof dir, snaps, base) < 0) {
		r = -1;
	} else if (faccessat(AT_FDCWD, dir, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		r = save_in(dir, pages, n);
	}
	store_unlock(lock);
	return r;
}
