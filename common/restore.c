/* restore: see restore.h.  Hot path: no fsync of the private disk copy,
 * polling steps of 0.1 ms, no shell. */
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "copy.h"
#include "lazy.h"
#include "fc.h"
#include "fcbin.h"
#include "pull.h"
#include "util.h"
#include "vmcheck.h"

void
restore_init(struct restore *r)
{
	memset(r, 0, sizeof *r);
	meta_init(&r->m);
	vmm_init(&r->vmm);
	r->vm.dirfd = r->vm.ownfd = -1;
	r->snapfd = -1;
	r->filefd[0] = r->filefd[1] = r->filefd[2] = -1;
}

static void
close_snap(struct restore *r)
{
	int i;

	if (r->snapfd >= 0)
		close(r->snapfd);
	r->snapfd = -1;
	for (i = 0; i < 3; i++) {
		if (r->filefd[i] >= 0)
			close(r->filefd[i]);
		r->filefd[i] = -1;
	}
}

void
restore_free(struct restore *r)
{
	free(r->remote_url);
	r->remote_url = NULL;
	close_snap(r);
	vm_close(&r->vm);
	vmm_release(&r->vmm);
	meta_free(&r->m);
}

double
restore_ms(int64_t a, int64_t b)
{
	return a && b > a ? (double)(b - a) / 1e6 : 0;
}

int
restore_ensure_present(const struct store *st, const char *name, const char *remote)
{
	if (name_check(name, "snapshot name") < 0)
		return -1;
	return pull_if_missing(st, name, remote);
}

/* ---- checks before anything starts ---- */

/* Is the directory we opened no longer the published snapshot (a refresh
 * exchanged it and is deleting it)? */
