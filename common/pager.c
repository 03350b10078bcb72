/* pager: a userfaultfd page server for one Firecracker VM.  See pager.h. */
#include "pager.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hint.h"
#include "json.h"
#include "util.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define MAX_FDS 4
#define EXIT_GAVE_UP 2          /* the fill stopped; the VM runs on */
#define EXIT_REPORTED 3         /* failed, said why: kill the VM quietly */
#define MAX_DEFER 1024

#define BLOCK_PAGES (PAGER_BLOCK / PAGER_PAGE)

#define BIT(m, i) ((m)[(i) >> 3] & (1u << ((i) & 7)))
#define SET(m, i) ((m)[(i) >> 3] |= (unsigned char)(1u << ((i) & 7)))
#define CLR(m, i) ((m)[(i) >> 3] &= (unsigned char)~(1u << ((i) & 7)))

void
pager_init(struct pager *p)
{
	memset(p, 0, sizeof *p);
	p->lfd = p->uffd = p->memfd = p->pidfd = p->report_fd = p->pre_fd = -1;
}

void
pager_free(struct pager *p)
{
	if (p->lfd >= 0)
		close(p->lfd);
	if (p->sock[0])
		unlink(p->sock);
	if (p->uffd >= 0)
		close(p->uffd);
	if (p->memfd >= 0)
		close(p->memfd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	if (p->mem)
		munmap((void *)(uintptr_t)p->mem, p->mem_size);
	if (p->last_fault)
		munmap(p->last_fault, sizeof *p->last_fault);
	if (p->pre)
		munmap(p->pre, p->mem_size);
	if (p->pre_fd >= 0)
		close(p->pre_fd);
	free(p->pre_state);
	free(p->data);
	free(p->mapped);
	free(p->served);
	free(p->removed);
	free(p->hint);
	free(p->hinted);
	pager_init(p);
}

/* ---- the memory file ---- */

static int
unsafe_mode(const struct stat *st)
{
	return (st->st_uid != geteuid() && st->st_uid != 0) || (st->st_mode & 022);
}

/* Note which pages of [from, to) (bytes) hold data; the rest are holes. */
static int
map_data(struct pager *p, uint64_t from, uint64_t to)
{
	off_t d, h = (off_t)from;
	uint64_t i;

	for (i = from / PAGER_PAGE; i < p->npages && i * PAGER_PAGE < to; i++)
		CLR(p->data, i);
	for (;;) {
		d = lseek(p->memfd, h, SEEK_DATA);
		if ((d < 0 && errno == ENXIO) || (d >= 0 && (uint64_t)d >= to))
			return 0;
		if (d < 0)
			return fail_errno("memory file: SEEK_DATA");
		h = lseek(p->memfd, d, SEEK_HOLE);
		if (h < 0)
			return fail_errno("memory file: SEEK_HOLE");
		for (i = (uint64_t)d / PAGER_PAGE; i < p->npages &&
		    i * PAGER_PAGE < (uint64_t)h && i * PAGER_PAGE < to; i++)
			SET(p->data, i);
	}
}

static int
open_mem(struct pager *p, const char *mem)
{
	struct stat st;
	size_t bm;
	void *m;

	p->memfd = open(mem, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (p->memfd < 0)
		return fail_errno("memory file %s", mem);
	if (fstat(p->memfd, &st) < 0)
		return fail_errno("memory file %s", mem);
	if (!S_ISREG(st.st_mode))
		return fail("memory file %s is not a regular file", mem);
	if (unsafe_mode(&st))
		return fail("memory file %s: unsafe owner or mode (uid %ld, mode %03o): it must "
		    "be ours and not writable by others", mem, (long)st.st_uid,
		    (unsigned)st.st_mode & 0777);
	if (st.st_size <= 0 || st.st_size % PAGER_PAGE)
		return fail("memory file %s is %lld bytes: not a whole number of 4 KiB pages",
		    mem, (long long)st.st_size);
	p->mem_size = (uint64_t)st.st_size;
	p->npages = p->mem_size / PAGER_PAGE;
	m = mmap(NULL, p->mem_size, PROT_READ, MAP_SHARED, p->memfd, 0);
	if (m == MAP_FAILED)
		return fail_errno("memory file %s: mmap", mem);
	p->mem = m;
	bm = (size_t)(p->npages + 7) / 8;
	p->data = calloc(1, bm);
	p->served = calloc(1, bm);
	p->removed = calloc(1, bm);
	p->mapped = calloc(1, (size_t)(p->npages / BLOCK_PAGES + 8) / 8);
	if (!p->data || !p->served || !p->removed || !p->mapped)
		return fail("memory file %s: out of memory", mem);
	if (p->record) {
		p->hint = malloc(HINT_MAX_PAGES * sizeof *p->hint);
		p->hinted = calloc(1, bm);
		if (!p->hint || !p->hinted)
			return fail("memory file %s: out of memory", mem);
	}
	return 0;
}

/* Note the data pages of the file blocks over file pages [fp, fp + n)
 * not noted yet (one SEEK_DATA/SEEK_HOLE walk a run of them). */
static int
map_blocks(struct pager *p, uint64_t fp, uint64_t n)
{
	uint64_t b = fp / BLOCK_PAGES, e = (fp + n + BLOCK_PAGES - 1) / BLOCK_PAGES, c, to;

	for (; b < e; b = c) {
		if (BIT(p->mapped, b)) {
			c = b + 1;
			continue;
		}
		for (c = b; c < e && !BIT(p->mapped, c); c++)
			SET(p->mapped, c);
		to = c * PAGER_BLOCK;
		if (map_data(p, b * PAGER_BLOCK, to < p->mem_size ? to : p->mem_size) < 0)
			return -1;
	}
	return 0;
}

/* ---- the socket ---- */

static int
check_dir(const char *sock)
{
	char dir[4096], *slash;
	struct stat st;

	if (fmt(dir, sizeof dir, "%s", sock) < 0)
		return -1;
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	if (stat(dir, &st) < 0)
		return fail_errno("socket directory %s", dir);
	if (!S_ISDIR(st.st_mode) || unsafe_mode(&st))
		return fail("socket directory %s: unsafe owner or mode (uid %ld, mode %03o): it "
		    "must be ours and not writable by others", dir, (long)st.st_uid,
		    (unsigned)st.st_mode & 0777);
	return 0;
}

static int
listen_on(struct pager *p, const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int r;

	if (strlen(sock) >= sizeof sa.sun_path)
		return fail("socket path %s is longer than %zu bytes: use a shorter (or "
		    "relative) path", sock, sizeof sa.sun_path - 1);
	if (check_dir(sock) < 0)
		return -1;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->lfd < 0)
		return fail_errno("socket");
	old = umask(0177);
	r = bind(p->lfd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0)
		return fail_errno("socket %s", sock);
	snprintf(p->sock, sizeof p->sock, "%s", sock);
	if (chmod(sock, 0600) < 0 || listen(p->lfd, 4) < 0)
		return fail_errno("socket %s", sock);
	return 0;
}

/* The time of the last fault, shared with the fill (which waits for a
 * quiet moment: demand goes first). */
static int
share_clock(struct pager *p)
{
	void *m = mmap(NULL, sizeof *p->last_fault, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return fail_errno("mmap");
	p->last_fault = m;
	__atomic_store_n(p->last_fault, now_ns(), __ATOMIC_RELAXED);
	return 0;
}

int
pager_open(struct pager *p, const char *mem, const char *sock)
{
	if (open_mem(p, mem) < 0 || listen_on(p, sock) < 0 || share_clock(p) < 0)
		return -1;
	return 0;
}

/* ---- the region list ---- */

static int
region_int(const char *js, const struct json_tok *t, int o, const char *key, int need,
    uint64_t *v)
{
	int64_t x;
	int i = json_get(js, t, o, key);

	if (i < 0) {
		if (need)
			return fail("region list: a region has no %s", key);
		*v = 0;
		return 1;
	}
	if (json_int(js, t, i, &x) < 0 || x < 0)
		return fail("region list: %s is not a non-negative integer", key);
	*v = (uint64_t)x;
	return 0;
}

static int
overlap(uint64_t a, uint64_t an, uint64_t b, uint64_t bn)
{
	return a < b + bn && b < a + an;
}

static int
check_region(const struct pager *p, const struct pager_region *r, int k)
{
	int j;

	if (!r->size || r->base % PAGER_PAGE || r->size % PAGER_PAGE || r->off % PAGER_PAGE)
		return fail("region list: region %d (base %#llx, size %llu, offset %llu) is empty "
		    "or not 4 KiB-aligned", k, (unsigned long long)r->base,
		    (unsigned long long)r->size, (unsigned long long)r->off);
	if (r->base + r->size < r->base || r->off > p->mem_size ||
	    r->size > p->mem_size - r->off)
		return fail("region list: region %d (offset %llu, size %llu) lies outside the "
		    "%llu-byte memory file", k, (unsigned long long)r->off,
		    (unsigned long long)r->size, (unsigned long long)p->mem_size);
	for (j = 0; j < k; j++)
		if (overlap(r->base, r->size, p->reg[j].base, p->reg[j].size) ||
		    overlap(r->off, r->size, p->reg[j].off, p->reg[j].size))
			return fail("region list: regions %d and %d overlap", j, k);
	return 0;
}

static int
page_size_ok(const char *js, const struct json_tok *t, int o)
{
	static const char *const keys[] = { "page_size", "page_size_kib" };
	uint64_t v;
	size_t k;
	int r;

	for (k = 0; k < ARRAY_LEN(keys); k++) {
		r = region_int(js, t, o, keys[k], 0, &v);
		if (r < 0)
			return -1;
		if (r == 0 && v != PAGER_PAGE)
			return fail("region list: %s %llu: only 4 KiB pages are served (a VM "
			    "with huge pages needs the File backend)", keys[k],
			    (unsigned long long)v);
	}
	return 0;
}

int
pager_parse_regions(struct pager *p, const char *js, size_t n)
{
	struct json_tok t[PAGER_MAX_REGIONS * 16 + 1];
	struct pager_region *r;
	int nt, k, o;

	nt = json_parse(js, n, t, (int)ARRAY_LEN(t), NULL);
	if (nt < 1)
		return fail("region list from firecracker: %s", json_strerror(nt));
	if (t[0].type != JSON_ARRAY || t[0].size < 1 || t[0].size > PAGER_MAX_REGIONS)
		return fail("region list from firecracker: not an array of 1 to %d regions",
		    PAGER_MAX_REGIONS);
	for (k = 0; k < t[0].size; k++) {
		o = json_index(t, 0, k);
		r = &p->reg[k];
		if (t[o].type != JSON_OBJECT)
			return fail("region list: region %d is not an object", k);
		if (region_int(js, t, o, "base_host_virt_addr", 1, &r->base) < 0 ||
		    region_int(js, t, o, "size", 1, &r->size) < 0 ||
		    region_int(js, t, o, "offset", 1, &r->off) < 0 ||
		    page_size_ok(js, t, o) < 0 || check_region(p, r, k) < 0)
			return -1;
	}
	p->nreg = t[0].size;
	return 0;
}

/* ---- the handshake ---- */

static int
wait_readable(int fd, int pidfd, int64_t deadline, const char *what)
{
	struct pollfd pf[2] = { { fd, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return fail("timed out waiting for %s", what);
		r = poll(pf, pidfd >= 0 ? 2 : 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail_errno("poll");
		if (pidfd >= 0 && pf[1].revents)
			return fail("firecracker exited before %s", what);
		if (pf[0].revents)
			return 0;
	}
}

static int
is_uffd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof target - 1);
	if (n < 0)
		return 0;
	target[n] = 0;
	return !strcmp(target, "anon_inode:[userfaultfd]");
}

/* Keep the first fd passed (it must be a userfaultfd); close any others. */
static int
take_fds(struct pager *p, struct msghdr *mh)
{
	struct cmsghdr *cm;
	int fds[MAX_FDS], n, k;

	if (mh->msg_flags & MSG_CTRUNC)
		return fail("firecracker's message carried more file descriptors than expected");
	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), (size_t)n * sizeof(int));
		for (k = 0; k < n; k++) {
			if (p->uffd < 0)
				p->uffd = fds[k];
			else
				close(fds[k]);
		}
	}
	return 0;
}

