/* restore: start a fresh firecracker in a new run dir and load a snapshot
 * into it -- the flow of fc-snap-restore, shared with fc-exec.
 *
 *   struct restore r;
 *   restore_init(&r);
 *   restore_check(&r, &o)   snapshot present, complete, loadable by the
 *                           firecracker binary on this CPU; nothing started
 *   restore_start(&r, &o)   run/<id>/ with vm.json, meta.json (a hard link
 *                           to the snapshot's) and the disk: a hard link
 *                           to the pinned inode when the snapshot's disk
 *                           is shared (m.disk_shared: read-only, 0400,
 *                           its mtime checked), else a private copy;
 *                           firecracker spawned there; snapshot loaded
 *                           (memory mapped from the store) -- paused, and
 *                           its devices checked (vmcheck.h) before the
 *                           guest runs, when the snapshot was not created
 *                           here (m.origin_create unset); resumed unless
 *                           o.paused; agent hello unless o.paused/no_hello
 *   restore_done(&r)        the handover (vm.h): the VM now belongs to the
 *                           caller: forget the cleanup guard, unlink
 *                           run/<id>/restoring, let go of the run dir's
 *                           lock (firecracker holds it on), close the API
 *                           client.  Call it once the caller has the id: a
 *                           restorer killed before it leaves an orphan that
 *                           the next vm_drop_dead reaps
 *   restore_free(&r)
 *
 * The snapshot directory is opened once and every file is read through
 * that fd (/proc/self/fd/N/..., and /proc/<our pid>/fd/N/... for
 * firecracker), so a refresh that replaces the snapshot meanwhile cannot
 * give the VM a disk from one generation and memory from another.  The
 * three files are opened at the check and used through their own fds, so
 * the refresh deleting the old generation cannot fail this restore; when
 * it deleted files between our opening the directory and them, the check
 * opens the snapshot again.
 *
 * Cleanup: restore_start registers the run dir and the firecracker pid
 * with the process-wide guard (fcproc.h).  When it fails it runs
 * guard_cleanup() itself (process killed, run dir removed) and returns -1
 * with the message set.  A caller that wants SIGINT/SIGTERM handled calls
 * guard_install() first (fc-snap-restore), or takes care itself (fc-exec).
 *
 * Every step's end is recorded in r.T (now_ns()); steps that did not run
 * stay 0.
 */
#ifndef FCSNAP_RESTORE_H
#define FCSNAP_RESTORE_H

#include <limits.h>
#include <stdint.h>

#include "fcargs.h"
#include "meta.h"
#include "store.h"
#include "runreg.h"
#include "fcproc.h"

struct restore_opts {
	const char *name;               /* the snapshot */
	const char *id;                 /* VM id; NULL: random */
	const char *firecracker;        /* binary, a name looked up in PATH or a path */
	long long timeout_ms;           /* each step: API socket, load, agent */
	int paused;                     /* leave it paused (implies no hello) */
	int no_hello;                   /* skip the agent hello */
	int lazy;                       /* memory served on demand by fc-pager
					 * (lazy.h): Uffd backend */
	const char *remote;             /* pull a missing snapshot from this
					 * s3:// URL (NULL: $FCSNAP_REMOTE) */
	char *const *fc_args;           /* host firecracker arguments (-F),
					 * after $FCSNAP_FIRECRACKER_ARGS and the
					 * harmless recorded ones (fcargs.h) */
	int nfc_args;
};

struct restore_times {
	int64_t start;                  /* restore_check called */
	int64_t check;                  /* snapshot checked */
	int64_t spawn;                  /* firecracker forked (it waits) */
	int64_t copy;                   /* run dir made, firecracker let go
					 * in it, disk linked (or copied) */
	int64_t ready;                  /* its API socket answers */
	int64_t load;                   /* snapshot loaded (and resumed) */
	int64_t agent;                  /* agent hello answered (0: not sent) */
	int64_t record;                 /* ns spent in vm_create_for */
};

struct restore {
	struct store st;
	struct meta m;                  /* the snapshot's meta.json */
	struct vm vm;                   /* the new VM (vm.id, vm.dir, vm.vsock...) */
	struct vmm vmm;                 /* vmm.pid: firecracker, our child */
	int snapfd;
	int filefd[3];                  /* vmstate, mem, rootfs.ext4, open from
					 * snapfd: they outlive a refresh that
					 * deletes this generation meanwhile */
	pid_t pager;                    /* o.lazy: fc-pager, our child */
	char pulldir[PATH_MAX];         /* o.lazy of a snapshot not in the
					 * store: the lazy pull (pull_lazy) the
					 * VM runs from, and */
	char *remote_url;               /* its remote (NULL: a local restore) */
	int copy_kind;                  /* COPY_LINK, COPY_REFLINK or
					 * COPY_SPARSE (copy.h) */
	char fc_bin[PATH_MAX];
	struct fcargs fc_args;          /* what firecracker gets (fcargs.h) */
	struct restore_times T;
};

void restore_init(struct restore *r);
/* Make sure snapshot name is in the local store: present, 0; missing with
 * remote (or $FCSNAP_REMOTE) set, pull it (pull.h); else -1 with "no
 * snapshot named X in DIR: create it with fc-snap-create ...". */
int restore_ensure_present(const struct store *st, const char *name, const char *remote);
/* Checks before anything starts (store_init included); says in one line
 * on stderr which recorded firecracker arguments it drops.  With o.lazy,
 * a snapshot missing from the store while a remote is set is made ready
 * for a lazy remote restore (pull.h: pull_lazy) and read from that pull
 * dir; fc-pager fetches its memory, and publishes it once complete.
 * 0 or -1. */
int restore_check(struct restore *r, const struct restore_opts *o);
/* The restore itself (after restore_check).  0, or -1 with everything
 * made so far removed. */
int restore_start(struct restore *r, const struct restore_opts *o);
/* Hand the running VM to the caller (it is no longer guarded). */
void restore_done(struct restore *r);
/* For agent_connect_watch: is r's firecracker gone?  1 with "firecracker
 * exited ...; log: ..." (it is reaped), else 0. */
int restore_fc_gone(void *r);
void restore_free(struct restore *r);

/* The steps in order: check (start..check), spawn (check..spawn), copy
 * (spawn..copy), socket (copy..ready), load (ready..load), agent
 * (load..agent).  Milliseconds from a to b (0 when either is unset or
 * b < a). */
double restore_ms(int64_t a, int64_t b);

#endif
