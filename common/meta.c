/* meta: see meta.h. */
#include "meta.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include "json.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define META_MAX_BYTES (256 * 1024)
#define META_MAX_TOKS 2048

static _Thread_local char reason[512];

void
meta_init(struct meta *m)
{
	memset(m, 0, sizeof *m);
}

void
meta_free(struct meta *m)
{
	int i;

	for (i = 0; i < m->nfc_args; i++)
		free(m->fc_args[i]);
	for (i = 0; i < m->nrun_cmd; i++)
		free(m->run_cmd[i]);
	m->nfc_args = m->nrun_cmd = 0;
}

const char *
meta_reason(void)
{
	return reason;
}

void
meta_set_created_now(struct meta *m)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(m->created_at, sizeof m->created_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
meta_parse_time(const char *s, int64_t *ms)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return fail("bad time '%s': expected like 2026-11-24T23:20:48Z", s);
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (strcmp(end, "Z"))
		return fail("bad time '%s': expected UTC, ending in Z", s);
	*ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

static int
stat_one(const char *dir, const char *file, struct meta_file *f)
{
	char p[PATH_MAX];
	struct stat st;

	if (path_join(p, sizeof p, dir, file) < 0)
		return -1;
	if (stat(p, &st) < 0)
		return fail_errno("%s", p);
	if (!S_ISREG(st.st_mode))
		return fail("%s: not a regular file", p);
	f->size = (uint64_t)st.st_size;
	f->disk = (uint64_t)st.st_blocks * 512;
	f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	return 0;
}

int
meta_stat_files(struct meta *m, const char *dir)
{
	if (stat_one(dir, "vmstate", &m->vmstate) < 0 ||
	    stat_one(dir, "mem", &m->mem) < 0 ||
	    stat_one(dir, "rootfs.ext4", &m->rootfs) < 0)
		return -1;
	return 0;
}

/* One file beside meta.json: in place, trusted, of the recorded size. */
static int
check_one(const char *dir, const char *file, const struct meta_file *f)
{
	char p[PATH_MAX];
	struct stat st;

	if (path_join(p, sizeof p, dir, file) < 0)
		return -1;
	if (lstat(p, &st) < 0) {
		if (errno == ENOENT)
			return fail("%s is missing", file);
		return fail_errno("%s", file);
	}
	if (stat_trusted(&st, 0) < 0)
		return fail("%s %s", file, errmsg());
	if ((uint64_t)st.st_size != f->size)
		return fail("%s has %lld bytes, meta.json says %llu", file,
		    (long long)st.st_size, (unsigned long long)f->size);
	return 0;
}

int
meta_check_files(const char *dir, const struct meta *m)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return fail_errno("%s", dir);
	if (dir_trusted(&st) < 0)
		return fail("its directory %s (chmod go-w %s)", errmsg(), dir);
	if (check_one(dir, "vmstate", &m->vmstate) < 0 ||
	    check_one(dir, "mem", &m->mem) < 0 ||
	    check_one(dir, "rootfs.ext4", &m->rootfs) < 0)
		return -1;
	return 0;
}

/* Writing. */

static void
put_file(struct jw *w, const char *k, const struct meta_file *f, int disk)
{
	jw_key(w, k);
	jw_obj(w);
	jw_key(w, "size");
	jw_uint(w, f->size);
	if (disk) {
		jw_key(w, "disk");
		jw_uint(w, f->disk);
	}
	if (disk > 1 && f->mtime_ns > 0)
		jw_kint(w, "mtime_ns", f->mtime_ns);
	jw_obj_end(w);
}

static void
put_argv(struct jw *w, const char *k, char *const *v, int n)
{
	int i;

	jw_key(w, k);
	jw_arr(w);
	for (i = 0; i < n; i++)
		jw_str(w, v[i]);
	jw_arr_end(w);
}

