/* pull: fetch a snapshot from S3 into the local store (fc-snap-pull, and
 * the on-demand pull of fc-snap-restore and fc-exec).  Format: manifest.h.
 *
 *   1. GET <prefix>/snapshots/<name>/manifest (validated) and meta.json,
 *      of which only the data is taken (meta_take_data: no firecracker
 *      arguments, kernel, initrd or boot args), its file sizes equal to
 *      the manifest's, mem within its mem_mib (fcsnap-security(7)).
 *   2. Take the local lock of the target name (waiting up to lock_timeout).
 *      If the local <target> is what the last pull of this remote
 *      snapshot published (its record, pullrec.h: the same endpoint, URL,
 *      name, manifest and meta.json, and its files' size, inode, mtime
 *      and ctime unchanged), stop: st->up_to_date is set, nothing is
 *      read or written.
 *   3. Work in snapshots/.pull-<target>/ (files at full size, sparse):
 *      if it holds a previous pull of the same manifest (its "manifest"
 *      copy is identical), every chunk listed in its "journal" is checked
 *      against its hash and kept; otherwise it starts afresh.  The bytes
 *      still to write must fit in the free space of the store, or nothing
 *      is fetched.
 *   4. Every non-zero chunk of the current local snapshot <target> is
 *      named as the manifest names chunks (format 1: SHA-256 of the bytes;
 *      2: of the stored form); a needed one found there (at any offset)
 *      is copied.
 *   5. The rest is downloaded in parallel (each distinct chunk once), its
 *      form checked (chunk.h) and its SHA-256 verified before it is used:
 *      a sparse chunk comes to memory and is checked before it is written
 *      (pwrite at its offsets); a raw one is written straight to its first
 *      offset as it arrives (hashed on the way, cut off past its length)
 *      and only then checked (not in a lazy pull's dir, which fc-pager
 *      may be serving pages from: there it comes to memory first, so
 *      only verified bytes are written).  Either is journaled, and copied to its
 *      other offsets, once its hash is right.  Zero chunks, the zero pages
 *      of sparse chunks and (format 1) the zero pages of raw chunks stay
 *      holes.
 *   6. fsync, meta.json (written here from the data taken, named <target>,
 *      with local disk usage), the pull record, then store_publish: one
 *      atomic rename; one line on stderr names the firecracker arguments
 *      not taken.
 * Failures publish nothing.  A corrupt chunk: "chunk <hex> of <file> at
 * offset N is corrupt on the server ... (push the snapshot again with
 * fc-snap-push --verify=full)".  An interrupted or failed transfer
 * keeps .pull-<target> for the next pull to resume; a local write failure
 * (disk full) removes it, since it holds the space the user needs.
 */
#ifndef FCSNAP_PULL_H
#define FCSNAP_PULL_H

#include <stdint.h>

#include "remote.h"
#include "store.h"

struct pull_opts {
	const char *as;                 /* local name; NULL = the remote name */
	int jobs;                       /* parallel downloads (1..64; fewer
	                                   for chunks over PULL_MEM_BUDGET / 8) */
	int verbose;                    /* progress even without a terminal */
	long long lock_timeout_ms;      /* < 0: wait forever */
	int lazy;                       /* pull_lazy: all but mem's chunks */
	int local_texts;                /* pull_lazy_publish: the manifest and
					 * meta.json kept in the dir */
};
#define PULL_OPTS_INIT { NULL, 8, 0, -1, 0, 0 }
/* A chunk not written straight to its file (sparse, or for a shared
 * disk) is held in memory whole while it arrives, up to the size its
 * position allows: the downloads at once are cut so that they hold at
 * most this much, whatever chunk size the bucket chose (1 GiB chunks
 * come one at a time). */
#define PULL_MEM_BUDGET (256ULL << 20)

/* The index of mem in manifest_files, and the copy of the bucket's
 * meta.json a lazy pull keeps in its dir. */
#define PULL_MEM 1
#define PULL_LAZY_META "meta.remote"

struct pull_stats {
	uint64_t total;                 /* chunk positions in all files */
	uint64_t downloaded;            /* distinct chunks fetched */
	uint64_t reused_local;          /* positions copied from the old local snapshot */
	uint64_t resumed;               /* positions kept from an interrupted pull */
	uint64_t duplicate;             /* positions copied from another of this pull */
	uint64_t zero;                  /* all-zero positions (holes) */
	uint64_t bytes;                 /* bytes downloaded (stored objects) */
	uint64_t bytes_raw;             /* the chunk bytes they hold */
	double seconds;
	int up_to_date;                 /* nothing to do (step 2) */
};

/* Pull remote snapshot name into the store. 0 or -1 (message). */
int pull_snapshot(struct remote *r, const struct store *s, const char *name,
    const struct pull_opts *o, struct pull_stats *st);

/* For fc-snap-restore and fc-exec: make sure snapshot name is in the
 * store.  Present: 0 at once.  Missing and url (or $FCSNAP_REMOTE) set:
 * pull it (a line on stderr says so), 0 or -1.  Missing and no remote: -1
 * with "no snapshot named X in DIR (set FCSNAP_REMOTE or pass --remote to
 * pull it)". */
int pull_if_missing(const struct store *s, const char *name, const char *url);

/* Lazy remote restore (fc-snap-restore --lazy, fc-exec -s --lazy): when
 * snapshot name is missing and url (or $FCSNAP_REMOTE) is set, do steps
 * 1-5 above under the name's lock for vmstate and rootfs.ext4 only (and
 * the mem positions that share a chunk with them), then write, beside the
 * full-size files, meta.json (named name, for the restore) and
 * PULL_LAZY_META (the bucket's), and stop: nothing is published.  The
 * dir path goes to dir, the remote URL (malloc'd) to *url_out, for
 * fc-pager --pull (lazysrc.h), which fetches mem's chunks into the same
 * dir, journals them and publishes.  0 ready; 1 nothing to do (the
 * snapshot is in the store, or no remote is set); -1 (message). */
int pull_lazy(const struct store *s, const char *name, const char *url, char *dir,
    size_t n, char **url_out);
/* Publish a lazy pull whose chunks are all journaled, exactly as
 * fc-snap-pull does (steps 2-6, the texts read from its dir and checked
 * again, every journaled chunk verified again, any missing one fetched).
 * 0 (also when another publisher was first), or -1 (message). */
int pull_lazy_publish(const struct store *s, const char *name, const char *url);

#endif
