/* api: Firecracker's routing (parsed_request.rs) and state machine
 * (rpc_interface.rs: the pre-boot and runtime controllers), with their
 * fault messages.  Order of checks follows Firecracker: the body is parsed
 * first (API thread), then the state is checked (VMM thread).
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define NTOK 512

static const char POST_BOOT[] = "The requested operation is not supported after starting the microVM.";
static const char PRE_BOOT[] = "The requested operation is not supported before starting the microVM.";

/* Firecracker 1.3 and older word some faults differently (real v1.3.3). */
static int
v13(void)
{
	return !version_ge(1, 4);
}

/* The prefix of snapshot load faults. */
static const char *
load_err(void)
{
	return v13() ? "Load microVM snapshot error" : "Load snapshot error";
}

static void
reply_json(struct reply *r, int status, struct jw *w)
{
	r->status = status;
	r->body = jw_text(w) ? strdup(jw_text(w)) : NULL;
	jw_free(w);
}

static void
fault(struct reply *r, const char *fmt_, ...) __attribute__((format(printf, 2, 3)));

static void
fault(struct reply *r, const char *fmt_, ...)
{
	char msg[8192];
	struct jw w;
	va_list ap;

	va_start(ap, fmt_);
	vsnprintf(msg, sizeof msg, fmt_, ap);
	va_end(ap);
	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "fault_message", msg);
	jw_obj_end(&w);
	reply_json(r, 400, &w);
}

static void
ok(struct reply *r)
{
	r->status = 204;
	r->body = NULL;
}

/* Rust's io::Error display. */
static const char *
oserr(int e)
{
	static char buf[160];

	snprintf(buf, sizeof buf, "%s (os error %d)", strerror(e), e);
	return buf;
}

/* Firecracker's checked_id(). */
static int
check_id(struct reply *r, const char *id)
{
	const char *p;

	if (!id || !*id) {
		fault(r, "The ID cannot be empty.");
		return -1;
	}
	for (p = id; *p; p++)
		if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9'))) {
			fault(r, "API Resource IDs can only contain alphanumeric characters and "
				"underscores.");
			return -1;
		}
	return 0;
}

struct body {
	const char *js;
	size_t n;
	struct json_tok t[NTOK];
};

static int
parse(struct reply *r, const char *what, struct body *b)
{
	char err[2048];

	if (body_parse(what, b->js, b->n, b->t, NTOK, err, sizeof err) < 0) {
		fault(r, "%s", err);
		return -1;
	}
	return 0;
}

static int
file_opens(const char *path, int flags, int *err)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- GET ---- */

static void
get_instance(struct reply *r)
{
	static const char *names[] = { "Not started", "Running", "Paused" };
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "id", S.id);
	jw_kstr(&w, "state", names[S.state]);
	jw_kstr(&w, "vmm_version", S.version);
	jw_kstr(&w, "app_name", "Firecracker");
	jw_obj_end(&w);
	reply_json(r, 200, &w);
}

static void
get_version(struct reply *r)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "firecracker_version", S.version);
	jw_obj_end(&w);
	reply_json(r, 200, &w);
}

static void
get_machine(struct reply *r)
{
	struct jw w;

	jw_init(&w);
	snap_machine_json(&w, &S.cfg);
	reply_json(r, 200, &w);
}

static void
get_vm_config(struct reply *r)
{
	struct jw w;

	jw_init(&w);
	snap_cfg_json(&w, &S.cfg, 0);
	reply_json(r, 200, &w);
}

/* ---- PUT /actions ---- */

static void
put_actions(struct reply *r, struct body *b)
{
	char a[32];
	int k, e;

	if (parse(r, "InstanceActionInfo", b) < 0)
		return;
	body_str(b->js, b->t, "action_type", a, sizeof a, "");
	if (standin_fail_injected(a)) {
		fault(r, "fc-standin: injected failure");
		return;
	}
	if (!strcmp(a, "InstanceStart")) {
		if (S.started) {
			fault(r, POST_BOOT);
			return;
		}
		if (!S.cfg.have_boot) {
			fault(r, "%sCannot start microvm without kernel configuration.",
				v13() ? "" : "Start microvm error: ");
			return;
		}
		standin_die_point("InstanceStart");
		if (disks_attach(&S.cfg, &k, &e) < 0) {
			fault(r, "Start microvm error: Block device error: Error manipulating "
				"the backing file: %s %s", oserr(e), S.cfg.drives[k].path);
			return;
		}
		snprintf(S.cmdline, sizeof S.cmdline, "%s", S.cfg.have_args ? S.cfg.boot_args : "");
		S.started = 1;
		S.state = ST_RUNNING;
		guest_boot();
		ok(r);
		return;
	}
	if (!S.started) {
		fault(r, PRE_BOOT);
		return;
	}
	if (!strcmp(a, "SendCtrlAltDel"))
		guest_ctrl_alt_del();
	ok(r);
}