static void
put_meta(struct jw *w, const struct meta *m)
{
	jw_obj(w);
	jw_kint(w, "format", 1);
	jw_kstr(w, "name", m->name);
	jw_kstr(w, "created_at", m->created_at);
	jw_kstr(w, "firecracker_version", m->fc_version);
	jw_kstr(w, "cpu_vendor", m->cpu_vendor);
	jw_kstr(w, "kernel", m->kernel);
	jw_kstr(w, "initrd", m->initrd);
	jw_kstr(w, "boot_args", m->boot_args);
	put_argv(w, "firecracker_args", m->fc_args, m->nfc_args);
	jw_kint(w, "mem_mib", m->mem_mib);
	jw_kint(w, "vcpus", m->vcpus);
	jw_kint(w, "agent_port", m->agent_port);
	if (m->nrun_cmd > 0)
		put_argv(w, "run_command", m->run_cmd, m->nrun_cmd);
	jw_kstr(w, "disk", m->disk_shared ? "shared" : "copy");
	if (m->origin_create)
		jw_kstr(w, "origin", "create");
	jw_key(w, "files");
	jw_obj(w);
	put_file(w, "vmstate", &m->vmstate, 0);
	put_file(w, "mem", &m->mem, 1);
	put_file(w, "rootfs.ext4", &m->rootfs, 2);
	jw_obj_end(w);
	jw_obj_end(w);
}

char *
meta_to_json(const struct meta *m)
{
	struct jw w;
	char *s;

	jw_init(&w);
	put_meta(&w, m);
	if (!jw_text(&w)) {
		jw_free(&w);
		fail("out of memory");
		return NULL;
	}
	s = w.buf;
	w.buf = NULL;
	jw_free(&w);
	return s;
}

int
meta_write(const char *dir, const struct meta *m)
{
	char p[PATH_MAX], *s;
	size_t n;
	int rc;

	if (path_join(p, sizeof p, dir, "meta.json") < 0)
		return -1;
	s = meta_to_json(m);
	if (!s)
		return -1;
	n = strlen(s);
	s[n] = '\n';    /* the writer's buffer holds the NUL: room for one byte */
	rc = write_file_atomic(p, s, n + 1, 0644);
	free(s);
	return rc;
}

/* Reading. */

struct rd {
	const char *js;
	struct json_tok *t;
};

static int
bad(const char *f, ...) __attribute__((format(printf, 1, 2)));

static int
bad(const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(reason, sizeof reason, f, ap);
	va_end(ap);
	return -1;
}

/* Key k of obj: -1 missing (error if required), -2 on a type error. */
static int
field(struct rd *r, int obj, const char *k, enum json_type ty, int required)
{
	static const char *names[] = { "none", "an object", "an array", "a string",
		"a number", "a boolean", "a boolean", "null" };
	int i = json_get(r->js, r->t, obj, k);
	enum json_type got;

	if (i < 0) {
		if (required)
			bad("meta.json is damaged: \"%s\" is missing", k);
		return -1;
	}
	got = r->t[i].type;
	if (ty == JSON_TRUE && (got == JSON_TRUE || got == JSON_FALSE))
		return i;
	if (got != ty) {
		bad("meta.json is damaged: \"%s\" should be %s", k, names[ty]);
		return -2;
	}
	return i;
}

/* UTF-8 (so it is written back as read), without control characters
 * unless ctl (an argument may hold a newline; a name or a path may not). */
