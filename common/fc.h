/* fc: typed calls for the Firecracker API over its Unix socket.
 *
 * Every call returns 0 on success (204, or 200 with a body) and -1
 * otherwise with a message: for a 4xx/5xx it is Firecracker's
 * fault_message verbatim, prefixed by the call ("PUT /snapshot/load: ...");
 * an error body that is not {"fault_message": ...} gives
 * "PUT /x: HTTP 502 Bad Gateway: <first 200 bytes of the body>".
 * Transport failures carry http's message after the call, with
 * Firecracker-specific hints for a missing socket ("no such socket (is
 * firecracker running?)") and a refused one ("connection refused
 * (firecracker has exited; stale socket?)").  Optional fields left at
 * zero/NULL are not sent (older Firecracker versions reject fields they
 * do not know: send only what is needed).
 */
#ifndef FCSNAP_FC_H
#define FCSNAP_FC_H

#include <stdint.h>
#include "http.h"

struct fc {
	struct http_conn *http;
	char sock[256];
	int timeout_ms;         /* per request; 0: none */
};

/* Open a client for the API socket (does not connect yet). */
int fc_open(struct fc *fc, const char *api_sock, int timeout_ms);
void fc_close(struct fc *fc);
/* Poll until the API socket accepts connections and GET / answers, or the
 * deadline passes, or pid (if > 0) has exited. 0 or -1.  Retries every
 * 1 ms at first, backing off to 20 ms.  An exited child is left unreaped
 * (waitid WNOWAIT) for its owner to collect. */
int fc_wait_ready(struct fc *fc, int pid, int timeout_ms);

struct fc_boot_source {
	const char *kernel_image_path;
	const char *boot_args;          /* NULL: not sent */
	const char *initrd_path;        /* NULL: not sent */
};
int fc_put_boot_source(struct fc *fc, const struct fc_boot_source *b);

struct fc_drive {
	const char *drive_id;
	const char *path_on_host;
	int is_root_device;
	int is_read_only;
};
int fc_put_drive(struct fc *fc, const struct fc_drive *d);

struct fc_machine_config {
	int vcpu_count;
	int mem_size_mib;
	int smt;                /* sent only when set */
	int track_dirty_pages;  /* sent only when set */
};
int fc_put_machine_config(struct fc *fc, const struct fc_machine_config *m);
/* GET /machine-config into m. */
int fc_get_machine_config(struct fc *fc, struct fc_machine_config *m);

struct fc_vsock {
	uint32_t guest_cid;     /* >= 3 */
	const char *uds_path;
	const char *vsock_id;   /* deprecated field; NULL: not sent */
};
int fc_put_vsock(struct fc *fc, const struct fc_vsock *v);

struct fc_net {
	const char *iface_id;
	const char *host_dev_name;
	const char *guest_mac;  /* NULL: not sent */
};
int fc_put_network_interface(struct fc *fc, const struct fc_net *n);

/* PUT /actions {"action_type": "InstanceStart" | "SendCtrlAltDel" | "FlushMetrics"} */
int fc_action(struct fc *fc, const char *action_type);
/* PATCH /vm {"state": "Paused"|"Resumed"} */
int fc_pause(struct fc *fc);
int fc_resume(struct fc *fc);

struct fc_snapshot_create {
	const char *snapshot_type;      /* "Full" (default when NULL) or "Diff" */
	const char *snapshot_path;
	const char *mem_file_path;
};
int fc_snapshot_create(struct fc *fc, const struct fc_snapshot_create *s);

struct fc_snapshot_load {
	const char *snapshot_path;
	const char *mem_backend_path;   /* sent as mem_backend {backend_type, backend_path} */
	const char *mem_backend_type;   /* "File" (default when NULL) or "Uffd" */
	int enable_diff_snapshots;      /* sent only when set */
	int resume_vm;                  /* sent only when set */
	const char *vsock_override_uds_path;    /* v1.16+: sent only when set */
};
int fc_snapshot_load(struct fc *fc, const struct fc_snapshot_load *s);

/* GET / : instance info. state: "Not started", "Running", "Paused". */
struct fc_instance_info {
	char id[128];
	char state[32];
	char vmm_version[32];
	char app_name[64];
};
int fc_describe(struct fc *fc, struct fc_instance_info *info);
/* GET /version -> "1.16.1" */
int fc_version(struct fc *fc, char *out, size_t n);
/* GET /vm/config: the full JSON body (malloc'd, caller frees). */
char *fc_vm_config(struct fc *fc);

#endif
