/* slow-reader: read stdin slowly (a pause after every chunk) and print
 * the byte count.  Used to test backpressure: a writer on the other side
 * must be throttled, not buffer everything or fail.
 *   slow-reader [CHUNK_BYTES [PAUSE_US]]   (defaults 65536, 200) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int
main(int argc, char **argv)
{
	static char buf[1 << 20];
	long long chunk = 65536, pause_us = 200;
	unsigned long long total = 0;
	struct timespec ts;
	ssize_t r;

	prog_init(argv);
	if (argc > 1 && parse_long(argv[1], 1, sizeof(buf), &chunk, "chunk") < 0)
		usage_die("%s", errmsg());
	if (argc > 2 && parse_long(argv[2], 0, 1000000, &pause_us, "pause") < 0)
		usage_die("%s", errmsg());
	ts.tv_sec = 0;
	ts.tv_nsec = pause_us * 1000;
	for (;;) {
		r = read(0, buf, (size_t)chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read: %s", strerror(errno));
		if (r == 0)
			break;
		total += (unsigned long long)r;
		if (pause_us)
			nanosleep(&ts, NULL);
	}
	printf("%llu\n", total);
	return 0;
}
