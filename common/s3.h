/* s3: S3 requests, signed in-tree (sigv4.h) and carried by curl.
 *
 * Requests run in `curl` processes ($FCSNAP_CURL, s3_opts.curl, or "curl"
 * from PATH) started with the argv  curl -q -K /dev/fd/N  and nothing
 * else: the URL, the headers (Authorization, x-amz-security-token) and all
 * options travel in a curl config written to a pipe, so no secret and no
 * URL is ever visible in a process list; curl's environment is ours minus
 * the AWS_* secrets. One process carries a batch of requests in a row over
 * one kept-alive connection (config groups joined by "next"; see
 * s3pool.c). A request body reaches curl through a pipe of its own, fed
 * from memory or spliced from file ranges (s3_seg: no copy here), with an
 * explicit Content-Length; the response (curl -i, then a write-out line
 * with a random token that ends it) comes back on curl's stdout, parsed
 * here, and the body goes to a caller's fd at an offset (hashed on the
 * way, so a pull can verify while writing) or to memory.
 *
 * Addressing: on AWS (no endpoint configured) virtual-hosted
 *     https://BUCKET.s3.REGION.amazonaws.com/KEY
 * for DNS-safe bucket names without dots, else path-style; with a custom
 * endpoint path-style ENDPOINT/BUCKET/KEY. S3_ADDR_PATH / S3_ADDR_VIRTUAL
 * force either (awsconf's s3 addressing_style is the default).
 *
 * Failures become one line naming the object and the fix: bad
 * credentials (SignatureDoesNotMatch, InvalidAccessKeyId), no such bucket,
 * access denied, clock skew, connection refused, unresolvable host, TLS
 * trust, timeouts. Transient failures (HTTP 5xx, 429, SlowDown,
 * InternalError, RequestTimeout, curl 7/28/52/55/56/16/92/18) are retried
 * with exponential backoff and jitter, at most s3_opts.retries times; each
 * attempt is signed afresh.
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
 * s3_do() runs one request synchronously; the helpers below wrap it.
 */
#ifndef FCSNAP_S3_H
#define FCSNAP_S3_H

#include <stddef.h>
#include <sys/types.h>

#include "awsconf.h"
#include "sha256.h"
#include "sigv4.h"

/* ---- s3:// URLs ------------------------------------------------------ */

struct s3_url {
	char *bucket;
	char *prefix;   /* "" or "a/b" (no leading '/', trailing '/' removed) */
};
/* Parse "s3://bucket[/prefix]". Bucket names: 3..63 of [a-z0-9.-]
 * (underscores and upper case tolerated for custom servers); the prefix
 * may hold any bytes but NUL (spaces, UTF-8). */
int s3_url_parse(const char *url, struct s3_url *u);
void s3_url_free(struct s3_url *u);
/* prefix "/" rel, or rel when prefix is empty; malloc'd (NULL + message). */
char *s3_key_join(const char *prefix, const char *rel);

/* ---- client ---------------------------------------------------------- */

#define S3_ADDR_AUTO     0
#define S3_ADDR_PATH     1
#define S3_ADDR_VIRTUAL  2

struct s3_opts {
	const char *curl;               /* NULL: $FCSNAP_CURL, else "curl" in PATH */
	int addressing;                 /* S3_ADDR_*; AUTO follows awsconf */
	long long connect_timeout_ms;   /* default 30 s */
	long long max_time_ms;          /* whole request; 0 = no limit (default) */
	long long stall_ms;             /* abort (and retry) when no byte moves
	                                   for this long; default 120 s */
	int retries;                    /* transient retries; default 5; 0 = none */
	long long backoff_ms;           /* first backoff; doubles, max 30 s; default 250 ms */
};
#define S3_OPTS_INIT { NULL, S3_ADDR_AUTO, 30000, 0, 120000, 5, 250 }

struct s3 {
	const struct awsconf *conf;     /* borrowed: must outlive the client */
	struct s3_opts o;
	char *bucket;
	char curl[4096];
	int path_style;
	char *scheme;                   /* "https" or "http" */
	char *host;                     /* Host header value (with :port if any) */
	char *base;                     /* path prefix from the endpoint, "" or "/x" */
};

/* Set up a client for bucket. Checks that curl can be run. o may be NULL
 * (defaults). 0 or -1 with a message. */
int s3_open(struct s3 *c, const struct awsconf *conf, const char *bucket,
    const struct s3_opts *o);
void s3_close(struct s3 *c);

/* ---- requests -------------------------------------------------------- */

struct s3_result {
	int ok;                 /* 2xx */
	int not_found;          /* 404 (NoSuchKey, or HEAD of a missing key) */
	int http_status;        /* 0 when no response arrived */
	int curl_exit;          /* curl's exit status (0 ok) */
	int attempts;
	char *body;             /* memory body, or the error body; NUL-terminated */
	size_t body_len;
	off_t out_bytes;        /* bytes written to out_fd */
	unsigned char sha256[SHA256_LEN];       /* of the body, with hash_body */
	long long content_length;       /* -1 if absent */
	char etag[80];
	char err[512];          /* one line when !ok */
};

