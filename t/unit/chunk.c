/* chunk: stored forms (zero, raw, sparse), their names, the upload pieces,
 * the checks of a downloaded object and writing one back with holes. */
#include "chunk.h"
#include "util.h"
#include "tap.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG CHUNK_PAGE

static char dir[] = "/tmp/fcsnap-chunk.XXXXXX";
static uint64_t rs = 0x9e3779b97f4a7c15ULL;

static unsigned char
rnd8(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (unsigned char)(rs >> 24) | 1;   /* never 0: no zero page by chance */
}

/* A chunk of len bytes whose page i is data when pat[i % strlen(pat)] is 'd'. */
static unsigned char *
mkbuf(uint64_t len, const char *pat)
{
	unsigned char *b = calloc(1, len ? len : 1);
	uint64_t i, np = chunk_npages(len);
	size_t n = strlen(pat);

	for (i = 0; i < np; i++) {
		uint64_t a = i * PG, e = a + PG < len ? a + PG : len, k;

		if (pat[i % n] == 'd')
			for (k = a; k < e; k++)
				b[k] = rnd8();
	}
	return b;
}

static int
tmpfile_with(const unsigned char *b, uint64_t len)
{
	char path[64];
	int fd;

	snprintf(path, sizeof path, "%s/f", dir);
	unlink(path);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	unlink(path);
	if (b && pwrite(fd, b, len, 0) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The stored object of buf: its upload pieces, concatenated. */
static unsigned char *
stored(const unsigned char *buf, uint64_t len, struct chunk *c, size_t *n)
{
	unsigned char *head = malloc(chunk_head_len(len)), *out;
	struct s3_seg *segs;
	size_t ns, i, k = 0;
	int fd;

	chunk_make(buf, len, head, c);
	segs = calloc(c->nruns + 1, sizeof *segs);
	fd = tmpfile_with(buf, len);
	ns = chunk_segs(c, head, fd, 0, segs);
	out = malloc(c->stored + 1);
	for (i = 0; i < ns; i++) {
		if (segs[i].mem)
			memcpy(out + k, segs[i].mem, segs[i].len);
		else if (pread(fd, out + k, segs[i].len, segs[i].off) != (ssize_t)segs[i].len)
			break;
		k += segs[i].len;
	}
	*n = ns ? k : 0;
	close(fd);
	free(segs);
	free(head);
	return out;
}

/* Decode obj into a fresh sparse file; 1 if it reads back as buf with
 * every zero page a hole. */
static int
decodes(const unsigned char *obj, size_t n, const unsigned char *buf, uint64_t len, int sparse)
{
	unsigned char *got = malloc(len);
	uint64_t i, np = chunk_npages(len);
	int fd = tmpfile_with(NULL, 0), good = 1;

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0 || chunk_check(obj, n, len, sparse) < 0 ||
	    (sparse ? chunk_put_sparse(fd, 0, obj, len, 0) :
	    chunk_put_raw(fd, 0, obj, len, 0, 0)) < 0 ||
	    pread(fd, got, len, 0) != (ssize_t)len || memcmp(got, buf, len) != 0)
		good = 0;
	for (i = 0; good && i < np; i++) {
		off_t d = lseek(fd, (off_t)(i * PG), SEEK_DATA);
		int zero = buf[i * PG] == 0;    /* data pages start non-zero */

		if (zero && d == (off_t)(i * PG))
			good = 0;
		if (!zero && d != (off_t)(i * PG))
			good = 0;
	}
	if (fd >= 0)
		close(fd);
	free(got);
	return good;
}

static void
round_trip(uint64_t len, const char *pat, int want_form)
{
	unsigned char *buf = mkbuf(len, pat), *obj, d[SHA256_LEN];
	struct chunk c;
	size_t n;

	obj = stored(buf, len, &c, &n);
	is_int(c.form, want_form, "len %llu pages %s: form", (unsigned long long)len, pat);
	if (c.form != CHUNK_ZERO) {
		sha256(obj, n, d);
		ok(n == c.stored && !memcmp(d, c.id, SHA256_LEN),
		    "len %llu %s: the id is the SHA-256 of the %zu stored bytes",
		    (unsigned long long)len, pat, n);
		ok(c.stored <= chunk_max_stored(len, c.form == CHUNK_SPARSE),
		    "len %llu %s: within the largest size", (unsigned long long)len, pat);
		ok(decodes(obj, n, buf, len, c.form == CHUNK_SPARSE),
		    "len %llu %s: decodes to the chunk, zero pages as holes",
		    (unsigned long long)len, pat);
	}
	free(obj);
	free(buf);
}

/* Is obj refused, naming why? */
static void
refused(const unsigned char *obj, size_t n, uint64_t len, const char *why, const char *name)
{
	ok(chunk_check(obj, n, len, 1) < 0 && strstr(errmsg(), why), "%s: %s", name, errmsg());
}

static void
hostile(void)
{
	/* pages: d z d d z d(short) -> bitmap 0x2d */
	uint64_t len = 5 * PG + 100;
	unsigned char *buf = mkbuf(len, "dzddzd"), *obj, *x;
	struct chunk c;
	size_t n;

	obj = stored(buf, len, &c, &n);
	x = malloc(n + 1);
	is_int(c.form, CHUNK_SPARSE, "the sample is sparse");
	is_int(n, CHUNK_HDR + 1 + 3 * PG + 100, "header, one bitmap byte, three pages and 100 bytes");
	ok(!memcmp(obj, "fcsparse", 8) && obj[8] == (len & 0xff) && obj[9] == (len >> 8 & 0xff) &&
	    obj[10] == 0 && obj[15] == 0, "the header: magic, then the length little-endian");
	is_int(obj[16], 0x2d, "the bitmap is LSB-first");
	ok(!memcmp(obj + 17, buf, PG) && !memcmp(obj + 17 + PG, buf + 2 * PG, 2 * PG) &&
	    !memcmp(obj + 17 + 3 * PG, buf + 5 * PG, 100), "the present pages follow in order");
	ok(chunk_check(obj, n, len, 1) == 0, "it passes the check");

	memcpy(x, obj, n); x[0] = 'F';
	refused(x, n, len, "not a sparse chunk", "a bad magic");
	memcpy(x, obj, n); x[8]++;
	refused(x, n, len, "header says", "a header length that is not the manifest's");
	refused(obj, n, len + 1, "header says", "a manifest length that is not the header's");
	refused(obj, n - 1, len, "bitmap says", "a truncated object");
	memcpy(x, obj, n); x[n] = 7;
	refused(x, n + 1, len, "bitmap says", "a trailing byte");
	refused(obj, 10, len, "not a sparse chunk", "shorter than the header");
	refused(obj, 0, len, "not a sparse chunk", "empty");
	memcpy(x, obj, n); x[16] |= 0x40;
	refused(x, n, len, "padding", "a padding bit set");
	memcpy(x, obj, n); x[16] = 0x3f;
	refused(x, n, len, "every page", "every page present (raw in disguise)");
	memcpy(x, obj, n); x[16] = 0;
	refused(x, CHUNK_HDR + 1, len, "no page", "no page present");
	memcpy(x, obj, n); x[16] = 0x0d;
	refused(x, n, len, "bitmap says", "a bit cleared: the size no longer adds up");
	memcpy(x, obj, n); x[16] = 0x2f;
	refused(x, n, len, "bitmap says", "a bit set: the size no longer adds up");
	refused(obj, CHUNK_HDR, len, "shorter than its bitmap", "a header without its bitmap");
	ok(chunk_check(obj, n, n, 0) == 0 && chunk_check(obj, n - 1, n, 0) < 0,
	    "raw: only the length is checked");
	free(x);
	free(obj);
	free(buf);
}

static void
writes(void)
{
	uint64_t len = 6 * PG;
	unsigned char *buf = mkbuf(len, "dzdzzd"), *head = malloc(chunk_head_len(len));
	unsigned char *got = malloc(len), *junk = malloc(len), *obj;
	struct chunk c;
	size_t n;
	int fd;

	memset(junk, 0xee, len);
	obj = stored(buf, len, &c, &n);
	/* a resumed file with a torn write all over the chunk */
	fd = tmpfile_with(junk, len);
	ok(chunk_put_sparse(fd, 0, obj, len, 1) == 0 && pread(fd, got, len, 0) == (ssize_t)len &&
	    !memcmp(got, buf, len), "put_sparse with punch clears what was there");
	ok(lseek(fd, PG, SEEK_DATA) == 2 * PG && lseek(fd, 3 * PG, SEEK_DATA) == 5 * PG,
	    "and the zero pages are holes again");
	close(fd);
	fd = tmpfile_with(junk, len);
	ok(chunk_put_sparse(fd, 0, obj, len, 0) == 0 && pread(fd, got, len, 0) == (ssize_t)len &&
	    memcmp(got, buf, len) != 0 && got[PG] == 0xee,
	    "without punch the zero pages are not touched (for fresh files)");
	close(fd);

	chunk_make(buf, len, head, &c);
	fd = tmpfile_with(junk, len);
	ok(chunk_put_pages(fd, 0, buf, len, head + CHUNK_HDR, 1) == 0 &&
	    pread(fd, got, len, 0) == (ssize_t)len && !memcmp(got, buf, len) &&
	    lseek(fd, PG, SEEK_DATA) == 2 * PG, "put_pages writes the map's pages, punches the rest");
	close(fd);
	fd = tmpfile_with(NULL, 0);
	ok(ftruncate(fd, (off_t)len) == 0 && chunk_put_raw(fd, 0, buf, len, 1, 0) == 0 &&
	    pread(fd, got, len, 0) == (ssize_t)len && !memcmp(got, buf, len) &&
	    lseek(fd, 3 * PG, SEEK_DATA) == 5 * PG, "put_raw with scan leaves zero pages as holes");
	close(fd);
	fd = tmpfile_with(NULL, 0);
	ok(ftruncate(fd, 8 * PG) == 0 && chunk_put_raw(fd, 2 * PG, buf, len, 0, 0) == 0 &&
	    pread(fd, got, len, 2 * PG) == (ssize_t)len && !memcmp(got, buf, len) &&
	    lseek(fd, 0, SEEK_DATA) == 2 * PG, "put_raw without scan writes it all at its offset");
	ok(chunk_punch_zero(fd, 2 * PG, buf, len) == 0 &&
	    pread(fd, got, len, 2 * PG) == (ssize_t)len && !memcmp(got, buf, len) &&
	    lseek(fd, 2 * PG, SEEK_DATA) == 2 * PG && lseek(fd, 2 * PG, SEEK_HOLE) == 3 * PG &&
	    lseek(fd, 3 * PG, SEEK_DATA) == 4 * PG && lseek(fd, 5 * PG, SEEK_DATA) == 7 * PG,
	    "punch_zero makes the zero pages of a chunk written whole holes, the rest as it was");
	close(fd);
	free(obj);
	free(buf);
	free(head);
	free(got);
	free(junk);
}

static void
names(void)
{
	unsigned char id[SHA256_LEN], back[SHA256_LEN];
	char nm[CHUNK_NAME_MAX];
	int sp = -1, i;

	for (i = 0; i < SHA256_LEN; i++)
		id[i] = (unsigned char)(i * 7 + 3);
	chunk_name(id, 1, nm);
	ok(strlen(nm) == 71 && !strcmp(nm + 64, ".sparse"), "a sparse name: %s", nm);
	ok(chunk_name_parse(nm, strlen(nm), back, &sp) == 0 && sp == 1 &&
	    !memcmp(back, id, SHA256_LEN), "parses back as sparse");
	chunk_name(id, 0, nm);
	ok(strlen(nm) == 64 && chunk_name_parse(nm, 64, back, &sp) == 0 && sp == 0,
	    "a raw name is the hex alone");
	ok(chunk_name_parse(nm, 63, back, &sp) < 0, "short hex is refused");
	nm[3] = 'A';
	ok(chunk_name_parse(nm, 64, back, &sp) < 0, "upper case is refused");
	chunk_name(id, 1, nm);
	nm[70] = 'x';
	ok(chunk_name_parse(nm, 71, back, &sp) < 0, "another suffix is refused");
	ok(chunk_name_parse(nm, 70, back, &sp) < 0, "a cut suffix is refused");
}

int
main(void)
{
	struct chunk c;
	unsigned char head[CHUNK_HDR + 1], *z = calloc(1, 3 * PG);

	prog_init((char *[]){ "chunk", NULL });
	if (!mkdtemp(dir))
		return 1;
	is_int(chunk_npages(1), 1, "one byte is one page");
	is_int(chunk_npages(PG), 1, "4096 bytes are one page");
	is_int(chunk_npages(PG + 1), 2, "4097 bytes are two");
	is_int(chunk_head_len(4 << 20), CHUNK_HDR + 128, "4 MiB: a 128-byte bitmap");
	is_int(chunk_head_len(9 * PG), CHUNK_HDR + 2, "9 pages: two bitmap bytes");
	chunk_make(z, 3 * PG, head, &c);
	ok(c.form == CHUNK_ZERO && c.stored == 0 && c.present == 0, "all zero: not stored");

	round_trip(PG, "d", CHUNK_RAW);
	round_trip(1, "d", CHUNK_RAW);
	round_trip(100, "d", CHUNK_RAW);
	round_trip(4 * PG + 1, "d", CHUNK_RAW);
	round_trip(3 * PG, "z", CHUNK_ZERO);
	round_trip(2 * PG, "dz", CHUNK_SPARSE);
	round_trip(2 * PG, "zd", CHUNK_SPARSE);
	round_trip(PG + 10, "dz", CHUNK_SPARSE);        /* a short zero last page */
	round_trip(PG + 10, "zd", CHUNK_SPARSE);        /* a short present last page */
	round_trip(8 * PG, "dzzd", CHUNK_SPARSE);       /* a full bitmap byte */
	round_trip(9 * PG - 1, "zzdddzdzd", CHUNK_SPARSE);
	round_trip(17 * PG + 4095, "dzdzzzdddd", CHUNK_SPARSE);
	round_trip(1024 * PG, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzd",
	    CHUNK_SPARSE);
	{
		/* the same data at another length is another object */
		unsigned char *a = mkbuf(2 * PG, "dz"), ha[CHUNK_HDR + 1], hb[CHUNK_HDR + 1];
		struct chunk ca, cb;

		chunk_make(a, 2 * PG, ha, &ca);
		chunk_make(a, PG + 1, hb, &cb);
		ok(ca.form == CHUNK_SPARSE && cb.form == CHUNK_SPARSE &&
		    memcmp(ca.id, cb.id, SHA256_LEN) != 0, "the length is part of the name");
		is_int(ca.nruns, 1, "one run of present pages");
		free(a);
	}
	hostile();
	writes();
	names();
	free(z);
	rmdir(dir);
	return done_testing();
}
