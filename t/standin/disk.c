/* disk: the drives of a running "VM", held open as Firecracker holds its
 * block devices' backing files: O_RDONLY when is_read_only, else O_RDWR.
 * The guest (a host process) gets them as inherited fds, listed in
 * FCSTANDIN_DRIVES="ID=FD:ro|rw ..."; a write on a read-only one fails
 * (EBADF), as a write to a read-only virtio-blk device fails in a guest.
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int dfd[MAX_DRIVES];
static int nd;

static void
disks_close(void)
{
	while (nd > 0)
		close(dfd[--nd]);
}

/* Open every drive of c.  0, or -1 with *bad the failing drive and *err
 * its errno (nothing left open). */
int
disks_attach(const struct vmcfg *c, int *bad, int *err)
{
	int k, fd;

	disks_close();
	for (k = 0; k < c->ndrives; k++) {
		fd = open(c->drives[k].path, (c->drives[k].ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0) {
			*bad = k;
			*err = errno;
			disks_close();
			return -1;
		}
		dfd[nd++] = fd;
	}
	return 0;
}

/* Is fd one of the open drives? */
int
disk_is_drive_fd(int fd)
{
	for (int k = 0; k < nd; k++)
		if (dfd[k] == fd)
			return 1;
	return 0;
}

/* In the guest's child, before exec: the drive fds survive exec and are
 * named in FCSTANDIN_DRIVES. */
void
disks_to_guest(const struct vmcfg *c)
{
	char buf[2048], *p = buf;
	size_t left = sizeof buf;
	int k, n;

	buf[0] = 0;
	for (k = 0; k < nd && k < c->ndrives; k++) {
		fcntl(dfd[k], F_SETFD, 0);
		n = snprintf(p, left, "%s%s=%d:%s", k ? " " : "", c->drives[k].id, dfd[k],
		    c->drives[k].ro ? "ro" : "rw");
		if (n < 0 || (size_t)n >= left)
			break;
		p += n;
		left -= (size_t)n;
	}
	setenv("FCSTANDIN_DRIVES", buf, 1);
}
