/* hint: a snapshot's working-set hint.  See hint.h. */
#include "hint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk.h"
#include "meta.h"
#include "util.h"

#define MAGIC "fcsnap-hint 1\n"
#define MAGIC2 "fcsnap-hint 2\n"
#define STAMP "created_at "
#define BLOCKS "blocks "
#define BPAGES (HINT_BLOCK / 4096)

void
hint_free(struct hint *h)
{
	free(h->pages);
	free(h->blk);
	memset(h, 0, sizeof *h);
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

/* The page lines from *s, up to the end or (v2) the blocks line. */
static int
pages_of(const char **sp, const char *end, uint64_t mem_pages, int v2, struct hint *h)
{
	const char *nl, *s = *sp;
	uint64_t v;

	h->pages = malloc(HINT_MAX_PAGES * sizeof *h->pages);
	if (!h->pages)
		return fail("out of memory");
	for (; s < end; s = nl + 1) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			return fail("its last line is not ended");
		if (v2 && !strncmp(s, BLOCKS, strlen(BLOCKS)))
			break;
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
	if (v2 && s == end)
		return fail("it has no blocks line");
	*sp = s;
	return 0;
}

/* A block line's mask: exactly 4 lower-case hex digits. */
static int
mask_of(const char *s, const char *e, unsigned *mask)
{
	const char *hx = "0123456789abcdef", *d;

	if (e - s != 4)
		return -1;
	for (*mask = 0; s < e; s++) {
		if (!*s || !(d = strchr(hx, *s)))
			return -1;
		*mask = *mask << 4 | (unsigned)(d - hx);
	}
	return 0;
}

/* "<block> <mask> <skip> <sha>": a block of mem and where its stored
 * bytes are (hint.h). */
static int
block_of(const char *s, const char *e, uint64_t mem_pages, uint64_t cpages,
    struct hint_block *b)
{
	const char *sp1 = memchr(s, ' ', (size_t)(e - s)), *sp2, *sp3;
	uint64_t bp, k;

	if (!sp1 || !(sp2 = memchr(sp1 + 1, ' ', (size_t)(e - sp1 - 1))) ||
	    !(sp3 = memchr(sp2 + 1, ' ', (size_t)(e - sp2 - 1))) ||
	    page_of(s, sp1, &b->block) < 0 || mask_of(sp1 + 1, sp2, &b->mask) < 0 ||
	    page_of(sp2 + 1, sp3, &b->skip) < 0 || e - sp3 != 1 + SHA256_HEX_LEN ||
	    sha256_unhex(sp3 + 1, b->sha) < 0)
		return fail("a block line is malformed");
	bp = b->block * BPAGES;
	if (bp >= mem_pages)
		return fail("block %llu is past the end of mem", (unsigned long long)b->block);
	for (k = 0; k < BPAGES; k++)
		if ((b->mask >> k & 1) && bp + k >= mem_pages)
			return fail("block %llu has a page past the end of mem",
			    (unsigned long long)b->block);
	if (b->skip >= cpages)
		return fail("block %llu: its offset is past its chunk",
		    (unsigned long long)b->block);
	return 0;
}

static int
blocks_of(const char *s, const char *end, uint64_t mem_pages, struct hint *h)
{
	const char *nl = memchr(s, '\n', (size_t)(end - s));
	uint64_t cs;

	if (!nl || page_of(s + strlen(BLOCKS), nl, &cs) < 0 || cs < HINT_BLOCK ||
	    cs > (1ULL << 30) || cs % HINT_BLOCK)
		return fail("its blocks line is malformed");
	h->chunk_size = cs;
	h->blk = malloc(HINT_MAX_PAGES * sizeof *h->blk);
	if (!h->blk)
		return fail("out of memory");
	for (s = nl + 1; s < end; s = nl + 1) {
		struct hint_block *b = &h->blk[h->nblk];

		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			return fail("its last line is not ended");
		if (h->nblk == HINT_MAX_PAGES)
			return fail("it lists more than %d blocks", HINT_MAX_PAGES);
		if (block_of(s, nl, mem_pages, cs / 4096, b) < 0)
			return -1;
		if (h->nblk && b->block <= h->blk[h->nblk - 1].block)
			return fail("block %llu is out of order", (unsigned long long)b->block);
		h->nblk++;
	}
	return 0;
}

int
hint_parse(const char *text, size_t len, const char *created_at, uint64_t mem_pages,
    struct hint *h)
{
	const char *s = text, *end = text + len;
	int r, v2 = 0;

	memset(h, 0, sizeof *h);
	if (len > HINT_MAX_BYTES)
		return fail("it is larger than %d bytes", HINT_MAX_BYTES);
	if (len >= strlen(MAGIC2) && !memcmp(s, MAGIC2, strlen(MAGIC2)))
		v2 = 1;
	else if (len < strlen(MAGIC) || memcmp(s, MAGIC, strlen(MAGIC)))
		return fail("it does not start with \"fcsnap-hint 1\" or \"fcsnap-hint 2\"");
	s += strlen(MAGIC);
	r = stamp(&s, end, created_at);
	if (r != 0)
		return r;
	if (pages_of(&s, end, mem_pages, v2, h) < 0 ||
	    (v2 && blocks_of(s, end, mem_pages, h) < 0)) {
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

/* ---- blocks (format 2) ---- */

char *
hint_format_blocks(const char *created_at, const uint64_t *pages, size_t n,
    uint64_t chunk_size, const struct hint_block *blk, size_t nblk, size_t *len)
{
	size_t cap, k;
	char *t = hint_format(created_at, pages, n, len), *t2;

	if (!t)
		return NULL;
	memcpy(t, MAGIC2, strlen(MAGIC2));
	cap = *len + 32 + nblk * (22 + 6 + 22 + SHA256_HEX_LEN + 2);
	t2 = realloc(t, cap);
	if (!t2) {
		free(t);
		fail("out of memory");
		return NULL;
	}
	t = t2;
	*len += (size_t)snprintf(t + *len, cap - *len, "%s%llu\n", BLOCKS,
	    (unsigned long long)chunk_size);
	for (k = 0; k < nblk; k++) {
		char hex[SHA256_HEX_LEN + 1];

		sha256_hex(blk[k].sha, hex);
		*len += (size_t)snprintf(t + *len, cap - *len, "%llu %04x %llu %s\n",
		    (unsigned long long)blk[k].block, blk[k].mask & 0xffffu,
		    (unsigned long long)blk[k].skip, hex);
	}
	return t;
}

static int
allzero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* The non-zero pages of fd in [from, to) (page-aligned). */
static int
count_pages(int fd, uint64_t from, uint64_t to, uint64_t *count)
{
	const size_t cap = 1 << 20;
	unsigned char *buf;
	uint64_t at, k;
	ssize_t got;

	if (from >= to)
		return 0;
	if (!(buf = malloc(cap)))
		return fail("out of memory");
	for (at = from; at < to; at += (uint64_t)got) {
		size_t want = to - at < cap ? (size_t)(to - at) : cap;

		got = pread(fd, buf, want, (off_t)at);
		if (got <= 0 || got % 4096) {
			free(buf);
			return fail_errno("mem: reading at %llu", (unsigned long long)at);
		}
		for (k = 0; k < (uint64_t)got; k += 4096)
			*count += !allzero(buf + k, 4096);
	}
	free(buf);
	return 0;
}

int
hint_blocks_make(int memfd, uint64_t mem_size, const struct mfile *mem, uint64_t chunk_size,
    const uint64_t *pages, size_t n, struct hint_block **out, size_t *nout)
{
	unsigned char buf[HINT_BLOCK];
	uint64_t cur = UINT64_MAX, upto = 0, count = 0;
	struct hint_block *v;
	size_t k;

	*out = NULL;
	*nout = 0;
	if (chunk_size % HINT_BLOCK || mem_size % 4096 || !n)
		return 0;
	v = calloc(n, sizeof *v);
	if (!v)
		return fail("out of memory");
	for (k = 0; k < n; k++) {
		struct hint_block *b = &v[*nout];
		uint64_t blk = pages[k] / BPAGES, at = blk * HINT_BLOCK, ci = at / chunk_size, i;
		size_t len = mem_size - at < HINT_BLOCK ? (size_t)(mem_size - at) : HINT_BLOCK;
		struct sha256 h;

		if ((*nout && v[*nout - 1].block == blk) || ci >= mem->nchunks ||
		    mem->chunks[ci].zero)
			continue;
		if (pread(memfd, buf, len, (off_t)at) != (ssize_t)len) {
			free(v);
			return fail_errno("mem: reading at %llu", (unsigned long long)at);
		}
		memset(b, 0, sizeof *b);
		b->block = blk;
		sha256_init(&h);
		for (i = 0; i < len / 4096; i++)
			if (!allzero(buf + i * 4096, 4096)) {
				b->mask |= 1u << i;
				sha256_update(&h, buf + i * 4096, 4096);
			}
		sha256_final(&h, b->sha);
		if (!mem->chunks[ci].sparse) {
			b->skip = (at - ci * chunk_size) / 4096;
		} else {
			/* the present pages of the chunk before the block */
			if (cur != ci) {
				cur = ci;
				upto = ci * chunk_size;
				count = 0;
			}
			if (count_pages(memfd, upto, at, &count) < 0) {
				free(v);
				return -1;
			}
			upto = at;
			b->skip = count;
		}
		(*nout)++;
	}
	*out = v;
	return 0;
}

int
hint_block_range(const struct hint_block *b, uint64_t chunk_size, const struct mfile *mem,
    uint64_t *off, uint64_t *len)
{
	uint64_t at = b->block * HINT_BLOCK, ci = at / chunk_size, clen, np = 0, bp, k;

	if (chunk_size % HINT_BLOCK || mem->size % 4096 || at >= mem->size ||
	    ci >= mem->nchunks || mem->chunks[ci].zero)
		return -1;
	clen = mem->size - ci * chunk_size < chunk_size ? mem->size - ci * chunk_size : chunk_size;
	bp = (mem->size - at) / 4096 < BPAGES ? (mem->size - at) / 4096 : BPAGES;
	for (k = 0; k < BPAGES; k++)
		if (b->mask >> k & 1) {
			if (k >= bp)
				return -1;
			np++;
		}
	if (b->skip + np > clen / 4096)
		return -1;
	*len = np * 4096;
	*off = 0;
	if (!np)
		return mem->chunks[ci].sparse ? 0 : -1;
	if (!mem->chunks[ci].sparse) {
		if (np != bp || b->skip != (at - ci * chunk_size) / 4096)
			return -1;
		*off = b->skip * 4096;
		return 0;
	}
	*off = chunk_head_len(clen) + b->skip * 4096;
	return 0;
}
