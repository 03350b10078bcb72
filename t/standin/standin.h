/* standin: the Firecracker stand-in's shared state and module contracts.
 *
 * One process, one thread, one poll loop (main.c).  Modules:
 *   server.c  HTTP/1.1 on the API socket: connections, parsing, replies
 *   api.c     routing and Firecracker's state machine
 *   body.c    strict request body validation (serde-like messages)
 *   vsock.c   the hybrid-vsock bridge on uds_path
 *   snap.c    snapshot state and memory files, version mapping
 *   guest.c   the guest process (the agent run on the host)
 * The knobs and the agent interface are documented in main.c.
 */
#ifndef FCSTANDIN_H
#define FCSTANDIN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

#include "json.h"

#define MAX_DRIVES 16
#define MAX_NETS 8
#define SPATH 4096

struct drive {
	char id[64];
	char path[SPATH];
	char partuuid[64];
	char cache[16];     /* Unsafe | Writeback */
	char io_engine[8];  /* Sync | Async */
	int root, ro;
};

struct net {
	char id[64];
	char host_dev[64];
	char mac[32];
	long long mtu;      /* 0 = not set */
};

/* Everything a snapshot records and GET /vm/config shows. */
struct vmcfg {
	long long vcpus, mem_mib;
	int smt, dirty;
	char huge[8];           /* None | 2M */
	char cpu_template[16];  /* "" = none */
	int have_boot, have_initrd, have_args;
	char kernel[SPATH], initrd[SPATH], boot_args[4096];
	int ndrives;
	struct drive drives[MAX_DRIVES];
	int nnets;
	struct net nets[MAX_NETS];
	int have_vsock;
	long long cid;
	char uds[SPATH];
	char vsock_id[64];
	int have_entropy;
};

enum vmstate { ST_NOT_STARTED, ST_RUNNING, ST_PAUSED };

struct standin {
	/* identity */
	char id[65];
	char version[32];           /* "1.16.1" */
	int vmaj, vmin, vpatch;
	char snapver[16];           /* "8.0.0" */
	/* knobs */
	long long delay_ms, boot_ms, dirty_pct;
	long long reset_ms;         /* FCSTANDIN_VSOCK_RESET_MS; -1 = random 0..300 */
	uint64_t seed;
	const char *fail_list;      /* FCSTANDIN_FAIL */
	const char *die_at;         /* FCSTANDIN_DIE */
	int verbose;
	long long max_payload;
	/* VM */
	struct vmcfg cfg;
	enum vmstate state;
	int boot_path;              /* a boot-specific resource was configured */
	int started;                /* InstanceStart or load done */
	int loaded;                 /* restored from a snapshot */
	int snapshotted;            /* a snapshot was taken since start */
	int reset_pending;          /* a vsock transport reset is queued for the guest */
	int64_t reset_at;           /* ms: the guest processes it then; 0 = not running yet */
	unsigned char *mem;         /* loaded memory (MAP_PRIVATE) or NULL */
	size_t mem_len;
	int logger_fd;
	/* guest */
	pid_t guest_pid;            /* 0 = none */
	int guest_wanted;           /* booted: guest should run */
	int64_t guest_boot_at;      /* ms; 0 = not pending */
	char gdir[108];
	char cmdline[4096];         /* kernel command line, given to the agent */
	/* lifecycle */
	int64_t exit_at;            /* ms; 0 = not scheduled */
	int exit_code;
	int fatal;                  /* exit once replies are flushed */
};

extern struct standin S;

/* main.c */
int standin_fail_injected(const char *what);   /* FCSTANDIN_FAIL has it */
void standin_die_point(const char *point);     /* _exit(1) if FCSTANDIN_DIE */
void standin_exit(int code);                   /* cleanup + exit */
void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* body.c: validate body js (n bytes) against the schema named by `what`
 * ("BootSource", "Drive", ...).  On success returns the token count and
 * fills t (nt entries; t[0] is the object).  On failure returns -1 with the
 * complete fault message in err (Firecracker's wording). */
int body_parse(const char *what, const char *js, size_t n, struct json_tok *t, int nt,
	char *err, size_t errn);
/* String value of key in object 0 (decoded) or def when absent/null. */
const char *body_str(const char *js, const struct json_tok *t, const char *key, char *buf,
	size_t n, const char *def);
int body_has(const char *js, const struct json_tok *t, int obj, const char *key);
long long body_int(const char *js, const struct json_tok *t, int obj, const char *key,
	long long def);
int body_bool(const char *js, const struct json_tok *t, int obj, const char *key, int def);
/* Is this Firecracker version >= maj.min? */
int version_ge(int maj, int min);

/* server.c: the API socket. */
int server_listen(const char *path);
int server_pollfds(struct pollfd *p, int max, int64_t *deadline);
void server_events(struct pollfd *p, int n);
int server_busy(void);          /* replies still to flush */
void server_close_all(void);

/* api.c: handle one request.  Fills status and a malloc'd body (or NULL). */
struct reply {
	int status;
	char *body;
};
void api_handle(const char *method, const char *uri, const char *body, size_t blen,
	int have_body, struct reply *r);

/* vsock.c */
int vsock_bind(const char *uds);       /* 0 or -1 (message set) */
void vsock_unbind(void);
int vsock_pollfds(struct pollfd *p, int max);
void vsock_events(struct pollfd *p, int n);
void vsock_reset(void);                /* close every bridged connection */
void vsock_state_changed(void);        /* after pause/resume: held CONNECTs, the reset */
void vsock_queue_reset(void);          /* snapshot create/load: the guest gets a reset */
int64_t vsock_deadline(void);          /* when vsock_timers is due, 0 = never */
void vsock_timers(int64_t now);        /* the guest processes a queued reset */

/* snap.c */
const char *snap_version_for(int maj, int min);
int snap_create(const char *state_path, const char *mem_path, int diff);
/* Load: validate and fill cfg, map memory. Returns 0 or -1 (message set). */
int snap_load(const char *state_path, const char *mem_path, struct vmcfg *cfg);
/* The same with a Uffd backend: mem_path is the handler's socket (uffd.c). */
int snap_load_uffd(const char *state_path, const char *sock, struct vmcfg *cfg);
/* Page i of a booted VM's memory into out; 0 if it is all zero. */
int snap_gen_page(uint64_t i, unsigned char *out);
int snap_describe(const char *state_path, char *ver, size_t n);
void snap_cfg_json(struct jw *w, const struct vmcfg *c, int full);
void snap_machine_json(struct jw *w, const struct vmcfg *c);

/* uffd.c: the Uffd memory backend (see there) */
void uffd_sums_json(struct jw *w);     /* "standin_page_sums" of the memory */
int uffd_sums_load(const char *js, size_t n, const struct vmcfg *c);
int uffd_map(const char *sock, const struct vmcfg *c); /* 0 or -1 (message) */
void uffd_activity(void);              /* guest activity: check pages */

/* guest.c */
int guest_dir_make(void);
void guest_dir_remove(void);
void guest_boot(void);          /* schedule/start the guest */
void guest_start_now(void);
void guest_pause(void);
void guest_resume(void);
void guest_kill(void);
void guest_reap(void);          /* after SIGCHLD */
void guest_ctrl_alt_del(void);

/* disk.c */
int disks_attach(const struct vmcfg *c, int *bad, int *err);
void disks_to_guest(const struct vmcfg *c);
int disk_is_drive_fd(int fd);

#endif
