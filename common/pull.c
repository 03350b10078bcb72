/* pull: fetch a snapshot from S3 into the local store (see pull.h). */
#include "pull.h"

#include "chunk.h"
#include "fcargs.h"
#include "hint.h"
#include "manifest.h"
#include "meta.h"
#include "pullrec.h"
#include "s3pool.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define META_MAX (1u << 20)
#define NONE ((size_t)-1)

struct pos {                    /* one non-zero chunk position */
	unsigned char sha[SHA256_LEN];  /* the stored object's name, and */
	int sparse;                     /* its form */
	int f;
	uint64_t i;
	int done;
};

struct pull {
	struct remote *r;
	const struct store *s;
	const struct pull_opts *o;
	struct pull_stats *st;
	const char *name, *target;
	struct manifest m;
	struct meta meta;               /* the data taken from its meta.json */
	char dropped[1024];             /* its firecracker_args, not taken */
	char *mtext, *metatext;
	size_t mlen, metalen;
	char *hinttext;                 /* its working-set hint, once checked */
	size_t hintlen;
	unsigned char *want;            /* mem chunks the hint names */
	char dir[PATH_MAX];
	int fds[MANIFEST_NFILES];
	int jfd;
	struct pos *pos;
	size_t npos, ndone;
	size_t *idx[MANIFEST_NFILES];   /* chunk -> pos index or NONE */
	unsigned char *buf;             /* a chunk read from a local file */
	unsigned char *head;            /* its sparse header and page map */
	int local_err;                  /* a local write failed: drop the dir */
	int resumed;                    /* files come from an interrupted pull */
	int shared;                     /* a lazy pull's dir: fc-pager may be
					 * serving pages from its mem */
	char *endpoint;                 /* for the pull record */
};

static int
cmp_pos(const void *a, const void *b)
{
	const struct pos *x = a, *y = b;
	int c = memcmp(x->sha, y->sha, SHA256_LEN);

	return c ? c : x->sparse - y->sparse;
}

static int
same_id(const struct pos *x, const struct pos *y)
{
	return cmp_pos(x, y) == 0;
}

static off_t
pos_off(const struct pull *p, const struct pos *q)
{
	return (off_t)(q->i * p->m.chunk_size);
}

static uint64_t
pos_len(const struct pull *p, const struct pos *q)
{
	return manifest_chunk_len(&p->m, &p->m.files[q->f], q->i);
}

/* ---- fetching the manifest and meta.json ---------------------------- */

/* The manifest, meta.json and the working-set hint (optional), fetched
 * together (one curl process, one connection). */
static int
fetch_texts(struct pull *p)
{
	static const char *const file[3] = { "manifest", "meta.json", HINT_FILE };
	const size_t max[3] = { MANIFEST_MAX_BYTES, META_MAX, HINT_MAX_BYTES };
	struct s3_req rq[3], *done;
	struct s3_result rs[3];
	struct s3_pool *pool;
	char *key[3] = { NULL, NULL, NULL };
	int i, r = -1;

	memset(rs, 0, sizeof rs);
	if (!(pool = s3_pool_new(&p->r->c, 1)))
		return -1;
	for (i = 0; i < 3; i++) {
		rq[i] = (struct s3_req)S3_REQ_INIT;
		if (!(key[i] = remote_key(p->r, "snapshots", p->name, file[i])))
			goto out;
		rq[i].key = key[i];
		rq[i].mem_max = max[i];
		if (s3_pool_start(pool, &rq[i], &rs[i]) < 0)
			goto out;
	}
	while (s3_pool_running(pool))
		if (s3_pool_wait(pool, &done) < 0)
			goto out;
	for (i = 0; i < 2; i++) {
		if (rs[i].not_found) {
			fail("no snapshot named %s at %s (no %s object): push it first, or "
			    "check the URL", p->name, p->r->url, file[i]);
			goto out;
		}
		if (!rs[i].ok) {
			fail("%s", rs[i].err);
			goto out;
		}
	}
	p->mtext = rs[0].body ? rs[0].body : strdup("");
	p->mlen = rs[0].body_len;
	p->metatext = rs[1].body ? rs[1].body : strdup("");
	p->metalen = rs[1].body_len;
	rs[0].body = rs[1].body = NULL;
	r = p->mtext && p->metatext ? 0 : fail("out of memory");
	if (rs[2].ok || rs[2].too_big) {
		/* too big: a text hint_parse refuses for its length */
		p->hinttext = rs[2].body ? rs[2].body : strdup("");
		p->hintlen = rs[2].too_big ? (size_t)HINT_MAX_BYTES + 1 : rs[2].body_len;
		rs[2].body = NULL;
	} else if (!rs[2].not_found) {
		warnmsg("snapshot %s at %s: its working-set hint could not be fetched (%s); "
		    "going on without it", p->name, p->r->url, rs[2].err);
	}
out:
	s3_pool_free(pool);
	for (i = 0; i < 3; i++) {
		s3_result_free(&rs[i]);
		free(key[i]);
	}
	return r;
}

/* The hint fetched with the manifest, checked against it (hint.h: from
 * a bucket it is hostile input): the mem chunks it names go to p->want,
 * unless it has blocks (fc-pager prefetches those, lazysrc.h).
 * One that is not a hint is dropped with one line; a stale one (of
 * another generation) silently. */