/* ---- boot-time resources ---- */

static void
put_boot_source(struct reply *r, struct body *b)
{
	struct vmcfg *c = &S.cfg;
	char k[SPATH], i[SPATH], a[4096];
	int e;

	if (parse(r, "BootSource", b) < 0)
		return;
	if (S.started) {
		fault(r, POST_BOOT);
		return;
	}
	S.boot_path = 1;
	body_str(b->js, b->t, "kernel_image_path", k, sizeof k, "");
	if (file_opens(k, O_RDONLY, &e) < 0) {
		fault(r, "%sThe kernel file cannot be opened: %s", v13() ? "" : "Boot source error: ",
			oserr(e));
		return;
	}
	if (body_str(b->js, b->t, "initrd_path", i, sizeof i, NULL) &&
	    file_opens(i, O_RDONLY, &e) < 0) {
		fault(r, "Boot source error: The initrd file cannot be opened due to invalid path "
			"or invalid permissions. %s", oserr(e));
		return;
	}
	c->have_boot = 1;
	snprintf(c->kernel, sizeof c->kernel, "%s", k);
	c->have_initrd = body_str(b->js, b->t, "initrd_path", i, sizeof i, NULL) != NULL;
	snprintf(c->initrd, sizeof c->initrd, "%s", c->have_initrd ? i : "");
	c->have_args = body_str(b->js, b->t, "boot_args", a, sizeof a, NULL) != NULL;
	snprintf(c->boot_args, sizeof c->boot_args, "%s", c->have_args ? a : "");
	ok(r);
}

static void
put_drive(struct reply *r, struct body *b, const char *pid)
{
	struct vmcfg *c = &S.cfg;
	struct drive d;
	char id[64];
	int k, e;

	if (!pid) {
		fault(r, "The ID cannot be empty.");
		return;
	}
	if (check_id(r, pid) < 0 || parse(r, "Drive", b) < 0)
		return;
	body_str(b->js, b->t, "drive_id", id, sizeof id, "");
	if (strcmp(id, pid)) {
		fault(r, "The id from the path does not match the id from the body!");
		return;
	}
	if (S.started) {
		fault(r, POST_BOOT);
		return;
	}
	S.boot_path = 1;
	memset(&d, 0, sizeof d);
	snprintf(d.id, sizeof d.id, "%s", id);
	if (body_has(b->js, b->t, 0, "socket")) {
		fault(r, "fc-standin: vhost-user block devices (socket) are not supported by the "
			"stand-in");
		return;
	}
	if (!body_str(b->js, b->t, "path_on_host", d.path, sizeof d.path, NULL)) {
		fault(r, "Drive config error: Unable to create the virtio block device: "
			"path_on_host is required for a virtio block device");
		return;
	}
	d.root = body_bool(b->js, b->t, 0, "is_root_device", 0);
	d.ro = body_bool(b->js, b->t, 0, "is_read_only", 0);
	body_str(b->js, b->t, "partuuid", d.partuuid, sizeof d.partuuid, "");
	body_str(b->js, b->t, "cache_type", d.cache, sizeof d.cache, "Unsafe");
	body_str(b->js, b->t, "io_engine", d.io_engine, sizeof d.io_engine, "Sync");
	for (k = 0; k < c->ndrives; k++)
		if (c->drives[k].root && d.root && strcmp(c->drives[k].id, d.id)) {
			fault(r, "Drive config error: A root block device already exists!");
			return;
		}
	if (file_opens(d.path, d.ro ? O_RDONLY : O_RDWR, &e) < 0) {
		if (v13())
			fault(r, "Invalid block device path: %s", d.path);
		else
			fault(r, "Drive config error: Unable to create the virtio block device: "
				"Virtio backend error: Error manipulating the backing file: %s %s",
				oserr(e), d.path);
		return;
	}
	for (k = 0; k < c->ndrives; k++)
		if (!strcmp(c->drives[k].id, d.id))
			break;
	if (k == MAX_DRIVES) {
		fault(r, "fc-standin: too many drives (the stand-in keeps %d)", MAX_DRIVES);
		return;
	}
	c->drives[k] = d;
	if (k == c->ndrives)
		c->ndrives++;
	ok(r);
}

