/* copy-file: test helper (not installed).
 *   copy-file SRC DST [MODE]
 * copy_file() from copy.h; prints "reflink" or "sparse". */
#include "copy.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
	long mode = 0600;
	int r;

	prog_init(argv);
	if (argc < 3 || argc > 4)
		usage_die("usage: copy-file SRC DST [MODE]");
	if (argc == 4)
		mode = strtol(argv[3], NULL, 8);
	r = copy_file(argv[1], argv[2], (mode_t)mode, 1);
	if (r < 0)
		die("%s", errmsg());
	printf("%s\n", r == COPY_REFLINK ? "reflink" : "sparse");
	return 0;
}
