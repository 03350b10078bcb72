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
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "copy.h"
#include "fc.h"
#include "json.h"
#include "meta.h"
#include "store.h"
#include "util.h"
#include "vm.h"
#include "vmm.h"

#define DEF_TIMEOUT_MS  (120 * 1000)

struct opts {
	const char *name, *id, *firecracker;
	long long timeout_ms;
	int paused, no_hello, json, timings;
};

/* Timestamps (ns) of each step's end, in order: check, spawn (run dir,
 * firecracker started, pid recorded), copy (the disk, while firecracker
 * starts), ready (its API socket answers), load, agent. */
struct times {
	int64_t start, check, copy, spawn, ready, load, agent, end;
	int64_t record;         /* ns spent in vm_create + vm_set_pid */
};

static struct opts o;
static struct store st;
static struct meta m;
static struct vm vm;
static struct vmm vmm;
static struct times T;
static int snapfd = -1;
static int copy_kind;
static char fc_bin[PATH_MAX];

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
"                            else firecracker in PATH)\n"
"      --paused              leave the VM paused (no agent hello)\n"
"      --no-hello            do not send the agent hello (clock, entropy)\n"
"  -t, --timeout DURATION    limit for each step: API socket, load, agent\n"
"                            (default 120s)\n"
"      --json                print a JSON record instead of the id\n"
"      --timings             print where the time went on stderr\n"
"  -h, --help                this help\n"
"      --version             print the version\n");
}

enum { O_ID = 256, O_PAUSED, O_NO_HELLO, O_JSON, O_TIMINGS, O_VERSION };

