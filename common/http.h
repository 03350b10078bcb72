/* http: a small HTTP/1.1 client over AF_UNIX (and TCP).
 *
 * One connection object, reused across requests (keep-alive); it
 * reconnects transparently once if the peer closed an idle connection
 * before a request was sent.  No global state.  Every failure returns -1
 * with a distinct message (see util.h): socket file missing, connection
 * refused, timed out, peer closed mid-response, malformed response,
 * header/body too large.
 *
 * The response parser is incremental and independent of sockets
 * (http_parser_*), so it can be unit-tested byte by byte and fuzzed.
 */
#ifndef FCSNAP_HTTP_H
#define FCSNAP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADER  (16 * 1024)        /* status line + headers */
#define HTTP_MAX_BODY    (16 * 1024 * 1024) /* default body limit */
#define HTTP_MAX_HEADERS 64

struct http_header {
	char *name, *value;    /* point into the response's header buffer */
};

struct http_response {
	int status;                     /* e.g. 204 */
	char reason[64];
	struct http_header hdr[HTTP_MAX_HEADERS];
	int nhdr;
	char *body;                     /* malloc'd, NUL-terminated; may be NULL if empty */
	size_t body_len;
	int close;                      /* server said Connection: close (or HTTP/1.0) */
	/* private to the parser */
	char *hbuf;
	size_t hlen;
};

/* Case-insensitive header lookup; NULL if absent. */
const char *http_header(const struct http_response *r, const char *name);
void http_response_free(struct http_response *r);

/* Incremental response parser. Feed bytes as they arrive. */
struct http_parser;
struct http_parser *http_parser_new(int head_request, size_t max_body);
/* Returns 1 when the response is complete (*used = bytes consumed from
 * buf; the rest belongs to the next response), 0 when more input is
 * needed, -1 on a malformed or oversized response (message set). */
int http_parser_feed(struct http_parser *p, const char *buf, size_t n, size_t *used);
/* At EOF: a body delimited by close is complete (1); anything else is a
 * truncated response (-1, "peer closed mid-response"). */
int http_parser_eof(struct http_parser *p);
/* Move the completed response out (the caller frees it). */
void http_parser_take(struct http_parser *p, struct http_response *out);
void http_parser_free(struct http_parser *p);

struct http_conn;
/* Does not connect yet; the first request does (so a missing socket is
 * reported by the request). timeout_ms bounds each request (connect +
 * send + receive); 0 means no limit. */
struct http_conn *http_unix(const char *sock_path, int timeout_ms);
struct http_conn *http_tcp(const char *host, int port, int timeout_ms);
void http_set_timeout(struct http_conn *c, int timeout_ms);
void http_close(struct http_conn *c);   /* frees */

/* Send one request and read the whole response into *r (caller frees with
 * http_response_free).  body may be NULL.  content_type may be NULL (then
 * "application/json" is sent when there is a body).  Any status is a
 * success at this layer; callers judge the status. */
int http_request(struct http_conn *c, const char *method, const char *path,
    const char *content_type, const char *body, size_t body_len,
    struct http_response *r);

#endif
