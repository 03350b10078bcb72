/* tree: see tree.h. */
#include "tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A small set of (dev, ino) -> staged path, for hard links. */
struct ino_ent {
	dev_t dev;
	ino_t ino;
	char *path;
};
struct ino_set {
	struct ino_ent *v;
	size_t n, cap;          /* cap is a power of two (open addressing) */
};

static size_t
ino_hash(dev_t d, ino_t i)
{
	uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15ull ^ (uint64_t)d;
	return (size_t)(h ^ (h >> 29));
}

static struct ino_ent *
ino_find(struct ino_set *s, dev_t d, ino_t i)
{
	size_t k;

	if (!s->cap)
		return NULL;
	for (k = ino_hash(d, i) & (s->cap - 1); s->v[k].path; k = (k + 1) & (s->cap - 1))
		if (s->v[k].dev == d && s->v[k].ino == i)
			return &s->v[k];
	return NULL;
}

static int
ino_add(struct ino_set *s, dev_t d, ino_t i, const char *path)
{
	size_t k, j;
	char *p;

	if ((s->n + 1) * 2 > s->cap) {
		struct ino_set ns = { NULL, 0, s->cap ? s->cap * 2 : 256 };
		if (!(ns.v = calloc(ns.cap, sizeof *ns.v)))
			return fail("out of memory");
		for (j = 0; j < s->cap; j++) {
			if (!s->v[j].path)
				continue;
			for (k = ino_hash(s->v[j].dev, s->v[j].ino) & (ns.cap - 1); ns.v[k].path;
			    k = (k + 1) & (ns.cap - 1))
				;
			ns.v[k] = s->v[j];
		}
		free(s->v);
		ns.n = s->n;
		*s = ns;
	}
	if (!(p = strdup(path)))
		return fail("out of memory");
	for (k = ino_hash(d, i) & (s->cap - 1); s->v[k].path; k = (k + 1) & (s->cap - 1))
		;
	s->v[k].dev = d;
	s->v[k].ino = i;
	s->v[k].path = p;
	s->n++;
	return 0;
}

static void
ino_free(struct ino_set *s)
{
	size_t k;

	for (k = 0; k < s->cap; k++)
		free(s->v[k].path);
	free(s->v);
}

struct cstate {
	const char *src;
	int droot;
	int flags;
	struct tree_stats *st;
	struct ino_set links;
	char path[PATH_MAX];    /* current relative path */
};

static int
copy_data(int in, int out, const char *what)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return fail_errno("copying %s", what);
		break;
	}
	while ((n = read(in, buf, sizeof buf)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno("reading %s", what);
		}
		if (write_all(out, buf, (size_t)n) < 0)
			return fail_errno("writing %s", what);
	}
	return 0;
}

static void
set_meta_fd(int fd, const struct stat *st, int flags)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (flags & TREE_OWNER)
		(void)!fchown(fd, st->st_uid, st->st_gid);
	(void)!fchmod(fd, st->st_mode & 07777);
	futimens(fd, ts);
}

static void
set_meta_at(int dfd, const char *name, const struct stat *st, int flags)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (flags & TREE_OWNER)
		fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static int
copy_reg(struct cstate *c, int sfd, int dfd, const char *name, const struct stat *st)
{
	struct ino_ent *h;
	int in, out, rc;

	if (st->st_nlink > 1 && (h = ino_find(&c->links, st->st_dev, st->st_ino))) {
		if (linkat(c->droot, h->path, dfd, name, 0) < 0)
			return fail_errno("staging hard link %s/%s", c->src, c->path);
		return 0;
	}
	if (linkat(sfd, name, dfd, name, 0) == 0) {
		c->st->linked++;
		return 0;       /* same inode: mode, owner, times and links kept */
	}
	if (errno != EXDEV && errno != EPERM && errno != EACCES && errno != EMLINK)
		return fail_errno("staging %s/%s", c->src, c->path);
	in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return fail_errno("%s/%s", c->src, c->path);
	out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return fail_errno("staging %s/%s", c->src, c->path);
	}
	rc = copy_data(in, out, c->path);
	close(in);
	if (rc == 0)
		set_meta_fd(out, st, c->flags);
	if (close(out) < 0 && rc == 0)
		rc = fail_errno("staging %s/%s", c->src, c->path);
	if (rc == 0 && st->st_nlink > 1)
		rc = ino_add(&c->links, st->st_dev, st->st_ino, c->path);
	return rc;
}

static int copy_dir(struct cstate *c, int sfd, int dfd);

