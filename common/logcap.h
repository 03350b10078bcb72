/* logcap: a VM's console log, bounded.
 *
 * firecracker writes its own messages and the guest's serial console
 * (console=ttyS0) to its stdout and stderr.  A guest that writes its
 * console without end would fill the host filesystem that holds the run
 * dir (Firecracker's production host setup names this denial of
 * service).  So a restored VM's firecracker writes to a pipe, and a
 * keeper process ("fc-logcap") appends what comes to the run dir's log,
 * keeping it at most LOGCAP_MAX bytes: past that it keeps the last
 * LOGCAP_KEEP bytes (from a line start) after one line saying how many
 * bytes went, so the last lines stay for log_tail and the file never
 * grows past LOGCAP_MAX plus one read.  Other writers of the log (a page
 * server's lines) append to it as before.
 *
 * The keeper holds only the pipe's read end and the log (stdin and
 * stdout; stderr is /dev/null, its cwd /), never the run dir's lock, and
 * exits at EOF: once firecracker (and whatever it handed its stdout to)
 * is gone, after writing the last bytes it said.
 */
#ifndef FCSNAP_LOGCAP_H
#define FCSNAP_LOGCAP_H

#define LOGCAP_MAX  (1 << 20)
#define LOGCAP_KEEP (LOGCAP_MAX / 2)

/* Open (create, append) path relative to the cwd without following a
 * symlink, fork its keeper, and return the write end of the keeper's
 * pipe (close-on-exec: dup it to the stdout and stderr of the program
 * about to be exec'd).  -1 with errno (nothing left running).  The keeper
 * holds a shared flock on the log until it has written the last byte. */
int logcap_start(const char *path);
/* After the program died: wait (at most ms) until the keeper of the log at
 * path, if any, has written what it said and gone, so that its last lines
 * can be read.  Returns at once for a log without a keeper (or NULL). */
void logcap_settle(const char *path, int ms);

#endif
