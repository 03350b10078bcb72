/* fc-exec: run a command inside a VM -- one that fc-snap-restore started
 * (-v ID), or a throw-away one restored from a snapshot (-s NAME) -- with
 * stdin, stdout, stderr and the exit status passed through.  See
 * man/fc-exec.1.  The engine is common/exec.c (exec.h): the stream pump
 * (pump.h) and the throw-away VM's reaper (reaper.h) are there. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "runreg.h"
#include "util.h"

#define DEF_CONNECT_MS  (60 * 1000)
#define DEF_AGENT_MS    (30 * 1000)
#define DEF_RESTORE_MS  (120 * 1000)
#define DEF_MAX_OUTPUT  (16ull << 20)

static struct exec_opts o;

/* ---- usage ---- */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: fc-exec [options] -v ID [-- CMD [ARG...]]\n"
"       fc-exec [options] -s SNAPSHOT [-- CMD [ARG...]]\n"
"Run CMD in a VM that fc-snap-restore started (-v), or in a throw-away VM\n"
"restored from SNAPSHOT and destroyed afterwards (-s).  stdin, stdout and\n"
"stderr pass through; the exit status is CMD's.  Without CMD the snapshot's\n"
"run command (recorded by fc-snap-create) runs with the code on stdin.\n"
"\n"
"  -v, --vm ID                 run in the running VM ID\n"
"  -s, --snapshot NAME         restore NAME into a throw-away VM\n"
"  -l, --lang NAME             the same as --snapshot\n"
"      --code CODE             send CODE as the command's stdin\n"
"  -e, --env K=V               set K in the command's environment (K alone:\n"
"                              unset it); repeatable\n"
"  -w, --workdir DIR           working directory in the guest (default /)\n"
"  -t, --timeout DURATION      kill the command's process group after this\n"
"                              long; exit status 124 (default: none)\n"
"      --keep                  leave the throw-away VM running; its id goes\n"
"                              to stderr\n"
"      --lazy                  with -s: start before the memory is read;\n"
"                              fc-pager serves each page on first touch\n"
"                              (from the remote, on demand, when SNAPSHOT is\n"
"                              not here)\n"
"      --remote URL            with -s: pull SNAPSHOT from URL (s3://...) when\n"
"                              it is not in the store (default $FCSNAP_REMOTE)\n"
"      --json                  print one JSON object with the status, the\n"
"                              output and the times instead of streaming\n"
"      --max-output SIZE       --json: keep at most SIZE bytes of stdout and\n"
"                              of stderr (default 16M)\n"
"      --timings               print where the time went on stderr\n"
"      --connect-timeout DURATION  wait this long for the agent to accept\n"
"                              a connection (default 60s)\n"
"      --agent-timeout DURATION    wait this long for each agent answer\n"
"                              (default 30s)\n"
"      --restore-timeout DURATION  limit for each restore step (default 120s)\n"
"  -f, --firecracker FILE      firecracker binary for -s (default\n"
"                              $FCSNAP_FIRECRACKER, else firecracker in PATH,\n"
"                              else STORE/bin/firecracker)\n"
"  -h, --help                  this help\n"
"      --version               print the version\n"
"Exit status: CMD's; 128+N when it was killed by signal N; 124 timeout;\n"
"125 fc-exec failed; 126 CMD not executable; 127 CMD not found; 2 usage.\n");
}

enum { O_CODE = 256, O_KEEP, O_LAZY, O_JSON, O_MAXOUT, O_TIMINGS, O_CONNECT, O_AGENT,
	O_RESTORE, O_VERSION, O_REMOTE };