static int
recv_handshake(struct pager *p, int c, int64_t deadline)
{
	char cbuf[CMSG_SPACE(MAX_FDS * sizeof(int))];
	struct json_tok t[PAGER_MAX_REGIONS * 16 + 1];  /* as many as the parse */
	char *buf;
	size_t len = 0;
	ssize_t n;
	int r;

	buf = malloc(PAGER_MSG_MAX);
	if (!buf)
		return fail("out of memory");
	for (;;) {
		struct iovec iov = { buf + len, PAGER_MSG_MAX - len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			.msg_controllen = sizeof cbuf };

		if (wait_readable(c, p->pidfd, deadline, "firecracker's region list") < 0)
			goto bad;
		n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			fail_errno("receiving firecracker's region list");
			goto bad;
		}
		if (take_fds(p, &mh) < 0)
			goto bad;
		len += (size_t)n;
		r = json_parse(buf, len, t, (int)ARRAY_LEN(t), NULL);
		if (r != JSON_EPART && len && p->uffd >= 0)
			break;          /* complete (or wrong: the parser says) */
		if (n == 0 || len == PAGER_MSG_MAX) {
			fail("firecracker's region list is %s", n == 0 ?
			    "incomplete or came without a userfaultfd" : "too long");
			goto bad;
		}
	}
	if (!is_uffd(p->uffd)) {
		fail("the descriptor firecracker passed is not a userfaultfd");
		goto bad;
	}
	r = pager_parse_regions(p, buf, len);
	free(buf);
	return r;
