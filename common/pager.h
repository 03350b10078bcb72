/* pager: a userfaultfd page server for one Firecracker VM (fc-pager).
 *
 *   struct pager p;
 *   pager_init(&p);
 *   pager_open(&p, mem, sock)   open the memory file (a regular file, ours,
 *                               not writable by others), map it read-only;
 *                               bind sock (mode 0600, in a directory that
 *                               is ours and not writable by others)
 *   pager_accept(&p, pid, ms)   take firecracker's one connection: its
 *                               peer pid must be pid (0: any); receive the
 *                               userfaultfd (SCM_RIGHTS) and the region
 *                               list, checked (below); watch the peer
 *                               through a pidfd
 *   pager_serve(&p)             answer faults until the VM exits (0) or
 *                               a fault cannot be served (-1)
 *   pager_free(&p)
 *
 * The region list is Firecracker's GuestRegionUffdMapping array:
 *   [{"base_host_virt_addr":A,"size":N,"offset":O
 *     [,"page_size_kib":4096]        1.7 .. (bytes, despite the name)
 *     [,"page_size":4096]}, ...]     1.10 ..
 * It is read whole (at most PAGER_MSG_MAX bytes) and refused unless every
 * region is page-aligned, non-empty, inside the memory file, and no two
 * regions overlap in host addresses or in the file; pages other than 4 KiB
 * (hugetlbfs) are refused.
 *
 * Serving: a missing-page fault is answered for the aligned block of
 * PAGER_BLOCK bytes around it (clipped to its region), one ioctl per run
 * of pages not served before: UFFDIO_ZEROPAGE for a run of holes only,
 * (the file's holes are looked up, SEEK_DATA/SEEK_HOLE, for a block
 * when it is first served: never for the whole file, whose extents can
 * number in the hundred thousands), else UFFDIO_COPY of the whole run from the mapped file (its holes read
 * as zeroes).  UFFD_EVENT_REMOVE (a
 * balloon giving memory back) marks the range removed: faults there are
 * answered with zeroes from then on.  A copy refused with EAGAIN (an event
 * is pending) is retried after the events are read.  A fault outside the
 * regions, or a failed ioctl, ends pager_serve with -1 and the message: a
 * VM whose fault is not answered hangs forever, so the caller kills it.
 */
#ifndef FCSNAP_PAGER_H
#define FCSNAP_PAGER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PAGER_MAX_REGIONS 16
#define PAGER_MSG_MAX 65536
#define PAGER_PAGE 4096
#define PAGER_BLOCK (64 * 1024)

struct pager_region {
	uint64_t base, size, off;
};

struct pager_stats {
	uint64_t faults;                /* fault messages answered */
	uint64_t copied, zeroed;        /* pages populated each way */
	uint64_t removes;               /* UFFD_EVENT_REMOVE messages */
	int64_t first_ns, last_ns;      /* first and last fault served */
	int64_t busy_ns;                /* time spent populating */
};

