/* store: see store.h. */
#include "store.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int
absolutize(char *out, size_t n, const char *p)
{
	char cwd[PATH_MAX];

	if (p[0] == '/')
		return fmt(out, n, "%s", p);
	if (!getcwd(cwd, sizeof cwd))
		return fail_errno("getcwd");
	return path_join(out, n, cwd, p);
}

static int
find_root(struct store *s)
{
	const char *e;
	char buf[PATH_MAX];

	e = getenv("FCSNAP_DIR");
	if (e && *e)
		return absolutize(s->root, sizeof s->root, e);
	if (geteuid() == 0)
		return fmt(s->root, sizeof s->root, "/var/lib/fcsnap");
	e = getenv("XDG_STATE_HOME");
	if (e && e[0] == '/')
		return path_join(s->root, sizeof s->root, e, "fcsnap");
	e = getenv("HOME");
	if (!e || e[0] != '/')
		return fail("cannot find the store: set FCSNAP_DIR (or HOME)");
	if (path_join(buf, sizeof buf, e, ".local/state") < 0)
		return -1;
	return path_join(s->root, sizeof s->root, buf, "fcsnap");
}

/* Replace s->root by its real path (symlinks resolved in the part that
 * exists), so that nobody who owns a symlink on the way can later aim it
 * elsewhere. */
