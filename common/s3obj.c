/* s3obj: see s3obj.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3obj.h"
#include "s3pool.h"
#include "util.h"

/* ---- helpers --------------------------------------------------------- */

static int
simple(struct s3 *c, struct s3_req *r, struct s3_result *res)
{
	if (s3_do(c, r, res) == 0)
		return 0;
	return res->not_found ? 1 : -1;
}

int
s3_put_mem(struct s3 *c, const char *key, const void *buf, size_t n)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	char hx[SHA256_HEX_LEN + 1];
	int k;

	sha256_hex_of(buf, n, hx);
	r.method = "PUT";
	r.key = key;
	r.body_mem = buf ? buf : "";
	r.body_mem_len = n;
	r.payload_hash = hx;
	k = simple(c, &r, &res);
	s3_result_free(&res);
	return k < 0 ? -1 : k;
}

int
s3_put_file(struct s3 *c, const char *key, int fd, off_t off, off_t len, const char *sha256hex)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	r.method = "PUT";
	r.key = key;
	r.body_fd = fd;
	r.body_off = off;
	r.body_len = len;
	r.payload_hash = sha256hex;
	k = simple(c, &r, &res);
	s3_result_free(&res);
	return k < 0 ? -1 : k;
}

int
s3_get_fd(struct s3 *c, const char *key, int fd, off_t off, off_t *n, unsigned char sha[SHA256_LEN])
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	r.key = key;
	r.out_fd = fd;
	r.out_off = off;
	r.hash_body = sha != NULL;
	k = simple(c, &r, &res);
	if (k == 0) {
		if (n)
			*n = res.out_bytes;
		if (sha)
			memcpy(sha, res.sha256, SHA256_LEN);
	}
	s3_result_free(&res);
	return k;
}

int
s3_get_mem(struct s3 *c, const char *key, size_t max, char **buf, size_t *n)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	*buf = NULL;
	r.key = key;
	r.mem_max = max;
	k = simple(c, &r, &res);
	if (k == 0) {
		if (!res.body && !(res.body = calloc(1, 1))) {
			s3_result_free(&res);
			return fail("out of memory");
		}
		*buf = res.body;
		if (n)
			*n = res.body_len;
		res.body = NULL;
	}
	s3_result_free(&res);
	return k;
}

int
s3_head(struct s3 *c, const char *key, long long *size)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	r.method = "HEAD";
	r.key = key;
	k = simple(c, &r, &res);
	if (k == 0 && size)
		*size = res.content_length;
	s3_result_free(&res);
	return k;
}

int
s3_delete(struct s3 *c, const char *key)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	r.method = "DELETE";
	r.key = key;
	k = simple(c, &r, &res);
	s3_result_free(&res);
	return k < 0 ? -1 : 0;
}

/* ---- ListObjectsV2 -------------------------------------------------- */

int
s3_list(struct s3 *c, const char *prefix, const char *delimiter, int max_keys, struct s3_list *out)
{
	struct sigv4_param q[5];
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	char mk[16], *token = NULL, *asked = NULL;
	int truncated = 1, rc = 0, pages = 0;
	size_t nq;

	memset(out, 0, sizeof *out);
	snprintf(mk, sizeof mk, "%d", max_keys);
	while (truncated && rc == 0) {
		if (++pages > S3_LIST_MAX_PAGES) {
			rc = fail("listing %s/%s: more than %d pages; a listing is refused past that",
			    c->bucket, prefix ? prefix : "", S3_LIST_MAX_PAGES);
			break;
		}
		nq = 0;
		q[nq++] = (struct sigv4_param){ "list-type", "2" };
		if (prefix && *prefix)
			q[nq++] = (struct sigv4_param){ "prefix", prefix };
		if (delimiter)
			q[nq++] = (struct sigv4_param){ "delimiter", delimiter };
		if (max_keys > 0)
			q[nq++] = (struct sigv4_param){ "max-keys", mk };
		if (token)
			q[nq++] = (struct sigv4_param){ "continuation-token", token };
		r.query = q;
		r.nquery = nq;
		rc = s3_do(c, &r, &res) < 0 ? -1 : 0;
		free(asked);
		asked = token;
		token = NULL;
		if (rc == 0)
			rc = s3_list_parse(res.body ? res.body : "", res.body_len, out, &truncated, &token);
		s3_result_free(&res);
		if (rc == 0 && out->n + out->nprefixes > S3_LIST_MAX_ENTRIES)
			rc = fail("listing %s/%s: more than %d keys; a listing is refused past that",
			    c->bucket, prefix ? prefix : "", S3_LIST_MAX_ENTRIES);
		else if (rc == 0 && truncated && asked && token && !strcmp(asked, token))
			rc = fail("listing %s/%s: the server handed back the continuation token it "
			    "was given: it would never end", c->bucket, prefix ? prefix : "");
	}
	free(asked);
	free(token);
	if (rc < 0)
		s3_list_free(out);
	return rc;
}
