/* copy: file copies that keep holes and share blocks where they can. */
#ifndef FCSNAP_COPY_H
#define FCSNAP_COPY_H

#include <sys/types.h>

enum { COPY_REFLINK = 1, COPY_SPARSE = 2, COPY_LINK = 3 };

/* Copy src to dst (created with mode, must not exist).  Tries a reflink
 * (FICLONE) first, else copies only the data regions (SEEK_DATA/SEEK_HOLE
 * with copy_file_range), leaving holes.  fsyncs dst when sync is set.
 * Returns COPY_REFLINK or COPY_SPARSE, or -1 (dst removed, message set,
 * e.g. "copying X to Y: No space left on device"). */
int copy_file(const char *src, const char *dst, mode_t mode, int sync);

/* dst becomes a hard link to the file open as fd (through /proc/self/fd,
 * so it is that very inode even if its name was replaced meanwhile).
 * COPY_LINK, or -1 with errno (EXDEV: another filesystem) and the message. */
int link_fd(int fd, const char *dst);

/* "reflink", "sparse" or "link" */
const char *copy_kind_name(int kind);

#endif
