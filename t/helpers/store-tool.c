/* store-tool: test helper for the store (not installed).
 *
 *   store-tool snap NAME [MEM_BYTES [GEN [FC_VERSION]]]
 *       publish a fake snapshot (under the lock): vmstate, mem (sparse,
 *       MEM_BYTES, default 64M) and rootfs.ext4 (sparse 16M) each begin
 *       with "gen GEN\n"; meta.json from meta_stat_files + meta_write.
 *   store-tool restat NAME
 *       after a bench or test rewrote NAME's files in place: meta.json's
 *       file sizes and disk usage taken again (meta_stat_files), under the
 *       lock, and mem_mib raised to cover mem.
 *   store-tool republish NAME COUNT
 *       publish generations 1..COUNT of NAME, one after the other.
 *   store-tool read NAME LASTGEN
 *       until generation LASTGEN is seen (at most 120 s): open the snapshot
 *       dir once, read the first line of each file through that fd, and
 *       require that they all agree.  Prints "reads N mixed M changes C";
 *       exit 1 if any read was mixed or LASTGEN was never seen.
 *   store-tool lock NAME TRIGGER
 *       hold NAME's lock; print "locked" when held; exit once TRIGGER exists.
 *   store-tool mmap FILE TRIGGER
 *       mmap FILE, print "mapped", wait until TRIGGER exists, then print the
 *       mapping's first line.
 *   store-tool tmpdir NAME
 *       make a temp dir for NAME (under the lock) and print its path, then
 *       exit without publishing: what a killed writer leaves behind.
 */
#include "meta.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct store st;

static void
write_gen(const char *dir, const char *file, unsigned long long size, const char *gen, mode_t mode)
{
	char p[PATH_MAX], line[64];
	int fd;

	if (path_join(p, sizeof p, dir, file) < 0)
		die("%s", errmsg());
	snprintf(line, sizeof line, "gen %s\n", gen);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write_all(fd, line, strlen(line)) < 0)
		die("writing %s", p);
	if (size && ftruncate(fd, (off_t)size) < 0)
		die("truncating %s", p);
	close(fd);
}

static void
snap(const char *name, unsigned long long mem, const char *gen, const char *fcv)
{
	char tmp[PATH_MAX];
	struct meta m;
	int lk;

	lk = store_lock(&st, name, 1);
	if (lk < 0 || store_tmp_dir(&st, name, tmp, sizeof tmp) < 0)
		die("%s", errmsg());
	write_gen(tmp, "vmstate", 0, gen, 0600);
	write_gen(tmp, "mem", mem, gen, 0600);
	write_gen(tmp, "rootfs.ext4", 16ULL << 20, gen, 0644);
	meta_init(&m);
	snprintf(m.name, sizeof m.name, "%s", name);
	meta_set_created_now(&m);
	snprintf(m.fc_version, sizeof m.fc_version, "%s", fcv);
	if (host_cpu_vendor(m.cpu_vendor, sizeof m.cpu_vendor) < 0)
		die("%s", errmsg());
	snprintf(m.kernel, sizeof m.kernel, "/boot/vmlinux");
	m.mem_mib = (int)(mem >> 20) ? (int)(mem >> 20) : 1;
	m.vcpus = 1;
	m.agent_port = 10789;
	if (meta_stat_files(&m, tmp) < 0 || meta_write(tmp, &m) < 0)
		die("%s", errmsg());
	if (store_publish(&st, name, tmp) < 0) {
		rm_rf(tmp);
		die("%s", errmsg());
	}
	store_unlock(lk);
}

static void
restat(const char *name)
{
	char dir[PATH_MAX], snaps[PATH_MAX];
	struct meta m;
	int lk;

	lk = store_lock(&st, name, 1);
	if (lk < 0 || store_sub(&st, "snapshots", snaps, sizeof snaps) < 0 ||
	    path_join(dir, sizeof dir, snaps, name) < 0)
		die("%s", errmsg());
	meta_init(&m);
	if (meta_read(dir, &m) < 0)
		die("snapshot %s: %s", name, meta_reason());
	if (meta_stat_files(&m, dir) < 0)
		die("%s", errmsg());
	if ((uint64_t)m.mem_mib << 20 < m.mem.size)
		m.mem_mib = (int)((m.mem.size + (1 << 20) - 1) >> 20);
	if (meta_write(dir, &m) < 0)
		die("%s", errmsg());
	meta_free(&m);
	store_unlock(lk);
}