static int
take_hint(struct pull *p)
{
	const struct mfile *f = &p->m.files[PULL_MEM];
	const char *at = p->m.created_at[0] ? p->m.created_at : p->meta.created_at;
	struct hint h;
	size_t k;
	int r;

	if (!p->hinttext)
		return 0;
	r = hint_parse(p->hinttext, p->hintlen, at, (f->size + 4095) / 4096, &h);
	if (r != 0) {
		if (r < 0)
			warnmsg("snapshot %s at %s: its working-set hint is ignored: %s "
			    "(fc-snap-push replaces it)", p->name, p->r->url, errmsg());
		free(p->hinttext);
		p->hinttext = NULL;
		return 0;
	}
	p->want = calloc(f->nchunks ? f->nchunks : 1, 1);
	if (!p->want) {
		hint_free(&h);
		return fail("out of memory");
	}
	/* with its blocks (format 2), fc-pager fetches just those */
	if (!h.nblk || h.chunk_size != p->m.chunk_size)
		for (k = 0; k < h.n; k++)
			p->want[h.pages[k] * 4096 / p->m.chunk_size] = 1;
	hint_free(&h);
	return 0;
}

/* Keep the checked hint in the dir, beside meta.json. */
static int
keep_hint(struct pull *p)
{
	char path[PATH_MAX];

	if (!p->hinttext)
		return 0;
	if (path_join(path, sizeof path, p->dir, HINT_FILE) < 0 ||
	    write_file_atomic(path, p->hinttext, p->hintlen, 0600) < 0) {
		p->local_err = 1;
		return -1;
	}
	return 0;
}

/* The manifest and meta.json a lazy pull kept in its dir (pull_lazy),
 * for the one that publishes it: they came from the bucket and are
 * parsed and checked again as if they had just been fetched. */
static int
read_texts(struct pull *p)
{
	char path[PATH_MAX];

	if (path_join(path, sizeof path, p->dir, "manifest") < 0)
		return -1;
	p->mtext = read_file_trusted(AT_FDCWD, path, MANIFEST_MAX_BYTES, &p->mlen);
	if (!p->mtext)
		return fail("%s: %s", path, errmsg());
	if (path_join(path, sizeof path, p->dir, PULL_LAZY_META) < 0)
		return -1;
	p->metatext = read_file_trusted(AT_FDCWD, path, META_MAX, &p->metalen);
	if (!p->metatext)
		return fail("%s: %s", path, errmsg());
	return 0;
}

/* meta.json must describe the files of the manifest. */
static int
check_meta(struct pull *p)
{
	const struct meta_file *mf[MANIFEST_NFILES] = { &p->meta.vmstate, &p->meta.mem,
		&p->meta.rootfs };
	const struct mfile *f;
	int k;

	for (k = 0; k < MANIFEST_NFILES; k++) {
		f = &p->m.files[k];
		if (mf[k]->size != f->size)
			return fail("snapshot %s at %s is damaged: its manifest gives %s "
			    "%llu bytes, its meta.json %llu; push it again", p->name,
			    p->r->url, f->name, (unsigned long long)f->size,
			    (unsigned long long)mf[k]->size);
	}
	f = &p->m.files[1];
	if (f->size > (uint64_t)p->meta.mem_mib << 20)
		return fail("snapshot %s at %s is damaged: mem is %llu bytes, more than "
		    "its mem_mib of %d MiB; push it again", p->name, p->r->url,
		    (unsigned long long)f->size, p->meta.mem_mib);
	if (p->m.created_at[0] && strcmp(p->m.created_at, p->meta.created_at))
		return fail("snapshot %s at %s is damaged: its manifest was made at %s, "
		    "its meta.json at %s; push it again", p->name, p->r->url,
		    p->m.created_at, p->meta.created_at);
	return 0;
}

/* The manifest, and the data of meta.json (meta.h: meta_take_data),
 * checked against each other. */
static int
fetch_manifest(struct pull *p)
{
	struct meta raw;
	int r;

	if ((p->o->local_texts ? read_texts(p) : fetch_texts(p)) < 0)
		return -1;
	if (manifest_parse(p->mtext, p->mlen, &p->m) < 0)
		return fail("snapshot %s at %s: %s", p->name, p->r->url, errmsg());
	meta_init(&raw);
	r = meta_parse(p->metatext, p->metalen, &raw);
	if (r == 0)
		r = meta_take_data(&raw, &p->meta);
	fcargs_join(raw.fc_args, raw.nfc_args, p->dropped, sizeof p->dropped);
	meta_free(&raw);
	if (r < 0)
		return fail("snapshot %s at %s: %s", p->name, p->r->url, meta_reason());
	if (check_meta(p) < 0)
		return -1;
	return take_hint(p);
}

/* The positions of every non-zero chunk, sorted by hash, and the index
 * from (file, chunk) to position. */
static int
build_positions(struct pull *p)
{
	size_t n = 0, k;
	uint64_t i;
	int f;

	for (f = 0; f < MANIFEST_NFILES; f++)
		for (i = 0; i < p->m.files[f].nchunks; i++)
			n += !p->m.files[f].chunks[i].zero;
	p->pos = calloc(n ? n : 1, sizeof *p->pos);
	if (!p->pos)
		return fail("out of memory");
	for (f = 0; f < MANIFEST_NFILES; f++) {
		const struct mfile *mf = &p->m.files[f];

		p->st->total += mf->nchunks;
		for (i = 0; i < mf->nchunks; i++) {
			if (mf->chunks[i].zero) {
				p->st->zero++;
				continue;
			}
			memcpy(p->pos[p->npos].sha, mf->chunks[i].sha, SHA256_LEN);
			p->pos[p->npos].sparse = mf->chunks[i].sparse;
			p->pos[p->npos].f = f;
			p->pos[p->npos].i = i;
			p->npos++;
		}
	}
	qsort(p->pos, p->npos, sizeof *p->pos, cmp_pos);
	for (f = 0; f < MANIFEST_NFILES; f++) {
		size_t nc = p->m.files[f].nchunks;

		p->idx[f] = malloc((nc ? nc : 1) * sizeof **p->idx);
		if (!p->idx[f])
			return fail("out of memory");
		for (k = 0; k < nc; k++)
			p->idx[f][k] = NONE;
	}
	for (k = 0; k < p->npos; k++)
		p->idx[p->pos[k].f][p->pos[k].i] = k;
	return 0;
}