static int
text_ok(const char *s, int ctl)
{
	const char *p;

	for (p = s; !ctl && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return json_utf8(s, strlen(s));
}

static int
get_str(struct rd *r, int obj, const char *k, char *out, size_t n, int required)
{
	int i = field(r, obj, k, JSON_STRING, required);

	if (i < 0)
		return (i == -1 && !required) ? 0 : -1;
	if (json_str(r->js, r->t, i, out, n) < 0 || !text_ok(out, 0))
		return bad("meta.json is damaged: \"%s\" is too long or badly encoded", k);
	return 0;
}

static int
get_int(struct rd *r, int obj, const char *k, int64_t min, int64_t max, int64_t *v, int required)
{
	int i = field(r, obj, k, JSON_NUMBER, required);

	if (i < 0)
		return (i == -1 && !required) ? 0 : -1;
	if (json_int(r->js, r->t, i, v) < 0 || *v < min || *v > max)
		return bad("meta.json is damaged: \"%s\" should be a whole number "
		    "from %lld to %lld", k, (long long)min, (long long)max);
	return 0;
}

static int
get_argv(struct rd *r, int obj, const char *k, char **v, int *n)
{
	char buf[4096];
	int i = field(r, obj, k, JSON_ARRAY, 0), j, e;

	if (i == -1)
		return 0;
	if (i < 0)
		return -1;
	if (r->t[i].size > META_MAX_ARGS)
		return bad("meta.json is damaged: \"%s\" has more than %d entries", k, META_MAX_ARGS);
	for (j = 0; j < r->t[i].size; j++) {
		e = json_index(r->t, i, j);
		if (e < 0 || r->t[e].type != JSON_STRING ||
		    json_str(r->js, r->t, e, buf, sizeof buf) < 0 || !text_ok(buf, 1))
			return bad("meta.json is damaged: \"%s\" should hold strings", k);
		v[*n] = strdup(buf);
		if (!v[*n])
			return bad("out of memory");
		(*n)++;
	}
	return 0;
}

static int
get_file(struct rd *r, int files, const char *k, struct meta_file *f, int disk)
{
	int i = field(r, files, k, JSON_OBJECT, 1);
	int64_t v;

	if (i < 0)
		return -1;
	if (get_int(r, i, "size", 0, INT64_MAX, &v, 1) < 0)
		return -1;
	f->size = (uint64_t)v;
	v = 0;
	if (get_int(r, i, "disk", 0, INT64_MAX, &v, disk) < 0)
		return -1;
	f->disk = (uint64_t)v;
	v = 0;
	if (disk > 1 && get_int(r, i, "mtime_ns", 0, INT64_MAX, &v, 0) < 0)
		return -1;
	f->mtime_ns = v;
	return 0;
}

/* "disk": "shared" or "copy" (absent: copy, as before it existed) */
static int
get_disk_mode(struct rd *r, struct meta *m)
{
	char mode[16] = "copy";

	if (get_str(r, 0, "disk", mode, sizeof mode, 0) < 0)
		return -1;
	if (strcmp(mode, "shared") && strcmp(mode, "copy"))
		return bad("meta.json is damaged: disk is '%s', not shared or copy", mode);
	m->disk_shared = mode[0] == 's';
	return 0;
}

/* "origin": "create" (absent, or anything else: a snapshot from elsewhere) */
static int
get_origin(struct rd *r, struct meta *m)
{
	char origin[16] = "";

	if (get_str(r, 0, "origin", origin, sizeof origin, 0) < 0)
		return -1;
	m->origin_create = !strcmp(origin, "create");
	return 0;
}

static int
parse_meta(struct rd *r, struct meta *m)
{
	int64_t v;
	int files;

	if (r->t[0].type != JSON_OBJECT)
		return bad("meta.json is damaged: not a JSON object");
	if (get_int(r, 0, "format", 0, INT64_MAX, &v, 1) < 0)
		return -1;
	if (v != 1)
		return bad("meta.json has format %lld, this fcsnap reads format 1: "
		    "upgrade fcsnap", (long long)v);
	if (get_str(r, 0, "name", m->name, sizeof m->name, 1) < 0 ||
	    get_str(r, 0, "created_at", m->created_at, sizeof m->created_at, 1) < 0 ||
	    get_str(r, 0, "firecracker_version", m->fc_version, sizeof m->fc_version, 1) < 0 ||
	    get_str(r, 0, "cpu_vendor", m->cpu_vendor, sizeof m->cpu_vendor, 1) < 0 ||
	    get_str(r, 0, "kernel", m->kernel, sizeof m->kernel, 0) < 0 ||
	    get_str(r, 0, "initrd", m->initrd, sizeof m->initrd, 0) < 0 ||
	    get_str(r, 0, "boot_args", m->boot_args, sizeof m->boot_args, 0) < 0)
		return -1;
	if (get_argv(r, 0, "firecracker_args", m->fc_args, &m->nfc_args) < 0 ||
	    get_argv(r, 0, "run_command", m->run_cmd, &m->nrun_cmd) < 0)
		return -1;
	if (get_int(r, 0, "mem_mib", 1, 1 << 24, &v, 1) < 0)
		return -1;
	m->mem_mib = (int)v;
	if (get_int(r, 0, "vcpus", 1, 1024, &v, 1) < 0)
		return -1;
	m->vcpus = (int)v;
	v = 0;
	if (get_int(r, 0, "agent_port", 0, UINT32_MAX, &v, 0) < 0)
		return -1;
	m->agent_port = (uint32_t)v;
	files = field(r, 0, "files", JSON_OBJECT, 1);
	if (files < 0)
		return -1;
	if (get_file(r, files, "vmstate", &m->vmstate, 0) < 0 ||
	    get_file(r, files, "mem", &m->mem, 1) < 0 ||
	    get_file(r, files, "rootfs.ext4", &m->rootfs, 2) < 0)
		return -1;
	if (get_disk_mode(r, m) < 0)
		return -1;
	return get_origin(r, m);
}

static const char *
last_part(const char *dir, char *buf, size_t n)
{
	size_t l = strlen(dir);
	const char *p;

	while (l > 1 && dir[l - 1] == '/')
		l--;
	p = dir + l;
	while (p > dir && p[-1] != '/')
		p--;
	snprintf(buf, n, "%.*s", (int)(dir + l - p), p);
	return buf;
}

static int
read_text(const char *dir, char **out, size_t *len)
{
	char p[PATH_MAX];

	if (path_join(p, sizeof p, dir, "meta.json") < 0)
		return bad("meta.json: path too long");
	errno = 0;
	*out = read_file_trusted(AT_FDCWD, p, META_MAX_BYTES, len);
	if (*out)
		return 0;
	if (errno == ENOENT)
		return bad("meta.json is missing");
	if (errno == EINVAL || errno == EFBIG)
		return bad("meta.json is damaged: it %s", errmsg());
	return bad("meta.json is unreadable: it %s", errmsg());
}

static int
parse_text(const char *js, size_t len, struct meta *m)
{
	struct json_tok *t;
	struct rd r;
	size_t pos = 0;
	int n, rc;

	t = malloc(META_MAX_TOKS * sizeof *t);
	if (!t)
		return bad("out of memory");
	n = json_parse(js, len, t, META_MAX_TOKS, &pos);
	if (n < 0) {
		bad("meta.json is damaged: %s at byte %zu", json_strerror(n), pos);
		rc = -1;
	} else {
		r.js = js;
		r.t = t;
		rc = parse_meta(&r, m);
	}
	free(t);
	return rc;
}

int
meta_parse(const char *js, size_t len, struct meta *m)
{
	meta_free(m);
	meta_init(m);
	reason[0] = 0;
	if (len > META_MAX_BYTES)
		return bad("meta.json is damaged: larger than %d bytes", META_MAX_BYTES);
	return parse_text(js, len, m);
}

int
meta_read(const char *dir, struct meta *m)
{
	char *js, nm[128];
	size_t len;
	int rc;

	meta_free(m);
	meta_init(m);
	reason[0] = 0;
	last_part(dir, nm, sizeof nm);
	if (read_text(dir, &js, &len) < 0)
		return fail("snapshot %s: %s", nm, reason);
	rc = parse_text(js, len, m);
	free(js);
	if (rc < 0)
		return fail("snapshot %s: %s", nm, reason);
	return 0;
}

/* Taking the data of a meta.json that came from a bucket. */

/* s is non-empty and made of [A-Za-z0-9] and the bytes of extra.  (The
 * messages do not quote a bad value: it may hold terminal escapes.) */
static int
plain(const char *s, const char *extra)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return 0;
	return 1;
}

