/* exec: run one command inside a VM through its agent -- one that
 * fc-snap-restore started (o.vm_id), or a throw-away one restored from a
 * snapshot (o.snap) -- with stdin, stdout, stderr and the exit status
 * passed through: the engine of fc-exec.
 *
 *   exec_run(&o, &code)     the VM found (runreg.h) or restored
 *                           (restore.h) under a reaper (reaper.h); the
 *                           agent connected (hello for a throw-away VM);
 *                           the command started; stdio pumped (pump.h)
 *                           until its exit status; the connection closed
 *                           (the agent kills a command still running);
 *                           a throw-away VM destroyed, or left running
 *                           with o.keep ("fc-exec: VM ID kept running" on
 *                           stderr)
 *   exec_error()            the failure's message, when exec_run failed
 *   exec_print_json(ok, code)   o.json: the result object on stdout
 *   exec_print_timings()    o.timings: where the time went, on stderr
 *   exec_free()
 *
 * Without o.cmd the run command recorded in meta.json runs (the run dir's
 * for -v, the snapshot's for -s); none there is an error.  *code is the
 * command's exit status, 128+N for signal N (agent_exec_status), or
 * EXEC_TIMEOUT when the host gave up waiting, 127/126 when the command
 * was not found / not executable, EXEC_FAIL for any other failure.
 *
 * Signals.  One exec per process: exec_run installs handlers for SIGINT,
 * SIGTERM and SIGHUP.  While the command runs, a signal is forwarded to it
 * (the agent signals its process group); a second one within 2 s, or one
 * outside the session, aborts at once: the reaper removes a throw-away VM,
 * "fc-exec: interrupted by signal N", exit 128+N.
 *
 * Throw-away VMs and SIGKILL: the reaper is forked before the restore, so
 * the VM never outlives fc-exec, however it ends.  On the hot path
 * firecracker is our child and is killed (SIGKILL) and its run dir
 * removed here, without waiting for it or the reaper to finish exiting;
 * the reaper is for the paths where we cannot do this ourselves.
 */
#ifndef FCSNAP_EXEC_H
#define FCSNAP_EXEC_H

#include <stdint.h>

#define EXEC_FAIL       125             /* fc-exec's own failure */
#define EXEC_TIMEOUT    124
#define EXEC_MAX_ENV    256

struct exec_opts {
	const char *vm_id, *snap;       /* exactly one: -v ID, -s SNAPSHOT */
	const char *firecracker;        /* -s: the binary (NULL: default) */
	const char *cwd;                /* in the guest (NULL: /) */
	const char *code;               /* the command's stdin (NULL: ours) */
	const char *remote;             /* -s: pull from this URL when missing */
	char **cmd;                     /* argv (ncmd 0: the run command) */
	int ncmd;
	char *env[EXEC_MAX_ENV + 1];    /* K=V to set, K to unset; NULL-ended */
	int nenv;
	long long timeout_ms;           /* the command's (0: none) */
	long long connect_ms, agent_ms, restore_ms;
	unsigned long long max_output;  /* json: bytes kept per stream */
	int keep, json, timings;
	int lazy;                       /* -s: restore with fc-pager (restore.h) */
	int64_t start;                  /* now_ns() at the program's start
					 * (total_ms counts from it) */
};

/* Everything up to the exit status, VM torn down.  0, or -1 with the
 * message in exec_error(); *code is set either way. */
int exec_run(const struct exec_opts *o, int *code);
const char *exec_error(void);
/* {"trace_id","status":"success"|"timeout"|"error","exit_code",["signal"],
 *  ["error"],"stdout","stderr" (as valid UTF-8: each stray byte becomes
 *  the code point of its value),"truncated","stdout_bytes","stderr_bytes",
 *  "vm",["snapshot"],"restore_ms","connect_ms","execution_ms",
 *  "executionTime","teardown_ms","total_ms","own_ms"}; ok: exec_run's
 *  result was 0. */
void exec_print_json(int ok, int code);
void exec_print_timings(void);
void exec_free(void);

#endif
