/* create: see create.h. */
#include "create.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "copy.h"
#include "fc.h"
#include "fcargs.h"
#include "fcbin.h"
#include "fcproc.h"
#include "json.h"
#include "punch.h"
#include "runreg.h"
#include "sentinel.h"
#include "store.h"
#include "util.h"

#define GUEST_CID       3
#define TAIL_LINES      10

struct run {
	struct vmm vmm;
	struct meta meta;
	char fc_bin[PATH_MAX];
	char tmp[PATH_MAX];     /* snapshots/.tmp-<name>-XXXXXX */
	char work[PATH_MAX];    /* run/.tmp-<pid>-create-XXXXXX: api.sock, console.log */
	char api[PATH_MAX], log[PATH_MAX], vsock[PATH_MAX];
	char boot_args[1024];
	int copy_kind;
	int64_t t0, t_copy, t_boot, t_agent, t_snap, t_publish;
	int nsteps;
	struct sentinel resumer;        /* --from-vm: resumes the source if we die */
};

static struct create_opts o;
static struct store st;
static struct run R;
static int progress;

/* ---- failure: clean up, then one message ---- */

static _Noreturn void
bail(const char *extra)
{
	char msg[1024];

	snprintf(msg, sizeof msg, "%s", errmsg());
	guard_cleanup();
	if (extra && *extra)
		die("%s\n%s", msg, extra);
	die("%s", msg);
}

static void
step(int n, const char *what)
{
	if (progress)
		fprintf(stderr, "[%d/%d] %s... (%.1fs)\n", n, R.nsteps, what,
		    (double)(now_ms() - R.t0) / 1000);
}

/* ---- the run command ---- */

/* Split CMD into words: blanks separate, '...' and "..." quote, \ escapes. */
static int
split_words(const char *s, char **argv, int max)
{
	size_t len = strlen(s);
	char *cur = malloc(len + 1);
	size_t k = 0;
	int n = 0, inword = 0;
	char q = 0;

	if (!cur)
		return fail("out of memory");
	for (;; s++) {
		char c = *s;
		if (!c || (!q && (c == ' ' || c == '\t' || c == '\n'))) {
			if (!c && q) {
				free(cur);
				return fail("--run-command: unterminated %c quote", q);
			}
			if (inword) {
				cur[k] = 0;
				if (n == max) {
					free(cur);
					return fail("--run-command: more than %d words", max);
				}
				argv[n++] = strdup(cur);
				k = 0;
				inword = 0;
			}
			if (!c)
				break;
			continue;
		}
		inword = 1;
		if (q && c == q)
			q = 0;
		else if (!q && (c == '\'' || c == '"'))
			q = c;
		else if (c == '\\' && q != '\'' && s[1])
			cur[k++] = *++s;
		else
			cur[k++] = c;
	}
	free(cur);
	return n;
}

/* ---- checks, all before anything is started ---- */

static int
check_file(const char *path, const char *what, const char *fix)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return fail_errno("%s %s%s", what, path, fix);
	if (!S_ISREG(sb.st_mode))
		return fail("%s %s is not a regular file", what, path);
	if (access(path, R_OK) < 0)
		return fail_errno("%s %s is not readable", what, path);
	if (sb.st_size == 0)
		return fail("%s %s is empty", what, path);
	return 0;
}

