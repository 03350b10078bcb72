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
 *
 * What the parser accepts: "HTTP/1.x NNN [reason]" status lines, header
 * lines "name: value" (names case-insensitive; obsolete line folding,
 * bare CR, control characters and whitespace before the colon are
 * refused), CRLF or bare LF line ends.  Body framing per RFC 9112 6.3:
 * none for HEAD, 1xx, 204 and 304; chunked (extensions ignored, trailers
 * read and discarded); Content-Length; otherwise until the peer closes.
 * Interim 1xx responses (except 101) are skipped.  A response carrying
 * both Transfer-Encoding and Content-Length, or a transfer coding other
 * than "chunked", is refused.  HTTP/1.0 responses close the connection
 * unless they say keep-alive.
 *
 * Unix socket paths longer than sun_path (108 bytes) are reached through
 * /proc/self/fd/N/<name> of an O_PATH descriptor of their directory.
 */
#ifndef FCSNAP_HTTP_H
#define FCSNAP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADER  (16 * 1024)        /* status line + headers */
#define HTTP_MAX_BODY    (16 * 1024 * 1024) /* default body limit */
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_CHUNK_LINE 4096            /* chunk-size line incl. extensions */

/* Kinds of failure, for callers that react differently (e.g. retry while
 * a server is starting).  http_last_error() returns the last one. */
enum http_err {
	HTTP_OK = 0,
	HTTP_ENOSOCK,     /* socket file (or its directory) does not exist */
	HTTP_EREFUSED,    /* nothing listening (stale socket file) */
	HTTP_ETIMEOUT,    /* the request's timeout passed */
	HTTP_ECLOSED,     /* peer closed before or in the middle of the response */
	HTTP_EMALFORMED,  /* not a valid HTTP/1.x response */
	HTTP_ETOOBIG,     /* header or body over its limit */
	HTTP_EIO,         /* any other system error (message has strerror) */
};

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
/* Ready the parser for the next response (keeps max_body). */
void http_parser_reset(struct http_parser *p, int head_request);
/* Returns 1 when the response is complete (*used = bytes consumed from
 * buf; the rest belongs to the next response), 0 when more input is
 * needed, -1 on a malformed or oversized response (message set). */
int http_parser_feed(struct http_parser *p, const char *buf, size_t n, size_t *used);
/* At EOF: a body delimited by close is complete (1); anything else is a
 * truncated response (-1, "peer closed mid-response"). */
int http_parser_eof(struct http_parser *p);
/* Move the completed response out (the caller frees it); the parser is
 * then reset for another response of the same kind. */
void http_parser_take(struct http_parser *p, struct http_response *out);
/* After -1 from feed/eof: HTTP_EMALFORMED, HTTP_ETOOBIG or HTTP_ECLOSED. */
enum http_err http_parser_error(const struct http_parser *p);
void http_parser_free(struct http_parser *p);

struct http_conn;
/* Does not connect yet; the first request does (so a missing socket is
 * reported by the request). timeout_ms bounds each request (connect +
 * send + receive); 0 means no limit. */
struct http_conn *http_unix(const char *sock_path, int timeout_ms);
struct http_conn *http_tcp(const char *host, int port, int timeout_ms);
void http_set_timeout(struct http_conn *c, int timeout_ms);
void http_set_max_body(struct http_conn *c, size_t max_body);
void http_close(struct http_conn *c);   /* frees; NULL is fine */
/* Kind of the last failure of http_request on c (HTTP_OK after success). */
enum http_err http_last_error(const struct http_conn *c);

/* Send one request and read the whole response into *r (caller frees with
 * http_response_free).  body may be NULL.  content_type may be NULL (then
 * "application/json" is sent when there is a body).  Any status is a
 * success at this layer; callers judge the status.
 * A request on a kept-alive connection that the peer has closed while it
 * was idle is sent again once on a new connection: when the close is seen
 * before sending, or (GET/HEAD only) when the peer closes it without
 * answering a single byte.  Returns 0 or -1 (message set, *r empty). */
int http_request(struct http_conn *c, const char *method, const char *path,
    const char *content_type, const char *body, size_t body_len,
    struct http_response *r);

#endif
