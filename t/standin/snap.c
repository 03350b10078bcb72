/* snap: the stand-in's snapshot files.
 *
 * State file (snapshot_path):
 *     FCSTANDIN-VMSTATE\n
 *     format v8.0.0\n               snapshot data format (snap_version_for)
 *     firecracker 1.16.1\n          the version that wrote it
 *     length <n>\n                  bytes of JSON that follow the blank line
 *     checksum <16 hex digits>\n    FNV-1a 64 of those bytes
 *     \n
 *     <n bytes of JSON: the VM configuration, as GET /vm/config shows it>
 * Memory file (mem_file_path): exactly mem_size_mib MiB, mode 0600; a full
 * snapshot writes every page (no holes, like Firecracker), a diff only
 * the dirtied ones.
 * A booted VM's memory: page i (4 KiB) is non-zero for FCSTANDIN_DIRTY_PCT
 * percent of pages, chosen and filled from hash(FCSTANDIN_SEED, i), so two
 * snapshots of the same configuration are identical.  A restored VM's
 * memory is the loaded file mapped MAP_PRIVATE.
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define PAGE 4096
#define MAGIC "FCSTANDIN-VMSTATE\n"
#define NTOK 4096

/* Firecracker version -> snapshot data format version. */
const char *
snap_version_for(int maj, int min)
{
	static char buf[16];

	if (maj != 1 || min < 7) {
		/* before 1.7 snapshots were tied to the release itself */
		snprintf(buf, sizeof buf, "0.%d.0", maj * 100 + min);
		return buf;
	}
	switch (min) {
	case 7: return "1.0.0";
	case 8: case 9: return "2.0.0";
	case 10: return "3.0.0";
	case 11: return "4.0.0";
	case 12: return "6.0.0";
	case 13: return "6.1.0";
	case 14: return "7.0.0";
	case 15: return "7.1.0";
	case 16: return "8.0.0";
	}
	snprintf(buf, sizeof buf, "8.%d.0", min - 16);
	return buf;
}

static uint64_t
mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
fnv(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Fill page i of a booted VM; returns 0 if the page is all zero. */
static int
gen_page(uint64_t i, unsigned char *out)
{
	uint64_t h = mix(S.seed ^ mix(i)), x;
	size_t k;

	if ((long long)(h % 100) >= S.dirty_pct)
		return 0;
	x = h;
	for (k = 0; k < PAGE; k += 8) {
		x = mix(x);
		memcpy(out + k, &x, 8);
	}
	return 1;
}

int
snap_gen_page(uint64_t i, unsigned char *out)
{
	return gen_page(i, out);
}

static int
page_zero(const unsigned char *p)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;
	size_t k;

	for (k = 0; k < PAGE / 8; k++)
		if (q[k])
			return 0;
	return 1;
}

