/* hint: a snapshot's working-set hint -- the guest memory pages the first
 * lazy restore of it touched in its first seconds, so that the next lazy
 * restore from a bucket fetches the chunks holding them first, in
 * parallel, before the VM starts (pull.h: pull_lazy).
 *
 * A file "hint" beside meta.json in the snapshot dir (mode 0600, written
 * atomically), and an object <prefix>/snapshots/<name>/hint beside the
 * manifest (fcsnap-s3(5)).  Text:
 *     fcsnap-hint 1\n
 *     created_at <the snapshot's created_at>\n
 *     <page>\n ...            4 KiB page numbers in mem, strictly ascending
 * at most HINT_MAX_PAGES pages and HINT_MAX_BYTES bytes.  The object a
 * push uploads is format 2: "fcsnap-hint 2", the same stamp and pages,
 * then where the hinted pages' bytes are in the stored chunks, so that a
 * lazy restore fetches just them (ranged GETs) and checks each block:
 *     blocks <chunk_size>\n  (a multiple of HINT_BLOCK)
 *     <block> <mask> <skip> <sha256>\n ...   strictly ascending blocks
 * block: a HINT_BLOCK-sized block of mem holding hinted pages (those of
 * all-zero chunks are left out); mask: 4 hex digits, bit i set = its page
 * i is not all zero (0000: the block is all zero, nothing to fetch); skip: the non-zero pages of its chunk before it (for a raw
 * chunk, simply its page offset in the chunk); sha256: 64 hex digits, the
 * SHA-256 of its non-zero pages in order -- which are one range of the
 * stored chunk object (hint_block_range; empty for mask 0000).  The
 * blocks are the hint's word, as the chunks are the manifest's: both come
 * from the bucket, and a block's bytes are checked against its SHA-256
 * here, its chunk's against its name when the chunk arrives.  The created_at
 * ties it to one generation of the snapshot: a hint of another one is
 * stale and ignored.  From a bucket it is hostile input: anything that is
 * not exactly this (an unknown version, a page past the end of mem, pages
 * out of order, a stray byte, too long) is refused whole.
 *
 *   hint_parse    text -> pages.  0 ok, 1 stale (another created_at), -1
 *                 refused (message: why, for "its hint is ignored: ...")
 *   hint_format   pages (sorted, unique) -> text (malloc'd), or NULL
 *   hint_save     record pages as the hint of snapshot name in the store,
 *                 unless it has one: under the name's lock, into
 *                 snapshots/<name> when published, else into the lazy pull
 *                 dir snapshots/.pull-<name> (which keeps it when it is
 *                 published); stamped with that dir's meta.json created_at.
 *                 0 written, 1 nothing to do (a hint is there, no such
 *                 snapshot, no pages), -1 (message)
 */
#ifndef FCSNAP_HINT_H
#define FCSNAP_HINT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "sha256.h"
#include "store.h"

#define HINT_FILE "hint"
#define HINT_MAX_PAGES 16384
#define HINT_BLOCK (64 * 1024)
#define HINT_MAX_BYTES (64 + 32 + 32 + HINT_MAX_PAGES * (13 + 13 + 5 + 8 + 65))

struct hint_block {
	uint64_t block;                 /* mem bytes [block, block + 1) * HINT_BLOCK */
	unsigned mask;                  /* its non-zero pages */
	uint64_t skip;                  /* non-zero pages of its chunk before it */
	unsigned char sha[SHA256_LEN];  /* of its non-zero pages */
};

struct hint {
	uint64_t *pages;
	size_t n;
	struct hint_block *blk;         /* format 2, else none */
	size_t nblk;
	uint64_t chunk_size;            /* of the push that wrote the blocks */
};

int hint_parse(const char *text, size_t len, const char *created_at, uint64_t mem_pages,
    struct hint *h);
void hint_free(struct hint *h);
char *hint_format(const char *created_at, const uint64_t *pages, size_t n, size_t *len);
int hint_save(const struct store *s, const char *name, const uint64_t *pages, size_t n);

/* Format 2 (a push's): hint_blocks_make finds the blocks of pages (sorted)
 * in memfd (mem, its chunks as the manifest entry mem lists them, of
 * chunk_size bytes; none when that is not a multiple of HINT_BLOCK);
 * *out is malloc'd.  0 or -1.  hint_format_blocks writes the text. */
int hint_blocks_make(int memfd, uint64_t mem_size, const struct mfile *mem,
    uint64_t chunk_size, const uint64_t *pages, size_t n, struct hint_block **out,
    size_t *nout);
char *hint_format_blocks(const char *created_at, const uint64_t *pages, size_t n,
    uint64_t chunk_size, const struct hint_block *blk, size_t nblk, size_t *len);
/* Where block b's bytes are in its stored chunk object (mem as a
 * manifest lists it, chunk_size the manifest's): [*off, *off + *len).
 * -1 when the block cannot be there (a zero chunk, a raw chunk with a
 * zero page, past the chunk...): a hostile or stale hint. */
int hint_block_range(const struct hint_block *b, uint64_t chunk_size, const struct mfile *mem,
    uint64_t *off, uint64_t *len);

#endif
