/* fc-snap-restore: start a fresh firecracker in its own run dir and load a
 * snapshot into it; print the new VM's id.  See man/fc-snap-restore.1.
 *
 * The snapshot directory is opened once and every file is read through
 * that fd (/proc/self/fd/N/..., and /proc/<our pid>/fd/N/... for
 * firecracker, which opens vmstate and maps mem while we wait for its
 * answer), so a refresh that replaces the snapshot meanwhile cannot give
 * this VM a disk from one generation and memory from another.
 *
 * Hot path: no fsync of the private disk copy, polling steps of 0.1 ms,
 * no shell. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "copy.h"
#include "json.h"
#include "restore.h"
#include "util.h"
#include "fcproc.h"

#define DEF_TIMEOUT_MS  (120 * 1000)

static struct restore_opts o;
static char *fc_args[FCARGS_MAX];
static int json, timings;
static struct restore R;
static int64_t t_end;

static void
usage(FILE *f)
{
	fprintf(f,
"usage: fc-snap-restore [options] NAME\n"
"Start a new VM from the snapshot NAME: a fresh firecracker in its own run\n"
"dir with a private copy of the disk, memory mapped from the store; print\n"
"the VM's id.\n"
"\n"
"      --id ID               the VM's id (default: 8 random hex digits)\n"
"  -f, --firecracker FILE    firecracker binary (default $FCSNAP_FIRECRACKER,\n"
"                            else firecracker in PATH, else\n"
"                            STORE/bin/firecracker)\n"
"  -F, --firecracker-arg ARG extra firecracker argument, repeatable (after\n"
"                            $FCSNAP_FIRECRACKER_ARGS, space-separated); of\n"
"                            those the snapshot recorded only harmless ones\n"
"                            are used (fcsnap-security(7))\n"
"      --paused              leave the VM paused (no agent hello)\n"
"      --no-hello            do not send the agent hello (clock, entropy)\n"
"      --lazy                start before the memory is read: fc-pager serves\n"
"                            each page on the guest's first touch (from the\n"
"                            remote, on demand, when NAME is not here)\n"
"  -t, --timeout DURATION    limit for each step: API socket, load, agent\n"
"                            (default 120s)\n"
"      --remote URL          pull NAME from URL (s3://bucket/prefix) first when\n"
"                            it is not in the store (default $FCSNAP_REMOTE)\n"
"      --json                print a JSON record instead of the id\n"
"      --timings             print where the time went on stderr\n"
"  -h, --help                this help\n"
"      --version             print the version\n");
}

enum { O_ID = 256, O_PAUSED, O_NO_HELLO, O_LAZY, O_JSON, O_TIMINGS, O_VERSION, O_REMOTE };

static const struct option longopts[] = {
	{ "id", required_argument, NULL, O_ID },
	{ "firecracker", required_argument, NULL, 'f' },
	{ "firecracker-arg", required_argument, NULL, 'F' },
	{ "paused", no_argument, NULL, O_PAUSED },
	{ "no-hello", no_argument, NULL, O_NO_HELLO },
	{ "lazy", no_argument, NULL, O_LAZY },
	{ "timeout", required_argument, NULL, 't' },
	{ "remote", required_argument, NULL, O_REMOTE },
	{ "json", no_argument, NULL, O_JSON },
	{ "timings", no_argument, NULL, O_TIMINGS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void
parse_args(int argc, char **argv)
{
	int c;

	o.timeout_ms = DEF_TIMEOUT_MS;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:F:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_ID: o.id = optarg; break;
		case 'f': o.firecracker = optarg; break;
		case 'F':
			if (o.nfc_args == FCARGS_MAX)
				usage_die("more than %d -F arguments", FCARGS_MAX);
			fc_args[o.nfc_args++] = optarg;
			o.fc_args = fc_args;
			break;
		case O_PAUSED: o.paused = 1; break;
		case O_NO_HELLO: o.no_hello = 1; break;
		case O_LAZY: o.lazy = 1; break;
		case 't':
			if (parse_duration_ms(optarg, &o.timeout_ms, "--timeout") < 0 ||
			    o.timeout_ms < 1)
				usage_die("bad --timeout '%s': expected a duration like 120, 90s, 5m",
				    optarg);
			break;
		case O_REMOTE: o.remote = optarg; break;
		case O_JSON: json = 1; break;
		case O_TIMINGS: timings = 1; break;
		case 'h': usage(stdout); exit(0);
		case O_VERSION: printf("fc-snap-restore (fcsnap) %s\n", FCSNAP_VERSION); exit(0);
		case ':': usage_die("option %s needs an argument", argv[optind - 1]);
		default: usage_die("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_die("no snapshot name given");
	o.name = argv[optind++];
	if (optind < argc)
		usage_die("unexpected argument '%s'", argv[optind]);
	if (name_check(o.name, "snapshot name") < 0 || (o.id && vm_id_check(o.id) < 0))
		usage_die("%s", errmsg());
}

/* ---- output ---- */