static int
resolve_root(struct store *s)
{
	char head[PATH_MAX], real[PATH_MAX], out[PATH_MAX];
	char *slash;
	size_t tail;

	if (fmt(head, sizeof head, "%s", s->root) < 0)
		return -1;
	while (!realpath(head, real)) {
		if (errno != ENOENT)
			return 0;       /* store_prepare reports it */
		slash = strrchr(head, '/');
		if (!slash || slash == head)
			return 0;
		*slash = 0;
	}
	tail = strlen(head);
	if (fmt(out, sizeof out, "%s%s", strcmp(real, "/") ? real : "",
	    s->root + tail) < 0)
		return -1;
	memcpy(s->root, out, strlen(out) + 1);
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
unsafe(const struct store *s, const char *dir, const char *why, ...)
{
	char w[256];
	va_list ap;

	va_start(ap, why);
	vsnprintf(w, sizeof w, why, ap);
	va_end(ap);
	return fail("store %s is not safe: %s %s; use a store that only you (or "
	    "root) own and can write (FCSNAP_DIR)", s->root, dir, w);
}

/* Directory p of the store (ancestor: one on the path above it, which
 * may be writable by others when sticky, like /tmp).  A missing one is
 * fine here. */
static int
check_dir(const struct store *s, const char *p, int ancestor)
{
	struct stat st;

	if (lstat(p, &st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 :
		    fail_errno("store %s is not usable: %s", s->root, p);
	if (S_ISLNK(st.st_mode))
		return unsafe(s, p, "is a symbolic link");
	if (!S_ISDIR(st.st_mode))
		return 0;               /* store_prepare says so */
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return unsafe(s, p, "is owned by uid %ld", (long)st.st_uid);
	if ((st.st_mode & 022) && !(ancestor && (st.st_mode & S_ISVTX)))
		return unsafe(s, p, "is writable by %s (chmod go-w %s)",
		    (st.st_mode & 002) ? "everyone" : "its group", p);
	return 0;
}

static const char *const store_subs[] = { "snapshots", "locks", "run", "cache" };

/* The ssh rule: every directory from / down to the store and the store's
 * own directories are owned by us or root, and no one else can write them
 * (an ancestor may be sticky, like /tmp). */
static int
check_store(const struct store *s)
{
	char p[PATH_MAX], *slash;
	size_t i;

	if (fmt(p, sizeof p, "%s", s->root) < 0)
		return -1;
	for (slash = p; (slash = strchr(slash + 1, '/')); ) {
		*slash = 0;
		if (check_dir(s, p, 1) < 0)
			return -1;
		*slash = '/';
	}
	if (check_dir(s, "/", 1) < 0 || check_dir(s, s->root, 0) < 0)
		return -1;
	for (i = 0; i < ARRAY_LEN(store_subs); i++)
		if (path_join(p, sizeof p, s->root, store_subs[i]) < 0 ||
		    check_dir(s, p, 0) < 0)
			return -1;
	return 0;
}

int
store_init(struct store *s)
{
	if (find_root(s) < 0 || resolve_root(s) < 0 || check_store(s) < 0)
		return -1;
	store_tidy(s);
	return 0;
}

static int
prepare_dir(const char *root, const char *path)
{
	struct stat st;

	if (mkdir_p(path, 0755) < 0 && errno != EEXIST)
		return fail_errno("store %s is not writable: cannot create %s "
		    "(set FCSNAP_DIR to a writable directory)", root, path);
	if (stat(path, &st) < 0)
		return fail_errno("store %s is not usable: %s "
		    "(set FCSNAP_DIR to a writable directory)", root, path);
	if (!S_ISDIR(st.st_mode))
		return fail("store %s is not usable: %s is not a directory "
		    "(set FCSNAP_DIR to a writable directory)", root, path);
	if (access(path, W_OK | X_OK) < 0)
		return fail_errno("store %s is not writable: %s "
		    "(set FCSNAP_DIR to a writable directory)", root, path);
	return 0;
}

/* root/sub made (mode) and checked through rfd, an fd of the root that
 * passed the ssh rule: no one else can write the root, so no one can swap
 * what we create in it for a link elsewhere. */
static int
prepare_sub(const struct store *s, int rfd, const char *sub, mode_t mode)
{
	char p[PATH_MAX];
	struct stat st;
	int fd, r = 0;

	if (path_join(p, sizeof p, s->root, sub) < 0)
		return -1;
	if (mkdirat(rfd, sub, mode) < 0 && errno != EEXIST)
		return fail_errno("store %s is not writable: cannot create %s "
		    "(set FCSNAP_DIR to a writable directory)", s->root, p);
	fd = openat(rfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? unsafe(s, p, "is a symbolic link") :
		    fail_errno("store %s is not usable: %s (set FCSNAP_DIR to a writable "
		    "directory)", s->root, p);
	if (fstat(fd, &st) < 0)
		r = fail_errno("store %s: %s", s->root, p);
	else if (faccessat(rfd, sub, W_OK | X_OK, 0) < 0)
		r = fail_errno("store %s is not writable: %s (set FCSNAP_DIR to a writable "
		    "directory)", s->root, p);
	/* an older store's locks/ was 0755: no one else may open a lock */
	else if (mode == 0700 && (st.st_mode & 077) && st.st_uid == geteuid() &&
	    fchmod(fd, 0700) < 0)
		r = fail_errno("store %s: chmod 0700 %s", s->root, p);
	close(fd);
	return r;
}

int
store_prepare(const struct store *s)
{
	struct stat st;
	size_t i;
	int rfd;

	if (check_store(s) < 0 || prepare_dir(s->root, s->root) < 0)
		return -1;
	/* the root as it is now, not as the path may name it later (another
	 * user may swap a new root under a sticky /tmp for a link) */
	rfd = open(s->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd < 0)
		return errno == ELOOP ? unsafe(s, s->root, "is a symbolic link") :
		    fail_errno("store %s is not usable (set FCSNAP_DIR to a writable "
		    "directory)", s->root);
	if (fstat(rfd, &st) < 0 || dir_trusted(&st) < 0) {
		close(rfd);
		return errno == EINVAL ? unsafe(s, s->root, "%s", errmsg()) :
		    fail_errno("store %s", s->root);
	}
	for (i = 0; i < 3; i++)         /* cache/ is made on demand */
		if (prepare_sub(s, rfd, store_subs[i],
		    !strcmp(store_subs[i], "locks") ? 0700 : 0755) < 0) {
			close(rfd);
			return -1;
		}
	close(rfd);
	/* again: what we found in place of a dir we meant to create counts */
	return check_store(s);
}

int
store_sub(const struct store *s, const char *sub, char *out, size_t n)
{
	return path_join(out, n, s->root, sub);
}

int
store_snap_dir(const struct store *s, const char *name, char *out, size_t n)
{
	char d[PATH_MAX];

	if (name_check(name, "snapshot name") < 0)
		return -1;
	if (store_sub(s, "snapshots", d, sizeof d) < 0)
		return -1;
	return path_join(out, n, d, name);
}

int
store_snap_file(const struct store *s, const char *name, const char *file, char *out, size_t n)
{
	char d[PATH_MAX];

	if (store_snap_dir(s, name, d, sizeof d) < 0)
		return -1;
	return path_join(out, n, d, file);
}

int
store_has(const struct store *s, const char *name)
{
	char d[PATH_MAX];
	struct stat st;

	if (store_snap_dir(s, name, d, sizeof d) < 0)
		return 0;
	return stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

int
store_open_snap(const struct store *s, const char *name)
{
	char d[PATH_MAX];
	struct stat st;
	int fd, e;

	if (store_snap_dir(s, name, d, sizeof d) < 0)
		return -1;
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return fail("no snapshot named %s in %s/snapshots", name, s->root);
	if (fd < 0)
		return fail_errno("opening snapshot %s", d);
	if (fstat(fd, &st) < 0 || dir_trusted(&st) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return e == EINVAL ? fail("snapshot %s is not safe: %s %s (chmod go-w %s, or "
		    "create it again)", name, d, errmsg(), d) :
		    fail_errno("snapshot %s: %s", name, d);
	}
	return fd;
}

/* Locks. */

static int
lock_open(const struct store *s, const char *name)
{
	char d[PATH_MAX], p[PATH_MAX], f[80];
	struct stat st;
	int fd;

	if (name_check(name, "snapshot name") < 0)
		return -1;
	if (store_sub(s, "locks", d, sizeof d) < 0)
		return -1;
	if (store_prepare(s) < 0)
		return -1;
	if (fmt(f, sizeof f, "%s.lock", name) < 0 || path_join(p, sizeof p, d, f) < 0)
		return -1;
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fail_errno("store %s is not writable: cannot open lock %s "
		    "(set FCSNAP_DIR to a writable directory)", s->root, p);
	/* an older store made locks 0644: anyone could hold one */
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) && st.st_uid == geteuid())
		(void)fchmod(fd, 0600);
	return fd;
}

int
store_lock_timeout(const struct store *s, const char *name, long long timeout_ms)
{
	int64_t deadline;
	long nap = 5;
	int fd;

	fd = lock_open(s, name);
	if (fd < 0)
		return -1;
	if (timeout_ms < 0) {
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				fail_errno("locking snapshot %s", name);
				close(fd);
				return -1;
			}
		}
		return fd;
	}
	deadline = now_ms() + timeout_ms;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			fail_errno("locking snapshot %s", name);
			break;
		}
		if (timeout_ms == 0) {
			fail("snapshot %s is locked by another process (being "
			    "written or removed); try again later", name);
			break;
		}
		if (now_ms() >= deadline) {
			fail("snapshot %s is still locked by another process after "
			    "%.1f s; try again later or wait longer", name,
			    (double)timeout_ms / 1000);
			break;
		}
		sleep_ms(nap);
		if (nap < 100)
			nap *= 2;
	}
	close(fd);
	return -1;
}