bad:
	free(buf);
	return -1;
}

static int
peer_ok(struct pager *p, int c, pid_t pid)
{
	struct ucred cr;
	socklen_t cl = sizeof cr;

	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0)
		return fail_errno("SO_PEERCRED");
	if (pid && cr.pid != pid)
		return fail("connection from pid %ld, not from firecracker (pid %ld): refused",
		    (long)cr.pid, (long)pid);
	p->peer = cr.pid;
	if (!pid) {
		p->pidfd = (int)syscall(SYS_pidfd_open, cr.pid, 0);
		if (p->pidfd < 0)
			return fail_errno("pidfd_open %ld", (long)cr.pid);
	}
	return 0;
}

int
pager_accept(struct pager *p, pid_t pid, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int c, r;

	if (pid) {
		p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (p->pidfd < 0)
			return fail_errno("firecracker pid %ld", (long)pid);
	}
	if (wait_readable(p->lfd, p->pidfd, deadline, "firecracker to connect") < 0)
		return -1;
	c = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (c < 0)
		return fail_errno("accept");
	r = peer_ok(p, c, pid) < 0 ? -1 : recv_handshake(p, c, deadline);
	close(c);
	close(p->lfd);
	p->lfd = -1;
	unlink(p->sock);
	p->sock[0] = 0;
	return r;
}

