/* tar: a streaming reader for tar archives (ustar, GNU long names
 * "././@LongLink" types L/K, pax extended headers) and a safe extractor.
 * Our own code; no libarchive.
 *
 * Reader: tar_open() on a readable fd (a pipe is fine: the stream is read
 * once, front to back), then tar_next() for each entry and tar_read() for
 * its data.  Entry paths are checked and normalised by the reader: an
 * absolute path or a ".." component is an error naming the entry; leading
 * "./", repeated and trailing slashes and "." components are dropped (the
 * archive's root entry "./" comes back with path "").  Hard-link targets
 * get the same checks; symlink targets are data and are returned as is.
 * A bad header checksum, a stream that ends inside a header or inside an
 * entry's data, or one that ends without the end-of-archive blocks is an
 * error ("... truncated ...").  Unsupported entry kinds (GNU sparse files,
 * multi-volume parts, unknown types) are errors naming the entry.
 *
 * Extractor: tar_extract() creates every entry beneath a directory fd
 * without ever following a symlink on the host: each path component is
 * opened with O_NOFOLLOW relative to the previous one, so an entry can
 * never escape the directory through an earlier symlink entry (it is
 * refused instead).  Later entries replace earlier ones of the same name
 * (as tar(1) does); directory modes and times are applied at the end.
 */
#ifndef FCSNAP_TAR_H
#define FCSNAP_TAR_H

#include <stdint.h>
#include <sys/types.h>

enum tar_type {
	TAR_REG = 1, TAR_DIR, TAR_SYMLINK, TAR_HARDLINK, TAR_CHR, TAR_BLK, TAR_FIFO
};

struct tar_entry {
	const char *path;       /* normalised, relative; "" is the root */
	const char *linkpath;   /* symlink target (as is) / hard-link target (normalised) */
	enum tar_type type;
	mode_t mode;            /* permission bits, 07777 */
	uid_t uid;
	gid_t gid;
	uint64_t size;          /* data bytes (regular files only; 0 otherwise) */
	int64_t mtime;          /* seconds since the epoch */
	unsigned devmajor, devminor;
};

struct tar_reader;

/* name is used in messages ("stdin", a file name).  Never fails except
 * for memory; NULL then, message set. */
struct tar_reader *tar_open(int fd, const char *name);
/* Give back n <= 65536 bytes already read from fd (e.g. to sniff a
 * compression magic); only before the first tar_next(). 0 or -1. */
int tar_unread(struct tar_reader *r, const void *buf, size_t n);
/* Next entry: 1 and *e set (valid until the next call), 0 at the end of
 * the archive (the rest of the stream is drained, so a writer piping into
 * us does not get SIGPIPE), -1 on error (message set).  Unread data of the
 * previous entry is skipped. */
int tar_next(struct tar_reader *r, const struct tar_entry **e);
/* Read up to n bytes of the current entry's data; 0 at its end, -1 on
 * error (truncated stream: message names the entry). */
ssize_t tar_read(struct tar_reader *r, void *buf, size_t n);
void tar_close(struct tar_reader *r);

/* Extraction flags. */
enum {
	TAR_X_OWNER = 1,        /* apply uid/gid from the archive (needs root) */
	TAR_X_DEVICES = 2,      /* create device nodes (needs root); else skip them */
};

struct tar_stats {
	uint64_t entries;       /* entries created */
	uint64_t bytes;         /* file data written */
	uint64_t skipped_devices;
};

/* Called for every entry after it was handled; created is 1 when it is
 * on disk now, 0 when it was skipped (a device node without
 * TAR_X_DEVICES).  A negative return stops the extraction (message set). */
typedef int (*tar_hook)(void *ctx, const struct tar_entry *e, int created);

/* Extract the whole archive read by r into the directory dirfd (which
 * should be empty).  hook may be NULL.  Returns 0 or -1 with a message
 * naming the entry; on error the directory holds a partial tree the caller
 * removes.  The caller still closes r. */
int tar_extract(struct tar_reader *r, int dirfd, int flags, struct tar_stats *st,
    tar_hook hook, void *ctx);

#endif
