/* runreg: the registry of restored VMs, run/<id>/ in the store (its
 * functions and struct vm keep the vm_ prefix).
 *
 *   run/<id>/vm.json     this module's state file (written atomically)
 *   run/<id>/api.sock    the firecracker API socket
 *   run/<id>/v.sock      the vsock Unix socket (the snapshot's relative path)
 *   run/<id>/...         whatever the restore puts there (disk copy, log)
 *   run/.tmp-<pid>-<id>/ a run dir being created by process <pid>
 *
 * vm.json: {"format":1,"id":..,"snapshot":..,"pid":N,"pid_start":N,
 *   "owner_pid":N,"owner_start":N,"created_at":"..Z","created_ms":N,
 *   "api_sock":"/abs/..","vsock":"/abs/..","agent_port":N}
 * pid is the firecracker process (0 until it is spawned); pid_start its
 * start time (field 22 of /proc/PID/stat), so a reused pid is never taken
 * for ours.  owner is the process that created the entry (fc-snap-restore):
 * while pid is 0 the entry is alive as long as its owner is.
 *
 * Restore:  vm_create(&st, id_or_NULL, snap, &vm)  -> run dir with vm.json
 *           ... copy the disk into vm.dir, spawn firecracker (cwd vm.dir) ...
 *           vm_set_pid(&vm, pid)                    -> recorded
 *           on failure: vm_destroy(&vm, grace_ms)   -> killed and removed
 * fc-exec:  vm_load(&st, id, &vm); connect to vm.vsock (port vm.agent_port).
 */
#ifndef FCSNAP_RUNREG_H
#define FCSNAP_RUNREG_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include "store.h"

#define VM_ID_MAX 63

struct vm {
	char id[VM_ID_MAX + 1];
	char snapshot[64];
	pid_t pid;                  /* firecracker; 0 = not spawned yet */
	uint64_t pid_start;         /* its start time, clock ticks since boot */
	pid_t owner_pid;            /* the process that created the entry */
	uint64_t owner_start;
	char created_at[32];        /* RFC 3339 UTC */
	int64_t created_ms;         /* unix ms */
	uint32_t agent_port;
	char dir[PATH_MAX];         /* root/run/<id> */
	char api_sock[PATH_MAX];    /* dir/api.sock */
	char vsock[PATH_MAX];       /* dir/v.sock */
	int damaged;                /* vm_list: vm.json unreadable, */
	char damage[256];           /* and why */
};

/* Check an id (same rules as snapshot names). 0 or -1. */
int vm_id_check(const char *id);
/* A fresh random id: 8 hex digits from getrandom. out needs 9 bytes. */
int vm_id_new(char *out, size_t n);

/* Create run/<id> (id NULL: a fresh random one) holding vm.json with
 * pid 0 and owner = this process.  Creates the store dirs if needed.
 * -1 with "VM id X is in use" when run/<id> exists and its process runs
 * (or its vm.json is damaged); a dead entry of that id is replaced. */
int vm_create(const struct store *s, const char *id, const char *snapshot, struct vm *v);
/* Record the firecracker pid (reads its start time) and rewrite vm.json. */
int vm_set_pid(struct vm *v, pid_t pid);
/* Rewrite vm.json from v (atomic). */
int vm_save(const struct vm *v);
/* Read run/<id>/vm.json. -1 with "no VM with id X" when run/<id> is
 * missing, or "VM X: vm.json is damaged: ..." */
int vm_load(const struct store *s, const char *id, struct vm *v);

/* Is the VM's process running?  pid set: pid exists, is not a zombie and
 * its start time matches.  pid 0: the same test on the owner. 1 or 0. */
int vm_alive(const struct vm *v);
/* A process's start time (field 22 of /proc/PID/stat) and state letter
 * (field 3; may be NULL). 0, or -1 when there is no such process. */
int proc_start_time(pid_t pid, uint64_t *start, char *state);

/* Every VM in run/, sorted by id; damaged entries have v.damaged set and
 * v.damage holding the reason (only id and dir are filled then).  Returns
 * the count and a malloc'd array in *out (free()), or -1. */
int vm_list(const struct store *s, struct vm **out);

/* Stop the VM: SIGTERM to its process (firecracker, or the owner while
 * firecracker is not recorded yet), wait up to grace_ms for it to exit,
 * then SIGKILL and wait; then rm -rf its run dir.  A VM whose process is
 * already gone (or whose pid was reused) is only removed.  0 or -1. */
int vm_destroy(struct vm *v, long long grace_ms);
/* Remove run dirs whose process is gone (and stale run/.tmp-* dirs of dead
 * creators).  Damaged entries are kept (fc-kill removes them).  Returns the
 * number removed, or -1. */
int vm_drop_dead(const struct store *s);
/* Remove run/.tmp-<pid>-* dirs whose process is gone (a restore or create
 * killed with SIGKILL). Returns how many. */
int vm_drop_stale_tmp(const struct store *s);

#endif
