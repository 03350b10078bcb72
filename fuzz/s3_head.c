/* libFuzzer target: s3pool's parser of curl's response heads.
 *
 * The input is one header block as curl prints it (-i).  The parse must
 * never read past it, and what it takes must hold its invariants: a final
 * status in 200..999 sets http_status, a Content-Length is -1 or a
 * number, the ETag is NUL-terminated inside its buffer.  A 1xx block
 * leaves the result untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3pool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_result res;
	const char *why = NULL;
	char *s;
	size_t el;
	int st, r;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	memset(&res, 0, sizeof res);
	res.content_length = -7;
	r = s3_parse_head(s, &res, &st, &why);
	if (r < 0) {
		if (!why || !*why)
			abort();
	} else if (st < 100 || st > 999) {
		abort();
	} else if (st < 200) {
		if (res.http_status || res.content_length != -7)
			abort();
	} else {
		if (res.http_status != st || res.content_length < -1)
			abort();
		el = strnlen(res.etag, sizeof res.etag);
		if (el == sizeof res.etag)
			abort();
	}
	free(s);
	return 0;
}
