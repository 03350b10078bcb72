/* fc-snap-create: make a snapshot, by cold-booting a VM from a kernel and a
 * rootfs (or from a VM that fc-snap-restore started), waiting for its
 * agent, syncing, pausing and snapshotting it; then publish it atomically
 * into the local store.  See man/fc-snap-create.1.  The engine is
 * common/create.c (create.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "create.h"
#include "fcproc.h"
#include "store.h"
#include "util.h"

#define MEM_MIN         128
#define MEM_MAX         (1024 * 1024)   /* 1 TiB */
#define VCPU_MAX        32
#define DEF_TIMEOUT_MS  (300 * 1000)

static struct create_opts o;

static void
usage(FILE *f)
{
	fprintf(f,
"usage: fc-snap-create [options] -l NAME -r ROOTFS [-k KERNEL]\n"
"       fc-snap-create [options] --from-vm ID -l NAME\n"
"Make the Firecracker snapshot NAME in the local store: boot KERNEL with\n"
"ROOTFS, wait for fc-agent, sync, pause, snapshot, publish atomically.\n"
"\n"
"  -l, --lang NAME            snapshot name (or give NAME as an operand)\n"
"  -r, --rootfs FILE          root filesystem image (copied into the snapshot)\n"
"  -k, --kernel FILE          guest kernel (default $FCSNAP_KERNEL, else\n"
"                             STORE/kernel/vmlinux); fetched when missing\n"
"  -f, --firecracker FILE     firecracker binary (default $FCSNAP_FIRECRACKER,\n"
"                             else firecracker in PATH, else\n"
"                             STORE/bin/firecracker); fetched when missing\n"
"      --no-fetch             never download a missing firecracker or kernel\n"
"  -m, --mem MIB              guest memory in MiB, %d..%d (default 512)\n"
"  -c, --vcpus N              vCPUs, 1..%d (default 1)\n"
"      --boot-args ARGS       appended to the default kernel command line\n"
"                             \"" CREATE_BOOT_ARGS "\"\n"
"      --boot-args-replace ARGS  the whole kernel command line instead\n"
"      --initrd FILE          initrd for the kernel\n"
"  -F, --firecracker-arg ARG  extra firecracker argument, repeatable (also\n"
"                             $FCSNAP_FIRECRACKER_ARGS, space-separated)\n"
"  -p, --agent-port PORT      vsock port fc-agent listens on (default %d)\n"
"      --run-command CMD      default command for fc-exec, stored as argv\n"
"      --tap DEV              add a network interface on host tap DEV\n"
"      --mac MAC              its guest MAC address\n"
"      --from-vm ID           snapshot the running VM ID instead of booting\n"
"      --resume-source        with --from-vm: resume ID afterwards\n"
"  -t, --timeout DURATION     limit for the agent wait and for each API call\n"
"                             (default 300s)\n"
"  -w, --wait                 wait for a concurrent create of NAME to finish\n"
"  -v, --verbose              progress on stderr even when not a terminal\n"
"      --json                 print a JSON record instead of the name\n"
"  -h, --help                 this help\n"
"      --version              print the version\n",
	    MEM_MIN, MEM_MAX, VCPU_MAX, AGENT_DEFAULT_PORT);
}

enum { O_BOOT_ARGS = 256, O_BOOT_REPLACE, O_INITRD, O_RUN_CMD, O_TAP, O_MAC,
	O_FROM_VM, O_RESUME_SOURCE, O_JSON, O_VERSION, O_NO_FETCH };