static int
pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	const char *p = buf;
	ssize_t w;

	while (n) {
		w = pwrite(fd, p, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

#define RUN_PAGES 256     /* pages per write of a full snapshot (1 MiB) */

/* Page i of the VM's memory into buf (a booted VM's is generated, a
 * restored one's is copied); returns 0 if it is all zero. */
static int
mem_page(uint64_t i, unsigned char *buf)
{
	if (S.mem) {
		memcpy(buf, S.mem + i * PAGE, PAGE);
		return !page_zero(buf);
	}
	if (gen_page(i, buf))
		return 1;
	memset(buf, 0, PAGE);
	return 0;
}

/* A full snapshot writes every page, zero or not, as Firecracker does (its
 * memory file has no holes); a diff writes only the pages dirtied since
 * the last snapshot (here: the non-zero ones, or none after a snapshot). */
static int
write_mem(const char *path, int diff)
{
	uint64_t npages = (uint64_t)S.cfg.mem_mib * 256, i, k;
	unsigned char *run;
	int fd, nz, e = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail("Cannot write memory file %s: %s (os error %d)", path, strerror(errno),
			errno);
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)(npages * PAGE)) < 0) {
		e = errno;
		close(fd);
		return fail("Cannot write memory file %s: %s (os error %d)", path, strerror(e), e);
	}
	run = malloc((size_t)RUN_PAGES * PAGE);
	if (!run) {
		close(fd);
		return fail("out of memory");
	}
	if (diff && S.snapshotted)
		npages = 0;
	for (i = 0; i < npages && !e; i += k) {
		if (i >= npages / 2 && i < npages / 2 + RUN_PAGES && S.die_at &&
		    !strcmp(S.die_at, "snapshot-create"))
			standin_die_point("snapshot-create");
		for (k = 0; k < RUN_PAGES && i + k < npages; k++) {
			nz = mem_page(i + k, run + k * PAGE);
			if (diff && nz && pwrite_all(fd, run + k * PAGE, PAGE, (off_t)((i + k) * PAGE)) < 0)
				e = errno;
		}
		if (!diff && pwrite_all(fd, run, (size_t)k * PAGE, (off_t)(i * PAGE)) < 0)
			e = errno;
	}
	free(run);
	if (e) {
		close(fd);
		return fail("Cannot write memory file %s: %s (os error %d)", path, strerror(e), e);
	}
	if (close(fd) < 0)
		return fail("Cannot write memory file %s: %s", path, strerror(errno));
	return 0;
}

static void
kstr_or_null(struct jw *w, const char *k, int have, const char *v)
{
	jw_key(w, k);
	if (have)
		jw_str(w, v);
	else
		jw_null(w);
}

void
snap_machine_json(struct jw *w, const struct vmcfg *c)
{
	jw_obj(w);
	jw_kint(w, "vcpu_count", c->vcpus);
	jw_kint(w, "mem_size_mib", c->mem_mib);
	jw_kbool(w, "smt", c->smt);
	if (c->cpu_template[0])
		jw_kstr(w, "cpu_template", c->cpu_template);
	jw_kbool(w, "track_dirty_pages", c->dirty);
	if (version_ge(1, 7))
		jw_kstr(w, "huge_pages", c->huge[0] ? c->huge : "None");
	jw_obj_end(w);
}

