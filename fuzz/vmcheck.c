/* libFuzzer target: vmcheck_config, the check of a GET /vm/config answer
 * whose devices a snapshot's vmstate (from a bucket: anyone's) decided.
 *
 * Whatever the input, the check returns 0 or -1 with a message.  An answer
 * it accepts has at its top level no network interface and, if it has
 * drives, exactly one: "rootfs" at "rootfs.ext4" (read-only when asked),
 * and a vsock, if any, at "v.sock": re-checked here through the tokenizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"
#include "vmcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct json_tok t[1024];

static int
is(const char *js, int obj, const char *key, const char *want)
{
	char v[64];
	int i = json_get(js, t, obj, key);

	return i >= 0 && t[i].type == JSON_STRING && json_str(js, t, i, v, sizeof v) >= 0 &&
	    !strcmp(v, want);
}

static void
accepted(const char *js, size_t n, const struct vmcheck_want *w)
{
	int d, v, ro = 0;

	if (json_parse(js, n, t, 1024, NULL) < 0 || t[0].type != JSON_OBJECT)
		abort();
	if ((d = json_get(js, t, 0, "drives")) >= 0) {
		if (t[d].type != JSON_ARRAY || t[d].size != 1)
			abort();
		d = json_index(t, d, 0);
		if (!is(js, d, "drive_id", "rootfs") || !is(js, d, "path_on_host", "rootfs.ext4"))
			abort();
		if (w->disk_ro && (json_bool(t, json_get(js, t, d, "is_read_only"), &ro) < 0 || !ro))
			abort();
	}
	if ((v = json_get(js, t, 0, "network-interfaces")) >= 0 && t[v].type != JSON_NULL &&
	    t[v].size != 0)
		abort();
	if ((v = json_get(js, t, 0, "vsock")) >= 0 && t[v].type != JSON_NULL &&
	    !is(js, v, "uds_path", "v.sock"))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmcheck_want w = { 0 };
	int r;

	w.disk_ro = size > 0 && (data[size - 1] & 1);
	r = vmcheck_config((const char *)data, size, &w);
	if (r != 0 && r != -1)
		abort();
	if (r < 0 && !errmsg()[0])
		abort();
	if (r == 0)
		accepted((const char *)data, size, &w);
	return 0;
}
