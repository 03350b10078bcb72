/* store: the local snapshot store, per-name locks, atomic publish.
 *
 * Root: $FCSNAP_DIR, else /var/lib/fcsnap for root, else
 * $XDG_STATE_HOME/fcsnap, else ~/.local/state/fcsnap.
 *   snapshots/<name>/{vmstate,mem,rootfs.ext4,meta.json}
 *   snapshots/.tmp-<name>-XXXXXX/   a snapshot being written
 *   locks/<name>.lock                flock(2) per snapshot name
 *   run/<vm-id>/                     a restored VM (see vm.h)
 * A new snapshot is written into a temp dir beside the target and published
 * with one rename (RENAME_EXCHANGE over an older one, which is then removed),
 * so a reader sees the old snapshot or the new one, never a mix.
 */
#ifndef FCSNAP_STORE_H
#define FCSNAP_STORE_H

#include <limits.h>
#include <stddef.h>

struct store {
	char root[PATH_MAX];
};

/* Resolve the root (does not create anything). 0 or -1. */
int store_init(struct store *s);
/* Create root, snapshots/, locks/, run/ if missing. 0 or -1 ("store X is
 * not writable: ..."). */
int store_prepare(const struct store *s);

/* root/snapshots/<name> (name is validated). 0 or -1. */
int store_snap_dir(const struct store *s, const char *name, char *out, size_t n);
/* root/snapshots/<name>/<file>. */
int store_snap_file(const struct store *s, const char *name, const char *file, char *out, size_t n);
/* Does snapshots/<name> exist as a directory? 1, 0. */
int store_has(const struct store *s, const char *name);

/* Take the per-name lock. wait=0: fail at once with "snapshot X is locked
 * by another process" when held. Returns an fd to pass to store_unlock. */
int store_lock(const struct store *s, const char *name, int wait);
void store_unlock(int fd);

/* Make snapshots/.tmp-<name>-XXXXXX (mode 0700); path into out. */
int store_tmp_dir(const struct store *s, const char *name, char *out, size_t n);
/* fsync every file in tmp and tmp itself, then rename it to snapshots/<name>,
 * exchanging with (then removing) an existing one. Caller holds the lock. */
int store_publish(const struct store *s, const char *name, const char *tmp);
/* Remove snapshots/<name> (rename to a temp name first, then rm -rf, so a
 * reader never sees a half-removed snapshot). Caller holds the lock. */
int store_remove(const struct store *s, const char *name);

/* Names of published snapshots, sorted; returns count, fills *names
 * (malloc'd array of malloc'd strings; free with store_free_names). */
int store_list(const struct store *s, char ***names);
void store_free_names(char **names, int n);

#endif
