/* util: program name, error reporting, names, paths, spawning, time.
 *
 * Error convention for the whole library: a function that fails returns -1
 * (or NULL) after calling fail()/fail_errno(), which record one message in a
 * thread-local buffer.  The program reports it once, at the top:
 *     if (fc_put_boot_source(...) < 0) die("%s", errmsg());
 * Messages name the input and, where possible, the fix.  No trailing newline.
 */
#ifndef FCSNAP_UTIL_H
#define FCSNAP_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

extern const char *progname;

/* Set progname from argv[0] and ignore SIGPIPE (write errors come back as
 * EPIPE instead). Call first in main(). */
void prog_init(char **argv);

/* "prog: message\n" on stderr. die exits 1; usage_die exits 2 and adds
 * " (see 'prog --help')".  With getopt_long set opterr = 0 and report an
 * unknown option or missing argument through usage_die, so a usage error is
 * exactly one line. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void usage_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warnmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit with status st after printing the message. */
_Noreturn void die_status(int st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record an error message; always returns -1. fail_errno appends
 * ": strerror(errno)". The previous message may be used as an argument
 * (fail("loading %s: %s", name, errmsg()) is safe). */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *errmsg(void);

/* Snapshot and VM names: [a-z0-9][a-z0-9._-]*, at most 63 bytes, never "."
 * or "..". Returns 0, or -1 with a message naming `what` (e.g. "snapshot
 * name"). */
int name_check(const char *name, const char *what);

/* Make text another party wrote (a guest, a bucket, a server) safe to
 * print: every byte outside printable ASCII (control characters, ESC,
 * DEL, bytes >= 0x80) becomes '?', in place, so it cannot move the
 * cursor, retitle a terminal or start a line of its own.  Returns s. */
char *text_shown(char *s);

/* out = a "/" b, refusing truncation. Returns 0 or -1 (message set). */
int path_join(char *out, size_t n, const char *a, const char *b);
/* snprintf that fails (-1, message set) instead of truncating. */
int fmt(char *out, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));

/* Parse a decimal integer in [min, max]; whole string must be used.
 * Returns 0 or -1 with "bad <what> 'str': ..." set. */
int parse_long(const char *s, long long min, long long max, long long *out, const char *what);
/* Sizes: 512, 64K, 600M, 2G (powers of 1024). */
int parse_size(const char *s, unsigned long long *out, const char *what);
/* Durations in seconds with optional suffix ms, s, m, h; result in ms. */
int parse_duration_ms(const char *s, long long *out_ms, const char *what);

/* Monotonic and wall clock, in ms / ns. */
int64_t now_ms(void);
int64_t now_ns(void);
int64_t wall_ms(void);
/* Sleep ms milliseconds (EINTR resumed). */
void sleep_ms(int64_t ms);

/* Full write / read with EINTR handling. write_all returns 0 or -1 (errno
 * kept). read_full reads until n bytes or EOF; returns bytes read or -1. */
int write_all(int fd, const void *buf, size_t n);
ssize_t read_full(int fd, void *buf, size_t n);

/* Read a whole small file (NUL-terminated, at most max bytes). Returns a
 * malloc'd buffer or NULL with a message. */
char *read_file(const char *path, size_t max, size_t *len);
/* Files of the store, or anything another user could have put in place
 * of ours.  open_trusted opens dfd/path (dfd: AT_FDCWD or a directory fd)
 * for reading without following a symlink in its last component and
 * without waiting on a fifo or device (O_NONBLOCK, cleared again), then
 * stat_trusted's checks must pass.  Returns the fd, or -1 with errno set
 * (ENOENT when missing; EINVAL when a check failed) and the reason alone
 * as the message, for callers to prefix with the file's name: "is a
 * symbolic link", "is a fifo, not a regular file", "is owned by uid 1001,
 * not by us or root", "is writable by other users" (or "by its group"), "has 9 bytes, more
 * than 8", "cannot be opened: <strerror>". */
