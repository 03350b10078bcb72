/* s3: S3 requests, signed in-tree (sigv4.h), for curl to carry.
 *
 * Three layers, each using only the ones above it:
 *   s3.h      s3:// URLs, the client (bucket, endpoint, addressing,
 *             credentials), a request (struct s3_req) and its signed curl
 *             config, ListObjectsV2 and XML parsing.  Runs no transfer.
 *   s3pool.h  the transport: runs requests in curl processes, parallel
 *             and batched, classifies failures, retries; s3_do.
 *   s3obj.h   one call per object (PUT, GET, HEAD, DELETE) and LIST of a
 *             prefix, on s3_do.
 *
 * A request's URL, headers (Authorization, x-amz-security-token) and all
 * options go into a curl config (s3_curl_config) that the transport writes
 * to a pipe, so no secret and no URL is ever visible in a process list.
 * Each attempt of a request is signed afresh.
 *
 * Addressing: on AWS (no endpoint configured) virtual-hosted
 *     https://BUCKET.s3.REGION.amazonaws.com/KEY
 * for DNS-safe bucket names without dots, else path-style; with a custom
 * endpoint path-style ENDPOINT/BUCKET/KEY. S3_ADDR_PATH / S3_ADDR_VIRTUAL
 * force either (awsconf's s3 addressing_style is the default).
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

/* The client's settings: addressing here; curl, timeouts, retries and
 * backoff are the transport's (s3pool.h). */
struct s3_opts {
	const char *curl;               /* NULL: $FCSNAP_CURL, else "curl" in PATH */
	int addressing;                 /* S3_ADDR_*; AUTO follows awsconf */
	long long connect_timeout_ms;   /* default 30 s */
	long long max_time_ms;          /* whole request; 0 = no limit (default) */
	long long stall_ms;             /* abort (and retry) when less than
	                                   S3_STALL_RATE bytes a second moved
	                                   over this long; default 120 s */
	int retries;                    /* transient retries; 0 = none; -1 (the
	                                   default): AWS_MAX_ATTEMPTS - 1 (awsconf),
	                                   else 5 */
	long long backoff_ms;           /* first backoff; doubles, max 30 s; default 250 ms */
};
#define S3_OPTS_INIT { NULL, S3_ADDR_AUTO, 30000, 0, 120000, -1, 250 }
/* The slowest an attempt may move on average over the stall timeout: a
 * server that drips a byte a second never stalls, and would hold a
 * request of a 1 GiB chunk for weeks. */
#define S3_STALL_RATE 1024

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

/* One piece of a request body: memory (mem != NULL) or len bytes of the
 * file fd at off (holes read as zeros). */
struct s3_seg {
	const void *mem;
	int fd;
	off_t off;
	size_t len;
};

struct s3_result;                       /* s3pool.h */

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
	size_t mem_max;                 /* body cap: in memory (0 = 64 MiB),
	                                   or to out_fd (0 = none); a longer
	                                   body fails (res->too_big) */
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
