/* tar: see tar.h. */
#include "tar.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BLK 512
#define BUFSZ (64 * 1024)
#define META_MAX (1024 * 1024)  /* long names and pax headers */

struct tar_reader {
	int fd;
	const char *name;
	unsigned char *buf;
	size_t pos, len;
	int eof;
	uint64_t off;           /* stream offset of buf[pos] */
	uint64_t left;          /* data bytes left in the current entry */
	uint64_t pad;           /* padding after them */
	uint64_t nentry;
	char *path, *link;      /* current entry's names (malloc'd) */
	char *lpath, *llink;    /* pending GNU long / pax names */
	int have_psize;
	uint64_t psize;
	int have_puid, have_pgid, have_pmtime;
	uint64_t puid, pgid;
	int64_t pmtime;
	struct tar_entry e;
};

struct tar_reader *
tar_open(int fd, const char *name)
{
	struct tar_reader *r = calloc(1, sizeof *r);

	if (r)
		r->buf = malloc(BUFSZ);
	if (!r || !r->buf) {
		free(r);
		fail("out of memory");
		return NULL;
	}
	r->fd = fd;
	r->name = name;
	return r;
}

int
tar_unread(struct tar_reader *r, const void *buf, size_t n)
{
	if (r->nentry || r->len - r->pos + n > BUFSZ)
		return fail("%s: cannot push back %zu bytes", r->name, n);
	memmove(r->buf + n, r->buf + r->pos, r->len - r->pos);
	memcpy(r->buf, buf, n);
	r->len = r->len - r->pos + n;
	r->pos = 0;
	return 0;
}

void
tar_close(struct tar_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->path);
	free(r->link);
	free(r->lpath);
	free(r->llink);
	free(r);
}

/* Make at least want bytes available (fewer only at EOF). -1 on error. */
static int
fill(struct tar_reader *r, size_t want)
{
	ssize_t n;

	if (r->pos > 0 && r->len - r->pos < want) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	while (r->len - r->pos < want && !r->eof) {
		n = read(r->fd, r->buf + r->len, BUFSZ - r->len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail_errno("reading %s", r->name);
		}
		if (n == 0)
			r->eof = 1;
		r->len += (size_t)n;
	}
	return 0;
}

/* Consume n bytes into out (NULL: discard). Returns bytes consumed
 * (< n only at EOF) or -1. */
static int64_t
take(struct tar_reader *r, void *out, uint64_t n)
{
	uint64_t got = 0;
	size_t k;

	while (got < n) {
		if (r->pos == r->len) {
			r->pos = r->len = 0;
			if (fill(r, 1) < 0)
				return -1;
			if (r->len == 0)
				break;
		}
		k = r->len - r->pos;
		if (k > n - got)
			k = (size_t)(n - got);
		if (out)
			memcpy((char *)out + got, r->buf + r->pos, k);
		r->pos += k;
		r->off += k;
		got += k;
	}
	return (int64_t)got;
}

static int
truncated(struct tar_reader *r, const char *where)
{
	return fail("%s: tar input truncated %s (at byte %llu): incomplete archive",
	    r->name, where, (unsigned long long)r->off);
}

/* Numeric header field: octal (space/NUL padded) or GNU base-256. */
static int
parse_num(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80)       /* negative or too wide */
			return -1;
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && (f[i] == ' ' || f[i] == 0))
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = (v << 3) | (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != 0)
			return -1;
	*out = v;
	return 0;
}

static int
checksum_ok(const unsigned char *h)
{
	uint64_t want;
	unsigned long u = 0;
	long s = 0;
	int i;

	if (parse_num(h + 148, 8, &want) < 0)
		return 0;
	for (i = 0; i < BLK; i++) {
		unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
		u += c;
		s += (signed char)c;
	}
	return want == u || (long)want == s;
}

static int
all_zero(const unsigned char *h)
{
	int i;

	for (i = 0; i < BLK; i++)
		if (h[i])
			return 0;
	return 1;
}

/* Normalise a member path in place: drop leading "./" and "/"-runs and
 * "." components and trailing slashes. Absolute paths and ".." are
 * refused (-1, message naming the entry). what: "entry" or "link target". */
