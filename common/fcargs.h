/* fcargs: extra firecracker arguments seen as options, and which of them
 * a restore passes.
 *
 * An option is a word "--name" followed by its value word when that does
 * not start with '-' ("--level Debug", "--no-seccomp"), or one word
 * "--name=value".  Firecracker refuses an option given twice (exit 153:
 * "The argument 'no-seccomp' was provided more than once"), so lists from
 * two sources are merged by option name, not concatenated.
 *
 * A restore (fcsnap-security(7)): the host decides how firecracker runs.
 * It passes the host's arguments ($FCSNAP_FIRECRACKER_ARGS, then
 * fc-snap-restore -F) and, of those recorded in the snapshot's meta.json
 * when it was made, only the ones on a fixed allow-list of harmless
 * options that change no file, sandbox or privilege of the host:
 *   --level LEVEL (Error, Warning, Info, Debug, Trace, Off), --show-level,
 *   --show-log-origin, --boot-timer, --enable-pci,
 *   --http-api-max-payload-size N, --mmds-size-limit N.
 * Everything else recorded (--no-seccomp, --seccomp-filter, --log-path,
 * --metrics-path, --config-file, --api-sock, --metadata, any unknown
 * option and its value) is dropped and named in fa->dropped, unless the
 * host gives an option of that name itself (then the host's is used,
 * silently).  A snapshot pulled from a bucket records none
 * (meta_take_data). */
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

/* Merge the nadd words of add into args (*n malloc'd words, room for max):
 * every option named in add replaces the option of that name in args, an
 * option add names twice counts once (the last), and the rest of args is
 * kept; words that are no option are appended as they are.  The words of
 * add are copied.  Returns 0, or -1 with a message when the result would
 * exceed max words (args is then unchanged). */
int fcargs_merge(char **args, int *n, int max, char *const *add, int nadd);

/* Fill fa for a restore from the recorded and the host arguments.  0, or
 * -1 when there are more than FCARGS_MAX. */
int fcargs_restore(char *const *rec, int nrec, char *const *host, int nhost,
    struct fcargs *fa);
/* Is the option (and value) at v[i] on the allow-list?  The number of
 * words it takes (1 or 2), or 0. */
int fcargs_harmless(char *const *v, int n, int i);
/* v[0..n) joined by spaces into out (cut with "..." when too long), each
 * byte that is not printable ASCII shown as '?'. */
void fcargs_join(char *const *v, int n, char *out, size_t len);

#endif
