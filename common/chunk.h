/* chunk: the stored forms of one chunk (remote format 2, fcsnap-s3(5)).
 *
 * A chunk is the len bytes (len >= 1) of one range of a snapshot file,
 * seen as pages of CHUNK_PAGE bytes counted from its start (the last page
 * may be short).  It is stored in one of three forms:
 *   zero    every byte is 0: not stored (null in the manifest);
 *   raw     no page is all zero: the bytes themselves, at chunks/<hex>,
 *           hex = SHA-256 of the bytes (as in format 1);
 *   sparse  otherwise: at chunks/<hex>.sparse, the object
 *             "fcsparse" | len (uint64 LE) | bitmap | present pages
 *           bitmap: ceil(npages / 8) bytes, bit i (LSB-first in byte i/8)
 *           set = page i is present; padding bits 0; the present pages
 *           follow in order, each CHUNK_PAGE bytes but the last page of
 *           the chunk, which is its short length.  hex = SHA-256 of the
 *           whole object.  At least one page is absent and one present.
 * Packing is injective (the length is in the header), so the name is a
 * content address; zero pages are never hashed, uploaded nor downloaded.
 *
 *   struct chunk c;
 *   chunk_make(buf, len, head, &c);         // head: chunk_head_len(len) bytes
 *   n = chunk_segs(&c, head, fd, off, segs); // the upload body, segs[c.nruns + 1]
 *   ... chunk_check(obj, n, len, sparse)     // a downloaded object, then
 *   chunk_put_sparse(fd, off, obj, len, punch);
 * The head buffer holds the sparse header and bitmap for every form (for
 * raw all bits are set), so it doubles as the page map of buf.
 */
#ifndef FCSNAP_CHUNK_H
#define FCSNAP_CHUNK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "s3.h"
#include "sha256.h"

#define CHUNK_PAGE      4096
#define CHUNK_MAGIC     "fcsparse"
#define CHUNK_MAGIC_LEN 8
#define CHUNK_HDR       16                      /* magic + length */
#define CHUNK_SUFFIX    ".sparse"
/* "<64 hex>.sparse" and a NUL */
#define CHUNK_NAME_MAX  (SHA256_HEX_LEN + sizeof CHUNK_SUFFIX)

enum { CHUNK_ZERO, CHUNK_RAW, CHUNK_SPARSE };

struct chunk {
	int form;                       /* CHUNK_* */
	uint64_t len;                   /* raw length */
	uint64_t npages, present;       /* pages, and those not all zero */
	uint64_t nruns;                 /* runs of consecutive present pages */
	uint64_t stored;                /* the stored object's size (0: zero) */
	unsigned char id[SHA256_LEN];   /* its SHA-256 (unset for zero) */
};

/* Pages of a chunk of len bytes, and CHUNK_HDR + the bitmap's size. */
uint64_t chunk_npages(uint64_t len);
size_t chunk_head_len(uint64_t len);
/* Is page i set in bitmap map? */
int chunk_bit(const unsigned char *map, uint64_t i);

/* Classify buf[0, len) and name it: c gets the form, id, sizes; head
 * (chunk_head_len(len) bytes) gets the sparse header and bitmap. */
void chunk_make(const unsigned char *buf, uint64_t len, unsigned char *head,
    struct chunk *c);

/* The stored body of c, whose bytes are those of fd at off, as upload
 * pieces: sparse: head (in memory) then each run of present pages as a
 * range of fd; raw: the one range.  segs holds c->nruns + 1.  Returns the
 * count (0 for a zero chunk). */
size_t chunk_segs(const struct chunk *c, const unsigned char *head, int fd, off_t off,
    struct s3_seg *segs);

/* The object name under chunks/: "<hex>" or "<hex>.sparse" (out holds
 * CHUNK_NAME_MAX). */
void chunk_name(const unsigned char id[SHA256_LEN], int sparse, char *out);
/* Parse such a name (exactly, lower-case hex). 0 or -1. */
int chunk_name_parse(const char *s, size_t n, unsigned char id[SHA256_LEN], int *sparse);
/* The largest object a chunk of len bytes can be stored as. */
uint64_t chunk_max_stored(uint64_t len, int sparse);

/* Check a downloaded object of n bytes against the chunk's raw length:
 * raw: n == len; sparse: the magic, the header's length == len, padding
 * bits clear, at least one page present and one absent, n == the header,
 * bitmap and present pages exactly (nothing missing, nothing trailing).
 * 0, or -1 with the reason ("bitmap padding bits set", ...). The hash is
 * the caller's to check. */
int chunk_check(const unsigned char *obj, size_t n, uint64_t len, int sparse);

/* Write a chunk of len bytes at off of fd.  Pages known to be zero are not
 * written: left as holes of a fresh file, or punched when punch (a resumed
 * file may hold a torn write there; written as zeros where punching is not
 * supported).  0, or -1 with errno (ENOSPC for a short write).
 *   put_raw:    data is the chunk; with scan, all-zero pages are found by
 *               looking, else everything is written;
 *   put_pages:  data is the chunk, map its bitmap (from chunk_make);
 *   put_sparse: obj is a sparse object that passed chunk_check. */
int chunk_put_raw(int fd, off_t off, const unsigned char *data, uint64_t len,
    int scan, int punch);
int chunk_put_pages(int fd, off_t off, const unsigned char *data, uint64_t len,
    const unsigned char *map, int punch);
int chunk_put_sparse(int fd, off_t off, const unsigned char *obj, uint64_t len, int punch);
/* data is the chunk already written whole at off of fd: punch its
 * all-zero pages into holes (or write them as zeros where punching is not
 * supported).  0, or -1 with errno. */
int chunk_punch_zero(int fd, off_t off, const unsigned char *data, uint64_t len);

#endif
