/* Unit tests for common/vmcheck.c: which GET /vm/config answers let a
 * snapshot from elsewhere run, and the reason given for each refusal. */
#include "tap.h"
#include "util.h"
#include "vmcheck.h"

#include <stdio.h>
#include <string.h>

#define DRIVE(ro, path) "{\"drive_id\":\"rootfs\",\"partuuid\":null,\"is_root_device\":true," \
	"\"cache_type\":\"Unsafe\",\"is_read_only\":" ro ",\"path_on_host\":\"" path "\"," \
	"\"rate_limiter\":null,\"io_engine\":\"Sync\",\"socket\":null}"
#define VSOCK(path) "{\"guest_cid\":3,\"uds_path\":\"" path "\",\"vsock_id\":\"vsock\"}"
#define CFG(drives, nets, vsock, extra) "{\"balloon\":null,\"drives\":[" drives "]," \
	"\"boot-source\":null,\"cpu-config\":null,\"logger\":null,\"machine-config\":" \
	"{\"vcpu_count\":1,\"mem_size_mib\":512,\"smt\":false},\"metrics\":null," \
	"\"mmds-config\":null,\"network-interfaces\":[" nets "],\"vsock\":" vsock extra "}"
#define GOOD_RO CFG(DRIVE("true", "rootfs.ext4"), "", VSOCK("v.sock"), "")

static int
check(const char *js, int ro)
{
	struct vmcheck_want w = { 0 };

	w.disk_ro = ro;
	return vmcheck_config(js, strlen(js), &w);
}

/* refused JS RO WANT: refused, and the reason holds WANT */
static void
refused(const char *js, int ro, const char *want, const char *name)
{
	int r = check(js, ro);

	ok(r < 0 && strstr(errmsg(), want) != NULL, "%s: %s", name, r < 0 ? errmsg() : "accepted");
}

int
main(void)
{
	ok(check(GOOD_RO, 1) == 0, "fc-snap-create's devices, shared disk: accepted");
	ok(check(CFG(DRIVE("false", "rootfs.ext4"), "", VSOCK("v.sock"), ""), 0) == 0,
	    "a copy disk may be read-write");
	ok(check(CFG(DRIVE("true", "rootfs.ext4"), "", "null", ",\"entropy\":{\"rate_limiter\":null},"
	    "\"pmem\":[],\"memory-hotplug\":null"), 1) == 0,
	    "no vsock, an entropy device, empty pmem: accepted");
	ok(check(CFG(DRIVE("true", "rootfs.ext\\u0034"), "", VSOCK("v.sock"), ""), 1) == 0,
	    "the path is compared decoded, as firecracker reads it");
	refused(CFG(DRIVE("false", "rootfs.ext4"), "", VSOCK("v.sock"), ""), 1,
	    "drive rootfs is read-write", "a shared disk attached read-write");
	refused(CFG("{\"drive_id\":\"rootfs\",\"path_on_host\":\"rootfs.ext4\"}", "",
	    VSOCK("v.sock"), ""), 1, "read-write", "a shared disk with no is_read_only");
	refused(CFG(DRIVE("true", "/dev/sda"), "", VSOCK("v.sock"), ""), 1,
	    "drive rootfs is at '/dev/sda', not rootfs.ext4", "a drive at a host path");
	refused(CFG(DRIVE("true", "../../../etc/shadow"), "", VSOCK("v.sock"), ""), 1,
	    "is at '../../../etc/shadow'", "a drive out of the run dir");
	refused(CFG(DRIVE("true", "rootfs.ext4") "," DRIVE("true", "rootfs.ext4"), "",
	    VSOCK("v.sock"), ""), 1, "it has 2 drives", "two drives");
	refused(CFG("", "", VSOCK("v.sock"), ""), 1, "it has 0 drives", "no drive");
	refused(CFG("{\"drive_id\":\"rootfs\",\"is_read_only\":true,\"path_on_host\":\"rootfs.ext4\","
	    "\"socket\":\"/run/vhost.sock\"}", "", VSOCK("v.sock"), ""), 1,
	    "vhost-user socket", "a vhost-user drive");
	refused(CFG(DRIVE("true", "rootfs.ext4"), "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\"}",
	    VSOCK("v.sock"), ""), 1, "host network interfaces", "a tap");
	refused(CFG(DRIVE("true", "rootfs.ext4"), "", VSOCK("/etc/nologin"), ""), 1,
	    "its vsock socket is '/etc/nologin'", "a vsock socket elsewhere");
	refused(CFG(DRIVE("true", "rootfs.ext4"), "", VSOCK("v.sock"),
	    ",\"pmem\":[{\"id\":\"p\",\"path_on_host\":\"/etc/shadow\"}]"), 1,
	    "a 'pmem' device", "a pmem device");
	refused(CFG(DRIVE("true", "rootfs.ext4"), "", VSOCK("v.sock"),
	    ",\"future-device\":{\"path\":\"/x\"}"), 1, "a 'future-device' device",
	    "an unknown device with content");
	ok(check(CFG(DRIVE("true", "rootfs.ext4"), "", VSOCK("v.sock"),
	    ",\"future-device\":null"), 1) == 0, "an unknown key that is null: accepted");
	refused("{\"driv\\u0065s\":[{\"path_on_host\":\"/dev/sda\"}]}", 1, "device",
	    "a key spelled with an escape is not taken for a harmless one");
	refused("[1,2]", 1, "not a JSON object", "not an object");
	refused("{\"drives\":[", 1, "GET /vm/config", "truncated");
	return done_testing();
}