static int
norm_path(struct tar_reader *r, char *p, const char *what, const char *entry)
{
	char *out = p, *s = p, *c;
	size_t n;

	if (p[0] == '/')
		return fail("%s: tar %s '%s' is an absolute path: refused "
		    "(archives must hold relative paths)", r->name, what, entry);
	while (*s) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		c = s;
		while (*s && *s != '/')
			s++;
		n = (size_t)(s - c);
		if (n == 1 && c[0] == '.')
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return fail("%s: tar %s '%s' has a '..' component: refused "
			    "(it would escape the target directory)", r->name, what, entry);
		if (out != p)
			*out++ = '/';
		memmove(out, c, n);
		out += n;
	}
	*out = 0;
	return 0;
}

static char *
field_str(const unsigned char *f, size_t n)
{
	size_t l = strnlen((const char *)f, n);
	char *s = malloc(l + 1);

	if (!s) {
		fail("out of memory");
		return NULL;
	}
	memcpy(s, f, l);
	s[l] = 0;
	return s;
}

/* Read an entry's data (long name, pax header) into a malloc'd string. */
static char *
read_meta(struct tar_reader *r, uint64_t size, const char *kind)
{
	char *s;
	int64_t got;
	uint64_t pad = (BLK - size % BLK) % BLK;

	if (size > META_MAX) {
		fail("%s: tar %s header of %llu bytes is too large", r->name, kind,
		    (unsigned long long)size);
		return NULL;
	}
	s = malloc(size + 1);
	if (!s) {
		fail("out of memory");
		return NULL;
	}
	got = take(r, s, size);
	if (got >= 0 && (uint64_t)got == size)
		got = take(r, NULL, pad) == (int64_t)pad ? 0 : -2;
	else if (got >= 0)
		got = -2;
	if (got < 0) {
		free(s);
		if (got == -2)
			truncated(r, "in a long-name or pax header");
		return NULL;
	}
	s[size] = 0;
	return s;
}

static int
set_str(char **dst, char *v)
{
	free(*dst);
	*dst = v;
	return 0;
}

static char *
dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d) {
		fail("out of memory");
		return NULL;
	}
	memcpy(d, s, n);
	d[n] = 0;
	return d;
}