/* ---- serving ---- */

static const struct pager_region *
region_of(const struct pager *p, uint64_t addr)
{
	int k;

	for (k = 0; k < p->nreg; k++)
		if (addr >= p->reg[k].base && addr - p->reg[k].base < p->reg[k].size)
			return &p->reg[k];
	return NULL;
}

/* Populate n pages at dst (file page fp): 0, 1 = EAGAIN (retry later), -1. */
static int
populate(struct pager *p, const unsigned char *from, uint64_t dst, uint64_t fp, uint64_t n,
    int zero)
{
	uint64_t len = n * PAGER_PAGE, done;
	long r;

	if (zero) {
		struct uffdio_zeropage z = { { dst, len }, 0, 0 };

		r = ioctl(p->uffd, UFFDIO_ZEROPAGE, &z);
		done = z.zeropage > 0 ? (uint64_t)z.zeropage : 0;
	} else {
		struct uffdio_copy c = { dst, (uint64_t)(uintptr_t)(from + fp * PAGER_PAGE),
			len, 0, 0 };

		r = ioctl(p->uffd, UFFDIO_COPY, &c);
		done = c.copy > 0 ? (uint64_t)c.copy : 0;
	}
	if (r == 0)
		return 0;
	if (errno == EAGAIN)
		return 1;
	if (errno == EEXIST) {
		/* a page in the run is there already: the rest one by one */
		uint64_t k;

		for (k = done / PAGER_PAGE + 1; k < n; k++)
			if (populate(p, from, dst + k * PAGER_PAGE, fp + k, 1, zero) != 0)
				return populate(p, from, dst + k * PAGER_PAGE, fp + k, 1, zero);
		return 0;
	}
	return fail_errno("%s at %#llx (%llu pages)", zero ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY",
	    (unsigned long long)dst, (unsigned long long)n);
}

/* Runs end where removed pages (zero, whatever the file says) begin or end. */
static int
run_end(const struct pager *p, uint64_t fp0, uint64_t i, uint64_t hi)
{
	int rm = BIT(p->removed, fp0 + i) != 0;
	uint64_t j;

	for (j = i + 1; j < hi && !BIT(p->served, fp0 + j) &&
	    (BIT(p->removed, fp0 + j) != 0) == rm; j++)
		;
	return (int)(j - i);
}

/* A run is zero-filled when removed or all holes, else copied whole
 * (holes inside it read as zeroes from the file): one ioctl a run. */
static int
run_zero(const struct pager *p, uint64_t fp, uint64_t n)
{
	uint64_t k;

	if (BIT(p->removed, fp))
		return 1;
	for (k = 0; k < n; k++)
		if (BIT(p->data, fp + k))
			return 0;
	return 1;
}

/* A remote source: make [off, off+len) present; where chunks arrived,
 * look for their holes again. */
