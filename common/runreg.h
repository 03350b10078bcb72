/* runreg: the registry of restored VMs, run/<id>/ in the store, and who
 * owns them (its functions and struct vm keep the vm_ prefix).
 *
 *   run/<id>/vm.json     this module's record (written atomically)
 *   run/<id>/restoring   exists while the restore that made the dir runs
 *   run/<id>/api.sock    the firecracker API socket
 *   run/<id>/v.sock      the vsock Unix socket (the snapshot's relative path)
 *   run/<id>/...         whatever the restore puts there (disk copy, log)
 *   run/.tmp-<pid>-<id>/ a run dir being created by process <pid>
 *
 * Ownership.  A run dir is owned through flock(2) on the directory itself
 * (LOCK_EX on an O_DIRECTORY fd), never through a pid:
 *   - vm_create makes run/.tmp-<pid>-<id>/, locks it, writes vm.json and
 *     run/<id>/restoring (its own flock held, close-on-exec), and only then
 *     renames it to run/<id>: there is no instant at which run/<id> exists
 *     unlocked while its restore runs.
 *   - firecracker inherits the locked fd (vmm_opts.keep_fd: the one fd left
 *     open across exec), so the lock's open file description is shared by
 *     the restorer and firecracker: the VM is alive exactly while either of
 *     them runs.  firecracker keeps inherited fds (the jailer closes them:
 *     running it under the jailer is not supported).
 *   - the handover (vm_handover, after the caller has the id) unlinks
 *     "restoring" and closes it.  A restorer that dies before it (SIGKILL)
 *     leaves "restoring" linked with its lock free: the VM is an orphan,
 *     and the next vm_drop_dead (fc-ps, fc-kill, fc-exec -v...) kills its
 *     firecracker and removes the dir.
 * States (vm_probe), decided from the locks at the moment of the call:
 *   VM_DEAD      the run-dir lock is free: nothing of the VM runs
 *   VM_STARTING  lock held, restoring exists and its lock is held
 *   VM_ORPHAN    lock held, restoring still linked, its lock free
 *   VM_RUNNING   lock held, restoring unlinked (handed over)
 * A run dir is removed only by a process holding its lock (after checking
 * that the path still names the dir it locked), or by its restorer.
 *
 * Processes.  vm.json's pid is only a hint.  A process is taken for the
 * VM's firecracker when its cwd is the run dir AND it holds an fd on the
 * run dir (the inherited lock); a restorer when it holds an fd on
 * "restoring".  Both are checked through a pidfd taken first and found
 * still alive after the check, and signals go through that pidfd, so a
 * reused pid or an edited vm.json can never turn a signal against another
 * process.  When the hint fails the proof (vm.json damaged or edited, pid
 * not recorded yet), /proc is scanned for the process that passes it.
 *
 * vm.json: {"format":1,"id":..,"snapshot":..,"pid":N,"pid_start":N,
 *   "owner_pid":N,"owner_start":N,"created_at":"..Z","created_ms":N,
 *   "api_sock":"/abs/..","vsock":"/abs/..","agent_port":N}
 * pid is the firecracker process (0 until it is spawned), pid_start its
 * start time (field 22 of /proc/PID/stat); owner the restorer.  For display
 * and as hints only.
 *
 * Restore:  vmm_fork (firecracker-to-be, waiting: its pid is known);
 *           vm_create_for(&st, id_or_NULL, snap, pid, &vm) -> locked run
 *           dir, vm.json written once; vmm_go(vm.dirfd): it enters the
 *           dir, keeps the lock fd and execs; link the disk ...
 *           (or: vm_create, spawn with keep_fd vm.dirfd, vm_set_pid)
 *           print the id; vm_handover(&vm); ... vm_close(&vm)
 *           on failure: kill firecracker, remove vm.dir (guard, fcproc.h)
 * fc-exec:  vm_load(&st, id, &vm); vm_alive(&vm); connect to vm.vsock.
 */
#ifndef FCSNAP_RUNREG_H
#define FCSNAP_RUNREG_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include "store.h"

#define VM_ID_MAX 63

enum vm_state { VM_DEAD, VM_STARTING, VM_ORPHAN, VM_RUNNING };