struct pager {
	int lfd, uffd, memfd, pidfd;
	pid_t peer;                     /* firecracker */
	const unsigned char *mem;       /* the memory file, mapped read-only */
	uint64_t mem_size, npages;
	unsigned char *data;            /* bitmap: file page has data */
	unsigned char *mapped;          /* bitmap: file block's data noted */
	unsigned char *served;          /* bitmap: page populated */
	unsigned char *removed;         /* bitmap: given back, zero from now */
	struct pager_region reg[PAGER_MAX_REGIONS];
	int nreg;
	char sock[4096];                /* bound path, unlinked by pager_free */
	struct pager_stats st;
	/* A remote source (fc-pager --pull, lazysrc.h), set before
	 * pager_open.  need(src, off, len) makes the file's bytes at
	 * [off, off+len) present before a block there is served: 0 they
	 * were, 1 some arrived (the holes of the chunk_size-aligned chunks
	 * around them are looked up again, when served), -1 never (message: the server
	 * reports it and fails, the VM is killed).  fill(src), run in a
	 * process of its own beside the server (cwd fill_dir), brings the
	 * rest; it returns 0 (done, or gave up and said why: the VM runs
	 * on) or 3 (failed for good, message set: the VM is killed).  Of
	 * the failures that kill the VM, the watcher prints the first. */
	int (*need)(void *src, uint64_t off, uint64_t len);
	int (*fill)(void *src);
	void *src;
	uint64_t chunk_size;
	const char *fill_dir;
	int report_fd;                  /* pager_run's: failures to the watcher */
	int64_t *last_fault;            /* now_ns() of the last fault served
					 * (or of pager_open), in memory shared
					 * with the fill */
	/* The working set (hint.h), set before pager_open: the file pages
	 * of the faults of the first hint_ms after the first one (at most
	 * HINT_MAX_PAGES) are handed to record(record_arg, pages, n),
	 * sorted, once: when the window ends, or when the VM exits before.
	 * Its failure is one line on stderr; serving goes on. */
	int (*record)(void *arg, const uint64_t *pages, size_t n);
	void *record_arg;
	long long hint_ms;
	uint64_t *hint;                 /* the pages noted, in fault order */
	size_t nhint;
	unsigned char *hinted;          /* bitmap: page noted */
	int64_t hint_end;               /* now_ns() the window ends (0: not begun) */
	int recorded;
	/* Blocks brought before they fault (a remote source with a format 2
	 * hint: lazysrc_prefetch), set with pager_prefetch after pager_open:
	 * npre PAGER_BLOCK-sized file blocks pre_blk (ascending), pre_mask[k]
	 * the non-zero pages of block k.  prefetch(src, pre, fd) runs in a
	 * process of its own, started before the server: it writes block k's
	 * pages at their file offsets in pre (memory shared with it, the
	 * memory file's size), then k on fd (a uint32; k | PAGER_PRE_FAILED
	 * when the block does not come).  A fault in block k waits for its
	 * word (at most pre_wait_ms) and is served from pre, whose copy of
	 * it is then dropped (MADV_REMOVE); a block that did not come, and a
	 * page of a served one that goes missing again, is served from the
	 * source as any other. */
	int (*prefetch)(void *src, unsigned char *pre, int fd);
	const uint64_t *pre_blk;
	const unsigned *pre_mask;
	size_t npre;
	unsigned char *pre;
	unsigned char *pre_state;       /* per block: 0 awaited, 1 here, 2 not
					 * (or no longer) there */
	int pre_fd;
	long long pre_wait_ms;
};

#define PAGER_PRE_FAILED 0x80000000u

void pager_init(struct pager *p);
int pager_open(struct pager *p, const char *mem, const char *sock);
int pager_accept(struct pager *p, pid_t pid, int timeout_ms);
int pager_serve(struct pager *p);
/* Set the prefetched blocks (above) up: 0 or -1. */
int pager_prefetch(struct pager *p, const uint64_t *blk, const unsigned *mask, size_t n,
    int (*prefetch)(void *, unsigned char *, int), long long wait_ms);
void pager_free(struct pager *p);

/* The whole life of fc-pager, after pager_open: writes "ready\n" to
 * ready_fd (when >= 0) and closes it, then forks (again for a fill and a
 * prefetch).  The child is the page
 * server (pager_accept, pager_serve).  This process watches it: when the
 * server is killed or fails, firecracker is killed at once (SIGKILL through
 * a pidfd, as its next fault would hang forever) and one line says why.
 * stats: the server prints what it served when the VM exits.  Returns the
 * program's exit status: 0 when the VM ended, 1 after a failure that
 * was reported; -1 (message set) when nothing could start. */
int pager_run(struct pager *p, pid_t pid, int accept_ms, int ready_fd, int stats);

/* Parse and check a region list (exposed for tests).  0 or -1. */
int pager_parse_regions(struct pager *p, const char *js, size_t n);

#endif
