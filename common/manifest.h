/* manifest: the remote (S3) snapshot format, see fcsnap-s3(5).
 *
 *   <prefix>/chunks/<sha256hex>            one raw chunk (content-addressed)
 *   <prefix>/chunks/<sha256hex>.sparse     one chunk without its zero pages
 *                                          (format 2; see chunk.h)
 *   <prefix>/snapshots/<name>/meta.json     the snapshot's meta.json
 *   <prefix>/snapshots/<name>/manifest      written last:
 *   {"format":2,"name":"py","chunk_size":4194304,"created_at":"...Z",
 *    "files":[{"name":"vmstate","size":N,"mode":384,"chunks":["<hex>",null,..]},
 *             {"name":"mem",...,"chunks":["<hex>.sparse",...]},
 *             {"name":"rootfs.ext4",...}]}
 * Chunk i of a file covers [i*chunk_size, min(size, (i+1)*chunk_size));
 * null marks an all-zero chunk (never stored); a string names the object
 * under chunks/. A file has exactly ceil(size / chunk_size) chunks.
 * manifest_write writes "format":2 when any chunk is sparse, else 1 (which
 * older readers read); manifest_parse takes both and refuses a sparse entry
 * in format 1.
 *
 * Parsing validates everything a hostile manifest could abuse: the three
 * file names exactly once each (no paths), sizes consistent with the chunk
 * counts, chunk_size in [MANIFEST_MIN_CHUNK, MANIFEST_MAX_CHUNK], each
 * file at most MANIFEST_MAX_FILE bytes (vmstate MANIFEST_MAX_VMSTATE),
 * hex well-formed, mode within 0777, the text at most MANIFEST_MAX_BYTES,
 * and one stored object per name: a chunk name that appears at several
 * positions has the same length at each and one form (raw or sparse, never
 * both), so a downloaded object checked against one position fits all.
 * What the manifest must agree with in meta.json is pull.c's to check.
 */
#ifndef FCSNAP_MANIFEST_H
#define FCSNAP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define MANIFEST_FORMAT      2       /* the newest format read and written */
#define MANIFEST_NFILES      3
#define MANIFEST_MIN_CHUNK   (64ULL * 1024)
#define MANIFEST_MAX_CHUNK   (1ULL << 30)
#define MANIFEST_DEF_CHUNK   (4ULL << 20)
#define MANIFEST_MAX_BYTES   (16u << 20)
#define MANIFEST_MAX_FILE    (1ULL << 40)    /* 1 TiB: mem, rootfs.ext4 */
#define MANIFEST_MAX_VMSTATE (1ULL << 30)    /* 1 GiB */

/* The files of a snapshot that travel as chunks, in manifest order. */
extern const char *const manifest_files[MANIFEST_NFILES];

struct mchunk {
	unsigned char sha[SHA256_LEN];  /* the stored object's SHA-256 */
	int zero;               /* all-zero: not stored, sha unused */
	int sparse;             /* stored as <hex>.sparse (chunk.h) */
};

struct mfile {
	const char *name;       /* one of manifest_files (static) */
	uint64_t size;
	unsigned mode;          /* permission bits */
	uint64_t nchunks;
	struct mchunk *chunks;
};

struct manifest {
	int format;             /* parsed: 1 or 2; written: from the chunks */
	char name[64];
	char created_at[32];
	uint64_t chunk_size;
	struct mfile files[MANIFEST_NFILES];    /* in manifest_files order */
};

/* Zero m and set chunk_size, nchunks from sizes; allocates chunk arrays
 * (all marked zero). 0 or -1. */
int manifest_init(struct manifest *m, const char *name, uint64_t chunk_size,
    const uint64_t sizes[MANIFEST_NFILES], const unsigned modes[MANIFEST_NFILES]);
void manifest_free(struct manifest *m);
/* Length of chunk i of f. */
uint64_t manifest_chunk_len(const struct manifest *m, const struct mfile *f, uint64_t i);
/* Render as JSON, malloc'd and NUL-terminated (format 2 when a chunk is
 * sparse, else 1), or NULL + message. */
char *manifest_write(const struct manifest *m);
/* Parse and validate; m is zeroed first and freed on failure. -1 with
 * "manifest is damaged: <reason>". */
int manifest_parse(const char *js, size_t len, struct manifest *m);
/* 64 lower-case hex digits -> digest. 0 or -1. */
int manifest_hex(const char *s, size_t n, unsigned char out[SHA256_LEN]);

#endif
