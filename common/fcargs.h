/* fcargs: the firecracker arguments of a restore (fcsnap-security(7)).
 *
 * The host decides how firecracker runs.  A restore passes the host's
 * arguments ($FCSNAP_FIRECRACKER_ARGS, then fc-snap-restore -F) and, of
 * those recorded in the snapshot's meta.json when it was made, only the
 * ones on a fixed allow-list of harmless options that change no file,
 * sandbox or privilege of the host:
 *   --level LEVEL (Error, Warning, Info, Debug, Trace, Off), --show-level,
 *   --show-log-origin, --boot-timer, --enable-pci,
 *   --http-api-max-payload-size N, --mmds-size-limit N.
 * Everything else recorded (--no-seccomp, --seccomp-filter, --log-path,
 * --metrics-path, --config-file, --api-sock, --metadata, any unknown
 * option and its value) is dropped and named in fa->dropped, unless the
 * host gives the same option itself (then the host's is used, silently).
 * A snapshot pulled from a bucket records none (meta_take_data).
 */
#ifndef FCSNAP_FCARGS_H
#define FCSNAP_FCARGS_H

#include <stddef.h>

#define FCARGS_MAX 64

struct fcargs {
	char *v[FCARGS_MAX];    /* pointers into rec and host */
	int n;
	char dropped[1024];     /* the recorded words not used ("": none),
				 * as fcargs_join shows them */
};

/* Fill fa from the recorded and the host arguments.  0, or -1 when
 * there are more than FCARGS_MAX. */
int fcargs_restore(char *const *rec, int nrec, char *const *host, int nhost,
    struct fcargs *fa);
/* Is the option (and value) at rec[i] on the allow-list?  The number of
 * words it takes (1 or 2), or 0. */
int fcargs_harmless(char *const *v, int n, int i);
/* v[0..n) joined by spaces into out (cut with "..." when too long), each
 * byte that is not printable ASCII shown as '?'. */
void fcargs_join(char *const *v, int n, char *out, size_t len);

#endif
