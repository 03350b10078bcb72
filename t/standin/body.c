/* body: strict validation of request bodies, like Firecracker's serde
 * structs with deny_unknown_fields.  Messages follow serde_json's wording:
 *   An error occurred when deserializing the json body of a request:
 *   unknown field `x`, expected one of `a`, `b` at line 1 column 7.
 * Fields added after Firecracker 1.7 carry the version that introduced
 * them; an older FCSTANDIN_VERSION treats them as unknown.
 */
#include "standin.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

enum ftype { F_STR, F_BOOL, F_INT, F_ENUM, F_OBJ, F_ARR };

struct schema;
struct field {
	const char *name;
	enum ftype type;
	int required;
	const char *intty;              /* "u8", "u16", "u32", "u64", "usize" */
	const char *const *enumv;
	const struct schema *sub;       /* F_OBJ, or F_ARR element */
	int smaj, smin;                 /* introduced in (0 = always) */
};

struct schema {
	const char *name;               /* Rust struct name for messages */
	const struct field *f;
};

static const char *const e_cache[] = { "Unsafe", "Writeback", NULL };
static const char *const e_io[] = { "Sync", "Async", NULL };
static const char *const e_tmpl[] = { "C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None", NULL };
static const char *const e_huge[] = { "None", "2M", NULL };
static const char *const e_action[] = { "FlushMetrics", "InstanceStart", "SendCtrlAltDel", NULL };
static const char *const e_vm[] = { "Paused", "Resumed", NULL };
static const char *const e_snap[] = { "Full", "Diff", NULL };
static const char *const e_backend[] = { "File", "Uffd", NULL };
static const char *const e_level[] = { "Error", "Warning", "Info", "Debug", "Trace", "Off", NULL };

