/* fc-pager: serve a Firecracker VM's page faults from its memory file
 * (userfaultfd).  See man/fc-pager.8 and common/pager.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "pager.h"
#include "util.h"

static const char usage_text[] =
"usage: fc-pager [options] -m MEMFILE -s SOCKET\n"
"Listen on SOCKET for firecracker's Uffd memory backend and serve every page\n"
"fault of its guest from MEMFILE (holes as zero pages) for the VM's life.\n"
"If the page server dies, firecracker is killed (it would hang).\n"
"\n"
"  -m, --mem FILE              the snapshot's memory file\n"
"  -s, --socket PATH           the Unix socket to listen on (made 0600; its\n"
"                              directory must be ours, not writable by others)\n"
"  -p, --pid PID               the firecracker process that will connect;\n"
"                              others are refused\n"
"      --accept-timeout SECS   wait this long for firecracker (default 60s)\n"
"      --ready-fd N            write \"ready\" to fd N once listening\n"
"      --stats                 print what was served when the VM exits\n"
"  -h, --help                  show this help\n"
"      --version               print the version\n";

enum { O_ACCEPT = 256, O_READY, O_STATS, O_VERSION };

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mem", required_argument, NULL, 'm' },
		{ "socket", required_argument, NULL, 's' },
		{ "pid", required_argument, NULL, 'p' },
		{ "accept-timeout", required_argument, NULL, O_ACCEPT },
		{ "ready-fd", required_argument, NULL, O_READY },
		{ "stats", no_argument, NULL, O_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct pager p;
	const char *mem = NULL, *sock = NULL;
	long long pid = 0, accept_ms = 60000, ready = -1;
	int c, stats = 0, rc;

	prog_init(argv);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:s:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': mem = optarg; break;
		case 's': sock = optarg; break;
		case 'p':
			if (parse_long(optarg, 1, 4194304, &pid, "--pid") < 0)
				usage_die("%s", errmsg());
			break;
		case O_ACCEPT:
			if (parse_duration_ms(optarg, &accept_ms, "--accept-timeout") < 0 ||
			    accept_ms > 86400000)
				usage_die("bad --accept-timeout '%s'", optarg);
			break;
		case O_READY:
			if (parse_long(optarg, 1, 1023, &ready, "--ready-fd") < 0)
				usage_die("%s", errmsg());
			break;
		case O_STATS: stats = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_VERSION: printf("%s (fcsnap) %s\n", progname, FCSNAP_VERSION); return 0;
		case ':': usage_die("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				usage_die("unknown option '-%c'", optopt);
			usage_die("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_die("unexpected argument '%s'", argv[optind]);
	if (!mem || !sock)
		usage_die("give the memory file (-m FILE) and the socket (-s PATH)");
	pager_init(&p);
	if (pager_open(&p, mem, sock) < 0) {
		pager_free(&p);
		die("%s", errmsg());
	}
	rc = pager_run(&p, (pid_t)pid, (int)accept_ms, (int)ready, stats);
	if (rc < 0)
		die("%s", errmsg());
	pager_free(&p);
	return rc;
}
