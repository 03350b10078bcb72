/* vmcheck: see vmcheck.h. */
#include "vmcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"

#define VMCHECK_TOKENS 1024

/* Keys of GET /vm/config whose content names no host resource a vmstate
 * restores (boot-source, logger and metrics come from the API, not from a
 * snapshot; the rest are guest-side settings). */
static const char *const harmless[] = {
	"balloon", "boot-source", "cpu-config", "entropy", "logger",
	"machine-config", "memory-hotplug", "metrics", "mmds-config", NULL,
};

static int
is_harmless(const char *js, const struct json_tok *t, int key)
{
	int k;

	for (k = 0; harmless[k]; k++)
		if (json_eq(js, t, key, harmless[k]))
			return 1;
	return 0;
}

/* null, [] or {} */
static int
is_empty(const struct json_tok *t, int v)
{
	return t[v].type == JSON_NULL ||
	    ((t[v].type == JSON_ARRAY || t[v].type == JSON_OBJECT) && t[v].size == 0);
}

/* The string at key k of object o; "" when absent or not a string. */
static void
str_at(const char *js, const struct json_tok *t, int o, const char *k, char *out,
    size_t n)
{
	int v = json_get(js, t, o, k);

	out[0] = 0;
	if (v >= 0 && t[v].type == JSON_STRING && json_str(js, t, v, out, n) < 0)
		snprintf(out, n, "(too long)");
}

static int
check_drives(const char *js, const struct json_tok *t, int v, const struct vmcheck_want *w)
{
	char id[64], path[256];
	int d, sock, ro = 0;

	if (t[v].type != JSON_ARRAY)
		return fail("drives is not a list");
	if (t[v].size != 1)
		return fail("it has %d drives, fcsnap attaches one (rootfs)", t[v].size);
	d = json_index(t, v, 0);
	if (t[d].type != JSON_OBJECT)
		return fail("a drive is not an object");
	str_at(js, t, d, "drive_id", id, sizeof id);
	str_at(js, t, d, "path_on_host", path, sizeof path);
	if (strcmp(id, "rootfs"))
		return fail("its drive is '%s', not rootfs", id);
	sock = json_get(js, t, d, "socket");
	if (sock >= 0 && !is_empty(t, sock))
		return fail("drive rootfs is a vhost-user socket, not the file rootfs.ext4");
	if (strcmp(path, "rootfs.ext4"))
		return fail("drive rootfs is at '%s', not rootfs.ext4 in the VM's run dir",
		    path);
	if (w->disk_ro && (json_bool(t, json_get(js, t, d, "is_read_only"), &ro) < 0 || !ro))
		return fail("drive rootfs is read-write; the snapshot's disk is shared and "
		    "must be attached read-only");
	return 0;
}

static int
check_vsock(const char *js, const struct json_tok *t, int v)
{
	char path[256];

	if (t[v].type == JSON_NULL)
		return 0;
	if (t[v].type != JSON_OBJECT)
		return fail("vsock is not an object");
	str_at(js, t, v, "uds_path", path, sizeof path);
	if (strcmp(path, "v.sock"))
		return fail("its vsock socket is '%s', not v.sock in the VM's run dir", path);
	return 0;
}

static int
check_key(const char *js, const struct json_tok *t, int key, const struct vmcheck_want *w)
{
	char name[64];
	int v = key + 1;

	if (json_eq(js, t, key, "drives"))
		return check_drives(js, t, v, w);
	if (json_eq(js, t, key, "vsock"))
		return check_vsock(js, t, v);
	if (json_eq(js, t, key, "network-interfaces")) {
		if (!is_empty(t, v))
			return fail("it attaches host network interfaces (taps); a snapshot "
			    "from elsewhere gets none");
		return 0;
	}
	if (is_harmless(js, t, key) || is_empty(t, v))
		return 0;
	if (json_str(js, t, key, name, sizeof name) < 0)
		snprintf(name, sizeof name, "(a long name)");
	return fail("it has a '%s' device, which may name host files", name);
}

int
vmcheck_config(const char *json, size_t len, const struct vmcheck_want *w)
{
	struct json_tok *t;
	int n, k, key, r = 0;

	if (!(t = calloc(VMCHECK_TOKENS, sizeof *t)))
		return fail("out of memory");
	n = json_parse(json, len, t, VMCHECK_TOKENS, NULL);
	if (n < 0)
		r = fail("GET /vm/config: %s", json_strerror(n));
	else if (t[0].type != JSON_OBJECT)
		r = fail("GET /vm/config: not a JSON object");
	for (k = 0, key = 1; r == 0 && t[0].type == JSON_OBJECT && k < t[0].size;
	    k++, key = json_next(t, key + 1))
		r = check_key(json, t, key, w);
	free(t);
	return r;
}