static int
fetch(struct pager *p, uint64_t off, uint64_t len)
{
	uint64_t cs = p->chunk_size, a, b;
	int r = p->need(p->src, off, len);

	if (r < 0)
		return fail("firecracker is killed: a page it needs cannot be served: %s",
		    errmsg());
	if (r == 0)
		return 0;
	/* the blocks of the chunks that arrived: looked up when served */
	a = off / cs * cs / PAGER_BLOCK;
	b = (off + len + cs - 1) / cs * cs;
	b = ((b < p->mem_size ? b : p->mem_size) + PAGER_BLOCK - 1) / PAGER_BLOCK;
	for (; a < b; a++)
		CLR(p->mapped, a);
	return 0;
}

/* ---- the working set ---- */

/* A fault on file page fp in the window: noted once. */
static void
note(struct pager *p, uint64_t fp)
{
	if (!p->record || p->recorded || BIT(p->hinted, fp) || p->nhint == HINT_MAX_PAGES)
		return;
	if (!p->hint_end)
		p->hint_end = now_ns() + p->hint_ms * 1000000;
	else if (now_ns() >= p->hint_end)
		return;
	SET(p->hinted, fp);
	p->hint[p->nhint++] = fp;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Hand the pages noted to record, once, in a process of its own (it may
 * wait for a lock: faults must not). */
static void
record(struct pager *p)
{
	pid_t c;
	int st;

	if (!p->record || p->recorded || !p->nhint)
		return;
	p->recorded = 1;
	qsort(p->hint, p->nhint, sizeof *p->hint, cmp_u64);
	c = fork();
	if (c < 0) {
		warnmsg("working-set hint not recorded: fork: %s", strerror(errno));
		return;
	}
	if (c == 0) {
		close_others(-1);       /* nor the pager's locks and sockets */
		if (fork() != 0)
			_exit(0);
		if (p->record(p->record_arg, p->hint, p->nhint) < 0)
			warnmsg("working-set hint not recorded: %s", errmsg());
		_exit(0);
	}
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
}

/* The poll timeout: until the window ends, while it is open. */
static int
hint_wait(struct pager *p)
{
	int64_t left;

	if (!p->record || p->recorded || !p->hint_end)
		return -1;
	left = (p->hint_end - now_ns()) / 1000000 + 1;
	if (left <= 0) {
		record(p);
		return -1;
	}
	return (int)(left > 60000 ? 60000 : left);
}

/* ---- prefetched blocks ---- */

int
pager_prefetch(struct pager *p, const uint64_t *blk, const unsigned *mask, size_t n,
    int (*prefetch)(void *, unsigned char *, int), long long wait_ms)
{
	void *m;

	if (!n)
		return 0;
	m = mmap(NULL, p->mem_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return fail_errno("prefetch: mmap");
	p->pre = m;
	if (!(p->pre_state = calloc(n, 1)))
		return fail("out of memory");
	p->pre_blk = blk;
	p->pre_mask = mask;
	p->npre = n;
	p->prefetch = prefetch;
	p->pre_wait_ms = wait_ms;
	return 0;
}

/* Read the prefetch's words until block k is settled (or the wait ends). */
static void
pre_wait(struct pager *p, size_t k)
{
	int64_t deadline = now_ms() + p->pre_wait_ms;
	uint32_t w;
	size_t i;

	while (!p->pre_state[k]) {
		struct pollfd pf = { p->pre_fd, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		ssize_t n = -1;

		if (p->pre_fd >= 0 && left > 0 && poll(&pf, 1, (int)left) > 0)
			n = read(p->pre_fd, &w, sizeof w);
		if (n < 0 && (errno == EINTR || errno == EAGAIN) && left > 0)
			continue;
		if (n != (ssize_t)sizeof w) {
			/* the prefetch ended (or is late): the rest from the source */
			for (i = 0; i < p->npre; i++)
				if (!p->pre_state[i])
					p->pre_state[i] = 2;
			warnmsg("%s: the blocks not here yet are served from the source",
			    n == 0 ? "the prefetch of the working-set hint's blocks ended early" :
			    "the working-set hint's blocks are late");
			return;
		}
		i = w & ~PAGER_PRE_FAILED;
		if (i < p->npre)
			p->pre_state[i] = w & PAGER_PRE_FAILED ? 2 : 1;
	}
}

/* Is the block [fp0 + lo, fp0 + hi) one the prefetch brought?  Then its
 * data pages are its mask's, and its index + 1 is returned (else 0). */
static size_t
prefetched(struct pager *p, uint64_t fp0, uint64_t lo, uint64_t hi)
{
	uint64_t b = (fp0 + lo) / BLOCK_PAGES, i;
	size_t a = 0, z = p->npre, k;

	if (!p->npre || fp0 % BLOCK_PAGES)
		return 0;
	while (a < z) {
		k = a + (z - a) / 2;
		if (p->pre_blk[k] < b)
			a = k + 1;
		else
			z = k;
	}
	if (a == p->npre || p->pre_blk[a] != b)
		return 0;
	k = a;
	pre_wait(p, k);
	if (p->pre_state[k] != 1)
		return 0;
	for (i = lo; i < hi; i++)
		if (p->pre_mask[k] >> (i - lo) & 1)
			SET(p->data, fp0 + i);
		else
			CLR(p->data, fp0 + i);
	return k + 1;
}

/* Serve the block around addr: 0, 1 = retry later, -1. */
static int
serve(struct pager *p, uint64_t addr)
{
	const struct pager_region *r = region_of(p, addr);
	const unsigned char *from;
	uint64_t page, lo, hi, i, j, fp0;
	size_t pk;
	int z, rc;

	if (!r)
		return fail("firecracker faulted at %#llx, outside the guest memory regions it "
		    "announced", (unsigned long long)addr);
	page = (addr - r->base) / PAGER_PAGE;
	lo = page & ~(uint64_t)(PAGER_BLOCK / PAGER_PAGE - 1);
	hi = lo + PAGER_BLOCK / PAGER_PAGE;
	if (hi > r->size / PAGER_PAGE)
		hi = r->size / PAGER_PAGE;
	fp0 = r->off / PAGER_PAGE;
	note(p, fp0 + page);
	pk = prefetched(p, fp0, lo, hi);
	from = pk ? p->pre : p->mem;
	if (from == p->mem && p->need &&
	    fetch(p, (fp0 + lo) * PAGER_PAGE, (hi - lo) * PAGER_PAGE) < 0)
		return -1;
	if (from == p->mem && map_blocks(p, fp0 + lo, hi - lo) < 0)
		return -1;
	CLR(p->served, fp0 + page);     /* it faulted: it is missing */
	for (i = lo; i < hi; i = j) {
		if (BIT(p->served, fp0 + i)) {
			j = i + 1;
			continue;
		}
		j = i + (uint64_t)run_end(p, fp0, i, hi);
		z = run_zero(p, fp0 + i, j - i);
		rc = populate(p, from, r->base + i * PAGER_PAGE, fp0 + i, j - i, z);
		if (rc)
			return rc;
		if (z)
			p->st.zeroed += j - i;
		else
			p->st.copied += j - i;
		for (; i < j; i++)
			SET(p->served, fp0 + i);
	}
	/* a prefetched block is served once: its copy is not held on to (a
	 * page of it missing again comes from the source) */
	if (pk) {
		(void)madvise(p->pre + (fp0 + lo) * PAGER_PAGE, (hi - lo) * PAGER_PAGE,
		    MADV_REMOVE);
		p->pre_state[pk - 1] = 2;
	}
	return 0;
}

static void
mark_removed(struct pager *p, uint64_t start, uint64_t end)
{
	uint64_t a, fp0, i;
	const struct pager_region *r;

	p->st.removes++;
	for (a = start & ~(uint64_t)(PAGER_PAGE - 1); a < end; a += PAGER_PAGE) {
		r = region_of(p, a);
		if (!r)
			continue;
		fp0 = r->off / PAGER_PAGE;
		i = (a - r->base) / PAGER_PAGE;
		SET(p->removed, fp0 + i);
		CLR(p->served, fp0 + i);
	}
}

static int
handle(struct pager *p, const struct uffd_msg *m, uint64_t *defer, int *nd)
{
	int64_t t;
	int rc;

	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		t = now_ns();
		if (!p->st.first_ns)
			p->st.first_ns = t;
		__atomic_store_n(p->last_fault, t, __ATOMIC_RELAXED);
		rc = serve(p, m->arg.pagefault.address);
		p->st.last_ns = now_ns();
		__atomic_store_n(p->last_fault, p->st.last_ns, __ATOMIC_RELAXED);
		p->st.busy_ns += p->st.last_ns - t;
		if (rc < 0)
			return -1;
		if (rc == 1) {
			if (*nd == MAX_DEFER)
				return fail("too many page faults deferred by pending events");
			defer[(*nd)++] = m->arg.pagefault.address;
		} else {
			p->st.faults++;
		}
		return 0;
	case UFFD_EVENT_REMOVE:
		mark_removed(p, m->arg.remove.start, m->arg.remove.end);
		return 0;
	default:
		return 0;       /* not asked for; nothing to do */
	}
}

static int
retry_deferred(struct pager *p, uint64_t *defer, int *nd)
{
	struct uffd_msg m = { .event = UFFD_EVENT_PAGEFAULT };
	int k, n = *nd;

	*nd = 0;
	for (k = 0; k < n; k++) {
		m.arg.pagefault.address = defer[k];
		if (handle(p, &m, defer, nd) < 0)
			return -1;
	}
	return 0;
}

int
pager_serve(struct pager *p)
{
	static uint64_t defer[MAX_DEFER];
	struct uffd_msg msg[64];
	struct pollfd pf[2] = { { p->uffd, POLLIN, 0 }, { p->pidfd, POLLIN, 0 } };
	ssize_t n;
	int nd = 0, k, r;

	for (;;) {
		int w = hint_wait(p);

		r = poll(pf, 2, nd ? 1 : w);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail_errno("poll");
		if (pf[1].revents || (pf[0].revents & (POLLERR | POLLHUP))) {
			record(p);
			return 0;       /* the VM is gone */
		}
		if (r == 0 && !nd)
			continue;
		n = read(p->uffd, msg, sizeof msg);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return fail_errno("reading the userfaultfd");
		for (k = 0; n > 0 && k < n / (ssize_t)sizeof msg[0]; k++)
			if (handle(p, &msg[k], defer, &nd) < 0)
				return -1;
		if (nd && retry_deferred(p, defer, &nd) < 0)
			return -1;
	}
}

/* ---- the process pair ---- */

static void
print_stats(const struct pager *p)
{
	double ms = (double)(p->st.last_ns - p->st.first_ns) / 1e6;
	double busy = (double)p->st.busy_ns / 1e9;
	uint64_t pages = p->st.copied + p->st.zeroed;

	warnmsg("served %llu faults: %llu pages copied, %llu zero pages, %llu removes; "
	    "%.1f ms from first to last fault, %.1f ms populating (%.0f pages/s, %.0f MB/s)",
	    (unsigned long long)p->st.faults, (unsigned long long)p->st.copied,
	    (unsigned long long)p->st.zeroed, (unsigned long long)p->st.removes, ms,
	    busy * 1e3, busy > 0 ? (double)pages / busy : 0,
	    busy > 0 ? (double)pages * PAGER_PAGE / busy / 1e6 : 0);
}

static int
exited(int pidfd)
{
	struct pollfd pf = { pidfd, POLLIN, 0 };

	return pidfd >= 0 && poll(&pf, 1, 0) == 1;
}

/* A failure of the server or the fill that kills the VM: its message
 * goes to the watcher, which prints the first one (both may hit the same
 * corrupt chunk), kills the VM and exits. */
_Noreturn static void
report(struct pager *p)
{
	char line[1200];
	int n = snprintf(line, sizeof line, "%s\n", errmsg());

	if (n >= (int)sizeof line)
		n = (int)sizeof line - 1;
	(void)write_all(p->report_fd, line, (size_t)n);
	_exit(EXIT_REPORTED);
}

/* The page server: tells the watcher firecracker's pid, then serves. */
_Noreturn static void
server(struct pager *p, pid_t pid, int accept_ms, int tell, int stats)
{
	int32_t peer;

	if (pager_accept(p, pid, accept_ms) < 0) {
		close(tell);
		/* firecracker gone before it connected: nothing to serve */
		if (!p->peer && exited(p->pidfd))
			_exit(0);
		die("%s", errmsg());
	}
	peer = (int32_t)p->peer;
	if (write_all(tell, &peer, sizeof peer) < 0)
		die("telling the watcher firecracker's pid: %s", strerror(errno));
	close(tell);
	if (pager_serve(p) < 0) {
		if (p->need)
			report(p);
		warnmsg("%s", errmsg());
		_exit(1);
	}
	if (stats)
		print_stats(p);
	_exit(0);
}

static void
kill_vm(int pidfd, pid_t fc, pid_t srv, int st, int rep)
{
	char why[64], line[1200];
	ssize_t n;

	if (WIFEXITED(st) && WEXITSTATUS(st) == EXIT_REPORTED) {
		if (pidfd >= 0)
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		n = read(rep, line, sizeof line - 1);
		line[n > 0 ? n : 0] = 0;
		line[strcspn(line, "\n")] = 0;
		warnmsg("%s", line[0] ? line : "the page server failed: firecracker is killed");
		return;
	}
	if (WIFSIGNALED(st))
		snprintf(why, sizeof why, "was killed by signal %d", WTERMSIG(st));
	else
		snprintf(why, sizeof why, "failed (exit status %d)", WEXITSTATUS(st));
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0) {
		warnmsg("the page server (pid %ld) %s", (long)srv, why);
		return;
	}
	warnmsg("the page server (pid %ld) %s: firecracker (pid %ld) killed, its next page "
	    "fault would have hung it forever", (long)srv, why, (long)fc);
}

/* The prefetch: a process of its own, whose words the server reads. */
static int
start_prefetch(struct pager *p)
{
	pid_t f, parent = getpid();
	int fd[2];

	if (!p->npre)
		return 0;
	if (pipe2(fd, O_CLOEXEC) < 0)
		return fail_errno("pipe");
	(void)fcntl(fd[1], F_SETPIPE_SZ, 256 * 1024);
	f = fork();
	if (f < 0) {
		close(fd[0]);
		close(fd[1]);
		return fail_errno("fork");
	}
	if (f == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* none of the pager's sockets, pipes (its ready fd among them)
		 * and locked descriptions: the prefetch may outlive their use */
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
		    (fd[1] != 3 && dup2(fd[1], 3) < 0) || fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
			_exit(1);
		close_others(3);
		signal(SIGPIPE, SIG_IGN);
		/* of no use once the pager is gone */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(1);
		_exit(p->prefetch(p->src, p->pre, 3) < 0);
	}
	close(fd[1]);
	p->pre_fd = fd[0];
	return 0;
}

/* The fill: a process of its own, outside the run dir (it may outlive
 * the VM, to finish and publish the snapshot). */
static pid_t
start_fill(struct pager *p, int tell)
{
	pid_t f;

	if (!p->fill)
		return 0;
	f = fork();
	if (f < 0) {
		warnmsg("no background fill (fork: %s): pages arrive on demand only",
		    strerror(errno));
		return 0;
	}
	if (f == 0) {
		close(tell);
		if (p->fill_dir && chdir(p->fill_dir) < 0)
			_exit(EXIT_GAVE_UP);
		if (p->fill(p->src) == EXIT_REPORTED)
			report(p);
		_exit(0);
	}
	return f;
}

/* Wait for the server (and the fill): 0 when the VM ended well; 1 when
 * the server failed, 2 when the fill did (the status in *st); -1. */
static int
watch(pid_t srv, pid_t *fil, int *st)
{
	pid_t w;

	for (;;) {
		w = waitpid(-1, st, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail_errno("waitpid");
		if (w == srv)
			return WIFEXITED(*st) && WEXITSTATUS(*st) == 0 ? 0 : 1;
		if (w != *fil)
			continue;
		*fil = 0;       /* reaped: its pid is no longer ours */
		/* a fill that gave up or was killed: demand goes on */
		if (WIFEXITED(*st) && WEXITSTATUS(*st) == EXIT_REPORTED)
			return 2;
	}
}

int
pager_run(struct pager *p, pid_t pid, int accept_ms, int ready_fd, int stats)
{
	int tell[2], rep[2], st, pidfd = -1, r;
	int32_t peer = (int32_t)pid;
	pid_t srv, fil;

	if (pid && (pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return fail_errno("firecracker pid %ld", (long)pid);
	if (pipe2(tell, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC | O_NONBLOCK) < 0)
		return fail_errno("pipe");
	p->report_fd = rep[1];
	if (start_prefetch(p) < 0)
		return -1;
	srv = fork();
	if (srv < 0)
		return fail_errno("fork");
	if (srv == 0) {
		close(tell[0]);
		if (ready_fd >= 0)
			close(ready_fd);
		server(p, pid, accept_ms, tell[1], stats);
	}
	close(tell[1]);
	if (p->pre_fd >= 0)
		close(p->pre_fd);       /* the server alone reads it */
	p->pre_fd = -1;
	close(p->lfd);          /* the server alone accepts */
	p->lfd = -1;
	p->sock[0] = 0;         /* and unlinks */
	if (ready_fd >= 0) {
		(void)write_all(ready_fd, "ready\n", 6);
		close(ready_fd);
	}
	fil = start_fill(p, tell[0]);
	close(rep[1]);
	if (read_full(tell[0], &peer, sizeof peer) == (ssize_t)sizeof peer && !pid && peer > 0)
		pidfd = (int)syscall(SYS_pidfd_open, (pid_t)peer, 0);
	close(tell[0]);
	r = watch(srv, &fil, &st);
	if (r <= 0) {
		close(rep[0]);
		return r;
	}
	if (r == 1 && fil > 0)
		kill(fil, SIGKILL);     /* not reaped: still ours */
	kill_vm(pidfd, (pid_t)peer, srv, st, rep[0]);
	if (r == 2)
		kill(srv, SIGKILL);     /* not reaped: still ours */
	close(rep[0]);
	return 1;
}
