/* chunk: the stored forms of one chunk (see chunk.h). */
#include "chunk.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define PG CHUNK_PAGE

uint64_t
chunk_npages(uint64_t len)
{
	return len / PG + (len % PG != 0);
}

size_t
chunk_head_len(uint64_t len)
{
	uint64_t np = chunk_npages(len);

	return CHUNK_HDR + (size_t)(np / 8 + (np % 8 != 0));
}

int
chunk_bit(const unsigned char *map, uint64_t i)
{
	return map[i / 8] >> (i % 8) & 1;
}

/* The bytes of page i of a chunk of len bytes: [*a, *e). */
static void
page_span(uint64_t len, uint64_t i, uint64_t j, uint64_t *a, uint64_t *e)
{
	*a = i * PG;
	*e = j * PG < len ? j * PG : len;
}

static int
zero_page(const unsigned char *b, size_t n)
{
	return b[0] == 0 && memcmp(b, b + 1, n - 1) == 0;
}

static void
put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The end of the run of pages starting at i that share page i's bit. */
static uint64_t
run_end(const unsigned char *map, uint64_t np, uint64_t i)
{
	int b = chunk_bit(map, i);
	uint64_t j = i + 1;

	while (j < np && chunk_bit(map, j) == b)
		j++;
	return j;
}

void
chunk_make(const unsigned char *buf, uint64_t len, unsigned char *head, struct chunk *c)
{
	uint64_t np = chunk_npages(len), i, j, a, e, data = 0;
	size_t hl = chunk_head_len(len);
	unsigned char *map = head + CHUNK_HDR;
	struct sha256 h;
	int prev = 0;

	memset(c, 0, sizeof *c);
	c->len = len;
	c->npages = np;
	memcpy(head, CHUNK_MAGIC, CHUNK_MAGIC_LEN);
	put_le64(head + CHUNK_MAGIC_LEN, len);
	memset(map, 0, hl - CHUNK_HDR);
	for (i = 0; i < np; i++) {
		page_span(len, i, i + 1, &a, &e);
		if (zero_page(buf + a, (size_t)(e - a))) {
			prev = 0;
			continue;
		}
		map[i / 8] |= (unsigned char)(1u << (i % 8));
		c->present++;
		data += e - a;
		c->nruns += !prev;
		prev = 1;
	}
	if (c->present == 0) {
		c->form = CHUNK_ZERO;
		c->nruns = 0;
		return;
	}
	if (c->present == np) {
		c->form = CHUNK_RAW;
		c->stored = len;
		sha256(buf, (size_t)len, c->id);
		return;
	}
	c->form = CHUNK_SPARSE;
	c->stored = hl + data;
	sha256_init(&h);
	sha256_update(&h, head, hl);
	for (i = 0; i < np; i = j) {
		j = run_end(map, np, i);
		if (!chunk_bit(map, i))
			continue;
		page_span(len, i, j, &a, &e);
		sha256_update(&h, buf + a, (size_t)(e - a));
	}
	sha256_final(&h, c->id);
}

size_t
chunk_segs(const struct chunk *c, const unsigned char *head, int fd, off_t off,
    struct s3_seg *segs)
{
	const unsigned char *map = head + CHUNK_HDR;
	uint64_t i, j, a, e;
	size_t n = 0;

	if (c->form == CHUNK_ZERO)
		return 0;
	if (c->form == CHUNK_RAW) {
		segs[0] = (struct s3_seg){ NULL, fd, off, (size_t)c->len };
		return 1;
	}
	segs[n++] = (struct s3_seg){ head, -1, 0, chunk_head_len(c->len) };
	for (i = 0; i < c->npages; i = j) {
		j = run_end(map, c->npages, i);
		if (!chunk_bit(map, i))
			continue;
		page_span(c->len, i, j, &a, &e);
		segs[n++] = (struct s3_seg){ NULL, fd, off + (off_t)a, (size_t)(e - a) };
	}
	return n;
}

void
chunk_name(const unsigned char id[SHA256_LEN], int sparse, char *out)
{
	sha256_hex(id, out);
	if (sparse)
		memcpy(out + SHA256_HEX_LEN, CHUNK_SUFFIX, sizeof CHUNK_SUFFIX);
}

int
chunk_name_parse(const char *s, size_t n, unsigned char id[SHA256_LEN], int *sparse)
{
	if (n == SHA256_HEX_LEN)
		*sparse = 0;
	else if (n == SHA256_HEX_LEN + sizeof CHUNK_SUFFIX - 1 &&
	    !memcmp(s + SHA256_HEX_LEN, CHUNK_SUFFIX, sizeof CHUNK_SUFFIX - 1))
		*sparse = 1;
	else
		return -1;
	return sha256_unhex(s, id);
}

uint64_t
chunk_max_stored(uint64_t len, int sparse)
{
	return sparse ? chunk_head_len(len) + len : len;
}