static const struct option longopts[] = {
	{ "lang", required_argument, NULL, 'l' },
	{ "rootfs", required_argument, NULL, 'r' },
	{ "kernel", required_argument, NULL, 'k' },
	{ "firecracker", required_argument, NULL, 'f' },
	{ "mem", required_argument, NULL, 'm' },
	{ "vcpus", required_argument, NULL, 'c' },
	{ "boot-args", required_argument, NULL, O_BOOT_ARGS },
	{ "boot-args-replace", required_argument, NULL, O_BOOT_REPLACE },
	{ "initrd", required_argument, NULL, O_INITRD },
	{ "firecracker-arg", required_argument, NULL, 'F' },
	{ "agent-port", required_argument, NULL, 'p' },
	{ "run-command", required_argument, NULL, O_RUN_CMD },
	{ "tap", required_argument, NULL, O_TAP },
	{ "mac", required_argument, NULL, O_MAC },
	{ "from-vm", required_argument, NULL, O_FROM_VM },
	{ "resume-source", no_argument, NULL, O_RESUME_SOURCE },
	{ "timeout", required_argument, NULL, 't' },
	{ "wait", no_argument, NULL, 'w' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "json", no_argument, NULL, O_JSON },
	{ "no-fetch", no_argument, NULL, O_NO_FETCH },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void
add_fc_arg(char *a)
{
	if (o.nfc_args == META_MAX_ARGS)
		usage_die("too many firecracker arguments (limit %d)", META_MAX_ARGS);
	o.fc_args[o.nfc_args++] = a;
}

static void
parse_args(int argc, char **argv)
{
	const char *env;
	int c;

	o.mem = 512;
	o.vcpus = 1;
	o.port = AGENT_DEFAULT_PORT;
	o.timeout_ms = DEF_TIMEOUT_MS;
	env = getenv("FCSNAP_FIRECRACKER_ARGS");
	o.nfc_args = split_args_env(env, o.fc_args, 0, META_MAX_ARGS);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:r:k:f:m:c:F:p:t:wvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o.name = optarg; break;
		case 'r': o.rootfs = optarg; o.boot_flags = 1; break;
		case 'k': o.kernel = optarg; o.boot_flags = 1; break;
		case 'f': o.firecracker = optarg; break;
		case 'm':
			if (parse_long(optarg, MEM_MIN, MEM_MAX, &o.mem, "--mem (MiB)") < 0)
				usage_die("%s", errmsg());
			o.boot_flags = 1;
			break;
		case 'c':
			if (parse_long(optarg, 1, VCPU_MAX, &o.vcpus, "--vcpus") < 0)
				usage_die("%s", errmsg());
			o.boot_flags = 1;
			break;
		case O_BOOT_ARGS: o.boot_args = optarg; o.boot_flags = 1; break;
		case O_BOOT_REPLACE: o.boot_args_replace = optarg; o.boot_flags = 1; break;
		case O_INITRD: o.initrd = optarg; o.boot_flags = 1; break;
		case 'F': add_fc_arg(optarg); break;
		case 'p':
			if (parse_long(optarg, 1, 0xffffffffLL, &o.port, "--agent-port") < 0)
				usage_die("%s", errmsg());
			break;
		case O_RUN_CMD: o.run_command = optarg; break;
		case O_TAP: o.tap = optarg; o.boot_flags = 1; break;
		case O_MAC: o.mac = optarg; o.boot_flags = 1; break;
		case O_FROM_VM: o.from_vm = optarg; break;
		case O_RESUME_SOURCE: o.resume_source = 1; break;
		case 't':
			if (parse_duration_ms(optarg, &o.timeout_ms, "--timeout") < 0 ||
			    o.timeout_ms < 1)
				usage_die("bad --timeout '%s': expected a duration like 300, 90s, 5m",
				    optarg);
			break;
		case 'w': o.wait = 1; break;
		case 'v': o.verbose = 1; break;
		case O_JSON: o.json = 1; break;
		case O_NO_FETCH: o.no_fetch = 1; break;
		case 'h': usage(stdout); exit(0);
		case O_VERSION: printf("fc-snap-create (fcsnap) %s\n", FCSNAP_VERSION); exit(0);
		case ':': usage_die("option %s needs an argument", argv[optind - 1]);
		default:
			usage_die("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc) {
		if (o.name && strcmp(o.name, argv[optind]))
			usage_die("two snapshot names: -l %s and %s", o.name, argv[optind]);
		o.name = argv[optind++];
	}
	if (optind < argc)
		usage_die("unexpected argument '%s'", argv[optind]);
	if (!o.name)
		usage_die("no snapshot name: give -l NAME");
	if (name_check(o.name, "snapshot name") < 0)
		usage_die("%s", errmsg());
	if (o.boot_args && o.boot_args_replace)
		usage_die("--boot-args and --boot-args-replace exclude each other");
	if (o.from_vm && o.boot_flags)
		usage_die("--from-vm takes the VM's own disk, kernel and machine: "
		    "drop -r/-k/-m/-c/--boot-args/--initrd/--tap/--mac");
	if (o.resume_source && !o.from_vm)
		usage_die("--resume-source needs --from-vm");
	if (!o.from_vm && !o.rootfs)
		usage_die("no root filesystem: give -r ROOTFS (or --from-vm ID)");
	if (o.mac && !o.tap)
		usage_die("--mac needs --tap");
}

int
main(int argc, char **argv)
{
	int lock;

	prog_init(argv);
	parse_args(argc, argv);
	create_init(&o);
	if (create_check() < 0)
		die("%s", errmsg());
	lock = create_lock();
	if (lock < 0)
		die("%s%s", errmsg(), o.wait ? "" : " (use -w to wait for it)");
	create_run();
	store_unlock(lock);
	create_print_result();
	create_free();
	return 0;
}
