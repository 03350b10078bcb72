/* Unit tests for common/punch.c: zero pages become holes, bytes stay. */
#include "tap.h"
#include "punch.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG PUNCH_PAGE
#define NPG 1000                /* crosses punch.c's 1 MiB read buffer */

static char dir[64];

/* Page i holds data when i % 7 == 3 or i is in [600, 610); the file is
 * written whole (no holes), plus a zero 100-byte tail after the pages
 * (a short page: kept). */
static int
data_page(int i)
{
	return i % 7 == 3 || (i >= 600 && i < 610);
}

static void
fill(unsigned char *b)
{
	int i;

	memset(b, 0, (size_t)NPG * PG + 100);
	for (i = 0; i < NPG; i++)
		if (data_page(i))
			memset(b + (size_t)i * PG + 17, 'a' + i % 26, 100);
}

static long long
blocks(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? (long long)st.st_blocks * 512 : -1;
}

static void
test_punch(void)
{
	static unsigned char want[NPG * PG + 100], got[NPG * PG + 100];
	char p[128];
	int64_t zero = 0, r;
	int fd, i;

	snprintf(p, sizeof p, "%s/mem", dir);
	fill(want);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok(fd >= 0 && write_all(fd, want, sizeof want) == 0 && fsync(fd) == 0, "write the file whole");
	close(fd);
	ok(blocks(p) >= (long long)sizeof want - PG, "it takes its whole size: %lld", blocks(p));
	for (i = 0; i < NPG; i++)
		zero += data_page(i) ? 0 : PG;
	r = punch_zero_pages(p);
	if (r == 0 && blocks(p) >= (long long)sizeof want - PG) {
		ok(1, "# SKIP this filesystem cannot punch holes");
		return;
	}
	is_int(r, zero, "the zero pages' bytes were punched");
	fd = open(p, O_RDONLY);
	ok(fd >= 0 && read_full(fd, got, sizeof got) == (ssize_t)sizeof got &&
	    !memcmp(got, want, sizeof want), "the file reads the same");
	close(fd);
	ok(blocks(p) <= (long long)(sizeof want - (size_t)zero) + 64 * 1024,
	    "its data takes little more than the data pages: %lld", blocks(p));
	is_int(punch_zero_pages(p), 0, "a second run finds nothing more to punch");
}

static void
test_refusals(void)
{
	char p[128], l[128];
	int64_t r;

	snprintf(p, sizeof p, "%s/none", dir);
	r = punch_zero_pages(p);
	ok(r < 0 && strstr(errmsg(), p), "a missing file: %s", errmsg());
	r = punch_zero_pages(dir);
	ok(r < 0, "a directory is refused: %s", errmsg());
	snprintf(p, sizeof p, "%s/mem", dir);
	snprintf(l, sizeof l, "%s/link", dir);
	r = symlink(p, l) == 0 ? punch_zero_pages(l) : 0;
	ok(r < 0, "a symlink is not followed: %s", errmsg());
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/fcu-punch.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_punch();
	test_refusals();
	rm_rf(dir);
	return done_testing();
}
