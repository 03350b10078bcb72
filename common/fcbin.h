/* fcbin: where the firecracker binary and the guest kernel come from.
 *
 * Firecracker: the given name or path (flag, else $FCSNAP_FIRECRACKER),
 * else `firecracker` in PATH, else STORE/bin/firecracker.  Kernel: the
 * given path (flag, else $FCSNAP_KERNEL), else STORE/kernel/vmlinux.
 * When fetching is allowed and the file is missing, it is downloaded
 * (fetch.h: a release tarball for this architecture, checked against its
 * published SHA-256; the kernel from the getting-started location) into
 * the given path, or into the store's default path.  Base URLs, versions
 * and checksums are fetch.h's environment variables.
 */
#ifndef FCSNAP_FCBIN_H
#define FCSNAP_FCBIN_H

#include <stddef.h>
#include "store.h"

/* Resolve (and with fetch set, download if missing) into out.  0 or -1
 * with a message naming the flag and variable to set. */
int fcbin_firecracker(const struct store *st, const char *given, int fetch,
    char *out, size_t n);
int fcbin_kernel(const struct store *st, const char *given, int fetch,
    char *out, size_t n);

#endif
