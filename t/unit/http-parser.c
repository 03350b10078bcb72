/* Unit tests for the incremental HTTP response parser (http_parser_*). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "util.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

struct got {
	int rc;                 /* 1 complete, 0 needs more, -1 error */
	size_t used;            /* bytes consumed in total */
	enum http_err err;
	struct http_response r;
};

/* Feed s in pieces of `step` bytes (0: one piece); eof: then signal EOF. */
static void
parse(const char *s, size_t n, size_t step, int head, size_t max_body, int eof, struct got *g)
{
	struct http_parser *p = http_parser_new(head, max_body);
	size_t off = 0, k, used;

	memset(g, 0, sizeof *g);
	while (off < n) {
		k = step && step < n - off ? step : n - off;
		g->rc = http_parser_feed(p, s + off, k, &used);
		off += used;
		if (g->rc != 0)
			break;
	}
	if (g->rc == 0 && eof)
		g->rc = http_parser_eof(p);
	g->used = off;
	g->err = http_parser_error(p);
	if (g->rc == 1)
		http_parser_take(p, &g->r);
	http_parser_free(p);
}

/* Feed s split in two at every point; all must equal the one-piece parse. */
static int
same_at_every_split(const char *s, size_t n, int eof)
{
	struct got whole, g;
	struct http_parser *p;
	size_t cut, u1, u2;
	int rc, bad = 0;

	parse(s, n, 0, 0, 1 << 20, eof, &whole);
	for (cut = 0; cut <= n && !bad; cut++) {
		p = http_parser_new(0, 1 << 20);
		rc = http_parser_feed(p, s, cut, &u1);
		u2 = 0;
		if (rc == 0)
			rc = http_parser_feed(p, s + cut, n - cut, &u2);
		if (rc == 0 && eof)
			rc = http_parser_eof(p);
		memset(&g, 0, sizeof g);
		if (rc == 1)
			http_parser_take(p, &g.r);
		if (rc != whole.rc || g.r.status != whole.r.status ||
		    g.r.body_len != whole.r.body_len ||
		    (g.r.body_len && memcmp(g.r.body, whole.r.body, g.r.body_len)) ||
		    g.r.nhdr != whole.r.nhdr || u1 + u2 != whole.used) {
			printf("# split at %zu differs\n", cut);
			bad = 1;
		}
		http_response_free(&g.r);
		http_parser_free(p);
	}
	http_response_free(&whole.r);
	return !bad;
}

static const char resp_len[] =
	"HTTP/1.1 200 OK\r\n"
	"Server: Firecracker API\r\n"
	"Content-Type: application/json\r\n"
	"Content-Length: 27\r\n"
	"\r\n"
	"{\"firecracker_version\":\"1\"}";

static const char resp_chunked[] =
	"HTTP/1.1 200 OK\r\n"
	"Transfer-Encoding: chunked\r\n"
	"\r\n"
	"5;name=value;q=\"a b\"\r\n"
	"hello\r\n"
	"a ; ext\r\n"
	"0123456789\r\n"
	"1\r\n"
	"!\r\n"
	"0;last\r\n"
	"X-Trailer: one\r\n"
	"X-Other: two\r\n"
	"\r\n";

