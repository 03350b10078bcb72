/* push: ship a local snapshot to S3 as deduplicated chunks (fc-snap-push),
 * the mirror of pull.h.  Format: manifest.h.
 *
 *   1. push_open: the snapshot dir is opened once and its three files and
 *      meta.json are opened and read through that fd, so a refresh that
 *      publishes meanwhile cannot mix generations.  Nothing remote yet: a
 *      missing or broken snapshot is reported before the remote is opened.
 *   2. push_snapshot: LIST <prefix>/chunks/ once, first.
 *   3. Each chunk is read (holes found with SEEK_DATA/SEEK_HOLE and never
 *      read) and named in its stored form (chunk.h: null, raw, or sparse
 *      without its zero pages).  Skipped: all-zero chunks, chunks the
 *      bucket has (same name and size), chunks this push sent already.
 *   4. Any other chunk's PUT starts at once (up to jobs curl processes, see
 *      s3.h), so hashing overlaps the network.  Bodies are file ranges
 *      (plus the sparse header) spliced to curl, signed with the object's
 *      SHA-256, which the server checks.
 *   4b. With verify, each distinct chunk skipped as listed is checked (in
 *      the same pool, beside the PUTs): PUSH_VERIFY_HEAD HEADs it,
 *      PUSH_VERIFY_FULL GETs it and hashes the body (dropped, never
 *      stored; a body longer than the object should be is cut off and
 *      wrong).  One that is missing (a server that quarantined a
 *      corrupted object keeps listing it, GET and HEAD 404), has another
 *      size than its name says, or (full) whose SHA-256 is not its name
 *      is read again and sent after the scan (stats: verified, repaired;
 *      it no longer counts as present).  HEAD does not read the content
 *      back: only full sees a corruption that kept the size.
 *   5. PUT meta.json, then the manifest, last: a pull never finds a
 *      manifest whose chunks are not all on the server.
 * Failures publish nothing (no manifest is written); neither does
 * SIGINT/SIGTERM once remote_catch_signals() is in place (remote.h):
 * "interrupted; nothing was published (no manifest was written)".  Chunks
 * already uploaded stay and the next push skips them.  With dry_run only
 * steps 1-3 (and 4b's HEADs) run (nothing is sent) and the stats say what
 * would be.
 *
 * Process-wide state: one push per process, push_open then push_snapshot.
 */
#ifndef FCSNAP_PUSH_H
#define FCSNAP_PUSH_H

#include <stdint.h>

#include "manifest.h"
#include "remote.h"
#include "store.h"

struct push_opts {
	int jobs;                       /* parallel uploads (1..64) */
	int dry_run;                    /* name and count chunks, send nothing */
	int verbose;                    /* progress even without a terminal */
	uint64_t chunk_size;            /* MANIFEST_MIN_CHUNK..MANIFEST_MAX_CHUNK */
	int verify;                     /* check the listed chunks relied on:
	                                   0, PUSH_VERIFY_HEAD or _FULL */
};
#define PUSH_VERIFY_HEAD 1
#define PUSH_VERIFY_FULL 2
#define PUSH_OPTS_INIT { 8, 0, 0, MANIFEST_DEF_CHUNK, 0 }

struct push_stats {
	uint64_t total;                 /* chunk positions in all files */
	uint64_t uploaded;              /* distinct chunks sent (or to send, dry run) */
	uint64_t zero;                  /* all-zero positions (not stored) */
	uint64_t present;               /* positions the bucket had already */
	uint64_t dup;                   /* positions sent earlier in this push */
	uint64_t bytes;                 /* bytes uploaded (stored objects) */
	uint64_t raw;                   /* the chunk bytes they hold */
	uint64_t chunk_size;            /* of the manifest */
	uint64_t verified;              /* verify: distinct listed chunks checked */
	uint64_t repaired;              /* of those, missing or of another size */
};

/* Open snapshot name of the store for a push. 0 or -1 (message; nothing
 * is left open). */
int push_open(const struct store *s, const char *name, const struct push_opts *o);

/* Push the snapshot push_open opened to the remote r (remote_open'd).
 * 0 or -1 (message).  *st is filled either way; the snapshot is closed. */
int push_snapshot(struct remote *r, struct push_stats *st);

#endif