static double
ms(int64_t a, int64_t b)
{
	return b > a ? (double)(b - a) / 1e6 : 0;
}

/* Time spent waiting on firecracker and the agent. */
static double
waited(void)
{
	int64_t agent_end = R.T.agent ? R.T.agent : R.T.load;

	return ms(R.T.copy, R.T.ready) + ms(R.T.ready, R.T.load) + ms(R.T.load, agent_end);
}

static void
print_timings(void)
{
	const struct restore_times *T = &R.T;
	int64_t agent_end = T->agent ? T->agent : T->load;

	fprintf(stderr, "fc-snap-restore: timings (ms): check %.2f copy %.2f spawn %.2f "
	    "socket %.2f load %.2f agent %.2f total %.2f own %.2f record %.2f (%s copy)\n",
	    ms(T->start, T->check), ms(T->spawn, T->copy), ms(T->check, T->spawn),
	    ms(T->copy, T->ready), ms(T->ready, T->load), ms(T->load, agent_end),
	    ms(T->start, t_end), ms(T->start, t_end) - waited(), ms(0, T->record),
	    copy_kind_name(R.copy_kind));
}

static void
print_json(void)
{
	const struct restore_times *T = &R.T;
	int64_t agent_end = T->agent ? T->agent : T->load;
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "id", R.vm.id);
	jw_kstr(&w, "snapshot", o.name);
	jw_kint(&w, "pid", R.vm.pid);
	jw_kstr(&w, "dir", R.vm.dir);
	jw_kstr(&w, "api_sock", R.vm.api_sock);
	jw_kstr(&w, "vsock", R.vm.vsock);
	jw_kint(&w, "agent_port", R.m.agent_port);
	jw_kstr(&w, "state", o.paused ? "Paused" : "Running");
	jw_kstr(&w, "firecracker_version", R.m.fc_version);
	jw_kstr(&w, "rootfs_copy", copy_kind_name(R.copy_kind));
	jw_key(&w, "timings_ms");
	jw_obj(&w);
	jw_key(&w, "check"); jw_double(&w, ms(T->start, T->check));
	jw_key(&w, "spawn"); jw_double(&w, ms(T->check, T->spawn));
	jw_key(&w, "copy"); jw_double(&w, ms(T->spawn, T->copy));
	jw_key(&w, "socket"); jw_double(&w, ms(T->copy, T->ready));
	jw_key(&w, "load"); jw_double(&w, ms(T->ready, T->load));
	jw_key(&w, "agent"); jw_double(&w, ms(T->load, agent_end));
	jw_key(&w, "total"); jw_double(&w, ms(T->start, t_end));
	jw_key(&w, "own"); jw_double(&w, ms(T->start, t_end) - waited());
	jw_key(&w, "record"); jw_double(&w, ms(0, T->record));
	jw_obj_end(&w);
	jw_obj_end(&w);
	if (!jw_text(&w))
		die("out of memory");
	printf("%s\n", jw_text(&w));
	jw_free(&w);
}

int
main(int argc, char **argv)
{
	prog_init(argv);
	parse_args(argc, argv);
	restore_init(&R);
	if (restore_check(&R, &o) < 0)
		die("%s", errmsg());
	guard_install();
	if (restore_start(&R, &o) < 0)
		die("%s", errmsg());
	t_end = now_ns();
	if (json)
		print_json();
	else
		printf("%s\n", R.vm.id);
	if (fflush(stdout) != 0) {
		guard_cleanup();
		die("writing the VM id to stdout failed: VM %s stopped", R.vm.id);
	}
	/* the caller has the id: from here on the VM is its own */
	restore_done(&R);
	if (timings)
		print_timings();
	restore_free(&R);
	return 0;
}
