/* create: make a snapshot, by cold-booting a VM from a kernel and a rootfs
 * (or from a VM that fc-snap-restore started, o.from_vm), waiting for its
 * agent, syncing, pausing and snapshotting it; then publish it atomically
 * into the local store -- the engine of fc-snap-create.
 *
 *   create_init(&o)         copies o; guard_install(): from here a signal
 *                           cleans up (a download too)
 *   create_check()          "[1/N] Checking inputs": rootfs, initrd, --tap,
 *                           --mac, the store, firecracker and the kernel
 *                           (fetched when missing unless o.no_fetch; last,
 *                           so a bad call downloads nothing).  0 or -1;
 *                           nothing started
 *   lock = create_lock()    the store's lock of o.name (store_lock: waits
 *                           with o.wait); -1 with the message when held
 *   create_run()            the work dirs, then the flow:
 *     cold boot:  copy the rootfs into snapshots/.tmp-<name>-XXXXXX (the
 *                 snapshot temp dir, firecracker's cwd), spawn firecracker
 *                 (API socket and console log in the private work dir
 *                 run/.tmp-<pid>-create-XXXXXX), configure, InstanceStart;
 *                 wait for the agent on vsock (in slices, so a firecracker
 *                 that dies is noticed at once), hello, ping, sync; pause;
 *                 snapshot; kill firecracker; keep only vmstate, mem (0600)
 *                 and rootfs.ext4; meta.json; publish
 *     --from-vm:  the source's meta (its run dir's, else its snapshot's);
 *                 attach to its firecracker; sync the guest when it runs;
 *                 pause, copy its disk, snapshot with absolute paths (its
 *                 cwd is the VM's run dir), resume with o.resume_source;
 *                 on failure the source is resumed when it was running
 *     publishing: store_publish, one atomic rename, signals blocked
 *   store_unlock(lock)
 *   create_print_result()   the name, or with o.json one JSON record:
 *                           {"name","dir","created_at","firecracker_version",
 *                           "cpu_vendor","mem_mib","vcpus",["from_vm"],
 *                           "rootfs_copy":"reflink"|"sparse","files":{
 *                           "vmstate":{"size"},"mem":{"size","disk"},
 *                           "rootfs.ext4":{"size","disk"}},"times_ms":{
 *                           "copy","boot","agent","snapshot","publish",
 *                           "total"}}
 *   create_free()
 *
 * Progress ("[n/N] step... (Ns)") goes to stderr with o.verbose or when
 * stderr is a terminal.
 *
 * Failure inside create_run does not return: everything made so far is
 * removed (guard_cleanup) and the program dies with the message
 * ("prog: msg", exit 1); when the guest agent never answered, the last
 * lines of the guest console follow, each indented by "  | ".
 *
 * Cleanup: the firecracker pid, the snapshot temp dir and the private work
 * dir (API socket, console log) are registered with guard (fcproc.h), which
 * removes them on any error path and on SIGINT/SIGTERM/SIGHUP.  The lock
 * is an flock: it goes with the process.  One create per process.
 */
#ifndef FCSNAP_CREATE_H
#define FCSNAP_CREATE_H

#include "meta.h"

#define CREATE_BOOT_ARGS "console=ttyS0 reboot=k panic=1 pci=off"

struct create_opts {
	const char *name;               /* the snapshot */
	const char *rootfs, *kernel;    /* cold boot: the files (kernel NULL:
					 * the default, fetched when missing) */
	const char *firecracker;        /* NULL: the default (fcbin.h) */
	const char *initrd;             /* or NULL */
	const char *boot_args;          /* appended to CREATE_BOOT_ARGS */
	const char *boot_args_replace;  /* the whole command line instead */
	const char *run_command;        /* fc-exec's default command: words
					 * split by blanks, '...' and "..."
					 * quote, \ escapes */
	const char *tap, *mac;          /* a network interface (or NULL) */
	const char *from_vm;            /* snapshot this running VM instead */
	char *fc_args[META_MAX_ARGS];   /* extra firecracker arguments */
	int nfc_args;
	long long mem, vcpus, port;     /* MiB, vCPUs, the agent's vsock port */
	long long timeout_ms;           /* the agent wait, and each API call */
	int wait, verbose, json, resume_source, no_fetch;
	int boot_flags;                 /* cold-boot-only flags were given */
};

void create_init(const struct create_opts *o);
int create_check(void);
int create_lock(void);
void create_run(void);
void create_print_result(void);
void create_free(void);

#endif