/* ---- writing chunks --------------------------------------------------- */

static int
journal(struct pull *p, const struct pos *q)
{
	char line[64];
	int n = snprintf(line, sizeof line, "%d %llu\n", q->f, (unsigned long long)q->i);

	if (write_all(p->jfd, line, (size_t)n) < 0) {
		p->local_err = 1;
		return fail_errno("writing the journal in %s", p->dir);
	}
	return 0;
}

/* Where the bytes of a chunk come from. */
enum { SRC_LOCAL, SRC_RAW, SRC_SPARSE };
struct src {
	int kind;
	const unsigned char *data;      /* SRC_LOCAL: p->buf, with p->head's map */
};

/* Write the chunk at q's offset.  Zero pages stay holes: skipped in a
 * fresh file, punched in a resumed one (which may hold a torn write
 * there).  A raw chunk of format 2 has no zero page, so it is written
 * whole; format 1 chunks are scanned for them. */
static int
write_src(struct pull *p, const struct pos *q, const struct src *s)
{
	int fd = p->fds[q->f], old = p->m.format < 2;
	off_t off = pos_off(p, q);
	uint64_t len = pos_len(p, q);

	switch (s->kind) {
	case SRC_LOCAL:
		if (old)
			return chunk_put_raw(fd, off, s->data, len, 1, p->resumed);
		return chunk_put_pages(fd, off, s->data, len, p->head + CHUNK_HDR, p->resumed);
	case SRC_RAW:
		return chunk_put_raw(fd, off, s->data, len, old, p->resumed);
	default:
		return chunk_put_sparse(fd, off, s->data, len, p->resumed);
	}
}

static int
write_failed(struct pull *p, const struct pos *q)
{
	p->local_err = 1;
	return fail_errno("writing %s at offset %lld into %s",
	    p->m.files[q->f].name, (long long)pos_off(p, q), p->dir);
}

/* q's chunk is in place (and verified): start writing it back now, so
 * the final fsync has little left, and journal it. */
static int
placed(struct pull *p, struct pos *q)
{
	sync_file_range(p->fds[q->f], pos_off(p, q), (off_t)pos_len(p, q),
	    SYNC_FILE_RANGE_WRITE);
	q->done = 1;
	p->ndone++;
	return journal(p, q);
}

static int
put_chunk(struct pull *p, struct pos *q, const struct src *s)
{
	errno = ENOSPC;
	if (write_src(p, q, s) < 0)
		return write_failed(p, q);
	return placed(p, q);
}

/* The group of positions sharing q's hash: [*a, *b). */
static void
group(const struct pull *p, size_t k, size_t *a, size_t *b)
{
	size_t i = k, j = k + 1;

	while (i > 0 && same_id(&p->pos[i - 1], &p->pos[k]))
		i--;
	while (j < p->npos && same_id(&p->pos[j], &p->pos[k]))
		j++;
	*a = i;
	*b = j;
}

/* Write data to every position of group [a, b) not yet done; the count
 * goes to *first for the first one, *rest for the others. */
static int
fill_group(struct pull *p, size_t a, size_t b, const struct src *data,
    uint64_t *first, uint64_t *rest)
{
	size_t k;
	int n = 0;

	for (k = a; k < b; k++) {
		if (p->pos[k].done)
			continue;
		if (pos_len(p, &p->pos[k]) != pos_len(p, &p->pos[a]))
			return fail("chunk at offset %lld of %s: one chunk at positions of "
			    "different lengths", (long long)pos_off(p, &p->pos[k]),
			    p->m.files[p->pos[k].f].name);
		if (put_chunk(p, &p->pos[k], data) < 0)
			return -1;
		(*(n++ ? rest : first))++;
	}
	return 0;
}

/* Name the len bytes in p->buf as the manifest names chunks: format 1
 * by the SHA-256 of the bytes, format 2 by their stored form (p->head
 * gets the page map).  0, or 1 when they are all zero (format 2). */
static int
local_id(struct pull *p, uint64_t len, struct pos *key)
{
	struct chunk c;

	if (p->m.format < 2) {
		sha256(p->buf, (size_t)len, key->sha);
		key->sparse = 0;
		return 0;
	}
	chunk_make(p->buf, len, p->head, &c);
	if (c.form == CHUNK_ZERO)
		return 1;
	memcpy(key->sha, c.id, SHA256_LEN);
	key->sparse = c.form == CHUNK_SPARSE;
	return 0;
}

/* Read the len bytes at off of fd into p->buf and check they are q's
 * chunk. 1 match, 0 no match or a read error. */
static int
read_check(struct pull *p, int fd, off_t off, uint64_t len, const struct pos *q)
{
	struct pos key;

	if (pread(fd, p->buf, len, off) != (ssize_t)len)
		return 0;
	return local_id(p, len, &key) == 0 && same_id(&key, q);
}

/* ---- the partial dir ------------------------------------------------- */

