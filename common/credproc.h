/* credproc: a profile's credential_process, run as the AWS CLI runs it.
 *
 * The command line is split into an argv the way the AWS CLI does on
 * POSIX systems (Python's shlex.split): blanks separate words; a
 * backslash outside quotes takes the next character literally; '...'
 * keeps everything literally; inside "..." a backslash escapes only " and
 * \; quoted and unquoted pieces next to each other make one word. No
 * shell runs it: no variables, globs, pipes or redirections. The program
 * (searched in PATH without a '/') gets our environment, stdin from
 * /dev/null; it must exit 0 within CREDPROC_TIMEOUT_S and print at most
 * 64 KiB of JSON:
 *   {"Version": 1, "AccessKeyId": ..., "SecretAccessKey": ...,
 *    "SessionToken": ... (optional), "Expiration": ISO 8601 (optional)}
 * Credentials with an Expiration are fetched again before it (creds.h).
 * What it prints on stderr is shown in the error when it fails.
 */
#ifndef FCSNAP_CREDPROC_H
#define FCSNAP_CREDPROC_H

#include "creds.h"

#define CREDPROC_TIMEOUT_S 120

/* Split line into a NULL-terminated argv (one malloc'd block: free(*argv)).
 * 0, or -1 with "credential_process: unterminated quote" etc. */
int credproc_split(const char *line, char ***argv);
int credproc_fetch(struct creds *c);

#endif