static int
replaced(struct restore *r, const char *name)
{
	char path[PATH_MAX];
	struct stat a, b;

	if (r->remote_url)
		return 0;       /* a pull dir: only its own pulls replace it */
	if (store_snap_dir(&r->st, name, path, sizeof path) < 0 || fstat(r->snapfd, &a) < 0)
		return 0;
	if (stat(path, &b) < 0)
		return 1;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* The disk is the one the memory was paused with: its mtime is the one
 * create recorded (older snapshots recorded none). */
static int
check_disk_unchanged(struct restore *r, const char *name, const struct stat *sb)
{
	int64_t mt = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;

	if (!r->m.rootfs.mtime_ns || mt == r->m.rootfs.mtime_ns)
		return 0;
	return fail("snapshot %s is damaged: rootfs.ext4 was modified after the "
	    "snapshot was taken (mtime %lld ns, meta.json says %lld), so it no longer "
	    "matches the memory: create the snapshot again or pull it", name,
	    (long long)mt, (long long)r->m.rootfs.mtime_ns);
}

/* Open file (slot i) from the snapshot dir and check its size.  0, -1,
 * or 1 when it vanished (a refresh removed this generation: open again). */
static int
check_file(struct restore *r, int i, const char *name, const char *file,
    const struct meta_file *want)
{
	struct stat sb;
	int fd;

	fd = open_trusted(r->snapfd, file, O_RDONLY, 0);
	if (fd < 0) {
		if (errno == ENOENT && replaced(r, name))
			return 1;
		if (errno == ENOENT)
			return fail("snapshot %s is incomplete: %s is missing; create it "
			    "again or pull it", name, file);
		return fail("snapshot %s is damaged: %s %s; create it again or pull it",
		    name, file, errmsg());
	}
	r->filefd[i] = fd;
	if (fstat(fd, &sb) < 0)
		return fail_errno("snapshot %s: %s", name, file);
	if ((uint64_t)sb.st_size != want->size)
		return fail("snapshot %s is damaged: %s has %lld bytes, meta.json says "
		    "%llu; create it again or pull it", name, file,
		    (long long)sb.st_size, (unsigned long long)want->size);
	return want == &r->m.rootfs ? check_disk_unchanged(r, name, &sb) : 0;
}

/* Open the snapshot dir, its meta.json and its three files: 0, -1, or 1
 * when a concurrent refresh deleted them meanwhile. */
static int
open_snap(struct restore *r, const char *name)
{
	static const char *files[3] = { "vmstate", "mem", "rootfs.ext4" };
	const struct meta_file *want[3] = { &r->m.vmstate, &r->m.mem, &r->m.rootfs };
	char dir[64];
	int i, rc;

	if (r->remote_url) {
		r->snapfd = open(r->pulldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (r->snapfd < 0)
			return fail_errno("snapshot %s: %s", name, r->pulldir);
	} else {
		r->snapfd = store_open_snap(&r->st, name);
	}
	if (r->snapfd < 0)
		return -1;
	if (fmt(dir, sizeof dir, "/proc/self/fd/%d", r->snapfd) < 0)
		return -1;
	if (meta_read(dir, &r->m) < 0) {
		if (replaced(r, name))
			return 1;
		return fail("snapshot %s: %s", name, meta_reason());
	}
	for (i = 0; i < 3; i++) {
		rc = check_file(r, i, name, files[i], want[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
check_version(struct restore *r, const char *name, const char *firecracker)
{
	char binver[64], cache[PATH_MAX];

	if (fcbin_firecracker(&r->st, firecracker, 0, r->fc_bin, sizeof r->fc_bin) < 0)
		return -1;
	if (fc_binary_version_cached(r->fc_bin, store_sub(&r->st, "cache", cache,
	    sizeof cache) == 0 ? cache : NULL, binver, sizeof binver) < 0)
		return -1;
	switch (fc_version_loadable(r->m.fc_version, binver)) {
	case 1:
		return 0;
	case 0:
		return fail("snapshot %s was made by Firecracker %s; %s is %s and "
		    "cannot load it: use a %s.x binary (-f) or re-create the snapshot",
		    name, r->m.fc_version, r->fc_bin, binver, r->m.fc_version);
	default:
		return fail("snapshot %s: cannot compare Firecracker versions '%s' "
		    "(snapshot) and '%s' (%s)", name, r->m.fc_version, binver, r->fc_bin);
	}
}

/* The firecracker arguments: the host's, and the harmless recorded ones
 * (fcargs.h); one line names those dropped. */
static int
args_policy(struct restore *r, const struct restore_opts *o)
{
	char *host[FCARGS_MAX];
	int n = split_args_env(getenv("FCSNAP_FIRECRACKER_ARGS"), host, 0, FCARGS_MAX);

	if (n + o->nfc_args > FCARGS_MAX)
		return fail("more than %d firecracker arguments", FCARGS_MAX);
	if (o->nfc_args > 0)
		memcpy(host + n, o->fc_args, (size_t)o->nfc_args * sizeof *host);
	n += o->nfc_args;
	if (fcargs_restore(r->m.fc_args, r->m.nfc_args, host, n, &r->fc_args) < 0)
		return fail("snapshot %s: %s", o->name, errmsg());
	if (r->fc_args.dropped[0])
		warnmsg("snapshot %s: firecracker arguments in its meta.json not used: %s "
		    "(a snapshot decides no firecracker argument but harmless ones like "
		    "--level; give them on this host with -F or FCSNAP_FIRECRACKER_ARGS)",
		    o->name, r->fc_args.dropped);
	return 0;
}

int
restore_check(struct restore *r, const struct restore_opts *o)
{
	char vendor[64];
	int rc, tries;

	r->T.start = now_ns();
	if (store_init(&r->st) < 0 || name_check(o->name, "snapshot name") < 0)
		return -1;
	if (o->lazy && pull_lazy(&r->st, o->name, o->remote, r->pulldir, sizeof r->pulldir,
	    &r->remote_url) < 0)
		return -1;
	if (!r->remote_url && restore_ensure_present(&r->st, o->name, o->remote) < 0)
		return -1;
	for (tries = 0; ; tries++) {
		rc = open_snap(r, o->name);
		if (rc <= 0)
			break;
		close_snap(r);
		if (tries == 8)
			return fail("snapshot %s keeps being replaced while we open it; "
			    "try again", o->name);
	}
	if (rc < 0)
		return -1;
	if (host_cpu_vendor(vendor, sizeof vendor) < 0)
		return -1;
	if (r->m.cpu_vendor[0] && strcmp(vendor, r->m.cpu_vendor))
		return fail("snapshot %s was made on a %s CPU; this host has %s: "
		    "re-create it here", o->name, r->m.cpu_vendor, vendor);
	if (check_version(r, o->name, o->firecracker) < 0 || args_policy(r, o) < 0)
		return -1;
	r->T.check = now_ns();
	return 0;
}

/* ---- the restore ---- */

/* run/<id>/rootfs.ext4: a shared disk is a hard link to the very inode
 * pinned at the check (O(1), read-only for firecracker as the snapshot
 * says); a copy snapshot's, or a shared one that cannot be linked, a
 * private copy. */
static int
attach_disk(struct restore *r, const struct restore_opts *o)
{
	char src[64], dst[PATH_MAX];

	if (path_join(dst, sizeof dst, r->vm.dir, "rootfs.ext4") < 0)
		return -1;
	if (r->m.disk_shared) {
		r->copy_kind = link_fd(r->filefd[2], dst);
		if (r->copy_kind > 0)
			return 0;
		/* EXDEV: another filesystem; ENOENT: a refresh deleted this
		 * generation since the check (its inode cannot be linked
		 * again): copy from the pinned fd */
		if (errno != EXDEV && errno != ENOENT)
			return fail("VM %s: linking the disk of snapshot %s: %s", r->vm.id,
			    o->name, errmsg());
	}
	if (fmt(src, sizeof src, "/proc/self/fd/%d", r->filefd[2]) < 0)
		return -1;
	r->copy_kind = copy_file(src, dst, r->m.disk_shared ? 0400 : 0600, 0);
	if (r->copy_kind < 0)
		return fail("VM %s: copying the disk of snapshot %s: %s", r->vm.id,
		    o->name, errmsg());
	return 0;
}

/* Fork the firecracker-to-be: it waits for its run dir (vmm_fork), so
 * its pid goes into the run dir's first and only vm.json. */
static int
fork_vmm(struct restore *r, const struct restore_opts *o)
{
	struct vmm_opts vo = { 0 };

	vo.firecracker = r->fc_bin;
	vo.args = r->fc_args.v;
	vo.nargs = r->fc_args.n;
	vo.detach = 1;
	guard_block();
	if (vmm_fork(&r->vmm, &vo) < 0) {
		guard_unblock();
		return -1;
	}
	guard_pid(r->vmm.pid, 1);
	guard_unblock();
	r->T.spawn = now_ns();
	return 0;
}

/* The run dir with vm.json (firecracker's pid in it), firecracker let go
 * in it (it holds the dir's lock from here on), the snapshot's meta and
 * the disk linked while it starts. */
static int
make_run_dir(struct restore *r, const struct restore_opts *o)
{
	char dst[PATH_MAX];
	int64_t t = now_ns();

	guard_block();
	if (vm_create_for(&r->st, o->id, o->name, r->vmm.pid, &r->vm) < 0) {
		guard_unblock();
		return -1;
	}
	if (guard_dir(r->vm.dir) < 0) {
		guard_unblock();
		return -1;
	}
	guard_unblock();
	r->T.record += now_ns() - t;
	r->vm.agent_port = r->m.agent_port;
	if (vmm_go(&r->vmm, r->vm.dirfd, r->vm.api_sock, (int)o->timeout_ms) < 0)
		return -1;
	/* the snapshot's meta, for fc-exec and fc-snap-create --from-vm */
	if (path_join(dst, sizeof dst, r->vm.dir, "meta.json") < 0)
		return -1;
	if (linkat(r->snapfd, "meta.json", AT_FDCWD, dst, 0) < 0 &&
	    meta_write(r->vm.dir, &r->m) < 0)   /* generation deleted meanwhile */
		return -1;
	if (attach_disk(r, o) < 0)
		return -1;
	r->T.copy = now_ns();
	return 0;
}

static int
wait_vmm(struct restore *r, const struct restore_opts *o)
{
	char log[PATH_MAX];

	if (path_join(log, sizeof log, r->vm.dir, "log") < 0)
		return -1;
	if (vmm_wait_ready(&r->vmm, log, (int)o->timeout_ms) < 0)
		return fail("VM %s: %s", r->vm.id, errmsg());
	r->T.ready = now_ns();
	return 0;
}

/* Start fc-pager on the memory file and load through it instead. */
static int
lazy_backend(struct restore *r, const struct restore_opts *o, const char *mem,
    struct fc_snapshot_load *l)
{
	char log[PATH_MAX];

	if (path_join(log, sizeof log, r->vm.dir, "log") < 0)
		return -1;
	if (r->remote_url)
		r->pager = lazy_start_remote(r->vm.dir, r->pulldir, r->remote_url, r->vmm.pid,
		    log, (int)o->timeout_ms);
	else
		r->pager = lazy_start(r->vm.dir, mem, r->vmm.pid, log, (int)o->timeout_ms);
	if (r->pager < 0)
		return fail("VM %s: starting its page server: %s", r->vm.id, errmsg());
	l->mem_backend_path = LAZY_SOCK;
	l->mem_backend_type = "Uffd";
	return 0;
}

/* A snapshot not created here (pulled, or made from such a VM) was loaded
 * paused: its guest runs only if the devices its vmstate gave firecracker
 * are the ones fc-snap-create configures (vmcheck.h). */
static int
check_devices(struct restore *r, const struct restore_opts *o)
{
	struct vmcheck_want w = { 0 };
	char *cfg;
	int rc;

	w.disk_ro = r->m.disk_shared;
	if (!(cfg = fc_vm_config(&r->vmm.fc)))
		return fail("VM %s: checking the devices of snapshot %s: %s", r->vm.id,
		    o->name, errmsg());
	rc = vmcheck_config(cfg, strlen(cfg), &w);
	free(cfg);
	if (rc < 0)
		return fail("VM %s: snapshot %s was not created on this host and its "
		    "vmstate is not one fcsnap makes: %s; refusing to run it (pull it "
		    "from a bucket only you can write, or re-create it)", r->vm.id,
		    o->name, errmsg());
	if (!o->paused && fc_resume(&r->vmm.fc) < 0)
		return fail("VM %s: resuming: %s", r->vm.id, errmsg());
	return 0;
}

static int
load(struct restore *r, const struct restore_opts *o)
{
	struct fc_snapshot_load l = { 0 };
	char state[64], mem[64], log[PATH_MAX], msg[1024];

	if (fmt(state, sizeof state, "/proc/%ld/fd/%d", (long)getpid(), r->filefd[0]) < 0 ||
	    fmt(mem, sizeof mem, "/proc/%ld/fd/%d", (long)getpid(), r->filefd[1]) < 0)
		return -1;
	l.snapshot_path = state;
	l.mem_backend_path = mem;
	l.mem_backend_type = "File";
	if (o->lazy && lazy_backend(r, o, mem, &l) < 0)
		return -1;
	l.resume_vm = !o->paused && r->m.origin_create;
	if (fc_snapshot_load(&r->vmm.fc, &l) < 0) {
		snprintf(msg, sizeof msg, "%s", errmsg());
		if (path_join(log, sizeof log, r->vm.dir, "log") == 0 &&
		    vmm_check_wait(&r->vmm, log, 200) < 0)
			return fail("VM %s: loading snapshot %s: %s (%s)", r->vm.id, o->name,
			    msg, errmsg());
		return fail("VM %s: loading snapshot %s: %s", r->vm.id, o->name, msg);
	}
	if (!r->m.origin_create && check_devices(r, o) < 0)
		return -1;
	r->T.load = now_ns();
	return 0;
}

int
restore_fc_gone(void *arg)
{
	struct restore *r = arg;
	char log[PATH_MAX];

	if (r->vmm.pid <= 0) {
		fail("firecracker is gone");
		return 1;
	}
	if (path_join(log, sizeof log, r->vm.dir, "log") < 0)
		return 0;
	return vmm_check(&r->vmm, log) < 0;
}

static int
hello(struct restore *r, const struct restore_opts *o)
{
	char path[108];
	int fd, dfd;

	if (unix_path_fit(r->vm.vsock, path, sizeof path, &dfd) < 0)
		return -1;
	fd = agent_connect_watch(path, r->m.agent_port, (int)o->timeout_ms, restore_fc_gone, r);
	if (dfd >= 0)
		close(dfd);
	if (fd < 0) {
		char msg[1024];

		snprintf(msg, sizeof msg, "%s", errmsg());
		if (r->vmm.pid > 0 && restore_fc_gone(r))
			return fail("VM %s: the agent did not answer: %s", r->vm.id, errmsg());
		return fail("VM %s: the agent did not answer: %s", r->vm.id, msg);
	}
	if (agent_hello(fd, NULL, (int)o->timeout_ms) < 0) {
		close(fd);
		return fail("VM %s: agent hello: %s", r->vm.id, errmsg());
	}
	close(fd);
	r->T.agent = now_ns();
	return 0;
}

static int
run_steps(struct restore *r, const struct restore_opts *o)
{
	if (fork_vmm(r, o) < 0 || make_run_dir(r, o) < 0 || wait_vmm(r, o) < 0 ||
	    load(r, o) < 0)
		return -1;
	if (!o->paused && !o->no_hello && hello(r, o) < 0)
		return -1;
	return 0;
}

int
restore_start(struct restore *r, const struct restore_opts *o)
{
	char msg[1024];

	if (run_steps(r, o) == 0)
		return 0;
	snprintf(msg, sizeof msg, "%s", errmsg());
	guard_cleanup();
	vm_close(&r->vm);
	r->vmm.pid = 0;
	vmm_release(&r->vmm);
	return fail("%s", msg);
}

void
restore_done(struct restore *r)
{
	guard_block();
	guard_pid(0, 0);
	guard_forget_dir(r->vm.dir);
	vm_handover(&r->vm);
	vm_close(&r->vm);       /* firecracker holds the run dir on its own */
	guard_unblock();
	vmm_release(&r->vmm);
	close_snap(r);
}
