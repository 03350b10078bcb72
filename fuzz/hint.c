/* libFuzzer target: the working-set hint parser (hint_parse), a bucket's
 * list of the memory pages a lazy restore fetches first.
 *
 * The input is given without a terminating NUL.  A hint that parses must
 * hold what pull relies on (at most HINT_MAX_PAGES pages, each below the
 * page count, strictly ascending; format 2's blocks strictly ascending,
 * below mem, masks of 16 bits) and survive a round trip: hint_format (or
 * hint_format_blocks) of it is the input exactly (the form has one
 * spelling).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AT "2026-11-25T00:33:25Z"
#define PAGES 32768

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hint h;
	size_t k, n;
	char *t, *out;

	t = malloc(size ? size : 1);
	if (!t)
		return 0;
	memcpy(t, data, size);
	if (hint_parse(t, size, AT, PAGES, &h) == 0) {
		if (h.n > HINT_MAX_PAGES)
			abort();
		for (k = 0; k < h.n; k++)
			if (h.pages[k] >= PAGES || (k && h.pages[k] <= h.pages[k - 1]))
				abort();
		for (k = 0; k < h.nblk; k++)
			if (h.blk[k].block >= PAGES / 16 || h.blk[k].mask > 0xffff ||
			    (k && h.blk[k].block <= h.blk[k - 1].block))
				abort();
		if (h.chunk_size)
			out = hint_format_blocks(AT, h.pages, h.n, h.chunk_size, h.blk, h.nblk, &n);
		else
			out = hint_format(AT, h.pages, h.n, &n);
		if (!out || n != size || memcmp(out, t, n))
			abort();
		free(out);
		hint_free(&h);
	}
	free(t);
	return 0;
}