/* What every PATCH of a drive or interface checks first, in Firecracker's
 * order: a path id, the body's schema, the body's id matching the path's,
 * and a booted VM (these are post-boot updates). 0, or -1 with the fault set. */
static int
patch_checks(struct reply *r, struct body *b, const char *pid, const char *schema,
    const char *idkey, char *id, size_t n)
{
	if (!pid) {
		fault(r, "The ID cannot be empty.");
		return -1;
	}
	if (check_id(r, pid) < 0 || parse(r, schema, b) < 0)
		return -1;
	body_str(b->js, b->t, idkey, id, n, "");
	if (strcmp(id, pid)) {
		fault(r, "The id from the path does not match the id from the body!");
		return -1;
	}
	if (!S.started) {
		fault(r, PRE_BOOT);
		return -1;
	}
	return 0;
}

static void
patch_drive(struct reply *r, struct body *b, const char *pid)
{
	struct vmcfg *c = &S.cfg;
	char id[64], path[SPATH];
	int k, e;

	if (patch_checks(r, b, pid, "PartialDrive", "drive_id", id, sizeof id) < 0)
		return;
	for (k = 0; k < c->ndrives; k++)
		if (!strcmp(c->drives[k].id, id))
			break;
	if (k == c->ndrives) {
		fault(r, "Drive config error: Unable to patch the block device: Device manager "
			"error: Invalid device ID: %s", id);
		return;
	}
	if (body_str(b->js, b->t, "path_on_host", path, sizeof path, NULL)) {
		if (file_opens(path, c->drives[k].ro ? O_RDONLY : O_RDWR, &e) < 0) {
			fault(r, "Drive config error: Unable to patch the block device: Virtio "
				"backend error: Error manipulating the backing file: %s %s", oserr(e), path);
			return;
		}
		snprintf(c->drives[k].path, sizeof c->drives[k].path, "%s", path);
	}
	ok(r);
}

static int
machine_check(struct reply *r, long long vcpus, long long mem, int smt, const char *huge)
{
	if (vcpus < 1 || vcpus > 32 || (smt && vcpus > 1 && vcpus % 2)) {
		fault(r, "Machine config error: The vCPU number is invalid! The vCPU number can only "
			"be 1 or an even number when SMT is enabled.");
		return -1;
	}
	if (mem < 1) {
		fault(r, "Machine config error: The memory size (MiB) is invalid.");
		return -1;
	}
	if (!strcmp(huge, "2M") && mem % 2) {
		fault(r, "Machine config error: The memory size (MiB) is either 0, or not a "
			"multiple of the configured page size.");
		return -1;
	}
	if (mem > 1LL << 24) {
		fault(r, "fc-standin: mem_size_mib %lld is more than the stand-in supports", mem);
		return -1;
	}
	return 0;
}

static void
machine_config(struct reply *r, struct body *b, int patch)
{
	struct vmcfg *c = &S.cfg;
	long long vcpus, mem;
	char huge[8], tmpl[16];
	int smt, dirty;

	if (parse(r, patch ? "PartialMachineConfiguration" : "MachineConfiguration", b) < 0)
		return;
	if (S.started) {
		fault(r, POST_BOOT);
		return;
	}
	S.boot_path = 1;
	vcpus = body_int(b->js, b->t, 0, "vcpu_count", patch ? c->vcpus : 1);
	mem = body_int(b->js, b->t, 0, "mem_size_mib", patch ? c->mem_mib : 128);
	smt = body_bool(b->js, b->t, 0, "smt", patch ? c->smt : 0);
	dirty = body_bool(b->js, b->t, 0, "track_dirty_pages", patch ? c->dirty : 0);
	body_str(b->js, b->t, "huge_pages", huge, sizeof huge, patch ? c->huge : "None");
	body_str(b->js, b->t, "cpu_template", tmpl, sizeof tmpl, patch ? c->cpu_template : "");
	if (!strcmp(tmpl, "None"))
		tmpl[0] = 0;
	if (machine_check(r, vcpus, mem, smt, huge) < 0)
		return;
	c->vcpus = vcpus;
	c->mem_mib = mem;
	c->smt = smt;
	c->dirty = dirty;
	snprintf(c->huge, sizeof c->huge, "%s", huge);
	snprintf(c->cpu_template, sizeof c->cpu_template, "%s", tmpl);
	ok(r);
}