static int
check_mac(const char *m)
{
	int i;

	if (strlen(m) != 17)
		return fail("bad --mac '%s': expected six hex bytes like 06:00:ac:10:00:02", m);
	for (i = 0; i < 17; i++) {
		int sep = i % 3 == 2;
		char c = m[i];
		if (sep ? c != ':' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')))
			return fail("bad --mac '%s': expected six hex bytes like 06:00:ac:10:00:02", m);
	}
	return 0;
}

static int
check_inputs(void)
{
	static char kernel[PATH_MAX];

	if (!o.from_vm) {
		if (check_file(o.rootfs, "rootfs", "") < 0)
			return -1;
		if (o.initrd && check_file(o.initrd, "initrd", "") < 0)
			return -1;
		if (o.tap && (strlen(o.tap) == 0 || strlen(o.tap) > 15))
			return fail("bad --tap '%s': a network device name has 1..15 bytes", o.tap);
		if (o.mac && check_mac(o.mac) < 0)
			return -1;
	}
	if (store_init(&st) < 0 || store_prepare(&st) < 0)
		return -1;
	/* Last among the checks: a missing firecracker or kernel may be
	 * downloaded, which is not worth doing for an otherwise bad call. */
	if (fcbin_firecracker(&st, o.firecracker, !o.no_fetch, R.fc_bin, sizeof R.fc_bin) < 0)
		return -1;
	if (!o.from_vm) {
		if (fcbin_kernel(&st, o.kernel, !o.no_fetch, kernel, sizeof kernel) < 0)
			return -1;
		o.kernel = kernel;
		if (check_file(o.kernel, "kernel", " (give -k FILE or set FCSNAP_KERNEL)") < 0)
			return -1;
	}
	return 0;
}

/* ---- meta ---- */

static int
meta_common(struct meta *m, const char *fc_version)
{
	int i;

	snprintf(m->name, sizeof m->name, "%s", o.name);
	meta_set_created_now(m);
	snprintf(m->fc_version, sizeof m->fc_version, "%s", fc_version);
	if (host_cpu_vendor(m->cpu_vendor, sizeof m->cpu_vendor) < 0)
		return -1;
	if (o.run_command) {
		for (i = 0; i < m->nrun_cmd; i++)
			free(m->run_cmd[i]);
		m->nrun_cmd = split_words(o.run_command, m->run_cmd, META_MAX_ARGS);
		if (m->nrun_cmd < 0)
			return m->nrun_cmd = 0, -1;
	}
	return meta_stat_files(m, R.tmp);
}

static int
meta_cold(struct meta *m, const char *fc_version)
{
	char buf[PATH_MAX];
	int i;

	if (!realpath(o.kernel, buf))
		return fail_errno("%s", o.kernel);
	snprintf(m->kernel, sizeof m->kernel, "%s", buf);
	if (o.initrd) {
		if (!realpath(o.initrd, buf))
			return fail_errno("%s", o.initrd);
		snprintf(m->initrd, sizeof m->initrd, "%s", buf);
	}
	snprintf(m->boot_args, sizeof m->boot_args, "%s", R.boot_args);
	for (i = 0; i < o.nfc_args; i++)
		m->fc_args[m->nfc_args++] = strdup(o.fc_args[i]);
	m->mem_mib = (int)o.mem;
	m->vcpus = (int)o.vcpus;
	m->agent_port = (uint32_t)o.port;
	return meta_common(m, fc_version);
}

/* ---- the steps ---- */

static int
make_dirs(void)
{
	char runroot[PATH_MAX];

	if (store_tmp_dir(&st, o.name, R.tmp, sizeof R.tmp) < 0)
		return -1;
	if (guard_dir(R.tmp) < 0)
		return -1;
	/* the pid in the name lets a later run drop it if we are SIGKILLed */
	if (store_sub(&st, "run", runroot, sizeof runroot) < 0 ||
	    fmt(R.work, sizeof R.work, "%s/.tmp-%ld-create-XXXXXX", runroot,
	    (long)getpid()) < 0)
		return -1;
	if (mkdir_p(runroot, 0755) < 0)
		return -1;
	vm_drop_stale_tmp(&st);
	if (!mkdtemp(R.work))
		return fail_errno("creating a work dir in %s", runroot);
	if (guard_dir(R.work) < 0)
		return -1;
	if (path_join(R.api, sizeof R.api, R.work, "api.sock") < 0 ||
	    path_join(R.log, sizeof R.log, R.work, "console.log") < 0 ||
	    path_join(R.vsock, sizeof R.vsock, R.tmp, "v.sock") < 0)
		return -1;
	return 0;
}

static int
start_firecracker(const char *cwd)
{
	struct vmm_opts vo = { 0 };

	vo.firecracker = R.fc_bin;
	vo.dir = cwd;
	vo.api_sock = R.api;
	vo.args = o.fc_args;
	vo.nargs = o.nfc_args;
	vo.log = R.log;
	vo.timeout_ms = (int)o.timeout_ms;
	guard_block();
	if (vmm_spawn(&R.vmm, &vo) < 0) {
		guard_unblock();
		return -1;
	}
	guard_pid(R.vmm.pid, 1);
	guard_unblock();
	return vmm_wait_ready(&R.vmm, R.log, (int)o.timeout_ms);
}

/* An API call failed: say so, and whether firecracker died meanwhile. */
static int
api_fail(void)
{
	char msg[1024];

	snprintf(msg, sizeof msg, "%s", errmsg());
	if (vmm_check_wait(&R.vmm, R.log, 300) < 0)
		return fail("%s (%s)", msg, errmsg());
	return fail("%s", msg);
}

static int
configure_and_boot(void)
{
	struct fc *fc = &R.vmm.fc;
	struct fc_boot_source b = { 0 };
	struct fc_drive d = { 0 };
	struct fc_machine_config mc = { 0 };
	struct fc_vsock vs = { 0 };
	struct fc_net net = { 0 };

	if (o.boot_args_replace)
		snprintf(R.boot_args, sizeof R.boot_args, "%s", o.boot_args_replace);
	else if (fmt(R.boot_args, sizeof R.boot_args, "%s%s%s%s%s", CREATE_BOOT_ARGS,
	    R.meta.disk_shared ? " " : "", R.meta.disk_shared ? CREATE_OVERLAY_ARGS : "",
	    o.boot_args ? " " : "", o.boot_args ? o.boot_args : "") < 0)
		return fail("--boot-args: too long");
	b.kernel_image_path = R.meta.kernel;
	b.boot_args = R.boot_args;
	b.initrd_path = o.initrd ? R.meta.initrd : NULL;
	d.drive_id = "rootfs";
	d.path_on_host = "rootfs.ext4";
	d.is_root_device = 1;
	d.is_read_only = R.meta.disk_shared;
	mc.vcpu_count = (int)o.vcpus;
	mc.mem_size_mib = (int)o.mem;
	vs.guest_cid = GUEST_CID;
	vs.uds_path = "v.sock";
	if (fc_put_boot_source(fc, &b) < 0 || fc_put_drive(fc, &d) < 0 ||
	    fc_put_machine_config(fc, &mc) < 0 || fc_put_vsock(fc, &vs) < 0)
		return api_fail();
	if (o.tap) {
		net.iface_id = "eth0";
		net.host_dev_name = o.tap;
		net.guest_mac = o.mac;
		if (fc_put_network_interface(fc, &net) < 0)
			return api_fail();
	}
	if (fc_action(fc, "InstanceStart") < 0)
		return api_fail();
	return 0;
}

/* Connect to the agent in slices, so a firecracker that dies meanwhile
 * is noticed at once instead of at the deadline. */
static int
wait_agent(const char *vsock, uint32_t port)
{
	char path[108];
	int64_t deadline = now_ms() + o.timeout_ms, left;
	int fd, dfd;

	if (unix_path_fit(vsock, path, sizeof path, &dfd) < 0)
		return -1;
	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			break;
		fd = agent_connect(path, port, (int)(left < 5000 ? left : 5000));
		if (fd >= 0) {
			if (dfd >= 0)
				close(dfd);
			return fd;
		}
		if (vmm_check(&R.vmm, R.log) < 0) {
			if (dfd >= 0)
				close(dfd);
			return fail("firecracker died while the guest booted: %s", errmsg());
		}
	}
	if (dfd >= 0)
		close(dfd);
	return fail("the guest agent did not answer on vsock port %u within %lld s (%s)",
	    port, o.timeout_ms / 1000, errmsg());
}