static const struct option longopts[] = {
	{ "vm", required_argument, NULL, 'v' },
	{ "snapshot", required_argument, NULL, 's' },
	{ "lang", required_argument, NULL, 'l' },
	{ "code", required_argument, NULL, O_CODE },
	{ "env", required_argument, NULL, 'e' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "timeout", required_argument, NULL, 't' },
	{ "keep", no_argument, NULL, O_KEEP },
	{ "lazy", no_argument, NULL, O_LAZY },
	{ "remote", required_argument, NULL, O_REMOTE },
	{ "json", no_argument, NULL, O_JSON },
	{ "max-output", required_argument, NULL, O_MAXOUT },
	{ "timings", no_argument, NULL, O_TIMINGS },
	{ "connect-timeout", required_argument, NULL, O_CONNECT },
	{ "agent-timeout", required_argument, NULL, O_AGENT },
	{ "restore-timeout", required_argument, NULL, O_RESTORE },
	{ "firecracker", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void
duration(const char *arg, const char *what, long long min, long long *out)
{
	if (parse_duration_ms(arg, out, what) < 0 || *out < min || *out > UINT32_MAX)
		usage_die("bad %s '%s': expected a duration like 30, 90s, 500ms, 5m",
		    what, arg);
}

static void
add_env(const char *kv)
{
	if (o.nenv >= EXEC_MAX_ENV)
		usage_die("too many -e options (at most %d)", EXEC_MAX_ENV);
	if (!*kv || *kv == '=')
		usage_die("bad -e '%s': expected K=V (or K to unset K)", kv);
	o.env[o.nenv++] = (char *)kv;
	o.env[o.nenv] = NULL;
}

static void
parse_args(int argc, char **argv)
{
	int c;

	o.connect_ms = DEF_CONNECT_MS;
	o.agent_ms = DEF_AGENT_MS;
	o.restore_ms = DEF_RESTORE_MS;
	o.max_output = DEF_MAX_OUTPUT;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:v:s:l:e:w:t:f:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v': o.vm_id = optarg; break;
		case 's': case 'l':
			if (o.snap && strcmp(o.snap, optarg))
				usage_die("two snapshots given ('%s', '%s')", o.snap, optarg);
			o.snap = optarg;
			break;
		case O_CODE: o.code = optarg; break;
		case 'e': add_env(optarg); break;
		case 'w': o.cwd = optarg; break;
		case 't': duration(optarg, "--timeout", 1, &o.timeout_ms); break;
		case O_KEEP: o.keep = 1; break;
		case O_LAZY: o.lazy = 1; break;
		case O_REMOTE: o.remote = optarg; break;
		case O_JSON: o.json = 1; break;
		case O_MAXOUT:
			if (parse_size(optarg, &o.max_output, "--max-output") < 0)
				usage_die("%s", errmsg());
			break;
		case O_TIMINGS: o.timings = 1; break;
		case O_CONNECT: duration(optarg, "--connect-timeout", 1, &o.connect_ms); break;
		case O_AGENT: duration(optarg, "--agent-timeout", 1, &o.agent_ms); break;
		case O_RESTORE: duration(optarg, "--restore-timeout", 1, &o.restore_ms); break;
		case 'f': o.firecracker = optarg; break;
		case 'h': usage(stdout); exit(0);
		case O_VERSION: printf("fc-exec (fcsnap) %s\n", FCSNAP_VERSION); exit(0);
		case ':': usage_die("option %s needs an argument", argv[optind - 1]);
		default: usage_die("unknown option %s", argv[optind - 1]);
		}
	}
	o.cmd = argv + optind;
	o.ncmd = argc - optind;
	if (!o.vm_id == !o.snap)
		usage_die("give exactly one of -v ID (a running VM) and -s SNAPSHOT");
	if (o.vm_id && vm_id_check(o.vm_id) < 0)
		usage_die("%s", errmsg());
	if (o.snap && name_check(o.snap, "snapshot name") < 0)
		usage_die("%s", errmsg());
	if (o.keep && !o.snap)
		usage_die("--keep only applies to -s (a throw-away VM)");
}

/* ---- main ---- */

/* A closed stdin/stdout/stderr would be taken by our next open(): give it
 * /dev/null (stdin then reads as empty). */
static void
std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			_exit(EXEC_FAIL);
}

int
main(int argc, char **argv)
{
	int code, ok;

	std_fds();
	prog_init(argv);
	o.start = now_ns();
	parse_args(argc, argv);
	ok = exec_run(&o, &code) == 0;
	if (!ok)
		fprintf(stderr, "fc-exec: %s\n", exec_error());
	if (o.json)
		exec_print_json(ok, code);
	if (o.timings)
		exec_print_timings();
	exec_free();
	return code;
}
