/* fc-rootfs: make an ext4 root filesystem image for a Firecracker guest
 * from a directory or a tar stream, with fc-agent installed and started
 * at boot.
 *
 * Flow: stage the tree in a temp dir beside the output (hard links where
 * possible), add the agent and its service file, measure, run
 * `mkfs.ext4 -d STAGE` into a temp image beside the output, rename it into
 * place.  Nothing half-made is left on any failure or on SIGINT/SIGTERM.
 */
#include "rootfs.h"
#include "util.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024ull * 1024)

static struct rootfs_opts opt = ROOTFS_OPTS_INIT;
static int verbose;

/* ---- options ---- */

static void
usage(void)
{
	printf("usage: %s [-d DIR] -o FILE [-s SIZE] [--agent PATH] [--init KIND]\n"
	    "       [--port N] [--label NAME] [--no-journal] [-v]\n"
	    "Make an ext4 root filesystem image for a Firecracker guest from a directory\n"
	    "or from a tar stream on stdin (plain or gzip), with fc-agent installed and\n"
	    "started at boot.\n"
	    "\n"
	    "  -d, --dir DIR      take the tree from DIR (default: a tar stream on stdin)\n"
	    "  -o, --output FILE  the image to write (replaced atomically)\n"
	    "  -s, --size SIZE    image size, e.g. 600M (default: content + 50%% + 64M)\n"
	    "      --agent PATH   the fc-agent binary (default: next to fc-rootfs, then PATH)\n"
	    "      --init KIND    how the agent starts: auto, agent (as PID 1), openrc,\n"
	    "                     systemd, busybox, sysv (default: auto)\n"
	    "      --port N       vsock port for the agent (passed as -p N)\n"
	    "      --label NAME   filesystem label (default: rootfs)\n"
	    "      --no-journal   make the filesystem without a journal\n"
	    "  -v, --verbose      say what was written\n"
	    "  -h, --help         show this help\n"
	    "      --version      show the version\n", progname);
}

static int
find_agent(void)
{
	static char path[PATH_MAX];
	char self[PATH_MAX], *s;
	ssize_t n;

	if (opt.agent) {
		if (access(opt.agent, R_OK) < 0)
			return fail_errno("agent %s", opt.agent);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = 0;
		s = strrchr(self, '/');
		if (s) {
			*s = 0;
			if (fmt(path, sizeof path, "%s/fc-agent", self) == 0 &&
			    access(path, X_OK) == 0) {
				opt.agent = path;
				return 0;
			}
		}
	}
	if (find_exe("fc-agent", path, sizeof path) == 0) {
		opt.agent = path;
		return 0;
	}
	return fail("fc-agent not found next to %s or in PATH: build it (make) or give "
	    "--agent PATH", progname);
}

static void
parse_args(int argc, char **argv)
{
	enum { O_AGENT = 256, O_INIT, O_PORT, O_LABEL, O_NOJOURNAL, O_VERSION };
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "size", required_argument, NULL, 's' },
		{ "agent", required_argument, NULL, O_AGENT },
		{ "init", required_argument, NULL, O_INIT },
		{ "port", required_argument, NULL, O_PORT },
		{ "label", required_argument, NULL, O_LABEL },
		{ "no-journal", no_argument, NULL, O_NOJOURNAL },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0, 0, 0, 0 }
	};
	size_t i;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:o:s:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'd': opt.dir = optarg; break;
		case 'o': opt.out = optarg; break;
		case 's':
			if (parse_size(optarg, &opt.size, "size") < 0 || opt.size < 4 * MIB)
				usage_die("%s", opt.size ? "size must be at least 4M" : errmsg());
			break;
		case O_AGENT: opt.agent = optarg; break;
		case O_INIT:
			for (i = 0; i < ARRAY_LEN(rootfs_init_names); i++)
				if (!strcmp(optarg, rootfs_init_names[i]))
					break;
			if (i == ARRAY_LEN(rootfs_init_names))
				usage_die("bad --init '%s': use auto, agent, openrc, systemd, "
				    "busybox or sysv", optarg);
			opt.init = (enum rootfs_init)i;
			break;
		case O_PORT:
			if (parse_long(optarg, 1, 0xffffffffLL, &opt.port, "port") < 0)
				usage_die("%s", errmsg());
			opt.have_port = 1;
			break;
		case O_LABEL:
			if (strlen(optarg) > 16)
				usage_die("bad --label '%s': at most 16 bytes", optarg);
			opt.label = optarg;
			break;
		case O_NOJOURNAL: opt.journal = 0; break;
		case 'v': verbose = 1; break;
		case 'h': usage(); exit(0);
		case O_VERSION: printf("%s (fcsnap) %s\n", progname, FCSNAP_VERSION); exit(0);
		case ':': usage_die("option '%s' needs an argument", argv[optind - 1]);
		default: usage_die("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_die("unexpected argument '%s'", argv[optind]);
	if (!opt.out)
		usage_die("missing -o FILE (the image to write)");
	if (!opt.dir && isatty(0))
		usage_die("no input: give -d DIR or pipe a tar archive into stdin");
}

int
main(int argc, char **argv)
{
	struct rootfs_result r;
	char mkfs[PATH_MAX];

	prog_init(argv);
	parse_args(argc, argv);
	if (rootfs_find_mkfs(mkfs, sizeof mkfs) < 0 || find_agent() < 0)
		die("%s", errmsg());
	if (rootfs_build(&opt, mkfs, &r) < 0)
		die("%s", errmsg());
	if (verbose)
		warnmsg("wrote %s: %llu MiB, %llu MiB in %llu files, fc-agent started by %s",
		    opt.out, (unsigned long long)(r.size / MIB),
		    (unsigned long long)((r.bytes + MIB - 1) / MIB),
		    (unsigned long long)r.files, r.init == ROOTFS_INIT_AGENT ?
		    "the kernel (PID 1)" : rootfs_init_names[r.init]);
	return 0;
}