static void
put_net(struct reply *r, struct body *b, const char *pid)
{
	struct vmcfg *c = &S.cfg;
	struct net n;
	int k;

	if (!pid) {
		fault(r, "The ID cannot be empty.");
		return;
	}
	if (check_id(r, pid) < 0 || parse(r, "NetworkInterface", b) < 0)
		return;
	memset(&n, 0, sizeof n);
	body_str(b->js, b->t, "iface_id", n.id, sizeof n.id, "");
	if (strcmp(n.id, pid)) {
		fault(r, "The id from the path does not match the id from the body!");
		return;
	}
	if (S.started) {
		fault(r, POST_BOOT);
		return;
	}
	S.boot_path = 1;
	body_str(b->js, b->t, "host_dev_name", n.host_dev, sizeof n.host_dev, "");
	body_str(b->js, b->t, "guest_mac", n.mac, sizeof n.mac, "");
	n.mtu = body_int(b->js, b->t, 0, "mtu", 0);
	if (body_has(b->js, b->t, 0, "mtu") && (n.mtu < 68 || n.mtu > 65535)) {
		fault(r, "Network config error: Invalid MTU %lld: must be in [68, 65535]", n.mtu);
		return;
	}
	for (k = 0; k < c->nnets; k++)
		if (strcmp(c->nets[k].id, n.id) && !strcmp(c->nets[k].host_dev, n.host_dev)) {
			fault(r, "Network config error: The host device name %s is already in use.",
				n.host_dev);
			return;
		}
	for (k = 0; k < c->nnets; k++)
		if (!strcmp(c->nets[k].id, n.id))
			break;
	if (k == MAX_NETS) {
		fault(r, "fc-standin: too many network interfaces");
		return;
	}
	c->nets[k] = n;
	if (k == c->nnets)
		c->nnets++;
	ok(r);
}

static void
patch_net(struct reply *r, struct body *b, const char *pid)
{
	char id[64];
	int k;

	if (patch_checks(r, b, pid, "PartialNetworkInterface", "iface_id", id, sizeof id) < 0)
		return;
	for (k = 0; k < S.cfg.nnets; k++)
		if (!strcmp(S.cfg.nets[k].id, id))
			break;
	if (k == S.cfg.nnets) {
		fault(r, "Network config error: Unable to update the net device: Device manager "
			"error: Invalid device ID: %s", id);
		return;
	}
	ok(r);
}

static void
put_vsock(struct reply *r, struct body *b)
{
	struct vmcfg *c = &S.cfg;
	char uds[SPATH], vid[64];
	long long cid;

	if (parse(r, "Vsock", b) < 0)
		return;
	if (S.started) {
		fault(r, POST_BOOT);
		return;
	}
	S.boot_path = 1;
	cid = body_int(b->js, b->t, 0, "guest_cid", 0);
	body_str(b->js, b->t, "uds_path", uds, sizeof uds, "");
	body_str(b->js, b->t, "vsock_id", vid, sizeof vid, "");
	if (cid < 3) {
		fault(r, "Vsock config error: Cannot create backend for vsock device: guest_cid %lld "
			"is reserved (must be at least 3)", cid);
		return;
	}
	if (c->have_vsock)
		vsock_unbind();
	c->have_vsock = 0;
	if (vsock_bind(uds) < 0) {
		fault(r, "Vsock config error: Cannot create backend for vsock device: %s", errmsg());
		return;
	}
	c->have_vsock = 1;
	c->cid = cid;
	snprintf(c->uds, sizeof c->uds, "%s", uds);
	snprintf(c->vsock_id, sizeof c->vsock_id, "%s", vid);
	ok(r);
}

static void
put_entropy(struct reply *r, struct body *b)
{
	if (parse(r, "EntropyDevice", b) < 0)
		return;
	if (S.started) {
		fault(r, POST_BOOT);
		return;
	}
	S.boot_path = 1;
	S.cfg.have_entropy = 1;
	ok(r);
}

