/* rootfs: build an ext4 root filesystem image for a Firecracker guest from
 * a directory or a tar stream on fd 0, with fc-agent installed and started
 * at boot -- the engine of fc-rootfs.
 *
 *   1. Stage the tree in a temp dir beside the output (.OUT.stage.XXXXXX):
 *      from o->dir copied with hard links where possible (owners and device
 *      nodes only as root: as non-root device nodes are skipped with a
 *      warning), else from a tar stream on fd 0, plain or gzip (through
 *      `gzip -dc`; xz, zstd and bzip2 are refused with the command to
 *      decompress).
 *      Every path inside the image is resolved as the guest would
 *      (openat2 RESOLVE_IN_ROOT), so a hostile tree's symlinks cannot
 *      reach out of the staging dir.
 *   2. Install the agent (o->agent) as /usr/sbin/fc-agent and have it
 *      started at boot by o->init.  ROOTFS_INIT_AUTO: no /sbin/init
 *      makes the agent PID 1; else systemd, OpenRC, busybox init or a sysv
 *      inittab, found in the tree; none of them fails with a message
 *      naming the --init choices.
 *   3. Size the image: o->size, or content + 50% + 64M (refused when the
 *      content does not fit the given size).
 *   4. `mkfs.ext4 -d STAGE` into a temp image beside the output
 *      (.OUT.tmp.XXXXXX); as non-root in a user namespace where we are
 *      root, then what the staged files of a tar could not carry (other
 *      owners, device nodes) applied with `debugfs -w`.
 *   5. fsync, mode 0644, rename onto o->out.
 * Nothing half-made is left on any failure: the stage dir and the temp
 * image are removed before rootfs_build returns.
 *
 * Process-wide: one build per process.  rootfs_build installs handlers for
 * SIGINT, SIGTERM and SIGHUP that kill its children (gzip, mkfs, debugfs),
 * remove the stage dir and the temp image, and re-raise the signal.
 */
#ifndef FCSNAP_ROOTFS_H
#define FCSNAP_ROOTFS_H

#include <stddef.h>
#include <stdint.h>

enum rootfs_init {
	ROOTFS_INIT_AUTO, ROOTFS_INIT_AGENT, ROOTFS_INIT_OPENRC, ROOTFS_INIT_SYSTEMD,
	ROOTFS_INIT_BUSYBOX, ROOTFS_INIT_SYSV
};
#define ROOTFS_INIT_COUNT 6
/* "auto", "agent", "openrc", "systemd", "busybox", "sysv": the --init
 * names, indexed by enum rootfs_init. */
extern const char *const rootfs_init_names[ROOTFS_INIT_COUNT];

struct rootfs_opts {
	const char *dir;                /* input tree; NULL: a tar stream on fd 0 */
	const char *out;                /* the image to write (replaced atomically) */
	const char *agent;              /* the fc-agent binary to install */
	const char *label;              /* filesystem label, at most 16 bytes */
	unsigned long long size;        /* image bytes; 0: from the content */
	enum rootfs_init init;          /* how the agent starts */
	long long port;                 /* vsock port passed as -p N, with have_port */
	int have_port, journal;         /* journal 0: mkfs -O ^has_journal */
};
#define ROOTFS_OPTS_INIT { NULL, NULL, NULL, "rootfs", 0, ROOTFS_INIT_AUTO, 0, 0, 1 }

struct rootfs_result {
	uint64_t size;                  /* image bytes */
	uint64_t bytes;                 /* content bytes staged */
	uint64_t files;                 /* inodes staged */
	enum rootfs_init init;          /* what starts the agent (never AUTO) */
};

/* The mkfs.ext4 to run: $FCSNAP_MKFS_EXT4 (must be executable), else PATH,
 * else /usr/sbin, /sbin.  0, or -1 with "mkfs.ext4 not found...: install
 * e2fsprogs". */
int rootfs_find_mkfs(char *out, size_t n);

/* Build o->out with mkfs (from rootfs_find_mkfs).  0 with *res filled, or
 * -1 with the message set and nothing left behind. */
int rootfs_build(const struct rootfs_opts *o, const char *mkfs, struct rootfs_result *res);

#endif
