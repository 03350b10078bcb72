/* vsock: Firecracker's hybrid vsock, host-initiated side.
 *
 * Listens on uds_path.  A client writes "CONNECT <port>\n"; we read it one
 * byte at a time (nothing after the newline is consumed), connect to the
 * guest's listener GDIR/<port> and answer "OK <hostport>\n", then copy
 * bytes both ways: one 256 KiB buffer per direction, read only when it is
 * empty (backpressure), EOF propagated with shutdown(SHUT_WR).  When
 * nothing listens on the port the connection is closed without a reply.
 * While the VM is paused, a CONNECT waits until it is resumed.
 *
 * The transport reset.  Firecracker queues VIRTIO_VSOCK_EVENT_TRANSPORT_RESET
 * for the guest when it saves a snapshot, so the source VM (on its next
 * resume) and every VM restored from the snapshot (on its first) processes
 * a reset a little after it runs again, and the guest drops every vsock
 * connection that exists at that moment.  Here: a snapshot create or load
 * queues the reset; a resume schedules it FCSTANDIN_VSOCK_RESET_MS later
 * (default: random, 0 to 300 ms; a pause before then postpones it to the
 * next resume).  Until then a CONNECT is answered "OK" (the snapshotted
 * guest kernel accepts it for the listener it had; the stand-in's guest
 * process, restarted by a load, may not listen yet, so every port is
 * taken to have one) but no byte crosses the bridge, as the guest's user
 * space is not reached before its kernel handles the event; at the reset
 * every connection is closed.  Connections made after it are bridged as
 * usual.
 */
#include "standin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

#define MAX_VCONNS 256
#define BUFSZ (256 * 1024)
#define LINE_MAX_ 32

struct dir {
	char *buf;
	size_t off, len;
	int eof;        /* source said EOF */
	int shut;       /* SHUT_WR done on destination */
};

struct vconn {
	int hfd, gfd;
	int bridged;
	int held;       /* CONNECT line complete, waiting for the VM to run */
	int doomed;     /* answered OK before the guest's reset: closed by it */
	char line[LINE_MAX_];
	int linelen;
	unsigned long port;
	struct dir h2g, g2h;
};

static int lfd = -1;
static struct vconn *vc[MAX_VCONNS];
static int nvc;
static unsigned long long next_hostport = 1073741824ULL;

int
vsock_bind(const char *uds)
{
	struct sockaddr_un sa;
	struct stat st;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(uds) >= sizeof sa.sun_path)
		return fail("Error binding to the host-side Unix socket: path too long: %s", uds);
	memcpy(sa.sun_path, uds, strlen(uds));
	if (lstat(uds, &st) == 0)
		return fail("Error binding to the host-side Unix socket: Address in use (os error "
			"%d)", EADDRINUSE);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0)
		return fail_errno("socket");
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 256) < 0) {
		int e = errno;

		close(lfd);
		lfd = -1;
		return fail("Error binding to the host-side Unix socket: %s (os error %d)",
			strerror(e), e);
	}
	return 0;
}

static void
vc_free(int i)
{
	struct vconn *c = vc[i];

	close(c->hfd);
	if (c->gfd >= 0)
		close(c->gfd);
	free(c->h2g.buf);
	free(c->g2h.buf);
	free(c);
	vc[i] = vc[--nvc];
}

void
vsock_reset(void)
{
	while (nvc > 0)
		vc_free(0);
}

void
vsock_unbind(void)
{
	vsock_reset();
	if (lfd >= 0)
		close(lfd);
	lfd = -1;
}

static void
accept_all(void)
{
	struct vconn *c;
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (nvc == MAX_VCONNS || !(c = calloc(1, sizeof *c))) {
			close(fd);
			continue;
		}
		c->hfd = fd;
		c->gfd = -1;
		vc[nvc++] = c;
	}
}

/* Connect to the guest's listener for c->port: 0 ok, -1 nothing there. */
static int
guest_connect(struct vconn *c)
{
	struct sockaddr_un sa;
	struct timeval tv = { 2, 0 };
	int fd;

	if (!S.gdir[0] || S.guest_pid <= 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%lu", S.gdir, c->port) >=
	    (int)sizeof sa.sun_path)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* blocking connect, bounded: a full backlog waits, a missing one fails */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->gfd = fd;
	return 0;
}

/* The CONNECT line is complete: 0 = bridged or held, -1 = close it. */
static int
do_connect(struct vconn *c)
{
	char ok[64];
	int n;

	if (S.state == ST_PAUSED) {
		c->held = 1;
		vlog("vsock: CONNECT %lu waits for the VM to resume", c->port);
		return 0;
	}
	c->held = 0;
	if (S.reset_at) {
		n = snprintf(ok, sizeof ok, "OK %llu\n", next_hostport++);
		c->doomed = 1;
		return write_all(c->hfd, ok, (size_t)n);
	}
	uffd_activity();
	if (guest_connect(c) < 0)
		return -1;
	c->h2g.buf = malloc(BUFSZ);
	c->g2h.buf = malloc(BUFSZ);
	if (!c->h2g.buf || !c->g2h.buf)
		return -1;
	n = snprintf(ok, sizeof ok, "OK %llu\n", next_hostport++);
	/* the host socket's buffer is empty: a short reply goes out at once */
	if (write_all(c->hfd, ok, (size_t)n) < 0)
		return -1;
	c->bridged = 1;
	return 0;
}

