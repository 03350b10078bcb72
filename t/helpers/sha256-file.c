/* sha256-file [--portable] FILE...: print "<hex>  <name>" like sha256sum,
 * reading in odd-sized pieces to exercise the streaming path. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sha256.h"
#include "util.h"

static int
hash_file(const char *path)
{
	static unsigned char buf[1 << 20];
	static const size_t sizes[] = { 1, 63, 64, 65, 4097, 1 << 20, 100003 };
	struct sha256 c;
	unsigned char d[SHA256_LEN];
	char hx[SHA256_HEX_LEN + 1];
	ssize_t n;
	size_t k = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fail_errno("cannot open %s", path);
	sha256_init(&c);
	for (;;) {
		n = read(fd, buf, sizes[k++ % (sizeof sizes / sizeof sizes[0])]);
		if (n < 0) {
			close(fd);
			return fail_errno("reading %s", path);
		}
		if (n == 0)
			break;
		sha256_update(&c, buf, (size_t)n);
	}
	close(fd);
	sha256_final(&c, d);
	sha256_hex(d, hx);
	printf("%s  %s\n", hx, path);
	return 0;
}

int
main(int argc, char **argv)
{
	int i = 1;

	prog_init(argv);
	if (i < argc && !strcmp(argv[i], "--portable")) {
		sha256_use_hw(0);
		i++;
	}
	if (i >= argc)
		usage_die("usage: sha256-file [--portable] FILE...");
	for (; i < argc; i++)
		if (hash_file(argv[i]) < 0)
			die("%s", errmsg());
	return 0;
}
