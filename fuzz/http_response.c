/* libFuzzer target: the incremental HTTP response parser.
 *
 * Input: byte 0 picks HEAD-or-not and a split seed; the rest is the
 * server's byte stream.  The stream is parsed twice, once in one piece and
 * once in pseudo-random splits (including 1-byte pieces), taking every
 * complete response (pipelining) and finishing with EOF.  Both runs must
 * agree exactly, and every response must hold its invariants.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define MAX_BODY 4096
#define MAX_RESP 8

struct result {
	int n;                  /* responses taken */
	int status[MAX_RESP];
	size_t body_len[MAX_RESP];
	uint32_t body_sum[MAX_RESP];
	int nhdr[MAX_RESP];
	int end;                /* -1 error, 0 incomplete, 1 eof ok */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t
sum(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static void
check(const struct http_response *r, struct result *res)
{
	int i;

	if (r->status < 200 || r->status > 599)
		abort();
	if (r->body_len > MAX_BODY || (r->body_len && (!r->body || r->body[r->body_len])))
		abort();
	if (r->nhdr < 0 || r->nhdr > HTTP_MAX_HEADERS)
		abort();
	for (i = 0; i < r->nhdr; i++)
		if (!r->hdr[i].name[0] || strlen(r->hdr[i].value) > HTTP_MAX_HEADER)
			abort();
	if (r->nhdr && http_header(r, r->hdr[0].name) == NULL)
		abort();
	if (res->n < MAX_RESP) {
		res->status[res->n] = r->status;
		res->body_len[res->n] = r->body_len;
		res->body_sum[res->n] = sum(r->body ? r->body : "", r->body_len);
		res->nhdr[res->n] = r->nhdr;
	}
	res->n++;
}

static void
run(const uint8_t *data, size_t size, int head, uint32_t seed, int split, struct result *res)
{
	struct http_parser *p = http_parser_new(head, MAX_BODY);
	struct http_response r;
	size_t off = 0, k, used;
	int rc = 0;

	memset(res, 0, sizeof *res);
	if (!p)
		abort();
	while (off < size) {
		k = size - off;
		if (split) {
			seed = seed * 1103515245u + 12345u;
			k = 1 + (seed >> 16) % (seed & 0x100 ? 3 : 64);
			if (k > size - off)
				k = size - off;
		}
		rc = http_parser_feed(p, (const char *)data + off, k, &used);
		if (used > k)
			abort();
		if (rc < 0) {
			res->end = -1;
			http_parser_free(p);
			return;
		}
		off += used;
		if (rc == 1) {
			http_parser_take(p, &r);
			check(&r, res);
			http_response_free(&r);
		} else if (used != k) {
			abort();        /* incomplete must consume everything */
		}
	}
	rc = http_parser_eof(p);
	if (rc == 1) {
		http_parser_take(p, &r);
		check(&r, res);
		http_response_free(&r);
	}
	res->end = rc;
	http_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result a, b;
	int head;
	uint32_t seed;

	if (size < 1)
		return 0;
	head = data[0] & 1;
	seed = data[0];
	run(data + 1, size - 1, head, seed, 0, &a);
	run(data + 1, size - 1, head, seed, 1, &b);
	if (memcmp(&a, &b, sizeof a))
		abort();
	return 0;
}