static int
pax_num(struct tar_reader *r, const char *key, const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	size_t i;

	/* mtime may carry a fraction: keep the whole seconds */
	for (i = 0; i < n && v[i] != '.'; i++) {
		if (v[i] < '0' || v[i] > '9' || x > (UINT64_MAX - 9) / 10)
			return fail("%s: bad pax header value for '%s'", r->name, key);
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	if (i == 0)
		return fail("%s: bad pax header value for '%s'", r->name, key);
	*out = x;
	return 0;
}

/* Parse pax records "LEN key=value\n" and remember the ones we use. */
static int
parse_pax(struct tar_reader *r, const char *s, size_t n)
{
	size_t i = 0, len, j, kl, vl;
	const char *rec, *key, *val;
	char kbuf[64];
	uint64_t x;

	while (i < n) {
		rec = s + i;
		len = 0;
		for (j = 0; i + j < n && rec[j] >= '0' && rec[j] <= '9' && j < 12; j++)
			len = len * 10 + (size_t)(rec[j] - '0');
		if (j == 0 || i + j >= n || rec[j] != ' ' || len <= j + 1 || len > n - i ||
		    rec[len - 1] != '\n')
			return fail("%s: malformed pax extended header", r->name);
		key = rec + j + 1;
		val = memchr(key, '=', (size_t)(rec + len - key));
		if (!val)
			return fail("%s: malformed pax extended header", r->name);
		kl = (size_t)(val - key);
		val++;
		vl = (size_t)(rec + len - 1 - val);
		i += len;
		if (kl >= sizeof kbuf)
			continue;
		memcpy(kbuf, key, kl);
		kbuf[kl] = 0;
		if (!strcmp(kbuf, "path") || !strcmp(kbuf, "linkpath")) {
			char *v = dup_n(val, vl);
			if (!v)
				return -1;
			set_str(kbuf[0] == 'p' ? &r->lpath : &r->llink, v);
		} else if (!strcmp(kbuf, "size")) {
			if (pax_num(r, kbuf, val, vl, &r->psize) < 0)
				return -1;
			r->have_psize = 1;
		} else if (!strcmp(kbuf, "uid") || !strcmp(kbuf, "gid")) {
			if (pax_num(r, kbuf, val, vl, &x) < 0)
				return -1;
			if (kbuf[0] == 'u') { r->puid = x; r->have_puid = 1; }
			else { r->pgid = x; r->have_pgid = 1; }
		} else if (!strcmp(kbuf, "mtime")) {
			if (pax_num(r, kbuf, val, vl, &x) < 0)
				return -1;
			r->pmtime = (int64_t)x;
			r->have_pmtime = 1;
		} else if (!strncmp(kbuf, "GNU.sparse.", 11)) {
			return fail("%s: tar entry uses GNU sparse files: not supported "
			    "(re-create the archive without --sparse)", r->name);
		}
	}
	return 0;
}

static void
clear_pending(struct tar_reader *r)
{
	free(r->lpath);
	free(r->llink);
	r->lpath = r->llink = NULL;
	r->have_psize = r->have_puid = r->have_pgid = r->have_pmtime = 0;
}

/* Skip what is left of the current entry. */
static int
skip_rest(struct tar_reader *r)
{
	uint64_t n = r->left + r->pad;
	int64_t got;

	if (n == 0)
		return 0;
	got = take(r, NULL, n);
	if (got < 0)
		return -1;
	if ((uint64_t)got != n)
		return truncated(r, r->left ? "inside an entry's data" : "in padding");
	r->left = r->pad = 0;
	return 0;
}

static int
drain(struct tar_reader *r)
{
	for (;;) {
		r->pos = r->len = 0;
		if (r->eof)
			return 0;
		if (fill(r, BUFSZ) < 0)
			return -1;
	}
}

static int
entry_type(struct tar_reader *r, char t, const char *rawname)
{
	switch (t) {
	case '0': case '7':
		r->e.type = TAR_REG;
		return 0;
	case 0:
		/* old tars mark directories with a trailing slash only */
		r->e.type = (*rawname && rawname[strlen(rawname) - 1] == '/') ? TAR_DIR : TAR_REG;
		return 0;
	case '1': r->e.type = TAR_HARDLINK; return 0;
	case '2': r->e.type = TAR_SYMLINK; return 0;
	case '3': r->e.type = TAR_CHR; return 0;
	case '4': r->e.type = TAR_BLK; return 0;
	case '5': r->e.type = TAR_DIR; return 0;
	case '6': r->e.type = TAR_FIFO; return 0;
	case 'S':
		return fail("%s: tar entry '%s' is a GNU sparse file: not supported "
		    "(re-create the archive without --sparse)", r->name, rawname);
	default:
		return fail("%s: tar entry '%s' has unsupported type '%c' (0x%02x)",
		    r->name, rawname, (t >= 0x20 && t < 0x7f) ? t : '?', (unsigned char)t);
	}
}

/* Fill r->e from a ustar header block plus the pending extensions. */
static int
load_entry(struct tar_reader *r, const unsigned char *h)
{
	uint64_t mode, uid, gid, size, mtime, maj, min;
	int posix = !memcmp(h + 257, "ustar\0", 6);
	char *name;

	if (parse_num(h + 100, 8, &mode) < 0 || parse_num(h + 108, 8, &uid) < 0 ||
	    parse_num(h + 116, 8, &gid) < 0 || parse_num(h + 124, 12, &size) < 0 ||
	    parse_num(h + 136, 12, &mtime) < 0 || parse_num(h + 329, 8, &maj) < 0 ||
	    parse_num(h + 337, 8, &min) < 0)
		return fail("%s: bad numeric field in tar header at byte %llu", r->name,
		    (unsigned long long)(r->off - BLK));
	if (r->lpath) {
		name = r->lpath;
		r->lpath = NULL;
	} else if (posix && h[345]) {
		char *pre = field_str(h + 345, 155), *nm = field_str(h, 100);
		name = NULL;
		if (pre && nm && (name = malloc(strlen(pre) + strlen(nm) + 2)))
			sprintf(name, "%s/%s", pre, nm);
		else if (pre && nm)
			fail("out of memory");
		free(pre);
		free(nm);
	} else {
		name = field_str(h, 100);
	}
	if (!name)
		return -1;
	set_str(&r->path, name);
	if (r->llink) {
		set_str(&r->link, r->llink);
		r->llink = NULL;
	} else {
		char *l = field_str(h + 157, 100);
		if (!l)
			return -1;
		set_str(&r->link, l);
	}
	if (entry_type(r, (char)h[156], r->path) < 0)
		return -1;
	if (r->have_psize) size = r->psize;
	if (r->have_puid) uid = r->puid;
	if (r->have_pgid) gid = r->pgid;
	if (r->have_pmtime) mtime = r->pmtime;
	r->e.mode = (mode_t)(mode & 07777);
	r->e.uid = (uid_t)uid;
	r->e.gid = (gid_t)gid;
	r->e.mtime = (int64_t)mtime;
	r->e.devmajor = (unsigned)maj;
	r->e.devminor = (unsigned)min;
	/* data follows regular files (and, in pax archives, may follow others) */
	r->left = size;
	r->pad = (BLK - size % BLK) % BLK;
	r->e.size = r->e.type == TAR_REG ? size : 0;
	clear_pending(r);
	{
		char shown[256];
		snprintf(shown, sizeof shown, "%s", r->path);
		if (norm_path(r, r->path, "entry", shown) < 0)
			return -1;
		if (r->e.type == TAR_HARDLINK) {
			if (norm_path(r, r->link, "hard link target", r->link) < 0)
				return -1;
			if (!*r->link)
				return fail("%s: tar entry '%s' is a hard link to the root", r->name, shown);
		}
	}
	r->e.path = r->path;
	r->e.linkpath = r->link;
	return 0;
}

int
tar_next(struct tar_reader *r, const struct tar_entry **e)
{
	unsigned char h[BLK];
	int64_t got;
	char *meta;

	if (skip_rest(r) < 0)
		return -1;
	for (;;) {
		got = take(r, h, BLK);
		if (got < 0)
			return -1;
		if (got == 0 && r->nentry == 0)
			return fail("%s: empty input: not a tar archive", r->name);
		if (got < BLK)
			return truncated(r, got ? "inside a header" : "before the end-of-archive marker");
		if (all_zero(h)) {
			if (r->lpath || r->llink || r->have_psize)
				return truncated(r, "after a long-name or pax header");
			got = take(r, h, BLK);
			if (got < 0)
				return -1;
			/* tolerate a single end block followed by EOF */
			if (got == BLK && !all_zero(h))
				return fail("%s: bad tar end-of-archive marker at byte %llu",
				    r->name, (unsigned long long)(r->off - BLK));
			return drain(r) < 0 ? -1 : 0;
		}
		if (!checksum_ok(h)) {
			if (r->nentry == 0)
				return fail("%s: not a tar archive (bad header checksum at byte 0)",
				    r->name);
			return fail("%s: corrupt tar archive: bad header checksum at byte %llu",
			    r->name, (unsigned long long)(r->off - BLK));
		}
		r->nentry++;
		if (h[156] == 'L' || h[156] == 'K' || h[156] == 'x' || h[156] == 'g') {
			uint64_t size;
			if (parse_num(h + 124, 12, &size) < 0)
				return fail("%s: bad size in tar header at byte %llu", r->name,
				    (unsigned long long)(r->off - BLK));
			meta = read_meta(r, size, h[156] == 'x' || h[156] == 'g' ? "pax" : "long-name");
			if (!meta)
				return -1;
			if (h[156] == 'L')
				set_str(&r->lpath, meta);
			else if (h[156] == 'K')
				set_str(&r->llink, meta);
			else {
				int rc = h[156] == 'x' ? parse_pax(r, meta, size) : 0;
				free(meta);     /* global headers: nothing we use */
				if (rc < 0)
					return -1;
			}
			continue;
		}
		if (load_entry(r, h) < 0)
			return -1;
		*e = &r->e;
		return 1;
	}
}

ssize_t
tar_read(struct tar_reader *r, void *buf, size_t n)
{
	int64_t got;

	if (r->e.type != TAR_REG || r->left == 0)
		return 0;
	if (n > r->left)
		n = (size_t)r->left;
	got = take(r, buf, n);
	if (got < 0)
		return -1;
	if (got == 0) {
		fail("%s: tar input truncated inside '%s' (%llu bytes missing)", r->name,
		    r->e.path, (unsigned long long)r->left);
		return -1;
	}
	r->left -= (uint64_t)got;
	return (ssize_t)got;
}

/* ---- extraction ---- */

struct dirfix {
	char *path;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int64_t mtime;
};

struct xstate {
	int root;
	int flags;
	const char *name;
	struct dirfix *fix;
	size_t nfix, cap;
	struct tar_stats *st;
};

/* Open directory `path` (relative, normalised) beneath root without
 * following symlinks; create missing components when mk is set.  Returns
 * an fd (may be root itself: the caller closes only fds != root). */
static int
walk_dir(struct xstate *x, const char *path, size_t len, int mk, const char *entry)
{
	int fd = x->root, nfd;
	char comp[NAME_MAX + 1];
	size_t i = 0, n;

	while (i < len) {
		n = 0;
		while (i + n < len && path[i + n] != '/')
			n++;
		if (n > NAME_MAX) {
			if (fd != x->root) close(fd);
			return fail("%s: tar entry '%s': name component too long", x->name, entry);
		}
		memcpy(comp, path + i, n);
		comp[n] = 0;
		i += n + 1;
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && mk) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				fail_errno("%s: creating directory for '%s'", x->name, entry);
				if (fd != x->root) close(fd);
				return -1;
			}
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0) {
			int e = errno;
			if (fd != x->root) close(fd);
			errno = e;
			if (e == ELOOP || e == ENOTDIR)
				return fail("%s: tar entry '%s': '%.*s' is a symlink or not a directory: "
				    "refusing to write through it", x->name, entry, (int)(i - 1), path);
			return fail_errno("%s: tar entry '%s': opening '%.*s'", x->name, entry,
			    (int)(i - 1), path);
		}
		if (fd != x->root)
			close(fd);
		fd = nfd;
	}
	return fd;
}

