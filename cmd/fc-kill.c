/* fc-kill: stop VMs that fc-snap-restore started and remove their run dirs. */
#include "lazy.h"
#include "runreg.h"
#include "store.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char usage_text[] =
"usage: fc-kill [-v] [-t DURATION] ID...\n"
"       fc-kill [-v] [-t DURATION] --all\n"
"Stop VMs that fc-snap-restore started (SIGTERM, then SIGKILL after the\n"
"grace period) and remove their run dirs.\n"
"\n"
"  -a, --all               stop every VM in the store\n"
"  -t, --timeout DURATION  grace period between SIGTERM and SIGKILL\n"
"                          (e.g. 3, 500ms; default 5s)\n"
"  -v, --verbose           print each id stopped\n"
"  -h, --help              show this help\n"
"      --version           print the version\n"
"Store: $FCSNAP_DIR (default /var/lib/fcsnap for root).\n";

static int
kill_one(const struct store *s, const char *id, long long grace_ms, int verbose)
{
	struct vm v;
	int pf[8], np;

	/* a damaged vm.json still names the run dir: vm_destroy finds the
	   VM's process through the dir's lock */
	if (vm_load(s, id, &v) < 0 &&
	    (vm_id_check(id) < 0 || !v.dir[0] || access(v.dir, F_OK) < 0))
		return -1;
	np = lazy_hold(v.dir, pf, 8);
	if (vm_destroy(&v, grace_ms) < 0) {
		while (np > 0)
			close(pf[--np]);        /* its VM may still run */
		return -1;
	}
	lazy_reap(pf, np, grace_ms);
	if (verbose)
		printf("%s\n", id);
	return 0;
}

static int
kill_all(const struct store *s, long long grace_ms, int verbose)
{
	struct vm *v;
	int n, i, rc = 0;

	n = vm_list(s, &v);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (access(v[i].dir, F_OK) < 0)
			continue;       /* gone meanwhile (stopped by its owner) */
		if (kill_one(s, v[i].id, grace_ms, verbose) < 0 && access(v[i].dir, F_OK) == 0) {
			warnmsg("%s", errmsg());
			rc = -1;
		}
	}
	free(v);
	if (vm_drop_dead(s) < 0) {
		warnmsg("%s", errmsg());
		rc = -1;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct store s;
	long long grace_ms = 5000;
	int c, i, all = 0, verbose = 0, rc = 0;

	prog_init(argv);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":at:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': all = 1; break;
		case 't':
			if (parse_duration_ms(optarg, &grace_ms, "timeout") < 0)
				usage_die("%s", errmsg());
			break;
		case 'v': verbose = 1; break;
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
	if (all && optind < argc)
		usage_die("give VM ids or --all, not both");
	if (!all && optind >= argc)
		usage_die("no VM id given (see fc-ps), or --all");
	if (store_init(&s) < 0)
		die("%s", errmsg());
	if (all) {
		rc = kill_all(&s, grace_ms, verbose) < 0;
	} else {
		for (i = optind; i < argc; i++) {
			if (kill_one(&s, argv[i], grace_ms, verbose) < 0) {
				warnmsg("%s", errmsg());
				rc = 1;
			}
		}
	}
	if (fflush(stdout) != 0)
		die("writing to stdout failed");
	return rc;
}