static void
test_basic(void)
{
	struct got g;

	parse(S("HTTP/1.1 204 No Content\r\nServer: Firecracker API\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	is_int(g.rc, 1, "204: complete without a body");
	is_int(g.r.status, 204, "204: status");
	is_str(g.r.reason, "No Content", "204: reason phrase");
	ok(g.r.body == NULL && g.r.body_len == 0, "204: no body");
	is_str(http_header(&g.r, "server"), "Firecracker API", "header lookup is case-insensitive");
	is_str(http_header(&g.r, "SERVER"), "Firecracker API", "header lookup upper case");
	ok(http_header(&g.r, "Content-Length") == NULL, "absent header is NULL");
	is_int(g.r.close, 0, "HTTP/1.1 keeps the connection by default");
	http_response_free(&g.r);

	parse(S(resp_len), 0, 0, 1 << 20, 0, &g);
	is_int(g.rc, 1, "Content-Length: complete");
	is_int(g.used, sizeof resp_len - 1, "Content-Length: all bytes used");
	is_mem(g.r.body, g.r.body_len, "{\"firecracker_version\":\"1\"}", 27, "Content-Length: body");
	is_int(g.r.body[g.r.body_len], 0, "body is NUL-terminated");
	http_response_free(&g.r);

	parse(S(resp_len), 1, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.body_len == 27 && g.used == sizeof resp_len - 1,
	    "Content-Length: byte by byte");
	http_response_free(&g.r);
	ok(same_at_every_split(S(resp_len), 0), "Content-Length: every split point");

	parse(S("HTTP/1.1 200 OK\nContent-Length: 2\n\nhi"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.body_len == 2, "bare LF line ends accepted");
	http_response_free(&g.r);

	parse(S("HTTP/1.1 200\r\nX-Empty:\r\nX-Pad:  \t v a \t \r\nContent-Length: 0\r\n\r\n"),
	    0, 0, 1 << 20, 0, &g);
	is_int(g.rc, 1, "status line without reason phrase");
	is_str(g.r.reason, "", "empty reason");
	is_str(http_header(&g.r, "x-empty"), "", "empty header value");
	is_str(http_header(&g.r, "x-pad"), "v a", "header value OWS trimmed, inner space kept");
	http_response_free(&g.r);

	parse(S("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.body_len == 0, "304: no body despite Content-Length");
	http_response_free(&g.r);

	parse(S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), 0, 1, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.body_len == 0 && g.r.status == 200, "HEAD: no body despite Content-Length");
	http_response_free(&g.r);
}

static void
test_chunked(void)
{
	struct got g;
	size_t step;
	int good = 1;

	parse(S(resp_chunked), 0, 0, 1 << 20, 0, &g);
	is_int(g.rc, 1, "chunked: complete");
	is_int(g.used, sizeof resp_chunked - 1, "chunked: trailers consumed");
	is_mem(g.r.body, g.r.body_len, "hello0123456789!", 16, "chunked: body joined, extensions ignored");
	http_response_free(&g.r);
	for (step = 1; step <= 7; step++) {
		parse(S(resp_chunked), step, 0, 1 << 20, 0, &g);
		if (g.rc != 1 || g.r.body_len != 16)
			good = 0;
		http_response_free(&g.r);
	}
	ok(good, "chunked: pieces of 1..7 bytes");
	ok(same_at_every_split(S(resp_chunked), 0), "chunked: every split point");

	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.body_len == 0, "chunked: empty body, coding name case-insensitive");
	http_response_free(&g.r);

	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "chunked: non-hex size refused");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "chunked: empty size line refused");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "chunked: negative size refused");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5x\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "chunked: junk after size refused");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n"),
	    0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG, "chunked: size over 64 bits refused as too large");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "chunked: data longer than its size refused");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n folded\r\n\r\n"),
	    0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "chunked: folded trailer refused");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnocolon\r\n\r\n"),
	    0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "chunked: trailer without colon refused");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n"),
	    0, 0, 2, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG, "chunked: total over the body limit refused");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfff\r\n"), 0, 0, 100, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG, "chunked: one chunk over the limit refused early");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED && strstr(errmsg(), "Transfer-Encoding"),
	    "transfer coding other than chunked refused");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
	    0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "both Transfer-Encoding and Content-Length refused");
}

