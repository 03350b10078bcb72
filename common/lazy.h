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

/* Start it for firecracker fc_pid in dir; mem is a path it can open now.
 * Returns the pager's pid, or -1 with the message (log tail included). */
pid_t lazy_start(const char *dir, const char *mem, pid_t fc_pid, const char *log,
    int timeout_ms);

#endif