static int
copy_one(struct cstate *c, int sfd, int dfd, const char *name)
{
	struct stat st;
	char target[PATH_MAX];
	ssize_t n;
	int s2, d2, rc;

	if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail_errno("%s/%s", c->src, c->path);
	c->st->entries++;
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return copy_reg(c, sfd, dfd, name, &st);
	case S_IFLNK:
		n = readlinkat(sfd, name, target, sizeof target - 1);
		if (n < 0)
			return fail_errno("%s/%s", c->src, c->path);
		target[n] = 0;
		if (symlinkat(target, dfd, name) < 0)
			return fail_errno("staging symlink %s/%s", c->src, c->path);
		set_meta_at(dfd, name, &st, c->flags);
		return 0;
	case S_IFDIR:
		if (mkdirat(dfd, name, 0700) < 0)
			return fail_errno("staging directory %s/%s", c->src, c->path);
		s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s2 < 0)
			return fail_errno("%s/%s", c->src, c->path);
		d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d2 < 0) {
			close(s2);
			return fail_errno("staging directory %s/%s", c->src, c->path);
		}
		rc = copy_dir(c, s2, d2);
		close(s2);
		if (rc == 0)
			set_meta_fd(d2, &st, c->flags);
		close(d2);
		return rc;
	case S_IFCHR: case S_IFBLK:
		if (!(c->flags & TREE_DEVICES)) {
			c->st->entries--;
			c->st->skipped_devices++;
			return 0;
		}
		/* fall through */
	case S_IFIFO:
		if (mknodat(dfd, name, st.st_mode, st.st_rdev) < 0)
			return fail_errno("staging node %s/%s", c->src, c->path);
		set_meta_at(dfd, name, &st, c->flags);
		return 0;
	default:
		c->st->entries--;
		c->st->skipped_sockets++;
		return 0;
	}
}

static int
copy_dir(struct cstate *c, int sfd, int dfd)
{
	DIR *d;
	struct dirent *e;
	size_t len = strlen(c->path);
	int fd, rc = 0;

	fd = dup(sfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return fail_errno("reading %s/%s", c->src, c->path);
	}
	while (rc == 0 && (errno = 0, e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fmt(c->path + len, sizeof c->path - len, "%s%s", len ? "/" : "", e->d_name) < 0) {
			rc = fail("%s: path too long under %s", c->src, c->path);
			break;
		}
		rc = copy_one(c, sfd, dfd, e->d_name);
		c->path[len] = 0;
	}
	if (rc == 0 && errno)
		rc = fail_errno("reading %s/%s", c->src, c->path);
	closedir(d);
	return rc;
}

int
tree_copy(int srcfd, const char *srcname, int dstfd, int flags, struct tree_stats *st)
{
	struct cstate c;
	int rc;

	memset(&c, 0, sizeof c);
	memset(st, 0, sizeof *st);
	c.src = srcname;
	c.droot = dstfd;
	c.flags = flags;
	c.st = st;
	rc = copy_dir(&c, srcfd, dstfd);
	ino_free(&c.links);
	return rc;
}

/* ---- usage ---- */

#define BLKSZ 4096ull
#define ROUND(x) (((x) + BLKSZ - 1) / BLKSZ * BLKSZ)

static int
usage_dir(int dfd, const char *name, struct tree_usage *u, struct ino_set *seen)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	uint64_t dirbytes = 0;
	int fd, sub, rc = 0;

	fd = dup(dfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return fail_errno("reading %s", name);
	}
	while (rc == 0 && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		dirbytes += 8 + ((strlen(e->d_name) + 3) & ~3ull);
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = fail_errno("%s/%s", name, e->d_name);
			break;
		}
		if (st.st_nlink > 1 && !S_ISDIR(st.st_mode)) {
			if (ino_find(seen, st.st_dev, st.st_ino))
				continue;
			if (ino_add(seen, st.st_dev, st.st_ino, "") < 0) {
				rc = -1;
				break;
			}
		}
		u->inodes++;
		if (S_ISREG(st.st_mode))
			u->bytes += ROUND((uint64_t)st.st_size);
		else if (S_ISLNK(st.st_mode) && st.st_size >= 60)
			u->bytes += BLKSZ;
		else if (S_ISDIR(st.st_mode)) {
			sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = fail_errno("%s/%s", name, e->d_name);
				break;
			}
			rc = usage_dir(sub, name, u, seen);
			close(sub);
		}
	}
	closedir(d);
	u->bytes += dirbytes ? ROUND(dirbytes) : BLKSZ;
	return rc;
}

int
tree_usage(int dirfd, const char *name, struct tree_usage *u)
{
	struct ino_set seen = { NULL, 0, 0 };
	int rc;

	u->bytes = 0;
	u->inodes = 1;
	rc = usage_dir(dirfd, name, u, &seen);
	ino_free(&seen);
	return rc;
}

/* ---- removal from a signal handler ---- */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static void
rm_sigsafe_at(int dfd, const char *name, int depth)
{
	char buf[4096];
	long n, off;
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM))
		return;
	if (depth > 200)
		return;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		n = syscall(SYS_getdents64, fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (off = 0; off < n; ) {
			struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + off);
			off += e->d_reclen;
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				rm_sigsafe_at(fd, e->d_name, depth + 1);
		}
	}
	close(fd);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

void
tree_remove_sigsafe(const char *path)
{
	rm_sigsafe_at(AT_FDCWD, path, 0);
}
