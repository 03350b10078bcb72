/* punch: give a file's zero pages back to the filesystem.
 *
 * Firecracker writes every page of a snapshot's memory file, zero or not,
 * so a mostly idle guest's file takes its whole size on disk.  Punching a
 * hole over each all-zero page keeps the file's size and bytes (a hole
 * reads as zeros) and frees its blocks; a SIGKILL half-way leaves a file
 * that reads the same. */
#ifndef FCSNAP_PUNCH_H
#define FCSNAP_PUNCH_H

#include <stdint.h>

#define PUNCH_PAGE 4096

/* Punch a hole over every all-zero PUNCH_PAGE block (counted from the
 * start; a short last one is left) in the data regions of the regular file path (not following a final symlink).  Returns the
 * bytes newly made holes, 0 as well when the filesystem cannot punch
 * holes (the file is left as it was), or -1 with a message naming path. */
int64_t punch_zero_pages(const char *path);

#endif
