/* fc-pager: serve a Firecracker VM's page faults from its memory file
 * (userfaultfd).  See man/fc-pager.8 and common/pager.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "hint.h"
#include "lazysrc.h"
#include "pager.h"
#include "util.h"

static const char usage_text[] =
"usage: fc-pager [options] -m MEMFILE -s SOCKET\n"
"       fc-pager [options] --pull DIR --remote URL -s SOCKET\n"
"Listen on SOCKET for firecracker's Uffd memory backend and serve every page\n"
"fault of its guest from MEMFILE (holes as zero pages) for the VM's life.\n"
"If the page server dies, firecracker is killed (it would hang).\n"
"With --pull, the memory is DIR/mem of a lazy pull (a lazy restore of a\n"
"snapshot not in the store): the chunk that holds a faulting page is\n"
"fetched from URL and verified first, a background fill brings the rest,\n"
"and the snapshot is published when it is complete.\n"
"\n"
"  -m, --mem FILE              the snapshot's memory file\n"
"      --pull DIR              the pull dir (snapshots/.pull-NAME) to fill\n"
"      --remote URL            the s3:// URL it is pulled from\n"
"      --fetch-timeout SECS    retry a chunk this long before giving up and\n"
"                              killing the VM (default 60s)\n"
"      --no-fill               fetch chunks on demand only (no background\n"
"                              fill, nothing published)\n"
"      --fill-idle SECS        fill in the background only once no fault\n"
"                              came for this long (default 100ms)\n"
"      --hint NAME             record the pages faulted in the first seconds\n"
"                              as the working-set hint of snapshot NAME in\n"
"                              the store, unless it has one\n"
"      --hint-window SECS      how long after the first fault (default 5s)\n"
"  -s, --socket PATH           the Unix socket to listen on (made 0600; its\n"
"                              directory must be ours, not writable by others)\n"
"  -p, --pid PID               the firecracker process that will connect;\n"
"                              others are refused\n"
"      --accept-timeout SECS   wait this long for firecracker (default 60s)\n"
"      --ready-fd N            write \"ready\" to fd N once listening\n"
"      --stats                 print what was served when the VM exits\n"
"  -h, --help                  show this help\n"
"      --version               print the version\n";

enum { O_ACCEPT = 256, O_READY, O_STATS, O_VERSION, O_PULL, O_REMOTE, O_FETCH, O_NOFILL,
	O_IDLE, O_HINT, O_HINTWIN };

static int stats;

static int
record(void *name, const uint64_t *pages, size_t n)
{
	struct store st;

	if (store_init(&st) < 0 || hint_save(&st, name, pages, n) < 0)
		return -1;
	return 0;
}

static int
need(void *src, uint64_t off, uint64_t len)
{
	return lazysrc_need(src, off, len);
}

/* The background fill, then the publish: the exit status (pager.h). */
static int
fill(void *src)
{
	struct lazysrc *s = src;

	if (lazysrc_fill(s) < 0) {
		if (s->fatal)
			return fail("firecracker is killed: %s", errmsg()), 3;
		warnmsg("background fill stopped: %s; pages still arrive on demand", errmsg());
		return 0;
	}
	if (lazysrc_publish(s) < 0) {
		warnmsg("snapshot %s not published: %s", s->name, errmsg());
		return 0;
	}
	if (stats)
		warnmsg("snapshot %s complete and published: %llu chunks fetched here "
		    "(%llu bytes), %llu brought by others", s->name,
		    (unsigned long long)s->st.fetched, (unsigned long long)s->st.bytes,
		    (unsigned long long)s->st.shared);
	return 0;
}

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
		{ "pull", required_argument, NULL, O_PULL },
		{ "remote", required_argument, NULL, O_REMOTE },
		{ "fetch-timeout", required_argument, NULL, O_FETCH },
		{ "no-fill", no_argument, NULL, O_NOFILL },
		{ "fill-idle", required_argument, NULL, O_IDLE },
		{ "hint", required_argument, NULL, O_HINT },
		{ "hint-window", required_argument, NULL, O_HINTWIN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct pager p;
	struct lazysrc src;
	const char *mem = NULL, *sock = NULL, *pull = NULL, *url = NULL, *hint = NULL;
	char mpath[4096];
	long long pid = 0, accept_ms = 60000, ready = -1, fetch_ms = 60000, idle_ms = 100;
	long long hint_ms = 5000;
	int c, rc, nofill = 0;

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
		case O_PULL: pull = optarg; break;
		case O_REMOTE: url = optarg; break;
		case O_FETCH:
			if (parse_duration_ms(optarg, &fetch_ms, "--fetch-timeout") < 0 ||
			    fetch_ms < 1 || fetch_ms > 86400000)
				usage_die("bad --fetch-timeout '%s'", optarg);
			break;
		case O_NOFILL: nofill = 1; break;
		case O_IDLE:
			if (parse_duration_ms(optarg, &idle_ms, "--fill-idle") < 0 ||
			    idle_ms > 3600000)
				usage_die("bad --fill-idle '%s'", optarg);
			break;
		case O_HINT:
			if (name_check(optarg, "--hint") < 0)
				usage_die("%s", errmsg());
			hint = optarg;
			break;
		case O_HINTWIN:
			if (parse_duration_ms(optarg, &hint_ms, "--hint-window") < 0 ||
			    hint_ms < 1 || hint_ms > 3600000)
				usage_die("bad --hint-window '%s'", optarg);
			break;
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
	if (!pull != !url)
		usage_die("--pull DIR and --remote URL go together");
	if (pull && mem)
		usage_die("give the memory file (-m) or a pull dir (--pull), not both");
	if (!(mem || pull) || !sock)
		usage_die("give the memory file (-m FILE) and the socket (-s PATH)");
	pager_init(&p);
	if (pull) {
		/* the journal first: a chunk it lists is whole in the file
		 * whose holes the server then looks up */
		if (lazysrc_open(&src, pull, url, fetch_ms) < 0)
			die("%s", errmsg());
		if (fmt(mpath, sizeof mpath, "%s/mem", pull) < 0)
			die("%s", errmsg());
		mem = mpath;
		p.need = need;
		p.fill = nofill ? NULL : fill;
		p.src = &src;
		p.chunk_size = src.m.chunk_size;
		p.fill_dir = pull;
	}
	if (hint) {
		p.record = record;
		p.record_arg = (void *)(uintptr_t)hint;
		p.hint_ms = hint_ms;
	}
	if (pager_open(&p, mem, sock) < 0) {
		pager_free(&p);
		die("%s", errmsg());
	}
	if (pull) {
		src.last_fault = p.last_fault;
		src.idle_ms = idle_ms;
		if (lazysrc_hint(&src) < 0 || pager_prefetch(&p, src.pre_blk, src.pre_mask,
		    src.npre, lazysrc_prefetch, fetch_ms) < 0) {
			pager_free(&p);
			die("%s", errmsg());
		}
	}
	rc = pager_run(&p, (pid_t)pid, (int)accept_ms, (int)ready, stats);
	if (rc < 0)
		die("%s", errmsg());
	pager_free(&p);
	if (pull)
		lazysrc_free(&src);
	return rc;
}
