/* pullrec: the record of the last pull in a snapshot (see pullrec.h). */
#include "pullrec.h"

#include "manifest.h"
#include "sha256.h"
#include "strbuf.h"
#include "util.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PULLREC_MAX 8192

static void
add_hash(struct strbuf *b, const char *what, const char *p, size_t n)
{
	char hx[SHA256_HEX_LEN + 1];

	sha256_hex_of(p, n, hx);
	sb_addf(b, "%s %s\n", what, hx);
}

static int
add_stat(struct strbuf *b, const char *dir, const char *file)
{
	char path[PATH_MAX];
	struct stat st;

	if (path_join(path, sizeof path, dir, file) < 0)
		return -1;
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return fail_errno("%s", path);
	sb_addf(b, "file %s %lld %llu %lld.%09ld %lld.%09ld\n", file,
	    (long long)st.st_size, (unsigned long long)st.st_ino,
	    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
	    (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return 0;
}

/* The record as it would be written now; malloc'd or NULL (message). */
static char *
record(const char *dir, const struct pullrec_src *src)
{
	struct strbuf b = STRBUF_INIT;
	int f;

	sb_addf(&b, "fcsnap pull record 1\nendpoint %zu %s\nremote %zu %s\nname %s\n",
	    strlen(src->endpoint), src->endpoint, strlen(src->url), src->url, src->name);
	add_hash(&b, "manifest", src->manifest, src->manifest_len);
	add_hash(&b, "meta", src->meta, src->meta_len);
	for (f = 0; f < MANIFEST_NFILES; f++)
		if (add_stat(&b, dir, manifest_files[f]) < 0) {
			sb_free(&b);
			return NULL;
		}
	if (add_stat(&b, dir, "meta.json") < 0) {
		sb_free(&b);
		return NULL;
	}
	return sb_finish(&b);
}

int
pullrec_write(const char *dir, const struct pullrec_src *src)
{
	char path[PATH_MAX];
	char *rec;
	int r;

	if (path_join(path, sizeof path, dir, PULLREC_FILE) < 0 || !(rec = record(dir, src)))
		return -1;
	r = write_file_atomic(path, rec, strlen(rec), 0600);
	free(rec);
	return r;
}

int
pullrec_matches(const char *dir, const struct pullrec_src *src)
{
	char path[PATH_MAX];
	char *rec, *old;
	size_t n;
	int same;

	if (path_join(path, sizeof path, dir, PULLREC_FILE) < 0)
		return 0;
	old = read_file_trusted(AT_FDCWD, path, PULLREC_MAX, &n);
	rec = old ? record(dir, src) : NULL;
	same = rec && strlen(rec) == n && memcmp(rec, old, n) == 0;
	free(old);
	free(rec);
	return same;
}