static void
put_logger(struct reply *r, struct body *b)
{
	char path[SPATH];
	int fd;

	if (parse(r, "Logger", b) < 0)
		return;
	if (S.started) {
		fault(r, POST_BOOT);
		return;
	}
	if (body_str(b->js, b->t, "log_path", path, sizeof path, NULL)) {
		fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			fault(r, "Logger error: Failed to open target file: %s", oserr(errno));
			return;
		}
		if (S.logger_fd >= 0)
			close(S.logger_fd);
		S.logger_fd = fd;
	}
	ok(r);
}

static void
put_metrics(struct reply *r, struct body *b)
{
	static int done;
	char path[SPATH];
	int e;

	if (parse(r, "Metrics", b) < 0)
		return;
	if (S.started) {
		fault(r, POST_BOOT);
		return;
	}
	if (done) {
		fault(r, "Metrics error: Reinitialization of metrics not allowed.");
		return;
	}
	body_str(b->js, b->t, "metrics_path", path, sizeof path, "");
	if (file_opens(path, O_WRONLY | O_NONBLOCK, &e) < 0) {
		fault(r, "Metrics error: Failed to open target file: %s", oserr(e));
		return;
	}
	done = 1;
	ok(r);
}

/* ---- runtime ---- */

static void
patch_vm(struct reply *r, struct body *b)
{
	char st[16];

	if (parse(r, "Vm", b) < 0)
		return;
	if (!S.started) {
		fault(r, PRE_BOOT);
		return;
	}
	body_str(b->js, b->t, "state", st, sizeof st, "");
	if (!strcmp(st, "Paused")) {
		standin_die_point("pause");
		guest_pause();
		S.state = ST_PAUSED;
		vsock_state_changed();
	} else {
		S.state = ST_RUNNING;
		guest_resume();
		vsock_state_changed();
	}
	ok(r);
}

static void
snapshot_create(struct reply *r, struct body *b)
{
	char sp[SPATH], mp[SPATH], ty[8] = "";
	int diff;

	if (parse(r, "SnapshotCreateParams", b) < 0)
		return;
	if (!S.started) {
		fault(r, PRE_BOOT);
		return;
	}
	diff = !strcmp(body_str(b->js, b->t, "snapshot_type", ty, sizeof ty, "Full"), "Diff");
	if (diff && !S.cfg.dirty) {
		fault(r, "The requested operation is not supported: Diff snapshots are not allowed "
			"on uVMs with dirty page tracking disabled.");
		return;
	}
	if (S.state != ST_PAUSED && v13()) {
		fault(r, "Cannot save the microVM state: Operation not allowed: save/restore "
			"unavailable while running");
		return;
	}
	if (S.state != ST_PAUSED) {
		fault(r, "Create snapshot error: Cannot save the microVM state: the microVM must be "
			"paused before a snapshot is created (PATCH /vm {\"state\": \"Paused\"}).");
		return;
	}
	body_str(b->js, b->t, "snapshot_path", sp, sizeof sp, "");
	body_str(b->js, b->t, "mem_file_path", mp, sizeof mp, "");
	vsock_reset();
	if (snap_create(sp, mp, diff) < 0) {
		fault(r, "Create snapshot error: %s", errmsg());
		return;
	}
	S.snapshotted = 1;
	vsock_queue_reset();
	ok(r);
}

static int
apply_overrides(struct body *b, struct vmcfg *c)
{
	int v, k, j, i;
	char id[64], dev[64];

	v = json_get(b->js, b->t, 0, "vsock_override");
	if (v >= 0 && b->t[v].type == JSON_OBJECT) {
		int u = json_get(b->js, b->t, v, "uds_path");

		if (!c->have_vsock)
			return fail("Vsock override was given, but the snapshot has no vsock device");
		if (json_str(b->js, b->t, u, c->uds, sizeof c->uds) < 0)
			return fail("vsock_override.uds_path is too long");
	}
	v = json_get(b->js, b->t, 0, "network_overrides");
	if (v >= 0 && b->t[v].type == JSON_ARRAY)
		for (k = 0; k < b->t[v].size; k++) {
			i = json_index(b->t, v, k);
			if (json_str(b->js, b->t, json_get(b->js, b->t, i, "iface_id"), id, sizeof id) < 0 ||
			    json_str(b->js, b->t, json_get(b->js, b->t, i, "host_dev_name"), dev,
			    sizeof dev) < 0)
				return fail("bad network override");
			for (j = 0; j < c->nnets; j++)
				if (!strcmp(c->nets[j].id, id))
					break;
			if (j == c->nnets)
				return fail("Invalid network override: no network interface with "
					"iface_id %s in the snapshot", id);
			snprintf(c->nets[j].host_dev, sizeof c->nets[j].host_dev, "%s", dev);
		}
	return 0;
}

