/* fc-call: drive one common/fc.c call from the command line (tests only).
 *
 *   fc-call [-t MS] SOCK COMMAND [ARGS...]
 *
 * Prints what GET calls return on stdout; a refusal is reported as
 * "fc-call: <call>: <fault_message>" on stderr with exit 1.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc.h"
#include "util.h"

static const char usage_text[] =
	"usage: fc-call [-t MS] SOCK COMMAND [ARGS...]\n"
	"commands:\n"
	"  wait [PID]                        wait until the API answers\n"
	"  describe                          GET /: id, state, version, app name\n"
	"  version                           GET /version\n"
	"  vm-config                         GET /vm/config (JSON)\n"
	"  get-machine-config                GET /machine-config\n"
	"  boot-source KERNEL [ARGS [INITRD]]\n"
	"  drive ID PATH [root] [ro]\n"
	"  machine-config VCPUS MIB [smt] [dirty]\n"
	"  vsock CID UDS [VSOCK_ID]\n"
	"  net IFACE HOSTDEV [MAC]\n"
	"  action TYPE                       PUT /actions\n"
	"  pause | resume                    PATCH /vm\n"
	"  snapshot-create SNAP MEM [TYPE]\n"
	"  snapshot-load SNAP MEM [resume] [diff] [uffd] [vsock=PATH]\n";

static int
has(int argc, char **argv, int from, const char *word)
{
	int i;

	for (i = from; i < argc; i++)
		if (!strcmp(argv[i], word))
			return 1;
	return 0;
}

static const char *
opt_arg(int argc, char **argv, int i)
{
	return i < argc ? argv[i] : NULL;
}

static long long
num(const char *s, const char *what)
{
	long long v;

	if (parse_long(s, 0, 1LL << 31, &v, what) < 0)
		usage_die("%s", errmsg());
	return v;
}

static int
cmd_get(struct fc *fc, const char *cmd)
{
	struct fc_instance_info info;
	struct fc_machine_config m;
	char v[64], *s;

	if (!strcmp(cmd, "describe")) {
		if (fc_describe(fc, &info) < 0)
			return -1;
		printf("id=%s\nstate=%s\nvmm_version=%s\napp_name=%s\n", info.id, info.state,
		    info.vmm_version, info.app_name);
	} else if (!strcmp(cmd, "version")) {
		if (fc_version(fc, v, sizeof v) < 0)
			return -1;
		printf("%s\n", v);
	} else if (!strcmp(cmd, "vm-config")) {
		if (!(s = fc_vm_config(fc)))
			return -1;
		printf("%s\n", s);
		free(s);
	} else {
		if (fc_get_machine_config(fc, &m) < 0)
			return -1;
		printf("vcpu_count=%d\nmem_size_mib=%d\nsmt=%d\ntrack_dirty_pages=%d\n",
		    m.vcpu_count, m.mem_size_mib, m.smt, m.track_dirty_pages);
	}
	return 0;
}

static int
need(int argc, int n)
{
	if (argc < n)
		usage_die("missing arguments");
	return 0;
}

static int
run(struct fc *fc, int argc, char **argv, int timeout)
{
	const char *cmd = argv[0];
	int i;

	if (!strcmp(cmd, "wait"))
		return fc_wait_ready(fc, argc > 1 ? (int)num(argv[1], "pid") : 0, timeout);
	if (!strcmp(cmd, "describe") || !strcmp(cmd, "version") || !strcmp(cmd, "vm-config") ||
	    !strcmp(cmd, "get-machine-config"))
		return cmd_get(fc, cmd);
	if (!strcmp(cmd, "boot-source") && !need(argc, 2))
		return fc_put_boot_source(fc, &(struct fc_boot_source){ argv[1],
		    opt_arg(argc, argv, 2), opt_arg(argc, argv, 3) });
	if (!strcmp(cmd, "drive") && !need(argc, 3))
		return fc_put_drive(fc, &(struct fc_drive){ argv[1], argv[2],
		    has(argc, argv, 3, "root"), has(argc, argv, 3, "ro") });
	if (!strcmp(cmd, "machine-config") && !need(argc, 3))
		return fc_put_machine_config(fc, &(struct fc_machine_config){
		    (int)num(argv[1], "vcpus"), (int)num(argv[2], "MiB"),
		    has(argc, argv, 3, "smt"), has(argc, argv, 3, "dirty") });
	if (!strcmp(cmd, "vsock") && !need(argc, 3))
		return fc_put_vsock(fc, &(struct fc_vsock){ (uint32_t)num(argv[1], "cid"),
		    argv[2], opt_arg(argc, argv, 3) });
	if (!strcmp(cmd, "net") && !need(argc, 3))
		return fc_put_network_interface(fc, &(struct fc_net){ argv[1], argv[2],
		    opt_arg(argc, argv, 3) });
	if (!strcmp(cmd, "action") && !need(argc, 2))
		return fc_action(fc, argv[1]);
	if (!strcmp(cmd, "pause"))
		return fc_pause(fc);
	if (!strcmp(cmd, "resume"))
		return fc_resume(fc);
	if (!strcmp(cmd, "snapshot-create") && !need(argc, 3))
		return fc_snapshot_create(fc, &(struct fc_snapshot_create){
		    opt_arg(argc, argv, 3), argv[1], argv[2] });
	if (!strcmp(cmd, "snapshot-load") && !need(argc, 3)) {
		struct fc_snapshot_load l = { argv[1], argv[2], NULL, 0, 0, NULL };
		for (i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "resume"))
				l.resume_vm = 1;
			else if (!strcmp(argv[i], "diff"))
				l.enable_diff_snapshots = 1;
			else if (!strcmp(argv[i], "uffd"))
				l.mem_backend_type = "Uffd";
			else if (!strncmp(argv[i], "vsock=", 6))
				l.vsock_override_uds_path = argv[i] + 6;
			else
				usage_die("unknown snapshot-load option '%s'", argv[i]);
		}
		return fc_snapshot_load(fc, &l);
	}
	usage_die("unknown command '%s'", cmd);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fc fc;
	int c, timeout = 10000, rc;

	prog_init(argv);
	while ((c = getopt_long(argc, argv, "+t:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': timeout = (int)num(optarg, "timeout"); break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: usage_die("bad option");
		}
	}
	if (argc - optind < 2)
		usage_die("expected SOCK COMMAND");
	if (fc_open(&fc, argv[optind], timeout) < 0)
		die("%s", errmsg());
	rc = run(&fc, argc - optind - 1, argv + optind + 1, timeout);
	fc_close(&fc);
	if (rc < 0)
		die("%s", errmsg());
	return 0;
}
