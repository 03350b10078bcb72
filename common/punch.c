/* punch: see punch.h. */
#include "punch.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF_SIZE (1 << 20)

static const unsigned char zero[PUNCH_PAGE];

/* Punch [off, end): 0, 1 when the filesystem cannot, -1 (errno). */
static int
punch(int fd, off_t off, off_t end)
{
	if (end <= off)
		return 0;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, end - off) == 0)
		return 0;
	return errno == EOPNOTSUPP || errno == ENOSYS ? 1 : -1;
}

/* Punch the zero pages of the data region [off, end), reading it through
 * buf.  Adds the bytes punched to *done.  0, 1 (cannot punch), -1. */
static int
punch_region(int fd, unsigned char *buf, off_t off, off_t end, int64_t *done)
{
	off_t run = -1, at;
	ssize_t r;
	size_t i, n;
	int rc;

	while (off < end) {
		r = pread(fd, buf, (size_t)(end - off) < BUF_SIZE ? (size_t)(end - off) : BUF_SIZE,
		    off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;    /* the file shrank under us */
			return -1;
		}
		for (i = 0; i < (size_t)r; i += n) {
			n = (size_t)r - i < PUNCH_PAGE ? (size_t)r - i : PUNCH_PAGE;
			at = off + (off_t)i;
			/* a short page (the file's tail) keeps its block */
			if (n == PUNCH_PAGE && !memcmp(buf + i, zero, n)) {
				if (run < 0)
					run = at;
				continue;
			}
			if (run >= 0 && (rc = punch(fd, run, at)) != 0)
				return rc;
			if (run >= 0)
				*done += at - run;
			run = -1;
		}
		off += r;
	}
	if (run >= 0 && (rc = punch(fd, run, end)) != 0)
		return rc;
	if (run >= 0)
		*done += end - run;
	return 0;
}

/* Walk the data regions (SEEK_DATA/SEEK_HOLE; all of the file where the
 * filesystem does not tell). */
static int
punch_fd(int fd, off_t size, unsigned char *buf, int64_t *done)
{
	off_t data, hole = 0;
	int rc;

	while (hole < size) {
		data = lseek(fd, hole, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			return 0;               /* only a hole is left */
		if (data < 0 && errno != EINVAL && errno != EOPNOTSUPP)
			return -1;
		if (data < 0)
			return punch_region(fd, buf, hole, size, done);
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -1;
		if (hole > size)
			hole = size;
		if ((rc = punch_region(fd, buf, data, hole, done)) != 0)
			return rc;
	}
	return 0;
}

int64_t
punch_zero_pages(const char *path)
{
	unsigned char *buf;
	struct stat st;
	int64_t done = 0;
	int fd, rc;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return fail_errno("freeing the zero pages of %s: cannot open it", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail("freeing the zero pages of %s: not a regular file", path);
	}
	buf = malloc(BUF_SIZE);
	if (!buf) {
		close(fd);
		return fail("freeing the zero pages of %s: out of memory", path);
	}
	rc = punch_fd(fd, st.st_size, buf, &done);
	free(buf);
	if (rc < 0) {
		fail_errno("freeing the zero pages of %s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return rc == 1 ? 0 : done;
}
