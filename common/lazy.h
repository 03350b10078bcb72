/* lazy: the page server of a lazy restore (fc-pager, see pager.h).
 *
 * lazy_start runs `fc-pager -m MEM -s pager.sock -p PID` in the VM's run
 * dir, in a session of its own (it lives as long as the VM, not as long as
 * us), its stderr appended to the VM's log, and waits until it listens.
 * The VM is then loaded with mem_backend {"backend_type":"Uffd",
 * "backend_path": LAZY_SOCK} (relative: firecracker runs in the run dir
 * too, and the path stays short); with --stats, so the log tells what was
 * served when the VM exits.  fc-pager exits when firecracker exits,
 * and kills firecracker when its page server dies; a failed restore that
 * kills firecracker therefore needs no cleanup of its own here.
 *
 * The binary: $FCSNAP_PAGER, else fc-pager next to the running program,
 * else PATH.
 */
#ifndef FCSNAP_LAZY_H
#define FCSNAP_LAZY_H

#include <sys/types.h>

#define LAZY_SOCK "pager.sock"

/* A lazy VM's run dir has LAZY_MARK ("Uffd\n"), written before the
 * pager starts, so fc-ps can tell a lazy VM whose pager is gone. */
#define LAZY_MARK "backend"

/* Is the VM of run dir dir lazy?  1 yes, 0 no. */
int lazy_is(const char *dir);
/* The fc-pager processes running in dir (their cwd), at most max into
 * pids; returns how many. */
int lazy_pagers(const char *dir, pid_t *pids, int max);

/* fc-kill's part: lazy_hold takes pidfds of the pagers working in dir
 * (before the VM is stopped); lazy_reap, after, waits up to grace_ms for
 * them to follow their VM, SIGKILLs those that did not, and closes the
 * pidfds. */
int lazy_hold(const char *dir, int *pidfds, int max);
void lazy_reap(int *pidfds, int n, long long grace_ms);

/* Start it for firecracker fc_pid in dir; mem is a path it can open now.
 * Returns the pager's pid, or -1 with the message (log tail included). */
pid_t lazy_start(const char *dir, const char *mem, pid_t fc_pid, const char *log,
    int timeout_ms);
/* The same for a lazy remote restore: `fc-pager --pull PULLDIR --remote
 * URL ...`, which fetches the memory's chunks into the pull dir (its
 * credentials from the environment, as every S3 client of the suite). */
pid_t lazy_start_remote(const char *dir, const char *pull, const char *url, pid_t fc_pid,
    const char *log, int timeout_ms);

#endif