static _Noreturn void
bail_with_console(void)
{
	char tail[2048], ind[2600];
	const char *p;
	size_t k = 0;

	log_tail(R.log, TAIL_LINES, tail, sizeof tail);
	if (!*tail)
		bail("(the guest console log is empty)");
	/* indent each console line by "  | " so it cannot be mistaken for ours */
	k = (size_t)snprintf(ind, sizeof ind, "last %d lines of the guest console:\n  | ",
	    TAIL_LINES);
	for (p = tail; *p && k + 6 < sizeof ind; p++) {
		ind[k++] = *p;
		if (*p == '\n' && p[1]) {
			memcpy(ind + k, "  | ", 4);
			k += 4;
		}
	}
	ind[k] = 0;
	bail(ind);
}

static int
agent_ready_and_sync(const char *vsock, uint32_t port)
{
	int fd;

	fd = wait_agent(vsock, port);
	if (fd < 0)
		return -1;
	if (agent_hello(fd, NULL, (int)o.timeout_ms) < 0 ||
	    agent_ping(fd, (int)o.timeout_ms) < 0 ||
	    agent_sync(fd, 0, NULL, (int)o.timeout_ms) < 0) {
		close(fd);
		return fail("agent on vsock port %u: %s", port, errmsg());
	}
	close(fd);      /* a snapshot resets vsock: close before pausing */
	return 0;
}

