/* reaper: the guard of a throw-away VM that works even when its owner is
 * killed with SIGKILL (fc-exec -s).
 *
 *   reaper_start(&st, id)   before the VM is restored as run/<id>/: forks
 *                           the reaper (its own session, named
 *                           fc-exec-reaper) holding the read end of a pipe
 *                           whose write end only the caller holds
 *   ... restore, run ...
 *   reaper_finish(keep)     keep 0: the reaper removes the VM; 1: it
 *                           leaves it alone (--keep, or the caller has
 *                           already removed it); waits for the reaper
 *
 * When the pipe reaches EOF -- the caller finished, failed, was
 * interrupted, or was killed -- the reaper kills the VM's firecracker and
 * removes its run dir (and run/.tmp-<caller pid>-<id>, a run dir being
 * made), unless the caller wrote 'K' (reaper_finish(1)) first.  A caller
 * that calls reaper_finish on every path it controls knows the VM is gone
 * when it exits; when it is killed, the VM follows within milliseconds.
 * vm_destroy finds the firecracker through the run dir's lock, also when
 * the caller died before recording its pid (runreg.h).  Only an entry
 * whose owner_pid is the caller is touched (an id someone else holds is
 * not).  A caller cut short while restoring closes its hold on the run dir
 * (vm_close) before reaper_finish, so the reaper finds an orphan, not a
 * restore at work.
 *
 * The reaper is a sentinel (sentinel.h).  One reaper per process;
 * reaper_finish is async-signal-safe (a signal handler may call it) and
 * does nothing without a reaper.
 */
#ifndef FCSNAP_REAPER_H
#define FCSNAP_REAPER_H

#include "store.h"

/* 0, or -1 (pipe/fork failed; message set). */
int reaper_start(const struct store *st, const char *id);
void reaper_finish(int keep);
/* reaper_finish without the wait, so the reaper exits while the caller
 * goes on; reaper_finish then only waits. */
void reaper_release(int keep);

#endif