static const struct field f_bucket[] = {
	{ "size", F_INT, 1, "u64", NULL, NULL, 0, 0 },
	{ "one_time_burst", F_INT, 0, "u64", NULL, NULL, 0, 0 },
	{ "refill_time", F_INT, 1, "u64", NULL, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };
static const struct schema s_bucket = { "TokenBucketConfig", f_bucket };

static const struct field f_rl[] = {
	{ "bandwidth", F_OBJ, 0, NULL, NULL, &s_bucket, 0, 0 },
	{ "ops", F_OBJ, 0, NULL, NULL, &s_bucket, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };
static const struct schema s_rl = { "RateLimiterConfig", f_rl };

static const struct field f_boot[] = {
	{ "kernel_image_path", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "initrd_path", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ "boot_args", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_drive[] = {
	{ "drive_id", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "partuuid", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ "is_root_device", F_BOOL, 1, NULL, NULL, NULL, 0, 0 },
	{ "cache_type", F_ENUM, 0, NULL, e_cache, NULL, 0, 0 },
	{ "is_read_only", F_BOOL, 0, NULL, NULL, NULL, 0, 0 },
	{ "path_on_host", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ "rate_limiter", F_OBJ, 0, NULL, NULL, &s_rl, 0, 0 },
	{ "io_engine", F_ENUM, 0, NULL, e_io, NULL, 0, 0 },
	{ "socket", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_pdrive[] = {
	{ "drive_id", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "path_on_host", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ "rate_limiter", F_OBJ, 0, NULL, NULL, &s_rl, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_machine[] = {
	{ "vcpu_count", F_INT, 1, "u8", NULL, NULL, 0, 0 },
	{ "mem_size_mib", F_INT, 1, "usize", NULL, NULL, 0, 0 },
	{ "smt", F_BOOL, 0, NULL, NULL, NULL, 0, 0 },
	{ "cpu_template", F_ENUM, 0, NULL, e_tmpl, NULL, 0, 0 },
	{ "track_dirty_pages", F_BOOL, 0, NULL, NULL, NULL, 0, 0 },
	{ "huge_pages", F_ENUM, 0, NULL, e_huge, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_pmachine[] = {
	{ "vcpu_count", F_INT, 0, "u8", NULL, NULL, 0, 0 },
	{ "mem_size_mib", F_INT, 0, "usize", NULL, NULL, 0, 0 },
	{ "smt", F_BOOL, 0, NULL, NULL, NULL, 0, 0 },
	{ "cpu_template", F_ENUM, 0, NULL, e_tmpl, NULL, 0, 0 },
	{ "track_dirty_pages", F_BOOL, 0, NULL, NULL, NULL, 0, 0 },
	{ "huge_pages", F_ENUM, 0, NULL, e_huge, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_net[] = {
	{ "iface_id", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "host_dev_name", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "guest_mac", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ "mtu", F_INT, 0, "u16", NULL, NULL, 1, 16 },
	{ "rx_rate_limiter", F_OBJ, 0, NULL, NULL, &s_rl, 0, 0 },
	{ "tx_rate_limiter", F_OBJ, 0, NULL, NULL, &s_rl, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_pnet[] = {
	{ "iface_id", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "rx_rate_limiter", F_OBJ, 0, NULL, NULL, &s_rl, 0, 0 },
	{ "tx_rate_limiter", F_OBJ, 0, NULL, NULL, &s_rl, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_vsock[] = {
	{ "vsock_id", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ "guest_cid", F_INT, 1, "u32", NULL, NULL, 0, 0 },
	{ "uds_path", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_action[] = {
	{ "action_type", F_ENUM, 1, NULL, e_action, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_vm[] = {
	{ "state", F_ENUM, 1, NULL, e_vm, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_create[] = {
	{ "snapshot_type", F_ENUM, 0, NULL, e_snap, NULL, 0, 0 },
	{ "snapshot_path", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "mem_file_path", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_backend[] = {
	{ "backend_path", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "backend_type", F_ENUM, 1, NULL, e_backend, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };
static const struct schema s_backend = { "MemBackendConfig", f_backend };

static const struct field f_netov[] = {
	{ "iface_id", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "host_dev_name", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };
static const struct schema s_netov = { "NetworkOverride", f_netov };

static const struct field f_vsockov[] = {
	{ "uds_path", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };
static const struct schema s_vsockov = { "VsockOverride", f_vsockov };

static const struct field f_load[] = {
	{ "snapshot_path", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ "mem_file_path", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ "mem_backend", F_OBJ, 0, NULL, NULL, &s_backend, 0, 0 },
	{ "enable_diff_snapshots", F_BOOL, 0, NULL, NULL, NULL, 0, 0 },
	{ "track_dirty_pages", F_BOOL, 0, NULL, NULL, NULL, 1, 13 },
	{ "resume_vm", F_BOOL, 0, NULL, NULL, NULL, 0, 0 },
	{ "network_overrides", F_ARR, 0, NULL, NULL, &s_netov, 1, 12 },
	{ "vsock_override", F_OBJ, 0, NULL, NULL, &s_vsockov, 1, 16 },
	{ "clock_realtime", F_BOOL, 0, NULL, NULL, NULL, 1, 16 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_logger[] = {
	{ "log_path", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ "level", F_ENUM, 0, NULL, e_level, NULL, 0, 0 },
	{ "show_level", F_BOOL, 0, NULL, NULL, NULL, 0, 0 },
	{ "show_log_origin", F_BOOL, 0, NULL, NULL, NULL, 0, 0 },
	{ "module", F_STR, 0, NULL, NULL, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_metrics[] = {
	{ "metrics_path", F_STR, 1, NULL, NULL, NULL, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct field f_entropy[] = {
	{ "rate_limiter", F_OBJ, 0, NULL, NULL, &s_rl, 0, 0 },
	{ NULL, 0, 0, NULL, NULL, NULL, 0, 0 } };

static const struct {
	const char *what;
	struct schema s;
} schemas[] = {
	{ "BootSource", { "BootSourceConfig", f_boot } },
	{ "Drive", { "BlockDeviceConfig", f_drive } },
	{ "PartialDrive", { "BlockDeviceUpdateConfig", f_pdrive } },
	{ "MachineConfiguration", { "MachineConfig", f_machine } },
	{ "PartialMachineConfiguration", { "MachineConfigUpdate", f_pmachine } },
	{ "NetworkInterface", { "NetworkInterfaceConfig", f_net } },
	{ "PartialNetworkInterface", { "NetworkInterfaceUpdateConfig", f_pnet } },
	{ "Vsock", { "VsockDeviceConfig", f_vsock } },
	{ "InstanceActionInfo", { "ActionBody", f_action } },
	{ "Vm", { "Vm", f_vm } },
	{ "SnapshotCreateParams", { "CreateSnapshotParams", f_create } },
	{ "SnapshotLoadParams", { "LoadSnapshotConfig", f_load } },
	{ "Logger", { "LoggerConfig", f_logger } },
	{ "Metrics", { "MetricsConfig", f_metrics } },
	{ "EntropyDevice", { "EntropyDeviceConfig", f_entropy } },
};

int
version_ge(int maj, int min)
{
	return S.vmaj > maj || (S.vmaj == maj && S.vmin >= min);
}

static int
field_known(const struct field *f)
{
	return f->smaj == 0 || version_ge(f->smaj, f->smin);
}

struct vctx {
	const char *js;
	size_t n;
	const struct json_tok *t;
	char *err;
	size_t errn;
};

/* serde's position: line and column of the last consumed byte (end is
 * exclusive). */
static void
position(const char *js, size_t end, int *line, int *col)
{
	size_t i, ls = 0;

	*line = 1;
	for (i = 0; i < end; i++)
		if (js[i] == '\n') {
			(*line)++;
			ls = i + 1;
		}
	*col = (int)(end - ls);
}

static int
verr(struct vctx *c, size_t end, const char *fmt_, ...) __attribute__((format(printf, 3, 4)));

static int
verr(struct vctx *c, size_t end, const char *fmt_, ...)
{
	char msg[1024];
	va_list ap;
	int line, col;

	va_start(ap, fmt_);
	vsnprintf(msg, sizeof msg, fmt_, ap);
	va_end(ap);
	position(c->js, end, &line, &col);
	snprintf(c->err, c->errn, "An error occurred when deserializing the json body of a "
		"request: %s at line %d column %d.", msg, line, col);
	return -1;
}

/* Exclusive end of token i in the text (strings: after the quote). */
static size_t
tok_end(const struct json_tok *t, int i)
{
	return (size_t)t[i].end + (t[i].type == JSON_STRING);
}

/* serde's "unexpected" rendering of a value. */
static void
unexpected(struct vctx *c, int i, char *out, size_t n)
{
	const struct json_tok *t = c->t;
	char s[256];
	int len = t[i].end - t[i].start;

	switch (t[i].type) {
	case JSON_STRING:
		if (json_str(c->js, t, i, s, sizeof s) < 0)
			snprintf(s, sizeof s, "%.*s", len > 200 ? 200 : len, c->js + t[i].start);
		snprintf(out, n, "string \"%s\"", s);
		break;
	case JSON_NUMBER:
		if (memchr(c->js + t[i].start, '.', len) || memchr(c->js + t[i].start, 'e', len) ||
		    memchr(c->js + t[i].start, 'E', len))
			snprintf(out, n, "floating point `%.*s`", len, c->js + t[i].start);
		else
			snprintf(out, n, "integer `%.*s`", len, c->js + t[i].start);
		break;
	case JSON_TRUE: snprintf(out, n, "boolean `true`"); break;
	case JSON_FALSE: snprintf(out, n, "boolean `false`"); break;
	case JSON_NULL: snprintf(out, n, "null"); break;
	case JSON_ARRAY: snprintf(out, n, "sequence"); break;
	case JSON_OBJECT: snprintf(out, n, "map"); break;
	default: snprintf(out, n, "value"); break;
	}
}

/* serde's OneOf: "`a`", "`a` or `b`", "one of `a`, `b`, `c`". */
static void
one_of(char *out, size_t n, const char *const *names, int count)
{
	size_t l = 0;
	int i;

	out[0] = 0;
	if (count == 0) {
		snprintf(out, n, "there are no fields");
		return;
	}
	if (count == 1) {
		snprintf(out, n, "`%s`", names[0]);
		return;
	}
	if (count == 2) {
		snprintf(out, n, "`%s` or `%s`", names[0], names[1]);
		return;
	}
	l = (size_t)snprintf(out, n, "one of ");
	for (i = 0; i < count && l < n; i++)
		l += (size_t)snprintf(out + l, n - l, "%s`%s`", i ? ", " : "", names[i]);
}

static int
known_names(const struct schema *s, const char **names, int max)
{
	int k = 0, i;

	for (i = 0; s->f[i].name && k < max; i++)
		if (field_known(&s->f[i]))
			names[k++] = s->f[i].name;
	return k;
}

static const char *
int_range(const char *ty, long long *max)
{
	if (!strcmp(ty, "u8"))
		*max = 255;
	else if (!strcmp(ty, "u16"))
		*max = 65535;
	else if (!strcmp(ty, "u32"))
		*max = 4294967295LL;
	else
		*max = INT64_MAX;
	return ty;
}

static int check_obj(struct vctx *c, int i, const struct schema *s);

static int
check_value(struct vctx *c, int v, const struct field *f)
{
	const struct json_tok *t = c->t;
	char u[300], s[128], exp[512];
	long long max;
	int64_t x;
	int k;

	if (t[v].type == JSON_NULL && !f->required)
		return 0;   /* Option<T>: null is None */
	switch (f->type) {
	case F_STR:
		if (t[v].type != JSON_STRING) {
			unexpected(c, v, u, sizeof u);
			return verr(c, tok_end(t, v), "invalid type: %s, expected a string", u);
		}
		return 0;
	case F_BOOL:
		if (t[v].type != JSON_TRUE && t[v].type != JSON_FALSE) {
			unexpected(c, v, u, sizeof u);
			return verr(c, tok_end(t, v), "invalid type: %s, expected a boolean", u);
		}
		return 0;
	case F_INT:
		int_range(f->intty, &max);
		if (t[v].type != JSON_NUMBER) {
			unexpected(c, v, u, sizeof u);
			return verr(c, tok_end(t, v), "invalid type: %s, expected %s", u, f->intty);
		}
		unexpected(c, v, u, sizeof u);
		if (json_int(c->js, t, v, &x) < 0) {
			if (!strncmp(u, "floating", 8))
				return verr(c, tok_end(t, v), "invalid type: %s, expected %s", u, f->intty);
			return verr(c, tok_end(t, v), "invalid value: %s, expected %s", u, f->intty);
		}
		if (x < 0 || x > max)
			return verr(c, tok_end(t, v), "invalid value: %s, expected %s", u, f->intty);
		return 0;
	case F_ENUM:
		if (t[v].type != JSON_STRING) {
			unexpected(c, v, u, sizeof u);
			return verr(c, tok_end(t, v), "invalid type: %s, expected variant identifier", u);
		}
		for (k = 0; f->enumv[k]; k++)
			if (json_str(c->js, t, v, s, sizeof s) >= 0 && !strcmp(s, f->enumv[k]))
				return 0;
		one_of(exp, sizeof exp, (const char *const *)f->enumv, k);
		if (json_str(c->js, t, v, s, sizeof s) < 0)
			snprintf(s, sizeof s, "?");
		return verr(c, tok_end(t, v), "unknown variant `%s`, expected %s", s, exp);
	case F_OBJ:
		return check_obj(c, v, f->sub);
	case F_ARR:
		if (t[v].type != JSON_ARRAY) {
			unexpected(c, v, u, sizeof u);
			return verr(c, tok_end(t, v), "invalid type: %s, expected a sequence", u);
		}
		for (k = 0; k < t[v].size; k++)
			if (check_obj(c, json_index(t, v, k), f->sub) < 0)
				return -1;
		return 0;
	}
	return 0;
}

static int
check_obj(struct vctx *c, int i, const struct schema *s)
{
	const struct json_tok *t = c->t;
	const char *names[32];
	char key[128], u[300], exp[1024];
	unsigned seen = 0;
	int n, j, k, nn;

	if (t[i].type != JSON_OBJECT) {
		unexpected(c, i, u, sizeof u);
		return verr(c, tok_end(t, i), "invalid type: %s, expected struct %s", u, s->name);
	}
	n = t[i].size;
	j = i + 1;
	while (n-- > 0) {
		if (json_str(c->js, t, j, key, sizeof key) < 0)
			snprintf(key, sizeof key, "%.*s", t[j].end - t[j].start > 100 ? 100 :
				t[j].end - t[j].start, c->js + t[j].start);
		for (k = 0; s->f[k].name; k++)
			if (!strcmp(s->f[k].name, key) && field_known(&s->f[k]))
				break;
		if (!s->f[k].name) {
			nn = known_names(s, names, 32);
			one_of(exp, sizeof exp, names, nn);
			return verr(c, tok_end(t, j), "unknown field `%s`, expected %s", key, exp);
		}
		if (seen & (1u << k))
			return verr(c, tok_end(t, j), "duplicate field `%s`", key);
		seen |= 1u << k;
		if (check_value(c, j + 1, &s->f[k]) < 0)
			return -1;
		j = json_next(t, j + 1);
	}
	for (k = 0; s->f[k].name; k++)
		if (s->f[k].required && !(seen & (1u << k)))
			return verr(c, (size_t)t[i].end, "missing field `%s`", s->f[k].name);
	return 0;
}

/* serde_json's wording for a syntax error at pos: after '{' or an
 * object's ',' a key must follow, after any ',' a closing bracket is a
 * trailing comma.  NULL: none of these. */
static const char *
syntax_msg(const char *js, size_t n, size_t pos)
{
	char stack[64], prev = 0;
	int depth = 0, instr = 0;
	size_t i;

	if (pos >= n)
		return NULL;
	for (i = 0; i < pos; i++) {
		char ch = js[i];

		if (instr) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				instr = 0;
			prev = '"';
			continue;
		}
		if (ch == '"')
			instr = 1;
		else if ((ch == '{' || ch == '[') && depth < (int)sizeof stack)
			stack[depth++] = ch;
		else if ((ch == '}' || ch == ']') && depth > 0)
			depth--;
		if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
			prev = ch;
	}
	if (prev == ',' && (js[pos] == '}' || js[pos] == ']'))
		return "trailing comma";
	if (depth > 0 && stack[depth - 1] == '{' && (prev == '{' || prev == ',') &&
	    js[pos] != '"' && js[pos] != '}')
		return "key must be a string";
	return NULL;
}

int
body_parse(const char *what, const char *js, size_t n, struct json_tok *t, int nt,
	char *err, size_t errn)
{
	struct vctx c = { js, n, t, err, errn };
	const struct schema *s = NULL;
	size_t pos = 0;
	size_t k;
	int r;

	for (k = 0; k < ARRAY_LEN(schemas); k++)
		if (!strcmp(schemas[k].what, what))
			s = &schemas[k].s;
	if (!s) {
		snprintf(err, errn, "fc-standin: no schema for %s", what);
		return -1;
	}
	r = json_parse(js, n, t, nt, &pos);
	if (r < 0) {
		const char *m = r == JSON_EPART ? "EOF while parsing a value" :
			r == JSON_EDEPTH ? "recursion limit exceeded" :
			r == JSON_ENOMEM ? "too many values" : "expected value";
		if (pos > n)
			pos = n;
		if (r != JSON_EPART && r != JSON_EDEPTH && r != JSON_ENOMEM && syntax_msg(js, n, pos))
			m = syntax_msg(js, n, pos);
		return verr(&c, pos + (pos < n), "%s", m);
	}
	if (check_obj(&c, 0, s) < 0)
		return -1;
	return r;
}

int
body_has(const char *js, const struct json_tok *t, int obj, const char *key)
{
	int v = json_get(js, t, obj, key);

	return v >= 0 && t[v].type != JSON_NULL;
}

const char *
body_str(const char *js, const struct json_tok *t, const char *key, char *buf, size_t n,
	const char *def)
{
	int v = json_get(js, t, 0, key);

	if (v >= 0 && t[v].type == JSON_STRING && json_str(js, t, v, buf, n) >= 0)
		return buf;
	if (!def) {
		buf[0] = 0;
		return NULL;
	}
	if (def != buf)
		snprintf(buf, n, "%s", def);
	return buf;
}

long long
body_int(const char *js, const struct json_tok *t, int obj, const char *key, long long def)
{
	int v = json_get(js, t, obj, key);
	int64_t x;

	if (v < 0 || json_int(js, t, v, &x) < 0)
		return def;
	return x;
}

int
body_bool(const char *js, const struct json_tok *t, int obj, const char *key, int def)
{
	int v = json_get(js, t, obj, key);
	int b;

	if (v < 0 || json_bool(t, v, &b) < 0)
		return def;
	return b;
}
