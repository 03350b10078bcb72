/* meta: a snapshot's meta.json.
 * {"format":1,"name":..,"created_at":"2026-11-24T23:20:48Z","firecracker_version":"1.16.1",
 *  "cpu_vendor":"AuthenticAMD","kernel":..,"initrd":..,"boot_args":..,
 *  "firecracker_args":[..],"mem_mib":512,"vcpus":1,"agent_port":N,
 *  "run_command":[..argv..] or absent,
 *  "files":{"vmstate":{"size":N},"mem":{"size":N,"disk":N},"rootfs.ext4":{"size":N,"disk":N}}}
 *
 * Reading is tolerant of unknown keys (newer writers may add some) and
 * strict on the types of known ones.  Required: format (1), name,
 * created_at, firecracker_version, cpu_vendor, mem_mib, vcpus, files with
 * all three entries; the rest may be absent (empty / 0).
 */
#ifndef FCSNAP_META_H
#define FCSNAP_META_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define META_MAX_ARGS 32

struct meta_file {
	uint64_t size;   /* apparent size, bytes */
	uint64_t disk;   /* allocated on disk, bytes (st_blocks*512) */
	int64_t mtime_ns; /* rootfs.ext4 only: its mtime at create (0: not
			   * recorded, an older snapshot) */
};

struct meta {
	char name[64];
	char created_at[32];            /* RFC 3339 UTC */
	char fc_version[32];            /* from GET /version, e.g. "1.16.1" */
	char cpu_vendor[32];            /* e.g. "GenuineIntel" */
	char kernel[PATH_MAX];
	char initrd[PATH_MAX];          /* "" if none */
	char boot_args[1024];
	char *fc_args[META_MAX_ARGS];   /* extra firecracker arguments (malloc'd) */
	int nfc_args;
	char *run_cmd[META_MAX_ARGS];   /* default run command argv (malloc'd) */
	int nrun_cmd;
	int mem_mib, vcpus;
	uint32_t agent_port;
	struct meta_file vmstate, mem, rootfs;
	int disk_shared;                /* "disk":"shared": rootfs.ext4 is 0400,
					 * attached read-only and hard-linked into
					 * every run dir; else "copy" (a private
					 * copy per VM) */
	int origin_create;              /* "origin":"create": its vmstate was
					 * written here by fc-snap-create's cold
					 * boot; any other snapshot's devices are
					 * checked at restore (vmcheck.h) */
};

void meta_init(struct meta *m);
void meta_free(struct meta *m);
/* Fill the three meta_file entries by stat'ing dir/{vmstate,mem,rootfs.ext4}
 * (the rootfs's mtime too). */
int meta_stat_files(struct meta *m, const char *dir);
/* Check the three files beside dir/meta.json without opening them: each
 * in place, a regular file we can trust (util.h stat_trusted: not a
 * symlink, owned by us or root, ...) of the size m records.  0, or -1 with
 * the reason: "mem is a symbolic link", "vmstate is missing", "mem has N
 * bytes, meta.json says M". */
int meta_check_files(const char *dir, const struct meta *m);
/* Write dir/meta.json (atomic, fsync'd, mode 0644). */
int meta_write(const char *dir, const struct meta *m);
/* Read dir/meta.json into m (meta_init'd by the caller; it is reset
 * first; meta_free it afterwards, also on failure).  -1 with
 * "snapshot X: meta.json is damaged: <reason>" or "snapshot X: meta.json is
 * missing", X being dir's last component.  meta_reason() gives just the
 * part after "snapshot X: " of the last meta_read failure (this thread). */
int meta_read(const char *dir, struct meta *m);
/* The same for the len bytes of a meta.json in memory; -1 with the reason
 * in meta_reason() only (no "snapshot X: "). */
int meta_parse(const char *js, size_t len, struct meta *m);
const char *meta_reason(void);
/* From a meta.json that came from a bucket, take only its data into out
 * (meta_init'd; reset first): name, created_at, firecracker_version,
 * cpu_vendor, mem_mib, vcpus, agent_port, run_command, the disk mode
 * (shared or copy: a restore checks what the vmstate makes of it) and the
 * file sizes, the strings checked to be what they claim (a UTC time, a
 * version, a vendor name).  Nothing that says how the host runs firecracker is taken:
 * firecracker_args, kernel, initrd and boot_args stay empty (see
 * fcsnap-security(7)).  Sizes are the caller's to check against the
 * manifest.  0, or -1 with meta_reason(). */
int meta_take_data(const struct meta *in, struct meta *out);
/* Set m->created_at to the current UTC time, RFC 3339 ("...Z"). */
void meta_set_created_now(struct meta *m);
/* Parse an RFC 3339 UTC time as written by meta_set_created_now into unix
 * ms. 0 or -1. */
int meta_parse_time(const char *s, int64_t *ms);
/* Render as one JSON object (malloc'd string), for --json outputs. */
char *meta_to_json(const struct meta *m);

/* The host's CPU vendor (from /proc/cpuinfo vendor_id or the ARM
 * "CPU implementer"), into out. */
int host_cpu_vendor(char *out, size_t n);

#endif
