/* lazysrc: the remote source of fc-pager --pull (a lazy restore of a
 * snapshot that is not in the store yet, pull.h: pull_lazy).
 *
 * The pull dir (snapshots/.pull-<name>/) holds full-size sparse files,
 * the manifest, and the journal: one line "<file> <chunk>" per chunk
 * written and verified (written after its data).  vmstate and rootfs.ext4
 * are complete; mem's chunks arrive here, each of them
 *   locked     an OFD write lock on byte <chunk> of the journal
 *              (F_OFD_SETLKW): one process fetches a chunk, the others
 *              wait for it and then find it journaled; the lock dies with
 *              its holder, so a killed fetcher only leaves a chunk that
 *              is not journaled (any torn bytes are overwritten)
 *   fetched    GET chunks/<hex>[.sparse] (bounded by its largest stored
 *              size), retried until fetch_ms has passed
 *   checked    its form (chunk_check) and SHA-256 before one byte of it
 *              is written, so nothing unverified is ever served
 *   written    at its offset in mem (zero pages punched), then journaled.
 * Every process that serves or fills the same pull dir takes part
 * (several lazy restores of one snapshot share one download), and so does
 * a resumed fc-snap-pull, which writes the same verified bytes.
 *
 *   lazysrc_open   the dir's manifest (parsed and checked again), its mem
 *                  and journal, and the remote
 *   lazysrc_need   the chunks of mem's [off, off+len): 0 they were all
 *                  present at the open or a former call, 1 one arrived
 *                  since (the caller looks for holes in it again), -1 they cannot be (message set: a transport
 *                  failure past fetch_ms, a chunk missing or corrupt)
 *   lazysrc_fill   every chunk not present, in ascending order, four
 *                  at a time (each locked before its GET is started,
 *                  journaled after its bytes, unlocked after that), those
 *                  another process holds last, each started once no
 *                  fault has come for idle_ms (demand goes first); 0 or -1
 *   lazysrc_publish  all present: publish as fc-snap-pull would
 *                  (pull_lazy_publish); 0 or -1
 *   lazysrc_hint   the blocks of the dir's working-set hint (format 2,
 *                  hint.h; checked again: it came from a bucket) to
 *                  prefetch: those whose chunk is not here, when every
 *                  block's range fits the manifest (else none, one line)
 *                  -> pre_blk, pre_mask, npre for pager_prefetch; 0 or -1
 *   lazysrc_prefetch  pager.h's prefetch: each of those blocks by a
 *                  ranged GET of its chunk's object (PREFETCH_JOBS
 *                  connections), its length and SHA-256 checked against
 *                  the hint before one byte of it is put in place; never
 *                  written into the pull dir (the chunks that hold them
 *                  arrive whole, checked by their own names)
 */
#ifndef FCSNAP_LAZYSRC_H
#define FCSNAP_LAZYSRC_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "manifest.h"
#include "remote.h"
#include "sha256.h"

struct lazysrc_stats {
	uint64_t fetched;               /* chunks downloaded by this process */
	uint64_t bytes;                 /* their stored bytes */
	uint64_t shared;                /* chunks another process brought */
	uint64_t pre, pre_bytes;        /* hint blocks prefetched, their bytes */
};

/* A block to prefetch (its number and mask: pre_blk, pre_mask) */
struct lazysrc_pre {
	uint64_t off, len;              /* its range in its chunk's object */
	unsigned char sha[SHA256_LEN];  /* of those bytes, the hint says */
};

struct lazysrc {
	char dir[PATH_MAX];
	char name[64];                  /* the snapshot (from the dir's name) */
	char *url;
	struct remote r;
	int ropen;
	struct manifest m;
	int memfd, jfd;
	pid_t owner;                    /* the process jfd was opened by */
	uint64_t jpos;                  /* journal read up to here */
	unsigned char *have;            /* mem chunk present (journaled) */
	unsigned char *seen;            /* present, and lazysrc_need said so */
	uint64_t nchunks, nhave;
	long long fetch_ms;
	int64_t *last_fault;            /* the fill waits until idle_ms have
					 * passed since (NULL: never waits);
					 * the prefetch sets it per block */
	long long idle_ms;
	int fatal;                      /* the last failure was not the
					 * transport's: retrying cannot help */
	struct lazysrc_stats st;
	/* the hint's blocks to prefetch (lazysrc_hint) */
	struct lazysrc_pre *pre;
	uint64_t *pre_blk;
	unsigned *pre_mask;
	size_t npre;
};

int lazysrc_open(struct lazysrc *s, const char *dir, const char *url, long long fetch_ms);
void lazysrc_free(struct lazysrc *s);
int lazysrc_need(struct lazysrc *s, uint64_t off, uint64_t len);
int lazysrc_fill(struct lazysrc *s);
int lazysrc_publish(struct lazysrc *s);
int lazysrc_hint(struct lazysrc *s);
int lazysrc_prefetch(void *s, unsigned char *pre, int fd);

#endif