int
meta_take_data(const struct meta *in, struct meta *out)
{
	int64_t ms;
	int i;

	meta_free(out);
	meta_init(out);
	reason[0] = 0;
	if (meta_parse_time(in->created_at, &ms) < 0)
		return bad("meta.json is damaged: created_at is not a UTC time like "
		    "2026-11-24T23:20:48Z");
	if (!plain(in->fc_version, ".-+_"))
		return bad("meta.json is damaged: firecracker_version is not a version "
		    "like 1.16.1");
	if (!plain(in->cpu_vendor, " .-_"))
		return bad("meta.json is damaged: cpu_vendor is not a CPU vendor like "
		    "GenuineIntel");
	memcpy(out->name, in->name, sizeof out->name);
	memcpy(out->created_at, in->created_at, sizeof out->created_at);
	memcpy(out->fc_version, in->fc_version, sizeof out->fc_version);
	memcpy(out->cpu_vendor, in->cpu_vendor, sizeof out->cpu_vendor);
	out->mem_mib = in->mem_mib;
	out->vcpus = in->vcpus;
	out->agent_port = in->agent_port;
	out->vmstate = in->vmstate;
	out->mem = in->mem;
	out->rootfs = in->rootfs;
	out->disk_shared = in->disk_shared;     /* checked at restore: vmcheck.h */
	for (i = 0; i < in->nrun_cmd; i++) {
		if (!(out->run_cmd[i] = strdup(in->run_cmd[i])))
			return bad("out of memory");
		out->nrun_cmd++;
	}
	return 0;
}

