/* vsock: the host side of Firecracker's hybrid vsock.
 * Connect to the VM's vsock Unix socket, write "CONNECT <port>\n" in one
 * write, read the reply one byte at a time up to '\n' (guest data may
 * follow "OK <hostport>\n" in the same segment).  EOF or a reset without
 * "OK" means nothing listens yet: retry (short backoff) until the
 * deadline. */
#ifndef FCSNAP_VSOCK_H
#define FCSNAP_VSOCK_H

#include <stdint.h>

/* Returns a connected stream fd (blocking, CLOEXEC) or -1 with a message
 * ("no agent answered on vsock port P via X within N s (last: ...)").
 * Connection refused / no socket yet / closed without "OK" are retried
 * (backoff 0.25 ms doubling to 50 ms) until timeout_ms has passed; other
 * errors fail at once.  timeout_ms 0: one try (its reply may take up to
 * 5 s).  Paths longer than sun_path allows are reached through an O_PATH
 * fd of their directory. */
int vsock_connect(const char *uds_path, uint32_t port, int timeout_ms);
/* The same, giving up before each retry when gone(arg) returns nonzero
 * (the VM is no more: gone sets the message): -1 at once, not after the
 * whole timeout. */
int vsock_connect_watch(const char *uds_path, uint32_t port, int timeout_ms,
    int (*gone)(void *), void *arg);

#endif