/* A shared disk is never written again: 0400 (restore checks its mtime). */
static int
seal_disk(void)
{
	char p[PATH_MAX];

	if (!R.meta.disk_shared)
		return 0;
	if (path_join(p, sizeof p, R.tmp, "rootfs.ext4") < 0 || chmod(p, 0400) < 0)
		return fail_errno("snapshot disk %s", p);
	return 0;
}

/* The source VM's disk into the snapshot: a hard link when it is the
 * shared read-only disk (a checkpoint costs only its memory), else a copy
 * (also when the link cannot be made: another filesystem). */
static int
take_disk(const char *disk, const char *dst)
{
	int fd, kind;

	if (!R.meta.disk_shared)
		return copy_file(disk, dst, 0644, 0);
	fd = open(disk, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail_errno("%s", disk);
	kind = link_fd(fd, dst);
	close(fd);
	if (kind < 0 && errno == EXDEV)
		kind = copy_file(disk, dst, 0400, 0);
	return kind;
}

/* Keep only vmstate, mem, rootfs.ext4 in the temp dir; memory is 0600,
 * its zero pages holes (firecracker writes them all). */
static int
tidy_tmp(void)
{
	const char *junk[] = { "v.sock", "api.sock", "log", "metrics" };
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < ARRAY_LEN(junk); i++) {
		if (path_join(p, sizeof p, R.tmp, junk[i]) < 0)
			return -1;
		unlink(p);
	}
	if (path_join(p, sizeof p, R.tmp, "mem") < 0 || chmod(p, 0600) < 0)
		return fail_errno("snapshot memory file %s", p);
	if (punch_zero_pages(p) < 0)
		return -1;
	if (path_join(p, sizeof p, R.tmp, "vmstate") < 0 || chmod(p, 0600) < 0)
		return fail_errno("snapshot state file %s", p);
	return seal_disk();
}

static int
publish(void)
{
	int rc;

	if (meta_write(R.tmp, &R.meta) < 0)
		return -1;
	guard_block();
	rc = store_publish(&st, o.name, R.tmp);
	if (rc == 0)
		guard_forget_dir(R.tmp);
	guard_unblock();
	return rc;
}