static void
test_chunk_line_limit(void)
{
	char *buf = malloc(HTTP_MAX_CHUNK_LINE + 200);
	struct got g;
	int n;

	n = sprintf(buf, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
	memset(buf + n, 'x', HTTP_MAX_CHUNK_LINE);
	n += HTTP_MAX_CHUNK_LINE;
	n += sprintf(buf + n, "\r\na\r\n0\r\n\r\n");
	parse(buf, (size_t)n, 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG, "chunked: extension line over the limit refused");
	free(buf);
}

static void
test_header_limits(void)
{
	char *buf = malloc(HTTP_MAX_HEADER * 2);
	struct got g;
	size_t n;
	int i;

	n = (size_t)sprintf(buf, "HTTP/1.1 200 OK\r\nX-Big: ");
	memset(buf + n, 'a', HTTP_MAX_HEADER);
	n += HTTP_MAX_HEADER;
	n += (size_t)sprintf(buf + n, "\r\n\r\n");
	parse(buf, n, 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG && strstr(errmsg(), "too large"),
	    "header block over HTTP_MAX_HEADER refused");
	parse(buf, n, 1000, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG && g.used <= HTTP_MAX_HEADER + 1000,
	    "oversized header refused before reading it all");

	n = (size_t)sprintf(buf, "HTTP/1.1 204 No Content\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		n += (size_t)sprintf(buf + n, "X-H%d: %d\r\n", i, i);
	strcpy(buf + n, "\r\n");
	parse(buf, n + 2, 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.nhdr == HTTP_MAX_HEADERS, "exactly HTTP_MAX_HEADERS headers accepted");
	is_str(http_header(&g.r, "x-h63"), "63", "last of them readable");
	http_response_free(&g.r);
	n += (size_t)sprintf(buf + n, "X-One-More: 1\r\n\r\n");
	parse(buf, n, 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG, "one header too many refused");
	free(buf);
}

static void
test_garbage(void)
{
	static const char *bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/1.1 600 High\r\n\r\n",
		"HTTP/1.1  200 OK\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"http/1.1 200 OK\r\n\r\n",
		"ICY 200 OK\r\n\r\n",
		"\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nName : x\r\n\r\n",
		"HTTP/1.1 200 OK\r\n: novalue\r\n\r\n",
		"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n\tfolded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x01 b\r\n\r\n",
		"HTTP/1.1 200 O\x7fK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
	};
	struct got g;
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		parse(bad[i], strlen(bad[i]), 0, 0, 1 << 20, 0, &g);
		ok(g.rc == -1 && g.err == HTTP_EMALFORMED && strstr(errmsg(), "malformed"),
		    "garbage %zu refused as malformed: %.*s", i, (int)strcspn(bad[i], "\r\n"), bad[i]);
		if (g.rc == 1)
			http_response_free(&g.r);
	}
	parse(S("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "NUL bytes refused");
	parse(S("HTTP/1.1 204 No Content\r\nX: a\0hidden\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_EMALFORMED, "NUL inside a header value refused");
}

static void
test_repeat_ok(void)
{
	struct got g;

	parse(S("HTTP/1.1 200 OK\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nx"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.body_len == 1, "repeated equal Content-Length accepted");
	http_response_free(&g.r);
	parse(S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n"
	    "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"), 1, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.status == 201 && g.r.nhdr == 1, "interim 1xx responses skipped");
	http_response_free(&g.r);
}

static void
test_body_limit(void)
{
	struct got g;

	parse(S("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"), 0, 0, 10, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG && strstr(errmsg(), "too large"),
	    "Content-Length over the limit refused before the body arrives");
	parse(S("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"), 0, 0, 10, 0, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG, "huge Content-Length refused without overflow");
	parse(S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789"), 0, 0, 10, 0, &g);
	ok(g.rc == 1 && g.r.body_len == 10, "body exactly at the limit accepted");
	http_response_free(&g.r);
	parse(S("HTTP/1.1 200 OK\r\n\r\n0123456789A"), 3, 0, 10, 1, &g);
	ok(g.rc == -1 && g.err == HTTP_ETOOBIG, "close-delimited body over the limit refused");
}

static void
test_pipelined(void)
{
	static const char two[] =
		"HTTP/1.1 204 No Content\r\n\r\n"
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
	struct http_parser *p = http_parser_new(0, 1 << 20);
	struct http_response r;
	size_t used, used2;
	int rc;

	rc = http_parser_feed(p, two, sizeof two - 1, &used);
	is_int(rc, 1, "pipelined: first response complete");
	is_int(used, strlen("HTTP/1.1 204 No Content\r\n\r\n"), "pipelined: stops after the 204");
	http_parser_take(p, &r);
	is_int(r.status, 204, "pipelined: first is the 204");
	http_response_free(&r);
	rc = http_parser_feed(p, two + used, sizeof two - 1 - used, &used2);
	ok(rc == 1 && used + used2 == sizeof two - 1, "pipelined: second response from the rest");
	http_parser_take(p, &r);
	ok(r.status == 200 && r.body_len == 3 && !memcmp(r.body, "abc", 3), "pipelined: second body");
	http_response_free(&r);
	is_int(http_parser_eof(p), -1, "pipelined: EOF before a third is an error");
	http_parser_free(p);
}

static void
test_eof(void)
{
	struct http_parser *p;
	struct got g;
	size_t used;

	parse(S("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close"), 1, 0, 1 << 20, 1, &g);
	ok(g.rc == 1 && g.r.body_len == 11 && g.r.close == 1, "body delimited by close ends at EOF");
	http_response_free(&g.r);
	ok(same_at_every_split(S("HTTP/1.0 200 OK\r\n\r\nbody"), 1), "close-delimited: every split point");
	parse(S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"), 0, 0, 1 << 20, 1, &g);
	ok(g.rc == -1 && g.err == HTTP_ECLOSED && strstr(errmsg(), "mid-response"),
	    "EOF inside a Content-Length body: peer closed mid-response");
	parse(S("HTTP/1.1 200 OK\r\nContent-"), 0, 0, 1 << 20, 1, &g);
	ok(g.rc == -1 && g.err == HTTP_ECLOSED, "EOF inside the header");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), 0, 0, 1 << 20, 1, &g);
	ok(g.rc == -1 && g.err == HTTP_ECLOSED, "EOF inside a chunk");
	parse(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"), 0, 0, 1 << 20, 1, &g);
	ok(g.rc == -1 && g.err == HTTP_ECLOSED, "EOF before the end of trailers");

	p = http_parser_new(0, 100);
	ok(http_parser_eof(p) == -1 && http_parser_error(p) == HTTP_ECLOSED &&
	    strstr(errmsg(), "without a response"), "EOF before any byte: closed without a response");
	http_parser_free(p);

	p = http_parser_new(0, 100);
	http_parser_feed(p, S("HTTP/1.1 204 No Content\r\n\r\n"), &used);
	is_int(http_parser_eof(p), 1, "EOF after a complete response is fine");
	http_parser_free(p);

	p = http_parser_new(0, 100);
	ok(http_parser_feed(p, S("garbage\r\n\r\n"), &used) == -1 &&
	    http_parser_feed(p, S("HTTP/1.1 204 OK\r\n\r\n"), &used) == -1 &&
	    http_parser_eof(p) == -1, "after an error every call fails again");
	http_parser_free(p);
}

static void
test_connection(void)
{
	struct got g;

	parse(S("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.close == 1, "Connection: close");
	http_response_free(&g.r);
	parse(S("HTTP/1.1 204 No Content\r\nConnection: Keep-Alive, CLOSE\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.close == 1, "close token in a list, any case");
	http_response_free(&g.r);
	parse(S("HTTP/1.1 204 No Content\r\nConnection: closed\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.close == 0, "'closed' is not 'close'");
	http_response_free(&g.r);
	parse(S("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.close == 1, "HTTP/1.0 closes by default");
	http_response_free(&g.r);
	parse(S("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"), 0, 0, 1 << 20, 0, &g);
	ok(g.rc == 1 && g.r.close == 0, "HTTP/1.0 with keep-alive stays open");
	http_response_free(&g.r);
}

int
main(void)
{
	test_basic();
	test_chunked();
	test_chunk_line_limit();
	test_header_limits();
	test_garbage();
	test_repeat_ok();
	test_body_limit();
	test_pipelined();
	test_eof();
	test_connection();
	return done_testing();
}
