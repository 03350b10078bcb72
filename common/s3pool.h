/* s3pool: the transport of s3.h -- requests carried by curl processes.
 *
 * Requests run in `curl` processes ($FCSNAP_CURL, s3_opts.curl, or "curl"
 * from PATH) started with the argv  curl -q -K /dev/fd/N  and nothing
 * else: each request's curl config (s3_curl_config: URL, headers, options)
 * travels on a pipe, so no secret and no URL is ever visible in a process
 * list; curl's environment is ours minus the AWS_* secrets. One process
 * carries a batch of requests in a row over one kept-alive connection
 * (config groups joined by "next"). A request body reaches curl through a
 * pipe of its own, fed from memory or spliced from file ranges (s3_seg: no
 * copy here), with an explicit Content-Length; the response (curl -i, then
 * a write-out line with a random token that ends it) comes back on curl's
 * stdout, parsed here, and the body goes to a caller's fd at an offset
 * (hashed on the way, so a pull can verify while writing) or to memory,
 * either capped by req.mem_max (a longer body fails: res.too_big).
 *
 * Failures become one line naming the object and the fix: bad
 * credentials (SignatureDoesNotMatch, InvalidAccessKeyId), no such bucket,
 * access denied, clock skew, connection refused, unresolvable host, TLS
 * trust, timeouts. Transient failures (HTTP 5xx, 429, SlowDown,
 * InternalError, RequestTimeout, curl 7/28/52/55/56/16/92/18) are retried
 * with exponential backoff and jitter, at most s3_opts.retries times; each
 * attempt is signed afresh (with credentials renewed first when they are
 * about to expire, creds.h). Each retry is announced by one line on
 * stderr (warnmsg: the reason, "retry N of M in S s"); a request that
 * fails for good after retries says "gave up after N attempts". A
 * connection lost mid-request (curl 18, 52, 55, 56, and 65: curl would
 * have to resend a body it reads from a pipe) is "the connection to
 * ENDPOINT was lost" and transient.
 *
 * Parallel transfers: a pool runs up to N (at most 64) curl processes and
 * takes up to s3_pool_capacity() requests at once (queued for them).
 *     struct s3_pool *p = s3_pool_new(c, 8);
 *     while (more work || s3_pool_running(p)) {
 *             while (more work && s3_pool_slots(p) > 0)
 *                     s3_pool_start(p, &req[i], &res[i]);   // req/res live until done
 *             struct s3_req *done;
 *             if (s3_pool_wait(p, &done) < 0) ...;             // one finished
 *             if (done && !done->res->ok) die("%s", done->res->err);
 *     }
 *     s3_pool_free(p);          // kills and reaps anything still running
 * s3_do() runs one request synchronously; s3obj.h wraps it.
 */
#ifndef FCSNAP_S3POOL_H
#define FCSNAP_S3POOL_H

#include <stddef.h>
#include <sys/types.h>

#include "s3.h"
#include "sha256.h"

struct s3_result {
	int ok;                 /* 2xx */
	int not_found;          /* 404 (NoSuchKey, or HEAD of a missing key) */
	int http_status;        /* 0 when no response arrived */
	int curl_exit;          /* curl's exit status (0 ok) */
	int attempts;
	int too_big;            /* a 2xx body longer than req.mem_max: cut off */
	int write_err;          /* writing the body to out_fd failed: errno */
	char *body;             /* memory body, or the error body; NUL-terminated */
	size_t body_len;
	off_t out_bytes;        /* bytes written to out_fd */
	unsigned char sha256[SHA256_LEN];       /* of the body, with hash_body */
	long long content_length;       /* -1 if absent */
	char etag[80];
	char err[512];          /* one line when !ok */
};

/* Run one request (with retries). Returns 0 when it got a 2xx answer, else
 * -1 with the one-line message set (also in res->err). Free with
 * s3_result_free. */
int s3_do(struct s3 *c, struct s3_req *r, struct s3_result *res);
void s3_result_free(struct s3_result *res);

struct s3_pool;
struct s3_pool *s3_pool_new(struct s3 *c, int max_parallel);
int s3_pool_slots(const struct s3_pool *p);     /* free slots now */
/* The most requests the pool takes at once (started, not yet returned):
 * size per-request arrays by it. It can exceed max_parallel: requests
 * queue for a curl process, and one process carries several in a row
 * over one connection. */
int s3_pool_capacity(const struct s3_pool *p);
int s3_pool_running(const struct s3_pool *p);   /* started, not yet returned */
/* Start r (kept by pointer, with res, until s3_pool_wait returns it).
 * 0, or -1 with a message (no free slot, cannot spawn). */
int s3_pool_start(struct s3_pool *p, struct s3_req *r, struct s3_result *res);
/* Wait until a request finishes (after its retries): *done = it; its
 * res->ok tells the outcome. Returns 1; 0 with *done NULL when nothing is
 * running or a signal interrupted the wait (check your flags, then call
 * again); -1 on an internal error (message set). */
int s3_pool_wait(struct s3_pool *p, struct s3_req **done);
/* The same, but give up after timeout_ms (< 0: no limit) and return 0 with
 * *done NULL, so a caller can draw progress: while a download runs, its
 * res->out_bytes and res->content_length are already up to date. */
int s3_pool_wait_for(struct s3_pool *p, struct s3_req **done, int timeout_ms);
/* Kill (SIGTERM) and reap every running curl, free the pool. Programs call
 * it on every exit path, including after SIGINT/SIGTERM. */
void s3_pool_free(struct s3_pool *p);

/* The parser of curl's response heads (exposed for fuzz/s3_head.c): one
 * complete header block s (NUL-terminated, modified in place).  The status
 * line's code goes into *status; for a final (>= 200) response also
 * res->http_status, res->content_length (-1 when absent) and res->etag
 * (without its quotes).  Returns 0, or -1 with *why set to a static
 * reason: no "HTTP/x NNN" status line (NNN in 100..999), or a
 * Content-Length that is not one decimal number (or two that differ). */
int s3_parse_head(char *s, struct s3_result *res, int *status, const char **why);

#endif
