/* libFuzzer target: the S3 ListObjectsV2 XML parser (s3_list_parse,
 * s3_xml_text).
 *
 * The input is a bucket's answer, given without a terminating NUL (an
 * exact-size copy, so a read past it is caught).  Every key taken must be
 * a NUL-terminated string and every size non-negative; a truncated page
 * must come with its continuation token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_list l;
	char *xml, *next = NULL, *t;
	int truncated, r;
	size_t i;

	xml = malloc(size ? size : 1);
	if (!xml)
		return 0;
	memcpy(xml, data, size);
	memset(&l, 0, sizeof l);
	r = s3_list_parse(xml, size, &l, &truncated, &next);
	if (r == 0) {
		if (truncated && !next)
			abort();
		for (i = 0; i < l.n; i++)
			if (!l.objs[i].key || l.objs[i].size < 0)
				abort();
		for (i = 0; i < l.nprefixes; i++)
			if (!l.prefixes[i])
				abort();
	}
	free(next);
	s3_list_free(&l);
	t = s3_xml_text(xml, size, "Code");
	free(t);
	free(xml);
	return 0;
}