int
chunk_check(const unsigned char *obj, size_t n, uint64_t len, int sparse)
{
	uint64_t np = chunk_npages(len), i, a, e, present = 0, data = 0;
	size_t hl = chunk_head_len(len);
	const unsigned char *map = obj + CHUNK_HDR;

	if (!sparse) {
		if (n != len)
			return fail("%zu bytes instead of %llu", n, (unsigned long long)len);
		return 0;
	}
	if (n < CHUNK_HDR || memcmp(obj, CHUNK_MAGIC, CHUNK_MAGIC_LEN) != 0)
		return fail("not a sparse chunk (no \"" CHUNK_MAGIC "\" header)");
	if (get_le64(obj + CHUNK_MAGIC_LEN) != len)
		return fail("its header says %llu bytes, the manifest %llu",
		    (unsigned long long)get_le64(obj + CHUNK_MAGIC_LEN), (unsigned long long)len);
	if (n < hl)
		return fail("%zu bytes, shorter than its bitmap", n);
	if (np % 8 && map[hl - CHUNK_HDR - 1] >> (np % 8))
		return fail("bitmap padding bits are set");
	for (i = 0; i < np; i++) {
		if (!chunk_bit(map, i))
			continue;
		page_span(len, i, i + 1, &a, &e);
		present++;
		data += e - a;
	}
	if (present == 0)
		return fail("its bitmap has no page");
	if (present == np)
		return fail("its bitmap has every page (it should be stored raw)");
	if (n != hl + data)
		return fail("%zu bytes where its bitmap says %llu", n,
		    (unsigned long long)(hl + data));
	return 0;
}

/* ---- writing --------------------------------------------------------- */

static int
pwrite_all(int fd, const unsigned char *p, uint64_t n, off_t off)
{
	while (n) {
		size_t want = n > (1u << 30) ? 1u << 30 : (size_t)n;
		ssize_t k = pwrite(fd, p, want, off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = ENOSPC;
			return -1;
		}
		p += k;
		off += k;
		n -= (uint64_t)k;
	}
	return 0;
}

/* Make [off, off+n) read as zeros in a file that may hold data there. */
static int
punch(int fd, off_t off, uint64_t n)
{
	static const unsigned char zeros[64 * 1024];

	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, (off_t)n) == 0)
		return 0;
	while (n) {
		uint64_t k = n < sizeof zeros ? n : sizeof zeros;

		if (pwrite_all(fd, zeros, k, off) < 0)
			return -1;
		off += (off_t)k;
		n -= k;
	}
	return 0;
}

/* The runs of data's pages: the others written (with write), the
 * all-zero ones punched (with do_punch). */
static int
scan_runs(int fd, off_t off, const unsigned char *data, uint64_t len, int write,
    int do_punch)
{
	uint64_t np = chunk_npages(len), i, j, a, e;

	for (i = 0; i < np; i = j) {
		int z;

		page_span(len, i, i + 1, &a, &e);
		z = zero_page(data + a, (size_t)(e - a));
		for (j = i + 1; j < np; j++) {
			page_span(len, j, j + 1, &a, &e);
			if (zero_page(data + a, (size_t)(e - a)) != z)
				break;
		}
		page_span(len, i, j, &a, &e);
		if (!z && write && pwrite_all(fd, data + a, e - a, off + (off_t)a) < 0)
			return -1;
		if (z && do_punch && punch(fd, off + (off_t)a, e - a) < 0)
			return -1;
	}
	return 0;
}

int
chunk_put_raw(int fd, off_t off, const unsigned char *data, uint64_t len,
    int scan, int do_punch)
{
	if (!scan)
		return pwrite_all(fd, data, len, off);
	return scan_runs(fd, off, data, len, 1, do_punch);
}

int
chunk_punch_zero(int fd, off_t off, const unsigned char *data, uint64_t len)
{
	return scan_runs(fd, off, data, len, 0, 1);
}

/* Write runs of map's present pages from src: at their own offsets in
 * src when !packed, else one after another. */
static int
put_runs(int fd, off_t off, const unsigned char *src, uint64_t len,
    const unsigned char *map, int packed, int do_punch)
{
	uint64_t np = chunk_npages(len), i, j, a, e;

	for (i = 0; i < np; i = j) {
		j = run_end(map, np, i);
		page_span(len, i, j, &a, &e);
		if (chunk_bit(map, i)) {
			if (pwrite_all(fd, packed ? src : src + a, e - a, off + (off_t)a) < 0)
				return -1;
			if (packed)
				src += e - a;
		} else if (do_punch && punch(fd, off + (off_t)a, e - a) < 0) {
			return -1;
		}
	}
	return 0;
}

int
chunk_put_pages(int fd, off_t off, const unsigned char *data, uint64_t len,
    const unsigned char *map, int do_punch)
{
	return put_runs(fd, off, data, len, map, 0, do_punch);
}

int
chunk_put_sparse(int fd, off_t off, const unsigned char *obj, uint64_t len, int do_punch)
{
	size_t hl = chunk_head_len(len);

	return put_runs(fd, off, obj + hl, len, obj + CHUNK_HDR, 1, do_punch);
}