int
store_lock(const struct store *s, const char *name, int wait)
{
	return store_lock_timeout(s, name, wait ? -1 : 0);
}

void
store_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Temp dirs. */

static int
is_tmp_of(const char *ent, const char *name)
{
	size_t ln = strlen(name), i;
	const char *suf;

	if (strncmp(ent, ".tmp-", 5) || strncmp(ent + 5, name, ln) || ent[5 + ln] != '-')
		return 0;
	suf = ent + 5 + ln + 1;
	if (strlen(suf) != 6)
		return 0;
	for (i = 0; i < 6; i++) {
		char c = suf[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

int
store_clean_tmp(const struct store *s, const char *name)
{
	char d[PATH_MAX], p[PATH_MAX];
	DIR *dir;
	struct dirent *e;
	int rc = 0;

	if (name_check(name, "snapshot name") < 0)
		return -1;
	if (store_sub(s, "snapshots", d, sizeof d) < 0)
		return -1;
	dir = opendir(d);
	if (!dir)
		return errno == ENOENT ? 0 : fail_errno("reading %s", d);
	while ((e = readdir(dir))) {
		if (!is_tmp_of(e->d_name, name))
			continue;
		if (path_join(p, sizeof p, d, e->d_name) < 0 || rm_rf(p) < 0)
			rc = -1;
	}
	closedir(dir);
	return rc;
}

/* The per-name lock of a snapshots/ entry ".tmp-<name>-XXXXXX" when it
 * is free (its writer is gone): an fd holding it, INT_MAX when the lock
 * file is missing (never taken), or -1 (held, or not such an entry). */
static int
lock_if_writer_gone(const struct store *s, const char *ent)
{
	char name[80], d[PATH_MAX], p[PATH_MAX];
	const char *dash = strrchr(ent, '-');
	int fd;

	if (!dash || dash - ent <= 5 || fmt(name, sizeof name, "%.*s",
	    (int)(dash - ent - 5), ent + 5) < 0 || !is_tmp_of(ent, name))
		return -1;
	if (store_sub(s, "locks", d, sizeof d) < 0 ||
	    fmt(p, sizeof p, "%s/%s.lock", d, name) < 0)
		return -1;
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? INT_MAX : -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	close(fd);
	return -1;
}

/* snapshots/.tmp-* of writers that are gone (their name lock is free). */
static int
tidy_snapshots(const struct store *s)
{
	char d[PATH_MAX], p[PATH_MAX];
	struct dirent *e;
	struct stat sb;
	DIR *dir;
	int n = 0, lk;

	if (store_sub(s, "snapshots", d, sizeof d) < 0 || !(dir = opendir(d)))
		return 0;
	if (fstat(dirfd(dir), &sb) < 0 || sb.st_uid != geteuid()) {
		closedir(dir);  /* not ours to tidy */
		return 0;
	}
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, ".tmp-", 5) ||
		    (lk = lock_if_writer_gone(s, e->d_name)) < 0)
			continue;
		if (path_join(p, sizeof p, d, e->d_name) == 0 && rm_rf(p) == 0)
			n++;
		if (lk != INT_MAX)
			close(lk);      /* held while removing, as a writer would */
	}
	closedir(dir);
	return n;
}

