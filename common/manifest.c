/* manifest: the remote snapshot format (see manifest.h). */
#include "manifest.h"

#include "chunk.h"
#include "json.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const manifest_files[MANIFEST_NFILES] = { "vmstate", "mem", "rootfs.ext4" };

static uint64_t
nchunks_of(uint64_t size, uint64_t cs)
{
	return size / cs + (size % cs != 0);
}

int
manifest_init(struct manifest *m, const char *name, uint64_t chunk_size,
    const uint64_t sizes[MANIFEST_NFILES], const unsigned modes[MANIFEST_NFILES])
{
	int k;

	memset(m, 0, sizeof *m);
	if (chunk_size < MANIFEST_MIN_CHUNK || chunk_size > MANIFEST_MAX_CHUNK)
		return fail("chunk size %llu is out of range (%llu..%llu)",
		    (unsigned long long)chunk_size, MANIFEST_MIN_CHUNK, MANIFEST_MAX_CHUNK);
	snprintf(m->name, sizeof m->name, "%s", name);
	m->chunk_size = chunk_size;
	for (k = 0; k < MANIFEST_NFILES; k++) {
		struct mfile *f = &m->files[k];
		uint64_t i;

		f->name = manifest_files[k];
		f->size = sizes[k];
		f->mode = modes[k] & 0777;
		f->nchunks = nchunks_of(sizes[k], chunk_size);
		f->chunks = calloc(f->nchunks ? f->nchunks : 1, sizeof *f->chunks);
		if (!f->chunks) {
			manifest_free(m);
			return fail("out of memory");
		}
		for (i = 0; i < f->nchunks; i++)
			f->chunks[i].zero = 1;
	}
	return 0;
}

void
manifest_free(struct manifest *m)
{
	int k;

	for (k = 0; k < MANIFEST_NFILES; k++) {
		free(m->files[k].chunks);
		m->files[k].chunks = NULL;
	}
}

uint64_t
manifest_chunk_len(const struct manifest *m, const struct mfile *f, uint64_t i)
{
	uint64_t off = i * m->chunk_size;

	return f->size - off < m->chunk_size ? f->size - off : m->chunk_size;
}

