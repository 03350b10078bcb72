/* libFuzzer target: the meta.json reader (meta_read), for a snapshot's
 * meta.json pulled from a bucket or found in the store.
 *
 * The input is written as meta.json into a private dir and read back with
 * meta_read.  A meta.json that reads must survive a round trip: what
 * meta_to_json writes of it reads again to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meta.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct meta m, m2;
	char *a, *b;

	fuzz_put("meta.json", data, size);
	meta_init(&m);
	meta_init(&m2);
	if (meta_read(fuzz_dir(), &m) == 0) {
		if (m.nfc_args < 0 || m.nfc_args > META_MAX_ARGS ||
		    m.nrun_cmd < 0 || m.nrun_cmd > META_MAX_ARGS)
			abort();
		a = meta_to_json(&m);
		if (!a)
			abort();
		fuzz_put("meta.json", a, strlen(a));
		if (meta_read(fuzz_dir(), &m2) < 0)
			abort();
		b = meta_to_json(&m2);
		if (!b || strcmp(a, b))
			abort();
		free(a);
		free(b);
	} else if (!meta_reason()[0]) {
		abort();
	}
	meta_free(&m);
	meta_free(&m2);
	return 0;
}
