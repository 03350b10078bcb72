/* fetch: download a Firecracker release binary or a guest kernel, verify
 * it, install it atomically.
 *
 * Downloads run `curl` (spawned with an argv; nothing secret is involved)
 * into a private directory beside the destination (.fetch-<pid>-XXXXXX,
 * on the fcproc.h guard list with curl as the guard's pid while it runs, so
 * a SIGINT/SIGTERM cleans up; one left by a SIGKILLed fetch is removed by
 * the next fetch into that directory); the result is checked
 * against a SHA-256, made executable (0755) and renamed into place, so the
 * destination is either absent/unchanged or complete.  On success one line
 * on stderr says what was done:
 *   "prog: fetched firecracker v1.7.0 from URL (sha256 HEX)"
 * Errors are one line naming the URL and the likely fix; curl exit codes
 * 6, 7 and 28 (no DNS, no connection, timeout) read "cannot download URL:
 * no network? (curl: ...)".
 *
 * Firecracker: the release tarball
 *   BASE/VERSION/firecracker-VERSION-ARCH.tgz
 * (ARCH from uname: x86_64 or aarch64) holds
 * release-VERSION-ARCH/firecracker-VERSION-ARCH; the release publishes
 *   BASE/VERSION/firecracker-VERSION-ARCH.tgz.sha256.txt
 * ("HEX  firecracker-VERSION-ARCH.tgz").  The tarball is checked against
 * the sha256 argument when given, else against the published file; a
 * mirror without that file gets a warning and no check.  The binary is
 * taken out of the gzip'd tar by `gzip -dc` and our own tar reader.
 *
 * Kernel: one file at a URL, checked against sha256 when given (no
 * checksum is published for the CI kernels).
 *
 * Defaults (NULL arguments), each overridable by environment:
 *   FCSNAP_FIRECRACKER_VERSION  FETCH_FIRECRACKER_VERSION
 *   FCSNAP_FIRECRACKER_URL      FETCH_FIRECRACKER_BASE (the release base URL)
 *   FCSNAP_FIRECRACKER_SHA256   (none: use the published checksum)
 *   FCSNAP_KERNEL_URL           FETCH_KERNEL_URL_FMT with ARCH filled in
 *   FCSNAP_KERNEL_SHA256        (none)
 *   FCSNAP_CURL                 "curl" from PATH
 * Timeouts: curl --connect-timeout 30, and --max-time from
 * fetch_opts.timeout_s (default 900 s; large files on slow links).
 */
#ifndef FCSNAP_FETCH_H
#define FCSNAP_FETCH_H

#define FETCH_FIRECRACKER_VERSION "v1.16.1"
#define FETCH_FIRECRACKER_BASE \
	"https://github.com/firecracker-microvm/firecracker/releases/download"
/* The Firecracker getting-started guide's CI kernel; %s is the arch. */
#define FETCH_KERNEL_URL_FMT \
	"https://s3.amazonaws.com/spec.ccfc.min/firecracker-ci/v1.7/%s/vmlinux-5.10.204"

struct fetch_opts {
	int timeout_s;          /* curl --max-time; 0 = 900 */
	int quiet;              /* no "fetched ..." line */
};

/* Fetch firecracker VERSION into dest.  version, base_url, sha256 (hex of
 * the .tgz) and o may be NULL for the defaults above.  0 or -1 (message
 * set; dest untouched). */
int fetch_firecracker(const char *dest, const char *version, const char *base_url,
    const char *sha256, const struct fetch_opts *o);

/* Fetch a kernel image into dest.  url, sha256 (hex of the file) and o may
 * be NULL for the defaults. 0 or -1 (message set; dest untouched). */
int fetch_kernel(const char *dest, const char *url, const char *sha256,
    const struct fetch_opts *o);

/* "x86_64" or "aarch64" (uname -m), as the releases name them. */
const char *fetch_arch(void);

#endif
