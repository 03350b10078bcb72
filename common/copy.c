/* copy: see copy.h. */
#include "copy.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF_SIZE (1 << 20)
#define CFR_CHUNK ((size_t)1 << 30)

static int
pwrite_all(int fd, const char *p, size_t n, off_t off)
{
	ssize_t w;

	while (n > 0) {
		w = pwrite(fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		off += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copy [off, end) with read/write; zero blocks are skipped (left as holes,
 * the final ftruncate gives the file its size). */
static int
copy_rw(int in, int out, off_t off, off_t end)
{
	static const char zero[4096];
	char *buf;
	ssize_t r;
	size_t want, i, blk;

	buf = malloc(BUF_SIZE);
	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	while (off < end) {
		want = (size_t)(end - off) < BUF_SIZE ? (size_t)(end - off) : BUF_SIZE;
		r = pread(in, buf, want, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;    /* src shrank under us */
			free(buf);
			return -1;
		}
		for (i = 0; i < (size_t)r; i += blk) {
			blk = (size_t)r - i < sizeof zero ? (size_t)r - i : sizeof zero;
			if (!memcmp(buf + i, zero, blk))
				continue;
			if (pwrite_all(out, buf + i, blk, off + (off_t)i) < 0) {
				free(buf);
				return -1;
			}
		}
		off += r;
	}
	free(buf);
	return 0;
}

/* Copy [off, end) with copy_file_range, falling back to read/write when
 * the kernel or filesystem pair refuses. */
static int
copy_range(int in, int out, off_t off, off_t end, int *use_cfr)
{
	loff_t oi, oo;
	ssize_t r;
	size_t want;

	while (*use_cfr && off < end) {
		want = (size_t)(end - off) < CFR_CHUNK ? (size_t)(end - off) : CFR_CHUNK;
		oi = oo = off;
		r = copy_file_range(in, &oi, out, &oo, want, 0);
		if (r > 0) {
			off += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
		    errno == EOPNOTSUPP || errno == EBADF || errno == EPERM) {
			*use_cfr = 0;
			break;
		}
		return -1;
	}
	if (off >= end)
		return 0;
	return copy_rw(in, out, off, end);
}

static int
copy_data(int in, int out, off_t size)
{
	off_t data, hole = 0;
	int use_cfr = 1;

	while (hole < size) {
		data = lseek(in, hole, SEEK_DATA);
		if (data < 0) {
			if (errno == ENXIO)
				return 0;       /* only a hole is left */
			if (errno != EINVAL && errno != EOPNOTSUPP)
				return -1;
			return copy_range(in, out, hole, size, &use_cfr);
		}
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return -1;
		if (hole > size)
			hole = size;
		if (copy_range(in, out, data, hole, &use_cfr) < 0)
			return -1;
	}
	return 0;
}

static int
copy_fds(int in, int out, const struct stat *st, int sync)
{
	int how = COPY_SPARSE;

	if (ioctl(out, FICLONE, in) == 0)
		how = COPY_REFLINK;
	else if (copy_data(in, out, st->st_size) < 0)
		return -1;
	if (ftruncate(out, st->st_size) < 0)
		return -1;
	if (sync && fsync(out) < 0)
		return -1;
	return how;
}

int
copy_file(const char *src, const char *dst, mode_t mode, int sync)
{
	struct stat st;
	int in, out, how, e;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return fail_errno("copying %s to %s: cannot open %s", src, dst, src);
	if (fstat(in, &st) < 0) {
		fail_errno("copying %s to %s: %s", src, dst, src);
		close(in);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(in);
		return fail("copying %s to %s: %s is not a regular file", src, dst, src);
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
	if (out < 0) {
		fail_errno("copying %s to %s: cannot create %s", src, dst, dst);
		close(in);
		return -1;
	}
	how = -1;
	if (fchmod(out, mode & 07777) == 0)
		how = copy_fds(in, out, &st, sync);
	e = errno;
	close(in);
	if (close(out) < 0 && how >= 0) {
		e = errno;
		how = -1;
	}
	if (how < 0) {
		unlink(dst);
		errno = e;
		return fail_errno("copying %s to %s", src, dst);
	}
	return how;
}

int
link_fd(int fd, const char *dst)
{
	char src[64];
	int e;

	if (fmt(src, sizeof src, "/proc/self/fd/%d", fd) < 0)
		return -1;
	if (linkat(AT_FDCWD, src, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0)
		return COPY_LINK;
	e = errno;
	fail_errno("linking %s", dst);
	errno = e;
	return -1;
}

const char *
copy_kind_name(int kind)
{
	return kind == COPY_LINK ? "link" : kind == COPY_REFLINK ? "reflink" : "sparse";
}