int open_trusted(int dfd, const char *path, int flags, uint64_t max);
/* The checks alone, on a stat(2) result: a regular file of at most max
 * bytes (0: any size), owned by the effective user or root, without
 * write permission for group or others (the ssh rule: whoever can write
 * a snapshot's files chooses what root's firecracker opens and runs).
 * 0 or -1 (errno EINVAL) with the reason. */
int stat_trusted(const struct stat *st, uint64_t max);
/* The same for a directory whose files we trust (a snapshot's): ours or
 * root's, not writable by group or others.  0 or -1 with the reason. */
int dir_trusted(const struct stat *st);
/* read_file through open_trusted: the message is the reason alone (also
 * "is larger than N bytes" with errno EFBIG, "cannot be read: ..."). */
char *read_file_trusted(int dfd, const char *path, size_t max, size_t *len);
/* Write a file atomically: tmp in the same dir, fsync, rename. */
int write_file_atomic(const char *path, const void *buf, size_t n, mode_t mode);
/* The same without the fsync: readers never see a partial file, but a
 * crash may lose it.  For state that dies with a crash anyway (a running
 * VM's vm.json), where an fsync would only slow the hot path. */
int write_file_replace(const char *path, const void *buf, size_t n, mode_t mode);

/* mkdir -p; returns 0 or -1 with message. */
int mkdir_p(const char *path, mode_t mode);
/* rm -rf of a directory tree (does not follow symlinks). 0 or -1. */
int rm_rf(const char *path);
/* Close every fd from 3 up except keep (-1: none), so that a child that
 * outlives its work holds none of its parent's files or locks:
 * close_range(2) where the kernel has it, else one close(2) per fd below
 * 1024. */
void close_others(int keep);
/* rm -rf every entry of dir named "<prefix><pid>-..." whose process is
 * gone: what a SIGKILLed owner left.  Returns how many. */
int rm_dead_owner(const char *dir, const char *prefix);

/* Spawning: argv only, never a shell.  fds: stdin/stdout/stderr for the
 * child (-1 = inherit, -2 = /dev/null).  cwd: chdir before exec (NULL =
 * stay).  setsid: new session (detached from our terminal and signals).
 * Returns the pid or -1 (message set; exec failure in the child is reported
 * through a CLOEXEC pipe, so "no such file" comes back here). */
struct spawn_opts {
	int fd_in, fd_out, fd_err;
	const char *cwd;
	int setsid;
	char *const *envp;      /* NULL = inherit environ */
	int pdeathsig;          /* signal the child gets when we die (0: none) */
	int keep_fd;            /* > 2: an fd the child inherits (its
	                           close-on-exec flag cleared in the child) */
};
#define SPAWN_OPTS_INIT { -1, -1, -1, NULL, 0, NULL, 0, -1 }
pid_t spawn(char *const argv[], const struct spawn_opts *o);
/* The same without waiting for the exec (fork, not vfork): the pid at
 * once, the child execs in parallel with the caller.  *errfd: a pipe
 * for spawn_exec_error().  For a small parent only (fork copies its page
 * tables). */
pid_t spawn_nowait(char *const argv[], const struct spawn_opts *o, int *errfd);
/* In a forked child before its exec: every caught signal (and SIGPIPE)
 * back to the default action, then all signals unblocked. */
void spawn_child_signals(void);
/* Read and close errfd: the errno of the child's failed exec, or 0 when
 * it exec'd (or the pipe says nothing).  Blocks until the exec is done. */
int spawn_exec_error(int errfd);

/* sendmsg of n bytes of buf with fd attached (SCM_RIGHTS), EINTR retried:
 * sendmsg's result. */
ssize_t send_fd(int sock, const void *buf, size_t n, int fd);

/* Wait for a child; returns the raw wait status or -1. */
int wait_pid(pid_t pid);
/* Exit status in shell terms: code, or 128+signal. */
int wait_status_code(int st);

/* Look up an executable: a path with '/' is taken as is; otherwise search
 * PATH. Writes the result into out. 0 or -1 (message "X not found"). */
int find_exe(const char *name, char *out, size_t n);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