char *
manifest_write(const struct manifest *m)
{
	struct jw w;
	char nm[CHUNK_NAME_MAX], *s;
	int k, format = 1;
	uint64_t i;

	for (k = 0; k < MANIFEST_NFILES; k++)
		for (i = 0; i < m->files[k].nchunks; i++)
			if (!m->files[k].chunks[i].zero && m->files[k].chunks[i].sparse)
				format = 2;
	jw_init(&w);
	jw_obj(&w);
	jw_kint(&w, "format", format);
	jw_kstr(&w, "name", m->name);
	jw_key(&w, "chunk_size");
	jw_uint(&w, m->chunk_size);
	jw_kstr(&w, "created_at", m->created_at);
	jw_key(&w, "files");
	jw_arr(&w);
	for (k = 0; k < MANIFEST_NFILES; k++) {
		const struct mfile *f = &m->files[k];

		jw_obj(&w);
		jw_kstr(&w, "name", f->name);
		jw_key(&w, "size");
		jw_uint(&w, f->size);
		jw_kint(&w, "mode", f->mode);
		jw_key(&w, "chunks");
		jw_arr(&w);
		for (i = 0; i < f->nchunks; i++) {
			if (f->chunks[i].zero) {
				jw_null(&w);
				continue;
			}
			chunk_name(f->chunks[i].sha, f->chunks[i].sparse, nm);
			jw_str(&w, nm);
		}
		jw_arr_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (!jw_text(&w)) {
		jw_free(&w);
		fail("out of memory");
		return NULL;
	}
	s = strdup(jw_text(&w));
	jw_free(&w);
	if (!s)
		fail("out of memory");
	return s;
}

int
manifest_hex(const char *s, size_t n, unsigned char out[SHA256_LEN])
{
	return n == SHA256_HEX_LEN ? sha256_unhex(s, out) : -1;
}

static int
bad(struct manifest *m, const char *why)
{
	manifest_free(m);
	return fail("manifest is damaged: %s", why);
}

static int
get_u64(const char *js, const struct json_tok *t, int obj, const char *key, uint64_t *v)
{
	int64_t x;
	int i = json_get(js, t, obj, key);

	if (i < 0 || json_int(js, t, i, &x) < 0 || x < 0)
		return -1;
	*v = (uint64_t)x;
	return 0;
}

/* One file object at token fi. */
static int
parse_file(const char *js, const struct json_tok *t, int fi, struct manifest *m, int seen[])
{
	char name[32];
	uint64_t size, mode, i, n;
	int k, nt, arr;
	struct mfile *f;

	if (t[fi].type != JSON_OBJECT)
		return bad(m, "a files entry is not an object");
	nt = json_get(js, t, fi, "name");
	if (nt < 0 || json_str(js, t, nt, name, sizeof name) < 0)
		return bad(m, "a file has no name");
	for (k = 0; k < MANIFEST_NFILES; k++)
		if (strcmp(name, manifest_files[k]) == 0)
			break;
	if (k == MANIFEST_NFILES)
		return bad(m, "unknown file name (expected vmstate, mem, rootfs.ext4)");
	if (seen[k]++)
		return bad(m, "a file is listed twice");
	if (get_u64(js, t, fi, "size", &size) < 0 || get_u64(js, t, fi, "mode", &mode) < 0)
		return bad(m, "a file lacks a valid size or mode");
	if (mode > 0777)
		return bad(m, "a file mode is out of range");
	if (size > (k == 0 ? MANIFEST_MAX_VMSTATE : MANIFEST_MAX_FILE)) {
		char why[128];

		snprintf(why, sizeof why, "%s is %llu bytes, more than %s", name,
		    (unsigned long long)size, k == 0 ? "1 GiB" : "1 TiB");
		return bad(m, why);
	}
	arr = json_get(js, t, fi, "chunks");
	if (arr < 0 || t[arr].type != JSON_ARRAY)
		return bad(m, "a file has no chunks array");
	n = (uint64_t)t[arr].size;
	if (n != nchunks_of(size, m->chunk_size))
		return bad(m, "a file's size does not match its chunk count");
	f = &m->files[k];
	f->name = manifest_files[k];
	f->size = size;
	f->mode = (unsigned)mode;
	f->nchunks = n;
	f->chunks = calloc(n ? n : 1, sizeof *f->chunks);
	if (!f->chunks) {
		manifest_free(m);
		return fail("out of memory");
	}
	for (i = 0; i < n; i++) {
		const struct json_tok *e = &t[arr + 1 + (int)i];

		if (e->type == JSON_NULL) {
			f->chunks[i].zero = 1;
			continue;
		}
		if (e->type != JSON_STRING || chunk_name_parse(js + e->start,
		    (size_t)(e->end - e->start), f->chunks[i].sha, &f->chunks[i].sparse) < 0)
			return bad(m, "a chunk name is not 64 lower-case hex digits "
			    "(and .sparse)");
		if (f->chunks[i].sparse && m->format < 2)
			return bad(m, "a sparse chunk in a format 1 manifest");
	}
	return 0;
}

struct use {                    /* one non-zero position, for one_object */
	const struct mchunk *c;
	uint64_t len;
};

static int
cmp_use(const void *a, const void *b)
{
	const struct use *x = a, *y = b;

	return memcmp(x->c->sha, y->c->sha, SHA256_LEN);
}

/* Every name has one length and one form.  0, or -1 (m freed). */
static int
one_object(struct manifest *m)
{
	struct use *u;
	uint64_t i, n = 0, j;
	int k, r = 0;

	for (k = 0; k < MANIFEST_NFILES; k++)
		n += m->files[k].nchunks;
	u = malloc((n ? n : 1) * sizeof *u);
	if (!u) {
		manifest_free(m);
		return fail("out of memory");
	}
	for (k = 0, n = 0; k < MANIFEST_NFILES; k++)
		for (i = 0; i < m->files[k].nchunks; i++)
			if (!m->files[k].chunks[i].zero) {
				u[n].c = &m->files[k].chunks[i];
				u[n++].len = manifest_chunk_len(m, &m->files[k], i);
			}
	qsort(u, n, sizeof *u, cmp_use);
	for (j = 1; j < n && r == 0; j++) {
		char hex[SHA256_HEX_LEN + 1], why[160];

		if (cmp_use(&u[j - 1], &u[j]))
			continue;
		if (u[j - 1].c->sparse == u[j].c->sparse && u[j - 1].len == u[j].len)
			continue;
		sha256_hex(u[j].c->sha, hex);
		snprintf(why, sizeof why, "chunk %s is named %s", hex,
		    u[j - 1].c->sparse != u[j].c->sparse ? "both raw and .sparse" :
		    "at positions of different lengths");
		r = bad(m, why);
	}
	free(u);
	return r;
}

/* Only printable ASCII: a bucket's text never reaches a terminal raw, and
 * it is written back byte for byte. */
static int
printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

int
manifest_parse(const char *js, size_t len, struct manifest *m)
{
	struct json_tok *t;
	int nt, r, i, k, files, seen[MANIFEST_NFILES] = { 0 };
	int64_t fmtv;
	size_t ntok;

	memset(m, 0, sizeof *m);
	if (len > MANIFEST_MAX_BYTES)
		return fail("manifest is damaged: larger than %u bytes", MANIFEST_MAX_BYTES);
	/* every token of a valid manifest takes at least 4 bytes ("null,"
	 * is 5); a denser text is refused as too many tokens */
	ntok = len / 4 + 64;
	t = calloc(ntok, sizeof *t);
	if (!t)
		return fail("out of memory");
	nt = json_parse(js, len, t, (int)ntok, NULL);
	if (nt < 0) {
		r = fail("manifest is damaged: %s", json_strerror(nt));
		goto out;
	}
	r = -1;
	if (t[0].type != JSON_OBJECT) {
		bad(m, "not a JSON object");
		goto out;
	}
	i = json_get(js, t, 0, "format");
	if (i < 0 || json_int(js, t, i, &fmtv) < 0 || fmtv < 1 || fmtv > MANIFEST_FORMAT) {
		bad(m, "unsupported format (expected 1 or 2; a newer fcsnap may read it)");
		goto out;
	}
	m->format = (int)fmtv;
	i = json_get(js, t, 0, "name");
	if (i < 0 || json_str(js, t, i, m->name, sizeof m->name) < 0 ||
	    name_check(m->name, "snapshot name") < 0) {
		bad(m, "bad snapshot name");
		goto out;
	}
	i = json_get(js, t, 0, "created_at");
	if (i >= 0 && (json_str(js, t, i, m->created_at, sizeof m->created_at) < 0 ||
	    !printable(m->created_at))) {
		bad(m, "bad created_at");
		goto out;
	}
	if (get_u64(js, t, 0, "chunk_size", &m->chunk_size) < 0 ||
	    m->chunk_size < MANIFEST_MIN_CHUNK || m->chunk_size > MANIFEST_MAX_CHUNK) {
		bad(m, "chunk_size missing or out of range");
		goto out;
	}
	files = json_get(js, t, 0, "files");
	if (files < 0 || t[files].type != JSON_ARRAY || t[files].size != MANIFEST_NFILES) {
		bad(m, "files must list vmstate, mem and rootfs.ext4");
		goto out;
	}
	for (k = 0, i = files + 1; k < MANIFEST_NFILES; k++, i = json_next(t, i))
		if (parse_file(js, t, i, m, seen) < 0)
			goto out;
	r = one_object(m);
out:
	free(t);
	return r;
}
