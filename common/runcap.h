/* runcap: run a program (argv, never a shell) and capture what it prints.
 *
 * The child gets stdin from /dev/null, its stdout on a pipe read here into
 * memory (at most max bytes: more is an error, and the child is killed),
 * and its stderr either captured the same way (err != NULL, at most 4 KiB
 * kept, the rest dropped) or left on ours. It runs in a process group of
 * its own, killed as one (SIGKILL) when timeout_ms passes. keep_fd (>= 0)
 * is the one descriptor besides 0-2 it inherits (e.g. curl's config pipe).
 * envp NULL: our environment.
 */
#ifndef FCSNAP_RUNCAP_H
#define FCSNAP_RUNCAP_H

#include <stddef.h>

#include "strbuf.h"

struct runcap {
	char *const *argv;
	char *const *envp;
	int keep_fd;
	size_t max;
	long long timeout_ms;   /* 0: no limit */
};

/* 0 when it ran to the end (*code = its exit status, shell style: 128+N
 * for a signal); -1 with a message when it could not start, printed more
 * than max bytes, or ran out of time ("... did not finish within N s"). */
int runcap(const struct runcap *r, struct strbuf *out, struct strbuf *err, int *code);

#endif