/* Split path into the parent fd and the last component. */
static int
open_parent(struct xstate *x, const char *path, int mk, const char **base)
{
	const char *s = strrchr(path, '/');

	*base = s ? s + 1 : path;
	if (strlen(*base) > NAME_MAX)
		return fail("%s: tar entry '%s': name too long", x->name, path);
	return walk_dir(x, path, s ? (size_t)(s - path) : 0, mk, path);
}

/* Remove whatever is at name (not a directory we keep). */
static int
clear_slot(struct xstate *x, int pfd, const char *base, const char *entry, int keepdir)
{
	struct stat st;

	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : fail_errno("%s: tar entry '%s'", x->name, entry);
	if (S_ISDIR(st.st_mode)) {
		if (keepdir)
			return 1;
		if (unlinkat(pfd, base, AT_REMOVEDIR) < 0)
			return fail_errno("%s: tar entry '%s' replaces a directory", x->name, entry);
		return 0;
	}
	if (unlinkat(pfd, base, 0) < 0)
		return fail_errno("%s: tar entry '%s': replacing", x->name, entry);
	return 0;
}

static void
set_times_at(int pfd, const char *base, int64_t mtime)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = (time_t)mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
}

static int
x_file(struct xstate *x, struct tar_reader *r, const struct tar_entry *e, int pfd, const char *base)
{
	char buf[BUFSZ];
	ssize_t n;
	int fd;
	struct timespec ts[2];

	fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail_errno("%s: creating '%s'", x->name, e->path);
	while ((n = tar_read(r, buf, sizeof buf)) > 0) {
		if (write_all(fd, buf, (size_t)n) < 0) {
			fail_errno("%s: writing '%s'", x->name, e->path);
			close(fd);
			return -1;
		}
		x->st->bytes += (uint64_t)n;
	}
	if (n < 0 || ((x->flags & TAR_X_OWNER) && fchown(fd, e->uid, e->gid) < 0 &&
	    fail_errno("%s: chown '%s'", x->name, e->path)) ||
	    (fchmod(fd, e->mode) < 0 && fail_errno("%s: chmod '%s'", x->name, e->path))) {
		close(fd);
		return -1;
	}
	ts[0].tv_sec = ts[1].tv_sec = (time_t)e->mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	futimens(fd, ts);
	if (close(fd) < 0)
		return fail_errno("%s: writing '%s'", x->name, e->path);
	return 0;
}