/* First line of dfd/file into out: 1 ok, 0 ENOENT (replaced meanwhile). */
static int
first_line(int dfd, const char *file, char *out, size_t n)
{
	ssize_t r;
	int fd;
	char *nl;

	fd = openat(dfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		die("open %s: %s", file, strerror(errno));
	}
	r = read(fd, out, n - 1);
	close(fd);
	if (r < 0)
		die("read %s", file);
	out[r] = 0;
	nl = strchr(out, '\n');
	if (nl)
		*nl = 0;
	return 1;
}

static int
reader(const char *name, const char *last)
{
	static const char *files[] = { "vmstate", "mem", "rootfs.ext4" };
	char a[64], b[64], prev[64] = "", want[64];
	long reads = 0, mixed = 0, changes = 0;
	int64_t end = now_ms() + 120000;
	int dfd, i, okk, done = 0;

	snprintf(want, sizeof want, "gen %s", last);
	while (!done && now_ms() < end) {
		dfd = store_open_snap(&st, name);
		if (dfd < 0)
			continue;       /* between rename-away and rename-in (fallback) */
		okk = first_line(dfd, files[0], a, sizeof a);
		for (i = 1; okk && i < 3; i++) {
			okk = first_line(dfd, files[i], b, sizeof b);
			if (okk && strcmp(a, b)) {
				fprintf(stderr, "mixed: %s has '%s', %s has '%s'\n",
				    files[0], a, files[i], b);
				mixed++;
			}
		}
		close(dfd);
		if (!okk)
			continue;
		reads++;
		if (strcmp(a, prev))
			changes++;
		snprintf(prev, sizeof prev, "%s", a);
		done = !strcmp(a, want);
	}
	printf("reads %ld mixed %ld changes %ld\n", reads, mixed, changes);
	return mixed || !done;
}

static int
hold_lock(const char *name, const char *trigger)
{
	int lk = store_lock(&st, name, 1);

	if (lk < 0)
		die("%s", errmsg());
	printf("locked\n");
	fflush(stdout);
	while (access(trigger, F_OK) < 0)
		usleep(10000);
	store_unlock(lk);
	return 0;
}

static int
map_file(const char *file, const char *trigger)
{
	struct stat sb;
	char *p, *nl;
	int fd = open(file, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) < 0)
		die("open %s", file);
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		die("mmap %s", file);
	close(fd);
	printf("mapped\n");
	fflush(stdout);
	while (access(trigger, F_OK) < 0)
		usleep(10000);
	nl = memchr(p, '\n', (size_t)sb.st_size);
	printf("%.*s\n", nl ? (int)(nl - p) : 0, p);
	munmap(p, (size_t)sb.st_size);
	return 0;
}

int
main(int argc, char **argv)
{
	unsigned long long mem = 64ULL << 20;
	long long n = 0, i;
	char gen[32], tmp[PATH_MAX];

	prog_init(argv);
	if (argc < 3)
		usage_die("see the comment at the top of t/helpers/store-tool.c");
	if (store_init(&st) < 0)
		die("%s", errmsg());
	if (!strcmp(argv[1], "snap")) {
		if (argc > 3 && parse_size(argv[3], &mem, "size") < 0)
			die("%s", errmsg());
		snap(argv[2], mem, argc > 4 ? argv[4] : "1", argc > 5 ? argv[5] : "1.16.1");
		return 0;
	}
	if (!strcmp(argv[1], "republish") && argc > 3) {
		if (parse_long(argv[3], 1, 1000000, &n, "count") < 0)
			die("%s", errmsg());
		for (i = 1; i <= n; i++) {
			snprintf(gen, sizeof gen, "%lld", i);
			snap(argv[2], 1 << 20, gen, "1.16.1");
		}
		return 0;
	}
	if (!strcmp(argv[1], "restat")) {
		restat(argv[2]);
		return 0;
	}
	if (!strcmp(argv[1], "read") && argc > 3)
		return reader(argv[2], argv[3]);
	if (!strcmp(argv[1], "lock") && argc > 3)
		return hold_lock(argv[2], argv[3]);
	if (!strcmp(argv[1], "mmap") && argc > 3)
		return map_file(argv[2], argv[3]);
	if (!strcmp(argv[1], "tmpdir")) {
		int lk = store_lock(&st, argv[2], 1);
		if (lk < 0 || store_prepare(&st) < 0 ||
		    store_tmp_dir(&st, argv[2], tmp, sizeof tmp) < 0)
			die("%s", errmsg());
		write_gen(tmp, "mem", 0, "partial", 0600);
		printf("%s\n", tmp);
		return 0;
	}
	usage_die("unknown command %s", argv[1]);
}
