/* libFuzzer target: the manifest parser (manifest_parse), a bucket's
 * description of a snapshot.
 *
 * The input is given without a terminating NUL.  A manifest that parses
 * must hold the invariants pull relies on (the three files in order, each
 * with exactly ceil(size / chunk_size) chunks, chunk_size in range), and
 * must survive a round trip: manifest_write of it parses again to the
 * same sizes, modes and chunks, and writing that gives the same text (the
 * writer maps bytes that are not UTF-8 in a string, see json.h, so the
 * text, not the first parse, is the fixed point).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct manifest *m)
{
	const struct mfile *f;
	int k;

	if (m->chunk_size < MANIFEST_MIN_CHUNK || m->chunk_size > MANIFEST_MAX_CHUNK)
		abort();
	for (k = 0; k < MANIFEST_NFILES; k++) {
		f = &m->files[k];
		if (strcmp(f->name, manifest_files[k]) || f->mode > 0777)
			abort();
		if (f->nchunks != (f->size + m->chunk_size - 1) / m->chunk_size)
			abort();
		if (f->nchunks && !f->chunks)
			abort();
	}
}

static void
same(const struct manifest *a, const struct manifest *b)
{
	const struct mfile *x, *y;
	uint64_t i;
	int k;

	if (a->chunk_size != b->chunk_size)
		abort();
	for (k = 0; k < MANIFEST_NFILES; k++) {
		x = &a->files[k];
		y = &b->files[k];
		if (x->size != y->size || x->mode != y->mode || x->nchunks != y->nchunks)
			abort();
		for (i = 0; i < x->nchunks; i++) {
			if (x->chunks[i].zero != y->chunks[i].zero ||
			    x->chunks[i].sparse != y->chunks[i].sparse)
				abort();
			if (!x->chunks[i].zero &&
			    memcmp(x->chunks[i].sha, y->chunks[i].sha, SHA256_LEN))
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m, m2;
	char *js, *out, *out2;

	js = malloc(size ? size : 1);
	if (!js)
		return 0;
	memcpy(js, data, size);
	if (manifest_parse(js, size, &m) == 0) {
		check(&m);
		out = manifest_write(&m);
		if (!out)
			abort();
		if (manifest_parse(out, strlen(out), &m2) < 0)
			abort();
		same(&m, &m2);
		out2 = manifest_write(&m2);
		if (!out2 || strcmp(out, out2))
			abort();
		manifest_free(&m2);
		free(out);
		free(out2);
		manifest_free(&m);
	}
	free(js);
	return 0;
}