static int
x_dir(struct xstate *x, const struct tar_entry *e, int pfd, const char *base)
{
	struct dirfix *f;
	int rc = clear_slot(x, pfd, base, e->path, 1);

	if (rc < 0)
		return -1;
	if (rc == 0 && mkdirat(pfd, base, 0700) < 0)
		return fail_errno("%s: creating directory '%s'", x->name, e->path);
	if (x->nfix == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 64;
		f = realloc(x->fix, nc * sizeof *f);
		if (!f)
			return fail("out of memory");
		x->fix = f;
		x->cap = nc;
	}
	f = &x->fix[x->nfix];
	if (!(f->path = strdup(e->path)))
		return fail("out of memory");
	f->mode = e->mode;
	f->uid = e->uid;
	f->gid = e->gid;
	f->mtime = e->mtime;
	x->nfix++;
	return 0;
}

static int
x_hardlink(struct xstate *x, const struct tar_entry *e, int pfd, const char *base)
{
	const char *tbase;
	int tfd = open_parent(x, e->linkpath, 0, &tbase), rc = 0;

	if (tfd < 0)
		return fail("%s: tar entry '%s': hard link target '%s' not found earlier "
		    "in the archive", x->name, e->path, e->linkpath);
	if (linkat(tfd, tbase, pfd, base, 0) < 0)
		rc = fail_errno("%s: tar entry '%s': hard link to '%s'", x->name, e->path,
		    e->linkpath);
	if (tfd != x->root)
		close(tfd);
	return rc;
}