int
store_tidy(const struct store *s)
{
	char run[PATH_MAX];
	struct stat sb;
	int n = tidy_snapshots(s);

	if (store_sub(s, "run", run, sizeof run) == 0 && lstat(run, &sb) == 0 &&
	    S_ISDIR(sb.st_mode) && sb.st_uid == geteuid())
		n += rm_dead_owner(run, ".tmp-");
	return n;
}

int
store_tmp_dir(const struct store *s, const char *name, char *out, size_t n)
{
	char d[PATH_MAX];

	if (store_prepare(s) < 0 || store_clean_tmp(s, name) < 0)
		return -1;
	if (store_sub(s, "snapshots", d, sizeof d) < 0)
		return -1;
	if (fmt(out, n, "%s/.tmp-%s-XXXXXX", d, name) < 0)
		return -1;
	if (!mkdtemp(out))
		return fail_errno("store %s is not writable: cannot create a temp dir "
		    "in %s (set FCSNAP_DIR to a writable directory)", s->root, d);
	return 0;
}

/* A fresh unused temp name for snapshots/<name> (not created). */
static int
tmp_name(const struct store *s, const char *name, char *out, size_t n)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[6];
	char d[PATH_MAX], suf[7];
	struct stat st;
	int tries, i;

	if (store_sub(s, "snapshots", d, sizeof d) < 0)
		return -1;
	for (tries = 0; tries < 100; tries++) {
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
			return fail_errno("getrandom");
		for (i = 0; i < 6; i++)
			suf[i] = al[r[i] % (sizeof al - 1)];
		suf[6] = 0;
		if (fmt(out, n, "%s/.tmp-%s-%s", d, name, suf) < 0)
			return -1;
		if (lstat(out, &st) < 0 && errno == ENOENT)
			return 0;
	}
	return fail("cannot find a free temp name in %s", d);
}

static int
fsync_path(const char *p, int flags)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | flags);

	if (fd < 0)
		return fail_errno("opening %s", p);
	if (fsync(fd) < 0 && errno != EINVAL) {
		fail_errno("fsync %s", p);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* fsync every regular file and directory under dir, then dir. */
static int
fsync_tree(const char *dir)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	char p[PATH_MAX];
	int rc = 0;

	d = opendir(dir);
	if (!d)
		return fail_errno("reading %s", dir);
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (path_join(p, sizeof p, dir, e->d_name) < 0) {
			rc = -1;
			break;
		}
		if (lstat(p, &st) < 0) {
			rc = fail_errno("%s", p);
			break;
		}
		if (S_ISDIR(st.st_mode))
			rc = fsync_tree(p);
		else if (S_ISREG(st.st_mode))
			rc = fsync_path(p, 0);
	}
	closedir(d);
	if (rc < 0)
		return -1;
	return fsync_path(dir, O_DIRECTORY);
}