/* Host CPU vendor. */

static int
cpuinfo_field(const char *text, const char *key, char *out, size_t n)
{
	const char *p = text, *v, *e;
	size_t kl = strlen(key);

	while (p && *p) {
		if (!strncmp(p, key, kl) && (p[kl] == ' ' || p[kl] == '\t' || p[kl] == ':')) {
			v = strchr(p, ':');
			e = strchr(p, '\n');
			if (v && (!e || v < e)) {
				v++;
				while (*v == ' ' || *v == '\t')
					v++;
				if (!e)
					e = v + strlen(v);
				return fmt(out, n, "%.*s", (int)(e - v), v);
			}
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* x86: the vendor string of CPUID leaf 0, which is what the kernel shows
 * as vendor_id (reading /proc/cpuinfo costs ~0.1 ms: the kernel measures
 * every CPU's clock for it).  0, or -1 elsewhere. */
static int
cpuid_vendor(char *out, size_t n)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, r[3];
	char v[13];

	if (!__get_cpuid(0, &a, &r[0], &r[2], &r[1]))
		return -1;
	memcpy(v, r, 12);
	v[12] = 0;
	return v[0] ? fmt(out, n, "%s", v) : -1;
#else
	(void)out;
	(void)n;
	return -1;
#endif
}

int
host_cpu_vendor(char *out, size_t n)
{
	char *text, imp[32];

	if (cpuid_vendor(out, n) == 0)
		return 0;

	text = read_file("/proc/cpuinfo", 4 << 20, NULL);
	if (!text)
		return fail("cannot tell the host CPU vendor: %s", errmsg());
	if (cpuinfo_field(text, "vendor_id", out, n) == 0 && out[0]) {
		free(text);
		return 0;
	}
	if (cpuinfo_field(text, "CPU implementer", imp, sizeof imp) == 0 && imp[0]) {
		free(text);
		return fmt(out, n, "arm-%s", imp);
	}
	free(text);
	return fail("cannot tell the host CPU vendor: no vendor_id or CPU "
	    "implementer in /proc/cpuinfo");
}
