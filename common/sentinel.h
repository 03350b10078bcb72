/* sentinel: a process that does one thing when we end without saying we
 * are done -- by an error, a signal, or SIGKILL, which no handler sees.
 *
 *   struct sentinel s;
 *   sentinel_start(&s, fn, arg)   fork the sentinel: its own session,
 *                                 SIGINT/SIGHUP ignored, every fd closed
 *                                 but the read end of a pipe whose write
 *                                 end only we hold
 *   ... the step that must be undone if we die ...
 *   sentinel_disarm(&s)           done: it exits without running fn; we
 *                                 wait for it
 * At EOF on the pipe without a disarm (we exited or were killed), the
 * sentinel runs fn(arg) and exits.  fn sees our memory as it was at the
 * fork: put everything it needs in arg first; it may open files and
 * sockets of its own.  The write end is close-on-exec, so the programs we
 * run do not keep the sentinel waiting.
 */
#ifndef FCSNAP_SENTINEL_H
#define FCSNAP_SENTINEL_H

#include <sys/types.h>

struct sentinel {
	pid_t pid;              /* 0: none */
	int fd;                 /* the write end, -1: none */
};

/* 0, or -1 (fork or pipe failed; nothing started). */
int sentinel_start(struct sentinel *s, void (*fn)(void *), void *arg);
/* Tell it we are done and wait for it to exit. */
void sentinel_disarm(struct sentinel *s);

#endif
