/* store: the local snapshot store, per-name locks, atomic publish.
 *
 * Root: $FCSNAP_DIR, else /var/lib/fcsnap for root, else
 * $XDG_STATE_HOME/fcsnap, else ~/.local/state/fcsnap.
 *   snapshots/<name>/{vmstate,mem,rootfs.ext4,meta.json}
 *   snapshots/.tmp-<name>-XXXXXX/   a snapshot being written, or an old one
 *                                    being removed (only by the lock holder)
 *   locks/<name>.lock                flock(2) per snapshot name (never removed)
 *   run/<vm-id>/                     a restored VM (see runreg.h)
 *   cache/fcver-<dev>-<ino>          a firecracker binary's version (fcproc.h)
 * Trust (the ssh rule for key files): store_init resolves the root to its
 * real path and refuses ("store X is not safe: D is owned by uid N; ..." /
 * "D is writable by everyone (chmod go-w D)" / "D is a symbolic link") a
 * store where any directory from / down to the root, the root itself or
 * its snapshots/, locks/, run/, cache/ is owned by someone other than us
 * or root, or is writable by group or others (an ancestor may be sticky
 * and world-writable, like /tmp); store_prepare checks again after
 * creating what was missing.  locks/ is 0700 and lock files 0600, so no
 * other user can hold a lock.  Files read from the store are opened with
 * open_trusted (util.h): no symlink, no fifo, ours or root's.
 * A new snapshot is written into a temp dir beside the target and published
 * with one rename (RENAME_EXCHANGE over an older one, which is then removed),
 * so a reader sees the old snapshot or the new one, never a mix.
 *
 * Writers: lock = store_lock(); store_tmp_dir() (also removes stale temp
 * dirs of that name left by a killed writer); fill it; store_publish();
 * store_unlock(lock).  A temp dir exists only while its writer holds the
 * name's lock, so any program may remove one whose lock is free
 * (store_tidy, run by store_init).
 * Readers take no lock: open the snapshot directory once (store_open_snap)
 * and openat(2) its files from that fd, so every file comes from the same
 * generation.  If a file is ENOENT there, the snapshot was replaced or
 * removed while opening: open it again.
 */
#ifndef FCSNAP_STORE_H
#define FCSNAP_STORE_H

#include <limits.h>
#include <stddef.h>

struct store {
	char root[PATH_MAX];
};

/* Find the root (absolute, real path; does not create anything), check
 * that it can be trusted (above) and store_tidy it, so every program that
 * opens the store removes what killed ones left. 0 or -1. */
int store_init(struct store *s);
/* Remove the temp dirs of dead owners: snapshots/.tmp-<name>-XXXXXX whose
 * name lock is free (a writer holds it as long as its temp dir exists)
 * and run/.tmp-<pid>-* whose creator is gone.  Only in dirs owned by us;
 * creates nothing.  Returns how many were removed. */
int store_tidy(const struct store *s);
/* Create root, snapshots/, locks/, run/ if missing and check they are
 * writable directories. 0 or -1 ("store X is not writable: ...; set
 * FCSNAP_DIR to a writable directory"). */
int store_prepare(const struct store *s);

/* root/snapshots/<name> (name is validated). 0 or -1. */
int store_snap_dir(const struct store *s, const char *name, char *out, size_t n);
/* root/snapshots/<name>/<file>. */
int store_snap_file(const struct store *s, const char *name, const char *file, char *out, size_t n);
/* root/<sub> (e.g. "run", "snapshots"). */
int store_sub(const struct store *s, const char *sub, char *out, size_t n);
/* Does snapshots/<name> exist as a directory? 1, 0. */
int store_has(const struct store *s, const char *name);
/* Open snapshots/<name> as an O_DIRECTORY fd (O_CLOEXEC). -1 with
 * "no snapshot named X in DIR" when missing, or "snapshot X is not safe:
 * DIR is writable by its group (chmod go-w DIR, ...)" when it is not
 * ours (or root's) alone (dir_trusted). */
int store_open_snap(const struct store *s, const char *name);

/* Take the per-name lock (store_prepare()s the store first). wait=0: fail at once
 * with "snapshot X is locked by another process" when held; wait!=0: block.
 * Returns an fd to pass to store_unlock. */
int store_lock(const struct store *s, const char *name, int wait);
/* The same with a deadline: timeout_ms < 0 waits forever, 0 fails at once,
 * > 0 fails after that long ("... still locked after N s"). */
int store_lock_timeout(const struct store *s, const char *name, long long timeout_ms);
void store_unlock(int fd);

/* Make snapshots/.tmp-<name>-XXXXXX (mode 0700); path into out.  Caller
 * holds the lock; the store is prepared and stale temp dirs of that name
 * are removed first. */
int store_tmp_dir(const struct store *s, const char *name, char *out, size_t n);
/* Remove stale snapshots/.tmp-<name>-* dirs. Caller holds the lock. */
int store_clean_tmp(const struct store *s, const char *name);
/* fsync every file in tmp and tmp itself, then rename it to snapshots/<name>,
 * exchanging with (then removing) an existing one; fsync snapshots/.  Where
 * the filesystem lacks renameat2 (EINVAL), the old one is renamed away first:
 * a reader may then briefly find no snapshot, but still never a mix.
 * Caller holds the lock.  On failure tmp is left for the caller to remove. */
int store_publish(const struct store *s, const char *name, const char *tmp);
/* Remove snapshots/<name> (rename to a temp name first, then rm -rf, so a
 * reader never sees a half-removed snapshot). -1 with "no snapshot named X"
 * when missing. Caller holds the lock. */
int store_remove(const struct store *s, const char *name);

/* Names of published snapshots, sorted; returns count, fills *names
 * (malloc'd array of malloc'd strings; free with store_free_names).
 * A missing store has no snapshots (0). */
int store_list(const struct store *s, char ***names);
void store_free_names(char **names, int n);

#endif