static const struct option longopts[] = {
	{ "id", required_argument, NULL, O_ID },
	{ "firecracker", required_argument, NULL, 'f' },
	{ "paused", no_argument, NULL, O_PAUSED },
	{ "no-hello", no_argument, NULL, O_NO_HELLO },
	{ "timeout", required_argument, NULL, 't' },
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
	while ((c = getopt_long(argc, argv, ":f:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case O_ID: o.id = optarg; break;
		case 'f': o.firecracker = optarg; break;
		case O_PAUSED: o.paused = 1; break;
		case O_NO_HELLO: o.no_hello = 1; break;
		case 't':
			if (parse_duration_ms(optarg, &o.timeout_ms, "--timeout") < 0 ||
			    o.timeout_ms < 1)
				usage_die("bad --timeout '%s': expected a duration like 120, 90s, 5m",
				    optarg);
			break;
		case O_JSON: o.json = 1; break;
		case O_TIMINGS: o.timings = 1; break;
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
	if (!o.firecracker)
		o.firecracker = getenv("FCSNAP_FIRECRACKER");
	if (!o.firecracker || !*o.firecracker)
		o.firecracker = "firecracker";
}

static _Noreturn void
bail(void)
{
	char msg[1024];

	snprintf(msg, sizeof msg, "%s", errmsg());
	guard_cleanup();
	die("%s", msg);
}

/* ---- checks before anything starts ---- */

static int
check_file(const char *file, const struct meta_file *want)
{
	struct stat sb;

	if (fstatat(snapfd, file, &sb, 0) < 0) {
		if (errno == ENOENT)
			return fail("snapshot %s is incomplete: %s is missing; create it "
			    "again or pull it", o.name, file);
		return fail_errno("snapshot %s: %s", o.name, file);
	}
	if ((uint64_t)sb.st_size != want->size)
		return fail("snapshot %s is damaged: %s has %lld bytes, meta.json says "
		    "%llu; create it again or pull it", o.name, file,
		    (long long)sb.st_size, (unsigned long long)want->size);
	return 0;
}

static int
check_snapshot(void)
{
	char dir[64], vendor[64], binver[64];

	if (store_init(&st) < 0)
		return -1;
	snapfd = store_open_snap(&st, o.name);
	if (snapfd < 0)
		return -1;
	if (fmt(dir, sizeof dir, "/proc/self/fd/%d", snapfd) < 0)
		return -1;
	if (meta_read(dir, &m) < 0)
		return fail("snapshot %s: %s", o.name, meta_reason());
	if (check_file("vmstate", &m.vmstate) < 0 || check_file("mem", &m.mem) < 0 ||
	    check_file("rootfs.ext4", &m.rootfs) < 0)
		return -1;
	if (host_cpu_vendor(vendor, sizeof vendor) < 0)
		return -1;
	if (m.cpu_vendor[0] && strcmp(vendor, m.cpu_vendor))
		return fail("snapshot %s was made on a %s CPU; this host has %s: "
		    "re-create it here", o.name, m.cpu_vendor, vendor);
	if (find_exe(o.firecracker, fc_bin, sizeof fc_bin) < 0)
		return fail("firecracker binary %s: %s; give -f FILE or set "
		    "FCSNAP_FIRECRACKER", o.firecracker, errmsg());
	if (fc_binary_version(fc_bin, binver, sizeof binver) < 0)
		return -1;
	switch (fc_version_loadable(m.fc_version, binver)) {
	case 1:
		return 0;
	case 0:
		return fail("snapshot %s was made by Firecracker %s; %s is %s and "
		    "cannot load it: use a %s.x binary (-f) or re-create the snapshot",
		    o.name, m.fc_version, fc_bin, binver, m.fc_version);
	default:
		return fail("snapshot %s: cannot compare Firecracker versions '%s' "
		    "(snapshot) and '%s' (%s)", o.name, m.fc_version, binver, fc_bin);
	}
}

/* ---- the restore ---- */

static int
make_run_dir(void)
{
	char dst[PATH_MAX];
	int64_t t = now_ns();

	guard_block();
	if (vm_create(&st, o.id, o.name, &vm) < 0) {
		guard_unblock();
		return -1;
	}
	if (guard_dir(vm.dir) < 0) {
		guard_unblock();
		return -1;
	}
	guard_unblock();
	T.record += now_ns() - t;
	vm.agent_port = m.agent_port;
	/* the snapshot's meta, for fc-exec and fc-snap-create --from-vm */
	if (path_join(dst, sizeof dst, vm.dir, "meta.json") < 0)
		return -1;
	linkat(snapfd, "meta.json", AT_FDCWD, dst, 0);
	return 0;
}

/* The private disk; firecracker opens it only at the load, so the copy
 * runs while firecracker starts up. */
static int
copy_disk(void)
{
	char src[64], dst[PATH_MAX];

	if (fmt(src, sizeof src, "/proc/self/fd/%d/rootfs.ext4", snapfd) < 0 ||
	    path_join(dst, sizeof dst, vm.dir, "rootfs.ext4") < 0)
		return -1;
	copy_kind = copy_file(src, dst, 0600, 0);
	if (copy_kind < 0)
		return fail("VM %s: copying the disk of snapshot %s: %s", vm.id, o.name,
		    errmsg());
	T.copy = now_ns();
	return 0;
}

static int
spawn_vmm(void)
{
	struct vmm_opts vo = { 0 };
	char log[PATH_MAX];
	int64_t t;

	if (path_join(log, sizeof log, vm.dir, "log") < 0)
		return -1;
	vo.firecracker = fc_bin;
	vo.dir = vm.dir;
	vo.api_sock = vm.api_sock;
	vo.args = m.fc_args;
	vo.nargs = m.nfc_args;
	vo.log = log;
	vo.detach = 1;
	vo.timeout_ms = (int)o.timeout_ms;
	guard_block();
	if (vmm_spawn(&vmm, &vo) < 0) {
		guard_unblock();
		return -1;
	}
	guard_pid(vmm.pid, 1);
	guard_unblock();
	t = now_ns();
	if (vm_set_pid(&vm, vmm.pid) < 0)
		return -1;
	T.spawn = now_ns();
	T.record += T.spawn - t;
	return 0;
}

static int
wait_ready(void)
{
	char log[PATH_MAX];

	if (path_join(log, sizeof log, vm.dir, "log") < 0)
		return -1;
	if (vmm_wait_ready(&vmm, log, (int)o.timeout_ms) < 0)
		return fail("VM %s: %s", vm.id, errmsg());
	T.ready = now_ns();
	return 0;
}

static int
load(void)
{
	struct fc_snapshot_load l = { 0 };
	char state[64], mem[64], log[PATH_MAX], msg[1024];

	if (fmt(state, sizeof state, "/proc/%ld/fd/%d/vmstate", (long)getpid(), snapfd) < 0 ||
	    fmt(mem, sizeof mem, "/proc/%ld/fd/%d/mem", (long)getpid(), snapfd) < 0)
		return -1;
	l.snapshot_path = state;
	l.mem_backend_path = mem;
	l.mem_backend_type = "File";
	l.resume_vm = !o.paused;
	if (fc_snapshot_load(&vmm.fc, &l) < 0) {
		snprintf(msg, sizeof msg, "%s", errmsg());
		if (path_join(log, sizeof log, vm.dir, "log") == 0 && vmm_check_wait(&vmm, log, 200) < 0)
			return fail("VM %s: loading snapshot %s: %s (%s)", vm.id, o.name, msg,
			    errmsg());
		return fail("VM %s: loading snapshot %s: %s", vm.id, o.name, msg);
	}
	T.load = now_ns();
	return 0;
}

static int
hello(void)
{
	char path[108];
	int fd, dfd;

	if (unix_path_fit(vm.vsock, path, sizeof path, &dfd) < 0)
		return -1;
	fd = agent_connect(path, m.agent_port, (int)o.timeout_ms);
	if (dfd >= 0)
		close(dfd);
	if (fd < 0)
		return fail("VM %s: the agent did not answer: %s", vm.id, errmsg());
	if (agent_hello(fd, NULL, (int)o.timeout_ms) < 0) {
		close(fd);
		return fail("VM %s: agent hello: %s", vm.id, errmsg());
	}
	close(fd);
	return 0;
}

/* ---- output ---- */

static double
ms(int64_t a, int64_t b)
{
	return b > a ? (double)(b - a) / 1e6 : 0;
}

static void
print_timings(void)
{
	int64_t agent_end = T.agent ? T.agent : T.load;
	double wait = ms(T.copy, T.ready) + ms(T.ready, T.load) + ms(T.load, agent_end);

	fprintf(stderr, "fc-snap-restore: timings (ms): check %.2f copy %.2f spawn %.2f "
	    "socket %.2f load %.2f agent %.2f total %.2f own %.2f record %.2f (%s copy)\n",
	    ms(T.start, T.check), ms(T.spawn, T.copy), ms(T.check, T.spawn),
	    ms(T.copy, T.ready), ms(T.ready, T.load), ms(T.load, agent_end),
	    ms(T.start, T.end), ms(T.start, T.end) - wait, ms(0, T.record),
	    copy_kind == COPY_REFLINK ? "reflink" : "sparse");
}

static void
print_json(void)
{
	struct jw w;
	int64_t agent_end = T.agent ? T.agent : T.load;
	double wait = ms(T.copy, T.ready) + ms(T.ready, T.load) + ms(T.load, agent_end);

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "id", vm.id);
	jw_kstr(&w, "snapshot", o.name);
	jw_kint(&w, "pid", vmm.pid);
	jw_kstr(&w, "dir", vm.dir);
	jw_kstr(&w, "api_sock", vm.api_sock);
	jw_kstr(&w, "vsock", vm.vsock);
	jw_kint(&w, "agent_port", m.agent_port);
	jw_kstr(&w, "state", o.paused ? "Paused" : "Running");
	jw_kstr(&w, "firecracker_version", m.fc_version);
	jw_kstr(&w, "rootfs_copy", copy_kind == COPY_REFLINK ? "reflink" : "sparse");
	jw_key(&w, "timings_ms");
	jw_obj(&w);
	jw_key(&w, "check"); jw_double(&w, ms(T.start, T.check));
	jw_key(&w, "spawn"); jw_double(&w, ms(T.check, T.spawn));
	jw_key(&w, "copy"); jw_double(&w, ms(T.spawn, T.copy));
	jw_key(&w, "socket"); jw_double(&w, ms(T.copy, T.ready));
	jw_key(&w, "load"); jw_double(&w, ms(T.ready, T.load));
	jw_key(&w, "agent"); jw_double(&w, ms(T.load, agent_end));
	jw_key(&w, "total"); jw_double(&w, ms(T.start, T.end));
	jw_key(&w, "own"); jw_double(&w, ms(T.start, T.end) - wait);
	jw_key(&w, "record"); jw_double(&w, ms(0, T.record));
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
	T.start = now_ns();
	parse_args(argc, argv);
	meta_init(&m);
	vmm_init(&vmm);

	if (check_snapshot() < 0)
		die("%s", errmsg());
	T.check = now_ns();
	guard_install();
	if (make_run_dir() < 0 || spawn_vmm() < 0 || copy_disk() < 0 ||
	    wait_ready() < 0 || load() < 0)
		bail();
	if (!o.paused && !o.no_hello) {
		if (hello() < 0)
			bail();
		T.agent = now_ns();
	}
	/* from here on the VM is the caller's: nothing to clean up */
	guard_block();
	guard_pid(0, 0);
	guard_forget_dir(vm.dir);
	guard_unblock();
	vmm_release(&vmm);
	close(snapfd);
	T.end = now_ns();
	if (o.json)
		print_json();
	else
		printf("%s\n", vm.id);
	if (o.timings)
		print_timings();
	meta_free(&m);
	return 0;
}