void
snap_cfg_json(struct jw *w, const struct vmcfg *c, int full)
{
	const struct drive *d;
	const struct net *n;
	int k;

	jw_obj(w);
	jw_key(w, "balloon");
	jw_null(w);
	jw_key(w, "drives");
	jw_arr(w);
	for (k = 0; k < c->ndrives; k++) {
		d = &c->drives[k];
		jw_obj(w);
		jw_kstr(w, "drive_id", d->id);
		kstr_or_null(w, "partuuid", d->partuuid[0] != 0, d->partuuid);
		jw_kbool(w, "is_root_device", d->root);
		jw_kstr(w, "cache_type", d->cache);
		jw_kbool(w, "is_read_only", d->ro);
		jw_kstr(w, "path_on_host", d->path);
		jw_key(w, "rate_limiter");
		jw_null(w);
		jw_kstr(w, "io_engine", d->io_engine);
		jw_key(w, "socket");
		jw_null(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "boot-source");
	if (c->have_boot) {
		jw_obj(w);
		jw_kstr(w, "kernel_image_path", c->kernel);
		kstr_or_null(w, "initrd_path", c->have_initrd, c->initrd);
		kstr_or_null(w, "boot_args", c->have_args, c->boot_args);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	jw_key(w, "cpu-config");
	jw_null(w);
	jw_key(w, "logger");
	jw_null(w);
	jw_key(w, "machine-config");
	snap_machine_json(w, c);
	jw_key(w, "metrics");
	jw_null(w);
	jw_key(w, "mmds-config");
	jw_null(w);
	jw_key(w, "network-interfaces");
	jw_arr(w);
	for (k = 0; k < c->nnets; k++) {
		n = &c->nets[k];
		jw_obj(w);
		jw_kstr(w, "iface_id", n->id);
		jw_kstr(w, "host_dev_name", n->host_dev);
		kstr_or_null(w, "guest_mac", n->mac[0] != 0, n->mac);
		if (n->mtu)
			jw_kint(w, "mtu", n->mtu);
		jw_key(w, "rx_rate_limiter");
		jw_null(w);
		jw_key(w, "tx_rate_limiter");
		jw_null(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "vsock");
	if (c->have_vsock) {
		jw_obj(w);
		jw_kint(w, "guest_cid", c->cid);
		jw_kstr(w, "uds_path", c->uds);
		if (c->vsock_id[0])
			jw_kstr(w, "vsock_id", c->vsock_id);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	jw_key(w, "entropy");
	if (c->have_entropy) {
		jw_obj(w);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	if (full) {
		jw_kstr(w, "standin_firecracker_version", S.version);
		jw_kbool(w, "standin_smt", c->smt);
		jw_kstr(w, "standin_cpu_template", c->cpu_template);
		kstr_or_null(w, "standin_kernel", c->have_boot, c->kernel);
		uffd_sums_json(w);
	}
	jw_obj_end(w);
}

static int
write_state(const char *path)
{
	struct jw w;
	char head[256];
	const char *js;
	size_t n;
	int fd, hn;

	jw_init(&w);
	snap_cfg_json(&w, &S.cfg, 1);
	js = jw_text(&w);
	if (!js) {
		jw_free(&w);
		return fail("out of memory");
	}
	n = strlen(js);
	hn = snprintf(head, sizeof head, MAGIC "format v%s\nfirecracker %s\nlength %zu\n"
		"checksum %016" PRIx64 "\n\n", S.snapver, S.version, n, fnv(js, n));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, head, (size_t)hn) < 0 || write_all(fd, js, n) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		jw_free(&w);
		return fail("Cannot write snapshot file %s: %s (os error %d)", path, strerror(e), e);
	}
	jw_free(&w);
	if (close(fd) < 0)
		return fail("Cannot write snapshot file %s: %s", path, strerror(errno));
	return 0;
}

int
snap_create(const char *state_path, const char *mem_path, int diff)
{
	if (write_state(state_path) < 0)
		return -1;
	return write_mem(mem_path, diff);
}

/* Parse the header; json and jlen point into buf.  ver gets "8.0.0". */
static int
parse_header(char *buf, size_t len, char *ver, size_t vn, char **json, size_t *jlen)
{
	char *p, *end;
	unsigned long long n;
	uint64_t sum;

	if (len < sizeof MAGIC - 1 || memcmp(buf, MAGIC, sizeof MAGIC - 1))
		return fail("Invalid snapshot state file: bad magic (not a snapshot state file)");
	p = buf + sizeof MAGIC - 1;
	end = memmem(p, len - (size_t)(p - buf), "\n\n", 2);
	if (!end)
		return fail("Invalid snapshot state file: truncated header");
	*end = 0;
	{
		char *f = strstr(p, "format v"), *l = strstr(p, "length "), *c = strstr(p, "checksum ");
		int k;

		if (!f || !l || !c || sscanf(l, "length %llu", &n) != 1 ||
		    sscanf(c, "checksum %" SCNx64, &sum) != 1)
			return fail("Invalid snapshot state file: bad header");
		f += 8;
		for (k = 0; f[k] && f[k] != '\n' && (size_t)k + 1 < vn; k++)
			ver[k] = f[k];
		ver[k] = 0;
	}
	*json = end + 2;
	*jlen = len - (size_t)(*json - buf);
	if (*jlen != n)
		return fail("Invalid snapshot state file: truncated or corrupt (%zu bytes of state "
			"where the header says %llu)", *jlen, n);
	if (fnv(*json, *jlen) != sum)
		return fail("Invalid snapshot state file: CRC mismatch (the file is corrupt)");
	return 0;
}

int
snap_describe(const char *state_path, char *ver, size_t vn)
{
	char *buf, *js;
	size_t len, jl;
	int r;

	buf = read_file(state_path, 64 << 20, &len);
	if (!buf)
		return fail("Unable to open snapshot state file: %s", errmsg());
	r = parse_header(buf, len, ver, vn, &js, &jl);
	free(buf);
	return r;
}

static int
ver_split(const char *v, int *maj, int *min)
{
	return sscanf(v, "%d.%d", maj, min) == 2 ? 0 : -1;
}

static int
jstr(const char *js, const struct json_tok *t, int obj, const char *k, char *out, size_t n)
{
	int v = json_get(js, t, obj, k);

	out[0] = 0;
	if (v < 0 || t[v].type == JSON_NULL)
		return 0;
	if (json_str(js, t, v, out, n) < 0)
		return -1;
	return 1;
}

static int
jnum(const char *js, const struct json_tok *t, int obj, const char *k, long long *out)
{
	int64_t x;
	int v = json_get(js, t, obj, k);

	if (v < 0 || json_int(js, t, v, &x) < 0)
		return -1;
	*out = x;
	return 0;
}

static int
jflag(const struct json_tok *t, int v)
{
	int b = 0;

	if (v >= 0)
		json_bool(t, v, &b);
	return b;
}

static int
cfg_from_json(const char *js, size_t n, struct vmcfg *c)
{
	static struct json_tok t[NTOK];
	int r, m, a, k, o, v;

	r = json_parse(js, n, t, NTOK, NULL);
	if (r < 1 || t[0].type != JSON_OBJECT)
		return fail("Invalid snapshot state file: the state is not valid JSON");
	memset(c, 0, sizeof *c);
	m = json_get(js, t, 0, "machine-config");
	if (jnum(js, t, m, "vcpu_count", &c->vcpus) < 0 ||
	    jnum(js, t, m, "mem_size_mib", &c->mem_mib) < 0 || c->mem_mib < 1 ||
	    c->mem_mib > 1LL << 24)
		return fail("Invalid snapshot state file: bad machine-config");
	c->smt = jflag(t, json_get(js, t, 0, "standin_smt"));
	c->dirty = jflag(t, json_get(js, t, m, "track_dirty_pages"));
	if (jstr(js, t, m, "huge_pages", c->huge, sizeof c->huge) <= 0)
		snprintf(c->huge, sizeof c->huge, "None");
	jstr(js, t, 0, "standin_cpu_template", c->cpu_template, sizeof c->cpu_template);
	o = json_get(js, t, 0, "boot-source");
	if (o >= 0 && t[o].type == JSON_OBJECT) {
		c->have_boot = jstr(js, t, o, "kernel_image_path", c->kernel, sizeof c->kernel) > 0;
		c->have_initrd = jstr(js, t, o, "initrd_path", c->initrd, sizeof c->initrd) > 0;
		c->have_args = jstr(js, t, o, "boot_args", c->boot_args, sizeof c->boot_args) > 0;
	}
	a = json_get(js, t, 0, "drives");
	for (k = 0; a >= 0 && t[a].type == JSON_ARRAY && k < t[a].size && k < MAX_DRIVES; k++) {
		struct drive *d = &c->drives[c->ndrives++];

		o = json_index(t, a, k);
		if (jstr(js, t, o, "drive_id", d->id, sizeof d->id) <= 0 ||
		    jstr(js, t, o, "path_on_host", d->path, sizeof d->path) <= 0)
			return fail("Invalid snapshot state file: bad drive");
		jstr(js, t, o, "partuuid", d->partuuid, sizeof d->partuuid);
		jstr(js, t, o, "cache_type", d->cache, sizeof d->cache);
		jstr(js, t, o, "io_engine", d->io_engine, sizeof d->io_engine);
		d->root = jflag(t, json_get(js, t, o, "is_root_device"));
		d->ro = jflag(t, json_get(js, t, o, "is_read_only"));
	}
	a = json_get(js, t, 0, "network-interfaces");
	for (k = 0; a >= 0 && t[a].type == JSON_ARRAY && k < t[a].size && k < MAX_NETS; k++) {
		struct net *nt = &c->nets[c->nnets++];

		o = json_index(t, a, k);
		if (jstr(js, t, o, "iface_id", nt->id, sizeof nt->id) <= 0 ||
		    jstr(js, t, o, "host_dev_name", nt->host_dev, sizeof nt->host_dev) <= 0)
			return fail("Invalid snapshot state file: bad network interface");
		jstr(js, t, o, "guest_mac", nt->mac, sizeof nt->mac);
		if (jnum(js, t, o, "mtu", &nt->mtu) < 0)
			nt->mtu = 0;
	}
	o = json_get(js, t, 0, "vsock");
	if (o >= 0 && t[o].type == JSON_OBJECT) {
		if (jnum(js, t, o, "guest_cid", &c->cid) < 0 ||
		    jstr(js, t, o, "uds_path", c->uds, sizeof c->uds) <= 0)
			return fail("Invalid snapshot state file: bad vsock");
		jstr(js, t, o, "vsock_id", c->vsock_id, sizeof c->vsock_id);
		c->have_vsock = 1;
	}
	v = json_get(js, t, 0, "entropy");
	c->have_entropy = v >= 0 && t[v].type == JSON_OBJECT;
	return 0;
}

static int
map_mem(const char *path, const struct vmcfg *c)
{
	struct stat st;
	void *p;
	int fd;
	off_t want = (off_t)c->mem_mib << 20;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && !version_ge(1, 4))
		return fail("Failed to load guest memory: Error creating guest memory from file: "
			"Failed to load guest memory: %s (os error %d)", strerror(errno), errno);
	if (fd < 0)
		return fail("Failed to load guest memory: cannot open memory file %s: %s (os error "
			"%d)", path, strerror(errno), errno);
	if (fstat(fd, &st) < 0 || st.st_size != want) {
		close(fd);
		return fail("Failed to load guest memory: memory file %s is %lld bytes, the "
			"snapshot's guest memory is %lld bytes (mem_size_mib %lld)", path,
			(long long)st.st_size, (long long)want, c->mem_mib);
	}
	p = mmap(NULL, (size_t)want, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("Failed to load guest memory: mmap %s: %s", path, strerror(errno));
	if (S.mem)
		munmap(S.mem, S.mem_len);
	S.mem = p;
	S.mem_len = (size_t)want;
	return 0;
}

static int
load(const char *state_path, const char *mem_path, struct vmcfg *c, int uffd)
{
	char ver[32], *buf, *js;
	size_t len, jl;
	int smaj = 0, smin = 0, omaj = 0, omin = 0;

	buf = read_file(state_path, 64 << 20, &len);
	if (!buf)
		return fail("Failed to get snapshot state from file: Failed to open snapshot "
			"file: %s", errmsg());
	if (parse_header(buf, len, ver, sizeof ver, &js, &jl) < 0) {
		free(buf);
		return fail("Failed to get snapshot state from file: Failed to load snapshot "
			"state from file: %s", errmsg());
	}
	if (ver_split(ver, &smaj, &smin) < 0 || ver_split(S.snapver, &omaj, &omin) < 0 ||
	    smaj != omaj || smin > omin) {
		free(buf);
		return fail("Failed to get snapshot state from file: Failed to load snapshot "
			"state from file: Snapshot version mismatch: the snapshot's data format is "
			"v%s, Firecracker v%s loads v%d.x.x up to v%s", ver, S.version, omaj,
			S.snapver);
	}
	if (cfg_from_json(js, jl, c) < 0 || uffd_sums_load(js, jl, c) < 0 ||
	    (uffd && uffd_map(mem_path, c) < 0)) {
		free(buf);
		return -1;
	}
	free(buf);
	return uffd ? 0 : map_mem(mem_path, c);
}

int
snap_load(const char *state_path, const char *mem_path, struct vmcfg *c)
{
	return load(state_path, mem_path, c, 0);
}

int
snap_load_uffd(const char *state_path, const char *sock, struct vmcfg *c)
{
	return load(state_path, sock, c, 1);
}