static int
parse_line(struct vconn *c)
{
	long long port;
	char *num;

	c->line[c->linelen - 1] = 0;
	if (strncmp(c->line, "CONNECT ", 8))
		return -1;
	num = c->line + 8;
	if (*num < '0' || *num > '9' || parse_long(num, 0, 4294967295LL, &port, "port") < 0)
		return -1;
	c->port = (unsigned long)port;
	return 0;
}

/* Read the CONNECT line byte by byte. -1 = close. */
static int
read_line(struct vconn *c)
{
	char ch;
	ssize_t n;

	while (!c->held) {
		n = read(c->hfd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		if (c->linelen == LINE_MAX_ - 1)
			return -1;
		c->line[c->linelen++] = ch;
		if (ch == '\n')
			return parse_line(c) < 0 ? -1 : do_connect(c);
	}
	return 0;
}

/* Move bytes src -> dst through d.  -1 = connection dead. */
static int
pump(int src, int dst, struct dir *d)
{
	ssize_t n;
	int rounds;

	for (rounds = 0; rounds < 8; rounds++) {
		if (d->off == d->len && !d->eof) {
			d->off = d->len = 0;
			n = read(src, d->buf, BUFSZ);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n < 0 && errno != ECONNRESET)
				return -1;
			if (n <= 0)
				d->eof = 1;
			else
				d->len = (size_t)n;
		}
		if (d->off < d->len) {
			n = write(dst, d->buf + d->off, d->len - d->off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN)
				break;
			if (n < 0)
				return -1;
			d->off += (size_t)n;
			continue;
		}
		break;
	}
	if (d->eof && d->off == d->len && !d->shut) {
		shutdown(dst, SHUT_WR);
		d->shut = 1;
	}
	return 0;
}

int
vsock_pollfds(struct pollfd *p, int max)
{
	int n = 0, i;
	struct vconn *c;

	if (lfd >= 0 && n < max) {
		p[n].fd = lfd;
		p[n].events = POLLIN;
		n++;
	}
	for (i = 0; i < nvc && n + 2 <= max; i++) {
		c = vc[i];
		if (!c->bridged) {
			p[n].fd = c->hfd;
			/* doomed: only a full close (POLLHUP), not the host's SHUT_WR */
			p[n].events = c->doomed ? POLLHUP : c->held ? 0 : POLLIN;
			n++;
			continue;
		}
		/* host fd: readable when h2g is empty, writable when g2h has data */
		p[n].fd = c->hfd;
		p[n].events = (c->h2g.off == c->h2g.len && !c->h2g.eof ? POLLIN : 0) |
			(c->g2h.off < c->g2h.len ? POLLOUT : 0);
		n++;
		p[n].fd = c->gfd;
		p[n].events = (c->g2h.off == c->g2h.len && !c->g2h.eof ? POLLIN : 0) |
			(c->h2g.off < c->h2g.len ? POLLOUT : 0);
		n++;
	}
	/* an fd we wait nothing from is left out: POLLHUP alone would spin */
	for (i = 0; i < n; i++)
		if (!p[i].events)
			p[i].fd = -1;
	return n;
}

static int
revents_of(struct pollfd *p, int n, int fd)
{
	int k;

	for (k = 0; k < n; k++)
		if (p[k].fd == fd)
			return p[k].revents;
	return 0;
}

void
vsock_events(struct pollfd *p, int n)
{
	struct vconn *c;
	int i, re, rg;

	if (lfd >= 0 && (revents_of(p, n, lfd) & POLLIN))
		accept_all();
	for (i = 0; i < nvc; i++) {
		c = vc[i];
		re = revents_of(p, n, c->hfd);
		if (!c->bridged) {
			if ((c->held || c->doomed) && (re & (POLLHUP | POLLERR))) {
				vc_free(i--);
				continue;
			}
			if (re && !c->doomed && read_line(c) < 0) {
				vc_free(i--);
			}
			continue;
		}
		rg = revents_of(p, n, c->gfd);
		if (!re && !rg)
			continue;
		if (pump(c->hfd, c->gfd, &c->h2g) < 0 || pump(c->gfd, c->hfd, &c->g2h) < 0 ||
		    (c->h2g.shut && c->g2h.shut)) {
			vc_free(i--);
		}
	}
}

void
vsock_queue_reset(void)
{
	S.reset_pending = 1;
	S.reset_at = 0;
}

static long long
reset_delay(void)
{
	unsigned short r = 0;

	if (S.reset_ms >= 0)
		return S.reset_ms;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (unsigned short)now_ms();
	return r % 301;
}

int64_t
vsock_deadline(void)
{
	return S.state == ST_RUNNING ? S.reset_at : 0;
}

void
vsock_timers(int64_t now)
{
	int n = nvc;

	if (!S.reset_at || S.state != ST_RUNNING || now < S.reset_at)
		return;
	S.reset_pending = 0;
	S.reset_at = 0;
	vlog("vsock: the guest processed the transport reset: %d connection(s) closed", n);
	vsock_reset();
}

void
vsock_state_changed(void)
{
	int64_t now = now_ms();
	int i;

	if (S.state == ST_PAUSED) {
		S.reset_at = 0;
		return;
	}
	if (S.reset_pending && !S.reset_at) {
		long long d = reset_delay();

		vlog("vsock: the guest processes the transport reset in %lld ms", d);
		S.reset_at = now + d;           /* monotonic ms: never 0 */
		vsock_timers(now);
	}
	for (i = 0; i < nvc; i++)
		if (vc[i]->held && do_connect(vc[i]) < 0)
			vc_free(i--);
}