/* One piece of a request body: memory (mem != NULL) or len bytes of the
 * file fd at off (holes read as zeros). */
struct s3_seg {
	const void *mem;
	int fd;
	off_t off;
	size_t len;
};

struct s3_req {
	const char *method;             /* GET, PUT, HEAD, DELETE, POST */
	const char *key;                /* unencoded object key; NULL/"" = bucket */
	const struct sigv4_param *query;
	size_t nquery;
	const struct sigv4_header *headers;     /* extra headers, all signed */
	size_t nheaders;
	/* request body: a file range, or memory, or none (body_fd < 0, no mem) */
	int body_fd;
	off_t body_off, body_len;
	const void *body_mem;
	size_t body_mem_len;
	const char *payload_hash;       /* hex sha256 of the body; NULL: the
	                                   hash of an empty body without a body,
	                                   UNSIGNED-PAYLOAD with one (memory
	                                   bodies are hashed here) */
	/* response body: to out_fd at out_off (pwrite), else memory */
	int out_fd;
	off_t out_off;
	size_t mem_max;                 /* memory body cap; 0 = 64 MiB */
	int hash_body;                  /* sha256 of the response body */
	void *udata;                    /* the caller's */
	struct s3_result *res;          /* set by s3_pool_start/s3_do */
	/* or a body made of pieces, sent in order (used when nsegs > 0;
	   body_fd must be -1 and body_mem NULL); all must stay valid until
	   the request is returned */
	const struct s3_seg *segs;
	size_t nsegs;
};
/* A request with no body and the response in memory. */
#define S3_REQ_INIT { "GET", NULL, NULL, 0, NULL, 0, -1, 0, 0, NULL, 0, NULL, -1, 0, 0, 0, NULL, NULL, NULL, 0 }

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

/* ---- helpers: 0 ok; 1 no such object (HEAD/GET); -1 error (message) --- */

int s3_put_mem(struct s3 *c, const char *key, const void *buf, size_t n);
/* PUT a file range; sha256hex NULL = UNSIGNED-PAYLOAD. */
int s3_put_file(struct s3 *c, const char *key, int fd, off_t off, off_t len,
    const char *sha256hex);
/* GET into fd at off; *n = bytes written; sha (may be NULL) = their hash. */
int s3_get_fd(struct s3 *c, const char *key, int fd, off_t off, off_t *n,
    unsigned char sha[SHA256_LEN]);
/* GET into a malloc'd NUL-terminated buffer of at most max bytes. */
int s3_get_mem(struct s3 *c, const char *key, size_t max, char **buf, size_t *n);
/* HEAD: *size = Content-Length (may be NULL). */
int s3_head(struct s3 *c, const char *key, long long *size);
int s3_delete(struct s3 *c, const char *key);

/* ---- ListObjectsV2 --------------------------------------------------- */

struct s3_obj {
	char *key;
	long long size;
	char *etag;
};
struct s3_list {
	struct s3_obj *objs;
	size_t n, cap;
	char **prefixes;        /* CommonPrefixes/Prefix with a delimiter */
	size_t nprefixes, capprefixes;
};
/* List every key under prefix (all pages; max_keys per page, 0 = server
 * default). delimiter may be NULL. 0 or -1 (message). */
int s3_list(struct s3 *c, const char *prefix, const char *delimiter, int max_keys,
    struct s3_list *out);
void s3_list_free(struct s3_list *l);
/* Parse one ListObjectsV2 page into l (appending); *truncated and
 * *next_token (malloc'd, NULL when absent). Exposed for tests. */
int s3_list_parse(const char *xml, size_t n, struct s3_list *l, int *truncated,
    char **next_token);

/* The text of the first <tag>...</tag> in [xml, xml+n), entities decoded
 * (&amp; &lt; &gt; &quot; &apos; &#N; &#xH;). malloc'd, NULL if absent. */
char *s3_xml_text(const char *xml, size_t n, const char *tag);

/* One request's part of a curl config (exposed for tests): URL, method,
 * headers including Authorization, options; the body (when body_fd >= 0)
 * read from /dev/fd/<body_fd> with an explicit Content-Length; with a
 * token, a write-out line "<token> <http_code> <size_download>" ends the
 * response. malloc'd, NULL + message. */
char *s3_curl_config(struct s3 *c, const struct s3_req *r, int body_fd, const char *token);
/* Does r send a body (PUT/POST, or any body given), and how long is it. */
int s3_req_has_body(const struct s3_req *r);
off_t s3_req_body_len(const struct s3_req *r);

#endif
