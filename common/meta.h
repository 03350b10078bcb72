/* meta: a snapshot's meta.json.
 * {"format":1,"name":..,"created_at":"2026-11-24T23:20:48Z","firecracker_version":"1.16.1",
 *  "cpu_vendor":"AuthenticAMD","kernel":..,"initrd":..,"boot_args":..,
 *  "firecracker_args":[..],"mem_mib":512,"vcpus":1,"agent_port":N,
 *  "run_command":[..argv..] or absent,
 *  "files":{"vmstate":{"size":N},"mem":{"size":N,"disk":N},"rootfs.ext4":{"size":N,"disk":N}}}
 */
#ifndef FCSNAP_META_H
#define FCSNAP_META_H

#include <limits.h>
#include <stdint.h>

#define META_MAX_ARGS 32

struct meta_file {
	uint64_t size;   /* apparent size, bytes */
	uint64_t disk;   /* allocated on disk, bytes (st_blocks*512) */
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
};

void meta_init(struct meta *m);
void meta_free(struct meta *m);
/* Fill the three meta_file entries by stat'ing dir/{vmstate,mem,rootfs.ext4}. */
int meta_stat_files(struct meta *m, const char *dir);
/* Write dir/meta.json (atomic, fsync'd, mode 0644). */
int meta_write(const char *dir, const struct meta *m);
/* Read dir/meta.json. -1 with "snapshot X: meta.json is damaged: ..." */
int meta_read(const char *dir, struct meta *m);
/* Render as one JSON object (malloc'd string), for --json outputs. */
char *meta_to_json(const struct meta *m);

/* The host's CPU vendor (from /proc/cpuinfo vendor_id or the ARM
 * "CPU implementer"), into out. */
int host_cpu_vendor(char *out, size_t n);

#endif
