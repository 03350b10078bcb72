/* Unit tests for common/copy.c: content, holes kept, mode, refusals.
 * (ENOSPC on a tiny tmpfs is in t/0330-copy-enospc.t.) */
#include "tap.h"
#include "copy.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PB (PATH_MAX + 128)
#define MIB (1 << 20)

static char dir[64];

static int
same_content(const char *a, const char *b)
{
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY), same = 1;
	static char ba[MIB], bb[MIB];
	ssize_t ra, rb;

	if (fa < 0 || fb < 0)
		same = 0;
	while (same) {
		ra = read_full(fa, ba, sizeof ba);
		rb = read_full(fb, bb, sizeof bb);
		if (ra != rb || ra < 0 || memcmp(ba, bb, (size_t)ra))
			same = 0;
		if (ra <= 0)
			break;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

/* 64 MiB: hole, 1 MiB of data at 8 MiB, a 3-byte island at 40 MiB, then a
 * trailing hole. */
static void
make_sparse(const char *p)
{
	char *buf = malloc(MIB);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644), i;

	for (i = 0; i < MIB; i++)
		buf[i] = (char)(i * 7 + 1);
	if (pwrite(fd, buf, MIB, 8 * MIB) != MIB || pwrite(fd, "xyz", 3, 40 * MIB) != 3 ||
	    ftruncate(fd, 64 * MIB) < 0)
		perror(p);
	close(fd);
	free(buf);
}

static void
test_sparse(void)
{
	char src[PB], dst[PB];
	struct stat a, b;
	int r;

	snprintf(src, sizeof src, "%s/src", dir);
	snprintf(dst, sizeof dst, "%s/dst", dir);
	make_sparse(src);
	r = copy_file(src, dst, 0600, 1);
	ok(r == COPY_SPARSE || r == COPY_REFLINK, "copy: %d %s", r, r < 0 ? errmsg() : "");
	ok(same_content(src, dst), "same bytes");
	stat(src, &a);
	stat(dst, &b);
	is_int(b.st_size, 64 * MIB, "trailing hole kept: size is 64 MiB");
	ok(b.st_blocks * 512 <= a.st_blocks * 512 + 64 * 1024,
	    "holes kept: dst uses %lld bytes, src %lld", (long long)b.st_blocks * 512,
	    (long long)a.st_blocks * 512);
	ok(b.st_blocks * 512 < 4 * MIB, "dst is far smaller than its size");
	is_int(b.st_mode & 07777, 0600, "mode 0600");
	unlink(dst);
}

static void
test_mode_umask(void)
{
	char src[PB], dst[PB];
	struct stat b;
	mode_t old = umask(077);

	snprintf(src, sizeof src, "%s/src", dir);
	snprintf(dst, sizeof dst, "%s/dst644", dir);
	ok(copy_file(src, dst, 0644, 0) >= 0, "copy with umask 077");
	stat(dst, &b);
	is_int(b.st_mode & 07777, 0644, "mode is honoured despite the umask");
	umask(old);
	unlink(dst);
}

static void
test_small_and_empty(void)
{
	char src[PB], dst[PB];
	struct stat b;
	int fd;

	snprintf(src, sizeof src, "%s/empty", dir);
	snprintf(dst, sizeof dst, "%s/empty2", dir);
	fd = open(src, O_WRONLY | O_CREAT, 0644);
	close(fd);
	ok(copy_file(src, dst, 0644, 0) >= 0, "empty file");
	ok(stat(dst, &b) == 0 && b.st_size == 0, "empty copy is empty");
	unlink(dst);

	snprintf(src, sizeof src, "%s/small", dir);
	snprintf(dst, sizeof dst, "%s/small2", dir);
	fd = open(src, O_WRONLY | O_CREAT, 0644);
	ok(write(fd, "hello\n", 6) == 6, "write small");
	close(fd);
	ok(copy_file(src, dst, 0644, 0) >= 0, "small file");
	ok(same_content(src, dst), "small copy has the same bytes");
}

static void
test_refusals(void)
{
	char src[PB], dst[PB], *s;
	struct stat b;

	snprintf(src, sizeof src, "%s/small", dir);
	snprintf(dst, sizeof dst, "%s/small2", dir);
	ok(copy_file(src, dst, 0644, 0) < 0, "an existing dst is refused");
	ok(strstr(errmsg(), dst) != NULL, "message names dst: %s", errmsg());
	s = read_file(dst, 100, NULL);
	ok(s && !strcmp(s, "hello\n"), "and left as it was");
	free(s);

	snprintf(src, sizeof src, "%s/missing", dir);
	snprintf(dst, sizeof dst, "%s/out1", dir);
	ok(copy_file(src, dst, 0644, 0) < 0, "a missing src fails");
	ok(strstr(errmsg(), src) != NULL, "message names src: %s", errmsg());
	ok(stat(dst, &b) < 0 && errno == ENOENT, "no dst is left");

	ok(copy_file(dir, dst, 0644, 0) < 0, "a directory src fails: %s", errmsg());
	ok(stat(dst, &b) < 0 && errno == ENOENT, "no dst is left");

	snprintf(dst, sizeof dst, "%s/nodir/out", dir);
	snprintf(src, sizeof src, "%s/small", dir);
	ok(copy_file(src, dst, 0644, 0) < 0, "dst in a missing dir fails: %s", errmsg());
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/fcu-copy.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_sparse();
	test_mode_umask();
	test_small_and_empty();
	test_refusals();
	rm_rf(dir);
	return done_testing();
}
