/* fc-snap-rm: remove snapshots from the local store, each under its lock. */
#include "store.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage_text[] =
"usage: fc-snap-rm [-fnv] [-t DURATION] NAME...\n"
"Remove snapshots from the local store.  VMs restored from them keep running.\n"
"\n"
"  -t, --timeout DURATION  wait this long for a snapshot that is being written\n"
"                          (e.g. 30, 2m; default 10m)\n"
"  -n, --no-wait           fail at once when a snapshot is being written\n"
"  -f, --force             a missing snapshot is not an error\n"
"  -v, --verbose           print each name removed\n"
"  -h, --help              show this help\n"
"      --version           print the version\n"
"Store: $FCSNAP_DIR (default /var/lib/fcsnap for root).\n";

struct opts {
	long long timeout_ms;
	int force, verbose;
};

static int
rm_one(const struct store *s, const char *name, const struct opts *o)
{
	int lk;

	if (name_check(name, "snapshot name") < 0)
		return -1;
	if (!store_has(s, name)) {
		if (o->force)
			return 0;
		return fail("no snapshot named %s in %s/snapshots", name, s->root);
	}
	lk = store_lock_timeout(s, name, o->timeout_ms);
	if (lk < 0)
		return -1;
	if (!store_has(s, name)) {      /* removed while we waited */
		store_unlock(lk);
		return o->force ? 0 : fail("no snapshot named %s in %s/snapshots",
		    name, s->root);
	}
	if (store_remove(s, name) < 0) {
		store_unlock(lk);
		return -1;
	}
	store_unlock(lk);
	if (o->verbose)
		printf("%s\n", name);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 600000, 0, 0 };
	struct store s;
	int c, i, rc = 0;

	prog_init(argv);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":t:nfvh", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_duration_ms(optarg, &o.timeout_ms, "timeout") < 0)
				usage_die("%s", errmsg());
			break;
		case 'n': o.timeout_ms = 0; break;
		case 'f': o.force = 1; break;
		case 'v': o.verbose = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case 'V': printf("%s (fcsnap) %s\n", progname, FCSNAP_VERSION); return 0;
		case ':':
			usage_die("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				usage_die("unknown option '-%c'", optopt);
			usage_die("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_die("no snapshot name given");
	if (store_init(&s) < 0)
		die("%s", errmsg());
	for (i = optind; i < argc; i++) {
		if (rm_one(&s, argv[i], &o) < 0) {
			warnmsg("%s", errmsg());
			rc = 1;
		}
	}
	if (fflush(stdout) != 0)
		die("writing to stdout failed");
	return rc;
}
