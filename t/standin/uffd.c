/* uffd: the Uffd memory backend of PUT /snapshot/load, as Firecracker does it.
 *
 * Load (mem_backend {"backend_type":"Uffd","backend_path":SOCK}): guest
 * memory is mapped anonymously (MAP_PRIVATE), a userfaultfd is made
 * (O_CLOEXEC|O_NONBLOCK, UFFD_FEATURE_EVENT_REMOVE required, so a balloon's
 * MADV_DONTNEED reaches the handler) and the memory registered with it in
 * MISSING mode.  The stand-in connects to SOCK and sends, in one sendmsg,
 * the region list as JSON with the uffd attached (SCM_RIGHTS), then closes
 * the connection.  The regions are the guest's x86_64 layout: one region,
 * or two when the memory crosses the 32-bit MMIO gap at 3 GiB + 256 MiB.
 * What each region says depends on the release being played:
 *     < 1.7    {"base_host_virt_addr":A,"size":N,"offset":O}
 *     1.7-1.9  ... ,"page_size_kib":4096}          (bytes, despite the name)
 *     >= 1.10  ... ,"page_size":4096,"page_size_kib":4096}
 * Nothing touches the memory during the load: every page is missing until
 * the handler serves it, and an access the handler never answers blocks
 * the stand-in forever, as it blocks Firecracker's vCPU.
 *
 * The check: at snapshot time the state file records a 64-bit sum of
 * every page as written into the memory file ("standin_page_sums", 16 hex
 * digits per page).  After a load (Uffd, or File for comparison), each
 * guest activity (a vsock
 * connection being bridged) reads a deterministic set of pages
 * (FCSTANDIN_UFFD_CHECK pages, default 64, "all" for every page) and
 * compares them with those sums; a mismatch is reported on stderr and the
 * stand-in exits 1.  FCSTANDIN_UFFD_REMOVE=N: at the first activity, after
 * the check, pages 0..N-1 are given back with MADV_DONTNEED (a balloon
 * inflating), and they are expected to read as zeroes from then on.
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define PAGE 4096
#define MMIO_GAP_START (3328ULL << 20)  /* 3 GiB + 256 MiB */

static uint64_t *sums;          /* per page, from the state file; NULL: no check */
static uint64_t nsums;
static uint64_t activity;
static uint64_t removed;        /* pages 0..removed-1 were given back */
static int uffd = -1;

static uint64_t
page_sum(const unsigned char *p)
{
	uint64_t h = 0x243f6a8885a308d3ULL, w;
	size_t k;

	for (k = 0; k < PAGE; k += 8) {
		memcpy(&w, p + k, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return h;
}

void
uffd_sums_json(struct jw *w)
{
	uint64_t npages = (uint64_t)S.cfg.mem_mib * 256, i;
	unsigned char page[PAGE];
	char *hex;

	hex = malloc(npages * 16 + 1);
	if (!hex) {
		w->err = 1;
		return;
	}
	for (i = 0; i < npages; i++) {
		const unsigned char *src = page;

		if (S.mem)
			src = S.mem + i * PAGE;
		else if (!snap_gen_page(i, page))
			memset(page, 0, PAGE);
		snprintf(hex + i * 16, 17, "%016" PRIx64, page_sum(src));
	}
	jw_kstr(w, "standin_page_sums", hex);
	free(hex);
}

static int
unhex16(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	int k;

	for (k = 0; k < 16; k++) {
		char c = s[k];

		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	*v = x;
	return 0;
}

/* Keep the page sums of the state file for the checks; absent: no check. */
static int
load_sums(const char *js, const struct json_tok *t, uint64_t npages)
{
	int i = json_get(js, t, 0, "standin_page_sums");
	uint64_t k;

	free(sums);
	sums = NULL;
	nsums = 0;
	if (i < 0 || t[i].type != JSON_STRING)
		return 0;
	if ((uint64_t)(t[i].end - t[i].start) != npages * 16)
		return fail("Invalid snapshot state file: standin_page_sums does not cover the "
			"guest memory");
	sums = malloc(npages * sizeof *sums);
	if (!sums)
		return fail("out of memory");
	for (k = 0; k < npages; k++)
		if (unhex16(js + t[i].start + k * 16, &sums[k]) < 0)
			return fail("Invalid snapshot state file: bad standin_page_sums");
	nsums = npages;
	return 0;
}

static void
region_json(struct jw *w, uint64_t base, uint64_t size, uint64_t off)
{
	jw_obj(w);
	jw_key(w, "base_host_virt_addr");
	jw_uint(w, base);
	jw_key(w, "size");
	jw_uint(w, size);
	jw_key(w, "offset");
	jw_uint(w, off);
	if (version_ge(1, 10))
		jw_kint(w, "page_size", PAGE);
	if (version_ge(1, 7))
		jw_kint(w, "page_size_kib", PAGE);
	jw_obj_end(w);
}

static char *
regions_json(uint64_t base, uint64_t len)
{
	struct jw w;
	char *s;

	jw_init(&w);
	jw_arr(&w);
	if (len > MMIO_GAP_START) {
		region_json(&w, base, MMIO_GAP_START, 0);
		region_json(&w, base + MMIO_GAP_START, len - MMIO_GAP_START, MMIO_GAP_START);
	} else {
		region_json(&w, base, len, 0);
	}
	jw_arr_end(&w);
	s = jw_text(&w) ? strdup(jw_text(&w)) : NULL;
	jw_free(&w);
	return s;
}

static int
make_uffd(void *mem, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE };
	struct uffdio_register reg = { 0 };
	int fd;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return fail("Error creating guest memory from uffd: Failed to create the "
			"userfaultfd object: %s (os error %d)", strerror(errno), errno);
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		close(fd);
		return fail("Error creating guest memory from uffd: Failed to create the "
			"userfaultfd object: UFFDIO_API: %s (os error %d)", strerror(errno), errno);
	}
	reg.range.start = (uint64_t)(uintptr_t)mem;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
		close(fd);
		return fail("Error creating guest memory from uffd: Failed to register guest "
			"memory with the userfaultfd object: %s (os error %d)", strerror(errno),
			errno);
	}
	return fd;
}

