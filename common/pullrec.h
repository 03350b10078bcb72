/* pullrec: the record a pull leaves in the snapshot it publishes
 * (<dir>/pulled), so that the next pull of the same remote snapshot sees,
 * without reading the files, that neither side changed (pull.h step 0).
 *
 * The record is text naming the remote (endpoint, s3:// URL, name), the
 * SHA-256 of the manifest and of the remote meta.json as fetched, and for
 * each snapshot file and the local meta.json its size, inode, mtime and
 * ctime (ns).  It is never parsed: a later pull builds the record it would
 * write now and compares the bytes.  A file written, touched, chmod'ed or
 * replaced since has another ctime (or inode), so the record no longer
 * matches and the pull does its full work (and records afresh).
 */
#ifndef FCSNAP_PULLREC_H
#define FCSNAP_PULLREC_H

#include <stddef.h>

#define PULLREC_FILE "pulled"

struct pullrec_src {
	const char *endpoint;           /* scheme://host/base, as requests go */
	const char *url;                /* s3://bucket[/prefix] */
	const char *name;               /* the remote snapshot name */
	const char *manifest, *meta;    /* the texts as fetched */
	size_t manifest_len, meta_len;
};

/* Write the record into dir (a snapshot dir whose files are final).
 * 0 or -1 (message). */
int pullrec_write(const char *dir, const struct pullrec_src *src);
/* 1 if dir holds a record equal to the one pullrec_write would write now,
 * else 0 (a missing, foreign or unreadable record is "no"). */
int pullrec_matches(const char *dir, const struct pullrec_src *src);

#endif
