/* tree: directory trees: copy one (for staging), measure one, and remove
 * one from a signal handler.
 *
 * tree_copy() never follows a symlink in either tree: everything is opened
 * relative to a directory fd with O_NOFOLLOW.  Regular files are hard-linked
 * into the destination when both are on one filesystem and linking is
 * allowed (cheap, and the source is never written: callers that change a
 * staged file must write a new file and rename it over), else copied.
 * Hard links inside the source stay hard links.  Modes, times and (with
 * TREE_OWNER) owners are kept; device nodes are created only with
 * TREE_DEVICES (else counted as skipped); sockets are skipped.
 */
#ifndef FCSNAP_TREE_H
#define FCSNAP_TREE_H

#include <stdint.h>

enum {
	TREE_OWNER = 1,         /* keep uid/gid (needs root) */
	TREE_DEVICES = 2,       /* create device nodes (needs root) */
};

struct tree_stats {
	uint64_t entries;
	uint64_t linked;        /* files hard-linked instead of copied */
	uint64_t skipped_devices;
	uint64_t skipped_sockets;
};

/* Copy the contents of directory srcfd into directory dstfd (which should
 * be empty).  srcname is used in messages.  0 or -1 (message set). */
int tree_copy(int srcfd, const char *srcname, int dstfd, int flags, struct tree_stats *st);

/* What a tree needs on an ext4 filesystem with 4 KiB blocks: data bytes
 * (files and long symlinks rounded up to blocks, directories by their
 * entries, hard links counted once) and the number of inodes. */
struct tree_usage {
	uint64_t bytes;
	uint64_t inodes;
};
int tree_usage(int dirfd, const char *name, struct tree_usage *u);

/* rm -rf path using only async-signal-safe calls (for SIGINT/SIGTERM
 * handlers); best effort, no message. */
void tree_remove_sigsafe(const char *path);

#endif