struct vm {
	char id[VM_ID_MAX + 1];
	char snapshot[64];
	pid_t pid;                  /* firecracker (a hint); 0 = not spawned yet */
	uint64_t pid_start;         /* its start time, clock ticks since boot */
	pid_t owner_pid;            /* the restorer (a hint) */
	uint64_t owner_start;
	char created_at[32];        /* RFC 3339 UTC */
	int64_t created_ms;         /* unix ms */
	uint32_t agent_port;
	char dir[PATH_MAX];         /* root/run/<id> */
	char api_sock[PATH_MAX];    /* dir/api.sock */
	char vsock[PATH_MAX];       /* dir/v.sock */
	int damaged;                /* vm_list: vm.json unreadable, */
	char damage[256];           /* and why */
	enum vm_state state;        /* vm_list: vm_probe at listing time */
	int dirfd;                  /* vm_create: the locked run dir (>= 3), else -1 */
	int ownfd;                  /* vm_create: "restoring" until the handover, else -1 */
};

/* Check an id (same rules as snapshot names). 0 or -1. */
int vm_id_check(const char *id);
/* A fresh random id: 8 hex digits from getrandom. out needs 9 bytes. */
int vm_id_new(char *out, size_t n);

/* Create run/<id> (id NULL: a fresh random one), locked by v->dirfd, with
 * vm.json (pid 0, owner = this process) and "restoring" (v->ownfd).
 * Creates the store dirs when run/ is missing (the store as store_init
 * checked it: its safety is not checked again).  -1 with "VM id X is in use" when
 * run/<id> exists and is not dead; a dead entry of that id is replaced. */
int vm_create(const struct store *s, const char *id, const char *snapshot, struct vm *v);
/* The same with firecracker's pid (and its start time) in vm.json from
 * the start: it was forked already and waits for the run dir (vmm_fork),
 * so vm.json is written once. */
int vm_create_for(const struct store *s, const char *id, const char *snapshot, pid_t pid,
    struct vm *v);
/* Record the firecracker pid (reads its start time) and rewrite vm.json. */
int vm_set_pid(struct vm *v, pid_t pid);
/* The VM now belongs to the caller: unlink "restoring", close v->ownfd.
 * The run-dir lock (v->dirfd) stays held until vm_close. */
void vm_handover(struct vm *v);
/* Close v's fds (the VM lives on while its firecracker holds the lock). */
void vm_close(struct vm *v);
/* Rewrite vm.json from v (atomic). */
int vm_save(const struct vm *v);
/* Read run/<id>/vm.json. -1 with "no VM with id X" when run/<id> is
 * missing, or "VM X: vm.json is damaged: ..." (v->dir is set then). */
int vm_load(const struct store *s, const char *id, struct vm *v);

/* The VM's state now, from its locks (see above); VM_DEAD when the run
 * dir is gone. */
enum vm_state vm_probe(const struct vm *v);
/* vm_probe is VM_STARTING or VM_RUNNING. 1 or 0. */
int vm_alive(const struct vm *v);
/* For agent_connect_watch: has VM v (a const struct vm *) stopped?  1
 * with "VM X stopped (its firecracker exited or was killed)", else 0. */
int vm_gone(void *v);
/* A process's start time (field 22 of /proc/PID/stat) and state letter
 * (field 3; may be NULL). 0, or -1 when there is no such process. */
int proc_start_time(pid_t pid, uint64_t *start, char *state);

/* Every VM in run/, sorted by id, with v.state probed; damaged entries
 * have v.damaged set and v.damage holding the reason (only id, dir and
 * state are filled then).  Returns the count and a malloc'd array in *out
 * (free()), or -1. */
int vm_list(const struct store *s, struct vm **out);

/* Stop the VM and remove its run dir: a restorer still at work gets
 * SIGTERM (it cleans up itself); the proven firecracker gets SIGTERM, then
 * SIGKILL after grace_ms; once the run-dir lock is free the dir is
 * removed.  Works from the run dir alone (vm.json damaged: only id and dir
 * needed).  -1 when a process holding the dir cannot be proven to be the
 * VM's (nothing is signalled then) or does not let go. */
int vm_destroy(struct vm *v, long long grace_ms);
/* Remove dead run dirs, reap orphans (firecracker killed, dir removed),
 * and remove run/.tmp-* dirs of dead creators.  Returns the number
 * removed, or -1. */
int vm_drop_dead(const struct store *s);
/* Remove run/.tmp-<pid>-* dirs whose process is gone (a restore or create
 * killed with SIGKILL). Returns how many. */
int vm_drop_stale_tmp(const struct store *s);

#endif
