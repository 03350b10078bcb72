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
 * at most HINT_MAX_PAGES pages and HINT_MAX_BYTES bytes.  The created_at
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

#include "store.h"

#define HINT_FILE "hint"
#define HINT_MAX_PAGES 16384
#define HINT_MAX_BYTES (64 + 32 + HINT_MAX_PAGES * 13)

struct hint {
	uint64_t *pages;
	size_t n;
};

int hint_parse(const char *text, size_t len, const char *created_at, uint64_t mem_pages,
    struct hint *h);
void hint_free(struct hint *h);
char *hint_format(const char *created_at, const uint64_t *pages, size_t n, size_t *len);
int hint_save(const struct store *s, const char *name, const uint64_t *pages, size_t n);

#endif
