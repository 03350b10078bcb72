/* fcproc: one firecracker process in a working directory, and the cleanup
 * that must run however a program ends (its functions keep the vmm_ and
 * guard_ prefixes).
 *
 * vmm_spawn starts `firecracker --api-sock SOCK [args...]` with its working
 * directory set to dir, so the relative drive and vsock paths baked into a
 * VM's config (rootfs.ext4, v.sock) resolve inside dir.  stdout and stderr
 * (the guest console) go to a log file.  detach puts it in its own session
 * (a restored VM outlives the program that started it).  vmm_wait_ready
 * waits for the API socket (and fails at once if the process exits);
 * vmm_kill kills it and reaps it when it is our child.
 *
 * Unix socket paths are limited to 108 bytes: vmm connects through
 * /proc/self/fd/N/<name> (N an O_PATH fd of the socket's directory) when the
 * plain path is too long, so a deep store still works.
 *
 * guard: a process-wide cleanup list (one firecracker pid, up to four flat
 * directories) that guard_cleanup() runs on an error path and that the
 * SIGINT/SIGTERM/SIGHUP handler runs before _exit(1) ("prog: interrupted by
 * signal N").  The handler uses only async-signal-safe calls.  Wrap steps
 * that must not be cut in half (a publish) in guard_block/guard_unblock.
 */
#ifndef FCSNAP_FCPROC_H
#define FCSNAP_FCPROC_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include "fc.h"

struct vmm {
	pid_t pid;              /* 0: not running */
	int child;              /* our child: reap after kill */
	int sockdir_fd;         /* O_PATH fd for a long socket path, or -1 */
	int execfd;             /* our child's exec-error pipe, or -1 */
	int ctlfd;              /* vmm_fork: the waiting child's socket, or -1 */
	char bin[PATH_MAX];     /* the firecracker binary we started */
	char api_sock[PATH_MAX];/* as given to firecracker (absolute) */
	char api_conn[108];     /* the path we connect to */
	struct fc fc;
	int fc_open;
};

struct vmm_opts {
	const char *firecracker;        /* the binary */
	const char *dir;                /* working directory */
	const char *api_sock;           /* absolute path of the API socket */
	char *const *args;              /* extra firecracker arguments */
	int nargs;
	const char *log;                /* stdout+stderr (appended); NULL: /dev/null */
	int detach;                     /* outlives us; else SIGKILLed when we
	                                   die (even by SIGKILL) */
	int timeout_ms;                 /* per API request (0: none) */
	int keep_fd;                    /* > 2: an fd firecracker inherits (a run
	                                   dir's lock, vm.h); 0: none */
};

void vmm_init(struct vmm *v);
/* Start firecracker (waits neither for its exec nor for the socket: an
 * exec error is reported by vmm_check, "cannot run firecracker X: ..."). 0 or -1. */
int vmm_spawn(struct vmm *v, const struct vmm_opts *o);
/* The start in two steps, for a restore that records firecracker's pid
 * before its run dir exists.  vmm_fork forks the firecracker-to-be (uses
 * o->firecracker, args, nargs) and returns with v->pid set; the child
 * waits.  vmm_go hands it the run dir (an fd that becomes its cwd and the
 * one fd it keeps across exec: it holds the dir's lock) and the API
 * socket path; it then starts its own session, opens "log" in the dir for
 * stdout and stderr, /dev/null for stdin, and execs.  A child whose parent
 * dies or drops it (vmm_release) before vmm_go exits without running
 * anything.  0 or -1. */
int vmm_fork(struct vmm *v, const struct vmm_opts *o);
int vmm_go(struct vmm *v, int dirfd, const char *api_sock, int timeout_ms);
/* Wait until the API socket accepts connections, or the process died ("firecracker
 * exited with status N: <last log line>"), or timeout. 0 or -1. */
int vmm_wait_ready(struct vmm *v, const char *log, int timeout_ms);
/* Is it still running?  0, or -1 with "firecracker exited with status N
 * ...; log: <last lines of log>" (reaps it when it is our child). */
int vmm_check(struct vmm *v, const char *log);
/* The same, but give a dying process up to ms to be seen dead (after its
 * API connection broke, its exit may lag a moment). */
int vmm_check_wait(struct vmm *v, const char *log, int ms);
/* Attach to a firecracker that runs already (pid > 0 is checked for
 * liveness by callers). 0 or -1. */
int vmm_attach(struct vmm *v, pid_t pid, const char *api_sock, int timeout_ms);
/* SIGKILL, reap if ours, close the API client, remove the API socket. */
void vmm_kill(struct vmm *v);
/* Close the API client; the process keeps running. */
void vmm_release(struct vmm *v);

/* A Unix socket path that fits sun_path: path itself, or
 * /proc/self/fd/N/<base> with *dirfd = N (close it when done; -1 if
 * unused). 0 or -1. */
int unix_path_fit(const char *path, char *out, size_t n, int *dirfd);

/* Run `firecracker --version` and put its version ("1.16.1") into out. */
int fc_binary_version(const char *firecracker, char *out, size_t n);
/* The same, remembered in cache_dir/fcver-<dev>-<ino> (the dir is made
 * when missing) under the binary's size, mtime and ctime, so a restore
 * does not run it every time (NULL cache_dir: no cache). */
int fc_binary_version_cached(const char *firecracker, const char *cache_dir,
    char *out, size_t n);
/* Can a binary of version bin load a snapshot written by version snap?
 * Rule: same major.minor release. 1 yes, 0 no, -1 unparsable. */
int fc_version_loadable(const char *snap, const char *bin);

/* The last `lines` lines of a text file, non-printable bytes replaced,
 * into out ("" when missing or empty). */
void log_tail(const char *path, int lines, char *out, size_t n);

/* Extra firecracker arguments from a space-separated environment value:
 * appends to argv (at most max), returns the new count. Pointers into a
 * malloc'd copy that lives until exit. */
int split_args_env(const char *val, char **argv, int n, int max);

void guard_install(void);
void guard_pid(pid_t pid, int child);
int guard_dir(const char *dir);         /* 0 or -1 (too many / too long) */
void guard_forget_dir(const char *dir); /* keep it (e.g. published) */
void guard_cleanup(void);               /* kill, reap, remove dirs; clears */
void guard_block(void);
void guard_unblock(void);

#endif
