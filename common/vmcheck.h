/* vmcheck: the devices a snapshot's vmstate gave firecracker, checked
 * before its guest runs.
 *
 * A vmstate names host resources: each drive's path_on_host (opened by
 * firecracker as root, read-write unless is_read_only), the vsock's Unix
 * socket, network taps, pmem files.  A vmstate from a bucket is written by
 * whoever can write the bucket, so a restore of a snapshot fcsnap did not
 * create here loads it paused (resume_vm false), reads GET /vm/config and
 * lets the guest run only if its devices are exactly the ones fc-snap-create
 * configures: one drive "rootfs" at "rootfs.ext4" (the run dir's disk),
 * read-only when the snapshot's disk is shared; the vsock at "v.sock"; no
 * network interface, no pmem; nothing else that names a host path. */
#ifndef FCSNAP_VMCHECK_H
#define FCSNAP_VMCHECK_H

#include <stddef.h>

struct vmcheck_want {
	int disk_ro;            /* the drive must be read-only (shared disk) */
};

/* 0 if the len bytes of JSON (a GET /vm/config answer) describe only
 * the devices above; -1 with the reason, naming the device and what it
 * asks for: "drive rootfs is at /dev/sda, not rootfs.ext4". */
int vmcheck_config(const char *json, size_t len, const struct vmcheck_want *w);

#endif
