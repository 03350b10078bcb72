/* Unit tests for common/meta.c: round trip, tolerance of unknown keys,
 * strictness on types, damaged files, stat, time, host CPU vendor. */
#include "tap.h"
#include "meta.h"
#include "util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PB (PATH_MAX + 128)

static char dir[64];

static void
put_meta(const char *text)
{
	char p[PB];
	int fd;

	snprintf(p, sizeof p, "%s/meta.json", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror(p);
		close(fd);
	}
}

static void
fill(struct meta *m)
{
	meta_init(m);
	strcpy(m->name, "py3");
	strcpy(m->created_at, "2026-11-24T23:20:48Z");
	strcpy(m->fc_version, "1.16.1");
	strcpy(m->cpu_vendor, "GenuineIntel");
	strcpy(m->kernel, "/boot/vmlinux \"quoted\"");
	strcpy(m->boot_args, "console=ttyS0 reboot=k");
	m->fc_args[m->nfc_args++] = strdup("--no-seccomp");
	m->fc_args[m->nfc_args++] = strdup("--level\tDebug");
	m->run_cmd[m->nrun_cmd++] = strdup("python3");
	m->run_cmd[m->nrun_cmd++] = strdup("-c");
	m->mem_mib = 512;
	m->vcpus = 2;
	m->agent_port = 10789;
	m->vmstate.size = 12345;
	m->mem.size = 536870912;
	m->mem.disk = 4096;
	m->rootfs.size = 1ULL << 33;
	m->rootfs.disk = 1ULL << 20;
}

static void
test_roundtrip(void)
{
	struct meta a, b;

	fill(&a);
	ok(meta_write(dir, &a) == 0, "write: %s", errmsg());
	meta_init(&b);
	ok(meta_read(dir, &b) == 0, "read back: %s", errmsg());
	is_str(b.name, "py3", "name");
	is_str(b.created_at, a.created_at, "created_at");
	is_str(b.fc_version, "1.16.1", "firecracker_version");
	is_str(b.cpu_vendor, "GenuineIntel", "cpu_vendor");
	is_str(b.kernel, a.kernel, "kernel with quotes");
	is_str(b.initrd, "", "empty initrd");
	is_str(b.boot_args, a.boot_args, "boot_args");
	is_int(b.nfc_args, 2, "firecracker_args count");
	if (b.nfc_args == 2)
		is_str(b.fc_args[1], "--level\tDebug", "firecracker_args with a tab");
	is_int(b.nrun_cmd, 2, "run_command count");
	is_int(b.mem_mib, 512, "mem_mib");
	is_int(b.vcpus, 2, "vcpus");
	is_int(b.agent_port, 10789, "agent_port");
	is_int(b.mem.size, 536870912, "mem size");
	is_int(b.mem.disk, 4096, "mem disk");
	is_int(b.rootfs.size, 1LL << 33, "rootfs size above 4G");
	is_int(b.vmstate.size, 12345, "vmstate size");
	meta_free(&b);
	meta_free(&a);
}

static const char good_head[] = "{\"format\":1,\"name\":\"x\",\"created_at\":\"2026-01-02T03:04:05Z\","
    "\"firecracker_version\":\"1.7.0\",\"cpu_vendor\":\"AuthenticAMD\",";
static const char good_files[] = "\"files\":{\"vmstate\":{\"size\":1},\"mem\":{\"size\":2,\"disk\":0},"
    "\"rootfs.ext4\":{\"size\":3,\"disk\":0}}";

static int
read_with(const char *middle, struct meta *m)
{
	char buf[2048];

	snprintf(buf, sizeof buf, "%s%s%s}", good_head, middle, good_files);
	put_meta(buf);
	return meta_read(dir, m);
}