static int
restore(struct body *b, const char *sp, const char *mp, int uffd, struct vmcfg *c)
{
	int k, e;

	if ((uffd ? snap_load_uffd(sp, mp, c) : snap_load(sp, mp, c)) < 0)
		return -1;
	if (apply_overrides(b, c) < 0)
		return -1;
	if (disks_attach(c, &k, &e) < 0)
		return fail("Failed to build microVM from snapshot: Block device error: "
			"Error manipulating the backing file: %s %s", oserr(e),
			c->drives[k].path);
	if (c->have_vsock && vsock_bind(c->uds) < 0)
		return fail("Failed to build microVM from snapshot: Vsock error: Cannot create "
			"backend for vsock device: %s", errmsg());
	return 0;
}

static void
snapshot_load(struct reply *r, struct body *b)
{
	static struct vmcfg c;
	char sp[SPATH], mp[SPATH], ty[8] = "";
	int has_file, has_backend, mb;

	if (parse(r, "SnapshotLoadParams", b) < 0)
		return;
	has_file = body_has(b->js, b->t, 0, "mem_file_path");
	has_backend = body_has(b->js, b->t, 0, "mem_backend");
	if (has_file && has_backend) {
		fault(r, "An error occurred when deserializing the json body of a request: too many "
			"fields: either `mem_backend` or `mem_file_path` exclusively is required.");
		return;
	}
	if (!has_file && !has_backend) {
		fault(r, "An error occurred when deserializing the json body of a request: missing "
			"field: either `mem_backend` or `mem_file_path` is required.");
		return;
	}
	if (S.started) {
		fault(r, POST_BOOT);
		return;
	}
	if (S.boot_path) {
		fault(r, "%s: Loading a microVM snapshot not allowed after configuring "
			"boot-specific resources.", load_err());
		return;
	}
	standin_die_point("snapshot-load");
	body_str(b->js, b->t, "snapshot_path", sp, sizeof sp, "");
	if (has_file) {
		body_str(b->js, b->t, "mem_file_path", mp, sizeof mp, "");
	} else {
		mb = json_get(b->js, b->t, 0, "mem_backend");
		json_str(b->js, b->t, json_get(b->js, b->t, mb, "backend_path"), mp, sizeof mp);
		json_str(b->js, b->t, json_get(b->js, b->t, mb, "backend_type"), ty, sizeof ty);
	}
	memset(&c, 0, sizeof c);
	if (restore(b, sp, mp, has_backend && !strcmp(ty, "Uffd"), &c) < 0) {
		/* Firecracker treats a failed restore as fatal: it exits. */
		S.fatal = 1;
		fault(r, "%s: Failed to restore from snapshot: %s", load_err(), errmsg());
		return;
	}
	c.dirty = body_bool(b->js, b->t, 0, "track_dirty_pages", 0) ||
		body_bool(b->js, b->t, 0, "enable_diff_snapshots", 0);
	snprintf(S.cmdline, sizeof S.cmdline, "%s", c.have_args ? c.boot_args : "");
	c.have_boot = 0;        /* GET /vm/config shows no boot-source after a load */
	c.smt = 0;
	c.cpu_template[0] = 0;
	S.cfg = c;
	S.started = 1;
	S.loaded = 1;
	S.state = ST_PAUSED;
	vsock_queue_reset();
	if (body_bool(b->js, b->t, 0, "resume_vm", 0)) {
		S.state = ST_RUNNING;
		guest_resume();
		vsock_state_changed();
	}
	ok(r);
}

static void
put_snapshot(struct reply *r, struct body *b, const char *op)
{
	if (!op) {
		fault(r, "Missing snapshot operation type.");
		return;
	}
	if (!strcmp(op, "create"))
		snapshot_create(r, b);
	else if (!strcmp(op, "load"))
		snapshot_load(r, b);
	else
		fault(r, "Invalid request method and/or path: PUT /snapshot/%s.", op);
}

