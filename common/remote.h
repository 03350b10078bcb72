/* remote: what fc-snap-push, fc-snap-pull, fc-snap-ls --remote and the
 * on-demand pull share: finding the remote URL, opening an S3 client for
 * it, a progress line, and stopping on SIGINT/SIGTERM.
 *
 * The remote is an s3://bucket[/prefix] URL: the argument, else
 * --bucket [--prefix] (the seed tool's spelling), else $FCSNAP_REMOTE.
 * Keys under it are described in manifest.h and fcsnap-s3(5).
 */
#ifndef FCSNAP_REMOTE_H
#define FCSNAP_REMOTE_H

#include <signal.h>
#include <stdint.h>

#include "awsconf.h"
#include "s3.h"

struct remote {
	char *url;              /* normalised s3://bucket[/prefix] */
	struct awsconf conf;
	struct s3_url u;
	struct s3 c;
	int open;
};

/* The URL to use (see above) into *out (malloc'd). -1 with "no remote
 * given: pass s3://bucket/prefix (or --bucket), or set FCSNAP_REMOTE". */
int remote_resolve(const char *url, const char *bucket, const char *prefix, char **out);
/* Parse url, load AWS settings, open the client. 0 or -1. jobs is only a
 * hint for the curl pool size elsewhere; o may be NULL. */
int remote_open(struct remote *r, const char *url, const struct s3_opts *o);
void remote_close(struct remote *r);
/* --attempts N (1..100: the first try and the retries of a failing
 * request; beats AWS_MAX_ATTEMPTS) and --stall-timeout DURATION (give up
 * on an attempt when no byte moved for that long; 1s..1h) into o.
 * 0, or -1 with a message naming the option. */
int remote_opt_attempts(struct s3_opts *o, const char *arg);
int remote_opt_stall(struct s3_opts *o, const char *arg);
/* <prefix>/<a>[/<b>[/<c>]] (NULL parts end the list); malloc'd or NULL. */
char *remote_key(const struct remote *r, const char *a, const char *b, const char *c);

/* Set by the SIGINT/SIGTERM handler that remote_catch_signals() installs
 * (without SA_RESTART, so s3_pool_wait returns and the caller can stop). */
extern volatile sig_atomic_t remote_stop;
void remote_catch_signals(void);

/* Progress on stderr: drawn when stderr is a terminal (one redrawn line)
 * or when verbose (a line every few seconds). */
struct progress {
	int on, tty;
	const char *what;       /* "push py", "pull py" */
	uint64_t total, done;
	int64_t start_ms, last_ms;
};
void progress_init(struct progress *p, const char *what, uint64_t total, int verbose);
void progress_add(struct progress *p, uint64_t n);
void progress_draw(struct progress *p, int force);
void progress_end(struct progress *p);

/* Human size: 512, 12K, 1.5M, 2G (powers of 1024). */
void remote_human(char *out, size_t n, double v);

#endif