static void
print_result(void)
{
	struct jw w;
	char dir[PATH_MAX];

	if (store_snap_dir(&st, o.name, dir, sizeof dir) < 0)
		dir[0] = 0;
	if (!o.json) {
		printf("%s\n", o.name);
		return;
	}
	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "name", o.name);
	jw_kstr(&w, "dir", dir);
	jw_kstr(&w, "created_at", R.meta.created_at);
	jw_kstr(&w, "firecracker_version", R.meta.fc_version);
	jw_kstr(&w, "cpu_vendor", R.meta.cpu_vendor);
	jw_kint(&w, "mem_mib", R.meta.mem_mib);
	jw_kint(&w, "vcpus", R.meta.vcpus);
	if (o.from_vm)
		jw_kstr(&w, "from_vm", o.from_vm);
	jw_kstr(&w, "rootfs_copy", copy_kind_name(R.copy_kind));
	jw_key(&w, "files");
	jw_obj(&w);
	jw_key(&w, "vmstate"); jw_obj(&w);
	jw_kint(&w, "size", (int64_t)R.meta.vmstate.size); jw_obj_end(&w);
	jw_key(&w, "mem"); jw_obj(&w);
	jw_kint(&w, "size", (int64_t)R.meta.mem.size);
	jw_kint(&w, "disk", (int64_t)R.meta.mem.disk); jw_obj_end(&w);
	jw_key(&w, "rootfs.ext4"); jw_obj(&w);
	jw_kint(&w, "size", (int64_t)R.meta.rootfs.size);
	jw_kint(&w, "disk", (int64_t)R.meta.rootfs.disk); jw_obj_end(&w);
	jw_obj_end(&w);
	jw_key(&w, "times_ms");
	jw_obj(&w);
	jw_kint(&w, "copy", R.t_copy);
	jw_kint(&w, "boot", R.t_boot);
	jw_kint(&w, "agent", R.t_agent);
	jw_kint(&w, "snapshot", R.t_snap);
	jw_kint(&w, "publish", R.t_publish);
	jw_kint(&w, "total", now_ms() - R.t0);
	jw_obj_end(&w);
	jw_obj_end(&w);
	if (!jw_text(&w))
		die("out of memory");
	printf("%s\n", jw_text(&w));
	jw_free(&w);
}

/* ---- the two flows ---- */

static void
cold_boot(void)
{
	char src[PATH_MAX], ver[32];
	struct fc_snapshot_create sc = { "Full", "vmstate", "mem" };
	int64_t t;

	R.nsteps = 7;
	R.meta.disk_shared = o.disk == CREATE_DISK_SHARED ||
	    (o.disk == CREATE_DISK_AUTO && !o.boot_args_replace);
	R.meta.origin_create = 1;
	step(2, "Copying the root filesystem");
	t = now_ms();
	if (path_join(src, sizeof src, R.tmp, "rootfs.ext4") < 0)
		bail(NULL);
	R.copy_kind = copy_file(o.rootfs, src, 0644, 0);
	if (R.copy_kind < 0)
		bail(NULL);
	R.t_copy = now_ms() - t;

	step(3, "Starting the VM");
	t = now_ms();
	if (!realpath(o.kernel, R.meta.kernel))
		fail_errno("%s", o.kernel), bail(NULL);
	if (o.initrd && !realpath(o.initrd, R.meta.initrd))
		fail_errno("%s", o.initrd), bail(NULL);
	if (start_firecracker(R.tmp) < 0)
		fail("starting firecracker %s: %s", R.fc_bin, errmsg()), bail(NULL);
	if (fc_version(&R.vmm.fc, ver, sizeof ver) < 0)
		api_fail(), bail(NULL);
	if (configure_and_boot() < 0)
		bail(NULL);
	R.t_boot = now_ms() - t;

	step(4, "Waiting for the guest agent");
	t = now_ms();
	if (agent_ready_and_sync(R.vsock, (uint32_t)o.port) < 0)
		bail_with_console();
	R.t_agent = now_ms() - t;

	step(5, "Pausing the VM");
	t = now_ms();
	if (fc_pause(&R.vmm.fc) < 0)
		api_fail(), bail(NULL);

	step(6, "Writing the snapshot");
	if (fc_snapshot_create(&R.vmm.fc, &sc) < 0)
		api_fail(), bail(NULL);
	guard_block();
	vmm_kill(&R.vmm);
	guard_pid(0, 0);
	guard_unblock();
	if (tidy_tmp() < 0 || meta_cold(&R.meta, ver) < 0)
		bail(NULL);
	R.t_snap = now_ms() - t;

	step(7, "Publishing");
	t = now_ms();
	if (publish() < 0)
		bail(NULL);
	R.t_publish = now_ms() - t;
}

