/* libFuzzer target: the vm.json reader (vm_load), for run/<id>/vm.json in
 * the store.
 *
 * The input is written as run/f/vm.json of a private store and loaded.  A
 * vm.json that loads must survive a round trip: vm_save of it loads again
 * to the same VM, and saving that writes the same text (the writer maps
 * bytes that are not UTF-8 in a string, see json.h, so the text is the
 * fixed point).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"
#include "runreg.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same(const struct vm *a, const struct vm *b)
{
	if (strcmp(a->id, b->id) || a->pid != b->pid || a->pid_start != b->pid_start ||
	    a->owner_pid != b->owner_pid || a->owner_start != b->owner_start ||
	    a->created_ms != b->created_ms || a->agent_port != b->agent_port ||
	    strcmp(a->dir, b->dir))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct store st;
	struct vm v, v2;
	char p[128], *t1, *t2;

	if (!st.root[0]) {
		fuzz_mkdir("run");
		fuzz_mkdir("run/f");
		if (fmt(st.root, sizeof st.root, "%s", fuzz_dir()) < 0)
			abort();
	}
	fuzz_put("run/f/vm.json", data, size);
	if (vm_load(&st, "f", &v) == 0) {
		if (vm_save(&v) < 0 || vm_load(&st, "f", &v2) < 0)
			abort();
		same(&v, &v2);
		t1 = read_file(fuzz_path(p, "run/f/vm.json"), 1 << 20, NULL);
		if (!t1 || vm_save(&v2) < 0)
			abort();
		t2 = read_file(p, 1 << 20, NULL);
		if (!t2 || strcmp(t1, t2))
			abort();
		free(t1);
		free(t2);
	}
	return 0;
}