static void
test_tolerant_strict(void)
{
	struct meta m;
	char want[128];

	meta_init(&m);
	ok(read_with("\"mem_mib\":128,\"vcpus\":1,", &m) == 0,
	    "optional keys may be absent: %s", errmsg());
	is_int(m.agent_port, 0, "absent agent_port is 0");
	is_int(m.nrun_cmd, 0, "absent run_command is empty");
	ok(read_with("\"mem_mib\":128,\"vcpus\":1,\"future\":{\"a\":[1,2,{}]},\"zz\":null,", &m) == 0,
	    "unknown keys are ignored: %s", errmsg());
	ok(read_with("\"mem_mib\":\"128\",\"vcpus\":1,", &m) < 0, "a string mem_mib is refused");
	snprintf(want, sizeof want, "snapshot %s: meta.json is damaged: \"mem_mib\" should be",
	    strrchr(dir, '/') + 1);
	ok(!strncmp(errmsg(), want, strlen(want)), "message names snapshot and key: %s", errmsg());
	ok(!strncmp(meta_reason(), "meta.json is damaged", 20), "meta_reason: %s", meta_reason());
	ok(read_with("\"mem_mib\":128,\"vcpus\":1.5,", &m) < 0, "a fractional vcpus is refused: %s", errmsg());
	ok(read_with("\"mem_mib\":128,\"vcpus\":-1,", &m) < 0, "a negative vcpus is refused: %s", errmsg());
	ok(read_with("\"vcpus\":1,", &m) < 0 && strstr(errmsg(), "\"mem_mib\" is missing"),
	    "a missing required key is named: %s", errmsg());
	ok(read_with("\"mem_mib\":1,\"vcpus\":1,\"firecracker_args\":[1],", &m) < 0,
	    "a number in firecracker_args is refused: %s", errmsg());
	ok(read_with("\"mem_mib\":1,\"vcpus\":1,\"firecracker_args\":\"--x\",", &m) < 0,
	    "a string for firecracker_args is refused: %s", errmsg());
	ok(read_with("\"mem_mib\":1,\"vcpus\":1,\"boot_args\":\"a\\u001b[2Jb\",", &m) < 0 &&
	    strstr(errmsg(), "\"boot_args\" is too long or badly encoded"),
	    "a control character in a string is refused: %s", errmsg());
	ok(read_with("\"mem_mib\":1,\"vcpus\":1,\"kernel\":\"/k\xff\",", &m) < 0,
	    "a string that is not UTF-8 is refused (it would not be written back as read): %s", errmsg());
	ok(read_with("\"mem_mib\":1,\"vcpus\":1,\"run_command\":[\"sh\",\"-c\",\"a\\nb\"],", &m) == 0 &&
	    m.nrun_cmd == 3 && !strcmp(m.run_cmd[2], "a\nb"),
	    "a newline inside a run_command argument is kept: %s", errmsg());
	ok(read_with("\"mem_mib\":1,\"vcpus\":1,\"run_command\":[\"\xc3\"],", &m) < 0,
	    "a run_command argument that is not UTF-8 is refused: %s", errmsg());
	put_meta("{\"format\":2}");
	ok(meta_read(dir, &m) < 0 && strstr(errmsg(), "format 2"), "a newer format is refused: %s", errmsg());
	put_meta("{\"format\":1,\"name\":\"x\"");
	ok(meta_read(dir, &m) < 0 && strstr(errmsg(), "damaged"), "truncated JSON: %s", errmsg());
	ok(strchr(errmsg(), '\n') == NULL, "the message is one line");
	put_meta("");
	ok(meta_read(dir, &m) < 0, "empty file: %s", errmsg());
	put_meta("[1]");
	ok(meta_read(dir, &m) < 0 && strstr(errmsg(), "not a JSON object"), "an array: %s", errmsg());
	{
		char p[PB];
		snprintf(p, sizeof p, "%s/meta.json", dir);
		unlink(p);
	}
	ok(meta_read(dir, &m) < 0 && strstr(errmsg(), "meta.json is missing"), "missing: %s", errmsg());
	meta_free(&m);
}