/* The source VM's meta: the copy its restore left in the run dir, else
 * its snapshot's. */
static int
source_meta(const struct vm *v, struct meta *m)
{
	char dir[PATH_MAX], p[PATH_MAX];

	if (path_join(p, sizeof p, v->dir, "meta.json") < 0)
		return -1;
	if (access(p, R_OK) == 0)
		return meta_read(v->dir, m);
	if (store_snap_dir(&st, v->snapshot, dir, sizeof dir) < 0)
		return -1;
	if (meta_read(dir, m) < 0)
		return fail("VM %s: cannot read the meta data of its snapshot %s: %s",
		    v->id, v->snapshot, errmsg());
	return 0;
}

/* What the resumer needs: the source's run dir (and its identity) and API
 * socket. */
static struct resume_arg {
	char dir[PATH_MAX], api_sock[PATH_MAX];
	struct stat id;
	int timeout_ms;
} RA;

/* In the sentinel, after we died between pause and resume: resume the
 * source if its run dir is still the one we paused. */
static void
resume_source(void *arg)
{
	const struct resume_arg *a = arg;
	struct stat sb;
	struct fc fc;
	char conn[108];
	int dfd;

	if (stat(a->dir, &sb) < 0 || sb.st_dev != a->id.st_dev || sb.st_ino != a->id.st_ino)
		return;         /* that VM is gone */
	if (unix_path_fit(a->api_sock, conn, sizeof conn, &dfd) < 0)
		return;
	if (fc_open(&fc, conn, a->timeout_ms) == 0) {
		fc_resume(&fc);
		fc_close(&fc);
	}
	if (dfd >= 0)
		close(dfd);
}

/* From the pause on, a party that outlives us resumes the source should
 * we die (SIGKILL included) before leaving it as we mean to. */
static int
start_resumer(const struct vm *v)
{
	if (fmt(RA.dir, sizeof RA.dir, "%s", v->dir) < 0 ||
	    fmt(RA.api_sock, sizeof RA.api_sock, "%s", v->api_sock) < 0)
		return -1;
	if (stat(RA.dir, &RA.id) < 0)
		return fail_errno("VM %s: %s", v->id, v->dir);
	RA.timeout_ms = (int)o.timeout_ms;
	return sentinel_start(&R.resumer, "fc-snap-resumer", resume_source, &RA);
}

/* Snapshot a running VM: sync, pause, copy its disk while paused,
 * snapshot (absolute paths: firecracker's cwd is the VM's run dir). */