static void
unsupported(struct reply *r, const char *method, const char *path)
{
	fault(r, "fc-standin: %s /%s is valid for Firecracker but not implemented by the "
		"stand-in", method, path);
}

/* Split the path like Firecracker: trim leading '/', split on '/', drop a
 * trailing empty token. */
static int
split(char *path, char **tok, int max)
{
	int n = 0;
	char *p = path, *s;

	while (*p == '/')
		p++;
	if (!*p)
		return 0;
	while (n < max) {
		s = strchr(p, '/');
		tok[n++] = p;
		if (!s)
			break;
		*s = 0;
		p = s + 1;
		if (!*p)
			break;
	}
	return n;
}

static int
is(const char *a, const char *b)
{
	return !strcmp(a, b);
}

void
api_handle(const char *method, const char *uri, const char *js, size_t blen, int have_body,
	struct reply *r)
{
	static struct body b;
	char path[2048], key[2100], *tok[8] = { 0 }, *q;
	const char *p0;
	int nt;

	snprintf(path, sizeof path, "%s", uri);
	if ((q = strchr(path, '?')))
		*q = 0;
	snprintf(key, sizeof key, "%s %s", method, path);
	if (standin_fail_injected(key)) {
		fault(r, "fc-standin: injected failure");
		return;
	}
	nt = split(path, tok, 8);
	p0 = nt ? tok[0] : "";
	b.js = js;
	b.n = blen;
	if (is(method, "GET")) {
		if (have_body) {
			fault(r, "GET request cannot have a body.");
			return;
		}
		if (is(p0, ""))
			get_instance(r);
		else if (is(p0, "version"))
			get_version(r);
		else if (is(p0, "vm") && tok[1] && is(tok[1], "config"))
			get_vm_config(r);
		else if (is(p0, "machine-config"))
			get_machine(r);
		else if (is(p0, "balloon") || is(p0, "cpu-config") || is(p0, "mmds"))
			unsupported(r, method, p0);
		else
			fault(r, "Invalid request method and/or path: %s %s.", method, p0);
		return;
	}
	if (is(method, "PUT")) {
		if (!have_body) {
			if (is(p0, "shutdown-internal"))
				fault(r, "Invalid request method and/or path: %s %s.", method, p0);
			else
				fault(r, "Empty PUT request.");
			return;
		}
		if (is(p0, "actions"))
			put_actions(r, &b);
		else if (is(p0, "boot-source"))
			put_boot_source(r, &b);
		else if (is(p0, "drives"))
			put_drive(r, &b, tok[1]);
		else if (is(p0, "logger"))
			put_logger(r, &b);
		else if (is(p0, "machine-config"))
			machine_config(r, &b, 0);
		else if (is(p0, "metrics"))
			put_metrics(r, &b);
		else if (is(p0, "network-interfaces"))
			put_net(r, &b, tok[1]);
		else if (is(p0, "snapshot"))
			put_snapshot(r, &b, tok[1]);
		else if (is(p0, "vsock"))
			put_vsock(r, &b);
		else if (is(p0, "entropy"))
			put_entropy(r, &b);
		else if (is(p0, "balloon") || is(p0, "mmds") || is(p0, "cpu-config") ||
		    (is(p0, "serial") && version_ge(1, 14)) || (is(p0, "pmem") && version_ge(1, 14)))
			unsupported(r, method, p0);
		else
			fault(r, "Invalid request method and/or path: %s %s.", method, p0);
		return;
	}
	if (is(method, "PATCH")) {
		if (!have_body) {
			fault(r, "Empty PATCH request.");
			return;
		}
		if (is(p0, "drives"))
			patch_drive(r, &b, tok[1]);
		else if (is(p0, "machine-config"))
			machine_config(r, &b, 1);
		else if (is(p0, "network-interfaces"))
			patch_net(r, &b, tok[1]);
		else if (is(p0, "vm"))
			patch_vm(r, &b);
		else if (is(p0, "balloon") || is(p0, "mmds"))
			unsupported(r, method, p0);
		else
			fault(r, "Invalid request method and/or path: %s %s.", method, p0);
		return;
	}
	fault(r, "Invalid request method and/or path: %s %s.", method, p0);
}