static int
same_manifest(struct pull *p)
{
	char path[PATH_MAX];
	size_t n;
	char *old;
	int same;

	if (path_join(path, sizeof path, p->dir, "manifest") < 0)
		return 0;
	old = read_file_trusted(AT_FDCWD, path, MANIFEST_MAX_BYTES, &n);
	same = old && n == p->mlen && memcmp(old, p->mtext, n) == 0;
	free(old);
	return same;
}

/* Open the files of an interrupted pull of the same manifest. 1 resumed,
 * 0 not resumable. */
static int
open_resume(struct pull *p)
{
	struct stat sb;
	char path[PATH_MAX];
	int f, dfd;

	if (!same_manifest(p))
		return 0;
	dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return 0;
	p->shared = p->o->lazy || p->o->local_texts ||
	    faccessat(dfd, PULL_LAZY_META, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	for (f = 0; f < MANIFEST_NFILES; f++) {
		p->fds[f] = openat(dfd, manifest_files[f], O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (p->fds[f] < 0 || fstat(p->fds[f], &sb) < 0 || !S_ISREG(sb.st_mode) ||
		    (uint64_t)sb.st_size != p->m.files[f].size) {
			close(dfd);
			return 0;
		}
	}
	close(dfd);
	if (path_join(path, sizeof path, p->dir, "journal") < 0)
		return 0;
	p->jfd = open(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	return p->jfd >= 0;
}

static void
close_files(struct pull *p)
{
	int f;

	for (f = 0; f < MANIFEST_NFILES; f++) {
		if (p->fds[f] >= 0)
			close(p->fds[f]);
		p->fds[f] = -1;
	}
	if (p->jfd >= 0)
		close(p->jfd);
	p->jfd = -1;
}

static int
create_fresh(struct pull *p)
{
	char path[PATH_MAX];
	int f;

	close_files(p);
	if (rm_rf(p->dir) < 0)
		return -1;
	if (mkdir(p->dir, 0700) < 0)
		return fail_errno("creating %s", p->dir);
	for (f = 0; f < MANIFEST_NFILES; f++) {
		if (path_join(path, sizeof path, p->dir, manifest_files[f]) < 0)
			return -1;
		p->fds[f] = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (p->fds[f] < 0)
			return fail_errno("creating %s", path);
		if (ftruncate(p->fds[f], (off_t)p->m.files[f].size) < 0) {
			p->local_err = 1;
			return fail_errno("sizing %s to %llu bytes", path,
			    (unsigned long long)p->m.files[f].size);
		}
	}
	if (path_join(path, sizeof path, p->dir, "manifest") < 0)
		return -1;
	if (write_file_atomic(path, p->mtext, p->mlen, 0600) < 0) {
		p->local_err = 1;
		return -1;
	}
	if (path_join(path, sizeof path, p->dir, "journal") < 0)
		return -1;
	p->jfd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (p->jfd < 0)
		return fail_errno("creating %s", path);
	return 0;
}

/* Check every journaled chunk of a resumed pull; keep those that hash right. */
static int
verify_journal(struct pull *p)
{
	char path[PATH_MAX], *j, *line, *next;
	size_t n;

	if (path_join(path, sizeof path, p->dir, "journal") < 0)
		return -1;
	j = read_file_trusted(AT_FDCWD, path, 64u << 20, &n);
	if (!j)
		return 0;
	for (line = j; line && *line; line = next) {
		unsigned long long ci;
		int f, used = 0;
		size_t k;

		next = strchr(line, '\n');
		if (!next)
			break;          /* a torn last line */
		*next++ = 0;
		if (sscanf(line, "%d %llu%n", &f, &ci, &used) != 2 || line[used] ||
		    f < 0 || f >= MANIFEST_NFILES || ci >= p->m.files[f].nchunks)
			continue;
		k = p->idx[f][ci];
		if (k == NONE || p->pos[k].done)
			continue;
		if (read_check(p, p->fds[f], pos_off(p, &p->pos[k]), pos_len(p, &p->pos[k]),
		    &p->pos[k]) == 1) {
			p->pos[k].done = 1;
			p->ndone++;
			p->st->resumed++;
		}
	}
	free(j);
	return 0;
}

/* Copy each chunk already done to the other positions of its hash. */
static int
spread_done(struct pull *p)
{
	struct src local = { SRC_LOCAL, p->buf };
	size_t a, b, k;

	for (a = 0; a < p->npos; a = b) {
		size_t src = NONE, todo = 0;

		group(p, a, &a, &b);
		for (k = a; k < b; k++) {
			if (p->pos[k].done && src == NONE)
				src = k;
			todo += !p->pos[k].done;
		}
		if (src == NONE || !todo)
			continue;
		if (read_check(p, p->fds[p->pos[src].f], pos_off(p, &p->pos[src]),
		    pos_len(p, &p->pos[src]), &p->pos[src]) != 1)
			return fail("chunk at offset %lld of %s in %s changed while pulling",
			    (long long)pos_off(p, &p->pos[src]), p->m.files[p->pos[src].f].name, p->dir);
		if (fill_group(p, a, b, &local, &p->st->duplicate, &p->st->duplicate) < 0)
			return -1;
	}
	return 0;
}

/* ---- reuse from the current local snapshot --------------------------- */

static int
reuse_file(struct pull *p, int dfd, const char *file)
{
	struct src local = { SRC_LOCAL, p->buf };
	struct stat sb;
	uint64_t off, len, cs = p->m.chunk_size;
	int fd = open_trusted(dfd, file, O_RDONLY, 0);

	if (fd < 0)
		return 0;
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return 0;
	}
	for (off = 0; off < (uint64_t)sb.st_size && p->ndone < p->npos; off += cs) {
		struct pos key, *q;
		off_t d;
		size_t a, b;

		if (remote_stop)
			break;
		len = (uint64_t)sb.st_size - off < cs ? (uint64_t)sb.st_size - off : cs;
		d = lseek(fd, (off_t)off, SEEK_DATA);
		if (d < 0)
			break;                  /* only holes from here */
		if ((uint64_t)d >= off + len) {
			off = ((uint64_t)d / cs) * cs - cs;     /* skip to the data */
			continue;
		}
		if (pread(fd, p->buf, len, (off_t)off) != (ssize_t)len)
			break;
		if (local_id(p, len, &key) != 0)
			continue;
		q = bsearch(&key, p->pos, p->npos, sizeof *p->pos, cmp_pos);
		if (!q)
			continue;
		group(p, (size_t)(q - p->pos), &a, &b);
		if (pos_len(p, &p->pos[a]) != len)
			continue;
		if (fill_group(p, a, b, &local, &p->st->reused_local, &p->st->reused_local) < 0) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int
reuse_local(struct pull *p)
{
	int dfd, f, r = 0;

	if (p->ndone == p->npos || !store_has(p->s, p->target))
		return 0;
	dfd = store_open_snap(p->s, p->target);
	if (dfd < 0)
		return 0;
	for (f = 0; f < MANIFEST_NFILES && r == 0; f++)
		r = reuse_file(p, dfd, manifest_files[f]);
	close(dfd);
	return r;
}

/* ---- downloads ------------------------------------------------------- */

struct slot {
	struct s3_req req;
	struct s3_result res;
	char *key;
	size_t a, b;            /* the group */
	int busy;
	int direct;             /* the body goes straight to its place */
};

/* A raw chunk is downloaded straight into its first position (hashed on
 * the way; journaled only once its hash is right): no copy through
 * memory.  A sparse one must be unpacked, so it comes to memory.  Not in
 * a lazy pull's dir: there a chunk another process journaled meanwhile
 * may be served from the file, so only verified bytes may be written. */
static int
direct_ok(const struct pull *p, const struct pos *q)
{
	return !q->sparse && !p->shared;
}

static int
start_get(struct pull *p, struct s3_pool *pool, struct slot *s, size_t a, size_t b)
{
	struct s3_req init = S3_REQ_INIT;
	char nm[CHUNK_NAME_MAX];

	chunk_name(p->pos[a].sha, p->pos[a].sparse, nm);
	s->key = remote_key(p->r, "chunks", nm, NULL);
	if (!s->key)
		return -1;
	s->a = a;
	s->b = b;
	s->req = init;
	s->req.key = s->key;
	s->req.mem_max = (size_t)chunk_max_stored(pos_len(p, &p->pos[a]), p->pos[a].sparse);
	s->req.hash_body = 1;
	s->direct = direct_ok(p, &p->pos[a]);
	if (s->direct) {
		s->req.out_fd = p->fds[p->pos[a].f];
		s->req.out_off = pos_off(p, &p->pos[a]);
	}
	s->req.udata = s;
	memset(&s->res, 0, sizeof s->res);
	s->busy = 1;
	return s3_pool_start(pool, &s->req, &s->res);
}

/* What is wrong with the object s fetched, into why ("" if nothing). */
static void
check_body(struct pull *p, struct slot *s, char *why, size_t n)
{
	const struct pos *q = &p->pos[s->a];
	uint64_t len = pos_len(p, q);

	if (s->res.too_big)
		snprintf(why, n, "it is larger than the chunk");
	else if (s->direct && (uint64_t)s->res.out_bytes != len)
		snprintf(why, n, "%lld bytes, not %llu", (long long)s->res.out_bytes,
		    (unsigned long long)len);
	else if (!s->direct && chunk_check((const unsigned char *)s->res.body,
	    s->res.body_len, len, q->sparse) < 0)
		snprintf(why, n, "%s", errmsg());
	else if (memcmp(s->res.sha256, q->sha, SHA256_LEN) != 0)
		snprintf(why, n, "its SHA-256 is not its name");
	else
		why[0] = 0;
}

/* A raw chunk downloaded into its first position (verified): format 1
 * chunks may hold zero pages, made holes here; the rest of the group is
 * copied from it. */
static int
got_direct(struct pull *p, struct slot *s)
{
	struct pos *q = &p->pos[s->a];
	struct src local = { SRC_RAW, p->buf };
	uint64_t len = pos_len(p, q);
	int fd = p->fds[q->f];

	if (p->m.format < 2 || s->b - s->a > 1) {
		if (pread(fd, p->buf, len, pos_off(p, q)) != (ssize_t)len)
			return write_failed(p, q);
		if (p->m.format < 2 && chunk_punch_zero(fd, pos_off(p, q), p->buf, len) < 0)
			return write_failed(p, q);
	}
	p->st->downloaded++;
	if (placed(p, q) < 0)
		return -1;
	return fill_group(p, s->a, s->b, &local, &p->st->duplicate, &p->st->duplicate);
}

static int
got_chunk(struct pull *p, struct slot *s)
{
	const struct pos *q = &p->pos[s->a];
	struct src src = { q->sparse ? SRC_SPARSE : SRC_RAW,
	    (const unsigned char *)s->res.body };
	char nm[CHUNK_NAME_MAX], why[300];

	chunk_name(q->sha, q->sparse, nm);
	if (!s->res.ok && s->res.not_found)
		return fail("chunk %s of %s at offset %lld is missing on the server "
		    "(%s): push the snapshot again with fc-snap-push --verify", nm,
		    p->m.files[q->f].name, (long long)pos_off(p, q), s->key);
	if (s->res.write_err) {
		errno = s->res.write_err;
		return write_failed(p, q);
	}
	if (!s->res.ok && !s->res.too_big)
		return fail("%s", s->res.err);
	check_body(p, s, why, sizeof why);
	if (why[0])
		return fail("chunk %s of %s at offset %lld is corrupt on the server "
		    "(%s: %s); nothing was published (push the snapshot again with "
		    "fc-snap-push --verify=full)", nm, p->m.files[q->f].name,
		    (long long)pos_off(p, q), s->key, why);
	p->st->bytes += s->direct ? (uint64_t)s->res.out_bytes : s->res.body_len;
	p->st->bytes_raw += pos_len(p, q);
	if (s->direct)
		return got_direct(p, s);
	return fill_group(p, s->a, s->b, &src, &p->st->downloaded, &p->st->duplicate);
}

/* Does group [a, b) hold a position a lazy pull must fetch now (one
 * not in mem, which fc-pager fetches on demand, or one of mem the hint
 * names: prefetched here, in parallel, before the VM starts)? */
static int
eager_group(const struct pull *p, size_t a, size_t b)
{
	size_t k;

	if (!p->o->lazy)
		return 1;
	for (k = a; k < b; k++)
		if (!p->pos[k].done && (p->pos[k].f != PULL_MEM ||
		    (p->want && p->want[p->pos[k].i])))
			return 1;
	return 0;
}

/* The groups still to fetch. */
static size_t
todo_groups(struct pull *p, size_t **out, uint64_t *bytes)
{
	size_t a, b, n = 0, *v = malloc((p->npos ? p->npos : 1) * sizeof *v);

	*bytes = 0;
	if (!v)
		return NONE;
	for (a = 0; a < p->npos; a = b) {
		group(p, a, &a, &b);
		if (!p->pos[a].done && eager_group(p, a, b)) {
			v[n++] = a;
			*bytes += pos_len(p, &p->pos[a]);
		}
	}
	*out = v;
	return n;
}

/* -j, cut to PULL_MEM_BUDGET of chunks held in memory at once. */
static int
jobs_for(const struct pull *p)
{
	uint64_t per = chunk_max_stored(p->m.chunk_size, 1);

	if ((uint64_t)p->o->jobs * per <= PULL_MEM_BUDGET)
		return p->o->jobs;
	return per >= PULL_MEM_BUDGET ? 1 : (int)(PULL_MEM_BUDGET / per);
}

static int
download(struct pull *p)
{
	struct slot *slots;
	struct s3_pool *pool;
	struct progress pr;
	size_t *todo, nt, next = 0, a, b;
	uint64_t bytes;
	char what[96];
	int k, r = 0, nslots;

	nt = todo_groups(p, &todo, &bytes);
	if (nt == NONE)
		return fail("out of memory");
	pool = s3_pool_new(&p->r->c, jobs_for(p));
	if (!pool) {
		free(todo);
		return -1;
	}
	/* one slot for every request the pool takes at once (it may queue
	 * more than -j, carried over fewer connections) */
	nslots = s3_pool_capacity(pool);
	slots = calloc((size_t)nslots, sizeof *slots);
	if (!slots) {
		s3_pool_free(pool);
		free(todo);
		return fail("out of memory");
	}
	snprintf(what, sizeof what, "pull %s", p->name);
	progress_init(&pr, what, bytes, p->o->verbose);
	while (next < nt || s3_pool_running(pool)) {
		struct s3_req *done;
		struct slot *s;

		for (k = 0; k < nslots && next < nt && !remote_stop &&
		    s3_pool_slots(pool) > 0; k++) {
			if (slots[k].busy)
				continue;
			group(p, todo[next], &a, &b);
			next++;
			if (start_get(p, pool, &slots[k], a, b) < 0) {
				r = -1;
				goto out;
			}
		}
		if (remote_stop) {
			r = fail("interrupted; nothing was published; the partial pull in %s "
			    "is kept and the next pull resumes it", p->dir);
			goto out;
		}
		if (s3_pool_wait_for(pool, &done, 200) < 0) {
			r = -1;
			goto out;
		}
		progress_draw(&pr, 0);
		if (!done)
			continue;
		s = done->udata;
		s->busy = 0;
		r = got_chunk(p, s);
		progress_add(&pr, pos_len(p, &p->pos[s->a]));
		s3_result_free(&s->res);
		free(s->key);
		s->key = NULL;
		if (r < 0)
			goto out;
	}
out:
	progress_end(&pr);
	s3_pool_free(pool);
	for (k = 0; k < nslots; k++)
		if (slots[k].busy) {
			s3_result_free(&slots[k].res);
			free(slots[k].key);
		}
	free(slots);
	free(todo);
	return r;
}

/* ---- finishing ------------------------------------------------------- */

static int
rec_src(struct pull *p, struct pullrec_src *src)
{
	const struct s3 *c = &p->r->c;
	size_t n = strlen(c->scheme) + strlen(c->host) + strlen(c->base) + 4;

	if (!p->endpoint) {
		if (!(p->endpoint = malloc(n)))
			return fail("out of memory");
		snprintf(p->endpoint, n, "%s://%s%s", c->scheme, c->host, c->base);
	}
	*src = (struct pullrec_src){ p->endpoint, p->r->url, p->name, p->mtext,
	    p->metatext, p->mlen, p->metalen };
	return 0;
}

/* 1 if the local snapshot is what the last pull of this remote snapshot
 * published and neither side changed since (pullrec.h), else 0. */
static int
up_to_date(struct pull *p, const char *snaps)
{
	struct pullrec_src src;
	char dir[PATH_MAX];

	if (!store_has(p->s, p->target) || rec_src(p, &src) < 0 ||
	    path_join(dir, sizeof dir, snaps, p->target) < 0)
		return 0;
	return pullrec_matches(dir, &src);
}

static int
finish(struct pull *p)
{
	struct pullrec_src src;
	char path[PATH_MAX];
	int f;

	for (f = 0; f < MANIFEST_NFILES; f++)
		if (fchmod(p->fds[f], p->m.files[f].mode & 0755) < 0 || fsync(p->fds[f]) < 0) {
			p->local_err = errno == ENOSPC || errno == EIO;
			return fail_errno("saving %s in %s", manifest_files[f], p->dir);
		}
	close_files(p);
	snprintf(p->meta.name, sizeof p->meta.name, "%s", p->target);
	if (meta_stat_files(&p->meta, p->dir) < 0 || meta_write(p->dir, &p->meta) < 0) {
		p->local_err = 1;
		return -1;
	}
	if (rec_src(p, &src) < 0 || pullrec_write(p->dir, &src) < 0) {
		p->local_err = 1;
		return -1;
	}
	if (keep_hint(p) < 0)
		return -1;
	if (path_join(path, sizeof path, p->dir, "journal") < 0 || unlink(path) < 0 ||
	    path_join(path, sizeof path, p->dir, "manifest") < 0 || unlink(path) < 0 ||
	    path_join(path, sizeof path, p->dir, PULL_LAZY_META) < 0 ||
	    (unlink(path) < 0 && errno != ENOENT))
		return fail_errno("cleaning %s", p->dir);
	if (store_publish(p->s, p->target, p->dir) < 0)
		return -1;
	if (p->dropped[0])
		warnmsg("snapshot %s from %s: firecracker arguments not taken from the "
		    "bucket: %s (this host's -F and FCSNAP_FIRECRACKER_ARGS decide how "
		    "firecracker runs)", p->target, p->r->url, p->dropped);
	return 0;
}

/* Is there room for what is left to write?  The bytes of the chunks not
 * yet in place, or less when meta.json says the files take less (their
 * zero pages inside chunks stay holes); an untrue meta.json only makes
 * the write fail later, with ENOSPC. */
static int
check_space(struct pull *p)
{
	const struct meta_file *mf[MANIFEST_NFILES] = { &p->meta.vmstate, &p->meta.mem,
		&p->meta.rootfs };
	uint64_t need = 0, est = 0, avail;
	struct statvfs sv;
	size_t k;
	int f;

	for (k = 0; k < p->npos; k++)
		if (!p->pos[k].done)
			need += pos_len(p, &p->pos[k]);
	for (f = 0; f < MANIFEST_NFILES; f++)
		est += f == 0 || mf[f]->disk > p->m.files[f].size ? p->m.files[f].size :
		    mf[f]->disk;
	if (est < need)
		need = est;
	if (statvfs(p->dir, &sv) < 0)
		return fail_errno("checking the free space of %s", p->dir);
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (need <= avail)
		return 0;
	p->local_err = 1;
	return fail("snapshot %s at %s needs %llu MiB in %s, %llu MiB are free: "
	    "free some space (fc-snap-rm) and pull again", p->name, p->r->url,
	    (unsigned long long)(need >> 20), p->s->root, (unsigned long long)(avail >> 20));
}

/* A lazy pull stops here, its dir ready for a restore: every file but
 * mem complete, meta.json (for the restore) and the bucket's meta.json
 * (for the one that publishes it) beside them. */
static int
lazy_ready(struct pull *p)
{
	char path[PATH_MAX];

	if (fsync(p->fds[0]) < 0 || fsync(p->fds[2]) < 0) {
		p->local_err = errno == ENOSPC || errno == EIO;
		return fail_errno("saving %s", p->dir);
	}
	snprintf(p->meta.name, sizeof p->meta.name, "%s", p->target);
	if (path_join(path, sizeof path, p->dir, PULL_LAZY_META) < 0 ||
	    write_file_atomic(path, p->metatext, p->metalen, 0600) < 0 ||
	    meta_stat_files(&p->meta, p->dir) < 0 || meta_write(p->dir, &p->meta) < 0) {
		p->local_err = 1;
		return -1;
	}
	return keep_hint(p);
}

static int
run(struct pull *p, int only_missing)
{
	char snaps[PATH_MAX], base[96];

	if (store_sub(p->s, "snapshots", snaps, sizeof snaps) < 0 ||
	    fmt(base, sizeof base, ".pull-%s", p->target) < 0 ||
	    path_join(p->dir, sizeof p->dir, snaps, base) < 0)
		return -1;
	if (only_missing && p->o->local_texts && store_has(p->s, p->target))
		return 1;       /* published by another lazy pull meanwhile */
	if (fetch_manifest(p) < 0 || build_positions(p) < 0)
		return -1;
	if (only_missing && store_has(p->s, p->target))
		return 1;
	if (up_to_date(p, snaps)) {
		p->st->up_to_date = 1;
		return 0;
	}
	p->buf = malloc(p->m.chunk_size);
	p->head = malloc(chunk_head_len(p->m.chunk_size));
	if (!p->buf || !p->head)
		return fail("out of memory");
	if (open_resume(p)) {
		p->resumed = 1;
		if (verify_journal(p) < 0)
			return -1;
	} else if (create_fresh(p) < 0) {
		return -1;
	}
	if (check_space(p) < 0 || spread_done(p) < 0 || reuse_local(p) < 0 || download(p) < 0)
		return -1;
	return p->o->lazy ? lazy_ready(p) : finish(p);
}

static int
pull_locked(struct remote *r, const struct store *s, const char *name,
    const struct pull_opts *o, struct pull_stats *st, int only_missing)
{
	struct pull_opts def = PULL_OPTS_INIT;
	struct pull p;
	int64_t t0 = now_ms();
	int lock, ret, f;

	if (!o)
		o = &def;
	memset(st, 0, sizeof *st);
	memset(&p, 0, sizeof p);
	p.r = r;
	p.s = s;
	p.o = o;
	p.st = st;
	p.name = name;
	p.target = o->as ? o->as : name;
	p.jfd = -1;
	meta_init(&p.meta);
	for (f = 0; f < MANIFEST_NFILES; f++)
		p.fds[f] = -1;
	if (name_check(name, "snapshot name") < 0 || name_check(p.target, "snapshot name") < 0)
		return -1;
	if (store_prepare(s) < 0)
		return -1;
	lock = store_lock_timeout(s, p.target, o->lock_timeout_ms);
	if (lock < 0)
		return -1;
	ret = run(&p, only_missing);
	close_files(&p);
	if (ret < 0 && p.local_err) {
		char msg[1024];

		snprintf(msg, sizeof msg, "%s", errmsg());
		rm_rf(p.dir);
		fail("%s; the partial pull was removed and the local snapshot %s is "
		    "unchanged", msg, p.target);
	}
	store_unlock(lock);
	free(p.buf);
	free(p.head);
	free(p.pos);
	for (f = 0; f < MANIFEST_NFILES; f++)
		free(p.idx[f]);
	free(p.mtext);
	free(p.metatext);
	free(p.hinttext);
	free(p.want);
	free(p.endpoint);
	manifest_free(&p.m);
	meta_free(&p.meta);
	st->seconds = (double)(now_ms() - t0) / 1000.0;
	return ret < 0 ? -1 : 0;
}

int
pull_snapshot(struct remote *r, const struct store *s, const char *name,
    const struct pull_opts *o, struct pull_stats *st)
{
	return pull_locked(r, s, name, o, st, 0);
}

/* The remote of url (NULL: $FCSNAP_REMOTE), opened; 1 when none is set. */
static int
open_remote(struct remote *r, const char *url, char **u)
{
	*u = NULL;
	if (!url)
		url = getenv("FCSNAP_REMOTE");
	if (!url || !*url)
		return 1;
	if (remote_resolve(url, NULL, NULL, u) < 0 || remote_open(r, *u, NULL) < 0) {
		free(*u);
		*u = NULL;
		return -1;
	}
	return 0;
}

int
pull_lazy(const struct store *s, const char *name, const char *url, char *dir, size_t n,
    char **url_out)
{
	struct pull_opts o = PULL_OPTS_INIT;
	struct pull_stats st;
	struct remote r;
	char snaps[PATH_MAX], base[96], *u;
	int ret;

	*url_out = NULL;
	if (store_has(s, name))
		return 1;
	ret = open_remote(&r, url, &u);
	if (ret)
		return ret;
	warnmsg("snapshot %s is not here: restoring it lazily from %s (its memory "
	    "arrives on demand)", name, r.url);
	o.lazy = 1;
	ret = pull_locked(&r, s, name, &o, &st, 1);
	remote_close(&r);
	if (ret == 0 && !store_has(s, name) &&
	    (store_sub(s, "snapshots", snaps, sizeof snaps) < 0 ||
	    fmt(base, sizeof base, ".pull-%s", name) < 0 ||
	    path_join(dir, n, snaps, base) < 0))
		ret = -1;
	if (ret == 0 && !store_has(s, name)) {
		*url_out = u;
		return 0;
	}
	free(u);
	return ret < 0 ? -1 : 1;
}

int
pull_lazy_publish(const struct store *s, const char *name, const char *url)
{
	struct pull_opts o = PULL_OPTS_INIT;
	struct pull_stats st;
	struct remote r;
	char *u;
	int ret;

	ret = open_remote(&r, url, &u);
	if (ret)
		return ret < 0 ? -1 : fail("no remote to publish snapshot %s from", name);
	o.local_texts = 1;
	ret = pull_locked(&r, s, name, &o, &st, 1);
	remote_close(&r);
	free(u);
	return ret;
}

int
pull_if_missing(const struct store *s, const char *name, const char *url)
{
	struct pull_stats st;
	struct remote r;
	char *u = NULL;
	int ret;

	if (store_has(s, name))
		return 0;
	if (!url)
		url = getenv("FCSNAP_REMOTE");
	if (!url || !*url)
		return fail("no snapshot named %s in %s/snapshots: create it with "
		    "fc-snap-create -l %s (or set FCSNAP_REMOTE or pass --remote to pull it)",
		    name, s->root, name);
	if (remote_resolve(url, NULL, NULL, &u) < 0 || remote_open(&r, u, NULL) < 0) {
		free(u);
		return -1;
	}
	warnmsg("snapshot %s is not here: pulling it from %s", name, r.url);
	ret = pull_locked(&r, s, name, NULL, &st, 1);
	remote_close(&r);
	free(u);
	return ret;
}