static void
test_stat(void)
{
	struct meta m;
	char p[PB];
	int fd;

	meta_init(&m);
	ok(meta_stat_files(&m, dir) < 0, "stat fails when files are missing: %s", errmsg());
	snprintf(p, sizeof p, "%s/vmstate", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ok(write(fd, "abc", 3) == 3, "write vmstate");
	close(fd);
	snprintf(p, sizeof p, "%s/mem", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ok(ftruncate(fd, 1 << 30) == 0, "sparse mem");
	close(fd);
	snprintf(p, sizeof p, "%s/rootfs.ext4", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	close(fd);
	ok(meta_stat_files(&m, dir) == 0, "stat: %s", errmsg());
	is_int(m.vmstate.size, 3, "vmstate size");
	is_int(m.mem.size, 1 << 30, "mem apparent size");
	ok(m.mem.disk < (1 << 20), "mem on-disk size is small (%llu)", (unsigned long long)m.mem.disk);
}

static void
test_time_vendor(void)
{
	struct meta m;
	int64_t ms;
	char v[32];

	ok(meta_parse_time("1970-01-01T00:01:00Z", &ms) == 0 && ms == 60000, "parse epoch+60");
	ok(meta_parse_time("2026-11-24T23:20:48", &ms) < 0, "a time without Z is refused");
	ok(meta_parse_time("yesterday", &ms) < 0, "garbage is refused");
	meta_init(&m);
	meta_set_created_now(&m);
	ok(meta_parse_time(m.created_at, &ms) == 0 && ms / 1000 - wall_ms() / 1000 < 3 &&
	    wall_ms() / 1000 - ms / 1000 < 3, "created_now parses to now: %s", m.created_at);
	ok(host_cpu_vendor(v, sizeof v) == 0 && v[0], "host cpu vendor: %s", v);
}

/* A bucket's meta.json: only its data is taken, its strings checked. */
static void
test_take_data(void)
{
	struct meta in, out;
	char buf[2048];
	int rc;

	meta_init(&in);
	meta_init(&out);
	snprintf(buf, sizeof buf, "%s\"kernel\":\"/etc/shadow\",\"initrd\":\"/etc/gshadow\","
	    "\"boot_args\":\"init=/bin/sh\",\"firecracker_args\":[\"--no-seccomp\"],"
	    "\"mem_mib\":128,\"vcpus\":2,\"agent_port\":5000,\"run_command\":[\"python3\",\"-\"],"
	    "\"disk\":\"shared\",\"origin\":\"create\",%s}",
	    good_head, good_files);
	ok(meta_parse(buf, strlen(buf), &in) == 0 && in.nfc_args == 1 &&
	    !strcmp(in.kernel, "/etc/shadow"), "meta_parse reads a text: %s", meta_reason());
	ok(meta_take_data(&in, &out) == 0, "the data is taken: %s", meta_reason());
	ok(out.nfc_args == 0 && !out.kernel[0] && !out.initrd[0] && !out.boot_args[0],
	    "firecracker_args, kernel, initrd and boot_args are not");
	ok(in.origin_create && !out.origin_create,
	    "nor the origin: a bucket's snapshot is not one created here");
	ok(in.disk_shared && out.disk_shared, "the disk mode is (the restore checks it)");
	ok(!strcmp(out.fc_version, "1.7.0") && !strcmp(out.cpu_vendor, "AuthenticAMD") &&
	    out.mem_mib == 128 && out.vcpus == 2 && out.agent_port == 5000 &&
	    out.nrun_cmd == 2 && !strcmp(out.run_cmd[1], "-") && out.mem.size == 2 &&
	    out.rootfs.size == 3 && !strcmp(out.created_at, "2026-01-02T03:04:05Z"),
	    "sizes, versions, vendor, port, run command and time are");
	snprintf(in.cpu_vendor, sizeof in.cpu_vendor, "Genuine\033[2J");
	rc = meta_take_data(&in, &out);
	ok(rc < 0 && strstr(meta_reason(), "cpu_vendor") != NULL,
	    "a vendor with a control byte is refused: %s", meta_reason());
	snprintf(in.cpu_vendor, sizeof in.cpu_vendor, "GenuineIntel");
	snprintf(in.fc_version, sizeof in.fc_version, "1.7/../x");
	ok(meta_take_data(&in, &out) < 0 && strstr(meta_reason(), "firecracker_version"),
	    "a version with a slash is refused: %s", meta_reason());
	snprintf(in.fc_version, sizeof in.fc_version, "1.7.0");
	snprintf(in.created_at, sizeof in.created_at, "yesterday");
	ok(meta_take_data(&in, &out) < 0 && strstr(meta_reason(), "created_at"),
	    "a time that is none is refused: %s", meta_reason());
	meta_free(&in);
	meta_free(&out);
	ok(meta_parse("{", 1, &in) < 0 && strstr(meta_reason(), "damaged"),
	    "meta_parse refuses bad JSON: %s", meta_reason());
	meta_free(&in);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/fcu-meta.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	test_roundtrip();
	test_tolerant_strict();
	test_stat();
	test_time_vendor();
	test_take_data();
	rm_rf(dir);
	return done_testing();
}