static void
from_vm(void)
{
	struct vm v;
	struct fc_instance_info info;
	struct fc_snapshot_create sc = { "Full", NULL, NULL };
	char ver[32], disk[PATH_MAX], dst[PATH_MAX], vmstate[PATH_MAX], mem[PATH_MAX];
	int was_running;
	int64_t t;

	R.nsteps = 5;
	if (vm_load(&st, o.from_vm, &v) < 0)
		bail(NULL);
	if (v.pid <= 0 || !vm_alive(&v))
		fail("VM %s is not running (see fc-ps)", o.from_vm), bail(NULL);
	meta_free(&R.meta);
	meta_init(&R.meta);
	if (source_meta(&v, &R.meta) < 0)
		bail(NULL);
	if (vmm_attach(&R.vmm, v.pid, v.api_sock, (int)o.timeout_ms) < 0 ||
	    fc_describe(&R.vmm.fc, &info) < 0 || fc_version(&R.vmm.fc, ver, sizeof ver) < 0)
		fail("VM %s: %s", o.from_vm, errmsg()), bail(NULL);
	was_running = strcmp(info.state, "Paused") != 0;

	step(2, "Syncing the guest");
	t = now_ms();
	if (was_running && agent_ready_and_sync(v.vsock, v.agent_port ? v.agent_port :
	    R.meta.agent_port) < 0)
		fail("VM %s: %s", o.from_vm, errmsg()), bail(NULL);
	R.t_agent = now_ms() - t;

	step(3, "Pausing the VM and copying its disk");
	t = now_ms();
	if (path_join(disk, sizeof disk, v.dir, "rootfs.ext4") < 0 ||
	    path_join(dst, sizeof dst, R.tmp, "rootfs.ext4") < 0 ||
	    path_join(vmstate, sizeof vmstate, R.tmp, "vmstate") < 0 ||
	    path_join(mem, sizeof mem, R.tmp, "mem") < 0)
		bail(NULL);
	if (was_running && start_resumer(&v) < 0)
		fail("VM %s: %s", o.from_vm, errmsg()), bail(NULL);
	guard_block();  /* from pause to resume: a signal waits for the resume */
	if (was_running && fc_pause(&R.vmm.fc) < 0)
		goto fail;
	R.copy_kind = take_disk(disk, dst);
	if (R.copy_kind < 0)
		goto fail;
	R.t_copy = now_ms() - t;

	step(4, "Writing the snapshot");
	t = now_ms();
	sc.snapshot_path = vmstate;
	sc.mem_file_path = mem;
	if (fc_snapshot_create(&R.vmm.fc, &sc) < 0)
		goto fail;
	if (o.resume_source && fc_resume(&R.vmm.fc) < 0)
		goto fail;
	sentinel_end(&R.resumer, 1);    /* left as meant: resumed or paused */
	guard_unblock();
	vmm_release(&R.vmm);
	if (tidy_tmp() < 0)
		bail(NULL);
	/* ours (env, -F) replace the source's options of the same name */
	if (fcargs_merge(R.meta.fc_args, &R.meta.nfc_args, META_MAX_ARGS, o.fc_args,
	    o.nfc_args) < 0)
		bail(NULL);
	if (o.port != AGENT_DEFAULT_PORT)
		R.meta.agent_port = (uint32_t)o.port;
	if (meta_common(&R.meta, ver) < 0)
		bail(NULL);
	R.t_snap = now_ms() - t;

	step(5, "Publishing");
	t = now_ms();
	if (publish() < 0)
		bail(NULL);
	R.t_publish = now_ms() - t;
	return;
fail:
	{
		char msg[1024];
		snprintf(msg, sizeof msg, "VM %s: %s", o.from_vm, errmsg());
		if (was_running && fc_resume(&R.vmm.fc) == 0)  /* as we found it */
			sentinel_end(&R.resumer, 1);
		fail("%s", msg);
		guard_unblock();
		bail(NULL);
	}
}

/* ---- the contract ---- */

void
create_init(const struct create_opts *opts)
{
	o = *opts;
	progress = o.verbose || isatty(2);
	R.t0 = now_ms();
	vmm_init(&R.vmm);
	meta_init(&R.meta);
	R.nsteps = o.from_vm ? 5 : 7;
	guard_install();        /* from here a signal cleans up (a download too) */
}

int
create_check(void)
{
	step(1, "Checking inputs");
	return check_inputs();
}

int
create_lock(void)
{
	return store_lock(&st, o.name, o.wait);
}

void
create_run(void)
{
	if (make_dirs() < 0)
		bail(NULL);

	if (o.from_vm)
		from_vm();
	else
		cold_boot();

	guard_cleanup();        /* the work dir */
}

void
create_print_result(void)
{
	print_result();
}

void
create_free(void)
{
	meta_free(&R.meta);
}
