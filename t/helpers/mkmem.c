/* mkmem: write guest-memory-like test files (for bench/s3 and tests).
 *
 *   mkmem FILE MIB SEED
 *       a sparse file of MIB MiB, about 30% of its 4 KiB pages random data
 *       and 70% zero (holes): the first 20% of pages are data (what a
 *       booted kernel touches first), the rest alternate zero runs and
 *       data runs (1..256 pages of data, then 1..1792 zero pages).
 *   mkmem -c PCT FILE SEED
 *       overwrite PCT% of FILE's pages with new random data, in runs of
 *       64 pages at random places (dirtied memory is clustered too).
 *   mkmem -s FILE MIB SEED
 *       a sparse file of MIB MiB whose every page is, by a coin toss,
 *       random data or a hole (so nearly every chunk of 8 or more pages
 *       mixes both).
 * Prints the number of data pages written.  Deterministic for a SEED.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define PG 4096

static uint64_t rs;

static uint64_t
rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static void
fill(unsigned char *b, size_t n)
{
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t v = rnd();
		memcpy(b + i, &v, 8);
	}
}

static void
put_pages(int fd, uint64_t page, uint64_t n, unsigned char *buf)
{
	while (n) {
		uint64_t k = n > 256 ? 256 : n;

		fill(buf, k * PG);
		if (pwrite(fd, buf, k * PG, (off_t)(page * PG)) != (ssize_t)(k * PG))
			die("write: %s", errmsg());
		page += k;
		n -= k;
	}
}

int
main(int argc, char **argv)
{
	static unsigned char buf[256 * PG];
	uint64_t pages, p, data = 0;
	long long mib, pct, seed;
	int fd;

	prog_init(argv);
	if (argc == 5 && !strcmp(argv[1], "-c")) {
		struct stat sb;
		uint64_t want, runs, i;

		if (parse_long(argv[2], 0, 100, &pct, "PCT") < 0 ||
		    parse_long(argv[4], 1, 1LL << 62, &seed, "SEED") < 0)
			die("%s", errmsg());
		rs = (uint64_t)seed * 0x9e3779b97f4a7c15ULL | 1;
		fd = open(argv[3], O_RDWR);
		if (fd < 0 || fstat(fd, &sb) < 0)
			die("%s: cannot open", argv[3]);
		pages = (uint64_t)sb.st_size / PG;
		want = pages * (uint64_t)pct / 100;
		runs = (want + 63) / 64;
		for (i = 0; i < runs && pages >= 64; i++) {
			p = rnd() % (pages - 63);
			put_pages(fd, p, 64, buf);
			data += 64;
		}
		printf("%llu\n", (unsigned long long)data);
		return close(fd) == 0 ? 0 : 1;
	}
	if (argc == 5 && !strcmp(argv[1], "-s")) {
		if (parse_long(argv[3], 1, 1 << 20, &mib, "MIB") < 0 ||
		    parse_long(argv[4], 1, 1LL << 62, &seed, "SEED") < 0)
			die("%s", errmsg());
		rs = (uint64_t)seed * 0x9e3779b97f4a7c15ULL | 1;
		fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, (off_t)mib << 20) < 0)
			die("%s: cannot create", argv[2]);
		pages = (uint64_t)mib << 8;
		for (p = 0; p < pages; p++)
			if (rnd() >> 63) {
				put_pages(fd, p, 1, buf);
				data++;
			}
		printf("%llu\n", (unsigned long long)data);
		return close(fd) == 0 ? 0 : 1;
	}
	if (argc != 4 || parse_long(argv[2], 1, 1 << 20, &mib, "MIB") < 0 ||
	    parse_long(argv[3], 1, 1LL << 62, &seed, "SEED") < 0)
		usage_die("usage: mkmem FILE MIB SEED | mkmem -c PCT FILE SEED | mkmem -s FILE MIB SEED");
	rs = (uint64_t)seed * 0x9e3779b97f4a7c15ULL | 1;
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)mib << 20) < 0)
		die("%s: cannot create", argv[1]);
	pages = (uint64_t)mib << 8;
	put_pages(fd, 0, pages / 5, buf);
	data = pages / 5;
	for (p = pages / 5; p < pages;) {
		uint64_t z = 1 + rnd() % 1792, d = 1 + rnd() % 256;

		p += z;
		if (p >= pages)
			break;
		if (d > pages - p)
			d = pages - p;
		put_pages(fd, p, d, buf);
		data += d;
		p += d;
	}
	printf("%llu\n", (unsigned long long)data);
	return close(fd) == 0 ? 0 : 1;
}
