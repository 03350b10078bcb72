/* fetch-cli: drive common/fetch for tests (until fc-snap-create does).
 *   fetch-cli firecracker DEST [VERSION [BASE_URL [SHA256]]]
 *   fetch-cli kernel DEST [URL [SHA256]]
 * Empty arguments mean the default (environment, then built-in). */
#include "fetch.h"
#include "util.h"

#include <string.h>

static const char *
arg(int argc, char **argv, int i)
{
	return i < argc && *argv[i] ? argv[i] : NULL;
}

int
main(int argc, char **argv)
{
	int rc;

	prog_init(argv);
	if (argc < 3)
		usage_die("usage: fetch-cli firecracker|kernel DEST [...]");
	if (!strcmp(argv[1], "firecracker"))
		rc = fetch_firecracker(argv[2], arg(argc, argv, 3), arg(argc, argv, 4),
		    arg(argc, argv, 5), NULL);
	else if (!strcmp(argv[1], "kernel"))
		rc = fetch_kernel(argv[2], arg(argc, argv, 3), arg(argc, argv, 4), NULL);
	else
		usage_die("unknown kind '%s'", argv[1]);
	if (rc < 0)
		die("%s", errmsg());
	return 0;
}