static int
send_regions(const char *sock, int fd, const char *js)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, e;

	if (strlen(sock) >= sizeof sa.sun_path)
		return fail("Error creating guest memory from uffd: Failed to connect to UDS "
			"Unix stream: File name too long (os error 36)");
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		e = errno;
		if (s >= 0)
			close(s);
		return fail("Error creating guest memory from uffd: Failed to connect to UDS "
			"Unix stream: %s (os error %d)", strerror(e), e);
	}
	if (send_fd(s, js, strlen(js), fd) != (ssize_t)strlen(js)) {
		e = errno;
		close(s);
		return fail("Error creating guest memory from uffd: Failed to send the "
			"userfaultfd and memory mappings over the UDS: %s (os error %d)",
			strerror(e), e);
	}
	close(s);
	return 0;
}

int
uffd_sums_load(const char *js, size_t n, const struct vmcfg *c)
{
	static struct json_tok t[4096];

	activity = removed = 0;
	if (json_parse(js, n, t, (int)ARRAY_LEN(t), NULL) < 1)
		return fail("Invalid snapshot state file: the state is not valid JSON");
	return load_sums(js, t, (uint64_t)c->mem_mib * 256);
}

int
uffd_map(const char *sock, const struct vmcfg *c)
{
	size_t len = (size_t)c->mem_mib << 20;
	char *regions;
	void *p;
	int fd;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		-1, 0);
	if (p == MAP_FAILED)
		return fail("Failed to load guest memory: mmap: %s", strerror(errno));
	fd = make_uffd(p, len);
	regions = fd < 0 ? NULL : regions_json((uint64_t)(uintptr_t)p, len);
	if (fd < 0 || !regions || send_regions(sock, fd, regions) < 0) {
		if (fd >= 0 && !regions)
			fail("out of memory");
		free(regions);
		if (fd >= 0)
			close(fd);
		munmap(p, len);
		return fail("Failed to load guest memory: %s", errmsg());
	}
	free(regions);
	if (S.mem)
		munmap(S.mem, S.mem_len);
	if (uffd >= 0)
		close(uffd);
	uffd = fd;              /* Firecracker keeps its end for the VM's life */
	S.mem = p;
	S.mem_len = len;
	return 0;
}

static void
check_page(uint64_t i)
{
	static const unsigned char zero[PAGE];
	uint64_t want = i < removed ? page_sum(zero) : sums[i];
	uint64_t got = page_sum(S.mem + i * PAGE);  /* faults here until served */

	if (got == want)
		return;
	fprintf(stderr, "fc-standin: guest memory check failed: page %" PRIu64 " (offset %"
		PRIu64 ") reads sum %016" PRIx64 ", the memory file written at snapshot time "
		"had %016" PRIx64 "%s\n", i, i * PAGE, got, want,
		i < removed ? " (a removed page must read as zeroes)" : "");
	standin_exit(1);
}

static void
give_back(uint64_t n)
{
	if (n > nsums)
		n = nsums;
	if (n && madvise(S.mem, n * PAGE, MADV_DONTNEED) < 0) {
		fprintf(stderr, "fc-standin: madvise(MADV_DONTNEED): %s\n", strerror(errno));
		standin_exit(1);
	}
	removed = n;
}

void
uffd_activity(void)
{
	const char *v = getenv("FCSTANDIN_UFFD_CHECK");
	const char *rm = getenv("FCSTANDIN_UFFD_REMOVE");
	long long n = 64;
	uint64_t k, x;

	if (!sums || !S.mem)
		return;
	if (v && !strcmp(v, "all"))
		n = -1;
	else if (v && *v && parse_long(v, 0, 1LL << 40, &n, "FCSTANDIN_UFFD_CHECK") < 0)
		n = 64;
	activity++;
	if (n < 0) {
		for (k = 0; k < nsums; k++)
			check_page(k);
	} else {
		check_page(0);
		check_page(nsums - 1);
		for (k = 0; k < (uint64_t)n; k++) {
			x = activity * 0x9e3779b97f4a7c15ULL + k * 0xbf58476d1ce4e5b9ULL;
			x ^= x >> 31;
			check_page(x % nsums);
		}
	}
	vlog("uffd check %" PRIu64 ": %lld pages match the memory file", activity,
		n < 0 ? (long long)nsums : n + 2);
	if (activity == 1 && rm && *rm) {
		long long r;

		if (parse_long(rm, 0, 1LL << 40, &r, "FCSTANDIN_UFFD_REMOVE") == 0)
			give_back((uint64_t)r);
	}
}
