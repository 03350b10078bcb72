/* sentinel: a process that does one thing when we end without saying we
 * are done -- by an error, a signal, or SIGKILL, which no handler sees.
 *
 *   static struct sentinel s;
 *   sentinel_start(&s, name, fn, arg)  fork the sentinel: named name, its
 *                                 own session, SIGINT/SIGHUP ignored, every
 *                                 fd closed but the read end of a pipe whose
 *                                 write end only we hold (close-on-exec)
 *   ... the step that must be undone if we die ...
 *   sentinel_end(&s, 1)           done: it exits without running fn
 *   sentinel_end(&s, 0)           not done: it runs fn now
 * Both wait for it to exit.  At EOF on the pipe without the 'done' byte
 * (we exited or were killed), it runs fn(arg) and exits.  fn sees our
 * memory as it was at the fork: put everything it needs in arg first; it
 * may open files and sockets of its own.  sentinel_end is
 * async-signal-safe (a handler may call it) and does nothing for a
 * sentinel not started (or ended already).
 */
#ifndef FCSNAP_SENTINEL_H
#define FCSNAP_SENTINEL_H

#include <signal.h>

struct sentinel {
	volatile sig_atomic_t pid;      /* 0: none */
	volatile sig_atomic_t fd;       /* the write end; -1 (or 0 with pid 0): none */
};

/* 0, or -1 (fork or pipe failed; nothing started). */
int sentinel_start(struct sentinel *s, const char *name, void (*fn)(void *), void *arg);
void sentinel_end(struct sentinel *s, int done);
/* The first half of sentinel_end: tell it (it goes on on its own), do not
 * wait; a later sentinel_end only waits for it. */
void sentinel_release(struct sentinel *s, int done);

#endif