static int
x_node(struct xstate *x, const struct tar_entry *e, int pfd, const char *base)
{
	mode_t kind = e->type == TAR_CHR ? S_IFCHR : e->type == TAR_BLK ? S_IFBLK : S_IFIFO;

	if (kind != S_IFIFO && !(x->flags & TAR_X_DEVICES)) {
		x->st->skipped_devices++;
		return 1;
	}
	if (mknodat(pfd, base, kind | (e->mode & 0777), makedev(e->devmajor, e->devminor)) < 0)
		return fail_errno("%s: creating node '%s'", x->name, e->path);
	return 0;
}

static int
x_entry(struct xstate *x, struct tar_reader *r, const struct tar_entry *e)
{
	const char *base;
	int pfd, rc = 0;

	if (!*e->path)          /* the archive's root: keep ours */
		return 0;
	pfd = open_parent(x, e->path, 1, &base);
	if (pfd < 0)
		return -1;
	if (e->type == TAR_DIR) {
		rc = x_dir(x, e, pfd, base);
		goto out;
	}
	if (e->type == TAR_HARDLINK && !strcmp(e->path, e->linkpath))
		goto out;       /* a link to itself: nothing to do */
	if (clear_slot(x, pfd, base, e->path, 0) < 0) {
		rc = -1;
		goto out;
	}
	switch (e->type) {
	case TAR_REG:
		rc = x_file(x, r, e, pfd, base);
		break;
	case TAR_SYMLINK:
		if (symlinkat(e->linkpath, pfd, base) < 0) {
			rc = fail_errno("%s: creating symlink '%s'", x->name, e->path);
			break;
		}
		if (x->flags & TAR_X_OWNER)
			fchownat(pfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW);
		set_times_at(pfd, base, e->mtime);
		break;
	case TAR_HARDLINK:
		rc = x_hardlink(x, e, pfd, base);
		break;
	default:
		rc = x_node(x, e, pfd, base);
		if (rc == 0) {
			if (x->flags & TAR_X_OWNER)
				fchownat(pfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW);
			set_times_at(pfd, base, e->mtime);
		}
		if (rc > 0)
			rc = 0;
		goto out_nocount;
	}
out:
	if (rc == 0)
		x->st->entries++;
out_nocount:
	if (pfd != x->root)
		close(pfd);
	return rc;
}

/* Apply directory modes, owners and times, deepest last-listed first. */
static int
fix_dirs(struct xstate *x)
{
	size_t i;
	int fd;
	struct timespec ts[2];

	for (i = x->nfix; i-- > 0; ) {
		struct dirfix *f = &x->fix[i];
		fd = walk_dir(x, f->path, strlen(f->path), 0, f->path);
		if (fd < 0)
			return -1;
		if ((x->flags & TAR_X_OWNER) && fchown(fd, f->uid, f->gid) < 0) {
			fail_errno("%s: chown '%s'", x->name, f->path);
			close(fd);
			return -1;
		}
		if (fchmod(fd, f->mode) < 0) {
			fail_errno("%s: chmod '%s'", x->name, f->path);
			close(fd);
			return -1;
		}
		ts[0].tv_sec = ts[1].tv_sec = (time_t)f->mtime;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		futimens(fd, ts);
		close(fd);
	}
	return 0;
}

int
tar_extract(struct tar_reader *r, int dirfd, int flags, struct tar_stats *st,
    tar_hook hook, void *ctx)
{
	struct xstate x;
	const struct tar_entry *e;
	int rc;
	size_t i;

	memset(st, 0, sizeof *st);
	memset(&x, 0, sizeof x);
	x.root = dirfd;
	x.flags = flags;
	x.name = r->name;
	x.st = st;
	while ((rc = tar_next(r, &e)) > 0) {
		uint64_t skipped = st->skipped_devices;
		if (x_entry(&x, r, e) < 0 ||
		    (hook && hook(ctx, e, st->skipped_devices == skipped) < 0)) {
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		rc = fix_dirs(&x);
	for (i = 0; i < x.nfix; i++)
		free(x.fix[i].path);
	free(x.fix);
	return rc;
}