static int
publish_fallback(const struct store *s, const char *name, const char *tmp, const char *dst)
{
	char old[PATH_MAX];

	if (tmp_name(s, name, old, sizeof old) < 0)
		return -1;
	if (rename(dst, old) < 0) {
		if (errno != ENOENT)
			return fail_errno("moving %s away to %s", dst, old);
		old[0] = 0;
	}
	if (rename(tmp, dst) < 0) {
		fail_errno("publishing %s as %s", tmp, dst);
		if (old[0] && rename(old, dst) < 0)
			return fail("publishing %s failed and the old snapshot is "
			    "left at %s: %s", dst, old, errmsg());
		return -1;
	}
	if (old[0] && rm_rf(old) < 0)
		return fail("published %s, but removing the old one failed: %s", dst, errmsg());
	return 0;
}

int
store_publish(const struct store *s, const char *name, const char *tmp)
{
	char dst[PATH_MAX], d[PATH_MAX];

	if (store_snap_dir(s, name, dst, sizeof dst) < 0)
		return -1;
	if (store_sub(s, "snapshots", d, sizeof d) < 0)
		return -1;
	if (fsync_tree(tmp) < 0)
		return fail("publishing snapshot %s: %s", name, errmsg());
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		goto done;
	if (errno == EEXIST || errno == ENOTEMPTY) {
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_EXCHANGE) < 0) {
			if (errno != EINVAL && errno != ENOSYS)
				return fail_errno("publishing %s as %s", tmp, dst);
			if (publish_fallback(s, name, tmp, dst) < 0)
				return -1;
			goto done;
		}
		/* the old snapshot now sits at tmp */
		if (rm_rf(tmp) < 0)
			return fail("published %s, but removing the old one at %s "
			    "failed: %s", dst, tmp, errmsg());
		goto done;
	}
	if (errno != EINVAL && errno != ENOSYS)
		return fail_errno("publishing %s as %s", tmp, dst);
	if (publish_fallback(s, name, tmp, dst) < 0)
		return -1;
done:
	return fsync_path(d, O_DIRECTORY);
}

int
store_remove(const struct store *s, const char *name)
{
	char dst[PATH_MAX], old[PATH_MAX];
	struct stat st;

	if (store_snap_dir(s, name, dst, sizeof dst) < 0)
		return -1;
	if (lstat(dst, &st) < 0 || !S_ISDIR(st.st_mode))
		return fail("no snapshot named %s in %s/snapshots", name, s->root);
	if (tmp_name(s, name, old, sizeof old) < 0)
		return -1;
	if (renameat2(AT_FDCWD, dst, AT_FDCWD, old, RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL && errno != ENOSYS)
			return fail_errno("removing snapshot %s: renaming %s", name, dst);
		if (rename(dst, old) < 0)
			return fail_errno("removing snapshot %s: renaming %s", name, dst);
	}
	if (rm_rf(old) < 0)
		return fail("removing snapshot %s: %s", name, errmsg());
	return 0;
}

/* Listing. */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
store_free_names(char **names, int n)
{
	int i;

	if (!names)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
store_list(const struct store *s, char ***names)
{
	char d[PATH_MAX];
	DIR *dir;
	struct dirent *e;
	struct stat st;
	char **v = NULL, **nv;
	int n = 0, cap = 0;

	*names = NULL;
	if (store_sub(s, "snapshots", d, sizeof d) < 0)
		return -1;
	dir = opendir(d);
	if (!dir)
		return errno == ENOENT ? 0 : fail_errno("reading %s", d);
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.' || name_check(e->d_name, "snapshot name") < 0)
			continue;
		if (fstatat(dirfd(dir), e->d_name, &st, 0) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, (size_t)cap * sizeof *v);
			if (!nv)
				goto oom;
			v = nv;
		}
		v[n] = strdup(e->d_name);
		if (!v[n])
			goto oom;
		n++;
	}
	closedir(dir);
	if (n > 1)
		qsort(v, (size_t)n, sizeof *v, cmp_str);
	*names = v;
	return n;
oom:
	closedir(dir);
	store_free_names(v, n);
	return fail("out of memory");
}
